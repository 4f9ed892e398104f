//! `pqsim import EXPLAIN_JSON`: read a plan (a file or stdin), write its scenario (the mapping:
//! [`crate::import`]).

use crate::config::TableKey;
use crate::error::{Error, Result};
use crate::import::{import_plan, parse_explain_text, ImportOptions, Imported, TableStats};
use crate::model::BLCKSZ;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// File with the output of `EXPLAIN (FORMAT JSON) ...` (with or without ANALYZE, BUFFERS,
    /// VERBOSE, SETTINGS; psql's aligned output is accepted too); `-` reads stdin.
    pub explain_json: std::path::PathBuf,
    /// Write the scenario here (default: stdout).
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// Scenario name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Catalog facts the plan lacks: NAME.rows=N, NAME.pages=N, NAME.width=N,
    /// NAME.parallel_workers=N (e.g. from pg_class.reltuples / relpages).
    #[arg(long = "table", value_name = "NAME.KEY=VALUE")]
    pub table: Vec<crate::config::TableOverride>,
    /// The rows go to a client (plain query) instead of being discarded by EXPLAIN ANALYZE.
    #[arg(long)]
    pub client: bool,
}

/// The `import` subcommand: warnings to stderr, the scenario to stdout or `--output`.
pub fn run_cli(a: &ImportArgs) -> Result<()> {
    let mut stats: BTreeMap<String, TableStats> = BTreeMap::new();
    for o in &a.table {
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
        }
    }
    let stem = a.explain_json.file_stem().and_then(|s| s.to_str()).unwrap_or("imported");
    let name = a.name.clone().unwrap_or_else(|| if stem == "-" { "imported".into() } else { stem.to_string() });
    let opts = ImportOptions {
        name,
        source: a.explain_json.display().to_string(),
        sql: String::new(),
        table_stats: stats,
        client_output: a.client,
    };
    let imported = import_file(&a.explain_json, &opts)?;
    for w in &imported.warnings {
        eprintln!("pqsim import: warning: {w}");
    }
    match &a.output {
        Some(p) => std::fs::write(p, &imported.toml).map_err(|e| Error::io(p, e))?,
        None => print!("{}", imported.toml),
    }
    Ok(())
}

/// Read an EXPLAIN JSON file (or `-` for stdin) and import it.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::input(format!("reading stdin: {e}")))?;
        s
    } else {
        crate::config::read_text(path)?
    };
    let plan = parse_explain_text(&text).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    import_plan(&plan, opts)
}
