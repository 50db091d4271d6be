//! Configuration problems: what is wrong, in which file, and where in it.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Line and column (1-based), from the JSON parser.
    LineColumn(usize, usize),
    /// A line (1-based), for problems with a whole line such as a record.
    Line(usize),
    /// A JSON path such as `records.www.A[1]`.
    Path(String),
    /// The file as a whole.
    File,
}

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub position: Position,
    pub message: String,
}

impl Problem {
    pub fn at_path(file: &Path, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            position: Position::Path(path.into()),
            message: message.into(),
        }
    }

    pub fn in_file(file: &Path, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            position: Position::File,
            message: message.into(),
        }
    }

    /// A problem from serde_json, with its line and column and, when known, JSON path.
    pub fn from_json(file: &Path, path: &str, err: &serde_json::Error) -> Self {
        let mut message = strip_position(&err.to_string());
        if !path.is_empty() && path != "." && path != "?" {
            message = format!("{path}: {message}");
        }
        let position = if err.line() > 0 {
            Position::LineColumn(err.line(), err.column())
        } else {
            Position::File
        };
        Problem {
            file: file.to_path_buf(),
            position,
            message,
        }
    }
}

/// serde_json appends " at line L column C"; we print the position ourselves.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.position {
            Position::LineColumn(l, c) => write!(f, "{file}:{l}:{c}: {}", self.message),
            Position::Line(l) => write!(f, "{file}:{l}: {}", self.message),
            Position::Path(p) => write!(f, "{file}: {p}: {}", self.message),
            Position::File => write!(f, "{file}: {}", self.message),
        }
    }
}

/// Every problem found in one load attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
