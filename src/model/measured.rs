//! Per-node costs measured by a real `EXPLAIN ANALYZE` of this very query (`pqsim import
//! --costs-from-actuals`, a scenario's `[measured]` section): what each plan node cost per row,
//! per page, per built row or per sort comparison on the machine that ran it. Where a scenario
//! carries them, the executor model uses them for that node instead of the profile's class
//! costs, scaled from the measuring machine's `cpu_speed` to the running profile's; the rest
//! (tuple queues, worker start-up, scheduling, Finalize aggregation, ...) stays the profile's.
//!
//! Nodes are found by a key that the planner's reshaping keeps (a serial plan's node and the
//! same node in the parallel plan pqsim builds for it share it): [`node_key`].

use super::{AggMode, Node, Table};

/// The measured costs of one query.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredCosts {
    /// The hardware profile that describes the machine the EXPLAIN ANALYZE ran on.
    pub profile: String,
    /// That profile's `cpu_speed`: a node's ns are multiplied by `cpu_speed / running
    /// profile's cpu_speed`.
    pub cpu_speed: f64,
    /// Whether the plan had per-node times (TIMING ON); false: only the Execution Time was
    /// known and it was spread over the nodes by the model's class costs.
    pub per_node_times: bool,
    pub nodes: Vec<NodeCost>,
}

/// One node's costs, ns on the measuring machine. A field left `None` keeps the model's class
/// cost for that part of the node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCost {
    /// [`node_key`] of the node.
    pub node: String,
    /// Per row: a scan's row read (filter, projection and deforming included), an
    /// aggregate's input row, a hash join's outer row (probe and join rows), a nested loop's
    /// outer row (its inner index scan included), a sort's input row.
    pub row_ns: Option<f64>,
    /// Per page a scan reads (buffer access and the OS page-cache copy).
    pub page_ns: Option<f64>,
    /// Per row built: a hash join's inner (Hash) row, a hashed SubPlan's subquery row (its
    /// scan included).
    pub build_row_ns: Option<f64>,
    /// Per sort comparison.
    pub cmp_ns: Option<f64>,
}

impl MeasuredCosts {
    /// The costs of `node`, if measured, and the factor that turns their ns into ns on a
    /// machine of `cpu_speed`.
    pub fn find(&self, node: &Node, tables: &[Table], cpu_speed: f64) -> Option<(&NodeCost, f64)> {
        let key = node_key(node, tables)?;
        let nc = self.nodes.iter().find(|n| n.node == key)?;
        let scale = if cpu_speed > 0.0 { self.cpu_speed / cpu_speed } else { 1.0 };
        Some((nc, scale))
    }
}

/// Strip the `PARTIAL ` a Partial Aggregate's VERBOSE output puts before each call.
fn strip_partial(s: &str) -> &str {
    s.strip_prefix("PARTIAL ").unwrap_or(s)
}

/// The key of a node that can carry measured costs: `Seq Scan on lineitem`, `Index Scan on
/// orders`, `Aggregate: sum(l_quantity), count(*)`, `Sort: l_returnflag`, `Hash Join:
/// (l.a = o.b)`, `Nested Loop on part: (p_partkey = l_partkey)`. A Finalize Aggregate,
/// Limit, Gather and Gather Merge have none (their work is the profile's).
pub fn node_key(n: &Node, tables: &[Table]) -> Option<String> {
    let tname = |i: &usize| tables.get(*i).map(|t| t.name.clone()).unwrap_or_default();
    match n {
        Node::SeqScan { table, .. } => Some(format!("Seq Scan on {}", tname(table))),
        Node::IndexScan { table, .. } => Some(format!("Index Scan on {}", tname(table))),
        Node::Aggregate { mode: AggMode::Finalize, .. } => None,
        Node::Aggregate { output, .. } => Some(aggregate_key(output)),
        Node::Sort { keys, .. } => Some(format!("Sort: {}", keys.join(", "))),
        Node::HashJoin { cond, .. } => Some(format!("Hash Join: {cond}")),
        Node::NestedLoop { inner_table, cond, .. } => Some(format!("Nested Loop on {}: {cond}", tname(inner_table))),
        Node::Limit { .. } | Node::Gather { .. } | Node::GatherMerge { .. } => None,
        // Not derived from actuals yet: their work is the profile's.
        Node::MergeJoin { .. } | Node::Append { .. } => None,
    }
}

/// An aggregate's key from its VERBOSE output list (the same for a serial aggregate and its
/// Partial copy).
pub fn aggregate_key(output: &[String]) -> String {
    if output.is_empty() {
        return "Aggregate".into();
    }
    let parts: Vec<&str> = output.iter().map(|o| strip_partial(o)).collect();
    format!("Aggregate: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_aggregate_shares_its_serial_key() {
        let serial = aggregate_key(&["sum(l_quantity)".into(), "count(*)".into()]);
        let partial = aggregate_key(&["PARTIAL sum(l_quantity)".into(), "PARTIAL count(*)".into()]);
        assert_eq!(serial, partial);
        assert_eq!(aggregate_key(&[]), "Aggregate");
    }
}
