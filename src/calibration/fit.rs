//! The calibration's fits: unit costs by name, the provisional profile, the model's time of
//! a probe, and the simulation-in-the-loop fit ([`sim_fit`]).
//!
//! Invariant: a fit only ever evaluates the simulator on scenarios imported once, before the
//! fit starts ([`model_ms`] plans and simulates; it formats no EXPLAIN text and reads no
//! file), so an evaluation costs one simulation per replication and nothing else.

use crate::analysis::optimize::golden_section;
use crate::analysis::stats::Summary;
use crate::error::{Error, Result};
use crate::exec::{self, RunSpec};
use crate::model::*;
use crate::planner::decide;
use crate::predict::replication_seed;
use std::collections::HashMap;

/// The model's predicted wall time (ms) of a scenario on a profile: the median of
/// `replications` runs (seed 1), measured as `EXPLAIN (ANALYZE, TIMING OFF)` (or the bare
/// query for client scenarios), like the probes. The same numbers as
/// `predict::run_scenario(.., 1, replications, false)`, without building its report.
pub fn model_ms(sc: &Scenario, hw: &Hardware, replications: u32) -> Result<f64> {
    let output = if sc.output == OutputMode::ExplainAnalyze { OutputMode::ExplainAnalyzeTimingOff } else { sc.output };
    model_ms_as(sc, hw, replications, output)
}

/// [`model_ms`] measured as `output` says (e.g. EXPLAIN ANALYZE with per-node timing).
pub fn model_ms_as(sc: &Scenario, hw: &Hardware, replications: u32, output: OutputMode) -> Result<f64> {
    let walls = model_walls_as(sc, hw, replications, output)?;
    if replications > 1 {
        let summary = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("{e:?}")))?;
        Ok(summary.median)
    } else {
        Ok(walls[0])
    }
}

/// The wall times (ms) of `replications` simulations (seed 1) measured as `output` says.
pub fn model_walls_as(sc: &Scenario, hw: &Hardware, replications: u32, output: OutputMode) -> Result<Vec<f64>> {
    let mut s = sc.with_hardware_settings(hw);
    s.output = output;
    let d = decide(&s);
    let mut walls = Vec::with_capacity(replications as usize);
    for r in 0..replications.max(1) {
        let spec = RunSpec::new(&s, hw, &d.plan, d.workers_planned, d.workers_launched, replication_seed(1, r));
        let (_, res) = exec::simulate(&spec)?;
        walls.push(res.wall as f64 / 1e6);
    }
    Ok(walls)
}

/// One simulation (seed 1) of a scenario measured as `EXPLAIN (ANALYZE, TIMING OFF)`: its
/// wall time (ms) and the leader's share of the rows scanned by all participants (None when
/// nothing was scanned), the model's counterpart of EXPLAIN VERBOSE's `Worker N` rows.
pub fn model_split(sc: &Scenario, hw: &Hardware) -> Result<(f64, Option<f64>)> {
    model_split_cpu(sc, hw).map(|s| (s.ms, s.leader_share))
}

/// What one simulation of a probe says beside its wall time.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub ms: f64,
    /// The leader's share of the rows scanned by all participants.
    pub leader_share: Option<f64>,
    /// The leader's time running on a core (ms), the model's counterpart of its backend's
    /// CPU time in `/proc/PID/schedstat`.
    pub leader_cpu_ms: f64,
    /// Every process's time on a core (ms): the leader's and the workers'.
    pub all_cpu_ms: f64,
    /// A worker's time on a core (ms), the mean over the workers launched (0 without any):
    /// the counterpart of the CPU time the postmaster reaps from each worker.
    pub worker_cpu_ms: f64,
}

/// `model_split` with the leader's CPU time.
pub fn model_split_cpu(sc: &Scenario, hw: &Hardware) -> Result<Split> {
    let mut s = sc.with_hardware_settings(hw);
    if s.output == OutputMode::ExplainAnalyze {
        s.output = OutputMode::ExplainAnalyzeTimingOff;
    }
    let d = decide(&s);
    let spec = RunSpec::new(&s, hw, &d.plan, d.workers_planned, d.workers_launched, replication_seed(1, 0));
    let (_, res) = exec::simulate(&spec)?;
    let total: f64 = res.processes.iter().map(|p| p.tuples_scanned).sum();
    let leader = res.processes.iter().find(|p| !p.is_worker).map_or(0.0, |p| p.tuples_scanned);
    let leader_cpu_ms = res.processes.iter().filter(|p| !p.is_worker).map(|p| p.acct.on_cpu).sum::<f64>() / 1e6;
    let all_cpu_ms = res.processes.iter().map(|p| p.acct.on_cpu).sum::<f64>() / 1e6;
    let workers = res.processes.iter().filter(|p| p.is_worker).count();
    let worker_cpu_ms = if workers == 0 { 0.0 } else { (all_cpu_ms - leader_cpu_ms) / workers as f64 };
    Ok(Split {
        ms: res.wall as f64 / 1e6,
        leader_share: (total > 0.0).then(|| leader / total),
        leader_cpu_ms,
        all_cpu_ms,
        worker_cpu_ms,
    })
}

// Unit costs by name
// ---------------------------------------------------------------------------------------

/// Unit costs fitted by the serial least squares, in the profile's order.
pub const LINEAR_COSTS: &[&str] = &[
    "page_ns",
    "os_read_page_ns",
    "page_data_ns",
    "row_data_ns",
    "row_miss_ns",
    "buffer_jump_ns",
    "buffer_jump_data_ns",
    "tuple_ns",
    "qual_ns",
    "agg_transition_ns",
    "hash_build_ns",
    "hash_probe_ns",
    "hash_match_ns",
    "hash_miss_ns",
    "hash_insert_miss_ns",
    "sort_tuple_ns",
    "sort_compare_ns",
    "index_tuple_ns",
    "index_descent_ns",
    "temp_page_ns",
    "client_row_ns",
];

/// The schema- and expression-aware prices (`model::cpu_costs`), fitted with the linear costs
/// when some probe exercises them (and said to be not separated when none does).
pub const CPU_COSTS: &[&str] = &[
    "deform_attr_ns",
    "deform_slow_attr_ns",
    "project_attr_ns",
    "form_attr_ns",
    "op_int_ns",
    "op_numeric_cmp_ns",
    "op_numeric_arith_ns",
    "op_numeric_cast_ns",
    "op_date_timestamp_ns",
    "op_date_timestamptz_ns",
    "op_text_eq_ns",
    "op_bpchar_eq_ns",
    "op_text_cmp_ns",
    "op_like_ns",
    "op_hashed_saop_ns",
    "op_numeric_long_ns",
    "op_generic_ns",
    "agg_count_star_ns",
    "agg_count_ns",
    "agg_sum_int_ns",
    "agg_sum_int8_ns",
    "agg_sum_float_ns",
    "agg_sum_numeric_ns",
    "agg_minmax_ns",
    "agg_minmax_varlena_ns",
    "agg_generic_ns",
];

/// The unit cost called `name` (its key in a profile's `[costs]`), if there is one.
pub fn cost_mut<'a>(c: &'a mut UnitCosts, name: &str) -> Option<&'a mut f64> {
    Some(match name {
        "page_ns" => &mut c.page_ns,
        "os_read_page_ns" => &mut c.os_read_page_ns,
        "page_data_ns" => &mut c.page_data_ns,
        "row_data_ns" => &mut c.row_data_ns,
        "row_miss_ns" => &mut c.row_miss_ns,
        "buffer_jump_ns" => &mut c.buffer_jump_ns,
        "buffer_jump_data_ns" => &mut c.buffer_jump_data_ns,
        "worker_page_fault_ns" => &mut c.worker_page_fault_ns,
        "gather_row_ns" => &mut c.gather_row_ns,
        "gather_poll_ns" => &mut c.gather_poll_ns,
        "tuple_ns" => &mut c.tuple_ns,
        "qual_ns" => &mut c.qual_ns,
        "agg_transition_ns" => &mut c.agg_transition_ns,
        "hash_build_ns" => &mut c.hash_build_ns,
        "hash_probe_ns" => &mut c.hash_probe_ns,
        "hash_match_ns" => &mut c.hash_match_ns,
        "hash_miss_ns" => &mut c.hash_miss_ns,
        "hash_insert_miss_ns" => &mut c.hash_insert_miss_ns,
        "parallel_hash_insert_ns" => &mut c.parallel_hash_insert_ns,
        "parallel_hash_probe_ns" => &mut c.parallel_hash_probe_ns,
        "sort_tuple_ns" => &mut c.sort_tuple_ns,
        "sort_compare_ns" => &mut c.sort_compare_ns,
        "index_tuple_ns" => &mut c.index_tuple_ns,
        "index_descent_ns" => &mut c.index_descent_ns,
        "tuple_send_ns" => &mut c.tuple_send_ns,
        "tuple_receive_ns" => &mut c.tuple_receive_ns,
        "gather_merge_tuple_ns" => &mut c.gather_merge_tuple_ns,
        "client_row_ns" => &mut c.client_row_ns,
        "instrument_call_ns" => &mut c.instrument_call_ns,
        "temp_page_ns" => &mut c.temp_page_ns,
        "wakeup_ns" => &mut c.wakeup_ns,
        other => return c.cpu.get_mut(other),
    })
}

pub fn zero_costs() -> UnitCosts {
    UnitCosts {
        page_ns: 0.0,
        os_read_page_ns: 0.0,
        page_data_ns: 0.0,
        row_data_ns: 0.0,
        row_miss_ns: 0.0,
        buffer_jump_ns: 0.0,
        buffer_jump_data_ns: 0.0,
        worker_page_fault_ns: 0.0,
        gather_row_ns: 0.0,
        gather_poll_ns: 0.0,
        tuple_ns: 0.0,
        qual_ns: 0.0,
        agg_transition_ns: 0.0,
        hash_build_ns: 0.0,
        hash_probe_ns: 0.0,
        hash_match_ns: 0.0,
        hash_miss_ns: 0.0,
        hash_insert_miss_ns: 0.0,
        parallel_hash_insert_ns: 0.0,
        parallel_hash_probe_ns: 0.0,
        hash_cache_bytes: crate::model::hash_table::DEFAULT_CACHE_BYTES,
        hash_far_bytes: crate::model::hash_table::default_far_bytes(crate::model::hash_table::DEFAULT_CACHE_BYTES),
        sort_tuple_ns: 0.0,
        sort_compare_ns: 0.0,
        index_tuple_ns: 0.0,
        index_descent_ns: 0.0,
        tuple_send_ns: 0.0,
        tuple_receive_ns: 0.0,
        gather_merge_tuple_ns: 0.0,
        client_row_ns: 0.0,
        temp_page_ns: 0.0,
        wakeup_ns: 0.0,
        instrument_ns: 0.0,
        instrument_call_ns: 0.0,
        query_explain_ns: 0.0,
        query_client_ns: 0.0,
        plan_join_ns: 0.0,
        cpu: crate::model::cpu_costs::CpuCosts::zero(),
    }
}

/// CPU a worker spends signalling its sleeping leader (`scheduler.set_latch_ns`): `perf
/// record -a -g` over 40 single-copy Gathers sending lineitem's 240,000 rows on a 2-vCPU AMD
/// EPYC VM (2026-12-07): 8.2% of the worker's samples in `kill` and the signal's delivery,
/// 4.7 ms a run over its leader's 472 sleeps. Not measured by calibration.
pub const SET_LATCH_NS: f64 = 9.5e3;

/// Values kept from the provisional reference profile for what calibration does not measure.
pub fn provisional() -> Hardware {
    Hardware {
        name: "calibrating".into(),
        description: String::new(),
        cores: 2.0,
        cpu_speed: 1.0,
        all_cores_busy_speed: 1.0,
        cache: CacheState::Warm,
        disk: Disk {
            seq_bytes_per_ns: 400.0 * 1024.0 * 1024.0 / 1e9,
            request_latency_ns: 200e3,
            read_ahead_bytes: 8.0 * 1024.0 * 1024.0,
            queue_depth: 32.0,
        },
        costs: UnitCosts {
            page_ns: 300.0,
            os_read_page_ns: 1500.0,
            page_data_ns: 1000.0,
            row_data_ns: 10.0,
            row_miss_ns: 0.0,
            // The priors of a weak fit: lineitem prewarmed in random vs block order on the
            // 2-vCPU Xeon VM, count(*) +0.25-0.33 us a page, sum(l_linenumber) +1.1; the
            // shuffled probe table alone gave 378 +- 409 ns (docs/cpu-costs.md).
            buffer_jump_ns: 300.0,
            buffer_jump_data_ns: 300.0,
            worker_page_fault_ns: 0.0,
            gather_row_ns: 0.0,
            gather_poll_ns: 0.0,
            tuple_ns: 40.0,
            qual_ns: 15.0,
            agg_transition_ns: 15.0,
            hash_build_ns: 60.0,
            hash_probe_ns: 45.0,
            hash_match_ns: 20.0,
            hash_miss_ns: 40.0,
            hash_insert_miss_ns: 40.0,
            parallel_hash_insert_ns: 0.0,
            parallel_hash_probe_ns: 0.0,
            hash_cache_bytes: crate::model::hash_table::DEFAULT_CACHE_BYTES,
            hash_far_bytes: crate::model::hash_table::default_far_bytes(crate::model::hash_table::DEFAULT_CACHE_BYTES),
            sort_tuple_ns: 35.0,
            sort_compare_ns: 22.0,
            index_tuple_ns: 70.0,
            index_descent_ns: 900.0,
            tuple_send_ns: 110.0,
            tuple_receive_ns: 140.0,
            gather_merge_tuple_ns: 80.0,
            client_row_ns: 400.0,
            temp_page_ns: 4000.0,
            wakeup_ns: 8000.0,
            instrument_ns: 75.0,
            // The prior: count(*) of 1.2M rows, EXPLAIN (ANALYZE, TIMING OFF) against the bare
            // query in one backend on the 2-vCPU Xeon VM, 10 ns a row (docs/cpu-costs.md).
            instrument_call_ns: 10.0,
            query_explain_ns: 0.0,
            query_client_ns: 0.0,
            plan_join_ns: 0.0,
            cpu: crate::model::cpu_costs::CpuCosts::derived(15.0, 15.0),
        },
        parallel: ParallelCosts {
            leader_setup_ns: 300e3,
            launch_per_worker_ns: 400e3,
            worker_startup_ns: 2.5e6,
            worker_startup_sigma: 0.45,
            shutdown_per_worker_ns: 700e3,
            shutdown_per_page_ns: 0.0,
            shutdown_sigma: 0.0,
            worker_cpu_share: 1.0,
            tuple_queue_size: 65536.0,
        },
        // A worker's SetLatch of its sleeping leader, as perf measured it on a 2-vCPU VM: the
        // send price fitted on the single-copy worker (its leader sleeps every quarter of the
        // queue) then comes out net of it.
        scheduler: Scheduler { set_latch_ns: SET_LATCH_NS, ..Scheduler::linux_default(2.0) },
        cpu_noise_cv: 0.03,
        run_sigma: crate::model::DEFAULT_RUN_SIGMA,
        run_sigma_measured: false,
        run_quantiles: None,
        run_quantiles_serial: None,
        run_quantiles_parallel: None,
        model_sigma: crate::model::DEFAULT_MODEL_SIGMA,
        model_sigma_measured: false,
        speed_hold_ns: 0.0,
        speed_state_sigma: 0.0,
        settings: vec![],
    }
}

// Simulation-in-the-loop fit
// ---------------------------------------------------------------------------------------

/// One parameter of a fit through the simulator.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub init: f64,
}

#[derive(Debug, Clone)]
pub struct SimFit {
    pub values: Vec<f64>,
    /// Root mean square relative error at the optimum.
    pub rms: f64,
    pub predicted: Vec<f64>,
    /// Per parameter, the range over which the rms error stays within 1 percentage point of
    /// the optimum (the others held): wide ranges mean the probes hardly determine it.
    pub ranges: Vec<(f64, f64)>,
    pub evaluations: usize,
}

/// The objective of [`sim_fit`]: rms relative error of `predict(θ)` against `measured`,
/// memoised on θ rounded to 1e-3 (the simulator is deterministic for a given θ).
struct Objective<'a> {
    measured: &'a [f64],
    predict: &'a mut dyn FnMut(&[f64]) -> Result<Vec<f64>>,
    cache: HashMap<Vec<u64>, (f64, Vec<f64>)>,
    evals: usize,
}

impl Objective<'_> {
    fn eval(&mut self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let key: Vec<u64> = theta.iter().map(|v| ((v * 1000.0).round() / 1000.0).to_bits()).collect();
        if let Some(v) = self.cache.get(&key) {
            return Ok(v.clone());
        }
        self.evals += 1;
        let pred = (self.predict)(theta)?;
        let m = self.measured;
        let rms = (pred.iter().zip(m).map(|(p, m)| ((p - m) / m).powi(2)).sum::<f64>() / m.len() as f64).sqrt();
        self.cache.insert(key, (rms, pred.clone()));
        Ok((rms, pred))
    }

    fn f(&mut self, theta: &[f64]) -> Result<f64> {
        Ok(self.eval(theta)?.0)
    }

    /// The objective with parameter `k` of `theta` set to `v`.
    fn along(&mut self, theta: &[f64], k: usize, v: f64) -> Result<f64> {
        let mut t = theta.to_vec();
        t[k] = v;
        self.f(&t)
    }
}

/// Minimize the rms relative error of `predict(θ)` against `measured`: rounds of coordinate
/// search (a grid over each parameter's range, then golden-section between the best grid
/// neighbours) polished by Nelder-Mead inside the bounds, until a round no longer improves.
pub fn sim_fit(
    params: &[Param],
    measured: &[f64],
    predict: &mut dyn FnMut(&[f64]) -> Result<Vec<f64>>,
) -> Result<SimFit> {
    let mut obj = Objective { measured, predict, cache: HashMap::new(), evals: 0 };
    let init: Vec<f64> = params.iter().map(|p| p.init).collect();
    let (mut theta, mut best) = descend(&mut obj, params, init)?;
    // A simulator's objective has kinks where the schedule changes (a process that no longer
    // moves between CPUs, a queue that no longer fills), and a descent can stop at one. Once
    // more from each parameter's other end of its range, the rest where the first descent
    // left them; the best of all stands.
    if best > 1e-6 {
        for k in 0..params.len() {
            let mut start = theta.clone();
            let p = &params[k];
            start[k] = if theta[k] - p.lo > p.hi - theta[k] { p.lo } else { (p.lo + p.hi) / 2.0 };
            let (t, f) = descend(&mut obj, params, start)?;
            if f < best - 1e-9 {
                theta = t;
                best = f;
            }
        }
    }
    let (rms, predicted) = obj.eval(&theta)?;
    let mut ranges = vec![];
    for k in 0..params.len() {
        ranges.push(flat_range(&mut obj, params, &theta, rms, k)?);
    }
    Ok(SimFit { values: theta, rms, predicted, ranges, evaluations: obj.evals })
}

/// Coordinate steps then Nelder-Mead, in rounds, from `theta`: the point reached and its
/// objective.
fn descend(obj: &mut Objective, params: &[Param], mut theta: Vec<f64>) -> Result<(Vec<f64>, f64)> {
    let mut best = obj.f(&theta)?;
    for _round in 0..5 {
        let before = best;
        for k in 0..params.len() {
            coordinate_step(obj, params, &mut theta, &mut best, k)?;
        }
        // Coordinate steps crawl along a valley when parameters trade off against each other
        // (send vs receive cost): polish with Nelder-Mead inside the bounds.
        let (t, f) = nelder_mead(obj, params, &theta, best)?;
        if f < best {
            best = f;
            theta = t;
        }
        if before - best <= 1e-5 {
            break;
        }
    }
    Ok((theta, best))
}

/// One coordinate: a geometric grid over the parameter's range (plus its current value),
/// then golden-section search between the best point's grid neighbours.
fn coordinate_step(obj: &mut Objective, params: &[Param], theta: &mut [f64], best: &mut f64, k: usize) -> Result<()> {
    let p = &params[k];
    let mut grid = vec![p.lo];
    let start = if p.lo > 0.0 { p.lo } else { (p.hi / 200.0).max(1e-9) };
    let n = 14;
    for i in 0..n {
        grid.push(start * (p.hi / start).powf(i as f64 / (n - 1) as f64));
    }
    grid.push(theta[k]);
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let mut scores = vec![];
    for &v in &grid {
        scores.push(obj.along(theta, k, v)?);
    }
    let i = (0..grid.len()).min_by(|a, b| scores[*a].total_cmp(&scores[*b])).unwrap_or(0);
    let (a, b) = (grid[i.saturating_sub(1)], grid[(i + 1).min(grid.len() - 1)]);
    let mut x_best = grid[i];
    let mut f_best = scores[i];
    let gs = golden_section(|x| obj.along(theta, k, x), a, b, 1e-3 * (1.0 + x_best.abs()), 14)?;
    for (x, fx) in gs.interior {
        if fx < f_best {
            f_best = fx;
            x_best = x;
        }
    }
    if f_best < *best {
        *best = f_best;
        theta[k] = x_best;
    }
    Ok(())
}

fn clamp_to(params: &[Param], t: &mut [f64]) {
    for (v, p) in t.iter_mut().zip(params) {
        *v = v.clamp(p.lo, p.hi);
    }
}

/// Nelder-Mead from `theta` (objective `f0`), every vertex clamped to the bounds; the best
/// vertex found.
fn nelder_mead(obj: &mut Objective, params: &[Param], theta: &[f64], f0: f64) -> Result<(Vec<f64>, f64)> {
    let n = params.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = vec![(theta.to_vec(), f0)];
    for k in 0..n {
        let mut t = theta.to_vec();
        let step = (theta[k].abs() * 0.25).max((params[k].hi - params[k].lo) / 50.0);
        t[k] = if t[k] + step <= params[k].hi { t[k] + step } else { t[k] - step };
        clamp_to(params, &mut t);
        let f = obj.f(&t)?;
        simplex.push((t, f));
    }
    for _ in 0..(60 * n) {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if simplex[n].1 - simplex[0].1 <= 1e-7 {
            break;
        }
        let centroid: Vec<f64> =
            (0..n).map(|k| simplex[..n].iter().map(|(t, _)| t[k]).sum::<f64>() / n as f64).collect();
        let worst = simplex[n].clone();
        let towards = |a: f64| -> Vec<f64> {
            let mut t: Vec<f64> = (0..n).map(|k| centroid[k] + a * (worst.0[k] - centroid[k])).collect();
            clamp_to(params, &mut t);
            t
        };
        let xr = towards(-1.0);
        let fr = obj.f(&xr)?;
        if fr < simplex[0].1 {
            let xe = towards(-2.0);
            let fe = obj.f(&xe)?;
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let xc = towards(if fr < worst.1 { -0.5 } else { 0.5 });
            let fcn = obj.f(&xc)?;
            if fcn < worst.1.min(fr) {
                simplex[n] = (xc, fcn);
            } else {
                // Shrink towards the best.
                let b = simplex[0].0.clone();
                for item in simplex.iter_mut().skip(1) {
                    let mut t: Vec<f64> = (0..n).map(|k| b[k] + 0.5 * (item.0[k] - b[k])).collect();
                    clamp_to(params, &mut t);
                    let f = obj.f(&t)?;
                    *item = (t, f);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(simplex.swap_remove(0))
}

/// Flatness: how far parameter `k` can move (others held) before the rms error rises by 0.01.
fn flat_range(obj: &mut Objective, params: &[Param], theta: &[f64], rms: f64, k: usize) -> Result<(f64, f64)> {
    let p = &params[k];
    let mut bounds = [theta[k], theta[k]];
    for (dir, bound) in [(-1.0f64, 0usize), (1.0, 1)] {
        let mut step = (theta[k].abs() * 0.05).max((p.hi - p.lo) / 400.0);
        let mut v = theta[k];
        for _ in 0..40 {
            let next = (v + dir * step).clamp(p.lo, p.hi);
            if next == v || obj.along(theta, k, next)? > rms + 0.01 {
                break;
            }
            v = next;
            step *= 1.5;
        }
        bounds[bound] = v;
    }
    Ok((bounds[0], bounds[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_fit_recovers_a_known_parameter() {
        // "Simulator": time = 5 ms + 1e-3 · θ0 · rows + max(θ1 · rows, ...) on two probes.
        let rows = [1000.0, 3000.0, 7000.0];
        let truth = [120.0, 40.0];
        let f = |th: &[f64]| -> Vec<f64> {
            rows.iter().map(|r| 5.0 + 1e-3 * th[0] * r + 1e-3 * th[1] * r * (r / 1000.0).sqrt()).collect()
        };
        let measured = f(&truth);
        let params = [
            Param { name: "a", lo: 0.0, hi: 2000.0, init: 300.0 },
            Param { name: "b", lo: 0.0, hi: 2000.0, init: 300.0 },
        ];
        let mut pred = |th: &[f64]| Ok(f(th));
        let fit = sim_fit(&params, &measured, &mut pred).unwrap();
        assert!((fit.values[0] - truth[0]).abs() < 2.0 && (fit.values[1] - truth[1]).abs() < 2.0, "{:?}", fit.values);
        assert!(fit.rms < 1e-3);
        assert!(fit.ranges[0].0 <= fit.values[0] && fit.values[0] <= fit.ranges[0].1);
    }

    #[test]
    fn every_linear_cost_has_a_name() {
        let mut c = zero_costs();
        for n in LINEAR_COSTS {
            *cost_mut(&mut c, n).expect("a unit cost") = 1.0;
        }
        assert_eq!(c.page_ns + c.client_row_ns + c.temp_page_ns, 3.0);
        assert_eq!(c.wakeup_ns, 0.0);
        assert!(cost_mut(&mut c, "no_such_cost").is_none());
    }
}
