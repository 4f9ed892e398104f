//! `pqsim validate`'s procedure: hold the model against a real PostgreSQL 15.
//!
//! Starts a throwaway server, loads the reference table `t`, a dimension table and the seed
//! query's two tables (reduced), then for every case of a grid (query × workers 0..4 × leader
//! participation on/off): captures `EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON)` (no ANALYZE),
//! imports it, predicts its time with the simulator on a calibrated profile (fitted on
//! `calibrate`'s own probe tables, never on these queries), and measures the real
//! `EXPLAIN (ANALYZE, TIMING OFF, VERBOSE)` Execution Time (median of interleaved runs; blocks read from an untimed BUFFERS pass). The caller
//! (commands/validate.rs) writes predicted vs measured, errors and speedup errors as CSV and
//! Markdown ([`markdown`]).

pub mod checks;
pub mod markdown;
pub mod nodes;
pub mod tpch;
pub mod workload;

use crate::analysis::robust::{median, quantile, robust_cv};
use crate::calibration::{model_ms, model_split_cpu, model_walls_as};
use crate::error::Result;
use crate::import::{import_plan, ImportOptions};
use crate::model::Hardware;
use crate::pg::buffers::BufferState;
use crate::pg::protocol::{self, apply_gucs, explain_measure, Job, Measured, Rounds};
use crate::pg::{probe, ExplainNode, LoadInfo, PgError, TableStats, ThrowawayServer};
use postgres::Client;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
pub use workload::{cases, Case, Rows, Scale, Workload};

pub struct Options {
    pub workload: Workload,
    pub scale: Scale,
    pub profile_path: PathBuf,
    pub output: PathBuf,
    pub reps: usize,
    pub wait_quiet: f64,
    /// The command line that produced the report (for the Markdown).
    pub command: String,
}

/// One grid point's outcome.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Point {
    pub case: String,
    pub workers: u32,
    pub leader: bool,
    pub plan: String,
    pub workers_planned: u32,
    pub workers_launched_min: Option<u32>,
    pub predicted_ms: Option<f64>,
    /// Median of the runs rescaled to the profile's machine speed (speed reference).
    pub measured_ms: f64,
    pub measured_cv: f64,
    /// Median of the raw Execution Times.
    pub measured_raw_ms: f64,
    pub measured_raw_cv: f64,
    pub runs: usize,
    /// (predicted − measured) / measured, against the speed-rescaled measurement.
    pub error_pct: Option<f64>,
    /// The same against the raw measurement.
    pub raw_error_pct: Option<f64>,
    /// The bare query timed by this client (rows sent to it), rescaled; and its prediction.
    pub client_ms: f64,
    pub client_cv: f64,
    pub predicted_client_ms: Option<f64>,
    pub client_error_pct: Option<f64>,
    pub speedup_measured: Option<f64>,
    pub speedup_predicted: Option<f64>,
    pub speedup_error_pct: Option<f64>,
    pub noisy: bool,
    pub note: String,
    /// The predicted 80% interval of one bare run (`run`'s `wall_time_ms_p80`: the model's
    /// spread over replications, the profile's `run_sigma` and its `model_sigma`), and how many of the measured bare runs fell inside it: rescaled to the
    /// profile's speed, and raw.
    pub client_p80_lo_ms: Option<f64>,
    pub client_p80_hi_ms: Option<f64>,
    pub client_runs_in_p80: usize,
    pub client_raw_runs_in_p80: usize,
    /// Of the raw runs outside the interval, how many were above it (slower).
    pub client_raw_runs_above_p80: usize,
    pub client_runs: usize,
    /// The leader's share of the rows of the Gather's parallel scan: measured (median of the
    /// runs' `Worker N` entries, EXPLAIN VERBOSE) and predicted; leader participation only.
    pub leader_row_share_measured: Option<f64>,
    pub leader_row_share_predicted: Option<f64>,
    /// Each process's CPU (ms a run), rescaled to the profile's speed as the times are. The
    /// leader's: its backend's CPU time during each
    /// EXPLAIN run (`/proc/PID/schedstat`, which includes planning and EXPLAIN's own work),
    /// the median over the runs; the model's leader on a core. A worker's: the CPU the
    /// postmaster reaped from its children over the runs with workers (EXPLAIN and bare
    /// runs, a client run counted with the EXPLAIN runs' median of workers launched), over
    /// the workers; the model's mean worker on a core. Measured only where the server runs
    /// on this machine.
    pub leader_cpu_ms_measured: Option<f64>,
    pub leader_cpu_ms_predicted: Option<f64>,
    pub worker_cpu_ms_measured: Option<f64>,
    pub worker_cpu_ms_predicted: Option<f64>,
    /// Median over the EXPLAIN runs of the share of the plan's blocks read (from the OS page
    /// cache) rather than found in shared buffers (BUFFERS: shared read / (hit + read)).
    pub blocks_read_share: Option<f64>,
}

pub struct Report {
    pub points: Vec<Point>,
    pub median_abs_error_pct: f64,
    pub p90_abs_error_pct: f64,
    pub median_abs_raw_error_pct: f64,
    pub p90_abs_raw_error_pct: f64,
    /// Against bare client times (what users feel).
    pub median_abs_client_error_pct: f64,
    pub p90_abs_client_error_pct: f64,
    pub median_abs_client_speedup_error_pct: f64,
    /// Share of the measured bare runs inside their point's predicted 80% interval (rescaled,
    /// raw); 0.8 when the interval is honest.
    pub client_p80_coverage: f64,
    pub client_p80_coverage_raw: f64,
    /// The share of raw bare runs above (slower than) their interval.
    pub client_p80_raw_above: f64,
    /// Speed reference the measurements were rescaled to, and where it came from.
    pub speed_reference_ms: f64,
    pub speed_reference_source: String,
    /// Reference times seen during the validation: 10th percentile, median, 90th percentile.
    pub speed_seen_ms: (f64, f64, f64),
    /// What two busy cores gave during the timed rounds (two speed-reference scans side by
    /// side over one alone, once a round; 10th percentile, median, 90th percentile), and the
    /// profile's `[calibration] parallel_capacity`: the parallel runs' machine next to the
    /// one the profile describes.
    pub capacity_seen: (f64, f64, f64),
    pub profile_capacity: Option<f64>,
    pub median_abs_speedup_error_pct: f64,
    pub p90_abs_speedup_error_pct: f64,
    /// Where the caller wrote the CSV and the Markdown (empty until it did).
    pub csv_path: PathBuf,
    pub md_path: PathBuf,
    pub loaded_rounds_kept: usize,
    pub rounds_discarded: usize,
    pub other_cpus_max: f64,
}

/// What a validation produced: the report, the imported scenarios (name, TOML) and the
/// circumstances for the Markdown.
pub struct Outcome {
    pub report: Report,
    pub scenarios: Vec<(String, String)>,
    pub hw: Hardware,
    pub version: String,
    pub rows: Rows,
    pub started_unix: f64,
    pub load_before: f64,
    pub load_after: f64,
    pub round_busy: Vec<f64>,
    pub secs: f64,
    /// Each table's share of pages in shared buffers after the warm-up and their order
    /// (pg_buffercache), as the predictions used them; empty when not counted.
    pub buffer_shares: Vec<(String, BufferState)>,
}

/// The profile's speed reference time (`[calibration] speed_reference_ms`), if it has one.
pub fn profile_speed_reference(text: &str) -> Option<f64> {
    profile_calibration_value(text, "speed_reference_ms")
}

/// A positive number of the profile's `[calibration]` section.
pub fn profile_calibration_value(text: &str, key: &str) -> Option<f64> {
    let t: toml::Table = toml::from_str(text).ok()?;
    let c = t.get("calibration")?.as_table()?;
    let v = c.get(key)?;
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).filter(|x| *x > 0.0)
}

/// The plan's shape in one line: `Finalize Aggregate > Gather[2] > ...`.
pub fn plan_shape(n: &ExplainNode) -> String {
    let mut parts = vec![];
    let mut cur = Some(n);
    while let Some(x) = cur {
        let mut name = x.display_name();
        if let Some(w) = x.workers_planned {
            name.push_str(&format!("[{w}]"));
        }
        parts.push(name);
        let main: Vec<&ExplainNode> =
            x.plans.iter().filter(|c| c.parent_relationship.as_deref() != Some("SubPlan")).collect();
        cur = match main.as_slice() {
            [one] => Some(one),
            [outer, inner] => {
                // Joins: show both sides compactly.
                parts.push(format!("({} ; {})", plan_shape(outer), plan_shape(inner)));
                None
            }
            _ => None,
        };
    }
    parts.join(" > ")
}

/// One grid point: a case under settings.
pub struct Grid {
    pub case: usize,
    pub workers: u32,
    pub leader: bool,
    pub gucs: Vec<(String, String)>,
}

fn grid(cases: &[Case]) -> Vec<Grid> {
    let mut grid = vec![];
    for (ci, c) in cases.iter().enumerate() {
        for (list, leader) in [(&c.workers_on, true), (&c.workers_off, false)] {
            for &w in list {
                let mut gucs = vec![
                    ("max_parallel_workers_per_gather".to_string(), w.to_string()),
                    ("parallel_setup_cost".to_string(), "0".to_string()),
                    ("parallel_tuple_cost".to_string(), "0".to_string()),
                    ("parallel_leader_participation".to_string(), if leader { "on" } else { "off" }.to_string()),
                ];
                gucs.extend(c.gucs.iter().cloned());
                grid.push(Grid { case: ci, workers: w, leader, gucs });
            }
        }
    }
    grid
}

/// A grid point's plan and prediction, made before any timing.
/// Points predicted under this (client time, ms) are measured three times a round.
pub const SHORT_POINT_MS: f64 = 50.0;

struct Prep {
    plan: String,
    planned: u32,
    predicted: Option<f64>,
    predicted_client: Option<f64>,
    client_p80: Option<[f64; 2]>,
    /// The leader's share of the rows its Gather's parallel scan produced, in the model.
    leader_share: Option<f64>,
    /// The model's leader on a core and one worker on a core (the mean over the workers), ms.
    leader_cpu: Option<f64>,
    worker_cpu: Option<f64>,
    note: String,
}

/// Plans, imports and predictions of every grid point; the imported scenarios' TOML.
fn prepare(
    client: &mut Client,
    o: &Options,
    hw: &Hardware,
    cases: &[Case],
    grid: &[Grid],
    stats: &BTreeMap<String, TableStats>,
) -> Result<(Vec<Prep>, Vec<(String, String)>)> {
    let mut preps = vec![];
    let mut scenarios = vec![];
    for g in grid {
        let c = &cases[g.case];
        apply_gucs(client, "public", &g.gucs)?;
        let plan = probe::explain_with(client, "VERBOSE, SETTINGS", c.sql)?;
        let planned = plan
            .root
            .find(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
            .and_then(|n| n.workers_planned)
            .unwrap_or(0);
        let opts = ImportOptions {
            name: format!("{}_w{}_{}", c.id, g.workers, if g.leader { "on" } else { "off" }),
            source: format!("pqsim validate: {}", c.sql),
            sql: c.sql.to_string(),
            table_stats: stats.clone(),
            client_output: false,
            costs_from_actuals: None,
            actuals_plan: None,
            clause_reach: crate::pg::clauses::clause_reach(client, &plan),
        };
        let (mut leader_share, mut leader_cpu, mut worker_cpu) = (None, None, None);
        let (predicted, predicted_client, client_p80, note) = match import_plan(&plan, &opts) {
            Ok(i) => {
                // Keep the imported scenarios: `pqsim run` can replay them on other profiles.
                scenarios.push((opts.name.clone(), i.toml));
                let client = crate::model::OutputMode::Client;
                let leader = g.leader && planned > 0;
                if let Ok(split) = model_split_cpu(&i.scenario, hw) {
                    leader_share = if leader { split.leader_share } else { None };
                    leader_cpu = Some(split.leader_cpu_ms);
                    worker_cpu = (planned > 0).then_some(split.worker_cpu_ms);
                }
                match (model_ms(&i.scenario, hw, 5), model_walls_as(&i.scenario, hw, 5, client)) {
                    (Ok(ms), Ok(walls)) => {
                        let mean = walls.iter().sum::<f64>() / walls.len() as f64;
                        // The machine's spread of the plan's shape, as `run` takes it.
                        let p80 = crate::predict::one_run_interval(
                            &walls,
                            mean,
                            hw.run_sigma,
                            hw.run_quantiles_for(planned > 0).as_ref(),
                            hw.model_sigma,
                        );
                        (Some(ms), Some(median(&walls)), Some(p80), String::new())
                    }
                    (Err(e), _) | (_, Err(e)) => (None, None, None, format!("model: {e}")),
                }
            }
            Err(e) => (None, None, None, format!("import: {e}")),
        };
        let shape = plan_shape(&plan.root);
        preps.push(Prep {
            plan: shape,
            planned,
            predicted,
            predicted_client,
            client_p80,
            leader_share,
            leader_cpu,
            worker_cpu,
            note,
        });
    }
    let _ = o;
    Ok((preps, scenarios))
}

/// Starts the server, loads the data and restarts it (empty shared buffers, warm OS cache).
fn load(o: &Options) -> Result<(ThrowawayServer, Client, String, Rows, BTreeMap<String, TableStats>)> {
    eprintln!("pqsim validate: starting a throwaway PostgreSQL 15 server");
    let server = ThrowawayServer::start()?;
    let mut client = server.client()?;
    let version = probe::show(&mut client, "server_version")?;
    let r = workload::rows(o.scale);
    let t_load = Instant::now();
    apply_gucs(&mut client, "public", &[])?;
    // Commits flushed before VACUUM, so that it marks every page all-visible (see
    // `catalog::not_all_visible`).
    client.batch_execute("SET synchronous_commit = on").map_err(|e| PgError::query("SET synchronous_commit", e))?;
    for sql in workload::load_sql(o.workload, &r) {
        client.batch_execute(&sql).map_err(|e| PgError::query(&sql, e))?;
    }
    crate::pg::catalog::warn_not_all_visible(&mut client, "public", "pqsim validate")?;
    let stats = crate::pg::catalog::catalog_stats(&mut client, "public")?;
    // Empty shared buffers (the OS page cache keeps the files): large tables are then read
    // through the 32-buffer ring from the OS cache, the profile's "warm" state.
    drop(client);
    server.restart()?;
    let client = server.client()?;
    eprintln!("pqsim validate: data loaded in {:.1} s (server restarted: warm cache)", t_load.elapsed().as_secs_f64());
    Ok((server, client, version, r, stats))
}

/// Runs the validation; writes nothing.
pub fn run(o: &Options) -> Result<Outcome> {
    let t0 = Instant::now();
    let profile = crate::config::hardware_source(&o.profile_path.to_string_lossy())?;
    let hw: Hardware = crate::config::load_hardware_str(&profile.label, &profile.text, &[])?;
    let started = protocol::now_unix();
    let (server, mut client, version, r, mut stats) = load(o)?;
    let cases = cases(o.workload);
    let grid = grid(&cases);
    // What the warm-up leaves in shared buffers is the state the points are timed in: each
    // table's share (pg_buffercache) goes into its scenarios. A large table read through the
    // bulk-read ring still becomes resident while shared buffers have room (each scan leaves
    // its ring's buffers behind), so the warm-up goes round the grid again (up to three
    // times) until no table's share grows by more than two points.
    // Each point's share of blocks read (BUFFERS) is taken from the last warm-up pass: the
    // timed runs go without BUFFERS, whose accounting costs every node call (about 13 ns a
    // row here, 15-20% of a count(*)) and which neither a bare query nor the model pays.
    crate::pg::buffers::ensure_extension(&mut client, "pg_buffercache", "public", "pqsim validate")?;
    let mut shares = crate::pg::buffers::buffer_states(&mut client, "public")?.unwrap_or_default();
    let mut blocks_read: Vec<Option<f64>> = vec![None; grid.len()];
    for pass in 1..=3 {
        eprintln!("pqsim validate: warming up {} grid points (pass {pass})", grid.len());
        for (i, g) in grid.iter().enumerate() {
            apply_gucs(&mut client, "public", &g.gucs)?;
            let (m, _) = explain_measure(&mut client, "ANALYZE, TIMING OFF, BUFFERS", cases[g.case].sql)?;
            blocks_read[i] = (m.hit + m.read > 0).then(|| m.read as f64 / (m.hit + m.read) as f64);
        }
        let now = crate::pg::buffers::buffer_states(&mut client, "public")?.unwrap_or_default();
        let grew = now.iter().any(|(t, v)| v.share > shares.get(t).map_or(0.0, |b| b.share) + 0.02);
        shares = now;
        if !grew {
            break;
        }
    }
    let mut buffer_shares = vec![];
    for (t, s) in shares {
        if let Some(st) = stats.get_mut(&t) {
            // Where the pages lie in shared memory moves a scan's speed as much as where
            // they come from (see `buffer_jump_ns`).
            st.in_shared_buffers = Some(s.share);
            st.buffers_in_order = s.in_order;
            st.buffer_windows = s.windows;
            buffer_shares.push((t, s));
        }
    }
    let (preps, scenarios) = prepare(&mut client, o, &hw, &cases, &grid, &stats)?;
    eprintln!("pqsim validate: {} grid points planned and predicted", grid.len());
    // Every point twice: EXPLAIN (ANALYZE, TIMING OFF), and the bare query timed by this client.
    // A short point runs three times a round, each run on its own place in the shuffled
    // round: two blocks of runs of a query under 100 ms differed by up to 40% on a quiet
    // machine of this kind, and identical plans (W = 2, 3, 4 when two workers are planned) by
    // 20% at 9 runs; its time is a median of three times as many runs.
    let jobs: Vec<Job> = grid
        .iter()
        .zip(&preps)
        .flat_map(|(g, p)| {
            let per_round = if p.predicted_client.is_some_and(|ms| ms < SHORT_POINT_MS) { 3 } else { 1 };
            // VERBOSE: the scan's `Worker N` entries give the leader's share of the rows.
            ["ANALYZE, TIMING OFF, VERBOSE", "client"].map(|options| Job {
                gucs: g.gucs.clone(),
                sql: cases[g.case].sql.to_string(),
                options,
                per_round,
            })
        })
        .collect();
    let mut cap = crate::pg::probes::CapacityProbe::connect(server.conninfo(), "public", protocol::SPEEDREF_SQL)?;
    let rounds = protocol::run_rounds(
        &mut client,
        "public",
        &jobs,
        o.reps,
        o.wait_quiet,
        4_151_922,
        "pqsim validate",
        &mut |c| cap.pair(c),
    )?;
    drop(cap);
    let load_end: LoadInfo = probe::load_snapshot()?;
    drop(client);
    server.stop()?;
    let report = report(&profile.text, &cases, &grid, &preps, &rounds, &blocks_read);
    Ok(Outcome {
        report,
        scenarios,
        hw,
        version,
        rows: r,
        started_unix: started,
        load_before: rounds.load_before.load1,
        load_after: load_end.load1,
        round_busy: rounds.round_busy.clone(),
        secs: t0.elapsed().as_secs_f64(),
        buffer_shares,
    })
}

/// Measured times rescaled to the profile's machine speed, and raw; errors and speedups.
fn report(
    profile_text: &str,
    cases: &[Case],
    grid: &[Grid],
    preps: &[Prep],
    rounds: &Rounds,
    blocks_read: &[Option<f64>],
) -> Report {
    let all_refs = &rounds.refs;
    let (anchor, anchor_source) = match profile_speed_reference(profile_text) {
        Some(a) => (a, format!("the profile's [calibration] speed_reference_ms ({a:.2} ms)")),
        None => {
            let a = median(all_refs);
            (a, format!("this run's own median ({a:.2} ms): the profile has no speed_reference_ms"))
        }
    };
    let mut points: Vec<Point> = grid
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut pt = point(&cases[g.case], g, &preps[i], &rounds.runs[2 * i], &rounds.runs[2 * i + 1], anchor);
            pt.blocks_read_share = pt.blocks_read_share.or(blocks_read.get(i).copied().flatten());
            pt
        })
        .collect();
    speedups(&mut points);
    let abs_err: Vec<f64> = points.iter().filter_map(|p| p.error_pct.map(f64::abs)).collect();
    let abs_raw: Vec<f64> = points.iter().filter_map(|p| p.raw_error_pct.map(f64::abs)).collect();
    let abs_sp: Vec<f64> = points.iter().filter_map(|p| p.speedup_error_pct.map(f64::abs)).collect();
    let abs_client: Vec<f64> = points.iter().filter_map(|p| p.client_error_pct.map(f64::abs)).collect();
    let abs_client_sp = client_speedup_errors(&points);
    let with_interval = || points.iter().filter(|p| p.client_p80_lo_ms.is_some());
    let runs: usize = with_interval().map(|p| p.client_runs).sum();
    let share = |n: usize| if runs > 0 { n as f64 / runs as f64 } else { f64::NAN };
    let client_p80_coverage = share(with_interval().map(|p| p.client_runs_in_p80).sum());
    let client_p80_coverage_raw = share(with_interval().map(|p| p.client_raw_runs_in_p80).sum());
    let client_p80_raw_above = share(with_interval().map(|p| p.client_raw_runs_above_p80).sum());
    Report {
        client_p80_raw_above,
        client_p80_coverage,
        client_p80_coverage_raw,
        median_abs_error_pct: median(&abs_err),
        p90_abs_error_pct: quantile(&abs_err, 0.9),
        median_abs_raw_error_pct: median(&abs_raw),
        p90_abs_raw_error_pct: quantile(&abs_raw, 0.9),
        median_abs_client_error_pct: median(&abs_client),
        p90_abs_client_error_pct: quantile(&abs_client, 0.9),
        median_abs_client_speedup_error_pct: median(&abs_client_sp),
        speed_reference_ms: anchor,
        speed_reference_source: anchor_source,
        speed_seen_ms: (quantile(all_refs, 0.1), median(all_refs), quantile(all_refs, 0.9)),
        capacity_seen: {
            let c = &rounds.per_round;
            (quantile(c, 0.1), median(c), quantile(c, 0.9))
        },
        profile_capacity: profile_calibration_value(profile_text, "parallel_capacity"),
        median_abs_speedup_error_pct: median(&abs_sp),
        p90_abs_speedup_error_pct: quantile(&abs_sp, 0.9),
        points,
        csv_path: PathBuf::new(),
        md_path: PathBuf::new(),
        loaded_rounds_kept: rounds.loaded_kept,
        rounds_discarded: rounds.discarded,
        other_cpus_max: rounds.busy_max,
    }
}

fn point(case: &Case, g: &Grid, p: &Prep, runs: &[Measured], client_runs: &[Measured], anchor: f64) -> Point {
    let client: Vec<f64> = client_runs.iter().map(|m| m.normalized(anchor)).collect();
    let client_ms = median(&client);
    let raw: Vec<f64> = runs.iter().map(|m| m.ms).collect();
    let ms: Vec<f64> = runs.iter().map(|m| m.normalized(anchor)).collect();
    let measured = median(&ms);
    let cv = robust_cv(&ms);
    let measured_raw = median(&raw);
    let launched_min = runs.iter().filter_map(|m| m.launched).min();
    let mut note = p.note.clone();
    if g.workers > 0 && p.planned == 0 {
        let _ = write!(note, "{}PostgreSQL chose a serial plan", if note.is_empty() { "" } else { "; " });
    }
    if let Some(l) = launched_min.filter(|l| *l < p.planned) {
        let sep = if note.is_empty() { "" } else { "; " };
        let _ = write!(note, "{sep}only {l} of {} workers launched in some runs", p.planned);
    }
    Point {
        case: case.id.to_string(),
        workers: g.workers,
        leader: g.leader,
        plan: p.plan.clone(),
        workers_planned: p.planned,
        workers_launched_min: launched_min,
        predicted_ms: p.predicted,
        measured_ms: measured,
        measured_cv: cv,
        measured_raw_ms: measured_raw,
        measured_raw_cv: robust_cv(&raw),
        runs: ms.len(),
        error_pct: p.predicted.map(|pr| 100.0 * (pr - measured) / measured),
        raw_error_pct: p.predicted.map(|pr| 100.0 * (pr - measured_raw) / measured_raw),
        client_ms,
        client_cv: robust_cv(&client),
        predicted_client_ms: p.predicted_client,
        client_error_pct: p.predicted_client.map(|pr| 100.0 * (pr - client_ms) / client_ms),
        speedup_measured: None,
        speedup_predicted: None,
        speedup_error_pct: None,
        noisy: cv > 0.10,
        note,
        client_p80_lo_ms: p.client_p80.map(|i| i[0]),
        client_p80_hi_ms: p.client_p80.map(|i| i[1]),
        client_runs_in_p80: inside(&client, p.client_p80),
        client_raw_runs_in_p80: inside(&client_runs.iter().map(|m| m.ms).collect::<Vec<_>>(), p.client_p80),
        client_raw_runs_above_p80: p.client_p80.map_or(0, |[_, hi]| client_runs.iter().filter(|m| m.ms > hi).count()),
        client_runs: client.len(),
        leader_row_share_measured: {
            let shares: Vec<f64> = runs.iter().filter_map(|m| m.leader_row_share).collect();
            (g.leader && !shares.is_empty()).then(|| median(&shares))
        },
        leader_row_share_predicted: p.leader_share,
        leader_cpu_ms_measured: {
            let cpu: Vec<f64> = runs.iter().filter_map(|m| m.leader_cpu_ms.map(|c| m.at_speed(c, anchor))).collect();
            (!cpu.is_empty()).then(|| median(&cpu))
        },
        leader_cpu_ms_predicted: p.leader_cpu,
        worker_cpu_ms_measured: worker_cpu_measured(runs, client_runs, anchor),
        worker_cpu_ms_predicted: p.worker_cpu,
        blocks_read_share: {
            let shares: Vec<f64> =
                runs.iter().filter(|m| m.hit + m.read > 0).map(|m| m.read as f64 / (m.hit + m.read) as f64).collect();
            (!shares.is_empty()).then(|| median(&shares))
        },
    }
}

/// A worker's CPU a run (ms): the postmaster's reaped children's CPU summed over the runs
/// that launched workers, each rescaled to the profile's speed as its time is (`anchor`, the
/// profile's speed reference), over the workers they launched; a bare client run counts the
/// EXPLAIN runs' median of workers launched. None where no run launched a worker or the
/// children's CPU was not readable.
fn worker_cpu_measured(runs: &[Measured], client_runs: &[Measured], anchor: f64) -> Option<f64> {
    let launched: Vec<f64> = runs.iter().filter_map(|m| m.launched).map(f64::from).collect();
    let typical = if launched.is_empty() { 0.0 } else { median(&launched) };
    let (mut cpu, mut workers) = (0.0, 0.0);
    for (m, n) in
        runs.iter().map(|m| (m, m.launched.map_or(typical, f64::from))).chain(client_runs.iter().map(|m| (m, typical)))
    {
        if let (Some(ms), true) = (m.workers_cpu_ms, n > 0.0) {
            cpu += m.at_speed(ms, anchor);
            workers += n;
        }
    }
    (workers > 0.0).then(|| cpu / workers)
}

/// How many of `runs` fall inside `interval` (none without one).
fn inside(runs: &[f64], interval: Option<[f64; 2]>) -> usize {
    interval.map_or(0, |[lo, hi]| runs.iter().filter(|r| (lo..=hi).contains(*r)).count())
}

/// Speedups against the same case's serial point (W = 0).
fn speedups(points: &mut [Point]) {
    for i in 0..points.len() {
        let base = points.iter().find(|q| q.case == points[i].case && q.workers == 0).cloned();
        if let Some(b) = base {
            if points[i].workers == 0 {
                continue;
            }
            let sm = b.measured_ms / points[i].measured_ms;
            points[i].speedup_measured = Some(sm);
            if let (Some(bp), Some(pp)) = (b.predicted_ms, points[i].predicted_ms) {
                let sp = bp / pp;
                points[i].speedup_predicted = Some(sp);
                points[i].speedup_error_pct = Some(100.0 * (sp - sm) / sm);
            }
        }
    }
}

/// |error| of the client-time speedups T(0)/T(W), per point with W > 0 (also where
/// PostgreSQL chose a serial plan).
fn client_speedup_errors(points: &[Point]) -> Vec<f64> {
    points.iter().filter_map(|p| checks::speedup_of(points, p)).map(|s| s.error_pct.abs()).collect()
}

#[cfg(test)]
mod tests {
    use super::worker_cpu_measured;
    use crate::pg::protocol::Measured;

    fn run(launched: Option<u32>, cpu: Option<f64>) -> Measured {
        Measured { launched, workers_cpu_ms: cpu, ..Measured::timed(10.0) }
    }

    #[test]
    fn a_workers_cpu_is_the_reaped_cpu_over_the_workers_launched() {
        // Two EXPLAIN runs, one of which launched one worker of two; two bare runs, counted
        // with the EXPLAIN runs' median of workers launched (1.5), one unreadable.
        let explain = [run(Some(2), Some(40.0)), run(Some(1), Some(20.0))];
        let bare = [run(None, Some(30.0)), run(None, None)];
        let got = worker_cpu_measured(&explain, &bare, 0.0).expect("workers ran");
        assert!((got - 90.0 / 4.5).abs() < 1e-9, "{got}");
        // Each run at the profile's speed: a run beside a reference of 20 ms on a profile of 10
        // ran at half the speed, its workers' CPU halved.
        let slow = [Measured { ref_ms: 20.0, ..run(Some(2), Some(40.0)) }, run(Some(2), Some(40.0))];
        let got = worker_cpu_measured(&slow, &[], 10.0).expect("workers ran");
        assert!((got - 60.0 / 4.0).abs() < 1e-9, "{got}");
        // A serial plan launches none: no worker's CPU, whatever the postmaster reaped.
        assert_eq!(worker_cpu_measured(&[run(Some(0), Some(10.0))], &[run(None, Some(10.0))], 0.0), None);
        // A remote server: nothing readable.
        assert_eq!(worker_cpu_measured(&[run(Some(2), None)], &[], 0.0), None);
    }
}
