//! Periods whose state drifts. Inside one long service of a tuple queue (the leader draining
//! queue j a quarter of the ring at a time while worker j refills it, the other workers asleep
//! on their full queues) the executor runs a cycle of a few steps that never repeats exactly:
//! where the leader's and the worker's publish points fall relative to each other moves by a
//! fraction of a tuple every cycle, until the service ends (the leader catches up with the
//! worker). With a per-run CPU factor that makes that drift slow, a service lasts thousands of
//! steps and a rotation of the services is longer than any period the detector looks for.
//!
//! Such a period is jumped when: the discrete state (the record's hash) is the same at every
//! step of the last two periods; every entry of the repeating vector either repeats or is a
//! distance that drifts by the same amount over both periods (a flow's distance to its stop
//! point, a queue's fill and its unpublished bytes on either side, a pending event's time
//! relative to the clock); and every counter grew alike over both. The jump extrapolates the
//! drifting distances too, `N` periods at once, `N` short of where any of them, at any step of
//! the period, would reach zero (or a queue's quarter-ring or full mark).
//!
//! The executor's choices at every step are comparisons of affine functions of that state, and
//! the state drifts linearly from period to period, so a comparison that comes out the same in
//! the first recorded period and in a period after the jump comes out the same in every period
//! between. The jump is therefore tried on a copy of the simulation, which then steps one more
//! period: if every step has the recorded discrete state and the predicted drifting state,
//! and the counters grew as recorded, the copy replaces the simulation; if not, half as many
//! periods are tried, then none. A drifting jump restarts the detector's history, so short
//! drifts are left alone while the exact detector may still find a whole rotation of the
//! services (`LONG`, `EAGER`).

use super::record::Slot;
use super::*;

/// Fewest periods a drifting period is jumped over.
const N_MIN: u64 = 8;
/// Records without an exact period from which on, for the rest of the replication, drifting
/// periods are jumped from `N_MIN` periods on. Before, only a drift that jumps at least
/// `EAGER` steps is: a rotation of the services that the exact detector can find (up to
/// `K_MAX` steps) is found within two rotations and jumps most of the run at once, and a
/// drifting jump inside a service would restart its search (gather-heavy at 4 workers, 60
/// seeds: 1,714 steps stepped a replication against 2,458 before drifting periods, and no seed
/// worse; `EAGER` at `K_MAX / 4` 1,727). An exact period of `K_MAX` steps is found at its
/// first repeat, within `K_MAX + 1` records of its regime's start; past that and a transient
/// (`K_MAX / 3`), a history without one is taken for a rotation too long to find (the steps
/// not recorded while a worker starts count as records here). 1,173 steps stepped a
/// replication, worst seed 3,401; at `2 K_MAX + K_MAX / 3`, which an exact period needed while
/// it took two repeats, 1,201 and 3,801, with the same wall times to 0.1 µs (four seeds of
/// 60 differ, in steps jumped only).
pub(super) const LONG: usize = K_MAX + K_MAX / 3;
const EAGER: usize = K_MAX / 2;
/// Trial jumps per drifting period found (each halving the periods).
const TRIALS: usize = 3;

/// What an entry of the repeating vector is, for a drifting period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// Must repeat.
    Fixed,
    /// A flow's total or a participant's chunk size: must repeat over the recorded periods,
    /// but a jump's claims of the chunks fused flows crossed may halve it (the scan's
    /// ramp-down), which changes nothing else for a fused flow; not compared after a trial.
    Chunk,
    /// A flow's distance to its stop point (progress units); its rate is the next entry.
    ToStop,
    /// A queue's fill or unpublished bytes, which must stay within `[0, limit]`.
    Queue(f64),
    /// A pending event's time relative to the clock (ns).
    Event,
}

impl Kind {
    /// May drift from period to period.
    pub(super) fn drifts(self) -> bool {
        !matches!(self, Kind::Fixed | Kind::Chunk)
    }
}

impl<'a> Sim<'a> {
    /// The kind of every entry of the repeating vector, and the entries that may drift with
    /// their bounds.
    pub(super) fn ff_drift_layout(&self, ff: &mut Detector) {
        self.ff_drift_kinds(&mut ff.drift_kind);
        ff.drift_at.clear();
        for (e, kind) in ff.drift_kind.iter().enumerate() {
            match kind {
                Kind::Fixed | Kind::Chunk => {}
                Kind::Queue(l) => ff.drift_at.push((e, *l)),
                _ => ff.drift_at.push((e, f64::INFINITY)),
            }
        }
    }

    /// The kind of every entry of the repeating vector (its layout: `ff_capture`).
    fn ff_drift_kinds(&self, out: &mut Vec<Kind>) {
        let (np, nq) = (self.procs.len(), self.queues.len());
        out.clear();
        for _ in 0..np {
            for j in 0..RP {
                out.push(match j {
                    1 | 8 => Kind::ToStop,
                    0 | 7 | 14 => Kind::Chunk,
                    _ => Kind::Fixed,
                });
            }
        }
        for _ in 0..nq {
            out.extend([Kind::Queue(self.qcap), Kind::Queue(self.qcap / 4.0), Kind::Queue(self.qcap / 4.0)]);
        }
        out.push(Kind::Fixed);
        // The turn in progress (its end, like a pending event's, relative to the clock).
        out.push(Kind::Event);
        out.extend(std::iter::repeat_n(Kind::Event, np + 4));
    }

    /// Try the period `k` ending at record `i` as a drifting one (its exact repeat failed at a
    /// drifting entry); the steps jumped over and stepped, if jumped.
    pub(super) fn ff_drift(&mut self, ff: &mut Detector, i: usize, k: usize) -> Option<u64> {
        let (s, a, b) = (i % RING, (i - k) % RING, (i - 2 * k) % RING);
        // (A process still starting may draw a random number: a failed trial would have moved
        // its stream on.)
        if self.procs.iter().any(|p| p.phase == Phase::Startup) {
            return None;
        }
        // (The marks are held twice: `s + RING - k + j` is record `i - k + j`, no modulo.)
        let m = &ff.marks;
        if (1..k).any(|j| m[s + RING - k + j].hash != m[s + RING - 2 * k + j].hash) {
            return None;
        }
        let nr = ff.nr;
        // The cheap bound first (the state now), which mostly refuses: most drifts are short.
        let enough = if ff.drift_any { N_MIN as f64 } else { (EAGER as f64 / k as f64).ceil() };
        let mut room = drift_room(ff, s, a);
        if room.is_nan() || room < enough {
            // (This regime lasts `room` periods more at most; a later look inside it finds less.)
            ff.drift_quiet = (room.max(1.0) as usize) * k;
            return None;
        }
        let linear = (0..nr).all(|e| {
            let (vs, va, vb) = (ff.r[s * nr + e], ff.r[a * nr + e], ff.r[b * nr + e]);
            if close(vs, va, R_TOL) && close(va, vb, R_TOL) {
                return true;
            }
            let (g1, g2) = (vs - va, va - vb);
            let slack = match ff.drift_kind[e] {
                Kind::Fixed | Kind::Chunk => return false,
                Kind::ToStop => 2.0 * ff.r[s * nr + e + 1],
                Kind::Event => 2.0,
                Kind::Queue(_) => 0.0,
            };
            (g1 - g2).abs() <= R_TOL * vs.abs().max(va.abs()).max(vb.abs()) + 1e-3 * g1.abs() + slack
        });
        if !linear || !Self::ff_grows_alike(ff, s, a, b) {
            return None;
        }
        // Short of where a drifting distance, at any step of the period, reaches its bound, and
        // of every threshold an exact period's jump keeps short of.
        let (n, _, _) = self.ff_periods(ff, s, a, None);
        room = room.min(n as f64);
        for j in 1..k {
            room = room.min(drift_room(ff, (i - k + j) % RING, (i - 2 * k + j) % RING));
        }
        if room.is_nan() || room < enough {
            ff.drift_quiet = (room.max(1.0) as usize) * k;
            return None;
        }
        // Each pending event's drift per period, by sequence number (the events of the record
        // at `s`, the state now, in the order of the vector's entries).
        let ev0 = self.procs.len() * RP + self.queues.len() * RQ + 1;
        let evs: Vec<(u64, f64)> = ff
            .ev
            .iter()
            .enumerate()
            .map(|(e, &(_, seq, _))| (seq, ff.r[s * nr + ev0 + e] - ff.r[a * nr + ev0 + e]))
            .collect();
        let mut n = room as u64;
        let swap_rngs = |x: &mut Sim, y: &mut Sim| {
            for (p, q) in x.procs.iter_mut().zip(y.procs.iter_mut()) {
                std::mem::swap(&mut p.rng, &mut q.rng);
            }
        };
        for _ in 0..TRIALS {
            let mut trial = self.ff_trial();
            swap_rngs(self, &mut trial);
            trial.ff_jump(ff, s, a, n, Some(&evs));
            if trial.ff_verify(ff, i, k, n) {
                *self = trial;
                ff.skipped_steps += n * k as u64;
                return Some((n + 1) * k as u64);
            }
            swap_rngs(self, &mut trial);
            n /= 2;
            if n < N_MIN {
                break;
            }
        }
        ff.drift_quiet = 4 * k;
        None
    }

    /// A drifting period's jump of `n` periods moves each queue's unpublished bytes on (its
    /// fill is the difference of two counters, extrapolated with them).
    pub(super) fn ff_drift_queues(&mut self, ff: &Detector, s: usize, a: usize, n: u64) {
        let (nr, o) = (ff.nr, self.procs.len() * RP);
        for (j, q) in self.queues.iter_mut().enumerate() {
            let g = |e: usize| ff.r[s * nr + o + j * RQ + e] - ff.r[a * nr + o + j * RQ + e];
            q.pending = (q.pending + n as f64 * g(1)).max(0.0);
            q.consumed_pending = (q.consumed_pending + n as f64 * g(2)).max(0.0);
        }
    }

    /// After a trial jump of `n` periods: step one period, checking that every step reaches the
    /// discrete state the recorded period reached, with the drifting state predicted for it,
    /// and that the counters grow as over the recorded periods.
    fn ff_verify(&mut self, ff: &mut Detector, i: usize, k: usize, n: u64) -> bool {
        let (nr, nx) = (ff.nr, ff.nx);
        ff.vr.resize(nr, 0.0);
        ff.vx.resize(nx, 0.0);
        ff.vx0.resize(nx, 0.0);
        self.ff_read_x(&mut Slot { buf: &mut ff.vx0, at: 0 });
        let m = (n + 1) as f64;
        for j in 1..=k {
            if crate::engine::step(self).is_err() || crate::engine::Model::observe(self) || !self.ff_eligible() {
                return false;
            }
            let h = self.ff_capture_into(&mut ff.vev, &mut ff.vr, &mut ff.vx);
            let (p1, p0) = ((i - k + j) % RING, (i - 2 * k + j) % RING);
            if h != ff.marks[p1].hash {
                return false;
            }
            for e in 0..nr {
                let (v1, d) = (ff.r[p1 * nr + e], ff.r[p1 * nr + e] - ff.r[p0 * nr + e]);
                let (v, want) = (ff.vr[e], v1 + m * d);
                let slack = match ff.drift_kind[e] {
                    Kind::Chunk => continue,
                    Kind::Event => 2.0 * m,
                    Kind::ToStop => 2.0 * m * ff.r[p1 * nr + e + 1],
                    _ => 0.0,
                };
                if (v - want).abs() > 0.02 * m * d.abs() + 1e-3 * v.abs().max(want.abs()) + 1e-6 + slack {
                    return false;
                }
            }
        }
        let (s, a) = (i % RING, (i - k) % RING);
        (0..nx).all(|e| {
            let (g, want) = (ff.vx[e] - ff.vx0[e], ff.x[s * nx + e] - ff.x[a * nx + e]);
            (g - want).abs() <= 2.0 * D_TOL * g.abs().max(want.abs()) + 1e-6
        })
    }

    /// A copy of the simulation to try a jump on (without the detector, which the caller
    /// holds).
    fn ff_trial(&self) -> Sim<'a> {
        Sim {
            c: self.c,
            hw: self.hw,
            settings: self.settings,
            q: self.q.clone(),
            procs: self.procs.iter().map(Proc::copy_without_rng).collect(),
            queues: self.queues.clone(),
            scan: self.scan.clone(),
            whole_next: self.whole_next,
            shared_builds: self.shared_builds.clone(),
            qcap: self.qcap,
            tuple_bytes: self.tuple_bytes,
            mode: self.mode,
            next_reader: self.next_reader,
            pulled: self.pulled,
            gather_first_row: self.gather_first_row,
            gather_end: self.gather_end,
            top_rows_in: self.top_rows_in,
            top_stage: self.top_stage,
            top_rows_out: self.top_rows_out,
            local_rows_total: self.local_rows_total,
            stalls: self.stalls,
            trace: self.trace.clone(),
            sampler: self.sampler.clone(),
            finished_at: self.finished_at,
            steps: self.steps,
            post_phase: self.post_phase,
            subplan_gather: self.subplan_gather.clone(),
            rq: self.rq.clone(),
            others_busy: self.others_busy,
            slots_released: self.slots_released,
            run_speed: self.run_speed,
            fluid: self.fluid.clone(),
            ff: FastForward {
                enabled: self.ff.enabled,
                fusion_over: self.ff.fusion_over,
                fused_ever: self.ff.fused_ever,
                det: None,
            },
        }
    }
}

/// Periods before a drifting distance at record slot `p1` (`p0` holding it a period earlier)
/// reaches its bound, keeping one period in hand and the period a trial steps.
fn drift_room(ff: &Detector, p1: usize, p0: usize) -> f64 {
    let nr = ff.nr;
    let mut room = f64::INFINITY;
    for &(e, limit) in &ff.drift_at {
        let (v1, d) = (ff.r[p1 * nr + e], ff.r[p1 * nr + e] - ff.r[p0 * nr + e]);
        if d < -1e-12 * v1.abs().max(1.0) {
            room = room.min((v1 / -d).floor() - 2.0);
        } else if d > 1e-12 * v1.abs().max(1.0) {
            room = room.min(((limit - v1) / d).floor() - 2.0);
        }
    }
    room
}
