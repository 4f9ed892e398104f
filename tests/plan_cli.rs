//! `pqsim plan` through the binary: the tutorial's size table, and every reason a query stays
//! serial (or keeps a part above the Gather) printed.

use serde_json::Value;
use std::io::Write;
use std::process::Command;

fn plan(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out =
        Command::new(env!("CARGO_BIN_EXE_pqsim")).args(&all).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, err)
}

#[test]
fn tutorial_sizes_give_the_tutorial_worker_counts() {
    // seed 004: 8 MB -> 1, 24 -> 2, 72 -> 3, 216 -> 4, 648 -> 5, 1944 -> 6 (cap raised), 2 at the default cap.
    for (mb, want) in [(8, 1), (24, 2), (72, 3), (216, 4), (648, 5), (1944, 6)] {
        let size = format!("testpar.size={mb}MB");
        let (code, v, err) = plan(&[
            "configs/scenarios/testpar-count.toml",
            "--table",
            &size,
            "--set",
            "max_parallel_workers_per_gather=8",
            "--set",
            "parallel_setup_cost=0",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(v["workers_planned"], want, "{mb} MB");
        let (_, v, _) =
            plan(&["configs/scenarios/testpar-count.toml", "--table", &size, "--set", "parallel_setup_cost=0"]);
        assert_eq!(v["workers_planned"], want.min(2), "{mb} MB at the default cap");
    }
    let (_, v, _) = plan(&["configs/scenarios/testpar-count.toml", "--table", "testpar.size=7MB"]);
    assert_eq!(v["workers_planned"], 0);
    assert_eq!(v["parallel"], false);
    assert!(v["reasons"].to_string().contains("min_parallel_table_scan_size"), "{}", v["reasons"]);
}

fn with_query(query: &str) -> tempfile::NamedTempFile {
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/scenarios/tpch-lineitem-sum.toml"))
            .unwrap();
    let text = format!("{base}\n[query]\n{query}\n");
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn every_serial_reason_is_printed() {
    for (query, needle) in [
        ("command = \"update\"", "update"),
        ("functions = { my_func = \"unsafe\" }", "my_func"),
        ("row_locks = true", "FOR UPDATE"),
        ("cursor = true", "cursor"),
        ("serializable = true\nserver_version = 11", "SERIALIZABLE"),
    ] {
        let f = with_query(query);
        let (code, v, err) = plan(&[f.path().to_str().unwrap()]);
        assert_eq!(code, 0, "{query}: {err}");
        assert_eq!(v["parallel"], false, "{query}");
        assert_eq!(v["workers_planned"], 0, "{query}");
        let reasons = v["reasons"].to_string();
        assert!(reasons.to_lowercase().contains(&needle.to_lowercase()), "{query}: reasons {reasons} lack {needle}");
    }
    let (_, v, _) = plan(&["configs/scenarios/tpch-lineitem-sum.toml", "--set", "max_parallel_workers_per_gather=0"]);
    assert_eq!(v["parallel"], false);
    assert!(v["reasons"].to_string().contains("max_parallel_workers_per_gather"));
}

#[test]
fn restricted_parts_stay_above_the_gather() {
    for query in ["functions = { random = \"restricted\" }", "materialized_cte = true", "correlated_subplan = true"] {
        let f = with_query(query);
        let (code, v, err) = plan(&[f.path().to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let above = v["restricted_above_gather"].as_array().map(|a| a.len()).unwrap_or(0);
        assert!(above > 0, "{query}: nothing reported above the Gather: {v}");
    }
}

#[test]
fn client_max_rows_runs_without_workers() {
    let f = with_query("client_max_rows = 100");
    let (code, v, _) = plan(&[f.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["workers_launched"], 0);
    assert!(v["reasons"].to_string().contains("max_rows"), "{}", v["reasons"]);
}

#[test]
fn force_parallel_mode_gives_a_single_copy_gather() {
    let (_, v, _) = plan(&[
        "configs/scenarios/testpar-count.toml",
        "--table",
        "testpar.rows=1000",
        "--set",
        "force_parallel_mode=on",
    ]);
    assert_eq!(v["workers_planned"], 1);
    assert_eq!(v["single_copy"], true);
}

#[test]
fn slots_held_by_others_lower_workers_launched() {
    let (_, v, _) = plan(&["configs/scenarios/tpch-lineitem-sum.toml", "--set", "max_parallel_workers=3"]);
    assert_eq!(v["workers_planned"], 4);
    assert_eq!(v["workers_launched"], 3);
}

#[test]
fn bad_settings_exit_2_with_postgres_messages() {
    for (set, needle) in [
        ("work_mem=-1", "outside the valid range"),
        ("no_such=1", "unrecognized configuration parameter"),
        ("max_parallel_workers_per_gather=1025", "outside the valid range"),
        ("min_parallel_table_scan_size=-8MB", "outside the valid range"),
        ("parallel_leader_participation=perhaps", "requires a Boolean value"),
    ] {
        let (code, _, err) = plan(&["configs/scenarios/testpar-count.toml", "--set", set]);
        assert_eq!(code, 2, "{set}");
        assert!(err.contains(needle), "{set}: {err}");
    }
}
