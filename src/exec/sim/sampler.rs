//! Wait-event sampling without a stored trace, as `pg_wait_sampling` (or polling
//! `pg_stat_activity`) would sample: every `period` ns from 0, each process's state at that
//! instant. A process's state is constant between the steps that change it, so each state
//! interval the executor closes (`record_states`: `[since, now)`, the same intervals a trace
//! records) gets the sample instants inside it, counted in O(1); a fast-forward jump over `n`
//! periods of `d` ns gets the samples of the repeated intervals (the last period's, shifted by
//! `m * d` for `m = 1..=n`) counted in closed form (`floor_sum`), never materialised unless the
//! rows themselves were asked for (`run --wait-samples`).
//!
//! Memory: per process one count per state, plus the intervals of the detector's current
//! window (bounded by its window, `ffwd::K_MAX` steps back), never the whole run.

use super::result::State;
use crate::engine::Time;

/// States, indexed by `State as usize`.
pub const N_STATES: usize = State::Idle as usize + 1;

/// A sample count and the time of the first sample (`Time::MAX` when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSamples {
    pub count: u64,
    pub first: Time,
}

impl Default for StateSamples {
    fn default() -> Self {
        StateSamples { count: 0, first: Time::MAX }
    }
}

/// The wait samples of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WaitSamples {
    /// Sampling period, ns.
    pub period: Time,
    /// Per process (leader first), per state (`State as usize`).
    pub per_process: Vec<[StateSamples; N_STATES]>,
    /// Every sample `(time, process, state)` in order of time, then process, when asked for.
    pub rows: Option<Vec<(Time, u32, State)>>,
    /// More rows than the cap: rows stopped being kept (the caller widens the period).
    pub rows_overflow: bool,
    /// Most intervals held at once for fast-forward (bounded by the detector's window, not by
    /// the run's length: `tests/wait_samples.rs` checks it does not grow with rows).
    pub log_peak: usize,
}

/// The sampler a `Sim` feeds.
#[derive(Debug, Clone)]
pub(super) struct Sampler {
    out: WaitSamples,
    max_rows: usize,
    /// Closed intervals `(process, state, start, end)` a jump may repeat; `log[0]` is the
    /// `base`-th interval ever closed.
    log: Vec<(u32, State, Time, Time)>,
    base: usize,
    /// Intervals before this (absolute) index will not be repeated: they may be dropped.
    keep_from: usize,
    logging: bool,
}

impl Sampler {
    pub(super) fn new(period: Time, processes: usize, rows: bool, max_rows: usize) -> Self {
        Sampler {
            out: WaitSamples {
                period: period.max(1),
                per_process: vec![[StateSamples::default(); N_STATES]; processes],
                rows: rows.then(Vec::new),
                rows_overflow: false,
                log_peak: 0,
            },
            max_rows,
            log: vec![],
            base: 0,
            keep_from: 0,
            logging: false,
        }
    }

    /// Keep the intervals a fast-forward jump may repeat (only when fast-forward is on).
    pub(super) fn set_logging(&mut self, on: bool) {
        self.logging = on;
    }

    /// Intervals closed so far (an absolute index into the log).
    pub(super) fn mark(&self) -> usize {
        self.base + self.log.len()
    }

    /// No jump will repeat intervals closed before `mark`.
    pub(super) fn keep_from(&mut self, mark: usize) {
        self.keep_from = self.keep_from.max(mark);
    }

    /// Process `p` was in `state` over `[start, end)`.
    pub(super) fn interval(&mut self, p: usize, state: State, start: Time, end: Time) {
        if state == State::Idle || end <= start {
            return;
        }
        let per = self.out.period;
        let (k0, k1) = (ceil_div(start, per), ceil_div(end, per));
        if k1 > k0 {
            self.add(p, state, k1 - k0, k0 * per);
            if let Some(rows) = self.out.rows.as_mut() {
                for k in k0..k1 {
                    if rows.len() >= self.max_rows {
                        self.out.rows_overflow = true;
                        break;
                    }
                    rows.push((k * per, p as u32, state));
                }
            }
        }
        if self.logging {
            let drop = self.keep_from.saturating_sub(self.base).min(self.log.len());
            if self.log.len() >= 1024 && 2 * drop >= self.log.len() {
                self.log.drain(..drop);
                self.base += drop;
            }
            self.log.push((p as u32, state, start, end));
            self.out.log_peak = self.out.log_peak.max(self.log.len());
        }
    }

    fn add(&mut self, p: usize, state: State, count: u64, first: Time) {
        if let Some(s) = self.out.per_process.get_mut(p).map(|a| &mut a[state as usize]) {
            s.count += count;
            s.first = s.first.min(first);
        }
    }

    /// A fast-forward jump: the intervals `from..to` (absolute indices) happen again `n` times,
    /// shifted by `d`, `2d`, ... `n * d`.
    pub(super) fn repeat(&mut self, from: usize, to: usize, d: Time, n: u64) {
        if n == 0 || from >= to {
            return;
        }
        if from < self.base || to > self.mark() {
            debug_assert!(false, "a jump repeats intervals no longer held");
            return;
        }
        let per = self.out.period;
        // States seen before the jump keep their first sample (the repeats come later).
        let seen: Vec<[bool; N_STATES]> =
            self.out.per_process.iter().map(|a| std::array::from_fn(|s| a[s].count > 0)).collect();
        for k in from - self.base..to - self.base {
            let (p, state, start, end) = self.log[k];
            let count = shifted_samples(start, end, d, n, per);
            if count == 0 {
                continue;
            }
            let first = if seen.get(p as usize).is_some_and(|s| s[state as usize]) {
                Time::MAX
            } else {
                // The first copy with a sample: the smallest m whose running count is >= 1.
                let (mut lo, mut hi) = (1, n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if shifted_samples(start, end, d, mid, per) > 0 {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                ceil_div(start + lo * d, per) * per
            };
            self.add(p as usize, state, count, first);
        }
        if self.out.rows.is_some() {
            for m in 1..=n {
                for k in from - self.base..to - self.base {
                    let (p, state, start, end) = self.log[k];
                    let (s, e) = (start + m * d, end + m * d);
                    let rows = self.out.rows.as_mut().expect("checked");
                    for j in ceil_div(s, per)..ceil_div(e, per) {
                        if rows.len() >= self.max_rows {
                            self.out.rows_overflow = true;
                            break;
                        }
                        rows.push((j * per, p, state));
                    }
                }
            }
        }
    }

    /// The samples, rows in order of time then process.
    pub(super) fn finish(mut self) -> WaitSamples {
        if let Some(rows) = self.out.rows.as_mut() {
            rows.sort_unstable_by_key(|r| (r.0, r.1));
        }
        self.out
    }
}

fn ceil_div(x: Time, p: Time) -> Time {
    x.div_ceil(p)
}

/// Sample instants (multiples of `per`) inside `[start + m d, end + m d)`, summed over
/// `m = 1..=n`.
pub(super) fn shifted_samples(start: Time, end: Time, d: Time, n: u64, per: Time) -> u64 {
    // Instants in [x, y) = ceil(y / per) - ceil(x / per); sum_{m=1..n} ceil((x + m d) / per)
    // = sum_{i=0..n-1} floor((d i + x + d + per - 1) / per).
    let sum = |x: Time| floor_sum(n as u128, per as u128, d as u128, x as u128 + d as u128 + per as u128 - 1);
    (sum(end) - sum(start)) as u64
}

/// `sum_{i=0}^{n-1} floor((a i + b) / m)` in O(log) (the Euclid-like reduction).
pub(super) fn floor_sum(mut n: u128, mut m: u128, mut a: u128, mut b: u128) -> u128 {
    let mut ans = 0;
    if n == 0 || m == 0 {
        return 0;
    }
    loop {
        if a >= m {
            ans += n * (n - 1) / 2 * (a / m);
            a %= m;
        }
        if b >= m {
            ans += n * (b / m);
            b %= m;
        }
        let y = a * n + b;
        if y < m {
            break;
        }
        n = y / m;
        b = y % m;
        std::mem::swap(&mut m, &mut a);
    }
    ans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_sum_is_the_sum() {
        for n in 0..40u128 {
            for m in 1..13u128 {
                for a in 0..17u128 {
                    for b in [0u128, 1, 5, 12, 29] {
                        let brute: u128 = (0..n).map(|i| (a * i + b) / m).sum();
                        assert_eq!(floor_sum(n, m, a, b), brute, "n {n} m {m} a {a} b {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn shifted_samples_count_every_instant_of_every_copy() {
        for (start, end, d, n, per) in
            [(3, 9, 7, 20, 5), (0, 1, 3, 50, 10), (17, 18, 1_571_130, 300, 10_000_000), (5, 5_000, 6_000, 9, 1_000)]
        {
            let brute: u64 = (1..=n).map(|m| ceil_div(end + m * d, per) - ceil_div(start + m * d, per)).sum();
            assert_eq!(shifted_samples(start, end, d, n, per), brute);
        }
    }

    #[test]
    fn a_jump_counts_as_the_copies_would_and_finds_the_first_sample() {
        // Period 10: [3, 4) is sampled only in copies where 3 + 7m .. 4 + 7m holds a multiple.
        let mut s = Sampler::new(10, 1, true, usize::MAX);
        s.set_logging(true);
        s.interval(0, State::Cpu, 0, 3);
        let m0 = s.mark();
        s.interval(0, State::MqSend, 3, 4);
        s.interval(0, State::Cpu, 4, 7);
        s.repeat(m0, s.mark(), 7, 20);
        let out = s.finish();
        let mut want = [StateSamples::default(); N_STATES];
        for m in 0..=20u64 {
            for (st, a, b) in [(State::MqSend, 3, 4), (State::Cpu, 4, 7)] {
                for k in ceil_div(a + 7 * m, 10)..ceil_div(b + 7 * m, 10) {
                    let e = &mut want[st as usize];
                    e.count += 1;
                    e.first = e.first.min(k * 10);
                }
            }
        }
        want[State::Cpu as usize].count += 1; // t = 0 in [0, 3)
        want[State::Cpu as usize].first = 0;
        assert_eq!(out.per_process[0], want);
        assert_eq!(out.rows.as_ref().map(Vec::len), Some(want.iter().map(|w| w.count as usize).sum()));
    }
}
