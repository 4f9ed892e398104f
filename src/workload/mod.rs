//! A workload answered: its classes planned once (`planner::decide`, the same plan choice as
//! `run`), their sources laid out, the shared server simulated once per replication
//! (`exec::server`), and the statistics over replications (`stats`). Replications run in
//! parallel; each uses its own seed, so the result does not depend on the thread count.

mod stats;

pub use stats::{percentile, ClassStats, WorkloadStats};

use crate::engine::Time;
use crate::error::{Error, Result};
use crate::exec::compile::{compile, Env, Mode};
use crate::exec::server::{self, ClassPlan, Pick, Pool, ServerResult, ServerSpec, Source};
use crate::model::workload::{Arrival, Stop, Workload};
use crate::planner::decide;
use rayon::prelude::*;

/// Enough for any workload the command line can ask for; a run past it is a model error.
pub const MAX_STEPS: u64 = 2_000_000_000;

/// A workload's prediction: every replication's run and the statistics over them.
#[derive(Debug, Clone)]
pub struct WorkloadOutput {
    pub name: String,
    pub hardware: String,
    pub seed: u64,
    pub replications: u32,
    pub classes: Vec<ClassPlan>,
    pub runs: Vec<ServerResult>,
    pub stats: WorkloadStats,
    pub cores: f64,
    pub pool: Pool,
    pub sessions: u32,
}

/// Plan every class once: the plan `run` would choose, compiled for its Workers Planned.
pub fn plan_classes(w: &Workload) -> Vec<ClassPlan> {
    w.classes
        .iter()
        .map(|c| {
            let mut sc = c.scenario.clone();
            // Other sessions' workers are simulated, not assumed.
            sc.busy_worker_slots = 0;
            let d = decide(&sc);
            let env = Env {
                tables: &sc.tables,
                settings: &sc.settings,
                hw: &w.hardware,
                output: sc.output,
                workers_planned: d.workers_planned,
                measured: sc.measured.as_ref(),
            };
            let compiled = compile(&env, &d.plan);
            let (planned, request) = match compiled.mode {
                Mode::Serial => (0, 0),
                _ => (d.workers_planned, d.workers_launched.min(compiled.workers_planned)),
            };
            ClassPlan {
                name: c.name.clone(),
                compiled,
                settings: sc.settings.clone(),
                planned,
                request,
                weight: c.weight,
            }
        })
        .collect()
}

/// The sessions and streams that send the queries.
pub fn sources(w: &Workload) -> Vec<Source> {
    let mut out = vec![];
    if let Some(a @ Arrival::Closed { sessions, .. }) = w.shared {
        let ids: Vec<usize> = (0..w.classes.len()).filter(|&i| w.classes[i].arrival.is_none()).collect();
        for _ in 0..sessions {
            out.push(Source { arrival: a, pick: Pick::Weighted(ids.clone()) });
        }
    }
    for (i, c) in w.classes.iter().enumerate() {
        match c.arrival {
            Some(a @ Arrival::Closed { sessions, .. }) => {
                for _ in 0..sessions {
                    out.push(Source { arrival: a, pick: Pick::Class(i) });
                }
            }
            Some(a @ Arrival::Open { .. }) => out.push(Source { arrival: a, pick: Pick::Class(i) }),
            None => {}
        }
    }
    out
}

/// Width of the buckets of the over-time series: about 200 over a duration, 50 ms otherwise.
fn bucket_ns(stop: Stop) -> Time {
    match stop {
        Stop::Duration { seconds } => ((seconds * 1e9 / 200.0) as Time).max(1_000_000),
        Stop::Queries(_) => 50_000_000,
    }
}

/// Simulate `w` `replications` times from `seed`.
pub fn run_workload(w: &Workload, seed: u64, replications: u32) -> Result<WorkloadOutput> {
    let classes = plan_classes(w);
    let srcs = sources(w);
    let pool = Pool::from_settings(&w.server_settings);
    let runs: Vec<std::result::Result<ServerResult, crate::error::SimError>> = (0..replications)
        .into_par_iter()
        .map(|r| {
            let spec = ServerSpec {
                classes: &classes,
                sources: &srcs,
                hw: &w.hardware,
                pool,
                stop: w.stop,
                warmup_ns: (w.warmup_s * 1e9).round() as Time,
                seed: crate::engine::streams::replication_seed(seed, r),
                bucket_ns: bucket_ns(w.stop),
                max_steps: MAX_STEPS,
            };
            server::simulate(&spec)
        })
        .collect();
    let runs = runs.into_iter().collect::<std::result::Result<Vec<_>, _>>().map_err(Error::from)?;
    let stats = stats::summarize(&classes, &runs)?;
    Ok(WorkloadOutput {
        name: w.name.clone(),
        hardware: w.hardware.name.clone(),
        seed,
        replications,
        classes,
        runs,
        stats,
        cores: w.hardware.cores,
        pool,
        sessions: w.sessions(),
    })
}
