//! `pqsim calibrate --dsn CONNINFO --output PROFILE [--scale ROWS]`: measure a real PostgreSQL
//! and fit a hardware profile for this machine (the procedure: [`crate::calibration`]).

use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// libpq connection string of the server to measure (it must run on this machine:
    /// cores are read locally).
    #[arg(long)]
    pub dsn: String,
    /// Where to write the hardware profile (TOML).
    #[arg(long)]
    pub output: PathBuf,
    /// Rows of the middle probe table; the others have half and twice as many.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(50_000..=100_000_000))]
    pub scale: u64,
    /// Timed runs of every probe (medians of these; start-up probes run 3x as often).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(5..=100))]
    pub reps: u64,
    /// Profile name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Wait up to this many seconds for other processes to go quiet before measuring.
    #[arg(long, default_value_t = 120.0)]
    pub wait_quiet: f64,
}

// ---------------------------------------------------------------------------------------

pub fn run_cli(a: &CalibrateArgs) -> Result<()> {
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| a.output.file_stem().and_then(|s| s.to_str()).unwrap_or("calibrated").to_string());
    let cal = crate::calibration::calibrate(&a.dsn, a.scale, a.reps as usize, &name, a.wait_quiet)?;
    if let Some(dir) = a.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&a.output, &cal.text).map_err(|e| Error::io(&a.output, e))?;
    // The profile must load with the loader everything else uses.
    crate::config::load_hardware(&a.output, &[])?;
    eprintln!("pqsim calibrate: wrote {}", a.output.display());
    Ok(())
}
