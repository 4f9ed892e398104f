//! One question answered: a scenario on a hardware profile, replicated with seeded streams.

use crate::analysis::stats::Summary;
use crate::engine::streams;
use crate::error::{Error, Result};
use crate::exec::{self, RunSpec};
use crate::model::{Hardware, Scenario};
use crate::planner::decide;
use crate::report;
use serde_json::{json, Value};

pub struct RunOutput {
    pub json: Value,
    pub text: String,
    pub wall_ms: Vec<f64>,
    pub summary: Summary,
    pub workers_planned: u32,
    pub workers_launched: u32,
    pub stalls: Vec<f64>,
    pub splits: Vec<report::ProcessSplit>,
    pub trace: Option<(exec::Trace, u32)>,
}

/// Seed of replication `r` of a run seeded `seed`: the same for every grid point of a sweep
/// (common random numbers).
pub fn replication_seed(seed: u64, r: u32) -> u64 {
    streams::mix(seed, 0x5eed_0000 + u64::from(r))
}

pub fn run_scenario(sc: &Scenario, hw: &Hardware, seed: u64, replications: u32, trace: bool) -> Result<RunOutput> {
    let d = decide(sc);
    let mut walls = vec![];
    let mut stalls = vec![];
    let mut splits = vec![];
    let mut first = None;
    for r in 0..replications {
        let spec = RunSpec {
            tables: &sc.tables,
            settings: &sc.settings,
            hw,
            output: sc.output,
            plan: &d.plan,
            workers_launched: d.workers_launched,
            seed: replication_seed(seed, r),
            trace: trace && r == 0,
            max_steps: exec::DEFAULT_MAX_STEPS,
        };
        let (compiled, res) = exec::simulate(&spec)?;
        walls.push(res.wall as f64 / 1e6);
        stalls.push(res.queue_full_stalls as f64);
        splits.push(report::process_splits(&res));
        if first.is_none() {
            first = Some((compiled, res));
        }
    }
    let (compiled, res) = first.expect("at least one replication");
    let summary = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("{e:?}")))?;
    let mean_split = report::mean_splits(&splits);
    let explain = report::explain_json(sc, &d.plan, &compiled, &res);
    let stall_mean = stalls.iter().sum::<f64>() / stalls.len() as f64;
    let json = json!({
        "scenario": sc.name,
        "wall_time_ms": r3(summary.mean),
        "wall_time_ms_ci95": [r3(summary.ci95_lo), r3(summary.ci95_hi)],
        "wall_time_ms_median": r3(summary.median),
        "wall_time_ms_samples": walls.iter().map(|x| r3(*x)).collect::<Vec<_>>(),
        "replications": replications,
        "seed": seed,
        "hardware": hw.name,
        "workers_planned": d.workers_planned,
        "workers_launched": res.workers_launched,
        "queue_full_stalls": stall_mean.round() as u64,
        "processes": mean_split,
        "settings": sc.settings.non_default().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "events": res.events,
        "explain": explain,
    });
    let text = report::run_text(sc, hw, &json, &summary);
    Ok(RunOutput {
        json,
        text,
        wall_ms: walls,
        summary,
        workers_planned: d.workers_planned,
        workers_launched: res.workers_launched,
        stalls,
        splits: mean_split,
        trace: res.trace.clone().map(|t| (t, res.workers_launched)),
    })
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
