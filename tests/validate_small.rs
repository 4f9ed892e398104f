//! The small-scale validation (`pqsim validate --scale small`) as a test: a throwaway
//! PostgreSQL 15 server, the grid of docs/validation.md, predictions on the committed
//! calibrated profile `configs/hardware/reference-2vcpu.toml`. About 3-4 minutes on the
//! 2-vCPU reference machine when it is quiet (longer when other processes load it: rounds
//! run during load are discarded and rerun after waiting for quiet, see measuring.md).
//!
//! Skipped only when `PQSIM_SKIP_PG=1`. Reports are kept under
//! `target/tmp/validate_small/` (CARGO_TARGET_TMPDIR).

use pqsim::commands::validate::{run, Options, Scale};
use std::path::PathBuf;

/// Bar on the median absolute error of predicted vs measured Execution Time over the grid
/// (measured times rescaled to the profile's machine speed, see docs/validation.md).
/// Measured on the 2-vCPU reference machine on 2026-11-22 with the committed profile: 12.7%
/// (p90 28.3%; other runs 13.3% and 9.9%; an earlier profile from the same method: 16.8%). The bar leaves room for the
/// run-to-run spread of this VM (two quiet calibrations' probe medians differ by a median
/// 3%, single points by up to 20%) without letting a broken model or importer pass.
const MAX_MEDIAN_ABS_ERROR_PCT: f64 = 25.0;
/// What `pqsim validate --scale small` measured with the committed profile, and when.
const MEASURED: &str =
    "median |error| 12.7%, p90 28.3%, median |speedup error| 11.8% (2026-11-22, 65 points; docs/validation.md)";

#[test]
fn small_validation_within_bar() {
    if std::env::var("PQSIM_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED small_validation_within_bar: PQSIM_SKIP_PG=1");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate_small");
    let rep = run(&Options {
        scale: Scale::Small,
        profile_path: root.join("configs/hardware/reference-2vcpu.toml"),
        output: output.clone(),
        reps: 5,
        wait_quiet: 120.0,
        command: "cargo test --test validate_small".into(),
    })
    .expect("validation run");
    eprintln!(
        "validate small: median |error| {:.1}%, p90 {:.1}%, median |speedup error| {:.1}%; report {}",
        rep.median_abs_error_pct,
        rep.p90_abs_error_pct,
        rep.median_abs_speedup_error_pct,
        rep.md_path.display()
    );
    assert!(rep.points.len() >= 60, "{} points", rep.points.len());
    let unpredicted: Vec<String> = rep
        .points
        .iter()
        .filter(|p| p.predicted_ms.is_none())
        .map(|p| format!("{} W={}: {}", p.case, p.workers, p.note))
        .collect();
    assert!(unpredicted.is_empty(), "points the model could not predict: {unpredicted:?}");
    assert!(rep.points.iter().all(|p| p.runs >= 5 && p.measured_ms > 0.0));
    assert!(
        rep.median_abs_error_pct <= MAX_MEDIAN_ABS_ERROR_PCT,
        "median absolute error {:.1}% exceeds the bar {MAX_MEDIAN_ABS_ERROR_PCT}% (reference: {MEASURED}); \
         other processes used up to {:.2} CPUs, {} loaded rounds kept; see {}",
        rep.median_abs_error_pct,
        rep.other_cpus_max,
        rep.loaded_rounds_kept,
        rep.md_path.display()
    );
}
