//! The detector's per-step record: the discrete state's hash, and the repeating and growing
//! vectors written straight into their ring slot; and a jump's write-back of the growing one.

use super::*;

/// Writes a record's entries in order into its slot of the ring (no allocation, no copy).
pub(super) struct Slot<'s> {
    pub(super) buf: &'s mut [f64],
    pub(super) at: usize,
}

impl Slot<'_> {
    #[inline]
    fn put(&mut self, v: f64) {
        self.buf[self.at] = v;
        self.at += 1;
    }

    #[inline]
    fn put_all(&mut self, vs: &[f64]) {
        self.buf[self.at..self.at + vs.len()].copy_from_slice(vs);
        self.at += vs.len();
    }

    fn flow(&mut self, f: Option<&Flow>, lead: bool) {
        match f {
            Some(f) => {
                // (Of a stop that may drift, only whether there is one: `ff_stop_free`.)
                let to_stop = match (ff_stop_free(f, lead), f.stop_at.is_finite()) {
                    (false, _) => f.stop_at - f.done,
                    (true, true) => 0.0,
                    (true, false) => -1.0,
                };
                self.put_all(&[f.total, to_stop, f.rate, f.cpu, f.io, f.os_frac, f.rows_per_unit])
            }
            None => self.put_all(&[0.0; 7]),
        }
    }
}

impl<'a> Sim<'a> {
    /// Lengths of the repeating and the growing vector (the layout of `Detector::r`, `x`):
    /// pending events are at most `procs + 4` in an eligible state, the rest padded with 0.
    pub(super) fn ff_sizes(&self) -> (usize, usize) {
        let (np, nq) = (self.procs.len(), self.queues.len());
        (np * RP + nq * RQ + 2 + np + 4, np * XP + nq * XQ + 5)
    }

    /// Hash the discrete state, and write the repeating and the growing vector straight into
    /// ring slot `s` of `ff.r` and `ff.x`.
    pub(super) fn ff_capture(&self, ff: &mut Detector, s: usize) -> u64 {
        let (nr, nx) = (ff.nr, ff.nx);
        // Slots are written in order from 0 after every reset, so slot `s` is either there
        // already or the next one; only written slots are ever read.
        if ff.r.len() < (s + 1) * nr {
            ff.r.resize((s + 1) * nr, 0.0);
            ff.x.resize((s + 1) * nx, 0.0);
        }
        self.ff_capture_into(&mut ff.ev, &mut ff.r[s * nr..(s + 1) * nr], &mut ff.x[s * nx..(s + 1) * nx])
    }

    /// Hash the discrete state, and write the repeating vector into `r` and the growing one
    /// into `x` (`ev`: scratch for the pending events).
    #[inline(always)]
    pub(super) fn ff_capture_into(&self, ev: &mut Vec<(Time, u64, u64)>, r: &mut [f64], x: &mut [f64]) -> u64 {
        let now = self.now();
        let mut h = mix(0, self.mode as u64 + (self.whole_next as u64) * 256);
        h = mix(h, self.next_reader as u64);
        h = mix(h, self.post_phase as u64 + 2 * self.rq.turn_pending() as u64);
        for &p in self.rq.order() {
            h = mix(h, p as u64 + 100);
        }
        // Per-CPU run queues: where each process is homed decides whom it shares a core with
        // when it next runs, and a pending balance will move one.
        h = mix(h, self.rq.imbalanced_ns().to_bits());
        // A rotation building up (an imbalance of one) moves a process when it is due, and
        // whom it moves depends on who had the less busy CPU last.
        h = mix(h, self.rq.uneven_ns().to_bits());
        // The CPUs' recent utilization decides whether a woken process looks for an idle CPU:
        // a period repeats only with the same decision. (Its level converges over a few 32 ms
        // half-lives and then repeats with the period; checked by the agreement of jumped and
        // stepped runs, tests/fast_forward.rs.)
        h = mix(h, self.rq.scans_for_idle() as u64);
        for (p, ago) in self.rq.rotations_since_favoured() {
            h = mix(h, ((p as u64) << 20) + 1 + ago.min(1 << 19));
        }
        // (The homed processes with their CPU: what `cpu_of` says of each process, without a
        // search per process.)
        for &(p, c) in self.rq.homes() {
            h = mix(h, ((p as u64) << 16) + 1 + c as u64);
        }
        let r = &mut Slot { buf: r, at: 0 };
        for (p, pr) in self.procs.iter().enumerate() {
            h = mix(h, phase_code(pr.phase));
            h = mix(
                h,
                match &pr.act {
                    Act::Idle => 1,
                    Act::Delay { state } => 2 + 16 * *state as u64,
                    Act::Blocked(state) => 3 + 16 * *state as u64,
                    Act::Flow(f) => {
                        4 + 16 * kind_code(f.kind)
                            + 8 * f.io_bound as u64
                            + (1 << 36) * f.fused as u64
                            + (1 << 40) * f.shown_as.map_or(0, |s| 1 + s as u64)
                    }
                },
            );
            h = mix(h, pr.finish_stage as u64);
            h = mix(h, pr.woken_from.map_or(0, |s| 1 + s as u64) + 64 * pr.last_state as u64);
            h = mix(h, pr.saved.as_ref().map_or(0, |f| 1 + kind_code(f.kind)) + 4096 * pr.scan.started() as u64);
            r.flow(pr.act_flow(), p == 0);
            r.flow(pr.saved.as_ref(), p == 0);
            r.put_all(&[pr.scan.chunk_size(), pr.emit_total, pr.lag]);
        }
        for q in &self.queues {
            h = mix(
                h,
                q.sender_done as u64
                    + 2 * q.receiver_detached as u64
                    + 4 * q.exhausted as u64
                    + 8 * q.sender_blocked as u64,
            );
            r.put_all(&[q.written - q.read, q.pending, q.consumed_pending]);
        }
        // The leader's fractional row: where its next tuple boundary falls, free to drift while
        // its local scan is fused (see `ff_stop_free`).
        let lead = &self.procs[0];
        let drifts = lead.act_flow().is_some_and(|f| f.fused) || lead.saved.as_ref().is_some_and(|f| f.fused);
        r.put(if drifts { 0.0 } else { self.local_rows_total.fract() });
        // The turn in progress: a tick inside it (an idle CPU's pull) leaves its end unscheduled.
        r.put(self.rq.turn_left(now as f64));
        // Pending events, relative to now and to their process's generation, in delivery order.
        ev.clear();
        for (t, seq, e) in self.q.pending() {
            let code = match e {
                Event::Wake { p, gen } => 1 + 4 * *p as u64 + (1 << 20) * self.procs[*p].gen.wrapping_sub(*gen),
                Event::TurnEnd(gen) => 2 + 4 * self.rq.turn_gen().wrapping_sub(*gen),
            };
            ev.push((t - now, seq, code));
        }
        ev.sort_unstable();
        h = mix(h, ev.len() as u64);
        for &(dt, _, code) in ev.iter() {
            h = mix(h, code);
            r.put(u64_f64(dt));
        }
        r.buf[r.at..].fill(0.0);
        let nx = x.len();
        let x = &mut Slot { buf: x, at: 0 };
        self.ff_read_x(x);
        debug_assert_eq!(x.at, nx);
        h
    }

    /// The growing vector, as `ff_visit_x` visits it (same entries, same order), read only.
    #[inline(always)]
    pub(super) fn ff_read_x(&self, x: &mut Slot) {
        let flow = |x: &mut Slot, fl: Option<&Flow>, lead: bool| match fl {
            Some(fl) => x.put_all(&[fl.done, if ff_stop_free(fl, lead) { fl.done } else { fl.stop_at }]),
            None => x.put_all(&[0.0, 0.0]),
        };
        for (p, pr) in self.procs.iter().enumerate() {
            let a = &pr.acct;
            x.put_all(&[a.cpu, a.io, a.mq_send, a.mq_receive, a.startup, a.barrier, a.shutdown]);
            x.put_all(&[
                u64_f64(pr.stalls),
                pr.tuples_scanned,
                pr.pages_scanned,
                pr.rows_streamed,
                pr.rows_out,
                pr.private_left,
                pr.scan.last_allocated(),
            ]);
            flow(x, pr.act_flow(), p == 0);
            flow(x, pr.saved.as_ref(), p == 0);
            x.put_all(&[u64_f64(pr.gen), u64_f64(pr.state_since), pr.vruntime, pr.acct.on_cpu]);
        }
        for q in &self.queues {
            x.put_all(&[q.written, q.read]);
        }
        x.put_all(&[u64_f64(self.stalls), self.pulled, self.local_rows_total, self.top_rows_out, self.scan.nallocated]);
    }

    /// Every extrapolated counter, in a fixed order (the layout of `Detector::x`).
    pub(super) fn ff_visit_x(&mut self, f: &mut dyn FnMut(&mut f64)) {
        let int = |f: &mut dyn FnMut(&mut f64), v: &mut u64| {
            let mut x = *v as f64;
            f(&mut x);
            *v = x.round().max(0.0) as u64;
        };
        let flow = |f: &mut dyn FnMut(&mut f64), fl: Option<&mut Flow>, lead: bool| match fl {
            Some(fl) => {
                f(&mut fl.done);
                if ff_stop_free(fl, lead) {
                    // Not extrapolated: recomputed after the jump (`ff_read_x` reads `done`).
                    let mut d = fl.done;
                    f(&mut d);
                } else {
                    f(&mut fl.stop_at);
                }
            }
            None => {
                f(&mut 0.0);
                f(&mut 0.0);
            }
        };
        for (p, pr) in self.procs.iter_mut().enumerate() {
            let a = &mut pr.acct;
            for v in [
                &mut a.cpu,
                &mut a.io,
                &mut a.mq_send,
                &mut a.mq_receive,
                &mut a.startup,
                &mut a.barrier,
                &mut a.shutdown,
            ] {
                f(v);
            }
            debug_assert_eq!(X_ACCT, 0);
            int(f, &mut pr.stalls);
            f(&mut pr.tuples_scanned);
            f(&mut pr.pages_scanned);
            f(&mut pr.rows_streamed);
            f(&mut pr.rows_out);
            f(&mut pr.private_left);
            let mut last = pr.scan.last_allocated();
            f(&mut last);
            pr.scan.set_last_allocated(last);
            flow(f, if let Act::Flow(fl) = &mut pr.act { Some(fl) } else { None }, p == 0);
            flow(f, pr.saved.as_mut(), p == 0);
            int(f, &mut pr.gen);
            int(f, &mut pr.state_since);
            f(&mut pr.vruntime);
            f(&mut pr.acct.on_cpu);
        }
        for q in &mut self.queues {
            f(&mut q.written);
            f(&mut q.read);
        }
        int(f, &mut self.stalls);
        f(&mut self.pulled);
        f(&mut self.local_rows_total);
        f(&mut self.top_rows_out);
        f(&mut self.scan.nallocated);
    }
}
