use super::*;
use crate::model::subplan_is_hashable;

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let mut s = Settings::default();
    for (k, v) in pairs {
        s.set(k, v).unwrap();
    }
    s
}

#[test]
fn divisor_matches_reference_table() {
    for (w, on, off) in [(1, 1.7, 1.0), (2, 2.4, 2.0), (3, 3.1, 3.0), (4, 4.0, 4.0), (6, 6.0, 6.0)] {
        assert!((parallel_divisor(w, true) - on).abs() < 1e-12, "{w}");
        assert_eq!(parallel_divisor(w, false), off);
    }
}

#[test]
fn clamp_row_est_rounds_like_rint() {
    assert_eq!(clamp_row_est(0.2), 1.0);
    assert_eq!(clamp_row_est(2.5), 2.0);
    assert_eq!(clamp_row_est(3.5), 4.0);
    assert_eq!(clamp_row_est(629_784.17), 629_784.0);
}

#[test]
fn worker_explanation_lists_thresholds_and_cap() {
    let s = Settings::default();
    let c = explain_parallel_worker(12_544.0, -1.0, None, &s);
    assert_eq!(c.workers, 2);
    assert_eq!(
        c.explanation,
        "heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, 9,216 -> 3; capped by max_parallel_workers_per_gather = 2"
    );
}

#[test]
fn worker_rule_edges() {
    let s = settings(&[("max_parallel_workers_per_gather", "1024")]);
    assert_eq!(compute_parallel_worker(1023.0, -1.0, None, &s), 0);
    assert_eq!(compute_parallel_worker(1024.0, -1.0, None, &s), 1);
    assert_eq!(compute_parallel_worker(3071.0, -1.0, None, &s), 1);
    assert_eq!(compute_parallel_worker(3072.0, -1.0, None, &s), 2);
    // Index rule and min(heap, index).
    assert_eq!(compute_parallel_worker(100_000.0, 63.0, None, &s), 0);
    assert_eq!(compute_parallel_worker(100_000.0, 192.0, None, &s), 2);
    assert_eq!(compute_parallel_worker(-1.0, 576.0, None, &s), 3);
    // min_parallel_table_scan_size = 0 behaves as 1.
    let z = settings(&[("min_parallel_table_scan_size", "0"), ("max_parallel_workers_per_gather", "1024")]);
    assert_eq!(compute_parallel_worker(0.0, -1.0, None, &z), 1);
    assert_eq!(compute_parallel_worker(3.0, -1.0, None, &z), 2);
    // The overflow guard: a huge minimum stops after one step.
    let big = settings(&[("min_parallel_table_scan_size", "715827882"), ("max_parallel_workers_per_gather", "1024")]);
    assert_eq!(compute_parallel_worker(1e12, -1.0, None, &big), 2);
}

#[test]
fn hashable_subplan_threshold() {
    let s = Settings::default();
    assert!(subplan_is_hashable(262_144.0, 8.0, &s));
    assert!(!subplan_is_hashable(262_145.0, 8.0, &s));
    assert!(subplan_is_hashable(209_715.0, 16.0, &s));
    assert!(!subplan_is_hashable(209_716.0, 16.0, &s));
    assert!(subplan_is_hashable(131_072.0, 40.0, &s));
    let old = settings(&[("hash_mem_multiplier", "1")]);
    assert!(!subplan_is_hashable(262_144.0, 8.0, &old));
    assert!(subplan_is_hashable(131_072.0, 8.0, &old));
}

#[test]
fn merge_order_from_reference() {
    assert_eq!(tuplesort_merge_order(4096.0 * 1024.0), 15.0);
    assert_eq!(tuplesort_merge_order(64.0 * 1024.0), 6.0);
}

#[test]
fn hash_batches() {
    let s = Settings::default();
    // 100k rows of width 8: 40 B each = 4 MB + buckets: fits in 8 MB hash_mem.
    assert_eq!(choose_hash_table_size(100_000.0, 8.0, false, 0, &s).0, 1);
    // 1M rows: 40 MB -> batches.
    let (nb, _, _) = choose_hash_table_size(1_000_000.0, 8.0, false, 0, &s);
    assert!(nb >= 8, "{nb}");
    // Combined memory of 3 participants (24 MB) does not hold 40 MB: falls back.
    let (nbp, _, space) = choose_hash_table_size(1_000_000.0, 8.0, true, 2, &s);
    assert_eq!(nbp, nb);
    assert_eq!(space, s.hash_mem_bytes());
    // 400k rows: 16 MB + buckets fits 24 MB combined.
    let (nbc, _, space) = choose_hash_table_size(400_000.0, 8.0, true, 2, &s);
    assert_eq!(nbc, 1);
    assert_eq!(space, 3.0 * s.hash_mem_bytes());
}

/// `plan` costs and names a grouped Aggregate by the strategy the executor prices and `run`'s
/// EXPLAIN shows ([`AggStrategy::of`]): sorted over an index scan as over a Sort, hashed over
/// a sequential scan.
#[test]
fn a_grouped_aggregate_is_costed_by_the_executors_strategy() {
    let t = Table { name: "t".into(), rows: 100_000.0, width: 36.0, pages: 500.0, ..Default::default() };
    let s = Settings::default();
    let agg = |input: Node| Node::Aggregate {
        mode: AggMode::Simple,
        groups: 6.0,
        aggregates: 1.0,
        width: 12.0,
        input: Box::new(input),
        output: vec![],
    };
    let index = Node::IndexScan {
        table: 0,
        parallel: false,
        filter: None,
        width: 36.0,
        fraction: 1.0,
        correlation: 1.0,
        output: vec![],
    };
    let seq = Node::SeqScan { table: 0, parallel: false, filter: None, width: 36.0, output: vec![] };
    for (plan, name, strategy) in [(agg(index), "GroupAggregate", "Sorted"), (agg(seq), "HashAggregate", "Hashed")] {
        let tables = [t.clone()];
        let c = CostCtx::new(&tables, &s, &plan).cost(&plan, None);
        assert_eq!(c.display, name);
        assert!(c.details.contains(&("Strategy", strategy.to_string())), "{:?}", c.details);
        assert_eq!(plan.agg_strategy().map(|s| s.name()), Some(strategy));
    }
}
