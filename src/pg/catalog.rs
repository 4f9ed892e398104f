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
}

/// Row counts and pages of the ordinary tables of `schema` (and of their largest index), as
/// the catalog has them after ANALYZE, with `parallel_workers` from their reloptions.
pub fn catalog_stats(client: &mut Client, schema: &str) -> Result<BTreeMap<String, TableStats>, PgError> {
    let sql = "SELECT c.relname, c.reltuples::float8, c.relpages::float8, \
               (SELECT max(i.relpages)::float8 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), \
               (SELECT substring(o FROM 'parallel_workers=([0-9]+)')::int4 FROM unnest(c.reloptions) o WHERE o LIKE 'parallel_workers=%') \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'";
    let rows = client.query(sql, &[&schema]).map_err(|e| PgError::query(sql, e))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let name: String = r.get(0);
        let columns = table_columns(client, Some(schema), &name)?;
        let pw: Option<i32> = r.get(4);
        out.insert(
            name,
            TableStats {
                rows: Some(r.get::<_, f64>(1).max(0.0)),
                pages: Some(r.get::<_, f64>(2).max(1.0)),
                width: None,
                parallel_workers: pw.map(|p| p.max(0) as u32),
                index_pages: r.get::<_, Option<f64>>(3),
                columns,
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
               s.avg_width::float8, s.null_frac::float8 \
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
        out.push(Column::new(&name, &type_name, width.filter(|w| *w > 0.0), null_frac.unwrap_or(0.0)));
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
    Ok(Some(TableStats {
        // reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+).
        rows: (rows >= 0.0).then_some(rows),
        pages: Some(r.get::<_, f64>(1).max(1.0)),
        width: None,
        parallel_workers: pw.map(|p| p.max(0) as u32),
        index_pages: r.get::<_, Option<f64>>(2),
        columns: table_columns(client, schema, table)?,
    }))
}
