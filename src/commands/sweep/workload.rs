//! `pqsim sweep WORKLOAD.toml --vary sessions=1,2,4,8 --vary max_parallel_workers_per_gather=0,2`:
//! a grid over a workload's arrivals (`sessions`, `rate_per_s`, `think_time_ms`), settings and
//! table what-ifs, times hardware. Each point is one `pqsim workload` run (its replications
//! seeded as there, so a point reproduces with `pqsim workload ... --seed SEED`). Outputs:
//! workload-sweep.csv (one row per point and class) and, per class, p95 latency against the
//! first varied arrival key (else the first varied key), one line per value of the others.

use super::vary::{self, Target, Vary};
use super::{file_safe, in_pool, text_table, with_context, SweepArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::render::atomic;
use crate::render::plot::{self, SeriesWithError};
use crate::workload::{run_workload, WorkloadOutput};

/// Whether the sweep's input is a workload file; its text when it is.
pub(super) fn detect(a: &SweepArgs) -> Result<Option<String>> {
    let text = config::read_text(&a.scenario)?;
    Ok(config::is_workload_text(&text).then_some(text))
}

struct Point {
    hw: String,
    idx: Vec<usize>,
    out: WorkloadOutput,
}

fn run_point(a: &SweepArgs, text: &str, hw: &str, idx: &[usize]) -> Result<WorkloadOutput> {
    let w = vary::point_whatif(&a.whatif, &a.vary, idx);
    let mut wl = config::load_workload_str(&a.scenario, text, hw, &w.to_whatif())?;
    for (v, &i) in a.vary.iter().zip(idx) {
        if let Target::Workload(k) = v.target {
            let x = k.value(&v.values[i]).map_err(Error::input)?;
            wl.set(k, x).map_err(|e| Error::input(format!("--vary {e}")))?;
        }
    }
    // --seed (default 1), not the file's: `pqsim workload ... --seed SEED` reproduces a point.
    run_workload(&wl, a.seed, a.replications)
}

/// The key on the charts' x axis: the first varied arrival key, else the first varied key.
fn x_key(vary: &[Vary]) -> usize {
    vary.iter().position(|v| matches!(v.target, Target::Workload(_))).unwrap_or(0)
}

pub(super) fn run(a: &SweepArgs, text: &str) -> Result<()> {
    let combos = vary::combinations(&a.vary);
    let mut points = vec![];
    for hw in &a.hardware {
        for idx in &combos {
            let ctx = format!("{} on {hw}", vary::describe(&a.vary, idx));
            let out = in_pool(a.threads, || run_point(a, text, hw, idx))?.map_err(|e| with_context(e, &ctx))?;
            points.push(Point { hw: hw.clone(), idx: idx.clone(), out });
        }
    }
    let dir = &a.output;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (header, rows) = table(a, &points);
    atomic::write_csv(&dir.join("workload-sweep.csv"), &header, rows.clone())?;
    plots(a, &points)?;
    let mut shown = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    shown.extend(rows);
    print!("{}", text_table(&shown));
    eprintln!("wrote {}", dir.join("workload-sweep.csv").display());
    Ok(())
}

fn f3(x: f64) -> String {
    if x.is_finite() {
        format!("{:.3}", x + 0.0)
    } else {
        String::new()
    }
}

fn table(a: &SweepArgs, points: &[Point]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["hardware".to_string()];
    header.extend(a.vary.iter().map(|v| v.key.clone()));
    for h in [
        "class",
        "completed",
        "throughput_qps",
        "latency_ms_mean",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p95_ci95_lo",
        "latency_ms_p95_ci95_hi",
        "latency_ms_p99",
        "workers_planned_mean",
        "workers_launched_mean",
        "launched_below_planned_share",
        "cpu_utilization",
        "worker_slots_busy_mean",
        "run_queue_mean",
    ] {
        header.push(h.to_string());
    }
    let mut rows = vec![];
    for p in points {
        let s = &p.out.stats;
        for c in &s.classes {
            let mut r = vec![p.hw.clone()];
            r.extend(vary::values_of(&a.vary, &p.idx));
            r.extend([
                c.name.clone(),
                c.completed.to_string(),
                f3(c.throughput_qps),
                f3(c.latency_mean_ms),
                f3(c.latency_p50_ms),
                f3(c.latency_p95_ms),
                f3(c.latency_p95_ci95.0),
                f3(c.latency_p95_ci95.1),
                f3(c.latency_p99_ms),
                f3(c.workers_planned_mean),
                f3(c.workers_launched_mean),
                f3(c.launched_below_planned_share),
                f3(s.cpu_utilization),
                f3(s.worker_slots_busy_mean),
                f3(s.run_queue_mean),
            ]);
            rows.push(r);
        }
    }
    (header, rows)
}

/// Per class: p95 against the x key, one line per hardware and value of the other keys.
fn plots(a: &SweepArgs, points: &[Point]) -> Result<()> {
    let Some(first) = points.first() else { return Ok(()) };
    let xk = x_key(&a.vary);
    let xv = &a.vary[xk];
    for (c, class) in first.out.stats.classes.iter().enumerate() {
        let mut series: Vec<SeriesWithError> = vec![];
        for p in points {
            let others: Vec<String> =
                a.vary.iter().enumerate().filter(|(i, _)| *i != xk).map(|(i, v)| v.label(p.idx[i])).collect();
            let mut label = others.join(", ");
            if a.hardware.len() > 1 {
                label = format!("{} {label}", p.hw).trim().to_string();
            }
            if label.is_empty() {
                label = "p95".into();
            }
            let cs = &p.out.stats.classes[c];
            if !cs.latency_p95_ms.is_finite() {
                continue;
            }
            let (lo, hi) = cs.latency_p95_ci95;
            let (lo, hi) =
                if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (cs.latency_p95_ms, cs.latency_p95_ms) };
            let pt = (xv.numeric(p.idx[xk]), cs.latency_p95_ms, lo, hi);
            match series.iter_mut().find(|s| s.label == label) {
                Some(s) => s.points.push(pt),
                None => series.push(SeriesWithError::new(label, vec![pt])),
            }
        }
        if series.is_empty() {
            continue;
        }
        let stem = a.output.join(format!("p95-vs-{}-{}", file_safe(&xv.key), file_safe(&class.name)));
        let title = format!("{}: p95 latency of {} vs {}", first.out.name, class.name, xv.key);
        plot::line_chart(&stem, &title, (&xv.key, "p95 latency (ms)"), &series).map_err(|e| e.into_error(&stem))?;
    }
    Ok(())
}
