//! The `EXPLAIN (ANALYZE)` of one simulated execution as a typed tree whose serialisation is
//! PostgreSQL's `EXPLAIN (ANALYZE, FORMAT JSON)` key names and order.

use crate::exec::compile::Breaker;
use crate::exec::{Compiled, ProcessResult, SimResult};
use crate::model::*;
use serde::Serialize;

const MS: f64 = 1e6;

fn ms(t: u64) -> f64 {
    t as f64 / MS
}

pub(crate) fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The document: PostgreSQL prints a one-element array of this.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explain {
    #[serde(rename = "Plan")]
    pub plan: PlanNode,
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
    #[serde(rename = "Relation Name", skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
    #[serde(rename = "Alias", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "Join Type", skip_serializing_if = "Option::is_none")]
    pub join_type: Option<String>,
    #[serde(rename = "Index Cond", skip_serializing_if = "Option::is_none")]
    pub index_cond: Option<String>,
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
    #[serde(rename = "Workers Planned", skip_serializing_if = "Option::is_none")]
    pub workers_planned: Option<u32>,
    #[serde(rename = "Workers Launched", skip_serializing_if = "Option::is_none")]
    pub workers_launched: Option<u32>,
    #[serde(rename = "Single Copy", skip_serializing_if = "Option::is_none")]
    pub single_copy: Option<bool>,
    #[serde(rename = "Hash Cond", skip_serializing_if = "Option::is_none")]
    pub hash_cond: Option<String>,
    #[serde(rename = "Filter", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(rename = "Rows Removed by Filter", skip_serializing_if = "Option::is_none")]
    pub rows_removed_by_filter: Option<i64>,
    #[serde(rename = "Sort Key", skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<Vec<String>>,
    #[serde(flatten)]
    pub sort_space: Option<SortSpace>,
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
        let mut name = match (self.node_type, self.partial_mode) {
            ("Aggregate", Some("Partial")) => "Partial Aggregate".to_string(),
            ("Aggregate", Some("Finalize")) => "Finalize Aggregate".to_string(),
            (t, _) => t.to_string(),
        };
        if self.parallel_aware {
            name = format!("Parallel {name}");
        }
        if let Some(rel) = &self.relation_name {
            name = format!("{name} on {rel}");
        }
        name
    }
}

/// Per-participant actuals of one node.
#[derive(Debug, Clone, Default)]
struct Actual {
    startup: f64,
    total: f64,
    rows: f64,
}

struct Ctx<'a> {
    sc: &'a Scenario,
    c: &'a Compiled,
    r: &'a SimResult,
}

fn node_type(n: &Node) -> (&'static str, bool) {
    match n {
        Node::SeqScan { parallel, .. } => ("Seq Scan", *parallel),
        Node::IndexScan { parallel, .. } => ("Index Scan", *parallel),
        Node::Aggregate { .. } => ("Aggregate", false),
        Node::Sort { .. } => ("Sort", false),
        Node::Limit { .. } => ("Limit", false),
        Node::Gather { .. } => ("Gather", false),
        Node::GatherMerge { .. } => ("Gather Merge", false),
        Node::HashJoin { parallel, .. } => ("Hash Join", *parallel),
        Node::NestedLoop { .. } => ("Nested Loop", false),
    }
}

/// Output rows per tuple of the driving (outer-most) scan, for streaming nodes.
fn stream_factor(n: &Node) -> f64 {
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => filter.as_ref().map_or(1.0, |f| f.selectivity),
        Node::HashJoin { outer, rows_per_outer, .. } | Node::NestedLoop { outer, rows_per_outer, .. } => {
            stream_factor(outer) * rows_per_outer
        }
        _ => 1.0,
    }
}

/// Rows a participant's subtree `n` returns given the tuples it scanned.
fn part_rows(n: &Node, p: &ProcessResult, bound: Option<f64>) -> f64 {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } | Node::HashJoin { .. } | Node::NestedLoop { .. } => {
            let r = p.tuples_scanned * stream_factor(n);
            bound.map_or(r, |b| r.min(b))
        }
        Node::Aggregate { groups, input, .. } => {
            let inp = part_rows(input, p, None);
            if inp > 0.0 {
                groups.min(inp.max(1.0))
            } else {
                1.0_f64.min(*groups)
            }
        }
        Node::Sort { input, .. } => {
            let r = part_rows(input, p, None);
            bound.map_or(r, |b| r.min(b))
        }
        Node::Limit { count, input } => part_rows(input, p, Some(*count)).min(*count),
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => part_rows(input, p, bound),
    }
}

impl Ctx<'_> {
    fn participants(&self) -> Vec<&ProcessResult> {
        if self.r.subplan_gather.is_some() {
            // The main plan ran in the leader alone, after the SubPlan's Gather.
            return vec![&self.r.processes[0]];
        }
        self.r.processes.iter().filter(|p| p.participated).collect()
    }

    /// A node below the Gather (or the whole serial plan): per-participant actuals.
    fn below(&self, n: &Node, depth_in_chain: usize, inner: bool) -> Vec<Actual> {
        let bound = self.c.worker.bound;
        self.participants()
            .into_iter()
            .map(|p| {
                let t0 = p.ms.plan_start.map_or(0.0, ms);
                let rel = |t: Option<u64>| t.map_or(0.0, |t| (ms(t) - t0).max(0.0));
                let send_scan = p.ms.send_wait_at_scan_end / MS;
                let send_done = p.ms.send_wait_at_done / MS;
                let scan_end = rel(p.ms.scan_end.or(p.ms.done)) - send_scan;
                let done = rel(p.ms.done.or(p.ms.scan_end)) - send_done;
                let builds_end = p.ms.builds_end.last().map_or(0.0, |t| ms(*t) - t0);
                let first = rel(p.ms.first_tuple);
                if inner {
                    let rows = p.build_tuples.last().copied().unwrap_or(0.0)
                        * match n {
                            Node::SeqScan { filter, .. } => filter.as_ref().map_or(1.0, |f| f.selectivity),
                            _ => 1.0,
                        };
                    return Actual { startup: builds_end.max(0.0), total: builds_end.max(0.0), rows };
                }
                let breaker_end =
                    || p.ms.breakers_end.get(depth_in_chain).map_or(scan_end, |t| ms(*t) - t0 - send_scan);
                let (startup, total) = match n {
                    Node::SeqScan { .. } | Node::IndexScan { .. } | Node::HashJoin { .. } | Node::NestedLoop { .. } => {
                        (first.max(0.0), scan_end.max(first))
                    }
                    Node::Sort { .. } | Node::Aggregate { .. } => {
                        let end = breaker_end();
                        (end.max(0.0), done.max(end))
                    }
                    _ => (first.max(0.0), done.max(0.0)),
                };
                Actual { startup, total, rows: part_rows(n, p, bound) }
            })
            .collect()
    }
}

fn base_node(n: &Node, sc: &Scenario, parent_rel: Option<&'static str>) -> PlanNode {
    let (ty, parallel) = node_type(n);
    let mut o =
        PlanNode { node_type: ty, parallel_aware: parallel, parent_relationship: parent_rel, ..Default::default() };
    if let Node::Aggregate { mode, groups, .. } = n {
        o.strategy = Some(if *groups > 1.0 { "Hashed" } else { "Plain" });
        o.partial_mode = Some(match mode {
            AggMode::Simple => "Simple",
            AggMode::Partial => "Partial",
            AggMode::Finalize => "Finalize",
        });
    }
    o.async_capable = Some(false);
    match n {
        Node::SeqScan { table, .. } | Node::IndexScan { table, .. } => {
            o.relation_name = Some(sc.tables[*table].name.clone());
            o.alias = Some(sc.tables[*table].name.clone());
        }
        Node::HashJoin { join_type, .. } | Node::NestedLoop { join_type, .. } => {
            o.join_type = Some(join_type.name().to_string());
        }
        _ => {}
    }
    o.plan_width = Some(n.width().round() as i64);
    o
}

fn put_actual(o: &mut PlanNode, acts: &[Actual]) {
    let loops = acts.len().max(1) as f64;
    let s = acts.iter().map(|a| a.startup).sum::<f64>() / loops;
    let t = acts.iter().map(|a| a.total).sum::<f64>() / loops;
    let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
    o.actual_startup_time = Some(r3(s));
    o.actual_total_time = Some(r3(t.max(s)));
    o.actual_rows = rows.round() as i64;
    o.actual_loops = acts.len() as i64;
}

fn worker_entries(parts: &[&ProcessResult], acts: &[Actual]) -> Vec<WorkerActual> {
    parts
        .iter()
        .zip(acts)
        .filter_map(|(p, a)| {
            p.worker_number.map(|w| WorkerActual {
                worker_number: w,
                actual_startup_time: r3(a.startup),
                actual_total_time: r3(a.total.max(a.startup)),
                actual_rows: a.rows.round() as i64,
                actual_loops: 1,
                sort_space: None,
            })
        })
        .collect()
}

fn filter_keys(o: &mut PlanNode, f: &Option<Filter>, acts: &[Actual], ctx: &Ctx) {
    if let Some(f) = f {
        if !f.text.is_empty() {
            o.filter = Some(f.text.clone());
        }
        let loops = acts.len().max(1) as f64;
        let scanned: f64 = ctx.participants().iter().map(|p| p.tuples_scanned).sum::<f64>() / loops;
        let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
        o.rows_removed_by_filter = Some((scanned - rows).max(0.0).round() as i64);
    }
}

/// `SubPlan 1 -> Gather -> Parallel Seq Scan`: the subquery's own parallel plan.
fn subplan_gather(ctx: &Ctx, sp: &SubPlan, g: &crate::exec::sim::SubPlanGather) -> PlanNode {
    let t = &ctx.sc.tables[sp.table];
    let r = ctx.r;
    let mut parts: Vec<&ProcessResult> = vec![];
    if g.leader.participated {
        parts.push(&g.leader);
    }
    parts.extend(r.processes.iter().skip(1).filter(|p| p.participated));
    let acts: Vec<Actual> = parts
        .iter()
        .map(|p| {
            let t0 = p.ms.plan_start.map_or(0.0, ms);
            let end = p.ms.scan_end.or(p.ms.done).map_or(0.0, |t| ms(t) - t0) - p.ms.send_wait_at_scan_end / MS;
            Actual {
                startup: p.ms.first_tuple.map_or(0.0, |t| ms(t) - t0).max(0.0),
                total: end.max(0.0),
                rows: p.tuples_scanned * if t.rows > 0.0 { sp.rows / t.rows } else { 0.0 },
            }
        })
        .collect();
    let mut scan = PlanNode {
        node_type: "Seq Scan",
        parent_relationship: Some("Outer"),
        parallel_aware: true,
        async_capable: Some(false),
        relation_name: Some(t.name.clone()),
        alias: Some(t.name.clone()),
        plan_width: Some(sp.width.round() as i64),
        ..Default::default()
    };
    put_actual(&mut scan, &acts);
    scan.workers = worker_entries(&parts, &acts);
    PlanNode {
        node_type: "Gather",
        parent_relationship: Some("SubPlan"),
        subplan_name: Some("SubPlan 1".into()),
        parallel_aware: false,
        async_capable: Some(false),
        plan_width: Some(sp.width.round() as i64),
        actual_startup_time: Some(r3(g.first_row.map_or(0.0, ms))),
        actual_total_time: Some(r3(g.end.map_or(0.0, ms))),
        actual_rows: g.gather_rows.round() as i64,
        actual_loops: 1,
        workers_planned: Some(sp.gather_workers.unwrap_or(0)),
        workers_launched: Some(r.workers_launched),
        single_copy: Some(false),
        plans: vec![scan],
        ..Default::default()
    }
}

/// `SubPlan 1 -> Seq Scan`: the serial subquery, hashed once per participant.
fn subplan_serial(ctx: &Ctx, sp: &SubPlan) -> PlanNode {
    let t = &ctx.sc.tables[sp.table];
    let mut s = PlanNode {
        node_type: "Seq Scan",
        parent_relationship: Some("SubPlan"),
        subplan_name: Some("SubPlan 1".into()),
        parallel_aware: false,
        relation_name: Some(t.name.clone()),
        alias: Some(t.name.clone()),
        ..Default::default()
    };
    let b: Vec<Actual> = ctx
        .participants()
        .iter()
        .map(|p| {
            let t0 = p.ms.plan_start.map_or(0.0, ms);
            Actual {
                startup: 0.01,
                total: p.ms.builds_end.first().map_or(0.0, |t| ms(*t) - t0),
                rows: p.build_tuples.first().copied().unwrap_or(0.0),
            }
        })
        .collect();
    put_actual(&mut s, &b);
    s
}

/// Sort Method of the node (first participant) and of each worker, from the rows each sorted.
fn sort_spaces(ctx: &Ctx, input: &Node) -> Option<(SortSpace, Vec<(u32, SortSpace)>)> {
    let b = ctx.c.worker.breakers.iter().find(|b| matches!(b, Breaker::Sort { .. }))?;
    let mut node = None;
    let mut workers = vec![];
    for p in ctx.participants() {
        let n = part_rows(input, p, None);
        let (m, kb, ty) = crate::exec::compile::sort_method(&ctx.sc.settings, b, n);
        let s = SortSpace { method: m, space_kb: kb as i64, space_type: ty };
        if node.is_none() {
            node = Some(s.clone());
        }
        if let Some(w) = p.worker_number {
            workers.push((w, s));
        }
    }
    node.map(|n| (n, workers))
}

/// Build the node below the Gather (or the serial plan).
fn below_node(ctx: &Ctx, n: &Node, breaker_depth: usize, parent_rel: Option<&'static str>, inner: bool) -> PlanNode {
    let mut o = base_node(n, ctx.sc, parent_rel);
    let acts = ctx.below(n, breaker_depth, inner);
    put_actual(&mut o, &acts);
    let mut plans = vec![];
    let mut worker_sorts = vec![];
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
            if !inner {
                filter_keys(&mut o, filter, &acts, ctx);
            }
            if let Some(sp) = filter.as_ref().and_then(|f| f.subplan.as_ref()) {
                plans.push(match ctx.r.subplan_gather.as_ref() {
                    Some(g) => subplan_gather(ctx, sp, g),
                    None => subplan_serial(ctx, sp),
                });
            }
        }
        Node::HashJoin { outer, inner: inn, cond, .. } => {
            if !cond.is_empty() {
                o.hash_cond = Some(cond.clone());
            }
            plans.push(below_node(ctx, outer, breaker_depth, Some("Outer"), false));
            let mut h = PlanNode {
                node_type: "Hash",
                parent_relationship: Some("Inner"),
                parallel_aware: node_type(n).1,
                ..Default::default()
            };
            put_actual(&mut h, &ctx.below(inn, 0, true));
            h.plans = vec![below_node(ctx, inn, 0, Some("Outer"), true)];
            plans.push(h);
        }
        Node::NestedLoop { outer, inner_table, cond, rows_per_outer, .. } => {
            plans.push(below_node(ctx, outer, breaker_depth, Some("Outer"), false));
            let t = &ctx.sc.tables[*inner_table];
            let outer_rows: f64 =
                ctx.participants().iter().map(|p| p.tuples_scanned * stream_factor(outer)).sum::<f64>();
            plans.push(PlanNode {
                node_type: "Index Scan",
                parent_relationship: Some("Inner"),
                parallel_aware: false,
                relation_name: Some(t.name.clone()),
                alias: Some(t.name.clone()),
                index_cond: Some(cond.clone()),
                actual_rows: rows_per_outer.round() as i64,
                actual_loops: outer_rows.round() as i64,
                ..Default::default()
            });
        }
        Node::Sort { input, keys } => {
            o.sort_key = Some(keys.clone());
            if let Some((node, ws)) = sort_spaces(ctx, input) {
                o.sort_space = Some(node);
                worker_sorts = ws;
            }
            plans.push(below_node(ctx, input, breaker_depth.saturating_sub(1), Some("Outer"), false));
        }
        Node::Aggregate { input, .. } => {
            plans.push(below_node(ctx, input, breaker_depth.saturating_sub(1), Some("Outer"), false));
        }
        Node::Limit { input, .. } | Node::Gather { input, .. } | Node::GatherMerge { input, .. } => {
            plans.push(below_node(ctx, input, breaker_depth, Some("Outer"), false))
        }
    }
    if !inner {
        o.workers = worker_entries(&ctx.participants(), &acts);
    }
    // PostgreSQL lists each worker's Sort Method inside its "Workers" entry.
    for w in o.workers.iter_mut() {
        w.sort_space = worker_sorts.iter().find(|(n, _)| *n == w.worker_number).map(|(_, s)| s.clone());
    }
    o.plans = plans;
    o
}

fn breakers_below(n: &Node) -> usize {
    match n {
        Node::Sort { input, .. } | Node::Aggregate { input, .. } => 1 + breakers_below(input),
        Node::Limit { input, .. } => breakers_below(input),
        _ => 0,
    }
}

/// A node at or above the Gather, run by the leader alone.
fn above_node(ctx: &Ctx, n: &Node, parent_rel: Option<&'static str>) -> PlanNode {
    let r = ctx.r;
    let mut o = base_node(n, ctx.sc, parent_rel);
    let end = ms(r.wall);
    o.actual_loops = 1;
    match n {
        Node::Gather { workers, input, .. } | Node::GatherMerge { workers, input } => {
            o.actual_startup_time = Some(r3(r.gather_first_row.map_or(0.0, ms)));
            o.actual_total_time = Some(r3(r.gather_end.map_or(end, ms)));
            o.actual_rows = r.gather_rows.round() as i64;
            o.workers_planned = Some(workers.unwrap_or(0));
            o.workers_launched = Some(r.workers_launched);
            if let Node::Gather { single_copy, .. } = n {
                o.single_copy = Some(*single_copy);
            }
            let depth = breakers_below(input).saturating_sub(1);
            o.plans = vec![below_node(ctx, input, depth, Some("Outer"), false)];
        }
        _ => {
            let rows_out = match n {
                Node::Limit { count, .. } => r.result_rows.min(*count),
                _ => r.result_rows.max(if matches!(n, Node::Aggregate { .. }) { 1.0 } else { 0.0 }),
            };
            let start = match n {
                Node::Limit { .. } => r.gather_first_row.map_or(end, ms),
                _ => r.gather_end.map_or(end, ms),
            };
            o.actual_startup_time = Some(r3(start.min(end)));
            o.actual_total_time = Some(r3(end));
            o.actual_rows = rows_out.round() as i64;
            if let Node::Sort { keys, .. } = n {
                o.sort_key = Some(keys.clone());
            }
            o.plans = vec![above_node(ctx, n.children()[0], Some("Outer"))];
        }
    }
    o
}

/// The `EXPLAIN (ANALYZE)` document of one simulated execution.
pub fn explain(sc: &Scenario, plan: &Node, c: &Compiled, r: &SimResult) -> Explain {
    let ctx = Ctx { sc, c, r };
    let root = if plan.find_gather().is_some() {
        above_node(&ctx, plan, None)
    } else {
        below_node(&ctx, plan, breakers_below(plan).saturating_sub(1), None, false)
    };
    Explain { plan: root, planning_time: 0.2, triggers: vec![], execution_time: r3(ms(r.wall)) }
}
