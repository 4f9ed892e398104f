//! `run` and `plan` tell one story, and what-ifs reach the plan:
//! - on every shipped scenario and under `--set work_mem=64MB`, `run` executes the plan `plan`
//!   shows: the same Workers Planned, and each SubPlan hashed or not as `plan` says;
//! - `--table session_product_list.rows=150000000` makes seed-not-in's SubPlan too big to hash;
//! - `run tpch-lineitem-sum.toml --set max_parallel_workers_per_gather=W` never shows a speedup
//!   above W + 1 (the participants) on any shipped profile.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn pqsim(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pqsim");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
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

fn check_agreement(sc: &str, extra: &[&str]) {
    // Non-hashed SubPlans run for days: a coarse wait-sampling period keeps `run` within its
    // sample bound.
    let mut run_args = vec!["run", sc, "--format", "json", "--replications", "1", "--sample-period", "100000000"];
    run_args.extend_from_slice(extra);
    let mut plan_args = vec!["plan", sc, "--format", "json"];
    plan_args.extend_from_slice(extra);
    let run = pqsim(&run_args);
    let plan = pqsim(&plan_args);
    assert_eq!(run["workers_planned"], plan["workers_planned"], "{sc} {extra:?}: Workers Planned");
    let hashed: Vec<bool> = plan["subplans_hashed"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
    let mut run_filters = vec![];
    let explain = &run["explain"];
    let root = if explain.is_array() { &explain[0]["Plan"] } else { &explain["Plan"] };
    subplan_filters(root, &mut run_filters);
    let mut plan_filters = vec![];
    subplan_filters(&plan["plan"], &mut plan_filters);
    assert_eq!(run_filters.len(), hashed.len(), "{sc} {extra:?}: {run_filters:?}");
    for (i, (f, h)) in run_filters.iter().zip(&hashed).enumerate() {
        assert_eq!(f.contains("hashed SubPlan"), *h, "{sc} {extra:?}: run shows \"{f}\", plan says hashed = {h}");
        assert_eq!(plan_filters.get(i), Some(f), "{sc} {extra:?}: plan and run print the filter alike");
    }
}

#[test]
fn run_and_plan_agree_on_every_shipped_scenario() {
    for sc in scenarios() {
        check_agreement(&sc, &[]);
        check_agreement(&sc, &["--set", "work_mem=64MB"]);
    }
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
