//! Unit tests of the plan shapes (`shape.rs`).
use super::*;
use crate::model::Filter;

struct All {
    partial: bool,
    hash: bool,
    unsafe_table: Option<usize>,
}
impl Eligibility for All {
    fn partial_scan(&self, scan: &Node) -> bool {
        self.partial && self.safe_scan(scan)
    }
    fn safe_table(&self, table: usize) -> bool {
        Some(table) != self.unsafe_table
    }
    fn safe_scan(&self, scan: &Node) -> bool {
        match scan {
            Node::SeqScan { table, .. } | Node::IndexScan { table, .. } => self.safe_table(*table),
            _ => true,
        }
    }
    fn parallel_hash(&self) -> bool {
        self.hash
    }
}

fn seq(table: usize) -> Node {
    Node::SeqScan { table, parallel: false, filter: None, width: 8.0, output: vec![] }
}

fn count(input: Node) -> Node {
    Node::Aggregate {
        mode: AggMode::Simple,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        output: vec![],
        input: Box::new(input),
    }
}

fn hj(outer: Node, inner: Node, join_type: JoinType) -> Node {
    Node::HashJoin {
        join_type,
        parallel: false,
        rows_per_outer: 1.0,
        width: 16.0,
        outer: Box::new(outer),
        inner: Box::new(inner),
        cond: String::new(),
        output: vec![],
    }
}

const YES: All = All { partial: true, hash: true, unsafe_table: None };

#[test]
fn count_star_round_trip() {
    let serial = count(seq(0));
    let par = parallelize(&serial, &YES).unwrap();
    match &par {
        Node::Aggregate { mode: AggMode::Finalize, input, .. } => match &**input {
            Node::Gather { input, workers: None, .. } => match &**input {
                Node::Aggregate { mode: AggMode::Partial, input, .. } => {
                    assert!(matches!(**input, Node::SeqScan { parallel: true, .. }))
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(serial_plan(&par), serial);
    let w = with_workers(&par, 3, false);
    assert!(matches!(w.find_gather(), Some(Node::Gather { workers: Some(3), .. })));
}

#[test]
fn no_partial_scan_no_parallel_plan() {
    let none = All { partial: false, hash: true, unsafe_table: None };
    assert!(parallelize(&count(seq(0)), &none).is_none());
}

#[test]
fn parallel_hash_or_oblivious() {
    let p = parallelize(&hj(seq(0), seq(1), JoinType::Inner), &YES).unwrap();
    assert!(matches!(p.find_gather(), Some(Node::Gather { .. })));
    assert!(p.has_parallel_aware());
    match p.find_gather().unwrap().children()[0] {
        Node::HashJoin { parallel, inner, .. } => {
            assert!(*parallel);
            assert!(matches!(**inner, Node::SeqScan { parallel: true, .. }));
        }
        other => panic!("{other:?}"),
    }
    let no_hash = All { partial: true, hash: false, unsafe_table: None };
    let p = parallelize(&hj(seq(0), seq(1), JoinType::Inner), &no_hash).unwrap();
    match p.find_gather().unwrap().children()[0] {
        Node::HashJoin { parallel, inner, .. } => {
            assert!(!*parallel);
            assert!(matches!(**inner, Node::SeqScan { parallel: false, .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn restricted_inner_pushes_gather_down() {
    let temp_inner = All { partial: true, hash: true, unsafe_table: Some(1) };
    let p = parallelize(&count(hj(seq(0), seq(1), JoinType::Inner)), &temp_inner).unwrap();
    // Aggregate (simple) -> Hash Join -> [Gather -> Parallel Seq Scan 0], [Seq Scan 1]
    match &p {
        Node::Aggregate { mode: AggMode::Simple, input, .. } => match &**input {
            Node::HashJoin { outer, inner, .. } => {
                assert!(matches!(**outer, Node::Gather { .. }));
                assert!(matches!(**inner, Node::SeqScan { parallel: false, .. }));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // Right joins likewise.
    let p = parallelize(&hj(seq(0), seq(1), JoinType::Right), &YES).unwrap();
    assert!(matches!(p, Node::HashJoin { .. }));
}

#[test]
fn sort_gets_gather_merge_and_serial_strips_it() {
    let serial = Node::Limit {
        count: 80.0,
        input: Box::new(Node::Sort {
            keys: vec!["id".into()],
            input: Box::new(Node::SeqScan {
                table: 0,
                parallel: false,
                filter: Some(Filter {
                    text: "x".into(),
                    selectivity: 0.5,
                    operators: 1.0,
                    subplan: None,
                    reach: vec![],
                }),
                width: 8.0,
                output: vec![],
            }),
        }),
    };
    let p = parallelize(&serial, &YES).unwrap();
    assert!(matches!(p.find_gather(), Some(Node::GatherMerge { .. })));
    assert_eq!(serial_plan(&p), serial);
}

#[test]
fn join_orders() {
    let rows = |n: &Node| match n {
        Node::SeqScan { table, .. } => [1000.0, 10.0][*table],
        _ => 1.0,
    };
    let v = join_order_variants(&count(hj(seq(0), seq(1), JoinType::Inner)), &rows);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0], count(hj(seq(0), seq(1), JoinType::Inner)));
    match &v[1] {
        Node::Aggregate { input, .. } => match &**input {
            Node::HashJoin { outer, inner, rows_per_outer, .. } => {
                assert_eq!(**outer, seq(1));
                assert_eq!(**inner, seq(0));
                assert_eq!(*rows_per_outer, 100.0, "1000 join rows / 10 outer rows");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(join_order_variants(&hj(seq(0), seq(1), JoinType::Anti), &rows).len(), 1);
}

#[test]
fn check_parallel_demotes_parallel_hash() {
    let given = Node::Gather {
        workers: None,
        single_copy: false,
        input: Box::new(Node::HashJoin {
            join_type: JoinType::Inner,
            parallel: true,
            rows_per_outer: 1.0,
            width: 16.0,
            outer: Box::new(set_scan_parallel(&seq(0), true)),
            inner: Box::new(set_scan_parallel(&seq(1), true)),
            cond: String::new(),
            output: vec![],
        }),
    };
    let no_hash = All { partial: true, hash: false, unsafe_table: None };
    let c = check_parallel(&given, &no_hash).unwrap();
    match &c {
        Node::Gather { input, .. } => match &**input {
            Node::HashJoin { parallel, inner, .. } => {
                assert!(!*parallel);
                assert!(matches!(**inner, Node::SeqScan { parallel: false, .. }));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(check_parallel(&given, &YES).unwrap(), given);
}
