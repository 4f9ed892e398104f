//! The validation workload: the tables loaded into the throwaway server and the grid of
//! queries (query × workers × leader participation).

use crate::pg::protocol::SPEEDREF_SETUP;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// t 1M rows, seed tables 600k / 800k: a few minutes on 2 cores (the test's scale).
    Small,
    /// t 3M rows (the reference's table), seed tables 1.6M / 2M (a fifth of the seed).
    Default,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Default => "default",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub id: &'static str,
    pub what: &'static str,
    pub sql: &'static str,
    pub gucs: Vec<(String, String)>,
    /// Workers to try with leader participation on, and off.
    pub workers_on: Vec<u32>,
    pub workers_off: Vec<u32>,
}

pub fn cases() -> Vec<Case> {
    let all_on = vec![0, 1, 2, 3, 4];
    let all_off = vec![1, 2, 3, 4];
    let seed_mem = vec![("work_mem".to_string(), "256MB".to_string())];
    vec![
        Case {
            id: "scan_agg",
            what: "scan + aggregate (Partial/Finalize)",
            sql: "SELECT sum(val) FROM t",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "count",
            what: "count(*)",
            sql: "SELECT count(*) FROM t",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "gather_heavy",
            what: "every row through the Gather, leader aggregates",
            sql: "SELECT sum(x) FROM (SELECT val AS x FROM t OFFSET 0) s",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "not_in",
            what: "seed NOT IN, hashed SubPlan in every participant",
            sql: "SELECT count(*) FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list)",
            gucs: seed_mem.clone(),
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "not_exists",
            what: "seed NOT EXISTS rewrite: hash anti join",
            sql: "SELECT count(*) FROM user_session_history h WHERE NOT EXISTS (SELECT 1 FROM session_product_list s WHERE s.id = h.session_id)",
            gucs: seed_mem.clone(),
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "hash_join_agg",
            what: "hash join t x dim, grouped aggregate via Gather Merge",
            sql: "SELECT d.grp, count(*), sum(t.val) FROM t JOIN dim d ON d.id = t.val GROUP BY d.grp",
            gucs: vec![],
            workers_on: all_on.clone(),
            workers_off: all_off.clone(),
        },
        Case {
            id: "order_limit",
            what: "ORDER BY ... LIMIT 100 via Gather Merge",
            sql: "SELECT id, val FROM t ORDER BY val LIMIT 100",
            gucs: vec![],
            workers_on: all_on,
            workers_off: all_off,
        },
        Case {
            id: "seed_exact",
            what: "the seed query as written (PG15 plans it serially)",
            sql: "SELECT company_id, package_id, stock_id FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list) ORDER BY id ASC LIMIT 80",
            gucs: seed_mem,
            workers_on: vec![0, 2],
            workers_off: vec![],
        },
    ]
}

pub struct Rows {
    pub t: u64,
    pub dim: u64,
    pub ush: u64,
    pub spl: u64,
}

pub fn rows(scale: Scale) -> Rows {
    match scale {
        // ush/spl stay above shared_buffers/4 (4,096 pages): read through the ring, "warm".
        Scale::Small => Rows { t: 1_000_000, dim: 100_000, ush: 600_000, spl: 800_000 },
        Scale::Default => Rows { t: 3_000_000, dim: 100_000, ush: 1_600_000, spl: 2_000_000 },
    }
}

pub fn load_sql(r: &Rows) -> Vec<String> {
    vec![
        // The reference's test table (shared/reference, tests/pg_server.rs).
        format!(
            "CREATE TABLE t (id int4, val int4, pad text) WITH (autovacuum_enabled = off, parallel_workers = 4);
             INSERT INTO t SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000, md5(g::text) FROM generate_series(1, {}) g;",
            r.t
        ),
        format!(
            "CREATE TABLE dim (id int4 PRIMARY KEY, grp int4, name text) WITH (autovacuum_enabled = off);
             INSERT INTO dim SELECT g, g % 100, 'name ' || g FROM generate_series(0, {}) g;",
            r.dim - 1
        ),
        // The seed's DDL and data generator (shared/seeds/000), fewer rows. The subquery's
        // table gets parallel_workers = 0 so that its SubPlan stays serial and the outer scan
        // can be parallel (the plan the seed article depicts; a Gather inside a SubPlan is
        // not modelled).
        format!(
            "CREATE TABLE user_session_history (id BIGSERIAL PRIMARY KEY, company_id INT, package_id INT, stock_id INT,
                 session_id BIGINT, created_at TIMESTAMP DEFAULT now()) WITH (autovacuum_enabled = off, parallel_workers = 4);
             INSERT INTO user_session_history (company_id, package_id, stock_id, session_id)
               SELECT (random()*10)::int, (random()*100)::int, (random()*1000)::int, gs FROM generate_series(1, {}) gs;",
            r.ush
        ),
        format!(
            "CREATE TABLE session_product_list (id BIGSERIAL PRIMARY KEY, product_id INT, created_at TIMESTAMP DEFAULT now())
                 WITH (autovacuum_enabled = off, parallel_workers = 0);
             INSERT INTO session_product_list (product_id) SELECT (random()*5000)::int FROM generate_series(1, {});",
            r.spl
        ),
        SPEEDREF_SETUP.into(),
        "VACUUM ANALYZE".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_every_case_and_setting() {
        let c = cases();
        assert!(c.iter().all(|c| c.workers_on.first() == Some(&0)));
        let n: usize = c.iter().map(|c| c.workers_on.len() + c.workers_off.len()).sum();
        assert_eq!(n, 7 * 9 + 2);
        assert!(rows(Scale::Small).ush as f64 / 120.0 > 4096.0, "seed table stays above shared_buffers/4");
    }
}
