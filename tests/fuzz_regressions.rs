//! The fuzz targets' regression corpus, replayed under `cargo test`: every input that once
//! crashed or hung a parser (and the seeds) must now be answered, within a second, without a
//! panic: accepted, or rejected as bad input (exit code 2) with file:line:col where the input
//! has lines. The targets are in fuzz/targets.rs (shared with the libFuzzer harnesses);
//! scripts/fuzz.sh runs the campaign and says where to put new findings
//! (tests/fixtures/fuzz/TARGET/).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;
use std::time::{Duration, Instant};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let t0 = Instant::now();
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{target}: {} panics", path.display());
        // Debug builds are ~10x slower than the fuzzer's release build: allow for it.
        assert!(t0.elapsed() < Duration::from_secs(10), "{target}: {} takes {:?}", path.display(), t0.elapsed());
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus in {}", dir.display());
}

#[test]
fn scenario_toml_corpus() {
    replay("scenario_toml", targets::scenario_toml);
}

#[test]
fn hardware_toml_corpus() {
    replay("hardware_toml", targets::hardware_toml);
}

#[test]
fn whatif_corpus() {
    replay("whatif", targets::whatif);
}

#[test]
fn explain_json_corpus() {
    replay("explain_json", targets::explain_json);
}

#[test]
fn workload_toml_corpus() {
    replay("workload_toml", targets::workload_toml);
}

#[test]
fn sweep_journal_corpus() {
    replay("sweep_journal", targets::sweep_journal);
}
