//! In-memory hash tables as PostgreSQL 15 lays them out, and what a random access into one
//! costs once it outgrows what a core keeps close.
//!
//! Measured on a 2-vCPU Xeon VM (PostgreSQL 15.18, serial, EXPLAIN ANALYZE TIMING OFF,
//! medians of 7, int4 keys, the scans' own time taken out): a hashed SubPlan's insert costs
//! 98-103 ns per row up to 50k rows, then 158, 230, 218, 305 and 334 ns at 100k, 200k, 400k,
//! 800k and 1.6M rows; a hash join's build plus probe per row, 115-136 ns up to 50k rows, then
//! 171, 249, 336, 469 and 513 ns. Both grow by about 40 ns per access for every doubling of
//! the table past about 2 MB (the core's L2): each doubling moves more of the random accesses
//! out to the next level (shared cache, TLB misses and page walks, DRAM). pqsim prices one
//! random access as `hash_miss_ns` per doubling of the table beyond `hash_cache_bytes`, up to
//! [`MAX_DOUBLINGS`] (past it every access misses everything).

use super::{maxalign, UnitCosts};

/// `hash_cache_bytes` when a profile does not say: 1 MB, a common L2 per core.
pub const DEFAULT_CACHE_BYTES: f64 = 1024.0 * 1024.0;

/// Doublings past `hash_cache_bytes` beyond which an access costs no more (every access
/// is then a miss to memory with a page walk).
pub const MAX_DOUBLINGS: f64 = 6.0;

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

/// Bytes of a Hash Join's hash table of `rows` inner rows `width` bytes wide (nodeHash.c):
/// each tuple in dense 32 kB chunks behind a HashJoinTuple header (HJTUPLE_OVERHEAD, 16
/// bytes), and one 8-byte bucket pointer per bucket, as many buckets as rows rounded up to a
/// power of two (NTUP_PER_BUCKET = 1).
pub fn join_table_bytes(rows: f64, width: f64) -> f64 {
    if rows <= 0.0 {
        return 0.0;
    }
    rows * (16.0 + maxalign(MINIMAL_TUPLE_HEADER + width)) + 8.0 * next_pow2(rows)
}

/// Bytes of a TupleHashTable of `rows` distinct rows `width` bytes wide (execGrouping.c, a
/// hashed SubPlan's or a HashAggregate's): simplehash entries of 24 bytes, as many as rows /
/// 0.9 rounded up to a power of two, each pointing at its MinimalTuple palloc'd in the
/// table's context (AllocSet rounds a request up to a power of two, behind a 16-byte chunk
/// header).
pub fn tuple_table_bytes(rows: f64, width: f64) -> f64 {
    if rows <= 0.0 {
        return 0.0;
    }
    rows * (16.0 + next_pow2(MINIMAL_TUPLE_HEADER + width)) + 24.0 * next_pow2(rows / 0.9)
}

impl UnitCosts {
    /// Extra ns (at cpu_speed 1) of one random access into a hash table of `bytes`.
    pub fn hash_miss(&self, bytes: f64) -> f64 {
        if self.hash_miss_ns <= 0.0 || self.hash_cache_bytes <= 0.0 || bytes <= self.hash_cache_bytes {
            return 0.0;
        }
        self.hash_miss_ns * (bytes / self.hash_cache_bytes).log2().min(MAX_DOUBLINGS)
    }

    /// One row inserted into a hash table of `bytes` (ns at cpu_speed 1).
    pub fn hash_insert(&self, bytes: f64) -> f64 {
        self.hash_build_ns + self.hash_miss(bytes)
    }

    /// One lookup in a hash table of `bytes` (ns at cpu_speed 1).
    pub fn hash_lookup(&self, bytes: f64) -> f64 {
        self.hash_probe_ns + self.hash_miss(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sized_as_postgres_lays_them_out() {
        // 100k int4 rows: 40-byte tuples + 131072 buckets of 8 bytes.
        assert_eq!(join_table_bytes(100_000.0, 4.0), 100_000.0 * 40.0 + 8.0 * 131_072.0);
        // 100k int4 rows in a TupleHashTable: 32-byte chunks + 16-byte headers, 131072 entries.
        assert_eq!(tuple_table_bytes(100_000.0, 4.0), 100_000.0 * 48.0 + 24.0 * 131_072.0);
        assert_eq!(join_table_bytes(0.0, 4.0), 0.0);
    }

    #[test]
    fn an_access_costs_more_per_doubling_past_the_cache_and_stops_growing() {
        let mut c = crate::calibration::fit::zero_costs();
        c.hash_build_ns = 100.0;
        c.hash_miss_ns = 40.0;
        c.hash_cache_bytes = 2e6;
        assert_eq!(c.hash_insert(1e6), 100.0, "inside the cache: the base price");
        assert!((c.hash_insert(8e6) - 180.0).abs() < 1e-9, "two doublings: +80");
        assert_eq!(c.hash_miss(2e6 * 2f64.powf(MAX_DOUBLINGS)), c.hash_miss(1e12), "flat past the cap");
        c.hash_miss_ns = 0.0;
        assert_eq!(c.hash_insert(1e9), 100.0, "a profile without the price: flat as before");
    }
}
