//! pqsim's EXPLAIN JSON has the keys real PostgreSQL 15 plans have, node type by node type.
//!
//! The real side: every `EXPLAIN (ANALYZE ...)` node of PostgreSQL 15.18 in
//! `tests/fixtures/explain/pg15_*.json` and `src/pg/testdata/*.json` that ran (loops > 0),
//! grouped by kind (node type, `Parallel` prefix, an Aggregate's Strategy); a kind's required
//! keys are those every real node of that kind has. The pqsim side: `run --format json` of
//! every shipped scenario and of every real fixture imported (`pqsim import`), so each node
//! type pqsim can emit is seen. Every key the real nodes of a kind always have must be on
//! pqsim's nodes of that kind, except the ones listed in [`NOT_MODELLED`] and the keys that
//! depend on EXPLAIN's options rather than the plan ([`OPTION_KEYS`]).

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Keys whose presence depends on EXPLAIN's options or the node's place, not its type.
const OPTION_KEYS: &[&str] = &[
    "Output",              // VERBOSE
    "Schema",              // VERBOSE
    "Workers",             // VERBOSE (per-worker details); pqsim prints them on every parallel node
    "Parent Relationship", // absent on the root
];

/// (kind, key, why pqsim does not print it). Documented in docs/explain-and-waits.md.
const NOT_MODELLED: &[(&str, &str, &str)] = &[
    ("Aggregate/Hashed", "Peak Memory Usage", "hash aggregate memory is not modelled"),
    ("Aggregate/Hashed", "Disk Usage", "hash aggregate spilling is not modelled"),
    ("Aggregate/Hashed", "HashAgg Batches", "hash aggregate spilling is not modelled"),
    ("Aggregate/Hashed", "Planned Partitions", "hash aggregate spilling is not modelled"),
    (
        "Index Scan",
        "Index Cond",
        "a stand-alone Index Scan reads a fraction of the index in order; its condition is not kept",
    ),
];

fn kind(n: &Value) -> String {
    let mut k = n["Node Type"].as_str().unwrap_or("?").to_string();
    if n["Parallel Aware"].as_bool() == Some(true) {
        k = format!("Parallel {k}");
    }
    if k == "Aggregate" {
        k = format!("Aggregate/{}", n["Strategy"].as_str().unwrap_or("?"));
    }
    k
}

fn keys(n: &Value) -> BTreeSet<String> {
    n.as_object().map(|o| o.keys().filter(|k| *k != "Plans").cloned().collect()).unwrap_or_default()
}

/// Visits executed nodes; `in_sub`: under a SubPlan or InitPlan.
fn walk(n: &Value, in_sub: bool, f: &mut dyn FnMut(&Value, bool)) {
    let sub = in_sub || matches!(n["Parent Relationship"].as_str(), Some("SubPlan") | Some("InitPlan"));
    if n["Actual Loops"].as_u64().unwrap_or(0) > 0 {
        f(n, sub);
    }
    for c in n["Plans"].as_array().into_iter().flatten() {
        walk(c, sub, f);
    }
}

fn plan_of(doc: &Value) -> &Value {
    let d = if doc.is_array() { &doc[0] } else { doc };
    &d["Plan"]
}

fn real_fixtures(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for (dir, prefix) in [("tests/fixtures/explain", "pg15_"), ("src/pg/testdata", "")] {
        for e in std::fs::read_dir(root.join(dir)).expect("fixture dir") {
            let p = e.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with(prefix) && name.ends_with(".json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn pqsim_nodes_have_the_keys_real_postgres_nodes_have() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = real_fixtures(root);
    let mut required: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &fixtures {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        walk(plan_of(&doc), false, &mut |n, _| {
            let k = keys(n);
            required.entry(kind(n)).and_modify(|s| *s = s.intersection(&k).cloned().collect()).or_insert(k);
        });
    }
    assert!(required.contains_key("Aggregate/Sorted") && required.contains_key("Index Scan"), "{required:?}");

    // pqsim's EXPLAIN of every shipped scenario and of every real plan imported.
    let dir = tempfile::tempdir().unwrap();
    let mut scenarios = vec![];
    for e in std::fs::read_dir(root.join("configs/scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            scenarios.push(p);
        }
    }
    for f in &fixtures {
        let out = dir.path().join(format!("{}.toml", f.file_stem().unwrap().to_string_lossy()));
        let r = common::pqsim(&["import", f.to_str().unwrap(), "--output", out.to_str().unwrap()]);
        if r.code == 0 {
            scenarios.push(out);
        }
    }
    assert!(scenarios.len() > 40, "{} scenarios", scenarios.len());
    let mut missing: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for sc in &scenarios {
        let j = common::json(&["run", sc.to_str().unwrap(), "--replications", "1", "--format", "json"]);
        walk(plan_of(&j["explain"]), false, &mut |n, in_sub| {
            let k = kind(n);
            seen.insert(k.clone());
            let Some(req) = required.get(&k) else { return };
            let have = keys(n);
            for key in req.difference(&have) {
                let excused = OPTION_KEYS.contains(&key.as_str())
                    || NOT_MODELLED.iter().any(|(nk, kk, _)| *nk == k && kk == key)
                    // The costed plan covers the main plan; a SubPlan's own nodes have no costs.
                    || (in_sub && ["Startup Cost", "Total Cost", "Plan Rows"].contains(&key.as_str()));
                if !excused {
                    let name = sc.file_name().unwrap().to_string_lossy().to_string();
                    missing.entry((k.clone(), key.clone())).or_default().push(name);
                }
            }
        });
    }
    for k in ["Aggregate/Sorted", "Aggregate/Hashed", "Index Scan", "Hash", "Hash Join", "Sort", "Gather Merge"] {
        assert!(seen.contains(k), "no scenario made pqsim emit {k}: {seen:?}");
    }
    assert!(missing.is_empty(), "keys real PostgreSQL 15 always prints that pqsim lacks (kind, key): {missing:#?}");
}

#[test]
fn text_names_the_index_and_the_group_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("nl.toml");
    let fixture = root.join("tests/fixtures/explain/nestloop_index_analyze.json");
    common::ok(&["import", fixture.to_str().unwrap(), "--output", toml.to_str().unwrap()]);
    let real: Value = serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let mut index = None;
    walk(plan_of(&real), false, &mut |n, _| {
        if let Some(i) = n["Index Name"].as_str() {
            index = Some(i.to_string());
        }
    });
    let index = index.expect("the fixture has an index scan");
    let text = common::ok(&["run", toml.to_str().unwrap(), "--replications", "1"]).stdout;
    assert!(text.contains(&format!("Index Scan using {index} on ")), "{text}");
    let q12 = common::ok(&["run", "configs/scenarios/tpch-q12.toml", "--replications", "1"]).stdout;
    assert!(q12.contains("Group Key: lineitem.l_shipmode"), "{q12}");
}
