//! The AF_XDP fast path (`--xdp IFACE`) on a veth pair between two network namespaces made
//! by the test: a grid of queries gets the same bytes from gslbd answering through AF_XDP
//! as from gslbd answering through the kernel, every one of them went through the AF_XDP
//! sockets (the metrics count them), and what the XDP program must pass to the kernel
//! still works (ARP and neighbour discovery, TCP, UDP to other ports). Without the means
//! (not root, no network namespaces, no AF_XDP) it says why and skips; with
//! GSLBD_REQUIRE_XDP=1 (scripts/xdp-test) it fails instead. (`tests/xdp_fallback.rs`: a
//! `--xdp` that cannot run, on loopback, everywhere.)

mod common;

use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::netns::{VethPair, SERVER_V4, SERVER_V4_OTHER};

/// The listen addresses of the byte-for-byte test.
const LISTEN: &[&str] = &["10.53.0.2:53", "[fd00:53::2]:53"];
use common::xdp::{serve, skip, xdp_counter, xdp_unavailable, XDP};
use common::{raw_ecs, raw_opt, raw_packet, raw_query};

/// One query of the grid, and how long to wait for an answer (a short wait where none is
/// due, so that "no reply" costs little).
struct Case {
    what: String,
    packet: Vec<u8>,
    expect_reply: bool,
}

fn grid() -> Vec<Case> {
    let names = [
        "example.com.",
        "www.example.com.",
        "WwW.ExAmPlE.cOm.",
        "api.example.com.",
        "x.cdn.example.com.",
        "a.b.apps.example.com.",
        "status.apps.example.com.",
        "host.lab.example.com.",
        "static.example.com.",
        "long.example.com.",
        "media.example.com.",
        "edge.example.com.",
        "_sip._udp.example.com.",
        "nope.example.com.",
        "www.elsewhere.test.",
    ];
    // A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, ANY
    let types = [1u16, 2, 5, 6, 15, 16, 28, 33, 255];
    let ecs = [
        raw_ecs(1, 24, 0, &[81, 2, 69]),
        raw_ecs(1, 24, 0, &[216, 160, 83]),
        raw_ecs(1, 24, 0, &[175, 16, 199]),
        raw_ecs(2, 48, 0, &[0x20, 0x01, 0x02, 0x18, 0, 0]),
    ];
    let mut opts: Vec<Option<Vec<u8>>> = vec![None, Some(raw_opt(1232, 0, false, &[]))];
    opts.push(Some(raw_opt(512, 0, false, &[])));
    opts.extend(ecs.iter().map(|e| Some(raw_opt(1232, 0, false, e))));
    let mut cases = Vec::new();
    let mut id = 1u16;
    for name in names {
        for t in types {
            for o in &opts {
                id = id.wrapping_add(7919);
                cases.push(Case {
                    what: format!("{name} type {t} opt {o:?}"),
                    packet: raw_query(id, name, t, o.as_deref()),
                    expect_reply: true,
                });
            }
        }
    }
    let q = common::raw_question("www.example.com.", 1);
    let odd = [
        // Two questions: FORMERR.
        (
            raw_packet(11, [1, 0], [2, 0, 0, 0], &[q.clone(), q.clone()].concat()),
            true,
        ),
        // EDNS version 1: BADVERS.
        (
            raw_query(
                12,
                "www.example.com.",
                1,
                Some(&raw_opt(1232, 1, false, &[])),
            ),
            true,
        ),
        // NOTIFY and UPDATE opcodes: NOTIMP.
        (raw_packet(13, [0x20, 0], [1, 0, 0, 0], &q), true),
        (raw_packet(14, [0x28, 0], [1, 0, 0, 0], &q), true),
        // A response, and a runt: no reply.
        (raw_packet(15, [0x81, 0], [1, 0, 0, 0], &q), false),
        (vec![0, 16, 1], false),
    ];
    cases.extend(odd.into_iter().map(|(packet, expect_reply)| Case {
        what: format!("odd packet {packet:?}"),
        packet,
        expect_reply,
    }));
    cases
}

/// Sends every case to `server` from a socket of the current namespace, one at a time.
fn ask_all(server: SocketAddr, cases: &[Case]) -> Vec<Option<Vec<u8>>> {
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let sock = UdpSocket::bind(local).expect("bind");
    sock.connect(server).expect("connect");
    let mut buf = [0u8; 65535];
    cases
        .iter()
        .map(|c| {
            let wait = if c.expect_reply { 2000 } else { 200 };
            sock.set_read_timeout(Some(Duration::from_millis(wait)))
                .unwrap();
            sock.send(&c.packet).expect("send");
            match sock.recv(&mut buf) {
                Ok(n) => Some(buf[..n].to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => None,
                Err(e) => panic!("receive from {server}: {e}"),
            }
        })
        .collect()
}

/// The grid sent to `server` from the client namespace.
fn ask_grid(pair: &VethPair, server: IpAddr, cases: &[Case]) -> Vec<Option<Vec<u8>>> {
    pair.in_client(|| ask_all(SocketAddr::new(server, 53), cases))
}

#[test]
fn xdp_path_answers_the_same_bytes_as_the_kernel_path() {
    let pair = match VethPair::create("xdp") {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let cases = grid();
    let due = cases.iter().filter(|c| c.expect_reply).count();
    // Per address family, a fresh server on each path: round-robin answers depend on how
    // many queries the answering thread has seen, and on the kernel path each listen
    // address has its own thread while one AF_XDP queue serves both families.
    let mut server = None;
    for family in VethPair::server_addrs() {
        drop(server.take());
        // The kernel path first: the reference.
        let kernel = serve(&pair, LISTEN, &[]);
        let want = ask_grid(&pair, family, &cases);
        drop(kernel);
        let answered = want.iter().filter(|r| r.is_some()).count();
        assert_eq!(
            answered, due,
            "the kernel path must answer every query due an answer"
        );

        let s = serve(&pair, LISTEN, XDP);
        if let Some(why) = xdp_unavailable(&s) {
            return skip(&why);
        }
        // ARP and neighbour discovery must reach the kernel through the XDP program.
        pair.flush_client_neighbours();
        let got = ask_grid(&pair, family, &cases);
        for (c, (w, g)) in cases.iter().zip(want.iter().zip(&got)) {
            assert_eq!(
                g, w,
                "{} to {family}: the AF_XDP answer differs from the kernel's",
                c.what
            );
        }

        // Every datagram went through the AF_XDP socket: counted there, answered or not.
        let admin = s.admin_addr();
        let metrics = pair.in_client(|| common::http_request(admin, "GET", "/metrics", None).1);
        assert_eq!(xdp_counter(&metrics, "answered"), answered as u64);
        assert_eq!(
            xdp_counter(&metrics, "unanswered"),
            (got.len() - answered) as u64
        );
        assert_eq!(xdp_counter(&metrics, "tx_full"), 0);
        server = Some(s);
    }
    let _server = server.expect("a server on the AF_XDP path");

    // What is not UDP DNS for a listen address goes to the kernel: TCP DNS, and UDP to
    // another port (an echo socket in the server's namespace).
    let www = raw_query(77, "www.example.com.", 1, None);
    let tcp_reply = pair.in_client(|| {
        let mut s = TcpStream::connect((SERVER_V4, 53)).expect("TCP connect");
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        std::io::Write::write_all(&mut s, &common::frame(&www)).unwrap();
        common::read_framed(&mut s).expect("TCP reply")
    });
    let udp_reply = ask_grid(&pair, IpAddr::V4(SERVER_V4), &[case("www", www.clone())]);
    assert_eq!(
        Some(tcp_reply),
        udp_reply[0],
        "TCP and AF_XDP answers differ"
    );
    // UDP to another port of a listen address, and to port 53 of an address gslbd does not
    // listen on: the kernel's sockets get them (an echo answers, not gslbd).
    for to in [
        SocketAddr::from((SERVER_V4, 5353)),
        SocketAddr::from((SERVER_V4_OTHER, 53)),
    ] {
        assert_eq!(echo_through_kernel(&pair, to, &www), www, "UDP to {to}");
    }
}

/// Sends `packet` from the client namespace to an echo socket bound at `to` in the server
/// namespace; returns what came back.
fn echo_through_kernel(pair: &VethPair, to: SocketAddr, packet: &[u8]) -> Vec<u8> {
    let echo = pair.in_server(|| UdpSocket::bind(to).expect("bind the echo"));
    let echo_thread = std::thread::spawn(move || {
        echo.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 512];
        let (n, from) = echo.recv_from(&mut b).expect("the echo got nothing");
        echo.send_to(&b[..n], from).unwrap();
    });
    let back = pair.in_client(|| {
        let u = UdpSocket::bind("0.0.0.0:0").unwrap();
        u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        u.send_to(packet, to).unwrap();
        let mut b = [0u8; 512];
        let n = u.recv(&mut b).expect("no reply through the kernel");
        b[..n].to_vec()
    });
    echo_thread.join().unwrap();
    back
}

fn case(what: &str, packet: Vec<u8>) -> Case {
    Case {
        what: what.into(),
        packet,
        expect_reply: true,
    }
}

#[test]
fn xdp_path_serves_a_wildcard_listen_address() {
    let pair = match VethPair::create("xdpany") {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let s = serve(&pair, &["0.0.0.0:53", "[::]:53"], XDP);
    if let Some(why) = xdp_unavailable(&s) {
        return skip(&why);
    }
    // Any address of the server side, either family, on the listen port.
    let www = raw_query(9, "www.example.com.", 1, None);
    for ip in [
        IpAddr::V4(SERVER_V4),
        IpAddr::V4(SERVER_V4_OTHER),
        IpAddr::V6(common::netns::SERVER_V6),
    ] {
        let reply = ask_grid(&pair, ip, &[case("www", www.clone())]);
        let reply = reply[0]
            .as_ref()
            .unwrap_or_else(|| panic!("no answer from {ip}"));
        assert_eq!(common::raw_rcode(reply), 0);
    }
    let admin = s.admin_addr();
    let metrics = pair.in_client(|| common::http_request(admin, "GET", "/metrics", None).1);
    assert_eq!(xdp_counter(&metrics, "answered"), 3);
}

#[test]
fn an_interface_named_twice_is_served_once_and_a_listen_address_elsewhere_is_warned_about() {
    let pair = match VethPair::create("xdpwarn") {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    // 10.53.0.2 is on srv0: no warning; 127.0.0.1 is not: the warning names the interface.
    for (listen, warned) in [("10.53.0.2:53", false), ("127.0.0.1:53", true)] {
        let s = serve(&pair, &[listen], &["--xdp", "srv0", "--xdp", "srv0"]);
        if let Some(why) = xdp_unavailable(&s) {
            return skip(&why);
        }
        let lines = s
            .startup_lines()
            .iter()
            .filter(|l| l.starts_with("gslbd answering UDP on srv0"));
        assert_eq!(lines.count(), 1, "{:?}", s.startup_lines());
        let warning = "no listen address is an address of this interface";
        assert_eq!(
            s.stderr().contains(warning),
            warned,
            "{listen}: {}",
            s.stderr()
        );
    }
}

#[test]
fn an_interface_with_another_xdp_program_is_left_alone_and_the_kernel_serves() {
    let pair = match VethPair::create("xdpbusy") {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    // Another program on srv0 first, attached by iproute2 (as another server might leave
    // one): gslbd's own object serves, loaded by ip's libbpf.
    let object = concat!(env!("CARGO_MANIFEST_DIR"), "/src/dns/xdp/steer.bpf.o");
    let attach = std::process::Command::new("ip")
        .args([
            "-n",
            &pair.server_ns,
            "link",
            "set",
            "dev",
            "srv0",
            "xdp",
            "obj",
            object,
            "sec",
            "xdp",
        ])
        .output()
        .expect("run ip");
    if !attach.status.success() {
        return skip(&format!(
            "ip cannot attach an XDP program: {}",
            String::from_utf8_lossy(&attach.stderr).trim()
        ));
    }
    let s = serve(&pair, LISTEN, XDP);
    let why = xdp_unavailable(&s).expect("gslbd must not take the interface over");
    assert!(
        why.contains("srv0 already has an XDP program")
            && why.contains("ip link set dev srv0 xdp off"),
        "{why}"
    );
    // And the kernel serves.
    let www = raw_query(8, "www.example.com.", 1, None);
    let reply = ask_grid(&pair, IpAddr::V4(SERVER_V4), &[case("www", www)]);
    assert_eq!(reply[0].as_deref().map(common::raw_rcode), Some(0));
}
