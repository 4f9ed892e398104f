//! What the catalog says about tables: row and page counts after ANALYZE, index sizes,
//! reloptions. Read over a live connection.

use super::PgError;
use crate::model::schema::Column;
use postgres::Client;
use std::collections::BTreeMap;

/// Catalog facts about a table the caller knows (e.g. `pg_class.reltuples`/`relpages`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableStats {
    pub rows: Option<f64>,
    pub pages: Option<f64>,
    pub width: Option<f64>,
    pub parallel_workers: Option<u32>,
    /// Pages of the btree index an index scan of this table uses.
    pub index_pages: Option<f64>,
    /// Columns in attnum order (dropped ones as type "dropped"); empty: unknown.
    pub columns: Vec<Column>,
    /// The share of its pages in shared buffers when the stats were read (pg_buffercache).
    pub in_shared_buffers: Option<f64>,
    /// The standard deviation of its stored row lengths in bytes, over its first rows.
    pub row_length_sd: Option<f64>,
    /// Of those rows, the share whose length aligned to 8 bytes differs from the row's before.
    pub row_stride_changes: Option<f64>,
    /// Of its pages in shared buffers, the share in block order (pg_buffercache; see
    /// [`super::buffers::BufferState::in_order`]).
    pub buffers_in_order: Option<f64>,
    /// The windows of 8 buffers holding its resident blocks, by the scan chunks each holds
    /// ([`super::buffers::BufferState::windows`]).
    pub buffer_windows: Option<[f64; 8]>,
}

/// Row counts and pages of the ordinary tables of `schema` (and of their largest index), as
/// the catalog has them after ANALYZE, with `parallel_workers` from their reloptions.
pub fn catalog_stats(client: &mut Client, schema: &str) -> Result<BTreeMap<String, TableStats>, PgError> {
    let sql = "SELECT c.relname, c.reltuples::float8, c.relpages::float8, \
               (SELECT max(i.relpages)::float8 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), \
               (SELECT substring(o FROM 'parallel_workers=([0-9]+)')::int4 FROM unnest(c.reloptions) o WHERE o LIKE 'parallel_workers=%') \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'";
    let rows = client.query(sql, &[&schema]).map_err(|e| PgError::query(sql, e))?;
    // The order of what is in shared buffers, where pg_buffercache tells; the share in
    // buffers is left to the caller, who reads it when the server is in the state it times.
    let states = super::buffers::buffer_states(client, schema)?.unwrap_or_default();
    let mut out = BTreeMap::new();
    for r in rows {
        let name: String = r.get(0);
        let columns = table_columns(client, Some(schema), &name)?;
        let (row_length_sd, row_stride_changes) = row_lengths(client, &qualified(Some(schema), &name))?;
        let pw: Option<i32> = r.get(4);
        let buffers_in_order = states.get(&name).and_then(|b| b.in_order);
        let buffer_windows = states.get(&name).and_then(|b| b.windows);
        out.insert(
            name,
            TableStats {
                rows: Some(r.get::<_, f64>(1).max(0.0)),
                pages: Some(r.get::<_, f64>(2).max(1.0)),
                width: None,
                parallel_workers: pw.map(|p| p.max(0) as u32),
                index_pages: r.get::<_, Option<f64>>(3),
                columns,
                in_shared_buffers: None,
                buffers_in_order,
                buffer_windows,
                row_length_sd,
                row_stride_changes,
            },
        );
    }
    Ok(out)
}

/// `"schema"."table"` (or `"table"`), quoted for `to_regclass`.
fn qualified(schema: Option<&str>, table: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    match schema {
        Some(s) => format!("{}.{}", q(s), q(table)),
        None => q(table),
    }
}

/// The columns of a table as `pg_attribute` and `pg_stats` have them, in attnum order;
/// dropped columns keep their place with type "dropped" (their attnum still counts when a
/// row is deformed).
pub fn table_columns(client: &mut Client, schema: Option<&str>, table: &str) -> Result<Vec<Column>, PgError> {
    let sql = "SELECT a.attname::text, a.attisdropped, format_type(a.atttypid, a.atttypmod), \
               s.avg_width::float8, s.null_frac::float8, s.correlation::float8, s.n_distinct::float8 \
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname \
               WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 ORDER BY a.attnum";
    let rel = qualified(schema, table);
    let rows = client.query(sql, &[&rel]).map_err(|e| PgError::query(sql, e))?;
    let mut out = vec![];
    for r in rows {
        let name: String = r.get(0);
        let dropped: bool = r.get(1);
        let type_name: String = if dropped { "dropped".into() } else { r.get(2) };
        let width: Option<f64> = r.get(3);
        let null_frac: Option<f64> = r.get(4);
        let correlation: Option<f64> = r.get(5);
        let n_distinct: Option<f64> = r.get(6);
        out.push(
            Column::new(&name, &type_name, width.filter(|w| *w > 0.0), null_frac.unwrap_or(0.0))
                .with_correlation(correlation)
                .with_n_distinct(n_distinct),
        );
    }
    Ok(out)
}

/// Everything the catalog says about one table: rows and pages (`pg_class`), the largest
/// index's pages, `parallel_workers`, and its columns. `None` when there is no such table.
pub fn relation_stats(client: &mut Client, schema: Option<&str>, table: &str) -> Result<Option<TableStats>, PgError> {
    let sql = "SELECT c.reltuples::float8, c.relpages::float8, \
               (SELECT max(i.relpages)::float8 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), \
               (SELECT substring(o FROM 'parallel_workers=([0-9]+)')::int4 FROM unnest(c.reloptions) o WHERE o LIKE 'parallel_workers=%') \
               FROM pg_class c WHERE c.oid = to_regclass($1)";
    let rel = qualified(schema, table);
    let Some(r) = client.query_opt(sql, &[&rel]).map_err(|e| PgError::query(sql, e))? else {
        return Ok(None);
    };
    let rows: f64 = r.get(0);
    let pw: Option<i32> = r.get(3);
    let buffers = super::buffers::buffer_state(client, &rel)?;
    let (row_length_sd, row_stride_changes) = row_lengths(client, &rel)?;
    Ok(Some(TableStats {
        // reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+).
        rows: (rows >= 0.0).then_some(rows),
        pages: Some(r.get::<_, f64>(1).max(1.0)),
        width: None,
        parallel_workers: pw.map(|p| p.max(0) as u32),
        index_pages: r.get::<_, Option<f64>>(2),
        columns: table_columns(client, schema, table)?,
        in_shared_buffers: buffers.map(|b| b.share),
        buffers_in_order: buffers.and_then(|b| b.in_order),
        buffer_windows: buffers.and_then(|b| b.windows),
        row_length_sd,
        row_stride_changes,
    }))
}

/// Over the first 2000 rows of relation `rel` (a qualified name) in block order: the standard
/// deviation of their stored lengths in bytes, and the share of them whose length aligned to
/// 8 bytes (the stride to the next row start on the page: tuples are MAXALIGNed) differs from
/// the row's before: where consecutive rows start at irregular offsets on their pages
/// (`row_miss_ns`). None for an empty table (the share also for a one-row table).
fn row_lengths(client: &mut Client, rel: &str) -> Result<(Option<f64>, Option<f64>), PgError> {
    let sql = format!(
        "SELECT stddev_pop(len)::float8, avg(((len + 7) / 8 <> (prev + 7) / 8)::int)::float8 FROM \
         (SELECT len, lag(len) OVER (ORDER BY c) AS prev FROM \
         (SELECT t.ctid AS c, pg_column_size(t.*) AS len FROM {rel} t LIMIT 2000) s) d"
    );
    let row = client.query_one(&sql, &[]).map_err(|e| PgError::query(&sql, e))?;
    Ok((row.get::<_, Option<f64>>(0), row.get::<_, Option<f64>>(1)))
}

/// The ordinary tables of `schema` whose visibility map marks fewer than 99% of their pages
/// all-visible (`pg_class.relallvisible` against `relpages`, as VACUUM left them), with that
/// share. A sequential scan checks every row's visibility on a page that is not all-visible,
/// a cost the model does not charge; loads commit synchronously before their VACUUM so that
/// it can set the bits (with `synchronous_commit = off` it cannot until the commit record is
/// flushed).
pub fn not_all_visible(client: &mut Client, schema: &str) -> Result<Vec<(String, f64)>, PgError> {
    let sql = "SELECT c.relname, c.relallvisible::float8 / greatest(c.relpages, 1) \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relpages > 0 \
               AND c.relallvisible < 0.99 * c.relpages ORDER BY c.relname";
    let rows = client.query(sql, &[&schema]).map_err(|e| PgError::query(sql, e))?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, f64>(1))).collect())
}

/// Warns on stderr (as `who`) about tables VACUUM did not mark all-visible.
pub fn warn_not_all_visible(client: &mut Client, schema: &str, who: &str) -> Result<(), PgError> {
    for (t, share) in not_all_visible(client, schema)? {
        eprintln!(
            "{who}: warning: table {t} has {:.0}% of its pages all-visible after VACUUM: its scans check each row's visibility",
            100.0 * share
        );
    }
    Ok(())
}
