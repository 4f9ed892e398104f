//! PostgreSQL 15's cost model (`src/backend/optimizer/path/costsize.c`) for the plan shapes
//! pqsim models, and the worker-count rule (`allpaths.c:compute_parallel_worker`).
//!
//! What is exact (same formulas, same rounding as PostgreSQL 15, given the same table
//! statistics): `compute_parallel_worker`, `get_parallel_divisor`, `clamp_row_est`,
//! `cost_seqscan`, qual cost as `operators × cpu_operator_cost`, `cost_agg` for plain
//! (non-grouped) aggregation in Simple/Partial/Finalize mode, `cost_gather`,
//! `cost_gather_merge`, `cost_tuplesort`/`cost_sort`, `cost_limit`, `cost_material`,
//! `cost_subplan`, `ExecChooseHashTableSize` (batches) and the batch I/O terms of
//! `initial_cost_hashjoin`, `subplan_is_hashable`, `index_pages_fetched` (Mackert-Lohman).
//!
//! What is approximate (the model lacks the statistics PostgreSQL would use):
//! * grouped aggregation: one grouping column; hashed unless the input is sorted (a Sort
//!   or Gather Merge below it); no HashAgg spill costs;
//! * hash join: one hash clause; the inner key has `max(rows_per_outer, 1)` rows per
//!   distinct value (PostgreSQL takes n_distinct and MCVs from the statistics); semi/anti
//!   joins are costed like inner joins with their own output row count;
//! * index scans: btree descent with a tree height guessed from the index size, one index
//!   qual operator when the scan reads part of the index, an index size of 20 bytes per
//!   row when the scenario gives none;
//! * nested loop: the inner side is a parameterized index scan returning
//!   `rows_per_outer` rows per loop at correlation 0 (random heap access), cached
//!   across loops by the Mackert-Lohman formula as `cost_index` does with `loop_count`;
//! * the target list is free (plain column references).

mod costed;
mod formulas;
mod merge_append;
mod nodes;

pub use costed::{Costed, SubPlanCost};
pub use formulas::*;

use crate::model::guc::Settings;
use crate::model::{subplan_is_hashable, subplan_name, AggMode, Filter, Node, SubPlan, Table, BLCKSZ};

/// Costing context: the tables, settings and worker counts of one query.
#[derive(Debug, Clone)]
pub struct CostCtx<'a> {
    pub tables: &'a [Table],
    pub settings: &'a Settings,
    /// `root->total_table_pages`: pages of all tables the query reads.
    pub total_table_pages: f64,
    /// When set, every parallel-aware scan uses this worker count (the scenario pinned it).
    pub pinned_workers: Option<u32>,
    /// Costing an Append's inputs: a partial scan of an append member ignores the minimum
    /// size (allpaths.c: the threshold applies to base relations only).
    append_child: std::cell::Cell<bool>,
}

impl<'a> CostCtx<'a> {
    pub fn new(tables: &'a [Table], settings: &'a Settings, plan: &Node) -> Self {
        let mut used = vec![false; tables.len()];
        mark_tables(plan, &mut used);
        let total_table_pages = tables.iter().zip(&used).filter(|(_, u)| **u).map(|(t, _)| t.pages).sum();
        CostCtx { tables, settings, total_table_pages, pinned_workers: None, append_child: std::cell::Cell::new(false) }
    }

    fn num(&self, name: &str) -> f64 {
        self.settings.num(name)
    }

    fn leader(&self) -> bool {
        self.settings.flag("parallel_leader_participation")
    }

    fn divisor(&self, workers: u32) -> f64 {
        parallel_divisor(workers, self.leader())
    }

    /// Index pages of a table: the scenario's, else ~20 bytes per row (btree on a key).
    pub fn index_pages(&self, t: &Table) -> f64 {
        t.index_pages.unwrap_or_else(|| (t.rows * 20.0 / BLCKSZ).ceil().max(1.0))
    }

    /// The worker count of a partial path for this scan: what `compute_parallel_worker`
    /// gives it (its own table's size or storage option, capped by
    /// max_parallel_workers_per_gather), or the pinned count.
    pub fn scan_workers(&self, scan: &Node) -> WorkerCalc {
        if let Some(p) = self.pinned_workers {
            return WorkerCalc { workers: p, explanation: format!("pinned by the scenario at {p}") };
        }
        match scan {
            Node::SeqScan { table, .. } => {
                let t = &self.tables[*table];
                let w = explain_parallel_worker(t.pages, -1.0, t.parallel_workers, self.settings);
                if w.workers == 0 && self.append_child.get() {
                    return self.append_member_workers(t).unwrap_or(w);
                }
                w
            }
            Node::IndexScan { table, fraction, .. } => {
                let t = &self.tables[*table];
                let ip = self.index_pages(t);
                let tuples_fetched = clamp_row_est(fraction * t.rows);
                let num_index_pages = (tuples_fetched * ip / t.rows.max(1.0)).ceil().max(1.0);
                let heap = index_pages_fetched(tuples_fetched, t.pages, ip, self.total_table_pages, self.settings);
                explain_parallel_worker(heap, num_index_pages, t.parallel_workers, self.settings)
            }
            _ => WorkerCalc { workers: 0, explanation: "not a scan".into() },
        }
    }

    /// `compute_parallel_worker` for an append member below the minimum size: the size
    /// loop from one worker (None when the table or the settings allow none).
    fn append_member_workers(&self, t: &Table) -> Option<WorkerCalc> {
        let max = self.num("max_parallel_workers_per_gather");
        if t.parallel_workers == Some(0) || max < 1.0 {
            return None;
        }
        Some(WorkerCalc {
            workers: 1,
            explanation: format!("append member {}: below min_parallel_table_scan_size, 1 worker (the size rule applies to base relations only)", t.name),
        })
    }

    /// Cost of a qual: (startup, per tuple, selectivity, subplan).
    fn filter_cost(&self, f: Option<&Filter>) -> (f64, f64, f64, Option<SubPlanCost>) {
        let Some(f) = f else {
            return (0.0, 0.0, 1.0, None);
        };
        let mut startup = 0.0;
        let mut per_tuple = f.operators * self.num("cpu_operator_cost");
        let mut spc = None;
        if let Some(sp) = &f.subplan {
            let mut c = self.subplan_cost(sp);
            c.plan.subplan_name = Some(subplan_name(&f.text));
            startup += c.startup;
            per_tuple += c.per_call;
            spc = Some(c);
        }
        (startup, per_tuple, f.selectivity, spc)
    }

    /// The subquery of an uncorrelated `x [NOT] IN (SELECT col FROM table ...)`: a scan of
    /// its table (with a one-operator filter when it returns fewer rows than the table has),
    /// planned like `make_subplan` does (tuple_fraction 0.5, so the fractional cost decides
    /// between a serial scan and Gather + Parallel Seq Scan), then costed as a SubPlan
    /// (`cost_subplan`), hashed when `subplan_is_hashable`.
    pub fn subplan_cost(&self, sp: &SubPlan) -> SubPlanCost {
        let t = &self.tables[sp.table];
        let filter = (sp.rows < t.rows).then(|| Filter {
            text: String::new(),
            selectivity: if t.rows > 0.0 { sp.rows / t.rows } else { 1.0 },
            operators: 1.0,
            subplan: None,
            reach: vec![],
        });
        let scan = |parallel| Node::SeqScan {
            table: sp.table,
            parallel,
            filter: filter.clone(),
            width: sp.width,
            output: vec![],
        };
        let serial = self.cost(&scan(false), None);
        let mut chosen = serial.clone();
        let mut parallel_inner = false;
        let w = self.scan_workers(&scan(true)).workers;
        let allowed = w > 0 && !t.temporary && self.settings.int("max_parallel_workers_per_gather") > 0;
        if allowed {
            let g =
                self.cost(&Node::Gather { workers: Some(w), single_copy: false, input: Box::new(scan(true)) }, None);
            let frac = |c: &Costed| c.startup + 0.5 * (c.total - c.startup);
            if g.total * STD_FUZZ_FACTOR < serial.total && frac(&g) < frac(&serial) {
                chosen = g;
                parallel_inner = true;
            }
        }
        let cpu_op = self.num("cpu_operator_cost");
        let hashed = subplan_is_hashable(chosen.rows, sp.width, self.settings);
        if hashed {
            SubPlanCost {
                hashed,
                parallel_inner,
                startup: chosen.total + cpu_op * chosen.rows,
                per_call: 0.0,
                plan: chosen,
            }
        } else {
            let mat = self.material(chosen);
            let run = mat.total - mat.startup;
            SubPlanCost {
                hashed,
                parallel_inner,
                startup: mat.startup,
                per_call: 0.5 * run + 0.5 * mat.rows * cpu_op,
                plan: mat,
            }
        }
    }

    /// `cost_material` on top of a finished plan.
    fn material(&self, input: Costed) -> Costed {
        let nbytes = relation_byte_size(input.rows, input.width);
        let mut run = 2.0 * self.num("cpu_operator_cost") * input.rows;
        if nbytes > self.settings.work_mem_bytes() {
            run += self.num("seq_page_cost") * (nbytes / BLCKSZ).ceil();
        }
        let mut c =
            Costed::new("Materialize", "Materialize", input.startup, input.total + run, input.rows, input.width);
        c.children = vec![input];
        c
    }

    /// Cost a plan tree. `bound` is a LIMIT's row count passed down to a Sort
    /// (`limit_tuples`), through Gather Merge too.
    pub fn cost(&self, node: &Node, bound: Option<f64>) -> Costed {
        match node {
            Node::SeqScan { table, parallel, filter, width, .. } => {
                self.seq_scan(node, *table, *parallel, filter, *width)
            }
            Node::IndexScan { table, parallel, filter, width, fraction, correlation, .. } => {
                let t = &self.tables[*table];
                let workers = if *parallel { self.scan_workers(node).workers } else { 0 };
                let mut c = self.index_scan(t, *fraction, *correlation, 1.0, filter.as_ref(), workers, *fraction < 1.0);
                c.parallel_aware = *parallel;
                c.width = *width;
                // The SubPlan of the filter is a child, as under a Seq Scan (EXPLAIN's shape).
                if let (_, _, _, Some(sp)) = self.filter_cost(filter.as_ref()) {
                    c.children.push(sp.plan);
                }
                c
            }
            Node::Aggregate { mode, groups, aggregates, width, input, .. } => {
                self.aggregate(*mode, *groups, *aggregates, *width, input)
            }
            Node::Sort { keys, input } => self.sort(keys, input, bound),
            Node::Limit { count, input } => self.limit(*count, input),
            Node::Gather { workers, single_copy, input } => self.gather(*workers, *single_copy, input),
            Node::GatherMerge { workers, input } => self.gather_merge(*workers, input, bound),
            Node::HashJoin { join_type, parallel, rows_per_outer, width, outer, inner, cond, .. } => {
                self.hash_join(*join_type, *parallel, *rows_per_outer, *width, outer, inner, cond)
            }
            Node::NestedLoop { join_type, rows_per_outer, inner_table, width, outer, cond, .. } => {
                self.nested_loop(*join_type, *rows_per_outer, *inner_table, *width, outer, cond)
            }
            Node::MergeJoin { join_type, rows_per_outer, width, outer, inner, cond, .. } => {
                self.merge_join(*join_type, *rows_per_outer, *width, outer, inner, cond)
            }
            Node::Append { parallel, width, inputs, .. } => self.append(*parallel, *width, inputs),
        }
    }
}

/// Whether the top of this (partial) subtree is a Partial Aggregate (then Gather's rows
/// are partial groups × workers).
fn partial_agg_on_top(n: &Node) -> bool {
    match n {
        Node::Aggregate { mode, .. } => *mode == AggMode::Partial,
        Node::Sort { input, .. } | Node::Limit { input, .. } => partial_agg_on_top(input),
        _ => false,
    }
}

fn mark_tables(n: &Node, used: &mut [bool]) {
    match n {
        Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } => {
            used[*table] = true;
            if let Some(sp) = filter.as_ref().and_then(|f| f.subplan.as_ref()) {
                used[sp.table] = true;
            }
        }
        Node::NestedLoop { inner_table, .. } => used[*inner_table] = true,
        _ => {}
    }
    for c in n.children() {
        mark_tables(c, used);
    }
}

#[cfg(test)]
mod tests;
