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
    /// What pqsim does with the setting.
    pub how: How,
}

/// What pqsim does with a setting it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// It changes the model: where and how.
    Modelled(&'static str),
    /// Accepted (PostgreSQL has it) but it changes nothing in pqsim: why.
    NotModelled(&'static str),
    /// Another name of this setting (PostgreSQL 16's name of a PostgreSQL 15 setting).
    AliasOf(&'static str),
}

const INT_MAX: f64 = 2147483647.0;
const DBL_MAX: f64 = f64::MAX;

/// Every setting pqsim accepts. Ranges and defaults are PostgreSQL 15's.
pub const GUCS: &[GucDef] = &[
    GucDef {
        name: "max_parallel_workers_per_gather",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1024.0 },
        default: "2", how: How::Modelled("Planner: caps Workers Planned (compute_parallel_worker); 0 disables parallel plans.") },
    GucDef { name: "max_parallel_workers", kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1024.0 }, default: "8", how: How::Modelled("Executor: Workers Launched is at most this, less other sessions' workers (busy_worker_slots).") },
    GucDef {
        name: "max_worker_processes",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 262143.0 },
        default: "8", how: How::Modelled("Executor: background worker slots for Workers Launched (less one for the logical replication launcher, less busy slots).") },
    GucDef {
        name: "max_logical_replication_workers",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 262143.0 },
        default: "4", how: How::Modelled("Executor: when above 0, the logical replication launcher holds one max_worker_processes slot.") },
    GucDef { name: "parallel_leader_participation", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: the parallel divisor's leader share; executor: the leader runs the plan below the Gather while it waits.") },
    GucDef { name: "parallel_setup_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "1000", how: How::Modelled("Planner: Gather / Gather Merge startup cost.") },
    GucDef { name: "parallel_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.1", how: How::Modelled("Planner: Gather / Gather Merge cost per row.") },
    GucDef {
        name: "min_parallel_table_scan_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 0.0, max: 715827882.0 },
        default: "1024", how: How::Modelled("Planner: the worker-count rule's table threshold (tripled per extra worker).") },
    GucDef {
        name: "min_parallel_index_scan_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 0.0, max: 715827882.0 },
        default: "64", how: How::Modelled("Planner: the worker-count rule's index threshold.") },
    GucDef { name: "work_mem", kind: Kind::Int { unit: Unit::Kb, min: 64.0, max: INT_MAX }, default: "4096", how: How::Modelled("Planner and executor: in-memory or external sort, hash join batches, Materialize spill, hashed SubPlan limit (with hash_mem_multiplier).") },
    GucDef { name: "hash_mem_multiplier", kind: Kind::Real { min: 1.0, max: 1000.0 }, default: "2", how: How::Modelled("Planner and executor: hash table memory = work_mem x this (hash joins, hashed SubPlans).") },
    GucDef {
        name: "shared_buffers",
        kind: Kind::Int { unit: Unit::Blocks, min: 16.0, max: 1073741823.0 },
        default: "16384", how: How::Modelled("Executor: the share of a table's pages found in shared buffers; with the warm cache state a sequential scan of a table over a quarter of it reads every block through the bulk-read ring.") },
    GucDef {
        name: "effective_cache_size",
        kind: Kind::Int { unit: Unit::Blocks, min: 1.0, max: INT_MAX },
        default: "524288", how: How::Modelled("Planner: index scan page fetches (Mackert-Lohman).") },
    GucDef { name: "seq_page_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "1", how: How::Modelled("Planner: sequential page cost.") },
    GucDef { name: "random_page_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "4", how: How::Modelled("Planner: random page cost (index scans).") },
    GucDef { name: "cpu_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.01", how: How::Modelled("Planner: cost per row processed.") },
    GucDef { name: "cpu_index_tuple_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.005", how: How::Modelled("Planner: cost per index entry.") },
    GucDef { name: "cpu_operator_cost", kind: Kind::Real { min: 0.0, max: DBL_MAX }, default: "0.0025", how: How::Modelled("Planner: cost per operator or function call (quals, aggregates, hashing, sorting).") },
    GucDef {
        name: "effective_io_concurrency",
        kind: Kind::Int { unit: Unit::None, min: 0.0, max: 1000.0 },
        default: "1", how: How::NotModelled("Prefetching for bitmap heap scans; pqsim models no bitmap scans. The disk's queue depth is a hardware profile key (disk.queue_depth).") },
    GucDef { name: "debug_parallel_query", kind: Kind::Enum(&["off", "on", "regress"]), default: "off", how: How::AliasOf("force_parallel_mode") },
    GucDef { name: "force_parallel_mode", kind: Kind::Enum(&["off", "on", "regress"]), default: "off", how: How::Modelled("Planner: on/regress puts a single-copy Gather over a parallel-safe serial plan; regress hides it in EXPLAIN.") },
    GucDef { name: "enable_parallel_hash", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: Parallel Hash (shared hash table) or a parallel-oblivious Hash Join.") },
    GucDef { name: "enable_parallel_append", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: Parallel Append (participants spread over the inputs) or a plain Append of partial inputs.") },
    GucDef { name: "enable_gathermerge", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Gather Merge.") },
    GucDef { name: "enable_hashjoin", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Hash Join.") },
    GucDef { name: "enable_nestloop", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Nested Loop.") },
    GucDef { name: "enable_mergejoin", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Merge Join.") },
    GucDef { name: "enable_material", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: whether a Merge Join materializes a sorted inner side that does not fit in work_mem.") },
    GucDef { name: "enable_seqscan", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Seq Scan.") },
    GucDef { name: "enable_indexscan", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Index Scan.") },
    GucDef { name: "enable_sort", kind: Kind::Bool, default: "on", how: How::Modelled("Planner: disable_cost on Sort.") },
    GucDef { name: "synchronize_seqscans", kind: Kind::Bool, default: "on", how: How::NotModelled("Every scan starts at block 0; concurrent scans of one table are not modelled.") },
    GucDef { name: "jit", kind: Kind::Bool, default: "on", how: How::NotModelled("No JIT compilation time or speed-up is modelled (PostgreSQL 15 compiles when a plan costs more than jit_above_cost).") },
    GucDef { name: "jit_above_cost", kind: Kind::Real { min: -1.0, max: DBL_MAX }, default: "100000", how: How::NotModelled("No JIT compilation is modelled (see jit).") },
    GucDef { name: "track_io_timing", kind: Kind::Bool, default: "off", how: How::NotModelled("The clock reads around each read are not charged; EXPLAIN's I/O timings are not produced.") },
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
#[derive(Debug, Clone)]
pub struct Settings {
    values: BTreeMap<&'static str, Value>,
    /// The names set explicitly (as written: an alias stays an alias), for [`Settings::notes`].
    explicit: std::collections::BTreeSet<&'static str>,
}

/// Settings are equal when their values are (however they were set).
impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

/// The setting a name stands for: itself, or the setting it is an alias of.
fn canonical(def: &'static GucDef) -> &'static GucDef {
    match def.how {
        How::AliasOf(target) => lookup(target).unwrap_or(def),
        _ => def,
    }
}

impl Default for Settings {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for g in GUCS.iter().filter(|g| !matches!(g.how, How::AliasOf(_))) {
            values.insert(g.name, parse_value(g, g.default).expect("defaults parse"));
        }
        Settings { values, explicit: Default::default() }
    }
}

impl Settings {
    /// Set one GUC from text; unknown names and bad values give PostgreSQL-like messages. An
    /// alias (PostgreSQL 16's `debug_parallel_query`) sets the PostgreSQL 15 setting it names.
    pub fn set(&mut self, name: &str, raw: &str) -> Result<(), String> {
        let key = name.trim().to_ascii_lowercase();
        let def = lookup(&key).ok_or_else(|| format!("unrecognized configuration parameter \"{}\"", name.trim()))?;
        let v = parse_value(def, raw)?;
        self.values.insert(canonical(def).name, v);
        self.explicit.insert(def.name);
        Ok(())
    }

    /// One line per setting that was set but changes nothing in the model, or was set by an
    /// alias: for the user to read once (stderr), never silently.
    pub fn notes(&self) -> Vec<String> {
        let mut out = vec![];
        for g in GUCS.iter().filter(|g| self.explicit.contains(g.name)) {
            match g.how {
                How::Modelled(_) => {}
                How::NotModelled(why) => {
                    out.push(format!("setting {} is accepted but not modelled: {why}", g.name))
                }
                How::AliasOf(target) => out.push(format!(
                    "setting {} is PostgreSQL 16's name for {target}; pqsim models PostgreSQL 15 and takes it as {target}",
                    g.name
                )),
            }
        }
        out
    }

    fn get(&self, name: &str) -> Option<&Value> {
        let name = lookup(name).map(|d| canonical(d).name).unwrap_or(name);
        self.values.get(name)
    }

    pub fn num(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(Value::Num(n)) => *n,
            Some(Value::Bool(b)) => f64::from(u8::from(*b)),
            _ => panic!("setting {name} is not numeric"),
        }
    }

    pub fn int(&self, name: &str) -> i64 {
        self.num(name) as i64
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Enum(e)) => e != "off",
            _ => panic!("setting {name} is not boolean"),
        }
    }

    pub fn text(&self, name: &str) -> String {
        match self.get(name) {
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

/// docs/settings.md: every setting pqsim accepts, PostgreSQL 15's default, and whether and
/// how pqsim models it. Generated from [`GUCS`]; `tests/settings_doc.rs` keeps the file current.
pub fn settings_markdown() -> String {
    let mut out = String::from(
        "# Settings pqsim accepts\n\n\
         Generated from the settings table in `src/model/guc.rs` (`tests/settings_doc.rs` fails when this\n\
         file is out of date; `PQSIM_BLESS=1 cargo test --test settings_doc` rewrites it).\n\n\
         Settings come from a scenario's `[settings]`, a hardware profile's `[settings]` and `--set NAME=VALUE`\n\
         (later wins), in PostgreSQL's syntax (`256MB`, `on`). Defaults, units and ranges are PostgreSQL 15's.\n\
         A setting that pqsim accepts but does not model is reported once on stderr when it is set, so\n\
         that it never changes nothing silently. Any other name is an error (exit 2).\n\n\
         | Setting | Default | Unit | Range or values | Modelled | How |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for g in GUCS {
        let (unit, range) = match g.kind {
            Kind::Int { unit, min, max } => (unit_name(unit), format!("{min} .. {max}")),
            Kind::Real { min, max } => {
                ("", if max == DBL_MAX { format!(">= {min}") } else { format!("{min} .. {max}") })
            }
            Kind::Bool => ("", "on, off".to_string()),
            Kind::Enum(values) => ("", values.join(", ")),
        };
        let (modelled, how) = match g.how {
            How::Modelled(h) => ("yes", h.to_string()),
            How::NotModelled(h) => ("no", h.to_string()),
            How::AliasOf(t) => {
                ("alias", format!("PostgreSQL 16's name for `{t}`, taken as `{t}` (with a note on stderr)."))
            }
        };
        out.push_str(&format!("| `{}` | {} | {unit} | {range} | {modelled} | {how} |\n", g.name, g.default));
    }
    out
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "",
        Unit::Kb => "kB",
        Unit::Blocks => "8kB",
        Unit::Ms => "ms",
        Unit::Bytes => "B",
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
        assert!(s.notes().is_empty(), "{:?}", s.notes());
        assert!(s.set("work_mem", "32kB").unwrap_err().contains("outside the valid range"));
        assert!(s.set("max_parallel_workers_per_gather", "-1").unwrap_err().contains("outside the valid range"));
        assert!(s.set("no_such_guc", "1").unwrap_err().contains("unrecognized configuration parameter"));
        assert!(s.set("parallel_setup_cost", "-5").is_err());
        assert!(s.set("jit", "maybe").is_err());
    }

    #[test]
    fn unmodelled_settings_and_aliases_are_noted() {
        let d = Settings::default();
        assert!(d.flag("jit"), "PostgreSQL 15 has jit on by default");
        let mut s = Settings::default();
        s.set("work_mem", "64MB").unwrap();
        assert!(s.notes().is_empty());
        s.set("effective_io_concurrency", "200").unwrap();
        s.set("JIT", "off").unwrap();
        s.set("debug_parallel_query", "regress").unwrap();
        let notes = s.notes();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].starts_with("setting effective_io_concurrency is accepted but not modelled"));
        assert!(notes.iter().any(|n| n.starts_with("setting jit is accepted but not modelled")));
        assert!(notes
            .iter()
            .any(|n| n.contains("debug_parallel_query is PostgreSQL 16's name for force_parallel_mode")));
        // The alias sets the PostgreSQL 15 setting; only that one is a value.
        assert_eq!(s.text("force_parallel_mode"), "regress");
        assert!(!s.non_default().iter().any(|(k, _)| k == "debug_parallel_query"));
        // Every name in the table is either modelled somewhere, or says why not.
        for g in GUCS {
            match g.how {
                How::Modelled(h) | How::NotModelled(h) => assert!(h.len() > 10, "{}", g.name),
                How::AliasOf(t) => assert!(lookup(t).is_some_and(|d| matches!(d.how, How::Modelled(_)))),
            }
        }
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
