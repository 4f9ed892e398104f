//! Parallel Seq Scan block allocation as PostgreSQL 14+ does it
//! (src/backend/access/table/tableam.c: table_block_parallelscan_startblock_init / _nextpage).

pub const PARALLEL_SEQSCAN_NCHUNKS: f64 = 2048.0;
pub const PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS: f64 = 64.0;
pub const PARALLEL_SEQSCAN_MAX_CHUNK_SIZE: f64 = 8192.0;

/// Shared state: the relation size and the atomic count of blocks handed out.
#[derive(Debug, Clone)]
pub struct SharedScan {
    pub nblocks: f64,
    pub nallocated: f64,
    initial_chunk: f64,
}

/// One participant's allocation state.
#[derive(Debug, Clone, Default)]
pub struct ParticipantScan {
    chunk_size: f64,
    last_allocated: f64,
    started: bool,
}

fn next_pow2(x: f64) -> f64 {
    let mut p = 1.0;
    while p < x {
        p *= 2.0;
    }
    p
}

impl ParticipantScan {
    /// Blocks per claim now (0 before the first claim).
    pub fn chunk_size(&self) -> f64 {
        self.chunk_size
    }

    /// First block of the last claim.
    pub fn last_allocated(&self) -> f64 {
        self.last_allocated
    }

    /// Move the last claim (a fast-forward over claims of the same size).
    pub fn set_last_allocated(&mut self, block: f64) {
        self.last_allocated = block;
    }

    pub fn started(&self) -> bool {
        self.started
    }
}

/// Blocks per claim at the start of a parallel scan of `nblocks` blocks: a power of two near
/// nblocks / 2048, at least 1 and at most 8192.
pub fn initial_chunk(nblocks: f64) -> f64 {
    next_pow2((nblocks.max(0.0).ceil() / PARALLEL_SEQSCAN_NCHUNKS).floor().max(1.0))
        .min(PARALLEL_SEQSCAN_MAX_CHUNK_SIZE)
}

/// Linux maps the pages around a faulting address that are already in memory along with it
/// (`fault_around_bytes`, 64 kB by default): 8 heap blocks.
pub const FAULT_AROUND_BLOCKS: f64 = 8.0;

/// Blocks of shared memory a participant of a parallel scan of `nblocks` blocks maps per
/// block it reads, when `participants` share the scan equally: a fault maps its whole
/// 8-block window, so where chunks are smaller than the window a participant maps the blocks
/// its neighbours read too. With a window of k chunks and a share p of them, it maps the
/// windows where it claimed at least one chunk: (1 - (1 - p)^k) / p blocks per block read.
/// 1 for chunks of a window or more (tables of 64 MB and up) and for a participant alone.
pub fn fault_around_maps(nblocks: f64, participants: f64) -> f64 {
    let k = FAULT_AROUND_BLOCKS / initial_chunk(nblocks);
    if participants <= 1.0 || k <= 1.0 {
        return 1.0;
    }
    let p = 1.0 / participants;
    ((1.0 - (1.0 - p).powf(k)) / p).max(1.0)
}

/// [`fault_around_maps`] for a table whose resident blocks lie in shared memory as `windows`
/// says ([`crate::model::Table::buffer_windows`]: entry u - 1 counts the 8-buffer windows
/// holding blocks of u chunks), `blocks` of them resident. A participant claiming a share p
/// of the chunks touches a window of u chunks with probability 1 - (1 - p)^u, and each window
/// it touches maps 8 blocks: 8 · Σ windows · (1 - (1 - p)^u) / (p · blocks) blocks per block
/// it reads. Blocks in order, 8 to a window, give [`fault_around_maps`]; a participant alone
/// maps 8 · windows / blocks, more than 1 where the table's buffers share windows with others.
pub fn fault_around_maps_in(windows: &[f64; 8], blocks: f64, participants: f64) -> f64 {
    let p = 1.0 / participants.max(1.0);
    let touched: f64 = windows.iter().enumerate().map(|(i, n)| n * (1.0 - (1.0 - p).powi(i as i32 + 1))).sum();
    if blocks <= 0.0 || touched <= 0.0 {
        return 1.0;
    }
    (FAULT_AROUND_BLOCKS * touched / (p * blocks)).max(1.0)
}

/// The blocks a participant of a parallel scan of `t` (`participants` sharing it) maps per
/// block it reads: [`fault_around_maps_in`] over its windows where pg_buffercache told them,
/// else [`fault_around_maps`] (the blocks in order).
pub fn table_fault_maps(t: &crate::model::Table, participants: f64) -> f64 {
    let resident = t.pages * t.in_shared_buffers.unwrap_or(1.0);
    match &t.buffer_windows {
        Some(w) if resident >= 1.0 => fault_around_maps_in(w, resident, participants),
        _ => fault_around_maps(t.pages, participants),
    }
}

/// Blocks a process maps on its first touches of `t`'s heap and index pages when it makes
/// `lookups` index lookups at random keys: each window of 8 blocks it touches is one fault
/// mapping the whole window. The heap's windows are those pg_buffercache counted
/// ([`crate::model::Table::buffer_windows`]), as for a scan; else, like the index's, its
/// blocks in order, 8 to a window.
pub fn index_lookup_maps(t: &crate::model::Table, lookups: f64) -> f64 {
    let in_order = |pages: f64| (pages / FAULT_AROUND_BLOCKS).ceil().max(1.0);
    let touched = |w: f64| w * (1.0 - (1.0 - 1.0 / w).powf(lookups.max(0.0)));
    let heap = t.buffer_windows.map(|w| w.iter().sum::<f64>()).filter(|n| *n >= 1.0).unwrap_or(in_order(t.pages));
    FAULT_AROUND_BLOCKS * (touched(heap) + t.index_pages.map_or(0.0, |i| touched(in_order(i))))
}

/// A parallel worker's index lookups into `t` (a Nested Loop's inner side, after pipeline `p`
/// has reached it): its share of them first-touches pages of `t` and its index that the fresh
/// process never mapped, each fault mapping 8 blocks at `worker_page_fault_ns` a block
/// ([`index_lookup_maps`]), and its exit unmaps them (counted in `p.source.page.maps`, per
/// block of its own scan). Measured on a 2-vCPU VM (PostgreSQL 15.18, Q12's two-worker Nested
/// Loop into orders' primary key): 2.1 us a lookup from a worker against the model's 0.75
/// without this.
pub fn worker_index_first_touches(
    env: &super::compile::Env,
    t: &crate::model::Table,
    is_worker: bool,
    p: &mut super::compile::Pipeline,
) {
    if !is_worker {
        return;
    }
    let participants = env.planned_participants().max(1.0);
    let lookups = p.source.tuples * p.rows_per_tuple / participants;
    if lookups < 1.0 {
        return;
    }
    let mapped = index_lookup_maps(t, lookups);
    p.cpu_per_tuple += p.rows_per_tuple * env.speed(env.hw.costs.worker_page_fault_ns) * mapped / lookups;
    p.source.page.maps += mapped / (p.source.pages / participants).max(1.0);
}

impl super::compile::Env<'_> {
    /// The processes planned to share a parallel scan: Workers Planned, and the leader when
    /// it participates.
    pub(crate) fn planned_participants(&self) -> f64 {
        f64::from(self.workers_planned) + if self.settings.flag("parallel_leader_participation") { 1.0 } else { 0.0 }
    }
}

impl SharedScan {
    pub fn new(nblocks: f64) -> Self {
        let nblocks = nblocks.max(0.0).ceil();
        SharedScan { nblocks, nallocated: 0.0, initial_chunk: initial_chunk(nblocks) }
    }

    pub fn initial_chunk(&self) -> f64 {
        self.initial_chunk
    }

    pub fn exhausted(&self) -> bool {
        self.nallocated >= self.nblocks
    }

    /// Claim the participant's next chunk: returns the number of consecutive blocks, or None
    /// when the scan is finished for this participant.
    pub fn next_chunk(&mut self, p: &mut ParticipantScan) -> Option<f64> {
        if !p.started {
            p.started = true;
            p.chunk_size = self.initial_chunk;
        }
        // Ramp-down: halve the chunk near the end (at most once per allocation).
        if p.chunk_size > 1.0 && p.last_allocated > self.nblocks - p.chunk_size * PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS {
            p.chunk_size = (p.chunk_size / 2.0).max(1.0);
        }
        let start = self.nallocated;
        if start >= self.nblocks {
            return None;
        }
        self.nallocated += p.chunk_size;
        p.last_allocated = start;
        Some(p.chunk_size.min(self.nblocks - start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_match_tableam() {
        assert_eq!(SharedScan::new(4095.0).initial_chunk(), 1.0);
        assert_eq!(SharedScan::new(4096.0).initial_chunk(), 2.0);
        assert_eq!(SharedScan::new(28038.0).initial_chunk(), 16.0);
        assert_eq!(SharedScan::new(1e9).initial_chunk(), 8192.0);
    }

    #[test]
    fn a_participants_faults_map_its_neighbours_blocks_when_chunks_are_small() {
        // 4,799 blocks: chunks of 2, four to a 64 kB window.
        let three = fault_around_maps(4799.0, 3.0);
        assert!((three - (1.0 - (2.0f64 / 3.0).powi(4)) * 3.0).abs() < 1e-12, "{three}");
        // More participants, smaller shares: each maps more per block it reads.
        assert!(fault_around_maps(4799.0, 2.0) < three && three < fault_around_maps(4799.0, 5.0));
        // Chunks of one block: eight to a window.
        assert!(fault_around_maps(1000.0, 3.0) > three);
        // Alone, or with chunks of a window or more (8 blocks from 10,240 blocks on): 1.
        assert_eq!(fault_around_maps(4799.0, 1.0), 1.0);
        assert_eq!(fault_around_maps(10240.0, 3.0), 1.0);
        assert!(fault_around_maps(10239.0, 3.0) > 1.0);
    }

    #[test]
    fn a_tables_windows_as_pg_buffercache_saw_them_set_the_blocks_a_fault_maps() {
        // 4,800 blocks in order: 600 windows of 4 chunks of 2 give what the in-order rule gives.
        let mut in_order = [0.0; 8];
        in_order[3] = 600.0;
        for n in [1.0, 2.0, 3.0, 5.0] {
            let (a, b) = (fault_around_maps_in(&in_order, 4800.0, n), fault_around_maps(4800.0, n));
            assert!((a - b).abs() < 1e-9, "{n} participants: {a} against {b}");
        }
        // The same blocks spread over twice the windows (2 chunks each; other data in the
        // rest): a worker alone maps two blocks per block it reads, and beside the leader
        // 8 * 1200 * 0.75 / (0.5 * 4800) = 3.
        let mut sparse = [0.0; 8];
        sparse[1] = 1200.0;
        assert!((fault_around_maps_in(&sparse, 4800.0, 1.0) - 2.0).abs() < 1e-9);
        assert!((fault_around_maps_in(&sparse, 4800.0, 2.0) - 3.0).abs() < 1e-9);
        // A table carries them; without them its blocks are taken as in order.
        let mut t = crate::model::Table { name: "t".into(), rows: 1e5, pages: 4800.0, ..Default::default() };
        assert_eq!(table_fault_maps(&t, 2.0), fault_around_maps(4800.0, 2.0));
        t.buffer_windows = Some(sparse);
        assert!((table_fault_maps(&t, 2.0) - 3.0).abs() < 1e-9);
        // Half of it resident in those windows: they hold twice the blocks read from them.
        t.in_shared_buffers = Some(0.5);
        assert!((table_fault_maps(&t, 1.0) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn every_block_is_handed_out_once_and_chunks_ramp_down() {
        let mut s = SharedScan::new(28038.0);
        let mut parts = vec![ParticipantScan::default(); 3];
        let mut total = 0.0;
        let mut sizes = vec![];
        let mut i = 0;
        loop {
            let mut any = false;
            for p in parts.iter_mut() {
                if let Some(n) = s.next_chunk(p) {
                    total += n;
                    sizes.push(n);
                    any = true;
                }
            }
            i += 1;
            if !any || i > 100_000 {
                break;
            }
        }
        assert_eq!(total, 28038.0);
        assert_eq!(sizes[0], 16.0);
        assert_eq!(*sizes.last().unwrap(), 1.0, "the last chunks are single blocks");
    }
}
