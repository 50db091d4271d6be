//! `GeoError`: failures opening MaxMind databases, naming the file involved.

use std::path::PathBuf;

/// Error from the geo module. Every variant names the database file and the reason.
///
/// The underlying [`maxminddb::MaxMindDbError`] is kept in the `cause` field and rendered
/// in the message, but deliberately not exposed through `Error::source()`, so that error
/// chains printed with `{:#}` do not repeat it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read, is not a valid MaxMind DB, or a record in it cannot be
    /// decoded. (Lookups cannot fail: databases are compiled into tables when opened.)
    #[error("cannot open MaxMind database {}: {cause}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why it failed.
        cause: maxminddb::MaxMindDbError,
    },
}
