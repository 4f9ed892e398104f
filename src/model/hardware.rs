//! The hardware profile: a machine's cores, disk and cache state, the CPU prices of the
//! executor's operations, the fixed costs of a parallel query, and how Linux shares its cores.

use super::cpu_costs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// Data in shared buffers (as far as shared_buffers holds it).
    Hot,
    /// Data in the OS page cache only: every block is a pread served from memory.
    Warm,
    /// Data on disk.
    Cold,
}

impl CacheState {
    pub fn name(self) -> &'static str {
        match self {
            CacheState::Hot => "hot",
            CacheState::Warm => "warm",
            CacheState::Cold => "cold",
        }
    }
}

/// CPU cost of the executor's unit operations, in nanoseconds on this machine's cores.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCosts {
    pub page_ns: f64,
    pub os_read_page_ns: f64,
    /// Per heap page of a scan that reads its rows' columns: the page's tuple data brought
    /// into the core's cache (a scan that deforms nothing, such as count(*), reads only the
    /// page's line pointers).
    pub page_data_ns: f64,
    /// Per row of a sequential scan that reads its columns: its header and first columns
    /// coming into the core's cache, whatever the page holds. Measured on a 2-vCPU VM: reading
    /// the first column costs 41-51 ns a row over count(*) on rows of 140-375 bytes of
    /// constant length, flat in the row's width; a price per page alone put a 226-rows-a-page
    /// scan 43% fast.
    pub row_data_ns: f64,
    /// Per row of a sequential scan that reads its columns, when rows vary in length and
    /// stand wider than a cache line apart: the core's prefetchers follow a constant stride,
    /// so rows at irregular offsets are each a miss to memory. Charged in full from
    /// [`ROW_MISS_FULL_BYTES`] of page per row, not at all up to [`ROW_MISS_FROM_BYTES`]
    /// (rows that share cache lines are read as one stream), linearly between.
    pub row_miss_ns: f64,
    /// Per shared-buffer page a scan reads that does not follow the page before it in shared
    /// memory (see [`Table::buffers_in_order`]): the core's prefetchers, which follow
    /// ascending addresses, start over. Measured on a 2-vCPU Xeon VM: count(*) of a
    /// 4,800-page table prewarmed in random block order took 15-21% longer than in order.
    pub buffer_jump_ns: f64,
    /// Per such page when the scan reads its rows' columns too: the tuple data arrives
    /// without prefetching (sum of one column: +37% in random order in the same test).
    pub buffer_jump_data_ns: f64,
    /// Per shared-buffer page a parallel worker touches: a worker is a fresh process whose
    /// page tables map none of shared memory yet, so its first touch of every page is a minor
    /// fault (the leader, a long-lived backend, has mapped them in earlier queries).
    pub worker_page_fault_ns: f64,
    /// Per row the leader's own copy of the plan returns through Gather: ExecGather's call
    /// and its poll of every tuple queue before each local row (gather_readnext), work a
    /// serial plan does not do. A row received from a worker pays `tuple_receive_ns` instead.
    pub gather_row_ns: f64,
    /// Per worker queue Gather polls (without waiting) before each row of the leader's own
    /// plan: gather_readnext visits every reader once before the leader scans locally.
    pub gather_poll_ns: f64,
    pub tuple_ns: f64,
    pub qual_ns: f64,
    pub agg_transition_ns: f64,
    pub hash_build_ns: f64,
    /// Per lookup in a hash join's table: the outer key's hash, its bucket, the hash values
    /// of the tuples there; what a lookup that finds no match costs.
    pub hash_probe_ns: f64,
    /// Per row a hash join's lookup finds, beyond [`Self::hash_probe_ns`]: the join clause
    /// evaluated on the tuple whose hash value matched (ExecScanHashBucket, ExecQualAndReset)
    /// and the joined row formed. Profiles fitted before it existed have 0 and a
    /// `hash_probe_ns` that is a matching lookup's price (their probes all matched).
    pub hash_match_ns: f64,
    /// Per random access into a hash table (a build's insert, a probe's lookup), per doubling
    /// of the table beyond `hash_cache_bytes`: more of the accesses miss the core's caches
    /// and its TLB ([`hash_table`]).
    pub hash_miss_ns: f64,
    /// The same per insert into a hash table (a build), where `hash_miss_ns` is then a
    /// lookup's: an insert writes its bucket (and in a SubPlan's or Aggregate's simplehash
    /// table moves the entries it displaces), a lookup reads. Calibration's builds alone
    /// (hashed SubPlans of 57k-3M keys probed 1,000 times) came out 7-15% under their
    /// measured times in four sittings of 2026-12-07 with one price for both, and a lookup per
    /// row of n_l 3.5%; the validation's NOT IN's build 11% (291 ms at the typical speed, 259
    /// modelled) and its lookups 6% over (288 ns a row, 305). Profiles without it: the lookup's.
    pub hash_insert_miss_ns: f64,
    /// Per row inserted into a Parallel Hash's shared table, beyond a private table's insert:
    /// PostgreSQL allocates the tuple from shared memory (a DSA chunk, under a lock every
    /// 32 kB) and links it into a bucket array every participant writes, with a
    /// compare-and-swap whose cache line moves between the cores (nodeHash.c
    /// ExecParallelHashTableInsert). Calibrated by a Parallel Hash join against the same
    /// join with private tables.
    pub parallel_hash_insert_ns: f64,
    /// Per lookup into a Parallel Hash's shared table, beyond a private table's lookup: the
    /// bucket is an atomic dsa_pointer and every tuple in its chain is reached through
    /// `dsa_get_address` (nodeHash.c ExecParallelScanHashBucket). Sampled on a 2-vCPU VM
    /// (perf, 150 runs of a Q12-like join each way): the bucket walk 18 ns a lookup in a
    /// private table, 23 ns plus 9 ns of `dsa_get_address` in the shared one. Calibrated by a
    /// Parallel Hash join against private tables whose build is 1,000 rows.
    pub parallel_hash_probe_ns: f64,
    /// The hash table size up to which accesses cost only `hash_build_ns` / `hash_probe_ns`:
    /// the cache one core has to itself (its L2).
    pub hash_cache_bytes: f64,
    /// The hash table size past which a random access costs no more: every access then
    /// misses every cache and the TLB, whatever the size. Calibrated (the doublings past
    /// `hash_cache_bytes` that fit the hashed SubPlan builds of up to 3M rows best); 64 times
    /// `hash_cache_bytes` where a profile does not say.
    pub hash_far_bytes: f64,
    pub sort_tuple_ns: f64,
    pub sort_compare_ns: f64,
    pub index_tuple_ns: f64,
    pub index_descent_ns: f64,
    pub tuple_send_ns: f64,
    pub tuple_receive_ns: f64,
    pub gather_merge_tuple_ns: f64,
    pub client_row_ns: f64,
    pub temp_page_ns: f64,
    pub wakeup_ns: f64,
    /// One instrumented node call under EXPLAIN ANALYZE with TIMING ON (two clock reads), over
    /// `instrument_call_ns`.
    pub instrument_ns: f64,
    /// One instrumented node call under EXPLAIN ANALYZE with or without TIMING: the wrapper
    /// every node call goes through (execProcnode.c `ExecProcNodeInstr`: `InstrStartNode`,
    /// the node, `InstrStopNode` counting the row). A bare query, timed by its client, does
    /// not pay it. 0 in profiles written before it was measured (their per-row prices hold it).
    pub instrument_call_ns: f64,
    /// Fixed cost of one query as EXPLAIN ANALYZE's Execution Time shows it (executor start
    /// and end, the per-query set-up no node counts): the calibration's intercept for
    /// EXPLAIN-timed probes.
    pub query_explain_ns: f64,
    /// Fixed cost of one query as its client times it (parse, plan, executor start and end,
    /// the protocol's round trip): the calibration's intercept for client-timed probes.
    pub query_client_ns: f64,
    /// Planning per join or SubPlan of the query (join search, the paths of each side), over
    /// a one-table query's: a client's time includes planning, EXPLAIN ANALYZE's Execution
    /// Time does not. The calibration's median Planning Time of its hash-join probes less
    /// that of its one-table probes.
    pub plan_join_ns: f64,
    /// Per-row prices by column layout and expression class (used where the scenario's
    /// tables have columns).
    pub cpu: cpu_costs::CpuCosts,
}

/// Bytes of page per row (line pointer, header, data, padding) up to which rows of variable
/// length are read as one stream: one cache line.
pub const ROW_MISS_FROM_BYTES: f64 = 64.0;
/// Bytes of page per row from which every row of variable length is a miss (measured on a
/// 2-vCPU AMD EPYC VM: count(a) - count(*) per row, rows of 140, 205 and 375 bytes of
/// variable length against the same widths of constant length: 80/47, 148/41, 177/51 ns).
pub const ROW_MISS_FULL_BYTES: f64 = 224.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Disk {
    pub seq_bytes_per_ns: f64,
    pub request_latency_ns: f64,
    pub read_ahead_bytes: f64,
    pub queue_depth: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParallelCosts {
    pub leader_setup_ns: f64,
    /// The postmaster's CPU per worker it forks, one worker after another: CPU work on a
    /// core, charged to the worker being forked.
    pub launch_per_worker_ns: f64,
    /// A worker's start-up after its fork (InitPostgres, restoring the leader's state): CPU
    /// work on a core (`worker_cpu_share` of it; the rest a wait before it).
    pub worker_startup_ns: f64,
    /// Log-normal shape (sigma) of the worker start-up.
    pub worker_startup_sigma: f64,
    /// The fixed part of a worker's exit after its last tuple: CPU work on a core
    /// (`worker_cpu_share` of it; the rest a wait after it; a worker
    /// over one block spent 7.4 ms of CPU from fork to exit, and took twice as long beside two
    /// CPU-bound processes as alone: docs/cpu-costs.md).
    pub shutdown_per_worker_ns: f64,
    /// A worker's exit, per shared-buffer page it touched: a fresh process mapped each page
    /// it read (a minor fault, `worker_page_fault_ns`) and unmaps them all when it exits,
    /// while the leader waits for it (BgWorkerShutdown). CPU work on a core.
    pub shutdown_per_page_ns: f64,
    /// Log-normal shape (sigma) of the fixed part of a worker's end around
    /// `shutdown_per_worker_ns`: one can take twice another on the same query.
    pub shutdown_sigma: f64,
    /// The share of a worker's start-up and of the fixed part of its exit that is CPU work on
    /// a core (0-1); the rest is time the worker is not on a core (the postmaster's turn to
    /// fork and reap it, a halted vCPU resumed, the leader told it has gone), which makes the
    /// query wait but leaves the core to others. Calibration measures it: the kernel's
    /// account of a worker's CPU from fork to exit over its fitted start-up plus exit. 1 where
    /// a profile does not say (every part CPU work, as before the share was measured).
    pub worker_cpu_share: f64,
    pub tuple_queue_size: f64,
}

/// How the kernel shares cores when more processes are runnable than there are cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// Linux 6.6+: each runnable task gets a base slice; a woken task waits for the running
    /// one's protected slice (RUN_TO_PARITY) to end, seen at the next tick.
    Eevdf,
    /// Linux before 6.6: slice = max(sched_latency / runnable, min_granularity), seen at ticks.
    Cfs,
    /// Ideal processor sharing (every runnable process progresses at cores / runnable) and a
    /// fixed wake-up delay (`costs.wakeup_ns`): the model before scheduling was modelled.
    Fluid,
}

/// The CPU scheduler's parameters (profile table `[scheduler]`), times in ns.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduler {
    pub kind: SchedulerKind,
    /// EEVDF: sysctl_sched_base_slice; CFS: sched_min_granularity.
    pub base_slice_ns: f64,
    /// CFS only: sched_latency (the period shared by the runnable tasks of one CPU).
    pub latency_ns: f64,
    /// One scheduler tick (1 / CONFIG_HZ): without HRTICK a used-up slice is seen at a tick.
    pub tick_ns: f64,
    /// SetLatch to a sleeping process until it runs, when a core is idle (signal, epoll
    /// return, resuming a halted vCPU).
    pub wakeup_latency_ns: f64,
    /// One context switch (the CPU the switched-in process loses).
    pub context_switch_ns: f64,
    /// CPU a process spends on each wake-up from a latch wait (WaitLatch returning: the
    /// kernel's switch in and out, epoll's return, draining the signal, re-checking the
    /// queue), charged on a core before it goes on. 0 where a profile does not say: a
    /// calibrated profile's queue prices then hold it (the calibration's probes wake their
    /// leader once per quarter of a queue).
    pub wake_cpu_ns: f64,
    /// CPU a process spends setting the latch of a process that sleeps on it (SetLatch sees
    /// the owner waiting and signals it: `kill(pid, SIGURG)`; on a VM the wake-up interrupts a
    /// halted vCPU): a worker publishing to a leader asleep on its queues. Measured with `perf
    /// record` on a 2-vCPU AMD EPYC VM (2026-12-07): 8% of a single-copy worker's CPU in that
    /// path, 9-10 us for each of its leader's 472 sleeps a run. 0 where a profile does not
    /// say: its send price then holds it (the calibration's single-copy worker wakes its
    /// leader once per quarter of the queue).
    pub set_latch_ns: f64,
    /// How long one CPU keeps one runnable process more than another (three processes on two
    /// CPUs: one alone, two sharing) before the load balancer moves a waiting one across, so
    /// that who is alone changes (0: never).
    pub rotate_ns: f64,
    /// A CPU that goes idle while another has a process waiting takes it only at the busy
    /// CPU's next tick (true), not at once (false). Linux skips the newly-idle balance when
    /// the CPU's average idle period is shorter than a balance costs (a backend's CPU, idle
    /// for a client round trip at a time, usually is): the busy CPU's tick then kicks the
    /// idle balancer (kernel/sched/fair.c: sched_balance_newidle, nohz_balancer_kick).
    pub idle_pull_at_tick: bool,
}

impl Scheduler {
    /// Linux 6.18's defaults on `cores` CPUs: base slice 0.70 ms x (1 + ilog2(min(cores, 8)))
    /// (kernel/sched/fair.c:get_update_sysctl_factor), CONFIG_HZ=250, and the wake-up and
    /// switch costs measured with `perf bench sched pipe` on a 2-vCPU cloud VM (22 us to wake a
    /// process onto an idle vCPU, 4.3 us per round trip of 2 wake-ups + 2 switches on one CPU).
    pub fn linux_default(cores: f64) -> Scheduler {
        let factor = 1.0 + (cores.clamp(1.0, 8.0).floor() as u32).ilog2() as f64;
        Scheduler {
            kind: SchedulerKind::Eevdf,
            base_slice_ns: 700e3 * factor,
            latency_ns: 6e6 * factor,
            tick_ns: 4e6,
            wakeup_latency_ns: 22e3,
            context_switch_ns: 2e3,
            wake_cpu_ns: 0.0,
            set_latch_ns: 0.0,
            rotate_ns: Self::default_rotate_ns(cores),
            idle_pull_at_tick: true,
        }
    }

    /// Linux's balancer runs on a busy CPU every `busy_factor` (16) x the domain's
    /// `balance_interval` (its CPU count, in ms); it moves a whole process to even out an
    /// imbalance of one only after failed attempts have halved what it may move, about four
    /// intervals: 128 ms on 2 CPUs. Measured on a 2-vCPU VM (Linux 6.18, `cargo run --release
    /// --example balancer`, three spinning processes each in its own session as PostgreSQL's
    /// are): the process alone on its CPU changed every 142 ms (median of 36 stretches).
    pub fn default_rotate_ns(cores: f64) -> f64 {
        4.0 * 16e6 * cores.max(1.0).floor()
    }

    /// The CPU time a process runs before the next one in line is due, when `per_cpu`
    /// processes are runnable on each CPU (more than one): EEVDF's base slice; CFS's share of
    /// sched_latency, at least its minimum granularity.
    pub fn slice_ns(&self, per_cpu: f64) -> f64 {
        match self.kind {
            SchedulerKind::Cfs => (self.latency_ns / per_cpu.max(1.0)).max(self.base_slice_ns),
            _ => self.base_slice_ns,
        }
    }

    /// How long a process runs before the next one in line gets its core, when its turn began
    /// at a tick: the slice, seen at the next tick without HRTICK (`tick_at_or_after`).
    pub fn turn_ns(&self, per_cpu: f64) -> f64 {
        self.tick_at_or_after(self.slice_ns(per_cpu), 0.0).max(1.0)
    }

    /// The first tick at or after `t` (ns) on a machine whose ticks fall at `phase` + k x
    /// `tick_ns`: the tick is the machine's clock, not the query's, so where a query's events
    /// fall between two ticks is a matter of chance. `t` itself without ticks.
    pub fn tick_at_or_after(&self, t: f64, phase: f64) -> f64 {
        if self.tick_ns > 0.0 {
            phase + ((t - phase) / self.tick_ns).ceil() * self.tick_ns
        } else {
            t
        }
    }

    /// The most CPU time a process that slept is still owed when it wakes (its lag, kept
    /// across the sleep). EEVDF: lag is clamped to max(2 x slice, one tick)
    /// (kernel/sched/fair.c:update_entity_lag) and kept by PLACE_LAG; a process that blocked
    /// while it had used more than its share leaves with lag 0 (DELAY_DEQUEUE, DELAY_ZERO).
    /// CFS: a sleeper is placed at most sched_latency / 2 behind the queue's min_vruntime
    /// (place_entity with GENTLE_FAIR_SLEEPERS).
    pub fn max_lag_ns(&self) -> f64 {
        match self.kind {
            SchedulerKind::Cfs => self.latency_ns / 2.0,
            _ => (2.0 * self.base_slice_ns).max(self.tick_ns),
        }
    }

    /// How far behind its CPU's average CPU time a process that rejoins with `lag` is placed,
    /// `n` processes being on that CPU already (each of weight 1, every PostgreSQL process
    /// running at nice 0). EEVDF (kernel/sched/fair.c `place_entity`, PLACE_LAG) inflates the
    /// lag by (n + 1) / n, so that once the newcomer is counted in the average it is still owed
    /// exactly what it was owed when it left: placed at the bare lag, a worker that blocks
    /// while owed would come back owed half of it, and a worker sharing its leader's CPU would
    /// preempt the leader at 3 of its wake-ups where Linux's rule gives 14 (owed 1 ms, each
    /// filling its queue in 0.15 ms; `perf sched` shows runs of 10-20). CFS
    /// places a sleeper by its own rule (a bounded credit, not a kept lag): the bare lag.
    pub fn placed_lag(&self, lag: f64, n: usize) -> f64 {
        match self.kind {
            SchedulerKind::Cfs => lag,
            _ => lag * (n as f64 + 1.0) / (n.max(1) as f64),
        }
    }
}

/// Run-to-run log-normal sigma assumed when a profile has no measured `[variability]`: 10%,
/// the spread of repeated timings of one query on a quiet small VM.
pub const DEFAULT_RUN_SIGMA: f64 = 0.10;

/// The model's own error (log-normal sigma of ln(measured / predicted) for a query it has not
/// been fitted to) assumed when a profile has no `[variability] model_sigma`: 0.20, the spread
/// of pqsim's errors against PostgreSQL 15 on the TPC-H-like validation queries with a
/// calibrated profile (2026-12-01: median |error| 12.9% against bare client times, i.e. a sigma
/// of 0.129 / 0.6745 = 0.19; 90th percentile 36%, i.e. 0.36 / 1.645 = 0.22), rounded. An
/// uncalibrated profile is unlikely to do better.
pub const DEFAULT_MODEL_SIGMA: f64 = 0.20;

/// The probabilities of [`RunQuantiles`]: the 5th, 10th, 25th, 50th, 75th, 90th and 95th
/// percentiles.
pub const RUN_QUANTILE_PROBS: [f64; 7] = [0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95];

/// How one real run's time is spread around its typical time, as measured: the ratios of a run
/// to its query's median at [`RUN_QUANTILE_PROBS`] (`[variability] run_quantiles`). A VM's
/// host slows it in stretches (by half, for a second or two, here and there), so the spread is
/// skewed to the slow side: a log-normal fitted to its middle (`run_sigma`) puts the 90th
/// percentile far too low.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunQuantiles(pub [f64; 7]);

impl RunQuantiles {
    /// ln(run / median) at probability `p`: linear in ln between the measured percentiles,
    /// extended beyond the 5th and 95th along the slope of their neighbouring pair.
    pub fn ln_at(&self, p: f64) -> f64 {
        let (x, y) = (&RUN_QUANTILE_PROBS, self.0.map(f64::ln));
        let i = match x.iter().position(|&q| p < q) {
            Some(0) => 0,
            Some(i) => i - 1,
            None => x.len() - 2,
        }
        .min(x.len() - 2);
        let slope = if x[i + 1] > x[i] { (y[i + 1] - y[i]) / (x[i + 1] - x[i]) } else { 0.0 };
        y[i] + slope * (p - x[i])
    }

    /// How many equally likely values stand for the spread where one is needed whole.
    pub const POINTS: usize = 200;

    /// ln(run / median) at the midpoints of [`Self::POINTS`] equal slices of the spread.
    pub fn ln_points(&self) -> Vec<f64> {
        (0..Self::POINTS).map(|i| self.ln_at((i as f64 + 0.5) / Self::POINTS as f64)).collect()
    }

    /// The standard deviation of ln(run / median) over [`Self::ln_points`].
    pub fn ln_sd(&self) -> f64 {
        let v = self.ln_points();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    pub name: String,
    pub description: String,
    pub cores: f64,
    /// Relative core speed; unit costs are divided by it.
    pub cpu_speed: f64,
    /// Speed of each core while every core is busy, relative to one core busy alone (1 =
    /// independent cores). Below 1 when busy cores share something: SMT siblings, caches,
    /// memory bandwidth, a host's time. Measured by calibration (two serial scans side by side
    /// against one alone); see [`Hardware::core_speed`].
    pub all_cores_busy_speed: f64,
    pub cache: CacheState,
    pub disk: Disk,
    pub costs: UnitCosts,
    pub parallel: ParallelCosts,
    pub scheduler: Scheduler,
    /// Coefficient of variation of the CPU work of a run (run-to-run noise): one factor per
    /// run, shared by its processes.
    pub cpu_noise_cv: f64,
    /// How much one real run's time varies around the machine's typical time: the log-normal
    /// sigma measured by calibration (`[variability] run_sigma`), or [`DEFAULT_RUN_SIGMA`].
    pub run_sigma: f64,
    /// Whether `run_sigma` was measured (false: the default was assumed).
    pub run_sigma_measured: bool,
    /// The measured shape of one run's spread, when calibration measured it; the one-run
    /// interval then takes the machine's part from these instead of a log-normal of
    /// `run_sigma`.
    pub run_quantiles: Option<RunQuantiles>,
    /// The same spread over the runs of serial plans only and of plans with workers only, when
    /// calibration measured them apart (`[variability] run_quantiles_serial`,
    /// `run_quantiles_parallel`): this VM kind's host slows a lone busy core more than two
    /// busy ones (its slow stretches took serial queries 1.43-1.52x as long, the same queries
    /// with two workers 1.23-1.28x; docs/validation.md, "Measuring on this machine"), so one
    /// pooled shape is too narrow for a serial plan and too wide for a parallel one.
    pub run_quantiles_serial: Option<RunQuantiles>,
    pub run_quantiles_parallel: Option<RunQuantiles>,
    /// The model's own prediction error on this machine: the log-normal sigma of
    /// ln(measured / predicted) for a query the fit has not seen, estimated out of sample by
    /// calibration (`[variability] model_sigma`), or [`DEFAULT_MODEL_SIGMA`].
    pub model_sigma: f64,
    /// Whether `model_sigma` was estimated by calibration (false: the default was assumed).
    pub model_sigma_measured: bool,
    /// The machine's speed as a state that lasts (a host's other tenants, frequency, what
    /// shares its caches): the mean time a state holds, ns (`[variability] speed_hold_ms`; 0:
    /// a steady machine). The workload mode's server changes state after exponential holds of
    /// this mean; every process of every query runs at the state's speed.
    pub speed_hold_ns: f64,
    /// The log-normal sigma of the state's slowness (`[variability] speed_state_sigma`): the
    /// part of `run_sigma` that lasts from one reading of the speed reference to the next.
    pub speed_state_sigma: f64,
    /// Server settings of this machine (GUC name, value), applied before a scenario's.
    pub settings: Vec<(String, String)>,
}

impl Hardware {
    /// The measured spread of one run of a plan with workers (`parallel`) or without: its
    /// shape's own when calibration measured it, else the pooled one.
    pub fn run_quantiles_for(&self, parallel: bool) -> Option<RunQuantiles> {
        let own = if parallel { self.run_quantiles_parallel } else { self.run_quantiles_serial };
        own.or(self.run_quantiles)
    }

    /// Speed of a core while `busy` cores (fractional while some are only partly used) are
    /// busy: 1 with one busy core, `all_cores_busy_speed` with all of them, linear between.
    pub fn core_speed(&self, busy: f64) -> f64 {
        if self.cores <= 1.0 || self.all_cores_busy_speed >= 1.0 {
            return 1.0;
        }
        let k = busy.clamp(1.0, self.cores);
        1.0 - (1.0 - self.all_cores_busy_speed) * (k - 1.0) / (self.cores - 1.0)
    }
}
