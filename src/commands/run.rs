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
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write a trace of the first replication (state timeline, queue fill) and its plots here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

pub fn run(a: RunArgs) -> Result<()> {
    let (sc, hw) = config::load(&a.scenario, &a.hardware, &a.whatif.to_whatif())?;
    // What the schema-aware CPU model priced generically, once each.
    for n in crate::exec::cpu_cost::notes(&sc.tables, &sc.plan) {
        eprintln!("pqsim: note: {n}");
    }
    let out = crate::predict::run_scenario(&sc, &hw, a.seed, a.replications, a.trace.is_some())?;
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
