//! Raw serde types: the zone file exactly as written. They never leave `config/`.
//!
//! They also derive the JSON Schema of the file (`gslbd schema zone`, see `schema.rs`): the
//! doc comments become its descriptions, and the `schemars` attributes state in the schema
//! what validation checks later (ranges, address formats, required pools), never more.

use schemars::JsonSchema;
use serde::Deserialize;

use super::schema::shapes;
use super::unique_map::UniqueMap;

pub use super::raw_regions::{RawRegions, RawRule};

fn default_zone_ttl() -> u32 {
    3600
}

/// A zone file of gslbd: `zones/<origin without the final dot>.json`, one zone per file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gslbd zone file")]
pub struct RawZone {
    /// The JSON Schema of this file, for editors (e.g. `../schema/zone.schema.json`).
    /// gslbd ignores it.
    #[serde(rename = "$schema")]
    #[allow(dead_code)] // read by editors only
    pub schema: Option<String>,
    /// The format version: always 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The zone's name, absolute with the final dot (`example.com.`); the file must be named
    /// after it (`example.com.json`).
    #[schemars(length(min = 1))]
    pub origin: String,
    /// Default TTL in seconds of the zone's records, and the SOA's TTL.
    #[serde(default = "default_zone_ttl")]
    pub ttl: u32,
    /// The zone's SOA record (all seven fields required).
    pub soa: RawSoa,
    /// The records by owner name: relative to the origin (`www`, `_sip._udp`), `@` for the
    /// apex, absolute when ending in a dot; `*` as the first label is a wildcard.
    #[serde(default)]
    pub records: UniqueMap<RawNode>,
    /// Health check definitions by name, used by the GSLB records' `check`.
    #[serde(default)]
    pub checks: UniqueMap<RawCheck>,
    /// GSLB records by name; a name answers from one with `"gslb": NAME`.
    #[serde(default)]
    pub gslb: UniqueMap<RawGslb>,
    /// Signs the zone online with these key pairs (made with `gslbd dnssec keygen`); absent,
    /// the zone is served unsigned.
    pub dnssec: Option<RawDnssec>,
}

/// `"dnssec": { "keys": [...] }`: the zone's key pairs, by BIND base name relative to the
/// zones directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Dnssec")]
pub struct RawDnssec {
    /// Base names of the key pairs (`Kexample.com.+013+12345`, without `.key` or `.private`),
    /// relative to the zones directory; at least one KSK.
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub keys: Vec<String>,
}

/// The SOA record of the zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Soa")]
pub struct RawSoa {
    /// The primary name server (`ns1.example.com.`).
    pub mname: String,
    /// The administrator's mailbox as a name (`hostmaster.example.com.`).
    pub rname: String,
    /// The zone's serial number.
    pub serial: u32,
    /// Seconds between secondaries' refreshes.
    pub refresh: u32,
    /// Seconds before a failed refresh is retried.
    pub retry: u32,
    /// Seconds after which secondaries stop answering without a refresh.
    pub expire: u32,
    /// TTL in seconds of negative answers (capped by the zone `ttl`).
    pub minimum: u32,
}

/// The data at one name: static records, a CNAME, or a GSLB record.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Node")]
pub struct RawNode {
    /// IPv4 addresses.
    #[serde(rename = "A")]
    #[schemars(inner(ipv4))]
    pub a: Option<Vec<String>>,
    /// IPv6 addresses.
    #[serde(rename = "AAAA")]
    #[schemars(inner(ipv6))]
    pub aaaa: Option<Vec<String>>,
    /// An alias; a CNAME name holds nothing else, and the apex cannot be one.
    #[serde(rename = "CNAME")]
    pub cname: Option<String>,
    /// Name servers (the apex needs them; below it they make a delegation).
    #[serde(rename = "NS")]
    pub ns: Option<Vec<String>>,
    /// Mail exchangers.
    #[serde(rename = "MX")]
    pub mx: Option<Vec<RawMx>>,
    /// TXT records: each item is one record, a text (split into 255-byte character-strings)
    /// or the list of its character-strings.
    #[serde(rename = "TXT")]
    pub txt: Option<Vec<RawTxt>>,
    /// SRV records.
    #[serde(rename = "SRV")]
    pub srv: Option<Vec<RawSrv>>,
    /// CAA records.
    #[serde(rename = "CAA")]
    pub caa: Option<Vec<RawCaa>>,
    /// PTR records.
    #[serde(rename = "PTR")]
    pub ptr: Option<Vec<String>>,
    /// DS records, at a delegation point only.
    #[serde(rename = "DS")]
    pub ds: Option<Vec<RawDs>>,
    /// TTL in seconds of this name's records, instead of the zone `ttl`.
    pub ttl: Option<u32>,
    /// Per-type TTLs (`{"NS": 86400}`) overriding `ttl` for those RRsets.
    #[schemars(extend("propertyNames" = shapes::record_types()))]
    pub ttls: Option<UniqueMap<u32>>,
    /// The GSLB record (in `gslb`) that answers A and AAAA at this name; the name then holds
    /// nothing else.
    pub gslb: Option<String>,
}

/// One TXT record: a text (split into 255-byte character-strings) or the character-strings
/// themselves.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Txt")]
pub enum RawTxt {
    /// The record's text; longer than 255 bytes, it is split into several
    /// character-strings.
    Text(String),
    /// The record's character-strings, each at most 255 bytes.
    Strings(#[schemars(length(min = 1), inner(length(max = 255)))] Vec<String>),
}

/// A DS record at a delegation point.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Ds")]
pub struct RawDs {
    /// The key tag of the child's key.
    pub key_tag: u16,
    /// The key's DNSSEC algorithm number (13: ECDSAP256SHA256, 15: ED25519, ...).
    pub algorithm: u8,
    /// The digest type (1: SHA-1, 2: SHA-256, 4: SHA-384).
    pub digest_type: u8,
    /// The digest in hex (white space allowed).
    #[schemars(regex(pattern = r"^[0-9A-Fa-f\s]+$"))]
    pub digest: String,
}

/// An MX record.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Mx")]
pub struct RawMx {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail server's name.
    pub exchange: String,
}

/// An SRV record.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Srv")]
pub struct RawSrv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The service's port.
    pub port: u16,
    /// The server's name.
    pub target: String,
}

/// A CAA record: `{ "flags": 0, "tag": "issue", "value": "ca.example" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Caa")]
pub struct RawCaa {
    /// 0, or 128 for critical.
    #[serde(default)]
    pub flags: u8,
    /// The property: `issue`, `issuewild`, `iodef`, ... (letters and digits).
    #[schemars(regex(pattern = r"^[A-Za-z0-9]{1,255}$"))]
    pub tag: String,
    /// The property's value, e.g. the CA's domain.
    pub value: String,
}

/// A health check definition.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Check")]
pub struct RawCheck {
    /// How to probe a target.
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// The port to probe.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// HTTP(S) only: the path to request (default `/`).
    #[schemars(regex(pattern = r"^/"))]
    pub path: Option<String>,
    /// HTTP(S) only: the Host header and TLS SNI (default: the target's address).
    pub host: Option<String>,
    /// HTTP(S) only: the accepted status codes (default: any 2xx or 3xx).
    #[schemars(inner(range(min = 100, max = 599)))]
    pub expect: Option<Vec<u16>>,
    /// HTTP(S) only: text the response body must contain.
    pub body_contains: Option<String>,
    /// HTTPS only: accept any certificate, e.g. a self-signed one (default false).
    pub insecure: Option<bool>,
    /// Seconds between probes (default 10; decimals allowed).
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = super::gslb::MAX_DURATION_SECS))]
    pub interval: Option<f64>,
    /// Seconds before a probe fails (default 3; must be less than `interval`).
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = super::gslb::MAX_DURATION_SECS))]
    pub timeout: Option<f64>,
    /// Consecutive successes that bring a down target up (default 2).
    #[schemars(range(min = 1))]
    pub rise: Option<u32>,
    /// Consecutive failures that take an up target down (default 3).
    #[schemars(range(min = 1))]
    pub fall: Option<u32>,
}

pub use crate::gslb::CheckKind;

/// A GSLB record: pools of targets by region.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Gslb")]
pub struct RawGslb {
    /// TTL in seconds of the answers (default 30).
    pub ttl: Option<u32>,
    /// TTL in seconds of a degraded answer (a fallback pool answers, a target of the
    /// answering pool is down, or every pool is); at most `ttl`.
    pub ttl_degraded: Option<u32>,
    /// How the healthy targets of a pool are ordered (default `round_robin`).
    pub policy: Option<crate::gslb::Policy>,
    /// At most this many addresses per answer (default: all healthy ones; 1 for `first`).
    #[schemars(range(min = 1))]
    pub max_answers: Option<u32>,
    /// The health check (in `checks`) of every target without its own.
    pub check: Option<String>,
    /// What to answer when no pool has a healthy target (default `serve_all`).
    pub all_down: Option<crate::gslb::AllDown>,
    /// After the client's regions and before `default`, try the pools with `coordinates`
    /// nearest first (needs `databases.location` in `geo/regions.json`).
    #[serde(default)]
    pub nearest: bool,
    /// The pools by name: a region of `geo/regions.json`, `default` (required), or any name
    /// for a pool with `coordinates`.
    #[schemars(schema_with = "shapes::pools")]
    pub pools: UniqueMap<RawPool>,
}

/// A pool of a GSLB record: targets (or a CNAME) and the pools to fall back to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Pool")]
pub struct RawPool {
    /// The addresses to answer with (IPv4 answer A, IPv6 answer AAAA).
    #[serde(default)]
    pub targets: Vec<RawTarget>,
    /// A CNAME pool: the alias to answer with instead of targets.
    pub cname: Option<String>,
    /// `[latitude, longitude]` of the pool's data centre, in degrees.
    #[schemars(extend("prefixItems" = shapes::latitude_longitude()))]
    pub coordinates: Option<[f64; 2]>,
    /// Pools of this record to try next, in order, when this one has no healthy target.
    #[serde(default)]
    pub fallback: Vec<String>,
}

/// A target: `"192.0.2.1"` or `{ "address": ..., "weight": ..., "check": ... }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Target")]
pub enum RawTarget {
    /// The target's IPv4 or IPv6 address.
    Address(#[schemars(schema_with = "shapes::ip_address")] String),
    Full(RawTargetFull),
}

/// A target with a weight or its own health check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TargetObject")]
pub struct RawTargetFull {
    /// The target's IPv4 or IPv6 address.
    #[schemars(schema_with = "shapes::ip_address")]
    pub address: String,
    /// Relative share of answers for the `weighted` policy (default 1).
    #[schemars(range(min = 1))]
    pub weight: Option<u32>,
    /// The health check (in `checks`) of this target, instead of the record's.
    pub check: Option<String>,
}
