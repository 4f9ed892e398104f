//! Results as people and tools read them: an `EXPLAIN (ANALYZE)`-shaped tree (text, and JSON
//! with PostgreSQL's key names), each process's time split, queue-full stalls, and the
//! `run --format json` object of the contract. Pure data transformation; the CLI writes it.

use crate::exec::{Compiled, ProcessResult, SimResult};
use crate::model::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

const MS: f64 = 1e6;

fn ms(t: u64) -> f64 {
    t as f64 / MS
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessSplit {
    pub role: &'static str,
    pub worker: Option<u32>,
    pub cpu_ms: f64,
    pub io_wait_ms: f64,
    pub mq_send_wait_ms: f64,
    pub mq_receive_wait_ms: f64,
    pub startup_ms: f64,
    pub barrier_wait_ms: f64,
    pub shutdown_wait_ms: f64,
    pub queue_full_stalls: f64,
    pub tuples_scanned: f64,
    pub rows_sent: f64,
}

pub fn process_splits(r: &SimResult) -> Vec<ProcessSplit> {
    r.processes
        .iter()
        .map(|p| ProcessSplit {
            role: if p.is_worker { "worker" } else { "leader" },
            worker: p.worker_number,
            cpu_ms: p.acct.cpu / MS,
            io_wait_ms: p.acct.io / MS,
            mq_send_wait_ms: p.acct.mq_send / MS,
            mq_receive_wait_ms: p.acct.mq_receive / MS,
            startup_ms: p.acct.startup / MS,
            barrier_wait_ms: p.acct.barrier / MS,
            shutdown_wait_ms: p.acct.shutdown / MS,
            queue_full_stalls: p.stalls as f64,
            tuples_scanned: p.tuples_scanned.round(),
            rows_sent: if p.is_worker { p.rows_out.round() } else { 0.0 },
        })
        .collect()
}

/// Mean of process splits over replications (same process layout in each).
pub fn mean_splits(all: &[Vec<ProcessSplit>]) -> Vec<ProcessSplit> {
    let n = all.len().max(1) as f64;
    let mut out = all[0].clone();
    for (i, p) in out.iter_mut().enumerate() {
        let col = |f: &dyn Fn(&ProcessSplit) -> f64| all.iter().filter_map(|r| r.get(i)).map(f).sum::<f64>() / n;
        p.cpu_ms = col(&|x| x.cpu_ms);
        p.io_wait_ms = col(&|x| x.io_wait_ms);
        p.mq_send_wait_ms = col(&|x| x.mq_send_wait_ms);
        p.mq_receive_wait_ms = col(&|x| x.mq_receive_wait_ms);
        p.startup_ms = col(&|x| x.startup_ms);
        p.barrier_wait_ms = col(&|x| x.barrier_wait_ms);
        p.shutdown_wait_ms = col(&|x| x.shutdown_wait_ms);
        p.queue_full_stalls = col(&|x| x.queue_full_stalls);
        p.tuples_scanned = col(&|x| x.tuples_scanned).round();
        p.rows_sent = col(&|x| x.rows_sent).round();
    }
    for p in out.iter_mut() {
        for v in [
            &mut p.cpu_ms,
            &mut p.io_wait_ms,
            &mut p.mq_send_wait_ms,
            &mut p.mq_receive_wait_ms,
            &mut p.startup_ms,
            &mut p.barrier_wait_ms,
            &mut p.shutdown_wait_ms,
        ] {
            *v = r3(*v);
        }
        p.queue_full_stalls = r2(p.queue_full_stalls);
    }
    out
}

// ------------------------------------------------------------------------- EXPLAIN

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
                    let _ = first;
                    return Actual { startup: builds_end.max(0.0), total: builds_end.max(0.0), rows };
                }
                let (startup, total) = match n {
                    Node::SeqScan { .. } | Node::IndexScan { .. } | Node::HashJoin { .. } | Node::NestedLoop { .. } => {
                        (first.max(0.0), scan_end.max(first))
                    }
                    Node::Sort { .. } => {
                        let sorted =
                            p.ms.breakers_end.get(depth_in_chain).map_or(scan_end, |t| ms(*t) - t0 - send_scan);
                        (sorted.max(0.0), done.max(sorted))
                    }
                    Node::Aggregate { .. } => {
                        let agg = p.ms.breakers_end.get(depth_in_chain).map_or(scan_end, |t| ms(*t) - t0 - send_scan);
                        (agg.max(0.0), done.max(agg))
                    }
                    _ => (first.max(0.0), done.max(0.0)),
                };
                Actual { startup, total, rows: part_rows(n, p, bound) }
            })
            .collect()
    }
}

fn base_obj(n: &Node, sc: &Scenario, parent_rel: Option<&str>) -> Map<String, Value> {
    let (ty, parallel) = node_type(n);
    let mut o = Map::new();
    o.insert("Node Type".into(), json!(ty));
    if let Node::Aggregate { mode, groups, .. } = n {
        o.insert("Strategy".into(), json!(if *groups > 1.0 { "Hashed" } else { "Plain" }));
        o.insert(
            "Partial Mode".into(),
            json!(match mode {
                AggMode::Simple => "Simple",
                AggMode::Partial => "Partial",
                AggMode::Finalize => "Finalize",
            }),
        );
    }
    if let Some(r) = parent_rel {
        o.insert("Parent Relationship".into(), json!(r));
    }
    o.insert("Parallel Aware".into(), json!(parallel));
    o.insert("Async Capable".into(), json!(false));
    match n {
        Node::SeqScan { table, .. } | Node::IndexScan { table, .. } => {
            o.insert("Relation Name".into(), json!(sc.tables[*table].name));
            o.insert("Alias".into(), json!(sc.tables[*table].name));
        }
        Node::HashJoin { join_type, .. } | Node::NestedLoop { join_type, .. } => {
            o.insert("Join Type".into(), json!(join_type));
        }
        _ => {}
    }
    o.insert("Plan Width".into(), json!(n.width().round() as i64));
    o
}

fn put_actual(o: &mut Map<String, Value>, acts: &[Actual]) {
    let loops = acts.len().max(1) as f64;
    let s = acts.iter().map(|a| a.startup).sum::<f64>() / loops;
    let t = acts.iter().map(|a| a.total).sum::<f64>() / loops;
    let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
    o.insert("Actual Startup Time".into(), json!(r3(s)));
    o.insert("Actual Total Time".into(), json!(r3(t.max(s))));
    o.insert("Actual Rows".into(), json!(rows.round() as i64));
    o.insert("Actual Loops".into(), json!(acts.len()));
}

fn put_workers(o: &mut Map<String, Value>, ctx: &Ctx, acts: &[Actual]) {
    let parts = ctx.participants();
    let mut ws = vec![];
    for (p, a) in parts.iter().zip(acts) {
        if let Some(w) = p.worker_number {
            ws.push(json!({
                "Worker Number": w,
                "Actual Startup Time": r3(a.startup),
                "Actual Total Time": r3(a.total.max(a.startup)),
                "Actual Rows": a.rows.round() as i64,
                "Actual Loops": 1
            }));
        }
    }
    if !ws.is_empty() {
        o.insert("Workers".into(), Value::Array(ws));
    }
}

fn filter_keys(o: &mut Map<String, Value>, f: &Option<Filter>, acts: &[Actual], ctx: &Ctx) {
    if let Some(f) = f {
        if !f.text.is_empty() {
            o.insert("Filter".into(), json!(f.text));
        }
        let loops = acts.len().max(1) as f64;
        let scanned: f64 = ctx.participants().iter().map(|p| p.tuples_scanned).sum::<f64>() / loops;
        let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
        o.insert("Rows Removed by Filter".into(), json!((scanned - rows).max(0.0).round() as i64));
    }
}

/// `SubPlan 1 -> Gather -> Parallel Seq Scan`: the subquery's own parallel plan (§7.4).
fn subplan_gather_json(ctx: &Ctx, sp: &SubPlan, g: &crate::exec::sim::SubPlanGather) -> Value {
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
    let mut scan = Map::new();
    scan.insert("Node Type".into(), json!("Seq Scan"));
    scan.insert("Parent Relationship".into(), json!("Outer"));
    scan.insert("Parallel Aware".into(), json!(true));
    scan.insert("Async Capable".into(), json!(false));
    scan.insert("Relation Name".into(), json!(t.name));
    scan.insert("Alias".into(), json!(t.name));
    scan.insert("Plan Width".into(), json!(sp.width.round() as i64));
    put_actual(&mut scan, &acts);
    let mut ws = vec![];
    for (p, a) in parts.iter().zip(&acts) {
        if let Some(w) = p.worker_number {
            ws.push(json!({"Worker Number": w, "Actual Startup Time": r3(a.startup),
                "Actual Total Time": r3(a.total.max(a.startup)), "Actual Rows": a.rows.round() as i64, "Actual Loops": 1}));
        }
    }
    if !ws.is_empty() {
        scan.insert("Workers".into(), Value::Array(ws));
    }
    json!({
        "Node Type": "Gather", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1",
        "Parallel Aware": false, "Async Capable": false, "Plan Width": sp.width.round() as i64,
        "Actual Startup Time": r3(g.first_row.map_or(0.0, ms)), "Actual Total Time": r3(g.end.map_or(0.0, ms)),
        "Actual Rows": g.gather_rows.round() as i64, "Actual Loops": 1,
        "Workers Planned": sp.gather_workers.unwrap_or(0), "Workers Launched": r.workers_launched,
        "Single Copy": false, "Plans": [Value::Object(scan)]
    })
}

/// Build the node below the Gather (or the serial plan).
fn below_json(ctx: &Ctx, n: &Node, breaker_depth: usize, parent_rel: Option<&str>, inner: bool) -> Value {
    let mut o = base_obj(n, ctx.sc, parent_rel);
    let acts = ctx.below(n, breaker_depth, inner);
    put_actual(&mut o, &acts);
    let mut plans = vec![];
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
            if !inner {
                filter_keys(&mut o, filter, &acts, ctx);
            }
            if let (Some(sp), Some(g)) =
                (filter.as_ref().and_then(|f| f.subplan.as_ref()), ctx.r.subplan_gather.as_ref())
            {
                plans.push(subplan_gather_json(ctx, sp, g));
            } else if let Some(sp) = filter.as_ref().and_then(|f| f.subplan.as_ref()) {
                let t = &ctx.sc.tables[sp.table];
                let mut s = Map::new();
                s.insert("Node Type".into(), json!("Seq Scan"));
                s.insert("Parent Relationship".into(), json!("SubPlan"));
                s.insert("Subplan Name".into(), json!("SubPlan 1"));
                s.insert("Parallel Aware".into(), json!(false));
                s.insert("Relation Name".into(), json!(t.name));
                s.insert("Alias".into(), json!(t.name));
                let parts = ctx.participants();
                let b: Vec<Actual> = parts
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
                plans.push(Value::Object(s));
            }
        }
        Node::HashJoin { outer, inner: inn, cond, .. } => {
            if !cond.is_empty() {
                o.insert("Hash Cond".into(), json!(cond));
            }
            plans.push(below_json(ctx, outer, breaker_depth, Some("Outer"), false));
            let (_, par) = node_type(n);
            let mut h = Map::new();
            h.insert("Node Type".into(), json!("Hash"));
            h.insert("Parent Relationship".into(), json!("Inner"));
            h.insert("Parallel Aware".into(), json!(par));
            let hacts = ctx.below(inn, 0, true);
            put_actual(&mut h, &hacts);
            h.insert("Plans".into(), json!([below_json(ctx, inn, 0, Some("Outer"), true)]));
            plans.push(Value::Object(h));
        }
        Node::NestedLoop { outer, inner_table, cond, rows_per_outer, .. } => {
            plans.push(below_json(ctx, outer, breaker_depth, Some("Outer"), false));
            let t = &ctx.sc.tables[*inner_table];
            let outer_rows: f64 =
                ctx.participants().iter().map(|p| p.tuples_scanned * stream_factor(outer)).sum::<f64>();
            plans.push(json!({
                "Node Type": "Index Scan", "Parent Relationship": "Inner", "Parallel Aware": false,
                "Relation Name": t.name, "Alias": t.name, "Index Cond": cond,
                "Actual Rows": rows_per_outer.round() as i64, "Actual Loops": outer_rows.round() as i64
            }));
        }
        Node::Sort { input, keys } => {
            o.insert("Sort Key".into(), json!(keys));
            // Sort Method per participant, from the rows each one sorted.
            let brk = ctx.c.worker.breakers.iter().find(|b| matches!(b, crate::exec::compile::Breaker::Sort { .. }));
            if let Some(b) = brk {
                let parts = ctx.participants();
                let mut workers = vec![];
                for (i, p) in parts.iter().enumerate() {
                    let n = part_rows(input, p, None);
                    let (m, kb, ty) = crate::exec::compile::sort_method(&ctx.sc.settings, b, n);
                    if i == 0 && p.worker_number.is_none() || (i == 0 && !o.contains_key("Sort Method")) {
                        o.insert("Sort Method".into(), json!(m));
                        o.insert("Sort Space Used".into(), json!(kb as i64));
                        o.insert("Sort Space Type".into(), json!(ty));
                    }
                    if let Some(w) = p.worker_number {
                        workers.push((w, m, kb, ty));
                    }
                }
                o.insert(
                    "Sort Workers".into(),
                    json!(workers.iter().map(|(w, m, kb, ty)| json!({"Worker Number": w, "Sort Method": m, "Sort Space Used": *kb as i64, "Sort Space Type": ty})).collect::<Vec<_>>()),
                );
            }
            plans.push(below_json(ctx, input, breaker_depth.saturating_sub(1), Some("Outer"), false));
        }
        Node::Aggregate { input, .. } => {
            plans.push(below_json(ctx, input, breaker_depth.saturating_sub(1), Some("Outer"), false));
        }
        Node::Limit { input, .. } => plans.push(below_json(ctx, input, breaker_depth, Some("Outer"), false)),
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => {
            plans.push(below_json(ctx, input, breaker_depth, Some("Outer"), false))
        }
    }
    if !inner {
        put_workers(&mut o, ctx, &acts);
    }
    // PostgreSQL lists each worker's Sort Method inside its "Workers" entry.
    if let Some(Value::Array(sorts)) = o.remove("Sort Workers") {
        if let Some(Value::Array(ws)) = o.get_mut("Workers") {
            for w in ws.iter_mut() {
                if let Some(s) = sorts.iter().find(|s| s["Worker Number"] == w["Worker Number"]) {
                    for k in ["Sort Method", "Sort Space Used", "Sort Space Type"] {
                        w[k] = s[k].clone();
                    }
                }
            }
        }
    }
    if !plans.is_empty() {
        o.insert("Plans".into(), Value::Array(plans));
    }
    Value::Object(o)
}

fn breakers_below(n: &Node) -> usize {
    match n {
        Node::Sort { input, .. } | Node::Aggregate { input, .. } => 1 + breakers_below(input),
        Node::Limit { input, .. } => breakers_below(input),
        _ => 0,
    }
}

fn above_json(ctx: &Ctx, n: &Node, parent_rel: Option<&str>) -> Value {
    let r = ctx.r;
    let mut o = base_obj(n, ctx.sc, parent_rel);
    let end = ms(r.wall);
    match n {
        Node::Gather { workers, input, .. } | Node::GatherMerge { workers, input } => {
            let sc = matches!(n, Node::Gather { single_copy: true, .. });
            o.insert("Actual Startup Time".into(), json!(r3(r.gather_first_row.map_or(0.0, ms))));
            o.insert("Actual Total Time".into(), json!(r3(r.gather_end.map_or(end, ms))));
            o.insert("Actual Rows".into(), json!(r.gather_rows.round() as i64));
            o.insert("Actual Loops".into(), json!(1));
            o.insert("Workers Planned".into(), json!(workers.unwrap_or(0)));
            o.insert("Workers Launched".into(), json!(r.workers_launched));
            if matches!(n, Node::Gather { .. }) {
                o.insert("Single Copy".into(), json!(sc));
            }
            let depth = breakers_below(input).saturating_sub(1);
            o.insert("Plans".into(), json!([below_json(ctx, input, depth, Some("Outer"), false)]));
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
            o.insert("Actual Startup Time".into(), json!(r3(start.min(end))));
            o.insert("Actual Total Time".into(), json!(r3(end)));
            o.insert("Actual Rows".into(), json!(rows_out.round() as i64));
            o.insert("Actual Loops".into(), json!(1));
            if let Node::Sort { keys, .. } = n {
                o.insert("Sort Key".into(), json!(keys));
            }
            let child = n.children()[0];
            o.insert("Plans".into(), json!([above_json(ctx, child, Some("Outer"))]));
        }
    }
    Value::Object(o)
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)`-shaped document for one simulated execution.
pub fn explain_json(sc: &Scenario, plan: &Node, c: &Compiled, r: &SimResult) -> Value {
    let ctx = Ctx { sc, c, r };
    let root = if plan.find_gather().is_some() {
        above_json(&ctx, plan, None)
    } else {
        below_json(&ctx, plan, breakers_below(plan).saturating_sub(1), None, false)
    };
    json!([{ "Plan": root, "Planning Time": 0.2, "Triggers": [], "Execution Time": r3(ms(r.wall)) }])
}

/// Render the JSON plan as PostgreSQL's text EXPLAIN ANALYZE would.
pub fn explain_text(doc: &Value) -> String {
    let mut out = String::new();
    let top = &doc[0];
    text_node(&top["Plan"], 0, &mut out);
    out.push_str(&format!("Planning Time: {:.3} ms\n", top["Planning Time"].as_f64().unwrap_or(0.0)));
    out.push_str(&format!("Execution Time: {:.3} ms\n", top["Execution Time"].as_f64().unwrap_or(0.0)));
    out
}

/// A plan node's name as EXPLAIN prints it: `Parallel Seq Scan on t`, `Partial Aggregate`.
pub fn display_name(n: &Value) -> String {
    let ty = n["Node Type"].as_str().unwrap_or("?");
    let par = n["Parallel Aware"].as_bool().unwrap_or(false);
    let mut name = match (ty, n["Partial Mode"].as_str()) {
        ("Aggregate", Some("Partial")) => "Partial Aggregate".to_string(),
        ("Aggregate", Some("Finalize")) => "Finalize Aggregate".to_string(),
        (t, _) => t.to_string(),
    };
    if par {
        name = format!("Parallel {name}");
    }
    if let Some(rel) = n["Relation Name"].as_str() {
        name = format!("{name} on {rel}");
    }
    name
}

fn text_node(n: &Value, depth: usize, out: &mut String) {
    let indent = if depth == 0 { String::new() } else { format!("{}->  ", " ".repeat(depth * 6 - 4)) };
    let pad = " ".repeat(depth * 6 + if depth == 0 { 2 } else { 0 });
    let f = |k: &str| n[k].as_f64().unwrap_or(0.0);
    if n["Parent Relationship"].as_str() == Some("SubPlan") {
        out.push_str(&format!("{}  {}\n", " ".repeat(depth * 6 - 4), n["Subplan Name"].as_str().unwrap_or("SubPlan")));
    }
    out.push_str(&format!(
        "{}{}  (actual time={:.3}..{:.3} rows={} loops={})\n",
        indent,
        display_name(n),
        f("Actual Startup Time"),
        f("Actual Total Time"),
        n["Actual Rows"].as_i64().unwrap_or(0),
        n["Actual Loops"].as_i64().unwrap_or(0)
    ));
    let pad = if depth == 0 { pad } else { " ".repeat(depth * 6) };
    for (k, label) in [("Workers Planned", "Workers Planned"), ("Workers Launched", "Workers Launched")] {
        if let Some(v) = n.get(k) {
            out.push_str(&format!("{pad}{label}: {v}\n"));
        }
    }
    if n.get("Single Copy").and_then(|v| v.as_bool()) == Some(true) {
        out.push_str(&format!("{pad}Single Copy: true\n"));
    }
    for k in ["Hash Cond", "Index Cond", "Filter"] {
        if let Some(v) = n.get(k).and_then(|v| v.as_str()) {
            out.push_str(&format!("{pad}{k}: {v}\n"));
        }
    }
    if let Some(v) = n.get("Rows Removed by Filter") {
        out.push_str(&format!("{pad}Rows Removed by Filter: {v}\n"));
    }
    if let Some(keys) = n.get("Sort Key").and_then(|v| v.as_array()) {
        let ks: Vec<&str> = keys.iter().filter_map(|k| k.as_str()).collect();
        out.push_str(&format!("{pad}Sort Key: {}\n", ks.join(", ")));
    }
    if let Some(v) = n.get("Sort Method").and_then(|v| v.as_str()) {
        let space = |n: &Value| {
            format!(
                "{}: {}kB",
                if n["Sort Space Type"] == "Disk" { "Disk" } else { "Memory" },
                n["Sort Space Used"].as_i64().unwrap_or(0)
            )
        };
        out.push_str(&format!("{pad}Sort Method: {v}  {}\n", space(n)));
        if let Some(ws) = n.get("Workers").and_then(|v| v.as_array()) {
            for w in ws.iter().filter(|w| w.get("Sort Method").is_some()) {
                out.push_str(&format!(
                    "{pad}Worker {}:  Sort Method: {}  {}\n",
                    w["Worker Number"],
                    w["Sort Method"].as_str().unwrap_or(""),
                    space(w)
                ));
            }
        }
    }
    if let Some(ws) = n.get("Workers").and_then(|v| v.as_array()) {
        for w in ws {
            out.push_str(&format!(
                "{pad}Worker {}:  actual time={:.3}..{:.3} rows={} loops=1\n",
                w["Worker Number"],
                w["Actual Startup Time"].as_f64().unwrap_or(0.0),
                w["Actual Total Time"].as_f64().unwrap_or(0.0),
                w["Actual Rows"]
            ));
        }
    }
    if let Some(ps) = n.get("Plans").and_then(|v| v.as_array()) {
        for p in ps {
            text_node(p, depth + 1, out);
        }
    }
}

/// The text answer of `run`: the EXPLAIN tree, the headline and the per-process table.
pub fn run_text(sc: &Scenario, hw: &Hardware, j: &Value, s: &crate::analysis::stats::Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!("Scenario: {}  on  {} ({})\n\n", sc.name, hw.name, hw.description));
    out.push_str(&explain_text(&j["explain"]));
    out.push('\n');
    out.push_str(&format!(
        "Predicted wall time: {:.1} ms  (95% CI {:.1} .. {:.1}, {} replications, seed {})\n",
        s.mean, s.ci95_lo, s.ci95_hi, j["replications"], j["seed"]
    ));
    out.push_str(&format!(
        "Workers Planned: {}  Workers Launched: {}  Queue-full stalls: {}\n\n",
        j["workers_planned"], j["workers_launched"], j["queue_full_stalls"]
    ));
    out.push_str(&format!(
        "{:<10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>9} {:>8}\n",
        "process", "CPU ms", "disk ms", "MQSend ms", "wait tup ms", "start ms", "other ms", "stalls"
    ));
    if let Some(ps) = j["processes"].as_array() {
        for p in ps {
            let name = match p["worker"].as_u64() {
                Some(w) => format!("worker {w}"),
                None => "leader".into(),
            };
            let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
            out.push_str(&format!(
                "{:<10} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>10.1} {:>9.1} {:>8.0}\n",
                name,
                f("cpu_ms"),
                f("io_wait_ms"),
                f("mq_send_wait_ms"),
                f("mq_receive_wait_ms"),
                f("startup_ms"),
                f("barrier_wait_ms") + f("shutdown_wait_ms"),
                f("queue_full_stalls")
            ));
        }
    }
    out.push_str(
        "(wait tup = IPC: ExecuteGather / MessageQueueReceive; other = HashBuildHashInner + ParallelFinish)\n",
    );
    out
}
