//! `gslbd schema zone|regions`: the JSON Schemas of the configuration files, the copies shipped
//! in `schema/`, the examples that name them in `"$schema"`, and the schemas held against the
//! real loader with an independent validator (the `jsonschema` crate): whatever the schema
//! rejects, `gslbd check` rejects too (a property test over mutated valid files), and it
//! accepts every valid file the tests use (see `common/schema.rs` for how those are caught).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gslbd::config::schema::SchemaFile;
use gslbd::config::{load, Paths};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

use common::schema::{assert_valid, errors};
use common::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `schema/zone.schema.json`, `schema/regions.schema.json`: the copies the repository ships.
fn shipped_schema(file: SchemaFile) -> PathBuf {
    repo()
        .join("schema")
        .join(format!("{}.schema.json", file.name()))
}

fn gslbd_schema(file: SchemaFile) -> String {
    let out = Command::new(bin())
        .args(["schema", file.name()])
        .output()
        .expect("run gslbd schema");
    assert!(
        out.status.success(),
        "gslbd schema {} failed: {}",
        file.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn shipped_schema_files_are_what_gslbd_schema_prints() {
    for file in SchemaFile::ALL {
        let path = shipped_schema(file);
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == gslbd_schema(file),
            "{} is not what `gslbd schema {}` prints (the configuration types changed); \
             regenerate it from the repository root with\n  cargo run -- schema {} > {}",
            path.display(),
            file.name(),
            file.name(),
            path.strip_prefix(repo()).unwrap().display()
        );
    }
}

#[test]
fn schemas_are_draft_2020_12_with_a_description_for_every_property() {
    for file in SchemaFile::ALL {
        let schema: Value = serde_json::from_str(&gslbd_schema(file)).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(
            jsonschema::draft202012::meta::is_valid(&schema),
            "{} schema must be a valid draft 2020-12 schema",
            file.name()
        );
        // Editors show descriptions on hover: every property has one, and every object
        // refuses keys it does not list (as the loader does), but the maps of names.
        let mut missing = Vec::new();
        walk_properties(&schema, "#", &mut missing);
        assert!(missing.is_empty(), "{} schema: {missing:?}", file.name());
    }
}

/// Collects the properties without a description and the objects with properties that
/// accept unknown keys.
fn walk_properties(v: &Value, at: &str, missing: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                if map.get("additionalProperties") != Some(&json!(false)) {
                    missing.push(format!("{at}: unknown keys allowed"));
                }
                for (name, prop) in props {
                    if prop.get("description").is_none() {
                        missing.push(format!("{at}/properties/{name}: no description"));
                    }
                }
            }
            for (k, child) in map {
                walk_properties(child, &format!("{at}/{k}"), missing);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_properties(child, &format!("{at}/{i}"), missing);
            }
        }
        _ => {}
    }
}

#[test]
fn shipped_examples_name_the_shipped_schemas_and_validate() {
    for (example, file) in [
        (example_zones().join("example.com.json"), SchemaFile::Zone),
        (example_geo().join("regions.json"), SchemaFile::Regions),
    ] {
        let doc = read_json(&example);
        let named = doc["$schema"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no \"$schema\"", example.display()));
        // Editors resolve a relative "$schema" against the file's directory.
        let resolved = example.parent().unwrap().join(named);
        assert_eq!(
            resolved.canonicalize().ok(),
            shipped_schema(file).canonicalize().ok(),
            "{} names {named}",
            example.display()
        );
        assert_valid(file, &doc, &example.display().to_string());
    }
    let out = check(&example_zones(), &example_geo());
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn test_fixture_files_validate() {
    // Zone files kept as fixtures under tests/ (tests/reference/zones/...). Configurations
    // written by the tests themselves are checked where the binary accepts them.
    let mut found = Vec::new();
    let mut dirs = vec![repo().join("tests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let file = if path.file_name().unwrap() == "regions.json" {
                    SchemaFile::Regions
                } else if path.parent().unwrap().ends_with("zones") {
                    SchemaFile::Zone
                } else {
                    continue;
                };
                assert_valid(file, &read_json(&path), &path.display().to_string());
                found.push(path);
            }
        }
    }
    assert!(found.len() >= 2, "fixtures found: {found:?}");
}

// ---------------------------------------------------------------------------------------------
// "$schema" in the files

/// A zone and regions fixture whose files carry `schema_value` as "$schema".
fn with_dollar_schema(schema_value: Value) -> Zones {
    let z = Zones::new();
    let mut zone: Value = serde_json::from_str(&zone_json(
        "t.test.",
        60,
        60,
        json!({ "www": { "gslb": "w" } }),
    ))
    .unwrap();
    zone["$schema"] = schema_value.clone();
    zone["gslb"] = json!({ "w": { "pools": {
        "lab": { "targets": ["192.0.2.1"] }, "default": { "targets": ["192.0.2.2"] } } } });
    z.file("t.test.json", &zone.to_string());
    let regions = json!({ "$schema": schema_value, "version": 1,
                          "regions": { "lab": [ { "networks": ["10.0.0.0/8"] } ] } });
    std::fs::write(z.geo_dir().join("regions.json"), regions.to_string()).unwrap();
    z
}

#[test]
fn a_top_level_dollar_schema_string_is_accepted_and_ignored() {
    for value in [
        "../schema/zone.schema.json",
        "https://example.com/anything.json",
        "",
    ] {
        let z = with_dollar_schema(json!(value));
        let out = z.check();
        assert!(
            out.status.success(),
            "\"$schema\": {value:?} must be accepted: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("1 zones, 1 regions, 1 gslb records"),
            "{stdout}"
        );
        // ...and it serves as the same file without it would.
        let server = Server::with_zones(z);
        let m = udp(
            server.addr(),
            &query("www.t.test.", hickory_proto::rr::RecordType::A),
        );
        assert_eq!(answer_addresses(&m).len(), 1, "{m}");
    }
}

#[test]
fn dollar_schema_must_be_a_string_at_the_top_level() {
    let err = check_fails(&with_dollar_schema(json!(5)));
    line_with(&err, "t.test.json", &["$schema"]);
    line_with(&err, "regions.json", &["$schema"]);
    // Below the top level it is an unknown key like any other.
    let z = Zones::new();
    z.zone(
        "t.test.",
        json!({ "www": { "$schema": "x", "A": ["192.0.2.1"] } }),
    );
    let err = check_fails(&z);
    line_with(&err, "t.test.json", &["unknown field `$schema`"]);
}

// ---------------------------------------------------------------------------------------------
// The schema against the loader

/// A valid file the mutations start from, and the directory set it is loaded in.
struct Seed {
    what: &'static str,
    file: SchemaFile,
    doc: Value,
    /// For a zone: the file name it is written under.
    name: String,
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
fn seeds() -> Vec<Seed> {
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
fn loader_accepts(seed: &Seed, doc: &Value) -> Result<(), String> {
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

#[test]
fn valid_seeds_are_accepted_by_both_the_schema_and_the_loader() {
    for seed in seeds() {
        assert_valid(seed.file, &seed.doc, seed.what);
        if let Err(problems) = loader_accepts(&seed, &seed.doc) {
            panic!("{} must load:\n{problems}", seed.what);
        }
    }
}

/// Values a mutation puts somewhere: wrong types, numbers at and past the limits of the
/// fields, and strings that are malformed (or well-formed) addresses, prefixes, codes and
/// enum values.
fn replacement_values() -> Vec<Value> {
    let mut v = vec![
        Value::Null,
        json!(true),
        json!([]),
        json!({}),
        json!(["x"]),
        json!({ "x": 1 }),
        json!([1, 2]),
        json!(0),
        json!(1),
        json!(-1),
        json!(0.5),
        json!(-0.5),
        json!(2.0),
        json!(99),
        json!(100),
        json!(255),
        json!(256),
        json!(599),
        json!(600),
        json!(65535),
        json!(65536),
        json!(86400),
        json!(86400.5),
        json!(4294967295u64),
        json!(4294967296u64),
        json!(1e300),
        json!(-91),
        json!(181),
        json!(-90),
        json!(-180),
        json!(180.0),
        json!(13),
        json!(128),
        json!(3600),
        json!(0.001),
        json!(1.5),
    ];
    for s in [
        "",
        "x",
        "192.0.2.7",
        "300.1.1.1",
        "192.0.2",
        "2001:db8::7",
        "2001:db8::7::1",
        "fe80::1%eth0",
        "10.0.0.0/8",
        "10.0.0.1/8",
        "10.0.0.0/33",
        "10.0.0.0/08",
        "fd00::/8",
        "fd00::/129",
        "::ffff:10.0.0.0/104",
        "10.0.0.0/8/8",
        "EU",
        "eu",
        "EUR",
        "XX",
        "C",
        "US-CA",
        "US-CALI",
        "US",
        "round_robin",
        "weighted",
        "Round_Robin",
        "first",
        "serve_all",
        "nodata",
        "NODATA",
        "http",
        "https",
        "tcp",
        "udp",
        "/",
        "healthz",
        "issue",
        "is sue",
        "default",
        "ABCDEF0123",
        "xyz",
        "www",
        "www.example.com.",
        "a..b",
        "@",
        "*.cdn",
        "/",
        "/a/b?x=1",
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "0.0.0.0/0",
        "::/0",
        "1.2.3.4/32",
        "2001:db8::/128",
        "AF",
        "oc",
        "gb-eng",
        "FR-75",
        "issuewild",
        "mailto:hostmaster@example.com",
        "sticky",
        "all",
        "Kexample.com.+013+12345",
    ] {
        v.push(json!(s));
    }
    v.push(json!("a".repeat(256)));
    v
}

/// Unknown keys, near misses of real ones.
const UNKNOWN_KEYS: [&str; 8] = [
    "bogus", "Version", "ttl ", "$schema", "record", "Targets", "weights", "cidr",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Remove a key of an object (a required one, or an optional one).
    DropKey(Index),
    /// Add an unknown key.
    AddKey(Index, Index),
    /// Replace the value with another: of the same JSON type (when `same` and there is
    /// one), or any.
    Replace(Index, bool),
    /// Change a number: add `delta` or scale it.
    Nudge(i64, bool),
    /// Empty an array or object.
    Empty,
    /// Repeat an item of an array.
    Repeat(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::DropKey),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(k, v)| Mutation::AddKey(k, v)),
        4 => (any::<Index>(), any::<bool>()).prop_map(|(i, same)| Mutation::Replace(i, same)),
        1 => (-2i64..=2, any::<bool>()).prop_map(|(d, s)| Mutation::Nudge(d, s)),
        1 => Just(Mutation::Empty),
        1 => any::<Index>().prop_map(Mutation::Repeat),
    ]
}

/// JSON pointers of every value in `v`, grouped by where they are in the file's shape:
/// array indices and the names of records, checks, GSLB records, pools and regions do not
/// count, so that one mutation is as likely to hit `checks.*.port` as one of the hundreds of
/// `records.*.A[*]`.
fn pointer_groups(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: String, shape: String, out: &mut BTreeMap<String, Vec<String>>) {
        let is_map = ["records", "checks", "gslb", "pools", "regions", "ttls"]
            .iter()
            .any(|m| shape.ends_with(&format!("/{m}")));
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let key = k.replace('~', "~0").replace('/', "~1");
                    let seg = if is_map { "*" } else { key.as_str() };
                    walk(child, format!("{at}/{key}"), format!("{shape}/{seg}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), format!("{shape}/#"), out);
                }
            }
            _ => {}
        }
        out.entry(shape).or_default().push(at);
    }
    let mut groups = BTreeMap::new();
    walk(v, String::new(), String::new(), &mut groups);
    groups.into_values().collect()
}

/// Applies `m` at `target` of `doc`; a mutation that does not fit the value there replaces
/// it instead.
fn apply(doc: &mut Value, target: &str, m: &Mutation, values: &[Value]) {
    let node = doc.pointer_mut(target).expect("pointer from pointers()");
    match (m, &mut *node) {
        (Mutation::DropKey(i), Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(i.index(map.len())).unwrap().clone();
            map.remove(&key);
        }
        (Mutation::AddKey(k, v), Value::Object(map)) => {
            let key = UNKNOWN_KEYS[k.index(UNKNOWN_KEYS.len())];
            map.insert(key.to_string(), v.get(values).clone());
        }
        (Mutation::Nudge(delta, scale), Value::Number(n)) => {
            *node = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) if *scale => json!(i.saturating_mul(1000).saturating_add(*delta)),
                (Some(i), _) => json!(i.saturating_add(*delta)),
                (None, Some(f)) => json!(f * if *scale { -1.0 } else { 100.0 } + *delta as f64),
                _ => Value::Null,
            };
        }
        (Mutation::Empty, Value::Array(items)) => items.clear(),
        (Mutation::Empty, Value::Object(map)) => map.clear(),
        (Mutation::Repeat(i), Value::Array(items)) if !items.is_empty() => {
            let item = items[i.index(items.len())].clone();
            items.push(item);
        }
        (Mutation::Replace(i, true), _) => {
            let same: Vec<&Value> = values.iter().filter(|v| same_type(v, node)).collect();
            *node = if same.is_empty() {
                i.get(values).clone()
            } else {
                (*i.get(&same)).clone()
            };
        }
        (Mutation::Replace(i, false), _)
        | (Mutation::DropKey(i), _)
        | (Mutation::AddKey(_, i), _)
        | (Mutation::Repeat(i), _) => *node = i.get(values).clone(),
        (Mutation::Nudge(..), _) | (Mutation::Empty, _) => *node = json!("x"),
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

proptest! {
    // Every case that the schema rejects costs one load of the configuration (tens of
    // milliseconds with the test databases); 512 cases take a few seconds.
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// One mutation of a valid file: when the schema rejects the result, the loader must
    /// reject it too (the schema never refuses what gslbd takes).
    #[test]
    fn what_the_schema_rejects_the_loader_rejects(
        seed in any::<Index>(),
        at in any::<Index>(),
        member in any::<Index>(),
        m in mutation(),
    ) {
        let seeds = seeds_cached();
        let seed = seed.get(seeds);
        let mut doc = seed.doc.clone();
        let groups = pointer_groups(&doc);
        let group = at.get(&groups);
        let target = member.get(group).clone();
        apply(&mut doc, &target, &m, values_cached());
        let complaints = errors(seed.file, &doc);
        if !complaints.is_empty() {
            prop_assert!(
                loader_accepts(seed, &doc).is_err(),
                "the schema rejects {m:?} at `{target}` of {} but the loader accepts it:\n{}\n{}",
                seed.what,
                complaints.join("\n"),
                doc.pointer(&target).map_or("(removed)".into(), Value::to_string),
            );
        }
    }
}

fn seeds_cached() -> &'static [Seed] {
    static SEEDS: std::sync::OnceLock<Vec<Seed>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seeds)
}

fn values_cached() -> &'static [Value] {
    static VALUES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    VALUES.get_or_init(replacement_values)
}
