//! Where queries come from: closed sessions (a client sends its next query a think time after
//! its previous one ended) and open streams (Poisson arrivals). Each source draws from its own
//! random stream, so adding a session never changes another's draws.

use super::ClassPlan;
use crate::engine::{streams, Time};
use crate::model::workload::{Arrival, ThinkTime};
use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::{Distribution, Exp};

/// Which class a source's queries belong to.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Class(usize),
    /// At random by the classes' weights, among these classes.
    Weighted(Vec<usize>),
}

/// One session (closed) or one stream (open).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub arrival: Arrival,
    pub pick: Pick,
}

pub(super) struct SourceState {
    rng: StdRng,
}

fn exp_ns(rng: &mut StdRng, mean_ns: f64) -> f64 {
    if mean_ns <= 0.0 {
        return 0.0;
    }
    Exp::new(1.0 / mean_ns).map(|d| d.sample(rng)).unwrap_or(mean_ns)
}

impl SourceState {
    pub(super) fn new(_src: &Source, seed: u64, index: usize) -> SourceState {
        SourceState { rng: streams::stream(seed, 0x50_0000_0000 + index as u64) }
    }

    fn think_ns(&mut self, think: ThinkTime) -> f64 {
        match think {
            ThinkTime::Fixed(ms) => ms * 1e6,
            ThinkTime::Exponential(ms) => exp_ns(&mut self.rng, ms * 1e6),
        }
    }

    fn gap_ns(&mut self, rate_per_s: f64) -> f64 {
        exp_ns(&mut self.rng, 1e9 / rate_per_s)
    }

    /// The first query's arrival: open streams draw a gap; closed sessions start at once,
    /// spread over one think time so they do not all arrive in the same nanosecond.
    pub(super) fn first_arrival(&mut self, src: &Source) -> Option<Time> {
        Some(match src.arrival {
            Arrival::Closed { think, .. } => {
                let spread = think.mean_ms() * 1e6;
                (self.rng.random::<f64>() * spread).round() as Time
            }
            Arrival::Open { rate_per_s } => self.gap_ns(rate_per_s).round() as Time,
        })
    }

    /// After a query arrived at `now`: the next arrival of an open stream.
    pub(super) fn after_arrival(&mut self, src: &Source, now: Time) -> Option<Time> {
        match src.arrival {
            Arrival::Open { rate_per_s } => Some(now + self.gap_ns(rate_per_s).round() as Time),
            Arrival::Closed { .. } => None,
        }
    }

    /// After a query ended at `end`: a closed session's next query.
    pub(super) fn after_completion(&mut self, src: &Source, end: Time) -> Option<Time> {
        match src.arrival {
            Arrival::Closed { think, .. } => Some(end + self.think_ns(think).round() as Time),
            Arrival::Open { .. } => None,
        }
    }

    /// The class of the next query.
    pub(super) fn pick(&mut self, src: &Source, classes: &[ClassPlan]) -> usize {
        match &src.pick {
            Pick::Class(c) => *c,
            Pick::Weighted(ids) => {
                let total: f64 = ids.iter().map(|&c| classes[c].weight).sum();
                let mut x = self.rng.random::<f64>() * total;
                for &c in ids {
                    x -= classes[c].weight;
                    if x < 0.0 {
                        return c;
                    }
                }
                ids.last().copied().unwrap_or(0)
            }
        }
    }
}
