//! The queue fit on the calibration's own Gather probes (plans imported from PostgreSQL 15.18,
//! tests/fixtures/queue-probes): "measurements" made by the model at known send and receive
//! costs must be fitted back to those costs.

use super::fit::model_split;
use super::stages::queues;
use super::ProbeResult;
use crate::model::{Hardware, Scenario};
use crate::pg::probes::{How, Probe, Stage};
use crate::pg::protocol::Measured;
use std::path::Path;

fn probe_scenario(id: &str) -> (Scenario, Hardware) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/queue-probes").join(format!("{id}.toml"));
    crate::config::load(&path, "reference-2vcpu", &Default::default()).expect("fixture loads")
}

/// The four Gather probes as the model at `truth` (send, receive ns) would measure them; the
/// leader's row shares only where `with_shares` (EXPLAIN VERBOSE's Worker N entries).
fn synthetic(truth: (f64, f64), with_shares: bool) -> (Vec<ProbeResult>, Hardware) {
    let mut out = vec![];
    let mut hw0 = None;
    for id in ["gq_single", "gq_w2_off", "gq_w1_on", "gq_w2_on"] {
        let (sc, mut hw) = probe_scenario(id);
        hw.cpu_noise_cv = 0.0;
        hw.parallel.worker_startup_sigma = 0.0;
        hw0.get_or_insert(hw.clone());
        hw.costs.tuple_send_ns = truth.0;
        hw.costs.tuple_receive_ns = truth.1;
        let (ms, share) = model_split(&sc, &hw).expect("simulates");
        let m = Measured {
            ms,
            hit: 0,
            read: 0,
            planned: None,
            launched: None,
            gather_startup_ms: None,
            leader_row_share: if with_shares && id.ends_with("_on") { share } else { None },
            ref_ms: 0.0,
        };
        let probe = Probe {
            id: id.into(),
            sql: "SELECT a FROM n_m".into(),
            gucs: vec![],
            how: How::Explain,
            stage: Stage::Queue,
            per_rep: 1,
            what: "every row through the Gather",
        };
        out.push(ProbeResult {
            probe,
            runs: vec![m.clone(), m.clone(), m],
            scenario: Some(sc),
            read_fraction: 0.0,
            import_error: None,
        });
    }
    (out, hw0.expect("a profile"))
}

#[test]
fn the_leaders_row_share_grows_as_receiving_gets_cheaper() {
    // Gather scans locally only while every queue is dry: a cheap receive leaves the leader
    // time to scan, an expensive one keeps it draining.
    let (sc, mut hw) = probe_scenario("gq_w1_on");
    hw.cpu_noise_cv = 0.0;
    hw.costs.tuple_receive_ns = 15.0;
    let cheap = model_split(&sc, &hw).unwrap().1.unwrap();
    hw.costs.tuple_receive_ns = 150.0;
    let dear = model_split(&sc, &hw).unwrap().1.unwrap();
    assert!(cheap > dear + 0.15, "leader share {cheap:.2} at 15 ns vs {dear:.2} at 150 ns");
}

#[test]
fn queue_fit_separates_send_from_receive_with_the_leaders_row_share() {
    let truth = (70.0, 15.0);
    let (results, mut hw) = synthetic(truth, true);
    // Start where the 2026-11-30 profile ended (send 49, receive 97).
    hw.costs.tuple_send_ns = 49.0;
    hw.costs.tuple_receive_ns = 97.0;
    let q = queues(&results, &mut hw, 0.0).expect("fits");
    assert_eq!(q.shares.len(), 2);
    assert!(
        (hw.costs.tuple_receive_ns - truth.1).abs() < 10.0 && (hw.costs.tuple_send_ns - truth.0).abs() < 15.0,
        "fitted send {:.1} receive {:.1}, truth {:?}",
        hw.costs.tuple_send_ns,
        hw.costs.tuple_receive_ns,
        truth
    );
}

/// A deterministic noise in [-1, 1) (a linear congruential generator).
fn noise(k: usize) -> f64 {
    let v = (k as u64).wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    ((v >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Rows (a, b, c) with y = 2a + 3b + `c_price` c + 1 and 2% noise (deterministic).
fn rows(c_price: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut x = vec![];
    let mut y = vec![];
    for k in 0..40 {
        let (a, b, c) = (1.0 + (k % 7) as f64, 1.0 + (k % 5) as f64, 1.0 + (k % 3) as f64);
        x.push(vec![a, b, c]);
        y.push((2.0 * a + 3.0 * b + c_price * c + 1.0) * (1.0 - 0.02 * noise(k)));
    }
    (x, y)
}

#[test]
fn a_cost_the_data_cannot_pin_down_is_held_at_its_prior_and_the_rest_refitted() {
    use super::stages::determined_fit;
    let tails = vec![[1.0, 0.0]; 40];
    let w = vec![1.0; 40];
    let prior = [0.0, 0.0, 0.1];
    // c's price is small beside the noise: these data cannot pin it down.
    let (x, y) = rows(0.1);
    let mut used = vec![0, 1, 2];
    let (fit, held) = determined_fit(&x, &y, &w, &tails, &prior, &mut used).unwrap();
    assert_eq!(used, vec![0, 1], "c must be held: {held:?}, fit {:?} +- {:?}", fit.coef, fit.std_err);
    assert_eq!(held.len(), 1);
    assert!(held[0].2 > held[0].1, "held for its s.e. above its value: {held:?}");
    assert!((fit.coef[0] - 2.0).abs() < 0.2 && (fit.coef[1] - 3.0).abs() < 0.2, "a, b refitted: {:?}", fit.coef);
    // A c that moves y as the others do is fitted, not held.
    let (x, y) = rows(5.0);
    let mut used = vec![0, 1, 2];
    let (fit, held) = determined_fit(&x, &y, &w, &tails, &prior, &mut used).unwrap();
    assert!(held.is_empty(), "a determined cost must not be held: {held:?}");
    assert!((fit.coef[2] - 5.0).abs() < 0.5, "c fitted: {:?}", fit.coef);
}
