//! Weighted linear least squares with non-negative coefficients (Lawson–Hanson NNLS on a
//! Householder QR), for fitting unit costs to measured query times. No I/O.
//!
//! Minimizes `Σ_i (w_i · (y_i − x_i·β))²` subject to `β_j ≥ 0`. With `w_i = 1 / y_i` the fit
//! minimizes relative errors, so short and long probes count alike.

// Matrix code: index loops read like the algebra.
#![allow(clippy::needless_range_loop)]

/// The result of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub coef: Vec<f64>,
    /// Standard error of each coefficient from the weighted residual variance (NaN for a
    /// coefficient held at zero by the constraint, or when there are no degrees of freedom).
    pub std_err: Vec<f64>,
    pub fitted: Vec<f64>,
    /// `y − fitted`.
    pub residuals: Vec<f64>,
    /// Coefficient of determination of the unweighted values: 1 − SS_res / SS_tot.
    pub r2: f64,
    /// Root mean square of the weighted residuals (relative error when w = 1/y).
    pub rms_weighted: f64,
    /// Coefficients the non-negativity constraint holds at zero.
    pub at_bound: Vec<bool>,
}

/// Errors of a fit: shapes that do not match, or nothing to fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no observations")]
    Empty,
    #[error("row {0} has {1} values, expected {2}")]
    Ragged(usize, usize, usize),
    #[error("{0} observations, {1} weights")]
    Weights(usize, usize),
    #[error("non-finite value in row {0}")]
    NotFinite(usize),
}

/// Ordinary least squares of `a` (m × n, row-major) against `b` by Householder QR. Columns
/// with no information (all zero) get 0. Returns the solution and R's diagonal (for checks).
fn qr_solve(a: &[Vec<f64>], b: &[f64], cols: &[usize]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = a.len();
    let n = cols.len();
    // Column scaling: features differ by orders of magnitude (pages vs n·log n comparisons).
    let scale: Vec<f64> = cols
        .iter()
        .map(|&j| {
            let s = a.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt();
            if s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    let mut r: Vec<Vec<f64>> =
        a.iter().map(|row| cols.iter().zip(&scale).map(|(&j, s)| row[j] / s).collect()).collect();
    let mut y = b.to_vec();
    let k_max = n.min(m);
    for k in 0..k_max {
        let norm = (k..m).map(|i| r[i][k] * r[i][k]).sum::<f64>().sqrt();
        if norm < 1e-300 {
            continue;
        }
        let alpha = if r[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..m).map(|i| r[i][k]).collect();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|x| x * x).sum();
        if vnorm2 < 1e-300 {
            continue;
        }
        for j in k..n {
            let dot: f64 = (k..m).map(|i| v[i - k] * r[i][j]).sum();
            let f = 2.0 * dot / vnorm2;
            for i in k..m {
                r[i][j] -= f * v[i - k];
            }
        }
        let dot: f64 = (k..m).map(|i| v[i - k] * y[i]).sum();
        let f = 2.0 * dot / vnorm2;
        for i in k..m {
            y[i] -= f * v[i - k];
        }
    }
    // Back substitution; a (numerically) zero pivot means no information: coefficient 0.
    let mut x = vec![0.0; n];
    let max_diag = (0..k_max).map(|k| r[k][k].abs()).fold(0.0, f64::max);
    for k in (0..k_max).rev() {
        if r[k][k].abs() <= 1e-12 * max_diag.max(1e-300) {
            continue;
        }
        let s: f64 = ((k + 1)..n).map(|j| r[k][j] * x[j]).sum();
        x[k] = (y[k] - s) / r[k][k];
    }
    let x: Vec<f64> = x.iter().zip(&scale).map(|(v, s)| v / s).collect();
    // R of the unscaled problem: A = Q·R_s·diag(scale).
    let rr: Vec<Vec<f64>> = (0..k_max).map(|i| (0..n).map(|j| r[i][j] * scale[j]).collect()).collect();
    (x, rr)
}

/// Inverse of an upper-triangular matrix's Gram product: (RᵀR)⁻¹ diagonal.
fn cov_diag(rr: &[Vec<f64>], n: usize) -> Vec<f64> {
    // Rinv by back substitution, then diag(Rinv Rinvᵀ).
    if rr.len() < n {
        return vec![f64::NAN; n];
    }
    let mut inv = vec![vec![0.0; n]; n];
    for c in 0..n {
        for i in (0..=c).rev() {
            let rhs = if i == c { 1.0 } else { 0.0 };
            let s: f64 = ((i + 1)..=c).map(|j| rr[i][j] * inv[j][c]).sum();
            if rr[i][i].abs() < 1e-300 {
                return vec![f64::NAN; n];
            }
            inv[i][c] = (rhs - s) / rr[i][i];
        }
    }
    (0..n).map(|i| (0..n).map(|j| inv[i][j] * inv[i][j]).sum()).collect()
}

/// Non-negative weighted least squares (Lawson & Hanson 1974, algorithm NNLS).
pub fn nnls(x: &[Vec<f64>], y: &[f64], w: &[f64]) -> Result<Fit, FitError> {
    let m = x.len();
    if m == 0 {
        return Err(FitError::Empty);
    }
    let n = x[0].len();
    if w.len() != m {
        return Err(FitError::Weights(m, w.len()));
    }
    for (i, row) in x.iter().enumerate() {
        if row.len() != n {
            return Err(FitError::Ragged(i, row.len(), n));
        }
        if !row.iter().all(|v| v.is_finite()) || !y[i].is_finite() || !w[i].is_finite() {
            return Err(FitError::NotFinite(i));
        }
    }
    let a: Vec<Vec<f64>> = x.iter().zip(w).map(|(r, wi)| r.iter().map(|v| v * wi).collect()).collect();
    let b: Vec<f64> = y.iter().zip(w).map(|(v, wi)| v * wi).collect();

    let mut beta = vec![0.0; n];
    let mut passive = vec![false; n];
    let tol = 1e-10;
    let grad = |beta: &[f64]| -> Vec<f64> {
        let res: Vec<f64> = (0..m).map(|i| b[i] - (0..n).map(|j| a[i][j] * beta[j]).sum::<f64>()).collect();
        (0..n).map(|j| (0..m).map(|i| a[i][j] * res[i]).sum()).collect()
    };
    // Gradient scale for the stopping test.
    let col_norm: Vec<f64> =
        (0..n).map(|j| (0..m).map(|i| a[i][j] * a[i][j]).sum::<f64>().sqrt().max(1e-300)).collect();
    let b_norm = b.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
    for _outer in 0..(3 * n + 10) {
        let g = grad(&beta);
        let cand = (0..n)
            .filter(|&j| !passive[j])
            .map(|j| (j, g[j] / (col_norm[j] * b_norm)))
            .filter(|(_, v)| *v > tol)
            .max_by(|p, q| p.1.total_cmp(&q.1));
        let Some((j, _)) = cand else { break };
        passive[j] = true;
        for _inner in 0..(3 * n + 10) {
            let cols: Vec<usize> = (0..n).filter(|&k| passive[k]).collect();
            let (z, _) = qr_solve(&a, &b, &cols);
            if z.iter().all(|v| *v > 0.0) {
                for (k, &c) in cols.iter().enumerate() {
                    beta[c] = z[k];
                }
                break;
            }
            // Step towards z until the first coefficient hits zero.
            let mut alpha = f64::INFINITY;
            for (k, &c) in cols.iter().enumerate() {
                if z[k] <= 0.0 {
                    let d = beta[c] - z[k];
                    if d > 0.0 {
                        alpha = alpha.min(beta[c] / d);
                    }
                }
            }
            if !alpha.is_finite() {
                alpha = 0.0;
            }
            for (k, &c) in cols.iter().enumerate() {
                beta[c] += alpha * (z[k] - beta[c]);
                if beta[c] <= 1e-15 * beta[c].abs().max(1.0) || (z[k] <= 0.0 && beta[c] <= 0.0) {
                    beta[c] = 0.0;
                    passive[c] = false;
                }
            }
            if !passive.iter().any(|p| *p) {
                break;
            }
        }
    }
    let fitted: Vec<f64> = x.iter().map(|r| r.iter().zip(&beta).map(|(v, c)| v * c).sum()).collect();
    let residuals: Vec<f64> = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
    let r2_of = |obs: &[f64], res: &[f64]| {
        let mean = obs.iter().sum::<f64>() / obs.len() as f64;
        let tot: f64 = obs.iter().map(|v| (v - mean) * (v - mean)).sum();
        let ssr: f64 = res.iter().map(|v| v * v).sum();
        if tot > 0.0 {
            1.0 - ssr / tot
        } else {
            f64::NAN
        }
    };
    let wres: Vec<f64> = residuals.iter().zip(w).map(|(r, wi)| r * wi).collect();
    let r2 = r2_of(y, &residuals);
    let ssr_w: f64 = wres.iter().map(|v| v * v).sum();
    let rms_weighted = (ssr_w / m as f64).sqrt();
    // Standard errors on the free coefficients.
    let cols: Vec<usize> = (0..n).filter(|&k| beta[k] > 0.0).collect();
    let mut std_err = vec![f64::NAN; n];
    if m > cols.len() && !cols.is_empty() {
        let (_, rr) = qr_solve(&a, &b, &cols);
        let sigma2 = ssr_w / (m - cols.len()) as f64;
        let d = cov_diag(&rr, cols.len());
        for (k, &c) in cols.iter().enumerate() {
            std_err[c] = (sigma2 * d[k]).sqrt();
        }
    }
    let at_bound = beta.iter().map(|v| *v == 0.0).collect();
    Ok(Fit { coef: beta, std_err, fitted, residuals, r2, rms_weighted, at_bound })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Synthetic probes shaped like the calibration's: pages, tuples, tuples × operators, and
    /// an intercept, with very different magnitudes.
    fn design(rng: &mut StdRng, m: usize) -> Vec<Vec<f64>> {
        (0..m)
            .map(|i| {
                let tuples =
                    [250_000.0, 500_000.0, 1_000_000.0, 2_000_000.0][i % 4] * (1.0 + 0.1 * rng.random::<f64>());
                let per_page = if i % 3 == 0 { 18.0 } else { 97.0 };
                let ops = [0.0, 1.0, 4.0, 8.0][(i / 4) % 4];
                vec![tuples / per_page, tuples, tuples * ops, 1.0]
            })
            .collect()
    }

    #[test]
    fn recovers_known_coefficients_exactly_without_noise() {
        let mut rng = StdRng::seed_from_u64(7);
        let x = design(&mut rng, 24);
        let truth = [1800.0, 45.0, 12.0, 150_000.0];
        let y: Vec<f64> = x.iter().map(|r| r.iter().zip(&truth).map(|(a, b)| a * b).sum()).collect();
        let w: Vec<f64> = y.iter().map(|v| 1.0 / v).collect();
        let fit = nnls(&x, &y, &w).unwrap();
        for (c, t) in fit.coef.iter().zip(&truth) {
            assert!((c - t).abs() <= 1e-6 * t, "{:?} vs {truth:?}", fit.coef);
        }
        assert!(fit.r2 > 0.999_999 && fit.rms_weighted < 1e-9);
        assert!(fit.at_bound.iter().all(|b| !b));
    }

    #[test]
    fn recovers_known_coefficients_with_noise_within_standard_errors() {
        let mut rng = StdRng::seed_from_u64(11);
        let x = design(&mut rng, 60);
        let truth = [1500.0, 60.0, 15.0, 80_000.0];
        let y: Vec<f64> = x
            .iter()
            .map(|r| {
                let clean: f64 = r.iter().zip(&truth).map(|(a, b)| a * b).sum();
                // 2% multiplicative noise, roughly what repeated query timings show.
                clean * (1.0 + 0.02 * (rng.random::<f64>() * 2.0 - 1.0) * 1.7)
            })
            .collect();
        let w: Vec<f64> = y.iter().map(|v| 1.0 / v).collect();
        let fit = nnls(&x, &y, &w).unwrap();
        for j in 0..3 {
            let (c, t, se) = (fit.coef[j], truth[j], fit.std_err[j]);
            // 2% noise on 60 probes: standard errors of a fraction of a percent to a few percent.
            assert!(se.is_finite() && se > 1e-4 * t && se < 0.1 * t, "coef {j}: se {se}");
            assert!((c - t).abs() < 4.0 * se, "coef {j}: {c} vs {t} (se {se})");
        }
        assert!(fit.r2 > 0.99 && fit.rms_weighted < 0.03, "{} {}", fit.r2, fit.rms_weighted);
    }

    #[test]
    fn negative_truth_is_held_at_zero() {
        // y = 3·x0 − 0.5·x1: the best non-negative fit puts x1 at the bound.
        let x: Vec<Vec<f64>> = (1..=20).map(|i| vec![i as f64, (i * i) as f64 / 10.0]).collect();
        let y: Vec<f64> = x.iter().map(|r| 3.0 * r[0] - 0.05 * r[1]).collect();
        let fit = nnls(&x, &y, &[1.0; 20]).unwrap();
        assert_eq!(fit.coef[1], 0.0);
        assert!(fit.at_bound[1] && !fit.at_bound[0]);
        assert!(fit.coef[0] > 0.0);
        // Unconstrained optimum has a negative coefficient; the constrained residual is larger
        // but every coefficient is >= 0.
        assert!(fit.coef.iter().all(|c| *c >= 0.0));
    }

    #[test]
    fn unweighted_line_matches_closed_form() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = [2.1, 3.9, 6.2, 7.8, 10.1];
        let x: Vec<Vec<f64>> = xs.iter().map(|v| vec![*v, 1.0]).collect();
        let fit = nnls(&x, &ys, &[1.0; 5]).unwrap();
        let n = 5.0;
        let (sx, sy) = (xs.iter().sum::<f64>(), ys.iter().sum::<f64>());
        let sxy: f64 = xs.iter().zip(&ys).map(|(a, b)| a * b).sum();
        let sxx: f64 = xs.iter().map(|a| a * a).sum();
        let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        let icpt = (sy - slope * sx) / n;
        assert!((fit.coef[0] - slope).abs() < 1e-9 && (fit.coef[1] - icpt).abs() < 1e-9);
    }

    #[test]
    fn an_unused_column_gets_zero_and_bad_input_is_an_error() {
        let x: Vec<Vec<f64>> = (1..=6).map(|i| vec![i as f64, 0.0]).collect();
        let y: Vec<f64> = (1..=6).map(|i| 2.0 * i as f64).collect();
        let fit = nnls(&x, &y, &[1.0; 6]).unwrap();
        assert!((fit.coef[0] - 2.0).abs() < 1e-9 && fit.coef[1] == 0.0);
        assert_eq!(nnls(&[], &[], &[]), Err(FitError::Empty));
        assert!(matches!(nnls(&[vec![1.0], vec![1.0, 2.0]], &[1.0, 2.0], &[1.0, 1.0]), Err(FitError::Ragged(1, 2, 1))));
        assert!(matches!(nnls(&[vec![f64::NAN]], &[1.0], &[1.0]), Err(FitError::NotFinite(0))));
    }
}
