//! Bad input: one clear message (file:line:col where known), exit code 2, never a panic.

mod common;

use std::io::Write;

fn pqsim(args: &[&str]) -> (i32, String) {
    let r = common::pqsim(args);
    (r.code, r.stderr)
}

const GOOD: &str = r#"
name = "ok"

[[table]]
name = "t"
rows = 1000000
width = 40

[plan]
node = "Aggregate"
mode = "Finalize"
[plan.input]
node = "Gather"
[plan.input.input]
node = "Aggregate"
mode = "Partial"
[plan.input.input.input]
node = "Seq Scan"
parallel = true
table = "t"
"#;

fn scenario_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// Run a scenario text through `run`, expect exit 2 and a message containing all `needles`.
fn expect_bad(text: &str, needles: &[&str]) -> String {
    let f = scenario_file(text);
    let path = f.path().to_str().unwrap();
    let (code, err) = pqsim(&["run", path, "--replications", "1"]);
    assert_eq!(code, 2, "expected exit 2, got {code}: {err}");
    for n in needles {
        assert!(err.contains(n), "message {err:?} should contain {n:?}");
    }
    assert_eq!(err.trim().lines().count(), 1, "one clear message, got: {err}");
    err
}

#[test]
fn the_good_scenario_runs() {
    let f = scenario_file(GOOD);
    let (code, err) = pqsim(&["run", f.path().to_str().unwrap(), "--replications", "1"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn malformed_toml_points_at_line_and_column() {
    let text = GOOD.replace("rows = 1000000", "rows = = 1000000");
    expect_bad(&text, &[".toml:6:"]);
}

#[test]
fn unknown_key_is_named_with_its_location() {
    let text = GOOD.replace("width = 40", "widht = 40");
    expect_bad(&text, &["widht", ".toml:7:1"]);
}

#[test]
fn wrong_type_is_reported() {
    let text = GOOD.replace("rows = 1000000", "rows = \"many\"");
    expect_bad(&text, &[".toml:6:"]);
}

#[test]
fn wrong_unit_in_a_setting() {
    let text = format!("[settings]\nwork_mem = \"4 parsecs\"\n{GOOD}")
        .replacen("[settings]", "name = \"x\"\n[settings]", 1)
        .replacen("\nname = \"ok\"\n", "\n", 1);
    expect_bad(&text, &["work_mem", ".toml:3:"]);
}

#[test]
fn zero_and_negative_sizes() {
    expect_bad(&GOOD.replace("width = 40", "width = 0"), &["width must be a positive number", ".toml:7:"]);
    expect_bad(&GOOD.replace("rows = 1000000", "rows = -5"), &["rows must be zero or positive", ".toml:6:"]);
    expect_bad(&GOOD.replace("width = 40", "width = 40\nsize = \"0MB\""), &["size must be positive"]);
}

#[test]
fn gather_without_parallel_aware_child() {
    expect_bad(&GOOD.replace("parallel = true", "parallel = false"), &["no parallel-aware node below it", ".toml:"]);
}

#[test]
fn unknown_node_and_table() {
    expect_bad(&GOOD.replace("node = \"Seq Scan\"", "node = \"Warp Scan\""), &["unknown node type \"Warp Scan\""]);
    expect_bad(&GOOD.replace("table = \"t\"", "table = \"nope\""), &["unknown table \"nope\""]);
}

#[test]
fn missing_file() {
    let (code, err) = pqsim(&["run", "configs/scenarios/does-not-exist.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("does-not-exist.toml") && err.contains("cannot read file"), "{err}");
}

#[test]
fn unknown_hardware_name() {
    let (code, err) = pqsim(&["run", "configs/scenarios/testpar-count.toml", "--hardware", "cray-1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown hardware profile \"cray-1\"") && err.contains("laptop"), "{err}");
}

#[test]
fn bad_flags() {
    for args in [
        vec!["run", "configs/scenarios/testpar-count.toml", "--set", "no_such_guc=1"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--set", "work_mem=12parsecs"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--set", "max_parallel_workers_per_gather=-1"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--table", "nope.rows=5"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--table", "testpar.rows=-5"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--table", "testpar.colour=blue"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--hw", "cores=0"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--hw", "cache=lukewarm"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--hw", "flux_capacitor=1"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--replications", "0"],
        vec!["run", "configs/scenarios/testpar-count.toml", "--format", "yaml"],
        vec!["frobnicate"],
    ] {
        let (code, err) = pqsim(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.trim().is_empty());
    }
}

#[test]
fn bad_hardware_profile_points_into_the_file() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/hardware/laptop.toml")).unwrap();
    let bad = text.replace("queue_depth = 32", "queue_depth = -1");
    let f = scenario_file(&bad);
    let (code, err) = pqsim(&["run", "configs/scenarios/testpar-count.toml", "--hardware", f.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("disk.queue_depth must be a positive number") && err.contains(".toml:"), "{err}");
}

#[test]
fn bad_columns_point_at_the_column() {
    let cols = "width = 40\ncolumns = [ { name = \"a\", type = \"integer\", width = -1 } ]";
    expect_bad(&GOOD.replace("width = 40", cols), &["column a: width", ".toml:8:"]);
    let cols = "width = 40\ncolumns = [ { name = \"a\", type = \"integer\", null_frac = 2 } ]";
    expect_bad(&GOOD.replace("width = 40", cols), &["null_frac must be between 0 and 1", ".toml:8:"]);
    let cols = "width = 40\ncolumns = [ { name = \"a\", type = \"integer\" }, { name = \"a\", type = \"text\" } ]";
    expect_bad(&GOOD.replace("width = 40", cols), &["unique"]);
}

#[test]
fn a_scenario_without_columns_runs_with_one_note() {
    let f = scenario_file(GOOD);
    let (code, err) = pqsim(&["run", f.path().to_str().unwrap(), "--replications", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("no columns").count(), 1, "{err}");
}

/// An output that cannot be written (here: a path through a regular file, which fails even for
/// root) is the user's to fix: exit 2, naming the path, and an earlier output stays whole.
#[test]
fn an_unwritable_output_exits_2_with_its_path_and_leaves_earlier_outputs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("w.csv");
    let (code, err) = pqsim(&[
        "run",
        "configs/scenarios/gather-heavy.toml",
        "--replications",
        "1",
        "--wait-samples",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not-a-dir"), "the message names the path: {err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x", "the file in the way is untouched");
    // A good run writes the samples; a failing one elsewhere leaves them as they were.
    let good = dir.path().join("w.csv");
    let args = ["run", "configs/scenarios/gather-heavy.toml", "--replications", "1", "--wait-samples"];
    let (code, err) = pqsim(&[&args[..], &[good.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(&good).unwrap();
    assert!(before.starts_with("sample_ms,pid,backend_type,wait_event_type,wait_event"), "{before}");
    let (code, _) = pqsim(&[&args[..], &[bad.to_str().unwrap()]].concat());
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(&good).unwrap(), before);
}
