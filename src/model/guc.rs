//! PostgreSQL settings (GUCs) that pqsim understands, with PostgreSQL 15's defaults, units
//! and ranges (`pg_settings` on 15.18; src/backend/utils/misc/guc.c), parsed with
//! PostgreSQL's value syntax.

use crate::model::units::{parse_bool, parse_number, Unit};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Int { unit: Unit, min: f64, max: f64 },
    Real { min: f64, max: f64 },
    Bool,
    Enum(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct GucDef {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
}

const INT_MAX: f64 = 2147483647.0;
const DBL_MAX: f64 = f64::MAX;

/// Every setting pqsim accepts. Ranges and defaults are PostgreSQL 15's.
pub const GUCS: &[GucDef] = &[
    GucDef {
        name: "max_parallel_workers_per_gather",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1024.0 },
        default: "2",
    },
    GucDef { name: "max_parallel_workers", kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1024.0 }, default: "8" },
    GucDef {
        name: "max_worker_processes",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 262143.0 },
        default: "8",
    },
    GucDef {
        name: "max_logical_replication_workers",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 262143.0 },
        default: "4",
    },
    GucDef { name: "parallel_leader_participation", kind: Kind::Bool, default: "on" },
    GucDef { name: "parallel_setup_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "1000" },
    GucDef { name: "parallel_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.1" },
    GucDef {
        name: "min_parallel_table_scan_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 0.0, max: 715827882.0 },
        default: "1024",
    },
    GucDef {
        name: "min_parallel_index_scan_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 0.0, max: 715827882.0 },
        default: "64",
    },
    GucDef { name: "work_mem", kind: Kind::Int { unit: Unit::Kb, min: 64.0, max: INT_MAX }, default: "4096" },
    GucDef { name: "hash_mem_multiplier", kind: Kind::Real { min: 1.0, max: 1000.0 }, default: "2" },
    GucDef {
        name: "shared_buffers",
        kind: Kind::Int { unit: Unit::Blocks, min: 16.0, max: 1073741823.0 },
        default: "16384",
    },
    GucDef {
        name: "effective_cache_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 1.0, max: INT_MAX },
        default: "524288",
    },
    GucDef { name: "seq_page_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "1" },
    GucDef { name: "random_page_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "4" },
    GucDef { name: "cpu_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.01" },
    GucDef { name: "cpu_index_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.005" },
    GucDef { name: "cpu_operator_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.0025" },
    GucDef {
        name: "effective_io_concurrency",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1000.0 },
        default: "1",
    },
    GucDef { name: "debug_parallel_query", kind: Kind::Enum(&["off", "on", "regress"]), default: "off" },
    GucDef { name: "force_parallel_mode", kind: Kind::Enum(&["off", "on", "regress"]), default: "off" },
    GucDef { name: "enable_parallel_hash", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_parallel_append", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_gathermerge", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_hashjoin", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_nestloop", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_seqscan", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_indexscan", kind: Kind::Bool, default: "on" },
    GucDef { name: "enable_sort", kind: Kind::Bool, default: "on" },
    GucDef { name: "synchronize_seqscans", kind: Kind::Bool, default: "on" },
    GucDef { name: "jit", kind: Kind::Bool, default: "off" },
    GucDef { name: "jit_above_cost", kind: Kind::Real { min: -1.0, max: DBL_MAX }, default: "100000" },
    GucDef { name: "track_io_timing", kind: Kind::Bool, default: "off" },
];

/// A parsed value in the setting's base unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Enum(String),
}

pub fn lookup(name: &str) -> Option<&'static GucDef> {
    GUCS.iter().find(|g| g.name == name)
}

/// Parse one setting's value as PostgreSQL would, with PostgreSQL-like messages.
pub fn parse_value(def: &GucDef, raw: &str) -> Result<Value, String> {
    match def.kind {
        Kind::Bool => {
            parse_bool(raw).map(Value::Bool).map_err(|_| format!("parameter \"{}\" requires a Boolean value", def.name))
        }
        Kind::Enum(options) => {
            let v = raw.trim().to_ascii_lowercase();
            // PostgreSQL also accepts boolean spellings for on/off-style enums.
            let v = match parse_bool(&v) {
                Ok(true) if options.contains(&"on") => "on".to_string(),
                Ok(false) if options.contains(&"off") => "off".to_string(),
                _ => v,
            };
            if options.contains(&v.as_str()) {
                Ok(Value::Enum(v))
            } else {
                Err(format!(
                    "invalid value for parameter \"{}\": \"{}\" (available values: {})",
                    def.name,
                    raw,
                    options.join(", ")
                ))
            }
        }
        Kind::Int { unit, min, max } => {
            let n = parse_number(raw, unit).map_err(|e| format!("parameter \"{}\": {e}", def.name))?;
            let n = n.round();
            if n < min || n > max {
                return Err(format!(
                    "{} is outside the valid range for parameter \"{}\" ({} .. {})",
                    raw.trim(),
                    def.name,
                    min,
                    max
                ));
            }
            Ok(Value::Num(n))
        }
        Kind::Real { min, max } => {
            let n = parse_number(raw, Unit::None).map_err(|e| format!("parameter \"{}\": {e}", def.name))?;
            if n < min || n > max {
                return Err(format!(
                    "{} is outside the valid range for parameter \"{}\" ({} .. {})",
                    raw.trim(),
                    def.name,
                    min,
                    if max == DBL_MAX { "1.79769e+308".to_string() } else { max.to_string() }
                ));
            }
            Ok(Value::Num(n))
        }
    }
}

/// The full set of settings in force for one run: defaults overlaid by the scenario's
/// `[settings]` and then by `--set` flags (later wins).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    values: BTreeMap<&'static str, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for g in GUCS {
            values.insert(g.name, parse_value(g, g.default).expect("defaults parse"));
        }
        Settings { values }
    }
}

impl Settings {
    /// Set one GUC from text; unknown names and bad values give PostgreSQL-like messages.
    pub fn set(&mut self, name: &str, raw: &str) -> Result<(), String> {
        let key = name.trim().to_ascii_lowercase();
        let def = lookup(&key).ok_or_else(|| format!("unrecognized configuration parameter \"{}\"", name.trim()))?;
        let v = parse_value(def, raw)?;
        self.values.insert(def.name, v.clone());
        // The two spellings of the same setting (renamed in PostgreSQL 16) stay in step.
        match def.name {
            "force_parallel_mode" => {
                self.values.insert("debug_parallel_query", v);
            }
            "debug_parallel_query" => {
                self.values.insert("force_parallel_mode", v);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn num(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Value::Num(n)) => *n,
            Some(Value::Bool(b)) => f64::from(u8::from(*b)),
            _ => panic!("setting {name} is not numeric"),
        }
    }

    pub fn int(&self, name: &str) -> i64 {
        self.num(name) as i64
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Enum(e)) => e != "off",
            _ => panic!("setting {name} is not boolean"),
        }
    }

    pub fn text(&self, name: &str) -> String {
        match self.values.get(name) {
            Some(Value::Enum(e)) => e.clone(),
            Some(Value::Bool(b)) => if *b { "on" } else { "off" }.to_string(),
            Some(Value::Num(n)) => format!("{n}"),
            None => String::new(),
        }
    }

    /// Settings that differ from PostgreSQL's defaults, for reports.
    pub fn non_default(&self) -> Vec<(String, String)> {
        let d = Settings::default();
        self.values
            .iter()
            .filter(|(k, v)| d.values.get(*k) != Some(*v))
            .map(|(k, _)| (k.to_string(), self.text(k)))
            .collect()
    }

    pub fn work_mem_bytes(&self) -> f64 {
        self.num("work_mem") * 1024.0
    }

    pub fn hash_mem_bytes(&self) -> f64 {
        self.work_mem_bytes() * self.num("hash_mem_multiplier")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_postgres15() {
        let s = Settings::default();
        assert_eq!(s.int("max_parallel_workers_per_gather"), 2);
        assert_eq!(s.int("min_parallel_table_scan_size"), 1024);
        assert_eq!(s.hash_mem_bytes(), 8.0 * 1024.0 * 1024.0);
        assert!(s.flag("parallel_leader_participation"));
    }

    #[test]
    fn values_use_postgres_syntax_and_ranges() {
        let mut s = Settings::default();
        s.set("work_mem", "256MB").unwrap();
        assert_eq!(s.int("work_mem"), 262144);
        s.set("min_parallel_table_scan_size", "8MB").unwrap();
        assert_eq!(s.int("min_parallel_table_scan_size"), 1024);
        s.set("parallel_leader_participation", "off").unwrap();
        assert!(!s.flag("parallel_leader_participation"));
        s.set("force_parallel_mode", "on").unwrap();
        assert!(s.flag("debug_parallel_query"));
        assert!(s.set("work_mem", "32kB").unwrap_err().contains("outside the valid range"));
        assert!(s.set("max_parallel_workers_per_gather", "-1").unwrap_err().contains("outside the valid range"));
        assert!(s.set("no_such_guc", "1").unwrap_err().contains("unrecognized configuration parameter"));
        assert!(s.set("parallel_setup_cost", "-5").is_err());
        assert!(s.set("jit", "maybe").is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Every setting shown by `text` (as reports print it) reads back to the same value.
            #[test]
            fn shown_values_read_back(i in 0usize..GUCS.len(), r in 0.0f64..1.0) {
                let g = &GUCS[i];
                let raw = match g.kind {
                    Kind::Int { min, max, .. } => format!("{}", (min + (max.min(1e9) - min) * r).round()),
                    Kind::Real { min, max } => format!("{}", min + (max.min(1e6) - min) * r),
                    Kind::Bool => if r < 0.5 { "off".into() } else { "on".into() },
                    Kind::Enum(values) => values[((values.len() as f64 * r) as usize).min(values.len() - 1)].to_string(),
                };
                let mut s = Settings::default();
                s.set(g.name, &raw).unwrap();
                let shown = s.text(g.name);
                let mut again = Settings::default();
                again.set(g.name, &shown).unwrap();
                prop_assert_eq!(&s.values, &again.values, "{} = {} shown as {}", g.name, raw, shown);
            }
        }
    }
}
