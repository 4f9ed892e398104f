//! How long a wandering level lasts: a series sampled at known times (a machine's speed,
//! read as a reference query's time now and then) taken as a lasting state plus independent
//! noise of each reading, the state's correlation decaying as exp(-lag / hold).
//!
//! With readings a gap `d` apart, the state's share `c` of the variance and the noise's
//! `1 - c`, the autocorrelation at lag k >= 1 is `c exp(-k d / hold)`: the slope of its
//! logarithm over the lags gives the hold (whatever the noise), its value at lag 0 the share.
//! Each series is taken about its own mean (a hold near a series' length reads shorter than it
//! is); the drift between series is measured apart ([`Persistence::between`]).

/// What [`persistence`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Persistence {
    /// Mean time the state lasts (the correlation's e-folding time), in the series' time unit.
    pub hold: f64,
    /// The state's share of the variance of one reading (0..1).
    pub share: f64,
    /// The variance of one reading about its series' mean (of the values as given).
    pub variance: f64,
    /// Mean time between consecutive readings.
    pub gap: f64,
    /// Lag-1 and lag-2 autocorrelations.
    pub rho1: f64,
    pub rho2: f64,
    /// The variance of the series' means about their mean, less what each mean owes to its
    /// own readings' spread (variance / length): the drift from one series to the next, which
    /// taking each series about its own mean leaves out of `variance` (0 with one series).
    pub between: f64,
}

impl Persistence {
    /// The standard deviation of the lasting level: the state within series (`share` of
    /// `variance`) and the drift between them.
    pub fn lasting_sd(&self) -> f64 {
        (self.share * self.variance + self.between).sqrt()
    }
}

/// The longest hold [`persistence`] reports, in gaps.
pub const MAX_HOLD_GAPS: f64 = 1000.0;

/// The most lags [`persistence`] fits.
pub const MAX_LAGS: usize = 40;

/// The persistence of the values of `series` (each a list of (time, value) in time order):
/// the line through ln(autocorrelation) over the lags 1, 2, ... while it stays clearly above 0
/// (three standard errors, 1 / sqrt(pairs)) and above half of lag 1's (where taking each series
/// about its own mean, which lowers every lag's alike, bends the line least), at most
/// [`MAX_LAGS`]: its slope is -gap / hold, its value at lag 0 the lasting share. None with
/// fewer than 8 readings in all, no variance, or fewer than two such lags (nothing lasts from
/// one reading to the next: a state shorter than the gap).
pub fn persistence(series: &[Vec<(f64, f64)>]) -> Option<Persistence> {
    let (mut centred, mut gaps, mut ng) = (Vec::<Vec<f64>>::new(), 0.0, 0usize);
    let mut means: Vec<(f64, f64)> = vec![];
    for s in series.iter().filter(|s| s.len() >= 3) {
        let mean = s.iter().map(|p| p.1).sum::<f64>() / s.len() as f64;
        let within = s.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / (s.len() - 1) as f64;
        means.push((mean, within / s.len() as f64));
        centred.push(s.iter().map(|p| p.1 - mean).collect());
        gaps += s[s.len() - 1].0 - s[0].0;
        ng += s.len() - 1;
    }
    let n: usize = centred.iter().map(Vec::len).sum();
    let ss: f64 = centred.iter().flatten().map(|v| v * v).sum();
    if n < 8 || ss <= 0.0 || ng == 0 {
        return None;
    }
    let variance = ss / n as f64;
    let gap = gaps / ng as f64;
    let rho = |k: usize| -> Option<(f64, usize)> {
        let (mut sum, mut pairs) = (0.0, 0usize);
        for x in &centred {
            for i in k..x.len() {
                sum += x[i - k] * x[i];
                pairs += 1;
            }
        }
        (pairs > 0).then(|| (sum / pairs as f64 / variance, pairs))
    };
    let mut points: Vec<(f64, f64)> = vec![];
    let mut first = None;
    for k in 1..=MAX_LAGS {
        let Some((r, pairs)) = rho(k) else { break };
        let floor = (3.0 / (pairs as f64).sqrt()).max(0.5 * first.unwrap_or(0.0));
        if r <= floor {
            break;
        }
        first.get_or_insert(r);
        points.push((k as f64, r.ln()));
    }
    if points.len() < 2 {
        return None;
    }
    let m = points.len() as f64;
    let (mk, ml) = (points.iter().map(|p| p.0).sum::<f64>() / m, points.iter().map(|p| p.1).sum::<f64>() / m);
    let sxx: f64 = points.iter().map(|p| (p.0 - mk).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mk) * (p.1 - ml)).sum();
    let slope = (sxy / sxx).min(-1.0 / MAX_HOLD_GAPS);
    let hold = -gap / slope;
    let share = (ml - slope * mk).exp().min(1.0);
    let (rho1, rho2) = (rho(1).map_or(0.0, |r| r.0), rho(2).map_or(0.0, |r| r.0));
    Some(Persistence { hold, share, variance, gap, rho1, rho2, between: between(&means) })
}

/// The spread of the series' means beyond their own sampling error: `means` holds each
/// series' mean and that mean's sampling variance. (A lasting state inflates a mean's true
/// sampling variance beyond variance / length, so a drift this small is not told apart.)
fn between(means: &[(f64, f64)]) -> f64 {
    if means.len() < 2 {
        return 0.0;
    }
    let n = means.len() as f64;
    let grand = means.iter().map(|m| m.0).sum::<f64>() / n;
    let spread = means.iter().map(|m| (m.0 - grand).powi(2)).sum::<f64>() / (n - 1.0);
    let sampling = means.iter().map(|m| m.1).sum::<f64>() / n;
    (spread - sampling).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};
    use rand_distr::{Distribution, Normal};

    /// Readings `gap` apart of a state (AR(1) with e-folding time `hold`, sd `state_sd`) plus
    /// noise (sd `noise_sd`): `rounds` series of `len`.
    fn readings(hold: f64, state_sd: f64, noise_sd: f64, gap: f64, rounds: usize, len: usize) -> Vec<Vec<(f64, f64)>> {
        drifting(hold, state_sd, noise_sd, 0.0, gap, rounds, len)
    }

    /// As [`readings`], each round shifted by a level of sd `drift_sd` of its own.
    fn drifting(
        hold: f64,
        state_sd: f64,
        noise_sd: f64,
        drift_sd: f64,
        gap: f64,
        rounds: usize,
        len: usize,
    ) -> Vec<Vec<(f64, f64)>> {
        let mut rng = StdRng::seed_from_u64(7);
        let z = Normal::new(0.0, 1.0).unwrap();
        let a = (-gap / hold).exp();
        (0..rounds)
            .map(|_| {
                let mut state = state_sd * z.sample(&mut rng);
                let level = drift_sd * z.sample(&mut rng);
                (0..len)
                    .map(|i| {
                        state = a * state + state_sd * (1.0 - a * a).sqrt() * z.sample(&mut rng);
                        (i as f64 * gap, level + state + noise_sd * z.sample(&mut rng))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_lasting_state_is_told_from_the_noise_of_each_reading() {
        // A state lasting 1 s read every 0.1 s in rounds of 30 s, with as much noise again in
        // each reading.
        let p = persistence(&readings(1.0, 0.15, 0.15, 0.1, 40, 300)).expect("persists");
        assert!((p.hold - 1.0).abs() < 0.2, "{p:?}");
        assert!((p.gap - 0.1).abs() < 1e-9);
        // The state's share is about half of a reading's variance.
        assert!((p.share - 0.5).abs() < 0.1, "{p:?}");
        // Longer states read longer.
        let q = persistence(&readings(3.0, 0.15, 0.15, 0.1, 40, 300)).expect("persists");
        assert!(q.hold > 2.0 * p.hold, "{q:?}");
        // Noise alone lasts nothing.
        assert_eq!(persistence(&readings(1e-6, 0.0, 0.2, 0.1, 20, 100)), None, "noise");
        // Too few readings.
        assert!(persistence(&readings(2.0, 0.1, 0.1, 0.1, 1, 5)).is_none());
    }

    #[test]
    fn the_drift_between_rounds_adds_to_the_lasting_spread() {
        // State sd 0.15 within rounds, rounds shifted by levels of sd 0.1.
        let steady = persistence(&readings(0.5, 0.15, 0.1, 0.1, 60, 300)).expect("persists");
        let drift = persistence(&drifting(0.5, 0.15, 0.1, 0.1, 0.1, 60, 300)).expect("persists");
        // Taking each round about its own mean, the drift does not change the state.
        assert!((drift.hold - steady.hold).abs() < 0.1 * steady.hold, "{drift:?} {steady:?}");
        assert!(steady.between < 0.003, "{steady:?}");
        assert!((drift.between - 0.01).abs() < 0.005, "{drift:?}");
        // The lasting spread is the state's and the drift's together: sqrt(0.15^2 + 0.1^2).
        let want = (0.15f64.powi(2) + 0.1f64.powi(2)).sqrt();
        assert!((drift.lasting_sd() - want).abs() < 0.2 * want, "{} vs {want}", drift.lasting_sd());
        assert!((steady.lasting_sd() - 0.15).abs() < 0.2 * 0.15, "{}", steady.lasting_sd());
    }
}
