//! The run loop, owned by the engine: a model says when its next transition is and how its
//! activities progress until then (like SimGrid's `Model::next_occurring_event` /
//! `update_actions_state`, or NeXosim's `Simulation::step`); the engine picks the earliest of
//! that transition and the next scheduled event, moves the clock, and delivers both.

use super::{EventQueue, Time};

/// A simulation model: discrete events in an `EventQueue`, plus continuous activities whose
/// transitions (an activity reaching its stop point) the model computes itself.
pub trait Model {
    type Event;

    /// The model's event queue (the engine reads its clock and pops it).
    fn events(&mut self) -> &mut EventQueue<Self::Event>;

    /// Called at the top of every step, at the current time: the model may record its state.
    /// True when the model has finished.
    fn observe(&mut self) -> bool;

    /// The earliest time a continuous activity reaches a transition, if any is progressing.
    fn next_transition(&mut self) -> Option<Time>;

    /// Let the activities progress from now to `t`; the engine moves the clock afterwards.
    fn advance(&mut self, t: Time);

    /// Handle the activities that reached their transition at the (new) current time.
    /// True if any did.
    fn fire_transitions(&mut self) -> bool;

    /// Handle one scheduled event, delivered at the current time.
    fn handle(&mut self, event: Self::Event);

    /// Called at the top of every step once `observe` said the model goes on: the model may
    /// jump over stretches it can account for without stepping (e.g. whole periods of a
    /// repeating cycle), moving its clock itself. Returns the steps it stands for (0: none).
    fn fast_forward(&mut self) -> u64 {
        0
    }
}

/// Why a run stopped before the model finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// Nothing is progressing and no event is scheduled: the model cannot go on.
    Stalled { at: Time },
    /// More than `limit` steps were taken.
    StepLimit { limit: u64, at: Time },
}

/// Run `model` until it reports it has finished. Returns the number of steps taken.
///
/// One step: observe; find the earliest of the next transition and the next event; advance to
/// it; fire the transitions reached; then deliver the events due now (when no transition fired,
/// or an event is due at the same time).
pub fn run<M: Model>(model: &mut M, max_steps: u64) -> Result<u64, Halt> {
    let mut steps = 0u64;
    loop {
        if model.observe() {
            return Ok(steps);
        }
        steps += model.fast_forward();
        steps += 1;
        let now = model.events().now();
        if steps > max_steps {
            return Err(Halt::StepLimit { limit: max_steps, at: now });
        }
        step(model)?;
    }
}

/// One step's moves after `observe` and `fast_forward`: find the earliest of the next
/// transition and the next event, advance to it, fire the transitions reached, deliver the
/// events due. (A model's fast-forward may call it to step a copy of itself ahead.)
#[inline]
pub fn step<M: Model>(model: &mut M) -> Result<(), Halt> {
    let now = model.events().now();
    let t_transition = model.next_transition();
    let t_event = model.events().peek_time();
    let t = match (t_transition, t_event) {
        (None, None) => return Err(Halt::Stalled { at: now }),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (Some(a), Some(b)) => a.min(b),
    };
    model.advance(t);
    model.events().advance_to(t);
    let fired = model.fire_transitions();
    let q = model.events();
    if !fired || q.peek_time() == Some(q.now()) {
        loop {
            let q = model.events();
            if q.peek_time() != Some(q.now()) {
                break;
            }
            match q.pop() {
                Some((_, ev)) => model.handle(ev),
                None => break,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A countdown: one activity of `work` units at rate 1/ns, and a tick event every 10 ns.
    struct Countdown {
        q: EventQueue<u32>,
        work: f64,
        ticks: Vec<Time>,
        done_at: Option<Time>,
    }

    impl Model for Countdown {
        type Event = u32;
        fn events(&mut self) -> &mut EventQueue<u32> {
            &mut self.q
        }
        fn observe(&mut self) -> bool {
            self.done_at.is_some()
        }
        fn next_transition(&mut self) -> Option<Time> {
            (self.work > 0.0).then(|| self.q.now() + self.work.ceil() as Time)
        }
        fn advance(&mut self, t: Time) {
            self.work -= (t - self.q.now()) as f64;
        }
        fn fire_transitions(&mut self) -> bool {
            if self.work <= 0.0 && self.done_at.is_none() {
                self.done_at = Some(self.q.now());
                return true;
            }
            false
        }
        fn handle(&mut self, k: u32) {
            self.ticks.push(self.q.now());
            self.q.schedule(self.q.now() + 10, k + 1);
        }
    }

    #[test]
    fn transitions_and_events_interleave_in_time_order() {
        let mut m = Countdown { q: EventQueue::new(), work: 35.0, ticks: vec![], done_at: None };
        m.q.schedule(10, 0);
        run(&mut m, 100).expect("finishes");
        assert_eq!(m.done_at, Some(35));
        assert_eq!(m.ticks, vec![10, 20, 30]);
    }

    #[test]
    fn a_model_with_nothing_to_do_is_stalled_and_a_runaway_hits_the_limit() {
        let mut m = Countdown { q: EventQueue::new(), work: 0.0, ticks: vec![], done_at: None };
        assert_eq!(run(&mut m, 100), Err(Halt::Stalled { at: 0 }));
        let mut m = Countdown { q: EventQueue::new(), work: 1e9, ticks: vec![], done_at: None };
        m.q.schedule(1, 0);
        assert!(matches!(run(&mut m, 5), Err(Halt::StepLimit { limit: 5, .. })));
    }
}
