//! The validated domain model: tables, the plan tree, the hardware profile and the scenario.
//! Everything here has been checked by `config`; nothing downstream re-validates. No I/O.

pub mod cpu_costs;
pub mod expr;
pub mod guc;
mod hardware;
pub mod hash_table;
pub mod measured;
mod query;
pub mod schema;
pub mod units;
pub mod workload;

pub use hardware::{
    CacheState, Disk, Hardware, ParallelCosts, RunQuantiles, Scheduler, SchedulerKind, UnitCosts, DEFAULT_MODEL_SIGMA,
    DEFAULT_RUN_SIGMA, ROW_MISS_FROM_BYTES, ROW_MISS_FULL_BYTES, RUN_QUANTILE_PROBS,
};
pub use query::{join_text_name, AggStrategy, Command, FnSafety, JoinType};

use guc::Settings;

pub const BLCKSZ: f64 = 8192.0;

/// MAXALIGN on 64-bit platforms.
pub fn maxalign(n: f64) -> f64 {
    (n / 8.0).ceil() * 8.0
}

/// Heap pages for `rows` rows of `width` data bytes at fillfactor 100: page header 24 B,
/// tuple header 23 B (24 aligned), 4-byte line pointer per tuple (bufpage.h, htup_details.h).
pub fn heap_pages(rows: f64, width: f64) -> f64 {
    let per_page = heap_tuples_per_page(width);
    (rows / per_page).ceil().max(if rows > 0.0 { 1.0 } else { 0.0 })
}

/// Heap tuples of `width` data bytes that fit in one 8 kB page at fillfactor 100 (at least one).
pub fn heap_tuples_per_page(width: f64) -> f64 {
    let per_tuple = 4.0 + maxalign(24.0 + width);
    ((BLCKSZ - 24.0) / per_tuple).floor().max(1.0)
}

/// `subplan_is_hashable` (subselect.c): the SubPlan's result fits in hash_mem:
/// `rows × (MAXALIGN(width) + MAXALIGN(SizeofHeapTupleHeader)) <= work_mem ×
/// hash_mem_multiplier`. A pure size test on the estimated rows, not cost-based.
pub fn subplan_is_hashable(rows: f64, width: f64, settings: &Settings) -> bool {
    // MAXALIGN(SizeofHeapTupleHeader) = MAXALIGN(23) = 24 (heap tuple overhead as fudge).
    let subquery_size = rows * (maxalign(width) + maxalign(23.0));
    subquery_size <= settings.hash_mem_bytes()
}

/// A filter's text as EXPLAIN prints it for a SubPlan that is (not) hashed: `hashed SubPlan N`
/// or `SubPlan N`, whatever the scenario wrote.
pub fn subplan_filter_text(text: &str, hashed: bool) -> String {
    let plain = text.replace("hashed SubPlan", "SubPlan");
    if hashed {
        plain.replace("SubPlan", "hashed SubPlan")
    } else {
        plain
    }
}

/// Whether a plan as written hashes its SubPlan: the filter says `hashed SubPlan N` (as
/// EXPLAIN prints it), or the SubPlan stands for an InitPlan (`InitPlan N: ...`, run once and
/// modelled as a hashed SubPlan of one row). What loaders set until the planner decides.
pub fn written_hashed(filter_text: &str, subplan_text: &str) -> bool {
    filter_text.contains("hashed SubPlan") || subplan_text.starts_with("InitPlan")
}

/// The SubPlan's name EXPLAIN prints above its plan (`SubPlan N`): the first `SubPlan N` of
/// the filter's text, else `SubPlan 1`.
pub fn subplan_name(filter_text: &str) -> String {
    let Some(i) = filter_text.find("SubPlan ") else {
        return "SubPlan 1".into();
    };
    let digits: String = filter_text[i + 8..].chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        "SubPlan 1".into()
    } else {
        format!("SubPlan {digits}")
    }
}

/// Bytes one tuple of `width` data bytes takes in a tuple queue: 8-byte length word plus the
/// MinimalTuple (16-byte header + data) padded to 8 (shm_mq.c:shm_mq_sendv, tqueue.c).
pub fn queue_bytes_per_tuple(width: f64) -> f64 {
    8.0 + maxalign(16.0 + width)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub name: String,
    pub rows: f64,
    /// Average bytes of column data per row.
    pub width: f64,
    /// Heap pages (8 kB blocks).
    pub pages: f64,
    /// The `parallel_workers` storage option, if set.
    pub parallel_workers: Option<u32>,
    /// Pages of the index used by index scans of this table (btree), if any.
    pub index_pages: Option<f64>,
    /// Whether this is a temporary table (parallel restricted).
    pub temporary: bool,
    /// The name of the btree index its index scans use (EXPLAIN's `Index Name`), if known.
    pub index: Option<String>,
    /// The columns in attnum order (pg_attribute, pg_stats); empty when the schema is unknown
    /// (then per-row costs are the width-based generic ones).
    pub columns: Vec<schema::Column>,
    /// The share of its pages in shared buffers (pg_buffercache when imported from a live
    /// server), if known: then it decides which pages are hits, whatever the profile's cache
    /// state says of a table of this size.
    pub in_shared_buffers: Option<f64>,
    /// The standard deviation of its stored row lengths in bytes (sampled from a live server),
    /// if known; else the column types decide whether rows vary in length
    /// ([`Table::rows_vary_in_length`]).
    pub row_length_sd: Option<f64>,
    /// Of consecutive rows on its pages, the share whose stored length (aligned to 8 bytes)
    /// differs from the row's before (sampled from a live server), if known: where the
    /// stride between row starts changes, the processor's prefetch of the next row misses
    /// (`row_miss_ns`). Unknown: every row when its rows vary in length.
    pub row_stride_changes: Option<f64>,
    /// Of its pages in shared buffers, the share whose next block lies in the next buffer
    /// (pg_buffercache's `bufferid`), if known; unknown is taken as 1, every page in order, as
    /// a table loaded or prewarmed in block order lies. A scan walking shared memory out of
    /// order loses the processor's prefetching (`buffer_jump_ns`).
    pub buffers_in_order: Option<f64>,
    /// The 64 kB windows of shared memory holding its resident blocks, by how many of a
    /// parallel scan's chunks each holds (entry u - 1: windows of u chunks, 1..8;
    /// pg_buffercache), if known. A fresh process's fault on a block maps its whole window, so
    /// a table whose buffers share windows with other data, or whose chunks interleave with
    /// other participants' in a window, costs a worker more mapped blocks per block it reads
    /// ([`crate::exec::scan::fault_around_maps_in`]). Unknown: the blocks lie in block order,
    /// 8 to a window.
    pub buffer_windows: Option<[f64; 8]>,
}

/// Rows whose stored lengths spread by at least this many bytes (standard deviation) are laid
/// out at irregular offsets on their page (see `row_miss_ns`); tuples are aligned to 8 bytes,
/// so a smaller spread mostly vanishes in the padding.
pub const IRREGULAR_ROW_SD_BYTES: f64 = 4.0;

impl Table {
    /// Whether its rows vary in length, so that consecutive rows on a page start at irregular
    /// offsets: by the sampled spread when known, else when a column is variable-length
    /// (text, varchar, numeric, arrays...; `character(n)` is blank-padded to a fixed length).
    pub fn rows_vary_in_length(&self) -> bool {
        if let Some(c) = self.row_stride_changes {
            return c > 0.0;
        }
        match self.row_length_sd {
            Some(sd) => sd >= IRREGULAR_ROW_SD_BYTES,
            None => self.columns.iter().any(|c| c.attlen < 0 && c.class != schema::TypeClass::Bpchar),
        }
    }

    /// The index name EXPLAIN prints: the scenario's `index`, else `<table>_index` (a name
    /// pqsim makes up: the model needs only the index's size).
    pub fn index_name(&self) -> String {
        self.index.clone().unwrap_or_else(|| format!("{}_index", self.name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggMode {
    Simple,
    Partial,
    Finalize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubPlan {
    /// The table the uncorrelated subquery scans in full.
    pub table: usize,
    /// Width of the subquery's output column(s), bytes.
    pub width: f64,
    /// Rows the subquery returns (defaults to the table's rows).
    pub rows: f64,
    pub text: String,
    /// Whether the SubPlan uses a hash table (`useHashTable`, EXPLAIN's `hashed SubPlan N`).
    /// `planner::decide` sets it by PostgreSQL's rule (§7.1) for the plan it chooses, and the
    /// executor model and EXPLAIN only read it. Loaders take it from the plan's own filter
    /// text (what PostgreSQL did, for a plan re-timed as it ran).
    pub hashed: bool,
    /// Workers Planned of a Gather inside the subquery's own plan (set by the planner when
    /// the subquery is big enough for a parallel plan and the main plan is serial; reference
    /// §7.4). None: serial subquery.
    pub gather_workers: Option<u32>,
    /// The column the outer rows probe with and the subquery's column it is looked up in
    /// (`session_id NOT IN (SELECT id FROM ...)`: "session_id", "id"), when known: with both
    /// tables' pg_stats correlations they say whether the lookups follow the order the
    /// hash table was filled in ([`crate::model::hash_table::lookups_in_build_order`]).
    pub keys: Option<[String; 2]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub text: String,
    /// Fraction of input rows that pass.
    pub selectivity: f64,
    /// Operators evaluated per row (cpu_operator_cost units; each costs `qual_ns`).
    pub operators: f64,
    /// `x [NOT] IN (SELECT ...)` as a SubPlan.
    pub subplan: Option<SubPlan>,
    /// Share of the input rows that reach each AND-ed clause of `text` (1 for the first;
    /// PostgreSQL stops at the first false clause), as the planner estimates each prefix of
    /// the clauses. Empty: unknown, the selectivity is split evenly over the clauses.
    pub reach: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    SeqScan {
        table: usize,
        parallel: bool,
        filter: Option<Filter>,
        width: f64,
        /// EXPLAIN VERBOSE `Output` (empty: unknown, or the physical tlist).
        output: Vec<String>,
    },
    /// A btree index scan in index order over `fraction` of the table.
    IndexScan {
        table: usize,
        parallel: bool,
        filter: Option<Filter>,
        width: f64,
        fraction: f64,
        correlation: f64,
        output: Vec<String>,
    },
    Aggregate {
        mode: AggMode,
        groups: f64,
        aggregates: f64,
        width: f64,
        input: Box<Node>,
        /// EXPLAIN VERBOSE `Output`: the aggregate calls (`sum(l_quantity)`) and group keys.
        output: Vec<String>,
    },
    Sort {
        keys: Vec<String>,
        input: Box<Node>,
    },
    Limit {
        count: f64,
        input: Box<Node>,
    },
    Gather {
        workers: Option<u32>,
        single_copy: bool,
        input: Box<Node>,
    },
    GatherMerge {
        workers: Option<u32>,
        input: Box<Node>,
    },
    /// Hash join; `rows_per_outer` output rows per outer row; the inner is a Hash node whose
    /// input is `inner`. `parallel` = Parallel Hash (shared table, inner must be parallel-aware).
    HashJoin {
        join_type: JoinType,
        parallel: bool,
        rows_per_outer: f64,
        width: f64,
        outer: Box<Node>,
        inner: Box<Node>,
        cond: String,
        output: Vec<String>,
    },
    /// Nested loop whose inner side is an index scan on `inner_table` returning
    /// `rows_per_outer` rows per outer row.
    NestedLoop {
        join_type: JoinType,
        rows_per_outer: f64,
        inner_table: usize,
        width: f64,
        outer: Box<Node>,
        cond: String,
        output: Vec<String>,
    },
    /// Merge join of two inputs sorted on the join keys (`Merge Cond`): the outer streams
    /// (partial under a Gather), the inner (a Sort or an index-ordered scan, never partial)
    /// is read in full by every participant; `rows_per_outer` output rows per outer row.
    MergeJoin {
        join_type: JoinType,
        rows_per_outer: f64,
        width: f64,
        outer: Box<Node>,
        inner: Box<Node>,
        cond: String,
        output: Vec<String>,
    },
    /// Append (UNION ALL, a partitioned table): its inputs one after another. `parallel` =
    /// Parallel Append: participants spread over the inputs; an input that is not
    /// parallel-aware is run by one participant (nodeAppend.c).
    Append {
        parallel: bool,
        width: f64,
        inputs: Vec<Node>,
        /// EXPLAIN's `Subplans Removed` (partitions pruned at executor start-up).
        subplans_removed: u32,
    },
}

impl Node {
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Node::SeqScan { .. } | Node::IndexScan { .. } => vec![],
            Node::Aggregate { input, .. }
            | Node::Sort { input, .. }
            | Node::Limit { input, .. }
            | Node::Gather { input, .. }
            | Node::GatherMerge { input, .. } => vec![input],
            Node::HashJoin { outer, inner, .. } | Node::MergeJoin { outer, inner, .. } => vec![outer, inner],
            Node::NestedLoop { outer, .. } => vec![outer],
            Node::Append { inputs, .. } => inputs.iter().collect(),
        }
    }

    /// Whether this subtree streams rows from its scans without a pipeline breaker or a
    /// Gather (what an Append input may be in the model).
    pub fn streams_from_scans(&self) -> bool {
        match self {
            Node::SeqScan { .. } | Node::IndexScan { .. } => true,
            Node::HashJoin { .. } | Node::NestedLoop { .. } | Node::Append { .. } => {
                self.children().into_iter().all(Node::streams_from_scans)
            }
            Node::MergeJoin { outer, .. } => outer.streams_from_scans(),
            _ => false,
        }
    }

    /// Whether this subtree holds an inner hash join (whose sides the planner may swap).
    pub fn has_inner_hash_join(&self) -> bool {
        matches!(self, Node::HashJoin { join_type: JoinType::Inner, .. })
            || self.children().into_iter().any(Node::has_inner_hash_join)
    }

    pub fn is_gather(&self) -> bool {
        matches!(self, Node::Gather { .. } | Node::GatherMerge { .. })
    }

    /// Whether any node in this subtree is parallel-aware (splits work among participants).
    pub fn has_parallel_aware(&self) -> bool {
        match self {
            Node::SeqScan { parallel, .. } | Node::IndexScan { parallel, .. } => *parallel,
            Node::HashJoin { parallel: true, .. } | Node::Append { parallel: true, .. } => true,
            _ => self.children().iter().any(|c| c.has_parallel_aware()),
        }
    }

    /// The width in bytes of the rows this node returns.
    pub fn width(&self) -> f64 {
        match self {
            Node::SeqScan { width, .. }
            | Node::IndexScan { width, .. }
            | Node::Aggregate { width, .. }
            | Node::HashJoin { width, .. }
            | Node::MergeJoin { width, .. }
            | Node::Append { width, .. }
            | Node::NestedLoop { width, .. } => *width,
            Node::Sort { input, .. }
            | Node::Limit { input, .. }
            | Node::Gather { input, .. }
            | Node::GatherMerge { input, .. } => input.width(),
        }
    }

    /// Visit every scan filter of the tree, in plan order.
    pub fn for_each_filter_mut(&mut self, f: &mut dyn FnMut(&mut Filter)) {
        match self {
            Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
                if let Some(filter) = filter.as_mut() {
                    f(filter);
                }
            }
            Node::Aggregate { input, .. }
            | Node::Sort { input, .. }
            | Node::Limit { input, .. }
            | Node::Gather { input, .. }
            | Node::GatherMerge { input, .. } => input.for_each_filter_mut(f),
            Node::HashJoin { outer, inner, .. } | Node::MergeJoin { outer, inner, .. } => {
                outer.for_each_filter_mut(f);
                inner.for_each_filter_mut(f);
            }
            Node::NestedLoop { outer, .. } => outer.for_each_filter_mut(f),
            Node::Append { inputs, .. } => inputs.iter_mut().for_each(|i| i.for_each_filter_mut(f)),
        }
    }

    /// The joins the planner searched to make this plan: join nodes and SubPlans (each a
    /// query planned of its own).
    pub fn planned_joins(&self) -> usize {
        let here = match self {
            Node::HashJoin { .. } | Node::MergeJoin { .. } | Node::NestedLoop { .. } => 1,
            Node::SeqScan { filter: Some(f), .. } | Node::IndexScan { filter: Some(f), .. } => {
                usize::from(f.subplan.is_some())
            }
            _ => 0,
        };
        here + self.children().into_iter().map(Node::planned_joins).sum::<usize>()
    }

    /// Visit every SubPlan of the tree (in scan filters), in plan order.
    pub fn for_each_subplan_mut(&mut self, f: &mut dyn FnMut(&mut SubPlan)) {
        self.for_each_filter_mut(&mut |filter| {
            if let Some(sp) = filter.subplan.as_mut() {
                f(sp);
            }
        });
    }

    /// Tuples the driving scan(s) of this subtree read: a scan's table rows (times an index
    /// scan's fraction), an Append's inputs together, a join's outer side. Weighs an Append's
    /// inputs in the executor model and its EXPLAIN.
    pub fn driving_tuples(&self, tables: &[Table]) -> f64 {
        match self {
            Node::SeqScan { table, .. } => tables.get(*table).map_or(0.0, |t| t.rows),
            Node::IndexScan { table, fraction, .. } => tables.get(*table).map_or(0.0, |t| t.rows * fraction),
            Node::Append { inputs, .. } => inputs.iter().map(|i| i.driving_tuples(tables)).sum(),
            _ => self.children().first().map_or(0.0, |c| c.driving_tuples(tables)),
        }
    }

    pub fn find_gather(&self) -> Option<&Node> {
        if self.is_gather() {
            return Some(self);
        }
        self.children().into_iter().find_map(|c| c.find_gather())
    }
}

/// Whether the query as a whole may use parallel plans, and why not (issue: planner).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryProps {
    pub command: Command,
    /// Functions the query calls and their parallel label.
    pub functions: Vec<(String, FnSafety)>,
    pub row_locks: bool,
    pub cursor: bool,
    /// Client asked for a row count (extended-protocol Execute max_rows > 0).
    pub client_max_rows: u64,
    pub materialized_cte: bool,
    pub correlated_subplan: bool,
    pub serializable: bool,
    /// Server major version for version-dependent rules (default 15).
    pub server_version: u32,
    /// Keep the plan's inner hash joins in the order written (a plan PostgreSQL chose from
    /// its own row estimates, e.g. one imported); otherwise the planner tries both orders.
    pub keep_join_order: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// `EXPLAIN ANALYZE` (TIMING ON, the default): result rows are discarded (None_Receiver)
    /// and every node call reads the clock twice (instrument.c).
    ExplainAnalyze,
    /// `EXPLAIN (ANALYZE, TIMING OFF)`: rows are counted, the clock is not read.
    ExplainAnalyzeTimingOff,
    /// A plain query: every result row is sent to the client.
    Client,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub tables: Vec<Table>,
    pub settings: Settings,
    /// Parallel worker slots held by other sessions when the query starts.
    pub busy_worker_slots: u32,
    pub query: QueryProps,
    pub output: OutputMode,
    pub plan: Node,
    /// When true the plan's Gather worker count is fixed by the scenario; otherwise the
    /// planner computes Workers Planned.
    pub pinned_workers: bool,
    /// The scenario's `[settings]` and then `--set`, in order (re-applied over a hardware
    /// profile's settings).
    pub setting_overrides: Vec<(String, String)>,
    /// This query's per-node costs measured by a real EXPLAIN ANALYZE (`[measured]`), used
    /// instead of the profile's class costs for those nodes.
    pub measured: Option<measured::MeasuredCosts>,
}

impl Scenario {
    /// A SELECT scenario built in code (tests, tools): PostgreSQL 15 defaults overlaid by
    /// `sets`, EXPLAIN ANALYZE output, the planner decides the worker count.
    pub fn build(name: &str, tables: Vec<Table>, plan: Node, sets: &[(&str, &str)]) -> Result<Scenario, String> {
        let mut settings = Settings::default();
        for (k, v) in sets {
            settings.set(k, v)?;
        }
        Ok(Scenario {
            name: name.into(),
            description: String::new(),
            tables,
            settings,
            busy_worker_slots: 0,
            query: QueryProps { command: Command::Select, server_version: 15, ..Default::default() },
            output: OutputMode::ExplainAnalyze,
            plan,
            pinned_workers: false,
            setting_overrides: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            measured: None,
        })
    }

    /// Settings in force on `hw`: PostgreSQL's defaults, then the machine's settings, then the
    /// scenario's and `--set` (all were validated when loaded).
    pub fn with_hardware_settings(&self, hw: &Hardware) -> Scenario {
        let mut s = Settings::default();
        for (k, v) in hw.settings.iter().chain(self.setting_overrides.iter()) {
            let _ = s.set(k, v);
        }
        Scenario { settings: s, ..self.clone() }
    }
}

impl OutputMode {
    pub fn parse(s: &str) -> Option<OutputMode> {
        match s {
            "explain_analyze" | "explain-analyze" => Some(OutputMode::ExplainAnalyze),
            "explain_analyze_timing_off" | "timing-off" | "timing_off" => Some(OutputMode::ExplainAnalyzeTimingOff),
            "client" => Some(OutputMode::Client),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            OutputMode::ExplainAnalyze => "explain_analyze",
            OutputMode::ExplainAnalyzeTimingOff => "explain_analyze_timing_off",
            OutputMode::Client => "client",
        }
    }
}

impl Scenario {
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }
}
