//! Rows of the participants' pipeline nodes, and the children of a Merge Join and of an
//! Append in the EXPLAIN tree.
//!
//! A Merge Join's inner side runs, in the executor model, as a build inside the join's first
//! call (see exec's merge_append): its nodes get that build's time, split over the subtree by
//! the model's work, and the rows the model gives them. An Append's inputs share one
//! streaming flow: each input gets its share of the participants' tuples and pages (its
//! driving scan's tuples over all inputs') and of their time.

use super::build::{base_node, below_node, Ctx};
use super::timing::{Actual, Part};
use super::{Buffers, PlanNode};
use crate::exec::compile::{breaker_finish, breaker_output, Access};
use crate::exec::instrument;
use crate::exec::ProcessResult;
use crate::model::*;

/// Output rows per tuple of the driving (outer-most) scan, for streaming nodes.
pub(super) fn stream_factor(n: &Node, tables: &[Table]) -> f64 {
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => filter.as_ref().map_or(1.0, |f| f.selectivity),
        Node::HashJoin { outer, rows_per_outer, .. }
        | Node::NestedLoop { outer, rows_per_outer, .. }
        | Node::MergeJoin { outer, rows_per_outer, .. } => stream_factor(outer, tables) * rows_per_outer,
        Node::Append { inputs, .. } => {
            let w = input_weights(inputs, tables);
            inputs.iter().zip(&w).map(|(i, w)| w * stream_factor(i, tables)).sum()
        }
        _ => 1.0,
    }
}

/// Each Append input's share of the tuples the Append's flow scans.
pub(super) fn input_weights(inputs: &[Node], tables: &[Table]) -> Vec<f64> {
    let t: Vec<f64> = inputs.iter().map(|i| i.driving_tuples(tables)).collect();
    let sum: f64 = t.iter().sum();
    let n = inputs.len().max(1) as f64;
    t.iter().map(|x| if sum > 0.0 { x / sum } else { 1.0 / n }).collect()
}

/// Whether a Merge Join's outer side ends in a breaker (a Sort): then the join is one too.
pub(super) fn merge_is_breaker(n: &Node) -> bool {
    matches!(n, Node::MergeJoin { outer, .. } if breakers_below(outer) > 0)
}

pub(super) fn breakers_below(n: &Node) -> usize {
    match n {
        Node::Sort { input, .. } | Node::Aggregate { input, .. } => 1 + breakers_below(input),
        Node::Limit { input, .. } => breakers_below(input),
        Node::MergeJoin { outer, .. } if breakers_below(outer) > 0 => 1 + breakers_below(outer),
        _ => 0,
    }
}

/// Rows a participant's subtree `n` returns given the tuples it scanned.
pub(super) fn part_rows(n: &Node, p: &ProcessResult, bound: Option<f64>, tables: &[Table]) -> f64 {
    match n {
        Node::MergeJoin { outer, rows_per_outer, .. } if merge_is_breaker(n) => {
            let r = part_rows(outer, p, None, tables) * rows_per_outer;
            bound.map_or(r, |b| r.min(b))
        }
        Node::SeqScan { .. }
        | Node::IndexScan { .. }
        | Node::HashJoin { .. }
        | Node::NestedLoop { .. }
        | Node::MergeJoin { .. }
        | Node::Append { .. } => {
            let r = p.tuples_scanned * stream_factor(n, tables);
            bound.map_or(r, |b| r.min(b))
        }
        Node::Aggregate { groups, input, .. } => {
            let inp = part_rows(input, p, None, tables);
            if inp > 0.0 {
                groups.min(inp.max(1.0))
            } else {
                1.0_f64.min(*groups)
            }
        }
        Node::Sort { input, .. } => {
            let r = part_rows(input, p, None, tables);
            bound.map_or(r, |b| r.min(b))
        }
        Node::Limit { count, input } => part_rows(input, p, Some(*count), tables).min(*count),
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => part_rows(input, p, bound, tables),
    }
}

/// Rows a subtree run whole returns (a Merge Join's inner side), from the model.
fn static_rows(n: &Node, tables: &[Table]) -> f64 {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => n.driving_tuples(tables) * stream_factor(n, tables),
        Node::Aggregate { groups, input, .. } => groups.min(static_rows(input, tables).max(1.0)),
        Node::Limit { count, input } => static_rows(input, tables).min(*count),
        Node::HashJoin { outer, rows_per_outer, .. }
        | Node::NestedLoop { outer, rows_per_outer, .. }
        | Node::MergeJoin { outer, rows_per_outer, .. } => static_rows(outer, tables) * rows_per_outer,
        Node::Append { inputs, .. } => inputs.iter().map(|i| static_rows(i, tables)).sum(),
        Node::Sort { input, .. } | Node::Gather { input, .. } | Node::GatherMerge { input, .. } => {
            static_rows(input, tables)
        }
    }
}

/// The model's work (ns at one core) of running subtree `n` whole, and of that the part
/// spent returning its rows (after its first row is ready).
fn static_work(ctx: &Ctx, n: &Node, is_worker: bool) -> (f64, f64) {
    let env = &ctx.t.env;
    let p = instrument::subtree(env, n, is_worker);
    let src = &p.source;
    let mut work = src.tuples * p.cpu_per_tuple + src.pages * (src.page.cpu_ns + src.page.os_read_ns);
    for b in &p.builds {
        work += b.tuples * b.cpu_per_tuple + b.pages * (b.page.cpu_ns + b.page.os_read_ns);
    }
    let streamed = src.tuples * p.rows_per_tuple;
    for (i, b) in p.breakers.iter().enumerate() {
        work += breaker_finish(env.hw, env.settings, b, breaker_output(&p.breakers[..i], streamed)).0;
    }
    if p.breakers.is_empty() {
        return (work, work);
    }
    let emit = breaker_output(&p.breakers, streamed) * p.breaker_row_ns.last().copied().unwrap_or(0.0);
    (work + emit, emit)
}

/// A subtree run whole inside its parent's first call: each participant's `spans` (ms) split
/// over the nodes by the model's work, rows from the model.
fn static_node(ctx: &Ctx, n: &Node, rel: &'static str, parts: &[Part], spans: &[f64], whole_ns: f64) -> PlanNode {
    let sc = ctx.sc();
    let mut o = base_node(n, sc, Some(rel));
    let is_worker = parts.first().is_some_and(|p| p.is_worker);
    let (work, emit) = static_work(ctx, n, is_worker);
    let share = if whole_ns > 0.0 { (work / whole_ns).min(1.0) } else { 1.0 };
    let rows = static_rows(n, &sc.tables);
    let acts: Vec<Actual> = spans
        .iter()
        .map(|span| {
            let total = span * share;
            let startup = if matches!(n, Node::Sort { .. } | Node::Aggregate { .. }) && work > 0.0 {
                total * (1.0 - emit / work)
            } else {
                total * (1.0 / rows.max(1.0)).min(1.0)
            };
            Actual { startup, total, rows }
        })
        .collect();
    super::build::put_actual(&mut o, &acts);
    o.workers = super::build::worker_entries(parts, &acts);
    if let Node::Sort { keys, .. } = n {
        o.sort_key = Some(keys.clone());
        let p = instrument::subtree(&ctx.t.env, n, is_worker);
        if let Some(b) = p.breakers.last() {
            let (method, kb, ty) = crate::exec::compile::sort_method(&sc.settings, b, rows);
            if !method.is_empty() {
                o.sort_space = Some(super::SortSpace { method, space_kb: kb as i64, space_type: ty });
                if ty == "Disk" {
                    let temp = (kb / 8.0).ceil() as u64 * spans.len() as u64;
                    let b = o.buffers.get_or_insert_with(Buffers::default);
                    b.temp_read += temp;
                    b.temp_written += temp;
                }
            }
        }
    }
    if let Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } = n {
        if let Some(f) = filter.as_ref().filter(|f| !f.text.is_empty()) {
            o.filter = Some(f.text.clone());
            o.rows_removed_by_filter = Some((n.driving_tuples(&sc.tables) - rows).max(0.0).round() as i64);
        }
        let pages = sc.tables[*table].pages * spans.len() as f64;
        let access = if matches!(n, Node::IndexScan { .. }) { Access::Index } else { Access::Sequential };
        o.buffers = Some(ctx.pages(*table, pages, access));
    }
    let mut buffers = o.buffers.clone().unwrap_or_default();
    for (k, c) in n.children().into_iter().enumerate() {
        let child = static_node(ctx, c, if k == 0 { "Outer" } else { "Inner" }, parts, spans, whole_ns);
        if let Some(b) = &child.buffers {
            buffers.add(b);
        }
        o.plans.push(child);
    }
    o.buffers = Some(buffers);
    o
}

/// The outer and inner children of a Merge Join of the pipeline rooted at `root`.
pub(super) fn merge_children(ctx: &Ctx, root: &Node, n: &Node, parts: &[Part]) -> Vec<PlanNode> {
    let Node::MergeJoin { outer, inner, .. } = n else { return vec![] };
    let out = below_node(ctx, root, outer, Some("Outer"));
    let spans: Vec<f64> = parts.iter().map(|part| ctx.t.build_of(root, n, part).map_or(0.0, |(s, _)| s)).collect();
    let is_worker = parts.first().is_some_and(|p| p.is_worker);
    let whole = static_work(ctx, inner, is_worker).0;
    let inner = static_node(ctx, inner, "Inner", parts, &spans, whole);
    vec![out, inner]
}

/// The inputs of an Append of the pipeline rooted at `root`, each with its share.
pub(super) fn append_children(ctx: &Ctx, root: &Node, n: &Node) -> Vec<PlanNode> {
    let Node::Append { inputs, .. } = n else { return vec![] };
    let tables = &ctx.sc().tables;
    let w = input_weights(inputs, tables);
    let pages: Vec<f64> = inputs.iter().map(|i| input_pages(i, tables)).collect();
    let pages_sum: f64 = pages.iter().sum();
    let outer = ctx.share.get();
    let mut out = vec![];
    for (k, i) in inputs.iter().enumerate() {
        let pw = if pages_sum > 0.0 { pages[k] / pages_sum } else { w[k] };
        ctx.share.set((outer.0 * w[k], outer.1 * pw));
        out.push(below_node(ctx, root, i, Some("Member")));
    }
    ctx.share.set(outer);
    out
}

/// Pages of an Append input's driving scan (its table's, times an index scan's fraction).
fn input_pages(n: &Node, tables: &[Table]) -> f64 {
    match n {
        Node::SeqScan { table, .. } => tables.get(*table).map_or(0.0, |t| t.pages),
        Node::IndexScan { table, fraction, .. } => tables.get(*table).map_or(0.0, |t| t.pages * fraction),
        Node::Append { inputs, .. } => inputs.iter().map(|i| input_pages(i, tables)).sum(),
        _ => n.children().first().map_or(0.0, |c| input_pages(c, tables)),
    }
}

/// An Actual scaled to an Append input's share of the flow.
pub(super) fn scaled(a: Actual, share: f64) -> Actual {
    Actual { startup: a.startup * share, total: a.total * share, rows: a.rows }
}

/// Buffers of a list of children, added up.
pub(super) fn sum_buffers(kids: &[PlanNode]) -> Buffers {
    let mut b = Buffers::default();
    for k in kids {
        if let Some(x) = &k.buffers {
            b.add(x);
        }
    }
    b
}
