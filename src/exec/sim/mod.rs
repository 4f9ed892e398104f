//! The PostgreSQL executor model: a leader and its workers as processes sharing CPU cores and
//! disk bandwidth, one byte-bounded tuple queue per worker with shm_mq's flush rules, the
//! Gather / Gather Merge read policy, Parallel Seq Scan chunks, Parallel Hash barriers and the
//! tuple bound of a LIMIT. Time advances from transition to transition; between them every
//! activity progresses at a constant rate (fluid), so the number of events grows with chunks
//! and queue batches, not with rows.

use super::compile::*;
use super::cpu::RunQueue;
use super::scan::{ParticipantScan, SharedScan};
use crate::engine::fluid::{self, Demand};
use crate::engine::{streams, EventQueue, Time};
use crate::model::guc::Settings;
use crate::model::*;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal, Normal};

const EPS: f64 = 1e-9;

mod build;
mod ffwd;
#[cfg(test)]
mod fixed_cost_tests;
mod gather;
mod pipeline;
#[cfg(test)]
mod placement_tests;
mod process;
mod queue;
#[cfg(test)]
mod read_order_tests;
mod result;
mod run;
mod sampler;
mod sched;
mod shared;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wake_tests;

use build::SharedBuild;
use gather::LeaderMode;
use process::{Act, Event, Flow, FlowKind, Phase, Proc};
use queue::Queue;
pub use result::*;
pub use sampler::{StateSamples, WaitSamples, N_STATES};

pub struct Sim<'a> {
    c: &'a Compiled,
    hw: &'a Hardware,
    settings: &'a Settings,
    q: EventQueue<Event>,
    procs: Vec<Proc>,
    queues: Vec<Queue>,
    scan: SharedScan,
    /// A Parallel Append's non-partial inputs handed out so far (`Source::whole_pages`).
    whole_next: usize,
    shared_builds: Vec<Option<SharedBuild>>,
    qcap: f64,
    tuple_bytes: f64,
    mode: LeaderMode,
    next_reader: usize,
    pulled: f64,
    gather_first_row: Option<Time>,
    gather_end: Option<Time>,
    top_rows_in: f64,
    /// Stage of a spilling breaker above the Gather (see `finish_stage_work`).
    top_stage: u8,
    top_rows_out: f64,
    local_rows_total: f64,
    stalls: u64,
    trace: Option<Trace>,
    /// Wait-event sampling without a trace (see `sampler`), when asked for.
    sampler: Option<sampler::Sampler>,
    finished_at: Option<Time>,
    steps: u64,
    /// The leader runs `Compiled::post` after a SubPlan's Gather.
    post_phase: bool,
    subplan_gather: Option<SubPlanGather>,
    /// Runnable processes in line for a core (`exec::cpu`): the first `cores` run this
    /// turn, the others wait in order of the CPU time they have had (vruntime). Unused when a
    /// server drives the query: its run queue holds every query's processes.
    rq: RunQueue<usize>,
    /// Processes of other queries on a core or in line for one (set by `exec::server`; 0 for a
    /// query alone): a woken process finds an idle core only if all of them leave one free.
    others_busy: usize,
    /// The leader has seen its workers exit (ParallelFinish, then WaitForParallelWorkersToExit):
    /// their background-worker slots are free again.
    slots_released: bool,
    /// This run's CPU speed factor (the machine's run-to-run variation), see [`run_speed`].
    run_speed: f64,
    /// The rate solver and its reused buffers.
    fluid: FluidScratch,
    /// Steady-state fast-forward (off unless asked for, see [`Sim::fast_forward`]).
    ff: ffwd::FastForward,
}

/// Buffers of `solve_rates`, kept between steps so the steady state does not allocate.
#[derive(Default, Clone)]
struct FluidScratch {
    solver: fluid::Solver,
    idx: Vec<usize>,
    demands: Vec<Demand>,
    /// The run queue's CPU caps, aligned with `idx` (see `sched::apply_cpu_caps`).
    caps: Vec<f64>,
    /// The bits of each flow's CPU and I/O demand as `solve_rates` last read them, aligned
    /// with `idx`, and whether `idx`, `demands` and the solver's rates are still those of that
    /// call (`Sim::rates_unchanged`).
    raw: Vec<(u64, u64)>,
    raw_valid: bool,
}

pub(super) fn lognormal_around(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
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
                woken_from: None,
                finish_stage: 0,
                vruntime: 0.0,
                lag: 0.0,
                startup_cpu_left: None,
                exit_off_core_ns: 0.0,
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
            scan: SharedScan::new(c.worker.source.pages - c.worker.source.whole_pages.iter().sum::<f64>()),
            whole_next: 0,
            shared_builds,
            qcap: (hw.parallel.tuple_queue_size - 56.0).max(64.0),
            tuple_bytes: c.queue_tuple_bytes,
            mode: if c.mode == Mode::GatherMerge { LeaderMode::MergeInit } else { LeaderMode::Gather },
            next_reader: 0,
            pulled: 0.0,
            gather_first_row: None,
            gather_end: None,
            top_rows_in: 0.0,
            top_stage: 0,
            top_rows_out: 0.0,
            local_rows_total: 0.0,
            stalls: 0,
            trace: trace.then(Trace::default),
            sampler: None,
            finished_at: None,
            steps: 0,
            post_phase: false,
            subplan_gather: None,
            rq: RunQueue::new(hw.cores.max(1.0) as usize)
                .rotating_after(hw.scheduler.rotate_ns)
                .pulling_at_tick(hw.scheduler.idle_pull_at_tick)
                .ticking_at(super::cpu::tick_phase(seed, hw))
                .leaders_arrive_busy(super::cpu::LEADER_ARRIVES_BUSY),
            others_busy: 0,
            slots_released: false,
            run_speed: run_speed(seed, hw.cpu_noise_cv),
            fluid: FluidScratch::default(),
            ff: ffwd::FastForward::default(),
        }
    }

    /// Jump over whole periods of a repeating steady state (see `ffwd`).
    pub fn fast_forward(mut self, on: bool) -> Self {
        self.ff.enabled = on;
        if let Some(s) = self.sampler.as_mut() {
            s.set_logging(on);
        }
        self
    }

    /// Sample every process's state every `period` ns (`run`'s wait samples) as the run goes,
    /// keeping every sample as a row only when `rows` (at most `max_rows` of them).
    pub fn wait_sampling(mut self, period: Time, rows: bool, max_rows: usize) -> Self {
        let mut s = sampler::Sampler::new(period, self.procs.len(), rows, max_rows);
        s.set_logging(self.ff.enabled);
        self.sampler = Some(s);
        self
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

    /// Does the leader run the plan itself? Always when no worker was launched.
    fn leader_local(&self) -> bool {
        self.c.leader_participates || self.n_workers() == 0
    }

    fn delay(&mut self, p: usize, state: State, dur: f64) {
        let until = self.now() + crate::engine::round::round_nonneg(dur.max(0.0)) as Time;
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
                if let Some(s) = f.shown_as {
                    s
                } else if f.io_bound {
                    State::Io
                } else {
                    State::Cpu
                }
            }
        }
    }
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
