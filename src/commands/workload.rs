//! `pqsim workload`: many sessions on one server, sharing cores, disk and the worker pool.
//! Prints text or the JSON contract; with `--output DIR` writes queries.csv, timeline.csv,
//! summary.json and plots.

use super::{Format, WhatIfArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::render::atomic;
use crate::report::workload::{queries_csv, timeline_csv, workload_json, workload_text};
use clap::Args;
use std::path::{Path, PathBuf};

// No doc comment here: clap would take it as the subcommand's about text.
#[derive(Args, Debug)]
pub struct WorkloadArgs {
    pub workload: PathBuf,
    /// Hardware profile: a name in configs/hardware/ or a path.
    #[arg(long, default_value = "reference-2vcpu")]
    pub hardware: String,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Simulate every step: no steady-state fast-forward (for checking it; results agree
    /// within the tolerance docs/fast-forward.md states)
    #[arg(long)]
    pub no_fast_forward: bool,
    /// Seed (default: the workload file's `seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write queries.csv (one row per query), timeline.csv, summary.json and plots here.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn run(a: WorkloadArgs) -> Result<()> {
    let w = config::load_workload(&a.workload, &a.hardware, &a.whatif.to_whatif())?;
    let seed = a.seed.or(w.seed).unwrap_or(1);
    let out = crate::workload::run_workload(&w, seed, a.replications)?;
    if let Some(dir) = &a.output {
        write_outputs(dir, &out)?;
    }
    match a.format {
        Format::Json => println!("{}", workload_json(&out)),
        Format::Text => print!("{}", workload_text(&out)),
    }
    Ok(())
}

fn write_outputs(dir: &Path, out: &crate::workload::WorkloadOutput) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    atomic::write(&dir.join("queries.csv"), queries_csv(out).as_bytes())?;
    atomic::write(&dir.join("timeline.csv"), timeline_csv(out).as_bytes())?;
    atomic::write(&dir.join("summary.json"), format!("{}\n", workload_json(out)).as_bytes())?;
    crate::render::workload::write_plots(dir, out)?;
    Ok(())
}
