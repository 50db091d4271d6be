//! The AF_XDP fast path through what happens to interfaces, on a veth pair between two
//! network namespaces made by the test: a link that goes down and up (or changes its MTU)
//! keeps being answered through AF_XDP; an interface deleted and made again is reported in
//! the log and `/v1/status`, and the kernel answers it. Skips as `xdp_path` does.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::netns::{VethPair, SERVER_V4};
use common::xdp::{serving_xdp, xdp_counter};
use common::{raw_query, Server};

const LISTEN: &[&str] = &["10.53.0.2:53"];

/// Asks for www A from the client namespace, retrying for up to 5 s (a link that just came
/// up may drop the first packets); the answer's RCODE.
fn ask(pair: &VethPair, id: u16) -> u8 {
    pair.in_client(|| {
        let u = UdpSocket::bind("0.0.0.0:0").unwrap();
        u.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let to = SocketAddr::from((SERVER_V4, 53));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            u.send_to(&raw_query(id, "www.example.com.", 1, None), to)
                .unwrap();
            let mut b = [0u8; 1500];
            match u.recv(&mut b) {
                Ok(n) if n >= 4 => return common::raw_rcode(&b[..n]),
                _ => assert!(Instant::now() < deadline, "no answer to query {id}"),
            }
        }
    })
}

fn status(pair: &VethPair, s: &Server) -> serde_json::Value {
    let admin = s.admin_addr();
    let (code, body) = pair.in_client(|| common::http_request(admin, "GET", "/v1/status", None));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn answered(pair: &VethPair, s: &Server) -> u64 {
    let admin = s.admin_addr();
    let metrics = pair.in_client(|| common::http_request(admin, "GET", "/metrics", None).1);
    xdp_counter(&metrics, "answered")
}

#[test]
fn a_link_that_flaps_stays_on_af_xdp() {
    let Some((pair, s)) = serving_xdp("xdpflap", LISTEN) else {
        return;
    };
    assert_eq!(ask(&pair, 1), 0);
    assert_eq!(answered(&pair, &s), 1);
    pair.set_server_link(false).unwrap();
    pair.set_server_link(true).unwrap();
    assert_eq!(ask(&pair, 2), 0);
    let mut c: std::process::Command = pair.server_command("ip");
    let out = c
        .args(["link", "set", "srv0", "mtu", "1400"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(ask(&pair, 3), 0);
    // Every answer came through AF_XDP (the kernel would not count them there).
    assert!(answered(&pair, &s) >= 3);
    assert_eq!(status(&pair, &s)["listening"]["xdp"][0]["path"], "af_xdp");
}

#[test]
fn an_interface_made_again_is_reported_and_the_kernel_answers_it() {
    let Some((pair, s)) = serving_xdp("xdpgone", LISTEN) else {
        return;
    };
    assert_eq!(ask(&pair, 1), 0);
    pair.delete_link().unwrap();
    pair.make_link().unwrap();
    // Reported within a few of the watcher's 1 s rounds.
    let deadline = Instant::now() + Duration::from_secs(5);
    let entry = loop {
        let st = status(&pair, &s);
        let entry = st["listening"]["xdp"][0].clone();
        if entry["path"] == "kernel" {
            break entry;
        }
        assert!(Instant::now() < deadline, "not reported: {st:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let reason = entry["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("srv0 was deleted and made again after AF_XDP started on it")
            && reason.contains("restart gslbd"),
        "{entry}"
    );
    assert_eq!(entry["packets"]["answered"], 1, "{entry}");
    assert!(s.stderr().contains("srv0 was deleted and made again"));
    // The kernel answers the new interface.
    assert_eq!(ask(&pair, 2), 0);
    assert_eq!(answered(&pair, &s), 1);
}
