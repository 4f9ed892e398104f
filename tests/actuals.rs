//! `import --costs-from-actuals` without a server, from real PostgreSQL 15.18 EXPLAIN ANALYZE
//! plans in tests/fixtures/explain/ (the TPC-H-like workload of `pqsim validate`, serial,
//! captured by tests/actuals_pg.rs and tests/capture_fixtures.rs):
//! - every derived price is positive;
//! - EXPLAIN ANALYZE's clock reads are taken out (the profile's instrument_ns x the child
//!   calls counted from the plan);
//! - simulated with the settings it was measured in, the derived scenario gives back the
//!   measured Execution Time within a few % (a consistency check of the derivation, not a
//!   prediction);
//! - predictions for other worker counts, other table sizes and other hardware use them.

mod common;

use pqsim::pg::{ExplainNode, ExplainPlan};
use std::path::{Path, PathBuf};

/// Serial plans with TIMING ON (VERBOSE, SETTINGS).
/// q14 hashes `part` and probes with the filtered `lineitem` as PostgreSQL chose from its
/// estimates, though the actual rows would favour the other order (`keep_join_order`).
const TIMED: [&str; 6] = [
    "actuals_q1_w0.json",
    "actuals_q6_w0.json",
    "actuals_q12_w0.json",
    "actuals_q14_w0.json",
    "actuals_not_in_w0.json",
    "actuals_not_exists_w0.json",
];
/// A serial plan with TIMING OFF.
const TIMING_OFF: &str = "actuals_q6_w0_timing_off.json";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain").join(name)
}

fn plan(name: &str) -> ExplainPlan {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    pqsim::import::parse_explain_text(&text).unwrap()
}

/// Import a fixture with --costs-from-actuals into a scenario file (a folder per test: tests
/// run in parallel); its path and text.
fn derived(test: &str, name: &str) -> (PathBuf, String) {
    derived_on(test, &fixture(name), "reference-2vcpu")
}

/// [`derived`] of the plan file `f` on the measuring profile `hardware`.
fn derived_on(test: &str, f: &Path, hardware: &str) -> (PathBuf, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("actuals").join(test);
    std::fs::create_dir_all(&out).unwrap();
    let name = f.file_name().unwrap().to_str().unwrap();
    let sc = out.join(name.replace(".json", ".toml"));
    common::ok(&[
        "import",
        f.to_str().unwrap(),
        "--schema",
        "configs/schemas/tpch.sql",
        "--costs-from-actuals",
        "--hardware",
        hardware,
        "--output",
        sc.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&sc).unwrap();
    (sc, text)
}

fn measured(text: &str) -> toml::Table {
    let t: toml::Table = toml::from_str(text).unwrap();
    t["measured"].as_table().expect("a [measured] section").clone()
}

fn num(v: &toml::Value) -> f64 {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).unwrap()
}

fn run(sc: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", sc.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    common::json(&args)
}

fn wall(sc: &Path, extra: &[&str]) -> f64 {
    run(sc, extra)["wall_time_ms"].as_f64().unwrap()
}

/// Calls of every node below the root: (rows + 1) per loop, a Hash once per loop.
fn child_calls(n: &ExplainNode) -> f64 {
    n.plans
        .iter()
        .map(|c| {
            let loops = c.actual_loops.unwrap() as f64;
            let own = if c.node_type == "Hash" { loops } else { (c.actual_rows.unwrap() + 1.0) * loops };
            own + child_calls(c)
        })
        .sum()
}

#[test]
fn every_derived_price_is_positive_and_sourced() {
    for name in TIMED.iter().chain([&TIMING_OFF]) {
        let (_, text) = derived("every_derived_price_is_positive_and_sourced", name);
        let m = measured(&text);
        let nodes = m["node"].as_array().unwrap();
        assert!(!nodes.is_empty(), "{name}: no node costs");
        for n in nodes {
            let n = n.as_table().unwrap();
            let prices: Vec<(&String, f64)> =
                n.iter().filter(|(k, _)| k.ends_with("_ns")).map(|(k, v)| (k, num(v))).collect();
            assert!(!prices.is_empty(), "{name}: {n:?} has no price");
            for (k, v) in prices {
                assert!(v > 0.0 && v.is_finite(), "{name}: {} {k} = {v}", n["node"]);
            }
        }
        // Each node says where its numbers came from.
        let sourced = text.lines().filter(|l| l.starts_with("# own time") || l.starts_with("# TIMING OFF")).count();
        assert_eq!(sourced, nodes.len(), "{name}");
    }
}

/// `[costs] instrument_ns` of the shipped reference-2vcpu profile (each calibration moves it).
fn reference_instrument_ns() -> f64 {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hardware/reference-2vcpu.toml");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
    num(&t["costs"]["instrument_ns"])
}

#[test]
fn clock_reads_are_taken_out() {
    for name in TIMED {
        let p = plan(name);
        let (sc, text) = derived("clock_reads_are_taken_out", name);
        let m = measured(&text);
        // reference-2vcpu's instrument_ns (ns per instrumented call) x every child call.
        let instrument_ns = reference_instrument_ns();
        let expect = instrument_ns * child_calls(&p.root) / 1e6;
        let got = num(&m["timing_overhead_ms"]);
        assert!((got - expect).abs() <= 0.01 * expect + 1e-3, "{name}: overhead {got} ms, expected {expect} ms");
        // Without the clock reads (TIMING OFF, or a bare query), the same scenario runs faster
        // by about that overhead.
        let timed = wall(&sc, &["--measure", "explain-analyze"]);
        let off = wall(&sc, &["--measure", "timing-off"]);
        let gap = timed - off;
        assert!(
            gap > 0.5 * expect && gap < 1.5 * expect,
            "{name}: timed {timed} - off {off} = {gap} vs overhead {expect}"
        );
    }
}

#[test]
fn same_settings_give_back_the_measured_time() {
    // A consistency check of the derivation (the actuals are never a prediction of the
    // configuration they were measured in).
    for (name, measure) in TIMED.iter().map(|n| (*n, "explain-analyze")).chain([(TIMING_OFF, "timing-off")]) {
        let p = plan(name);
        let (sc, _) = derived("same_settings_give_back_the_measured_time", name);
        let exec = p.execution_time_ms.unwrap();
        let sim = wall(&sc, &["--measure", measure]);
        let err = (sim - exec) / exec;
        assert!(
            err.abs() <= 0.04,
            "{name}: simulated {sim:.2} ms vs Execution Time {exec:.2} ms ({:+.1}%)",
            err * 100.0
        );
    }
}

/// The scenario without its [measured] section (the class costs only).
fn without_measured(sc: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sc).unwrap();
    let cut = text.find("\n# This query's own per-node costs").unwrap_or(text.len());
    let p = sc.with_extension("class.toml");
    std::fs::write(&p, &text[..cut]).unwrap();
    p
}

/// The scenario with every measured price multiplied by `k`.
fn scaled(sc: &Path, k: f64) -> PathBuf {
    let text = std::fs::read_to_string(sc).unwrap();
    let mut out = String::new();
    let mut in_measured = false;
    for line in text.lines() {
        in_measured |= line.starts_with("[measured]");
        let key = line.split('=').next().unwrap_or("").trim();
        if in_measured && key.ends_with("_ns") {
            let v: f64 = line.split('=').nth(1).unwrap().split('#').next().unwrap().trim().parse().unwrap();
            out.push_str(&format!("{key} = {}\n", v * k));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let p = sc.with_extension(format!("x{k}.toml"));
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn other_worker_counts_use_the_measured_costs() {
    // (The seed NOT IN, a Limit over a hashed SubPlan, is checked by the give-back test only.)
    for name in TIMED.into_iter().filter(|n| !n.contains("not_in")) {
        let (sc, _) = derived("other_worker_counts_use_the_measured_costs", name);
        let set = ["--set", "max_parallel_workers_per_gather=2", "--measure", "client"];
        let j = run(&sc, &set);
        assert!(j["workers_planned"].as_u64().unwrap() >= 1, "{name}: no parallel plan at W=2");
        let par = j["wall_time_ms"].as_f64().unwrap();
        // Doubling every measured price makes the parallel prediction much slower: the
        // parallel plan runs on them (worker start-up and tuple queues stay the profile's).
        let par2 = wall(&scaled(&sc, 2.0), &set);
        assert!(par2 > 1.6 * par, "{name}: W=2 {par} ms, with measured prices doubled {par2} ms");
        // And they are not the class costs: the class-cost scenario predicts something else.
        let class = wall(&without_measured(&sc), &set);
        assert!((class - par).abs() > 0.01 * par, "{name}: measured {par} vs class {class}");
    }
}

#[test]
fn table_sizes_and_hardware_scale_the_measured_costs() {
    let name = "actuals_q6_w0.json";
    let (sc, _) = derived("table_sizes_and_hardware_scale_the_measured_costs", name);
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(&sc).unwrap()).unwrap();
    let li = t["table"].as_array().unwrap().iter().find(|x| x["name"].as_str() == Some("lineitem")).unwrap().clone();
    let rows = num(&li["rows"]);
    let base = wall(&sc, &["--measure", "timing-off"]);
    // Pages follow rows (at the table's width).
    let big = wall(&sc, &["--measure", "timing-off", "--table", &format!("lineitem.rows={}", rows * 4.0)]);
    assert!(big > 3.5 * base && big < 4.5 * base, "4x lineitem: {base} -> {big} ms");
    // A machine twice as fast (cpu_speed 2 against the measuring profile's 1): half the time.
    let fast = wall(&sc, &["--measure", "timing-off", "--hw", "cpu_speed=2"]);
    assert!(fast > 0.45 * base && fast < 0.55 * base, "cpu_speed 2: {base} -> {fast} ms");
}

#[test]
fn a_plan_without_actuals_is_refused() {
    let f = fixture("pg15_q6_w0.json");
    let r = common::pqsim(&["import", f.to_str().unwrap(), "--costs-from-actuals"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("EXPLAIN (ANALYZE"), "{}", r.stderr);
}

#[test]
fn a_bad_measured_section_is_refused_where_it_is() {
    let (sc, text) = derived("a_bad_measured_section_is_refused_where_it_is", "actuals_q6_w0.json");
    let bad = text.replacen("row_ns = ", "row_ns = -", 1);
    let line = bad.lines().position(|l| l.starts_with("row_ns = -")).unwrap() + 1;
    let p = sc.with_extension("bad.toml");
    std::fs::write(&p, bad).unwrap();
    let r = common::pqsim(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("bad.toml:{line}:")), "{}", r.stderr);
    assert!(r.stderr.contains("row_ns must be zero or positive"), "{}", r.stderr);
    let twice = text.replacen("[[measured.node]]", "[[measured.node]]\nnode = \"x\"\n[[measured.node]]", 1);
    let twice = twice.replacen("node = \"x\"", "node = \"Seq Scan on lineitem\"", 1);
    let p = sc.with_extension("twice.toml");
    std::fs::write(&p, twice).unwrap();
    let r = common::pqsim(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("given twice"), "{}", r.stderr);
}

/// The relation the Hash node of the first Hash Join below `n` reads.
fn hashed_relation(n: &serde_json::Value) -> Option<String> {
    if n["Node Type"] == "Hash" {
        return n["Plans"][0]["Relation Name"].as_str().map(String::from);
    }
    n["Plans"].as_array()?.iter().find_map(hashed_relation)
}

#[test]
fn an_imported_plan_keeps_postgresqls_hash_join_order() {
    // PostgreSQL hashed `part` and probed with the filtered lineitem, from its estimates; the
    // actual rows (3,053 lineitem rows, 8,000 parts) would make pqsim's planner hash lineitem.
    let name = "actuals_q14_w0.json";
    let (sc, text) = derived("an_imported_plan_keeps_postgresqls_hash_join_order", name);
    assert!(text.contains("keep_join_order = true"), "import must say it keeps the order");
    for w in ["0", "2"] {
        let set = format!("max_parallel_workers_per_gather={w}");
        let j = run(&sc, &["--set", &set]);
        assert_eq!(hashed_relation(&j["explain"][0]["Plan"]).as_deref(), Some("part"), "W={w}: {}", j["explain"]);
    }
    // Without the key the planner chooses by its own costs: the other order.
    let free = sc.with_file_name("q14_free.toml");
    std::fs::write(&free, text.replace("keep_join_order = true", "keep_join_order = false")).unwrap();
    let j = run(&free, &["--set", "max_parallel_workers_per_gather=0"]);
    assert_eq!(hashed_relation(&j["explain"][0]["Plan"]).as_deref(), Some("lineitem"));
}

/// Import `plan_fixture` (a plan PostgreSQL chose, no ANALYZE) priced by the EXPLAIN ANALYZE
/// of `actuals_fixture` (`--actuals`); the scenario's path and import's stderr.
fn priced_by(test: &str, plan_fixture: &str, actuals_fixture: &str) -> (PathBuf, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("actuals").join(test);
    std::fs::create_dir_all(&out).unwrap();
    let sc = out.join(plan_fixture.replace(".json", ".toml"));
    let (p, a) = (fixture(plan_fixture), fixture(actuals_fixture));
    let r = common::ok(&[
        "import",
        p.to_str().unwrap(),
        "--schema",
        "configs/schemas/tpch.sql",
        "--table",
        "lineitem.rows=240000",
        "--table",
        "lineitem.pages=4799",
        "--costs-from-actuals",
        "--actuals",
        a.to_str().unwrap(),
        "--output",
        sc.to_str().unwrap(),
    ]);
    (sc, r.stderr)
}

#[test]
fn the_plan_postgresql_chose_at_w_is_priced_by_the_serial_actuals() {
    // The leader-bound Gather hides its plan in the serial EXPLAIN: `sum(x) FROM (SELECT
    // l_quantity AS x FROM lineitem OFFSET 0) s` is Aggregate > Seq Scan serial, and at 2
    // workers PostgreSQL keeps the aggregate above the Gather (every row crosses a queue).
    let test = "the_plan_postgresql_chose_at_w_is_priced_by_the_serial_actuals";
    let (sc, stderr) = priced_by(test, "pg15_gather_bound_w2.json", "actuals_gather_bound_w0.json");
    assert!(!stderr.contains("--actuals:"), "every node matched: {stderr}");
    let text = std::fs::read_to_string(&sc).unwrap();
    let m = measured(&text);
    assert_eq!(
        m["execution_time_ms"].as_float().unwrap(),
        plan("actuals_gather_bound_w0.json").execution_time_ms.unwrap()
    );
    let r = common::ok(&["run", sc.to_str().unwrap(), "--measure", "client", "--format", "json"]);
    assert!(r.stderr.contains("2 of 2 plan nodes priced by this query's own EXPLAIN ANALYZE"), "{}", r.stderr);
    let pg_plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // (This plan of PostgreSQL's, at max_parallel_workers_per_gather = 2, planned 1 worker.)
    let w = pg_plan["workers_planned"].as_u64().unwrap();
    assert!(w >= 1, "a parallel plan");
    // pqsim's own parallel plan of the serial scenario pushes the aggregate below the Gather
    // and so predicts a faster query than the plan PostgreSQL runs.
    let (serial_sc, _) = derived(test, "actuals_gather_bound_w0.json");
    let own = wall(
        &serial_sc,
        &[
            "--set",
            &format!("max_parallel_workers_per_gather={w}"),
            "--set",
            "parallel_setup_cost=0",
            "--set",
            "parallel_tuple_cost=0",
            "--measure",
            "client",
        ],
    );
    let theirs = pg_plan["wall_time_ms"].as_f64().unwrap();
    assert!(theirs > 1.2 * own, "PostgreSQL's plan {theirs:.1} ms vs pqsim's partial aggregation {own:.1} ms");
}

#[test]
fn costs_measured_on_another_query_are_named_not_used() {
    let test = "costs_measured_on_another_query_are_named_not_used";
    let (_, stderr) = priced_by(test, "pg15_gather_bound_w2.json", "actuals_q6_w0.json");
    assert!(stderr.contains("matches no node of this plan"), "{stderr}");
    assert!(stderr.contains("has no measured cost"), "{stderr}");
}

#[test]
fn explain_analyzes_call_wrapper_is_taken_out_and_given_back() {
    // On a profile whose EXPLAIN ANALYZE wraps every node call at 200 ns (ten times this VM's, so that a wrapper counted twice shows), the derived prices
    // hold no wrapper (the TIMING ON walk takes it out with the clock reads; the TIMING OFF
    // spread leaves it out of the nodes), and simulating as measured gives the time back.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("actuals").join("wrapper");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("configs/hardware/reference-2vcpu.toml").unwrap();
    let hw = dir.join("wrapped.toml");
    // Set the key whether or not the shipped profile names it (it does, at 0).
    let mut profile: toml::Table = text.parse().unwrap();
    profile["costs"].as_table_mut().unwrap().insert("instrument_call_ns".into(), toml::Value::Integer(200));
    std::fs::write(&hw, toml::to_string(&profile).unwrap()).unwrap();
    let hw = hw.to_str().unwrap();
    // Q1's plan with its per-node times stripped, as TIMING OFF prints it: its scan returns
    // nearly every row, so a wrapper counted twice would show (Q6's filter passes 2%).
    let mut q1: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("actuals_q1_w0.json")).unwrap()).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("Actual Startup Time");
                m.remove("Actual Total Time");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut q1);
    let q1_off = dir.join("actuals_q1_w0_timing_off.json");
    std::fs::write(&q1_off, serde_json::to_string(&q1).unwrap()).unwrap();
    let cases = TIMED
        .iter()
        .map(|n| (fixture(n), "explain-analyze"))
        .chain([(fixture(TIMING_OFF), "timing-off"), (q1_off, "timing-off")]);
    for (f, measure) in cases {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let p = pqsim::import::parse_explain_text(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let (sc, _) = derived_on("wrapper", &f, hw);
        let exec = p.execution_time_ms.unwrap();
        let sim = wall(&sc, &["--measure", measure, "--hardware", hw]);
        let err = (sim - exec) / exec;
        assert!(
            err.abs() <= 0.04,
            "{name}: simulated {sim:.2} ms vs Execution Time {exec:.2} ms ({:+.1}%)",
            err * 100.0
        );
        // A bare run of the same query pays no wrapper: faster than the EXPLAIN it came from.
        let bare = wall(&sc, &["--measure", "client", "--hardware", hw]);
        assert!(bare < sim, "{name}: bare {bare:.2} ms not under EXPLAIN's {sim:.2}");
    }
}
