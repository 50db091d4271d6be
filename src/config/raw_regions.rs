//! Raw serde types of `geo/regions.json` exactly as written; they also derive its JSON Schema
//! (`gslbd schema regions`). They never leave `config/`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::schema::shapes;
use super::unique_map::UniqueMap;

/// `geo/regions.json`: who clients are. gslbd tries a client's matching regions most
/// specific first, then `default`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gslbd regions file")]
pub struct RawRegions {
    /// The JSON Schema of this file, for editors (e.g. `../schema/regions.schema.json`).
    /// gslbd ignores it.
    #[serde(rename = "$schema")]
    #[allow(dead_code)] // read by editors only
    pub schema: Option<String>,
    /// The format version: always 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The MaxMind-format databases (paths relative to the geo directory).
    #[serde(default)]
    pub databases: RawDatabases,
    /// The regions by name, each a list of rules; it matches a client when any rule does.
    /// `default` is implicit and cannot be defined.
    #[serde(default)]
    #[schemars(schema_with = "shapes::regions")]
    pub regions: UniqueMap<Vec<RawRule>>,
}

/// The databases rules look clients up in.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Databases")]
pub struct RawDatabases {
    /// A City or Country database (GeoLite2/GeoIP2 or compatible), for `countries`,
    /// `subdivisions`, `continents` and nearest data centres.
    pub location: Option<String>,
    /// A GeoLite2-ASN or GeoIP2-ISP style database, for `asns` and `isps`.
    pub asn: Option<String>,
}

/// One rule of a region: every condition present must match (and a condition's list
/// matches when any value does).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rule", extend("minProperties" = 1))]
pub struct RawRule {
    /// Client networks as CIDR prefixes, IPv4 or IPv6 (`10.0.0.0/8`, `fd00::/8`); a bare
    /// address is a /32 or /128.
    #[schemars(inner(regex(pattern = shapes::CIDR)))]
    pub networks: Option<Vec<String>>,
    /// A file (relative to the geo directory) of CIDR prefixes, one per line, `#` comments.
    pub networks_file: Option<String>,
    /// Autonomous system numbers (needs `databases.asn`).
    pub asns: Option<Vec<u32>>,
    /// ISP or AS organisation names, case-insensitive exact match (needs `databases.asn`).
    pub isps: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 country codes (`CN`, `US`; needs `databases.location`).
    #[schemars(inner(regex(pattern = r"^[A-Za-z]{2}$")))]
    pub countries: Option<Vec<String>>,
    /// ISO 3166-2 subdivision codes as `CC-SUB` (`CN-GD`, `US-CA`; needs
    /// `databases.location`).
    #[schemars(inner(regex(pattern = r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")))]
    pub subdivisions: Option<Vec<String>>,
    /// Continent codes: AF AN AS EU NA OC SA (needs `databases.location`).
    #[schemars(inner(regex(pattern = shapes::CONTINENT)))]
    pub continents: Option<Vec<String>>,
}
