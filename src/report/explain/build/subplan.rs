//! The plan under a scan's SubPlan in the EXPLAIN of a simulated execution: the subquery's
//! own Gather or its serial scan, under a Materialize when the SubPlan is not hashed, as the
//! planner decided (`SubPlan::hashed`, `SubPlan::gather_workers`).

use super::{put_actual, worker_entries, Ctx};
use crate::exec::compile::Access;
use crate::exec::ProcessResult;
use crate::model::*;
use crate::report::explain::timing::{ms, Actual, Part, MS};
use crate::report::explain::{r3, PlanNode};

/// The plan under a scan's SubPlan as EXPLAIN shows it, the plan the planner decided:
/// `SubPlan N -> [Materialize ->] (Gather -> Parallel Seq Scan | Seq Scan)`, Materialize when
/// the SubPlan is not hashed (§7.3).
pub(super) fn subplan_node(
    ctx: &Ctx,
    root: &Node,
    owner: &Node,
    sp: &SubPlan,
    filter: &str,
    parts: &[Part],
) -> PlanNode {
    let (mut sub, first_ms) = match ctx.t.r.subplan_gather.as_ref() {
        Some(g) => subplan_gather(ctx, sp, g),
        None => subplan_serial(ctx, root, owner, sp, parts),
    };
    if !sp.hashed {
        // The leader evaluates the SubPlan once per outer row it scans.
        let outer: f64 = parts.iter().filter(|p| !p.is_worker).map(|p| p.p.tuples_scanned).sum();
        sub = materialize_over(ctx, sub, sp, first_ms, outer);
    }
    sub.parent_relationship = Some("SubPlan");
    sub.subplan_name = Some(subplan_name(filter));
    sub
}

/// `Materialize` over a non-hashed SubPlan's plan: the leader fills its tuplestore on the
/// first call (`first_ms`, the child's run and the puts) and rereads it for every further
/// outer row, the whole result each time as the executor model charges it. Its child runs
/// once.
fn materialize_over(ctx: &Ctx, mut child: PlanNode, sp: &SubPlan, first_ms: f64, outer_rows: f64) -> PlanNode {
    let loops = outer_rows.round().max(1.0);
    let hw = ctx.t.env.hw;
    let reread_ms = sp.rows * hw.costs.tuple_ns * 0.25 / hw.cpu_speed / MS;
    let total = first_ms + (loops - 1.0) * reread_ms;
    let startup = child.actual_startup_time.unwrap_or(0.0);
    child.parent_relationship = Some("Outer");
    child.subplan_name = None;
    PlanNode {
        node_type: "Materialize",
        parallel_aware: false,
        async_capable: Some(false),
        plan_width: child.plan_width,
        actual_startup_time: Some(r3(startup / loops)),
        actual_total_time: Some(r3((total / loops).max(startup / loops))),
        actual_rows: sp.rows.round() as i64,
        actual_loops: loops as i64,
        buffers: child.buffers.clone(),
        plans: vec![child],
        ..Default::default()
    }
}

/// `Gather -> Parallel Seq Scan`: the subquery's own parallel plan, run inside the main
/// scan's first qual check, and when it ended (ms, with the rows' puts into the hash table or
/// tuplestore).
fn subplan_gather(ctx: &Ctx, sp: &SubPlan, g: &crate::exec::sim::SubPlanGather) -> (PlanNode, f64) {
    let t = &ctx.sc().tables[sp.table];
    let r = ctx.t.r;
    let mut procs: Vec<&ProcessResult> = vec![];
    if g.leader.participated {
        procs.push(&g.leader);
    }
    procs.extend(r.processes.iter().skip(1).filter(|p| p.participated));
    let scan_ns = crate::exec::instrument::streaming_ns_per_tuple(&ctx.t.c.worker);
    let sel = if t.rows > 0.0 { sp.rows / t.rows } else { 0.0 };
    let send = ctx.t.env.hw.costs.tuple_send_ns / ctx.t.env.hw.cpu_speed;
    let parts: Vec<Part> = procs
        .iter()
        .map(|p| Part {
            p,
            is_worker: p.is_worker,
            leader_in_gather: !p.is_worker,
            t0: p.ms.plan_start.map_or(0.0, ms),
        })
        .collect();
    let acts: Vec<Actual> = parts
        .iter()
        .map(|part| {
            let p = part.p;
            let rows = p.tuples_scanned * sel;
            let total = if part.leader_in_gather {
                p.tuples_scanned * scan_ns / MS
            } else {
                let start = p.ms.first_tuple.map_or(part.t0, ms);
                let end = p.ms.scan_end.or(p.ms.done).map_or(start, ms);
                let span = (end - start - p.ms.send_wait_at_scan_end / MS).max(0.0);
                span * scan_ns / (scan_ns + sel * send).max(1e-12)
            };
            Actual { startup: total * (1.0 / rows.max(1.0)).min(1.0), total, rows }
        })
        .collect();
    let mut scan = PlanNode { parent_relationship: Some("Outer"), ..subquery_scan(t, sp, true) };
    put_actual(&mut scan, &acts);
    scan.workers = worker_entries(&parts, &acts);
    let pages: f64 = procs.iter().map(|p| p.pages_scanned).sum();
    scan.buffers = Some(ctx.pages(sp.table, pages, Access::Sequential));
    // The SubPlan is first called by the outer scan's first qual check, at the start.
    let t0 = 0.0;
    // Each row's insert into the hash table (or put into the tuplestore) happens in the
    // SubPlan (or the Materialize), outside the Gather; compile prices it the same way.
    let hw = ctx.t.env.hw;
    let store_ns = sp.store_ns(&hw.costs);
    let insert = g.gather_rows * store_ns / hw.cpu_speed / MS;
    let startup = g.first_row.map_or(0.0, |x| ms(x) - t0).max(0.0);
    let end = g.end.map_or(0.0, |x| ms(x) - t0);
    let total = (end - insert).max(startup);
    let node = PlanNode {
        node_type: "Gather",
        parallel_aware: false,
        async_capable: Some(false),
        plan_width: Some(sp.width.round() as i64),
        actual_startup_time: Some(r3(startup)),
        actual_total_time: Some(r3(total)),
        actual_rows: g.gather_rows.round() as i64,
        actual_loops: 1,
        workers_planned: Some(sp.gather_workers.unwrap_or(0)),
        workers_launched: Some(r.workers_launched),
        single_copy: Some(false),
        buffers: scan.buffers.clone(),
        plans: vec![scan],
        ..Default::default()
    };
    (node, end.max(total))
}

/// `Seq Scan`: the serial subquery, built once per participant that keeps its result (a
/// hash table, or the leader's tuplestore) inside the outer scan's first qual check; and the
/// build's mean span (ms), the puts included.
fn subplan_serial(ctx: &Ctx, root: &Node, owner: &Node, sp: &SubPlan, parts: &[Part]) -> (PlanNode, f64) {
    let t = &ctx.sc().tables[sp.table];
    let mut s = subquery_scan(t, sp, false);
    // PostgreSQL inserts each row into the hash table in buildSubPlanHash (or puts it into the
    // Materialize's tuplestore) outside the scan node's own calls: the insert counts in the
    // owner's (or the Materialize's) time, not in the SubPlan's scan.
    let hw = ctx.t.env.hw;
    let insert_ns = sp.store_ns(&hw.costs) / hw.cpu_speed;
    let builds: Vec<(f64, f64)> = parts.iter().filter_map(|part| ctx.t.build_of(root, owner, part)).collect();
    let acts: Vec<Actual> = builds
        .iter()
        .map(|&(span, rows)| {
            let scan = (span - rows * insert_ns / MS).max(0.0);
            Actual { startup: scan * (1.0 / rows.max(1.0)).min(1.0), total: scan, rows }
        })
        .collect();
    put_actual(&mut s, &acts);
    s.workers = worker_entries(parts, &acts);
    s.buffers = Some(ctx.pages(sp.table, t.pages * acts.len() as f64, Access::Sequential));
    let first = builds.iter().map(|b| b.0).sum::<f64>() / builds.len().max(1) as f64;
    (s, first)
}

/// The subquery's `Seq Scan` of its table (`Parallel` under the subquery's own Gather).
fn subquery_scan(t: &Table, sp: &SubPlan, parallel: bool) -> PlanNode {
    PlanNode {
        node_type: "Seq Scan",
        parallel_aware: parallel,
        async_capable: Some(false),
        relation_name: Some(t.name.clone()),
        alias: Some(t.name.clone()),
        plan_width: Some(sp.width.round() as i64),
        ..Default::default()
    }
}
