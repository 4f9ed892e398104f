//! `pqsim import` reads pqsim's own EXPLAIN back: for every shipped scenario, the `explain` of
//! `run --format json` imports into a scenario whose plan (`pqsim plan`) has the same node
//! types in the same shape and the same Workers Planned as the original's. The one exception is
//! a plan import does not model at all (a Gather inside a SubPlan); there import must say so,
//! as it does for PostgreSQL's own EXPLAIN of that plan.

mod common;

use serde_json::Value;
use std::path::Path;

fn pqsim(args: &[&str]) -> common::Run {
    common::pqsim(args)
}

fn shape(n: &Value, out: &mut Vec<String>) {
    out.push(n["Node Type"].as_str().unwrap_or("?").to_string());
    for c in n["Plans"].as_array().into_iter().flatten() {
        shape(c, out);
    }
    out.push(")".into());
}

fn plan_of(sc: &str) -> Value {
    let o = pqsim(&["plan", sc, "--format", "json"]);
    assert_eq!(o.code, 0, "plan {sc}: {}", o.stderr);
    serde_json::from_str(&o.stdout).expect("plan json")
}

#[test]
fn pqsims_explain_imports_back_into_the_same_plan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for e in std::fs::read_dir(root.join("configs/scenarios")).expect("scenarios") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let sc = p.to_str().unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let run = pqsim(&["run", sc, "--replications", "1", "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let j: Value = serde_json::from_str(&run.stdout).expect("run json");
        let explain = dir.path().join(format!("{name}.json"));
        std::fs::write(&explain, serde_json::to_vec(&j["explain"]).unwrap()).unwrap();
        let back = dir.path().join(format!("{name}.toml"));
        let imp = pqsim(&["import", explain.to_str().unwrap(), "--output", back.to_str().unwrap()]);
        let err = &imp.stderr;
        if imp.code != 0 {
            assert!(err.contains("a Gather inside a SubPlan"), "{name}: import rejected pqsim's EXPLAIN: {err}");
            continue;
        }
        let (a, b) = (plan_of(sc), plan_of(back.to_str().unwrap()));
        assert_eq!(a["workers_planned"], b["workers_planned"], "{name}");
        let (mut sa, mut sb) = (vec![], vec![]);
        shape(&a["plan"], &mut sa);
        shape(&b["plan"], &mut sb);
        assert_eq!(sa, sb, "{name}: plan shape after the round trip");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} scenarios round-tripped");
}

/// A SubPlan that is not hashed shows a Materialize over its plan (as PostgreSQL's EXPLAIN
/// does): import reads it back into a scenario planned the same way.
#[test]
fn a_non_hashed_subplans_explain_imports_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = "configs/scenarios/seed-not-in.toml";
    let set = ["--set", "work_mem=64MB"];
    let run =
        pqsim(&["run", sc, "--replications", "1", "--format", "json", "--sample-period", "100000000", set[0], set[1]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j: Value = serde_json::from_str(&run.stdout).expect("run json");
    assert!(run.stdout.contains("\"Materialize\""), "run's EXPLAIN has the SubPlan's Materialize");
    let explain = dir.path().join("seed.json");
    std::fs::write(&explain, serde_json::to_vec(&j["explain"]).unwrap()).unwrap();
    let back = dir.path().join("seed.toml");
    let imp = pqsim(&["import", explain.to_str().unwrap(), "--output", back.to_str().unwrap()]);
    assert_eq!(imp.code, 0, "import rejected pqsim's EXPLAIN: {}", imp.stderr);
    let a = common::json(&["plan", sc, "--format", "json", set[0], set[1]]);
    let b = plan_of(back.to_str().unwrap());
    assert_eq!(a["subplans_hashed"], b["subplans_hashed"]);
    let (mut sa, mut sb) = (vec![], vec![]);
    shape(&a["plan"], &mut sa);
    shape(&b["plan"], &mut sb);
    assert_eq!(sa, sb, "plan shape after the round trip");
}
