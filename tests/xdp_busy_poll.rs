//! Preferred busy polling on the AF_XDP sockets (`--xdp-busy-poll`), on a veth pair between
//! two network namespaces made by the test: gslbd says it runs, names the interface
//! settings it still wants while they are unset (and not once they are set), and answers
//! through AF_XDP the same bytes as through the kernel. Skips as `xdp_path` does.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use common::netns::{VethPair, SERVER_V4};
use common::xdp::{serve, skip, xdp_counter, xdp_unavailable};
use common::{raw_query, wait_for, Server};

const LISTEN: &[&str] = &["10.53.0.2:53"];
const BUSY_POLL: &[&str] = &["--xdp", "srv0", "--xdp-busy-poll", "50"];
/// Queries per server: enough to go round the rotation many times.
const QUERIES: u16 = 60;

/// Sets srv0's NAPI deferral (`napi_defer_hard_irqs`, `gro_flush_timeout`) in the server
/// namespace, where its sysfs is.
fn defer_interrupts(pair: &VethPair, defer: u32, flush_ns: u32) {
    let sys = "/sys/class/net/srv0";
    let script = format!(
        "echo {defer} > {sys}/napi_defer_hard_irqs && echo {flush_ns} > {sys}/gro_flush_timeout"
    );
    let mut c: Command = pair.server_command("sh");
    let out = c.args(["-c", &script]).output().expect("run sh");
    assert!(out.status.success(), "{script}: {out:?}");
}

/// `QUERIES` queries for www A, one after the other, from the client namespace.
fn ask(pair: &VethPair) -> Vec<Vec<u8>> {
    pair.in_client(|| {
        let u = UdpSocket::bind("0.0.0.0:0").unwrap();
        u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let to = SocketAddr::from((SERVER_V4, 53));
        (0..QUERIES)
            .map(|id| {
                u.send_to(&raw_query(id, "www.example.com.", 1, None), to)
                    .unwrap();
                let mut b = [0u8; 1500];
                let n = u.recv(&mut b).unwrap_or_else(|e| panic!("query {id}: {e}"));
                b[..n].to_vec()
            })
            .collect()
    })
}

/// The AF_XDP `answered` counter, which must agree with the queries counted as `xdp`.
fn answered(pair: &VethPair, s: &Server) -> u64 {
    let admin = s.admin_addr();
    let metrics = pair.in_client(|| common::http_request(admin, "GET", "/metrics", None).1);
    let by_transport = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gslbd_queries_by_transport_total{transport=\"xdp\"} "))
        .unwrap_or_else(|| panic!("no xdp transport count:\n{metrics}"));
    let answered = xdp_counter(&metrics, "answered");
    assert_eq!(by_transport.trim().parse::<u64>().unwrap(), answered);
    answered
}

#[test]
fn preferred_busy_polling_answers_like_the_kernel_and_names_what_the_interface_lacks() {
    let pair = match VethPair::create("xdpbp") {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let kernel = serve(&pair, LISTEN, &[]);
    let want = ask(&pair);
    drop(kernel);

    // A fresh veth defers nothing: gslbd busy-polls and says what to set.
    defer_interrupts(&pair, 0, 0);
    let s = serve(&pair, LISTEN, BUSY_POLL);
    if let Some(why) = xdp_unavailable(&s) {
        return skip(&why);
    }
    let line = s
        .startup_lines()
        .iter()
        .find(|l| l.starts_with("gslbd answering UDP on srv0"))
        .unwrap();
    assert!(line.ends_with(", preferred busy polling 50 µs)"), "{line}");
    wait_for("the interface advice", Duration::from_secs(5), || {
        let err = s.stderr();
        let named = ["echo 2 > ", "/napi_defer_hard_irqs", "echo 200000 > "]
            .iter()
            .all(|p| err.contains(p))
            && err.contains("/gro_flush_timeout");
        named.then_some(()).ok_or(err)
    });
    assert_eq!(ask(&pair), want, "busy-polled AF_XDP answers differ");
    assert_eq!(answered(&pair, &s), u64::from(QUERIES));
    drop(s);

    // Set as advised: no advice, and the same answers.
    defer_interrupts(&pair, 2, 200_000);
    let s = serve(&pair, LISTEN, BUSY_POLL);
    assert_eq!(xdp_unavailable(&s), None);
    assert_eq!(ask(&pair), want, "busy-polled AF_XDP answers differ");
    assert_eq!(answered(&pair, &s), u64::from(QUERIES));
    // The admin API says the same as the startup line, and counts what was answered.
    let admin = s.admin_addr();
    let (code, body) = pair.in_client(|| common::http_request(admin, "GET", "/v1/status", None));
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let xdp = &status["listening"]["xdp"];
    assert_eq!(
        xdp,
        &serde_json::json!([{
            "iface": "srv0", "path": "af_xdp", "queues": 1, "attach": "native",
            "sockets": "copy", "busy_poll_us": 50,
            "packets": {"answered": QUERIES, "unanswered": 0, "tx_full": 0},
        }]),
        "{status:#}"
    );
    assert_eq!(
        status["listening"]["dns"],
        serde_json::json!([{"address": "10.53.0.2:53", "transport": "udp+tcp"}])
    );
    // gslbd wrote its warnings before its readiness line, long before these answers.
    let err = s.stderr();
    assert!(!err.contains("gro_flush_timeout"), "{err}");
    assert!(!err.contains("busy polling is not available"), "{err}");
}

#[test]
fn xdp_busy_poll_out_of_range_is_refused() {
    let zones = common::example_zones();
    let geo = common::example_geo();
    let out = common::serve_command(&zones, &geo)
        .args(["--listen", "127.0.0.1:0", "--xdp-busy-poll", "20000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--xdp-busy-poll is in microseconds and at most 10000"),
        "{err}"
    );
}
