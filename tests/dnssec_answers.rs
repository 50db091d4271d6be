//! Signed answers from the request handler, checked by hickory's DNSSEC verifier (an
//! independent implementation of RRSIG and canonical form): every RRset of every kind of
//! answer carries a valid RRSIG, denial is compact (RFC 9824), equal RRsets share cached
//! signatures, and answers without DO are byte for byte what an unsigned zone gives.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, NSEC, RRSIG};
use hickory_proto::dnssec::Verifier;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use gslbd::config::{self, Paths};
use gslbd::dns::edns::EdnsConfig;
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::dnssec::key::{FLAGS_KSK, FLAGS_ZSK};
use gslbd::dnssec::{Algorithm, Key, SigCache, ZoneKeys};
use gslbd::health::HealthView;
use gslbd::metrics::Outcome;
use gslbd::snapshot::Snapshot;

const NOW: u32 = 1_800_000_000;

/// An RRset by owner and type.
type RrsetName = (String, RecordType);
/// A query and the RRsets its answer must hold.
type Case<'a> = (&'a str, RecordType, &'a [(&'a str, RecordType)]);

/// The shipped example, loaded as the server would.
fn example() -> Snapshot {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    config::load(&Paths {
        zones: root.join("zones"),
        geo: root.join("geo"),
    })
    .expect("the example loads")
}

/// The example signed by `keys`, and the DNSKEYs a validator would trust.
fn signed(keys: Vec<Key>) -> (Snapshot, Vec<DNSKEY>) {
    let mut snap = example();
    let dnskeys = keys.iter().map(dnskey).collect();
    snap.zones[0].dnssec = Some(Box::new(ZoneKeys {
        keys: keys.into_iter().map(Arc::new).collect(),
    }));
    (snap, dnskeys)
}

fn ksk_zsk() -> Vec<Key> {
    vec![
        Key::generate(Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap(),
        Key::generate(Algorithm::EcdsaP256Sha256, FLAGS_ZSK).unwrap(),
    ]
}

fn dnskey(key: &Key) -> DNSKEY {
    let mut wire = vec![0u8];
    wire.extend_from_slice(&48u16.to_be_bytes());
    wire.extend_from_slice(&[0, 1, 0, 0, 14, 16]);
    wire.extend_from_slice(&(key.dnskey.len() as u16).to_be_bytes());
    wire.extend_from_slice(&key.dnskey);
    match Record::read(&mut BinDecoder::new(&wire)).unwrap().data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k,
        other => panic!("{other:?}"),
    }
}

/// A query for `name`/`qtype` with an OPT (payload 1232) whose flags are `flags` (DO is
/// 0x8000, CO 0x4000), or without EDNS when `flags` is `None`.
fn query(name: &str, qtype: u16, flags: Option<u16>, payload: u16) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, flags.is_some() as u8];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if let Some(f) = flags {
        p.push(0);
        p.extend_from_slice(&41u16.to_be_bytes());
        p.extend_from_slice(&payload.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&f.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p
}

const DO: Option<u16> = Some(0x8000);
const DO_CO: Option<u16> = Some(0xc000);

fn ask_raw(
    snap: &Snapshot,
    sigs: &mut SigCache,
    packet: &[u8],
    rotation: u64,
) -> (Vec<u8>, Outcome) {
    ask_raw_from(snap, sigs, packet, rotation, "192.0.2.200".parse().unwrap())
}

fn ask_raw_from(
    snap: &Snapshot,
    sigs: &mut SigCache,
    packet: &[u8],
    rotation: u64,
    src: IpAddr,
) -> (Vec<u8>, Outcome) {
    let health = HealthView::all_up();
    let edns = EdnsConfig::default();
    let mut ctx = Context {
        snapshot: snap,
        health: &health,
        rotation,
        trace: None,
        edns: &edns,
        now: NOW,
        sigs,
    };
    let mut out = Vec::new();
    let o = handle(&mut ctx, packet, src, Transport::Udp, &mut out).expect("a reply");
    (out, o)
}

fn ask(snap: &Snapshot, name: &str, qtype: RecordType, flags: Option<u16>) -> Message {
    let packet = query(name, u16::from(qtype), flags, 1232);
    let (out, _) = ask_raw(snap, &mut SigCache::default(), &packet, 1);
    Message::from_vec(&out).expect("a well-formed reply")
}

/// Verifies every RRset of `records` (one section) against its RRSIGs; returns the
/// (owner, type) of each RRset, so callers can say what had to be there.
fn verify_section(records: &[Record], keys: &[DNSKEY], what: &str) -> Vec<RrsetName> {
    let mut sets: BTreeMap<(String, RecordType), Vec<Record>> = BTreeMap::new();
    let mut sigs: Vec<&Record> = Vec::new();
    for r in records {
        if r.record_type() == RecordType::RRSIG {
            sigs.push(r);
        } else {
            let key = (r.name.to_string().to_lowercase(), r.record_type());
            sets.entry(key).or_default().push(r.clone());
        }
    }
    for ((owner, rtype), set) in &sets {
        let covering: Vec<&RRSIG> = sigs
            .iter()
            .filter(|s| s.name.to_string().to_lowercase() == *owner)
            .filter_map(|s| match &s.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig),
                _ => None,
            })
            .filter(|sig| sig.input().type_covered == *rtype)
            .collect();
        assert!(!covering.is_empty(), "{what}: {owner} {rtype} has no RRSIG");
        for sig in covering {
            let tag = sig.input().key_tag;
            let key = keys
                .iter()
                .find(|k| k.calculate_key_tag().unwrap() == tag)
                .unwrap_or_else(|| panic!("{what}: RRSIG by unknown key {tag}"));
            let name: Name = set[0].name.clone();
            key.verify_rrsig(&name, DNSClass::IN, sig, set.iter())
                .unwrap_or_else(|e| panic!("{what}: {owner} {rtype}: {e}"));
            assert_eq!(
                sig.input().original_ttl,
                set[0].ttl,
                "{what}: {owner} {rtype}"
            );
            assert_eq!(sig.input().sig_inception.get(), NOW - 3600);
            assert_eq!(sig.input().sig_expiration.get(), NOW + 7 * 86400);
        }
    }
    sets.into_keys().collect()
}

/// Every section of `m` verified; the RRsets of ANSWER and AUTHORITY.
fn verify(m: &Message, keys: &[DNSKEY], what: &str) -> (Vec<RrsetName>, Vec<RrsetName>) {
    let answer = verify_section(&m.answers, keys, what);
    let authority = if m.authoritative {
        verify_section(&m.authorities, keys, what)
    } else {
        // A referral: the NS RRset of the cut belongs to the child and is not signed by
        // the parent (RFC 4035 §2.2); everything else is.
        let (ns, rest): (Vec<Record>, Vec<Record>) = m
            .authorities
            .iter()
            .cloned()
            .partition(|r| r.record_type() == RecordType::NS);
        let cut = ns.first().map(|r| r.name.clone());
        assert!(
            !rest.iter().any(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::RRSIG(s)) => s.input().type_covered == RecordType::NS,
                _ => false,
            }),
            "{what}: the NS RRset of a referral is signed"
        );
        assert!(cut.is_some(), "{what}: a referral without NS");
        verify_section(&rest, keys, what)
    };
    // Glue in referrals is not signed (the parent is not authoritative for it).
    if !m
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::NS)
    {
        verify_section(&m.additionals, keys, what);
    }
    (answer, authority)
}

fn set(owner: &str, t: RecordType) -> (String, RecordType) {
    (owner.to_string(), t)
}

/// The one NSEC of a compact denial: owner, next name and bitmap.
fn nsec(m: &Message) -> (String, String, Vec<RecordType>) {
    let nsecs: Vec<(&Record, &NSEC)> = m
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some((r, n)),
            _ => None,
        })
        .collect();
    assert_eq!(nsecs.len(), 1, "one NSEC: {m}");
    let (r, n) = nsecs[0];
    let mut types: Vec<RecordType> = n.type_bit_maps().collect();
    types.sort();
    (r.name.to_string(), n.next_domain_name().to_string(), types)
}

fn sorted(mut v: Vec<RecordType>) -> Vec<RecordType> {
    v.sort();
    v
}

#[test]
fn every_kind_of_positive_answer_is_signed_and_verifies() {
    use RecordType::*;
    for keys in [
        ksk_zsk(),
        vec![Key::generate(Algorithm::Ed25519, FLAGS_KSK).unwrap()],
    ] {
        let (snap, dnskeys) = signed(keys);
        let cases: &[Case<'_>] = &[
            ("static.example.com.", A, &[("static.example.com.", A)]),
            ("www.example.com.", A, &[("www.example.com.", A)]),
            ("www.example.com.", AAAA, &[("www.example.com.", AAAA)]),
            // A wildcard GSLB name and a static wildcard, signed as the query name.
            ("x.cdn.example.com.", A, &[("x.cdn.example.com.", A)]),
            (
                "any.apps.example.com.",
                TXT,
                &[("any.apps.example.com.", TXT)],
            ),
            // CNAME chains: to a static name, and to a GSLB name via a wildcard owner.
            (
                "blog.example.com.",
                A,
                &[("blog.example.com.", CNAME), ("mail.example.com.", A)],
            ),
            (
                "status.apps.example.com.",
                A,
                &[("status.apps.example.com.", CNAME), ("www.example.com.", A)],
            ),
            ("example.com.", MX, &[("example.com.", MX)]),
            ("example.com.", CAA, &[("example.com.", CAA)]),
            ("example.com.", SOA, &[("example.com.", SOA)]),
            ("example.com.", ANY, &[("example.com.", HINFO)]),
            ("long.example.com.", TXT, &[("long.example.com.", TXT)]),
        ];
        // CNAME pools (a client in Europe gets the CDN's alias, one in China an alias into
        // the zone, followed) and a nearest data centre (Tokyo).
        let from: &[(&str, Case<'_>)] = &[
            (
                "81.2.69.161",
                ("media.example.com.", A, &[("media.example.com.", CNAME)]),
            ),
            (
                "175.16.199.0",
                (
                    "media.example.com.",
                    AAAA,
                    &[("media.example.com.", CNAME), ("static.example.com.", AAAA)],
                ),
            ),
            (
                "2001:218::1",
                ("edge.example.com.", AAAA, &[("edge.example.com.", AAAA)]),
            ),
        ];
        for (src, (name, qtype, want)) in from {
            let what = format!("{name} {qtype} from {src}");
            let packet = query(name, u16::from(*qtype), DO, 1232);
            let sigs = &mut SigCache::default();
            let (out, _) = ask_raw_from(&snap, sigs, &packet, 1, src.parse().unwrap());
            let m = Message::from_vec(&out).expect("a well-formed reply");
            assert_eq!(m.response_code, ResponseCode::NoError, "{what}");
            let (answer, _) = verify(&m, &dnskeys, &what);
            let want: Vec<_> = want.iter().map(|(o, t)| set(o, *t)).collect();
            assert_eq!(sorted_sets(answer), sorted_sets(want), "{what}");
        }
        for (name, qtype, want) in cases {
            let what = format!("{name} {qtype}");
            let m = ask(&snap, name, *qtype, DO);
            assert_eq!(m.response_code, ResponseCode::NoError, "{what}");
            assert!(m.authoritative, "{what}");
            let (answer, _) = verify(&m, &dnskeys, &what);
            let want: Vec<_> = want.iter().map(|(o, t)| set(o, *t)).collect();
            assert_eq!(sorted_sets(answer), sorted_sets(want), "{what}");
        }
        // The additional section: MX target with its signature.
        let m = ask(&snap, "example.com.", MX, DO);
        assert!(
            m.additionals.iter().any(|r| r.record_type() == RRSIG),
            "{m}"
        );
    }
}

fn sorted_sets(mut v: Vec<RrsetName>) -> Vec<RrsetName> {
    v.sort();
    v
}

#[test]
fn nonexistent_names_get_a_compact_denial_and_nxdomain_only_with_co() {
    use RecordType::*;
    let (snap, dnskeys) = signed(ksk_zsk());
    let nxname = RecordType::Unknown(128);
    let m = ask(&snap, "nope.example.com.", A, DO);
    assert_eq!(
        m.response_code,
        ResponseCode::NoError,
        "compact: NOERROR without CO"
    );
    assert!(m.answers.is_empty());
    let (_, authority) = verify(&m, &dnskeys, "nope");
    assert_eq!(
        authority,
        [set("example.com.", SOA), set("nope.example.com.", NSEC)]
    );
    assert_eq!(
        nsec(&m),
        (
            "nope.example.com.".into(),
            "\\000.nope.example.com.".into(),
            sorted(vec![RRSIG, NSEC, nxname])
        )
    );
    let m = ask(&snap, "nope.example.com.", A, DO_CO);
    assert_eq!(m.response_code, ResponseCode::NXDomain, "CO set: NXDOMAIN");
    verify(&m, &dnskeys, "nope with CO");
    // The OPT echoes DO and CO (its flags are the 3rd and 4th bytes from the end when it
    // has no options).
    let flags = |packet: &[u8]| {
        let (out, _) = ask_raw(&snap, &mut SigCache::default(), packet, 1);
        u16::from_be_bytes([out[out.len() - 4], out[out.len() - 3]])
    };
    assert_eq!(flags(&query("nope.example.com.", 1, DO_CO, 1232)), 0xc000);
    assert_eq!(flags(&query("nope.example.com.", 1, DO, 1232)), 0x8000);
    assert_eq!(
        flags(&query("nope.example.com.", 1, Some(0x4000), 1232)),
        0,
        "CO without DO"
    );
    // CNAME into a name that does not exist: the denial is at the target.
    let m = ask(&snap, "docs.example.com.", TXT, DO);
    assert_eq!(m.response_code, ResponseCode::NoError);
    let (answer, _) = verify(&m, &dnskeys, "docs TXT");
    assert_eq!(answer, [set("docs.example.com.", CNAME)]);
    assert_eq!(nsec(&m).0, "www.example.com.");
    assert_eq!(
        nsec(&m).2,
        sorted(vec![A, AAAA, RRSIG, NSEC]),
        "a GSLB name has both families"
    );
    // Without DO a signed zone answers NXDOMAIN as before.
    let m = ask(&snap, "nope.example.com.", A, None);
    assert_eq!(m.response_code, ResponseCode::NXDomain);
}

#[test]
fn nodata_lists_what_the_name_has_minus_the_query_type() {
    use RecordType::*;
    let (snap, dnskeys) = signed(ksk_zsk());
    for (name, qtype, types) in [
        ("ns2.example.com.", TXT, vec![A, AAAA]),
        ("static.example.com.", MX, vec![A, AAAA]),
        ("blog.example.com.", CNAME, vec![]), // answered, not denied: checked below
        ("www.example.com.", TXT, vec![A, AAAA]),
        ("x.cdn.example.com.", MX, vec![A, AAAA]),
        ("_udp.example.com.", SRV, vec![]), // an empty non-terminal
        ("example.com.", DS, vec![NS, SOA, MX, TXT, CAA]),
    ] {
        let what = format!("{name} {qtype}");
        let m = ask(&snap, name, qtype, DO);
        assert_eq!(m.response_code, ResponseCode::NoError, "{what}");
        verify(&m, &dnskeys, &what);
        if qtype == CNAME {
            assert_eq!(m.answers.len(), 2, "CNAME and its RRSIG: {m}");
            continue;
        }
        assert!(m.answers.is_empty(), "{what}");
        let mut want = types.clone();
        want.extend([RRSIG, NSEC]);
        let (owner, next, bitmap) = nsec(&m);
        assert_eq!(owner, name, "{what}");
        assert_eq!(next, format!("\\000.{name}"), "{what}");
        assert_eq!(bitmap, sorted(want), "{what}");
    }
}

#[test]
fn referrals_carry_the_nsec_proving_no_ds_and_unsigned_glue() {
    use RecordType::*;
    let (snap, dnskeys) = signed(ksk_zsk());
    let m = ask(&snap, "host.lab.example.com.", A, DO);
    assert!(!m.authoritative);
    let (answer, authority) = verify(&m, &dnskeys, "referral");
    assert!(answer.is_empty());
    // NS is not signed by the parent; verify() insists on an RRSIG for every RRset, so
    // check the NSEC and its signature by hand here.
    assert!(authority.contains(&set("lab.example.com.", NSEC)), "{m}");
    let (owner, _, bitmap) = nsec(&m);
    assert_eq!(owner, "lab.example.com.");
    assert_eq!(bitmap, sorted(vec![NS, RRSIG, NSEC]));
    assert!(m
        .additionals
        .iter()
        .any(|r| r.name.to_string() == "ns1.lab.example.com."));
    // DS asked at the cut: answered by the parent, denied with the same NSEC.
    let m = ask(&snap, "lab.example.com.", DS, DO);
    assert!(m.authoritative);
    assert_eq!(nsec(&m).2, sorted(vec![NS, RRSIG, NSEC]));
}

#[test]
fn answers_without_do_are_byte_for_byte_those_of_the_unsigned_zone() {
    let plain = example();
    let (snap, _) = signed(ksk_zsk());
    let names = [
        "example.com.",
        "www.example.com.",
        "x.cdn.example.com.",
        "a.b.apps.example.com.",
        "status.apps.example.com.",
        "docs.example.com.",
        "host.lab.example.com.",
        "lab.example.com.",
        "nope.example.com.",
        "_udp.example.com.",
        "long.example.com.",
        "nope.other.org.",
    ];
    // Every type gslbd serves, and some it does not; DNSKEY-family types are left out:
    // a signed zone does have DNSKEYs.
    let types = [1u16, 2, 5, 6, 12, 15, 16, 28, 33, 43, 46, 47, 255, 257];
    let mut compared = 0;
    for name in names {
        for qtype in types {
            for flags in [None, Some(0), Some(0x4000)] {
                let packet = query(name, qtype, flags, 1232);
                for rotation in [1, 2, 3] {
                    let (a, _) = ask_raw(&plain, &mut SigCache::default(), &packet, rotation);
                    let (b, o) = ask_raw(&snap, &mut SigCache::default(), &packet, rotation);
                    assert_eq!(a, b, "{name} type {qtype} flags {flags:?}");
                    assert_eq!(o.signatures_made + o.signatures_cached, 0);
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, names.len() * types.len() * 9);
}

#[test]
fn equal_rrsets_are_signed_once_whatever_the_rotation() {
    let (snap, _) = signed(ksk_zsk());
    let mut sigs = SigCache::default();
    let (mut made, mut cached) = (0, 0);
    let mut first_answers = std::collections::BTreeSet::new();
    for rotation in 0..50u64 {
        for (name, qtype) in [
            ("www.example.com.", 1),
            ("static.example.com.", 1),
            ("nope.example.com.", 1),
        ] {
            let packet = query(name, qtype, DO, 1232);
            let (out, o) = ask_raw(&snap, &mut sigs, &packet, rotation);
            made += o.signatures_made;
            cached += o.signatures_cached;
            if name.starts_with("www") {
                let m = Message::from_vec(&out).unwrap();
                let order: Vec<String> = m
                    .answers
                    .iter()
                    .filter(|r| r.record_type() == RecordType::A)
                    .map(|r| r.data.to_string())
                    .collect();
                first_answers.insert(order);
            }
        }
    }
    assert!(
        first_answers.len() > 1,
        "the GSLB answer rotates: {first_answers:?}"
    );
    // www A, static A, and for the denial SOA + NSEC: four signatures in all.
    assert_eq!(made, 4, "signed once each");
    assert_eq!(cached, 50 * 4 - 4);
}

#[test]
fn signed_answers_too_big_for_the_client_are_minimal_tc_and_whole_over_tcp() {
    // Mid-rollover: two ZSKs sign every RRset, so the long TXT with its two RRSIGs
    // exceeds 512 bytes.
    let mut keys = ksk_zsk();
    keys.push(Key::generate(Algorithm::EcdsaP256Sha256, FLAGS_ZSK).unwrap());
    let (snap, dnskeys) = signed(keys);
    let packet = query("long.example.com.", 16, DO, 512);
    let (out, o) = ask_raw(&snap, &mut SigCache::default(), &packet, 1);
    assert!(o.truncated);
    let m = Message::from_vec(&out).unwrap();
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    assert_eq!(
        m.additionals.len(),
        0,
        "only the OPT, which hickory keeps apart"
    );
    assert!(m.edns.is_some());
    // The same over TCP: whole and valid.
    let health = HealthView::all_up();
    let edns = EdnsConfig::default();
    let mut sigs = SigCache::default();
    let mut ctx = Context {
        snapshot: &snap,
        health: &health,
        rotation: 1,
        trace: None,
        edns: &edns,
        now: NOW,
        sigs: &mut sigs,
    };
    let mut out = Vec::new();
    handle(
        &mut ctx,
        &packet,
        "192.0.2.1".parse().unwrap(),
        Transport::Tcp,
        &mut out,
    )
    .unwrap();
    let m = Message::from_vec(&out).unwrap();
    assert!(!m.metadata.truncation);
    assert!(out.len() > 512);
    verify(&m, &dnskeys, "long TXT over TCP");
    let rrsigs = m
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG);
    assert_eq!(rrsigs.count(), 2, "one RRSIG per ZSK");
}

#[test]
fn referrals_to_a_signed_child_carry_its_signed_ds() {
    use RecordType::{A, DS};
    let z = common::Zones::new();
    z.zone(
        "example.net.",
        serde_json::json!({
            "secure": { "NS": ["ns.secure.example.net."],
                        "DS": [{ "key_tag": 2371, "algorithm": 13, "digest_type": 2,
                                 "digest": "1F987CC6583E92DF0890718C42D1CB0EBF7E6C2D7F5D6A2F5E4B1A5D7C3E2B1A" }] },
            "ns.secure": { "A": ["192.0.2.90"] },
        }),
    );
    let mut snap = config::load(&Paths {
        zones: z.zones_dir().to_path_buf(),
        geo: z.geo_dir().to_path_buf(),
    })
    .expect("the fixture loads");
    let keys = ksk_zsk();
    let dnskeys: Vec<DNSKEY> = keys.iter().map(dnskey).collect();
    snap.zones[0].dnssec = Some(Box::new(ZoneKeys {
        keys: keys.into_iter().map(Arc::new).collect(),
    }));
    let m = ask(&snap, "www.secure.example.net.", A, DO);
    assert!(!m.authoritative);
    let (_, authority) = verify(&m, &dnskeys, "secure referral");
    assert_eq!(
        authority,
        [set("secure.example.net.", DS)],
        "DS, signed; no NSEC"
    );
    assert!(
        m.additionals.iter().any(|r| r.record_type() == A),
        "glue: {m}"
    );
    let m = ask(&snap, "secure.example.net.", DS, DO);
    assert!(m.authoritative);
    let (answer, _) = verify(&m, &dnskeys, "DS at the cut");
    assert_eq!(answer, [set("secure.example.net.", DS)]);
}
