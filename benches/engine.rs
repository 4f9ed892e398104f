//! Speed benchmarks (criterion): the kernel's event throughput, and one full `run` of the
//! seed scenario at 8 workers. Memory is measured by scripts/bench-memory.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pqsim::engine::EventQueue;
use pqsim::exec::{simulate, RunSpec};
use std::hint::black_box;
use std::path::Path;

fn kernel_events(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut g = c.benchmark_group("kernel");
    g.throughput(Throughput::Elements(N));
    g.bench_function("schedule+pop 100k events", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            // A rolling horizon of 64 pending events, like a simulation with 64 processes.
            let mut x: u64 = 12345;
            for i in 0..64u64 {
                q.schedule(i, i);
            }
            for _ in 0..N {
                let (t, e) = q.pop().expect("event");
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                q.schedule(t + 1 + (x >> 54), e);
            }
            black_box(q.len())
        })
    });
    g.finish();
}

fn seed_run(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hw = pqsim::config::load_hardware(&root.join("configs/hardware/laptop.toml"), &[]).unwrap();
    let sc = pqsim::config::load_scenario(&root.join("configs/scenarios/seed-not-in.toml"), &[], &[]).unwrap();
    let sc = sc.with_hardware_settings(&hw);
    let d = pqsim::planner::decide(&sc);
    let mut g = c.benchmark_group("run");
    g.sample_size(20);
    g.bench_function("seed-not-in, 8 workers, laptop", |b| {
        b.iter(|| {
            let spec = RunSpec {
                tables: &sc.tables,
                settings: &sc.settings,
                hw: &hw,
                output: sc.output,
                plan: &d.plan,
                workers_planned: d.workers_planned,
                workers_launched: 8,
                seed: 1,
                trace: false,
                max_steps: pqsim::exec::DEFAULT_MAX_STEPS,
            };
            black_box(simulate(&spec).unwrap().1.wall)
        })
    });
    let gh = pqsim::config::load_scenario(&root.join("configs/scenarios/gather-heavy.toml"), &[], &[]).unwrap();
    let gh = gh.with_hardware_settings(&hw);
    let dg = pqsim::planner::decide(&gh);
    g.bench_function("gather-heavy, 4 workers, 3M rows through queues", |b| {
        b.iter(|| {
            let spec = RunSpec {
                tables: &gh.tables,
                settings: &gh.settings,
                hw: &hw,
                output: gh.output,
                plan: &dg.plan,
                workers_planned: dg.workers_planned,
                workers_launched: 4,
                seed: 1,
                trace: false,
                max_steps: pqsim::exec::DEFAULT_MAX_STEPS,
            };
            black_box(simulate(&spec).unwrap().1.events)
        })
    });
    g.finish();
}

criterion_group!(benches, kernel_events, seed_run);
criterion_main!(benches);
