//! Where each process's time went: one set of categories, shared by the process table, the
//! JSON contract, sweeps and plots.
//!
//! The simulator's process states (`exec::State`) map onto [`Category`] (seven, each one
//! PostgreSQL wait event or CPU); plots and tables that show six columns group them with
//! [`Group`] ("other" = HashBuildHashInner + ParallelFinish). Use [`ProcessSplit::time`] for
//! one category and [`ProcessSplit::groups`] for the six-column view, never field arithmetic.

use crate::exec::{Accounting, SimResult, State};
use serde::Serialize;

const MS: f64 = 1e6;

/// One category of a process's time, as PostgreSQL would show it in `pg_stat_activity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// On CPU or runnable (no wait event).
    Cpu,
    /// IO: DataFileRead.
    Io,
    /// IPC: MessageQueueSend (a worker's tuple queue is full).
    MqSend,
    /// IPC: ExecuteGather / MessageQueueReceive (the leader waits for tuples).
    MqReceive,
    /// Process start-up (fork, InitPostgres, restoring the parallel state).
    Startup,
    /// IPC: HashBuildHashInner (Parallel Hash build barrier).
    Barrier,
    /// IPC: ParallelFinish (the leader waits for workers to exit).
    Shutdown,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Cpu,
        Category::Io,
        Category::MqSend,
        Category::MqReceive,
        Category::Startup,
        Category::Barrier,
        Category::Shutdown,
    ];

    /// The category of a simulator state; `None` for a process not running (idle).
    pub fn of_state(s: State) -> Option<Category> {
        Some(match s {
            // Temp-file I/O is CPU-bound copying in the model (its time is CPU in the split);
            // the wait samples name it as PostgreSQL does (BufFileWrite/BufFileRead).
            State::Cpu | State::TempWrite | State::TempRead => Category::Cpu,
            State::Io => Category::Io,
            State::MqSend => Category::MqSend,
            State::MqReceive => Category::MqReceive,
            State::Startup => Category::Startup,
            State::Barrier => Category::Barrier,
            State::Shutdown => Category::Shutdown,
            State::Idle => return None,
        })
    }

    /// Key of the category in `run --format json`'s `processes` objects.
    pub fn json_key(self) -> &'static str {
        match self {
            Category::Cpu => "cpu_ms",
            Category::Io => "io_wait_ms",
            Category::MqSend => "mq_send_wait_ms",
            Category::MqReceive => "mq_receive_wait_ms",
            Category::Startup => "startup_ms",
            Category::Barrier => "barrier_wait_ms",
            Category::Shutdown => "shutdown_wait_ms",
        }
    }

    /// The six-column group the category is shown in.
    pub fn group(self) -> Group {
        match self {
            Category::Cpu => Group::Cpu,
            Category::Io => Group::Disk,
            Category::MqSend => Group::MqSend,
            Category::MqReceive => Group::WaitingForTuples,
            Category::Startup => Group::Startup,
            Category::Barrier | Category::Shutdown => Group::Other,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The six columns of tables and plots: the categories with "other" = barrier + shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Cpu,
    Disk,
    MqSend,
    WaitingForTuples,
    Startup,
    Other,
}

impl Group {
    pub const ALL: [Group; 6] =
        [Group::Cpu, Group::Disk, Group::MqSend, Group::WaitingForTuples, Group::Startup, Group::Other];

    /// The label plots and tables use (the order of [`Group::ALL`] is the stacking order).
    pub fn label(self) -> &'static str {
        match self {
            Group::Cpu => "CPU",
            Group::Disk => "disk wait",
            Group::MqSend => "MessageQueueSend",
            Group::WaitingForTuples => "waiting for tuples",
            Group::Startup => "start-up",
            Group::Other => "other",
        }
    }

    /// Labels of all groups in order (what `render::plot::CATEGORIES` lists).
    pub const LABELS: [&'static str; 6] =
        ["CPU", "disk wait", "MessageQueueSend", "waiting for tuples", "start-up", "other"];
}

/// Milliseconds per category.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Times([f64; 7]);

impl Times {
    pub fn get(&self, c: Category) -> f64 {
        self.0[c.index()]
    }

    pub fn set(&mut self, c: Category, v: f64) {
        self.0[c.index()] = v;
    }

    /// The simulator's accounting (ns) in ms.
    pub fn from_accounting(a: &Accounting) -> Times {
        let mut t = Times::default();
        for c in Category::ALL {
            let ns = match c {
                Category::Cpu => a.cpu,
                Category::Io => a.io,
                Category::MqSend => a.mq_send,
                Category::MqReceive => a.mq_receive,
                Category::Startup => a.startup,
                Category::Barrier => a.barrier,
                Category::Shutdown => a.shutdown,
            };
            t.set(c, ns / MS);
        }
        t
    }

    /// The six-column view, in [`Group::ALL`] order.
    pub fn groups(&self) -> [f64; 6] {
        let mut g = [0.0; 6];
        for c in Category::ALL {
            g[c.group() as usize] += self.get(c);
        }
        g
    }
}

/// One process's time split (ms) and counters, for one replication or the mean of several.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSplit {
    /// "leader" or "worker".
    pub role: &'static str,
    pub worker: Option<u32>,
    pub times: Times,
    /// Milliseconds running on a core, every kind of CPU work included (the fork, start-up,
    /// the plan, the exit), not the turns waited for one: what Linux counts as the process's
    /// CPU time (`/proc/PID/schedstat`, a worker's in its postmaster's reaped children's
    /// time). The kernel's copies from the OS page cache, which the split shows as disk wait,
    /// are not in it.
    pub on_core_ms: f64,
    pub queue_full_stalls: f64,
    pub tuples_scanned: f64,
    pub rows_sent: f64,
}

impl ProcessSplit {
    pub fn is_worker(&self) -> bool {
        self.role == "worker"
    }

    /// Milliseconds in one category.
    pub fn time(&self, c: Category) -> f64 {
        self.times.get(c)
    }

    /// Milliseconds per group, in [`Group::ALL`] order.
    pub fn groups(&self) -> [f64; 6] {
        self.times.groups()
    }
}

/// The contract's `processes` entry (key order is the contract's).
#[derive(Serialize)]
pub(crate) struct ProcessJson {
    role: &'static str,
    worker: Option<u32>,
    cpu_ms: f64,
    io_wait_ms: f64,
    mq_send_wait_ms: f64,
    mq_receive_wait_ms: f64,
    startup_ms: f64,
    barrier_wait_ms: f64,
    shutdown_wait_ms: f64,
    on_core_ms: f64,
    queue_full_stalls: f64,
    tuples_scanned: f64,
    rows_sent: f64,
}

impl From<&ProcessSplit> for ProcessJson {
    fn from(p: &ProcessSplit) -> Self {
        let t = |c| p.time(c);
        ProcessJson {
            role: p.role,
            worker: p.worker,
            cpu_ms: t(Category::Cpu),
            io_wait_ms: t(Category::Io),
            mq_send_wait_ms: t(Category::MqSend),
            mq_receive_wait_ms: t(Category::MqReceive),
            startup_ms: t(Category::Startup),
            barrier_wait_ms: t(Category::Barrier),
            shutdown_wait_ms: t(Category::Shutdown),
            on_core_ms: p.on_core_ms,
            queue_full_stalls: p.queue_full_stalls,
            tuples_scanned: p.tuples_scanned,
            rows_sent: p.rows_sent,
        }
    }
}

/// Each process's split in one simulated execution.
pub fn process_splits(r: &SimResult) -> Vec<ProcessSplit> {
    r.processes
        .iter()
        .map(|p| ProcessSplit {
            role: if p.is_worker { "worker" } else { "leader" },
            worker: p.worker_number,
            times: Times::from_accounting(&p.acct),
            on_core_ms: p.acct.on_cpu / MS,
            queue_full_stalls: p.stalls as f64,
            tuples_scanned: p.tuples_scanned.round(),
            rows_sent: if p.is_worker { p.rows_out.round() } else { 0.0 },
        })
        .collect()
}

/// Mean of process splits over replications (same process layout in each), rounded as the
/// contract prints them (times to 1 µs, stalls to 0.01).
pub fn mean_splits(all: &[Vec<ProcessSplit>]) -> Vec<ProcessSplit> {
    let n = all.len().max(1) as f64;
    let Some(first) = all.first() else { return vec![] };
    let mut out = first.clone();
    for (i, p) in out.iter_mut().enumerate() {
        let col = |f: &dyn Fn(&ProcessSplit) -> f64| all.iter().filter_map(|r| r.get(i)).map(f).sum::<f64>() / n;
        for c in Category::ALL {
            p.times.set(c, r3(col(&|x| x.time(c))));
        }
        p.on_core_ms = r3(col(&|x| x.on_core_ms));
        p.queue_full_stalls = r2(col(&|x| x.queue_full_stalls));
        p.tuples_scanned = col(&|x| x.tuples_scanned).round();
        p.rows_sent = col(&|x| x.rows_sent).round();
    }
    out
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(role: &'static str, ms: [f64; 7]) -> ProcessSplit {
        ProcessSplit {
            role,
            worker: if role == "worker" { Some(0) } else { None },
            times: Times(ms),
            on_core_ms: ms[0],
            queue_full_stalls: 1.0,
            tuples_scanned: 10.0,
            rows_sent: 5.0,
        }
    }

    #[test]
    fn every_running_state_has_one_category_and_idle_none() {
        for s in
            [State::Cpu, State::Io, State::MqSend, State::MqReceive, State::Startup, State::Barrier, State::Shutdown]
        {
            assert!(Category::of_state(s).is_some(), "{s:?}");
        }
        assert_eq!(Category::of_state(State::Idle), None);
    }

    #[test]
    fn groups_put_barrier_and_shutdown_in_other() {
        let p = split("leader", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(p.groups(), [1.0, 2.0, 3.0, 4.0, 5.0, 13.0]);
        let labels: Vec<&str> = Group::ALL.iter().map(|g| g.label()).collect();
        assert_eq!(labels, Group::LABELS);
    }

    #[test]
    fn mean_of_two_replications_is_per_category_and_rounded() {
        let a = vec![split("leader", [1.0, 0.0, 0.0, 2.0, 0.5, 0.0, 0.0])];
        let b = vec![split("leader", [2.0, 0.0, 0.0, 3.0, 0.0001, 0.0, 0.0])];
        let m = mean_splits(&[a, b]);
        assert_eq!(m[0].time(Category::Cpu), 1.5);
        assert_eq!(m[0].time(Category::MqReceive), 2.5);
        assert_eq!(m[0].time(Category::Startup), 0.25);
        assert!(mean_splits(&[]).is_empty());
    }

    #[test]
    fn process_json_keys_are_the_contracts_in_order() {
        let p = split("worker", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let v = serde_json::to_value(ProcessJson::from(&p)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want = vec!["role", "worker"];
        want.extend(Category::ALL.iter().map(|c| c.json_key()));
        want.extend(["on_core_ms", "queue_full_stalls", "tuples_scanned", "rows_sent"]);
        assert_eq!(keys, want);
        assert_eq!(v["mq_send_wait_ms"], 3.0);
        assert_eq!(v["on_core_ms"], 1.0);
    }
}
