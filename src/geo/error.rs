//! `GeoError`: failures opening or querying MaxMind databases, naming the file involved.

use std::net::IpAddr;
use std::path::PathBuf;

/// Error from the geo module. Every variant names the database file and the reason.
///
/// The underlying [`maxminddb::MaxMindDbError`] is kept in the `cause` field and rendered
/// in the message, but deliberately not exposed through `Error::source()`, so that error
/// chains printed with `{:#}` do not repeat it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read, memory-mapped, or is not a valid MaxMind DB.
    #[error("cannot open MaxMind database {}: {cause}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why it failed.
        cause: maxminddb::MaxMindDbError,
    },
    /// The search tree or the record for an address could not be decoded.
    #[error("lookup of {addr} in MaxMind database {} failed: {cause}", path.display())]
    Lookup {
        /// The database file.
        path: PathBuf,
        /// The address being looked up.
        addr: IpAddr,
        /// Why it failed.
        cause: maxminddb::MaxMindDbError,
    },
}
