use super::*;
use crate::model::guc::Settings;
use crate::model::AggMode;
use crate::model::{Command, Filter, FnSafety, JoinType, Node, QueryProps, Scenario, SubPlan, Table};

fn table(name: &str, rows: f64, pages: f64) -> Table {
    Table { name: name.into(), rows, width: 36.0, pages, ..Default::default() }
}

fn seq(table: usize, filter: Option<Filter>) -> Node {
    Node::SeqScan { table, parallel: false, filter, width: 36.0, output: vec![] }
}

fn count(input: Node) -> Node {
    Node::Aggregate {
        mode: AggMode::Simple,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        input: Box::new(input),
        output: vec![],
    }
}

fn scenario(tables: Vec<Table>, plan: Node, sets: &[(&str, &str)]) -> Scenario {
    Scenario::build("test", tables, plan, sets).unwrap()
}

/// The tutorial's testpar at a given size: ~98 rows per page (id int, 64-char text).
fn testpar(mb: f64) -> Table {
    let pages = (mb * 128.0).round();
    table("testpar", pages * 98.0, pages)
}

#[test]
fn tutorial_size_table() {
    let raised = {
        let mut s = Settings::default();
        s.set("max_parallel_workers_per_gather", "8").unwrap();
        s
    };
    let dflt = Settings::default();
    for (mb, w) in [(8.0, 1), (24.0, 2), (72.0, 3), (216.0, 4), (648.0, 5), (1944.0, 6)] {
        let pages = mb * 128.0;
        assert_eq!(compute_parallel_worker(pages, -1.0, None, &raised), w, "{mb} MB");
        assert_eq!(compute_parallel_worker(pages - 1.0, -1.0, None, &raised), w - 1, "just under {mb} MB");
        assert_eq!(compute_parallel_worker(pages, -1.0, None, &dflt), w.min(2), "{mb} MB default cap");
    }
    // The same through plan(): count(*) on testpar.
    for (mb, cap, w) in [(20.0, "2", 1), (98.0, "2", 2), (98.0, "4", 3), (1944.0, "8", 6)] {
        let sc = scenario(vec![testpar(mb)], count(seq(0, None)), &[("max_parallel_workers_per_gather", cap)]);
        let r = plan(&sc);
        assert!(r.parallel, "{mb} MB: {:?}", r.reasons);
        assert_eq!(r.workers_planned, w, "{mb} MB cap {cap}: {:?}", r.worker_calculation);
        assert_eq!(r.workers_launched, w);
    }
    let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[]));
    assert_eq!(
        r.worker_calculation.as_deref(),
        Some("table testpar, heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, 9,216 -> 3; capped by max_parallel_workers_per_gather = 2")
    );
}

#[test]
fn below_threshold_is_serial_with_reason() {
    let r = plan(&scenario(vec![testpar(4.0)], count(seq(0, None)), &[]));
    assert!(!r.parallel);
    assert_eq!(r.workers_planned, 0);
    assert_eq!(r.parallel_total_cost, None);
    assert!(r.reasons[0].contains("min_parallel_table_scan_size"), "{:?}", r.reasons);
    assert!(r.reasons[0].contains("table testpar"), "{:?}", r.reasons);
    assert_eq!(r.workers_planned, 0);
    assert!(!r.parallel);
}

#[test]
fn table_option_bypasses_size_but_not_cap() {
    let mut t = testpar(4.0);
    t.parallel_workers = Some(4);
    let mut r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[("parallel_setup_cost", "0")]));
    assert!(r.parallel, "{:?}", r.reasons);
    assert_eq!(r.workers_planned, 2, "capped by max_parallel_workers_per_gather");
    assert!(r.worker_calculation.as_ref().unwrap().contains("table option parallel_workers = 4"));
    r = plan(&scenario(
        vec![t.clone()],
        count(seq(0, None)),
        &[("parallel_setup_cost", "0"), ("max_parallel_workers_per_gather", "8")],
    ));
    assert_eq!(r.workers_planned, 4);
    assert_eq!(compute_parallel_worker(10.0, -1.0, Some(3), &Settings::default()), 2);
    // parallel_workers = 0 disables parallel scans of the table.
    let mut big = testpar(500.0);
    big.parallel_workers = Some(0);
    let r = plan(&scenario(vec![big], count(seq(0, None)), &[]));
    assert!(!r.parallel);
    assert!(r.reasons[0].contains("parallel_workers = 0"), "{:?}", r.reasons);
}

/// Reference §2.4: t has 28,038 pages and 3,000,000 tuples; `val < 500000` is estimated
/// at 1,511,482 rows, which EXPLAIN shows as `rows=629784` on the Parallel Seq Scan
/// (the per-participant estimate, 1,511,482 / 2.4).
#[test]
fn reference_cost_example() {
    let filter = Filter {
        text: "(val < 500000)".into(),
        selectivity: 1_511_482.0 / 3_000_000.0,
        operators: 1.0,
        subplan: None,
        reach: vec![],
    };
    let sc = scenario(vec![table("t", 3_000_000.0, 28_038.0)], count(seq(0, Some(filter))), &[]);
    let r = plan(&sc);
    assert!(r.parallel);
    assert_eq!(r.workers_planned, 2);
    let finalize = &r.costed;
    let gather = &finalize.children[0];
    let partial = &gather.children[0];
    let scan = &partial.children[0];
    assert_eq!(scan.display, "Parallel Seq Scan on t");
    assert!((scan.total - 43_663.00).abs() < 1e-6, "{}", scan.total);
    assert_eq!(scan.rows, 629_784.0);
    assert!((partial.total - 45_237.47).abs() < 1e-6, "{}", partial.total);
    assert_eq!(gather.rows, 2.0);
    assert!((gather.startup - 46_237.46).abs() < 1e-6, "{}", gather.startup);
    assert!((gather.total - 46_237.67).abs() < 1e-6, "{}", gather.total);
    assert!((finalize.total - 46_237.685).abs() < 1e-6, "{}", finalize.total);
    // Serial: 28,038 + 0.0125 x 3,000,000 = 65,538; + 0.0025 x 1,511,482 + 0.01.
    assert!((r.serial_total_cost - 69_316.715).abs() < 1e-6, "{}", r.serial_total_cost);
    // EXPLAIN prints it rounded to the cent (`plan --format json` too).
    assert_eq!((r.parallel_total_cost.unwrap() * 100.0).round() / 100.0, 46_237.69);

    // Taking 629,784 as the *total* estimate (selectivity 629784/3000000) gives
    // 262,410 rows per participant and a cheaper Partial Aggregate.
    let lit = Filter {
        text: String::new(),
        selectivity: 629_784.0 / 3_000_000.0,
        operators: 1.0,
        subplan: None,
        reach: vec![],
    };
    let r = plan(&scenario(vec![table("t", 3_000_000.0, 28_038.0)], count(seq(0, Some(lit))), &[]));
    let scan = &r.costed.children[0].children[0].children[0];
    assert!((scan.total - 43_663.00).abs() < 1e-6);
    assert_eq!(scan.rows, 262_410.0);
    assert!((r.costed.children[0].total - 45_319.235).abs() < 1e-6);
}

#[test]
fn serial_wins_when_parallel_is_not_cheaper() {
    // SELECT * of 3M rows: Gather pays 0.1 per row and loses (reference §2.7).
    let sc = scenario(vec![table("t", 3_000_000.0, 28_038.0)], seq(0, None), &[]);
    let r = plan(&sc);
    assert!(!r.parallel);
    assert!(r.parallel_total_cost.unwrap() > r.serial_total_cost);
    assert!(r.reasons[0].starts_with("serial plan is cheaper"), "{:?}", r.reasons);
    // 1 worker with leader participation off: divisor 1, no gain: serial.
    let sc = scenario(vec![testpar(20.0)], count(seq(0, None)), &[("parallel_leader_participation", "off")]);
    let r = plan(&sc);
    assert!(!r.parallel, "{:?}", r.reasons);
}

#[test]
fn fuzz_factor_serial_wins_within_one_percent() {
    // Choose parallel_setup_cost so the parallel plan is 0.5 % cheaper: serial wins.
    let base = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("parallel_setup_cost", "0")]);
    let r0 = plan(&base);
    let gap = r0.serial_total_cost - r0.parallel_total_cost.unwrap();
    let setup_for = |frac: f64| gap - r0.serial_total_cost * frac;
    let sc = scenario(
        vec![testpar(98.0)],
        count(seq(0, None)),
        &[("parallel_setup_cost", &format!("{}", setup_for(0.005)))],
    );
    let r = plan(&sc);
    assert!(r.parallel_total_cost.unwrap() < r.serial_total_cost);
    assert!(!r.parallel, "within 1 %: serial wins");
    let sc =
        scenario(vec![testpar(98.0)], count(seq(0, None)), &[("parallel_setup_cost", &format!("{}", setup_for(0.02)))]);
    assert!(plan(&sc).parallel, "2 % cheaper: parallel wins");
}

fn query_variant(f: impl Fn(&mut QueryProps)) -> PlanReport {
    let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[]);
    f(&mut sc.query);
    plan(&sc)
}

type QueryEdit = Box<dyn Fn(&mut QueryProps)>;

#[test]
fn query_level_reasons_make_it_serial() {
    let cases: Vec<(QueryEdit, &str)> = vec![
        (Box::new(|q| q.command = Command::Update), "command UPDATE cannot use a parallel plan"),
        (Box::new(|q| q.command = Command::Insert), "command INSERT"),
        (Box::new(|q| q.functions = vec![("nextval".into(), FnSafety::Unsafe)]), "nextval() is PARALLEL UNSAFE"),
        (Box::new(|q| q.row_locks = true), "FOR UPDATE/SHARE"),
        (Box::new(|q| q.cursor = true), "cursor"),
        (
            Box::new(|q| {
                q.serializable = true;
                q.server_version = 11;
            }),
            "SERIALIZABLE",
        ),
    ];
    for (f, text) in cases {
        let r = query_variant(f);
        assert!(!r.parallel, "{text}");
        assert_eq!(r.workers_planned, 0);
        assert_eq!(r.parallel_total_cost, None);
        assert!(r.reasons.iter().any(|x| x.contains(text)), "{text}: {:?}", r.reasons);
    }
    // Allowed: CREATE TABLE AS, SERIALIZABLE on 12+.
    assert!(query_variant(|q| q.command = Command::CreateTableAs).parallel);
    assert!(query_variant(|q| q.serializable = true).parallel);
    // max_parallel_workers_per_gather = 0, even with force_parallel_mode.
    let r = plan(&scenario(
        vec![testpar(98.0)],
        count(seq(0, None)),
        &[("max_parallel_workers_per_gather", "0"), ("force_parallel_mode", "on")],
    ));
    assert!(!r.parallel);
    assert!(r.reasons[0].contains("max_parallel_workers_per_gather = 0"));
    // Unsafe + force mode: still serial.
    let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("force_parallel_mode", "on")]);
    sc.query.cursor = true;
    assert!(!plan(&sc).parallel);
}

#[test]
fn restricted_constructs_stay_above_gather() {
    let r = query_variant(|q| q.functions = vec![("random".into(), FnSafety::Restricted)]);
    assert!(r.parallel);
    assert!(r.restricted_above_gather[0].contains("random() is PARALLEL RESTRICTED"));
    let r = query_variant(|q| q.materialized_cte = true);
    assert!(r.parallel);
    assert!(r.restricted_above_gather[0].contains("materialized CTE"));
    let r = query_variant(|q| q.correlated_subplan = true);
    assert!(r.restricted_above_gather[0].contains("correlated SubPlan"));
}

#[test]
fn temporary_tables() {
    let mut t = testpar(98.0);
    t.temporary = true;
    let r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[]));
    assert!(!r.parallel);
    assert!(r.reasons[0].contains("temporary"), "{:?}", r.reasons);
    // force_parallel_mode adds no single-copy Gather over a temp table scan.
    let r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[("force_parallel_mode", "on")]));
    assert!(!r.parallel, "{:?}", r.reasons);
    // A temporary table on the inner side of a join: the Gather goes below the join.
    let big = table("big", 10_000_000.0, 100_000.0);
    let join = Node::HashJoin {
        join_type: JoinType::Inner,
        parallel: false,
        rows_per_outer: 0.001,
        width: 16.0,
        outer: Box::new(seq(
            0,
            Some(Filter { text: String::new(), selectivity: 0.01, operators: 1.0, subplan: None, reach: vec![] }),
        )),
        inner: Box::new(seq(1, None)),
        cond: String::new(),
        output: vec![],
    };
    let mut tmp = table("tmp", 1000.0, 10.0);
    tmp.temporary = true;
    let r = plan(&scenario(vec![big, tmp], count(join), &[]));
    assert!(r.parallel, "{:?}", r.reasons);
    match &r.plan {
        Node::Aggregate { mode: AggMode::Simple, input, .. } => match &**input {
            Node::HashJoin { outer, .. } => assert!(matches!(**outer, Node::Gather { .. })),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(r.restricted_above_gather.iter().any(|x| x.contains("temporary table tmp")));
}

#[test]
fn force_parallel_mode_single_copy() {
    // The tutorial: 50,000 rows in 521 pages; Seq Scan 1021.00, Gather 1000.00..7021.00.
    let t = table("testpar", 50_000.0, 521.0);
    let r = plan(&scenario(vec![t.clone()], seq(0, None), &[]));
    assert!(!r.parallel);
    assert!((r.serial_total_cost - 1021.0).abs() < 1e-9);
    let r = plan(&scenario(vec![t.clone()], seq(0, None), &[("force_parallel_mode", "on")]));
    assert!(r.parallel && r.single_copy);
    assert_eq!(r.workers_planned, 1);
    assert!((r.costed.startup - 1000.0).abs() < 1e-9);
    assert!((r.costed.total - 7021.0).abs() < 1e-9);
    assert!(matches!(r.plan, Node::Gather { single_copy: true, workers: Some(1), .. }));
    assert!(!r.explain_hidden);
    let r = plan(&scenario(vec![t.clone()], seq(0, None), &[("debug_parallel_query", "regress")]));
    assert!(r.single_copy && r.explain_hidden);
    // A restricted function makes the top node unsafe: no single-copy Gather.
    let mut sc = scenario(vec![t], seq(0, None), &[("force_parallel_mode", "on")]);
    sc.query.functions = vec![("random".into(), FnSafety::Restricted)];
    assert!(!plan(&sc).parallel);
    // When the real parallel plan wins, force mode adds nothing.
    let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[("force_parallel_mode", "on")]));
    assert!(r.parallel && !r.single_copy);
    assert_eq!(r.workers_planned, 2);
}

#[test]
fn launched_below_planned() {
    let s = Settings::default();
    assert_eq!(workers_launched(8, &s, 0), 7, "launcher holds a slot");
    let mut s2 = s.clone();
    s2.set("max_logical_replication_workers", "0").unwrap();
    assert_eq!(workers_launched(8, &s2, 0), 8);
    let mut s3 = s.clone();
    s3.set("max_parallel_workers", "3").unwrap();
    assert_eq!(workers_launched(8, &s3, 0), 3);
    assert_eq!(workers_launched(2, &s, 6), 1);
    assert_eq!(workers_launched(2, &s, 7), 0);
    assert_eq!(workers_launched(2, &s, 100), 0, "never negative");
    assert_eq!(workers_launched(2, &s3, 2), 1);
    // Through plan(): max_parallel_workers lowered, busy slots.
    let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("max_parallel_workers", "1")]);
    let r = plan(&sc);
    assert_eq!((r.workers_planned, r.workers_launched), (2, 1));
    assert!(r.reasons.iter().any(|x| x.contains("only 1 of 2 workers")));
    sc.settings.set("max_parallel_workers", "8").unwrap();
    sc.busy_worker_slots = 6;
    let r = plan(&sc);
    assert_eq!((r.workers_planned, r.workers_launched), (2, 1));
    // Execution-time fallback: client row limit.
    sc.busy_worker_slots = 0;
    sc.query.client_max_rows = 100;
    let r = plan(&sc);
    assert!(r.parallel);
    assert_eq!((r.workers_planned, r.workers_launched), (2, 0));
    assert!(r.reasons.iter().any(|x| x.contains("max_rows = 100")));
}

#[test]
fn pinned_workers_are_used_as_given() {
    let given = Node::Aggregate {
        mode: AggMode::Finalize,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        output: vec![],
        input: Box::new(Node::Gather {
            workers: Some(6),
            single_copy: false,
            input: Box::new(Node::Aggregate {
                mode: AggMode::Partial,
                groups: 1.0,
                aggregates: 1.0,
                width: 8.0,
                output: vec![],
                input: Box::new(Node::SeqScan { table: 0, parallel: true, filter: None, width: 36.0, output: vec![] }),
            }),
        }),
    };
    let mut sc = scenario(vec![testpar(98.0)], given, &[]);
    sc.pinned_workers = true;
    let r = plan(&sc);
    assert!(r.pinned && r.parallel);
    assert_eq!(r.workers_planned, 6, "not capped by max_parallel_workers_per_gather");
    assert_eq!(r.workers_launched, 6);
    assert!(r.reasons[0].contains("pinned by the scenario at 6"));
    assert!(r.reasons[1].contains("would plan 2 workers"), "{:?}", r.reasons);
}

#[test]
fn scenario_parallel_shape_is_kept_and_workers_filled() {
    let given = Node::Aggregate {
        mode: AggMode::Finalize,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        output: vec![],
        input: Box::new(Node::Gather {
            workers: None,
            single_copy: false,
            input: Box::new(Node::Aggregate {
                mode: AggMode::Partial,
                groups: 1.0,
                aggregates: 1.0,
                width: 8.0,
                output: vec![],
                input: Box::new(Node::SeqScan { table: 0, parallel: true, filter: None, width: 36.0, output: vec![] }),
            }),
        }),
    };
    let sc = scenario(vec![testpar(98.0)], given.clone(), &[]);
    let r = plan(&sc);
    assert_eq!(r.plan, with_workers(&given, 2, false));
    assert_eq!(serial_plan(&given), count(seq(0, None)));
}

#[test]
fn parallel_hash_needs_a_partial_inner() {
    let outer = table("o", 15_000_000.0, 100_000.0);
    let join = |inner_pages: f64| {
        let inner = table("i", inner_pages * 100.0, inner_pages);
        let j = Node::HashJoin {
            join_type: JoinType::Inner,
            parallel: false,
            rows_per_outer: 0.1,
            width: 16.0,
            outer: Box::new(seq(
                0,
                Some(Filter { text: String::new(), selectivity: 0.01, operators: 1.0, subplan: None, reach: vec![] }),
            )),
            inner: Box::new(seq(1, None)),
            cond: String::new(),
            output: vec![],
        };
        plan(&scenario(vec![outer.clone(), inner], count(j), &[("max_parallel_workers_per_gather", "4")]))
    };
    let r = join(50_000.0);
    assert!(r.parallel);
    assert_eq!(r.workers_planned, 4, "the outer (driving) scan's count");
    let hj = &r.costed.children[0].children[0].children[0];
    assert_eq!(hj.display, "Parallel Hash Join");
    // The inner Parallel Seq Scan is costed with its own count (50,000 pages -> 4).
    let inner_scan = &hj.children[1].children[0];
    assert_eq!(inner_scan.parallel_workers, 4);
    let r = join(500.0);
    assert!(r.parallel);
    let hj = &r.costed.children[0].children[0].children[0];
    assert_eq!(hj.display, "Hash Join");
    assert!(r.reasons.iter().any(|x| x.contains("parallel-oblivious")), "{:?}", r.reasons);
}

#[test]
fn subplan_hashing_and_parallel_subquery_trap() {
    let sp = |rows: f64| Filter {
        text: "(NOT (hashed SubPlan 1))".into(),
        selectivity: 0.5,
        operators: 1.0,
        subplan: Some(SubPlan {
            gather_workers: None,
            hashed: false,
            table: 1,
            width: 8.0,
            rows,
            text: String::new(),
            keys: None,
        }),
        reach: vec![],
    };
    let outer = table("o", 8_000_000.0, 60_000.0);
    let inner = table("s", 15_000_000.0, 90_000.0);
    let r = plan(&scenario(vec![outer.clone(), inner.clone()], count(seq(0, Some(sp(200_000.0)))), &[]));
    assert_eq!(r.subplans_hashed, vec![true]);
    let r = plan(&scenario(vec![outer.clone(), inner.clone()], count(seq(0, Some(sp(15_000_000.0)))), &[]));
    assert_eq!(r.subplans_hashed, vec![false]);
    // A selective subquery on a big table gets its own Gather: the outer scan is serial.
    let r = plan(&scenario(vec![outer, inner], count(seq(0, Some(sp(20_000.0)))), &[]));
    assert!(!r.parallel, "{:?}", r.reasons);
    assert!(r.reasons[0].contains("SubPlan whose own plan uses a Gather"), "{:?}", r.reasons);
    assert_eq!(r.subplan_workers_planned, vec![2]);
}

#[test]
fn text_render() {
    let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[]));
    let text = r.render_text();
    assert!(text.contains("Workers Planned: 2 (table testpar, heap 12,544 pages"), "{text}");
    assert!(text.contains("->  Gather"), "{text}");
    assert!(text.contains("Parallel Seq Scan on testpar"), "{text}");
}

mod properties {
    use super::*;
    use crate::planner::compute_parallel_worker;
    use proptest::prelude::*;

    fn settings(max_per_gather: u32, min_scan_kb: u32) -> Settings {
        let mut s = Settings::default();
        s.set("max_parallel_workers_per_gather", &max_per_gather.to_string()).unwrap();
        s.set("min_parallel_table_scan_size", &format!("{min_scan_kb}kB")).unwrap();
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// compute_parallel_worker: a bigger table never gets fewer workers, and never more
        /// than max_parallel_workers_per_gather.
        #[test]
        fn worker_rule_is_monotone_in_table_size(
            pages in 0.0f64..1e9,
            more in 0.0f64..1e9,
            cap in 0u32..64,
            min_kb in 0u32..1_000_000,
        ) {
            let s = settings(cap, min_kb);
            let a = compute_parallel_worker(pages, -1.0, None, &s);
            let b = compute_parallel_worker(pages + more, -1.0, None, &s);
            prop_assert!(a <= b, "{pages} pages -> {a}, {} pages -> {b}", pages + more);
            prop_assert!(b <= cap);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Through the whole decision: count(*) over a bigger table never plans fewer workers.
        #[test]
        fn workers_planned_monotone_in_table_size(
            pages in 1.0f64..5e6,
            factor in 1.0f64..50.0,
            cap in 0u32..16,
        ) {
            let cap_text = cap.to_string();
            let sets = [("max_parallel_workers_per_gather", cap_text.as_str())];
            let small = plan(&scenario(vec![table("t", pages * 98.0, pages)], count(seq(0, None)), &sets));
            let big_pages = (pages * factor).ceil();
            let big = plan(&scenario(vec![table("t", big_pages * 98.0, big_pages)], count(seq(0, None)), &sets));
            prop_assert!(
                small.workers_planned <= big.workers_planned,
                "{pages} pages: {}, {big_pages} pages: {}", small.workers_planned, big.workers_planned
            );
            prop_assert!(big.workers_planned <= cap);
        }
    }
}
