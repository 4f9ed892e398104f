//! Tuple-queue fill over time, one step line per queue.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::*;
use super::*;

// ---------------------------------------------------------------------------
// Queue fill step lines
// ---------------------------------------------------------------------------

pub(super) struct QueueChart<'a> {
    pub(super) title: &'a str,
    pub(super) series: &'a [QueueSeries],
    pub(super) capacity: Option<f64>,
}

impl QueueChart<'_> {
    pub(super) fn validate(&self) -> Result<(), PlotError> {
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
        legend.extend(self.series.iter().enumerate().map(|(i, s)| LegendEntry::series(i, &s.label, false)));
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
        let mut chart =
            xy_chart(&main, self.title, ("time (ms)", &format!("queue bytes used ({unit})")), (t0..t1, 0.0..y1))?;
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
