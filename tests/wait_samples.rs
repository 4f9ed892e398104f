//! `run --wait-samples`: pg_wait_sampling-style rows with PostgreSQL's names, one per process
//! per period, and `wait_event_profile` in the JSON counting the same samples. The seed query
//! shows the article's picture (workers in IPC/MessageQueueSend, the leader on CPU); a partial
//! aggregate's workers are on CPU.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

struct Run {
    rows: Vec<Vec<String>>,
    json: Value,
}

fn run(scenario: &str, period: &str) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("w.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .arg("run")
        .arg(root.join("configs/scenarios").join(scenario))
        .args(["--replications", "3", "--format", "json", "--sample-period", period, "--wait-samples"])
        .arg(&csv)
        .output()
        .expect("run pqsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).expect("csv written");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sample_ms,pid,backend_type,wait_event_type,wait_event"));
    let rows = lines.map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>()).collect();
    Run { rows, json: serde_json::from_slice(&out.stdout).expect("json") }
}

/// Share of a backend type's samples in `event` ("" = CPU).
fn share(rows: &[Vec<String>], backend: &str, event: &str) -> f64 {
    let mine: Vec<_> = rows.iter().filter(|r| r[2] == backend).collect();
    mine.iter().filter(|r| r[4] == event).count() as f64 / mine.len().max(1) as f64
}

#[test]
fn the_seed_query_shows_workers_in_message_queue_send_and_the_leader_on_cpu() {
    let r = run("seed-not-in.toml", "10");
    assert!(share(&r.rows, "parallel worker", "MessageQueueSend") > 0.5);
    assert!(share(&r.rows, "client backend", "") > 0.5);
    // Every row: PostgreSQL's names only; one row per process per sample time.
    let known = [
        "",
        "MessageQueueSend",
        "ExecuteGather",
        "MessageQueueReceive",
        "DataFileRead",
        "HashBuildHashInner",
        "ParallelFinish",
    ];
    let mut per_time: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &r.rows {
        assert!(["client backend", "parallel worker"].contains(&row[2].as_str()), "{row:?}");
        assert!(known.contains(&row[4].as_str()), "{row:?}");
        assert_eq!(row[3].is_empty(), row[4].is_empty(), "{row:?}");
        *per_time.entry((row[0].clone(), row[1].clone())).or_default() += 1;
    }
    assert!(per_time.values().all(|n| *n == 1), "a process sampled twice at one time");
    // Leader first: the lowest pid is the client backend.
    let leader = r.rows.iter().filter(|x| x[2] == "client backend").map(|x| x[1].parse::<u32>().unwrap()).min();
    let worker = r.rows.iter().filter(|x| x[2] == "parallel worker").map(|x| x[1].parse::<u32>().unwrap()).min();
    assert!(leader < worker);
    // Sample times are multiples of the period, within the representative run's wall time.
    let wall = r.json["representative_wall_time_ms"].as_f64().unwrap();
    for row in &r.rows {
        let t: f64 = row[0].parse().unwrap();
        assert!(t < wall && (t / 10.0 - (t / 10.0).round()).abs() < 1e-6, "{row:?}");
    }
    // The JSON profile counts the same samples.
    let profile = r.json["wait_event_profile"].as_array().expect("profile");
    let total: u64 = profile.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, r.rows.len());
    let send: u64 =
        profile.iter().filter(|e| e["wait_event"] == "MessageQueueSend").map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(send as usize, r.rows.iter().filter(|x| x[4] == "MessageQueueSend").count());
    assert!(profile.iter().all(|e| e["wait_event"].is_null() == e["wait_event_type"].is_null()));
}

#[test]
fn partial_aggregate_workers_are_on_cpu_and_the_period_is_honoured() {
    let r = run("testpar-count.toml", "1");
    assert!(share(&r.rows, "parallel worker", "") > 0.5);
    let wall = r.json["representative_wall_time_ms"].as_f64().unwrap();
    let procs = 1.0 + r.json["workers_launched"].as_u64().unwrap() as f64;
    // About one row per process per ms (workers exist for part of the run only).
    assert!(r.rows.len() as f64 <= procs * (wall + 1.0));
    assert!(r.rows.len() as f64 >= wall * 0.5, "{} rows for {wall} ms", r.rows.len());
}

#[test]
fn a_period_too_small_for_the_run_widens_with_a_note_and_a_zero_period_is_bad_input() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .arg("run")
        .arg(root.join("configs/scenarios/seed-not-in.toml"))
        .args(["--replications", "1", "--sample-period", "0.001", "--format", "json"])
        .output()
        .expect("run pqsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("instead of 0.001 ms"), "{err}");
    let j: Value = serde_json::from_slice(&out.stdout).expect("json");
    // The period used is reported, and the samples stay bounded.
    let used = j["wait_sample_period_ms"].as_f64().expect("period");
    assert!(used > 0.001, "{used}");
    let total: u64 = j["wait_event_profile"].as_array().unwrap().iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert!(total <= 5_000_000, "{total}");
    let bad = Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .arg("run")
        .arg(root.join("configs/scenarios/testpar-count.toml"))
        .args(["--sample-period", "0"])
        .output()
        .expect("run pqsim");
    assert_eq!(bad.status.code(), Some(2));
}

/// A sort that spills (work_mem 1MB, 100 MB of rows in each of 2 workers) under a Gather
/// Merge, on a profile that prices temp pages: the workers' samples show `IO`/`BufFileWrite`
/// (writing the sorted runs) before `IO`/`BufFileRead` (reading them back to merge), with
/// PostgreSQL's names, and the same counts in `wait_event_profile`. With work_mem large
/// enough to sort in memory there are none.
#[test]
fn a_spilling_sort_shows_buffile_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = dir.path().join("spill.toml");
    std::fs::write(
        &sc,
        r#"name = "spill"
sql = "SELECT * FROM t ORDER BY a"
[[table]]
name = "t"
rows = 2000000
width = 100
[plan]
node = "Gather Merge"
[plan.input]
node = "Sort"
keys = ["t.a"]
[plan.input.input]
node = "Seq Scan"
parallel = true
table = "t"
"#,
    )
    .unwrap();
    let spill = |work_mem: &str| {
        let csv = dir.path().join(format!("w-{work_mem}.csv"));
        let out = Command::new(env!("CARGO_BIN_EXE_pqsim"))
            .arg("run")
            .arg(&sc)
            .args(["--replications", "1", "--format", "json", "--hw", "costs.temp_page_ns=5000"])
            .args(["--set", &format!("work_mem={work_mem}"), "--set", "max_parallel_workers_per_gather=2"])
            .arg("--wait-samples")
            .arg(&csv)
            .output()
            .expect("run pqsim");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&csv).expect("csv");
        let rows: Vec<Vec<String>> = text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();
        (rows, serde_json::from_slice::<Value>(&out.stdout).expect("json"))
    };
    let (rows, json) = spill("1MB");
    let first = |ev: &str| {
        rows.iter()
            .filter(|r| r[2] == "parallel worker" && r[3] == "IO" && r[4] == ev)
            .map(|r| r[0].parse::<f64>().unwrap())
            .fold(f64::INFINITY, f64::min)
    };
    let (w, r) = (first("BufFileWrite"), first("BufFileRead"));
    assert!(w.is_finite() && r.is_finite(), "no BufFile samples: write {w}, read {r}");
    assert!(w < r, "runs are written ({w} ms) before they are read back ({r} ms)");
    let profile = json["wait_event_profile"].as_array().expect("profile");
    let counted: u64 = profile
        .iter()
        .filter(|e| e["wait_event"].as_str().is_some_and(|e| e.starts_with("BufFile")))
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    let sampled = rows.iter().filter(|r| r[4].starts_with("BufFile")).count() as u64;
    assert_eq!(counted, sampled);
    let (rows, _) = spill("1GB");
    assert!(rows.iter().all(|r| !r[4].starts_with("BufFile")), "an in-memory sort has no temp files");
}

// ---------------------------------------------------------------- the streaming sampler

use pqsim::config::{self, WhatIf};
use pqsim::exec::{simulate, RunSpec, SimResult};
use pqsim::model::{Hardware, Node, Scenario};
use pqsim::report::waits;

fn load(scenario: &str, hardware: &str, table: &[(&str, &str)]) -> (Scenario, Hardware) {
    let w = WhatIf {
        table: table.iter().map(|(k, v)| format!("{k}={v}").parse().expect("a table what-if")).collect(),
        ..Default::default()
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    config::load(&root.join("configs/scenarios").join(scenario), hardware, &w).expect("shipped scenario loads")
}

/// One replication with the streaming sampler (every row kept) and, when `trace`, a trace.
fn sampled(sc: &Scenario, hw: &Hardware, seed: u64, period_ns: u64, ff: bool, trace: bool) -> SimResult {
    let d = pqsim::planner::decide(sc);
    let spec = RunSpec {
        trace,
        fast_forward: ff,
        wait_sample_period: Some(period_ns),
        wait_sample_rows: trace.then_some(usize::MAX),
        ..RunSpec::new(sc, hw, &d.plan, d.workers_planned, d.workers_launched, seed)
    };
    simulate(&spec).unwrap_or_else(|e| panic!("{}: {e}", sc.name)).1
}

/// The samples counted as the run went (no trace) are the samples a stored trace gives: the
/// same rows, in the same order, and the same profile from the counts alone, on every shipped
/// scenario x profile, fast-forward on and off, at a round and an odd period; and at 30x rows,
/// where a jump repeats thousands of periods. Fails if the sampler drops, doubles or misplaces
/// a sample (an off-by-one in the closed-form count of a jump, a wrong first sample).
#[test]
fn streaming_samples_equal_the_samples_of_a_stored_trace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut scenarios: Vec<String> = std::fs::read_dir(root.join("configs/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    scenarios.sort();
    let mut cases: Vec<(String, &str, Vec<(&str, &str)>)> = vec![];
    for s in &scenarios {
        for hw in ["laptop", "reference-2vcpu", "aurora"] {
            cases.push((s.clone(), hw, vec![]));
        }
    }
    cases.push(("gather-heavy.toml".into(), "laptop", vec![("t.rows", "90000000")]));
    let (mut jumped, mut compared) = (0, 0);
    for (scenario, hw_name, table) in &cases {
        let (sc, hw) = load(scenario, hw_name, table);
        let gm = matches!(pqsim::planner::decide(&sc).plan.find_gather(), Some(Node::GatherMerge { .. }));
        for ff in [true, false] {
            for period in [10_000_000u64, 733_331] {
                let what = format!("{scenario} on {hw_name} {table:?}, fast-forward {ff}, period {period} ns");
                let res = sampled(&sc, &hw, 7, period, ff, true);
                let w = res.wait_samples.as_ref().expect("sampled");
                assert_eq!(w.period, period);
                let procs = waits::backends(7, res.processes.len() - 1);
                let reference = waits::samples(res.trace.as_ref().expect("trace"), &procs, res.wall, period, gm);
                assert!(!reference.is_empty(), "{what}: no samples");
                assert_eq!(waits::rows(w, &procs, gm), reference, "{what}: rows");
                assert_eq!(waits::profile_of(w, &procs, gm), waits::profile(&reference), "{what}: profile");
                // Without rows or trace the counts are the same.
                let d = pqsim::planner::decide(&sc);
                let spec = RunSpec {
                    fast_forward: ff,
                    wait_sample_period: Some(period),
                    ..RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 7)
                };
                let bare = simulate(&spec).unwrap().1;
                assert!(bare.trace.is_none() && bare.wait_samples.as_ref().unwrap().rows.is_none());
                assert_eq!(bare.wait_samples.as_ref().unwrap().per_process, w.per_process, "{what}: counts");
                if res.fast_forward_steps > 0 {
                    jumped += 1;
                }
                compared += 1;
            }
        }
    }
    assert!(jumped >= 10, "only {jumped} of {compared} runs jumped: the jump's counting went untested");
}

/// `run` without --trace/--report keeps no trace, and what the sampler holds for fast-forward
/// (the intervals of the detector's window) does not grow with rows: gather-heavy at 1x and
/// 100x rows holds about as many, a few thousand at most, while the run at 100x is 100x
/// longer and its samples 100x more.
#[test]
fn the_sampler_keeps_no_trace_and_its_memory_does_not_grow_with_rows() {
    let run = |rows: &str| {
        let (sc, hw) = load("gather-heavy.toml", "laptop", &[("t.rows", rows)]);
        let d = pqsim::planner::decide(&sc);
        let spec = RunSpec {
            wait_sample_period: Some(10_000_000),
            ..RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 3)
        };
        simulate(&spec).unwrap().1
    };
    let (small, big) = (run("3000000"), run("300000000"));
    for r in [&small, &big] {
        assert!(r.trace.is_none(), "a trace was kept");
        assert!(r.fast_forward_steps > 0, "no jump: the test would not exercise the jump's memory");
    }
    let (ws, wb) = (small.wait_samples.as_ref().unwrap(), big.wait_samples.as_ref().unwrap());
    assert!(wb.rows.is_none());
    let total = |w: &pqsim::exec::WaitSamples| w.per_process.iter().flatten().map(|s| s.count).sum::<u64>();
    assert!(total(wb) > 50 * total(ws), "samples {} vs {}", total(wb), total(ws));
    assert!(
        wb.log_peak <= 2 * ws.log_peak.max(1000),
        "intervals held: {} at 100x rows, {} at 1x",
        wb.log_peak,
        ws.log_peak
    );
    assert!(wb.log_peak <= 20_000, "intervals held: {}", wb.log_peak);
}
