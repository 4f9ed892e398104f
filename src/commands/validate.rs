//! `pqsim validate`: hold the model against a throwaway PostgreSQL 15 (the procedure:
//! [`crate::validation`]); this command writes the CSV, the Markdown and the imported
//! scenarios.

use crate::error::{Error, Result};
pub use crate::validation::{Options, Point, Report, Scale, Workload};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct ValidateArgs {
    /// The grid: tpch (TPC-H-like tables, the seed queries) or reference (the first grid).
    #[arg(long, value_enum, default_value_t = Workload::Tpch)]
    pub workload: Workload,
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Calibrated hardware profile: a name in configs/hardware/ or a path.
    #[arg(long, default_value = "reference-2vcpu")]
    pub profile: String,
    #[arg(long, default_value = "output/validation")]
    pub output: PathBuf,
    /// Timed runs per grid point (interleaved rounds; medians).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(5..=100))]
    pub reps: u64,
    /// Wait up to this many seconds for other processes to go quiet before a round.
    #[arg(long, default_value_t = 120.0)]
    pub wait_quiet: f64,
    /// Instead of the timing grid: per-node times of EXPLAIN (ANALYZE, TIMING ON) against the
    /// prediction's EXPLAIN, node by node; writes nodes-WORKLOAD-SCALE.csv and .md.
    #[arg(long)]
    pub per_node: bool,
    /// Print the SQL that loads the workload's tables at this scale (what the validation's
    /// throwaway server gets) and exit: to measure its queries by hand on a server of your own.
    #[arg(long)]
    pub print_load_sql: bool,
}

pub fn run_cli(a: &ValidateArgs) -> Result<()> {
    if a.print_load_sql {
        let rows = crate::validation::workload::rows(a.scale);
        for statement in crate::validation::workload::load_sql(a.workload, &rows) {
            println!("{};", statement.trim_end().trim_end_matches(';'));
        }
        return Ok(());
    }
    // A profile name (embedded or configs/hardware/NAME.toml) or a path.
    let profile_path = PathBuf::from(&a.profile);
    let command = format!(
        "pqsim validate --workload {} --scale {} --profile {} --output {} --reps {}{}",
        a.workload.name(),
        a.scale.name(),
        a.profile,
        a.output.display(),
        a.reps,
        if a.per_node { " --per-node" } else { "" }
    );
    let o = Options {
        workload: a.workload,
        scale: a.scale,
        profile_path,
        output: a.output.clone(),
        reps: a.reps as usize,
        wait_quiet: a.wait_quiet,
        command,
    };
    if a.per_node {
        let (out, csv, md) = run_nodes(&o, &[])?;
        for t in &out.types {
            println!("{:<28} {:>4} nodes  median |error| {:>6.1}%", t.node, t.count, t.median_abs_error_pct);
        }
        println!("wrote {} and {}", csv.display(), md.display());
        return Ok(());
    }
    let rep = run(&o)?;
    println!(
        "median |error| {:.1}%, p90 {:.1}% (raw: {:.1}%, {:.1}%); speedup error median {:.1}%, p90 {:.1}% ({} points)",
        rep.median_abs_error_pct,
        rep.p90_abs_error_pct,
        rep.median_abs_raw_error_pct,
        rep.p90_abs_raw_error_pct,
        rep.median_abs_speedup_error_pct,
        rep.p90_abs_speedup_error_pct,
        rep.points.len()
    );
    println!(
        "against bare client times: median |error| {:.1}%, p90 {:.1}%; speedup error median {:.1}%",
        rep.median_abs_client_error_pct, rep.p90_abs_client_error_pct, rep.median_abs_client_speedup_error_pct
    );
    println!(
        "bare runs inside the predicted 80% interval: {:.0}% rescaled, {:.0}% raw",
        100.0 * rep.client_p80_coverage,
        100.0 * rep.client_p80_coverage_raw
    );
    use crate::validation::checks::{leader_bound, short_speedups, within_bar, SHORT_SPEEDUP_BAR_PCT};
    let short = short_speedups(&rep.points, crate::validation::SHORT_POINT_MS);
    if !short.is_empty() {
        let within = within_bar(&short);
        println!(
            "short-query speedups (serial under {} ms) within {SHORT_SPEEDUP_BAR_PCT:.0}%: {within} of {}",
            crate::validation::SHORT_POINT_MS,
            short.len()
        );
    }
    for b in leader_bound(&rep.points) {
        println!(
            "leader-bound Gather, leader {}: best W measured {} (tied within 2 SE: {:?}), predicted {}; speedup signs differ at {} of {} W ({} that the runs tell)",
            if b.leader { "on" } else { "off" },
            b.best_measured,
            b.best_measured_ties,
            b.best_predicted,
            b.sign_misses().len(),
            b.speedups.len(),
            b.resolved_sign_misses().len()
        );
    }
    println!("wrote {} and {}", rep.csv_path.display(), rep.md_path.display());
    Ok(())
}

/// Runs the validation and writes its files under `o.output`: the imported scenarios
/// (`scenarios-SCALE/`), `validation-SCALE.csv` and `validation-SCALE.md`.
pub fn run(o: &Options) -> Result<Report> {
    let out = crate::validation::run(o)?;
    let tag = format!("{}-{}", o.workload.name(), o.scale.name());
    let dir = o.output.join(format!("scenarios-{tag}"));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for (name, toml) in &out.scenarios {
        let f = dir.join(format!("{name}.toml"));
        std::fs::write(&f, toml).map_err(|e| Error::io(&f, e))?;
    }
    std::fs::create_dir_all(&o.output).map_err(|e| Error::io(&o.output, e))?;
    let csv_path = o.output.join(format!("validation-{tag}.csv"));
    let md_path = o.output.join(format!("validation-{tag}.md"));
    write_csv(&csv_path, &out.report.points)?;
    let md = crate::validation::markdown::markdown(o, &out);
    std::fs::write(&md_path, md).map_err(|e| Error::io(&md_path, e))?;
    let mut rep = out.report;
    rep.csv_path = csv_path;
    rep.md_path = md_path;
    Ok(rep)
}

/// The per-node validation of the cases in `only` (all when empty); writes
/// `nodes-WORKLOAD-SCALE.csv` (one row per paired node) and `.md` (the per-type table) under
/// `o.output`.
pub fn run_nodes(o: &Options, only: &[&str]) -> Result<(crate::validation::nodes::NodesOutcome, PathBuf, PathBuf)> {
    let out = crate::validation::nodes::run(o, only)?;
    std::fs::create_dir_all(&o.output).map_err(|e| Error::io(&o.output, e))?;
    let tag = format!("{}-{}", o.workload.name(), o.scale.name());
    let csv_path = o.output.join(format!("nodes-{tag}.csv"));
    let md_path = o.output.join(format!("nodes-{tag}.md"));
    let mut w =
        csv::Writer::from_path(&csv_path).map_err(|e| Error::Simulation(format!("{}: {e}", csv_path.display())))?;
    for r in &out.rows {
        w.serialize(r).map_err(|e| Error::Simulation(format!("{}: {e}", csv_path.display())))?;
    }
    w.flush().map_err(|e| Error::io(&csv_path, e))?;
    std::fs::write(&md_path, &out.markdown).map_err(|e| Error::io(&md_path, e))?;
    Ok((out, csv_path, md_path))
}

fn write_csv(path: &Path, points: &[Point]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::Simulation(format!("{}: {e}", path.display())))?;
    for p in points {
        w.serialize(p).map_err(|e| Error::Simulation(format!("{}: {e}", path.display())))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}
