//! The planner against a real PostgreSQL 15: Workers Planned (and the chosen plan's total
//! cost) of `SELECT count(*) FROM tN` over a grid of table sizes x
//! min_parallel_table_scan_size x max_parallel_workers_per_gather x the table's
//! `parallel_workers` option, and Workers Launched with `max_parallel_workers` lowered.
//!
//! Fails when PostgreSQL cannot be started, unless `PQSIM_SKIP_PG=1`.

use pqsim::guc::Settings;
use pqsim::model::{AggMode, Node, OutputMode, QueryProps, Scenario, Table};
use pqsim::pg::{probe, ExplainPlan, ThrowawayServer};
use pqsim::planner;
use std::time::Instant;

/// Test tables: name and row count. `(id int4, pad text)` with an 8-character pad is
/// ~185 rows per page, so these are ~160, ~1,080, ~3,240 and ~9,730 pages: on both
/// sides of the default thresholds (1,024 / 3,072 / 9,216 pages) and of the cost
/// break-even for one worker (~196,000 rows).
const TABLES: &[(&str, u32)] = &[
    ("t_30k", 30_000),
    ("t_200k", 200_000),
    ("t_600k", 600_000),
    ("t_1800k", 1_800_000),
];
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
            temporary: false,
        }
    }
}

fn scenario(table: Table, sets: &[(&str, String)]) -> Scenario {
    let mut settings = Settings::default();
    for (k, v) in sets {
        settings.set(k, v).unwrap();
    }
    Scenario {
        name: "count".into(),
        description: String::new(),
        tables: vec![table],
        settings,
        busy_worker_slots: 0,
        query: QueryProps {
            command: "select".into(),
            server_version: 15,
            ..Default::default()
        },
        output: OutputMode::ExplainAnalyze,
        plan: Node::Aggregate {
            mode: AggMode::Simple,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            input: Box::new(Node::SeqScan {
                table: 0,
                parallel: false,
                filter: None,
                width: 0.0,
            }),
        },
        pinned_workers: false,
    }
}

fn gather_of(plan: &ExplainPlan) -> (u32, Option<u32>) {
    plan.nodes()
        .find(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
        .map(|n| (n.workers_planned.unwrap_or(0), n.workers_launched))
        .unwrap_or((0, None))
}

fn sql(client: &mut postgres::Client, text: &str) {
    client
        .batch_execute(text)
        .unwrap_or_else(|e| match e.as_db_error() {
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
    let server = ThrowawayServer::start().unwrap_or_else(|e| {
        panic!("cannot start a throwaway PostgreSQL 15 ({e}); set PQSIM_SKIP_PG=1 to skip")
    });
    let mut client = server.client().expect("connect");
    let version = probe::show(&mut client, "server_version").unwrap();
    assert!(
        version.starts_with("15"),
        "expected PostgreSQL 15, got {version}"
    );

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
        let t = RealTable {
            name: name.to_string(),
            relpages: row.get(0),
            reltuples: row.get(1),
            curpages: row.get(2),
        };
        assert_eq!(
            t.relpages, t.curpages,
            "{name}: relpages is current after VACUUM"
        );
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
                Some(n) => sql(
                    &mut client,
                    &format!("ALTER TABLE {} SET (parallel_workers = {n})", t.name),
                ),
                None => sql(
                    &mut client,
                    &format!("ALTER TABLE {} RESET (parallel_workers)", t.name),
                ),
            }
            for min_scan in MIN_SCAN {
                for per_gather in PER_GATHER {
                    let sets = [
                        ("min_parallel_table_scan_size", min_scan.to_string()),
                        ("max_parallel_workers_per_gather", per_gather.to_string()),
                    ];
                    let refs: Vec<(&str, &str)> =
                        sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    probe::set_gucs(&mut client, &refs).unwrap();
                    let pg =
                        probe::explain(&mut client, &format!("SELECT count(*) FROM {}", t.name))
                            .unwrap();
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
        sql(
            &mut client,
            &format!("ALTER TABLE {} RESET (parallel_workers)", t.name),
        );
    }
    sql(
        &mut client,
        "RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather",
    );

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
            Some(n) => sql(
                &mut client,
                &format!("ALTER TABLE {} SET (parallel_workers = {n})", t.name),
            ),
            None => sql(
                &mut client,
                &format!("ALTER TABLE {} RESET (parallel_workers)", t.name),
            ),
        }
        let sets = [
            ("max_parallel_workers_per_gather", per_gather.to_string()),
            ("max_parallel_workers", max_pw.to_string()),
        ];
        let refs: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
        probe::set_gucs(&mut client, &refs).unwrap();
        let pg = probe::explain_with(
            &mut client,
            "ANALYZE, TIMING OFF",
            &format!("SELECT count(*) FROM {}", t.name),
        )
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
            pg_launched
                .map(|l| l.to_string())
                .unwrap_or_else(|| "-".into()),
            r.workers_launched,
            if ok { "ok" } else { "MISMATCH" }
        ));
        sql(
            &mut client,
            &format!("ALTER TABLE {} RESET (parallel_workers)", t.name),
        );
    }
    let grid = lines.join("\n");
    println!("{grid}");
    println!(
        "{points} grid points, {mismatches} mismatches, {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(client);
    server.stop().expect("stop server");
    assert_eq!(mismatches, 0, "planner disagrees with PostgreSQL:\n{grid}");
}
