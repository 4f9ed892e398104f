//! The candidate walk's quick rejection: most candidate periods fail the repeat test at the
//! entry that failed last, and go no further. `Quick` holds what that test reads of the record
//! now (the entry, its value, whether a drifting period may be tried there), so the walk
//! rejects such candidates in a few instructions each, with the same answer and the same (no)
//! side effects as the full path (`ff_repeats_once`, then the drifting branch's cheap tests).

use super::*;

/// The loop invariants of a quick rejection at record `s` (index `i` in the history). Valid
/// until the full path runs (it may move the hints or `drift_quiet`): read again after it.
pub(super) struct Quick {
    /// The entry that failed last (`r_hints[0]`), if it is one of the repeating vector's.
    h: Option<usize>,
    /// Its value at `s`.
    v: f64,
    /// A candidate failing there may be a drifting period (the walk's drifting branch):
    /// `drift_quiet` is 0 and the entry may drift.
    drifts: bool,
    i: usize,
    s: usize,
    nr: usize,
}

impl Quick {
    pub(super) fn new(ff: &Detector, s: usize, nr: usize, i: usize) -> Quick {
        let h = ff.r_hints[0];
        let (h, v) = if h < nr { (Some(h), ff.r[s * nr + h]) } else { (None, 0.0) };
        let drifts = h.is_some_and(|h| ff.drift_quiet == 0 && ff.drift_kind[h].drifts());
        Quick { h, v, drifts, i, s, nr }
    }

    /// The full path would reject the candidate `k` records back (at ring slot `a`, its mark
    /// `ma`; `now`: the hash, time and events delivered of the record at `s`) with no side
    /// effect: it fails at the entry that failed last, and is no drifting period worth
    /// testing (the walk's cheap tests: the same hash two periods back, periods as long to
    /// the nanosecond, as many events delivered).
    #[inline(always)]
    pub(super) fn rejects(&self, ff: &Detector, a: usize, k: usize, now: (u64, Time, u64, Mark)) -> bool {
        let Some(h) = self.h else { return false };
        if close(self.v, ff.r[a * self.nr + h], R_TOL) {
            return false;
        }
        if !self.drifts || 2 * k > self.i {
            return true;
        }
        let (hash, t, dv, ma) = now;
        let mb = ff.marks[self.s + RING - 2 * k];
        let (d1, d2) = (t - ma.time, ma.time - mb.time);
        mb.hash != hash || d1.abs_diff(d2) > 1 || dv - ma.delivered != ma.delivered - mb.delivered
    }
}
