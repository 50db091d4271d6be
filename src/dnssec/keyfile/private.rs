//! BIND `.private` files (`Private-key-format: v1.2` or `v1.3`), as dnssec-keygen,
//! ldns-keygen and `gslbd dnssec keygen` write them.

use data_encoding::BASE64;

use super::{algorithm_number, syntax, KeyFileProblem, LineError};
use crate::dnssec::key::Algorithm;

/// The fields of a `.private` file that gslbd uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyFile {
    pub algorithm: u8,
    pub algorithm_line: usize,
    pub private: Vec<u8>,
    pub private_line: usize,
}

/// Parses a `.private` file (`Private-key-format: v1.2` or `v1.3`): the algorithm and the
/// private key; other fields (timing metadata) are ignored.
pub fn parse_private_file(text: &str) -> Result<PrivateKeyFile, LineError> {
    let mut format = None;
    let mut algorithm: Option<(u8, usize)> = None;
    let mut private: Option<(Vec<u8>, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with(';') {
            continue;
        }
        let Some((name, value)) = raw.split_once(':') else {
            return Err(syntax(
                line,
                format!("expected `Field: value`, found `{raw}`"),
            ));
        };
        let value = value.trim();
        match name.trim() {
            "Private-key-format" => {
                let major = value.strip_prefix('v').and_then(|v| v.split('.').next());
                if major != Some("1") {
                    return Err(syntax(
                        line,
                        format!("private key format `{value}`: gslbd reads v1.2 and v1.3"),
                    ));
                }
                once(&mut format, (), line, "Private-key-format")?;
            }
            "Algorithm" => {
                let first = value.split_whitespace().next().unwrap_or("");
                let n = algorithm_number(first).ok_or_else(|| {
                    syntax(
                        line,
                        format!("algorithm `{value}` is not an algorithm number"),
                    )
                })?;
                once(&mut algorithm, (n, line), line, "Algorithm")?;
            }
            "PrivateKey" => {
                let b64: String = value.split_whitespace().collect();
                let bytes = BASE64.decode(b64.as_bytes()).map_err(|e| {
                    (
                        line,
                        KeyFileProblem::Base64 {
                            field: "private key",
                            error: e.to_string(),
                        },
                    )
                })?;
                once(&mut private, (bytes, line), line, "PrivateKey")?;
            }
            _ => {}
        }
    }
    let last = text.lines().count().max(1);
    if format.is_none() {
        return Err(syntax(
            1,
            "no `Private-key-format:` line: not a BIND private key",
        ));
    }
    let (algorithm, algorithm_line) =
        algorithm.ok_or_else(|| syntax(last, "no `Algorithm:` line"))?;
    let (private, private_line) = match private {
        Some(p) => p,
        // RSA and other algorithms have other fields; say what the algorithm is.
        None if Algorithm::from_number(algorithm).is_none() => {
            return Err((
                algorithm_line,
                KeyFileProblem::Algorithm { number: algorithm },
            ))
        }
        None => return Err(syntax(last, "no `PrivateKey:` line")),
    };
    Ok(PrivateKeyFile {
        algorithm,
        algorithm_line,
        private,
        private_line,
    })
}

fn once<T>(slot: &mut Option<T>, value: T, line: usize, name: &str) -> Result<(), LineError> {
    if slot.is_some() {
        return Err(syntax(line, format!("a second `{name}:` line")));
    }
    *slot = Some(value);
    Ok(())
}
