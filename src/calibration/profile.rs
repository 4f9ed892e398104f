//! The profile's TOML text: every number with the probe and fit that produced it; the
//! `[calibration]` section describing the measurement is [`super::provenance`]'s.

use super::fit::CPU_COSTS;
use super::model_error::{self, sigma_of, ModelError};
use super::stages::Fits;
use super::{Measurement, ProbeResult, ServerFacts};
use crate::model::SchedulerKind;
use crate::pg::probes::Sizes;
use std::fmt::Write as _;

/// The measurement's circumstances.
pub struct Info {
    pub date: String,
    pub facts: ServerFacts,
    pub scale: u64,
    pub sizes: Sizes,
    pub reps: usize,
    pub total_runs: usize,
    pub duration_s: f64,
    pub quiet: bool,
    pub measurement: Measurement,
}

pub(super) fn r3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// A number with about 4 significant digits, as TOML.
pub(super) fn num(x: f64) -> String {
    crate::import::tnum(if x.abs() >= 100.0 {
        x.round()
    } else if x.abs() >= 1.0 {
        (x * 100.0).round() / 100.0
    } else {
        (x * 10000.0).round() / 10000.0
    })
}

/// `[variability]`: how much one run varies around the typical time the profile states.
/// [scheduler]: the values the simulator-in-the-loop fits ran with (not measured here), so
/// the profile predicts with the model it was fitted under.
fn scheduler(s: &mut String, fits: &Fits) {
    let k = &fits.hw.scheduler;
    let kind = match k.kind {
        SchedulerKind::Eevdf => "eevdf",
        SchedulerKind::Cfs => "cfs",
        SchedulerKind::Fluid => "fluid",
    };
    let _ = writeln!(s, "\n[scheduler]               # how Linux shares cores (not measured by calibrate: the values its fits ran with)");
    let _ = writeln!(s, "kind = \"{kind}\"            # Linux >= 6.6 (EEVDF); \"cfs\" for older kernels; \"fluid\" = ideal sharing + costs.wakeup_ns");
    let _ = writeln!(
        s,
        "base_slice_us = {}      # sysctl_sched_base_slice = 0.70 ms x (1 + ilog2(min(CPUs, 8)))",
        num(k.base_slice_ns / 1e3)
    );
    let _ =
        writeln!(s, "latency_us = {}        # CFS only: sched_latency 6 ms x the same factor", num(k.latency_ns / 1e3));
    let hz = if k.tick_ns > 0.0 { 1e9 / k.tick_ns } else { 0.0 };
    let _ = writeln!(
        s,
        "tick_hz = {}             # CONFIG_HZ; without HRTICK a used-up slice is seen at the next tick",
        num(hz)
    );
    let _ = writeln!(s, "wakeup_latency_us = {}    # SetLatch -> epoll return onto an idle CPU (perf bench sched pipe on this machine kind)", num(k.wakeup_latency_ns / 1e3));
    let _ = writeln!(
        s,
        "context_switch_us = {}     # one switch on a busy CPU (perf bench sched pipe, one CPU)",
        num(k.context_switch_ns / 1e3)
    );
    let _ = writeln!(
        s,
        "set_latch_us = {}         # CPU a worker spends signalling its leader asleep on its queues (SetLatch -> kill(SIGURG); perf record on a 2-vCPU VM, not measured here)",
        num(k.set_latch_ns / 1e3)
    );
    if let Some(w) = &fits.wake {
        let _ = writeln!(
            s,
            "wake_cpu_us = {}          # measured: CPU per wake-up from a latch wait, {} (sleeps: voluntary context switches)",
            num(w.ns / 1e3),
            w.evidence()
        );
    }
    let _ = writeln!(
        s,
        "rotate_us = {}       # an imbalance of one runnable process between CPUs lasts this long before the balancer moves one (4 x 16 x CPUs ms; examples/balancer measures it)",
        num(k.rotate_ns / 1e3)
    );
    let _ = writeln!(
        s,
        "idle_pull = \"{}\"   # a CPU gone idle takes a process waiting on another at the busy CPU's next tick (Linux skips the newly-idle balance; scripts/measure-idle-pull.sh measures it) or at once",
        if k.idle_pull_at_tick { "next_tick" } else { "at_once" }
    );
}

fn variability(s: &mut String, fits: &Fits, info: &Info) {
    let m = &info.measurement;
    let _ = writeln!(s, "\n[variability]");
    let _ = writeln!(
        s,
        "{:<32}# 1.4826 x MAD of ln(run / probe median) over every raw run of every probe",
        format!("run_sigma = {}", num(m.run_sigma))
    );
    if let Some(q) = &m.run_quantiles {
        let _ = writeln!(
            s,
            "{} # one run over its probe's median, every raw run of every probe, at the 5, 10, 25, 50, 75, 90 and 95th percentiles: the one-run interval's machine part",
            format!("run_quantiles = [{}]", q.0.map(|x| format!("{x:.3}")).join(", "))
        );
    }
    for (key, q, which) in [
        ("run_quantiles_serial", &m.run_quantiles_serial, "serial probe"),
        ("run_quantiles_parallel", &m.run_quantiles_parallel, "probe that launched workers"),
    ] {
        if let Some(q) = q {
            let _ = writeln!(
                s,
                "{key} = [{}] # the same over every raw run of every {which} only: a serial plan's interval takes the first, a plan with workers the second (the host moves a lone busy core and two busy ones differently)",
                q.0.map(|x| format!("{x:.3}")).join(", ")
            );
        }
    }
    s.push_str(&model_sigma_line(&fits.model_error));
    match (m.speed_state(), m.speed) {
        (Some((hold_ms, sigma)), Some(p)) => {
            let _ = writeln!(
                s,
                "{:<32}# the speed reference's lasting state: mean hold from its readings' lag-1 and lag-2 correlations within rounds ({:.3}, {:.3}; readings {:.0} ms apart)",
                format!("speed_hold_ms = {}", num(hold_ms)),
                p.rho1,
                p.rho2,
                p.gap * 1e3
            );
            let _ = writeln!(
                s,
                "{:<32}# sd of ln(reference) that lasts: {:.3} of the readings' variance {:.5} within rounds, {:.5} between rounds: the workload mode's machine moves by this",
                format!("speed_state_sigma = {}", num(sigma)),
                p.share,
                p.variance,
                p.between
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "# speed_hold_ms: the speed reference showed no lasting state: a steady machine in the workload mode"
            );
        }
    }
    let _ = writeln!(
        s,
        "source = {}",
        toml::Value::String(format!(
            "pqsim calibrate: {} runs in {} interleaved rounds; the profile's costs are at the median machine speed (speed reference {:.2} ms)",
            info.total_runs,
            info.reps,
            m.anchor
        ))
    );
}

/// `[variability] model_sigma` with how it was computed (or a comment saying why it is not
/// there), one line.
pub fn model_sigma_line(me: &ModelError) -> String {
    let parts = format!(
        "{} serial probes each predicted by the stage-1 fit redone without its family ({} probes that alone exercise a price not counted; sigma {} alone), the start-up ({}) and tuple-queue ({}) probes' residuals of the simulator fits x {} and x {} (1 / (1 - fitted values / fit targets))",
        me.serial.len(),
        me.serial_sole,
        num(sigma_of(&me.serial)),
        me.startup.len(),
        me.queue.len(),
        num(me.startup_factor),
        num(me.queue_factor)
    );
    match me.sigma {
        Some(sigma) => format!(
            "{:<32}# the model's own error out of sample: 80th percentile of |ln(measured / predicted)| / 1.2816 over {}; rms of the same errors {}\n",
            format!("model_sigma = {}", num(sigma)),
            parts,
            num(model_error::rms(&me.all()))
        ),
        None => format!(
            "# model_sigma not estimated: {} errors ({parts}), fewer than {}; pqsim assumes {}\n",
            me.all().len(),
            model_error::MIN_ERRORS,
            crate::model::DEFAULT_MODEL_SIGMA
        ),
    }
}

/// A fitted key's standard error, or why it has none.
fn se_note(fits: &Fits, name: &str) -> String {
    let fit = &fits.serial.fit;
    let Some(j) = fits.serial.keys.iter().position(|n| *n == name) else {
        return "NOT SEPARATED: no probe exercises it in the model; provisional value".to_string();
    };
    if let Some(w) = fits.serial.weak.iter().find(|w| w.name == name) {
        return format!(
            "WEAK: {} ± {} from the probes alone (s.e. above the value); fitted leaning on the prior {} (± 100%)",
            num(w.alone),
            num(w.alone_se),
            num(w.prior)
        );
    }
    if fit.at_bound[j] {
        "held at 0 by the non-negativity constraint".to_string()
    } else if fit.std_err[j].is_finite() {
        format!("± {} (1 s.e.)", num(fit.std_err[j]))
    } else {
        String::new()
    }
}

/// The schema-aware prices and `instrument_ns`, in `[costs]`.
fn class_costs(s: &mut String, fits: &Fits, l1: &str) {
    let c = &fits.hw.costs;
    let se = |name: &str| se_note(fits, name);
    let line = |s: &mut String, key: &str, v: f64, why: String| {
        let _ = writeln!(s, "{:<32}# {}", format!("{key} = {}", num(v)), why);
    };
    for key in CPU_COSTS {
        let v = c.cpu.get(key).unwrap_or(0.0);
        let why = if fits.serial.weak.iter().any(|w| w.name == *key) {
            se(key)
        } else if fits.serial.keys.contains(key) {
            format!("{l1}, typed probes (typed_*: numerics, dates, char, varchar) ({})", se(key))
        } else {
            "NOT SEPARATED by the probes: derived from qual_ns / agg_transition_ns by the model's fixed ratios"
                .to_string()
        };
        line(s, key, v, why);
    }
    let pairs: Vec<String> = fits.timing.pairs.iter().map(|p| format!("{} {:.1}", p.0, p.2)).collect();
    line(
        s,
        "instrument_ns",
        c.instrument_ns,
        if pairs.is_empty() {
            "not fitted (no TIMING on/off pair imported): provisional".into()
        } else {
            format!(
                "TIMING on minus off of the same serial probes / the model's clock reads: median of [{}]",
                pairs.join(", ")
            )
        },
    );
    line(
        s,
        "instrument_call_ns",
        c.instrument_call_ns,
        match &fits.wrapper {
            Some(w) => format!(
                "wrap_explain - wrap_client ({:.3} - {:.3} ms, medians) over the plan's {:.0} node calls: EXPLAIN ANALYZE's wrapper around each (TIMING on or off; a bare query has none)",
                w.explain_ms, w.client_ms, w.calls
            ),
            None => "not measured (no wrapper probes): provisional".into(),
        },
    );
    line(
        s,
        "query_explain_us",
        c.query_explain_ns / 1e3,
        format!("{l1}: the intercept of the EXPLAIN-timed probes (executor start and end, per query)"),
    );
    line(
        s,
        "query_client_us",
        c.query_client_ns / 1e3,
        format!("{l1}: the intercept of the client-timed probes, pinned by clientcount_* against count_* (parse, plan, executor start and end, the round trip)"),
    );
    line(
        s,
        "plan_join_us",
        c.plan_join_ns / 1e3,
        "planning per join or SubPlan, in client times: the median Planning Time of the serial hash-join probes (hjs_*, hjl_*) less that of the one-table probes".to_string(),
    );
}

/// The profile written by `pqsim calibrate`.
pub fn render(fits: &Fits, info: &Info, results: &[ProbeResult]) -> String {
    let mut s = String::new();
    header(&mut s, fits, info, results);
    costs(&mut s, fits);
    parallel(&mut s, fits);
    scheduler(&mut s, fits);
    variability(&mut s, fits, info);
    settings(&mut s, info);
    super::provenance::calibration(&mut s, fits, info, results);
    super::provenance::probes(&mut s, fits, results);
    s
}

/// `[settings]`: the calibrated server's shared_buffers, which decides which tables the model
/// reads through the bulk-read ring.
fn settings(s: &mut String, info: &Info) {
    let _ = writeln!(s, "\n[settings]                # the calibrated server's");
    let _ = writeln!(
        s,
        "shared_buffers = \"{}kB\" # a sequential scan of a table over a quarter of it reads through the bulk-read ring",
        info.facts.shared_buffers_pages.max(16) * 8
    );
}

/// Comments, name, cores and the [disk] section.
fn header(s: &mut String, fits: &Fits, info: &Info, results: &[ProbeResult]) {
    let hw = &fits.hw;
    let _ = writeln!(
        s,
        "# Hardware profile written by `pqsim calibrate` ({}) against PostgreSQL {}.",
        info.date, info.facts.version
    );
    let _ =
        writeln!(s, "# Every number says which probe and fit produced it; see [calibration] and docs/validation.md.");
    let _ =
        writeln!(s, "# Not measured (kept from the provisional profile): [disk] (cache = \"warm\": no disk reads),");
    let _ = writeln!(s, "# wakeup_ns, cpu_noise_cv and tuple_queue_size (a PostgreSQL constant).");
    let _ = writeln!(s, "name = {}", toml::Value::String(hw.name.clone()));
    let _ = writeln!(
        s,
        "description = {}",
        toml::Value::String(format!(
            "calibrated on this machine ({} cores), PostgreSQL {}, data in the OS page cache",
            info.facts.cores, info.facts.version
        ))
    );
    let _ = writeln!(
        s,
        "source = {}",
        toml::Value::String(format!("pqsim calibrate --scale {} ({})", info.scale, info.date))
    );
    let _ = writeln!(
        s,
        "cores = {:<20} # available_parallelism() of this machine (the server is local)",
        num(info.facts.cores)
    );
    let _ = writeln!(s, "cpu_speed = 1.0           # this machine defines speed 1.0 for its own profile");
    let _ = writeln!(
        s,
        "all_cores_busy_speed = {:<7} # each busy core's speed relative to one busy alone: two concurrent serial scans ran {:.2}x as fast as one ([calibration] parallel_capacity / 2)",
        num(super::busy_core_speed(info.measurement.capacity, info.facts.cores)),
        info.measurement.capacity
    );
    let _ = writeln!(s, "cache = \"warm\"            # in memory: tables up to shared_buffers/4 in shared buffers; a sequential scan of a larger one reads through a 32-buffer ring, from the OS cache");
    let _ = writeln!(
        s,
        "cpu_noise_cv = {:<13} # not fitted (per-chunk noise); whole-query run-to-run CV: median {:.3} after speed rescaling, {:.3} raw",
        num(hw.cpu_noise_cv),
        super::provenance::run_cv_median(results),
        info.measurement.raw_cv_median
    );
    let _ = writeln!(s, "\n[disk]                    # not measured: cache = \"warm\" never reads the disk (values of the provisional profile)");
    let _ = writeln!(s, "seq_read_mb_per_s = {}", num(hw.disk.seq_bytes_per_ns * 1e9 / 1024.0 / 1024.0));
    let _ = writeln!(s, "request_latency_us = {}", num(hw.disk.request_latency_ns / 1e3));
    let _ = writeln!(s, "read_ahead = \"{}kB\"", (hw.disk.read_ahead_bytes / 1024.0).round());
    let _ = writeln!(s, "queue_depth = {}", num(hw.disk.queue_depth));
}
/// [costs] with each key's provenance.
fn costs(s: &mut String, fits: &Fits) {
    let hw = &fits.hw;
    let c = &hw.costs;
    let serial = &fits.serial.idx;
    let q_fit = &fits.queue.fit;
    let se = |name: &str| se_note(fits, name);
    let serial_n = serial.len();
    let l1 = format!("stage-1 NNLS over {serial_n} serial probes");
    let _ = writeln!(s, "\n[costs]                   # ns of CPU per operation at cpu_speed 1.0");
    let line = |s: &mut String, key: &str, v: f64, why: String| {
        let _ = writeln!(s, "{:<32}# {}", format!("{key} = {}", num(v)), why);
    };
    line(
        s,
        "page_ns",
        c.page_ns,
        format!("{l1}: per page of every scan; separated from os_read by the in-buffers table ({})", se("page_ns")),
    );
    line(
        s,
        "os_read_page_ns",
        c.os_read_page_ns,
        format!("{l1}: per block read from the OS (BUFFERS Shared Read) ({})", se("os_read_page_ns")),
    );
    line(
        s,
        "page_data_ns",
        c.page_data_ns,
        format!(
            "{l1}: per page whose rows' columns a scan reads: count_* (none read) vs agg4_*/qual4_*, narrow (97 rows a page) vs wide rows (18) ({})",
            se("page_data_ns")
        ),
    );
    line(
        s,
        "row_data_ns",
        c.row_data_ns,
        format!(
            "{l1}: per row whose columns a scan reads: the same contrasts at 18, 97 and 226 rows a page (count_sr/agg_sr on the speed reference's table) ({})",
            se("row_data_ns")
        ),
    );
    line(
        s,
        "row_miss_ns",
        c.row_miss_ns,
        format!(
            "{l1}: per row of variable length read by a scan, at irregular offsets more than 224 bytes apart (fewer from 64 bytes): scat_m/scat_w (rows about 220 and 375 bytes apart) and typed vs the narrow and wide tables of constant length ({})",
            se("row_miss_ns")
        ),
    );
    let what = "per page of a scan's hits out of block order in shared buffers";
    match &fits.jumps {
        Some(j) => {
            line(
                s,
                "buffer_jump_ns",
                c.buffer_jump_ns,
                format!(
                    "{what}: count_hx - count_h ({:.3} - {:.3} ms, medians; a table prewarmed in a random block order and its twin in order) over the model's {:.0} jumps",
                    j.medians[1], j.medians[0], j.jumps
                ),
            );
            line(
                s,
                "buffer_jump_data_ns",
                c.buffer_jump_data_ns,
                format!(
                    "the same when the scan reads its rows: agg4_hx - agg4_h ({:.3} - {:.3} ms) over the jumps, less buffer_jump_ns",
                    j.medians[3], j.medians[2]
                ),
            );
        }
        None => {
            line(
                s,
                "buffer_jump_ns",
                c.buffer_jump_ns,
                format!(
                    "{l1}: {what}: count_hx (a table prewarmed in a random block order) vs count_h, its twin in order ({})",
                    se("buffer_jump_ns")
                ),
            );
            line(
                s,
                "buffer_jump_data_ns",
                c.buffer_jump_data_ns,
                format!(
                    "{l1}: the same when the scan reads its rows: agg4_hx vs agg4_h ({})",
                    se("buffer_jump_data_ns")
                ),
            );
        }
    }
    let fresh = "a fresh backend's first count(*) of n_m minus the median of the three after it, per page (its first touch of each shared-buffer page; n_m's catalog entries warmed by a plain EXPLAIN first), median over new connections, each rescaled to the typical speed by the speed reference run beside it";
    line(
        s,
        "worker_page_fault_ns",
        c.worker_page_fault_ns,
        match &fits.worker_scan {
            Some(w) => format!(
                "{fresh}; the model with it against the worker-scan probes (ws_w1_on/ws_w2_on/ws_w2_off, count(*) of n_l beside the leader and without it; a check, nothing fitted): rms {:.1}%",
                100.0 * w.fit.rms
            ),
            None => fresh.to_string(),
        },
    );
    line(
        s,
        "gather_row_ns",
        c.gather_row_ns,
        "gr_noworkers - gr_serial - leader_setup, per row of n_m: every row returned by a Parallel Seq Scan under a Gather that got no worker vs a serial Seq Scan (ExecGather's call for a row of the leader's own plan)".to_string(),
    );
    line(
        s,
        "tuple_ns",
        c.tuple_ns,
        format!("{l1}: count_*/sum_*/agg2_*/agg4_* at 3 sizes (sum_* against agg2_*: the count(*) transition apart from the scan), narrow vs wide rows ({})", se("tuple_ns")),
    );
    line(
        s,
        "qual_ns",
        c.qual_ns,
        format!("{l1}: qual4_*/qual8_* (4 and 8 int comparisons) vs count_* ({})", se("qual_ns")),
    );
    line(
        s,
        "agg_transition_ns",
        c.agg_transition_ns,
        format!("{l1}: count_*, agg2_*, agg4_* (1, 2, 4 aggregates per row) ({})", se("agg_transition_ns")),
    );
    line(
        s,
        "hash_build_ns",
        c.hash_build_ns,
        format!("{l1}: subplan_* (hashed SubPlan builds of the narrow tables and of the ring table), hjs_* vs hjl_* (50k vs 200k-row hash join builds) ({})", se("hash_build_ns")),
    );
    line(
        s,
        "hash_probe_ns",
        c.hash_probe_ns,
        format!("{l1}: hjm_* (1,000 ids, one lookup in 1,000 finds a row) and hjs_*/hjl_* at 3 outer sizes, a lookup that finds nothing ({})", se("hash_probe_ns")),
    );
    line(
        s,
        "hash_match_ns",
        c.hash_match_ns,
        format!(
            "{l1}: hjs_*/hjl_* (every lookup finds its row) vs hjm_* (one in 1,000 does), per row found ({})",
            se("hash_match_ns")
        ),
    );
    line(
        s,
        "hash_miss_ns",
        c.hash_miss_ns,
        format!("{l1}: subplan_rl/hjs_*/hjl_* (lookups into hash tables of 2-200 MB): per lookup's access, per doubling of the table past hash_cache, up to hash_far ({})", se("hash_miss_ns")),
    );
    line(
        s,
        "hash_insert_miss_ns",
        c.hash_insert_miss_ns,
        format!("{l1}: subplan_s/m/l/r/x (hashed SubPlan builds of 57k-3M keys, 1,000 lookups each): the same per insert, a write ({})", se("hash_insert_miss_ns")),
    );
    let _ = writeln!(
        s,
        "{:<32}# this machine's per-core L2 (sysfs): hash tables past it cost hash_miss_ns more per access and doubling",
        format!("hash_cache = \"{}kB\"", (c.hash_cache_bytes / 1024.0).round())
    );
    let _ = writeln!(
        s,
        "{:<32}# where an access stops getting dearer: of 2-6 doublings past hash_cache, the one that fits subplan_* (builds of up to 3M keys) best",
        format!("hash_far = \"{}kB\"", (c.hash_far_bytes / 1024.0).round())
    );
    line(
        s,
        "sort_tuple_ns",
        c.sort_tuple_ns,
        format!("{l1}: sort_* (full) vs topn_* (top-100) at 3 sizes ({})", se("sort_tuple_ns")),
    );
    line(
        s,
        "sort_compare_ns",
        c.sort_compare_ns,
        format!("{l1}: sort_*/topn_*, comparisons as the model counts them ({})", se("sort_compare_ns")),
    );
    line(
        s,
        "index_tuple_ns",
        c.index_tuple_ns,
        format!("{l1}: index_m (full index scan, heap in index order) ({})", se("index_tuple_ns")),
    );
    line(
        s,
        "index_descent_ns",
        c.index_descent_ns,
        format!("{l1}: nestloop_m (200k index lookups) ({})", se("index_descent_ns")),
    );
    let send_why = match fits.queue.send {
        Some(f) => format!(
            "a single-copy Gather's worker's CPU (the kernel's account over alternating batches spread over the timed rounds: the typical speed) sending every row of n_m (gq_single) against counting them (ws_single): {:.2} ms more, the model's {:.2} ms with sending free; held in the stage-3 fit",
            f.measured_ms, f.model_unsent_ms
        ),
        None => format!("stage-3 simulator fit to gq_* (every row through the Gather: single-copy, 1-2 workers, leader on/off; times and the leader's row shares): rms {:.1}%, flat over {:.0}..{:.0}", 100.0 * q_fit.rms, q_fit.ranges[0].0, q_fit.ranges[0].1),
    };
    line(s, "tuple_send_ns", c.tuple_send_ns, send_why);
    line(
        s,
        "tuple_receive_ns",
        c.tuple_receive_ns,
        format!("stage-3 simulator fit, same probes: flat over {:.0}..{:.0}", q_fit.ranges[1].0, q_fit.ranges[1].1),
    );
    line(
        s,
        "gather_merge_tuple_ns",
        c.gather_merge_tuple_ns,
        format!(
            "stage-3 simulator fit to gm_* (Gather Merge over sorts): flat over {:.0}..{:.0}",
            q_fit.ranges[2].0, q_fit.ranges[2].1
        ),
    );
    line(
        s,
        "gather_poll_ns",
        c.gather_poll_ns,
        format!(
            "stage-3 simulator fit, per worker queue polled before each of the leader's own rows: gq_w1_on vs gq_w2_on leader CPU and shares; flat over {:.0}..{:.0}",
            q_fit.ranges[3].0, q_fit.ranges[3].1
        ),
    );
    let pairs = [
        (
            "parallel_hash_insert_ns",
            c.parallel_hash_insert_ns,
            fits.parallel_hash.as_ref(),
            "ph_shared / ph_private (one hash join with one worker, a Parallel Hash vs private hash tables",
            "per row a shared table inserts beyond a private insert",
            "not measured (the Parallel Hash probes were not planned as such): a shared insert priced as a private one",
        ),
        (
            "parallel_hash_probe_ns",
            c.parallel_hash_probe_ns,
            fits.parallel_hash_lookup.as_ref(),
            "phl_shared / phl_private (every row of n_l looked up in tiny's 1,000 ids with one worker, a Parallel Hash vs private tables",
            "per lookup into a shared table beyond a private one",
            "not measured (the lookup probes were not planned as a Parallel Hash and private tables): a shared lookup priced as a private one",
        ),
    ];
    for (key, value, fit, probes, price, none) in pairs {
        line(s, key, value, pair_why(fit, probes, price, none));
    }
    line(
        s,
        "client_row_ns",
        c.client_row_ns,
        format!("{l1}: client_* (rows sent to a local client, timed by the client) ({})", se("client_row_ns")),
    );
    line(
        s,
        "temp_page_ns",
        c.temp_page_ns,
        format!("{l1}: spill_m (external merge at work_mem 4MB) vs sort_m ({})", se("temp_page_ns")),
    );
    line(s, "wakeup_ns", c.wakeup_ns, "not measured: provisional (SetLatch -> SIGURG -> epoll wake-up)".into());
    class_costs(s, fits, &l1);
}
/// [parallel].
fn parallel(s: &mut String, fits: &Fits) {
    let hw = &fits.hw;
    let p = &hw.parallel;
    let su_fit = &fits.startup.fit;
    let leader_setup_ms = fits.startup.leader_setup_ms;
    let shutdown_ms = fits.startup.shutdown_ms;
    let e_serial = fits.startup.e_serial;
    let line = |s: &mut String, key: &str, v: f64, why: String| {
        let _ = writeln!(s, "{:<32}# {}", format!("{key} = {}", num(v)), why);
    };
    let _ = writeln!(s, "\n[parallel]");
    line(
        s,
        "leader_setup_us",
        p.leader_setup_ns / 1e3,
        format!("su_noworkers - su_serial: parallel plan with max_parallel_workers = 0 vs serial ({:.3} ms)", e_serial),
    );
    let launch_why = match fits.startup.worker_cpu {
        Some(w) => format!(
            "the postmaster's CPU per worker it forked (/proc schedstat around {} su_w2 workers, median of 5 batches); CPU work in the model",
            w.workers
        ),
        None => format!(
            "stage-2 simulator fit to su_w1..4 and su_single minus su_serial: rms {:.1}%, flat over {:.0}..{:.0}; CPU work in the model",
            100.0 * su_fit.rms,
            su_fit.ranges[0].0,
            su_fit.ranges[0].1
        ),
    };
    line(s, "launch_per_worker_us", p.launch_per_worker_ns / 1e3, launch_why);
    line(
        s,
        "worker_startup_ms",
        p.worker_startup_ns / 1e6,
        format!(
            "stage-2 simulator fit to su_w1..4 and su_single minus su_serial: rms {:.1}%, flat over {:.2}..{:.2} (median of the log-normal; worker_cpu_share of it on a core){}",
            100.0 * su_fit.rms,
            su_fit.ranges[1].0,
            su_fit.ranges[1].1,
            fits.startup.worker_cpu.map_or(String::new(), |w| format!(
                "; a worker's measured CPU from fork to exit {:.2} ms against this + shutdown_per_worker {:.2} ms",
                w.life_ms,
                p.worker_startup_ns / 1e6 + shutdown_ms
            ))
        ),
    );
    line(
        s,
        "worker_startup_sigma",
        p.worker_startup_sigma,
        "1.4826 x MAD of ln(single-copy Gather time to first tuple), su_single".into(),
    );
    line(s, "shutdown_per_worker_us", p.shutdown_per_worker_ns / 1e3, format!("su_single: Execution Time - Gather Actual Startup Time (median; the worker's exit, {:.3} ms; worker_cpu_share of it on a core)", shutdown_ms));
    line(
        s,
        "worker_cpu_share",
        p.worker_cpu_share,
        fits.startup.worker_cpu.map_or("not measured: start-up and exit all CPU work".to_string(), |w| {
            format!(
                "a worker's CPU from fork to exit (the kernel's account, {:.2} ms) over its start-up and exit as fitted ({:.2} ms): the rest keeps the query waiting off a core",
                w.life_ms,
                p.worker_startup_ns / 1e6 + shutdown_ms
            )
        }),
    );
    line(
        s,
        "shutdown_sigma",
        p.shutdown_sigma,
        "1.4826 x MAD of ln(the same tails), su_single: one worker's exit around the median".into(),
    );
    line(
        s,
        "shutdown_per_page_ns",
        p.shutdown_per_page_ns,
        match fits.startup.exit_tail {
            Some((tail, pages)) => format!(
                "su_single_l vs su_single: a single-copy worker's tail after its last row over n_l ({tail:.3} ms, median) less over tiny_sc ({shutdown_ms:.3} ms), per page it mapped more ({pages:.0}): its exit unmaps them"
            ),
            None => "not measured (no su_single_l probe): held at 0".to_string(),
        },
    );
    let _ = writeln!(s, "tuple_queue_size = \"64kB\"   # PARALLEL_TUPLE_QUEUE_SIZE, a PostgreSQL constant");
    let _ = leader_setup_ms;
}

/// The comment of a price fitted to a Parallel Hash / private tables pair: the probes (`probes`,
/// an open parenthesis the ratios close), the ratios measured and fitted, what the price is
/// and how flat the fit was; `none` when the pair was not planned as intended.
fn pair_why(fit: Option<&super::parallel_hash::ParallelHashFit>, probes: &str, price: &str, none: &str) -> String {
    let Some(f) = fit else { return none.into() };
    let ratios: Vec<String> = f
        .measured
        .iter()
        .zip(&f.fit.predicted)
        .map(|((what, m), p)| format!("{what} ratio {m:.3} measured, {p:.3} fitted"))
        .collect();
    format!(
        "simulator fit to {probes}; {}): {price}; flat over {:.0}..{:.0}",
        ratios.join(", "),
        f.fit.ranges[0].0,
        f.fit.ranges[0].1
    )
}
