//! `gslbd import`: an RFC 1035 master file (as BIND, NSD and Knot write it) → zone JSON.
//!
//! [`lexer`] cuts the file into entries of tokens, [`parser`] follows the directives and
//! reads owners, TTLs, classes and RDATA ([`rdata`]), [`zone`] groups the records into
//! names and RRsets and checks them against what gslbd serves, [`json`] writes the result.

mod error;
mod json;
mod lexer;
mod name;
mod parser;
mod rdata;
mod rtype;
mod ttl;
mod zone;

use std::path::{Path, PathBuf};

pub use error::ImportError;

use crate::config::{Position, Problem, Problems};
use name::Name;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The origin relative names start from (`--origin`); by default taken from the file
    /// name (see [`origin_from_file_name`]).
    pub origin: Option<String>,
    /// Skip records the JSON cannot express (with a warning each) instead of failing.
    pub skip_unsupported: bool,
}

/// A successful import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The zone JSON, ending with a newline.
    pub json: String,
    /// The zone's origin (`example.com.`); the JSON belongs in `<origin without dot>.json`.
    pub origin: String,
    /// Warnings (TTL mismatches in an RRset, skipped records, guessed TTLs), each with its
    /// file and line.
    pub warnings: Vec<Problem>,
}

/// What reading found, by consequence.
#[derive(Debug, Default)]
pub struct Findings {
    /// Syntax errors and zones that cannot be served: always fatal.
    pub errors: Vec<Problem>,
    /// Records the JSON cannot express: fatal unless skipped.
    pub unsupported: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Imports the master file at `path`.
pub fn import(path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let origin = match &options.origin {
        Some(o) => Some(parse_origin(o).map_err(|m| {
            ImportError::Problems(Problems(vec![Problem::in_file(
                path,
                format!("--origin: {m}"),
            )]))
        })?),
        None => origin_from_file_name(path),
    };
    let mut findings = Findings::default();
    let records = parser::read(path, origin.clone(), &mut findings)?;
    let zone = zone::build(path, records, &mut findings);
    if let (Some(zone), Some(given)) = (&zone, &origin) {
        if options.origin.is_some() && zone.origin != *given {
            findings.errors.push(Problem::in_file(
                path,
                format!(
                    "the SOA is at `{}`, not at the origin `{given}` given with --origin",
                    zone.origin
                ),
            ));
        }
    }
    let mut order = Vec::new();
    for p in findings
        .errors
        .iter()
        .chain(&findings.unsupported)
        .chain(&findings.warnings)
    {
        if !order.contains(&p.file) {
            order.push(p.file.clone());
        }
    }
    let sort = |v: &mut Vec<Problem>| v.sort_by_key(|p| sort_key(p, &order));
    let mut fatal = findings.errors;
    let mut warnings = findings.warnings;
    if options.skip_unsupported {
        warnings.extend(findings.unsupported.into_iter().map(|mut p| {
            p.message = format!("skipped: {}", p.message);
            p
        }));
    } else {
        fatal.extend(findings.unsupported);
    }
    sort(&mut fatal);
    sort(&mut warnings);
    match zone {
        Some(zone) if fatal.is_empty() => Ok(Imported {
            json: json::write(&zone),
            origin: zone.origin.to_string(),
            warnings,
        }),
        _ => Err(ImportError::Problems(Problems(fatal))),
    }
}

fn sort_key(p: &Problem, order: &[PathBuf]) -> (usize, usize, usize) {
    let file = order.iter().position(|f| *f == p.file).unwrap_or(0);
    match p.position {
        Position::LineColumn(l, c) => (file, l, c),
        Position::Line(l) => (file, l, 0),
        _ => (file, 0, 0),
    }
}

/// An origin given on the command line; a missing final dot is added.
fn parse_origin(text: &str) -> Result<Name, String> {
    let text = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    Name::parse(text.as_bytes(), None)
}

/// The origin the file name suggests: the name without a `.zone`, `.db` or `.txt`
/// extension and without BIND's customary `db.` prefix, when what is left has a dot in it
/// (`example.com.zone`, `db.example.com`, `example.com` → `example.com.`). Names like
/// `zonefile` suggest nothing: relative names before the first `$ORIGIN` are then errors.
pub fn origin_from_file_name(path: &Path) -> Option<Name> {
    let name = path.file_name()?.to_str()?;
    let mut stem = name;
    for ext in [".zone", ".db", ".txt"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    let stem = stem.strip_prefix("db.").unwrap_or(stem);
    if !stem.contains('.') || stem.ends_with('.') {
        return None;
    }
    parse_origin(stem).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_from_the_file_name() {
        let o = |p: &str| origin_from_file_name(Path::new(p)).map(|n| n.to_string());
        assert_eq!(o("zones/example.com.zone").as_deref(), Some("example.com."));
        assert_eq!(
            o("/etc/bind/db.example.org").as_deref(),
            Some("example.org.")
        );
        assert_eq!(o("example.net").as_deref(), Some("example.net."));
        assert_eq!(
            o("2.0.192.in-addr.arpa.db").as_deref(),
            Some("2.0.192.in-addr.arpa.")
        );
        assert_eq!(o("zonefile"), None);
        assert_eq!(o("primary.zone"), None);
    }
}
