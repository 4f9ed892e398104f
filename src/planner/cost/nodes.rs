//! `CostCtx`'s formulas per node type (costsize.c's `cost_*` functions).

use super::formulas::*;
use super::{partial_agg_on_top, CostCtx, Costed};
use crate::model::{subplan_filter_text, AggMode, AggStrategy, Filter, JoinType, Node, Table};

impl CostCtx<'_> {
    /// `cost_seqscan`, partial when `parallel` (CPU and rows divided by the divisor).
    pub(super) fn seq_scan(
        &self,
        node: &Node,
        table: usize,
        parallel: bool,
        filter: &Option<Filter>,
        width: f64,
    ) -> Costed {
        let t = &self.tables[table];
        let (qual_startup, qual_per_tuple, sel, spc) = self.filter_cost(filter.as_ref());
        let rel_rows = clamp_row_est(t.rows * sel);
        let mut startup = qual_startup;
        if !self.settings.flag("enable_seqscan") {
            startup += DISABLE_COST;
        }
        let disk = self.num("seq_page_cost") * t.pages;
        let mut cpu = (self.num("cpu_tuple_cost") + qual_per_tuple) * t.rows;
        let mut rows = rel_rows;
        let mut workers = 0;
        if parallel {
            workers = self.scan_workers(node).workers;
            if workers > 0 {
                let d = self.divisor(workers);
                cpu /= d;
                rows = clamp_row_est(rows / d);
            }
        }
        let display = format!("{}Seq Scan on {}", if parallel { "Parallel " } else { "" }, t.name);
        let mut c = Costed::new("Seq Scan", display, startup, startup + cpu + disk, rows, width);
        c.detail("Relation Name", t.name.clone());
        filter_detail(&mut c, filter.as_ref(), spc.as_ref());
        if let Some(sp) = spc {
            c.children.push(sp.plan);
        }
        c.parallel_workers = workers;
        c.parallel_aware = parallel;
        c.rel_rows = rel_rows;
        c
    }

    /// `cost_agg`: plain, sorted (GroupAggregate) or hashed, in Simple/Partial/Finalize mode.
    pub(super) fn aggregate(&self, mode: AggMode, groups: f64, aggregates: f64, width: f64, input: &Node) -> Costed {
        let cpu_op = self.num("cpu_operator_cost");
        let cpu_tuple = self.num("cpu_tuple_cost");
        let inp = self.cost(input, None);
        let per_input = aggregates * cpu_op;
        let input_rows = inp.rows;
        let out_groups = match mode {
            AggMode::Finalize => groups.max(1.0),
            _ => clamp_row_est(groups.min(input_rows)),
        };
        let strategy = AggStrategy::of(groups, input);
        let (startup, total) = match strategy {
            AggStrategy::Plain => {
                let startup = inp.total + per_input * input_rows;
                (startup, startup + cpu_tuple)
            }
            AggStrategy::Sorted => {
                (inp.startup, inp.total + (per_input + cpu_op) * input_rows + cpu_tuple * out_groups)
            }
            AggStrategy::Hashed => {
                let startup = inp.total + (per_input + cpu_op) * input_rows;
                (startup, startup + cpu_tuple * out_groups)
            }
        };
        let (mode_name, prefix) = match mode {
            AggMode::Simple => ("Simple", ""),
            AggMode::Partial => ("Partial", "Partial "),
            AggMode::Finalize => ("Finalize", "Finalize "),
        };
        let node_name = match strategy {
            AggStrategy::Plain => "Aggregate",
            AggStrategy::Sorted => "GroupAggregate",
            AggStrategy::Hashed => "HashAggregate",
        };
        let mut c = Costed::new("Aggregate", format!("{prefix}{node_name}"), startup, total, out_groups, width);
        c.detail("Strategy", strategy.name());
        c.detail("Partial Mode", mode_name);
        c.parallel_workers = if mode == AggMode::Partial { inp.parallel_workers } else { 0 };
        c.children = vec![inp];
        c
    }

    /// `cost_sort` (bounded by a LIMIT's `bound` when there is one).
    pub(super) fn sort(&self, keys: &[String], input: &Node, bound: Option<f64>) -> Costed {
        let s = self.settings;
        let inp = self.cost(input, None);
        let (st, run) = cost_tuplesort(inp.rows, inp.width, s.work_mem_bytes(), bound, s);
        let mut startup = inp.total + st;
        if !s.flag("enable_sort") {
            startup += DISABLE_COST;
        }
        let mut c = Costed::new("Sort", "Sort", startup, startup + run, inp.rows, inp.width);
        if !keys.is_empty() {
            c.detail("Sort Key", keys.join(", "));
        }
        c.parallel_workers = inp.parallel_workers;
        c.rel_rows = inp.rel_rows;
        c.children = vec![inp];
        c
    }

    /// `cost_limit`: the input's startup plus its run cost pro-rated to the rows taken.
    pub(super) fn limit(&self, count: f64, input: &Node) -> Costed {
        let inp = self.cost(input, Some(count));
        let count_rows = count.min(inp.rows);
        let total =
            if inp.rows > 0.0 { inp.startup + (inp.total - inp.startup) * count_rows / inp.rows } else { inp.total };
        let rows = count_rows.max(1.0);
        let mut c = Costed::new("Limit", "Limit", inp.startup, total, rows, inp.width);
        c.parallel_workers = inp.parallel_workers;
        c.children = vec![inp];
        c
    }

    /// `cost_gather`.
    pub(super) fn gather(&self, workers: Option<u32>, single_copy: bool, input: &Node) -> Costed {
        let inp = self.cost(input, None);
        let w = workers.unwrap_or(inp.parallel_workers);
        // generate_useful_gather_paths(override_rows) for grouped input: partial
        // rows × workers; otherwise the relation's full estimate.
        let rows = if single_copy {
            inp.rows
        } else if partial_agg_on_top(input) {
            clamp_row_est(inp.rows * f64::from(w))
        } else {
            inp.rel_rows
        };
        let setup = self.num("parallel_setup_cost");
        let startup = inp.startup + setup;
        let total = inp.total + setup + self.num("parallel_tuple_cost") * rows;
        let mut c = Costed::new("Gather", "Gather", startup, total, rows, inp.width);
        c.workers_planned = Some(w);
        c.single_copy = single_copy;
        c.children = vec![inp];
        c
    }

    /// `cost_gather_merge`.
    pub(super) fn gather_merge(&self, workers: Option<u32>, input: &Node, bound: Option<f64>) -> Costed {
        let cpu_op = self.num("cpu_operator_cost");
        let inp = self.cost(input, bound);
        let w = workers.unwrap_or(inp.parallel_workers);
        let rows = if matches!(input, Node::Sort { .. }) || partial_agg_on_top(input) {
            clamp_row_est(inp.rows * f64::from(w))
        } else {
            inp.rel_rows
        };
        let n = f64::from(w) + 1.0;
        let logn = n.log2();
        let comparison = 2.0 * cpu_op;
        let mut startup = comparison * n * logn + self.num("parallel_setup_cost");
        if !self.settings.flag("enable_gathermerge") {
            startup += DISABLE_COST;
        }
        let run = rows * comparison * logn + cpu_op * rows + self.num("parallel_tuple_cost") * rows * 1.05;
        let mut c = Costed::new(
            "Gather Merge",
            "Gather Merge",
            startup + inp.startup,
            startup + run + inp.total,
            rows,
            inp.width,
        );
        c.workers_planned = Some(w);
        c.children = vec![inp];
        c
    }

    /// `initial_cost_hashjoin` + `final_cost_hashjoin` (one hash clause), with the Hash node.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn hash_join(
        &self,
        join_type: JoinType,
        parallel: bool,
        rows_per_outer: f64,
        width: f64,
        outer: &Node,
        inner: &Node,
        cond: &str,
    ) -> Costed {
        let s = self.settings;
        let cpu_op = self.num("cpu_operator_cost");
        let cpu_tuple = self.num("cpu_tuple_cost");
        let o = self.cost(outer, None);
        let i = self.cost(inner, None);
        let workers = o.parallel_workers;
        let parallel_hash = parallel && i.parallel_workers > 0;
        let inner_rows = i.rows;
        let inner_rows_total = if parallel_hash { inner_rows * self.divisor(i.parallel_workers) } else { inner_rows };
        let outer_rows = o.rows;
        let mut startup = o.startup + i.total + (cpu_op + cpu_tuple) * inner_rows;
        if !s.flag("enable_hashjoin") {
            startup += DISABLE_COST;
        }
        let mut run = (o.total - o.startup) + cpu_op * outer_rows;
        let (nbatch, _nbuckets, _space) = choose_hash_table_size(inner_rows_total, i.width, parallel_hash, workers, s);
        if nbatch > 1 {
            let outerpages = page_size(outer_rows, o.width);
            let innerpages = page_size(inner_rows, i.width);
            startup += self.num("seq_page_cost") * innerpages;
            run += self.num("seq_page_cost") * (innerpages + 2.0 * outerpages);
        }
        // final_cost_hashjoin: hash-qual evaluations = outer path rows × rows in
        // the probed bucket × 0.5, where the bucket holds inner path rows ×
        // innerbucketsize (1/ndistinct of the inner key, taken as rows per key =
        // max(rows_per_outer, 1) / inner rows); then cpu_tuple_cost per tuple of
        // approx_tuple_count = join selectivity × outer path rows × inner path
        // rows. For partial paths both path row counts are per participant.
        let inner_rel = i.rel_rows.max(1.0);
        let bucket_rows = clamp_row_est(inner_rows * rows_per_outer.max(1.0) / inner_rel);
        run += cpu_op * outer_rows * bucket_rows * 0.5;
        let rel_rows = clamp_row_est(o.rel_rows * rows_per_outer);
        let rows = if workers > 0 { clamp_row_est(rel_rows / self.divisor(workers)) } else { rel_rows };
        let hashjointuples = clamp_row_est(outer_rows * inner_rows * rows_per_outer / inner_rel);
        run += cpu_tuple * hashjointuples;
        let hash_name = if parallel_hash { "Parallel Hash" } else { "Hash" };
        let mut hash = Costed::new("Hash", hash_name, i.total, i.total, i.rows, i.width);
        hash.parallel_workers = i.parallel_workers;
        hash.parallel_aware = parallel_hash;
        hash.rel_rows = i.rel_rows;
        hash.children = vec![i];
        let name = if parallel_hash { "Parallel Hash Join" } else { "Hash Join" };
        let mut c = Costed::new("Hash Join", name, startup, startup + run, rows, width);
        c.detail("Join Type", join_type.name());
        if !cond.is_empty() {
            c.detail("Hash Cond", cond);
        }
        c.parallel_workers = workers;
        c.parallel_aware = parallel_hash;
        c.rel_rows = rel_rows;
        c.children = vec![o, hash];
        c
    }

    /// `cost_nestloop` over a parameterized inner index scan.
    pub(super) fn nested_loop(
        &self,
        join_type: JoinType,
        rows_per_outer: f64,
        inner_table: usize,
        width: f64,
        outer: &Node,
        cond: &str,
    ) -> Costed {
        let o = self.cost(outer, None);
        let t = &self.tables[inner_table];
        let outer_rows = o.rows;
        let frac = if t.rows > 0.0 { (rows_per_outer.max(1.0) / t.rows).min(1.0) } else { 1.0 };
        let mut inner = self.index_scan(t, frac, 0.0, outer_rows.max(1.0), None, 0, true);
        if !cond.is_empty() {
            inner.detail("Index Cond", cond);
        }
        let workers = o.parallel_workers;
        let mut startup = o.startup + inner.startup;
        if !self.settings.flag("enable_nestloop") {
            startup += DISABLE_COST;
        }
        let inner_run = inner.total - inner.startup;
        let mut run = (o.total - o.startup) + (outer_rows - 1.0).max(0.0) * inner.startup + inner_run * outer_rows;
        let ntuples = outer_rows * rows_per_outer.max(0.0);
        run += self.num("cpu_tuple_cost") * ntuples;
        let rel_rows = clamp_row_est(o.rel_rows * rows_per_outer);
        let rows = if workers > 0 { clamp_row_est(rel_rows / self.divisor(workers)) } else { rel_rows };
        let mut c = Costed::new("Nested Loop", "Nested Loop", startup, startup + run, rows, width);
        c.detail("Join Type", join_type.name());
        c.parallel_workers = workers;
        c.rel_rows = rel_rows;
        c.children = vec![o, inner];
        c
    }

    /// `cost_index` with btree's `genericcostestimate` (approximate, see module docs).
    /// `fraction` = index selectivity, `loop_count` > 1 for the inner side of a nested
    /// loop (per-loop cost, cache effects across loops), `workers` > 0 for a partial path.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn index_scan(
        &self,
        t: &Table,
        fraction: f64,
        correlation: f64,
        loop_count: f64,
        filter: Option<&Filter>,
        workers: u32,
        index_qual: bool,
    ) -> Costed {
        let cpu_op = self.num("cpu_operator_cost");
        let rpc = self.num("random_page_cost");
        let spc = self.num("seq_page_cost");
        let ip = self.index_pages(t);
        let index_tuples = t.rows.max(1.0);
        let tuples_fetched = clamp_row_est(fraction * t.rows);
        // genericcostestimate
        let num_index_pages = (tuples_fetched * ip / index_tuples).ceil().max(1.0);
        let mut index_total = if loop_count > 1.0 {
            let pf = index_pages_fetched(num_index_pages * loop_count, ip, ip, self.total_table_pages, self.settings);
            pf * rpc / loop_count
        } else {
            num_index_pages * rpc
        };
        let qual_op = if index_qual { cpu_op } else { 0.0 };
        index_total += tuples_fetched * (self.num("cpu_index_tuple_cost") + qual_op);
        // btcostestimate descent costs
        let mut index_startup = 0.0;
        if index_tuples > 1.0 {
            let d = index_tuples.log2().ceil() * cpu_op;
            index_startup += d;
            index_total += d;
        }
        let height = if ip <= 1.0 { 0.0 } else { (ip.ln() / 300f64.ln()).ceil().max(1.0) };
        let d = (height + 1.0) * 50.0 * cpu_op;
        index_startup += d;
        index_total += d;
        // cost_index: heap access
        let (max_io, min_io) = if loop_count > 1.0 {
            let pf =
                index_pages_fetched(tuples_fetched * loop_count, t.pages, ip, self.total_table_pages, self.settings);
            let max_io = pf * rpc / loop_count;
            let pf_min = (fraction * t.pages).ceil();
            let pf_min = index_pages_fetched(pf_min * loop_count, t.pages, ip, self.total_table_pages, self.settings);
            (max_io, pf_min * rpc / loop_count)
        } else {
            let pf = index_pages_fetched(tuples_fetched, t.pages, ip, self.total_table_pages, self.settings);
            let max_io = pf * rpc;
            let pf_min = (fraction * t.pages).ceil();
            let min_io = if pf_min > 0.0 { rpc + (pf_min - 1.0) * spc } else { 0.0 };
            (max_io, min_io)
        };
        let csquared = correlation * correlation;
        let io = max_io + csquared * (min_io - max_io);
        let (qual_startup, qual_per_tuple, sel, spc) = self.filter_cost(filter);
        let mut cpu = (self.num("cpu_tuple_cost") + qual_per_tuple) * tuples_fetched;
        let rel_rows = clamp_row_est(tuples_fetched * sel);
        let mut rows = rel_rows;
        if workers > 0 {
            let d = self.divisor(workers);
            cpu /= d;
            rows = clamp_row_est(rows / d);
        }
        let mut startup = index_startup + qual_startup;
        if !self.settings.flag("enable_indexscan") {
            startup += DISABLE_COST;
        }
        let total = startup + (index_total - index_startup) + io + cpu;
        let display = format!("{}Index Scan on {}", if workers > 0 { "Parallel " } else { "" }, t.name);
        let mut c = Costed::new("Index Scan", display, startup, total, rows, t.width);
        c.detail("Relation Name", t.name.clone());
        filter_detail(&mut c, filter, spc.as_ref());
        c.parallel_workers = workers;
        c.parallel_aware = workers > 0;
        c.rel_rows = rel_rows;
        c
    }
}

/// A scan's `Filter` line; EXPLAIN says whether the SubPlan is hashed, whatever the scenario
/// wrote.
fn filter_detail(c: &mut Costed, filter: Option<&Filter>, spc: Option<&super::SubPlanCost>) {
    if let Some(f) = filter.filter(|f| !f.text.is_empty()) {
        let text = match spc {
            Some(sp) => subplan_filter_text(&f.text, sp.hashed),
            None => f.text.clone(),
        };
        c.detail("Filter", text);
    }
}
