//! Results as people and tools read them: an `EXPLAIN (ANALYZE)`-shaped tree (text, and JSON
//! with PostgreSQL's key names), each process's time split, queue-full stalls, and the
//! `run --format json` object of the contract. Pure data transformation; the CLI writes it.
//!
//! - [`Prediction`]: the typed answer of `predict::run_scenario`.
//! - [`split`]: the one set of time categories ([`Category`], grouped as [`Group`]) and the
//!   per-process split.
//! - [`explain`]: the typed EXPLAIN tree; [`text`] renders it and the `run` answer;
//!   [`contract`] serialises the JSON contract.

pub mod contract;
pub mod explain;
pub mod plan;
pub mod split;
pub mod text;
pub mod workload;

pub use contract::run_json;
pub use explain::{explain, Explain, PlanNode};
pub use split::{mean_splits, process_splits, Category, Group, ProcessSplit, Times};
pub use text::{explain_text, run_text};

use crate::analysis::stats::Summary;
use crate::exec::Trace;
use std::collections::BTreeMap;

/// What one `run` predicts: a scenario on a hardware profile over seeded replications.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub scenario: String,
    pub hardware: String,
    /// The profile's one-line description.
    pub hardware_description: String,
    pub seed: u64,
    pub replications: u32,
    /// Wall times over the replications (ms).
    pub summary: Summary,
    /// Each replication's wall time (ms), in replication order.
    pub wall_ms: Vec<f64>,
    pub workers_planned: u32,
    pub workers_launched: u32,
    /// Queue-full stalls (all workers) of each replication.
    pub stalls: Vec<f64>,
    /// Each process's time split, the mean over replications (leader first).
    pub splits: Vec<ProcessSplit>,
    /// The scenario's settings that differ from PostgreSQL's defaults.
    pub settings: BTreeMap<String, String>,
    /// Simulation events of the replication the EXPLAIN describes.
    pub events: u64,
    /// The EXPLAIN ANALYZE of one replication (the first).
    pub explain: Explain,
    /// The trace of the first replication with its workers launched, when asked for.
    pub trace: Option<(Trace, u32)>,
}

impl Prediction {
    /// Mean queue-full stalls per replication, rounded to a count.
    pub fn queue_full_stalls_mean(&self) -> u64 {
        let n = self.stalls.len().max(1) as f64;
        (self.stalls.iter().sum::<f64>() / n).round() as u64
    }
}

#[cfg(test)]
mod tests;
