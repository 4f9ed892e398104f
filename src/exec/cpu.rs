//! Cores as Linux shares them between PostgreSQL processes: one run queue model used both by a
//! query alone (`exec::sim`, `pqsim run`) and by every process of every query on a server
//! (`exec::server`, `pqsim workload`), so that a query runs the same whichever of them drives it.
//!
//! While no more processes want a core than there are cores, sharing is exact (fluid: every
//! runnable process has a core). When more do, and the profile's scheduler is EEVDF or CFS,
//! they take turns: `cores` of them run at full speed for one turn (the slice, seen at the
//! first tick after it is used up: `Scheduler::slice_ns`, `tick_at_or_after`), the others wait
//! runnable, then the runners go behind the others. The ticks are the machine's clock, not the
//! query's: they fall at a phase of their own (`RunQueue::ticking_at`, drawn per run), so a
//! query's first turn is 1-2 ticks long and where its events fall between ticks varies from
//! run to run, as it does on a real machine. The line is fair in CPU time, as EEVDF and CFS are: every process has a virtual
//! runtime (the CPU time it has had, nice 0 for every PostgreSQL process: each backend and each
//! parallel worker is its own autogroup), the waiting part of the line is ordered by it, and a
//! process that leaves the line (blocks on a latch, sleeps on I/O) keeps what it was owed, its
//! lag, clamped to `Scheduler::max_lag_ns`; it rejoins at the line's average virtual runtime
//! minus that lag (EEVDF's PLACE_LAG; CFS's sleeper credit). A worker whose tuple queue fills
//! early in its turn is thus not sent to the back of the line each time it wakes, and when the
//! one running on its CPU is then past the line's average it gives way at once (wake-up
//! preemption, `RunQueue::preempt_on_wake`). A woken process looks for an idle CPU only while
//! the CPUs have recently been little enough busy (`RunQueue::scans_for_idle`): on a busy
//! machine a worker the balancer put on its leader's CPU stays there, woken by the leader's
//! reads and preempting it, while the other CPU may idle. How busy is each process's own
//! average, as Linux's PELT keeps it: a leader arrives with its session's past
//! (`LEADER_ARRIVES_BUSY`), a forked worker with half its CPU's spare capacity, and a process
//! gone takes its own away.
//!
//! Cost: the owner schedules one event per turn, and one at a tick inside it that hands an idle
//! CPU a waiting process (`apply` says when); membership and order
//! updates are O(runnable log runnable) per step, never per tuple.

use crate::engine::fluid::Demand;
use crate::model::{Hardware, SchedulerKind};

/// The utilization a query's leader brings to its CPU when the query starts (0-1 of a CPU):
/// a backend that runs its session's statements one after another, as a report, a benchmark
/// or this project's calibration and validation run them, has kept its CPU busy, and Linux's
/// utilization average (PELT, 32 ms half-life) carries that into the query. It decides whether
/// a worker woken early in the query looks for an idle CPU (`RunQueue::scans_for_idle`): from
/// nothing, a short query's wake-ups moved a worker at almost every tick, where a 2-vCPU Linux
/// 6.18 moved the leader of a leader-bound Gather 0-2 times a query and each worker 0-4
/// (`perf sched`, docs/validation.md).
pub const LEADER_ARRIVES_BUSY: f64 = 1.0;

/// Busy cores run slower when they share a core's execution units, caches or memory
/// bandwidth (`Hardware::core_speed`): before the fluid solve, the CPU work per unit of every
/// flow that has a core is divided by the speed of a core at the number of cores busy (the
/// flows' CPU caps, at most `cores`; a flow held back by the disk is counted as a whole
/// core). Exact sharing stays exact: only the work per unit changes, so a CPU-bound flow
/// still holds its core the whole time, at the slower speed.
pub fn slow_busy_cores(demands: &mut [Demand], hw: &Hardware) {
    if hw.all_cores_busy_speed >= 1.0 || hw.cores <= 1.0 {
        return;
    }
    let busy: f64 = demands.iter().filter(|d| d.cpu > 0.0).map(|d| d.cpu_cap.min(1.0)).sum();
    let speed = hw.core_speed(busy.min(hw.cores));
    if speed < 1.0 {
        for d in demands.iter_mut().filter(|d| d.cpu > 0.0) {
            d.cpu /= speed;
        }
    }
}

/// Where a run's ticks fall (ns, in [0, tick)): drawn from its own stream of `seed`, as the
/// moment a query starts is unrelated to the machine's tick.
pub fn tick_phase(seed: u64, hw: &Hardware) -> f64 {
    use rand::RngExt;
    let tick = hw.scheduler.tick_ns;
    if tick <= 0.0 {
        return 0.0;
    }
    let u: f64 = crate::engine::streams::stream(seed, 0x71c4_0ff5).random();
    (u * tick).floor()
}

/// Are turns and wake-up latencies modelled (rather than ideal sharing)? (A whole number of
/// cores at least 1: asked several times a step, so tested without `fract`, a library call on
/// the baseline x86-64 target; for a finite number at least 1, `ceil` is the number itself
/// exactly when `fract` is 0.)
pub fn scheduled(hw: &Hardware) -> bool {
    let c = hw.cores;
    hw.scheduler.kind != SchedulerKind::Fluid && c >= 1.0 && c.is_finite() && crate::engine::round::ceil_nonneg(c) == c
}

/// Where the run queue reads and writes each process's virtual runtime and lag: the
/// processes belong to their executors (one query's `Sim`, or every query of a server).
pub trait Tasks<K> {
    /// CPU time the process has had (ns, shifted when it rejoined the line).
    fn vruntime(&self, k: K) -> f64;
    fn set_vruntime(&mut self, k: K, v: f64);
    fn lag(&self, k: K) -> f64;
    fn set_lag(&mut self, k: K, lag: f64);
    /// The process whose query this process works for (its leader; a leader is its own).
    /// Placement keeps a query's workers off its leader's CPU while it can.
    fn leader_of(&self, k: K) -> K {
        k
    }
}

/// How long (turn time) an imbalance of two or more runnable processes between CPUs lasts
/// before the periodic load balancer moves one: Linux balances a busy CPU every
/// `busy_factor` (16) times the domain's `balance_interval` (its CPU count, in ms), and an
/// imbalance arises on average half an interval before the next balance.
fn balance_after_ns(cores: usize) -> f64 {
    16e6 * cores as f64 / 2.0
}

/// The run queue: runnable processes in line, each homed on a CPU; each CPU runs the first
/// process of the line homed there.
#[derive(Debug, Clone)]
pub struct RunQueue<K> {
    cores: usize,
    order: Vec<K>,
    /// A turn end is scheduled by the owner and not yet delivered (`turn_ended`).
    turn_pending: bool,
    /// Which turn is pending: a turn end delivered for an earlier one is stale.
    turn_gen: u64,
    /// The length of the last turn scheduled (ns).
    turn_len: f64,
    /// Where the machine's ticks fall: at this phase + k x `Scheduler::tick_ns` (ns).
    tick_phase_ns: f64,
    /// When the turn in progress ends (the first tick after its slice; ns, the owner's clock).
    slice_end_at: f64,
    /// When the event the owner has pending for this queue is due (a turn's end, or a tick
    /// inside it at which an idle CPU takes a waiting process).
    event_at: f64,
    /// Turn time the CPUs have been out of balance (0 while balanced; see `balance`).
    imbalanced_ns: f64,
    /// Turn time one CPU has had one runnable process more than another (see `balance`).
    uneven_ns: f64,
    /// How long an imbalance of one lasts before the balancer moves a process across
    /// (`Scheduler::rotate_ns`; never when infinite).
    rotate_after_ns: f64,
    /// A CPU that goes idle takes a process waiting on another only at the busy CPU's next tick
    /// (`Scheduler::idle_pull_at_tick`); false: at once.
    pull_at_tick: bool,
    /// Each placed process's recent utilization (0-1 of a CPU), by key: the share of the time
    /// it ran, averaged as PELT does (half-life 32 ms) up to `util_at`. A process that blocks
    /// keeps its own, decaying, on its CPU; one that is gone (`remove`) takes it away. Their
    /// sum over `cores` is the CPUs' utilization (see `scans_for_idle`).
    task_util: Vec<(K, f64)>,
    util_at: f64,
    /// The utilization a leader brings when first placed (see `leaders_arrive_busy`).
    leader_util: f64,
    /// Scratch: per CPU, the process running there (its first in line).
    runner_of: Vec<Option<K>>,
    /// Rotations so far, and for each process the last one after which it was on the less
    /// busy CPU (by key): who moves next (see `rotate`).
    rotations: u64,
    favoured: Vec<(K, u64)>,
    /// Scratch: the line sorted by key, for membership tests. Allocates nothing once warm.
    sorted: Vec<K>,
    /// Each process's CPU (Linux keeps one run queue per CPU), sorted by key.
    home: Vec<(K, usize)>,
    /// Scratch: per CPU, the runnable processes homed there.
    per_cpu: Vec<usize>,
    /// Scratch: per CPU, whether a process of the line homed there has been met.
    seen: Vec<bool>,
    /// Scratch: the line being reordered.
    buf: Vec<K>,
    /// Scratch: the CPU of each process in line (`runners_first`).
    cpus: Vec<usize>,
    /// Scratch: the waiting part of the line with each one's CPU time (`sort_waiting`).
    keyed: Vec<(f64, K)>,
    /// The last `apply`'s runnable set and the caps it gave, valid while nothing else has
    /// changed the line since (`end_turn`, `remove`). The same set again is a fixed point:
    /// nobody leaves or joins, `place` and `runners_first` move nobody, the turn is pending
    /// already, so the caps are those of last time (most steps: a chunk or a queue batch
    /// ends without anyone blocking or waking).
    last: Vec<K>,
    last_caps: Vec<f64>,
    last_valid: bool,
    /// Moves of a process from one CPU to another so far (Linux's `nr_migrations`).
    migrations: u64,
}

impl<K: Copy + Ord> RunQueue<K> {
    pub fn new(cores: usize) -> RunQueue<K> {
        let cores = cores.max(1);
        RunQueue {
            cores,
            order: vec![],
            turn_pending: false,
            turn_gen: 0,
            turn_len: 0.0,
            tick_phase_ns: 0.0,
            slice_end_at: f64::NEG_INFINITY,
            event_at: f64::INFINITY,
            imbalanced_ns: 0.0,
            uneven_ns: 0.0,
            rotate_after_ns: f64::INFINITY,
            pull_at_tick: false,
            task_util: vec![],
            util_at: 0.0,
            leader_util: 0.0,
            runner_of: vec![],
            rotations: 0,
            favoured: vec![],
            sorted: vec![],
            home: vec![],
            per_cpu: vec![0; cores],
            seen: vec![false; cores],
            buf: vec![],
            cpus: vec![],
            keyed: vec![],
            last: vec![],
            last_caps: vec![],
            last_valid: false,
            migrations: 0,
        }
    }

    /// The run queue of a machine whose balancer evens out an imbalance of one after
    /// `rotate_ns` of turns (`Scheduler::rotate_ns`).
    pub fn rotating_after(mut self, rotate_ns: f64) -> RunQueue<K> {
        self.rotate_after_ns = if rotate_ns > 0.0 { rotate_ns } else { f64::INFINITY };
        self
    }

    /// The run queue of a machine whose CPUs, going idle, take a process waiting on another
    /// only at the busy CPU's next tick (`Scheduler::idle_pull_at_tick`).
    pub fn pulling_at_tick(mut self, at_tick: bool) -> RunQueue<K> {
        self.pull_at_tick = at_tick;
        self
    }

    /// The run queue of a machine on which a leader, first placed, brings the utilization
    /// `util` (0-1 of a CPU; 0 when not said: a backend that has been idle). PELT's averages
    /// carry a process's past with it: a backend that has been running its session's
    /// statements brings its CPU's utilization to the query it starts (see `scans_for_idle`,
    /// `LEADER_ARRIVES_BUSY`).
    pub fn leaders_arrive_busy(mut self, util: f64) -> RunQueue<K> {
        self.leader_util = util.clamp(0.0, 1.0);
        self
    }

    /// The run queue of a machine whose ticks fall at `phase_ns` + k x the tick (0 when
    /// not said: a tick at the owner's time 0).
    pub fn ticking_at(mut self, phase_ns: f64) -> RunQueue<K> {
        self.tick_phase_ns = phase_ns;
        self
    }

    /// The owner's clock jumped `dt` ns on with everything it runs (a fast-forward over whole
    /// periods of a steady state): the turn in progress and the event pending move with it.
    /// The ticks stay where they are (the machine's clock): a period with turns in it is a
    /// whole number of ticks, and one without any leaves them where stepping would.
    pub fn shift_clock(&mut self, dt: f64) {
        self.slice_end_at += dt;
        self.event_at += dt;
        // The recent utilization repeats with the period jumped over (the fast-forward
        // checks it does: `ff_capture_into`).
        self.util_at += dt;
    }

    /// How much of the turn in progress is left at `now` (0 when none is).
    pub fn turn_left(&self, now: f64) -> f64 {
        (self.slice_end_at - now).max(0.0)
    }

    pub fn turn_pending(&self) -> bool {
        self.turn_pending
    }

    /// The turn the owner schedules the end of when `apply` returns a turn's length: it
    /// hands this back to `turn_ended`.
    pub fn turn_gen(&self) -> u64 {
        self.turn_gen
    }

    /// The line, front first (each CPU runs the first process homed there).
    pub fn order(&self) -> &[K] {
        &self.order
    }

    /// The CPU a process is homed on (None before it first ran, or on one core).
    pub fn cpu_of(&self, k: K) -> Option<usize> {
        self.home.binary_search_by(|h| h.0.cmp(&k)).ok().map(|i| self.home[i].1)
    }

    /// Moves of a process from one CPU to another so far (a first placement is none).
    pub fn migrations(&self) -> u64 {
        self.migrations
    }

    /// Every process homed on a CPU, with its CPU, by key.
    pub fn homes(&self) -> &[(K, usize)] {
        &self.home
    }

    /// Turn time the CPUs have been out of balance, not yet corrected (0 while balanced).
    pub fn imbalanced_ns(&self) -> f64 {
        self.imbalanced_ns
    }

    /// Turn time an imbalance of one has lasted, not yet rotated (0 while even).
    pub fn uneven_ns(&self) -> f64 {
        self.uneven_ns
    }

    /// Each process that has had the less busy CPU, with how many rotations ago (who moves
    /// at the next rotation depends only on these).
    pub fn rotations_since_favoured(&self) -> impl Iterator<Item = (K, u64)> + '_ {
        self.favoured.iter().map(|&(k, r)| (k, self.rotations - r))
    }

    /// At `now`, the runnable set is now `runnable` (sorted ascending). Those gone leave the line
    /// keeping their lag; new ones join at the line's average virtual runtime minus their
    /// lag, and are placed on a CPU (`place`). Writes each process's CPU cap into `caps`
    /// (aligned with `runnable`: 1 = on a core, 0 = waiting for its turn). Returns how long
    /// from `now` the owner is to deliver `end_turn` (a turn's end, or the tick at which a CPU
    /// gone idle takes a process waiting on another) when one is due and none pending.
    /// `apply` with this runnable set would give the caps of last time and change nothing.
    pub fn reuses(&self, runnable: &[K]) -> bool {
        !runnable.is_empty() && self.last_valid && self.last.as_slice() == runnable
    }

    pub fn apply<T: Tasks<K> + ?Sized>(
        &mut self,
        now: f64,
        runnable: &[K],
        tasks: &mut T,
        hw: &Hardware,
        caps: &mut [f64],
    ) -> Option<f64> {
        if runnable.is_empty() {
            // Every CPU idle: the turn in progress is over (a process that runs next starts a
            // slice of its own); its end, still scheduled, will be stale.
            self.turn_pending = false;
            self.slice_end_at = f64::NEG_INFINITY;
        }
        if self.last_valid && self.last.as_slice() == runnable {
            caps.copy_from_slice(&self.last_caps);
            return None;
        }
        let turn = self.apply_changed(now, runnable, tasks, hw, caps);
        self.last.clear();
        self.last.extend_from_slice(runnable);
        self.last_caps.clear();
        self.last_caps.extend_from_slice(caps);
        self.last_valid = true;
        turn
    }

    /// `apply` when the runnable set may have changed since the last call.
    fn apply_changed<T: Tasks<K> + ?Sized>(
        &mut self,
        now: f64,
        runnable: &[K],
        tasks: &mut T,
        hw: &Hardware,
        caps: &mut [f64],
    ) -> Option<f64> {
        let cores = self.cores;
        // The utilizations up to now, with the line as it was since the last change.
        self.age_util(now);
        // Processes that stopped running leave the line, keeping their lag (behind their
        // CPU's average: each CPU's line keeps its own, as each Linux run queue does).
        if self.order.iter().any(|k| runnable.binary_search(k).is_err()) {
            let max_lag = hw.scheduler.max_lag_ns();
            for i in 0..self.order.len() {
                let k = self.order[i];
                if runnable.binary_search(&k).is_err() {
                    let v = self.cpu_avg(self.cpu(k), self.order.len(), tasks).unwrap_or(tasks.vruntime(k));
                    tasks.set_lag(k, (v - tasks.vruntime(k)).clamp(0.0, max_lag));
                }
            }
            self.order.retain(|k| runnable.binary_search(k).is_ok());
        }
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.order);
        self.sorted.sort_unstable();
        // New ones join a CPU (`place`), at its line's average CPU time minus their lag.
        let had = self.order.len();
        for &k in runnable {
            if self.sorted.binary_search(&k).is_err() {
                self.order.push(k);
            }
        }
        self.place(tasks, had);
        for i in had..self.order.len() {
            let k = self.order[i];
            if let Some((v, n)) = self.cpu_avg_n(self.cpu(k), i, tasks) {
                tasks.set_vruntime(k, v - hw.scheduler.placed_lag(tasks.lag(k), n));
            }
        }
        if self.order.len() > had {
            self.preempt_on_wake(had, tasks, hw);
        }
        // Each CPU's first in line runs; a newcomer waits behind it, ordered by CPU time had.
        let running = self.runners_first();
        if self.order.len() > had {
            self.sort_waiting(running, tasks);
        }
        let n = runnable.len();
        if n <= cores && running == n {
            // Every runnable process has a CPU of its own: the CPUs are balanced.
            self.imbalanced_ns = 0.0;
            caps.iter_mut().for_each(|c| *c = 1.0);
            return None;
        }
        let s = &hw.scheduler;
        let mut at = None;
        if !self.turn_pending {
            // A turn begins, or goes on after a tick inside it (`end_turn`).
            if self.slice_end_at <= now {
                let end = s.tick_at_or_after(now + s.slice_ns(n as f64 / hw.cores), self.tick_phase_ns);
                self.turn_len = end - now;
                self.slice_end_at = end;
            }
            at = Some(self.slice_end_at);
        }
        if self.pull_at_tick && self.idle_beside_waiting().is_some() {
            // A CPU idle beside a waiting process: the busy CPU's next tick kicks the idle
            // balancer (`end_turn`), before the turn's end if a tick comes first.
            let tick = s.tick_at_or_after(now + 1.0, self.tick_phase_ns);
            if tick < at.unwrap_or(self.event_at) {
                at = Some(tick);
            }
        }
        let turn = at.map(|t| {
            self.turn_gen += 1;
            self.event_at = t;
            (t - now).max(0.0)
        });
        self.turn_pending = true;
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.order[..running]);
        self.sorted.sort_unstable();
        for (c, k) in caps.iter_mut().zip(runnable) {
            *c = if self.sorted.binary_search(k).is_ok() { 1.0 } else { 0.0 };
        }
        turn
    }

    /// The CPU of a process in line (0 on one core).
    fn cpu(&self, k: K) -> usize {
        self.cpu_of(k).unwrap_or(0)
    }

    fn set_home(&mut self, k: K, c: usize) {
        match self.home.binary_search_by(|h| h.0.cmp(&k)) {
            Ok(i) => {
                if self.home[i].1 != c {
                    self.migrations += 1;
                }
                self.home[i].1 = c
            }
            Err(i) => self.home.insert(i, (k, c)),
        }
    }

    fn reset_seen(&mut self) {
        self.seen.iter_mut().for_each(|s| *s = false);
    }

    /// Count the processes in line homed on each CPU into `per_cpu`.
    fn count_per_cpu(&mut self) {
        self.per_cpu.iter_mut().for_each(|n| *n = 0);
        for i in 0..self.order.len() {
            if let Some(c) = self.cpu_of(self.order[i]) {
                self.per_cpu[c] += 1;
            }
        }
    }

    /// Per-CPU run queues, as Linux keeps them (simplified): a process stays on its CPU. A new
    /// process goes to an idle CPU if there is one, else (a parallel worker) to the CPU with
    /// the fewest runnable processes other than its leader's: a leader that has been running
    /// carries its full load, a just-forked worker almost none, so fork balancing leaves the
    /// leader alone. A process waiting behind another on its CPU moves to an idle one
    /// (select_idle_sibling for a woken process; newidle balancing for a CPU that goes idle),
    /// so no CPU idles while another has two runnable; with `pull_at_tick`, a woken one (a
    /// newcomer: at `had` and after in line) still does at once, but one that was waiting
    /// already when a CPU went idle moves only at the busy CPU's next tick (`end_turn`). A
    /// woken one looks for an idle CPU only while the CPUs have recently been little enough
    /// busy (`scans_for_idle`); otherwise it stays on its own, behind or before (`preempt_on_wake`)
    /// the one running there. The line
    /// is walked front first: the first process of each CPU stays, the ones behind it move.
    fn place<T: Tasks<K> + ?Sized>(&mut self, tasks: &T, had: usize) {
        let cores = self.cores;
        if cores <= 1 {
            return;
        }
        self.count_per_cpu();
        self.reset_seen();
        for i in 0..self.order.len() {
            let k = self.order[i];
            let homed = self.cpu_of(k);
            if let Some(c) = homed {
                if !self.seen[c] {
                    self.seen[c] = true;
                    continue;
                }
            }
            let idle = (0..cores).find(|&c| self.per_cpu[c] == 0);
            let target = match (idle, homed) {
                (Some(_), Some(_)) if self.pull_at_tick && i < had => continue,
                (Some(_), Some(_)) if self.pull_at_tick && i >= had && !self.scans_for_idle() => continue,
                (Some(c), _) => c,
                (None, Some(_)) => continue,
                (None, None) => {
                    let leader = tasks.leader_of(k);
                    let avoid = if leader != k { self.cpu_of(leader) } else { None };
                    let per_cpu = &self.per_cpu;
                    (0..cores).filter(|&c| Some(c) != avoid).min_by_key(|&c| per_cpu[c]).unwrap_or(0)
                }
            };
            if let Some(c) = homed {
                self.per_cpu[c] -= 1;
            } else {
                self.start_util(k, target, tasks.leader_of(k) == k);
            }
            self.per_cpu[target] += 1;
            self.seen[target] = true;
            self.set_home(k, target);
        }
    }

    /// Wake-up preemption: on each CPU that newcomers (from `had` on in line) joined, the
    /// process running there gives way when it is no longer owed CPU time. EEVDF (Linux
    /// 6.6+, kernel/sched/fair.c `check_preempt_wakeup_fair` and `pick_eevdf`) drops a running
    /// task that is not eligible (its virtual runtime past the run queue's weighted average,
    /// the newcomers counted) before its run-to-parity protection applies, and runs the
    /// eligible one due first; CFS (`check_preempt_wakeup`) preempts when the woken task is
    /// behind the running one by more than the wake-up granularity (1 ms x the CPU factor,
    /// a sixth of sched_latency). The one due first is taken as the one with the least CPU
    /// time (all slices being equal). A worker woken on its leader's CPU by the leader's
    /// SetLatch thus takes it at once while it is owed time, runs until its tuple queue is
    /// full again, and hands it back: on a 2-vCPU VM (Linux 6.18, `perf sched timehist` of a
    /// leader-bound Gather with two and three workers) the leader was preempted 190 and 490
    /// times a query, 60 us into its run, and waited 0.12-0.15 ms each time.
    fn preempt_on_wake<T: Tasks<K> + ?Sized>(&mut self, had: usize, tasks: &T, hw: &Hardware) {
        if hw.scheduler.kind == SchedulerKind::Fluid {
            return;
        }
        for c in 0..self.cores {
            if !self.order[had..].iter().any(|&k| self.cpu(k) == c) {
                continue;
            }
            let Some(r) = (0..had).find(|&i| self.cpu(self.order[i]) == c) else { continue };
            let (mut sum, mut n, mut first) = (0.0, 0usize, r);
            for i in r..self.order.len() {
                if self.cpu(self.order[i]) == c {
                    let v = tasks.vruntime(self.order[i]);
                    sum += v;
                    n += 1;
                    if v < tasks.vruntime(self.order[first]) {
                        first = i;
                    }
                }
            }
            let vr = tasks.vruntime(self.order[r]);
            let gives_way = match hw.scheduler.kind {
                SchedulerKind::Cfs => vr - tasks.vruntime(self.order[first]) > hw.scheduler.latency_ns / 6.0,
                _ => vr > sum / n as f64,
            };
            if gives_way && first != r {
                self.order.swap(r, first);
            }
        }
    }

    /// Move each CPU's first in line to the front of the line, the rest keeping their order;
    /// returns how many run.
    fn runners_first(&mut self) -> usize {
        self.buf.clear();
        self.cpus.clear();
        for i in 0..self.order.len() {
            let c = self.cpu(self.order[i]);
            self.cpus.push(c);
        }
        self.reset_seen();
        for (&k, &c) in self.order.iter().zip(&self.cpus) {
            if !self.seen[c] {
                self.seen[c] = true;
                self.buf.push(k);
            }
        }
        let running = self.buf.len();
        self.reset_seen();
        for (&k, &c) in self.order.iter().zip(&self.cpus) {
            if self.seen[c] {
                self.buf.push(k);
            }
            self.seen[c] = true;
        }
        std::mem::swap(&mut self.order, &mut self.buf);
        running
    }

    /// A turn ended at `now`: the CPUs are balanced if they have long been out of balance, the
    /// processes that ran (each CPU's first in line) go behind the others, then the line is
    /// ordered by CPU time had (the earliest virtual deadline runs next, all slices being
    /// equal). At a tick inside the turn (a CPU idle beside a waiting process) only the idle
    /// CPU takes the waiting one; the turn goes on (the next `apply` schedules its end).
    pub fn end_turn<T: Tasks<K> + ?Sized>(&mut self, now: f64, tasks: &mut T) {
        if !self.turn_pending {
            return;
        }
        self.last_valid = false;
        self.turn_pending = false;
        self.event_at = f64::INFINITY;
        self.age_util(now);
        if now + 0.5 < self.slice_end_at {
            self.count_per_cpu();
            self.pull_idle(tasks);
            return;
        }
        self.balance(tasks);
        let running = self.runners_first();
        self.order.rotate_left(running);
        self.sort_waiting(0, tasks);
    }

    /// The end of turn `gen` is delivered at `now`: ends the turn unless it is stale (a turn
    /// that ended early because every CPU went idle, as between one session's queries).
    pub fn turn_ended<T: Tasks<K> + ?Sized>(&mut self, now: f64, gen: u64, tasks: &mut T) {
        if gen == self.turn_gen {
            self.end_turn(now, tasks);
        }
    }

    /// Forget processes for good (a query that finished).
    pub fn remove(&mut self, gone: impl Fn(&K) -> bool) {
        self.last_valid = false;
        self.order.retain(|k| !gone(k));
        self.home.retain(|h| !gone(&h.0));
        self.task_util.retain(|t| !gone(&t.0));
        self.favoured.retain(|f| !gone(&f.0));
    }

    /// The average CPU time of the processes among the first `upto` in line homed on CPU `c`
    /// (EEVDF's V of that CPU's run queue); None if there are none.
    fn cpu_avg<T: Tasks<K> + ?Sized>(&self, c: usize, upto: usize, tasks: &T) -> Option<f64> {
        self.cpu_avg_n(c, upto, tasks).map(|(v, _)| v)
    }

    /// `cpu_avg`, and how many processes it averages.
    fn cpu_avg_n<T: Tasks<K> + ?Sized>(&self, c: usize, upto: usize, tasks: &T) -> Option<(f64, usize)> {
        let (mut sum, mut n) = (0.0, 0usize);
        for &k in &self.order[..upto] {
            if self.cpu(k) == c {
                sum += tasks.vruntime(k);
                n += 1;
            }
        }
        (n > 0).then(|| (sum / n as f64, n))
    }

    /// Order the waiting part of the line (after the first `from`) by CPU time had; ties
    /// keep their order.
    fn sort_waiting<T: Tasks<K> + ?Sized>(&mut self, from: usize, tasks: &T) {
        if self.order.len() > from + 1 {
            // Each one's CPU time read once (a lookup in its executor), then a stable sort.
            self.keyed.clear();
            self.keyed.extend(self.order[from..].iter().map(|&k| (tasks.vruntime(k), k)));
            self.keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (o, &(_, k)) in self.order[from..].iter_mut().zip(&self.keyed) {
                *o = k;
            }
        }
    }
}

mod balance;
#[cfg(test)]
mod tests;
mod util;
