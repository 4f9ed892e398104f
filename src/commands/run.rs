//! `pqsim run`: one scenario on one hardware profile, printed as text or the JSON contract.

use super::{Format, WhatIfArgs};
use crate::config;
use crate::error::Result;
use clap::Args;
use std::path::PathBuf;

// No doc comment here: clap would take it as the subcommand's about text.
#[derive(Args, Debug)]
pub struct RunArgs {
    pub scenario: PathBuf,
    /// Hardware profile: a name in configs/hardware/ or a path.
    #[arg(long, default_value = "reference-2vcpu")]
    pub hardware: String,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Simulate every step: no steady-state fast-forward (for checking it; results agree
    /// within the tolerance docs/fast-forward.md states)
    #[arg(long)]
    pub no_fast_forward: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write a trace of the representative replication (the one nearest the median: state
    /// timeline, queue fill) and its plots here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Write one self-contained HTML page here: the question, the prediction, a flame graph,
    /// the EXPLAIN tree, the time split, the timeline, queue fill and wait events.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write wait-event samples of the representative replication here (CSV: sample_ms, pid,
    /// backend_type, wait_event_type, wait_event), as pg_wait_sampling's history would hold them.
    #[arg(long, value_name = "FILE.csv")]
    pub wait_samples: Option<PathBuf>,
    /// Sampling period of --wait-samples and of the JSON's wait_event_profile, ms.
    #[arg(long, value_name = "MS", default_value_t = 10.0, value_parser = parse_period)]
    pub sample_period: f64,
}

fn parse_period(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.001 => Ok(v),
        _ => Err(format!("\"{s}\" is not a sampling period in ms (a number >= 0.001)")),
    }
}

pub fn run(a: RunArgs) -> Result<()> {
    let (sc, hw) = config::load(&a.scenario, &a.hardware, &a.whatif.to_whatif())?;
    super::print_setting_notes(&sc);
    // What the schema-aware CPU model priced generically, once each.
    for n in crate::exec::cpu_cost::notes(&sc.tables, &sc.plan) {
        eprintln!("pqsim: note: {n}");
    }
    if let Some(n) = measured_note(&sc, &hw) {
        eprintln!("pqsim: note: {n}");
    }
    let want_trace = a.trace.is_some() || a.report.is_some();
    let opts = crate::predict::Options {
        trace: want_trace,
        sample_period_ms: Some(a.sample_period),
        sample_rows: a.wait_samples.is_some(),
    };
    let out = crate::predict::run_scenario_with(&sc, &hw, a.seed, a.replications, &opts)?;
    if let Some(used) = out.sample_period_ms.filter(|&p| p > a.sample_period) {
        eprintln!(
            "pqsim: note: wait samples every {used:.3} ms instead of {} ms: a sample per process per period would exceed {} samples for this run",
            a.sample_period,
            crate::predict::MAX_WAIT_SAMPLES
        );
    }
    if let Some(path) = &a.wait_samples {
        crate::render::atomic::write(path, out.wait_samples_csv().as_bytes())?;
    }
    if let Some(path) = &a.report {
        let q = crate::render::html::Question {
            scenario_file: a.scenario.display().to_string(),
            what_ifs: a.whatif.flags(),
        };
        crate::render::html::write(path, &crate::render::html::run_report(&q, &out, hw.parallel.tuple_queue_size))?;
    }
    if let Some(dir) = &a.trace {
        crate::render::trace::write_csv(dir, &out)?;
        if let Some((t, _)) = &out.trace {
            let title = format!("{} on {}", sc.name, hw.name);
            crate::render::trace::write(dir, t, &title, hw.parallel.tuple_queue_size)?;
        }
    }
    match a.format {
        Format::Json => println!("{}", crate::report::run_json(&out)),
        Format::Text => print!("{}", crate::report::run_text(&out)),
    }
    Ok(())
}

/// Which nodes run on the scenario's own measured costs (`[measured]`), and on what scale.
fn measured_note(sc: &crate::model::Scenario, hw: &crate::model::Hardware) -> Option<String> {
    let m = sc.measured.as_ref()?;
    let plan = crate::planner::decide(sc).plan;
    let mut keys = vec![];
    fn walk(n: &crate::model::Node, sc: &crate::model::Scenario, keys: &mut Vec<String>) {
        if let Some(k) = crate::model::measured::node_key(n, &sc.tables) {
            keys.push(k);
        }
        for c in n.children() {
            walk(c, sc, keys);
        }
    }
    walk(&plan, sc, &mut keys);
    let used = m.nodes.iter().filter(|n| keys.contains(&n.node)).count();
    let unused: Vec<&str> = m.nodes.iter().filter(|n| !keys.contains(&n.node)).map(|n| n.node.as_str()).collect();
    let mut s = format!(
        "{used} of {} plan nodes priced by this query's own EXPLAIN ANALYZE on {} (x{:.3} for {}'s cpu_speed), the rest by {}'s class costs",
        m.nodes.len(),
        m.profile,
        m.cpu_speed / hw.cpu_speed,
        hw.name,
        hw.name
    );
    if !unused.is_empty() {
        s.push_str(&format!("; not in this plan: {}", unused.join(", ")));
    }
    Some(s)
}
