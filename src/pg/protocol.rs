//! The measuring protocol shared by `calibrate` and `validate`: one way to set GUCs, the
//! speed reference run before and after every measured run, `EXPLAIN ANALYZE` measurements,
//! waiting for a quiet machine, and the CPU meter that tells whether other processes ran
//! while we measured.
//!
//! Invariant: every measured run is bracketed by two speed-reference runs on the same
//! connection, so a run can be rescaled to a fixed machine speed ([`Measured::normalized`]).

use super::{probe, ExplainNode, ExplainPlan, LoadInfo, PgError};
use postgres::Client;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, PgError>;

/// Quote a setting value as a SQL literal.
pub fn lit(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// `RESET ALL`, then `jit = off`, the search path and `gucs`, in one round trip.
pub fn apply_gucs(client: &mut Client, search_path: &str, gucs: &[(String, String)]) -> Result<()> {
    let mut sql = format!("RESET ALL; SET jit = off; SET search_path = {};", lit(search_path));
    for (k, v) in gucs {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(PgError::Invalid(format!("bad setting name {k:?}")));
        }
        let _ = write!(sql, " SET {k} = {};", lit(v));
    }
    client.batch_execute(&sql).map_err(|e| PgError::query(&sql, e))
}
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
    /// The leader's share of the rows of the parallel-aware scan under a Gather: its total
    /// rows minus the `Worker N` entries' rows, over the total (EXPLAIN ANALYZE with VERBOSE,
    /// which prints the per-worker entries).
    pub leader_row_share: Option<f64>,
    /// CPU time of the leader's backend during the EXPLAIN (ms), from the kernel's per-task
    /// accounting (`/proc/PID/schedstat`), taken by the interleaved timed runs
    /// (`measure_with_reference`): only when the server runs on this machine and its
    /// backend's file is readable (None otherwise). It includes planning and EXPLAIN's own
    /// work, a fraction of a millisecond.
    pub leader_cpu_ms: Option<f64>,
    /// The times the leader's backend slept and was woken during the EXPLAIN (its voluntary
    /// context switches, `/proc/PID/status`), beside `leader_cpu_ms`.
    pub leader_wakes: Option<f64>,
    /// CPU time of the parallel workers of this run (ms): what the postmaster reaped from its
    /// children between the end of the speed-reference run before this one and the end of
    /// the one after (`/proc/PID/stat` cutime + cstime, in 10-ms clock ticks: one run is
    /// exact to a tick, a sum over runs to a tick per run), taken by the interleaved timed
    /// runs (`measure_with_reference`) when the server runs on this machine. A worker exits
    /// within a millisecond of its last row; the speed reference after the run takes about
    /// 18 ms, and a serial run reads 0. Any other child of the postmaster that exits in
    /// between (an autovacuum worker) lands here too.
    pub workers_cpu_ms: Option<f64>,
    /// Mean of the speed-reference times measured just before and just after this run.
    pub ref_ms: f64,
    /// EXPLAIN's Planning Time (ms), when timed by EXPLAIN ANALYZE.
    pub planning_ms: Option<f64>,
}

impl Measured {
    /// A run timed only: no plan facts.
    pub fn timed(ms: f64) -> Measured {
        Measured {
            ms,
            hit: 0,
            read: 0,
            planned: None,
            launched: None,
            gather_startup_ms: None,
            leader_row_share: None,
            leader_cpu_ms: None,
            leader_wakes: None,
            workers_cpu_ms: None,
            ref_ms: 0.0,
            planning_ms: None,
        }
    }
}

impl Measured {
    /// This run's time at the machine speed where the reference takes `anchor_ms`.
    pub fn normalized(&self, anchor_ms: f64) -> f64 {
        self.at_speed(self.ms, anchor_ms)
    }

    /// `ms` of this run (its time, or a process's CPU in it) rescaled as [`Self::normalized`].
    pub fn at_speed(&self, ms: f64, anchor_ms: f64) -> f64 {
        if self.ref_ms > 0.0 && anchor_ms > 0.0 {
            ms * anchor_ms / self.ref_ms
        } else {
            ms
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
/// Rows of the speed reference's table (`SPEEDREF_SETUP`).
pub const SPEEDREF_ROWS: u64 = 300_000;
pub const SPEEDREF_SQL: &str = "SELECT sum(a) FROM speedref";

/// One speed-reference run (serial), in ms.
pub fn speedref(client: &mut Client, search_path: &str) -> Result<f64> {
    apply_gucs(client, search_path, &[("max_parallel_workers_per_gather".into(), "0".into())])?;
    Ok(explain_measure(client, "ANALYZE, TIMING OFF", SPEEDREF_SQL)?.0.ms)
}

/// Runs `runs` in order, each between two speed-reference runs; returns the measurements
/// with `ref_ms` set, and every reference time with when it started (seconds from the first).
#[allow(clippy::type_complexity)]
pub fn measure_with_reference(
    client: &mut Client,
    search_path: &str,
    runs: &mut dyn Iterator<Item = (Vec<(String, String)>, String, &'static str)>,
) -> Result<(Vec<Measured>, Vec<f64>, Vec<f64>)> {
    let t0 = Instant::now();
    let mut at = vec![0.0];
    let mut refs = vec![speedref(client, search_path)?];
    let mut out = vec![];
    // The connection's backend, once: each timed EXPLAIN also takes its CPU time; and the
    // postmaster, whose reaped children's CPU after each run's speed reference is the run's
    // workers'.
    let pid = backend_pid(client);
    let postmaster = postmaster_pid(client);
    let reaped = || postmaster.and_then(proc_ticks).map(|t| t.2);
    let mut reaped_before = reaped();
    for (gucs, sql, options) in runs {
        apply_gucs(client, search_path, &gucs)?;
        let mut m = if options == "client" {
            Measured::timed(probe::timed(client, &sql, 1)?[0])
        } else {
            let (before, woke) = (pid.and_then(task_cpu_ns), pid.and_then(task_sleeps));
            let mut m = explain_measure(client, options, &sql)?.0;
            let after = pid.and_then(task_cpu_ns);
            m.leader_cpu_ms = before.zip(after).map(|(b, a)| a.saturating_sub(b) as f64 / 1e6);
            m.leader_wakes = woke.zip(pid.and_then(task_sleeps)).map(|(b, a)| a.saturating_sub(b) as f64);
            m
        };
        at.push(t0.elapsed().as_secs_f64());
        let r = speedref(client, search_path)?;
        let reaped_after = reaped();
        m.workers_cpu_ms = reaped_before.zip(reaped_after).map(|(b, a)| a.saturating_sub(b) as f64 * TICK_MS);
        reaped_before = reaped_after;
        m.ref_ms = 0.5 * (refs[refs.len() - 1] + r);
        refs.push(r);
        out.push(m);
    }
    Ok((out, refs, at))
}

fn gather_of(p: &ExplainPlan) -> Option<&ExplainNode> {
    p.root.find(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
}

/// `EXPLAIN (<options>, FORMAT JSON)` once; the Execution Time and what came with it.
pub fn explain_measure(client: &mut Client, options: &str, sql: &str) -> Result<(Measured, ExplainPlan)> {
    let plan = probe::explain_with(client, options, sql)?;
    let ms = plan
        .execution_time_ms
        .ok_or_else(|| PgError::Protocol(format!("EXPLAIN ({options}) returned no Execution Time")))?;
    let g = gather_of(&plan);
    let m = Measured {
        ms,
        hit: plan.root.shared_hit_blocks.unwrap_or(0),
        read: plan.root.shared_read_blocks.unwrap_or(0),
        planned: g.and_then(|g| g.workers_planned),
        launched: g.and_then(|g| g.workers_launched),
        gather_startup_ms: g.and_then(|g| g.actual_startup_time),
        leader_row_share: leader_row_share(&plan),
        leader_cpu_ms: None,
        leader_wakes: None,
        workers_cpu_ms: None,
        ref_ms: 0.0,
        planning_ms: plan.planning_time_ms,
    };
    Ok((m, plan))
}

/// The PID of the connection's backend when that process runs on this machine (a process of
/// that PID whose command is `postgres`); None for a remote server.
fn backend_pid(client: &mut Client) -> Option<u32> {
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).ok()?.get(0);
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "postgres").then_some(pid as u32)
}

/// CPU time a process has run so far (ns): the first field of `/proc/PID/schedstat`.
fn task_cpu_ns(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?.split_whitespace().next()?.parse().ok()
}

/// The times a process has gone to sleep so far: `voluntary_ctxt_switches` of
/// `/proc/PID/status`.
fn task_sleeps(pid: u32) -> Option<u64> {
    sleeps_in(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// `voluntary_ctxt_switches` of a `/proc/.../status` text.
fn sleeps_in(status: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:")).and_then(|v| v.trim().parse().ok())
}

/// The leader's share of the rows of the first parallel-aware node that has `Worker N`
/// entries (a Parallel Seq Scan under a Gather with leader participation): the node's total
/// (rows per loop x loops) minus the workers' rows, over the total. None without the
/// entries (EXPLAIN without VERBOSE) or rows.
pub fn leader_row_share(p: &ExplainPlan) -> Option<f64> {
    let n = p.root.find(|n| n.parallel_aware && !n.workers.is_empty())?;
    let total = n.actual_rows_total()?;
    let workers: f64 =
        n.workers.iter().filter_map(|w| w.actual_rows.map(|r| r * w.actual_loops.unwrap_or(1) as f64)).sum();
    (total > 0.0).then(|| ((total - workers) / total).clamp(0.0, 1.0))
}

/// Other processes' CPU use over an idle window of `secs` (nothing of ours runs then).
pub fn idle_window(secs: f64) -> Result<(f64, LoadInfo)> {
    let a = probe::load_snapshot()?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    let b = probe::load_snapshot()?;
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

/// CPU time of a parallel worker's life, read from the kernel's accounting of the server's
/// processes: what the postmaster spent forking each worker (its own CPU time,
/// `/proc/PID/schedstat`, ns) and what each worker spent from fork to exit (the CPU time of
/// the children the postmaster reaped, `/proc/PID/stat` cutime + cstime, in clock ticks: the
/// sum over a batch is exact to a tick). Over a table of one block a worker does next to
/// nothing else: this is the price of a worker, start-up and exit, on a core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerCpu {
    /// The postmaster's CPU per worker launched (ms).
    pub fork_ms: f64,
    /// A worker's CPU from fork to exit (ms).
    pub life_ms: f64,
    /// Workers launched over the batches measured.
    pub workers: u64,
}

/// `(own CPU ns from schedstat, reaped children's ticks)` of the postmaster.
fn postmaster_cpu(pm: u32) -> Option<(u64, u64)> {
    let own = task_cpu_ns(pm)?;
    let (_, _, children) = proc_ticks(pm)?;
    Some((own, children))
}

/// Ms of CPU per clock tick of /proc's cutime/cstime fields (USER_HZ, 100 on Linux).
const TICK_MS: f64 = 10.0;

/// One batch of `per_batch` runs of `sql` (settings already applied) under `EXPLAIN (ANALYZE,
/// TIMING OFF)`, the postmaster's CPU read around it: (its own ns, its reaped children's
/// ticks, workers launched). The last worker's exit is reaped after the leader has seen it
/// stopped: the batch waits 20 ms for the postmaster to account it. None when the
/// postmaster's files cannot be read.
fn reaped_batch(client: &mut Client, pm: u32, sql: &str, per_batch: usize) -> Result<Option<(u64, u64, u64)>> {
    let Some(before) = postmaster_cpu(pm) else { return Ok(None) };
    let mut launched = 0u64;
    for _ in 0..per_batch {
        launched += explain_measure(client, "ANALYZE, TIMING OFF", sql)?.0.launched.unwrap_or(0) as u64;
    }
    std::thread::sleep(Duration::from_millis(20));
    let Some(after) = postmaster_cpu(pm) else { return Ok(None) };
    Ok(Some((after.0.saturating_sub(before.0), after.1.saturating_sub(before.1), launched)))
}

/// One run of each plan (`sql`, settings), left with the last plan's settings applied: the
/// connection's caches and a first fork of a cold postmaster; then the 20 ms the postmaster
/// takes to reap the last worker, so that no warm-up worker's CPU lands in a measured batch
/// ([`reaped_batch`] waits as long after each batch).
fn warm_up(client: &mut Client, search_path: &str, plans: &[(&str, &[(String, String)])]) -> Result<()> {
    for (sql, gucs) in plans {
        apply_gucs(client, search_path, gucs)?;
        explain_measure(client, "ANALYZE, TIMING OFF", sql)?;
    }
    std::thread::sleep(Duration::from_millis(20));
    Ok(())
}

/// Runs `sql` (a parallel query with `gucs`) `per_batch` times in each of `batches` batches
/// under `EXPLAIN (ANALYZE, TIMING OFF)` (which reports the workers launched) and reads the
/// postmaster's CPU around each batch. Per batch: the postmaster's CPU and its reaped
/// children's over the workers launched; the medians of the batches. None when the server
/// is not on this machine, its files are not readable, or no worker was launched. Other
/// children the postmaster reaps meanwhile (an autovacuum worker) count too: the median over
/// batches keeps one such batch out.
pub fn worker_cpu(
    client: &mut Client,
    search_path: &str,
    sql: &str,
    gucs: &[(String, String)],
    batches: usize,
    per_batch: usize,
) -> Result<Option<WorkerCpu>> {
    let Some(pm) = postmaster_pid(client) else { return Ok(None) };
    warm_up(client, search_path, &[(sql, gucs)])?;
    let (mut forks, mut lives, mut workers) = (vec![], vec![], 0u64);
    for _ in 0..batches {
        let Some((own_ns, ticks, launched)) = reaped_batch(client, pm, sql, per_batch)? else { return Ok(None) };
        if launched == 0 {
            continue;
        }
        workers += launched;
        forks.push(own_ns as f64 / 1e6 / launched as f64);
        lives.push(ticks as f64 * TICK_MS / launched as f64);
    }
    if workers == 0 {
        return Ok(None);
    }
    let med = crate::analysis::robust::median;
    Ok(Some(WorkerCpu { fork_ms: med(&forks), life_ms: med(&lives), workers }))
}

/// What a [`SendingMeter`] measured: a parallel worker's CPU from fork to exit (ms, the mean
/// over the workers launched) in a plan that sends every row and in one that counts them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendingCpu {
    pub send_life_ms: f64,
    pub count_life_ms: f64,
    /// Workers launched by each plan.
    pub workers: u64,
    /// Pairs of batches the means are over.
    pub pairs: usize,
}

/// The CPU a worker spends forming and sending rows: two single-copy plans over one table,
/// `send` (every row through the tuple queue) and `count` (the same scan, one row sent), in
/// alternating batches, the postmaster's reaped children's CPU read around each batch
/// ([`worker_cpu`]). The pairs are spread over the calibration's timed rounds ([`Self::round`]
/// runs at the end of each, inside its load check), so that they see the host's states as the
/// timed runs do: on the 2-vCPU VM the difference's level moved by 10-20% over minutes
/// (blocks of 25 pairs 20.5-24.9 ms, 150 pairs in one stretch, 2026-12-06), which more pairs
/// in one stretch of seconds cannot average out (ten pairs after the rounds gave 8.9-15.5 ms
/// over four calibrations of one day, at the typical speed), and the speed reference beside a
/// pair hardly tells its level (correlation 0.11-0.26), so no pair is rescaled by it. The sums
/// are exact to a clock tick per batch.
pub struct SendingMeter {
    postmaster: u32,
    search_path: String,
    plans: [(String, Vec<(String, String)>); 2],
    per_batch: usize,
    pairs_per_round: usize,
    /// Per call of [`Self::round`]: (reaped ticks, workers launched) of each plan.
    calls: Vec<[(u64, u64); 2]>,
}

impl SendingMeter {
    /// None when the server's processes are not readable here. Runs each plan once first
    /// (the connection's caches, a cold postmaster's first fork).
    pub fn new(
        client: &mut Client,
        search_path: &str,
        send: (&str, &[(String, String)]),
        count: (&str, &[(String, String)]),
        per_batch: usize,
        pairs_per_round: usize,
    ) -> Result<Option<Self>> {
        let Some(postmaster) = postmaster_pid(client) else { return Ok(None) };
        if postmaster_cpu(postmaster).is_none() {
            return Ok(None);
        }
        warm_up(client, search_path, &[send, count])?;
        let plan = |(sql, gucs): (&str, &[(String, String)])| (sql.to_string(), gucs.to_vec());
        Ok(Some(SendingMeter {
            postmaster,
            search_path: search_path.to_string(),
            plans: [plan(send), plan(count)],
            per_batch,
            pairs_per_round,
            calls: vec![],
        }))
    }

    /// `pairs_per_round` pairs of batches, which plan goes first alternating from pair to pair.
    /// Leaves `client` with the last plan's settings.
    pub fn round(&mut self, client: &mut Client) -> Result<()> {
        let mut call = [(0u64, 0u64); 2];
        for pair in 0..self.pairs_per_round {
            let first = (self.calls.len() * self.pairs_per_round + pair) % 2;
            for k in [first, 1 - first] {
                let (sql, gucs) = &self.plans[k];
                apply_gucs(client, &self.search_path, gucs)?;
                let Some((_, ticks, launched)) = reaped_batch(client, self.postmaster, sql, self.per_batch)? else {
                    // The postmaster's files went unreadable: this call counts for nothing.
                    self.calls.push([(0, 0); 2]);
                    return Ok(());
                };
                call[k].0 += ticks;
                call[k].1 += launched;
            }
        }
        self.calls.push(call);
        Ok(())
    }

    /// Over the calls whose `kept` is true (a round discarded for other load is left out;
    /// calls beyond `kept` count). None when a plan launched no worker in them.
    pub fn result(&self, kept: &[bool]) -> Option<SendingCpu> {
        let (mut ticks, mut workers, mut calls) = ([0u64; 2], [0u64; 2], 0usize);
        for (i, call) in self.calls.iter().enumerate() {
            if !kept.get(i).copied().unwrap_or(true) {
                continue;
            }
            calls += 1;
            for k in 0..2 {
                ticks[k] += call[k].0;
                workers[k] += call[k].1;
            }
        }
        if workers.contains(&0) {
            return None;
        }
        let life = |k: usize| ticks[k] as f64 * TICK_MS / workers[k] as f64;
        Some(SendingCpu {
            send_life_ms: life(0),
            count_life_ms: life(1),
            workers: workers[0].min(workers[1]),
            pairs: calls * self.pairs_per_round,
        })
    }
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
        Ok(CpuMeter { postmaster, start: probe::load_snapshot()?, ours: our_ticks(postmaster) })
    }

    /// Average CPUs used by other processes since `start` (NaN when the server is not local).
    pub fn others_busy(&self) -> Result<f64> {
        let now = probe::load_snapshot()?;
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

/// One statement to time in [`run_rounds`]: settings, SQL, how (`EXPLAIN` options, or
/// `"client"` for the bare query timed by this client) and runs per round.
#[derive(Debug, Clone)]
pub struct Job {
    pub gucs: Vec<(String, String)>,
    pub sql: String,
    pub options: &'static str,
    pub per_round: usize,
}

/// What [`run_rounds`] measured: per job, its runs (raw, `ref_ms` set).
#[derive(Debug, Clone, Default)]
pub struct Rounds {
    pub runs: Vec<Vec<Measured>>,
    /// Every speed-reference time seen.
    pub refs: Vec<f64>,
    /// Each kept round's references in order: (seconds from the round's first, ms).
    pub ref_series: Vec<Vec<(f64, f64)>>,
    /// CPUs used by other processes in each kept round.
    pub round_busy: Vec<f64>,
    pub discarded: usize,
    /// Rounds kept although loaded (after `reps` discarded ones).
    pub loaded_kept: usize,
    /// Busy CPUs of other processes before the first round, and the maximum seen.
    pub busy_before: f64,
    pub busy_max: f64,
    pub load_before: LoadInfo,
    pub quiet_before: bool,
    /// What the per-round probe of [`run_rounds`] measured, one value per kept round.
    pub per_round: Vec<f64>,
    /// Per call of the per-round probe, in order: whether its round was kept.
    pub probe_kept: Vec<bool>,
}

/// Interleaved timed rounds (measuring.md): `reps` rounds, in each every job `per_round`
/// times in a shuffled order (seeded), each run between two speed-reference runs. A round
/// during which other processes used more than [`BUSY_LIMIT`] CPUs is discarded and run again
/// once the machine is quiet (at most `reps` times; later loaded rounds are kept, flagged).
/// `probe` runs once at the end of every round, inside its load check (a measurement that must
/// see the machine as the timed runs saw it, e.g. what two busy cores give); its values of the
/// kept rounds are in [`Rounds::per_round`]. `label` prefixes the progress lines on stderr.
#[allow(clippy::too_many_arguments)]
pub fn run_rounds(
    client: &mut Client,
    search_path: &str,
    jobs: &[Job],
    reps: usize,
    wait: f64,
    seed: u64,
    label: &str,
    probe: &mut dyn FnMut(&mut Client) -> Result<f64>,
) -> Result<Rounds> {
    let postmaster = postmaster_pid(client);
    if postmaster.is_none() {
        eprintln!("pqsim: warning: cannot see the server's processes: other load is judged from idle windows only");
    }
    let (busy0, load0, quiet0) = wait_quiet(wait)?;
    let mut out = Rounds {
        runs: vec![vec![]; jobs.len()],
        busy_before: busy0,
        busy_max: busy0,
        load_before: load0,
        quiet_before: quiet0,
        ..Default::default()
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rep = 0usize;
    while rep < reps {
        let mut order: Vec<usize> = vec![];
        for (i, j) in jobs.iter().enumerate() {
            order.extend(std::iter::repeat_n(i, j.per_round));
        }
        order.shuffle(&mut rng);
        let t_round = Instant::now();
        let meter = CpuMeter::start(postmaster)?;
        let mut it = order.iter().map(|&i| (jobs[i].gucs.clone(), jobs[i].sql.clone(), jobs[i].options));
        let (measured, refs, at) = measure_with_reference(client, search_path, &mut it)?;
        let extra = probe(client)?;
        let others = meter.others_busy()?;
        let (idle_busy, _) = idle_window(1.0)?;
        let b = if others.is_nan() { idle_busy } else { others };
        let loaded = b > BUSY_LIMIT;
        let discard = loaded && out.discarded < reps;
        out.probe_kept.push(!discard);
        if discard {
            out.discarded += 1;
            eprintln!(
                "{label}: round {} discarded: other processes used {b:.2} CPUs during it; waiting for quiet",
                rep + 1
            );
            wait_quiet(wait)?;
            continue;
        }
        if loaded {
            out.loaded_kept += 1;
        }
        for (i, m) in order.iter().copied().zip(measured) {
            out.runs[i].push(m);
        }
        out.ref_series.push(at.into_iter().zip(refs.iter().copied()).collect());
        out.refs.extend(refs);
        out.per_round.push(extra);
        out.busy_max = out.busy_max.max(b);
        out.round_busy.push(b);
        rep += 1;
        eprintln!(
            "{label}: round {rep}/{reps} in {:.1} s (other processes: {b:.2} CPUs{})",
            t_round.elapsed().as_secs_f64(),
            if loaded { ", LOADED: kept, flagged" } else { "" }
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_leaders_row_share_is_the_scan_total_minus_the_worker_entries() {
        // PostgreSQL 15.18, EXPLAIN (ANALYZE, TIMING OFF, VERBOSE) of a sum over every row of
        // a 6M-row table through a Gather with 2 workers: the Parallel Seq Scan shows 2000000
        // rows per loop over 3 loops, Worker 0 2232496 and Worker 1 2469741 rows.
        let plan = ExplainPlan::from_json(include_str!("testdata/gather_bound_verbose.json")).unwrap();
        let share = leader_row_share(&plan).expect("a share");
        let want = (6_000_000.0 - 2_232_496.0 - 2_469_741.0) / 6_000_000.0;
        assert!((share - want).abs() < 1e-9, "{share} vs {want}");
        // Without VERBOSE there are no Worker entries, hence no share.
        let mut plain = plan.clone();
        fn strip(n: &mut crate::pg::ExplainNode) {
            n.workers.clear();
            n.plans.iter_mut().for_each(strip);
        }
        strip(&mut plain.root);
        assert_eq!(leader_row_share(&plain), None);
    }

    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_795_000_000.0), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(lit("it's"), "'it''s'");
    }

    #[test]
    fn a_process_sleeps_are_counted_by_the_kernel() {
        // What calibration reads around each run to price a wake-up: a task's voluntary
        // context switches grow by at least one for each sleep it takes (this test's thread:
        // a backend is a single-threaded process, read as /proc/PID/status).
        let read = || super::sleeps_in(&std::fs::read_to_string("/proc/thread-self/status").expect("procfs"));
        let before = read().expect("status has voluntary_ctxt_switches");
        for _ in 0..5 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let after = read().expect("readable again");
        assert!(after >= before + 5, "5 sleeps, {} counted", after - before);
    }

    #[test]
    fn the_send_is_measured_over_the_kept_rounds_only() {
        use super::{SendingMeter, TICK_MS};
        // Three rounds' calls: the second's round was discarded for other load and ran
        // again (the fourth call); its workers ran slow (another process on the core).
        let call = |send: u64, count: u64| [(send, 6), (count, 6)];
        let meter = SendingMeter {
            postmaster: 1,
            search_path: String::new(),
            plans: [(String::new(), vec![]), (String::new(), vec![])],
            per_batch: 3,
            pairs_per_round: 2,
            calls: vec![call(27, 13), call(60, 20), call(28, 14), call(26, 12)],
        };
        let kept = [true, false, true, true];
        let r = meter.result(&kept).expect("both plans launched workers");
        assert_eq!(r.workers, 18);
        assert_eq!(r.pairs, 6);
        assert!((r.send_life_ms - 81.0 * TICK_MS / 18.0).abs() < 1e-9, "{r:?}");
        assert!((r.count_life_ms - 39.0 * TICK_MS / 18.0).abs() < 1e-9, "{r:?}");
        // The discarded round would have raised the difference by a third.
        let all = meter.result(&[true; 4]).expect("measured");
        assert!(all.send_life_ms - all.count_life_ms > 1.3 * (r.send_life_ms - r.count_life_ms));
        // A plan that never launched a worker measures nothing.
        let none = SendingMeter { calls: vec![[(5, 0), (3, 2)]], ..meter };
        assert_eq!(none.result(&[true]), None);
    }
}
