//! The model's own prediction error, estimated out of sample: the profile's
//! `[variability] model_sigma`, one of the parts of `run`'s 80% interval for one real run.
//!
//! One run's time differs from the prediction by the machine's run-to-run noise (`run_sigma`)
//! and by the model's error on that query: some query shapes are predicted 20-30% high or low
//! at the median, on every run. The fit's residuals understate that error: the fit chose its
//! prices to make them small (about 26 prices over 61 serial probes), so a residual is smaller
//! than the error on a query the fit has not seen by a factor of 1 - h (its probe's leverage).
//! The errors are therefore taken out of sample:
//!
//! - Serial probes (stage 1, linear in the prices): leave-one-family-out. The whole stage-1
//!   fit ([`determined_fit`]: which prices the probes exercise, the NNLS, a prior on the prices
//!   it cannot pin down alone) is rerun without probe i's family (the same query at other sizes or
//!   on other tables: its siblings share its mix of prices and would predict it too well for
//!   a query of a kind never timed), and probe i is predicted by that fit:
//!   e_i = ln(measured_i / predicted_i). A probe that alone exercises some price is not counted:
//!   without it that price has no measurement at all, which a user's query never lacks (its
//!   prices are the ones the full fit measured), and its error would be the provisional
//!   price's, not the model's.
//! - Start-up and tuple-queue probes (stages 2 and 3, fitted through the simulator; refitting
//!   each without one probe would cost a whole simulator fit per probe): their in-sample log
//!   residuals divided by 1 - p/N, p fitted values over N fit targets, the mean leverage (for a
//!   least-squares fit a left-out error is exactly the residual / (1 - h)).
//!
//! The spread: sigma = the 80th percentile of |e| over all these errors / 1.2816 (z of the
//! normal's 90th percentile). The interval it feeds is an 80% interval, and this is the sigma
//! whose normal 80% interval holds exactly the share of the probes' errors the interval is meant
//! to hold. The errors are not normal: most probes are within a few percent and a few are far
//! off (hash joins probing a big table, = ANY lists; probes whose price the fit rests on two or
//! three probes, whose left-out error is amplified). 1.4826 x MAD describes the bulk only and
//! would give an interval that misses the model's real outliers, which are exactly the queries
//! a user may bring; the RMS is dominated by the two or three largest errors. The 80th
//! percentile is set by the errors at the interval's own edge.
//!
//! The probes' medians also carry their own measurement noise (a median of 5-9 runs, robust CV
//! around 6%: about 0.03 in log terms), so the estimate slightly overstates the model's error.

use super::queues::QueueFit;
use super::stages::{determined_fit, SerialFit, StartupFit};
use crate::analysis::robust::quantile;
use crate::error::Result;
use crate::predict::Z80;

/// Fewest errors from which `model_sigma` is estimated; with fewer the profile leaves it out
/// and pqsim assumes [`crate::model::DEFAULT_MODEL_SIGMA`].
pub const MIN_ERRORS: usize = 8;

/// The out-of-sample errors of every stage and the sigma they give.
#[derive(Debug, Clone)]
pub struct ModelError {
    /// Leave-one-out log errors of the serial probes that count (see the module's text).
    pub serial: Vec<f64>,
    /// Serial probes not counted: each alone exercises some price.
    pub serial_sole: usize,
    /// Start-up probes' log residuals, already divided by `1 - p/N`, and that factor.
    pub startup: Vec<f64>,
    pub startup_factor: f64,
    /// Tuple-queue probes' (times only) log residuals / `1 - p/N`, and that factor.
    pub queue: Vec<f64>,
    pub queue_factor: f64,
    /// The spread of all of them ([`sigma_of`]); None with fewer than [`MIN_ERRORS`].
    pub sigma: Option<f64>,
}

impl ModelError {
    /// Every error counted, serial first.
    pub fn all(&self) -> Vec<f64> {
        self.serial.iter().chain(&self.startup).chain(&self.queue).copied().collect()
    }
}

/// The spread of log errors for an 80% interval: the 80th percentile of |e| / z_0.9 (NaN for
/// no errors).
pub fn sigma_of(errors: &[f64]) -> f64 {
    let abs: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    quantile(&abs, 0.8) / Z80
}

/// Root mean square of the errors (for the profile's comment, beside [`sigma_of`]).
pub fn rms(errors: &[f64]) -> f64 {
    (errors.iter().map(|e| e * e).sum::<f64>() / errors.len().max(1) as f64).sqrt()
}

/// Leave-one-out log errors of the stage-1 fit: for each row i, the fit of [`determined_fit`]
/// over every other row (the columns any of them exercises, with `prior` for the weak ones),
/// and ln(y_i / its prediction of row i). None for a row that alone exercises some column
/// (nothing would be left to price it) or whose prediction is not positive.
pub fn loo_log_errors(
    x: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    tails: &[[f64; 2]],
    prior: &[f64],
) -> Result<Vec<Option<f64>>> {
    let groups: Vec<usize> = (0..y.len()).collect();
    family_out_log_errors(x, y, w, tails, prior, &groups)
}

/// [`loo_log_errors`] leaving out every row of row i's group (`groups[i]`) at once: the error
/// on a query none of whose kind was timed, which is what a user's query is to the
/// calibration. The probes of one family (count(*) at three sizes, on wide rows, in shared
/// buffers, through the ring) share their mix of prices, so leaving one out alone lets its
/// siblings predict it and understates the model's error on a new query.
pub fn family_out_log_errors(
    x: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    tails: &[[f64; 2]],
    prior: &[f64],
    groups: &[usize],
) -> Result<Vec<Option<f64>>> {
    let n = y.len();
    let cols = x.first().map_or(0, Vec::len);
    let nonzero = |k: usize, j: usize| x[k][j].abs() > 1e-12;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let rest: Vec<usize> = (0..n).filter(|&k| groups[k] != groups[i]).collect();
        // The two intercepts (EXPLAIN, client) are columns too.
        let sole = (0..cols).any(|j| nonzero(i, j) && !rest.iter().any(|&k| nonzero(k, j)))
            || (0..2).any(|t| tails[i][t] != 0.0 && !rest.iter().any(|&k| tails[k][t] != 0.0));
        if sole || rest.is_empty() {
            out.push(None);
            continue;
        }
        let xs: Vec<Vec<f64>> = rest.iter().map(|&k| x[k].clone()).collect();
        let ys: Vec<f64> = rest.iter().map(|&k| y[k]).collect();
        let ws: Vec<f64> = rest.iter().map(|&k| w[k]).collect();
        let ts: Vec<[f64; 2]> = rest.iter().map(|&k| tails[k]).collect();
        let used: Vec<usize> = (0..cols).filter(|&j| rest.iter().any(|&k| nonzero(k, j))).collect();
        let (fit, _) = determined_fit(&xs, &ys, &ws, &ts, prior, &used)?;
        let m = used.len();
        let predicted = used.iter().enumerate().map(|(c, &j)| x[i][j] * fit.coef[c]).sum::<f64>()
            + tails[i][0] * fit.coef[m]
            + tails[i][1] * fit.coef[m + 1];
        out.push((predicted > 0.0 && y[i] > 0.0).then(|| (y[i] / predicted).ln()));
    }
    Ok(out)
}

/// In-sample log residuals of a simulator fit turned into out-of-sample ones: each / (1 - p/N)
/// (`p` fitted values, `n_targets` fit targets). Pairs whose values are not both positive are
/// skipped. Returns the errors and the factor 1 / (1 - p/N); nothing when N <= p.
pub fn in_sample_to_out(measured: &[f64], predicted: &[f64], p: usize, n_targets: usize) -> (Vec<f64>, f64) {
    if n_targets <= p {
        return (vec![], f64::NAN);
    }
    let factor = 1.0 / (1.0 - p as f64 / n_targets as f64);
    let errors = measured
        .iter()
        .zip(predicted)
        .filter(|(m, p)| **m > 0.0 && **p > 0.0)
        .map(|(m, p)| factor * (m / p).ln())
        .collect();
    (errors, factor)
}

/// The model's error from the three stages' fits.
pub fn estimate(serial: &SerialFit, startup: &StartupFit, queue: &QueueFit) -> ModelError {
    let serial_errors: Vec<f64> = serial.loo.iter().flatten().copied().collect();
    let serial_sole = serial.loo.iter().filter(|e| e.is_none()).count();
    let n_su = startup.measured.len();
    let (startup_errors, startup_factor) = in_sample_to_out(
        &startup.measured,
        &startup.fit.predicted[..n_su.min(startup.fit.predicted.len())],
        startup.n_fitted,
        n_su,
    );
    let n_q = queue.measured.len();
    let (queue_errors, queue_factor) = in_sample_to_out(
        &queue.measured,
        &queue.fit.predicted[..n_q.min(queue.fit.predicted.len())],
        queue.fit.values.len(),
        queue.fit.predicted.len(),
    );
    let mut me = ModelError {
        serial: serial_errors,
        serial_sole,
        startup: startup_errors,
        startup_factor,
        queue: queue_errors,
        queue_factor,
        sigma: None,
    };
    let all = me.all();
    if all.len() >= MIN_ERRORS {
        let s = sigma_of(&all);
        me.sigma = s.is_finite().then_some(s.min(2.0));
    }
    me
}
