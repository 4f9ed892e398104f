//! Typed view of PostgreSQL `EXPLAIN (FORMAT JSON)` output.
//!
//! Accepts the document with or without `ANALYZE`, `BUFFERS`, `VERBOSE`, `TIMING OFF`
//! (PG15 key names; see reference section 10). Keys that have no typed field are kept
//! in the `extra` maps, in document order, so nothing is lost.
//!
//! Conventions worth remembering (reference section 10.4): below a Gather, `actual_*`
//! values are **per-loop averages** over all participants (leader + workers) and
//! `actual_loops` is the number of participants that ran the node; use
//! [`ExplainNode::actual_rows_total`] to get a total. Buffer counts are cumulative over
//! the node's subtree and all workers. Without `VERBOSE`, PG15 `Workers` entries carry
//! only node-specific data (e.g. sort method), not timings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::str::FromStr;

/// One `EXPLAIN (FORMAT JSON)` document: the plan tree and the top-level timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainPlan {
    #[serde(rename = "Plan")]
    pub root: ExplainNode,
    /// `Planning Time` in ms (with ANALYZE, or with SUMMARY).
    #[serde(rename = "Planning Time", default, skip_serializing_if = "Option::is_none")]
    pub planning_time_ms: Option<f64>,
    /// `Execution Time` in ms (with ANALYZE): ExecutorStart..ExecutorEnd of the leader,
    /// including worker launch and shutdown.
    #[serde(rename = "Execution Time", default, skip_serializing_if = "Option::is_none")]
    pub execution_time_ms: Option<f64>,
    /// Any other top-level key (`Planning` buffers, `Triggers`, `JIT`, `Settings`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One plan node. Optional keys that PostgreSQL did not emit are `None` / empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainNode {
    #[serde(rename = "Node Type")]
    pub node_type: String,
    #[serde(rename = "Parallel Aware", default)]
    pub parallel_aware: bool,
    #[serde(rename = "Relation Name", default, skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    #[serde(rename = "Alias", default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// `Simple`, `Partial` or `Finalize` (Aggregate).
    #[serde(rename = "Partial Mode", default, skip_serializing_if = "Option::is_none")]
    pub partial_mode: Option<String>,
    /// Aggregate: `Plain`, `Sorted`, `Hashed`, `Mixed`; SetOp too.
    #[serde(rename = "Strategy", default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(rename = "Join Type", default, skip_serializing_if = "Option::is_none")]
    pub join_type: Option<String>,
    /// `Outer`, `Inner`, `Member`, `SubPlan`, `InitPlan`, `Subquery`; absent on the root.
    #[serde(rename = "Parent Relationship", default, skip_serializing_if = "Option::is_none")]
    pub parent_relationship: Option<String>,
    /// e.g. `SubPlan 1`, `InitPlan 1 (returns $0)`.
    #[serde(rename = "Subplan Name", default, skip_serializing_if = "Option::is_none")]
    pub subplan_name: Option<String>,
    #[serde(rename = "Startup Cost")]
    pub startup_cost: f64,
    #[serde(rename = "Total Cost")]
    pub total_cost: f64,
    #[serde(rename = "Plan Rows")]
    pub plan_rows: f64,
    #[serde(rename = "Plan Width")]
    pub plan_width: u32,
    /// ms, per-loop average; absent without ANALYZE or with TIMING OFF.
    #[serde(rename = "Actual Startup Time", default, skip_serializing_if = "Option::is_none")]
    pub actual_startup_time: Option<f64>,
    /// ms, per-loop average; absent without ANALYZE or with TIMING OFF.
    #[serde(rename = "Actual Total Time", default, skip_serializing_if = "Option::is_none")]
    pub actual_total_time: Option<f64>,
    /// Per-loop average (integer in PG15, 2 decimals in PG18).
    #[serde(rename = "Actual Rows", default, skip_serializing_if = "Option::is_none")]
    pub actual_rows: Option<f64>,
    #[serde(rename = "Actual Loops", default, skip_serializing_if = "Option::is_none")]
    pub actual_loops: Option<u64>,
    /// Gather / Gather Merge.
    #[serde(rename = "Workers Planned", default, skip_serializing_if = "Option::is_none")]
    pub workers_planned: Option<u32>,
    /// Gather / Gather Merge, with ANALYZE.
    #[serde(rename = "Workers Launched", default, skip_serializing_if = "Option::is_none")]
    pub workers_launched: Option<u32>,
    /// Gather (always emitted in JSON).
    #[serde(rename = "Single Copy", default, skip_serializing_if = "Option::is_none")]
    pub single_copy: Option<bool>,
    #[serde(rename = "Filter", default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Per-loop average.
    #[serde(rename = "Rows Removed by Filter", default, skip_serializing_if = "Option::is_none")]
    pub rows_removed_by_filter: Option<f64>,
    #[serde(rename = "Hash Cond", default, skip_serializing_if = "Option::is_none")]
    pub hash_cond: Option<String>,
    #[serde(rename = "Index Name", default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(rename = "Index Cond", default, skip_serializing_if = "Option::is_none")]
    pub index_cond: Option<String>,
    #[serde(rename = "Sort Key", default, skip_serializing_if = "Vec::is_empty")]
    pub sort_key: Vec<String>,
    /// e.g. `quicksort`, `top-N heapsort`, `external merge` (leader's, with ANALYZE).
    #[serde(rename = "Sort Method", default, skip_serializing_if = "Option::is_none")]
    pub sort_method: Option<String>,
    #[serde(rename = "Sort Space Used", default, skip_serializing_if = "Option::is_none")]
    pub sort_space_used_kb: Option<u64>,
    /// `Memory` or `Disk`.
    #[serde(rename = "Sort Space Type", default, skip_serializing_if = "Option::is_none")]
    pub sort_space_type: Option<String>,
    #[serde(rename = "Hash Buckets", default, skip_serializing_if = "Option::is_none")]
    pub hash_buckets: Option<u64>,
    #[serde(rename = "Hash Batches", default, skip_serializing_if = "Option::is_none")]
    pub hash_batches: Option<u64>,
    /// Hash / HashAggregate memory, kB.
    #[serde(rename = "Peak Memory Usage", default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_kb: Option<u64>,
    #[serde(rename = "Shared Hit Blocks", default, skip_serializing_if = "Option::is_none")]
    pub shared_hit_blocks: Option<u64>,
    #[serde(rename = "Shared Read Blocks", default, skip_serializing_if = "Option::is_none")]
    pub shared_read_blocks: Option<u64>,
    #[serde(rename = "Temp Read Blocks", default, skip_serializing_if = "Option::is_none")]
    pub temp_read_blocks: Option<u64>,
    #[serde(rename = "Temp Written Blocks", default, skip_serializing_if = "Option::is_none")]
    pub temp_written_blocks: Option<u64>,
    /// Per-worker data (the leader's share is not listed: derive it as total − Σ workers).
    #[serde(rename = "Workers", default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<ExplainWorker>,
    /// Children, including initPlans/subPlans (see `parent_relationship`).
    #[serde(rename = "Plans", default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<ExplainNode>,
    /// Every other key (`Async Capable`, `Output`, `Group Key`, dirtied/written/local
    /// buffer counts, `Original Hash Buckets`, I/O timings, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of a node's `Workers` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainWorker {
    /// 0-based `ParallelWorkerNumber`.
    #[serde(rename = "Worker Number")]
    pub worker_number: u32,
    #[serde(rename = "Actual Startup Time", default, skip_serializing_if = "Option::is_none")]
    pub actual_startup_time: Option<f64>,
    #[serde(rename = "Actual Total Time", default, skip_serializing_if = "Option::is_none")]
    pub actual_total_time: Option<f64>,
    #[serde(rename = "Actual Rows", default, skip_serializing_if = "Option::is_none")]
    pub actual_rows: Option<f64>,
    #[serde(rename = "Actual Loops", default, skip_serializing_if = "Option::is_none")]
    pub actual_loops: Option<u64>,
    #[serde(rename = "Sort Method", default, skip_serializing_if = "Option::is_none")]
    pub sort_method: Option<String>,
    #[serde(rename = "Sort Space Used", default, skip_serializing_if = "Option::is_none")]
    pub sort_space_used_kb: Option<u64>,
    #[serde(rename = "Sort Space Type", default, skip_serializing_if = "Option::is_none")]
    pub sort_space_type: Option<String>,
    #[serde(rename = "Shared Hit Blocks", default, skip_serializing_if = "Option::is_none")]
    pub shared_hit_blocks: Option<u64>,
    #[serde(rename = "Shared Read Blocks", default, skip_serializing_if = "Option::is_none")]
    pub shared_read_blocks: Option<u64>,
    #[serde(rename = "Temp Read Blocks", default, skip_serializing_if = "Option::is_none")]
    pub temp_read_blocks: Option<u64>,
    #[serde(rename = "Temp Written Blocks", default, skip_serializing_if = "Option::is_none")]
    pub temp_written_blocks: Option<u64>,
    /// Every other key (`JIT`, `Output`, memory usage, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why an EXPLAIN JSON document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("EXPLAIN output is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    #[error("EXPLAIN output has an unexpected shape: {0}")]
    Shape(String),
    /// A key is missing or has the wrong type.
    #[error("EXPLAIN JSON at {path}{}: {message}", in_nodes(.nodes))]
    Field {
        /// JSON path of the offending value (or of the object missing a key),
        /// e.g. `$[0].Plan.Plans[0]."Actual Rows"`.
        path: String,
        /// The key involved, when known (last key of `path`, or the missing one).
        key: Option<String>,
        /// Node types from the root down to the node holding the error,
        /// e.g. `["Aggregate", "Gather"]`.
        nodes: Vec<String>,
        message: String,
    },
}

fn in_nodes(nodes: &[String]) -> String {
    if nodes.is_empty() {
        String::new()
    } else {
        format!(" (in node {})", nodes.join(" > "))
    }
}

impl ExplainPlan {
    /// The same plan with every measured time (planning, execution, each node's and each
    /// worker's actual startup and total times) multiplied by `f`: a run rescaled to another
    /// machine speed (`f` = the profile's speed reference over the one measured beside it).
    pub fn rescaled(&self, f: f64) -> ExplainPlan {
        fn node(n: &mut ExplainNode, f: f64) {
            n.actual_startup_time = n.actual_startup_time.map(|t| t * f);
            n.actual_total_time = n.actual_total_time.map(|t| t * f);
            for w in &mut n.workers {
                w.actual_startup_time = w.actual_startup_time.map(|t| t * f);
                w.actual_total_time = w.actual_total_time.map(|t| t * f);
            }
            n.plans.iter_mut().for_each(|c| node(c, f));
        }
        let mut p = self.clone();
        p.planning_time_ms = p.planning_time_ms.map(|t| t * f);
        p.execution_time_ms = p.execution_time_ms.map(|t| t * f);
        node(&mut p.root, f);
        p
    }

    /// Parses the text PostgreSQL returns for `EXPLAIN (FORMAT JSON) ...`: an array with
    /// one object (a bare object is accepted too).
    pub fn from_json(text: &str) -> Result<Self, ExplainError> {
        let value: Value = serde_json::from_str(text).map_err(ExplainError::Syntax)?;
        Self::from_value(&value)
    }

    /// Like [`ExplainPlan::from_json`] from an already parsed JSON value.
    pub fn from_value(value: &Value) -> Result<Self, ExplainError> {
        let (doc, prefix) = match value {
            Value::Array(items) => match items.as_slice() {
                [one] => (one, "$[0]"),
                [] => return Err(ExplainError::Shape("empty array, expected one plan".into())),
                many => {
                    return Err(ExplainError::Shape(format!(
                        "array of {} elements, expected exactly one plan",
                        many.len()
                    )))
                }
            },
            Value::Object(_) => (value, "$"),
            other => {
                return Err(ExplainError::Shape(format!(
                    "expected an array with one object, found {}",
                    json_kind(other)
                )))
            }
        };
        if !doc.is_object() {
            return Err(ExplainError::Shape(format!(
                "{prefix} is {}, expected an object with a \"Plan\" key",
                json_kind(doc)
            )));
        }
        serde_path_to_error::deserialize(doc).map_err(|e| field_error(doc, prefix, e))
    }

    /// All nodes, depth-first, root first.
    pub fn nodes(&self) -> NodeIter<'_> {
        self.root.iter()
    }
}

impl FromStr for ExplainPlan {
    type Err = ExplainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_json(s)
    }
}

impl ExplainNode {
    /// The name the text format prints: `Parallel Seq Scan`, `Partial HashAggregate`,
    /// `Finalize GroupAggregate`, `Parallel Hash Join`, `Hash Anti Join`, ...
    pub fn display_name(&self) -> String {
        let mut name = String::new();
        if self.parallel_aware {
            name.push_str("Parallel ");
        }
        if self.node_type == "Aggregate" {
            match self.partial_mode.as_deref() {
                Some("Partial") => name.push_str("Partial "),
                Some("Finalize") => name.push_str("Finalize "),
                _ => {}
            }
            name.push_str(match self.strategy.as_deref() {
                Some("Sorted") => "GroupAggregate",
                Some("Hashed") => "HashAggregate",
                Some("Mixed") => "MixedAggregate",
                _ => "Aggregate",
            });
        } else {
            name.push_str(&crate::model::join_text_name(&self.node_type, self.join_type.as_deref()));
        }
        name
    }

    /// This node and all its descendants, depth-first, self first.
    pub fn iter(&self) -> NodeIter<'_> {
        NodeIter { stack: vec![self] }
    }

    /// First node (depth-first) for which `pred` holds.
    pub fn find(&self, pred: impl FnMut(&&ExplainNode) -> bool) -> Option<&ExplainNode> {
        self.iter().find(pred)
    }

    /// Total rows over all loops/participants: `Actual Rows × Actual Loops`
    /// (approximate in PG15, which rounds the per-loop average to an integer).
    pub fn actual_rows_total(&self) -> Option<f64> {
        Some(self.actual_rows? * self.actual_loops? as f64)
    }

    /// Total in-node time summed over loops/participants, ms (`Actual Total Time × Loops`).
    pub fn actual_total_time_sum(&self) -> Option<f64> {
        Some(self.actual_total_time? * self.actual_loops? as f64)
    }
}

/// Depth-first iterator over a plan tree.
pub struct NodeIter<'a> {
    stack: Vec<&'a ExplainNode>,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a ExplainNode;
    fn next(&mut self) -> Option<Self::Item> {
        let node = self.stack.pop()?;
        self.stack.extend(node.plans.iter().rev());
        Some(node)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Turns a serde error with its path into an [`ExplainError::Field`] that names the key,
/// the JSON path and the chain of node types leading to it.
fn field_error(doc: &Value, prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> ExplainError {
    use serde_path_to_error::Segment;
    let mut path = prefix.to_string();
    let mut nodes = Vec::new();
    let mut key = None;
    let mut cur = Some(doc);
    let note_node = |v: Option<&Value>, nodes: &mut Vec<String>| {
        if let Some(t) = v.and_then(|v| v.get("Node Type")).and_then(Value::as_str) {
            nodes.push(t.to_string());
        }
    };
    for seg in err.path().iter() {
        match seg {
            Segment::Seq { index } => {
                let _ = write!(path, "[{index}]");
                cur = cur.and_then(|v| v.get(*index));
                key = None;
                note_node(cur, &mut nodes);
            }
            Segment::Map { key: k } => {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    let _ = write!(path, ".{k}");
                } else {
                    let _ = write!(path, ".{k:?}");
                }
                cur = cur.and_then(|v| v.get(k.as_str()));
                key = Some(k.clone());
                if k == "Plan" {
                    note_node(cur, &mut nodes);
                }
            }
            Segment::Enum { variant } => {
                let _ = write!(path, "::{variant}");
            }
            Segment::Unknown => path.push_str(".?"),
        }
    }
    let message = err.into_inner().to_string();
    // "missing field `X`" errors point at the object, not at the key: name the key.
    if let Some(rest) = message.strip_prefix("missing field `") {
        key = rest.split('`').next().map(str::to_string);
    }
    ExplainError::Field { path, key, nodes, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference section 10.5 (PG15.18, measured), completed into valid JSON: the
    /// abbreviated parts were filled in with what PG15 emits for that plan.
    const REFERENCE_10_5: &str = r#"[{"Plan":
{"Node Type":"Gather","Parent Relationship":"Outer","Parallel Aware":false,
 "Async Capable":false,"Startup Cost":46237.46,"Total Cost":46237.67,"Plan Rows":2,
 "Plan Width":8,"Actual Startup Time":232.936,"Actual Total Time":239.087,
 "Actual Rows":3,"Actual Loops":1,"Workers Planned":2,"Workers Launched":2,
 "Single Copy":false,"Shared Hit Blocks":14204,"Shared Read Blocks":13834,
 "Temp Read Blocks":0,"Temp Written Blocks":0,"Plans":[
   {"Node Type":"Aggregate","Strategy":"Plain","Partial Mode":"Partial",
    "Parent Relationship":"Outer","Parallel Aware":false,"Async Capable":false,
    "Startup Cost":45237.46,"Total Cost":45237.47,"Plan Rows":1,"Plan Width":8,
    "Actual Startup Time":225.9,"Actual Total Time":225.901,
    "Actual Rows":1,"Actual Loops":3,"Workers":[{"Worker Number":0,
    "Actual Startup Time":223.544,"Actual Total Time":223.545,"Actual Rows":1,
    "Actual Loops":1},{"Worker Number":1,"Actual Startup Time":222.1,
    "Actual Total Time":222.101,"Actual Rows":1,"Actual Loops":1}],"Plans":[
      {"Node Type":"Seq Scan","Parent Relationship":"Outer","Parallel Aware":true,
       "Async Capable":false,
       "Relation Name":"t","Alias":"t","Startup Cost":0.00,"Total Cost":43663.00,
       "Plan Rows":629784,"Plan Width":0,"Actual Startup Time":0.024,
       "Actual Total Time":178.314,"Actual Rows":499653,"Actual Loops":3,
       "Filter":"(t.val < 500000)","Rows Removed by Filter":500347}]}]},
 "Planning Time":0.151,"Triggers":[],"Execution Time":239.2}]"#;

    fn sample(name: &str) -> &'static str {
        match name {
            "count_analyze_buffers" => include_str!("testdata/count_analyze_buffers.json"),
            "count_plain" => include_str!("testdata/count_plain.json"),
            "sort_verbose" => include_str!("testdata/sort_verbose.json"),
            "hashjoin_analyze" => include_str!("testdata/hashjoin_analyze.json"),
            "notin_analyze" => include_str!("testdata/notin_analyze.json"),
            "index_analyze" => include_str!("testdata/index_analyze.json"),
            "fewer_workers_timing_off" => {
                include_str!("testdata/fewer_workers_timing_off.json")
            }
            _ => panic!("no sample {name}"),
        }
    }

    const SAMPLES: &[&str] = &[
        "count_analyze_buffers",
        "count_plain",
        "sort_verbose",
        "hashjoin_analyze",
        "notin_analyze",
        "index_analyze",
        "fewer_workers_timing_off",
    ];

    fn names(plan: &ExplainPlan) -> Vec<String> {
        plan.nodes().map(ExplainNode::display_name).collect()
    }

    #[test]
    fn reference_example_10_5() {
        let plan = ExplainPlan::from_json(REFERENCE_10_5).unwrap();
        assert_eq!(plan.planning_time_ms, Some(0.151));
        assert_eq!(plan.execution_time_ms, Some(239.2));
        assert_eq!(plan.extra.get("Triggers"), Some(&Value::Array(vec![])));
        let g = &plan.root;
        assert_eq!(g.node_type, "Gather");
        assert_eq!(g.workers_planned, Some(2));
        assert_eq!(g.workers_launched, Some(2));
        assert_eq!(g.single_copy, Some(false));
        assert_eq!(g.actual_rows, Some(3.0));
        assert_eq!(g.shared_hit_blocks, Some(14204));
        assert_eq!(g.extra.get("Async Capable"), Some(&Value::Bool(false)));
        let agg = &g.plans[0];
        assert_eq!(agg.display_name(), "Partial Aggregate");
        assert_eq!(agg.actual_loops, Some(3));
        assert_eq!(agg.workers.len(), 2);
        assert_eq!(agg.workers[1].worker_number, 1);
        assert_eq!(agg.workers[0].actual_total_time, Some(223.545));
        let scan = &agg.plans[0];
        assert!(scan.parallel_aware);
        assert_eq!(scan.display_name(), "Parallel Seq Scan");
        assert_eq!(scan.relation_name.as_deref(), Some("t"));
        assert_eq!(scan.filter.as_deref(), Some("(t.val < 500000)"));
        assert_eq!(scan.rows_removed_by_filter, Some(500347.0));
        assert_eq!(scan.plan_rows, 629784.0);
        assert_eq!(scan.plan_width, 0);
        assert_eq!(scan.actual_rows_total(), Some(1_498_959.0));
        assert!(scan.plans.is_empty());
    }

    #[test]
    fn all_captured_samples_parse_and_round_trip() {
        for name in SAMPLES {
            let plan = ExplainPlan::from_json(sample(name)).unwrap_or_else(|e| panic!("sample {name}: {e}"));
            let text = serde_json::to_string(&vec![&plan]).unwrap();
            let again = ExplainPlan::from_json(&text).unwrap();
            assert_eq!(plan, again, "sample {name} does not round-trip");
            // Nothing is dropped: every key of every node is typed or in `extra`.
            let original: Value = serde_json::from_str(sample(name)).unwrap();
            let reserialized: Value = serde_json::from_str(&text).unwrap();
            // (Empty arrays such as PG15's `"Workers": []` carry nothing and are not
            // re-emitted.)
            let (before, after) = (key_paths(&original), key_paths(&reserialized));
            let lost: Vec<_> = before.iter().filter(|k| !after.contains(k)).collect();
            let gained: Vec<_> = after.iter().filter(|k| !before.contains(k)).collect();
            assert!(lost.is_empty() && gained.is_empty(), "sample {name}: lost {lost:?}, gained {gained:?}");
        }
    }

    fn key_paths(v: &Value) -> Vec<String> {
        fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, child) in m {
                        if child.as_array().is_some_and(Vec::is_empty) {
                            continue;
                        }
                        let p = format!("{at}/{k}");
                        out.push(p.clone());
                        walk(child, &p, out);
                    }
                }
                Value::Array(a) => {
                    for (i, child) in a.iter().enumerate() {
                        walk(child, &format!("{at}[{i}]"), out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(v, "", &mut out);
        out.sort();
        out
    }

    #[test]
    fn parallel_count_with_analyze_and_buffers() {
        let plan = ExplainPlan::from_json(sample("count_analyze_buffers")).unwrap();
        assert_eq!(names(&plan), ["Finalize Aggregate", "Gather", "Partial Aggregate", "Parallel Seq Scan"]);
        assert!(plan.execution_time_ms.unwrap() > 0.0);
        assert!(plan.extra.contains_key("Planning"));
        let gather = plan.root.find(|n| n.node_type == "Gather").unwrap();
        assert_eq!(gather.workers_planned, Some(2));
        assert_eq!(gather.workers_launched, Some(2));
        assert_eq!(gather.parent_relationship.as_deref(), Some("Outer"));
        assert!(plan.root.parent_relationship.is_none());
        let scan = plan.nodes().last().unwrap();
        assert_eq!(scan.actual_loops, Some(3));
        assert!(scan.shared_hit_blocks.is_some() && scan.shared_read_blocks.is_some());
        // 28,038 heap pages, counted once across leader + workers.
        assert_eq!(scan.shared_hit_blocks.unwrap() + scan.shared_read_blocks.unwrap(), 28_038);
        // Without VERBOSE, PG15 emits no per-worker timings.
        assert!(plan.nodes().all(|n| n.workers.is_empty()));
    }

    #[test]
    fn plain_explain_has_no_actuals() {
        let plan = ExplainPlan::from_json(sample("count_plain")).unwrap();
        assert_eq!(plan.planning_time_ms, None);
        assert_eq!(plan.execution_time_ms, None);
        for n in plan.nodes() {
            assert!(n.actual_rows.is_none() && n.actual_loops.is_none());
            assert!(n.actual_startup_time.is_none() && n.actual_total_time.is_none());
            assert!(n.total_cost >= n.startup_cost);
        }
        let gather = plan.root.find(|n| n.node_type == "Gather").unwrap();
        assert_eq!(gather.workers_planned, Some(2));
        assert_eq!(gather.workers_launched, None);
    }

    #[test]
    fn gather_merge_sort_with_verbose_workers() {
        let plan = ExplainPlan::from_json(sample("sort_verbose")).unwrap();
        assert_eq!(names(&plan), ["Limit", "Gather Merge", "Sort", "Parallel Seq Scan"]);
        let sort = plan.root.find(|n| n.node_type == "Sort").unwrap();
        assert_eq!(sort.sort_key, ["t.pad"]);
        assert!(sort.sort_method.is_some());
        assert!(sort.sort_space_used_kb.is_some());
        assert_eq!(sort.workers.len(), 2);
        for (i, w) in sort.workers.iter().enumerate() {
            assert_eq!(w.worker_number as usize, i);
            assert!(w.sort_method.is_some() && w.sort_space_type.is_some());
            assert!(w.actual_total_time.is_some(), "VERBOSE gives worker timings");
            assert!(w.shared_hit_blocks.is_some());
        }
        // VERBOSE adds Output lists, kept in extra.
        assert!(sort.extra.contains_key("Output"));
    }

    #[test]
    fn parallel_hash_join() {
        let plan = ExplainPlan::from_json(sample("hashjoin_analyze")).unwrap();
        assert_eq!(
            names(&plan),
            [
                "Finalize Aggregate",
                "Gather",
                "Partial Aggregate",
                "Parallel Hash Join",
                "Parallel Seq Scan",
                "Parallel Hash",
                "Parallel Seq Scan"
            ]
        );
        let join = plan.root.find(|n| n.node_type == "Hash Join").unwrap();
        assert_eq!(join.join_type.as_deref(), Some("Inner"));
        assert!(join.hash_cond.as_deref().unwrap().contains("id"));
        let hash = plan.root.find(|n| n.node_type == "Hash").unwrap();
        assert_eq!(hash.parent_relationship.as_deref(), Some("Inner"));
        assert!(hash.hash_buckets.unwrap() > 0);
        assert!(hash.hash_batches.unwrap() >= 1);
        assert!(hash.peak_memory_kb.unwrap() > 0);
        assert!(hash.extra.contains_key("Original Hash Buckets"));
    }

    #[test]
    fn subplan_under_parallel_scan() {
        let plan = ExplainPlan::from_json(sample("notin_analyze")).unwrap();
        let sub = plan.root.find(|n| n.parent_relationship.as_deref() == Some("SubPlan")).unwrap();
        assert_eq!(sub.subplan_name.as_deref(), Some("SubPlan 1"));
        assert_eq!(sub.relation_name.as_deref(), Some("small"));
        let scan = plan.root.find(|n| n.relation_name.as_deref() == Some("t"));
        assert!(scan.unwrap().filter.as_deref().unwrap().contains("SubPlan 1"));
    }

    #[test]
    fn index_scan() {
        let plan = ExplainPlan::from_json(sample("index_analyze")).unwrap();
        let n = &plan.root;
        assert_eq!(n.node_type, "Index Scan");
        assert_eq!(n.index_name.as_deref(), Some("t_id"));
        assert!(n.index_cond.as_deref().unwrap().contains("id >= 5"));
        assert_eq!(n.actual_rows, Some(46.0));
    }

    #[test]
    fn fewer_workers_launched_and_timing_off() {
        let plan = ExplainPlan::from_json(sample("fewer_workers_timing_off")).unwrap();
        let gm = plan.root.find(|n| n.node_type == "Gather Merge").unwrap();
        assert_eq!(gm.workers_planned, Some(4));
        assert_eq!(gm.workers_launched, Some(1));
        assert_eq!(gm.single_copy, None, "Gather Merge has no Single Copy");
        for n in plan.nodes() {
            assert!(n.actual_rows.is_some() && n.actual_loops.is_some());
            assert!(n.actual_startup_time.is_none() && n.actual_total_time.is_none());
        }
        let sort = plan.root.find(|n| n.node_type == "Sort").unwrap();
        assert_eq!(sort.actual_loops, Some(2), "leader + 1 worker");
        assert_eq!(sort.sort_space_type.as_deref(), Some("Disk"));
        assert_eq!(sort.workers.len(), 1);
        assert_eq!(plan.root.plans[0].display_name(), "GroupAggregate", "Sorted strategy");
    }

    #[test]
    fn bare_object_is_accepted() {
        let doc: Value = serde_json::from_str(REFERENCE_10_5).unwrap();
        let obj = doc[0].clone();
        let plan = ExplainPlan::from_value(&obj).unwrap();
        assert_eq!(plan.root.node_type, "Gather");
    }

    fn field_err(text: &str) -> (String, Option<String>, Vec<String>, String) {
        match ExplainPlan::from_json(text).unwrap_err() {
            e @ ExplainError::Field { .. } => {
                let shown = e.to_string();
                let ExplainError::Field { path, key, nodes, .. } = e else { unreachable!() };
                (path, key, nodes, shown)
            }
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn missing_key_names_key_and_tree_path() {
        let text = REFERENCE_10_5.replace(r#""Node Type":"Seq Scan","#, "");
        let (path, key, nodes, shown) = field_err(&text);
        assert_eq!(path, "$[0].Plan.Plans[0].Plans[0]");
        assert_eq!(key.as_deref(), Some("Node Type"));
        assert_eq!(nodes, ["Gather", "Aggregate"]);
        assert_eq!(
            shown,
            "EXPLAIN JSON at $[0].Plan.Plans[0].Plans[0] (in node Gather > Aggregate): \
             missing field `Node Type`"
        );
    }

    #[test]
    fn wrong_type_names_key_and_tree_path() {
        let text = REFERENCE_10_5.replace(r#""Actual Rows":499653"#, r#""Actual Rows":"lots""#);
        let (path, key, nodes, shown) = field_err(&text);
        assert_eq!(path, r#"$[0].Plan.Plans[0].Plans[0]."Actual Rows""#);
        assert_eq!(key.as_deref(), Some("Actual Rows"));
        assert_eq!(nodes, ["Gather", "Aggregate", "Seq Scan"]);
        assert!(shown.contains("invalid type: string \"lots\""), "{shown}");

        let text = REFERENCE_10_5.replace(r#""Worker Number":1"#, r#""Worker Number":-1"#);
        let (path, key, nodes, _) = field_err(&text);
        assert_eq!(path, r#"$[0].Plan.Plans[0].Workers[1]."Worker Number""#);
        assert_eq!(key.as_deref(), Some("Worker Number"));
        assert_eq!(nodes, ["Gather", "Aggregate"]);
    }

    #[test]
    fn missing_plan_and_bad_shapes() {
        let (path, key, nodes, _) = field_err(r#"[{"Planning Time": 1.0}]"#);
        assert_eq!((path.as_str(), key.as_deref()), ("$[0]", Some("Plan")));
        assert!(nodes.is_empty());

        let e = ExplainPlan::from_json("[]").unwrap_err();
        assert!(matches!(e, ExplainError::Shape(_)), "{e}");
        let e =
            ExplainPlan::from_json(&format!("[{0},{0}]", &REFERENCE_10_5[1..REFERENCE_10_5.len() - 1])).unwrap_err();
        assert!(e.to_string().contains("2 elements"), "{e}");
        let e = ExplainPlan::from_json("[1]").unwrap_err();
        assert!(e.to_string().contains("a number"), "{e}");
        let e = ExplainPlan::from_json("Seq Scan on t").unwrap_err();
        assert!(matches!(e, ExplainError::Syntax(_)), "{e}");
    }

    #[test]
    fn a_rescaled_plan_has_every_time_scaled_and_nothing_else_changed() {
        let plan = ExplainPlan::from_json(REFERENCE_10_5).unwrap();
        let r = plan.rescaled(2.0);
        assert_eq!(r.execution_time_ms, Some(2.0 * 239.2));
        assert_eq!(r.planning_time_ms, Some(2.0 * 0.151));
        for (a, b) in plan.root.iter().zip(r.root.iter()) {
            assert_eq!(b.actual_total_time, a.actual_total_time.map(|t| 2.0 * t));
            assert_eq!(b.actual_startup_time, a.actual_startup_time.map(|t| 2.0 * t));
            assert_eq!((b.actual_rows, b.actual_loops, &b.node_type), (a.actual_rows, a.actual_loops, &a.node_type));
            for (wa, wb) in a.workers.iter().zip(&b.workers) {
                assert_eq!(wb.actual_total_time, wa.actual_total_time.map(|t| 2.0 * t));
            }
        }
        assert!(plan.root.iter().any(|n| !n.workers.is_empty()), "the fixture has worker entries");
    }

    #[test]
    fn display_names() {
        let mut n = ExplainPlan::from_json(REFERENCE_10_5).unwrap().root.plans[0].clone();
        n.strategy = Some("Hashed".into());
        assert_eq!(n.display_name(), "Partial HashAggregate");
        n.partial_mode = Some("Simple".into());
        n.strategy = Some("Mixed".into());
        assert_eq!(n.display_name(), "MixedAggregate");
        n.node_type = "Hash".into();
        n.parallel_aware = true;
        assert_eq!(n.display_name(), "Parallel Hash");
    }
}
