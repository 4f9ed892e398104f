//! Every plan PostgreSQL 15 chooses for the validation workload, at 0 to 8 workers with the
//! leader participating and without it, imports (with the server's catalog, as `import --dsn`
//! does) and runs. A real throwaway server; skipped (loudly) where PostgreSQL 15 cannot run.

mod common;

use pqsim::import::{import_plan, ImportOptions};
use pqsim::pg::protocol::apply_gucs;
use pqsim::pg::{catalog, clauses, probe, ThrowawayServer};
use pqsim::validation::workload::{cases, load_sql, rows, Scale, Workload};
use std::collections::BTreeSet;

#[test]
fn every_plan_postgresql_chooses_for_the_validation_workload_at_0_to_8_workers_imports_and_runs() {
    if !common::pg_or_skip(
        "every_plan_postgresql_chooses_for_the_validation_workload_at_0_to_8_workers_imports_and_runs",
    ) {
        return;
    }
    let server = ThrowawayServer::start().expect("start throwaway server");
    let mut client = server.client().expect("connect");
    let r = rows(Scale::Small);
    for sql in load_sql(Workload::Tpch, &r) {
        client.batch_execute(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let stats = catalog::catalog_stats(&mut client, "public").expect("catalog");
    let src = pqsim::config::hardware_source("reference-2vcpu").expect("profile");
    let hw = pqsim::config::load_hardware_str(&src.label, &src.text, &[]).expect("profile");
    let mut shapes = BTreeSet::new();
    let mut points = 0;
    for c in cases(Workload::Tpch) {
        for w in 0..=8u32 {
            for leader in ["on", "off"] {
                let mut gucs = vec![
                    ("max_parallel_workers_per_gather".to_string(), w.to_string()),
                    ("parallel_setup_cost".to_string(), "0".to_string()),
                    ("parallel_tuple_cost".to_string(), "0".to_string()),
                    ("parallel_leader_participation".to_string(), leader.to_string()),
                ];
                gucs.extend(c.gucs.iter().cloned());
                apply_gucs(&mut client, "public", &gucs).expect("settings");
                let plan = probe::explain_with(&mut client, "VERBOSE, SETTINGS", c.sql).expect("explain");
                let opts = ImportOptions {
                    name: format!("{}_w{w}_{leader}", c.id),
                    source: c.sql.to_string(),
                    sql: c.sql.to_string(),
                    table_stats: stats.clone(),
                    client_output: true,
                    costs_from_actuals: None,
                    actuals_plan: None,
                    clause_reach: clauses::clause_reach(&mut client, &plan),
                };
                let what = format!("{} at W={w}, leader {leader}: {}", c.id, pqsim::validation::plan_shape(&plan.root));
                let imported = import_plan(&plan, &opts).unwrap_or_else(|e| panic!("{what}: import: {e}"));
                let sc = imported.scenario.with_hardware_settings(&hw);
                let p =
                    pqsim::predict::run_scenario(&sc, &hw, 1, 1, false).unwrap_or_else(|e| panic!("{what}: run: {e}"));
                assert!(p.summary.mean > 0.0 && p.summary.mean.is_finite(), "{what}: {}", p.summary.mean);
                shapes.insert(pqsim::validation::plan_shape(&plan.root));
                points += 1;
            }
        }
    }
    // The grid really spans serial and parallel plans (Gather and Gather Merge).
    assert_eq!(points, cases(Workload::Tpch).len() * 18);
    assert!(shapes.iter().any(|s| s.contains("Gather Merge")) && shapes.iter().any(|s| s.contains("Gather[")));
    assert!(shapes.iter().any(|s| !s.contains("Gather")), "{shapes:?}");
    eprintln!("{points} points, {} plan shapes", shapes.len());
    server.stop().unwrap();
}
