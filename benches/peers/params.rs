//! Prints what the SimPy peer model (benches/peers/simpy_model.py) needs, as `key value` lines:
//! the compiled per-tuple and per-page costs of a scenario, the hardware, and pqsim's own wall
//! times for `launched` workers over `reps` replications (mean, ms), with the time they took.
//!
//! cargo run --release --example peer-params -- configs/scenarios/gather-heavy.toml 4 20

use pqsim::exec::{compile_for, simulate, simulate_compiled, RunSpec};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: peer-params SCENARIO WORKERS REPLICATIONS [ROWS]");
        std::process::exit(2);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hw = pqsim::config::load_hardware(&root.join("configs/hardware/laptop.toml"), &[]).expect("laptop");
    let launched: u32 = args[2].parse().expect("workers");
    let reps: u64 = args[3].parse().expect("replications");
    let sc = pqsim::config::load_scenario(Path::new(&args[1]), &[], &[]).expect("scenario").with_hardware_settings(&hw);
    let d = pqsim::planner::decide(&sc);
    let spec = |seed| RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, launched, seed);
    let (c, _) = simulate(&spec(0)).expect("simulation");
    let t0 = Instant::now();
    let mut walls = Vec::new();
    let mut events = 0;
    let mut launched_really = launched;
    // As `pqsim run` does: the plan is compiled once for all the replications.
    let compiled = compile_for(&spec(1));
    for r in 0..reps {
        let res = simulate_compiled(&spec(r + 1), &compiled).expect("simulation");
        walls.push(res.wall as f64 / 1e6);
        events += res.events;
        launched_really = res.workers_launched;
    }
    let secs = t0.elapsed().as_secs_f64();
    let w = &c.worker;
    let l = &c.leader;
    let kv = |k: &str, v: f64| println!("{k} {v}");
    // Launched as pqsim launches them (never more than Workers Planned).
    kv("workers", launched_really as f64);
    kv("leader_participates", c.leader_participates as u8 as f64);
    kv("pages", w.source.pages);
    kv("tuples", w.source.tuples);
    kv("page_cpu_ns", w.source.page.cpu_ns);
    kv("page_os_read_ns", w.source.page.os_read_ns);
    kv("page_disk_bytes", w.source.page.disk_bytes);
    kv("worker_cpu_per_tuple", w.cpu_per_tuple);
    kv("leader_cpu_per_tuple", l.cpu_per_tuple);
    kv("rows_per_tuple", w.rows_per_tuple);
    kv("worker_breakers", w.breakers.len() as f64);
    kv("consumer_per_row_ns", c.consumer.per_row_ns);
    kv("consumer_receive_row_ns", c.consumer.receive_row_ns);
    kv("queue_tuple_bytes", c.queue_tuple_bytes);
    kv("cores", hw.cores);
    kv("cpu_speed", hw.cpu_speed);
    kv("cpu_noise_cv", hw.cpu_noise_cv);
    kv("disk_bytes_per_ns", hw.disk.seq_bytes_per_ns);
    kv("request_latency_ns", hw.disk.request_latency_ns);
    kv("tuple_send_ns", hw.costs.tuple_send_ns);
    kv("tuple_receive_ns", hw.costs.tuple_receive_ns);
    kv("wakeup_ns", hw.costs.wakeup_ns);
    kv("leader_setup_ns", hw.parallel.leader_setup_ns);
    kv("launch_per_worker_ns", hw.parallel.launch_per_worker_ns);
    kv("worker_startup_ns", hw.parallel.worker_startup_ns);
    kv("worker_startup_sigma", hw.parallel.worker_startup_sigma);
    kv("shutdown_per_worker_ns", hw.parallel.shutdown_per_worker_ns);
    kv("tuple_queue_size", hw.parallel.tuple_queue_size);
    kv("pqsim_mean_wall_ms", walls.iter().sum::<f64>() / walls.len().max(1) as f64);
    kv("pqsim_seconds_per_replication", secs / reps.max(1) as f64);
    kv("pqsim_events_per_replication", events as f64 / reps.max(1) as f64);
}
