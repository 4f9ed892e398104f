//! The validation's Markdown report.

use super::{Options, Outcome};
use crate::analysis::robust::median;
use crate::pg::protocol::{iso_utc, SPEEDREF_SQL};
use std::fmt::Write as _;

fn f1(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn f2(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into())
}

/// The report: how it was produced, the summary, every point.
pub fn markdown(o: &Options, out: &Outcome) -> String {
    let (rep, hw, version, r) = (&out.report, &out.hw, &out.version, &out.rows);
    let (started, load_before, load_after) = (out.started_unix, out.load_before, out.load_after);
    let (round_busy, secs) = (&out.round_busy, out.secs);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# pqsim vs PostgreSQL {version}: validation, workload `{}`, scale `{}`\n",
        o.workload.name(),
        o.scale.name()
    );
    let _ = writeln!(s, "Produced by `{}` on {} ({:.0} s).\n", o.command, iso_utc(started), secs);
    let _ = writeln!(s, "- Data: {}, VACUUM ANALYZE, warm (OS page cache).", super::workload::describe(o.workload, r));
    let _ = writeln!(
        s,
        "- Predicted: `EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON)` (no ANALYZE) → `pqsim import` (with pg_class row/page counts) → simulated on profile `{}` ({}), median of 5 replications.",
        hw.name,
        o.profile_path.display()
    );
    let _ = writeln!(
        s,
        "- Measured: `EXPLAIN (ANALYZE, TIMING OFF, VERBOSE)` Execution Time (no BUFFERS: its accounting slows every node call), median of {} runs per point (three times as many for a point predicted under {} ms of client time), all points shuffled in each round; one warm-up run each. Every point sets parallel_setup_cost = 0, parallel_tuple_cost = 0, max_parallel_workers_per_gather = W and parallel_leader_participation.",
        o.reps,
        super::SHORT_POINT_MS
    );
    let _ = writeln!(
        s,
        "- Load: loadavg {load_before:.2} before, {load_after:.2} after; CPUs used by other processes per round: [{}]; rounds discarded for load: {}; loaded rounds kept: {}.",
        round_busy.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", "),
        rep.rounds_discarded,
        rep.loaded_rounds_kept
    );
    let _ = writeln!(
        s,
        "- Machine speed: `{SPEEDREF_SQL}` (a serial scan of a 300,000-row table in shared buffers) runs before and after every measured run; each run is rescaled by reference / (before + after)/2 with the reference = {}. Reference times seen: 10th percentile {:.2} ms, median {:.2} ms, 90th percentile {:.2} ms. Raw (not rescaled) medians and errors are reported too.",
        rep.speed_reference_source, rep.speed_seen_ms.0, rep.speed_seen_ms.1, rep.speed_seen_ms.2
    );
    let (c10, c50, c90) = rep.capacity_seen;
    if c50.is_finite() {
        let profile = rep
            .profile_capacity
            .map_or("no figure in the profile".into(), |c| format!("{c:.2}x in the profile's calibration"));
        let _ = writeln!(
            s,
            "- Two busy cores: the reference query on two connections side by side, once a round, ran {c50:.2}x as fast as alone (median; 10th percentile {c10:.2}x, 90th {c90:.2}x; 2.0 = two full cores), against {profile}. Parallel runs are rescaled by the serial reference only: when the rounds' figure is below the profile's, parallel points are measured slower than the profile's machine would run them.",
        );
    }
    let _ = writeln!(s, "- \"noisy\": robust CV of the point's rescaled runs above 10%.\n");
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(s, "| | median | p90 |");
    let _ = writeln!(s, "|---|---:|---:|");
    let _ = writeln!(
        s,
        "| abs. error of predicted time (measured rescaled to the profile's machine speed) | {:.1}% | {:.1}% |",
        rep.median_abs_error_pct, rep.p90_abs_error_pct
    );
    let _ = writeln!(
        s,
        "| abs. error of predicted time (raw measured) | {:.1}% | {:.1}% |",
        rep.median_abs_raw_error_pct, rep.p90_abs_raw_error_pct
    );
    let _ = writeln!(
        s,
        "| abs. error of speedup (W vs W = 0) | {:.1}% | {:.1}% |",
        rep.median_abs_speedup_error_pct, rep.p90_abs_speedup_error_pct
    );
    let _ = writeln!(
        s,
        "| abs. error against bare client times (rescaled) | {:.1}% | {:.1}% |",
        rep.median_abs_client_error_pct, rep.p90_abs_client_error_pct
    );
    let _ = writeln!(s, "| abs. error of client-time speedup | {:.1}% | – |", rep.median_abs_client_speedup_error_pct);
    let _ = writeln!(
        s,
        "\nMeasured bare runs inside their point's predicted 80% interval (`wall_time_ms_p80`: the model's spread over replications, the machine's {} and the model's own error `model_sigma` {:.3}{}): {:.0}% rescaled to the profile's speed, {:.0}% raw (80% when the interval is honest; raw runs above it {:.0}%, below it {:.0}%, 10% each when it is).\n",
        {
            // The shapes the points' intervals took (`Hardware::run_quantiles_for`).
            let spread = |parallel| crate::report::machine_spread(hw.run_sigma, hw.run_quantiles_for(parallel).as_ref());
            let (serial, parallel) = (spread(false), spread(true));
            if serial == parallel {
                serial
            } else {
                format!("{serial} for a serial plan, {parallel} for a plan with workers")
            }
        },
        hw.model_sigma,
        if hw.model_sigma_measured { ", estimated out of sample by the profile's calibration" } else { ", assumed: the profile does not estimate it" },
        100.0 * rep.client_p80_coverage,
        100.0 * rep.client_p80_coverage_raw,
        100.0 * rep.client_p80_raw_above,
        // Shares of whole runs: clamped so rounding never prints "-0%".
        (100.0 * (1.0 - rep.client_p80_coverage_raw - rep.client_p80_raw_above)).max(0.0),
    );
    let _ = writeln!(
        s,
        "| case | median abs. error | median signed error | median signed error, raw | median abs. speedup error |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    let mut ids: Vec<&str> = vec![];
    for p in &rep.points {
        if !ids.contains(&p.case.as_str()) {
            ids.push(&p.case);
        }
    }
    for id in ids {
        let e: Vec<f64> = rep.points.iter().filter(|p| p.case == id).filter_map(|p| p.error_pct).collect();
        let sp: Vec<f64> =
            rep.points.iter().filter(|p| p.case == id).filter_map(|p| p.speedup_error_pct.map(f64::abs)).collect();
        let raw: Vec<f64> = rep.points.iter().filter(|p| p.case == id).filter_map(|p| p.raw_error_pct).collect();
        let _ = writeln!(
            s,
            "| {id} | {:.1}% | {:+.1}% | {:+.1}% | {} |",
            median(&e.iter().map(|v| v.abs()).collect::<Vec<_>>()),
            median(&e),
            median(&raw),
            if sp.is_empty() { "–".into() } else { format!("{:.1}%", median(&sp)) }
        );
    }
    scheduling_checks(&mut s, rep);
    blocks_read(&mut s, rep, &out.buffer_shares);
    leader_shares(&mut s, rep);
    process_cpu(&mut s, rep);
    points_table(&mut s, rep);
    s
}

/// The scheduling model's bars: short-query speedups within 10% (each miss with the
/// measurement's own uncertainty), the leader-bound Gather's best W and speedup signs.
fn scheduling_checks(s: &mut String, rep: &super::Report) {
    use super::checks::{leader_bound, short_speedups, LEADER_BOUND_CASE, SHORT_SPEEDUP_BAR_PCT as BAR};
    let short = short_speedups(&rep.points, super::SHORT_POINT_MS);
    let bound = leader_bound(&rep.points);
    if short.is_empty() && bound.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Short queries and the leader-bound Gather\n");
    if !short.is_empty() {
        let mut cases: Vec<&str> = short.iter().map(|x| x.case.as_str()).collect();
        cases.dedup();
        let within = super::checks::within_bar(&short);
        let _ = writeln!(
            s,
            "Client-time speedups T(0) / T(W) of the cases whose serial plan ran under {} ms ({}): within {BAR:.0}% at **{within} of {}**. A speedup's standard error (SE) is its two medians' (1.2533 · robust CV / √runs each), combined.\n",
            super::SHORT_POINT_MS,
            cases.join(", "),
            short.len()
        );
        let misses: Vec<_> = short.iter().filter(|x| x.error_pct.abs() > BAR).collect();
        if !misses.is_empty() {
            let _ = writeln!(s, "| miss | measured | predicted | error | SE of the measured |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|");
            for m in misses {
                let _ = writeln!(
                    s,
                    "| {} W={} leader {} | {:.3} | {:.3} | {:+.1}% | {:.1}% |",
                    m.case,
                    m.workers,
                    if m.leader { "on" } else { "off" },
                    m.measured,
                    m.predicted,
                    m.error_pct,
                    m.se_pct
                );
            }
            let _ = writeln!(s);
        }
        if let Some((spread, which)) = super::checks::same_plan_spread(&rep.points) {
            let _ = writeln!(
                s,
                "Points that ran the same plan came out up to {spread:.1}% apart ({which}): the standard errors assume independent runs, and runs in the same rounds share the host's stretches.\n"
            );
        }
    }
    for b in &bound {
        let per_w: Vec<String> =
            b.speedups.iter().map(|x| format!("W={} {:.2} / {:.2}", x.workers, x.measured, x.predicted)).collect();
        let misses = b.sign_misses();
        let ties = if b.best_measured_ties.len() > 1 {
            let l: Vec<String> = b.best_measured_ties.iter().map(u32::to_string).collect();
            let among = if b.best_within_ties() { "the predicted among them" } else { "the predicted not among them" };
            format!(" (the runs cannot tell W = {} apart: {among})", l.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "- `{LEADER_BOUND_CASE}`, leader {}: best W measured {}{ties}, predicted {}; speedup measured / predicted: {}; {}.",
            if b.leader { "on" } else { "off" },
            b.best_measured,
            b.best_predicted,
            per_w.join(", "),
            if misses.is_empty() {
                "every sign the same".to_string()
            } else {
                let l: Vec<String> = misses
                    .iter()
                    .map(|x| {
                        let told = if x.sign_resolved() { "" } else { ", within 2 SE of 1: a sign the runs do not tell" };
                        format!("W={} (measured SE {:.1}%{told})", x.workers, x.se_pct)
                    })
                    .collect();
                format!("signs differ at {}", l.join(", "))
            }
        );
    }
}

/// Where the blocks came from: the share read from the OS page cache (not shared-buffer
/// hits), per case, serial and parallel, as EXPLAIN's BUFFERS counted them.
fn blocks_read(s: &mut String, rep: &super::Report, shares: &[(String, crate::pg::buffers::BufferState)]) {
    let mut cases: Vec<&str> = rep.points.iter().map(|p| p.case.as_str()).collect();
    cases.dedup();
    let _ = writeln!(s, "\n## Blocks read, not found in shared buffers\n");
    let _ = writeln!(
        s,
        "The share of each plan's blocks that were reads from the OS page cache (EXPLAIN BUFFERS: shared read / (hit + read)) in the last warm-up pass, then the median over the case's points: what the server really had in shared buffers.\n"
    );
    if !shares.is_empty() {
        let list: Vec<String> = shares
            .iter()
            .map(|(t, v)| {
                let order = v.in_order.map_or(String::new(), |o| format!(", {:.0}% in order", 100.0 * o));
                format!("`{t}` {:.0}%{order}", 100.0 * v.share)
            })
            .collect();
        let _ = writeln!(
            s,
            "The predictions take each table's share of pages in shared buffers as pg_buffercache counted it after the warm-up (the rest read from the OS page cache), and the share of those whose next block lies in the next buffer (in order: a scan reads them as one stream): {}.\n",
            list.join(", ")
        );
    }
    let _ = writeln!(s, "| case | blocks read, serial | blocks read, parallel (median) |");
    let _ = writeln!(s, "|---|---:|---:|");
    for id in cases {
        let share = |serial: bool| {
            let v: Vec<f64> = rep
                .points
                .iter()
                .filter(|p| p.case == id && (p.workers_planned == 0) == serial)
                .filter_map(|p| p.blocks_read_share)
                .collect();
            if v.is_empty() {
                "–".to_string()
            } else {
                format!("{:.0}%", 100.0 * median(&v))
            }
        };
        let _ = writeln!(s, "| {id} | {} | {} |", share(true), share(false));
    }
}

/// Each process's CPU a run, measured by the kernel and predicted, for the plans with
/// workers: where a parallel plan's time goes wrong, this says which process's work does.
fn process_cpu(s: &mut String, rep: &super::Report) {
    let pts: Vec<&super::Point> = rep
        .points
        .iter()
        .filter(|p| p.worker_cpu_ms_measured.is_some() && p.worker_cpu_ms_predicted.is_some())
        .collect();
    if pts.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Each process's CPU (plans with workers)\n");
    let _ = writeln!(
        s,
        "ms a run, as the kernel accounts them, rescaled to the profile's speed as the times are: a worker's, the CPU the postmaster reaped from its children over the runs (EXPLAIN and bare), over the workers launched (fork to exit: start-up, scan, sends, exit); the leader's, its backend's during each EXPLAIN run (median; it includes planning and EXPLAIN's own work); the model's processes on a core (its leader's fixed set-up, executor start and DSM, is a wait off a core and planning is not modelled: a leader that does not participate shows about 1 ms measured against next to nothing). Serial plans: the leader alone, not listed.\n"
    );
    let _ = writeln!(
        s,
        "| case | W | leader | worker measured | predicted | error | leader measured | predicted | error |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let err = |m: Option<f64>, p: Option<f64>| match (m, p) {
        (Some(m), Some(p)) if m > 0.0 => format!("{:+.1}%", 100.0 * (p - m) / m),
        _ => "–".into(),
    };
    let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    let mut errs = vec![];
    for p in &pts {
        if let (Some(m), Some(pr)) = (p.worker_cpu_ms_measured, p.worker_cpu_ms_predicted) {
            if m > 0.0 {
                errs.push(100.0 * (pr - m) / m);
            }
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.case,
            p.workers,
            if p.leader { "on" } else { "off" },
            ms(p.worker_cpu_ms_measured),
            ms(p.worker_cpu_ms_predicted),
            err(p.worker_cpu_ms_measured, p.worker_cpu_ms_predicted),
            ms(p.leader_cpu_ms_measured),
            ms(p.leader_cpu_ms_predicted),
            err(p.leader_cpu_ms_measured, p.leader_cpu_ms_predicted),
        );
    }
    let _ = writeln!(
        s,
        "\nA worker's CPU: median error {:+.1}%, median |error| {:.1}% over {} points.",
        median(&errs),
        median(&errs.iter().map(|e| e.abs()).collect::<Vec<_>>()),
        errs.len()
    );
}

/// How the rows of each Gather's parallel scan split between the leader and the workers,
/// measured (EXPLAIN VERBOSE's `Worker N` entries) and predicted: leader participation on.
fn leader_shares(s: &mut String, rep: &super::Report) {
    let pts: Vec<&super::Point> = rep
        .points
        .iter()
        .filter(|p| p.leader_row_share_measured.is_some() && p.leader_row_share_predicted.is_some())
        .collect();
    if pts.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Rows per participant (leader participation on)\n");
    let _ = writeln!(
        s,
        "The leader's share of the rows its Gather's parallel scan produced (measured: the scan's rows less its `Worker N` entries, EXPLAIN VERBOSE, median of the runs), and the error of the rows per worker that follows from it.\n"
    );
    let _ = writeln!(s, "| case | W | launched | leader share measured | predicted | rows per worker error |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let mut errs = vec![];
    for p in &pts {
        let (m, pr) = (p.leader_row_share_measured.unwrap_or(0.0), p.leader_row_share_predicted.unwrap_or(0.0));
        // Workers share (1 - share) of the rows equally: the error of one worker's rows.
        let err = if m < 1.0 { 100.0 * (m - pr) / (1.0 - m) } else { f64::NAN };
        if err.is_finite() {
            errs.push((p.case.clone(), err.abs()));
        }
        let launched = p.workers_launched_min.map_or("–".to_string(), |l| l.to_string());
        let _ = writeln!(s, "| {} | {} | {launched} | {m:.3} | {pr:.3} | {err:+.1}% |", p.case, p.workers);
    }
    let all: Vec<f64> = errs.iter().map(|e| e.1).collect();
    let gb: Vec<f64> = errs.iter().filter(|e| e.0 == "gather_bound").map(|e| e.1).collect();
    let _ = writeln!(
        s,
        "\nRows per worker: median |error| {:.1}% over {} points; the leader-bound Gather (`gather_bound`): {}.",
        median(&all),
        all.len(),
        if gb.is_empty() {
            "no points".to_string()
        } else {
            format!("median {:.1}%, max {:.1}%", median(&gb), gb.iter().cloned().fold(0.0, f64::max))
        }
    );
}

fn points_table(s: &mut String, rep: &super::Report) {
    let _ = writeln!(s, "\n## All points\n");
    let _ = writeln!(
        s,
        "| case | W | leader | launched | measured ms (CV) | raw ms (CV) | predicted ms | error | raw error | client ms (CV) | predicted client ms | client error | speedup meas. | speedup pred. | speedup error | plan | flags |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for p in &rep.points {
        let mut flags = vec![];
        if p.noisy {
            flags.push("noisy".to_string());
        }
        if !p.note.is_empty() {
            flags.push(p.note.replace('|', "/"));
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} ({:.0}%) | {:.1} ({:.0}%) | {} | {} | {} | {:.1} ({:.0}%) | {} | {} | {} | {} | {} | {} | {} |",
            p.case,
            p.workers,
            if p.leader { "on" } else { "off" },
            p.workers_launched_min.map(|v| v.to_string()).unwrap_or_else(|| "–".into()),
            p.measured_ms,
            100.0 * p.measured_cv,
            p.measured_raw_ms,
            100.0 * p.measured_raw_cv,
            f1(p.predicted_ms),
            p.error_pct.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into()),
            p.raw_error_pct.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into()),
            p.client_ms,
            100.0 * p.client_cv,
            f1(p.predicted_client_ms),
            p.client_error_pct.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into()),
            f2(p.speedup_measured),
            f2(p.speedup_predicted),
            p.speedup_error_pct.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into()),
            p.plan,
            flags.join("; ")
        );
    }
}
