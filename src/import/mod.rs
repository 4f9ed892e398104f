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
//! the scenario says which in a comment next to the number. No I/O here except [`import_file`].

use crate::config::TableKey;
use crate::error::{Error, Result};
use crate::model::guc::Settings;
use crate::model::{heap_pages, maxalign, BLCKSZ};
use crate::pg::{ExplainNode, ExplainPlan};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Catalog facts about a table the caller knows (e.g. `pg_class.reltuples`/`relpages`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableStats {
    pub rows: Option<f64>,
    pub pages: Option<f64>,
    pub width: Option<f64>,
    pub parallel_workers: Option<u32>,
    /// Pages of the btree index an index scan of this table uses.
    pub index_pages: Option<f64>,
}

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
}

#[derive(Debug, Clone)]
pub struct Imported {
    pub toml: String,
    /// Things the reader should know: guesses made for missing numbers, ignored details.
    pub warnings: Vec<String>,
}

/// Node types the importer maps (PostgreSQL's text-format names).
pub const SUPPORTED: &str =
    "Seq Scan, Parallel Seq Scan, Index Scan, Index Only Scan, Aggregate (Plain/Hashed/Sorted, \
Simple/Partial/Finalize), Sort, Limit, Gather, Gather Merge, Hash Join, Parallel Hash Join, Nested Loop over an \
Index Scan, Subquery Scan and Result (pass-through)";

/// `pqsim import EXPLAIN_JSON [--output SCENARIO] [--table NAME.rows=N]...`
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
    check_loads(&imported.toml)?;
    for w in &imported.warnings {
        eprintln!("pqsim import: warning: {w}");
    }
    match &a.output {
        Some(p) => std::fs::write(p, &imported.toml).map_err(|e| Error::io(p, e))?,
        None => print!("{}", imported.toml),
    }
    Ok(())
}

/// Load the produced TOML with the scenario loader: an importer bug must not produce a file
/// `run` rejects.
pub fn check_loads(toml_text: &str) -> Result<crate::model::Scenario> {
    let label = std::path::Path::new("imported.toml");
    crate::config::load_scenario_str(label, toml_text, &[], &[]).map_err(|e| match e {
        Error::Input { msg, .. } => {
            Error::Simulation(format!("the imported scenario does not load (an importer bug): {msg}"))
        }
        other => other,
    })
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

/// Map one plan to a scenario.
pub fn import_plan(plan: &ExplainPlan, opts: &ImportOptions) -> Result<Imported> {
    let mut settings: Vec<(String, String)> = vec![];
    let mut skipped: Vec<String> = vec![];
    if let Some(serde_json::Value::Object(m)) = plan.extra.get("Settings") {
        let mut check = Settings::default();
        for (k, v) in m {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if check.set(k, &text).is_ok() {
                settings.push((k.clone(), text));
            } else {
                skipped.push(format!("{k} = {text}"));
            }
        }
    }
    let mut gucs = Settings::default();
    for (k, v) in &settings {
        let _ = gucs.set(k, v);
    }
    let mut cx = Cx {
        analyze: plan.root.actual_loops.is_some(),
        gucs,
        tables: vec![],
        warnings: vec![],
        opts,
        gathers: 0,
        in_gather: false,
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
    let toml = cx.render(&root, &settings);
    let mut warnings = cx.warnings;
    warnings.dedup();
    Ok(Imported { toml, warnings })
}

// ---------------------------------------------------------------------------------------

/// One `key = value  # comment` line.
struct Field {
    key: &'static str,
    value: String,
    comment: Option<String>,
}

struct TNode {
    fields: Vec<Field>,
    subplan: Option<Vec<Field>>,
    children: Vec<(&'static str, TNode)>,
}

struct TableAcc {
    name: String,
    rows: f64,
    rows_note: String,
    pages: Option<f64>,
    pages_note: String,
    width: Option<f64>,
    parallel_workers: Option<u32>,
    index_pages: Option<f64>,
}

struct Cx<'a> {
    analyze: bool,
    gucs: Settings,
    tables: Vec<TableAcc>,
    warnings: Vec<String>,
    opts: &'a ImportOptions,
    gathers: usize,
    /// Converting nodes below a Gather (estimates there are per participant).
    in_gather: bool,
}

fn f(key: &'static str, value: String) -> Field {
    Field { key, value, comment: None }
}

fn fc(key: &'static str, value: String, comment: impl Into<String>) -> Field {
    Field { key, value, comment: Some(comment.into()) }
}

fn tstr(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML number: integers without a fraction, others with 6 significant digits.
pub fn tnum(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = (6 - (x.abs().log10().floor() as i32) - 1).clamp(0, 12) as usize;
    let s = format!("{:.*}", digits, x);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Operators evaluated per row by a filter, counted from its text: comparison and
/// arithmetic operators between spaces, `ANY`/`ALL` arrays, `IS [NOT] NULL`, `LIKE`.
/// Hashed SubPlan lookups are costed separately (hash_probe_ns) and not counted here.
pub fn count_operators(filter: &str) -> f64 {
    const OPS: &[&str] = &[
        " = ",
        " <> ",
        " != ",
        " < ",
        " > ",
        " <= ",
        " >= ",
        " ~~ ",
        " !~~ ",
        " ~~* ",
        " !~~* ",
        " ~ ",
        " !~ ",
        " + ",
        " - ",
        " * ",
        " / ",
        " % ",
        " || ",
        " IS NULL",
        " IS NOT NULL",
        " ANY (",
        " ALL (",
    ];
    let mut n = 0usize;
    for op in OPS {
        n += filter.matches(op).count();
    }
    let plain_subplan = filter.matches("SubPlan").count() - filter.matches("hashed SubPlan").count();
    n += plain_subplan;
    n as f64
}

const AGG_NAMES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "bool_and",
    "bool_or",
    "every",
    "string_agg",
    "array_agg",
    "json_agg",
    "jsonb_agg",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "bit_and",
    "bit_or",
    "corr",
    "covar_pop",
    "covar_samp",
    "percentile_cont",
    "percentile_disc",
    "mode",
];

/// Aggregate calls in an Aggregate node's VERBOSE `Output` list.
fn count_aggregates(output: &[String]) -> usize {
    let mut n = 0;
    for o in output {
        let bytes = o.as_bytes();
        for name in AGG_NAMES {
            let pat = format!("{name}(");
            let mut from = 0;
            while let Some(i) = o[from..].find(&pat) {
                let at = from + i;
                let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
                if boundary {
                    n += 1;
                }
                from = at + pat.len();
            }
        }
    }
    n
}

fn output_list(n: &ExplainNode) -> Option<Vec<String>> {
    match n.extra.get("Output") {
        Some(serde_json::Value::Array(a)) => Some(a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

impl Cx<'_> {
    fn stats(&self, table: &str) -> Option<&TableStats> {
        self.opts.table_stats.get(table)
    }

    fn loops(&self, n: &ExplainNode) -> Option<f64> {
        if !self.analyze {
            return None;
        }
        match n.actual_loops {
            Some(l) if l > 0 => Some(l as f64),
            _ => None,
        }
    }

    /// Rows a node returned over all loops (ANALYZE), or the estimate for all participants.
    fn rows_out_total(&self, n: &ExplainNode, divisor: f64) -> f64 {
        match (self.loops(n), n.actual_rows) {
            (Some(l), Some(r)) => r * l,
            _ => n.plan_rows * divisor,
        }
    }

    fn unsupported(&self, n: &ExplainNode, path: &[String], why: &str) -> Error {
        Error::input(format!(
            "unsupported plan node \"{}\" at {}{}{} (pqsim's model supports: {SUPPORTED})",
            n.display_name(),
            path.join(" > "),
            if why.is_empty() { "" } else { ": " },
            why
        ))
    }

    fn note_table(&mut self, name: &str, rows: f64, rows_note: String, pages: Option<(f64, String)>) {
        let st = self.stats(name).cloned().unwrap_or_default();
        if let Some(t) = self.tables.iter_mut().find(|t| t.name == name) {
            // Seen twice (self-join, SubPlan on the same table): keep the larger row count,
            // the first measured page count.
            if rows > t.rows && st.rows.is_none() {
                t.rows = rows;
                t.rows_note = rows_note;
            }
            if t.pages.is_none() {
                if let Some((p, note)) = pages {
                    t.pages = Some(p);
                    t.pages_note = note;
                }
            }
            return;
        }
        let (rows, rows_note) = match st.rows {
            Some(r) => (r, "catalog statistics (pg_class.reltuples) given to the importer".to_string()),
            None => (rows, rows_note),
        };
        let (pages, pages_note) = match (st.pages, pages) {
            (Some(p), _) => (Some(p), "catalog statistics (pg_class.relpages) given to the importer".to_string()),
            (None, Some((p, note))) => (Some(p), note),
            (None, None) => (None, String::new()),
        };
        self.tables.push(TableAcc {
            name: name.to_string(),
            rows,
            rows_note,
            pages,
            pages_note,
            width: st.width,
            parallel_workers: st.parallel_workers,
            index_pages: st.index_pages,
        });
    }

    fn node(&mut self, n: &ExplainNode, divisor: f64, path: &[String]) -> Result<TNode> {
        let mut here = path.to_vec();
        here.push(n.display_name());
        for c in &n.plans {
            if c.parent_relationship.as_deref() == Some("InitPlan") {
                return Err(self.unsupported(c, &here, "InitPlans (a scalar subquery run once) are not modelled"));
            }
        }
        let main: Vec<&ExplainNode> =
            n.plans.iter().filter(|c| c.parent_relationship.as_deref() != Some("SubPlan")).collect();
        let has_subplans = main.len() != n.plans.len();
        if has_subplans && !matches!(n.node_type.as_str(), "Seq Scan" | "Index Scan" | "Index Only Scan") {
            return Err(self.unsupported(n, &here, "SubPlans are modelled only in a scan's filter"));
        }
        match n.node_type.as_str() {
            "Seq Scan" | "Index Scan" | "Index Only Scan" => self.scan(n, divisor, &here),
            "Aggregate" => {
                let child = self.only_child(n, &main, &here)?;
                let mode = match n.partial_mode.as_deref() {
                    Some("Partial") => "Partial",
                    Some("Finalize") => "Finalize",
                    _ => "Simple",
                };
                let mut fields = vec![f("node", tstr("Aggregate")), f("mode", tstr(mode))];
                if n.strategy.as_deref() != Some("Plain") {
                    let (g, note) = match (self.loops(n), n.actual_rows, self.in_gather) {
                        (Some(_), Some(r), true) => (r.max(1.0), "Actual Rows (per participant)"),
                        (Some(_), Some(r), false) => (r.max(1.0), "Actual Rows"),
                        (_, _, true) => (n.plan_rows.max(1.0), "Plan Rows (per participant)"),
                        _ => (n.plan_rows.max(1.0), "Plan Rows"),
                    };
                    fields.push(fc("groups", tnum(g), note));
                }
                match output_list(n) {
                    Some(out) => {
                        let k = count_aggregates(&out).max(1);
                        fields.push(fc("aggregates", tnum(k as f64), "aggregate calls in the VERBOSE Output list"));
                    }
                    None => fields.push(fc("aggregates", "1".into(), "assumed: EXPLAIN VERBOSE would list them")),
                }
                fields.push(fc("width", tnum(n.plan_width as f64), "Plan Width"));
                if n.extra.contains_key("Filter") || n.filter.is_some() {
                    self.warnings.push(format!("{}: HAVING filter ignored", here.join(" > ")));
                }
                let c = self.node(child, divisor, &here)?;
                Ok(TNode { fields, subplan: None, children: vec![("input", c)] })
            }
            "Sort" => {
                let child = self.only_child(n, &main, &here)?;
                let keys: Vec<String> = n.sort_key.iter().map(|k| tstr(k)).collect();
                let fields = vec![f("node", tstr("Sort")), f("keys", format!("[{}]", keys.join(", ")))];
                let c = self.node(child, divisor, &here)?;
                Ok(TNode { fields, subplan: None, children: vec![("input", c)] })
            }
            "Limit" => {
                let child = self.only_child(n, &main, &here)?;
                let fields = vec![
                    f("node", tstr("Limit")),
                    fc(
                        "count",
                        tnum(n.plan_rows.max(1.0)),
                        "Plan Rows of the Limit (EXPLAIN does not print the LIMIT value; this is min(limit, input estimate))",
                    ),
                ];
                let c = self.node(child, divisor, &here)?;
                Ok(TNode { fields, subplan: None, children: vec![("input", c)] })
            }
            "Gather" | "Gather Merge" => {
                self.gathers += 1;
                let child = self.only_child(n, &main, &here)?;
                let w = n.workers_planned.unwrap_or(0);
                let single = n.single_copy.unwrap_or(false);
                let leader = self.gucs.flag("parallel_leader_participation");
                // costsize.c:get_parallel_divisor: per-participant estimates below the Gather.
                let div = if single {
                    1.0
                } else {
                    let mut d = w as f64;
                    if leader {
                        d += (1.0 - 0.3 * w as f64).max(0.0);
                    }
                    d.max(1.0)
                };
                let mut fields = vec![f("node", tstr(&n.node_type)), fc("workers", w.to_string(), "Workers Planned")];
                if single {
                    fields.push(fc(
                        "single_copy",
                        "true".into(),
                        "Single Copy (force_parallel_mode / debug_parallel_query)",
                    ));
                }
                if let Some(l) = n.workers_launched {
                    if l < w {
                        self.warnings.push(format!(
                            "{}: {l} of {w} workers were launched in the measured run; the scenario plans {w} (use --set max_parallel_workers=... to reproduce)",
                            here.join(" > ")
                        ));
                    }
                }
                self.in_gather = true;
                let c = self.node(child, div, &here);
                self.in_gather = false;
                Ok(TNode { fields, subplan: None, children: vec![("input", c?)] })
            }
            "Hash Join" => self.hash_join(n, &main, divisor, &here),
            "Nested Loop" => self.nested_loop(n, &main, divisor, &here),
            "Subquery Scan" | "Result" => {
                if main.len() != 1 {
                    return Err(self.unsupported(n, &here, "only a pass-through with one input is modelled"));
                }
                if n.filter.is_some() || n.extra.contains_key("One-Time Filter") {
                    self.warnings
                        .push(format!("{}: its filter is ignored (treated as pass-through)", here.join(" > ")));
                }
                self.node(main[0], divisor, &here)
            }
            _ => Err(self.unsupported(n, &here, "")),
        }
    }

    fn only_child<'n>(&self, n: &ExplainNode, main: &[&'n ExplainNode], path: &[String]) -> Result<&'n ExplainNode> {
        match main {
            [one] => Ok(one),
            _ => Err(self.unsupported(n, path, &format!("expected one input, found {}", main.len()))),
        }
    }

    fn child_by<'n>(&self, main: &[&'n ExplainNode], rel: &str) -> Option<&'n ExplainNode> {
        main.iter().copied().find(|c| c.parent_relationship.as_deref() == Some(rel))
    }

    fn hash_join(&mut self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64, path: &[String]) -> Result<TNode> {
        let (Some(outer), Some(hash)) = (self.child_by(main, "Outer"), self.child_by(main, "Inner")) else {
            return Err(self.unsupported(n, path, "expected an Outer input and an Inner Hash"));
        };
        if hash.node_type != "Hash" || hash.plans.len() != 1 {
            return Err(self.unsupported(n, path, "the inner side must be a Hash node with one input"));
        }
        let mut hpath = path.to_vec();
        hpath.push(hash.display_name());
        let parallel = hash.parallel_aware || n.parallel_aware;
        let out = self.rows_out_total(n, divisor);
        let outer_rows = self.rows_out_total(outer, divisor);
        let rpo = if outer_rows > 0.0 { out / outer_rows } else { 0.0 };
        let src = if self.loops(n).is_some() { "Actual Rows x Loops" } else { "Plan Rows" };
        if n.extra.contains_key("Join Filter") {
            self.warnings.push(format!("{}: Join Filter ignored", path.join(" > ")));
        }
        let mut fields = vec![
            f("node", tstr("Hash Join")),
            fc(
                "parallel",
                parallel.to_string(),
                if parallel { "Parallel Hash: one shared table" } else { "each participant builds its own hash table" },
            ),
            f("join_type", tstr(n.join_type.as_deref().unwrap_or("Inner"))),
            fc("rows_per_outer", tnum(rpo), format!("join rows / outer rows ({src})")),
            fc("width", tnum(n.plan_width as f64), "Plan Width"),
        ];
        if let Some(c) = &n.hash_cond {
            fields.push(f("cond", tstr(c)));
        }
        let o = self.node(outer, divisor, path)?;
        let i = self.node(&hash.plans[0], divisor, &hpath)?;
        Ok(TNode { fields, subplan: None, children: vec![("outer", o), ("inner", i)] })
    }

    fn nested_loop(&mut self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64, path: &[String]) -> Result<TNode> {
        let (Some(outer), Some(inner)) = (self.child_by(main, "Outer"), self.child_by(main, "Inner")) else {
            return Err(self.unsupported(n, path, "expected an Outer and an Inner input"));
        };
        if !matches!(inner.node_type.as_str(), "Index Scan" | "Index Only Scan") || !inner.plans.is_empty() {
            return Err(self.unsupported(
                n,
                path,
                &format!(
                    "only a Nested Loop whose inner side is an Index Scan is modelled (inner: {})",
                    inner.display_name()
                ),
            ));
        }
        let Some(table) = inner.relation_name.clone() else {
            return Err(self.unsupported(inner, path, "index scan without a relation name"));
        };
        let (rpo, src) = match (self.loops(inner), inner.actual_rows) {
            (Some(_), Some(r)) => (r, "inner Actual Rows per loop"),
            _ => (inner.plan_rows, "inner Plan Rows per loop"),
        };
        if inner.filter.is_some() || n.extra.contains_key("Join Filter") {
            self.warnings.push(format!("{}: filters on the inner side / Join Filter ignored", path.join(" > ")));
        }
        let o = self.node(outer, divisor, path)?;
        let outer_rows = self.rows_out_total(outer, divisor);
        let est_rows = (outer_rows * rpo).max(inner.plan_rows);
        if self.stats(&table).and_then(|s| s.rows).is_none() {
            self.warnings.push(format!(
                "table {table}: row count unknown (only probed through its index); assumed {est_rows:.0} (give --table {table}.rows=N)"
            ));
        }
        self.note_table(&table, est_rows, "unknown: outer rows x rows per lookup (lower bound)".into(), None);
        let mut fields = vec![
            f("node", tstr("Nested Loop")),
            f("join_type", tstr(n.join_type.as_deref().unwrap_or("Inner"))),
            f("inner_table", tstr(&table)),
            fc("rows_per_outer", tnum(rpo), src),
            fc("width", tnum(n.plan_width as f64), "Plan Width"),
        ];
        if let Some(c) = &inner.index_cond {
            fields.push(f("cond", tstr(c)));
        }
        Ok(TNode { fields, subplan: None, children: vec![("outer", o)] })
    }

    fn scan(&mut self, n: &ExplainNode, divisor: f64, path: &[String]) -> Result<TNode> {
        let Some(table) = n.relation_name.clone() else {
            return Err(self.unsupported(n, path, "scan without a relation name"));
        };
        let is_index = n.node_type != "Seq Scan";
        let div = if n.parallel_aware { divisor } else { 1.0 };
        let ctc = self.gucs.num("cpu_tuple_cost");
        let coc = self.gucs.num("cpu_operator_cost");
        let spc = self.gucs.num("seq_page_cost");
        let ops = n.filter.as_deref().map(count_operators).unwrap_or(0.0);
        let stats = self.stats(&table).cloned().unwrap_or_default();

        // SubPlans referenced by the filter.
        let mut subplan_fields = None;
        let mut subplan_pages = 0u64;
        let subs: Vec<&ExplainNode> =
            n.plans.iter().filter(|c| c.parent_relationship.as_deref() == Some("SubPlan")).collect();
        if subs.len() > 1 {
            return Err(self.unsupported(n, path, "more than one SubPlan in a filter"));
        }
        if let Some(sp) = subs.first() {
            let mut sp_path = path.to_vec();
            sp_path.push(format!("{} {}", sp.subplan_name.as_deref().unwrap_or("SubPlan"), sp.display_name()));
            if sp.node_type != "Seq Scan" || !sp.plans.is_empty() {
                if sp.node_type == "Gather" || sp.node_type == "Gather Merge" {
                    return Err(Error::input(format!(
                        "unsupported plan node \"{}\" at {}: a Gather inside a SubPlan (a parallel subquery under a serial scan) is not modelled; \
                         pqsim models SubPlans that scan one table serially (e.g. ALTER TABLE ... SET (parallel_workers = 0) on the subquery's table gives that plan)",
                        sp.display_name(),
                        sp_path.join(" > ")
                    )));
                }
                return Err(self.unsupported(sp, &sp_path, "a SubPlan must be a Seq Scan of one table"));
            }
            let sp_table = sp.relation_name.clone().unwrap_or_default();
            // A hashed SubPlan runs once (loops = 1): its actual rows are the whole subquery.
            // A plain one is rescanned per outer row and may stop early: use the estimate.
            let once = self.loops(sp).is_some_and(|l| l <= 1.0);
            let (sp_in, sp_out) = match (once, sp.actual_rows) {
                (true, Some(r)) => (r + sp.rows_removed_by_filter.unwrap_or(0.0), r),
                _ => (sp.plan_rows, sp.plan_rows),
            };
            let sp_pages = sp.shared_hit_blocks.zip(sp.shared_read_blocks).map(|(h, r)| h + r);
            if let Some(p) = sp_pages {
                subplan_pages = p;
            }
            let sp_pages_note = match (sp_pages, once) {
                (Some(p), true) => Some((p as f64, "Shared Hit + Read Blocks of the SubPlan's scan".to_string())),
                _ => {
                    // No filter: run cost = pages x seq_page_cost + rows x cpu_tuple_cost.
                    let p = (sp.total_cost - sp.startup_cost - sp_in * ctc).max(1.0);
                    if sp.filter.is_none() {
                        Some((p.round(), "from the SubPlan scan's cost: total - rows x cpu_tuple_cost".to_string()))
                    } else {
                        None
                    }
                }
            };
            let sp_rows_note =
                if once { "SubPlan scan: Actual Rows + Rows Removed by Filter" } else { "SubPlan scan: Plan Rows" };
            self.note_table(&sp_table, sp_in, sp_rows_note.into(), sp_pages_note);
            let name = sp.subplan_name.clone().unwrap_or_else(|| "SubPlan".into());
            let hashed = n.filter.as_deref().is_some_and(|t| t.contains(&format!("hashed {name}")));
            subplan_fields = Some(vec![
                f("table", tstr(&sp_table)),
                fc("width", tnum(sp.plan_width as f64), "SubPlan Plan Width"),
                fc("rows", tnum(sp_out), if once { "SubPlan Actual Rows" } else { "SubPlan Plan Rows" }),
                fc(
                    "text",
                    tstr(&format!("{name}: Seq Scan on {sp_table}")),
                    if hashed {
                        "PostgreSQL hashed it (the model decides from hash_mem)"
                    } else {
                        "PostgreSQL did not hash it"
                    },
                ),
            ]);
        }

        // Rows the scan read and the filter's selectivity.
        let out_total = self.rows_out_total(n, div);
        let (rows_in, sel, rows_note, sel_note) = match (self.loops(n), n.actual_rows) {
            (Some(l), Some(r)) => {
                let removed = n.rows_removed_by_filter.unwrap_or(0.0);
                let rin = (r + removed) * l;
                let sel = if r + removed > 0.0 { r / (r + removed) } else { 1.0 };
                (
                    rin,
                    sel,
                    "scan input: (Actual Rows + Rows Removed by Filter) x Actual Loops",
                    "Actual Rows / input rows",
                )
            }
            _ => {
                if n.filter.is_none() {
                    let note = if div > 1.0 { "Plan Rows x parallel divisor" } else { "Plan Rows" };
                    (out_total, 1.0, note, "")
                } else if let Some(r) = stats.rows.filter(|_| !is_index || n.index_cond.is_none()) {
                    (r, (out_total / r.max(1.0)).min(1.0), "catalog statistics", "estimated rows out / table rows")
                } else if !is_index {
                    // Invert cost_seqscan: run = pages*spc + rows_in*(ctc + qual)/div, with pages
                    // following rows_in at an assumed row width.
                    let run = (n.total_cost - n.startup_cost).max(0.0);
                    let w = (n.plan_width as f64).max(36.0);
                    let per = |r: f64| heap_pages(r, w) * spc + r * (ctc + ops.max(1.0) * coc) / div;
                    let (mut lo, mut hi) = (out_total.max(1.0), out_total.max(1.0) * 1e6 + 1e6);
                    if per(lo) >= run {
                        hi = lo;
                    }
                    for _ in 0..200 {
                        let mid = 0.5 * (lo + hi);
                        if per(mid) < run {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    let rin = hi.round().max(out_total);
                    self.warnings.push(format!(
                        "table {table}: input rows of the filtered scan are not in a plan without ANALYZE; inferred {rin:.0} from its cost assuming {w:.0}-byte rows (give --table {table}.rows=N)"
                    ));
                    (
                        rin,
                        (out_total / rin.max(1.0)).min(1.0),
                        "inferred from the scan's cost (guess)",
                        "estimated rows out / inferred input rows",
                    )
                } else {
                    self.warnings.push(format!(
                        "table {table}: an index scan's input rows are not in a plan without ANALYZE; assumed the filter passes every row (give --table {table}.rows=N)"
                    ));
                    (out_total, 1.0, "Plan Rows (filter assumed to pass all rows)", "assumed")
                }
            }
        };

        // Pages.
        let own_pages =
            n.shared_hit_blocks.zip(n.shared_read_blocks).map(|(h, r)| (h + r).saturating_sub(subplan_pages));
        let pages: Option<(f64, String)> = if is_index {
            None
        } else if let Some(p) = own_pages.filter(|p| *p > 0) {
            Some((p as f64, "Shared Hit + Read Blocks of the scan (BUFFERS)".into()))
        } else {
            let run = (n.total_cost - n.startup_cost).max(0.0);
            let p = (run - rows_in * (ctc + ops * coc) / div) / spc.max(1e-9);
            if p >= 1.0 {
                Some((
                    p.round(),
                    "from the scan's cost: run cost - input rows x (cpu_tuple_cost + quals) / divisor".into(),
                ))
            } else {
                None
            }
        };

        // Index scans: the fraction of the table read.
        let mut idx_fields = vec![];
        let mut table_rows = rows_in;
        if is_index {
            let fraction = match (n.index_cond.as_ref(), stats.rows) {
                (None, _) => 1.0,
                (Some(_), Some(r)) if r > 0.0 => (rows_in / r).min(1.0),
                (Some(_), _) => {
                    self.warnings.push(format!(
                        "table {table}: size unknown behind an index condition; modelled as a table of the {rows_in:.0} rows the scan reads"
                    ));
                    1.0
                }
            };
            if let Some(r) = stats.rows {
                table_rows = r;
            }
            idx_fields.push(fc("fraction", tnum(fraction), "index scan input rows / table rows"));
            idx_fields.push(fc("correlation", "1.0".into(), "not in EXPLAIN: heap assumed in index order"));
        }
        self.note_table(&table, table_rows, rows_note.into(), pages);

        let kind = match (n.node_type.as_str(), n.parallel_aware) {
            ("Seq Scan", true) => "Parallel Seq Scan",
            ("Seq Scan", false) => "Seq Scan",
            (_, true) => "Parallel Index Scan",
            (_, false) => "Index Scan",
        };
        let mut fields = vec![f("node", tstr(kind)), f("table", tstr(&table))];
        if let Some(text) = &n.filter {
            fields.push(f("filter", tstr(text)));
            fields.push(fc("selectivity", tnum(sel.clamp(0.0, 1.0)), sel_note));
            fields.push(fc("operators", tnum(ops), "operators counted in the filter text"));
        }
        fields.push(fc("width", tnum(n.plan_width as f64), "Plan Width"));
        fields.extend(idx_fields);
        Ok(TNode { fields, subplan: subplan_fields, children: vec![] })
    }

    fn render(&self, root: &TNode, settings: &[(String, String)]) -> String {
        let o = self.opts;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Imported by `pqsim import` from PostgreSQL EXPLAIN (FORMAT JSON){}.",
            if self.analyze { " with ANALYZE (actual rows used, actual times not)" } else { " (estimates only)" }
        );
        let _ = writeln!(
            s,
            "# Each number says where it came from; warnings: {}.",
            if self.warnings.is_empty() { "none".to_string() } else { self.warnings.len().to_string() }
        );
        for w in &self.warnings {
            let _ = writeln!(s, "#   - {w}");
        }
        let name = if o.name.is_empty() { "imported" } else { &o.name };
        let _ = writeln!(s, "name = {}", tstr(name));
        let _ = writeln!(
            s,
            "description = {}",
            tstr(&format!("imported from {}", if o.source.is_empty() { "EXPLAIN JSON" } else { &o.source }))
        );
        if !o.source.is_empty() {
            let _ = writeln!(s, "source = {}", tstr(&o.source));
        }
        if !o.sql.is_empty() {
            let _ = writeln!(s, "sql = {}", tstr(&o.sql));
        }
        if o.client_output {
            let _ = writeln!(s, "output = \"client\"          # rows are sent to a client");
        }
        if !settings.is_empty() {
            let _ = writeln!(s, "\n[settings]                  # from EXPLAIN's \"Settings\" (SETTINGS option)");
            for (k, v) in settings {
                let _ = writeln!(s, "{k} = {}", tstr(v));
            }
        }
        for t in &self.tables {
            if t.pages.is_none() {
                let _ = writeln!(
                    s,
                    "\n# {}: pages are not in this plan (index access only, no BUFFERS): pqsim derives them from rows and width",
                    t.name
                );
            }
            let _ = writeln!(s, "\n[[table]]");
            let _ = writeln!(s, "name = {}", tstr(&t.name));
            let _ = writeln!(s, "rows = {:<14} # {}", tnum(t.rows.round().max(0.0)), t.rows_note);
            if let Some(p) = t.pages {
                let p = p.max(1.0).round();
                let _ = writeln!(s, "pages = {:<13} # {}", tnum(p), t.pages_note);
                let width = t.width.unwrap_or_else(|| {
                    let per_page = (t.rows / p).max(1.0);
                    let per_tuple = (BLCKSZ - 24.0) / per_page - 4.0;
                    (maxalign(per_tuple) - 24.0).clamp(1.0, 8000.0)
                });
                let note = if t.width.is_some() { "given" } else { "derived from rows per page (what-if use only)" };
                let _ = writeln!(s, "width = {:<13} # {note}", tnum(width.round().max(1.0)));
            } else if let Some(w) = t.width {
                let _ = writeln!(s, "width = {}", tnum(w));
            }
            if let Some(pw) = t.parallel_workers {
                let _ = writeln!(s, "parallel_workers = {pw}");
            }
            if let Some(ip) = t.index_pages {
                let _ = writeln!(
                    s,
                    "index_pages = {:<7} # given (pg_class.relpages of the index)",
                    tnum(ip.max(1.0).round())
                );
            }
        }
        render_node(&mut s, "plan", root);
        s
    }
}

fn render_fields(s: &mut String, fields: &[Field]) {
    for fl in fields {
        let line = format!("{} = {}", fl.key, fl.value);
        match &fl.comment {
            Some(c) => {
                let _ = writeln!(s, "{line:<26} # {c}");
            }
            None => {
                let _ = writeln!(s, "{line}");
            }
        }
    }
}

fn render_node(s: &mut String, path: &str, n: &TNode) {
    let _ = writeln!(s, "\n[{path}]");
    render_fields(s, &n.fields);
    if let Some(sp) = &n.subplan {
        let _ = writeln!(s, "[{path}.subplan]");
        render_fields(s, sp);
    }
    for (k, c) in &n.children {
        render_node(s, &format!("{path}.{k}"), c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_valid_toml() {
        assert_eq!(tnum(3.0), "3");
        assert_eq!(tnum(0.5), "0.5");
        assert_eq!(tnum(0.0052111), "0.0052111");
        assert_eq!(tnum(123456.789), "123457.0");
        for x in [1e-9, 0.3333333, 2.5e7 + 0.5, 7.0] {
            let t: toml::Table = toml::from_str(&format!("x = {}", tnum(x))).unwrap();
            let v = t["x"].as_float().or(t["x"].as_integer().map(|i| i as f64)).unwrap();
            assert!((v - x).abs() <= 1e-5 * x.abs().max(1e-9) + 1e-12, "{x} -> {}", tnum(x));
        }
    }

    #[test]
    fn operators_and_aggregates() {
        assert_eq!(count_operators("(t.val < 500000)"), 1.0);
        assert_eq!(count_operators("((a >= 0) AND (b >= 0) AND (c <> 3))"), 3.0);
        assert_eq!(count_operators("(NOT (hashed SubPlan 1))"), 0.0);
        assert_eq!(count_operators("(NOT (SubPlan 1))"), 1.0);
        assert_eq!(count_operators("(l_shipmode = ANY ('{MAIL,AIR}'::bpchar[]))"), 2.0);
        let out = vec!["PARTIAL sum(a)".to_string(), "PARTIAL count(*)".into(), "d.grp".into(), "max((a + b))".into()];
        assert_eq!(count_aggregates(&out), 3);
        assert_eq!(count_aggregates(&["fsum(x)".to_string()]), 0);
    }

    #[test]
    fn psql_decorations_are_stripped() {
        let text = " QUERY PLAN \n------\n [ +\n {\"Plan\": {\"Node Type\": \"Result\", \"Startup Cost\": 0, \"Total Cost\": 0.01, \"Plan Rows\": 1, \"Plan Width\": 4}} +\n ]\n(1 row)\n";
        let p = parse_explain_text(text).unwrap();
        assert_eq!(p.root.node_type, "Result");
    }
}
