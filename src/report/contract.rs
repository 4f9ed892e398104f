//! `run --format json`: the outside contract as `Serialize` structs. Field order is key order.

use super::explain::{r3, Explain};
use super::split::ProcessJson;
use super::Prediction;
use serde::Serialize;
use std::collections::BTreeMap;

/// The object `run --format json` prints.
#[derive(Serialize)]
pub struct RunJson<'a> {
    scenario: &'a str,
    wall_time_ms: f64,
    wall_time_ms_ci95: [f64; 2],
    wall_time_ms_median: f64,
    wall_time_ms_samples: Vec<f64>,
    replications: u32,
    seed: u64,
    hardware: &'a str,
    workers_planned: u32,
    workers_launched: u32,
    queue_full_stalls: u64,
    processes: Vec<ProcessJson>,
    settings: &'a BTreeMap<String, String>,
    events: u64,
    explain: [&'a Explain; 1],
}

impl<'a> From<&'a Prediction> for RunJson<'a> {
    fn from(p: &'a Prediction) -> Self {
        let s = &p.summary;
        RunJson {
            scenario: &p.scenario,
            wall_time_ms: r3(s.mean),
            wall_time_ms_ci95: [r3(s.ci95_lo), r3(s.ci95_hi)],
            wall_time_ms_median: r3(s.median),
            wall_time_ms_samples: p.wall_ms.iter().map(|x| r3(*x)).collect(),
            replications: p.replications,
            seed: p.seed,
            hardware: &p.hardware,
            workers_planned: p.workers_planned,
            workers_launched: p.workers_launched,
            queue_full_stalls: p.queue_full_stalls_mean(),
            processes: p.splits.iter().map(ProcessJson::from).collect(),
            settings: &p.settings,
            events: p.events,
            explain: [&p.explain],
        }
    }
}

/// The pretty-printed JSON of `run --format json` (no trailing newline).
pub fn run_json(p: &Prediction) -> String {
    serde_json::to_string_pretty(&RunJson::from(p)).expect("plain data serialises")
}
