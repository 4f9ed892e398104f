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

/// A workload key `sweep --vary` can change (the arrivals, not a setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKey {
    /// Closed sessions: the shared sessions if the workload has them, else every class's own.
    Sessions,
    /// Every open class's arrival rate.
    RatePerS,
    /// Every closed source's mean think time.
    ThinkTimeMs,
}

impl WorkloadKey {
    pub const ALL: [WorkloadKey; 3] = [WorkloadKey::Sessions, WorkloadKey::RatePerS, WorkloadKey::ThinkTimeMs];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKey::Sessions => "sessions",
            WorkloadKey::RatePerS => "rate_per_s",
            WorkloadKey::ThinkTimeMs => "think_time_ms",
        }
    }

    pub fn parse(s: &str) -> Option<WorkloadKey> {
        WorkloadKey::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The value as a number, checked: sessions a whole number from 1, rates positive, think
    /// times zero or positive.
    pub fn value(self, v: &str) -> Result<f64, String> {
        let x: f64 = v.trim().parse().map_err(|_| format!("{}: expected a number, got \"{v}\"", self.name()))?;
        let ok = match self {
            WorkloadKey::Sessions => x >= 1.0 && x <= 100_000.0 && x.fract() == 0.0,
            WorkloadKey::RatePerS => x.is_finite() && x > 0.0,
            WorkloadKey::ThinkTimeMs => x.is_finite() && x >= 0.0,
        };
        if !ok {
            return Err(format!(
                "{}: {v} is out of range ({})",
                self.name(),
                match self {
                    WorkloadKey::Sessions => "a whole number from 1 to 100000",
                    WorkloadKey::RatePerS => "positive",
                    WorkloadKey::ThinkTimeMs => "zero or positive",
                }
            ));
        }
        Ok(x)
    }
}

impl Workload {
    /// Change the arrivals; an error when the workload has no arrivals of that kind.
    pub fn set(&mut self, key: WorkloadKey, x: f64) -> Result<(), String> {
        let mut arrivals: Vec<&mut Arrival> = vec![];
        match key {
            WorkloadKey::Sessions if self.shared.is_some() => arrivals.extend(self.shared.as_mut()),
            _ => {
                arrivals.extend(self.shared.as_mut());
                arrivals.extend(self.classes.iter_mut().filter_map(|c| c.arrival.as_mut()));
            }
        }
        let mut changed = false;
        for a in arrivals {
            match (key, a) {
                (WorkloadKey::Sessions, Arrival::Closed { sessions, .. }) => *sessions = x as u32,
                (WorkloadKey::ThinkTimeMs, Arrival::Closed { think, .. }) => {
                    *think = match think {
                        ThinkTime::Fixed(_) => ThinkTime::Fixed(x),
                        ThinkTime::Exponential(_) => ThinkTime::Exponential(x),
                    }
                }
                (WorkloadKey::RatePerS, Arrival::Open { rate_per_s }) => *rate_per_s = x,
                _ => continue,
            }
            changed = true;
        }
        if changed {
            Ok(())
        } else {
            let kind = if key == WorkloadKey::RatePerS { "open (rate_per_s)" } else { "closed (sessions)" };
            Err(format!("{}: the workload has no {kind} arrivals to change", key.name()))
        }
    }
}
