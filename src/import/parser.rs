//! The master file reader: directives (`$ORIGIN`, `$TTL`, `$INCLUDE`), owners, TTLs and
//! classes, and the records they make.
//!
//! Default TTLs follow RFC 1035 §5.1 and RFC 2308 §4 as NSD (since 4.10) and BIND read
//! them: a record without a TTL gets the `$TTL` value when there is one, else the last
//! TTL written on an earlier record. When no TTL is known yet, an SOA gets its own
//! MINIMUM field (as BIND does) and any other record 3600 (NSD's default), each with a
//! warning.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::{ImportError, SyntaxError};
use super::lexer::{self, Entry, Token};
use super::name::Name;
use super::rdata::{self, Rdata, RdataError};
use super::rtype::{self, RType, TypeField};
use super::ttl;
use super::Findings;
use crate::config::{Position, Problem};

/// The TTL NSD gives records when the file states none.
pub const FALLBACK_TTL: u32 = 3600;

/// Nested `$INCLUDE`s allowed (NSD's limit); more is taken for an include loop.
const MAX_INCLUDE_DEPTH: usize = 10;

/// One record read from the file.
#[derive(Debug, Clone)]
pub struct Record {
    pub owner: Name,
    pub ttl: u32,
    pub rdata: Rdata,
    pub file: PathBuf,
    pub line: usize,
}

impl Record {
    pub fn rtype(&self) -> RType {
        match self.rdata {
            Rdata::Soa(_) => RType::Soa,
            Rdata::A(_) => RType::A,
            Rdata::Aaaa(_) => RType::Aaaa,
            Rdata::Cname(_) => RType::Cname,
            Rdata::Ns(_) => RType::Ns,
            Rdata::Ptr(_) => RType::Ptr,
            Rdata::Mx { .. } => RType::Mx,
            Rdata::Txt(_) => RType::Txt,
            Rdata::Srv { .. } => RType::Srv,
            Rdata::Caa { .. } => RType::Caa,
            Rdata::Ds { .. } => RType::Ds,
        }
    }
}

/// Reads `path` (and what it includes) with `origin` as the initial origin. Problems go
/// to `findings`; the records that were read come back.
pub fn read(
    path: &Path,
    origin: Option<Name>,
    findings: &mut Findings,
) -> Result<Vec<Record>, ImportError> {
    let input = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Reader {
        origin,
        dollar_ttl: None,
        last_ttl: None,
        owner: None,
        owner_failed: false,
        depth: 0,
        records: Vec::new(),
        findings,
    };
    reader.file(path, &input);
    Ok(reader.records)
}

struct Reader<'a> {
    origin: Option<Name>,
    dollar_ttl: Option<u32>,
    last_ttl: Option<u32>,
    owner: Option<Name>,
    /// The last owner field could not be read (and was reported): the lines that carry it
    /// over are skipped without more errors.
    owner_failed: bool,
    depth: usize,
    records: Vec<Record>,
    findings: &'a mut Findings,
}

impl Reader<'_> {
    fn file(&mut self, path: &Path, input: &[u8]) {
        let entries = match lexer::entries(input) {
            Ok(e) => e,
            Err(e) => return self.syntax(path, e),
        };
        for entry in &entries {
            let first = &entry.tokens[0];
            if !entry.starts_blank && !first.quoted && first.text.starts_with(b"$") {
                self.directive(path, entry);
            } else if let Err(e) = self.record(path, entry) {
                self.syntax(path, e);
            }
        }
    }

    fn syntax(&mut self, path: &Path, e: SyntaxError) {
        self.findings.errors.push(Problem {
            file: path.to_path_buf(),
            position: Position::LineColumn(e.line, e.column),
            message: e.message,
        });
    }

    fn unsupported(&mut self, path: &Path, line: usize, message: String) {
        self.findings.unsupported.push(Problem {
            file: path.to_path_buf(),
            position: Position::Line(line),
            message,
        });
    }

    fn warn(&mut self, path: &Path, line: usize, message: String) {
        self.findings.warnings.push(Problem {
            file: path.to_path_buf(),
            position: Position::Line(line),
            message,
        });
    }

    fn directive(&mut self, path: &Path, entry: &Entry) {
        let t = &entry.tokens;
        let word = String::from_utf8_lossy(&t[0].text).to_ascii_uppercase();
        let args = &t[1..];
        let want = |n: std::ops::RangeInclusive<usize>| -> Result<(), SyntaxError> {
            if n.contains(&args.len()) {
                return Ok(());
            }
            let at = args.get(*n.end()).unwrap_or(&t[0]);
            Err(SyntaxError::new(
                at.line,
                at.column,
                format!("{word} takes {} argument(s)", describe(&n)),
            ))
        };
        let result = match word.as_str() {
            "$ORIGIN" => want(1..=1).and_then(|()| {
                let o = Name::parse(&args[0].text, self.origin.as_ref())
                    .map_err(|e| at(&args[0], e))?;
                self.origin = Some(o);
                Ok(())
            }),
            "$TTL" => want(1..=1).and_then(|()| {
                self.dollar_ttl = Some(parse_ttl(&args[0])?);
                Ok(())
            }),
            "$INCLUDE" => want(1..=2).and_then(|()| self.include(path, args)),
            "$GENERATE" => {
                self.unsupported(
                    path,
                    entry.line,
                    "$GENERATE cannot be expressed; expand it first \
                     (named-compilezone -o - ZONE FILE prints the expanded records)"
                        .into(),
                );
                Ok(())
            }
            _ => Err(at(&t[0], format!("unknown directive `{}`", t[0].show()))),
        };
        if let Err(e) = result {
            self.syntax(path, e);
        }
    }

    /// `$INCLUDE file [origin]`: the file is relative to the including file's directory;
    /// the origin (and the current owner, as BIND does) come back afterwards.
    fn include(&mut self, path: &Path, args: &[Token]) -> Result<(), SyntaxError> {
        let bytes = unescaped(&args[0])?;
        let file = Path::new(std::ffi::OsStr::from_bytes(&bytes));
        let file = match path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_path_buf(),
        };
        let origin = match args.get(1) {
            Some(t) => Some(Name::parse(&t.text, self.origin.as_ref()).map_err(|e| at(t, e))?),
            None => self.origin.clone(),
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(at(
                &args[0],
                format!("more than {MAX_INCLUDE_DEPTH} nested $INCLUDEs (an include loop?)"),
            ));
        }
        let input = std::fs::read(&file)
            .map_err(|e| at(&args[0], format!("cannot read {}: {e}", file.display())))?;
        let saved = (
            std::mem::replace(&mut self.origin, origin),
            self.owner.take(),
        );
        self.depth += 1;
        self.file(&file, &input);
        self.depth -= 1;
        (self.origin, self.owner) = saved;
        Ok(())
    }

    fn record(&mut self, path: &Path, entry: &Entry) -> Result<(), SyntaxError> {
        let t = &entry.tokens;
        let mut i = 0;
        let owner = if entry.starts_blank {
            if self.owner_failed {
                return Ok(());
            }
            self.owner.clone().ok_or_else(|| {
                at(
                    &t[0],
                    "the line starts with white space but no earlier record has an owner",
                )
            })?
        } else {
            i = 1;
            let parsed = Name::parse(&t[0].text, self.origin.as_ref());
            self.owner_failed = parsed.is_err();
            self.owner = parsed.as_ref().ok().cloned();
            parsed.map_err(|e| at(&t[0], e))?
        };
        let mut class = None;
        let mut explicit_ttl = None;
        let fields_start = i;
        while i < t.len() && i < fields_start + 2 {
            if class.is_none() {
                if let Some(c) = rtype::parse_class(&t[i].text).filter(|_| !t[i].quoted) {
                    class = Some(c);
                    i += 1;
                    continue;
                }
            }
            if explicit_ttl.is_none() && ttl::parse(&t[i].text).is_some() {
                explicit_ttl = Some(parse_ttl(&t[i])?);
                i += 1;
                continue;
            }
            break;
        }
        if let Some(v) = explicit_ttl {
            self.last_ttl = Some(v);
        }
        let type_token = t.get(i).ok_or_else(|| {
            let last = &t[t.len() - 1];
            at(last, "missing the record type")
        })?;
        let field = rtype::parse(&type_token.text)
            .filter(|_| !type_token.quoted)
            .ok_or_else(|| {
                at(
                    type_token,
                    format!("`{}` is not a record type, TTL or class", type_token.show()),
                )
            })?;
        let rdata_tokens = &t[i + 1..];
        let last = &t[t.len() - 1];
        let end = (
            last.line,
            last.column + last.text.len() + 2 * usize::from(last.quoted),
        );
        let rtype = match field {
            TypeField::Other(name) => {
                self.unsupported(
                    path,
                    type_token.line,
                    format!("{name} records cannot be expressed in gslbd zone JSON"),
                );
                return Ok(());
            }
            TypeField::Supported(r) => r,
        };
        if let Some(c) = class.filter(|c| c != "IN") {
            self.unsupported(
                path,
                type_token.line,
                format!("class {c} cannot be expressed (gslbd serves class IN only)"),
            );
            return Ok(());
        }
        let rdata = match rdata::parse(rtype, rdata_tokens, self.origin.as_ref(), end) {
            Ok(r) => r,
            Err(RdataError::Syntax(e)) => return Err(e),
            Err(RdataError::Unsupported(m)) => {
                self.unsupported(path, type_token.line, m);
                return Ok(());
            }
        };
        let ttl = match (explicit_ttl, self.dollar_ttl, self.last_ttl, &rdata) {
            (Some(v), _, _, _) | (None, Some(v), _, _) | (None, None, Some(v), _) => v,
            (None, None, None, Rdata::Soa(soa)) => {
                self.warn(
                    path,
                    entry.line,
                    format!(
                        "no TTL given and no $TTL before; the SOA gets its MINIMUM {} as \
                         BIND does (NSD would use {FALLBACK_TTL})",
                        soa.minimum
                    ),
                );
                self.last_ttl = Some(soa.minimum);
                soa.minimum
            }
            (None, None, None, _) => {
                self.warn(
                    path,
                    entry.line,
                    format!("no TTL given and no $TTL before; using {FALLBACK_TTL} as NSD does"),
                );
                FALLBACK_TTL
            }
        };
        self.records.push(Record {
            owner,
            ttl,
            rdata,
            file: path.to_path_buf(),
            line: type_token.line,
        });
        Ok(())
    }
}

fn at(t: &Token, message: impl Into<String>) -> SyntaxError {
    SyntaxError::new(t.line, t.column, message)
}

fn parse_ttl(t: &Token) -> Result<u32, SyntaxError> {
    match ttl::parse(&t.text) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(at(t, e)),
        None => Err(at(t, format!("`{}` is not a TTL", t.show()))),
    }
}

fn unescaped(t: &Token) -> Result<Vec<u8>, SyntaxError> {
    rdata::decode_string(t)
}

fn describe(n: &std::ops::RangeInclusive<usize>) -> String {
    if n.start() == n.end() {
        n.start().to_string()
    } else {
        format!("{} or {}", n.start(), n.end())
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
