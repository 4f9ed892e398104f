//! Speed benchmarks (criterion). `cargo bench --bench engine` runs them all; a filter picks some
//! (`cargo bench --bench engine -- scenario/gather-heavy`). docs/performance.md has the figures.
//!
//! - kernel: the bare event queue's throughput.
//! - scenario/<name>/<w>w: one replication of each shipped scenario (configs/scenarios) on the
//!   laptop profile with w = 1, 4, 8 workers launched.
//! - sweep: the seed sweep, max_parallel_workers_per_gather = 0..16 x 30 replications, planned
//!   once per grid point as `pqsim sweep` does.
//! - rows: gather-heavy at 1x, 10x, 100x its rows (cost must not grow with rows).
//! - fluid: the rate solver alone, warm (previous answer reused) and cold (full solve).
//!
//! Memory is measured by scripts/bench-memory.sh. Process wall times (start-up included) and
//! the comparison against the SimPy model are in benches/peers/compare.sh.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pqsim::engine::fluid::{Demand, Solver};
use pqsim::engine::EventQueue;
use pqsim::exec::{simulate, RunSpec};
use pqsim::model::{Hardware, Scenario};
use pqsim::planner::Decision;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn laptop() -> Hardware {
    pqsim::config::load_hardware(&root().join("configs/hardware/laptop.toml"), &[]).expect("laptop profile")
}

/// A scenario with the hardware's settings applied, and its plan decision.
fn scenario(path: &Path, sets: &[(String, String)], rows: Option<u64>, hw: &Hardware) -> (Scenario, Decision) {
    let tables: Vec<pqsim::config::TableOverride> = match rows {
        Some(r) => vec![format!("t.rows={r}").parse().expect("table override")],
        None => vec![],
    };
    let sc = pqsim::config::load_scenario(path, sets, &tables).expect("scenario").with_hardware_settings(hw);
    let d = pqsim::planner::decide(&sc);
    (sc, d)
}

/// One replication with `launched` workers; returns the events delivered.
fn one_run(sc: &Scenario, d: &Decision, hw: &Hardware, launched: u32, seed: u64) -> u64 {
    let spec = RunSpec::new(sc, hw, &d.plan, d.workers_planned, launched, seed);
    simulate(&spec).expect("simulation").1.events
}

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

fn fluid_solver(c: &mut Criterion) {
    let mut g = c.benchmark_group("fluid");
    // Nine processes on two cores, three of them reading from disk.
    let flows: Vec<Demand> = (0..9)
        .map(|i| Demand { cpu: 10.0 + i as f64, io: if i % 3 == 0 { 8192.0 } else { 0.0 }, cpu_cap: 1.0 })
        .collect();
    let mut s = Solver::default();
    g.bench_function("warm (unchanged demands)", |b| b.iter(|| black_box(s.solve(2.0, 1.0, black_box(&flows))[0])));
    let mut k = 0u64;
    g.bench_function("cold (demands change every call)", |b| {
        let mut f = flows.clone();
        b.iter(|| {
            k += 1;
            f[1].cpu = 10.0 + (k % 7) as f64;
            black_box(s.solve(2.0, 1.0, &f)[0])
        })
    });
    g.finish();
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("configs/scenarios"))
        .expect("configs/scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn scenarios(c: &mut Criterion) {
    let hw = laptop();
    let mut g = c.benchmark_group("scenario");
    g.sample_size(20);
    for path in shipped_scenarios() {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let (sc, d) = scenario(&path, &[], None, &hw);
        for w in [1u32, 4, 8] {
            // A serial plan launches nobody whatever is asked.
            let launched = if d.workers_planned == 0 { 0 } else { w };
            g.bench_with_input(BenchmarkId::new(&name, format!("{w}w")), &launched, |b, &l| {
                b.iter(|| black_box(one_run(&sc, &d, &hw, l, 1)))
            });
        }
    }
    g.finish();
}

fn seed_sweep(c: &mut Criterion) {
    let hw = laptop();
    let path = root().join("configs/scenarios/seed-not-in.toml");
    let points: Vec<(Scenario, Decision)> = (0..=16)
        .map(|k| scenario(&path, &[("max_parallel_workers_per_gather".into(), k.to_string())], None, &hw))
        .collect();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.bench_function("seed-not-in mpwpg=0..16 x 30 replications", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for (sc, d) in &points {
                let p = pqsim::predict::run_decided(sc, &hw, d, 1, 30, false).expect("prediction");
                total += p.wall_ms.len() as f64;
            }
            black_box(total)
        })
    });
    g.finish();
}

/// The seed sweep again with fast-forward off: the step-by-step cost it saves.
fn seed_sweep_step_by_step(c: &mut Criterion) {
    let hw = laptop();
    let path = root().join("configs/scenarios/seed-not-in.toml");
    let points: Vec<(Scenario, Decision)> = (0..=16)
        .map(|k| scenario(&path, &[("max_parallel_workers_per_gather".into(), k.to_string())], None, &hw))
        .collect();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.bench_function("seed-not-in mpwpg=0..16 x 30 replications, --no-fast-forward", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for (sc, d) in &points {
                for r in 0..30 {
                    let spec = RunSpec {
                        fast_forward: false,
                        ..RunSpec::new(sc, &hw, &d.plan, d.workers_planned, d.workers_launched, r)
                    };
                    total += simulate(&spec).expect("runs").1.wall;
                }
            }
            black_box(total)
        })
    });
    g.finish();
}

/// A workload run: the shipped reporting mix (queries share the cores and worker slots).
fn workload(c: &mut Criterion) {
    let path = root().join("configs/workloads/reporting-mix.toml");
    let w = pqsim::config::load_workload(&path, "laptop", &Default::default()).expect("workload loads");
    let mut g = c.benchmark_group("workload");
    g.sample_size(10);
    g.bench_function("reporting-mix, one replication", |b| {
        b.iter(|| black_box(pqsim::workload::run_workload(&w, 1, 1).expect("runs").runs.len()))
    });
    g.finish();
}

fn rows_scaling(c: &mut Criterion) {
    let hw = laptop();
    let path = root().join("configs/scenarios/gather-heavy.toml");
    let mut g = c.benchmark_group("rows");
    g.sample_size(10);
    for mult in [1u64, 10, 100] {
        let (sc, d) = scenario(&path, &[], Some(3_000_000 * mult), &hw);
        g.bench_with_input(BenchmarkId::new("gather-heavy", format!("{mult}x")), &mult, |b, _| {
            b.iter(|| black_box(one_run(&sc, &d, &hw, d.workers_planned, 1)))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    kernel_events,
    fluid_solver,
    scenarios,
    seed_sweep,
    seed_sweep_step_by_step,
    workload,
    rows_scaling
);
criterion_main!(benches);
