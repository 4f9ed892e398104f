//! Workload files: query classes (scenario files with session settings of their own), their
//! arrivals, when the run stops, and the server's settings -> `model::workload::Workload`.
//! Every error points at file:line:col.
//!
//! Settings in force for a class, later wins: the hardware profile's, the scenario file's,
//! the workload's `[settings]`, the class's `settings`, `--set`. The server's worker pool
//! reads the profile's, the workload's `[settings]` and `--set`.

use super::{
    hardware_source, load_hardware_str, load_scenario_str, read_text, toml_error, toml_value_text, Ctx, WhatIf,
};
use crate::error::{Error, Result};
use crate::model::guc::Settings;
use crate::model::workload::{Arrival, Stop, ThinkTime, Workload, WorkloadClass};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: String,
    duration_s: Option<Spanned<f64>>,
    queries: Option<Spanned<i64>>,
    warmup_s: Option<Spanned<f64>>,
    seed: Option<Spanned<i64>>,
    sessions: Option<Spanned<i64>>,
    think_time_ms: Option<Spanned<f64>>,
    think_time: Option<Spanned<String>>,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default, rename = "class")]
    classes: Vec<Spanned<RawClass>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    name: Spanned<String>,
    scenario: Spanned<String>,
    weight: Option<Spanned<f64>>,
    sessions: Option<Spanned<i64>>,
    think_time_ms: Option<Spanned<f64>>,
    think_time: Option<Spanned<String>>,
    rate_per_s: Option<Spanned<f64>>,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
}

/// Load a workload file, its classes' scenarios (paths relative to the workload file) and the
/// hardware profile, with what-ifs.
pub fn load_workload(path: &Path, hardware: &str, w: &WhatIf) -> Result<Workload> {
    let src = read_text(path)?;
    load_workload_str(path, &src, hardware, w)
}

/// [`load_workload`] for text already in memory; scenario paths are relative to `label`'s folder.
pub fn load_workload_str(label: &Path, src: &str, hardware: &str, w: &WhatIf) -> Result<Workload> {
    let raw: RawWorkload = toml::from_str(src).map_err(|e| toml_error(label, src, e))?;
    let ctx = Ctx { path: label, src };
    let source = hardware_source(hardware)?;
    let hw = load_hardware_str(&source.label, &source.text, &w.hw)?;
    let server_sets = settings_list(&ctx, &raw.settings)?;
    let mut server = Settings::default();
    for (k, v) in hw.settings.iter().chain(&server_sets).chain(&w.set) {
        server.set(k, v).map_err(|e| Error::input(format!("--set {k}: {e}")))?;
    }
    let stop = stop(&ctx, &raw)?;
    let warmup_s = match &raw.warmup_s {
        Some(v) => super::non_negative(&ctx, v, "warmup_s")?,
        None => 0.0,
    };
    if let (Stop::Duration { seconds }, Some(v)) = (stop, &raw.warmup_s) {
        if warmup_s >= seconds {
            return Err(ctx.err(Some(v.span()), format!("warmup_s ({warmup_s}) must be below duration_s ({seconds})")));
        }
    }
    let seed = match &raw.seed {
        Some(s) if *s.get_ref() < 0 => return Err(ctx.err(Some(s.span()), "seed must be zero or positive")),
        Some(s) => Some(*s.get_ref() as u64),
        None => None,
    };
    let shared = match &raw.sessions {
        Some(n) => Some(closed(&ctx, n, raw.think_time_ms.as_ref(), raw.think_time.as_ref())?),
        None => {
            if let Some(t) = raw.think_time_ms.as_ref() {
                return Err(ctx.err(Some(t.span()), "think_time_ms needs sessions (closed arrivals)"));
            }
            None
        }
    };
    if raw.classes.is_empty() {
        // Nothing to point at: the file's start, as TOML reports a missing field.
        return Err(ctx.err(Some(0..0), "a workload needs at least one [[class]]"));
    }
    let dir = label.parent().unwrap_or(Path::new("."));
    let mut classes: Vec<WorkloadClass> = vec![];
    for rc in &raw.classes {
        let c = class(&ctx, rc.get_ref(), dir, &server_sets, &hw, w)?;
        if classes.iter().any(|x| x.name == c.name) {
            return Err(ctx.err(Some(rc.get_ref().name.span()), format!("class \"{}\" is defined twice", c.name)));
        }
        if c.arrival.is_none() && shared.is_none() {
            return Err(ctx.err(
                Some(rc.span()),
                format!(
                    "class \"{}\" has no arrivals: give it sessions or rate_per_s, or give the workload sessions",
                    c.name
                ),
            ));
        }
        classes.push(c);
    }
    if let Some(o) =
        w.table.iter().find(|o| !classes.iter().any(|c| c.scenario.tables.iter().any(|t| t.name == o.table)))
    {
        return Err(Error::input(format!(
            "--table {}.{}: no class's scenario has a table \"{}\"",
            o.table,
            o.key.name(),
            o.table
        )));
    }
    if let (Some(_), Some(n)) = (&shared, &raw.sessions) {
        if classes.iter().all(|c| c.arrival.is_some()) {
            return Err(ctx.err(Some(n.span()), "sessions: every class has arrivals of its own, none would use these"));
        }
    }
    let name = raw
        .name
        .clone()
        .unwrap_or_else(|| label.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let _ = &raw.description;
    Ok(Workload { name, classes, shared, stop, warmup_s, seed, server_settings: server, hardware: hw })
}

fn settings_list(ctx: &Ctx, raw: &BTreeMap<String, Spanned<toml::Value>>) -> Result<Vec<(String, String)>> {
    let mut check = Settings::default();
    let mut out = vec![];
    for (k, v) in raw {
        let text = toml_value_text(v.get_ref())
            .ok_or_else(|| ctx.err(Some(v.span()), format!("setting {k}: expected a number, string or boolean")))?;
        check.set(k, &text).map_err(|e| ctx.err(Some(v.span()), e))?;
        out.push((k.clone(), text));
    }
    Ok(out)
}

fn stop(ctx: &Ctx, raw: &RawWorkload) -> Result<Stop> {
    match (&raw.duration_s, &raw.queries) {
        (Some(d), None) => Ok(Stop::Duration { seconds: super::positive(ctx, d, "duration_s")? }),
        (None, Some(q)) if *q.get_ref() >= 1 => Ok(Stop::Queries(*q.get_ref() as u64)),
        (None, Some(q)) => Err(ctx.err(Some(q.span()), "queries must be at least 1")),
        (Some(_), Some(q)) => Err(ctx.err(Some(q.span()), "give duration_s or queries, not both")),
        (None, None) => Err(ctx.err(Some(0..0), "a workload needs duration_s (seconds) or queries (a count)")),
    }
}

fn closed(ctx: &Ctx, n: &Spanned<i64>, ms: Option<&Spanned<f64>>, dist: Option<&Spanned<String>>) -> Result<Arrival> {
    let sessions = *n.get_ref();
    if !(1..=100_000).contains(&sessions) {
        return Err(ctx.err(Some(n.span()), format!("sessions must be between 1 and 100000, got {sessions}")));
    }
    let mean = match ms {
        Some(v) => super::non_negative(ctx, v, "think_time_ms")?,
        None => 0.0,
    };
    let think = match dist.map(|d| (d.get_ref().as_str(), d.span())) {
        None | Some(("fixed", _)) => ThinkTime::Fixed(mean),
        Some(("exponential", _)) => ThinkTime::Exponential(mean),
        Some((other, span)) => {
            return Err(ctx.err(Some(span), format!("think_time must be \"fixed\" or \"exponential\", not \"{other}\"")))
        }
    };
    Ok(Arrival::Closed { sessions: sessions as u32, think })
}

fn class(
    ctx: &Ctx,
    rc: &RawClass,
    dir: &Path,
    server_sets: &[(String, String)],
    hw: &crate::model::Hardware,
    w: &WhatIf,
) -> Result<WorkloadClass> {
    let name = rc.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(ctx.err(Some(rc.name.span()), "class name must not be empty"));
    }
    let weight = match &rc.weight {
        Some(v) => super::positive(ctx, v, "weight")?,
        None => 1.0,
    };
    let arrival = match (&rc.sessions, &rc.rate_per_s) {
        (Some(_), Some(r)) => return Err(ctx.err(Some(r.span()), "give a class sessions or rate_per_s, not both")),
        (Some(n), None) => Some(closed(ctx, n, rc.think_time_ms.as_ref(), rc.think_time.as_ref())?),
        (None, Some(r)) => Some(Arrival::Open { rate_per_s: super::positive(ctx, r, "rate_per_s")? }),
        (None, None) => None,
    };
    if let (None | Some(Arrival::Open { .. }), Some(t)) = (&arrival, rc.think_time_ms.as_ref()) {
        return Err(ctx.err(Some(t.span()), "think_time_ms needs the class's own sessions"));
    }
    let class_sets = settings_list(ctx, &rc.settings)?;
    let path = dir.join(rc.scenario.get_ref());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ctx.err(Some(rc.scenario.span()), format!("cannot read scenario {}: {e}", path.display())))?;
    let sets: Vec<(String, String)> = server_sets.iter().chain(&class_sets).chain(&w.set).cloned().collect();
    // `--table` changes the classes whose scenario has that table (a mix names many tables).
    let mut sc = load_scenario_str(&path, &text, &sets, &[])?;
    let tables: Vec<super::TableOverride> =
        w.table.iter().filter(|o| sc.tables.iter().any(|t| t.name == o.table)).cloned().collect();
    super::apply_scenario_whatifs(&mut sc, &[], &tables)?;
    let mut scenario = super::for_hardware(sc, hw, w);
    // A workload's queries come from clients: every row goes to the client, no EXPLAIN ANALYZE
    // timing, unless --measure says otherwise.
    if w.measure.is_none() {
        scenario.output = crate::model::OutputMode::Client;
    }
    Ok(WorkloadClass { name, scenario, weight, arrival })
}

/// Whether TOML text is a workload file (it has `[[class]]`) rather than a scenario.
pub fn is_workload_text(src: &str) -> bool {
    toml::from_str::<toml::Table>(src).map(|t| t.contains_key("class")).unwrap_or(false)
}
