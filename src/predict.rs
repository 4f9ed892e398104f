//! One question answered: a scenario on a hardware profile, replicated with seeded streams.
//!
//! The headline is over all replications (mean, model 95% CI, and the 80% interval for one
//! real run); the EXPLAIN, the process table and the wait samples describe one representative
//! replication: the one whose wall time is nearest the median.

use crate::analysis::stats::Summary;
use crate::error::{Error, Result};
use crate::exec::{self, RunSpec, SimResult};
use crate::model::{Hardware, Node, OutputMode, RunQuantiles, Scenario};
use crate::planner::{decide, Decision};
use crate::report::{self, waits, Representative};
use statrs::distribution::{ContinuousCDF, Normal};

pub use crate::report::Prediction;

/// The former name of [`Prediction`].
pub type RunOutput = Prediction;

pub use crate::engine::streams::replication_seed;

/// What to record beyond the headline.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Options {
    /// Keep the representative replication's trace (state intervals, queue fill).
    pub trace: bool,
    /// Sample the representative replication's wait events every this many ms (as the run
    /// goes: no trace is kept for it).
    pub sample_period_ms: Option<f64>,
    /// Keep every wait sample as a row (`run --wait-samples`), not only the profile's counts.
    pub sample_rows: bool,
}

/// `run_scenario_with` without wait samples (sweeps, compare, calibration).
pub fn run_scenario(sc: &Scenario, hw: &Hardware, seed: u64, replications: u32, trace: bool) -> Result<Prediction> {
    run_decided(sc, hw, &decide(sc), seed, replications, trace)
}

/// [`run_scenario`] with the plan decision already made (`d` must be `decide(sc)`): callers that
/// simulate one scenario many times plan it once.
pub fn run_decided(
    sc: &Scenario,
    hw: &Hardware,
    d: &Decision,
    seed: u64,
    replications: u32,
    trace: bool,
) -> Result<Prediction> {
    run_decided_with(sc, hw, d, seed, replications, &Options { trace, sample_period_ms: None, sample_rows: false })
}

/// Replicate the scenario, summarise the wall times, and describe the representative one.
pub fn run_scenario_with(
    sc: &Scenario,
    hw: &Hardware,
    seed: u64,
    replications: u32,
    o: &Options,
) -> Result<Prediction> {
    run_decided_with(sc, hw, &decide(sc), seed, replications, o)
}

/// [`run_scenario_with`] with the plan decision already made.
pub fn run_decided_with(
    sc: &Scenario,
    hw: &Hardware,
    d: &Decision,
    seed: u64,
    replications: u32,
    o: &Options,
) -> Result<Prediction> {
    let period_ns = |ms: f64| (ms * 1e6).round().max(1.0) as u64;
    // Rows beyond this can only come from a period that must widen (see below).
    let max_rows = 2 * MAX_WAIT_SAMPLES as usize;
    let spec = |r: u32, trace: bool, sample_ms: Option<f64>| RunSpec {
        trace,
        wait_sample_period: sample_ms.map(period_ns),
        wait_sample_rows: (o.sample_rows && sample_ms.is_some()).then_some(max_rows),
        ..RunSpec::new(sc, hw, &d.plan, d.workers_planned, d.workers_launched, replication_seed(seed, r))
    };
    // The plan is compiled once: replications differ only in their seeds.
    let compiled = exec::compile_for(&spec(0, false, None));
    let sim = |r: u32, trace: bool, sample_ms: Option<f64>| {
        exec::simulate_compiled(&spec(r, trace, sample_ms), &compiled).map_err(Error::from)
    };
    let mut walls = vec![];
    let mut stalls = vec![];
    let mut splits = vec![];
    // Without a trace or sample rows, every replication is simulated as the representative
    // would be (wait samples counted as the run goes cost little) and kept, so the
    // representative is not simulated a second time; otherwise only the first is kept.
    let keep_all = !o.trace && !o.sample_rows;
    let mut kept: Vec<Option<SimResult>> = vec![];
    for r in 0..replications {
        let res = if r == 0 || keep_all { sim(r, o.trace, o.sample_period_ms)? } else { sim(r, false, None)? };
        walls.push(res.wall as f64 / 1e6);
        stalls.push(res.queue_full_stalls as f64);
        splits.push(report::process_splits(&res));
        if r == 0 || keep_all {
            kept.push(Some(res));
        }
    }
    let summary = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("{e:?}")))?;
    let rep = nearest_median(&walls, summary.median);
    // Every replication launches the same workers.
    let processes = kept.first().and_then(|f| f.as_ref()).map_or(1, |f| f.processes.len());
    // A long run sampled every few ms would make millions of samples: the period widens to
    // keep at most MAX_WAIT_SAMPLES (the period used is reported in the prediction). The
    // representative's wall time is known before it is (re-)simulated; a kept replication is
    // simulated again in the rare case its period must widen.
    let widen = |wall_ms: f64, procs: usize| {
        o.sample_period_ms.map(|period| period.max(wall_ms * procs as f64 / MAX_WAIT_SAMPLES))
    };
    let sample_period_ms = widen(walls[rep], processes);
    let same_period = sample_period_ms.map(period_ns) == o.sample_period_ms.map(period_ns);
    let res = match kept.get_mut(rep).and_then(Option::take) {
        Some(f) if same_period => f,
        _ => sim(rep as u32, o.trace, sample_period_ms)?,
    };
    let gather_merge = matches!(d.plan.find_gather(), Some(Node::GatherMerge { .. }));
    let backends = waits::backends(seed, res.processes.len().saturating_sub(1));
    let (wait_samples, wait_profile) = match res.wait_samples.as_ref() {
        Some(w) => {
            debug_assert_eq!(Some(w.period), sample_period_ms.map(period_ns));
            debug_assert!(!w.rows_overflow, "the period widens before rows overflow");
            (waits::rows(w, &backends, gather_merge), waits::profile_of(w, &backends, gather_merge))
        }
        None => (vec![], vec![]),
    };
    let representative = Representative {
        index: rep as u32,
        wall_ms: walls[rep],
        splits: report::mean_splits(std::slice::from_ref(&splits[rep])),
        stalls: stalls[rep],
        events: res.events,
        explain: report::explain(sc, hw, &d.plan, Some(&d.report.costed), &compiled, &res),
        wait_samples,
        wait_profile,
    };
    // The machine's spread for this plan's shape: with workers launched, or serial.
    let run_quantiles = hw.run_quantiles_for(d.workers_launched > 0);
    let p80 = one_run_interval(&walls, summary.mean, hw.run_sigma, run_quantiles.as_ref(), hw.model_sigma);
    Ok(Prediction {
        scenario: sc.name.clone(),
        hardware: hw.name.clone(),
        hardware_description: hw.description.clone(),
        measure: match sc.output {
            OutputMode::ExplainAnalyze => "explain-analyze",
            OutputMode::ExplainAnalyzeTimingOff => "timing-off",
            OutputMode::Client => "client",
        },
        seed,
        replications,
        summary,
        wall_ms_p80: p80,
        run_sigma: hw.run_sigma,
        run_sigma_measured: hw.run_sigma_measured,
        run_quantiles,
        model_sigma: hw.model_sigma,
        model_sigma_measured: hw.model_sigma_measured,
        wall_ms: walls,
        workers_planned: d.workers_planned,
        workers_launched: res.workers_launched,
        stalls,
        splits: report::mean_splits(&splits),
        settings: sc.settings.non_default().into_iter().collect(),
        sample_period_ms,
        trace: res.trace.clone().map(|t| (t, res.workers_launched)),
        representative,
    })
}

/// Wait samples one run may produce (rows of --wait-samples), to keep memory bounded.
pub const MAX_WAIT_SAMPLES: f64 = 5_000_000.0;

/// Index of the wall time nearest `median` (the first of equals).
fn nearest_median(walls: &[f64], median: f64) -> usize {
    let mut best = 0;
    for (i, w) in walls.iter().enumerate() {
        if (w - median).abs() < (walls[best] - median).abs() {
            best = i;
        }
    }
    best
}

/// z of the 90th percentile of the standard normal: an 80% two-sided interval.
pub const Z80: f64 = 1.281_551_565_545;

/// 80% interval for one real run around `typical`. One run's log time is the prediction plus
/// three independent parts: the model's spread over its replications (the simulated start-up
/// delays and CPU noise), the machine's run-to-run spread and the model's own error on a query
/// it was not fitted to (`model_sigma`, estimated out of sample by calibration). The machine's
/// part is a log-normal of `run_sigma`, or, when calibration measured them, the `quantiles` of
/// one run over its median as they are (skewed: a host slows a run more often than it speeds
/// one up); the other two are log-normal, and the interval is the 10th and 90th percentiles of
/// the sum.
pub fn one_run_interval(
    walls: &[f64],
    typical: f64,
    run_sigma: f64,
    quantiles: Option<&RunQuantiles>,
    model_sigma: f64,
) -> [f64; 2] {
    let Some(q) = quantiles else {
        let sigma = one_run_sigma(walls, run_sigma, model_sigma);
        return [typical * (-Z80 * sigma).exp(), typical * (Z80 * sigma).exp()];
    };
    // The machine's part as equally likely values (the midpoints of equal slices of its
    // distribution), each widened by the normal rest.
    let rest = one_run_sigma(walls, 0.0, model_sigma);
    if rest <= 0.0 {
        return [typical * q.ln_at(0.1).exp(), typical * q.ln_at(0.9).exp()];
    }
    let m = q.ln_points();
    let (lo, hi) = (m[0] - 10.0 * rest - 1.0, m[m.len() - 1] + 10.0 * rest + 1.0);
    let unit = Normal::new(0.0, 1.0).expect("the unit normal");
    let cdf = |x: f64| -> f64 { m.iter().map(|mi| unit.cdf((x - mi) / rest)).sum::<f64>() / m.len() as f64 };
    let at = |p: f64| -> f64 {
        let (a, b) = crate::analysis::optimize::bisect(lo, hi, 60, |x| cdf(x) < p);
        0.5 * (a + b)
    };
    [typical * at(0.1).exp(), typical * at(0.9).exp()]
}

/// The log-sigma of [`one_run_interval`]: sqrt(replications' spread² + run_sigma² + model_sigma²).
pub fn one_run_sigma(walls: &[f64], run_sigma: f64, model_sigma: f64) -> f64 {
    let logs: Vec<f64> = walls.iter().filter(|w| **w > 0.0).map(|w| w.ln()).collect();
    let replication_sigma = if logs.len() > 1 {
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        (logs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    (replication_sigma.powi(2) + run_sigma.powi(2) + model_sigma.powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representative_is_the_replication_nearest_the_median() {
        assert_eq!(nearest_median(&[10.0, 30.0, 19.0, 21.0], 20.0), 2);
        assert_eq!(nearest_median(&[5.0], 5.0), 0);
    }

    #[test]
    fn one_run_interval_widens_with_the_machines_sigma_and_the_models_spread() {
        let [lo, hi] = one_run_interval(&[100.0], 100.0, 0.0, None, 0.0);
        assert!((lo - 100.0).abs() < 1e-9 && (hi - 100.0).abs() < 1e-9);
        let [lo, hi] = one_run_interval(&[100.0], 100.0, 0.1, None, 0.0);
        assert!((hi / 100.0 - (0.1 * Z80).exp()).abs() < 1e-9);
        assert!((lo * hi - 100.0 * 100.0).abs() < 1e-6, "log-symmetric");
        let [lo2, hi2] = one_run_interval(&[90.0, 110.0], 100.0, 0.1, None, 0.0);
        assert!(lo2 < lo && hi2 > hi);
    }

    #[test]
    fn one_run_interval_widens_with_the_models_own_error() {
        let walls = [95.0, 100.0, 105.0];
        let [lo0, hi0] = one_run_interval(&walls, 100.0, 0.117, None, 0.0);
        let [lo1, hi1] = one_run_interval(&walls, 100.0, 0.117, None, 0.15);
        let [lo2, hi2] = one_run_interval(&walls, 100.0, 0.117, None, 0.30);
        assert!(lo2 < lo1 && lo1 < lo0 && hi0 < hi1 && hi1 < hi2, "{lo0} {lo1} {lo2} .. {hi0} {hi1} {hi2}");
        // Independent parts: the variances add (here with no spread over replications).
        let [_, hi] = one_run_interval(&[100.0], 100.0, 0.3, None, 0.4);
        assert!((hi / 100.0 - (0.5 * Z80).exp()).abs() < 1e-9, "sqrt(0.3² + 0.4²) = 0.5");
        // Runs whose log time is prediction + machine noise (0.3) + model error (0.4): the
        // interval with both parts holds about 80% of them, the machine's part alone far fewer.
        let mut z = normals(0x2545_f491_4f6c_dd1d);
        let runs: Vec<f64> = (0..4000).map(|_| 100.0 * (0.5 * z()).exp()).collect();
        let share = |[lo, hi]: [f64; 2]| runs.iter().filter(|r| (lo..=hi).contains(*r)).count() as f64 / 4000.0;
        let both = share(one_run_interval(&[100.0], 100.0, 0.3, None, 0.4));
        let machine_only = share(one_run_interval(&[100.0], 100.0, 0.3, None, 0.0));
        assert!((both - 0.8).abs() < 0.03, "{both}");
        assert!(machine_only < 0.6, "{machine_only}");
    }

    /// A deterministic stream of standard normals (Box-Muller over an LCG).
    fn normals(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            let mut uniform = || {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (u1, u2) = (uniform(), uniform());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    #[test]
    fn measured_quantiles_of_a_log_normal_give_its_interval() {
        let z = [-1.644_853_6, -Z80, -0.674_489_75, 0.0, 0.674_489_75, Z80, 1.644_853_6];
        let q = RunQuantiles(z.map(|z| (0.3 * z).exp()));
        let [lo, hi] = one_run_interval(&[100.0], 100.0, 0.0, Some(&q), 0.0);
        assert!((hi / 100.0 / (0.3 * Z80).exp() - 1.0).abs() < 0.005, "{hi}");
        assert!((lo / 100.0 / (-0.3 * Z80).exp() - 1.0).abs() < 0.005, "{lo}");
        // With the model's error beside it, as wide as the log-normal of both.
        let [lo2, hi2] = one_run_interval(&[100.0], 100.0, 0.0, Some(&q), 0.4);
        let [lo3, hi3] = one_run_interval(&[100.0], 100.0, 0.3, None, 0.4);
        assert!((hi2 / hi3 - 1.0).abs() < 0.01 && (lo2 / lo3 - 1.0).abs() < 0.01, "{lo2}..{hi2} vs {lo3}..{hi3}");
    }

    /// A host that runs a query at its usual speed (2% noise) four times in five and half as
    /// fast the fifth: the measured quantiles' interval holds 80% of such runs, the log-normal
    /// of the same runs' robust sigma (what `run_sigma` is) far fewer, its top below the slow
    /// runs.
    #[test]
    fn a_plan_takes_the_run_spread_of_its_shape() {
        // testpar-count: count(*) under a Gather. With workers it takes the narrow spread
        // measured over plans with workers; forced serial, the wide one of serial plans.
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/scenarios/testpar-count.toml"));
        let w = crate::config::WhatIf::default();
        let (sc, mut hw) = crate::config::load(path, "reference-2vcpu", &w).expect("shipped");
        hw.run_quantiles_serial = Some(RunQuantiles([0.6, 0.7, 0.9, 1.0, 1.1, 1.8, 2.0]));
        hw.run_quantiles_parallel = Some(RunQuantiles([0.95, 0.96, 0.98, 1.0, 1.02, 1.05, 1.06]));
        let width = |p: &Prediction| p.wall_ms_p80[1] / p.wall_ms_p80[0];
        let parallel = run_scenario(&sc, &hw, 1, 3, false).expect("runs");
        assert!(parallel.workers_launched > 0);
        assert_eq!(parallel.run_quantiles, hw.run_quantiles_parallel);
        let w0 = crate::config::WhatIf {
            set: vec![("max_parallel_workers_per_gather".into(), "0".into())],
            ..Default::default()
        };
        let (serial_sc, _) = crate::config::load(path, "reference-2vcpu", &w0).expect("shipped");
        let serial = run_scenario(&serial_sc, &hw, 1, 3, false).expect("runs");
        assert_eq!((serial.workers_launched, serial.run_quantiles), (0, hw.run_quantiles_serial));
        assert!(width(&serial) > width(&parallel) * 1.5, "{:?} {:?}", serial.wall_ms_p80, parallel.wall_ms_p80);
    }

    #[test]
    fn a_skewed_machine_spread_shifts_the_interval_to_the_slow_side() {
        let mut z = normals(0x9e37_79b9_7f4a_7c15);
        let mut n = 0u64;
        let runs: Vec<f64> = (0..20_000)
            .map(|_| {
                n += 1;
                let slow = if n % 5 == 0 { 1.5 } else { 1.0 };
                slow * (0.02 * z()).exp() * (0.1 * z()).exp()
            })
            .collect();
        // The machine's part alone, as calibration measures it (run / median, no model error).
        let mut machine: Vec<f64> =
            (0..20_000u64).map(|i| if (i + 1) % 5 == 0 { 1.5 } else { 1.0 } * (0.02 * z()).exp()).collect();
        machine.sort_by(f64::total_cmp);
        let med = machine[machine.len() / 2];
        let at = |p: f64| machine[(p * (machine.len() - 1) as f64).round() as usize] / med;
        let q = RunQuantiles(crate::model::RUN_QUANTILE_PROBS.map(at));
        let mut dev: Vec<f64> = machine.iter().map(|x| (x / med).ln().abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad_sigma = 1.4826 * dev[dev.len() / 2];
        let share =
            |[lo, hi]: [f64; 2]| runs.iter().filter(|r| (lo..=hi).contains(*r)).count() as f64 / runs.len() as f64;
        let measured = one_run_interval(&[1.0], 1.0, mad_sigma, Some(&q), 0.1);
        let lognormal = one_run_interval(&[1.0], 1.0, mad_sigma, None, 0.1);
        assert!((share(measured) - 0.8).abs() < 0.03, "{} {measured:?}", share(measured));
        assert!(share(lognormal) < 0.72, "{} {lognormal:?}", share(lognormal));
        assert!(measured[1] > 1.3 && lognormal[1] < 1.2, "{measured:?} {lognormal:?}");
    }
}
