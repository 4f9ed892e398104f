//! The validation workload: the tables loaded into the throwaway server and the grid of
//! queries (query × workers × leader participation).

use crate::pg::protocol::SPEEDREF_SETUP;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// tpch: 60k orders / 240k lineitem rows; reference: t 1M rows; seed tables 600k / 800k:
    /// a few minutes on 2 cores (the test's scale).
    Small,
    /// tpch: 300k orders / 1.2M lineitem rows; reference: t 3M rows (the reference's table);
    /// seed tables 1.6M / 2M (a fifth of the seed).
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

/// Which grid `pqsim validate` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// TPC-H-like lineitem/orders/part (Q1-, Q6-, Q12-, Q14-like), the seed NOT IN and its
    /// NOT EXISTS rewrite, a leader-bound Gather, count(*): not the calibration's tables.
    Tpch,
    /// The narrow reference table `t`, a dimension and the seed's tables (the first grid).
    Reference,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Tpch => "tpch",
            Workload::Reference => "reference",
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

/// The grid of a workload.
pub fn cases(w: Workload) -> Vec<Case> {
    match w {
        Workload::Tpch => tpch_cases(),
        Workload::Reference => reference_cases(),
    }
}

const SEED_NOT_IN: &str =
    "SELECT count(*) FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list)";
const SEED_NOT_EXISTS: &str = "SELECT count(*) FROM user_session_history h WHERE NOT EXISTS (SELECT 1 FROM session_product_list s WHERE s.id = h.session_id)";

fn tpch_cases() -> Vec<Case> {
    use super::tpch;
    let case = |id, what, sql, gucs: Vec<(String, String)>| Case {
        id,
        what,
        sql,
        gucs,
        workers_on: vec![0, 1, 2, 3, 4],
        workers_off: vec![1, 2, 3, 4],
    };
    let seed_mem = vec![("work_mem".to_string(), "256MB".to_string())];
    vec![
        case("q1", "Q1-like: numeric sums over most of lineitem, grouped", tpch::Q1, vec![]),
        case("q6", "Q6-like: date and numeric filters, one numeric sum", tpch::Q6, vec![]),
        case("q12", "Q12-like: orders x lineitem, date and char filters", tpch::Q12, vec![]),
        case("q14", "Q14-like: lineitem x part for a month, LIKE", tpch::Q14, vec![]),
        case("not_in", "seed NOT IN: hashed SubPlan", SEED_NOT_IN, seed_mem.clone()),
        case("not_exists", "seed NOT EXISTS rewrite: hash anti join", SEED_NOT_EXISTS, seed_mem),
        case("gather_bound", "every lineitem row through the Gather, the leader sums", tpch::GATHER_BOUND, vec![]),
        case("count", "count(*) of lineitem", tpch::COUNT, vec![]),
    ]
}

fn reference_cases() -> Vec<Case> {
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
    pub orders: u64,
    pub parts: u64,
    pub t: u64,
    pub dim: u64,
    pub ush: u64,
    pub spl: u64,
}

pub fn rows(scale: Scale) -> Rows {
    match scale {
        // ush/spl stay above shared_buffers/4 (4,096 pages): read through the ring, "warm".
        // lineitem (4 rows per order, ~130 bytes a row) stays above shared_buffers/4 too.
        Scale::Small => Rows { orders: 60_000, parts: 8_000, t: 1_000_000, dim: 100_000, ush: 600_000, spl: 800_000 },
        Scale::Default => {
            Rows { orders: 300_000, parts: 40_000, t: 3_000_000, dim: 100_000, ush: 1_600_000, spl: 2_000_000 }
        }
    }
}

/// The tables of a workload, then the speed reference's table and `VACUUM ANALYZE`.
pub fn load_sql(w: Workload, r: &Rows) -> Vec<String> {
    let mut v = match w {
        Workload::Tpch => super::tpch::load_sql(r.orders, r.parts),
        Workload::Reference => reference_sql(r),
    };
    v.extend(seed_sql(r));
    v.push(SPEEDREF_SETUP.into());
    v.push("VACUUM ANALYZE".into());
    v
}

/// A one-line description of the data, for the report.
pub fn describe(w: Workload, r: &Rows) -> String {
    let seed = format!(
        "`user_session_history` {} rows (parallel_workers = 4), `session_product_list` {} rows (parallel_workers = 0)",
        r.ush, r.spl
    );
    match w {
        Workload::Tpch => format!(
            "TPC-H-like `orders` {} rows, `lineitem` {} rows, `part` {} rows (TPC-H's column types, deterministic SQL), {seed}",
            r.orders,
            4 * r.orders,
            r.parts
        ),
        Workload::Reference => format!(
            "`t` {} rows (id int4, val int4, md5 text; parallel_workers = 4), `dim` {} rows, {seed}",
            r.t, r.dim
        ),
    }
}

fn reference_sql(r: &Rows) -> Vec<String> {
    vec![
        // The reference's test table (docs/sources.md#postgresql, tests/pg_server.rs).
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
    ]
}

fn seed_sql(r: &Rows) -> Vec<String> {
    vec![
        // The seed's DDL and data generator (docs/sources.md#seed-not-in), fewer rows. The subquery's
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
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_every_case_and_setting() {
        let c = cases(Workload::Reference);
        assert!(c.iter().all(|c| c.workers_on.first() == Some(&0)));
        let n: usize = c.iter().map(|c| c.workers_on.len() + c.workers_off.len()).sum();
        assert_eq!(n, 7 * 9 + 2);
        let c = cases(Workload::Tpch);
        let n: usize = c.iter().map(|c| c.workers_on.len() + c.workers_off.len()).sum();
        assert_eq!(n, 8 * 9);
        assert!(rows(Scale::Small).ush as f64 / 120.0 > 4096.0, "seed table stays above shared_buffers/4");
    }
}
