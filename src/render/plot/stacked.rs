//! Stacked horizontal bars: where each process's time goes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::*;
use super::*;

// ---------------------------------------------------------------------------
// Stacked horizontal bars
// ---------------------------------------------------------------------------

pub(super) struct StackedChart<'a> {
    pub(super) title: &'a str,
    pub(super) bars: &'a [StackedBar],
    pub(super) palette: CategoryPalette,
    /// Per bar, summed value per palette slot.
    pub(super) values: Vec<Vec<f64>>,
}

impl<'a> StackedChart<'a> {
    pub(super) fn new(title: &'a str, bars: &'a [StackedBar]) -> Result<Self, PlotError> {
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
        let mut chart = row_chart(&main, self.title, &labels, 0.0..x1)?;

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
