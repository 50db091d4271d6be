//! Shared pieces of the health-check suites: check timing and its bounds, zones with checks,
//! the HTTP side of a test backend, and looking at answers and `/v1/status` rows while health
//! changes.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use super::{answer_addresses, query, udp, wait_for, with_ecs, zone_json, Server, Zones};

/// The body a healthy backend answers with.
pub const HEALTHY_BODY: &str = "ALIVE and well\n";

/// The timing of every check in a suite.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Probe interval, seconds.
    pub interval: f64,
    /// Probe timeout, seconds; less than the interval.
    pub timeout: f64,
    pub rise: u32,
    pub fall: u32,
}

impl Timing {
    /// The spec's bound for a failing target to leave the answers: interval × fall + 1 s.
    pub fn removal_bound(&self) -> Duration {
        Duration::from_secs_f64(self.interval * self.fall as f64 + 1.0)
    }

    /// The same bound for a recovered target to come back: interval × rise + 1 s.
    pub fn recovery_bound(&self) -> Duration {
        Duration::from_secs_f64(self.interval * self.rise as f64 + 1.0)
    }

    /// How long a wait may run before the test gives up (longer than the bounds, so a slow
    /// result is reported with its actual duration rather than as a time-out).
    pub fn patience(&self) -> Duration {
        self.removal_bound().max(self.recovery_bound()) + Duration::from_secs(4)
    }

    /// A check of `kind` (`http`, `https`, `tcp`) on `port` with this timing, `/healthz` as
    /// the path of HTTP(S) checks, and `extra` fields merged in.
    pub fn check(&self, kind: &str, port: u16, extra: Value) -> Value {
        let mut c = json!({
            "type": kind, "port": port,
            "interval": self.interval, "timeout": self.timeout,
            "rise": self.rise, "fall": self.fall
        });
        if kind != "tcp" {
            c["path"] = json!("/healthz");
        }
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    }
}

/// Writes zone `origin` with `records`, `checks` and `gslb` sections.
pub fn write_zone(
    z: &Zones,
    origin: &str,
    serial: u32,
    records: Value,
    checks: Value,
    gslb: Value,
) {
    let mut zone: Value = serde_json::from_str(&zone_json(origin, 3600, 60, records)).unwrap();
    zone["soa"]["serial"] = json!(serial);
    zone["checks"] = checks;
    zone["gslb"] = gslb;
    z.file(
        &format!("{}.json", origin.trim_end_matches('.')),
        &serde_json::to_string_pretty(&zone).unwrap(),
    );
}

/// A loopback address private to one test: 127.`suite`.`test`.`host`.
pub fn lo(suite: u8, test: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, suite, test, host))
}

/// Reads one HTTP request head from `s`: its request line and Host header. `None` when the
/// peer closes or stalls first.
pub fn read_head(s: &mut impl Read) -> Option<(String, Option<String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_string());
    Some((request_line, host))
}

/// Writes a complete `Connection: close` HTTP/1.1 response.
pub fn write_response(s: &mut impl Write, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        503 => "Service Unavailable",
        _ => "Whatever",
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

/// The A addresses answered for `name`, asked over UDP (with ECS for `client` when given).
/// Asserts NOERROR.
pub fn answer(s: &Server, name: &str, client: Option<&str>) -> BTreeSet<IpAddr> {
    let r = ask(s, name, client);
    assert_eq!(r.response_code, ResponseCode::NoError, "{name}: {r}");
    answer_addresses(&r).into_iter().collect()
}

/// Asks `name` A over UDP, with ECS for `client` when given.
pub fn ask(s: &Server, name: &str, client: Option<&str>) -> Message {
    let q = query(name, RecordType::A);
    let q = match client {
        Some(c) => with_ecs(q, c, 32),
        None => q,
    };
    udp(s.addr(), &q)
}

pub fn set(list: &[IpAddr]) -> BTreeSet<IpAddr> {
    list.iter().copied().collect()
}

/// Waits until the answer for `name` (from `client`) is exactly `want`; returns how long it
/// took.
pub fn wait_answer(
    s: &Server,
    name: &str,
    client: Option<&str>,
    want: &[IpAddr],
    within: Duration,
) -> Duration {
    let want = set(want);
    wait_for(&format!("answer {name} = {want:?}"), within, || {
        let got = answer(s, name, client);
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .1
}

/// `GET path` as JSON; asserts 200.
pub fn get_json(s: &Server, path: &str) -> Value {
    let (code, body) = s.http("GET", path, None);
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: bad JSON ({e}): {body}"))
}

/// The `/v1/status` rows of `addr`.
pub fn rows(s: &Server, addr: IpAddr) -> Vec<Value> {
    let st = get_json(s, "/v1/status");
    st["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("/v1/status has no `targets` array: {st}"))
        .iter()
        .filter(|r| r["address"] == json!(addr.to_string()))
        .cloned()
        .collect()
}

/// The single `/v1/status` row of `addr`.
pub fn row(s: &Server, addr: IpAddr) -> Value {
    let r = rows(s, addr);
    assert_eq!(r.len(), 1, "exactly one status row for {addr}: {r:?}");
    r.into_iter().next().unwrap()
}

/// Waits until `addr`'s status row has `state` (and, for `up` with a check, a successful
/// probe behind it: a latency); returns the row and how long it took.
pub fn wait_state(s: &Server, addr: IpAddr, want: &str, within: Duration) -> (Value, Duration) {
    wait_for(&format!("{addr} {want} in /v1/status"), within, || {
        let r = row(s, addr);
        let probed = want != "up" || r["check"].is_null() || r["latency_ms"].is_number();
        if r["state"] == json!(want) && probed {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
}
