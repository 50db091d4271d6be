//! `--udp-busy-poll`: UDP threads that poll for the next query before sleeping answer every
//! query, one at a time and in bursts, over UDP (Rust client and dig) and TCP alike; a
//! value out of range is refused before the server starts.

mod common;

use std::net::{IpAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use common::*;
use hickory_proto::rr::RecordType;

fn static_answers() -> Vec<IpAddr> {
    vec!["192.0.2.10".parse().unwrap(), "192.0.2.11".parse().unwrap()]
}

#[test]
fn a_busy_polling_server_answers_every_query() {
    let s = Server::start(
        &example_zones(),
        &example_geo(),
        &["--udp-busy-poll", "500"],
    );
    // One at a time: each query finds the thread either polling or asleep.
    for i in 0..200 {
        let reply = udp(s.addr(), &query("static.example.com.", RecordType::A));
        let mut got = answer_addresses(&reply);
        got.sort();
        assert_eq!(got, static_answers(), "query {i}");
    }
    // A burst of 64 from one socket, all in flight at once.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(s.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut ids = std::collections::HashSet::new();
    // Distinct ids: 64 random ones collide now and then (about 3 % of runs), and a second
    // reply with one id would look unexpected.
    for i in 0..64u16 {
        let mut q = query("static.example.com.", RecordType::A);
        q.metadata.id = 0x4000 + i;
        ids.insert(q.id);
        sock.send(&encode(&q)).unwrap();
    }
    let mut buf = [0u8; 1500];
    while !ids.is_empty() {
        let n = sock
            .recv(&mut buf)
            .expect("every query of the burst is answered");
        let reply = decode(&buf[..n]);
        assert!(ids.remove(&reply.id), "unexpected reply id {}", reply.id);
        assert_eq!(answer_addresses(&reply).len(), 2);
    }
    let out = dig(s.addr(), &["static.example.com", "+short"]);
    assert!(out.contains("192.0.2.10"), "{out}");
    let out = dig(s.addr(), &["static.example.com", "+tcp", "+short"]);
    assert!(out.contains("192.0.2.11"), "{out}");
}

#[test]
fn an_out_of_range_busy_poll_is_refused() {
    let out = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "off"])
        .arg("--zones")
        .arg(example_zones())
        .arg("--geo")
        .arg(example_geo())
        .args(["--udp-busy-poll", "2000000"])
        .output()
        .expect("run gslbd serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--udp-busy-poll"), "{err}");
}
