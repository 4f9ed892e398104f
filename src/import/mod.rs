//! `pqsim import`: turn PostgreSQL's `EXPLAIN (FORMAT JSON)` into a scenario TOML that
//! `config::load_scenario` accepts.
//!
//! What is read (reference §10): the plan shape, Plan Rows / Plan Width, filters and their
//! SubPlans, Workers Planned, and — when present — Actual Rows × Actual Loops, Rows Removed by
//! Filter and the buffer counts (BUFFERS), the `Output` lists (VERBOSE) and the `Settings`
//! (SETTINGS). Actual *times* are never read: a scenario must predict them.
//!
//! Where a number is not in the plan (a filtered scan's input rows without ANALYZE, a table's
//! pages without BUFFERS), it is derived from the plan's costs with PostgreSQL's cost formulas,
//! or taken from caller-supplied catalog statistics ([`TableStats`], `--table NAME.rows=N`), and
//! the scenario says which in a comment next to the number.
//!
//! The import builds a [`Scenario`] directly ([`convert`], [`scan`]); the TOML text
//! ([`write`]) is an output only, and loads back to the same scenario (tests/import.rs).
//! No I/O here.

pub mod actuals;
mod context;
mod convert;
pub mod ddl;
mod fields;
mod initplan;
mod merge_append;
mod scan;
pub mod text;
pub mod write;

use crate::error::{Error, Result};
use crate::model::guc::Settings;
use crate::model::{OutputMode, QueryProps, Scenario};
use crate::pg::ExplainPlan;
use context::Cx;
use std::collections::BTreeMap;

pub use crate::pg::TableStats;
pub use fields::tnum;
pub use text::count_operators;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Scenario name (defaults to "imported").
    pub name: String,
    /// Where the plan came from (file name, query), for the scenario's `source`.
    pub source: String,
    /// SQL text, if known (kept in the scenario for the reader).
    pub sql: String,
    pub table_stats: BTreeMap<String, TableStats>,
    /// The query's rows go to a client (a plain query) rather than being discarded by
    /// EXPLAIN ANALYZE.
    pub client_output: bool,
    /// `--costs-from-actuals`: derive the query's per-node costs from the plan's actual
    /// times, on the machine this profile describes ([`actuals`]).
    pub costs_from_actuals: Option<crate::model::Hardware>,
    /// `--actuals FILE`: with `costs_from_actuals`, the EXPLAIN ANALYZE the costs come from
    /// when it is not the plan imported (the same query under other settings: a serial
    /// EXPLAIN ANALYZE priced onto the plan PostgreSQL chose at 4 workers).
    pub actuals_plan: Option<ExplainPlan>,
    /// Per filter text, the share of a scan's rows reaching each AND-ed clause, from the
    /// server the plan came from (`pg::clauses::clause_reach`); empty without a server.
    pub clause_reach: BTreeMap<String, Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct Imported {
    /// The scenario, built directly from the plan.
    pub scenario: Scenario,
    /// The same scenario as a TOML file, every number with where it came from.
    pub toml: String,
    /// Things the reader should know: guesses made for missing numbers, ignored details.
    pub warnings: Vec<String>,
}

/// Node types the importer maps (PostgreSQL's text-format names).
pub const SUPPORTED: &str =
    "Seq Scan, Parallel Seq Scan, Index Scan, Index Only Scan, Aggregate (Plain/Hashed/Sorted, \
Simple/Partial/Finalize), Sort, Limit, Gather, Gather Merge, Hash Join, Parallel Hash Join, Nested Loop over an \
Index Scan, Merge Join, Append, Parallel Append, Subquery Scan and Result (pass-through)";

/// Load a written scenario with the scenario loader: the writer's output must load (and, the
/// tests check, load back equal to [`Imported::scenario`]).
pub fn check_loads(toml_text: &str) -> Result<Scenario> {
    let label = std::path::Path::new("imported.toml");
    crate::config::load_scenario_str(label, toml_text, &[], &[]).map_err(|e| match e {
        Error::Input { msg, .. } => {
            Error::Simulation(format!("the imported scenario does not load (an importer bug): {msg}"))
        }
        other => other,
    })
}

/// Parse EXPLAIN JSON, also when copied from psql's aligned output (a `QUERY PLAN` header,
/// `+` at line ends, a `(1 row)` footer).
pub fn parse_explain_text(text: &str) -> std::result::Result<ExplainPlan, String> {
    match ExplainPlan::from_json(text) {
        Ok(p) => Ok(p),
        Err(first) => {
            let t = text.trim_start();
            if t.starts_with('[') || t.starts_with('{') {
                return Err(first.to_string());
            }
            let mut cleaned = String::new();
            let mut started = false;
            for line in text.lines() {
                let l = line.trim_end();
                if !started {
                    if l.trim_start().starts_with('[') || l.trim_start().starts_with('{') {
                        started = true;
                    } else {
                        continue;
                    }
                }
                if l.trim_start().starts_with('(') && l.trim_end().ends_with("row)") {
                    break;
                }
                cleaned.push_str(l.strip_suffix('+').unwrap_or(l));
                cleaned.push('\n');
            }
            ExplainPlan::from_json(&cleaned).map_err(|_| first.to_string())
        }
    }
}

/// The settings of EXPLAIN's SETTINGS option pqsim models, in order; the others' texts.
fn plan_settings(plan: &ExplainPlan) -> (Vec<(String, String)>, Vec<String>) {
    let mut settings: Vec<(String, String)> = vec![];
    let mut skipped: Vec<String> = vec![];
    if let Some(serde_json::Value::Object(m)) = plan.extra.get("Settings") {
        let mut check = Settings::default();
        for (k, v) in m {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if k == "search_path" {
                continue; // names, not costs
            }
            if check.set(k, &text).is_ok() {
                // PostgreSQL's spelling of the name (settings are case-insensitive): one
                // entry per setting, the later wins (fuzzing found " work_mem" beside "work_mem").
                let name = k.trim().to_ascii_lowercase();
                settings.retain(|(n, _): &(String, String)| *n != name);
                settings.push((name, text));
            } else {
                skipped.push(format!("{k} = {text}"));
            }
        }
    }
    (settings, skipped)
}

/// Map one plan to a scenario (and its TOML text).
pub fn import_plan(plan: &ExplainPlan, opts: &ImportOptions) -> Result<Imported> {
    let (settings, skipped) = plan_settings(plan);
    let mut gucs = Settings::default();
    for (k, v) in &settings {
        let _ = gucs.set(k, v);
    }
    let mut cx = Cx {
        analyze: plan.root.actual_loops.is_some(),
        gucs: gucs.clone(),
        tables: vec![],
        warnings: vec![],
        opts,
        gathers: 0,
        in_gather: false,
        init_plans: vec![],
        whole_per_loop: false,
    };
    if !skipped.is_empty() {
        cx.warnings.push(format!("settings pqsim does not model were left out: {}", skipped.join(", ")));
    }
    let root = cx.node(&plan.root, 1.0, &["Plan".to_string()])?;
    if cx.gathers > 1 {
        return Err(Error::input(
            "the plan has more than one Gather/Gather Merge (e.g. one inside a SubPlan); pqsim's model runs one Gather per query",
        ));
    }
    for ip in cx.init_plans.iter().filter(|p| !p.attached) {
        cx.warnings.push(format!("{}: no scan's filter uses its result: not modelled", ip.name));
    }
    // PostgreSQL chose the order of its hash joins from its own estimates; pqsim's costs
    // (from actual rows, after ANALYZE) may prefer the other order: keep PostgreSQL's.
    let keep_join_order = root.node.has_inner_hash_join();
    let mut toml = write::render(&cx, &root.toml, &settings, keep_join_order);
    let mut scenario = Scenario {
        name: if opts.name.is_empty() { "imported".into() } else { opts.name.clone() },
        description: format!("imported from {}", if opts.source.is_empty() { "EXPLAIN JSON" } else { &opts.source }),
        tables: cx.model_tables(),
        settings: gucs,
        busy_worker_slots: 0,
        query: QueryProps { server_version: 15, keep_join_order, ..Default::default() },
        output: if opts.client_output { OutputMode::Client } else { OutputMode::ExplainAnalyze },
        pinned_workers: cx.gathers > 0,
        plan: root.node,
        setting_overrides: settings,
        measured: None,
    };
    let mut warnings = cx.warnings;
    if let Some(hw) = &opts.costs_from_actuals {
        let d = match &opts.actuals_plan {
            None => actuals::derive(plan, &scenario, hw)?,
            Some(measured_plan) => {
                let o = ImportOptions { costs_from_actuals: None, actuals_plan: None, ..opts.clone() };
                let measured_scenario = import_plan(measured_plan, &o)?.scenario;
                let d = actuals::derive(measured_plan, &measured_scenario, hw)?;
                warnings.extend(actuals::unmatched(&scenario, &d.costs));
                d
            }
        };
        toml.push_str(&write::render_measured(&d, opts.actuals_plan.is_some()));
        warnings.extend(d.warnings.iter().cloned());
        scenario.measured = Some(d.costs);
    }
    warnings.dedup();
    Ok(Imported { scenario, toml, warnings })
}

/// The scenario of a plan, without its text.
pub fn import_scenario(plan: &ExplainPlan, opts: &ImportOptions) -> Result<Scenario> {
    import_plan(plan, opts).map(|i| i.scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_decorations_are_stripped() {
        let text = " QUERY PLAN \n------\n [ +\n {\"Plan\": {\"Node Type\": \"Result\", \"Startup Cost\": 0, \"Total Cost\": 0.01, \"Plan Rows\": 1, \"Plan Width\": 4}} +\n ]\n(1 row)\n";
        let p = parse_explain_text(text).unwrap();
        assert_eq!(p.root.node_type, "Result");
    }
}
