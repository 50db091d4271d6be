//! Test helper: a whole configuration (regions over two databases, one zone) written to a
//! temp dir, loaded, and checked against the configuration files' JSON Schemas.

use serde_json::json;

use super::schema::SchemaFile;
use super::{load, Paths};
use crate::geo::testdb::TempDir;
use crate::snapshot::Snapshot;

/// Writes `geo/regions.json` with `regions` over the databases `geo/loc.mmdb` and
/// `geo/asn.mmdb` (which the caller writes, see [`geo_dir`]) and the zone `t.test.` with a
/// tcp check `c` and the GSLB records `gslb`, then loads it all; panics on any problem.
pub fn load_with(dir: &TempDir, regions: serde_json::Value, gslb: serde_json::Value) -> Snapshot {
    let geo = geo_dir(dir);
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    let regions = json!({
        "version": 1,
        "databases": { "location": "loc.mmdb", "asn": "asn.mmdb" },
        "regions": regions,
    });
    std::fs::write(geo.join("regions.json"), regions.to_string()).unwrap();
    let zone = json!({
        "version": 1, "origin": "t.test.",
        "soa": { "mname": "ns.t.test.", "rname": "h.t.test.", "serial": 1, "refresh": 1,
                 "retry": 1, "expire": 1, "minimum": 1 },
        "records": { "@": { "NS": ["ns.t.test."] }, "ns": { "A": ["192.0.2.1"] } },
        "checks": { "c": { "type": "tcp", "port": 80 } },
        "gslb": gslb,
    });
    std::fs::write(zones.join("t.test.json"), zone.to_string()).unwrap();
    let snapshot = load(&Paths { zones, geo }).unwrap_or_else(|p| panic!("{p}"));
    // The loader accepted both files: the schemas must too.
    assert_schema_valid(SchemaFile::Regions, &regions);
    assert_schema_valid(SchemaFile::Zone, &zone);
    snapshot
}

/// Panics with the schema's complaints when `doc` does not validate against the schema of
/// `file` (checked with the `jsonschema` crate, formats such as `ipv4` enforced).
pub fn assert_schema_valid(file: SchemaFile, doc: &serde_json::Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&file.schema())
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "a configuration the loader accepts does not match `gslbd schema {}`:\n{}\n{doc:#}",
        file.name(),
        errors.join("\n")
    );
}

/// `dir/geo`, created.
pub fn geo_dir(dir: &TempDir) -> std::path::PathBuf {
    let geo = dir.join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    geo
}
