//! Cores as Linux shares them. While no more processes want a core than there are cores,
//! sharing is exact (fluid). When more do, and the profile's scheduler is EEVDF or CFS, the
//! processes take turns: `cores` of them run at full speed for one turn (the slice, seen at
//! the next tick), the others wait runnable, then the runners go to the back of the line. A
//! process woken from a latch wait (SetLatch: signal, epoll return) starts after the wake-up
//! latency when a core is idle, else after a context switch, and then waits for its turn.
//! Cost: one event per turn, never per tuple.

use super::*;
use crate::model::SchedulerKind;

impl<'a> Sim<'a> {
    /// Is the scheduler modelled (turns, wake-up latency), rather than ideal sharing?
    fn scheduled(&self) -> bool {
        self.hw.scheduler.kind != SchedulerKind::Fluid && self.hw.cores.fract() == 0.0
    }

    /// Set the CPU share each running flow may use (`cpu_cap` of the demands in
    /// `self.fluid`, in the order of `self.fluid.idx`: 1 = a whole core, 0 = waiting for its
    /// turn). Keeps the line of runnable processes and the turn timer. Allocates nothing once
    /// warm: membership is a reused mark per process.
    ///
    /// The line is fair in CPU time, as EEVDF and CFS are: a process that leaves it (blocks)
    /// keeps what it was owed (its lag, clamped), and rejoins ahead of processes that have
    /// had more CPU; those that wait are ordered by the CPU time they have had. A process
    /// that blocks early in its turn, like a worker whose tuple queue fills, is thus not
    /// sent to the back of the line each time it wakes.
    pub(super) fn apply_cpu_caps(&mut self) {
        if !self.scheduled() {
            return; // the demands were built with cap 1
        }
        let cores = self.hw.cores as usize;
        // 1 = runnable now; 2 = runnable and in line; 3 = on a core this turn.
        self.fluid.mark.clear();
        self.fluid.mark.resize(self.procs.len(), 0);
        for k in 0..self.fluid.idx.len() {
            let p = self.fluid.idx[k];
            self.fluid.mark[p] = 1;
        }
        // Processes that stopped running leave the line, keeping their lag.
        if self.run_order.iter().any(|&p| self.fluid.mark[p] != 1) {
            let v = self.avg_vruntime();
            let max_lag = self.hw.scheduler.max_lag_ns();
            for k in 0..self.run_order.len() {
                let p = self.run_order[k];
                if self.fluid.mark[p] != 1 {
                    self.procs[p].lag = (v - self.procs[p].vruntime).clamp(0.0, max_lag);
                }
            }
            let mark = &self.fluid.mark;
            self.run_order.retain(|&p| mark[p] == 1);
        }
        for &p in &self.run_order {
            self.fluid.mark[p] = 2;
        }
        // New ones join, placed at the line's average CPU time minus their lag.
        for k in 0..self.fluid.idx.len() {
            let p = self.fluid.idx[k];
            if self.fluid.mark[p] == 1 {
                if !self.run_order.is_empty() {
                    let v = self.avg_vruntime();
                    self.procs[p].vruntime = v - self.procs[p].lag;
                }
                self.run_order.push(p);
                self.fluid.mark[p] = 2;
                self.sort_waiting(cores);
            }
        }
        let n = self.fluid.idx.len();
        if n <= cores {
            return;
        }
        if !self.turn_pending {
            let turn = self.hw.scheduler.turn_ns(n as f64 / self.hw.cores);
            self.turn_pending = true;
            let at = self.q.now() + turn.round().max(1.0) as Time;
            self.q.schedule(at, Event::TurnEnd);
        }
        let fl = &mut self.fluid;
        for &p in &self.run_order[..cores] {
            fl.mark[p] = 3;
        }
        for (d, &p) in fl.demands.iter_mut().zip(&fl.idx) {
            d.cpu_cap = if fl.mark[p] == 3 { 1.0 } else { 0.0 };
        }
    }

    /// The average CPU time of the processes in line (EEVDF's V).
    fn avg_vruntime(&self) -> f64 {
        let n = self.run_order.len().max(1) as f64;
        self.run_order.iter().map(|&p| self.procs[p].vruntime).sum::<f64>() / n
    }

    /// Order the waiting part of the line (after the `cores` running) by CPU time had; ties
    /// keep their order.
    fn sort_waiting(&mut self, cores: usize) {
        if self.run_order.len() > cores + 1 {
            let procs = &self.procs;
            self.run_order[cores..].sort_by(|a, b| procs[*a].vruntime.total_cmp(&procs[*b].vruntime));
        }
    }

    /// A turn ended: the processes that ran go behind the others, then the line is ordered
    /// by CPU time had (the earliest virtual deadline runs next, all slices being equal).
    pub(super) fn end_turn(&mut self) {
        self.turn_pending = false;
        let cores = (self.hw.cores as usize).min(self.run_order.len());
        self.run_order.rotate_left(cores);
        self.sort_waiting(0);
    }

    /// From SetLatch on a sleeping process until it can run. On a shared server the cores are
    /// idle only if the other queries' processes leave one free (`others_busy`); when none is,
    /// the server's line (`exec::server::cpu`) makes the woken process wait for its turn.
    pub(super) fn wake_latency(&self) -> f64 {
        let s = &self.hw.scheduler;
        if !self.scheduled() {
            return self.hw.costs.wakeup_ns / self.hw.cpu_speed;
        }
        let own = self.procs.iter().filter(|p| matches!(p.act, Act::Flow(_))).count();
        let busy = (own + self.others_busy) as f64;
        if busy < self.hw.cores {
            s.wakeup_latency_ns + s.context_switch_ns
        } else {
            // Every core is busy: the process joins the line and waits for its turn.
            s.context_switch_ns
        }
    }
}
