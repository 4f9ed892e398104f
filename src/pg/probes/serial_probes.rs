//! The serial probes: scans, filters, aggregates, sorts, hash joins and hashed SubPlans at
//! three sizes, typed columns, EXPLAIN ANALYZE's own clock reads and its wrapper around each
//! node call.

use super::{probe, serial, How, Probe, Stage};

/// Serial probes: scans, filters, aggregates, sorts, hash joins, rows to a client, at three
/// sizes; then wide rows and a table resting in shared buffers.
pub(super) fn serial_probes() -> Vec<Probe> {
    let s = Stage::Serial;
    let mut p = vec![];
    let mut add =
        |id: String, sql: String, how: How, what: &'static str| p.push(probe(id, sql, serial(&[]), how, s, what));
    let q4 = "a >= 0 AND b >= 0 AND c >= 0 AND id >= 0";
    let q8 =
        "a >= 0 AND b >= 0 AND c >= 0 AND id >= 0 AND a < 2000000 AND b < 2000000 AND c < 2000000 AND id < 2000000000";
    let e = How::Explain;
    for (x, t) in [("s", "n_s"), ("m", "n_m"), ("l", "n_l")] {
        // Every probe aggregates: a query that returns its rows pays per-row output costs
        // (projection, ExecutePlan's loop) the model has no separate term for.
        add(format!("count_{x}"), format!("SELECT count(*) FROM {t}"), e, "count(*)");
        add(format!("agg2_{x}"), format!("SELECT sum(a), count(*) FROM {t}"), e, "2 aggregates");
        // The same sum alone: against agg2_* the one count(*) transition it lacks
        // (`agg_count_star_ns`), which the count_* probes cannot tell from a row's scan
        // (`tuple_ns`: every count_* probe pays both for every row).
        add(format!("sum_{x}"), format!("SELECT sum(a) FROM {t}"), e, "1 aggregate, no count(*)");
        add(format!("agg4_{x}"), format!("SELECT sum(a), sum(b), sum(c), count(*) FROM {t}"), e, "4 aggregates");
        // The same sum over the scan's projection of the column (the OFFSET 0 subquery keeps
        // its target list; the planner drops the subquery and its zero offset, so the scan
        // projects): against sum_* one projected column (`project_attr_ns`). 5-7 ns a row on
        // the 2-vCPU EPYC VM (fastest of 31 runs of 227,512 rows), 3-7% of the sum's time,
        // where typed_proj_num alone, a 3% difference over a quarter as many rows, let the fit
        // put it at 0 in most calibrations.
        add(
            format!("proj_{x}"),
            format!("SELECT sum(x) FROM (SELECT a AS x FROM {t} OFFSET 0) s"),
            e,
            "1 aggregate over a projected column",
        );
        add(format!("qual4_{x}"), format!("SELECT count(*) FROM {t} WHERE {q4}"), e, "filter, 4 operators");
        add(format!("qual8_{x}"), format!("SELECT count(*) FROM {t} WHERE {q8}"), e, "filter, 8 operators");
        add(format!("sort_{x}"), format!("SELECT a FROM {t} ORDER BY b"), e, "in-memory sort");
        add(format!("topn_{x}"), format!("SELECT a FROM {t} ORDER BY b LIMIT 100"), e, "top-100 heapsort");
        let hj = |d: &str| format!("SELECT count(*) FROM {t} JOIN {d} ON {t}.c = {d}.id");
        add(format!("hjs_{x}"), hj("dim_s"), e, "hash join, 50k-row build");
        add(format!("hjl_{x}"), hj("dim_l"), e, "hash join, 200k-row build");
        // Lookups of a (0..1M) in tiny's 1,000 ids, a table in the core's cache: one in a
        // thousand finds its row, as most lookups of a filtered dimension's table do not
        // (`hash_probe_ns`, against `hash_match_ns` where every lookup finds one).
        add(
            format!("hjm_{x}"),
            format!("SELECT count(*) FROM {t} JOIN tiny ON {t}.a = tiny.id"),
            e,
            "hash join, one lookup in 1,000 finds a row",
        );
        add(format!("client_{x}"), format!("SELECT a FROM {t}"), How::Client, "rows sent to this client");
    }
    for (x, t) in [("w", "wide"), ("h", "hot")] {
        let what = if x == "w" { "wide rows" } else { "table in shared buffers" };
        add(format!("count_{x}"), format!("SELECT count(*) FROM {t}"), e, what);
        add(format!("agg4_{x}"), format!("SELECT sum(a), sum(b), sum(c), count(*) FROM {t}"), e, what);
        add(format!("qual4_{x}"), format!("SELECT count(*) FROM {t} WHERE {q4}"), e, what);
    }
    // The hot table's twin, in shared buffers in a random block order: the prefetching a scan
    // loses where consecutive blocks do not lie in consecutive buffers (`buffer_jump_ns`;
    // `buffer_jump_data_ns` when it reads the rows).
    let scattered = "table in shared buffers in a random order";
    add("count_hx".into(), "SELECT count(*) FROM shuffled".into(), e, scattered);
    add("agg4_hx".into(), "SELECT sum(a), sum(b), sum(c), count(*) FROM shuffled".into(), e, scattered);
    // Rows of variable length at irregular offsets, in shared buffers: `row_miss_ns` (their
    // count(*) reads no row; the aggregates read every row's first columns).
    for (x, t) in [("sm", "scat_m"), ("sw", "scat_w")] {
        add(format!("count_{x}"), format!("SELECT count(*) FROM {t}"), e, "rows of variable length");
        add(
            format!("agg4_{x}"),
            format!("SELECT sum(a), sum(b), sum(c), count(*) FROM {t}"),
            e,
            "rows of variable length",
        );
    }
    // count(*) timed by this client, beside the same queries timed by EXPLAIN ANALYZE: one row
    // out, so the two differ by the query's fixed costs alone (parse, plan, the round trip:
    // `query_client_us` against `query_explain_us`), which the row-heavy client_* probes
    // cannot separate from `client_row_ns`.
    for (x, t) in [("s", "n_s"), ("m", "n_m")] {
        add(
            format!("clientcount_{x}"),
            format!("SELECT count(*) FROM {t}"),
            How::Client,
            "count(*) timed by this client",
        );
    }
    // The narrowest rows (226 a page, the speed reference's table): per-row against per-page
    // costs of reading columns (`row_data_ns` vs `page_data_ns`).
    add("count_sr".into(), "SELECT count(*) FROM speedref".into(), e, "226 narrow rows a page");
    add("agg_sr".into(), crate::pg::protocol::SPEEDREF_SQL.into(), e, "226 narrow rows a page");
    // Blocks read from the OS page cache through the bulk-read ring: `os_read_page_ns`.
    let ring = "table read through the bulk-read ring";
    add("count_r".into(), "SELECT count(*) FROM ring".into(), e, ring);
    add("agg4_r".into(), "SELECT sum(a), sum(b), sum(c), count(*) FROM ring".into(), e, ring);
    p.extend(special_serial_probes());
    p.extend(typed_probes());
    // The buffer-order twins price a difference of about 6-9% between two medians
    // (`buffer_jump_ns`, `buffer_jump_data_ns`): three runs a round each, as the start-up
    // probes, so that the difference is not mostly the runs' own noise (with one run a round
    // the price ranged 249-441 ns over nine calibrations of one quiet 2-vCPU VM in one night,
    // sd 71; with three 340-363 ns over four, sd 11).
    for q in p.iter_mut().filter(|q| TWINS.contains(&q.id.as_str())) {
        q.per_rep = 3;
    }
    p
}

/// The hot table's probes and their twins over its copy in a random buffer order.
pub(super) const TWINS: [&str; 4] = ["count_h", "agg4_h", "count_hx", "agg4_hx"];

/// The same table with TPC-H's column types, each probe differing from a partner in one
/// class of work: deforming past varlenas, numeric vs integer comparisons and sums, numeric
/// arithmetic, a scan's projection, date vs timestamp, char(n) and varchar equality, LIKE,
/// `= ANY` of 8 vs 9 constants, min(date), count(col).
fn typed_probes() -> Vec<Probe> {
    let q = |id: &str, sql: &str, what: &'static str| {
        probe(
            format!("typed_{id}"),
            sql.replace("FROM t", "FROM typed"),
            serial(&[]),
            How::Explain,
            Stage::Serial,
            what,
        )
    };
    vec![
        q("count", "SELECT count(*) FROM t", "typed: count(*)"),
        // Deforming to five depths: a row's attributes cost by how many precede the one a
        // qual needs (2.8 ns each for int8 columns at cached offsets, 3-4 ns for a lineitem
        // row's past its first varlena, on the 2-vCPU EPYC VM); with two depths only the fit
        // left the cached-offset price at 0 and lineitem's deep columns 20% cheap.
        q("deform_k4", "SELECT count(*) FROM t WHERE k4 IS NOT NULL", "typed: deform to column 2"),
        q("deform_n3", "SELECT count(*) FROM t WHERE n3 IS NOT NULL", "typed: deform to column 5, past numerics"),
        q("deform_d1", "SELECT count(*) FROM t WHERE d1 IS NOT NULL", "typed: deform to column 6"),
        q("deform_c10", "SELECT count(*) FROM t WHERE c10 IS NOT NULL", "typed: deform to column 8, past a char(1)"),
        q("deform_d2", "SELECT count(*) FROM t WHERE d2 IS NOT NULL", "typed: deform to column 10, past a varchar"),
        q("deform_nl", "SELECT count(*) FROM t WHERE nl IS NOT NULL", "typed: deform to column 11"),
        q("int_cmp", "SELECT count(*) FROM t WHERE k4 < 0", "typed: integer comparison"),
        q("num_cmp", "SELECT count(*) FROM t WHERE n1 < 0", "typed: numeric comparison"),
        q("num_cast", "SELECT count(*) FROM t WHERE k4 < 100.5", "typed: integer cast to numeric"),
        q("sum_int", "SELECT sum(k4) FROM t", "typed: sum(int4)"),
        q("sum_int8", "SELECT sum(k8) FROM t", "typed: sum(int8)"),
        q("sum_num", "SELECT sum(n1) FROM t", "typed: sum(numeric)"),
        // The same sum over the scan's projection of that one column (the OFFSET 0 subquery
        // keeps its target list): `project_attr_ns`, which no other serial probe separates.
        q(
            "proj_num",
            "SELECT sum(x) FROM (SELECT n1 AS x FROM t OFFSET 0) s",
            "typed: sum(numeric) of a projected column",
        ),
        q("num_arith", "SELECT sum(n1 * (1 - n2)) FROM t", "typed: numeric arithmetic"),
        // Values of three base-10000 digits (100,000.12 and up) against n1's one or two:
        // `op_numeric_long_ns`, with the deform to the last column priced apart.
        q("num_cmp_long", "SELECT count(*) FROM t WHERE nl < 0", "typed: numeric comparison, 3-digit values"),
        q("sum_num_long", "SELECT sum(nl) FROM t", "typed: sum(numeric), 3-digit values"),
        q("date_cmp", "SELECT count(*) FROM t WHERE d1 <= date '1998-09-02'", "typed: date comparison"),
        q("date_ts", "SELECT count(*) FROM t WHERE d1 <= '1998-09-02'::timestamp", "typed: date vs timestamp"),
        q("bpchar_eq", "SELECT count(*) FROM t WHERE c10 = 'MAIL'", "typed: char(10) equality"),
        q("text_eq", "SELECT count(*) FROM t WHERE v44 = 'abc'", "typed: varchar equality"),
        q("like", "SELECT count(*) FROM t WHERE v44 LIKE '%ab%'", "typed: LIKE"),
        q("any8", "SELECT count(*) FROM t WHERE c1 IN ('B','C','D','E','F','G','H','I')", "typed: = ANY of 8"),
        q(
            "any9",
            "SELECT count(*) FROM t WHERE c1 IN ('B','C','D','E','F','G','H','I','J')",
            "typed: = ANY of 9 (hashed)",
        ),
        q("min_date", "SELECT min(d1) FROM t", "typed: min(date)"),
        q("count_col", "SELECT count(v44) FROM t", "typed: count(varchar)"),
    ]
}

/// Spilling sort, index scan, hashed SubPlan builds and an index nested loop.
fn special_serial_probes() -> Vec<Probe> {
    let (e, s) = (How::Explain, Stage::Serial);
    let mut p = vec![
        probe(
            "spill_m".into(),
            "SELECT a FROM n_m ORDER BY b".into(),
            serial(&[("work_mem", "4MB")]),
            e,
            s,
            "external merge sort",
        ),
        probe(
            "index_m".into(),
            "SELECT sum(b) FROM n_m WHERE id >= 0".into(),
            serial(&[("enable_seqscan", "off"), ("enable_bitmapscan", "off")]),
            e,
            s,
            "full index scan in heap order",
        ),
    ];
    // Hashed SubPlan builds of the three narrow tables (scale/2, scale and 2 x scale rows)
    // probed by only 1,000 outer rows: the build cost apart from probes into a large table.
    // The ring table's build (about half of shared_buffers in rows: 794,000 at 128 MB) makes
    // a hash table of tens of MB, past the L2 by four or five doublings, where the seed's
    // NOT IN builds (the narrow tables' stop at about 20 MB): `hash_miss_ns` is then fitted
    // over the sizes it prices instead of extrapolated (one sitting's seed queries were 20%
    // off, with the sign changing from host to host).
    for (x, t) in [("s", "n_s"), ("m", "n_m"), ("l", "n_l"), ("r", "ring")] {
        p.push(probe(
            format!("subplan_{x}"),
            format!("SELECT count(*) FROM tiny_sc WHERE a NOT IN (SELECT id FROM {t})"),
            serial(&[]),
            e,
            s,
            "hashed SubPlan build, 1,000 probes",
        ));
    }
    // A build past where the price of an access stops growing (`hash_far_bytes`): 3M keys,
    // 100 MB of entries. Without it the largest build was the ring table's (25 MB of entries
    // at 128 MB of shared_buffers), and the doublings' price was extrapolated to the tables
    // of millions of rows users build: on a Xeon VM the default-scale seed NOT IN (2M keys)
    // came out 20-30% slow, its inserts priced 360 ns where they cost 283.
    p.push(probe(
        "subplan_x".into(),
        "SELECT count(*) FROM tiny_sc WHERE a NOT IN (SELECT id FROM build_x)".into(),
        serial(&[]),
        e,
        s,
        "hashed SubPlan build of 3M keys, 1,000 probes",
    ));
    // The same large build probed by every row of n_l: lookups into that table.
    p.push(probe(
        "subplan_rl".into(),
        "SELECT count(*) FROM n_l WHERE a NOT IN (SELECT id FROM ring)".into(),
        serial(&[]),
        e,
        s,
        "hashed SubPlan build, a lookup per row of n_l",
    ));
    p.push(probe(
        "nestloop_m".into(),
        "SELECT count(*) FROM dim_l d JOIN n_m t ON t.id = d.id".into(),
        serial(&[
            ("enable_hashjoin", "off"),
            ("enable_mergejoin", "off"),
            ("enable_memoize", "off"),
            ("enable_material", "off"),
        ]),
        e,
        s,
        "nested loop, index lookup per outer row",
    ));
    p
}

/// EXPLAIN ANALYZE's own clock reads: serial probes run again with TIMING on (their TIMING OFF
/// twins are in the serial set), one node and three nodes per row.
pub(super) fn timing_probes() -> Vec<Probe> {
    let s = Stage::Timing;
    vec![
        probe(
            "timing_count_m".into(),
            "SELECT count(*) FROM n_m".into(),
            serial(&[]),
            How::ExplainTiming,
            s,
            "count(*) with TIMING on",
        ),
        probe(
            "timing_hjs_m".into(),
            "SELECT count(*) FROM n_m JOIN dim_s ON n_m.c = dim_s.id".into(),
            serial(&[]),
            How::ExplainTiming,
            s,
            "hash join with TIMING on",
        ),
    ]
}

/// EXPLAIN ANALYZE's wrapper around every node call (execProcnode.c `ExecProcNodeInstr`):
/// the same plan of about 4M cheap calls (a nested loop over two set-returning functions, 2M
/// rows, no table) under EXPLAIN (ANALYZE, TIMING OFF) and bare, timed by this client. The
/// difference over the calls is the wrapper's price; the client's fixed costs (planning, the
/// round trip: under 0.5 ms against 40 ms or so of wrappers) bias it by under 1%.
pub(super) fn wrapper_probes() -> Vec<Probe> {
    let sql = "SELECT count(*) FROM generate_series(1, 1000) a CROSS JOIN generate_series(1, 2000) b";
    [("wrap_explain", How::Explain), ("wrap_client", How::Client)]
        .into_iter()
        .map(|(id, how)| probe(id.into(), sql.into(), serial(&[]), how, Stage::Wrapper, "4M node calls, no table"))
        .collect()
}
