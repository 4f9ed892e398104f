//! Plots of one traced run (`pqsim run --trace DIR`): tuple-queue fill over time per worker
//! (`queue-fill.png/.svg`, and a close-up of its start `queue-fill-zoom.png/.svg`) and each
//! process's state over time (`timeline.png/.svg`).
//! Glue from `exec::Trace` to `plot`; the CLI writes the CSVs next to them.

use crate::error::{Error, Result};
use crate::exec::Trace;
use crate::render::atomic;
use crate::render::plot::{self, Lane, QueueSeries};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most points drawn per queue series; longer series are thinned to the extremes of each
/// time bucket, so peaks and empties stay visible.
const MAX_QUEUE_POINTS: usize = 6000;
/// Queue changes per worker shown in the close-up chart.
const ZOOM_SAMPLES_PER_QUEUE: usize = 40;

/// The plot category of a process state (the names the time-split charts use).
fn category(state_label: &str) -> Option<&str> {
    Some(match state_label {
        "CPU" => "CPU",
        "start-up" => "start-up",
        "IO: DataFileRead" => "disk wait",
        "IPC: MessageQueueSend" => "MessageQueueSend",
        "IPC: ExecuteGather/MessageQueueReceive" => "waiting for tuples",
        "IPC: HashBuildHashInner" => "HashBuildHashInner",
        "IPC: ParallelFinish" => "ParallelFinish",
        "idle" => return None,
        other => other,
    })
}

fn process_name(p: usize) -> String {
    if p == 0 {
        "leader".into()
    } else {
        format!("worker {}", p - 1)
    }
}

/// Keep at most `max` points: per time bucket the first, the lowest, the highest and the last.
fn thin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 8 {
        return points;
    }
    let buckets = max / 4;
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let width = ((t1 - t0) / buckets as f64).max(f64::MIN_POSITIVE);
    let mut out = Vec::with_capacity(max);
    let mut i = 0;
    while i < points.len() {
        let b = ((points[i].0 - t0) / width).floor();
        let mut j = i;
        while j < points.len() && ((points[j].0 - t0) / width).floor() == b {
            j += 1;
        }
        let chunk = &points[i..j];
        let lo = chunk.iter().enumerate().min_by(|a, b| a.1 .1.total_cmp(&b.1 .1)).map(|x| x.0).unwrap_or(0);
        let hi = chunk.iter().enumerate().max_by(|a, b| a.1 .1.total_cmp(&b.1 .1)).map(|x| x.0).unwrap_or(0);
        let mut keep = vec![0, lo, hi, chunk.len() - 1];
        keep.sort_unstable();
        keep.dedup();
        out.extend(keep.into_iter().map(|k| chunk[k]));
        i = j;
    }
    out
}

/// Write `queue-fill` and `timeline` (PNG + SVG) into `dir`; returns the files written.
/// `capacity_bytes` is the tuple queue size of the hardware profile.
pub fn write(dir: &Path, trace: &Trace, title: &str, capacity_bytes: f64) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    let perr = |what: &str, e: plot::PlotError| Error::Simulation(format!("plot {what}: {e}"));

    // Queue fill: one step line per worker's queue.
    let mut per_queue: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for (t, j, b) in &trace.queue {
        per_queue.entry(*j).or_default().push((*t as f64 / 1e6, *b));
    }
    if !per_queue.is_empty() {
        let mut all_times: Vec<f64> = per_queue.values().flat_map(|v| v.iter().map(|p| p.0)).collect();
        all_times.sort_by(f64::total_cmp);
        // Queue j belongs to worker j (process j + 1).
        let series: Vec<QueueSeries> = per_queue
            .iter()
            .map(|(j, pts)| QueueSeries::new(format!("worker {j}"), thin(pts.clone(), MAX_QUEUE_POINTS)))
            .collect();
        let w = plot::queue_fill(
            dir.join("queue-fill"),
            &format!("Tuple queue fill: {title}"),
            &series,
            Some(capacity_bytes),
        )
        .map_err(|e| perr("queue-fill", e))?;
        written.extend([w.png, w.svg]);
        // A whole run of a busy queue is a solid block: also draw the first samples up close
        // (about 40 changes per queue), where the fill and drain cycles are visible.
        let n = (ZOOM_SAMPLES_PER_QUEUE * per_queue.len()).min(all_times.len());
        if n < all_times.len() {
            let (t0, t1) = (all_times[0], all_times[n - 1]);
            let zoomed: Vec<QueueSeries> = per_queue
                .iter()
                .map(|(j, pts)| {
                    QueueSeries::new(format!("worker {j}"), pts.iter().copied().filter(|p| p.0 <= t1).collect())
                })
                .collect();
            let title = format!("Tuple queue fill, {:.1} to {:.1} ms: {title}", t0, t1);
            let w = plot::queue_fill(dir.join("queue-fill-zoom"), &title, &zoomed, Some(capacity_bytes))
                .map_err(|e| perr("queue-fill-zoom", e))?;
            written.extend([w.png, w.svg]);
        }
    }

    // State timeline: one lane per process, leader first.
    let mut lanes: BTreeMap<usize, Vec<(f64, f64, String)>> = BTreeMap::new();
    for iv in &trace.intervals {
        let entry = lanes.entry(iv.process).or_default();
        if let Some(c) = category(iv.state.label()) {
            if iv.end > iv.start {
                entry.push((iv.start as f64 / 1e6, iv.end as f64 / 1e6, c.to_string()));
            }
        }
    }
    if !lanes.is_empty() {
        let lanes: Vec<Lane> = lanes.into_iter().map(|(p, ivs)| Lane::new(process_name(p), ivs)).collect();
        let w = plot::state_timeline(dir.join("timeline"), &format!("Process states: {title}"), &lanes)
            .map_err(|e| perr("timeline", e))?;
        written.extend([w.png, w.svg]);
    }
    Ok(written)
}

/// `run --trace`: the first replication's state intervals and queue fill as CSV
/// (`states.csv`, `queues.csv`), each written atomically.
pub fn write_csv(dir: &Path, out: &crate::predict::RunOutput) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let Some((trace, _)) = &out.trace else { return Ok(()) };
    let states = trace.intervals.iter().map(|iv| {
        vec![
            process_name(iv.process),
            iv.state.label().to_string(),
            format!("{:.6}", iv.start as f64 / 1e6),
            format!("{:.6}", iv.end as f64 / 1e6),
        ]
    });
    atomic::write_csv(&dir.join("states.csv"), &["process", "state", "start_ms", "end_ms"], states)?;
    let queues =
        trace.queue.iter().map(|(t, j, b)| vec![format!("{:.6}", *t as f64 / 1e6), j.to_string(), format!("{b:.0}")]);
    atomic::write_csv(&dir.join("queues.csv"), &["time_ms", "worker", "bytes_used"], queues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_extremes_and_ends() {
        let pts: Vec<(f64, f64)> =
            (0..100_000).map(|i| (i as f64, if i == 54_321 { 1e6 } else { (i % 7) as f64 })).collect();
        let t = thin(pts.clone(), 1000);
        assert!(t.len() <= 1000 + 4);
        assert_eq!(t.first(), pts.first());
        assert_eq!(t.last(), pts.last());
        assert!(t.iter().any(|p| p.1 == 1e6));
        assert!(t.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
