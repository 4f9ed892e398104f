//! One-dimensional minimisation: golden-section search on a bracket.
//!
//! The objective may fail (a simulation that cannot finish): the first error stops the search
//! and is returned. With an infallible objective, wrap it as `|x| Ok::<_, Infallible>(f(x))`.

/// Where a golden-section search stopped: the final bracket `[lo, hi]` and its two interior
/// points with their objective values (the bracket ends themselves are never evaluated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoldenSection {
    pub lo: f64,
    pub hi: f64,
    /// The interior points `(x, f(x))`, left then right.
    pub interior: [(f64, f64); 2],
    /// How many times the objective was called.
    pub evaluations: usize,
}

impl GoldenSection {
    /// The middle of the final bracket.
    pub fn midpoint(&self) -> f64 {
        (self.lo + self.hi) / 2.0
    }

    /// The better interior point `(x, f(x))` (the left one on a tie).
    pub fn best_interior(&self) -> (f64, f64) {
        let [c, d] = self.interior;
        if d.1 < c.1 {
            d
        } else {
            c
        }
    }
}

/// Golden-section minimisation of `f` on `[a, b]`: shrink the bracket until it is at most `tol`
/// wide or `max_steps` steps have run. Assumes `f` is unimodal on the bracket; otherwise it finds
/// a local minimum.
pub fn golden_section<E>(
    mut f: impl FnMut(f64) -> Result<f64, E>,
    mut a: f64,
    mut b: f64,
    tol: f64,
    max_steps: usize,
) -> Result<GoldenSection, E> {
    // 1/φ: each step keeps this fraction of the bracket.
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - inv_phi * (b - a);
    let mut d = a + inv_phi * (b - a);
    let (mut fc, mut fd) = (f(c)?, f(d)?);
    let mut evaluations = 2;
    for _ in 0..max_steps {
        if (b - a).abs() <= tol {
            break;
        }
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - inv_phi * (b - a);
            fc = f(c)?;
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inv_phi * (b - a);
            fd = f(d)?;
        }
        evaluations += 1;
    }
    Ok(GoldenSection { lo: a, hi: b, interior: [(c, fc), (d, fd)], evaluations })
}

/// Bisection on `[lo, hi]` for where `below` turns from true to false (`below` true at `lo`,
/// false at `hi`, monotone between): `steps` halvings, returning the final bracket.
pub fn bisect(mut lo: f64, mut hi: f64, steps: usize, below: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..steps {
        let mid = 0.5 * (lo + hi);
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn finds_the_minimum_of_a_parabola() {
        let g = golden_section(|x| Ok::<_, Infallible>((x - 0.3).powi(2)), 0.0, 1.0, 1e-10, 200).unwrap();
        assert!((g.midpoint() - 0.3).abs() < 1e-9, "{g:?}");
        assert!(g.hi - g.lo <= 1e-10);
        assert!((g.best_interior().0 - 0.3).abs() < 1e-9);
    }

    #[test]
    fn step_limit_bounds_the_evaluations() {
        let mut calls = 0;
        let g = golden_section(
            |x| {
                calls += 1;
                Ok::<_, Infallible>((x - 7.0).abs())
            },
            0.0,
            10.0,
            0.0,
            14,
        )
        .unwrap();
        assert_eq!(calls, 16);
        assert_eq!(g.evaluations, 16);
        // Each step keeps 1/φ of the bracket.
        assert!((g.hi - g.lo - 10.0 * ((5f64.sqrt() - 1.0) / 2.0).powi(14)).abs() < 1e-9);
        assert!(g.lo <= 7.0 && 7.0 <= g.hi);
    }

    #[test]
    fn the_first_error_stops_the_search() {
        let mut calls = 0;
        let r = golden_section(
            |x| {
                calls += 1;
                if calls == 4 {
                    Err("deadlock")
                } else {
                    Ok(x * x)
                }
            },
            -1.0,
            1.0,
            1e-12,
            100,
        );
        assert_eq!(r, Err("deadlock"));
        assert_eq!(calls, 4);
    }

    #[test]
    fn bisect_finds_where_a_monotone_test_turns() {
        let (lo, hi) = super::bisect(0.0, 10.0, 60, |x| x * x < 2.0);
        assert!(lo <= 2f64.sqrt() && 2f64.sqrt() <= hi && hi - lo < 1e-12, "{lo} {hi}");
    }
}
