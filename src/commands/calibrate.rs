//! `pqsim calibrate --dsn CONNINFO --output PROFILE [--scale ROWS]`: measure a real PostgreSQL
//! and fit a hardware profile for this machine.
//!
//! Method (see docs/validation.md):
//! 1. Probe tables in a private schema (`pqsim_calibration`, dropped at the end, also on error):
//!    narrow rows at three sizes (½, 1, 2 × `--scale`), wide rows (fewer tuples per page), a
//!    table small enough to stay in shared buffers, two hash-join dimensions, tiny tables for
//!    start-up. `VACUUM ANALYZE`, then every probe once as warm-up.
//! 2. Every probe `--reps` times, interleaved (a shuffled round over all probes per
//!    repetition), `EXPLAIN (ANALYZE, TIMING OFF, BUFFERS)` Execution Time unless said
//!    otherwise; medians. The machine's load is recorded before, between and after rounds.
//! 3. Serial unit costs by weighted non-negative least squares over the serial probes
//!    (`lsq::nnls`, weights 1/time: relative errors). The features are the model's own
//!    operation counts: for each unit cost, the change of the model's predicted time when that
//!    cost alone is set (pqsim's serial model is linear in its unit costs), on the probe's plan
//!    imported with `import`. OS reads are charged per block the probe actually read
//!    (BUFFERS Shared Read Blocks), so a table resting in shared buffers separates the buffer
//!    cost from the kernel copy.
//! 4. Worker start-up from tiny parallel queries (1-4 workers, a single-copy Gather with
//!    `force_parallel_mode`, and a parallel plan that gets no workers), then tuple-queue costs
//!    (`tuple_send_ns`, `tuple_receive_ns`, `gather_merge_tuple_ns`) by fitting the simulator
//!    itself to Gather-heavy probes (every row crosses a queue, leader participation on/off)
//!    and Gather Merge probes.

use crate::analysis::lsq;
use crate::error::{Error, Result};
use crate::import::{check_loads, import_plan, ImportOptions, TableStats};
use crate::model::*;
use crate::pg::{probe, ExplainNode, ExplainPlan, LoadInfo, PgError};
use crate::predict::run_scenario;
use postgres::{Client, NoTls};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const SCHEMA: &str = "pqsim_calibration";
const MARKER: &str = "pqsim calibrate probe tables (dropped at the end of the run)";

#[derive(clap::Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// libpq connection string of the server to measure (it must run on this machine:
    /// cores are read locally).
    #[arg(long)]
    pub dsn: String,
    /// Where to write the hardware profile (TOML).
    #[arg(long)]
    pub output: PathBuf,
    /// Rows of the middle probe table; the others have half and twice as many.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(50_000..=100_000_000))]
    pub scale: u64,
    /// Timed runs of every probe (medians of these; start-up probes run 3x as often).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(5..=100))]
    pub reps: u64,
    /// Profile name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Wait up to this many seconds for other processes to go quiet before measuring.
    #[arg(long, default_value_t = 120.0)]
    pub wait_quiet: f64,
}

// ---------------------------------------------------------------------------------------
// Measuring helpers (also used by `validate`)
// ---------------------------------------------------------------------------------------

fn pg(e: PgError) -> Error {
    Error::Postgres(e.to_string())
}

fn pgq(sql: &str, e: postgres::Error) -> Error {
    Error::Postgres(format!("{sql}: {e}"))
}

/// Quote a setting value as a SQL literal.
fn lit(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// `RESET ALL`, then `jit = off`, the search path and `gucs`, in one round trip.
pub fn apply_gucs(client: &mut Client, search_path: &str, gucs: &[(String, String)]) -> Result<()> {
    let mut sql = format!("RESET ALL; SET jit = off; SET search_path = {};", lit(search_path));
    for (k, v) in gucs {
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::input(format!("bad setting name {k:?}")));
        }
        let _ = write!(sql, " SET {k} = {};", lit(v));
    }
    client.batch_execute(&sql).map_err(|e| pgq(&sql, e))
}

/// One measured execution.
#[derive(Debug, Clone)]
pub struct Measured {
    pub ms: f64,
    /// Shared buffer hits / reads of the whole plan (BUFFERS), when measured with EXPLAIN.
    pub hit: u64,
    pub read: u64,
    pub planned: Option<u32>,
    pub launched: Option<u32>,
    /// Gather's Actual Startup Time (EXPLAIN ANALYZE with timing only).
    pub gather_startup_ms: Option<f64>,
    /// Mean of the speed-reference times measured just before and just after this run.
    pub ref_ms: f64,
}

impl Measured {
    /// This run's time at the machine speed where the reference takes `anchor_ms`.
    pub fn normalized(&self, anchor_ms: f64) -> f64 {
        if self.ref_ms > 0.0 && anchor_ms > 0.0 {
            self.ms * anchor_ms / self.ref_ms
        } else {
            self.ms
        }
    }
}

/// The speed reference: a CPU-bound serial scan of a small table that stays in shared
/// buffers. The machine's speed drifts by up to ~1.8x over seconds to minutes here (other
/// tenants of the host: the same query takes 17 or 30 ms); a reference run before and after
/// every measured run tracks it (log-correlation 0.92 with a 1M-row scan measured
/// alternately), so each run can be rescaled to a fixed machine speed.
pub const SPEEDREF_SETUP: &str = "CREATE TABLE speedref (a int4, b int4) WITH (autovacuum_enabled = off);
     INSERT INTO speedref SELECT g, g % 7 FROM generate_series(1, 300000) g;";
pub const SPEEDREF_SQL: &str = "SELECT sum(a) FROM speedref";

/// One speed-reference run (serial), in ms.
pub fn speedref(client: &mut Client, search_path: &str) -> Result<f64> {
    apply_gucs(client, search_path, &[("max_parallel_workers_per_gather".into(), "0".into())])?;
    Ok(explain_measure(client, "ANALYZE, TIMING OFF", SPEEDREF_SQL)?.0.ms)
}

/// Runs `runs` in order, each between two speed-reference runs; returns the measurements
/// with `ref_ms` set, and every reference time.
pub fn measure_with_reference(
    client: &mut Client,
    search_path: &str,
    runs: &mut dyn Iterator<Item = (Vec<(String, String)>, String, &'static str)>,
) -> Result<(Vec<Measured>, Vec<f64>)> {
    let mut refs = vec![speedref(client, search_path)?];
    let mut out = vec![];
    for (gucs, sql, options) in runs {
        apply_gucs(client, search_path, &gucs)?;
        let mut m = if options == "client" {
            let ms = probe::timed(client, &sql, 1).map_err(pg)?[0];
            Measured { ms, hit: 0, read: 0, planned: None, launched: None, gather_startup_ms: None, ref_ms: 0.0 }
        } else {
            explain_measure(client, options, &sql)?.0
        };
        let r = speedref(client, search_path)?;
        m.ref_ms = 0.5 * (refs[refs.len() - 1] + r);
        refs.push(r);
        out.push(m);
    }
    Ok((out, refs))
}

fn gather_of(p: &ExplainPlan) -> Option<&ExplainNode> {
    p.root.find(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
}

/// `EXPLAIN (<options>, FORMAT JSON)` once; the Execution Time and what came with it.
pub fn explain_measure(client: &mut Client, options: &str, sql: &str) -> Result<(Measured, ExplainPlan)> {
    let plan = probe::explain_with(client, options, sql).map_err(pg)?;
    let ms = plan
        .execution_time_ms
        .ok_or_else(|| Error::Postgres(format!("EXPLAIN ({options}) returned no Execution Time")))?;
    let g = gather_of(&plan);
    let m = Measured {
        ms,
        hit: plan.root.shared_hit_blocks.unwrap_or(0),
        read: plan.root.shared_read_blocks.unwrap_or(0),
        planned: g.and_then(|g| g.workers_planned),
        launched: g.and_then(|g| g.workers_launched),
        gather_startup_ms: g.and_then(|g| g.actual_startup_time),
        ref_ms: 0.0,
    };
    Ok((m, plan))
}

/// Other processes' CPU use over an idle window of `secs` (nothing of ours runs then).
pub fn idle_window(secs: f64) -> Result<(f64, LoadInfo)> {
    let a = probe::load_snapshot().map_err(pg)?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    let b = probe::load_snapshot().map_err(pg)?;
    Ok((b.busy_cpus_since(&a).unwrap_or(f64::NAN), b))
}

/// Busy CPUs (of other processes) above which a run is flagged as loaded.
pub const BUSY_LIMIT: f64 = 0.25;

/// Wait (up to `max_wait` s) until other processes use less than [`BUSY_LIMIT`] CPUs.
/// Returns the last idle window's busy CPUs and whether it was quiet.
pub fn wait_quiet(max_wait: f64) -> Result<(f64, LoadInfo, bool)> {
    let t0 = Instant::now();
    let mut said = false;
    loop {
        let (busy, load) = idle_window(1.0)?;
        if busy < BUSY_LIMIT {
            return Ok((busy, load, true));
        }
        if t0.elapsed().as_secs_f64() >= max_wait {
            eprintln!(
                "pqsim: warning: the machine is busy ({busy:.2} CPUs used by other processes, load {:.2}); measuring anyway, results are flagged",
                load.load1
            );
            return Ok((busy, load, false));
        }
        if !said {
            eprintln!("pqsim: waiting for other processes to go quiet ({busy:.2} CPUs busy)...");
            said = true;
        }
    }
}

/// `(ppid, own ticks, reaped children's ticks)` of a process, from `/proc/PID/stat`.
fn proc_ticks(pid: u32) -> Option<(u32, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?))
}

/// CPU ticks used by the server (postmaster, its live children and the children it has
/// reaped, e.g. finished parallel workers) and by this process.
fn our_ticks(postmaster: Option<u32>) -> u64 {
    let mut total = proc_ticks(std::process::id()).map(|t| t.1).unwrap_or(0);
    let Some(pm) = postmaster else { return total };
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some((ppid, own, children)) = proc_ticks(pid) {
                if pid == pm {
                    total += own + children;
                } else if ppid == pm {
                    total += own;
                }
            }
        }
    }
    total
}

/// The postmaster of the server `client` is connected to, when it runs on this machine.
pub fn postmaster_pid(client: &mut Client) -> Option<u32> {
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).ok()?.get(0);
    let (ppid, _, _) = proc_ticks(pid as u32)?;
    let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
    comm.trim().starts_with("postgres").then_some(ppid)
}

/// Measures how much CPU *other* processes used while we measured: the machine's busy time
/// minus the server's and our own.
pub struct CpuMeter {
    postmaster: Option<u32>,
    start: LoadInfo,
    ours: u64,
}

impl CpuMeter {
    pub fn start(postmaster: Option<u32>) -> Result<Self> {
        Ok(CpuMeter { postmaster, start: probe::load_snapshot().map_err(pg)?, ours: our_ticks(postmaster) })
    }

    /// Average CPUs used by other processes since `start` (NaN when the server is not local).
    pub fn others_busy(&self) -> Result<f64> {
        let now = probe::load_snapshot().map_err(pg)?;
        if self.postmaster.is_none() {
            return Ok(f64::NAN);
        }
        let total = now.cpu_total_ticks.saturating_sub(self.start.cpu_total_ticks);
        let busy = now.cpu_busy_ticks.saturating_sub(self.start.cpu_busy_ticks);
        let ours = our_ticks(self.postmaster).saturating_sub(self.ours);
        if total == 0 {
            return Ok(0.0);
        }
        Ok((busy.saturating_sub(ours) as f64 / total as f64 * now.cpus as f64).max(0.0))
    }
}

pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Robust coefficient of variation: 1.4826 · MAD / median.
pub fn robust_cv(xs: &[f64]) -> f64 {
    let m = median(xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    1.4826 * median(&dev) / m
}

/// Quantile by linear interpolation (q in 0..=1).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// UTC date and time of a Unix timestamp, ISO 8601.
pub fn iso_utc(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn now_unix() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Row counts and pages of tables (and of indexes) as the catalog has them after ANALYZE.
pub fn catalog_stats(client: &mut Client, schema: &str) -> Result<BTreeMap<String, TableStats>> {
    let sql = "SELECT c.relname, c.reltuples::float8, c.relpages::float8, \
               (SELECT max(i.relpages)::float8 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), \
               (SELECT substring(o FROM 'parallel_workers=([0-9]+)')::int4 FROM unnest(c.reloptions) o WHERE o LIKE 'parallel_workers=%') \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'";
    let rows = client.query(sql, &[&schema]).map_err(|e| pgq(sql, e))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let name: String = r.get(0);
        let pw: Option<i32> = r.get(4);
        out.insert(
            name,
            TableStats {
                rows: Some(r.get::<_, f64>(1).max(0.0)),
                pages: Some(r.get::<_, f64>(2).max(1.0)),
                width: None,
                parallel_workers: pw.map(|p| p.max(0) as u32),
                index_pages: r.get::<_, Option<f64>>(3),
            },
        );
    }
    Ok(out)
}

/// The model's predicted wall time (ms) of a scenario on a profile: one replication.
pub fn model_ms(sc: &Scenario, hw: &Hardware, replications: u32) -> Result<f64> {
    let mut s = sc.with_hardware_settings(hw);
    // Calibration and validation time EXPLAIN (ANALYZE, TIMING OFF) (or the bare query for
    // client probes): predict the same thing, without per-node clock reads.
    if s.output == crate::model::OutputMode::ExplainAnalyze {
        s.output = crate::model::OutputMode::ExplainAnalyzeTimingOff;
    }
    let out = run_scenario(&s, hw, 1, replications, false)?;
    Ok(if replications > 1 { out.summary.median } else { out.wall_ms[0] })
}

// ---------------------------------------------------------------------------------------
// Unit costs by name
// ---------------------------------------------------------------------------------------

/// Unit costs fitted by the serial least squares, in the profile's order.
pub const LINEAR_COSTS: &[&str] = &[
    "page_ns",
    "os_read_page_ns",
    "tuple_ns",
    "qual_ns",
    "agg_transition_ns",
    "hash_build_ns",
    "hash_probe_ns",
    "sort_tuple_ns",
    "sort_compare_ns",
    "index_tuple_ns",
    "index_descent_ns",
    "temp_page_ns",
    "client_row_ns",
];

pub fn cost_mut<'a>(c: &'a mut UnitCosts, name: &str) -> &'a mut f64 {
    match name {
        "page_ns" => &mut c.page_ns,
        "os_read_page_ns" => &mut c.os_read_page_ns,
        "tuple_ns" => &mut c.tuple_ns,
        "qual_ns" => &mut c.qual_ns,
        "agg_transition_ns" => &mut c.agg_transition_ns,
        "hash_build_ns" => &mut c.hash_build_ns,
        "hash_probe_ns" => &mut c.hash_probe_ns,
        "sort_tuple_ns" => &mut c.sort_tuple_ns,
        "sort_compare_ns" => &mut c.sort_compare_ns,
        "index_tuple_ns" => &mut c.index_tuple_ns,
        "index_descent_ns" => &mut c.index_descent_ns,
        "tuple_send_ns" => &mut c.tuple_send_ns,
        "tuple_receive_ns" => &mut c.tuple_receive_ns,
        "gather_merge_tuple_ns" => &mut c.gather_merge_tuple_ns,
        "client_row_ns" => &mut c.client_row_ns,
        "temp_page_ns" => &mut c.temp_page_ns,
        "wakeup_ns" => &mut c.wakeup_ns,
        other => panic!("unknown unit cost {other}"),
    }
}

fn zero_costs() -> UnitCosts {
    UnitCosts {
        page_ns: 0.0,
        os_read_page_ns: 0.0,
        tuple_ns: 0.0,
        qual_ns: 0.0,
        agg_transition_ns: 0.0,
        hash_build_ns: 0.0,
        hash_probe_ns: 0.0,
        sort_tuple_ns: 0.0,
        sort_compare_ns: 0.0,
        index_tuple_ns: 0.0,
        index_descent_ns: 0.0,
        tuple_send_ns: 0.0,
        tuple_receive_ns: 0.0,
        gather_merge_tuple_ns: 0.0,
        client_row_ns: 0.0,
        temp_page_ns: 0.0,
        wakeup_ns: 0.0,
        instrument_ns: 0.0,
    }
}

/// Values kept from the provisional reference profile for what calibration does not measure.
pub fn provisional() -> Hardware {
    Hardware {
        name: "calibrating".into(),
        description: String::new(),
        cores: 2.0,
        cpu_speed: 1.0,
        cache: CacheState::Warm,
        disk: Disk {
            seq_bytes_per_ns: 400.0 * 1024.0 * 1024.0 / 1e9,
            request_latency_ns: 200e3,
            read_ahead_bytes: 8.0 * 1024.0 * 1024.0,
            queue_depth: 32.0,
        },
        costs: UnitCosts {
            page_ns: 300.0,
            os_read_page_ns: 1500.0,
            tuple_ns: 40.0,
            qual_ns: 15.0,
            agg_transition_ns: 15.0,
            hash_build_ns: 60.0,
            hash_probe_ns: 45.0,
            sort_tuple_ns: 35.0,
            sort_compare_ns: 22.0,
            index_tuple_ns: 70.0,
            index_descent_ns: 900.0,
            tuple_send_ns: 110.0,
            tuple_receive_ns: 140.0,
            gather_merge_tuple_ns: 80.0,
            client_row_ns: 400.0,
            temp_page_ns: 4000.0,
            wakeup_ns: 8000.0,
            instrument_ns: 75.0,
        },
        parallel: ParallelCosts {
            leader_setup_ns: 300e3,
            launch_per_worker_ns: 400e3,
            worker_startup_ns: 2.5e6,
            worker_startup_sigma: 0.45,
            shutdown_per_worker_ns: 700e3,
            tuple_queue_size: 65536.0,
        },
        cpu_noise_cv: 0.03,
        run_sigma: crate::model::DEFAULT_RUN_SIGMA,
        run_sigma_measured: false,
        settings: vec![],
    }
}

// ---------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// EXPLAIN (ANALYZE, TIMING OFF, BUFFERS): Execution Time.
    Explain,
    /// EXPLAIN (ANALYZE, BUFFERS) with per-node timing: for the Gather's start-up time.
    ExplainTiming,
    /// The bare query timed by this client (rows transferred).
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Serial,
    Startup,
    Queue,
}

#[derive(Debug, Clone)]
struct Probe {
    id: String,
    sql: String,
    gucs: Vec<(String, String)>,
    how: How,
    stage: Stage,
    /// Runs per repetition.
    per_rep: usize,
    what: &'static str,
}

fn g(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[derive(Debug, Clone)]
struct Sizes {
    s: u64,
    m: u64,
    l: u64,
    wide: u64,
    hot: u64,
    dim_s: u64,
    dim_l: u64,
}

fn sizes(scale: u64, shared_buffers_pages: u64) -> Sizes {
    // A table stays in shared buffers when it has at most shared_buffers/4 pages (larger
    // ones are read through a 32-buffer ring, heapam.c:initscan); keep the hot table at 60%
    // of that (97 narrow rows per page).
    let hot_max = (shared_buffers_pages as f64 / 4.0 * 0.6 * 97.0) as u64;
    Sizes {
        s: scale / 2,
        m: scale,
        l: scale * 2,
        wide: scale / 4,
        hot: (scale * 3 / 10).min(hot_max).max(1000),
        dim_s: 50_000,
        dim_l: 200_000,
    }
}

fn setup_sql(z: &Sizes) -> Vec<String> {
    let narrow = |name: &str, rows: u64| {
        format!(
            "CREATE TABLE {name} (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO {name} SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 7919)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 104729)::int8 & 2147483647) % 50000, md5(g::text)
               FROM generate_series(1, {rows}) g;"
        )
    };
    vec![
        narrow("n_s", z.s),
        narrow("n_m", z.m),
        narrow("n_l", z.l),
        narrow("hot", z.hot),
        format!(
            "CREATE TABLE wide (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO wide SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 7919)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 104729)::int8 & 2147483647) % 50000, repeat(md5(g::text), 12)
               FROM generate_series(1, {}) g;",
            z.wide
        ),
        format!(
            "CREATE TABLE dim_s (id int4, v int4) WITH (autovacuum_enabled = off);
             INSERT INTO dim_s SELECT g, g % 97 FROM generate_series(0, {}) g;",
            z.dim_s - 1
        ),
        format!(
            "CREATE TABLE dim_l (id int4, v int4) WITH (autovacuum_enabled = off);
             INSERT INTO dim_l SELECT g, g % 97 FROM generate_series(0, {}) g;",
            z.dim_l - 1
        ),
        "CREATE TABLE tiny (id int4, a int4) WITH (autovacuum_enabled = off, parallel_workers = 8);
         INSERT INTO tiny SELECT g, g FROM generate_series(1, 1000) g;
         CREATE TABLE tiny_sc (id int4, a int4) WITH (autovacuum_enabled = off);
         INSERT INTO tiny_sc SELECT g, g FROM generate_series(1, 1000) g;"
            .into(),
        "CREATE INDEX n_m_id ON n_m (id);".into(),
        SPEEDREF_SETUP.into(),
    ]
}

fn probes() -> Vec<Probe> {
    let serial = |extra: &[(&str, &str)]| {
        let mut v = g(&[("max_parallel_workers_per_gather", "0"), ("work_mem", "1GB")]);
        for (k, val) in extra {
            v.retain(|(x, _)| x != k);
            v.push((k.to_string(), val.to_string()));
        }
        v
    };
    let mut p = vec![];
    let mut add = |id: String, sql: String, gucs, how, stage, per_rep, what| {
        p.push(Probe { id, sql, gucs, how, stage, per_rep, what });
    };
    let q4 = "a >= 0 AND b >= 0 AND c >= 0 AND id >= 0";
    let q8 =
        "a >= 0 AND b >= 0 AND c >= 0 AND id >= 0 AND a < 2000000 AND b < 2000000 AND c < 2000000 AND id < 2000000000";
    for (x, t) in [("s", "n_s"), ("m", "n_m"), ("l", "n_l")] {
        let s = Stage::Serial;
        // Every probe aggregates: a query that returns its rows pays per-row output costs
        // (projection, ExecutePlan's loop) the model has no separate term for.
        add(format!("count_{x}"), format!("SELECT count(*) FROM {t}"), serial(&[]), How::Explain, s, 1, "count(*)");
        add(
            format!("agg2_{x}"),
            format!("SELECT sum(a), count(*) FROM {t}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "2 aggregates",
        );
        add(
            format!("agg4_{x}"),
            format!("SELECT sum(a), sum(b), sum(c), count(*) FROM {t}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "4 aggregates",
        );
        add(
            format!("qual4_{x}"),
            format!("SELECT count(*) FROM {t} WHERE {q4}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "filter, 4 operators",
        );
        add(
            format!("qual8_{x}"),
            format!("SELECT count(*) FROM {t} WHERE {q8}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "filter, 8 operators",
        );
        add(
            format!("sort_{x}"),
            format!("SELECT a FROM {t} ORDER BY b"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "in-memory sort",
        );
        add(
            format!("topn_{x}"),
            format!("SELECT a FROM {t} ORDER BY b LIMIT 100"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "top-100 heapsort",
        );
        add(
            format!("hjs_{x}"),
            format!("SELECT count(*) FROM {t} JOIN dim_s ON {t}.c = dim_s.id"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "hash join, 50k-row build",
        );
        add(
            format!("hjl_{x}"),
            format!("SELECT count(*) FROM {t} JOIN dim_l ON {t}.c = dim_l.id"),
            serial(&[]),
            How::Explain,
            s,
            1,
            "hash join, 200k-row build",
        );
        add(
            format!("client_{x}"),
            format!("SELECT a FROM {t}"),
            serial(&[]),
            How::Client,
            s,
            1,
            "rows sent to this client",
        );
    }
    for (x, t) in [("w", "wide"), ("h", "hot")] {
        let s = Stage::Serial;
        let what = if x == "w" { "wide rows" } else { "table in shared buffers" };
        add(format!("count_{x}"), format!("SELECT count(*) FROM {t}"), serial(&[]), How::Explain, s, 1, what);
        add(
            format!("agg4_{x}"),
            format!("SELECT sum(a), sum(b), sum(c), count(*) FROM {t}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            what,
        );
        add(
            format!("qual4_{x}"),
            format!("SELECT count(*) FROM {t} WHERE {q4}"),
            serial(&[]),
            How::Explain,
            s,
            1,
            what,
        );
    }
    add(
        "spill_m".into(),
        "SELECT a FROM n_m ORDER BY b".into(),
        serial(&[("work_mem", "4MB")]),
        How::Explain,
        Stage::Serial,
        1,
        "external merge sort",
    );
    add(
        "index_m".into(),
        "SELECT sum(b) FROM n_m WHERE id >= 0".into(),
        serial(&[("enable_seqscan", "off"), ("enable_bitmapscan", "off")]),
        How::Explain,
        Stage::Serial,
        1,
        "full index scan in heap order",
    );
    // Hashed SubPlan builds of 0.5M, 1M and 2M rows probed by only 1,000 outer rows: the
    // build cost apart from probes into a large table.
    for (x, t) in [("s", "n_s"), ("m", "n_m"), ("l", "n_l")] {
        add(
            format!("subplan_{x}"),
            format!("SELECT count(*) FROM tiny_sc WHERE a NOT IN (SELECT id FROM {t})"),
            serial(&[]),
            How::Explain,
            Stage::Serial,
            1,
            "hashed SubPlan build, 1,000 probes",
        );
    }
    add(
        "nestloop_m".into(),
        "SELECT count(*) FROM dim_l d JOIN n_m t ON t.id = d.id".into(),
        serial(&[
            ("enable_hashjoin", "off"),
            ("enable_mergejoin", "off"),
            ("enable_memoize", "off"),
            ("enable_material", "off"),
        ]),
        How::Explain,
        Stage::Serial,
        1,
        "nested loop, index lookup per outer row",
    );
    // Start-up: tiny tables, 3 runs per repetition.
    let par = |w: &str, extra: &[(&str, &str)]| {
        let mut v = g(&[
            ("max_parallel_workers_per_gather", w),
            ("parallel_setup_cost", "0"),
            ("parallel_tuple_cost", "0"),
            ("min_parallel_table_scan_size", "0"),
            ("work_mem", "1GB"),
        ]);
        v.extend(g(extra));
        v
    };
    add(
        "su_serial".into(),
        "SELECT count(*) FROM tiny".into(),
        serial(&[]),
        How::Explain,
        Stage::Startup,
        3,
        "tiny serial count(*)",
    );
    add(
        "su_noworkers".into(),
        "SELECT count(*) FROM tiny".into(),
        par("2", &[("max_parallel_workers", "0")]),
        How::Explain,
        Stage::Startup,
        3,
        "parallel plan, no worker available",
    );
    for w in 1..=4 {
        add(
            format!("su_w{w}"),
            "SELECT count(*) FROM tiny".into(),
            par(&w.to_string(), &[]),
            How::Explain,
            Stage::Startup,
            3,
            "tiny parallel count(*)",
        );
    }
    add(
        "su_single".into(),
        "SELECT count(*) FROM tiny_sc".into(),
        g(&[("force_parallel_mode", "on"), ("work_mem", "1GB")]),
        How::ExplainTiming,
        Stage::Startup,
        3,
        "single-copy Gather (force_parallel_mode)",
    );
    // Tuple queues: every row of n_m crosses a queue; then Gather Merge over full sorts.
    for (id, w, leader) in
        [("gq_w1_off", "1", "off"), ("gq_w2_off", "2", "off"), ("gq_w1_on", "1", "on"), ("gq_w2_on", "2", "on")]
    {
        add(
            id.into(),
            "SELECT a FROM n_m".into(),
            par(w, &[("parallel_leader_participation", leader)]),
            How::Explain,
            Stage::Queue,
            1,
            "every row through the Gather",
        );
    }
    for (id, w, leader) in [("gm_w2_on", "2", "on"), ("gm_w1_off", "1", "off")] {
        add(
            id.into(),
            "SELECT a FROM n_m ORDER BY b".into(),
            par(w, &[("parallel_leader_participation", leader)]),
            How::Explain,
            Stage::Queue,
            1,
            "Gather Merge over per-participant sorts",
        );
    }
    p
}

/// Throughput of two concurrent serial scans over one: median over `pairs` alternations of
/// (one scan alone, two side by side on two connections).
fn parallel_capacity(client: &mut Client, dsn: &str, pairs: usize) -> Result<f64> {
    let mut other = Client::connect(dsn, NoTls).map_err(|e| Error::Postgres(format!("connecting: {e}")))?;
    let gucs = vec![("max_parallel_workers_per_gather".to_string(), "0".to_string())];
    apply_gucs(client, SCHEMA, &gucs)?;
    apply_gucs(&mut other, SCHEMA, &gucs)?;
    let sql = "SELECT count(*) FROM n_m";
    let mut ratios = vec![];
    for _ in 0..pairs.max(3) {
        let alone = explain_measure(client, "ANALYZE, TIMING OFF", sql)?.0.ms;
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| explain_measure(&mut other, "ANALYZE, TIMING OFF", sql).map(|m| m.0.ms));
            let a = explain_measure(client, "ANALYZE, TIMING OFF", sql).map(|m| m.0.ms);
            (a, h.join().unwrap_or_else(|_| Err(Error::Postgres("concurrent scan thread panicked".into()))))
        });
        let (a, b) = (a?, b?);
        let after = explain_measure(client, "ANALYZE, TIMING OFF", sql)?.0.ms;
        ratios.push(2.0 * 0.5 * (alone + after) / (0.5 * (a + b)));
    }
    Ok(median(&ratios))
}

// ---------------------------------------------------------------------------------------
// Schema guard
// ---------------------------------------------------------------------------------------

/// Drops the probe schema when dropped (also on error and while unwinding), over its own
/// connection.
struct SchemaGuard {
    dsn: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        match Client::connect(&self.dsn, NoTls) {
            Ok(mut c) => {
                if let Err(e) = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")) {
                    eprintln!("pqsim: could not drop schema {SCHEMA}: {e}");
                }
            }
            Err(e) => eprintln!("pqsim: could not reconnect to drop schema {SCHEMA}: {e}"),
        }
    }
}

fn create_schema(client: &mut Client, dsn: &str) -> Result<SchemaGuard> {
    let sql = "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1";
    let rows = client.query(sql, &[&SCHEMA]).map_err(|e| pgq(sql, e))?;
    if let Some(r) = rows.first() {
        let comment: Option<String> = r.get(0);
        if comment.as_deref() != Some(MARKER) {
            return Err(Error::input(format!(
                "schema {SCHEMA} exists and was not made by pqsim calibrate: refusing to touch it"
            )));
        }
        eprintln!("pqsim: dropping probe schema left by an interrupted run");
        client.batch_execute(&format!("DROP SCHEMA {SCHEMA} CASCADE")).map_err(|e| pgq("DROP SCHEMA", e))?;
    }
    let sql = format!("CREATE SCHEMA {SCHEMA}; COMMENT ON SCHEMA {SCHEMA} IS {}", lit(MARKER));
    client.batch_execute(&sql).map_err(|e| pgq(&sql, e))?;
    Ok(SchemaGuard { dsn: dsn.to_string() })
}

// ---------------------------------------------------------------------------------------
// Simulation-in-the-loop fit
// ---------------------------------------------------------------------------------------

/// One parameter of a fit through the simulator.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub init: f64,
}

#[derive(Debug, Clone)]
pub struct SimFit {
    pub values: Vec<f64>,
    /// Root mean square relative error at the optimum.
    pub rms: f64,
    pub predicted: Vec<f64>,
    /// Per parameter, the range over which the rms error stays within 1 percentage point of
    /// the optimum (the others held): wide ranges mean the probes hardly determine it.
    pub ranges: Vec<(f64, f64)>,
    pub evaluations: usize,
}

/// Minimize the rms relative error of `predict(θ)` against `measured` by coordinate search:
/// a grid over each parameter's range, then golden-section between the best grid neighbours;
/// rounds until no parameter improves.
/// Objective values already simulated, keyed by the parameters' bits.
type EvalCache = HashMap<Vec<u64>, (f64, Vec<f64>)>;
type Eval<'a> = dyn FnMut(&[f64], &mut EvalCache) -> Result<(f64, Vec<f64>)> + 'a;

pub fn sim_fit(
    params: &[Param],
    measured: &[f64],
    predict: &mut dyn FnMut(&[f64]) -> Result<Vec<f64>>,
) -> Result<SimFit> {
    let mut cache: EvalCache = HashMap::new();
    let mut evals = 0usize;
    let mut eval = |theta: &[f64], cache: &mut EvalCache| -> Result<(f64, Vec<f64>)> {
        let key: Vec<u64> = theta.iter().map(|v| ((v * 1000.0).round() / 1000.0).to_bits()).collect();
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        evals += 1;
        let pred = predict(theta)?;
        let rms =
            (pred.iter().zip(measured).map(|(p, m)| ((p - m) / m).powi(2)).sum::<f64>() / measured.len() as f64).sqrt();
        cache.insert(key, (rms, pred.clone()));
        Ok((rms, pred))
    };
    let mut theta: Vec<f64> = params.iter().map(|p| p.init).collect();
    let (mut best, _) = eval(&theta, &mut cache)?;
    for _round in 0..5 {
        let before = best;
        for (k, p) in params.iter().enumerate() {
            // Grid: geometric from lo (or lo + small) to hi, plus the current value.
            let mut grid = vec![p.lo];
            let start = if p.lo > 0.0 { p.lo } else { (p.hi / 200.0).max(1e-9) };
            let n = 14;
            for i in 0..n {
                grid.push(start * (p.hi / start).powf(i as f64 / (n - 1) as f64));
            }
            grid.push(theta[k]);
            grid.sort_by(f64::total_cmp);
            grid.dedup();
            let mut scores = vec![];
            for &v in &grid {
                let mut t = theta.clone();
                t[k] = v;
                scores.push(eval(&t, &mut cache)?.0);
            }
            let i = (0..grid.len()).min_by(|a, b| scores[*a].total_cmp(&scores[*b])).unwrap_or(0);
            let (mut a, mut b) = (grid[i.saturating_sub(1)], grid[(i + 1).min(grid.len() - 1)]);
            let mut x_best = grid[i];
            let mut f_best = scores[i];
            // Golden-section search on [a, b].
            let gr = (5f64.sqrt() - 1.0) / 2.0;
            let mut c = b - gr * (b - a);
            let mut d = a + gr * (b - a);
            let f_at = |v: f64, cache: &mut EvalCache, eval: &mut Eval| {
                let mut t = theta.clone();
                t[k] = v;
                eval(&t, cache).map(|r| r.0)
            };
            let mut fc = f_at(c, &mut cache, &mut eval)?;
            let mut fd = f_at(d, &mut cache, &mut eval)?;
            for _ in 0..14 {
                if (b - a).abs() <= 1e-3 * (1.0 + x_best.abs()) {
                    break;
                }
                if fc < fd {
                    b = d;
                    d = c;
                    fd = fc;
                    c = b - gr * (b - a);
                    fc = f_at(c, &mut cache, &mut eval)?;
                } else {
                    a = c;
                    c = d;
                    fc = fd;
                    d = a + gr * (b - a);
                    fd = f_at(d, &mut cache, &mut eval)?;
                }
            }
            for (x, fx) in [(c, fc), (d, fd)] {
                if fx < f_best {
                    f_best = fx;
                    x_best = x;
                }
            }
            if f_best < best {
                best = f_best;
                theta[k] = x_best;
            }
        }
        // Coordinate steps crawl along a valley when parameters trade off against each other
        // (send vs receive cost): polish with Nelder-Mead inside the bounds.
        let n = params.len();
        let clamp = |t: &mut Vec<f64>| {
            for (v, p) in t.iter_mut().zip(params) {
                *v = v.clamp(p.lo, p.hi);
            }
        };
        let mut simplex: Vec<(Vec<f64>, f64)> = vec![(theta.clone(), best)];
        for k in 0..n {
            let mut t = theta.clone();
            let step = (theta[k].abs() * 0.25).max((params[k].hi - params[k].lo) / 50.0);
            t[k] = if t[k] + step <= params[k].hi { t[k] + step } else { t[k] - step };
            clamp(&mut t);
            let f = eval(&t, &mut cache)?.0;
            simplex.push((t, f));
        }
        for _ in 0..(60 * n) {
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let spread = simplex[n].1 - simplex[0].1;
            if spread <= 1e-7 {
                break;
            }
            let centroid: Vec<f64> =
                (0..n).map(|k| simplex[..n].iter().map(|(t, _)| t[k]).sum::<f64>() / n as f64).collect();
            let worst = simplex[n].clone();
            let towards = |a: f64| -> Vec<f64> {
                let mut t: Vec<f64> = (0..n).map(|k| centroid[k] + a * (worst.0[k] - centroid[k])).collect();
                clamp(&mut t);
                t
            };
            let xr = towards(-1.0);
            let fr = eval(&xr, &mut cache)?.0;
            if fr < simplex[0].1 {
                let xe = towards(-2.0);
                let fe = eval(&xe, &mut cache)?.0;
                simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
            } else if fr < simplex[n - 1].1 {
                simplex[n] = (xr, fr);
            } else {
                let xc = towards(if fr < worst.1 { -0.5 } else { 0.5 });
                let fcn = eval(&xc, &mut cache)?.0;
                if fcn < worst.1.min(fr) {
                    simplex[n] = (xc, fcn);
                } else {
                    // Shrink towards the best.
                    let b = simplex[0].0.clone();
                    for item in simplex.iter_mut().skip(1) {
                        let mut t: Vec<f64> = (0..n).map(|k| b[k] + 0.5 * (item.0[k] - b[k])).collect();
                        clamp(&mut t);
                        let f = eval(&t, &mut cache)?.0;
                        *item = (t, f);
                    }
                }
            }
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if simplex[0].1 < best {
            best = simplex[0].1;
            theta = simplex[0].0.clone();
        }
        if before - best <= 1e-5 {
            break;
        }
    }
    let (rms, predicted) = eval(&theta, &mut cache)?;
    // Flatness: how far each parameter can move before the rms error rises by 0.01.
    let mut ranges = vec![];
    for (k, p) in params.iter().enumerate() {
        let mut bounds = [theta[k], theta[k]];
        for (dir, bound) in [(-1.0f64, 0usize), (1.0, 1)] {
            let mut step = (theta[k].abs() * 0.05).max((p.hi - p.lo) / 400.0);
            let mut v = theta[k];
            for _ in 0..40 {
                let next = (v + dir * step).clamp(p.lo, p.hi);
                if next == v {
                    break;
                }
                let mut t = theta.clone();
                t[k] = next;
                if eval(&t, &mut cache)?.0 > rms + 0.01 {
                    break;
                }
                v = next;
                step *= 1.5;
            }
            bounds[bound] = v;
        }
        ranges.push((bounds[0], bounds[1]));
    }
    Ok(SimFit { values: theta, rms, predicted, ranges, evaluations: evals })
}

// ---------------------------------------------------------------------------------------
// The calibration
// ---------------------------------------------------------------------------------------

struct ProbeResult {
    probe: Probe,
    runs: Vec<Measured>,
    scenario: Option<Scenario>,
    /// Fraction of the blocks the plan touched that were read from the OS (BUFFERS).
    read_fraction: f64,
    import_error: Option<String>,
}

impl ProbeResult {
    fn median_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.ms).collect::<Vec<_>>())
    }
}

/// Everything a calibration produced, for the profile and the report.
pub struct Calibration {
    pub hw: Hardware,
    pub text: String,
}

pub fn run_cli(a: &CalibrateArgs) -> Result<()> {
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| a.output.file_stem().and_then(|s| s.to_str()).unwrap_or("calibrated").to_string());
    let cal = calibrate(&a.dsn, a.scale, a.reps as usize, &name, a.wait_quiet)?;
    if let Some(dir) = a.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&a.output, &cal.text).map_err(|e| Error::io(&a.output, e))?;
    // The profile must load with the loader everything else uses.
    crate::config::load_hardware(&a.output, &[])?;
    eprintln!("pqsim calibrate: wrote {}", a.output.display());
    Ok(())
}

fn is_local(dsn: &str) -> bool {
    let host = dsn
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("host="))
        .map(str::to_string)
        .or_else(|| std::env::var("PGHOST").ok());
    match host {
        None => true,
        Some(h) => h.starts_with('/') || h == "localhost" || h == "127.0.0.1" || h == "::1",
    }
}

pub fn calibrate(dsn: &str, scale: u64, reps: usize, name: &str, wait: f64) -> Result<Calibration> {
    let t_start = Instant::now();
    let started_unix = now_unix();
    let mut client = Client::connect(dsn, NoTls).map_err(|e| Error::Postgres(format!("connecting: {e}")))?;
    let version = probe::show(&mut client, "server_version").map_err(pg)?;
    if !version.starts_with("15") {
        eprintln!("pqsim: warning: server {version} is not PostgreSQL 15, the version pqsim models");
    }
    let sb_sql = "SELECT setting::int8 FROM pg_settings WHERE name = 'shared_buffers'";
    let sb_pages: i64 = client.query_one(sb_sql, &[]).map_err(|e| pgq(sb_sql, e))?.get(0);
    let max_wp: i64 = probe::show(&mut client, "max_worker_processes").map_err(pg)?.parse().unwrap_or(8);
    if !is_local(dsn) {
        eprintln!("pqsim: warning: the server is not on this machine; `cores` is this machine's CPU count");
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let z = sizes(scale, sb_pages.max(16) as u64);
    let probes = probes();
    eprintln!(
        "pqsim calibrate: PostgreSQL {version}, {cores} cores, probe tables {}/{}/{} rows (+ wide {}, in-buffers {}), {} probes x {reps}",
        z.s,
        z.m,
        z.l,
        z.wide,
        z.hot,
        probes.len()
    );

    // -- tables
    let guard = create_schema(&mut client, dsn)?;
    let t_load = Instant::now();
    apply_gucs(&mut client, SCHEMA, &[])?;
    for sql in setup_sql(&z) {
        client.batch_execute(&sql).map_err(|e| pgq(&sql, e))?;
    }
    client.batch_execute("VACUUM ANALYZE").map_err(|e| pgq("VACUUM ANALYZE", e))?;
    let stats = catalog_stats(&mut client, SCHEMA)?;
    eprintln!("pqsim calibrate: loaded and vacuumed in {:.1} s", t_load.elapsed().as_secs_f64());

    // -- warm-up: every probe once, with the plan for the model
    let mut results: Vec<ProbeResult> = vec![];
    for p in &probes {
        apply_gucs(&mut client, SCHEMA, &p.gucs)?;
        let (m, plan) = explain_measure(&mut client, "ANALYZE, TIMING OFF, BUFFERS, VERBOSE, SETTINGS", &p.sql)?;
        let opts = ImportOptions {
            name: p.id.clone(),
            source: format!("pqsim calibrate probe {}", p.id),
            sql: p.sql.clone(),
            table_stats: stats.clone(),
            client_output: p.how == How::Client,
        };
        let (scenario, import_error) = match import_plan(&plan, &opts).and_then(|i| check_loads(&i.toml)) {
            Ok(sc) => (Some(sc), None),
            Err(e) => {
                eprintln!("pqsim: warning: probe {} left out: {e}", p.id);
                (None, Some(e.to_string()))
            }
        };
        let rf = if m.hit + m.read > 0 { m.read as f64 / (m.hit + m.read) as f64 } else { 0.0 };
        results.push(ProbeResult { probe: p.clone(), runs: vec![], scenario, read_fraction: rf, import_error });
    }

    // -- timed, interleaved rounds; a round during which other processes used the CPU is
    // discarded and run again once the machine is quiet (measuring.md)
    let postmaster = postmaster_pid(&mut client);
    if postmaster.is_none() {
        eprintln!("pqsim: warning: cannot see the server's processes: other load is judged from idle windows only");
    }
    let (busy0, load0, quiet0) = wait_quiet(wait)?;
    let mut busy_max = busy0;
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let mut read_fracs: Vec<Vec<f64>> = vec![vec![]; results.len()];
    let mut round_busy: Vec<f64> = vec![];
    let mut all_refs: Vec<f64> = vec![];
    let mut discarded = 0usize;
    let mut rep = 0usize;
    while rep < reps {
        let mut order: Vec<usize> = vec![];
        for (i, r) in results.iter().enumerate() {
            for _ in 0..r.probe.per_rep {
                order.push(i);
            }
        }
        order.shuffle(&mut rng);
        let t_rep = Instant::now();
        let meter = CpuMeter::start(postmaster)?;
        let mut jobs = order.iter().map(|&i| {
            let p = &results[i].probe;
            let options = match p.how {
                How::Explain => "ANALYZE, TIMING OFF, BUFFERS",
                How::ExplainTiming => "ANALYZE, BUFFERS",
                How::Client => "client",
            };
            (p.gucs.clone(), p.sql.clone(), options)
        });
        let (measured, refs) = measure_with_reference(&mut client, SCHEMA, &mut jobs)?;
        let round: Vec<(usize, Measured)> = order.iter().copied().zip(measured).collect();
        let others = meter.others_busy()?;
        let (idle_busy, _) = idle_window(1.0)?;
        let loaded = others > BUSY_LIMIT || (others.is_nan() && idle_busy > BUSY_LIMIT);
        if loaded && discarded < reps {
            discarded += 1;
            eprintln!(
                "pqsim calibrate: round {} discarded: other processes used {:.2} CPUs during it; waiting for quiet",
                rep + 1,
                if others.is_nan() { idle_busy } else { others }
            );
            wait_quiet(wait)?;
            continue;
        }
        for (i, m) in round {
            if m.hit + m.read > 0 {
                read_fracs[i].push(m.read as f64 / (m.hit + m.read) as f64);
            }
            results[i].runs.push(m);
        }
        all_refs.extend(refs);
        let b = if others.is_nan() { idle_busy } else { others };
        busy_max = busy_max.max(b);
        round_busy.push(b);
        rep += 1;
        eprintln!(
            "pqsim calibrate: round {rep}/{reps} in {:.1} s (other processes: {b:.2} CPUs{})",
            t_rep.elapsed().as_secs_f64(),
            if loaded { ", LOADED: kept, flagged" } else { "" }
        );
    }
    // Diagnostic (not used by the model): how much faster two CPU-bound serial scans run side
    // by side than one after the other. `cores` says 2; this says what two busy vCPUs give.
    let capacity = parallel_capacity(&mut client, dsn, reps.min(7))?;
    eprintln!("pqsim calibrate: two concurrent scans ran {capacity:.2}x as fast as one (2.0 = two full cores)");
    let (busy_end, load_end) = idle_window(1.0)?;
    busy_max = busy_max.max(busy_end);
    let raw_cvs: Vec<f64> = results
        .iter()
        .filter(|r| r.runs.len() >= 3)
        .map(|r| robust_cv(&r.runs.iter().map(|m| m.ms).collect::<Vec<_>>()))
        .filter(|v| v.is_finite())
        .collect();
    let raw_cv_median = median(&raw_cvs);
    // Unit costs are for the machine at its uncontended speed: the 10th percentile of the
    // reference times. Every run is rescaled to it.
    let anchor = quantile(&all_refs, 0.1);
    for r in results.iter_mut() {
        for m in r.runs.iter_mut() {
            let f = if m.ref_ms > 0.0 { anchor / m.ref_ms } else { 1.0 };
            m.ms *= f;
            m.gather_startup_ms = m.gather_startup_ms.map(|v| v * f);
            m.ref_ms = anchor;
        }
    }
    eprintln!(
        "pqsim calibrate: speed reference {:.2} ms (10th percentile; median {:.2}, 90th percentile {:.2}): runs rescaled to it",
        anchor,
        median(&all_refs),
        quantile(&all_refs, 0.9)
    );
    for (i, r) in results.iter_mut().enumerate() {
        if !read_fracs[i].is_empty() {
            r.read_fraction = median(&read_fracs[i]);
        }
    }
    // Client probes read like their EXPLAIN twins.
    let twin_rf: HashMap<String, f64> =
        results.iter().filter(|r| r.probe.how != How::Client).map(|r| (r.probe.sql.clone(), r.read_fraction)).collect();
    for r in results.iter_mut().filter(|r| r.probe.how == How::Client) {
        if let Some(rf) = twin_rf.get(&r.probe.sql) {
            r.read_fraction = *rf;
        }
    }
    let launched_short: Vec<String> = results
        .iter()
        .filter(|r| r.runs.iter().any(|m| m.launched.zip(m.planned).is_some_and(|(l, p)| l < p)))
        .filter(|r| r.probe.id != "su_noworkers")
        .map(|r| r.probe.id.clone())
        .collect();
    if !launched_short.is_empty() {
        eprintln!("pqsim: warning: fewer workers than planned in some runs of {}", launched_short.join(", "));
    }

    // -- stage 1: serial unit costs
    let mut hw = provisional();
    hw.name = name.to_string();
    hw.cores = cores;
    let mut basis = hw.clone();
    basis.cpu_noise_cv = 0.0;
    basis.parallel = ParallelCosts {
        leader_setup_ns: 0.0,
        launch_per_worker_ns: 0.0,
        worker_startup_ns: 0.0,
        worker_startup_sigma: 0.0,
        shutdown_per_worker_ns: 0.0,
        tuple_queue_size: 65536.0,
    };
    basis.costs = zero_costs();
    let serial: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].probe.stage == Stage::Serial && results[i].scenario.is_some())
        .collect();
    let unit = 1000.0;
    let mut x = vec![];
    let mut y = vec![];
    for &i in &serial {
        let r = &results[i];
        let sc = r.scenario.as_ref().expect("imported");
        let base = model_ms(sc, &basis, 1)?;
        let mut row = vec![];
        for name in LINEAR_COSTS {
            let mut h = basis.clone();
            *cost_mut(&mut h.costs, name) = unit;
            let mut f = (model_ms(sc, &h, 1)? - base) / unit; // ms per ns of this cost
            if *name == "os_read_page_ns" {
                f *= r.read_fraction;
            }
            row.push(f);
        }
        row.push(if r.probe.how == How::Client { 0.0 } else { 1.0 });
        row.push(if r.probe.how == How::Client { 1.0 } else { 0.0 });
        x.push(row);
        y.push(r.median_ms());
    }
    let w: Vec<f64> = y.iter().map(|v| 1.0 / v).collect();
    let fit = lsq::nnls(&x, &y, &w).map_err(|e| Error::Simulation(format!("serial fit: {e}")))?;
    for (j, name) in LINEAR_COSTS.iter().enumerate() {
        *cost_mut(&mut hw.costs, name) = fit.coef[j];
    }
    let n_lin = LINEAR_COSTS.len();
    let (icpt_explain, icpt_client) = (fit.coef[n_lin], fit.coef[n_lin + 1]);
    eprintln!(
        "pqsim calibrate: serial fit over {} probes: R^2 {:.4}, rms relative error {:.1}%",
        serial.len(),
        fit.r2,
        100.0 * fit.rms_weighted
    );

    // -- stage 2: start-up
    let by_id: HashMap<String, usize> = results.iter().enumerate().map(|(i, r)| (r.probe.id.clone(), i)).collect();
    let med = |id: &str| by_id.get(id).map(|&i| results[i].median_ms()).unwrap_or(f64::NAN);
    let e_serial = med("su_serial");
    let leader_setup_ms = (med("su_noworkers") - e_serial).max(0.0);
    let single = &results[by_id["su_single"]];
    let tails: Vec<f64> = single.runs.iter().filter_map(|m| m.gather_startup_ms.map(|s| (m.ms - s).max(0.0))).collect();
    let shutdown_ms = median(&tails);
    hw.parallel.leader_setup_ns = leader_setup_ms * 1e6;
    hw.parallel.shutdown_per_worker_ns = shutdown_ms * 1e6;
    // Spread of the single-copy worker's time to first tuple (log scale, robust).
    let firsts: Vec<f64> = single.runs.iter().filter_map(|m| m.gather_startup_ms).filter(|v| *v > 0.0).collect();
    let logs: Vec<f64> = firsts.iter().map(|v| v.ln()).collect();
    let lm = median(&logs);
    let sigma = 1.4826 * median(&logs.iter().map(|v| (v - lm).abs()).collect::<Vec<_>>());
    hw.parallel.worker_startup_sigma = if sigma.is_finite() { sigma.clamp(0.0, 2.0) } else { 0.45 };
    let su_ids: Vec<String> = ["su_w1", "su_w2", "su_w3", "su_w4", "su_single"].iter().map(|s| s.to_string()).collect();
    let su_idx: Vec<usize> =
        su_ids.iter().filter_map(|id| by_id.get(id).copied()).filter(|&i| results[i].scenario.is_some()).collect();
    // The model has no per-query executor overhead: compare start-up *differences* to the
    // tiny serial query, predicted the same way.
    let su_meas: Vec<f64> = su_idx.iter().map(|&i| results[i].median_ms() - e_serial).collect();
    let serial_sc = results[by_id["su_serial"]].scenario.clone();
    let su_params = [
        Param { name: "launch_per_worker_us", lo: 0.0, hi: 5000.0, init: 400.0 },
        Param { name: "worker_startup_ms", lo: 0.0, hi: 50.0, init: 2.5 },
    ];
    let hw_su = hw.clone();
    let mut predict_su = |th: &[f64]| -> Result<Vec<f64>> {
        let mut h = hw_su.clone();
        h.parallel.launch_per_worker_ns = th[0] * 1e3;
        h.parallel.worker_startup_ns = th[1] * 1e6;
        let base = match &serial_sc {
            Some(sc) => model_ms(sc, &h, 1)?,
            None => 0.0,
        };
        su_idx
            .iter()
            .map(|&i| model_ms(results[i].scenario.as_ref().expect("imported"), &h, 15).map(|v| (v - base).max(1e-3)))
            .collect()
    };
    let su_fit = sim_fit(&su_params, &su_meas, &mut predict_su)?;
    hw.parallel.launch_per_worker_ns = su_fit.values[0] * 1e3;
    hw.parallel.worker_startup_ns = su_fit.values[1] * 1e6;
    eprintln!(
        "pqsim calibrate: start-up: leader setup {:.3} ms, launch {:.0} us/worker, worker start-up {:.2} ms (sigma {:.2}), shutdown {:.3} ms/worker; rms {:.1}%",
        leader_setup_ms,
        su_fit.values[0],
        su_fit.values[1],
        hw.parallel.worker_startup_sigma,
        shutdown_ms,
        100.0 * su_fit.rms
    );

    // -- stage 3: tuple queues, through the simulator
    let q_idx: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].probe.stage == Stage::Queue && results[i].scenario.is_some())
        .collect();
    let q_meas: Vec<f64> = q_idx.iter().map(|&i| results[i].median_ms() - icpt_explain).collect();
    let q_params = [
        Param { name: "tuple_send_ns", lo: 0.0, hi: 3000.0, init: hw.costs.tuple_send_ns },
        Param { name: "tuple_receive_ns", lo: 0.0, hi: 3000.0, init: hw.costs.tuple_receive_ns },
        Param { name: "gather_merge_tuple_ns", lo: 0.0, hi: 3000.0, init: hw.costs.gather_merge_tuple_ns },
    ];
    let mut hw_q = hw.clone();
    hw_q.cpu_noise_cv = 0.0;
    hw_q.parallel.worker_startup_sigma = 0.0;
    let mut predict_q = |th: &[f64]| -> Result<Vec<f64>> {
        let mut h = hw_q.clone();
        h.costs.tuple_send_ns = th[0];
        h.costs.tuple_receive_ns = th[1];
        h.costs.gather_merge_tuple_ns = th[2];
        q_idx.iter().map(|&i| model_ms(results[i].scenario.as_ref().expect("imported"), &h, 1)).collect()
    };
    let q_fit = sim_fit(&q_params, &q_meas, &mut predict_q)?;
    hw.costs.tuple_send_ns = q_fit.values[0];
    hw.costs.tuple_receive_ns = q_fit.values[1];
    hw.costs.gather_merge_tuple_ns = q_fit.values[2];
    eprintln!(
        "pqsim calibrate: queues: send {:.0} ns, receive {:.0} ns, gather merge {:.0} ns per tuple; rms {:.1}% ({} simulations)",
        q_fit.values[0],
        q_fit.values[1],
        q_fit.values[2],
        100.0 * q_fit.rms,
        q_fit.evaluations
    );

    // -- report
    let cvs: Vec<f64> = results
        .iter()
        .filter(|r| r.runs.len() >= 3)
        .map(|r| robust_cv(&r.runs.iter().map(|m| m.ms).collect::<Vec<_>>()))
        .filter(|v| v.is_finite())
        .collect();
    let warm_rf: Vec<f64> = serial
        .iter()
        .filter(|&&i| ["n_s", "n_m", "n_l", "wide"].iter().any(|t| results[i].probe.sql.contains(&format!("FROM {t}"))))
        .filter(|&&i| {
            results[i].probe.how == How::Explain
                && !results[i].probe.id.starts_with("index")
                && !results[i].probe.id.starts_with("nestloop")
        })
        .map(|&i| results[i].read_fraction)
        .collect();
    let hot_rf: Vec<f64> =
        serial.iter().filter(|&&i| results[i].probe.id.ends_with("_h")).map(|&i| results[i].read_fraction).collect();
    let total_runs: usize = results.iter().map(|r| r.runs.len()).sum::<usize>() + results.len();
    drop(client);
    drop(guard);
    let info = Info {
        version,
        date: iso_utc(started_unix),
        cores,
        scale,
        sizes: z,
        reps,
        total_runs,
        duration_s: t_start.elapsed().as_secs_f64(),
        load_before: load0,
        load_after: load_end,
        busy_before: busy0,
        busy_max,
        round_busy,
        discarded,
        quiet: quiet0 && busy_max < BUSY_LIMIT,
        run_cv_median: median(&cvs),
        warm_read_fraction: median(&warm_rf),
        hot_read_fraction: median(&hot_rf),
        shared_buffers_pages: sb_pages,
        max_worker_processes: max_wp,
        launched_short,
        refs: all_refs.clone(),
        raw_cv_median,
        capacity,
    };
    let text = render(
        &hw,
        &info,
        &fit,
        &serial,
        &results,
        (icpt_explain, icpt_client),
        leader_setup_ms,
        shutdown_ms,
        e_serial,
        &su_fit,
        &su_idx,
        &su_meas,
        &q_fit,
        &q_idx,
        &q_meas,
    );
    Ok(Calibration { hw, text })
}

struct Info {
    version: String,
    date: String,
    cores: f64,
    scale: u64,
    sizes: Sizes,
    reps: usize,
    total_runs: usize,
    duration_s: f64,
    load_before: LoadInfo,
    load_after: LoadInfo,
    busy_before: f64,
    busy_max: f64,
    round_busy: Vec<f64>,
    discarded: usize,
    quiet: bool,
    run_cv_median: f64,
    warm_read_fraction: f64,
    hot_read_fraction: f64,
    shared_buffers_pages: i64,
    max_worker_processes: i64,
    launched_short: Vec<String>,
    refs: Vec<f64>,
    raw_cv_median: f64,
    capacity: f64,
}

fn r3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// A number with about 4 significant digits, as TOML.
fn num(x: f64) -> String {
    crate::import::tnum(if x.abs() >= 100.0 {
        x.round()
    } else if x.abs() >= 1.0 {
        (x * 100.0).round() / 100.0
    } else {
        (x * 10000.0).round() / 10000.0
    })
}

#[allow(clippy::too_many_arguments)]
fn render(
    hw: &Hardware,
    info: &Info,
    fit: &lsq::Fit,
    serial: &[usize],
    results: &[ProbeResult],
    icpt: (f64, f64),
    leader_setup_ms: f64,
    shutdown_ms: f64,
    e_serial: f64,
    su_fit: &SimFit,
    su_idx: &[usize],
    su_meas: &[f64],
    q_fit: &SimFit,
    q_idx: &[usize],
    q_meas: &[f64],
) -> String {
    let mut s = String::new();
    let c = &hw.costs;
    let p = &hw.parallel;
    let se = |name: &str| {
        let j = LINEAR_COSTS.iter().position(|n| *n == name).expect("linear cost");
        if fit.at_bound[j] {
            "held at 0 by the non-negativity constraint".to_string()
        } else if fit.std_err[j].is_finite() {
            format!("± {} (1 s.e.)", num(fit.std_err[j]))
        } else {
            String::new()
        }
    };
    let serial_n = serial.len();
    let l1 = format!("stage-1 NNLS over {serial_n} serial probes");
    let _ = writeln!(
        s,
        "# Hardware profile written by `pqsim calibrate` ({}) against PostgreSQL {}.",
        info.date, info.version
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
            info.cores, info.version
        ))
    );
    let _ = writeln!(
        s,
        "source = {}",
        toml::Value::String(format!("pqsim calibrate --scale {} ({})", info.scale, info.date))
    );
    let _ =
        writeln!(s, "cores = {:<20} # available_parallelism() of this machine (the server is local)", num(info.cores));
    let _ = writeln!(s, "cpu_speed = 1.0           # this machine defines speed 1.0 for its own profile");
    let _ = writeln!(s, "cache = \"warm\"            # probes read tables larger than shared_buffers/4 through a 32-buffer ring: from the OS cache");
    let _ = writeln!(
        s,
        "cpu_noise_cv = {:<13} # not fitted (per-chunk noise); whole-query run-to-run CV: median {:.3} after speed rescaling, {:.3} raw",
        num(hw.cpu_noise_cv),
        info.run_cv_median,
        info.raw_cv_median
    );
    let _ = writeln!(s, "\n[disk]                    # not measured: cache = \"warm\" never reads the disk (values of the provisional profile)");
    let _ = writeln!(s, "seq_read_mb_per_s = {}", num(hw.disk.seq_bytes_per_ns * 1e9 / 1024.0 / 1024.0));
    let _ = writeln!(s, "request_latency_us = {}", num(hw.disk.request_latency_ns / 1e3));
    let _ = writeln!(s, "read_ahead = \"{}kB\"", (hw.disk.read_ahead_bytes / 1024.0).round());
    let _ = writeln!(s, "queue_depth = {}", num(hw.disk.queue_depth));

    let _ = writeln!(s, "\n[costs]                   # ns of CPU per operation at cpu_speed 1.0");
    let line = |s: &mut String, key: &str, v: f64, why: String| {
        let _ = writeln!(s, "{:<32}# {}", format!("{key} = {}", num(v)), why);
    };
    line(
        &mut s,
        "page_ns",
        c.page_ns,
        format!("{l1}: per page of every scan; separated from os_read by the in-buffers table ({})", se("page_ns")),
    );
    line(
        &mut s,
        "os_read_page_ns",
        c.os_read_page_ns,
        format!("{l1}: per block read from the OS (BUFFERS Shared Read) ({})", se("os_read_page_ns")),
    );
    line(
        &mut s,
        "tuple_ns",
        c.tuple_ns,
        format!("{l1}: count_*/agg2_*/agg4_* at 3 sizes, narrow vs wide rows ({})", se("tuple_ns")),
    );
    line(
        &mut s,
        "qual_ns",
        c.qual_ns,
        format!("{l1}: qual4_*/qual8_* (4 and 8 int comparisons) vs count_* ({})", se("qual_ns")),
    );
    line(
        &mut s,
        "agg_transition_ns",
        c.agg_transition_ns,
        format!("{l1}: count_*, agg2_*, agg4_* (1, 2, 4 aggregates per row) ({})", se("agg_transition_ns")),
    );
    line(
        &mut s,
        "hash_build_ns",
        c.hash_build_ns,
        format!("{l1}: subplan_* (hashed SubPlan builds of 0.5-2M rows), hjs_* vs hjl_* (50k vs 200k-row hash join builds) ({})", se("hash_build_ns")),
    );
    line(
        &mut s,
        "hash_probe_ns",
        c.hash_probe_ns,
        format!("{l1}: hjs_*/hjl_* probes at 3 outer sizes ({})", se("hash_probe_ns")),
    );
    line(
        &mut s,
        "sort_tuple_ns",
        c.sort_tuple_ns,
        format!("{l1}: sort_* (full) vs topn_* (top-100) at 3 sizes ({})", se("sort_tuple_ns")),
    );
    line(
        &mut s,
        "sort_compare_ns",
        c.sort_compare_ns,
        format!("{l1}: sort_*/topn_*, comparisons as the model counts them ({})", se("sort_compare_ns")),
    );
    line(
        &mut s,
        "index_tuple_ns",
        c.index_tuple_ns,
        format!("{l1}: index_m (full index scan, heap in index order) ({})", se("index_tuple_ns")),
    );
    line(
        &mut s,
        "index_descent_ns",
        c.index_descent_ns,
        format!("{l1}: nestloop_m (200k index lookups) ({})", se("index_descent_ns")),
    );
    line(&mut s, "tuple_send_ns", c.tuple_send_ns, format!("stage-3 simulator fit to gq_* (every row through the Gather, 1-2 workers, leader on/off): rms {:.1}%, flat over {:.0}..{:.0}", 100.0 * q_fit.rms, q_fit.ranges[0].0, q_fit.ranges[0].1));
    line(
        &mut s,
        "tuple_receive_ns",
        c.tuple_receive_ns,
        format!("stage-3 simulator fit, same probes: flat over {:.0}..{:.0}", q_fit.ranges[1].0, q_fit.ranges[1].1),
    );
    line(
        &mut s,
        "gather_merge_tuple_ns",
        c.gather_merge_tuple_ns,
        format!(
            "stage-3 simulator fit to gm_* (Gather Merge over sorts): flat over {:.0}..{:.0}",
            q_fit.ranges[2].0, q_fit.ranges[2].1
        ),
    );
    line(
        &mut s,
        "client_row_ns",
        c.client_row_ns,
        format!("{l1}: client_* (rows sent to a local client, timed by the client) ({})", se("client_row_ns")),
    );
    line(
        &mut s,
        "temp_page_ns",
        c.temp_page_ns,
        format!("{l1}: spill_m (external merge at work_mem 4MB) vs sort_m ({})", se("temp_page_ns")),
    );
    line(&mut s, "wakeup_ns", c.wakeup_ns, "not measured: provisional (SetLatch -> SIGURG -> epoll wake-up)".into());
    line(
        &mut s,
        "instrument_ns",
        c.instrument_ns,
        "not fitted (probes run TIMING OFF): two clock reads per node call, pg_test_timing 30.5 ns per read + bookkeeping".into(),
    );

    let _ = writeln!(s, "\n[parallel]");
    line(
        &mut s,
        "leader_setup_us",
        p.leader_setup_ns / 1e3,
        format!("su_noworkers - su_serial: parallel plan with max_parallel_workers = 0 vs serial ({:.3} ms)", e_serial),
    );
    line(
        &mut s,
        "launch_per_worker_us",
        p.launch_per_worker_ns / 1e3,
        format!(
            "stage-2 simulator fit to su_w1..4 and su_single minus su_serial: rms {:.1}%, flat over {:.0}..{:.0}",
            100.0 * su_fit.rms,
            su_fit.ranges[0].0,
            su_fit.ranges[0].1
        ),
    );
    line(
        &mut s,
        "worker_startup_ms",
        p.worker_startup_ns / 1e6,
        format!(
            "stage-2 simulator fit, same probes: flat over {:.2}..{:.2} (median of the log-normal)",
            su_fit.ranges[1].0, su_fit.ranges[1].1
        ),
    );
    line(
        &mut s,
        "worker_startup_sigma",
        p.worker_startup_sigma,
        "1.4826 x MAD of ln(single-copy Gather time to first tuple), su_single".into(),
    );
    line(&mut s, "shutdown_per_worker_us", p.shutdown_per_worker_ns / 1e3, format!("su_single: Execution Time - Gather Actual Startup Time (median; ParallelFinish + BgWorkerShutdown, {:.3} ms)", shutdown_ms));
    let _ = writeln!(s, "tuple_queue_size = \"64kB\"   # PARALLEL_TUPLE_QUEUE_SIZE, a PostgreSQL constant");
    let _ = leader_setup_ms;

    // [calibration]
    let _ = writeln!(s, "\n[calibration]");
    let kv = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{k} = {v}");
    };
    let ts = |v: &str| toml::Value::String(v.to_string()).to_string();
    kv(&mut s, "server_version", ts(&info.version));
    kv(&mut s, "date", ts(&info.date));
    kv(&mut s, "cores", num(info.cores));
    kv(&mut s, "shared_buffers_pages", info.shared_buffers_pages.to_string());
    kv(&mut s, "max_worker_processes", info.max_worker_processes.to_string());
    kv(&mut s, "scale_rows", info.scale.to_string());
    kv(
        &mut s,
        "table_rows",
        format!(
            "{{ n_s = {}, n_m = {}, n_l = {}, wide = {}, hot = {}, dim_s = {}, dim_l = {} }}",
            info.sizes.s,
            info.sizes.m,
            info.sizes.l,
            info.sizes.wide,
            info.sizes.hot,
            info.sizes.dim_s,
            info.sizes.dim_l
        ),
    );
    kv(&mut s, "repetitions", info.reps.to_string());
    kv(&mut s, "runs", info.total_runs.to_string());
    kv(&mut s, "duration_s", num(info.duration_s));
    kv(&mut s, "measure", ts("EXPLAIN (ANALYZE, TIMING OFF, BUFFERS) Execution Time, each run rescaled by speed_reference_ms / (reference before + after)/2, median; client_* timed by the client; su_single with TIMING on"));
    kv(
        &mut s,
        "loadavg_before",
        format!("[{}, {}, {}]", num(info.load_before.load1), num(info.load_before.load5), num(info.load_before.load15)),
    );
    kv(
        &mut s,
        "loadavg_after",
        format!("[{}, {}, {}]", num(info.load_after.load1), num(info.load_after.load5), num(info.load_after.load15)),
    );
    kv(&mut s, "other_cpus_busy_before", num(info.busy_before));
    kv(&mut s, "other_cpus_busy_max", num(info.busy_max));
    kv(
        &mut s,
        "other_cpus_busy_per_round",
        format!("[{}]", info.round_busy.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", ")),
    );
    kv(&mut s, "rounds_discarded_for_load", info.discarded.to_string());
    kv(&mut s, "quiet", info.quiet.to_string());
    kv(&mut s, "speed_reference_sql", ts(SPEEDREF_SQL));
    kv(&mut s, "speed_reference_ms", num(quantile(&info.refs, 0.1)));
    kv(&mut s, "speed_reference_median_ms", num(median(&info.refs)));
    kv(&mut s, "speed_reference_p90_ms", num(quantile(&info.refs, 0.9)));
    kv(&mut s, "speed_reference_runs", info.refs.len().to_string());
    kv(&mut s, "run_to_run_cv_median_raw", num(info.raw_cv_median));
    kv(&mut s, "run_to_run_cv_median", num(info.run_cv_median));
    kv(&mut s, "warm_tables_read_fraction", num(info.warm_read_fraction));
    kv(&mut s, "hot_table_read_fraction", num(info.hot_read_fraction));
    if !info.launched_short.is_empty() {
        kv(&mut s, "fewer_workers_than_planned", format!("{:?}", info.launched_short));
    }
    kv(&mut s, "serial_fit_r2", num(fit.r2));
    kv(&mut s, "serial_fit_rms_relative_error", num(fit.rms_weighted));
    let rel: Vec<f64> = fit.residuals.iter().zip(serial).map(|(r, &i)| (r / results[i].median_ms()).abs()).collect();
    kv(&mut s, "serial_fit_max_relative_error", num(rel.iter().cloned().fold(0.0, f64::max)));
    kv(&mut s, "parallel_capacity", num(info.capacity));
    kv(
        &mut s,
        "parallel_capacity_note",
        ts("throughput of two concurrent serial count(*) scans of n_m over one alone (2 = two full cores); diagnostic, not used"),
    );
    kv(&mut s, "warm_page_total_ns", num(c.page_ns + c.os_read_page_ns));
    kv(&mut s, "queue_send_plus_receive_ns", num(c.tuple_send_ns + c.tuple_receive_ns));
    kv(&mut s, "explain_overhead_ms", num(icpt.0));
    kv(&mut s, "client_overhead_ms", num(icpt.1));
    kv(&mut s, "startup_fit_rms_relative_error", num(su_fit.rms));
    kv(&mut s, "queue_fit_rms_relative_error", num(q_fit.rms));
    let left_out: Vec<String> =
        results.iter().filter_map(|r| r.import_error.as_ref().map(|e| format!("{}: {e}", r.probe.id))).collect();
    if !left_out.is_empty() {
        kv(&mut s, "probes_left_out", format!("{left_out:?}"));
    }
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
            r3(fit.fitted[k]),
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
    for id in ["su_serial", "su_noworkers"] {
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
    for (k, &i) in q_idx.iter().enumerate() {
        let r = &results[i];
        let _ = writeln!(
            s,
            "{} = [{}, {}, {}, {}]   # {} (minus explain overhead)",
            r.probe.id,
            r3(q_meas[k]),
            r3(q_fit.predicted[k]),
            r.runs.len(),
            cv_of(r),
            r.probe.what
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_quantiles() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_795_000_000.0), "2026-11-18T11:06:40Z");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9), 4.6);
        assert!((robust_cv(&[10.0, 10.0, 11.0, 9.0, 10.0]) - 0.0).abs() < 1e-12);
    }

    #[test]
    fn sim_fit_recovers_a_known_parameter() {
        // "Simulator": time = 5 ms + 1e-3 · θ0 · rows + max(θ1 · rows, ...) on two probes.
        let rows = [1000.0, 3000.0, 7000.0];
        let truth = [120.0, 40.0];
        let f = |th: &[f64]| -> Vec<f64> {
            rows.iter().map(|r| 5.0 + 1e-3 * th[0] * r + 1e-3 * th[1] * r * (r / 1000.0).sqrt()).collect()
        };
        let measured = f(&truth);
        let params = [
            Param { name: "a", lo: 0.0, hi: 2000.0, init: 300.0 },
            Param { name: "b", lo: 0.0, hi: 2000.0, init: 300.0 },
        ];
        let mut pred = |th: &[f64]| Ok(f(th));
        let fit = sim_fit(&params, &measured, &mut pred).unwrap();
        assert!((fit.values[0] - truth[0]).abs() < 2.0 && (fit.values[1] - truth[1]).abs() < 2.0, "{:?}", fit.values);
        assert!(fit.rms < 1e-3);
        assert!(fit.ranges[0].0 <= fit.values[0] && fit.values[0] <= fit.ranges[0].1);
    }

    #[test]
    fn probe_sizes_keep_the_hot_table_in_shared_buffers() {
        let z = sizes(1_000_000, 16384);
        assert!(z.hot as f64 / 97.0 < 16384.0 / 4.0);
        assert!(z.s as f64 / 97.0 > 16384.0 / 4.0, "the smallest warm table is read through the ring");
        let z = sizes(1_000_000, 1024);
        assert!(z.hot as f64 / 97.0 < 1024.0 / 4.0);
    }

    #[test]
    fn every_linear_cost_has_a_name() {
        let mut c = zero_costs();
        for n in LINEAR_COSTS {
            *cost_mut(&mut c, n) = 1.0;
        }
        assert_eq!(c.page_ns + c.client_row_ns + c.temp_page_ns, 3.0);
        assert_eq!(c.wakeup_ns, 0.0);
    }
}
