//! What can go wrong importing a master file.

use std::path::PathBuf;

use crate::config::Problems;

/// A syntax error at a place in the file being read (the file is known by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl SyntaxError {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Why an import produced no JSON.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The master file (or a file it includes) could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, records that cannot be expressed, or a zone that cannot be served;
    /// every one found, each with its file and line.
    #[error("{0}")]
    Problems(Problems),
}
