//! End-to-end tests of the authoritative DNS core (spec §3 static records, §6 DNS behaviour)
//! against the real `gslbd serve` binary over UDP and TCP, with hickory-proto and `dig`.

mod common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn a_addrs(records: &[Record]) -> Vec<Ipv4Addr> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn aaaa_addrs(records: &[Record]) -> Vec<Ipv6Addr> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Asserts a negative answer: `rcode`, AA, no answers, exactly the zone SOA in AUTHORITY with
/// `ttl`.
fn assert_negative(r: &Message, rcode: ResponseCode, origin: &str, ttl: u32) {
    assert_eq!(r.response_code, rcode, "{r}");
    assert!(r.authoritative, "negative answers are authoritative: {r}");
    assert!(r.answers.is_empty(), "no answers expected: {r}");
    assert_eq!(r.authorities.len(), 1, "exactly the SOA in AUTHORITY: {r}");
    let soa = &r.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA, "{r}");
    assert_eq!(soa.name.to_ascii().to_lowercase(), origin, "SOA owner: {r}");
    assert_eq!(
        soa.ttl, ttl,
        "negative TTL = min(zone ttl, SOA minimum): {r}"
    );
}

/// A fixture zone `example.net.` with a name `big` holding `n` A records 10.0.x.y.
fn big_zone(n: usize) -> Zones {
    let addrs: Vec<String> = (0..n)
        .map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let z = Zones::new();
    z.zone("example.net.", json!({ "big": { "A": addrs } }));
    z
}

// ---------------------------------------------------------------------------------------------
// Flags and basic answers

#[test]
fn in_zone_answer_is_authoritative() {
    let s = Server::example();
    let r = udp(s.addr(), &query("static.example.com.", RecordType::A));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authoritative, "AA must be set: {r}");
    assert!(!r.truncation);
    let mut got = a_addrs(&r.answers);
    got.sort();
    assert_eq!(got, [ip4("192.0.2.10"), ip4("192.0.2.11")]);
    assert!(
        r.answers.iter().all(|rr| rr.ttl == 300),
        "per-name ttl: {r}"
    );
    let r = udp(s.addr(), &query("static.example.com.", RecordType::AAAA));
    assert_eq!(
        aaaa_addrs(&r.answers),
        ["2001:db8::10".parse::<Ipv6Addr>().unwrap()]
    );
    assert!(r.authoritative);
}

#[test]
fn rd_is_copied_and_ra_is_never_set() {
    let s = Server::example();
    for rd in [false, true] {
        let mut q = query("static.example.com.", RecordType::A);
        q.metadata.recursion_desired = rd;
        for r in [udp(s.addr(), &q), tcp(s.addr(), &q)] {
            assert_eq!(r.recursion_desired, rd, "RD copied: {r}");
            assert!(!r.recursion_available, "RA must be clear: {r}");
            assert_eq!(r.op_code, OpCode::Query);
        }
        let mut q = query("example.org.", RecordType::A);
        q.metadata.recursion_desired = rd;
        let r = udp(s.addr(), &q);
        assert_eq!(r.recursion_desired, rd, "RD copied on REFUSED: {r}");
        assert!(!r.recursion_available);
    }
}

#[test]
fn static_record_types_answer() {
    let s = Server::example();
    let r = udp(s.addr(), &query("example.com.", RecordType::NS));
    let mut ns: Vec<String> = r
        .answers
        .iter()
        .map(|rr| match &rr.data {
            RData::NS(n) => n.0.to_ascii(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    ns.sort();
    assert_eq!(ns, ["ns1.example.com.", "ns2.example.com."]);
    assert!(r.answers.iter().all(|rr| rr.ttl == 3600), "zone ttl: {r}");

    let r = udp(s.addr(), &query("example.com.", RecordType::MX));
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::MX(mx) => {
                assert_eq!(mx.preference, 10);
                assert_eq!(mx.exchange.to_ascii(), "mail.example.com.");
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one MX expected: {other:?}"),
    }

    let r = udp(s.addr(), &query("example.com.", RecordType::SOA));
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::SOA(soa) => {
                assert_eq!(soa.serial, 2026112101);
                assert_eq!(soa.minimum, 60);
                assert_eq!(soa.mname.to_ascii(), "ns1.example.com.");
                assert_eq!(soa.rname.to_ascii(), "hostmaster.example.com.");
                assert_eq!(rr.ttl, 3600);
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one SOA expected: {other:?}"),
    }

    let r = udp(s.addr(), &query("_sip._udp.example.com.", RecordType::SRV));
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::SRV(srv) => {
                assert_eq!(
                    (srv.priority, srv.weight, srv.port),
                    (10, 5, 5060),
                    "{srv:?}"
                );
                assert_eq!(srv.target.to_ascii(), "sip.example.com.");
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one SRV expected: {other:?}"),
    }

    let r = udp(s.addr(), &query("mail.example.com.", RecordType::A));
    assert_eq!(a_addrs(&r.answers), [ip4("192.0.2.25")]);
    assert_eq!(r.answers[0].ttl, 600, "per-name ttl override");

    let r = udp(s.addr(), &query("example.com.", RecordType::TXT));
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::TXT(t) => assert_eq!(&*t.txt_data, [b"v=spf1 mx -all".to_vec().into()]),
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one TXT expected: {other:?}"),
    }
}

#[test]
fn ptr_records_answer() {
    let z = Zones::new();
    z.zone(
        "2.0.192.in-addr.arpa.",
        json!({ "10": { "PTR": ["www.example.com."] } }),
    );
    let s = Server::with_zones(z);
    let r = udp(
        s.addr(),
        &query("10.2.0.192.in-addr.arpa.", RecordType::PTR),
    );
    assert!(r.authoritative);
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::PTR(p) => assert_eq!(p.0.to_ascii(), "www.example.com."),
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one PTR expected: {other:?}"),
    }
}

#[test]
fn caa_record_answers() {
    let s = Server::example();
    let r = udp(s.addr(), &query("example.com.", RecordType::CAA));
    assert!(r.authoritative);
    match &r.answers[..] {
        [rr] => match &rr.data {
            RData::CAA(caa) => {
                assert_eq!(caa.flags(), 0);
                assert!(!caa.issuer_critical);
                assert_eq!(caa.tag, "issue");
                assert_eq!(caa.value, b"letsencrypt.org");
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("one CAA expected: {other:?}"),
    }
}

#[test]
fn long_txt_is_split_into_255_byte_strings_in_one_record() {
    let long: String = (0..600).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let z = Zones::new();
    z.zone(
        "example.net.",
        json!({ "txt": { "TXT": [long.clone(), "short"] } }),
    );
    let s = Server::with_zones(z);
    let r = tcp(s.addr(), &query("txt.example.net.", RecordType::TXT));
    assert_eq!(r.answers.len(), 2, "each TXT item is one record: {r}");
    let mut seen_long = false;
    for rr in &r.answers {
        let RData::TXT(t) = &rr.data else {
            panic!("unexpected {rr:?}")
        };
        let lens: Vec<usize> = t.txt_data.iter().map(|s| s.len()).collect();
        let joined: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
        if joined == b"short" {
            assert_eq!(lens, [5]);
        } else {
            assert_eq!(lens, [255, 255, 90], "255-byte character-strings");
            assert_eq!(joined, long.as_bytes());
            seen_long = true;
        }
    }
    assert!(seen_long);
}

#[test]
fn shipped_long_txt_travels_as_255_byte_strings() {
    let s = Server::example();
    let r = udp(s.addr(), &query("long.example.com.", RecordType::TXT));
    let [rr] = &r.answers[..] else {
        panic!("one TXT record: {r}")
    };
    let RData::TXT(t) = &rr.data else {
        panic!("{r}")
    };
    let total: usize = t.txt_data.iter().map(|s| s.len()).sum();
    assert!(
        total > 255,
        "the shipped `long` TXT is longer than 255 bytes"
    );
    let (last, full) = t.txt_data.split_last().unwrap();
    assert!(full.iter().all(|s| s.len() == 255), "{t:?}");
    assert!(!last.is_empty() && last.len() <= 255);
}

#[test]
fn names_match_case_insensitively_from_zone_files() {
    let z = Zones::new();
    z.file(
        "example.net.json",
        &zone_json(
            "Example.NET.",
            3600,
            60,
            json!({ "MiXeD": { "A": ["192.0.2.77"] } }),
        ),
    );
    let s = Server::with_zones(z);
    for name in [
        "mixed.example.net.",
        "MIXED.EXAMPLE.NET.",
        "MiXeD.ExAmPlE.nEt.",
    ] {
        let r = udp(s.addr(), &query(name, RecordType::A));
        assert_eq!(a_addrs(&r.answers), [ip4("192.0.2.77")], "{name}: {r}");
        assert!(r.authoritative);
    }
}

// ---------------------------------------------------------------------------------------------
// Negative answers

#[test]
fn nxdomain_carries_soa_with_negative_ttl() {
    let s = Server::example();
    for name in [
        "nope.example.com.",
        "a.b.www.example.com.",
        "ns3.example.com.",
    ] {
        let r = udp(s.addr(), &query(name, RecordType::A));
        // ttl 3600, minimum 60 -> 60
        assert_negative(&r, ResponseCode::NXDomain, "example.com.", 60);
    }
}

#[test]
fn negative_ttl_is_zone_ttl_when_smaller_than_minimum() {
    let z = Zones::new();
    z.file(
        "example.net.json",
        &zone_json(
            "example.net.",
            30,
            300,
            json!({ "www": { "A": ["192.0.2.1"] } }),
        ),
    );
    let s = Server::with_zones(z);
    let r = udp(s.addr(), &query("nope.example.net.", RecordType::A));
    assert_negative(&r, ResponseCode::NXDomain, "example.net.", 30);
    let r = udp(s.addr(), &query("www.example.net.", RecordType::MX));
    assert_negative(&r, ResponseCode::NoError, "example.net.", 30);
}

#[test]
fn nodata_carries_soa() {
    let s = Server::example();
    for (name, t) in [
        ("static.example.com.", RecordType::MX),
        ("mail.example.com.", RecordType::AAAA),
        ("example.com.", RecordType::A),
        ("ns2.example.com.", RecordType::TXT),
    ] {
        let r = udp(s.addr(), &query(name, t));
        assert_negative(&r, ResponseCode::NoError, "example.com.", 60);
    }
}

#[test]
fn empty_non_terminal_is_nodata_not_nxdomain() {
    let s = Server::example();
    for t in [RecordType::A, RecordType::SRV, RecordType::TXT] {
        let r = udp(s.addr(), &query("_udp.example.com.", t));
        assert_negative(&r, ResponseCode::NoError, "example.com.", 60);
    }
    // ... while a sibling that does not exist is NXDOMAIN.
    let r = udp(s.addr(), &query("_tcp.example.com.", RecordType::SRV));
    assert_negative(&r, ResponseCode::NXDomain, "example.com.", 60);
}

#[test]
fn refused_without_aa_outside_our_zones() {
    let s = Server::example();
    for name in [
        "example.org.",
        "www.example.org.",
        "com.",
        ".",
        "badexample.com.",
    ] {
        for r in [
            udp(s.addr(), &query(name, RecordType::A)),
            tcp(s.addr(), &query(name, RecordType::A)),
        ] {
            assert_eq!(r.response_code, ResponseCode::Refused, "{name}: {r}");
            assert!(!r.authoritative, "no AA on REFUSED: {r}");
            assert!(r.answers.is_empty() && r.authorities.is_empty(), "{r}");
            assert_eq!(r.queries.len(), 1, "question echoed: {r}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Opcodes, malformed queries, EDNS

#[test]
fn notimp_for_opcodes_other_than_query() {
    let s = Server::example();
    let q = raw_question("www.example.com.", 1);
    for opcode in [1u8, 2, 4, 5] {
        let p = raw_packet(0xbeef, [(opcode << 3) | 1, 0], [1, 0, 0, 0], &q);
        let r = udp_raw(s.addr(), &p).unwrap_or_else(|| panic!("no reply to opcode {opcode}"));
        assert_eq!(&r[..2], &[0xbe, 0xef], "id echoed");
        assert!(r[2] & 0x80 != 0, "QR set");
        assert_eq!((r[2] >> 3) & 0x0f, opcode, "opcode echoed");
        assert_eq!(raw_rcode(&r), 4, "NOTIMP for opcode {opcode}: {r:02x?}");
        assert!(r[2] & 0x04 == 0, "no AA on NOTIMP");
    }
}

#[test]
fn formerr_for_question_count_other_than_one() {
    let s = Server::example();
    let q = raw_question("www.example.com.", 1);
    let none = raw_packet(0x1111, [1, 0], [0, 0, 0, 0], &[]);
    let two_body = [q.clone(), raw_question("mail.example.com.", 1)].concat();
    let two = raw_packet(0x2222, [1, 0], [2, 0, 0, 0], &two_body);
    for (what, p) in [("QDCOUNT 0", none), ("QDCOUNT 2", two)] {
        let r = udp_raw(s.addr(), &p).unwrap_or_else(|| panic!("no reply to {what}"));
        assert_eq!(&r[..2], &p[..2], "{what}: id echoed");
        assert!(r[2] & 0x80 != 0, "{what}: QR set");
        assert_eq!(raw_rcode(&r), 1, "{what}: FORMERR expected, got {r:02x?}");
        let r = tcp_raw(s.addr(), &p).expect("TCP reply");
        assert_eq!(raw_rcode(&r), 1, "{what} over TCP: FORMERR expected");
    }
}

#[test]
fn formerr_for_malformed_ecs() {
    let s = Server::example();
    let cases: [(&str, Vec<u8>); 8] = [
        (
            "IPv4 bits set past the source prefix",
            raw_ecs(1, 20, 0, &[192, 0, 2]),
        ),
        (
            "IPv6 bits set past the source prefix",
            raw_ecs(2, 50, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x01]),
        ),
        ("too many address bytes", raw_ecs(1, 24, 0, &[192, 0, 2, 1])),
        ("too few address bytes", raw_ecs(1, 24, 0, &[192, 0])),
        ("unknown family 3", raw_ecs(3, 24, 0, &[192, 0, 2])),
        (
            "IPv4 source prefix 33",
            raw_ecs(1, 33, 0, &[192, 0, 2, 1, 0]),
        ),
        ("IPv6 source prefix 129", raw_ecs(2, 129, 0, &[0x20; 17])),
        ("truncated option", vec![0, 8, 0, 2, 0, 1]),
    ];
    for (i, (what, ecs)) in cases.iter().enumerate() {
        let id = 0x4000 + i as u16;
        let dnssec_ok = i % 2 == 0;
        let p = raw_query(
            id,
            "www.example.com.",
            1,
            Some(&raw_opt(1232, 0, dnssec_ok, ecs)),
        );
        let r = udp_raw(s.addr(), &p).unwrap_or_else(|| panic!("{what}: no reply"));
        assert_eq!(u16::from_be_bytes([r[0], r[1]]), id, "{what}: id echoed");
        assert_eq!(raw_rcode(&r), 1, "{what}: FORMERR expected, got {r:02x?}");
        assert_eq!(
            u16::from_be_bytes([r[6], r[7]]),
            0,
            "{what}: no answers on FORMERR"
        );
        // The query had an OPT record: so does the reply (RFC 6891 §6.1.1), with the DO bit
        // copied and no ECS option.
        let m = decode(&r);
        let edns = m
            .edns
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no OPT in {m}"));
        assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "{what}: DO copied");
        assert!(reply_ecs(&m).is_none(), "{what}: no ECS echoed");
    }
    // A valid ECS option on the same query is answered.
    let ok = raw_query(
        0x4fff,
        "static.example.com.",
        1,
        Some(&raw_opt(1232, 0, false, &raw_ecs(1, 20, 0, &[192, 0, 0]))),
    );
    let r = decode(&udp_raw(s.addr(), &ok).expect("reply"));
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(r.answers.len(), 2);
}

#[test]
fn badvers_for_edns_version_1() {
    let s = Server::example();
    let p = raw_query(
        0x5151,
        "www.example.com.",
        1,
        Some(&raw_opt(1232, 1, false, &[])),
    );
    for raw in [
        udp_raw(s.addr(), &p).expect("UDP reply"),
        tcp_raw(s.addr(), &p).expect("TCP reply"),
    ] {
        assert_eq!(raw_rcode(&raw), 0, "low 4 bits of BADVERS (16) are 0");
        let r = decode(&raw);
        assert_eq!(u16::from(r.response_code), 16, "BADVERS: {r}");
        let edns = r
            .edns
            .as_ref()
            .expect("BADVERS reply carries an OPT record");
        assert_eq!(edns.rcode_high(), 1, "extended rcode 16 = 1 << 4");
        assert_eq!(edns.version(), 0, "reply OPT says the version we speak: 0");
        assert_eq!(edns.max_payload(), 1232);
        assert!(r.answers.is_empty(), "{r}");
    }
}

#[test]
fn do_bit_is_copied() {
    let s = Server::example();
    for dnssec_ok in [false, true] {
        for name in ["static.example.com.", "nope.example.com.", "example.org."] {
            let mut q = with_edns(query(name, RecordType::A), 1232);
            q.edns.as_mut().unwrap().set_dnssec_ok(dnssec_ok);
            let r = udp(s.addr(), &q);
            let e = r.edns.as_ref().expect("OPT in reply");
            assert_eq!(e.flags().dnssec_ok, dnssec_ok, "{name}: DO copied: {r}");
        }
    }
}

#[test]
fn reply_opt_advertises_1232() {
    let s = Server::example();
    for payload in [512u16, 1232, 4096, 65535] {
        let r = udp(
            s.addr(),
            &with_edns(query("static.example.com.", RecordType::A), payload),
        );
        let e = r.edns.as_ref().expect("OPT in reply to an EDNS query");
        assert_eq!(e.max_payload(), 1232, "client advertised {payload}");
        assert_eq!(e.version(), 0);
    }
    let r = udp(s.addr(), &query("www.example.com.", RecordType::A));
    assert!(
        r.edns.is_none(),
        "no OPT in a reply to a query without EDNS"
    );
}

#[test]
fn question_keeps_client_letter_case() {
    let s = Server::example();
    let r = udp(s.addr(), &query("WwW.ExAmple.COM.", RecordType::A));
    assert_eq!(r.queries.len(), 1);
    assert_eq!(r.queries[0].name().to_ascii(), "WwW.ExAmple.COM.");
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert!(r.authoritative, "{r}");

    let r = udp(s.addr(), &query("StAtIc.ExAmple.COM.", RecordType::A));
    assert_eq!(r.queries[0].name().to_ascii(), "StAtIc.ExAmple.COM.");
    assert_eq!(r.answers.len(), 2, "names match case-insensitively: {r}");
    assert!(r.authoritative);

    let r = tcp(s.addr(), &query("NOPE.Example.Com.", RecordType::A));
    assert_eq!(r.queries[0].name().to_ascii(), "NOPE.Example.Com.");
    assert_negative(&r, ResponseCode::NXDomain, "example.com.", 60);

    let r = udp(s.addr(), &query("_UDP.EXAMPLE.COM.", RecordType::A));
    assert_eq!(r.queries[0].name().to_ascii(), "_UDP.EXAMPLE.COM.");
    assert_negative(&r, ResponseCode::NoError, "example.com.", 60);
}

#[test]
fn any_is_answered_minimally_with_rfc8482_hinfo() {
    let s = Server::example();
    for name in ["example.com.", "static.example.com.", "ns1.example.com."] {
        for r in [
            udp(s.addr(), &query(name, RecordType::ANY)),
            tcp(s.addr(), &query(name, RecordType::ANY)),
        ] {
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert!(r.authoritative);
            match &r.answers[..] {
                [rr] => {
                    assert_eq!(rr.name.to_ascii().to_lowercase(), name);
                    match &rr.data {
                        RData::HINFO(h) => assert_eq!(&*h.cpu, b"RFC8482"),
                        other => panic!("HINFO expected, got {other:?}"),
                    }
                }
                other => panic!("{name}: exactly one record expected: {other:?}"),
            }
        }
    }
    // ANY at a name that does not exist is still NXDOMAIN.
    let r = udp(s.addr(), &query("nope.example.com.", RecordType::ANY));
    assert_negative(&r, ResponseCode::NXDomain, "example.com.", 60);
}

#[test]
fn axfr_and_ixfr_are_refused() {
    let s = Server::example();
    let r = tcp(s.addr(), &query("example.com.", RecordType::AXFR));
    assert_eq!(r.response_code, ResponseCode::Refused, "AXFR over TCP: {r}");
    assert!(r.answers.is_empty());
    let r = udp(s.addr(), &query("example.com.", RecordType::AXFR));
    assert_eq!(r.response_code, ResponseCode::Refused, "AXFR over UDP: {r}");
    for r in [
        udp(s.addr(), &query("example.com.", RecordType::IXFR)),
        tcp(s.addr(), &query("example.com.", RecordType::IXFR)),
    ] {
        assert_eq!(r.response_code, ResponseCode::Refused, "IXFR: {r}");
        assert!(r.answers.is_empty());
    }
}

#[test]
fn responses_and_runt_packets_get_no_reply_and_server_keeps_answering() {
    let mut s = Server::example();
    let good = query("static.example.com.", RecordType::A);
    let mut response = encode(&good);
    response[2] |= 0x80; // QR=1
    assert_eq!(udp_raw(s.addr(), &response), None, "QR=1 must get no reply");
    assert_eq!(udp(s.addr(), &good).answers.len(), 2);
    for len in 0..12 {
        let runt = &encode(&good)[..len];
        assert_eq!(udp_raw(s.addr(), runt), None, "{len}-byte runt: no reply");
    }
    assert_eq!(udp(s.addr(), &good).answers.len(), 2);
    // Over TCP the server answers nothing to a response packet (it may close).
    assert!(
        tcp_raw(s.addr(), &response).is_err(),
        "TCP: QR=1 must get no reply"
    );
    assert_eq!(tcp(s.addr(), &good).answers.len(), 2);
    assert!(s.is_running());
}

// ---------------------------------------------------------------------------------------------
// CNAME

#[test]
fn cname_answers_with_in_zone_target_records() {
    let s = Server::example();
    // blog -> mail (relative in the zone file) -> A 192.0.2.25 with ttl 600
    let r = udp(s.addr(), &query("blog.example.com.", RecordType::A));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authoritative);
    assert_eq!(r.answers.len(), 2, "{r}");
    let RData::CNAME(c) = &r.answers[0].data else {
        panic!("CNAME first: {r}")
    };
    assert_eq!(c.0.to_ascii(), "mail.example.com.");
    assert_eq!(r.answers[0].name.to_ascii(), "blog.example.com.");
    assert_eq!(r.answers[1].name.to_ascii(), "mail.example.com.");
    assert_eq!(a_addrs(&r.answers[1..]), [ip4("192.0.2.25")]);
    assert_eq!(r.answers[1].ttl, 600);

    // docs -> www: the CNAME comes first (www's own answer is a GSLB decision).
    let r = udp(s.addr(), &query("docs.example.com.", RecordType::A));
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    let RData::CNAME(c) = &r.answers[0].data else {
        panic!("CNAME first: {r}")
    };
    assert_eq!(c.0.to_ascii(), "www.example.com.");
    assert!(
        r.answers[1..]
            .iter()
            .all(|a| a.name.to_ascii() == "www.example.com."),
        "{r}"
    );

    // A CNAME query gets only the CNAME.
    for name in ["docs.example.com.", "blog.example.com."] {
        let r = udp(s.addr(), &query(name, RecordType::CNAME));
        assert_eq!(r.answers.len(), 1, "{r}");
        assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
    }

    // The target lacks the type: CNAME plus NODATA (SOA in AUTHORITY).
    let r = udp(s.addr(), &query("blog.example.com.", RecordType::MX));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 1, "{r}");
    assert_eq!(r.authorities.len(), 1);
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn cname_outside_our_zones_and_dangling_cname() {
    let z = Zones::new();
    z.zone(
        "example.net.",
        json!({
            "out": { "CNAME": "www.example.org." },
            "dangling": { "CNAME": "nothere" },
            "www": { "A": ["192.0.2.1"] },
        }),
    );
    let s = Server::with_zones(z);
    let r = udp(s.addr(), &query("out.example.net.", RecordType::A));
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert!(r.authoritative);
    assert_eq!(r.answers.len(), 1, "only the CNAME: {r}");
    let RData::CNAME(c) = &r.answers[0].data else {
        panic!("{r}")
    };
    assert_eq!(c.0.to_ascii(), "www.example.org.");

    let r = udp(s.addr(), &query("dangling.example.net.", RecordType::A));
    assert_eq!(r.response_code, ResponseCode::NXDomain, "{r}");
    assert_eq!(r.answers.len(), 1, "the CNAME: {r}");
    assert_eq!(r.authorities.len(), 1, "SOA: {r}");
}

#[test]
fn cname_loop_across_zones_lists_each_cname_once() {
    // A loop inside one zone is a configuration problem; across zones it can only be
    // cut at answer time.
    let z = Zones::new();
    z.zone(
        "example.net.",
        json!({ "loop1": { "CNAME": "loop2.example.org." } }),
    );
    z.zone(
        "example.org.",
        json!({ "loop2": { "CNAME": "loop1.example.net." } }),
    );
    let s = Server::with_zones(z);
    let r = udp(s.addr(), &query("loop1.example.net.", RecordType::A));
    let owners: Vec<String> = r.answers.iter().map(|a| a.name.to_ascii()).collect();
    assert_eq!(
        owners,
        ["loop1.example.net.", "loop2.example.org."],
        "each CNAME of the loop once: {r}"
    );
}

#[test]
fn cname_loop_inside_a_zone_is_a_configuration_problem() {
    let z = Zones::new();
    z.zone(
        "example.net.",
        json!({
            "loop1": { "CNAME": "loop2" },
            "loop2": { "CNAME": "loop3" },
            "loop3": { "CNAME": "loop1" },
        }),
    );
    let out = z.check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("CNAME loop"), "{err}");
    assert_eq!(err.matches("CNAME loop").count(), 1, "reported once: {err}");
}

// ---------------------------------------------------------------------------------------------
// ECS on static answers

#[test]
fn static_answers_echo_ecs_with_scope_zero() {
    let s = Server::example();
    for (addr, prefix) in [
        ("192.0.2.0", 24u8),
        ("198.51.96.0", 20),
        ("10.1.2.3", 32),
        ("2001:db8:1200::", 40),
        ("2001:db8:abcd:1200::", 56),
        ("0.0.0.0", 0),
    ] {
        for name in [
            "static.example.com.",
            "nope.example.com.",
            "blog.example.com.",
        ] {
            let q = with_ecs(query(name, RecordType::A), addr, prefix);
            for r in [udp(s.addr(), &q), tcp(s.addr(), &q)] {
                let ecs = reply_ecs(&r)
                    .unwrap_or_else(|| panic!("{name} {addr}/{prefix}: ECS echoed: {r}"));
                assert_eq!(ecs.addr(), addr.parse::<std::net::IpAddr>().unwrap());
                assert_eq!(ecs.source_prefix(), prefix);
                assert_eq!(ecs.scope_prefix(), 0, "static answers: scope 0");
            }
        }
    }
    // Raw check of the echoed option bytes (family, prefixes and exactly the prefix's bytes).
    let p = raw_query(
        0x7777,
        "static.example.com.",
        1,
        Some(&raw_opt(1232, 0, false, &raw_ecs(1, 20, 0, &[198, 51, 96]))),
    );
    let r = udp_raw(s.addr(), &p).expect("reply");
    let want = raw_ecs(1, 20, 0, &[198, 51, 96]);
    assert!(
        r.ends_with(&want),
        "reply must end with the echoed ECS option {want:02x?}: {r:02x?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Size limits and truncation

#[test]
fn big_answer_is_truncated_over_udp_and_complete_over_tcp() {
    let s = Server::with_zones(big_zone(100));
    let q = query("big.example.net.", RecordType::A);

    let r = udp(s.addr(), &q);
    assert!(r.truncation, "TC without EDNS: {r}");
    assert_eq!(r.queries.len(), 1, "question kept");
    assert_eq!(r.queries[0].name().to_ascii(), "big.example.net.");
    assert!(r.answers.is_empty() && r.authorities.is_empty(), "{r}");
    assert!(r.edns.is_none(), "no OPT when the query had none");

    let r = udp(s.addr(), &with_edns(q.clone(), 4096));
    assert!(
        r.truncation,
        "TC even with payload 4096: we cap at 1232: {r}"
    );
    assert_eq!(r.queries.len(), 1);
    assert!(r.answers.is_empty());
    let e = r
        .edns
        .as_ref()
        .expect("truncated reply keeps the OPT record");
    assert_eq!(e.max_payload(), 1232);

    for r in [
        tcp(s.addr(), &q),
        tcp(s.addr(), &with_edns(q.clone(), 4096)),
    ] {
        assert!(!r.truncation, "{r}");
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert_eq!(a_addrs(&r.answers).len(), 100, "all records over TCP");
    }
}

#[test]
fn udp_size_limit_is_min_of_client_size_and_1232() {
    // 40 A records: about 673 bytes, more than 512 and less than 1232.
    let s = Server::with_zones(big_zone(40));
    let q = query("big.example.net.", RecordType::A);
    let r = udp(s.addr(), &q);
    assert!(r.truncation, "over 512 without EDNS: {r}");
    let r = udp(s.addr(), &with_edns(q.clone(), 600));
    assert!(r.truncation, "over the client's 600: {r}");
    assert!(r.edns.is_some());
    let r = udp(s.addr(), &with_edns(q.clone(), 1232));
    assert!(!r.truncation, "{r}");
    assert_eq!(r.answers.len(), 40);
    let r = udp(s.addr(), &with_edns(q.clone(), 4096));
    assert!(!r.truncation);
    assert_eq!(r.answers.len(), 40);
    // A client advertising less than 512 still gets 512.
    let s2 = Server::with_zones(big_zone(25)); // about 433 bytes
    let q = query("big.example.net.", RecordType::A);
    let mut raw = encode(&with_edns(q, 512));
    // Patch the OPT class (payload) to 100: it follows the root name and type 41.
    let opt_at = raw.len() - 11;
    assert_eq!(&raw[opt_at..opt_at + 3], &[0, 0, 41]);
    raw[opt_at + 3..opt_at + 5].copy_from_slice(&100u16.to_be_bytes());
    let r = decode(&udp_raw(s2.addr(), &raw).expect("reply"));
    assert!(!r.truncation, "payload below 512 counts as 512: {r}");
    assert_eq!(r.answers.len(), 25);
}

// ---------------------------------------------------------------------------------------------
// TCP

#[test]
fn tcp_pipelined_queries_all_answered() {
    let s = Server::example();
    let names = [
        (
            "static.example.com.",
            RecordType::A,
            2usize,
            ResponseCode::NoError,
        ),
        ("mail.example.com.", RecordType::A, 1, ResponseCode::NoError),
        (
            "nope.example.com.",
            RecordType::A,
            0,
            ResponseCode::NXDomain,
        ),
        (
            "ns1.example.com.",
            RecordType::AAAA,
            1,
            ResponseCode::NoError,
        ),
        ("example.org.", RecordType::A, 0, ResponseCode::Refused),
    ];
    let mut expect = HashMap::new();
    let queries: Vec<Message> = (0..20u16)
        .map(|i| {
            let (name, t, n, code) = names[i as usize % names.len()];
            let mut q = query(name, t);
            q.metadata.id = 1000 + i;
            expect.insert(1000 + i, (name, n, code));
            q
        })
        .collect();
    let replies = tcp_pipelined(s.addr(), &queries);
    assert_eq!(replies.len(), 20);
    let mut seen = std::collections::HashSet::new();
    for r in &replies {
        let (name, n, code) = expect
            .get(&r.id)
            .unwrap_or_else(|| panic!("unexpected id {}", r.id));
        assert!(seen.insert(r.id), "duplicate reply for id {}", r.id);
        assert_eq!(r.queries[0].name().to_ascii(), *name, "id {}", r.id);
        assert_eq!(r.response_code, *code, "{name}: {r}");
        assert_eq!(r.answers.len(), *n, "{name}: {r}");
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness

#[test]
fn garbage_packets_never_crash_the_server() {
    let mut s = Server::example();
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(s.addr()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 65535];
    let mut replies = Vec::new();
    let mut drain = |sock: &std::net::UdpSocket, replies: &mut Vec<Vec<u8>>| {
        while let Ok(n) = sock.recv(&mut buf) {
            replies.push(buf[..n].to_vec());
        }
    };

    // Random byte strings.
    for _ in 0..400 {
        let len = rng.below(300);
        let mut p = rng.bytes(len);
        if len > 3 && rng.below(2) == 0 {
            p[2] &= 0x7f; // make it look like a query more often
        }
        sock.send(&p).unwrap();
        drain(&sock, &mut replies);
    }
    // Mutations of valid queries (with EDNS and ECS), kept as queries.
    let seeds = [
        encode(&with_ecs(
            query("static.example.com.", RecordType::A),
            "192.0.2.0",
            24,
        )),
        encode(&query("blog.example.com.", RecordType::AAAA)),
        encode(&with_edns(
            query("nope.example.com.", RecordType::ANY),
            4096,
        )),
        raw_query(
            9,
            "_sip._udp.example.com",
            33,
            Some(&raw_opt(
                1232,
                0,
                true,
                &raw_ecs(2, 56, 0, &[0x20, 1, 0xd, 0xb8, 0, 0, 0]),
            )),
        ),
    ];
    for i in 0..600 {
        let mut p = seeds[i % seeds.len()].clone();
        match rng.below(4) {
            0 => p.truncate(rng.below(p.len())),
            1 => {
                let n = rng.below(40);
                let extra = rng.bytes(n);
                p.extend_from_slice(&extra);
            }
            _ => {}
        }
        for _ in 0..1 + rng.below(4) {
            if !p.is_empty() {
                let at = rng.below(p.len());
                p[at] = rng.next_u64() as u8;
            }
        }
        if p.len() > 3 {
            p[2] &= 0x7f;
        }
        sock.send(&p).unwrap();
        drain(&sock, &mut replies);
    }
    // A final valid query: replies on one socket come back in order, so once its answer is
    // here every earlier reply is too. UDP may drop it while our receive buffer is full of
    // earlier replies, so it is asked again until answered.
    let sentinel = raw_query(0xbeef, "static.example.com.", 1, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut next_send = Instant::now();
    while !replies.iter().any(|r| r[..2] == [0xbe, 0xef]) {
        assert!(
            Instant::now() < deadline,
            "no answer to the final valid query"
        );
        if Instant::now() >= next_send {
            sock.send(&sentinel).unwrap();
            next_send = Instant::now() + Duration::from_millis(200);
        }
        drain(&sock, &mut replies);
        std::thread::yield_now();
    }
    for r in &replies {
        assert!(r.len() >= 12, "a reply is at least a header: {r:02x?}");
        assert!(r[2] & 0x80 != 0, "every reply has QR set: {r:02x?}");
    }

    // Garbage over TCP: random frames and random streams.
    for i in 0..20 {
        let n = 1 + rng.below(200);
        let p = rng.bytes(n);
        let _ = std::net::TcpStream::connect(s.addr()).and_then(|mut c| {
            use std::io::Write;
            c.set_read_timeout(Some(Duration::from_millis(200)))?;
            if i % 2 == 0 {
                c.write_all(&p)
            } else {
                let mut framed = (p.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&p);
                c.write_all(&framed)
            }
        });
    }

    assert!(s.is_running(), "server died:\n{}", s.stderr());
    let q = query("static.example.com.", RecordType::A);
    assert_eq!(udp(s.addr(), &q).answers.len(), 2, "still answers over UDP");
    assert_eq!(tcp(s.addr(), &q).answers.len(), 2, "still answers over TCP");
    assert!(s.is_running());
}

#[test]
fn idle_tcp_client_does_not_stall_udp_or_other_tcp_clients() {
    let s = Server::example();
    // Half a length prefix, then silence.
    let mut stuck = std::net::TcpStream::connect(s.addr()).unwrap();
    std::io::Write::write_all(&mut stuck, &[0]).unwrap();
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(std::net::TcpStream::connect(s.addr()).unwrap());
    }
    let q = query("static.example.com.", RecordType::A);
    let t = Instant::now();
    assert_eq!(udp(s.addr(), &q).answers.len(), 2);
    assert_eq!(tcp(s.addr(), &q).answers.len(), 2);
    assert!(t.elapsed() < Duration::from_secs(2));
}

// ---------------------------------------------------------------------------------------------
// Shutdown

#[test]
fn sigterm_exits_zero_within_5s() {
    let mut s = Server::example();
    assert_eq!(
        udp(s.addr(), &query("static.example.com.", RecordType::A))
            .answers
            .len(),
        2
    );
    let t = Instant::now();
    let status = s.stop().expect("gslbd did not exit within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_right_after_the_listening_line_exits_zero() {
    // The listening line means "ready": a supervisor may stop the server at once.
    for _ in 0..10 {
        let mut s = Server::example();
        let status = s.stop().expect("gslbd did not exit within 5 s of SIGTERM");
        assert!(status.success(), "exit status {status}");
    }
}

#[test]
fn sigint_exits_zero() {
    let mut s = Server::example();
    let status = s
        .stop_with(libc::SIGINT)
        .expect("gslbd did not exit within 5 s of SIGINT");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn sigterm_with_open_tcp_connections_exits_zero_within_5s() {
    let mut s = Server::example();
    let mut conns = Vec::new();
    for i in 0..5 {
        let mut c = std::net::TcpStream::connect(s.addr()).unwrap();
        if i % 2 == 0 {
            std::io::Write::write_all(&mut c, &[0, 40, 1, 2]).unwrap(); // partial query
        }
        conns.push(c);
    }
    // A complete query on one more connection: once it is answered, the server has accepted
    // and is serving the connections opened before it.
    let served = tcp(s.addr(), &query("static.example.com.", RecordType::A));
    assert_eq!(served.answers.len(), 2);
    let t = Instant::now();
    let status = s
        .stop()
        .expect("gslbd did not exit within 5 s of SIGTERM with idle TCP clients");
    assert!(status.success(), "exit status {status}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// What users see with dig

#[test]
fn dig_norec_shows_authoritative_answer() {
    let s = Server::example();
    let out = dig(s.addr(), &["+norec", "static.example.com", "A"]);
    assert!(out.contains("status: NOERROR"), "{out}");
    let flags = out
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .unwrap_or_else(|| panic!("no flags line:\n{out}"));
    assert!(
        flags.contains("flags: qr aa;"),
        "AA and nothing else: {flags}"
    );
    assert!(flags.contains("ANSWER: 2"), "{flags}");
    assert!(
        out.contains("192.0.2.10") && out.contains("192.0.2.11"),
        "{out}"
    );
    assert!(out.contains("udp: 1232"), "OPT advertises 1232:\n{out}");
}

#[test]
fn dig_rec_shows_rd_but_no_ra() {
    let s = Server::example();
    let out = dig(s.addr(), &["+rec", "mail.example.com"]);
    let flags = out
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .unwrap_or_else(|| panic!("no flags line:\n{out}"));
    assert!(flags.contains("flags: qr aa rd;"), "{flags}");
    assert!(out.contains("192.0.2.25"), "{out}");
}

#[test]
fn dig_shows_nxdomain_with_soa() {
    let s = Server::example();
    let out = dig(s.addr(), &["+norec", "nope.example.com", "A"]);
    assert!(out.contains("status: NXDOMAIN"), "{out}");
    let soa = out
        .lines()
        .find(|l| l.contains("\tSOA\t"))
        .unwrap_or_else(|| panic!("SOA in AUTHORITY:\n{out}"));
    assert!(soa.starts_with("example.com."), "{soa}");
    let ttl: u32 = soa.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(ttl, 60, "{soa}");
}

#[test]
fn dig_subnet_is_echoed_with_scope_zero() {
    let s = Server::example();
    let out = dig(
        s.addr(),
        &["+norec", "+subnet=192.0.2.0/24", "static.example.com"],
    );
    assert!(out.contains("CLIENT-SUBNET: 192.0.2.0/24/0"), "{out}");
    let out = dig(
        s.addr(),
        &[
            "+norec",
            "+subnet=2001:db8:1200::/40",
            "static.example.com",
            "AAAA",
        ],
    );
    assert!(out.contains("CLIENT-SUBNET: 2001:db8:1200::/40/0"), "{out}");
}

#[test]
fn dig_over_tcp() {
    let s = Server::example();
    let out = dig(s.addr(), &["+tcp", "+norec", "blog.example.com"]);
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(out.contains("(TCP)"), "{out}");
    assert!(
        out.contains("CNAME\tmail.example.com.") && out.contains("192.0.2.25"),
        "{out}"
    );
}

#[test]
fn dig_retries_truncated_answer_over_tcp() {
    let s = Server::with_zones(big_zone(100));
    let out = dig(s.addr(), &["+norec", "+ignore", "big.example.net"]);
    let flags = out
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .unwrap_or_else(|| panic!("no flags line:\n{out}"));
    assert!(flags.contains(" tc"), "TC over UDP: {flags}");
    let out = dig(s.addr(), &["+norec", "big.example.net"]);
    assert!(out.contains("ANSWER: 100"), "dig retries over TCP:\n{out}");
}
