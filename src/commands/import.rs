//! `pqsim import EXPLAIN_JSON`: read a plan (a file or stdin), write its scenario (the mapping:
//! [`crate::import`]). Column types come from a live server (`--dsn`) or from CREATE TABLE
//! statements (`--schema`); without either the scenario prices rows by width and says so.

use crate::config::TableKey;
use crate::error::{Error, Result};
use crate::import::{import_plan, parse_explain_text, ImportOptions, TableStats};
use crate::model::BLCKSZ;
use crate::pg::{ExplainNode, ExplainPlan, PgError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// File with the output of `EXPLAIN (FORMAT JSON) ...` (with or without ANALYZE, BUFFERS,
    /// VERBOSE, SETTINGS; psql's aligned output is accepted too); `-` reads stdin.
    pub explain_json: PathBuf,
    /// Write the scenario here (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Scenario name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Catalog facts the plan lacks: NAME.rows=N, NAME.pages=N, NAME.width=N,
    /// NAME.parallel_workers=N (e.g. from pg_class.reltuples / relpages). Win over --dsn.
    #[arg(long = "table", value_name = "NAME.KEY=VALUE")]
    pub table: Vec<crate::config::TableOverride>,
    /// The rows go to a client (plain query) instead of being discarded by EXPLAIN ANALYZE.
    #[arg(long)]
    pub client: bool,
    /// Read the plan's tables from this server (libpq conninfo): pg_class rows and pages,
    /// index sizes, parallel_workers, and the columns from pg_attribute / pg_stats.
    #[arg(long, value_name = "CONNINFO", conflicts_with = "schema")]
    pub dsn: Option<String>,
    /// Read the plan's tables' columns from CREATE TABLE statements in this file.
    #[arg(long, value_name = "FILE.sql")]
    pub schema: Option<PathBuf>,
    /// Derive this query's per-node costs from the plan's actual times (EXPLAIN ANALYZE, timing
    /// on or off) and write them into the scenario's [measured] section, for re-simulation under
    /// other settings, table sizes or hardware.
    #[arg(long)]
    pub costs_from_actuals: bool,
    /// With --costs-from-actuals: derive the costs from this EXPLAIN (ANALYZE, FORMAT JSON) of
    /// the same query under other settings instead of from EXPLAIN_JSON, which then gives only
    /// the plan: e.g. a serial EXPLAIN ANALYZE priced onto the plan PostgreSQL chooses at 4
    /// workers (EXPLAIN without ANALYZE: nothing is run). Nodes are matched by table,
    /// aggregate calls, sort keys or join condition; those that do not match are named.
    #[arg(long, value_name = "FILE", requires = "costs_from_actuals")]
    pub actuals: Option<PathBuf>,
    /// With --costs-from-actuals: the hardware profile that describes the machine the EXPLAIN
    /// ANALYZE ran on (its instrument_ns, its class costs and its cpu_speed).
    #[arg(long, value_name = "NAME|PATH", default_value = "reference-2vcpu", requires = "costs_from_actuals")]
    pub hardware: String,
}

/// The relations a plan scans: (schema if VERBOSE printed it, name), each once.
pub fn plan_relations(plan: &ExplainPlan) -> Vec<(Option<String>, String)> {
    fn walk(n: &ExplainNode, out: &mut Vec<(Option<String>, String)>) {
        if let Some(r) = &n.relation_name {
            let schema = n.extra.get("Schema").and_then(|v| v.as_str()).map(str::to_string);
            if !out.iter().any(|(_, x)| x == r) {
                out.push((schema, r.clone()));
            }
        }
        for c in &n.plans {
            walk(c, out);
        }
    }
    let mut out = vec![];
    walk(&plan.root, &mut out);
    out
}

/// Catalog facts of the plan's tables from a live server.
/// The plan's tables as the server knows them, and the share of each scan's rows reaching
/// each AND-ed clause of its filter (the planner's estimates).
type FromServer = (BTreeMap<String, TableStats>, BTreeMap<String, Vec<f64>>);

fn stats_from_server(dsn: &str, plan: &ExplainPlan) -> Result<FromServer> {
    let mut client = postgres::Client::connect(dsn, postgres::NoTls).map_err(PgError::from)?;
    let mut out = BTreeMap::new();
    for (schema, rel) in plan_relations(plan) {
        match crate::pg::catalog::relation_stats(&mut client, schema.as_deref(), &rel)? {
            Some(st) => {
                out.insert(rel, st);
            }
            None => eprintln!("pqsim import: warning: table {rel} is not on the server {dsn}"),
        }
    }
    let reach = crate::pg::clauses::clause_reach(&mut client, plan);
    Ok((out, reach))
}

/// Columns of the plan's tables from a DDL file.
fn stats_from_schema(path: &Path, plan: &ExplainPlan) -> Result<BTreeMap<String, TableStats>> {
    let ddl = crate::import::ddl::parse_create_tables(&crate::config::read_text(path)?);
    let mut out = BTreeMap::new();
    for (_, rel) in plan_relations(plan) {
        match ddl.get(&rel).or_else(|| ddl.get(&rel.to_ascii_lowercase())) {
            Some(cols) => {
                out.insert(rel, TableStats { columns: cols.clone(), ..Default::default() });
            }
            None => eprintln!("pqsim import: warning: no CREATE TABLE {rel} in {}", path.display()),
        }
    }
    Ok(out)
}

/// `--table` overrides on top of what the server or the DDL said.
fn apply_overrides(stats: &mut BTreeMap<String, TableStats>, table: &[crate::config::TableOverride]) {
    for o in table {
        let e = stats.entry(o.table.clone()).or_default();
        // The key and the value's range were checked when the flag was parsed.
        let num = o.number;
        match o.key {
            TableKey::Rows => e.rows = Some(num),
            TableKey::Pages => e.pages = Some(num.ceil().max(1.0)),
            TableKey::Size => e.pages = Some((num / BLCKSZ).ceil().max(1.0)),
            TableKey::Width => e.width = Some(num.max(1.0)),
            TableKey::ParallelWorkers => e.parallel_workers = Some(num as u32),
            TableKey::IndexPages => e.index_pages = Some(num.ceil().max(1.0)),
            TableKey::InSharedBuffers => e.in_shared_buffers = Some(num.clamp(0.0, 1.0)),
            TableKey::BuffersInOrder => e.buffers_in_order = Some(num.clamp(0.0, 1.0)),
        }
    }
}

/// The `import` subcommand: warnings to stderr, the scenario to stdout or `--output`.
pub fn run_cli(a: &ImportArgs) -> Result<()> {
    let plan = read_plan(&a.explain_json)?;
    let (mut stats, clause_reach) = match (&a.dsn, &a.schema) {
        (Some(dsn), _) => stats_from_server(dsn, &plan)?,
        (None, Some(path)) => (stats_from_schema(path, &plan)?, BTreeMap::new()),
        (None, None) => (BTreeMap::new(), BTreeMap::new()),
    };
    apply_overrides(&mut stats, &a.table);
    let unknown: Vec<String> = plan_relations(&plan)
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| stats.get(r).is_none_or(|s| s.columns.is_empty()))
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "pqsim import: warning: column types of {} unknown (give --dsn or --schema): their rows are priced by width, not by column",
            unknown.join(", ")
        );
    }
    let stem = a.explain_json.file_stem().and_then(|s| s.to_str()).unwrap_or("imported");
    let name = a.name.clone().unwrap_or_else(|| if stem == "-" { "imported".into() } else { stem.to_string() });
    let opts = ImportOptions {
        name,
        source: a.explain_json.display().to_string(),
        sql: String::new(),
        table_stats: stats,
        client_output: a.client,
        costs_from_actuals: if a.costs_from_actuals {
            let src = crate::config::hardware_source(&a.hardware)?;
            Some(crate::config::load_hardware_str(&src.label, &src.text, &[])?)
        } else {
            None
        },
        actuals_plan: a.actuals.as_deref().map(read_plan).transpose()?,
        clause_reach,
    };
    let imported = import_plan(&plan, &opts)?;
    for w in &imported.warnings {
        eprintln!("pqsim import: warning: {w}");
    }
    match &a.output {
        Some(p) => std::fs::write(p, &imported.toml).map_err(|e| Error::io(p, e))?,
        None => print!("{}", imported.toml),
    }
    Ok(())
}

/// Read an EXPLAIN JSON file (or `-` for stdin).
pub fn read_plan(path: &Path) -> Result<ExplainPlan> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::input(format!("reading stdin: {e}")))?;
        s
    } else {
        crate::config::read_text(path)?
    };
    parse_explain_text(&text).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}
