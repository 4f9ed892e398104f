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
pub(crate) fn category(state_label: &str) -> Option<&str> {
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

pub(crate) fn process_name(p: usize) -> String {
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

/// The tuple-queue fill of a trace: one series per worker's queue (queue j belongs to worker j),
/// thinned to at most `MAX_QUEUE_POINTS` points each; empty when the run had no queue.
pub fn queue_series(trace: &Trace) -> Vec<QueueSeries> {
    per_queue(trace)
        .into_iter()
        .map(|(j, pts)| QueueSeries::new(format!("worker {j}"), thin(pts, MAX_QUEUE_POINTS)))
        .collect()
}

fn per_queue(trace: &Trace) -> BTreeMap<usize, Vec<(f64, f64)>> {
    let mut per_queue: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for (t, j, b) in &trace.queue {
        per_queue.entry(*j).or_default().push((*t as f64 / 1e6, *b));
    }
    per_queue
}

/// A whole run of a busy queue is a solid block: the first samples up close (about 40 changes
/// per queue), where the fill and drain cycles are visible, as (from ms, to ms, series). `None`
/// when the whole run is that short already.
pub fn zoomed_queue_series(trace: &Trace) -> Option<(f64, f64, Vec<QueueSeries>)> {
    let per_queue = per_queue(trace);
    let mut all_times: Vec<f64> = per_queue.values().flat_map(|v| v.iter().map(|p| p.0)).collect();
    all_times.sort_by(f64::total_cmp);
    let n = (ZOOM_SAMPLES_PER_QUEUE * per_queue.len()).min(all_times.len());
    if n == 0 || n >= all_times.len() {
        return None;
    }
    let (t0, t1) = (all_times[0], all_times[n - 1]);
    let zoomed = per_queue
        .iter()
        .map(|(j, pts)| QueueSeries::new(format!("worker {j}"), pts.iter().copied().filter(|p| p.0 <= t1).collect()))
        .collect();
    Some((t0, t1, zoomed))
}

/// The state lanes of a trace: one per process, leader first, intervals in ms labelled with the
/// time categories of the time-split charts (idle time left out).
pub fn lanes(trace: &Trace) -> Vec<Lane> {
    let mut lanes: BTreeMap<usize, Vec<(f64, f64, String)>> = BTreeMap::new();
    for iv in &trace.intervals {
        let entry = lanes.entry(iv.process).or_default();
        if let Some(c) = category(iv.state.label()) {
            if iv.end > iv.start {
                entry.push((iv.start as f64 / 1e6, iv.end as f64 / 1e6, c.to_string()));
            }
        }
    }
    lanes.into_iter().map(|(p, ivs)| Lane::new(process_name(p), ivs)).collect()
}

/// Write `queue-fill` and `timeline` (PNG + SVG) into `dir`; returns the files written.
/// `capacity_bytes` is the tuple queue size of the hardware profile.
pub fn write(dir: &Path, trace: &Trace, title: &str, capacity_bytes: f64) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    let perr = |what: &str, e: plot::PlotError| e.into_error(&dir.join(what));

    // Queue fill: one step line per worker's queue.
    let series = queue_series(trace);
    if !series.is_empty() {
        let w = plot::queue_fill(
            dir.join("queue-fill"),
            &format!("Tuple queue fill: {title}"),
            &series,
            Some(capacity_bytes),
        )
        .map_err(|e| perr("queue-fill", e))?;
        written.extend([w.png, w.svg]);
        if let Some((t0, t1, zoomed)) = zoomed_queue_series(trace) {
            let title = format!("Tuple queue fill, {:.1} to {:.1} ms: {title}", t0, t1);
            let w = plot::queue_fill(dir.join("queue-fill-zoom"), &title, &zoomed, Some(capacity_bytes))
                .map_err(|e| perr("queue-fill-zoom", e))?;
            written.extend([w.png, w.svg]);
        }
    }

    // State timeline: one lane per process, leader first.
    let lanes = lanes(trace);
    if !lanes.is_empty() {
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
    use crate::exec::{Interval, State};

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

    fn trace(changes_per_queue: usize) -> Trace {
        let mut t = Trace::default();
        for j in 0..2 {
            for i in 0..changes_per_queue {
                t.queue.push((i as u64 * 1_000_000, j, (i % 8) as f64 * 1024.0));
            }
        }
        t.intervals.push(Interval { process: 0, state: State::Cpu, start: 0, end: 2_000_000 });
        t.intervals.push(Interval { process: 1, state: State::Idle, start: 0, end: 1_000_000 });
        t.intervals.push(Interval { process: 1, state: State::MqSend, start: 1_000_000, end: 3_000_000 });
        t
    }

    #[test]
    fn one_series_per_queue_and_a_close_up_only_of_long_runs() {
        let t = trace(100);
        let s = queue_series(&t);
        assert_eq!(s.iter().map(|q| q.label.as_str()).collect::<Vec<_>>(), ["worker 0", "worker 1"]);
        let (t0, t1, z) = zoomed_queue_series(&t).expect("a close-up of a long run");
        assert_eq!((t0, t1), (0.0, 39.0), "the first 40 changes per queue, in ms");
        assert!(z.iter().all(|q| q.points.iter().all(|p| p.0 <= t1)));
        assert!(zoomed_queue_series(&trace(30)).is_none(), "a short run is its own close-up");
    }

    #[test]
    fn lanes_are_processes_in_order_without_idle_time() {
        let l = lanes(&trace(1));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].label, "leader");
        assert_eq!(l[1].label, "worker 0");
        assert_eq!(l[1].intervals, [(1.0, 3.0, "MessageQueueSend".to_string())]);
    }
}
