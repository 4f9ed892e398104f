//! A parallel worker's exit unmaps every page of shared buffers its faults mapped: the
//! blocks it read and the ones fault-around mapped beside them (eight buffers to a 64 kB
//! window), in the scan that fed its share of a Parallel Hash as in the scan it probed with.
//! Through the library: the shipped TPC-H Q12 scenario, one worker, the reference-2vcpu
//! profile with the exit priced per page only.

use pqsim::config::{self, WhatIf};
use pqsim::exec::{compile_for, simulate, RunSpec};
use std::path::Path;

/// The worker's exit (ns), the maps per block of the scan it built from, the pages it mapped
/// as the pipeline's scans count them (blocks read times maps per block read) and the blocks
/// it read for the build.
fn worker_exit(scattered_build: bool) -> (f64, f64, f64, f64) {
    let w = WhatIf {
        set: vec![("max_parallel_workers_per_gather".into(), "1".into())],
        hw: vec![
            ("parallel.shutdown_per_worker_us".into(), "0".into()),
            ("parallel.shutdown_sigma".into(), "0".into()),
            ("parallel.shutdown_per_page_ns".into(), "1000".into()),
            // Faults priced at 0: the participants' shares of the scans stay the same
            // whatever the windows, so only the unmapping can tell the layouts apart.
            ("costs.worker_page_fault_ns".into(), "0".into()),
            ("cpu_noise_cv".into(), "0".into()),
        ],
        ..Default::default()
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios/tpch-q12.toml");
    let (mut sc, hw) = config::load(&path, "reference-2vcpu", &w).expect("loads");
    let orders = sc.tables.iter().position(|t| t.name == "orders").expect("orders");
    if scattered_build {
        // orders' blocks among other data: every 64 kB window holds blocks of eight of the
        // scan's chunks, so a participant with half the chunks maps about two blocks for each
        // one it reads.
        let mut windows = [0.0; 8];
        windows[7] = sc.tables[orders].pages / 8.0;
        sc.tables[orders].buffer_windows = Some(windows);
    }
    let d = pqsim::planner::decide(&sc);
    assert_eq!(d.workers_launched, 1, "one worker");
    let spec = RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 11);
    let c = compile_for(&spec);
    let (_, res) = simulate(&spec).expect("runs");
    let pipe = &c.worker;
    assert_eq!(pipe.builds.len(), 1, "one hash build: orders");
    let b = &pipe.builds[0];
    let worker = res.processes.iter().find(|p| p.is_worker).expect("a worker");
    let built = worker.build_tuples[0] / b.tuples;
    assert!(built > 0.2 && built < 0.8, "the worker built {built} of the shared table");
    let mapped = worker.pages_scanned * pipe.source.page.maps + b.pages * built * b.page.maps;
    (worker.acct.shutdown, b.page.maps, mapped, b.pages * built)
}

#[test]
fn a_workers_exit_unmaps_the_blocks_its_hash_build_mapped_too() {
    let (dense, dense_maps, dense_mapped, _) = worker_exit(false);
    let (scattered, scattered_maps, scattered_mapped, build_blocks) = worker_exit(true);
    // SF10's orders in chunks of many blocks, in order: a block read maps only itself.
    assert!((dense_maps - 1.0).abs() < 1e-9, "{dense_maps}");
    assert!(scattered_maps > 1.8, "{scattered_maps}");
    // The exit is 1 us a mapped page, whichever scan mapped it.
    for (exit, mapped) in [(dense, dense_mapped), (scattered, scattered_mapped)] {
        assert!((exit - 1000.0 * mapped).abs() < 1e-3 * exit, "exit {exit:.0} ns for {mapped:.0} pages mapped");
    }
    // The scattered build's extra windows are unmapped at the exit: 1 us for each block the
    // fault-around mapped beside each of the build's blocks the worker read.
    let extra = 1000.0 * build_blocks * (scattered_maps - 1.0);
    assert!(
        (scattered - dense - extra).abs() < 0.02 * extra,
        "exit {scattered:.0} ns scattered against {dense:.0} ns in order; the build's extra windows {extra:.0} ns"
    );
}
