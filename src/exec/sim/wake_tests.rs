//! A wake-up from a latch wait costs CPU (`scheduler.wake_cpu_ns`): charged to the woken
//! process on a core, once per wake-up, and nothing where a profile does not say; setting the
//! latch of a process asleep on it costs the setter (`scheduler.set_latch_ns`).

use super::*;
use crate::exec::{simulate, RunSpec, DEFAULT_MAX_STEPS};
use std::path::Path;

fn gather_heavy(wake_cpu_ns: f64) -> SimResult {
    gather_heavy_with("2", "off", |hw| hw.scheduler.wake_cpu_ns = wake_cpu_ns)
}

/// gather-heavy's scan through a Gather with `workers` workers and the leader taking part or
/// not, on the reference profile as `price` sets it, a core for each process (each as fast
/// busy or alone: a process's CPU is its own work), fast-forward and the trace on.
fn gather_heavy_with(workers: &str, leader: &str, price: impl FnOnce(&mut Hardware)) -> SimResult {
    let w = crate::config::WhatIf {
        set: vec![
            ("max_parallel_workers_per_gather".into(), workers.into()),
            ("parallel_leader_participation".into(), leader.into()),
        ],
        ..Default::default()
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios/gather-heavy.toml");
    let (sc, mut hw) = crate::config::load(&path, "reference-2vcpu", &w).expect("shipped scenario loads");
    price(&mut hw);
    hw.cores = 4.0;
    hw.all_cores_busy_speed = 1.0;
    let d = crate::planner::decide(&sc);
    let spec = RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 11);
    let spec = RunSpec { max_steps: DEFAULT_MAX_STEPS, fast_forward: true, trace: true, ..spec };
    simulate(&spec).expect("runs").1
}

#[test]
fn each_wake_up_from_a_latch_wait_costs_its_process_cpu() {
    let price = 40e3;
    let (free, priced) = (gather_heavy(0.0), gather_heavy(price));
    // The leader only receives and is the bottleneck: its workers fill their queues and
    // sleep in MessageQueueSend, each woken by the leader's acknowledgement. The workers
    // split the rows differently once wake-ups cost, so they are held together: the same rows
    // in all, each wake-up's price more.
    let workers = |r: &SimResult| -> (f64, u64) {
        r.processes.iter().filter(|p| p.is_worker).fold((0.0, 0), |(c, s), p| (c + p.acct.on_cpu, s + p.stalls))
    };
    let ((cpu_free, _), (cpu_priced, wakes)) = (workers(&free), workers(&priced));
    assert!(wakes > 40, "the workers sleep on full queues often: {wakes} wake-ups");
    let (extra, expected) = (cpu_priced - cpu_free, wakes as f64 * price);
    assert!(
        (extra - expected).abs() < 0.1 * expected,
        "the workers' CPU grows by their wake-ups' price: {:.3} ms more, {wakes} wake-ups x {:.0} us = {:.3} ms",
        extra / 1e6,
        price / 1e3,
        expected / 1e6
    );
    // Every row still crosses the queues, fast-forward on (a worker's fused scan waits behind
    // its wake-up's CPU as behind its full queue: settled there, its claimed chunks were lost).
    let rows = |r: &SimResult| r.processes.iter().map(|p| p.rows_out).sum::<f64>();
    let (a, b) = (rows(&priced), rows(&free));
    assert!((a - b).abs() < 1.0, "rows sent: {a} with the price, {b} without");
    // No wake-up costs anything where a profile does not say.
    let again = gather_heavy(0.0);
    assert_eq!(free.processes[0].acct.on_cpu, again.processes[0].acct.on_cpu);
}

/// gather-heavy priced as it is but for the signal to a sleeping leader and a row's scan
/// `scan_x` times its price.
fn gather_heavy_traced(workers: &str, leader: &str, scan_x: f64, set_latch_ns: f64) -> SimResult {
    gather_heavy_with(workers, leader, |hw| {
        hw.scheduler.set_latch_ns = set_latch_ns;
        hw.costs.tuple_ns *= scan_x;
    })
}

#[test]
fn a_worker_pays_for_signalling_its_leader_only_when_the_leader_sleeps() {
    let price = 30e3;
    let workers_cpu = |r: &SimResult| r.processes.iter().filter(|p| p.is_worker).map(|p| p.acct.on_cpu).sum::<f64>();
    let leader_sleeps = |r: &SimResult| {
        let t = r.trace.as_ref().expect("traced");
        t.intervals.iter().filter(|i| i.process == 0 && i.state == State::MqReceive).count()
    };
    let rows = |r: &SimResult| r.processes.iter().map(|p| p.rows_out).sum::<f64>();
    // Without the leader and with workers slower than it (their scan ten times dearer), it
    // only receives: it drains the queues, sleeps, and the first worker to publish after that
    // signals it. Each of its latch waits a worker's publish ended cost that worker the price.
    let (free, priced) = (gather_heavy_traced("2", "off", 10.0, 0.0), gather_heavy_traced("2", "off", 10.0, price));
    let sleeps = leader_sleeps(&priced);
    assert!(sleeps > 20, "the leader sleeps on its queues: {sleeps} times");
    let extra = workers_cpu(&priced) - workers_cpu(&free);
    assert!(
        extra > 0.99 * (sleeps as f64 - 3.0) * price && extra < 1.01 * sleeps as f64 * price,
        "the workers' CPU grows by a signal per leader's sleep: {:.3} ms more over {sleeps} sleeps x {:.0} us",
        extra / 1e6,
        price / 1e3
    );
    assert!((rows(&priced) - rows(&free)).abs() < 1.0, "every row still crosses the queues");
    // With the leader taking part it scans when its queues are dry instead of sleeping: its
    // worker signals it next to never.
    let (free, priced) = (gather_heavy_traced("1", "on", 1.0, 0.0), gather_heavy_traced("1", "on", 1.0, price));
    let (extra, sleeps) = (workers_cpu(&priced) - workers_cpu(&free), leader_sleeps(&priced));
    assert!(
        extra <= (sleeps as f64 + 1.0) * price + 1.0,
        "a worker whose leader scans pays only for its leader's {sleeps} sleeps: {:.3} ms more",
        extra / 1e6
    );
}
