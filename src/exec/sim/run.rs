//! The run: the executor is an engine `Model`. Its transitions are flows reaching their stop
//! points (chunk end, queue full or publish point, bound, LIMIT); its events are delays ending
//! (start-up, read latency, wake-ups).

use super::*;
use crate::engine::{self, Halt, Model};
use crate::error::{BlockedProcess, ProcessName, SimError, WaitsOn};

impl<'a> Model for Sim<'a> {
    type Event = Event;

    fn events(&mut self) -> &mut EventQueue<Event> {
        &mut self.q
    }

    fn observe(&mut self) -> bool {
        self.record_states();
        self.finished_at.is_some()
    }

    fn next_transition(&mut self) -> Option<Time> {
        self.solve_rates();
        // The earliest fluid stop point.
        // (The nearest in ns first, converted once: the conversion and the saturating
        // addition are monotonic, so the earliest time is the same.)
        let mut dt_min: Option<f64> = None;
        for pr in &self.procs {
            if let Act::Flow(f) = &pr.act {
                if f.rate > 0.0 {
                    let dt = engine::round::ceil_nonneg((f.stop_at - f.done).max(0.0) / f.rate);
                    dt_min = Some(dt_min.map_or(dt, |x: f64| x.min(dt)));
                }
            }
        }
        dt_min.map(|dt| self.now().saturating_add(dt.min(1e18) as Time))
    }

    fn advance(&mut self, t: Time) {
        self.advance_flows(t);
    }

    fn fire_transitions(&mut self) -> bool {
        // Flows that reached their stop point, in process order (deterministic).
        let mut any = false;
        for p in 0..self.procs.len() {
            // (`total` at least 1 by a plain comparison: `f64::max`'s care for NaN costs a few
            // instructions per process and step, and gives the same, 1, for a NaN.)
            let reached = matches!(&self.procs[p].act, Act::Flow(f) if f.done >= f.stop_at - EPS * if f.total > 1.0 { f.total } else { 1.0 });
            if reached {
                any = true;
                self.on_flow_stop(p);
            }
        }
        any
    }

    fn handle(&mut self, ev: Event) {
        self.on_event(ev);
    }

    fn fast_forward(&mut self) -> u64 {
        self.try_fast_forward()
    }
}

impl<'a> Sim<'a> {
    pub fn run(mut self, max_steps: u64) -> Result<SimResult, SimError> {
        self.start();
        self.drive(max_steps)
    }

    /// Run the engine from the current state to the end of the query.
    pub(super) fn drive(mut self, max_steps: u64) -> Result<SimResult, SimError> {
        self.steps = match engine::run(&mut self, max_steps) {
            Ok(steps) => steps,
            Err(Halt::Stalled { at }) => {
                return Err(SimError::Deadlock { at_ns: at, processes: self.blocked_processes() })
            }
            Err(Halt::StepLimit { limit, at }) => return Err(SimError::StepLimit { limit, at_ns: at }),
        };
        let wall = self.finished_at.unwrap_or(self.now());
        let processes: Vec<ProcessResult> = (0..self.procs.len()).map(|i| self.snapshot(i)).collect();
        Ok(SimResult {
            wall,
            workers_launched: self.queues.len() as u32,
            processes,
            queue_full_stalls: self.stalls,
            gather_rows: self.pulled,
            gather_first_row: self.gather_first_row,
            gather_end: self.gather_end,
            result_rows: self.top_rows_out,
            events: self.q.delivered() + self.steps,
            migrations: self.rq.migrations(),
            fast_forward_steps: self.ff.skipped_steps(),
            fast_forward_records: self.ff.records(),
            trace: self.trace,
            wait_samples: self.sampler.map(|s| s.finish()),
            subplan_gather: self.subplan_gather,
        })
    }

    /// Every process that has not exited, with what it waits on.
    pub(super) fn blocked_processes(&self) -> Vec<BlockedProcess> {
        let live = |j: usize| !self.queues[j].exhausted;
        (0..self.procs.len())
            .filter(|&p| !matches!(self.procs[p].act, Act::Idle))
            .map(|p| {
                let state = self.state_of(p);
                let waits_on = match (&self.procs[p].act, state) {
                    (Act::Delay { .. }, _) => WaitsOn::Timer,
                    (_, State::MqSend) => WaitsOn::OwnTupleQueue,
                    (_, State::MqReceive) => {
                        WaitsOn::TupleQueues((0..self.n_workers()).filter(|&j| live(j)).map(|j| j as u32).collect())
                    }
                    (_, State::Shutdown) => WaitsOn::WorkersExit(
                        (1..self.procs.len())
                            .filter(|&w| self.procs[w].phase != Phase::Done && !matches!(self.procs[w].act, Act::Idle))
                            .map(|w| w as u32 - 1)
                            .collect(),
                    ),
                    (_, State::Barrier) => match self.procs[p].phase {
                        Phase::Build(build) => WaitsOn::HashBuild { build },
                        _ => WaitsOn::Nothing,
                    },
                    _ => WaitsOn::Nothing,
                };
                let process = if p == 0 { ProcessName::Leader } else { ProcessName::Worker(p as u32 - 1) };
                BlockedProcess { process, wait_event: state.label(), waits_on }
            })
            .collect()
    }
}
