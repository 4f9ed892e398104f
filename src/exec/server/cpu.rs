//! The server's CPU scheduler: one run queue for every process of every query in flight, with
//! the turns of the profile's scheduler (EEVDF / CFS, `exec/sim/sched.rs` states the rules).
//! While no more processes want a core than there are cores, every runnable process has a
//! core (fluid sharing, exact). When more do, `cores` of them run for one turn, the others wait
//! runnable in line, then the runners go to the back of the line; a process that stops
//! (blocks, sleeps, exits) leaves the line and one that becomes runnable joins at its back.
//!
//! The turns are not events: between two steps of the server the runnable set is constant, so
//! which process runs in which turn is known in closed form, and so is how much time on a core
//! a process gets in an interval and when its work is done. A step costs O(runnable) (plus the
//! length of one rotation period, runnable / gcd(runnable, cores) turns), however many turns
//! it spans: the cost stays with the queries' own steps, never with rows or simulated time.

use crate::engine::Time;

/// A process of the server: (query's issue number, process index within the query).
pub type Key = (u64, u32);

/// The run queue and the turn clock.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// Runnable processes; the first `cores` are on the cores during the current turn.
    order: Vec<Key>,
    cores: usize,
    /// When the current turn ends (None: no more runnable processes than cores).
    turn_end: Option<Time>,
    /// Length of every later turn, ns (at least 1).
    turn_ns: Time,
    /// Scratch: the line sorted, for membership tests.
    sorted: Vec<Key>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Line {
    pub fn new(cores: usize) -> Line {
        Line { cores: cores.max(1), turn_ns: 1, ..Line::default() }
    }

    /// Are processes taking turns (more runnable than cores)?
    pub fn turning(&self) -> bool {
        self.turn_end.is_some()
    }

    /// The runnable set is now `keys` (sorted ascending): those gone leave the line, new ones
    /// join at its back in key order. `turn_ns` is the length of a turn with this many
    /// runnable. Writes each key's place in line into `pos` (aligned with `keys`).
    pub fn update(&mut self, keys: &[Key], now: Time, turn_ns: Time, pos: &mut Vec<usize>) {
        self.order.retain(|k| keys.binary_search(k).is_ok());
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.order);
        self.sorted.sort_unstable();
        for k in keys {
            if self.sorted.binary_search(k).is_err() {
                self.order.push(*k);
            }
        }
        self.turn_ns = turn_ns.max(1);
        if self.order.len() <= self.cores {
            self.turn_end = None;
        } else if self.turn_end.is_none() {
            self.turn_end = Some(now.saturating_add(self.turn_ns));
        }
        pos.clear();
        pos.resize(keys.len(), 0);
        for (i, k) in self.order.iter().enumerate() {
            if let Ok(j) = keys.binary_search(k) {
                pos[j] = i;
            }
        }
    }

    /// Does the process at place `pos` run during turn `j` after the current one?
    fn runs(&self, pos: usize, j: u64) -> bool {
        let n = self.order.len() as u64;
        let c = self.cores as u64;
        (pos as u64 + n - (j % n) * c % n) % n < c
    }

    /// Turns in one rotation period and how many of them a process runs.
    fn period(&self) -> (u64, u64) {
        let n = self.order.len() as u64;
        let c = self.cores as u64;
        let g = gcd(n, c).max(1);
        (n / g, c / g)
    }

    /// Time the process at place `pos` spends on a core between `now` and `t`, ns.
    pub fn on_core(&self, pos: usize, now: Time, t: Time) -> f64 {
        let Some(te) = self.turn_end else {
            return t.saturating_sub(now) as f64;
        };
        let l = self.turn_ns;
        let mut on = 0u64;
        if pos < self.cores {
            on += t.min(te).saturating_sub(now);
        }
        if t <= te {
            return on as f64;
        }
        let span = t - te;
        let (full, part) = (span / l, span % l);
        let (p, k) = self.period();
        on = on.saturating_add((full / p).saturating_mul(k).saturating_mul(l));
        for j in 1..=(full % p) {
            if self.runs(pos, j) {
                on += l;
            }
        }
        if part > 0 && self.runs(pos, full % p + 1) {
            on += part;
        }
        on as f64
    }

    /// When the process at place `pos`, from `now`, has had `need` ns on a core.
    pub fn finish(&self, pos: usize, now: Time, need: f64) -> Time {
        let ns = |x: f64| x.max(0.0).ceil().min(1e18) as Time;
        let Some(te) = self.turn_end else {
            return now.saturating_add(ns(need));
        };
        let mut need = need.max(0.0);
        if pos < self.cores {
            let cur = te.saturating_sub(now) as f64;
            if need <= cur {
                return now.saturating_add(ns(need));
            }
            need -= cur;
        }
        let l = self.turn_ns;
        let (p, k) = self.period();
        let per = (k * l) as f64;
        let q = ((need / per).ceil() - 1.0).clamp(0.0, 1e15) as u64;
        need -= q as f64 * per;
        let base = te.saturating_add(q.saturating_mul(p).saturating_mul(l));
        for j in 1..=p {
            if self.runs(pos, j) {
                if need <= l as f64 {
                    return base.saturating_add((j - 1) * l).saturating_add(ns(need));
                }
                need -= l as f64;
            }
        }
        base.saturating_add(p * l)
    }

    /// Move the turn clock from `now` to `t`: each turn that ended sends its runners to the
    /// back of the line.
    pub fn advance(&mut self, t: Time) {
        let Some(te) = self.turn_end else { return };
        if t < te {
            return;
        }
        let l = self.turn_ns;
        let ended = 1 + (t - te) / l;
        let n = self.order.len() as u64;
        let shift = ((ended % n) * self.cores as u64 % n) as usize;
        self.order.rotate_left(shift);
        self.turn_end = Some(te.saturating_add(ended.saturating_mul(l)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cores: usize, n: u64, turn: Time) -> (Line, Vec<Key>, Vec<usize>) {
        let keys: Vec<Key> = (0..n).map(|i| (i, 0)).collect();
        let mut l = Line::new(cores);
        let mut pos = vec![];
        l.update(&keys, 0, turn, &mut pos);
        (l, keys, pos)
    }

    #[test]
    fn no_more_runnable_than_cores_is_fluid() {
        let (l, _, pos) = line(2, 2, 4_000_000);
        assert!(!l.turning());
        assert_eq!(l.on_core(pos[1], 100, 1_000_100), 1e6);
        assert_eq!(l.finish(pos[1], 100, 2.5), 103);
    }

    #[test]
    fn over_a_rotation_each_process_gets_its_share_in_whole_turns() {
        // 5 runnable on 2 cores, 4 ms turns: a rotation is 5 turns, each process runs 2.
        let (l, _, pos) = line(2, 5, 4);
        for &p in &pos {
            assert_eq!(l.on_core(p, 0, 20), 8.0, "place {p}");
        }
        // The first two run now, the third waits a turn.
        assert_eq!(l.on_core(pos[0], 0, 4), 4.0);
        assert_eq!(l.on_core(pos[2], 0, 4), 0.0);
        assert_eq!(l.on_core(pos[2], 0, 8), 4.0);
    }

    #[test]
    fn finish_is_the_first_instant_with_enough_time_on_a_core() {
        for (cores, n) in [(1, 3), (2, 3), (2, 5), (4, 6), (3, 9)] {
            let (mut l, keys, mut pos) = line(cores, n, 7);
            let mut p2 = vec![];
            // Start mid-turn, after a few rotations.
            l.advance(23);
            l.update(&keys, 23, 7, &mut p2);
            pos.clone_from(&p2);
            for &p in &pos {
                for need in [0.5, 3.0, 7.0, 11.0, 40.0, 123.4] {
                    let f = l.finish(p, 23, need);
                    assert!(l.on_core(p, 23, f) >= need - 1e-9, "cores {cores} n {n} place {p} need {need}");
                    assert!(l.on_core(p, 23, f - 1) < need, "cores {cores} n {n} place {p} need {need}");
                }
            }
        }
    }

    #[test]
    fn turns_rotate_the_line_and_newcomers_join_at_the_back() {
        let (mut l, mut keys, mut pos) = line(1, 3, 10);
        l.advance(10);
        // After one turn the second process is at the front.
        l.update(&keys, 10, 10, &mut pos);
        assert_eq!(pos, vec![2, 0, 1]);
        keys.push((9, 0));
        l.update(&keys, 10, 10, &mut pos);
        assert_eq!(pos[3], 3);
        // Down to one runnable: no more turns.
        l.update(&keys[..1], 12, 10, &mut pos);
        assert!(!l.turning());
    }
}
