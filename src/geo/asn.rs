//! `AsnDb`: autonomous-system and ISP/organization lookups in GeoLite2-ASN or GeoIP2-ISP DBs.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use super::error::GeoError;
use super::mmdb::{host_len, non_empty, Mmdb};

/// A GeoLite2-ASN or GeoIP2-ISP style database, memory-mapped.
#[derive(Debug)]
pub struct AsnDb {
    db: Mmdb,
}

/// What the database knows about an address's network operator. Names borrow from the
/// memory-mapped database; empty strings are reported as `None`.
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
    /// Prefix length of the database network the address fell in (0..=32 for IPv4,
    /// including IPv4-mapped IPv6 input; 0..=128 for IPv6). Also set when nothing was found.
    pub prefix_len: u8,
}

impl<'a> AsnInfo<'a> {
    /// Nothing known, in a database block of length `prefix_len`.
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
    /// Memory-maps an ASN or ISP database.
    ///
    /// The file must not be modified in place while open: replace it by renaming a new
    /// file over it and reopening.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoError> {
        Ok(AsnDb {
            db: Mmdb::open(path.as_ref())?,
        })
    }

    /// Looks up `addr`; on a database decoding error, returns nothing known with a
    /// host-length `prefix_len` (so a failure is never generalised). See [`Self::try_lookup`].
    pub fn lookup(&self, addr: IpAddr) -> AsnInfo<'_> {
        self.try_lookup(addr)
            .unwrap_or_else(|_| AsnInfo::unknown(host_len(addr)))
    }

    /// Looks up `addr`, reporting database decoding errors. Does not allocate on success.
    pub fn try_lookup(&self, addr: IpAddr) -> Result<AsnInfo<'_>, GeoError> {
        let (raw, prefix_len) = self.db.lookup::<RawAsn<'_>>(addr)?;
        let Some(raw) = raw else {
            return Ok(AsnInfo::unknown(prefix_len));
        };
        Ok(AsnInfo {
            asn: raw.autonomous_system_number,
            as_organization: non_empty(raw.autonomous_system_organization),
            isp: non_empty(raw.isp),
            organization: non_empty(raw.organization),
            prefix_len,
        })
    }

    /// The file this database was opened from.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The `database_type` from the metadata, e.g. `GeoLite2-ASN`.
    pub fn database_type(&self) -> &str {
        &self.db.metadata().database_type
    }

    /// The build time from the metadata, in seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.db.metadata().build_epoch
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
