//! Processes (leader, workers): their activities, start-up (serialized forks, log-normal
//! initialization), time accounting by state, and the participant's step from one phase of
//! the pipeline to the next.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum FlowKind {
    Build(usize),
    Scan,
    Finish(usize),
    Emit,
    Drain(usize),
    Merge,
    TopFinish(usize),
    TopEmit,
    /// A worker initializing after its fork (InitPostgres, restoring the leader's state): CPU
    /// work that needs a core like any other, shown as start-up.
    Startup,
    /// The postmaster forking a worker (fork_process, the child's first steps): CPU work,
    /// serial over a query's workers, charged to the worker being forked and shown as its
    /// start-up.
    Fork,
    /// A worker exiting after its last tuple (detaching, ShutdownPostgres, proc exit, the
    /// kernel unmapping what it mapped): CPU work on a core, while its leader waits in
    /// WaitForParallelWorkersToExit.
    Exit,
    /// A process woken from a latch wait (a worker on a full queue, the leader on dry ones)
    /// spending `scheduler.wake_cpu_ns` on a core before it goes on.
    Woken(State),
    /// A worker setting the latch of a leader asleep on its queues after publishing
    /// (`scheduler.set_latch_ns` on a core), before it sends on or, its queue full, sleeps.
    SetLatch,
}

#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) kind: FlowKind,
    pub(super) total: f64,
    pub(super) done: f64,
    pub(super) stop_at: f64,
    pub(super) cpu: f64,
    pub(super) io: f64,
    /// Share of CPU work that is a kernel copy from the OS cache (shown as DataFileRead).
    pub(super) os_frac: f64,
    /// Output rows per unit of progress (to the queue, or to the leader's consumer).
    pub(super) rows_per_unit: f64,
    pub(super) rate: f64,
    /// CPU work per unit at the current step's core speed (`cpu` divided by the speed of a
    /// core with this many busy: `exec::cpu::slow_busy_cores`); `cpu` when cores are
    /// independent.
    pub(super) cpu_now: f64,
    pub(super) io_bound: bool,
    /// The state this CPU flow shows as (a spilling sort's temp-file I/O), if not CPU.
    pub(super) shown_as: Option<State>,
    /// A worker's scan flow that runs on past its chunk's end (fast-forward only, see
    /// `ffwd::Sim::ff_fuse_ok`): the chunks it crosses are claimed later, all at once.
    pub(super) fused: bool,
}

impl Flow {
    /// A flow that needs only CPU: `total` units, stopping first at `stop_at`.
    pub(super) fn cpu_only(kind: FlowKind, total: f64, stop_at: f64, cpu: f64, rows_per_unit: f64) -> Flow {
        Flow {
            kind,
            total,
            done: 0.0,
            stop_at,
            cpu,
            io: 0.0,
            os_frac: 0.0,
            rows_per_unit,
            rate: 0.0,
            cpu_now: cpu,
            io_bound: false,
            shown_as: None,
            fused: false,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Act {
    Idle,
    Delay { state: State },
    Flow(Flow),
    Blocked(State),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    Startup,
    Build(usize),
    Scan,
    Finish(usize),
    Emit,
    Done,
}

#[derive(Debug)]
pub(super) struct Proc {
    pub(super) is_worker: bool,
    pub(super) phase: Phase,
    pub(super) act: Act,
    pub(super) gen: u64,
    pub(super) acct: Accounting,
    pub(super) stalls: u64,
    pub(super) scan: ParticipantScan,
    pub(super) build_scans: Vec<ParticipantScan>,
    pub(super) private_left: f64,
    pub(super) tuples_scanned: f64,
    pub(super) pages_scanned: f64,
    pub(super) rows_streamed: f64,
    pub(super) rows_out: f64,
    pub(super) emit_total: f64,
    pub(super) build_tuples: Vec<f64>,
    /// A local flow set aside while the leader reads queues.
    pub(super) saved: Option<Flow>,
    pub(super) ms: Milestones,
    pub(super) rng: StdRng,
    pub(super) state_since: Time,
    pub(super) last_state: State,
    pub(super) participated: bool,
    /// The wait a SetLatch ended, until the process next runs: PostgreSQL clears the wait
    /// event only then, so time runnable but waiting for a core still shows that wait.
    pub(super) woken_from: Option<State>,
    /// Stage of a spilling breaker's finishing work (0 write runs, 1 sort, 2 merge-read).
    pub(super) finish_stage: u8,
    /// CPU time this process has had on a core (ns): the scheduler's virtual runtime.
    pub(super) vruntime: f64,
    /// CPU time it was owed when it last left the run queue (lag, >= 0, clamped).
    pub(super) lag: f64,
    /// A worker's start-up on a core still to come after the part of it off a core
    /// (`worker_cpu_share`; ns), while it waits that part.
    pub(super) startup_cpu_left: Option<f64>,
    /// The part of a worker's exit off a core (`worker_cpu_share`), waited after its CPU
    /// part (ns).
    pub(super) exit_off_core_ns: f64,
}

impl Proc {
    /// A copy with a stand-in random stream (`StdRng` cannot be copied): fast-forward's trial
    /// jumps swap the real streams in (`ffwd::drift`).
    pub(super) fn copy_without_rng(&self) -> Proc {
        Proc {
            is_worker: self.is_worker,
            phase: self.phase,
            act: self.act.clone(),
            gen: self.gen,
            acct: self.acct.clone(),
            stalls: self.stalls,
            scan: self.scan.clone(),
            build_scans: self.build_scans.clone(),
            private_left: self.private_left,
            tuples_scanned: self.tuples_scanned,
            pages_scanned: self.pages_scanned,
            rows_streamed: self.rows_streamed,
            rows_out: self.rows_out,
            emit_total: self.emit_total,
            build_tuples: self.build_tuples.clone(),
            saved: self.saved.clone(),
            ms: self.ms.clone(),
            rng: streams::stream(0, 0),
            state_since: self.state_since,
            last_state: self.last_state,
            participated: self.participated,
            woken_from: self.woken_from,
            finish_stage: self.finish_stage,
            vruntime: self.vruntime,
            lag: self.lag,
            startup_cpu_left: self.startup_cpu_left,
            exit_off_core_ns: self.exit_off_core_ns,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    /// A delay of process p ended (start-up, I/O latency, wake-up); `gen` guards staleness.
    Wake { p: usize, gen: u64 },
    /// The scheduler's turn ended (the run queue's `turn_gen`, which makes a stale one
    /// harmless): the processes on the cores make way for the next ones.
    TurnEnd(u64),
}

impl<'a> Sim<'a> {
    pub(super) fn record_states(&mut self) {
        let now = self.now();
        for p in 0..self.procs.len() {
            let s = self.state_of(p);
            if s != self.procs[p].last_state {
                let since = self.procs[p].state_since;
                let last = self.procs[p].last_state;
                if now > since && last != State::Idle {
                    if let Some(tr) = self.trace.as_mut() {
                        tr.intervals.push(Interval { process: p, state: last, start: since, end: now });
                    }
                    if let Some(s) = self.sampler.as_mut() {
                        s.interval(p, last, since, now);
                    }
                }
                self.procs[p].last_state = s;
                self.procs[p].state_since = now;
            }
        }
    }

    /// The flows and their demands are those `solve_rates` last solved for (the same
    /// processes, the same bits of CPU and I/O demand), and the run queue would give the same
    /// caps without changing anything (`RunQueue::reuses`): the caps, the core speed
    /// (`slow_busy_cores`) and the solver's answer would all be those of last time.
    fn rates_unchanged(&self) -> bool {
        let fl = &self.fluid;
        if !fl.raw_valid || fl.idx.is_empty() {
            return false;
        }
        let mut k = 0;
        for (p, pr) in self.procs.iter().enumerate() {
            if let Act::Flow(f) = &pr.act {
                match (fl.idx.get(k), fl.raw.get(k)) {
                    (Some(&q), Some(&(c, i))) if q == p && c == f.cpu.to_bits() && i == f.io.to_bits() => k += 1,
                    _ => return false,
                }
            }
        }
        k == fl.idx.len() && (!self.scheduled() || self.rq.reuses(&fl.idx))
    }

    pub(super) fn solve_rates(&mut self) {
        // Most steps (a chunk or a queue batch ends, the next starts alike) leave every input
        // as it was: the rates of last time are written into the flows again (a flow started
        // since has none yet), without building the demands, asking the run queue or the solver.
        if self.rates_unchanged() {
            let fl = &self.fluid;
            for ((&p, &rate), d) in fl.idx.iter().zip(fl.solver.rates()).zip(&fl.demands) {
                if let Act::Flow(f) = &mut self.procs[p].act {
                    f.rate = rate;
                    f.cpu_now = d.cpu;
                    f.io_bound = f.io > 0.0 && rate * f.cpu_now < 0.999 && d.cpu_cap > 0.0;
                }
            }
            return;
        }
        // Reused buffers: no allocation per step; the solver answers from its previous
        // solution when the running flows and their demands are unchanged.
        let fl = &mut self.fluid;
        fl.idx.clear();
        fl.demands.clear();
        fl.raw.clear();
        for (p, pr) in self.procs.iter().enumerate() {
            if let Act::Flow(f) = &pr.act {
                fl.idx.push(p);
                fl.demands.push(Demand { cpu: f.cpu, io: f.io, cpu_cap: 1.0 });
                fl.raw.push((f.cpu.to_bits(), f.io.to_bits()));
            }
        }
        fl.raw_valid = true;
        // The scheduler's CPU caps (1 = a core, 0 = waiting for a turn), then the rates.
        self.apply_cpu_caps();
        let fl = &mut self.fluid;
        crate::exec::cpu::slow_busy_cores(&mut fl.demands, self.hw);
        let rates = fl.solver.solve(self.hw.cores, self.hw.disk.seq_bytes_per_ns, &fl.demands);
        debug_assert_eq!(rates.len(), fl.idx.len());
        // (Zipped: no bounds check a flow.)
        for ((&p, &rate), d) in fl.idx.iter().zip(rates).zip(&fl.demands) {
            if let Act::Flow(f) = &mut self.procs[p].act {
                f.rate = rate;
                // The CPU work per unit at this step's core speed.
                f.cpu_now = d.cpu;
                // I/O-bound when the disk share, not the CPU, limits progress.
                f.io_bound = f.io > 0.0 && rate * f.cpu_now < 0.999 && d.cpu_cap > 0.0;
            }
        }
    }

    pub(super) fn advance_flows(&mut self, t: Time) {
        let now = self.now();
        let dt = t.saturating_sub(now) as f64;
        // Flows within a rounding nanosecond of their stop point are there (each flow once
        // it has progressed: nothing below reads another process's flow, so the same as a
        // second pass over the processes).
        let snap = |f: &mut Flow| {
            if f.rate > 0.0 && (f.stop_at - f.done) / f.rate < 1.0 {
                f.done = f.stop_at;
            }
        };
        if dt > 0.0 {
            for p in 0..self.procs.len() {
                let pr = &mut self.procs[p];
                match &mut pr.act {
                    Act::Idle => {}
                    Act::Delay { state, .. } | Act::Blocked(state) => match state {
                        State::Startup => pr.acct.startup += dt,
                        State::Io => pr.acct.io += dt,
                        State::MqSend => pr.acct.mq_send += dt,
                        State::MqReceive => pr.acct.mq_receive += dt,
                        State::Barrier => pr.acct.barrier += dt,
                        State::Shutdown => pr.acct.shutdown += dt,
                        State::Cpu | State::TempWrite | State::TempRead => pr.acct.cpu += dt,
                        State::Idle => {}
                    },
                    Act::Flow(f) if f.rate <= 0.0 && pr.woken_from.is_some() => match pr.woken_from {
                        Some(State::MqSend) => pr.acct.mq_send += dt,
                        _ => pr.acct.mq_receive += dt,
                    },
                    Act::Flow(f) => {
                        if f.rate > 0.0 {
                            pr.woken_from = None;
                        }
                        let prog = (f.rate * dt).min(f.stop_at - f.done).max(0.0);
                        if f.rate > 0.0 {
                            pr.acct.on_cpu += dt * (f.rate * f.cpu_now).min(1.0) * (1.0 - f.os_frac);
                        }
                        let oncpu = if f.io_bound { (f.rate * f.cpu_now).min(1.0) } else { 1.0 };
                        if f.rate > 0.0 {
                            pr.vruntime += dt * oncpu;
                        }
                        if matches!(f.kind, FlowKind::Startup | FlowKind::Fork) {
                            // Initializing: start-up time, whether on a core or waiting for one.
                            pr.acct.startup += dt;
                            f.done += prog;
                            snap(f);
                            continue;
                        }
                        if f.kind == FlowKind::Exit {
                            pr.acct.shutdown += dt;
                            f.done += prog;
                            snap(f);
                            continue;
                        }
                        pr.acct.cpu += dt * oncpu * (1.0 - f.os_frac);
                        pr.acct.io += dt * oncpu * f.os_frac + dt * (1.0 - oncpu);
                        f.done += prog;
                        snap(f);
                        let rows = prog * f.rows_per_unit;
                        let kind = f.kind;
                        self.account_progress(p, kind, prog, rows);
                    }
                }
            }
        }
    }

    /// Book rows and queue bytes produced or consumed by a flow's progress.
    pub(super) fn account_progress(&mut self, p: usize, kind: FlowKind, prog: f64, rows: f64) {
        match kind {
            FlowKind::Scan => {
                let pipe = self.pipe(p);
                let pr = &mut self.procs[p];
                pr.tuples_scanned += prog;
                pr.pages_scanned += prog * pipe.source.pages / pipe.source.tuples.max(1.0);
                pr.rows_streamed += prog * pipe.rows_per_tuple;
                if pipe.breakers.is_empty() {
                    self.emit_rows(p, rows);
                }
            }
            FlowKind::Emit => self.emit_rows(p, rows),
            FlowKind::Build(b) => self.procs[p].build_tuples[b] += prog,
            FlowKind::Drain(j) => {
                let q = &mut self.queues[j];
                q.consumed_pending += prog * self.tuple_bytes;
                self.pulled += prog;
            }
            FlowKind::Merge => {
                let srcs = self.merge_sources();
                let k = srcs.len().max(1) as f64;
                for s in srcs {
                    match s {
                        Some(j) => self.queues[j].consumed_pending += prog / k * self.tuple_bytes,
                        None => {
                            self.procs[0].rows_out += prog / k;
                        }
                    }
                }
                self.pulled += prog;
            }
            FlowKind::TopFinish(_) => {}
            FlowKind::TopEmit => self.top_rows_out += prog,
            FlowKind::Finish(_)
            | FlowKind::Startup
            | FlowKind::Fork
            | FlowKind::Exit
            | FlowKind::Woken(_)
            | FlowKind::SetLatch => {}
        }
    }

    pub(super) fn emit_rows(&mut self, p: usize, rows: f64) {
        if rows <= 0.0 {
            return;
        }
        let now = self.now();
        let pr = &mut self.procs[p];
        pr.rows_out += rows;
        if pr.ms.first_row_out.is_none() {
            pr.ms.first_row_out = Some(now);
        }
        if p == 0 {
            self.pulled += rows;
            self.local_rows_total += rows;
        } else {
            self.queues[p - 1].pending += rows * self.tuple_bytes;
        }
    }

    // ---------------------------------------------------------------- start

    /// The fixed costs of a parallel query, each a `[parallel]` profile key, CPU work that
    /// takes its turn on a core (measured on a 2-vCPU VM: a worker's whole life, fork to exit,
    /// took 7.4 ms of CPU over a one-block table and twice as long beside two CPU-bound
    /// processes; docs/cpu-costs.md), but for the share of a worker's start-up and exit that
    /// the kernel does not count as its CPU (`worker_cpu_share`), a wait off a core. The
    /// leader's DSM set-up (`leader_setup_us`: InitializeParallelDSM, serializing GUCs,
    /// snapshot and transaction state). Registering the workers only claims slots and signals
    /// the postmaster (LaunchParallelWorkers does not wait for a fork), so the leader starts
    /// its own part right after the set-up; the postmaster forks the workers one after
    /// another (`launch_per_worker_us` of CPU each,
    /// charged to the worker being forked), then each initializes (InitPostgres, restoring
    /// the leader's state: log-normal around `worker_startup_ms`, shape
    /// `worker_startup_sigma`). The leader does not wait for workers to attach (Gather reads
    /// its queues without waiting); it waits for them at the end (ParallelFinish, then
    /// WaitForParallelWorkersToExit: each worker's exit is CPU work of
    /// `shutdown_per_worker_us` plus the unmapping of the pages it mapped,
    /// `shutdown_per_page_ns`, the workers ending side by side: `FlowKind::Exit`,
    /// `leader_check_shutdown`).
    pub(super) fn start(&mut self) {
        let launched = self.n_workers();
        let par = &self.hw.parallel;
        // The query's own fixed cost (executor start, and for a client parse, plan and the
        // round trip) comes first: workers are launched after it.
        let setup = self.c.query_ns + if self.c.mode == Mode::Serial { 0.0 } else { par.leader_setup_ns };
        // Every worker waits for the postmaster to fork it; the first fork starts after the
        // set-up.
        for w in 1..=launched {
            self.procs[w].act = Act::Blocked(State::Startup);
        }
        if launched > 0 {
            if setup > 0.0 {
                self.delay(1, State::Startup, setup);
            } else {
                self.fork_worker(1);
            }
        }
        if setup > 0.0 {
            self.delay(0, State::Startup, setup);
        } else {
            self.leader_begin();
        }
    }

    /// The postmaster forks worker `w`: CPU work on a core (`launch_per_worker_us`), charged
    /// to the worker and shown as its start-up.
    pub(super) fn fork_worker(&mut self, w: usize) {
        let fork = self.hw.parallel.launch_per_worker_ns;
        if fork > 0.0 {
            self.fixed_cpu(w, FlowKind::Fork, fork, State::Startup);
        } else {
            self.worker_forked(w);
        }
    }

    /// Worker `w` exists: the postmaster goes on to fork the next one (forks are serial), and
    /// `w` initializes on a core, then starts its part of the plan.
    pub(super) fn worker_forked(&mut self, w: usize) {
        if w < self.n_workers() {
            self.fork_worker(w + 1);
        }
        let par = &self.hw.parallel;
        let init = lognormal_around(&mut self.procs[w].rng, par.worker_startup_ns, par.worker_startup_sigma);
        // The part not on a core comes first (the new process waits for a CPU to be given
        // it), then its initialization on a core.
        let off_core = init * (1.0 - par.worker_cpu_share);
        if off_core > 0.0 {
            self.procs[w].startup_cpu_left = Some(init - off_core);
            self.delay(w, State::Startup, off_core);
        } else {
            self.worker_initializes(w, init);
        }
    }

    /// Worker `w`'s start-up on a core (`ns` of CPU work), then its part of the plan.
    fn worker_initializes(&mut self, w: usize, ns: f64) {
        if ns > 0.0 {
            self.fixed_cpu(w, FlowKind::Startup, ns, State::Startup);
        } else {
            self.participant_begin(w);
        }
    }

    /// `ns` of CPU work for process `p` on a core (a worker's fork, start-up or exit), taking
    /// its turn like any other and shown as `shown`; `kind` says what follows when it is done.
    pub(super) fn fixed_cpu(&mut self, p: usize, kind: FlowKind, ns: f64, shown: State) {
        let mut f = Flow::cpu_only(kind, 1.0, 1.0, ns, 0.0);
        f.shown_as = Some(shown);
        self.set_flow(p, f);
    }

    pub(super) fn on_event(&mut self, ev: Event) {
        match ev {
            Event::TurnEnd(gen) => self.end_turn(gen),
            Event::Wake { p, gen } => {
                if self.procs[p].gen != gen {
                    return;
                }
                let state = match &self.procs[p].act {
                    Act::Delay { state, .. } => *state,
                    _ => return,
                };
                self.procs[p].act = Act::Blocked(State::Cpu);
                match state {
                    State::Startup => {
                        if p == 0 {
                            self.leader_begin();
                        } else if let Some(ns) = self.procs[p].startup_cpu_left.take() {
                            // Its start-up's wait is over: its initialization on a core.
                            self.worker_initializes(p, ns);
                        } else {
                            // The leader's set-up is done: the postmaster forks the first
                            // worker.
                            self.fork_worker(p);
                        }
                    }
                    State::Io => {
                        // Read latency over: start processing the chunk that was fetched.
                        if let Some(f) = self.procs[p].saved.take() {
                            self.set_flow(p, f);
                        }
                    }
                    State::MqSend | State::MqReceive => {
                        self.procs[p].woken_from = Some(state);
                        // WaitLatch returning costs CPU (where priced) before the process looks again.
                        let ns = self.hw.scheduler.wake_cpu_ns / self.hw.cpu_speed;
                        if ns > 0.0 {
                            self.fixed_cpu(p, FlowKind::Woken(state), ns, State::Cpu);
                        } else {
                            self.go_on_after_wake(p, state);
                        }
                    }
                    State::Shutdown if p == 0 => self.leader_after_shutdown(),
                    // A worker's exit off a core is over: it has gone.
                    State::Shutdown => self.worker_gone(p),
                    _ => {}
                }
            }
        }
    }

    /// A process woken from a latch wait goes on: a worker sends again, the leader reads its
    /// queues.
    pub(super) fn go_on_after_wake(&mut self, p: usize, from: State) {
        self.procs[p].act = Act::Blocked(State::Cpu);
        match from {
            State::MqSend => self.resume_after_send(p),
            _ => self.leader_next(),
        }
    }

    pub(super) fn leader_begin(&mut self) {
        if self.leader_local() {
            self.participant_begin(0);
        } else {
            self.procs[0].phase = Phase::Done;
            self.leader_next();
        }
    }

    pub(super) fn participant_begin(&mut self, p: usize) {
        self.procs[p].ms.plan_start = Some(self.now());
        self.procs[p].participated = true;
        if self.pipe(p).builds.is_empty() {
            self.procs[p].phase = Phase::Scan;
        } else {
            self.procs[p].phase = Phase::Build(0);
        }
        self.participant_continue(p);
    }

    // ---------------------------------------------------------------- participant pipeline

    /// Start the next piece of work of participant p according to its phase.
    pub(super) fn participant_continue(&mut self, p: usize) {
        // Leader in a Gather loop: local work only when no queue has tuples.
        if p == 0 && self.n_workers() > 0 && self.mode == LeaderMode::Gather && self.any_queue_ready() {
            // leader_next decides; the local flow (if any) was saved by the caller.
            self.leader_next();
            return;
        }
        let pipe = self.pipe(p);
        match self.procs[p].phase {
            Phase::Startup => self.participant_begin(p),
            Phase::Build(b) => self.start_build(p, b),
            Phase::Scan => self.start_chunk(p),
            Phase::Finish(i) => {
                let n_in = self.rows_into_breaker(p, i);
                let (cpu, temp) = breaker_finish(self.hw, self.settings, &pipe.breakers[i], n_in);
                let (work, shown_as) = self.finish_stage_work(cpu, temp, self.procs[p].finish_stage);
                let mut f = Flow::cpu_only(FlowKind::Finish(i), 1.0, 1.0, work.max(1.0), 0.0);
                f.shown_as = shown_as;
                self.set_flow(p, f);
            }
            Phase::Emit => {
                let n_in = self.procs[p].rows_streamed;
                let mut total = breaker_output(&pipe.breakers, n_in);
                if let Some(b) = pipe.bound {
                    total = total.min(b);
                }
                self.procs[p].emit_total = total;
                let left = total - self.procs[p].rows_out;
                if left <= EPS {
                    self.participant_done(p);
                    return;
                }
                let per_row = *pipe.breaker_row_ns.last().unwrap_or(&0.0) + self.out_row_cost(p);
                self.set_flow(p, Flow::cpu_only(FlowKind::Emit, left, left, per_row.max(1.0), 1.0));
            }
            Phase::Done => {
                if p == 0 {
                    self.leader_next();
                }
            }
        }
    }

    /// A breaker's finishing work, in stages when it spills: writing its sorted runs to temp
    /// files (BufFileWrite, half the temp pages), sorting, reading them back to merge
    /// (BufFileRead). The stages add up to the same work as one flow. Returns the stage's
    /// work (ns at one core) and the state it shows as; stage 3 and above: none left.
    pub(super) fn finish_stage_work(&self, cpu: f64, temp_pages: f64, stage: u8) -> (f64, Option<State>) {
        let temp = temp_pages * self.hw.costs.temp_page_ns / self.hw.cpu_speed;
        if temp <= 0.0 {
            return (cpu, None);
        }
        match stage {
            0 => (temp / 2.0, Some(State::TempWrite)),
            1 => (cpu, None),
            _ => (temp / 2.0, Some(State::TempRead)),
        }
    }

    /// Whether a finishing flow at `stage` has another stage after it (only when temp pages
    /// cost time: a profile with `temp_page_ns = 0` finishes in one flow, as before).
    pub(super) fn finish_has_next(&self, temp_pages: f64, stage: u8) -> bool {
        temp_pages * self.hw.costs.temp_page_ns > 0.0 && stage < 2
    }

    pub(super) fn rows_into_breaker(&self, p: usize, i: usize) -> f64 {
        let pipe = self.pipe(p);
        breaker_output(&pipe.breakers[..i], self.procs[p].rows_streamed)
    }

    /// CPU ns for each row leaving the participant's pipeline.
    pub(super) fn out_row_cost(&self, p: usize) -> f64 {
        let c = &self.hw.costs;
        if p == 0 {
            // Local rows go straight to the leader's consumer (Gather returns them).
            if self.serial() {
                self.c.consumer.client_row_ns + if self.post_phase { 0.0 } else { self.c.consumer.per_row_ns }
            } else {
                // Gather returns a local row after polling every worker's queue once;
                // Gather Merge's per-row heap work is in gather_merge_tuple_ns.
                let through_gather = matches!(self.c.mode, Mode::Gather { .. });
                let gather = c.gather_row_ns + self.n_workers() as f64 * c.gather_poll_ns;
                self.c.consumer.per_row_ns + if through_gather { gather / self.hw.cpu_speed } else { 0.0 }
            }
        } else {
            c.tuple_send_ns / self.hw.cpu_speed
        }
    }
}
