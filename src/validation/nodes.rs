//! `pqsim validate --per-node`: the validation workload's plans held against PostgreSQL node
//! by node.
//!
//! For every grid point the real side is `EXPLAIN (ANALYZE, TIMING ON, VERBOSE, SETTINGS)` (timing
//! on: per-node times need it), the run nearest the median Execution Time of `reps` runs
//! (interleaved rounds after one warm-up); the predicted side is `pqsim run`'s EXPLAIN of the
//! imported plan with the same measure (`explain-analyze`: the instrumentation's overhead is
//! in the simulated work), its representative replication. Both sides give each node
//! PostgreSQL's semantics: `Actual Total Time` (per loop, inclusive of the children, timed
//! inside the node's calls) × `Actual Loops`, i.e. the node's time summed over the processes
//! that ran it. Nodes are paired by their position in the plan tree (child index at every
//! level, SubPlans included) and only when both sides name the same node; a subtree whose
//! root does not pair is left out and counted.

use super::{grid, load, Options};
use crate::analysis::robust::{median, quantile};
use crate::error::Result;
use crate::import::{import_plan, ImportOptions};
use crate::model::Hardware;
use crate::pg::protocol::{self, apply_gucs};
use crate::pg::{probe, ExplainNode, ExplainPlan};
use crate::report::PlanNode;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

/// One paired node of one grid point.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeRow {
    pub case: String,
    pub workers: u32,
    pub leader: bool,
    /// Child indexes from the root, `0.1.0` (the root is `root`).
    pub path: String,
    /// The node as EXPLAIN's text names it, without the relation: `Parallel Seq Scan`,
    /// `Finalize HashAggregate`.
    pub node: String,
    pub loops_predicted: u64,
    pub loops_measured: u64,
    /// Actual Total Time × Actual Loops, ms.
    pub predicted_ms: f64,
    /// Rescaled to the profile's machine speed (the speed reference run before and after).
    pub measured_ms: f64,
    /// As PostgreSQL printed it.
    pub measured_raw_ms: f64,
    /// (predicted − measured) / measured, %; empty when the measured time is 0.
    pub error_pct: Option<f64>,
}

/// The per-node-type summary.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRow {
    pub node: String,
    pub count: usize,
    pub median_abs_error_pct: f64,
    pub p90_abs_error_pct: f64,
    /// Median of predicted / measured (> 1: predicted slower).
    pub median_ratio: f64,
}

/// What a per-node validation produced.
pub struct NodesOutcome {
    pub rows: Vec<NodeRow>,
    pub types: Vec<TypeRow>,
    /// Grid points whose plan could not be predicted, or whose trees did not pair fully
    /// (case, workers, leader, why).
    pub skipped: Vec<String>,
    /// Grid points whose timed run ran another plan than EXPLAIN showed (predicted from the
    /// plan that ran).
    pub replanned: Vec<String>,
    pub markdown: String,
}

/// A subtree of the real plan left unpaired: where, what each side has there, how many nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpaired {
    pub path: String,
    pub real: String,
    /// `None`: the predicted tree has no node there.
    pub predicted: Option<String>,
    pub nodes: usize,
}

impl std::fmt::Display for Unpaired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pred = self.predicted.as_deref().unwrap_or("nothing");
        write!(f, "at {}: real {} ({} node(s)), predicted {pred}", self.path, self.real, self.nodes)
    }
}

/// Pairs the predicted tree with the real one by position; returns the rows and the real
/// subtrees left unpaired.
pub fn pair(
    real: &ExplainNode,
    pred: &PlanNode,
    path: &str,
    out: &mut Vec<(String, String, f64, u64, f64, u64)>,
) -> Vec<Unpaired> {
    // Both sides by the node's kind, without index or relation (`Index Scan`, not `Index Scan
    // using orders_pkey on orders`), as the real side's JSON gives it.
    let label = real.display_name();
    let pred_label = pred.kind_name();
    if label != pred_label {
        return vec![Unpaired {
            path: path.into(),
            real: label,
            predicted: Some(pred_label),
            nodes: real.iter().count(),
        }];
    }
    let real_loops = real.actual_loops.unwrap_or(0);
    let real_ms = real.actual_total_time.unwrap_or(0.0) * real_loops as f64;
    let pred_loops = pred.actual_loops.max(0) as u64;
    let pred_ms = pred.actual_total_time.unwrap_or(0.0) * pred_loops as f64;
    out.push((path.to_string(), label, pred_ms, pred_loops, real_ms, real_loops));
    let mut unpaired = vec![];
    for (i, rc) in real.plans.iter().enumerate() {
        let p = if path == "root" { format!("{i}") } else { format!("{path}.{i}") };
        match pred.plans.get(i) {
            Some(pc) => unpaired.extend(pair(rc, pc, &p, out)),
            None => {
                unpaired.push(Unpaired { path: p, real: rc.display_name(), predicted: None, nodes: rc.iter().count() })
            }
        }
    }
    unpaired
}

/// A plan's tree in one line: `Finalize Aggregate(Gather(Partial Aggregate(Parallel Seq Scan)))`.
pub fn shape(n: &ExplainNode) -> String {
    let mut s = n.display_name();
    if !n.plans.is_empty() {
        let kids: Vec<String> = n.plans.iter().map(shape).collect();
        s = format!("{s}({})", kids.join(", "));
    }
    s
}

/// Whether two real plans have the same tree: the same node names at the same positions.
pub fn same_shape(a: &ExplainNode, b: &ExplainNode) -> bool {
    a.display_name() == b.display_name()
        && a.plans.len() == b.plans.len()
        && a.plans.iter().zip(&b.plans).all(|(x, y)| same_shape(x, y))
}

/// Median |error| per node type, most frequent types first.
pub fn summarise(rows: &[NodeRow]) -> Vec<TypeRow> {
    let mut by: BTreeMap<&str, Vec<&NodeRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.error_pct.is_some()) {
        by.entry(r.node.as_str()).or_default().push(r);
    }
    let mut types: Vec<TypeRow> = by
        .into_iter()
        .map(|(node, rs)| {
            let abs: Vec<f64> = rs.iter().filter_map(|r| r.error_pct.map(f64::abs)).collect();
            let ratio: Vec<f64> = rs.iter().map(|r| r.predicted_ms / r.measured_ms).collect();
            TypeRow {
                node: node.to_string(),
                count: rs.len(),
                median_abs_error_pct: median(&abs),
                p90_abs_error_pct: quantile(&abs, 0.9),
                median_ratio: median(&ratio),
            }
        })
        .collect();
    types.sort_by(|a, b| b.count.cmp(&a.count).then(a.node.cmp(&b.node)));
    types
}

/// The per-node-type table in Markdown.
pub fn table(types: &[TypeRow], rows: &[NodeRow]) -> String {
    let mut s = String::from(
        "| node type | paired nodes | median \\|error\\| | p90 \\|error\\| | median predicted / real |\n|---|---:|---:|---:|---:|\n",
    );
    for t in types {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1}% | {:.1}% | {:.2} |",
            t.node, t.count, t.median_abs_error_pct, t.p90_abs_error_pct, t.median_ratio
        );
    }
    let abs: Vec<f64> = rows.iter().filter_map(|r| r.error_pct.map(f64::abs)).collect();
    if !abs.is_empty() {
        let _ = writeln!(s, "| **all** | {} | {:.1}% | {:.1}% | |", abs.len(), median(&abs), quantile(&abs, 0.9));
    }
    s
}

/// The paired rows of one grid point; `scale` rescales the real times to the profile's speed.
pub fn rows_of(
    case: &str,
    workers: u32,
    leader: bool,
    real: &ExplainPlan,
    scale: f64,
    pred: &PlanNode,
) -> (Vec<NodeRow>, Vec<Unpaired>) {
    let mut pairs = vec![];
    let unpaired = pair(&real.root, pred, "root", &mut pairs);
    let rows = pairs
        .into_iter()
        .map(|(path, node, p, pl, m, ml)| NodeRow {
            case: case.to_string(),
            workers,
            leader,
            path,
            node,
            loops_predicted: pl,
            loops_measured: ml,
            predicted_ms: (p * 1000.0).round() / 1000.0,
            measured_ms: (m * scale * 1000.0).round() / 1000.0,
            measured_raw_ms: m,
            error_pct: (m > 0.0).then(|| 100.0 * (p - m * scale) / (m * scale)),
        })
        .collect();
    (rows, unpaired)
}

/// The prediction's EXPLAIN tree for a real plan (imported, explain-analyze measure).
fn predict(
    plan: &ExplainPlan,
    name: &str,
    sql: &str,
    o: &Options,
    hw: &Hardware,
    stats: &BTreeMap<String, crate::pg::TableStats>,
    clause_reach: BTreeMap<String, Vec<f64>>,
) -> std::result::Result<PlanNode, String> {
    let opts = ImportOptions {
        name: name.to_string(),
        source: format!("pqsim validate --per-node: {sql}"),
        sql: sql.to_string(),
        table_stats: stats.clone(),
        client_output: false,
        costs_from_actuals: None,
        actuals_plan: None,
        clause_reach,
    };
    let _ = o;
    let i = import_plan(plan, &opts).map_err(|e| format!("import: {e}"))?;
    let mut sc = i.scenario;
    sc.output = crate::model::OutputMode::ExplainAnalyze;
    let p = crate::predict::run_scenario(&sc, hw, 1, 5, false).map_err(|e| format!("model: {e}"))?;
    Ok(p.representative.explain.plan)
}

/// Runs the per-node validation of the grid's cases whose id is in `only` (all when empty).
pub fn run(o: &Options, only: &[&str]) -> Result<NodesOutcome> {
    let t0 = Instant::now();
    let profile = crate::config::hardware_source(&o.profile_path.to_string_lossy())?;
    let hw: Hardware = crate::config::load_hardware_str(&profile.label, &profile.text, &[])?;
    let started = protocol::now_unix();
    let load_start = probe::load_snapshot()?;
    let (server, mut client, version, r, stats) = load(o)?;
    let cases: Vec<_> =
        super::cases(o.workload).into_iter().filter(|c| only.is_empty() || only.contains(&c.id)).collect();
    let grid = grid(&cases);
    let mut preds = vec![];
    let mut plans = vec![];
    for g in &grid {
        let c = &cases[g.case];
        apply_gucs(&mut client, "public", &g.gucs)?;
        let plan = probe::explain_with(&mut client, "VERBOSE, SETTINGS", c.sql)?;
        let name = format!("{}_w{}_{}", c.id, g.workers, if g.leader { "on" } else { "off" });
        let reach = crate::pg::clauses::clause_reach(&mut client, &plan);
        let p = predict(&plan, &name, c.sql, o, &hw, &stats, reach.clone());
        preds.push((name, p, reach));
        // Warm-up, timed as measured.
        probe::explain_with(&mut client, "ANALYZE, TIMING ON, VERBOSE, SETTINGS", c.sql)?;
        plans.push(plan);
    }
    eprintln!(
        "pqsim validate --per-node: {} grid points predicted; {} rounds of EXPLAIN (ANALYZE, TIMING ON)",
        grid.len(),
        o.reps
    );
    // Each run between two speed-reference runs: the machine's speed drifts with its other
    // tenants, and each run is rescaled to the profile's speed (as the timing grid is).
    let mut runs: Vec<Vec<(ExplainPlan, f64)>> = vec![vec![]; grid.len()];
    let mut refs = vec![protocol::speedref(&mut client, "public")?];
    for _ in 0..o.reps {
        for (i, g) in grid.iter().enumerate() {
            apply_gucs(&mut client, "public", &g.gucs)?;
            // VERBOSE and SETTINGS as for the prediction, so a run whose plan changed can be
            // imported as it ran.
            let plan = probe::explain_with(&mut client, "ANALYZE, TIMING ON, VERBOSE, SETTINGS", cases[g.case].sql)?;
            let r = protocol::speedref(&mut client, "public")?;
            runs[i].push((plan, 0.5 * (refs[refs.len() - 1] + r)));
            refs.push(r);
        }
    }
    let anchor = super::profile_speed_reference(&profile.text).unwrap_or_else(|| median(&refs));
    let load_end = probe::load_snapshot()?;
    drop(client);
    server.stop()?;
    let mut rows = vec![];
    let mut skipped = vec![];
    let mut changed = vec![];
    for (i, g) in grid.iter().enumerate() {
        let c = &cases[g.case];
        let tag = format!("{} W={} leader {}", c.id, g.workers, if g.leader { "on" } else { "off" });
        let (real, scale) = representative(&runs[i], anchor);
        // PostgreSQL may plan differently between the prediction's EXPLAIN and the timed run
        // (a cost tie broken the other way): the run is then predicted from the plan it ran.
        let replanned;
        let (name, mut pred) = (&preds[i].0, preds[i].1.as_ref());
        if !same_shape(&plans[i].root, &real.root) {
            // The same tables and filters: the clauses' reaches asked at EXPLAIN still hold.
            replanned = predict(real, name, c.sql, o, &hw, &stats, preds[i].2.clone());
            pred = replanned.as_ref();
            changed.push(format!(
                "{tag}: EXPLAIN planned `{}`, the timed run ran `{}`",
                shape(&plans[i].root),
                shape(&real.root)
            ));
        }
        let pred = match pred {
            Ok(p) => p,
            Err(e) => {
                skipped.push(format!("{tag}: {e}"));
                continue;
            }
        };
        let (rs, unpaired) = rows_of(c.id, g.workers, g.leader, real, scale, pred);
        if !unpaired.is_empty() {
            let wh: Vec<String> = unpaired.iter().map(|u| u.to_string()).collect();
            skipped.push(format!("{tag}: trees differ: {}", wh.join("; ")));
        }
        rows.extend(rs);
    }
    let types = summarise(&rows);
    let md = markdown(
        o,
        &version,
        &r,
        &hw.name,
        started,
        t0.elapsed().as_secs_f64(),
        (&load_start, &load_end),
        anchor,
        &types,
        &rows,
        &skipped,
        &changed,
    );
    Ok(NodesOutcome { rows, types, skipped, replanned: changed, markdown: md })
}

/// The run nearest the median rescaled Execution Time, and its rescaling factor
/// (`anchor / reference time around the run`).
fn representative(runs: &[(ExplainPlan, f64)], anchor: f64) -> (&ExplainPlan, f64) {
    let scale = |r: f64| if r > 0.0 && anchor > 0.0 { anchor / r } else { 1.0 };
    let t: Vec<f64> = runs.iter().map(|(p, r)| p.execution_time_ms.unwrap_or(0.0) * scale(*r)).collect();
    let m = median(&t);
    let i = (0..t.len()).min_by(|&a, &b| (t[a] - m).abs().total_cmp(&(t[b] - m).abs())).unwrap_or(0);
    (&runs[i].0, scale(runs[i].1))
}

#[allow(clippy::too_many_arguments)]
fn markdown(
    o: &Options,
    version: &str,
    r: &super::Rows,
    hw_name: &str,
    started: f64,
    secs: f64,
    load: (&crate::pg::LoadInfo, &crate::pg::LoadInfo),
    anchor: f64,
    types: &[TypeRow],
    rows: &[NodeRow],
    skipped: &[String],
    replanned: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# pqsim vs PostgreSQL {version}: per-node times, workload `{}`, scale `{}`\n",
        o.workload.name(),
        o.scale.name()
    );
    let _ = writeln!(s, "Produced by `{}` on {} ({secs:.0} s).\n", o.command, protocol::iso_utc(started));
    let _ = writeln!(s, "- Data: {}, warm (OS page cache).", super::workload::describe(o.workload, r));
    let _ = writeln!(s, "- Real: `EXPLAIN (ANALYZE, TIMING ON, VERBOSE, SETTINGS, FORMAT JSON)`, per point the run nearest the median Execution Time of {} (interleaved rounds, one warm-up).", o.reps);
    let _ = writeln!(s, "- Predicted: the same plan (`EXPLAIN (VERBOSE, SETTINGS)` → `pqsim import`) simulated on profile `{hw_name}` with `--measure explain-analyze`, the representative of 5 replications.");
    let _ = writeln!(s, "- Per node, both sides: Actual Total Time × Actual Loops (inclusive of children, summed over the processes that ran it); nodes paired by position in the plan tree.");
    let _ = writeln!(
        s,
        "- Machine: /proc/loadavg {:.2} {:.2} {:.2} before, {:.2} {:.2} {:.2} after. A shared machine: other processes ran during the measurements; each run is rescaled to the profile's speed by a speed-reference query (`{}`) run just before and after it (anchor {:.2} ms).\n",
        load.0.load1, load.0.load5, load.0.load15, load.1.load1, load.1.load5, load.1.load15, protocol::SPEEDREF_SQL, anchor
    );
    s.push_str(&table(types, rows));
    let raw: Vec<f64> = rows
        .iter()
        .filter(|r| r.measured_raw_ms > 0.0)
        .map(|r| (100.0 * (r.predicted_ms - r.measured_raw_ms) / r.measured_raw_ms).abs())
        .collect();
    let _ = writeln!(
        s,
        "\nAgainst the raw times (not rescaled): median |error| {:.1}% over {} nodes.",
        median(&raw),
        raw.len()
    );
    if !replanned.is_empty() {
        s.push_str("\nPlanned differently at the timed run than at EXPLAIN (predicted from the plan that ran):\n\n");
        for k in replanned {
            let _ = writeln!(s, "- {k}");
        }
    }
    if !skipped.is_empty() {
        s.push_str("\nLeft out:\n\n");
        for k in skipped {
            let _ = writeln!(s, "- {k}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::import_plan;

    fn real(name: &str) -> ExplainPlan {
        let path = format!("{}/tests/fixtures/explain/{name}.json", env!("CARGO_MANIFEST_DIR"));
        ExplainPlan::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn predicted(plan: &ExplainPlan) -> PlanNode {
        let opts = ImportOptions {
            name: "t".into(),
            source: "test".into(),
            sql: String::new(),
            table_stats: BTreeMap::new(),
            client_output: false,
            costs_from_actuals: None,
            actuals_plan: None,
            clause_reach: BTreeMap::new(),
        };
        let mut sc = import_plan(plan, &opts).unwrap().scenario;
        sc.output = crate::model::OutputMode::ExplainAnalyze;
        let src = crate::config::hardware_source("laptop").unwrap();
        let hw = crate::config::load_hardware_str(&src.label, &src.text, &[]).unwrap();
        crate::predict::run_scenario(&sc, &hw, 1, 1, false).unwrap().representative.explain.plan
    }

    #[test]
    fn a_plan_pairs_with_its_own_prediction_and_says_where_another_differs() {
        let (w2, q6) = (real("pg15_q12_w2"), real("pg15_q6_w2"));
        assert!(same_shape(&w2.root, &real("pg15_q12_w4").root));
        assert!(!same_shape(&w2.root, &q6.root));
        let pred = predicted(&w2);
        let mut rows = vec![];
        assert!(pair(&w2.root, &pred, "root", &mut rows).is_empty());
        assert_eq!(rows.len(), w2.root.iter().count());
        // Another plan under the same root: the first differing subtree is named, with its size.
        let mut rows = vec![];
        let un = pair(&q6.root, &pred, "root", &mut rows);
        assert!(!un.is_empty());
        assert_eq!(un.iter().map(|u| u.nodes).sum::<usize>() + rows.len(), q6.root.iter().count());
        let first = &un[0];
        assert_ne!(Some(first.real.clone()), first.predicted, "{first}");
        assert!(first.to_string().starts_with(&format!("at {}: real ", first.path)), "{first}");
    }

    #[test]
    fn index_scans_pair_by_kind_whatever_index_they_use() {
        // The real side's JSON names an Index Scan by its type; the prediction's EXPLAIN adds
        // `using <index> on <relation>`. A timed run of q12 that chose a nested loop over
        // orders_pkey was left out of the per-node validation for that: both must pair as
        // `Index Scan`. Q12's plan with its first leaf (a Seq Scan) made an Index Scan on both
        // sides, the prediction's with its index named.
        let mut plan = real("pg15_q12_w2");
        let mut pred = predicted(&plan);
        let (mut r, mut p) = (&mut plan.root, &mut pred);
        while !r.plans.is_empty() {
            (r, p) = (&mut r.plans[0], &mut p.plans[0]);
        }
        assert!(p.relation_name.is_some(), "a leaf scan names its relation");
        r.node_type = "Index Scan".into();
        (p.node_type, p.index_name) = ("Index Scan", Some("orders_pkey".into()));
        assert!(p.display_name().starts_with("Index Scan using orders_pkey on "), "{}", p.display_name());
        let mut rows = vec![];
        let un = pair(&plan.root, &pred, "root", &mut rows);
        assert!(un.is_empty(), "{:?}", un.iter().map(|u| u.to_string()).collect::<Vec<_>>());
        assert!(rows.iter().any(|r| r.1 == "Index Scan"), "{rows:?}");
    }
}
