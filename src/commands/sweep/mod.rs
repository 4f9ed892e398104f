//! `pqsim sweep` and `pqsim compare`: grids of simulations over settings, table what-ifs and
//! hardware profiles, their CSVs, fits and plots.
//!
//! Invariants:
//! * One simulation per (grid point, replication): `run_scenario(point, replication_seed(seed, r), 1)`.
//!   Every grid point uses the same seeds (common random numbers), so differences between points
//!   are not noise between seeds. The `seed` column of `points.csv` reproduces its row exactly
//!   with `pqsim run ... --seed SEED --replications 1`.
//! * Results do not depend on the thread count: jobs run in any order, rows are stored by grid
//!   index, and every reduction (means, CIs, fits) runs afterwards in grid order.
//! * Outputs appear atomically (`render::atomic`: temp file in DIR, then rename). Finished simulations are appended
//!   to `DIR/points.journal.jsonl` as they complete, so an interrupted sweep resumes where it
//!   stopped; the journal's first line records what the rows depend on (scenario, hardware
//!   files, what-ifs, seed, varied keys, the pqsim binary) and a different sweep is refused.
//! * Input files are read once; each grid point is loaded and planned once, whatever the
//!   number of replications.
//!
//! Files: `vary` (the --vary grid), `grid` (loading and running the points), `journal`
//! (resume), `summary` (statistics and fits), `outputs` (CSVs, fits.json, the table), `plots`,
//! and `compare`.

mod compare;
mod grid;
mod journal;
mod outputs;
mod plots;
mod summary;
mod vary;
mod workload;

pub use compare::run_compare;
#[doc(hidden)]
pub use journal::fuzz_journal;
pub use vary::{parse_vary, Target, Vary};

use super::WhatIfArgs;
use crate::error::{Error, Result};
use crate::render::plot::{self, PlotError, StackedBar, CATEGORIES};
use clap::Args;
use std::path::{Path, PathBuf};

/// The GUC a speedup curve is drawn against.
pub const WORKERS_KEY: &str = "max_parallel_workers_per_gather";
/// Largest grid accepted (points x hardware).
const MAX_POINTS: usize = 100_000;

const VARY_HELP: &str = "Vary one input over LIST; repeat for a grid (cartesian product of all --vary, \
times --hardware). KEY is a PostgreSQL setting (max_parallel_workers_per_gather=0..8, \
work_mem=4MB,64MB,256MB) or a table what-if NAME.KEY as in --table (lineitem.rows=1000000,60000000; \
keys rows, pages, size, width, parallel_workers, index_pages). LIST is a,b,c or an inclusive \
integer range a..b; both can be mixed (0..4,8,16). A varied key overrides the same --set/--table.";

const SWEEP_AFTER_HELP: &str = "\
Outputs in DIR: points.csv (one row per grid point and replication), summary.csv (mean, median,
95% CI, speedup vs the serial point on the same hardware, efficiency), splits.csv (time split of
every process), fits.json (Amdahl and USL fits when max_parallel_workers_per_gather is varied),
and plots as .png and .svg: speedup, hardware (or wall-time), time-split[-HARDWARE].
Every point uses the same seeds (common random numbers); a row's seed column reproduces it with
`pqsim run --seed SEED --replications 1`. Finished simulations are kept in
DIR/points.journal.jsonl: re-running the same command after an interruption runs only the rest
(more replications or points reuse them too).

Example:
  pqsim sweep configs/scenarios/seed-not-in.toml --vary max_parallel_workers_per_gather=0..8 \\
      --hardware laptop,aurora --replications 5 --output output/seed-sweep";

/// `pqsim sweep` arguments.
#[derive(Args, Debug, Clone)]
#[command(after_long_help = SWEEP_AFTER_HELP)]
pub struct SweepArgs {
    /// Scenario TOML file.
    pub scenario: PathBuf,
    #[arg(long = "vary", value_name = "KEY=LIST", required = true, value_parser = parse_vary,
          help = "Vary a setting (GUC=LIST) or a table what-if (NAME.KEY=LIST); LIST is a,b,c or a..b; repeat for a grid",
          long_help = VARY_HELP)]
    pub vary: Vec<Vary>,
    /// Hardware profiles (names in configs/hardware/ or paths), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "reference-2vcpu")]
    pub hardware: Vec<String>,
    /// Replications per grid point (seeds shared by all points).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    /// Base seed: replication r uses the same seed at every grid point.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for points.csv, summary.csv, fits.json, splits.csv and the plots.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Simulate every step: no steady-state fast-forward (for checking it; results agree
    /// within the tolerance docs/fast-forward.md states)
    #[arg(long)]
    pub no_fast_forward: bool,
    /// Worker threads (default: one per CPU). Results are identical for any value.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub threads: Option<u16>,
    /// Discard the finished simulations of an earlier, different sweep in DIR instead of refusing.
    #[arg(long)]
    pub fresh: bool,
}

/// `pqsim compare` arguments.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Scenario TOML file.
    pub scenario: PathBuf,
    /// Hardware profiles (names in configs/hardware/ or paths), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub hardware: Vec<String>,
    #[command(flatten)]
    pub whatif: WhatIfArgs,
    /// Simulate every step: no steady-state fast-forward (for checking it; results agree
    /// within the tolerance docs/fast-forward.md states)
    #[arg(long)]
    pub no_fast_forward: bool,
    /// Seed, as in `pqsim run`: the numbers match `run` on each profile.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: u32,
    /// Also write compare.csv and the comparison plots here.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

pub fn run_sweep(a: SweepArgs) -> Result<()> {
    if let Some(text) = workload::detect(&a)? {
        return workload::run(&a, &text);
    }
    if let Some(v) = a.vary.iter().find(|v| matches!(v.target, Target::Workload(_))) {
        return Err(Error::input(format!(
            "--vary {}: only a workload file (with [[class]]) has arrivals to vary",
            v.key
        )));
    }
    // Keys must be distinct.
    for (i, v) in a.vary.iter().enumerate() {
        if a.vary[..i].iter().any(|w| w.key == v.key) {
            return Err(Error::input(format!("--vary {}: the key is varied twice", v.key)));
        }
    }
    let combos = vary::combinations(&a.vary);
    let n_points = combos.len().saturating_mul(a.hardware.len());
    if n_points > MAX_POINTS {
        return Err(Error::input(format!(
            "the grid has {n_points} points (more than {MAX_POINTS}): vary fewer values"
        )));
    }
    let g = grid::load(&a, &combos)?;
    let dir = &a.output;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Resume from the journal when it belongs to this sweep.
    let identity = journal::identity(&a, &g.scenario_text, g.hw_hashes.clone());
    let (done, journal) = journal::resume(dir, &identity, a.fresh)?;
    // The directory is this sweep's: half-written temporaries of a killed run go.
    crate::render::atomic::remove_leftovers(dir);
    let rows = grid::run(&a, &g, done, &journal)?;

    let stats = summary::point_stats(&a, &g.points, &rows)?;
    let mut written = outputs::write_sweep_outputs(&a, &g.points, &g.hw_names, &rows, &stats)?;
    let mut facts = vec![
        ("scenario".to_string(), format!("{} ({})", g.points[0].sc.name, a.scenario.display())),
        ("hardware".to_string(), g.hw_names.join(", ")),
    ];
    facts.extend(a.vary.iter().map(|v| (format!("varied: {}", v.key), v.values.join(", "))));
    facts.extend(common_facts(&a.whatif, a.seed, a.replications));
    written.push(write_report(&a.output, "pqsim sweep", &facts, &written, &["summary.csv"])?);
    print!("{}", outputs::sweep_table(&a, &g.points, &g.hw_names, &stats));
    for f in written {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Helpers shared by sweep and compare
// ---------------------------------------------------------------------------------------

/// Bars of a time-split chart for one run: the leader's split and the mean worker's, labelled
/// `"{label} leader"` and `"{label} worker (mean of N)"`. `procs` is (is_worker, split) per process.
fn leader_and_mean_worker_bars(label: &str, procs: &[(bool, [f64; 6])]) -> Vec<StackedBar> {
    let mut bars = vec![];
    if let Some(l) = procs.iter().find(|x| !x.0) {
        bars.push(StackedBar::new(format!("{label} leader"), segments(&l.1)));
    }
    let ws: Vec<&[f64; 6]> = procs.iter().filter(|x| x.0).map(|x| &x.1).collect();
    if !ws.is_empty() {
        let mut m = [0.0; 6];
        for w in &ws {
            for (a, v) in m.iter_mut().zip(w.iter()) {
                *a += v / ws.len() as f64;
            }
        }
        bars.push(StackedBar::new(format!("{label} worker (mean of {})", ws.len()), segments(&m)));
    }
    bars
}

// `+ 0.0` turns -0.0 (an empty f64 sum) into 0.0.
fn f3(x: f64) -> String {
    format!("{:.3}", x + 0.0)
}

fn f4(x: f64) -> String {
    format!("{:.4}", x + 0.0)
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if len == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} simulations (eta {{eta}})"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}

fn in_pool<T: Send>(threads: Option<u16>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(usize::from(n))
                .build()
                .map_err(|e| Error::Simulation(format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

fn with_context(e: Error, ctx: &str) -> Error {
    match e {
        Error::Simulation(m) => Error::Simulation(format!("{ctx}: {m}")),
        Error::Sim(e) => Error::Simulation(format!("{ctx}: {e}")),
        Error::Input { loc, msg } => Error::Input { loc, msg: format!("{ctx}: {msg}") },
        other => other,
    }
}

fn short(label: &str) -> String {
    label.split(" (").next().unwrap_or(label).to_string()
}

fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Left-aligned first columns of text, right-aligned numbers.
fn text_table(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..n).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The question's common lines in a report: what-ifs, seed, replications, version.
fn common_facts(w: &WhatIfArgs, seed: u64, replications: u32) -> Vec<(String, String)> {
    let flags = w.flags();
    vec![
        ("what-ifs".to_string(), if flags.is_empty() { "none".to_string() } else { flags.join(" ") }),
        ("seed".to_string(), seed.to_string()),
        ("replications per point".to_string(), replications.to_string()),
        ("pqsim version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ]
}

/// `DIR/report.html`: the charts just written (their SVGs inline) and the CSV tables named.
fn write_report(
    dir: &Path,
    title: &str,
    facts: &[(String, String)],
    written: &[PathBuf],
    tables: &[&str],
) -> Result<PathBuf> {
    let svgs: Vec<(String, &Path)> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .map(|p| (p.file_stem().map(|s| s.to_string_lossy().replace('-', " ")).unwrap_or_default(), p.as_path()))
        .collect();
    let charts: Vec<(&str, &Path)> = svgs.iter().map(|(c, p)| (c.as_str(), *p)).collect();
    let csvs: Vec<PathBuf> = tables.iter().map(|t| dir.join(t)).collect();
    let tables: Vec<(&str, &Path)> = tables.iter().zip(&csvs).map(|(t, p)| (*t, p.as_path())).collect();
    let html = crate::render::html::files_report(title, facts, &tables, &charts)?;
    let path = dir.join("report.html");
    crate::render::html::write(&path, &html)?;
    Ok(path)
}

/// Draw one chart (PNG + SVG) as `DIR/stem.*`; returns the files written.
fn plot_into(
    dir: &Path,
    stem: &str,
    draw: impl FnOnce(&Path) -> std::result::Result<plot::Written, PlotError>,
) -> Result<Vec<PathBuf>> {
    let path = dir.join(stem);
    match draw(&path) {
        Ok(w) => Ok(vec![w.png, w.svg]),
        Err(e) => Err(e.into_error(&path)),
    }
}

fn segments(v: &[f64; 6]) -> Vec<(&'static str, f64)> {
    CATEGORIES.iter().zip(v.iter()).filter(|(_, x)| **x > 0.0).map(|(c, x)| (*c, *x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_never_print_negative_zero() {
        assert_eq!(f3(-0.0), "0.000");
        assert_eq!(f4(-0.0), "0.0000");
        assert_eq!(f3(1.23456), "1.235");
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(file_safe("my laptop/2"), "my_laptop_2");
        assert_eq!(short("laptop (at most 2 launched)"), "laptop");
    }

    #[test]
    fn text_table_aligns_text_left_and_numbers_right() {
        let t = text_table(&[vec!["hw".into(), "ms".into()], vec!["laptop".into(), "1.5".into()]]);
        assert_eq!(t, "hw       ms\nlaptop  1.5\n");
    }

    #[test]
    fn bars_show_the_leader_and_the_mean_worker_without_empty_segments() {
        let procs = [
            (false, [1.0, 0.0, 0.0, 5.0, 0.0, 0.0]),
            (true, [2.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
            (true, [4.0, 3.0, 0.0, 0.0, 0.0, 0.0]),
        ];
        let bars = leader_and_mean_worker_bars("W=2", &procs);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].label, "W=2 leader");
        assert_eq!(bars[0].segments, [("CPU".to_string(), 1.0), ("waiting for tuples".to_string(), 5.0)]);
        assert_eq!(bars[1].label, "W=2 worker (mean of 2)");
        assert_eq!(bars[1].segments, [("CPU".to_string(), 3.0), ("disk wait".to_string(), 2.0)]);
        assert!(leader_and_mean_worker_bars("x", &procs[..1]).len() == 1);
    }
}
