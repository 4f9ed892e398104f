//! Build the EXPLAIN ANALYZE tree of one simulated execution: node shapes from the plan,
//! actuals from [`super::timing`], buffers from the model's page counts.

use super::merge_append::{append_children, breakers_below, merge_children, merge_is_breaker, part_rows, scaled};
use super::merge_append::{stream_factor, sum_buffers};
use super::timing::{ms, Actual, Part, Timing, MS};
use super::{r3, Buffers, Explain, HashInfo, PlanNode, SortSpace, WorkerActual};
use crate::exec::compile::{Access, Breaker};
use crate::exec::{Compiled, Env, Mode, ProcessResult, SimResult};
use crate::model::*;
use crate::planner::Costed;

mod subplan;
use subplan::subplan_node;

pub(super) struct Ctx<'a> {
    pub(super) t: Timing<'a>,
    /// The share of the participants' tuples and pages of the subtree being built (an
    /// Append's input: below 1).
    pub(super) share: std::cell::Cell<(f64, f64)>,
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
        Node::MergeJoin { .. } => ("Merge Join", false),
        Node::Append { parallel, .. } => ("Append", *parallel),
    }
}

pub(super) fn base_node(n: &Node, sc: &Scenario, parent_rel: Option<&'static str>) -> PlanNode {
    let (ty, parallel) = node_type(n);
    let mut o =
        PlanNode { node_type: ty, parallel_aware: parallel, parent_relationship: parent_rel, ..Default::default() };
    if let Node::Aggregate { mode, .. } = n {
        o.strategy = n.agg_strategy().map(|s| s.name());
        o.partial_mode = Some(match mode {
            AggMode::Simple => "Simple",
            AggMode::Partial => "Partial",
            AggMode::Finalize => "Finalize",
        });
    }
    o.async_capable = Some(false);
    match n {
        Node::SeqScan { table, .. } => {
            o.relation_name = Some(sc.tables[*table].name.clone());
            o.alias = Some(sc.tables[*table].name.clone());
        }
        Node::IndexScan { table, .. } => index_scan_keys(&mut o, &sc.tables[*table]),
        Node::HashJoin { join_type, .. } | Node::NestedLoop { join_type, .. } | Node::MergeJoin { join_type, .. } => {
            o.join_type = Some(join_type.name().to_string());
            o.inner_unique = Some(false);
            if let Node::MergeJoin { cond, .. } = n {
                o.merge_cond = (!cond.is_empty()).then(|| cond.clone());
            }
        }
        // Non-text formats always print it (explain.c: ExplainMissingMembers).
        Node::Append { subplans_removed, .. } => o.subplans_removed = Some(*subplans_removed),
        Node::Aggregate { output, .. } if o.strategy != Some("Plain") => o.group_key = group_key(output, sc),
        _ => {}
    }
    o.plan_width = Some(n.width().round() as i64);
    o
}

/// An index scan's relation, index and direction.
fn index_scan_keys(o: &mut PlanNode, t: &Table) {
    o.relation_name = Some(t.name.clone());
    o.alias = Some(t.name.clone());
    o.index_name = Some(t.index_name());
    o.scan_direction = Some("Forward");
    o.rows_removed_by_index_recheck = Some(0);
}

/// A grouped Aggregate's `Group Key`: the grouping columns of its `Output` (the entries that
/// are not aggregate calls); None when the scenario gives no output list.
fn group_key(output: &[String], sc: &Scenario) -> Option<Vec<String>> {
    let scope = crate::model::expr::Scope::new(sc.tables.iter().collect());
    let keys: Vec<String> =
        output.iter().filter(|o| crate::model::expr::classify_aggregates(o, &scope).is_empty()).cloned().collect();
    (!keys.is_empty()).then_some(keys)
}

/// EXPLAIN's per-loop averages of the participants' actuals.
pub(super) fn put_actual(o: &mut PlanNode, acts: &[Actual]) {
    let loops = acts.len().max(1) as f64;
    let s = acts.iter().map(|a| a.startup).sum::<f64>() / loops;
    let t = acts.iter().map(|a| a.total).sum::<f64>() / loops;
    let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
    o.actual_startup_time = Some(r3(s));
    o.actual_total_time = Some(r3(t.max(s)));
    o.actual_rows = rows.round() as i64;
    o.actual_loops = acts.len() as i64;
}

pub(super) fn worker_entries(parts: &[Part], acts: &[Actual]) -> Vec<WorkerActual> {
    parts
        .iter()
        .zip(acts)
        .filter_map(|(p, a)| {
            p.p.worker_number.map(|w| WorkerActual {
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

impl<'a> Ctx<'a> {
    pub(super) fn sc(&self) -> &Scenario {
        self.t.sc
    }

    /// The processes that ran the pipeline below the Gather (or the serial plan).
    fn parts(&self) -> Vec<Part<'a>> {
        let r = self.t.r;
        let gather = self.t.c.mode != Mode::Serial && r.subplan_gather.is_none();
        let procs: Vec<&ProcessResult> = if r.subplan_gather.is_some() {
            vec![&r.processes[0]]
        } else {
            r.processes.iter().filter(|p| p.participated).collect()
        };
        procs
            .into_iter()
            .map(|p| Part {
                p,
                is_worker: p.is_worker,
                leader_in_gather: gather && !p.is_worker,
                t0: p.ms.plan_start.map_or(0.0, ms),
            })
            .collect()
    }

    fn bound(&self) -> Option<f64> {
        self.t.c.worker.bound
    }

    /// Shared-buffer pages of a scan of `table` by all participants: (hit, read).
    pub(super) fn pages(&self, table: usize, pages: f64, access: Access) -> Buffers {
        let t = &self.sc().tables[table];
        let (read_frac, _) = self.t.env.read_fractions(t.pages, access, t.in_shared_buffers);
        let hit = (pages * (1.0 - read_frac)).round();
        Buffers { shared_hit: hit as u64, shared_read: (pages.round() - hit).max(0.0) as u64, ..Default::default() }
    }

    fn scan_buffers(&self, n: &Node, table: usize, parts: &[Part]) -> Buffers {
        let pages: f64 = parts.iter().map(|p| p.p.pages_scanned).sum::<f64>() * self.share.get().1;
        let access = if matches!(n, Node::IndexScan { .. }) { Access::Index } else { Access::Sequential };
        self.pages(table, pages, access)
    }
}

/// Build a node of the participants' pipeline rooted at `root`.
pub(super) fn below_node(ctx: &Ctx, root: &Node, n: &Node, parent_rel: Option<&'static str>) -> PlanNode {
    let mut o = base_node(n, ctx.sc(), parent_rel);
    let parts = ctx.parts();
    let nb = ctx.t.pipeline_breakers(parts.first().unwrap_or(&fallback_part(ctx))).len();
    let acts: Vec<Actual> = parts.iter().map(|part| node_actual(ctx, root, n, part, nb)).collect();
    put_actual(&mut o, &acts);
    let mut plans = vec![];
    let mut worker_sorts = vec![];
    let mut buffers = Buffers::default();
    match n {
        Node::SeqScan { filter, table, .. } | Node::IndexScan { filter, table, .. } => {
            if let Some(f) = filter {
                if !f.text.is_empty() {
                    o.filter = Some(f.text.clone());
                }
                let loops = acts.len().max(1) as f64;
                let scanned: f64 = parts.iter().map(|p| p.p.tuples_scanned).sum::<f64>() / loops * ctx.share.get().0;
                let rows = acts.iter().map(|a| a.rows).sum::<f64>() / loops;
                o.rows_removed_by_filter = Some((scanned - rows).max(0.0).round() as i64);
            }
            buffers = ctx.scan_buffers(n, *table, &parts);
            if let Some((f, sp)) = filter.as_ref().and_then(|f| f.subplan.as_ref().map(|sp| (f, sp))) {
                let sub = subplan_node(ctx, root, n, sp, &f.text, &parts);
                if let Some(b) = &sub.buffers {
                    buffers.add(b);
                }
                plans.push(sub);
            }
        }
        Node::HashJoin { outer, .. } => {
            if let Node::HashJoin { cond, .. } = n {
                if !cond.is_empty() {
                    o.hash_cond = Some(cond.clone());
                }
            }
            let out = below_node(ctx, root, outer, Some("Outer"));
            let hash = hash_node(ctx, root, n, &parts);
            for c in [&out, &hash] {
                if let Some(b) = &c.buffers {
                    buffers.add(b);
                }
            }
            plans.push(out);
            plans.push(hash);
        }
        Node::NestedLoop { outer, inner_table, cond, rows_per_outer, .. } => {
            let out = below_node(ctx, root, outer, Some("Outer"));
            let t = &ctx.sc().tables[*inner_table];
            let tables = &ctx.sc().tables;
            let outer_rows: f64 = parts.iter().map(|p| p.p.tuples_scanned * stream_factor(outer, tables)).sum::<f64>();
            let inner_time: f64 = parts
                .iter()
                .zip(&acts)
                .map(|(part, a)| {
                    let o = node_actual(ctx, root, outer, part, nb);
                    (a.total - o.total).max(0.0)
                })
                .sum();
            let per_loop = if outer_rows >= 1.0 { inner_time / outer_rows } else { 0.0 };
            let inner_pages = outer_rows * rows_per_outer.max(1.0);
            let mut inner = PlanNode {
                node_type: "Index Scan",
                parent_relationship: Some("Inner"),
                parallel_aware: false,
                async_capable: Some(false),
                plan_width: Some(t.width.round() as i64),
                actual_startup_time: Some(r3(per_loop / (rows_per_outer + 1.0))),
                actual_total_time: Some(r3(per_loop)),
                actual_rows: rows_per_outer.round() as i64,
                actual_loops: outer_rows.round() as i64,
                index_cond: Some(cond.clone()),
                buffers: Some(ctx.pages(*inner_table, inner_pages, Access::Index)),
                ..Default::default()
            };
            index_scan_keys(&mut inner, t);
            if inner.actual_loops == 0 {
                inner.actual_startup_time = None;
                inner.actual_total_time = None;
            }
            for c in [&out, &inner] {
                if let Some(b) = &c.buffers {
                    buffers.add(b);
                }
            }
            plans.push(out);
            plans.push(inner);
        }
        Node::Sort { input, keys } => {
            o.sort_key = Some(keys.clone());
            if let Some((node, ws, temp)) = sort_spaces(ctx, input, &parts) {
                o.sort_space = Some(node);
                worker_sorts = ws;
                buffers.temp_read += temp;
                buffers.temp_written += temp;
            }
            let c = below_node(ctx, root, input, Some("Outer"));
            if let Some(b) = &c.buffers {
                buffers.add(b);
            }
            plans.push(c);
        }
        Node::MergeJoin { .. } | Node::Append { .. } => {
            plans = match n {
                Node::MergeJoin { .. } => merge_children(ctx, root, n, &parts),
                _ => append_children(ctx, root, n),
            };
            buffers.add(&sum_buffers(&plans));
        }
        Node::Aggregate { input, .. }
        | Node::Limit { input, .. }
        | Node::Gather { input, .. }
        | Node::GatherMerge { input, .. } => {
            let c = below_node(ctx, root, input, Some("Outer"));
            if let Some(b) = &c.buffers {
                buffers.add(b);
            }
            plans.push(c);
        }
    }
    o.workers = worker_entries(&parts, &acts);
    // PostgreSQL lists each worker's Sort Method inside its "Workers" entry.
    for w in o.workers.iter_mut() {
        w.sort_space = worker_sorts.iter().find(|(n, _)| *n == w.worker_number).map(|(_, s)| s.clone());
    }
    o.buffers = Some(buffers);
    o.plans = plans;
    o
}

fn fallback_part<'a>(ctx: &Ctx<'a>) -> Part<'a> {
    let p = &ctx.t.r.processes[0];
    Part { p, is_worker: false, leader_in_gather: false, t0: 0.0 }
}

/// One participant's actuals of node `n` of the pipeline rooted at `root` with `nb` breakers.
fn node_actual(ctx: &Ctx, root: &Node, n: &Node, part: &Part, nb: usize) -> Actual {
    let (share, _) = ctx.share.get();
    let rows = part_rows(n, part.p, ctx.bound(), &ctx.sc().tables) * share;
    match n {
        Node::SeqScan { .. }
        | Node::IndexScan { .. }
        | Node::HashJoin { .. }
        | Node::NestedLoop { .. }
        | Node::Append { .. } => scaled(ctx.t.streaming(root, n, part, rows), share),
        Node::MergeJoin { .. } if !merge_is_breaker(n) => scaled(ctx.t.streaming(root, n, part, rows), share),
        Node::Sort { .. } | Node::Aggregate { .. } | Node::MergeJoin { .. } => {
            let j = breakers_below(n).saturating_sub(1);
            ctx.t.breaker(j, j + 1 >= nb, part, rows)
        }
        Node::Limit { input, .. } | Node::Gather { input, .. } | Node::GatherMerge { input, .. } => {
            Actual { rows, ..node_actual(ctx, root, input, part, nb) }
        }
    }
}

/// The Hash node of a Hash Join and its input, run inside the join's first call.
fn hash_node(ctx: &Ctx, root: &Node, hj: &Node, parts: &[Part]) -> PlanNode {
    let Node::HashJoin { inner, parallel, .. } = hj else { unreachable!("hash_node of a Hash Join") };
    let mut acts = vec![];
    let mut in_acts = vec![];
    for part in parts {
        let (a, share) = ctx.t.hash(root, hj, part);
        let sel = match inner.as_ref() {
            Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
                filter.as_ref().map_or(1.0, |f| f.selectivity)
            }
            _ => 1.0,
        };
        let in_total = a.total * share;
        let in_rows = a.rows * sel;
        in_acts.push(Actual { startup: in_total * (1.0 / in_rows.max(1.0)).min(1.0), total: in_total, rows: in_rows });
        acts.push(Actual { rows: in_rows, ..a });
    }
    let mut h = PlanNode {
        node_type: "Hash",
        parent_relationship: Some("Inner"),
        parallel_aware: *parallel,
        async_capable: Some(false),
        plan_width: Some(inner.width().round() as i64),
        ..Default::default()
    };
    put_actual(&mut h, &acts);
    h.workers = worker_entries(parts, &acts);
    let mut child = base_node(inner, ctx.sc(), Some("Outer"));
    put_actual(&mut child, &in_acts);
    child.workers = worker_entries(parts, &in_acts);
    let mut buffers = Buffers::default();
    if let Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } = inner.as_ref() {
        if let Some(f) = filter {
            if !f.text.is_empty() {
                child.filter = Some(f.text.clone());
            }
            let loops = in_acts.len().max(1) as f64;
            let scanned: f64 = acts.iter().map(|a| a.rows).sum::<f64>() / loops / f.selectivity.max(1e-12);
            let rows = in_acts.iter().map(|a| a.rows).sum::<f64>() / loops;
            child.rows_removed_by_filter = Some((scanned - rows).max(0.0).round() as i64);
        }
        let t = &ctx.sc().tables[*table];
        let tuples: f64 = parts.iter().map(|p| ctx.t.hash(root, hj, p).0.rows).sum();
        let pages = if t.rows > 0.0 { tuples / t.rows * t.pages } else { 0.0 };
        buffers = ctx.pages(*table, pages, Access::Sequential);
    }
    child.buffers = Some(buffers.clone());
    // Batches and memory from PostgreSQL's sizing rule for the inner rows.
    let rows: f64 =
        in_acts.iter().map(|a| a.rows).sum::<f64>() / if *parallel { 1.0 } else { in_acts.len().max(1) as f64 };
    h.hash = Some(hash_info(ctx, rows, inner.width(), *parallel));
    if let Some(hi) = &h.hash {
        if hi.batches > 1 {
            let temp = (rows * (inner.width() + 16.0) / BLCKSZ).ceil() as u64;
            buffers.temp_written += temp;
            buffers.temp_read += temp;
        }
    }
    h.buffers = Some(buffers);
    h.plans = vec![child];
    h
}

/// Hash Buckets / Batches / Peak Memory as `ExecChooseHashTableSize` would size them.
fn hash_info(ctx: &Ctx, rows: f64, width: f64, parallel: bool) -> HashInfo {
    let tuple = 16.0 + maxalign(width) + 8.0;
    let participants = if parallel { f64::from(ctx.t.c.workers_planned) + 1.0 } else { 1.0 };
    let mem = ctx.sc().settings.hash_mem_bytes() * participants;
    let bytes = rows.max(1.0) * tuple;
    let batches = if bytes <= mem { 1.0 } else { 2f64.powf((bytes / mem).log2().ceil()) };
    let per_batch = (rows / batches).max(1.0);
    let buckets = 2f64.powf(per_batch.log2().ceil()).clamp(1024.0, 1_073_741_824.0);
    let peak = (per_batch * tuple + buckets * 8.0) / 1024.0;
    HashInfo {
        buckets: buckets as u64,
        original_buckets: buckets as u64,
        batches: batches as u64,
        original_batches: batches as u64,
        peak_memory_kb: peak.ceil() as u64,
    }
}

/// A Sort's method for the node, per worker, and the temp blocks it wrote.
type SortSpaces = (SortSpace, Vec<(u32, SortSpace)>, u64);

/// Sort Method of the node (first participant) and of each worker, and temp blocks written.
fn sort_spaces(ctx: &Ctx, input: &Node, parts: &[Part]) -> Option<SortSpaces> {
    let is_sort = |b: &&Breaker| matches!(b, Breaker::Sort { .. });
    // A serial plan's (or a leader-only subtree's) Sort is in the leader's pipeline.
    let c = ctx.t.c;
    let b = c
        .worker
        .breakers
        .iter()
        .find(is_sort)
        .or_else(|| c.leader.breakers.iter().find(is_sort))
        .or_else(|| c.post.as_ref().and_then(|p| p.breakers.iter().find(is_sort)))?;
    let mut node = None;
    let mut workers = vec![];
    let mut temp = 0;
    for part in parts {
        let n = part_rows(input, part.p, None, &ctx.sc().tables);
        let (m, kb, ty) = crate::exec::compile::sort_method(&ctx.sc().settings, b, n);
        let s = SortSpace { method: m, space_kb: kb as i64, space_type: ty };
        if ty == "Disk" {
            temp += (kb / 8.0).ceil() as u64;
        }
        if node.is_none() {
            node = Some(s.clone());
        }
        if let Some(w) = part.p.worker_number {
            workers.push((w, s));
        }
    }
    node.map(|n| (n, workers, temp))
}

/// The Hash node of a Hash Join whose inner side holds the Gather: it returns once it has
/// pulled every row of its child (startup = total = the child's total), in the leader alone.
fn hash_over(ctx: &Ctx, child: PlanNode, inner: &Node) -> PlanNode {
    let t = child.actual_total_time;
    PlanNode {
        node_type: "Hash",
        parent_relationship: Some("Inner"),
        async_capable: Some(false),
        plan_width: child.plan_width,
        actual_startup_time: t,
        actual_total_time: t,
        actual_rows: child.actual_rows,
        actual_loops: child.actual_loops,
        hash: Some(hash_info(ctx, child.actual_rows as f64, inner.width(), false)),
        buffers: child.buffers.clone(),
        plans: vec![PlanNode { parent_relationship: Some("Outer"), ..child }],
        ..Default::default()
    }
}

/// Sort Method of a Sort above the Gather (the leader's breaker), and the temp blocks it wrote.
fn leader_sort_space(ctx: &Ctx, n: &Node, w: &crate::exec::instrument::TopWork, o: &mut PlanNode) {
    let i = breakers_above_gather(n).saturating_sub(1);
    let Some(b) = ctx.t.c.consumer.breakers.get(i) else { return };
    let rows = w.rows_in.get(i).copied().unwrap_or(ctx.t.r.gather_rows);
    let (m, kb, ty) = crate::exec::compile::sort_method(&ctx.sc().settings, b, rows);
    if m.is_empty() {
        return;
    }
    o.sort_space = Some(SortSpace { method: m, space_kb: kb as i64, space_type: ty });
    if ty == "Disk" {
        let temp = (kb / 8.0).ceil() as u64;
        let buf = o.buffers.get_or_insert_with(Buffers::default);
        buf.temp_read += temp;
        buf.temp_written += temp;
    }
}

/// A node at or above the Gather, run by the leader alone. `chain_work` is the leader's own
/// work (ms) of the nodes above this one: they run outside it.
fn above_node(ctx: &Ctx, n: &Node, parent_rel: Option<&'static str>, above_ms: f64) -> PlanNode {
    let r = ctx.t.r;
    let mut o = base_node(n, ctx.sc(), parent_rel);
    let end = ms(r.wall);
    let w = ctx.t.top_work();
    let top_start = ctx.t.top_start(&w);
    o.actual_loops = 1;
    match n {
        Node::Gather { workers, input, .. } | Node::GatherMerge { workers, input } => {
            // Operators above run on each row between the Gather's calls.
            let per_row = ctx.t.c.consumer.per_row_ns * r.gather_rows / MS;
            let startup = r.gather_first_row.map_or(0.0, ms);
            let total = (top_start - per_row).min(end - above_ms).max(startup);
            o.actual_startup_time = Some(r3(startup));
            o.actual_total_time = Some(r3(total));
            o.actual_rows = r.gather_rows.round() as i64;
            o.workers_planned = Some(workers.unwrap_or(0));
            o.workers_launched = Some(r.workers_launched);
            if let Node::Gather { single_copy, .. } = n {
                o.single_copy = Some(*single_copy);
            }
            let child = below_node(ctx, input, input, Some("Outer"));
            o.buffers = child.buffers.clone();
            o.plans = vec![child];
        }
        _ => {
            let rows_out = match n {
                Node::Limit { count, .. } => r.result_rows.min(*count),
                _ => r.result_rows.max(if matches!(n, Node::Aggregate { .. }) { 1.0 } else { 0.0 }),
            };
            // This node's own work: its breaker's input rows, finishing and (at the top) output.
            let (own, startup) = match n {
                Node::Sort { .. } | Node::Aggregate { .. } => {
                    let i = breakers_above_gather(n).saturating_sub(1);
                    let finish_end = top_start + w.finish_ns.iter().take(i + 1).sum::<f64>() / MS;
                    let input_rows = if i == 0 {
                        ctx.t.c.consumer.per_row_ns * r.gather_rows
                    } else {
                        ctx.t.c.consumer.breaker_row_ns.get(i - 1).copied().unwrap_or(0.0)
                            * w.rows_in.get(i).copied().unwrap_or(0.0)
                    };
                    let mut own = input_rows + w.finish_ns.get(i).copied().unwrap_or(0.0);
                    if i + 1 == w.finish_ns.len() {
                        own += w.emit_ns;
                    }
                    (own / MS, Some(finish_end))
                }
                _ => (0.0, None),
            };
            // Follow the child that holds the Gather; a join's other side (e.g. a serial outer
            // scan over a Gather on the inner side) runs in the leader like a node below.
            let kids = n.children();
            let gi = kids.iter().position(|c| c.find_gather().is_some()).unwrap_or(0);
            let rel = |i: usize| if i == 0 { "Outer" } else { "Inner" };
            let Some(gchild) = kids.get(gi) else {
                o.actual_startup_time = Some(0.0);
                o.actual_total_time = Some(r3((end - above_ms).max(0.0)));
                o.actual_rows = rows_out.round() as i64;
                return o;
            };
            let mut child = above_node(ctx, gchild, Some(rel(gi)), above_ms + own);
            if let Node::HashJoin { cond, .. } = n {
                if !cond.is_empty() {
                    o.hash_cond = Some(cond.clone());
                }
                if gi == 1 {
                    child = hash_over(ctx, child, gchild);
                }
            }
            let others: Vec<PlanNode> = kids
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != gi)
                .map(|(i, k)| below_node(ctx, k, k, Some(rel(i))))
                .collect();
            let startup = startup.unwrap_or_else(|| child.actual_startup_time.unwrap_or(0.0));
            let total = (end - above_ms).max(startup);
            o.actual_startup_time = Some(r3(startup.min(total)));
            o.actual_total_time = Some(r3(total));
            o.actual_rows = rows_out.round() as i64;
            o.buffers = child.buffers.clone();
            if let Node::Sort { keys, .. } = n {
                o.sort_key = Some(keys.clone());
                leader_sort_space(ctx, n, &w, &mut o);
            }
            let mut plans = vec![child];
            for (i, k) in others.into_iter().enumerate() {
                if i < gi {
                    plans.insert(i, k);
                } else {
                    plans.push(k);
                }
            }
            o.plans = plans;
        }
    }
    o
}

/// Breakers between `n` (included) and the Gather below it.
fn breakers_above_gather(n: &Node) -> usize {
    match n {
        Node::Sort { input, .. } | Node::Aggregate { input, .. } => 1 + breakers_above_gather(input),
        Node::Limit { input, .. } => breakers_above_gather(input),
        _ => 0,
    }
}

/// The planner's estimates on the node and its children, position by position (the costed
/// plan has EXPLAIN's shape): "Startup Cost", "Total Cost", "Plan Rows", "Plan Width", and the
/// planner's aggregate Strategy, so that `plan` and `run` agree.
fn attach_costs(o: &mut PlanNode, c: &Costed) {
    if c.node_type == "Materialize" && o.node_type != "Materialize" && c.children.len() == 1 {
        // The planner's Materialize over a merge join's inner side: the model's plan has none.
        return attach_costs(o, &c.children[0]);
    }
    if c.node_type != o.node_type {
        return;
    }
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    o.startup_cost = Some(r2(c.startup));
    o.total_cost = Some(r2(c.total));
    o.plan_rows = Some(c.rows.max(0.0).round() as u64);
    o.plan_width = Some(c.width.round() as i64);
    if let Some((_, s)) = c.details.iter().find(|(k, _)| *k == "Strategy") {
        o.strategy = match s.as_str() {
            "Plain" => Some("Plain"),
            "Sorted" => Some("Sorted"),
            "Hashed" => Some("Hashed"),
            "Mixed" => Some("Mixed"),
            _ => o.strategy,
        };
    }
    for (child, cc) in o.plans.iter_mut().zip(&c.children) {
        attach_costs(child, cc);
    }
}

/// The `EXPLAIN (ANALYZE, BUFFERS)` document of one simulated execution; `costed`: the
/// planner's estimates for the same plan.
pub fn explain(
    sc: &Scenario,
    hw: &Hardware,
    plan: &Node,
    costed: Option<&Costed>,
    c: &Compiled,
    r: &SimResult,
) -> Explain {
    let env = Env {
        tables: &sc.tables,
        settings: &sc.settings,
        hw,
        output: sc.output,
        workers_planned: c.workers_planned,
        measured: sc.measured.as_ref(),
    };
    let ctx = Ctx { t: Timing { sc, env, c, r }, share: std::cell::Cell::new((1.0, 1.0)) };
    let mut root = if plan.find_gather().is_some() {
        above_node(&ctx, plan, None, 0.0)
    } else {
        below_node(&ctx, plan, plan, None)
    };
    if let Some(cp) = costed {
        attach_costs(&mut root, cp);
    }
    let planning_time = r3(super::planning_time_ms(root.count(), hw.cpu_speed));
    let settings = sc.settings.non_default().into_iter().collect();
    Explain { plan: root, settings, planning_time, triggers: vec![], execution_time: r3(ms(r.wall)) }
}
