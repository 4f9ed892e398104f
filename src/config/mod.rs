//! The outer layer's reading of input files: TOML text -> raw serde structs -> the validated
//! model in `model`. Every error carries file, line and column where they are known.

use crate::error::{Error, Location, Result};
use crate::model::guc::Settings;
use crate::model::units::parse_bytes;
use crate::model::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Read a file; a missing file is bad input (exit 2).
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::input_at(Location::file(path), format!("cannot read file: {e}")))
}

fn toml_error(path: &Path, src: &str, e: toml::de::Error) -> Error {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => Error::input_at(Location::at_offset(path, src, span.start), msg),
        None => Error::input_at(Location::file(path), msg),
    }
}

/// Parse TOML text into a table (for what-if overrides before typed deserialization).
pub fn parse_table(path: &Path, src: &str) -> Result<toml::Table> {
    toml::from_str::<toml::Table>(src).map_err(|e| toml_error(path, src, e))
}

/// A small context for validation errors that point into a file.
struct Ctx<'a> {
    path: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, span: Option<std::ops::Range<usize>>, msg: impl Into<String>) -> Error {
        match span {
            Some(s) if !self.src.is_empty() => Error::input_at(Location::at_offset(self.path, self.src, s.start), msg),
            _ => Error::input_at(Location::file(self.path), msg),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hardware profiles
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHardware {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: String,
    cores: Spanned<f64>,
    #[serde(default = "one")]
    cpu_speed: Spanned<f64>,
    cache: Spanned<String>,
    #[serde(default)]
    cpu_noise_cv: Option<Spanned<f64>>,
    disk: RawDisk,
    costs: RawCosts,
    parallel: RawParallel,
    /// Free-form provenance written by `pqsim calibrate` (fit residuals, server version...).
    #[serde(default)]
    calibration: Option<toml::Table>,
    /// Server settings this machine runs with (e.g. Aurora's shared_buffers); a scenario's
    /// settings and `--set` override them.
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
    /// The machine's own run-to-run spread, measured by calibration.
    #[serde(default)]
    variability: Option<RawVariability>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariability {
    /// Log-normal sigma of one run's time around the typical time.
    run_sigma: Option<Spanned<f64>>,
    /// Free-form provenance (how it was measured).
    #[serde(default)]
    source: Option<String>,
}

fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisk {
    seq_read_mb_per_s: Spanned<f64>,
    request_latency_us: Spanned<f64>,
    read_ahead: Spanned<String>,
    queue_depth: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCosts {
    page_ns: Spanned<f64>,
    os_read_page_ns: Spanned<f64>,
    tuple_ns: Spanned<f64>,
    qual_ns: Spanned<f64>,
    agg_transition_ns: Spanned<f64>,
    hash_build_ns: Spanned<f64>,
    hash_probe_ns: Spanned<f64>,
    sort_tuple_ns: Spanned<f64>,
    sort_compare_ns: Spanned<f64>,
    index_tuple_ns: Spanned<f64>,
    index_descent_ns: Spanned<f64>,
    tuple_send_ns: Spanned<f64>,
    tuple_receive_ns: Spanned<f64>,
    gather_merge_tuple_ns: Spanned<f64>,
    client_row_ns: Spanned<f64>,
    temp_page_ns: Spanned<f64>,
    wakeup_ns: Spanned<f64>,
    #[serde(default)]
    instrument_ns: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParallel {
    leader_setup_us: Spanned<f64>,
    launch_per_worker_us: Spanned<f64>,
    worker_startup_ms: Spanned<f64>,
    worker_startup_sigma: Spanned<f64>,
    shutdown_per_worker_us: Spanned<f64>,
    tuple_queue_size: Spanned<String>,
}

/// Resolve `--hardware NAME|PATH`: a path that exists, else `configs/hardware/NAME.toml`
/// relative to the working directory, else next to the binary's source tree.
pub fn resolve_hardware(name_or_path: &str) -> Result<PathBuf> {
    let p = Path::new(name_or_path);
    if p.exists() {
        return Ok(p.to_path_buf());
    }
    let candidates = [
        PathBuf::from("configs/hardware").join(format!("{name_or_path}.toml")),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hardware").join(format!("{name_or_path}.toml")),
    ];
    for c in &candidates {
        if c.exists() {
            return Ok(c.clone());
        }
    }
    let known = list_hardware().join(", ");
    Err(Error::input(format!(
        "unknown hardware profile \"{name_or_path}\": no such file and no configs/hardware/{name_or_path}.toml (known: {known})"
    )))
}

pub fn list_hardware() -> Vec<String> {
    let mut names = vec![];
    for dir in [PathBuf::from("configs/hardware"), Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hardware")] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                if let Some(n) = e.path().file_stem().and_then(|s| s.to_str()) {
                    if e.path().extension().is_some_and(|x| x == "toml") && !names.contains(&n.to_string()) {
                        names.push(n.to_string());
                    }
                }
            }
        }
        if !names.is_empty() {
            break;
        }
    }
    names.sort();
    names
}

/// Apply `KEY=VALUE` overrides to a TOML table; KEY may be dotted (`disk.queue_depth`).
pub fn apply_overrides(table: &mut toml::Table, overrides: &[(String, String)], what: &str) -> Result<()> {
    for (key, value) in overrides {
        let parts: Vec<&str> = key.split('.').collect();
        let mut t = &mut *table;
        for part in &parts[..parts.len() - 1] {
            t = match t.get_mut(*part) {
                Some(toml::Value::Table(inner)) => inner,
                _ => return Err(Error::input(format!("{what}: unknown key \"{key}\""))),
            };
        }
        let last = parts[parts.len() - 1];
        let existing = t.get(last).ok_or_else(|| Error::input(format!("{what}: unknown key \"{key}\"")))?;
        let v = match existing {
            toml::Value::Integer(_) | toml::Value::Float(_) => value
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|_| Error::input(format!("{what}: {key} takes a number, not \"{value}\"")))?,
            toml::Value::Boolean(_) => toml::Value::Boolean(
                crate::model::units::parse_bool(value).map_err(|e| Error::input(format!("{what}: {key}: {e}")))?,
            ),
            toml::Value::String(_) => toml::Value::String(value.clone()),
            _ => return Err(Error::input(format!("{what}: {key} cannot be set from the command line"))),
        };
        t.insert(last.to_string(), v);
    }
    Ok(())
}

/// Load a hardware profile, with `--hw KEY=VALUE` overrides (`cores=N`, `cache=hot|warm|cold`,
/// or any dotted key of the profile).
pub fn load_hardware(path: &Path, overrides: &[(String, String)]) -> Result<Hardware> {
    let src = read_text(path)?;
    let raw: RawHardware = if overrides.is_empty() {
        toml::from_str(&src).map_err(|e| toml_error(path, &src, e))?
    } else {
        let mut t = parse_table(path, &src)?;
        apply_overrides(&mut t, overrides, "--hw")?;
        let text = toml::to_string(&t).map_err(|e| Error::input(e.to_string()))?;
        toml::from_str(&text).map_err(|e| Error::input(format!("{} (after --hw): {}", path.display(), e.message())))?
    };
    let ctx = Ctx { path, src: if overrides.is_empty() { &src } else { "" } };
    hardware_from_raw(&ctx, raw)
}

fn positive(ctx: &Ctx, v: &Spanned<f64>, what: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !(x.is_finite() && x > 0.0) {
        return Err(ctx.err::<()>(Some(v.span()), format!("{what} must be a positive number, got {x}")));
    }
    Ok(x)
}

fn non_negative(ctx: &Ctx, v: &Spanned<f64>, what: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !(x.is_finite() && x >= 0.0) {
        return Err(ctx.err::<()>(Some(v.span()), format!("{what} must be zero or positive, got {x}")));
    }
    Ok(x)
}

fn size_bytes(ctx: &Ctx, v: &Spanned<String>, what: &str) -> Result<f64> {
    let b = parse_bytes(v.get_ref()).map_err(|e| ctx.err::<()>(Some(v.span()), format!("{what}: {e}")))?;
    if b <= 0.0 {
        return Err(ctx.err::<()>(Some(v.span()), format!("{what} must be positive")));
    }
    Ok(b)
}

fn hardware_from_raw(ctx: &Ctx, raw: RawHardware) -> Result<Hardware> {
    let cache = match raw.cache.get_ref().as_str() {
        "hot" => CacheState::Hot,
        "warm" => CacheState::Warm,
        "cold" => CacheState::Cold,
        other => {
            return Err(
                ctx.err::<()>(Some(raw.cache.span()), format!("cache must be hot, warm or cold, not \"{other}\""))
            )
        }
    };
    let c = &raw.costs;
    let nn = |v: &Spanned<f64>, w: &str| non_negative(ctx, v, &format!("costs.{w}"));
    let costs = UnitCosts {
        page_ns: nn(&c.page_ns, "page_ns")?,
        os_read_page_ns: nn(&c.os_read_page_ns, "os_read_page_ns")?,
        tuple_ns: nn(&c.tuple_ns, "tuple_ns")?,
        qual_ns: nn(&c.qual_ns, "qual_ns")?,
        agg_transition_ns: nn(&c.agg_transition_ns, "agg_transition_ns")?,
        hash_build_ns: nn(&c.hash_build_ns, "hash_build_ns")?,
        hash_probe_ns: nn(&c.hash_probe_ns, "hash_probe_ns")?,
        sort_tuple_ns: nn(&c.sort_tuple_ns, "sort_tuple_ns")?,
        sort_compare_ns: nn(&c.sort_compare_ns, "sort_compare_ns")?,
        index_tuple_ns: nn(&c.index_tuple_ns, "index_tuple_ns")?,
        index_descent_ns: nn(&c.index_descent_ns, "index_descent_ns")?,
        tuple_send_ns: nn(&c.tuple_send_ns, "tuple_send_ns")?,
        tuple_receive_ns: nn(&c.tuple_receive_ns, "tuple_receive_ns")?,
        gather_merge_tuple_ns: nn(&c.gather_merge_tuple_ns, "gather_merge_tuple_ns")?,
        client_row_ns: nn(&c.client_row_ns, "client_row_ns")?,
        temp_page_ns: nn(&c.temp_page_ns, "temp_page_ns")?,
        wakeup_ns: nn(&c.wakeup_ns, "wakeup_ns")?,
        // Default: two clock reads of ~30 ns (pg_test_timing on the reference VM) + bookkeeping.
        instrument_ns: match &c.instrument_ns {
            Some(v) => nn(v, "instrument_ns")?,
            None => 75.0,
        },
    };
    let d = &raw.disk;
    let disk = Disk {
        seq_bytes_per_ns: positive(ctx, &d.seq_read_mb_per_s, "disk.seq_read_mb_per_s")? * 1024.0 * 1024.0 / 1e9,
        request_latency_ns: non_negative(ctx, &d.request_latency_us, "disk.request_latency_us")? * 1e3,
        read_ahead_bytes: size_bytes(ctx, &d.read_ahead, "disk.read_ahead")?,
        queue_depth: positive(ctx, &d.queue_depth, "disk.queue_depth")?,
    };
    let p = &raw.parallel;
    let queue = size_bytes(ctx, &p.tuple_queue_size, "parallel.tuple_queue_size")?;
    if queue < 1024.0 {
        return Err(ctx.err::<()>(Some(p.tuple_queue_size.span()), "parallel.tuple_queue_size must be at least 1kB"));
    }
    let parallel = ParallelCosts {
        leader_setup_ns: non_negative(ctx, &p.leader_setup_us, "parallel.leader_setup_us")? * 1e3,
        launch_per_worker_ns: non_negative(ctx, &p.launch_per_worker_us, "parallel.launch_per_worker_us")? * 1e3,
        worker_startup_ns: non_negative(ctx, &p.worker_startup_ms, "parallel.worker_startup_ms")? * 1e6,
        worker_startup_sigma: non_negative(ctx, &p.worker_startup_sigma, "parallel.worker_startup_sigma")?,
        shutdown_per_worker_ns: non_negative(ctx, &p.shutdown_per_worker_us, "parallel.shutdown_per_worker_us")? * 1e3,
        tuple_queue_size: queue,
    };
    let cores = positive(ctx, &raw.cores, "cores")?;
    let cpu_speed = positive(ctx, &raw.cpu_speed, "cpu_speed")?;
    let cpu_noise_cv = match &raw.cpu_noise_cv {
        Some(v) => non_negative(ctx, v, "cpu_noise_cv")?,
        None => 0.02,
    };
    let _ = (&raw.source, &raw.calibration, raw.variability.as_ref().map(|v| &v.source));
    let run_sigma = match raw.variability.as_ref().and_then(|v| v.run_sigma.as_ref()) {
        Some(v) => Some(non_negative(ctx, v, "variability.run_sigma")?),
        None => None,
    };
    let mut settings = vec![];
    let mut check = Settings::default();
    for (k, v) in &raw.settings {
        let text = toml_value_text(v.get_ref()).ok_or_else(|| {
            ctx.err::<()>(Some(v.span()), format!("setting {k}: expected a number, string or boolean"))
        })?;
        check.set(k, &text).map_err(|e| ctx.err::<()>(Some(v.span()), e))?;
        settings.push((k.clone(), text));
    }
    Ok(Hardware {
        name: raw.name,
        description: raw.description,
        cores,
        cpu_speed,
        cache,
        disk,
        costs,
        parallel,
        cpu_noise_cv,
        run_sigma: run_sigma.unwrap_or(crate::model::DEFAULT_RUN_SIGMA),
        run_sigma_measured: run_sigma.is_some(),
        settings,
    })
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    sql: String,
    #[serde(default)]
    output: Option<Spanned<String>>,
    #[serde(default)]
    busy_worker_slots: Option<Spanned<i64>>,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default, rename = "table")]
    tables: Vec<Spanned<RawTable>>,
    #[serde(default)]
    query: RawQuery,
    plan: Spanned<RawNode>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    command: Option<String>,
    #[serde(default)]
    functions: BTreeMap<String, String>,
    #[serde(default)]
    row_locks: bool,
    #[serde(default)]
    cursor: bool,
    #[serde(default)]
    client_max_rows: u64,
    #[serde(default)]
    materialized_cte: bool,
    #[serde(default)]
    correlated_subplan: bool,
    #[serde(default)]
    serializable: bool,
    #[serde(default)]
    server_version: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Spanned<String>,
    rows: Option<Spanned<f64>>,
    width: Option<Spanned<f64>>,
    pages: Option<Spanned<f64>>,
    size: Option<Spanned<String>>,
    parallel_workers: Option<Spanned<i64>>,
    index_pages: Option<Spanned<f64>>,
    #[serde(default)]
    temporary: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubPlan {
    table: Spanned<String>,
    width: Option<Spanned<f64>>,
    rows: Option<Spanned<f64>>,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    node: Spanned<String>,
    table: Option<Spanned<String>>,
    parallel: Option<bool>,
    filter: Option<String>,
    selectivity: Option<Spanned<f64>>,
    operators: Option<Spanned<f64>>,
    subplan: Option<RawSubPlan>,
    width: Option<Spanned<f64>>,
    fraction: Option<Spanned<f64>>,
    correlation: Option<Spanned<f64>>,
    mode: Option<Spanned<String>>,
    groups: Option<Spanned<f64>>,
    aggregates: Option<Spanned<f64>>,
    keys: Option<Vec<String>>,
    count: Option<Spanned<f64>>,
    workers: Option<Spanned<i64>>,
    single_copy: Option<bool>,
    join_type: Option<String>,
    rows_per_outer: Option<Spanned<f64>>,
    cond: Option<String>,
    inner_table: Option<Spanned<String>>,
    input: Option<Box<Spanned<RawNode>>>,
    outer: Option<Box<Spanned<RawNode>>>,
    inner: Option<Box<Spanned<RawNode>>>,
}

/// What-if changes to one table: `--table NAME.KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOverride {
    pub table: String,
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for TableOverride {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (lhs, value) = s.split_once('=').ok_or_else(|| format!("--table expects NAME.KEY=VALUE, got \"{s}\""))?;
        let (table, key) =
            lhs.rsplit_once('.').ok_or_else(|| format!("--table expects NAME.KEY=VALUE, got \"{s}\""))?;
        if table.is_empty() || key.is_empty() {
            return Err(format!("--table expects NAME.KEY=VALUE, got \"{s}\""));
        }
        Ok(TableOverride { table: table.to_string(), key: key.to_string(), value: value.to_string() })
    }
}

/// Load a scenario, then apply `--set` settings and `--table` what-ifs (later wins).
pub fn load_scenario(path: &Path, sets: &[(String, String)], tables: &[TableOverride]) -> Result<Scenario> {
    let src = read_text(path)?;
    let raw: RawScenario = toml::from_str(&src).map_err(|e| toml_error(path, &src, e))?;
    let ctx = Ctx { path, src: &src };
    let mut sc = scenario_from_raw(&ctx, raw)?;
    for (k, v) in sets {
        sc.settings.set(k, v).map_err(|e| Error::input(format!("--set {k}={v}: {e}")))?;
        sc.setting_overrides.push((k.clone(), v.clone()));
    }
    for o in tables {
        apply_table_override(&mut sc, o)?;
    }
    Ok(sc)
}

/// Parse `KEY=VALUE` from the command line.
pub fn parse_kv(s: &str, flag: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{flag} expects KEY=VALUE, got \"{s}\""))?;
    if k.trim().is_empty() {
        return Err(format!("{flag} expects KEY=VALUE, got \"{s}\""));
    }
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn toml_value_text(v: &toml::Value) -> Option<String> {
    Some(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
        _ => return None,
    })
}

fn scenario_from_raw(ctx: &Ctx, raw: RawScenario) -> Result<Scenario> {
    let mut settings = Settings::default();
    let mut setting_overrides = vec![];
    for (k, v) in &raw.settings {
        let text = toml_value_text(v.get_ref()).ok_or_else(|| {
            ctx.err::<()>(Some(v.span()), format!("setting {k}: expected a number, string or boolean"))
        })?;
        settings.set(k, &text).map_err(|e| ctx.err::<()>(Some(v.span()), e))?;
        setting_overrides.push((k.clone(), text));
    }
    let mut tables = Vec::new();
    for t in &raw.tables {
        let table = table_from_raw(ctx, t)?;
        if tables.iter().any(|x: &Table| x.name == table.name) {
            return Err(ctx.err::<()>(Some(t.span()), format!("table \"{}\" is defined twice", table.name)));
        }
        tables.push(table);
    }
    let output = match raw.output.as_ref() {
        None => OutputMode::ExplainAnalyze,
        Some(o) => OutputMode::parse(o.get_ref()).ok_or_else(|| {
            ctx.err::<()>(
                Some(o.span()),
                format!(
                    "output must be \"explain_analyze\", \"explain_analyze_timing_off\" or \"client\", not \"{}\"",
                    o.get_ref()
                ),
            )
        })?,
    };
    let busy = match &raw.busy_worker_slots {
        Some(b) if *b.get_ref() < 0 => {
            return Err(ctx.err::<()>(Some(b.span()), "busy_worker_slots must be zero or positive"));
        }
        Some(b) => *b.get_ref() as u32,
        None => 0,
    };
    let mut functions = vec![];
    for (name, label) in &raw.query.functions {
        let c = match label.as_str() {
            "safe" | "s" => 's',
            "restricted" | "r" => 'r',
            "unsafe" | "u" => 'u',
            other => {
                return Err(ctx.err::<()>(
                    None,
                    format!("query.functions.{name}: expected \"safe\", \"restricted\" or \"unsafe\", not \"{other}\""),
                ))
            }
        };
        functions.push((name.clone(), c));
    }
    let q = &raw.query;
    let query = QueryProps {
        command: q.command.clone().unwrap_or_else(|| "select".into()).to_ascii_lowercase(),
        functions,
        row_locks: q.row_locks,
        cursor: q.cursor,
        client_max_rows: q.client_max_rows,
        materialized_cte: q.materialized_cte,
        correlated_subplan: q.correlated_subplan,
        serializable: q.serializable,
        server_version: q.server_version.unwrap_or(15),
    };
    let mut pinned = false;
    let plan = node_from_raw(ctx, &raw.plan, &tables, &mut pinned)?;
    let gathers = count_gathers(&plan);
    if gathers > 1 {
        return Err(
            ctx.err::<()>(Some(raw.plan.span()), "plans with more than one Gather/Gather Merge are not supported yet")
        );
    }
    let _ = (&raw.source, &raw.sql);
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        tables,
        settings,
        busy_worker_slots: busy,
        query,
        output,
        plan,
        pinned_workers: pinned,
        setting_overrides,
    })
}

fn count_gathers(n: &Node) -> usize {
    usize::from(n.is_gather()) + n.children().iter().map(|c| count_gathers(c)).sum::<usize>()
}

fn table_from_raw(ctx: &Ctx, t: &Spanned<RawTable>) -> Result<Table> {
    let r = t.get_ref();
    let name = r.name.get_ref().clone();
    if name.is_empty() {
        return Err(ctx.err::<()>(Some(r.name.span()), "table name must not be empty"));
    }
    let width = match &r.width {
        Some(w) => positive(ctx, w, &format!("table {name}: width"))?,
        None => 32.0,
    };
    let pages_given = match (&r.pages, &r.size) {
        (Some(_), Some(s)) => {
            return Err(ctx.err::<()>(Some(s.span()), format!("table {name}: give pages or size, not both")));
        }
        (Some(p), None) => Some(positive(ctx, p, &format!("table {name}: pages"))?.ceil()),
        (None, Some(s)) => Some((size_bytes(ctx, s, &format!("table {name}: size"))? / BLCKSZ).ceil()),
        (None, None) => None,
    };
    let rows = match &r.rows {
        Some(v) => non_negative(ctx, v, &format!("table {name}: rows"))?,
        None => match pages_given {
            Some(p) => p * ((BLCKSZ - 24.0) / (4.0 + maxalign(24.0 + width))).floor(),
            None => {
                return Err(
                    ctx.err::<()>(Some(t.span()), format!("table {name}: give rows (and optionally pages or size)"))
                )
            }
        },
    };
    let pages = pages_given.unwrap_or_else(|| heap_pages(rows, width));
    let parallel_workers = match &r.parallel_workers {
        Some(v) if !(0..=1024).contains(v.get_ref()) => {
            return Err(
                ctx.err::<()>(Some(v.span()), format!("table {name}: parallel_workers must be between 0 and 1024"))
            );
        }
        Some(v) => Some(*v.get_ref() as u32),
        None => None,
    };
    let index_pages = match &r.index_pages {
        Some(v) => Some(positive(ctx, v, &format!("table {name}: index_pages"))?.ceil()),
        None => None,
    };
    Ok(Table { name, rows, width, pages, parallel_workers, index_pages, temporary: r.temporary })
}

fn apply_table_override(sc: &mut Scenario, o: &TableOverride) -> Result<()> {
    let idx = sc.table_index(&o.table).ok_or_else(|| {
        let names: Vec<&str> = sc.tables.iter().map(|t| t.name.as_str()).collect();
        Error::input(format!(
            "--table {}.{}: no table \"{}\" in the scenario (tables: {})",
            o.table,
            o.key,
            o.table,
            names.join(", ")
        ))
    })?;
    let t = &mut sc.tables[idx];
    let bad = |e: String| Error::input(format!("--table {}.{}={}: {e}", o.table, o.key, o.value));
    let num = |v: &str| -> std::result::Result<f64, String> {
        let x: f64 = v.trim().replace('_', "").parse().map_err(|_| format!("expected a number, got \"{v}\""))?;
        if !x.is_finite() || x < 0.0 {
            return Err("must be zero or positive".into());
        }
        Ok(x)
    };
    match o.key.as_str() {
        "rows" => {
            let rows = num(&o.value).map_err(bad)?;
            // Same density: pages follow rows.
            t.pages = if t.rows > 0.0 { (t.pages * rows / t.rows).ceil() } else { heap_pages(rows, t.width) };
            t.rows = rows;
        }
        "pages" | "size" => {
            let pages = if o.key == "pages" {
                num(&o.value).map_err(bad)?.ceil()
            } else {
                (parse_bytes(&o.value).map_err(bad)? / BLCKSZ).ceil()
            };
            if pages <= 0.0 {
                return Err(bad("must be positive".into()));
            }
            // Same density: rows follow pages.
            t.rows = if t.pages > 0.0 { (t.rows * pages / t.pages).round() } else { t.rows };
            t.pages = pages;
        }
        "width" => {
            let w = num(&o.value).map_err(bad)?;
            if w <= 0.0 {
                return Err(bad("must be positive".into()));
            }
            t.width = w;
            t.pages = heap_pages(t.rows, w);
        }
        "parallel_workers" => {
            let n = num(&o.value).map_err(bad)?;
            if n > 1024.0 || n.fract() != 0.0 {
                return Err(bad("must be a whole number between 0 and 1024".into()));
            }
            t.parallel_workers = Some(n as u32);
        }
        "index_pages" => t.index_pages = Some(num(&o.value).map_err(bad)?.ceil()),
        other => {
            return Err(Error::input(format!(
                "--table {}.{other}: unknown key (use rows, pages, size, width, parallel_workers or index_pages)",
                o.table
            )))
        }
    }
    Ok(())
}

fn table_ref(ctx: &Ctx, tables: &[Table], t: &Option<Spanned<String>>, n: &Spanned<RawNode>) -> Result<usize> {
    let t = t
        .as_ref()
        .ok_or_else(|| ctx.err::<()>(Some(n.span()), format!("{} needs a `table`", n.get_ref().node.get_ref())))?;
    tables.iter().position(|x| &x.name == t.get_ref()).ok_or_else(|| {
        ctx.err::<()>(Some(t.span()), format!("unknown table \"{}\" (define it in a [[table]] section)", t.get_ref()))
    })
}

fn fraction(ctx: &Ctx, v: &Option<Spanned<f64>>, what: &str, default: f64) -> Result<f64> {
    match v {
        None => Ok(default),
        Some(s) => {
            let x = *s.get_ref();
            if !(0.0..=1.0).contains(&x) {
                return Err(ctx.err::<()>(Some(s.span()), format!("{what} must be between 0 and 1, got {x}")));
            }
            Ok(x)
        }
    }
}

fn filter_from_raw(ctx: &Ctx, r: &RawNode, tables: &[Table]) -> Result<Option<Filter>> {
    if r.filter.is_none() && r.selectivity.is_none() && r.subplan.is_none() {
        return Ok(None);
    }
    let selectivity = fraction(ctx, &r.selectivity, "selectivity", 1.0)?;
    let operators = match &r.operators {
        Some(o) => non_negative(ctx, o, "operators")?,
        None => 1.0,
    };
    let subplan = match &r.subplan {
        None => None,
        Some(s) => {
            let idx = tables.iter().position(|x| &x.name == s.table.get_ref()).ok_or_else(|| {
                ctx.err::<()>(Some(s.table.span()), format!("unknown table \"{}\"", s.table.get_ref()))
            })?;
            let width = match &s.width {
                Some(w) => positive(ctx, w, "subplan.width")?,
                None => 8.0,
            };
            let rows = match &s.rows {
                Some(w) => non_negative(ctx, w, "subplan.rows")?,
                None => tables[idx].rows,
            };
            Some(SubPlan { table: idx, width, rows, text: s.text.clone(), gather_workers: None })
        }
    };
    Ok(Some(Filter { text: r.filter.clone().unwrap_or_default(), selectivity, operators, subplan }))
}

fn node_from_raw(ctx: &Ctx, n: &Spanned<RawNode>, tables: &[Table], pinned: &mut bool) -> Result<Node> {
    let r = n.get_ref();
    let kind = r.node.get_ref().as_str();
    let sub = |c: &Option<Box<Spanned<RawNode>>>, which: &str, pinned: &mut bool| -> Result<Box<Node>> {
        match c {
            Some(c) => Ok(Box::new(node_from_raw(ctx, c, tables, pinned)?)),
            None => Err(ctx.err::<()>(Some(n.span()), format!("{kind} needs an `{which}` node"))),
        }
    };
    let width_or = |default: f64| -> Result<f64> {
        match &r.width {
            Some(w) => non_negative(ctx, w, "width"),
            None => Ok(default),
        }
    };
    let workers = |pinned: &mut bool| -> Result<Option<u32>> {
        match &r.workers {
            None => Ok(None),
            Some(w) if !(0..=1024).contains(w.get_ref()) => {
                Err(ctx.err::<()>(Some(w.span()), format!("workers must be between 0 and 1024, got {}", w.get_ref())))
            }
            Some(w) => {
                *pinned = true;
                Ok(Some(*w.get_ref() as u32))
            }
        }
    };
    let node = match kind {
        "Seq Scan" | "Parallel Seq Scan" => {
            let table = table_ref(ctx, tables, &r.table, n)?;
            Node::SeqScan {
                table,
                parallel: r.parallel.unwrap_or(kind.starts_with("Parallel")),
                filter: filter_from_raw(ctx, r, tables)?,
                width: width_or(tables[table].width)?,
            }
        }
        "Index Scan" | "Parallel Index Scan" | "Index Only Scan" => {
            let table = table_ref(ctx, tables, &r.table, n)?;
            Node::IndexScan {
                table,
                parallel: r.parallel.unwrap_or(kind.starts_with("Parallel")),
                filter: filter_from_raw(ctx, r, tables)?,
                width: width_or(tables[table].width)?,
                fraction: fraction(ctx, &r.fraction, "fraction", 1.0)?,
                correlation: fraction(ctx, &r.correlation, "correlation", 1.0)?,
            }
        }
        "Aggregate" | "Partial Aggregate" | "Finalize Aggregate" => {
            let mode = match r.mode.as_ref().map(|m| m.get_ref().as_str()) {
                None if kind == "Partial Aggregate" => AggMode::Partial,
                None if kind == "Finalize Aggregate" => AggMode::Finalize,
                None | Some("Simple") => AggMode::Simple,
                Some("Partial") => AggMode::Partial,
                Some("Finalize") => AggMode::Finalize,
                Some(other) => {
                    return Err(ctx.err::<()>(
                        r.mode.as_ref().map(|m| m.span()),
                        format!("mode must be Simple, Partial or Finalize, not \"{other}\""),
                    ))
                }
            };
            let groups = match &r.groups {
                Some(g) => positive(ctx, g, "groups")?,
                None => 1.0,
            };
            let aggregates = match &r.aggregates {
                Some(g) => non_negative(ctx, g, "aggregates")?,
                None => 1.0,
            };
            Node::Aggregate { mode, groups, aggregates, width: width_or(8.0 * aggregates.max(1.0))?, input: sub(&r.input, "input", pinned)? }
        }
        "Sort" => Node::Sort { keys: r.keys.clone().unwrap_or_default(), input: sub(&r.input, "input", pinned)? },
        "Limit" => {
            let count = match &r.count {
                Some(c) => non_negative(ctx, c, "count")?,
                None => return Err(ctx.err::<()>(Some(n.span()), "Limit needs a `count`")),
            };
            Node::Limit { count, input: sub(&r.input, "input", pinned)? }
        }
        "Gather" | "Gather Merge" => {
            let w = workers(pinned)?;
            let input = sub(&r.input, "input", pinned)?;
            let single_copy = r.single_copy.unwrap_or(false);
            if kind == "Gather Merge" && single_copy {
                return Err(ctx.err::<()>(Some(n.span()), "Gather Merge cannot be single-copy"));
            }
            if !single_copy && !input.has_parallel_aware() {
                return Err(ctx.err::<()>(
                    Some(n.span()),
                    format!("{kind} has no parallel-aware node below it (e.g. a Seq Scan with parallel = true): every worker would run the whole plan"),
                ));
            }
            if input.find_gather().is_some() {
                return Err(ctx.err::<()>(Some(n.span()), format!("{kind} below another Gather is not possible")));
            }
            if kind == "Gather" {
                Node::Gather { workers: w, single_copy, input }
            } else {
                Node::GatherMerge { workers: w, input }
            }
        }
        "Hash Join" | "Parallel Hash Join" => {
            let outer = sub(&r.outer, "outer", pinned)?;
            let inner = sub(&r.inner, "inner", pinned)?;
            let parallel = r.parallel.unwrap_or(kind.starts_with("Parallel"));
            if parallel && !inner.has_parallel_aware() {
                return Err(ctx.err::<()>(Some(n.span()), "Parallel Hash Join needs a parallel-aware inner (its Hash input must be a Parallel Seq Scan)"));
            }
            let rpo = match &r.rows_per_outer {
                Some(v) => non_negative(ctx, v, "rows_per_outer")?,
                None => 1.0,
            };
            let width = width_or(outer.width() + inner.width())?;
            Node::HashJoin {
                join_type: r.join_type.clone().unwrap_or_else(|| "Inner".into()),
                parallel,
                rows_per_outer: rpo,
                width,
                outer,
                inner,
                cond: r.cond.clone().unwrap_or_default(),
            }
        }
        "Nested Loop" => {
            let outer = sub(&r.outer, "outer", pinned)?;
            let it = r.inner_table.as_ref().ok_or_else(|| ctx.err::<()>(Some(n.span()), "Nested Loop needs `inner_table` (the table its inner Index Scan reads)"))?;
            let inner_table = tables
                .iter()
                .position(|x| &x.name == it.get_ref())
                .ok_or_else(|| ctx.err::<()>(Some(it.span()), format!("unknown table \"{}\"", it.get_ref())))?;
            let rpo = match &r.rows_per_outer {
                Some(v) => non_negative(ctx, v, "rows_per_outer")?,
                None => 1.0,
            };
            let width = width_or(outer.width() + tables[inner_table].width)?;
            Node::NestedLoop {
                join_type: r.join_type.clone().unwrap_or_else(|| "Inner".into()),
                rows_per_outer: rpo,
                inner_table,
                width,
                outer,
                cond: r.cond.clone().unwrap_or_default(),
            }
        }
        other => {
            return Err(ctx.err::<()>(
                Some(r.node.span()),
                format!("unknown node type \"{other}\" (supported: Seq Scan, Index Scan, Aggregate, Sort, Limit, Gather, Gather Merge, Hash Join, Nested Loop)"),
            ))
        }
    };
    Ok(node)
}

/// The what-ifs of one question, as typed values: `--hw`, `--set`, `--table` and `--measure`.
#[derive(Debug, Clone, Default)]
pub struct WhatIf {
    pub hw: Vec<(String, String)>,
    pub set: Vec<(String, String)>,
    pub table: Vec<TableOverride>,
    pub measure: Option<OutputMode>,
}

/// Load a scenario and a hardware profile with what-ifs; the scenario's settings are re-applied
/// over the machine's own settings.
pub fn load(scenario: &Path, hardware: &str, w: &WhatIf) -> Result<(Scenario, Hardware)> {
    let hw_path = resolve_hardware(hardware)?;
    let hw = load_hardware(&hw_path, &w.hw)?;
    let sc = load_scenario(scenario, &w.set, &w.table)?;
    let mut sc = sc.with_hardware_settings(&hw);
    if let Some(m) = w.measure {
        sc.output = m;
    }
    Ok((sc, hw))
}
