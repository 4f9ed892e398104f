//! The fitting stages of a calibration, in order: serial unit costs (least squares),
//! worker start-up (simulator fit), a worker's scanning beside the leader (simulator fit),
//! tuple queues (simulator fit).

use super::fit::{
    cost_mut, model_ms, model_split_cpu, provisional, sim_fit, zero_costs, Param, SimFit, Split, CPU_COSTS,
    LINEAR_COSTS,
};
use super::model_error::{self, ModelError};
use super::pairs::{buffer_jumps, gather_row, instrument_call, plan_join, timing, BufferJumps, TimingFit, Wrapper};
use super::queues::{queues, QueueFit};
use super::ProbeResult;
use crate::analysis::lsq;
use crate::analysis::robust::median;
use crate::error::{Error, Result};
use crate::model::{Hardware, ParallelCosts, UnitCosts};
use crate::pg::probes::{How, Stage};
use crate::pg::protocol::WorkerCpu;
use std::collections::HashMap;

/// Stage 1: serial unit costs by weighted NNLS.
pub struct SerialFit {
    pub fit: lsq::Fit,
    /// The unit costs in the fit, in its column order (then the two intercepts).
    pub keys: Vec<&'static str>,
    /// Unit costs no probe exercises in the model: not separated, kept at their defaults.
    pub unseparated: Vec<&'static str>,
    /// Unit costs the probes exercise but do not pin down alone (their standard error in the
    /// probes-only fit exceeded their value): fitted with a prior ([`determined_fit`]). They
    /// are in `keys` too.
    pub weak: Vec<Weak>,
    /// Indexes (into the probe results) of the probes in the fit, in the fit's row order.
    pub idx: Vec<usize>,
    /// Per probe (the fit's row order), the model's ms from the prices held at their
    /// measured values (EXPLAIN's wrapper around each node call, a page out of block order):
    /// taken off the measured time before the fit, so a probe's fitted time is
    /// `fit.fitted[k] + base[k]` ([`SerialFit::fitted_ms`]).
    pub base: Vec<f64>,
    /// Per-query overheads of EXPLAIN ANALYZE and of a client query (ms).
    pub icpt_explain: f64,
    pub icpt_client: f64,
    /// Per probe of the fit (its row order), ln(measured / predicted) by the same fit over
    /// the other probes (None: the probe alone exercises some price);
    /// [`super::model_error::loo_log_errors`].
    pub loo: Vec<Option<f64>>,
    /// The design of the fit: every linear cost's name, and per probe (the fit's row order)
    /// the model's ms per ns of each (what the probe exercises in the model).
    pub design_names: Vec<&'static str>,
    pub design: Vec<Vec<f64>>,
}

/// A price the probes alone do not pin down.
pub struct Weak {
    pub name: &'static str,
    /// Its value and standard error in the probes-only fit (ns).
    pub alone: f64,
    pub alone_se: f64,
    /// The prior it leans on (the provisional profile's value, ns).
    pub prior: f64,
}

/// Stage 2: start-up.
pub struct StartupFit {
    pub leader_setup_ms: f64,
    pub shutdown_ms: f64,
    /// The exit's price per page its worker mapped, from `su_single_l` against `su_single`:
    /// (median tail over n_l ms, pages of n_l less tiny_sc's), when that probe ran.
    pub exit_tail: Option<(f64, f64)>,
    /// Median of the tiny serial query (ms).
    pub e_serial: f64,
    /// The simulator fit: `values` and `ranges` are always [launch_per_worker_us,
    /// worker_startup_ms]; a measured launch is held (its range the value itself).
    pub fit: SimFit,
    /// Parameters the fit moved (1 with the launch measured, else 2).
    pub n_fitted: usize,
    /// The kernel's CPU accounting of a worker's fork and life, when measured.
    pub worker_cpu: Option<WorkerCpu>,
    pub idx: Vec<usize>,
    /// Measured start-up differences to the tiny serial query (ms).
    pub measured: Vec<f64>,
}

/// Stage 2b: what a worker pays per shared-buffer page that the leader does not.
pub struct WorkerScanFit {
    pub fit: SimFit,
    pub idx: Vec<usize>,
    /// Measured times minus the EXPLAIN overhead (ms), then the leader's row shares.
    pub measured: Vec<f64>,
    /// (index into the probe results, median measured leader's row share), in the order of
    /// the shares in `measured` and `fit.predicted`.
    pub shares: Vec<(usize, f64)>,
    /// A fresh backend's first `count(*)` of n_m minus the median of the three after it, per page (ns): the fit's
    /// starting point.
    pub first_touch_ns: f64,
}

/// The fitted profile and how each stage went.
pub struct Fits {
    pub hw: Hardware,
    pub timing: TimingFit,
    pub wrapper: Option<Wrapper>,
    pub jumps: Option<BufferJumps>,
    pub serial: SerialFit,
    pub startup: StartupFit,
    pub worker_scan: Option<WorkerScanFit>,
    pub queue: QueueFit,
    /// A wake-up's CPU (`scheduler.wake_cpu_ns`); None where not measured.
    pub wake: Option<super::wake::WakeFit>,
    /// A shared hash insert's price; None without the Parallel Hash probes.
    pub parallel_hash: Option<super::parallel_hash::ParallelHashFit>,
    /// The lookup's fit (`parallel_hash_probe_ns`, phl_shared / phl_private).
    pub parallel_hash_lookup: Option<super::parallel_hash::ParallelHashFit>,
    /// The model's own error out of sample (`[variability] model_sigma`).
    pub model_error: ModelError,
}

/// What calibration measured of a parallel worker directly, outside the timed probes.
#[derive(Debug, Clone, Copy)]
pub struct WorkerMeasured {
    /// A fresh backend's first touch of a shared-buffer page (ns).
    pub page_fault_ns: f64,
    /// The kernel's accounting of a worker's fork and life, where readable.
    pub cpu: Option<WorkerCpu>,
    /// The CPU (ms) a single-copy Gather's worker spends more sending every row of n_m
    /// (gq_single) than counting them (ws_single), where readable.
    pub sending_ms: Option<f64>,
}

/// All three stages; the profile starts from the provisional one.
pub fn fit_all(
    results: &[ProbeResult],
    name: &str,
    cores: f64,
    all_cores_busy_speed: f64,
    worker: WorkerMeasured,
    shared_buffers_pages: i64,
    core_cache_bytes: f64,
) -> Result<Fits> {
    let mut hw = provisional();
    hw.name = name.to_string();
    hw.cores = cores;
    // The server's shared_buffers decides which probe tables the model reads through the
    // bulk-read ring.
    hw.settings.push(("shared_buffers".into(), format!("{}kB", shared_buffers_pages.max(16) * 8)));
    // Measured before the fits (two serial scans side by side against one), so that the
    // simulator-fitted stages see busy cores as slow as they are.
    hw.all_cores_busy_speed = all_cores_busy_speed;
    // Measured directly (fresh connections): the start of the worker-scan fit, and the value
    // kept without its probes.
    hw.costs.worker_page_fault_ns = worker.page_fault_ns;
    // Hash tables past this machine's per-core cache cost more per access: the serial fit's
    // design depends on where that starts.
    hw.costs.hash_cache_bytes = core_cache_bytes;
    hw.costs.hash_far_bytes = crate::model::hash_table::default_far_bytes(core_cache_bytes);
    // Measured directly (the wrapper probes), before the serial fit: every EXPLAIN-timed probe
    // pays it per node call, the client-timed ones do not.
    let wrapper = instrument_call(results);
    if let Some(w) = &wrapper {
        hw.costs.instrument_call_ns = w.ns;
    }
    eprintln!(
        "pqsim calibrate: EXPLAIN ANALYZE's wrapper around each node call: {}",
        wrapper.as_ref().map_or("not measured (no wrapper probes): the prior".to_string(), |w| format!(
            "{:.2} ns ({:.3} ms under EXPLAIN against {:.3} ms bare over {:.0} calls)",
            w.ns, w.explain_ms, w.client_ms, w.calls
        ))
    );
    // Measured directly too (twin tables in and out of block order in shared buffers).
    let jumps = buffer_jumps(results, &hw)?;
    let mut given: Vec<&str> = vec![];
    if let Some(j) = &jumps {
        hw.costs.buffer_jump_ns = j.ns;
        hw.costs.buffer_jump_data_ns = j.data_ns;
        given.extend(["buffer_jump_ns", "buffer_jump_data_ns"]);
    }
    eprintln!(
        "pqsim calibrate: a scan's page out of block order in shared buffers: {}",
        jumps.as_ref().map_or("not measured apart (no twin probes of one size): fitted with the rest".to_string(), |j| format!(
            "{:.0} ns, {:.0} ns more reading rows (count_hx - count_h {:.3} - {:.3} ms, agg4_hx - agg4_h {:.3} - {:.3} ms, over {:.0} jumps)",
            j.ns, j.data_ns, j.medians[1], j.medians[0], j.medians[3], j.medians[2], j.jumps
        ))
    );
    let serial = serial(results, &mut hw, &given)?;
    let startup = startup(results, &mut hw, worker.cpu)?;
    hw.costs.gather_row_ns = gather_row(results, startup.leader_setup_ms).unwrap_or(0.0);
    // Before the queue fit, whose workers scan the same table.
    let worker_scan = worker_scan(results, &mut hw, serial.icpt_explain)?;
    // A wake-up's CPU, measured apart: the queue fit's probes wake their leader at every
    // publish, and without it their receive price would hold it.
    let wake = super::wake::wake_cpu(results);
    if let Some(w) = &wake {
        hw.scheduler.wake_cpu_ns = w.ns;
    }
    eprintln!(
        "pqsim calibrate: a wake-up from a latch wait: {}",
        wake.as_ref().map_or("not measured (the leader's CPU or sleeps not readable): none priced".to_string(), |w| {
            format!("{:.2} us ({})", w.ns / 1e3, w.evidence())
        })
    );
    let queue = queues(results, &mut hw, serial.icpt_explain, &worker)?;
    let (parallel_hash_lookup, parallel_hash) =
        super::parallel_hash::parallel_hash(results, &mut hw, serial.icpt_explain)?;
    let timing = timing(results, &mut hw)?;
    // The serial fit's intercepts are each query's fixed cost by how it is timed; set only
    // now, since the fits above take them off the measured times themselves.
    hw.costs.query_explain_ns = (serial.icpt_explain * 1e6).max(0.0);
    hw.costs.query_client_ns = (serial.icpt_client * 1e6).max(0.0);
    hw.costs.plan_join_ns = plan_join(results).map_or(0.0, |ms| (ms * 1e6).max(0.0));
    eprintln!(
        "pqsim calibrate: fixed costs of a query: {:.3} ms EXPLAIN-timed, {:.3} ms client-timed, {:.3} ms more planning per join",
        serial.icpt_explain,
        serial.icpt_client,
        hw.costs.plan_join_ns / 1e6
    );
    let model_error = model_error::estimate(&serial, &startup, &queue);
    if let Some(sigma) = model_error.sigma {
        hw.model_sigma = sigma;
        hw.model_sigma_measured = true;
    }
    eprintln!(
        "pqsim calibrate: the model's own error out of sample: sigma {} over {} errors (serial leave-one-family-out {}, start-up {}, queues {})",
        model_error.sigma.map_or("not estimated".to_string(), |s| format!("{s:.3}")),
        model_error.all().len(),
        model_error.serial.len(),
        model_error.startup.len(),
        model_error.queue.len()
    );
    Ok(Fits {
        wake,
        hw,
        timing,
        wrapper,
        jumps,
        serial,
        startup,
        worker_scan,
        queue,
        parallel_hash,
        parallel_hash_lookup,
        model_error,
    })
}

/// Where a random access into a hash table may stop getting dearer, in doublings past the
/// core's cache (`hash_far_bytes`): the serial fit tries each.
const FAR_DOUBLINGS: &[f64] = &[2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0];

/// The serial unit costs: the features are the model's own operation counts, i.e. for each
/// unit cost the change of the model's predicted time when that cost alone is set (pqsim's
/// serial model is linear in its unit costs). OS reads are charged per block the probe
/// actually read (BUFFERS Shared Read Blocks).
///
/// `given`: unit costs measured before this fit (held at their values in `hw`, part of every
/// probe's base, not fitted).
pub fn serial(results: &[ProbeResult], hw: &mut Hardware, given: &[&str]) -> Result<SerialFit> {
    let mut basis = hw.clone();
    basis.cpu_noise_cv = 0.0;
    basis.parallel = ParallelCosts {
        leader_setup_ns: 0.0,
        launch_per_worker_ns: 0.0,
        worker_startup_ns: 0.0,
        worker_startup_sigma: 0.0,
        shutdown_per_worker_ns: 0.0,
        shutdown_per_page_ns: 0.0,
        shutdown_sigma: 0.0,
        worker_cpu_share: 1.0,
        tuple_queue_size: 65536.0,
    };
    // The machine's cache sizes stay: the miss's column counts doublings past them.
    basis.costs = UnitCosts {
        hash_cache_bytes: hw.costs.hash_cache_bytes,
        hash_far_bytes: hw.costs.hash_far_bytes,
        ..zero_costs()
    };
    // Measured before this fit (`instrument_call`): part of every EXPLAIN-timed probe's base.
    basis.costs.instrument_call_ns = hw.costs.instrument_call_ns;
    let mut from = hw.costs.clone();
    for name in given {
        if let (Some(to), Some(v)) = (cost_mut(&mut basis.costs, name), cost_mut(&mut from, name)) {
            *to = *v;
        }
    }
    let idx: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].probe.stage == Stage::Serial && results[i].scenario.is_some())
        .collect();
    let unit = 1000.0;
    let all: Vec<&'static str> = LINEAR_COSTS.iter().chain(CPU_COSTS).copied().filter(|n| !given.contains(n)).collect();
    let (mut x, mut y, mut bases) = (vec![], vec![], vec![]);
    for &i in &idx {
        let r = &results[i];
        let Some(sc) = r.scenario.as_ref() else { continue };
        let base = model_ms(sc, &basis, 1)?;
        bases.push(base);
        let mut row = vec![];
        for name in &all {
            let mut h = basis.clone();
            if let Some(c) = cost_mut(&mut h.costs, name) {
                *c = unit;
            }
            let mut f = (model_ms(sc, &h, 1)? - base) / unit; // ms per ns of this cost
            if *name == "os_read_page_ns" {
                f *= r.read_fraction;
            }
            row.push(f);
        }
        x.push(row);
        y.push(r.median_ms() - base);
    }
    // Costs no probe's model exercises (enough) cannot be fitted: said so, kept at their
    // defaults.
    let used: Vec<usize> = (0..all.len()).filter(|&j| exercised(&x, j)).collect();
    let w: Vec<f64> = y.iter().map(|v| 1.0 / v).collect();
    let client: Vec<bool> = idx.iter().map(|&i| results[i].probe.how == How::Client).collect();
    let tails: Vec<[f64; 2]> = client.iter().map(|&c| if c { [0.0, 1.0] } else { [1.0, 0.0] }).collect();
    let mut before = hw.costs.clone();
    let prior: Vec<f64> = all.iter().map(|n| cost_mut(&mut before, n).map_or(0.0, |c| *c)).collect();
    // Where a random access into a hash table stops getting dearer with its size: the miss's
    // column of the design under each candidate limit, and the one under which the fit best
    // fits the probes whose price the limit moves (tables past the lowest candidate; over all
    // probes the others' residuals drown the difference).
    // The reads' and the writes' misses (`hash_miss_ns`, `hash_insert_miss_ns`) both count
    // doublings up to that limit: their columns move together.
    let misses: Vec<(usize, &str)> = ["hash_miss_ns", "hash_insert_miss_ns"]
        .into_iter()
        .filter_map(|name| all.iter().position(|n| *n == name).filter(|j| used.contains(j)).map(|j| (j, name)))
        .collect();
    if !misses.is_empty() {
        let far = |d: f64| basis.costs.hash_cache_bytes * 2f64.powf(d);
        // Per candidate, per miss price: its column.
        let mut cols: Vec<Vec<Vec<f64>>> = vec![];
        for &d in FAR_DOUBLINGS {
            let mut per_price = vec![];
            for &(_, name) in &misses {
                let mut h = basis.clone();
                h.costs.hash_far_bytes = far(d);
                if let Some(c) = cost_mut(&mut h.costs, name) {
                    *c = unit;
                }
                let col: Vec<f64> = idx
                    .iter()
                    .zip(&bases)
                    .map(|(&i, b)| match results[i].scenario.as_ref() {
                        Some(sc) => Ok((model_ms(sc, &h, 1)? - b) / unit),
                        None => Ok(0.0),
                    })
                    .collect::<Result<_>>()?;
                per_price.push(col);
            }
            cols.push(per_price);
        }
        let set = |x: &mut Vec<Vec<f64>>, per_price: &[Vec<f64>]| {
            for (&(j, _), col) in misses.iter().zip(per_price) {
                for (row, v) in x.iter_mut().zip(col) {
                    row[j] = *v;
                }
            }
        };
        let (lo, hi) = (&cols[0], &cols[cols.len() - 1]);
        let moved: Vec<usize> =
            (0..y.len()).filter(|&k| lo.iter().zip(hi).any(|(l, h)| (l[k] - h[k]).abs() > 1e-12)).collect();
        let mut rms = vec![];
        for per_price in &cols {
            set(&mut x, per_price);
            let res = determined_fit(&x, &y, &w, &tails, &prior, &used)?.0.residuals;
            let ss: f64 = moved.iter().map(|&k| (res[k] * w[k]).powi(2)).sum();
            rms.push((ss / moved.len().max(1) as f64).sqrt());
        }
        let best = (0..rms.len()).min_by(|&a, &b| rms[a].total_cmp(&rms[b])).unwrap_or(0);
        eprintln!(
            "pqsim calibrate: hash tables: an access stops getting dearer at {:.0} MB ({:.1} doublings past the {:.0} kB cache; the serial fit's rms over the {} probes whose tables reach past the lowest, by where: {})",
            far(FAR_DOUBLINGS[best]) / 1048576.0,
            FAR_DOUBLINGS[best],
            basis.costs.hash_cache_bytes / 1024.0,
            moved.len(),
            FAR_DOUBLINGS.iter().zip(&rms).map(|(&d, r)| format!("{:.0} MB {:.2}%", far(d) / 1048576.0, 100.0 * r)).collect::<Vec<_>>().join(", ")
        );
        hw.costs.hash_far_bytes = far(FAR_DOUBLINGS[best]);
        set(&mut x, &cols[best]);
    }
    let unseparated: Vec<&'static str> = (0..all.len()).filter(|j| !used.contains(j)).map(|j| all[j]).collect();
    // Families: a probe id less its one-letter size or table suffix (count_s, count_w and
    // count_r are one family); every typed probe is a family of its own.
    let family = |id: &str| match id.rsplit_once('_') {
        Some((f, s)) if s.len() == 1 => f.to_string(),
        _ => id.to_string(),
    };
    let names: Vec<String> = idx.iter().map(|&i| family(&results[i].probe.id)).collect();
    let groups: Vec<usize> = names.iter().map(|f| names.iter().position(|g| g == f).unwrap_or(0)).collect();
    let loo = model_error::family_out_log_errors(&x, &y, &w, &tails, &prior, &groups)?;
    let (fit, weak) = determined_fit(&x, &y, &w, &tails, &prior, &used)?;
    let weak: Vec<Weak> =
        weak.iter().map(|h| Weak { name: all[h.0], alone: h.1, alone_se: h.2, prior: prior[h.0] }).collect();
    let keys: Vec<&'static str> = used.iter().map(|&j| all[j]).collect();
    for (j, name) in keys.iter().enumerate() {
        if let Some(c) = cost_mut(&mut hw.costs, name) {
            *c = fit.coef[j];
        }
    }
    // The prices the probes do not separate follow the fitted generic costs by the model's
    // fixed ratios.
    let derived = crate::model::cpu_costs::CpuCosts::derived(hw.costs.qual_ns, hw.costs.agg_transition_ns);
    for name in unseparated.iter().filter(|n| CPU_COSTS.contains(n)) {
        if let (Some(c), Some(v)) = (hw.costs.cpu.get_mut(name), derived.get(name)) {
            *c = v;
        }
    }
    let n_lin = keys.len();
    let (icpt_explain, icpt_client) = (fit.coef[n_lin], fit.coef[n_lin + 1]);
    eprintln!(
        "pqsim calibrate: serial fit over {} probes: R^2 {:.4}, rms relative error {:.1}%",
        idx.len(),
        fit.r2,
        100.0 * fit.rms_weighted
    );
    for wk in &weak {
        let v = keys.iter().position(|k| *k == wk.name).map_or(f64::NAN, |j| fit.coef[j]);
        eprintln!(
            "pqsim calibrate: {} not pinned down by the probes alone ({:.1} +- {:.1} ns): {:.1} ns leaning on the prior {:.1}",
            wk.name, wk.alone, wk.alone_se, v, wk.prior
        );
    }
    Ok(SerialFit {
        fit,
        keys,
        unseparated,
        weak,
        idx,
        base: bases,
        icpt_explain,
        icpt_client,
        loo,
        design_names: all,
        design: x,
    })
}

impl SerialFit {
    /// Probe `k`'s fitted time (ms; the fit's row order), the held prices' share with it.
    pub fn fitted_ms(&self, k: usize) -> f64 {
        self.fit.fitted[k] + self.base.get(k).copied().unwrap_or(0.0)
    }
}

/// The fewest operations of one kind some probe must perform for its price to be fitted.
/// A price that only a handful of operations carry (a one-row aggregate above a probe's
/// scan) is a free parameter: one sitting put a generic aggregate transition, exercised once,
/// at 1.6 ms +- 0.7 ms, which then priced every generic aggregate of a validation query.
pub const MIN_OPERATIONS: f64 = 1000.0;

/// Whether some probe performs at least [`MIN_OPERATIONS`] of the operation priced by column
/// `j` of the design `x` (ms per ns of that price: operations / 1e6).
pub fn exercised(x: &[Vec<f64>], j: usize) -> bool {
    x.iter().any(|row| row[j].abs() * 1e6 >= MIN_OPERATIONS)
}

/// The prior's relative uncertainty: a price carried from another machine is taken to be
/// right within a factor of about two (one standard deviation = 100% of its value).
pub const PRIOR_RELATIVE_SD: f64 = 1.0;

/// The smallest residual scale the prior rows are weighed against (relative error): a fit
/// that happens to match its probes to 0.5% must not make every prior free.
const MIN_RESIDUAL_SCALE: f64 = 0.02;

/// Non-negative least squares of `y` on the columns `used` of `x` plus two intercept
/// columns per row (`tails`), where a column whose standard error exceeds its value is not
/// pinned down by the data: the fit could trade it against the others at will (one sitting
/// put a generic aggregate transition at 113 us +- 677 us). Such a column gets a prior: one
/// more row saying "this price is its `prior` value, give or take
/// [`PRIOR_RELATIVE_SD`]", weighed like one probe at the fit's typical relative error, and
/// the fit is redone (a maximum a posteriori estimate with a Gaussian prior on the weak
/// prices only). The probes still move a weak price as far as they demand: holding it at the
/// prior outright put a slower machine's client price on a fast one, the rest of the fit
/// collapsed around it (R^2 0.36) and validation missed by 42%. Repeats until every column
/// is determined, at zero, or leans on its prior.
///
/// Returns the last fit (over `used`, then the intercepts; `fitted`, `residuals`, `r2` and
/// `rms_weighted` over the probes only, not the prior rows) and the weak columns with the
/// value and s.e. the data alone gave them.
pub fn determined_fit(
    x: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    tails: &[[f64; 2]],
    prior: &[f64],
    used: &[usize],
) -> Result<(lsq::Fit, Vec<(usize, f64, f64)>)> {
    let m = y.len();
    let n = used.len() + 2;
    let data: Vec<Vec<f64>> = (0..m).map(|k| used.iter().map(|&j| x[k][j]).chain(tails[k]).collect()).collect();
    let solve = |weak: &[(usize, f64, f64)], scale: f64| {
        let (mut xs, mut ys, mut ws) = (data.clone(), y.to_vec(), w.to_vec());
        for &(c, _, _) in weak {
            let p = prior[used[c]].max(0.0);
            let mut row = vec![0.0; n];
            row[c] = 1.0;
            xs.push(row);
            ys.push(p);
            // A zero prior is held at zero (as stiffly as a 1 ns prior).
            ws.push(scale / (PRIOR_RELATIVE_SD * p.max(1.0)));
        }
        lsq::nnls(&xs, &ys, &ws).map_err(|e| Error::Simulation(format!("serial fit: {e}")))
    };
    let data_only = solve(&[], 0.0)?;
    let scale = data_only.rms_weighted.max(MIN_RESIDUAL_SCALE);
    let loose =
        |fit: &lsq::Fit, c: usize| !fit.at_bound[c] && fit.std_err[c].is_finite() && fit.std_err[c] > fit.coef[c];
    let mut weak: Vec<(usize, f64, f64)> = vec![];
    let mut fit = data_only.clone();
    loop {
        let more: Vec<usize> = (0..used.len()).filter(|&c| loose(&fit, c) && !weak.iter().any(|h| h.0 == c)).collect();
        if more.is_empty() {
            break;
        }
        weak.extend(more.iter().map(|&c| (c, data_only.coef[c], data_only.std_err[c])));
        fit = solve(&weak, scale)?;
    }
    // The probes' rows only: the prior rows are not predictions.
    fit.fitted.truncate(m);
    fit.residuals.truncate(m);
    let mean = y.iter().sum::<f64>() / m as f64;
    let tot: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let ssr: f64 = fit.residuals.iter().map(|r| r * r).sum();
    fit.r2 = if tot > 0.0 { 1.0 - ssr / tot } else { f64::NAN };
    fit.rms_weighted = (fit.residuals.iter().zip(w).map(|(r, wi)| (r * wi).powi(2)).sum::<f64>() / m as f64).sqrt();
    Ok((fit, weak.into_iter().map(|(c, v, se)| (used[c], v, se)).collect()))
}

pub(super) fn by_id(results: &[ProbeResult]) -> HashMap<String, usize> {
    results.iter().enumerate().map(|(i, r)| (r.probe.id.clone(), i)).collect()
}

/// 1.4826 x the median absolute deviation of ln(v) over the positive values (a robust
/// log-normal sigma), at most 2; None without any.
fn log_spread(v: &[f64]) -> Option<f64> {
    let logs: Vec<f64> = v.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect();
    let lm = median(&logs);
    let sigma = 1.4826 * median(&logs.iter().map(|x| (x - lm).abs()).collect::<Vec<_>>());
    sigma.is_finite().then(|| sigma.clamp(0.0, 2.0))
}

/// Worker start-up from tiny parallel queries (1-4 workers, a single-copy Gather with
/// `force_parallel_mode`, and a parallel plan that gets no workers). Every part of a worker's
/// life is CPU work in the model (the fork, its start-up, its exit), so on a machine whose
/// cores are few the probes with more workers than cores take longer by what they compete
/// for. The postmaster's CPU per fork is measured where the server's processes can be read
/// (`worker_cpu`); then only the start-up is fitted, else both.
pub fn startup(results: &[ProbeResult], hw: &mut Hardware, worker_cpu: Option<WorkerCpu>) -> Result<StartupFit> {
    let by_id = by_id(results);
    let med = |id: &str| by_id.get(id).map(|&i| results[i].median_ms()).unwrap_or(f64::NAN);
    let e_serial = med("su_serial");
    let leader_setup_ms = (med("su_noworkers") - e_serial).max(0.0);
    let single = by_id.get("su_single").map(|&i| &results[i]);
    let single_runs = single.map(|s| s.runs.as_slice()).unwrap_or(&[]);
    let tails = tails_after_first_row(single_runs);
    let shutdown_ms = median(&tails);
    hw.parallel.leader_setup_ns = leader_setup_ms * 1e6;
    hw.parallel.shutdown_per_worker_ns = shutdown_ms * 1e6;
    // A worker's exit unmaps what it mapped: the single-copy worker that scanned n_l exits
    // later after its last row than the one that scanned tiny_sc, by its price per page.
    let exit_tail = exit_tail(results, &by_id);
    hw.parallel.shutdown_per_page_ns =
        exit_tail.map(|(tail, pages)| exit_per_page_ns(tail, shutdown_ms, pages)).unwrap_or(0.0);
    // The same tails' spread (log scale, robust): one exit can take twice another.
    hw.parallel.shutdown_sigma = log_spread(&tails).unwrap_or(0.0);
    // Spread of the single-copy worker's time to first tuple (log scale, robust).
    let firsts: Vec<f64> = single_runs.iter().filter_map(|m| m.gather_startup_ms).collect();
    hw.parallel.worker_startup_sigma = log_spread(&firsts).unwrap_or(0.45);
    let idx: Vec<usize> = ["su_w1", "su_w2", "su_w3", "su_w4", "su_single"]
        .iter()
        .filter_map(|id| by_id.get(*id).copied())
        .filter(|&i| results[i].scenario.is_some())
        .collect();
    // The model has no per-query executor overhead: compare start-up *differences* to the
    // tiny serial query, predicted the same way.
    let measured: Vec<f64> = idx.iter().map(|&i| results[i].median_ms() - e_serial).collect();
    let serial_sc = by_id.get("su_serial").and_then(|&i| results[i].scenario.clone());
    let fork_us = worker_cpu.map(|w| w.fork_ms * 1e3).filter(|v| v.is_finite() && *v >= 0.0);
    let launch = Param { name: "launch_per_worker_us", lo: 0.0, hi: 5000.0, init: 400.0 };
    let start = Param { name: "worker_startup_ms", lo: 0.0, hi: 50.0, init: 2.5 };
    let params: Vec<Param> = if fork_us.is_some() { vec![start] } else { vec![launch, start] };
    let mut base_hw = hw.clone();
    // θ as [launch us, start-up ms], the launch held where measured.
    let full = |th: &[f64]| -> [f64; 2] {
        match fork_us {
            Some(f) => [f, th[0]],
            None => [th[0], th[1]],
        }
    };
    let predict_on = |base_hw: &Hardware, th: &[f64]| -> Result<Vec<f64>> {
        let [l, w] = full(th);
        let mut h = base_hw.clone();
        h.parallel.launch_per_worker_ns = l * 1e3;
        h.parallel.worker_startup_ns = w * 1e6;
        let base = match &serial_sc {
            Some(sc) => model_ms(sc, &h, 1)?,
            None => 0.0,
        };
        idx.iter()
            .filter_map(|&i| results[i].scenario.as_ref())
            .map(|sc| model_ms(sc, &h, 15).map(|v| (v - base).max(1e-3)))
            .collect()
    };
    let mut fit = sim_fit(&params, &measured, &mut |th: &[f64]| predict_on(&base_hw, th))?;
    // The kernel's account of a worker's life says how much of the fitted start-up and exit
    // is CPU work; the rest keeps the query waiting but leaves the core to others, which
    // matters to the probes with more workers than cores: fitted once more with that share.
    if let Some(share) = worker_cpu.and_then(|w| cpu_share(w.life_ms, full(&fit.values)[1] + shutdown_ms)) {
        base_hw.parallel.worker_cpu_share = share;
        fit = sim_fit(&params, &measured, &mut |th: &[f64]| predict_on(&base_hw, th))?;
    }
    hw.parallel.worker_cpu_share =
        worker_cpu.and_then(|w| cpu_share(w.life_ms, full(&fit.values)[1] + shutdown_ms)).unwrap_or(1.0);
    let n_fitted = fit.values.len();
    if let Some(f) = fork_us {
        fit.values.insert(0, f);
        fit.ranges.insert(0, (f, f));
    }
    hw.parallel.launch_per_worker_ns = fit.values[0] * 1e3;
    hw.parallel.worker_startup_ns = fit.values[1] * 1e6;
    eprintln!(
        "pqsim calibrate: start-up: leader setup {:.3} ms, fork {:.0} us/worker ({}), worker start-up {:.2} ms (sigma {:.2}), exit {:.3} ms/worker + {:.0} ns a page it mapped; rms {:.1}%{}",
        leader_setup_ms,
        fit.values[0],
        if fork_us.is_some() { "measured" } else { "fitted" },
        fit.values[1],
        hw.parallel.worker_startup_sigma,
        shutdown_ms,
        hw.parallel.shutdown_per_page_ns,
        100.0 * fit.rms,
        worker_cpu.map_or(String::new(), |w| format!(
            "; measured life {:.2} ms of CPU against {:.2} ms fitted start-up + exit: {:.0}% of them on a core",
            w.life_ms,
            fit.values[1] + shutdown_ms,
            100.0 * hw.parallel.worker_cpu_share
        ))
    );
    Ok(StartupFit { leader_setup_ms, shutdown_ms, exit_tail, e_serial, fit, n_fitted, worker_cpu, idx, measured })
}

/// The share of a worker's start-up and exit (`fixed_ms`, fitted from wall times) that is CPU
/// work: its measured CPU from fork to exit (`life_ms`) over them, at most 1 (a life longer
/// than the fit leaves it all CPU work), at least 0.05. None where either is not a time.
pub(crate) fn cpu_share(life_ms: f64, fixed_ms: f64) -> Option<f64> {
    (life_ms.is_finite() && life_ms > 0.0 && fixed_ms.is_finite() && fixed_ms > 0.0)
        .then(|| (life_ms / fixed_ms).clamp(0.05, 1.0))
}

/// A single-copy Gather's tail in each run: Execution Time less the Gather's Actual Startup
/// Time (its worker's row, then its finish and exit), where the run timed the Gather.
fn tails_after_first_row(runs: &[crate::pg::protocol::Measured]) -> Vec<f64> {
    runs.iter().filter_map(|m| m.gather_startup_ms.map(|s| (m.ms - s).max(0.0))).collect()
}

/// `su_single_l`'s tail (Execution Time less the single-copy Gather's Actual Startup Time,
/// median over its runs) and the pages its worker mapped beyond `su_single`'s (n_l's less
/// tiny_sc's, from the imported plans). None without both probes' plans.
fn exit_tail(results: &[ProbeResult], by_id: &HashMap<String, usize>) -> Option<(f64, f64)> {
    let pages = |id: &str| -> Option<f64> {
        let sc = results[*by_id.get(id)?].scenario.as_ref()?;
        Some(sc.tables.iter().map(|t| t.pages).sum())
    };
    let large = &results[*by_id.get("su_single_l")?];
    let tails = tails_after_first_row(&large.runs);
    let extra = pages("su_single_l")? - pages("su_single")?;
    (!tails.is_empty() && extra > 0.0).then(|| (median(&tails), extra))
}

/// A worker's exit price per page it mapped: the tail of a worker that mapped `pages` more
/// than the tiny one's, less that tail, over those pages (ns; never negative).
pub fn exit_per_page_ns(tail_ms: f64, tiny_tail_ms: f64, pages: f64) -> f64 {
    if pages <= 0.0 || !tail_ms.is_finite() || !tiny_tail_ms.is_finite() {
        return 0.0;
    }
    ((tail_ms - tiny_tail_ms) * 1e6 / pages).max(0.0)
}

/// The probes `idx` (those with a scenario) simulated on `h` (one replication): their times
/// in `idx` order, and each one's split by probe index.
pub(super) fn simulate(
    results: &[ProbeResult],
    idx: &[usize],
    h: &Hardware,
) -> Result<(Vec<f64>, HashMap<usize, Split>)> {
    let mut out = vec![];
    let mut split_of = HashMap::new();
    for &i in idx {
        let Some(sc) = results[i].scenario.as_ref() else { continue };
        let split = model_split_cpu(sc, h)?;
        out.push(split.ms);
        split_of.insert(i, split);
    }
    Ok((out, split_of))
}

/// "probe measured vs fitted" for each leader's row share (`fitted` in the same order).
pub(super) fn shares_text(results: &[ProbeResult], shares: &[(usize, f64)], fitted: &[f64]) -> String {
    let each = shares.iter().zip(fitted).map(|((i, m), f)| format!("{} {m:.2} vs {f:.2}", results[*i].probe.id));
    each.collect::<Vec<_>>().join(", ")
}

/// `hw` without per-chunk noise and with every worker starting at the median start-up time:
/// a fit's simulations then differ only by the parameters it moves.
pub(super) fn deterministic(hw: &Hardware) -> Hardware {
    let mut h = hw.clone();
    h.cpu_noise_cv = 0.0;
    h.parallel.worker_startup_sigma = 0.0;
    h.parallel.shutdown_sigma = 0.0;
    h
}

/// (probe index, median leader's row share of its runs) for the probes of `idx` whose runs
/// report one, at least `min`.
pub(super) fn leader_shares(results: &[ProbeResult], idx: &[usize], min: f64) -> Vec<(usize, f64)> {
    idx.iter()
        .filter_map(|&i| {
            let v: Vec<f64> = results[i].runs.iter().filter_map(|m| m.leader_row_share).collect();
            (!v.is_empty() && median(&v) >= min).then(|| (i, median(&v)))
        })
        .collect()
}

/// The worker-scan check: the model, with a worker's first touch of each page
/// (`worker_page_fault_ns`) as a fresh connection measured it (a fresh backend's first
/// `count(*)` less the steady counts after it, per page), against parallel `count(*)` probes (1 and 2 workers
/// beside the leader, 2 without it): their times less the EXPLAIN overhead and the leader's
/// share of the scanned rows. The model maps the blocks a worker's faults bring in beside
/// the other participants' (`exec::scan::fault_around_maps`), so one measured price serves a
/// worker alone and beside others. Nothing is fitted: `shutdown_per_page_ns` (a worker's
/// exit per page it mapped) is what the start-up stage measured directly ([`exit_per_page_ns`]:
/// a single-copy worker's tail after scanning n_l against its tail after tiny_sc).
///
/// These probes used to fit both prices. On one table size they cannot tell a price per page
/// from a fixed delay in a worker's start (both move a 20 ms probe's shares and times alike)
/// and their time beside the leader is the noisiest of the calibration (robust CV 0.34 in one
/// sitting). Three sittings of 2026-12-03 on a busy 2-vCPU host fitted the first touch at
/// 3.3-4.6 us a page against 0.7-1.3 us measured directly, or, with it measured, the exit at
/// 0.7-4.7 us a page; every leader-off plan of the validation then came out 20-60% slow. The
/// leader-off points showed the same excess over half the serial time on n_l (2,600 pages) as
/// on lineitem (4,800 pages). (perf on a throwaway server, 2026-12-03 15:00-15:30, two workers
/// without the leader over 3,918 and 16,495 pages: the exit's unmapping 0.4-0.6 us a page a
/// worker mapped, and the tail after the last row 0.28 us a page; measured, not fitted, since.) Each sitting's measured points, re-predicted
/// with the measured first touch and no exit price: median |error| 7.1 / 7.4 / 10.8%, p90 17-19%
/// (with the fitted prices 13.1 / 12.7 / 14.5%, p90 32-44%). The check's rms and the shares it
/// prints say how far the model's worker is from these probes. None without the probes.
/// The share of a probe's rows its workers must have scanned for the worker-scan check.
pub const MIN_WORKER_SHARE: f64 = 0.05;

pub fn worker_scan(results: &[ProbeResult], hw: &mut Hardware, icpt_explain: f64) -> Result<Option<WorkerScanFit>> {
    let idx: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].probe.stage == Stage::WorkerScan && results[i].scenario.is_some())
        .collect();
    if idx.is_empty() {
        return Ok(None);
    }
    let first_touch_ns = hw.costs.worker_page_fault_ns;
    let mut measured: Vec<f64> = idx.iter().map(|&i| results[i].median_ms() - icpt_explain).collect();
    // A leader that does not participate has no share (0 has no relative error).
    let shares = leader_shares(results, &idx, 0.02);
    // Workers that scanned (almost) nothing say nothing of how they scan.
    let leader_off =
        |i: &usize| results[*i].probe.gucs.iter().any(|(k, v)| k == "parallel_leader_participation" && v == "off");
    if !idx.iter().any(leader_off) && shares.iter().all(|s| 1.0 - s.1 < MIN_WORKER_SHARE) {
        eprintln!(
            "pqsim calibrate: worker scan: the workers scanned under {:.0}% of the rows in every probe (leader's shares {}): nothing to check",
            100.0 * MIN_WORKER_SHARE,
            shares.iter().map(|s| format!("{:.2}", s.1)).collect::<Vec<_>>().join(", ")
        );
        return Ok(None);
    }
    measured.extend(shares.iter().map(|s| s.1));
    let (mut predicted, split_of) = simulate(results, &idx, &deterministic(hw))?;
    predicted.extend(shares.iter().map(|(i, _)| split_of.get(i).and_then(|s| s.leader_share).unwrap_or(0.0)));
    let rms = (measured.iter().zip(&predicted).map(|(m, p)| ((p - m) / m).powi(2)).sum::<f64>()
        / measured.len() as f64)
        .sqrt();
    let fit = SimFit { values: vec![], rms, predicted, ranges: vec![], evaluations: 1 };
    eprintln!(
        "pqsim calibrate: worker scan: the model with a worker's first touch ({first_touch_ns:.0} ns a page) and exit ({:.0} ns a page) as measured: rms {:.1}% against the worker-scan probes (leader's row shares {})",
        hw.parallel.shutdown_per_page_ns,
        100.0 * fit.rms,
        shares_text(results, &shares, &fit.predicted[idx.len()..])
    );
    Ok(Some(WorkerScanFit { fit, idx, measured, shares, first_touch_ns }))
}

/// The backend's CPU time outside the model's (planning, EXPLAIN's own work): the serial
/// probe gr_serial's CPU time less its Execution Time; 0 where not measured.
pub(super) fn leader_cpu_overhead(results: &[ProbeResult]) -> f64 {
    let Some(&i) = by_id(results).get("gr_serial") else { return 0.0 };
    results[i].leader_cpu_median().map_or(0.0, |c| (c - results[i].median_ms()).max(0.0))
}
