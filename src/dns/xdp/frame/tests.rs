//! Frame parsing and replies checked against etherparse, an independent implementation:
//! the reply's bytes equal those etherparse builds for the same addresses, ports and
//! payload, checksums included.

use super::*;
use etherparse::{IpHeaders, Ipv4Header, PacketBuilder};

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// A query frame from `client` to `server` built by etherparse, in a buffer as big as a
/// UMEM frame's room.
fn query(client: SocketAddr, server: SocketAddr, payload: &[u8]) -> (Vec<u8>, usize) {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC);
    let mut out = Vec::new();
    match (client, server) {
        (SocketAddr::V4(c), SocketAddr::V4(s)) => b
            .ipv4(c.ip().octets(), s.ip().octets(), 57)
            .udp(c.port(), s.port())
            .write(&mut out, payload)
            .unwrap(),
        (SocketAddr::V6(c), SocketAddr::V6(s)) => b
            .ipv6(c.ip().octets(), s.ip().octets(), 57)
            .udp(c.port(), s.port())
            .write(&mut out, payload)
            .unwrap(),
        _ => unreachable!(),
    }
    let len = out.len();
    out.resize(3840, 0xee);
    (out, len)
}

/// The reply etherparse builds: server to client, TTL 64, IPv4 with DF and ID 0.
fn expected(client: SocketAddr, server: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SERVER_MAC, CLIENT_MAC);
    let mut out = Vec::new();
    match (client, server) {
        (SocketAddr::V4(c), SocketAddr::V4(s)) => {
            let mut h = Ipv4Header::new(
                0,
                64,
                etherparse::IpNumber::UDP,
                s.ip().octets(),
                c.ip().octets(),
            )
            .unwrap();
            h.dont_fragment = true;
            b.ip(IpHeaders::Ipv4(h, Default::default()))
                .udp(s.port(), c.port())
                .write(&mut out, payload)
                .unwrap()
        }
        (SocketAddr::V6(c), SocketAddr::V6(s)) => b
            .ipv6(s.ip().octets(), c.ip().octets(), 64)
            .udp(s.port(), c.port())
            .write(&mut out, payload)
            .unwrap(),
        _ => unreachable!(),
    }
    out
}

fn round_trip(client: &str, server: &str, q: &[u8], r: &[u8]) {
    let (client, server): (SocketAddr, SocketAddr) =
        (client.parse().unwrap(), server.parse().unwrap());
    let (mut frame, len) = query(client, server, q);
    let d = parse(&frame[..len]).expect("a datagram");
    assert_eq!(d.peer, client);
    assert_eq!(&frame[d.offset..d.offset + d.len], q);
    frame[d.offset..d.offset + r.len()].copy_from_slice(r);
    let total = reply(&mut frame, &d, r.len());
    assert_eq!(
        frame[..total],
        expected(client, server, r)[..],
        "{client} {server} {}",
        r.len()
    );
}

#[test]
fn replies_equal_etherparse_ipv4_and_ipv6() {
    let q: Vec<u8> = (0..33u8).collect();
    for n in [0usize, 1, 2, 3, 12, 29, 100, 511, 1232] {
        let r: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
        round_trip("192.0.2.7:40000", "198.51.100.53:53", &q, &r);
        round_trip("10.0.0.255:65535", "10.0.0.1:5353", &q, &r);
        round_trip("[2001:db8::7]:40000", "[2001:db8::53]:53", &q, &r);
        round_trip("[fe80::1]:1", "[2001:db8:ffff::ffff]:65535", &q, &r);
    }
}

#[test]
fn an_all_zero_checksum_goes_out_as_all_ones() {
    // Search a payload whose UDP checksum computes to 0: the reply must carry 0xffff
    // (RFC 768) and etherparse must agree it is valid.
    let client: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let server: SocketAddr = "198.51.100.53:53".parse().unwrap();
    let found = (0..=u16::MAX).find_map(|v| {
        let r = v.to_be_bytes();
        let (mut frame, len) = query(client, server, &[1, 2]);
        let d = parse(&frame[..len]).unwrap();
        frame[d.offset..d.offset + 2].copy_from_slice(&r);
        let total = reply(&mut frame, &d, 2);
        let c = u16::from_be_bytes([frame[d.offset - 2], frame[d.offset - 1]]);
        (c == 0xffff).then(|| (frame[..total].to_vec(), r))
    });
    let (frame, r) = found.expect("some payload sums to zero");
    assert_eq!(frame, expected(client, server, &r));
}

#[test]
fn frames_that_do_not_hold_what_their_headers_say_are_refused() {
    let client: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let server: SocketAddr = "198.51.100.53:53".parse().unwrap();
    let (frame, len) = query(client, server, &[0; 20]);
    assert!(parse(&frame[..len]).is_some());
    // Cut short anywhere: nothing, or not the whole datagram.
    for cut in 0..len {
        assert_eq!(parse(&frame[..cut]), None, "cut at {cut}");
    }
    let mut bad = frame[..len].to_vec();
    bad[ETH] = 0x46; // IPv4 options
    assert_eq!(parse(&bad), None);
    let mut bad = frame[..len].to_vec();
    bad[ETH + 6] = 0x20; // more fragments
    assert_eq!(parse(&bad), None);
    let mut bad = frame[..len].to_vec();
    bad[ETH + 9] = 6; // TCP
    assert_eq!(parse(&bad), None);
    let mut bad = frame[..len].to_vec();
    bad[ETH + IPV4 + 4..ETH + IPV4 + 6].copy_from_slice(&7u16.to_be_bytes()); // UDP length < 8
    assert_eq!(parse(&bad), None);
    let mut bad = frame[..len].to_vec();
    bad[12..14].copy_from_slice(&0x8100u16.to_be_bytes()); // VLAN tag
    assert_eq!(parse(&bad), None);
    // Ethernet padding after the IP packet is fine: the lengths come from the headers.
    let mut padded = frame[..len].to_vec();
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(parse(&padded).map(|d| d.len), Some(20));
}
