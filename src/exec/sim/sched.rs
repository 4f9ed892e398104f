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
    /// warm: membership is a reused mark per process, so the update is linear in processes.
    pub(super) fn apply_cpu_caps(&mut self) {
        if !self.scheduled() {
            return; // the demands were built with cap 1
        }
        let fl = &mut self.fluid;
        let mark = &mut fl.mark;
        mark.clear();
        mark.resize(self.procs.len(), 0);
        // 1 = runnable now; 2 = runnable and already in line; 3 = on a core this turn.
        for &p in &fl.idx {
            mark[p] = 1;
        }
        // Processes that stopped running leave the line; new ones join at its back.
        self.run_order.retain(|&p| mark[p] == 1);
        for &p in &self.run_order {
            mark[p] = 2;
        }
        for &p in &fl.idx {
            if mark[p] == 1 {
                self.run_order.push(p);
                mark[p] = 2;
            }
        }
        let cores = self.hw.cores as usize;
        let n = fl.idx.len();
        if n <= cores {
            return;
        }
        if !self.turn_pending {
            let turn = self.hw.scheduler.turn_ns(n as f64 / self.hw.cores);
            self.turn_pending = true;
            let at = self.q.now() + turn.round().max(1.0) as Time;
            self.q.schedule(at, Event::TurnEnd);
        }
        for &p in &self.run_order[..cores] {
            mark[p] = 3;
        }
        for (d, &p) in fl.demands.iter_mut().zip(&fl.idx) {
            d.cpu_cap = if mark[p] == 3 { 1.0 } else { 0.0 };
        }
    }

    /// A turn ended: the processes that ran go to the back of the line.
    pub(super) fn end_turn(&mut self) {
        self.turn_pending = false;
        let cores = (self.hw.cores as usize).min(self.run_order.len());
        self.run_order.rotate_left(cores);
    }

    /// From SetLatch on a sleeping process until it can run.
    pub(super) fn wake_latency(&self) -> f64 {
        let s = &self.hw.scheduler;
        if !self.scheduled() {
            return self.hw.costs.wakeup_ns / self.hw.cpu_speed;
        }
        let busy = self.procs.iter().filter(|p| matches!(p.act, Act::Flow(_))).count() as f64;
        if busy < self.hw.cores {
            s.wakeup_latency_ns + s.context_switch_ns
        } else {
            // Every core is busy: the process joins the line and waits for its turn.
            s.context_switch_ns
        }
    }
}
