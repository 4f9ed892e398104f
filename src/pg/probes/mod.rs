//! The calibration's probes: the probe tables in a private schema (created and dropped by a
//! [`SchemaGuard`]), and the probe queries with the settings they run under. Each probe is
//! chosen so that the unit costs of the hardware profile can be separated (docs/validation.md).

use super::protocol::{apply_gucs, explain_measure, lit, SPEEDREF_SETUP};
use super::PgError;
use crate::analysis::robust::median;
use postgres::{Client, NoTls};

mod parallel;
mod serial_probes;

use parallel::{
    gather_row_probes, parallel_hash_probes, queue_probes, startup_probes, wake_probes, worker_scan_probes,
};
use serial_probes::{serial_probes, timing_probes, wrapper_probes};

type Result<T> = std::result::Result<T, PgError>;

pub const SCHEMA: &str = "pqsim_calibration";
const MARKER: &str = "pqsim calibrate probe tables (dropped at the end of the run)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// EXPLAIN (ANALYZE, TIMING OFF, BUFFERS): Execution Time.
    Explain,
    /// EXPLAIN (ANALYZE, BUFFERS) with per-node timing: for the Gather's start-up time.
    ExplainTiming,
    /// The bare query timed by this client (rows transferred).
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Serial,
    /// EXPLAIN ANALYZE with per-node timing, twin of a serial TIMING OFF probe: `instrument_ns`.
    Timing,
    /// A plan of millions of cheap node calls, under EXPLAIN (ANALYZE, TIMING OFF) and bare:
    /// EXPLAIN ANALYZE's wrapper around each call (`instrument_call_ns`).
    Wrapper,
    Startup,
    /// The price of a row the leader returns through Gather from its own copy of the plan.
    GatherRow,
    /// A parallel scan that sends one row per participant: what a worker pays that the
    /// leader does not (its first touch of each shared-buffer page).
    WorkerScan,
    Queue,
    /// A single-copy Gather of wide rows, twin of `gq_single`: the leader receives as many
    /// rows but sleeps and wakes once per quarter of a queue of far fewer rows, so its CPU
    /// against its wake-ups prices a wake-up (`scheduler.wake_cpu_ns`).
    Wake,
    /// A hash join with one worker, its hash table shared (Parallel Hash) and private to each
    /// participant: what a shared insert costs beyond a private one.
    ParallelHash,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub id: String,
    pub sql: String,
    pub gucs: Vec<(String, String)>,
    pub how: How,
    pub stage: Stage,
    /// Runs per repetition.
    pub per_rep: usize,
    pub what: &'static str,
}

pub(super) fn g(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[derive(Debug, Clone)]
pub struct Sizes {
    pub s: u64,
    pub m: u64,
    pub l: u64,
    pub wide: u64,
    pub hot: u64,
    /// The typed table (TPC-H-like column types).
    pub typed: u64,
    pub dim_s: u64,
    pub dim_l: u64,
    /// The ring table: narrow rows filling about half of shared_buffers, so that a sequential
    /// scan reads it through PostgreSQL's bulk-read ring (more than shared_buffers/4 pages)
    /// and its blocks come from the OS page cache at every scan; 0 when shared_buffers is too
    /// large for a table of at most `RING_MAX_ROWS` to exceed a quarter of it.
    pub ring: u64,
    /// The scattered tables: rows of variable length about 220 (`scat_m`) and 375 (`scat_w`)
    /// bytes apart on their pages, kept well inside shared buffers (`row_miss_ns`).
    pub scat_m: u64,
    pub scat_w: u64,
    /// The shuffled table: the hot table's twin (its shape and size), its blocks put into
    /// shared buffers in a random order (`buffer_jump_ns`); at least [`SHUFFLED_MIN_PAGES`]
    /// pages, so that its scans jump often enough for the price to be measured.
    pub shuffled: u64,
}

/// The fewest pages of the shuffled table (and its twin, the hot table), where shared buffers
/// allow: at 0.5-1 us a jump, a difference of 0.5-1.1 ms between the twins' medians, whose
/// run-to-run noise (robust CV 2-4% of a 6 ms probe, 9 runs) is about 0.1 ms. Twice as many
/// pages (3 December 21:26) pushed the probe tables past 128 MB of shared buffers: every other
/// probe table shrank by 37% and the twins were read in part from the OS.
pub const SHUFFLED_MIN_PAGES: u64 = 1100;

/// The largest ring table calibration loads (about 31,000 pages, 240 MB).
pub const RING_MAX_ROWS: u64 = 3_000_000;

/// Keys of the largest hashed SubPlan build (`build_x`, int4 ids 1..this): 2^22 entries, 100
/// MB of them, past the L2 by five or more doublings, where a random access has stopped
/// getting dearer with the table's size on the VMs measured (`hash_far_bytes`).
pub const BUILD_X_ROWS: u64 = 3_000_000;

/// Share of shared_buffers the probe tables that stay in it may fill together (the rest
/// holds the catalogs, the ring table's ring and what PostgreSQL itself uses).
pub const IN_BUFFERS_BUDGET: f64 = 0.8;

/// Pages of shared buffers the probe tables hold between probes: each table of at most
/// shared_buffers/4 pages whole (a sequential scan reads larger ones through a 32-buffer
/// ring), plus the n_m index and the speed reference's table. Rows per page as loaded.
pub fn in_buffers_pages(z: &Sizes, shared_buffers_pages: u64) -> f64 {
    let quarter = shared_buffers_pages as f64 / 4.0;
    let held = |rows: u64, per_page: f64| {
        let pages = rows as f64 / per_page;
        if pages <= quarter {
            pages
        } else {
            32.0
        }
    };
    held(z.s, 97.0)
        + held(z.m, 97.0)
        + held(z.l, 97.0)
        + held(z.wide, 18.0)
        + held(z.hot, 97.0)
        + held(z.shuffled, 97.0)
        + held(z.typed, 75.0)
        + held(z.scat_m, 38.5)
        + held(z.scat_w, 21.7)
        + held(z.dim_s, 225.0)
        + held(z.dim_l, 226.0)
        + held(z.m, 364.0)
        + held(crate::pg::protocol::SPEEDREF_ROWS, 226.0)
        + held(BUILD_X_ROWS, 226.0)
}

/// The probe tables for `scale` rows in n_m, shrunk (5% at a time) while the tables meant to
/// stay in shared buffers would overfill it ([`IN_BUFFERS_BUDGET`]): otherwise every round
/// evicts some of them, and a probe reads a varying part of its table from the OS (one
/// sitting's count(*) of scat_w varied with a robust CV of 48%, 0-18% of its blocks read).
pub fn sizes(scale: u64, shared_buffers_pages: u64) -> Sizes {
    let budget = IN_BUFFERS_BUDGET * shared_buffers_pages as f64;
    let mut sc = scale;
    loop {
        let z = sizes_at(sc, shared_buffers_pages);
        if sc <= 10_000 || in_buffers_pages(&z, shared_buffers_pages) <= budget {
            return z;
        }
        sc = sc * 19 / 20;
    }
}

fn sizes_at(scale: u64, shared_buffers_pages: u64) -> Sizes {
    // A table stays in shared buffers when it has at most shared_buffers/4 pages (larger
    // ones are read through a 32-buffer ring, heapam.c:initscan); keep the hot table at 60%
    // of that (97 narrow rows per page).
    let hot_max = (shared_buffers_pages as f64 / 4.0 * 0.6 * 97.0) as u64;
    // Each scattered table at most 30% of shared_buffers/4 (37 and 22 rows a page).
    let scat_max = |per_page: f64| (shared_buffers_pages as f64 / 4.0 * 0.3 * per_page) as u64;
    // The hot table and the shuffled one are twins of one size, so that the difference of
    // their times is the jumps alone (`calibration::pairs::buffer_jumps`).
    let twins = (scale * 3 / 10).max(SHUFFLED_MIN_PAGES * 97).min(hot_max).max(1000);
    Sizes {
        s: scale / 2,
        m: scale,
        l: scale * 2,
        wide: scale / 4,
        hot: twins,
        typed: scale / 2,
        scat_m: (scale / 4).min(scat_max(37.0)).max(1000),
        scat_w: (scale / 8).min(scat_max(22.0)).max(1000),
        shuffled: twins,
        dim_s: 50_000,
        dim_l: 200_000,
        ring: {
            // 97 narrow rows per page; half of shared_buffers is twice the ring threshold.
            let rows = shared_buffers_pages * 97 / 2;
            if rows <= RING_MAX_ROWS {
                rows.max(10_000)
            } else {
                0
            }
        },
    }
}

pub fn setup_sql(z: &Sizes) -> Vec<String> {
    // The narrow probe tables' shape: three int4 columns and a text pad (`pad` is its SQL).
    let padded = |name: &str, rows: u64, pad: &str| {
        format!(
            "CREATE TABLE {name} (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO {name} SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 7919)::int8 & 2147483647) % 1000000,
                 (hashint4(g + 104729)::int8 & 2147483647) % 50000, {pad}
               FROM generate_series(1, {rows}) g;"
        )
    };
    let narrow = |name: &str, rows: u64| padded(name, rows, "md5(g::text)");
    // A pad of `mean` characters on average, its length 0.5-1.5x that.
    let scattered = |name: &str, mean: u64, rows: u64| {
        let pad = format!(
            "left(repeat(md5(g::text), {}), ({} + (hashint4(g + 13)::int8 & 2147483647) % {})::int4)",
            mean * 3 / 2 / 32 + 1,
            mean / 2,
            mean + 1
        );
        padded(name, rows, &pad)
    };
    vec![
        narrow("n_s", z.s),
        narrow("n_m", z.m),
        narrow("n_l", z.l),
        narrow("hot", z.hot),
        // The hot table's twin, whose blocks go into shared buffers in a random order
        // (`calibration::shuffle_probe_table`).
        narrow("shuffled", z.shuffled),
        // CREATE TABLE AS writes through PostgreSQL's bulk-write ring, so few of its pages stay
        // in shared buffers; scans read it through the bulk-read ring, from the OS cache.
        format!(
            "CREATE TABLE ring WITH (autovacuum_enabled = off) AS SELECT g::int4 AS id,
                 ((hashint4(g)::int8 & 2147483647) % 1000000)::int4 AS a,
                 ((hashint4(g + 7919)::int8 & 2147483647) % 1000000)::int4 AS b,
                 ((hashint4(g + 104729)::int8 & 2147483647) % 50000)::int4 AS c, md5(g::text) AS pad
               FROM generate_series(1, {}) g;",
            z.ring.max(1)
        ),
        padded("wide", z.wide, "repeat(md5(g::text), 12)"),
        // Rows of variable length (the pad 0.5-1.5x its mean), as real tables' rows are, wider
        // than a cache line apart: their first reads miss where constant-length rows stream.
        scattered("scat_m", 160, z.scat_m),
        scattered("scat_w", 320, z.scat_w),
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
        format!(
            "CREATE TABLE typed (k8 bigint, k4 integer, n1 numeric(15,2), n2 numeric(15,2), n3 numeric(15,2), d1 date,
                 c1 character(1), c10 character(10), v44 character varying(44), d2 date, nl numeric(15,2)) WITH (autovacuum_enabled = off);
             INSERT INTO typed SELECT g, (g % 7)::int4, ((hashint4(g)::int8 & 2147483647) % 5000) / 100.0,
                 ((hashint4(g + 1)::int8 & 2147483647) % 11) / 100.0, ((hashint4(g + 2)::int8 & 2147483647) % 9) / 100.0,
                 date '1992-01-01' + ((hashint4(g + 3)::int8 & 2147483647) % 2500)::int4, (ARRAY['A','N','R'])[1 + g % 3],
                 (ARRAY['MAIL','SHIP','AIR','RAIL','TRUCK','REG AIR','FOB'])[1 + g % 7], left(md5(g::text), 10 + (g % 30)::int4),
                 date '1992-01-01' + (g % 2000)::int4,
                 (100000 + (hashint4(g + 4)::int8 & 2147483647) % 900000) + 0.12
               FROM generate_series(1, {}) g;",
            z.typed
        ),
        format!(
            "CREATE TABLE build_x (id int4) WITH (autovacuum_enabled = off);
             INSERT INTO build_x SELECT g FROM generate_series(1, {BUILD_X_ROWS}) g;"
        ),
        "CREATE INDEX n_m_id ON n_m (id);".into(),
        SPEEDREF_SETUP.into(),
    ]
}

pub(super) fn serial(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = g(&[("max_parallel_workers_per_gather", "0"), ("work_mem", "1GB")]);
    for (k, val) in extra {
        v.retain(|(x, _)| x != k);
        v.push((k.to_string(), val.to_string()));
    }
    v
}

pub(super) fn par(w: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = g(&[
        ("max_parallel_workers_per_gather", w),
        ("parallel_setup_cost", "0"),
        ("parallel_tuple_cost", "0"),
        ("min_parallel_table_scan_size", "0"),
        ("work_mem", "1GB"),
    ]);
    v.extend(g(extra));
    v
}

pub(super) fn probe(
    id: String,
    sql: String,
    gucs: Vec<(String, String)>,
    how: How,
    stage: Stage,
    what: &'static str,
) -> Probe {
    // The start-up and tuple-queue probes are short parallel queries whose prices come from
    // small differences between them (a worker's start-up, a poll of an empty queue): three
    // runs a round each. With one, the queue probes' robust CVs reached 0.17-0.22 in a
    // calibration of 5 December 2026 (18:02) and its fit put a poll at 33 ns and a send at 93,
    // where the day's others found 12-29 and 57-91; every parallel point of the leader-bound
    // Gather came out 13-21% slow on that profile.
    let per_rep = if matches!(stage, Stage::Startup | Stage::Queue | Stage::Wake) { 3 } else { 1 };
    Probe { id, sql, gucs, how, stage, per_rep, what }
}

/// Every probe, in a fixed order: serial, start-up, tuple queues.
pub fn probes() -> Vec<Probe> {
    let mut p = serial_probes();
    p.extend(timing_probes());
    p.extend(wrapper_probes());
    p.extend(startup_probes());
    p.extend(gather_row_probes());
    p.extend(worker_scan_probes());
    p.extend(queue_probes());
    p.extend(wake_probes());
    p.extend(parallel_hash_probes());
    p
}

/// What a fresh process pays per shared-buffer page on its first touch (a minor fault: a
/// parallel worker's page tables map none of shared memory): in each new connection,
/// `SELECT count(*) FROM n_m` (in shared buffers) four times, after a count of `n_s` that
/// warms the catalog caches and a plain `EXPLAIN` of the count of n_m that warms n_m's own
/// (its relation cache entry, its statistics: planning it reads no heap page); per connection
/// [`first_touch_per_page`] (ns), beside the speed reference run on the main connection just
/// before the connection opens and just after its counts (ms, their mean), so that
/// [`first_touch_at`] can take each connection to the typical speed. (Without the `EXPLAIN`
/// the first count also paid for building n_m's catalog entries, a few hundred microseconds
/// spread over its 1,173 pages at the validation's scale.)
///
/// The connections are spread over the calibration's timed rounds ([`Self::round`] at the
/// end of each), as the sending meter's batches are: on the 2-vCPU EPYC VM the price moved
/// by up to 40% within minutes while the scans' speed held (one server, 2026-12-07: 679, 1,145
/// and 834 ns a page, medians of 27-40 connections in a row within 25 minutes, the steady
/// count 11.5-12.1 ms), and four sittings' calibrations, each taking its connections in one
/// stretch of three seconds, priced it 596-1,010 ns at the typical speed, where the same
/// validation plans (count(*) of lineitem by two workers) ran 17.6-18.2 ms: the predictions
/// followed the price (17.5-19.5 ms).
pub struct FirstTouchMeter {
    dsn: String,
    pages: f64,
    per_round: usize,
    /// The speed reference read after the last connection (it serves the next one too).
    before: Option<f64>,
    /// Per connection: (ns a page, the speed reference beside it in ms).
    pub connections: Vec<(f64, f64)>,
}

impl FirstTouchMeter {
    /// `per_round` connections each time [`Self::round`] runs, over a table of `pages`.
    pub fn new(dsn: &str, pages: f64, per_round: usize) -> Self {
        FirstTouchMeter { dsn: dsn.to_string(), pages, per_round: per_round.max(1), before: None, connections: vec![] }
    }

    /// `per_round` fresh connections, the speed reference read on `main` around each.
    pub fn round(&mut self, main: &mut Client) -> Result<()> {
        let gucs = vec![("max_parallel_workers_per_gather".to_string(), "0".to_string())];
        let sql = "SELECT count(*) FROM n_m";
        let plan_only = format!("EXPLAIN {sql}");
        let mut before = match self.before {
            Some(b) => b,
            None => super::protocol::speedref(main, SCHEMA)?,
        };
        for _ in 0..self.per_round {
            let mut fresh = Client::connect(&self.dsn, NoTls)?;
            apply_gucs(&mut fresh, SCHEMA, &gucs)?;
            explain_measure(&mut fresh, "ANALYZE, TIMING OFF", "SELECT count(*) FROM n_s")?;
            fresh.batch_execute(&plan_only).map_err(|e| PgError::query(&plan_only, e))?;
            let mut counts = [0.0; FIRST_TOUCH_COUNTS];
            for c in counts.iter_mut() {
                *c = explain_measure(&mut fresh, "ANALYZE, TIMING OFF", sql)?.0.ms;
            }
            drop(fresh);
            let after = super::protocol::speedref(main, SCHEMA)?;
            self.connections.push((first_touch_per_page(&counts, self.pages), 0.5 * (before + after)));
            before = after;
        }
        self.before = Some(before);
        Ok(())
    }
}

/// The first touch at the typical speed: each connection's price (ns a page) rescaled from
/// the speed reference beside it (ms) to `anchor` (ms of the reference at the typical speed),
/// as every timed run is; the median over the connections, at least 0. On a host whose speed
/// flips between two states every few hundred milliseconds a connection's four counts fall
/// in one state or the other, and the raw median carried whichever state most connections
/// ran in.
pub fn first_touch_at(per_connection: &[(f64, f64)], anchor: f64) -> f64 {
    let v: Vec<f64> = per_connection.iter().filter(|(_, r)| *r > 0.0).map(|(ns, r)| ns * anchor / r).collect();
    median(&v).max(0.0)
}

/// Counts of n_m a fresh connection runs for [`FirstTouchMeter`]: the first and three after it.
pub const FIRST_TOUCH_COUNTS: usize = 4;

/// One fresh connection's first count less the steady state, per page, in ns: the median of
/// the counts after the first, not the second alone. The second count is not yet steady (on a
/// 2-vCPU EPYC VM, 40 connections, 2026-12-05: the second 24-83 ns a page of n_m slower than
/// the third, 174 on the wide table), and the model's other prices come from counts repeated
/// in one connection, so the first touch is what the first count pays beyond those.
pub fn first_touch_per_page(counts_ms: &[f64], pages: f64) -> f64 {
    let Some((first, rest)) = counts_ms.split_first() else { return 0.0 };
    let steady = if rest.is_empty() { *first } else { median(rest) };
    (first - steady) * 1e6 / pages.max(1.0)
}

/// The calibration's [`CapacityProbe`]: the speed reference's serial scan (`speedref`, in
/// shared buffers, about 18 ms here), the pair `validate` measures once a round (the 5-ms
/// count(*) of `n_m` it used swung more between batches; the spread: docs/workload.md).
pub fn capacity_probe(dsn: &str) -> Result<CapacityProbe> {
    CapacityProbe::connect(dsn, SCHEMA, super::protocol::SPEEDREF_SQL)
}

/// Throughput of two concurrent serial scans over one, `pairs` times in a row (see
/// [`CapacityProbe::pair`]).
pub fn parallel_capacity(probe: &mut CapacityProbe, client: &mut Client, pairs: usize) -> Result<Vec<f64>> {
    (0..pairs.max(3)).map(|_| probe.pair(client)).collect()
}

/// What two busy cores give: one serial CPU-bound scan alone, the same scan on two
/// connections side by side, the scan alone again; the throughput side by side over the
/// throughput alone (2 = two full cores). Holds the second connection.
pub struct CapacityProbe {
    other: Client,
    search_path: String,
    sql: String,
}

impl CapacityProbe {
    pub fn connect(dsn: &str, search_path: &str, sql: &str) -> Result<Self> {
        Ok(Self { other: Client::connect(dsn, NoTls)?, search_path: search_path.into(), sql: sql.into() })
    }

    /// One measurement, `client` being the first connection (its settings are reset).
    pub fn pair(&mut self, client: &mut Client) -> Result<f64> {
        let gucs = vec![("max_parallel_workers_per_gather".to_string(), "0".to_string())];
        apply_gucs(client, &self.search_path, &gucs)?;
        apply_gucs(&mut self.other, &self.search_path, &gucs)?;
        let sql = self.sql.as_str();
        let alone = explain_measure(client, "ANALYZE, TIMING OFF", sql)?.0.ms;
        let other = &mut self.other;
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| explain_measure(other, "ANALYZE, TIMING OFF", sql).map(|m| m.0.ms));
            let a = explain_measure(client, "ANALYZE, TIMING OFF", sql).map(|m| m.0.ms);
            (a, h.join().unwrap_or_else(|_| Err(PgError::Protocol("concurrent scan thread panicked".into()))))
        });
        let (a, b) = (a?, b?);
        let after = explain_measure(client, "ANALYZE, TIMING OFF", sql)?.0.ms;
        Ok(2.0 * 0.5 * (alone + after) / (0.5 * (a + b)))
    }
}

// ---------------------------------------------------------------------------------------
// Schema guard
// ---------------------------------------------------------------------------------------

/// Drops the probe schema when dropped (also on error and while unwinding), over its own
/// connection.
pub struct SchemaGuard {
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

pub fn create_schema(client: &mut Client, dsn: &str) -> Result<SchemaGuard> {
    let sql = "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1";
    let rows = client.query(sql, &[&SCHEMA]).map_err(|e| PgError::query(sql, e))?;
    if let Some(r) = rows.first() {
        let comment: Option<String> = r.get(0);
        if comment.as_deref() != Some(MARKER) {
            return Err(PgError::Invalid(format!(
                "schema {SCHEMA} exists and was not made by pqsim calibrate: refusing to touch it"
            )));
        }
        eprintln!("pqsim: dropping probe schema left by an interrupted run");
        client.batch_execute(&format!("DROP SCHEMA {SCHEMA} CASCADE")).map_err(|e| PgError::query("DROP SCHEMA", e))?;
    }
    let sql = format!("CREATE SCHEMA {SCHEMA}; COMMENT ON SCHEMA {SCHEMA} IS {}", lit(MARKER));
    client.batch_execute(&sql).map_err(|e| PgError::query(&sql, e))?;
    Ok(SchemaGuard { dsn: dsn.to_string() })
}

#[cfg(test)]
mod tests {
    use super::serial_probes::TWINS;
    use super::*;

    #[test]
    fn a_first_touch_is_the_first_count_beyond_the_steady_ones_not_beyond_the_second() {
        // 1,000 pages; the first count 2 ms over the steady 10 ms (2,000 ns a page), the
        // second still 0.4 ms slow, one later count disturbed by the host.
        let per_page = first_touch_per_page(&[12.0, 10.4, 10.0, 13.0], 1000.0);
        assert!((per_page - 1600.0).abs() < 1e-9, "{per_page}");
        let per_page = first_touch_per_page(&[12.0, 10.4, 10.0, 10.0], 1000.0);
        assert!((per_page - 2000.0).abs() < 1e-9, "against the second alone it would be 1,600: {per_page}");
        assert_eq!(first_touch_per_page(&[], 1000.0), 0.0);
    }

    #[test]
    fn each_connections_first_touch_is_taken_to_the_typical_speed_before_the_median() {
        // A host whose reference scan runs 14 ms in its fast state and 25 in its slow one,
        // 24 typically. A price of 700 ns a page at the typical speed reads 408 in the fast
        // state and 729 in the slow one; three of five connections ran fast.
        let at = |ref_ms: f64| (700.0 * ref_ms / 24.0, ref_ms);
        let conns = [at(14.0), at(14.0), at(25.0), at(14.0), at(25.0)];
        let typical = first_touch_at(&conns, 24.0);
        assert!((typical - 700.0).abs() < 1e-9, "{typical}");
        // The raw median is the fast state's price.
        let raw = median(&conns.iter().map(|c| c.0).collect::<Vec<_>>());
        assert!(raw < 450.0, "{raw}");
        // A connection without a reference reading says nothing; none at all gives 0.
        assert!((first_touch_at(&[at(14.0), (5000.0, 0.0)], 24.0) - 700.0).abs() < 1e-9);
        assert_eq!(first_touch_at(&[], 24.0), 0.0);
    }

    #[test]
    fn probe_sizes_keep_the_hot_table_in_shared_buffers() {
        let z = sizes(1_000_000, 16384);
        assert!(z.typed >= z.hot);
        assert!(z.hot as f64 / 97.0 < 16384.0 / 4.0);
        assert!(z.s as f64 / 97.0 > 16384.0 / 4.0, "the smallest warm table is read through the ring");
        // The shuffled table jumps often enough to be fitted and stays in shared buffers.
        // (At most 60% of a quarter of shared buffers: 2,457 pages of 128 MB.)
        let hot_max = (16384.0 / 4.0 * 0.6 * 97.0) as u64;
        assert!(z.shuffled >= (SHUFFLED_MIN_PAGES * 97).min(hot_max) && (z.shuffled as f64 / 97.0) < 16384.0 / 4.0);
        // Its twin in block order is the same size.
        assert_eq!(z.hot, z.shuffled);
        let z = sizes(1_000_000, 1024);
        assert!(z.hot as f64 / 97.0 < 1024.0 / 4.0);
        assert!((z.shuffled as f64 / 97.0) < 1024.0 / 4.0);
        // The ring table exceeds a quarter of shared_buffers, or is not loaded at all.
        for sb in [16384u64, 1024, 60_000] {
            assert!(sizes(200_000, sb).ring as f64 / 97.0 > sb as f64 / 4.0);
        }
        // The tables that stay in shared buffers fit in it together, whatever the scale.
        for (scale, sb) in [(200_000u64, 16384u64), (100_000, 16384), (400_000, 16384), (200_000, 60_000)] {
            let z = sizes(scale, sb);
            let used = in_buffers_pages(&z, sb);
            assert!(used <= IN_BUFFERS_BUDGET * sb as f64, "scale {scale}, sb {sb}: {used:.0} pages");
        }
        // 200k rows in n_m on 128 MB of shared buffers overfill it (scat_w was partly evicted
        // every round): shrunk.
        assert!(sizes(200_000, 16384).m < 200_000);
        assert_eq!(sizes(200_000, 1 << 20).ring, 0);
    }

    #[test]
    fn probe_ids_are_unique_and_start_up_and_queue_probes_run_three_times() {
        let p = probes();
        let mut ids: Vec<&str> = p.iter().map(|p| p.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), p.len());
        let thrice = |p: &Probe| {
            matches!(p.stage, Stage::Startup | Stage::Queue | Stage::Wake) || TWINS.contains(&p.id.as_str())
        };
        assert!(p.iter().all(|p| thrice(p) == (p.per_rep == 3)));
        assert_eq!(p.iter().filter(|p| p.stage == Stage::Queue).count(), 6, "gq_* and gm_*");
        assert_eq!(p.iter().filter(|p| TWINS.contains(&p.id.as_str())).count(), 4);
        // client_s/m/l (rows out), clientcount_s/m (one row out) and wrap_client.
        assert_eq!(p.iter().filter(|p| p.how == How::Client).count(), 6);
        // The wrapper probes: one plan, EXPLAIN-timed and bare.
        let wrap: Vec<&Probe> = p.iter().filter(|p| p.stage == Stage::Wrapper).collect();
        assert_eq!(wrap.len(), 2);
        assert_eq!(wrap[0].sql, wrap[1].sql);
        assert_eq!([wrap[0].how, wrap[1].how], [How::Explain, How::Client]);
        // The send's twin: gq_single's single-copy worker over the same table, counting.
        let by = |id: &str| p.iter().find(|p| p.id == id).expect(id);
        let (send, count) = (by("gq_single"), by("ws_single"));
        assert_eq!(send.gucs, count.gucs);
        assert_eq!([send.sql.as_str(), count.sql.as_str()], ["SELECT a FROM n_m", "SELECT count(*) FROM n_m"]);
    }
}
