//! A query's processes on the cores: the run queue of `exec::cpu` (turns fair in CPU time
//! when more processes are runnable than cores, exact sharing otherwise), and the wake-up of a
//! process from a latch wait (SetLatch: signal, epoll return), which starts after the wake-up
//! latency when a core is idle, else after a context switch, and then waits for its turn.
//! Cost: one event per turn, never per tuple.

use super::*;
use crate::exec::cpu::{self, Tasks};

impl Tasks<usize> for [Proc] {
    fn vruntime(&self, p: usize) -> f64 {
        self[p].vruntime
    }
    fn set_vruntime(&mut self, p: usize, v: f64) {
        self[p].vruntime = v;
    }
    fn lag(&self, p: usize) -> f64 {
        self[p].lag
    }
    fn set_lag(&mut self, p: usize, lag: f64) {
        self[p].lag = lag;
    }
    fn leader_of(&self, _p: usize) -> usize {
        0
    }
}

impl<'a> Sim<'a> {
    /// Is the scheduler modelled (turns, wake-up latency), rather than ideal sharing?
    pub(super) fn scheduled(&self) -> bool {
        cpu::scheduled(self.hw)
    }

    /// Set the CPU share each running flow may use (`cpu_cap` of the demands in
    /// `self.fluid`, in the order of `self.fluid.idx`: 1 = a whole core, 0 = waiting for its
    /// turn) from the run queue (`exec::cpu`, the same one a server's queries share), and
    /// schedule the turn's end when turns begin.
    pub(super) fn apply_cpu_caps(&mut self) {
        if !self.scheduled() {
            return; // the demands were built with cap 1
        }
        let fl = &mut self.fluid;
        fl.caps.clear();
        fl.caps.resize(fl.idx.len(), 1.0);
        let turn = self.rq.apply(self.q.now() as f64, &fl.idx, &mut self.procs[..], self.hw, &mut fl.caps);
        for (d, &c) in fl.demands.iter_mut().zip(&fl.caps) {
            d.cpu_cap = c;
        }
        if let Some(turn) = turn {
            let at = self.q.now() + turn.round().max(1.0) as Time;
            self.q.schedule(at, Event::TurnEnd(self.rq.turn_gen()));
        }
    }

    /// Turn `gen` ended: the processes that ran go behind the others (`RunQueue::turn_ended`).
    pub(super) fn end_turn(&mut self, gen: u64) {
        self.rq.turn_ended(self.q.now() as f64, gen, &mut self.procs[..]);
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
