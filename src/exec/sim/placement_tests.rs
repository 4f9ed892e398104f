//! Where a query's processes run: Linux leaves a short leader-bound Gather's processes on their
//! CPUs (the run queue's utilization, `exec::cpu`).

use crate::exec::{simulate, RunSpec, DEFAULT_MAX_STEPS};
use std::path::Path;

/// A short leader-bound Gather, two workers and the leader only receiving, on two CPUs: Linux
/// leaves its processes where they started. On a 2-vCPU VM (Linux 6.18, `perf sched`, 8 runs
/// of this query, the validation's leader-bound Gather at small scale, 37 ms each) the leader
/// moved 0-2 times a query and each worker 0-4; the leader and one worker shared a CPU the
/// whole query. The leader's CPU, busy with the session's statements before, and each
/// worker's, half a CPU from its fork (PELT), keep a woken worker from looking for an idle CPU
/// (SIS_UTIL) from the start. With the utilization ramping from nothing at the query's start
/// the model moved a worker at almost every tick: 81 moves over these 5 runs (20 now).
#[test]
fn a_short_leader_bound_gathers_processes_stay_on_their_cpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (sc, hw) = crate::config::load(
        &dir.join("src/exec/sim/testdata/gather_bound_w2_off.toml"),
        dir.join("docs/validation/one-sitting-2026-12-06-xeon-1747.toml").to_str().expect("utf-8"),
        &crate::config::WhatIf::default(),
    )
    .expect("loads");
    let d = crate::planner::decide(&sc);
    assert_eq!(d.workers_launched, 2);
    let moves: Vec<u64> = (1..6)
        .map(|seed| {
            let spec = RunSpec {
                max_steps: DEFAULT_MAX_STEPS,
                fast_forward: false,
                ..RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, seed)
            };
            simulate(&spec).expect("runs").1.migrations
        })
        .collect();
    // At most 10 a run is what Linux showed (0-2 + 0-4 + 0-4): 5 a run on average.
    assert!(moves.iter().sum::<u64>() <= 25, "moves between CPUs in 5 runs: {moves:?}");
}
