//! Listening on a wildcard address: every reply leaves from the address its query was sent
//! to, so resolvers (which only accept answers from the server they asked) get them.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{bin, dig, example_geo, example_zones};

struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `gslbd serve --listen ADDR` and returns the bound port.
fn start(listen: &str) -> (Proc, u16) {
    let mut child = Command::new(bin())
        .args(["serve", "--listen", listen, "--admin", "off", "--zones"])
        .arg(example_zones())
        .arg("--geo")
        .arg(example_geo())
        .env("GSLBD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gslbd");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .next()
        .expect("a listening line")
        .expect("readable stdout");
    let addr: SocketAddr = line
        .strip_prefix("gslbd listening on ")
        .and_then(|r| r.strip_suffix(" (udp+tcp)"))
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), addr.port())
}

/// Asks `mail.example.com A` from a socket connected to `server`: the kernel drops replies
/// from any other source address, so an answer proves the source was right.
fn ask_connected(server: SocketAddr) -> Option<Vec<u8>> {
    let bind = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let s = UdpSocket::bind(bind).unwrap();
    s.connect(server).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let q = common::encode(&common::query(
        "mail.example.com.",
        hickory_proto::rr::RecordType::A,
    ));
    s.send(&q).unwrap();
    let mut buf = [0u8; 1500];
    let n = s.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

#[test]
fn replies_leave_from_the_address_the_query_was_sent_to_ipv4() {
    let (_p, port) = start("0.0.0.0:0");
    for dst in ["127.0.0.1", "127.0.0.2", "127.0.0.53"] {
        let server: SocketAddr = format!("{dst}:{port}").parse().unwrap();
        let reply = ask_connected(server)
            .unwrap_or_else(|| panic!("no reply from {server}: wrong source address?"));
        let m = common::decode(&reply);
        assert_eq!(m.answers.len(), 1, "{m}");
        let out = dig(
            server,
            &["mail.example.com", "+short", "+tries=1", "+time=2"],
        );
        assert_eq!(out.trim(), "192.0.2.25", "dig via {dst}: {out}");
    }
}

/// The IPv6 path (IPV6_RECVPKTINFO) answers too; loopback has a single IPv6 address, so this
/// cannot tell a right source from a wrong one the way the IPv4 test does.
#[test]
fn ipv6_wildcard_listener_answers() {
    let (_p, port) = start("[::]:0");
    let server: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    let reply = ask_connected(server).expect("a reply from ::1");
    assert_eq!(common::decode(&reply).answers.len(), 1);
}
