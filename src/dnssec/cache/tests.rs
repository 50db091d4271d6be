//! The signature cache: equal RRsets share a signature in any order, different content or
//! keys do not, stale signatures are made anew, and memory stays bounded.

use super::*;
use crate::dns::name::WireName;
use crate::dnssec::key::{Algorithm, FLAGS_ZSK};

const NOW: u32 = 1_800_000_000;

fn sign(cache: &mut SigCache, key: &Key, owner: &str, rdatas: &[&[u8]], now: u32) -> Vec<u8> {
    let zone = WireName::parse("example.com.", None).unwrap();
    let owner = WireName::parse(owner, None).unwrap();
    cache
        .rrsig(
            key,
            zone.as_bytes(),
            RrsetId {
                owner: owner.as_bytes(),
                rtype: 1,
                ttl: 60,
            },
            rdatas.iter().copied(),
            now,
        )
        .to_vec()
}

#[test]
fn equal_rrsets_in_any_order_share_one_signature() {
    let key = Key::generate(Algorithm::EcdsaP256Sha256, FLAGS_ZSK).unwrap();
    let mut c = SigCache::default();
    let (a, b): (&[u8], &[u8]) = (&[192, 0, 2, 1], &[192, 0, 2, 2]);
    let first = sign(&mut c, &key, "www.example.com.", &[a, b], NOW);
    // ECDSA signatures are randomised: equal bytes mean the cached one was used.
    assert_eq!(
        sign(&mut c, &key, "www.example.com.", &[b, a], NOW + 60),
        first
    );
    assert_eq!(
        sign(&mut c, &key, "www.example.com.", &[b, a, b], NOW),
        first
    );
    assert_eq!(c.take_counts(), (1, 2));
    assert_ne!(sign(&mut c, &key, "www.example.com.", &[a], NOW), first);
    assert_ne!(sign(&mut c, &key, "ftp.example.com.", &[a, b], NOW), first);
    let other = Key::generate(Algorithm::EcdsaP256Sha256, FLAGS_ZSK).unwrap();
    assert_ne!(
        sign(&mut c, &other, "www.example.com.", &[a, b], NOW),
        first
    );
    assert_eq!(c.take_counts(), (3, 0));
}

#[test]
fn signatures_are_made_anew_before_their_last_two_days() {
    let key = Key::generate(Algorithm::Ed25519, FLAGS_ZSK).unwrap();
    let mut c = SigCache::default();
    let a: &[u8] = &[192, 0, 2, 1];
    // Ed25519 is deterministic: tell signatures apart by their inception instead.
    let inception = |rrsig: &[u8]| u32::from_be_bytes(rrsig[22..26].try_into().unwrap());
    let first = sign(&mut c, &key, "a.example.com.", &[a], NOW);
    let five_days = 5 * 86400;
    let almost = sign(&mut c, &key, "a.example.com.", &[a], NOW + five_days - 1);
    assert_eq!(inception(&almost), inception(&first));
    let renewed = sign(&mut c, &key, "a.example.com.", &[a], NOW + five_days);
    assert_eq!(inception(&renewed), NOW + five_days - 3600);
    // A clock stepped back before the signature was made: not used either.
    let back = sign(&mut c, &key, "a.example.com.", &[a], NOW - 10);
    assert_eq!(inception(&back), NOW - 10 - 3600);
    assert_eq!(c.take_counts(), (3, 1));
}

#[test]
fn two_generations_bound_memory_and_keep_what_is_used() {
    let key = Key::generate(Algorithm::Ed25519, FLAGS_ZSK).unwrap();
    let mut c = SigCache::new(4);
    let hot: &[u8] = &[10, 0, 0, 1];
    for i in 0..40u8 {
        sign(&mut c, &key, "hot.example.com.", &[hot], NOW);
        sign(&mut c, &key, "cold.example.com.", &[&[10, 1, 0, i]], NOW);
        assert!(c.len() <= 8, "{} entries", c.len());
    }
    let (made, hits) = c.take_counts();
    assert_eq!((made, hits), (41, 39), "the hot RRset was signed once");
}
