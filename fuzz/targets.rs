//! What each fuzz target does with one input: shared by the libFuzzer harnesses in
//! `fuzz/fuzz_targets/` and by `tests/fuzz_regressions.rs`, which replays the committed corpus
//! under `cargo test`. Every input must be answered (accepted, or rejected as bad input with
//! exit code 2 and, where the input has lines, file:line:col) within a second, never a panic.
#![allow(dead_code)]

use pqsim::config::{self, TableOverride};
use pqsim::error::Error;
use std::path::Path;

/// A rejection must be bad input (exit 2); `lines`: it must point at a line and column.
fn check_rejection(e: &Error, label: &str, lines: bool) {
    assert_eq!(e.exit_code(), 2, "not an input error: {e}");
    if lines {
        let text = e.to_string();
        let rest = text.strip_prefix(&format!("{label}:")).unwrap_or_else(|| panic!("no file in: {text}"));
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap_or("");
        let col = parts.next().unwrap_or("");
        assert!(line.parse::<usize>().is_ok() && col.parse::<usize>().is_ok(), "no line:col in: {text}");
    }
}

/// A scenario file: load it; when it loads, the planner decides its plan.
pub fn scenario_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match config::load_scenario_str(Path::new("fuzz.toml"), text, &[], &[]) {
        Ok(sc) => {
            let d = pqsim::planner::decide(&sc);
            let _ = pqsim::report::plan::PlanJson::new(&d);
            let _ = d.render_text();
        }
        Err(e) => check_rejection(&e, "fuzz.toml", true),
    }
}

/// A hardware profile file.
pub fn hardware_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = config::load_hardware_str(Path::new("fuzz.toml"), text, &[]) {
        check_rejection(&e, "fuzz.toml", true);
    }
}

const SCENARIO: &str = include_str!("../configs/scenarios/seed-not-in.toml");
const PROFILE: &str = include_str!("../configs/hardware/laptop.toml");

/// A command-line what-if value: the first byte picks the flag (`--set`, `--table`, `--hw`,
/// `--vary`), the rest is its value, applied to a shipped scenario and profile.
pub fn whatif(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(rest) else { return };
    let label = Path::new("seed-not-in.toml");
    match kind % 4 {
        0 => {
            let Ok(kv) = config::parse_kv(value, "--set") else { return };
            if let Err(e) = config::load_scenario_str(label, SCENARIO, &[kv], &[]) {
                check_rejection(&e, "", false);
            }
        }
        1 => {
            let Ok(o) = value.parse::<TableOverride>() else { return };
            match config::load_scenario_str(label, SCENARIO, &[], &[o]) {
                Ok(sc) => {
                    let _ = pqsim::planner::decide(&sc);
                }
                Err(e) => check_rejection(&e, "", false),
            }
        }
        2 => {
            let Ok(kv) = config::parse_kv(value, "--hw") else { return };
            if let Err(e) = config::load_hardware_str(Path::new("laptop.toml"), PROFILE, &[kv]) {
                check_rejection(&e, "", false);
            }
        }
        _ => {
            let _ = pqsim::commands::sweep::parse_vary(value);
        }
    }
}

/// EXPLAIN (FORMAT JSON) text as `pqsim import` reads it: parse, import, and load the result.
pub fn explain_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(plan) = pqsim::import::parse_explain_text(text) else { return };
    let opts = pqsim::import::ImportOptions { name: "fuzz".into(), ..Default::default() };
    match pqsim::import::import_plan(&plan, &opts) {
        Ok(imported) => {
            // An importer bug must not produce a file `run` rejects.
            let sc = pqsim::import::check_loads(&imported.toml).unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
            let _ = pqsim::planner::decide(&sc);
        }
        Err(e) => check_rejection(&e, "", false),
    }
}

/// The repository root, whether this file is compiled by the fuzz crate (fuzz/) or by the tests.
fn repo_root() -> &'static Path {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.ends_with("fuzz") {
        dir.parent().expect("fuzz/ has a parent")
    } else {
        dir
    }
}

/// A workload file, as if it lay in configs/workloads/ (so the shipped `../scenarios/*.toml`
/// resolve), on the laptop profile: load it with its classes' scenarios.
pub fn workload_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A class's scenario is a path it reads: keep the fuzzer away from device files that never end.
    if ["/dev", "/proc", "/sys", "\\"].iter().any(|p| text.contains(p)) {
        return;
    }
    let root = repo_root();
    let label = root.join("configs/workloads/fuzz.toml");
    let hardware = root.join("configs/hardware/laptop.toml");
    let w = config::WhatIf::default();
    if let Err(e) = config::load_workload_str(&label, text, &hardware.to_string_lossy(), &w) {
        assert_eq!(e.exit_code(), 2, "not an input error: {e}");
        // Errors in the workload file point at its line and column; a class's scenario file
        // (a shipped one, or one the input names) is reported under its own path.
        let msg = e.to_string();
        let mut parts = msg.splitn(4, ':');
        let file = parts.next().unwrap_or("");
        let (line, col) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        // An empty file has no line to point at: the file alone is named.
        let lines = !text.trim().is_empty();
        assert!(
            !file.is_empty() && (!lines || (line.parse::<usize>().is_ok() && col.parse::<usize>().is_ok())),
            "no file:line:col in: {msg}"
        );
    }
}

/// The sweep journal (`points.journal.jsonl`) as an interrupted sweep finds it: any bytes are
/// read (torn or foreign lines dropped) or refused, never a panic; rows read round-trip.
pub fn sweep_journal(data: &[u8]) {
    let _ = pqsim::commands::sweep::fuzz_journal(data);
}
