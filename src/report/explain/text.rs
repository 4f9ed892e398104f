//! `EXPLAIN (ANALYZE, BUFFERS)` text in PostgreSQL's layout (`explain.c`, text format): the
//! root at column 0 with its details at 2; a child's arrow `->  ` at its parent's details
//! column and its details 6 further; a SubPlan's name at its parent's details column and its
//! plan's arrow 2 further; costs then actuals on the node line; "(never executed)" for a node
//! no process ran.

use super::{Buffers, Explain, HashInfo, PlanNode, SortSpace};

/// Render the plan as PostgreSQL's text `EXPLAIN (ANALYZE, BUFFERS)` would.
pub fn explain_text(doc: &Explain) -> String {
    let mut out = String::new();
    text_node(&doc.plan, None, &mut out);
    out.push_str(&format!("Planning Time: {:.3} ms\n", doc.planning_time));
    out.push_str(&format!("Execution Time: {:.3} ms\n", doc.execution_time));
    out
}

fn space(s: &SortSpace) -> String {
    format!("{}: {}kB", if s.space_type == "Disk" { "Disk" } else { "Memory" }, s.space_kb)
}

fn buffers_line(b: &Buffers) -> Option<String> {
    let mut parts = vec![];
    let shared: Vec<String> =
        [("hit", b.shared_hit), ("read", b.shared_read), ("dirtied", b.shared_dirtied), ("written", b.shared_written)]
            .iter()
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
    if !shared.is_empty() {
        parts.push(format!("shared {}", shared.join(" ")));
    }
    let temp: Vec<String> = [("read", b.temp_read), ("written", b.temp_written)]
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !temp.is_empty() {
        parts.push(format!("temp {}", temp.join(" ")));
    }
    (!parts.is_empty()).then(|| format!("Buffers: {}", parts.join(", ")))
}

fn hash_line(h: &HashInfo) -> String {
    if h.buckets == h.original_buckets && h.batches == h.original_batches {
        format!("Buckets: {}  Batches: {}  Memory Usage: {}kB", h.buckets, h.batches, h.peak_memory_kb)
    } else {
        format!(
            "Buckets: {} (originally {})  Batches: {} (originally {})  Memory Usage: {}kB",
            h.buckets, h.original_buckets, h.batches, h.original_batches, h.peak_memory_kb
        )
    }
}

fn node_line(n: &PlanNode) -> String {
    let mut s = n.display_name();
    if let (Some(a), Some(b), Some(rows), Some(w)) = (n.startup_cost, n.total_cost, n.plan_rows, n.plan_width) {
        s.push_str(&format!("  (cost={a:.2}..{b:.2} rows={rows} width={w})"));
    }
    if n.actual_loops == 0 {
        s.push_str(" (never executed)");
    } else {
        s.push_str(&format!(
            "{}(actual time={:.3}..{:.3} rows={} loops={})",
            if n.startup_cost.is_some() { " " } else { "  " },
            n.actual_startup_time.unwrap_or(0.0),
            n.actual_total_time.unwrap_or(0.0),
            n.actual_rows,
            n.actual_loops
        ));
    }
    s
}

/// Details of a node, one per line, in `explain.c`'s order.
fn details(n: &PlanNode) -> Vec<String> {
    let mut d = vec![];
    if let Some(k) = &n.group_key {
        d.push(format!("Group Key: {}", k.join(", ")));
    }
    if let Some(v) = n.subplans_removed.filter(|v| *v > 0) {
        d.push(format!("Subplans Removed: {v}"));
    }
    for (k, v) in [
        ("Hash Cond", &n.hash_cond),
        ("Merge Cond", &n.merge_cond),
        ("Index Cond", &n.index_cond),
        ("Filter", &n.filter),
    ] {
        if let Some(v) = v {
            d.push(format!("{k}: {v}"));
        }
    }
    if let Some(v) = n.rows_removed_by_filter {
        d.push(format!("Rows Removed by Filter: {v}"));
    }
    if let Some(v) = n.workers_planned {
        d.push(format!("Workers Planned: {v}"));
    }
    if let Some(v) = n.workers_launched {
        d.push(format!("Workers Launched: {v}"));
    }
    if n.single_copy == Some(true) {
        d.push("Single Copy: true".into());
    }
    if let Some(keys) = &n.sort_key {
        d.push(format!("Sort Key: {}", keys.join(", ")));
    }
    if let Some(s) = &n.sort_space {
        d.push(format!("Sort Method: {}  {}", s.method, space(s)));
        for w in &n.workers {
            if let Some(s) = &w.sort_space {
                d.push(format!("Worker {}:  Sort Method: {}  {}", w.worker_number, s.method, space(s)));
            }
        }
    }
    if let Some(h) = &n.hash {
        d.push(hash_line(h));
    }
    if let Some(b) = n.buffers.as_ref().and_then(buffers_line) {
        d.push(b);
    }
    for w in &n.workers {
        d.push(format!(
            "Worker {}:  actual time={:.3}..{:.3} rows={} loops={}",
            w.worker_number, w.actual_startup_time, w.actual_total_time, w.actual_rows, w.actual_loops
        ));
    }
    d
}

/// `arrow`: the column of this node's `->` (None for the root).
fn text_node(n: &PlanNode, arrow: Option<usize>, out: &mut String) {
    match arrow {
        None => out.push_str(&node_line(n)),
        Some(a) => out.push_str(&format!("{}->  {}", " ".repeat(a), node_line(n))),
    }
    out.push('\n');
    let col = arrow.map_or(2, |a| a + 6);
    for line in details(n) {
        out.push_str(&format!("{}{line}\n", " ".repeat(col)));
    }
    let (subs, kids): (Vec<&PlanNode>, Vec<&PlanNode>) =
        n.plans.iter().partition(|c| matches!(c.parent_relationship, Some("SubPlan") | Some("InitPlan")));
    for c in kids {
        text_node(c, Some(col), out);
    }
    for c in subs {
        out.push_str(&format!("{}{}\n", " ".repeat(col), c.subplan_name.as_deref().unwrap_or("SubPlan")));
        text_node(c, Some(col + 2), out);
    }
}
