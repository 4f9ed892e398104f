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
fn a_clause_reach_that_does_not_match_the_filter_points_at_it() {
    let with = |f: &str| GOOD.replace("table = \"t\"\n", &format!("table = \"t\"\n{f}\n"));
    expect_bad(
        &with("filter = \"((a > 1) AND (b < 2))\"\nselectivity = 0.1\nclause_reach = [1, 0.5, 0.2]"),
        &["clause_reach has 3 values; the filter has 2 AND-ed clause(s)", ".toml:"],
    );
    expect_bad(&with("filter = \"(a > 1)\"\nclause_reach = [1, 1.5]"), &["clause_reach must be between 0 and 1"]);
    let f = scenario_file(&with("filter = \"((a > 1) AND (b < 2))\"\nselectivity = 0.1\nclause_reach = [1, 0.5]"));
    let (code, err) = pqsim(&["run", f.path().to_str().unwrap(), "--replications", "1"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_column_correlation_or_subplan_keys_out_of_shape_point_at_it() {
    let cols = |c: &str| {
        GOOD.replace("width = 40\n", &format!("width = 40\ncolumns = [ {{ name = \"a\", type = \"integer\"{c} }} ]\n"))
    };
    expect_bad(&cols(", correlation = 1.5"), &["column a: correlation must be between -1 and 1, got 1.5", ".toml:"]);
    expect_bad(&cols(", n_distinct = -1.5"), &["column a: n_distinct must be a count above 0", "got -1.5", ".toml:"]);
    expect_bad(&cols(", n_distinct = 0"), &["column a: n_distinct must be a count above 0", ".toml:"]);
    let f = scenario_file(&cols(", correlation = -0.97, n_distinct = -0.25"));
    let (code, err) = pqsim(&["run", f.path().to_str().unwrap(), "--replications", "1"]);
    assert_eq!(code, 0, "{err}");
    let sub = |keys: &str| {
        GOOD.replace("table = \"t\"\n", &format!("table = \"t\"\nfilter = \"(NOT (hashed SubPlan 1))\"\n[plan.input.input.input.subplan]\ntable = \"t\"\nkeys = {keys}\n"))
    };
    expect_bad(&sub("[\"a\"]"), &["subplan.keys: give the outer column and the subquery's column", ".toml:"]);
    let f = scenario_file(&sub("[\"a\", \"b\"]"));
    let (code, err) = pqsim(&["run", f.path().to_str().unwrap(), "--replications", "1"]);
    assert_eq!(code, 0, "{err}");
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

/// `[variability] model_sigma` (the model's own error, read for `wall_time_ms_p80`) that is not
/// a log-normal sigma: exit 2 and one message with file:line:col of the value.
#[test]
fn a_malformed_model_sigma_points_at_its_value() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/hardware/reference-2vcpu.toml")).unwrap();
    let line = text.lines().position(|l| l.starts_with("model_sigma = ")).expect("the shipped profile has it") + 1;
    for (bad, want) in [
        ("model_sigma = -0.2", "variability.model_sigma must be zero or positive"),
        ("model_sigma = 20", "variability.model_sigma must be a log-normal sigma between 0 and 2"),
        ("model_sigma = \"20%\"", "invalid type"),
    ] {
        let f = scenario_file(&text.replace("model_sigma = 0.135", bad));
        let path = f.path().to_str().unwrap();
        let (code, err) = pqsim(&["run", "configs/scenarios/testpar-count.toml", "--hardware", path]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains(want) && err.contains(&format!(".toml:{line}:15")), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear message, got: {err}");
    }
}

/// The machine's speed state (`[variability] speed_hold_ms`, `speed_state_sigma`) out of range:
/// exit 2 and one message with file:line:col of the value.
#[test]
fn a_malformed_speed_state_points_at_its_value() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/hardware/reference-2vcpu.toml")).unwrap();
    let line = text.lines().position(|l| l.starts_with("model_sigma = ")).expect("the shipped profile has it") + 1;
    for (bad, want, col) in [
        ("speed_hold_ms = -5", "variability.speed_hold_ms must be zero or positive", 17),
        ("speed_state_sigma = 19", "variability.speed_state_sigma must be a log-normal sigma between 0 and 2", 21),
        ("speed_state_sigma = -0.1", "variability.speed_state_sigma must be zero or positive", 21),
    ] {
        let f = scenario_file(&text.replace("model_sigma = 0.135", &format!("{bad}\nmodel_sigma = 0.135")));
        let path = f.path().to_str().unwrap();
        let (code, err) = pqsim(&["workload", "configs/workloads/seed-concurrent-users.toml", "--hardware", path]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains(want) && err.contains(&format!(".toml:{line}:{col}")), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear message, got: {err}");
    }
}

/// The measured run-to-run spread (`[variability] run_quantiles`) malformed: exit 2 and one
/// message with file:line:col of the value.
#[test]
fn a_malformed_run_spread_points_at_its_value() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/hardware/reference-2vcpu.toml")).unwrap();
    let line = text.lines().position(|l| l.starts_with("model_sigma = ")).expect("the shipped profile has it") + 1;
    for (bad, want) in [
        ("run_quantiles = [0.9, 1.0, 1.1]", "variability.run_quantiles takes seven ratios"),
        ("run_quantiles = [0.9, 0.95, 0.98, 1.0, 0.97, 1.2, 1.4]", "variability.run_quantiles must not decrease"),
        ("run_quantiles = [0, 0.95, 0.98, 1.0, 1.02, 1.2, 1.4]", "variability.run_quantiles must be ratios above 0"),
        ("run_quantiles = \"wide\"", "invalid type"),
    ] {
        let f = scenario_file(&text.replace("model_sigma = 0.135", &format!("{bad}\nmodel_sigma = 0.135")));
        let path = f.path().to_str().unwrap();
        let (code, err) = pqsim(&["run", "configs/scenarios/testpar-count.toml", "--hardware", path]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains(want) && err.contains(&format!(".toml:{line}:17")), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear message, got: {err}");
    }
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

const SWEEP: [&str; 9] = [
    "sweep",
    "configs/scenarios/gather-heavy.toml",
    "--vary",
    "max_parallel_workers_per_gather=0..2",
    "--replications",
    "2",
    "--hardware",
    "laptop",
    "--output",
];

/// `from` copied to `to`, directories 0755 and files 0644 (readable by any user).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// Every file in `dir` with its bytes, sorted by name; the journal's rows sorted (a run that
/// resumes rewrites them in grid order, the first run appended them as they finished).
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let read = |e: std::fs::DirEntry| {
        let name = e.file_name().to_string_lossy().into_owned();
        let mut bytes = std::fs::read(e.path()).unwrap();
        if name == "points.journal.jsonl" {
            let text = String::from_utf8(bytes).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            lines[1..].sort();
            bytes = lines.join("\n").into_bytes();
        }
        (name, bytes)
    };
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir).unwrap().map(|e| read(e.unwrap())).collect();
    v.sort();
    v
}

/// The files in `dir` are those of `before`, byte for byte (no temporary left, none changed).
fn assert_same_files(dir: &std::path::Path, before: &[(String, Vec<u8>)]) {
    let now = files(dir);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&now), names(before), "files in {}", dir.display());
    let changed: Vec<&String> = now.iter().zip(before).filter(|(a, b)| a.1 != b.1).map(|(a, _)| &a.0).collect();
    assert!(changed.is_empty(), "earlier results changed: {changed:?}");
}

/// A full disk: a sweep whose output writes fail for lack of space exits 2 naming the file,
/// and the results of the earlier run in that directory stay whole, with no temporary left.
/// Without root a disk cannot be filled on purpose here, so the file-size limit stands in for
/// it (RLIMIT_FSIZE with SIGXFSZ ignored: a write past the limit fails with EFBIG, "File too
/// large", where a full disk fails with ENOSPC; both are the same io::Error path in pqsim).
#[test]
fn a_full_disk_exits_2_naming_the_file_and_keeps_earlier_results() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sweep");
    let mut args = SWEEP.to_vec();
    args.push(dir.to_str().unwrap());
    let (code, err) = pqsim(&args);
    assert_eq!(code, 0, "{err}");
    let before = files(&dir);
    let journal = before.iter().find(|f| f.0 == "points.journal.jsonl").unwrap().1.len() as u64;
    let largest = before.iter().map(|f| f.1.len() as u64).max().unwrap();
    // Room for the journal (rewritten first on every run) but not for the largest output.
    let blocks = journal / 512 + 1;
    assert!(largest > blocks * 512, "no output is larger than the journal: {largest} bytes");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_pqsim"))
        .args(&args[..])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(dir.to_str().unwrap()) && err.contains("File too large"), "names the file: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_same_files(&dir, &before);
}

/// A read-only output directory: exit 2 naming it, earlier results untouched. Root writes into
/// a read-only directory anyway: run as root, the test runs pqsim as `nobody` (setpriv) when it
/// can, and otherwise says it cannot check and passes.
#[test]
fn a_read_only_output_directory_exits_2_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = t.path().join("sweep");
    let mut args = SWEEP.to_vec();
    args.push(dir.to_str().unwrap());
    let (code, err) = pqsim(&args);
    assert_eq!(code, 0, "{err}");
    let before = files(&dir);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join(".probe");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pqsim"));
    if std::fs::write(&probe, "x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        let setpriv = std::process::Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success());
        if !setpriv {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            eprintln!("SKIPPED read-only check: this user (root) writes into a 0555 directory and setpriv is missing");
            return;
        }
        eprintln!("running as root: pqsim runs as nobody (setpriv) for the read-only check");
        // The checkout may sit in a directory nobody cannot enter (a 0700 temporary clone):
        // nobody gets its own readable copies of the binary and of configs/, so it reads the
        // same scenario and the same build the first sweep recorded.
        let world = t.path().join("as-nobody");
        copy_tree(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs"), &world.join("configs"));
        let exe = world.join("pqsim");
        std::fs::copy(env!("CARGO_BIN_EXE_pqsim"), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe).current_dir(&world);
    } else {
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    }
    let out = cmd.args(&args[..]).output().unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(dir.to_str().unwrap()) && err.contains("ermission denied"), "names the directory: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_same_files(&dir, &before);
}
