//! End-to-end tests of gradual shifts and pool drains (spec §11) against the real `gslbd
//! serve`: the share of answers holding a shifted target follows the ramp window by window
//! (binomial bounds around the share expected when each query was sent), it is out of every
//! answer at the end, a restart with `--state-file` continues the ramp; a drained pool gives
//! way to the client's fallback and comes back when undrained, across reloads and restarts.
//! Every target is unchecked, so only the shift or drain moves answers.

mod common;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use common::health::{answer, get_json, set, write_zone};
use common::metrics::scrape;
use common::*;

const SHIFTED: &str = "192.0.2.1";
const OTHER: &str = "192.0.2.2";
const NAME: &str = "www.sh.test.";
/// How long a query window is.
const WINDOW: Duration = Duration::from_millis(250);
/// The view is rebuilt every max(over / 200, 50 ms) while a shift ramps; allow that plus
/// scheduling on a busy machine.
const LAG: Duration = Duration::from_millis(50 + 150);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn shift_zone(z: &Zones) {
    write_zone(
        z,
        "sh.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({}),
        json!({ "web": { "policy": "round_robin", "pools": {
            "default": { "targets": [SHIFTED, OTHER] } } } }),
    );
}

fn start(z: &Zones, extra: &[&str]) -> Server {
    let mut args = vec!["--admin", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(z.zones_dir(), z.geo_dir(), &args)
}

/// Sends queries from one socket (so one server thread and its rotation answer them all).
struct Asker {
    sock: UdpSocket,
    to: SocketAddr,
    id: u16,
}

impl Asker {
    fn new(to: SocketAddr) -> Asker {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        Asker { sock, to, id: 0 }
    }

    /// Whether the answer to one query holds `SHIFTED`, and when the query was sent and
    /// its reply received. Asserts the other target is always there.
    fn ask(&mut self) -> (bool, Instant, Instant) {
        self.id = self.id.wrapping_add(1);
        let mut q = query(NAME, RecordType::A);
        q.metadata.id = self.id;
        let sent = Instant::now();
        self.sock.send_to(&encode(&q), self.to).unwrap();
        let mut buf = [0u8; 1500];
        let reply = loop {
            let (n, _) = self.sock.recv_from(&mut buf).expect("a reply");
            let r = decode(&buf[..n]);
            if r.id == self.id {
                break r;
            }
        };
        let got = Instant::now();
        let addrs = answer_addresses(&reply);
        assert!(addrs.contains(&ip(OTHER)), "{reply}");
        (addrs.contains(&ip(SHIFTED)), sent, got)
    }
}

/// A ramp as the test knows it: the call was made between `lo` and `hi`.
struct Ramp {
    from: f64,
    to: f64,
    over: Duration,
    lo: Instant,
    hi: Instant,
}

impl Ramp {
    fn at(&self, start: Instant, t: Instant) -> f64 {
        let x = t.saturating_duration_since(start).as_secs_f64() / self.over.as_secs_f64();
        self.from + (self.to - self.from) * x.min(1.0)
    }

    /// The least and most share the server may have answered a query sent at `sent` and
    /// answered at `got` with: the view in use was built between `sent - LAG` and `got`, the
    /// ramp started between `lo` and `hi`.
    fn bounds(&self, sent: Instant, got: Instant) -> (f64, f64) {
        let early = sent.checked_sub(LAG).unwrap_or(sent);
        let c = [
            self.at(self.lo, got),
            self.at(self.hi, got),
            self.at(self.lo, early),
            self.at(self.hi, early),
        ];
        (
            c.iter().copied().fold(f64::INFINITY, f64::min),
            c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    }

    fn end(&self) -> Instant {
        self.hi + self.over + LAG
    }
}

/// Queries `s` in windows until `until`, checking each window's count of answers holding
/// the shifted target against the ramp: within 5 standard deviations (plus one) of the
/// range the query times allow. Returns the windows as (queries, hits, expected low, high).
fn follow(s: &Server, ramp: &Ramp, until: Instant) -> Vec<(usize, usize, f64, f64)> {
    let mut asker = Asker::new(s.addr());
    let mut windows = Vec::new();
    while Instant::now() < until {
        let stop = (Instant::now() + WINDOW).min(until);
        let (mut n, mut hits, mut lo, mut hi, mut var) = (0, 0, 0.0, 0.0, 0.0);
        while Instant::now() < stop {
            let (with, sent, got) = asker.ask();
            let (a, b) = ramp.bounds(sent, got);
            let mid = (a + b) / 2.0;
            n += 1;
            hits += usize::from(with);
            lo += a;
            hi += b;
            var += mid * (1.0 - mid);
        }
        let slack = 5.0 * var.sqrt() + 1.0;
        assert!(
            hits as f64 >= lo - slack && hits as f64 <= hi + slack,
            "window {}: {hits} of {n} answers hold {SHIFTED}; expected {lo:.0}..{hi:.0} \
             (±{slack:.0}); windows so far {windows:?}",
            windows.len()
        );
        windows.push((n, hits, lo, hi));
    }
    eprintln!("windows (queries, hits, expected low, high): {windows:.0?}");
    windows
}

/// POSTs a weight and returns the ramp as the test knows it.
fn shift(s: &Server, to: f64, over: f64, from: f64) -> Ramp {
    let lo = Instant::now();
    let (code, body) = s.http_body(
        "POST",
        &format!("/v1/targets/{SHIFTED}/weight"),
        None,
        &json!({ "weight": to, "over": over }).to_string(),
    );
    let hi = Instant::now();
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], true, "{body}");
    assert_eq!(v["weight"], to, "{body}");
    assert!(
        (v["from"].as_f64().unwrap() - from).abs() < 0.1,
        "starts from the share it has now: {body}"
    );
    Ramp {
        from: v["from"].as_f64().unwrap(),
        to,
        over: Duration::from_secs_f64(over),
        lo,
        hi,
    }
}

fn shift_row(s: &Server) -> Value {
    let st = get_json(s, "/v1/status");
    st["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == SHIFTED)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {SHIFTED}: {st}"))
}

#[test]
fn a_shift_ramps_the_share_of_answers_and_a_restart_continues_it() {
    let z = Zones::new();
    shift_zone(&z);
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let sf = state_file.to_str().unwrap();
    let mut s = start(&z, &["--state-file", sf]);
    assert_eq!(answer(&s, NAME, None), set(&[ip(SHIFTED), ip(OTHER)]));

    // 1 → 0 over 3 s: the share of answers holding it falls window by window.
    let down = shift(&s, 0.0, 3.0, 1.0);
    let mid = shift_row(&s);
    let share = mid["shift"]["share"].as_f64().unwrap();
    assert!(share > 0.5 && share <= 1.0, "just started: {mid}");
    assert_eq!(mid["shift"]["ramping"], true, "{mid}");
    assert_eq!(mid["state"], "up", "a shift is not a drain: {mid}");
    let windows = follow(&s, &down, down.end());
    assert!(windows.len() >= 10, "{windows:?}");
    let (n0, h0, ..) = windows[0];
    let (nl, hl, ..) = windows[windows.len() - 2];
    assert!(
        h0 * 2 > n0 && hl * 4 < nl,
        "the share falls from most to few: {windows:?}"
    );
    // At the end it is out of every answer.
    let mut asker = Asker::new(s.addr());
    for _ in 0..500 {
        assert!(!asker.ask().0, "out of every answer once the ramp ended");
    }
    let end = shift_row(&s);
    assert_eq!(end["shift"]["share"], 0.0, "{end}");
    assert_eq!(end["shift"]["ramping"], false, "{end}");
    let m = scrape(s.admin_addr());
    assert_eq!(m.must("gslbd_target_share", &[("address", SHIFTED)]), 0.0);
    assert_eq!(m.must("gslbd_target_share", &[("address", OTHER)]), 1.0);
    // Explain says why.
    let e = get_json(&s, "/v1/explain?name=www.sh.test&type=A&client=192.0.2.77");
    let t = &e["gslb"]["pools"][0]["targets"][0];
    assert_eq!(t["address"], SHIFTED, "{e}");
    assert_eq!(
        (t["share"].as_f64(), &t["shifted_out"]),
        (Some(0.0), &json!(true)),
        "{e}"
    );

    // 0 → 1 over 4 s, restarted with the same state file 1.2 s in: the new process
    // continues the same ramp.
    let up = shift(&s, 1.0, 4.0, 0.0);
    follow(&s, &up, up.lo + Duration::from_millis(1200));
    assert!(s.stop().is_some_and(|st| st.success()));
    let s = start(&z, &["--state-file", sf]);
    let windows = follow(&s, &up, up.end());
    assert!(!windows.is_empty(), "the restart took the whole ramp");
    let mut asker = Asker::new(s.addr());
    for _ in 0..500 {
        assert!(asker.ask().0, "back in every answer once restored");
    }
    // A finished restore is forgotten.
    wait_for(
        "the finished restore forgotten",
        Duration::from_secs(3),
        || {
            let row = shift_row(&s);
            row.get("shift").map_or(Ok(()), |_| Err(row.to_string()))
        },
    );
}

#[test]
fn the_weight_endpoint_validates_its_input() {
    let z = Zones::new();
    shift_zone(&z);
    let s = start(&z, &[]);
    let post = |addr: &str, body: &str| {
        let (code, body) = s.http_body("POST", &format!("/v1/targets/{addr}/weight"), None, body);
        let v: Value = serde_json::from_str(&body).unwrap_or(json!(body));
        (code, v["error"].as_str().unwrap_or_default().to_string())
    };
    for (body, word) in [
        (r#"{"weight": 1.5, "over": 1}"#, "weight"),
        (r#"{"weight": -0.1, "over": 1}"#, "weight"),
        (r#"{"weight": 0.5, "over": -1}"#, "over"),
        (r#"{"weight": 0.5, "over": 1e300}"#, "over"),
        (r#"{"weight": "half"}"#, "weight"),
        (r#"{"over": 1}"#, "weight"),
        (r#"not json"#, "JSON"),
        (r#"{"weight": 0.5, "ovre": 3}"#, "ovre"),
    ] {
        let (code, err) = post(SHIFTED, body);
        assert_eq!(code, 400, "{body}: {err}");
        assert!(err.contains(word), "{body}: {err}");
    }
    let (code, err) = post("198.51.100.99", r#"{"weight": 0.5, "over": 1}"#);
    assert_eq!(code, 404, "{err}");
    assert!(err.contains("not a target"), "{err}");
    let (code, err) = post("www", r#"{"weight": 0.5}"#);
    assert_eq!(code, 400, "{err}");
    // Nothing was shifted.
    assert!(shift_row(&s).get("shift").is_none());
    // `over` defaults to 0: at once.
    let (code, err) = post(SHIFTED, r#"{"weight": 0}"#);
    assert_eq!(code, 200, "{err}");
    let mut asker = Asker::new(s.addr());
    for _ in 0..200 {
        assert!(!asker.ask().0);
    }
}

// ---------------------------------------------------------------------------------------------
// Pool drains

const OFFICE: &str = "192.0.2.10";
const FALLBACK: &str = "192.0.2.20";
const OFFICE_2: &str = "192.0.2.30";
const FALLBACK_2: &str = "192.0.2.40";

fn pool_zones(z: &Zones) {
    std::fs::write(
        z.geo_dir().join("regions.json"),
        json!({ "version": 1, "regions": { "office": [ { "networks": ["10.0.0.0/8"] } ] } })
            .to_string(),
    )
    .unwrap();
    // The same record name in two zones: a pool drain by record name covers both.
    for (origin, office, fallback) in [
        ("pd.test.", OFFICE, FALLBACK),
        ("pd2.test.", OFFICE_2, FALLBACK_2),
    ] {
        write_zone(
            z,
            origin,
            1,
            json!({ "www": { "gslb": "web" } }),
            json!({}),
            json!({ "web": { "pools": {
                "office": { "targets": [office] },
                "default": { "targets": [fallback] } } } }),
        );
    }
}

fn pool_post(s: &Server, path: &str) -> (u16, Value) {
    let (code, body) = s.http("POST", path, None);
    (code, serde_json::from_str(&body).unwrap_or(json!(body)))
}

fn office_answers(s: &Server) -> (IpAddr, IpAddr) {
    let one = |name| {
        let a: Vec<IpAddr> = answer(s, name, Some("10.1.2.3")).into_iter().collect();
        assert_eq!(a.len(), 1, "{a:?}");
        a[0]
    };
    (one("www.pd.test."), one("www.pd2.test."))
}

#[test]
fn a_drained_pool_gives_way_to_the_fallback_across_reloads_and_restarts() {
    let z = Zones::new();
    pool_zones(&z);
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let sf = state_file.to_str().unwrap();
    let mut s = start(&z, &["--state-file", sf]);
    assert_eq!(office_answers(&s), (ip(OFFICE), ip(OFFICE_2)));

    let (code, v) = pool_post(&s, "/v1/pools/web/office/drain");
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v,
        json!({ "ok": true, "record": "web", "pool": "office", "drained": true })
    );
    assert_eq!(
        office_answers(&s),
        (ip(FALLBACK), ip(FALLBACK_2)),
        "at once"
    );
    // Clients of other pools are untouched; the office target itself is not drained.
    assert_eq!(
        answer(&s, "www.pd.test.", Some("192.0.2.99")),
        set(&[ip(FALLBACK)])
    );
    let st = get_json(&s, "/v1/status");
    let pools = st["pools_drained"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "{st}");
    assert_eq!(
        (&pools[0]["record"], &pools[0]["pool"], &pools[0]["known"]),
        (&json!("web"), &json!("office"), &json!(true)),
        "{st}"
    );
    let row = st["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == OFFICE)
        .unwrap();
    assert_eq!(row["state"], "up", "{st}");
    let e = get_json(&s, "/v1/explain?name=www.pd.test&type=A&client=10.1.2.3");
    let tried = &e["gslb"]["pools"];
    assert_eq!(tried[0]["pool"], "office", "{e}");
    assert_eq!(tried[0]["outcome"], "skipped: pool drained", "{e}");
    assert_eq!(tried[0]["drained"], true, "{e}");
    assert_eq!(tried[1]["outcome"], "chosen", "{e}");
    let m = scrape(s.admin_addr());
    assert_eq!(
        m.must(
            "gslbd_pool_drained",
            &[("record", "web"), ("pool", "office")]
        ),
        1.0
    );
    assert_eq!(
        m.must(
            "gslbd_pool_drained",
            &[("record", "web"), ("pool", "default")]
        ),
        0.0
    );

    // A reload (the zone changed) resolves the drain again by name.
    write_zone(
        &z,
        "pd.test.",
        2,
        json!({ "www": { "gslb": "web" }, "other": { "A": ["192.0.2.5"] } }),
        json!({}),
        json!({ "web": { "pools": {
            "office": { "targets": [OFFICE] },
            "default": { "targets": [FALLBACK] } } } }),
    );
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        office_answers(&s),
        (ip(FALLBACK), ip(FALLBACK_2)),
        "kept by reload"
    );

    // And a restart with the state file.
    assert!(s.stop().is_some_and(|st| st.success()));
    let s = start(&z, &["--state-file", sf]);
    assert_eq!(
        office_answers(&s),
        (ip(FALLBACK), ip(FALLBACK_2)),
        "kept by restart"
    );
    let (code, v) = pool_post(&s, "/v1/pools/web/office/undrain");
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        office_answers(&s),
        (ip(OFFICE), ip(OFFICE_2)),
        "back at once"
    );
    assert_eq!(get_json(&s, "/v1/status")["pools_drained"], json!([]));

    // Unknown records and pools are refused.
    for path in [
        "/v1/pools/web/offcie/drain",
        "/v1/pools/wbe/office/drain",
        "/v1/pools/web/offcie/undrain",
    ] {
        let (code, v) = pool_post(&s, path);
        assert_eq!(code, 404, "{path}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains("no gslb record"),
            "{v}"
        );
    }
}
