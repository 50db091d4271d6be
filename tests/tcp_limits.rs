//! TCP limits: an idle connection is closed after `--tcp-idle-timeout`; a newcomer beyond
//! `--tcp-max-connections` takes the place of the connection idle longest; a client network
//! holding `--tcp-max-per-client` connections gets no more, while other networks do.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::metrics::scrape;
use common::*;
use hickory_proto::rr::RecordType;

fn framed(name: &str) -> Vec<u8> {
    frame(&encode(&query(name, RecordType::A)))
}

/// Sends one query on `c` and reads its framed answer.
fn ask(c: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    c.write_all(&framed("static.example.com."))?;
    read_framed(c)
}

/// Waits (up to `within`) for the server to close `c`; returns how long that took.
fn closed_within(c: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64];
    match c.read(&mut buf) {
        Ok(0) => Some(start.elapsed()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(start.elapsed()),
        _ => None,
    }
}

fn server(extra: &[&str]) -> Server {
    Server::start(&example_zones(), &example_geo(), extra)
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let s = server(&["--tcp-idle-timeout", "0.5"]);
    // Never sends anything: closed after the timeout, not at once.
    let mut silent = TcpStream::connect(s.addr()).unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(5)).expect("closed by the server");
    assert!(
        took >= Duration::from_millis(300),
        "closed too early: {took:?}"
    );
    // Sends queries back to back (each well within the timeout), then goes quiet.
    let mut quiet = TcpStream::connect(s.addr()).unwrap();
    for _ in 0..3 {
        assert_eq!(decode(&ask(&mut quiet).unwrap()).answers.len(), 2);
    }
    assert!(
        closed_within(&mut quiet, Duration::from_secs(5)).is_some(),
        "closed once idle"
    );
}

#[test]
fn over_the_cap_a_newcomer_takes_the_place_of_the_connection_idle_longest() {
    let s = server(&[
        "--tcp-max-connections",
        "2",
        "--tcp-max-per-client",
        "0",
        "--admin",
        "127.0.0.1:0",
    ]);
    let open = |want: f64| {
        wait_for("open TCP connections", Duration::from_secs(5), || {
            let v = scrape(s.admin_addr()).must("gslbd_tcp_connections", &[]);
            (v == want).then_some(()).ok_or(format!("{v}"))
        })
    };
    let mut a = TcpStream::connect(s.addr()).unwrap();
    let mut b = TcpStream::connect(s.addr()).unwrap();
    assert!(ask(&mut b).is_ok() && ask(&mut a).is_ok());
    // b has been idle longer than a: a third connection is served and b is closed.
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(ask(&mut c).is_ok(), "the newcomer is served");
    assert!(
        closed_within(&mut b, Duration::from_secs(5)).is_some(),
        "the connection idle longest is closed"
    );
    assert!(ask(&mut a).is_ok(), "the other one still works");

    // A connection that never completed a query goes before any that did, even one idle
    // for longer.
    drop(c);
    open(1.0);
    let mut silent = TcpStream::connect(s.addr()).unwrap();
    silent.write_all(&[0]).unwrap(); // half a length prefix
    open(2.0);
    let mut d = TcpStream::connect(s.addr()).unwrap();
    d.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(ask(&mut d).is_ok());
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).is_some(),
        "the half-sent connection made room"
    );
    assert!(
        ask(&mut a).is_ok(),
        "the idle connection that completed a query stays"
    );
    let m = scrape(s.admin_addr());
    assert_eq!(
        m.must("gslbd_tcp_closed_total", &[("reason", "evicted")]),
        2.0
    );
    assert_eq!(
        m.must("gslbd_tcp_closed_total", &[("reason", "per_client")]),
        0.0
    );
}

#[test]
fn a_client_network_holds_at_most_its_share_and_others_still_connect() {
    let s = server(&["--tcp-max-per-client", "2", "--admin", "127.0.0.1:0"]);
    let from = |ip: &str| tcp_connect_from(ip.parse().unwrap(), s.addr()).expect("TCP connect");
    let mut a = from("127.0.7.1");
    let mut b = from("127.0.7.2");
    assert!(ask(&mut a).is_ok() && ask(&mut b).is_ok());
    // A third connection from the same /24 is closed at once, before any answer.
    let mut third = from("127.0.7.3");
    let _ = third.write_all(&framed("static.example.com."));
    assert!(
        closed_within(&mut third, Duration::from_secs(5)).is_some(),
        "a third connection from 127.0.7.0/24 is closed"
    );
    // Another /24 is not held back, and the first two keep working.
    let mut other = from("127.0.8.1");
    assert!(ask(&mut other).is_ok());
    assert!(ask(&mut a).is_ok() && ask(&mut b).is_ok());
    drop(a);
    wait_for(
        "a freed place for 127.0.7.0/24",
        Duration::from_secs(5),
        || {
            let mut c = from("127.0.7.4");
            ask(&mut c).map(drop).map_err(|e| e.to_string())
        },
    );
    let m = scrape(s.admin_addr());
    assert!(m.must("gslbd_tcp_closed_total", &[("reason", "per_client")]) >= 1.0);
    assert_eq!(
        m.must("gslbd_tcp_closed_total", &[("reason", "evicted")]),
        0.0
    );
}
