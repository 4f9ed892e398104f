//! A small, generic discrete-event kernel. It knows nothing of PostgreSQL.
//!
//! - `Time`: integer nanoseconds.
//! - `EventQueue`: events ordered by (time, sequence number), so equal times pop in the order
//!   they were scheduled; cancellation by handle.
//! - `streams`: seeded, independent random streams, one per named consumer.
//! - `fluid`: fair sharing of capacity-limited resources (cores, disk bandwidth) among the
//!   activities using them, asked by the caller at every transition (SimGrid-style); its
//!   `Solver` re-solves only when the demands changed and allocates nothing once warm.
//! - `model`: the run loop. A model implements `Model` (next transition, advance, handle);
//!   `model::run` drives it from transition to transition.

pub mod fluid;
pub mod model;
pub mod round;

pub use model::{run, step, Halt, Model};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// Simulated time in nanoseconds.
pub type Time = u64;

pub const NS_PER_MS: f64 = 1e6;

/// A handle to a scheduled event, for cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u64);

#[derive(Debug, Clone)]
struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// A priority queue of future events with deterministic tie-breaking and cancellation.
#[derive(Debug, Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    cancelled: HashSet<u64>,
    next_seq: u64,
    now: Time,
    popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue { heap: BinaryHeap::new(), cancelled: HashSet::new(), next_seq: 0, now: 0, popped: 0 }
    }

    /// The time of the last event popped (the simulation clock).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Advance the clock without an event (used when a fluid completion comes first).
    /// Time never goes backwards.
    pub fn advance_to(&mut self, t: Time) {
        debug_assert!(t >= self.now, "time went backwards");
        self.now = self.now.max(t);
    }

    /// Schedule `event` at absolute time `at` (never before now).
    pub fn schedule(&mut self, at: Time, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { time: at.max(self.now), seq, event }));
        EventId(seq)
    }

    /// Cancel a scheduled event; cancelling one that already fired is harmless.
    pub fn cancel(&mut self, id: EventId) {
        self.cancelled.insert(id.0);
    }

    fn skip_cancelled(&mut self) {
        // Most models never cancel: skip the hash look-up then.
        if self.cancelled.is_empty() {
            return;
        }
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.cancelled.remove(&top.seq) {
                self.heap.pop();
            } else {
                break;
            }
        }
    }

    /// The time of the next live event.
    pub fn peek_time(&mut self) -> Option<Time> {
        self.skip_cancelled();
        self.heap.peek().map(|Reverse(e)| e.time)
    }

    /// Pop the next live event and advance the clock to it.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.skip_cancelled();
        let Reverse(e) = self.heap.pop()?;
        self.now = e.time;
        self.popped += 1;
        Some((e.time, e.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled.len().min(self.heap.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events delivered so far.
    pub fn delivered(&self) -> u64 {
        self.popped
    }

    /// Were events ever cancelled and not yet skipped?
    pub fn has_cancelled(&self) -> bool {
        !self.cancelled.is_empty()
    }

    /// Every pending event as (time, sequence number, event), in no particular order.
    pub fn pending(&self) -> impl Iterator<Item = (Time, u64, &E)> {
        self.heap.iter().map(|Reverse(e)| (e.time, e.seq, &e.event))
    }

    /// Move the clock and every pending event `dt` later, letting `f` rewrite each event, and
    /// count `delivered` more events as delivered: a fast-forward over a stretch of time whose
    /// events the caller accounted for. The order of pending events is unchanged (the shift is
    /// the same for all); the heap keeps its allocation.
    pub fn shift(&mut self, dt: Time, delivered: u64, mut f: impl FnMut(&mut E)) {
        let mut v = std::mem::take(&mut self.heap).into_vec();
        for Reverse(e) in v.iter_mut() {
            e.time = e.time.saturating_add(dt);
            f(&mut e.event);
        }
        self.heap = BinaryHeap::from(v);
        self.now = self.now.saturating_add(dt);
        self.popped += delivered;
    }

    /// [`shift`](Self::shift), and each event further by what `extra` says of it (given its
    /// sequence number and the event): a fast-forward over a stretch whose pending events
    /// drift relative to the clock. Order is kept by time, then sequence number, as always.
    pub fn shift_each(&mut self, dt: Time, delivered: u64, mut extra: impl FnMut(u64, &mut E) -> i64) {
        let mut v = std::mem::take(&mut self.heap).into_vec();
        for Reverse(e) in v.iter_mut() {
            let x = extra(e.seq, &mut e.event);
            e.time = e.time.saturating_add(dt).saturating_add_signed(x);
        }
        self.heap = BinaryHeap::from(v);
        self.now = self.now.saturating_add(dt);
        self.popped += delivered;
    }
}

/// Seeded random streams: stream `k` of seed `s` is the same whatever else is drawn.
pub mod streams {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// SplitMix64: decorrelates (seed, stream) pairs into independent generator seeds.
    pub fn mix(seed: u64, stream: u64) -> u64 {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x632B_E59B_D9B4_E019);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn stream(seed: u64, stream: u64) -> StdRng {
        StdRng::seed_from_u64(mix(seed, stream))
    }

    /// Seed of replication `r` of a run seeded `seed`: the same for every grid point of a
    /// sweep and every query of a workload (common random numbers).
    pub fn replication_seed(seed: u64, r: u32) -> u64 {
        mix(seed, 0x5eed_0000 + u64::from(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_pop_in_schedule_order() {
        let mut q = EventQueue::new();
        q.schedule(10, "b");
        q.schedule(5, "a");
        q.schedule(10, "c");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(5, "a"), (10, "b"), (10, "c")]);
        assert_eq!(q.now(), 10);
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = EventQueue::new();
        let a = q.schedule(1, 1);
        q.schedule(2, 2);
        q.cancel(a);
        assert_eq!(q.peek_time(), Some(2));
        assert_eq!(q.pop(), Some((2, 2)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn scheduling_in_the_past_is_clamped_to_now() {
        let mut q = EventQueue::new();
        q.schedule(100, ());
        q.pop();
        q.schedule(50, ());
        assert_eq!(q.pop().unwrap().0, 100);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        use rand::RngExt;
        let a: Vec<u64> = (0..4).map(|_| 0).scan(streams::stream(7, 1), |r, _: u64| Some(r.random::<u64>())).collect();
        let b: Vec<u64> = (0..4).map(|_| 0).scan(streams::stream(7, 1), |r, _: u64| Some(r.random::<u64>())).collect();
        let c: Vec<u64> = (0..4).map(|_| 0).scan(streams::stream(7, 2), |r, _: u64| Some(r.random::<u64>())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
