//! `AsnDb`: autonomous-system and ISP/organization lookups in GeoLite2-ASN or GeoIP2-ISP DBs.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{LookupResult, MaxMindDbError};
use serde::Deserialize;

use super::error::GeoError;
use super::mmdb::{non_empty, DbInfo, FlatRecord, Mmdb};

/// A GeoLite2-ASN or GeoIP2-ISP style database, flattened into memory at open time.
#[derive(Debug)]
pub struct AsnDb {
    db: Mmdb<AsnRecord>,
}

/// What the database knows about an address's network operator. Names borrow from the
/// [`AsnDb`]; empty strings are reported as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AsnInfo<'a> {
    /// `autonomous_system_number`.
    pub asn: Option<u32>,
    /// `autonomous_system_organization`.
    pub as_organization: Option<&'a str>,
    /// `isp` (GeoIP2-ISP only).
    pub isp: Option<&'a str>,
    /// `organization` (GeoIP2-ISP only).
    pub organization: Option<&'a str>,
    /// Length of the widest aligned block around the address in which every address gets
    /// the same answer (0..=32 for IPv4, including IPv4-mapped IPv6 input; 0..=128 for
    /// IPv6): at least as wide as the database network, wider where neighbouring networks
    /// say the same. Also set when nothing was found.
    pub prefix_len: u8,
}

impl<'a> AsnInfo<'a> {
    /// Nothing known, in a block of length `prefix_len`.
    pub fn unknown(prefix_len: u8) -> Self {
        AsnInfo {
            prefix_len,
            ..AsnInfo::default()
        }
    }

    /// The organization names present, in the order `isp`, `organization`,
    /// `as_organization` (duplicates not removed).
    pub fn org_names(&self) -> impl Iterator<Item = &'a str> {
        [self.isp, self.organization, self.as_organization]
            .into_iter()
            .flatten()
    }

    /// True if `name` equals any of the organization names, case-insensitively
    /// (Unicode lower-casing; ASCII fast path). Does not allocate.
    pub fn matches_org(&self, name: &str) -> bool {
        self.org_names().any(|org| eq_ignore_case(org, name))
    }
}

/// Case-insensitive string equality without allocating.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl AsnDb {
    /// Reads an ASN or ISP database and flattens it into an in-memory table (see the module
    /// docs of `geo::mmdb`): every record is decoded here, so a corrupt database fails to open
    /// rather than failing lookups. The file is not used after this returns.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoError> {
        Ok(AsnDb {
            db: Mmdb::open(path.as_ref())?,
        })
    }

    /// Looks up `addr`. Never fails and does not allocate; names borrow from `self`.
    /// `prefix_len` is the widest block around `addr` with the same answer, which may be
    /// wider than the database network.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> AsnInfo<'_> {
        let (record, prefix_len) = self.db.lookup(addr);
        let Some(r) = record else {
            return AsnInfo::unknown(prefix_len);
        };
        AsnInfo {
            asn: r.asn,
            as_organization: r.as_organization.as_deref(),
            isp: r.isp.as_deref(),
            organization: r.organization.as_deref(),
            prefix_len,
        }
    }

    /// The IPv6 prefixes `(first address, length)` whose addresses get the answer of the
    /// IPv4 address in the 32 bits after the prefix (MaxMind's IPv4 aliases).
    pub fn aliases(&self) -> &[(u128, u8)] {
        self.db.aliases()
    }

    /// The file, type, build time and record count.
    pub fn info(&self) -> DbInfo<'_> {
        self.db.info()
    }

    /// Approximate heap memory used by the flattened database, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.db.heap_bytes()
            + self
                .db
                .records()
                .iter()
                .flat_map(|r| [&r.as_organization, &r.isp, &r.organization])
                .flatten()
                .map(|s| s.len())
                .sum::<usize>()
    }
}

/// An interned ASN/ISP record; [`AsnInfo`] borrows its names.
#[derive(Debug)]
struct AsnRecord {
    asn: Option<u32>,
    as_organization: Option<Box<str>>,
    isp: Option<Box<str>>,
    organization: Option<Box<str>>,
}

/// Records are interned by their decoded `AsnInfo` (with `prefix_len` 0).
impl FlatRecord for AsnRecord {
    type Key<'a> = AsnInfo<'a>;

    fn decode<'a, S: AsRef<[u8]>>(
        found: &LookupResult<'a, S>,
    ) -> Result<AsnInfo<'a>, MaxMindDbError> {
        let Some(raw) = found.decode::<RawAsn<'a>>()? else {
            return Ok(AsnInfo::default());
        };
        Ok(AsnInfo {
            asn: raw.autonomous_system_number,
            as_organization: non_empty(raw.autonomous_system_organization),
            isp: non_empty(raw.isp),
            organization: non_empty(raw.organization),
            prefix_len: 0,
        })
    }

    fn is_empty(key: &AsnInfo<'_>) -> bool {
        *key == AsnInfo::default()
    }

    fn from_key(key: AsnInfo<'_>) -> Self {
        AsnRecord {
            asn: key.asn,
            as_organization: key.as_organization.map(Box::from),
            isp: key.isp.map(Box::from),
            organization: key.organization.map(Box::from),
        }
    }
}

/// The decoded part of an ASN/ISP record; other fields are skipped.
#[derive(Deserialize, Default)]
struct RawAsn<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow, default)]
    isp: Option<&'a str>,
    #[serde(borrow, default)]
    organization: Option<&'a str>,
}

#[cfg(test)]
mod tests;
