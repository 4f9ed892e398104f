//! Each process's recent CPU utilization, as Linux's PELT keeps it, and what it decides: whether
//! a woken process looks for an idle CPU (`RunQueue::scans_for_idle`).

use super::RunQueue;

impl<K: Copy + Ord> RunQueue<K> {
    /// Bring each process's utilization up to `now`: PELT's geometric average of the time
    /// it ran, 32 ms half-life (kernel/sched/pelt.c), the line unchanged since `util_at`
    /// (each CPU's first in line ran; the others waited or had blocked).
    pub(super) fn age_util(&mut self, now: f64) {
        let dt = now - self.util_at;
        if dt <= 0.0 {
            return;
        }
        self.util_at = now;
        let keep = (-dt * std::f64::consts::LN_2 / 32e6).exp();
        // Each CPU's first in line ran: one walk of the line, then one of the processes beside
        // their homes (both sorted by key), with no search per process.
        self.runner_of.clear();
        self.runner_of.resize(self.cores, None);
        for i in 0..self.order.len() {
            let k = self.order[i];
            let c = self.cpu(k);
            if self.runner_of[c].is_none() {
                self.runner_of[c] = Some(k);
            }
        }
        let (home, runner_of) = (&self.home, &self.runner_of);
        let mut h = 0;
        for (k, u) in self.task_util.iter_mut() {
            while h < home.len() && home[h].0 < *k {
                h += 1;
            }
            let ran = h < home.len() && home[h].0 == *k && runner_of[home[h].1] == Some(*k);
            let ran = if ran { 1.0 } else { 0.0 };
            *u = ran + (*u - ran) * keep;
        }
    }

    /// The CPUs' recent utilization (0-1): the processes' utilizations over `cores`.
    pub fn util(&self) -> f64 {
        (self.task_util.iter().map(|t| t.1).sum::<f64>() / self.cores as f64).min(1.0)
    }

    /// The utilization of the processes homed on CPU `c` (0-1).
    pub(super) fn cpu_util(&self, c: usize) -> f64 {
        let on_c = |t: &&(K, f64)| self.cpu_of(t.0) == Some(c);
        self.task_util.iter().filter(on_c).map(|t| t.1).sum::<f64>().min(1.0)
    }

    /// A process placed for the first time on CPU `c` starts with a utilization of its own:
    /// a leader, a backend that was there before, the one it brings (`leaders_arrive_busy`);
    /// a parallel worker, just forked, half of its CPU's spare capacity, at most the CPU's
    /// own (PELT, kernel/sched/fair.c `post_init_entity_util_avg`): on an idle CPU half a
    /// CPU's worth at once, not a ramp from nothing.
    pub(super) fn start_util(&mut self, k: K, c: usize, leader: bool) {
        let u = if leader {
            self.leader_util
        } else {
            let on_c = self.cpu_util(c);
            let spare = (1.0 - on_c) / 2.0;
            if on_c > 0.0 {
                spare.min(on_c)
            } else {
                spare
            }
        };
        if let Err(i) = self.task_util.binary_search_by(|t| t.0.cmp(&k)) {
            self.task_util.insert(i, (k, u));
        }
    }

    /// Does a woken process whose CPU is busy look for an idle one? Linux (SIS_UTIL,
    /// kernel/sched/fair.c `update_idle_cpu_scan`, `select_idle_cpu`) scans
    /// `cores x (1 - (util / 0.85)^2)` CPUs of the last-level cache, rounded down: none once
    /// the cache's CPUs are more than 85% / sqrt(2) = 60% busy on two CPUs. It then stays on
    /// its CPU (the one it last ran on; its waker's when that is the same) and waits or
    /// preempts there (`preempt_on_wake`) while the other CPU may idle.
    pub fn scans_for_idle(&self) -> bool {
        let x = self.util() / 0.85;
        (self.cores as f64 * (1.0 - x * x)).floor() >= 1.0
    }
}
