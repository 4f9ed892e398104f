//! Merge Join, Append and Parallel Append from real PostgreSQL 15.18 plans (issue 9 item 3).
//!
//! The fixtures were captured from a throwaway server with `EXPLAIN (FORMAT JSON, VERBOSE,
//! SETTINGS)` (`_analyze`: with ANALYZE) on small tables:
//! - ma(id, v) 200,000 rows, mb(id, w) 300,000 rows (ids 0..149,999, each twice);
//!   `select sum(a.v + b.w) from ma a join mb b on a.id = b.id` with enable_hashjoin = off
//!   (w2: enable_nestloop = off too): Merge Join over two Sorts, the inner one Materialized;
//!   299,998 join rows;
//! - ua 150,000 and ub 120,000 rows: `select sum(v) from (select v from ua union all
//!   select v from ub) s`: Append (w0), Parallel Append of two Parallel Seq Scans (w2);
//! - uc 50,000 rows with parallel_workers = 0: the same with ua and uc: Parallel Append with
//!   a non-partial Seq Scan;
//! - pt partitioned by range into pt1..pt3 (100,000 rows each), `select count(*) from pt
//!   where v < 5`: Append / Parallel Append of three (Parallel) Seq Scans with a filter;
//!   150,000 rows pass.
//!   `mergejoin_plain` is an older capture: a Merge Join of two Index Only Scans.
//!
//! Each one imports, its TOML loads back equal, and `pqsim run` at 0, 2 and 4 workers
//! names the nodes as PostgreSQL does and returns the plan's rows.

mod common;

use pqsim::import::{check_loads, import_plan, parse_explain_text, ImportOptions};
use pqsim::model::Node;
use serde_json::Value;
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain").join(format!("{name}.json"))
}

/// Import a fixture, check the written scenario loads back equal, write it to `dir`.
fn import_to(name: &str, dir: &std::path::Path) -> (pqsim::model::Scenario, PathBuf) {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let plan = parse_explain_text(&text).unwrap();
    let imp = import_plan(&plan, &ImportOptions { name: name.into(), ..Default::default() })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let sc = check_loads(&imp.toml).unwrap_or_else(|e| panic!("{name}: {e}\n{}", imp.toml));
    assert_eq!(imp.scenario, sc, "{name}: the written scenario loads back different\n{}", imp.toml);
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, &imp.toml).unwrap();
    (sc, path)
}

/// Every node of an EXPLAIN JSON tree, depth first.
fn nodes(v: &Value) -> Vec<&Value> {
    let mut out = vec![v];
    if let Some(kids) = v["Plans"].as_array() {
        for k in kids {
            out.extend(nodes(k));
        }
    }
    out
}

/// Rows a node returns over all its loops.
fn total_rows(n: &Value) -> f64 {
    n["Actual Rows"].as_f64().unwrap_or(0.0) * n["Actual Loops"].as_f64().unwrap_or(0.0)
}

/// `pqsim run` at `w` workers (per Gather and in all), EXPLAIN JSON and text.
fn run_at(path: &std::path::Path, w: u32) -> (Value, String) {
    let p = path.to_str().unwrap();
    let per = format!("max_parallel_workers_per_gather={w}");
    let all = format!("max_parallel_workers={w}");
    let args = ["run", p, "--replications", "1", "--set", &per, "--set", &all];
    let v = common::json(&[&args[..], &["--format", "json"]].concat());
    let text = common::ok(&args).stdout;
    (v["explain"][0]["Plan"].clone(), text)
}

/// The node PostgreSQL's plan has (type, parallel-aware) and the rows it returned over all
/// loops in the real plan (ANALYZE) or PostgreSQL's estimate of them (plain EXPLAIN).
struct Expect {
    fixture: &'static str,
    node_type: &'static str,
    parallel_aware: bool,
    rows: f64,
    /// Text the EXPLAIN text output must hold.
    text: &'static [&'static str],
}

const EXPECT: &[Expect] = &[
    Expect {
        fixture: "mergejoin_plain",
        node_type: "Merge Join",
        parallel_aware: false,
        rows: 100_000.0,
        text: &["Merge Join", "Merge Cond: (d.id = h.id)"],
    },
    Expect {
        fixture: "pg15_mergejoin_w0",
        node_type: "Merge Join",
        parallel_aware: false,
        rows: 300_000.0,
        text: &["Merge Join", "Merge Cond: (a.id = b.id)"],
    },
    Expect {
        fixture: "pg15_mergejoin_w0_analyze",
        node_type: "Merge Join",
        parallel_aware: false,
        rows: 299_998.0,
        text: &["Merge Join", "Merge Cond: (a.id = b.id)", "Sort Key: b.id"],
    },
    Expect {
        fixture: "pg15_mergejoin_w2",
        node_type: "Merge Join",
        parallel_aware: false,
        rows: 300_000.0,
        text: &["Merge Join", "Merge Cond: (b.id = a.id)"],
    },
    Expect {
        fixture: "pg15_mergejoin_w2_analyze",
        node_type: "Merge Join",
        parallel_aware: false,
        rows: 299_998.0,
        text: &["Merge Join", "Merge Cond: (b.id = a.id)"],
    },
    Expect {
        fixture: "pg15_append_union_w0",
        node_type: "Append",
        parallel_aware: false,
        rows: 270_000.0,
        text: &["Append", "Seq Scan on ua", "Seq Scan on ub"],
    },
    Expect {
        fixture: "pg15_append_union_w2",
        node_type: "Append",
        parallel_aware: true,
        rows: 270_000.0,
        text: &["Append", "Seq Scan on ua", "Seq Scan on ub"],
    },
    Expect {
        fixture: "pg15_append_nonpartial_w2",
        node_type: "Append",
        parallel_aware: true,
        rows: 200_000.0,
        text: &["Append", "Seq Scan on uc", "Seq Scan on ua"],
    },
    Expect {
        fixture: "pg15_append_part_w0",
        node_type: "Append",
        parallel_aware: false,
        rows: 150_350.0,
        text: &["Append", "Seq Scan on pt1", "Filter: (pt_3.v < 5)"],
    },
    Expect {
        fixture: "pg15_append_part_w2",
        node_type: "Append",
        parallel_aware: true,
        rows: 150_350.0,
        text: &["Append", "Seq Scan on pt2"],
    },
    Expect {
        fixture: "pg15_append_part_w2_analyze",
        node_type: "Append",
        parallel_aware: true,
        rows: 150_000.0,
        text: &["Append", "Seq Scan on pt3"],
    },
];

#[test]
fn merge_join_and_append_plans_import_and_run_at_0_2_4_workers() {
    let dir = tempfile::tempdir().unwrap();
    for e in EXPECT {
        let (_, path) = import_to(e.fixture, dir.path());
        for w in [0, 2, 4] {
            let (plan, text) = run_at(&path, w);
            let all = nodes(&plan);
            let found: Vec<&&Value> = all.iter().filter(|n| n["Node Type"] == e.node_type).collect();
            assert_eq!(found.len(), 1, "{} at {w} workers: one {} node\n{text}", e.fixture, e.node_type);
            let n = found[0];
            let rows = total_rows(n);
            assert!(
                (rows - e.rows).abs() <= 0.02 * e.rows,
                "{} at {w} workers: {} returned {rows} rows, the plan's {}\n{text}",
                e.fixture,
                e.node_type,
                e.rows
            );
            for t in e.text {
                assert!(text.contains(t), "{} at {w} workers: no {t:?} in\n{text}", e.fixture);
            }
            // PostgreSQL's labels: "Append" with Parallel Aware (text: "Parallel Append")
            // where the plan ran one in parallel; a Merge Join keeps "Merge Cond".
            let parallel_run = plan_has_gather(&all);
            if e.node_type == "Append" && e.parallel_aware && parallel_run {
                assert_eq!(n["Parallel Aware"], true, "{} at {w}", e.fixture);
                assert!(text.contains("->  Parallel Append"), "{} at {w}:\n{text}", e.fixture);
            }
            if e.node_type == "Merge Join" {
                assert!(n["Merge Cond"].is_string(), "{} at {w}: {n}", e.fixture);
                assert_eq!(n["Plans"].as_array().map(Vec::len), Some(2), "{}: outer and inner", e.fixture);
            }
        }
    }
}

fn plan_has_gather(all: &[&Value]) -> bool {
    all.iter().any(|n| n["Node Type"] == "Gather" && n["Workers Launched"].as_u64().unwrap_or(0) > 0)
}

#[test]
fn the_merge_joins_inner_side_is_read_whole_by_every_participant() {
    let dir = tempfile::tempdir().unwrap();
    let (sc, path) = import_to("pg15_mergejoin_w2_analyze", dir.path());
    // The imported shape: Gather > Partial Aggregate > Merge Join (outer: Sort over the
    // partial scan of mb; inner: Sort over a plain scan of ma).
    let gather = sc.plan.find_gather().expect("a Gather");
    let Node::Gather { input, .. } = gather else { panic!() };
    let Node::Aggregate { input, .. } = input.as_ref() else { panic!("{input:?}") };
    let Node::MergeJoin { outer, inner, .. } = input.as_ref() else { panic!("{input:?}") };
    assert!(outer.has_parallel_aware() && !inner.has_parallel_aware());
    let (plan, text) = run_at(&path, 2);
    let all = nodes(&plan);
    let inner_scan = all.iter().find(|n| n["Relation Name"] == "ma").expect("the scan of ma");
    let outer_scan = all.iter().find(|n| n["Relation Name"] == "mb").expect("the scan of mb");
    let loops = inner_scan["Actual Loops"].as_f64().unwrap();
    assert!(loops >= 2.0, "every participant runs the inner side\n{text}");
    assert_eq!(inner_scan["Actual Rows"].as_f64().unwrap(), 200_000.0, "the whole of ma per loop\n{text}");
    assert!((total_rows(outer_scan) - 300_000.0).abs() < 1.0, "mb split over the participants\n{text}");
}

/// A scenario of one Parallel Append over a big non-partial scan and a small partial one.
fn append_scenario(big_partial: bool) -> String {
    format!(
        r#"name = "append"
[[table]]
name = "big"
rows = 2000000
width = 8
parallel_workers = {}
[[table]]
name = "small"
rows = 20000
width = 8
[plan]
node = "Aggregate"
mode = "Finalize"
[plan.input]
node = "Gather"
workers = 2
[plan.input.input]
node = "Aggregate"
mode = "Partial"
[plan.input.input.input]
node = "Parallel Append"
[[plan.input.input.input.inputs]]
node = "{}"
table = "big"
[[plan.input.input.input.inputs]]
node = "Parallel Seq Scan"
table = "small"
"#,
        if big_partial { 2 } else { 0 },
        if big_partial { "Parallel Seq Scan" } else { "Seq Scan" }
    )
}

#[test]
fn a_non_partial_append_input_is_run_by_one_participant() {
    let dir = tempfile::tempdir().unwrap();
    let mut wall = vec![];
    let mut most = vec![];
    for partial in [false, true] {
        let path = dir.path().join(format!("a{partial}.toml"));
        std::fs::write(&path, append_scenario(partial)).unwrap();
        let v = common::json(&["run", path.to_str().unwrap(), "--replications", "1", "--format", "json"]);
        wall.push(v["wall_time_ms"].as_f64().unwrap());
        let procs = v["processes"].as_array().unwrap();
        let scanned: Vec<f64> = procs.iter().map(|p| p["tuples_scanned"].as_f64().unwrap_or(0.0)).collect();
        most.push(scanned.iter().cloned().fold(0.0, f64::max));
    }
    // Non-partial: one worker reads all 2M rows of `big` (choose_next_subplan_for_worker),
    // the others only `small`; partial: the three participants share `big` (on two cores the
    // leader keeps a core of its own while its two workers share the other, so it reads about
    // half).
    assert!(most[0] >= 0.99 * 2_000_000.0, "one process scans the whole non-partial input: {most:?}");
    assert!(most[1] < 0.6 * 2_000_000.0, "a partial input is shared: {most:?}");
    assert!(wall[0] > 1.8 * wall[1], "the non-partial input bounds the query: {wall:?}");
}

#[test]
fn simulation_events_grow_far_slower_than_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = import_to("pg15_mergejoin_w2_analyze", dir.path());
    let (_, path_u) = import_to("pg15_append_union_w2", dir.path());
    for (p, tables) in [(&path, ["ma", "mb"]), (&path_u, ["ua", "ub"])] {
        let events = |scale: f64| {
            let p = p.to_str().unwrap();
            let a = format!("{}.rows={}", tables[0], (200_000.0 * scale) as u64);
            let b = format!("{}.rows={}", tables[1], (300_000.0 * scale) as u64);
            let v = common::json(&["run", p, "--replications", "1", "--table", &a, "--table", &b, "--format", "json"]);
            v["events"].as_f64().unwrap()
        };
        // Events come per chunk of pages, per queue batch and per scheduler time slice (a
        // longer run has more slices), never per tuple: 100x the rows, far fewer than 100x
        // the events (one per tuple would be millions).
        let (small, big) = (events(1.0), events(100.0));
        assert!(big <= 10.0 * small, "{p:?}: {small} events at 1x rows, {big} at 100x");
        assert!(big < 50_000.0, "{p:?}: {big} events for 50M rows");
    }
}

#[test]
fn other_plan_nodes_still_exit_2_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("fs.json");
    std::fs::write(
        &bad,
        r#"[{"Plan": {"Node Type": "Function Scan", "Parallel Aware": false, "Function Name": "generate_series",
        "Startup Cost": 0, "Total Cost": 10, "Plan Rows": 1000, "Plan Width": 4}}]"#,
    )
    .unwrap();
    let run = common::pqsim(&["import", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("\"Function Scan\""), "{}", run.stderr);
    assert!(run.stderr.contains("Merge Join, Append, Parallel Append"), "{}", run.stderr);
}

#[test]
fn bad_merge_join_and_append_scenarios_exit_2_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let head = "name = \"x\"\n[[table]]\nname = \"t\"\nrows = 1000\nwidth = 8\n";
    let cases = [
        ("[plan]\nnode = \"Append\"\n", "needs `inputs`"),
        ("[plan]\nnode = \"Append\"\n[[plan.inputs]]\nnode = \"Sort\"\n[plan.inputs.input]\nnode = \"Seq Scan\"\ntable = \"t\"\n", "Append input"),
        ("[plan]\nnode = \"Parallel Append\"\n[[plan.inputs]]\nnode = \"Seq Scan\"\ntable = \"t\"\n", "parallel-aware input"),
        ("[plan]\nnode = \"Merge Join\"\n[plan.outer]\nnode = \"Seq Scan\"\ntable = \"t\"\n", "needs an `inner`"),
        (
            "[plan]\nnode = \"Merge Join\"\n[plan.outer]\nnode = \"Seq Scan\"\ntable = \"t\"\n[plan.inner]\nnode = \"Parallel Seq Scan\"\ntable = \"t\"\n",
            "read whole by every participant",
        ),
    ];
    for (i, (plan, why)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, format!("{head}{plan}")).unwrap();
        let run = common::pqsim(&["run", path.to_str().unwrap(), "--replications", "1"]);
        assert_eq!(run.code, 2, "case {i}: {}", run.stderr);
        assert!(run.stderr.contains(why), "case {i}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("bad{i}.toml:")), "case {i}: the file and place: {}", run.stderr);
    }
}
