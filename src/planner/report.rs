//! The planner's decision for one scenario as a value, and its text rendering
//! (`pqsim plan --format text`). The JSON form lives in `report::plan`.

use super::cost::Costed;
use crate::model::Node;

/// The planner's decision for one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanReport {
    /// Workers Planned of the chosen plan's Gather / Gather Merge (0 without one).
    pub workers_planned: u32,
    /// Workers the executor would launch (0 when the plan is serial).
    pub workers_launched: u32,
    /// Whether the chosen plan has a Gather / Gather Merge.
    pub parallel: bool,
    /// Why the plan is (not) parallel, and why fewer workers may launch.
    pub reasons: Vec<String>,
    pub serial_total_cost: f64,
    /// Total cost of the parallel alternative, `None` when there is none.
    pub parallel_total_cost: Option<f64>,
    /// The Gather is a single-copy Gather (debug_parallel_query / force_parallel_mode).
    pub single_copy: bool,
    /// force_parallel_mode = regress: EXPLAIN hides the single-copy Gather.
    pub explain_hidden: bool,
    /// The scenario fixed the worker count.
    pub pinned: bool,
    /// Parts of the query that run in the leader above the Gather.
    pub restricted_above_gather: Vec<String>,
    /// For each SubPlan in plan order: whether it uses a hash table (§7.1).
    pub subplans_hashed: Vec<bool>,
    /// For each SubPlan in plan order: the Workers Planned of the Gather in the
    /// subquery's own plan (0 when it is serial). A SubPlan big enough for its own
    /// parallel plan makes the scan evaluating it serial (§7.4); EXPLAIN then shows this
    /// Gather under the SubPlan although `workers_planned` (the main plan's) is 0.
    pub subplan_workers_planned: Vec<u32>,
    /// How Workers Planned was derived.
    pub worker_calculation: Option<String>,
    /// How Workers Launched was derived.
    pub launch_calculation: Option<String>,
    /// The chosen plan.
    pub plan: Node,
    /// The chosen plan with costs.
    pub costed: Costed,
    /// The serial plan with costs.
    pub serial_costed: Costed,
    /// The parallel alternative with costs.
    pub parallel_costed: Option<Costed>,
}

impl PlanReport {
    /// `pqsim plan --format text`: a readable explanation.
    pub fn render_text(&self) -> String {
        let mut out = vec![];
        let calc = self.worker_calculation.as_ref().map(|c| format!(" ({c})")).unwrap_or_default();
        if self.parallel {
            out.push(format!("Workers Planned: {}{calc}", self.workers_planned));
            if self.single_copy {
                out.push("Single Copy: true (the whole plan runs in one worker)".into());
            }
            out.push(format!(
                "Workers Launched: {}{}",
                self.workers_launched,
                self.launch_calculation.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
            ));
        } else {
            out.push(format!("Workers Planned: 0, serial plan{calc}"));
        }
        out.push(format!("Serial plan total cost:   {}", money(self.serial_total_cost)));
        match self.parallel_total_cost {
            Some(p) => out.push(format!("Parallel plan total cost: {}", money(p))),
            None => out.push("Parallel plan total cost: none (no parallel plan possible)".into()),
        }
        out.push(format!("Chosen: {}", if self.parallel { "parallel plan" } else { "serial plan" }));
        if !self.reasons.is_empty() {
            out.push(String::new());
            out.push("Reasons:".into());
            for r in &self.reasons {
                out.push(format!("  - {r}"));
            }
        }
        if !self.restricted_above_gather.is_empty() {
            out.push(String::new());
            out.push("Parallel restricted (runs in the leader, above any Gather):".into());
            for r in &self.restricted_above_gather {
                out.push(format!("  - {r}"));
            }
        }
        out.push(String::new());
        out.push("Chosen plan:".into());
        let mut lines = vec![];
        self.costed.explain_lines(&mut lines, 2, true);
        out.extend(lines);
        let other = if self.parallel {
            Some(("Serial alternative:", &self.serial_costed))
        } else {
            self.parallel_costed.as_ref().map(|c| ("Parallel alternative (not chosen):", c))
        };
        if let Some((title, c)) = other {
            out.push(String::new());
            out.push(title.into());
            let mut lines = vec![];
            c.explain_lines(&mut lines, 2, true);
            out.extend(lines);
        }
        out.join("\n") + "\n"
    }
}

/// A number with thousands separators ("12,544"), for explanations.
pub fn group(x: f64) -> String {
    let neg = x < 0.0;
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// A cost with two decimals and thousands separators ("46,237.69").
pub fn money(x: f64) -> String {
    let s = format!("{x:.2}");
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let int: f64 = int.parse().unwrap_or(0.0);
    let sign = if x < 0.0 && int == 0.0 { "-" } else { "" };
    format!("{sign}{}.{frac}", group(int))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_group_format() {
        assert_eq!(group(1_234_567.0), "1,234,567");
        assert_eq!(group(12.0), "12");
        assert_eq!(money(46_237.674), "46,237.67");
        assert_eq!(money(0.5), "0.50");
    }
}
