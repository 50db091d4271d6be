//! Test/bench helper: writes tiny GeoIP2-style location, ASN and ISP `.mmdb` files.
//!
//! Needs only the `mmdb-writer` dev-dependency plus `ipnet`/`serde`, and uses no `crate::`
//! paths, so it is compiled both as `geo::testdb` under `cfg(test)` and, from integration
//! tests or benches, via `#[path = "../src/geo/testdb.rs"] mod testdb;`.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipnet::IpNet;
use mmdb_writer::{IpVersion, Writer};
use serde::Serialize;

/// What a location record holds; `None` fields are left out of the record.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocationSpec<'a> {
    /// `country.iso_code`, e.g. `"US"`.
    pub country: Option<&'a str>,
    /// `registered_country.iso_code`.
    pub registered_country: Option<&'a str>,
    /// `continent.code`, e.g. `"NA"`.
    pub continent: Option<&'a str>,
    /// `subdivisions[0].iso_code`, e.g. `"CA"`.
    pub subdivision: Option<&'a str>,
    /// `location.latitude` and `location.longitude`, in degrees.
    pub coordinates: Option<(f64, f64)>,
}

/// What a GeoIP2-ISP record holds; `None` fields are left out of the record.
#[derive(Debug, Clone, Copy, Default)]
pub struct IspSpec<'a> {
    /// `autonomous_system_number`.
    pub asn: Option<u32>,
    /// `autonomous_system_organization`.
    pub as_organization: Option<&'a str>,
    /// `isp`.
    pub isp: Option<&'a str>,
    /// `organization`.
    pub organization: Option<&'a str>,
}

#[derive(Serialize)]
struct Iso<'a> {
    iso_code: &'a str,
    geoname_id: u32,
}

#[derive(Serialize)]
struct Continent<'a> {
    code: &'a str,
    geoname_id: u32,
}

#[derive(Serialize)]
struct LocationRecord<'a> {
    country: Option<Iso<'a>>,
    registered_country: Option<Iso<'a>>,
    continent: Option<Continent<'a>>,
    subdivisions: Option<Vec<Iso<'a>>>,
    location: Option<Coordinates>,
}

#[derive(Serialize)]
struct Coordinates {
    latitude: f64,
    longitude: f64,
    accuracy_radius: u16,
}

#[derive(Serialize)]
struct AsnRecord<'a> {
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<&'a str>,
    isp: Option<&'a str>,
    organization: Option<&'a str>,
}

/// Writes a GeoIP2-City-like database (IPv6 tree, IPv4 reachable as in MaxMind's DBs).
/// Entries are inserted shortest prefix first, so nested prefixes override their parents.
pub fn write_location_db(path: &Path, entries: &[(IpNet, LocationSpec<'_>)]) -> io::Result<()> {
    write_location_db_as(path, entries, IpVersion::V6)
}

/// Like [`write_location_db`] but with an IPv4-only search tree.
pub fn write_location_db_v4(path: &Path, entries: &[(IpNet, LocationSpec<'_>)]) -> io::Result<()> {
    write_location_db_as(path, entries, IpVersion::V4)
}

fn write_location_db_as(
    path: &Path,
    entries: &[(IpNet, LocationSpec<'_>)],
    ip_version: IpVersion,
) -> io::Result<()> {
    write(path, "GeoIP2-City", ip_version, entries, |spec| {
        LocationRecord {
            country: spec.country.map(|iso_code| Iso {
                iso_code,
                geoname_id: 1,
            }),
            registered_country: spec.registered_country.map(|iso_code| Iso {
                iso_code,
                geoname_id: 2,
            }),
            continent: spec.continent.map(|code| Continent {
                code,
                geoname_id: 3,
            }),
            subdivisions: spec.subdivision.map(|iso_code| {
                vec![Iso {
                    iso_code,
                    geoname_id: 4,
                }]
            }),
            location: spec.coordinates.map(|(latitude, longitude)| Coordinates {
                latitude,
                longitude,
                accuracy_radius: 100,
            }),
        }
    })
}

/// Writes a GeoLite2-ASN-like database from `(network, asn, organization)` triples.
pub fn write_asn_db(path: &Path, entries: &[(IpNet, u32, &str)]) -> io::Result<()> {
    let entries: Vec<(IpNet, IspSpec<'_>)> = entries
        .iter()
        .map(|&(net, asn, org)| {
            let spec = IspSpec {
                asn: Some(asn),
                as_organization: Some(org),
                ..IspSpec::default()
            };
            (net, spec)
        })
        .collect();
    write(path, "GeoLite2-ASN", IpVersion::V6, &entries, isp_record)
}

/// Writes a GeoIP2-ISP-like database.
pub fn write_isp_db(path: &Path, entries: &[(IpNet, IspSpec<'_>)]) -> io::Result<()> {
    write(path, "GeoIP2-ISP", IpVersion::V6, entries, isp_record)
}

fn isp_record<'a>(spec: &IspSpec<'a>) -> AsnRecord<'a> {
    AsnRecord {
        autonomous_system_number: spec.asn,
        autonomous_system_organization: spec.as_organization,
        isp: spec.isp,
        organization: spec.organization,
    }
}

fn write<S, R: Serialize>(
    path: &Path,
    database_type: &str,
    ip_version: IpVersion,
    entries: &[(IpNet, S)],
    record: impl Fn(&S) -> R,
) -> io::Result<()> {
    let mut writer = Writer::builder(database_type)
        .ip_version(ip_version)
        .build();
    // mmdb-writer is last-write-wins over whole blocks: insert parents before children.
    let mut order: Vec<&(IpNet, S)> = entries.iter().collect();
    order.sort_by_key(|(net, _)| net.prefix_len());
    for (net, spec) in order {
        writer
            .insert(*net, &record(spec))
            .map_err(|e| io::Error::other(format!("insert {net}: {e}")))?;
    }
    let bytes = writer.to_bytes().map_err(io::Error::other)?;
    std::fs::write(path, bytes)
}

/// A uniquely named directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/gslbd-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> io::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("gslbd-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
