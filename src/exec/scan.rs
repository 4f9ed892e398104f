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
