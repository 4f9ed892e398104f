//! One PostgreSQL server running many queries at once: every query is the executor model of
//! `run` (`exec::sim`: its leader, its workers, its tuple queues), and all their processes
//! share the machine's cores and disk bandwidth in one fluid solve per step, and one run queue
//! (`exec::cpu`, the very one a query alone runs on, keyed here by query and process), so a
//! query alone on the server runs as `pqsim run` runs it. Queries arrive
//! from closed sessions or open Poisson streams; each Gather asks the worker pool for its
//! workers when the query starts and gets what is free (`pool`).
//!
//! **Invariant:** the work per step is proportional to the queries in flight, and the steps
//! of a run are the sum of its queries' own steps (chunks and queue batches) plus one per
//! arrival and one per scheduler turn while more processes are runnable than cores (and one
//! per state of a machine whose speed wanders): never proportional to rows. Same inputs and
//! seed, same result.

mod pool;
mod sources;
mod timeline;

pub use pool::Pool;
pub use sources::{Pick, Source};
pub use timeline::{Sample, Timeline};

use super::compile::Compiled;
use super::sim::Sim;
use crate::engine::fluid::{self, Demand};
use crate::engine::{self, streams, EventQueue, Halt, Model, Time};
use crate::error::SimError;
use crate::exec::cpu::{self, RunQueue, Tasks};
use crate::model::guc::Settings;
use crate::model::workload::Stop;
use crate::model::Hardware;
use sources::SourceState;

/// A process of the server: (query's issue number, process index within the query).
type Key = (u64, u32);

/// A query class ready to run: its compiled plan and how many workers its Gather asks for.
#[derive(Debug, Clone)]
pub struct ClassPlan {
    pub name: String,
    pub compiled: Compiled,
    /// The class's settings (its session's GUCs).
    pub settings: Settings,
    /// Workers Planned of the Gather that runs (0 for a serial plan).
    pub planned: u32,
    /// Workers the Gather asks the pool for (Workers Planned after the executor's own
    /// fallbacks, e.g. a client row limit); 0 for a serial plan.
    pub request: u32,
    /// Share of the shared sessions' queries.
    pub weight: f64,
}

/// Everything one run of the server needs.
pub struct ServerSpec<'a> {
    pub classes: &'a [ClassPlan],
    pub sources: &'a [Source],
    pub hw: &'a Hardware,
    pub pool: Pool,
    pub stop: Stop,
    pub warmup_ns: Time,
    pub seed: u64,
    /// Width of one bucket of the over-time series.
    pub bucket_ns: Time,
    pub max_steps: u64,
}

/// One query, as it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRecord {
    pub class: usize,
    /// The session (closed) or stream (open) that sent it.
    pub source: usize,
    pub arrival: Time,
    /// When it started executing (the same as `arrival`: a backend starts at once).
    pub start: Time,
    pub end: Time,
    pub planned: u32,
    pub launched: u32,
    /// Summed over the query's processes, ms.
    pub cpu_ms: f64,
    pub io_wait_ms: f64,
    pub mq_send_wait_ms: f64,
    pub mq_receive_wait_ms: f64,
    pub startup_ms: f64,
    /// Arrived during the warm-up: not counted in the statistics.
    pub warmup: bool,
}

impl QueryRecord {
    pub fn latency_ms(&self) -> f64 {
        (self.end - self.arrival) as f64 / 1e6
    }
}

/// What one run of the server returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerResult {
    /// Every query that finished, in order of completion.
    pub queries: Vec<QueryRecord>,
    /// Queries still running when a duration-limited run ended.
    pub unfinished: u64,
    /// The measured window (after the warm-up), ns.
    pub window_ns: Time,
    /// Time-weighted means over the measured window.
    pub cpu_utilization: f64,
    pub worker_slots_busy_mean: f64,
    pub run_queue_mean: f64,
    pub active_queries_mean: f64,
    pub timeline: Vec<Sample>,
    pub steps: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Source s sends a query.
    Arrive(usize),
    /// The duration is over.
    End,
    /// The scheduler's turn ended: the processes on the cores make way for the next ones.
    TurnEnd(u64),
    /// A core's speed takes its next state (`Hardware::speed_hold_ns`).
    SpeedState(usize),
}

struct Running<'a> {
    sim: Sim<'a>,
    /// Issue number: with a process index, the process's key in the server's run queue.
    seq: u64,
    class: usize,
    source: usize,
    arrival: Time,
    planned: u32,
    launched: u32,
    /// The core each process of the query runs on, by process index (assigned at its first
    /// demand), when the cores' speeds wander.
    homes: Vec<usize>,
}

struct Server<'a> {
    spec: &'a ServerSpec<'a>,
    q: EventQueue<Event>,
    running: Vec<Running<'a>>,
    sources: Vec<SourceState>,
    issued: u64,
    ended: bool,
    done: Vec<QueryRecord>,
    slots_busy: u32,
    cores_busy: f64,
    runnable: u32,
    timeline: Timeline,
    demands: Vec<Demand>,
    /// The demands and rates of the last solve: a step that only replaces a finished chunk by
    /// the next one leaves the demands as they were, and the solve is skipped.
    last_demands: Vec<Demand>,
    rates: Vec<f64>,
    /// Turns of the profile's scheduler across all queries (not ideal sharing).
    scheduled: bool,
    /// The run queue of every process of every query (`exec::cpu`).
    rq: RunQueue<Key>,
    keys: Vec<Key>,
    procs: Vec<u32>,
    /// Work left to each flow's stop point (unused here; `push_demands` fills it).
    left: Vec<f64>,
    caps: Vec<f64>,
    /// Each core's state: CPU work per unit on it is multiplied by this slowness (1: typical).
    slowness: Vec<f64>,
    /// The measured spread's shape for the speed states: its ln at the median (the centre) and
    /// `speed_state_sigma` over its own log sd (the scale that gives the shape the lasting
    /// state's size); None: no measured shape, log-normal states.
    state_shape: Option<(crate::model::RunQuantiles, f64, f64)>,
    /// Processes of the queries in flight whose home is each core.
    core_load: Vec<u32>,
    /// The home core of each of `demands` (filled only when the cores' speeds wander).
    homes: Vec<usize>,
    /// Draws the states and their holds.
    speed_rng: rand::rngs::StdRng,
}

/// Run the server until the workload stops.
pub fn simulate(spec: &ServerSpec) -> Result<ServerResult, SimError> {
    let mut s = Server {
        spec,
        q: EventQueue::new(),
        running: vec![],
        sources: spec.sources.iter().enumerate().map(|(i, src)| SourceState::new(src, spec.seed, i)).collect(),
        issued: 0,
        ended: false,
        done: vec![],
        slots_busy: 0,
        cores_busy: 0.0,
        runnable: 0,
        timeline: Timeline::new(spec.warmup_ns, spec.bucket_ns),
        demands: vec![],
        last_demands: vec![],
        rates: vec![],
        scheduled: cpu::scheduled(spec.hw),
        rq: RunQueue::new(spec.hw.cores.max(1.0) as usize)
            .rotating_after(spec.hw.scheduler.rotate_ns)
            .pulling_at_tick(spec.hw.scheduler.idle_pull_at_tick)
            .ticking_at(cpu::tick_phase(spec.seed, spec.hw))
            .leaders_arrive_busy(cpu::LEADER_ARRIVES_BUSY),
        keys: vec![],
        procs: vec![],
        left: vec![],
        caps: vec![],
        slowness: vec![],
        state_shape: spec
            .hw
            .run_quantiles
            .filter(|q| q.ln_sd() > 0.0)
            .map(|q| (q, q.ln_at(0.5), spec.hw.speed_state_sigma / q.ln_sd())),
        core_load: vec![],
        homes: vec![],
        speed_rng: streams::stream(spec.seed, 0x5bee_d057_a7e5),
    };
    if wandering(spec.hw) {
        let n = spec.hw.cores.ceil().max(1.0) as usize;
        s.slowness = vec![1.0; n];
        s.core_load = vec![0; n];
        for core in 0..n {
            s.next_speed_state(core);
        }
    }
    for i in 0..s.sources.len() {
        let first = s.sources[i].first_arrival(&spec.sources[i]);
        if let Some(t) = first {
            s.q.schedule(t, Event::Arrive(i));
        }
    }
    if let Stop::Duration { seconds } = spec.stop {
        s.q.schedule((seconds * 1e9).round() as Time, Event::End);
    }
    let steps = match engine::run(&mut s, spec.max_steps) {
        Ok(n) => n,
        Err(Halt::Stalled { at }) => {
            let processes = s.running.iter().flat_map(|r| r.sim.blocked()).collect();
            return Err(SimError::Deadlock { at_ns: at, processes });
        }
        Err(Halt::StepLimit { limit, at }) => return Err(SimError::StepLimit { limit, at_ns: at }),
    };
    let end = s.q.now();
    let unfinished = s.running.len() as u64;
    let t = s.timeline.finish(end);
    Ok(ServerResult {
        queries: s.done,
        unfinished,
        window_ns: end.saturating_sub(spec.warmup_ns),
        cpu_utilization: t.cores_busy / spec.hw.cores.max(1e-9),
        worker_slots_busy_mean: t.slots,
        run_queue_mean: t.runnable,
        active_queries_mean: t.active,
        timeline: t.samples,
        steps,
    })
}

/// `fluid::solve`, with a fast path for the common case of flows that need only CPU, all with
/// the same cap (one core, or their share under the scheduler's turns): the same water-filling
/// arithmetic in the same order, without the sort (equal caps keep index order) or the
/// alternating rounds (no disk share to balance).
fn solve(cores: f64, bandwidth: f64, flows: &[Demand]) -> Vec<f64> {
    let cap = flows.first().map_or(1.0, |f| f.cpu_cap);
    if flows.iter().all(|f| f.io == 0.0 && f.cpu > 0.0 && f.cpu_cap == cap) {
        let mut remaining = cores;
        let mut left = flows.len();
        return flows
            .iter()
            .map(|f| {
                if cores <= 0.0 {
                    return 0.0;
                }
                let a = cap.min(remaining / left as f64);
                remaining -= a;
                left -= 1;
                a / f.cpu
            })
            .collect();
    }
    fluid::solve(cores, bandwidth, flows)
}

/// The server's run queue reads and places the processes of the queries in flight, which are
/// in issue order (`running` is sorted by `seq`).
struct InFlight<'s, 'a>(&'s mut [Running<'a>]);

impl<'s, 'a> InFlight<'s, 'a> {
    fn find(&self, seq: u64) -> Option<usize> {
        self.0.binary_search_by_key(&seq, |r| r.seq).ok()
    }
}

impl<'s, 'a> Tasks<Key> for InFlight<'s, 'a> {
    fn vruntime(&self, (seq, p): Key) -> f64 {
        self.find(seq).map_or(0.0, |i| self.0[i].sim.vruntime(p))
    }
    fn set_vruntime(&mut self, (seq, p): Key, v: f64) {
        if let Some(i) = self.find(seq) {
            self.0[i].sim.set_vruntime(p, v)
        }
    }
    fn lag(&self, (seq, p): Key) -> f64 {
        self.find(seq).map_or(0.0, |i| self.0[i].sim.lag(p))
    }
    fn set_lag(&mut self, (seq, p): Key, lag: f64) {
        if let Some(i) = self.find(seq) {
            self.0[i].sim.set_lag(p, lag)
        }
    }
    fn leader_of(&self, (seq, _): Key) -> Key {
        (seq, 0)
    }
}

/// Does the profile's machine change speed over time (`speed_hold_ns`, `speed_state_sigma`)?
fn wandering(hw: &Hardware) -> bool {
    hw.speed_hold_ns > 0.0 && hw.speed_state_sigma > 0.0
}

impl<'a> Server<'a> {
    /// A core's next speed state: a slowness of median 1 (the profile's costs are at the
    /// machine's typical speed) whose logarithm has the standard deviation the profile's
    /// `speed_state_sigma` says, held for an exponential time of the profile's mean. Its
    /// shape is the machine's measured run-to-run spread (`run_quantiles`: skewed to the slow
    /// side, as a host's slow stretches make it) when the profile has it, else log-normal.
    /// Each core wanders on its own: two scans side by side on the 2-vCPU machines here often
    /// ran 1.6x apart while one scan's time held from one run to the next
    /// (scripts/measure-pair-phase.sh, docs/workload.md).
    fn next_speed_state(&mut self, core: usize) {
        use rand::RngExt;
        use rand_distr::{Distribution, Exp, LogNormal};
        let hw = self.spec.hw;
        self.slowness[core] = match self.state_shape {
            Some((q, centre, scale)) => (scale * (q.ln_at(self.speed_rng.random()) - centre)).exp(),
            None => LogNormal::new(0.0, hw.speed_state_sigma).map_or(1.0, |d| d.sample(&mut self.speed_rng)),
        };
        let hold = Exp::new(1.0 / hw.speed_hold_ns).map_or(hw.speed_hold_ns, |d| d.sample(&mut self.speed_rng));
        // At least 1 ns on, so that a run always moves forward.
        self.q.schedule(self.q.now() + hold.round().max(1.0) as Time, Event::SpeedState(core));
    }

    /// Send the next query of source `s`.
    fn issue(&mut self, s: usize) {
        let now = self.q.now();
        let spec = self.spec;
        if let Stop::Queries(n) = spec.stop {
            if self.issued >= n {
                return;
            }
        }
        let class = self.sources[s].pick(&spec.sources[s], spec.classes);
        let cp = &spec.classes[class];
        let free = spec.pool.free(self.live_workers());
        let launched = cp.request.min(free);
        let seed = streams::mix(spec.seed, 0x51_0000_0000 + self.issued);
        let seq = self.issued;
        self.issued += 1;
        let mut sim = Sim::new(&cp.compiled, spec.hw, &cp.settings, launched, seed, false);
        sim.start_at(now);
        self.running.push(Running {
            sim,
            seq,
            class,
            source: s,
            arrival: now,
            planned: cp.planned,
            launched,
            homes: vec![],
        });
        if let Some(t) = self.sources[s].after_arrival(&spec.sources[s], now) {
            self.q.schedule(t, Event::Arrive(s));
        }
    }

    /// Every flow's demand, process key and work left, in query then process order; each
    /// query learns how many processes of the others hold or wait for a core.
    fn gather_demands(&mut self) {
        self.demands.clear();
        self.keys.clear();
        self.left.clear();
        self.homes.clear();
        let mut own = Vec::with_capacity(self.running.len());
        for r in &mut self.running {
            self.procs.clear();
            r.sim.push_demands(&mut self.demands, &mut self.procs, &mut self.left);
            self.keys.extend(self.procs.iter().map(|&p| (r.seq, p)));
            own.push(self.procs.len());
            if !self.core_load.is_empty() {
                for &p in &self.procs {
                    let p = p as usize;
                    while r.homes.len() <= p {
                        // As Linux places a waking task on an idle core: the core with the
                        // fewest processes of the queries in flight (the first of equals).
                        let core = (0..self.core_load.len()).min_by_key(|&c| (self.core_load[c], c)).unwrap_or(0);
                        self.core_load[core] += 1;
                        r.homes.push(core);
                    }
                    self.homes.push(r.homes[p]);
                }
            }
        }
        let total = self.demands.len();
        for (r, n) in self.running.iter_mut().zip(own) {
            r.sim.set_others_busy(total - n);
        }
    }

    fn live_workers(&self) -> u32 {
        self.running.iter().map(|r| r.sim.live_workers()).sum()
    }

    /// Move finished queries to the records; their sessions think, then send the next.
    fn collect_finished(&mut self) {
        let mut k = 0;
        while k < self.running.len() {
            if self.running[k].sim.observe_shared() {
                let r = self.running.remove(k);
                self.rq.remove(|key| key.0 == r.seq);
                for &h in &r.homes {
                    self.core_load[h] -= 1;
                }
                let end = r.sim.finished_at().unwrap_or(self.q.now());
                let mut rec = QueryRecord {
                    class: r.class,
                    source: r.source,
                    arrival: r.arrival,
                    start: r.arrival,
                    end,
                    planned: r.planned,
                    launched: r.launched,
                    cpu_ms: 0.0,
                    io_wait_ms: 0.0,
                    mq_send_wait_ms: 0.0,
                    mq_receive_wait_ms: 0.0,
                    startup_ms: 0.0,
                    warmup: r.arrival < self.spec.warmup_ns,
                };
                for a in r.sim.accounting() {
                    rec.cpu_ms += a.cpu / 1e6;
                    rec.io_wait_ms += a.io / 1e6;
                    rec.mq_send_wait_ms += a.mq_send / 1e6;
                    rec.mq_receive_wait_ms += a.mq_receive / 1e6;
                    rec.startup_ms += a.startup / 1e6;
                }
                self.done.push(rec);
                let s = r.source;
                if let Some(t) = self.sources[s].after_completion(&self.spec.sources[s], end) {
                    self.q.schedule(t, Event::Arrive(s));
                }
            } else {
                k += 1;
            }
        }
    }
}

impl<'a> Model for Server<'a> {
    type Event = Event;

    fn events(&mut self) -> &mut EventQueue<Event> {
        &mut self.q
    }

    fn observe(&mut self) -> bool {
        self.collect_finished();
        self.slots_busy = self.live_workers();
        match self.spec.stop {
            Stop::Duration { .. } => self.ended,
            Stop::Queries(n) => self.issued >= n && self.running.is_empty(),
        }
    }

    fn next_transition(&mut self) -> Option<Time> {
        self.gather_demands();
        let now = self.q.now();
        let hw = self.spec.hw;
        if self.scheduled {
            // The run queue's caps: 1 = on a core this turn, 0 = waiting for its turn.
            self.caps.clear();
            self.caps.resize(self.keys.len(), 1.0);
            let turn = self.rq.apply(now as f64, &self.keys, &mut InFlight(&mut self.running), hw, &mut self.caps);
            for (d, &c) in self.demands.iter_mut().zip(&self.caps) {
                d.cpu_cap = c;
            }
            if let Some(turn) = turn {
                self.q.schedule(now + turn.round().max(1.0) as Time, Event::TurnEnd(self.rq.turn_gen()));
            }
        }
        crate::exec::cpu::slow_busy_cores(&mut self.demands, hw);
        for (d, &h) in self.demands.iter_mut().zip(&self.homes) {
            if d.cpu > 0.0 {
                d.cpu *= self.slowness[h];
            }
        }
        if self.demands != self.last_demands {
            self.rates = solve(hw.cores, hw.disk.seq_bytes_per_ns, &self.demands);
            self.cores_busy = self.rates.iter().zip(&self.demands).map(|(r, d)| (r * d.cpu).min(d.cpu_cap)).sum();
            self.runnable = self.demands.iter().filter(|d| d.cpu > 0.0).count() as u32;
            std::mem::swap(&mut self.demands, &mut self.last_demands);
        }
        let mut used = 0;
        let mut next: Option<Time> = None;
        for r in &mut self.running {
            let k = r.sim.take_rates(&self.rates[used..], &self.last_demands[used..]);
            if let Some(t) = r.sim.next_time() {
                next = Some(next.map_or(t, |x: Time| x.min(t)));
            }
            used += k;
        }
        next
    }

    fn advance(&mut self, t: Time) {
        let now = self.q.now();
        self.timeline.add(
            now,
            t,
            self.cores_busy,
            self.slots_busy as f64,
            self.runnable as f64,
            self.running.len() as f64,
        );
        for r in &mut self.running {
            r.sim.advance_shared(t);
        }
    }

    fn fire_transitions(&mut self) -> bool {
        let mut any = false;
        for r in &mut self.running {
            any |= r.sim.fire_shared();
        }
        any
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Arrive(s) => {
                if !self.ended {
                    self.issue(s)
                }
            }
            Event::End => self.ended = true,
            Event::TurnEnd(gen) => self.rq.turn_ended(self.q.now() as f64, gen, &mut InFlight(&mut self.running)),
            Event::SpeedState(core) => self.next_speed_state(core),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_gives_the_rates_of_the_full_solve() {
        for n in 1..12 {
            let flows: Vec<Demand> =
                (0..n).map(|i| Demand { cpu: 1.0 + i as f64 * 0.37, io: 0.0, cpu_cap: 1.0 }).collect();
            for cores in [1.0, 2.0, 3.5, 16.0] {
                assert_eq!(solve(cores, 1.0, &flows), fluid::solve(cores, 1.0, &flows), "n {n} cores {cores}");
                // Under turns every flow is capped at its share of the cores.
                let share = (cores / n as f64).min(1.0);
                let capped: Vec<Demand> = flows.iter().map(|f| Demand { cpu_cap: share, ..*f }).collect();
                let (fast, full) = (solve(cores, 1.0, &capped), fluid::solve(cores, 1.0, &capped));
                for (a, b) in fast.iter().zip(&full) {
                    assert!((a - b).abs() <= 1e-12 * b.abs(), "n {n} cores {cores}: {a} vs {b}");
                }
            }
        }
    }
}
