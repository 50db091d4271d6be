//! BIND key files: reading a key pair (`NAME.key`, the DNSKEY record; `NAME.private`, the
//! private key) as dnssec-keygen, ldns-keygen and `gslbd dnssec keygen` write them, or
//! `NAME.key` and `NAME.pem` from Knot's keymgr.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use data_encoding::BASE64;

use super::key::{Algorithm, Key, KeyError, FLAGS_KSK, FLAGS_ZSK};
use crate::dns::name::WireName;

/// A key file that cannot be used: which file, which line when known, and why.
#[derive(Debug)]
pub struct KeyFileError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub problem: KeyFileProblem,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for KeyFileError {}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileProblem {
    #[error("does not exist")]
    Missing,
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("{0}")]
    Syntax(String),
    #[error("bad base64 in the {field}: {error}")]
    Base64 { field: &'static str, error: String },
    #[error("the key is of zone `{owner}`, not of `{zone}`")]
    OtherZone { owner: String, zone: String },
    #[error(
        "flags {0}: gslbd uses zone keys with flags 256 (ZSK) or 257 (KSK); \
         revoked and non-zone keys are not supported"
    )]
    Flags(u16),
    #[error("algorithm {number}{}: not supported (use 13, ECDSAP256SHA256, or 15, ED25519)",
            mnemonic_of(*.number).map(|m| format!(" ({m})")).unwrap_or_default())]
    Algorithm { number: u8 },
    #[error("algorithm {private} here but {public} in {key_file}")]
    AlgorithmMismatch {
        private: u8,
        public: u8,
        key_file: String,
    },
    #[error("the private key does not match the public key in {key_file}")]
    Mismatch { key_file: String },
    #[error("{0}")]
    Key(KeyError),
}

/// The DNSKEY record of a `.key` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnskeyRecord {
    pub owner: WireName,
    pub flags: u16,
    pub algorithm: u8,
    pub public: Vec<u8>,
    /// The line the record starts on.
    pub line: usize,
}

/// DNSSEC algorithm mnemonics (RFC 8624 and the IANA registry), for reading the algorithm
/// field and naming unsupported algorithms.
const MNEMONICS: [(u8, &str); 12] = [
    (1, "RSAMD5"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
];

fn mnemonic_of(n: u8) -> Option<&'static str> {
    MNEMONICS.iter().find(|(k, _)| *k == n).map(|(_, m)| *m)
}

/// An algorithm field: a number or a mnemonic (RFC 4034 §A.1 allows both).
pub(crate) fn algorithm_number(text: &str) -> Option<u8> {
    text.parse::<u8>().ok().or_else(|| {
        MNEMONICS
            .iter()
            .find(|(_, m)| m.eq_ignore_ascii_case(text))
            .map(|(n, _)| *n)
    })
}

/// `base` with `suffix` appended to its file name (`Kexample.com.+013+12345` + `.key`).
pub fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(base.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// Loads the key pair `base.key` / `base.private` of zone `origin` (without `base.private`,
/// `base.pem`: a PKCS#8 key as keymgr stores it): the DNSKEY must be the zone's, a zone key
/// (flags 256 or 257), of algorithm 13 or 15, and the private key its own.
pub fn load_pair(base: &Path, origin: &WireName) -> Result<Key, KeyFileError> {
    let key_path = with_suffix(base, ".key");
    let private_path = with_suffix(base, ".private");
    let key_file_name = file_name(&key_path);
    let err = |file: &Path, line, problem| KeyFileError {
        file: file.to_path_buf(),
        line,
        problem,
    };
    let text = read(&key_path)?;
    let record = parse_key_file(&text).map_err(|(line, p)| err(&key_path, Some(line), p))?;
    let at_key = |p| err(&key_path, Some(record.line), p);
    if record.owner != *origin {
        return Err(at_key(KeyFileProblem::OtherZone {
            owner: record.owner.to_string(),
            zone: origin.to_string(),
        }));
    }
    if record.flags != FLAGS_ZSK && record.flags != FLAGS_KSK {
        return Err(at_key(KeyFileProblem::Flags(record.flags)));
    }
    let Some(alg) = Algorithm::from_number(record.algorithm) else {
        return Err(at_key(KeyFileProblem::Algorithm {
            number: record.algorithm,
        }));
    };
    if record.public.len() != alg.public_len() {
        return Err(at_key(KeyFileProblem::Key(KeyError::PublicLength {
            algorithm: record.algorithm,
            got: record.public.len(),
            want: alg.public_len(),
        })));
    }
    // The private half: BIND's `.private`, or else a PEM key (Knot's keymgr keeps its keys so).
    let pem_path = with_suffix(base, ".pem");
    let pem = !private_path.exists() && pem_path.exists();
    let private_path = if pem { pem_path } else { private_path };
    let text = read(&private_path)?;
    let private = if pem {
        parse_pem(&text)
    } else {
        parse_private_file(&text)
    }
    .map_err(|(line, p)| err(&private_path, Some(line), p))?;
    if private.algorithm != record.algorithm {
        return Err(err(
            &private_path,
            Some(private.algorithm_line),
            KeyFileProblem::AlgorithmMismatch {
                private: private.algorithm,
                public: record.algorithm,
                key_file: key_file_name,
            },
        ));
    }
    Key::from_parts(
        record.flags,
        record.algorithm,
        &record.public,
        &private.private,
    )
    .map_err(|e| match e {
        KeyError::Mismatch => err(
            &private_path,
            None,
            KeyFileProblem::Mismatch {
                key_file: key_file_name.clone(),
            },
        ),
        e @ KeyError::PrivateLength { .. } => err(
            &private_path,
            Some(private.private_line),
            KeyFileProblem::Key(e),
        ),
        e => err(&key_path, Some(record.line), KeyFileProblem::Key(e)),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read(path: &Path) -> Result<String, KeyFileError> {
    std::fs::read_to_string(path).map_err(|e| KeyFileError {
        file: path.to_path_buf(),
        line: None,
        problem: if e.kind() == std::io::ErrorKind::NotFound {
            KeyFileProblem::Missing
        } else {
            KeyFileProblem::Read(e)
        },
    })
}

type LineError = (usize, KeyFileProblem);

fn syntax(line: usize, msg: impl Into<String>) -> LineError {
    (line, KeyFileProblem::Syntax(msg.into()))
}

/// Parses a `.key` file: one DNSKEY record in presentation form, `;` comments, the owner
/// followed by TTL and class in either order or absent, the RDATA possibly spread over lines
/// in parentheses and its base64 split by white space.
pub fn parse_key_file(text: &str) -> Result<DnskeyRecord, LineError> {
    let mut records: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut depth_since: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let open_at_start = depth_since.is_some();
        let content = raw.split(';').next().unwrap_or("");
        let mut tokens = Vec::new();
        for piece in content.split_whitespace() {
            // Parentheses may touch the tokens around them: `( abc` and `(abc` alike.
            let mut rest = piece;
            while !rest.is_empty() {
                let cut = rest.find(['(', ')']).unwrap_or(rest.len());
                if cut > 0 {
                    tokens.push(&rest[..cut]);
                }
                match rest[cut..].chars().next() {
                    Some('(') if depth_since.is_some() => {
                        return Err(syntax(line, "nested `(`"));
                    }
                    Some('(') => depth_since = Some(line),
                    Some(')') if depth_since.take().is_none() => {
                        return Err(syntax(line, "`)` without `(`"));
                    }
                    _ => {}
                }
                rest = rest.get(cut + 1..).unwrap_or("");
            }
        }
        match records.last_mut() {
            // Inside parentheses opened on an earlier line: the record goes on.
            Some((_, toks)) if open_at_start => toks.extend(tokens),
            _ if tokens.is_empty() => {}
            _ => records.push((line, tokens)),
        }
    }
    if let Some(open) = depth_since {
        return Err(syntax(open, "`(` is never closed"));
    }
    let (line, tokens) = match records.as_slice() {
        [] => return Err(syntax(1, "no DNSKEY record in the file")),
        [one] => one.clone(),
        [_, (second, _), ..] => {
            return Err(syntax(
                *second,
                "a second record; a key file holds one DNSKEY record",
            ))
        }
    };
    parse_dnskey_tokens(line, &tokens)
}

fn parse_dnskey_tokens(line: usize, tokens: &[&str]) -> Result<DnskeyRecord, LineError> {
    let mut it = tokens.iter().copied();
    let owner_text = it.next().unwrap_or_default();
    let owner = WireName::parse(owner_text, None).map_err(|e| syntax(line, e))?;
    let mut rtype = None;
    // TTL and class, in either order, each at most once.
    for _ in 0..3 {
        let Some(t) = it.next() else { break };
        if t.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if t.eq_ignore_ascii_case("IN") {
            continue;
        }
        if ["CH", "HS", "CS"].iter().any(|c| c.eq_ignore_ascii_case(t)) {
            return Err(syntax(
                line,
                format!("class {t}: a DNSKEY of class IN is needed"),
            ));
        }
        rtype = Some(t);
        break;
    }
    let rtype = rtype.ok_or_else(|| syntax(line, "no record type: expected `DNSKEY`"))?;
    if !rtype.eq_ignore_ascii_case("DNSKEY") {
        return Err(syntax(
            line,
            format!("a {rtype} record; a key file holds a DNSKEY record"),
        ));
    }
    let mut field = |name: &str| {
        it.next()
            .ok_or_else(|| syntax(line, format!("the DNSKEY has no {name} field")))
    };
    let flags_text = field("flags")?;
    let flags = flags_text.parse::<u16>().map_err(|_| {
        syntax(
            line,
            format!("flags `{flags_text}` are not a number 0-65535"),
        )
    })?;
    let protocol = field("protocol")?;
    if protocol != "3" {
        return Err(syntax(
            line,
            format!("protocol `{protocol}`: a DNSKEY has protocol 3"),
        ));
    }
    let alg_text = field("algorithm")?;
    let algorithm = algorithm_number(alg_text)
        .ok_or_else(|| syntax(line, format!("`{alg_text}` is not an algorithm")))?;
    let b64: String = it.collect();
    if b64.is_empty() {
        return Err(syntax(line, "the DNSKEY has no public key"));
    }
    let public = BASE64.decode(b64.as_bytes()).map_err(|e| {
        (
            line,
            KeyFileProblem::Base64 {
                field: "public key",
                error: e.to_string(),
            },
        )
    })?;
    Ok(DnskeyRecord {
        owner,
        flags,
        algorithm,
        public,
        line,
    })
}

mod pem;
mod private;

pub use pem::parse_pem;
pub use private::{parse_private_file, PrivateKeyFile};

#[cfg(test)]
mod tests;
