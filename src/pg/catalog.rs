//! What the catalog says about tables: row and page counts after ANALYZE, index sizes,
//! reloptions. Read over a live connection.

use super::PgError;
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
        let pw: Option<i32> = r.get(4);
        out.insert(
            name,
            TableStats {
                rows: Some(r.get::<_, f64>(1).max(0.0)),
                pages: Some(r.get::<_, f64>(2).max(1.0)),
                width: None,
                parallel_workers: pw.map(|p| p.max(0) as u32),
                index_pages: r.get::<_, Option<f64>>(3),
            },
        );
    }
    Ok(out)
}
