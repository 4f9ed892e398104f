//! Steady-state fast-forward. After start-up the executor is deterministic (no random draw
//! once every process runs), so when its whole state — what each process does, its flow's
//! rates and distances to their stop points, each tuple queue's fill, the scheduler's line,
//! the pending events relative to now — is the same at two step boundaries `k` steps apart, the
//! next periods repeat the last one, and every counter grows as it grew over it (a drifting
//! period, `drift`, needs three boundaries and both periods' growth alike).
//! Counters (time, per-state times, rows, pages, stalls, queue bytes, blocks handed out, flow
//! progress, generations, events) are then extrapolated over `N` whole periods at once, `N`
//! chosen so that no threshold that would end the regime is crossed: a flow's end (a chunk, an
//! emission), the scan's ramp-down and end, a private scan's end, a tuple bound, the LIMIT,
//! the leader's own rows running out in a Gather Merge. What cannot be extrapolated is not
//! jumped over: shared hash builds, the shutdown. A trace gets the last period's intervals
//! and queue points again, shifted, for every period jumped.
//!
//! Exactness: the state must repeat to `R_TOL` (relative); with a trace or the wait sampler,
//! each process's current state must also have begun at the same point of the period (or
//! lasted through it), so that the intervals repeated are those stepping would close. The
//! extrapolated counters are then those of the step-by-step run to within that tolerance per
//! period (`tests/fast_forward.rs` checks the end results).

use super::*;
use quick::{close, u64_f64, Quick};
use repeat::{first_failing, mix, remember, Hints, IdHasher};

mod drift;
mod fuse;
mod jump;
mod quick;
mod ramp;
mod record;
mod repeat;
mod rotation;

/// Longest period looked for, in steps.
const K_MAX: usize = 512;
const RING: usize = 2 * K_MAX + 1;
/// Relative tolerance to which the state must repeat.
const R_TOL: f64 = 1e-4;
/// Relative tolerance to which the growth of counters must repeat.
const D_TOL: f64 = 1e-4;
const WINDOW: usize = 3 * K_MAX;
const MAX_BACKOFF: usize = 1024 * K_MAX;

// Per-process counters (offsets in a process's block of the extrapolated vector).
const X_ACCT: usize = 0; // 7 fields
const X_TUPLES: usize = 8;
const X_ROWS_OUT: usize = 11;
const X_PRIVATE: usize = 12;
const X_LAST: usize = 13;
const X_DONE: usize = 14;
const X_SDONE: usize = 16;
const X_GEN: usize = 18;
const X_SINCE: usize = 19;
const XP: usize = 22;
const XQ: usize = 2;
// Entries of the repeating vector per process (two flows of 7, chunk size, emit total, lag)
// and per queue (published, pending, consumed-but-unpublished bytes).
const RP: usize = 17;
const RQ: usize = 3;

/// Fast-forward's switch and its detector. The detector lives in a box that `try_fast_forward`
/// takes out for the step and puts back (a pointer move: the detector is a few hundred bytes,
/// moved out and back at every step before).
#[derive(Default)]
pub(super) struct FastForward {
    pub(super) enabled: bool,
    /// The shared scan's fusion has ended (its budget ran out): no flow is fused again.
    fusion_over: bool,
    /// Some flow of the shared scan has been fused (`ff_fuse_ok`): until then, the records
    /// need not say who scans (`Detector::scanning`).
    fused_ever: bool,
    det: Option<Box<Detector>>,
}

thread_local! {
    /// The detector of this thread's last replication, kept for the next one: its rings stay
    /// allocated and their pages touched, so a replication neither allocates nor zeroes them
    /// again (a ring of a thousand records of a few hundred numbers each).
    static SPARE: std::cell::Cell<Option<Box<Detector>>> = const { std::cell::Cell::new(None) };
}

impl Drop for FastForward {
    fn drop(&mut self) {
        if let Some(d) = self.det.take() {
            SPARE.with(|s| s.set(Some(d)));
        }
    }
}

/// A detector with no history: this thread's spare one, reset, or a new one. What a reset
/// keeps are buffers whose contents are never read before they are written again (slots of
/// the rings are read only once written since the history was last cleared; entries of the
/// hash map from an earlier epoch count as absent) and the repeat tests' hints, which change
/// the order of the tests, never their answer; so a run gives the same bits either way.
fn fresh_detector() -> Box<Detector> {
    let Some(mut d) = SPARE.with(|s| s.take()) else { return Box::default() };
    d.n = 0;
    d.unrecorded = 0;
    d.holdoff = 0;
    d.sleep = 0;
    d.backoff = 0;
    d.seen = false;
    d.until_unfused = false;
    d.until_halved = None;
    d.jumps = 0;
    d.skipped_steps = 0;
    d.records = 0;
    d.r_hints = Hints::default();
    d.x_hints = Hints::default();
    d.drift_quiet = 0;
    d.drift_any = false;
    d.drift_kind.clear();
    d.steps = 0;
    d.rot.reset();
    d.probe_k = 0;
    d.probe_left = 0;
    d.probing = false;
    d
}

impl FastForward {
    /// Steps jumped over so far.
    pub(super) fn skipped_steps(&self) -> u64 {
        self.det.as_ref().map_or(0, |d| d.skipped_steps)
    }

    /// Step boundaries the detector recorded so far.
    pub(super) fn records(&self) -> u64 {
        self.det.as_ref().map_or(0, |d| d.records)
    }
}

/// The detector's history and the counters of what it skipped. Buffers are reused: no
/// allocation once warm.
#[derive(Default)]
struct Detector {
    /// Records since the history was last cleared.
    n: usize,
    /// Steps since the history was last cleared that were not recorded because a worker was
    /// still starting (`ff_worker_starting`). They count towards the detector's window and
    /// `drift::LONG` as records would (`age`).
    unrecorded: usize,
    nr: usize,
    nx: usize,
    /// Each record's hash, time, events delivered and distance back to the previous record
    /// with its hash, held twice (at `i % RING` and `i % RING + RING`) so that the records
    /// `k` and `2 k` back are at `s + RING - k` and `s + RING - 2 k`, no modulo: the candidate
    /// walk reads what it tests of a candidate from two entries (`Mark`).
    marks: Vec<Mark>,
    /// Keyed by hash: the history's `epoch` and the record. Entries of an earlier epoch
    /// count as absent, so a reset bumps the epoch instead of clearing the map (a clear
    /// writes the whole control array, however few entries are left: once per reset, and
    /// a scan reading from disk resets the history at almost every chunk).
    last: std::collections::HashMap<u64, (u64, usize), std::hash::BuildHasherDefault<IdHasher>>,
    epoch: u64,
    /// Lengths of the trace's intervals and queue points at each recorded step.
    trace_len: Vec<(usize, usize)>,
    /// The wait sampler's interval mark at each recorded step (`sampler::Sampler::mark`).
    sample_mark: Vec<usize>,
    /// The participants running their scans at each recorded step (`ff_scanning`).
    scanning: Vec<u64>,
    r: Vec<f64>,
    x: Vec<f64>,
    /// Scratch for a jump's extrapolated counters.
    cur_x: Vec<f64>,
    /// Scratch for a jump: each process's generations and fused flows' progress per period.
    dgen: Vec<u64>,
    rates: Vec<(f64, f64)>,
    ev: Vec<(Time, u64, u64)>,
    /// The entries of the repeating and growing vectors that last failed a repeat test, the
    /// latest first (`remember`).
    r_hints: Hints,
    x_hints: Hints,
    /// Steps to wait before looking again (a period was found but could not be jumped).
    holdoff: usize,
    /// Steps left not even recorded: after a window of `WINDOW` steps without any repeating
    /// period, the detector sleeps `backoff` steps (doubling up to `MAX_BACKOFF`), so a run
    /// without a steady state pays little for it.
    sleep: usize,
    backoff: usize,
    /// A period repeated (jumpable or not) since the history was cleared.
    seen: bool,
    /// The last period found was cut short by the fusion budget (`ff_periods`): no other jump
    /// is possible while the shared scan's flows stay fused, so nothing is recorded until
    /// fusion ends.
    until_unfused: bool,
    /// The last period found claimed too many blocks to be jumped before the next halving of
    /// the chunk size (at this `ff_ramp` point): later periods of the stage have less room
    /// still, and the shortest period is the first found, so nothing is recorded until every
    /// participant has halved (the next stage of the ramp-down) or the last block is handed out.
    until_halved: Option<f64>,
    jumps: u64,
    skipped_steps: u64,
    /// Step boundaries recorded this replication (`ff_capture` in `ff_step`).
    records: u64,
    /// What each entry of the repeating vector is, for periods whose state drifts (`drift`).
    /// Laid out afresh for every replication: a queue's limit is the run's ring size.
    drift_kind: Vec<drift::Kind>,
    /// The entries that may drift, with the bound each must stay under (`drift_room`).
    drift_at: Vec<(usize, f64)>,
    /// Scratch for a drifting period's check after a trial jump.
    vr: Vec<f64>,
    vx: Vec<f64>,
    vx0: Vec<f64>,
    vev: Vec<(Time, u64, u64)>,
    /// Steps during which no drifting period is tried (one was too short to be worth a jump).
    drift_quiet: usize,
    /// No exact period was found in a long history (`drift::LONG` records) this replication:
    /// short drifting periods are jumped too.
    drift_any: bool,
    /// Steps stood for so far (stepped and jumped), as the engine counts them.
    steps: u64,
    /// The first records after drifting jumps (`rotation`).
    rot: rotation::Rotations,
    /// The steps of the last exact period jumped, when the next halving of the chunk size
    /// bound that jump (a stage of the ramp-down, `until_halved`); 0 otherwise. The next
    /// stage's regime is probed for a period of as many steps (`probing`).
    probe_k: usize,
    /// Steps left, after a probe's first record, before its second one.
    probe_left: usize,
    /// The history is a probe: its first record, then one `probe_k` steps later, nothing
    /// recorded in between (the jump needs only the two ends of a period: the state at the
    /// second is the state at the first, and the executor is deterministic). A probe whose
    /// second record does not repeat the first (or cannot be jumped) is dropped, and the
    /// history starts afresh, recording every step.
    probing: bool,
}

/// What the candidate walk reads of a record, side by side.
#[derive(Clone, Copy, Default)]
struct Mark {
    hash: u64,
    time: Time,
    delivered: u64,
    /// Records back to the previous record with the same hash in this history (`u32::MAX`:
    /// none; saturated, any distance past `K_MAX` ends the walk alike). The periods `k` worth
    /// checking are found by walking this chain, not by trying every `k` up to `K_MAX`.
    back: u32,
}

impl Detector {
    /// The history starts afresh.
    fn clear(&mut self) {
        self.n = 0;
        self.unrecorded = 0;
        self.probe_left = 0;
        self.probing = false;
    }

    /// A probe's second record found no period to jump: no more probes this replication, and
    /// the history starts afresh (its two records are not a step apart).
    fn drop_probe(&mut self) {
        self.probe_k = 0;
        self.clear();
    }

    /// Steps since the history was last cleared, recorded or not.
    fn age(&self) -> usize {
        self.n + self.unrecorded
    }

    /// Count a step of the history (recorded or not); false while holding off after a
    /// period that could not be jumped.
    fn counted(&mut self) -> bool {
        self.drift_quiet = self.drift_quiet.saturating_sub(1);
        self.drift_any |= self.age() >= drift::LONG;
        if self.holdoff > 0 {
            self.holdoff -= 1;
            return false;
        }
        true
    }

    /// After a step without a jump: a window of `WINDOW` steps without any repeating period
    /// sends the detector to sleep.
    fn window_end(&mut self) {
        if self.age() >= WINDOW && !self.seen {
            self.backoff = (self.backoff * 2).clamp(4 * K_MAX, MAX_BACKOFF);
            self.sleep = self.backoff;
            self.clear();
            self.rot.reset();
        }
        if self.age() == 0 || self.age() >= WINDOW {
            self.seen = false;
        }
    }
}

/// A flow whose stop point is not part of the state that must repeat: a fused flow with no
/// stop ahead, and the leader's fused local scan, which stops at its next tuple once a queue
/// has tuples. Where that tuple boundary falls rotates by a fraction of a tuple every period
/// (the leader scans a fractional number of rows between two reads), never exactly coming
/// back; the step sequence and every counter's growth do not depend on it, so the detector
/// lets it drift (within the tolerance `tests/fast_forward.rs` holds jumps to) and a jump
/// recomputes the stop from the extrapolated rows.
fn ff_stop_free(f: &Flow, lead: bool) -> bool {
    f.fused && (lead || !f.stop_at.is_finite())
}

fn phase_code(ph: Phase) -> u64 {
    match ph {
        Phase::Startup => 1,
        Phase::Build(b) => 2 + 16 * b as u64,
        Phase::Scan => 3,
        Phase::Finish(i) => 4 + 16 * i as u64,
        Phase::Emit => 5,
        Phase::Done => 6,
    }
}

fn kind_code(k: FlowKind) -> u64 {
    match k {
        FlowKind::Build(b) => 1 + 16 * b as u64,
        FlowKind::Scan => 2,
        FlowKind::Finish(i) => 3 + 16 * i as u64,
        FlowKind::Emit => 4,
        FlowKind::Drain(j) => 5 + 16 * j as u64,
        FlowKind::Merge => 6,
        FlowKind::TopFinish(i) => 7 + 16 * i as u64,
        FlowKind::TopEmit => 8,
        FlowKind::Startup => 9,
        FlowKind::Exit => 10,
        FlowKind::Fork => 11,
        FlowKind::Woken(s) => 12 + 16 * s as u64,
        FlowKind::SetLatch => 13,
    }
}

impl Proc {
    fn act_flow(&self) -> Option<&Flow> {
        if let Act::Flow(f) = &self.act {
            Some(f)
        } else {
            None
        }
    }
}

impl<'a> Sim<'a> {
    /// The engine's fast-forward hook: record this step boundary, and jump whole periods
    /// when the last two periods repeat. Returns the steps jumped over.
    pub(super) fn try_fast_forward(&mut self) -> u64 {
        if !self.ff.enabled {
            return 0;
        }
        let mut ff = self.ff.det.take().unwrap_or_else(fresh_detector);
        if ff.until_unfused && !self.ff_waits_for_unfusing() {
            ff.until_unfused = false;
        }
        if ff.until_halved.is_some_and(|r| r != self.ff_ramp().0 || self.scan.nallocated >= self.scan.nblocks) {
            ff.until_halved = None;
        }
        if ff.sleep > 0 || ff.until_unfused || ff.until_halved.is_some() {
            ff.rot.reset();
        }
        let skipped = if ff.sleep > 0 {
            ff.sleep -= 1;
            self.ff_forget_samples();
            0
        } else if ff.until_unfused || ff.until_halved.is_some() {
            ff.clear();
            self.ff_forget_samples();
            0
        } else if !self.ff_eligible() || self.ff_in_rampdown() || self.ff_in_tail() {
            ff.clear();
            ff.rot.reset();
            self.ff_forget_samples();
            0
        } else if self.ff_worker_starting() {
            // No period can be jumped while a worker starts: its start-up ends at a time drawn
            // at random, a pending stop that comes nearer every period, so no state repeats
            // (and no drifting period is tried either). The step is counted, not recorded: the
            // history starts with the first step after every worker has begun, which is where
            // the first candidate period of stepping all along began too (an earlier record
            // differs in the starting worker's phase, so its hash differs).
            ff.unrecorded += ff.n + 1;
            ff.n = 0;
            ff.rot.reset();
            self.ff_forget_samples();
            if ff.counted() {
                ff.window_end();
            }
            0
        } else {
            self.ff_step(&mut ff)
        };
        ff.steps += 1 + skipped;
        self.ff.det = Some(ff);
        skipped
    }

    /// States the detector may look at: the Gather (or Gather Merge) running, no trace.
    fn ff_eligible(&self) -> bool {
        self.ff.enabled
            && self.finished_at.is_none()
            && matches!(self.mode, LeaderMode::Gather | LeaderMode::Merge)
            && !self.procs.iter().any(|p| matches!(p.phase, Phase::Build(_)))
            && !self.queues.iter().any(|q| q.receiver_detached)
            && !self.q.has_cancelled()
            && self.q.len() <= self.procs.len() + 4
    }

    /// Some process's running or waiting flow is fused.
    fn ff_any_fused(&self) -> bool {
        self.procs.iter().any(|p| p.act_flow().is_some_and(|f| f.fused) || p.saved.as_ref().is_some_and(|f| f.fused))
    }

    fn ff_step(&mut self, ff: &mut Detector) -> u64 {
        let (nr, nx) = self.ff_sizes();
        if ff.marks.len() != 2 * RING || ff.nr != nr || ff.nx != nx {
            ff.marks.resize(2 * RING, Mark::default());
            ff.trace_len.resize(RING, (0, 0));
            ff.sample_mark.resize(RING, 0);
            ff.scanning.resize(RING, 0);
            // The state vectors' slots are added as the history first reaches them (see
            // `ff_capture`): a run whose periods are found early never touches most of the ring.
            // The capacity is reserved at once (allocated, not written), so no slot moves.
            ff.r.clear();
            ff.x.clear();
            ff.r.reserve_exact(RING * nr);
            ff.x.reserve_exact(RING * nx);
            ff.nr = nr;
            ff.nx = nx;
            ff.n = 0;
            ff.rot.reset();
            ff.drift_kind.clear();
        }
        if ff.drift_kind.is_empty() {
            self.ff_drift_layout(ff);
        }
        if ff.probe_left > 0 {
            // Inside a probe: the step is counted, not recorded (as `counted` would count it).
            ff.probe_left -= 1;
            ff.unrecorded += 1;
            ff.drift_quiet = ff.drift_quiet.saturating_sub(1);
            return 0;
        }
        let i = ff.n;
        let s = i % RING;
        let h = self.ff_capture(ff, s);
        ff.records += 1;
        if i == 0 {
            ff.epoch += 1;
        }
        let epoch = ff.epoch;
        if ff.last.len() > 4 * RING {
            ff.last.retain(|_, &mut (e, j)| e == epoch && i - j <= K_MAX);
        }
        let back = match ff.last.insert(h, (epoch, i)) {
            Some((e, j)) if e == epoch => (i - j).min(u32::MAX as usize) as u32,
            _ => u32::MAX,
        };
        let mark = Mark { hash: h, time: self.now(), delivered: self.q.delivered(), back };
        ff.marks[s] = mark;
        ff.marks[s + RING] = mark;
        ff.trace_len[s] = self.trace.as_ref().map_or((0, 0), |t| (t.intervals.len(), t.queue.len()));
        // (Read only by a jump over fused flows, whose period's records all follow the first
        // fusion: none before it has a fused flow, so none repeats there.)
        ff.scanning[s] = if self.ff.fused_ever && !self.ff.fusion_over { self.ff_scanning() } else { 0 };
        if let Some(sm) = self.sampler.as_mut() {
            ff.sample_mark[s] = sm.mark();
            // A jump repeats intervals from at most K_MAX records back.
            let from = ff.sample_mark[(i - i.min(K_MAX)) % RING];
            sm.keep_from(ff.rot.oldest_sample_mark().map_or(from, |m| m.min(from)));
        }
        ff.n += 1;
        if i == 0 && ff.rot.armed {
            ff.rot.armed = false;
            if let Some(skipped) = self.ff_rotation(ff, s) {
                ff.probe_k = 0;
                return skipped;
            }
        }
        if i == 0 && ff.probe_k > 1 && ff.holdoff == 0 && !(self.ff.fused_ever && !self.ff.fusion_over) {
            ff.probing = true;
            ff.probe_left = ff.probe_k - 1;
        }
        if !ff.counted() {
            return 0;
        }
        // The earlier records with this hash, nearest first: the candidate periods in
        // increasing order (the same ones, in the same order, as trying every k). An exact
        // period needs one repeat (the state now is the state `k` records ago: the executor is
        // deterministic, so the next `k` steps repeat the last `k`); a drifting one two.
        let limit = K_MAX.min(i);
        let (t, dv) = (mark.time, mark.delivered);
        let mut k = back as usize;
        // Most candidates fail at the entry that failed last (`r_hints[0]`), where
        // `ff_repeats_once` answers inline without touching the hints, and then go no further
        // than the drifting branch's cheap tests (or not even there): a rejection with no side
        // effect, made here in a tight loop (`Quick`) with what it reads held in registers.
        // Whatever goes past it (a candidate that passes that entry, or one worth a drifting
        // period's test) takes the full path, which may move the hints or `drift_quiet`, so
        // `Quick` is read again after it (and first at the first candidate: most records have
        // none).
        let mut quick: Option<Quick> = None;
        while k <= limit {
            let ma = ff.marks[s + RING - k];
            let this = k;
            k += ma.back as usize;
            let k = this;
            if t == ma.time {
                continue;
            }
            let a = if s >= k { s - k } else { s + RING - k };
            if quick.get_or_insert_with(|| Quick::new(ff, s, nr, i)).rejects(ff, a, k, (h, t, dv, ma)) {
                continue;
            }
            let tested = self.ff_repeats_once(ff, s, a);
            quick = None;
            match tested {
                Ok(()) => {}
                // The state does not repeat: it may drift, each period alike.
                Err(e) if e < nr && ff.drift_quiet == 0 && ff.drift_kind[e].drifts() && 2 * k <= i => {
                    // The cheap tests first (most candidates fail them): the same hash two
                    // periods back, the two periods last as long, to the nanosecond of a
                    // rounding, and delivered as many events.
                    let mb = ff.marks[s + RING - 2 * k];
                    let (d1, d2) = (t - ma.time, ma.time - mb.time);
                    if mb.hash != h || d1.abs_diff(d2) > 1 || dv - ma.delivered != ma.delivered - mb.delivered {
                        continue;
                    }
                    let b = (i - 2 * k) % RING;
                    let repeats = self.ff_repeats(ff, s, a, b);
                    if !matches!(repeats, Err(Some(e)) if ff.drift_kind[e].drifts()) {
                        continue;
                    }
                    if let Some(skipped) = self.ff_drift(ff, i, k) {
                        ff.jumps += 1;
                        ff.probe_k = 0;
                        ff.clear();
                        ff.rot.armed = true;
                        ff.backoff = 0;
                        return skipped;
                    }
                    continue;
                }
                Err(_) => continue,
            }
            ff.seen = true;
            // The participants that run their scans at some point of the period (which do
            // only changes at a step: the records from `a` to `s` hold every point of it).
            let mut scanning = 0;
            for j in 0..=k {
                scanning |= ff.scanning[(a + j) % RING];
            }
            let (n, budget_bound, by_ramp) = self.ff_periods(ff, s, a, Some(scanning));
            let ramp_bound = by_ramp < 1.0;
            ff.until_unfused = budget_bound;
            if n == 0 {
                ff.holdoff = k;
                if ramp_bound {
                    ff.until_halved = Some(self.ff_ramp().0);
                }
                if ff.probing {
                    ff.drop_probe();
                }
                return 0;
            }
            // (A probe's period: its two records, `probe_k` steps apart.)
            let steps = if ff.probing { ff.probe_k } else { k };
            self.ff_jump(ff, s, a, n, None);
            // A jump the next halving of the chunk size bound leaves under three periods before
            // it (`ff_periods` keeps one in hand): a period found again, two periods on, would
            // have none to jump, so nothing is recorded until every participant has halved
            // (tpch-lineitem-sum: the eight steps after each stage's jump).
            if by_ramp - (n as f64) < 3.0 && !self.ff_any_fused() {
                ff.until_halved = Some(self.ff_ramp().0);
            }
            // The next stage is probed for a period of as many steps.
            ff.probe_k = if ff.until_halved.is_some() { steps } else { 0 };
            let skipped = n * steps as u64;
            ff.jumps += 1;
            ff.skipped_steps += skipped;
            ff.clear();
            ff.rot.reset();
            ff.backoff = 0;
            return skipped;
        }
        if ff.probing && i > 0 {
            ff.drop_probe();
            return 0;
        }
        ff.window_end();
        0
    }

    /// A worker is still starting (`ff_worker_starting` in `try_fast_forward`).
    fn ff_worker_starting(&self) -> bool {
        self.procs[1..].iter().any(|p| p.phase == Phase::Startup)
    }

    /// The state at `s` repeats the states at `a` and `b`, and counters grew alike over both
    /// (the caller has checked the periods' durations and events delivered). A conjunction of
    /// independent tests, so their order does not change the answer: each vector is tested
    /// first at the entries that failed last (a candidate that does not repeat mostly fails on
    /// one of the few entries that failed the ones before: the pending events' times, a
    /// queue's fill), which spares the full comparison of most rejected candidates.
    /// `Err(Some(e))`: entry `e` of the repeating vector does not repeat; `Err(None)`: a
    /// counter's growth does not.
    fn ff_repeats(&self, ff: &mut Detector, s: usize, a: usize, b: usize) -> Result<(), Option<usize>> {
        let nr = ff.nr;
        let r = |i: usize| &ff.r[i * nr..(i + 1) * nr];
        let (rs, ra, rb) = (r(s), r(a), r(b));
        let r_ok = |s: f64, a: f64, b: f64| close(s, a, R_TOL) & close(a, b, R_TOL);
        if let Some(j) = first_failing(rs, ra, rb, &ff.r_hints, r_ok) {
            remember(&mut ff.r_hints, j);
            return Err(Some(j));
        }
        if Self::ff_grows_alike(ff, s, a, b) {
            Ok(())
        } else {
            Err(None)
        }
    }

    /// The state at `s` repeats the state at `a` (one period); `Err(e)`: entry `e` of the
    /// repeating vector does not. Tested first at the entries that failed last, as
    /// `ff_repeats` does.
    fn ff_repeats_once(&self, ff: &mut Detector, s: usize, a: usize) -> Result<(), usize> {
        let nr = ff.nr;
        // The entry that failed last, first and inline: most candidates fail there (the same
        // answer `first_failing` would give, which tries the hints first, and `remember` leaves
        // the hints as they are when it is already first). `first_failing` then tries the
        // other hints only.
        let h = ff.r_hints[0];
        if h < nr && !close(ff.r[s * nr + h], ff.r[a * nr + h], R_TOL) {
            return Err(h);
        }
        let r = |i: usize| &ff.r[i * nr..(i + 1) * nr];
        let (rs, ra) = (r(s), r(a));
        let r_ok = |s: f64, a: f64, _: f64| close(s, a, R_TOL);
        let mut others = ff.r_hints;
        others[0] = usize::MAX;
        if let Some(j) = first_failing(rs, ra, ra, &others, r_ok) {
            remember(&mut ff.r_hints, j);
            return Err(j);
        }
        // Each process's state began at the same point of the period (a trace's and the wait
        // sampler's intervals close as they did over the period), or lasted through it. Only
        // those intervals read when a state began (`record_states`): without them, not needed.
        if self.trace.is_none() && self.sampler.is_none() {
            return Ok(());
        }
        let (ts, ta) = (ff.marks[s].time as f64, ff.marks[a].time as f64);
        let (nx, np) = (ff.nx, self.procs.len());
        for p in 0..np {
            let j = p * XP + X_SINCE;
            let (vs, va) = (ff.x[s * nx + j], ff.x[a * nx + j]);
            if vs != va && ((ts - vs) - (ta - va)).abs() > 1.0 {
                return Err(usize::MAX);
            }
        }
        Ok(())
    }

    /// Every counter grew alike over the periods `b..a` and `a..s`.
    fn ff_grows_alike(ff: &mut Detector, s: usize, a: usize, b: usize) -> bool {
        let d1 = ff.marks[s].time - ff.marks[a].time;
        let d2 = ff.marks[a].time - ff.marks[b].time;
        let nx = ff.nx;
        let x = |i: usize| &ff.x[i * nx..(i + 1) * nx];
        let (xs, xa, xb) = (x(s), x(a), x(b));
        // Time-like counters may differ by the nanosecond the periods differ by.
        let slack = d1.abs_diff(d2) as f64 + 1e-9;
        let x_ok = |s: f64, a: f64, b: f64| {
            let (g1, g2) = (s - a, a - b);
            (g1 - g2).abs() <= D_TOL * g1.abs().max(g2.abs()) + slack * 1e-3
        };
        if let Some(j) = first_failing(xs, xa, xb, &ff.x_hints, x_ok) {
            remember(&mut ff.x_hints, j);
            return false;
        }
        true
    }

    /// Fusion still holds, and with it the budget that cut the last period found short: the
    /// fused flows only draw on the blocks left (`ff_fuse_budget`), so a later period of this
    /// regime fits even less (a jump needs two periods recorded, one in hand and one jumped,
    /// and the budget left after a jump it limited is under two). The shortest period is
    /// the first one found, so no shorter one comes up either.
    fn ff_waits_for_unfusing(&self) -> bool {
        !self.ff.fusion_over && self.ff_any_fused()
    }

    /// How many whole periods can be jumped without crossing a threshold that ends the regime,
    /// whether the fusion budget was what bound them, and how many the next halving of the
    /// chunk size alone leaves to jump (under 1: none).
    ///
    /// `scanning`: the participants that run their scans at some point of the period, when the
    /// records from `a` to `s` hold all of it (an exact period; not a drifting one, whose
    /// trial jumps the history, nor a rotation's stretch). The fusion budget then bounds the
    /// jump with no period in hand; without, one is kept.
    fn ff_periods(&self, ff: &Detector, s: usize, a: usize, scanning: Option<u64>) -> (u64, bool, f64) {
        let nx = ff.nx;
        let xs = &ff.x[s * nx..(s + 1) * nx];
        let xa = &ff.x[a * nx..(a + 1) * nx];
        let g = |j: usize| xs[j] - xa[j];
        let d = (ff.marks[s].time - ff.marks[a].time) as f64;
        // Whole periods before `v` (growing by `dv` per period) comes within `margin` of `limit`,
        // keeping one period in hand for the step-by-step run to cross it.
        let fit = |v: f64, dv: f64, limit: f64, margin: f64| -> f64 {
            if dv.abs() <= 1e-12 * v.abs().max(1.0) {
                return f64::INFINITY;
            }
            let room = if dv > 0.0 { limit - margin - v } else { v - limit - margin };
            (room / dv.abs()).floor() - 1.0
        };
        let mut n = (1e15 / d).floor();
        let nprocs = self.procs.len();
        // Tuples per period of fused flows (they cross chunk ends).
        let mut fused = 0.0;
        for p in 0..nprocs {
            let o = p * XP;
            let pr = &self.procs[p];
            let flows = [(pr.act_flow(), o + X_DONE), (pr.saved.as_ref(), o + X_SDONE)];
            for (f, j) in flows {
                let Some(f) = f else { continue };
                if f.fused {
                    fused += g(j).max(0.0);
                    continue;
                }
                // A flow that progresses over a period (a worker's last chunk once fusion has
                // ended, running between its queue's stop points) is jumped to a period short
                // of its end. One whose progress falls is not one flow: no jump.
                if g(j) < 0.0 {
                    n = n.min(0.0);
                }
                n = n.min(fit(f.done, g(j), f.total, 1.0 + 1e-6 * f.total));
            }
            let pipe = self.pipe(p);
            if let Some(b) = pipe.bound {
                n = n.min(fit(pr.rows_out, g(o + X_ROWS_OUT), b, 2.0));
            }
            if pr.emit_total > 0.0 {
                n = n.min(fit(pr.rows_out, g(o + X_ROWS_OUT), pr.emit_total, 2.0));
            }
            let chunk = (pipe.source.pages / 64.0).ceil().max(1.0);
            n = n.min(fit(pr.private_left, g(o + X_PRIVATE), 0.0, chunk + 1.0));
        }
        let go = nprocs * XP + self.queues.len() * XQ;
        let (pulled, dpulled, dalloc) = (self.pulled, g(go + 1), g(go + 4));
        if let Some(l) = self.c.consumer.limit {
            n = n.min(fit(pulled, dpulled, l, 2.0));
        }
        // The scan's ramp-down (PARALLEL_SEQSCAN_RAMPDOWN_CHUNKS) and end. A claim halves
        // when its participant's previous claim started past `ramp` (tableam.c), and every
        // claim inside the jumped periods follows a previous one that started at least two
        // chunks short of the blocks handed out by the jump's end: those may reach `ramp`
        // itself. The blocks handed out only grow, a claim at a time, so the largest value
        // inside a period is its last one: no period in hand, no margin (`ff_ramp`'s margin
        // is for the detector's records, `ff_in_rampdown`).
        let by_ramp = self.ff_ramp_periods(&g, dalloc, fused);
        n = n.min(by_ramp);
        let mut by_budget = false;
        if fused > 0.0 || (dalloc > 0.0 && self.ff_scan_may_fuse()) {
            // Fusion must still hold after the jump, with a period in hand (a scan whose
            // flows can never fuse, one read from disk, needs no budget: its chunk ends are
            // steps, its claims counters like any other, and the ramp-down bounds the jump).
            let (free, need) = self.ff_fuse_budget();
            let per = fused / self.ff_tuples_per_page() + dalloc.max(0.0);
            if free < need {
                n = 0.0;
                by_budget = fused > 0.0;
            } else if fused > 0.0 {
                // The budget left only falls over a period (fused flows owe more, claims take
                // blocks), and what it needs changes only at a step, with the participants
                // that run their scans: with the most it needs at any point of the period, it
                // holds through every jumped period if it holds at the last one's end, and
                // stepping would have kept fusion through them too.
                let fits = match scanning {
                    Some(m) => ((free - self.ff_fuse_budget_over(m).1) / per).floor(),
                    None => ((free - need) / per).floor() - 1.0,
                };
                by_budget = fits <= n;
                n = n.min(fits);
            }
        }
        let n = if n.is_finite() && n >= 1.0 { n as u64 } else { 0 };
        (n, by_budget, by_ramp)
    }
}
