//! `import --costs-from-actuals`: this query's per-node costs on the machine that ran it, from
//! the actual times of its `EXPLAIN ANALYZE`.
//!
//! With TIMING ON, a node's own time is its `Actual Total Time` × `Actual Loops` (per-loop
//! averages over all participants, so the product is the time summed over processes) less
//! its children's (SubPlans and InitPlans included: they run inside the node). The clock
//! reads EXPLAIN ANALYZE adds are taken out: every call of a child node is bracketed by two
//! clock reads (instrument.c `InstrStartNode`/`InstrStopNode`), which land in the parent's
//! time, so the parent loses `instrument_ns` × the child's calls (rows + 1 per loop; a Hash is
//! called once per loop). The profile's `instrument_ns` is the price of one such pair on the
//! measuring machine.
//!
//! Each node's clean time is then divided by the model's own cost of that node on the
//! measuring profile ([`crate::exec::measured`]): the factor keeps the model's split between a
//! scan's pages and rows (or a sort's rows and comparisons) and gives prices in ns per unit.
//! Nodes the model does not keep (Result, Subquery Scan, Materialize, Memoize, Limit) give
//! their time to the node below them; a Hash's goes to its join's build, a SubPlan's subtree
//! to its scan's build, a Nested Loop's inner side to the loop. Gather / Gather Merge and a
//! Finalize Aggregate keep the profile's costs (their time is waiting and merging, modelled).
//!
//! With TIMING OFF only the Execution Time is known: it is spread over the nodes in the
//! proportion of their model costs (one factor for all).

use super::text::output_list;
use crate::error::{Error, Result};
use crate::exec::measured::{node_models, total, Field, NodeModel, Part};
use crate::exec::{Env, RunSpec};
use crate::model::measured::{aggregate_key, MeasuredCosts, NodeCost};
use crate::model::{Hardware, OutputMode, Scenario};
use crate::pg::{ExplainNode, ExplainPlan};
use std::collections::BTreeMap;

/// The derived costs, with where each came from.
#[derive(Debug, Clone)]
pub struct Derived {
    pub costs: MeasuredCosts,
    /// Per node key: how its numbers were obtained (for the scenario's comments).
    pub sources: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub execution_ms: f64,
    /// Clock-read overhead taken out (TIMING ON), ms.
    pub overhead_ms: f64,
}

/// Where a node's time goes: a model node's own work or its build.
type Target = (String, bool);

/// The model's parts of each node by key: (own work, build).
type Models = BTreeMap<String, (Vec<Part>, Vec<Part>)>;

/// The key an EXPLAIN node maps to (see `model::measured::node_key`), if the model keeps it.
fn explain_key(n: &ExplainNode) -> Option<String> {
    let rel = n.relation_name.clone().unwrap_or_default();
    match n.node_type.as_str() {
        "Seq Scan" => Some(format!("Seq Scan on {rel}")),
        "Index Scan" | "Index Only Scan" => Some(format!("Index Scan on {rel}")),
        "Aggregate" if n.partial_mode.as_deref() == Some("Finalize") => None,
        "Aggregate" => Some(aggregate_key(&output_list(n).unwrap_or_default())),
        "Sort" | "Incremental Sort" => Some(format!("Sort: {}", n.sort_key.join(", "))),
        "Hash Join" => Some(format!("Hash Join: {}", n.hash_cond.clone().unwrap_or_default())),
        "Nested Loop" => {
            let mut inner = n.plans.iter().find(|c| c.parent_relationship.as_deref() == Some("Inner"))?;
            while matches!(inner.node_type.as_str(), "Memoize" | "Materialize") && inner.plans.len() == 1 {
                inner = &inner.plans[0];
            }
            Some(format!(
                "Nested Loop on {}: {}",
                inner.relation_name.clone().unwrap_or_default(),
                inner.index_cond.clone().unwrap_or_default()
            ))
        }
        _ => None,
    }
}

fn is_side(c: &ExplainNode) -> bool {
    matches!(c.parent_relationship.as_deref(), Some("SubPlan") | Some("InitPlan"))
}

/// Per-node times of a TIMING ON plan, clock reads taken out.
struct Walk<'a> {
    models: &'a Models,
    /// ms per instrumented call (two clock reads).
    instr_ms: f64,
    acc: BTreeMap<Target, f64>,
    overhead_ms: f64,
    /// Time of nodes whose work stays the profile's (Gather, Finalize Aggregate, ...).
    left_ms: f64,
    negative: Vec<String>,
}

fn span_ms(n: &ExplainNode) -> f64 {
    n.actual_total_time.unwrap_or(0.0) * n.actual_loops.unwrap_or(0) as f64
}

/// The calls of every node of the plan under EXPLAIN ANALYZE ([`calls`] summed over the tree):
/// how many times its wrapper ran.
pub fn node_calls(n: &ExplainNode) -> f64 {
    calls(n) + n.plans.iter().map(node_calls).sum::<f64>()
}

fn calls(n: &ExplainNode) -> f64 {
    let loops = n.actual_loops.unwrap_or(0) as f64;
    if n.node_type == "Hash" {
        loops
    } else {
        (n.actual_rows.unwrap_or(0.0) + 1.0) * loops
    }
}

impl Walk<'_> {
    fn keyed(&self, n: &ExplainNode) -> Option<String> {
        explain_key(n).filter(|k| self.models.contains_key(k))
    }

    /// The first node the model keeps below a pass-through node (one input only).
    fn below(&self, n: &ExplainNode) -> Option<String> {
        let main: Vec<&ExplainNode> = n.plans.iter().filter(|c| !is_side(c)).collect();
        match main.as_slice() {
            [one] => self.keyed(one).or_else(|| self.below(one)),
            _ => None,
        }
    }

    fn visit(&mut self, n: &ExplainNode, forced: Option<&Target>, parent: Option<&Target>) {
        let own = self.keyed(n);
        let target: Option<Target> = match (forced, n.node_type.as_str()) {
            (Some(t), _) => Some(t.clone()),
            (None, "Hash") => parent.map(|(k, _)| (k.clone(), true)),
            _ => own.clone().or_else(|| self.below(n)).or_else(|| parent.map(|(k, _)| k.clone())).map(|k| (k, false)),
        };
        let children_ms: f64 = n.plans.iter().map(span_ms).sum();
        let clocks = self.instr_ms * n.plans.iter().map(calls).sum::<f64>();
        let clean = span_ms(n) - children_ms - clocks;
        self.overhead_ms += clocks;
        let modelled_elsewhere = matches!(n.node_type.as_str(), "Gather" | "Gather Merge")
            || (n.node_type == "Aggregate" && n.partial_mode.as_deref() == Some("Finalize"));
        if clean < 0.0 && !modelled_elsewhere {
            self.negative.push(format!("{} ({clean:.3} ms)", n.display_name()));
        }
        match &target {
            Some(t) if !modelled_elsewhere => *self.acc.entry(t.clone()).or_insert(0.0) += clean.max(0.0),
            _ => self.left_ms += clean.max(0.0),
        }
        let own_target = own.map(|k| (k, false));
        for c in &n.plans {
            let rel = c.parent_relationship.as_deref();
            let sub_forced: Option<Target> = if let Some(f) = forced {
                Some(f.clone())
            } else if rel == Some("SubPlan") {
                target.as_ref().map(|(k, _)| (k.clone(), true))
            } else if rel == Some("InitPlan") {
                target.clone()
            } else if n.node_type == "Nested Loop" && rel == Some("Inner") {
                own_target.clone()
            } else {
                None
            };
            let p = if n.node_type == "Hash Join" { own_target.as_ref() } else { target.as_ref() };
            self.visit(c, sub_forced.as_ref(), p);
        }
    }
}

/// Merge the model's nodes by key (a key seen twice adds up).
fn merged(models: Vec<NodeModel>) -> (Vec<String>, Models) {
    let mut order = vec![];
    let mut map: Models = BTreeMap::new();
    for m in models {
        if !map.contains_key(&m.key) {
            order.push(m.key.clone());
        }
        let e = map.entry(m.key).or_default();
        e.0.extend(m.main);
        e.1.extend(m.build);
    }
    (order, map)
}

/// A node's parts as priced from a measured time: the model's, or, where the model prices the
/// node at 0 (a profile key held at 0), one ns per unit of its first counted field, so that the
/// measured time still becomes a price.
fn effective(parts: &[Part]) -> Vec<Part> {
    if total(parts) > 0.0 {
        return parts.to_vec();
    }
    match parts.iter().find(|p| p.amount > 0.0) {
        Some(first) => vec![Part { ns: 1.0, ..*first }],
        None => vec![],
    }
}

/// The amount-weighted price of one field over some parts, times `f` (a built row's price
/// includes its hash-table insert).
fn price(parts: &[Part], field: Field, f: f64) -> Option<f64> {
    let counted = |p: &&Part| p.field == field || (field == Field::BuildRow && p.field == Field::BuildInsert);
    let amount: f64 = parts.iter().filter(|p| p.field == field).map(|p| p.amount).sum();
    let ns: f64 = parts.iter().filter(counted).map(|p| p.amount * p.ns).sum();
    (amount > 0.0).then(|| super::fields::sig6(ns / amount * f))
}

/// A hashed SubPlan fills its hash table inside the scan that runs it (nodeSubplan.c
/// `buildSubPlanHash`), so the inserts are timed in the scan, not in the SubPlan's nodes. Move
/// the model's share of them, at the SubPlan's measured-over-model factor, from the scan's own
/// time to its build: every participant builds its own table, while the scan's rows are shared.
fn move_subplan_inserts(acc: &mut BTreeMap<Target, f64>, key: &str, build: &[Part]) {
    let insert: f64 = build.iter().filter(|p| p.field == Field::BuildInsert).map(|p| p.amount * p.ns).sum();
    let scan: f64 = build.iter().filter(|p| p.field == Field::BuildRow).map(|p| p.amount * p.ns).sum();
    let (Some(&built), Some(&main)) = (acc.get(&(key.to_string(), true)), acc.get(&(key.to_string(), false))) else {
        return;
    };
    if insert <= 0.0 || scan <= 0.0 {
        return;
    }
    let moved = (insert * built / scan).min(0.8 * main);
    acc.insert((key.to_string(), false), main - moved);
    acc.insert((key.to_string(), true), built + moved);
}

/// The model's serial time of the scenario on `hw` with TIMING OFF, ms.
fn model_ms(sc: &Scenario, hw: &Hardware, workers: u32) -> Result<f64> {
    let mut s = sc.clone();
    s.output = OutputMode::ExplainAnalyzeTimingOff;
    s.measured = None;
    let mut spec = RunSpec::new(&s, hw, &s.plan, workers, workers, 1);
    spec.measured = None;
    let (_, r) = crate::exec::simulate(&spec).map_err(Error::from)?;
    Ok(r.wall as f64 / 1e6)
}

/// Derive the query's per-node costs from `plan`'s actuals, on the machine `hw` describes.
pub fn derive(plan: &ExplainPlan, sc: &Scenario, hw: &Hardware) -> Result<Derived> {
    if plan.root.actual_loops.is_none() {
        return Err(Error::input(
            "--costs-from-actuals needs the output of EXPLAIN (ANALYZE, FORMAT JSON): this plan has no actual rows or times",
        ));
    }
    let sc = sc.with_hardware_settings(hw);
    let timing = plan.root.actual_total_time.is_some();
    let workers = sc.plan.find_gather().map_or(0, |g| match g {
        crate::model::Node::Gather { workers, .. } | crate::model::Node::GatherMerge { workers, .. } => {
            workers.unwrap_or(0)
        }
        _ => 0,
    });
    // The nodes' own work, without EXPLAIN ANALYZE's wrapper around their calls: the
    // simulation adds that by how it is measured (the TIMING ON walk takes it out of the
    // actuals; the TIMING OFF spread leaves it in what the nodes do not carry).
    let mut bare = hw.clone();
    bare.costs.instrument_call_ns = 0.0;
    let env = Env {
        tables: &sc.tables,
        settings: &sc.settings,
        hw: &bare,
        output: OutputMode::ExplainAnalyzeTimingOff,
        workers_planned: workers,
        measured: None,
    };
    let (order, mut models) = merged(node_models(&env, &sc.plan));
    if timing {
        for (main, build) in models.values_mut() {
            *main = effective(main);
            *build = effective(build);
        }
    }
    let execution_ms = plan.execution_time_ms.unwrap_or_else(|| span_ms(&plan.root));
    let mut warnings = vec![];
    let mut sources = BTreeMap::new();
    let mut nodes = vec![];
    let mut overhead_ms = 0.0;
    let node_cost = |key: &str, main_f: Option<f64>, build_f: Option<f64>| {
        let (main, build) = &models[key];
        NodeCost {
            node: key.to_string(),
            row_ns: main_f.and_then(|f| price(main, Field::Row, f)),
            page_ns: main_f.and_then(|f| price(main, Field::Page, f)),
            cmp_ns: main_f.and_then(|f| price(main, Field::Cmp, f)),
            build_row_ns: build_f.and_then(|f| price(build, Field::BuildRow, f)),
        }
    };
    if timing {
        let instr_ms = (hw.costs.instrument_ns + hw.costs.instrument_call_ns) / hw.cpu_speed / 1e6;
        let mut w =
            Walk { models: &models, instr_ms, acc: BTreeMap::new(), overhead_ms: 0.0, left_ms: 0.0, negative: vec![] };
        w.visit(&plan.root, None, None);
        overhead_ms = w.overhead_ms;
        if !w.negative.is_empty() {
            warnings.push(format!(
                "after taking out the clock reads ({:.0} ns each pair, the profile's instrument_ns) these nodes' own times were negative and count as 0: {}",
                hw.costs.instrument_ns,
                w.negative.join(", ")
            ));
        }
        for key in &order {
            let (main, build) = &models[key];
            move_subplan_inserts(&mut w.acc, key, build);
            let f = |build_side: bool, parts: &[Part]| -> Option<f64> {
                let ms = *w.acc.get(&(key.clone(), build_side))?;
                let model = total(parts) / 1e6;
                (model > 0.0).then(|| ms / model)
            };
            let (mf, bf) = (f(false, main), f(true, build));
            if mf.is_none() && bf.is_none() {
                warnings.push(format!("{key}: no own time or no rows measured for it: the profile's class costs stay"));
                continue;
            }
            let ms = |b: bool| w.acc.get(&(key.clone(), b)).copied().unwrap_or(0.0);
            sources.insert(
                key.clone(),
                format!(
                    "own time {:.3} ms{} (Actual Total Time x Loops less children and their clock reads) = {:.3} x the model's class costs",
                    ms(false),
                    if bf.is_some() { format!(", build {:.3} ms", ms(true)) } else { String::new() },
                    mf.or(bf).unwrap_or(0.0)
                ),
            );
            nodes.push(node_cost(key, mf, bf));
        }
        if w.left_ms > 0.0 {
            warnings.push(format!(
                "{:.3} ms in Gather / Gather Merge / Finalize Aggregate nodes stay the profile's costs (waiting and merging are modelled)",
                w.left_ms
            ));
        }
    } else {
        let all: f64 = models.values().map(|(m, b)| total(m) + total(b)).sum::<f64>() / 1e6;
        let sim = model_ms(&sc, hw, workers)?;
        let rest = (sim - all).max(0.0);
        let mut f = if all > 0.0 { (execution_ms - rest) / all } else { 0.0 };
        if f <= 0.0 && sim > 0.0 {
            f = execution_ms / sim;
        }
        warnings.push(format!(
            "TIMING OFF: only the Execution Time ({execution_ms:.3} ms) is known; it is spread over the nodes by the model's class costs (x{f:.3} each)"
        ));
        for key in &order {
            sources.insert(
                key.clone(),
                format!("TIMING OFF: Execution Time spread by the model's class costs, {f:.3} x the class costs"),
            );
            nodes.push(node_cost(key, Some(f), Some(f)));
        }
    }
    let costs = MeasuredCosts {
        profile: hw.name.clone(),
        cpu_speed: super::fields::sig6(hw.cpu_speed),
        per_node_times: timing,
        nodes,
    };
    Ok(Derived { costs, sources, warnings, execution_ms, overhead_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{import_plan, ImportOptions};

    fn hw(instrument_ns: f64) -> Hardware {
        let src = crate::config::hardware_source("reference-2vcpu").unwrap();
        let mut hw = crate::config::load_hardware_str(&src.label, &src.text, &[]).unwrap();
        hw.costs.instrument_ns = instrument_ns;
        hw
    }

    fn node(kind: &str, extra: &str, total_ms: f64, rows: f64, plans: &[String]) -> String {
        let plans = if plans.is_empty() { String::new() } else { format!(", \"Plans\": [{}]", plans.join(", ")) };
        format!(
            "{{\"Node Type\": \"{kind}\", {extra} \"Startup Cost\": 0, \"Total Cost\": 100, \"Plan Rows\": {rows}, \
             \"Plan Width\": 8, \"Actual Startup Time\": 0, \"Actual Total Time\": {total_ms}, \"Actual Rows\": {rows}, \
             \"Actual Loops\": 1{plans}}}"
        )
    }

    /// Aggregate > Result > Hash Join (Seq Scan a ; Hash > Seq Scan b), 100 ms in all.
    fn plan() -> ExplainPlan {
        let scan = |rel: &str, rel_kind: &str, ms: f64, rows: f64| {
            node(
                "Seq Scan",
                &format!("\"Parent Relationship\": \"{rel_kind}\", \"Relation Name\": \"{rel}\", \"Shared Hit Blocks\": 100,"),
                ms,
                rows,
                &[],
            )
        };
        let hash = node("Hash", "\"Parent Relationship\": \"Inner\",", 25.0, 500.0, &[scan("b", "Outer", 20.0, 500.0)]);
        let join = node(
            "Hash Join",
            "\"Parent Relationship\": \"Outer\", \"Join Type\": \"Inner\", \"Hash Cond\": \"(a.x = b.y)\",",
            90.0,
            1000.0,
            &[scan("a", "Outer", 30.0, 1000.0), hash],
        );
        let result = node("Result", "\"Parent Relationship\": \"Outer\",", 94.0, 1000.0, &[join]);
        let agg = node(
            "Aggregate",
            "\"Strategy\": \"Plain\", \"Partial Mode\": \"Simple\", \"Output\": [\"count(*)\"],",
            100.0,
            1.0,
            &[result],
        );
        ExplainPlan::from_json(&format!("[{{\"Plan\": {agg}, \"Execution Time\": 100.5}}]")).unwrap()
    }

    fn derived(instrument_ns: f64) -> Derived {
        let p = plan();
        let sc = import_plan(&p, &ImportOptions::default()).unwrap().scenario;
        derive(&p, &sc, &hw(instrument_ns)).unwrap()
    }

    #[test]
    fn own_times_go_to_the_nodes_the_model_keeps() {
        let d = derived(0.0);
        let src = |k: &str| d.sources[k].clone();
        assert!(src("Aggregate: count(*)").starts_with("own time 6.000 ms"), "{}", src("Aggregate: count(*)"));
        // The Hash's own 5 ms is the join's build; the join's own 35 ms its probe.
        // The Result's own 4 ms goes to the node below it, the join.
        assert!(src("Hash Join: (a.x = b.y)").starts_with("own time 39.000 ms, build 5.000 ms"), "{:?}", d.sources);
        assert!(src("Seq Scan on a").starts_with("own time 30.000 ms"));
        assert!(src("Seq Scan on b").starts_with("own time 20.000 ms"));
        assert_eq!(d.overhead_ms, 0.0);
        for n in &d.costs.nodes {
            for v in [n.row_ns, n.page_ns, n.build_row_ns, n.cmp_ns].into_iter().flatten() {
                assert!(v > 0.0, "{n:?}");
            }
        }
    }

    #[test]
    fn clock_reads_of_child_calls_leave_the_parent() {
        // 100 ns a call: the Aggregate loses its child's 1001 calls (0.1001 ms), the join its
        // children's 1001 + 1 (the Hash: once per loop).
        let d = derived(100.0);
        assert!(d.sources["Aggregate: count(*)"].starts_with("own time 5.900 ms"), "{:?}", d.sources);
        assert!(d.sources["Hash Join: (a.x = b.y)"].starts_with("own time 38.800 ms"), "{:?}", d.sources);
        // Every call below the root: 1001 (Result) + 1001 (join) + 1001 (a) + 1 (Hash) + 501 (b).
        assert!((d.overhead_ms - 100.0 * 3505.0 / 1e6).abs() < 1e-9, "{}", d.overhead_ms);
    }
}

/// What does not match between a plan and costs measured on another plan of the same query
/// (`import --actuals`): measured nodes no node of the plan takes, and the plan's nodes no
/// measured cost prices (the profile's class costs price them). One warning each.
pub fn unmatched(sc: &Scenario, costs: &MeasuredCosts) -> Vec<String> {
    fn keys(n: &crate::model::Node, tables: &[crate::model::Table], out: &mut Vec<String>) {
        if let Some(k) = crate::model::measured::node_key(n, tables) {
            out.push(k);
        }
        for c in n.children() {
            keys(c, tables, out);
        }
    }
    let mut plan_keys = vec![];
    keys(&sc.plan, &sc.tables, &mut plan_keys);
    let mut w = vec![];
    for n in costs.nodes.iter().filter(|n| !plan_keys.contains(&n.node)) {
        w.push(format!("--actuals: measured node \"{}\" matches no node of this plan: not used", n.node));
    }
    for k in plan_keys.iter().filter(|k| !costs.nodes.iter().any(|n| &n.node == *k)) {
        w.push(format!(
            "--actuals: node \"{k}\" of this plan has no measured cost: the profile's class costs price it"
        ));
    }
    w
}
