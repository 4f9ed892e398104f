//! `pqsim sweep` and `pqsim compare`: grids of simulations over settings, table what-ifs and
//! hardware profiles, their CSVs, fits and plots.
//!
//! Invariants:
//! * One simulation per (grid point, replication): `run_scenario(point, replication_seed(seed, r), 1)`.
//!   Every grid point uses the same seeds (common random numbers), so differences between points
//!   are not noise between seeds. The `seed` column of `points.csv` reproduces its row exactly
//!   with `pqsim run ... --seed SEED --replications 1`.
//! * Results do not depend on the thread count: jobs run in any order, rows are stored by grid
//!   index, and every reduction (means, CIs, fits) runs afterwards in grid order.
//! * Outputs appear atomically (temp file in DIR, then rename). Finished simulations are appended
//!   to `DIR/points.journal.jsonl` as they complete, so an interrupted sweep resumes where it
//!   stopped; the journal's first line records what the rows depend on (scenario, hardware
//!   files, what-ifs, seed, varied keys, the pqsim binary) and a different sweep is refused.

use super::WhatIfArgs;
use crate::analysis::stats::{self, Summary};
use crate::config::{self, TableKey, TableOverride};
use crate::error::{Error, Result};
use crate::model::guc;
use crate::model::{Hardware, Scenario};
use crate::predict::{self, RunOutput};
use crate::render::plot::{self, Overlay, OverlayKind, SeriesWithError, StackedBar};
use clap::Args;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The GUC a speedup curve is drawn against.
pub const WORKERS_KEY: &str = "max_parallel_workers_per_gather";
/// Keys that change how many processes run, not what the query does: the serial baseline of a
/// point may differ from it in these keys only.
const PARALLELISM_KEYS: [&str; 4] =
    [WORKERS_KEY, "max_parallel_workers", "max_worker_processes", "parallel_leader_participation"];
/// Largest grid accepted (points x hardware).
const MAX_POINTS: usize = 100_000;
const JOURNAL: &str = "points.journal.jsonl";
const JOURNAL_FORMAT: u32 = 1;

const VARY_HELP: &str = "Vary one input over LIST; repeat for a grid (cartesian product of all --vary, \
times --hardware). KEY is a PostgreSQL setting (max_parallel_workers_per_gather=0..8, \
work_mem=4MB,64MB,256MB) or a table what-if NAME.KEY as in --table (lineitem.rows=1000000,60000000; \
keys rows, pages, size, width, parallel_workers, index_pages). LIST is a,b,c or an inclusive \
integer range a..b; both can be mixed (0..4,8,16). A varied key overrides the same --set/--table.";

const SWEEP_AFTER_HELP: &str = "\
Outputs in DIR: points.csv (one row per grid point and replication), summary.csv (mean, median,
95% CI, speedup vs the serial point on the same hardware, efficiency), splits.csv (time split of
every process), fits.json (Amdahl and USL fits when max_parallel_workers_per_gather is varied),
and plots as .png and .svg: speedup, hardware (or wall-time), time-split[-HARDWARE].
Every point uses the same seeds (common random numbers); a row's seed column reproduces it with
`pqsim run --seed SEED --replications 1`. Finished simulations are kept in
DIR/points.journal.jsonl: re-running the same command after an interruption runs only the rest
(more replications or points reuse them too).

Example:
  pqsim sweep configs/scenarios/seed-not-in.toml --vary max_parallel_workers_per_gather=0..8 \\
      --hardware laptop,aurora --replications 5 --output output/seed-sweep";

/// `pqsim sweep` arguments.
#[derive(Args, Debug, Clone)]
#[command(after_long_help = SWEEP_AFTER_HELP)]
pub struct SweepArgs {
    /// Scenario TOML file.
    pub scenario: PathBuf,
    #[arg(long = "vary", value_name = "KEY=LIST", required = true, value_parser = parse_vary,
          help = "Vary a setting (GUC=LIST) or a table what-if (NAME.KEY=LIST); LIST is a,b,c or a..b; repeat for a grid",
          long_help = VARY_HELP)]
    pub vary: Vec<Vary>,
    /// Hardware profiles (names in configs/hardware/ or paths), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "reference-2vcpu")]
    pub hardware: Vec<String>,
    /// Replications per grid point (seeds shared by all points).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    /// Base seed: replication r uses the same seed at every grid point.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for points.csv, summary.csv, fits.json, splits.csv and the plots.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Worker threads (default: one per CPU). Results are identical for any value.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub threads: Option<u16>,
    /// Discard the finished simulations of an earlier, different sweep in DIR instead of refusing.
    #[arg(long)]
    pub fresh: bool,
}

/// `pqsim compare` arguments.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Scenario TOML file.
    pub scenario: PathBuf,
    /// Hardware profiles (names in configs/hardware/ or paths), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub hardware: Vec<String>,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Seed, as in `pqsim run`: the numbers match `run` on each profile.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    /// Also write compare.csv and the comparison plots here.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// --vary
// ---------------------------------------------------------------------------------------

/// What a `--vary` key changes.
#[derive(Debug, Clone)]
pub enum Target {
    Guc(&'static guc::GucDef),
    Table { table: String, key: TableKey },
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Target::Guc(a), Target::Guc(b)) => a.name == b.name,
            (Target::Table { table: a, key: k }, Target::Table { table: b, key: l }) => a == b && k == l,
            _ => false,
        }
    }
}

/// One `--vary KEY=LIST`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    pub key: String,
    pub target: Target,
    /// The values as the user wrote them (ranges expanded).
    pub values: Vec<String>,
}

/// Parse `KEY=LIST` (clap value parser; errors become exit code 2).
pub fn parse_vary(s: &str) -> std::result::Result<Vary, String> {
    let (key, list) =
        s.split_once('=').ok_or_else(|| format!("expected KEY=LIST (e.g. {WORKERS_KEY}=0..8), got \"{s}\""))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("expected KEY=LIST (e.g. {WORKERS_KEY}=0..8), got \"{s}\""));
    }
    let target = if let Some((table, tkey)) = key.rsplit_once('.') {
        let tkey = match TableKey::parse(tkey) {
            Some(k) if !table.is_empty() => k,
            _ => {
                return Err(format!(
                    "\"{key}\" is not a table what-if: use NAME.KEY with KEY one of {}",
                    config::table_keys_text()
                ))
            }
        };
        Target::Table { table: table.to_string(), key: tkey }
    } else {
        let def = guc::lookup(&key.to_ascii_lowercase()).ok_or_else(|| {
            format!(
                "unknown setting \"{key}\": not a PostgreSQL setting pqsim models (for a table what-if write NAME.KEY, e.g. lineitem.rows)"
            )
        })?;
        Target::Guc(def)
    };
    let values = parse_list(list)?;
    for v in &values {
        match &target {
            Target::Guc(def) => {
                guc::parse_value(def, v).map_err(|e| format!("{key}: {e}"))?;
            }
            Target::Table { key: tkey, .. } => {
                tkey.value(v).map_err(|e| format!("{key}={v}: {e}"))?;
            }
        }
    }
    let key = match &target {
        Target::Guc(def) => def.name.to_string(),
        Target::Table { .. } => key.to_string(),
    };
    Ok(Vary { key, target, values })
}

/// `a,b,c`, `a..b` (inclusive integers) or a mix of both, in the order given.
fn parse_list(list: &str) -> std::result::Result<Vec<String>, String> {
    if list.trim().is_empty() {
        return Err("empty list of values: write a,b,c or a..b".into());
    }
    let mut out: Vec<String> = vec![];
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty value in list \"{list}\""));
        }
        if let Some((a, b)) = item.split_once("..") {
            let parse = |x: &str| {
                x.trim().parse::<i64>().map_err(|_| format!("range \"{item}\": bounds must be integers, as in 0..8"))
            };
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a {
                return Err(format!("range \"{item}\" is empty: the end must not be below the start"));
            }
            if (b - a) as u64 >= MAX_POINTS as u64 {
                return Err(format!("range \"{item}\" has more than {MAX_POINTS} values"));
            }
            out.extend((a..=b).map(|i| i.to_string()));
        } else {
            out.push(item.to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = out.iter().find(|v| !seen.insert(v.as_str())) {
        return Err(format!("value \"{d}\" is listed twice in \"{list}\""));
    }
    Ok(out)
}

impl Vary {
    /// The value as a number for plotting: settings in their base unit, booleans 0/1, enums
    /// their position in the list, table sizes in bytes.
    fn numeric(&self, i: usize) -> f64 {
        let v = &self.values[i];
        match &self.target {
            Target::Guc(def) => match guc::parse_value(def, v) {
                Ok(guc::Value::Num(n)) => n,
                Ok(guc::Value::Bool(b)) => f64::from(u8::from(b)),
                _ => i as f64,
            },
            Target::Table { key, .. } => key.value(v).unwrap_or(i as f64),
        }
    }

    fn is_parallelism(&self) -> bool {
        PARALLELISM_KEYS.contains(&self.key.as_str())
    }

    /// Short label of one value for bar charts: `W=4`, `work_mem=64MB`.
    fn label(&self, i: usize) -> String {
        if self.key == WORKERS_KEY {
            format!("W={}", self.values[i])
        } else {
            format!("{}={}", self.key, self.values[i])
        }
    }
}

// ---------------------------------------------------------------------------------------
// The grid
// ---------------------------------------------------------------------------------------

/// One grid point, loaded and validated.
struct Point {
    hw: usize,
    /// Index into each `Vary`'s values.
    idx: Vec<usize>,
    sc: Scenario,
    hwp: Hardware,
}

/// Result of one simulation (one grid point, one replication), as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    hardware: String,
    values: Vec<String>,
    replication: u32,
    seed: u64,
    wall_time_ms: f64,
    workers_planned: u32,
    workers_launched: u32,
    queue_full_stalls: f64,
    /// Per process (leader first): [cpu, disk wait, MessageQueueSend, waiting for tuples,
    /// start-up, other] in ms.
    processes: Vec<(bool, [f64; 6])>,
}

const SPLIT_CATEGORIES: [&str; 6] = plot::CATEGORIES;

impl Row {
    fn mq_send_workers(&self) -> f64 {
        self.processes.iter().filter(|p| p.0).map(|p| p.1[2]).sum()
    }
}

fn row_from(out: &RunOutput, hardware: &str, values: &[String], r: u32, seed: u64) -> Row {
    let processes = out.splits.iter().map(|p| (p.is_worker(), p.groups())).collect();
    Row {
        hardware: hardware.to_string(),
        values: values.to_vec(),
        replication: r,
        seed,
        // Whole nanoseconds: exact in 6 decimals.
        wall_time_ms: (out.wall_ms[0] * 1e6).round() / 1e6,
        workers_planned: out.workers_planned,
        workers_launched: out.workers_launched,
        queue_full_stalls: out.stalls[0],
        processes,
    }
}

/// What the journal's rows depend on. Rows are reused only when all of it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Identity {
    pqsim_version: String,
    /// Hash of the pqsim executable: a rebuilt model invalidates old rows.
    binary: String,
    scenario: String,
    scenario_hash: String,
    /// Hardware profile name -> hash of its file.
    hardware: BTreeMap<String, String>,
    set: Vec<(String, String)>,
    table: Vec<String>,
    hw: Vec<(String, String)>,
    seed: u64,
    vary_keys: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    pqsim_sweep_journal: u32,
    identity: Identity,
}

/// FNV-1a, 64 bit, over 8-byte little-endian words and then the tail bytes: a stable content
/// fingerprint (not security), fast enough for an 80 MB debug binary.
fn fnv1a(bytes: &[u8]) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = h.wrapping_mul(PRIME);
    }
    for b in words.remainder() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:016x}")
}

fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(format!("{}: cannot read file: {e}", path.display())))?;
    Ok(fnv1a(&bytes))
}

fn binary_hash() -> String {
    std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok()).map(|b| fnv1a(&b)).unwrap_or_default()
}

impl Identity {
    /// Field names that differ, for the refusal message.
    fn differences(&self, old: &Identity) -> Vec<String> {
        let mut d = vec![];
        let mut check = |name: &str, same: bool, detail: String| {
            if !same {
                d.push(if detail.is_empty() { name.to_string() } else { format!("{name} ({detail})") });
            }
        };
        check(
            "pqsim build",
            self.pqsim_version == old.pqsim_version && self.binary == old.binary,
            "the pqsim binary changed since those rows were computed".into(),
        );
        check("scenario file", self.scenario_hash == old.scenario_hash, format!("{} changed", self.scenario));
        for (name, h) in &self.hardware {
            if let Some(o) = old.hardware.get(name) {
                check(&format!("hardware profile {name}"), h == o, "its file changed".into());
            }
        }
        check("--set", self.set == old.set, format!("{:?} vs {:?}", old.set, self.set));
        check("--table", self.table == old.table, format!("{:?} vs {:?}", old.table, self.table));
        check("--hw", self.hw == old.hw, format!("{:?} vs {:?}", old.hw, self.hw));
        check("--seed", self.seed == old.seed, format!("{} vs {}", old.seed, self.seed));
        check(
            "--vary keys",
            self.vary_keys == old.vary_keys,
            format!("{} vs {}", old.vary_keys.join(","), self.vary_keys.join(",")),
        );
        d
    }
}

fn kv_text(kv: &[(String, String)]) -> Vec<(String, String)> {
    kv.to_vec()
}

fn table_text(t: &[TableOverride]) -> Vec<String> {
    t.iter().map(|o| format!("{}.{}={}", o.table, o.key, o.value)).collect()
}

/// The what-ifs of one grid point: the command's, then the varied values (later wins).
fn point_whatif(base: &WhatIfArgs, vary: &[Vary], idx: &[usize]) -> WhatIfArgs {
    let mut w = base.clone();
    for (v, &i) in vary.iter().zip(idx) {
        match &v.target {
            Target::Guc(def) => w.set.push((def.name.to_string(), v.values[i].clone())),
            Target::Table { table, key } => {
                w.table.push(TableOverride::new(table, *key, &v.values[i]).expect("checked when parsed"))
            }
        }
    }
    w
}

/// All index combinations, the last key varying fastest.
fn combinations(vary: &[Vary]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for v in vary {
        out = out
            .into_iter()
            .flat_map(|prefix| (0..v.values.len()).map(move |i| [prefix.clone(), vec![i]].concat()))
            .collect();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Output helpers
// ---------------------------------------------------------------------------------------

/// Write `DIR/name` atomically: a temp file in DIR, then rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    let target = dir.join(name);
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))
}

/// Draw a chart into temp files in DIR, then rename them to `stem.png` / `stem.svg`.
fn plot_atomic(
    dir: &Path,
    stem: &str,
    draw: impl FnOnce(&Path) -> std::result::Result<plot::Written, plot::PlotError>,
) -> Result<Vec<PathBuf>> {
    let tmp_stem = dir.join(format!(".pqsim-{}-{stem}", std::process::id()));
    let written = draw(&tmp_stem).map_err(|e| {
        for ext in ["png", "svg"] {
            let _ = std::fs::remove_file(with_ext(&tmp_stem, ext));
        }
        Error::Simulation(format!("plot {stem}: {e}"))
    })?;
    let mut out = vec![];
    for (from, ext) in [(written.png, "png"), (written.svg, "svg")] {
        let to = dir.join(format!("{stem}.{ext}"));
        std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
        out.push(to);
    }
    Ok(out)
}

fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn csv_bytes(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(header).expect("write to memory");
    for r in rows {
        w.write_record(r).expect("write to memory");
    }
    w.into_inner().expect("flush to memory")
}

// `+ 0.0` turns -0.0 (an empty f64 sum) into 0.0.
fn f3(x: f64) -> String {
    format!("{:.3}", x + 0.0)
}

fn f4(x: f64) -> String {
    format!("{:.4}", x + 0.0)
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if len == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} simulations (eta {{eta}})"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}

fn in_pool<T: Send>(threads: Option<u16>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(usize::from(n))
                .build()
                .map_err(|e| Error::Simulation(format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

fn with_context(e: Error, ctx: &str) -> Error {
    match e {
        Error::Simulation(m) => Error::Simulation(format!("{ctx}: {m}")),
        Error::Input { loc, msg } => Error::Input { loc, msg: format!("{ctx}: {msg}") },
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Journal
// ---------------------------------------------------------------------------------------

type RowKey = (String, Vec<String>, u32);

/// Read the journal in DIR: its identity and the rows it holds (a torn last line is dropped).
fn read_journal(path: &Path) -> Result<Option<(Identity, Vec<Row>)>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut lines = std::io::BufReader::new(f).lines();
    let header: JournalHeader = match lines.next() {
        Some(Ok(l)) => match serde_json::from_str(&l) {
            Ok(h) => h,
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    if header.pqsim_sweep_journal != JOURNAL_FORMAT {
        return Ok(None);
    }
    let mut rows = vec![];
    for l in lines {
        let l = l.map_err(|e| Error::io(path, e))?;
        if let Ok(r) = serde_json::from_str::<Row>(&l) {
            rows.push(r);
        }
    }
    Ok(Some((header.identity, rows)))
}

struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    /// Start the journal afresh with `identity` and the rows kept (atomically), then open it
    /// for appending.
    fn create(dir: &Path, identity: &Identity, keep: &[Row]) -> Result<Journal> {
        let mut text =
            serde_json::to_string(&JournalHeader { pqsim_sweep_journal: JOURNAL_FORMAT, identity: identity.clone() })
                .expect("json");
        text.push('\n');
        for r in keep {
            text.push_str(&serde_json::to_string(r).expect("json"));
            text.push('\n');
        }
        write_atomic(dir, JOURNAL, text.as_bytes())?;
        let path = dir.join(JOURNAL);
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Journal { file: Mutex::new(file), path })
    }

    fn append(&self, r: &Row) -> Result<()> {
        let mut line = serde_json::to_string(r).expect("json");
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))
    }
}

// ---------------------------------------------------------------------------------------
// sweep
// ---------------------------------------------------------------------------------------

/// Per grid point, after all replications.
struct PointStats {
    wall: Summary,
    workers_planned: u32,
    launched: Vec<u32>,
    stalls_mean: f64,
    mq_send_mean: f64,
    participants: f64,
    /// (speedup, lo, hi)
    speedup: Option<(f64, f64, f64)>,
    /// Mean split per process index, and how many replications had that process.
    procs: Vec<(bool, [f64; 6])>,
}

impl PointStats {
    fn launched_text(&self) -> String {
        let first = self.launched[0];
        if self.launched.iter().all(|&l| l == first) {
            first.to_string()
        } else {
            f3(self.launched.iter().map(|&l| f64::from(l)).sum::<f64>() / self.launched.len() as f64)
        }
    }

    fn launched_max(&self) -> u32 {
        self.launched.iter().copied().max().unwrap_or(0)
    }
}

fn mean_processes(rows: &[&Row]) -> Vec<(bool, [f64; 6])> {
    let n = rows.iter().map(|r| r.processes.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let have: Vec<&(bool, [f64; 6])> = rows.iter().filter_map(|r| r.processes.get(i)).collect();
            let mut acc = [0.0; 6];
            for p in &have {
                for (a, v) in acc.iter_mut().zip(p.1.iter()) {
                    *a += v;
                }
            }
            for a in acc.iter_mut() {
                *a /= have.len() as f64;
            }
            (have[0].0, acc)
        })
        .collect()
}

pub fn run_sweep(a: SweepArgs) -> Result<()> {
    // Keys must be distinct.
    for (i, v) in a.vary.iter().enumerate() {
        if a.vary[..i].iter().any(|w| w.key == v.key) {
            return Err(Error::input(format!("--vary {}: the key is varied twice", v.key)));
        }
    }
    let combos = combinations(&a.vary);
    let n_points = combos.len().saturating_mul(a.hardware.len());
    if n_points > MAX_POINTS {
        return Err(Error::input(format!(
            "the grid has {n_points} points (more than {MAX_POINTS}): vary fewer values"
        )));
    }

    // Load every point first: bad input fails before any simulation runs. The scenario is
    // read once; each point applies its what-ifs in memory.
    let scenario_text = config::read_text(&a.scenario)?;
    let mut points = vec![];
    let mut hw_names: Vec<String> = vec![];
    let mut hw_hashes = BTreeMap::new();
    for (h, hname) in a.hardware.iter().enumerate() {
        let hname = hname.trim();
        if hname.is_empty() {
            return Err(Error::input("--hardware: empty profile name in the list"));
        }
        for idx in &combos {
            let w = point_whatif(&a.whatif, &a.vary, idx);
            let (sc, hwp) = config::load_str(&a.scenario, &scenario_text, hname, &w.to_whatif()).map_err(|e| {
                let desc = describe(&a.vary, idx);
                with_context(e, &format!("grid point {desc} on {hname}"))
            })?;
            if points.len() % combos.len() == 0 {
                if let Some(j) = hw_names.iter().position(|n| *n == hwp.name) {
                    return Err(Error::input(format!(
                        "--hardware: \"{}\" and \"{hname}\" are both the profile named \"{}\"",
                        a.hardware[j], hwp.name
                    )));
                }
                hw_names.push(hwp.name.clone());
                hw_hashes.insert(hwp.name.clone(), fnv1a(config::hardware_source(hname)?.text.as_bytes()));
            }
            points.push(Point { hw: h, idx: idx.clone(), sc, hwp });
        }
    }

    let dir = &a.output;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let identity = Identity {
        pqsim_version: env!("CARGO_PKG_VERSION").to_string(),
        binary: binary_hash(),
        scenario: a.scenario.display().to_string(),
        scenario_hash: file_hash(&a.scenario)?,
        hardware: hw_hashes,
        set: kv_text(&a.whatif.set),
        table: table_text(&a.whatif.table),
        hw: kv_text(&a.whatif.hw),
        seed: a.seed,
        vary_keys: a.vary.iter().map(|v| v.key.clone()).collect(),
    };

    // Resume from the journal when it belongs to this sweep.
    let journal_path = dir.join(JOURNAL);
    let mut done: HashMap<RowKey, Row> = HashMap::new();
    let mut journal_identity = identity.clone();
    match read_journal(&journal_path)? {
        Some((old, rows)) => {
            let diff = identity.differences(&old);
            if diff.is_empty() {
                // Keep profiles the old journal knew that this run does not use.
                for (k, v) in old.hardware {
                    journal_identity.hardware.entry(k).or_insert(v);
                }
                for r in rows {
                    done.insert((r.hardware.clone(), r.values.clone(), r.replication), r);
                }
            } else if a.fresh {
                eprintln!(
                    "sweep: --fresh: discarding {} earlier simulations in {}",
                    rows.len(),
                    journal_path.display()
                );
            } else {
                return Err(Error::input(format!(
                    "{} holds simulations of a different sweep (differs in: {}); use --fresh to discard them, or another --output",
                    dir.display(),
                    diff.join("; ")
                )));
            }
        }
        None if journal_path.exists() && !a.fresh => {
            return Err(Error::input(format!(
                "{} is not a pqsim sweep journal this version can read; use --fresh to replace it",
                journal_path.display()
            )));
        }
        None => {}
    }
    let mut kept: Vec<Row> = done.values().cloned().collect();
    kept.sort_by(|x, y| (&x.hardware, &x.values, x.replication).cmp(&(&y.hardware, &y.values, y.replication)));
    let journal = Journal::create(dir, &journal_identity, &kept)?;

    // Jobs: (point, replication) in grid order; look up finished ones.
    let reps = a.replications;
    let total = points.len() * reps as usize;
    let mut results: Vec<Option<Row>> = Vec::with_capacity(total);
    let mut todo = vec![];
    for (pi, p) in points.iter().enumerate() {
        let values = values_of(&a.vary, &p.idx);
        for r in 0..reps {
            let key = (hw_names[p.hw].clone(), values.clone(), r);
            match done.remove(&key) {
                Some(row) if row.seed == predict::replication_seed(a.seed, r) => results.push(Some(row)),
                _ => {
                    results.push(None);
                    todo.push((pi, r));
                }
            }
        }
    }
    let reused = total - todo.len();
    eprintln!(
        "sweep: {} grid points x {} replications = {} simulations{}",
        points.len(),
        reps,
        total,
        if reused > 0 { format!(" ({reused} already in {JOURNAL}, {} to run)", todo.len()) } else { String::new() }
    );

    let pb = progress_bar(todo.len() as u64, "sweep");
    let seed = a.seed;
    let computed: Vec<(usize, Result<Row>)> = in_pool(a.threads, || {
        todo.par_iter()
            .map(|&(pi, r)| {
                let p = &points[pi];
                let s = predict::replication_seed(seed, r);
                let values = values_of(&a.vary, &p.idx);
                let res = predict::run_scenario(&p.sc, &p.hwp, s, 1, false)
                    .map(|out| row_from(&out, &hw_names[p.hw], &values, r, s))
                    .and_then(|row| journal.append(&row).map(|_| row))
                    .map_err(|e| {
                        let desc = describe(&a.vary, &p.idx);
                        with_context(e, &format!("grid point {desc} on {}, replication {r}", hw_names[p.hw]))
                    });
                pb.inc(1);
                (pi * reps as usize + r as usize, res)
            })
            .collect()
    })?;
    pb.finish_and_clear();
    let mut first_err = None;
    for (i, res) in computed {
        match res {
            Ok(row) => results[i] = Some(row),
            Err(e) => {
                if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_err = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    let rows: Vec<Row> = results.into_iter().map(|r| r.expect("every job finished")).collect();

    let stats = point_stats(&a, &points, &rows)?;
    let written = write_sweep_outputs(&a, &points, &hw_names, &rows, &stats)?;
    print!("{}", sweep_table(&a, &points, &hw_names, &stats));
    for f in written {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

fn values_of(vary: &[Vary], idx: &[usize]) -> Vec<String> {
    vary.iter().zip(idx).map(|(v, &i)| v.values[i].clone()).collect()
}

fn describe(vary: &[Vary], idx: &[usize]) -> String {
    vary.iter().zip(idx).map(|(v, &i)| format!("{}={}", v.key, v.values[i])).collect::<Vec<_>>().join(", ")
}

/// Index of the point's group: same hardware, same values of the keys other than `skip`.
fn group_key(p: &Point, vary: &[Vary], skip: &dyn Fn(&Vary) -> bool) -> (usize, Vec<usize>) {
    (p.hw, vary.iter().zip(&p.idx).filter(|(v, _)| !skip(v)).map(|(_, &i)| i).collect())
}

/// Points grouped by hardware and every varied key except those `skip` selects, groups in
/// order of first appearance (deterministic), members in grid order.
fn group_points(points: &[Point], vary: &[Vary], skip: &dyn Fn(&Vary) -> bool) -> Vec<Vec<usize>> {
    let mut order: Vec<(usize, Vec<usize>)> = vec![];
    let mut members: HashMap<(usize, Vec<usize>), Vec<usize>> = HashMap::new();
    for (pi, p) in points.iter().enumerate() {
        let k = group_key(p, vary, skip);
        if !members.contains_key(&k) {
            order.push(k.clone());
        }
        members.entry(k).or_default().push(pi);
    }
    order.into_iter().map(|k| members.remove(&k).unwrap_or_default()).collect()
}

fn point_stats(a: &SweepArgs, points: &[Point], rows: &[Row]) -> Result<Vec<PointStats>> {
    let reps = a.replications as usize;
    let mut out = vec![];
    for (pi, p) in points.iter().enumerate() {
        let rs: Vec<&Row> = rows[pi * reps..(pi + 1) * reps].iter().collect();
        let walls: Vec<f64> = rs.iter().map(|r| r.wall_time_ms).collect();
        let wall = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("summary: {e}")))?;
        let launched: Vec<u32> = rs.iter().map(|r| r.workers_launched).collect();
        let lmean = launched.iter().map(|&l| f64::from(l)).sum::<f64>() / reps as f64;
        let leader = p.sc.settings.flag("parallel_leader_participation");
        let participants = if lmean > 0.0 { lmean + if leader { 1.0 } else { 0.0 } } else { 1.0 };
        out.push(PointStats {
            wall,
            workers_planned: rs[0].workers_planned,
            launched,
            stalls_mean: rs.iter().map(|r| r.queue_full_stalls).sum::<f64>() / reps as f64,
            mq_send_mean: rs.iter().map(|r| r.mq_send_workers()).sum::<f64>() / reps as f64,
            participants: participants.max(1.0),
            speedup: None,
            procs: mean_processes(&rs),
        });
    }
    // Serial baseline per group (hardware + non-parallelism keys): the first point in grid
    // order with max_parallel_workers_per_gather = 0 or no worker launched.
    let is_par = |v: &Vary| v.is_parallelism();
    let mut baseline: HashMap<(usize, Vec<usize>), usize> = HashMap::new();
    for (pi, p) in points.iter().enumerate() {
        let zero_workers = a.vary.iter().zip(&p.idx).any(|(v, &i)| v.key == WORKERS_KEY && v.numeric(i) == 0.0)
            || p.sc.settings.int(WORKERS_KEY) == 0;
        if zero_workers || out[pi].launched.iter().all(|&l| l == 0) {
            baseline.entry(group_key(p, &a.vary, &is_par)).or_insert(pi);
        }
    }
    for (pi, p) in points.iter().enumerate() {
        let Some(&bi) = baseline.get(&group_key(p, &a.vary, &is_par)) else { continue };
        let base = &rows[bi * reps..(bi + 1) * reps];
        let this = &rows[pi * reps..(pi + 1) * reps];
        let s = out[bi].wall.mean / out[pi].wall.mean;
        // Paired ratios (same seed in both points) give the interval, scaled to the ratio of means.
        let ratios: Vec<f64> = base.iter().zip(this).map(|(b, t)| b.wall_time_ms / t.wall_time_ms).collect();
        let (lo, hi) = match Summary::from_slice(&ratios) {
            Ok(q) if q.mean > 0.0 => (s * q.ci95_lo / q.mean, s * q.ci95_hi / q.mean),
            _ => (s, s),
        };
        out[pi].speedup = Some((s, lo, hi));
    }
    Ok(out)
}

/// Fits of speedup vs participants, one per group of points that differ only in the
/// workers key. Empty when the workers key is not varied.
struct FitGroup {
    hw: usize,
    /// Label of the other keys' values ("" when only workers vary).
    fixed: Vec<(String, String)>,
    /// Point indices in grid order.
    members: Vec<usize>,
    points: Vec<(f64, f64)>,
    amdahl: std::result::Result<stats::AmdahlFit, String>,
    usl: std::result::Result<stats::UslFit, String>,
}

fn fit_groups(a: &SweepArgs, points: &[Point], st: &[PointStats]) -> Vec<FitGroup> {
    if !a.vary.iter().any(|v| v.key == WORKERS_KEY) {
        return vec![];
    }
    let is_w = |v: &Vary| v.key == WORKERS_KEY;
    group_points(points, &a.vary, &is_w)
        .into_iter()
        .map(|m| {
            // One point per participant count: points past a launch cap repeat the same run.
            let mut pts: Vec<(f64, f64)> = vec![];
            for &pi in &m {
                if let Some(s) = st[pi].speedup {
                    if !pts.iter().any(|p| p.0 == st[pi].participants) {
                        pts.push((st[pi].participants, s.0));
                    }
                }
            }
            let fixed = a
                .vary
                .iter()
                .zip(&points[m[0]].idx)
                .filter(|(v, _)| v.key != WORKERS_KEY)
                .map(|(v, &i)| (v.key.clone(), v.values[i].clone()))
                .collect();
            FitGroup {
                hw: points[m[0]].hw,
                fixed,
                members: m,
                amdahl: stats::fit_amdahl(&pts).map_err(|e| e.to_string()),
                usl: stats::fit_usl(&pts).map_err(|e| e.to_string()),
                points: pts,
            }
        })
        .collect()
}

fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

fn fits_json(a: &SweepArgs, hw_names: &[String], groups: &[FitGroup]) -> serde_json::Value {
    use serde_json::json;
    let gs: Vec<_> = groups
        .iter()
        .map(|g| {
            let amdahl = match &g.amdahl {
                Ok(f) => json!({"serial_fraction": f.s, "r2": f.r2, "rmse": f.rmse,
                                 "max_speedup": finite_or_null(if f.s > 0.0 { 1.0 / f.s } else { f64::INFINITY })}),
                Err(e) => json!({"error": e}),
            };
            let usl = match &g.usl {
                Ok(f) => json!({"sigma": f.sigma, "kappa": f.kappa, "r2": f.r2, "rmse": f.rmse,
                                 "peak_participants": finite_or_null(f.peak_n),
                                 "peak_speedup": finite_or_null(f.peak_speedup)}),
                Err(e) => json!({"error": e}),
            };
            json!({
                "hardware": hw_names[g.hw],
                "fixed": g.fixed.iter().cloned().collect::<BTreeMap<_, _>>(),
                "points": g.points.iter().map(|(n, s)| json!({"participants": n, "speedup": s})).collect::<Vec<_>>(),
                "amdahl": amdahl,
                "usl": usl,
            })
        })
        .collect();
    json!({
        "scenario": a.scenario.display().to_string(),
        "x": WORKERS_KEY,
        "participants": "workers launched + 1 when the leader participates (parallel_leader_participation), else workers launched",
        "speedup": "serial mean wall time / mean wall time, serial = the point on the same hardware with max_parallel_workers_per_gather = 0 or no worker launched",
        "models": {
            "amdahl": "S(n) = 1 / (s + (1 - s) / n)",
            "usl": "S(n) = n / (1 + sigma (n - 1) + kappa n (n - 1))"
        },
        "fit_quality": "r2 and rmse on the speedup scale, least squares over the points listed (one per participant count)",
        "groups": gs,
    })
}

fn write_sweep_outputs(
    a: &SweepArgs,
    points: &[Point],
    hw_names: &[String],
    rows: &[Row],
    st: &[PointStats],
) -> Result<Vec<PathBuf>> {
    let dir = &a.output;
    let reps = a.replications as usize;
    let keys: Vec<String> = a.vary.iter().map(|v| v.key.clone()).collect();
    let mut written = vec![];

    // points.csv
    let mut header: Vec<String> = vec!["hardware".into()];
    header.extend(keys.iter().cloned());
    header.extend(
        [
            "replication",
            "seed",
            "wall_time_ms",
            "workers_planned",
            "workers_launched",
            "queue_full_stalls",
            "mq_send_wait_ms",
            "leader_cpu_ms",
            "leader_mq_receive_wait_ms",
            "workers_cpu_ms",
            "workers_io_wait_ms",
            "workers_startup_ms",
        ]
        .map(String::from),
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        for row in &rows[pi * reps..(pi + 1) * reps] {
            let leader = row.processes.iter().find(|x| !x.0).map(|x| x.1).unwrap_or([0.0; 6]);
            let wsum = |k: usize| row.processes.iter().filter(|x| x.0).map(|x| x.1[k]).sum::<f64>();
            let mut l = vec![hw_names[p.hw].clone()];
            l.extend(row.values.iter().cloned());
            l.extend([
                row.replication.to_string(),
                row.seed.to_string(),
                format!("{:.6}", row.wall_time_ms),
                row.workers_planned.to_string(),
                row.workers_launched.to_string(),
                format!("{}", row.queue_full_stalls.round() as u64),
                f3(row.mq_send_workers()),
                f3(leader[0]),
                f3(leader[3]),
                f3(wsum(0)),
                f3(wsum(1)),
                f3(wsum(4)),
            ]);
            lines.push(l);
        }
    }
    write_atomic(dir, "points.csv", &csv_bytes(&header, &lines))?;
    written.push(dir.join("points.csv"));

    // summary.csv
    let mut header: Vec<String> = vec!["hardware".into()];
    header.extend(keys.iter().cloned());
    header.extend(
        [
            "wall_time_ms_mean",
            "wall_time_ms_median",
            "ci95_lo",
            "ci95_hi",
            "speedup",
            "efficiency",
            "speedup_ci95_lo",
            "speedup_ci95_hi",
            "replications",
            "wall_time_ms_sd",
            "workers_planned",
            "workers_launched",
            "participants",
            "queue_full_stalls_mean",
            "mq_send_wait_ms_mean",
        ]
        .map(String::from),
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        let s = &st[pi];
        let mut l = vec![hw_names[p.hw].clone()];
        l.extend(values_of(&a.vary, &p.idx));
        let (sp, eff, lo, hi) = match s.speedup {
            Some((x, lo, hi)) => (f4(x), f4(x / s.participants), f4(lo), f4(hi)),
            None => (String::new(), String::new(), String::new(), String::new()),
        };
        l.extend([
            f3(s.wall.mean),
            f3(s.wall.median),
            f3(s.wall.ci95_lo),
            f3(s.wall.ci95_hi),
            sp,
            eff,
            lo,
            hi,
            reps.to_string(),
            f3(s.wall.std_dev),
            s.workers_planned.to_string(),
            s.launched_text(),
            f3(s.participants),
            f3(s.stalls_mean),
            f3(s.mq_send_mean),
        ]);
        lines.push(l);
    }
    write_atomic(dir, "summary.csv", &csv_bytes(&header, &lines))?;
    written.push(dir.join("summary.csv"));

    // splits.csv: mean time split of every process at every point.
    let mut header: Vec<String> = vec!["hardware".into()];
    header.extend(keys.iter().cloned());
    header.extend(
        ["process", "cpu_ms", "io_wait_ms", "mq_send_wait_ms", "mq_receive_wait_ms", "startup_ms", "other_ms"]
            .map(String::from),
    );
    let mut lines = vec![];
    for (pi, p) in points.iter().enumerate() {
        let mut w = 0;
        for (is_worker, v) in &st[pi].procs {
            let name = if *is_worker {
                w += 1;
                format!("worker {}", w - 1)
            } else {
                "leader".to_string()
            };
            let mut l = vec![hw_names[p.hw].clone()];
            l.extend(values_of(&a.vary, &p.idx));
            l.push(name);
            l.extend(v.iter().map(|x| f3(*x)));
            lines.push(l);
        }
    }
    write_atomic(dir, "splits.csv", &csv_bytes(&header, &lines))?;
    written.push(dir.join("splits.csv"));

    // fits.json
    let groups = fit_groups(a, points, st);
    if !groups.is_empty() {
        let text = serde_json::to_string_pretty(&fits_json(a, hw_names, &groups)).expect("json") + "\n";
        write_atomic(dir, "fits.json", text.as_bytes())?;
        written.push(dir.join("fits.json"));
    }

    written.extend(write_sweep_plots(a, points, hw_names, st, &groups)?);
    Ok(written)
}

/// Series of a line chart: one per group of points differing only in the x key.
struct LineGroup {
    label: String,
    members: Vec<usize>,
}

fn line_groups(a: &SweepArgs, points: &[Point], hw_names: &[String], xk: usize) -> Vec<LineGroup> {
    let is_x = |v: &Vary| v.key == a.vary[xk].key;
    group_points(points, &a.vary, &is_x)
        .into_iter()
        .map(|m| {
            let p = &points[m[0]];
            let mut label = hw_names[p.hw].clone();
            for (j, (v, &i)) in a.vary.iter().zip(&p.idx).enumerate() {
                if j != xk {
                    label.push_str(&format!(", {}={}", v.key, v.values[i]));
                }
            }
            LineGroup { label, members: m }
        })
        .collect()
}

fn write_sweep_plots(
    a: &SweepArgs,
    points: &[Point],
    hw_names: &[String],
    st: &[PointStats],
    fits: &[FitGroup],
) -> Result<Vec<PathBuf>> {
    let dir = &a.output;
    let mut written = vec![];
    let scenario = &points[0].sc.name;
    // x: the workers key when varied, else the first key.
    let xk = a.vary.iter().position(|v| v.key == WORKERS_KEY).unwrap_or(0);
    let xv = &a.vary[xk];
    let workers_x = xv.key == WORKERS_KEY;
    let x_label = if workers_x { format!("workers ({WORKERS_KEY})") } else { xv.key.clone() };
    let groups = line_groups(a, points, hw_names, xk);
    let x_of = |pi: usize| xv.numeric(points[pi].idx[xk]);

    // Speedup chart.
    let mut series = vec![];
    let mut overlays = vec![];
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for g in &groups {
        let pts: Vec<(f64, f64, f64, f64)> =
            g.members.iter().filter_map(|&pi| st[pi].speedup.map(|(s, lo, hi)| (x_of(pi), s, lo, hi))).collect();
        if pts.is_empty() {
            continue;
        }
        for p in &pts {
            xmin = xmin.min(p.0);
            xmax = xmax.max(p.0);
        }
        let mut label = g.label.clone();
        if workers_x {
            let cap = g.members.iter().map(|&pi| st[pi].launched_max()).max().unwrap_or(0);
            let asked = g.members.iter().map(|&pi| x_of(pi)).fold(0.0, f64::max);
            if f64::from(cap) < asked {
                label.push_str(&format!(" (at most {cap} launched)"));
            }
        }
        series.push(SeriesWithError::new(label, pts));
    }
    if !series.is_empty() {
        if workers_x {
            // Reference lines stop a little above the data so a flat curve stays readable.
            let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.3)).fold(1.0, f64::max);
            let cap = (1.6 * top).max(2.0);
            let line = |offset: f64, from: f64| {
                let to = xmax.min(cap - offset).max(from);
                vec![(from, from + offset), (to, to + offset)]
            };
            let from = xmin.max(1.0);
            overlays.push(Overlay::new("ideal, workers only (S = W)", OverlayKind::Ideal, line(0.0, from)));
            overlays.push(Overlay::new("leader + workers bound (W+1)", OverlayKind::Bound, line(1.0, xmin)));
            // A USL curve per series, drawn where workers were actually launched.
            let mut si = 0;
            for g in &groups {
                if !g.members.iter().any(|&pi| st[pi].speedup.is_some()) {
                    continue;
                }
                if let Some(f) = fits.iter().find(|f| f.members == g.members) {
                    if let Ok(u) = &f.usl {
                        let top = g.members.iter().map(|&pi| st[pi].launched_max()).max().unwrap_or(0);
                        let hi = (f64::from(top)).min(xmax).max(xmin);
                        let leader =
                            f64::from(u8::from(points[g.members[0]].sc.settings.flag("parallel_leader_participation")));
                        let label = format!("USL fit {} (σ={:.3}, κ={:.4})", short(&g.label), u.sigma, u.kappa);
                        let o = Overlay::from_fn(label, OverlayKind::Fit, xmin, hi, |x| {
                            u.predict(if x > 0.0 { x + leader } else { 1.0 }.max(1.0))
                        });
                        overlays.push(o.for_series(si));
                    }
                }
                si += 1;
            }
        }
        let title = format!("Speedup: {scenario}");
        written.extend(plot_atomic(dir, "speedup", |stem| {
            plot::speedup_chart(stem, &title, &x_label, &series, &overlays)
        })?);
    }

    // Wall time per hardware (always; called the hardware comparison with several profiles).
    let wall_series: Vec<SeriesWithError> = groups
        .iter()
        .map(|g| {
            SeriesWithError::from_summaries(
                g.label.clone(),
                &g.members.iter().map(|&pi| (x_of(pi), st[pi].wall)).collect::<Vec<_>>(),
            )
        })
        .collect();
    let (stem, title) = if hw_names.len() > 1 {
        ("hardware", format!("Wall time by hardware: {scenario}"))
    } else {
        ("wall-time", format!("Wall time: {scenario} on {}", hw_names[0]))
    };
    written.extend(plot_atomic(dir, stem, |s| plot::hardware_comparison(s, &title, &x_label, &wall_series))?);

    // Time split per hardware: the leader and the mean worker at every grid point.
    for (h, hname) in hw_names.iter().enumerate() {
        let mut bars = vec![];
        for (pi, p) in points.iter().enumerate().filter(|(_, p)| p.hw == h) {
            let label = a.vary.iter().zip(&p.idx).map(|(v, &i)| v.label(i)).collect::<Vec<_>>().join(", ");
            let procs = &st[pi].procs;
            if let Some(l) = procs.iter().find(|x| !x.0) {
                bars.push(StackedBar::new(format!("{label} leader"), segments(&l.1)));
            }
            let ws: Vec<&[f64; 6]> = procs.iter().filter(|x| x.0).map(|x| &x.1).collect();
            if !ws.is_empty() {
                let mut m = [0.0; 6];
                for w in &ws {
                    for (a, v) in m.iter_mut().zip(w.iter()) {
                        *a += v / ws.len() as f64;
                    }
                }
                bars.push(StackedBar::new(format!("{label} worker (mean of {})", ws.len()), segments(&m)));
            }
        }
        let stem = if hw_names.len() > 1 { format!("time-split-{}", file_safe(hname)) } else { "time-split".into() };
        let title = format!("Where the time goes: {scenario} on {hname}");
        written.extend(plot_atomic(dir, &stem, |s| plot::stacked_time_split(s, &title, &bars))?);
    }
    Ok(written)
}

fn short(label: &str) -> String {
    label.split(" (").next().unwrap_or(label).to_string()
}

fn segments(v: &[f64; 6]) -> Vec<(&'static str, f64)> {
    SPLIT_CATEGORIES.iter().zip(v.iter()).filter(|(_, x)| **x > 0.0).map(|(c, x)| (*c, *x)).collect()
}

fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn sweep_table(a: &SweepArgs, points: &[Point], hw_names: &[String], st: &[PointStats]) -> String {
    let mut head = vec!["hardware".to_string()];
    head.extend(a.vary.iter().map(|v| v.key.clone()));
    head.extend(["launched", "wall ms", "95% CI", "speedup"].map(String::from));
    let mut rows = vec![head];
    for (pi, p) in points.iter().enumerate() {
        let s = &st[pi];
        let mut r = vec![hw_names[p.hw].clone()];
        r.extend(values_of(&a.vary, &p.idx));
        r.push(s.launched_text());
        r.push(format!("{:.1}", s.wall.mean));
        r.push(format!("{:.1} .. {:.1}", s.wall.ci95_lo, s.wall.ci95_hi));
        r.push(s.speedup.map(|x| format!("{:.2}x", x.0)).unwrap_or_default());
        rows.push(r);
    }
    text_table(&rows)
}

/// Left-aligned first columns of text, right-aligned numbers.
fn text_table(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..n).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// compare
// ---------------------------------------------------------------------------------------

pub fn run_compare(a: CompareArgs) -> Result<()> {
    let mut loaded = vec![];
    for h in &a.hardware {
        let h = h.trim();
        if h.is_empty() {
            return Err(Error::input("--hardware: empty profile name in the list"));
        }
        let (sc, hw) = config::load(&a.scenario, h, &a.whatif.to_whatif())?;
        if loaded.iter().any(|(_, x): &(Scenario, Hardware)| x.name == hw.name) {
            return Err(Error::input(format!("--hardware: the profile \"{}\" is listed twice", hw.name)));
        }
        loaded.push((sc, hw));
    }
    let pb = progress_bar(loaded.len() as u64, "compare");
    let outs: Vec<Result<RunOutput>> = loaded
        .par_iter()
        .map(|(sc, hw)| {
            let r = predict::run_scenario(sc, hw, a.seed, a.replications, false)
                .map_err(|e| with_context(e, &format!("on {}", hw.name)));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let outs: Vec<RunOutput> = outs.into_iter().collect::<Result<_>>()?;
    let fastest = outs.iter().map(|o| o.summary.mean).fold(f64::INFINITY, f64::min);

    let header: Vec<String> = [
        "hardware",
        "cores",
        "cache",
        "workers_planned",
        "workers_launched",
        "wall_time_ms_mean",
        "wall_time_ms_median",
        "ci95_lo",
        "ci95_hi",
        "relative",
        "queue_full_stalls",
        "cpu_ms",
        "io_wait_ms",
        "mq_send_wait_ms",
        "leader_mq_receive_wait_ms",
        "startup_ms",
    ]
    .map(String::from)
    .to_vec();
    let mut lines = vec![];
    for ((_, hw), o) in loaded.iter().zip(&outs) {
        let sum = |f: &dyn Fn(&crate::report::ProcessSplit) -> f64, workers_only: bool| {
            o.splits.iter().filter(|p| !workers_only || p.role == "worker").map(f).sum::<f64>()
        };
        let leader_rx: f64 =
            o.splits.iter().filter(|p| p.role == "leader").map(|p| p.time(crate::report::Category::MqReceive)).sum();
        let stalls = o.stalls.iter().sum::<f64>() / o.stalls.len() as f64;
        lines.push(vec![
            hw.name.clone(),
            format!("{}", hw.cores),
            hw.cache.name().to_string(),
            o.workers_planned.to_string(),
            o.workers_launched.to_string(),
            f3(o.summary.mean),
            f3(o.summary.median),
            f3(o.summary.ci95_lo),
            f3(o.summary.ci95_hi),
            f4(o.summary.mean / fastest),
            f3(stalls),
            f3(sum(&|p| p.time(crate::report::Category::Cpu), false)),
            f3(sum(&|p| p.time(crate::report::Category::Io), false)),
            f3(sum(&|p| p.time(crate::report::Category::MqSend), true)),
            f3(leader_rx),
            f3(sum(&|p| p.time(crate::report::Category::Startup), false)),
        ]);
    }

    // Text table on stdout.
    let sc_name = &loaded[0].0.name;
    let mut t = vec![[
        "hardware",
        "cores",
        "cache",
        "workers",
        "wall ms",
        "95% CI",
        "median",
        "relative",
        "CPU ms",
        "disk ms",
        "MQSend ms",
    ]
    .map(String::from)
    .to_vec()];
    for (l, o) in lines.iter().zip(&outs) {
        t.push(vec![
            l[0].clone(),
            l[1].clone(),
            l[2].clone(),
            format!("{}/{}", o.workers_launched, o.workers_planned),
            format!("{:.1}", o.summary.mean),
            format!("{:.1} .. {:.1}", o.summary.ci95_lo, o.summary.ci95_hi),
            format!("{:.1}", o.summary.median),
            format!("{:.2}", o.summary.mean / fastest),
            format!("{:.1}", l[11].parse::<f64>().unwrap_or(0.0)),
            format!("{:.1}", l[12].parse::<f64>().unwrap_or(0.0)),
            format!("{:.1}", l[13].parse::<f64>().unwrap_or(0.0)),
        ]);
    }
    println!("Scenario: {sc_name}  ({} replications, seed {})", a.replications, a.seed);
    print!("{}", text_table(&t));
    println!(
        "(relative = mean wall time / the fastest; CPU and disk summed over processes; MQSend summed over workers)"
    );

    if let Some(dir) = &a.output {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut written = vec![];
        write_atomic(dir, "compare.csv", &csv_bytes(&header, &lines))?;
        written.push(dir.join("compare.csv"));
        // Where the time goes on each machine (bar ends = each process's total).
        let mut bars = vec![];
        for ((_, hw), o) in loaded.iter().zip(&outs) {
            let split = |p: &crate::report::ProcessSplit| p.groups();
            if let Some(l) = o.splits.iter().find(|p| p.role == "leader") {
                bars.push(StackedBar::new(format!("{} leader", hw.name), segments(&split(l))));
            }
            let ws: Vec<[f64; 6]> = o.splits.iter().filter(|p| p.role == "worker").map(split).collect();
            if !ws.is_empty() {
                let mut m = [0.0; 6];
                for w in &ws {
                    for (a, v) in m.iter_mut().zip(w.iter()) {
                        *a += v / ws.len() as f64;
                    }
                }
                bars.push(StackedBar::new(format!("{} worker (mean of {})", hw.name, ws.len()), segments(&m)));
            }
        }
        let title = format!("Where the time goes by hardware: {sc_name}");
        written.extend(plot_atomic(dir, "compare", |s| plot::stacked_time_split(s, &title, &bars))?);
        for f in written {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        let v = parse_vary("max_parallel_workers_per_gather=0..3").unwrap();
        assert_eq!(v.values, ["0", "1", "2", "3"]);
        let v = parse_vary("max_parallel_workers_per_gather=0..2,4,8").unwrap();
        assert_eq!(v.values, ["0", "1", "2", "4", "8"]);
        let v = parse_vary("work_mem=4MB, 64MB").unwrap();
        assert_eq!(v.values, ["4MB", "64MB"]);
        assert_eq!(v.numeric(1), 65536.0);
        let v = parse_vary("lineitem.rows=1000,2000").unwrap();
        assert_eq!(v.target, Target::Table { table: "lineitem".into(), key: TableKey::Rows });
    }

    #[test]
    fn bad_vary_input_is_explained() {
        for (s, msg) in [
            ("no_such_guc=1,2", "unknown setting"),
            ("max_parallel_workers_per_gather=4..2", "is empty"),
            ("max_parallel_workers_per_gather=", "empty list"),
            ("max_parallel_workers_per_gather=1,,2", "empty value"),
            ("max_parallel_workers_per_gather=a..b", "integers"),
            ("max_parallel_workers_per_gather=-1,2", "outside the valid range"),
            ("max_parallel_workers_per_gather=1,1", "listed twice"),
            ("work_mem=lots", "work_mem"),
            ("lineitem.colour=1", "not a table what-if"),
            ("lineitem.rows=-5", "zero or positive"),
            ("justakey", "KEY=LIST"),
        ] {
            let e = parse_vary(s).unwrap_err();
            assert!(e.contains(msg), "{s}: {e}");
        }
    }

    #[test]
    fn grid_order_last_key_fastest() {
        let a = parse_vary("max_parallel_workers_per_gather=0,1").unwrap();
        let b = parse_vary("work_mem=4MB,8MB,16MB").unwrap();
        let c = combinations(&[a, b]);
        assert_eq!(c, vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]);
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), "cbf29ce484222325");
        assert_eq!(fnv1a(b"a"), "af63dc4c8601ec8c");
    }
}
