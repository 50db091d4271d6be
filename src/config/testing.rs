//! Test helper: a whole configuration (regions over two databases, one zone) written to a
//! temp dir, loaded, and checked against the configuration files' JSON Schemas.

use std::path::{Path, PathBuf};

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
    let paths = Paths { zones, geo };
    let snapshot = load(&paths).unwrap_or_else(|p| panic!("{p}"));
    assert_files_match_schema(&paths);
    snapshot
}

/// Asserts that the files of a configuration the loader has accepted (every zone file of
/// `paths.zones`, and `regions.json` in `paths.geo`) match the schemas of `gslbd schema`:
/// unit tests call it after each successful load of a configuration they wrote.
pub fn assert_files_match_schema(paths: &Paths) {
    let mut files: Vec<(SchemaFile, PathBuf)> = super::zone_files(&paths.zones, &mut Vec::new())
        .into_iter()
        .map(|f| (SchemaFile::Zone, f))
        .collect();
    let regions = paths.geo.join("regions.json");
    if regions.exists() {
        files.push((SchemaFile::Regions, regions));
    }
    for (file, path) in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_schema_valid(file, &doc, &path);
    }
}

/// Panics with the schema's complaints when `doc` does not validate against the schema of
/// `file` (checked with the `jsonschema` crate, formats such as `ipv4` enforced).
fn assert_schema_valid(file: SchemaFile, doc: &serde_json::Value, path: &Path) {
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
        "{} is accepted by the loader but does not match `gslbd schema {}`:\n{}\n{doc:#}",
        path.display(),
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
