//! Criterion benchmarks of the query path: region lookup (a 150k-prefix table, the MaxMind
//! databases, and the region map flattened over all three), `select()`, and one query end to
//! end in-process (parse → select → encode) at an exact name, at a name made up by a
//! wildcard, and below a zone cut (a referral: one name server with glue, one out of the zone).
//!
//! The same with DNSSEC: signed answers at steady state (signatures from the cache) and the
//! cost of making one signature.
//!
//! `cargo bench --bench hot_path`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};

use gslbd::config::{self, Paths};
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::dnssec::key::{FLAGS_KSK, FLAGS_ZSK};
use gslbd::dnssec::{Algorithm, Key, ZoneKeys};
use gslbd::health::HealthView;
use gslbd::select::select;
use gslbd::snapshot::Snapshot;

const PREFIXES: u32 = 150_000;

/// xorshift64*: deterministic addresses without a dependency.
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A configuration with a 150k-line carrier list, the MaxMind test City and ASN databases and
/// one GSLB record using all of them.
fn snapshot(dir: &Path) -> Snapshot {
    let geo = dir.join("geo");
    let zones = dir.join("zones");
    std::fs::create_dir_all(geo.join("lists")).unwrap();
    std::fs::create_dir_all(&zones).unwrap();
    let mut next = rng(7);
    let mut list = String::new();
    for _ in 0..PREFIXES {
        let a = (next() as u32) & 0xffff_ff00;
        list.push_str(&format!("{}/24\n", Ipv4Addr::from(a)));
    }
    std::fs::write(geo.join("lists/carrier.txt"), list).unwrap();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("geo/testdata");
    let regions = serde_json::json!({
        "version": 1,
        "databases": {
            "location": testdata.join("GeoLite2-City-Test.mmdb"),
            "asn": testdata.join("GeoLite2-ASN-Test.mmdb"),
        },
        "regions": {
            "carrier": [ { "networks_file": "lists/carrier.txt" } ],
            "cn-telecom": [ { "asns": [4134] } ],
            "us-west": [ { "subdivisions": ["US-CA", "US-WA"] } ],
            "europe": [ { "continents": ["EU"] } ],
        }
    });
    std::fs::write(geo.join("regions.json"), regions.to_string()).unwrap();
    let zone = serde_json::json!({
        "version": 1, "origin": "example.test.",
        "soa": { "mname": "ns1.example.test.", "rname": "h.example.test.", "serial": 1,
                 "refresh": 1, "retry": 1, "expire": 1, "minimum": 60 },
        "records": { "@": { "NS": ["ns1.example.test."] }, "ns1": { "A": ["192.0.2.53"] },
                     "www": { "gslb": "web" }, "static": { "A": ["192.0.2.1"] },
                     "*.wild": { "A": ["192.0.2.1"] }, "*.cdn": { "gslb": "web" },
                     "sub": { "NS": ["ns1.sub.example.test.", "ns.other.test."] },
                     "ns1.sub": { "A": ["192.0.2.54"] } },
        "gslb": { "web": { "max_answers": 2, "pools": {
            "carrier": { "targets": ["203.0.113.1", "203.0.113.2"], "fallback": ["cn-telecom"] },
            "cn-telecom": { "targets": ["203.0.113.3"] },
            "us-west": { "targets": ["198.51.100.1", "198.51.100.2"] },
            "europe": { "targets": ["198.51.100.3", "198.51.100.4", "2001:db8::3"] },
            "default": { "targets": ["192.0.2.10", "192.0.2.11", "2001:db8::10"] } } } }
    });
    std::fs::write(zones.join("example.test.json"), zone.to_string()).unwrap();
    config::load(&Paths { zones, geo }).unwrap_or_else(|p| panic!("{p}"))
}

fn query(name: &[u8], ecs: Option<[u8; 3]>) -> Vec<u8> {
    query_flags(name, ecs, 0)
}

/// A query with DO set (and so DNSSEC records in the answer of a signed zone).
fn query_do(name: &[u8], ecs: Option<[u8; 3]>) -> Vec<u8> {
    query_flags(name, ecs, 0x8000)
}

fn query_flags(name: &[u8], ecs: Option<[u8; 3]>, flags: u16) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    p.extend_from_slice(name);
    p.extend_from_slice(&[0, 1, 0, 1]);
    let opt: Vec<u8> = match ecs {
        Some(a) => [&[0, 8, 0, 7, 0, 1, 24, 0][..], &a[..]].concat(),
        None => vec![],
    };
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0]);
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&(opt.len() as u16).to_be_bytes());
    p.extend_from_slice(&opt);
    p
}

fn clients(n: usize) -> Vec<IpAddr> {
    let mut next = rng(99);
    (0..n)
        .map(|_| IpAddr::V4(Ipv4Addr::from(next() as u32)))
        .collect()
}

fn benches(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("gslbd-bench-{}", std::process::id()));
    let snap = snapshot(&dir);
    // The same configuration signed by a KSK and a ZSK (ECDSA P-256).
    let mut signed = snapshot(&dir.join("signed"));
    signed.zones[0].dnssec = Some(Box::new(ZoneKeys {
        keys: [FLAGS_KSK, FLAGS_ZSK]
            .into_iter()
            .map(|f| Arc::new(Key::generate(Algorithm::EcdsaP256Sha256, f).unwrap()))
            .collect(),
    }));
    let health = HealthView::all_up();
    let addrs = clients(4096);
    let rec = &snap.gslb.records[0];

    let mut g = c.benchmark_group("region_lookup");
    let mut i = 0;
    g.bench_function("prefix_table_150k", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(snap.geo.networks.lookup(addrs[i]).scope)
        })
    });
    let loc = snap.geo.location.as_ref().unwrap();
    g.bench_function("location_db", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(loc.lookup(addrs[i]).prefix_len)
        })
    });
    let asn = snap.geo.asn.as_ref().unwrap();
    g.bench_function("asn_db", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(asn.lookup(addrs[i]).prefix_len)
        })
    });
    // What a GSLB query actually does: one lookup in the region map flattened over the list
    // and both databases.
    let classes = snap.geo.class_table(rec.needs).unwrap();
    g.bench_function("class_table_list_and_both_dbs", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(classes.lookup(addrs[i]).1)
        })
    });
    g.finish();

    c.bench_function("select", |b| {
        let mut r = 0u64;
        b.iter(|| {
            r += 1;
            let a = addrs[(r as usize) % addrs.len()];
            black_box(select(&snap, &health, rec, a, 1, r, None).scope)
        })
    });

    let mut g = c.benchmark_group("query_end_to_end");
    let static_q = query(b"\x06static\x07example\x04test\x00", None);
    let geo_qs: Vec<Vec<u8>> = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V4(v) => {
                let o = v.octets();
                query(b"\x03www\x07example\x04test\x00", Some([o[0], o[1], o[2]]))
            }
            IpAddr::V6(_) => unreachable!(),
        })
        .collect();
    let wild_qs: Vec<Vec<u8>> = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V4(v) => {
                let o = v.octets();
                query(
                    b"\x04edge\x03cdn\x07example\x04test\x00",
                    Some([o[0], o[1], o[2]]),
                )
            }
            IpAddr::V6(_) => unreachable!(),
        })
        .collect();
    let wild_static_q = query(b"\x04host\x04wild\x07example\x04test\x00", None);
    let referral_q = query(b"\x03www\x03sub\x07example\x04test\x00", None);
    let src: IpAddr = "127.0.0.1".parse().unwrap();
    let mut out = Vec::with_capacity(1232);
    let mut r = 0u64;
    let edns = gslbd::dns::edns::EdnsConfig::default();
    let mut sigs = gslbd::dnssec::SigCache::default();
    let mut one = |b: &mut criterion::Bencher<'_>, qs: &[Vec<u8>], snap: &Snapshot| {
        b.iter(|| {
            r += 1;
            let q = &qs[(r as usize) % qs.len()];
            let mut ctx = Context {
                snapshot: snap,
                health: &health,
                rotation: r,
                trace: None,
                edns: &edns,
                now: 1_700_000_000,
                sigs: &mut sigs,
            };
            black_box(handle(&mut ctx, q, src, Transport::Udp, &mut out))
        })
    };
    let static_qs = [static_q];
    g.bench_function("static", |b| one(b, &static_qs, &snap));
    g.bench_function("static_wildcard", |b| {
        one(b, std::slice::from_ref(&wild_static_q), &snap)
    });
    g.bench_function("referral", |b| {
        one(b, std::slice::from_ref(&referral_q), &snap)
    });
    g.bench_function("gslb_ecs", |b| one(b, &geo_qs, &snap));
    // The same queries with response rate limiting on and nobody limited (the rate above
    // anything one client sends): the UDP thread's extra work per response.
    let rrl = gslbd::dns::rrl::Rrl::new(gslbd::dns::rrl::RrlConfig {
        rate: 1_000_000,
        ..Default::default()
    });
    let mut slip = gslbd::dns::rrl::SlipCounter::default();
    let (mut r2, mut out2, mut sigs2) = (
        0u64,
        Vec::with_capacity(1232),
        gslbd::dnssec::SigCache::default(),
    );
    let mut limited = |b: &mut criterion::Bencher<'_>, qs: &[Vec<u8>], snap: &Snapshot| {
        b.iter(|| {
            r2 += 1;
            let q = &qs[(r2 as usize) % qs.len()];
            let mut ctx = Context {
                snapshot: snap,
                health: &health,
                rotation: r2,
                trace: None,
                edns: &edns,
                now: 1_700_000_000,
                sigs: &mut sigs2,
            };
            let o = handle(&mut ctx, q, src, Transport::Udp, &mut out2);
            if let Some(o) = &o {
                black_box(rrl.check(o, q, src, 1_700_000_000, &mut slip));
            }
            black_box(o)
        })
    };
    g.bench_function("static_rrl", |b| limited(b, &static_qs, &snap));
    g.bench_function("gslb_ecs_rrl", |b| limited(b, &geo_qs, &snap));
    g.bench_function("gslb_ecs_wildcard", |b| one(b, &wild_qs, &snap));
    // Signed answers at steady state (every signature in the cache): DO set, the same
    // queries; and for comparison the unsigned zone asked with DO.
    let geo_do: Vec<Vec<u8>> = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V4(v) => {
                let o = v.octets();
                query_do(b"\x03www\x07example\x04test\x00", Some([o[0], o[1], o[2]]))
            }
            IpAddr::V6(_) => unreachable!(),
        })
        .collect();
    let static_do = [query_do(b"\x06static\x07example\x04test\x00", None)];
    let nx_do = [query_do(b"\x02nx\x07example\x04test\x00", None)];
    g.bench_function("gslb_ecs_do_unsigned", |b| one(b, &geo_do, &snap));
    g.bench_function("gslb_ecs_signed", |b| one(b, &geo_do, &signed));
    g.bench_function("static_signed", |b| one(b, &static_do, &signed));
    g.bench_function("nxdomain_signed", |b| one(b, &nx_do, &signed));
    g.finish();

    // What a signature costs when the cache does not have it (a miss).
    let mut g = c.benchmark_group("dnssec_sign");
    let data = [0x5au8; 120];
    for (name, alg) in [
        ("ecdsa_p256", Algorithm::EcdsaP256Sha256),
        ("ed25519", Algorithm::Ed25519),
    ] {
        let key = Key::generate(alg, FLAGS_ZSK).unwrap();
        g.bench_function(name, |b| b.iter(|| black_box(key.sign(black_box(&data)))));
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(hot_path, benches);
criterion_main!(hot_path);
