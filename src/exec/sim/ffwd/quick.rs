//! The candidate walk's quick rejection: most candidate periods fail the repeat test at the
//! entry that failed last, and go no further. `Quick` holds what that test reads of the record
//! now (the entry, its value, whether a drifting period may be tried there), so the walk
//! rejects such candidates in a few instructions each, with the same answer and the same (no)
//! side effects as the full path (`ff_repeats_once`, then the drifting branch's cheap tests).

use super::*;

/// `|a - b| <= tol max(|a|, |b|) + 1e-12`. The larger magnitude by a plain comparison, not
/// `f64::max` (whose care for NaN costs a few instructions at every candidate the walk tests):
/// the same answer, since with a NaN on either side `|a - b|` is NaN and the test fails anyway.
#[inline(always)]
pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    let (x, y) = (a.abs(), b.abs());
    (a - b).abs() <= tol * if x > y { x } else { y } + 1e-12
}

/// `v as f64` by the signed conversion (one instruction on x86-64; the unsigned one takes
/// several): the same value below 2^63, where both round the same integer.
#[inline(always)]
pub(super) fn u64_f64(v: u64) -> f64 {
    if v < 1 << 63 {
        v as i64 as f64
    } else {
        v as f64
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// `close` and `u64_f64` give what `f64::max` and `as f64` give, on special values
    /// (zeros, NaN, infinities, the neighbours of 2^53 and 2^63) and random ones.
    #[test]
    fn close_and_u64_f64_give_the_plain_answers() {
        let reference = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * a.abs().max(b.abs()) + 1e-12;
        let mut vs = vec![0.0, -0.0, 1.0, -1.0, 1e-12, 2e-12, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300];
        let mut z = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let base = (z >> 11) as f64 / (1u64 << 53) as f64 * 1e6 - 5e5;
            // Pairs within and just outside a tolerance of each other.
            vs.extend([base, base * (1.0 + 0.99e-4), base * (1.0 + 1.01e-4), base * (1.0 - 1e-4)]);
        }
        for &a in &vs {
            for &b in vs.iter().step_by(7) {
                for tol in [1e-4, 1e-9] {
                    assert_eq!(close(a, b, tol), reference(a, b, tol), "{a:e} {b:e} {tol:e}");
                }
            }
        }
        let mut us = vec![0, 1, (1 << 53) - 1, 1 << 53, (1 << 53) + 1, (1 << 63) - 1, 1 << 63, u64::MAX];
        for _ in 0..100_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            us.extend([z, z >> (z % 64)]);
        }
        for &u in &us {
            assert_eq!(u64_f64(u).to_bits(), (u as f64).to_bits(), "{u}");
        }
    }
}
