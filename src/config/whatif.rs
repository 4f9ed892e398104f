//! What-ifs, typed: `--set GUC=VALUE`, `--table NAME.KEY=VALUE`, `--hw KEY=VALUE`, `--measure`.
//! Parsed once (the table keys and their values are checked here and nowhere else) and applied
//! to the loaded model in memory.

use crate::error::{Error, Result};
use crate::model::units::parse_bytes;
use crate::model::{heap_pages, heap_tuples_per_page, OutputMode, Scenario, BLCKSZ};

/// What a `--table NAME.KEY=VALUE` what-if changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKey {
    /// Row count; pages follow at the table's density.
    Rows,
    /// Heap pages; rows follow at the table's density.
    Pages,
    /// Heap size in bytes (`5GB`), as pages.
    Size,
    /// Data bytes per row; pages follow from the rows.
    Width,
    /// The table's `parallel_workers` storage option.
    ParallelWorkers,
    /// Pages of the table's index.
    IndexPages,
    /// The share of its pages in shared buffers (0..1).
    InSharedBuffers,
    /// Of those, the share lying in block order (0..1).
    BuffersInOrder,
}

impl TableKey {
    pub const ALL: [TableKey; 8] = [
        TableKey::Rows,
        TableKey::Pages,
        TableKey::Size,
        TableKey::Width,
        TableKey::ParallelWorkers,
        TableKey::IndexPages,
        TableKey::InSharedBuffers,
        TableKey::BuffersInOrder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKey::Rows => "rows",
            TableKey::Pages => "pages",
            TableKey::Size => "size",
            TableKey::Width => "width",
            TableKey::ParallelWorkers => "parallel_workers",
            TableKey::IndexPages => "index_pages",
            TableKey::InSharedBuffers => "in_shared_buffers",
            TableKey::BuffersInOrder => "buffers_in_order",
        }
    }

    pub fn parse(key: &str) -> Option<TableKey> {
        TableKey::ALL.into_iter().find(|k| k.name() == key)
    }

    /// The value of this key as a number: bytes for `size`, else the number itself. Checks
    /// the range each key allows.
    pub fn value(self, v: &str) -> std::result::Result<f64, String> {
        let x = match self {
            TableKey::Size => parse_bytes(v)?,
            _ => v.trim().replace('_', "").parse().map_err(|_| format!("expected a number, got \"{v}\""))?,
        };
        if !x.is_finite() || x < 0.0 {
            return Err("must be zero or positive".into());
        }
        match self {
            TableKey::Pages if x.ceil() <= 0.0 => Err("must be positive".into()),
            TableKey::Size if (x / BLCKSZ).ceil() <= 0.0 => Err("must be positive".into()),
            TableKey::Width if x <= 0.0 => Err("must be positive".into()),
            TableKey::ParallelWorkers if x > 1024.0 || x.fract() != 0.0 => {
                Err("must be a whole number between 0 and 1024".into())
            }
            TableKey::InSharedBuffers | TableKey::BuffersInOrder if x > 1.0 => Err("must be between 0 and 1".into()),
            _ => Ok(x),
        }
    }
}

impl std::fmt::Display for TableKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What-if changes to one table: `--table NAME.KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOverride {
    pub table: String,
    pub key: TableKey,
    /// The value as written.
    pub value: String,
    /// The value as a number (bytes for `size`), checked for the key's range.
    pub number: f64,
}

impl TableOverride {
    pub fn new(table: &str, key: TableKey, value: &str) -> std::result::Result<Self, String> {
        let number = key.value(value).map_err(|e| format!("--table {table}.{key}={value}: {e}"))?;
        Ok(TableOverride { table: table.to_string(), key, value: value.to_string(), number })
    }
}

/// The keys `--table` accepts, for messages.
pub fn table_keys_text() -> String {
    let names: Vec<&str> = TableKey::ALL.iter().map(|k| k.name()).collect();
    format!("{} or {}", names[..names.len() - 1].join(", "), names[names.len() - 1])
}

impl std::str::FromStr for TableOverride {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let usage = || format!("--table expects NAME.KEY=VALUE, got \"{s}\"");
        let (lhs, value) = s.split_once('=').ok_or_else(usage)?;
        let (table, key) = lhs.rsplit_once('.').ok_or_else(usage)?;
        if table.is_empty() || key.is_empty() {
            return Err(usage());
        }
        let key = TableKey::parse(key)
            .ok_or_else(|| format!("--table {table}.{key}: unknown key (use {})", table_keys_text()))?;
        TableOverride::new(table, key, value)
    }
}

/// Parse `KEY=VALUE` from the command line.
pub fn parse_kv(s: &str, flag: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{flag} expects KEY=VALUE, got \"{s}\""))?;
    if k.trim().is_empty() {
        return Err(format!("{flag} expects KEY=VALUE, got \"{s}\""));
    }
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// The what-ifs of one question, as typed values: `--hw`, `--set`, `--table` and `--measure`.
#[derive(Debug, Clone, Default)]
pub struct WhatIf {
    pub hw: Vec<(String, String)>,
    pub set: Vec<(String, String)>,
    pub table: Vec<TableOverride>,
    pub measure: Option<OutputMode>,
}

/// Apply `--set` settings (in order: later wins), then `--table` what-ifs by meaning, not
/// order: per table the last value of each key counts; explicit `pages` (or `size`) beat pages
/// derived from `rows` or `width`; rows, pages and width that cannot fit in 8 kB pages are an
/// error naming the flags. SubPlans over a changed table keep their selectivity: their rows
/// follow the table's.
pub fn apply_scenario_whatifs(sc: &mut Scenario, sets: &[(String, String)], tables: &[TableOverride]) -> Result<()> {
    for (k, v) in sets {
        sc.settings.set(k, v).map_err(|e| Error::input(format!("--set {k}={v}: {e}")))?;
        sc.setting_overrides.push((k.clone(), v.clone()));
    }
    let mut names: Vec<&str> = vec![];
    for o in tables {
        if !names.contains(&o.table.as_str()) {
            names.push(&o.table);
        }
    }
    for name in names {
        let ovs: Vec<&TableOverride> = tables.iter().filter(|o| o.table == name).collect();
        apply_table_whatifs(sc, &ovs)?;
    }
    Ok(())
}

fn flag(o: &TableOverride) -> String {
    format!("--table {}.{}={}", o.table, o.key, o.value)
}

/// The what-ifs of one table (`ovs`: all of them, in the order given).
fn apply_table_whatifs(sc: &mut Scenario, ovs: &[&TableOverride]) -> Result<()> {
    let first = ovs[0];
    let idx = sc.table_index(&first.table).ok_or_else(|| {
        let names: Vec<&str> = sc.tables.iter().map(|t| t.name.as_str()).collect();
        Error::input(format!(
            "--table {}.{}: no table \"{}\" in the scenario (tables: {})",
            first.table,
            first.key,
            first.table,
            names.join(", ")
        ))
    })?;
    let last = |keys: &[TableKey]| ovs.iter().rev().find(|o| keys.contains(&o.key)).copied();
    let rows = last(&[TableKey::Rows]);
    let pages = last(&[TableKey::Pages, TableKey::Size]);
    let width = last(&[TableKey::Width]);
    let t = &mut sc.tables[idx];
    let old_rows = t.rows;
    let old_pages = t.pages;
    if let Some(w) = width {
        t.width = w.number;
    }
    let pages_of = |o: &TableOverride| {
        if o.key == TableKey::Size {
            (o.number / BLCKSZ).ceil()
        } else {
            o.number.ceil()
        }
    };
    match (rows, pages) {
        (Some(r), Some(p)) => {
            t.rows = r.number;
            t.pages = pages_of(p);
        }
        (Some(r), None) => {
            // Pages follow rows: at the new width, else at the table's density.
            t.pages = if width.is_some() || t.rows <= 0.0 {
                heap_pages(r.number, t.width)
            } else {
                (t.pages * r.number / t.rows).ceil()
            };
            t.rows = r.number;
        }
        (None, Some(p)) => {
            // Rows follow pages at the table's density.
            let pages = pages_of(p);
            t.rows = if t.pages > 0.0 { (t.rows * pages / t.pages).round() } else { t.rows };
            t.pages = pages;
        }
        (None, None) if width.is_some() => t.pages = heap_pages(t.rows, t.width),
        (None, None) => {}
    }
    // Explicit rows (or width) and pages must fit together; pages alone keep the file's density.
    if let (Some(p), true) = (pages, rows.is_some() || width.is_some()) {
        let need = heap_pages(t.rows, t.width);
        if t.pages < need {
            let mut flags: Vec<String> = [rows, Some(p), width].into_iter().flatten().map(flag).collect();
            let last_flag = flags.pop().unwrap_or_default();
            let named = if flags.is_empty() { last_flag } else { format!("{} and {last_flag}", flags.join(", ")) };
            return Err(Error::input(format!(
                "{named}: {} rows of {} bytes need at least {need} pages of 8 kB ({} rows fit in a page), not {}",
                t.rows,
                t.width,
                heap_tuples_per_page(t.width),
                t.pages
            )));
        }
    }
    if let Some(o) = last(&[TableKey::ParallelWorkers]) {
        t.parallel_workers = Some(o.number as u32);
    }
    if let Some(o) = last(&[TableKey::IndexPages]) {
        t.index_pages = Some(o.number.ceil());
    }
    if let Some(o) = last(&[TableKey::InSharedBuffers]) {
        t.in_shared_buffers = Some(o.number);
    }
    if let Some(o) = last(&[TableKey::BuffersInOrder]) {
        t.buffers_in_order = Some(o.number);
    }
    // Pg_buffercache's windows described the table at its measured size: a table of another
    // size is taken to lie as densely (the same windows per block).
    if let (Some(w), true) = (t.buffer_windows.as_mut(), old_pages > 0.0 && t.pages != old_pages) {
        let scale = t.pages / old_pages;
        w.iter_mut().for_each(|n| *n *= scale);
    }
    let new_rows = t.rows;
    if new_rows != old_rows {
        sc.plan.for_each_subplan_mut(&mut |sp| {
            if sp.table == idx {
                sp.rows = if old_rows > 0.0 { sp.rows * new_rows / old_rows } else { new_rows };
            }
        });
    }
    Ok(())
}
