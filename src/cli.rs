//! The command line: argument parsing (clap), loading inputs, running, and writing outputs.
//! This is the only layer that reads or writes files and prints.

use crate::config::{self, TableOverride};
use crate::engine::streams;
use crate::error::{Error, Result};
use crate::exec::{self, RunSpec};
use crate::model::{Hardware, Node, Scenario};
use crate::report;
use crate::stats::Summary;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "pqsim", version, about = "Discrete-event simulator of PostgreSQL parallel query execution")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// What-if flags shared by every command that loads a scenario.
#[derive(Args, Debug, Clone, Default)]
pub struct WhatIf {
    /// Change one field of the hardware profile: cores=N, cache=hot|warm|cold, disk.queue_depth=..
    #[arg(long = "hw", value_name = "KEY=VALUE", value_parser = |s: &str| config::parse_kv(s, "--hw"))]
    pub hw: Vec<(String, String)>,
    /// Set a PostgreSQL setting (GUC), with PostgreSQL's value syntax: work_mem=256MB
    #[arg(long = "set", value_name = "GUC=VALUE", value_parser = |s: &str| config::parse_kv(s, "--set"))]
    pub set: Vec<(String, String)>,
    /// Change one table: NAME.rows=, NAME.pages=, NAME.size=5GB, NAME.width=, NAME.parallel_workers=
    #[arg(long = "table", value_name = "NAME.KEY=VALUE")]
    pub table: Vec<TableOverride>,
    /// What the predicted time measures: explain-analyze (TIMING ON, the default), timing-off
    /// (EXPLAIN (ANALYZE, TIMING OFF)), client (a plain query sending rows to a client).
    /// Overrides the scenario's `output`.
    #[arg(long, value_name = "MODE", value_parser = |s: &str| crate::model::OutputMode::parse(s).ok_or_else(|| format!("unknown mode \"{s}\" (explain-analyze, timing-off, client)")))]
    pub measure: Option<crate::model::OutputMode>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate one scenario on one hardware profile.
    Run {
        scenario: PathBuf,
        /// Hardware profile: a name in configs/hardware/ or a path.
        #[arg(long, default_value = "reference-2vcpu")]
        hardware: String,
        #[command(flatten)]
        whatif: WhatIf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        replications: u32,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write a trace of the first replication (state timeline, queue fill) and its plots here.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Show the plan PostgreSQL 15 would choose: Workers Planned, costs, reasons.
    Plan {
        scenario: PathBuf,
        #[arg(long, default_value = "reference-2vcpu")]
        hardware: String,
        #[command(flatten)]
        whatif: WhatIf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run a grid of simulations (settings x table what-ifs x hardware) and write CSVs, fits and plots.
    Sweep(crate::sweep::SweepArgs),
    /// Run one scenario on several hardware profiles and compare wall times.
    Compare(crate::sweep::CompareArgs),
    /// Turn PostgreSQL's EXPLAIN (FORMAT JSON) output into a scenario (`-` reads stdin).
    Import(crate::import::ImportArgs),
    /// Measure a local PostgreSQL and write a calibrated hardware profile.
    Calibrate(crate::calibrate::CalibrateArgs),
    /// Hold the model against a throwaway PostgreSQL: predicted vs measured over a grid.
    Validate(crate::validate::ValidateArgs),
}

/// Entry point used by main: returns the process exit code.
pub fn main_with_args(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    match dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pqsim: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { scenario, hardware, whatif, seed, replications, format, trace } => {
            let (sc, hw) = load(&scenario, &hardware, &whatif)?;
            let out = run_scenario(&sc, &hw, seed, replications, trace.is_some())?;
            if let Some(dir) = trace {
                write_trace(&dir, &out)?;
                if let Some((t, _)) = &out.trace {
                    let title = format!("{} on {}", sc.name, hw.name);
                    crate::trace_plots::write(&dir, t, &title, hw.parallel.tuple_queue_size)?;
                }
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out.json).expect("json")),
                Format::Text => print!("{}", out.text),
            }
            Ok(())
        }
        Command::Plan { scenario, hardware, whatif, format } => {
            let (sc, _hw) = load(&scenario, &hardware, &whatif)?;
            let d = decide(&sc);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&d.json).expect("json")),
                Format::Text => print!("{}", d.text),
            }
            Ok(())
        }
        Command::Sweep(args) => crate::sweep::run_sweep(args),
        Command::Compare(args) => crate::sweep::run_compare(args),
        Command::Import(args) => crate::import::run_cli(&args),
        Command::Calibrate(args) => crate::calibrate::run_cli(&args),
        Command::Validate(args) => crate::validate::run_cli(&args),
    }
}

/// Load a scenario and a hardware profile with what-ifs; the scenario's settings are re-applied
/// over the machine's own settings.
pub fn load(scenario: &std::path::Path, hardware: &str, w: &WhatIf) -> Result<(Scenario, Hardware)> {
    let hw_path = config::resolve_hardware(hardware)?;
    let hw = config::load_hardware(&hw_path, &w.hw)?;
    let sc = config::load_scenario(scenario, &w.set, &w.table)?;
    let mut sc = sc.with_hardware_settings(&hw);
    if let Some(m) = w.measure {
        sc.output = m;
    }
    Ok((sc, hw))
}

/// The planner's decision for a scenario: the plan to run and how many workers it gets.
pub struct Decision {
    pub plan: Node,
    pub workers_planned: u32,
    pub workers_launched: u32,
    pub json: Value,
    pub text: String,
}

pub fn decide(sc: &Scenario) -> Decision {
    let rep = crate::planner::plan(sc);
    // The planner's count also knows the execution-time fallbacks (client max_rows, ...).
    let mut launched = rep.workers_launched;
    let mut planned = rep.workers_planned;
    let mut json = rep.to_json();
    let mut text = rep.render_text();
    let mut plan = rep.plan.clone();
    // A serial plan whose hashed SubPlan runs its subquery with its own Gather (§7.4): the
    // simulation runs that Gather while the leader builds the hash table.
    if !rep.parallel {
        let sub_workers = rep.subplan_workers_planned.first().copied().unwrap_or(0);
        let hashed = rep.subplans_hashed.first().copied().unwrap_or(false);
        if sub_workers > 0 && hashed {
            plan = crate::planner::shape::map_subplans(&plan, &|sp: &crate::model::SubPlan| crate::model::SubPlan {
                gather_workers: Some(sub_workers),
                ..sp.clone()
            });
            launched = crate::planner::workers_launched(sub_workers, &sc.settings, sc.busy_worker_slots);
            // EXPLAIN prints this Gather's Workers Planned (under SubPlan 1).
            planned = sub_workers;
            json["workers_planned"] = json!(sub_workers);
            json["parallel"] = json!(true);
            text = format!(
                "Workers Planned: {sub_workers} (the Gather of SubPlan 1's subquery; the main plan is serial), Workers Launched: {launched}\n{text}"
            );
        }
    }
    Decision { plan, workers_planned: planned, workers_launched: launched, json, text }
}

pub struct RunOutput {
    pub json: Value,
    pub text: String,
    pub wall_ms: Vec<f64>,
    pub summary: Summary,
    pub workers_planned: u32,
    pub workers_launched: u32,
    pub stalls: Vec<f64>,
    pub splits: Vec<report::ProcessSplit>,
    pub trace: Option<(exec::Trace, u32)>,
}

/// Seed of replication `r` of a run seeded `seed`: the same for every grid point of a sweep
/// (common random numbers).
pub fn replication_seed(seed: u64, r: u32) -> u64 {
    streams::mix(seed, 0x5eed_0000 + u64::from(r))
}

pub fn run_scenario(sc: &Scenario, hw: &Hardware, seed: u64, replications: u32, trace: bool) -> Result<RunOutput> {
    let d = decide(sc);
    let mut walls = vec![];
    let mut stalls = vec![];
    let mut splits = vec![];
    let mut first = None;
    for r in 0..replications {
        let spec = RunSpec {
            tables: &sc.tables,
            settings: &sc.settings,
            hw,
            output: sc.output,
            plan: &d.plan,
            workers_launched: d.workers_launched,
            seed: replication_seed(seed, r),
            trace: trace && r == 0,
        };
        let (compiled, res) = exec::simulate(&spec).map_err(Error::Simulation)?;
        walls.push(res.wall as f64 / 1e6);
        stalls.push(res.queue_full_stalls as f64);
        splits.push(report::process_splits(&res));
        if first.is_none() {
            first = Some((compiled, res));
        }
    }
    let (compiled, res) = first.expect("at least one replication");
    let summary = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("{e:?}")))?;
    let mean_split = report::mean_splits(&splits);
    let explain = report::explain_json(sc, &d.plan, &compiled, &res);
    let stall_mean = stalls.iter().sum::<f64>() / stalls.len() as f64;
    let json = json!({
        "scenario": sc.name,
        "wall_time_ms": r3(summary.mean),
        "wall_time_ms_ci95": [r3(summary.ci95_lo), r3(summary.ci95_hi)],
        "wall_time_ms_median": r3(summary.median),
        "wall_time_ms_samples": walls.iter().map(|x| r3(*x)).collect::<Vec<_>>(),
        "replications": replications,
        "seed": seed,
        "hardware": hw.name,
        "workers_planned": d.workers_planned,
        "workers_launched": res.workers_launched,
        "queue_full_stalls": stall_mean.round() as u64,
        "processes": mean_split,
        "settings": sc.settings.non_default().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "events": res.events,
        "explain": explain,
    });
    let text = render_text(sc, hw, &json, &summary);
    Ok(RunOutput {
        json,
        text,
        wall_ms: walls,
        summary,
        workers_planned: d.workers_planned,
        workers_launched: res.workers_launched,
        stalls,
        splits: mean_split,
        trace: res.trace.clone().map(|t| (t, res.workers_launched)),
    })
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn render_text(sc: &Scenario, hw: &Hardware, j: &Value, s: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!("Scenario: {}  on  {} ({})\n\n", sc.name, hw.name, hw.description));
    out.push_str(&report::explain_text(&j["explain"]));
    out.push('\n');
    out.push_str(&format!(
        "Predicted wall time: {:.1} ms  (95% CI {:.1} .. {:.1}, {} replications, seed {})\n",
        s.mean, s.ci95_lo, s.ci95_hi, j["replications"], j["seed"]
    ));
    out.push_str(&format!(
        "Workers Planned: {}  Workers Launched: {}  Queue-full stalls: {}\n\n",
        j["workers_planned"], j["workers_launched"], j["queue_full_stalls"]
    ));
    out.push_str(&format!(
        "{:<10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>9} {:>8}\n",
        "process", "CPU ms", "disk ms", "MQSend ms", "wait tup ms", "start ms", "other ms", "stalls"
    ));
    if let Some(ps) = j["processes"].as_array() {
        for p in ps {
            let name = match p["worker"].as_u64() {
                Some(w) => format!("worker {w}"),
                None => "leader".into(),
            };
            let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
            out.push_str(&format!(
                "{:<10} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>10.1} {:>9.1} {:>8.0}\n",
                name,
                f("cpu_ms"),
                f("io_wait_ms"),
                f("mq_send_wait_ms"),
                f("mq_receive_wait_ms"),
                f("startup_ms"),
                f("barrier_wait_ms") + f("shutdown_wait_ms"),
                f("queue_full_stalls")
            ));
        }
    }
    out.push_str(
        "(wait tup = IPC: ExecuteGather / MessageQueueReceive; other = HashBuildHashInner + ParallelFinish)\n",
    );
    out
}

fn write_trace(dir: &std::path::Path, out: &RunOutput) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let Some((trace, _)) = &out.trace else { return Ok(()) };
    let mut w = csv::Writer::from_path(dir.join("states.csv")).map_err(|e| Error::Simulation(e.to_string()))?;
    let _ = w.write_record(["process", "state", "start_ms", "end_ms"]);
    for iv in &trace.intervals {
        let name = if iv.process == 0 { "leader".to_string() } else { format!("worker {}", iv.process - 1) };
        let _ = w.write_record([
            name,
            iv.state.label().to_string(),
            format!("{:.6}", iv.start as f64 / 1e6),
            format!("{:.6}", iv.end as f64 / 1e6),
        ]);
    }
    w.flush().map_err(|e| Error::io(dir, e))?;
    let mut q = csv::Writer::from_path(dir.join("queues.csv")).map_err(|e| Error::Simulation(e.to_string()))?;
    let _ = q.write_record(["time_ms", "worker", "bytes_used"]);
    for (t, j, b) in &trace.queue {
        let _ = q.write_record([format!("{:.6}", *t as f64 / 1e6), j.to_string(), format!("{b:.0}")]);
    }
    q.flush().map_err(|e| Error::io(dir, e))?;
    Ok(())
}
