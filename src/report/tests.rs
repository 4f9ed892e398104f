//! Unit tests of the report layer: EXPLAIN text layout and the JSON contract's keys.

use super::explain::{SortSpace, WorkerActual};
use super::*;
use crate::analysis::stats::Summary;

fn scan() -> PlanNode {
    PlanNode {
        node_type: "Seq Scan",
        parent_relationship: Some("Outer"),
        parallel_aware: true,
        async_capable: Some(false),
        relation_name: Some("t".into()),
        alias: Some("t".into()),
        plan_width: Some(4),
        actual_startup_time: Some(0.5),
        actual_total_time: Some(100.25),
        actual_rows: 1000,
        actual_loops: 3,
        filter: Some("(x > 1)".into()),
        rows_removed_by_filter: Some(7),
        workers: vec![WorkerActual {
            worker_number: 0,
            actual_startup_time: 1.0,
            actual_total_time: 99.0,
            actual_rows: 900,
            actual_loops: 1,
            sort_space: None,
        }],
        ..Default::default()
    }
}

fn gather() -> Explain {
    let g = PlanNode {
        node_type: "Gather",
        parallel_aware: false,
        async_capable: Some(false),
        plan_width: Some(4),
        actual_startup_time: Some(2.0),
        actual_total_time: Some(120.0),
        actual_rows: 3000,
        actual_loops: 1,
        workers_planned: Some(2),
        workers_launched: Some(2),
        single_copy: Some(false),
        plans: vec![scan()],
        ..Default::default()
    };
    Explain { plan: g, settings: Default::default(), planning_time: 0.4, triggers: vec![], execution_time: 121.5 }
}

fn prediction() -> Prediction {
    use super::Representative;
    let split = |role: &'static str, worker| ProcessSplit {
        role,
        worker,
        times: Times::default(),
        on_core_ms: 0.0,
        queue_full_stalls: 0.0,
        tuples_scanned: 0.0,
        rows_sent: 0.0,
    };
    Prediction {
        scenario: "s".into(),
        hardware: "hw".into(),
        hardware_description: "a test machine".into(),
        seed: 1,
        replications: 2,
        measure: "explain-analyze",
        summary: Summary::from_slice(&[100.0, 110.0]).unwrap(),
        wall_ms_p80: [90.0, 125.0],
        run_sigma: 0.1,
        run_sigma_measured: false,
        run_quantiles: None,
        model_sigma: 0.2,
        model_sigma_measured: false,
        wall_ms: vec![100.0, 110.0],
        workers_planned: 2,
        workers_launched: 1,
        stalls: vec![3.0, 4.0],
        splits: vec![split("leader", None), split("worker", Some(0))],
        settings: Default::default(),
        sample_period_ms: Some(10.0),
        trace: None,
        representative: Representative {
            index: 1,
            wall_ms: 110.0,
            splits: vec![split("leader", None), split("worker", Some(0))],
            stalls: 4.0,
            events: 42,
            explain: gather(),
            wait_samples: vec![],
            wait_profile: vec![],
        },
    }
}

#[test]
fn explain_text_is_in_postgresql_layout() {
    let mut doc = gather();
    doc.plan.startup_cost = Some(1000.0);
    doc.plan.total_cost = Some(2000.5);
    doc.plan.plan_rows = Some(3000);
    doc.plan.buffers =
        Some(super::explain::Buffers { shared_hit: 5, shared_read: 7, temp_written: 2, ..Default::default() });
    let t = explain_text(&doc);
    // Root at column 0, its details at 2; a child's arrow at 2 and its details at 8.
    let want = "\
Gather  (cost=1000.00..2000.50 rows=3000 width=4) (actual time=2.000..120.000 rows=3000 loops=1)
  Workers Planned: 2
  Workers Launched: 2
  Buffers: shared hit=5 read=7, temp written=2
  ->  Parallel Seq Scan on t  (actual time=0.500..100.250 rows=1000 loops=3)
        Filter: (x > 1)
        Rows Removed by Filter: 7
        Worker 0:  actual time=1.000..99.000 rows=900 loops=1
Planning Time: 0.400 ms
Execution Time: 121.500 ms
";
    assert_eq!(t, want);
}

#[test]
fn subplans_get_their_name_line_and_sorts_their_method_per_worker() {
    let mut doc = gather();
    let mut sub = scan();
    sub.parent_relationship = Some("SubPlan");
    sub.subplan_name = Some("SubPlan 1".into());
    sub.workers.clear();
    sub.filter = None;
    sub.rows_removed_by_filter = None;
    let mut sort = scan();
    sort.node_type = "Sort";
    sort.parallel_aware = false;
    sort.relation_name = None;
    sort.filter = None;
    sort.rows_removed_by_filter = None;
    sort.sort_key = Some(vec!["a".into(), "b DESC".into()]);
    let m = SortSpace { method: "quicksort", space_kb: 25, space_type: "Memory" };
    sort.sort_space = Some(m.clone());
    sort.workers[0].sort_space = Some(SortSpace { method: "external merge", space_kb: 900, space_type: "Disk" });
    sort.plans = vec![sub];
    doc.plan.plans = vec![sort];
    let t = explain_text(&doc);
    assert!(t.contains("\n        Sort Key: a, b DESC\n        Sort Method: quicksort  Memory: 25kB\n"), "{t}");
    assert!(t.contains("\n        Worker 0:  Sort Method: external merge  Disk: 900kB\n"), "{t}");
    // The SubPlan's name at its parent's details column, its plan's arrow 2 further.
    assert!(t.contains("\n        SubPlan 1\n          ->  Parallel Seq Scan on t"), "{t}");
}

#[test]
fn aggregates_are_named_by_strategy_and_unrun_nodes_say_never_executed() {
    let mut doc = gather();
    let mut agg = scan();
    agg.node_type = "Aggregate";
    agg.parallel_aware = false;
    agg.relation_name = None;
    agg.strategy = Some("Sorted");
    agg.partial_mode = Some("Finalize");
    agg.actual_loops = 0;
    doc.plan.plans = vec![agg];
    let t = explain_text(&doc);
    assert!(t.contains("->  Finalize GroupAggregate (never executed)\n"), "{t}");
}

#[test]
fn plan_node_json_has_postgresql_keys_in_order_and_omits_what_does_not_apply() {
    let v = serde_json::to_value(gather()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["Plan", "Planning Time", "Triggers", "Execution Time"]);
    let g = &v["Plan"];
    let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Node Type",
            "Parallel Aware",
            "Async Capable",
            "Plan Width",
            "Actual Startup Time",
            "Actual Total Time",
            "Actual Rows",
            "Actual Loops",
            "Workers Planned",
            "Workers Launched",
            "Single Copy",
            "Plans"
        ]
    );
    let s = &g["Plans"][0];
    assert_eq!(s["Relation Name"], "t");
    assert_eq!(s["Workers"][0]["Worker Number"], 0);
    assert!(s["Workers"][0].get("Sort Method").is_none());
    assert!(s.get("Sort Key").is_none() && s.get("Hash Cond").is_none());
}

#[test]
fn run_json_has_the_contract_keys_in_order() {
    let p = prediction();
    let v: serde_json::Value = serde_json::from_str(&run_json(&p)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "scenario",
            "wall_time_ms",
            "wall_time_ms_ci95",
            "wall_time_ms_p80",
            "wall_time_ms_median",
            "wall_time_ms_samples",
            "measure",
            "replications",
            "seed",
            "hardware",
            "run_sigma",
            "run_sigma_measured",
            "run_quantiles",
            "model_sigma",
            "model_sigma_measured",
            "workers_planned",
            "workers_launched",
            "queue_full_stalls",
            "representative_replication",
            "representative_wall_time_ms",
            "processes",
            "settings",
            "events",
            "explain",
            "wait_sample_period_ms",
            "wait_event_profile"
        ]
    );
    assert_eq!(v["wall_time_ms"], 105.0);
    assert_eq!(v["wall_time_ms_p80"][1], 125.0);
    // Mean of 3 and 4 stalls, rounded to a count.
    assert_eq!(v["queue_full_stalls"], 4);
    assert_eq!(v["representative_replication"], 1);
    assert_eq!(v["processes"][1]["role"], "worker");
    assert_eq!(v["explain"][0]["Plan"]["Node Type"], "Gather");
    assert!(v["wait_event_profile"].as_array().unwrap().is_empty());
}

#[test]
fn run_text_labels_the_headline_and_the_representative_replication() {
    let p = prediction();
    let t = run_text(&p);
    assert!(
        t.starts_with("Scenario: s  on  hw (a test machine)\n\nPredicted wall time: 105.0 ms  (mean of 2 replications"),
        "{t}"
    );
    assert!(t.contains("\n  model 95% CI: "), "{t}");
    assert!(t.contains("\n  one real run, 80% interval: 90.0 ms .. 125.0 ms  ("), "{t}");
    assert!(t.contains("model error sigma 0.200 assumed: not estimated for this profile)"), "{t}");
    assert!(
        t.contains("Workers Planned: 2  Workers Launched: 1  Queue-full stalls: 4 (mean per replication)\n"),
        "{t}"
    );
    assert!(
        t.contains("EXPLAIN ANALYZE of replication 2 of 2 (the one nearest the median, 110.0 ms):\nGather  (actual"),
        "{t}"
    );
    let rows: Vec<&str> = t.lines().filter(|l| l.starts_with("leader") || l.starts_with("worker 0")).collect();
    assert_eq!(rows.len(), 2, "{t}");
}

#[test]
fn one_replication_is_singular_and_long_durations_read_as_hours() {
    let mut p = prediction();
    p.replications = 1;
    let t = run_text(&p);
    assert!(t.contains("(mean of 1 replication, seed 1"), "{t}");
    assert!(!t.contains("model 95% CI"), "{t}");
    assert!(t.contains("EXPLAIN ANALYZE of the only replication (110.0 ms)"), "{t}");
    assert_eq!(super::text::dur(1_691_984_856.2), "19.6 days");
    assert_eq!(super::text::dur(5_400_000.0), "90.0 min");
    assert_eq!(super::text::dur(12_345.0), "12.35 s");
}
