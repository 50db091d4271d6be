//! TCP limits: an idle connection is closed after `--tcp-idle-timeout`, and connections
//! beyond `--tcp-max-connections` are closed at once while the others keep working.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

fn framed(name: &str) -> Vec<u8> {
    let q = encode(&query(name, RecordType::A));
    let mut out = (q.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&q);
    out
}

/// Sends one query on `c` and reads its framed answer.
fn ask(c: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    c.write_all(&framed("static.example.com."))?;
    let mut len = [0u8; 2];
    c.read_exact(&mut len)?;
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    c.read_exact(&mut msg)?;
    Ok(msg)
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
fn connections_over_the_cap_are_closed_and_the_others_keep_working() {
    let s = server(&["--tcp-max-connections", "2"]);
    let mut a = TcpStream::connect(s.addr()).unwrap();
    let mut b = TcpStream::connect(s.addr()).unwrap();
    assert!(ask(&mut a).is_ok() && ask(&mut b).is_ok());
    let mut extra = TcpStream::connect(s.addr()).unwrap();
    let _ = extra.write_all(&framed("static.example.com."));
    assert!(
        closed_within(&mut extra, Duration::from_secs(5)).is_some(),
        "a third connection is closed"
    );
    assert!(ask(&mut a).is_ok(), "the first two still work");
    assert!(ask(&mut b).is_ok());
    // Once one closes, a new connection gets its place.
    drop(a);
    wait_for("a freed connection slot", Duration::from_secs(5), || {
        let mut c = TcpStream::connect(s.addr()).map_err(|e| e.to_string())?;
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        ask(&mut c).map(drop).map_err(|e| e.to_string())
    });
}
