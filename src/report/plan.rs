//! `pqsim plan --format json`: the planner's decision as the JSON contract (the contract's
//! keys first, then extras), and costed plans as EXPLAIN (FORMAT JSON) nodes.

use crate::planner::{Costed, Decision};
use serde::ser::{Serialize, SerializeMap, Serializer};

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A costed plan node as EXPLAIN (FORMAT JSON) prints it: costs, rows, width, children.
pub struct ExplainNode<'a>(pub &'a Costed);

impl Serialize for ExplainNode<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Node Type", &c.node_type)?;
        for (k, v) in &c.details {
            m.serialize_entry(k, v)?;
        }
        if let Some(name) = &c.subplan_name {
            m.serialize_entry("Parent Relationship", "SubPlan")?;
            m.serialize_entry("Subplan Name", name)?;
        }
        m.serialize_entry("Parallel Aware", &c.parallel_aware)?;
        m.serialize_entry("Startup Cost", &round2(c.startup))?;
        m.serialize_entry("Total Cost", &round2(c.total))?;
        m.serialize_entry("Plan Rows", &(c.rows.round() as u64))?;
        m.serialize_entry("Plan Width", &(c.width.round() as u64))?;
        if let Some(w) = c.workers_planned {
            m.serialize_entry("Workers Planned", &w)?;
        }
        if c.single_copy {
            m.serialize_entry("Single Copy", &true)?;
        }
        if !c.children.is_empty() {
            let plans: Vec<ExplainNode> = c.children.iter().map(ExplainNode).collect();
            m.serialize_entry("Plans", &plans)?;
        }
        m.end()
    }
}

/// The JSON of `pqsim plan --format json`.
#[derive(serde::Serialize)]
pub struct PlanJson<'a> {
    pub workers_planned: u32,
    pub parallel: bool,
    pub reasons: &'a [String],
    pub serial_total_cost: f64,
    pub parallel_total_cost: Option<f64>,
    pub workers_launched: u32,
    pub single_copy: bool,
    pub explain_hidden: bool,
    pub pinned: bool,
    pub chosen_total_cost: f64,
    pub worker_calculation: &'a Option<String>,
    pub launch_calculation: &'a Option<String>,
    pub restricted_above_gather: &'a [String],
    pub subplans_hashed: &'a [bool],
    pub subplan_workers_planned: &'a [u32],
    pub plan: ExplainNode<'a>,
    pub serial_plan: ExplainNode<'a>,
    pub parallel_plan: Option<ExplainNode<'a>>,
}

impl<'a> PlanJson<'a> {
    /// The decision as the contract shows it: when only a SubPlan's subquery runs a
    /// Gather, Workers Planned (and Launched) are that Gather's and `parallel` is true.
    pub fn new(d: &'a Decision) -> Self {
        let r = &d.report;
        PlanJson {
            workers_planned: if d.subplan_gather { d.workers_planned } else { r.workers_planned },
            parallel: r.parallel || d.subplan_gather,
            reasons: &r.reasons,
            serial_total_cost: round2(r.serial_total_cost),
            parallel_total_cost: r.parallel_total_cost.map(round2),
            workers_launched: if d.subplan_gather { d.workers_launched } else { r.workers_launched },
            single_copy: r.single_copy,
            explain_hidden: r.explain_hidden,
            pinned: r.pinned,
            chosen_total_cost: round2(r.costed.total),
            worker_calculation: &r.worker_calculation,
            launch_calculation: &r.launch_calculation,
            restricted_above_gather: &r.restricted_above_gather,
            subplans_hashed: &r.subplans_hashed,
            subplan_workers_planned: &r.subplan_workers_planned,
            plan: ExplainNode(&r.costed),
            serial_plan: ExplainNode(&r.serial_costed),
            parallel_plan: r.parallel_costed.as_ref().map(ExplainNode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AggMode, Node, Scenario, Table};

    #[test]
    fn contract_keys_first_and_explain_nodes() {
        let t = Table {
            name: "testpar".into(),
            rows: 98.0 * 1_048_576.0 / 36.0,
            width: 36.0,
            pages: 12_544.0,
            parallel_workers: None,
            index_pages: None,
            index: None,
            temporary: false,
            in_shared_buffers: None,
            buffers_in_order: None,
            buffer_windows: None,
            row_length_sd: None,
            row_stride_changes: None,
            columns: vec![],
        };
        let scan = Node::SeqScan { table: 0, parallel: false, filter: None, width: 36.0, output: vec![] };
        let plan = Node::Aggregate {
            mode: AggMode::Simple,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            input: Box::new(scan),
            output: vec![],
        };
        let sc = Scenario::build("t", vec![t], plan, &[]).unwrap();
        let d = crate::planner::decide(&sc);
        let j = serde_json::to_value(PlanJson::new(&d)).unwrap();
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(&keys[..5], ["workers_planned", "parallel", "reasons", "serial_total_cost", "parallel_total_cost"]);
        assert_eq!(j["plan"]["Node Type"], "Aggregate");
        assert_eq!(j["plan"]["Plans"][0]["Workers Planned"], 2);
        assert_eq!(j["plan"]["Plans"][0]["Plans"][0]["Plans"][0]["Relation Name"], "testpar");
    }
}
