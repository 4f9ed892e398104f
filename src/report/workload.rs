//! `workload --format json` and its text form, and the rows of `queries.csv`.

use super::explain::r3;
use crate::workload::{ClassStats, WorkloadOutput};
use serde::Serialize;

#[derive(Serialize)]
struct LatencyJson {
    mean: Option<f64>,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    name: &'a str,
    completed: u64,
    throughput_qps: f64,
    latency_ms: LatencyJson,
    latency_ms_p95_ci95: [Option<f64>; 2],
    workers_planned_mean: Option<f64>,
    workers_launched_mean: Option<f64>,
    launched_below_planned_share: Option<f64>,
}

/// The object `workload --format json` prints. Field order is key order.
#[derive(Serialize)]
struct WorkloadJson<'a> {
    workload: &'a str,
    hardware: &'a str,
    seed: u64,
    replications: u32,
    sessions: u32,
    duration_s: f64,
    queries_completed: u64,
    throughput_qps: f64,
    cpu_utilization: f64,
    worker_slots_busy_mean: f64,
    run_queue_mean: f64,
    active_queries_mean: f64,
    worker_pool: PoolJson,
    /// Engine steps of each replication (grows with queries, never with rows).
    steps: Vec<u64>,
    classes: Vec<ClassJson<'a>>,
}

#[derive(Serialize)]
struct PoolJson {
    /// max_worker_processes minus the logical replication launcher.
    worker_slots: u32,
    max_parallel_workers: u32,
}

/// Three decimals, or null for a statistic with no data (a class that completed nothing).
fn opt(x: f64) -> Option<f64> {
    x.is_finite().then(|| r3(x))
}

fn class_json(c: &ClassStats) -> ClassJson<'_> {
    ClassJson {
        name: &c.name,
        completed: c.completed,
        throughput_qps: r3(c.throughput_qps),
        latency_ms: LatencyJson {
            mean: opt(c.latency_mean_ms),
            p50: opt(c.latency_p50_ms),
            p95: opt(c.latency_p95_ms),
            p99: opt(c.latency_p99_ms),
        },
        latency_ms_p95_ci95: [opt(c.latency_p95_ci95.0), opt(c.latency_p95_ci95.1)],
        workers_planned_mean: opt(c.workers_planned_mean),
        workers_launched_mean: opt(c.workers_launched_mean),
        launched_below_planned_share: opt(c.launched_below_planned_share),
    }
}

/// The pretty-printed JSON of `workload --format json` (no trailing newline).
pub fn workload_json(o: &WorkloadOutput) -> String {
    let s = &o.stats;
    let j = WorkloadJson {
        workload: &o.name,
        hardware: &o.hardware,
        seed: o.seed,
        replications: o.replications,
        sessions: o.sessions,
        duration_s: r3(s.duration_s),
        queries_completed: s.queries_completed,
        throughput_qps: r3(s.throughput_qps),
        cpu_utilization: r3(s.cpu_utilization),
        worker_slots_busy_mean: r3(s.worker_slots_busy_mean),
        run_queue_mean: r3(s.run_queue_mean),
        active_queries_mean: r3(s.active_queries_mean),
        worker_pool: PoolJson { worker_slots: o.pool.slots, max_parallel_workers: o.pool.budget },
        steps: o.runs.iter().map(|r| r.steps).collect(),
        classes: s.classes.iter().map(class_json).collect(),
    };
    serde_json::to_string_pretty(&j).expect("plain data serialises")
}

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "-".into()
    }
}

/// `workload --format text`.
pub fn workload_text(o: &WorkloadOutput) -> String {
    let s = &o.stats;
    let mut t = String::new();
    t.push_str(&format!(
        "Workload {} on {} ({} cores): {} session(s), seed {}, {} replication(s)\n",
        o.name, o.hardware, o.cores, o.sessions, o.seed, o.replications
    ));
    t.push_str(&format!(
        "Worker pool: {} slots (max_worker_processes less the logical replication launcher), max_parallel_workers {}\n",
        o.pool.slots, o.pool.budget
    ));
    t.push_str(&format!(
        "Measured {:.1} s: {} queries, {:.2} queries/s; CPU {:.0}%, run queue {:.2}, worker slots busy {:.2}, queries in flight {:.2}\n\n",
        s.duration_s,
        s.queries_completed,
        s.throughput_qps,
        s.cpu_utilization * 100.0,
        s.run_queue_mean,
        s.worker_slots_busy_mean,
        s.active_queries_mean
    ));
    t.push_str(&format!(
        "{:<20} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>19} {:>7} {:>8} {:>7}\n",
        "class", "done", "q/s", "mean ms", "p50 ms", "p95 ms", "p99 ms", "p95 95% CI", "planned", "launched", "short"
    ));
    for c in &s.classes {
        let ci = format!("[{}, {}]", ms(c.latency_p95_ci95.0), ms(c.latency_p95_ci95.1));
        t.push_str(&format!(
            "{:<20} {:>7} {:>8.2} {:>9} {:>9} {:>9} {:>9} {:>19} {:>7.2} {:>8.2} {:>6.0}%\n",
            c.name,
            c.completed,
            c.throughput_qps,
            ms(c.latency_mean_ms),
            ms(c.latency_p50_ms),
            ms(c.latency_p95_ms),
            ms(c.latency_p99_ms),
            ci,
            c.workers_planned_mean,
            c.workers_launched_mean,
            c.launched_below_planned_share * 100.0
        ));
    }
    t.push_str(
        "\nshort: share of queries whose Gather got fewer workers than planned (the pool was short when it started).\n",
    );
    t
}

/// The header and rows of `queries.csv`: one row per finished query of every replication.
pub fn queries_csv(o: &WorkloadOutput) -> String {
    let mut t = String::from(
        "replication,class,session,arrival_ms,start_ms,end_ms,latency_ms,workers_planned,workers_launched,cpu_ms,io_wait_ms,mq_send_wait_ms,mq_receive_wait_ms,startup_ms,warmup\n",
    );
    for (r, run) in o.runs.iter().enumerate() {
        for q in &run.queries {
            t.push_str(&format!(
                "{r},{},{},{:.3},{:.3},{:.3},{:.3},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{}\n",
                o.classes[q.class].name,
                q.source,
                q.arrival as f64 / 1e6,
                q.start as f64 / 1e6,
                q.end as f64 / 1e6,
                q.latency_ms(),
                q.planned,
                q.launched,
                q.cpu_ms,
                q.io_wait_ms,
                q.mq_send_wait_ms,
                q.mq_receive_wait_ms,
                q.startup_ms,
                q.warmup
            ));
        }
    }
    t
}

/// `timeline.csv`: the first replication's server state over time (bucket means).
pub fn timeline_csv(o: &WorkloadOutput) -> String {
    let mut t = String::from("t_ms,cpu_utilization,cores_busy,worker_slots_busy,run_queue,queries_in_flight\n");
    if let Some(run) = o.runs.first() {
        for s in &run.timeline {
            t.push_str(&format!(
                "{:.3},{:.4},{:.4},{:.4},{:.4},{:.4}\n",
                s.t_ms,
                s.cores_busy / o.cores.max(1e-9),
                s.cores_busy,
                s.slots,
                s.runnable,
                s.active
            ));
        }
    }
    t
}
