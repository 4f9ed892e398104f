//! Summary statistics and scalability-model fits for repeated simulation runs.
//!
//! * [`Summary`]: mean, median, spread and a Student-t 95 % confidence interval
//!   on the mean of one sample (e.g. wall times of repeated runs).
//! * [`fit_amdahl`]: least-squares fit of Amdahl's law
//!   `S(n) = 1 / (s + (1 - s) / n)`.
//! * [`fit_usl`]: least-squares fit of Gunther's Universal Scalability Law
//!   `S(n) = n / (1 + sigma (n - 1) + kappa n (n - 1))`.
//! * [`speedup`] and [`efficiency`] helpers.
//!
//! For both models `n` is the number of *participants* doing the work (for a
//! parallel query with a participating leader that is `workers + 1`) and must
//! be `>= 1`; `S(1) = 1` by construction.

use super::optimize::golden_section;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::{Data, Median, Statistics};
use std::convert::Infallible;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// The sample (or the point set) is empty.
    #[error("no data")]
    Empty,
    /// A value is NaN or infinite.
    #[error("non-finite value in input")]
    NonFinite,
    /// A model input `n` is below 1 (participants must be at least 1).
    #[error("participant count {0} is below 1")]
    BadParticipants(f64),
    /// A speedup is zero or negative (the USL linearisation divides by it).
    #[error("speedup {0} is not positive")]
    NonPositiveSpeedup(f64),
    /// All points have `n == 1`, so no model parameter is identifiable.
    #[error("need at least one point with n > 1 to fit a scalability model")]
    NoScalingPoints,
    /// Fewer points than the model's parameters + 2: any fit would look good and say nothing.
    #[error("{points} participant counts are too few to fit a {params}-parameter model: need at least {needed} (parameters + 2)")]
    TooFewPoints { points: usize, params: usize, needed: usize },
}

/// Refuse a fit on fewer distinct participant counts than `params` + 2.
fn enough_points(points: &[(f64, f64)], params: usize) -> Result<(), StatsError> {
    let mut ns: Vec<f64> = points.iter().map(|p| p.0).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    let needed = params + 2;
    if ns.len() < needed {
        return Err(StatsError::TooFewPoints { points: ns.len(), params, needed });
    }
    Ok(())
}

/// Descriptive statistics of one sample.
///
/// `std_dev` is the sample standard deviation (Bessel-corrected, `n - 1`
/// denominator); it is `0.0` when `n == 1`. The confidence interval is the
/// two-sided 95 % Student-t interval on the mean,
/// `mean ± t(0.975, n-1) · std_dev / sqrt(n)`; for `n == 1` it collapses to
/// the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub ci95_lo: f64,
    pub ci95_hi: f64,
}

impl Summary {
    /// Summarise `xs`. Errors on an empty sample or any non-finite value.
    pub fn from_slice(xs: &[f64]) -> Result<Summary, StatsError> {
        if xs.is_empty() {
            return Err(StatsError::Empty);
        }
        if xs.iter().any(|x| !x.is_finite()) {
            return Err(StatsError::NonFinite);
        }
        let n = xs.len();
        let mean = Statistics::mean(xs);
        let median = Data::new(xs.to_vec()).median();
        let min = Statistics::min(xs);
        let max = Statistics::max(xs);
        let (std_dev, half) = if n == 1 {
            (0.0, 0.0)
        } else {
            let sd = Statistics::std_dev(xs);
            (sd, t_quantile_975(n - 1) * sd / (n as f64).sqrt())
        };
        Ok(Summary { n, mean, median, std_dev, min, max, ci95_lo: mean - half, ci95_hi: mean + half })
    }

    /// Half width of the 95 % confidence interval.
    pub fn ci95_half_width(&self) -> f64 {
        (self.ci95_hi - self.ci95_lo) / 2.0
    }
}

/// Two-sided 95 % critical value of Student's t with `df` degrees of freedom
/// (`df >= 1`), e.g. 12.706 for 1, 2.776 for 4, 1.96 as `df -> inf`.
pub fn t_quantile_975(df: usize) -> f64 {
    assert!(df >= 1, "t quantile needs at least one degree of freedom");
    StudentsT::new(0.0, 1.0, df as f64).expect("valid Student t parameters").inverse_cdf(0.975)
}

/// Speedup of a run taking `time` relative to a baseline taking `baseline`.
pub fn speedup(baseline: f64, time: f64) -> f64 {
    baseline / time
}

/// Parallel efficiency: speedup per participant, `speedup / n`.
pub fn efficiency(speedup: f64, n: f64) -> f64 {
    speedup / n
}

/// Amdahl's law: `1 / (s + (1 - s) / n)`.
pub fn amdahl_speedup(s: f64, n: f64) -> f64 {
    1.0 / (s + (1.0 - s) / n)
}

/// Universal Scalability Law: `n / (1 + sigma (n - 1) + kappa n (n - 1))`.
pub fn usl_speedup(sigma: f64, kappa: f64, n: f64) -> f64 {
    n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
}

/// Result of [`fit_amdahl`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AmdahlFit {
    /// Serial fraction, in `[0, 1]`.
    pub s: f64,
    /// Coefficient of determination on the speedup scale.
    pub r2: f64,
    /// Root-mean-square error on the speedup scale.
    pub rmse: f64,
}

impl AmdahlFit {
    /// Model speedup at `n` participants.
    pub fn predict(&self, n: f64) -> f64 {
        amdahl_speedup(self.s, n)
    }
}

/// Result of [`fit_usl`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UslFit {
    /// Contention coefficient, `>= 0`.
    pub sigma: f64,
    /// Coherency (crosstalk) coefficient, `>= 0`.
    pub kappa: f64,
    /// Coefficient of determination on the speedup scale.
    pub r2: f64,
    /// Root-mean-square error on the speedup scale.
    pub rmse: f64,
    /// Participant count of maximum speedup, `sqrt((1 - sigma) / kappa)`,
    /// clamped to `>= 1`; `f64::INFINITY` when `kappa == 0` (and `sigma < 1`).
    pub peak_n: f64,
    /// Model speedup at `peak_n`; for `kappa == 0` the asymptote `1 / sigma`
    /// (infinite when `sigma == 0` too).
    pub peak_speedup: f64,
}

impl UslFit {
    /// Model speedup at `n` participants.
    pub fn predict(&self, n: f64) -> f64 {
        usl_speedup(self.sigma, self.kappa, n)
    }

    /// A warning when the fitted peak lies beyond the machine's `cores` (the curve is then an
    /// extrapolation past what the machine can run at once), else `None`.
    pub fn peak_beyond_cores(&self, cores: f64) -> Option<String> {
        (self.peak_n > cores).then(|| {
            let peak = if self.peak_n.is_finite() { format!("{:.1}", self.peak_n) } else { "no finite".into() };
            format!(
                "the USL peak ({peak} participants, speedup {:.2}) lies beyond the profile's {cores} cores: an extrapolation, not a prediction",
                self.peak_speedup
            )
        })
    }
}

fn check_points(points: &[(f64, f64)]) -> Result<(), StatsError> {
    if points.is_empty() {
        return Err(StatsError::Empty);
    }
    for &(n, y) in points {
        if !n.is_finite() || !y.is_finite() {
            return Err(StatsError::NonFinite);
        }
        if n < 1.0 {
            return Err(StatsError::BadParticipants(n));
        }
    }
    if points.iter().all(|&(n, _)| n == 1.0) {
        return Err(StatsError::NoScalingPoints);
    }
    Ok(())
}

/// (r2, rmse, sse) of `model` against `points` on the original scale.
///
/// r2 is `1 - SSres/SStot`; when every observed speedup is identical
/// (`SStot == 0`) it is 1 for a perfect fit and 0 otherwise.
fn goodness(points: &[(f64, f64)], model: impl Fn(f64) -> f64) -> (f64, f64, f64) {
    let m = points.len() as f64;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / m;
    let sse: f64 = points.iter().map(|&(n, y)| (y - model(n)).powi(2)).sum();
    let sst: f64 = points.iter().map(|&(_, y)| (y - mean).powi(2)).sum();
    let r2 = if sst > 0.0 {
        1.0 - sse / sst
    } else if sse <= f64::EPSILON {
        1.0
    } else {
        0.0
    };
    (r2, (sse / m).sqrt(), sse)
}

/// Least-squares fit of Amdahl's law to `(n, speedup)` points.
///
/// Minimises `sum (S_i - 1/(s + (1-s)/n_i))^2` over `s in [0, 1]`: a grid
/// scan locates the best bracket, then golden-section search refines it to
/// about 1e-12. Points need `n >= 1` and at least one `n > 1`.
pub fn fit_amdahl(points: &[(f64, f64)]) -> Result<AmdahlFit, StatsError> {
    check_points(points)?;
    enough_points(points, 1)?;
    let sse = |s: f64| -> f64 { points.iter().map(|&(n, y)| (y - amdahl_speedup(s, n)).powi(2)).sum() };
    const GRID: usize = 1000;
    let step = 1.0 / GRID as f64;
    let best =
        (0..=GRID).map(|i| (i, sse(i as f64 * step))).min_by(|a, b| a.1.total_cmp(&b.1)).map(|(i, _)| i).unwrap_or(0);
    let lo = (best as f64 - 1.0).max(0.0) * step;
    let hi = ((best as f64 + 1.0) * step).min(1.0);
    let mut s = match golden_section(|x| Ok::<_, Infallible>(sse(x)), lo, hi, 1e-13, 200) {
        Ok(g) => g.midpoint(),
        Err(never) => match never {},
    };
    // The golden section never evaluates the bracket ends; keep them if better.
    for edge in [lo, hi] {
        if sse(edge) < sse(s) {
            s = edge;
        }
    }
    let (r2, rmse, _) = goodness(points, |n| amdahl_speedup(s, n));
    Ok(AmdahlFit { s, r2, rmse })
}

/// Least-squares fit of the Universal Scalability Law to `(n, speedup)`
/// points, with `sigma >= 0` and `kappa >= 0`.
///
/// Step 1 solves the linearised problem `n/S - 1 = sigma (n-1) + kappa n(n-1)`
/// as a two-variable non-negative least squares (unconstrained solution if
/// feasible, otherwise the better of the one-parameter fits). Step 2 refines
/// that start by projected Levenberg-Marquardt on the original speedup scale,
/// so the reported parameters minimise the squared speedup error (exact data
/// are reproduced exactly by both steps). `r2` and `rmse` are on the speedup
/// scale. Points need `n >= 1` and at least one `n > 1`; all speedups must
/// be positive.
pub fn fit_usl(points: &[(f64, f64)]) -> Result<UslFit, StatsError> {
    check_points(points)?;
    if let Some(&(_, y)) = points.iter().find(|&&(_, y)| y <= 0.0) {
        return Err(StatsError::NonPositiveSpeedup(y));
    }
    enough_points(points, 2)?;
    let (sigma0, kappa0) = usl_linearised_nnls(points);
    let (sigma, kappa) = usl_refine(points, sigma0, kappa0);
    let (r2, rmse, _) = goodness(points, |n| usl_speedup(sigma, kappa, n));
    let (peak_n, peak_speedup) = usl_peak(sigma, kappa);
    Ok(UslFit { sigma, kappa, r2, rmse, peak_n, peak_speedup })
}

/// Peak location and height of a USL curve restricted to `n >= 1`.
pub fn usl_peak(sigma: f64, kappa: f64) -> (f64, f64) {
    if sigma >= 1.0 {
        return (1.0, 1.0);
    }
    if kappa <= 0.0 {
        let asymptote = if sigma > 0.0 { 1.0 / sigma } else { f64::INFINITY };
        return (f64::INFINITY, asymptote);
    }
    let n = ((1.0 - sigma) / kappa).sqrt().max(1.0);
    (n, usl_speedup(sigma, kappa, n))
}

fn usl_linearised_nnls(points: &[(f64, f64)]) -> (f64, f64) {
    // y = n/S - 1, x1 = n - 1, x2 = n (n - 1); no intercept.
    let (mut a11, mut a12, mut a22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, s) in points {
        let y = n / s - 1.0;
        let x1 = n - 1.0;
        let x2 = n * (n - 1.0);
        a11 += x1 * x1;
        a12 += x1 * x2;
        a22 += x2 * x2;
        b1 += x1 * y;
        b2 += x2 * y;
    }
    let lin_sse = |sg: f64, kp: f64| -> f64 {
        points.iter().map(|&(n, s)| (n / s - 1.0 - sg * (n - 1.0) - kp * n * (n - 1.0)).powi(2)).sum()
    };
    let det = a11 * a22 - a12 * a12;
    if det.abs() > 1e-12 * a11 * a22 {
        let sg = (b1 * a22 - b2 * a12) / det;
        let kp = (a11 * b2 - a12 * b1) / det;
        if sg >= 0.0 && kp >= 0.0 {
            return (sg, kp);
        }
    }
    // Active-set fallbacks: one parameter pinned at zero.
    let sigma_only = ((b1 / a11).max(0.0), 0.0);
    let kappa_only = (0.0, (b2 / a22).max(0.0));
    if lin_sse(sigma_only.0, sigma_only.1) <= lin_sse(kappa_only.0, kappa_only.1) {
        sigma_only
    } else {
        kappa_only
    }
}

fn usl_refine(points: &[(f64, f64)], sigma0: f64, kappa0: f64) -> (f64, f64) {
    let sse = |sg: f64, kp: f64| -> f64 { points.iter().map(|&(n, y)| (y - usl_speedup(sg, kp, n)).powi(2)).sum() };
    let (mut sg, mut kp) = (sigma0, kappa0);
    let mut cur = sse(sg, kp);
    let mut lambda = 1e-3;
    for _ in 0..500 {
        if cur <= 0.0 {
            break;
        }
        // Normal equations J^T J and J^T r for residual r = y - model.
        let (mut j11, mut j12, mut j22, mut g1, mut g2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(n, y) in points {
            let d = 1.0 + sg * (n - 1.0) + kp * n * (n - 1.0);
            let r = y - n / d;
            let ds = -n * (n - 1.0) / (d * d);
            let dk = -n * n * (n - 1.0) / (d * d);
            j11 += ds * ds;
            j12 += ds * dk;
            j22 += dk * dk;
            g1 += ds * r;
            g2 += dk * r;
        }
        let mut improved = false;
        while lambda < 1e12 {
            let m11 = j11 * (1.0 + lambda) + 1e-300;
            let m22 = j22 * (1.0 + lambda) + 1e-300;
            let det = m11 * m22 - j12 * j12;
            if det <= 0.0 || !det.is_finite() {
                lambda *= 10.0;
                continue;
            }
            let dsg = (g1 * m22 - g2 * j12) / det;
            let dkp = (m11 * g2 - j12 * g1) / det;
            let (nsg, nkp) = ((sg + dsg).max(0.0), (kp + dkp).max(0.0));
            let next = sse(nsg, nkp);
            if next < cur {
                let small = (nsg - sg).abs() <= 1e-15 * (1.0 + sg) && (nkp - kp).abs() <= 1e-15 * (1.0 + kp);
                sg = nsg;
                kp = nkp;
                cur = next;
                lambda = (lambda / 10.0).max(1e-12);
                improved = !small;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (sg, kp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn summary_empty_and_nonfinite_are_errors() {
        assert_eq!(Summary::from_slice(&[]), Err(StatsError::Empty));
        assert_eq!(Summary::from_slice(&[1.0, f64::NAN]), Err(StatsError::NonFinite));
    }

    #[test]
    fn summary_single_value_ci_is_the_mean() {
        let s = Summary::from_slice(&[42.5]).unwrap();
        assert_eq!(s.n, 1);
        assert_eq!(s.mean, 42.5);
        assert_eq!(s.median, 42.5);
        assert_eq!(s.std_dev, 0.0);
        assert_eq!((s.min, s.max), (42.5, 42.5));
        assert_eq!((s.ci95_lo, s.ci95_hi), (42.5, 42.5));
    }

    #[test]
    fn summary_known_sample_of_five() {
        // mean 12, deviations -2,-1,0,1,2 -> sum sq 10, var 10/4 = 2.5.
        let xs = [12.0, 10.0, 14.0, 11.0, 13.0];
        let s = Summary::from_slice(&xs).unwrap();
        assert_eq!(s.n, 5);
        assert!(close(s.mean, 12.0, 1e-12));
        assert!(close(s.median, 12.0, 1e-12));
        assert!(close(s.std_dev, 2.5f64.sqrt(), 1e-12));
        assert_eq!((s.min, s.max), (10.0, 14.0));
        assert!(s.ci95_lo < s.mean && s.mean < s.ci95_hi);
        // Hand value: t(0.975, 4) = 2.776 (tables, 3 decimals).
        let half = 2.776 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!(close(s.ci95_half_width(), half, 1e-3), "{s:?}");
        assert!(close(s.ci95_hi - s.mean, s.mean - s.ci95_lo, 1e-12));
    }

    #[test]
    fn summary_even_median() {
        let s = Summary::from_slice(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert!(close(s.median, 2.5, 1e-12));
    }

    #[test]
    fn t_quantiles_match_tables() {
        assert!(close(t_quantile_975(1), 12.706, 1e-3));
        assert!(close(t_quantile_975(4), 2.776, 1e-3));
        assert!(close(t_quantile_975(30), 2.042, 1e-3));
    }

    #[test]
    fn speedup_and_efficiency() {
        assert_eq!(speedup(100.0, 25.0), 4.0);
        assert_eq!(efficiency(3.0, 4.0), 0.75);
    }

    #[test]
    fn amdahl_recovers_serial_fraction() {
        for &s_true in &[0.0, 0.05, 0.1234567, 0.5, 1.0] {
            let pts: Vec<(f64, f64)> = (1..=16).map(|n| (n as f64, amdahl_speedup(s_true, n as f64))).collect();
            let fit = fit_amdahl(&pts).unwrap();
            assert!(close(fit.s, s_true, 1e-6), "s_true={s_true} fit={fit:?}");
            assert!(fit.rmse < 1e-6);
            assert!(fit.r2 > 0.999999 || s_true == 1.0, "{fit:?}");
        }
    }

    #[test]
    fn amdahl_noisy_fit_is_sane() {
        let noise = [0.02, -0.03, 0.01, -0.01, 0.03, -0.02, 0.0, 0.01];
        let pts: Vec<(f64, f64)> = (1..=8)
            .map(|n| {
                let n = n as f64;
                (n, amdahl_speedup(0.1, n) + noise[n as usize - 1])
            })
            .collect();
        let fit = fit_amdahl(&pts).unwrap();
        assert!(close(fit.s, 0.1, 0.01), "{fit:?}");
        assert!(fit.r2 > 0.99);
        // Least squares: nudging s in either direction must not reduce SSE.
        let sse = |s: f64| -> f64 { pts.iter().map(|&(n, y)| (y - amdahl_speedup(s, n)).powi(2)).sum() };
        assert!(sse(fit.s) <= sse(fit.s + 1e-5));
        assert!(sse(fit.s) <= sse(fit.s - 1e-5));
    }

    #[test]
    fn fits_reject_bad_input() {
        assert_eq!(fit_amdahl(&[]), Err(StatsError::Empty));
        assert_eq!(fit_usl(&[(1.0, 1.0)]), Err(StatsError::NoScalingPoints));
        assert_eq!(fit_amdahl(&[(0.0, 1.0), (2.0, 1.5)]), Err(StatsError::BadParticipants(0.0)));
        assert_eq!(fit_usl(&[(1.0, 1.0), (2.0, 0.0)]), Err(StatsError::NonPositiveSpeedup(0.0)));
        assert_eq!(fit_usl(&[(2.0, f64::INFINITY)]), Err(StatsError::NonFinite));
        // Fewer participant counts than parameters + 2: no fit, and the error says so.
        let two = [(1.0, 1.0), (2.0, 1.9)];
        assert_eq!(fit_amdahl(&two), Err(StatsError::TooFewPoints { points: 2, params: 1, needed: 3 }));
        let three = [(1.0, 1.0), (2.0, 1.9), (3.0, 2.7)];
        assert!(fit_amdahl(&three).is_ok());
        let e = fit_usl(&three).unwrap_err();
        assert_eq!(e, StatsError::TooFewPoints { points: 3, params: 2, needed: 4 });
        assert!(e.to_string().contains("need at least 4 (parameters + 2)"), "{e}");
        // Repeated participant counts do not count twice.
        assert!(fit_amdahl(&[(1.0, 1.0), (2.0, 1.9), (2.0, 1.8)]).is_err());
    }

    #[test]
    fn usl_peak_beyond_cores_is_flagged() {
        let pts: Vec<(f64, f64)> = (1..=6).map(|n| (n as f64, usl_speedup(0.02, 0.0005, n as f64))).collect();
        let fit = fit_usl(&pts).unwrap();
        assert!(fit.peak_n > 40.0, "{fit:?}");
        let w = fit.peak_beyond_cores(8.0).expect("flagged");
        assert!(w.contains("beyond the profile's 8 cores"), "{w}");
        assert_eq!(fit.peak_beyond_cores(1000.0), None);
    }

    #[test]
    fn usl_recovers_sigma_kappa_from_exact_data() {
        for &(sg, kp) in &[(0.05, 0.002), (0.2, 0.0005), (0.0, 0.01), (0.03, 0.0)] {
            let pts: Vec<(f64, f64)> = (1..=12).map(|n| (n as f64, usl_speedup(sg, kp, n as f64))).collect();
            let fit = fit_usl(&pts).unwrap();
            assert!(close(fit.sigma, sg, 1e-6), "({sg},{kp}) -> {fit:?}");
            assert!(close(fit.kappa, kp, 1e-6), "({sg},{kp}) -> {fit:?}");
            assert!(fit.r2 > 0.999999, "{fit:?}");
            assert!(fit.rmse < 1e-6);
        }
    }

    #[test]
    fn usl_peak_formula() {
        let pts: Vec<(f64, f64)> = (1..=8).map(|n| (n as f64, usl_speedup(0.1, 0.01, n as f64))).collect();
        let fit = fit_usl(&pts).unwrap();
        let want = (0.9f64 / 0.01).sqrt();
        assert!(close(fit.peak_n, want, 1e-4), "{fit:?}");
        assert!(close(fit.peak_speedup, usl_speedup(0.1, 0.01, want), 1e-6));
        // No peak without coherency cost.
        assert_eq!(usl_peak(0.1, 0.0), (f64::INFINITY, 10.0));
        assert_eq!(usl_peak(0.0, 0.0).1, f64::INFINITY);
    }

    #[test]
    fn usl_clamps_superlinear_data_to_nonnegative() {
        // Superlinear speedups would need sigma < 0; the fit must stay >= 0.
        let pts = [(1.0, 1.0), (2.0, 2.1), (4.0, 4.5), (8.0, 9.0)];
        let fit = fit_usl(&pts).unwrap();
        assert!(fit.sigma >= 0.0 && fit.kappa >= 0.0, "{fit:?}");
        assert!(close(fit.sigma, 0.0, 1e-12) && close(fit.kappa, 0.0, 1e-12));
    }

    #[test]
    fn usl_noisy_fit_minimises_original_scale_error() {
        let noise = [0.0, 0.04, -0.05, 0.03, -0.02, 0.05, -0.04, 0.02];
        let pts: Vec<(f64, f64)> = (1..=8)
            .map(|n| {
                let n = n as f64;
                (n, usl_speedup(0.08, 0.004, n) + noise[n as usize - 1])
            })
            .collect();
        let fit = fit_usl(&pts).unwrap();
        let sse = |sg: f64, kp: f64| -> f64 { pts.iter().map(|&(n, y)| (y - usl_speedup(sg, kp, n)).powi(2)).sum() };
        let best = sse(fit.sigma, fit.kappa);
        for (dsg, dkp) in [(1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-5), (0.0, -1e-5)] {
            let (sg, kp) = (fit.sigma + dsg, fit.kappa + dkp);
            if sg >= 0.0 && kp >= 0.0 {
                assert!(best <= sse(sg, kp) + 1e-15, "{fit:?}");
            }
        }
        assert!(fit.r2 > 0.99, "{fit:?}");
    }
}
