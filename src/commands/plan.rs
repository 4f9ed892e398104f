//! `pqsim plan`: the plan PostgreSQL 15 would choose, without simulating it.

use super::{Format, WhatIfArgs};
use crate::config;
use crate::error::Result;
use clap::Args;
use std::path::PathBuf;

// No doc comment here: clap would take it as the subcommand's about text.
#[derive(Args, Debug)]
pub struct PlanArgs {
    pub scenario: PathBuf,
    /// Hardware profile: a name in configs/hardware/ or a path.
    #[arg(long, default_value = "reference-2vcpu")]
    pub hardware: String,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: PlanArgs) -> Result<()> {
    let (sc, _hw) = config::load(&a.scenario, &a.hardware, &a.whatif.to_whatif())?;
    super::print_setting_notes(&sc);
    let d = crate::planner::decide(&sc);
    match a.format {
        Format::Json => {
            let json = crate::report::plan::PlanJson::new(&d);
            println!("{}", serde_json::to_string_pretty(&json).expect("json"))
        }
        Format::Text => print!("{}", d.render_text()),
    }
    Ok(())
}
