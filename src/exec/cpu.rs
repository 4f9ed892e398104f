//! Cores as Linux shares them between PostgreSQL processes: one run queue model used both by a
//! query alone (`exec::sim`, `pqsim run`) and by every process of every query on a server
//! (`exec::server`, `pqsim workload`), so that a query runs the same whichever of them drives it.
//!
//! While no more processes want a core than there are cores, sharing is exact (fluid: every
//! runnable process has a core). When more do, and the profile's scheduler is EEVDF or CFS,
//! they take turns: `cores` of them run at full speed for one turn (the slice, seen at the
//! next tick: `Scheduler::turn_ns`), the others wait runnable, then the runners go behind the
//! others. The line is fair in CPU time, as EEVDF and CFS are: every process has a virtual
//! runtime (the CPU time it has had, nice 0 for every PostgreSQL process: each backend and each
//! parallel worker is its own autogroup), the waiting part of the line is ordered by it, and a
//! process that leaves the line (blocks on a latch, sleeps on I/O) keeps what it was owed, its
//! lag, clamped to `Scheduler::max_lag_ns`; it rejoins at the line's average virtual runtime
//! minus that lag (EEVDF's PLACE_LAG; CFS's sleeper credit). A worker whose tuple queue fills
//! early in its turn is thus not sent to the back of the line each time it wakes.
//!
//! Cost: the owner schedules one event per turn (`apply` says when); membership and order
//! updates are O(runnable log runnable) per step, never per tuple.

use crate::engine::fluid::Demand;
use crate::model::{Hardware, SchedulerKind};

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

/// Are turns and wake-up latencies modelled (rather than ideal sharing)?
pub fn scheduled(hw: &Hardware) -> bool {
    hw.scheduler.kind != SchedulerKind::Fluid && hw.cores.fract() == 0.0 && hw.cores >= 1.0
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

/// The run queue: runnable processes in line, the first `cores` on a core this turn.
#[derive(Debug, Clone)]
pub struct RunQueue<K> {
    cores: usize,
    order: Vec<K>,
    /// A turn end is scheduled by the owner and not yet delivered (`end_turn`).
    turn_pending: bool,
    /// Scratch: the line sorted by key, for membership tests. Allocates nothing once warm.
    sorted: Vec<K>,
    /// Each process's CPU (Linux keeps one run queue per CPU), sorted by key.
    home: Vec<(K, usize)>,
    /// Scratch: per CPU, the runnable processes homed there.
    per_cpu: Vec<usize>,
}

impl<K: Copy + Ord> RunQueue<K> {
    pub fn new(cores: usize) -> RunQueue<K> {
        RunQueue {
            cores: cores.max(1),
            order: vec![],
            turn_pending: false,
            sorted: vec![],
            home: vec![],
            per_cpu: vec![],
        }
    }

    pub fn turn_pending(&self) -> bool {
        self.turn_pending
    }

    /// The line, front first (the first `cores` run this turn).
    pub fn order(&self) -> &[K] {
        &self.order
    }

    /// The runnable set is now `runnable` (sorted ascending). Those gone leave the line
    /// keeping their lag; new ones join at the line's average virtual runtime minus their
    /// lag. Writes each process's CPU cap into `caps` (aligned with `runnable`: 1 = on a core,
    /// 0 = waiting for its turn). Returns the length of a turn to schedule (the owner delivers
    /// it to `end_turn`) when turns begin and none is pending.
    pub fn apply<T: Tasks<K> + ?Sized>(
        &mut self,
        runnable: &[K],
        tasks: &mut T,
        hw: &Hardware,
        caps: &mut [f64],
    ) -> Option<f64> {
        let cores = self.cores;
        // Processes that stopped running leave the line, keeping their lag.
        if self.order.iter().any(|k| runnable.binary_search(k).is_err()) {
            let v = self.avg_vruntime(tasks);
            let max_lag = hw.scheduler.max_lag_ns();
            for &k in &self.order {
                if runnable.binary_search(&k).is_err() {
                    tasks.set_lag(k, (v - tasks.vruntime(k)).clamp(0.0, max_lag));
                }
            }
            self.order.retain(|k| runnable.binary_search(k).is_ok());
        }
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.order);
        self.sorted.sort_unstable();
        // New ones join, placed at the line's average CPU time minus their lag.
        for &k in runnable {
            if self.sorted.binary_search(&k).is_err() {
                if !self.order.is_empty() {
                    let v = self.avg_vruntime(tasks);
                    tasks.set_vruntime(k, v - tasks.lag(k));
                }
                self.order.push(k);
                self.sort_waiting(cores, tasks);
            }
        }
        self.place(runnable, tasks);
        let n = runnable.len();
        if n <= cores {
            // Every runnable process has a CPU of its own (an idle CPU pulls a waiting one).
            caps.iter_mut().for_each(|c| *c = 1.0);
            return None;
        }
        let turn = (!self.turn_pending).then(|| hw.scheduler.turn_ns(n as f64 / hw.cores));
        self.turn_pending = true;
        // Each CPU runs the first process of the line that lives on it.
        self.sorted.clear();
        self.per_cpu.clear();
        self.per_cpu.resize(cores, 0);
        for &k in &self.order {
            let c = self.home_of(k).unwrap_or(0);
            if self.per_cpu[c] == 0 {
                self.sorted.push(k);
            }
            self.per_cpu[c] += 1;
        }
        self.sorted.sort_unstable();
        for (c, k) in caps.iter_mut().zip(runnable) {
            *c = if self.sorted.binary_search(k).is_ok() { 1.0 } else { 0.0 };
        }
        turn
    }

    fn home_of(&self, k: K) -> Option<usize> {
        self.home.binary_search_by(|h| h.0.cmp(&k)).ok().map(|i| self.home[i].1)
    }

    fn set_home(&mut self, k: K, c: usize) {
        match self.home.binary_search_by(|h| h.0.cmp(&k)) {
            Ok(i) => self.home[i].1 = c,
            Err(i) => self.home.insert(i, (k, c)),
        }
    }

    /// Per-CPU run queues, as Linux keeps them (simplified): a process stays on its CPU. A new
    /// process goes to an idle CPU if there is one, else (a parallel worker) to the CPU with
    /// the fewest runnable processes other than its leader's: a leader that has been running
    /// carries its full load, a just-forked worker almost none, so fork balancing leaves the
    /// leader alone. A woken process whose CPU is busy moves to an idle one
    /// (select_idle_sibling), and a CPU that goes idle pulls a waiting process from a busy one
    /// (newidle balancing), so no CPU idles while another has two runnable. Periodic load
    /// balancing (which would, after tens of milliseconds, move a worker onto the leader's
    /// CPU) is not modelled.
    fn place<T: Tasks<K> + ?Sized>(&mut self, runnable: &[K], tasks: &T) {
        let cores = self.cores;
        if cores <= 1 {
            return;
        }
        self.per_cpu.clear();
        self.per_cpu.resize(cores, 0);
        for &k in runnable {
            if let Some(c) = self.home_of(k) {
                self.per_cpu[c] += 1;
            }
        }
        for &k in runnable {
            let homed = self.home_of(k);
            let crowded = homed.is_some_and(|c| self.per_cpu[c] > 1);
            if homed.is_some() && !crowded {
                continue;
            }
            let idle = (0..cores).find(|&c| self.per_cpu[c] == 0);
            let target = match (idle, homed) {
                (Some(c), _) => c,
                (None, Some(_)) => continue,
                (None, None) => {
                    let avoid = (tasks.leader_of(k) != k).then(|| self.home_of(tasks.leader_of(k))).flatten();
                    (0..cores).filter(|&c| Some(c) != avoid).min_by_key(|&c| self.per_cpu[c]).unwrap_or(0)
                }
            };
            if let Some(c) = homed {
                self.per_cpu[c] -= 1;
            }
            self.per_cpu[target] += 1;
            self.set_home(k, target);
        }
    }

    /// A turn ended: the processes that ran go behind the others, then the line is ordered
    /// by CPU time had (the earliest virtual deadline runs next, all slices being equal).
    pub fn end_turn<T: Tasks<K> + ?Sized>(&mut self, tasks: &T) {
        self.turn_pending = false;
        // The runners (each CPU's first in line) go behind the others, in order.
        self.per_cpu.clear();
        self.per_cpu.resize(self.cores, 0);
        let mut ran = Vec::with_capacity(self.cores);
        let mut rest = Vec::with_capacity(self.order.len());
        for &k in &self.order {
            let c = self.home_of(k).unwrap_or(0);
            if self.per_cpu[c] == 0 {
                ran.push(k);
            } else {
                rest.push(k);
            }
            self.per_cpu[c] += 1;
        }
        rest.extend(ran);
        self.order = rest;
        self.sort_waiting(0, tasks);
    }

    /// Forget processes for good (a query that finished).
    pub fn remove(&mut self, gone: impl Fn(&K) -> bool) {
        self.order.retain(|k| !gone(k));
        self.home.retain(|h| !gone(&h.0));
    }

    /// The average CPU time of the processes in line (EEVDF's V).
    fn avg_vruntime<T: Tasks<K> + ?Sized>(&self, tasks: &T) -> f64 {
        let n = self.order.len().max(1) as f64;
        self.order.iter().map(|&k| tasks.vruntime(k)).sum::<f64>() / n
    }

    /// Order the waiting part of the line (after the first `from`) by CPU time had; ties
    /// keep their order.
    fn sort_waiting<T: Tasks<K> + ?Sized>(&mut self, from: usize, tasks: &T) {
        if self.order.len() > from + 1 {
            self.order[from..].sort_by(|a, b| tasks.vruntime(*a).total_cmp(&tasks.vruntime(*b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Plain(Vec<(f64, f64)>);

    impl Tasks<usize> for Plain {
        fn vruntime(&self, k: usize) -> f64 {
            self.0[k].0
        }
        fn set_vruntime(&mut self, k: usize, v: f64) {
            self.0[k].0 = v
        }
        fn lag(&self, k: usize) -> f64 {
            self.0[k].1
        }
        fn set_lag(&mut self, k: usize, lag: f64) {
            self.0[k].1 = lag
        }
    }

    fn hw(cores: &str) -> Hardware {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hardware/reference-2vcpu.toml");
        crate::config::load_hardware(&path, &[("cores".into(), cores.into())]).expect("profile")
    }

    #[test]
    fn turns_rotate_through_the_line_and_are_fair_over_a_rotation() {
        let hw = hw("2");
        let mut rq = RunQueue::new(2);
        let mut t = Plain(vec![(0.0, 0.0); 5]);
        let all = [0, 1, 2, 3, 4];
        let mut caps = [0.0; 5];
        let turn = rq.apply(&all, &mut t, &hw, &mut caps).expect("a turn to schedule");
        assert_eq!(turn, hw.scheduler.turn_ns(2.5));
        assert_eq!(caps, [1.0, 1.0, 0.0, 0.0, 0.0]);
        let mut had = [0.0; 5];
        for _ in 0..5 {
            for (k, c) in caps.iter().enumerate() {
                t.0[k].0 += c * turn;
                had[k] += c * turn;
            }
            rq.end_turn(&t);
            assert_eq!(rq.apply(&all, &mut t, &hw, &mut caps).is_some(), true);
            assert_eq!(caps.iter().sum::<f64>(), 2.0, "two cores busy every turn");
        }
        // Five turns of two cores: each of the five had two turns.
        assert!(had.iter().all(|&h| h == 2.0 * turn), "{had:?}");
    }

    #[test]
    fn a_sleeper_rejoins_ahead_of_those_that_had_more_cpu() {
        let hw = hw("1");
        let mut rq = RunQueue::new(1);
        let mut t = Plain(vec![(0.0, 0.0); 3]);
        let mut caps = [0.0; 3];
        rq.apply(&[0, 1, 2], &mut t, &hw, &mut caps);
        // Then 0 ran 5 ms, 1 only 0.2 ms before it blocked, 2 ran 2 ms.
        t.0 = vec![(5e6, 0.0), (0.2e6, 0.0), (2e6, 0.0)];
        // 1 blocks: it leaves owed what it had less than the average, clamped.
        let mut caps2 = [0.0; 2];
        rq.apply(&[0, 2], &mut t, &hw, &mut caps2);
        let lag = t.lag(1);
        assert!(lag > 0.0 && lag <= hw.scheduler.max_lag_ns(), "lag {lag}");
        // It wakes: placed at the average minus its lag, ahead of 0 and 2 when the turn ends
        // (a first-come line would run 2, then 0, then 1).
        rq.apply(&[0, 1, 2], &mut t, &hw, &mut caps);
        rq.end_turn(&t);
        rq.apply(&[0, 1, 2], &mut t, &hw, &mut caps);
        assert_eq!(caps, [0.0, 1.0, 0.0], "line {:?}", rq.order());
    }

    #[test]
    fn no_more_runnable_than_cores_is_exact_sharing() {
        let hw = hw("4");
        let mut rq = RunQueue::new(4);
        let mut t = Plain(vec![(0.0, 0.0); 4]);
        let mut caps = [0.0; 4];
        assert_eq!(rq.apply(&[0, 1, 2, 3], &mut t, &hw, &mut caps), None);
        assert_eq!(caps, [1.0; 4]);
        assert!(!rq.turn_pending());
    }
}
