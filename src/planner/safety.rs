//! Parallel safety of the whole query (reference §11): what blocks a parallel plan, and
//! what is parallel-restricted (runs in the leader above the Gather).

use crate::model::guc::Settings;
use crate::model::{FnSafety, QueryProps};

/// Reasons the whole query gets no parallel plan (`standard_planner`: parallelModeOK is
/// false), reference §11.1. Empty when parallel plans are allowed.
pub fn query_blockers(q: &QueryProps, s: &Settings) -> Vec<String> {
    let mut out = vec![];
    if !q.command.allows_parallel() {
        out.push(format!(
            "command {} cannot use a parallel plan in PostgreSQL 15 (only SELECT, including CREATE TABLE AS, SELECT INTO and materialized views)",
            q.command.name().to_ascii_uppercase()
        ));
    }
    for (name, label) in &q.functions {
        if *label == FnSafety::Unsafe {
            out.push(format!("function {name}() is PARALLEL UNSAFE: no parallel plan for the whole query"));
        }
    }
    if q.row_locks {
        out.push("SELECT ... FOR UPDATE/SHARE takes row locks (parallel unsafe): no parallel plan".into());
    }
    if q.cursor {
        out.push(
            "the query runs in a cursor (DECLARE CURSOR or a PL/pgSQL FOR loop), which does not allow parallel plans"
                .into(),
        );
    }
    if q.serializable && q.server_version > 0 && q.server_version < 12 {
        out.push(format!(
            "SERIALIZABLE isolation blocks parallel query before PostgreSQL 12 (server_version = {})",
            q.server_version
        ));
    }
    if s.int("max_parallel_workers_per_gather") == 0 {
        out.push("max_parallel_workers_per_gather = 0 disables parallel planning".into());
    }
    out
}

/// Parallel-restricted constructs of the query (§11.2): allowed only above the Gather,
/// in the leader. pqsim does not know where in the query they sit; it assumes the select
/// list / upper levels, so the parallel part of the plan stays possible (were one in a
/// scan's WHERE clause, PostgreSQL would not scan that table in parallel at all).
pub fn restricted_constructs(q: &QueryProps) -> Vec<String> {
    let mut out = vec![];
    for (name, label) in &q.functions {
        if *label == FnSafety::Restricted {
            out.push(format!("function {name}() is PARALLEL RESTRICTED: evaluated in the leader above the Gather"));
        }
    }
    if q.materialized_cte {
        out.push("CTE Scan of a materialized CTE: runs in the leader above the Gather (the CTE's own query may still use a Gather)".into());
    }
    if q.correlated_subplan {
        out.push("correlated SubPlan (uses the outer row's values as PARAM_EXEC params): evaluated in the leader above the Gather".into());
    }
    out
}
