//! `pqsim calibrate --dsn CONNINFO --output PROFILE [--scale ROWS]`: measure a real PostgreSQL
//! and fit a hardware profile for this machine (the procedure: [`crate::calibration`]).

use crate::calibration::Evidence;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

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
    /// Also write what the fit rests on into this directory: every probe's imported plan
    /// (PROBE.toml, replayable with `pqsim run`), `probes.csv` (each probe's measured median,
    /// runs, spread, blocks read) and `design.csv` (per serial probe, the model's ms per ns of
    /// every unit cost: what the probe exercises in the model).
    #[arg(long, value_name = "DIR")]
    pub keep_probes: Option<PathBuf>,
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
    if let Some(dir) = &a.keep_probes {
        keep_probes(dir, &cal.evidence)?;
        eprintln!("pqsim calibrate: wrote the probes' plans, probes.csv and design.csv under {}", dir.display());
    }
    Ok(())
}

fn keep_probes(dir: &Path, ev: &Evidence) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let csv_err = |p: &Path, e: csv::Error| Error::Simulation(format!("{}: {e}", p.display()));
    let path = dir.join("probes.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| csv_err(&path, e))?;
    w.write_record(["probe", "what", "timed_by", "median_ms", "runs", "robust_cv", "blocks_read_share"])
        .map_err(|e| csv_err(&path, e))?;
    for p in &ev.probes {
        if let Some(t) = &p.toml {
            let f = dir.join(format!("{}.toml", p.id));
            std::fs::write(&f, t).map_err(|e| Error::io(&f, e))?;
        }
        let how = if p.client { "client" } else { "explain-analyze" };
        w.write_record([
            p.id.clone(),
            p.what.to_string(),
            how.to_string(),
            format!("{:.4}", p.median_ms),
            p.runs.to_string(),
            format!("{:.4}", p.cv),
            format!("{:.4}", p.read_fraction),
        ])
        .map_err(|e| csv_err(&path, e))?;
    }
    w.flush().map_err(|e| Error::io(&path, e))?;
    let path = dir.join("design.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| csv_err(&path, e))?;
    let mut head = vec!["probe".to_string(), "median_ms".to_string()];
    head.extend(ev.design_names.iter().map(|n| n.to_string()));
    w.write_record(&head).map_err(|e| csv_err(&path, e))?;
    for (id, ms, row) in &ev.design {
        let mut rec = vec![id.clone(), format!("{ms:.4}")];
        rec.extend(row.iter().map(|v| format!("{v:.6e}")));
        w.write_record(&rec).map_err(|e| csv_err(&path, e))?;
    }
    w.flush().map_err(|e| Error::io(&path, e))
}
