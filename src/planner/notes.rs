//! The planner's explanations: why a scan gets no partial path, how each SubPlan is planned,
//! which parts of a parallel candidate run parallel-oblivious or in the leader.

use super::cost::CostCtx;
use super::report::group;
use super::shape::{self, Eligibility};
use crate::model::{maxalign, Filter, Node, SubPlan, Table};

/// What the planner knows about the scans of one scenario.
pub(super) struct Elig<'a> {
    pub(super) ctx: &'a CostCtx<'a>,
}

impl Elig<'_> {
    pub(super) fn subplan_parallel(&self, filter: &Option<Filter>) -> bool {
        filter.as_ref().and_then(|f| f.subplan.as_ref()).is_some_and(|sp| self.ctx.subplan_cost(sp).parallel_inner)
    }
}

impl Eligibility for Elig<'_> {
    fn partial_scan(&self, scan: &Node) -> bool {
        self.safe_scan(scan) && self.ctx.scan_workers(scan).workers > 0
    }
    fn safe_table(&self, table: usize) -> bool {
        !self.ctx.tables[table].temporary
    }
    fn safe_scan(&self, scan: &Node) -> bool {
        match scan {
            Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } => {
                self.safe_table(*table) && !self.subplan_parallel(filter)
            }
            _ => true,
        }
    }
    fn parallel_hash(&self) -> bool {
        self.ctx.settings.flag("enable_parallel_hash")
    }
    fn parallel_append(&self) -> bool {
        self.ctx.settings.flag("enable_parallel_append")
    }
    fn partial_member_scan(&self, scan: &Node) -> bool {
        self.partial_scan(scan)
            || (self.safe_scan(scan)
                && self.ctx.settings.num("max_parallel_workers_per_gather") >= 1.0
                && scan_table(scan).is_some_and(|(t, _)| self.ctx.tables[t].parallel_workers != Some(0)))
    }
}

pub(super) fn scan_table(scan: &Node) -> Option<(usize, &Option<Filter>)> {
    match scan {
        Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } => Some((*table, filter)),
        _ => None,
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

/// Why a scan gets no partial path, in words.
pub(super) fn why_not_partial(scan: &Node, e: &Elig) -> String {
    let Some((table, filter)) = scan_table(scan) else {
        return "no parallel form of this plan shape".into();
    };
    let t: &Table = &e.ctx.tables[table];
    if t.temporary {
        return format!(
            "table {} is temporary: only the leader can read it (parallel restricted), so it gets no parallel scan",
            t.name
        );
    }
    if e.subplan_parallel(filter) {
        return format!(
            "the filter on {} holds a SubPlan whose own plan uses a Gather (the subquery is big enough for its own parallel plan): the SubPlan is not parallel-safe, so {} is scanned serially (reference §7.4)",
            t.name, t.name
        );
    }
    let wc = e.ctx.scan_workers(scan);
    if wc.workers == 0 {
        if t.parallel_workers == Some(0) {
            return format!("table {} has the storage option parallel_workers = 0: no parallel scan", t.name);
        }
        return format!("table {}: {}", t.name, wc.explanation);
    }
    "pqsim has no parallel form for this plan shape".into()
}

/// SubPlans in plan order, with notes.
fn subplans(n: &Node) -> Vec<(&SubPlan, &Node)> {
    shape::scans(n)
        .into_iter()
        .filter_map(|(s, _)| {
            scan_table(s).and_then(|(_, f)| f.as_ref()).and_then(|f| f.subplan.as_ref()).map(|sp| (sp, s))
        })
        .collect()
}

/// Per SubPlan: (hashed, Workers Planned of its own Gather), and notes.
pub(super) fn subplan_notes(ctx: &CostCtx, serial: &Node) -> (Vec<bool>, Vec<u32>, Vec<String>) {
    let mut hashed = vec![];
    let mut workers = vec![];
    let mut notes = vec![];
    for (i, (sp, _scan)) in subplans(serial).into_iter().enumerate() {
        let c = ctx.subplan_cost(sp);
        hashed.push(c.hashed);
        let w = c.plan.find_gather().and_then(|g| g.workers_planned).unwrap_or(0);
        workers.push(w);
        if w > 0 {
            notes.push(format!("SubPlan {} runs its subquery with its own Gather (Workers Planned: {w})", i + 1));
        }
        let bytes = c.plan.rows * (maxalign(sp.width) + 24.0);
        let table = &ctx.tables[sp.table].name;
        let hash_mem = ctx.settings.hash_mem_bytes();
        if c.hashed {
            notes.push(format!(
                "SubPlan {} (subquery on {table}) is hashed: {} rows x {} B = {} <= hash_mem {}; every participant builds its own hash table",
                i + 1,
                group(c.plan.rows),
                maxalign(sp.width) + 24.0,
                mb(bytes),
                mb(hash_mem)
            ));
        } else {
            notes.push(format!(
                "SubPlan {} (subquery on {table}) is not hashed: {} rows x {} B = {} > hash_mem {}; each outer row rescans the materialized result in the leader and re-runs the subquery in a worker (reference §7.3, §7.4)",
                i + 1,
                group(c.plan.rows),
                maxalign(sp.width) + 24.0,
                mb(bytes),
                mb(hash_mem)
            ));
        }
    }
    (hashed, workers, notes)
}

/// Notes on the parallel candidate: parallel-oblivious hash joins and the tables that
/// run in the leader above a pushed-down Gather.
pub(super) fn candidate_notes(cand: &Node, e: &Elig, out: &mut Vec<String>, restricted: &mut Vec<String>) {
    fn walk(n: &Node, below: bool, e: &Elig, out: &mut Vec<String>, restricted: &mut Vec<String>) {
        match n {
            Node::HashJoin { parallel: false, inner, .. } if below => {
                let scan = shape::driving_scan(inner);
                let why = if !e.parallel_hash() {
                    "enable_parallel_hash is off".to_string()
                } else {
                    why_not_partial(&shape::serial_plan(scan), e)
                };
                let name = scan_table(scan).map(|(t, _)| e.ctx.tables[t].name.clone()).unwrap_or_default();
                out.push(format!(
                    "Hash Join is parallel-oblivious: every participant reads all of {name} and builds its own hash table ({why})"
                ));
            }
            Node::HashJoin { .. } | Node::NestedLoop { .. } if !below => {
                let tables: Vec<usize> = match n {
                    Node::HashJoin { inner, .. } => {
                        shape::scans(inner).into_iter().filter_map(|(s, _)| scan_table(s).map(|x| x.0)).collect()
                    }
                    Node::NestedLoop { inner_table, .. } => vec![*inner_table],
                    _ => vec![],
                };
                for t in tables {
                    let tb = &e.ctx.tables[t];
                    if tb.temporary {
                        restricted.push(format!(
                            "scan of temporary table {}: runs in the leader, the join above it too",
                            tb.name
                        ));
                    }
                }
            }
            _ => {}
        }
        let b = below || n.is_gather();
        for c in n.children() {
            walk(c, b, e, out, restricted);
        }
    }
    walk(cand, false, e, out, restricted);
}
