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
