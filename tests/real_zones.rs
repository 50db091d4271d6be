//! End-to-end tests of real zones (spec §8) against the `gslbd serve` binary: wildcards
//! (RFC 4592), delegations with glue and DS, child zones, the additional section, and how
//! referrals and additional data meet the UDP size limit (RFC 9471).

mod common;

use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::json;

use common::*;

const DS: &str = "1F987CC6583E92DF0890718C42D1CB0EBF7E6C2D7F5D6A2F5E4B1A5D7C3E2B1A";

/// A zone with wildcards, empty non-terminals, delegations (with and without DS, with a fat
/// NS set, with sibling glue too big for UDP), a served child zone, and MX/SRV/NS targets.
fn fixture() -> Server {
    let z = Zones::new();
    let mut records = json!({
        "@": { "NS": ["ns1.example.com.", "ns2.example.com."],
               "MX": [{ "preference": 10, "exchange": "mail.example.com." },
                      { "preference": 20, "exchange": "mail.elsewhere.net." }] },
        "ns1": { "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] },
        "ns2": { "A": ["198.51.100.53"] },
        "mail": { "A": ["192.0.2.25"] },
        "_sip._udp": { "SRV": [{ "priority": 1, "weight": 1, "port": 5060,
                                  "target": "sip.example.com." }] },
        "sip": { "AAAA": ["2001:db8::60"] },
        "*.wild": { "A": ["192.0.2.70"], "TXT": ["wild"] },
        "exists.wild": { "TXT": ["real"] },
        "x.ent.wild": { "A": ["192.0.2.71"] },
        "*.alias": { "CNAME": "mail.example.com." },
        "todeleg": { "CNAME": "host.deleg.example.com." },
        "deleg": { "NS": ["ns1.deleg.example.com.", "ns1.example.com."],
                   "DS": [{ "key_tag": 2371, "algorithm": 13, "digest_type": 2, "digest": DS }] },
        "ns1.deleg": { "A": ["192.0.2.90"], "AAAA": ["2001:db8::90"] },
        "nods": { "NS": ["ns.nods.example.com."] },
        "ns.nods": { "A": ["192.0.2.91"] },
        "child": { "NS": ["ns1.child.example.com."],
                   "DS": [{ "key_tag": 4242, "algorithm": 13, "digest_type": 2, "digest": DS }] },
        "ns1.child": { "A": ["192.0.2.92"] },
    });
    let map = records.as_object_mut().unwrap();
    // `fat`: 40 name servers inside the cut, each with glue: too big for UDP.
    let fat: Vec<String> = (1..=40)
        .map(|i| format!("ns{i}.fat.example.com."))
        .collect();
    map.insert("fat".into(), json!({ "NS": fat }));
    for i in 1..=40 {
        map.insert(
            format!("ns{i}.fat"),
            json!({ "A": [format!("198.18.0.{i}")], "AAAA": [format!("2001:db8:f::{i:x}")] }),
        );
    }
    // `sibs`: one in-domain server, and 8 siblings (`ns1.sibN`) under other cuts.
    let mut sibs = vec!["ns.sibs.example.com.".to_string()];
    for i in 1..=8 {
        sibs.push(format!("ns1.sib{i}.example.com."));
        map.insert(
            format!("sib{i}"),
            json!({ "NS": [format!("ns1.sib{i}.example.com.")] }),
        );
        map.insert(
            format!("ns1.sib{i}"),
            json!({ "A": [format!("198.18.1.{i}")], "AAAA": [format!("2001:db8:5::{i:x}")] }),
        );
    }
    map.insert("sibs".into(), json!({ "NS": sibs }));
    map.insert("ns.sibs".into(), json!({ "A": ["198.18.2.1"] }));
    z.zone("example.com.", records);
    z.zone(
        "child.example.com.",
        json!({ "@": { "NS": ["ns1.child.example.com."] },
                "ns1": { "A": ["192.0.2.92"] },
                "www": { "A": ["192.0.2.93"] } }),
    );
    Server::with_zones(z)
}

fn ask(s: &Server, name: &str, rtype: RecordType) -> Message {
    udp(s.addr(), &with_edns(query(name, rtype), 1232))
}

fn names_and_types(records: &[Record]) -> Vec<(String, RecordType)> {
    records
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type()))
        .collect()
}

fn addresses(records: &[Record]) -> Vec<IpAddr> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

fn assert_nodata(r: &Message, rcode: ResponseCode) {
    assert_eq!(r.response_code, rcode, "{r}");
    assert!(r.authoritative, "{r}");
    assert!(r.answers.is_empty(), "{r}");
    assert_eq!(
        names_and_types(&r.authorities),
        [("example.com.".to_string(), RecordType::SOA)],
        "{r}"
    );
}

#[test]
fn wildcards_synthesise_answers_owned_by_the_query_name() {
    let s = fixture();
    // Any name below `wild` that does not exist, however deep, in the client's case.
    for name in ["a.wild.example.com.", "Deep.Er.WILD.example.com."] {
        let r = ask(&s, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        assert!(r.authoritative, "{r}");
        assert_eq!(
            names_and_types(&r.answers),
            [(name.to_string(), RecordType::A)]
        );
        assert_eq!(
            addresses(&r.answers),
            ["192.0.2.70".parse::<IpAddr>().unwrap()]
        );
    }
    // Another type the wildcard holds; a type it lacks is NODATA (RFC 4592 §3.3.1).
    let r = ask(&s, "b.wild.example.com.", RecordType::TXT);
    assert_eq!(r.answers.len(), 1, "{r}");
    assert_nodata(
        &ask(&s, "b.wild.example.com.", RecordType::MX),
        ResponseCode::NoError,
    );
    // The literal `*` name answers itself.
    assert_eq!(
        ask(&s, "*.wild.example.com.", RecordType::A).answers.len(),
        1
    );
    // An existing name is not synthesised: it has TXT only, so A is NODATA.
    assert_nodata(
        &ask(&s, "exists.wild.example.com.", RecordType::A),
        ResponseCode::NoError,
    );
    // Nor are names below an existing name or an empty non-terminal: the closest encloser
    // has no wildcard child (RFC 4592 §2.2.1).
    assert_nodata(
        &ask(&s, "ent.wild.example.com.", RecordType::A),
        ResponseCode::NoError,
    );
    for name in ["a.ent.wild.example.com.", "a.exists.wild.example.com."] {
        assert_nodata(&ask(&s, name, RecordType::A), ResponseCode::NXDomain);
    }
    // `*.wild` does not answer `wild` itself: an empty non-terminal.
    assert_nodata(
        &ask(&s, "wild.example.com.", RecordType::A),
        ResponseCode::NoError,
    );
}

#[test]
fn a_wildcard_cname_is_followed() {
    let s = fixture();
    let r = ask(&s, "anything.alias.example.com.", RecordType::A);
    assert_eq!(
        names_and_types(&r.answers),
        [
            ("anything.alias.example.com.".to_string(), RecordType::CNAME),
            ("mail.example.com.".to_string(), RecordType::A)
        ],
        "{r}"
    );
    assert!(r.authoritative);
}

#[test]
fn a_synthesised_gslb_name_answers_exactly_like_a_real_one() {
    let s = Server::example();
    for (client, prefix) in [
        ("81.2.69.161", 32),
        ("175.16.199.0", 24),
        ("27.192.0.1", 32),
        ("214.78.1.1", 32),
        ("8.8.8.8", 32),
        ("2001:480::1", 48),
    ] {
        for rtype in [RecordType::A, RecordType::AAAA] {
            let ask = |name: &str| {
                let r = udp(
                    s.addr(),
                    &with_ecs(with_edns(query(name, rtype), 1232), client, prefix),
                );
                let mut a = addresses(&r.answers);
                a.sort();
                (a, reply_ecs(&r).map(|e| e.scope_prefix()), r.answers.len())
            };
            let real = ask("www.example.com.");
            let synthesised = ask("some.host.cdn.example.com.");
            assert_eq!(real, synthesised, "{client}/{prefix} {rtype}");
        }
    }
}

#[test]
fn a_delegation_gets_a_referral_with_glue() {
    let s = fixture();
    for (name, rtype) in [
        ("deleg.example.com.", RecordType::A),
        ("www.deleg.example.com.", RecordType::A),
        ("a.b.deleg.example.com.", RecordType::MX),
        ("ns1.deleg.example.com.", RecordType::A),
        ("deleg.example.com.", RecordType::NS),
        ("deleg.example.com.", RecordType::ANY),
        ("www.deleg.example.com.", RecordType::DS),
    ] {
        let r = ask(&s, name, rtype);
        assert_eq!(
            r.response_code,
            ResponseCode::NoError,
            "{name} {rtype}: {r}"
        );
        assert!(!r.authoritative, "a referral has AA clear: {r}");
        assert!(r.answers.is_empty(), "{r}");
        assert_eq!(
            names_and_types(&r.authorities),
            [
                ("deleg.example.com.".to_string(), RecordType::NS),
                ("deleg.example.com.".to_string(), RecordType::NS)
            ],
            "{r}"
        );
        // In-domain glue first, then the sibling server's addresses.
        assert_eq!(
            names_and_types(&r.additionals),
            [
                ("ns1.deleg.example.com.".to_string(), RecordType::A),
                ("ns1.deleg.example.com.".to_string(), RecordType::AAAA),
                ("ns1.example.com.".to_string(), RecordType::A),
                ("ns1.example.com.".to_string(), RecordType::AAAA)
            ],
            "{r}"
        );
    }
}

#[test]
fn ds_at_a_cut_is_answered_by_the_parent() {
    let s = fixture();
    let r = ask(&s, "deleg.example.com.", RecordType::DS);
    assert!(r.authoritative, "{r}");
    assert_eq!(
        names_and_types(&r.answers),
        [("deleg.example.com.".to_string(), RecordType::DS)]
    );
    let text = dig(s.addr(), &["deleg.example.com", "DS", "+short"]);
    assert_eq!(
        text.trim().replace(' ', ""),
        format!("2371132{DS}"),
        "{text}"
    );
    // No DS at the cut: an authoritative NODATA from the parent.
    assert_nodata(
        &ask(&s, "nods.example.com.", RecordType::DS),
        ResponseCode::NoError,
    );
}

#[test]
fn a_served_child_answers_for_itself_but_its_ds_comes_from_the_parent() {
    let s = fixture();
    let r = ask(&s, "www.child.example.com.", RecordType::A);
    assert!(r.authoritative, "the child zone answers: {r}");
    assert_eq!(
        addresses(&r.answers),
        ["192.0.2.93".parse::<IpAddr>().unwrap()]
    );
    let r = ask(&s, "child.example.com.", RecordType::SOA);
    assert_eq!(names_and_types(&r.answers)[0].1, RecordType::SOA, "{r}");
    let r = ask(&s, "child.example.com.", RecordType::DS);
    assert!(r.authoritative, "{r}");
    assert_eq!(
        names_and_types(&r.answers),
        [("child.example.com.".to_string(), RecordType::DS)],
        "{r}"
    );
}

#[test]
fn a_cname_into_a_delegation_ends_with_the_referral() {
    let s = fixture();
    let r = ask(&s, "todeleg.example.com.", RecordType::A);
    assert_eq!(
        names_and_types(&r.answers),
        [("todeleg.example.com.".to_string(), RecordType::CNAME)],
        "{r}"
    );
    assert!(r.authoritative, "the CNAME is ours: {r}");
    assert_eq!(r.authorities.len(), 2, "{r}");
    assert!(r
        .authorities
        .iter()
        .all(|a| a.record_type() == RecordType::NS));
}

#[test]
fn referrals_whose_required_glue_does_not_fit_are_truncated() {
    let s = fixture();
    for payload in [None, Some(512), Some(1232)] {
        let q = query("www.fat.example.com.", RecordType::A);
        let q = payload.map_or(q.clone(), |p| with_edns(q, p));
        let r = udp(s.addr(), &q);
        assert!(r.truncation, "{payload:?}: {r}");
        assert!(r.authorities.is_empty() && r.additionals.is_empty(), "{r}");
        let r = tcp(s.addr(), &q);
        assert!(!r.truncation, "{r}");
        assert_eq!(r.authorities.len(), 40);
        assert_eq!(r.additionals.len(), 80, "all the glue over TCP");
    }
}

#[test]
fn sibling_glue_is_left_out_before_anything_is_truncated() {
    let s = fixture();
    let q = query("www.sibs.example.com.", RecordType::A);
    let r = udp(s.addr(), &q);
    assert!(!r.truncation, "{r}");
    assert_eq!(r.authorities.len(), 9, "{r}");
    let glue = names_and_types(&r.additionals);
    assert_eq!(glue[0], ("ns.sibs.example.com.".to_string(), RecordType::A));
    assert!(
        glue.len() < 17,
        "not every sibling fits in 512 bytes: {}",
        glue.len()
    );
    let r = tcp(s.addr(), &q);
    assert_eq!(
        r.additionals.len(),
        17,
        "over TCP every sibling comes along"
    );
}

#[test]
fn ns_mx_and_srv_answers_carry_their_targets_addresses() {
    let s = fixture();
    let r = ask(&s, "example.com.", RecordType::NS);
    assert_eq!(
        names_and_types(&r.additionals),
        [
            ("ns1.example.com.".to_string(), RecordType::A),
            ("ns1.example.com.".to_string(), RecordType::AAAA),
            ("ns2.example.com.".to_string(), RecordType::A),
        ],
        "{r}"
    );
    assert!(r.authoritative);
    let r = ask(&s, "example.com.", RecordType::MX);
    assert_eq!(
        names_and_types(&r.additionals),
        [("mail.example.com.".to_string(), RecordType::A)],
        "only in-zone targets: {r}"
    );
    let r = ask(&s, "_sip._udp.example.com.", RecordType::SRV);
    assert_eq!(
        names_and_types(&r.additionals),
        [("sip.example.com.".to_string(), RecordType::AAAA)],
        "{r}"
    );
}

#[test]
fn targets_a_wildcard_synthesises_have_their_addresses_in_additional() {
    // `mx.wild` and `srv.wild` do not exist: `*.wild` makes them up (RFC 4592), so their
    // addresses are what the server answers for them, owned by the target name. Below an
    // existing name (`exists.wild`) nothing is synthesised, so nothing is added.
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "@": { "NS": ["ns1.example.com."],
                   "MX": [{ "preference": 10, "exchange": "mx.wild.example.com." },
                          { "preference": 20, "exchange": "x.exists.wild.example.com." }] },
            "ns1": { "A": ["192.0.2.53"] },
            "*.wild": { "A": ["192.0.2.70"], "AAAA": ["2001:db8::70"], "TXT": ["wild"] },
            "exists.wild": { "TXT": ["real"] },
            "_x._tcp": { "SRV": [{ "priority": 0, "weight": 0, "port": 1,
                                   "target": "srv.wild.example.com." }] },
        }),
    );
    let s = Server::with_zones(z);
    let r = ask(&s, "example.com.", RecordType::MX);
    assert_eq!(
        names_and_types(&r.additionals),
        [
            ("mx.wild.example.com.".to_string(), RecordType::A),
            ("mx.wild.example.com.".to_string(), RecordType::AAAA),
        ],
        "{r}"
    );
    let r = ask(&s, "_x._tcp.example.com.", RecordType::SRV);
    assert_eq!(
        names_and_types(&r.additionals),
        [
            ("srv.wild.example.com.".to_string(), RecordType::A),
            ("srv.wild.example.com.".to_string(), RecordType::AAAA),
        ],
        "{r}"
    );
}

#[test]
fn additional_records_never_cause_truncation() {
    let z = Zones::new();
    let mut records = json!({
        "@": { "NS": ["ns1.example.com."] },
        "ns1": { "A": ["192.0.2.53"] },
    });
    // 14 MX records whose targets have A and AAAA: the MX set fits 512 bytes, the
    // addresses do not all fit.
    let map = records.as_object_mut().unwrap();
    let mx: Vec<_> = (1..=14)
        .map(|i| json!({ "preference": i, "exchange": format!("mx{i}.example.com.") }))
        .collect();
    map.insert("mx".into(), json!({ "MX": mx }));
    for i in 1..=14 {
        map.insert(
            format!("mx{i}"),
            json!({ "A": [format!("192.0.2.{i}")], "AAAA": [format!("2001:db8::{i:x}")] }),
        );
    }
    z.zone("example.com.", records);
    let s = Server::with_zones(z);
    let q = query("mx.example.com.", RecordType::MX);
    let r = udp(s.addr(), &q);
    assert!(!r.truncation, "{r}");
    assert_eq!(r.answers.len(), 14);
    let some = r.additionals.len();
    assert!(some > 0 && some < 28, "{some} of 28 addresses fit");
    // Whole RRsets only: every name's A comes before its AAAA, none is cut in half.
    let r = tcp(s.addr(), &q);
    assert_eq!(r.additionals.len(), 28, "{r}");
}
