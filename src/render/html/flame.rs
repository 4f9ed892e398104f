//! The flame graph of where the time goes: process -> plan node -> state, as folded stacks drawn by
//! `inferno` (its SVG carries its own click-to-zoom and search JavaScript).
//!
//! The model keeps each process's time per state, not per plan node, so a state is placed under
//! the plan nodes it belongs to: waits under the node that waits (the Gather for tuples and
//! ParallelFinish, the Hash for HashBuildHashInner, the node feeding the tuple queue for
//! MessageQueueSend), CPU and disk reads under the process's whole pipeline down to its scan (the
//! streaming nodes of one pipeline share their per-row work and are not split further).

use crate::exec::State;
use crate::report::display_name;
use serde_json::Value;

/// The JSON contract's per-process time fields and the state each one counts.
pub(super) const STATE_FIELDS: [(&str, State); 7] = [
    ("cpu_ms", State::Cpu),
    ("io_wait_ms", State::Io),
    ("mq_send_wait_ms", State::MqSend),
    ("mq_receive_wait_ms", State::MqReceive),
    ("startup_ms", State::Startup),
    ("barrier_wait_ms", State::Barrier),
    ("shutdown_wait_ms", State::Shutdown),
];

/// The child a process goes on to along its main pipeline: the outer child, else the first.
fn main_child(n: &Value) -> Option<&Value> {
    let kids = n["Plans"].as_array()?;
    kids.iter().find(|k| k["Parent Relationship"].as_str() == Some("Outer")).or_else(|| kids.first())
}

fn is_gather(n: &Value) -> bool {
    matches!(n["Node Type"].as_str(), Some("Gather" | "Gather Merge"))
}

/// Labels of the nodes from `n` down its main pipeline, stopping before a Gather when
/// `stop_at_gather` (the nodes below it run in the workers).
fn main_path(mut n: &Value, stop_at_gather: bool) -> Vec<String> {
    let mut out = vec![];
    loop {
        if stop_at_gather && is_gather(n) && !out.is_empty() {
            return out;
        }
        out.push(display_name(n));
        match main_child(n) {
            Some(c) => n = c,
            None => return out,
        }
    }
}

/// Labels from `n` down to the first node whose type is `ty` (depth first), if any.
fn path_to(n: &Value, ty: &str) -> Option<Vec<String>> {
    if n["Node Type"].as_str() == Some(ty) {
        return Some(vec![display_name(n)]);
    }
    for c in n["Plans"].as_array().into_iter().flatten() {
        if let Some(mut p) = path_to(c, ty) {
            p.insert(0, display_name(n));
            return Some(p);
        }
    }
    None
}

/// The first Gather or Gather Merge (depth first) and the labels of the nodes down to it.
fn gather(n: &Value) -> Option<(&Value, Vec<String>)> {
    if is_gather(n) {
        return Some((n, vec![display_name(n)]));
    }
    for c in n["Plans"].as_array().into_iter().flatten() {
        if let Some((g, mut p)) = gather(c) {
            p.insert(0, display_name(n));
            return Some((g, p));
        }
    }
    None
}

/// Folded stacks (`frame;frame;... count`), counts in microseconds, from a `run --format json`
/// document: one line per process and state with time in it.
pub(super) fn folded_stacks(doc: &Value) -> Vec<String> {
    let root = &doc["explain"][0]["Plan"];
    let g = gather(root);
    let mut lines = vec![];
    for p in doc["processes"].as_array().into_iter().flatten() {
        let worker = p["role"].as_str() == Some("worker");
        let name = match p["worker"].as_u64() {
            Some(w) if worker => format!("worker {w} (parallel worker)"),
            _ => "leader (client backend)".to_string(),
        };
        let leader_scans = p["tuples_scanned"].as_f64().unwrap_or(0.0) > 0.0;
        // The nodes this process runs: a worker the Gather's subtree, the leader everything
        // above the Gather and, when it scans too, the subtree as well.
        let pipeline: Vec<String> = match &g {
            Some((g, _)) if worker => main_child(g).map(|c| main_path(c, false)).unwrap_or_default(),
            Some(_) if !leader_scans => main_path(root, true),
            _ => main_path(root, false),
        };
        let to_gather: Vec<String> = g.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
        for (field, state) in STATE_FIELDS {
            let us = (p[field].as_f64().unwrap_or(0.0) * 1000.0).round();
            if us < 1.0 {
                continue;
            }
            let nodes: Vec<String> = match state {
                State::Startup | State::Idle => vec![],
                State::Cpu | State::Io => pipeline.clone(),
                State::MqSend => pipeline.first().cloned().into_iter().collect(),
                State::MqReceive | State::Shutdown => to_gather.clone(),
                State::Barrier => {
                    let from = match &g {
                        Some((g, _)) if worker => main_child(g),
                        _ => Some(root),
                    };
                    from.and_then(|n| path_to(n, "Hash")).unwrap_or_default()
                }
            };
            let mut frames = vec![name.clone()];
            frames.extend(nodes);
            frames.push(state.label().to_string());
            let frames: Vec<String> = frames.into_iter().map(|f| f.replace(';', ",")).collect();
            lines.push(format!("{} {}", frames.join(";"), us as u64));
        }
    }
    lines
}

/// The flame graph as a standalone SVG document (with inferno's own script and styles).
pub(super) fn svg(doc: &Value, title: &str) -> std::io::Result<String> {
    let lines = folded_stacks(doc);
    let mut opt = inferno::flamegraph::Options::default();
    opt.title = title.to_string();
    opt.subtitle = Some("process -> plan node -> state; click a frame to zoom, Ctrl+F to search".into());
    opt.count_name = "µs".to_string();
    opt.name_type = String::new();
    opt.hash = true;
    opt.deterministic = true;
    opt.font_type = "sans-serif".to_string();
    opt.min_width = 0.0;
    let mut out = vec![];
    inferno::flamegraph::from_lines(&mut opt, lines.iter().map(String::as_str), &mut out)
        .map_err(|e| std::io::Error::other(format!("flame graph: {e}")))?;
    String::from_utf8(out).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        let scan = json!({"Node Type": "Seq Scan", "Parallel Aware": true, "Relation Name": "t", "Parent Relationship": "Outer"});
        let gather = json!({"Node Type": "Gather", "Parent Relationship": "Outer", "Plans": [scan]});
        let agg = json!({"Node Type": "Aggregate", "Plans": [gather]});
        json!({
            "explain": [{"Plan": agg}],
            "processes": [
                {"role": "leader", "worker": null, "cpu_ms": 2.0, "mq_receive_wait_ms": 5.0, "tuples_scanned": 0.0,
                 "shutdown_wait_ms": 0.0004},
                {"role": "worker", "worker": 0, "cpu_ms": 1.5, "mq_send_wait_ms": 3.25, "startup_ms": 0.5,
                 "tuples_scanned": 10.0}
            ]
        })
    }

    #[test]
    fn states_sit_under_the_nodes_that_spend_them() {
        let lines = folded_stacks(&doc());
        assert_eq!(
            lines,
            [
                "leader (client backend);Aggregate;CPU 2000",
                "leader (client backend);Aggregate;Gather;IPC: ExecuteGather/MessageQueueReceive 5000",
                "worker 0 (parallel worker);Parallel Seq Scan on t;CPU 1500",
                "worker 0 (parallel worker);Parallel Seq Scan on t;IPC: MessageQueueSend 3250",
                "worker 0 (parallel worker);start-up 500",
            ]
        );
    }

    #[test]
    fn a_scanning_leader_runs_the_whole_pipeline() {
        let mut d = doc();
        d["processes"][0]["tuples_scanned"] = json!(5.0);
        let lines = folded_stacks(&d);
        assert_eq!(lines[0], "leader (client backend);Aggregate;Gather;Parallel Seq Scan on t;CPU 2000");
    }

    #[test]
    fn the_svg_is_interactive_and_self_contained() {
        let s = svg(&doc(), "Where the time goes").unwrap();
        assert!(s.contains("<script") && s.contains("function zoom"), "click-to-zoom script inline");
        assert!(s.contains("MessageQueueSend"));
        assert!(!s.contains("href=\"http") && !s.contains("src=\"http"), "nothing fetched");
    }
}
