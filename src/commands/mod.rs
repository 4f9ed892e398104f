//! The command line: argument parsing (clap), loading inputs, running, and writing outputs.
//! This is the only layer that reads or writes files and prints.

pub mod calibrate;
pub mod import;
pub mod plan;
pub mod run;
pub mod sweep;
pub mod validate;
pub mod workload;

use crate::config::{self, TableOverride};
use crate::error::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

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
pub struct WhatIfArgs {
    /// Change one field of the hardware profile: cores=N, cache=hot|warm|cold, disk.queue_depth=..
    #[arg(long = "hw", value_name = "KEY=VALUE", value_parser = |s: &str| config::parse_kv(s, "--hw"))]
    pub hw: Vec<(String, String)>,
    /// Set a PostgreSQL setting (GUC), with PostgreSQL's value syntax: work_mem=256MB
    /// (docs/settings.md lists every setting pqsim accepts and whether it is modelled)
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

impl WhatIfArgs {
    /// The what-ifs as flags, as a user would type them (`--measure` accepts `name()` too).
    pub fn flags(&self) -> Vec<String> {
        let mut f: Vec<String> = self.hw.iter().map(|(k, v)| format!("--hw {k}={v}")).collect();
        f.extend(self.set.iter().map(|(k, v)| format!("--set {k}={v}")));
        f.extend(self.table.iter().map(|t| format!("--table {}.{}={}", t.table, t.key, t.value)));
        if let Some(m) = self.measure {
            f.push(format!("--measure {}", m.name()));
        }
        f
    }

    /// The what-ifs as the loaders take them.
    pub fn to_whatif(&self) -> config::WhatIf {
        config::WhatIf { hw: self.hw.clone(), set: self.set.clone(), table: self.table.clone(), measure: self.measure }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate one scenario on one hardware profile.
    Run(run::RunArgs),
    /// Show the plan PostgreSQL 15 would choose: Workers Planned, costs, reasons.
    Plan(plan::PlanArgs),
    /// Run a grid of simulations (settings x table what-ifs x hardware) and write CSVs, fits and plots.
    Sweep(crate::commands::sweep::SweepArgs),
    /// Run one scenario on several hardware profiles and compare wall times.
    Compare(crate::commands::sweep::CompareArgs),
    /// Turn PostgreSQL's EXPLAIN (FORMAT JSON) output into a scenario (`-` reads stdin).
    Import(crate::commands::import::ImportArgs),
    /// Measure a local PostgreSQL and write a calibrated hardware profile.
    Calibrate(crate::commands::calibrate::CalibrateArgs),
    /// Hold the model against a throwaway PostgreSQL: predicted vs measured over a grid.
    Validate(crate::commands::validate::ValidateArgs),
    /// Simulate many sessions on one server: latency percentiles, throughput, the worker pool.
    Workload(crate::commands::workload::WorkloadArgs),
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
        Command::Run(args) => {
            crate::exec::set_fast_forward_default(!args.no_fast_forward);
            run::run(args)
        }
        Command::Plan(args) => plan::run(args),
        Command::Sweep(args) => {
            crate::exec::set_fast_forward_default(!args.no_fast_forward);
            sweep::run_sweep(args)
        }
        Command::Compare(args) => {
            crate::exec::set_fast_forward_default(!args.no_fast_forward);
            crate::commands::sweep::run_compare(args)
        }
        Command::Import(args) => crate::commands::import::run_cli(&args),
        Command::Calibrate(args) => crate::commands::calibrate::run_cli(&args),
        Command::Validate(args) => crate::commands::validate::run_cli(&args),
        Command::Workload(args) => {
            crate::exec::set_fast_forward_default(!args.no_fast_forward);
            crate::commands::workload::run(args)
        }
    }
}

/// Settings that were set but change nothing in the model (or were set by an alias): said
/// once on stderr, never silently ignored.
pub fn print_setting_notes(sc: &crate::model::Scenario) {
    for note in sc.settings.notes() {
        eprintln!("pqsim: note: {note}");
    }
}
