//! The periodic load balancer: an imbalance of two or more runnable processes between CPUs
//! corrected after a while, an imbalance of one rotated over time, and an idle CPU taking a
//! waiting process at the busy CPU's tick.

use super::{balance_after_ns, RunQueue, Tasks};

impl<K: Copy + Ord> RunQueue<K> {
    /// Periodic load balancing: once the CPUs have been out of balance (one with two or more
    /// runnable processes more than another) for `balance_after_ns` of turns, processes move,
    /// the last in line of the busiest CPU to the least busy, until no CPU has two more than
    /// another. A transient imbalance (a worker blocked on its queue for part of a turn) is
    /// left alone, as the balancer's interval leaves it.
    ///
    /// An imbalance of one (three processes on two CPUs: one alone, two sharing) is evened
    /// out over time rather than at once: Linux's balancer will not move a whole task's load
    /// to correct half of one at its first attempts (`detach_tasks`: the load it may move is
    /// halved at each failed balance), so after `rotate_after_ns` of turns one waiting process
    /// of the busier CPU moves to the other, and the one left alone changes. Over a second
    /// each of three processes on two CPUs has about two thirds of a core; over 100 ms one of
    /// them has had a whole one.
    pub(super) fn balance<T: Tasks<K> + ?Sized>(&mut self, tasks: &mut T) {
        if self.cores <= 1 {
            return;
        }
        self.count_per_cpu();
        self.pull_idle(tasks);
        let Some((from, to)) = self.imbalance() else {
            self.imbalanced_ns = 0.0;
            self.rotate(tasks);
            return;
        };
        self.uneven_ns = 0.0;
        self.imbalanced_ns += self.turn_len;
        if self.imbalanced_ns < balance_after_ns(self.cores) {
            return;
        }
        self.imbalanced_ns = 0.0;
        let mut pair = Some((from, to));
        while let Some((from, to)) = pair {
            if !self.move_last(from, to, tasks) {
                break;
            }
            pair = self.imbalance();
        }
    }

    /// The busy CPU's tick: an idle CPU takes the last waiting process of the busiest (with
    /// the pull at once, `place` has left no CPU idle beside a waiting process). `per_cpu`
    /// counted.
    pub(super) fn pull_idle<T: Tasks<K> + ?Sized>(&mut self, tasks: &mut T) {
        while let Some((from, to)) = self.idle_beside_waiting() {
            if !self.move_last(from, to, tasks) {
                break;
            }
        }
    }

    /// An imbalance of one that has lasted `rotate_after_ns` of turns: a process of the busier
    /// CPU moves to the other (see `balance`), the one of them that last had the less busy
    /// CPU, so that the others now have it: over time each process has its turn there. (Linux
    /// moves whichever waits when the balance runs; its slices and balance ticks do not keep
    /// step, so over time that is everyone in turn too. A model that moved the one waiting at
    /// a fixed turn parity would keep one process crowded for good.)
    pub(super) fn rotate<T: Tasks<K> + ?Sized>(&mut self, tasks: &mut T) {
        let Some((from, to)) = self.spread() else { return };
        let n = &self.per_cpu;
        if n[from] < 2 || n[from] != n[to] + 1 {
            self.uneven_ns = 0.0;
            return;
        }
        self.uneven_ns += self.turn_len;
        if self.uneven_ns < self.rotate_after_ns {
            return;
        }
        self.uneven_ns = 0.0;
        // Those on the less busy CPU had it this period.
        for i in 0..self.order.len() {
            let k = self.order[i];
            if self.cpu(k) == to {
                self.stamp(k, self.rotations + 1);
            }
        }
        self.rotations += 1;
        // The last in line among those of the busier CPU that had it most recently.
        let mut pick: Option<(usize, u64)> = None;
        for i in 0..self.order.len() {
            let k = self.order[i];
            if self.cpu(k) != from {
                continue;
            }
            let had = self.favoured.binary_search_by(|f| f.0.cmp(&k)).map_or(0, |j| self.favoured[j].1);
            if pick.is_none_or(|(_, h)| had >= h) {
                pick = Some((i, had));
            }
        }
        if let Some((i, _)) = pick {
            self.move_at(i, from, to, tasks);
        }
    }

    pub(super) fn stamp(&mut self, k: K, r: u64) {
        match self.favoured.binary_search_by(|f| f.0.cmp(&k)) {
            Ok(i) => self.favoured[i].1 = r,
            Err(i) => self.favoured.insert(i, (k, r)),
        }
    }

    /// Move the last in line homed on CPU `from` to CPU `to`; false if there is none.
    pub(super) fn move_last<T: Tasks<K> + ?Sized>(&mut self, from: usize, to: usize, tasks: &mut T) -> bool {
        let Some(i) = (0..self.order.len()).rev().find(|&i| self.cpu(self.order[i]) == from) else {
            return false;
        };
        self.move_at(i, from, to, tasks);
        true
    }

    /// Move the process at `i` in line from CPU `from` to CPU `to`.
    pub(super) fn move_at<T: Tasks<K> + ?Sized>(&mut self, i: usize, from: usize, to: usize, tasks: &mut T) {
        // It keeps its place relative to its CPU's average (Linux keeps its lag).
        let k = self.order[i];
        let n = self.order.len();
        if let (Some(a), Some(b)) = (self.cpu_avg(from, n, tasks), self.cpu_avg(to, n, tasks)) {
            tasks.set_vruntime(k, tasks.vruntime(k) - a + b);
        }
        self.set_home(k, to);
        self.per_cpu[from] -= 1;
        self.per_cpu[to] += 1;
    }

    /// The busiest and the least busy CPU (by `per_cpu`) if they differ by two or more.
    pub(super) fn imbalance(&self) -> Option<(usize, usize)> {
        let (from, to) = self.spread()?;
        (self.per_cpu[from] >= self.per_cpu[to] + 2).then_some((from, to))
    }

    /// The busiest and the least busy CPU (by `per_cpu`) if the least busy is idle while the
    /// busiest has a process waiting.
    pub(super) fn idle_beside_waiting(&self) -> Option<(usize, usize)> {
        let (from, to) = self.spread()?;
        (self.per_cpu[to] == 0 && self.per_cpu[from] >= 2).then_some((from, to))
    }

    /// The busiest CPU (the first of equals) and the least busy, by `per_cpu`.
    pub(super) fn spread(&self) -> Option<(usize, usize)> {
        let n = &self.per_cpu;
        let from = (0..self.cores).max_by_key(|&c| (n[c], std::cmp::Reverse(c)))?;
        let to = (0..self.cores).min_by_key(|&c| n[c])?;
        Some((from, to))
    }
}
