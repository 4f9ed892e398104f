//! The outer layer's reading of input: TOML text -> raw serde structs -> the validated model
//! in `model`. Every error carries file, line and column where they are known. What-ifs
//! (`--set`, `--table`, `--hw`, `--measure`) are typed ([`WhatIf`]) and applied in memory.
//! Loaders read from a path or from text already in memory (no temporary files).
//!
//! * `hardware.rs`: profiles (embedded in the binary, or a file), `--hw` overrides;
//! * `scenario.rs`: scenario files; `plan.rs`: their plan tree;
//! * `whatif.rs`: the typed what-ifs and how they change a scenario.

mod hardware;
mod plan;
mod scenario;
mod whatif;
mod workload;

#[cfg(test)]
mod tests;

pub use hardware::{apply_overrides, hardware_source, list_hardware, load_hardware, load_hardware_str, HardwareSource};
pub use scenario::{load_scenario, load_scenario_str};
pub use whatif::{apply_scenario_whatifs, parse_kv, table_keys_text, TableKey, TableOverride, WhatIf};
pub use workload::{is_workload_text, load_workload, load_workload_str};

use crate::error::{Error, Location, Result};
use crate::model::units::parse_bytes;
use crate::model::{Hardware, Scenario};
use std::path::Path;
use toml::Spanned;

/// Read a file; a missing file is bad input (exit 2).
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::input_at(Location::file(path), format!("cannot read file: {e}")))
}

pub(super) fn toml_error(path: &Path, src: &str, e: toml::de::Error) -> Error {
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
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) src: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Option<std::ops::Range<usize>>, msg: impl Into<String>) -> Error {
        match span {
            Some(s) if !self.src.is_empty() => Error::input_at(Location::at_offset(self.path, self.src, s.start), msg),
            _ => Error::input_at(Location::file(self.path), msg),
        }
    }
}

pub(super) fn positive(ctx: &Ctx, v: &Spanned<f64>, what: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !(x.is_finite() && x > 0.0) {
        return Err(ctx.err(Some(v.span()), format!("{what} must be a positive number, got {x}")));
    }
    Ok(x)
}

pub(super) fn non_negative(ctx: &Ctx, v: &Spanned<f64>, what: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !(x.is_finite() && x >= 0.0) {
        return Err(ctx.err(Some(v.span()), format!("{what} must be zero or positive, got {x}")));
    }
    Ok(x)
}

pub(super) fn size_bytes(ctx: &Ctx, v: &Spanned<String>, what: &str) -> Result<f64> {
    let b = parse_bytes(v.get_ref()).map_err(|e| ctx.err(Some(v.span()), format!("{what}: {e}")))?;
    if b <= 0.0 {
        return Err(ctx.err(Some(v.span()), format!("{what} must be positive")));
    }
    Ok(b)
}

pub(super) fn toml_value_text(v: &toml::Value) -> Option<String> {
    Some(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
        _ => return None,
    })
}

/// Load a scenario file and a hardware profile with what-ifs; the scenario's settings are
/// re-applied over the machine's own settings.
pub fn load(scenario: &Path, hardware: &str, w: &WhatIf) -> Result<(Scenario, Hardware)> {
    let src = read_text(scenario)?;
    load_str(scenario, &src, hardware, w)
}

/// [`load`] for scenario text already in memory (`label` names it in messages).
pub fn load_str(label: &Path, scenario: &str, hardware: &str, w: &WhatIf) -> Result<(Scenario, Hardware)> {
    let source = hardware_source(hardware)?;
    let hw = load_hardware_str(&source.label, &source.text, &w.hw)?;
    let sc = load_scenario_str(label, scenario, &w.set, &w.table)?;
    Ok((for_hardware(sc, &hw, w), hw))
}

/// A loaded scenario made ready for one machine: the machine's settings under the scenario's,
/// and `--measure` applied.
pub fn for_hardware(sc: Scenario, hw: &Hardware, w: &WhatIf) -> Scenario {
    let mut sc = sc.with_hardware_settings(hw);
    if let Some(m) = w.measure {
        sc.output = m;
    }
    sc
}
