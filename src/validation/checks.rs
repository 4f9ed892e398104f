//! What a validation says about the scheduling model's own bars: the speedups of short
//! parallel queries (where a worker's fork, start-up and exit weigh most) and the leader-bound
//! Gather (its best worker count and whether each W helps at all), with how sure the
//! measurements are of each.

use super::Point;

/// The bar on a short query's client-time speedup error (percent).
pub const SHORT_SPEEDUP_BAR_PCT: f64 = 10.0;

/// The case whose Gather is bound by its leader (every row through the tuple queues).
pub const LEADER_BOUND_CASE: &str = "gather_bound";

/// How many standard errors apart two measured values must lie for the measurement to tell
/// them apart: a speedup's sign (against 1), a worker count's time (against the best's).
pub const RESOLVED_SE: f64 = 2.0;

/// Relative standard error of the median of `n` runs with robust CV `cv` (the median's
/// asymptotic efficiency against the mean, sqrt(pi/2)).
fn median_se(cv: f64, n: usize) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    1.2533 * cv / (n as f64).sqrt()
}

/// One parallel point's client-time speedup T(0) / T(W), measured and predicted.
#[derive(Debug, Clone, PartialEq)]
pub struct Speedup {
    pub case: String,
    pub workers: u32,
    pub leader: bool,
    pub measured: f64,
    pub predicted: f64,
    /// (predicted - measured) / measured, percent.
    pub error_pct: f64,
    /// The measured speedup's relative standard error (percent), from both medians' runs.
    pub se_pct: f64,
}

impl Speedup {
    /// Whether the measurement tells this speedup's sign: it lies more than [`RESOLVED_SE`]
    /// standard errors from 1.
    pub fn sign_resolved(&self) -> bool {
        (self.measured - 1.0).abs() > RESOLVED_SE * self.measured * self.se_pct / 100.0
    }
}

/// A point's client-time speedup against its case's serial point (W > 0 and a prediction);
/// `None` for a serial point or one without a serial point or prediction.
pub fn speedup_of(points: &[Point], p: &Point) -> Option<Speedup> {
    if p.workers == 0 {
        return None;
    }
    let s = points.iter().find(|q| q.case == p.case && q.workers == 0)?;
    let (sp, pp) = (s.predicted_client_ms?, p.predicted_client_ms?);
    let measured = s.client_ms / p.client_ms;
    let predicted = sp / pp;
    let se = median_se(s.client_cv, s.client_runs).hypot(median_se(p.client_cv, p.client_runs));
    Some(Speedup {
        case: p.case.clone(),
        workers: p.workers,
        leader: p.leader,
        measured,
        predicted,
        error_pct: 100.0 * (predicted - measured) / measured,
        se_pct: 100.0 * se,
    })
}

/// The client-time speedup of every parallel point (W > 0, a parallel plan, a prediction)
/// against its case's serial point.
pub fn speedups(points: &[Point]) -> Vec<Speedup> {
    points.iter().filter(|p| p.workers_planned > 0).filter_map(|p| speedup_of(points, p)).collect()
}

/// How many of `speedups` are within the bar.
pub fn within_bar(speedups: &[Speedup]) -> usize {
    speedups.iter().filter(|s| s.error_pct.abs() <= SHORT_SPEEDUP_BAR_PCT).count()
}

/// The speedups of the short queries: cases whose serial point ran under `under_ms` of
/// client time.
pub fn short_speedups(points: &[Point], under_ms: f64) -> Vec<Speedup> {
    let short = |case: &str| points.iter().any(|q| q.case == case && q.workers == 0 && q.client_ms < under_ms);
    speedups(points).into_iter().filter(|s| short(&s.case)).collect()
}

/// How far apart points that ran the same plan came out: of every group of two or more
/// points of one case with the same leader setting, plan and workers launched (W = 2, 3 and 4
/// when two are planned), the largest max / min - 1 of their client times (percent), and
/// which group. The runs' standard errors assume independent runs; points measured in the
/// same rounds share the host's stretches, and this says how much that adds.
pub fn same_plan_spread(points: &[Point]) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for (i, p) in points.iter().enumerate() {
        let same = |q: &&Point| {
            q.case == p.case
                && q.leader == p.leader
                && q.plan == p.plan
                && q.workers_launched_min == p.workers_launched_min
        };
        if points[..i].iter().any(|q| same(&q)) {
            continue;
        }
        let group: Vec<&Point> = points[i..].iter().filter(same).collect();
        if group.len() < 2 {
            continue;
        }
        let lo = group.iter().map(|q| q.client_ms).fold(f64::INFINITY, f64::min);
        let hi = group.iter().map(|q| q.client_ms).fold(0.0, f64::max);
        let spread = 100.0 * (hi / lo - 1.0);
        if best.as_ref().is_none_or(|b| spread > b.0) {
            let ws: Vec<String> = group.iter().map(|q| q.workers.to_string()).collect();
            let label = format!("{} leader {} at W = {}", p.case, if p.leader { "on" } else { "off" }, ws.join(", "));
            best = Some((spread, label));
        }
    }
    best
}

/// The leader-bound Gather at one leader setting: which W ran fastest, measured and
/// predicted (0 = serial), and each W's speedup.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundGather {
    pub leader: bool,
    pub best_measured: u32,
    pub best_predicted: u32,
    /// The worker counts (0 = serial) whose measured time the runs cannot tell from the
    /// best's (within [`RESOLVED_SE`] standard errors of the difference), the best included.
    pub best_measured_ties: Vec<u32>,
    pub speedups: Vec<Speedup>,
}

impl BoundGather {
    /// Points where parallelism helps in one and hurts in the other (a speedup of exactly 1
    /// on either side counts as neither).
    pub fn sign_misses(&self) -> Vec<&Speedup> {
        self.speedups.iter().filter(|s| (s.measured - 1.0) * (s.predicted - 1.0) < 0.0).collect()
    }

    /// The sign misses where the measurement tells the sign ([`Speedup::sign_resolved`]).
    pub fn resolved_sign_misses(&self) -> Vec<&Speedup> {
        self.sign_misses().into_iter().filter(|s| s.sign_resolved()).collect()
    }

    /// Whether the predicted best W is one the runs cannot tell from the measured best.
    pub fn best_within_ties(&self) -> bool {
        self.best_measured_ties.contains(&self.best_predicted)
    }
}

/// The leader-bound Gather's checks, one per leader setting measured.
pub fn leader_bound(points: &[Point]) -> Vec<BoundGather> {
    let Some(serial) = points.iter().find(|p| p.case == LEADER_BOUND_CASE && p.workers == 0) else { return vec![] };
    let all = speedups(points);
    let mut out = vec![];
    for leader in [true, false] {
        let pts: Vec<&Point> =
            points.iter().filter(|p| p.case == LEADER_BOUND_CASE && p.workers > 0 && p.leader == leader).collect();
        if pts.is_empty() {
            continue;
        }
        // The serial point, and a point PostgreSQL planned without workers (one worker and no
        // leader participation: it ran the serial plan), stand for 0.
        let w_of = |p: &Point| if p.workers_planned == 0 { 0 } else { p.workers };
        // The fastest point by `t` (the serial one unless another is faster).
        let best = |t: &dyn Fn(&Point) -> Option<f64>| {
            let mut best = (serial, t(serial).unwrap_or(f64::INFINITY));
            for &p in &pts {
                if let Some(v) = t(p).filter(|v| *v < best.1) {
                    best = (p, v);
                }
            }
            best.0
        };
        let top = best(&|p: &Point| Some(p.client_ms));
        let best_measured = w_of(top);
        // The counts the runs cannot tell from the measured best.
        let se = |p: &Point| median_se(p.client_cv, p.client_runs) * p.client_ms;
        let tied = |p: &Point| p.client_ms - top.client_ms <= RESOLVED_SE * se(p).hypot(se(top));
        let mut best_measured_ties: Vec<u32> =
            std::iter::once(serial).chain(pts.iter().copied()).filter(|p| tied(p)).map(w_of).collect();
        best_measured_ties.sort_unstable();
        best_measured_ties.dedup();
        out.push(BoundGather {
            leader,
            best_measured,
            best_predicted: w_of(best(&|p: &Point| p.predicted_client_ms)),
            best_measured_ties,
            speedups: all.iter().filter(|s| s.case == LEADER_BOUND_CASE && s.leader == leader).cloned().collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(case: &str, w: u32, leader: bool, client: f64, predicted: f64, cv: f64) -> Point {
        Point {
            case: case.into(),
            workers: w,
            leader,
            workers_planned: w.min(2),
            client_ms: client,
            client_cv: cv,
            client_runs: 27,
            predicted_client_ms: Some(predicted),
            ..Point::default()
        }
    }

    #[test]
    fn short_speedups_are_those_of_cases_whose_serial_run_is_short_with_their_noise() {
        let points = vec![
            pt("short", 0, true, 20.0, 20.0, 0.02),
            pt("short", 2, true, 16.0, 14.0, 0.09),
            pt("long", 0, true, 200.0, 200.0, 0.02),
            pt("long", 2, true, 100.0, 100.0, 0.02),
        ];
        let s = short_speedups(&points, 50.0);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(within_bar(&s), 0, "{s:?}");
        let s = &s[0];
        assert_eq!((s.case.as_str(), s.workers), ("short", 2));
        assert!((s.measured - 1.25).abs() < 1e-12 && (s.predicted - 20.0 / 14.0).abs() < 1e-12);
        assert!((s.error_pct - 100.0 * (20.0 / 14.0 - 1.25) / 1.25).abs() < 1e-9);
        // Both medians' standard errors: 1.2533 * cv / sqrt(27), combined.
        let want = 100.0 * (1.2533 * 0.02 / 27f64.sqrt()).hypot(1.2533 * 0.09 / 27f64.sqrt());
        assert!((s.se_pct - want).abs() < 1e-9, "{} vs {want}", s.se_pct);
        // A point where PostgreSQL chose a serial plan has no speedup to check.
        let mut serial_plan = pt("short", 1, false, 20.0, 20.0, 0.02);
        serial_plan.workers_planned = 0;
        assert_eq!(short_speedups(&[points[0].clone(), serial_plan], 50.0).len(), 0);
    }

    #[test]
    fn the_same_plan_at_several_w_says_how_far_apart_it_ran() {
        let mut points = vec![
            pt("a", 2, true, 20.0, 18.0, 0.05),
            pt("a", 3, true, 21.0, 18.0, 0.05),
            pt("a", 4, true, 22.0, 18.0, 0.05),
            pt("a", 2, false, 30.0, 28.0, 0.05),
            pt("b", 2, true, 10.0, 10.0, 0.05),
            pt("b", 3, true, 15.0, 10.0, 0.05),
        ];
        for p in &mut points {
            p.workers_launched_min = Some(2);
        }
        // b's two points ran another plan each: not the same plan.
        points[5].plan = "another".into();
        let (spread, which) = same_plan_spread(&points).unwrap();
        assert!((spread - 10.0).abs() < 1e-9, "{spread}");
        assert_eq!(which, "a leader on at W = 2, 3, 4");
        assert_eq!(same_plan_spread(&points[3..5]), None);
    }

    #[test]
    fn the_leader_bound_gathers_best_w_and_sign_misses() {
        let g = LEADER_BOUND_CASE;
        let points = vec![
            pt(g, 0, true, 100.0, 100.0, 0.02),
            pt(g, 1, true, 80.0, 105.0, 0.02), // helps; predicted to hurt
            pt(g, 2, true, 110.0, 120.0, 0.02),
            pt(g, 1, false, 101.0, 99.0, 0.02),
        ];
        let b = leader_bound(&points);
        assert_eq!(b.len(), 2);
        let on = &b[0];
        assert!(on.leader);
        assert_eq!((on.best_measured, on.best_predicted), (1, 0));
        let misses: Vec<u32> = on.sign_misses().iter().map(|s| s.workers).collect();
        assert_eq!(misses, vec![1]);
        let off = &b[1];
        assert_eq!((off.best_measured, off.best_predicted), (0, 1));
        assert_eq!(off.sign_misses().len(), 1);
    }

    #[test]
    fn a_sign_or_best_w_the_runs_cannot_tell_is_said_so() {
        let g = LEADER_BOUND_CASE;
        // 27 runs at a robust CV of 5%: each median's SE 1.2%, a speedup's about 1.7%.
        let points = vec![
            pt(g, 0, true, 100.0, 100.0, 0.05),
            pt(g, 1, true, 99.0, 102.0, 0.05), // 1.01x measured, 0.98x predicted: within 2 SE of 1
            pt(g, 2, true, 90.0, 110.0, 0.05), // 1.11x measured, 0.91x predicted: a sign the runs tell
            pt(g, 3, true, 95.0, 98.0, 0.05),  // 5.6% slower than W = 2: more than 2 SE apart
        ];
        let on = &leader_bound(&points)[0];
        let misses: Vec<u32> = on.sign_misses().iter().map(|s| s.workers).collect();
        assert_eq!(misses, vec![1, 2]);
        let resolved: Vec<u32> = on.resolved_sign_misses().iter().map(|s| s.workers).collect();
        assert_eq!(resolved, vec![2], "W = 1's 1% is inside its 2 SE of 1");
        assert_eq!((on.best_measured, on.best_predicted), (2, 3));
        assert_eq!(
            on.best_measured_ties,
            vec![2],
            "W = 0, 1 and 3, 11%, 10% and 5.6% slower than W = 2, are told apart"
        );
        assert!(!on.best_within_ties());
        // Noisier runs (CV 20%: a median's SE 4.8%) cannot tell 0, 2 and 3 apart, nor any sign.
        let noisy: Vec<Point> = points.iter().map(|p| Point { client_cv: 0.20, ..p.clone() }).collect();
        let on = &leader_bound(&noisy)[0];
        assert_eq!(on.best_measured_ties, vec![0, 1, 2, 3]);
        assert!(on.best_within_ties());
        assert!(on.resolved_sign_misses().is_empty());
    }

    #[test]
    fn a_point_that_ran_the_serial_plan_is_no_better_worker_count() {
        let g = LEADER_BOUND_CASE;
        let mut serial_again = pt(g, 1, false, 99.0, 100.0, 0.02);
        serial_again.workers_planned = 0;
        let points = vec![pt(g, 0, true, 100.0, 100.0, 0.02), serial_again, pt(g, 2, false, 150.0, 140.0, 0.02)];
        let b = leader_bound(&points);
        let off = &b[0];
        assert!(!off.leader);
        assert_eq!((off.best_measured, off.best_predicted), (0, 0), "1% faster in the same plan is noise");
    }
}
