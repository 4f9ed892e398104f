//! A jump: every counter `n` periods on, the clock and the pending events `n` periods later,
//! the chunks fused flows ran past claimed in the order stepping would claim them, and a trace's
//! intervals and the wait samples of the last period repeated for every period jumped.

use super::*;

impl<'a> Sim<'a> {
    /// Move every counter `n` periods on and the clock `n` periods later.
    /// A drifting period (`drift`) also gives each pending event's drift per period relative to
    /// the clock (by sequence number): its queues' fills drift too.
    pub(super) fn ff_jump(&mut self, ff: &mut Detector, s: usize, a: usize, n: u64, drift: Option<&[(u64, f64)]>) {
        let nx = ff.nx;
        let nf = n as f64;
        // The record (`ff_read_x`) and the write-back (`ff_visit_x`) must agree on the layout;
        // checked at a replication's first jump (a replication of a disk-bound scan jumps a
        // dozen times, each ramp-down stage: a check at each was 2% of tpch-lineitem-sum).
        if ff.jumps == 0 {
            let (xs, mut at) = (&ff.x[s * nx..(s + 1) * nx], 0);
            self.ff_visit_x(&mut |v| {
                assert_eq!(v.to_bits(), xs[at].to_bits(), "ff_read_x and ff_visit_x differ at {at}");
                at += 1;
            });
            assert_eq!(at, nx);
        }
        // (Zipped slices: no bounds check per counter.)
        let (xs, xa) = (&ff.x[s * nx..(s + 1) * nx], &ff.x[a * nx..(a + 1) * nx]);
        ff.cur_x.clear();
        ff.cur_x.extend(xs.iter().zip(xa).map(|(&vs, &va)| vs + nf * (vs - va)));
        ff.dgen.clear();
        ff.dgen.extend(
            (0..self.procs.len())
                .map(|p| (ff.x[s * nx + p * XP + X_GEN] - ff.x[a * nx + p * XP + X_GEN]).round() as u64),
        );
        let dgen = &ff.dgen;
        let mut it = ff.cur_x.iter();
        self.ff_visit_x(&mut |v| *v = *it.next().expect("same layout"));
        let (ms, ma) = (ff.marks[s], ff.marks[a]);
        let (dt, dev) = ((ms.time - ma.time) * n, (ms.delivered - ma.delivered) * n);
        match drift {
            None => self.q.shift(dt, dev, |e| {
                if let Event::Wake { p, gen } = e {
                    *gen += dgen[*p] * n;
                }
            }),
            Some(evs) => {
                self.ff_drift_queues(ff, s, a, n);
                self.q.shift_each(dt, dev, |seq, e| {
                    if let Event::Wake { p, gen } = e {
                        *gen += dgen[*p] * n;
                    }
                    evs.iter().find(|&&(q, _)| q == seq).map_or(0, |&(_, d)| (d * nf).round() as i64)
                })
            }
        }
        // Fused flows claim the chunks they crossed (so what they owe stays small), in the
        // order stepping would have claimed them.
        ff.rates.clear();
        ff.rates.extend((0..self.procs.len()).map(|p| {
            let g = |j: usize| ff.x[s * nx + p * XP + j] - ff.x[a * nx + p * XP + j];
            (g(X_DONE), g(X_SDONE))
        }));
        self.ff_claim_in_order(&ff.rates);
        self.rq.shift_clock(dt as f64);
        for p in 0..self.procs.len() {
            self.ff_claim_owed(p, false);
        }
        // The leader's fused local scan stops at its next tuple once a queue has tuples: where
        // that tuple boundary falls moved with the rows it scanned (see `ff_capture`).
        if matches!(&self.procs[0].act, Act::Flow(f) if f.fused) {
            self.retarget(0);
        }
        self.ff_repeat_trace(ff.trace_len[a], ff.trace_len[s], ms.time - ma.time, n);
        if let Some(sm) = self.sampler.as_mut() {
            sm.repeat(ff.sample_mark[a], ff.sample_mark[s], ms.time - ma.time, n);
        }
    }

    /// The detector starts afresh: no interval closed so far will be repeated.
    pub(super) fn ff_forget_samples(&mut self) {
        if let Some(sm) = self.sampler.as_mut() {
            let m = sm.mark();
            sm.keep_from(m);
        }
    }

    /// A traced run gets the intervals and queue points of the last period again for every
    /// period jumped, shifted by whole periods (what stepping would have recorded).
    fn ff_repeat_trace(&mut self, from: (usize, usize), to: (usize, usize), d: Time, n: u64) {
        let Some(t) = self.trace.as_mut() else { return };
        for m in 1..=n {
            let dt = d * m;
            for k in from.0..to.0 {
                let mut iv = t.intervals[k].clone();
                iv.start += dt;
                iv.end += dt;
                t.intervals.push(iv);
            }
            for k in from.1..to.1 {
                let (at, j, used) = t.queue[k];
                t.queue.push((at + dt, j, used));
            }
        }
    }
}
