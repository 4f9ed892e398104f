//! A Parallel Hash's shared insert (`parallel_hash_insert_ns`), by fitting the simulator to
//! the same hash join with one worker planned two ways: the participants sharing one hash
//! table (`ph_shared`) and each building its own (`ph_private`, `enable_parallel_hash = off`).
//!
//! The two plans scan and probe alike; they differ by the build. With private tables each
//! process inserts every row of the inner side, with a shared one they split the rows, but
//! each insert allocates from shared memory and links the tuple into a bucket array both
//! processes write (nodeHash.c ExecParallelHashTableInsert).
//!
//! The fit holds the ratio of the two plans' times (and of the leader's CPU time, where the
//! server is local), not the shared plan's time alone: the model's other errors on parallel
//! plans (its parallel plans ran 5-9% fast against their serial plans in the sittings of
//! 2026-12-04) are in both plans and cancel, so they do not end up priced as an insert.
//!
//! What it has found (2-vCPU EPYC VM, PostgreSQL 15.18, 2026-12-05): the price is small and
//! the probes' spread of the same order. 15 interleaved runs of this probe's three plans by
//! hand (robust spread about 3%): serial 32.0 ms, Parallel Hash 23.5, private tables 26.6,
//! shared over private 0.883, where the model has 0.858 at 0 ns and 0.924 at 52: about 20 ns
//! a row. Calibrations that night: 22, 0 and 30 ns (the private plan's runs spread 3-20% from
//! one to the next), and 52 and 0 ns with an earlier probe whose lookups ran in a random order. The kernel's CPU
//! accounting of the validation's lineitem joined to its 60,000 orders says more
//! (scripts/measure-parallel-hash.sh: all processes' CPU shared over private 0.91, the
//! model's time on a core 0.85 at 0 ns, 0.89 at 60 ns), and the model's private plan is as
//! fast against the serial one as its shared plan (6% in the hand-timed runs above): most of
//! what Q12's parallel plan misses is the model's parallel plans' common error, not this.

use super::fit::{sim_fit, Param, SimFit};
use super::stages::{by_id, deterministic, leader_cpu_overhead, simulate};
use super::ProbeResult;
use crate::error::Result;
use crate::model::{Hardware, Node};

/// What the fit had and found.
#[derive(Debug, Clone)]
pub struct ParallelHashFit {
    pub fit: SimFit,
    /// (what, measured ratio shared/private): the times, then the leader's CPU where measured.
    pub measured: Vec<(&'static str, f64)>,
}

/// Whether the first hash join under a Gather in `n` has its table shared (`parallel`) or
/// private; None without one.
fn hash_join_kind(n: &Node, under_gather: bool) -> Option<bool> {
    match n {
        Node::HashJoin { parallel, .. } if under_gather => Some(*parallel),
        _ => n.children().into_iter().find_map(|c| hash_join_kind(c, under_gather || n.is_gather())),
    }
}

/// Fits `hw.costs.parallel_hash_insert_ns`; None (the cost left as it is) without both probes
/// planned as intended.
pub fn parallel_hash(results: &[ProbeResult], hw: &mut Hardware, icpt_explain: f64) -> Result<Option<ParallelHashFit>> {
    let ids = by_id(results);
    let (Some(&s), Some(&p)) = (ids.get("ph_shared"), ids.get("ph_private")) else { return Ok(None) };
    let planned = |i: usize, shared: bool| {
        results[i].scenario.as_ref().is_some_and(|sc| hash_join_kind(&sc.plan, false) == Some(shared))
    };
    if !planned(s, true) || !planned(p, false) {
        eprintln!("pqsim calibrate: Parallel Hash: the probes were not planned as a Parallel Hash and private hashes under a Gather: not fitted (0 ns)");
        return Ok(None);
    }
    let time = |i: usize| results[i].median_ms() - icpt_explain;
    let mut measured = vec![("time", time(s) / time(p))];
    let overhead = leader_cpu_overhead(results);
    let cpu_of = |i: usize| results[i].leader_cpu_median().map(|c| c - overhead).filter(|c| *c > 0.5);
    let cpu = cpu_of(s).zip(cpu_of(p));
    if let Some((cs, cp)) = cpu {
        measured.push(("leader CPU", cs / cp));
    }
    let base = deterministic(hw);
    let mut predict = |th: &[f64]| -> Result<Vec<f64>> {
        let mut h = base.clone();
        h.costs.parallel_hash_insert_ns = th[0];
        let (_, split) = simulate(results, &[s, p], &h)?;
        let (a, b) = (&split[&s], &split[&p]);
        let mut out = vec![a.ms / b.ms];
        if cpu.is_some() {
            out.push(a.leader_cpu_ms / b.leader_cpu_ms);
        }
        Ok(out)
    };
    let target: Vec<f64> = measured.iter().map(|m| m.1).collect();
    let params = [Param { name: "parallel_hash_insert_ns", lo: 0.0, hi: 2000.0, init: 0.0 }];
    let fit = sim_fit(&params, &target, &mut predict)?;
    hw.costs.parallel_hash_insert_ns = fit.values[0];
    eprintln!(
        "pqsim calibrate: Parallel Hash: a shared insert {:.0} ns dearer than a private one (flat over {:.0}..{:.0}); shared/private measured vs fitted: {}",
        fit.values[0],
        fit.ranges[0].0,
        fit.ranges[0].1,
        measured
            .iter()
            .zip(&fit.predicted)
            .map(|((what, m), f)| format!("{what} {m:.3} vs {f:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Some(ParallelHashFit { fit, measured }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::fit::model_split_cpu;
    use crate::calibration::tests::{probe_result, probe_scenario};
    use crate::pg::probes::{How, Probe, Stage};
    use crate::pg::protocol::Measured;

    #[test]
    fn a_shared_insert_is_charged_per_row_built_only_under_parallel_hash() {
        for (id, shared) in [("ph_shared", true), ("ph_private", false)] {
            let (sc, hw) = probe_scenario(id);
            let mut hw = deterministic(&hw);
            assert_eq!(hash_join_kind(&sc.plan, false), Some(shared), "{id} as planned by PostgreSQL");
            // n_s's rows: the build side of both probes.
            let built = sc.tables.iter().find(|t| t.name == "n_s").expect("n_s").rows;
            hw.costs.parallel_hash_insert_ns = 0.0;
            let cheap = model_split_cpu(&sc, &hw).unwrap();
            hw.costs.parallel_hash_insert_ns = 100.0;
            let dear = model_split_cpu(&sc, &hw).unwrap();
            let grew = dear.all_cpu_ms - cheap.all_cpu_ms;
            // 100 ns for each row inserted into the shared table, by whichever process.
            let expected = if shared { 100.0 * built / 1e6 } else { 0.0 };
            assert!(
                (grew - expected).abs() < 0.05 * expected.max(1.0),
                "{id}: CPU +{grew:.2} ms, expected +{expected:.2}"
            );
        }
    }

    /// The two probes as the model at `truth` ns would measure them, both `slower` than the
    /// model (an error the model makes on every parallel plan alike).
    fn measured_at(truth: f64, slower: f64) -> (Vec<ProbeResult>, Hardware) {
        let mut out = vec![];
        let mut hw0 = None;
        for id in ["ph_shared", "ph_private"] {
            let (sc, hw) = probe_scenario(id);
            let mut hw = deterministic(&hw);
            hw0.get_or_insert(hw.clone());
            hw.costs.parallel_hash_insert_ns = truth;
            let s = model_split_cpu(&sc, &hw).unwrap();
            let m = Measured { leader_cpu_ms: Some(s.leader_cpu_ms * slower), ..Measured::timed(s.ms * slower) };
            let probe = Probe {
                id: id.into(),
                sql: String::new(),
                gucs: vec![],
                how: How::Explain,
                stage: Stage::ParallelHash,
                per_rep: 1,
                what: "",
            };
            out.push(probe_result(probe, vec![m.clone(), m.clone(), m], Some(sc)));
        }
        (out, hw0.unwrap())
    }

    #[test]
    fn the_fit_finds_the_insert_price_whatever_error_both_plans_share() {
        for (truth, slower) in [(90.0, 1.0), (90.0, 1.08), (250.0, 0.95)] {
            let (results, mut hw) = measured_at(truth, slower);
            let f = parallel_hash(&results, &mut hw, 0.0).unwrap().expect("both probes planned as intended");
            assert_eq!(f.measured.len(), 2, "times and the leader's CPU");
            let got = hw.costs.parallel_hash_insert_ns;
            assert!((got - truth).abs() < 0.1 * truth, "fitted {got:.1} ns, truth {truth} (both plans x{slower})");
        }
    }

    #[test]
    fn without_a_parallel_hash_plan_nothing_is_fitted() {
        let (mut results, mut hw) = measured_at(90.0, 1.0);
        // PostgreSQL planned private hash tables for both (enable_parallel_hash ignored).
        results[0].scenario = results[1].scenario.clone();
        hw.costs.parallel_hash_insert_ns = 7.0;
        assert!(parallel_hash(&results, &mut hw, 0.0).unwrap().is_none());
        assert_eq!(hw.costs.parallel_hash_insert_ns, 7.0, "left as it was");
    }
}
