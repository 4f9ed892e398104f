//! `run`'s EXPLAIN ANALYZE counts time as PostgreSQL's instrument.c does, on every shipped
//! scenario: a node's times are in-node times from its own first call, children included, so
//! within one process a parent's total is at least its outer child's and its first row comes
//! no earlier than its outer child's; startup never exceeds total; the root ends by the
//! Execution Time. (tests/pev2.rs checks the same tree with PEV2's exclusive-time rule.)

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run_json(sc: &Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .args(["run", sc.to_str().unwrap(), "--replications", "2", "--format", "json"])
        .args(extra)
        .output()
        .expect("run pqsim");
    assert!(out.status.success(), "{}: {}", sc.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn f(n: &Value, k: &str) -> f64 {
    n[k].as_f64().unwrap_or(0.0)
}

fn check(n: &Value, path: &str, problems: &mut Vec<String>) {
    let name = format!("{path}/{}", n["Node Type"].as_str().unwrap_or("?"));
    if n["Actual Loops"].as_i64().unwrap_or(0) > 0 && f(n, "Actual Startup Time") > f(n, "Actual Total Time") + 1e-9 {
        problems.push(format!("{name}: startup after total"));
    }
    let kids: Vec<&Value> = n["Plans"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let same_process = !matches!(n["Node Type"].as_str(), Some("Gather") | Some("Gather Merge"));
    if let Some(outer) = kids.iter().find(|c| c["Parent Relationship"] == "Outer") {
        // Per-loop averages over the same participants: comparable when the loops match.
        if same_process && outer["Actual Loops"] == n["Actual Loops"] {
            if f(outer, "Actual Total Time") > f(n, "Actual Total Time") + 0.002 {
                problems.push(format!(
                    "{name}: outer child's total {} > {}",
                    f(outer, "Actual Total Time"),
                    f(n, "Actual Total Time")
                ));
            }
            if f(outer, "Actual Startup Time") > f(n, "Actual Startup Time") + 0.002 {
                problems.push(format!("{name}: first row before its outer child's"));
            }
        }
    }
    for c in kids {
        check(c, &name, problems);
    }
}

#[test]
fn node_times_are_in_node_times_on_every_shipped_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = vec![];
    let mut plannings = vec![];
    let mut n = 0;
    for e in std::fs::read_dir(root.join("configs/scenarios")).expect("scenarios") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let j = run_json(&p, &[]);
        let doc = &j["explain"][0];
        let plan = &doc["Plan"];
        check(plan, &p.file_stem().unwrap().to_string_lossy(), &mut problems);
        if f(plan, "Actual Total Time") > f(doc, "Execution Time") + 0.002 {
            problems.push(format!("{}: root ends after the Execution Time", p.display()));
        }
        // Planning Time is modelled from the plan's size (report::explain::planning_time_ms):
        // present, positive, and larger for larger plans, never one constant.
        let planning = f(doc, "Planning Time");
        assert!(planning > 0.0 && planning < 10.0, "{}: Planning Time {planning}", p.display());
        plannings.push((count_nodes(plan), planning));
        n += 1;
    }
    assert!(n >= 5);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    plannings.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (small, big) = (plannings[0], plannings[plannings.len() - 1]);
    assert!(big.0 > small.0 && big.1 > small.1, "Planning Time grows with the plan: {plannings:?}");
}

#[test]
fn the_seed_querys_limit_starts_when_its_sort_returns() {
    // Before: Limit (actual time=5495..6971) above Sort (6971..6971).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let j = run_json(&root.join("configs/scenarios/seed-not-in.toml"), &[]);
    let limit = &j["explain"][0]["Plan"];
    assert_eq!(limit["Node Type"], "Limit");
    let sort = &limit["Plans"][0];
    assert_eq!(sort["Node Type"], "Sort");
    assert!(f(limit, "Actual Startup Time") >= f(sort, "Actual Startup Time"));
    // The scan's SubPlan Gather runs inside the scan: the scan's time includes it.
    let scan = &sort["Plans"][0];
    let gather = &scan["Plans"][0];
    assert_eq!(gather["Parent Relationship"], "SubPlan");
    assert!(f(scan, "Actual Total Time") >= f(gather, "Actual Total Time"));
}

fn count_nodes(n: &Value) -> usize {
    1 + n.get("Plans").and_then(Value::as_array).map_or(0, |ps| ps.iter().map(count_nodes).sum())
}

/// The node whose Parent Relationship is "SubPlan", depth first.
fn subplan_node(n: &Value) -> Option<&Value> {
    if n["Parent Relationship"] == "SubPlan" {
        return Some(n);
    }
    n["Plans"].as_array()?.iter().find_map(subplan_node)
}

#[test]
fn a_hashed_subplans_scan_does_not_count_the_hash_inserts() {
    // PostgreSQL inserts the SubPlan's rows into its hash table in buildSubPlanHash, outside
    // the scan node's calls: a dearer insert makes the query slower, not the SubPlan's scan.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sc = root.join("configs/scenarios/seed-not-in-pg15.toml");
    let serial = ["--set", "max_parallel_workers_per_gather=0"];
    let time = |hash_build_ns: &str| {
        let hw = format!("costs.hash_build_ns={hash_build_ns}");
        let mut args = serial.to_vec();
        args.extend(["--hw", hw.as_str()]);
        let j = run_json(&sc, &args);
        let doc = &j["explain"][0];
        let scan = subplan_node(&doc["Plan"]).expect("a SubPlan node").clone();
        assert_eq!(scan["Node Type"], "Seq Scan", "the serial SubPlan is a scan");
        (f(doc, "Execution Time"), f(&scan, "Actual Total Time"))
    };
    let (q1, s1) = time("200");
    let (q2, s2) = time("800");
    assert!(q2 > q1 * 1.2, "a dearer hash insert must slow the query: {q1} -> {q2} ms");
    // (Counting the inserts would add 15M x 600 ns = 9 s to a scan of about 2.6 s; 10% leaves
    // room for the replications' noise.)
    assert!((s2 - s1).abs() <= 0.10 * s1, "the SubPlan's scan moved with the insert cost: {s1} -> {s2} ms");
}
