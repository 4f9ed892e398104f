//! Gather's read order (nodeGather.c `gather_readnext`): the leader drains the queue it is
//! on before it moves on, round robin, and after a round that found every queue empty it
//! starts again at the queue where the round began.

use super::tests::{compiled, load, ring};
use super::*;

/// A Sim with `workers` launched, the leader in its Gather loop and not participating, and
/// queue j holding `tuples[j]` published tuples.
fn gather_with_queues<'a>(
    c: &'a Compiled,
    hw: &'a Hardware,
    sc: &'a Scenario,
    tuples: &[f64],
) -> (Sim<'a>, Vec<(usize, f64)>) {
    let mut sim = Sim::new(c, hw, &sc.settings, tuples.len() as u32, 1, false);
    assert!(!sim.leader_local(), "the test wants a leader that does not participate");
    let s = sim.tuple_bytes;
    for (j, n) in tuples.iter().enumerate() {
        sim.queues[j].written = n * s;
        sim.procs[j + 1].act = Act::Blocked(State::MqSend);
    }
    sim.procs[0].phase = Phase::Done;
    // Let the leader drain: record which queue it reads, and how much, batch after batch.
    sim.gather_next();
    let reads = drain(&mut sim);
    (sim, reads)
}

/// Let the leader drain what it has started to: which queue it reads, and how much, batch
/// after batch, until it has nothing to read.
fn drain(sim: &mut Sim) -> Vec<(usize, f64)> {
    let s = sim.tuple_bytes;
    let mut reads = vec![];
    for _ in 0..8 {
        let Act::Flow(f) = &sim.procs[0].act else { break };
        let FlowKind::Drain(j) = f.kind else { break };
        let n = f.stop_at - f.done;
        sim.queues[j].consumed_pending += n * s;
        sim.pulled += n;
        reads.push((j, n));
        sim.after_drain(j);
    }
    reads
}

#[test]
fn gather_drains_the_current_queue_then_moves_on_round_robin() {
    let (sc, hw) = load("gather-heavy.toml", "reference-2vcpu", &[("parallel_leader_participation", "off")]);
    let c = compiled(&sc, &hw, 3);
    let s = c.queue_tuple_bytes;
    // A quarter ring's worth of tuples, plus a few: two batches from one queue.
    let per_quarter = (ring(&hw) / 4.0 / s).ceil();
    let (_, reads) = gather_with_queues(&c, &hw, &sc, &[0.0, per_quarter + 5.0, 3.0]);
    let order: Vec<usize> = reads.iter().map(|r| r.0).collect();
    // Queue 0 is empty: skipped. Queue 1 is drained to the end (two batches: the leader
    // acknowledges at a quarter ring and keeps reading) before queue 2 is read.
    assert_eq!(order, vec![1, 1, 2], "reads {reads:?}");
    assert!((reads[0].1 + reads[1].1 - (per_quarter + 5.0)).abs() < 1e-3, "reads {reads:?}");
}

/// After a round of reads that found every queue empty, PostgreSQL's `nextreader` has gone
/// round to the queue that ran dry: woken, the leader tries that one first, not the next. On
/// a 2-vCPU VM (`perf sched`, docs/validation.md) this decides who sends the rows of a
/// leader-bound Gather without the leader: the worker alone on its CPU refills its queue as
/// the leader reads it and sent 141-152k of 240k rows, the one sharing the leader's CPU 88-99k.
#[test]
fn after_every_queue_came_up_empty_the_leader_tries_the_one_that_ran_dry_first() {
    let (sc, hw) = load("gather-heavy.toml", "reference-2vcpu", &[("parallel_leader_participation", "off")]);
    let c = compiled(&sc, &hw, 3);
    let s = c.queue_tuple_bytes;
    let (mut sim, reads) = gather_with_queues(&c, &hw, &sc, &[0.0, 3.0, 3.0]);
    assert_eq!(reads.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2], "reads {reads:?}");
    // Queue 2 ran dry, then 0 and 1 were empty too: the leader waits on its latch.
    assert!(matches!(sim.procs[0].act, Act::Blocked(State::MqReceive)), "the leader waits for tuples");
    // Every queue gets tuples while it sleeps; woken, it reads queue 2 first.
    for q in &mut sim.queues {
        q.written += 3.0 * s;
    }
    sim.gather_next();
    let order: Vec<usize> = drain(&mut sim).iter().map(|r| r.0).collect();
    assert_eq!(order, vec![2, 0, 1], "after the wait: reads from queues {order:?}");
}
