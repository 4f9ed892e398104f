//! Per-node actual times as PostgreSQL's `instrument.c` counts them, from a simulated run.
//!
//! A node's clock runs only inside its own calls (entry to return), children included:
//! "Actual Startup Time" is that in-node time when the first call returned (a row, or the end
//! of data), "Actual Total Time" when the last one did. Each process times its own copy from
//! its own first call; EXPLAIN shows the sum over processes divided by loops.
//!
//! What that means for the simulated processes:
//! - builds (Hash, a hashed SubPlan) run inside the first call of the node that owns them, so
//!   they count in that node and its ancestors, never in a sibling;
//! - the streaming part of a participant's pipeline (scan, quals, joins, the first breaker's
//!   per-row work) is one simulated flow; the share of its in-node time spent in a subtree is
//!   the subtree's share of the flow's work per scanned tuple;
//! - a worker's time blocked on a full tuple queue (MessageQueueSend) and its work writing rows
//!   into the queue happen outside every node; the leader's work for the operators above the
//!   Gather happens outside the Gather;
//! - the leader's own share of a parallel scan interleaves with reading the workers' queues, so
//!   its in-node time is the work of its share at one core;
//! - a Gather counts its parallel set-up, the leader's waits for tuples and, at the end, its
//!   wait for the workers to finish (ParallelFinish), as `ExecShutdownNode` times it.

use crate::exec::compile::Breaker;
use crate::exec::instrument::{self, TopWork};
use crate::exec::{Compiled, Env, Mode, ProcessResult, SimResult};
use crate::model::hash_table::join_table;
use crate::model::*;

pub(crate) const MS: f64 = 1e6;

pub(crate) fn ms(t: u64) -> f64 {
    t as f64 / MS
}

/// One participant's actuals of one node (ms, rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actual {
    pub startup: f64,
    pub total: f64,
    pub rows: f64,
}

impl Actual {
    /// From in-node total time and rows: the first return comes after `1/rows` of the work
    /// (rows flow evenly), plus `before` (builds run inside the first call); no row: the only
    /// return is at the end.
    fn streaming(before: f64, stream: f64, rows: f64) -> Actual {
        let total = before + stream.max(0.0);
        let startup = if rows < 0.5 { total } else { before + stream.max(0.0) * (1.0 / rows).min(1.0) };
        Actual { startup, total, rows }
    }
}

/// How a participant's times are measured.
pub struct Part<'a> {
    pub p: &'a ProcessResult,
    pub is_worker: bool,
    /// The leader's share of a parallel plan (work-based, see the module docs).
    pub leader_in_gather: bool,
    /// The participant's first call (ms since query start).
    pub t0: f64,
}

/// Everything the per-node arithmetic needs.
pub struct Timing<'a> {
    pub sc: &'a Scenario,
    pub env: Env<'a>,
    pub c: &'a Compiled,
    pub r: &'a SimResult,
}

/// Build owners in the order `compile::pipeline` lists a pipeline's builds.
pub fn build_owners<'n>(n: &'n Node, is_worker: bool, out: &mut Vec<&'n Node>) {
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
            if let Some(sp) = filter.as_ref().and_then(|f| f.subplan.as_ref()) {
                if sp.hashed || !is_worker {
                    out.push(n);
                }
            }
        }
        Node::HashJoin { outer, inner, .. } => {
            build_owners(inner, is_worker, out);
            out.push(n);
            build_owners(outer, is_worker, out);
        }
        Node::NestedLoop { outer, .. } => build_owners(outer, is_worker, out),
        Node::MergeJoin { outer, inner, .. } => {
            build_owners(inner, is_worker, out);
            out.push(n);
            build_owners(outer, is_worker, out);
        }
        Node::Append { inputs, .. } => inputs.iter().for_each(|i| build_owners(i, is_worker, out)),
        Node::Aggregate { input, .. }
        | Node::Sort { input, .. }
        | Node::Limit { input, .. }
        | Node::Gather { input, .. }
        | Node::GatherMerge { input, .. } => build_owners(input, is_worker, out),
    }
}

fn contains(root: &Node, x: &Node) -> bool {
    std::ptr::eq(root, x) || root.children().into_iter().any(|c| contains(c, x))
}

/// The streaming top of a pipeline: below breakers and Limits.
fn streaming_top(n: &Node) -> &Node {
    match n {
        Node::Aggregate { input, .. } | Node::Sort { input, .. } | Node::Limit { input, .. } => streaming_top(input),
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => streaming_top(input),
        _ => n,
    }
}

impl Timing<'_> {
    /// A time of the participant in ms since its first call.
    fn part_ms(&self, part: &Part, t: Option<u64>) -> f64 {
        t.map_or(0.0, |t| (ms(t) - part.t0).max(0.0))
    }

    /// Durations (ms) of each build of the participant, in build order.
    fn build_spans(&self, part: &Part) -> Vec<f64> {
        let mut prev = 0.0;
        part.p
            .ms
            .builds_end
            .iter()
            .map(|t| {
                let e = self.part_ms(part, Some(*t));
                let d = (e - prev).max(0.0);
                prev = e;
                d
            })
            .collect()
    }

    /// The nodes owning the participant's builds, in build order.
    fn owners<'n>(&self, root: &'n Node, part: &Part) -> Vec<&'n Node> {
        let mut owners = vec![];
        build_owners(root, part.is_worker, &mut owners);
        if self.r.subplan_gather.is_some() {
            // The SubPlan's hash table (or tuplestore) is filled by its Gather, not by a build of
            // the main plan.
            owners.retain(|o| matches!(o, Node::HashJoin { .. }));
        }
        owners
    }

    /// Duration (ms) and rows of the build owned by `n` (a scan's SubPlan), if any.
    pub fn build_of(&self, root: &Node, n: &Node, part: &Part) -> Option<(f64, f64)> {
        let owners = self.owners(root, part);
        let i = owners.iter().position(|o| std::ptr::eq(*o, n))?;
        let span = self.build_spans(part).get(i).copied().unwrap_or(0.0);
        Some((span, part.p.build_tuples.get(i).copied().unwrap_or(0.0)))
    }

    /// Time (ms) spent in builds owned inside `n`'s subtree.
    fn builds_inside(&self, root: &Node, n: &Node, part: &Part) -> f64 {
        let owners = self.owners(root, part);
        let spans = self.build_spans(part);
        owners.iter().zip(&spans).filter(|(o, _)| contains(n, o)).map(|(_, s)| *s).sum()
    }

    /// In-node time of the whole streaming flow and the flow's work per scanned tuple.
    fn stream(&self, root: &Node, part: &Part) -> (f64, f64) {
        let top = instrument::subtree(&self.env, root, part.is_worker);
        let emits = top.breakers.is_empty();
        let serial = self.c.mode == Mode::Serial || self.r.subplan_gather.is_some();
        let out = if emits {
            top.rows_per_tuple * instrument::out_row_ns(self.c, self.env.hw, !part.is_worker, serial)
        } else {
            0.0
        };
        let flow = instrument::streaming_ns_per_tuple(&top) + out;
        let p = part.p;
        let span = if part.leader_in_gather {
            p.tuples_scanned * flow / MS
        } else {
            let start = p.ms.first_tuple.map_or(0.0, |t| self.part_ms(part, Some(t)));
            let end = self.part_ms(part, p.ms.scan_end.or(p.ms.done));
            (end - start - p.ms.send_wait_at_scan_end / MS).max(0.0)
        };
        (span, flow)
    }

    /// Actuals of a streaming node `n` (scan, join) of a participant's pipeline rooted at `root`.
    pub fn streaming(&self, root: &Node, n: &Node, part: &Part, rows: f64) -> Actual {
        let (span, flow) = self.stream(root, part);
        let sub = instrument::subtree(&self.env, n, part.is_worker);
        let share = if flow > 0.0 { (instrument::streaming_ns_per_tuple(&sub) / flow).min(1.0) } else { 1.0 };
        let mut before = self.builds_inside(root, n, part);
        if self.r.subplan_gather.is_some() && contains(n, streaming_top(root)) {
            // The SubPlan's Gather and hash build ran inside the scan's first qual check.
            let start = part.p.ms.first_tuple.map_or(0.0, |t| self.part_ms(part, Some(t)));
            before = before.max(start);
        }
        Actual::streaming(before, span * share, rows)
    }

    /// Actuals of pipeline breaker `j` (0 = lowest) of a participant's pipeline.
    pub fn breaker(&self, j: usize, top: bool, part: &Part, rows: f64) -> Actual {
        let p = part.p;
        let end = |t: Option<&u64>| self.part_ms(part, t.copied().or(p.ms.scan_end)) - p.ms.send_wait_at_scan_end / MS;
        let startup = end(p.ms.breakers_end.get(j)).max(0.0);
        let total =
            if top { self.part_ms(part, p.ms.done.or(p.ms.scan_end)) - p.ms.send_wait_at_done / MS } else { startup };
        Actual { startup, total: total.max(startup), rows }
    }

    /// Actuals of the Hash node of build `n` (a Hash Join) and of its input's top node.
    pub fn hash(&self, root: &Node, n: &Node, part: &Part) -> (Actual, f64) {
        let owners = self.owners(root, part);
        let spans = self.build_spans(part);
        let i = owners.iter().position(|o| std::ptr::eq(*o, n));
        let span = i.and_then(|i| spans.get(i)).copied().unwrap_or(0.0);
        let rows = i.and_then(|i| part.p.build_tuples.get(i)).copied().unwrap_or(0.0);
        // Share of the build's work spent in the inner scan (the rest is hashing).
        let share = match n {
            Node::HashJoin { inner, parallel, .. } => {
                let inner_p = instrument::subtree(&self.env, inner, part.is_worker);
                let own = instrument::streaming_ns_per_tuple(&inner_p);
                let table = join_table(inner_p.source.tuples * inner_p.rows_per_tuple, inner.width());
                let insert = self.env.hw.costs.hash_insert_into(table, *parallel);
                let with_hash = own + inner_p.rows_per_tuple * insert / self.env.hw.cpu_speed;
                if with_hash > 0.0 {
                    own / with_hash
                } else {
                    1.0
                }
            }
            _ => 1.0,
        };
        (Actual { startup: span, total: span, rows }, share)
    }

    /// The leader's work above the Gather, at one core.
    pub fn top_work(&self) -> TopWork {
        instrument::top_work(self.c, self.env.hw, self.env.settings, self.r.gather_rows)
    }

    /// When the leader's work above the Gather began (ms): the Gather's last return.
    pub fn top_start(&self, w: &TopWork) -> f64 {
        let work: f64 = w.finish_ns.iter().sum::<f64>() + w.emit_ns;
        (ms(self.r.wall) - work / MS).max(0.0)
    }

    /// The breakers of the pipeline, bottom-up.
    pub fn pipeline_breakers(&self, part: &Part) -> &[Breaker] {
        if part.is_worker {
            &self.c.worker.breakers
        } else {
            match &self.c.post {
                Some(p) if self.r.subplan_gather.is_some() => &p.breakers,
                _ => &self.c.leader.breakers,
            }
        }
    }
}
