//! What EXPLAIN ANALYZE's per-node times need from the executor model.
//!
//! PostgreSQL's `instrument.c` times each node from entry to return of every call: a node's
//! "Actual Total Time" is the time spent inside it and its children, not the span since the
//! query started. The simulator runs a participant's streaming nodes (scan, quals, joins, the
//! first breaker's per-row work) as one flow, so the share of that flow's time spent in a
//! subtree is the share of the flow's work per scanned tuple that the subtree does: these
//! helpers give the work of every subtree (from the same `compile::pipeline` the simulation
//! runs) and the leader's work above the Gather (as `sim` schedules it).

use super::compile::{self, breaker_finish, breaker_output, Compiled, Env, Pipeline};
use crate::model::guc::Settings;
use crate::model::{Hardware, Node};

/// The pipeline a subtree alone would run (its builds, source, per-tuple work, breakers).
/// Its scans deform only as far as the subtree's own expressions read: as in PostgreSQL,
/// where a parent's expression deforms the child's slot, deforming for the nodes above is
/// timed in them.
pub fn subtree(env: &Env, node: &Node, is_worker: bool) -> Pipeline {
    let cc = super::cpu_cost::CpuCost::new(env.tables, env.hw, node);
    compile::pipeline(env, &cc, node, is_worker, None)
}

/// CPU ns of page work (buffer access, OS page cache copy) per scanned tuple.
pub fn page_ns_per_tuple(p: &Pipeline) -> f64 {
    if p.source.tuples > 0.0 {
        p.source.pages / p.source.tuples * (p.source.page.cpu_ns + p.source.page.os_read_ns)
    } else {
        0.0
    }
}

/// Work (ns) per scanned tuple of everything streaming in the subtree, pages included.
pub fn streaming_ns_per_tuple(p: &Pipeline) -> f64 {
    p.cpu_per_tuple + page_ns_per_tuple(p)
}

/// ns a process pays per row it passes on, outside every plan node: a worker writes it into
/// its tuple queue; the leader hands local rows to the operators above the Gather (as `sim`).
pub fn out_row_ns(c: &Compiled, hw: &Hardware, leader: bool, serial: bool) -> f64 {
    if leader {
        if serial {
            c.consumer.client_row_ns + c.consumer.per_row_ns
        } else {
            c.consumer.per_row_ns
        }
    } else {
        hw.costs.tuple_send_ns / hw.cpu_speed
    }
}

/// The leader's work above the Gather once the Gather is exhausted (ns, one core): each
/// breaker's finishing work (sorting, final aggregation, temp files) and the emission of the
/// final rows, as `sim` schedules them.
#[derive(Debug, Clone, PartialEq)]
pub struct TopWork {
    /// Rows into each breaker above the Gather, bottom-up.
    pub rows_in: Vec<f64>,
    pub finish_ns: Vec<f64>,
    pub emit_ns: f64,
    pub rows_out: f64,
}

pub fn top_work(c: &Compiled, hw: &Hardware, settings: &Settings, gather_rows: f64) -> TopWork {
    let cons = &c.consumer;
    let mut rows_in = vec![];
    let mut finish_ns = vec![];
    for i in 0..cons.breakers.len() {
        let n_in = breaker_output(&cons.breakers[..i], gather_rows);
        let (cpu, temp) = breaker_finish(hw, settings, &cons.breakers[i], n_in);
        rows_in.push(n_in);
        finish_ns.push(cpu + temp * hw.costs.temp_page_ns / hw.cpu_speed);
    }
    let mut rows = breaker_output(&cons.breakers, gather_rows);
    for l in [cons.final_limit, cons.limit].into_iter().flatten() {
        rows = rows.min(l);
    }
    let per = cons.breaker_row_ns.last().copied().unwrap_or(0.0) + cons.client_row_ns;
    let emit_ns = if rows > 0.0 && per > 0.0 { rows * per } else { 0.0 };
    TopWork { rows_in, finish_ns, emit_ns, rows_out: rows }
}
