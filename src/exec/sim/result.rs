//! What a simulation returns: per-process time splits (named as PostgreSQL's wait events),
//! milestones for EXPLAIN, traces.

use crate::engine::Time;

/// What a process is waiting for, named as PostgreSQL's wait events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Forked but not yet running the plan (InitPostgres, restoring state).
    Startup,
    /// On CPU (or runnable, waiting for a core: no wait event).
    Cpu,
    /// IO: DataFileRead (OS page cache copy or disk).
    Io,
    /// IPC: MessageQueueSend — the worker's tuple queue is full.
    MqSend,
    /// IPC: ExecuteGather / MessageQueueReceive — the leader waits for tuples.
    MqReceive,
    /// IPC: HashBuildHashInner — waiting for the other participants to finish the build.
    Barrier,
    /// IPC: ParallelFinish / BgWorkerShutdown — the leader waits for workers to exit.
    Shutdown,
    /// IO: BufFileWrite — a spilling sort writing its runs to temp files (CPU-bound copies
    /// into the OS page cache, shown as PostgreSQL shows them: a wait event of type IO).
    TempWrite,
    /// IO: BufFileRead — a spilling sort reading its runs back to merge them.
    TempRead,
    /// Not started or finished.
    Idle,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Startup => "start-up",
            State::Cpu => "CPU",
            State::Io => "IO: DataFileRead",
            State::MqSend => "IPC: MessageQueueSend",
            State::MqReceive => "IPC: ExecuteGather/MessageQueueReceive",
            State::Barrier => "IPC: HashBuildHashInner",
            State::Shutdown => "IPC: ParallelFinish",
            State::TempWrite => "IO: BufFileWrite",
            State::TempRead => "IO: BufFileRead",
            State::Idle => "idle",
        }
    }
}

/// Time a process spent in each state, ns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounting {
    /// Time on CPU or waiting for a core to run CPU work (the CPU column of the time split).
    pub cpu: f64,
    pub io: f64,
    pub mq_send: f64,
    pub mq_receive: f64,
    pub startup: f64,
    pub barrier: f64,
    pub shutdown: f64,
    /// Time actually running on a core (each CPU flow's share of a core while it runs,
    /// start-up and exit work included): what the kernel counts as the task's CPU time
    /// (`/proc/PID/schedstat`), as opposed to `cpu`, which includes waiting for a turn.
    pub on_cpu: f64,
}

/// Per-phase timestamps of one participant, for EXPLAIN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Milestones {
    /// When the process began executing the plan (after start-up), ns since query start.
    pub plan_start: Option<Time>,
    pub builds_end: Vec<Time>,
    pub first_tuple: Option<Time>,
    pub scan_end: Option<Time>,
    pub breakers_end: Vec<Time>,
    pub first_row_out: Option<Time>,
    pub last_row_out: Option<Time>,
    pub done: Option<Time>,
    /// Time blocked on MessageQueueSend up to the scan end and to the end (EXPLAIN node times
    /// exclude time spent in the tuple queue).
    pub send_wait_at_scan_end: f64,
    pub send_wait_at_done: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessResult {
    pub is_worker: bool,
    pub worker_number: Option<u32>,
    pub acct: Accounting,
    pub stalls: u64,
    pub tuples_scanned: f64,
    pub pages_scanned: f64,
    /// Rows out of the streaming part (into the first breaker, or output).
    pub rows_streamed: f64,
    /// Rows out of the participant's pipeline (sent to the queue or to the leader's consumer).
    pub rows_out: f64,
    pub build_tuples: Vec<f64>,
    pub participated: bool,
    pub ms: Milestones,
}

/// A state interval of one process, for traces.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub process: usize,
    pub state: State,
    pub start: Time,
    pub end: Time,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub intervals: Vec<Interval>,
    /// (time, worker, bytes used) at every change visible to the leader.
    pub queue: Vec<(Time, usize, f64)>,
}

/// The Gather inside a hashed SubPlan's subquery, run before the main (serial) plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlanGather {
    /// The leader's part in it (its own scan share and milestones), times since query start.
    pub leader: ProcessResult,
    pub gather_rows: f64,
    pub first_row: Option<Time>,
    pub end: Option<Time>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    pub wall: Time,
    pub workers_launched: u32,
    pub processes: Vec<ProcessResult>,
    pub queue_full_stalls: u64,
    /// Rows the Gather returned to its parent.
    pub gather_rows: f64,
    pub gather_first_row: Option<Time>,
    pub gather_end: Option<Time>,
    /// Rows returned by the top of the plan.
    pub result_rows: f64,
    pub events: u64,
    /// Moves of a process between CPUs in the steps simulated (a fast-forward's jump over
    /// whole periods counts none of the moves inside them).
    pub migrations: u64,
    /// Steps of `events` that fast-forward jumped over instead of simulating (0 when off).
    pub fast_forward_steps: u64,
    /// Step boundaries fast-forward's detector recorded (0 when off): what it paid to find
    /// the jumps, a record costing about as much as a step.
    pub fast_forward_records: u64,
    pub trace: Option<Trace>,
    /// Wait-event samples, when asked for (`RunSpec::wait_sample_period`).
    pub wait_samples: Option<super::WaitSamples>,
    pub subplan_gather: Option<SubPlanGather>,
}
