//! The serial fit on probes the model itself measured at known prices: what it holds, what it
//! fits, and what it finds where the design is right.

use super::tests::probe_result;
use super::ProbeResult;
use crate::model::{Hardware, Scenario};
use crate::pg::probes::{How, Probe, Stage};
use crate::pg::protocol::Measured;
use std::path::Path;

/// A serial EXPLAIN-timed probe `id` over `sc` as the model at `truth` measures it (three
/// identical runs).
fn serial_as_modelled(id: &str, sc: Scenario, truth: &Hardware) -> ProbeResult {
    let ms = super::fit::model_ms(&sc, truth, 1).expect("simulates");
    let probe = Probe {
        id: id.into(),
        sql: String::new(),
        gucs: vec![],
        how: How::Explain,
        stage: Stage::Serial,
        per_rep: 1,
        what: "",
    };
    probe_result(probe, vec![Measured::timed(ms); 3], Some(sc))
}

#[test]
fn explain_analyzes_call_wrapper_is_measured_apart_and_the_serial_fit_builds_on_it() {
    // count(*) at three sizes (in shared buffers: under a quarter of them) timed by EXPLAIN
    // (ANALYZE, TIMING OFF) and by the client, as the model measures them with the wrapper at
    // 25 ns a call; the wrapper probes say 25 ns too. The serial fit, given the wrapper, finds
    // each kind of timing's fixed cost and prices the rows alike for both.
    use super::pairs::instrument_call;
    use super::stages::serial;
    use crate::model::OutputMode;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios/testpar-count.toml");
    let w = crate::config::WhatIf {
        set: vec![("max_parallel_workers_per_gather".into(), "0".into())],
        ..Default::default()
    };
    let (base, hw) = crate::config::load(&path, "reference-2vcpu", &w).expect("loads");
    let mut truth = super::stages::deterministic(&hw);
    truth.costs.instrument_call_ns = 25.0;
    truth.costs.query_explain_ns = 50e3;
    truth.costs.query_client_ns = 200e3;
    let result = |id: String, how: How, stage: Stage, sc: Option<Scenario>, ms: f64, calls: Option<f64>| {
        let probe = Probe { id, sql: String::new(), gucs: vec![], how, stage, per_rep: 1, what: "" };
        let runs = vec![Measured::timed(ms); 3];
        ProbeResult { node_calls: calls, ..probe_result(probe, runs, sc) }
    };
    let mut results = vec![
        result("wrap_explain".into(), How::Explain, Stage::Wrapper, None, 160.0, Some(4e6)),
        result("wrap_client".into(), How::Client, Stage::Wrapper, None, 60.0, Some(4e6)),
    ];
    let wrapper = instrument_call(&results).expect("both wrapper probes");
    assert!((wrapper.ns - 25.0).abs() < 1e-9, "{}", wrapper.ns);
    for (k, rows) in [30e3, 120e3, 300e3].into_iter().enumerate() {
        for (how, output) in [(How::Explain, OutputMode::ExplainAnalyzeTimingOff), (How::Client, OutputMode::Client)] {
            let mut sc = base.clone();
            sc.tables[0].rows = rows;
            sc.tables[0].pages = (rows / 81.0).ceil();
            sc.output = output;
            let ms = super::fit::model_ms(&sc, &truth, 1).expect("simulates");
            let id = format!("{}count_{}", if how == How::Client { "client" } else { "" }, ["s", "m", "l"][k]);
            results.push(result(id, how, Stage::Serial, Some(sc), ms, None));
        }
    }
    let mut hw = super::fit::provisional();
    hw.costs.instrument_call_ns = wrapper.ns;
    let fit = serial(&results, &mut hw, &[]).expect("fits");
    assert!(!fit.keys.contains(&"instrument_call_ns"), "measured apart, not fitted: {:?}", fit.keys);
    assert!((fit.icpt_client * 1e6 - 200e3).abs() < 5e3, "client fixed cost {} ms", fit.icpt_client);
    assert!((fit.icpt_explain * 1e6 - 50e3).abs() < 5e3, "EXPLAIN fixed cost {} ms", fit.icpt_explain);
    // The wrapper's share, held and taken off before the fit, is part of each probe's fitted
    // time (the profile's [calibration.probes]): EXPLAIN-timed probes pay it over their bare
    // twins, by one node call (the scan's) a row.
    let base_of = |id: &str| fit.idx.iter().position(|&i| results[i].probe.id == id).map(|k| fit.base[k]).expect(id);
    for (k, &i) in fit.idx.iter().enumerate() {
        let (measured, fitted) = (results[i].median_ms(), fit.fitted_ms(k));
        assert!((fitted / measured - 1.0).abs() < 0.02, "{}: {fitted:.3} vs {measured:.3}", results[i].probe.id);
    }
    for (size, rows) in [("s", 30e3), ("m", 120e3), ("l", 300e3)] {
        let wrapper_ms = base_of(&format!("count_{size}")) - base_of(&format!("clientcount_{size}"));
        assert!((wrapper_ms / (rows * 25.0 / 1e6) - 1.0).abs() < 0.05, "count_{size}: {wrapper_ms:.3} ms");
    }
    // Without the wrapper probes, nothing is measured and the prior stays.
    assert!(instrument_call(&results[2..]).is_none());
}

#[test]
fn a_page_out_of_block_order_is_priced_by_twin_tables_and_held_in_the_serial_fit() {
    // count(*) and a sum over twins in shared buffers, one in block order, one shuffled, as
    // the model measures them with 600 ns a jump and 400 more reading rows: the twins' medians
    // give both prices back, and the serial fit holds them instead of fitting them.
    use super::pairs::buffer_jumps;
    use super::stages::serial;
    let twin = |file: &str, in_order: f64| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios").join(file);
        let w = crate::config::WhatIf {
            set: vec![("max_parallel_workers_per_gather".into(), "0".into())],
            ..Default::default()
        };
        let (mut sc, hw) = crate::config::load(&path, "reference-2vcpu", &w).expect("loads");
        let t = &mut sc.tables[0];
        t.rows = 250_000.0;
        t.pages = 2_500.0;
        t.in_shared_buffers = Some(1.0);
        t.buffers_in_order = Some(in_order);
        (sc, hw)
    };
    let (_, hw) = twin("testpar-count.toml", 1.0);
    let mut truth = super::stages::deterministic(&hw);
    truth.costs.buffer_jump_ns = 600.0;
    truth.costs.buffer_jump_data_ns = 400.0;
    let mut results = vec![];
    for (id, file, in_order) in [
        ("count_h", "testpar-count.toml", 1.0),
        ("count_hx", "testpar-count.toml", 0.02),
        ("agg4_h", "tpch-lineitem-sum.toml", 0.98),
        ("agg4_hx", "tpch-lineitem-sum.toml", 0.0),
    ] {
        let (sc, _) = twin(file, in_order);
        results.push(serial_as_modelled(id, sc, &truth));
    }
    let j = buffer_jumps(&results, &hw).expect("models").expect("all four twins");
    assert!((j.ns - 600.0).abs() < 0.1 && (j.data_ns - 400.0).abs() < 0.1, "{j:?}");
    assert!((j.jumps - 2_500.0 * 0.98).abs() < 1e-6, "{j:?}");
    let mut hw = super::fit::provisional();
    (hw.costs.buffer_jump_ns, hw.costs.buffer_jump_data_ns) = (j.ns, j.data_ns);
    let fit = serial(&results, &mut hw, &["buffer_jump_ns", "buffer_jump_data_ns"]).expect("fits");
    assert!(!fit.keys.contains(&"buffer_jump_ns") && !fit.keys.contains(&"buffer_jump_data_ns"), "{:?}", fit.keys);
    assert_eq!((hw.costs.buffer_jump_ns, hw.costs.buffer_jump_data_ns), (j.ns, j.data_ns));
    // A tenth of the shuffled twin's blocks read from the OS: their copy is not a jump.
    let read = &mut results;
    read[1].read_fraction = 0.1;
    let copy_ms = 0.1 * 2_500.0 * hw.costs.os_read_page_ns / 1e6;
    assert!(copy_ms > 0.0);
    read[1].runs.iter_mut().for_each(|m| m.ms += copy_ms);
    let jr = buffer_jumps(read, &hw).expect("models").expect("all four twins");
    assert!((jr.ns - 600.0).abs() < 0.1, "{jr:?}");
    // Twins of different sizes say nothing apart: the fit prices them with the rest.
    if let Some(sc) = results[1].scenario.as_mut() {
        sc.tables[0].pages = 3_000.0;
    }
    assert!(buffer_jumps(&results, &hw).expect("models").is_none());
}

/// The pooled spread of runs around their probe's median keeps its skew: probes whose every
/// fifth run was slowed by half give a 90th percentile near 1.5 while their robust sigma (the
/// middle's) stays small; too few runs give none.

#[test]
fn hash_tables_stop_getting_dearer_where_the_builds_say_priced_past_this_machines_cache() {
    // count(*) of four tables and hashed SubPlan builds of 57k-3M keys (3-100 MB of entries),
    // as the model measures them with 150 ns an insert, 50 more per doubling past a 2 MB cache
    // and no more past 3.5 doublings. The serial fit finds where the price stops growing among
    // its candidates and prices the inserts and the doublings from this machine's cache (a
    // design from another cache size shifts the insert's price by a doubling's).
    use super::stages::serial;
    use crate::model::hash_table::default_far_bytes;
    let cache = 2.0 * 1048576.0;
    let (truth, results) = hash_probes_as_modelled([50.0, 50.0], &HASH_PROBES[..9]);
    // The scans' and the builds' prices fitted, every other held at the truth's (nine probes
    // do not separate them all).
    let mut hw = truth.clone();
    hw.costs.hash_build_ns = 100.0;
    hw.costs.hash_insert_miss_ns = 20.0;
    hw.costs.hash_far_bytes = default_far_bytes(cache);
    let fitted = ["page_ns", "tuple_ns", "hash_build_ns", "hash_insert_miss_ns"];
    let given: Vec<&str> =
        super::fit::LINEAR_COSTS.iter().chain(super::fit::CPU_COSTS).copied().filter(|n| !fitted.contains(n)).collect();
    serial(&results, &mut hw, &given).expect("fits");
    assert!(
        (hw.costs.hash_far_bytes / truth.costs.hash_far_bytes - 1.0).abs() < 1e-9,
        "{} MB",
        hw.costs.hash_far_bytes / 1048576.0
    );
    assert!(
        (hw.costs.hash_insert_miss_ns - 50.0).abs() < 5.0,
        "an insert's miss {:.1} ns a doubling",
        hw.costs.hash_insert_miss_ns
    );
    assert!((hw.costs.hash_build_ns - 150.0).abs() < 15.0, "insert {:.1} ns", hw.costs.hash_build_ns);
    // The largest build, predicted with the fitted prices, as measured.
    let x = &results[8];
    let ms = super::fit::model_ms(x.scenario.as_ref().expect("imported"), &hw, 1).expect("simulates");
    assert!((ms / x.median_ms() - 1.0).abs() < 0.05, "subplan_x {ms:.1} vs {:.1} ms", x.median_ms());
}

#[test]
fn the_builds_and_the_lookups_price_an_inserts_miss_apart_from_a_lookups() {
    // The same builds, and the ring table's probed by every row of n_l, as the model measures
    // them with a write's miss dearer than a read's (80 and 40 ns a doubling past a 2 MB
    // cache): the serial fit finds both, and with one price for both it could not fit the
    // builds and the lookups at once.
    use super::stages::serial;
    let (truth, results) = hash_probes_as_modelled([40.0, 80.0], &HASH_PROBES);
    let fit = |fitted: &[&str]| {
        let mut hw = truth.clone();
        hw.costs.hash_build_ns = 100.0;
        hw.costs.hash_miss_ns = 60.0;
        hw.costs.hash_insert_miss_ns = 60.0;
        let given: Vec<&str> = super::fit::LINEAR_COSTS
            .iter()
            .chain(super::fit::CPU_COSTS)
            .copied()
            .filter(|n| !fitted.contains(n))
            .collect();
        serial(&results, &mut hw, &given).expect("fits");
        hw
    };
    let hw = fit(&["page_ns", "tuple_ns", "hash_build_ns", "hash_miss_ns", "hash_insert_miss_ns"]);
    assert!((hw.costs.hash_insert_miss_ns - 80.0).abs() < 8.0, "insert miss {:.1}", hw.costs.hash_insert_miss_ns);
    assert!((hw.costs.hash_miss_ns - 40.0).abs() < 8.0, "lookup miss {:.1}", hw.costs.hash_miss_ns);
    // One price for both (the insert's held at the lookup's starting value, 60): some probe
    // is off by more than 3%.
    let one = fit(&["page_ns", "tuple_ns", "hash_build_ns", "hash_miss_ns"]);
    let worst = results
        .iter()
        .map(|r| {
            let ms = super::fit::model_ms(r.scenario.as_ref().expect("imported"), &one, 1).expect("simulates");
            (ms / r.median_ms() - 1.0).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst > 0.03, "one price fits every probe within {:.1}%", 100.0 * worst);
}

/// The hash-table fixtures' probes (tests/fixtures/hash-probes): count(*) of four tables,
/// hashed SubPlan builds of 57k-3M keys probed 1,000 times, and the ring table's build looked
/// up by every row of n_l.
const HASH_PROBES: [&str; 10] = [
    "count_s",
    "count_m",
    "count_l",
    "count_r",
    "subplan_s",
    "subplan_m",
    "subplan_l",
    "subplan_r",
    "subplan_x",
    "subplan_rl",
];

/// `ids` as the model measures them with 150 ns an insert, 30 a lookup and `[lookup, insert]`
/// ns of miss per doubling past a 2 MB cache, no more past 3.5 doublings; that truth.
fn hash_probes_as_modelled(miss: [f64; 2], ids: &[&str]) -> (Hardware, Vec<ProbeResult>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hash-probes");
    let load = |id: &str| {
        crate::config::load(&dir.join(format!("{id}.toml")), "reference-2vcpu", &Default::default()).expect("loads")
    };
    let cache = 2.0 * 1048576.0;
    let mut truth = super::stages::deterministic(&load("count_s").1);
    truth.costs.hash_build_ns = 150.0;
    truth.costs.hash_probe_ns = 30.0;
    [truth.costs.hash_miss_ns, truth.costs.hash_insert_miss_ns] = miss;
    truth.costs.hash_cache_bytes = cache;
    truth.costs.hash_far_bytes = cache * 2f64.powf(3.5);
    let results = ids.iter().map(|&id| serial_as_modelled(id, load(id).0, &truth)).collect();
    (truth, results)
}
