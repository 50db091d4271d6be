//! The valid files the schema-versus-loader property test starts from, and loading a
//! (mutated) one with the library's loader.

use std::path::PathBuf;

use gslbd::config::schema::SchemaFile;
use gslbd::config::{load, Paths};
use serde_json::{json, Value};

use super::common::*;
use super::{read_json, repo};

/// A valid file the mutations start from, and the directory set it is loaded in.
pub struct Seed {
    pub what: &'static str,
    pub file: SchemaFile,
    pub doc: Value,
    /// For a zone: the file name it is written under.
    pub name: String,
}

/// The `databases` of the shipped example, by absolute path (so a regions file loads from
/// any directory).
fn test_databases() -> Value {
    let testdata = example_geo().join("testdata");
    json!({
        "location": testdata.join("GeoLite2-City-Test.mmdb"),
        "asn": testdata.join("GeoLite2-ASN-Test.mmdb"),
    })
}

/// The shipped examples, the reference zones, and two files that use every key the
/// examples leave out (checks of each type with every field, DS, PTR, TXT as strings,
/// per-type TTLs, weights, policies, CNAME pools, nearest; every kind of region rule).
pub fn seeds() -> Vec<Seed> {
    let zone = |what, path: PathBuf| Seed {
        what,
        file: SchemaFile::Zone,
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        doc: read_json(&path),
    };
    let mut regions = read_json(&example_geo().join("regions.json"));
    regions["databases"] = test_databases();
    regions["regions"]["cn-telecom"][0]["networks_file"] =
        json!(example_geo().join("lists/chinanet.txt"));
    let mut every_zone: Value = serde_json::from_str(&zone_json(
        "every.test.",
        300,
        60,
        json!({
            "@": { "NS": ["ns1", "ns2.every.test."], "TXT": [["v=spf1", " -all"], "plain"],
                   "CAA": [ { "flags": 128, "tag": "issue", "value": "ca.example" } ],
                   "ttls": { "NS": 86400 } },
            "ns1": { "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] },
            "ns2": { "A": ["192.0.2.54"] },
            "1.2": { "PTR": ["host.every.test."], "ttl": 60 },
            "child": { "NS": ["ns.child"], "DS": [ { "key_tag": 12345, "algorithm": 13,
                       "digest_type": 2,
                       "digest": "2BB183AF5F22588179A53B0A98631FAD1A292118A6D6A2A5A4B2A0F4E5B3C1D0" } ] },
            "ns.child": { "A": ["192.0.2.55"] },
            "srv": { "SRV": [ { "priority": 1, "weight": 2, "port": 443, "target": "www" } ],
                     "MX": [ { "preference": 5, "exchange": "ns1" } ] },
            "alias": { "CNAME": "www" },
            "www": { "gslb": "web" },
            "near": { "gslb": "near" },
        }),
    ))
    .unwrap();
    every_zone["$schema"] = json!("../schema/zone.schema.json");
    every_zone["dnssec"] = Value::Null;
    every_zone["checks"] = json!({
        "h": { "type": "http", "port": 80, "path": "/healthz", "host": "www.every.test",
               "expect": [200, 204], "body_contains": "ok", "interval": 5, "timeout": 0.5,
               "rise": 1, "fall": 2 },
        "s": { "type": "https", "port": 443, "insecure": true },
        "t": { "type": "tcp", "port": 22, "interval": 86400, "timeout": 3 },
    });
    every_zone["gslb"] = json!({
        "web": { "ttl": 30, "ttl_degraded": 10, "policy": "weighted", "max_answers": 2,
                 "check": "h", "all_down": "nodata", "pools": {
            "europe": { "targets": [ { "address": "198.51.100.1", "weight": 3, "check": "t" },
                                     "2001:db8::1" ], "fallback": ["china"] },
            "china": { "cname": "cdn.example.net." },
            "default": { "targets": [ { "address": "192.0.2.1" } ] } } },
        "near": { "nearest": true, "policy": "sticky", "pools": {
            "ams": { "coordinates": [52.37, 4.9], "targets": ["198.51.100.40"] },
            "syd": { "coordinates": [-90, -180], "targets": ["203.0.113.1"] },
            "default": { "targets": ["192.0.2.30"], "coordinates": null } } },
    });
    let list = example_geo().join("lists/chinanet.txt");
    let every_regions = json!({
        "$schema": "../schema/regions.schema.json",
        "version": 1,
        "databases": test_databases(),
        "regions": {
            "nets": [ { "networks": ["10.0.0.0/8", "fd00::/8", "192.0.2.1", "::ffff:0:0/96"] },
                      { "networks_file": list } ],
            "isp": [ { "asns": [4134], "isps": ["China Telecom"] } ],
            "place": [ { "countries": ["cn", "US"], "asns": [4837] },
                       { "subdivisions": ["CN-GD", "gb-eng", "FR-75"] } ],
            "far": [ { "continents": ["EU", "oc", "An"] } ],
        },
    });
    vec![
        zone(
            "zones/example.com.json",
            example_zones().join("example.com.json"),
        ),
        zone(
            "tests/reference/zones/big.test.json",
            repo().join("tests/reference/zones/big.test.json"),
        ),
        Seed {
            what: "a zone with every key",
            file: SchemaFile::Zone,
            doc: every_zone,
            name: "every.test.json".into(),
        },
        Seed {
            what: "geo/regions.json",
            file: SchemaFile::Regions,
            doc: regions,
            name: String::new(),
        },
        Seed {
            what: "regions with every condition",
            file: SchemaFile::Regions,
            doc: every_regions,
            name: String::new(),
        },
    ]
}

/// Loads `doc` with the library's loader (what `gslbd check` runs): a zone together with
/// the shipped regions, a regions file alone.
pub fn loader_accepts(seed: &Seed, doc: &Value) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    let mut geo = dir.path().join("geo");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::create_dir_all(&geo).unwrap();
    match seed.file {
        SchemaFile::Zone => {
            std::fs::write(zones.join(&seed.name), doc.to_string()).unwrap();
            geo = example_geo();
        }
        SchemaFile::Regions => {
            std::fs::write(geo.join("regions.json"), doc.to_string()).unwrap();
        }
    }
    load(&Paths { zones, geo })
        .map(drop)
        .map_err(|p| p.to_string())
}
