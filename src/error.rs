//! One error type for the whole program, with the exit code the contract gives each kind.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input file something went wrong (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    pub fn file(file: &Path) -> Self {
        Location { file: file.to_path_buf(), line: None, column: None }
    }

    /// Location of a byte offset inside `source`, the text of `file`.
    pub fn at_offset(file: &Path, source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = source[line_start..offset].chars().count() + 1;
        Location { file: file.to_path_buf(), line: Some(line), column: Some(column) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a file, a flag, a setting. Exit code 2.
    #[error("{}{msg}", loc.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Input { loc: Option<Location>, msg: String },
    /// The simulation could not finish (deadlock, runaway). Exit code 1.
    #[error("simulation failed: {0}")]
    Simulation(String),
    /// Talking to a real PostgreSQL failed. Exit code 1 (2 for an unusable argument).
    #[error(transparent)]
    Postgres(#[from] crate::pg::PgError),
    /// Writing output failed. Exit code 1.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input { loc: None, msg: msg.into() }
    }
    pub fn input_at(loc: Location, msg: impl Into<String>) -> Self {
        Error::Input { loc: Some(loc), msg: msg.into() }
    }
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } => 2,
            Error::Postgres(crate::pg::PgError::Invalid(_)) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_line_and_column() {
        let src = "a = 1\nbb = 2\n";
        let loc = Location::at_offset(Path::new("f.toml"), src, 8);
        assert_eq!(loc.to_string(), "f.toml:2:3");
    }
}
