//! Chunk fusion: a participant's scan flow over a shared in-memory table runs on past its
//! chunk ends (they stop being steps), and the chunks it crossed are claimed later, in the
//! order stepping would have claimed them.

use super::*;

impl<'a> Sim<'a> {
    /// May participant p's scan flow run on past its chunk's end? Only with fast-forward on, for a
    /// shared in-memory scan whose rows go to the worker's queue, or the leader's own rows
    /// under a Gather (no bound, no LIMIT): there the next chunk starts at once at the same
    /// rate (no read latency, same CPU per tuple), so a chunk end changes nothing but which
    /// blocks the participant holds. Its chunk ends then cease to be steps (they would break
    /// every period, at a different place each time), and the chunks it crosses are claimed
    /// at each jump or when fusion ends (`ff_settle_chunks`). Fusion ends for good while every
    /// participant whose scan runs can still claim two chunks and a queue's worth of blocks
    /// (`ff_fuse_budget`), so the scan's end is stepped exactly.
    pub(in crate::exec::sim) fn ff_fuse_ok(&mut self, p: usize) -> bool {
        // (A scan flow first: the leader's retargets are mostly of its queue drains.)
        if !matches!(&self.procs[p].act, Act::Flow(f) if f.kind == FlowKind::Scan) {
            return false;
        }
        if !self.ff.enabled || self.post_phase || self.c.consumer.limit.is_some() {
            return false;
        }
        // The leader's own scan in a Gather (it returns to the queues at its next tuple once
        // one has tuples: a stop that does not depend on its chunk).
        if p == 0 && !self.ff_leader_scans() {
            return false;
        }
        // With more processes than cores a chunk end is a scheduling point (the worker goes to
        // the back of the run queue): not a non-event, so no fusion.
        if self.procs.len() as f64 > self.hw.cores as f64 || self.others_busy > 0 {
            return false;
        }
        let Act::Flow(f) = &self.procs[p].act else { return false };
        let pipe = self.pipe(p);
        let src = &pipe.source;
        if f.kind != FlowKind::Scan
            || f.rows_per_unit <= 0.0
            || src.kind != SourceKind::Shared
            || src.page.disk_bytes != 0.0
            || src.random_reads_per_tuple != 0.0
            || pipe.bound.is_some()
            || !pipe.breakers.is_empty()
            || !self.procs[p].scan.started()
            || !src.whole_pages.is_empty()
        {
            return false;
        }
        if p > 0 {
            let q = &self.queues[p - 1];
            if q.receiver_detached || q.sender_done {
                return false;
            }
        }
        if self.ff.fusion_over {
            return false;
        }
        let (free, need) = self.ff_fuse_budget();
        if free >= need {
            self.ff.fused_ever = true;
            return true;
        }
        // Near the scan's end: every fused flow, running or waiting, claims what it owes now,
        // and no flow of this scan is fused again (a budget counted over the flows running at
        // the time would let a later one fuse again, and each settling claims out of order).
        self.ff.fusion_over = true;
        for w in 0..self.procs.len() {
            self.ff_settle_chunks(w);
        }
        false
    }

    /// Some participant's shared scan is of a kind whose flows may fuse (`ff_fuse_ok`): in
    /// memory, no random reads, its rows to a queue without a bound or a breaker.
    pub(super) fn ff_scan_may_fuse(&self) -> bool {
        !self.ff.fusion_over
            && (0..self.procs.len()).any(|p| {
                let pipe = self.pipe(p);
                let src = &pipe.source;
                src.kind == SourceKind::Shared
                    && src.page.disk_bytes == 0.0
                    && src.random_reads_per_tuple == 0.0
                    && pipe.bound.is_none()
                    && pipe.breakers.is_empty()
                    && src.whole_pages.is_empty()
            })
    }

    /// The leader scans beside its workers under a Gather (its own rows between its reads).
    pub(super) fn ff_leader_scans(&self) -> bool {
        self.mode == LeaderMode::Gather && self.n_workers() > 0 && self.leader_local() && !self.post_phase
    }

    /// A fused flow's longest run between two looks at the budget: a queue's worth of rows,
    /// in the scan's tuples (a worker stops within it at its queue's next stop point; the leader's local
    /// scan is stopped there, see `retarget`).
    pub(in crate::exec::sim) fn ff_leash(&self) -> f64 {
        let rows_per_tuple = self.c.worker.rows_per_tuple.max(1e-12);
        self.qcap / self.tuple_bytes.max(1e-9) / rows_per_tuple
    }

    /// Blocks not yet claimed, less those fused flows owe; and the blocks fusion keeps in hand:
    /// two chunks and a leash (`ff_leash`) per participant whose scan runs, so that every owed
    /// claim can be met and the scan's last chunks are stepped. A participant that waits
    /// (a worker on its full queue, the leader draining one) claims nothing until it runs
    /// again, and then looks at the budget before it does: its share is kept only while it
    /// runs (seed-not-in's SubPlan Gather has six of seven workers waiting: counted all the
    /// time, they had the last thousand blocks stepped).
    pub(super) fn ff_fuse_budget(&self) -> (f64, f64) {
        self.ff_fuse_budget_over(0)
    }

    /// `ff_fuse_budget`, with the share also of each participant in `also` (bit `p`: process
    /// `p`; every bit past the last process: every participant): what the budget needs at a
    /// point where those run their scans too.
    pub(super) fn ff_fuse_budget_over(&self, also: u64) -> (f64, f64) {
        let tpp = self.ff_tuples_per_page();
        let stop_blocks = self.ff_leash() / tpp + 1.0;
        let (mut owed, mut need) = (0.0, 1.0);
        for (p, pr) in self.procs.iter().enumerate() {
            for f in [pr.act_flow(), pr.saved.as_ref()].into_iter().flatten() {
                if f.fused {
                    owed += (f.done - f.total).max(0.0) / tpp;
                }
            }
            if matches!(&pr.act, Act::Flow(f) if f.kind == FlowKind::Scan) || also >> p.min(63) & 1 == 1 {
                need += 2.0 * (pr.scan.chunk_size().max(1.0) + stop_blocks);
            }
        }
        (self.scan.nblocks - self.scan.nallocated - owed, need)
    }

    /// The participants running their scans now (`ff_fuse_budget_over`; past 63 processes,
    /// every one).
    pub(super) fn ff_scanning(&self) -> u64 {
        if self.procs.len() > 63 {
            return u64::MAX;
        }
        let mut m = 0;
        for (p, pr) in self.procs.iter().enumerate() {
            if matches!(&pr.act, Act::Flow(f) if f.kind == FlowKind::Scan) {
                m |= 1 << p;
            }
        }
        m
    }

    pub(super) fn ff_tuples_per_page(&self) -> f64 {
        let src = &self.c.worker.source;
        (src.tuples / src.pages.max(1.0)).max(1e-9)
    }

    /// End worker p's fusion (its running or its waiting flow): claim the chunks the flow
    /// ran past, as stepping would have at each chunk end.
    pub(in crate::exec::sim) fn ff_settle_chunks(&mut self, p: usize) {
        self.ff_claim_owed(p, true);
    }

    /// Claim the chunks worker p's fused flows ran past (ending their fusion if `unfuse`).
    pub(super) fn ff_claim_owed(&mut self, p: usize, unfuse: bool) {
        // (Mostly none is: this runs at every retarget of a flow that does not fuse.)
        let pr = &self.procs[p];
        if !pr.act_flow().is_some_and(|f| f.fused) && !pr.saved.as_ref().is_some_and(|f| f.fused) {
            return;
        }
        let tpp = self.ff_tuples_per_page();
        let Proc { act, saved, scan: pscan, .. } = &mut self.procs[p];
        let running = if let Act::Flow(f) = act { Some(f) } else { None };
        for f in [running, saved.as_mut()].into_iter().flatten() {
            if !f.fused {
                continue;
            }
            while f.done >= f.total - 1e-9 * f.total.max(1.0) {
                let Some(pages) = self.scan.next_chunk(pscan) else { break };
                f.done -= f.total;
                f.stop_at -= f.total;
                f.total = pages * tpp;
            }
            f.done = f.done.clamp(0.0, f.total);
            if unfuse {
                f.fused = false;
                f.stop_at = f.stop_at.clamp(f.done, f.total);
            } else {
                f.stop_at = f.stop_at.max(f.done);
            }
        }
    }

    /// Claim the chunks fused flows ran past, one at a time, the flow that crossed its chunk
    /// end longest ago first (its progress past the end over its progress per period, `rates`:
    /// running, waiting flow), as stepping would have claimed them. Claimed worker by worker
    /// instead, the first workers would take theirs before the scan's ramp-down and keep their
    /// initial chunk size into it, so fusion would end (and stepping start) as many initial
    /// chunks before the scan's end: a tail that grows with the table.
    pub(super) fn ff_claim_in_order(&mut self, rates: &[(f64, f64)]) {
        let tpp = self.ff_tuples_per_page();
        // How late a flow is past its chunk's end, if it is fused and past it.
        let late = |f: &Flow, r: f64| {
            (f.fused && f.done >= f.total - 1e-9 * f.total.max(1.0)).then(|| (f.done - f.total) / r.max(1e-300))
        };
        // The flows past their end, in process order, running before waiting: ties go to the
        // first, as a scan of every process in that order gives them. Only the flow that
        // claimed changes between two claims, so only its lateness is computed again (a jump
        // claims up to thousands of chunks: a scan of every process per claim was a fifth of
        // the detector's cost on seed-not-in).
        let mut past: Vec<(f64, usize, bool)> = Vec::new();
        for (p, &(r_run, r_saved)) in rates.iter().enumerate() {
            let pr = &self.procs[p];
            for (is_saved, f, r) in [(false, pr.act_flow(), r_run), (true, pr.saved.as_ref(), r_saved)] {
                if let Some(l) = f.and_then(|f| late(f, r)) {
                    past.push((l, p, is_saved));
                }
            }
        }
        loop {
            let mut best: Option<usize> = None;
            for (i, e) in past.iter().enumerate() {
                if best.is_none_or(|b| e.0 > past[b].0) {
                    best = Some(i);
                }
            }
            let Some(i) = best else { return };
            let (_, p, is_saved) = past[i];
            let Proc { act, saved, scan: pscan, .. } = &mut self.procs[p];
            let f = match (is_saved, act) {
                (true, _) => saved.as_mut(),
                (false, Act::Flow(f)) => Some(f),
                _ => None,
            };
            let Some(f) = f else { return };
            let Some(pages) = self.scan.next_chunk(pscan) else { return };
            f.done -= f.total;
            f.stop_at -= f.total;
            f.total = pages * tpp;
            let r = if is_saved { rates[p].1 } else { rates[p].0 };
            match late(f, r) {
                Some(l) => past[i].0 = l,
                None => drop(past.remove(i)),
            }
        }
    }
}
