//! Plan shapes: the serial version of a plan, the usual parallel version of a serial plan
//! (the shape PostgreSQL 15 builds for it), and worker counts on Gather nodes. No costs.
//!
//! One parallel candidate per plan: PostgreSQL also weighs other parallel shapes (a
//! Sort above a Gather instead of Gather Merge, the join sides swapped so that the other
//! table drives the parallel scan, ...); pqsim keeps the scenario's join order and builds
//! the shape PostgreSQL usually picks for it.

use crate::model::{AggMode, Filter, JoinType, Node, SubPlan};

/// What the planner knows about scans, for building parallel shapes.
pub trait Eligibility {
    /// Whether this scan gets a partial path (Parallel Seq/Index Scan): its table is
    /// parallel-safe, passes the size rule (or has a positive `parallel_workers` option)
    /// and its quals are parallel-safe.
    fn partial_scan(&self, scan: &Node) -> bool;
    /// Whether a table may be read below a Gather at all (not temporary, quals safe).
    fn safe_table(&self, table: usize) -> bool;
    /// Whether this scan (non-partial) may run below a Gather.
    fn safe_scan(&self, scan: &Node) -> bool;
    /// `enable_parallel_hash`.
    fn parallel_hash(&self) -> bool;
    /// `enable_parallel_append`.
    fn parallel_append(&self) -> bool {
        true
    }
    /// Whether a scan that is an Append's input gets a partial path (the minimum size does
    /// not apply to append members).
    fn partial_member_scan(&self, scan: &Node) -> bool {
        self.partial_scan(scan)
    }
}

/// Whether an Append's input can be partial (a scan by the members' rule).
fn partialable_member(n: &Node, e: &dyn Eligibility) -> bool {
    match n {
        Node::SeqScan { .. } => e.partial_member_scan(n),
        _ => partialable(n, e),
    }
}

/// The plan PostgreSQL would run serially: Gather/Gather Merge removed, parallel scans
/// made plain, a Partial + Finalize aggregate pair merged into one simple aggregate,
/// Parallel Hash made a plain Hash.
pub fn serial_plan(n: &Node) -> Node {
    match n {
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => serial_plan(input),
        Node::SeqScan { table, filter, width, output, .. } => Node::SeqScan {
            table: *table,
            parallel: false,
            filter: filter.clone(),
            width: *width,
            output: output.clone(),
        },
        Node::IndexScan { table, filter, width, fraction, correlation, output, .. } => Node::IndexScan {
            table: *table,
            parallel: false,
            filter: filter.clone(),
            width: *width,
            fraction: *fraction,
            correlation: *correlation,
            output: output.clone(),
        },
        Node::Aggregate { mode, groups, aggregates, width, input, output } => {
            let input = match mode {
                AggMode::Finalize => strip_partial(input).unwrap_or_else(|| serial_plan(input)),
                _ => serial_plan(input),
            };
            // The merged aggregate does the Partial's per-row transitions.
            let aggregates = match mode {
                AggMode::Finalize => partial_aggregates(input_of(n)).unwrap_or(*aggregates),
                _ => *aggregates,
            };
            Node::Aggregate {
                mode: AggMode::Simple,
                groups: *groups,
                aggregates,
                width: *width,
                input: Box::new(input),
                output: output.clone(),
            }
        }
        Node::Sort { keys, input } => Node::Sort { keys: keys.clone(), input: Box::new(serial_plan(input)) },
        Node::Limit { count, input } => Node::Limit { count: *count, input: Box::new(serial_plan(input)) },
        Node::HashJoin { join_type, rows_per_outer, width, outer, inner, cond, output, .. } => Node::HashJoin {
            join_type: *join_type,
            parallel: false,
            rows_per_outer: *rows_per_outer,
            width: *width,
            outer: Box::new(serial_plan(outer)),
            inner: Box::new(serial_plan(inner)),
            cond: cond.clone(),
            output: output.clone(),
        },
        Node::NestedLoop { join_type, rows_per_outer, inner_table, width, outer, cond, output } => Node::NestedLoop {
            join_type: *join_type,
            rows_per_outer: *rows_per_outer,
            inner_table: *inner_table,
            width: *width,
            outer: Box::new(serial_plan(outer)),
            cond: cond.clone(),
            output: output.clone(),
        },
        Node::MergeJoin { .. } => map_children(n, serial_plan),
        Node::Append { width, inputs, subplans_removed, .. } => Node::Append {
            parallel: false,
            width: *width,
            inputs: inputs.iter().map(serial_plan).collect(),
            subplans_removed: *subplans_removed,
        },
    }
}

fn input_of(n: &Node) -> &Node {
    match n {
        Node::Aggregate { input, .. } => input,
        _ => n,
    }
}

/// The `aggregates` weight of the Partial aggregate below a Finalize one.
fn partial_aggregates(n: &Node) -> Option<f64> {
    match n {
        Node::Aggregate { mode: AggMode::Partial, aggregates, .. } => Some(*aggregates),
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } | Node::Sort { input, .. } => {
            partial_aggregates(input)
        }
        _ => None,
    }
}

/// Below a Finalize aggregate: through Gather / Gather Merge / Sort down to the Partial
/// aggregate, whose input (made serial) the merged simple aggregate reads.
fn strip_partial(n: &Node) -> Option<Node> {
    match n {
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } | Node::Sort { input, .. } => strip_partial(input),
        Node::Aggregate { mode: AggMode::Partial, input, .. } => Some(serial_plan(input)),
        _ => None,
    }
}

/// The plan with its (first) Gather or Gather Merge set to `workers`; `single_copy`
/// applies to a Gather.
pub fn with_workers(n: &Node, workers: u32, single_copy: bool) -> Node {
    fn go(n: &Node, workers: u32, single_copy: bool, done: &mut bool) -> Node {
        if *done {
            return n.clone();
        }
        match n {
            Node::Gather { input, .. } => {
                *done = true;
                Node::Gather { workers: Some(workers), single_copy, input: input.clone() }
            }
            Node::GatherMerge { input, .. } => {
                *done = true;
                Node::GatherMerge { workers: Some(workers), input: input.clone() }
            }
            _ => map_children(n, |c| go(c, workers, single_copy, done)),
        }
    }
    let mut done = false;
    go(n, workers, single_copy, &mut done)
}

/// The same node with each child replaced by `f(child)`.
pub fn map_children(n: &Node, mut f: impl FnMut(&Node) -> Node) -> Node {
    let mut n = n.clone();
    match &mut n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => {}
        Node::Aggregate { input, .. }
        | Node::Sort { input, .. }
        | Node::Limit { input, .. }
        | Node::Gather { input, .. }
        | Node::GatherMerge { input, .. } => **input = f(input),
        Node::HashJoin { outer, inner, .. } | Node::MergeJoin { outer, inner, .. } => {
            **outer = f(outer);
            **inner = f(inner);
        }
        Node::NestedLoop { outer, .. } => **outer = f(outer),
        Node::Append { inputs, .. } => inputs.iter_mut().for_each(|i| *i = f(i)),
    }
    n
}

fn join_allows_partial(join_type: JoinType) -> bool {
    // PostgreSQL 15 builds no partial paths for RIGHT or FULL joins
    // (joinpath.c:hash_inner_and_outer, match_unsorted_outer).
    join_type.allows_partial()
}

/// Whether a serial subtree could run entirely inside each participant, unsplit
/// (parallel-safe): the inner side of a parallel-oblivious join.
pub fn safe_subtree(n: &Node, e: &dyn Eligibility) -> bool {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => e.safe_scan(n),
        Node::NestedLoop { inner_table, outer, .. } => e.safe_table(*inner_table) && safe_subtree(outer, e),
        Node::Gather { .. } | Node::GatherMerge { .. } => false,
        _ => n.children().iter().all(|c| safe_subtree(c, e)),
    }
}

/// Whether a serial scan/join subtree can become a partial path.
pub fn partialable(n: &Node, e: &dyn Eligibility) -> bool {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => e.partial_scan(n),
        Node::HashJoin { join_type, outer, inner, .. } => {
            join_allows_partial(*join_type)
                && partialable(outer, e)
                && ((e.parallel_hash() && partialable(inner, e)) || safe_subtree(inner, e))
        }
        Node::NestedLoop { join_type, outer, inner_table, .. } => {
            join_allows_partial(*join_type) && e.safe_table(*inner_table) && partialable(outer, e)
        }
        // A partial merge join: a partial outer (sorted in each participant) and the whole
        // inner in every participant (joinpath.c: consider_parallel_mergejoin).
        Node::MergeJoin { join_type, outer, inner, .. } => {
            join_allows_partial(*join_type) && partialable_sorted(outer, e) && safe_subtree(inner, e)
        }
        // Parallel Append: some input partial, the others at least safe; a plain Append of
        // partial inputs when enable_parallel_append is off (allpaths.c:add_paths_to_append_rel).
        Node::Append { inputs, .. } => {
            let some = inputs.iter().any(|i| partialable_member(i, e));
            let all = inputs.iter().all(|i| partialable_member(i, e));
            let safe = inputs.iter().all(|i| partialable_member(i, e) || safe_subtree(i, e));
            if e.parallel_append() {
                some && safe
            } else {
                all
            }
        }
        _ => false,
    }
}

/// A partialable subtree, or a Sort over one (a merge join's outer side).
fn partialable_sorted(n: &Node, e: &dyn Eligibility) -> bool {
    match n {
        Node::Sort { input, .. } => partialable(input, e),
        _ => partialable(n, e),
    }
}

/// The partial version of a `partialable` subtree: scans parallel-aware, hash joins
/// Parallel Hash when the inner side has its own partial path and enable_parallel_hash is
/// on, parallel-oblivious (full inner in every participant) otherwise.
pub fn partial(n: &Node, e: &dyn Eligibility) -> Node {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => set_scan_parallel(n, true),
        Node::HashJoin { join_type, rows_per_outer, width, outer, inner, cond, output, .. } => {
            let ph = e.parallel_hash() && partialable(inner, e);
            Node::HashJoin {
                join_type: *join_type,
                parallel: ph,
                rows_per_outer: *rows_per_outer,
                width: *width,
                outer: Box::new(partial(outer, e)),
                inner: Box::new(if ph { partial(inner, e) } else { serial_plan(inner) }),
                cond: cond.clone(),
                output: output.clone(),
            }
        }
        Node::NestedLoop { .. } => map_children(n, |c| partial(c, e)),
        Node::MergeJoin { outer, inner, .. } => {
            let mut m = n.clone();
            if let Node::MergeJoin { outer: o, inner: i, .. } = &mut m {
                **o = match outer.as_ref() {
                    Node::Sort { keys, input } => Node::Sort { keys: keys.clone(), input: Box::new(partial(input, e)) },
                    x => partial(x, e),
                };
                **i = serial_plan(inner);
            }
            m
        }
        Node::Append { width, inputs, subplans_removed, .. } => Node::Append {
            parallel: e.parallel_append(),
            width: *width,
            inputs: inputs
                .iter()
                .map(|i| if partialable_member(i, e) { partial(i, e) } else { serial_plan(i) })
                .collect(),
            subplans_removed: *subplans_removed,
        },
        other => other.clone(),
    }
}

fn set_scan_parallel(n: &Node, parallel: bool) -> Node {
    let mut n = n.clone();
    match &mut n {
        Node::SeqScan { parallel: p, .. } | Node::IndexScan { parallel: p, .. } => *p = parallel,
        _ => {}
    }
    n
}

/// The parallel version PostgreSQL usually builds for a serial plan, with the Gather's
/// worker count left open (`None`), or `None` when no part of it can run in parallel:
/// * Aggregate over a scan/join -> Finalize Aggregate, Gather, Partial Aggregate;
/// * Aggregate over a Sort over a scan/join (grouped, sorted) -> Finalize GroupAggregate,
///   Gather Merge, Sort, Partial HashAggregate;
/// * Sort over a scan/join -> Gather Merge over a Sort in each participant;
/// * Limit over X -> Limit over the parallel X;
/// * a scan/join -> Gather over its partial version;
/// * a join that cannot run below a Gather (RIGHT/FULL join, a temporary or otherwise
///   restricted table on its inner side) keeps running in the leader, with the Gather
///   pushed down to its outer side.
pub fn parallelize(n: &Node, e: &dyn Eligibility) -> Option<Node> {
    match n {
        Node::Limit { count, input } => Some(Node::Limit { count: *count, input: Box::new(parallelize(input, e)?) }),
        Node::Sort { keys, input } => {
            if partialable(input, e) {
                Some(Node::GatherMerge {
                    workers: None,
                    input: Box::new(Node::Sort { keys: keys.clone(), input: Box::new(partial(input, e)) }),
                })
            } else {
                Some(Node::Sort { keys: keys.clone(), input: Box::new(parallelize(input, e)?) })
            }
        }
        Node::Aggregate { groups, aggregates, width, input, output, .. } => {
            let agg = |mode, input: Node| Node::Aggregate {
                mode,
                groups: *groups,
                aggregates: *aggregates,
                width: *width,
                input: Box::new(input),
                output: output.clone(),
            };
            if partialable(input, e) {
                return Some(agg(
                    AggMode::Finalize,
                    Node::Gather {
                        workers: None,
                        single_copy: false,
                        input: Box::new(agg(AggMode::Partial, partial(input, e))),
                    },
                ));
            }
            if let Node::Sort { keys, input: sorted } = &**input {
                if *groups > 1.0 && partialable(sorted, e) {
                    return Some(agg(
                        AggMode::Finalize,
                        Node::GatherMerge {
                            workers: None,
                            input: Box::new(Node::Sort {
                                keys: keys.clone(),
                                input: Box::new(agg(AggMode::Partial, partial(sorted, e))),
                            }),
                        },
                    ));
                }
            }
            Some(agg(AggMode::Simple, parallelize(input, e)?))
        }
        Node::SeqScan { .. }
        | Node::IndexScan { .. }
        | Node::HashJoin { .. }
        | Node::NestedLoop { .. }
        | Node::MergeJoin { .. }
        | Node::Append { .. } => {
            if partialable(n, e) {
                return Some(Node::Gather { workers: None, single_copy: false, input: Box::new(partial(n, e)) });
            }
            match n {
                Node::HashJoin { outer, .. } | Node::NestedLoop { outer, .. } => {
                    let par_outer = parallelize(outer, e)?;
                    let mut m = n.clone();
                    if let Node::HashJoin { outer, .. } | Node::NestedLoop { outer, .. } = &mut m {
                        **outer = par_outer;
                    }
                    Some(m)
                }
                _ => None,
            }
        }
        Node::Gather { .. } | Node::GatherMerge { .. } => None,
    }
}

/// A scenario's own parallel plan, checked against what PostgreSQL can build: the
/// driving scan must get a partial path (else `None`), a Parallel Hash whose inner side
/// cannot be partial becomes a parallel-oblivious Hash Join; an inner side that may not run
/// below a Gather makes the shape impossible (`None`: the caller falls back to
/// [`parallelize`] of the serial plan).
pub fn check_parallel(n: &Node, e: &dyn Eligibility) -> Option<Node> {
    match n {
        Node::Gather { single_copy: false, workers, input } => {
            Some(Node::Gather { workers: *workers, single_copy: false, input: Box::new(check_partial(input, e)?) })
        }
        Node::GatherMerge { workers, input } => {
            Some(Node::GatherMerge { workers: *workers, input: Box::new(check_partial(input, e)?) })
        }
        Node::Gather { single_copy: true, .. } => None,
        _ => {
            let mut ok = true;
            let out = map_children(n, |c| match check_parallel_or_keep(c, e) {
                Some(x) => x,
                None => {
                    ok = false;
                    c.clone()
                }
            });
            ok.then_some(out)
        }
    }
}

fn check_parallel_or_keep(n: &Node, e: &dyn Eligibility) -> Option<Node> {
    if n.find_gather().is_some() {
        check_parallel(n, e)
    } else {
        Some(n.clone())
    }
}

/// [`check_partial`] of an Append's input (a scan by the members' rule).
fn check_partial_member(n: &Node, e: &dyn Eligibility) -> Option<Node> {
    match n {
        Node::SeqScan { parallel: true, .. } if e.partial_member_scan(n) => Some(n.clone()),
        _ => check_partial(n, e),
    }
}

fn check_partial(n: &Node, e: &dyn Eligibility) -> Option<Node> {
    match n {
        Node::SeqScan { parallel, .. } | Node::IndexScan { parallel, .. } => {
            (*parallel && e.partial_scan(n)).then(|| n.clone())
        }
        Node::Aggregate { .. } | Node::Sort { .. } | Node::Limit { .. } => {
            let mut ok = true;
            let out = map_children(n, |c| {
                check_partial(c, e).unwrap_or_else(|| {
                    ok = false;
                    c.clone()
                })
            });
            ok.then_some(out)
        }
        Node::HashJoin { join_type, parallel, rows_per_outer, width, outer, inner, cond, output } => {
            if !join_allows_partial(*join_type) {
                return None;
            }
            let outer = check_partial(outer, e)?;
            let serial_inner = serial_plan(inner);
            let (ph, inner) = if *parallel && e.parallel_hash() && partialable(&serial_inner, e) {
                (true, partial(&serial_inner, e))
            } else if safe_subtree(&serial_inner, e) {
                (false, serial_inner)
            } else {
                return None;
            };
            Some(Node::HashJoin {
                join_type: *join_type,
                parallel: ph,
                rows_per_outer: *rows_per_outer,
                width: *width,
                outer: Box::new(outer),
                inner: Box::new(inner),
                cond: cond.clone(),
                output: output.clone(),
            })
        }
        Node::NestedLoop { join_type, inner_table, outer, .. } => {
            if !join_allows_partial(*join_type) || !e.safe_table(*inner_table) {
                return None;
            }
            let o = check_partial(outer, e)?;
            Some(map_children(n, |_| o.clone()))
        }
        Node::MergeJoin { join_type, outer, inner, .. } => {
            let serial_inner = serial_plan(inner);
            if !join_allows_partial(*join_type) || !safe_subtree(&serial_inner, e) {
                return None;
            }
            let o = check_partial(outer, e)?;
            let mut k = 0;
            Some(map_children(n, |_| {
                k += 1;
                if k == 1 {
                    o.clone()
                } else {
                    serial_inner.clone()
                }
            }))
        }
        Node::Append { parallel, inputs, .. } => {
            let mut out = vec![];
            for i in inputs {
                if i.has_parallel_aware() {
                    out.push(check_partial_member(i, e)?);
                } else if *parallel && safe_subtree(i, e) {
                    out.push(i.clone());
                } else {
                    return None;
                }
            }
            let mut m = n.clone();
            if let Node::Append { inputs, .. } = &mut m {
                *inputs = out;
            }
            Some(m)
        }
        Node::Gather { .. } | Node::GatherMerge { .. } => None,
    }
}

/// Most join-order variants [`join_order_variants`] returns (2^4: four inner joins).
pub const MAX_JOIN_VARIANTS: usize = 16;

/// The plan with the sides of its inner hash joins swapped in every combination (the
/// plan itself first), as PostgreSQL tries both orders of a join (`add_paths_to_joinrel`
/// with the relations swapped). `rel_rows` gives a subtree's row estimate, to restate
/// `rows_per_outer` for the new outer side. Other join types keep their order.
pub fn join_order_variants(n: &Node, rel_rows: &dyn Fn(&Node) -> f64) -> Vec<Node> {
    let mut out = match n {
        Node::HashJoin { join_type, rows_per_outer, width, outer, inner, cond, output, .. } => {
            let outers = join_order_variants(outer, rel_rows);
            let inners = join_order_variants(inner, rel_rows);
            let mut v = vec![];
            for o in &outers {
                for i in &inners {
                    let join = |outer: &Node, inner: &Node, rpo: f64| Node::HashJoin {
                        join_type: *join_type,
                        parallel: false,
                        rows_per_outer: rpo,
                        width: *width,
                        outer: Box::new(outer.clone()),
                        inner: Box::new(inner.clone()),
                        cond: cond.clone(),
                        output: output.clone(),
                    };
                    v.push(join(o, i, *rows_per_outer));
                    if *join_type == JoinType::Inner {
                        let rows = rel_rows(o) * rows_per_outer;
                        let inner_rows = rel_rows(i).max(1.0);
                        v.push(join(i, o, rows / inner_rows));
                    }
                }
            }
            v
        }
        // PostgreSQL tries both orders of a merge join too; each side keeps its own Sort.
        Node::MergeJoin { join_type: JoinType::Inner, rows_per_outer, outer, inner, .. } => {
            let rows = rel_rows(outer) * rows_per_outer;
            let inner_rows = rel_rows(inner).max(1.0);
            let mut swapped = n.clone();
            if let Node::MergeJoin { outer: o, inner: i, rows_per_outer: r, .. } = &mut swapped {
                std::mem::swap(o, i);
                *r = rows / inner_rows;
            }
            vec![n.clone(), swapped]
        }
        _ => {
            let mut v = vec![n.clone()];
            for (k, child) in n.children().into_iter().enumerate() {
                let alts = join_order_variants(child, rel_rows);
                let mut next = vec![];
                for base in &v {
                    for alt in &alts {
                        let mut idx = 0;
                        next.push(map_children(base, |c| {
                            let r = if idx == k { alt.clone() } else { c.clone() };
                            idx += 1;
                            r
                        }));
                    }
                }
                v = next;
            }
            v
        }
    };
    out.truncate(MAX_JOIN_VARIANTS);
    out
}

/// The scan that drives a (sub)plan: follow inputs and outer sides down to a scan.
pub fn driving_scan(n: &Node) -> &Node {
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => n,
        Node::Aggregate { input, .. }
        | Node::Sort { input, .. }
        | Node::Limit { input, .. }
        | Node::Gather { input, .. }
        | Node::GatherMerge { input, .. } => driving_scan(input),
        Node::HashJoin { outer, .. } | Node::NestedLoop { outer, .. } | Node::MergeJoin { outer, .. } => {
            driving_scan(outer)
        }
        Node::Append { inputs, .. } => inputs.first().map_or(n, driving_scan),
    }
}

/// Every scan of a plan with whether it runs below a Gather, in plan order.
pub fn scans(n: &Node) -> Vec<(&Node, bool)> {
    fn go<'a>(n: &'a Node, below: bool, out: &mut Vec<(&'a Node, bool)>) {
        match n {
            Node::SeqScan { .. } | Node::IndexScan { .. } => out.push((n, below)),
            _ => {
                let b = below || n.is_gather();
                for c in n.children() {
                    go(c, b, out);
                }
            }
        }
    }
    let mut out = vec![];
    go(n, false, &mut out);
    out
}

/// Apply `f` to every SubPlan of the plan's scan filters.
pub fn map_subplans(n: &Node, f: &dyn Fn(&SubPlan) -> SubPlan) -> Node {
    let fix = |flt: &Option<Filter>| -> Option<Filter> {
        flt.as_ref().map(|x| Filter { subplan: x.subplan.as_ref().map(f), ..x.clone() })
    };
    match n {
        Node::SeqScan { table, parallel, filter, width, output } => Node::SeqScan {
            table: *table,
            parallel: *parallel,
            filter: fix(filter),
            width: *width,
            output: output.clone(),
        },
        Node::IndexScan { table, parallel, filter, width, fraction, correlation, output } => Node::IndexScan {
            table: *table,
            parallel: *parallel,
            filter: fix(filter),
            width: *width,
            fraction: *fraction,
            correlation: *correlation,
            output: output.clone(),
        },
        _ => map_children(n, |c| map_subplans(c, f)),
    }
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
