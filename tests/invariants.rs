//! Simulation invariants as property tests over random valid scenarios and hardware profiles
//! (bounded case counts, so `cargo test` stays fast):
//! rows are conserved (every tuple scanned once, Gather receives what was sent), no process
//! time is negative, each process's time split adds up to its own run time (at most the wall
//! time; the leader's is the wall time), speedup never exceeds the participants, more cores
//! never slow a query down, a larger table never makes a scan faster, and the same seed gives
//! the same bytes.

use pqsim::config;
use pqsim::model::{AggMode, Filter, Hardware, Node, Scenario, SchedulerKind, Table};
use pqsim::report::{Category, Prediction};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn profile(i: usize) -> Hardware {
    let name = ["reference-2vcpu", "laptop", "aurora"][i % 3];
    let src = config::hardware_source(name).expect("embedded profile");
    config::load_hardware_str(&src.label, &src.text, &[]).expect("profile loads")
}

/// A random query shape over one table: count(*) with a filter, a grouped aggregate, or an
/// ORDER BY ... LIMIT.
#[derive(Debug, Clone)]
struct Case {
    rows: f64,
    width: f64,
    selectivity: f64,
    shape: u8,
    groups: f64,
    limit: f64,
    workers: u32,
    hw: usize,
    cores: f64,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        // Table sizes spread over orders of magnitude (log-uniform, 10^4 .. 2 x 10^7 rows).
        4.0f64..7.3,
        4.0f64..200.0,
        0.0f64..1.0,
        0u8..3,
        1.0f64..100_000.0,
        1.0f64..1000.0,
        0u32..9,
        0usize..3,
        1.0f64..17.0,
        any::<u64>(),
    )
        .prop_map(|(log_rows, width, selectivity, shape, groups, limit, workers, hw, cores, seed)| Case {
            rows: 10f64.powf(log_rows).round(),
            width: width.round(),
            selectivity,
            shape,
            groups: groups.round(),
            limit: limit.round(),
            workers,
            hw,
            cores: cores.floor(),
            seed,
        })
}

fn scenario(c: &Case, rows: f64, workers: u32) -> Scenario {
    scenario_with(c, rows, workers, &[])
}

fn scenario_with(c: &Case, rows: f64, workers: u32, extra: &[(&str, &str)]) -> Scenario {
    let table = Table {
        name: "t".into(),
        rows,
        width: c.width,
        pages: pqsim::model::heap_pages(rows, c.width),
        parallel_workers: None,
        index_pages: None,
        index: None,
        temporary: false,
        in_shared_buffers: None,
        buffers_in_order: None,
        buffer_windows: None,
        row_length_sd: None,
        row_stride_changes: None,
        columns: vec![],
    };
    let filter =
        Filter { text: "(a > 0)".into(), selectivity: c.selectivity, operators: 1.0, subplan: None, reach: vec![] };
    let scan = Node::SeqScan { table: 0, parallel: false, filter: Some(filter), width: c.width, output: vec![] };
    let plan = match c.shape {
        0 => Node::Aggregate {
            mode: AggMode::Simple,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            input: Box::new(scan),
            output: vec![],
        },
        1 => Node::Aggregate {
            mode: AggMode::Simple,
            groups: c.groups,
            aggregates: 2.0,
            width: 16.0,
            input: Box::new(scan),
            output: vec![],
        },
        _ => Node::Limit {
            count: c.limit,
            input: Box::new(Node::Sort { keys: vec!["a".into()], input: Box::new(scan) }),
        },
    };
    let w = workers.to_string();
    let mut sets = vec![
        ("max_parallel_workers_per_gather", w.as_str()),
        ("parallel_setup_cost", "0"),
        ("parallel_tuple_cost", "0"),
        ("min_parallel_table_scan_size", "0"),
    ];
    sets.extend_from_slice(extra);
    Scenario::build("prop", vec![table], plan, &sets).expect("valid scenario")
}

fn run(sc: &Scenario, hw: &Hardware, seed: u64) -> Prediction {
    let sc = sc.with_hardware_settings(hw);
    pqsim::predict::run_scenario(&sc, hw, seed, 1, false).expect("a valid scenario runs")
}

fn hw_with_cores(c: &Case, cores: f64) -> Hardware {
    let mut hw = profile(c.hw);
    hw.cores = cores;
    hw
}

const EPS: f64 = 1e-9;

proptest! {
    // A fixed generator seed: CI sees the same cases every run, so a failure is a change in
    // the model, not a new draw. `PROPTEST_CASES=1000 cargo test --test invariants` explores
    // further from the same start.
    #![proptest_config(ProptestConfig {
        cases: cases_from_env(32),
        rng_seed: RngSeed::Fixed(0x7071_5349_4d00),
        ..ProptestConfig::default()
    })]

    /// Every tuple is scanned exactly once across the processes; what the workers send is what
    /// the Gather receives; no time is negative; each process's split adds up to its run time,
    /// the leader's to the wall time.
    #[test]
    fn rows_conserved_and_times_add_up(c in cases()) {
        let hw = hw_with_cores(&c, c.cores);
        let p = run(&scenario(&c, c.rows, c.workers), &hw, c.seed);
        let scanned: f64 = p.splits.iter().map(|s| s.tuples_scanned).sum();
        // Each process's count is reported as a whole number: 0.5 of rounding each.
        let rounding = 0.5 * p.splits.len() as f64 + 1e-9 * c.rows;
        prop_assert!((scanned - c.rows).abs() <= rounding, "scanned {scanned} of {} rows", c.rows);
        let wall = p.wall_ms[0];
        // The split is reported to the microsecond: up to 0.5 us of rounding per category.
        let tol = 0.0005 * Category::ALL.len() as f64 + wall * 1e-9;
        for s in &p.splits {
            let total: f64 = Category::ALL.iter().map(|&k| s.time(k)).sum();
            for &k in Category::ALL.iter() {
                prop_assert!(s.time(k) >= 0.0, "{:?} {k:?} = {}", s.role, s.time(k));
            }
            prop_assert!(total <= wall + tol, "{} {:?}: {total} ms > wall {wall} ms", s.role, s.worker);
            if !s.is_worker() {
                prop_assert!((total - wall).abs() <= tol, "leader {total} ms vs wall {wall} ms");
            }
            // Time on a core is part of the process's run time.
            prop_assert!(s.on_core_ms >= 0.0 && s.on_core_ms <= total + tol, "{} {:?}: on core {} of {total} ms", s.role, s.worker, s.on_core_ms);
        }
        // The cores give no more than themselves: the processes' time on a core adds up to at
        // most cores x wall (the CPU column, which counts the turns waited too, does not).
        let on_core: f64 = p.splits.iter().map(|s| s.on_core_ms).sum();
        prop_assert!(on_core <= hw.cores * wall + tol * p.splits.len() as f64, "{on_core} ms on {} cores in {wall} ms", hw.cores);
        if let Some(g) = gather(&p.representative.explain.plan) {
            let sent: f64 = p.splits.iter().filter(|s| s.is_worker()).map(|s| s.rows_sent).sum();
            let child = &g.plans[0];
            // The Gather's rows: every participant's output of the node below it.
            let below: f64 = child.actual_rows as f64 * child.actual_loops as f64;
            let rounding = child.actual_loops as f64;
            if c.shape == 2 {
                // Under a LIMIT the Gather stops reading once it has enough: never more.
                prop_assert!((g.actual_rows as f64) <= below + rounding, "Gather {} rows, below {below}", g.actual_rows);
            } else {
                prop_assert!(
                    ((g.actual_rows as f64) - below).abs() <= rounding,
                    "Gather {} rows, below {} x {} loops", g.actual_rows, child.actual_rows, child.actual_loops
                );
            }
            if c.shape != 2 {
                // Without a LIMIT every row a worker sends reaches the Gather.
                prop_assert!(sent <= g.actual_rows as f64 + 0.5, "workers sent {sent}, Gather got {}", g.actual_rows);
            }
        }
    }

    /// Speedup over the serial plan never exceeds the participants (launched workers + leader).
    #[test]
    fn speedup_at_most_participants(c in cases()) {
        prop_assume!(c.workers > 0);
        let hw = hw_with_cores(&c, c.cores);
        let serial = run(&scenario(&c, c.rows, 0), &hw, c.seed);
        let par = run(&scenario(&c, c.rows, c.workers), &hw, c.seed);
        let participants = f64::from(par.workers_launched) + 1.0;
        let speedup = serial.wall_ms[0] / par.wall_ms[0];
        prop_assert!(speedup <= participants * (1.0 + 1e-6), "speedup {speedup} with {participants} participants");
    }

    /// More cores never slow a query down (same scenario, same seed) when cores are shared
    /// ideally and the leader only gathers. Neither holds in general, in PostgreSQL as in the
    /// model: on a leader-bound Gather with the leader participating, faster workers take
    /// blocks the leader would have scanned and send those rows through the tuple queue, which
    /// can cost the leader more than scanning them (`leader_bound_gather_can_slow_with_more_cores`
    /// below); and under a modelled Linux scheduler a leader woken onto an idle core pays the
    /// wake-up latency, which it does not when every core is busy and it waits its turn.
    #[test]
    fn more_cores_never_slower(c in cases(), extra in 1.0f64..16.0) {
        let off = [("parallel_leader_participation", "off")];
        let ideal = |cores: f64| {
            let mut hw = hw_with_cores(&c, cores);
            hw.scheduler.kind = SchedulerKind::Fluid;
            hw
        };
        let few = run(&scenario_with(&c, c.rows, c.workers, &off), &ideal(c.cores), c.seed);
        let many = run(&scenario_with(&c, c.rows, c.workers, &off), &ideal(c.cores + extra.floor()), c.seed);
        prop_assert!(many.wall_ms[0] <= few.wall_ms[0] * (1.0 + EPS), "{} cores: {} ms, {} cores: {} ms",
            c.cores, few.wall_ms[0], c.cores + extra.floor(), many.wall_ms[0]);
    }

    /// A larger table never makes the scan faster, at the same worker count.
    #[test]
    fn larger_table_never_faster(c in cases(), factor in 1.0f64..4.0) {
        let hw = hw_with_cores(&c, c.cores);
        let small = run(&scenario(&c, c.rows, 0), &hw, c.seed);
        let big = run(&scenario(&c, (c.rows * factor).round(), 0), &hw, c.seed);
        prop_assert!(big.wall_ms[0] >= small.wall_ms[0] * (1.0 - EPS), "{} rows: {} ms, {} rows: {} ms",
            c.rows, small.wall_ms[0], (c.rows * factor).round(), big.wall_ms[0]);
    }

    /// Same seed, same bytes.
    #[test]
    fn same_seed_same_bytes(c in cases()) {
        let hw = hw_with_cores(&c, c.cores);
        let sc = scenario(&c, c.rows, c.workers);
        let a = pqsim::report::run_json(&run(&sc, &hw, c.seed));
        let b = pqsim::report::run_json(&run(&sc, &hw, c.seed));
        prop_assert_eq!(a, b);
    }
}

fn gather(n: &pqsim::report::PlanNode) -> Option<&pqsim::report::PlanNode> {
    if n.node_type == "Gather" || n.node_type == "Gather Merge" {
        return Some(n);
    }
    n.plans.iter().find_map(gather)
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The case proptest found (CI, 2026-11-30): a grouped aggregate whose every row crosses the
/// Gather, three workers, the leader participating. On two cores the leader scans most of the
/// table itself; with four, the workers take more blocks and the leader spends its time
/// receiving their rows instead: the leader's own share of the scan must shrink.
#[test]
fn leader_bound_gather_can_slow_with_more_cores() {
    let c = Case {
        rows: 77826.0,
        width: 4.0,
        selectivity: 0.8388250444766272,
        shape: 1,
        groups: 27321.0,
        limit: 1.0,
        workers: 3,
        hw: 1,
        cores: 2.0,
        seed: 1765629083399546971,
    };
    let sc = scenario(&c, c.rows, c.workers);
    let leader_scanned = |cores: f64| {
        let p = run(&sc, &hw_with_cores(&c, cores), c.seed);
        p.splits.iter().find(|s| !s.is_worker()).expect("a leader").tuples_scanned
    };
    let (two, four) = (leader_scanned(2.0), leader_scanned(4.0));
    assert!(four < two, "with more cores the workers take more of the scan: leader {two} rows on 2 cores, {four} on 4");
}
