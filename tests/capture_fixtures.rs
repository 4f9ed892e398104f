//! Captures real PostgreSQL 15 plans into tests/fixtures/explain/pg15_*.json, from a throwaway
//! server loaded with the validation's TPC-H-like tables and the seed's tables (small sizes).
//! Not a test: run it by hand when the workload changes,
//! `cargo test --test capture_fixtures -- --ignored --nocapture`.

use pqsim::pg::protocol::apply_gucs;
use pqsim::pg::ThrowawayServer;
use pqsim::validation::tpch;

/// (fixture name, settings, EXPLAIN options, query)
fn plans() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, &'static str, String)> {
    let w = |n: &'static str| {
        vec![("max_parallel_workers_per_gather", n), ("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0")]
    };
    let seed_in = "SELECT company_id, package_id, stock_id FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list) ORDER BY id ASC LIMIT 80";
    let mut v = vec![];
    for (n, q) in [
        ("q1", tpch::Q1),
        ("q6", tpch::Q6),
        ("q12", tpch::Q12),
        ("q14", tpch::Q14),
        ("gather_bound", tpch::GATHER_BOUND),
        ("count", tpch::COUNT),
    ] {
        for wk in ["0", "2", "4"] {
            let name: &'static str = Box::leak(format!("pg15_{n}_w{wk}").into_boxed_str());
            v.push((name, w(wk), "VERBOSE, SETTINGS", q.to_string()));
        }
    }
    v.push(("pg15_q12_w4_analyze", w("4"), "ANALYZE, VERBOSE, SETTINGS", tpch::Q12.to_string()));
    v.push(("pg15_q6_w0_analyze", w("0"), "ANALYZE, VERBOSE, SETTINGS", tpch::Q6.to_string()));
    v.push(("pg15_q1_w0_analyze", w("0"), "ANALYZE, VERBOSE, SETTINGS", tpch::Q1.to_string()));
    for wk in ["0", "2", "4"] {
        let name: &'static str = Box::leak(format!("pg15_seed_not_in_w{wk}").into_boxed_str());
        let mut s = w(wk);
        s.push(("work_mem", "256MB"));
        v.push((name, s, "VERBOSE, SETTINGS", seed_in.to_string()));
    }
    let mut s = w("2");
    s.push(("work_mem", "256MB"));
    v.push((
        "pg15_not_exists_w2",
        s,
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM user_session_history h WHERE NOT EXISTS (SELECT 1 FROM session_product_list s WHERE s.id = h.session_id)".into(),
    ));
    v.push((
        "pg15_semi_join_w2",
        w("2"),
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM orders WHERE EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = o_orderkey AND l_quantity > 45)".into(),
    ));
    let mut s = w("0");
    s.extend([("enable_hashjoin", "off"), ("enable_mergejoin", "off")]);
    v.push((
        "pg15_memoize_w0",
        s.clone(),
        "ANALYZE, VERBOSE, SETTINGS",
        "SELECT count(*) FROM lineitem l JOIN part p ON p.p_partkey = l.l_partkey WHERE l.l_orderkey < 3000".into(),
    ));
    v.push((
        "pg15_materialize_w0",
        s,
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM part p JOIN orders o ON o.o_shippriority < p.p_size WHERE p.p_partkey < 50 AND o.o_orderkey < 200".into(),
    ));
    v.push((
        "pg15_incremental_sort_w0",
        w("0"),
        "VERBOSE, SETTINGS",
        "SELECT o_orderkey, o_custkey FROM orders ORDER BY o_orderkey, o_custkey LIMIT 100".into(),
    ));
    v.push((
        "pg15_index_only_w0",
        w("0"),
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM orders WHERE o_orderkey < 5000".into(),
    ));
    let mut s = w("0");
    s.push(("work_mem", "64kB"));
    v.push((
        "pg15_hashagg_spill_w0",
        s,
        "ANALYZE, VERBOSE, SETTINGS",
        "SELECT l_partkey, count(*) FROM lineitem GROUP BY l_partkey".into(),
    ));
    let mut s = w("2");
    s.push(("enable_hashagg", "off"));
    v.push((
        "pg15_group_agg_w2",
        s,
        "VERBOSE, SETTINGS",
        "SELECT l_orderkey, sum(l_quantity) FROM lineitem GROUP BY l_orderkey".into(),
    ));
    v.push((
        "pg15_initplan_w2",
        w("2"),
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM lineitem WHERE l_quantity > (SELECT avg(l_quantity) FROM lineitem)".into(),
    ));
    v.push((
        "pg15_initplan_w0",
        w("0"),
        "VERBOSE, SETTINGS",
        "SELECT count(*) FROM lineitem WHERE l_quantity > (SELECT avg(l_quantity) FROM lineitem)".into(),
    ));
    v
}

#[test]
#[ignore = "writes fixtures: run by hand"]
fn capture_pg15_plans() {
    let server = ThrowawayServer::start().expect("start");
    let mut c = server.client().unwrap();
    apply_gucs(&mut c, "public", &[]).unwrap();
    for sql in tpch::load_sql(30_000, 4_000) {
        c.batch_execute(&sql).unwrap();
    }
    c.batch_execute(
        "CREATE TABLE user_session_history (id BIGSERIAL PRIMARY KEY, company_id INT, package_id INT, stock_id INT,
             session_id BIGINT, created_at TIMESTAMP DEFAULT now()) WITH (autovacuum_enabled = off);
         INSERT INTO user_session_history (company_id, package_id, stock_id, session_id)
           SELECT (g % 10), (g % 100), (g % 1000), g FROM generate_series(1, 200000) g;
         CREATE TABLE session_product_list (id BIGSERIAL PRIMARY KEY, product_id INT, created_at TIMESTAMP DEFAULT now())
             WITH (autovacuum_enabled = off);
         INSERT INTO session_product_list (product_id) SELECT g % 5000 FROM generate_series(1, 300000) g;",
    )
    .unwrap();
    c.batch_execute("VACUUM ANALYZE").unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain");
    for (name, gucs, options, sql) in plans() {
        let gucs: Vec<(String, String)> = gucs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        apply_gucs(&mut c, "public", &gucs).unwrap();
        let q = format!("EXPLAIN ({options}, FORMAT JSON) {sql}");
        let rows = c.simple_query(&q).unwrap();
        let text = rows
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .unwrap();
        std::fs::write(dir.join(format!("{name}.json")), format!("{text}\n")).unwrap();
        eprintln!("{name}");
    }
}
