//! Text renderings: the EXPLAIN ANALYZE tree in PostgreSQL's layout and `run`'s answer.

use super::explain::{Explain, PlanNode, SortSpace};
use super::split::Group;
use super::Prediction;

/// Render the plan as PostgreSQL's text `EXPLAIN ANALYZE` would.
pub fn explain_text(doc: &Explain) -> String {
    let mut out = String::new();
    text_node(&doc.plan, 0, &mut out);
    out.push_str(&format!("Planning Time: {:.3} ms\n", doc.planning_time));
    out.push_str(&format!("Execution Time: {:.3} ms\n", doc.execution_time));
    out
}

fn space(s: &SortSpace) -> String {
    format!("{}: {}kB", if s.space_type == "Disk" { "Disk" } else { "Memory" }, s.space_kb)
}

fn text_node(n: &PlanNode, depth: usize, out: &mut String) {
    let indent = if depth == 0 { String::new() } else { format!("{}->  ", " ".repeat(depth * 6 - 4)) };
    if n.parent_relationship == Some("SubPlan") {
        out.push_str(&format!("{}  {}\n", " ".repeat(depth * 6 - 4), n.subplan_name.as_deref().unwrap_or("SubPlan")));
    }
    out.push_str(&format!(
        "{}{}  (actual time={:.3}..{:.3} rows={} loops={})\n",
        indent,
        n.display_name(),
        n.actual_startup_time.unwrap_or(0.0),
        n.actual_total_time.unwrap_or(0.0),
        n.actual_rows,
        n.actual_loops
    ));
    let pad = if depth == 0 { "  ".to_string() } else { " ".repeat(depth * 6) };
    if let Some(v) = n.workers_planned {
        out.push_str(&format!("{pad}Workers Planned: {v}\n"));
    }
    if let Some(v) = n.workers_launched {
        out.push_str(&format!("{pad}Workers Launched: {v}\n"));
    }
    if n.single_copy == Some(true) {
        out.push_str(&format!("{pad}Single Copy: true\n"));
    }
    for (k, v) in [("Hash Cond", &n.hash_cond), ("Index Cond", &n.index_cond), ("Filter", &n.filter)] {
        if let Some(v) = v {
            out.push_str(&format!("{pad}{k}: {v}\n"));
        }
    }
    if let Some(v) = n.rows_removed_by_filter {
        out.push_str(&format!("{pad}Rows Removed by Filter: {v}\n"));
    }
    if let Some(keys) = &n.sort_key {
        out.push_str(&format!("{pad}Sort Key: {}\n", keys.join(", ")));
    }
    if let Some(s) = &n.sort_space {
        out.push_str(&format!("{pad}Sort Method: {}  {}\n", s.method, space(s)));
        for w in &n.workers {
            if let Some(s) = &w.sort_space {
                out.push_str(&format!("{pad}Worker {}:  Sort Method: {}  {}\n", w.worker_number, s.method, space(s)));
            }
        }
    }
    for w in &n.workers {
        out.push_str(&format!(
            "{pad}Worker {}:  actual time={:.3}..{:.3} rows={} loops=1\n",
            w.worker_number, w.actual_startup_time, w.actual_total_time, w.actual_rows
        ));
    }
    for p in &n.plans {
        text_node(p, depth + 1, out);
    }
}

/// The text answer of `run`: the EXPLAIN tree, the headline and the per-process table.
pub fn run_text(p: &Prediction) -> String {
    let mut out = String::new();
    let s = &p.summary;
    out.push_str(&format!("Scenario: {}  on  {} ({})\n\n", p.scenario, p.hardware, p.hardware_description));
    out.push_str(&explain_text(&p.explain));
    out.push('\n');
    out.push_str(&format!(
        "Predicted wall time: {:.1} ms  (95% CI {:.1} .. {:.1}, {} replications, seed {})\n",
        s.mean, s.ci95_lo, s.ci95_hi, p.replications, p.seed
    ));
    out.push_str(&format!(
        "Workers Planned: {}  Workers Launched: {}  Queue-full stalls: {}\n\n",
        p.workers_planned,
        p.workers_launched,
        p.queue_full_stalls_mean()
    ));
    out.push_str(&format!(
        "{:<10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>9} {:>8}\n",
        "process", "CPU ms", "disk ms", "MQSend ms", "wait tup ms", "start ms", "other ms", "stalls"
    ));
    for sp in &p.splits {
        let name = match sp.worker {
            Some(w) => format!("worker {w}"),
            None => "leader".into(),
        };
        let g = sp.groups();
        let col = |x: Group| g[x as usize];
        out.push_str(&format!(
            "{:<10} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>10.1} {:>9.1} {:>8.0}\n",
            name,
            col(Group::Cpu),
            col(Group::Disk),
            col(Group::MqSend),
            col(Group::WaitingForTuples),
            col(Group::Startup),
            col(Group::Other),
            sp.queue_full_stalls
        ));
    }
    out.push_str(
        "(wait tup = IPC: ExecuteGather / MessageQueueReceive; other = HashBuildHashInner + ParallelFinish)\n",
    );
    out
}
