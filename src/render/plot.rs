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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

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
    #[error("drawing failed: {0}")]
    Draw(String),
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
/// error bars.
pub fn hardware_comparison(
    stem: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    groups: &[HardwareSeries],
) -> Result<Written, PlotError> {
    let chart = LineChart { title, x_label, y_label: "wall time (ms)", series: groups, overlays: &[] };
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

// ---------------------------------------------------------------------------
// Rendering machinery
// ---------------------------------------------------------------------------

fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, notosans::REGULAR_TTF).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

trait Chart {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

fn render(stem: &Path, chart: &impl Chart) -> Result<Written, PlotError> {
    ensure_font()?;
    let png = with_ext(stem, "png");
    let svg = with_ext(stem, "svg");
    if let Some(dir) = png.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let (width, height) = chart.size();
    {
        let root = BitMapBackend::new(&png, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    {
        let root = SVGBackend::new(&svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(Written { png, svg, width, height })
}

fn font(px: u32) -> TextStyle<'static> {
    (FONT, px).into_font().color(&BLACK)
}

const GRID: RGBColor = RGBColor(225, 225, 225);

fn overlay_color(o: &Overlay) -> RGBColor {
    match (o.kind, o.series_index) {
        (OverlayKind::Fit, Some(i)) => series_color(i),
        (OverlayKind::Fit, None) => RGBColor(70, 70, 70),
        (OverlayKind::Ideal, _) => RGBColor(130, 130, 130),
        (OverlayKind::Bound, _) => RGBColor(40, 40, 40),
    }
}

fn overlay_width(kind: OverlayKind) -> u32 {
    if kind == OverlayKind::Fit {
        1
    } else {
        2
    }
}

fn series_color(i: usize) -> RGBColor {
    SERIES_COLORS[i % SERIES_COLORS.len()]
}

/// Tick label for an f64 value: integers without decimals, else up to 3
/// significant decimals.
fn fmt_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn check_finite(what: &str, vals: impl IntoIterator<Item = f64>) -> Result<(), PlotError> {
    if vals.into_iter().all(f64::is_finite) {
        Ok(())
    } else {
        Err(PlotError::Invalid(format!("non-finite value in {what}")))
    }
}

/// Pad a data range for display; a degenerate range gets +-0.5 (or +-1 for
/// zero) around it.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * frac;
        (lo - pad, hi + pad)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// Filled box (bar and timeline categories).
    Box,
    /// Line sample, optionally dashed and with a point marker.
    Line { width: u32, dashed: bool, marker: bool },
}

struct LegendEntry {
    label: String,
    color: RGBColor,
    swatch: Swatch,
}

fn legend_width(heading: Option<&str>, entries: &[LegendEntry]) -> u32 {
    let chars =
        entries.iter().map(|e| e.label.chars().count()).chain(heading.map(|h| h.chars().count())).max().unwrap_or(0)
            as u32;
    (60 + 9 * chars).clamp(150, 380)
}

/// Split off a legend strip on the right of `root`, draw the legend in it,
/// and return the remaining area for the plot. Keeping the legend outside
/// the plot means it never hides data.
fn with_side_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    heading: Option<&str>,
    entries: &[LegendEntry],
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let (w, _) = root.dim_in_pixel();
    let (main, side) = root.split_horizontally(w - legend_width(heading, entries));
    let mut y = 62;
    if let Some(h) = heading {
        side.draw(&Text::new(h.to_string(), (8, y), font(LEGEND_PX + 1)))?;
        y += 30;
    }
    for e in entries {
        let color = e.color;
        match e.swatch {
            Swatch::Box => {
                side.draw(&Rectangle::new([(8, y), (28, y + 16)], color.filled()))?;
                side.draw(&Rectangle::new([(8, y), (28, y + 16)], RGBColor(60, 60, 60).stroke_width(1)))?;
            }
            Swatch::Line { width, dashed, marker } => {
                let style = color.stroke_width(width);
                let mid = y + 8;
                if dashed {
                    side.draw(&PathElement::new(vec![(6, mid), (15, mid)], style))?;
                    side.draw(&PathElement::new(vec![(20, mid), (30, mid)], style))?;
                } else {
                    side.draw(&PathElement::new(vec![(6, mid), (30, mid)], style))?;
                }
                if marker {
                    side.draw(&Circle::new((18, mid), 4, color.filled()))?;
                }
            }
        }
        side.draw(&Text::new(e.label.clone(), (38, y), font(LEGEND_PX)))?;
        y += 26;
    }
    Ok(main)
}

/// Vertical extent of row `i` (0 = top) of `n` rows on a `0..n` y axis.
fn row_span(n: usize, i: usize, pad: f64) -> (f64, f64) {
    let base = (n - 1 - i) as f64;
    (base + pad, base + 1.0 - pad)
}

type RowChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Row labels with tick marks left of the y axis of a bar/lane chart. (Drawn
/// by hand: plotters' discrete axes misplace a single row.)
fn draw_row_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &RowChart<'_, DB>,
    x0: f64,
    labels: &[&str],
) -> Result<(), PlotError> {
    let n = labels.len();
    for (i, label) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(x0, (n - 1 - i) as f64 + 0.5));
        root.draw(&PathElement::new(vec![(px - 5, py), (px, py)], BLACK.stroke_width(1)))?;
        root.draw(&Text::new(label.to_string(), (px - 9, py), font(TICK_PX).pos(Pos::new(HPos::Right, VPos::Center))))?;
    }
    Ok(())
}

/// Category order and colours for the categories present in some data:
/// known categories in [`CATEGORIES`] order, then unknown ones by first
/// appearance.
struct CategoryPalette {
    order: Vec<(String, RGBColor)>,
    index: HashMap<String, usize>,
}

impl CategoryPalette {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut known = [false; CATEGORIES.len()];
        let mut unknown: Vec<String> = Vec::new();
        for n in names {
            match known_category(n) {
                Some(i) => known[i] = true,
                None => {
                    if !unknown.iter().any(|u| u == n) {
                        unknown.push(n.to_string());
                    }
                }
            }
        }
        let mut order: Vec<(String, RGBColor)> = (0..CATEGORIES.len())
            .filter(|&i| known[i])
            .map(|i| (CATEGORIES[i].to_string(), CATEGORY_COLORS[i]))
            .collect();
        for (j, u) in unknown.into_iter().enumerate() {
            order.push((u, EXTRA_CATEGORY_COLORS[j % EXTRA_CATEGORY_COLORS.len()]));
        }
        let index = order.iter().enumerate().map(|(i, (n, _))| (n.to_ascii_lowercase(), i)).collect();
        CategoryPalette { order, index }
    }

    fn legend(&self) -> Vec<LegendEntry> {
        self.order
            .iter()
            .map(|(label, color)| LegendEntry { label: label.clone(), color: *color, swatch: Swatch::Box })
            .collect()
    }

    fn slot(&self, name: &str) -> usize {
        let key = match known_category(name) {
            Some(i) => CATEGORIES[i].to_ascii_lowercase(),
            None => name.to_ascii_lowercase(),
        };
        self.index[&key]
    }
}

/// Image height for a chart with `rows` bars/lanes of `row_px` pixels each.
fn rows_height(rows: usize, row_px: u32) -> u32 {
    (150 + row_px * rows as u32).max(380)
}

/// Left label area wide enough for the longest lane/bar label.
fn label_area_for(labels: impl Iterator<Item = usize>) -> u32 {
    let longest = labels.max().unwrap_or(4) as u32;
    (longest * 9 + 24).clamp(70, 320)
}

// ---------------------------------------------------------------------------
// Line chart with error bars (speedup, hardware comparison)
// ---------------------------------------------------------------------------

struct LineChart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [SeriesWithError],
    overlays: &'a [Overlay],
}

impl LineChart<'_> {
    fn validate(&self) -> Result<(), PlotError> {
        if self.series.iter().all(|s| s.points.is_empty()) {
            return Err(PlotError::Empty("no series points"));
        }
        for s in self.series {
            check_finite(&s.label, s.points.iter().flat_map(|p| [p.0, p.1, p.2, p.3]))?;
        }
        for o in self.overlays {
            check_finite(&o.label, o.points.iter().flat_map(|p| [p.0, p.1]))?;
        }
        Ok(())
    }

    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut y1 = f64::NEG_INFINITY;
        for &(x, m, lo, hi) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y1 = y1.max(m).max(lo).max(hi);
        }
        // Overlays count towards the y range only inside the data's x range.
        for o in self.overlays {
            for &(x, y) in &o.points {
                if x >= x0 - 1e-9 && x <= x1 + 1e-9 {
                    y1 = y1.max(y);
                }
            }
        }
        let (xa, xb) = padded(x0, x1, 0.04);
        let y1 = if y1 > 0.0 { y1 * 1.08 } else { 1.0 };
        ((xa, xb), (0.0, y1))
    }
}

impl Chart for LineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let mut legend = Vec::new();
        for o in self.overlays.iter().filter(|o| !o.label.is_empty()) {
            legend.push(LegendEntry {
                label: o.label.clone(),
                color: overlay_color(o),
                swatch: Swatch::Line {
                    width: overlay_width(o.kind),
                    dashed: o.kind != OverlayKind::Fit,
                    marker: false,
                },
            });
        }
        for (i, s) in self.series.iter().enumerate() {
            legend.push(LegendEntry {
                label: s.label.clone(),
                color: series_color(i),
                swatch: Swatch::Line { width: 2, dashed: false, marker: true },
            });
        }
        let main = with_side_legend(root, None, &legend)?;

        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, font(TITLE_PX))
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .label_style(font(TICK_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .x_label_formatter(&fmt_tick)
            .y_label_formatter(&fmt_tick)
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()?;

        for o in self.overlays {
            let style = overlay_color(o).stroke_width(overlay_width(o.kind));
            let pts = o.points.clone();
            match o.kind {
                OverlayKind::Fit => {
                    chart.draw_series(LineSeries::new(pts, style))?;
                }
                OverlayKind::Ideal => {
                    chart.draw_series(DashedLineSeries::new(pts, 12, 7, style))?;
                }
                OverlayKind::Bound => {
                    chart.draw_series(DashedLineSeries::new(pts, 5, 4, style))?;
                }
            }
        }

        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(i);
            chart.draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?;
            let bar = color.stroke_width(1);
            chart.draw_series(s.points.iter().map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], bar)))?;
            for end in [2usize, 3] {
                chart.draw_series(s.points.iter().map(|p| {
                    let y = if end == 2 { p.2 } else { p.3 };
                    EmptyElement::at((p.0, y)) + PathElement::new(vec![(-5, 0), (5, 0)], bar)
                }))?;
            }
            chart.draw_series(s.points.iter().map(|p| Circle::new((p.0, p.1), 4, color.filled())))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Stacked horizontal bars
// ---------------------------------------------------------------------------

struct StackedChart<'a> {
    title: &'a str,
    bars: &'a [StackedBar],
    palette: CategoryPalette,
    /// Per bar, summed value per palette slot.
    values: Vec<Vec<f64>>,
}

impl<'a> StackedChart<'a> {
    fn new(title: &'a str, bars: &'a [StackedBar]) -> Result<Self, PlotError> {
        if bars.is_empty() {
            return Err(PlotError::Empty("no bars"));
        }
        for b in bars {
            check_finite(&b.label, b.segments.iter().map(|s| s.1))?;
            if let Some(s) = b.segments.iter().find(|s| s.1 < 0.0) {
                return Err(PlotError::Invalid(format!("negative time {} for {} in {}", s.1, s.0, b.label)));
            }
        }
        let palette = CategoryPalette::new(bars.iter().flat_map(|b| b.segments.iter().map(|s| s.0.as_str())));
        let values = bars
            .iter()
            .map(|b| {
                let mut v = vec![0.0; palette.order.len()];
                for (c, ms) in &b.segments {
                    v[palette.slot(c)] += ms;
                }
                v
            })
            .collect();
        Ok(StackedChart { title, bars, palette, values })
    }
}

impl Chart for StackedChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, rows_height(self.bars.len(), 34))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let n = self.bars.len();
        let totals: Vec<f64> = self.values.iter().map(|v| v.iter().sum()).collect();
        let max_total = totals.iter().cloned().fold(0.0, f64::max);
        let x1 = if max_total > 0.0 { max_total * 1.15 } else { 1.0 };
        let main = with_side_legend(root, Some("time category"), &self.palette.legend())?;
        let labels: Vec<&str> = self.bars.iter().map(|b| b.label.as_str()).collect();
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, font(TITLE_PX))
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(label_area_for(labels.iter().map(|l| l.chars().count())))
            .build_cartesian_2d(0.0..x1, 0.0..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time (ms)")
            .x_label_formatter(&fmt_tick)
            .label_style(font(TICK_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()?;

        for (slot, (_, color)) in self.palette.order.iter().enumerate() {
            let rects = self.values.iter().enumerate().filter_map(|(b, v)| {
                if v[slot] <= 0.0 {
                    return None;
                }
                let start: f64 = v[..slot].iter().sum();
                let (lo, hi) = row_span(n, b, 0.15);
                Some(Rectangle::new([(start, lo), (start + v[slot], hi)], color.filled()))
            });
            chart.draw_series(rects)?;
        }
        chart.draw_series(totals.iter().enumerate().map(|(b, t)| {
            let (lo, hi) = row_span(n, b, 0.0);
            EmptyElement::at((*t, (lo + hi) / 2.0))
                + Text::new(
                    format!("{} ms", fmt_tick(&((t * 10.0).round() / 10.0))),
                    (6, 0),
                    font(TICK_PX - 2).pos(Pos::new(HPos::Left, VPos::Center)),
                )
        }))?;
        draw_row_labels(root, &chart, 0.0, &labels)
    }
}

// ---------------------------------------------------------------------------
// Queue fill step lines
// ---------------------------------------------------------------------------

struct QueueChart<'a> {
    title: &'a str,
    series: &'a [QueueSeries],
    capacity: Option<f64>,
}

impl QueueChart<'_> {
    fn validate(&self) -> Result<(), PlotError> {
        if self.series.iter().all(|s| s.points.is_empty()) {
            return Err(PlotError::Empty("no queue samples"));
        }
        for s in self.series {
            check_finite(&s.label, s.points.iter().flat_map(|p| [p.0, p.1]))?;
        }
        check_finite("capacity", self.capacity)?;
        Ok(())
    }
}

impl Chart for QueueChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let capacity_color = RGBColor(40, 40, 40);
        let mut legend = Vec::new();
        if self.capacity.is_some() {
            legend.push(LegendEntry {
                label: "capacity".to_string(),
                color: capacity_color,
                swatch: Swatch::Line { width: 2, dashed: true, marker: false },
            });
        }
        for (i, s) in self.series.iter().enumerate() {
            legend.push(LegendEntry {
                label: s.label.clone(),
                color: series_color(i),
                swatch: Swatch::Line { width: 2, dashed: false, marker: false },
            });
        }
        let main = with_side_legend(root, None, &legend)?;

        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut t0, mut t1, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for &(t, b) in pts {
            t0 = t0.min(t);
            t1 = t1.max(t);
            ymax = ymax.max(b);
        }
        if let Some(c) = self.capacity {
            ymax = ymax.max(c);
        }
        let (scale, unit) = if ymax >= 2048.0 { (1024.0, "KiB") } else { (1.0, "bytes") };
        let (t0, t1) = padded(t0.min(0.0), t1, 0.02);
        let t0 = t0.max(0.0);
        let y1 = if ymax > 0.0 { ymax / scale * 1.08 } else { 1.0 };
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, font(TITLE_PX))
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(t0..t1, 0.0..y1)?;
        chart
            .configure_mesh()
            .x_desc("time (ms)")
            .y_desc(format!("queue bytes used ({unit})"))
            .label_style(font(TICK_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .x_label_formatter(&fmt_tick)
            .y_label_formatter(&fmt_tick)
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()?;
        if let Some(c) = self.capacity {
            chart.draw_series(DashedLineSeries::new(
                vec![(t0, c / scale), (t1, c / scale)],
                8,
                5,
                capacity_color.stroke_width(2),
            ))?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let mut step = Vec::with_capacity(s.points.len() * 2);
            for (j, &(t, b)) in s.points.iter().enumerate() {
                if j > 0 {
                    step.push((t, s.points[j - 1].1 / scale));
                }
                step.push((t, b / scale));
            }
            chart.draw_series(LineSeries::new(step, series_color(i).stroke_width(2)))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// State timeline
// ---------------------------------------------------------------------------

struct TimelineChart<'a> {
    title: &'a str,
    lanes: &'a [Lane],
    palette: CategoryPalette,
}

impl<'a> TimelineChart<'a> {
    fn new(title: &'a str, lanes: &'a [Lane]) -> Result<Self, PlotError> {
        if lanes.is_empty() {
            return Err(PlotError::Empty("no lanes"));
        }
        for l in lanes {
            check_finite(&l.label, l.intervals.iter().flat_map(|i| [i.0, i.1]))?;
            if let Some(i) = l.intervals.iter().find(|i| i.1 < i.0) {
                return Err(PlotError::Invalid(format!(
                    "interval ends before it starts ({} > {}) in {}",
                    i.0, i.1, l.label
                )));
            }
        }
        let palette = CategoryPalette::new(lanes.iter().flat_map(|l| l.intervals.iter().map(|i| i.2.as_str())));
        Ok(TimelineChart { title, lanes, palette })
    }
}

impl Chart for TimelineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, rows_height(self.lanes.len(), 40))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let n = self.lanes.len();
        let ivs = self.lanes.iter().flat_map(|l| l.intervals.iter());
        let (mut t0, mut t1) = (0.0f64, f64::NEG_INFINITY);
        for iv in ivs {
            t0 = t0.min(iv.0);
            t1 = t1.max(iv.1);
        }
        if !t1.is_finite() || t1 <= t0 {
            t1 = t0 + 1.0;
        }
        let main = with_side_legend(root, Some("process state"), &self.palette.legend())?;
        let labels: Vec<&str> = self.lanes.iter().map(|l| l.label.as_str()).collect();
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, font(TITLE_PX))
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(label_area_for(labels.iter().map(|l| l.chars().count())))
            .build_cartesian_2d(t0..t1 + (t1 - t0) * 0.01, 0.0..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time (ms)")
            .x_label_formatter(&fmt_tick)
            .label_style(font(TICK_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()?;
        for (li, lane) in self.lanes.iter().enumerate() {
            let (lo, hi) = row_span(n, li, 0.12);
            chart.draw_series(lane.intervals.iter().map(|(a, b, c)| {
                let color = self.palette.order[self.palette.slot(c)].1;
                Rectangle::new([(*a, lo), (*b, hi)], color.filled())
            }))?;
        }
        draw_row_labels(root, &chart, t0, &labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::{fit_usl, usl_speedup};

    /// (width, height) from a PNG's IHDR chunk.
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.len() > 33, "PNG too short");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    /// Checks the files; with `PQSIM_KEEP_PLOTS=<dir>` also copies them there
    /// for a look by eye.
    fn check_written(w: &Written, title: &str, expect: (u32, u32)) {
        if let Some(keep) = std::env::var_os("PQSIM_KEEP_PLOTS") {
            std::fs::create_dir_all(&keep).unwrap();
            for f in [&w.png, &w.svg] {
                std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
            }
        }
        assert_eq!((w.width, w.height), expect);
        assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
        assert_eq!(png_size(&w.png), expect);
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        assert!(svg.len() > 1000);
        assert!(svg.contains(title), "SVG lacks title {title:?}");
        assert!(svg.contains(&format!("width=\"{}\"", expect.0)));
    }

    fn speedup_series() -> Vec<SpeedupSeries> {
        let mk = |label: &str, sg: f64, kp: f64| {
            let pts = (0..=8)
                .map(|w| {
                    let x = w as f64;
                    let m = usl_speedup(sg, kp, x + 1.0);
                    (x, m, m * 0.95, m * 1.05)
                })
                .collect();
            SeriesWithError::new(label, pts)
        };
        vec![mk("seq scan + agg", 0.05, 0.002), mk("hash join", 0.15, 0.01)]
    }

    #[test]
    fn with_ext_appends() {
        assert_eq!(with_ext(Path::new("d/speed.v2"), "png"), PathBuf::from("d/speed.v2.png"));
    }

    #[test]
    fn speedup_chart_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let series = speedup_series();
        let pts: Vec<(f64, f64)> = series[0].points.iter().map(|p| (p.0 + 1.0, p.1)).collect();
        let fit = fit_usl(&pts).unwrap();
        let overlays = vec![
            Overlay::ideal("ideal (workers + 1)", 0.0, 8.0, 1.0),
            Overlay::new("leader+workers bound", OverlayKind::Bound, vec![(0.0, 1.0), (4.0, 4.6), (8.0, 7.2)]),
            Overlay::from_fn("USL fit", OverlayKind::Fit, 0.0, 8.0, |w| fit.predict(w + 1.0)).for_series(0),
        ];
        let title = "Speedup of parallel seq scan";
        let w = speedup_chart(dir.path().join("speedup"), title, "workers", &series, &overlays).unwrap();
        assert_eq!(w.png, dir.path().join("speedup.png"));
        assert_eq!(w.svg, dir.path().join("speedup.svg"));
        check_written(&w, title, (WIDTH, HEIGHT));
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        for text in ["workers", "speedup vs serial", "USL fit", "hash join"] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
    }

    #[test]
    fn speedup_chart_rejects_empty_and_nan() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("x");
        assert!(matches!(speedup_chart(&stem, "t", "workers", &[], &[]), Err(PlotError::Empty(_))));
        let bad = [SeriesWithError::new("a", vec![(1.0, f64::NAN, 0.0, 1.0)])];
        assert!(matches!(speedup_chart(&stem, "t", "workers", &bad, &[]), Err(PlotError::Invalid(_))));
    }

    #[test]
    fn single_point_series_still_draws() {
        let dir = tempfile::tempdir().unwrap();
        let s = [SeriesWithError::new("one", vec![(2.0, 1.5, 1.5, 1.5)])];
        let w = speedup_chart(dir.path().join("one"), "Single point", "workers", &s, &[]).unwrap();
        check_written(&w, "Single point", (WIDTH, HEIGHT));
    }

    #[test]
    fn stacked_time_split_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let mut bars = vec![StackedBar::new("W=0 leader", vec![("CPU", 900.0), ("disk wait", 120.0), ("other", 10.0)])];
        for w in 0..4 {
            bars.push(StackedBar::new(
                format!("W=4 worker {w}"),
                vec![
                    ("start-up", 4.0),
                    ("CPU", 200.0 + 10.0 * w as f64),
                    ("MessageQueueSend", 30.0),
                    ("disk wait", 40.0),
                    ("cpu", 5.0), // merged with "CPU"
                    ("lock wait", 3.0),
                ],
            ));
        }
        for w in 0..8 {
            bars.push(StackedBar::new(
                format!("W=8 worker {w}"),
                vec![("CPU", 120.0), ("MessageQueueSend", 60.0 + w as f64)],
            ));
        }
        bars.push(StackedBar::new("W=4 leader", vec![("waiting for tuples", 180.0), ("CPU", 90.0)]));
        let title = "Where the time goes";
        let w = stacked_time_split(dir.path().join("split"), title, &bars).unwrap();
        check_written(&w, title, (WIDTH, rows_height(bars.len(), 34)));
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        for text in ["W=4 worker 3", "MessageQueueSend", "lock wait", "time (ms)"] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
    }

    #[test]
    fn category_palette_orders_known_first() {
        let p = CategoryPalette::new(["zzz", "other", "cpu", "MessageQueueSend"]);
        let names: Vec<&str> = p.order.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["CPU", "MessageQueueSend", "other", "zzz"]);
        assert_eq!(p.slot("CPU"), 0);
        assert_eq!(p.slot("zzz"), 3);
        assert_eq!(category_color("cpu"), Some(CATEGORY_COLORS[0]));
        assert_eq!(category_color("nope"), None);
    }

    #[test]
    fn hardware_comparison_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |label: &str, base: f64| {
            let pts = (0..=6)
                .map(|w| {
                    let t = base / (1.0 + w as f64 * 0.7);
                    (w as f64, t, t * 0.97, t * 1.03)
                })
                .collect();
            SeriesWithError::new(label, pts)
        };
        let groups = [mk("laptop NVMe", 1800.0), mk("cloud EBS", 2600.0)];
        let title = "Wall time by hardware profile";
        let w = hardware_comparison(dir.path().join("sub/hw"), title, "workers", &groups).unwrap();
        check_written(&w, title, (WIDTH, HEIGHT));
        assert!(std::fs::read_to_string(&w.svg).unwrap().contains("wall time (ms)"));
    }

    #[test]
    fn queue_fill_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let series: Vec<QueueSeries> = (0..3)
            .map(|w| {
                let pts = (0..50)
                    .map(|i| {
                        let t = i as f64 * 2.0;
                        let b = ((i * (w + 3) * 1500) % 65536) as f64;
                        (t, b)
                    })
                    .collect();
                QueueSeries::new(format!("worker {w}"), pts)
            })
            .collect();
        let title = "Tuple queue fill";
        let w = queue_fill(dir.path().join("queue"), title, &series, Some(65536.0)).unwrap();
        check_written(&w, title, (WIDTH, HEIGHT));
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        assert!(svg.contains("KiB") && svg.contains("capacity"));
    }

    #[test]
    fn state_timeline_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let mut lanes = vec![Lane::new(
            "leader",
            vec![(0.0, 5.0, "start-up"), (5.0, 40.0, "CPU"), (40.0, 90.0, "waiting for tuples"), (90.0, 100.0, "CPU")],
        )];
        for w in 0..3 {
            let off = w as f64 * 3.0;
            lanes.push(Lane::new(
                format!("worker {w}"),
                vec![
                    (off, off + 6.0, "start-up"),
                    (off + 6.0, 50.0, "CPU"),
                    (50.0, 55.0, "disk wait"),
                    (55.0, 70.0, "MessageQueueSend"),
                    (70.0, 95.0, "CPU"),
                ],
            ));
        }
        let title = "Process states over time";
        let w = state_timeline(dir.path().join("timeline"), title, &lanes).unwrap();
        check_written(&w, title, (WIDTH, rows_height(4, 40)));
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        for text in ["worker 2", "leader", "process state", "disk wait"] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
        let one = [Lane::new("leader", vec![(0.0, 3.0, "CPU"), (3.0, 4.0, "idle")])];
        let w = state_timeline(dir.path().join("one_lane"), "One lane", &one).unwrap();
        check_written(&w, "One lane", (WIDTH, 380));
        assert!(std::fs::read_to_string(&w.svg).unwrap().contains("idle"));
        let bad = [Lane::new("x", vec![(5.0, 1.0, "CPU")])];
        assert!(matches!(state_timeline(dir.path().join("bad"), "t", &bad), Err(PlotError::Invalid(_))));
    }
}
