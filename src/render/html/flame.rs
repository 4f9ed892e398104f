//! The flame graph of where the time goes: process -> plan node -> state, as folded stacks drawn by
//! `inferno` (its SVG carries its own click-to-zoom and search JavaScript).
//!
//! The model keeps each process's time per state, not per plan node, so a state is placed under
//! the plan nodes it belongs to: waits under the node that waits (the Gather for tuples and
//! ParallelFinish, the Hash for HashBuildHashInner, the node feeding the tuple queue for
//! MessageQueueSend), CPU and disk reads under the process's whole pipeline down to its scan (the
//! streaming nodes of one pipeline share their per-row work and are not split further).

use crate::exec::State;
use crate::report::{Category, PlanNode, Prediction, ProcessSplit};

/// The simulator state a category counts (its label is the name `states.csv` and the timeline use).
pub(super) fn state_of(c: Category) -> State {
    match c {
        Category::Cpu => State::Cpu,
        Category::Io => State::Io,
        Category::MqSend => State::MqSend,
        Category::MqReceive => State::MqReceive,
        Category::Startup => State::Startup,
        Category::Barrier => State::Barrier,
        Category::Shutdown => State::Shutdown,
    }
}

/// The child a process goes on to along its main pipeline: the outer child, else the first that
/// is not a SubPlan or InitPlan (those run apart, as their own pipelines).
fn main_child(n: &PlanNode) -> Option<&PlanNode> {
    let own = || n.plans.iter().filter(|k| !matches!(k.parent_relationship, Some("SubPlan" | "InitPlan")));
    own().find(|k| k.parent_relationship == Some("Outer")).or_else(|| own().next())
}

fn is_gather(n: &PlanNode) -> bool {
    matches!(n.node_type, "Gather" | "Gather Merge")
}

/// Labels of the nodes from `n` down its main pipeline, stopping before a Gather when
/// `stop_at_gather` (the nodes below it run in the workers).
fn main_path(mut n: &PlanNode, stop_at_gather: bool) -> Vec<String> {
    let mut out = vec![];
    loop {
        if stop_at_gather && is_gather(n) && !out.is_empty() {
            return out;
        }
        out.push(n.display_name());
        match main_child(n) {
            Some(c) => n = c,
            None => return out,
        }
    }
}

/// Labels from `n` down to the first node whose type is `ty` (depth first), if any.
fn path_to(n: &PlanNode, ty: &str) -> Option<Vec<String>> {
    if n.node_type == ty {
        return Some(vec![n.display_name()]);
    }
    n.plans.iter().find_map(|c| {
        let mut p = path_to(c, ty)?;
        p.insert(0, n.display_name());
        Some(p)
    })
}

/// The first Gather or Gather Merge (depth first) and the labels of the nodes down to it.
fn gather(n: &PlanNode) -> Option<(&PlanNode, Vec<String>)> {
    if is_gather(n) {
        return Some((n, vec![n.display_name()]));
    }
    n.plans.iter().find_map(|c| {
        let (g, mut p) = gather(c)?;
        p.insert(0, n.display_name());
        Some((g, p))
    })
}

fn process_frame(p: &ProcessSplit) -> String {
    match p.worker {
        Some(w) if p.is_worker() => format!("worker {w} (parallel worker)"),
        _ => "leader (client backend)".to_string(),
    }
}

/// The plan nodes category `c` of process `p` sits under.
fn nodes_for(root: &PlanNode, p: &ProcessSplit, c: Category) -> Vec<String> {
    let g = gather(root);
    let worker = p.is_worker();
    // The nodes this process runs: a worker the Gather's subtree, the leader everything above
    // the Gather and, when it scans too, the subtree as well.
    let pipeline = || match &g {
        Some((g, _)) if worker => main_child(g).map(|c| main_path(c, false)).unwrap_or_default(),
        Some(_) if p.tuples_scanned <= 0.0 => main_path(root, true),
        _ => main_path(root, false),
    };
    match c {
        Category::Startup => vec![],
        Category::Cpu | Category::Io => pipeline(),
        Category::MqSend => pipeline().into_iter().take(1).collect(),
        Category::MqReceive | Category::Shutdown => g.map(|(_, path)| path).unwrap_or_default(),
        Category::Barrier => {
            let from = match &g {
                Some((g, _)) if worker => main_child(g),
                _ => Some(root),
            };
            from.and_then(|n| path_to(n, "Hash")).unwrap_or_default()
        }
    }
}

/// Folded stacks (`frame;frame;... count`), counts in microseconds: one line per process and
/// category with time in it (the representative replication, as the EXPLAIN tree).
pub(super) fn folded_stacks(pred: &Prediction) -> Vec<String> {
    let rep = &pred.representative;
    let root = &rep.explain.plan;
    let mut lines = vec![];
    for p in &rep.splits {
        for c in Category::ALL {
            let us = (p.time(c) * 1000.0).round();
            if us < 1.0 {
                continue;
            }
            let mut frames = vec![process_frame(p)];
            frames.extend(nodes_for(root, p, c));
            frames.push(state_of(c).label().to_string());
            let frames: Vec<String> = frames.into_iter().map(|f| f.replace(';', ",")).collect();
            lines.push(format!("{} {}", frames.join(";"), us as u64));
        }
    }
    lines
}

/// The flame graph as a standalone SVG document (with inferno's own script and styles).
pub(super) fn svg(pred: &Prediction, title: &str) -> std::io::Result<String> {
    let lines = folded_stacks(pred);
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

    fn predict(scenario: &str, trace: bool) -> Prediction {
        predict_with(scenario, trace, &[])
    }

    fn predict_with(scenario: &str, trace: bool, hw: &[(&str, &str)]) -> Prediction {
        let root = env!("CARGO_MANIFEST_DIR");
        let path = std::path::PathBuf::from(format!("{root}/configs/scenarios/{scenario}.toml"));
        let w = crate::config::WhatIf {
            hw: hw.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        let (sc, hw) = crate::config::load(&path, "reference-2vcpu", &w).unwrap();
        crate::predict::run_scenario(&sc, &hw, 1, 2, trace).unwrap()
    }

    #[test]
    fn states_sit_under_the_nodes_that_spend_them() {
        let p = predict("gather-heavy", false);
        let lines = folded_stacks(&p);
        let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
        // Workers block on their full queue under the node that feeds it; the leader waits for
        // its workers to finish under the Gather.
        assert!(has("worker 0 (parallel worker);Parallel Seq Scan on t;IPC: MessageQueueSend "), "{lines:?}");
        assert!(has("leader (client backend);Aggregate;Gather;IPC: ParallelFinish "), "{lines:?}");
        assert!(has("worker 1 (parallel worker);start-up "), "{lines:?}");
        // Every line is frames and a positive count; the counts add up to the processes' time.
        let total: f64 = lines.iter().map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum();
        let want: f64 =
            p.representative.splits.iter().flat_map(|s| Category::ALL.map(|c| s.time(c))).sum::<f64>() * 1000.0;
        assert!((total - want).abs() <= lines.len() as f64, "{total} vs {want}");
    }

    #[test]
    fn a_subplan_runs_apart_from_the_pipeline_above_it() {
        // Workers that take 50 ms to exit: the leader, done draining their queues, waits for
        // them (ParallelFinish) under the SubPlan's Gather. (At the profile's 2.7 ms its seven
        // workers, exiting side by side as they finish, are gone before it has drained.)
        let lines = folded_stacks(&predict_with("seed-not-in", false, &[("parallel.shutdown_per_worker_us", "50000")]));
        let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
        let outer = "leader (client backend);Limit;Sort;Seq Scan on user_session_history";
        assert!(has(&format!("{outer};CPU ")), "{lines:?}");
        assert!(
            has("worker 0 (parallel worker);Parallel Seq Scan on session_product_list;IPC: MessageQueueSend "),
            "{lines:?}"
        );
        assert!(has(&format!("{outer};Gather;IPC: ")), "the leader waits under the SubPlan's Gather: {lines:?}");
    }

    #[test]
    fn the_svg_is_interactive_and_self_contained() {
        let s = svg(&predict("gather-heavy", false), "Where the time goes").unwrap();
        assert!(s.contains("<script") && s.contains("function zoom"), "click-to-zoom script inline");
        assert!(s.contains("MessageQueueSend"));
        assert!(!s.contains("href=\"http") && !s.contains("src=\"http"), "nothing fetched");
    }
}
