//! Reductions after all simulations ran, always in grid order: per-point statistics, the serial
//! baseline and speedup of each point, and the Amdahl and USL fits of speedup vs participants.

use super::grid::Point;
use super::journal::Row;
use super::vary::Vary;
use super::{f3, SweepArgs, WORKERS_KEY};
use crate::analysis::stats::{self, Summary};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};

/// Per grid point, after all replications.
pub(super) struct PointStats {
    pub(super) wall: Summary,
    pub(super) workers_planned: u32,
    pub(super) launched: Vec<u32>,
    pub(super) stalls_mean: f64,
    pub(super) mq_send_mean: f64,
    pub(super) participants: f64,
    /// (speedup, lo, hi)
    pub(super) speedup: Option<(f64, f64, f64)>,
    /// 80% interval of one real run's wall time on the point's profile (the replications'
    /// spread, the machine's `run_sigma` and the model's `model_sigma`), as `run` reports it.
    pub(super) p80: [f64; 2],
    /// Mean split per process index, and how many replications had that process.
    pub(super) procs: Vec<(bool, [f64; 6])>,
}

impl PointStats {
    pub(super) fn launched_text(&self) -> String {
        let first = self.launched[0];
        if self.launched.iter().all(|&l| l == first) {
            first.to_string()
        } else {
            f3(self.launched.iter().map(|&l| f64::from(l)).sum::<f64>() / self.launched.len() as f64)
        }
    }

    pub(super) fn launched_max(&self) -> u32 {
        self.launched.iter().copied().max().unwrap_or(0)
    }
}

fn mean_processes(rows: &[&Row]) -> Vec<(bool, [f64; 6])> {
    let n = rows.iter().map(|r| r.processes.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let have: Vec<&(bool, [f64; 6])> = rows.iter().filter_map(|r| r.processes.get(i)).collect();
            let mut acc = [0.0; 6];
            for p in &have {
                for (a, v) in acc.iter_mut().zip(p.1.iter()) {
                    *a += v;
                }
            }
            for a in acc.iter_mut() {
                *a /= have.len() as f64;
            }
            (have[0].0, acc)
        })
        .collect()
}

/// Index of the point's group: same hardware, same values of the keys other than `skip`.
pub(super) fn group_key(p: &Point, vary: &[Vary], skip: &dyn Fn(&Vary) -> bool) -> (usize, Vec<usize>) {
    (p.hw, vary.iter().zip(&p.idx).filter(|(v, _)| !skip(v)).map(|(_, &i)| i).collect())
}

/// Points grouped by hardware and every varied key except those `skip` selects, groups in
/// order of first appearance (deterministic), members in grid order.
pub(super) fn group_points(points: &[Point], vary: &[Vary], skip: &dyn Fn(&Vary) -> bool) -> Vec<Vec<usize>> {
    let mut order: Vec<(usize, Vec<usize>)> = vec![];
    let mut members: HashMap<(usize, Vec<usize>), Vec<usize>> = HashMap::new();
    for (pi, p) in points.iter().enumerate() {
        let k = group_key(p, vary, skip);
        if !members.contains_key(&k) {
            order.push(k.clone());
        }
        members.entry(k).or_default().push(pi);
    }
    order.into_iter().map(|k| members.remove(&k).unwrap_or_default()).collect()
}

pub(super) fn point_stats(a: &SweepArgs, points: &[Point], rows: &[Row]) -> Result<Vec<PointStats>> {
    let reps = a.replications as usize;
    let mut out = vec![];
    for (pi, p) in points.iter().enumerate() {
        let rs: Vec<&Row> = rows[pi * reps..(pi + 1) * reps].iter().collect();
        let walls: Vec<f64> = rs.iter().map(|r| r.wall_time_ms).collect();
        let wall = Summary::from_slice(&walls).map_err(|e| Error::Simulation(format!("summary: {e}")))?;
        let launched: Vec<u32> = rs.iter().map(|r| r.workers_launched).collect();
        let lmean = launched.iter().map(|&l| f64::from(l)).sum::<f64>() / reps as f64;
        let leader = p.sc.settings.flag("parallel_leader_participation");
        let participants = if lmean > 0.0 { lmean + if leader { 1.0 } else { 0.0 } } else { 1.0 };
        out.push(PointStats {
            wall,
            workers_planned: rs[0].workers_planned,
            launched,
            stalls_mean: rs.iter().map(|r| r.queue_full_stalls).sum::<f64>() / reps as f64,
            mq_send_mean: rs.iter().map(|r| r.mq_send_workers()).sum::<f64>() / reps as f64,
            participants: participants.max(1.0),
            speedup: None,
            p80: crate::predict::one_run_interval(
                &walls,
                wall.mean,
                p.hwp.run_sigma,
                p.hwp.run_quantiles_for(lmean > 0.0).as_ref(),
                p.hwp.model_sigma,
            ),
            procs: mean_processes(&rs),
        });
    }
    // Serial baseline per group (hardware + non-parallelism keys): the first point in grid
    // order with max_parallel_workers_per_gather = 0 or no worker launched.
    let is_par = |v: &Vary| v.is_parallelism();
    let mut baseline: HashMap<(usize, Vec<usize>), usize> = HashMap::new();
    for (pi, p) in points.iter().enumerate() {
        let zero_workers = a.vary.iter().zip(&p.idx).any(|(v, &i)| v.key == WORKERS_KEY && v.numeric(i) == 0.0)
            || p.sc.settings.int(WORKERS_KEY) == 0;
        if zero_workers || out[pi].launched.iter().all(|&l| l == 0) {
            baseline.entry(group_key(p, &a.vary, &is_par)).or_insert(pi);
        }
    }
    for (pi, p) in points.iter().enumerate() {
        let Some(&bi) = baseline.get(&group_key(p, &a.vary, &is_par)) else { continue };
        let base = &rows[bi * reps..(bi + 1) * reps];
        let this = &rows[pi * reps..(pi + 1) * reps];
        let s = out[bi].wall.mean / out[pi].wall.mean;
        // Paired ratios (same seed in both points) give the interval, scaled to the ratio of means.
        let ratios: Vec<f64> = base.iter().zip(this).map(|(b, t)| b.wall_time_ms / t.wall_time_ms).collect();
        let (lo, hi) = match Summary::from_slice(&ratios) {
            Ok(q) if q.mean > 0.0 => (s * q.ci95_lo / q.mean, s * q.ci95_hi / q.mean),
            _ => (s, s),
        };
        out[pi].speedup = Some((s, lo, hi));
    }
    Ok(out)
}

/// Fits of speedup vs participants, one per group of points that differ only in the
/// workers key. Empty when the workers key is not varied.
pub(super) struct FitGroup {
    pub(super) hw: usize,
    /// Label of the other keys' values ("" when only workers vary).
    pub(super) fixed: Vec<(String, String)>,
    /// Point indices in grid order.
    pub(super) members: Vec<usize>,
    pub(super) points: Vec<(f64, f64)>,
    pub(super) amdahl: std::result::Result<stats::AmdahlFit, String>,
    pub(super) usl: std::result::Result<stats::UslFit, String>,
    /// The USL peak lies beyond the profile's cores.
    pub(super) usl_warning: Option<String>,
}

pub(super) fn fit_groups(a: &SweepArgs, points: &[Point], st: &[PointStats]) -> Vec<FitGroup> {
    if !a.vary.iter().any(|v| v.key == WORKERS_KEY) {
        return vec![];
    }
    let is_w = |v: &Vary| v.key == WORKERS_KEY;
    group_points(points, &a.vary, &is_w)
        .into_iter()
        .map(|m| {
            // One point per participant count: points past a launch cap repeat the same run.
            let mut pts: Vec<(f64, f64)> = vec![];
            for &pi in &m {
                if let Some(s) = st[pi].speedup {
                    if !pts.iter().any(|p| p.0 == st[pi].participants) {
                        pts.push((st[pi].participants, s.0));
                    }
                }
            }
            let fixed = a
                .vary
                .iter()
                .zip(&points[m[0]].idx)
                .filter(|(v, _)| v.key != WORKERS_KEY)
                .map(|(v, &i)| (v.key.clone(), v.values[i].clone()))
                .collect();
            let usl = stats::fit_usl(&pts).map_err(|e| e.to_string());
            let usl_warning = usl.as_ref().ok().and_then(|f| f.peak_beyond_cores(points[m[0]].hwp.cores));
            if let Some(w) = &usl_warning {
                eprintln!("pqsim sweep: warning: {} on {}: {w}", a.scenario.display(), points[m[0]].hwp.name);
            }
            FitGroup {
                hw: points[m[0]].hw,
                fixed,
                members: m,
                amdahl: stats::fit_amdahl(&pts).map_err(|e| e.to_string()),
                usl,
                usl_warning,
                points: pts,
            }
        })
        .collect()
}

fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

pub(super) fn fits_json(a: &SweepArgs, hw_names: &[String], groups: &[FitGroup]) -> serde_json::Value {
    use serde_json::json;
    let gs: Vec<_> = groups
        .iter()
        .map(|g| {
            let amdahl = match &g.amdahl {
                Ok(f) => json!({"serial_fraction": f.s, "r2": f.r2, "rmse": f.rmse,
                                 "max_speedup": finite_or_null(if f.s > 0.0 { 1.0 / f.s } else { f64::INFINITY })}),
                Err(e) => json!({"error": e}),
            };
            let usl = match &g.usl {
                Ok(f) => json!({"sigma": f.sigma, "kappa": f.kappa, "r2": f.r2, "rmse": f.rmse,
                                 "peak_participants": finite_or_null(f.peak_n),
                                 "peak_speedup": finite_or_null(f.peak_speedup),
                                 "warning": g.usl_warning}),
                Err(e) => json!({"error": e}),
            };
            json!({
                "hardware": hw_names[g.hw],
                "fixed": g.fixed.iter().cloned().collect::<BTreeMap<_, _>>(),
                "points": g.points.iter().map(|(n, s)| json!({"participants": n, "speedup": s})).collect::<Vec<_>>(),
                "amdahl": amdahl,
                "usl": usl,
            })
        })
        .collect();
    json!({
        "scenario": a.scenario.display().to_string(),
        "x": WORKERS_KEY,
        "participants": "workers launched + 1 when the leader participates (parallel_leader_participation), else workers launched",
        "speedup": "serial mean wall time / mean wall time, serial = the point on the same hardware with max_parallel_workers_per_gather = 0 or no worker launched",
        "models": {
            "amdahl": "S(n) = 1 / (s + (1 - s) / n)",
            "usl": "S(n) = n / (1 + sigma (n - 1) + kappa n (n - 1))"
        },
        "fit_quality": "r2 and rmse on the speedup scale, least squares over the points listed (one per participant count)",
        "groups": gs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> SweepArgs {
        let root = env!("CARGO_MANIFEST_DIR");
        let sc = format!("{root}/configs/scenarios/gather-heavy.toml");
        let mut v = vec!["pqsim", "sweep", sc.as_str(), "--output", "unused", "--replications", "2"];
        v.extend(extra);
        match Cli::try_parse_from(v).expect("valid arguments").command {
            Command::Sweep(a) => a,
            _ => unreachable!(),
        }
    }

    fn row(walls: f64, launched: u32, procs: Vec<(bool, [f64; 6])>) -> Row {
        Row {
            hardware: String::new(),
            values: vec![],
            replication: 0,
            seed: 0,
            wall_time_ms: walls,
            workers_planned: launched,
            workers_launched: launched,
            queue_full_stalls: 0.0,
            processes: procs,
        }
    }

    #[test]
    fn mean_processes_averages_over_the_replications_that_had_the_process() {
        let a = row(1.0, 1, vec![(false, [2.0; 6]), (true, [4.0; 6])]);
        let b = row(1.0, 0, vec![(false, [4.0; 6])]);
        let m = mean_processes(&[&a, &b]);
        assert_eq!(m, vec![(false, [3.0; 6]), (true, [4.0; 6])]);
    }

    #[test]
    fn speedup_is_against_the_serial_point_of_the_same_group() {
        let a = args(&["--vary", "max_parallel_workers_per_gather=0,2", "--vary", "work_mem=4MB,64MB"]);
        let combos = super::super::vary::combinations(&a.vary);
        let g = super::super::grid::load(&a, &combos).unwrap();
        assert_eq!(g.points.len(), 4);
        // Grid order: (W=0, 4MB), (W=0, 64MB), (W=2, 4MB), (W=2, 64MB); two replications each.
        let walls = [[100.0, 110.0], [200.0, 220.0], [50.0, 50.0], [50.0, 55.0]];
        let rows: Vec<Row> = walls
            .iter()
            .zip([0, 0, 2, 2])
            .flat_map(|(w, l)| w.iter().map(move |&x| row(x, l, vec![(false, [x, 0.0, 0.0, 0.0, 0.0, 0.0])])))
            .collect();
        let st = point_stats(&a, &g.points, &rows).unwrap();
        let s = |i: usize| st[i].speedup.unwrap();
        assert_eq!(s(0).0, 1.0);
        assert!((s(2).0 - 105.0 / 50.0).abs() < 1e-12, "W=2 at 4MB against W=0 at 4MB");
        assert!((s(3).0 - 210.0 / 52.5).abs() < 1e-12, "W=2 at 64MB against W=0 at 64MB");
        // Paired ratios 4.0 and 4.0: no spread, so the interval is the point.
        assert!((s(3).1 - s(3).0).abs() < 1e-9 && (s(3).2 - s(3).0).abs() < 1e-9);
        assert_eq!(st[2].participants, 3.0, "two workers and the leader");
        assert_eq!(st[0].participants, 1.0);

        // One fit group per work_mem value, each with the points of that value in grid order.
        let groups = group_points(&g.points, &a.vary, &|v: &Vary| v.key == WORKERS_KEY);
        assert_eq!(groups, vec![vec![0, 2], vec![1, 3]]);
        let fits = fit_groups(&a, &g.points, &st);
        assert_eq!(fits.len(), 2);
        assert_eq!(fits[1].fixed, [("work_mem".to_string(), "64MB".to_string())]);
        assert_eq!(fits[1].points, [(1.0, 1.0), (3.0, 4.0)]);
    }

    #[test]
    fn no_fits_when_workers_are_not_varied() {
        let a = args(&["--vary", "work_mem=4MB,64MB"]);
        let g = super::super::grid::load(&a, &super::super::vary::combinations(&a.vary)).unwrap();
        let rows: Vec<Row> = (0..4).map(|_| row(10.0, 2, vec![])).collect();
        let st = point_stats(&a, &g.points, &rows).unwrap();
        assert!(fit_groups(&a, &g.points, &st).is_empty());
        let launched = PointStats { launched: vec![1, 2], ..point_stats(&a, &g.points, &rows).unwrap().remove(0) };
        assert_eq!(launched.launched_text(), "1.500");
        assert_eq!(launched.launched_max(), 2);
    }
}
