//! The planner's parallel-query decisions, emulating PostgreSQL 15: whether a query may
//! use a parallel plan at all, how many workers its Gather asks for, whether the parallel
//! plan is cheaper than the serial one, and how many workers the executor can launch.
//! Pure functions of a validated [`Scenario`]: no I/O.
//!
//! * [`compute_parallel_worker`]: allpaths.c's worker-count rule (exact).
//! * [`workers_launched`]: the bgworker slot / `max_parallel_workers` limits at launch.
//! * [`query_blockers`], [`restricted_constructs`]: parallel safety (reference §11).
//! * [`cost`]: PostgreSQL 15's cost formulas for the modelled plan shapes.
//! * [`shape`]: [`serial_plan`], [`with_workers`], [`shape::parallelize`].
//! * [`plan`]: the plan choice, as a [`PlanReport`]; [`decide`]: the whole decision, as a
//!   [`Decision`] (the plan to run, Workers Planned/Launched; `pqsim plan` prints it).
//!
//! Worker counts when several scans are parallel-aware: PostgreSQL gives every partial
//! scan path its own `parallel_workers` from its own table; a join's partial path takes
//! the **outer** (driving) path's count (`create_hashjoin_path`, `create_nestloop_path`),
//! and the Gather takes the count of the partial path below it. So Workers Planned is the
//! driving scan's count. A Parallel Hash needs a partial path on the inner side as well
//! (its table must pass the size rule itself, `hash_inner_and_outer`); the inner scan is
//! costed with its *own* worker count (its divisor), and the shared table is sized from
//! the inner rows times that divisor. When the inner side has no partial path (or
//! `enable_parallel_hash` is off), the join is parallel-oblivious: every participant reads
//! the whole inner side and builds its own hash table, charged in full. Like PostgreSQL,
//! the planner tries both orders of each inner hash join when the scenario is written as
//! a serial plan, so the cheaper side drives (and sets Workers Planned); a scenario's own
//! parallel shape is kept as given. Other join types, and the choice between join
//! methods, stay as the scenario has them.
//!
//! Checked against a real PostgreSQL 15 in `tests/planner_vs_postgres.rs`: Workers
//! Planned, Workers Launched and the chosen plan's total cost agree exactly (to the
//! cent) for count(*) over a 400-point settings grid, filters, Gather Merge with bounded
//! and external sorts, Limit, Parallel Hash Join (both orders) and hashed, non-hashed and
//! parallel-subquery SubPlans.

mod choose;
pub mod cost;
mod decide;
mod launch;
mod notes;
mod report;
mod safety;
pub mod shape;

pub use choose::plan;
pub use cost::{
    clamp_row_est, compute_parallel_worker, explain_parallel_worker, parallel_divisor, CostCtx, Costed, WorkerCalc,
    STD_FUZZ_FACTOR,
};
pub use decide::{decide, Decision};
pub use launch::{explain_launch, workers_launched};
pub use report::{group, money, PlanReport};
pub use safety::{query_blockers, restricted_constructs};
pub use shape::{serial_plan, with_workers};

#[cfg(test)]
mod tests;
