//! The classifier on expression texts as PostgreSQL 15 prints them (EXPLAIN VERBOSE of the
//! TPC-H-shaped table and the fixtures in tests/fixtures/explain and src/pg/testdata).

use super::*;
use crate::model::schema::Column;
use crate::model::Table;

fn lineitem() -> Table {
    let cols = [
        ("l_orderkey", "bigint"),
        ("l_partkey", "integer"),
        ("l_suppkey", "integer"),
        ("l_linenumber", "integer"),
        ("l_quantity", "numeric(15,2)"),
        ("l_extendedprice", "numeric(15,2)"),
        ("l_discount", "numeric(15,2)"),
        ("l_tax", "numeric(15,2)"),
        ("l_returnflag", "character(1)"),
        ("l_linestatus", "character(1)"),
        ("l_shipdate", "date"),
        ("l_commitdate", "date"),
        ("l_receiptdate", "date"),
        ("l_shipinstruct", "character(25)"),
        ("l_shipmode", "character(10)"),
        ("l_comment", "character varying(44)"),
    ];
    Table {
        name: "lineitem".into(),
        rows: 1.0,
        width: 1.0,
        pages: 1.0,
        columns: cols.iter().map(|(n, t)| Column::new(n, t, None, 0.0)).collect(),
        ..Default::default()
    }
}

fn t_and_d() -> (Table, Table) {
    let t = Table {
        name: "t".into(),
        columns: vec![
            Column::new("id", "integer", None, 0.0),
            Column::new("val", "integer", None, 0.0),
            Column::new("pad", "text", Some(40.0), 0.0),
        ],
        ..Default::default()
    };
    let d = Table {
        name: "d".into(),
        columns: vec![Column::new("id", "integer", None, 0.0), Column::new("grp", "integer", None, 0.0)],
        ..Default::default()
    };
    (t, d)
}

#[test]
fn tpch_date_vs_timestamp_filter_is_a_cross_type_comparison() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let c = classify("(l_shipdate <= '1998-08-18 00:00:00'::timestamp without time zone)", &s);
    assert_eq!(c.ops, vec![(OpClass::DateTimestamp, 1.0)]);
    assert_eq!(c.columns, vec![(0, 11)]);
    assert!(c.unclassified.is_empty());
    let d = classify("(l_receiptdate >= '1996-01-01'::date)", &s);
    assert_eq!(d.ops, vec![(OpClass::Int, 1.0)]);
}

#[test]
fn tpch_q12_filter_clauses() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let text = "((l_shipmode = ANY ('{MAIL,AIR}'::bpchar[])) AND (l_commitdate < l_receiptdate) AND (l_shipdate < l_commitdate) AND (l_receiptdate >= '1996-01-01'::date) AND (l_receiptdate < '1997-01-01 00:00:00'::timestamp without time zone))";
    let clauses = classify_qual(text, &s);
    assert_eq!(clauses.len(), 5);
    // Two elements, linear: about two bpchar equality calls (measured 2.1 clauses).
    assert_eq!(clauses[0].ops, vec![(OpClass::BpcharEq, 2.0)]);
    assert_eq!(clauses[1].ops, vec![(OpClass::Int, 1.0)]);
    assert_eq!(clauses[4].ops, vec![(OpClass::DateTimestamp, 1.0)]);
    let all = classify(text, &s);
    assert!(all.unclassified.is_empty(), "{:?}", all.unclassified);
    assert_eq!(all.columns.iter().map(|c| c.1).max(), Some(15));
}

#[test]
fn casts_numeric_and_like_from_verbose() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    // Planner-inserted per-row cast, then a numeric comparison.
    let c = classify("((li.l_linenumber)::numeric < 100.5)", &s);
    assert_eq!(c.ops, vec![(OpClass::NumericCmp, 1.0), (OpClass::NumericCast, 1.0)]);
    // varchar -> text is a free relabel; ~~ is LIKE.
    let l = classify("((li.l_comment)::text ~~ '%x%'::text)", &s);
    assert_eq!(l.ops, vec![(OpClass::Like, 1.0)]);
    // Numeric arithmetic in an aggregate argument.
    // (The columns' widths are not given: numeric is taken as 8 bytes, half of its values long.)
    let (k, arg) = classify_aggregate("sum((l_extendedprice * ('1'::numeric - l_discount)))", &s).unwrap();
    assert_eq!(k, AggClass::SumNumeric);
    assert_eq!(arg.ops, vec![(OpClass::NumericArith, 2.0), (OpClass::NumericLong, 0.5)]);
}

#[test]
fn long_numerics_cost_more_by_their_share() {
    let mut li = lineitem();
    // pg_stats avg_width: 5 bytes is one base-10000 digit (1-50), 9 is three.
    li.columns[4] = Column::new("l_quantity", "numeric(15,2)", Some(5.0), 0.0);
    li.columns[5] = Column::new("l_extendedprice", "numeric(15,2)", Some(9.0), 0.0);
    let s = Scope::new(vec![&li]);
    assert_eq!(classify("(l_quantity < '24'::numeric)", &s).ops, vec![(OpClass::NumericCmp, 1.0)]);
    assert_eq!(
        classify("(l_extendedprice < '24'::numeric)", &s).ops,
        vec![(OpClass::NumericCmp, 1.0), (OpClass::NumericLong, 1.0)]
    );
    // Sums: the transition of a long value costs more; a short one does not.
    assert!(classify_aggregate("sum(l_quantity)", &s).unwrap().1.ops.is_empty());
    let (_, long) = classify_aggregate("sum(l_extendedprice)", &s).unwrap();
    assert_eq!(long.ops, vec![(OpClass::NumericLong, 1.0)]);
    // Arithmetic costs the same on long values, but a product is as long as its longer
    // operand when it is summed.
    let (_, prod) = classify_aggregate("sum((l_extendedprice * l_quantity))", &s).unwrap();
    assert_eq!(prod.ops, vec![(OpClass::NumericArith, 1.0), (OpClass::NumericLong, 1.0)]);
}

#[test]
fn hashed_any_from_nine_constants() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let c = classify("(l_shipmode = ANY ('{a,b,c,d,e,f,g,h,i}'::bpchar[]))", &s);
    assert_eq!(c.ops, vec![(OpClass::BpcharEq, 1.0), (OpClass::HashedSaop, 1.0)]);
    // Eight, linear: 1 + sqrt(7) comparisons (measured 3.6 clauses), fewer than eight since
    // later elements cost less than the first call and matches stop the loop.
    let c = classify("(l_shipmode = ANY ('{a,b,c,d,e,f,g,h}'::bpchar[]))", &s);
    assert_eq!(c.ops, vec![(OpClass::BpcharEq, 1.0 + 7f64.sqrt())]);
}

#[test]
fn aggregates_by_function_and_argument_type() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let k = |t: &str| classify_aggregate(t, &s).map(|x| x.0);
    assert_eq!(k("count(*)"), Some(AggClass::CountStar));
    assert_eq!(k("(PARTIAL count(*))"), Some(AggClass::CountStar));
    assert_eq!(k("PARTIAL sum(l_quantity)"), Some(AggClass::SumNumeric));
    assert_eq!(k("sum(lineitem.l_linenumber)"), Some(AggClass::SumInt));
    assert_eq!(k("sum(l_orderkey)"), Some(AggClass::SumInt8));
    assert_eq!(k("avg(l_partkey)"), Some(AggClass::SumInt));
    assert_eq!(k("max(l_shipdate)"), Some(AggClass::MinMax));
    assert_eq!(k("min(l_quantity)"), Some(AggClass::MinMaxVarlena));
    assert_eq!(k("count(l_comment)"), Some(AggClass::Count));
    assert_eq!(k("string_agg(l_comment, ',')"), Some(AggClass::Generic));
    // A grouping column is not an aggregate call.
    assert_eq!(k("lineitem.l_shipmode"), None);
}

#[test]
fn fixture_texts_from_real_plans() {
    let (t, d) = t_and_d();
    let s = Scope::new(vec![&t, &d]);
    // tests/fixtures/explain/hashjoin_group_verbose.json
    let h = classify("((t.val % 100000) = d.id)", &s);
    assert_eq!(h.ops, vec![(OpClass::Int, 2.0)]);
    assert_eq!(h.columns, vec![(0, 2), (1, 1)]);
    assert_eq!(classify_aggregate("(PARTIAL sum(t.val))", &s).map(|x| x.0), Some(AggClass::SumInt));
    // tests/fixtures/explain/leader_off_filter_plain.json
    let f = classify_qual("((val < 1000) AND (id > 5))", &s);
    assert_eq!(f.len(), 2);
    // notin fixtures: the lookup is priced by the SubPlan model; its test comparison here.
    let n = classify("(NOT (hashed SubPlan 1))", &s);
    assert_eq!(n.ops, vec![(OpClass::Int, 1.0)]);
    assert!(n.unclassified.is_empty());
    // src/pg/testdata/sort_verbose.json
    assert_eq!(classify("(t.val < 100000)", &s).ops, vec![(OpClass::Int, 1.0)]);
}

#[test]
fn unknown_functions_are_generic_and_reported() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let c = classify("(upper((l_comment)::text) = 'X'::text)", &s);
    assert_eq!(c.count(OpClass::Generic), 1.0);
    assert_eq!(c.count(OpClass::TextEq), 1.0);
    assert_eq!(c.unclassified, vec!["upper()".to_string()]);
    // Garbage never panics: one generic call, the columns it names still found.
    let g = classify("((l_quantity ??? ))) '", &s);
    assert_eq!(g.ops, vec![(OpClass::Generic, 1.0)]);
    assert_eq!(g.columns, vec![(0, 5)]);
}

#[test]
fn timestamptz_comparisons_convert_zones() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let c = classify("(l_shipdate <= '1999-01-01 00:00:00+00'::timestamp with time zone)", &s);
    assert_eq!(c.ops, vec![(OpClass::DateTimestampTz, 1.0)]);
}

#[test]
fn aggregate_calls_inside_an_expression_are_each_priced() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    // Q14's VERBOSE output: two sums under an expression evaluated once per group.
    let q14 = "((100.00 * sum(CASE WHEN ((part.p_type)::text ~~ 'PROMO%'::text) THEN (lineitem.l_extendedprice * ('1'::numeric - lineitem.l_discount)) ELSE '0'::numeric END)) / sum((lineitem.l_extendedprice * ('1'::numeric - lineitem.l_discount))))";
    let calls = classify_aggregates(q14, &s);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|(k, _)| *k == AggClass::SumNumeric));
    // Each call's argument keeps its own operators: the first the LIKE and two numeric ops.
    let arith = |c: &Classified| c.ops.iter().find(|(k, _)| *k == OpClass::NumericArith).map_or(0.0, |x| x.1);
    assert_eq!(arith(&calls[0].1), 2.0);
    assert!(calls[0].1.ops.iter().any(|(k, _)| *k == OpClass::Like));
    assert_eq!(arith(&calls[1].1), 2.0);
    // Quotes hide look-alikes; a top-level call and a grouping key are as before.
    assert_eq!(aggregate_calls("('sum(x)' || count(*))"), vec!["count(*)"]);
    assert_eq!(aggregate_calls("(sum(a) / NULLIF(pg_catalog.count(b), 0))"), vec!["sum(a)", "pg_catalog.count(b)"]);
    assert_eq!(classify_aggregates("PARTIAL sum(l_quantity)", &s).len(), 1);
    assert!(classify_aggregates("lineitem.l_shipmode", &s).is_empty());
    assert!(classify_aggregates("summary(l_quantity)", &s).is_empty());
}

#[test]
fn sum_and_avg_share_a_transition_where_postgres_does() {
    let li = lineitem();
    let s = Scope::new(vec![&li]);
    let key = |t: &str| transition_key(t, classify_aggregate(t, &s).unwrap().0);
    // numeric_avg_accum for both (pg_aggregate.dat); PARTIAL and parentheses do not matter.
    assert_eq!(key("sum(l_quantity)"), key("avg(l_quantity)"));
    assert_eq!(key("(PARTIAL sum(l_quantity))"), key("avg(l_quantity)"));
    assert_eq!(key("sum(l_orderkey)"), key("avg(l_orderkey)"), "int8_avg_accum");
    // Other inputs, other functions.
    assert_ne!(key("sum(l_quantity)"), key("sum(l_discount)"));
    assert_ne!(key("sum(l_linenumber)"), key("avg(l_linenumber)"), "int4_sum vs int4_avg_accum");
    assert_ne!(key("min(l_shipdate)"), key("max(l_shipdate)"));
    assert_eq!(key("count(*)"), key("count(*)"));
}
