//! Hardware profiles: the ones shipped in `configs/hardware/` are embedded in the binary (an
//! installed `pqsim` needs no source tree); a path to a file wins over a name.

use super::{non_negative, parse_table, positive, read_text, size_bytes, toml_error, toml_value_text, Ctx};
use crate::error::{Error, Result};
use crate::model::guc::Settings;
use crate::model::{CacheState, Disk, Hardware, ParallelCosts, Scheduler, SchedulerKind, UnitCosts};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The profiles shipped with pqsim, by name.
const EMBEDDED: [(&str, &str); 3] = [
    ("aurora", include_str!("../../configs/hardware/aurora.toml")),
    ("laptop", include_str!("../../configs/hardware/laptop.toml")),
    ("reference-2vcpu", include_str!("../../configs/hardware/reference-2vcpu.toml")),
];

/// A hardware profile's text and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareSource {
    /// The file, or `configs/hardware/NAME.toml` for an embedded profile (for messages).
    pub label: PathBuf,
    pub text: String,
    /// Whether the profile is one shipped inside the binary.
    pub embedded: bool,
}

/// Find `--hardware NAME|PATH`: a file that exists, else a profile shipped in the binary,
/// else `configs/hardware/NAME.toml` relative to the working directory (your own profiles).
pub fn hardware_source(name_or_path: &str) -> Result<HardwareSource> {
    let p = Path::new(name_or_path);
    if p.is_file() {
        return Ok(HardwareSource { label: p.to_path_buf(), text: read_text(p)?, embedded: false });
    }
    if let Some((name, text)) = EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
        let label = PathBuf::from(format!("configs/hardware/{name}.toml"));
        return Ok(HardwareSource { label, text: text.to_string(), embedded: true });
    }
    let local = PathBuf::from("configs/hardware").join(format!("{name_or_path}.toml"));
    if local.is_file() {
        return Ok(HardwareSource { text: read_text(&local)?, label: local, embedded: false });
    }
    let known = list_hardware().join(", ");
    Err(Error::input(format!(
        "unknown hardware profile \"{name_or_path}\": no such file and no configs/hardware/{name_or_path}.toml (known: {known})"
    )))
}

/// Profile names `--hardware` accepts: the embedded ones and `configs/hardware/*.toml` here.
pub fn list_hardware() -> Vec<String> {
    let mut names: Vec<String> = EMBEDDED.iter().map(|(n, _)| n.to_string()).collect();
    if let Ok(rd) = std::fs::read_dir("configs/hardware") {
        for e in rd.flatten() {
            if let Some(n) = e.path().file_stem().and_then(|s| s.to_str()) {
                if e.path().extension().is_some_and(|x| x == "toml") && !names.contains(&n.to_string()) {
                    names.push(n.to_string());
                }
            }
        }
    }
    names.sort();
    names
}

/// Profile keys that may be absent from a profile (older profiles) and still be set by `--hw`.
const OPTIONAL_KEYS: &[&str] = &[
    "variability.run_sigma",
    "variability.model_sigma",
    "variability.speed_hold_ms",
    "variability.speed_state_sigma",
    "costs.page_data_ns",
    "costs.row_data_ns",
    "costs.row_miss_ns",
    "costs.buffer_jump_ns",
    "costs.buffer_jump_data_ns",
    "costs.worker_page_fault_ns",
    "costs.gather_row_ns",
    "costs.gather_poll_ns",
    "costs.hash_miss_ns",
    "costs.hash_insert_miss_ns",
    "costs.hash_match_ns",
    "costs.parallel_hash_insert_ns",
    "costs.parallel_hash_probe_ns",
    "parallel.shutdown_per_page_ns",
    "parallel.shutdown_sigma",
    "parallel.worker_cpu_share",
    "costs.instrument_ns",
    "costs.instrument_call_ns",
    "costs.query_explain_us",
    "costs.query_client_us",
    "costs.plan_join_us",
    "scheduler.set_latch_us",
    "scheduler.idle_pull",
];

/// Optional keys whose value is a word, not a number.
const OPTIONAL_WORD_KEYS: &[&str] = &["scheduler.idle_pull"];

/// Apply `KEY=VALUE` overrides to a TOML table; KEY may be dotted (`disk.queue_depth`).
pub fn apply_overrides(table: &mut toml::Table, overrides: &[(String, String)], what: &str) -> Result<()> {
    for (key, value) in overrides {
        let parts: Vec<&str> = key.split('.').collect();
        let mut t = &mut *table;
        let optional = OPTIONAL_KEYS.contains(&key.as_str());
        for part in &parts[..parts.len() - 1] {
            // A section an optional key's profile leaves out ([variability]) is made for it.
            if optional && !t.contains_key(*part) {
                t.insert(part.to_string(), toml::Value::Table(toml::Table::new()));
            }
            t = match t.get_mut(*part) {
                Some(toml::Value::Table(inner)) => inner,
                _ => return Err(Error::input(format!("{what}: unknown key \"{key}\""))),
            };
        }
        let last = parts[parts.len() - 1];
        // Keys a profile may leave out (read as 0 or a default): settable all the same.
        let zero = toml::Value::Float(0.0);
        let word = toml::Value::String(String::new());
        let existing = match t.get(last) {
            Some(v) => v,
            None if OPTIONAL_WORD_KEYS.contains(&key.as_str()) => &word,
            None if OPTIONAL_KEYS.contains(&key.as_str()) => &zero,
            None => return Err(Error::input(format!("{what}: unknown key \"{key}\""))),
        };
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
        // A run-to-run sigma set by hand replaces the measured spread's shape: the one-run
        // interval is then the log-normal of that sigma.
        if key == "variability.run_sigma" {
            for k in ["run_quantiles", "run_quantiles_serial", "run_quantiles_parallel"] {
                t.remove(k);
            }
        }
    }
    Ok(())
}

/// Load a hardware profile file, with `--hw KEY=VALUE` overrides (`cores=N`,
/// `cache=hot|warm|cold`, or any dotted key of the profile).
pub fn load_hardware(path: &Path, overrides: &[(String, String)]) -> Result<Hardware> {
    let src = read_text(path)?;
    load_hardware_str(path, &src, overrides)
}

/// Load a hardware profile from its text (`label` names it in messages), with `--hw` overrides
/// applied in memory.
pub fn load_hardware_str(label: &Path, src: &str, overrides: &[(String, String)]) -> Result<Hardware> {
    let raw: RawHardware = if overrides.is_empty() {
        toml::from_str(src).map_err(|e| toml_error(label, src, e))?
    } else {
        let mut t = parse_table(label, src)?;
        // Optional top-level numbers a profile may leave out but `--hw` may still set.
        for (key, default) in [("all_cores_busy_speed", 1.0), ("cpu_noise_cv", 0.02)] {
            if overrides.iter().any(|(k, _)| k == key) && !t.contains_key(key) {
                t.insert(key.to_string(), toml::Value::Float(default));
            }
        }
        apply_overrides(&mut t, overrides, "--hw")?;
        let text = toml::to_string(&t).map_err(|e| Error::input(e.to_string()))?;
        toml::from_str(&text).map_err(|e| Error::input(format!("{} (after --hw): {}", label.display(), e.message())))?
    };
    let ctx = Ctx { path: label, src: if overrides.is_empty() { src } else { "" } };
    hardware_from_raw(&ctx, raw)
}

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
    #[serde(default)]
    all_cores_busy_speed: Option<Spanned<f64>>,
    cache: Spanned<String>,
    #[serde(default)]
    cpu_noise_cv: Option<Spanned<f64>>,
    disk: RawDisk,
    costs: RawCosts,
    parallel: RawParallel,
    #[serde(default)]
    scheduler: Option<RawScheduler>,
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
    /// Log-normal sigma of the model's own error (ln(measured / predicted)) out of sample.
    model_sigma: Option<Spanned<f64>>,
    /// One run over its query's median at the 5/10/25/50/75/90/95th percentiles.
    run_quantiles: Option<Spanned<Vec<f64>>>,
    /// The same over serial plans' runs only, and over runs of plans with workers only.
    run_quantiles_serial: Option<Spanned<Vec<f64>>>,
    run_quantiles_parallel: Option<Spanned<Vec<f64>>>,
    /// Mean time the machine's speed holds a state, ms.
    speed_hold_ms: Option<Spanned<f64>>,
    /// Log-normal sigma of the lasting state's slowness.
    speed_state_sigma: Option<Spanned<f64>>,
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
    /// Absent in profiles fitted before the term existed: 0 (their other costs carry it).
    page_data_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: 0.
    #[serde(default)]
    row_data_ns: Option<Spanned<f64>>,
    row_miss_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: 0 (buffer order not priced).
    buffer_jump_ns: Option<Spanned<f64>>,
    buffer_jump_data_ns: Option<Spanned<f64>>,
    /// Absent in profiles measured before the term existed: 0.
    worker_page_fault_ns: Option<Spanned<f64>>,
    /// Absent in profiles measured before the term existed: 0.
    gather_row_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: 0.
    gather_poll_ns: Option<Spanned<f64>>,
    tuple_ns: Spanned<f64>,
    qual_ns: Spanned<f64>,
    agg_transition_ns: Spanned<f64>,
    hash_build_ns: Spanned<f64>,
    hash_probe_ns: Spanned<f64>,
    /// Absent in profiles fitted before the term existed: 0 (every lookup priced alike).
    #[serde(default)]
    hash_match_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: 0 (flat hash costs).
    #[serde(default)]
    hash_miss_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: `hash_miss_ns` (an insert's miss
    /// priced as a lookup's).
    #[serde(default)]
    hash_insert_miss_ns: Option<Spanned<f64>>,
    /// Absent in profiles fitted before the term existed: 0 (a shared insert priced as a
    /// private one).
    #[serde(default)]
    parallel_hash_insert_ns: Option<Spanned<f64>>,
    parallel_hash_probe_ns: Option<Spanned<f64>>,
    /// e.g. "2MB"; absent: 1MB.
    #[serde(default)]
    hash_cache: Option<Spanned<String>>,
    /// e.g. "24MB"; absent: 64 times `hash_cache`.
    #[serde(default)]
    hash_far: Option<Spanned<String>>,
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
    /// Absent (older profiles, whose per-row prices hold it): 0.
    #[serde(default)]
    instrument_call_ns: Option<Spanned<f64>>,
    /// Absent (older profiles): 0.
    #[serde(default)]
    query_explain_us: Option<Spanned<f64>>,
    #[serde(default)]
    query_client_us: Option<Spanned<f64>>,
    /// Absent (older profiles): 0.
    #[serde(default)]
    plan_join_us: Option<Spanned<f64>>,
    // Schema- and expression-aware prices (model::cpu_costs); absent ones are derived.
    #[serde(default)]
    deform_attr_ns: Option<Spanned<f64>>,
    #[serde(default)]
    deform_slow_attr_ns: Option<Spanned<f64>>,
    #[serde(default)]
    project_attr_ns: Option<Spanned<f64>>,
    #[serde(default)]
    form_attr_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_int_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_numeric_cmp_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_numeric_arith_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_numeric_cast_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_date_timestamp_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_date_timestamptz_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_text_eq_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_bpchar_eq_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_text_cmp_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_like_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_hashed_saop_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_numeric_long_ns: Option<Spanned<f64>>,
    #[serde(default)]
    op_generic_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_count_star_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_count_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_sum_int_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_sum_int8_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_sum_float_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_sum_numeric_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_minmax_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_minmax_varlena_ns: Option<Spanned<f64>>,
    #[serde(default)]
    agg_generic_ns: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParallel {
    leader_setup_us: Spanned<f64>,
    launch_per_worker_us: Spanned<f64>,
    worker_startup_ms: Spanned<f64>,
    worker_startup_sigma: Spanned<f64>,
    shutdown_per_worker_us: Spanned<f64>,
    /// Absent in profiles measured before the term existed: 0.
    #[serde(default)]
    shutdown_per_page_ns: Option<Spanned<f64>>,
    /// Absent in profiles measured before the term existed: 0 (every exit takes the median).
    #[serde(default)]
    shutdown_sigma: Option<Spanned<f64>>,
    /// Absent in profiles measured before the term existed: 1 (start-up and exit all CPU).
    #[serde(default)]
    worker_cpu_share: Option<Spanned<f64>>,
    tuple_queue_size: Spanned<String>,
}

/// `[scheduler]`: every key optional; defaults are Linux 6.18's on the profile's cores.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    kind: Option<Spanned<String>>,
    base_slice_us: Option<Spanned<f64>>,
    latency_us: Option<Spanned<f64>>,
    tick_hz: Option<Spanned<f64>>,
    wakeup_latency_us: Option<Spanned<f64>>,
    context_switch_us: Option<Spanned<f64>>,
    wake_cpu_us: Option<Spanned<f64>>,
    set_latch_us: Option<Spanned<f64>>,
    rotate_us: Option<Spanned<f64>>,
    idle_pull: Option<Spanned<String>>,
}

fn scheduler_from_raw(ctx: &Ctx, raw: Option<&RawScheduler>, cores: f64) -> Result<Scheduler> {
    let mut s = Scheduler::linux_default(cores);
    let Some(r) = raw else { return Ok(s) };
    if let Some(k) = &r.kind {
        s.kind = match k.get_ref().as_str() {
            "eevdf" => SchedulerKind::Eevdf,
            "cfs" => SchedulerKind::Cfs,
            "fluid" => SchedulerKind::Fluid,
            other => {
                return Err(
                    ctx.err(Some(k.span()), format!("scheduler.kind must be eevdf, cfs or fluid, not \"{other}\""))
                )
            }
        };
    }
    let us = |v: &Option<Spanned<f64>>, key: &str, dflt: f64| -> Result<f64> {
        match v {
            Some(v) => Ok(non_negative(ctx, v, &format!("scheduler.{key}"))? * 1e3),
            None => Ok(dflt),
        }
    };
    s.base_slice_ns = us(&r.base_slice_us, "base_slice_us", s.base_slice_ns)?;
    s.latency_ns = us(&r.latency_us, "latency_us", s.latency_ns)?;
    s.wakeup_latency_ns = us(&r.wakeup_latency_us, "wakeup_latency_us", s.wakeup_latency_ns)?;
    s.context_switch_ns = us(&r.context_switch_us, "context_switch_us", s.context_switch_ns)?;
    s.wake_cpu_ns = us(&r.wake_cpu_us, "wake_cpu_us", s.wake_cpu_ns)?;
    s.set_latch_ns = us(&r.set_latch_us, "set_latch_us", s.set_latch_ns)?;
    s.rotate_ns = us(&r.rotate_us, "rotate_us", s.rotate_ns)?;
    if let Some(p) = &r.idle_pull {
        s.idle_pull_at_tick = match p.get_ref().as_str() {
            "next_tick" => true,
            "at_once" => false,
            other => {
                return Err(ctx
                    .err(Some(p.span()), format!("scheduler.idle_pull must be next_tick or at_once, not \"{other}\"")))
            }
        };
    }
    if let Some(hz) = &r.tick_hz {
        s.tick_ns = 1e9 / positive(ctx, hz, "scheduler.tick_hz")?;
    }
    Ok(s)
}

/// A log-normal sigma between 0 and 2: above 2 one run would land anywhere within 13x of the
/// typical time, no longer a spread but surely a mistake (a percentage written as a number).
/// `[variability] run_quantiles`: seven positive ratios, none below the one before.
fn run_quantiles(ctx: &Ctx, v: &Spanned<Vec<f64>>, key: &str) -> Result<crate::model::RunQuantiles> {
    let err = |m: &str| ctx.err(Some(v.span()), format!("variability.{key} {m}"));
    let q: [f64; 7] = v.get_ref().as_slice().try_into().map_err(|_| {
        err(&format!(
            "takes seven ratios (one run over its median at the 5, 10, 25, 50, 75, 90 and 95th percentiles), not {}",
            v.get_ref().len()
        ))
    })?;
    if q.iter().any(|x| !x.is_finite() || *x <= 0.0 || *x > 100.0) {
        return Err(err("must be ratios above 0 (and at most 100)"));
    }
    if q.windows(2).any(|w| w[1] < w[0]) {
        return Err(err("must not decrease: each percentile's ratio is at least the one before"));
    }
    Ok(crate::model::RunQuantiles(q))
}

fn log_sigma(ctx: &Ctx, v: &Spanned<f64>, key: &str) -> Result<f64> {
    if *v.get_ref() > 2.0 {
        return Err(
            ctx.err(Some(v.span()), format!("{key} must be a log-normal sigma between 0 and 2, got {}", v.get_ref()))
        );
    }
    non_negative(ctx, v, key)
}

fn hardware_from_raw(ctx: &Ctx, raw: RawHardware) -> Result<Hardware> {
    let cache = match raw.cache.get_ref().as_str() {
        "hot" => CacheState::Hot,
        "warm" => CacheState::Warm,
        "cold" => CacheState::Cold,
        other => {
            return Err(ctx.err(Some(raw.cache.span()), format!("cache must be hot, warm or cold, not \"{other}\"")))
        }
    };
    let c = &raw.costs;
    let nn = |v: &Spanned<f64>, w: &str| non_negative(ctx, v, &format!("costs.{w}"));
    // A term added after profiles were written: 0 when absent (their other costs carry it).
    let later = |v: &Option<Spanned<f64>>, w: &str| v.as_ref().map_or(Ok(0.0), |v| nn(v, w));
    let hash_cache_bytes = match &c.hash_cache {
        Some(v) => size_bytes(ctx, v, "costs.hash_cache")?,
        None => crate::model::hash_table::DEFAULT_CACHE_BYTES,
    };
    let costs = UnitCosts {
        page_ns: nn(&c.page_ns, "page_ns")?,
        os_read_page_ns: nn(&c.os_read_page_ns, "os_read_page_ns")?,
        page_data_ns: later(&c.page_data_ns, "page_data_ns")?,
        row_data_ns: later(&c.row_data_ns, "row_data_ns")?,
        row_miss_ns: later(&c.row_miss_ns, "row_miss_ns")?,
        buffer_jump_ns: later(&c.buffer_jump_ns, "buffer_jump_ns")?,
        buffer_jump_data_ns: later(&c.buffer_jump_data_ns, "buffer_jump_data_ns")?,
        worker_page_fault_ns: later(&c.worker_page_fault_ns, "worker_page_fault_ns")?,
        gather_row_ns: later(&c.gather_row_ns, "gather_row_ns")?,
        gather_poll_ns: later(&c.gather_poll_ns, "gather_poll_ns")?,
        tuple_ns: nn(&c.tuple_ns, "tuple_ns")?,
        qual_ns: nn(&c.qual_ns, "qual_ns")?,
        agg_transition_ns: nn(&c.agg_transition_ns, "agg_transition_ns")?,
        hash_build_ns: nn(&c.hash_build_ns, "hash_build_ns")?,
        hash_probe_ns: nn(&c.hash_probe_ns, "hash_probe_ns")?,
        hash_match_ns: later(&c.hash_match_ns, "hash_match_ns")?,
        hash_miss_ns: later(&c.hash_miss_ns, "hash_miss_ns")?,
        hash_insert_miss_ns: match &c.hash_insert_miss_ns {
            Some(_) => later(&c.hash_insert_miss_ns, "hash_insert_miss_ns")?,
            None => later(&c.hash_miss_ns, "hash_miss_ns")?,
        },
        parallel_hash_insert_ns: later(&c.parallel_hash_insert_ns, "parallel_hash_insert_ns")?,
        parallel_hash_probe_ns: later(&c.parallel_hash_probe_ns, "parallel_hash_probe_ns")?,
        hash_cache_bytes,
        hash_far_bytes: match &c.hash_far {
            Some(v) => size_bytes(ctx, v, "costs.hash_far")?,
            None => crate::model::hash_table::default_far_bytes(hash_cache_bytes),
        },
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
        instrument_call_ns: later(&c.instrument_call_ns, "instrument_call_ns")?,
        query_explain_ns: later(&c.query_explain_us, "query_explain_us")? * 1e3,
        query_client_ns: later(&c.query_client_us, "query_client_us")? * 1e3,
        plan_join_ns: later(&c.plan_join_us, "plan_join_us")? * 1e3,
        cpu: crate::model::cpu_costs::CpuCosts::zero(),
    };
    let mut costs = costs;
    costs.cpu = crate::model::cpu_costs::CpuCosts::derived(costs.qual_ns, costs.agg_transition_ns);
    let given: [(&str, &Option<Spanned<f64>>); 26] = [
        ("deform_attr_ns", &c.deform_attr_ns),
        ("deform_slow_attr_ns", &c.deform_slow_attr_ns),
        ("project_attr_ns", &c.project_attr_ns),
        ("form_attr_ns", &c.form_attr_ns),
        ("op_int_ns", &c.op_int_ns),
        ("op_numeric_cmp_ns", &c.op_numeric_cmp_ns),
        ("op_numeric_arith_ns", &c.op_numeric_arith_ns),
        ("op_numeric_cast_ns", &c.op_numeric_cast_ns),
        ("op_date_timestamp_ns", &c.op_date_timestamp_ns),
        ("op_date_timestamptz_ns", &c.op_date_timestamptz_ns),
        ("op_text_eq_ns", &c.op_text_eq_ns),
        ("op_bpchar_eq_ns", &c.op_bpchar_eq_ns),
        ("op_text_cmp_ns", &c.op_text_cmp_ns),
        ("op_like_ns", &c.op_like_ns),
        ("op_hashed_saop_ns", &c.op_hashed_saop_ns),
        ("op_numeric_long_ns", &c.op_numeric_long_ns),
        ("op_generic_ns", &c.op_generic_ns),
        ("agg_count_star_ns", &c.agg_count_star_ns),
        ("agg_count_ns", &c.agg_count_ns),
        ("agg_sum_int_ns", &c.agg_sum_int_ns),
        ("agg_sum_int8_ns", &c.agg_sum_int8_ns),
        ("agg_sum_float_ns", &c.agg_sum_float_ns),
        ("agg_sum_numeric_ns", &c.agg_sum_numeric_ns),
        ("agg_minmax_ns", &c.agg_minmax_ns),
        ("agg_minmax_varlena_ns", &c.agg_minmax_varlena_ns),
        ("agg_generic_ns", &c.agg_generic_ns),
    ];
    for (k, v) in given {
        if let (Some(v), Some(slot)) = (v, costs.cpu.get_mut(k)) {
            *slot = nn(v, k)?;
        }
    }
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
        return Err(ctx.err(Some(p.tuple_queue_size.span()), "parallel.tuple_queue_size must be at least 1kB"));
    }
    let parallel = ParallelCosts {
        leader_setup_ns: non_negative(ctx, &p.leader_setup_us, "parallel.leader_setup_us")? * 1e3,
        launch_per_worker_ns: non_negative(ctx, &p.launch_per_worker_us, "parallel.launch_per_worker_us")? * 1e3,
        worker_startup_ns: non_negative(ctx, &p.worker_startup_ms, "parallel.worker_startup_ms")? * 1e6,
        worker_startup_sigma: non_negative(ctx, &p.worker_startup_sigma, "parallel.worker_startup_sigma")?,
        shutdown_per_worker_ns: non_negative(ctx, &p.shutdown_per_worker_us, "parallel.shutdown_per_worker_us")? * 1e3,
        shutdown_per_page_ns: match &p.shutdown_per_page_ns {
            Some(v) => non_negative(ctx, v, "parallel.shutdown_per_page_ns")?,
            None => 0.0,
        },
        shutdown_sigma: match &p.shutdown_sigma {
            Some(v) => non_negative(ctx, v, "parallel.shutdown_sigma")?,
            None => 0.0,
        },
        worker_cpu_share: super::plan::fraction(ctx, &p.worker_cpu_share, "parallel.worker_cpu_share", 1.0)?,
        tuple_queue_size: queue,
    };
    let cores = positive(ctx, &raw.cores, "cores")?;
    let cpu_speed = positive(ctx, &raw.cpu_speed, "cpu_speed")?;
    let all_cores_busy_speed = match &raw.all_cores_busy_speed {
        Some(v) => {
            let x = positive(ctx, v, "all_cores_busy_speed")?;
            if x > 1.0 {
                return Err(ctx.err(
                    Some(v.span()),
                    format!("all_cores_busy_speed must be at most 1 (a core's speed when all are busy, relative to one busy core), got {x}"),
                ));
            }
            x
        }
        None => 1.0,
    };
    let scheduler = scheduler_from_raw(ctx, raw.scheduler.as_ref(), cores)?;
    let cpu_noise_cv = match &raw.cpu_noise_cv {
        Some(v) => non_negative(ctx, v, "cpu_noise_cv")?,
        None => 0.02,
    };
    let _ = (&raw.source, &raw.calibration, raw.variability.as_ref().map(|v| &v.source));
    let run_sigma = match raw.variability.as_ref().and_then(|v| v.run_sigma.as_ref()) {
        Some(v) => Some(non_negative(ctx, v, "variability.run_sigma")?),
        None => None,
    };
    let model_sigma = match raw.variability.as_ref().and_then(|v| v.model_sigma.as_ref()) {
        Some(v) => Some(log_sigma(ctx, v, "variability.model_sigma")?),
        None => None,
    };
    let quantiles = |key: &str, v: Option<&Spanned<Vec<f64>>>| v.map(|v| run_quantiles(ctx, v, key)).transpose();
    let var = raw.variability.as_ref();
    let run_quantiles = quantiles("run_quantiles", var.and_then(|v| v.run_quantiles.as_ref()))?;
    let run_quantiles_serial = quantiles("run_quantiles_serial", var.and_then(|v| v.run_quantiles_serial.as_ref()))?;
    let run_quantiles_parallel =
        quantiles("run_quantiles_parallel", var.and_then(|v| v.run_quantiles_parallel.as_ref()))?;
    let speed_hold_ms = match raw.variability.as_ref().and_then(|v| v.speed_hold_ms.as_ref()) {
        Some(v) => non_negative(ctx, v, "variability.speed_hold_ms")?,
        None => 0.0,
    };
    let speed_state_sigma = match raw.variability.as_ref().and_then(|v| v.speed_state_sigma.as_ref()) {
        Some(v) => log_sigma(ctx, v, "variability.speed_state_sigma")?,
        None => 0.0,
    };
    let mut settings = vec![];
    let mut check = Settings::default();
    for (k, v) in &raw.settings {
        let text = toml_value_text(v.get_ref())
            .ok_or_else(|| ctx.err(Some(v.span()), format!("setting {k}: expected a number, string or boolean")))?;
        check.set(k, &text).map_err(|e| ctx.err(Some(v.span()), e))?;
        settings.push((k.clone(), text));
    }
    Ok(Hardware {
        name: raw.name,
        description: raw.description,
        cores,
        cpu_speed,
        all_cores_busy_speed,
        cache,
        disk,
        costs,
        parallel,
        scheduler,
        cpu_noise_cv,
        run_sigma: run_sigma.unwrap_or(crate::model::DEFAULT_RUN_SIGMA),
        run_sigma_measured: run_sigma.is_some(),
        run_quantiles,
        run_quantiles_serial,
        run_quantiles_parallel,
        model_sigma: model_sigma.unwrap_or(crate::model::DEFAULT_MODEL_SIGMA),
        model_sigma_measured: model_sigma.is_some(),
        speed_hold_ns: speed_hold_ms * 1e6,
        speed_state_sigma,
        settings,
    })
}
