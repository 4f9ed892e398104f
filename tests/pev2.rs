//! PEV2 (explain.dalibo.com's plan visualiser) reads pqsim's EXPLAIN right: its own plan parser,
//! run headless under node (tests/pev2/check.mjs), derives non-negative exclusive times that add
//! up to the Execution Time, for every shipped scenario. Needs node and npm; the pinned `pev2`
//! package is installed by scripts/setup-node.sh on first use. Skipped only with
//! PQSIM_SKIP_NODE=1.

use std::path::Path;
use std::process::Command;

#[test]
fn pev2_exclusive_times_are_non_negative_and_add_up_for_every_shipped_scenario() {
    if std::env::var("PQSIM_SKIP_NODE").as_deref() == Ok("1") {
        eprintln!("PQSIM_SKIP_NODE=1: not running PEV2's parser");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup = Command::new("bash").arg(root.join("scripts/setup-node.sh")).output().expect("run setup-node.sh");
    assert!(setup.status.success(), "scripts/setup-node.sh failed:\n{}", String::from_utf8_lossy(&setup.stderr));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = vec![];
    let mut scenarios: Vec<_> = std::fs::read_dir(root.join("configs/scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    scenarios.sort();
    for sc in &scenarios {
        let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
            .args(["run", sc.to_str().unwrap(), "--replications", "1", "--format", "json"])
            .output()
            .expect("run pqsim");
        assert!(out.status.success(), "{}: {}", sc.display(), String::from_utf8_lossy(&out.stderr));
        let f = dir.path().join(format!("{}.json", sc.file_stem().unwrap().to_string_lossy()));
        std::fs::write(&f, &out.stdout).expect("write");
        files.push(f);
    }
    assert!(files.len() >= 5, "only {} scenarios", files.len());
    let check = Command::new("node")
        .arg(root.join("tests/pev2/check.mjs"))
        .args(&files)
        .output()
        .expect("run node tests/pev2/check.mjs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "PEV2's parser disagrees with pqsim's EXPLAIN:\n{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(stdout.lines().filter(|l| l.contains("exclusive sum")).count(), files.len(), "{stdout}");
}
