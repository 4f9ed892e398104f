//! The validated domain model: tables, the plan tree, the hardware profile and the scenario.
//! Everything here has been checked by `config`; nothing downstream re-validates. No I/O.

pub mod cpu_costs;
pub mod expr;
pub mod guc;
pub mod hash_table;
pub mod measured;
mod query;
pub mod schema;
pub mod units;
pub mod workload;

pub use query::{Command, FnSafety, JoinType};

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
    /// Of its pages in shared buffers, the share whose next block lies in the next buffer
    /// (pg_buffercache's `bufferid`), if known; unknown is taken as 1, every page in order, as
    /// a table loaded or prewarmed in block order lies. A scan walking shared memory out of
    /// order loses the processor's prefetching (`buffer_jump_ns`).
    pub buffers_in_order: Option<f64>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// Data in shared buffers (as far as shared_buffers holds it).
    Hot,
    /// Data in the OS page cache only: every block is a pread served from memory.
    Warm,
    /// Data on disk.
    Cold,
}

impl CacheState {
    pub fn name(self) -> &'static str {
        match self {
            CacheState::Hot => "hot",
            CacheState::Warm => "warm",
            CacheState::Cold => "cold",
        }
    }
}

/// CPU cost of the executor's unit operations, in nanoseconds on this machine's cores.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCosts {
    pub page_ns: f64,
    pub os_read_page_ns: f64,
    /// Per heap page of a scan that reads its rows' columns: the page's tuple data brought
    /// into the core's cache (a scan that deforms nothing, such as count(*), reads only the
    /// page's line pointers).
    pub page_data_ns: f64,
    /// Per row of a sequential scan that reads its columns: its header and first columns
    /// coming into the core's cache, whatever the page holds. Measured on a 2-vCPU VM: reading
    /// the first column costs 41-51 ns a row over count(*) on rows of 140-375 bytes of
    /// constant length, flat in the row's width; a price per page alone put a 226-rows-a-page
    /// scan 43% fast.
    pub row_data_ns: f64,
    /// Per row of a sequential scan that reads its columns, when rows vary in length and
    /// stand wider than a cache line apart: the core's prefetchers follow a constant stride,
    /// so rows at irregular offsets are each a miss to memory. Charged in full from
    /// [`ROW_MISS_FULL_BYTES`] of page per row, not at all up to [`ROW_MISS_FROM_BYTES`]
    /// (rows that share cache lines are read as one stream), linearly between.
    pub row_miss_ns: f64,
    /// Per shared-buffer page a scan reads that does not follow the page before it in shared
    /// memory (see [`Table::buffers_in_order`]): the core's prefetchers, which follow
    /// ascending addresses, start over. Measured on a 2-vCPU Xeon VM: count(*) of a
    /// 4,800-page table prewarmed in random block order took 15-21% longer than in order.
    pub buffer_jump_ns: f64,
    /// Per such page when the scan reads its rows' columns too: the tuple data arrives
    /// without prefetching (sum of one column: +37% in random order in the same test).
    pub buffer_jump_data_ns: f64,
    /// Per shared-buffer page a parallel worker touches: a worker is a fresh process whose
    /// page tables map none of shared memory yet, so its first touch of every page is a minor
    /// fault (the leader, a long-lived backend, has mapped them in earlier queries).
    pub worker_page_fault_ns: f64,
    /// Per row the leader's own copy of the plan returns through Gather: ExecGather's call
    /// and its poll of every tuple queue before each local row (gather_readnext), work a
    /// serial plan does not do. A row received from a worker pays `tuple_receive_ns` instead.
    pub gather_row_ns: f64,
    /// Per worker queue Gather polls (without waiting) before each row of the leader's own
    /// plan: gather_readnext visits every reader once before the leader scans locally.
    pub gather_poll_ns: f64,
    pub tuple_ns: f64,
    pub qual_ns: f64,
    pub agg_transition_ns: f64,
    pub hash_build_ns: f64,
    pub hash_probe_ns: f64,
    /// Per random access into a hash table (a build's insert, a probe's lookup), per doubling
    /// of the table beyond `hash_cache_bytes`: more of the accesses miss the core's caches
    /// and its TLB ([`hash_table`]).
    pub hash_miss_ns: f64,
    /// The hash table size up to which accesses cost only `hash_build_ns` / `hash_probe_ns`:
    /// the cache one core has to itself (its L2).
    pub hash_cache_bytes: f64,
    pub sort_tuple_ns: f64,
    pub sort_compare_ns: f64,
    pub index_tuple_ns: f64,
    pub index_descent_ns: f64,
    pub tuple_send_ns: f64,
    pub tuple_receive_ns: f64,
    pub gather_merge_tuple_ns: f64,
    pub client_row_ns: f64,
    pub temp_page_ns: f64,
    pub wakeup_ns: f64,
    /// One instrumented node call under EXPLAIN ANALYZE with TIMING ON (two clock reads).
    pub instrument_ns: f64,
    /// Fixed cost of one query as EXPLAIN ANALYZE's Execution Time shows it (executor start
    /// and end, the per-query set-up no node counts): the calibration's intercept for
    /// EXPLAIN-timed probes.
    pub query_explain_ns: f64,
    /// Fixed cost of one query as its client times it (parse, plan, executor start and end,
    /// the protocol's round trip): the calibration's intercept for client-timed probes.
    pub query_client_ns: f64,
    /// Planning per join or SubPlan of the query (join search, the paths of each side), over
    /// a one-table query's: a client's time includes planning, EXPLAIN ANALYZE's Execution
    /// Time does not. The calibration's median Planning Time of its hash-join probes less
    /// that of its one-table probes.
    pub plan_join_ns: f64,
    /// Per-row prices by column layout and expression class (used where the scenario's
    /// tables have columns).
    pub cpu: cpu_costs::CpuCosts,
}

/// Bytes of page per row (line pointer, header, data, padding) up to which rows of variable
/// length are read as one stream: one cache line.
pub const ROW_MISS_FROM_BYTES: f64 = 64.0;
/// Bytes of page per row from which every row of variable length is a miss (measured on a
/// 2-vCPU AMD EPYC VM: count(a) - count(*) per row, rows of 140, 205 and 375 bytes of
/// variable length against the same widths of constant length: 80/47, 148/41, 177/51 ns).
pub const ROW_MISS_FULL_BYTES: f64 = 224.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Disk {
    pub seq_bytes_per_ns: f64,
    pub request_latency_ns: f64,
    pub read_ahead_bytes: f64,
    pub queue_depth: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParallelCosts {
    pub leader_setup_ns: f64,
    pub launch_per_worker_ns: f64,
    pub worker_startup_ns: f64,
    /// Log-normal shape (sigma) of the worker start-up delay.
    pub worker_startup_sigma: f64,
    pub shutdown_per_worker_ns: f64,
    /// A worker's exit, per shared-buffer page it touched: a fresh process mapped each page
    /// it read (a minor fault, `worker_page_fault_ns`) and unmaps them all when it exits,
    /// while the leader waits for it (BgWorkerShutdown).
    pub shutdown_per_page_ns: f64,
    /// Log-normal shape (sigma) of a worker's exit around its median (`shutdown_per_worker_ns`
    /// plus the pages): one exit can take twice another on the same query.
    pub shutdown_sigma: f64,
    pub tuple_queue_size: f64,
}

/// How the kernel shares cores when more processes are runnable than there are cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// Linux 6.6+: each runnable task gets a base slice; a woken task waits for the running
    /// one's protected slice (RUN_TO_PARITY) to end, seen at the next tick.
    Eevdf,
    /// Linux before 6.6: slice = max(sched_latency / runnable, min_granularity), seen at ticks.
    Cfs,
    /// Ideal processor sharing (every runnable process progresses at cores / runnable) and a
    /// fixed wake-up delay (`costs.wakeup_ns`): the model before scheduling was modelled.
    Fluid,
}

/// The CPU scheduler's parameters (profile table `[scheduler]`), times in ns.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduler {
    pub kind: SchedulerKind,
    /// EEVDF: sysctl_sched_base_slice; CFS: sched_min_granularity.
    pub base_slice_ns: f64,
    /// CFS only: sched_latency (the period shared by the runnable tasks of one CPU).
    pub latency_ns: f64,
    /// One scheduler tick (1 / CONFIG_HZ): without HRTICK a used-up slice is seen at a tick.
    pub tick_ns: f64,
    /// SetLatch to a sleeping process until it runs, when a core is idle (signal, epoll
    /// return, resuming a halted vCPU).
    pub wakeup_latency_ns: f64,
    /// One context switch (the CPU the switched-in process loses).
    pub context_switch_ns: f64,
    /// How long one CPU keeps one runnable process more than another (three processes on two
    /// CPUs: one alone, two sharing) before the load balancer moves a waiting one across, so
    /// that who is alone changes (0: never).
    pub rotate_ns: f64,
}

impl Scheduler {
    /// Linux 6.18's defaults on `cores` CPUs: base slice 0.70 ms x (1 + ilog2(min(cores, 8)))
    /// (kernel/sched/fair.c:get_update_sysctl_factor), CONFIG_HZ=250, and the wake-up and
    /// switch costs measured with `perf bench sched pipe` on a 2-vCPU cloud VM (22 us to wake a
    /// process onto an idle vCPU, 4.3 us per round trip of 2 wake-ups + 2 switches on one CPU).
    pub fn linux_default(cores: f64) -> Scheduler {
        let factor = 1.0 + (cores.clamp(1.0, 8.0).floor() as u32).ilog2() as f64;
        Scheduler {
            kind: SchedulerKind::Eevdf,
            base_slice_ns: 700e3 * factor,
            latency_ns: 6e6 * factor,
            tick_ns: 4e6,
            wakeup_latency_ns: 22e3,
            context_switch_ns: 2e3,
            rotate_ns: Self::default_rotate_ns(cores),
        }
    }

    /// Linux's balancer runs on a busy CPU every `busy_factor` (16) x the domain's
    /// `balance_interval` (its CPU count, in ms); it moves a whole process to even out an
    /// imbalance of one only after failed attempts have halved what it may move, about four
    /// intervals: 128 ms on 2 CPUs. Measured on a 2-vCPU VM (Linux 6.18, `cargo run --release
    /// --example balancer`, three spinning processes each in its own session as PostgreSQL's
    /// are): the process alone on its CPU changed every 142 ms (median of 36 stretches).
    pub fn default_rotate_ns(cores: f64) -> f64 {
        4.0 * 16e6 * cores.max(1.0).floor()
    }

    /// How long a process runs before the next one in line gets its core, when `per_cpu`
    /// processes are runnable on each CPU (more than one).
    pub fn turn_ns(&self, per_cpu: f64) -> f64 {
        let slice = match self.kind {
            SchedulerKind::Cfs => (self.latency_ns / per_cpu.max(1.0)).max(self.base_slice_ns),
            _ => self.base_slice_ns,
        };
        // Without HRTICK the end of a slice is noticed at the next tick.
        if self.tick_ns > 0.0 {
            (slice / self.tick_ns).ceil().max(1.0) * self.tick_ns
        } else {
            slice.max(1.0)
        }
    }

    /// The most CPU time a process that slept is still owed when it wakes (its lag, kept
    /// across the sleep). EEVDF: lag is clamped to max(2 x slice, one tick)
    /// (kernel/sched/fair.c:update_entity_lag) and kept by PLACE_LAG; a process that blocked
    /// while it had used more than its share leaves with lag 0 (DELAY_DEQUEUE, DELAY_ZERO).
    /// CFS: a sleeper is placed at most sched_latency / 2 behind the queue's min_vruntime
    /// (place_entity with GENTLE_FAIR_SLEEPERS).
    pub fn max_lag_ns(&self) -> f64 {
        match self.kind {
            SchedulerKind::Cfs => self.latency_ns / 2.0,
            _ => (2.0 * self.base_slice_ns).max(self.tick_ns),
        }
    }
}

/// Run-to-run log-normal sigma assumed when a profile has no measured `[variability]`: 10%,
/// the spread of repeated timings of one query on a quiet small VM.
pub const DEFAULT_RUN_SIGMA: f64 = 0.10;

/// The model's own error (log-normal sigma of ln(measured / predicted) for a query it has not
/// been fitted to) assumed when a profile has no `[variability] model_sigma`: 0.20, the spread
/// of pqsim's errors against PostgreSQL 15 on the TPC-H-like validation queries with a
/// calibrated profile (2026-12-01: median |error| 12.9% against bare client times, i.e. a sigma
/// of 0.129 / 0.6745 = 0.19; 90th percentile 36%, i.e. 0.36 / 1.645 = 0.22), rounded. An
/// uncalibrated profile is unlikely to do better.
pub const DEFAULT_MODEL_SIGMA: f64 = 0.20;

#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    pub name: String,
    pub description: String,
    pub cores: f64,
    /// Relative core speed; unit costs are divided by it.
    pub cpu_speed: f64,
    /// Speed of each core while every core is busy, relative to one core busy alone (1 =
    /// independent cores). Below 1 when busy cores share something: SMT siblings, caches,
    /// memory bandwidth, a host's time. Measured by calibration (two serial scans side by side
    /// against one alone); see [`Hardware::core_speed`].
    pub all_cores_busy_speed: f64,
    pub cache: CacheState,
    pub disk: Disk,
    pub costs: UnitCosts,
    pub parallel: ParallelCosts,
    pub scheduler: Scheduler,
    /// Coefficient of variation of the CPU work of a run (run-to-run noise): one factor per
    /// run, shared by its processes.
    pub cpu_noise_cv: f64,
    /// How much one real run's time varies around the machine's typical time: the log-normal
    /// sigma measured by calibration (`[variability] run_sigma`), or [`DEFAULT_RUN_SIGMA`].
    pub run_sigma: f64,
    /// Whether `run_sigma` was measured (false: the default was assumed).
    pub run_sigma_measured: bool,
    /// The model's own prediction error on this machine: the log-normal sigma of
    /// ln(measured / predicted) for a query the fit has not seen, estimated out of sample by
    /// calibration (`[variability] model_sigma`), or [`DEFAULT_MODEL_SIGMA`].
    pub model_sigma: f64,
    /// Whether `model_sigma` was estimated by calibration (false: the default was assumed).
    pub model_sigma_measured: bool,
    /// Server settings of this machine (GUC name, value), applied before a scenario's.
    pub settings: Vec<(String, String)>,
}

impl Hardware {
    /// Speed of a core while `busy` cores (fractional while some are only partly used) are
    /// busy: 1 with one busy core, `all_cores_busy_speed` with all of them, linear between.
    pub fn core_speed(&self, busy: f64) -> f64 {
        if self.cores <= 1.0 || self.all_cores_busy_speed >= 1.0 {
            return 1.0;
        }
        let k = busy.clamp(1.0, self.cores);
        1.0 - (1.0 - self.all_cores_busy_speed) * (k - 1.0) / (self.cores - 1.0)
    }
}
