//! `Mmdb`: the in-memory MaxMind reader shared by `LocationDb` and `AsnDb`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::Deserialize;

use super::error::GeoError;

/// A MaxMind DB read into memory, plus the path it came from (for error messages).
///
/// The file is read once rather than memory-mapped: a mapping turns an in-place rewrite of
/// the file (`cp`, `curl -o`) into SIGBUS on the query path, while a private copy makes any
/// way of replacing the file safe. Memory use is the same as a fully touched mapping.
#[derive(Debug)]
pub(super) struct Mmdb {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
}

impl Mmdb {
    /// Reads a MaxMind DB file and validates its header.
    pub(super) fn open(path: &Path) -> Result<Self, GeoError> {
        let err = |cause| GeoError::Open {
            path: path.to_owned(),
            cause,
        };
        let bytes = std::fs::read(path).map_err(|e| err(maxminddb::MaxMindDbError::Io(e)))?;
        let reader = Reader::from_source(bytes).map_err(err)?;
        Ok(Mmdb {
            reader,
            path: path.to_owned(),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn metadata(&self) -> &maxminddb::Metadata {
        self.reader.metadata()
    }

    /// Looks `addr` up and decodes its record as `T`.
    ///
    /// IPv4-mapped IPv6 addresses are looked up as IPv4. Returns the record (`None` when the
    /// address has no data) and the prefix length of the database network the address falls
    /// in, in the terms of the canonical address family (0..=32 for IPv4 even in an IPv6
    /// database). An IPv6 address in an IPv4-only database has no data and length 0.
    pub(super) fn lookup<'a, T: Deserialize<'a>>(
        &'a self,
        addr: IpAddr,
    ) -> Result<(Option<T>, u8), GeoError> {
        let addr = addr.to_canonical();
        if addr.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok((None, 0));
        }
        let err = |cause| GeoError::Lookup {
            path: self.path.clone(),
            addr,
            cause,
        };
        let result = self.reader.lookup(addr).map_err(err)?;
        let network = result.network().map_err(err)?;
        // For an IPv4 address in an IPv6 database whose tree ends above the IPv4 subtree,
        // the network is an IPv6 block containing all of IPv4: the IPv4 prefix is /0.
        let prefix_len = if network.is_ipv4() == addr.is_ipv4() {
            network.prefix()
        } else {
            0
        };
        let record = result.decode::<T>().map_err(err)?;
        Ok((record, prefix_len))
    }
}

/// The prefix length to report when a lookup fails: the full address length, so that a
/// failure is never generalised to a wider block.
pub(super) fn host_len(addr: IpAddr) -> u8 {
    if addr.to_canonical().is_ipv4() {
        32
    } else {
        128
    }
}

/// Treats missing and empty strings alike.
pub(super) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}
