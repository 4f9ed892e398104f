//! The profile's record of how it was measured: `[calibration]` (machine load, speed
//! reference, each fit's quality) and `[calibration.probes]` (every probe, measured against
//! fitted or simulated), written after the prices by [`super::profile::render`].

use super::profile::{num, r3, Info};
use super::stages::Fits;
use super::ProbeResult;
use crate::analysis::robust::{median, quantile, robust_cv};
use crate::pg::probes::How;
use crate::pg::protocol::SPEEDREF_SQL;
use std::fmt::Write as _;

/// [calibration]: the measurement's circumstances and fit quality.
pub(super) fn calibration(s: &mut String, fits: &Fits, info: &Info, results: &[ProbeResult]) {
    let hw = &fits.hw;
    let c = &hw.costs;
    let fit = &fits.serial.fit;
    let serial = &fits.serial.idx;
    let su_fit = &fits.startup.fit;
    let q_fit = &fits.queue.fit;
    // [calibration]
    let _ = writeln!(s, "\n[calibration]");
    let kv = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{k} = {v}");
    };
    let ts = |v: &str| toml::Value::String(v.to_string()).to_string();
    kv(s, "server_version", ts(&info.facts.version));
    kv(s, "date", ts(&info.date));
    kv(s, "cores", num(info.facts.cores));
    kv(s, "shared_buffers_pages", info.facts.shared_buffers_pages.to_string());
    kv(s, "max_worker_processes", info.facts.max_worker_processes.to_string());
    kv(s, "scale_rows", info.scale.to_string());
    kv(
        s,
        "table_rows",
        format!(
            "{{ n_s = {}, n_m = {}, n_l = {}, wide = {}, hot = {}, typed = {}, dim_s = {}, dim_l = {} }}",
            info.sizes.s,
            info.sizes.m,
            info.sizes.l,
            info.sizes.wide,
            info.sizes.hot,
            info.sizes.typed,
            info.sizes.dim_s,
            info.sizes.dim_l
        ),
    );
    kv(s, "repetitions", info.reps.to_string());
    kv(s, "runs", info.total_runs.to_string());
    kv(s, "duration_s", num(info.duration_s));
    kv(s, "measure", ts("EXPLAIN (ANALYZE, TIMING OFF) Execution Time (blocks read from untimed BUFFERS runs before and after), each run rescaled by speed_reference_ms / (reference before + after)/2, median; client_* timed by the client; su_single with TIMING on"));
    kv(
        s,
        "loadavg_before",
        format!(
            "[{}, {}, {}]",
            num(info.measurement.rounds.load_before.load1),
            num(info.measurement.rounds.load_before.load5),
            num(info.measurement.rounds.load_before.load15)
        ),
    );
    kv(
        s,
        "loadavg_after",
        format!(
            "[{}, {}, {}]",
            num(info.measurement.load_after.load1),
            num(info.measurement.load_after.load5),
            num(info.measurement.load_after.load15)
        ),
    );
    kv(s, "other_cpus_busy_before", num(info.measurement.rounds.busy_before));
    kv(s, "other_cpus_busy_max", num(info.measurement.rounds.busy_max));
    kv(
        s,
        "other_cpus_busy_per_round",
        format!("[{}]", info.measurement.rounds.round_busy.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", ")),
    );
    kv(s, "rounds_discarded_for_load", info.measurement.rounds.discarded.to_string());
    kv(s, "quiet", info.quiet.to_string());
    kv(s, "speed_reference_sql", ts(SPEEDREF_SQL));
    kv(s, "speed_reference_ms", num(info.measurement.anchor));
    kv(s, "speed_reference_p10_ms", num(quantile(&info.measurement.rounds.refs, 0.1)));
    kv(s, "speed_reference_median_ms", num(median(&info.measurement.rounds.refs)));
    kv(s, "speed_reference_p90_ms", num(quantile(&info.measurement.rounds.refs, 0.9)));
    kv(s, "speed_reference_runs", info.measurement.rounds.refs.len().to_string());
    kv(s, "run_to_run_cv_median_raw", num(info.measurement.raw_cv_median));
    kv(s, "run_to_run_cv_median", num(run_cv_median(results)));
    kv(s, "warm_tables_read_fraction", num(warm_read_fraction(fits, results)));
    kv(s, "hot_table_read_fraction", num(hot_read_fraction(fits, results)));
    if !info.measurement.launched_short.is_empty() {
        kv(s, "fewer_workers_than_planned", format!("{:?}", info.measurement.launched_short));
    }
    kv(s, "serial_fit_r2", num(fit.r2));
    kv(s, "serial_fit_rms_relative_error", num(fit.rms_weighted));
    let rel: Vec<f64> = fit.residuals.iter().zip(serial).map(|(r, &i)| (r / results[i].median_ms()).abs()).collect();
    kv(s, "serial_fit_max_relative_error", num(rel.iter().cloned().fold(0.0, f64::max)));
    kv(s, "parallel_capacity", num(info.measurement.capacity));
    kv(s, "parallel_capacity_p10", num(info.measurement.capacity_spread.0));
    kv(s, "parallel_capacity_p90", num(info.measurement.capacity_spread.1));
    kv(
        s,
        "parallel_capacity_note",
        ts("throughput of two concurrent serial scans of the speed reference over one alone (2 = two full cores), the 90th percentile (at most 2) of pairs measured before the timed rounds, at the end of each round and after them (a pair also measures where the kernel puts two backends woken together, which can only lower it; p10/p90: their spread); sets all_cores_busy_speed"),
    );
    kv(s, "warm_page_total_ns", num(c.page_ns + c.os_read_page_ns));
    kv(s, "queue_send_plus_receive_ns", num(c.tuple_send_ns + c.tuple_receive_ns));
    kv(s, "startup_fit_rms_relative_error", num(su_fit.rms));
    kv(s, "queue_fit_rms_relative_error", num(q_fit.rms));
    let left_out: Vec<String> =
        results.iter().filter_map(|r| r.import_error.as_ref().map(|e| format!("{}: {e}", r.probe.id))).collect();
    if !left_out.is_empty() {
        kv(s, "probes_left_out", format!("{left_out:?}"));
    }
}
/// [calibration.probes]: every probe, measured vs fitted.
pub(super) fn probes(s: &mut String, fits: &Fits, results: &[ProbeResult]) {
    let serial = &fits.serial.idx;
    let su_fit = &fits.startup.fit;
    let su_idx = &fits.startup.idx;
    let su_meas = &fits.startup.measured;
    let _ = writeln!(
        s,
        "\n[calibration.probes]       # id = [measured median ms (speed-rescaled), fitted/simulated ms, runs, robust CV of the runs]"
    );
    let cv_of = |r: &ProbeResult| r3(robust_cv(&r.runs.iter().map(|m| m.ms).collect::<Vec<_>>()));
    for (k, &i) in serial.iter().enumerate() {
        let r = &results[i];
        let _ = writeln!(
            s,
            "{} = [{}, {}, {}, {}]   # {}",
            r.probe.id,
            r3(r.median_ms()),
            r3(fits.serial.fitted_ms(k)),
            r.runs.len(),
            cv_of(r),
            r.probe.what
        );
    }
    for (k, &i) in su_idx.iter().enumerate() {
        let r = &results[i];
        let _ = writeln!(
            s,
            "{} = [{}, {}, {}, {}]   # {} (minus su_serial)",
            r.probe.id,
            r3(su_meas[k]),
            r3(su_fit.predicted[k]),
            r.runs.len(),
            cv_of(r),
            r.probe.what
        );
    }
    for id in ["su_serial", "su_noworkers", "gr_serial", "gr_noworkers"] {
        if let Some(r) = results.iter().find(|r| r.probe.id == id) {
            let _ = writeln!(
                s,
                "{} = [{}, {}, {}]   # {}",
                id,
                r3(r.median_ms()),
                r3(r.median_ms()),
                r.runs.len(),
                r.probe.what
            );
        }
    }
    if let Some(w) = &fits.worker_scan {
        sim_fit_lines(s, results, &w.idx, &w.measured, &w.fit.predicted, &[(&w.shares, LEADER_ROWS)]);
    }
    let q = &fits.queue;
    sim_fit_lines(
        s,
        results,
        &q.idx,
        &q.measured,
        &q.fit.predicted,
        &[
            (&q.shares, LEADER_ROWS),
            (&q.leader_cpu, ("leader_cpu", "the leader backend's CPU time, ms (/proc/PID/schedstat, less planning)")),
        ],
    );
}

const LEADER_ROWS: (&str, &str) =
    ("leader_rows", "the leader's share of the scanned rows (EXPLAIN VERBOSE Worker N entries)");

/// One simulator fit's probes, measured vs fitted: each probe's time (`measured`, less the
/// EXPLAIN overhead), then each group of other targets (probe index, measured value) under
/// its suffix, in the order of `predicted`.
fn sim_fit_lines(
    s: &mut String,
    results: &[ProbeResult],
    idx: &[usize],
    measured: &[f64],
    predicted: &[f64],
    extra: &[(&Vec<(usize, f64)>, (&str, &str))],
) {
    for (k, &i) in idx.iter().enumerate() {
        let r = &results[i];
        let cv = r3(robust_cv(&r.runs.iter().map(|m| m.ms).collect::<Vec<_>>()));
        let (m, f) = (r3(measured[k]), r3(predicted[k]));
        let _ = writeln!(
            s,
            "{} = [{m}, {f}, {}, {cv}]   # {} (minus explain overhead)",
            r.probe.id,
            r.runs.len(),
            r.probe.what
        );
    }
    let mut at = idx.len();
    for (targets, (suffix, what)) in extra {
        for (i, m) in targets.iter() {
            let r = &results[*i];
            let f = r3(predicted[at]);
            let _ = writeln!(s, "{}_{suffix} = [{}, {f}, {}]   # {what}", r.probe.id, r3(*m), r.runs.len());
            at += 1;
        }
    }
}

pub(super) fn run_cv_median(results: &[ProbeResult]) -> f64 {
    let cvs: Vec<f64> =
        results.iter().filter(|r| r.runs.len() >= 3).map(|r| r.cv()).filter(|v| v.is_finite()).collect();
    median(&cvs)
}

/// Median read fraction of the serial EXPLAIN probes that scan the warm tables.
fn warm_read_fraction(fits: &Fits, results: &[ProbeResult]) -> f64 {
    let rf: Vec<f64> = fits
        .serial
        .idx
        .iter()
        .filter(|&&i| ["n_s", "n_m", "n_l", "wide"].iter().any(|t| results[i].probe.sql.contains(&format!("FROM {t}"))))
        .filter(|&&i| {
            results[i].probe.how == How::Explain
                && !results[i].probe.id.starts_with("index")
                && !results[i].probe.id.starts_with("nestloop")
        })
        .map(|&i| results[i].read_fraction)
        .collect();
    median(&rf)
}

fn hot_read_fraction(fits: &Fits, results: &[ProbeResult]) -> f64 {
    let rf: Vec<f64> = fits
        .serial
        .idx
        .iter()
        .filter(|&&i| results[i].probe.id.ends_with("_h"))
        .map(|&i| results[i].read_fraction)
        .collect();
    median(&rf)
}
