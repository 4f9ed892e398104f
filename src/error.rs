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
    /// The executor model could not finish, with the processes involved. Exit code 1.
    #[error("simulation failed: {0}")]
    Sim(#[from] SimError),
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
            // A file that cannot be read or written (missing, read-only directory, full disk)
            // is the user's input to fix, not a simulation that failed.
            Error::Io { .. } => 2,
            Error::Postgres(crate::pg::PgError::Invalid(_)) => 2,
            _ => 1,
        }
    }
}

/// A process of a parallel query, as PostgreSQL's EXPLAIN names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessName {
    Leader,
    /// Worker N (0-based, as in EXPLAIN's "Worker 0").
    Worker(u32),
}

impl fmt::Display for ProcessName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessName::Leader => write!(f, "leader"),
            ProcessName::Worker(n) => write!(f, "worker {n}"),
        }
    }
}

/// What a process that cannot go on is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitsOn {
    /// Runnable but given no work (a model bug if it ever shows up in a deadlock).
    Nothing,
    /// The tuple queues of these workers (the leader in Gather / Gather Merge).
    TupleQueues(Vec<u32>),
    /// Free space in its own tuple queue (a worker whose queue is full).
    OwnTupleQueue,
    /// The other participants of Parallel Hash build number `build` (0-based).
    HashBuild { build: usize },
    /// These workers to exit (the leader in ParallelFinish).
    WorkersExit(Vec<u32>),
    /// Its own delay (start-up, a read, a wake-up) to end.
    Timer,
}

/// One process of a simulation that cannot finish: who, in which wait event, waiting on what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedProcess {
    pub process: ProcessName,
    /// PostgreSQL's wait event, e.g. "IPC: MessageQueueSend" ("CPU" when none).
    pub wait_event: &'static str,
    pub waits_on: WaitsOn,
}

fn numbers(v: &[u32]) -> String {
    v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for BlockedProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.process, self.wait_event)?;
        match &self.waits_on {
            WaitsOn::Nothing => write!(f, " with nothing to run"),
            WaitsOn::TupleQueues(w) if w.is_empty() => write!(f, " on no tuple queue"),
            WaitsOn::TupleQueues(w) => write!(f, " waiting for tuples from worker(s) {}", numbers(w)),
            WaitsOn::OwnTupleQueue => write!(f, " waiting for room in its tuple queue"),
            WaitsOn::HashBuild { build } => write!(f, " waiting at Parallel Hash build {build}'s barrier"),
            WaitsOn::WorkersExit(w) => write!(f, " waiting for worker(s) {} to exit", numbers(w)),
            WaitsOn::Timer => write!(f, " waiting for its own delay to end"),
        }
    }
}

/// Why the executor model could not finish a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No process can progress and nothing is scheduled.
    #[error("deadlock at {:.3} ms of simulated time: nothing can progress ({})", *at_ns as f64 / 1e6, list(processes))]
    Deadlock { at_ns: u64, processes: Vec<BlockedProcess> },
    /// The run took more steps than its limit allows.
    #[error(
        "gave up after {limit} steps at {:.3} ms of simulated time (the step limit guards against a \
         model that never ends; steps grow with scan chunks and tuple-queue batches, not rows: \
         raise RunSpec::max_steps if a scenario legitimately needs more)",
        *at_ns as f64 / 1e6
    )]
    StepLimit { limit: u64, at_ns: u64 },
}

fn list(v: &[BlockedProcess]) -> String {
    v.iter().map(|b| b.to_string()).collect::<Vec<_>>().join("; ")
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
