//! The plan tree of a scenario file: `[plan]` nodes -> `model::Node`.

use super::{non_negative, positive, Ctx};
use crate::error::Result;
use crate::model::*;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubPlan {
    table: Spanned<String>,
    width: Option<Spanned<f64>>,
    rows: Option<Spanned<f64>>,
    #[serde(default)]
    text: String,
    keys: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNode {
    node: Spanned<String>,
    table: Option<Spanned<String>>,
    parallel: Option<bool>,
    filter: Option<String>,
    selectivity: Option<Spanned<f64>>,
    operators: Option<Spanned<f64>>,
    /// Share of the rows reaching each AND-ed clause of `filter`.
    clause_reach: Option<Vec<Spanned<f64>>>,
    subplan: Option<RawSubPlan>,
    width: Option<Spanned<f64>>,
    fraction: Option<Spanned<f64>>,
    correlation: Option<Spanned<f64>>,
    mode: Option<Spanned<String>>,
    groups: Option<Spanned<f64>>,
    aggregates: Option<Spanned<f64>>,
    keys: Option<Vec<String>>,
    count: Option<Spanned<f64>>,
    workers: Option<Spanned<i64>>,
    single_copy: Option<bool>,
    join_type: Option<Spanned<String>>,
    rows_per_outer: Option<Spanned<f64>>,
    cond: Option<String>,
    inner_table: Option<Spanned<String>>,
    /// EXPLAIN VERBOSE `Output` of the node (aggregate calls for an Aggregate).
    output: Option<Vec<String>>,
    input: Option<Box<Spanned<RawNode>>>,
    outer: Option<Box<Spanned<RawNode>>>,
    inner: Option<Box<Spanned<RawNode>>>,
    /// An Append's inputs, in order (`[[plan....inputs]]`).
    inputs: Option<Vec<Spanned<RawNode>>>,
    /// An Append's `Subplans Removed` (partitions pruned at executor start-up).
    subplans_removed: Option<Spanned<i64>>,
}

fn table_ref(ctx: &Ctx, tables: &[Table], t: &Option<Spanned<String>>, n: &Spanned<RawNode>) -> Result<usize> {
    let t =
        t.as_ref().ok_or_else(|| ctx.err(Some(n.span()), format!("{} needs a `table`", n.get_ref().node.get_ref())))?;
    tables.iter().position(|x| &x.name == t.get_ref()).ok_or_else(|| {
        ctx.err(Some(t.span()), format!("unknown table \"{}\" (define it in a [[table]] section)", t.get_ref()))
    })
}

pub(super) fn fraction(ctx: &Ctx, v: &Option<Spanned<f64>>, what: &str, default: f64) -> Result<f64> {
    match v {
        None => Ok(default),
        Some(s) => {
            let x = *s.get_ref();
            if !(0.0..=1.0).contains(&x) {
                return Err(ctx.err(Some(s.span()), format!("{what} must be between 0 and 1, got {x}")));
            }
            Ok(x)
        }
    }
}

fn filter_from_raw(ctx: &Ctx, r: &RawNode, tables: &[Table]) -> Result<Option<Filter>> {
    if r.filter.is_none() && r.selectivity.is_none() && r.subplan.is_none() && r.clause_reach.is_none() {
        return Ok(None);
    }
    let selectivity = fraction(ctx, &r.selectivity, "selectivity", 1.0)?;
    let operators = match &r.operators {
        Some(o) => non_negative(ctx, o, "operators")?,
        None => 1.0,
    };
    let subplan = match &r.subplan {
        None => None,
        Some(s) => {
            let idx = tables
                .iter()
                .position(|x| &x.name == s.table.get_ref())
                .ok_or_else(|| ctx.err(Some(s.table.span()), format!("unknown table \"{}\"", s.table.get_ref())))?;
            let width = match &s.width {
                Some(w) => positive(ctx, w, "subplan.width")?,
                None => 8.0,
            };
            let rows = match &s.rows {
                Some(w) => non_negative(ctx, w, "subplan.rows")?,
                None => tables[idx].rows,
            };
            // Hashed as the plan's filter says until the planner decides (planner::decide).
            let hashed = crate::model::written_hashed(r.filter.as_deref().unwrap_or(""), &s.text);
            let keys =
                match &s.keys {
                    Some(k) if k.get_ref().len() == 2 && k.get_ref().iter().all(|c| !c.is_empty()) => {
                        Some([k.get_ref()[0].clone(), k.get_ref()[1].clone()])
                    }
                    Some(k) => return Err(ctx.err(
                        Some(k.span()),
                        "subplan.keys: give the outer column and the subquery's column, e.g. [\"session_id\", \"id\"]"
                            .to_string(),
                    )),
                    None => None,
                };
            Some(SubPlan { table: idx, width, rows, text: s.text.clone(), hashed, gather_workers: None, keys })
        }
    };
    let reach: Vec<f64> = match &r.clause_reach {
        None => vec![],
        Some(v) => v.iter().map(|x| fraction(ctx, &Some(x.clone()), "clause_reach", 1.0)).collect::<Result<_>>()?,
    };
    // One share per AND-ed clause of the filter, as the model splits it.
    let clauses = r.filter.as_deref().map_or(0, |t| crate::model::expr::split_and(t).len());
    if !reach.is_empty() && reach.len() != clauses {
        let span = r.clause_reach.as_ref().and_then(|v| v.first()).map(|x| x.span());
        return Err(ctx.err(
            span,
            format!("clause_reach has {} values; the filter has {clauses} AND-ed clause(s), one each", reach.len()),
        ));
    }
    Ok(Some(Filter { text: r.filter.clone().unwrap_or_default(), selectivity, operators, subplan, reach }))
}

pub(super) fn node_from_raw(ctx: &Ctx, n: &Spanned<RawNode>, tables: &[Table], pinned: &mut bool) -> Result<Node> {
    let r = n.get_ref();
    let kind = r.node.get_ref().as_str();
    let sub = |c: &Option<Box<Spanned<RawNode>>>, which: &str, pinned: &mut bool| -> Result<Box<Node>> {
        match c {
            Some(c) => Ok(Box::new(node_from_raw(ctx, c, tables, pinned)?)),
            None => Err(ctx.err(Some(n.span()), format!("{kind} needs an `{which}` node"))),
        }
    };
    let width_or = |default: f64| -> Result<f64> {
        match &r.width {
            Some(w) => non_negative(ctx, w, "width"),
            None => Ok(default),
        }
    };
    let workers = |pinned: &mut bool| -> Result<Option<u32>> {
        match &r.workers {
            None => Ok(None),
            Some(w) if !(0..=1024).contains(w.get_ref()) => {
                Err(ctx.err(Some(w.span()), format!("workers must be between 0 and 1024, got {}", w.get_ref())))
            }
            Some(w) => {
                *pinned = true;
                Ok(Some(*w.get_ref() as u32))
            }
        }
    };
    let output = r.output.clone().unwrap_or_default();
    let node = match kind {
        "Seq Scan" | "Parallel Seq Scan" => {
            let table = table_ref(ctx, tables, &r.table, n)?;
            Node::SeqScan {
                table,
                parallel: r.parallel.unwrap_or(kind.starts_with("Parallel")),
                filter: filter_from_raw(ctx, r, tables)?,
                width: width_or(tables[table].width)?,
                output: output.clone(),
            }
        }
        "Index Scan" | "Parallel Index Scan" | "Index Only Scan" => {
            let table = table_ref(ctx, tables, &r.table, n)?;
            Node::IndexScan {
                table,
                parallel: r.parallel.unwrap_or(kind.starts_with("Parallel")),
                filter: filter_from_raw(ctx, r, tables)?,
                width: width_or(tables[table].width)?,
                fraction: fraction(ctx, &r.fraction, "fraction", 1.0)?,
                correlation: fraction(ctx, &r.correlation, "correlation", 1.0)?,
                output: output.clone(),
            }
        }
        "Aggregate" | "Partial Aggregate" | "Finalize Aggregate" => {
            let mode = agg_mode(ctx, r, kind)?;
            let groups = match &r.groups {
                Some(g) => positive(ctx, g, "groups")?,
                None => 1.0,
            };
            // Without `aggregates`, the number of aggregate calls in `output`.
            let scope = crate::model::expr::Scope::new(tables.iter().collect());
            let calls: usize = output.iter().map(|o| crate::model::expr::classify_aggregates(o, &scope).len()).sum();
            let aggregates = match &r.aggregates {
                Some(g) => non_negative(ctx, g, "aggregates")?,
                None if calls > 0 => calls as f64,
                None => 1.0,
            };
            Node::Aggregate {
                mode,
                groups,
                aggregates,
                width: width_or(8.0 * aggregates.max(1.0))?,
                input: sub(&r.input, "input", pinned)?,
                output: output.clone(),
            }
        }
        "Sort" => Node::Sort { keys: r.keys.clone().unwrap_or_default(), input: sub(&r.input, "input", pinned)? },
        "Limit" => {
            let count = match &r.count {
                Some(c) => non_negative(ctx, c, "count")?,
                None => return Err(ctx.err(Some(n.span()), "Limit needs a `count`")),
            };
            Node::Limit { count, input: sub(&r.input, "input", pinned)? }
        }
        "Gather" | "Gather Merge" => {
            let w = workers(pinned)?;
            let input = sub(&r.input, "input", pinned)?;
            let single_copy = r.single_copy.unwrap_or(false);
            check_gather(ctx, n, kind, single_copy, &input)?;
            if kind == "Gather" {
                Node::Gather { workers: w, single_copy, input }
            } else {
                Node::GatherMerge { workers: w, input }
            }
        }
        "Hash Join" | "Parallel Hash Join" => {
            let outer = sub(&r.outer, "outer", pinned)?;
            let inner = sub(&r.inner, "inner", pinned)?;
            let parallel = r.parallel.unwrap_or(kind.starts_with("Parallel"));
            if parallel && !inner.has_parallel_aware() {
                return Err(ctx.err(Some(n.span()), "Parallel Hash Join needs a parallel-aware inner (its Hash input must be a Parallel Seq Scan)"));
            }
            let rpo = rows_per_outer(ctx, r)?;
            let width = width_or(outer.width() + inner.width())?;
            Node::HashJoin {
                join_type: join_type(ctx, r)?,
                parallel,
                rows_per_outer: rpo,
                width,
                outer,
                inner,
                cond: r.cond.clone().unwrap_or_default(),
                output: output.clone(),
            }
        }
        "Nested Loop" => {
            let outer = sub(&r.outer, "outer", pinned)?;
            let it = r.inner_table.as_ref().ok_or_else(|| ctx.err(Some(n.span()), "Nested Loop needs `inner_table` (the table its inner Index Scan reads)"))?;
            let inner_table = tables
                .iter()
                .position(|x| &x.name == it.get_ref())
                .ok_or_else(|| ctx.err(Some(it.span()), format!("unknown table \"{}\"", it.get_ref())))?;
            let rpo = rows_per_outer(ctx, r)?;
            let width = width_or(outer.width() + tables[inner_table].width)?;
            Node::NestedLoop {
                join_type: join_type(ctx, r)?,
                rows_per_outer: rpo,
                inner_table,
                width,
                outer,
                cond: r.cond.clone().unwrap_or_default(),
                output: output.clone(),
            }
        }
        "Merge Join" => merge_join_from_raw(ctx, n, tables, pinned)?,
        "Append" | "Parallel Append" => append_from_raw(ctx, n, kind, tables, pinned)?,
        other => {
            return Err(ctx.err(
                Some(r.node.span()),
                format!("unknown node type \"{other}\" (supported: Seq Scan, Index Scan, Aggregate, Sort, Limit, Gather, Gather Merge, Hash Join, Nested Loop, Merge Join, Append, Parallel Append)"),
            ))
        }
    };
    Ok(node)
}

/// A Merge Join: `outer` (sorted on the key) and `inner`, which every participant reads whole
/// (so nothing parallel-aware and no Gather on that side).
fn merge_join_from_raw(ctx: &Ctx, n: &Spanned<RawNode>, tables: &[Table], pinned: &mut bool) -> Result<Node> {
    let r = n.get_ref();
    let side = |c: &Option<Box<Spanned<RawNode>>>, which: &str, pinned: &mut bool| -> Result<Box<Node>> {
        match c {
            Some(c) => Ok(Box::new(node_from_raw(ctx, c, tables, pinned)?)),
            None => Err(ctx.err(Some(n.span()), format!("Merge Join needs an `{which}` node"))),
        }
    };
    let outer = side(&r.outer, "outer", pinned)?;
    let inner = side(&r.inner, "inner", pinned)?;
    if inner.has_parallel_aware() || inner.find_gather().is_some() {
        return Err(ctx.err(
            Some(n.span()),
            "a Merge Join's inner side is read whole by every participant: it cannot be parallel-aware or hold a Gather",
        ));
    }
    let width = match &r.width {
        Some(w) => non_negative(ctx, w, "width")?,
        None => outer.width() + inner.width(),
    };
    Ok(Node::MergeJoin {
        join_type: join_type(ctx, r)?,
        rows_per_outer: rows_per_outer(ctx, r)?,
        width,
        outer,
        inner,
        cond: r.cond.clone().unwrap_or_default(),
        output: r.output.clone().unwrap_or_default(),
    })
}

/// An Append (Parallel Append): its `inputs`, each a scan or a join over scans (no Sort,
/// Aggregate, Limit or Gather: the model runs the inputs as one stream of rows).
fn append_from_raw(ctx: &Ctx, n: &Spanned<RawNode>, kind: &str, tables: &[Table], pinned: &mut bool) -> Result<Node> {
    let r = n.get_ref();
    let raw = r.inputs.as_deref().unwrap_or_default();
    if raw.is_empty() {
        return Err(ctx.err(Some(n.span()), format!("{kind} needs `inputs` ([[...inputs]] tables, one per input)")));
    }
    let mut inputs = vec![];
    for i in raw {
        let node = node_from_raw(ctx, i, tables, pinned)?;
        if !node.streams_from_scans() {
            return Err(ctx.err(
                Some(i.span()),
                "an Append input must be a scan or a join of scans (a Sort, Aggregate, Limit or Gather below an Append is not modelled)",
            ));
        }
        inputs.push(node);
    }
    let parallel = r.parallel.unwrap_or(kind.starts_with("Parallel"));
    if parallel && !inputs.iter().any(Node::has_parallel_aware) {
        return Err(ctx.err(Some(n.span()), "a Parallel Append needs at least one parallel-aware input"));
    }
    let subplans_removed = match &r.subplans_removed {
        None => 0,
        Some(v) if (0..=i64::from(u32::MAX)).contains(v.get_ref()) => *v.get_ref() as u32,
        Some(v) => {
            return Err(ctx.err(Some(v.span()), format!("subplans_removed must be 0 or more, got {}", v.get_ref())))
        }
    };
    let width = match &r.width {
        Some(w) => non_negative(ctx, w, "width")?,
        None => inputs.iter().map(Node::width).fold(0.0, f64::max),
    };
    Ok(Node::Append { parallel, width, inputs, subplans_removed })
}

/// An Aggregate's mode: `mode = "..."`, else from the node name.
fn agg_mode(ctx: &Ctx, r: &RawNode, kind: &str) -> Result<AggMode> {
    Ok(match r.mode.as_ref().map(|m| m.get_ref().as_str()) {
        None if kind == "Partial Aggregate" => AggMode::Partial,
        None if kind == "Finalize Aggregate" => AggMode::Finalize,
        None | Some("Simple") => AggMode::Simple,
        Some("Partial") => AggMode::Partial,
        Some("Finalize") => AggMode::Finalize,
        Some(other) => {
            return Err(ctx.err(
                r.mode.as_ref().map(|m| m.span()),
                format!("mode must be Simple, Partial or Finalize, not \"{other}\""),
            ))
        }
    })
}

/// What a Gather / Gather Merge needs below it.
fn check_gather(ctx: &Ctx, n: &Spanned<RawNode>, kind: &str, single_copy: bool, input: &Node) -> Result<()> {
    if kind == "Gather Merge" && single_copy {
        return Err(ctx.err(Some(n.span()), "Gather Merge cannot be single-copy"));
    }
    if !single_copy && !input.has_parallel_aware() {
        return Err(ctx.err(
            Some(n.span()),
            format!("{kind} has no parallel-aware node below it (e.g. a Seq Scan with parallel = true): every worker would run the whole plan"),
        ));
    }
    if input.find_gather().is_some() {
        return Err(ctx.err(Some(n.span()), format!("{kind} below another Gather is not possible")));
    }
    Ok(())
}

fn rows_per_outer(ctx: &Ctx, r: &RawNode) -> Result<f64> {
    match &r.rows_per_outer {
        Some(v) => non_negative(ctx, v, "rows_per_outer"),
        None => Ok(1.0),
    }
}

fn join_type(ctx: &Ctx, r: &RawNode) -> Result<JoinType> {
    match &r.join_type {
        None => Ok(JoinType::Inner),
        Some(j) => JoinType::parse(j.get_ref()).ok_or_else(|| {
            let names: Vec<&str> = JoinType::ALL.iter().map(|j| j.name()).collect();
            ctx.err(Some(j.span()), format!("join_type must be one of {}, not \"{}\"", names.join(", "), j.get_ref()))
        }),
    }
}
