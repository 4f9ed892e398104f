//! Measuring helpers for calibration and validation runs against a real server.
//!
//! Which number is which (see docs/validation.md): [`explain_analyze`] reports the
//! server's own `Execution Time` with per-row clock reads (costs real time);
//! [`explain_with`] with `"ANALYZE, TIMING OFF"` is cheaper; [`timed`] is the bare query
//! timed by the client, what a user feels. Record [`load_snapshot`] with every run.

use super::{ExplainPlan, PgError};
use postgres::{Client, SimpleQueryMessage};
use std::time::{Instant, SystemTime};

/// `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) sql`: runs the query (its result rows are
/// discarded by the server) and returns the measured plan.
pub fn explain_analyze(client: &mut Client, sql: &str) -> Result<ExplainPlan, PgError> {
    explain_with(client, "ANALYZE, BUFFERS", sql)
}

/// `EXPLAIN (FORMAT JSON) sql`: the plan and its estimates, without running the query.
pub fn explain(client: &mut Client, sql: &str) -> Result<ExplainPlan, PgError> {
    explain_with(client, "", sql)
}

/// `EXPLAIN (<options>, FORMAT JSON) sql`, e.g. options `"ANALYZE, TIMING OFF"` or
/// `"ANALYZE, VERBOSE, BUFFERS"` (VERBOSE adds per-worker timings in PG15).
pub fn explain_with(client: &mut Client, options: &str, sql: &str) -> Result<ExplainPlan, PgError> {
    let options = options.trim().trim_end_matches(',').trim();
    let stmt = if options.is_empty() {
        format!("EXPLAIN (FORMAT JSON) {}", strip_semicolon(sql))
    } else {
        format!("EXPLAIN ({options}, FORMAT JSON) {}", strip_semicolon(sql))
    };
    let messages = client.simple_query(&stmt).map_err(|e| PgError::query(&stmt, e))?;
    let mut text = String::new();
    for m in &messages {
        if let SimpleQueryMessage::Row(row) = m {
            text.push_str(row.get(0).unwrap_or_default());
            text.push('\n');
        }
    }
    if text.trim().is_empty() {
        return Err(PgError::Protocol(format!("`{stmt}` returned no plan")));
    }
    Ok(ExplainPlan::from_json(&text)?)
}

/// Client-side wall time, in ms, of `runs` executions of the bare `sql` (simple query
/// protocol, like psql: parse, plan, execute, and transfer of all result rows; the rows
/// are received but not kept, so the client adds little CPU of its own).
///
/// No warm-up run is made: run the query once untimed first, and interleave the
/// settings you compare instead of timing one setting many times in a row.
pub fn timed(client: &mut Client, sql: &str, runs: usize) -> Result<Vec<f64>, PgError> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = Instant::now();
        client.batch_execute(sql).map_err(|e| PgError::query(sql, e))?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times)
}

/// Sets session-level GUCs (like `SET name = value`) through `set_config`, so values
/// need no quoting. Names must be plain (possibly dotted) identifiers.
pub fn set_gucs(client: &mut Client, gucs: &[(&str, &str)]) -> Result<(), PgError> {
    const SQL: &str = "SELECT set_config($1, $2, false)";
    for (name, value) in gucs {
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && !name.starts_with(|c: char| c.is_ascii_digit() || c == '.');
        if !ok {
            return Err(PgError::Invalid(format!("GUC name {name:?}")));
        }
        client.query_one(SQL, &[name, value]).map_err(|e| PgError::query(&format!("SET {name} = '{value}'"), e))?;
    }
    Ok(())
}

/// Current value of a GUC (`SHOW name`).
pub fn show(client: &mut Client, name: &str) -> Result<String, PgError> {
    const SQL: &str = "SELECT current_setting($1)";
    let row = client.query_one(SQL, &[&name]).map_err(|e| PgError::query(&format!("SHOW {name}"), e))?;
    Ok(row.get(0))
}

/// Machine load at one instant (from `/proc/loadavg` and `/proc/stat`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadInfo {
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub unix_time: f64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    /// Runnable tasks at that instant (first number of the 4th field of loadavg),
    /// including the reader itself.
    pub runnable: u32,
    /// All tasks (threads) on the machine.
    pub tasks: u32,
    /// Online CPUs.
    pub cpus: usize,
    /// Cumulative non-idle CPU time of the whole machine, in clock ticks (`/proc/stat`
    /// `cpu` line minus idle and iowait); compare two snapshots with
    /// [`LoadInfo::busy_cpus_since`].
    pub cpu_busy_ticks: u64,
    /// Cumulative total CPU time of the machine, in clock ticks.
    pub cpu_total_ticks: u64,
}

impl LoadInfo {
    /// True when the 1-minute load is below `max_load1` (e.g. 0.5 on these 2-core
    /// machines: the measuring notes saw timings nearly double beside a build).
    pub fn is_quiet(&self, max_load1: f64) -> bool {
        self.load1 < max_load1
    }

    /// Average number of busy CPUs between `earlier` and `self` (0..=cpus). Taken over
    /// an idle pause before a run, this shows what other processes are doing.
    pub fn busy_cpus_since(&self, earlier: &LoadInfo) -> Option<f64> {
        let total = self.cpu_total_ticks.checked_sub(earlier.cpu_total_ticks)?;
        let busy = self.cpu_busy_ticks.checked_sub(earlier.cpu_busy_ticks)?;
        if total == 0 {
            return None;
        }
        Some(busy as f64 / total as f64 * self.cpus as f64)
    }
}

/// Reads the current machine load.
pub fn load_snapshot() -> Result<LoadInfo, PgError> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").map_err(|e| PgError::io("reading /proc/loadavg", e))?;
    let stat = std::fs::read_to_string("/proc/stat").map_err(|e| PgError::io("reading /proc/stat", e))?;
    parse_load(&loadavg, &stat)
}

fn parse_load(loadavg: &str, stat: &str) -> Result<LoadInfo, PgError> {
    let bad = |what: &str| PgError::Protocol(format!("cannot parse {what}"));
    let f: Vec<&str> = loadavg.split_whitespace().collect();
    if f.len() < 4 {
        return Err(bad("/proc/loadavg"));
    }
    let num = |s: &str| s.parse::<f64>().map_err(|_| bad("/proc/loadavg"));
    let (runnable, tasks) = f[3].split_once('/').ok_or_else(|| bad("/proc/loadavg"))?;
    let cpu_line = stat.lines().find(|l| l.starts_with("cpu ")).ok_or_else(|| bad("/proc/stat"))?;
    let ticks: Vec<u64> = cpu_line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().map_err(|_| bad("/proc/stat")))
        .collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice (inside user)]
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count()
        .max(1);
    Ok(LoadInfo {
        unix_time: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        load1: num(f[0])?,
        load5: num(f[1])?,
        load15: num(f[2])?,
        runnable: runnable.parse().map_err(|_| bad("/proc/loadavg"))?,
        tasks: tasks.parse().map_err(|_| bad("/proc/loadavg"))?,
        cpus,
        cpu_busy_ticks: total - idle,
        cpu_total_ticks: total,
    })
}

fn strip_semicolon(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let loadavg = "1.52 0.50 0.18 3/100 4520\n";
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n\
                    cpu1 50 3 25 500 10 1 1 2 0 0\nintr 1 2 3\n";
        let l = parse_load(loadavg, stat).unwrap();
        assert_eq!((l.load1, l.load5, l.load15), (1.52, 0.5, 0.18));
        assert_eq!((l.runnable, l.tasks, l.cpus), (3, 100, 2));
        assert_eq!(l.cpu_total_ticks, 1181);
        assert_eq!(l.cpu_busy_ticks, 161);
        assert!(!l.is_quiet(0.5));
        let mut later = l.clone();
        later.cpu_total_ticks += 200;
        later.cpu_busy_ticks += 100;
        assert_eq!(later.busy_cpus_since(&l), Some(1.0));
        assert_eq!(l.busy_cpus_since(&later), None);
        assert!(parse_load("garbage", stat).is_err());
    }

    #[test]
    fn snapshot_of_this_machine() {
        let l = load_snapshot().unwrap();
        assert!(l.cpus >= 1 && l.tasks >= l.runnable && l.load1 >= 0.0);
        assert!(l.cpu_total_ticks >= l.cpu_busy_ticks);
    }

    #[test]
    fn semicolons() {
        assert_eq!(strip_semicolon(" SELECT 1 ; "), "SELECT 1");
    }
}
