//! What shared buffers hold of each table, read with the `pg_buffercache` extension: the share
//! of its pages that are there, and in what order they lie. A scan walks its table in block
//! order; when consecutive blocks sit in consecutive buffers it reads shared memory as one
//! ascending stream, which the processor prefetches. Blocks read into buffers in another
//! order (parallel workers interleaving their chunks, the bulk-read ring leaving its last
//! buffers behind scan after scan) scatter the table across shared memory, and the same scan
//! runs up to a third slower.
//!
//! Also [`scatter_into_buffers`]: puts a table's blocks into shared buffers in a random order
//! (the calibration's probe of that cost), with `pg_prewarm`.

use super::PgError;
use postgres::Client;
use std::collections::BTreeMap;

/// One table's pages in shared buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BufferState {
    /// The share of its pages in shared buffers (0..1).
    pub share: f64,
    /// Of its resident blocks whose next block is resident too, the share whose next block is
    /// in the next buffer (`bufferid + 1`); None when no two consecutive blocks are resident.
    pub in_order: Option<f64>,
    /// The 64 kB windows of shared memory (8 buffers, what a fault maps at once) holding its
    /// resident blocks, by how many of a parallel scan's chunks each holds: entry u - 1 counts
    /// the windows holding blocks of u chunks (1..8). None when none of it is resident.
    pub windows: Option<[f64; 8]>,
}

/// The schema extension `name` is installed in, if it is installed in this database.
pub fn extension_schema(client: &mut Client, name: &str) -> Result<Option<String>, PgError> {
    let sql =
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1";
    let r = client.query_opt(sql, &[&name]).map_err(|e| PgError::query(sql, e))?;
    Ok(r.map(|r| r.get::<_, String>(0)))
}

/// The schema of extension `name`, installing it into `schema` first when it is not installed
/// (a server of one's own, or a schema dropped with everything in it afterwards). None, with
/// a warning on stderr naming `who`, when this role may not install it or the server lacks it.
pub fn ensure_extension(client: &mut Client, name: &str, schema: &str, who: &str) -> Result<Option<String>, PgError> {
    if let Some(s) = extension_schema(client, name)? {
        return Ok(Some(s));
    }
    let sql = format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}", ident(name), ident(schema));
    match client.batch_execute(&sql) {
        Ok(()) => extension_schema(client, name),
        Err(e) => {
            let why = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
            eprintln!("{who}: warning: could not install the {name} extension ({why}): going without it");
            Ok(None)
        }
    }
}

/// `"name"`, quoted as an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The per-relfilenode residency and order of the current database's buffers, as an SQL
/// subquery over the pg_buffercache view in schema `bc` (columns relfilenode, resident,
/// in_order). One pass over the buffers, whatever the number of tables.
fn per_relation_sql(bc: &str) -> String {
    format!(
        "SELECT relfilenode, count(*) AS resident, \
                avg(CASE WHEN nblk = blk + 1 THEN (nbuf = bufferid + 1)::int END)::float8 AS in_order \
         FROM (SELECT relfilenode, relblocknumber AS blk, bufferid, \
                      lead(relblocknumber) OVER w AS nblk, lead(bufferid) OVER w AS nbuf \
               FROM {}.pg_buffercache \
               WHERE relforknumber = 0 AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               WINDOW w AS (PARTITION BY relfilenode ORDER BY relblocknumber)) b \
         GROUP BY relfilenode",
        ident(bc)
    )
}

/// The columns (relname, share, in_order) of the tables `c` (a pg_class alias) joined to
/// [`per_relation_sql`].
fn select_sql(bc: &str, filter: &str) -> String {
    format!(
        "SELECT c.relname::text, \
                coalesce(x.resident, 0)::float8 / greatest(1, pg_relation_size(c.oid) / 8192)::float8, x.in_order \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN ({}) x ON x.relfilenode = pg_relation_filenode(c.oid) \
         WHERE {filter}",
        per_relation_sql(bc)
    )
}

fn state(r: &postgres::Row) -> BufferState {
    BufferState {
        share: r.get::<_, f64>(1).clamp(0.0, 1.0),
        in_order: r.get::<_, Option<f64>>(2).map(|v| v.clamp(0.0, 1.0)),
        windows: None,
    }
}

/// The rows (relname, chunks in a window, windows) of the tables `c` (a pg_class alias) with
/// resident blocks: each window of 8 consecutive buffers, by the number of distinct chunks of a
/// parallel scan its blocks belong to. A chunk is what a participant claims at once at the
/// start of a parallel sequential scan, as `exec::scan::initial_chunk` has it (PostgreSQL 15
/// `table_block_parallelscan_startblock_init`: the next power of two of nblocks / 2048, at
/// least 1, at most 8192 blocks).
fn windows_sql(bc: &str, filter: &str) -> String {
    format!(
        "SELECT c.relname::text, x.u::int4, x.n::float8 \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN (SELECT relfilenode, u, count(*) AS n \
               FROM (SELECT b.relfilenode, (b.bufferid - 1) / 8 AS w, count(DISTINCT b.relblocknumber / k.chunk) AS u \
                     FROM {}.pg_buffercache b \
                     JOIN (SELECT pg_relation_filenode(oid) AS relfilenode, \
                                  least(8192, power(2, ceil(log(2, greatest(1, pg_relation_size(oid) / 8192 / 2048)::numeric)))::int8) AS chunk \
                           FROM pg_class WHERE relkind = 'r') k ON k.relfilenode = b.relfilenode \
                     WHERE b.relforknumber = 0 AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     GROUP BY b.relfilenode, w) y \
               GROUP BY relfilenode, u) x ON x.relfilenode = pg_relation_filenode(c.oid) \
         WHERE {filter}",
        ident(bc)
    )
}

/// Adds a row of [`windows_sql`] (relname, chunks, windows) to its table's
/// [`BufferState::windows`], given that table's state.
fn add_window(st: Option<&mut BufferState>, r: &postgres::Row) {
    let u = r.get::<_, i32>(1);
    if let (Some(st), 1..=8) = (st, u) {
        st.windows.get_or_insert([0.0; 8])[u as usize - 1] += r.get::<_, f64>(2);
    }
}

/// Each ordinary table of `schema` in shared buffers now; None when pg_buffercache is not
/// installed in this database.
pub fn buffer_states(client: &mut Client, schema: &str) -> Result<Option<BTreeMap<String, BufferState>>, PgError> {
    let Some(bc) = extension_schema(client, "pg_buffercache")? else {
        return Ok(None);
    };
    let filter = "n.nspname = $1 AND c.relkind = 'r'";
    let sql = select_sql(&bc, filter);
    let rows = client.query(&sql, &[&schema]).map_err(|e| PgError::query(&sql, e))?;
    let mut out: BTreeMap<String, BufferState> = rows.iter().map(|r| (r.get::<_, String>(0), state(r))).collect();
    let sql = windows_sql(&bc, filter);
    let rows = client.query(&sql, &[&schema]).map_err(|e| PgError::query(&sql, e))?;
    for r in &rows {
        add_window(out.get_mut(&r.get::<_, String>(0)), r);
    }
    Ok(Some(out))
}

/// Relation `rel` (a name `to_regclass` takes) in shared buffers now; None when
/// pg_buffercache is not installed or there is no such relation.
pub fn buffer_state(client: &mut Client, rel: &str) -> Result<Option<BufferState>, PgError> {
    let Some(bc) = extension_schema(client, "pg_buffercache")? else {
        return Ok(None);
    };
    let filter = "c.oid = to_regclass($1)";
    let sql = select_sql(&bc, filter);
    let r = client.query_opt(&sql, &[&rel]).map_err(|e| PgError::query(&sql, e))?;
    let Some(mut st) = r.as_ref().map(state) else { return Ok(None) };
    let sql = windows_sql(&bc, filter);
    let rows = client.query(&sql, &[&rel]).map_err(|e| PgError::query(&sql, e))?;
    for r in &rows {
        add_window(Some(&mut st), r);
    }
    Ok(Some(st))
}

/// Puts every block of table `rel` (a qualified name) into shared buffers in a random order
/// that is the same at every run: `VACUUM FULL` writes the table anew without passing through
/// shared buffers (and drops the old file's buffers), `pg_prewarm` (installed in schema
/// `prewarm`) then reads its blocks one by one in a hashed order, each into the next free
/// buffer, and a plain `VACUUM` (every block now a hit) sets the visibility map again.
pub fn scatter_into_buffers(client: &mut Client, rel: &str, prewarm: &str) -> Result<(), PgError> {
    // One statement each: VACUUM cannot run in the implicit transaction of a multi-statement
    // query.
    let sqls = [
        format!("VACUUM FULL {rel}"),
        format!(
            "SELECT count({p}.pg_prewarm('{rel}'::regclass, 'buffer', 'main', b, b)) \
               FROM (SELECT b FROM generate_series(0, pg_relation_size('{rel}'::regclass) / 8192 - 1) b \
                     ORDER BY hashint8(b), b) s",
            p = ident(prewarm)
        ),
        format!("VACUUM {rel}"),
    ];
    for sql in &sqls {
        client.batch_execute(sql).map_err(|e| PgError::query(sql, e))?;
    }
    Ok(())
}
