//! `gslbd schema zone|regions`: the JSON Schemas of the configuration files, the copies shipped
//! in `schema/`, the examples that name them in `"$schema"`, and the schemas held against the
//! real loader with an independent validator (the `jsonschema` crate): whatever the schema
//! rejects, `gslbd check` rejects too (a property test over mutated valid files), and it
//! accepts every valid file the tests use (see `common/schema.rs` for how those are caught).

#[path = "config_schema/boundaries.rs"]
mod boundaries;
mod common;
#[path = "config_schema/mutate.rs"]
mod mutate;
#[path = "config_schema/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};
use std::process::Command;

use gslbd::config::schema::SchemaFile;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

use common::schema::{assert_valid, errors};
use common::*;
use mutate::{apply, mutation, pointer_groups, replacement_values};
use seeds::{loader_accepts, seeds, Seed};

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
        // ...and it serves as the same files without it would: 127.0.0.1 is outside `lab`.
        let server = Server::with_zones(z);
        let m = udp(
            server.addr(),
            &query("www.t.test.", hickory_proto::rr::RecordType::A),
        );
        let want: std::net::IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(answer_addresses(&m), vec![want], "{m}");
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

#[test]
fn valid_seeds_are_accepted_by_both_the_schema_and_the_loader() {
    for seed in seeds() {
        assert_valid(seed.file, &seed.doc, seed.what);
        if let Err(problems) = loader_accepts(&seed, &seed.doc) {
            panic!("{} must load:\n{problems}", seed.what);
        }
    }
}

#[test]
fn each_constraint_of_the_schema_holds_on_both_sides_of_its_boundary() {
    // The values just inside a range, format or pattern must pass both the schema and the
    // loader (the schema is not stricter than gslbd), and those just outside both must fail
    // (the schema catches the mistake in the editor, as `check` would).
    let seeds = seeds();
    let mut wrong = Vec::new();
    for case in boundaries::boundaries() {
        let seed = seeds.iter().find(|s| s.what == case.seed).expect("seed");
        assert!(
            seed.doc.pointer(case.at).is_some(),
            "{} has no {}",
            case.seed,
            case.at
        );
        for (value, valid) in case
            .valid
            .iter()
            .map(|v| (v, true))
            .chain(case.invalid.iter().map(|v| (v, false)))
        {
            let mut doc = seed.doc.clone();
            *doc.pointer_mut(case.at).unwrap() = value.clone();
            let schema_ok = errors(seed.file, &doc).is_empty();
            let loader = loader_accepts(seed, &doc);
            if schema_ok != valid || loader.is_ok() != valid {
                wrong.push(format!(
                    "{} at {}: {value} should be {}, but the schema says {} and the loader {}",
                    case.seed,
                    case.at,
                    if valid { "valid" } else { "invalid" },
                    if schema_ok { "valid" } else { "invalid" },
                    loader.map_or_else(|p| format!("refuses it: {p}"), |()| "accepts it".into()),
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
