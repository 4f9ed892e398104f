//! `ceil` and `round` of a non-negative number without a call into libm: on the baseline
//! x86-64 target (no SSE4.1 `roundsd`) `f64::ceil` and `f64::round` are library calls of a few
//! dozen instructions, made several times a step (each flow's next stop point, each delay's
//! end), and a conversion to an integer and back is not much cheaper (`u64` conversions take
//! several instructions each way without AVX-512). Both are exact operations, so these give
//! the same bits: below 2^52 the nearest integer is found by the addition of 2^52 (`nearest`),
//! and `x - r` is exact (at most a half, a multiple of the spacing at `x`); from 2^52 on every
//! `f64` is an integer already.

/// 2^52: from here on every `f64` is an integer.
const INTEGRAL: f64 = 4_503_599_627_370_496.0;

/// The integer nearest `x` (ties to even), for `0 <= x < 2^52`: `x + 2^52` lies where the
/// spacing of `f64`s is 1, so the addition rounds `x` to an integer, and the subtraction is exact.
#[inline(always)]
fn nearest(x: f64) -> f64 {
    (x + INTEGRAL) - INTEGRAL
}

/// `x.ceil()` for `x >= 0` (or `+inf`); any other `x` gives `x.ceil()` too, by the library.
#[inline(always)]
pub fn ceil_nonneg(x: f64) -> f64 {
    if x > 0.0 && x < INTEGRAL {
        let r = nearest(x);
        if r < x {
            r + 1.0
        } else {
            r
        }
    } else if x == 0.0 {
        x // (either zero, its sign kept)
    } else {
        x.ceil()
    }
}

/// `x.round()` (half away from zero) for `x >= 0` (or `+inf`); any other `x` gives
/// `x.round()` too, by the library.
#[inline(always)]
pub fn round_nonneg(x: f64) -> f64 {
    if x > 0.0 && x < INTEGRAL {
        // A tie went to the even neighbour: below `x` it goes up instead.
        let r = nearest(x);
        if x - r == 0.5 {
            r + 1.0
        } else {
            r
        }
    } else if x == 0.0 {
        x
    } else {
        x.round()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bits as the library on edge cases (signed zeros, halves, the neighbours of
    /// integers and of 2^52, infinities, NaN, negatives) and on a million numbers spread over
    /// every scale.
    #[test]
    fn ceil_and_round_give_the_library_bits() {
        let mut xs = vec![0.0, -0.0, 0.5, 1.5, 2.5, 0.49999999999999994, 1.0, 1e-300, f64::MIN_POSITIVE];
        xs.extend([INTEGRAL, INTEGRAL - 0.5, INTEGRAL + 1.0, INTEGRAL * 2.0, 1e18, 1e300]);
        xs.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -0.5, -1.5, -2.7, -1e-300]);
        for i in 1..100u64 {
            let v = i as f64;
            xs.extend([v, v + 0.5, v - 0.5, f64::from_bits(v.to_bits() + 1), f64::from_bits(v.to_bits() - 1)]);
            let h = v + 0.5;
            xs.extend([f64::from_bits(h.to_bits() + 1), f64::from_bits(h.to_bits() - 1)]);
        }
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            // Exponents from 2^-20 to 2^60, any mantissa.
            let e = 1003 + (z >> 58) as u64 % 81;
            xs.push(f64::from_bits((e << 52) | (z & ((1 << 52) - 1))));
        }
        for &x in &xs {
            assert_eq!(ceil_nonneg(x).to_bits(), x.ceil().to_bits(), "ceil {x:e}");
            assert_eq!(round_nonneg(x).to_bits(), x.round().to_bits(), "round {x:e}");
        }
    }
}
