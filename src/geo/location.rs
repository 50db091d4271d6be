//! `LocationDb`: country / continent / subdivision lookups in GeoIP2/GeoLite2 City or Country DBs.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{LookupResult, MaxMindDbError};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::error::GeoError;
use super::mmdb::{non_empty, DbInfo, FlatRecord, Mmdb};

/// A GeoIP2/GeoLite2 City or Country database (or any DB with the same record layout),
/// flattened into memory at open time.
#[derive(Debug)]
pub struct LocationDb {
    db: Mmdb<Location>,
}

/// Where an address is, as far as the database knows. Codes are upper-case ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Location {
    /// ISO 3166-1 alpha-2 country (`country.iso_code`, else `registered_country.iso_code`).
    pub country: Option<[u8; 2]>,
    /// Two-letter continent code (`continent.code`): AF AN AS EU NA OC SA.
    pub continent: Option<[u8; 2]>,
    /// First (largest) subdivision's ISO 3166-2 code without the country part, e.g. `CA`.
    pub subdivision: Option<SubdivisionCode>,
    /// Length of the widest aligned block around the address in which every address gets
    /// the same location (0..=32 for IPv4, including IPv4-mapped IPv6 input; 0..=128 for
    /// IPv6): at least as wide as the database network, wider where neighbouring networks
    /// say the same. Also set when nothing was found.
    pub prefix_len: u8,
}

/// The subdivision part of an ISO 3166-2 code (1 to 3 ASCII letters/digits), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubdivisionCode {
    bytes: [u8; SubdivisionCode::MAX_LEN],
    len: u8,
}

impl SubdivisionCode {
    /// The longest subdivision code ISO 3166-2 allows after the `CC-` part.
    pub const MAX_LEN: usize = 3;

    /// Parses a code such as `CA` or `ENG` (case-insensitive; stored upper-case).
    /// Returns `None` if it is empty, too long, or not ASCII alphanumeric.
    pub fn new(code: &str) -> Option<Self> {
        let src = code.as_bytes();
        if src.is_empty() || src.len() > Self::MAX_LEN {
            return None;
        }
        let mut bytes = [0; Self::MAX_LEN];
        for (dst, &b) in bytes.iter_mut().zip(src) {
            if !b.is_ascii_alphanumeric() {
                return None;
            }
            *dst = b.to_ascii_uppercase();
        }
        Some(SubdivisionCode {
            bytes,
            len: src.len() as u8,
        })
    }

    /// The code, e.g. `"CA"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("validated ASCII")
    }
}

impl fmt::Debug for SubdivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SubdivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Location {
    /// Nothing known, in a block of length `prefix_len`.
    pub fn unknown(prefix_len: u8) -> Self {
        Location {
            prefix_len,
            ..Location::default()
        }
    }

    /// The country code as a string, e.g. `"US"`.
    pub fn country_str(&self) -> Option<&str> {
        self.country.as_ref().map(code_str)
    }

    /// The continent code as a string, e.g. `"NA"`.
    pub fn continent_str(&self) -> Option<&str> {
        self.continent.as_ref().map(code_str)
    }

    /// True if the country is `code` (ASCII case-insensitive), e.g. `"us"`.
    pub fn is_country(&self, code: &str) -> bool {
        self.country_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    }

    /// True if the continent is `code` (ASCII case-insensitive), e.g. `"EU"`.
    pub fn is_continent(&self, code: &str) -> bool {
        self.continent_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    }

    /// True if the address is in the ISO 3166-2 subdivision `code`, written with its
    /// country as in `"US-CA"` (ASCII case-insensitive). Does not allocate.
    pub fn is_subdivision(&self, code: &str) -> bool {
        let (Some(country), Some(sub)) = (self.country_str(), self.subdivision) else {
            return false;
        };
        match code.split_once('-') {
            Some((c, s)) => c.eq_ignore_ascii_case(country) && s.eq_ignore_ascii_case(sub.as_str()),
            None => false,
        }
    }
}

fn code_str(code: &[u8; 2]) -> &str {
    std::str::from_utf8(code).expect("validated ASCII")
}

/// Two ASCII letters, upper-cased.
fn code2(s: Option<&str>) -> Option<[u8; 2]> {
    match non_empty(s)?.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

impl LocationDb {
    /// Reads a City or Country database and flattens it into an in-memory table (see the
    /// module docs of `geo::mmdb`): every record is decoded here, so a corrupt database fails
    /// to open rather than failing lookups. The file is not used after this returns.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoError> {
        Ok(LocationDb {
            db: Mmdb::open(path.as_ref())?,
        })
    }

    /// Looks up `addr`. Never fails and does not allocate. `prefix_len` is the widest block
    /// around `addr` with the same answer, which may be wider than the database network.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Location {
        let (record, prefix_len) = self.db.lookup(addr);
        Location {
            prefix_len,
            ..record.copied().unwrap_or_default()
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
    }
}

/// Stored records are `Location`s with `prefix_len` 0; equal locations are stored once.
impl FlatRecord for Location {
    type Key<'a> = Location;

    fn decode<'a, S: AsRef<[u8]>>(found: &LookupResult<'a, S>) -> Result<Location, MaxMindDbError> {
        Ok(found
            .decode::<RawLocation<'_>>()?
            .map(RawLocation::into_location)
            .unwrap_or_default())
    }

    fn is_empty(key: &Location) -> bool {
        *key == Location::default()
    }

    fn from_key(key: Location) -> Self {
        key
    }
}

impl RawLocation<'_> {
    /// The compact form, with `prefix_len` 0.
    fn into_location(self) -> Location {
        Location {
            country: code2(self.country.iso_code)
                .or_else(|| code2(self.registered_country.iso_code)),
            continent: code2(self.continent.code),
            subdivision: non_empty(self.subdivisions).and_then(SubdivisionCode::new),
            prefix_len: 0,
        }
    }
}

/// The only parts of a City/Country record that are decoded; everything else is skipped.
#[derive(Deserialize, Default)]
struct RawLocation<'a> {
    #[serde(borrow, default)]
    country: RawIso<'a>,
    #[serde(borrow, default)]
    registered_country: RawIso<'a>,
    #[serde(borrow, default)]
    continent: RawContinent<'a>,
    #[serde(borrow, default, deserialize_with = "first_subdivision")]
    subdivisions: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct RawIso<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct RawContinent<'a> {
    #[serde(borrow, default)]
    code: Option<&'a str>,
}

/// Decodes `subdivisions` as the `iso_code` of its first element, skipping the rest
/// without collecting them.
fn first_subdivision<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<&'de str>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of subdivisions")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<RawIso<'de>>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first.and_then(|s| s.iso_code))
        }
    }
    d.deserialize_seq(First)
}

#[cfg(test)]
pub(super) mod tests;
