//! `pqsim compare`: one scenario on several hardware profiles, side by side.

use super::{
    common_facts, f3, f4, leader_and_mean_worker_bars, plot_into, progress_bar, text_table, with_context, write_report,
    CompareArgs,
};
use crate::config;
use crate::error::{Error, Result};
use crate::model::{Hardware, Scenario};
use crate::predict::{self, RunOutput};
use crate::render::atomic;
use crate::render::plot;
use crate::report::{Category, ProcessSplit};
use rayon::prelude::*;

pub fn run_compare(a: CompareArgs) -> Result<()> {
    let loaded = load_profiles(&a)?;
    let outs = simulate(&a, &loaded)?;
    let fastest = outs.iter().map(|o| o.summary.mean).fold(f64::INFINITY, f64::min);
    let (header, lines) = compare_csv(&loaded, &outs, fastest);
    let sc_name = &loaded[0].0.name;
    print_table(&a, sc_name, &lines, &outs, fastest);
    if let Some(dir) = &a.output {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("compare.csv");
        atomic::write_csv(&path, &header, lines)?;
        let mut written = vec![path];
        // Where the time goes on each machine (bar ends = each process's total).
        let mut bars = vec![];
        for ((_, hw), o) in loaded.iter().zip(&outs) {
            let procs: Vec<(bool, [f64; 6])> = o.splits.iter().map(|p| (p.is_worker(), p.groups())).collect();
            bars.extend(leader_and_mean_worker_bars(&hw.name, &procs));
        }
        let title = format!("Where the time goes by hardware: {sc_name}");
        written.extend(plot_into(dir, "compare", |s| plot::stacked_time_split(s, &title, &bars))?);
        let mut facts = vec![
            ("scenario".to_string(), format!("{sc_name} ({})", a.scenario.display())),
            ("hardware".to_string(), loaded.iter().map(|(_, h)| h.name.clone()).collect::<Vec<_>>().join(", ")),
        ];
        facts.extend(common_facts(&a.whatif, a.seed, a.replications));
        written.push(write_report(dir, "pqsim compare", &facts, &written, &["compare.csv"])?);
        for f in written {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}

/// The scenario loaded for each profile; a profile listed twice is refused.
fn load_profiles(a: &CompareArgs) -> Result<Vec<(Scenario, Hardware)>> {
    let mut loaded = vec![];
    for h in &a.hardware {
        let h = h.trim();
        if h.is_empty() {
            return Err(Error::input("--hardware: empty profile name in the list"));
        }
        let (sc, hw) = config::load(&a.scenario, h, &a.whatif.to_whatif())?;
        if loaded.iter().any(|(_, x): &(Scenario, Hardware)| x.name == hw.name) {
            return Err(Error::input(format!("--hardware: the profile \"{}\" is listed twice", hw.name)));
        }
        loaded.push((sc, hw));
    }
    Ok(loaded)
}

/// One run per profile, in parallel; results in the order of the profiles.
fn simulate(a: &CompareArgs, loaded: &[(Scenario, Hardware)]) -> Result<Vec<RunOutput>> {
    let pb = progress_bar(loaded.len() as u64, "compare");
    let outs: Vec<Result<RunOutput>> = loaded
        .par_iter()
        .map(|(sc, hw)| {
            let r = predict::run_scenario(sc, hw, a.seed, a.replications, false)
                .map_err(|e| with_context(e, &format!("on {}", hw.name)));
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    outs.into_iter().collect()
}

/// compare.csv: one line per profile.
fn compare_csv(loaded: &[(Scenario, Hardware)], outs: &[RunOutput], fastest: f64) -> (Vec<String>, Vec<Vec<String>>) {
    let header: Vec<String> = [
        "hardware",
        "cores",
        "cache",
        "workers_planned",
        "workers_launched",
        "wall_time_ms_mean",
        "wall_time_ms_median",
        "ci95_lo",
        "ci95_hi",
        "relative",
        "queue_full_stalls",
        "cpu_ms",
        "io_wait_ms",
        "mq_send_wait_ms",
        "leader_mq_receive_wait_ms",
        "startup_ms",
    ]
    .map(String::from)
    .to_vec();
    let mut lines = vec![];
    for ((_, hw), o) in loaded.iter().zip(outs) {
        let sum = |f: &dyn Fn(&ProcessSplit) -> f64, workers_only: bool| {
            o.splits.iter().filter(|p| !workers_only || p.is_worker()).map(f).sum::<f64>()
        };
        let leader_rx: f64 = o.splits.iter().filter(|p| !p.is_worker()).map(|p| p.time(Category::MqReceive)).sum();
        let stalls = o.stalls.iter().sum::<f64>() / o.stalls.len() as f64;
        lines.push(vec![
            hw.name.clone(),
            format!("{}", hw.cores),
            hw.cache.name().to_string(),
            o.workers_planned.to_string(),
            o.workers_launched.to_string(),
            f3(o.summary.mean),
            f3(o.summary.median),
            f3(o.summary.ci95_lo),
            f3(o.summary.ci95_hi),
            f4(o.summary.mean / fastest),
            f3(stalls),
            f3(sum(&|p| p.time(Category::Cpu), false)),
            f3(sum(&|p| p.time(Category::Io), false)),
            f3(sum(&|p| p.time(Category::MqSend), true)),
            f3(leader_rx),
            f3(sum(&|p| p.time(Category::Startup), false)),
        ]);
    }

    (header, lines)
}

/// The comparison table on stdout.
fn print_table(a: &CompareArgs, sc_name: &str, lines: &[Vec<String>], outs: &[RunOutput], fastest: f64) {
    let mut t = vec![[
        "hardware",
        "cores",
        "cache",
        "workers",
        "wall ms",
        "95% CI",
        "median",
        "relative",
        "CPU ms",
        "disk ms",
        "MQSend ms",
    ]
    .map(String::from)
    .to_vec()];
    for (l, o) in lines.iter().zip(outs) {
        t.push(vec![
            l[0].clone(),
            l[1].clone(),
            l[2].clone(),
            format!("{}/{}", o.workers_launched, o.workers_planned),
            format!("{:.1}", o.summary.mean),
            format!("{:.1} .. {:.1}", o.summary.ci95_lo, o.summary.ci95_hi),
            format!("{:.1}", o.summary.median),
            format!("{:.2}", o.summary.mean / fastest),
            format!("{:.1}", l[11].parse::<f64>().unwrap_or(0.0)),
            format!("{:.1}", l[12].parse::<f64>().unwrap_or(0.0)),
            format!("{:.1}", l[13].parse::<f64>().unwrap_or(0.0)),
        ]);
    }
    println!("Scenario: {sc_name}  ({} replications, seed {})", a.replications, a.seed);
    print!("{}", text_table(&t));
    println!(
        "(relative = mean wall time / the fastest; CPU and disk summed over processes; MQSend summed over workers)"
    );
}
