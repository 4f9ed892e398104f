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

use crate::model::guc::Settings;
use crate::model::{maxalign, AggMode, Filter, Node, SubPlan, Table, BLCKSZ};
use serde_json::{json, Map, Value};

/// `disable_cost` (costsize.c): added to the startup cost of a disabled node type.
pub const DISABLE_COST: f64 = 1.0e10;
/// `STD_FUZZ_FACTOR` (pathnode.c): `add_path` treats costs within 1 % as equal.
pub const STD_FUZZ_FACTOR: f64 = 1.01;

/// `clamp_row_est`: at least one row, whole rows (rint: ties to even).
pub fn clamp_row_est(nrows: f64) -> f64 {
    if nrows.is_nan() || nrows <= 1.0 {
        1.0
    } else {
        nrows.min(1e100).round_ties_even()
    }
}

/// `get_parallel_divisor`: workers, plus the leader's share `1 - 0.3 × workers` when
/// `parallel_leader_participation` is on and that share is positive.
pub fn parallel_divisor(workers: u32, leader_participation: bool) -> f64 {
    let mut divisor = f64::from(workers);
    if leader_participation {
        let leader_contribution = 1.0 - (0.3 * f64::from(workers));
        if leader_contribution > 0.0 {
            divisor += leader_contribution;
        }
    }
    divisor
}

/// `relation_byte_size`: bytes of `tuples` heap tuples of `width` data bytes.
pub fn relation_byte_size(tuples: f64, width: f64) -> f64 {
    tuples * (maxalign(width) + maxalign(23.0))
}

/// `page_size`: 8 kB pages for `tuples` heap tuples of `width` data bytes.
pub fn page_size(tuples: f64, width: f64) -> f64 {
    (relation_byte_size(tuples, width) / BLCKSZ).ceil()
}

/// One step of the worker-count rule, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCalc {
    pub workers: u32,
    /// Human-readable derivation, e.g. "heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, ...".
    pub explanation: String,
}

/// `compute_parallel_worker` (allpaths.c, PostgreSQL 15) for a base relation.
/// `heap_pages`/`index_pages` < 0 mean "not scanned". `table_option` is the table's
/// `parallel_workers` storage option: it replaces the size rule (and its minimum-size
/// test) but is still capped by `max_parallel_workers_per_gather`.
pub fn compute_parallel_worker(
    heap_pages: f64,
    index_pages: f64,
    table_option: Option<u32>,
    settings: &Settings,
) -> u32 {
    explain_parallel_worker(heap_pages, index_pages, table_option, settings).workers
}

/// [`compute_parallel_worker`] with the derivation spelled out.
pub fn explain_parallel_worker(
    heap_pages: f64,
    index_pages: f64,
    table_option: Option<u32>,
    settings: &Settings,
) -> WorkerCalc {
    let max_workers = settings.int("max_parallel_workers_per_gather").max(0);
    let min_table = settings.int("min_parallel_table_scan_size");
    let min_index = settings.int("min_parallel_index_scan_size");
    let mut parts: Vec<String> = vec![];
    let mut workers: i64 = 0;
    if let Some(opt) = table_option {
        workers = i64::from(opt);
        parts.push(format!("table option parallel_workers = {opt} (replaces the size rule)"));
    } else {
        if heap_pages >= 0.0 && heap_pages < min_table as f64 {
            return WorkerCalc {
                workers: 0,
                explanation: format!(
                    "heap {} pages < min_parallel_table_scan_size {} pages: no parallel scan",
                    group(heap_pages),
                    group(min_table as f64)
                ),
            };
        }
        if index_pages >= 0.0 && index_pages < min_index as f64 {
            return WorkerCalc {
                workers: 0,
                explanation: format!(
                    "index {} pages < min_parallel_index_scan_size {} pages: no parallel scan",
                    group(index_pages),
                    group(min_index as f64)
                ),
            };
        }
        if heap_pages >= 0.0 {
            let (w, steps) = threshold_loop(heap_pages, min_table);
            parts.push(format!("heap {} pages: {steps}", group(heap_pages)));
            workers = w;
        }
        if index_pages >= 0.0 {
            let (w, steps) = threshold_loop(index_pages, min_index);
            parts.push(format!("index {} pages: {steps}", group(index_pages)));
            if workers > 0 {
                if w < workers {
                    parts.push(format!("min(heap, index) = {w}"));
                }
                workers = workers.min(w);
            } else {
                workers = w;
            }
        }
    }
    if workers > max_workers {
        parts.push(format!("capped by max_parallel_workers_per_gather = {max_workers}"));
        workers = max_workers;
    }
    WorkerCalc { workers: workers.max(0) as u32, explanation: parts.join("; ") }
}

/// The tripling loop of `compute_parallel_worker`, in C `int` arithmetic.
fn threshold_loop(pages: f64, min_size: i64) -> (i64, String) {
    const INT_MAX: i64 = i32::MAX as i64;
    let mut threshold = min_size.max(1);
    let mut workers = 1;
    let mut steps = vec![format!("{} -> 1", group(threshold as f64))];
    while pages >= (threshold * 3) as f64 {
        workers += 1;
        threshold *= 3;
        steps.push(format!("{} -> {workers}", group(threshold as f64)));
        if threshold > INT_MAX / 3 {
            break;
        }
    }
    (workers, steps.join(", "))
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

/// `subplan_is_hashable` (subselect.c): the SubPlan's result fits in hash_mem:
/// `rows × (MAXALIGN(width) + MAXALIGN(SizeofHeapTupleHeader)) <= work_mem ×
/// hash_mem_multiplier`. A pure size test on the estimated rows, not cost-based.
pub fn subplan_is_hashable(rows: f64, width: f64, settings: &Settings) -> bool {
    // MAXALIGN(SizeofHeapTupleHeader) = MAXALIGN(23) = 24 (heap tuple overhead as fudge).
    let subquery_size = rows * (maxalign(width) + maxalign(23.0));
    subquery_size <= settings.hash_mem_bytes()
}

/// `index_pages_fetched` (costsize.c): Mackert-Lohman estimate of distinct pages fetched
/// by `tuples_fetched` random accesses into a table of `pages` pages, given
/// `effective_cache_size` pro-rated over `total_table_pages` (all tables of the query)
/// plus `index_pages`.
pub fn index_pages_fetched(
    tuples_fetched: f64,
    pages: f64,
    index_pages: f64,
    total_table_pages: f64,
    settings: &Settings,
) -> f64 {
    let t = if pages > 1.0 { pages } else { 1.0 };
    let total_pages = (total_table_pages + index_pages).max(1.0).max(t);
    let b = settings.num("effective_cache_size") * t / total_pages;
    let b = if b <= 1.0 { 1.0 } else { b.ceil() };
    if t <= b {
        let pf = (2.0 * t * tuples_fetched) / (2.0 * t + tuples_fetched);
        if pf >= t {
            t
        } else {
            pf.ceil()
        }
    } else {
        let lim = (2.0 * t * b) / (2.0 * t - b);
        let pf = if tuples_fetched <= lim {
            (2.0 * t * tuples_fetched) / (2.0 * t + tuples_fetched)
        } else {
            b + (tuples_fetched - lim) * (t - b) / t
        };
        pf.ceil()
    }
}

/// `ExecChooseHashTableSize` (nodeHash.c, PostgreSQL 15) as the planner calls it from
/// `initial_cost_hashjoin` (skew optimisation on). Returns (nbatch, nbuckets,
/// space_allowed bytes).
pub fn choose_hash_table_size(
    ntuples: f64,
    width: f64,
    try_combined_hash_mem: bool,
    parallel_workers: u32,
    settings: &Settings,
) -> (u32, u64, f64) {
    let ntuples = if ntuples <= 0.0 { 1000.0 } else { ntuples };
    let tupsize = 16.0 + 16.0 + maxalign(width);
    let inner_rel_bytes = ntuples * tupsize;
    let mut hash_table_bytes = settings.hash_mem_bytes().floor();
    if try_combined_hash_mem {
        hash_table_bytes *= f64::from(parallel_workers) + 1.0;
    }
    let space_allowed = hash_table_bytes;
    // Skew buckets: 2 % of memory (SKEW_HASH_MEM_PERCENT).
    let bytes_per_mcv = tupsize + 8.0 * 8.0 + 4.0 + 16.0;
    let skew_mcvs = ((hash_table_bytes / bytes_per_mcv).floor() * 2.0 / 100.0).floor();
    if skew_mcvs > 0.0 {
        hash_table_bytes -= skew_mcvs * bytes_per_mcv;
    }
    let max_alloc = 1_073_741_823.0_f64;
    let mut max_pointers = (hash_table_bytes / 8.0).floor().min((max_alloc / 8.0).floor());
    max_pointers = prev_power2(max_pointers).min(f64::from(i32::MAX / 2 + 1));
    let dbuckets = ntuples.ceil().min(max_pointers);
    let mut nbuckets = next_power2(dbuckets.max(1024.0));
    let bucket_bytes = 8.0 * nbuckets;
    let mut nbatch = 1.0;
    if inner_rel_bytes + bucket_bytes > hash_table_bytes {
        if try_combined_hash_mem {
            return choose_hash_table_size(ntuples, width, false, parallel_workers, settings);
        }
        let bucket_size = tupsize + 8.0;
        let sbuckets =
            if hash_table_bytes <= bucket_size { 1.0 } else { next_power2((hash_table_bytes / bucket_size).floor()) };
        nbuckets = next_power2(sbuckets.min(max_pointers));
        let bucket_bytes = nbuckets * 8.0;
        let dbatch = (inner_rel_bytes / (hash_table_bytes - bucket_bytes)).ceil().min(max_pointers);
        nbatch = next_power2(dbatch.max(2.0));
    }
    (nbatch as u32, nbuckets as u64, space_allowed)
}

fn next_power2(x: f64) -> f64 {
    if x <= 1.0 {
        return 1.0;
    }
    2f64.powf(x.log2().ceil())
}

fn prev_power2(x: f64) -> f64 {
    if x < 1.0 {
        return 1.0;
    }
    2f64.powf(x.log2().floor())
}

/// `tuplesort_merge_order`: how many runs one merge pass can read.
pub fn tuplesort_merge_order(sort_mem_bytes: f64) -> f64 {
    let order = (sort_mem_bytes / (2.0 * BLCKSZ + 32.0 * BLCKSZ)).floor();
    order.clamp(6.0, 500.0)
}

/// `cost_tuplesort`: (startup cost, run cost) of sorting `tuples` rows of `width` bytes in
/// `sort_mem_bytes`, with an optional bound (top-N) from a LIMIT above.
pub fn cost_tuplesort(tuples: f64, width: f64, sort_mem_bytes: f64, bound: Option<f64>, s: &Settings) -> (f64, f64) {
    let cpu_op = s.num("cpu_operator_cost");
    let tuples = tuples.max(2.0);
    let comparison_cost = 2.0 * cpu_op;
    let input_bytes = relation_byte_size(tuples, width);
    let (output_tuples, output_bytes) = match bound {
        Some(b) if b > 0.0 && b < tuples => (b, relation_byte_size(b, width)),
        _ => (tuples, input_bytes),
    };
    let mut startup = 0.0;
    if output_bytes > sort_mem_bytes {
        let npages = (input_bytes / BLCKSZ).ceil();
        let nruns = input_bytes / sort_mem_bytes;
        let mergeorder = tuplesort_merge_order(sort_mem_bytes);
        startup += comparison_cost * tuples * tuples.log2();
        let log_runs = if nruns > mergeorder { (nruns.ln() / mergeorder.ln()).ceil() } else { 1.0 };
        let npageaccesses = 2.0 * npages * log_runs;
        startup += npageaccesses * (s.num("seq_page_cost") * 0.75 + s.num("random_page_cost") * 0.25);
    } else if tuples > 2.0 * output_tuples || input_bytes > sort_mem_bytes {
        startup += comparison_cost * tuples * (2.0 * output_tuples).log2();
    } else {
        startup += comparison_cost * tuples * tuples.log2();
    }
    (startup, cpu_op * tuples)
}

/// A plan node with PostgreSQL's cost estimates, shaped like an EXPLAIN node.
#[derive(Debug, Clone, PartialEq)]
pub struct Costed {
    /// EXPLAIN's "Node Type" ("Seq Scan", "Aggregate", "Gather", "Hash", ...).
    pub node_type: String,
    /// The name EXPLAIN's text format prints ("Parallel Seq Scan on t",
    /// "Finalize HashAggregate", "Gather").
    pub display: String,
    pub startup: f64,
    pub total: f64,
    /// EXPLAIN's "Plan Rows": per participant below a Gather for partial paths.
    pub rows: f64,
    pub width: f64,
    /// The path's `parallel_workers` (0 = not a partial path).
    pub parallel_workers: u32,
    pub parallel_aware: bool,
    /// Further EXPLAIN keys ("Workers Planned", "Partial Mode", "Join Type", ...).
    pub details: Map<String, Value>,
    pub children: Vec<Costed>,
    /// The relation-level row estimate (`rel->rows`), for Gather's row count.
    pub rel_rows: f64,
}

impl Costed {
    /// The node as EXPLAIN (FORMAT JSON) would print it (costs, rows, width, children).
    pub fn to_explain_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("Node Type".into(), json!(self.node_type));
        for (k, v) in &self.details {
            if k.starts_with('_') {
                continue;
            }
            if k == "Workers Planned" || k == "Single Copy" {
                continue;
            }
            m.insert(k.clone(), v.clone());
        }
        m.insert("Parallel Aware".into(), json!(self.parallel_aware));
        m.insert("Startup Cost".into(), json!(round2(self.startup)));
        m.insert("Total Cost".into(), json!(round2(self.total)));
        m.insert("Plan Rows".into(), json!(self.rows.round() as u64));
        m.insert("Plan Width".into(), json!(self.width.round() as u64));
        for k in ["Workers Planned", "Single Copy"] {
            if let Some(v) = self.details.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        if !self.children.is_empty() {
            m.insert("Plans".into(), Value::Array(self.children.iter().map(|c| c.to_explain_json()).collect()));
        }
        Value::Object(m)
    }

    /// EXPLAIN-style text lines, indented like PostgreSQL's.
    pub fn explain_lines(&self, out: &mut Vec<String>, indent: usize, first: bool) {
        let pad = " ".repeat(indent);
        let arrow = if first { "" } else { "->  " };
        out.push(format!(
            "{pad}{arrow}{}  (cost={:.2}..{:.2} rows={:.0} width={:.0})",
            self.display, self.startup, self.total, self.rows, self.width
        ));
        let inner_pad = " ".repeat(indent + if first { 2 } else { 6 });
        for (k, v) in &self.details {
            if k.starts_with('_') || matches!(k.as_str(), "Partial Mode" | "Strategy" | "Relation Name") {
                continue;
            }
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if k == "Join Type" && text == "Inner" {
                continue;
            }
            out.push(format!("{inner_pad}{k}: {text}"));
        }
        for c in &self.children {
            c.explain_lines(out, indent + if first { 2 } else { 6 }, false);
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How one SubPlan (an uncorrelated `x [NOT] IN (SELECT ...)`) is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlanCost {
    /// `useHashTable` (§7.1).
    pub hashed: bool,
    /// The subquery's own plan contains a Gather (then the SubPlan is not parallel-safe
    /// and the qual holding it is parallel-restricted, §7.4).
    pub parallel_inner: bool,
    /// Charged once (hash build, or the Material's startup).
    pub startup: f64,
    /// Charged per evaluation (outer row).
    pub per_call: f64,
    /// The subquery's plan (with Material on top when not hashed).
    pub plan: Costed,
}

/// Costing context: the tables, settings and worker counts of one query.
#[derive(Debug, Clone)]
pub struct CostCtx<'a> {
    pub tables: &'a [Table],
    pub settings: &'a Settings,
    /// `root->total_table_pages`: pages of all tables the query reads.
    pub total_table_pages: f64,
    /// When set, every parallel-aware scan uses this worker count (the scenario pinned it).
    pub pinned_workers: Option<u32>,
}

impl<'a> CostCtx<'a> {
    pub fn new(tables: &'a [Table], settings: &'a Settings, plan: &Node) -> Self {
        let mut used = vec![false; tables.len()];
        mark_tables(plan, &mut used);
        let total_table_pages = tables.iter().zip(&used).filter(|(_, u)| **u).map(|(t, _)| t.pages).sum();
        CostCtx { tables, settings, total_table_pages, pinned_workers: None }
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
                explain_parallel_worker(t.pages, -1.0, t.parallel_workers, self.settings)
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

    /// Cost of a qual: (startup, per tuple, selectivity, subplan).
    fn filter_cost(&self, f: Option<&Filter>) -> (f64, f64, f64, Option<SubPlanCost>) {
        let Some(f) = f else {
            return (0.0, 0.0, 1.0, None);
        };
        let mut startup = 0.0;
        let mut per_tuple = f.operators * self.num("cpu_operator_cost");
        let mut spc = None;
        if let Some(sp) = &f.subplan {
            let c = self.subplan_cost(sp);
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
        Costed {
            node_type: "Materialize".into(),
            display: "Materialize".into(),
            startup: input.startup,
            total: input.total + run,
            rows: input.rows,
            width: input.width,
            parallel_workers: 0,
            parallel_aware: false,
            details: Map::new(),
            rel_rows: input.rows,
            children: vec![input],
        }
    }

    /// Cost a plan tree. `bound` is a LIMIT's row count passed down to a Sort
    /// (`limit_tuples`), through Gather Merge too.
    pub fn cost(&self, node: &Node, bound: Option<f64>) -> Costed {
        let s = self.settings;
        let cpu_op = self.num("cpu_operator_cost");
        let cpu_tuple = self.num("cpu_tuple_cost");
        match node {
            Node::SeqScan { table, parallel, filter, width, .. } => {
                let t = &self.tables[*table];
                let (qual_startup, qual_per_tuple, sel, spc) = self.filter_cost(filter.as_ref());
                let rel_rows = clamp_row_est(t.rows * sel);
                let mut startup = qual_startup;
                if !s.flag("enable_seqscan") {
                    startup += DISABLE_COST;
                }
                let disk = self.num("seq_page_cost") * t.pages;
                let mut cpu = (cpu_tuple + qual_per_tuple) * t.rows;
                let mut rows = rel_rows;
                let mut workers = 0;
                if *parallel {
                    workers = self.scan_workers(node).workers;
                    if workers > 0 {
                        let d = self.divisor(workers);
                        cpu /= d;
                        rows = clamp_row_est(rows / d);
                    }
                }
                let mut details = Map::new();
                details.insert("Relation Name".into(), json!(t.name));
                if let Some(f) = filter {
                    if !f.text.is_empty() {
                        details.insert("Filter".into(), json!(f.text));
                    }
                }
                let mut children = vec![];
                if let Some(c) = spc {
                    details.insert("_subplan_hashed".into(), json!(c.hashed));
                    children.push(c.plan);
                }
                Costed {
                    node_type: "Seq Scan".into(),
                    display: format!("{}Seq Scan on {}", if *parallel { "Parallel " } else { "" }, t.name),
                    startup,
                    total: startup + cpu + disk,
                    rows,
                    width: *width,
                    parallel_workers: workers,
                    parallel_aware: *parallel,
                    details,
                    children,
                    rel_rows,
                }
            }
            Node::IndexScan { table, parallel, filter, width, fraction, correlation, .. } => {
                let t = &self.tables[*table];
                let workers = if *parallel { self.scan_workers(node).workers } else { 0 };
                let mut c = self.index_scan(t, *fraction, *correlation, 1.0, filter.as_ref(), workers, *fraction < 1.0);
                c.parallel_aware = *parallel;
                c.width = *width;
                c
            }
            Node::Aggregate { mode, groups, aggregates, width, input, .. } => {
                let inp = self.cost(input, None);
                let per_input = aggregates * cpu_op;
                let input_rows = inp.rows;
                let plain = *groups <= 1.0;
                let out_groups = match mode {
                    AggMode::Finalize => groups.max(1.0),
                    _ => clamp_row_est(groups.min(input_rows)),
                };
                let sorted_input = matches!(**input, Node::Sort { .. } | Node::GatherMerge { .. });
                let (startup, total, strategy) = if plain {
                    let startup = inp.total + per_input * input_rows;
                    (startup, startup + cpu_tuple, "Plain")
                } else if sorted_input {
                    let total = inp.total + (per_input + cpu_op) * input_rows + cpu_tuple * out_groups;
                    (inp.startup, total, "Sorted")
                } else {
                    let startup = inp.total + (per_input + cpu_op) * input_rows;
                    (startup, startup + cpu_tuple * out_groups, "Hashed")
                };
                let mode_name = match mode {
                    AggMode::Simple => "Simple",
                    AggMode::Partial => "Partial",
                    AggMode::Finalize => "Finalize",
                };
                let mut details = Map::new();
                details.insert("Strategy".into(), json!(strategy));
                details.insert("Partial Mode".into(), json!(mode_name));
                let node_name = match (plain, sorted_input) {
                    (true, _) => "Aggregate",
                    (false, true) => "GroupAggregate",
                    (false, false) => "HashAggregate",
                };
                let workers = if *mode == AggMode::Partial { inp.parallel_workers } else { 0 };
                let prefix = match mode {
                    AggMode::Simple => "",
                    AggMode::Partial => "Partial ",
                    AggMode::Finalize => "Finalize ",
                };
                Costed {
                    node_type: "Aggregate".into(),
                    display: format!("{prefix}{node_name}"),
                    startup,
                    total,
                    rows: out_groups,
                    width: *width,
                    parallel_workers: workers,
                    parallel_aware: false,
                    details,
                    rel_rows: out_groups,
                    children: vec![inp],
                }
            }
            Node::Sort { keys, input } => {
                let inp = self.cost(input, None);
                let (st, run) = cost_tuplesort(inp.rows, inp.width, s.work_mem_bytes(), bound, s);
                let mut startup = inp.total + st;
                if !s.flag("enable_sort") {
                    startup += DISABLE_COST;
                }
                let mut details = Map::new();
                if !keys.is_empty() {
                    details.insert("Sort Key".into(), json!(keys.join(", ")));
                }
                Costed {
                    node_type: "Sort".into(),
                    display: "Sort".into(),
                    startup,
                    total: startup + run,
                    rows: inp.rows,
                    width: inp.width,
                    parallel_workers: inp.parallel_workers,
                    parallel_aware: false,
                    details,
                    rel_rows: inp.rel_rows,
                    children: vec![inp],
                }
            }
            Node::Limit { count, input } => {
                let inp = self.cost(input, Some(*count));
                let count_rows = count.min(inp.rows);
                let total = if inp.rows > 0.0 {
                    inp.startup + (inp.total - inp.startup) * count_rows / inp.rows
                } else {
                    inp.total
                };
                let rows = count_rows.max(1.0);
                Costed {
                    node_type: "Limit".into(),
                    display: "Limit".into(),
                    startup: inp.startup,
                    total,
                    rows,
                    width: inp.width,
                    parallel_workers: inp.parallel_workers,
                    parallel_aware: false,
                    details: Map::new(),
                    rel_rows: rows,
                    children: vec![inp],
                }
            }
            Node::Gather { workers, single_copy, input } => {
                let inp = self.cost(input, None);
                let w = workers.unwrap_or(inp.parallel_workers);
                // generate_useful_gather_paths(override_rows) for grouped input: partial
                // rows × workers; otherwise the relation's full estimate.
                let rows = if *single_copy {
                    inp.rows
                } else if partial_agg_on_top(input) {
                    clamp_row_est(inp.rows * f64::from(w))
                } else {
                    inp.rel_rows
                };
                let setup = self.num("parallel_setup_cost");
                let startup = inp.startup + setup;
                let total = inp.total + setup + self.num("parallel_tuple_cost") * rows;
                let mut details = Map::new();
                details.insert("Workers Planned".into(), json!(w));
                if *single_copy {
                    details.insert("Single Copy".into(), json!(true));
                }
                Costed {
                    node_type: "Gather".into(),
                    display: "Gather".into(),
                    startup,
                    total,
                    rows,
                    width: inp.width,
                    parallel_workers: 0,
                    parallel_aware: false,
                    details,
                    rel_rows: rows,
                    children: vec![inp],
                }
            }
            Node::GatherMerge { workers, input } => {
                let inp = self.cost(input, bound);
                let w = workers.unwrap_or(inp.parallel_workers);
                let rows = if matches!(**input, Node::Sort { .. }) || partial_agg_on_top(input) {
                    clamp_row_est(inp.rows * f64::from(w))
                } else {
                    inp.rel_rows
                };
                let n = f64::from(w) + 1.0;
                let logn = n.log2();
                let comparison = 2.0 * cpu_op;
                let mut startup = comparison * n * logn + self.num("parallel_setup_cost");
                if !s.flag("enable_gathermerge") {
                    startup += DISABLE_COST;
                }
                let run = rows * comparison * logn + cpu_op * rows + self.num("parallel_tuple_cost") * rows * 1.05;
                let mut details = Map::new();
                details.insert("Workers Planned".into(), json!(w));
                Costed {
                    node_type: "Gather Merge".into(),
                    display: "Gather Merge".into(),
                    startup: startup + inp.startup,
                    total: startup + run + inp.total,
                    rows,
                    width: inp.width,
                    parallel_workers: 0,
                    parallel_aware: false,
                    details,
                    rel_rows: rows,
                    children: vec![inp],
                }
            }
            Node::HashJoin { join_type, parallel, rows_per_outer, width, outer, inner, cond, .. } => {
                let o = self.cost(outer, None);
                let i = self.cost(inner, None);
                let workers = o.parallel_workers;
                let parallel_hash = *parallel && i.parallel_workers > 0;
                let inner_rows = i.rows;
                let inner_rows_total =
                    if parallel_hash { inner_rows * self.divisor(i.parallel_workers) } else { inner_rows };
                let outer_rows = o.rows;
                let mut startup = o.startup + i.total + (cpu_op + cpu_tuple) * inner_rows;
                if !s.flag("enable_hashjoin") {
                    startup += DISABLE_COST;
                }
                let mut run = (o.total - o.startup) + cpu_op * outer_rows;
                let (nbatch, nbuckets, _space) =
                    choose_hash_table_size(inner_rows_total, i.width, parallel_hash, workers, s);
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
                let mut details = Map::new();
                details.insert("Join Type".into(), json!(join_type));
                if !cond.is_empty() {
                    details.insert("Hash Cond".into(), json!(cond));
                }
                let mut hash_details = Map::new();
                hash_details.insert("_batches".into(), json!(nbatch));
                hash_details.insert("_buckets".into(), json!(nbuckets));
                let hash = Costed {
                    node_type: "Hash".into(),
                    display: if parallel_hash { "Parallel Hash" } else { "Hash" }.into(),
                    startup: i.total,
                    total: i.total,
                    rows: i.rows,
                    width: i.width,
                    parallel_workers: i.parallel_workers,
                    parallel_aware: parallel_hash,
                    details: hash_details,
                    rel_rows: i.rel_rows,
                    children: vec![i],
                };
                Costed {
                    node_type: "Hash Join".into(),
                    display: if parallel_hash { "Parallel Hash Join" } else { "Hash Join" }.into(),
                    startup,
                    total: startup + run,
                    rows,
                    width: *width,
                    parallel_workers: workers,
                    parallel_aware: parallel_hash,
                    details,
                    rel_rows,
                    children: vec![o, hash],
                }
            }
            Node::NestedLoop { join_type, rows_per_outer, inner_table, width, outer, cond, .. } => {
                let o = self.cost(outer, None);
                let t = &self.tables[*inner_table];
                let outer_rows = o.rows;
                let frac = if t.rows > 0.0 { (rows_per_outer.max(1.0) / t.rows).min(1.0) } else { 1.0 };
                let mut inner = self.index_scan(t, frac, 0.0, outer_rows.max(1.0), None, 0, true);
                if !cond.is_empty() {
                    inner.details.insert("Index Cond".into(), json!(cond));
                }
                let workers = o.parallel_workers;
                let mut startup = o.startup + inner.startup;
                if !s.flag("enable_nestloop") {
                    startup += DISABLE_COST;
                }
                let inner_run = inner.total - inner.startup;
                let mut run =
                    (o.total - o.startup) + (outer_rows - 1.0).max(0.0) * inner.startup + inner_run * outer_rows;
                let ntuples = outer_rows * rows_per_outer.max(0.0);
                run += cpu_tuple * ntuples;
                let rel_rows = clamp_row_est(o.rel_rows * rows_per_outer);
                let rows = if workers > 0 { clamp_row_est(rel_rows / self.divisor(workers)) } else { rel_rows };
                let mut details = Map::new();
                details.insert("Join Type".into(), json!(join_type));
                Costed {
                    node_type: "Nested Loop".into(),
                    display: "Nested Loop".into(),
                    startup,
                    total: startup + run,
                    rows,
                    width: *width,
                    parallel_workers: workers,
                    parallel_aware: false,
                    details,
                    rel_rows,
                    children: vec![o, inner],
                }
            }
        }
    }

    /// `cost_index` with btree's `genericcostestimate` (approximate, see module docs).
    /// `fraction` = index selectivity, `loop_count` > 1 for the inner side of a nested
    /// loop (per-loop cost, cache effects across loops), `workers` > 0 for a partial path.
    #[allow(clippy::too_many_arguments)]
    fn index_scan(
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
        let (qual_startup, qual_per_tuple, sel, _spc) = self.filter_cost(filter);
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
        let mut details = Map::new();
        details.insert("Relation Name".into(), json!(t.name));
        if let Some(f) = filter {
            if !f.text.is_empty() {
                details.insert("Filter".into(), json!(f.text));
            }
        }
        Costed {
            node_type: "Index Scan".into(),
            display: format!("{}Index Scan on {}", if workers > 0 { "Parallel " } else { "" }, t.name),
            startup,
            total,
            rows,
            width: t.width,
            parallel_workers: workers,
            parallel_aware: workers > 0,
            details,
            children: vec![],
            rel_rows,
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
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            s.set(k, v).unwrap();
        }
        s
    }

    #[test]
    fn divisor_matches_reference_table() {
        for (w, on, off) in [(1, 1.7, 1.0), (2, 2.4, 2.0), (3, 3.1, 3.0), (4, 4.0, 4.0), (6, 6.0, 6.0)] {
            assert!((parallel_divisor(w, true) - on).abs() < 1e-12, "{w}");
            assert_eq!(parallel_divisor(w, false), off);
        }
    }

    #[test]
    fn clamp_row_est_rounds_like_rint() {
        assert_eq!(clamp_row_est(0.2), 1.0);
        assert_eq!(clamp_row_est(2.5), 2.0);
        assert_eq!(clamp_row_est(3.5), 4.0);
        assert_eq!(clamp_row_est(629_784.17), 629_784.0);
    }

    #[test]
    fn worker_explanation_lists_thresholds_and_cap() {
        let s = Settings::default();
        let c = explain_parallel_worker(12_544.0, -1.0, None, &s);
        assert_eq!(c.workers, 2);
        assert_eq!(
            c.explanation,
            "heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, 9,216 -> 3; capped by max_parallel_workers_per_gather = 2"
        );
    }

    #[test]
    fn worker_rule_edges() {
        let s = settings(&[("max_parallel_workers_per_gather", "1024")]);
        assert_eq!(compute_parallel_worker(1023.0, -1.0, None, &s), 0);
        assert_eq!(compute_parallel_worker(1024.0, -1.0, None, &s), 1);
        assert_eq!(compute_parallel_worker(3071.0, -1.0, None, &s), 1);
        assert_eq!(compute_parallel_worker(3072.0, -1.0, None, &s), 2);
        // Index rule and min(heap, index).
        assert_eq!(compute_parallel_worker(100_000.0, 63.0, None, &s), 0);
        assert_eq!(compute_parallel_worker(100_000.0, 192.0, None, &s), 2);
        assert_eq!(compute_parallel_worker(-1.0, 576.0, None, &s), 3);
        // min_parallel_table_scan_size = 0 behaves as 1.
        let z = settings(&[("min_parallel_table_scan_size", "0"), ("max_parallel_workers_per_gather", "1024")]);
        assert_eq!(compute_parallel_worker(0.0, -1.0, None, &z), 1);
        assert_eq!(compute_parallel_worker(3.0, -1.0, None, &z), 2);
        // The overflow guard: a huge minimum stops after one step.
        let big =
            settings(&[("min_parallel_table_scan_size", "715827882"), ("max_parallel_workers_per_gather", "1024")]);
        assert_eq!(compute_parallel_worker(1e12, -1.0, None, &big), 2);
    }

    #[test]
    fn hashable_subplan_threshold() {
        let s = Settings::default();
        assert!(subplan_is_hashable(262_144.0, 8.0, &s));
        assert!(!subplan_is_hashable(262_145.0, 8.0, &s));
        assert!(subplan_is_hashable(209_715.0, 16.0, &s));
        assert!(!subplan_is_hashable(209_716.0, 16.0, &s));
        assert!(subplan_is_hashable(131_072.0, 40.0, &s));
        let old = settings(&[("hash_mem_multiplier", "1")]);
        assert!(!subplan_is_hashable(262_144.0, 8.0, &old));
        assert!(subplan_is_hashable(131_072.0, 8.0, &old));
    }

    #[test]
    fn merge_order_from_reference() {
        assert_eq!(tuplesort_merge_order(4096.0 * 1024.0), 15.0);
        assert_eq!(tuplesort_merge_order(64.0 * 1024.0), 6.0);
    }

    #[test]
    fn hash_batches() {
        let s = Settings::default();
        // 100k rows of width 8: 40 B each = 4 MB + buckets: fits in 8 MB hash_mem.
        assert_eq!(choose_hash_table_size(100_000.0, 8.0, false, 0, &s).0, 1);
        // 1M rows: 40 MB -> batches.
        let (nb, _, _) = choose_hash_table_size(1_000_000.0, 8.0, false, 0, &s);
        assert!(nb >= 8, "{nb}");
        // Combined memory of 3 participants (24 MB) does not hold 40 MB: falls back.
        let (nbp, _, space) = choose_hash_table_size(1_000_000.0, 8.0, true, 2, &s);
        assert_eq!(nbp, nb);
        assert_eq!(space, s.hash_mem_bytes());
        // 400k rows: 16 MB + buckets fits 24 MB combined.
        let (nbc, _, space) = choose_hash_table_size(400_000.0, 8.0, true, 2, &s);
        assert_eq!(nbc, 1);
        assert_eq!(space, 3.0 * s.hash_mem_bytes());
    }

    #[test]
    fn money_and_group_format() {
        assert_eq!(group(1_234_567.0), "1,234,567");
        assert_eq!(group(12.0), "12");
        assert_eq!(money(46_237.674), "46,237.67");
        assert_eq!(money(0.5), "0.50");
    }
}
