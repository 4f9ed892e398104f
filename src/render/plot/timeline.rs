//! Process state timeline: one lane per process, intervals coloured by state.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::*;
use super::*;

// ---------------------------------------------------------------------------
// State timeline
// ---------------------------------------------------------------------------

pub(super) struct TimelineChart<'a> {
    pub(super) title: &'a str,
    pub(super) lanes: &'a [Lane],
    pub(super) palette: CategoryPalette,
}

impl<'a> TimelineChart<'a> {
    pub(super) fn new(title: &'a str, lanes: &'a [Lane]) -> Result<Self, PlotError> {
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
        let mut chart = row_chart(&main, self.title, &labels, t0..t1 + (t1 - t0) * 0.01)?;
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
