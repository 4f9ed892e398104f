//! Line charts with error bars: speedup and hardware comparison.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::*;
use super::*;

// ---------------------------------------------------------------------------
// Line chart with error bars (speedup, hardware comparison)
// ---------------------------------------------------------------------------

pub(super) struct LineChart<'a> {
    pub(super) title: &'a str,
    pub(super) x_label: &'a str,
    pub(super) y_label: &'a str,
    pub(super) series: &'a [SeriesWithError],
    pub(super) overlays: &'a [Overlay],
}

impl LineChart<'_> {
    pub(super) fn validate(&self) -> Result<(), PlotError> {
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

    pub(super) fn ranges(&self) -> ((f64, f64), (f64, f64)) {
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
        legend.extend(self.series.iter().enumerate().map(|(i, s)| LegendEntry::series(i, &s.label, true)));
        let main = with_side_legend(root, None, &legend)?;

        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut chart = xy_chart(&main, self.title, (self.x_label, self.y_label), (x0..x1, y0..y1))?;

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
                OverlayKind::Interval => {
                    chart.draw_series(DashedLineSeries::new(pts, 3, 4, style))?;
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
