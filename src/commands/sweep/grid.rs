//! The grid's points and their simulations: every input file is read once, every grid point is
//! loaded and planned once, then each (point, replication) is simulated, in parallel, with the
//! replication's common seed.

use super::journal::{row_from, Journal, Row, RowKey};
use super::vary::{describe, point_whatif, values_of};
use super::{in_pool, progress_bar, with_context, SweepArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::model::{Hardware, Scenario};
use crate::planner::{self, Decision};
use crate::predict;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// One grid point, loaded, validated and planned.
pub(super) struct Point {
    pub(super) hw: usize,
    /// Index into each `Vary`'s values.
    pub(super) idx: Vec<usize>,
    pub(super) sc: Scenario,
    pub(super) hwp: Hardware,
    pub(super) plan: Decision,
}

/// The loaded grid: its points in grid order (hardware outermost), the profiles' names, and
/// the hashes of the files they came from (for the journal).
pub(super) struct Grid {
    pub(super) points: Vec<Point>,
    pub(super) hw_names: Vec<String>,
    pub(super) hw_hashes: BTreeMap<String, String>,
    /// The scenario file's text as read.
    pub(super) scenario_text: String,
}

/// A hardware profile read once: its text and the profile with the command's `--hw`.
fn load_profile(a: &SweepArgs, hname: &str) -> Result<(String, Hardware)> {
    let source = config::hardware_source(hname)?;
    let hw = config::load_hardware_str(&source.label, &source.text, &a.whatif.hw)?;
    Ok((source.text, hw))
}

/// Load every point first, so bad input fails before any simulation runs.
pub(super) fn load(a: &SweepArgs, combos: &[Vec<usize>]) -> Result<Grid> {
    let mut scenario_text: Option<String> = None;
    let mut points = vec![];
    let mut hw_names: Vec<String> = vec![];
    let mut hw_hashes = BTreeMap::new();
    for (h, hname) in a.hardware.iter().enumerate() {
        let hname = hname.trim();
        if hname.is_empty() {
            return Err(Error::input("--hardware: empty profile name in the list"));
        }
        // Errors name the first grid point on this profile, as loading that point found them.
        let first = |e: Error| with_context(e, &format!("grid point {} on {hname}", describe(&a.vary, &combos[0])));
        let (hw_text, hwp) = load_profile(a, hname).map_err(first)?;
        if scenario_text.is_none() {
            scenario_text = Some(config::read_text(&a.scenario).map_err(first)?);
        }
        let text = scenario_text.as_deref().unwrap_or_default();
        if let Some(j) = hw_names.iter().position(|n| *n == hwp.name) {
            return Err(Error::input(format!(
                "--hardware: \"{}\" and \"{hname}\" are both the profile named \"{}\"",
                a.hardware[j], hwp.name
            )));
        }
        hw_names.push(hwp.name.clone());
        hw_hashes.insert(hwp.name.clone(), super::journal::text_hash(&hw_text));
        for idx in combos {
            let w = point_whatif(&a.whatif, &a.vary, idx).to_whatif();
            let sc = config::load_scenario_str(&a.scenario, text, &w.set, &w.table).map_err(|e| {
                let desc = describe(&a.vary, idx);
                with_context(e, &format!("grid point {desc} on {hname}"))
            })?;
            let sc = config::for_hardware(sc, &hwp, &w);
            let plan = planner::decide(&sc);
            if points.is_empty() {
                crate::commands::print_setting_notes(&sc);
            }
            points.push(Point { hw: h, idx: idx.clone(), sc, hwp: hwp.clone(), plan });
        }
    }
    Ok(Grid { points, hw_names, hw_hashes, scenario_text: scenario_text.unwrap_or_default() })
}

/// Every (point, replication) row in grid order: reused from `done` when the journal has it
/// with the right seed, else simulated (and journaled as it finishes). The first error in grid
/// order wins, whatever order the jobs ran in.
pub(super) fn run(a: &SweepArgs, grid: &Grid, mut done: HashMap<RowKey, Row>, journal: &Journal) -> Result<Vec<Row>> {
    let (points, hw_names) = (&grid.points, &grid.hw_names);
    let reps = a.replications;
    let total = points.len() * reps as usize;
    let mut results: Vec<Option<Row>> = Vec::with_capacity(total);
    let mut todo = vec![];
    for (pi, p) in points.iter().enumerate() {
        let values = values_of(&a.vary, &p.idx);
        for r in 0..reps {
            let key = (hw_names[p.hw].clone(), values.clone(), r);
            match done.remove(&key) {
                Some(row) if row.seed == predict::replication_seed(a.seed, r) => results.push(Some(row)),
                _ => {
                    results.push(None);
                    todo.push((pi, r));
                }
            }
        }
    }
    let reused = total - todo.len();
    eprintln!(
        "sweep: {} grid points x {} replications = {} simulations{}",
        points.len(),
        reps,
        total,
        if reused > 0 {
            format!(" ({reused} already in {}, {} to run)", super::journal::JOURNAL, todo.len())
        } else {
            String::new()
        }
    );

    let pb = progress_bar(todo.len() as u64, "sweep");
    let seed = a.seed;
    let computed: Vec<(usize, Result<Row>)> = in_pool(a.threads, || {
        todo.par_iter()
            .map(|&(pi, r)| {
                let p = &points[pi];
                let s = predict::replication_seed(seed, r);
                let values = values_of(&a.vary, &p.idx);
                let res = predict::run_decided(&p.sc, &p.hwp, &p.plan, s, 1, false)
                    .map(|out| row_from(&out, &hw_names[p.hw], &values, r, s))
                    .and_then(|row| journal.append(&row).map(|_| row))
                    .map_err(|e| {
                        let desc = describe(&a.vary, &p.idx);
                        with_context(e, &format!("grid point {desc} on {}, replication {r}", hw_names[p.hw]))
                    });
                pb.inc(1);
                (pi * reps as usize + r as usize, res)
            })
            .collect()
    })?;
    pb.finish_and_clear();
    let mut first_err = None;
    for (i, res) in computed {
        match res {
            Ok(row) => results[i] = Some(row),
            Err(e) => {
                if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_err = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    Ok(results.into_iter().map(|r| r.expect("every job finished")).collect())
}
