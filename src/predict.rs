//! One question answered: a scenario on a hardware profile, replicated with seeded streams.

use crate::analysis::stats::Summary;
use crate::engine::streams;
use crate::error::{Error, Result};
use crate::exec::{self, RunSpec};
use crate::model::{Hardware, Scenario};
use crate::planner::{decide, Decision};
use crate::report;

pub use crate::report::Prediction;

/// The former name of [`Prediction`].
pub type RunOutput = Prediction;

/// Seed of replication `r` of a run seeded `seed`: the same for every grid point of a sweep
/// (common random numbers).
pub fn replication_seed(seed: u64, r: u32) -> u64 {
    streams::mix(seed, 0x5eed_0000 + u64::from(r))
}

pub fn run_scenario(sc: &Scenario, hw: &Hardware, seed: u64, replications: u32, trace: bool) -> Result<Prediction> {
    run_decided(sc, hw, &decide(sc), seed, replications, trace)
}

/// [`run_scenario`] with the plan decision already made (`d` must be `decide(sc)`): callers that
/// simulate one scenario many times plan it once.
pub fn run_decided(
    sc: &Scenario,
    hw: &Hardware,
    d: &Decision,
    seed: u64,
    replications: u32,
    trace: bool,
) -> Result<Prediction> {
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
            workers_planned: d.workers_planned,
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
    let (compiled, res) = first.ok_or_else(|| Error::Simulation("no replication ran".into()))?;
    let summary = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("{e:?}")))?;
    Ok(Prediction {
        scenario: sc.name.clone(),
        hardware: hw.name.clone(),
        hardware_description: hw.description.clone(),
        seed,
        replications,
        summary,
        wall_ms: walls,
        workers_planned: d.workers_planned,
        workers_launched: res.workers_launched,
        stalls,
        splits: report::mean_splits(&splits),
        settings: sc.settings.non_default().into_iter().collect(),
        events: res.events,
        explain: report::explain(sc, &d.plan, &compiled, &res),
        trace: res.trace.clone().map(|t| (t, res.workers_launched)),
    })
}
