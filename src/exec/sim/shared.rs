//! Hooks that let several executors share one machine (`exec::server`): the run loop of
//! `run.rs` taken apart so that a server model can solve every query's flows together.
//! Nothing here changes how one query runs: stepping a lone `Sim` through these hooks with
//! the rates of `solve_rates` is the same as `Sim::run`.

use super::*;
use crate::engine::Model;
use crate::exec::cpu::Tasks;

/// A server's run queue reads and places this query's processes (by process index).
impl<'a> Tasks<u32> for Sim<'a> {
    fn vruntime(&self, p: u32) -> f64 {
        self.procs[p as usize].vruntime
    }
    fn set_vruntime(&mut self, p: u32, v: f64) {
        self.procs[p as usize].vruntime = v;
    }
    fn lag(&self, p: u32) -> f64 {
        self.procs[p as usize].lag
    }
    fn set_lag(&mut self, p: u32, lag: f64) {
        self.procs[p as usize].lag = lag;
    }
    fn leader_of(&self, _p: u32) -> u32 {
        0
    }
}

impl<'a> Sim<'a> {
    /// Start the query at absolute time `at` (its clock and milestones are then absolute).
    pub(crate) fn start_at(&mut self, at: Time) {
        self.q.advance_to(at);
        for p in &mut self.procs {
            p.state_since = at;
        }
        self.start();
    }

    /// Record state changes; true once the query has finished.
    pub(crate) fn observe_shared(&mut self) -> bool {
        Model::observe(self)
    }

    /// The demands of the flows in progress, in process order, with the process of each and
    /// the work left to its stop point.
    pub(crate) fn push_demands(&self, out: &mut Vec<Demand>, procs: &mut Vec<u32>, left: &mut Vec<f64>) {
        for (p, pr) in self.procs.iter().enumerate() {
            if let Act::Flow(f) = &pr.act {
                out.push(Demand { cpu: f.cpu, io: f.io, cpu_cap: 1.0 });
                procs.push(p as u32);
                left.push((f.stop_at - f.done).max(0.0));
            }
        }
    }

    /// Processes of other queries that hold or wait for a core (see `wake_latency`).
    pub(crate) fn set_others_busy(&mut self, n: usize) {
        self.others_busy = n;
    }

    /// Take rates for the flows in progress (same order as `push_demands`) from `rates`, with
    /// the CPU caps the run queue gave them (`demands`), returning how many were used. As
    /// `solve_rates` does for a query alone: I/O-bound when the disk share, not the CPU,
    /// limits a flow that has a core.
    pub(crate) fn take_rates(&mut self, rates: &[f64], demands: &[Demand]) -> usize {
        let mut k = 0;
        for pr in &mut self.procs {
            if let Act::Flow(f) = &mut pr.act {
                let r = rates.get(k).copied().unwrap_or(0.0);
                let cap = demands.get(k).map_or(1.0, |d| d.cpu_cap);
                f.rate = r;
                f.cpu_now = demands.get(k).map_or(f.cpu, |d| d.cpu);
                f.io_bound = f.io > 0.0 && r * f.cpu_now < 0.999 && cap > 0.0;
                k += 1;
            }
        }
        k
    }

    /// The earliest flow stop point with the rates taken, or the next delay's end.
    pub(crate) fn next_time(&mut self) -> Option<Time> {
        let now = self.now();
        let mut t_next = self.q.peek_time();
        for pr in &self.procs {
            if let Act::Flow(f) = &pr.act {
                if f.rate > 0.0 {
                    let dt = ((f.stop_at - f.done).max(0.0) / f.rate).ceil();
                    let t = now.saturating_add(dt.min(1e18) as Time);
                    t_next = Some(t_next.map_or(t, |x: Time| x.min(t)));
                }
            }
        }
        t_next
    }

    /// Let the flows progress to `t` and move the clock there.
    pub(crate) fn advance_shared(&mut self, t: Time) {
        self.advance_flows(t);
        self.q.advance_to(t);
    }

    /// Fire the transitions due now, then deliver the delays ending now, exactly as
    /// `engine::run` does for one query. True if anything happened.
    pub(crate) fn fire_shared(&mut self) -> bool {
        self.steps += 1;
        let fired = Model::fire_transitions(self);
        let mut delivered = false;
        if !fired || self.q.peek_time() == Some(self.q.now()) {
            while self.q.peek_time() == Some(self.q.now()) {
                match self.q.pop() {
                    Some((_, ev)) => {
                        delivered = true;
                        self.on_event(ev)
                    }
                    None => break,
                }
            }
        }
        fired || delivered
    }

    /// Workers that still hold a background-worker slot. A slot is taken when the Gather
    /// registers its worker and freed when the postmaster reaps the exited worker
    /// (ForgetBackgroundWorker counts it terminated), which the leader waits for before its
    /// Gather ends (DestroyParallelContext -> WaitForParallelWorkersToExit; the profile's
    /// `shutdown_per_worker_us`). A worker that has sent its last tuple still holds its slot
    /// until then: counting it free from there let the next query take slots PostgreSQL
    /// would not yet give.
    ///
    /// Each worker ends on its own after its last tuple (a wait of `shutdown_per_worker_us`,
    /// then its unmapping on a core, `FlowKind::Exit`), the workers side by side: a slot is free as soon as
    /// its worker has exited, so a query that starts meanwhile can get one worker of two, as
    /// on a real server.
    pub(crate) fn live_workers(&self) -> u32 {
        if self.finished_at.is_some() || self.slots_released {
            return 0;
        }
        // A worker holds its slot until it has exited (its `FlowKind::Exit` work done).
        (1..self.procs.len())
            .filter(|&p| !(self.procs[p].phase == Phase::Done && matches!(self.procs[p].act, Act::Idle)))
            .count() as u32
    }

    pub(crate) fn finished_at(&self) -> Option<Time> {
        self.finished_at
    }

    /// Per-process time splits so far (for the per-query wait columns).
    pub(crate) fn accounting(&self) -> Vec<Accounting> {
        self.procs.iter().map(|p| p.acct.clone()).collect()
    }

    /// Processes that have not exited, with what they wait on (for a stalled server).
    pub(crate) fn blocked(&self) -> Vec<crate::error::BlockedProcess> {
        self.blocked_processes()
    }
}
