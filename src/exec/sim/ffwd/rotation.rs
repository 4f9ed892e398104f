//! Rotations of drifting services: a period of periods. With a per-run CPU factor that makes a
//! queue service long, the leader drains one worker's queue after another, and inside each
//! service the drain runs drifting sub-regimes (gather-heavy at 4 workers, seed 6: a cycle of
//! two steps whose publish points drift for 30 cycles, then another for 51, then the next
//! worker's service). Each sub-regime is jumped as a drifting period (`drift`), which clears
//! the detector's history, so the exact detector never holds a whole rotation of the services
//! (about 760 steps there, beyond `K_MAX` anyway) and each sub-regime is recorded and tried
//! again: 115 drifting jumps in that replication, each with its records and its trial.
//!
//! Yet the run is deterministic between those jumps: right after a drifting jump the history
//! is empty, so what follows depends only on the simulation's state and the detector's few
//! scalars. The first record after each drifting jump is held here (its state, counters and
//! the steps stood for so far); when the state at a later one is the state at a held one (to
//! `R_TOL`, with the same hash and the same detector scalars) and nothing but records and
//! drifting jumps came between, the stretch between them repeats as an exact period does, and
//! is jumped like one: every counter by `N` times its growth over it, the clock and the pending
//! events by `N` times its length, `N` short of every threshold an exact jump keeps short of
//! (`ff_periods`). Any other turn of the detector (an exact jump, a clear, a look it skips)
//! drops what is held.

use super::*;

/// Drifting jumps' first records held: a rotation of four workers' services with two
/// sub-regimes each is eight.
const HELD: usize = 16;

/// The first records after drifting jumps, since the chain was last broken.
#[derive(Default)]
pub(super) struct Rotations {
    /// The next record is the first after a drifting jump: a point to hold.
    pub(super) armed: bool,
    /// Points held (the latest at `(n - 1) % HELD`).
    n: usize,
    pts: Vec<Point>,
    /// Each point's repeating and growing vectors, `HELD` slots of `nr` and `nx`.
    r: Vec<f64>,
    x: Vec<f64>,
}

impl Rotations {
    /// The chain is broken: nothing held, no point armed.
    pub(super) fn reset(&mut self) {
        self.n = 0;
        self.armed = false;
    }

    /// Hold `p` with its repeating and growing vectors.
    fn hold(&mut self, p: Point, r: &[f64], x: &[f64]) {
        let (nr, nx, at) = (r.len(), x.len(), self.n % HELD);
        self.r[at * nr..(at + 1) * nr].copy_from_slice(r);
        self.x[at * nx..(at + 1) * nx].copy_from_slice(x);
        self.pts[at] = p;
        self.n += 1;
    }

    /// The wait sampler's mark of the oldest point held (its intervals must stay held for a
    /// jump that repeats them), if any.
    pub(super) fn oldest_sample_mark(&self) -> Option<usize> {
        (self.n > 0).then(|| self.pts[self.n.saturating_sub(HELD) % HELD].sample_mark)
    }
}

#[derive(Clone, Copy, Default)]
struct Point {
    mark: Mark,
    /// Steps stood for (stepped and jumped) before this record.
    steps: u64,
    trace_len: (usize, usize),
    sample_mark: usize,
    det: Scalars,
}

/// What the detector's turns after an empty history depend on besides the simulation's state.
#[derive(Clone, Copy, Default, PartialEq)]
struct Scalars {
    drift_quiet: usize,
    holdoff: usize,
    backoff: usize,
    seen: bool,
    drift_any: bool,
    r_hints: Hints,
    x_hints: Hints,
    /// Fusion has ended, and which flows are fused (a waiting flow's is not in the hash).
    fusion_over: bool,
    fused: u64,
}

impl Scalars {
    fn of(ff: &Detector, sim: &Sim) -> Self {
        let mut fused = 0;
        for (p, pr) in sim.procs.iter().enumerate() {
            let bits =
                pr.act_flow().is_some_and(|f| f.fused) as u64 + 2 * pr.saved.as_ref().is_some_and(|f| f.fused) as u64;
            fused = mix(fused, 4 * p as u64 + bits);
        }
        Scalars {
            fusion_over: sim.ff.fusion_over,
            fused,
            drift_quiet: ff.drift_quiet,
            holdoff: ff.holdoff,
            backoff: ff.backoff,
            seen: ff.seen,
            drift_any: ff.drift_any,
            r_hints: ff.r_hints,
            x_hints: ff.x_hints,
        }
    }
}

impl<'a> Sim<'a> {
    /// At the first record after a drifting jump (ring slot `s`, the history's first): jump
    /// whole repeats of the stretch since a held point whose state this one repeats, or hold
    /// this one. The steps jumped over, if jumped.
    #[cold]
    #[inline(never)]
    pub(super) fn ff_rotation(&mut self, ff: &mut Detector, s: usize) -> Option<u64> {
        let (nr, nx) = (ff.nr, ff.nx);
        let det = Scalars::of(ff, self);
        let rot = &mut ff.rot;
        if rot.r.len() != HELD * nr || rot.x.len() != HELD * nx {
            rot.r.resize(HELD * nr, 0.0);
            rot.x.resize(HELD * nx, 0.0);
            rot.pts.resize(HELD, Point::default());
            rot.n = 0;
        }
        let here = ff.marks[s];
        let (rs, xs) = (&ff.r[s * nr..(s + 1) * nr], &ff.x[s * nx..(s + 1) * nx]);
        let traced = self.trace.is_some() || self.sampler.is_some();
        let found = (1..=rot.n.min(HELD)).map(|back| (rot.n - back) % HELD).find(|&j| {
            let p = &rot.pts[j];
            if p.mark.hash != here.hash || p.det != det || p.mark.time == here.time {
                return false;
            }
            if !rs.iter().zip(&rot.r[j * nr..(j + 1) * nr]).all(|(&v, &w)| close(v, w, R_TOL)) {
                return false;
            }
            // With a trace or the wait sampler, each process's state began at the same point
            // of the stretch or lasted through it (as `ff_repeats_once` asks of a period).
            let (ts, ta) = (here.time as f64, p.mark.time as f64);
            !traced
                || (0..self.procs.len()).all(|q| {
                    let (vs, va) = (xs[q * XP + X_SINCE], rot.x[j * nx + q * XP + X_SINCE]);
                    vs == va || ((ts - vs) - (ta - va)).abs() <= 1.0
                })
        });
        let point =
            Point { mark: here, steps: ff.steps, trace_len: ff.trace_len[s], sample_mark: ff.sample_mark[s], det };
        let Some(j) = found else {
            rot.hold(point, rs, xs);
            return None;
        };
        // The held point goes into the ring slot after this record's (the history holds this
        // record only), where `ff_periods` and `ff_jump` read a period's start.
        let p = rot.pts[j];
        let a = (s + 1) % RING;
        if ff.r.len() < (a + 1) * nr {
            ff.r.resize((a + 1) * nr, 0.0);
            ff.x.resize((a + 1) * nx, 0.0);
        }
        ff.r[a * nr..(a + 1) * nr].copy_from_slice(&rot.r[j * nr..(j + 1) * nr]);
        ff.x[a * nx..(a + 1) * nx].copy_from_slice(&rot.x[j * nx..(j + 1) * nx]);
        ff.marks[a] = p.mark;
        ff.marks[a + RING] = p.mark;
        ff.trace_len[a] = p.trace_len;
        ff.sample_mark[a] = p.sample_mark;
        if !self.ff_rotation_claims(ff, s, a) {
            ff.rot.n = 0;
            ff.rot.hold(point, &ff.r[s * nr..(s + 1) * nr], &ff.x[s * nx..(s + 1) * nx]);
            return None;
        }
        let k = ff.steps - p.steps;
        let (n, _, by_ramp) = self.ff_periods(ff, s, a, None);
        if n == 0 {
            // (Too near a threshold: the stretch is stepped and jumped as before, from this
            // point on.)
            ff.rot.n = 0;
            ff.rot.hold(point, &ff.r[s * nr..(s + 1) * nr], &ff.x[s * nx..(s + 1) * nx]);
            return None;
        }
        self.ff_jump(ff, s, a, n, None);
        if by_ramp - (n as f64) < 3.0 && !self.ff_any_fused() {
            ff.until_halved = Some(self.ff_ramp().0);
        }
        let skipped = n * k;
        ff.jumps += 1;
        ff.skipped_steps += skipped;
        ff.clear();
        ff.backoff = 0;
        ff.rot.reset();
        Some(skipped)
    }

    /// The drifting jumps inside the stretch from record slot `a` to `s` claimed the chunks
    /// fused flows had run past (`ff_claim_owed`), so a fused flow's progress fell by the
    /// chunks it left behind, and the blocks handed out grew by them. A jump claims those
    /// chunks itself, in order (`ff_claim_in_order`): the start's growing vector is made to
    /// read as if none had been claimed. A fused flow's progress over the stretch is its
    /// process's tuples scanned (one scan flow a process); what it left behind is that less
    /// its progress's growth, whole chunks, as many blocks as the chunks it claimed (the
    /// chunk size, part of the repeating state, is the same at both ends). False if a
    /// process has two fused flows.
    fn ff_rotation_claims(&self, ff: &mut Detector, s: usize, a: usize) -> bool {
        let (nx, tpp) = (ff.nx, self.ff_tuples_per_page());
        let mut left_behind = 0.0;
        for (p, pr) in self.procs.iter().enumerate() {
            let fused = [(pr.act_flow(), X_DONE), (pr.saved.as_ref(), X_SDONE)]
                .into_iter()
                .filter(|(f, _)| f.is_some_and(|f| f.fused))
                .map(|(_, j)| j);
            let mut at = None;
            for j in fused {
                if at.replace(j).is_some() {
                    return false;
                }
            }
            let Some(j) = at else { continue };
            let o = p * XP;
            let (xs, xa) = (s * nx + o, a * nx + o);
            let prog = ff.x[xs + X_TUPLES] - ff.x[xa + X_TUPLES];
            left_behind += (prog - (ff.x[xs + j] - ff.x[xa + j])) / tpp;
            ff.x[xa + j] = ff.x[xs + j] - prog;
            ff.x[xa + j + 1] = ff.x[xs + j + 1] - prog;
            ff.x[xa + X_LAST] = ff.x[xs + X_LAST];
        }
        let go = self.procs.len() * XP + self.queues.len() * XQ;
        ff.x[a * nx + go + 4] += left_behind;
        true
    }
}
