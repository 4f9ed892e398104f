//! The sweep's charts (PNG + SVG): speedup with reference lines and USL fits, wall time per
//! hardware, and the time split of the leader and the mean worker at every point.

use super::grid::Point;
use super::summary::{group_points, FitGroup, PointStats};
use super::vary::Vary;
use super::{file_safe, leader_and_mean_worker_bars, plot_into, short, SweepArgs, WORKERS_KEY};
use crate::error::Result;
use crate::render::plot::{self, Overlay, OverlayKind, SeriesWithError};
use std::path::PathBuf;

/// Series of a line chart: one per group of points differing only in the x key.
struct LineGroup {
    label: String,
    members: Vec<usize>,
}

fn line_groups(a: &SweepArgs, points: &[Point], hw_names: &[String], xk: usize) -> Vec<LineGroup> {
    let is_x = |v: &Vary| v.key == a.vary[xk].key;
    group_points(points, &a.vary, &is_x)
        .into_iter()
        .map(|m| {
            let p = &points[m[0]];
            let mut label = hw_names[p.hw].clone();
            for (j, (v, &i)) in a.vary.iter().zip(&p.idx).enumerate() {
                if j != xk {
                    label.push_str(&format!(", {}={}", v.key, v.values[i]));
                }
            }
            LineGroup { label, members: m }
        })
        .collect()
}

/// What every chart of one sweep shares: the data and the x axis (the workers key when varied,
/// else the first key).
struct Charts<'a> {
    a: &'a SweepArgs,
    points: &'a [Point],
    hw_names: &'a [String],
    st: &'a [PointStats],
    xk: usize,
    workers_x: bool,
    x_label: String,
    groups: Vec<LineGroup>,
}

impl Charts<'_> {
    fn x_of(&self, pi: usize) -> f64 {
        self.a.vary[self.xk].numeric(self.points[pi].idx[self.xk])
    }

    fn scenario(&self) -> &str {
        &self.points[0].sc.name
    }
}

pub(super) fn write_sweep_plots(
    a: &SweepArgs,
    points: &[Point],
    hw_names: &[String],
    st: &[PointStats],
    fits: &[FitGroup],
) -> Result<Vec<PathBuf>> {
    let xk = a.vary.iter().position(|v| v.key == WORKERS_KEY).unwrap_or(0);
    let workers_x = a.vary[xk].key == WORKERS_KEY;
    let x_label = if workers_x { format!("workers ({WORKERS_KEY})") } else { a.vary[xk].key.clone() };
    let groups = line_groups(a, points, hw_names, xk);
    let c = Charts { a, points, hw_names, st, xk, workers_x, x_label, groups };
    let mut written = speedup_chart(&c, fits)?;
    written.extend(wall_time_chart(&c)?);
    written.extend(time_split_charts(&c)?);
    Ok(written)
}

/// Speedup vs x, one line per group, with the ideal and W+1 reference lines and a USL curve per
/// line when workers are on x. No chart when no point has a serial baseline.
fn speedup_chart(c: &Charts, fits: &[FitGroup]) -> Result<Vec<PathBuf>> {
    let st = c.st;
    let mut series = vec![];
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for g in &c.groups {
        let pts: Vec<(f64, f64, f64, f64)> =
            g.members.iter().filter_map(|&pi| st[pi].speedup.map(|(s, lo, hi)| (c.x_of(pi), s, lo, hi))).collect();
        if pts.is_empty() {
            continue;
        }
        for p in &pts {
            xmin = xmin.min(p.0);
            xmax = xmax.max(p.0);
        }
        let mut label = g.label.clone();
        if c.workers_x {
            let cap = g.members.iter().map(|&pi| st[pi].launched_max()).max().unwrap_or(0);
            let asked = g.members.iter().map(|&pi| c.x_of(pi)).fold(0.0, f64::max);
            if f64::from(cap) < asked {
                label.push_str(&format!(" (at most {cap} launched)"));
            }
        }
        series.push(SeriesWithError::new(label, pts));
    }
    if series.is_empty() {
        return Ok(vec![]);
    }
    let overlays = if c.workers_x { reference_overlays(c, fits, &series, xmin, xmax) } else { vec![] };
    let title = format!("Speedup: {}", c.scenario());
    plot_into(&c.a.output, "speedup", |stem| plot::speedup_chart(stem, &title, &c.x_label, &series, &overlays))
}

/// The ideal line, the leader + workers bound, and a USL curve per series drawn where workers
/// were actually launched.
fn reference_overlays(c: &Charts, fits: &[FitGroup], series: &[SeriesWithError], xmin: f64, xmax: f64) -> Vec<Overlay> {
    let st = c.st;
    let mut overlays = vec![];
    // Reference lines stop a little above the data so a flat curve stays readable.
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.3)).fold(1.0, f64::max);
    let cap = (1.6 * top).max(2.0);
    let line = |offset: f64, from: f64| {
        let to = xmax.min(cap - offset).max(from);
        vec![(from, from + offset), (to, to + offset)]
    };
    let from = xmin.max(1.0);
    overlays.push(Overlay::new("ideal, workers only (S = W)", OverlayKind::Ideal, line(0.0, from)));
    overlays.push(Overlay::new("leader + workers bound (W+1)", OverlayKind::Bound, line(1.0, xmin)));
    let mut si = 0;
    for g in &c.groups {
        if !g.members.iter().any(|&pi| st[pi].speedup.is_some()) {
            continue;
        }
        if let Some(f) = fits.iter().find(|f| f.members == g.members) {
            if let Ok(u) = &f.usl {
                let top = g.members.iter().map(|&pi| st[pi].launched_max()).max().unwrap_or(0);
                let hi = (f64::from(top)).min(xmax).max(xmin);
                let leader =
                    f64::from(u8::from(c.points[g.members[0]].sc.settings.flag("parallel_leader_participation")));
                let label = format!("USL fit {} (σ={:.3}, κ={:.4})", short(&g.label), u.sigma, u.kappa);
                let o = Overlay::from_fn(label, OverlayKind::Fit, xmin, hi, |x| {
                    u.predict(if x > 0.0 { x + leader } else { 1.0 }.max(1.0))
                });
                overlays.push(o.for_series(si));
            }
        }
        si += 1;
    }
    overlays
}

/// Wall time per hardware (always; called the hardware comparison with several profiles).
fn wall_time_chart(c: &Charts) -> Result<Vec<PathBuf>> {
    let wall_series: Vec<SeriesWithError> = c
        .groups
        .iter()
        .map(|g| {
            SeriesWithError::from_summaries(
                g.label.clone(),
                &g.members.iter().map(|&pi| (c.x_of(pi), c.st[pi].wall)).collect::<Vec<_>>(),
            )
        })
        .collect();
    // Each line's 80% interval for one real run: its two edges, dashed in the line's colour.
    let mut bands = vec![];
    for (gi, g) in c.groups.iter().enumerate() {
        for (edge, label) in [(0, format!("{}: one real run, 80%", g.label)), (1, String::new())] {
            let pts = g.members.iter().map(|&pi| (c.x_of(pi), c.st[pi].p80[edge])).collect();
            bands.push(Overlay::new(label, OverlayKind::Interval, pts).for_series(gi));
        }
    }
    let scenario = c.scenario();
    let (stem, title) = if c.hw_names.len() > 1 {
        ("hardware", format!("Wall time by hardware: {scenario}"))
    } else {
        ("wall-time", format!("Wall time: {scenario} on {}", c.hw_names[0]))
    };
    plot_into(&c.a.output, stem, |s| plot::hardware_comparison(s, &title, &c.x_label, &wall_series, &bands))
}

/// Time split per hardware: the leader and the mean worker at every grid point.
fn time_split_charts(c: &Charts) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    for (h, hname) in c.hw_names.iter().enumerate() {
        let mut bars = vec![];
        for (pi, p) in c.points.iter().enumerate().filter(|(_, p)| p.hw == h) {
            let label = c.a.vary.iter().zip(&p.idx).map(|(v, &i)| v.label(i)).collect::<Vec<_>>().join(", ");
            bars.extend(leader_and_mean_worker_bars(&label, &c.st[pi].procs));
        }
        let stem = if c.hw_names.len() > 1 { format!("time-split-{}", file_safe(hname)) } else { "time-split".into() };
        let title = format!("Where the time goes: {} on {hname}", c.scenario());
        written.extend(plot_into(&c.a.output, &stem, |s| plot::stacked_time_split(s, &title, &bars))?);
    }
    Ok(written)
}
