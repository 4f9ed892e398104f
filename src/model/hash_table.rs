//! In-memory hash tables as PostgreSQL 15 lays them out, and what a random access into one
//! costs once it outgrows what a core keeps close.
//!
//! Measured on a 2-vCPU Xeon VM (PostgreSQL 15.18, serial, EXPLAIN ANALYZE TIMING OFF,
//! medians of 7, int4 keys, the scans' own time taken out): a hashed SubPlan's insert costs
//! 98-103 ns per row up to 50k rows, then 158, 230, 218, 305 and 334 ns at 100k, 200k, 400k,
//! 800k and 1.6M rows; a hash join's build plus probe per row, 115-136 ns up to 50k rows, then
//! 171, 249, 336, 469 and 513 ns. An insert writes at random into the bucket (entry) array
//! only (the tuples are written in order), a lookup reads its bucket and then its tuple, two
//! random accesses, each into its own part of the table (the tuple's is no longer random when
//! the lookups come in the order the table was filled in: [`UnitCosts::hash_lookup_ordered`]).
//! Each random access grows by about 40-60 ns for every doubling of what it reaches into past
//! about 1-2 MB (the core's L2): each doubling moves more of them out to the next level
//! (shared cache, TLB misses and page walks, DRAM). pqsim prices one random access as
//! `hash_miss_ns` per doubling beyond `hash_cache_bytes`, up to `hash_far_bytes` (past it
//! every access misses everything: [`MAX_DOUBLINGS`] past the cache where a profile does
//! not say). Measured on a 2-vCPU Xeon VM with a 2 MB L2 (2026-12-06, PostgreSQL 15.18,
//! serial, hashed SubPlan builds of 100k-2M int8 keys, medians of 5, the subquery's own scan
//! taken out): 160, 192 and 169 ns an insert with 3, 6 and 13 MB of entries, then 259, 277
//! and 283 ns with 25, 50 and 100 MB: the price stops growing about three and a half
//! doublings past the L2, where the log form without a limit priced 360 ns at 100 MB.

use super::expr::{split_and, strip_outer_parens, Scope};
use super::schema::Column;
use super::{maxalign, Node, Table, UnitCosts};

/// `hash_cache_bytes` when a profile does not say: 1 MB, a common L2 per core.
pub const DEFAULT_CACHE_BYTES: f64 = 1024.0 * 1024.0;

/// Doublings past `hash_cache_bytes` beyond which an access costs no more (every access
/// is then a miss to memory with a page walk), where a profile does not say
/// (`hash_far_bytes`).
pub const MAX_DOUBLINGS: f64 = 6.0;

/// `hash_far_bytes` where a profile does not say: [`MAX_DOUBLINGS`] past `cache_bytes`.
pub fn default_far_bytes(cache_bytes: f64) -> f64 {
    cache_bytes * 2f64.powf(MAX_DOUBLINGS)
}

/// A MinimalTuple's header before its data (htup_details.h: MINIMAL_TUPLE_DATA_OFFSET with
/// the MAXALIGNed t_hoff): 16 bytes.
const MINIMAL_TUPLE_HEADER: f64 = 16.0;

fn next_pow2(n: f64) -> f64 {
    if n <= 1.0 {
        1.0
    } else {
        2f64.powf(n.log2().ceil())
    }
}

/// An in-memory hash table's layout: what an insert and what a lookup touch at random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashTable {
    /// The bucket (or entry) array: where an insert writes.
    pub buckets_bytes: f64,
    /// Everything: a lookup reads its bucket, then the tuples it chains to.
    pub bytes: f64,
    /// The rows (distinct keys) it holds.
    pub rows: f64,
}

/// A cache line: the least a random access brings in.
const CACHE_LINE: f64 = 64.0;

impl HashTable {
    /// What lookups for at most `keys` distinct keys reach of the table (the outer key's
    /// distinct values, pg_stats n_distinct): a bucket and a tuple a key, each at least a
    /// cache line, where they are fewer than the table's rows; all of it when not known. (A
    /// calibration probe's 227k lookups of 50k distinct keys into a 200k-row table priced as
    /// if they reached all of it came out 20-30% slow, and pulled the price of a miss down
    /// with them.)
    pub fn reached_by(self, keys: Option<f64>) -> HashTable {
        let Some(k) = keys.filter(|k| *k > 0.0 && *k < self.rows) else { return self };
        let tuples = self.bytes - self.buckets_bytes;
        let buckets_bytes = self.buckets_bytes.min(k * CACHE_LINE);
        let tuples = tuples.min(k * (tuples / self.rows).max(CACHE_LINE));
        HashTable { buckets_bytes, bytes: buckets_bytes + tuples, rows: k }
    }
}

/// A Hash Join's hash table of `rows` inner rows `width` bytes wide (nodeHash.c): each tuple
/// in dense 32 kB chunks (written in order) behind a HashJoinTuple header (HJTUPLE_OVERHEAD,
/// 16 bytes), and one 8-byte bucket pointer per bucket, as many buckets as rows rounded up to
/// a power of two (NTUP_PER_BUCKET = 1).
pub fn join_table(rows: f64, width: f64) -> HashTable {
    if rows <= 0.0 {
        return HashTable { buckets_bytes: 0.0, bytes: 0.0, rows: 0.0 };
    }
    let buckets_bytes = 8.0 * next_pow2(rows);
    HashTable { buckets_bytes, bytes: rows * (16.0 + maxalign(MINIMAL_TUPLE_HEADER + width)) + buckets_bytes, rows }
}

/// A TupleHashTable of `rows` distinct rows `width` bytes wide (execGrouping.c, a hashed
/// SubPlan's or a HashAggregate's): simplehash entries of 24 bytes, as many as rows / 0.9
/// rounded up to a power of two, each pointing at its MinimalTuple palloc'd in the table's
/// context (AllocSet rounds a request up to a power of two, behind a 16-byte chunk header).
pub fn tuple_table(rows: f64, width: f64) -> HashTable {
    if rows <= 0.0 {
        return HashTable { buckets_bytes: 0.0, bytes: 0.0, rows: 0.0 };
    }
    let buckets_bytes = 24.0 * next_pow2(rows / 0.9);
    HashTable { buckets_bytes, bytes: rows * (16.0 + next_pow2(MINIMAL_TUPLE_HEADER + width)) + buckets_bytes, rows }
}

impl Node {
    /// A grouped Aggregate's hash table when PostgreSQL hashes its groups
    /// ([`super::AggStrategy::Hashed`]): the groups' TupleHashTable holds each group's keys
    /// and transition states, about the Aggregate's output row: [`tuple_table`] of `groups`
    /// rows `width` wide.
    pub fn group_hash_table(&self) -> Option<HashTable> {
        match self {
            Node::Aggregate { groups, width, .. } if self.agg_strategy() == Some(super::AggStrategy::Hashed) => {
                Some(tuple_table(*groups, *width))
            }
            _ => None,
        }
    }
}

impl super::SubPlan {
    /// A hashed SubPlan's TupleHashTable (its subquery's rows, as distinct keys).
    pub fn hash_table(&self) -> HashTable {
        tuple_table(self.rows, self.width)
    }

    /// Storing one of the subquery's rows (ns at cpu_speed 1): an insert into the hash table
    /// when hashed, else a put into the Materialize's tuplestore.
    pub fn store_ns(&self, c: &UnitCosts) -> f64 {
        if self.hashed {
            c.hash_insert(self.hash_table())
        } else {
            c.tuple_ns
        }
    }
}

/// A column's pg_stats correlation at or past which (in absolute value) its values are taken to
/// run in the table's physical order.
pub const ORDERED_CORRELATION: f64 = 0.9;

/// Whether lookups into a hash table follow the order it was filled in: the probing rows
/// arrive in `outer`'s order, the table was filled in `inner`'s, and both columns run in
/// their tables' physical order the same way (pg_stats correlation past
/// [`ORDERED_CORRELATION`], one sign). Serial keys on both sides (an id and the rows that
/// refer to it, inserted in order) are the common case. Unknown correlations: no.
pub fn lookups_in_build_order(outer: Option<&Column>, inner: Option<&Column>) -> bool {
    match (outer.and_then(|c| c.correlation), inner.and_then(|c| c.correlation)) {
        (Some(a), Some(b)) => {
            a.abs() >= ORDERED_CORRELATION && b.abs() >= ORDERED_CORRELATION && a.signum() == b.signum()
        }
        _ => false,
    }
}

/// The table whose rows a subtree streams: its first (outer-most) scan.
pub fn streamed_table(node: &Node) -> Option<usize> {
    match node {
        Node::SeqScan { table, .. } | Node::IndexScan { table, .. } => Some(*table),
        n => n.children().first().and_then(|c| streamed_table(c)),
    }
}

/// A column of `t` by the name the plan's text or the query gives it (`a`, `alias.a`).
fn column<'a>(t: &'a Table, name: &str) -> Option<&'a Column> {
    Scope::new(vec![t]).resolve(name.trim()).map(|(_, _, c)| c)
}

/// The two sides of a hash join's first `a = b`, as written, and the outer and inner tables
/// whose rows it streams; None when the condition or a table cannot be read.
fn join_sides<'a>(
    tables: &'a [Table],
    outer: &Node,
    inner: &Node,
    cond: &str,
) -> Option<(&'a Table, &'a Table, String, String)> {
    let (to, ti) = (tables.get(streamed_table(outer)?)?, tables.get(streamed_table(inner)?)?);
    let first = split_and(cond).into_iter().next()?;
    let (l, r) = strip_outer_parens(first.trim()).split_once(" = ")?;
    Some((to, ti, l.to_string(), r.to_string()))
}

/// Whether a hash join's lookups follow its hash table's build order: the first `a = b` of
/// its condition, one side a column of the outer table, the other of the inner
/// ([`lookups_in_build_order`]).
pub fn join_lookups_in_order(tables: &[Table], outer: &Node, inner: &Node, cond: &str) -> bool {
    join_sides(tables, outer, inner, cond).is_some_and(|(to, ti, l, r)| {
        lookups_in_build_order(column(to, &l), column(ti, &r)) || lookups_in_build_order(column(to, &r), column(ti, &l))
    })
}

/// The distinct keys a hash join's lookups can look for: those of the outer table's column in
/// the first `a = b` of its condition ([`HashTable::reached_by`]); None when not known.
pub fn join_lookup_keys(tables: &[Table], outer: &Node, inner: &Node, cond: &str) -> Option<f64> {
    let (to, _, l, r) = join_sides(tables, outer, inner, cond)?;
    column(to, &l).or_else(|| column(to, &r))?.distinct(to.rows)
}

/// The distinct keys a hashed SubPlan's lookups can look for: its outer key column's in the
/// scanned table `outer`; None when not known.
pub fn subplan_lookup_keys(tables: &[Table], outer: usize, sp: &super::SubPlan) -> Option<f64> {
    let [o, _] = sp.keys.as_ref()?;
    let to = tables.get(outer)?;
    column(to, o)?.distinct(to.rows)
}

/// Whether a hashed SubPlan's lookups follow its hash table's build order: its `keys`, the
/// outer column in the scanned table `outer`, the subquery's in its own table.
pub fn subplan_lookups_in_order(tables: &[Table], outer: usize, sp: &super::SubPlan) -> bool {
    let Some([o, i]) = &sp.keys else { return false };
    let (Some(to), Some(ti)) = (tables.get(outer), tables.get(sp.table)) else { return false };
    lookups_in_build_order(column(to, o), column(ti, i))
}

impl UnitCosts {
    /// Extra ns (at cpu_speed 1) of one random access into `bytes` of hash table.
    pub fn hash_miss(&self, bytes: f64) -> f64 {
        self.doublings_priced(self.hash_miss_ns, bytes)
    }

    /// `per_doubling` for each doubling of `bytes` past `hash_cache_bytes`, up to
    /// `hash_far_bytes`.
    fn doublings_priced(&self, per_doubling: f64, bytes: f64) -> f64 {
        if per_doubling <= 0.0 || self.hash_cache_bytes <= 0.0 || bytes <= self.hash_cache_bytes {
            return 0.0;
        }
        let most = (self.hash_far_bytes / self.hash_cache_bytes).log2().max(0.0);
        per_doubling * (bytes / self.hash_cache_bytes).log2().min(most)
    }

    /// Extra ns (at cpu_speed 1) of one random write into `bytes` of hash table: an insert
    /// ([`Self::hash_miss`] at `hash_insert_miss_ns`).
    pub fn hash_insert_miss(&self, bytes: f64) -> f64 {
        self.doublings_priced(self.hash_insert_miss_ns, bytes)
    }

    /// One row inserted into `t` (ns at cpu_speed 1): a random write into its buckets.
    pub fn hash_insert(&self, t: HashTable) -> f64 {
        self.hash_build_ns + self.hash_insert_miss(t.buckets_bytes)
    }

    /// One row inserted into `t`, a Parallel Hash's shared table when `shared`.
    pub fn hash_insert_into(&self, t: HashTable, shared: bool) -> f64 {
        self.hash_insert(t) + if shared { self.parallel_hash_insert_ns } else { 0.0 }
    }

    /// One lookup in `t` (ns at cpu_speed 1) in no particular order: its bucket at random,
    /// then the tuple there at random, each a random access into its own part of the table.
    pub fn hash_lookup(&self, t: HashTable) -> f64 {
        self.hash_lookup_ordered(t, false)
    }

    /// One lookup in `t`, a Parallel Hash's shared table when `shared`
    /// ([`Self::hash_lookup_ordered`]).
    pub fn hash_lookup_into(&self, t: HashTable, in_order: bool, shared: bool) -> f64 {
        self.hash_lookup_ordered(t, in_order) + if shared { self.parallel_hash_probe_ns } else { 0.0 }
    }

    /// One lookup of a hash join's outer row into its `table`, as the condition and the
    /// tables' statistics say: in build order or not ([`join_lookups_in_order`]), reaching
    /// what the outer side's keys can reach ([`join_lookup_keys`]), into a Parallel Hash's
    /// shared table when `shared`.
    pub fn join_lookup(&self, tables: &[Table], table: HashTable, join: [&Node; 2], cond: &str, shared: bool) -> f64 {
        let [outer, inner] = join;
        let reached = table.reached_by(join_lookup_keys(tables, outer, inner, cond));
        self.hash_lookup_into(reached, join_lookups_in_order(tables, outer, inner, cond), shared)
    }

    /// One input row of a hashed Aggregate finding its group in the groups' table `t`
    /// ([`Node::group_hash_table`]; LookupTupleHashEntry in execGrouping.c, the same kind of
    /// TupleHashTable a hashed SubPlan probes): a lookup in no particular order
    /// (`hash_probe_ns` and the misses by the table's size). Hashing the keys and comparing
    /// them with the entry's found are the keys' own operators, priced with the Aggregate's
    /// grouping keys; `hash_match_ns` (a hash join's row found, its projection with it) is
    /// not a group's. Measured (2026-12-05, 2-vCPU EPYC VM, PostgreSQL 15.18, serial, EXPLAIN
    /// TIMING OFF, lineitem's 240,000 rows in shared buffers): `GROUP BY l_returnflag,
    /// l_linestatus` (hashed, a few groups) with count(*) cost 148 ns a row more than
    /// count(*) alone, where pqsim priced 102 (deforming the two keys and comparing them)
    /// without the lookup; Q1's eight aggregates so grouped cost 178 ns a row more than
    /// ungrouped, pqsim 56; Q1 itself came out 10-14% fast in every sitting of the day.
    pub fn group_lookup(&self, t: HashTable) -> f64 {
        self.hash_lookup(t)
    }

    /// One lookup of a hashed SubPlan's outer row, the scan of `tables[outer]`: as
    /// [`Self::join_lookup`].
    pub fn subplan_lookup(&self, tables: &[Table], outer: usize, sp: &super::SubPlan) -> f64 {
        let reached = sp.hash_table().reached_by(subplan_lookup_keys(tables, outer, sp));
        self.hash_lookup_ordered(reached, subplan_lookups_in_order(tables, outer, sp))
    }

    /// One lookup in `t`, `in_order` when the lookups follow the order `t` was filled in
    /// ([`lookups_in_build_order`]): then the tuples they reach lie one after another in
    /// memory, read as a stream, and only the bucket is a random access, as an insert's is
    /// (a bucket's place is the key's hash, whatever the keys' order). Measured, PostgreSQL
    /// 15.18, serial, EXPLAIN TIMING OFF, the seed NOT IN's 800k-row bigint serial key
    /// hashed (25 MB of entries, 38 MB of tuples) and probed by 600k rows, the build and the
    /// outer scan timed apart and taken out: on a 2-vCPU EPYC VM (2026-12-05, medians of 7
    /// and 9) a lookup cost 200-220 ns in the table's own order (the outer table and the
    /// subquery's both sorted by the key, or both by its hash) and 350-380 ns out of it, an
    /// insert 296 ns, a lookup into a table that stays in the L2 28: the bucket's miss
    /// 170-190 ns, about what an insert's is, and the tuple's 150-170 more, 36-45 ns a
    /// doubling for each. (On a 2-vCPU Xeon VM the key order saved 233-262 ns a lookup,
    /// 600k lookups in 675 against 814 ms: the tuple's miss alone; until then pqsim priced
    /// an ordered lookup no miss at all, and the seed NOT IN and NOT EXISTS came out 25-35%
    /// fast in every sitting on the EPYC VM.)
    pub fn hash_lookup_ordered(&self, t: HashTable, in_order: bool) -> f64 {
        let tuple = if in_order { 0.0 } else { self.hash_miss(t.bytes - t.buckets_bytes) };
        self.hash_probe_ns + self.hash_miss(t.buckets_bytes) + tuple
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sized_as_postgres_lays_them_out() {
        // 100k int4 rows: 40-byte tuples + 131072 buckets of 8 bytes.
        let j = join_table(100_000.0, 4.0);
        assert_eq!(j.buckets_bytes, 8.0 * 131_072.0);
        assert_eq!(j.bytes, 100_000.0 * 40.0 + 8.0 * 131_072.0);
        // 100k int4 rows in a TupleHashTable: 32-byte chunks + 16-byte headers, 131072 entries.
        let t = tuple_table(100_000.0, 4.0);
        assert_eq!(t.bytes, 100_000.0 * 48.0 + 24.0 * 131_072.0);
        assert_eq!(join_table(0.0, 4.0).bytes, 0.0);
    }

    #[test]
    fn lookups_for_fewer_keys_than_the_table_holds_reach_a_line_a_key() {
        // 200k int4 rows: 2 MB of buckets, 8 MB of 40-byte tuples.
        let t = join_table(200_000.0, 4.0);
        assert_eq!(t.reached_by(None), t);
        assert_eq!(t.reached_by(Some(200_000.0)), t, "every key: all of it");
        assert_eq!(t.reached_by(Some(1e9)), t);
        let r = t.reached_by(Some(50_000.0));
        assert_eq!(r.buckets_bytes, 2_097_152.0, "50k lines of buckets: more than there are");
        assert_eq!(r.bytes - r.buckets_bytes, 50_000.0 * 64.0, "a tuple a key, a line each");
        let r = t.reached_by(Some(1_000.0));
        assert_eq!((r.buckets_bytes, r.bytes), (64_000.0, 128_000.0));
        // Wide tuples: a key reaches its tuple's bytes.
        let w = join_table(200_000.0, 200.0);
        let r = w.reached_by(Some(1_000.0));
        assert_eq!(r.bytes - r.buckets_bytes, 1_000.0 * (w.bytes - w.buckets_bytes) / 200_000.0);
    }

    #[test]
    fn an_access_costs_more_per_doubling_past_the_cache_and_stops_growing() {
        let mut c = crate::calibration::fit::zero_costs();
        c.hash_build_ns = 100.0;
        c.hash_probe_ns = 50.0;
        c.hash_miss_ns = 40.0;
        c.hash_insert_miss_ns = 40.0;
        c.hash_cache_bytes = 2e6;
        let t = |buckets_bytes: f64, bytes: f64| HashTable { buckets_bytes, bytes, rows: 1e6 };
        assert_eq!(c.hash_insert(t(1e6, 4e6)), 100.0, "an insert writes its bucket, inside the cache");
        // Buckets 4 MB (one doubling past the cache), tuples 8 MB (two).
        assert!((c.hash_insert(t(4e6, 12e6)) - 140.0).abs() < 1e-9, "an insert: its bucket's miss");
        assert!((c.hash_lookup(t(4e6, 12e6)) - 170.0).abs() < 1e-9, "a lookup: its bucket's miss and its tuple's");
        assert!((c.hash_lookup_ordered(t(4e6, 12e6), true) - 90.0).abs() < 1e-9, "in build order: the bucket's alone");
        assert_eq!(c.hash_lookup_ordered(t(4e6, 12e6), false), c.hash_lookup(t(4e6, 12e6)));
        assert_eq!(c.hash_miss(2e6 * 2f64.powf(MAX_DOUBLINGS)), c.hash_miss(1e12), "flat past the cap");
        // A write has its own price per doubling; a lookup keeps the read's.
        c.hash_insert_miss_ns = 70.0;
        assert!((c.hash_insert(t(4e6, 12e6)) - 170.0).abs() < 1e-9, "an insert: its bucket's miss, as a write");
        assert!((c.hash_lookup(t(4e6, 12e6)) - 170.0).abs() < 1e-9, "a lookup unchanged");
        c.hash_miss_ns = 0.0;
        assert_eq!(c.hash_lookup(t(1e9, 1e9)), 50.0, "a profile without the price: flat as before");
    }

    #[test]
    fn a_grouped_aggregate_hashes_its_groups_unless_its_input_arrives_sorted() {
        let scan = || Box::new(Node::SeqScan { table: 0, parallel: false, filter: None, width: 20.0, output: vec![] });
        let agg = |groups: f64, input: Box<Node>| Node::Aggregate {
            mode: super::super::AggMode::Simple,
            groups,
            aggregates: 8.0,
            width: 236.0,
            input,
            output: vec![],
        };
        let sort = |input: Box<Node>| Box::new(Node::Sort { keys: vec!["k".into()], input });
        assert_eq!(agg(6.0, scan()).group_hash_table(), Some(tuple_table(6.0, 236.0)), "Q1: hashed");
        assert_eq!(agg(1.0, scan()).group_hash_table(), None, "one group: no hash table");
        assert_eq!(agg(6.0, sort(scan())).group_hash_table(), None, "over a Sort: a GroupAggregate");
        let limited = Box::new(Node::Limit { count: 10.0, input: sort(scan()) });
        assert_eq!(agg(6.0, limited).group_hash_table(), None, "a Limit keeps its input's order");
        let gm = Box::new(Node::GatherMerge { workers: Some(2), input: sort(scan()) });
        assert_eq!(agg(6.0, gm).group_hash_table(), None, "a Gather Merge delivers sorted rows");
        let gather = Box::new(Node::Gather { workers: Some(2), single_copy: false, input: Box::new(agg(6.0, scan())) });
        assert!(agg(6.0, gather).group_hash_table().is_some(), "a Gather does not: Finalize HashAggregate");
        assert_eq!(scan().group_hash_table(), None);
        // Its rows find their group as a lookup in the table: past the cache, by its misses.
        let mut c = crate::calibration::fit::zero_costs();
        c.hash_probe_ns = 30.0;
        c.hash_match_ns = 50.0;
        c.hash_miss_ns = 40.0;
        c.hash_cache_bytes = 1e6;
        assert_eq!(c.group_lookup(tuple_table(6.0, 236.0)), 30.0, "a few groups stay in the cache");
        let many = tuple_table(1e6, 236.0);
        assert!(c.group_lookup(many) > 30.0 + 2.0 * 40.0 * 3.0, "a million groups miss twice a row");
    }
}
