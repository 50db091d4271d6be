//! `Mmdb`: a MaxMind DB flattened at open time into a prefix table over interned records.
//!
//! Opening reads the file, walks its whole search tree once, decodes every distinct data
//! record once into the caller's compact form ([`FlatRecord`]), interns equal records to one
//! id, and builds a [`PrefixTable`] over the networks. The file and the `maxminddb` reader are
//! dropped afterwards: a lookup is one prefix-table lookup plus an index, with no decoding, no
//! allocation and no failure path. A database that cannot be walked or decoded fails to open.
//!
//! The reported scope is the prefix table's: the widest aligned block around the address in
//! which every address gets the same decoded record. Adjacent networks whose records decode
//! alike are merged first, so the block may be wider than the database network (which is
//! what an ECS scope wants), and networks whose record decodes to nothing are treated like
//! addresses without data.
//!
//! IPv6 trees: IPv4 lives in the `::/96` subtree, as in `maxminddb`'s own lookups. Other
//! pointers into that subtree (MaxMind's aliases: `2001::/32` Teredo, `2002::/16` 6to4) are not
//! walked again but stored as one alias entry each, resolved at lookup time through the IPv4
//! ranges, which gives IPv6 addresses there the answer `maxminddb` gives. `::ffff:0:0/96` is
//! not stored at all: IPv4-mapped addresses are looked up as IPv4.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use maxminddb::{LookupResult, MaxMindDbError, Reader};

mod flatten;

use flatten::Builder;

use super::error::GeoError;
use super::prefix_table::PrefixTable;

/// A record type that a database is flattened into.
pub(super) trait FlatRecord: Sized {
    /// The decoded form of a data record, possibly borrowing from the file. Records with
    /// equal keys are stored once and give the same answers.
    type Key<'a>: Copy + Eq + Hash;

    /// Decodes the data record of a lookup that found data.
    fn decode<'a, S: AsRef<[u8]>>(
        found: &LookupResult<'a, S>,
    ) -> Result<Self::Key<'a>, MaxMindDbError>;

    /// True if the key says nothing (the same answer as an address without data).
    fn is_empty(key: &Self::Key<'_>) -> bool;

    /// The stored form of a non-empty key.
    fn from_key(key: Self::Key<'_>) -> Self;
}

/// Facts about an opened database, for logs and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbInfo<'a> {
    /// The file it was opened from.
    pub path: &'a Path,
    /// The `database_type` from the metadata, e.g. `GeoLite2-City`.
    pub database_type: &'a str,
    /// The build time from the metadata, in seconds since the Unix epoch.
    pub build_epoch: u64,
    /// Number of distinct non-empty records.
    pub records: usize,
}

/// A flattened MaxMind DB: a prefix table whose values index the interned records.
#[derive(Debug)]
pub(super) struct Mmdb<R> {
    table: PrefixTable<u32>,
    /// `records[i - 1]` is record id `i`; id 0 (no data, or an empty record) is not stored.
    records: Box<[R]>,
    /// The IPv6 prefixes `(first address, length)` whose lookups continue in the IPv4 space.
    aliases: Box<[(u128, u8)]>,
    path: PathBuf,
    database_type: String,
    build_epoch: u64,
}

/// Table value for an IPv6 prefix whose lookups continue in the IPv4 subtree.
const ALIAS: u32 = u32::MAX;

/// `::ffff:0:0`, the start of the IPv4-mapped block.
const MAPPED: u128 = 0xFFFF << 32;

impl<R: FlatRecord> Mmdb<R> {
    /// Reads and flattens a MaxMind DB file. Any problem with the file, its search tree or a
    /// record is an error naming the file.
    pub(super) fn open(path: &Path) -> Result<Self, GeoError> {
        let err = |cause| GeoError::Open {
            path: path.to_owned(),
            cause,
        };
        let bytes = std::fs::read(path).map_err(|e| err(MaxMindDbError::Io(e)))?;
        let reader = Reader::from_source(bytes.as_slice()).map_err(err)?;
        let (table, records) = Builder::<R>::build(&reader, &bytes).map_err(err)?;
        let metadata = reader.metadata();
        let mut aliases: Vec<(u128, u8)> = table
            .v6_ranges()
            .filter_map(|(start, m)| {
                let m = m.first().filter(|m| m.value == ALIAS)?;
                let len = u32::from(m.prefix_len);
                Some((
                    start & !(u128::MAX.checked_shr(len).unwrap_or(0)),
                    m.prefix_len,
                ))
            })
            .collect();
        aliases.dedup();
        Ok(Mmdb {
            aliases: aliases.into_boxed_slice(),
            table,
            records: records.into_boxed_slice(),
            path: path.to_owned(),
            database_type: metadata.database_type.clone(),
            build_epoch: metadata.build_epoch,
        })
    }

    /// The record for `addr` (`None` when the database has nothing for it) and the length
    /// of the widest aligned block around `addr` whose addresses all get that answer, in the
    /// terms of the canonical address family (0..=32 for IPv4 and IPv4-mapped IPv6).
    #[inline]
    pub(super) fn lookup(&self, addr: IpAddr) -> (Option<&R>, u8) {
        let addr = addr.to_canonical();
        let l = self.table.lookup(addr);
        let first = l.matches.first();
        let IpAddr::V6(a) = addr else {
            return (first.and_then(|m| self.record(m.value)), l.scope);
        };
        let a = u128::from(a);
        match first {
            Some(m) if m.value == ALIAS => {
                // Aliases are IPv6 prefixes of length <= 96: the 32 bits after the prefix are
                // the IPv4 address to look up.
                let v4 = ((a << m.prefix_len) >> 96) as u32;
                let l4 = self.table.lookup(IpAddr::V4(Ipv4Addr::from(v4)));
                let record = l4.matches.first().and_then(|m| self.record(m.value));
                (record, m.prefix_len + l4.scope)
            }
            _ => {
                // ::ffff:0:0/96 is looked up as IPv4, so an IPv6 block must not contain it:
                // at least one bit longer than the prefix `a` shares with it.
                let scope = l.scope.max(((a ^ MAPPED).leading_zeros() + 1) as u8);
                (first.and_then(|m| self.record(m.value)), scope)
            }
        }
    }

    #[inline]
    fn record(&self, id: u32) -> Option<&R> {
        self.records.get((id as usize).wrapping_sub(1))
    }

    /// What the database is: file, type, build time and size.
    pub(super) fn info(&self) -> DbInfo<'_> {
        DbInfo {
            path: &self.path,
            database_type: &self.database_type,
            build_epoch: self.build_epoch,
            records: self.records.len(),
        }
    }

    /// The IPv6 prefixes `(first address, length)` whose addresses get the answer of the
    /// IPv4 address in the 32 bits after the prefix (MaxMind's IPv4 aliases).
    pub(super) fn aliases(&self) -> &[(u128, u8)] {
        &self.aliases
    }

    /// The distinct non-empty records.
    pub(super) fn records(&self) -> &[R] {
        &self.records
    }

    /// Heap bytes of the prefix table plus the record array (not what records own).
    pub(super) fn heap_bytes(&self) -> usize {
        self.table.heap_bytes() + std::mem::size_of_val::<[R]>(&self.records)
    }
}

/// Treats missing and empty strings alike.
pub(super) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}
