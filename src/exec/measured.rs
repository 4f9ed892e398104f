//! The model's own cost of each plan node in the units a measured cost is written in
//! (`model::measured::NodeCost`): per row, per page, per built row, per sort comparison, with
//! how many of each the node handles. `import --costs-from-actuals` divides a node's measured
//! time by these to get its measured prices, keeping the model's split between pages and rows
//! (or rows and comparisons), and spreads a TIMING OFF total over the nodes in their
//! proportion.

use super::compile::{agg_row_ns, breaker_finish, breaker_output, pipeline, Breaker, Env};
use super::cpu_cost::CpuCost;
use crate::model::hash_table::join_table;
use crate::model::measured::node_key;
use crate::model::Node;

/// Which price of a node a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Row,
    Page,
    BuildRow,
    /// The hash-table insert of a hashed SubPlan's row: timed inside the scan that runs the
    /// SubPlan (not inside the SubPlan's own nodes), priced into `build_row_ns`.
    BuildInsert,
    Cmp,
}

/// `amount` units at `ns` each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    pub field: Field,
    pub amount: f64,
    pub ns: f64,
}

/// A node's modelled cost: its own work (`main`) and what it builds (a Hash, a hashed
/// SubPlan), which EXPLAIN times apart.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeModel {
    pub key: String,
    pub main: Vec<Part>,
    pub build: Vec<Part>,
}

/// Total ns of some parts.
pub fn total(parts: &[Part]) -> f64 {
    parts.iter().map(|p| p.amount * p.ns).sum()
}

/// Rows a subtree returns, run by one process over the whole input.
fn rows_out(env: &Env, cc: &CpuCost, n: &Node) -> f64 {
    let p = pipeline(env, cc, n, false, None);
    let rows = breaker_output(&p.breakers, p.source.tuples * p.rows_per_tuple);
    p.bound.map_or(rows, |b| rows.min(b))
}

/// The modelled costs of every node of `plan` that can carry measured costs, in plan order.
/// `env` should say TIMING OFF (no clock reads) and carry no measured costs.
pub fn node_models(env: &Env, plan: &Node) -> Vec<NodeModel> {
    let cc = CpuCost::new(env.tables, env.hw, plan);
    let mut out = vec![];
    walk(env, &cc, plan, None, &mut out);
    out
}

fn walk(env: &Env, cc: &CpuCost, n: &Node, bound: Option<f64>, out: &mut Vec<NodeModel>) {
    let child_bound = match n {
        Node::Limit { count, .. } => Some(bound.map_or(*count, |b: f64| b.min(*count))),
        Node::Gather { .. } | Node::GatherMerge { .. } => bound,
        _ => None,
    };
    if let Some(key) = node_key(n, env.tables) {
        let (main, build) = parts(env, cc, n, bound);
        out.push(NodeModel { key, main, build });
    }
    for c in n.children() {
        walk(env, cc, c, child_bound, out);
    }
}

fn parts(env: &Env, cc: &CpuCost, n: &Node, bound: Option<f64>) -> (Vec<Part>, Vec<Part>) {
    let c = &env.hw.costs;
    let sp = |ns: f64| ns / env.hw.cpu_speed;
    let part = |field, amount: f64, ns: f64| Part { field, amount: amount.max(0.0), ns: ns.max(0.0) };
    match n {
        Node::SeqScan { .. } | Node::IndexScan { .. } => {
            let p = pipeline(env, cc, n, false, None);
            let main = vec![
                part(Field::Row, p.source.tuples, p.cpu_per_tuple),
                part(Field::Page, p.source.pages, p.source.page.cpu_ns + p.source.page.os_read_ns),
            ];
            let mut build = vec![];
            for b in &p.builds {
                let pages_per = if b.tuples > 0.0 { b.pages / b.tuples } else { 0.0 };
                let insert = b.insert_ns;
                let scan = b.cpu_per_tuple - insert + pages_per * (b.page.cpu_ns + b.page.os_read_ns);
                build.push(part(Field::BuildRow, b.tuples, scan));
                if insert > 0.0 {
                    build.push(part(Field::BuildInsert, b.tuples, insert));
                }
            }
            (main, build)
        }
        Node::Aggregate { input, .. } => {
            let rows = rows_out(env, cc, input);
            (vec![part(Field::Row, rows, agg_row_ns(env, cc, n))], vec![])
        }
        Node::Sort { keys, input } => {
            let rows = rows_out(env, cc, input);
            let key_ns = cc.sort_key_extra(keys);
            let per_cmp = sp(c.sort_compare_ns) + key_ns;
            let b = Breaker::Sort { bound, width: input.width(), key_ns };
            let (finish, _) = breaker_finish(env.hw, env.settings, &b, rows);
            let cmps = if per_cmp > 0.0 { finish / per_cmp } else { 0.0 };
            (vec![part(Field::Row, rows, sp(c.sort_tuple_ns)), part(Field::Cmp, cmps, per_cmp)], vec![])
        }
        Node::HashJoin { parallel, rows_per_outer, outer, inner, cond, .. } => {
            let keys = cc.hash_keys(cond).unwrap_or(0.0);
            let outer_rows = rows_out(env, cc, outer);
            let inner_rows = rows_out(env, cc, inner);
            let table = join_table(inner_rows, inner.width());
            let probe = sp(c.join_lookup(env.tables, table, [outer, inner], cond, *parallel))
                + keys
                + rows_per_outer * sp(c.tuple_ns * 0.5 + c.hash_match_ns);
            (
                vec![part(Field::Row, outer_rows, probe)],
                vec![part(Field::BuildRow, inner_rows, sp(c.hash_insert(table)) + keys)],
            )
        }
        Node::NestedLoop { rows_per_outer, inner_table, outer, .. } => {
            let outer_rows = rows_out(env, cc, outer);
            let t = &env.tables[*inner_table];
            let pc = env.page_cost_of(t.pages, crate::exec::compile::Access::Index, t.in_shared_buffers);
            let inner_deform = if cc.known(*inner_table) { cc.scan_row(*inner_table, None, &[]).1 } else { 0.0 };
            let per_outer = sp(c.index_descent_ns)
                + rows_per_outer * (sp(c.index_tuple_ns + c.tuple_ns) + inner_deform + pc.cpu_ns + pc.os_read_ns);
            (vec![part(Field::Row, outer_rows, per_outer)], vec![])
        }
        Node::Limit { .. }
        | Node::Gather { .. }
        | Node::GatherMerge { .. }
        | Node::MergeJoin { .. }
        | Node::Append { .. } => (vec![], vec![]),
    }
}
