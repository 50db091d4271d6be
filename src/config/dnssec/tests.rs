//! Signed zones as the loader compiles them: the apex RRsets, the key set's rules, and every
//! problem at `dnssec.keys[i]` naming the key file.

use std::path::Path;
use std::time::SystemTime;

use serde_json::json;

use super::super::{load, Paths};
use crate::dns::name::WireName;
use crate::dnssec::keygen::{base_name, write_pair};
use crate::dnssec::{ds, Algorithm, Key, TYPE_CDNSKEY, TYPE_CDS, TYPE_DNSKEY};
use crate::snapshot::{Node, Snapshot};

fn origin() -> WireName {
    WireName::parse("example.com.", None).unwrap()
}

/// Makes a key for example.com. and writes its pair into `dir`; returns its base name.
fn key(dir: &Path, alg: Algorithm, ksk: bool) -> (String, Key) {
    let key = Key::generate(alg, if ksk { 257 } else { 256 }).unwrap();
    let base = base_name(&origin(), &key);
    write_pair(dir, &origin(), &key, &base, SystemTime::now()).unwrap();
    (base, key)
}

/// Writes `zones/example.com.json` (TTL 600) with `dnssec` and `apex` as the apex's data.
fn zone(dir: &Path, dnssec: serde_json::Value, apex: serde_json::Value) {
    let mut apex = apex;
    apex["NS"] = json!(["ns1.example.com."]);
    let z = json!({
        "version": 1, "origin": "example.com.", "ttl": 600,
        "soa": { "mname": "ns1.example.com.", "rname": "h.example.com.", "serial": 7,
                 "refresh": 1, "retry": 1, "expire": 1, "minimum": 60 },
        "records": { "@": apex, "ns1": { "A": ["192.0.2.1"] } },
        "dnssec": dnssec,
    });
    std::fs::write(dir.join("example.com.json"), z.to_string()).unwrap();
}

fn paths(dir: &Path) -> Paths {
    Paths {
        zones: dir.to_path_buf(),
        geo: dir.join("no-geo"),
    }
}

/// Loads the configuration in `dir`, which must be valid, and checks its zone file against
/// the schema.
fn load_ok(dir: &Path) -> Snapshot {
    let snapshot = load(&paths(dir)).unwrap_or_else(|p| panic!("{p}"));
    crate::config::testing::assert_files_match_schema(&paths(dir));
    snapshot
}

fn problems(dir: &Path) -> String {
    load(&paths(dir)).unwrap_err().to_string()
}

/// (type, TTL, RDATA of each record) of the apex's RRsets, in their stored order.
fn apex(snap: &Snapshot) -> Vec<(u16, u32, Vec<Vec<u8>>)> {
    let zone = &snap.zones[0];
    let Some(Node::Static(sets)) = zone.nodes.get(&origin()) else {
        panic!("the apex is not static");
    };
    sets.iter()
        .map(|s| {
            let ttl = s.records[0].ttl();
            (
                s.rtype,
                ttl,
                s.records.iter().map(|r| r.rdata().to_vec()).collect(),
            )
        })
        .collect()
}

/// A KSK and a ZSK: DNSKEY holds both, CDS and CDNSKEY the KSK only, all with the zone's TTL
/// (the SOA's), the apex RRsets still sorted by type; the zone holds the keys as listed.
#[test]
fn a_signed_zone_publishes_its_keys_at_the_apex() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ksk_name, ksk) = key(d, Algorithm::EcdsaP256Sha256, true);
    let (zsk_name, zsk) = key(d, Algorithm::EcdsaP256Sha256, false);
    zone(
        d,
        json!({ "keys": [zsk_name, ksk_name] }),
        json!({ "TXT": ["x"], "ttl": 86400 }),
    );
    let snap = load_ok(d);
    let sets = apex(&snap);
    let types: Vec<u16> = sets.iter().map(|s| s.0).collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    assert_eq!(types, sorted);
    let get = |t: u16| sets.iter().find(|s| s.0 == t).unwrap().clone();
    assert_eq!(
        get(TYPE_DNSKEY),
        (
            TYPE_DNSKEY,
            600,
            vec![zsk.dnskey.clone(), ksk.dnskey.clone()]
        )
    );
    assert_eq!(
        get(TYPE_CDS),
        (
            TYPE_CDS,
            600,
            vec![ds::rdata(origin().as_bytes(), &ksk.dnskey)]
        )
    );
    assert_eq!(
        get(TYPE_CDNSKEY),
        (TYPE_CDNSKEY, 600, vec![ksk.dnskey.clone()])
    );
    // The apex's own TTL still holds for its own records.
    assert_eq!(get(16).1, 86400);
    let keys = snap.zones[0].dnssec.as_ref().expect("signed");
    let tags: Vec<u16> = keys.keys.iter().map(|k| k.tag).collect();
    assert_eq!(tags, [zsk.tag, ksk.tag]);
    assert_eq!(
        snap.zones[0].signing(),
        format!(
            ", signed with 2 keys: ZSK {} alg 13, KSK {} alg 13",
            zsk.tag, ksk.tag
        )
    );
}

/// Key files are read at every load: replacing a listed pair changes what is published.
#[test]
fn every_load_reads_the_key_files_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (name, first) = key(d, Algorithm::Ed25519, true);
    zone(d, json!({ "keys": [name] }), json!({}));
    let before = load_ok(d);
    let dnskeys = |snap: &Snapshot| {
        apex(snap)
            .into_iter()
            .find(|s| s.0 == TYPE_DNSKEY)
            .unwrap()
            .2
    };
    assert_eq!(dnskeys(&before), [first.dnskey]);
    let second = Key::generate(Algorithm::Ed25519, 257).unwrap();
    for ext in [".key", ".private"] {
        std::fs::remove_file(d.join(format!("{name}{ext}"))).unwrap();
    }
    write_pair(d, &origin(), &second, &name, SystemTime::now()).unwrap();
    let after = load_ok(d);
    assert_eq!(dnskeys(&after), [second.dnskey]);
}

#[test]
fn key_set_mistakes_are_problems_at_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ksk, _) = key(d, Algorithm::EcdsaP256Sha256, true);
    let (zsk, _) = key(d, Algorithm::EcdsaP256Sha256, false);
    let (ed_zsk, _) = key(d, Algorithm::Ed25519, false);
    let (ed_ksk, _) = key(d, Algorithm::Ed25519, true);
    let f = "example.com.json";
    for (keys, want) in [
        (json!([zsk]), vec!["dnssec.keys: no KSK (flags 257)"]),
        (json!([]), vec!["dnssec.keys: no keys"]),
        (
            json!([ksk, zsk, ksk]),
            vec![&format!("dnssec.keys[2]: `{ksk}` is the key of dnssec.keys[0] again")[..]],
        ),
        (
            json!([format!("{ksk}.key")]),
            vec![&format!("dnssec.keys[0]: `{ksk}.key`: list the base name, `{ksk}`")[..]],
        ),
        (
            json!([ksk, "Kexample.com.+013+00000"]),
            vec![
                "dnssec.keys[1]: ",
                "Kexample.com.+013+00000.key: does not exist",
            ],
        ),
        // Algorithm 15 would sign nothing of the DNSKEY RRset.
        (
            json!([ksk, ed_zsk]),
            vec![
                "dnssec.keys: no KSK of algorithm 15",
                "dnssec.keys: no ZSK of algorithm 13",
            ],
        ),
        (json!([ksk, zsk, ed_ksk]), vec!["no ZSK of algorithm 15"]),
    ] {
        zone(d, json!({ "keys": keys }), json!({}));
        let p = problems(d);
        for w in &want {
            assert!(p.contains(f) && p.contains(w), "{keys}: {p}\nlacks {w}");
        }
    }
    // A double-algorithm set with both roles in each is fine (an algorithm rollover).
    zone(d, json!({ "keys": [ksk, zsk, ed_ksk, ed_zsk] }), json!({}));
    load_ok(d);
    // So is a lone KSK of each (two CSKs).
    zone(d, json!({ "keys": [ksk, ed_ksk] }), json!({}));
    load_ok(d);
}

/// DNSKEY, CDS and CDNSKEY come from `dnssec.keys` only: the records cannot list them.
#[test]
fn records_cannot_hold_dnskeys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ksk, _) = key(d, Algorithm::EcdsaP256Sha256, true);
    for t in ["DNSKEY", "CDS", "CDNSKEY"] {
        zone(d, json!({ "keys": [ksk] }), json!({ t: ["257 3 13 AAAA"] }));
        let p = problems(d);
        assert!(p.contains(&format!("unknown field `{t}`")), "{p}");
    }
}
