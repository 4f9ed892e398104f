//! The small one-sitting validation as a test: a throwaway PostgreSQL 15 server is
//! calibrated (`calibrate`, small probe tables), then the TPC-H-like workload of
//! `pqsim validate --scale small` is measured on a second throwaway server and predicted with
//! that fresh profile. Prints its progress; about 5 minutes on 2 cores when quiet (longer under
//! load: rounds run during load are discarded and rerun after waiting for quiet).
//!
//! Skipped only when `PQSIM_SKIP_PG=1`. Reports are kept under
//! `target/tmp/validate_small/` (CARGO_TARGET_TMPDIR).

use pqsim::commands::validate::{run, Options, Scale, Workload};
use pqsim::pg::ThrowawayServer;
use std::path::PathBuf;

/// Bar on the median absolute error of predicted vs measured EXPLAIN (ANALYZE, TIMING OFF)
/// time over the grid (measured times rescaled to the profile's machine speed). See MEASURED:
/// the bar leaves room for the run-to-run spread of a shared 2-vCPU machine without letting a
/// broken importer, model or calibration pass (those give errors of 50% and more).
const MAX_MEDIAN_ABS_ERROR_PCT: f64 = 40.0;
/// What this test measured, and when (docs/validation.md).
const MEASURED: &str = "2026-11-30, a loaded 2-vCPU machine (other processes 1.2-1.6 CPUs in every round, \
all rounds flagged): median |error| 21.3%, p90 39.7%; against client times 23.0%, p90 50.7%; speedup 17.7%, \
72 points, 27 min of which most waiting for quiet";

#[test]
fn small_validation_within_bar() {
    if std::env::var("PQSIM_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED small_validation_within_bar: PQSIM_SKIP_PG=1");
        return;
    }
    let output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate_small");
    std::fs::create_dir_all(&output).unwrap();
    // One sitting: calibrate first, on this machine, now.
    let server = ThrowawayServer::start().expect("start a server to calibrate");
    let cal =
        pqsim::calibration::calibrate(server.conninfo(), 100_000, 5, "one-sitting-small", 60.0).expect("calibration");
    server.stop().unwrap();
    let profile = output.join("one-sitting-small.toml");
    std::fs::write(&profile, &cal.text).unwrap();
    let rep = run(&Options {
        workload: Workload::Tpch,
        scale: Scale::Small,
        profile_path: profile.clone(),
        output: output.clone(),
        reps: 5,
        wait_quiet: 60.0,
        command: "cargo test --test validate_small".into(),
    })
    .expect("validation run");
    eprintln!(
        "validate small (one sitting): median |error| {:.1}%, p90 {:.1}%; client: {:.1}%, p90 {:.1}%; speedup {:.1}%; report {}",
        rep.median_abs_error_pct,
        rep.p90_abs_error_pct,
        rep.median_abs_client_error_pct,
        rep.p90_abs_client_error_pct,
        rep.median_abs_speedup_error_pct,
        rep.md_path.display()
    );
    assert!(rep.points.len() >= 70, "{} points", rep.points.len());
    // What two busy cores give: the profile's figure is the median of its pairs (before, in
    // and after the timed rounds), inside their spread; the validation measured its own, once
    // a round, and reports both.
    let cal_value = |k: &str| pqsim::validation::profile_calibration_value(&cal.text, k).unwrap_or(f64::NAN);
    let (p10, c, p90) =
        (cal_value("parallel_capacity_p10"), cal_value("parallel_capacity"), cal_value("parallel_capacity_p90"));
    assert!(0.5 < p10 && p10 <= c && c <= p90 && p90 < 3.0, "capacity {c} outside its pairs' spread {p10}..{p90}");
    assert_eq!(rep.profile_capacity, Some(c));
    let (s10, s50, s90) = rep.capacity_seen;
    assert!(0.5 < s10 && s10 <= s50 && s50 <= s90 && s90 < 3.0, "capacity seen in the rounds: {:?}", rep.capacity_seen);
    let unpredicted: Vec<String> = rep
        .points
        .iter()
        .filter(|p| p.predicted_ms.is_none())
        .map(|p| format!("{} W={}: {}", p.case, p.workers, p.note))
        .collect();
    assert!(unpredicted.is_empty(), "points the model could not predict: {unpredicted:?}");
    assert!(rep.points.iter().all(|p| p.runs >= 5 && p.measured_ms > 0.0 && p.client_ms > 0.0));
    // Every predicted point has its 80% interval, holding its prediction, and the coverage
    // counts every bare run (a share, not a count).
    for p in &rep.points {
        let (lo, hi, c) = (p.client_p80_lo_ms.unwrap(), p.client_p80_hi_ms.unwrap(), p.predicted_client_ms.unwrap());
        assert!(lo < c && c < hi, "{} W={}: {c} ms outside its own interval {lo}..{hi}", p.case, p.workers);
        assert!(p.client_runs_in_p80 <= p.client_runs && p.client_runs >= 5);
    }
    assert!((0.0..=1.0).contains(&rep.client_p80_coverage) && (0.0..=1.0).contains(&rep.client_p80_coverage_raw));
    // Rows per participant: the leader's share measured (EXPLAIN VERBOSE's Worker entries)
    // beside the model's, for the parallel points with leader participation (the seed NOT IN's
    // plan has no Worker entries on a parallel-aware node; 28 points in a full sitting).
    let shares: Vec<_> = rep.points.iter().filter(|p| p.leader_row_share_measured.is_some()).collect();
    assert!(shares.len() >= 20, "only {} points with the leader's measured share", shares.len());
    for p in shares {
        assert!(
            p.leader && p.workers_planned > 0,
            "{} W={}: a share without a participating leader",
            p.case,
            p.workers
        );
        assert!(p.leader_row_share_predicted.is_some_and(|s| (0.0..=1.0).contains(&s)), "{} W={}", p.case, p.workers);
    }
    // Each process's CPU, from the kernel's account of the throwaway server's processes: a
    // worker's for every point that launched workers (within a factor of three of the model's:
    // a meter reading the wrong process, or a run's neighbours, would be far off), none for a
    // serial plan.
    for p in &rep.points {
        let launched = p.workers_launched_min.unwrap_or(0) > 0;
        match (launched, p.worker_cpu_ms_measured, p.worker_cpu_ms_predicted) {
            (true, Some(m), Some(pr)) => {
                assert!(
                    m > 0.0 && pr / m < 3.0 && m / pr < 3.0,
                    "{} W={}: a worker's CPU {m} ms, model {pr}",
                    p.case,
                    p.workers
                )
            }
            (false, None, _) => {}
            // Some runs launched fewer workers than planned (none): the others are measured.
            (false, Some(_), _) if p.workers_planned > 0 => {}
            other => panic!("{} W={} (launched {launched}): worker CPU {other:?}", p.case, p.workers),
        }
    }
    // The scheduling bars are reported: the small scale's short cases (count's serial scan
    // takes about 10 ms) and the leader-bound Gather at both leader settings.
    let short = pqsim::validation::checks::short_speedups(&rep.points, pqsim::validation::SHORT_POINT_MS);
    assert!(short.iter().any(|s| s.case == "count"), "{short:?}");
    assert!(short.iter().all(|s| s.se_pct.is_finite() && s.se_pct > 0.0), "{short:?}");
    assert_eq!(pqsim::validation::checks::leader_bound(&rep.points).len(), 2);
    let md = std::fs::read_to_string(&rep.md_path).unwrap();
    assert!(
        md.contains("## Short queries and the leader-bound Gather")
            && md.contains("`gather_bound`, leader off")
            && md.contains("## Each process's CPU"),
        "{md}"
    );
    assert!(
        rep.median_abs_error_pct <= MAX_MEDIAN_ABS_ERROR_PCT,
        "median absolute error {:.1}% exceeds the bar {MAX_MEDIAN_ABS_ERROR_PCT}% ({MEASURED}); \
         other processes used up to {:.2} CPUs, {} loaded rounds kept; see {}",
        rep.median_abs_error_pct,
        rep.other_cpus_max,
        rep.loaded_rounds_kept,
        rep.md_path.display()
    );
}
