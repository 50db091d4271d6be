//! End-to-end tests of health checks and failover (spec §3 pool order and `all_down`, §4 health
//! checks, §7 drains, `/v1/status` and `/metrics`) against the real `gslbd serve` binary, with
//! real HTTP and TCP backends that each test runs itself on loopback addresses (127.61.T.x, T
//! being the test's number). No probe ever leaves the machine.

mod common;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use common::health::{self, *};
use common::*;

// ---------------------------------------------------------------------------------------------
// Timing of the checks used throughout

/// Probe interval (seconds) of every check in these tests.
const INTERVAL: f64 = 0.3;
/// Probe timeout (seconds); less than the interval.
const TIMEOUT: f64 = 0.2;
const RISE: u32 = 2;
const FALL: u32 = 2;
const T: Timing = Timing {
    interval: INTERVAL,
    timeout: TIMEOUT,
    rise: RISE,
    fall: FALL,
};
/// How often the tests look at the server while waiting for something.
const POLL: Duration = Duration::from_millis(50);

/// A loopback address private to test `test`.
fn lo(test: u8, host: u8) -> IpAddr {
    health::lo(61, test, host)
}

// ---------------------------------------------------------------------------------------------
// Backends: a tiny HTTP server and a plain TCP listener on loopback

/// What an HTTP backend answers.
#[derive(Debug, Clone)]
enum Mode {
    /// 200 with `HEALTHY_BODY`.
    Healthy,
    /// This status with `HEALTHY_BODY`.
    Status(u16),
    /// 200 with this body.
    Body(&'static str),
    /// Alternates 200 (with `HEALTHY_BODY`) and 503 on each request, starting with 200.
    Flap,
    /// Waits this long, then answers like `Healthy`.
    Slow(Duration),
}

#[derive(Default)]
struct Seen {
    /// HTTP requests (or TCP connections) accepted.
    requests: AtomicUsize,
    /// Healthy answers (200 with `HEALTHY_BODY`) sent.
    healthy: AtomicUsize,
    /// Request lines and Host headers of the HTTP requests, in order.
    heads: Mutex<Vec<(String, Option<String>)>>,
    flap: AtomicUsize,
    /// Times the accept loop found no connection waiting.
    idle_passes: AtomicUsize,
}

/// A backend on one loopback address and port. `stop` drops its listener so connections are
/// refused; `restart` binds it again.
struct Backend {
    addr: SocketAddr,
    http: bool,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    /// An HTTP backend on `ip:port` (port 0 picks one) answering `Mode::Healthy`.
    fn http(ip: IpAddr, port: u16) -> Backend {
        Backend::start(SocketAddr::new(ip, port), true)
    }

    /// A TCP backend that accepts connections and closes them at once.
    fn tcp(ip: IpAddr, port: u16) -> Backend {
        Backend::start(SocketAddr::new(ip, port), false)
    }

    fn start(addr: SocketAddr, http: bool) -> Backend {
        let mut b = Backend {
            addr,
            http,
            mode: Arc::new(Mutex::new(Mode::Healthy)),
            seen: Arc::new(Seen::default()),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        b.restart();
        b
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }

    /// Connections the kernel completed before this call, counted. A TCP probe succeeds as
    /// soon as the kernel finishes the handshake, before the accept loop sees the connection:
    /// wait until the loop has found the queue empty in a pass that began after the call.
    fn settled_requests(&self) -> usize {
        let start = self.seen.idle_passes.load(Ordering::SeqCst);
        let deadline = Instant::now() + T.patience();
        while self.seen.idle_passes.load(Ordering::SeqCst) < start + 2 {
            assert!(
                Instant::now() < deadline,
                "the backend's accept loop is stuck"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        self.requests()
    }

    fn healthy_answers(&self) -> usize {
        self.seen.healthy.load(Ordering::SeqCst)
    }

    fn heads(&self) -> Vec<(String, Option<String>)> {
        self.seen.heads.lock().unwrap().clone()
    }

    /// Closes the listener: new connections are refused.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("backend thread");
        }
    }

    /// Binds the listener again (on the same address and port).
    fn restart(&mut self) {
        self.stop();
        let listener = TcpListener::bind(self.addr)
            .unwrap_or_else(|e| panic!("bind test backend on {}: {e}", self.addr));
        self.addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        self.stop = Arc::new(AtomicBool::new(false));
        let (stop, mode, seen, http) = (
            self.stop.clone(),
            self.mode.clone(),
            self.seen.clone(),
            self.http,
        );
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) if http => serve_http(s, &mode, &seen),
                    Ok((s, _)) => {
                        seen.requests.fetch_add(1, Ordering::SeqCst);
                        drop(s);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        seen.idle_passes.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one request head, records it and answers according to `mode`; always closes.
fn serve_http(mut s: TcpStream, mode: &Mutex<Mode>, seen: &Seen) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    let Some(head) = read_head(&mut s) else {
        return;
    };
    seen.heads.lock().unwrap().push(head);
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let (status, body) = match mode.lock().unwrap().clone() {
        Mode::Healthy => (200, HEALTHY_BODY),
        Mode::Status(code) => (code, HEALTHY_BODY),
        Mode::Body(b) => (200, b),
        Mode::Slow(d) => {
            std::thread::sleep(d);
            (200, HEALTHY_BODY)
        }
        Mode::Flap => {
            if seen.flap.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                (200, HEALTHY_BODY)
            } else {
                (503, HEALTHY_BODY)
            }
        }
    };
    if status == 200 && body == HEALTHY_BODY {
        seen.healthy.fetch_add(1, Ordering::SeqCst);
    }
    write_response(&mut s, status, body);
    let _ = s.shutdown(std::net::Shutdown::Write);
}

// ---------------------------------------------------------------------------------------------
// Configuration fixtures

/// Writes a regions.json with no databases: `r1` is 10.0.0.0/8, `r2` is 192.168.0.0/16.
fn write_regions(z: &Zones) {
    let doc = json!({
        "version": 1,
        "regions": {
            "r1": [ { "networks": ["10.0.0.0/8"] } ],
            "r2": [ { "networks": ["192.168.0.0/16"] } ]
        }
    });
    std::fs::write(
        z.geo_dir().join("regions.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .expect("write regions.json");
}

/// Starts `gslbd serve` on the fixture with the admin API on a free port.
fn start(z: &Zones, extra: &[&str]) -> Server {
    start_dirs(z.zones_dir(), z.geo_dir(), extra)
}

fn start_dirs(zones: &Path, geo: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--admin", "127.0.0.1:0", "--udp-threads", "1"];
    args.extend_from_slice(extra);
    Server::start(zones, geo, &args)
}

// ---------------------------------------------------------------------------------------------
// Looking at the server

fn post(s: &Server, path: &str) -> (u16, Value) {
    let (code, body) = s.http("POST", path, None);
    let v = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (code, v)
}

fn state(s: &Server, addr: IpAddr) -> String {
    row(s, addr)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn metrics(s: &Server) -> String {
    let (code, body) = s.http("GET", "/metrics", None);
    assert_eq!(code, 200, "GET /metrics: {body}");
    body
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The `gslbd_target_up` sample of `addr`, whatever its check label.
fn target_up(text: &str, addr: IpAddr) -> Option<f64> {
    let prefix = format!("gslbd_target_up{{address=\"{addr}\",");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// 1. Removal and recovery

#[test]
fn failing_http_and_tcp_targets_leave_within_bound_and_return_after_rise_successes() {
    let web = Backend::http(lo(1, 10), 0);
    let mut tcp = Backend::tcp(lo(1, 11), 0);
    // Always healthy (record-level check): keeps the pool answering whatever the others do.
    let steady = Backend::http(lo(1, 12), web.port());
    let fixed = steady.ip();
    let z = Zones::new();
    write_zone(
        &z,
        "h1.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "web-http": T.check("http", web.port(), json!({})), "web-tcp": T.check("tcp", tcp.port(), json!({})) }),
        json!({ "web": {
            "check": "web-http",
            "pools": { "default": { "targets": [
                web.ip().to_string(),
                { "address": tcp.ip().to_string(), "check": "web-tcp" },
                fixed.to_string()
            ] } }
        } }),
    );
    let s = start(&z, &[]);
    let all = [web.ip(), tcp.ip(), fixed];
    wait_state(&s, web.ip(), "up", T.patience());
    wait_state(&s, tcp.ip(), "up", T.patience());
    assert_eq!(answer(&s, "www.h1.test.", None), set(&all));
    // A TCP probe succeeds at the handshake, before the accept loop counts the connection.
    assert!(web.requests() >= 1 && tcp.settled_requests() >= 1);
    // The HTTP probe asks for the configured path.
    assert!(
        web.heads()
            .iter()
            .all(|(l, _)| l.starts_with("GET /healthz ")),
        "{:?}",
        web.heads()
    );

    // HTTP backend answers 503: gone within interval × fall + 1 s.
    web.set(Mode::Status(503));
    let took = wait_answer(&s, "www.h1.test.", None, &[tcp.ip(), fixed], T.patience());
    assert!(
        took <= T.removal_bound(),
        "503 target left the answer after {took:?}, bound {:?}",
        T.removal_bound()
    );
    let r = row(&s, web.ip());
    assert_eq!(r["state"], "down", "{r}");
    assert_eq!(r["check"], "web-http", "{r}");
    let err = r["error"].as_str().unwrap_or_default();
    assert!(err.contains("503"), "error names the status: {r}");
    assert!(r["since"].is_string(), "{r}");

    // Recovery: back only after `rise` healthy answers.
    let healthy_before = web.healthy_answers();
    web.set(Mode::Healthy);
    let took = wait_answer(&s, "www.h1.test.", None, &all, T.patience());
    let successes = web.healthy_answers() - healthy_before;
    assert!(
        successes >= RISE as usize,
        "came back after {successes} successful probe(s); rise is {RISE}"
    );
    assert!(
        took <= T.recovery_bound(),
        "recovered after {took:?}, bound {:?}",
        T.recovery_bound()
    );
    let r = row(&s, web.ip());
    assert_eq!(r["state"], "up", "{r}");
    assert!(r["error"].is_null(), "no error once up: {r}");
    assert!(r["latency_ms"].is_number(), "{r}");

    // TCP backend stops listening (connections refused): gone within the same bound.
    tcp.stop();
    let took = wait_answer(&s, "www.h1.test.", None, &[web.ip(), fixed], T.patience());
    assert!(
        took <= T.removal_bound(),
        "refusing TCP target left the answer after {took:?}, bound {:?}",
        T.removal_bound()
    );
    let r = row(&s, tcp.ip());
    assert_eq!(r["state"], "down", "{r}");
    assert_eq!(r["check"], "web-tcp", "{r}");
    assert!(
        r["error"].as_str().is_some_and(|e| !e.is_empty()),
        "a down target shows its error: {r}"
    );

    // It listens again: back after `rise` connections.
    let conns_before = tcp.requests();
    tcp.restart();
    let took = wait_answer(&s, "www.h1.test.", None, &all, T.patience());
    let conns = tcp.settled_requests() - conns_before;
    assert!(
        conns >= RISE as usize,
        "TCP target came back after {conns} successful connect(s); rise is {RISE}"
    );
    assert!(
        took <= T.recovery_bound(),
        "TCP target recovered after {took:?}, bound {:?}",
        T.recovery_bound()
    );
    assert_eq!(state(&s, tcp.ip()), "up");
}

#[test]
fn targets_start_up_and_the_first_probe_runs_at_once() {
    // A slow interval makes "at once" visible: with fall 2 the failing target must leave
    // after the immediate first probe and one interval (plus the spread offset), not two.
    let interval = 1.0;
    let dead = Backend::http(lo(12, 10), 0);
    dead.set(Mode::Status(503));
    let ok = Backend::http(lo(12, 11), dead.port());
    let z = Zones::new();
    let check = json!({
        "type": "http", "port": dead.port(), "interval": interval, "timeout": TIMEOUT,
        "rise": 2, "fall": 2
    });
    write_zone(
        &z,
        "h12.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "slow": check }),
        json!({ "web": { "check": "slow", "pools": { "default": {
            "targets": [dead.ip().to_string(), ok.ip().to_string()]
        } } } }),
    );
    let s = start(&z, &[]);
    let started = Instant::now();
    // Targets start up: the failing one is answered until `fall` probes have failed.
    assert_eq!(
        answer(&s, "www.h12.test.", None),
        set(&[dead.ip(), ok.ip()]),
        "targets start up"
    );
    wait_answer(
        &s,
        "www.h12.test.",
        None,
        &[ok.ip()],
        Duration::from_secs(6),
    );
    let took = started.elapsed();
    // First probe at once, second one interval (+ offset < min(interval / 2, 1 s)) later.
    let bound = Duration::from_secs_f64(interval * (FALL - 1) as f64 + interval / 2.0 + 0.3);
    assert!(
        took <= bound,
        "down {took:?} after start; with a probe at once it takes at most {bound:?}"
    );
    let r = row(&s, dead.ip());
    assert_eq!(r["state"], "down", "{r}");
    assert!(dead.requests() >= FALL as usize);
}

// ---------------------------------------------------------------------------------------------
// 2. expect, body_contains, host

#[test]
fn expect_body_contains_and_host_are_honoured() {
    let body = Backend::http(lo(2, 10), 0);
    let port = body.port();
    let wrong_status = Backend::http(lo(2, 11), port);
    let listed_503 = Backend::http(lo(2, 12), port);
    listed_503.set(Mode::Status(503));
    let plain = Backend::http(lo(2, 13), port);
    let slow = Backend::http(lo(2, 14), port);
    let z = Zones::new();
    let target =
        |b: &Backend, check: &str| json!({ "address": b.ip().to_string(), "check": check });
    write_zone(
        &z,
        "h2.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({
            "strict": T.check("http", port, json!({
                "path": "/status", "host": "health.example.net",
                "expect": [200], "body_contains": "ALIVE"
            })),
            "want-204": T.check("http", port, json!({ "expect": [204] })),
            "want-503": T.check("http", port, json!({ "expect": [503] })),
            "plain": T.check("http", port, json!({}))
        }),
        json!({ "web": { "pools": { "default": { "targets": [
            target(&body, "strict"),
            target(&wrong_status, "want-204"),
            target(&listed_503, "want-503"),
            target(&plain, "plain"),
            target(&slow, "plain")
        ] } } } }),
    );
    let s = start(&z, &[]);

    // A 200 is not enough when `expect` lists 204 only; a listed 503 is healthy.
    let r = wait_state(&s, wrong_status.ip(), "down", T.patience()).0;
    assert!(
        r["error"].as_str().unwrap_or_default().contains("200"),
        "error names the unexpected status: {r}"
    );
    wait_state(&s, body.ip(), "up", T.patience());
    wait_state(&s, listed_503.ip(), "up", T.patience());
    wait_state(&s, plain.ip(), "up", T.patience());

    // A backend slower than `timeout` is down, with a time-out error.
    wait_state(&s, slow.ip(), "up", T.patience());
    slow.set(Mode::Slow(Duration::from_secs_f64(TIMEOUT * 2.0)));
    let r = wait_state(&s, slow.ip(), "down", T.patience()).0;
    assert!(
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out") || e.contains("timeout")),
        "error says it timed out: {r}"
    );
    assert_eq!(
        answer(&s, "www.h2.test.", None),
        set(&[body.ip(), listed_503.ip(), plain.ip()])
    );

    // `host` is the Host header (with the check's port, or without), `path` the request path.
    let heads = body.heads();
    assert!(!heads.is_empty());
    for (line, host) in &heads {
        assert!(line.starts_with("GET /status HTTP/1.1"), "{line:?}");
        let host = host.as_deref().unwrap_or_default();
        assert!(
            host == "health.example.net" || host == format!("health.example.net:{port}"),
            "Host header must be the check's `host`: {host:?}"
        );
    }
    // Without `host`, the Host header is the target's address.
    for (line, host) in plain.heads() {
        assert!(line.starts_with("GET /healthz HTTP/1.1"), "{line:?}");
        let host = host.unwrap_or_default();
        let ip = plain.ip().to_string();
        assert!(
            host == ip || host == format!("{ip}:{port}"),
            "Host header without `host`: {host:?}"
        );
    }

    // A 200 without the expected body is down.
    body.set(Mode::Body("maintenance in progress\n"));
    let took = wait_answer(
        &s,
        "www.h2.test.",
        None,
        &[listed_503.ip(), plain.ip()],
        T.patience(),
    );
    assert!(took <= T.removal_bound(), "left after {took:?}");
    let r = row(&s, body.ip());
    assert_eq!(r["state"], "down", "{r}");
    assert!(
        r["error"].as_str().unwrap_or_default().contains("ALIVE"),
        "error names the missing text: {r}"
    );

    // An expected status with the wrong body is down too; the right body brings it back.
    body.set(Mode::Healthy);
    wait_answer(
        &s,
        "www.h2.test.",
        None,
        &[body.ip(), listed_503.ip(), plain.ip()],
        T.patience(),
    );
    // The default `expect` accepts a 3xx (not followed) ...
    plain.set(Mode::Status(302));
    let seen = plain.requests();
    wait_for("three probes of the 302 backend", T.patience(), || {
        let n = plain.requests() - seen;
        if n >= 3 {
            Ok(())
        } else {
            Err(format!("{n} probes"))
        }
    });
    assert_eq!(state(&s, plain.ip()), "up", "a 302 is healthy by default");
    assert_eq!(
        answer(&s, "www.h2.test.", None),
        set(&[body.ip(), listed_503.ip(), plain.ip()])
    );
    // ... but rejects a 503.
    plain.set(Mode::Status(503));
    wait_answer(
        &s,
        "www.h2.test.",
        None,
        &[body.ip(), listed_503.ip()],
        T.patience(),
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Region failover

#[test]
fn a_down_region_pool_fails_over_to_its_fallback_then_default() {
    let a = Backend::http(lo(3, 10), 0);
    let b = Backend::http(lo(3, 11), a.port());
    let c = Backend::http(lo(3, 12), a.port());
    let z = Zones::new();
    write_regions(&z);
    write_zone(
        &z,
        "h3.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "hc": T.check("http", a.port(), json!({})) }),
        json!({ "web": {
            "check": "hc",
            "pools": {
                "r1": { "targets": [a.ip().to_string()], "fallback": ["r2"] },
                "r2": { "targets": [b.ip().to_string()] },
                "default": { "targets": [c.ip().to_string()] }
            }
        } }),
    );
    let s = start(&z, &[]);
    let name = "www.h3.test.";
    let office = Some("10.1.2.3");
    for t in [&a, &b, &c] {
        wait_state(&s, t.ip(), "up", T.patience());
    }
    assert_eq!(answer(&s, name, office), set(&[a.ip()]));
    assert_eq!(answer(&s, name, Some("192.168.7.7")), set(&[b.ip()]));
    assert_eq!(answer(&s, name, None), set(&[c.ip()]));

    // r1's only target fails: r1 is skipped, its fallback r2 answers.
    a.set(Mode::Status(503));
    let took = wait_answer(&s, name, office, &[b.ip()], T.patience());
    assert!(took <= T.removal_bound(), "failed over after {took:?}");
    // Clients elsewhere are unaffected.
    assert_eq!(answer(&s, name, None), set(&[c.ip()]));

    // r2 fails too: default answers.
    b.set(Mode::Status(503));
    let took = wait_answer(&s, name, office, &[c.ip()], T.patience());
    assert!(
        took <= T.removal_bound(),
        "fell through to default after {took:?}"
    );
    assert_eq!(answer(&s, name, Some("192.168.7.7")), set(&[c.ip()]));

    // r1 recovers: it answers again.
    a.set(Mode::Healthy);
    let took = wait_answer(&s, name, office, &[a.ip()], T.patience());
    assert!(took <= T.recovery_bound(), "r1 back after {took:?}");
}

// ---------------------------------------------------------------------------------------------
// 4. all_down

#[test]
fn all_down_serve_all_answers_first_pool_and_nodata_answers_empty() {
    let mut a = Backend::http(lo(4, 10), 0);
    let mut b = Backend::http(lo(4, 11), a.port());
    let z = Zones::new();
    write_regions(&z);
    let record = |all_down: &str| {
        json!({
            "check": "hc",
            "all_down": all_down,
            "pools": {
                "r1": { "targets": [a.ip().to_string()] },
                "default": { "targets": [b.ip().to_string()] }
            }
        })
    };
    write_zone(
        &z,
        "h4.test.",
        1,
        json!({ "open": { "gslb": "open" }, "closed": { "gslb": "closed" } }),
        json!({ "hc": T.check("http", a.port(), json!({})) }),
        json!({ "open": record("serve_all"), "closed": record("nodata") }),
    );
    let s = start(&z, &[]);
    let office = Some("10.1.2.3");
    wait_state(&s, a.ip(), "up", T.patience());
    wait_state(&s, b.ip(), "up", T.patience());
    assert_eq!(answer(&s, "open.h4.test.", office), set(&[a.ip()]));
    assert_eq!(answer(&s, "closed.h4.test.", office), set(&[a.ip()]));

    // Only r1's target down: both records fall to default.
    a.stop();
    wait_answer(&s, "closed.h4.test.", office, &[b.ip()], T.patience());
    assert_eq!(answer(&s, "open.h4.test.", office), set(&[b.ip()]));

    // Everything down.
    b.stop();
    wait_state(&s, a.ip(), "down", T.patience());
    wait_state(&s, b.ip(), "down", T.patience());

    // serve_all: the first pool in the client's order, ignoring health.
    assert_eq!(
        answer(&s, "open.h4.test.", office),
        set(&[a.ip()]),
        "serve_all answers r1 (first in order) for a 10/8 client"
    );
    assert_eq!(
        answer(&s, "open.h4.test.", None),
        set(&[b.ip()]),
        "serve_all answers default for a client in no region"
    );

    // nodata: NOERROR, AA, no answers, the SOA in AUTHORITY.
    for client in [office, None] {
        let r = ask(&s, "closed.h4.test.", client);
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        assert!(r.authoritative, "AA expected: {r}");
        assert!(r.answers.is_empty(), "no answer records: {r}");
        assert_eq!(r.authorities.len(), 1, "the SOA in AUTHORITY: {r}");
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA, "{r}");
    }

    // One comes back: both records answer it again.
    b.restart();
    wait_answer(&s, "closed.h4.test.", office, &[b.ip()], T.patience());
    assert_eq!(answer(&s, "open.h4.test.", office), set(&[b.ip()]));
    drop(a);
}

// ---------------------------------------------------------------------------------------------
// 5. Drains

/// A zone `origin` whose `www` answers `targets` (all checked with one HTTP check on `port`).
fn simple_zone(z: &Zones, origin: &str, serial: u32, port: u16, targets: &[IpAddr]) {
    let list: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    write_zone(
        z,
        origin,
        serial,
        json!({ "www": { "gslb": "web" } }),
        json!({ "hc": T.check("http", port, json!({})) }),
        json!({ "web": { "check": "hc", "pools": { "default": { "targets": list } } } }),
    );
}

#[test]
fn drain_and_undrain_act_at_once_and_drains_survive_reloads() {
    let a = Backend::http(lo(5, 10), 0);
    let b = Backend::http(lo(5, 11), a.port());
    let z = Zones::new();
    simple_zone(&z, "h5.test.", 1, a.port(), &[a.ip(), b.ip()]);
    let s = start(&z, &[]);
    let name = "www.h5.test.";
    wait_state(&s, a.ip(), "up", T.patience());
    wait_state(&s, b.ip(), "up", T.patience());
    assert_eq!(answer(&s, name, None), set(&[a.ip(), b.ip()]));

    let (code, body) = post(&s, &format!("/v1/targets/{}/drain", a.ip()));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    // Immediately: no waiting for a probe.
    for _ in 0..5 {
        assert_eq!(answer(&s, name, None), set(&[b.ip()]), "drained at once");
    }
    assert_eq!(state(&s, a.ip()), "drained");
    assert_eq!(state(&s, b.ip()), "up");
    let m = metrics(&s);
    assert_eq!(
        sample(&m, "gslbd_targets{state=\"drained\"}"),
        Some(1.0),
        "{m}"
    );

    // A reload (with a changed zone) keeps the drain.
    simple_zone(&z, "h5.test.", 2, a.port(), &[a.ip(), b.ip()]);
    let (code, body) = post(&s, "/v1/reload");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(
        answer(&s, name, None),
        set(&[b.ip()]),
        "drain survives reload"
    );
    assert_eq!(state(&s, a.ip()), "drained");

    let (code, body) = post(&s, &format!("/v1/targets/{}/undrain", a.ip()));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(
        answer(&s, name, None),
        set(&[a.ip(), b.ip()]),
        "back at once"
    );
    assert_eq!(state(&s, a.ip()), "up");

    // Draining an address that is no target is refused.
    let (code, body) = post(&s, &format!("/v1/targets/{}/drain", lo(5, 99)));
    assert_eq!(code, 404, "{body}");
    assert_eq!(answer(&s, name, None), set(&[a.ip(), b.ip()]));
}

#[test]
fn a_drain_survives_a_restart_with_state_file() {
    let a = Backend::http(lo(6, 10), 0);
    let b = Backend::http(lo(6, 11), a.port());
    let z = Zones::new();
    simple_zone(&z, "h6.test.", 1, a.port(), &[a.ip(), b.ip()]);
    let state_dir = tempfile::tempdir().expect("tempdir");
    let state_file = state_dir.path().join("drains.json");
    let sf = state_file.to_str().unwrap();
    let name = "www.h6.test.";

    let mut first = start(&z, &["--state-file", sf]);
    wait_state(&first, a.ip(), "up", T.patience());
    let (code, body) = post(&first, &format!("/v1/targets/{}/drain", a.ip()));
    assert_eq!(code, 200, "{body}");
    assert_eq!(answer(&first, name, None), set(&[b.ip()]));
    assert!(first.stop().is_some_and(|st| st.success()));

    // A new process with the same state file: drained from its first answer on.
    let mut second = start(&z, &["--state-file", sf]);
    assert_eq!(answer(&second, name, None), set(&[b.ip()]), "drain kept");
    assert_eq!(state(&second, a.ip()), "drained");
    let (code, body) = post(&second, &format!("/v1/targets/{}/undrain", a.ip()));
    assert_eq!(code, 200, "{body}");
    assert_eq!(answer(&second, name, None), set(&[a.ip(), b.ip()]));
    assert!(second.stop().is_some_and(|st| st.success()));

    // And the undrain is kept too.
    let third = start(&z, &["--state-file", sf]);
    assert_eq!(
        answer(&third, name, None),
        set(&[a.ip(), b.ip()]),
        "undrain kept"
    );
    assert_eq!(state(&third, a.ip()), "up");
}

// ---------------------------------------------------------------------------------------------
// 6. One probe per (address, check definition)

#[test]
fn identical_checks_in_two_zones_share_one_probe() {
    let a = Backend::http(lo(7, 10), 0);
    let fixed = lo(7, 12); // no check (no record-level check either): always answered
    let z = Zones::new();
    for (origin, check) in [("d1.test.", "hc-one"), ("d2.test.", "hc-two")] {
        write_zone(
            &z,
            origin,
            1,
            json!({ "www": { "gslb": "web" }, "api": { "gslb": "web" } }),
            json!({ check: T.check("http", a.port(), json!({})) }),
            json!({ "web": { "pools": { "default": {
                "targets": [{ "address": a.ip().to_string(), "check": check }, fixed.to_string()]
            } } } }),
        );
    }
    let s = start(&z, &[]);
    wait_state(&s, a.ip(), "up", T.patience());
    let names = [
        "www.d1.test.",
        "api.d1.test.",
        "www.d2.test.",
        "api.d2.test.",
    ];
    for name in names {
        assert_eq!(answer(&s, name, None), set(&[a.ip(), fixed]), "{name}");
    }
    // One probe, so one status row for the address.
    assert_eq!(rows(&s, a.ip()).len(), 1, "{:?}", rows(&s, a.ip()));

    let n = 10;
    let window = Duration::from_secs_f64(INTERVAL * n as f64);
    let before = a.requests();
    let start_at = Instant::now();
    std::thread::sleep(window);
    let count = a.requests() - before;
    let took = start_at.elapsed();
    assert!(
        count <= n + 2 && count > n / 2,
        "{count} probes in {took:?} ({n} intervals of {INTERVAL} s): expected about one per \
         interval (one shared probe), not two"
    );

    // When it fails, it leaves every answer of every name in both zones.
    a.set(Mode::Status(503));
    wait_state(&s, a.ip(), "down", T.patience());
    for name in names {
        assert_eq!(answer(&s, name, None), set(&[fixed]), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Flapping

#[test]
fn a_target_alternating_success_and_failure_never_leaves_the_answer() {
    let a = Backend::http(lo(8, 10), 0);
    let b = Backend::http(lo(8, 11), a.port());
    let z = Zones::new();
    simple_zone(&z, "h8.test.", 1, a.port(), &[a.ip(), b.ip()]);
    let s = start(&z, &[]);
    wait_state(&s, a.ip(), "up", T.patience());
    wait_state(&s, b.ip(), "up", T.patience());
    let failed_before = sample(&metrics(&s), "gslbd_probes_total{result=\"failed\"}").unwrap();

    a.set(Mode::Flap);
    let before = a.requests();
    let deadline = Instant::now() + Duration::from_secs_f64(INTERVAL * 14.0);
    while Instant::now() < deadline {
        let got = answer(&s, "www.h8.test.", None);
        assert!(
            got.contains(&a.ip()),
            "flapping target left the answer after {} probes: {got:?} {}",
            a.requests() - before,
            row(&s, a.ip())
        );
        std::thread::sleep(POLL);
    }
    let probes = a.requests() - before;
    assert!(probes >= 8, "the backend saw only {probes} probes");
    assert_eq!(state(&s, a.ip()), "up");
    let failed = sample(&metrics(&s), "gslbd_probes_total{result=\"failed\"}").unwrap();
    assert!(
        failed - failed_before >= 3.0,
        "half the probes failed: {failed_before} -> {failed}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Metrics

#[test]
fn probe_and_target_metrics_follow_health() {
    let a = Backend::http(lo(9, 10), 0);
    let b = Backend::http(lo(9, 11), a.port());
    let z = Zones::new();
    simple_zone(&z, "h9.test.", 1, a.port(), &[a.ip(), b.ip()]);
    let s = start(&z, &[]);
    wait_state(&s, a.ip(), "up", T.patience());
    let ok = |m: &str| sample(m, "gslbd_probes_total{result=\"ok\"}");
    let m = metrics(&s);
    let ok0 = ok(&m).unwrap_or_else(|| panic!("no gslbd_probes_total{{result=\"ok\"}}: {m}"));
    assert!(ok0 >= 1.0, "{m}");
    assert_eq!(
        sample(
            &m,
            &format!("gslbd_target_up{{address=\"{}\",check=\"hc\"}}", a.ip())
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(target_up(&m, b.ip()), Some(1.0), "{m}");
    assert_eq!(sample(&m, "gslbd_targets{state=\"up\"}"), Some(2.0), "{m}");
    wait_for(
        "gslbd_probes_total{result=\"ok\"} grows",
        T.patience(),
        || {
            let m = metrics(&s);
            match ok(&m) {
                Some(v) if v >= ok0 + 2.0 => Ok(()),
                v => Err(format!("{v:?}")),
            }
        },
    );

    let failed0 = sample(&metrics(&s), "gslbd_probes_total{result=\"failed\"}").unwrap();
    a.set(Mode::Status(503));
    let (_, took) = wait_for("gslbd_target_up goes to 0", T.patience(), || {
        let m = metrics(&s);
        match target_up(&m, a.ip()) {
            Some(0.0) => Ok(()),
            v => Err(format!("{v:?}")),
        }
    });
    assert!(took <= T.removal_bound(), "gauge fell after {took:?}");
    let m = metrics(&s);
    assert_eq!(target_up(&m, b.ip()), Some(1.0), "{m}");
    assert!(
        sample(&m, "gslbd_probes_total{result=\"failed\"}").unwrap() >= failed0 + FALL as f64,
        "{m}"
    );
    assert_eq!(
        sample(&m, "gslbd_targets{state=\"down\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(sample(&m, "gslbd_targets{state=\"up\"}"), Some(1.0), "{m}");
}

#[test]
fn target_up_gauge_reports_probe_health_while_drained() {
    let a = Backend::http(lo(10, 10), 0);
    let b = Backend::http(lo(10, 11), a.port());
    let z = Zones::new();
    simple_zone(&z, "h10.test.", 1, a.port(), &[a.ip(), b.ip()]);
    let s = start(&z, &[]);
    wait_state(&s, a.ip(), "up", T.patience());
    a.set(Mode::Status(503));
    wait_state(&s, a.ip(), "down", T.patience());
    let (code, body) = post(&s, &format!("/v1/targets/{}/drain", a.ip()));
    assert_eq!(code, 200, "{body}");
    let m = metrics(&s);
    assert_eq!(
        target_up(&m, a.ip()),
        Some(0.0),
        "a drained target whose checks fail is not up: {m}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Reloads keep health state; removed checks stop

#[test]
fn a_down_target_stays_down_across_a_reload_and_removed_checks_stop_probing() {
    let a = Backend::http(lo(11, 10), 0);
    let b = Backend::http(lo(11, 11), a.port());
    let gone = Backend::http(lo(11, 12), 0);
    let z = Zones::new();
    let name = "www.h11.test.";
    let zone = |serial: u32, check_name: &str, other_checked: bool| {
        let other = if other_checked {
            json!({ "address": gone.ip().to_string(), "check": "other" })
        } else {
            json!(gone.ip().to_string())
        };
        let mut checks = json!({ check_name: T.check("http", a.port(), json!({})) });
        if other_checked {
            checks["other"] = T.check("http", gone.port(), json!({}));
        }
        write_zone(
            &z,
            "h11.test.",
            serial,
            json!({
                "www": { "gslb": "web" },
                "api": { "gslb": "other" },
                "txt": { "TXT": [format!("serial {serial}")] }
            }),
            checks,
            json!({
                "web": { "check": check_name, "pools": {
                    "default": { "targets": [a.ip().to_string(), b.ip().to_string()] }
                } },
                "other": { "pools": { "default": { "targets": [other] } } }
            }),
        );
    };
    zone(1, "hc", true);
    let s = start(&z, &["--no-watch"]);
    wait_state(&s, b.ip(), "up", T.patience());
    wait_state(&s, gone.ip(), "up", T.patience());
    a.set(Mode::Status(503));
    let down = wait_state(&s, a.ip(), "down", T.patience()).0;
    assert_eq!(answer(&s, name, None), set(&[b.ip()]));

    // Reload with the same check definition for `a`, under another name, in a changed zone:
    // `a` stays down, with its `since`.
    zone(2, "hc-renamed", true);
    let (code, body) = post(&s, "/v1/reload");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(
        answer(&s, name, None),
        set(&[b.ip()]),
        "still down right after the reload"
    );
    let after = row(&s, a.ip());
    assert_eq!(after["state"], "down", "{after}");
    assert_eq!(after["check"], "hc-renamed", "{after}");
    assert_eq!(
        after["since"], down["since"],
        "state kept, not restarted: {after}"
    );
    // Still down a few probes later (the backend still fails).
    let deadline = Instant::now() + Duration::from_secs_f64(INTERVAL * 4.0);
    while Instant::now() < deadline {
        assert_eq!(
            answer(&s, name, None),
            set(&[b.ip()]),
            "{}",
            row(&s, a.ip())
        );
        std::thread::sleep(POLL);
    }
    // It comes back after `rise` successes, as before the reload.
    let healthy_before = a.healthy_answers();
    a.set(Mode::Healthy);
    wait_answer(&s, name, None, &[a.ip(), b.ip()], T.patience());
    assert!(a.healthy_answers() - healthy_before >= RISE as usize);

    // Remove the check of `gone`: after the reload and one interval it sees no more probes.
    zone(3, "hc-renamed", false);
    let (code, body) = post(&s, "/v1/reload");
    assert_eq!(code, 200, "{body}");
    let r = row(&s, gone.ip());
    assert!(r["check"].is_null(), "no check any more: {r}");
    assert_eq!(r["state"], "up", "{r}");
    std::thread::sleep(Duration::from_secs_f64(INTERVAL + TIMEOUT + 0.1));
    let settled = gone.requests();
    std::thread::sleep(Duration::from_secs_f64(INTERVAL * 5.0));
    assert_eq!(
        gone.requests(),
        settled,
        "a removed check must stop probing"
    );
    assert_eq!(answer(&s, "api.h11.test.", None), set(&[gone.ip()]));
}

// ---------------------------------------------------------------------------------------------
// 10. Per-pool target counts

#[test]
fn pool_targets_gauge_counts_each_pools_targets_as_answers_see_them() {
    let mut a = Backend::http(lo(13, 10), 0);
    let b = Backend::http(lo(13, 11), a.port());
    let c = Backend::http(lo(13, 12), a.port());
    let z = Zones::new();
    write_regions(&z);
    write_zone(
        &z,
        "h13.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "hc": T.check("http", a.port(), json!({})) }),
        json!({ "web": {
            "check": "hc",
            "pools": {
                "r1": { "targets": [a.ip().to_string()], "fallback": ["default"] },
                "default": { "targets": [b.ip().to_string(), c.ip().to_string()] }
            }
        } }),
    );
    let s = start(&z, &[]);
    for t in [&a, &b, &c] {
        wait_state(&s, t.ip(), "up", T.patience());
    }
    let pool = |m: &str, pool: &str, state: &str| {
        sample(
            m,
            &format!("gslbd_pool_targets{{record=\"web\",pool=\"{pool}\",state=\"{state}\"}}"),
        )
    };
    let m = metrics(&s);
    assert_eq!(pool(&m, "r1", "up"), Some(1.0), "{m}");
    assert_eq!(pool(&m, "r1", "down"), Some(0.0), "{m}");
    assert_eq!(pool(&m, "default", "up"), Some(2.0), "{m}");

    // r1's only backend stops: its pool has no target up, and the answer fails over.
    a.stop();
    let (_, took) = wait_for("r1's up count reaches 0", T.patience(), || {
        let m = metrics(&s);
        match (pool(&m, "r1", "up"), pool(&m, "r1", "down")) {
            (Some(0.0), Some(1.0)) => Ok(()),
            v => Err(format!("{v:?}\n{m}")),
        }
    });
    assert!(took <= T.removal_bound(), "the gauge fell after {took:?}");
    assert_eq!(
        answer(&s, "www.h13.test.", Some("10.1.2.3")),
        set(&[b.ip(), c.ip()])
    );
    let m = metrics(&s);
    assert_eq!(pool(&m, "default", "up"), Some(2.0), "{m}");

    // A drain by hand counts as drained, not up, at once.
    let (code, body) = post(&s, &format!("/v1/targets/{}/drain", b.ip()));
    assert_eq!(code, 200, "{body}");
    let m = metrics(&s);
    assert_eq!(pool(&m, "default", "up"), Some(1.0), "{m}");
    assert_eq!(pool(&m, "default", "drained"), Some(1.0), "{m}");
    assert_eq!(pool(&m, "default", "down"), Some(0.0), "{m}");
}
