//! Wait-event samples of one simulated execution, as `pg_wait_sampling` would record them:
//! one sample per process per period with PostgreSQL's backend types and wait event names
//! (`pg_wait_sampling_history`), and their counts per process and event
//! (`pg_wait_sampling_profile`).
//!
//! Names, from PostgreSQL 15's `utils/activity/wait_event.c` and `backend_status.c`:
//! - the leader is a `client backend`, each worker a `parallel worker`;
//! - on CPU (or runnable): no wait event (NULL type and event; pg_wait_sampling samples it
//!   with `sample_cpu`, its default);
//! - `IO`/`DataFileRead`: reading a relation's page (the OS page cache copy or the disk);
//! - `IPC`/`MessageQueueSend`: a worker whose tuple queue is full (`shm_mq_send`);
//! - `IPC`/`ExecuteGather`: the Gather leader with no tuple in any queue (`gather_readnext`
//!   reads without blocking, then waits on its latch);
//! - `IPC`/`MessageQueueReceive`: the Gather Merge leader, which blocks in `shm_mq_receive`
//!   for the worker whose tuple is next;
//! - `IPC`/`HashBuildHashInner`: a Parallel Hash participant waiting for the others to finish
//!   the inner relation;
//! - `IPC`/`ParallelFinish`: the leader in `WaitForParallelWorkersToFinish`.
//!
//! A process is sampled while it exists: a worker from its fork to its exit.

use super::split::Category;
use crate::engine::Time;
use crate::exec::{State, Trace, WaitSamples, N_STATES};
use serde::Serialize;

/// One row of `--wait-samples`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitSample {
    pub sample_ms: f64,
    pub pid: u32,
    pub backend_type: &'static str,
    pub wait_event_type: Option<&'static str>,
    pub wait_event: Option<&'static str>,
}

/// One row of `wait_event_profile` (as `pg_wait_sampling_profile`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitProfileEntry {
    pub pid: u32,
    pub backend_type: &'static str,
    pub wait_event_type: Option<&'static str>,
    pub wait_event: Option<&'static str>,
    pub count: u64,
}

/// A process of the sampled execution: its pid and whether it is a worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backend {
    pub pid: u32,
    pub is_worker: bool,
}

impl Backend {
    pub fn backend_type(&self) -> &'static str {
        if self.is_worker {
            "parallel worker"
        } else {
            "client backend"
        }
    }
}

/// Plausible pids for the leader (first) and its workers (after, in launch order), stable for
/// a seed.
pub fn backends(seed: u64, workers: usize) -> Vec<Backend> {
    let leader = 20_000 + (seed.wrapping_mul(7919) % 30_000) as u32;
    (0..=workers).map(|i| Backend { pid: leader + i as u32, is_worker: i > 0 }).collect()
}

impl Category {
    /// PostgreSQL's (wait_event_type, wait_event) of a category; `None` on CPU.
    /// `gather_merge`: the leader waits in Gather Merge (MessageQueueReceive) rather than
    /// Gather (ExecuteGather).
    pub fn wait_event(self, gather_merge: bool) -> Option<(&'static str, &'static str)> {
        match self {
            Category::Cpu | Category::Startup => None,
            Category::Io => Some(("IO", "DataFileRead")),
            Category::MqSend => Some(("IPC", "MessageQueueSend")),
            Category::MqReceive if gather_merge => Some(("IPC", "MessageQueueReceive")),
            Category::MqReceive => Some(("IPC", "ExecuteGather")),
            Category::Barrier => Some(("IPC", "HashBuildHashInner")),
            Category::Shutdown => Some(("IPC", "ParallelFinish")),
        }
    }
}

/// PostgreSQL's (wait_event_type, wait_event) of a sampled state; `None` on CPU (or idle).
fn event_of(state: State, gather_merge: bool) -> Option<(&'static str, &'static str)> {
    match state {
        State::TempWrite => Some(("IO", "BufFileWrite")),
        State::TempRead => Some(("IO", "BufFileRead")),
        _ => Category::of_state(state).and_then(|c| c.wait_event(gather_merge)),
    }
}

const STATES: [State; N_STATES] = [
    State::Startup,
    State::Cpu,
    State::Io,
    State::MqSend,
    State::MqReceive,
    State::Barrier,
    State::Shutdown,
    State::TempWrite,
    State::TempRead,
    State::Idle,
];

/// The rows of samples taken as the run went (`exec::WaitSamples::rows`), named.
pub fn rows(w: &WaitSamples, procs: &[Backend], gather_merge: bool) -> Vec<WaitSample> {
    let Some(rows) = w.rows.as_ref() else { return vec![] };
    rows.iter()
        .filter_map(|&(t, p, state)| {
            let b = procs.get(p as usize)?;
            Category::of_state(state)?;
            let ev = event_of(state, gather_merge);
            Some(WaitSample {
                sample_ms: t as f64 / 1e6,
                pid: b.pid,
                backend_type: b.backend_type(),
                wait_event_type: ev.map(|e| e.0),
                wait_event: ev.map(|e| e.1),
            })
        })
        .collect()
}

/// [`profile`] of the samples taken as the run went, from their counts alone (no rows): per
/// process in order of pid, its events in order of their first sample.
pub fn profile_of(w: &WaitSamples, procs: &[Backend], gather_merge: bool) -> Vec<WaitProfileEntry> {
    let mut out = vec![];
    for (b, counts) in procs.iter().zip(&w.per_process) {
        // (first sample, entry) per event.
        let mut mine: Vec<(crate::engine::Time, WaitProfileEntry)> = vec![];
        for st in STATES {
            let c = counts[st as usize];
            if c.count == 0 || Category::of_state(st).is_none() {
                continue;
            }
            let ev = event_of(st, gather_merge);
            let (ty, name) = (ev.map(|e| e.0), ev.map(|e| e.1));
            match mine.iter_mut().find(|(_, e)| e.wait_event == name && e.wait_event_type == ty) {
                Some((first, e)) => {
                    e.count += c.count;
                    *first = (*first).min(c.first);
                }
                None => mine.push((
                    c.first,
                    WaitProfileEntry {
                        pid: b.pid,
                        backend_type: b.backend_type(),
                        wait_event_type: ty,
                        wait_event: name,
                        count: c.count,
                    },
                )),
            }
        }
        mine.sort_by_key(|(first, _)| *first);
        out.extend(mine.into_iter().map(|(_, e)| e));
    }
    out.sort_by_key(|e| e.pid);
    out
}

/// Samples every `period` ns from 0 while `t < wall`: for each process present at `t` (in a
/// state other than idle), one row.
pub fn samples(trace: &Trace, procs: &[Backend], wall: Time, period: Time, gather_merge: bool) -> Vec<WaitSample> {
    let period = period.max(1);
    let mut per: Vec<Vec<(Time, Time, State)>> = vec![vec![]; procs.len()];
    for iv in &trace.intervals {
        if let Some(v) = per.get_mut(iv.process) {
            v.push((iv.start, iv.end, iv.state));
        }
    }
    for v in &mut per {
        v.sort_by_key(|x| x.0);
    }
    let mut cursor = vec![0usize; procs.len()];
    let mut out = vec![];
    let mut t: Time = 0;
    while t < wall {
        for (p, b) in procs.iter().enumerate() {
            let ivs = &per[p];
            while cursor[p] < ivs.len() && ivs[cursor[p]].1 <= t {
                cursor[p] += 1;
            }
            let Some(&(start, _, state)) = ivs.get(cursor[p]) else { continue };
            if start > t {
                continue;
            }
            if Category::of_state(state).is_none() {
                continue;
            }
            let ev = event_of(state, gather_merge);
            out.push(WaitSample {
                sample_ms: t as f64 / 1e6,
                pid: b.pid,
                backend_type: b.backend_type(),
                wait_event_type: ev.map(|e| e.0),
                wait_event: ev.map(|e| e.1),
            });
        }
        t += period;
    }
    out
}

/// Counts per (pid, event), processes in order of pid, events in order of first appearance.
pub fn profile(samples: &[WaitSample]) -> Vec<WaitProfileEntry> {
    let mut out: Vec<WaitProfileEntry> = vec![];
    for s in samples {
        match out
            .iter_mut()
            .find(|e| e.pid == s.pid && e.wait_event == s.wait_event && e.wait_event_type == s.wait_event_type)
        {
            Some(e) => e.count += 1,
            None => out.push(WaitProfileEntry {
                pid: s.pid,
                backend_type: s.backend_type,
                wait_event_type: s.wait_event_type,
                wait_event: s.wait_event,
                count: 1,
            }),
        }
    }
    out.sort_by_key(|e| e.pid);
    out
}

/// The CSV of `run --wait-samples`: `sample_ms,pid,backend_type,wait_event_type,wait_event`,
/// empty fields for NULL.
pub fn samples_csv(samples: &[WaitSample]) -> String {
    let mut s = String::from("sample_ms,pid,backend_type,wait_event_type,wait_event\n");
    for w in samples {
        s.push_str(&format!(
            "{:.3},{},{},{},{}\n",
            w.sample_ms,
            w.pid,
            w.backend_type,
            w.wait_event_type.unwrap_or(""),
            w.wait_event.unwrap_or("")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Interval;

    fn iv(process: usize, state: State, start: Time, end: Time) -> Interval {
        Interval { process, state, start, end }
    }

    #[test]
    fn one_row_per_present_process_per_period_with_postgresql_names() {
        let ms = 1_000_000;
        let trace = Trace {
            intervals: vec![
                iv(0, State::Startup, 0, 2 * ms),
                iv(0, State::Cpu, 2 * ms, 25 * ms),
                iv(0, State::Shutdown, 25 * ms, 30 * ms),
                iv(1, State::Startup, 5 * ms, 8 * ms),
                iv(1, State::MqSend, 8 * ms, 24 * ms),
            ],
            queue: vec![],
        };
        let procs = backends(1, 1);
        assert!(procs[1].pid > procs[0].pid);
        let s = samples(&trace, &procs, 30 * ms, 10 * ms, false);
        // t = 0: leader only (the worker is not forked yet); 10, 20: both; the worker exited by 30.
        assert_eq!(s.len(), 5);
        assert_eq!((s[0].backend_type, s[0].wait_event), ("client backend", None));
        assert_eq!(s[2].backend_type, "parallel worker");
        assert_eq!((s[2].wait_event_type, s[2].wait_event), (Some("IPC"), Some("MessageQueueSend")));
        let p = profile(&s);
        assert_eq!(p.iter().map(|e| e.count).sum::<u64>(), 5);
        assert_eq!(p.iter().find(|e| e.wait_event == Some("MessageQueueSend")).map(|e| e.count), Some(2));
        let csv = samples_csv(&s);
        assert!(csv.starts_with("sample_ms,pid,backend_type,wait_event_type,wait_event\n0.000,"));
        assert!(csv.contains(",parallel worker,IPC,MessageQueueSend\n"));
        assert!(csv.contains(",client backend,,\n"));
    }

    #[test]
    fn the_leader_waits_in_execute_gather_or_message_queue_receive() {
        assert_eq!(Category::MqReceive.wait_event(false), Some(("IPC", "ExecuteGather")));
        assert_eq!(Category::MqReceive.wait_event(true), Some(("IPC", "MessageQueueReceive")));
        assert_eq!(Category::Cpu.wait_event(false), None);
    }
}
