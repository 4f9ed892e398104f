//! The `EXPLAIN (ANALYZE)` of one simulated execution as a typed tree whose serialisation is
//! PostgreSQL's `EXPLAIN (ANALYZE, FORMAT JSON)` key names and order.

mod build;
mod merge_append;
mod text;
pub mod timing;

pub use build::explain;
pub use text::explain_text;

use serde::Serialize;

/// Rounded to 1 µs, as EXPLAIN prints ms.
pub(crate) fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The document: PostgreSQL prints a one-element array of this.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explain {
    #[serde(rename = "Plan")]
    pub plan: PlanNode,
    /// The settings that differ from PostgreSQL's defaults, as `EXPLAIN (SETTINGS)` lists
    /// them (so `pqsim import` of this document plans under the same settings).
    #[serde(rename = "Settings", skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub settings: std::collections::BTreeMap<String, String>,
    /// Modelled, see [`planning_time_ms`].
    #[serde(rename = "Planning Time")]
    pub planning_time: f64,
    #[serde(rename = "Triggers")]
    pub triggers: Vec<String>,
    #[serde(rename = "Execution Time")]
    pub execution_time: f64,
}

/// One plan node. Optional keys are left out when `None` (or empty), as PostgreSQL does for
/// keys that do not apply to a node type.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlanNode {
    #[serde(rename = "Node Type")]
    pub node_type: &'static str,
    #[serde(rename = "Strategy", skip_serializing_if = "Option::is_none")]
    pub strategy: Option<&'static str>,
    #[serde(rename = "Partial Mode", skip_serializing_if = "Option::is_none")]
    pub partial_mode: Option<&'static str>,
    #[serde(rename = "Parent Relationship", skip_serializing_if = "Option::is_none")]
    pub parent_relationship: Option<&'static str>,
    #[serde(rename = "Subplan Name", skip_serializing_if = "Option::is_none")]
    pub subplan_name: Option<String>,
    #[serde(rename = "Parallel Aware")]
    pub parallel_aware: bool,
    #[serde(rename = "Async Capable", skip_serializing_if = "Option::is_none")]
    pub async_capable: Option<bool>,
    #[serde(rename = "Join Type", skip_serializing_if = "Option::is_none")]
    pub join_type: Option<String>,
    /// Joins: whether the planner proved each outer row matches at most one inner row
    /// (not modelled: pqsim prints false).
    #[serde(rename = "Inner Unique", skip_serializing_if = "Option::is_none")]
    pub inner_unique: Option<bool>,
    /// Index scans: `Forward` (pqsim's index scans read in index order).
    #[serde(rename = "Scan Direction", skip_serializing_if = "Option::is_none")]
    pub scan_direction: Option<&'static str>,
    #[serde(rename = "Index Name", skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(rename = "Relation Name", skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    #[serde(rename = "Alias", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "Startup Cost", skip_serializing_if = "Option::is_none")]
    pub startup_cost: Option<f64>,
    #[serde(rename = "Total Cost", skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    #[serde(rename = "Plan Rows", skip_serializing_if = "Option::is_none")]
    pub plan_rows: Option<u64>,
    #[serde(rename = "Plan Width", skip_serializing_if = "Option::is_none")]
    pub plan_width: Option<i64>,
    #[serde(rename = "Actual Startup Time", skip_serializing_if = "Option::is_none")]
    pub actual_startup_time: Option<f64>,
    #[serde(rename = "Actual Total Time", skip_serializing_if = "Option::is_none")]
    pub actual_total_time: Option<f64>,
    #[serde(rename = "Actual Rows")]
    pub actual_rows: i64,
    #[serde(rename = "Actual Loops")]
    pub actual_loops: i64,
    #[serde(rename = "Group Key", skip_serializing_if = "Option::is_none")]
    pub group_key: Option<Vec<String>>,
    #[serde(rename = "Index Cond", skip_serializing_if = "Option::is_none")]
    pub index_cond: Option<String>,
    /// Index scans under ANALYZE: 0 (a btree scan rechecks nothing).
    #[serde(rename = "Rows Removed by Index Recheck", skip_serializing_if = "Option::is_none")]
    pub rows_removed_by_index_recheck: Option<i64>,
    #[serde(rename = "Workers Planned", skip_serializing_if = "Option::is_none")]
    pub workers_planned: Option<u32>,
    #[serde(rename = "Workers Launched", skip_serializing_if = "Option::is_none")]
    pub workers_launched: Option<u32>,
    #[serde(rename = "Single Copy", skip_serializing_if = "Option::is_none")]
    pub single_copy: Option<bool>,
    #[serde(rename = "Hash Cond", skip_serializing_if = "Option::is_none")]
    pub hash_cond: Option<String>,
    #[serde(rename = "Merge Cond", skip_serializing_if = "Option::is_none")]
    pub merge_cond: Option<String>,
    /// Append: partitions pruned when the executor started.
    #[serde(rename = "Subplans Removed", skip_serializing_if = "Option::is_none")]
    pub subplans_removed: Option<u32>,
    #[serde(rename = "Filter", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(rename = "Rows Removed by Filter", skip_serializing_if = "Option::is_none")]
    pub rows_removed_by_filter: Option<i64>,
    #[serde(rename = "Sort Key", skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<Vec<String>>,
    #[serde(flatten)]
    pub sort_space: Option<SortSpace>,
    #[serde(flatten)]
    pub hash: Option<HashInfo>,
    #[serde(flatten)]
    pub buffers: Option<Buffers>,
    #[serde(rename = "Workers", skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerActual>,
    #[serde(rename = "Plans", skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PlanNode>,
}

/// A Sort's method and memory, for the node or one worker.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SortSpace {
    #[serde(rename = "Sort Method")]
    pub method: &'static str,
    #[serde(rename = "Sort Space Used")]
    pub space_kb: i64,
    #[serde(rename = "Sort Space Type")]
    pub space_type: &'static str,
}

/// A Hash node's table: buckets, batches and peak memory, as `show_hash_info` prints them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HashInfo {
    #[serde(rename = "Hash Buckets")]
    pub buckets: u64,
    #[serde(rename = "Original Hash Buckets")]
    pub original_buckets: u64,
    #[serde(rename = "Hash Batches")]
    pub batches: u64,
    #[serde(rename = "Original Hash Batches")]
    pub original_batches: u64,
    #[serde(rename = "Peak Memory Usage")]
    pub peak_memory_kb: u64,
}

/// Buffer usage of a node and its children, all processes (EXPLAIN's BUFFERS option), in
/// 8 kB blocks.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Buffers {
    #[serde(rename = "Shared Hit Blocks")]
    pub shared_hit: u64,
    #[serde(rename = "Shared Read Blocks")]
    pub shared_read: u64,
    #[serde(rename = "Shared Dirtied Blocks")]
    pub shared_dirtied: u64,
    #[serde(rename = "Shared Written Blocks")]
    pub shared_written: u64,
    #[serde(rename = "Local Hit Blocks")]
    pub local_hit: u64,
    #[serde(rename = "Local Read Blocks")]
    pub local_read: u64,
    #[serde(rename = "Local Dirtied Blocks")]
    pub local_dirtied: u64,
    #[serde(rename = "Local Written Blocks")]
    pub local_written: u64,
    #[serde(rename = "Temp Read Blocks")]
    pub temp_read: u64,
    #[serde(rename = "Temp Written Blocks")]
    pub temp_written: u64,
}

impl Buffers {
    pub fn add(&mut self, o: &Buffers) {
        self.shared_hit += o.shared_hit;
        self.shared_read += o.shared_read;
        self.temp_read += o.temp_read;
        self.temp_written += o.temp_written;
    }
}

/// One worker's entry in a node's "Workers" array.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerActual {
    #[serde(rename = "Worker Number")]
    pub worker_number: u32,
    #[serde(rename = "Actual Startup Time")]
    pub actual_startup_time: f64,
    #[serde(rename = "Actual Total Time")]
    pub actual_total_time: f64,
    #[serde(rename = "Actual Rows")]
    pub actual_rows: i64,
    #[serde(rename = "Actual Loops")]
    pub actual_loops: i64,
    #[serde(flatten)]
    pub sort_space: Option<SortSpace>,
}

impl PlanNode {
    /// The name EXPLAIN's text format prints: "Parallel Seq Scan on t", "Finalize Aggregate".
    pub fn display_name(&self) -> String {
        let mut name = self.kind_name();
        if let Some(idx) = &self.index_name {
            name = format!("{name} using {idx}");
        }
        if let Some(rel) = &self.relation_name {
            name = format!("{name} on {rel}");
        }
        name
    }

    /// The node's kind as EXPLAIN's text format names it, without index or relation:
    /// "Parallel Seq Scan", "Index Scan", "Finalize Aggregate", "Hash Anti Join" (what
    /// `EXPLAIN (FORMAT JSON)` gives as a node's type with its split mode, strategy, join
    /// type and parallel awareness).
    pub fn kind_name(&self) -> String {
        let name = match self.node_type {
            // explain.c: the strategy names the node; the split mode prefixes it.
            "Aggregate" => {
                let base = match self.strategy {
                    Some("Sorted") => "GroupAggregate",
                    Some("Hashed") => "HashAggregate",
                    Some("Mixed") => "MixedAggregate",
                    _ => "Aggregate",
                };
                match self.partial_mode {
                    Some("Partial") => format!("Partial {base}"),
                    Some("Finalize") => format!("Finalize {base}"),
                    _ => base.to_string(),
                }
            }
            t => crate::model::join_text_name(t, self.join_type.as_deref()),
        };
        if self.parallel_aware {
            format!("Parallel {name}")
        } else {
            name
        }
    }
}

/// PostgreSQL 15's planning time grows with the plan: a fixed part (parse analysis, catalog
/// look-ups through warm caches) and a part per plan node (paths generated and costed). Fitted
/// (Theil-Sen) to the "Planning Time" of the 13 real `EXPLAIN ANALYZE` plans of PostgreSQL
/// 15.18 in the test fixtures, on the 2-vCPU reference machine: 0.276 ms + 0.053 ms per node;
/// scaled by the profile's `cpu_speed`. Single-run scatter around the fit is large (0.2-1.3 ms
/// for 4 nodes): first runs in a session pay catalog-cache misses.
pub fn planning_time_ms(nodes: usize, cpu_speed: f64) -> f64 {
    const BASE_MS: f64 = 0.276;
    const PER_NODE_MS: f64 = 0.053;
    (BASE_MS + PER_NODE_MS * nodes as f64) / cpu_speed.max(1e-9)
}

impl PlanNode {
    /// This node and every node below it.
    pub fn count(&self) -> usize {
        1 + self.plans.iter().map(PlanNode::count).sum::<usize>()
    }
}
