//! The machinery every chart shares: fonts, rendering to PNG and SVG, legends, ticks, row labels
//! and the category palette.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::*;
use crate::render::atomic;
use image::ImageEncoder;

// ---------------------------------------------------------------------------
// Rendering machinery
// ---------------------------------------------------------------------------

pub(super) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, notosans::REGULAR_TTF).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

pub(super) fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

pub(super) trait Chart {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Draw `chart` on a white background with `backend` and finish the image.
fn paint<DB: DrawingBackend>(backend: DB, chart: &impl Chart) -> Result<(), PlotError> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    chart.draw(&root)?;
    root.present()?;
    Ok(())
}

pub(super) fn render(stem: &Path, chart: &impl Chart) -> Result<Written, PlotError> {
    ensure_font()?;
    let png = with_ext(stem, "png");
    let svg = with_ext(stem, "svg");
    if let Some(dir) = png.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let (width, height) = chart.size();
    // Drawn in memory, then each file appears whole (temporary beside it, then renamed) or not
    // at all; a write that fails (full disk, read-only directory) is an I/O error naming it.
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    paint(BitMapBackend::with_buffer(&mut rgb, (width, height)), chart)?;
    let mut png_bytes = vec![];
    // The encoder plotters' file backend uses, with its defaults: the same bytes.
    image::codecs::png::PngEncoder::new(&mut png_bytes)
        .write_image(&rgb, width, height, image::ColorType::Rgb8)
        .map_err(|e| PlotError::Draw(e.to_string()))?;
    let svg_text = render_svg(chart)?;
    for (path, bytes) in [(&png, png_bytes.as_slice()), (&svg, svg_text.as_bytes())] {
        atomic::write_with(path, |tmp| std::fs::write(tmp, bytes)).map_err(|e| PlotError::Write(path.clone(), e))?;
    }
    Ok(Written { png, svg, width, height })
}

/// The chart as SVG text, for pages that inline their charts.
pub(super) fn render_svg(chart: &impl Chart) -> Result<String, PlotError> {
    ensure_font()?;
    let mut out = String::new();
    paint(SVGBackend::with_string(&mut out, chart.size()), chart)?;
    Ok(out)
}

pub(super) fn font(px: u32) -> TextStyle<'static> {
    (FONT, px).into_font().color(&BLACK)
}

pub(super) const GRID: RGBColor = RGBColor(225, 225, 225);

pub(super) fn overlay_color(o: &Overlay) -> RGBColor {
    match (o.kind, o.series_index) {
        (OverlayKind::Fit | OverlayKind::Interval, Some(i)) => series_color(i),
        (OverlayKind::Interval, None) => RGBColor(70, 70, 70),
        (OverlayKind::Fit, None) => RGBColor(70, 70, 70),
        (OverlayKind::Ideal, _) => RGBColor(130, 130, 130),
        (OverlayKind::Bound, _) => RGBColor(40, 40, 40),
    }
}

pub(super) fn overlay_width(kind: OverlayKind) -> u32 {
    if matches!(kind, OverlayKind::Fit | OverlayKind::Interval) {
        1
    } else {
        2
    }
}

pub(super) fn series_color(i: usize) -> RGBColor {
    SERIES_COLORS[i % SERIES_COLORS.len()]
}

/// Tick label for an f64 value: integers without decimals, else up to 3
/// significant decimals.
pub(super) fn fmt_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub(super) fn check_finite(what: &str, vals: impl IntoIterator<Item = f64>) -> Result<(), PlotError> {
    if vals.into_iter().all(f64::is_finite) {
        Ok(())
    } else {
        Err(PlotError::Invalid(format!("non-finite value in {what}")))
    }
}

/// Pad a data range for display; a degenerate range gets +-0.5 (or +-1 for
/// zero) around it.
pub(super) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
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
pub(super) enum Swatch {
    /// Filled box (bar and timeline categories).
    Box,
    /// Line sample, optionally dashed and with a point marker.
    Line { width: u32, dashed: bool, marker: bool },
}

pub(super) struct LegendEntry {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) swatch: Swatch,
}

impl LegendEntry {
    /// The entry of data series `i`: a solid line in the series colour, with a point marker
    /// when the chart marks its points.
    pub(super) fn series(i: usize, label: &str, marker: bool) -> Self {
        LegendEntry {
            label: label.to_string(),
            color: series_color(i),
            swatch: Swatch::Line { width: 2, dashed: false, marker },
        }
    }
}

pub(super) fn legend_width(heading: Option<&str>, entries: &[LegendEntry]) -> u32 {
    let chars =
        entries.iter().map(|e| e.label.chars().count()).chain(heading.map(|h| h.chars().count())).max().unwrap_or(0)
            as u32;
    (60 + 9 * chars).clamp(150, 380)
}

/// Split off a legend strip on the right of `root`, draw the legend in it,
/// and return the remaining area for the plot. Keeping the legend outside
/// the plot means it never hides data.
pub(super) fn with_side_legend<DB: DrawingBackend>(
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
pub(super) fn row_span(n: usize, i: usize, pad: f64) -> (f64, f64) {
    let base = (n - 1 - i) as f64;
    (base + pad, base + 1.0 - pad)
}

/// A chart with f64 axes on both sides.
pub(super) type XyChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes of a line chart: x and y labelled (`labels`) over the ranges given, light grid.
pub(super) fn xy_chart<'a, DB: DrawingBackend>(
    main: &'a DrawingArea<DB, Shift>,
    title: &str,
    labels: (&str, &str),
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
) -> Result<XyChart<'a, DB>, PlotError> {
    let mut chart = ChartBuilder::on(main)
        .caption(title, font(TITLE_PX))
        .margin(18)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(labels.0)
        .y_desc(labels.1)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_DESC_PX))
        .x_label_formatter(&fmt_tick)
        .y_label_formatter(&fmt_tick)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .draw()?;
    Ok(chart)
}

/// The axes of a bar/lane chart: one row per label on y (labels drawn by [`draw_row_labels`]),
/// time in ms on x over `x`.
pub(super) fn row_chart<'a, DB: DrawingBackend>(
    main: &'a DrawingArea<DB, Shift>,
    title: &str,
    labels: &[&str],
    x: std::ops::Range<f64>,
) -> Result<XyChart<'a, DB>, PlotError> {
    let n = labels.len();
    let mut chart = ChartBuilder::on(main)
        .caption(title, font(TITLE_PX))
        .margin(18)
        .x_label_area_size(55)
        .y_label_area_size(label_area_for(labels.iter().map(|l| l.chars().count())))
        .build_cartesian_2d(x, 0.0..n as f64)?;
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
    Ok(chart)
}

/// Row labels with tick marks left of the y axis of a bar/lane chart. (Drawn
/// by hand: plotters' discrete axes misplace a single row.)
pub(super) fn draw_row_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &XyChart<'_, DB>,
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
pub(super) struct CategoryPalette {
    pub(super) order: Vec<(String, RGBColor)>,
    pub(super) index: HashMap<String, usize>,
}

impl CategoryPalette {
    pub(super) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
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

    pub(super) fn legend(&self) -> Vec<LegendEntry> {
        self.order
            .iter()
            .map(|(label, color)| LegendEntry { label: label.clone(), color: *color, swatch: Swatch::Box })
            .collect()
    }

    pub(super) fn slot(&self, name: &str) -> usize {
        let key = match known_category(name) {
            Some(i) => CATEGORIES[i].to_ascii_lowercase(),
            None => name.to_ascii_lowercase(),
        };
        self.index[&key]
    }
}

/// Image height for a chart with `rows` bars/lanes of `row_px` pixels each.
pub(super) fn rows_height(rows: usize, row_px: u32) -> u32 {
    (150 + row_px * rows as u32).max(380)
}

/// Left label area wide enough for the longest lane/bar label.
pub(super) fn label_area_for(labels: impl Iterator<Item = usize>) -> u32 {
    let longest = labels.max().unwrap_or(4) as u32;
    (longest * 9 + 24).clamp(70, 320)
}
