//! `run` and `plan` tell one story, and what-ifs reach the plan:
//! - on every shipped scenario, by default and under `--set work_mem=64MB`, `work_mem=64kB`,
//!   `max_parallel_workers_per_gather=0` and `=4`, the plan `run` executes (its EXPLAIN) has
//!   the shape of the plan `plan` shows: the same node types in the same order, each SubPlan
//!   under the same name and hashed or not alike, the same Workers Planned on every Gather;
//! - a SubPlan that is not hashed runs PostgreSQL's plan for it (Materialize over the
//!   subquery's own Gather when the subquery is big enough);
//! - `--table session_product_list.rows=150000000` makes seed-not-in's SubPlan too big to hash;
//! - `run tpch-lineitem-sum.toml --set max_parallel_workers_per_gather=W` never shows a speedup
//!   above W + 1 (the participants) on any shipped profile.

mod common;

use serde_json::Value;
use std::path::Path;

fn pqsim(args: &[&str]) -> Value {
    common::json(args)
}

/// The settings every shipped scenario is checked under (none: the scenario's own).
const SETTINGS: [Option<&str>; 5] = [
    None,
    Some("work_mem=64MB"),
    Some("work_mem=64kB"),
    Some("max_parallel_workers_per_gather=0"),
    Some("max_parallel_workers_per_gather=4"),
];

/// The shape of an EXPLAIN (FORMAT JSON) plan, in plan order: each node's type ("Parallel "
/// before a parallel-aware one, a Gather's Workers Planned after it), and before the plan of
/// a SubPlan its name as the owner's filter refers to it: `hashed SubPlan 1` or `SubPlan 1`.
/// A child marked as a SubPlan without a name, or a name the owner's filter does not mention,
/// is a shape of its own ("SubPlan ?").
fn shape(n: &Value, out: &mut Vec<String>) {
    let mut ty = n["Node Type"].as_str().unwrap_or("?").to_string();
    if n["Parallel Aware"] == true {
        ty = format!("Parallel {ty}");
    }
    if let Some(w) = n.get("Workers Planned").and_then(Value::as_u64) {
        ty = format!("{ty} ({w} workers)");
    }
    out.push(ty);
    let filter = n.get("Filter").and_then(Value::as_str).unwrap_or("");
    for c in n.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        if c.get("Parent Relationship").and_then(Value::as_str) == Some("SubPlan") {
            let name = c.get("Subplan Name").and_then(Value::as_str).unwrap_or("?");
            let hashed = format!("hashed {name}");
            out.push(if filter.contains(&hashed) {
                hashed
            } else if filter.contains(name) {
                name.to_string()
            } else {
                format!("SubPlan {name}?")
            });
        }
        shape(c, out);
    }
}

/// The filter texts of the nodes holding a SubPlan, in plan order.
fn subplan_filters(n: &Value, out: &mut Vec<String>) {
    if let Some(f) = n.get("Filter").and_then(Value::as_str) {
        if f.contains("SubPlan") {
            out.push(f.to_string());
        }
    }
    for c in n.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        subplan_filters(c, out);
    }
}

fn scenarios() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| format!("configs/scenarios/{}", e.file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".toml"))
        .collect();
    v.sort();
    v
}

/// What `run --format json` and `plan --format json` report for the same question.
struct Both {
    run: Value,
    plan: Value,
}

impl Both {
    fn new(sc: &str, extra: &[&str]) -> Both {
        // Non-hashed SubPlans run for days: a coarse wait-sampling period keeps `run` within
        // its sample bound.
        let mut run_args = vec!["run", sc, "--format", "json", "--replications", "1", "--sample-period", "100000000"];
        run_args.extend_from_slice(extra);
        let mut plan_args = vec!["plan", sc, "--format", "json"];
        plan_args.extend_from_slice(extra);
        Both { run: pqsim(&run_args), plan: pqsim(&plan_args) }
    }

    /// The plan `run` executed, as its EXPLAIN shows it.
    fn run_plan(&self) -> &Value {
        let explain = &self.run["explain"];
        if explain.is_array() {
            &explain[0]["Plan"]
        } else {
            &explain["Plan"]
        }
    }

    fn shapes(&self) -> (Vec<String>, Vec<String>) {
        let (mut r, mut p) = (vec![], vec![]);
        shape(self.run_plan(), &mut r);
        shape(&self.plan["plan"], &mut p);
        (r, p)
    }
}

fn check_agreement(sc: &str, extra: &[&str]) {
    let both = Both::new(sc, extra);
    let (run, plan) = (&both.run, &both.plan);
    assert_eq!(run["workers_planned"], plan["workers_planned"], "{sc} {extra:?}: Workers Planned");
    let (run_shape, plan_shape) = both.shapes();
    assert_eq!(
        run_shape, plan_shape,
        "{sc} {extra:?}: the plan run executes (left) is not the plan plan shows (right)"
    );
    // Each SubPlan hashed as the planner's list says, and the filters printed alike.
    let hashed: Vec<bool> = plan["subplans_hashed"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
    let marks: Vec<bool> =
        run_shape.iter().filter(|s| s.contains("SubPlan")).map(|s| s.starts_with("hashed ")).collect();
    assert_eq!(marks, hashed, "{sc} {extra:?}: SubPlans hashed in run's EXPLAIN vs plan's subplans_hashed");
    let (mut run_filters, mut plan_filters) = (vec![], vec![]);
    subplan_filters(both.run_plan(), &mut run_filters);
    subplan_filters(&plan["plan"], &mut plan_filters);
    assert_eq!(run_filters, plan_filters, "{sc} {extra:?}: run and plan print the SubPlan filters alike");
}

#[test]
fn run_and_plan_agree_on_every_shipped_scenario_and_setting() {
    let scenarios = scenarios();
    assert!(scenarios.len() >= 7, "{scenarios:?}");
    for sc in &scenarios {
        for set in SETTINGS {
            match set {
                None => check_agreement(sc, &[]),
                Some(s) => check_agreement(sc, &["--set", s]),
            }
        }
    }
}

/// PostgreSQL 15's plan for a SubPlan it does not hash (reference §7.3, §7.4): a Materialize
/// over the subquery's plan, here the subquery's own Gather (a subquery that big gets a
/// parallel plan, which makes the outer scan serial); the shape seen on a real server.
#[test]
fn a_subplan_not_hashed_runs_materialize_over_its_own_gather() {
    let sc = "configs/scenarios/seed-not-in.toml";
    let both = Both::new(sc, &["--set", "work_mem=64MB"]);
    let (run, _) = both.shapes();
    let tail = ["Seq Scan", "SubPlan 1", "Materialize", "Gather (8 workers)", "Parallel Seq Scan"];
    assert!(run.ends_with(&tail.map(String::from)), "{run:?}");
    assert_eq!(both.plan["subplans_hashed"][0], false);
    // The Gather that runs is the SubPlan's: the contract's Workers Planned is its count.
    assert_eq!(both.run["workers_planned"], 8);
    // Hashed (work_mem 256MB): no Materialize, the hash table is filled from the Gather.
    let both = Both::new(sc, &[]);
    let (run, _) = both.shapes();
    let tail = ["Seq Scan", "hashed SubPlan 1", "Gather (8 workers)", "Parallel Seq Scan"];
    assert!(run.ends_with(&tail.map(String::from)), "{run:?}");
    // A serial subquery (no workers at all): Materialize over its Seq Scan.
    let both = Both::new(sc, &["--set", "work_mem=64MB", "--set", "max_parallel_workers_per_gather=0"]);
    let (run, _) = both.shapes();
    assert!(run.ends_with(&["Seq Scan", "SubPlan 1", "Materialize", "Seq Scan"].map(String::from)), "{run:?}");
}

/// `plan`'s text prints a SubPlan's name above its plan, where EXPLAIN does: at the owner's
/// details column, the plan's arrow two further.
#[test]
fn plan_text_names_the_subplan_as_explain_does() {
    let out = common::ok(&["plan", "configs/scenarios/seed-not-in.toml", "--set", "work_mem=64MB"]).stdout;
    let want = "          ->  Seq Scan on user_session_history";
    let i = out.find(want).unwrap_or_else(|| panic!("{out}"));
    let lines: Vec<&str> = out[i..].lines().collect();
    assert_eq!(lines[1], "                Filter: (NOT (SubPlan 1))", "{out}");
    assert_eq!(lines[2], "                SubPlan 1", "{out}");
    assert!(lines[3].starts_with("                  ->  Materialize  (cost="), "{out}");
}

#[test]
fn a_table_what_if_reaches_the_subplan() {
    let plan = pqsim(&["plan", "configs/scenarios/seed-not-in.toml", "--format", "json"]);
    assert_eq!(plan["subplans_hashed"][0], true);
    let args = ["--table", "session_product_list.rows=150000000"];
    let plan = pqsim(&["plan", "configs/scenarios/seed-not-in.toml", "--format", "json", args[0], args[1]]);
    assert_eq!(plan["subplans_hashed"][0], false, "150M rows x 32 B do not fit in 512 MB of hash_mem");
    check_agreement("configs/scenarios/seed-not-in.toml", &args);
}

#[test]
fn speedup_never_exceeds_the_participants() {
    for hw in ["reference-2vcpu", "laptop", "aurora"] {
        let wall = |w: u32| {
            let set = format!("max_parallel_workers_per_gather={w}");
            let v = pqsim(&[
                "run",
                "configs/scenarios/tpch-lineitem-sum.toml",
                "--hardware",
                hw,
                "--set",
                &set,
                "--format",
                "json",
            ]);
            v["wall_time_ms"].as_f64().unwrap()
        };
        let serial = wall(0);
        for w in 1..=4u32 {
            let s = serial / wall(w);
            assert!(s <= f64::from(w) + 1.0, "{hw}: speedup {s:.4} at W={w}");
        }
    }
}
