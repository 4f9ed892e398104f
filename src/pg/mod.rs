//! Bridge to a real PostgreSQL 15, used to calibrate and validate the simulator.
//!
//! * [`explain`]: typed `EXPLAIN (FORMAT JSON)` trees ([`ExplainPlan`], [`ExplainNode`]).

pub mod explain;

pub use explain::{ExplainError, ExplainNode, ExplainPlan, ExplainWorker};

/// Errors of the PostgreSQL bridge.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL binaries (or the `postgres` user) are missing; the text says what.
    #[error("PostgreSQL 15 is not available here: {0}")]
    Unavailable(String),
    /// `scripts/pg-throwaway.sh` failed; `stderr` is its (tail of) error output.
    #[error("`{command}` failed ({status}): {stderr}")]
    Script {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Could not connect, or a non-query call failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    /// A statement failed; `sql` is the statement sent.
    #[error("PostgreSQL error running `{sql}`: {source}")]
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

impl PgError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PgError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn query(sql: &str, source: postgres::Error) -> Self {
        PgError::Query {
            sql: sql.to_string(),
            source,
        }
    }
}
