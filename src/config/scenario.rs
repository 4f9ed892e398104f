//! Scenario files: raw serde structs -> `model::Scenario` (tables, settings, query
//! properties, the plan tree in `plan.rs`).

use super::plan::{node_from_raw, RawNode};
use super::whatif::{apply_scenario_whatifs, TableOverride};
use super::{non_negative, positive, read_text, size_bytes, toml_error, toml_value_text, Ctx};
use crate::error::Result;
use crate::model::guc::Settings;
use crate::model::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Load a scenario file, then apply `--set` settings and `--table` what-ifs (later wins).
pub fn load_scenario(path: &Path, sets: &[(String, String)], tables: &[TableOverride]) -> Result<Scenario> {
    let src = read_text(path)?;
    load_scenario_str(path, &src, sets, tables)
}

/// Load a scenario from its text (`label` names it in messages, with line and column), then
/// apply `--set` settings and `--table` what-ifs in memory.
pub fn load_scenario_str(
    label: &Path,
    src: &str,
    sets: &[(String, String)],
    tables: &[TableOverride],
) -> Result<Scenario> {
    let raw: RawScenario = toml::from_str(src).map_err(|e| toml_error(label, src, e))?;
    let ctx = Ctx { path: label, src };
    let mut sc = scenario_from_raw(&ctx, raw)?;
    apply_scenario_whatifs(&mut sc, sets, tables)?;
    Ok(sc)
}

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
    #[serde(default)]
    measured: Option<RawMeasured>,
}

/// `[measured]`: per-node costs from a real EXPLAIN ANALYZE (`import --costs-from-actuals`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasured {
    profile: String,
    cpu_speed: Spanned<f64>,
    per_node_times: bool,
    /// For the reader: the measured Execution Time and the timing overhead taken out.
    #[serde(default)]
    execution_time_ms: Option<f64>,
    #[serde(default)]
    timing_overhead_ms: Option<f64>,
    #[serde(default, rename = "node")]
    nodes: Vec<RawNodeCost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeCost {
    node: String,
    row_ns: Option<Spanned<f64>>,
    page_ns: Option<Spanned<f64>>,
    build_row_ns: Option<Spanned<f64>>,
    cmp_ns: Option<Spanned<f64>>,
}

fn measured_from_raw(ctx: &Ctx, m: &RawMeasured) -> Result<crate::model::measured::MeasuredCosts> {
    use crate::model::measured::{MeasuredCosts, NodeCost};
    let _ = (m.execution_time_ms, m.timing_overhead_ms);
    let mut nodes: Vec<NodeCost> = vec![];
    for n in &m.nodes {
        let field = |v: &Option<Spanned<f64>>, what: &str| -> Result<Option<f64>> {
            v.as_ref().map(|x| non_negative(ctx, x, &format!("measured node \"{}\": {what}", n.node))).transpose()
        };
        if nodes.iter().any(|x| x.node == n.node) {
            return Err(ctx.err(None, format!("measured node \"{}\" is given twice", n.node)));
        }
        nodes.push(NodeCost {
            node: n.node.clone(),
            row_ns: field(&n.row_ns, "row_ns")?,
            page_ns: field(&n.page_ns, "page_ns")?,
            build_row_ns: field(&n.build_row_ns, "build_row_ns")?,
            cmp_ns: field(&n.cmp_ns, "cmp_ns")?,
        });
    }
    Ok(MeasuredCosts {
        profile: m.profile.clone(),
        cpu_speed: positive(ctx, &m.cpu_speed, "measured.cpu_speed")?,
        per_node_times: m.per_node_times,
        nodes,
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    command: Option<Spanned<String>>,
    #[serde(default)]
    functions: BTreeMap<String, Spanned<String>>,
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
    #[serde(default)]
    keep_join_order: bool,
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
    /// Share of its pages in shared buffers (0..1).
    in_shared_buffers: Option<Spanned<f64>>,
    /// Standard deviation of its stored row lengths, bytes.
    row_length_sd: Option<Spanned<f64>>,
    /// Share of consecutive rows whose aligned length differs from the row's before (0..1).
    row_stride_changes: Option<Spanned<f64>>,
    /// Share of its resident pages whose next block is in the next buffer (0..1).
    buffers_in_order: Option<Spanned<f64>>,
    /// Windows of 8 buffers holding its resident blocks, by the scan chunks each holds (1..8).
    buffer_windows: Option<Spanned<Vec<f64>>>,
    /// The name of the index its index scans use (EXPLAIN's `Index Name`).
    index: Option<String>,
    #[serde(default)]
    temporary: bool,
    /// Columns in attnum order: `{ name, type, width, null_frac, correlation, n_distinct }`.
    #[serde(default)]
    columns: Vec<Spanned<RawColumn>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    width: Option<Spanned<f64>>,
    null_frac: Option<Spanned<f64>>,
    correlation: Option<Spanned<f64>>,
    n_distinct: Option<Spanned<f64>>,
}

fn scenario_from_raw(ctx: &Ctx, raw: RawScenario) -> Result<Scenario> {
    let mut settings = Settings::default();
    let mut setting_overrides = vec![];
    for (k, v) in &raw.settings {
        let text = toml_value_text(v.get_ref())
            .ok_or_else(|| ctx.err(Some(v.span()), format!("setting {k}: expected a number, string or boolean")))?;
        settings.set(k, &text).map_err(|e| ctx.err(Some(v.span()), e))?;
        setting_overrides.push((k.clone(), text));
    }
    let mut tables = Vec::new();
    for t in &raw.tables {
        let table = table_from_raw(ctx, t)?;
        if tables.iter().any(|x: &Table| x.name == table.name) {
            return Err(ctx.err(Some(t.span()), format!("table \"{}\" is defined twice", table.name)));
        }
        tables.push(table);
    }
    let output = match raw.output.as_ref() {
        None => OutputMode::ExplainAnalyze,
        Some(o) => OutputMode::parse(o.get_ref()).ok_or_else(|| {
            ctx.err(
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
            return Err(ctx.err(Some(b.span()), "busy_worker_slots must be zero or positive"));
        }
        Some(b) => *b.get_ref() as u32,
        None => 0,
    };
    let mut functions = vec![];
    for (name, label) in &raw.query.functions {
        let c = FnSafety::parse(label.get_ref()).ok_or_else(|| {
            ctx.err(
                Some(label.span()),
                format!(
                    "query.functions.{name}: expected \"safe\", \"restricted\" or \"unsafe\", not \"{}\"",
                    label.get_ref()
                ),
            )
        })?;
        functions.push((name.clone(), c));
    }
    let q = &raw.query;
    let command = match &q.command {
        None => Command::Select,
        Some(c) => Command::parse(c.get_ref()).ok_or_else(|| {
            let names: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
            ctx.err(
                Some(c.span()),
                format!("query.command: expected one of {}, not \"{}\"", names.join(", "), c.get_ref()),
            )
        })?,
    };
    let query = QueryProps {
        command,
        functions,
        row_locks: q.row_locks,
        cursor: q.cursor,
        client_max_rows: q.client_max_rows,
        materialized_cte: q.materialized_cte,
        correlated_subplan: q.correlated_subplan,
        serializable: q.serializable,
        server_version: q.server_version.unwrap_or(15),
        keep_join_order: q.keep_join_order,
    };
    let mut pinned = false;
    let plan = node_from_raw(ctx, &raw.plan, &tables, &mut pinned)?;
    let gathers = count_gathers(&plan);
    if gathers > 1 {
        return Err(
            ctx.err(Some(raw.plan.span()), "plans with more than one Gather/Gather Merge are not supported yet")
        );
    }
    let _ = (&raw.source, &raw.sql);
    let measured = raw.measured.as_ref().map(|m| measured_from_raw(ctx, m)).transpose()?;
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
        measured,
    })
}

fn count_gathers(n: &Node) -> usize {
    usize::from(n.is_gather()) + n.children().iter().map(|c| count_gathers(c)).sum::<usize>()
}

fn table_from_raw(ctx: &Ctx, t: &Spanned<RawTable>) -> Result<Table> {
    let r = t.get_ref();
    let name = r.name.get_ref().clone();
    if name.is_empty() {
        return Err(ctx.err(Some(r.name.span()), "table name must not be empty"));
    }
    let mut columns = vec![];
    for c in &r.columns {
        let rc = c.get_ref();
        let w = match &rc.width {
            Some(w) => Some(positive(ctx, w, &format!("table {name}: column {}: width", rc.name))?),
            None => None,
        };
        let what = format!("table {name}: column {}: null_frac", rc.name);
        let nf = super::plan::fraction(ctx, &rc.null_frac, &what, 0.0)?;
        if rc.name.is_empty() || columns.iter().any(|x: &crate::model::schema::Column| x.name == rc.name) {
            return Err(ctx.err(Some(c.span()), format!("table {name}: column names must be unique and not empty")));
        }
        // A column statistic, when given, must lie in its range: else one message at its place.
        let stat = |v: &Option<Spanned<f64>>, ok: fn(f64) -> bool, what: &str| match v {
            Some(v) if ok(*v.get_ref()) => Ok(Some(*v.get_ref())),
            Some(v) => {
                Err(ctx.err(Some(v.span()), format!("table {name}: column {}: {what}, got {}", rc.name, v.get_ref())))
            }
            None => Ok(None),
        };
        let correlation = stat(&rc.correlation, |v| (-1.0..=1.0).contains(&v), "correlation must be between -1 and 1")?;
        let n_distinct = stat(
            &rc.n_distinct,
            |v| v > 0.0 || (-1.0..0.0).contains(&v),
            "n_distinct must be a count above 0 or minus a fraction of the rows (-1 to below 0)",
        )?;
        columns.push(
            crate::model::schema::Column::new(&rc.name, &rc.type_name, w, nf)
                .with_correlation(correlation)
                .with_n_distinct(n_distinct),
        );
    }
    let width = match &r.width {
        Some(w) => positive(ctx, w, &format!("table {name}: width"))?,
        None if !columns.is_empty() => crate::model::schema::row_width(&columns).max(1.0),
        None => 32.0,
    };
    let pages_given = match (&r.pages, &r.size) {
        (Some(_), Some(s)) => {
            return Err(ctx.err(Some(s.span()), format!("table {name}: give pages or size, not both")));
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
                return Err(ctx.err(Some(t.span()), format!("table {name}: give rows (and optionally pages or size)")))
            }
        },
    };
    let pages = pages_given.unwrap_or_else(|| heap_pages(rows, width));
    let parallel_workers = match &r.parallel_workers {
        Some(v) if !(0..=1024).contains(v.get_ref()) => {
            return Err(ctx.err(Some(v.span()), format!("table {name}: parallel_workers must be between 0 and 1024")));
        }
        Some(v) => Some(*v.get_ref() as u32),
        None => None,
    };
    let index_pages = match &r.index_pages {
        Some(v) => Some(positive(ctx, v, &format!("table {name}: index_pages"))?.ceil()),
        None => None,
    };
    let in_shared_buffers = match &r.in_shared_buffers {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            return Err(ctx.err(Some(v.span()), format!("table {name}: in_shared_buffers must be between 0 and 1")));
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let buffers_in_order = match &r.buffers_in_order {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            return Err(ctx.err(Some(v.span()), format!("table {name}: buffers_in_order must be between 0 and 1")));
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let buffer_windows = match &r.buffer_windows {
        Some(v) => {
            let w = v.get_ref();
            if w.len() != 8 || w.iter().any(|n| !n.is_finite() || *n < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                return Err(ctx.err(
                    Some(v.span()),
                    format!("table {name}: buffer_windows must be 8 numbers of windows, none negative, not all 0 (windows holding 1, 2, ..., 8 chunks)"),
                ));
            }
            let mut a = [0.0; 8];
            a.copy_from_slice(w);
            Some(a)
        }
        None => None,
    };
    let row_length_sd = match &r.row_length_sd {
        Some(v) => Some(non_negative(ctx, v, &format!("table {name}: row_length_sd"))?),
        None => None,
    };
    let row_stride_changes = match &r.row_stride_changes {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            return Err(ctx.err(Some(v.span()), format!("table {name}: row_stride_changes must be between 0 and 1")));
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let index = r.index.clone();
    Ok(Table {
        name,
        rows,
        width,
        pages,
        parallel_workers,
        index_pages,
        index,
        temporary: r.temporary,
        columns,
        in_shared_buffers,
        row_length_sd,
        row_stride_changes,
        buffers_in_order,
        buffer_windows,
    })
}
