//! RRSIGs checked by an independent implementation: hickory-proto rebuilds the signed data
//! from the records itself (its own canonical form and order) and verifies our signature.

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, RRSIG};
use hickory_proto::dnssec::Verifier;
use hickory_proto::rr::{DNSClass, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::*;
use crate::dns::name::WireName;
use crate::dns::rr::RrTail;
use crate::dnssec::key::{Algorithm, FLAGS_ZSK};

fn record(owner: &[u8], tail: &[u8]) -> Record {
    let wire = [owner, tail].concat();
    Record::read(&mut BinDecoder::new(&wire)).expect("a well-formed record")
}

fn dnskey(key: &Key, owner: &[u8]) -> DNSKEY {
    let tail = RrTail::new(48, 3600, &key.dnskey);
    match record(owner, &tail.0).data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k,
        other => panic!("not a DNSKEY: {other:?}"),
    }
}

fn rrsig(owner: &[u8], tail: &[u8]) -> RRSIG {
    match record(owner, tail).data {
        RData::DNSSEC(DNSSECRData::RRSIG(s)) => s,
        other => panic!("not an RRSIG: {other:?}"),
    }
}

/// Signs `rdatas` (in the given order, duplicates allowed) and returns whether hickory
/// verifies the RRSIG over `check` (the records a validator would see).
fn sign_and_verify(alg: Algorithm, owner: &str, rdatas: &[&[u8]], check: &[&[u8]]) -> bool {
    let key = Key::generate(alg, FLAGS_ZSK).unwrap();
    let zone = WireName::parse("example.com.", None).unwrap();
    let owner = WireName::parse(owner, None).unwrap();
    let mut sorted = rdatas.to_vec();
    let n = canonical_order(&mut sorted);
    let set = RrsetToSign {
        owner: owner.as_bytes(),
        rtype: 1,
        ttl: 300,
        rdatas: &sorted[..n],
    };
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    append_rrsig(
        &mut out,
        &mut scratch,
        &set,
        &key,
        zone.as_bytes(),
        1_800_000_000,
    );
    assert_eq!(out.len(), tail_len(zone.as_bytes()));
    let sig = rrsig(owner.as_bytes(), &out);
    let input = sig.input();
    assert_eq!(input.key_tag, key.tag);
    assert_eq!(input.num_labels, labels(owner.as_bytes()));
    assert_eq!(input.original_ttl, 300);
    assert_eq!(input.sig_inception.get(), 1_800_000_000 - INCEPTION_BEFORE);
    assert_eq!(input.sig_expiration.get(), 1_800_000_000 + VALIDITY);
    // hickory sorts the records itself: hand them over in reverse.
    let records: Vec<Record> = check
        .iter()
        .rev()
        .map(|r| record(owner.as_bytes(), &RrTail::new(1, 300, r).0))
        .collect();
    let name = records[0].name.clone();
    dnskey(&key, zone.as_bytes())
        .verify_rrsig(&name, DNSClass::IN, &sig, records.iter())
        .is_ok()
}

#[test]
fn rrsigs_of_both_algorithms_verify_in_hickory() {
    let (a, b, c): (&[u8], &[u8], &[u8]) = (&[192, 0, 2, 3], &[192, 0, 2, 1], &[10, 0, 0, 9]);
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        // Rotation order and a repeated address do not change what is signed.
        assert!(sign_and_verify(
            alg,
            "www.example.com.",
            &[a, b, c, b],
            &[a, b, c]
        ));
        assert!(sign_and_verify(alg, "example.com.", &[c, a, b], &[b, c, a]));
        // A record the signature does not cover makes it fail: the check can fail.
        assert!(!sign_and_verify(
            alg,
            "www.example.com.",
            &[a, b],
            &[a, b, c]
        ));
    }
}

#[test]
fn labels_skip_the_root_and_a_leading_wildcard() {
    let n = |s: &str| labels(WireName::parse(s, None).unwrap().as_bytes());
    assert_eq!(n("."), 0);
    assert_eq!(n("example.com."), 2);
    assert_eq!(n("a.b.example.com."), 4);
    assert_eq!(n("*.cdn.example.com."), 3);
}

#[test]
fn canonical_order_sorts_as_octet_strings_and_drops_duplicates() {
    let mut v: Vec<&[u8]> = vec![b"\x02ab", b"\x01b", b"\x02ab", b"\x01a\x00", b"\x01a"];
    let n = canonical_order(&mut v);
    assert_eq!(&v[..n], &[&b"\x01a"[..], b"\x01a\x00", b"\x01b", b"\x02ab"]);
}
