//! End-to-end tests of GeoDNS (spec §2 regions, §3 GSLB records, §6 EDNS Client Subnet) against
//! the real `gslbd serve` binary, with hickory-proto over UDP and TCP and with `dig +subnet=`.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use serde_json::{json, Value};

use common::geo::*;
use common::*;

/// One expected GeoDNS decision on the shipped example.
struct Case {
    client: &'static str,
    prefix: u8,
    rtype: RecordType,
    answer: &'static [&'static str],
    scope: u8,
}

const fn case(
    client: &'static str,
    prefix: u8,
    rtype: RecordType,
    answer: &'static [&'static str],
    scope: u8,
) -> Case {
    Case {
        client,
        prefix,
        rtype,
        answer,
        scope,
    }
}

const EUROPE: &[&str] = &["198.51.100.10", "198.51.100.11"];
const CN_TELECOM: &[&str] = &["203.0.113.10", "203.0.113.11"];
const CN_UNICOM: &[&str] = &["203.0.113.20"];
const CN_JILIN: &[&str] = &["203.0.113.30"];
const US_WEST: &[&str] = &["198.51.100.30", "198.51.100.31"];
const DEFAULT: &[&str] = &["192.0.2.10", "192.0.2.11"];
const OFFICE: &[&str] = &["10.1.0.10"];
const DEFAULT6: &[&str] = &["2001:db8::10"];

/// The shipped example: which pool each client gets and the tightest correct ECS scope.
fn example_cases() -> Vec<Case> {
    use RecordType::{A, AAAA};
    vec![
        // GeoIP 81.2.69.160/27 is GB/EU.
        case("81.2.69.161", 32, A, EUROPE, 27),
        case("81.2.69.161", 32, AAAA, &["2001:db8:e::10"], 27),
        // lists/chinanet.txt holds 175.16.199.0/25 inside GeoIP 175.16.199.0/24 (CN-22).
        case("175.16.199.1", 32, A, CN_TELECOM, 25),
        case("175.16.199.0", 24, A, CN_TELECOM, 25),
        // No IPv6 in cn-telecom, its fallbacks cn-unicom and china, nor cn-jilin: default.
        case("175.16.199.1", 32, AAAA, DEFAULT6, 25),
        // Outside the /25 of the list, inside the CN-22 subdivision.
        case("175.16.199.200", 32, A, CN_JILIN, 25),
        // ASN database: 27.192.0.0/11 AS4837, 49.64.0.0/11 AS4134.
        case("27.192.0.1", 32, A, CN_UNICOM, 11),
        case("49.64.0.1", 32, A, CN_TELECOM, 11),
        // GeoIP 214.78.0.0/19 is US-CA.
        case("214.78.1.1", 32, A, US_WEST, 19),
        case("214.78.1.1", 32, AAAA, &["2001:db8:5::30"], 19),
        // Nothing known about 8.8.8.8: 8.0.0.0/7 holds no data; 8.0.0.0/6 would hold 10/8.
        case("8.8.8.8", 32, A, DEFAULT, 7),
        case("8.8.8.8", 32, AAAA, DEFAULT6, 7),
        // The office networks rule 10.0.0.0/8 and fd00::/8.
        case("10.1.2.3", 32, A, OFFICE, 8),
        case("fd00::1", 128, A, OFFICE, 8),
        // IPv6 clients: 2001:250::/31 is in lists/chinanet.txt.
        case("2001:250::1", 128, A, CN_TELECOM, 31),
        case("2001:250::", 32, A, CN_TELECOM, 31),
        case("2001:250::", 56, AAAA, DEFAULT6, 31),
    ]
}

fn check_case(s: &Server, via: Via, name: &str, c: &Case) {
    let r = ask_ecs(s.addr(), via, name, c.rtype, c.client, c.prefix);
    let what = format!(
        "{name} {} from {}/{} via {via:?}",
        c.rtype, c.client, c.prefix
    );
    assert_eq!(r.response_code, ResponseCode::NoError, "{what}: {r}");
    assert!(r.authoritative, "{what}: AA expected: {r}");
    assert_eq!(addr_set(&r), ips(c.answer), "{what}: pool: {r}");
    assert_eq!(
        r.answers.len(),
        c.answer.len(),
        "{what}: no duplicates: {r}"
    );
    assert!(
        r.answers.iter().all(|rr| rr.ttl == 30),
        "{what}: GSLB TTL 30: {r}"
    );
    let scope = echoed_scope(&r, c.client, c.prefix);
    assert_eq!(scope, c.scope, "{what}: ECS scope: {r}");
}

// ---------------------------------------------------------------------------------------------
// ECS client → pool, with the scope, over UDP and TCP (hickory)

#[test]
fn ecs_client_selects_pool_and_scope_udp_and_tcp() {
    let s = Server::example();
    for via in BOTH {
        for c in example_cases() {
            check_case(&s, via, "www.example.com.", &c);
        }
    }
}

#[test]
fn second_gslb_name_shares_the_record() {
    let s = Server::example();
    for c in example_cases().iter().filter(|c| c.rtype == RecordType::A) {
        check_case(&s, Via::Udp, "api.example.com.", c);
    }
}

#[test]
fn query_name_case_does_not_change_the_decision() {
    let s = Server::example();
    let r = ask_ecs(
        s.addr(),
        Via::Udp,
        "WwW.ExAmPlE.CoM.",
        RecordType::A,
        "175.16.199.1",
        32,
    );
    assert_eq!(addr_set(&r), ips(CN_TELECOM), "{r}");
    assert_eq!(echoed_scope(&r, "175.16.199.1", 32), 25);
}

// ---------------------------------------------------------------------------------------------
// Without ECS, or with ECS source prefix 0: the packet's source address decides

#[test]
fn without_ecs_the_source_address_decides() {
    let s = Server::example();
    for via in BOTH {
        // 127.0.0.1 is in no region: default pool.
        let r = send(s.addr(), via, &query("www.example.com.", RecordType::A));
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        assert_eq!(addr_set(&r), ips(DEFAULT), "{via:?}: {r}");
        assert!(r.edns.is_none(), "no OPT without EDNS in the query: {r}");

        let r = send(
            s.addr(),
            via,
            &with_edns(query("www.example.com.", RecordType::AAAA), 1232),
        );
        assert_eq!(addr_set(&r), ips(DEFAULT6), "{via:?}: {r}");
        assert!(r.edns.is_some(), "OPT expected: {r}");
        assert!(
            reply_ecs(&r).is_none(),
            "no ECS in the reply when the query had none: {r}"
        );
    }
}

#[test]
fn ecs_source_prefix_zero_uses_source_address_and_scope_zero() {
    let s = Server::example();
    for via in BOTH {
        for (family_addr, rtype, want) in [
            ("0.0.0.0", RecordType::A, DEFAULT),
            ("::", RecordType::A, DEFAULT),
            ("0.0.0.0", RecordType::AAAA, DEFAULT6),
        ] {
            let r = send(
                s.addr(),
                via,
                &with_ecs(query("www.example.com.", rtype), family_addr, 0),
            );
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert_eq!(addr_set(&r), ips(want), "{via:?} {family_addr}/0: {r}");
            let scope = echoed_scope(&r, family_addr, 0);
            assert_eq!(scope, 0, "{via:?} {family_addr}/0: scope 0: {r}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answers that do not depend on the client: scope 0

#[test]
fn static_nodata_and_nxdomain_have_scope_zero() {
    let s = Server::example();
    for via in BOTH {
        for client in ["81.2.69.161", "175.16.199.1"] {
            let r = ask_ecs(
                s.addr(),
                via,
                "static.example.com.",
                RecordType::A,
                client,
                32,
            );
            assert_eq!(addr_set(&r), ips(DEFAULT), "static answer: {r}");
            assert!(r.answers.iter().all(|rr| rr.ttl == 300), "{r}");
            assert_eq!(echoed_scope(&r, client, 32), 0, "static: {r}");

            let r = ask_ecs(
                s.addr(),
                via,
                "mail.example.com.",
                RecordType::A,
                client,
                32,
            );
            assert_eq!(addr_set(&r), ips(&["192.0.2.25"]), "{r}");
            assert_eq!(echoed_scope(&r, client, 32), 0, "mail: {r}");

            let r = ask_ecs(
                s.addr(),
                via,
                "nope.example.com.",
                RecordType::A,
                client,
                32,
            );
            assert_eq!(r.response_code, ResponseCode::NXDomain, "{r}");
            assert_eq!(echoed_scope(&r, client, 32), 0, "NXDOMAIN: {r}");

            // A GSLB name answers A/AAAA only: other types are NODATA, whoever asks.
            let r = ask_ecs(
                s.addr(),
                via,
                "www.example.com.",
                RecordType::TXT,
                client,
                32,
            );
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert!(r.answers.is_empty(), "NODATA for TXT at a GSLB name: {r}");
            assert_eq!(echoed_scope(&r, client, 32), 0, "NODATA: {r}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dig +subnet

/// A dig reply: status, the CLIENT-SUBNET line (`addr/source/scope`) and the answer records.
struct DigReply {
    status: String,
    subnet: Option<String>,
    answers: Vec<(String, u32, String, String)>,
    text: String,
}

fn dig_subnet(addr: SocketAddr, name: &str, rtype: &str, subnet: &str, tcp: bool) -> DigReply {
    let sub = format!("+subnet={subnet}");
    let mut args = vec![name, rtype, sub.as_str(), "+norec"];
    if tcp {
        args.push("+tcp");
    }
    let text = dig(addr, &args);
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no status in dig output:\n{text}"))
        .to_string();
    let subnet = text
        .lines()
        .find_map(|l| l.strip_prefix("; CLIENT-SUBNET: "))
        .map(|s| s.trim().to_string());
    let mut answers = Vec::new();
    let mut in_answer = false;
    for line in text.lines() {
        if line.starts_with(";; ANSWER SECTION:") {
            in_answer = true;
            continue;
        }
        if in_answer {
            if line.trim().is_empty() || line.starts_with(';') {
                break;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            assert!(f.len() >= 5, "odd answer line {line:?}");
            answers.push((
                f[0].to_lowercase(),
                f[1].parse().expect("ttl"),
                f[3].to_string(),
                f[4..].join(" "),
            ));
        }
    }
    DigReply {
        status,
        subnet,
        answers,
        text,
    }
}

#[test]
fn dig_subnet_selects_pool_and_echoes_scope() {
    let s = Server::example();
    for tcp in [false, true] {
        for c in example_cases() {
            let sent = masked(c.client, c.prefix);
            let subnet = format!("{sent}/{}", c.prefix);
            let rtype = c.rtype.to_string();
            let d = dig_subnet(s.addr(), "www.example.com", &rtype, &subnet, tcp);
            let what = format!("dig {rtype} +subnet={subnet} tcp={tcp}");
            assert_eq!(d.status, "NOERROR", "{what}:\n{}", d.text);
            assert_eq!(
                d.subnet.as_deref(),
                Some(format!("{subnet}/{}", c.scope).as_str()),
                "{what}: CLIENT-SUBNET echo with scope:\n{}",
                d.text
            );
            let got: BTreeSet<IpAddr> = d.answers.iter().map(|a| ip(&a.3)).collect();
            assert_eq!(got, ips(c.answer), "{what}:\n{}", d.text);
            for (owner, ttl, t, _) in &d.answers {
                assert_eq!(owner, "www.example.com.", "{what}:\n{}", d.text);
                assert_eq!(*ttl, 30, "{what}:\n{}", d.text);
                assert_eq!(t, &rtype, "{what}:\n{}", d.text);
            }
        }
    }
}

#[test]
fn dig_subnet_static_cname_and_zero_prefix() {
    let s = Server::example();
    let d = dig_subnet(s.addr(), "static.example.com", "A", "81.2.69.161/32", false);
    assert_eq!(d.subnet.as_deref(), Some("81.2.69.161/32/0"), "{}", d.text);

    let d = dig_subnet(s.addr(), "nope.example.com", "A", "81.2.69.161/32", true);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.text);
    assert_eq!(d.subnet.as_deref(), Some("81.2.69.161/32/0"), "{}", d.text);

    // Source prefix 0: the sender (127.0.0.1) decides, scope 0.
    let d = dig_subnet(s.addr(), "www.example.com", "A", "0.0.0.0/0", false);
    assert_eq!(d.subnet.as_deref(), Some("0.0.0.0/0/0"), "{}", d.text);
    let got: BTreeSet<IpAddr> = d.answers.iter().map(|a| ip(&a.3)).collect();
    assert_eq!(got, ips(DEFAULT), "{}", d.text);

    // docs is a CNAME to www: the CNAME, then the addresses selected for the client.
    let d = dig_subnet(s.addr(), "docs.example.com", "A", "2001:250::/32", false);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert_eq!(d.subnet.as_deref(), Some("2001:250::/32/31"), "{}", d.text);
    assert_eq!(d.answers[0].2, "CNAME", "{}", d.text);
    assert_eq!(d.answers[0].3, "www.example.com.", "{}", d.text);
    let got: BTreeSet<IpAddr> = d.answers[1..].iter().map(|a| ip(&a.3)).collect();
    assert_eq!(got, ips(CN_TELECOM), "{}", d.text);
}

// ---------------------------------------------------------------------------------------------
// Address family fall-through, max_answers, round robin, TTL

#[test]
fn aaaa_falls_through_to_the_next_pool_with_ipv6() {
    let s = Server::example();
    for via in BOTH {
        // europe has IPv6 itself.
        let r = ask_ecs(
            s.addr(),
            via,
            "www.example.com.",
            RecordType::AAAA,
            "81.2.69.161",
            32,
        );
        assert_eq!(addr_list(&r), [ip("2001:db8:e::10")], "{r}");
        // cn-telecom → cn-unicom → china → cn-jilin have no IPv6: default.
        for client in ["175.16.199.1", "175.16.199.200", "27.192.0.1"] {
            let r = ask_ecs(
                s.addr(),
                via,
                "www.example.com.",
                RecordType::AAAA,
                client,
                32,
            );
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert_eq!(addr_list(&r), [ip("2001:db8::10")], "{client}: {r}");
            assert!(r.answers.iter().all(|rr| rr.ttl == 30), "{r}");
        }
        // And A answers never carry IPv6 targets (and vice versa).
        let r = ask_ecs(
            s.addr(),
            via,
            "www.example.com.",
            RecordType::A,
            "214.78.1.1",
            32,
        );
        assert!(
            r.answers.iter().all(|rr| rr.record_type() == RecordType::A),
            "{r}"
        );
    }
}

#[test]
fn round_robin_rotates_the_lead_address() {
    let s = Server::example();
    for (client, pool) in [
        ("81.2.69.161", EUROPE),
        ("175.16.199.1", CN_TELECOM),
        ("214.78.1.1", US_WEST),
        ("8.8.8.8", DEFAULT),
    ] {
        let mut leads = BTreeSet::new();
        for i in 0..12 {
            let via = if i % 2 == 0 { Via::Udp } else { Via::Tcp };
            let r = ask_ecs(s.addr(), via, "www.example.com.", RecordType::A, client, 32);
            assert_eq!(addr_set(&r), ips(pool), "{client}: {r}");
            leads.insert(addr_list(&r)[0]);
        }
        assert_eq!(
            leads,
            ips(pool),
            "{client}: every address of the pool must lead some answer"
        );
    }
}

#[test]
fn max_answers_caps_and_rotation_covers_the_pool() {
    let z = Zones::new();
    write_regions(&z, json!({ "europe": [ { "continents": ["EU"] } ] }), &[]);
    write_zone(
        &z,
        "example.org.",
        json!({ "www": { "gslb": "web" }, "one": { "gslb": "single" } }),
        json!({
            "web": {
                "max_answers": 2,
                "pools": {
                    "europe": { "targets": ["198.51.100.1", "198.51.100.2", "198.51.100.3",
                                            "198.51.100.4", "2001:db8:e::1", "2001:db8:e::2",
                                            "2001:db8:e::3"] },
                    "default": { "targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"] }
                }
            },
            "single": {
                "ttl": 45,
                "max_answers": 1,
                "pools": { "default": { "targets": ["192.0.2.7", "192.0.2.8"] } }
            }
        }),
    );
    let s = serve(z);
    let europe = ips(&[
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ]);
    let mut seen = BTreeSet::new();
    let mut leads = BTreeSet::new();
    for i in 0..24 {
        let via = if i % 3 == 0 { Via::Tcp } else { Via::Udp };
        let r = ask_ecs(
            s.addr(),
            via,
            "www.example.org.",
            RecordType::A,
            "81.2.69.161",
            32,
        );
        let got = addr_list(&r);
        assert_eq!(got.len(), 2, "max_answers 2: {r}");
        assert_ne!(got[0], got[1], "no duplicates: {r}");
        assert!(got.iter().all(|a| europe.contains(a)), "europe only: {r}");
        assert!(
            r.answers.iter().all(|rr| rr.ttl == 30),
            "GSLB ttl defaults to 30: {r}"
        );
        seen.extend(got.iter().copied());
        leads.insert(got[0]);
    }
    assert_eq!(seen, europe, "rotation must reach every healthy target");
    assert!(leads.len() >= 2, "the lead must rotate: {leads:?}");

    let r = ask_ecs(
        s.addr(),
        Via::Udp,
        "www.example.org.",
        RecordType::AAAA,
        "81.2.69.161",
        32,
    );
    assert_eq!(addr_list(&r).len(), 2, "max_answers applies to AAAA: {r}");

    let r = udp(s.addr(), &query("www.example.org.", RecordType::A));
    assert_eq!(addr_list(&r).len(), 2, "default pool capped too: {r}");

    let r = udp(s.addr(), &query("one.example.org.", RecordType::A));
    assert_eq!(addr_list(&r).len(), 1, "max_answers 1: {r}");
    assert_eq!(r.answers[0].ttl, 45, "explicit GSLB ttl: {r}");
}

// ---------------------------------------------------------------------------------------------
// CNAME to a GSLB name

#[test]
fn cname_to_gslb_name_answers_cname_and_selected_addresses() {
    let z = Zones::new();
    write_regions(
        &z,
        json!({
            "europe": [ { "continents": ["EU"] } ],
            "cn": [ { "countries": ["CN"] } ]
        }),
        &[],
    );
    write_zone(
        &z,
        "example.org.",
        json!({
            "www": { "gslb": "web" },
            "alias": { "CNAME": "www" },
            "alias2": { "CNAME": "alias.example.org." }
        }),
        json!({
            "web": {
                "ttl": 30,
                "pools": {
                    "europe": { "targets": ["198.51.100.10", "2001:db8:e::10"] },
                    "cn": { "targets": ["203.0.113.40"] },
                    "default": { "targets": ["192.0.2.10", "2001:db8::10"] }
                }
            }
        }),
    );
    let s = serve(z);
    for via in BOTH {
        for (name, chain) in [
            ("alias.example.org.", vec!["www.example.org."]),
            (
                "alias2.example.org.",
                vec!["alias.example.org.", "www.example.org."],
            ),
        ] {
            for (client, prefix, rtype, want, scope) in [
                ("81.2.69.161", 32, RecordType::A, "198.51.100.10", 27),
                ("81.2.69.161", 32, RecordType::AAAA, "2001:db8:e::10", 27),
                ("175.16.199.1", 32, RecordType::A, "203.0.113.40", 24),
                ("8.8.8.8", 32, RecordType::A, "192.0.2.10", 5),
            ] {
                let r = ask_ecs(s.addr(), via, name, rtype, client, prefix);
                let what = format!("{name} {rtype} from {client} via {via:?}");
                assert_eq!(r.response_code, ResponseCode::NoError, "{what}: {r}");
                assert!(r.authoritative, "{what}: {r}");
                assert_eq!(r.answers.len(), chain.len() + 1, "{what}: {r}");
                for (i, target) in chain.iter().enumerate() {
                    let rr = &r.answers[i];
                    match &rr.data {
                        RData::CNAME(c) => {
                            assert_eq!(c.0.to_ascii().to_lowercase(), *target, "{what}: {r}")
                        }
                        other => panic!("{what}: CNAME expected first, got {other:?}: {r}"),
                    }
                    assert_eq!(rr.ttl, 3600, "{what}: zone TTL on the CNAME: {r}");
                }
                let last = r.answers.last().unwrap();
                assert_eq!(
                    last.name.to_ascii().to_lowercase(),
                    "www.example.org.",
                    "{what}: {r}"
                );
                assert_eq!(last.ttl, 30, "{what}: {r}");
                assert_eq!(addr_list(&r), [ip(want)], "{what}: {r}");
                assert_eq!(echoed_scope(&r, client, prefix), scope, "{what}: {r}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed ECS

#[test]
fn malformed_ecs_is_formerr() {
    let s = Server::example();
    let bad: Vec<(&str, Vec<u8>)> = vec![
        // Bits set past the source prefix (81.2.69.0/20: 69 = 0x45 has bits past /20).
        ("bits past prefix v4", raw_ecs(1, 20, 0, &[81, 2, 69])),
        (
            "bits past prefix v6",
            raw_ecs(2, 31, 0, &[0x20, 0x01, 0x02, 0x51]),
        ),
        ("too many address bytes", raw_ecs(1, 24, 0, &[81, 2, 69, 0])),
        ("too few address bytes", raw_ecs(1, 32, 0, &[81, 2, 69])),
        ("address bytes with prefix 0", raw_ecs(1, 0, 0, &[81])),
        ("unknown family", raw_ecs(3, 8, 0, &[81])),
        ("family 0", raw_ecs(0, 0, 0, &[])),
        ("IPv4 prefix > 32", raw_ecs(1, 33, 0, &[81, 2, 69, 161, 0])),
        ("IPv6 prefix > 128", raw_ecs(2, 129, 0, &[0x20; 17])),
        ("option shorter than its header", {
            let mut v = 8u16.to_be_bytes().to_vec();
            v.extend_from_slice(&2u16.to_be_bytes());
            v.extend_from_slice(&[0, 1]);
            v
        }),
        ("two ECS options", {
            let mut v = raw_ecs(1, 24, 0, &[81, 2, 69]);
            v.extend(raw_ecs(1, 24, 0, &[81, 2, 69]));
            v
        }),
    ];
    for (what, option) in &bad {
        let packet = raw_query(
            0x4242,
            "www.example.com.",
            1,
            Some(&raw_opt(1232, 0, false, option)),
        );
        let r = udp_raw_timeout(s.addr(), &packet, REPLY_TIMEOUT)
            .unwrap_or_else(|| panic!("{what}: no UDP reply"));
        assert_eq!(&r[..2], &[0x42, 0x42], "{what}: id echoed");
        assert_eq!(raw_rcode(&r), 1, "{what}: FORMERR over UDP: {r:02x?}");
        let r = tcp_raw(s.addr(), &packet).unwrap_or_else(|e| panic!("{what}: TCP: {e}"));
        assert_eq!(raw_rcode(&r), 1, "{what}: FORMERR over TCP: {r:02x?}");
    }
    // The server is unharmed and a well-formed ECS query still works.
    let ok = raw_query(
        7,
        "www.example.com.",
        1,
        Some(&raw_opt(
            1232,
            0,
            false,
            &raw_ecs(1, 24, 0, &[175, 16, 199]),
        )),
    );
    let r = decode(&udp_raw_timeout(s.addr(), &ok, REPLY_TIMEOUT).expect("reply"));
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(addr_set(&r), ips(CN_TELECOM), "{r}");
    assert_eq!(echoed_scope(&r, "175.16.199.0", 24), 25, "{r}");
}

#[test]
fn ecs_prefix_not_on_a_byte_boundary() {
    let s = Server::example();
    for via in BOTH {
        // 81.2.69.160/27 exactly the GB block; 175.16.199.0/25 exactly the list block.
        for (client, prefix, want, scope) in [
            ("81.2.69.160", 27, EUROPE, 27),
            ("175.16.199.0", 25, CN_TELECOM, 25),
            ("175.16.199.128", 25, CN_JILIN, 25),
            ("2001:250::", 31, CN_TELECOM, 31),
        ] {
            let r = ask_ecs(
                s.addr(),
                via,
                "www.example.com.",
                RecordType::A,
                client,
                prefix,
            );
            assert_eq!(addr_set(&r), ips(want), "{client}/{prefix}: {r}");
            assert_eq!(
                echoed_scope(&r, client, prefix),
                scope,
                "{client}/{prefix}: {r}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Specificity and scope on exact temp configurations

/// Eight regions that all match 214.78.1.1 (US-CA, AS721, US, NA), listed least specific
/// first so that file order cannot explain the result.
fn specificity_fixture() -> Zones {
    let z = Zones::new();
    write_regions(
        &z,
        json!({
            "r-continent":      [ { "continents": ["NA"] } ],
            "r-country":        [ { "countries": ["US"] } ],
            "r-asn":            [ { "asns": [721] } ],
            "r-country-asn":    [ { "countries": ["US"], "asns": [721] } ],
            "r-subdivision":    [ { "subdivisions": ["US-CA"] } ],
            "r-subdivision-asn":[ { "subdivisions": ["US-CA"], "asns": [721] } ],
            "r-net16":          [ { "networks": ["214.78.0.0/16"] } ],
            "r-net24":          [ { "networks_file": "lab.txt" } ],
            "r-wrong-asn":      [ { "subdivisions": ["US-CA"], "asns": [4134] } ],
            "r-registered":     [ { "countries": ["US"] } ],
            "eu-first":         [ { "continents": ["EU"] } ],
            "eu-second":        [ { "continents": ["EU"] } ]
        }),
        &[("lab.txt", "# lab\n214.78.1.0/24\n")],
    );
    // Record rN has the pools of the N most specific regions removed.
    let order = [
        ("r-net24", "10.0.0.1"),
        ("r-net16", "10.0.0.2"),
        ("r-subdivision-asn", "10.0.0.3"),
        ("r-subdivision", "10.0.0.4"),
        ("r-country-asn", "10.0.0.5"),
        ("r-asn", "10.0.0.6"),
        ("r-country", "10.0.0.7"),
        ("r-continent", "10.0.0.8"),
    ];
    let mut records = serde_json::Map::new();
    let mut gslb = serde_json::Map::new();
    for skip in 0..=order.len() {
        let mut pools = serde_json::Map::new();
        for (region, addr) in &order[skip..] {
            pools.insert(region.to_string(), json!({ "targets": [addr] }));
        }
        pools.insert("r-wrong-asn".into(), json!({ "targets": ["10.9.9.9"] }));
        pools.insert("default".into(), json!({ "targets": ["192.0.2.1"] }));
        records.insert(format!("r{skip}"), json!({ "gslb": format!("g{skip}") }));
        gslb.insert(format!("g{skip}"), json!({ "pools": pools }));
    }
    records.insert("reg".into(), json!({ "gslb": "reg" }));
    gslb.insert(
        "reg".into(),
        json!({ "pools": {
            "r-registered": { "targets": ["10.1.1.1"] },
            "eu-second": { "targets": ["10.2.2.2"] },
            "eu-first": { "targets": ["10.3.3.3"] },
            "default": { "targets": ["192.0.2.1"] }
        } }),
    );
    write_zone(&z, "geo.test.", Value::Object(records), Value::Object(gslb));
    z
}

#[test]
fn regions_are_tried_most_specific_first() {
    let s = serve(specificity_fixture());
    let want = [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.4",
        "10.0.0.5",
        "10.0.0.6",
        "10.0.0.7",
        "10.0.0.8",
        "192.0.2.1",
    ];
    for (n, want) in want.iter().enumerate() {
        for via in BOTH {
            let r = ask_ecs(
                s.addr(),
                via,
                &format!("r{n}.geo.test."),
                RecordType::A,
                "214.78.1.1",
                32,
            );
            assert_eq!(
                addr_list(&r),
                [ip(want)],
                "r{n}: with the {n} most specific pools removed: {r}"
            );
        }
    }
    // A rule matches only when every condition matches: r-wrong-asn (US-CA + AS4134) never
    // matches 214.78.1.1 (AS721), so it never beats anything.
}

#[test]
fn country_is_not_registered_country_and_ties_keep_file_order() {
    let s = serve(specificity_fixture());
    // 81.2.69.161: country GB, registered_country US, continent EU.
    for via in BOTH {
        let r = ask_ecs(
            s.addr(),
            via,
            "reg.geo.test.",
            RecordType::A,
            "81.2.69.161",
            32,
        );
        assert_eq!(
            addr_list(&r),
            [ip("10.3.3.3")],
            "country GB must not match countries [US]; of two continent regions the \
             first in the file wins: {r}"
        );
        let r = ask_ecs(
            s.addr(),
            via,
            "reg.geo.test.",
            RecordType::A,
            "214.78.1.1",
            32,
        );
        assert_eq!(addr_list(&r), [ip("10.1.1.1")], "{r}");
    }
}

#[test]
fn scope_is_never_wider_than_a_block_with_a_different_answer() {
    let z = Zones::new();
    write_regions(
        &z,
        json!({
            "lab":    [ { "networks": ["81.2.69.176/28"] } ],
            "inner":  [ { "networks": ["10.1.0.0/16"] } ],
            "outer":  [ { "networks": ["10.0.0.0/8"] } ],
            "v6lab":  [ { "networks": ["2001:250:0:1::/64"] } ],
            "europe": [ { "continents": ["EU"] } ],
            "cn":     [ { "countries": ["CN"] } ]
        }),
        &[],
    );
    write_zone(
        &z,
        "example.org.",
        json!({ "www": { "gslb": "web" } }),
        json!({
            "web": {
                "pools": {
                    "lab": { "targets": ["10.0.0.1"] },
                    "inner": { "targets": ["10.0.0.2"] },
                    "outer": { "targets": ["10.0.0.3"] },
                    "v6lab": { "targets": ["10.0.0.4"] },
                    "europe": { "targets": ["10.0.0.5"] },
                    "cn": { "targets": ["10.0.0.6"] },
                    "default": { "targets": ["192.0.2.1"] }
                }
            }
        }),
    );
    let s = serve(z);
    for via in BOTH {
        for (client, prefix, want, scope) in [
            // GB /27 contains the lab /28: the europe answer holds for 81.2.69.160/28 only.
            ("81.2.69.161", 32, "10.0.0.5", 28),
            ("81.2.69.180", 32, "10.0.0.1", 28),
            // The inner /16 beats the outer /8 (longer prefix first).
            ("10.1.2.3", 32, "10.0.0.2", 16),
            // 10.2.0.0/15 is the widest block around 10.2.0.1 without 10.1.0.0/16.
            ("10.2.0.1", 32, "10.0.0.3", 15),
            ("10.128.0.1", 32, "10.0.0.3", 9),
            // GeoIP CN 2001:250::/31 contains the lab /64.
            ("2001:250::1", 128, "10.0.0.6", 64),
            ("2001:250:0:1::1", 128, "10.0.0.4", 64),
            ("2001:251::1", 128, "10.0.0.6", 32),
        ] {
            let r = ask_ecs(
                s.addr(),
                via,
                "www.example.org.",
                RecordType::A,
                client,
                prefix,
            );
            assert_eq!(addr_list(&r), [ip(want)], "{client}: {r}");
            assert_eq!(
                echoed_scope(&r, client, prefix),
                scope,
                "{client} via {via:?}: scope: {r}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Policies other than round robin

#[test]
fn sticky_first_all_and_weighted_policies() {
    let z = Zones::new();
    write_regions(&z, json!({ "europe": [ { "continents": ["EU"] } ] }), &[]);
    write_zone(
        &z,
        "example.org.",
        json!({
            "st": { "gslb": "st" }, "fi": { "gslb": "fi" },
            "al": { "gslb": "al" }, "we": { "gslb": "we" }
        }),
        json!({
            "st": { "policy": "sticky", "max_answers": 1, "pools": { "default": { "targets":
                ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"] } } },
            "fi": { "policy": "first", "pools": { "default": { "targets":
                ["192.0.2.1", "192.0.2.2", "192.0.2.3"] } } },
            "al": { "policy": "all", "pools": { "default": { "targets":
                ["192.0.2.3", "192.0.2.1", "192.0.2.2"] } } },
            "we": { "policy": "weighted", "max_answers": 1, "pools": { "default": { "targets":
                [ { "address": "192.0.2.1", "weight": 3 }, "192.0.2.2" ] } } }
        }),
    );
    let s = serve(z);
    let a = |name: &str, client: &str, via: Via| {
        let r = ask_ecs(s.addr(), via, name, RecordType::A, client, 32);
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        r
    };
    // sticky: one client (its /24) keeps its answer; the answer depends on the /24.
    let mut distinct = BTreeSet::new();
    for n in 0..16u8 {
        let client = format!("198.18.{n}.7");
        let first = addr_list(&a("st.example.org.", &client, Via::Udp));
        assert_eq!(first.len(), 1);
        for i in 0..6u8 {
            let via = if i % 2 == 0 { Via::Tcp } else { Via::Udp };
            let other_host = format!("198.18.{n}.{}", 100 + i);
            let r = a("st.example.org.", &other_host, via);
            assert_eq!(addr_list(&r), first, "same /24 keeps its order: {r}");
            let scope = echoed_scope(&r, &other_host, 32);
            assert!(
                (24..=32).contains(&scope),
                "sticky answers depend on the /24: scope must cover it: {r}"
            );
        }
        distinct.insert(first[0]);
    }
    assert!(
        distinct.len() >= 2,
        "16 subnets all on one target: {distinct:?}"
    );
    // first: active/backup, one answer by default.
    for _ in 0..4 {
        assert_eq!(
            addr_list(&a("fi.example.org.", "8.8.8.8", Via::Udp)),
            [ip("192.0.2.1")]
        );
    }
    // all: every target in listed order, always.
    for _ in 0..4 {
        assert_eq!(
            addr_list(&a("al.example.org.", "8.8.8.8", Via::Udp)),
            [ip("192.0.2.3"), ip("192.0.2.1"), ip("192.0.2.2")]
        );
    }
    // weighted: the heavier target leads about 3 answers in 4.
    let mut heavy = 0;
    let total = 200;
    for _ in 0..total {
        if addr_list(&a("we.example.org.", "8.8.8.8", Via::Udp))[0] == ip("192.0.2.1") {
            heavy += 1;
        }
    }
    assert!(
        (130..=170).contains(&heavy),
        "weight 3:1 should lead ~150 of {total}, got {heavy}"
    );
}
