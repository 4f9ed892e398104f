//! A validated workload: query classes (each a scenario with its session settings), how their
//! queries arrive, when the run stops, and the server's own settings. Built by
//! `config::load_workload`; nothing downstream re-validates.

use super::guc::Settings;
use super::{Hardware, Scenario};

/// How long a closed session waits between the end of one query and the start of the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThinkTime {
    /// Always this many milliseconds.
    Fixed(f64),
    /// Exponentially distributed with this mean, in milliseconds.
    Exponential(f64),
}

impl ThinkTime {
    pub fn mean_ms(self) -> f64 {
        match self {
            ThinkTime::Fixed(m) | ThinkTime::Exponential(m) => m,
        }
    }
}

/// How queries arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// `sessions` clients, each sending its next query `think` after the previous one ended
    /// (pgbench's `-c N`).
    Closed { sessions: u32, think: ThinkTime },
    /// Poisson arrivals at this mean rate, whatever is running.
    Open { rate_per_s: f64 },
}

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After this many seconds of simulated time; queries still running then are not counted
    /// (pgbench's `-T`).
    Duration { seconds: f64 },
    /// After this many queries have been issued and have finished.
    Queries(u64),
}

/// One query class.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadClass {
    pub name: String,
    /// The class's scenario, its settings being the server's, the class's and `--set`.
    pub scenario: Scenario,
    /// Share of the shared sessions' queries (pgbench's `-f script@weight`).
    pub weight: f64,
    /// Arrivals of this class alone; `None` means it takes part in the shared sessions.
    pub arrival: Option<Arrival>,
}

/// A workload on one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: String,
    pub classes: Vec<WorkloadClass>,
    /// Closed sessions shared by the classes without arrivals of their own: each picks the
    /// class of its next query at random by weight.
    pub shared: Option<Arrival>,
    pub stop: Stop,
    /// Queries that arrive before this many seconds are not counted.
    pub warmup_s: f64,
    pub seed: Option<u64>,
    /// Server-wide settings (the worker pool: `max_worker_processes`, `max_parallel_workers`,
    /// `max_logical_replication_workers`), after the hardware profile's and `--set`.
    pub server_settings: Settings,
    pub hardware: Hardware,
}

impl Workload {
    /// Total closed sessions (shared and per class).
    pub fn sessions(&self) -> u32 {
        let own = |a: &Option<Arrival>| match a {
            Some(Arrival::Closed { sessions, .. }) => *sessions,
            _ => 0,
        };
        own(&self.shared) + self.classes.iter().map(|c| own(&c.arrival)).sum::<u32>()
    }
}
