//! Results as people and tools read them: an `EXPLAIN (ANALYZE)`-shaped tree (text, and JSON
//! with PostgreSQL's key names), each process's time split, queue-full stalls, wait-event
//! samples, and the `run --format json` object of the contract. Pure data transformation; the
//! CLI writes it.
//!
//! - [`Prediction`]: the typed answer of `predict::run_scenario`: a headline over all
//!   replications and one [`Representative`] replication (the one nearest the median) that the
//!   EXPLAIN, the process table and the wait samples describe.
//! - [`split`]: the one set of time categories ([`Category`], grouped as [`Group`]) and the
//!   per-process split.
//! - [`explain`]: the typed EXPLAIN tree; [`text`] renders it and the `run` answer;
//!   [`contract`] serialises the JSON contract; [`waits`] samples wait events.

pub mod contract;
pub mod explain;
pub mod plan;
pub mod split;
pub mod text;
pub mod waits;
pub mod workload;

pub use contract::run_json;
pub use explain::{explain, explain_text, Explain, PlanNode};
pub use split::{mean_splits, process_splits, Category, Group, ProcessSplit, Times};
pub use text::run_text;

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
    /// What the time measures: "explain-analyze", "timing-off" or "client".
    pub measure: &'static str,
    pub seed: u64,
    pub replications: u32,
    /// Wall times over the replications (ms).
    pub summary: Summary,
    /// 80% interval for one real run on the profile's machine (ms).
    pub wall_ms_p80: [f64; 2],
    /// The machine's run-to-run log-normal sigma used for `wall_ms_p80`, and whether the
    /// profile measured it (else the documented default).
    pub run_sigma: f64,
    pub run_sigma_measured: bool,
    /// The measured shape of the machine's spread used for `wall_ms_p80` instead of a
    /// log-normal of `run_sigma`, when the profile has it.
    pub run_quantiles: Option<crate::model::RunQuantiles>,
    /// The model's own error (log-normal sigma, out of sample) used for `wall_ms_p80`, and
    /// whether calibration estimated it (else the documented default).
    pub model_sigma: f64,
    pub model_sigma_measured: bool,
    /// Each replication's wall time (ms), in replication order.
    pub wall_ms: Vec<f64>,
    pub workers_planned: u32,
    pub workers_launched: u32,
    /// Queue-full stalls (all workers) of each replication.
    pub stalls: Vec<f64>,
    /// Each process's time split, the mean over all replications (leader first).
    pub splits: Vec<ProcessSplit>,
    /// The scenario's settings that differ from PostgreSQL's defaults.
    pub settings: BTreeMap<String, String>,
    /// The wait-sampling period, when samples were taken.
    pub sample_period_ms: Option<f64>,
    /// The representative replication's trace with its workers launched, when asked for.
    pub trace: Option<(Trace, u32)>,
    pub representative: Representative,
}

/// The replication whose wall time is nearest the median: what the tree, the process table
/// and the wait samples show.
#[derive(Debug, Clone)]
pub struct Representative {
    /// 0-based replication number.
    pub index: u32,
    pub wall_ms: f64,
    /// Each process's time split in this replication.
    pub splits: Vec<ProcessSplit>,
    pub stalls: f64,
    /// Simulation events.
    pub events: u64,
    pub explain: Explain,
    /// Wait-event samples as rows (empty unless asked for).
    pub wait_samples: Vec<waits::WaitSample>,
    /// Their counts per process and event (`pg_wait_sampling_profile`; empty unless sampled).
    pub wait_profile: Vec<waits::WaitProfileEntry>,
}

impl Prediction {
    /// Mean queue-full stalls per replication, rounded to a count.
    pub fn queue_full_stalls_mean(&self) -> u64 {
        let n = self.stalls.len().max(1) as f64;
        (self.stalls.iter().sum::<f64>() / n).round() as u64
    }

    /// The `--wait-samples` CSV of the representative replication.
    pub fn wait_samples_csv(&self) -> String {
        waits::samples_csv(&self.representative.wait_samples)
    }
}

#[cfg(test)]
mod tests;

/// The machine's part of the one-run interval, in words: the measured spread (one run over its
/// median at the 10th and 90th percentiles) or the log-normal of `run_sigma`.
pub fn machine_spread(run_sigma: f64, quantiles: Option<&crate::model::RunQuantiles>) -> String {
    match quantiles {
        Some(q) => format!(
            "run-to-run spread {:.2}x..{:.2}x of the median (10th..90th percentile; sigma {run_sigma:.3} at its middle)",
            q.ln_at(0.1).exp(),
            q.ln_at(0.9).exp()
        ),
        None => format!("run-to-run sigma {run_sigma:.3}"),
    }
}
