//! Criterion benchmark of a full configuration load (what every reload does): a zone of
//! 10,000 names plus a 1,000,000-line carrier list, parsed, validated and compiled.
//!
//! `cargo bench --bench reload`

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use gslbd::config::{self, Paths};

const NAMES: usize = 10_000;
const LIST_LINES: u32 = 1_000_000;

fn write_config(dir: &Path) -> Paths {
    let zones = dir.join("zones");
    let geo = dir.join("geo");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::create_dir_all(geo.join("lists")).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut list = String::with_capacity(LIST_LINES as usize * 18);
    list.push_str("# generated carrier list\n");
    for _ in 0..LIST_LINES {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let a = (seed as u32) & 0xffff_ff00;
        writeln!(list, "{}/24", Ipv4Addr::from(a)).unwrap();
    }
    std::fs::write(geo.join("lists/carrier.txt"), list).unwrap();
    let regions = serde_json::json!({
        "version": 1,
        "regions": { "carrier": [ { "networks_file": "lists/carrier.txt" } ] }
    });
    std::fs::write(geo.join("regions.json"), regions.to_string()).unwrap();
    let mut records = serde_json::Map::new();
    records.insert("@".into(), serde_json::json!({ "NS": ["ns1.big.test."] }));
    records.insert("ns1".into(), serde_json::json!({ "A": ["192.0.2.53"] }));
    for i in 0..NAMES {
        let rec = if i % 10 == 0 {
            serde_json::json!({ "gslb": "web" })
        } else {
            serde_json::json!({ "A": [format!("192.0.2.{}", i % 250 + 1)], "TXT": [format!("host {i}")] })
        };
        records.insert(format!("host{i}.svc"), rec);
    }
    let zone = serde_json::json!({
        "version": 1, "origin": "big.test.",
        "soa": { "mname": "ns1.big.test.", "rname": "h.big.test.", "serial": 1,
                 "refresh": 1, "retry": 1, "expire": 1, "minimum": 60 },
        "records": records,
        "gslb": { "web": { "pools": {
            "carrier": { "targets": ["203.0.113.1", "203.0.113.2"] },
            "default": { "targets": ["192.0.2.10"] } } } }
    });
    std::fs::write(zones.join("big.test.json"), zone.to_string()).unwrap();
    Paths { zones, geo }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("gslbd-reload-bench-{}", std::process::id()));
    let paths = write_config(&dir);
    let mut g = c.benchmark_group("reload");
    g.sample_size(10);
    g.bench_function("10k_names_1m_networks", |b| {
        b.iter(|| config::load(&paths).expect("valid configuration"))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(reload, bench);
criterion_main!(reload);
