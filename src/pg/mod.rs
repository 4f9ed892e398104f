//! Bridge to a real PostgreSQL 15, used to calibrate and validate the simulator.
//!
//! * [`server`]: [`ThrowawayServer`], a private server per test/run (wraps
//!   `scripts/pg-throwaway.sh`), stopped and deleted on drop.
//! * [`explain`]: typed `EXPLAIN (FORMAT JSON)` trees ([`ExplainPlan`], [`ExplainNode`]).
//! * [`probe`]: measuring helpers (`EXPLAIN ANALYZE`, client-side timing, GUCs, load).
//! * [`protocol`]: the measuring protocol of `calibrate` and `validate` (speed reference,
//!   CPU meter, quiet waits, interleaved rounds).
//! * [`buffers`]: what shared buffers hold of each table, and in what order (pg_buffercache).
//! * [`catalog`]: row/page counts and index sizes from the catalog ([`TableStats`]).
//! * [`probes`]: the calibration's probe tables and probe queries.
//!
//! ```no_run
//! use pqsim::pg::{probe, ThrowawayServer};
//! let server = ThrowawayServer::start()?;
//! let mut client = server.client()?;
//! probe::set_gucs(&mut client, &[("max_parallel_workers_per_gather", "2")])?;
//! let plan = probe::explain_analyze(&mut client, "SELECT count(*) FROM pg_class")?;
//! println!("{} ms", plan.execution_time_ms.unwrap_or(f64::NAN));
//! # Ok::<(), pqsim::pg::PgError>(())
//! ```

pub mod buffers;
pub mod catalog;
pub mod clauses;
pub mod explain;
pub mod probe;
pub mod probes;
pub mod protocol;
pub mod server;

pub use catalog::TableStats;
pub use explain::{ExplainError, ExplainNode, ExplainPlan, ExplainWorker};
pub use probe::LoadInfo;
pub use server::ThrowawayServer;

/// Errors of the PostgreSQL bridge.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL binaries (or the `postgres` user) are missing; the text says what.
    #[error("PostgreSQL 15 is not available here: {0}")]
    Unavailable(String),
    /// `scripts/pg-throwaway.sh` failed; `stderr` is its (tail of) error output.
    #[error("`{command}` failed ({status}): {stderr}")]
    Script { command: String, status: String, stderr: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Could not connect, or a non-query call failed.
    #[error("PostgreSQL: {}", server_message(.0))]
    Postgres(#[from] postgres::Error),
    /// A statement failed; `sql` is the statement sent.
    #[error("PostgreSQL error running `{sql}`: {}", server_message(.source))]
    Query {
        sql: String,
        #[source]
        source: postgres::Error,
    },
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// A caller passed something unusable (e.g. a GUC name that is not an identifier).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The server answered something this code does not expect.
    #[error("unexpected reply: {0}")]
    Protocol(String),
}

/// What the server said (severity, SQLSTATE, message, detail, hint), not the client's bare
/// "db error"; for errors that are not the server's, the error and its causes.
fn server_message(e: &postgres::Error) -> String {
    if let Some(d) = e.as_db_error() {
        let mut m = format!("{} {}: {}", d.severity(), d.code().code(), d.message());
        if let Some(x) = d.detail() {
            m.push_str(&format!(" (DETAIL: {x})"));
        }
        if let Some(x) = d.hint() {
            m.push_str(&format!(" (HINT: {x})"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        m.push_str(&format!(": {s}"));
        src = s.source();
    }
    m
}

impl PgError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PgError::Io { context: context.into(), source }
    }

    pub(crate) fn query(sql: &str, source: postgres::Error) -> Self {
        PgError::Query { sql: sql.to_string(), source }
    }
}
