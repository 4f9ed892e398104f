//! Tuple queues: one shm_mq byte ring per worker, with its framing and the 1/4-of-ring rules
//! on both sides (the sender publishes written bytes once a quarter of the ring is pending;
//! the receiver publishes consumed bytes once a quarter is read, waking a blocked sender).

use super::*;

#[derive(Debug, Clone, Default)]
pub(super) struct Queue {
    pub(super) written: f64,
    pub(super) pending: f64,
    pub(super) read: f64,
    pub(super) consumed_pending: f64,
    pub(super) sender_done: bool,
    pub(super) receiver_detached: bool,
    pub(super) exhausted: bool,
    pub(super) sender_blocked: bool,
}

impl<'a> Sim<'a> {
    /// Recompute where flow p must stop next (end, queue full/publish, bound, preemption).
    pub(super) fn retarget(&mut self, p: usize) {
        let fuse = self.ff_fuse_ok(p);
        // A flow set aside (the leader's local scan while it drains a queue, a worker's scan
        // behind its full queue or its wake-up's CPU) passes no chunk end while it waits: it
        // settles when it runs again, if it cannot fuse then.
        let running_scan = matches!(&self.procs[p].act, Act::Flow(f) if f.kind == FlowKind::Scan);
        let own_scan = running_scan || (p > 0 && self.procs[p].saved.is_none());
        if !fuse && own_scan {
            self.ff_settle_chunks(p);
        }
        let (kind, done, total, rpu) = match &mut self.procs[p].act {
            Act::Flow(f) => {
                f.fused = fuse;
                (f.kind, f.done, f.total, f.rows_per_unit)
            }
            _ => return,
        };
        let mut stop = if fuse { f64::INFINITY } else { total };
        let pipe = self.pipe(p);
        let s = self.tuple_bytes;
        match kind {
            FlowKind::Scan | FlowKind::Emit if rpu > 0.0 => {
                // Tuple bound.
                if let Some(b) = pipe.bound {
                    let left_rows = (b - self.procs[p].rows_out).max(0.0);
                    stop = stop.min(done + left_rows / rpu);
                }
                if p > 0 {
                    let q = &self.queues[p - 1];
                    if q.receiver_detached {
                        // The leader has gone: stop at the next row we would send.
                        let next = (self.procs[p].rows_out.floor() + 1.0 - self.procs[p].rows_out).max(EPS);
                        stop = stop.min(done + next / rpu);
                    } else {
                        let free = self.qcap - (q.written + q.pending - q.read);
                        let to_full = (free / s).max(0.0);
                        let to_publish = ((self.qcap / 4.0 - q.pending) / s).max(0.0) + 1e-6;
                        stop = stop.min(done + to_full.min(to_publish) / rpu);
                    }
                } else if self.mode == LeaderMode::Gather && self.n_workers() > 0 {
                    if let Some(l) = self.c.consumer.limit {
                        stop = stop.min(done + (l - self.pulled).max(0.0) / rpu);
                    }
                    if fuse {
                        // Fused, it looks at the budget again within a leash of rows.
                        stop = stop.min(done + self.ff_leash());
                    }
                    if self.any_queue_ready() {
                        // Return to the queues after the next local tuple.
                        let r = self.local_rows_total;
                        let next = (r.floor() + 1.0 - r).max(EPS);
                        stop = stop.min(done + next / rpu);
                    }
                } else if let Some(l) = self.c.consumer.limit {
                    stop = stop.min(done + (l - self.pulled).max(0.0) / rpu);
                }
            }
            FlowKind::Drain(j) => {
                let q = &self.queues[j];
                let avail = ((q.written - q.read - q.consumed_pending) / s).max(0.0);
                let to_publish = ((self.qcap / 4.0 - q.consumed_pending) / s).max(0.0) + 1e-6;
                stop = done + avail.min(to_publish);
                if let Some(l) = self.c.consumer.limit {
                    stop = stop.min(done + (l - self.pulled).max(0.0));
                }
            }
            FlowKind::Merge => {
                let srcs = self.merge_sources();
                let k = srcs.len().max(1) as f64;
                let mut lim = f64::INFINITY;
                for src in &srcs {
                    match src {
                        Some(j) => {
                            let q = &self.queues[*j];
                            let avail = ((q.written - q.read - q.consumed_pending) / s).max(0.0);
                            let to_publish = ((self.qcap / 4.0 - q.consumed_pending) / s).max(0.0) + 1e-6;
                            lim = lim.min(avail.min(to_publish) * k);
                        }
                        None => {
                            let left = (self.procs[0].emit_total - self.procs[0].rows_out).max(0.0);
                            lim = lim.min(left * k);
                        }
                    }
                }
                if let Some(l) = self.c.consumer.limit {
                    lim = lim.min((l - self.pulled).max(0.0));
                }
                stop = done + lim.min(total - done);
            }
            _ => {}
        }
        if let Act::Flow(f) = &mut self.procs[p].act {
            f.stop_at = if fuse { stop.max(done) } else { stop.max(done).min(f.total) };
        }
    }

    pub(super) fn resume_after_send(&mut self, p: usize) {
        if let Some(f) = self.procs[p].saved.take() {
            let j = p - 1;
            self.queues[j].sender_blocked = false;
            if self.queues[j].receiver_detached {
                self.participant_done(p);
                return;
            }
            let mut f = f;
            f.stop_at = f.total;
            self.procs[p].gen += 1;
            self.procs[p].act = Act::Flow(f);
            self.retarget(p);
        }
    }

    // ---------------------------------------------------------------- tuple queues

    pub(super) fn trace_queue(&mut self, j: usize) {
        let now = self.now();
        let q = &self.queues[j];
        let used = q.written - q.read;
        if let Some(t) = self.trace.as_mut() {
            t.queue.push((now, j, used));
        }
    }

    pub(super) fn queue_ready(&self, j: usize) -> bool {
        let q = &self.queues[j];
        !q.exhausted && (q.written - q.read - q.consumed_pending > self.tuple_bytes * 0.5 || q.sender_done)
    }

    pub(super) fn any_queue_ready(&self) -> bool {
        (0..self.n_workers()).any(|j| self.queue_ready(j))
    }

    /// A worker published tuples or detached: the leader may react.
    pub(super) fn wake_leader_for(&mut self, j: usize) {
        let _ = j;
        let wake = self.wake_latency();
        match (&self.procs[0].act, self.mode) {
            (Act::Blocked(State::MqReceive), LeaderMode::Gather | LeaderMode::MergeInit | LeaderMode::Merge) => {
                self.delay(0, State::MqReceive, wake);
            }
            (Act::Blocked(State::Shutdown), LeaderMode::Shutdown) => self.leader_check_shutdown(),
            (Act::Flow(_), _) => self.retarget(0),
            _ => {}
        }
    }

    /// Worker j + 1 publishes what it has written to queue j and sets the leader's latch.
    /// True when that found the leader asleep on its queues (WaitLatch in gather_readnext or
    /// a Gather Merge read), so that the SetLatch signalled it.
    pub(super) fn publish_to_leader(&mut self, j: usize) -> bool {
        let q = &mut self.queues[j];
        q.written += q.pending;
        q.pending = 0.0;
        self.trace_queue(j);
        let asleep = matches!(self.procs[0].act, Act::Blocked(State::MqReceive))
            && matches!(self.mode, LeaderMode::Gather | LeaderMode::MergeInit | LeaderMode::Merge);
        self.wake_leader_for(j);
        asleep
    }

    /// Queue j has no room for another tuple.
    pub(super) fn queue_full(&self, j: usize) -> bool {
        let q = &self.queues[j];
        self.qcap - (q.written + q.pending - q.read) < self.tuple_bytes * 0.5
    }

    /// Worker p's SetLatch signals its sleeping leader (`scheduler.set_latch_ns` on a core):
    /// its flow waits in `saved` meanwhile, and a worker whose queue is full sleeps after it,
    /// unless the leader has made room. False, and nothing done, where no signal is priced.
    pub(super) fn set_leaders_latch(&mut self, p: usize) -> bool {
        let ns = self.hw.scheduler.set_latch_ns / self.hw.cpu_speed;
        if ns <= 0.0 {
            return false;
        }
        if let Act::Flow(fl) = std::mem::replace(&mut self.procs[p].act, Act::Blocked(State::Cpu)) {
            self.procs[p].saved = Some(fl);
        }
        self.fixed_cpu(p, FlowKind::SetLatch, ns, State::Cpu);
        true
    }

    /// After a worker's SetLatch: it sends on, or sleeps on its full queue.
    pub(super) fn after_set_latch(&mut self, p: usize) {
        let j = p - 1;
        let q = &self.queues[j];
        if q.sender_blocked && self.queue_full(j) && !q.receiver_detached {
            self.procs[p].act = Act::Blocked(State::MqSend);
        } else {
            self.resume_after_send(p);
        }
    }

    /// The leader published read progress on queue j: wake a blocked sender.
    pub(super) fn publish_read(&mut self, j: usize) {
        let q = &mut self.queues[j];
        if q.consumed_pending <= 0.0 {
            return;
        }
        q.read += q.consumed_pending;
        q.consumed_pending = 0.0;
        self.trace_queue(j);
        let p = j + 1;
        if matches!(self.procs[p].act, Act::Blocked(State::MqSend)) {
            let wake = self.wake_latency();
            self.delay(p, State::MqSend, wake);
        }
    }
}
