//! `cost_mergejoin` (initial_ + final_cost_mergejoin) and `cost_append` (costsize.c).
//!
//! Approximations: the merge scans whole input ranges (`mergejoinscansel`'s start and end
//! fractions need the keys' histograms: taken as 0 and 1), one merge clause, no other join
//! quals; the inner side is materialized as `final_cost_mergejoin` decides it for an explicit
//! Sort that does not fit in work_mem.

use super::formulas::*;
use super::{CostCtx, Costed};
use crate::model::{JoinType, Node};

/// `APPEND_CPU_COST_MULTIPLIER` (costsize.c): an Append's per-row overhead in cpu_tuple_cost.
const APPEND_CPU_COST_MULTIPLIER: f64 = 0.5;

impl CostCtx<'_> {
    /// `initial_cost_mergejoin` + `final_cost_mergejoin` over inputs already sorted (the
    /// scenario's Sort nodes carry their own cost), with the Materialize over the inner.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn merge_join(
        &self,
        join_type: JoinType,
        rows_per_outer: f64,
        width: f64,
        outer: &Node,
        inner: &Node,
        cond: &str,
    ) -> Costed {
        let cpu_op = self.num("cpu_operator_cost");
        let o = self.cost(outer, None);
        let mut i = self.cost(inner, None);
        let workers = o.parallel_workers;
        let rel_rows = clamp_row_est(o.rel_rows * rows_per_outer);
        let rows = if workers > 0 { clamp_row_est(rel_rows / self.divisor(workers)) } else { rel_rows };
        // Join rows of this path (per participant for a partial outer), and the inner rows
        // read again for duplicate outer keys (ExecRestrPos).
        let mergejointuples = rows;
        let rescanned = (mergejointuples - i.rows).max(0.0);
        let rescanratio = 1.0 + if i.rows > 0.0 { rescanned / i.rows } else { 0.0 };
        let inner_run = i.total - i.startup;
        let sorted_inner = matches!(inner, Node::Sort { .. });
        let materialize = sorted_inner
            && self.settings.flag("enable_material")
            && relation_byte_size(i.rows, i.width) > self.settings.work_mem_bytes();
        let inner_cost = if materialize {
            // create_mergejoin_plan: the Materialize costs its input's total plus
            // cpu_operator_cost per row.
            let mut mat =
                Costed::new("Materialize", "Materialize", i.startup, i.total + cpu_op * i.rows, i.rows, i.width);
            mat.rel_rows = i.rel_rows;
            mat.children = vec![i.clone()];
            let run = inner_run + cpu_op * i.rows * rescanratio;
            i = mat;
            run
        } else {
            inner_run * rescanratio
        };
        let mut startup = o.startup + i.startup;
        if !self.settings.flag("enable_mergejoin") {
            startup += DISABLE_COST;
        }
        let mut run = (o.total - o.startup) + inner_cost;
        // One merge clause: cpu_operator_cost per outer row and per (re)read inner row.
        run += cpu_op * (o.rows + i.rows * rescanratio);
        run += self.num("cpu_tuple_cost") * mergejointuples;
        let mut c = Costed::new("Merge Join", "Merge Join", startup, startup + run, rows, width);
        c.detail("Join Type", join_type.name());
        if !cond.is_empty() {
            c.detail("Merge Cond", cond);
        }
        c.parallel_workers = workers;
        c.rel_rows = rel_rows;
        c.children = vec![o, i];
        c
    }

    /// `cost_append`: a plain Append sums its inputs; a Parallel Append adds its partial
    /// inputs' costs and spreads its non-partial ones over the workers
    /// (`append_nonpartial_cost`), its rows rescaled from each input's parallel divisor to
    /// its own. Workers: the inputs' most, at least `fls(inputs)` for a Parallel Append,
    /// capped by max_parallel_workers_per_gather (allpaths.c:add_paths_to_append_rel).
    pub(super) fn append(&self, parallel: bool, width: f64, inputs: &[Node]) -> Costed {
        self.append_child.set(true);
        let kids: Vec<Costed> = inputs.iter().map(|n| self.cost(n, None)).collect();
        self.append_child.set(false);
        let most = kids.iter().map(|k| k.parallel_workers).max().unwrap_or(0);
        let mut workers = most;
        if parallel {
            let fls = usize::BITS - kids.len().leading_zeros();
            workers = workers.max(fls);
            workers = workers.min(self.num("max_parallel_workers_per_gather").max(0.0) as u32);
            if let Some(p) = self.pinned_workers {
                workers = p;
            }
        }
        let mut rows = 0.0;
        let mut total = 0.0;
        let mut startup = kids.first().map_or(0.0, |k| k.startup);
        let mut nonpartial: Vec<f64> = vec![];
        if parallel && workers > 0 {
            let d = self.divisor(workers);
            for (k, n) in kids.iter().zip(inputs) {
                if n.has_parallel_aware() && k.parallel_workers > 0 {
                    rows += k.rows * self.divisor(k.parallel_workers) / d;
                    total += k.total;
                } else {
                    startup = startup.min(k.startup);
                    rows += k.rows / d;
                    nonpartial.push(k.total);
                }
            }
            total += append_nonpartial_cost(&nonpartial, workers);
        } else {
            for k in &kids {
                rows += k.rows;
                total += k.total;
            }
        }
        let rows = clamp_row_est(rows);
        total += self.num("cpu_tuple_cost") * APPEND_CPU_COST_MULTIPLIER * rows;
        let name = if parallel { "Parallel Append" } else { "Append" };
        let mut c = Costed::new("Append", name, startup, total.max(startup), rows, width);
        c.parallel_workers = workers;
        c.parallel_aware = parallel;
        c.rel_rows = kids.iter().map(|k| k.rel_rows).sum();
        c.children = kids;
        c
    }
}

/// `append_nonpartial_cost`: the non-partial inputs (by decreasing cost) claimed one per
/// worker, each further one by the worker with the least so far; the most any worker gets.
fn append_nonpartial_cost(costs: &[f64], workers: u32) -> f64 {
    if costs.is_empty() || workers == 0 {
        return costs.iter().sum();
    }
    let mut sorted = costs.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let n = (workers as usize).min(sorted.len());
    let mut acc: Vec<f64> = sorted[..n].to_vec();
    for c in &sorted[n..] {
        let (i, _) = acc.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).expect("one worker at least");
        acc[i] += c;
    }
    acc.into_iter().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::append_nonpartial_cost;

    #[test]
    fn non_partial_inputs_go_to_the_least_loaded_worker() {
        assert_eq!(append_nonpartial_cost(&[722.0], 2), 722.0);
        assert_eq!(append_nonpartial_cost(&[10.0, 30.0, 20.0], 2), 30.0);
        assert_eq!(append_nonpartial_cost(&[10.0, 10.0, 10.0], 2), 20.0);
    }
}
