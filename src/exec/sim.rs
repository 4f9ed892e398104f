//! The PostgreSQL executor model: a leader and its workers as processes sharing CPU cores and
//! disk bandwidth, one byte-bounded tuple queue per worker with shm_mq's flush rules, the
//! Gather / Gather Merge read policy, Parallel Seq Scan chunks, Parallel Hash barriers and the
//! tuple bound of a LIMIT. Time advances from transition to transition; between them every
//! activity progresses at a constant rate (fluid), so the number of events grows with chunks
//! and queue batches, not with rows.

use super::compile::*;
use super::scan::{ParticipantScan, SharedScan};
use crate::engine::fluid::{self, Demand};
use crate::engine::{streams, EventQueue, Time};
use crate::model::guc::Settings;
use crate::model::*;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal, Normal};

const EPS: f64 = 1e-9;

/// What a process is waiting for, named as PostgreSQL's wait events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Forked but not yet running the plan (InitPostgres, restoring state).
    Startup,
    /// On CPU (or runnable, waiting for a core: no wait event).
    Cpu,
    /// IO: DataFileRead (OS page cache copy or disk).
    Io,
    /// IPC: MessageQueueSend — the worker's tuple queue is full.
    MqSend,
    /// IPC: ExecuteGather / MessageQueueReceive — the leader waits for tuples.
    MqReceive,
    /// IPC: HashBuildHashInner — waiting for the other participants to finish the build.
    Barrier,
    /// IPC: ParallelFinish / BgWorkerShutdown — the leader waits for workers to exit.
    Shutdown,
    /// Not started or finished.
    Idle,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Startup => "start-up",
            State::Cpu => "CPU",
            State::Io => "IO: DataFileRead",
            State::MqSend => "IPC: MessageQueueSend",
            State::MqReceive => "IPC: ExecuteGather/MessageQueueReceive",
            State::Barrier => "IPC: HashBuildHashInner",
            State::Shutdown => "IPC: ParallelFinish",
            State::Idle => "idle",
        }
    }
}

/// Time a process spent in each state, ns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounting {
    pub cpu: f64,
    pub io: f64,
    pub mq_send: f64,
    pub mq_receive: f64,
    pub startup: f64,
    pub barrier: f64,
    pub shutdown: f64,
}

/// Per-phase timestamps of one participant, for EXPLAIN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Milestones {
    /// When the process began executing the plan (after start-up), ns since query start.
    pub plan_start: Option<Time>,
    pub builds_end: Vec<Time>,
    pub first_tuple: Option<Time>,
    pub scan_end: Option<Time>,
    pub breakers_end: Vec<Time>,
    pub first_row_out: Option<Time>,
    pub last_row_out: Option<Time>,
    pub done: Option<Time>,
    /// Time blocked on MessageQueueSend up to the scan end and to the end (EXPLAIN node times
    /// exclude time spent in the tuple queue).
    pub send_wait_at_scan_end: f64,
    pub send_wait_at_done: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessResult {
    pub is_worker: bool,
    pub worker_number: Option<u32>,
    pub acct: Accounting,
    pub stalls: u64,
    pub tuples_scanned: f64,
    pub pages_scanned: f64,
    /// Rows out of the streaming part (into the first breaker, or output).
    pub rows_streamed: f64,
    /// Rows out of the participant's pipeline (sent to the queue or to the leader's consumer).
    pub rows_out: f64,
    pub build_tuples: Vec<f64>,
    pub participated: bool,
    pub ms: Milestones,
}

/// A state interval of one process, for traces.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub process: usize,
    pub state: State,
    pub start: Time,
    pub end: Time,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub intervals: Vec<Interval>,
    /// (time, worker, bytes used) at every change visible to the leader.
    pub queue: Vec<(Time, usize, f64)>,
}

/// The Gather inside a hashed SubPlan's subquery, run before the main (serial) plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlanGather {
    /// The leader's part in it (its own scan share and milestones), times since query start.
    pub leader: ProcessResult,
    pub gather_rows: f64,
    pub first_row: Option<Time>,
    pub end: Option<Time>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    pub wall: Time,
    pub workers_launched: u32,
    pub processes: Vec<ProcessResult>,
    pub queue_full_stalls: u64,
    /// Rows the Gather returned to its parent.
    pub gather_rows: f64,
    pub gather_first_row: Option<Time>,
    pub gather_end: Option<Time>,
    /// Rows returned by the top of the plan.
    pub result_rows: f64,
    pub events: u64,
    pub trace: Option<Trace>,
    pub subplan_gather: Option<SubPlanGather>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FlowKind {
    Build(usize),
    Scan,
    Finish(usize),
    Emit,
    Drain(usize),
    Merge,
    TopFinish(usize),
    TopEmit,
}

#[derive(Debug, Clone)]
struct Flow {
    kind: FlowKind,
    total: f64,
    done: f64,
    stop_at: f64,
    cpu: f64,
    io: f64,
    /// Share of CPU work that is a kernel copy from the OS cache (shown as DataFileRead).
    os_frac: f64,
    /// Output rows per unit of progress (to the queue, or to the leader's consumer).
    rows_per_unit: f64,
    rate: f64,
    io_bound: bool,
}

impl Flow {
    /// A flow that needs only CPU: `total` units, stopping first at `stop_at`.
    fn cpu_only(kind: FlowKind, total: f64, stop_at: f64, cpu: f64, rows_per_unit: f64) -> Flow {
        Flow { kind, total, done: 0.0, stop_at, cpu, io: 0.0, os_frac: 0.0, rows_per_unit, rate: 0.0, io_bound: false }
    }
}

#[derive(Debug, Clone)]
enum Act {
    Idle,
    Delay { state: State },
    Flow(Flow),
    Blocked(State),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Startup,
    Build(usize),
    Scan,
    Finish(usize),
    Emit,
    Done,
}

#[derive(Debug)]
struct Proc {
    is_worker: bool,
    phase: Phase,
    act: Act,
    gen: u64,
    acct: Accounting,
    stalls: u64,
    scan: ParticipantScan,
    build_scans: Vec<ParticipantScan>,
    private_left: f64,
    tuples_scanned: f64,
    pages_scanned: f64,
    rows_streamed: f64,
    rows_out: f64,
    emit_total: f64,
    build_tuples: Vec<f64>,
    /// A local flow set aside while the leader reads queues.
    saved: Option<Flow>,
    ms: Milestones,
    rng: StdRng,
    state_since: Time,
    last_state: State,
    participated: bool,
}

#[derive(Debug, Clone, Default)]
struct Queue {
    written: f64,
    pending: f64,
    read: f64,
    consumed_pending: f64,
    sender_done: bool,
    receiver_detached: bool,
    exhausted: bool,
    sender_blocked: bool,
}

#[derive(Debug, Clone)]
enum Event {
    /// A delay of process p ended (start-up, I/O latency, wake-up); `gen` guards staleness.
    Wake { p: usize, gen: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LeaderMode {
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

#[derive(Debug, Clone)]
struct SharedBuild {
    scan: SharedScan,
    attached: Vec<bool>,
    arrived: Vec<bool>,
    done: bool,
}

pub struct Sim<'a> {
    c: &'a Compiled,
    hw: &'a Hardware,
    settings: &'a Settings,
    q: EventQueue<Event>,
    procs: Vec<Proc>,
    queues: Vec<Queue>,
    scan: SharedScan,
    shared_builds: Vec<Option<SharedBuild>>,
    qcap: f64,
    tuple_bytes: f64,
    mode: LeaderMode,
    next_reader: usize,
    pulled: f64,
    gather_first_row: Option<Time>,
    gather_end: Option<Time>,
    top_rows_in: f64,
    top_rows_out: f64,
    local_rows_total: f64,
    stalls: u64,
    trace: Option<Trace>,
    finished_at: Option<Time>,
    steps: u64,
    /// The leader runs `Compiled::post` after a SubPlan's Gather.
    post_phase: bool,
    subplan_gather: Option<SubPlanGather>,
    /// This run's CPU speed factor (the machine's run-to-run variation), see [`run_speed`].
    run_speed: f64,
}

/// The machine's run-to-run variation: one CPU work factor per run, shared by every process and
/// drawn from the seed alone, so the serial and the parallel plan of one seed see the same
/// machine (common random numbers). Drawn per chunk instead, a run's variation depended on how
/// its scan was chunked (a serial scan's 64 private chunks vary far more than a parallel scan's
/// thousands), and the serial plan could look slower than its work: a speedup above the
/// participants.
fn run_speed(seed: u64, cv: f64) -> f64 {
    if cv <= 0.0 {
        return 1.0;
    }
    let mut rng = streams::stream(seed, 0x5eed_cafe);
    let z: f64 = Normal::new(0.0, 1.0).map(|d| d.sample(&mut rng)).unwrap_or(0.0);
    (1.0 + cv * z).clamp(0.5, 1.5)
}

fn lognormal_around(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    if median <= 0.0 {
        return 0.0;
    }
    if sigma <= 0.0 {
        return median;
    }
    LogNormal::new(median.ln(), sigma).map(|d| d.sample(rng)).unwrap_or(median)
}

impl<'a> Sim<'a> {
    pub fn new(
        c: &'a Compiled,
        hw: &'a Hardware,
        settings: &'a Settings,
        launched: u32,
        seed: u64,
        trace: bool,
    ) -> Self {
        let n = 1 + launched as usize;
        let mut procs = Vec::with_capacity(n);
        for i in 0..n {
            let pipe = if i == 0 { &c.leader } else { &c.worker };
            procs.push(Proc {
                is_worker: i > 0,
                phase: Phase::Startup,
                act: Act::Idle,
                gen: 0,
                acct: Accounting::default(),
                stalls: 0,
                scan: ParticipantScan::default(),
                build_scans: vec![ParticipantScan::default(); pipe.builds.len()],
                private_left: pipe.source.pages,
                tuples_scanned: 0.0,
                pages_scanned: 0.0,
                rows_streamed: 0.0,
                rows_out: 0.0,
                emit_total: 0.0,
                build_tuples: vec![0.0; pipe.builds.len()],
                saved: None,
                ms: Milestones::default(),
                rng: streams::stream(seed, i as u64),
                state_since: 0,
                last_state: State::Idle,
                participated: false,
            });
        }
        let shared_builds = c
            .worker
            .builds
            .iter()
            .map(|b| {
                b.shared.then(|| SharedBuild {
                    scan: SharedScan::new(b.pages),
                    attached: vec![false; n],
                    arrived: vec![false; n],
                    done: false,
                })
            })
            .collect();
        Sim {
            c,
            hw,
            settings,
            q: EventQueue::new(),
            procs,
            queues: vec![Queue::default(); launched as usize],
            scan: SharedScan::new(c.worker.source.pages),
            shared_builds,
            qcap: (hw.parallel.tuple_queue_size - 56.0).max(64.0),
            tuple_bytes: c.queue_tuple_bytes,
            mode: if c.mode == Mode::GatherMerge { LeaderMode::MergeInit } else { LeaderMode::Gather },
            next_reader: 0,
            pulled: 0.0,
            gather_first_row: None,
            gather_end: None,
            top_rows_in: 0.0,
            top_rows_out: 0.0,
            local_rows_total: 0.0,
            stalls: 0,
            trace: trace.then(Trace::default),
            finished_at: None,
            steps: 0,
            post_phase: false,
            subplan_gather: None,
            run_speed: run_speed(seed, hw.cpu_noise_cv),
        }
    }

    fn now(&self) -> Time {
        self.q.now()
    }

    fn pipe(&self, p: usize) -> &'a Pipeline {
        if p == 0 {
            match (&self.c.post, self.post_phase) {
                (Some(post), true) => post,
                _ => &self.c.leader,
            }
        } else {
            &self.c.worker
        }
    }

    /// Workers attached to the current Gather (none once the leader runs the post plan).
    fn n_workers(&self) -> usize {
        if self.post_phase {
            0
        } else {
            self.queues.len()
        }
    }

    fn serial(&self) -> bool {
        self.c.mode == Mode::Serial || self.post_phase
    }

    fn snapshot(&self, i: usize) -> ProcessResult {
        let p = &self.procs[i];
        ProcessResult {
            is_worker: p.is_worker,
            worker_number: if i == 0 { None } else { Some(i as u32 - 1) },
            acct: p.acct.clone(),
            stalls: p.stalls,
            tuples_scanned: p.tuples_scanned,
            pages_scanned: p.pages_scanned,
            rows_streamed: p.rows_streamed,
            rows_out: p.rows_out,
            build_tuples: p.build_tuples.clone(),
            participated: p.participated,
            ms: p.ms.clone(),
        }
    }

    /// After a SubPlan's Gather: the leader goes on with the main plan, alone.
    fn begin_post_phase(&mut self) {
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

    /// Does the leader run the plan itself? Always when no worker was launched.
    fn leader_local(&self) -> bool {
        self.c.leader_participates || self.n_workers() == 0
    }

    fn delay(&mut self, p: usize, state: State, dur: f64) {
        let until = self.now() + dur.max(0.0).round() as Time;
        self.procs[p].gen += 1;
        let gen = self.procs[p].gen;
        self.procs[p].act = Act::Delay { state };
        self.q.schedule(until, Event::Wake { p, gen });
    }

    fn set_flow(&mut self, p: usize, mut f: Flow) {
        f.stop_at = f.total;
        self.procs[p].gen += 1;
        self.procs[p].act = Act::Flow(f);
        self.retarget(p);
    }

    fn state_of(&self, p: usize) -> State {
        match &self.procs[p].act {
            Act::Idle => State::Idle,
            Act::Delay { state, .. } | Act::Blocked(state) => *state,
            Act::Flow(f) => {
                if f.io_bound {
                    State::Io
                } else {
                    State::Cpu
                }
            }
        }
    }

    // ---------------------------------------------------------------- running

    pub fn run(mut self) -> Result<SimResult, String> {
        self.start();
        let max_steps = 50_000_000u64;
        loop {
            self.record_states();
            if self.finished_at.is_some() {
                break;
            }
            self.steps += 1;
            if self.steps > max_steps {
                return Err("simulation exceeded 50 million steps".into());
            }
            self.solve_rates();
            // The earliest fluid stop point.
            let now = self.now();
            let mut t_flow: Option<Time> = None;
            for p in 0..self.procs.len() {
                if let Act::Flow(f) = &self.procs[p].act {
                    if f.rate > 0.0 {
                        let dt = ((f.stop_at - f.done).max(0.0) / f.rate).ceil();
                        let t = now.saturating_add(dt.min(1e18) as Time);
                        t_flow = Some(t_flow.map_or(t, |x: Time| x.min(t)));
                    }
                }
            }
            let t_evt = self.q.peek_time();
            let t = match (t_flow, t_evt) {
                (None, None) => {
                    let states: Vec<String> =
                        (0..self.procs.len()).map(|p| format!("{}={:?}", p, self.state_of(p))).collect();
                    return Err(format!("deadlock: nothing can progress ({})", states.join(", ")));
                }
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (Some(a), Some(b)) => a.min(b),
            };
            self.advance(t);
            // Flows that reached their stop point, in process order (deterministic).
            let mut any = false;
            for p in 0..self.procs.len() {
                let reached =
                    matches!(&self.procs[p].act, Act::Flow(f) if f.done >= f.stop_at - EPS * f.total.max(1.0));
                if reached {
                    any = true;
                    self.on_flow_stop(p);
                }
            }
            if !any || self.q.peek_time() == Some(self.now()) {
                while self.q.peek_time() == Some(self.now()) {
                    if let Some((_, ev)) = self.q.pop() {
                        self.on_event(ev);
                    }
                }
            }
        }
        let wall = self.finished_at.unwrap_or(self.now());
        let processes: Vec<ProcessResult> = (0..self.procs.len()).map(|i| self.snapshot(i)).collect();
        Ok(SimResult {
            wall,
            workers_launched: self.queues.len() as u32,
            processes,
            queue_full_stalls: self.stalls,
            gather_rows: self.pulled,
            gather_first_row: self.gather_first_row,
            gather_end: self.gather_end,
            result_rows: self.top_rows_out,
            events: self.q.delivered() + self.steps,
            trace: self.trace,
            subplan_gather: self.subplan_gather,
        })
    }

    fn record_states(&mut self) {
        let now = self.now();
        for p in 0..self.procs.len() {
            let s = self.state_of(p);
            if s != self.procs[p].last_state {
                let since = self.procs[p].state_since;
                let last = self.procs[p].last_state;
                if let Some(tr) = self.trace.as_mut() {
                    if now > since && last != State::Idle {
                        tr.intervals.push(Interval { process: p, state: last, start: since, end: now });
                    }
                }
                self.procs[p].last_state = s;
                self.procs[p].state_since = now;
            }
        }
    }

    fn solve_rates(&mut self) {
        let mut idx = vec![];
        let mut demands = vec![];
        for (p, pr) in self.procs.iter().enumerate() {
            if let Act::Flow(f) = &pr.act {
                idx.push(p);
                demands.push(Demand { cpu: f.cpu, io: f.io, cpu_cap: 1.0 });
            }
        }
        let rates = fluid::solve(self.hw.cores, self.hw.disk.seq_bytes_per_ns, &demands);
        for (k, &p) in idx.iter().enumerate() {
            if let Act::Flow(f) = &mut self.procs[p].act {
                f.rate = rates[k];
                // I/O-bound when the disk share, not the CPU, limits progress.
                f.io_bound = f.io > 0.0 && rates[k] * f.cpu < 0.999;
            }
        }
    }

    fn advance(&mut self, t: Time) {
        let now = self.now();
        let dt = t.saturating_sub(now) as f64;
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
                        State::Cpu => pr.acct.cpu += dt,
                        State::Idle => {}
                    },
                    Act::Flow(f) => {
                        let prog = (f.rate * dt).min(f.stop_at - f.done).max(0.0);
                        let oncpu = if f.io_bound { (f.rate * f.cpu).min(1.0) } else { 1.0 };
                        pr.acct.cpu += dt * oncpu * (1.0 - f.os_frac);
                        pr.acct.io += dt * oncpu * f.os_frac + dt * (1.0 - oncpu);
                        f.done += prog;
                        let rows = prog * f.rows_per_unit;
                        let kind = f.kind;
                        self.account_progress(p, kind, prog, rows);
                    }
                }
            }
        }
        // Flows within a rounding nanosecond of their stop point are there.
        for pr in &mut self.procs {
            if let Act::Flow(f) = &mut pr.act {
                if f.rate > 0.0 && (f.stop_at - f.done) / f.rate < 1.0 && t > now {
                    let rest = (f.stop_at - f.done).max(0.0);
                    f.done = f.stop_at;
                    let _ = rest;
                }
            }
        }
        self.q.advance_to(t);
    }

    /// Book rows and queue bytes produced or consumed by a flow's progress.
    fn account_progress(&mut self, p: usize, kind: FlowKind, prog: f64, rows: f64) {
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
            FlowKind::Finish(_) => {}
        }
    }

    fn emit_rows(&mut self, p: usize, rows: f64) {
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

    fn start(&mut self) {
        let launched = self.n_workers();
        let par = &self.hw.parallel;
        let setup = if self.c.mode == Mode::Serial {
            0.0
        } else {
            par.leader_setup_ns + par.launch_per_worker_ns * launched as f64
        };
        // Workers are forked one after another by the postmaster, then initialize.
        for w in 1..=launched {
            let fork = setup + par.launch_per_worker_ns * w as f64;
            let init = lognormal_around(&mut self.procs[w].rng, par.worker_startup_ns, par.worker_startup_sigma);
            self.delay(w, State::Startup, fork + init);
        }
        if setup > 0.0 {
            self.delay(0, State::Startup, setup);
        } else {
            self.leader_begin();
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
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
                        } else {
                            self.participant_begin(p);
                        }
                    }
                    State::Io => {
                        // Read latency over: start processing the chunk that was fetched.
                        if let Some(f) = self.procs[p].saved.take() {
                            self.set_flow(p, f);
                        }
                    }
                    State::MqSend => self.resume_after_send(p),
                    State::MqReceive => self.leader_next(),
                    State::Shutdown => self.leader_after_shutdown(),
                    _ => {}
                }
            }
        }
    }

    fn leader_begin(&mut self) {
        if self.leader_local() {
            self.participant_begin(0);
        } else {
            self.procs[0].phase = Phase::Done;
            self.leader_next();
        }
    }

    fn participant_begin(&mut self, p: usize) {
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
    fn participant_continue(&mut self, p: usize) {
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
                let work = cpu + temp * self.hw.costs.temp_page_ns / self.hw.cpu_speed;
                self.set_flow(p, Flow::cpu_only(FlowKind::Finish(i), 1.0, 1.0, work.max(1.0), 0.0));
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

    fn rows_into_breaker(&self, p: usize, i: usize) -> f64 {
        let pipe = self.pipe(p);
        breaker_output(&pipe.breakers[..i], self.procs[p].rows_streamed)
    }

    /// CPU ns for each row leaving the participant's pipeline.
    fn out_row_cost(&self, p: usize) -> f64 {
        let c = &self.hw.costs;
        if p == 0 {
            // Local rows go straight to the leader's consumer (Gather returns them).
            if self.serial() {
                self.c.consumer.client_row_ns + if self.post_phase { 0.0 } else { self.c.consumer.per_row_ns }
            } else {
                self.c.consumer.per_row_ns
            }
        } else {
            c.tuple_send_ns / self.hw.cpu_speed
        }
    }

    fn start_build(&mut self, p: usize, b: usize) {
        let pipe = self.pipe(p);
        let build = &pipe.builds[b];
        if build.shared {
            let sb = self.shared_builds[b].as_mut().expect("shared build state");
            if sb.done {
                // Arrived after the build finished: skip straight to probing.
                self.finish_build_phase(p, b);
                return;
            }
            sb.attached[p] = true;
            match sb.scan.next_chunk(&mut self.procs[p].build_scans[b]) {
                Some(pages) => {
                    let tuples = pages * build.tuples / build.pages.max(1.0);
                    let f =
                        self.page_flow(FlowKind::Build(b), pages, tuples, &build.page, build.cpu_per_tuple, 0.0, false);
                    self.start_with_latency(p, f, pages, &build.page, 0.0);
                }
                None => {
                    // Nothing left to hash: arrive at the barrier.
                    sb.arrived[p] = true;
                    self.check_barrier(b);
                }
            }
        } else {
            let temp = build.temp_pages * self.hw.costs.temp_page_ns / self.hw.cpu_speed;
            let extra = if build.tuples > 0.0 { temp / build.tuples } else { 0.0 };
            let f = self.page_flow(
                FlowKind::Build(b),
                build.pages,
                build.tuples,
                &build.page,
                build.cpu_per_tuple + extra,
                0.0,
                false,
            );
            let (pages, page) = (build.pages, build.page.clone());
            self.start_with_latency(p, f, pages, &page, 0.0);
        }
    }

    fn check_barrier(&mut self, b: usize) {
        let sb = self.shared_builds[b].as_mut().expect("shared build");
        let all = (0..sb.attached.len()).all(|i| !sb.attached[i] || sb.arrived[i]);
        if all && sb.scan.exhausted() && !sb.done {
            sb.done = true;
            let waiting: Vec<usize> = (0..sb.attached.len()).filter(|&i| sb.attached[i]).collect();
            for p in waiting {
                self.finish_build_phase(p, b);
            }
        } else {
            for p in 0..sb.attached.len() {
                if sb.attached[p]
                    && sb.arrived[p]
                    && !matches!(self.procs[p].act, Act::Blocked(State::Barrier))
                    && self.procs[p].phase == Phase::Build(b)
                {
                    self.procs[p].act = Act::Blocked(State::Barrier);
                }
            }
        }
    }

    fn finish_build_phase(&mut self, p: usize, b: usize) {
        let now = self.now();
        self.procs[p].ms.builds_end.push(now);
        let nb = self.pipe(p).builds.len();
        self.procs[p].phase = if b + 1 < nb { Phase::Build(b + 1) } else { Phase::Scan };
        self.procs[p].act = Act::Blocked(State::Cpu);
        self.participant_continue(p);
    }

    /// A flow over `pages` pages holding `tuples` tuples.
    #[allow(clippy::too_many_arguments)]
    fn page_flow(
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
            io_bound: false,
        }
    }

    /// Start a chunk's flow, after a read latency when the data is on disk.
    fn start_with_latency(&mut self, p: usize, mut f: Flow, pages: f64, page: &PageCost, random_reads: f64) {
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

    fn start_chunk(&mut self, p: usize) {
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
            SourceKind::Shared => self.scan.next_chunk(&mut self.procs[p].scan),
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

    fn scan_done(&mut self, p: usize) {
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

    fn participant_done(&mut self, p: usize) {
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
            let q = &mut self.queues[p - 1];
            q.written += q.pending;
            q.pending = 0.0;
            q.sender_done = true;
            self.procs[p].act = Act::Idle;
            self.trace_queue(p - 1);
            self.wake_leader_for(p - 1);
        }
    }

    /// Recompute where flow p must stop next (end, queue full/publish, bound, preemption).
    fn retarget(&mut self, p: usize) {
        let (kind, done, total, rpu) = match &self.procs[p].act {
            Act::Flow(f) => (f.kind, f.done, f.total, f.rows_per_unit),
            _ => return,
        };
        let mut stop = total;
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
            f.stop_at = stop.max(done).min(f.total);
        }
    }

    fn on_flow_stop(&mut self, p: usize) {
        let f = match &self.procs[p].act {
            Act::Flow(f) => f.clone(),
            _ => return,
        };
        let finished = f.done >= f.total - EPS * f.total.max(1.0);
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
                self.top_step(i + 1);
            }
            FlowKind::TopEmit => self.finish_query(),
        }
    }

    fn after_output_flow(&mut self, p: usize, f: Flow, finished: bool) {
        let pipe = self.pipe(p);
        let now = self.now();
        let bound_hit = pipe.bound.is_some_and(|b| self.procs[p].rows_out >= b - 1e-6) && f.rows_per_unit > 0.0;
        if p > 0 {
            // Worker: publish / full / detached checks.
            let s = self.tuple_bytes;
            let j = p - 1;
            if self.queues[j].receiver_detached && f.rows_per_unit > 0.0 {
                self.participant_done(p);
                return;
            }
            if self.queues[j].pending > self.qcap / 4.0 {
                let q = &mut self.queues[j];
                q.written += q.pending;
                q.pending = 0.0;
                self.trace_queue(j);
                self.wake_leader_for(j);
            }
            if bound_hit {
                if f.kind == FlowKind::Scan {
                    self.scan_done(p);
                } else {
                    self.participant_done(p);
                }
                return;
            }
            let q = &self.queues[j];
            let free = self.qcap - (q.written + q.pending - q.read);
            if !finished && free < s * 0.5 {
                // Queue full: publish everything and sleep on MessageQueueSend.
                let q = &mut self.queues[j];
                q.written += q.pending;
                q.pending = 0.0;
                q.sender_blocked = true;
                self.stalls += 1;
                self.procs[p].stalls += 1;
                self.procs[p].saved = Some(f);
                self.procs[p].act = Act::Blocked(State::MqSend);
                self.trace_queue(j);
                self.wake_leader_for(j);
                return;
            }
            if !finished {
                // A publish point: continue the same flow.
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

    fn start_or_yield(&mut self, p: usize) {
        if p == 0 && self.n_workers() > 0 && self.mode == LeaderMode::Gather && self.any_queue_ready() {
            self.leader_next();
        } else {
            self.start_chunk(p);
        }
    }

    fn resume_after_send(&mut self, p: usize) {
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

    fn trace_queue(&mut self, j: usize) {
        let now = self.now();
        let q = &self.queues[j];
        let used = q.written - q.read;
        if let Some(t) = self.trace.as_mut() {
            t.queue.push((now, j, used));
        }
    }

    fn queue_ready(&self, j: usize) -> bool {
        let q = &self.queues[j];
        !q.exhausted && (q.written - q.read - q.consumed_pending > self.tuple_bytes * 0.5 || q.sender_done)
    }

    fn any_queue_ready(&self) -> bool {
        (0..self.n_workers()).any(|j| self.queue_ready(j))
    }

    /// A worker published tuples or detached: the leader may react.
    fn wake_leader_for(&mut self, j: usize) {
        let _ = j;
        let wake = self.hw.costs.wakeup_ns / self.hw.cpu_speed;
        match (&self.procs[0].act, self.mode) {
            (Act::Blocked(State::MqReceive), LeaderMode::Gather | LeaderMode::MergeInit | LeaderMode::Merge) => {
                self.delay(0, State::MqReceive, wake);
            }
            (Act::Blocked(State::Shutdown), LeaderMode::Shutdown) => self.leader_check_shutdown(),
            (Act::Flow(_), _) => self.retarget(0),
            _ => {}
        }
    }

    /// The leader published read progress on queue j: wake a blocked sender.
    fn publish_read(&mut self, j: usize) {
        let q = &mut self.queues[j];
        if q.consumed_pending <= 0.0 {
            return;
        }
        q.read += q.consumed_pending;
        q.consumed_pending = 0.0;
        self.trace_queue(j);
        let p = j + 1;
        if matches!(self.procs[p].act, Act::Blocked(State::MqSend)) {
            let wake = self.hw.costs.wakeup_ns / self.hw.cpu_speed;
            self.delay(p, State::MqSend, wake);
        }
    }

    // ---------------------------------------------------------------- the leader

    /// gather_readnext: decide what the leader does next.
    fn leader_next(&mut self) {
        match self.mode {
            LeaderMode::Gather => self.gather_next(),
            LeaderMode::MergeInit | LeaderMode::Merge => self.merge_next(),
            LeaderMode::Shutdown => self.leader_check_shutdown(),
            LeaderMode::Top | LeaderMode::Finished => {}
        }
    }

    fn gather_next(&mut self) {
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

    fn start_drain(&mut self, j: usize) {
        let per = (self.hw.costs.tuple_receive_ns / self.hw.cpu_speed + self.c.consumer.per_row_ns).max(1.0);
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

    fn after_drain(&mut self, j: usize) {
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
        // Ran out of published data: publish consumption, move to the next reader.
        self.publish_read(j);
        if self.queues[j].sender_done && self.queues[j].written - self.queues[j].read < s * 0.5 {
            self.queues[j].exhausted = true;
        }
        self.next_reader = (j + 1) % self.n_workers().max(1);
        self.gather_next();
    }

    /// Sources Gather Merge currently merges from: worker queues not exhausted, and the
    /// leader's own sorted rows (None).
    fn merge_sources(&self) -> Vec<Option<usize>> {
        let mut v: Vec<Option<usize>> =
            (0..self.n_workers()).filter(|&j| !self.queues[j].exhausted).map(Some).collect();
        if self.leader_local() && self.procs[0].participated && self.procs[0].rows_out < self.procs[0].emit_total - 1e-6
        {
            v.push(None);
        }
        v
    }

    fn merge_next(&mut self) {
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
        let per = (n_w / k) * (c.tuple_receive_ns + c.gather_merge_tuple_ns) / sp
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

    fn after_merge(&mut self) {
        self.procs[0].act = Act::Blocked(State::Cpu);
        if self.procs[0].phase == Phase::Emit && self.procs[0].rows_out >= self.procs[0].emit_total - 1e-6 {
            self.procs[0].phase = Phase::Done;
            self.procs[0].ms.done = Some(self.now());
        }
        self.merge_next();
    }

    fn begin_shutdown(&mut self) {
        if self.gather_end.is_none() {
            self.gather_end = Some(self.now());
        }
        self.mode = LeaderMode::Shutdown;
        for j in 0..self.n_workers() {
            self.queues[j].receiver_detached = true;
            let p = j + 1;
            match &self.procs[p].act {
                Act::Blocked(State::MqSend) => {
                    let wake = self.hw.costs.wakeup_ns / self.hw.cpu_speed;
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

    fn leader_check_shutdown(&mut self) {
        let all_done =
            (1..self.procs.len()).all(|p| self.procs[p].phase == Phase::Done || matches!(self.procs[p].act, Act::Idle));
        if all_done {
            let per = self.hw.parallel.shutdown_per_worker_ns * self.n_workers() as f64;
            self.delay(0, State::Shutdown, per);
        } else {
            self.procs[0].act = Act::Blocked(State::Shutdown);
        }
    }

    fn gather_finished(&mut self) {
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

    fn leader_after_shutdown(&mut self) {
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
    fn top_step(&mut self, i: usize) {
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
            let work = cpu + temp * self.hw.costs.temp_page_ns / self.hw.cpu_speed;
            if work > 0.0 {
                self.set_flow(0, Flow::cpu_only(FlowKind::TopFinish(i), 1.0, 1.0, work, 0.0));
                return;
            }
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

    fn finish_query(&mut self) {
        self.mode = LeaderMode::Finished;
        self.procs[0].act = Act::Idle;
        self.finished_at = Some(self.now());
        self.record_states();
    }
}
