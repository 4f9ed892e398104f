//! A participant's own work: chunks of the scan as fluid flows (page costs, read latency, CPU
//! noise), the tuple bound, and what happens when a flow stops (chunk done, publish point,
//! queue full, bound or LIMIT reached).

use super::*;

impl<'a> Sim<'a> {
    /// A flow over `pages` pages holding `tuples` tuples.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn page_flow(
        &self,
        kind: FlowKind,
        pages: f64,
        tuples: f64,
        page: &PageCost,
        cpu_per_tuple: f64,
        rows_per_tuple: f64,
        emits: bool,
    ) -> Flow {
        let units = tuples.max(1e-9);
        let per_page = pages / units;
        let os = page.os_read_ns * per_page;
        let cpu = cpu_per_tuple + page.cpu_ns * per_page + os;
        Flow {
            kind,
            total: units,
            done: 0.0,
            stop_at: units,
            cpu: cpu.max(1e-6),
            io: page.disk_bytes * per_page,
            os_frac: if cpu > 0.0 { os / cpu } else { 0.0 },
            rows_per_unit: if emits { rows_per_tuple } else { 0.0 },
            rate: 0.0,
            cpu_now: cpu.max(1e-6),
            io_bound: false,
            shown_as: None,
            fused: false,
        }
    }

    /// Start a chunk's flow, after a read latency when the data is on disk.
    pub(super) fn start_with_latency(&mut self, p: usize, mut f: Flow, pages: f64, page: &PageCost, random_reads: f64) {
        // The machine's run-to-run variation, the same for every chunk and process of a run.
        f.cpu *= self.run_speed;
        let mut latency = 0.0;
        if page.disk_bytes > 0.0 && pages > 0.0 {
            // Read-ahead restarts at every chunk: one request latency before data flows.
            latency += self.hw.disk.request_latency_ns;
        }
        if random_reads > 0.0 {
            let concurrent =
                self.procs.iter().filter(|x| matches!(x.act, Act::Delay { state: State::Io, .. })).count() as f64 + 1.0;
            latency +=
                random_reads * self.hw.disk.request_latency_ns * (concurrent / self.hw.disk.queue_depth).max(1.0);
        }
        if latency > 0.0 {
            self.procs[p].saved = Some(f);
            self.delay(p, State::Io, latency);
        } else {
            self.set_flow(p, f);
        }
    }

    pub(super) fn start_chunk(&mut self, p: usize) {
        let pipe = self.pipe(p);
        // Stop early once the tuple bound is reached (ExecutorRun with a count).
        if pipe.breakers.is_empty() {
            if let Some(b) = pipe.bound {
                if self.procs[p].rows_out >= b - EPS {
                    self.scan_done(p);
                    return;
                }
            }
        }
        let src = &pipe.source;
        let pages = match src.kind {
            SourceKind::Shared => self.next_shared_chunk(p),
            SourceKind::Private => {
                let left = self.procs[p].private_left;
                if left <= EPS {
                    None
                } else {
                    let chunk = (src.pages / 64.0).ceil().max(1.0).min(left);
                    self.procs[p].private_left -= chunk;
                    Some(chunk)
                }
            }
        };
        let Some(pages) = pages else {
            self.scan_done(p);
            return;
        };
        if self.procs[p].ms.first_tuple.is_none() {
            self.procs[p].ms.first_tuple = Some(self.now());
        }
        let tuples = pages * src.tuples / src.pages.max(1.0);
        let emits = pipe.breakers.is_empty();
        let mut cpu_per_tuple = pipe.cpu_per_tuple;
        if emits {
            cpu_per_tuple += pipe.rows_per_tuple * self.out_row_cost(p);
        }
        let f = self.page_flow(FlowKind::Scan, pages, tuples, &src.page, cpu_per_tuple, pipe.rows_per_tuple, emits);
        let random = tuples * src.random_reads_per_tuple;
        let page = src.page.clone();
        self.start_with_latency(p, f, pages, &page, random);
    }

    /// The next pages of a shared source for participant p: a Parallel Append's non-partial
    /// input whole (workers take them first, the leader only when the shared blocks are
    /// gone: nodeAppend.c choose_next_subplan_for_worker / _for_leader), else a chunk of the
    /// shared blocks (tableam.c).
    fn next_shared_chunk(&mut self, p: usize) -> Option<f64> {
        let whole = &self.c.worker.source.whole_pages;
        if p > 0 && self.whole_next < whole.len() {
            self.whole_next += 1;
            return Some(whole[self.whole_next - 1]);
        }
        match self.scan.next_chunk(&mut self.procs[p].scan) {
            Some(n) => Some(n),
            None if self.whole_next < whole.len() => {
                self.whole_next += 1;
                Some(whole[self.whole_next - 1])
            }
            None => None,
        }
    }

    pub(super) fn scan_done(&mut self, p: usize) {
        let now = self.now();
        let send = self.procs[p].acct.mq_send;
        self.procs[p].ms.scan_end = Some(now);
        self.procs[p].ms.send_wait_at_scan_end = send;
        let pipe = self.pipe(p);
        if pipe.breakers.is_empty() {
            self.participant_done(p);
        } else {
            self.procs[p].phase = Phase::Finish(0);
            self.procs[p].act = Act::Blocked(State::Cpu);
            self.participant_continue(p);
        }
    }

    /// Pages process `p` mapped: its share of the scan and of every build it took part in,
    /// each times the blocks its faults mapped around a block read
    /// ([`crate::exec::scan::fault_around_maps_in`]): Q12's worker, one beside the leader on
    /// a 2-vCPU VM, ended 4.7 ms after its last partial group where the build's blocks
    /// counted once gave 3.5 (the build's scan maps 2.2 blocks a block read).
    /// (Its exit is priced per page read, whichever of a page's 4 kB halves it touched:
    /// reading rows' data, which doubles the first-touch faults, raised a lone worker's cost
    /// 1.6-2.2x over count(*)'s and that of two workers side by side 1.4-1.65x, not 2x.)
    fn pages_touched(&self, p: usize) -> f64 {
        let pipe = self.pipe(p);
        let builds: f64 = pipe
            .builds
            .iter()
            .zip(&self.procs[p].build_tuples)
            .map(|(b, done)| if b.tuples > 0.0 { b.pages * b.page.maps * done / b.tuples } else { 0.0 })
            .sum();
        self.procs[p].pages_scanned * pipe.source.page.maps + builds
    }

    pub(super) fn participant_done(&mut self, p: usize) {
        let now = self.now();
        self.procs[p].phase = Phase::Done;
        self.procs[p].ms.done = Some(now);
        self.procs[p].ms.send_wait_at_done = self.procs[p].acct.mq_send;
        if self.procs[p].rows_out > 0.0 {
            self.procs[p].ms.last_row_out = Some(now);
        }
        if p == 0 {
            self.procs[0].act = Act::Blocked(State::Cpu);
            self.leader_next();
        } else {
            // Detach: publish what is pending, mark the queue, wake the leader.
            self.queues[p - 1].sender_done = true;
            self.procs[p].act = Act::Idle;
            self.publish_to_leader(p - 1);
            // Then it ends, each worker on its own: CPU work that takes turns when the cores
            // are busy: its exit (`shutdown_per_worker_us`, spread by `shutdown_sigma`) and
            // the unmapping of every shared-buffer page it mapped (`shutdown_per_page_ns`).
            // Measured on a 2-vCPU VM (docs/cpu-costs.md): sampled, a worker's exit over a
            // one-block table was 2.2 ms on a core; the whole single-copy query took 7.2-8.3
            // ms alone and 15.6-17.3 ms beside two CPU-bound processes, as CPU work at half a
            // core would.
            let par = &self.hw.parallel;
            let unmap = par.shutdown_per_page_ns * self.pages_touched(p);
            // A draw only where the profile has a spread: profiles without one keep their
            // random streams, and so their outputs, as before.
            let exit = lognormal_around(&mut self.procs[p].rng, par.shutdown_per_worker_ns, par.shutdown_sigma);
            // Its fixed part off a core (`worker_cpu_share`: the postmaster's turn to reap it,
            // the leader told) comes after its work on a core.
            let off_core = exit * (1.0 - par.worker_cpu_share);
            if matches!(self.procs[p].act, Act::Idle) && exit + unmap > 0.0 {
                let on_core = exit - off_core + unmap;
                if on_core > 0.0 {
                    self.procs[p].exit_off_core_ns = off_core;
                    self.fixed_cpu(p, FlowKind::Exit, on_core, State::Shutdown);
                } else {
                    self.delay(p, State::Shutdown, off_core);
                }
            }
        }
    }

    /// A worker has ended: its slot is free once the postmaster reaps it; the leader may be
    /// waiting for it.
    pub(super) fn worker_gone(&mut self, p: usize) {
        self.procs[p].act = Act::Idle;
        if self.mode == LeaderMode::Shutdown {
            self.leader_check_shutdown();
        }
    }

    pub(super) fn on_flow_stop(&mut self, p: usize) {
        let f = match &self.procs[p].act {
            Act::Flow(f) => f.clone(),
            _ => return,
        };
        // A fused scan flow only stops at its queue's stop points (its chunk ends are claimed
        // later, see `ffwd`).
        let finished = !f.fused && f.done >= f.total - EPS * f.total.max(1.0);
        match f.kind {
            FlowKind::Build(b) => {
                if finished {
                    let shared = self.pipe(p).builds[b].shared;
                    if shared {
                        self.procs[p].act = Act::Blocked(State::Cpu);
                        self.start_build(p, b);
                    } else {
                        self.finish_build_phase(p, b);
                    }
                }
            }
            FlowKind::Scan | FlowKind::Emit => self.after_output_flow(p, f, finished),
            FlowKind::Finish(i) => {
                let stage = self.procs[p].finish_stage;
                let pipe = self.pipe(p);
                let n_in = self.rows_into_breaker(p, i);
                let temp = breaker_finish(self.hw, self.settings, &pipe.breakers[i], n_in).1;
                if self.finish_has_next(temp, stage) {
                    self.procs[p].finish_stage = stage + 1;
                    self.procs[p].act = Act::Blocked(State::Cpu);
                    self.participant_continue(p);
                    return;
                }
                self.procs[p].finish_stage = 0;
                let now = self.now();
                self.procs[p].ms.breakers_end.push(now);
                let nb = self.pipe(p).breakers.len();
                self.procs[p].phase = if i + 1 < nb { Phase::Finish(i + 1) } else { Phase::Emit };
                self.procs[p].act = Act::Blocked(State::Cpu);
                self.participant_continue(p);
            }
            FlowKind::Drain(j) => self.after_drain(j),
            FlowKind::Merge => self.after_merge(),
            FlowKind::TopFinish(i) => {
                self.procs[0].act = Act::Blocked(State::Cpu);
                let cons = &self.c.consumer;
                let n_in = breaker_output(&cons.breakers[..i], self.top_rows_in);
                let temp = breaker_finish(self.hw, self.settings, &cons.breakers[i], n_in).1;
                if self.finish_has_next(temp, self.top_stage) {
                    self.top_stage += 1;
                    self.top_step(i);
                } else {
                    self.top_stage = 0;
                    self.top_step(i + 1);
                }
            }
            FlowKind::TopEmit => self.finish_query(),
            FlowKind::Startup => self.participant_begin(p),
            FlowKind::Fork => self.worker_forked(p),
            FlowKind::Exit => {
                let off_core = std::mem::take(&mut self.procs[p].exit_off_core_ns);
                if off_core > 0.0 {
                    self.delay(p, State::Shutdown, off_core);
                } else {
                    self.worker_gone(p);
                }
            }
            FlowKind::Woken(from) => self.go_on_after_wake(p, from),
            FlowKind::SetLatch => self.after_set_latch(p),
        }
    }

    pub(super) fn after_output_flow(&mut self, p: usize, f: Flow, finished: bool) {
        let pipe = self.pipe(p);
        let now = self.now();
        let bound_hit = pipe.bound.is_some_and(|b| self.procs[p].rows_out >= b - 1e-6) && f.rows_per_unit > 0.0;
        if p > 0 {
            // Worker: publish / full / detached checks.
            let j = p - 1;
            if self.queues[j].receiver_detached && f.rows_per_unit > 0.0 {
                self.participant_done(p);
                return;
            }
            // Whether a publish found the leader asleep: its SetLatch then signals it.
            let mut signalled = self.queues[j].pending > self.qcap / 4.0 && self.publish_to_leader(j);
            if bound_hit {
                if f.kind == FlowKind::Scan {
                    self.scan_done(p);
                } else {
                    self.participant_done(p);
                }
                return;
            }
            if !finished && self.queue_full(j) {
                // Queue full: publish everything and sleep on MessageQueueSend.
                self.queues[j].sender_blocked = true;
                self.stalls += 1;
                self.procs[p].stalls += 1;
                self.procs[p].saved = Some(f);
                self.procs[p].act = Act::Blocked(State::MqSend);
                signalled |= self.publish_to_leader(j);
                if signalled {
                    self.set_leaders_latch(p);
                }
                return;
            }
            if !finished {
                // A publish point: continue the same flow (after signalling the leader where
                // it slept).
                if signalled && self.set_leaders_latch(p) {
                    return;
                }
                if let Act::Flow(fl) = &mut self.procs[p].act {
                    fl.stop_at = fl.total;
                }
                self.retarget(p);
                return;
            }
        } else {
            if self.procs[0].ms.first_row_out.is_some()
                && self.gather_first_row.is_none()
                && self.procs[0].rows_out > 0.0
            {
                self.gather_first_row = self.procs[0].ms.first_row_out;
            }
            let limit_hit = self.c.consumer.limit.is_some_and(|l| self.pulled >= l - 1e-6);
            if bound_hit || limit_hit {
                if self.serial() || self.n_workers() == 0 {
                    let _ = now;
                    if f.kind == FlowKind::Scan && !limit_hit {
                        self.scan_done(0);
                    } else {
                        self.participant_done(0);
                    }
                } else {
                    self.begin_shutdown();
                }
                return;
            }
            if !finished {
                // Preempted at a tuple boundary because a queue has tuples.
                self.procs[0].saved = Some(f);
                self.procs[0].act = Act::Blocked(State::Cpu);
                self.leader_next();
                return;
            }
        }
        // The flow (chunk or emission) is complete.
        self.procs[p].act = Act::Blocked(State::Cpu);
        match f.kind {
            FlowKind::Scan => self.start_or_yield(p),
            _ => self.participant_done(p),
        }
    }

    pub(super) fn start_or_yield(&mut self, p: usize) {
        if p == 0 && self.n_workers() > 0 && self.mode == LeaderMode::Gather && self.any_queue_ready() {
            self.leader_next();
        } else {
            self.start_chunk(p);
        }
    }
}
