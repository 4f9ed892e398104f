//! `workload --output DIR` plots: each class's latency percentiles (mean over replications,
//! bars from the lowest to the highest replication), and the server over time (CPU, worker
//! slots in use, run queue) in the first replication.

use super::plot::{self, SeriesWithError};
use crate::error::{Error, Result};
use crate::workload::{percentile, WorkloadOutput};
use std::path::Path;

const PERCENTILES: [f64; 7] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

fn perr(dir: &Path, what: &str, e: plot::PlotError) -> Error {
    e.into_error(&dir.join(what))
}

/// Per class: (percentile, mean over replications, min, max) of latency.
fn latency_series(o: &WorkloadOutput) -> Vec<SeriesWithError> {
    let mut out = vec![];
    for (c, cp) in o.classes.iter().enumerate() {
        let per_run: Vec<Vec<f64>> = o
            .runs
            .iter()
            .map(|r| {
                let mut v: Vec<f64> =
                    r.queries.iter().filter(|q| q.class == c && !q.warmup).map(|q| q.latency_ms()).collect();
                v.sort_by(f64::total_cmp);
                v
            })
            .filter(|v| !v.is_empty())
            .collect();
        if per_run.is_empty() {
            continue;
        }
        let points = PERCENTILES
            .iter()
            .map(|&p| {
                let xs: Vec<f64> = per_run.iter().map(|v| percentile(v, p)).collect();
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (p, mean, lo, hi)
            })
            .collect();
        out.push(SeriesWithError::new(cp.name.clone(), points));
    }
    out
}

/// The first replication's timeline, thinned to at most 80 points.
fn server_series(o: &WorkloadOutput) -> Vec<SeriesWithError> {
    let Some(run) = o.runs.first() else { return vec![] };
    let step = run.timeline.len().div_ceil(80).max(1);
    let pts: Vec<_> = run.timeline.iter().step_by(step).collect();
    let line = |label: &str, f: &dyn Fn(&crate::exec::server::Sample) -> f64| {
        SeriesWithError::new(label, pts.iter().map(|s| (s.t_ms / 1e3, f(s), f(s), f(s))).collect())
    };
    vec![
        line("cores busy", &|s| s.cores_busy),
        line("worker slots in use", &|s| s.slots),
        line("run queue (runnable processes)", &|s| s.runnable),
        line("queries in flight", &|s| s.active),
    ]
}

pub fn write_plots(dir: &Path, o: &WorkloadOutput) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lat = latency_series(o);
    if !lat.is_empty() {
        let title = format!("{}: latency percentiles on {} ({} sessions)", o.name, o.hardware, o.sessions);
        plot::line_chart(dir.join("latency-percentiles"), &title, ("percentile", "latency (ms)"), &lat)
            .map_err(|e| perr(dir, "latency-percentiles", e))?;
    }
    let srv = server_series(o);
    if srv.iter().any(|s| !s.points.is_empty()) {
        let title = format!("{}: server over time (replication 1, {} cores)", o.name, o.cores);
        plot::line_chart(dir.join("server-timeline"), &title, ("time (s)", "count (mean per bucket)"), &srv)
            .map_err(|e| perr(dir, "server-timeline", e))?;
    }
    Ok(())
}
