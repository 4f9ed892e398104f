//! Unit tests of the configuration layer: scenario and profile text, what-ifs, and errors
//! that point at file:line:col.

use super::*;
use crate::model::{heap_pages, Command, FnSafety, JoinType, Node};
use std::path::Path;

const SCENARIO: &str = r#"name = "t"

[[table]]
name = "t"
rows = 1000000
width = 36

[[table]]
name = "d"
rows = 1000

[plan]
node = "Aggregate"
[plan.input]
node = "Hash Join"
join_type = "Anti"
[plan.input.outer]
node = "Seq Scan"
table = "t"
[plan.input.inner]
node = "Seq Scan"
table = "d"
"#;

fn label() -> &'static Path {
    Path::new("mem.toml")
}

fn load_text(text: &str, sets: &[(&str, &str)], tables: &[&str]) -> crate::error::Result<crate::model::Scenario> {
    let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let tables: Vec<TableOverride> = tables.iter().map(|t| t.parse().expect("what-if parses")).collect();
    load_scenario_str(label(), text, &sets, &tables)
}

/// The error's "file:line:col: message".
fn err_text(text: &str) -> String {
    load_text(text, &[], &[]).expect_err("must be rejected").to_string()
}

#[test]
fn scenario_from_text_with_typed_plan() {
    let sc = load_text(SCENARIO, &[], &[]).unwrap();
    assert_eq!(sc.tables.len(), 2);
    assert_eq!(sc.tables[0].pages, heap_pages(1_000_000.0, 36.0));
    assert_eq!(sc.query.command, Command::Select);
    let Node::Aggregate { input, .. } = &sc.plan else { panic!("{:?}", sc.plan) };
    assert!(matches!(**input, Node::HashJoin { join_type: JoinType::Anti, .. }));
}

#[test]
fn table_what_ifs_keep_density() {
    let base = load_text(SCENARIO, &[], &[]).unwrap().tables[0].clone();
    let t = &load_text(SCENARIO, &[], &["t.rows=2000000"]).unwrap().tables[0];
    assert_eq!(t.rows, 2_000_000.0);
    assert_eq!(t.pages, (base.pages * 2.0).ceil());
    let t = &load_text(SCENARIO, &[], &["t.pages=100"]).unwrap().tables[0];
    assert_eq!(t.pages, 100.0);
    assert_eq!(t.rows, (base.rows * 100.0 / base.pages).round());
    let t = &load_text(SCENARIO, &[], &["t.size=8MB"]).unwrap().tables[0];
    assert_eq!(t.pages, 1024.0);
    let t = &load_text(SCENARIO, &[], &["t.width=100"]).unwrap().tables[0];
    assert_eq!(t.pages, heap_pages(1_000_000.0, 100.0));
    let t = &load_text(SCENARIO, &[], &["t.parallel_workers=7", "t.index_pages=10.2"]).unwrap().tables[0];
    assert_eq!((t.parallel_workers, t.index_pages), (Some(7), Some(11.0)));
    // Later wins.
    let t = &load_text(SCENARIO, &[], &["t.parallel_workers=7", "t.parallel_workers=3"]).unwrap().tables[0];
    assert_eq!(t.parallel_workers, Some(3));
}

#[test]
fn buffer_windows_are_read_checked_and_follow_a_what_ifs_size() {
    let text =
        SCENARIO.replace("width = 36\n", "width = 36\npages = 8000\nbuffer_windows = [0, 400, 0, 0, 0, 0, 0, 0]\n");
    let sc = load_text(&text, &[], &[]).unwrap();
    assert_eq!(sc.tables[0].buffer_windows, Some([0.0, 400.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(sc.tables[1].buffer_windows, None);
    // Twice the pages lie as densely: twice the windows.
    let t = &load_text(&text, &[], &["t.pages=16000"]).unwrap().tables[0];
    assert_eq!(t.buffer_windows, Some([0.0, 800.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    for bad in ["[1, 2, 3]", "[0, 0, 0, 0, 0, 0, 0, 0]", "[1, -2, 0, 0, 0, 0, 0, 0]"] {
        let e = err_text(&SCENARIO.replace("width = 36\n", &format!("width = 36\nbuffer_windows = {bad}\n")));
        assert!(e.starts_with("mem.toml:7:18: table t: buffer_windows must be 8 numbers"), "{bad}: {e}");
    }
}

#[test]
fn table_what_if_errors() {
    for (flag, want) in [
        (
            "t.colour=blue",
            "unknown key (use rows, pages, size, width, parallel_workers, index_pages, in_shared_buffers or buffers_in_order)",
        ),
        ("t.in_shared_buffers=1.5", "must be between 0 and 1"),
        ("t.buffers_in_order=1.01", "must be between 0 and 1"),
        ("t.rows=-5", "must be zero or positive"),
        ("t.rows=many", "expected a number"),
        ("t.pages=0", "must be positive"),
        ("t.width=0", "must be positive"),
        ("t.parallel_workers=2.5", "whole number between 0 and 1024"),
        ("t.parallel_workers=1025", "whole number between 0 and 1024"),
        ("t.size=12parsecs", "t.size=12parsecs"),
        ("rows=5", "expects NAME.KEY=VALUE"),
        ("t.rows", "expects NAME.KEY=VALUE"),
    ] {
        let e = flag.parse::<TableOverride>().expect_err(flag);
        assert!(e.contains(want), "{flag}: {e}");
    }
    let e = load_text(SCENARIO, &[], &["nope.rows=5"]).unwrap_err().to_string();
    assert!(e.contains("no table \"nope\" in the scenario (tables: t, d)"), "{e}");
}

#[test]
fn set_what_ifs_are_recorded_and_checked() {
    let sc = load_text(SCENARIO, &[("work_mem", "64MB")], &[]).unwrap();
    assert_eq!(sc.settings.work_mem_bytes(), 64.0 * 1_048_576.0);
    assert_eq!(sc.setting_overrides, vec![("work_mem".to_string(), "64MB".to_string())]);
    let e = load_text(SCENARIO, &[("work_mem", "12parsecs")], &[]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().starts_with("--set work_mem=12parsecs: "), "{e}");
    assert!(load_text(SCENARIO, &[("no_such_guc", "1")], &[]).is_err());
}

#[test]
fn errors_point_at_line_and_column() {
    // A TOML syntax error.
    let e = err_text("name = \"t\"\nrows = = 3\n");
    assert!(e.starts_with("mem.toml:2:"), "{e}");
    // An unknown key (deny_unknown_fields).
    let e = err_text(&SCENARIO.replace("width = 36", "widht = 36"));
    assert!(e.starts_with("mem.toml:6:1: "), "{e}");
    // A bad value in the model's terms.
    let e = err_text(&SCENARIO.replace("join_type = \"Anti\"", "join_type = \"Sideways\""));
    assert!(e.starts_with("mem.toml:16:13: join_type must be one of Inner, Left, Full, Right, Semi, Anti"), "{e}");
    let e = err_text(&SCENARIO.replace("table = \"d\"", "table = \"x\""));
    assert!(e.starts_with("mem.toml:22:9: unknown table \"x\""), "{e}");
    let e = err_text(&format!("{SCENARIO}\n[query]\ncommand = \"vacuum\"\n"));
    assert!(e.starts_with("mem.toml:25:11: query.command: expected one of select,"), "{e}");
    let e = err_text(&format!("{SCENARIO}\n[query]\nfunctions = {{ f = \"maybe\" }}\n"));
    assert!(e.starts_with("mem.toml:25:19: query.functions.f"), "{e}");
    let e = err_text(&SCENARIO.replace("rows = 1000\n", "rows = -1\n"));
    assert!(e.starts_with("mem.toml:10:8: table d: rows must be zero or positive"), "{e}");
}

#[test]
fn query_labels_parse() {
    let sc = load_text(
        &format!("{SCENARIO}\n[query]\ncommand = \"CREATE_TABLE_AS\"\nfunctions = {{ f = \"r\", g = \"unsafe\" }}\n"),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(sc.query.command, Command::CreateTableAs);
    assert_eq!(sc.query.functions, vec![("f".into(), FnSafety::Restricted), ("g".into(), FnSafety::Unsafe)]);
}

#[test]
fn embedded_profiles_load_without_the_source_tree() {
    let names = list_hardware();
    for n in ["aurora", "laptop", "reference-2vcpu"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
        let src = hardware_source(n).unwrap();
        let hw = load_hardware_str(&src.label, &src.text, &[]).unwrap();
        assert!(hw.cores > 0.0);
    }
    // Run from a directory with no configs/: the embedded profile still resolves.
    let e = hardware_source("cray-1").unwrap_err().to_string();
    assert!(e.contains("unknown hardware profile \"cray-1\"") && e.contains("laptop"), "{e}");
}

#[test]
fn hardware_what_ifs_in_memory() {
    let src = hardware_source("laptop").unwrap();
    let hw = load_hardware_str(&src.label, &src.text, &[("cores".into(), "3".into())]).unwrap();
    assert_eq!(hw.cores, 3.0);
    let hw = load_hardware_str(&src.label, &src.text, &[("disk.queue_depth".into(), "7".into())]).unwrap();
    assert_eq!(hw.disk.queue_depth, 7.0);
    for (k, v, want) in [
        ("cores", "0", "cores must be a positive number"),
        ("cache", "lukewarm", "cache must be hot, warm or cold"),
        ("flux_capacitor", "1", "--hw: unknown key \"flux_capacitor\""),
        ("cores", "many", "--hw: cores takes a number"),
    ] {
        let e = load_hardware_str(&src.label, &src.text, &[(k.into(), v.into())]).unwrap_err().to_string();
        assert!(e.contains(want), "{k}={v}: {e}");
    }
    // A profile error points into the file.
    let bad = src.text.replace("cores = ", "cores = -");
    let e = load_hardware_str(Path::new("hw.toml"), &bad, &[]).unwrap_err().to_string();
    assert!(e.starts_with("hw.toml:") && e.contains("cores must be a positive number"), "{e}");
}

/// A profile's measured spread is read; a run-to-run sigma set by hand replaces it (the
/// interval is then that sigma's log-normal, as the user asked).
#[test]
fn the_measured_run_spread_is_read_and_a_hand_set_sigma_replaces_it() {
    let src = hardware_source("reference-2vcpu").unwrap();
    let text = src
        .text
        .replace("model_sigma = 0.135", "run_quantiles = [0.93, 0.95, 0.98, 1.0, 1.05, 1.3, 1.5]\nmodel_sigma = 0.135");
    let hw = load_hardware_str(&src.label, &text, &[]).unwrap();
    assert_eq!(hw.run_quantiles.map(|q| q.0), Some([0.93, 0.95, 0.98, 1.0, 1.05, 1.3, 1.5]));
    assert!((hw.run_quantiles.unwrap().ln_at(0.9) - 1.3f64.ln()).abs() < 1e-12);
    let hw = load_hardware_str(&src.label, &text, &[("variability.run_sigma".into(), "0.2".into())]).unwrap();
    assert_eq!((hw.run_sigma, hw.run_quantiles), (0.2, None));
    // Measured apart for serial plans and plans with workers: each plan takes its shape's,
    // a profile without them the pooled one; a hand-set sigma replaces all three.
    let apart = text.replace(
        "model_sigma = 0.135",
        "run_quantiles_serial = [0.6, 0.7, 0.9, 1.0, 1.1, 1.6, 1.8]\nrun_quantiles_parallel = [0.85, 0.9, 0.95, 1.0, 1.05, 1.2, 1.3]\nmodel_sigma = 0.135",
    );
    let hw = load_hardware_str(&src.label, &apart, &[]).unwrap();
    assert_eq!(hw.run_quantiles_for(false).map(|q| q.0[5]), Some(1.6));
    assert_eq!(hw.run_quantiles_for(true).map(|q| q.0[5]), Some(1.2));
    let pooled = load_hardware_str(&src.label, &text, &[]).unwrap();
    assert_eq!(pooled.run_quantiles_for(true).map(|q| q.0[5]), Some(1.3));
    let hw = load_hardware_str(&src.label, &apart, &[("variability.run_sigma".into(), "0.2".into())]).unwrap();
    assert_eq!((hw.run_quantiles_for(false), hw.run_quantiles_for(true)), (None, None));
    // A malformed one is named in the message.
    let bad = apart.replace("run_quantiles_parallel = [0.85, 0.9", "run_quantiles_parallel = [0.95, 0.9");
    let e = load_hardware_str(&src.label, &bad, &[]).unwrap_err().to_string();
    assert!(e.contains("variability.run_quantiles_parallel must not decrease"), "{e}");
}

#[test]
fn the_models_own_error_is_read_or_assumed_and_said_so() {
    let src = hardware_source("reference-2vcpu").unwrap();
    let hw = load_hardware_str(&src.label, &src.text, &[]).unwrap();
    assert!(hw.model_sigma_measured && hw.model_sigma > 0.0 && hw.model_sigma < 1.0, "{}", hw.model_sigma);
    let hw = load_hardware_str(&src.label, &src.text, &[("variability.model_sigma".into(), "0.3".into())]).unwrap();
    assert_eq!(hw.model_sigma, 0.3);
    // Absent: the documented default, flagged as assumed.
    let laptop = hardware_source("laptop").unwrap();
    let hw = load_hardware_str(&laptop.label, &laptop.text, &[]).unwrap();
    assert!(!hw.model_sigma_measured && hw.model_sigma == crate::model::DEFAULT_MODEL_SIGMA);
    // Malformed: one message pointing at the value.
    let line = src.text.lines().position(|l| l.starts_with("model_sigma = ")).unwrap() + 1;
    for (bad, want) in [
        ("model_sigma = -0.1", "variability.model_sigma must be zero or positive"),
        ("model_sigma = 13.5", "variability.model_sigma must be a log-normal sigma between 0 and 2"),
        ("model_sigma = \"wide\"", "invalid type"),
    ] {
        let text = src.text.replace("model_sigma = 0.135", bad);
        let e = load_hardware_str(Path::new("hw.toml"), &text, &[]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("hw.toml:{line}:")) && e.contains(want), "{bad}: {e}");
    }
}

#[test]
fn load_str_applies_every_what_if() {
    let w = WhatIf {
        hw: vec![("cores".into(), "5".into())],
        set: vec![("max_parallel_workers_per_gather".into(), "6".into())],
        table: vec!["t.rows=5000000".parse().unwrap()],
        measure: Some(crate::model::OutputMode::Client),
    };
    let (sc, hw) = load_str(label(), SCENARIO, "laptop", &w).unwrap();
    assert_eq!(hw.cores, 5.0);
    assert_eq!(sc.settings.int("max_parallel_workers_per_gather"), 6);
    assert_eq!(sc.tables[0].rows, 5_000_000.0);
    assert_eq!(sc.output, crate::model::OutputMode::Client);
}

#[test]
fn table_what_ifs_by_meaning_not_order() {
    let both = |a: &str, b: &str| load_text(SCENARIO, &[], &[a, b]).map(|sc| (sc.tables[0].rows, sc.tables[0].pages));
    let one = both("t.pages=90215", "t.rows=6000000").unwrap();
    assert_eq!(one, (6_000_000.0, 90_215.0), "explicit pages beat pages derived from rows");
    assert_eq!(both("t.rows=6000000", "t.pages=90215").unwrap(), one, "order does not matter");
    // Width then rows, rows then width: pages from both.
    let w = both("t.width=100", "t.rows=2000000").unwrap();
    assert_eq!(w, (2_000_000.0, heap_pages(2_000_000.0, 100.0)));
    assert_eq!(both("t.rows=2000000", "t.width=100").unwrap(), w);
    // Rows and pages that cannot fit in 8 kB pages: an error naming both flags.
    let e = both("t.rows=6000000", "t.pages=100").unwrap_err().to_string();
    assert!(e.starts_with("--table t.rows=6000000 and --table t.pages=100: 6000000 rows of 36 bytes need"), "{e}");
    let e = load_text(SCENARIO, &[], &["t.pages=100", "t.width=2000", "t.rows=1000"]).unwrap_err().to_string();
    assert!(e.contains("--table t.rows=1000, --table t.pages=100 and --table t.width=2000"), "{e}");
    // The same key twice: the last counts.
    assert_eq!(both("t.rows=5", "t.rows=2000000").unwrap().0, 2_000_000.0);
}

#[test]
fn subplan_rows_follow_their_table() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/scenarios/seed-not-in.toml")).unwrap();
    let subplan_rows = |sc: &crate::model::Scenario| {
        let mut rows = vec![];
        sc.plan.clone().for_each_subplan_mut(&mut |sp| rows.push(sp.rows));
        rows
    };
    let base = load_text(&text, &[], &[]).unwrap();
    assert_eq!(subplan_rows(&base), vec![15_000_000.0]);
    let big = load_text(&text, &[], &["session_product_list.rows=150000000"]).unwrap();
    assert_eq!(subplan_rows(&big), vec![150_000_000.0]);
    // The planner sees it: 150M rows x 32 B > 512 MB of hash_mem, so the SubPlan is not hashed.
    let d = crate::planner::decide(&big);
    assert_eq!(d.report.subplans_hashed, vec![false]);
    assert_eq!(crate::planner::decide(&base).report.subplans_hashed, vec![true]);
}
