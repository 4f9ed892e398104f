//! Statistics of a workload over its replications: per class latency percentiles (the mean
//! of each replication's percentile, with a Student-t 95 % interval for p95), completed
//! queries, throughput, the worker pool's shortfall; server-wide time-weighted means.

use crate::analysis::stats::Summary;
use crate::error::{Error, Result};
use crate::exec::server::{ClassPlan, QueryRecord, ServerResult};

/// One class over all replications (means per replication).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStats {
    pub name: String,
    /// Counted queries per replication (mean, rounded).
    pub completed: u64,
    pub throughput_qps: f64,
    pub latency_mean_ms: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_p95_ci95: (f64, f64),
    pub workers_planned_mean: f64,
    pub workers_launched_mean: f64,
    /// Share of queries whose Gather got fewer workers than planned.
    pub launched_below_planned_share: f64,
}

/// The whole server over all replications.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadStats {
    /// The measured window (after the warm-up), s, mean over replications.
    pub duration_s: f64,
    pub queries_completed: u64,
    pub throughput_qps: f64,
    pub cpu_utilization: f64,
    pub worker_slots_busy_mean: f64,
    pub run_queue_mean: f64,
    pub active_queries_mean: f64,
    pub classes: Vec<ClassStats>,
}

/// Percentile `p` (0..=100) of sorted values, linearly interpolated between closest ranks.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * (p / 100.0).clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The mean of the finite values, or 0 when there are none.
fn mean_finite(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    mean(&v)
}

struct PerRun {
    n: usize,
    qps: f64,
    mean: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    planned: f64,
    launched: f64,
    below: f64,
}

fn per_run(recs: &[&QueryRecord], window_s: f64) -> PerRun {
    let mut lat: Vec<f64> = recs.iter().map(|q| q.latency_ms()).collect();
    lat.sort_by(f64::total_cmp);
    let n = recs.len();
    let share = |f: &dyn Fn(&QueryRecord) -> f64| {
        if n == 0 {
            f64::NAN
        } else {
            recs.iter().map(|q| f(q)).sum::<f64>() / n as f64
        }
    };
    PerRun {
        n,
        qps: if window_s > 0.0 { n as f64 / window_s } else { 0.0 },
        mean: if n == 0 { f64::NAN } else { mean(&lat) },
        p50: percentile(&lat, 50.0),
        p95: percentile(&lat, 95.0),
        p99: percentile(&lat, 99.0),
        planned: share(&|q| q.planned as f64),
        launched: share(&|q| q.launched as f64),
        below: share(&|q| f64::from(u8::from(q.launched < q.planned))),
    }
}

/// Statistics of the counted queries (not in the warm-up) of every replication.
pub fn summarize(classes: &[ClassPlan], runs: &[ServerResult]) -> Result<WorkloadStats> {
    if runs.is_empty() {
        return Err(Error::Simulation("no replication ran".into()));
    }
    let reps = runs.len() as f64;
    let window = |r: &ServerResult| r.window_ns as f64 / 1e9;
    let mut out_classes = vec![];
    for (c, cp) in classes.iter().enumerate() {
        let pr: Vec<PerRun> = runs
            .iter()
            .map(|r| {
                let recs: Vec<&QueryRecord> = r.queries.iter().filter(|q| q.class == c && !q.warmup).collect();
                per_run(&recs, window(r))
            })
            .collect();
        let p95s: Vec<f64> = pr.iter().map(|p| p.p95).filter(|x| x.is_finite()).collect();
        let ci = match Summary::from_slice(&p95s) {
            Ok(s) => (s.ci95_lo, s.ci95_hi),
            Err(_) => (f64::NAN, f64::NAN),
        };
        let col = |f: &dyn Fn(&PerRun) -> f64| pr.iter().map(f).collect::<Vec<f64>>();
        out_classes.push(ClassStats {
            name: cp.name.clone(),
            completed: (pr.iter().map(|p| p.n as f64).sum::<f64>() / reps).round() as u64,
            throughput_qps: mean(&col(&|p| p.qps)),
            latency_mean_ms: mean_finite(&col(&|p| p.mean)),
            latency_p50_ms: mean_finite(&col(&|p| p.p50)),
            latency_p95_ms: mean_finite(&col(&|p| p.p95)),
            latency_p99_ms: mean_finite(&col(&|p| p.p99)),
            latency_p95_ci95: ci,
            workers_planned_mean: mean_finite(&col(&|p| p.planned)),
            workers_launched_mean: mean_finite(&col(&|p| p.launched)),
            launched_below_planned_share: mean_finite(&col(&|p| p.below)),
        });
    }
    let m = |f: &dyn Fn(&ServerResult) -> f64| runs.iter().map(f).sum::<f64>() / reps;
    let completed = m(&|r| r.queries.iter().filter(|q| !q.warmup).count() as f64);
    Ok(WorkloadStats {
        duration_s: m(&|r| window(r)),
        queries_completed: completed.round() as u64,
        throughput_qps: m(&|r| {
            let w = window(r);
            if w > 0.0 {
                r.queries.iter().filter(|q| !q.warmup).count() as f64 / w
            } else {
                0.0
            }
        }),
        cpu_utilization: m(&|r| r.cpu_utilization),
        worker_slots_busy_mean: m(&|r| r.worker_slots_busy_mean),
        run_queue_mean: m(&|r| r.run_queue_mean),
        active_queries_mean: m(&|r| r.active_queries_mean),
        classes: out_classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&xs, 50.0), 3.0);
        assert_eq!(percentile(&xs, 0.0), 1.0);
        assert_eq!(percentile(&xs, 100.0), 5.0);
        assert!((percentile(&xs, 95.0) - 4.8).abs() < 1e-12);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
