//! Raw serde types: the JSON files exactly as written. They never leave `config/`.

use serde::Deserialize;

use super::unique_map::UniqueMap;

fn default_zone_ttl() -> u32 {
    3600
}

/// `zones/<origin>.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub version: u32,
    pub origin: String,
    #[serde(default = "default_zone_ttl")]
    pub ttl: u32,
    pub soa: RawSoa,
    #[serde(default)]
    pub records: UniqueMap<RawNode>,
    #[serde(default)]
    pub checks: UniqueMap<RawCheck>,
    #[serde(default)]
    pub gslb: UniqueMap<RawGslb>,
    /// Present when the zone is signed.
    pub dnssec: Option<RawDnssec>,
}

/// `"dnssec": { "keys": [...] }`: the zone's key pairs, by BIND base name relative to the
/// zones directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDnssec {
    pub keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSoa {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// The data at one name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    #[serde(rename = "A")]
    pub a: Option<Vec<String>>,
    #[serde(rename = "AAAA")]
    pub aaaa: Option<Vec<String>>,
    #[serde(rename = "CNAME")]
    pub cname: Option<String>,
    #[serde(rename = "NS")]
    pub ns: Option<Vec<String>>,
    #[serde(rename = "MX")]
    pub mx: Option<Vec<RawMx>>,
    #[serde(rename = "TXT")]
    pub txt: Option<Vec<RawTxt>>,
    #[serde(rename = "SRV")]
    pub srv: Option<Vec<RawSrv>>,
    #[serde(rename = "CAA")]
    pub caa: Option<Vec<RawCaa>>,
    #[serde(rename = "PTR")]
    pub ptr: Option<Vec<String>>,
    #[serde(rename = "DS")]
    pub ds: Option<Vec<RawDs>>,
    pub ttl: Option<u32>,
    /// Per-type TTLs (`{"NS": 86400}`) overriding `ttl` for those RRsets.
    pub ttls: Option<UniqueMap<u32>>,
    pub gslb: Option<String>,
}

/// One TXT record: a text (split into 255-byte character-strings) or the character-strings
/// themselves.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawTxt {
    Text(String),
    Strings(Vec<String>),
}

/// A DS record at a delegation point.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDs {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    pub digest: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMx {
    pub preference: u16,
    pub exchange: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSrv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaa {
    #[serde(default)]
    pub flags: u8,
    pub tag: String,
    pub value: String,
}

/// A health check definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    #[serde(rename = "type")]
    pub kind: CheckKind,
    pub port: u16,
    pub path: Option<String>,
    pub host: Option<String>,
    pub expect: Option<Vec<u16>>,
    pub body_contains: Option<String>,
    pub insecure: Option<bool>,
    pub interval: Option<f64>,
    pub timeout: Option<f64>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
}

pub use crate::gslb::CheckKind;

/// A GSLB record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGslb {
    pub ttl: Option<u32>,
    /// The TTL while the answer is degraded (spec §11).
    pub ttl_degraded: Option<u32>,
    pub policy: Option<crate::gslb::Policy>,
    pub max_answers: Option<u32>,
    pub check: Option<String>,
    pub all_down: Option<crate::gslb::AllDown>,
    /// Try the pools with `coordinates` by distance from the client (spec §11).
    #[serde(default)]
    pub nearest: bool,
    pub pools: UniqueMap<RawPool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    #[serde(default)]
    pub targets: Vec<RawTarget>,
    /// A CNAME pool: the alias to answer with instead of targets.
    pub cname: Option<String>,
    /// `[latitude, longitude]` of the pool's data centre, in degrees.
    pub coordinates: Option<[f64; 2]>,
    #[serde(default)]
    pub fallback: Vec<String>,
}

/// A target: `"192.0.2.1"` or `{ "address": ..., "weight": ..., "check": ... }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawTarget {
    Address(String),
    Full(RawTargetFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargetFull {
    pub address: String,
    pub weight: Option<u32>,
    pub check: Option<String>,
}

/// `geo/regions.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegions {
    pub version: u32,
    #[serde(default)]
    pub databases: RawDatabases,
    #[serde(default)]
    pub regions: UniqueMap<Vec<RawRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabases {
    pub location: Option<String>,
    pub asn: Option<String>,
}

/// One rule of a region: every condition present must match.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub networks: Option<Vec<String>>,
    pub networks_file: Option<String>,
    pub asns: Option<Vec<u32>>,
    pub isps: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub subdivisions: Option<Vec<String>>,
    pub continents: Option<Vec<String>>,
}
