//! The one way tests drive the pqsim binary: from the repository root, capturing both
//! streams, and failing on what no input may cause (a panic, a backtrace).
#![allow(dead_code)]

use std::process::Command;

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `pqsim ARGS` in the repository root.
pub fn pqsim(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pqsim");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert!(!run.stderr.contains("panicked"), "pqsim {args:?} panicked: {}", run.stderr);
    assert!(!run.stderr.contains("internal error"), "pqsim {args:?} hit a bug: {}", run.stderr);
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "pqsim {args:?} printed a backtrace hint: {}", run.stderr);
    run
}

/// Run `pqsim ARGS` and require success.
pub fn ok(args: &[&str]) -> Run {
    let run = pqsim(args);
    assert_eq!(run.code, 0, "pqsim {args:?} failed ({}): {}", run.code, run.stderr);
    run
}

/// Run `pqsim ARGS` (which print JSON) and parse stdout.
pub fn json(args: &[&str]) -> serde_json::Value {
    let run = ok(args);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("pqsim {args:?}: not JSON: {e}"))
}

/// Whether a throwaway PostgreSQL can run here. Without one the test is skipped with a line
/// on stderr, unless `PQSIM_REQUIRE_PG` is set (as the project's test command sets it): then it
/// fails. `PQSIM_SKIP_PG=1` skips it whatever is installed (as the other PostgreSQL tests do).
pub fn pg_or_skip(test: &str) -> bool {
    if std::env::var("PQSIM_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED {test}: PQSIM_SKIP_PG=1");
        return false;
    }
    match pqsim::pg::ThrowawayServer::unavailable_reason() {
        None => true,
        Some(why) => {
            if std::env::var_os("PQSIM_REQUIRE_PG").is_some_and(|v| v != "0") {
                panic!("{test}: PQSIM_REQUIRE_PG is set but {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}
