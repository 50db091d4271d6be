//! Test helper: a whole configuration (regions over two databases, one zone) written to a
//! temp dir and loaded.

use serde_json::json;

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
    load(&Paths { zones, geo }).unwrap_or_else(|p| panic!("{p}"))
}

/// `dir/geo`, created.
pub fn geo_dir(dir: &TempDir) -> std::path::PathBuf {
    let geo = dir.join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    geo
}
