//! `pqsim validate`: hold the model against a real PostgreSQL 15.
//!
//! Starts a throwaway server, loads the reference table `t`, a dimension table and the seed
//! query's two tables (reduced), then for every case of a grid (query × workers 0..4 × leader
//! participation on/off): captures `EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON)` (no ANALYZE),
//! imports it, predicts its time with `run_scenario` on a calibrated profile (fitted on
//! `calibrate`'s own probe tables, never on these queries), and measures the real
//! `EXPLAIN (ANALYZE, TIMING OFF)` Execution Time (median of interleaved runs). Writes
//! predicted vs measured, errors and speedup errors as CSV and Markdown.

use crate::commands::calibrate::{
    apply_gucs, catalog_stats, explain_measure, idle_window, iso_utc, measure_with_reference, median, model_ms,
    now_unix, postmaster_pid, quantile, robust_cv, wait_quiet, CpuMeter, Measured, BUSY_LIMIT, SPEEDREF_SETUP,
    SPEEDREF_SQL,
};
use crate::error::{Error, Result};
use crate::import::{check_loads, import_plan, ImportOptions};
use crate::model::Hardware;
use crate::pg::{ExplainNode, ThrowawayServer};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// t 1M rows, seed tables 600k / 800k: a few minutes on 2 cores (the test's scale).
    Small,
    /// t 3M rows (the reference's table), seed tables 1.6M / 2M (a fifth of the seed).
    Default,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Default => "default",
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ValidateArgs {
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Calibrated hardware profile: a name in configs/hardware/ or a path.
    #[arg(long, default_value = "reference-2vcpu")]
    pub profile: String,
    #[arg(long, default_value = "output/validation")]
    pub output: PathBuf,
    /// Timed runs per grid point (interleaved rounds; medians).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(5..=100))]
    pub reps: u64,
    /// Wait up to this many seconds for other processes to go quiet before a round.
    #[arg(long, default_value_t = 120.0)]
    pub wait_quiet: f64,
}

pub struct Options {
    pub scale: Scale,
    pub profile_path: PathBuf,
    pub output: PathBuf,
    pub reps: usize,
    pub wait_quiet: f64,
    /// The command line that produced the report (for the Markdown).
    pub command: String,
}

/// One query of the grid.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: &'static str,
    pub what: &'static str,
    pub sql: &'static str,
    pub gucs: Vec<(String, String)>,
    /// Workers to try with leader participation on, and off.
    pub workers_on: Vec<u32>,
    pub workers_off: Vec<u32>,
}

pub fn cases() -> Vec<Case> {
    let all_on = vec![0, 1, 2, 3, 4];
    let all_off = vec![1, 2, 3, 4];
    let seed_mem = vec![("work_mem".to_string(), "256MB".to_string())];
    vec![
        Case {
            id: "scan_agg",
            what: "scan + aggregate (Partial/Finalize)",
            sql: "SELECT sum(val) FROM t",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "count",
            what: "count(*)",
            sql: "SELECT count(*) FROM t",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "gather_heavy",
            what: "every row through the Gather, leader aggregates",
            sql: "SELECT sum(x) FROM (SELECT val AS x FROM t OFFSET 0) s",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "not_in",
            what: "seed NOT IN, hashed SubPlan in every participant",
            sql: "SELECT count(*) FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list)",
            gucs: seed_mem.clone(),
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "not_exists",
            what: "seed NOT EXISTS rewrite: hash anti join",
            sql: "SELECT count(*) FROM user_session_history h WHERE NOT EXISTS (SELECT 1 FROM session_product_list s WHERE s.id = h.session_id)",
            gucs: seed_mem.clone(),
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "hash_join_agg",
            what: "hash join t x dim, grouped aggregate via Gather Merge",
            sql: "SELECT d.grp, count(*), sum(t.val) FROM t JOIN dim d ON d.id = t.val GROUP BY d.grp",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "order_limit",
            what: "ORDER BY ... LIMIT 100 via Gather Merge",
            sql: "SELECT id, val FROM t ORDER BY val LIMIT 100",
            gucs: vec![],
            workers_on: all_on,
            workers_off: all_off,
        },
        Case {
            id: "seed_exact",
            what: "the seed query as written (PG15 plans it serially)",
            sql: "SELECT company_id, package_id, stock_id FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list) ORDER BY id ASC LIMIT 80",
            gucs: seed_mem,
            workers_on: vec![0, 2],
            workers_off: vec![],
        },
    ]
}

struct Rows {
    t: u64,
    dim: u64,
    ush: u64,
    spl: u64,
}

fn rows(scale: Scale) -> Rows {
    match scale {
        // ush/spl stay above shared_buffers/4 (4,096 pages): read through the ring, "warm".
        Scale::Small => Rows { t: 1_000_000, dim: 100_000, ush: 600_000, spl: 800_000 },
        Scale::Default => Rows { t: 3_000_000, dim: 100_000, ush: 1_600_000, spl: 2_000_000 },
    }
}

fn load_sql(r: &Rows) -> Vec<String> {
    vec![
        // The reference's test table (shared/reference, tests/pg_server.rs).
        format!(
            "CREATE TABLE t (id int4, val int4, pad text) WITH (autovacuum_enabled = off, parallel_workers = 4);
             INSERT INTO t SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000, md5(g::text) FROM generate_series(1, {}) g;",
            r.t
        ),
        format!(
            "CREATE TABLE dim (id int4 PRIMARY KEY, grp int4, name text) WITH (autovacuum_enabled = off);
             INSERT INTO dim SELECT g, g % 100, 'name ' || g FROM generate_series(0, {}) g;",
            r.dim - 1
        ),
        // The seed's DDL and data generator (shared/seeds/000), fewer rows. The subquery's
        // table gets parallel_workers = 0 so that its SubPlan stays serial and the outer scan
        // can be parallel (the plan the seed article depicts; a Gather inside a SubPlan is
        // not modelled).
        format!(
            "CREATE TABLE user_session_history (id BIGSERIAL PRIMARY KEY, company_id INT, package_id INT, stock_id INT,
                 session_id BIGINT, created_at TIMESTAMP DEFAULT now()) WITH (autovacuum_enabled = off, parallel_workers = 4);
             INSERT INTO user_session_history (company_id, package_id, stock_id, session_id)
               SELECT (random()*10)::int, (random()*100)::int, (random()*1000)::int, gs FROM generate_series(1, {}) gs;",
            r.ush
        ),
        format!(
            "CREATE TABLE session_product_list (id BIGSERIAL PRIMARY KEY, product_id INT, created_at TIMESTAMP DEFAULT now())
                 WITH (autovacuum_enabled = off, parallel_workers = 0);
             INSERT INTO session_product_list (product_id) SELECT (random()*5000)::int FROM generate_series(1, {});",
            r.spl
        ),
        SPEEDREF_SETUP.into(),
        "VACUUM ANALYZE".into(),
    ]
}

/// The profile's speed reference time (`[calibration] speed_reference_ms`), if it has one.
pub fn profile_speed_reference(text: &str) -> Option<f64> {
    let t: toml::Table = toml::from_str(text).ok()?;
    let c = t.get("calibration")?.as_table()?;
    let v = c.get("speed_reference_ms")?;
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).filter(|x| *x > 0.0)
}

/// One grid point's outcome.
#[derive(Debug, Clone, serde::Serialize)]
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
    pub speedup_measured: Option<f64>,
    pub speedup_predicted: Option<f64>,
    pub speedup_error_pct: Option<f64>,
    pub noisy: bool,
    pub note: String,
}

pub struct Report {
    pub points: Vec<Point>,
    pub median_abs_error_pct: f64,
    pub p90_abs_error_pct: f64,
    pub median_abs_raw_error_pct: f64,
    pub p90_abs_raw_error_pct: f64,
    /// Speed reference the measurements were rescaled to, and where it came from.
    pub speed_reference_ms: f64,
    pub speed_reference_source: String,
    /// Reference times seen during the validation: 10th percentile, median, 90th percentile.
    pub speed_seen_ms: (f64, f64, f64),
    pub median_abs_speedup_error_pct: f64,
    pub p90_abs_speedup_error_pct: f64,
    pub csv_path: PathBuf,
    pub md_path: PathBuf,
    pub loaded_rounds_kept: usize,
    pub rounds_discarded: usize,
    pub other_cpus_max: f64,
}

pub fn run_cli(a: &ValidateArgs) -> Result<()> {
    // A profile name (embedded or configs/hardware/NAME.toml) or a path.
    let profile_path = PathBuf::from(&a.profile);
    let command = format!(
        "pqsim validate --scale {} --profile {} --output {} --reps {}",
        a.scale.name(),
        a.profile,
        a.output.display(),
        a.reps
    );
    let rep = run(&Options {
        scale: a.scale,
        profile_path,
        output: a.output.clone(),
        reps: a.reps as usize,
        wait_quiet: a.wait_quiet,
        command,
    })?;
    println!(
        "median |error| {:.1}%, p90 {:.1}% (raw: {:.1}%, {:.1}%); speedup error median {:.1}%, p90 {:.1}% ({} points)",
        rep.median_abs_error_pct,
        rep.p90_abs_error_pct,
        rep.median_abs_raw_error_pct,
        rep.p90_abs_raw_error_pct,
        rep.median_abs_speedup_error_pct,
        rep.p90_abs_speedup_error_pct,
        rep.points.len()
    );
    println!("wrote {} and {}", rep.csv_path.display(), rep.md_path.display());
    Ok(())
}

fn plan_shape(n: &ExplainNode) -> String {
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

struct Grid {
    case: usize,
    workers: u32,
    leader: bool,
    gucs: Vec<(String, String)>,
}

pub fn run(o: &Options) -> Result<Report> {
    let t0 = Instant::now();
    let profile = crate::config::hardware_source(&o.profile_path.to_string_lossy())?;
    let hw: Hardware = crate::config::load_hardware_str(&profile.label, &profile.text, &[])?;
    let started = now_unix();
    eprintln!("pqsim validate: starting a throwaway PostgreSQL 15 server");
    let server = ThrowawayServer::start().map_err(|e| Error::Postgres(e.to_string()))?;
    let mut client = server.client().map_err(|e| Error::Postgres(e.to_string()))?;
    let version = crate::pg::probe::show(&mut client, "server_version").map_err(|e| Error::Postgres(e.to_string()))?;
    let r = rows(o.scale);
    let t_load = Instant::now();
    apply_gucs(&mut client, "public", &[])?;
    for sql in load_sql(&r) {
        client.batch_execute(&sql).map_err(|e| Error::Postgres(format!("{sql}: {e}")))?;
    }
    let stats = catalog_stats(&mut client, "public")?;
    // Empty shared buffers (the OS page cache keeps the files): large tables are then read
    // through the 32-buffer ring from the OS cache, the profile's "warm" state.
    drop(client);
    server.restart().map_err(|e| Error::Postgres(e.to_string()))?;
    let mut client = server.client().map_err(|e| Error::Postgres(e.to_string()))?;
    eprintln!("pqsim validate: data loaded in {:.1} s (server restarted: warm cache)", t_load.elapsed().as_secs_f64());

    let cases = cases();
    let mut grid: Vec<Grid> = vec![];
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

    // Plans, imports and predictions (before any timing: nothing else runs while measuring).
    struct Prep {
        plan: String,
        planned: u32,
        predicted: Option<f64>,
        note: String,
    }
    let mut preps: Vec<Prep> = vec![];
    for g in &grid {
        let c = &cases[g.case];
        apply_gucs(&mut client, "public", &g.gucs)?;
        let plan = crate::pg::probe::explain_with(&mut client, "VERBOSE, SETTINGS", c.sql)
            .map_err(|e| Error::Postgres(e.to_string()))?;
        let shape = plan_shape(&plan.root);
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
        };
        let imported = import_plan(&plan, &opts);
        if let Ok(i) = &imported {
            // Keep the imported scenarios: `pqsim run` can replay them on other profiles.
            let dir = o.output.join(format!("scenarios-{}", o.scale.name()));
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let f = dir.join(format!("{}.toml", opts.name));
            std::fs::write(&f, &i.toml).map_err(|e| Error::io(&f, e))?;
        }
        let (predicted, note) = match imported.and_then(|i| check_loads(&i.toml)) {
            Ok(sc) => match model_ms(&sc, &hw, 5) {
                Ok(ms) => (Some(ms), String::new()),
                Err(e) => (None, format!("model: {e}")),
            },
            Err(e) => (None, format!("import: {e}")),
        };
        preps.push(Prep { plan: shape, planned, predicted, note });
    }
    eprintln!("pqsim validate: {} grid points planned and predicted; warming up", grid.len());

    // Warm-up: every point once.
    for g in &grid {
        apply_gucs(&mut client, "public", &g.gucs)?;
        explain_measure(&mut client, "ANALYZE, TIMING OFF", cases[g.case].sql)?;
    }

    // Timed rounds, all points shuffled per round; loaded rounds are discarded and rerun.
    let postmaster = postmaster_pid(&mut client);
    let (busy0, load0, _) = wait_quiet(o.wait_quiet)?;
    let mut runs: Vec<Vec<Measured>> = vec![vec![]; grid.len()];
    let mut rng = StdRng::seed_from_u64(4_151_922);
    let (mut rep, mut discarded, mut loaded_kept) = (0usize, 0usize, 0usize);
    let mut other_max = busy0;
    let mut round_busy = vec![];
    let mut all_refs: Vec<f64> = vec![];
    while rep < o.reps {
        let mut order: Vec<usize> = (0..grid.len()).collect();
        order.shuffle(&mut rng);
        let meter = CpuMeter::start(postmaster)?;
        let t_round = Instant::now();
        let mut jobs =
            order.iter().map(|&i| (grid[i].gucs.clone(), cases[grid[i].case].sql.to_string(), "ANALYZE, TIMING OFF"));
        let (measured, refs) = measure_with_reference(&mut client, "public", &mut jobs)?;
        let round: Vec<(usize, Measured)> = order.iter().copied().zip(measured).collect();
        let others = meter.others_busy()?;
        let (idle_busy, _) = idle_window(1.0)?;
        let b = if others.is_nan() { idle_busy } else { others };
        if b > BUSY_LIMIT && discarded < o.reps {
            discarded += 1;
            eprintln!(
                "pqsim validate: round {} discarded: other processes used {b:.2} CPUs; waiting for quiet",
                rep + 1
            );
            wait_quiet(o.wait_quiet)?;
            continue;
        }
        if b > BUSY_LIMIT {
            loaded_kept += 1;
        }
        other_max = other_max.max(b);
        round_busy.push(b);
        for (i, m) in round {
            runs[i].push(m);
        }
        all_refs.extend(refs);
        rep += 1;
        eprintln!(
            "pqsim validate: round {rep}/{} in {:.1} s (other processes {b:.2} CPUs{})",
            o.reps,
            t_round.elapsed().as_secs_f64(),
            if b > BUSY_LIMIT { ", LOADED: kept, flagged" } else { "" }
        );
    }
    let load_end = crate::pg::probe::load_snapshot().map_err(|e| Error::Postgres(e.to_string()))?;
    drop(client);
    server.stop().map_err(|e| Error::Postgres(e.to_string()))?;

    // Results: measured times rescaled to the profile's machine speed, and raw.
    let (anchor, anchor_source) = match profile_speed_reference(&profile.text) {
        Some(a) => (a, format!("the profile's [calibration] speed_reference_ms ({a:.2} ms)")),
        None => {
            let a = quantile(&all_refs, 0.1);
            (a, format!("this run's own 10th percentile ({a:.2} ms): the profile has no speed_reference_ms"))
        }
    };
    let mut points: Vec<Point> = vec![];
    for (i, g) in grid.iter().enumerate() {
        let raw: Vec<f64> = runs[i].iter().map(|m| m.ms).collect();
        let ms: Vec<f64> = runs[i].iter().map(|m| m.normalized(anchor)).collect();
        let measured = median(&ms);
        let cv = robust_cv(&ms);
        let measured_raw = median(&raw);
        let p = &preps[i];
        let err = p.predicted.map(|pr| 100.0 * (pr - measured) / measured);
        let raw_err = p.predicted.map(|pr| 100.0 * (pr - measured_raw) / measured_raw);
        let launched_min = runs[i].iter().filter_map(|m| m.launched).min();
        let mut note = p.note.clone();
        if g.workers > 0 && p.planned == 0 {
            let _ = write!(note, "{}PostgreSQL chose a serial plan", if note.is_empty() { "" } else { "; " });
        }
        if let Some(l) = launched_min {
            if l < p.planned {
                let _ = write!(
                    note,
                    "{}only {l} of {} workers launched in some runs",
                    if note.is_empty() { "" } else { "; " },
                    p.planned
                );
            }
        }
        points.push(Point {
            case: cases[g.case].id.to_string(),
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
            error_pct: err,
            raw_error_pct: raw_err,
            speedup_measured: None,
            speedup_predicted: None,
            speedup_error_pct: None,
            noisy: cv > 0.10,
            note,
        });
    }
    // Speedups against the same case's serial point (W = 0).
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
    let abs_err: Vec<f64> = points.iter().filter_map(|p| p.error_pct.map(f64::abs)).collect();
    let abs_raw: Vec<f64> = points.iter().filter_map(|p| p.raw_error_pct.map(f64::abs)).collect();
    let abs_sp: Vec<f64> = points.iter().filter_map(|p| p.speedup_error_pct.map(f64::abs)).collect();
    std::fs::create_dir_all(&o.output).map_err(|e| Error::io(&o.output, e))?;
    let csv_path = o.output.join(format!("validation-{}.csv", o.scale.name()));
    let md_path = o.output.join(format!("validation-{}.md", o.scale.name()));
    write_csv(&csv_path, &points)?;
    let rep = Report {
        median_abs_error_pct: median(&abs_err),
        p90_abs_error_pct: quantile(&abs_err, 0.9),
        median_abs_raw_error_pct: median(&abs_raw),
        p90_abs_raw_error_pct: quantile(&abs_raw, 0.9),
        speed_reference_ms: anchor,
        speed_reference_source: anchor_source,
        speed_seen_ms: (quantile(&all_refs, 0.1), median(&all_refs), quantile(&all_refs, 0.9)),
        median_abs_speedup_error_pct: median(&abs_sp),
        p90_abs_speedup_error_pct: quantile(&abs_sp, 0.9),
        points,
        csv_path,
        md_path: md_path.clone(),
        loaded_rounds_kept: loaded_kept,
        rounds_discarded: discarded,
        other_cpus_max: other_max,
    };
    let md = markdown(
        o,
        &rep,
        &hw,
        &version,
        &r,
        started,
        load0.load1,
        load_end.load1,
        &round_busy,
        t0.elapsed().as_secs_f64(),
    );
    std::fs::write(&md_path, md).map_err(|e| Error::io(&md_path, e))?;
    Ok(rep)
}

fn write_csv(path: &Path, points: &[Point]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::Simulation(format!("{}: {e}", path.display())))?;
    for p in points {
        w.serialize(p).map_err(|e| Error::Simulation(format!("{}: {e}", path.display())))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn f1(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn f2(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into())
}

#[allow(clippy::too_many_arguments)]
fn markdown(
    o: &Options,
    rep: &Report,
    hw: &Hardware,
    version: &str,
    r: &Rows,
    started: f64,
    load_before: f64,
    load_after: f64,
    round_busy: &[f64],
    secs: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# pqsim vs PostgreSQL {version}: validation at scale `{}`\n", o.scale.name());
    let _ = writeln!(s, "Produced by `{}` on {} ({:.0} s).\n", o.command, iso_utc(started), secs);
    let _ = writeln!(
        s,
        "- Data: `t` {} rows (id int4, val int4, md5 text; parallel_workers = 4), `dim` {} rows, `user_session_history` {} rows (parallel_workers = 4), `session_product_list` {} rows (parallel_workers = 0), VACUUM ANALYZE, warm (OS page cache).",
        r.t, r.dim, r.ush, r.spl
    );
    let _ = writeln!(
        s,
        "- Predicted: `EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON)` (no ANALYZE) → `pqsim import` (with pg_class row/page counts) → simulated on profile `{}` ({}), median of 5 replications.",
        hw.name,
        o.profile_path.display()
    );
    let _ = writeln!(
        s,
        "- Measured: `EXPLAIN (ANALYZE, TIMING OFF)` Execution Time, median of {} runs per point, all points shuffled in each round; one warm-up run each. Every point sets parallel_setup_cost = 0, parallel_tuple_cost = 0, max_parallel_workers_per_gather = W and parallel_leader_participation.",
        o.reps
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
        "| abs. error of speedup (W vs W = 0) | {:.1}% | {:.1}% |\n",
        rep.median_abs_speedup_error_pct, rep.p90_abs_speedup_error_pct
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
    let _ = writeln!(s, "\n## All points\n");
    let _ = writeln!(
        s,
        "| case | W | leader | launched | measured ms (CV) | raw ms (CV) | predicted ms | error | raw error | speedup meas. | speedup pred. | speedup error | plan | flags |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
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
            "| {} | {} | {} | {} | {:.1} ({:.0}%) | {:.1} ({:.0}%) | {} | {} | {} | {} | {} | {} | {} | {} |",
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
            f2(p.speedup_measured),
            f2(p.speedup_predicted),
            p.speedup_error_pct.map(|v| format!("{v:+.1}%")).unwrap_or_else(|| "–".into()),
            p.plan,
            flags.join("; ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_every_case_and_setting() {
        let c = cases();
        assert!(c.iter().all(|c| c.workers_on.first() == Some(&0)));
        let n: usize = c.iter().map(|c| c.workers_on.len() + c.workers_off.len()).sum();
        assert_eq!(n, 7 * 9 + 2);
        assert!(rows(Scale::Small).ush as f64 / 120.0 > 4096.0, "seed table stays above shared_buffers/4");
    }
}
