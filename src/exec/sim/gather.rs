//! The leader above the tuple queues: Gather's read policy (drain the current queue, round
//! robin, local work only when every queue is empty), Gather Merge (the leader's first tuple,
//! then one from every worker, then a merge that blocks on a dry queue), the LIMIT shutdown,
//! ParallelFinish, and the breakers above the Gather.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LeaderMode {
    /// Gather loop: read queues, else run local work, else sleep.
    Gather,
    /// Gather Merge: initial local tuple, then wait for every worker's first tuple.
    MergeInit,
    Merge,
    /// Limit reached or all sources done: waiting for workers to exit.
    Shutdown,
    /// Breakers above the Gather and the final rows.
    Top,
    Finished,
}

impl<'a> Sim<'a> {
    /// After a SubPlan's Gather: the leader goes on with the main plan, alone.
    pub(super) fn begin_post_phase(&mut self) {
        self.subplan_gather = Some(SubPlanGather {
            leader: self.snapshot(0),
            gather_rows: self.pulled,
            first_row: self.gather_first_row,
            end: self.gather_end,
        });
        self.post_phase = true;
        let post = self.c.post.as_ref().expect("post plan");
        let p = &mut self.procs[0];
        p.phase = Phase::Startup;
        p.scan = ParticipantScan::default();
        p.build_scans = vec![ParticipantScan::default(); post.builds.len()];
        p.private_left = post.source.pages;
        p.tuples_scanned = 0.0;
        p.pages_scanned = 0.0;
        p.rows_streamed = 0.0;
        p.rows_out = 0.0;
        p.emit_total = 0.0;
        p.build_tuples = vec![0.0; post.builds.len()];
        p.saved = None;
        p.ms = Milestones::default();
        p.act = Act::Blocked(State::Cpu);
        self.mode = LeaderMode::Gather;
        self.pulled = 0.0;
        self.local_rows_total = 0.0;
        self.gather_first_row = None;
        self.gather_end = None;
        self.participant_begin(0);
        // The main plan's nodes started when the query did: the SubPlan is evaluated inside
        // the scan's first qual check.
        let started = self.subplan_gather.as_ref().and_then(|g| g.leader.ms.plan_start);
        self.procs[0].ms.plan_start = started;
    }

    // ---------------------------------------------------------------- the leader

    /// gather_readnext: decide what the leader does next.
    pub(super) fn leader_next(&mut self) {
        match self.mode {
            LeaderMode::Gather => self.gather_next(),
            LeaderMode::MergeInit | LeaderMode::Merge => self.merge_next(),
            LeaderMode::Shutdown => self.leader_check_shutdown(),
            LeaderMode::Top | LeaderMode::Finished => {}
        }
    }

    pub(super) fn gather_next(&mut self) {
        if self.c.consumer.limit.is_some_and(|l| self.pulled >= l - 1e-6) {
            self.begin_shutdown();
            return;
        }
        let n = self.n_workers();
        // Try the queues from nextreader, round robin.
        for k in 0..n {
            let j = (self.next_reader + k) % n;
            let q = &self.queues[j];
            if q.exhausted {
                continue;
            }
            let avail = q.written - q.read - q.consumed_pending;
            if avail > self.tuple_bytes * 0.5 {
                self.next_reader = j;
                self.start_drain(j);
                return;
            }
            if q.sender_done {
                // Detached and empty: this reader is gone.
                self.publish_read(j);
                self.queues[j].exhausted = true;
            }
        }
        let readers_left = (0..n).any(|j| !self.queues[j].exhausted);
        if n > 0 && !readers_left && self.gather_end.is_none() && self.procs[0].phase == Phase::Done {
            self.gather_finished();
            return;
        }
        // All queues empty: local work if the leader participates.
        if self.leader_local() && self.procs[0].phase != Phase::Done {
            if let Some(f) = self.procs[0].saved.take() {
                let mut f = f;
                f.stop_at = f.total;
                self.procs[0].gen += 1;
                self.procs[0].act = Act::Flow(f);
                self.retarget(0);
            } else {
                self.participant_continue(0);
            }
            return;
        }
        if readers_left {
            self.procs[0].act = Act::Blocked(State::MqReceive);
        } else {
            self.gather_finished();
        }
    }

    pub(super) fn start_drain(&mut self, j: usize) {
        let per = (self.hw.costs.tuple_receive_ns / self.hw.cpu_speed
            + self.c.consumer.receive_row_ns
            + self.c.consumer.per_row_ns)
            .max(1.0);
        let s = self.tuple_bytes;
        if self.gather_first_row.is_none() {
            self.gather_first_row = Some(self.now());
        }
        let q = &self.queues[j];
        let avail = ((q.written - q.read - q.consumed_pending) / s).max(0.0);
        let f = Flow::cpu_only(FlowKind::Drain(j), f64::MAX / 4.0, avail, per, 0.0);
        self.procs[0].gen += 1;
        self.procs[0].act = Act::Flow(f);
        self.retarget(0);
    }

    pub(super) fn after_drain(&mut self, j: usize) {
        self.procs[0].act = Act::Blocked(State::Cpu);
        if self.c.consumer.limit.is_some_and(|l| self.pulled >= l - 1e-6) {
            self.begin_shutdown();
            return;
        }
        let s = self.tuple_bytes;
        let q = &self.queues[j];
        let avail = q.written - q.read - q.consumed_pending;
        if q.consumed_pending > self.qcap / 4.0 {
            self.publish_read(j);
        }
        if avail > s * 0.5 {
            self.start_drain(j);
            return;
        }
        // Ran out of published data: publish consumption, move to the next reader. The
        // round of nowait reads starts at this one (its read just failed): when every queue
        // comes up empty, gather_readnext's nextreader has gone round to it again, so after
        // the latch wait (or a tuple of its own) the leader tries this queue first
        // (nodeGather.c:gather_readnext: nextreader++ per failed read, nvisited reset to 0).
        self.publish_read(j);
        if self.queues[j].sender_done && self.queues[j].written - self.queues[j].read < s * 0.5 {
            self.queues[j].exhausted = true;
        }
        self.next_reader = j;
        self.gather_next();
    }

    /// Sources Gather Merge currently merges from: worker queues not exhausted, and the
    /// leader's own sorted rows (None).
    pub(super) fn merge_sources(&self) -> Vec<Option<usize>> {
        let mut v: Vec<Option<usize>> =
            (0..self.n_workers()).filter(|&j| !self.queues[j].exhausted).map(Some).collect();
        if self.leader_local() && self.procs[0].participated && self.procs[0].rows_out < self.procs[0].emit_total - 1e-6
        {
            v.push(None);
        }
        v
    }

    pub(super) fn merge_next(&mut self) {
        let s = self.tuple_bytes;
        if self.mode == LeaderMode::MergeInit {
            // gather_merge_init: the leader's first tuple, then one from every worker.
            if self.leader_local() && self.procs[0].phase != Phase::Done && self.procs[0].phase != Phase::Emit {
                if !matches!(self.procs[0].act, Act::Flow(_) | Act::Delay { .. }) {
                    self.participant_continue(0);
                }
                return;
            }
            if self.leader_local() && self.procs[0].phase == Phase::Emit && self.procs[0].emit_total == 0.0 {
                let pipe = &self.c.leader;
                let mut total = breaker_output(&pipe.breakers, self.procs[0].rows_streamed);
                if let Some(b) = pipe.bound {
                    total = total.min(b);
                }
                self.procs[0].emit_total = total;
            }
            for j in 0..self.n_workers() {
                let q = &self.queues[j];
                let avail = q.written - q.read - q.consumed_pending;
                if avail < s * 0.5 && !q.sender_done {
                    self.procs[0].act = Act::Blocked(State::MqReceive);
                    return;
                }
            }
            self.mode = LeaderMode::Merge;
        }
        if self.c.consumer.limit.is_some_and(|l| self.pulled >= l - 1e-6) {
            self.begin_shutdown();
            return;
        }
        // Drop exhausted workers; block on a worker whose queue is dry.
        for j in 0..self.n_workers() {
            let q = &self.queues[j];
            let avail = q.written - q.read - q.consumed_pending;
            if q.exhausted {
                continue;
            }
            if avail < s * 0.5 {
                self.publish_read(j);
                let q = &self.queues[j];
                if q.sender_done {
                    self.queues[j].exhausted = true;
                } else {
                    self.procs[0].act = Act::Blocked(State::MqReceive);
                    return;
                }
            } else if self.queues[j].consumed_pending > self.qcap / 4.0 {
                self.publish_read(j);
            }
        }
        let srcs = self.merge_sources();
        if srcs.is_empty() {
            if self.procs[0].phase == Phase::Emit {
                self.procs[0].phase = Phase::Done;
                self.procs[0].ms.done = Some(self.now());
            }
            self.gather_finished();
            return;
        }
        if self.gather_first_row.is_none() {
            self.gather_first_row = Some(self.now());
        }
        let k = srcs.len() as f64;
        let c = &self.hw.costs;
        let sp = self.hw.cpu_speed;
        let n_w = srcs.iter().filter(|x| x.is_some()).count() as f64;
        let local_row = *self.c.leader.breaker_row_ns.last().unwrap_or(&0.0);
        let per = (n_w / k) * ((c.tuple_receive_ns + c.gather_merge_tuple_ns) / sp + self.c.consumer.receive_row_ns)
            + (1.0 - n_w / k) * local_row
            + c.sort_compare_ns / sp * (k.log2().max(1.0))
            + self.c.consumer.per_row_ns;
        let f = Flow::cpu_only(FlowKind::Merge, f64::MAX / 4.0, 0.0, per.max(1.0), 0.0);
        self.procs[0].gen += 1;
        self.procs[0].act = Act::Flow(f);
        self.retarget(0);
        if let Act::Flow(f) = &self.procs[0].act {
            if f.stop_at <= f.done + 1e-12 {
                // Nothing to merge right now (shouldn't happen): re-evaluate after a wake-up.
                self.procs[0].act = Act::Blocked(State::MqReceive);
            }
        }
    }

    pub(super) fn after_merge(&mut self) {
        self.procs[0].act = Act::Blocked(State::Cpu);
        if self.procs[0].phase == Phase::Emit && self.procs[0].rows_out >= self.procs[0].emit_total - 1e-6 {
            self.procs[0].phase = Phase::Done;
            self.procs[0].ms.done = Some(self.now());
        }
        self.merge_next();
    }

    pub(super) fn begin_shutdown(&mut self) {
        if self.gather_end.is_none() {
            self.gather_end = Some(self.now());
        }
        self.mode = LeaderMode::Shutdown;
        for j in 0..self.n_workers() {
            self.queues[j].receiver_detached = true;
            let p = j + 1;
            match &self.procs[p].act {
                Act::Blocked(State::MqSend) => {
                    let wake = self.wake_latency();
                    self.delay(p, State::MqSend, wake);
                }
                Act::Flow(_) => self.retarget(p),
                _ => {}
            }
        }
        if self.procs[0].phase != Phase::Done {
            self.procs[0].phase = Phase::Done;
            let now = self.now();
            self.procs[0].ms.done.get_or_insert(now);
        }
        self.procs[0].saved = None;
        self.leader_check_shutdown();
    }

    pub(super) fn leader_check_shutdown(&mut self) {
        // Every worker has ended (a wait, then its unmapping: `FlowKind::Exit`).
        let all_done = (1..self.procs.len()).all(|p| matches!(self.procs[p].act, Act::Idle));
        if all_done {
            self.delay(0, State::Shutdown, 0.0);
        } else {
            self.procs[0].act = Act::Blocked(State::Shutdown);
        }
    }

    pub(super) fn gather_finished(&mut self) {
        if self.gather_end.is_none() {
            self.gather_end = Some(self.now());
        }
        if self.n_workers() == 0 {
            self.leader_after_shutdown();
        } else {
            self.mode = LeaderMode::Shutdown;
            self.leader_check_shutdown();
        }
    }

    pub(super) fn leader_after_shutdown(&mut self) {
        self.slots_released = true;
        if self.mode == LeaderMode::Top || self.mode == LeaderMode::Finished {
            return;
        }
        if self.gather_end.is_none() {
            self.gather_end = Some(self.now());
        }
        if self.c.post.is_some() && !self.post_phase {
            self.begin_post_phase();
            return;
        }
        self.mode = LeaderMode::Top;
        self.top_rows_in = self.pulled;
        self.procs[0].act = Act::Blocked(State::Cpu);
        self.top_step(0);
    }

    /// Breakers above the Gather (Sort, Finalize Aggregate), then the final rows.
    pub(super) fn top_step(&mut self, i: usize) {
        let cons = &self.c.consumer;
        if self.serial() {
            // Serial: the pipeline already returned the final rows.
            self.top_rows_out = self.procs[0].rows_out;
            self.finish_query();
            return;
        }
        if i < cons.breakers.len() {
            let n_in = breaker_output(&cons.breakers[..i], self.top_rows_in);
            let (cpu, temp) = breaker_finish(self.hw, self.settings, &cons.breakers[i], n_in);
            let (work, shown_as) = self.finish_stage_work(cpu, temp, self.top_stage);
            let staged = self.finish_has_next(temp, 0);
            if work > 0.0 || staged {
                let work = if staged { work.max(1.0) } else { work };
                let mut f = Flow::cpu_only(FlowKind::TopFinish(i), 1.0, 1.0, work, 0.0);
                f.shown_as = shown_as;
                self.set_flow(0, f);
                return;
            }
            self.top_stage = 0;
            self.top_step(i + 1);
            return;
        }
        let mut rows =
            if cons.breakers.is_empty() { self.top_rows_in } else { breaker_output(&cons.breakers, self.top_rows_in) };
        if let Some(l) = cons.final_limit {
            rows = rows.min(l);
        }
        if let Some(l) = cons.limit {
            rows = rows.min(l);
        }
        let per = *cons.breaker_row_ns.last().unwrap_or(&0.0) + cons.client_row_ns;
        if rows > 0.0 && per > 0.0 {
            self.top_rows_out = 0.0;
            self.set_flow(0, Flow::cpu_only(FlowKind::TopEmit, rows, rows, per, 0.0));
        } else {
            self.top_rows_out = rows;
            self.finish_query();
        }
    }

    pub(super) fn finish_query(&mut self) {
        self.mode = LeaderMode::Finished;
        self.procs[0].act = Act::Idle;
        self.finished_at = Some(self.now());
        self.record_states();
    }
}
