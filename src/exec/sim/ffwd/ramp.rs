//! The Parallel Seq Scan's ramp-down (PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS, tableam.c): where the
//! next halving of a chunk size starts, the steps near it that the detector does not record,
//! and how many periods a jump may take up to the first claim that halves.

use super::*;

impl<'a> Sim<'a> {
    /// Near a halving of the chunk size (the scan's ramp-down) and before the scan's end, where
    /// no period that claims a block can be jumped (`ff_periods` keeps the jump short of the
    /// next halving with that margin), and no flow is fused (a fused flow's claims wait for
    /// the jump, so its periods may claim nothing). Left are periods over which no participant
    /// claims a chunk: a few periods within a chunk at most, not worth recording every step
    /// for. The detector keeps no history there; it starts afresh once every participant has
    /// halved (the next stage of the ramp-down) or the last block is handed out (the workers'
    /// last chunks and the shutdown).
    pub(super) fn ff_in_rampdown(&self) -> bool {
        let (alloc, nblocks) = (self.scan.nallocated, self.scan.nblocks);
        if alloc >= nblocks {
            return false;
        }
        // (The cheaper test first: a fused scan spends most of its steps here.)
        if self.ff_any_fused() {
            return false;
        }
        let (ramp, margin) = self.ff_ramp();
        alloc > ramp - margin
    }

    /// After the shared scan's last block is handed out, while no worker's flow can stop short
    /// of its end (no queue stop ahead, nothing fused) and no process has a private scan left:
    /// each step then ends a flow that no later step starts again alike (no chunk is left to
    /// claim, and a process's Finish, Emit and exit come once each; the leader's drains, whose
    /// stop is what its queues hold, only follow what those flows publish), so no state
    /// repeats and nothing is recorded (tpch-lineitem-sum at 4 workers: the 20 records after its
    /// last block, none ever a period's end). A worker's last chunk that sends to its queue
    /// between stop points is recorded as before (seed-not-in jumps it).
    pub(super) fn ff_in_tail(&self) -> bool {
        if self.scan.nblocks <= 0.0 || self.scan.nallocated < self.scan.nblocks {
            return false;
        }
        self.procs.iter().enumerate().all(|(i, p)| {
            (p.private_left <= 0.0 || self.pipe(i).source.kind == SourceKind::Shared)
                && [p.act_flow(), p.saved.as_ref()].into_iter().flatten().all(|f| {
                    !f.fused
                        && (f.stop_at >= f.total || (i == 0 && matches!(f.kind, FlowKind::Drain(_) | FlowKind::Merge)))
                })
        })
    }

    /// Where the next halving of a chunk size starts (PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS), and the
    /// margin before it in which nothing is recorded (`ff_in_rampdown`). A participant halves
    /// its chunk `c` at its first claim after one that started past `nblocks - 64 c`, so with
    /// the largest chunk any participant may claim next (the initial one for a participant yet
    /// to claim) no claim short of that point halves: inside the ramp-down, once every
    /// participant has halved to the stage's size, the claims of that size (64 of them per
    /// stage) are a regime like the chunks before it, and are jumped up to the stage's end.
    pub(super) fn ff_ramp(&self) -> (f64, f64) {
        let chunk = self.ff_ramp_chunk();
        if chunk <= 1.0 {
            // Single blocks do not halve: what ends the regime is the scan's end, where a claim
            // finds no block. Kept a block short of it, so that no step inside the jumped
            // periods finds the scan exhausted either.
            return (self.scan.nblocks - 1.0, 3.0);
        }
        (self.scan.nblocks - chunk * crate::exec::scan::PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS, 2.0 * chunk + 1.0)
    }

    /// The largest chunk any participant may claim next (the initial one for a participant yet
    /// to claim), at least one block.
    fn ff_ramp_chunk(&self) -> f64 {
        let initial = self.scan.initial_chunk();
        self.procs.iter().map(|p| if p.scan.started() { p.scan.chunk_size() } else { initial }).fold(1.0, f64::max)
    }

    /// Whole periods a jump may take before a claim inside them would halve its chunk (at
    /// single blocks: find the scan's end), the blocks handed out growing by `dalloc` a period
    /// (`g`: a counter's growth over the period found; `fused`: tuples per period of fused
    /// flows). A claim halves when its participant's previous claim started past `ramp`, and
    /// the blocks handed out only grow, a claim at a time: a jump that takes them up to `ramp`
    /// itself leaves every claim inside it after one that started short of it.
    ///
    /// When each participant that claims claims once a period (the chunk sizes of those whose
    /// last claim moves on add up to the blocks a period hands out), the claim of a jump's last
    /// period follows its participant's claim of the period before: the jump may go on until
    /// that one passes `ramp`, one period more at least (tpch-lineitem-sum at 4 workers, a
    /// stage's transition: each participant's last claim at the old size was stepped).
    pub(super) fn ff_ramp_periods(&self, g: &dyn Fn(usize) -> f64, dalloc: f64, fused: f64) -> f64 {
        let (ramp, _) = self.ff_ramp();
        let nalloc = self.scan.nallocated;
        if dalloc <= 1e-12 * nalloc.max(1.0) {
            return f64::INFINITY;
        }
        let by_total = ((ramp - nalloc) / dalloc).floor();
        // (At single blocks the end of the scan bounds the jump, not a halving; a fused flow's
        // claims wait for the jump, in an order of their own.)
        if fused > 0.0 || self.ff_ramp_chunk() <= 1.0 {
            return by_total;
        }
        let (mut sizes, mut by_last) = (0.0, f64::INFINITY);
        for (p, pr) in self.procs.iter().enumerate() {
            let gp = g(p * XP + X_LAST);
            if gp.abs() <= 1e-9 * dalloc {
                continue;
            }
            let c = pr.scan.chunk_size();
            if !close(gp, dalloc, 1e-9) || c <= 1.0 {
                return by_total;
            }
            sizes += c;
            let halves_past = self.scan.nblocks - c * crate::exec::scan::PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS;
            by_last = by_last.min(((halves_past - pr.scan.last_allocated()) / dalloc).floor() + 1.0);
        }
        if !close(sizes, dalloc, 1e-9) {
            return by_total;
        }
        by_total.max(by_last)
    }
}
