//! Charts for simulator results, drawn with `plotters`.
//!
//! Every public chart function takes a path *stem* and writes two files:
//! `<stem>.png` (raster, for quick viewing) and `<stem>.svg` (vector, for
//! reports), creating the parent directory if needed. Each chart carries a
//! title, axis labels with units and a legend, so it can be read on its own.
//!
//! Colours are fixed: data series cycle through [`SERIES_COLORS`]; time
//! categories (process states) use [`CATEGORIES`] / [`category_color`] in
//! every chart, so "MessageQueueSend" is the same red everywhere.
//!
//! Text uses the embedded Noto Sans font, registered once on first use.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

mod draw;
mod line;
mod queue;
mod stacked;
#[cfg(test)]
mod tests;
mod timeline;

use draw::{render, render_svg};
use line::LineChart;
use queue::QueueChart;
use stacked::StackedChart;
use timeline::TimelineChart;

use crate::analysis::stats::Summary;

/// Default chart width in pixels (all charts).
pub const WIDTH: u32 = 1024;
/// Height in pixels of the line charts (speedup, hardware, queue fill).
pub const HEIGHT: u32 = 640;

const FONT: &str = "sans-serif";
const TITLE_PX: u32 = 26;
const AXIS_DESC_PX: u32 = 19;
const TICK_PX: u32 = 16;
const LEGEND_PX: u32 = 16;

/// Colours for data series, used in order (cycled past 8).
pub const SERIES_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(214, 39, 40),   // red
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(23, 190, 207),  // cyan
];

/// Known time categories, in the order they are stacked and listed.
pub const CATEGORIES: [&str; 6] = ["CPU", "disk wait", "MessageQueueSend", "waiting for tuples", "start-up", "other"];

const CATEGORY_COLORS: [RGBColor; 6] = [
    RGBColor(44, 160, 44),   // CPU: green
    RGBColor(255, 127, 14),  // disk wait: orange
    RGBColor(214, 39, 40),   // MessageQueueSend: red
    RGBColor(31, 119, 180),  // waiting for tuples: blue
    RGBColor(148, 103, 189), // start-up: purple
    RGBColor(165, 165, 165), // other: grey
];

/// Colours for categories not in [`CATEGORIES`], in order of first appearance.
const EXTRA_CATEGORY_COLORS: [RGBColor; 4] =
    [RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(23, 190, 207), RGBColor(188, 189, 34)];

/// Colour of a known category (matched case-insensitively), else `None`.
pub fn category_color(name: &str) -> Option<RGBColor> {
    known_category(name).map(|i| CATEGORY_COLORS[i])
}

fn known_category(name: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.eq_ignore_ascii_case(name.trim()))
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("could not register the embedded font")]
    Font,
    #[error("nothing to plot: {0}")]
    Empty(&'static str),
    #[error("invalid data: {0}")]
    Invalid(String),
    #[error("could not create output directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write {}: {}", .0.display(), .1)]
    Write(PathBuf, std::io::Error),
    #[error("drawing failed: {0}")]
    Draw(String),
}

impl PlotError {
    /// As pqsim's error: a file that cannot be written (full disk, read-only directory) is an
    /// I/O error naming it, bad input to fix (exit 2); anything else a plot that failed.
    pub fn into_error(self, stem: &Path) -> crate::error::Error {
        match self {
            PlotError::Write(path, e) => crate::error::Error::io(&path, e),
            PlotError::Io(e) => crate::error::Error::io(stem, e),
            e => crate::error::Error::Simulation(format!("plot {}: {e}", stem.display())),
        }
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

/// Files written by one chart call.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub png: PathBuf,
    pub svg: PathBuf,
    /// Pixel size of both images.
    pub width: u32,
    pub height: u32,
}

/// A line of points with a vertical interval at each point, e.g. mean speedup
/// with its 95 % CI. Points are `(x, mean, lo, hi)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWithError {
    pub label: String,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Series for [`speedup_chart`].
pub type SpeedupSeries = SeriesWithError;
/// Series for [`hardware_comparison`] (one per hardware profile).
pub type HardwareSeries = SeriesWithError;

impl SeriesWithError {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64, f64, f64)>) -> Self {
        SeriesWithError { label: label.into(), points }
    }

    /// Build from per-x summaries: mean with its 95 % CI.
    pub fn from_summaries(label: impl Into<String>, points: &[(f64, Summary)]) -> Self {
        let points = points.iter().map(|(x, s)| (*x, s.mean, s.ci95_lo, s.ci95_hi)).collect();
        SeriesWithError::new(label, points)
    }
}

/// How an [`Overlay`] line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayKind {
    /// Ideal scaling: long grey dashes.
    Ideal,
    /// A theoretical bound (e.g. leader + workers): short dark dashes.
    Bound,
    /// A fitted model curve (e.g. USL): thin solid line, in the colour of
    /// series `series_index` when given, else dark grey.
    Fit,
    /// One edge of an interval around a series (e.g. the 80% interval of one real run):
    /// thin short dashes in the colour of series `series_index`.
    Interval,
}

/// A reference line drawn under the data of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    pub label: String,
    pub kind: OverlayKind,
    pub points: Vec<(f64, f64)>,
    /// For [`OverlayKind::Fit`]: the series whose colour the curve takes.
    pub series_index: Option<usize>,
}

impl Overlay {
    pub fn new(label: impl Into<String>, kind: OverlayKind, points: Vec<(f64, f64)>) -> Self {
        Overlay { label: label.into(), kind, points, series_index: None }
    }

    /// Sample `f` at 200 evenly spaced x in `[x_min, x_max]`.
    pub fn from_fn(
        label: impl Into<String>,
        kind: OverlayKind,
        x_min: f64,
        x_max: f64,
        f: impl Fn(f64) -> f64,
    ) -> Self {
        const N: usize = 200;
        let points = (0..=N)
            .map(|i| {
                let x = x_min + (x_max - x_min) * i as f64 / N as f64;
                (x, f(x))
            })
            .collect();
        Overlay::new(label, kind, points)
    }

    /// Ideal line `y = x + offset` over `[x_min, x_max]` (offset 1 when x is
    /// the worker count and the leader also participates).
    pub fn ideal(label: impl Into<String>, x_min: f64, x_max: f64, offset: f64) -> Self {
        Overlay::new(label, OverlayKind::Ideal, vec![(x_min, x_min + offset), (x_max, x_max + offset)])
    }

    /// Colour this (fit) overlay like series `i`.
    pub fn for_series(mut self, i: usize) -> Self {
        self.series_index = Some(i);
        self
    }
}

/// One horizontal bar split into time categories, e.g. label
/// `"W=4 worker 2"` with `[("CPU", 120.0), ("MessageQueueSend", 30.0)]` (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBar {
    pub label: String,
    pub segments: Vec<(String, f64)>,
}

impl StackedBar {
    pub fn new<S: Into<String>>(label: impl Into<String>, segments: Vec<(S, f64)>) -> Self {
        StackedBar { label: label.into(), segments: segments.into_iter().map(|(c, v)| (c.into(), v)).collect() }
    }
}

/// Queue occupancy samples of one queue: `(time_ms, bytes_used)`, each value
/// holding until the next sample (drawn as a step line).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSeries {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl QueueSeries {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        QueueSeries { label: label.into(), points }
    }
}

/// One process lane of a state timeline: `(start_ms, end_ms, category)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub label: String,
    pub intervals: Vec<(f64, f64, String)>,
}

impl Lane {
    pub fn new<S: Into<String>>(label: impl Into<String>, intervals: Vec<(f64, f64, S)>) -> Self {
        Lane { label: label.into(), intervals: intervals.into_iter().map(|(a, b, c)| (a, b, c.into())).collect() }
    }
}

// ---------------------------------------------------------------------------
// Public chart functions
// ---------------------------------------------------------------------------

/// Speedup versus parallelism: one line per series with error bars, and
/// optional overlays (ideal line, leader+workers bound, fitted USL curve).
/// `x_label` names the x axis, e.g. `"workers"`; y is "speedup vs serial".
pub fn speedup_chart(
    stem: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    series: &[SpeedupSeries],
    overlays: &[Overlay],
) -> Result<Written, PlotError> {
    let chart = LineChart { title, x_label, y_label: "speedup vs serial (×)", series, overlays };
    chart.validate()?;
    render(stem.as_ref(), &chart)
}

/// Wall time per x value (e.g. workers), one line per hardware profile, with
/// error bars, and optional overlays (e.g. each line's 80% interval for one real run).
pub fn hardware_comparison(
    stem: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    groups: &[HardwareSeries],
    overlays: &[Overlay],
) -> Result<Written, PlotError> {
    let chart = LineChart { title, x_label, y_label: "wall time (ms)", series: groups, overlays };
    chart.validate()?;
    render(stem.as_ref(), &chart)
}

/// Horizontal stacked bars of where each process spent its time (ms),
/// categories stacked in [`CATEGORIES`] order (unknown ones after), with
/// each bar's total printed at its end. Bars appear top to bottom in the
/// given order. Height grows with the number of bars.
pub fn stacked_time_split(stem: impl AsRef<Path>, title: &str, bars: &[StackedBar]) -> Result<Written, PlotError> {
    let chart = StackedChart::new(title, bars)?;
    render(stem.as_ref(), &chart)
}

/// Tuple-queue bytes used over time, one step line per queue (worker), with an
/// optional capacity line. Values of 2 KiB and more are shown in KiB.
pub fn queue_fill(
    stem: impl AsRef<Path>,
    title: &str,
    series: &[QueueSeries],
    capacity_bytes: Option<f64>,
) -> Result<Written, PlotError> {
    let chart = QueueChart { title, series, capacity: capacity_bytes };
    chart.validate()?;
    render(stem.as_ref(), &chart)
}

/// One horizontal lane per process with intervals coloured by state
/// (category palette), x = time (ms). Lanes appear top to bottom in the given
/// order. Height grows with the number of lanes.
pub fn state_timeline(stem: impl AsRef<Path>, title: &str, lanes: &[Lane]) -> Result<Written, PlotError> {
    let chart = TimelineChart::new(title, lanes)?;
    render(stem.as_ref(), &chart)
}

/// [`stacked_time_split`] as SVG text (for pages that inline their charts); writes no file.
pub fn stacked_time_split_svg(title: &str, bars: &[StackedBar]) -> Result<String, PlotError> {
    render_svg(&StackedChart::new(title, bars)?)
}

/// [`queue_fill`] as SVG text; writes no file.
pub fn queue_fill_svg(title: &str, series: &[QueueSeries], capacity_bytes: Option<f64>) -> Result<String, PlotError> {
    let chart = QueueChart { title, series, capacity: capacity_bytes };
    chart.validate()?;
    render_svg(&chart)
}

/// [`state_timeline`] as SVG text; writes no file.
pub fn state_timeline_svg(title: &str, lanes: &[Lane]) -> Result<String, PlotError> {
    render_svg(&TimelineChart::new(title, lanes)?)
}

/// A line chart with error bars and axis labels of the caller's choosing (workload latency
/// percentiles, p95 vs sessions, server state over time).
pub fn line_chart(
    stem: impl AsRef<Path>,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[SeriesWithError],
) -> Result<Written, PlotError> {
    let chart = LineChart { title, x_label, y_label, series, overlays: &[] };
    chart.validate()?;
    render(stem.as_ref(), &chart)
}
