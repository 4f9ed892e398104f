//! What reading a relation's pages costs: shared-buffer hits, reads from the OS page cache
//! (through PostgreSQL's bulk-read ring for a large sequential scan) and disk, by the
//! profile's cache state.

use super::compile::Env;
use crate::model::*;

/// Where rows of a relation come from, and what reading one page costs.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCost {
    /// CPU ns per page that is a shared-buffer hit or after the read (buffer, visibility).
    pub cpu_ns: f64,
    /// CPU ns per page spent in the kernel copying from the OS page cache (DataFileRead).
    pub os_read_ns: f64,
    /// Bytes per page read from disk (cold data), through the shared disk bandwidth.
    pub disk_bytes: f64,
    /// Heap pages of shared memory a parallel worker maps per page it reads (first touch and
    /// exit): more than 1 for a parallel scan whose chunks are smaller than the kernel's
    /// fault-around window ([`super::scan::fault_around_maps`]), else 1.
    pub maps: f64,
}

/// How a relation's pages are read: a sequential scan (which may use PostgreSQL's bulk-read
/// ring) or by index (buffers kept as usual).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Sequential,
    Index,
}

/// The rows per page of `t` whose first read misses the core's caches for want of a constant
/// stride (`row_miss_ns`): none when rows have one length or share cache lines; of rows that
/// stand [`ROW_MISS_FULL_BYTES`] or more apart (linearly fewer down to
/// [`ROW_MISS_FROM_BYTES`]), the share whose stride differs from the row's before
/// ([`Table::row_stride_changes`]; every one where that was not sampled and rows vary in
/// length). Measured on a 2-vCPU AMD EPYC VM (2026-12-06, serial sum of a column less
/// count(*), interleaved): rows 164 bytes apart cost 18.5-20.7 ns a row of one length, 39-42
/// with lengths spread by 8-47 bytes (the stride changing at 75-97% of rows); lineitem, whose
/// stride changes at 16% of its rows, cost the same as its own rows sorted by length (none).
pub fn scattered_rows_per_page(t: &Table) -> f64 {
    if !t.rows_vary_in_length() || t.rows <= 0.0 || t.pages <= 0.0 {
        return 0.0;
    }
    let per_page = t.rows / t.pages;
    let stride = BLCKSZ / per_page;
    let changes = t.row_stride_changes.unwrap_or(1.0).clamp(0.0, 1.0);
    changes * per_page * ((stride - ROW_MISS_FROM_BYTES) / (ROW_MISS_FULL_BYTES - ROW_MISS_FROM_BYTES)).clamp(0.0, 1.0)
}

impl Env<'_> {
    /// Per-page cost of a sequential scan of table `t` given its share in shared buffers, or
    /// else the cache state and shared_buffers (see [`Env::page_cost_of`]).
    pub fn page_cost(&self, t: &Table) -> PageCost {
        self.page_cost_of(t.pages, Access::Sequential, t.in_shared_buffers)
    }

    /// Per-page cost of one process's scan of `pages` pages of table `t` by `access`: the read
    /// ([`Env::page_cost_of`]); for a sequential scan that reads its rows' columns (deforms
    /// them), the page's tuple data coming into the core's cache (`page_data_ns` per page,
    /// `row_data_ns` per row on it; count(*) reads only the line pointers) and the misses of rows at irregular offsets
    /// ([`scattered_rows_per_page`]); for a parallel worker, a fresh process, the minor fault
    /// of its first touch of the page (`worker_page_fault_ns`; the leader, a long-lived
    /// backend, has mapped shared memory in earlier queries); for the share of a sequential
    /// scan's hits that lie out of block order in shared memory ([`Table::buffers_in_order`]),
    /// the prefetching lost (`buffer_jump_ns`, and `buffer_jump_data_ns` when it reads rows).
    pub fn scan_page_cost(
        &self,
        t: &Table,
        pages: f64,
        access: Access,
        reads_columns: bool,
        is_worker: bool,
    ) -> PageCost {
        let c = &self.hw.costs;
        let (read, disk) = self.read_fractions(pages, access, t.in_shared_buffers);
        let mut p = self.read_cost(read, disk);
        if access == Access::Sequential && reads_columns {
            // A page read from the OS arrives by a copy that leaves it in the core's cache.
            let rows_per_page = if t.pages > 0.0 { t.rows / t.pages } else { 0.0 };
            p.cpu_ns += self.speed(c.page_data_ns)
                + self.speed(c.row_data_ns) * rows_per_page
                + self.speed(c.row_miss_ns) * scattered_rows_per_page(t) * (1.0 - read).clamp(0.0, 1.0);
        }
        if access == Access::Sequential {
            // Hits on pages that do not follow the page before them in shared memory.
            let jumps = (1.0 - read).clamp(0.0, 1.0) * (1.0 - t.buffers_in_order.unwrap_or(1.0)).clamp(0.0, 1.0);
            let per_jump = c.buffer_jump_ns + if reads_columns { c.buffer_jump_data_ns } else { 0.0 };
            p.cpu_ns += self.speed(per_jump) * jumps;
        }
        // A fresh process's first touch of the block: one price whether it reads the rows'
        // data (at the page's end) or only its header and line pointers. The kernel maps the
        // aligned 64 kB around a faulting address (fault-around), so the fault that brings in
        // a block's first 4 kB brings in its second too. (It was charged twice for scans that
        // read rows: leader-off plans with two workers came out 12-17% too slow in three
        // sittings of 2026-12-03, docs/cpu-costs.md.)
        if is_worker {
            p.cpu_ns += self.speed(c.worker_page_fault_ns);
        }
        p
    }

    /// [`Env::scan_page_cost`] of a whole sequential scan of `t` that reads a column (a
    /// SubPlan's subquery) by a worker or the leader.
    pub fn page_cost_reading(&self, t: &Table, is_worker: bool) -> PageCost {
        self.scan_page_cost(t, t.pages, Access::Sequential, true, is_worker)
    }

    /// Per-page cost of reading `pages` pages of a relation by `access`, given the cache state
    /// and shared_buffers. "warm" is a server that has been running with its data in memory:
    /// a relation shared_buffers holds (90% of it for all relations) is in shared buffers,
    /// except that a sequential scan of a table larger than a quarter of shared_buffers reads
    /// through a small ring of buffers (heapam.c `initscan`: `BAS_BULKREAD` when
    /// `rs_nblocks > NBuffers / 4`), so its pages come from the OS page cache at every scan.
    /// That ring also leaves each scan's last 32 buffers behind while shared buffers have
    /// free ones, so a server that has scanned a table many times may hold all of it: a
    /// relation whose share in shared buffers is known (`in_shared_buffers`, what
    /// pg_buffercache counted) has that share of hits, whatever its size.
    pub fn page_cost_of(&self, pages: f64, access: Access, in_shared_buffers: Option<f64>) -> PageCost {
        let (os, disk) = self.read_fractions(pages, access, in_shared_buffers);
        self.read_cost(os, disk)
    }

    /// Per-page cost of reading with `os` of the accesses from the OS page cache and `disk` of
    /// them from disk ([`Env::read_fractions`]).
    fn read_cost(&self, os: f64, disk: f64) -> PageCost {
        let c = &self.hw.costs;
        PageCost {
            cpu_ns: self.speed(c.page_ns),
            os_read_ns: self.speed(c.os_read_page_ns) * os,
            disk_bytes: BLCKSZ * disk,
            maps: 1.0,
        }
    }

    /// The share of a relation's page accesses that are reads (from the OS page cache or
    /// disk, the rest being shared-buffer hits), and the share that goes to the disk, for a
    /// relation of `pages` pages read by `access` (see [`Env::page_cost_of`]).
    pub fn read_fractions(&self, pages: f64, access: Access, in_shared_buffers: Option<f64>) -> (f64, f64) {
        if let Some(share) = in_shared_buffers {
            let miss = (1.0 - share).clamp(0.0, 1.0);
            return (miss, if self.hw.cache == CacheState::Cold { miss } else { 0.0 });
        }
        let shared_buffers = self.settings.num("shared_buffers");
        let resident = if pages <= 0.0 { 1.0 } else { (0.9 * shared_buffers / pages).min(1.0) };
        match self.hw.cache {
            // Resident in shared buffers as far as they hold it; the rest from the OS cache.
            CacheState::Hot => (1.0 - resident, 0.0),
            CacheState::Warm if access == Access::Sequential && pages > shared_buffers / 4.0 => (1.0, 0.0),
            CacheState::Warm => (1.0 - resident, 0.0),
            CacheState::Cold => (1.0, 1.0),
        }
    }
}
