//! The planner against a real PostgreSQL 15: Workers Planned (and the chosen plan's total
//! cost) of `SELECT count(*) FROM tN` over a grid of table sizes x
//! min_parallel_table_scan_size x max_parallel_workers_per_gather x the table's
//! `parallel_workers` option, and Workers Launched with `max_parallel_workers` lowered.
//!
//! Fails when PostgreSQL cannot be started, unless `PQSIM_SKIP_PG=1`.

use pqsim::model::{AggMode, Filter, Node, Scenario, SubPlan, Table};
use pqsim::pg::{probe, ExplainNode, ExplainPlan, ThrowawayServer};
use pqsim::planner;
use std::time::Instant;

/// Test tables: name and row count. `(id int4, pad text)` with an 8-character pad is
/// ~185 rows per page, so these are ~160, ~1,080, ~3,240 and ~9,730 pages: on both
/// sides of the default thresholds (1,024 / 3,072 / 9,216 pages) and of the cost
/// break-even for one worker (~196,000 rows).
const TABLES: &[(&str, u32)] = &[("t_30k", 30_000), ("t_200k", 200_000), ("t_600k", 600_000), ("t_1800k", 1_800_000)];
const MIN_SCAN: &[&str] = &["0", "64kB", "1MB", "8MB", "32MB"];
const PER_GATHER: &[u32] = &[0, 1, 2, 4, 8];
const OPTION: &[Option<u32>] = &[None, Some(0), Some(3), Some(6)];

fn skip_pg() -> bool {
    std::env::var("PQSIM_SKIP_PG").is_ok_and(|v| v == "1")
}

/// What the planner needs of one real table, read from the catalog.
struct RealTable {
    name: String,
    relpages: f64,
    reltuples: f64,
    curpages: f64,
}

impl RealTable {
    /// pqsim's table as PostgreSQL's `estimate_rel_size` sees it: pages = the current
    /// size in blocks, tuples = reltuples/relpages density times that.
    fn model(&self, option: Option<u32>) -> Table {
        let density = self.reltuples / self.relpages;
        Table {
            name: self.name.clone(),
            rows: (density * self.curpages).round_ties_even(),
            width: 13.0,
            pages: self.curpages,
            parallel_workers: option,
            index_pages: None,
            index: None,
            temporary: false,
            in_shared_buffers: None,
            buffers_in_order: None,
            buffer_windows: None,
            row_length_sd: None,
            row_stride_changes: None,
            columns: vec![],
        }
    }
}

fn count_star(table: usize) -> Node {
    Node::Aggregate {
        mode: AggMode::Simple,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        input: Box::new(Node::SeqScan { table, parallel: false, filter: None, width: 0.0, output: vec![] }),
        output: vec![],
    }
}

fn scenario(table: Table, sets: &[(&str, String)]) -> Scenario {
    scenario_with(vec![table], count_star(0), sets)
}

fn scenario_with(tables: Vec<Table>, plan: Node, sets: &[(&str, String)]) -> Scenario {
    let sets: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Scenario::build("count", tables, plan, &sets).unwrap()
}

/// Workers Planned / Launched of the main plan's Gather (not one inside a SubPlan).
fn gather_of(plan: &ExplainPlan) -> (u32, Option<u32>) {
    fn find(n: &ExplainNode) -> Option<&ExplainNode> {
        if n.node_type == "Gather" || n.node_type == "Gather Merge" {
            return Some(n);
        }
        n.plans
            .iter()
            .filter(|c| !matches!(c.parent_relationship.as_deref(), Some("SubPlan" | "InitPlan")))
            .find_map(find)
    }
    find(&plan.root).map(|n| (n.workers_planned.unwrap_or(0), n.workers_launched)).unwrap_or((0, None))
}

/// Workers Planned of the Gathers inside SubPlans, in plan order.
fn subplan_gathers(plan: &ExplainPlan) -> Vec<u32> {
    plan.nodes()
        .filter(|n| n.parent_relationship.as_deref() == Some("SubPlan"))
        .map(|sp| {
            sp.iter()
                .find(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
                .and_then(|g| g.workers_planned)
                .unwrap_or(0)
        })
        .collect()
}

fn sql(client: &mut postgres::Client, text: &str) {
    client.batch_execute(text).unwrap_or_else(|e| match e.as_db_error() {
        Some(db) => panic!("{text}: {}", db.message()),
        None => panic!("{text}: {e}"),
    });
}

#[test]
fn workers_planned_and_launched_match_postgres() {
    if skip_pg() {
        eprintln!("SKIPPED: PQSIM_SKIP_PG=1");
        return;
    }
    if let Some(why) = ThrowawayServer::unavailable_reason() {
        panic!(
            "cannot compare the planner with PostgreSQL: {why}. \
             Install it (scripts/pg-throwaway.sh install) or set PQSIM_SKIP_PG=1 to skip."
        );
    }
    let t0 = Instant::now();
    let server = ThrowawayServer::start()
        .unwrap_or_else(|e| panic!("cannot start a throwaway PostgreSQL 15 ({e}); set PQSIM_SKIP_PG=1 to skip"));
    let mut client = server.client().expect("connect");
    let version = probe::show(&mut client, "server_version").unwrap();
    assert!(version.starts_with("15"), "expected PostgreSQL 15, got {version}");

    // Load: unlogged (no WAL; parallel-safe unlike temporary tables), no autovacuum.
    for (name, rows) in TABLES {
        sql(
            &mut client,
            &format!(
                "CREATE UNLOGGED TABLE {name} (id int4, pad text) WITH (autovacuum_enabled = off);
                 INSERT INTO {name} SELECT i, 'xxxxxxxx' FROM generate_series(1, {rows}) i;"
            ),
        );
        // VACUUM refuses to run inside the implicit transaction of a multi-statement query.
        sql(&mut client, &format!("VACUUM (ANALYZE) {name}"));
    }
    eprintln!("server + load: {:.1} s", t0.elapsed().as_secs_f64());
    let mut tables = vec![];
    for (name, _) in TABLES {
        let row = client
            .query_one(
                "SELECT relpages::float8, reltuples::float8, \
                 (pg_relation_size(oid) / current_setting('block_size')::int8)::float8 \
                 FROM pg_class WHERE relname = $1",
                &[name],
            )
            .unwrap();
        let t = RealTable { name: name.to_string(), relpages: row.get(0), reltuples: row.get(1), curpages: row.get(2) };
        assert_eq!(t.relpages, t.curpages, "{name}: relpages is current after VACUUM");
        tables.push(t);
    }

    // Workers Planned grid.
    let mut lines = vec![format!(
        "{:<8} {:>6} {:>9} {:>8} {:>6} | {:>6} {:>6} | {:>12} {:>12} | ok",
        "table", "pages", "min_scan", "per_gth", "option", "PG", "pqsim", "PG cost", "pqsim cost"
    )];
    let mut mismatches = 0;
    let mut points = 0;
    for t in &tables {
        for option in OPTION {
            match option {
                Some(n) => sql(&mut client, &format!("ALTER TABLE {} SET (parallel_workers = {n})", t.name)),
                None => sql(&mut client, &format!("ALTER TABLE {} RESET (parallel_workers)", t.name)),
            }
            for min_scan in MIN_SCAN {
                for per_gather in PER_GATHER {
                    let sets = [
                        ("min_parallel_table_scan_size", min_scan.to_string()),
                        ("max_parallel_workers_per_gather", per_gather.to_string()),
                    ];
                    let refs: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    probe::set_gucs(&mut client, &refs).unwrap();
                    let pg = probe::explain(&mut client, &format!("SELECT count(*) FROM {}", t.name)).unwrap();
                    let (pg_planned, _) = gather_of(&pg);
                    let pg_cost = pg.root.total_cost;
                    let r = planner::plan(&scenario(t.model(*option), &sets));
                    let ours_cost = (r.costed.total * 100.0).round() / 100.0;
                    let ok = r.workers_planned == pg_planned && (ours_cost - pg_cost).abs() < 0.015;
                    points += 1;
                    if !ok {
                        mismatches += 1;
                    }
                    lines.push(format!(
                        "{:<8} {:>6} {:>9} {:>8} {:>6} | {:>6} {:>6} | {:>12.2} {:>12.2} | {}",
                        t.name,
                        t.curpages,
                        min_scan,
                        per_gather,
                        option.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                        pg_planned,
                        r.workers_planned,
                        pg_cost,
                        ours_cost,
                        if ok { "ok" } else { "MISMATCH" }
                    ));
                }
            }
        }
        sql(&mut client, &format!("ALTER TABLE {} RESET (parallel_workers)", t.name));
    }
    sql(&mut client, "RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather");

    // Workers Launched: planned 8 (table option 8, per-gather 8) or less, with
    // max_parallel_workers lowered; max_worker_processes stays 8 with the logical
    // replication launcher holding one slot.
    lines.push(String::new());
    lines.push(format!(
        "{:<8} {:>6} {:>8} {:>8} | {:>10} {:>10} | {:>10} {:>10} | ok",
        "table", "option", "per_gth", "max_pw", "PG plan", "pqsim plan", "PG launch", "pqsim lnch"
    ));
    let launch_grid: &[(usize, Option<u32>, u32, u32)] = &[
        (1, Some(8), 8, 8),
        (1, Some(8), 8, 5),
        (1, Some(8), 8, 3),
        (1, Some(8), 8, 0),
        (1, Some(4), 4, 8),
        (3, None, 2, 1),
        (3, None, 4, 2),
    ];
    for &(ti, option, per_gather, max_pw) in launch_grid {
        let t = &tables[ti];
        match option {
            Some(n) => sql(&mut client, &format!("ALTER TABLE {} SET (parallel_workers = {n})", t.name)),
            None => sql(&mut client, &format!("ALTER TABLE {} RESET (parallel_workers)", t.name)),
        }
        let sets =
            [("max_parallel_workers_per_gather", per_gather.to_string()), ("max_parallel_workers", max_pw.to_string())];
        let refs: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
        probe::set_gucs(&mut client, &refs).unwrap();
        let pg = probe::explain_with(&mut client, "ANALYZE, TIMING OFF", &format!("SELECT count(*) FROM {}", t.name))
            .unwrap();
        let (pg_planned, pg_launched) = gather_of(&pg);
        let r = planner::plan(&scenario(t.model(option), &sets));
        let ok = pg_planned == r.workers_planned && pg_launched == Some(r.workers_launched);
        points += 1;
        if !ok {
            mismatches += 1;
        }
        lines.push(format!(
            "{:<8} {:>6} {:>8} {:>8} | {:>10} {:>10} | {:>10} {:>10} | {}",
            t.name,
            option.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
            per_gather,
            max_pw,
            pg_planned,
            r.workers_planned,
            pg_launched.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
            r.workers_launched,
            if ok { "ok" } else { "MISMATCH" }
        ));
        sql(&mut client, &format!("ALTER TABLE {} RESET (parallel_workers)", t.name));
    }
    shapes(&mut client, &tables, &mut lines, &mut points, &mut mismatches);
    let grid = lines.join("\n");
    println!("{grid}");
    println!("{points} grid points, {mismatches} mismatches, {:.1} s", t0.elapsed().as_secs_f64());
    drop(client);
    server.stop().expect("stop server");
    assert_eq!(mismatches, 0, "planner disagrees with PostgreSQL:\n{grid}");
}

fn filter(operators: f64, selectivity: f64) -> Option<Filter> {
    Some(Filter { text: String::new(), selectivity, operators, subplan: None, reach: vec![] })
}

fn scan(table: usize, filter: Option<Filter>, width: f64) -> Node {
    Node::SeqScan { table, parallel: false, filter, width, output: vec![] }
}

fn sort(input: Node) -> Node {
    Node::Sort { keys: vec!["id".into()], input: Box::new(input) }
}

fn limit(count: f64, input: Node) -> Node {
    Node::Limit { count, input: Box::new(input) }
}

/// Other plan shapes on the two largest tables, at max_parallel_workers_per_gather = 4:
/// Workers Planned and the total cost (to the cent) must match. Selectivities and join
/// sizes are PostgreSQL's own estimates, read from its serial plan.
fn shapes(
    client: &mut postgres::Client,
    tables: &[RealTable],
    lines: &mut Vec<String>,
    points: &mut usize,
    mismatches: &mut usize,
) {
    let (big, mid, small) = (&tables[3], &tables[2], &tables[1]);
    let model = vec![big.model(None), mid.model(None), small.model(None)];
    let tuples = model[0].rows;
    // PostgreSQL's row estimate of the first scan / join node of the serial plan.
    let mut serial_rows = |sql: &str, node: &str| -> f64 {
        probe::set_gucs(client, &[("max_parallel_workers_per_gather", "0")]).unwrap();
        let p = probe::explain(client, sql).unwrap();
        p.nodes().find(|n| n.node_type == node).unwrap_or_else(|| panic!("no {node} in the plan of {sql}")).plan_rows
    };
    let b = &big.name;
    let m = &mid.name;
    let sm = &small.name;
    let lt = format!("SELECT count(*) FROM {b} WHERE id < 900000");
    let sel_lt = serial_rows(&lt, "Seq Scan") / tuples;
    let md = format!("SELECT id FROM {b} WHERE id % 1000 = 0");
    let sel_md = serial_rows(&md, "Seq Scan") / tuples;
    let sub_sql = format!("SELECT id FROM {b} WHERE id < 9000");
    let sub_rows = serial_rows(&sub_sql, "Seq Scan");
    let join = format!("SELECT count(*) FROM {b} a JOIN {m} b ON a.id = b.id");
    let join_rows = serial_rows(&join, "Hash Join");
    let join_f = format!("SELECT count(*) FROM {b} a JOIN {m} b ON a.id = b.id WHERE a.id % 10 = 0");
    let join_f_rows = serial_rows(&join_f, "Hash Join");
    let hash_join = |outer: Node, rows: f64, outer_rows: f64| Node::HashJoin {
        join_type: pqsim::model::JoinType::Inner,
        parallel: false,
        rows_per_outer: rows / outer_rows,
        width: 0.0,
        outer: Box::new(outer),
        inner: Box::new(scan(1, None, 4.0)),
        cond: "(a.id = b.id)".into(),
        output: vec![],
    };
    let count = |input: Node| Node::Aggregate {
        mode: AggMode::Simple,
        groups: 1.0,
        aggregates: 1.0,
        width: 8.0,
        input: Box::new(input),
        output: vec![],
    };
    // x NOT IN (SELECT id FROM sub): the testexpr `=` is the filter's one operator,
    // NOT of a SubPlan is estimated at selectivity 0.5.
    let not_in = |outer: usize, sub: usize, rows: f64| {
        count(scan(
            outer,
            Some(Filter {
                text: String::new(),
                selectivity: 0.5,
                operators: 1.0,
                subplan: Some(SubPlan {
                    table: sub,
                    width: 4.0,
                    rows,
                    text: String::new(),
                    hashed: false,
                    gather_workers: None,
                    keys: None,
                }),
                reach: vec![],
            }),
            0.0,
        ))
    };
    let cases: Vec<(String, Node)> = vec![
        (format!("SELECT count(*) FROM {b} WHERE id NOT IN (SELECT id FROM {sm})"), not_in(0, 2, model[2].rows)),
        (format!("SELECT count(*) FROM {m} WHERE id NOT IN (SELECT id FROM {b})"), not_in(1, 0, tuples)),
        // A subquery selective enough for its own Gather: the outer scan stays serial
        // (reference §7.4). pqsim's SubPlan filter has one operator, like `id < 9000`.
        (format!("SELECT count(*) FROM {m} WHERE id NOT IN ({sub_sql})"), not_in(1, 0, sub_rows)),
        (lt.clone(), count(scan(0, filter(1.0, sel_lt), 0.0))),
        (md.clone(), scan(0, filter(2.0, sel_md), 4.0)),
        (format!("SELECT id, pad FROM {b}"), scan(0, None, 13.0)),
        (format!("{md} ORDER BY id"), sort(scan(0, filter(2.0, sel_md), 4.0))),
        (format!("{md} ORDER BY id LIMIT 10"), limit(10.0, sort(scan(0, filter(2.0, sel_md), 4.0)))),
        (format!("SELECT id FROM {b} WHERE id < 900000 ORDER BY id"), sort(scan(0, filter(1.0, sel_lt), 4.0))),
        (format!("SELECT id FROM {b} ORDER BY id LIMIT 10"), limit(10.0, sort(scan(0, None, 4.0)))),
        (join.clone(), count(hash_join(scan(0, None, 4.0), join_rows, tuples))),
        (join_f.clone(), count(hash_join(scan(0, filter(2.0, sel_md), 4.0), join_f_rows, (tuples * sel_md).round()))),
    ];
    lines.push(String::new());
    lines.push(format!(
        "{:<78} | {:>3} {:>5} | {:>10} {:>10} | ok",
        "query (max_parallel_workers_per_gather = 4)", "PG", "pqsim", "PG cost", "pqsim cost"
    ));
    let sets = [("max_parallel_workers_per_gather", "4".to_string())];
    for (sql, plan) in cases {
        probe::set_gucs(client, &[("max_parallel_workers_per_gather", "4")]).unwrap();
        let pg = probe::explain(client, &sql).unwrap();
        let (pg_w, _) = gather_of(&pg);
        let r = planner::plan(&scenario_with(model.clone(), plan, &sets));
        let ours = (r.costed.total * 100.0).round() / 100.0;
        let pg_cost = pg.root.total_cost;
        let workers_ok = pg_w == r.workers_planned && subplan_gathers(&pg) == r.subplan_workers_planned;
        let cost_ok = (ours - pg_cost).abs() < 0.015;
        let verdict = if workers_ok && cost_ok { "ok" } else { "MISMATCH" };
        *points += 1;
        if !(workers_ok && cost_ok) {
            *mismatches += 1;
        }
        lines.push(format!(
            "{:<78} | {:>3} {:>5} | {:>10.2} {:>10.2} | {verdict}",
            sql, pg_w, r.workers_planned, pg_cost, ours
        ));
    }
    probe::set_gucs(client, &[("max_parallel_workers_per_gather", "2")]).unwrap();
}
