//! `run --format json`: the outside contract as `Serialize` structs. Field order is key order.

use super::explain::{r3, Explain};
use super::split::ProcessJson;
use super::waits::WaitProfileEntry;
use super::Prediction;
use serde::Serialize;
use std::collections::BTreeMap;

/// The object `run --format json` prints.
#[derive(Serialize)]
pub struct RunJson<'a> {
    scenario: &'a str,
    /// Mean over the replications.
    wall_time_ms: f64,
    /// Model replications only.
    wall_time_ms_ci95: [f64; 2],
    /// One real run on the profile's machine, 80%: the replications' spread, the machine's
    /// `run_sigma` and the model's own error `model_sigma`.
    wall_time_ms_p80: [f64; 2],
    wall_time_ms_median: f64,
    wall_time_ms_samples: Vec<f64>,
    measure: &'static str,
    replications: u32,
    seed: u64,
    hardware: &'a str,
    run_sigma: f64,
    run_sigma_measured: bool,
    /// One run over its median at the 5/10/25/50/75/90/95th percentiles, as the profile's
    /// calibration measured them (null: the interval's machine part is log-normal).
    run_quantiles: Option<[f64; 7]>,
    model_sigma: f64,
    model_sigma_measured: bool,
    workers_planned: u32,
    workers_launched: u32,
    /// Mean per replication.
    queue_full_stalls: u64,
    /// The replication `processes`, `explain` and `wait_event_profile` describe.
    representative_replication: u32,
    representative_wall_time_ms: f64,
    processes: Vec<ProcessJson>,
    settings: &'a BTreeMap<String, String>,
    events: u64,
    explain: [&'a Explain; 1],
    wait_sample_period_ms: Option<f64>,
    wait_event_profile: Vec<WaitProfileEntry>,
}

impl<'a> From<&'a Prediction> for RunJson<'a> {
    fn from(p: &'a Prediction) -> Self {
        let s = &p.summary;
        let rep = &p.representative;
        RunJson {
            scenario: &p.scenario,
            wall_time_ms: r3(s.mean),
            wall_time_ms_ci95: [r3(s.ci95_lo), r3(s.ci95_hi)],
            wall_time_ms_p80: [r3(p.wall_ms_p80[0]), r3(p.wall_ms_p80[1])],
            wall_time_ms_median: r3(s.median),
            wall_time_ms_samples: p.wall_ms.iter().map(|x| r3(*x)).collect(),
            measure: p.measure,
            replications: p.replications,
            seed: p.seed,
            hardware: &p.hardware,
            run_sigma: p.run_sigma,
            run_sigma_measured: p.run_sigma_measured,
            run_quantiles: p.run_quantiles.map(|q| q.0),
            model_sigma: p.model_sigma,
            model_sigma_measured: p.model_sigma_measured,
            workers_planned: p.workers_planned,
            workers_launched: p.workers_launched,
            queue_full_stalls: p.queue_full_stalls_mean(),
            representative_replication: rep.index,
            representative_wall_time_ms: r3(rep.wall_ms),
            processes: rep.splits.iter().map(ProcessJson::from).collect(),
            settings: &p.settings,
            events: rep.events,
            explain: [&rep.explain],
            wait_sample_period_ms: p.sample_period_ms,
            wait_event_profile: rep.wait_profile.clone(),
        }
    }
}

/// The pretty-printed JSON of `run --format json` (no trailing newline).
pub fn run_json(p: &Prediction) -> String {
    serde_json::to_string_pretty(&RunJson::from(p)).expect("plain data serialises")
}
