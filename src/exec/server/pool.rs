//! The server's pool of background-worker slots, as PostgreSQL 15 hands them out
//! (`LaunchParallelWorkers` -> `RegisterDynamicBackgroundWorker`): a Gather asks for its
//! workers when it starts and gets what is free; a slot returns when its worker exits.

use crate::model::guc::Settings;

/// The two limits every parallel worker counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// `max_worker_processes` minus the logical replication launcher (which holds a slot
    /// whenever `max_logical_replication_workers` > 0).
    pub slots: u32,
    /// `max_parallel_workers`.
    pub budget: u32,
}

impl Pool {
    pub fn from_settings(s: &Settings) -> Pool {
        let launcher = i64::from(s.int("max_logical_replication_workers") > 0);
        Pool {
            slots: (s.int("max_worker_processes") - launcher).max(0) as u32,
            budget: s.int("max_parallel_workers").max(0) as u32,
        }
    }

    /// Workers a Gather can get while `busy` parallel workers are alive.
    pub fn free(&self, busy: u32) -> u32 {
        self.slots.saturating_sub(busy).min(self.budget.saturating_sub(busy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_holds_a_slot_and_the_smaller_limit_wins() {
        let mut s = Settings::default();
        // PostgreSQL 15 defaults: 8 worker processes, one held by the launcher; 8 parallel.
        assert_eq!(Pool::from_settings(&s).free(0), 7);
        s.set("max_parallel_workers", "3").unwrap();
        let p = Pool::from_settings(&s);
        assert_eq!(p.free(0), 3);
        assert_eq!(p.free(2), 1);
        assert_eq!(p.free(5), 0);
        s.set("max_logical_replication_workers", "0").unwrap();
        s.set("max_parallel_workers", "16").unwrap();
        assert_eq!(Pool::from_settings(&s).free(0), 8);
    }
}
