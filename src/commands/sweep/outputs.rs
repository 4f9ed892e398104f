//! The sweep's files: points.csv, summary.csv, splits.csv and fits.json (each written
//! atomically), and the table printed on stdout.

use super::grid::Point;
use super::journal::Row;
use super::plots::write_sweep_plots;
use super::summary::{fit_groups, fits_json, PointStats};
use super::vary::values_of;
use super::{f3, f4, text_table, SweepArgs};
use crate::error::Result;
use crate::render::atomic;
use std::path::PathBuf;

pub(super) fn write_sweep_outputs(
    a: &SweepArgs,
    points: &[Point],
    hw_names: &[String],
    rows: &[Row],
    st: &[PointStats],
) -> Result<Vec<PathBuf>> {
    let dir = &a.output;
    let mut written = vec![];
    for (name, (header, lines)) in [
        ("points.csv", points_csv(a, points, hw_names, rows)),
        ("summary.csv", summary_csv(a, points, hw_names, st)),
        ("splits.csv", splits_csv(a, points, hw_names, st)),
    ] {
        let path = dir.join(name);
        atomic::write_csv(&path, &header, lines)?;
        written.push(path);
    }
    let groups = fit_groups(a, points, st);
    if !groups.is_empty() {
        let text = serde_json::to_string_pretty(&fits_json(a, hw_names, &groups)).expect("json") + "\n";
        let path = dir.join("fits.json");
        atomic::write(&path, text.as_bytes())?;
        written.push(path);
    }
    written.extend(write_sweep_plots(a, points, hw_names, st, &groups)?);
    Ok(written)
}

/// Header and lines of a CSV file.
type Csv = (Vec<String>, Vec<Vec<String>>);

/// The first columns of every sweep CSV: hardware, then each varied key; then `rest`.
fn header(a: &SweepArgs, rest: &[&str]) -> Vec<String> {
    let mut h: Vec<String> = vec!["hardware".into()];
    h.extend(a.vary.iter().map(|v| v.key.clone()));
    h.extend(rest.iter().map(|s| s.to_string()));
    h
}

/// points.csv: one line per grid point and replication.
fn points_csv(a: &SweepArgs, points: &[Point], hw_names: &[String], rows: &[Row]) -> Csv {
    let reps = a.replications as usize;
    let header = header(
        a,
        &[
            "replication",
            "seed",
            "wall_time_ms",
            "workers_planned",
            "workers_launched",
            "queue_full_stalls",
            "mq_send_wait_ms",
            "leader_cpu_ms",
            "leader_mq_receive_wait_ms",
            "workers_cpu_ms",
            "workers_io_wait_ms",
            "workers_startup_ms",
        ],
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        for row in &rows[pi * reps..(pi + 1) * reps] {
            let leader = row.processes.iter().find(|x| !x.0).map(|x| x.1).unwrap_or([0.0; 6]);
            let wsum = |k: usize| row.processes.iter().filter(|x| x.0).map(|x| x.1[k]).sum::<f64>();
            let mut l = vec![hw_names[p.hw].clone()];
            l.extend(row.values.iter().cloned());
            l.extend([
                row.replication.to_string(),
                row.seed.to_string(),
                format!("{:.6}", row.wall_time_ms),
                row.workers_planned.to_string(),
                row.workers_launched.to_string(),
                format!("{}", row.queue_full_stalls.round() as u64),
                f3(row.mq_send_workers()),
                f3(leader[0]),
                f3(leader[3]),
                f3(wsum(0)),
                f3(wsum(1)),
                f3(wsum(4)),
            ]);
            lines.push(l);
        }
    }
    (header, lines)
}

/// summary.csv: one line per grid point.
fn summary_csv(a: &SweepArgs, points: &[Point], hw_names: &[String], st: &[PointStats]) -> Csv {
    let reps = a.replications as usize;
    let header = header(
        a,
        &[
            "wall_time_ms_mean",
            "wall_time_ms_median",
            "ci95_lo",
            "ci95_hi",
            "speedup",
            "efficiency",
            "speedup_ci95_lo",
            "speedup_ci95_hi",
            "replications",
            "wall_time_ms_sd",
            "workers_planned",
            "workers_launched",
            "participants",
            "queue_full_stalls_mean",
            "mq_send_wait_ms_mean",
            "p80_lo",
            "p80_hi",
        ],
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        let s = &st[pi];
        let mut l = vec![hw_names[p.hw].clone()];
        l.extend(values_of(&a.vary, &p.idx));
        let (sp, eff, lo, hi) = match s.speedup {
            Some((x, lo, hi)) => (f4(x), f4(x / s.participants), f4(lo), f4(hi)),
            None => (String::new(), String::new(), String::new(), String::new()),
        };
        l.extend([
            f3(s.wall.mean),
            f3(s.wall.median),
            f3(s.wall.ci95_lo),
            f3(s.wall.ci95_hi),
            sp,
            eff,
            lo,
            hi,
            reps.to_string(),
            f3(s.wall.std_dev),
            s.workers_planned.to_string(),
            s.launched_text(),
            f3(s.participants),
            f3(s.stalls_mean),
            f3(s.mq_send_mean),
            f3(s.p80[0]),
            f3(s.p80[1]),
        ]);
        lines.push(l);
    }
    (header, lines)
}

/// splits.csv: the mean time split of every process at every point.
fn splits_csv(a: &SweepArgs, points: &[Point], hw_names: &[String], st: &[PointStats]) -> Csv {
    let header = header(
        a,
        &["process", "cpu_ms", "io_wait_ms", "mq_send_wait_ms", "mq_receive_wait_ms", "startup_ms", "other_ms"],
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        let mut w = 0;
        for (is_worker, v) in &st[pi].procs {
            let name = if *is_worker {
                w += 1;
                format!("worker {}", w - 1)
            } else {
                "leader".to_string()
            };
            let mut l = vec![hw_names[p.hw].clone()];
            l.extend(values_of(&a.vary, &p.idx));
            l.push(name);
            l.extend(v.iter().map(|x| f3(*x)));
            lines.push(l);
        }
    }
    (header, lines)
}

pub(super) fn sweep_table(a: &SweepArgs, points: &[Point], hw_names: &[String], st: &[PointStats]) -> String {
    let mut head = vec!["hardware".to_string()];
    head.extend(a.vary.iter().map(|v| v.key.clone()));
    head.extend(["launched", "wall ms", "95% CI", "speedup"].map(String::from));
    let mut rows = vec![head];
    for (pi, p) in points.iter().enumerate() {
        let s = &st[pi];
        let mut r = vec![hw_names[p.hw].clone()];
        r.extend(values_of(&a.vary, &p.idx));
        r.push(s.launched_text());
        r.push(format!("{:.1}", s.wall.mean));
        r.push(format!("{:.1} .. {:.1}", s.wall.ci95_lo, s.wall.ci95_hi));
        r.push(s.speedup.map(|x| format!("{:.2}x", x.0)).unwrap_or_default());
        rows.push(r);
    }
    text_table(&rows)
}
