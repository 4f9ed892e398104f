//! Builds before the probe: a hashed SubPlan or a private Hash per participant, and Parallel
//! Hash, where participants share the inner scan and wait at the build barrier.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct SharedBuild {
    pub(super) scan: SharedScan,
    pub(super) attached: Vec<bool>,
    pub(super) arrived: Vec<bool>,
    pub(super) done: bool,
}

impl<'a> Sim<'a> {
    pub(super) fn start_build(&mut self, p: usize, b: usize) {
        let pipe = self.pipe(p);
        let build = &pipe.builds[b];
        if build.shared {
            let sb = self.shared_builds[b].as_mut().expect("shared build state");
            if sb.done {
                // Arrived after the build finished: skip straight to probing.
                self.finish_build_phase(p, b);
                return;
            }
            sb.attached[p] = true;
            match sb.scan.next_chunk(&mut self.procs[p].build_scans[b]) {
                Some(pages) => {
                    let tuples = pages * build.tuples / build.pages.max(1.0);
                    let f =
                        self.page_flow(FlowKind::Build(b), pages, tuples, &build.page, build.cpu_per_tuple, 0.0, false);
                    self.start_with_latency(p, f, pages, &build.page, 0.0);
                }
                None => {
                    // Nothing left to hash: arrive at the barrier.
                    sb.arrived[p] = true;
                    self.check_barrier(b);
                }
            }
        } else {
            let temp = build.temp_pages * self.hw.costs.temp_page_ns / self.hw.cpu_speed;
            let extra = if build.tuples > 0.0 { temp / build.tuples } else { 0.0 };
            let f = self.page_flow(
                FlowKind::Build(b),
                build.pages,
                build.tuples,
                &build.page,
                build.cpu_per_tuple + extra,
                0.0,
                false,
            );
            let (pages, page) = (build.pages, build.page.clone());
            self.start_with_latency(p, f, pages, &page, 0.0);
        }
    }

    pub(super) fn check_barrier(&mut self, b: usize) {
        let sb = self.shared_builds[b].as_mut().expect("shared build");
        let all = (0..sb.attached.len()).all(|i| !sb.attached[i] || sb.arrived[i]);
        if all && sb.scan.exhausted() && !sb.done {
            sb.done = true;
            let waiting: Vec<usize> = (0..sb.attached.len()).filter(|&i| sb.attached[i]).collect();
            for p in waiting {
                self.finish_build_phase(p, b);
            }
        } else {
            for p in 0..sb.attached.len() {
                if sb.attached[p]
                    && sb.arrived[p]
                    && !matches!(self.procs[p].act, Act::Blocked(State::Barrier))
                    && self.procs[p].phase == Phase::Build(b)
                {
                    self.procs[p].act = Act::Blocked(State::Barrier);
                }
            }
        }
    }

    pub(super) fn finish_build_phase(&mut self, p: usize, b: usize) {
        let now = self.now();
        self.procs[p].ms.builds_end.push(now);
        let nb = self.pipe(p).builds.len();
        self.procs[p].phase = if b + 1 < nb { Phase::Build(b + 1) } else { Phase::Scan };
        self.procs[p].act = Act::Blocked(State::Cpu);
        self.participant_continue(p);
    }
}
