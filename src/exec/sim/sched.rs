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

    /// CPU share each of the flows of processes `idx` may use (1 = a whole core, 0 = waiting
    /// for its turn). Keeps the line of runnable processes and the turn timer.
    pub(super) fn cpu_caps(&mut self, idx: &[usize]) -> Vec<f64> {
        if !self.scheduled() {
            return vec![1.0; idx.len()];
        }
        // Processes that stopped running leave the line; new ones join at its back.
        self.run_order.retain(|p| idx.contains(p));
        for &p in idx {
            if !self.run_order.contains(&p) {
                self.run_order.push(p);
            }
        }
        let cores = self.hw.cores as usize;
        if idx.len() <= cores {
            return vec![1.0; idx.len()];
        }
        if !self.turn_pending {
            let turn = self.hw.scheduler.turn_ns(idx.len() as f64 / self.hw.cores);
            self.turn_pending = true;
            let at = self.now() + turn.round().max(1.0) as Time;
            self.q.schedule(at, Event::TurnEnd);
        }
        let running = &self.run_order[..cores];
        idx.iter().map(|p| if running.contains(p) { 1.0 } else { 0.0 }).collect()
    }

    /// A turn ended: the processes that ran go to the back of the line.
    pub(super) fn end_turn(&mut self) {
        self.turn_pending = false;
        let cores = (self.hw.cores as usize).min(self.run_order.len());
        self.run_order.rotate_left(cores);
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
