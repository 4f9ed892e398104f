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

impl SharedScan {
    pub fn new(nblocks: f64) -> Self {
        let nblocks = nblocks.max(0.0).ceil();
        let chunk =
            next_pow2((nblocks / PARALLEL_SEQSCAN_NCHUNKS).floor().max(1.0)).min(PARALLEL_SEQSCAN_MAX_CHUNK_SIZE);
        SharedScan { nblocks, nallocated: 0.0, initial_chunk: chunk }
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
