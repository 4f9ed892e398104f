//! A parallel worker's fixed costs as the kernel counts them: the part of its start-up and exit
//! on a core, the rest off one (`parallel.worker_cpu_share`).

use super::result::SimResult;

/// count(*) of a 1.2M-row table with two workers on `cores` cores, start-up and exit fixed
/// (no spread), `share` of them on a core.
fn count_with_share(cores: &str, share: &str) -> SimResult {
    super::tests::count(
        "2",
        &[
            ("cpu_noise_cv", "0"),
            ("parallel.worker_startup_sigma", "0"),
            ("parallel.shutdown_sigma", "0"),
            ("parallel.worker_startup_ms", "4"),
            ("parallel.shutdown_per_worker_us", "2000"),
            ("all_cores_busy_speed", "1"),
            ("cores", cores),
            ("parallel.worker_cpu_share", share),
        ],
    )
}

fn workers_on_core_ms(r: &SimResult) -> f64 {
    r.processes.iter().filter(|p| p.is_worker).map(|p| p.acct.on_cpu / 1e6).sum()
}

/// Measured on a 2-vCPU VM (2026-12-06, AMD EPYC, Linux 6.18): a single-copy Gather's worker
/// over a one-row table used 4.0 ms of CPU from fork to exit (the postmaster's reaped
/// children), where the calibration's wall-time fit gave its start-up and exit 5.6 ms; the
/// rest is time off a core (the postmaster's turn to fork and reap it, a halted vCPU
/// resumed). That part keeps the query waiting as before, but not a core: with cores to
/// spare the query takes as long, the workers' CPU drops by it; on one busy core the
/// leader's scan has the core meanwhile.
#[test]
fn a_workers_start_up_and_exit_off_a_core_hold_the_query_but_not_a_core() {
    let (all, half) = (count_with_share("4", "1"), count_with_share("4", "0.5"));
    let (wall_all, wall_half) = (all.wall as f64 / 1e6, half.wall as f64 / 1e6);
    assert!((wall_all - wall_half).abs() < 0.01 * wall_all, "with spare cores {wall_all:.3} vs {wall_half:.3} ms");
    // Two workers, 6 ms of start-up and exit each, half of it off a core.
    let saved = workers_on_core_ms(&all) - workers_on_core_ms(&half);
    assert!((saved - 6.0).abs() < 0.3, "the workers' CPU went down {saved:.2} ms, expected 6");
    let (tight_all, tight_half) = (count_with_share("1", "1"), count_with_share("1", "0.5"));
    let (a, h) = (tight_all.wall as f64 / 1e6, tight_half.wall as f64 / 1e6);
    assert!(h < a - 2.0, "on one core {a:.2} ms all CPU against {h:.2} ms half off a core");
}
