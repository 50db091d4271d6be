//! End-to-end tests of `serve --probe-source ADDR` (spec §10): health probes connect from the
//! given address, so gslbd nodes on one host each get their own vantage point. Two real
//! `gslbd serve` nodes probe one vantage backend (tests/common/vantage.rs) that fails only the
//! probes from one node's source address; every address is private to its test
//! (127.63.T.x, T being the test's number), and no probe leaves the machine.

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};

use serde_json::{json, Value};

use common::health::{self, *};
use common::refusal::serve_refused;
use common::vantage::{Answer, VantageBackend};
use common::*;

const T: Timing = Timing {
    interval: 0.3,
    timeout: 0.2,
    rise: 2,
    fall: 2,
};

/// A loopback address private to test `test`.
fn lo(test: u8, host: u8) -> IpAddr {
    health::lo(63, test, host)
}

/// Starts a node with the admin API on a free port and `--probe-source` for each of `sources`.
fn node(z: &Zones, sources: &[IpAddr]) -> Server {
    let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let mut args = vec!["--admin", "127.0.0.1:0", "--udp-threads", "1"];
    for s in &sources {
        args.extend(["--probe-source", s.as_str()]);
    }
    Server::start(z.zones_dir(), z.geo_dir(), &args)
}

/// A target with its own check.
fn checked(addr: IpAddr, check: &str) -> Value {
    json!({ "address": addr.to_string(), "check": check })
}

/// Writes zone `origin` whose `www` answers `targets`, with `checks`.
fn web_zone(z: &Zones, origin: &str, checks: Value, targets: Vec<Value>) {
    write_zone(
        z,
        origin,
        1,
        json!({ "www": { "gslb": "web" } }),
        checks,
        json!({ "web": { "pools": { "default": { "targets": targets } } } }),
    );
}

/// Waits until `node` shows `target` up or down in `/v1/status` and answers `name` with
/// `fixed` and, when up, `target`.
fn expect(node: &Server, who: &str, name: &str, target: IpAddr, fixed: IpAddr, up: bool) {
    let want = if up { "up" } else { "down" };
    let (seen, _) = wait_for(
        &format!("node {who}: {target} {want}"),
        T.patience(),
        || {
            let r = row(node, target);
            let probed = !up || r["latency_ms"].is_number();
            if r["state"] == want && probed {
                Ok(r)
            } else {
                Err(r.to_string())
            }
        },
    );
    assert_eq!(seen["state"], want, "node {who}: {seen}");
    let answer = if up { vec![target, fixed] } else { vec![fixed] };
    wait_answer(node, name, None, &answer, T.patience());
}

/// The error in `node`'s status row of `target`.
fn error(node: &Server, target: IpAddr) -> String {
    row(node, target)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Two nodes probe one backend with a `kind` check (`http` or `tcp`), node A from
/// 127.63.T.2 and node B from 127.63.T.3; the backend fails A's probes with `failing`, then
/// B's instead.
fn two_vantage_points_swap(test: u8, kind: &str, failing: Answer, failure_text: &str) {
    let backend = match kind {
        "http" => VantageBackend::http(lo(test, 10), 0),
        _ => VantageBackend::tcp(lo(test, 10), 0),
    };
    let target = backend.ip();
    let fixed = lo(test, 12); // no check: always answered
    let (src_a, src_b) = (lo(test, 2), lo(test, 3));
    let origin = format!("p{test}.test.");
    let name = format!("www.{origin}");
    let z = Zones::new();
    web_zone(
        &z,
        &origin,
        json!({ "hc": T.check(kind, backend.port(), json!({})) }),
        vec![checked(target, "hc"), json!(fixed.to_string())],
    );
    backend.answer(src_a, failing);

    let a = node(&z, &[src_a]);
    let b = node(&z, &[src_b]);
    expect(&a, "A", &name, target, fixed, false);
    expect(&b, "B", &name, target, fixed, true);
    let err = error(&a, target);
    assert!(
        err.contains(failure_text),
        "node A's error names the failure ({failure_text}): {err}"
    );
    // Every probe came from a configured source, none from the OS default.
    let peers = backend.peers();
    assert!(
        peers.iter().all(|p| *p == src_a || *p == src_b),
        "probes from {peers:?}; only {src_a} and {src_b} were configured"
    );
    assert!(
        backend.hits(src_b) >= 1,
        "node B's probes reached the backend"
    );
    if failing == Answer::Silent {
        assert_eq!(
            backend.hits(src_a),
            0,
            "node A's connections were all silenced"
        );
    } else {
        assert!(
            backend.hits(src_a) >= 1,
            "node A's probes reached the backend"
        );
    }

    // The backend now fails B's probes and serves A's: the nodes swap.
    let a_before = backend.hits(src_a);
    backend.answer(src_a, Answer::Healthy);
    backend.answer(src_b, failing);
    expect(&a, "A", &name, target, fixed, true);
    expect(&b, "B", &name, target, fixed, false);
    assert!(
        backend.hits(src_a) >= a_before + T.rise as usize,
        "node A came back after {} accepted probe(s); rise is {}",
        backend.hits(src_a) - a_before,
        T.rise
    );
    let err = error(&b, target);
    assert!(
        err.contains(failure_text),
        "node B's error names the failure ({failure_text}): {err}"
    );
    let peers = backend.peers();
    assert!(
        peers.iter().all(|p| *p == src_a || *p == src_b),
        "probes from {peers:?}; only {src_a} and {src_b} were configured"
    );
}

#[test]
fn two_nodes_with_their_own_probe_source_each_see_an_http_target_their_own_way() {
    two_vantage_points_swap(1, "http", Answer::Status(503), "503");
}

#[test]
fn two_nodes_with_their_own_probe_source_each_see_a_tcp_target_their_own_way() {
    two_vantage_points_swap(2, "tcp", Answer::Silent, "timed out");
}

/// The address the OS picks to reach `target` (a route lookup: nothing is sent).
fn os_source(target: SocketAddr) -> IpAddr {
    let s = UdpSocket::bind("0.0.0.0:0").expect("bind UDP");
    s.connect(target).expect("route to target");
    s.local_addr().unwrap().ip()
}

#[test]
fn each_family_uses_its_own_source_and_a_family_without_one_the_os_default() {
    let v4 = VantageBackend::http(lo(3, 10), 0);
    let v6 = VantageBackend::http(IpAddr::V6(Ipv6Addr::LOCALHOST), 0);
    let fixed = lo(3, 12);
    let z = Zones::new();
    web_zone(
        &z,
        "p3.test.",
        json!({
            "hc4": T.check("http", v4.port(), json!({})),
            "hc6": T.check("http", v6.port(), json!({}))
        }),
        vec![
            checked(v4.ip(), "hc4"),
            checked(v6.ip(), "hc6"),
            json!(fixed.to_string()),
        ],
    );
    let src4 = lo(3, 2);
    let default4 = os_source(SocketAddr::new(v4.ip(), v4.port()));
    assert_ne!(
        default4, src4,
        "the test needs a source the OS would not pick"
    );

    // Only an IPv4 source: IPv6 probes still work, from the OS default (::1 here).
    let mut s = node(&z, &[src4]);
    wait_state(&s, v4.ip(), "up", T.patience());
    wait_state(&s, v6.ip(), "up", T.patience());
    wait_answer(&s, "www.p3.test.", None, &[v4.ip(), fixed], T.patience());
    assert_eq!(v4.peers(), vec![src4], "IPv4 probes come from {src4}");
    assert_eq!(v6.peers(), vec![v6.ip()], "IPv6 probes come from ::1");
    s.stop();

    // Only an IPv6 source: IPv4 probes come from the OS default.
    let v6_before = v6.hits(v6.ip());
    let s = node(&z, &[v6.ip()]);
    wait_for(
        "IPv4 probes from the OS default",
        T.patience(),
        || match v4.hits(default4) {
            0 => Err(format!("peers so far {:?}", v4.peers())),
            n => Ok(n),
        },
    );
    wait_state(&s, v4.ip(), "up", T.patience());
    wait_state(&s, v6.ip(), "up", T.patience());
    assert!(v6.hits(v6.ip()) > v6_before, "IPv6 probes from ::1");
    let mut want = vec![src4, default4];
    want.sort();
    assert_eq!(v4.peers(), want);
}

#[test]
fn a_probe_source_this_host_does_not_have_stops_serve_at_startup() {
    let z = Zones::new();
    web_zone(
        &z,
        "p4.test.",
        json!({ "hc": T.check("tcp", 9, json!({})) }),
        vec![checked(lo(4, 10), "hc")],
    );
    // 192.0.2.1 (TEST-NET-1) is on no interface: binding it fails.
    let (status, err) = serve_refused(z.zones_dir(), z.geo_dir(), &["--probe-source", "192.0.2.1"]);
    assert_eq!(status.code(), Some(1), "exit 1; stderr:\n{err}");
    assert!(
        err.contains("--probe-source") && err.contains("192.0.2.1"),
        "the error names the flag and the address:\n{err}"
    );
    assert!(
        err.contains("address of this host"),
        "the error says why:\n{err}"
    );
    assert!(!err.contains("target is down"), "no probe ran:\n{err}");

    // Two addresses of one family are refused too, naming the flag.
    let (status, err) = serve_refused(
        z.zones_dir(),
        z.geo_dir(),
        &[
            "--probe-source",
            &lo(4, 2).to_string(),
            "--probe-source",
            &lo(4, 3).to_string(),
        ],
    );
    assert_eq!(status.code(), Some(1), "exit 1; stderr:\n{err}");
    assert!(
        err.contains("--probe-source") && err.contains("IPv4 is given twice"),
        "{err}"
    );

    // A local one starts (the same configuration otherwise).
    let mut s = node(&z, &[lo(4, 2)]);
    assert!(s.is_running());
}
