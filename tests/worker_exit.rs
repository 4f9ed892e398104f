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
/// A worker's exit priced 1 us a page it mapped and nothing else, its faults `fault_ns` a
/// block mapped, no CPU noise.
fn exit_per_page(fault_ns: &str) -> WhatIf {
    WhatIf {
        hw: vec![
            ("parallel.shutdown_per_worker_us".into(), "0".into()),
            ("parallel.shutdown_sigma".into(), "0".into()),
            ("parallel.shutdown_per_page_ns".into(), "1000".into()),
            ("costs.worker_page_fault_ns".into(), fault_ns.into()),
            ("cpu_noise_cv".into(), "0".into()),
        ],
        ..Default::default()
    }
}

fn worker_exit(scattered_build: bool) -> (f64, f64, f64, f64) {
    // Faults priced at 0: the participants' shares of the scans stay the same whatever the
    // windows, so only the unmapping can tell the layouts apart.
    let w = WhatIf { set: vec![("max_parallel_workers_per_gather".into(), "1".into())], ..exit_per_page("0") };
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

/// Q12 as PostgreSQL 15.18 planned it with two workers and the leader off (imported from a
/// throwaway server in the validation's layout): each worker looks up its share of lineitem's
/// filtered rows in orders' primary key. Returns the compiled plan and orders.
fn nested_loop(fault_ns: &str) -> (pqsim::exec::Compiled, pqsim::model::Table) {
    let w = WhatIf { hw: vec![("costs.worker_page_fault_ns".into(), fault_ns.into())], ..Default::default() };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/q12-nested-loop-two-workers.toml");
    let (sc, hw) = config::load(&path, "reference-2vcpu", &w).expect("loads");
    let d = pqsim::planner::decide(&sc);
    assert_eq!(d.workers_planned, 2);
    let orders = sc.tables.iter().find(|t| t.name == "orders").expect("orders").clone();
    (compile_for(&RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 11)), orders)
}

#[test]
fn a_workers_index_lookups_fault_in_the_windows_they_touch_and_unmap_them_at_exit() {
    let (free, orders) = nested_loop("0");
    let (dear, _) = nested_loop("1000");
    let (w0, w1) = (&free.worker, &dear.worker);
    // Each worker's share of the lookups: its half of the outer rows reaching the Nested Loop
    // (one lookup each; its rows per scanned tuple are the filter's, a primary key finding one
    // row a lookup).
    let lookups = w1.source.tuples * w1.rows_per_tuple / 2.0;
    assert!(lookups > 100.0, "{lookups} lookups a worker");
    let mapped = pqsim::exec::scan::index_lookup_maps(&orders, lookups);
    // 1,228 lookups at random into orders' 136 windows of heap (as pg_buffercache counted
    // them) and 21 of index touch nearly all.
    let heap_windows: f64 = orders.buffer_windows.expect("the server's windows").iter().sum();
    let windows = heap_windows + (orders.index_pages.expect("index pages") / 8.0).ceil();
    assert!(
        mapped > 0.9 * 8.0 * windows && mapped <= 8.0 * windows + 1e-9,
        "{mapped} blocks mapped of {windows} windows"
    );
    // Its blocks spread over twice the windows (among other tables' buffers): twice the heap's.
    let mut spread = orders.clone();
    spread.buffer_windows = Some([0.0, 0.0, 0.0, 0.0, 2.0 * heap_windows, 0.0, 0.0, 0.0]);
    let spread_mapped = pqsim::exec::scan::index_lookup_maps(&spread, lookups);
    assert!(spread_mapped > 1.6 * mapped, "{spread_mapped} blocks mapped spread, {mapped} packed");
    // Every mapped block costs 1 us of the worker's CPU, spread over its lookups.
    let extra = (w1.cpu_per_tuple - w0.cpu_per_tuple) * w1.source.tuples / 2.0;
    assert!((extra - 1000.0 * mapped).abs() < 0.01 * 1000.0 * mapped, "{extra:.0} ns for {mapped:.0} blocks");
    // And the exit unmaps them beside the scan's own: more mapped blocks per block of its scan.
    let per_block = mapped / (w1.source.pages / 2.0);
    assert!((w1.source.page.maps - w0.source.page.maps).abs() < 1e-9, "the price does not change the count");
    assert!(w1.source.page.maps > 1.0 + 0.9 * per_block, "{} maps a block", w1.source.page.maps);
    // The leader, a long-lived backend, mapped them in earlier queries.
    assert!((dear.leader.cpu_per_tuple - free.leader.cpu_per_tuple).abs() < 1e-9);
}

/// The calibration probe ws_single (count(*) of n_m in a single-copy Gather's worker: a plain
/// Seq Scan in a worker) with n_m's blocks in order or each alone in its 64 kB window of
/// shared buffers. Returns the worker pipeline's maps per block read, its CPU per page and
/// its exit (ns).
fn single_copy_scan(scattered: bool) -> (f64, f64, f64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/queue-probes/ws_single.toml");
    let (mut sc, hw) = config::load(&path, "reference-2vcpu", &exit_per_page("500")).expect("loads");
    if scattered {
        let pages = sc.tables[0].pages;
        sc.tables[0].buffer_windows = Some([pages, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
    let d = pqsim::planner::decide(&sc);
    let spec = RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, d.workers_launched, 11);
    let c = compile_for(&spec);
    let (_, res) = simulate(&spec).expect("runs");
    let worker = res.processes.iter().find(|p| p.is_worker).expect("a worker");
    assert!((worker.pages_scanned - sc.tables[0].pages).abs() < 1.0, "the worker reads every block");
    (c.worker.source.page.maps, c.worker.source.page.cpu_ns, worker.acct.shutdown)
}

#[test]
fn a_workers_plain_seq_scan_maps_the_windows_its_blocks_lie_in() {
    let (dense_maps, dense_page, dense_exit) = single_copy_scan(false);
    let (maps, page, exit) = single_copy_scan(true);
    // In order, eight blocks to a window: a block read maps itself. One block to a window
    // (among other tables' buffers): its fault maps the whole window, eight blocks.
    assert!((dense_maps - 1.0).abs() < 1e-9, "{dense_maps}");
    assert!((maps - 8.0).abs() < 1e-9, "{maps}");
    // Each block mapped beside it costs the fault's price a block, and the exit unmaps it.
    assert!((page - dense_page - 7.0 * 500.0).abs() < 1e-6, "{page} ns a page against {dense_page}");
    let pages = 2062.0;
    assert!(
        (exit - dense_exit - 7.0 * 1000.0 * pages).abs() < 1e-3 * exit,
        "exit {exit:.0} against {dense_exit:.0} ns"
    );
}
