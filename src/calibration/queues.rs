//! The tuple-queue stage of a calibration: `tuple_send_ns`, `tuple_receive_ns`,
//! `gather_merge_tuple_ns` and `gather_poll_ns` from the Gather-heavy probes, the send held
//! where the sending worker's own CPU time was measured.

use super::fit::{model_split_cpu, sim_fit, Param, SimFit};
use super::stages::{by_id, deterministic, leader_cpu_overhead, leader_shares, shares_text, simulate, WorkerMeasured};
use super::ProbeResult;
use crate::error::Result;
use crate::model::Hardware;
use crate::pg::probes::Stage;

/// Stage 3: tuple queues.
pub struct QueueFit {
    pub fit: SimFit,
    pub idx: Vec<usize>,
    /// Measured times minus the EXPLAIN overhead (ms).
    pub measured: Vec<f64>,
    /// Probes whose leader's share of the scanned rows is a fit target too: (index into the
    /// probe results, median measured share). Their predictions follow the times' in
    /// `fit.predicted`.
    pub shares: Vec<(usize, f64)>,
    /// Probes whose leader backend's CPU time was measured (`/proc/PID/schedstat`, a server
    /// on this machine): (index into the probe results, median CPU ms less the planning and
    /// EXPLAIN work that `gr_serial` shows). Fit targets after the shares.
    pub leader_cpu: Vec<(usize, f64)>,
    /// `tuple_send_ns` from the sending worker's own CPU time, where measured (then held in
    /// the fit).
    pub send: Option<SendFromCpu>,
}

/// A row's forming and sending in a worker, from the kernel's CPU accounting: the
/// single-copy Gather's worker sending every row of n_m (gq_single) against the same worker
/// counting them (ws_single), from fork to exit; the model's two workers differ by the send
/// price over the rows sent, the projection and the count's transitions: the price that
/// makes their difference the measured one. A wall time would not do: a single-copy
/// Gather's two processes run 20-25 ms on the same 2-vCPU machine by where the kernel puts
/// them (robust CV up to 0.27 in one calibration), and its fit put the price at 57-93 ns over
/// one day's calibrations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendFromCpu {
    /// The sending worker's CPU less the counting worker's (ms, measured).
    pub measured_ms: f64,
    /// The model's, with sending free (ms).
    pub model_unsent_ms: f64,
    /// The model's difference per ns of the price (ms): the rows sent over the core's speed.
    pub per_ns_ms: f64,
    /// The price that makes the two agree (ns a row, at least 0).
    pub ns: f64,
}

/// Tuple-queue costs (`tuple_send_ns`, `tuple_receive_ns`, `gather_merge_tuple_ns`) by
/// fitting the simulator to Gather-heavy probes (every row crosses a queue; a single-copy
/// Gather, two workers with the leader only receiving, one and two workers with the leader
/// participating) and Gather Merge probes.
///
/// Times alone hardly separate the sender's cost from the receiver's: a pipeline runs at the
/// pace of its slower side, so the fit could trade one for the other. The leader's share of
/// the scanned rows where it participates (`Worker N` entries of EXPLAIN VERBOSE) does: Gather
/// scans locally only while every queue is dry, so that share grows as draining a row gets
/// cheaper than a worker's scanning and sending it. Those shares are fit targets beside the
/// times (relative errors, like the times).
pub fn queues(
    results: &[ProbeResult],
    hw: &mut Hardware,
    icpt_explain: f64,
    worker: &WorkerMeasured,
) -> Result<QueueFit> {
    let idx: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].probe.stage == Stage::Queue && results[i].scenario.is_some())
        .collect();
    let mut measured: Vec<f64> = idx.iter().map(|&i| results[i].median_ms() - icpt_explain).collect();
    // A share near 0 has no relative error to speak of; it says little anyway.
    let shares = leader_shares(results, &idx, 0.02);
    measured.extend(shares.iter().map(|s| s.1));
    // The leader's own CPU time pins the receiving cost (a single-copy Gather's leader only
    // receives) and the price of its local rows, where times and shares only bound them.
    let cpu_of = |i: usize| results[i].leader_cpu_median();
    let overhead = leader_cpu_overhead(results);
    let leader_cpu: Vec<(usize, f64)> =
        idx.iter().filter_map(|&i| cpu_of(i).map(|c| (i, c - overhead))).filter(|(_, c)| *c > 0.5).collect();
    measured.extend(leader_cpu.iter().map(|s| s.1));
    let base_hw = deterministic(hw);
    let send = send_from_cpu(results, &base_hw, worker)?;
    let mut params = vec![
        Param { name: "tuple_send_ns", lo: 0.0, hi: 3000.0, init: hw.costs.tuple_send_ns },
        Param { name: "tuple_receive_ns", lo: 0.0, hi: 3000.0, init: hw.costs.tuple_receive_ns },
        Param { name: "gather_merge_tuple_ns", lo: 0.0, hi: 3000.0, init: hw.costs.gather_merge_tuple_ns },
        Param { name: "gather_poll_ns", lo: 0.0, hi: 300.0, init: 10.0 },
    ];
    if send.is_some() {
        params.remove(0);
    }
    // θ as [send, receive, gather merge, poll], the send held where measured.
    let full = |th: &[f64]| -> Vec<f64> {
        match send {
            Some(s) => std::iter::once(s.ns).chain(th.iter().copied()).collect(),
            None => th.to_vec(),
        }
    };
    let mut predict = |th: &[f64]| -> Result<Vec<f64>> {
        let th = full(th);
        let mut h = base_hw.clone();
        h.costs.tuple_send_ns = th[0];
        h.costs.tuple_receive_ns = th[1];
        h.costs.gather_merge_tuple_ns = th[2];
        h.costs.gather_poll_ns = th[3];
        let (mut out, split_of) = simulate(results, &idx, &h)?;
        out.extend(shares.iter().map(|(i, _)| split_of.get(i).and_then(|s| s.leader_share).unwrap_or(0.0)));
        out.extend(leader_cpu.iter().map(|(i, _)| split_of.get(i).map_or(0.0, |s| s.leader_cpu_ms)));
        Ok(out)
    };
    let mut fit = sim_fit(&params, &measured, &mut predict)?;
    if let Some(s) = send {
        fit.values.insert(0, s.ns);
        fit.ranges.insert(0, (s.ns, s.ns));
    }
    hw.costs.tuple_send_ns = fit.values[0];
    hw.costs.tuple_receive_ns = fit.values[1];
    hw.costs.gather_merge_tuple_ns = fit.values[2];
    hw.costs.gather_poll_ns = fit.values[3];
    let n_shares = idx.len() + shares.len();
    eprintln!(
        "pqsim calibrate: queues: leader CPU (ms, measured vs fitted, less {:.2} ms of planning): {}",
        overhead,
        leader_cpu
            .iter()
            .enumerate()
            .map(|(k, (i, m))| format!("{} {:.1} vs {:.1}", results[*i].probe.id, m, fit.predicted[n_shares + k]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "pqsim calibrate: queues: send {:.0} ns ({}), receive {:.0} ns, gather merge {:.0} ns per tuple, poll {:.0} ns per queue per local row; rms {:.1}% ({} simulations; leader's row shares {})",
        fit.values[0],
        send.map_or("fitted".to_string(), |s| format!(
            "a worker's CPU sending every row of n_m: {:.2} ms more than counting them, the model's {:.2} ms with sending free",
            s.measured_ms, s.model_unsent_ms
        )),
        fit.values[1],
        fit.values[2],
        fit.values[3],
        100.0 * fit.rms,
        fit.evaluations,
        shares_text(results, &shares, &fit.predicted[idx.len()..])
    );
    measured.truncate(idx.len());
    Ok(QueueFit { fit, idx, measured, shares, leader_cpu, send })
}

/// [`SendFromCpu`] where the sending worker's CPU was measured and the model has both
/// probes. The model's sending worker's CPU is about linear in the price: read at 0 and
/// 100 ns, then once more where that line crosses the measurement.
fn send_from_cpu(results: &[ProbeResult], h: &Hardware, worker: &WorkerMeasured) -> Result<Option<SendFromCpu>> {
    let Some(measured_ms) = worker.sending_ms.filter(|v| v.is_finite()) else { return Ok(None) };
    let by_id = by_id(results);
    let scenario = |id: &str| by_id.get(id).and_then(|&i| results[i].scenario.as_ref());
    let (Some(sender), Some(counter)) = (scenario("gq_single"), scenario("ws_single")) else { return Ok(None) };
    let at = |ns: f64| -> Result<f64> {
        let mut h = h.clone();
        h.costs.tuple_send_ns = ns;
        Ok(model_split_cpu(sender, &h)?.worker_cpu_ms)
    };
    let counting = model_split_cpu(counter, h)?.worker_cpu_ms;
    let (free, at_100) = (at(0.0)?, at(100.0)?);
    let model_unsent_ms = free - counting;
    let per_ns_ms = (at_100 - free) / 100.0;
    if per_ns_ms <= 0.0 {
        return Ok(None);
    }
    // Nearly linear: where the worker shares the machine with its leader its core runs
    // slower while both are busy, and how long both are moves with the price. One more step.
    let first = ((measured_ms - model_unsent_ms) / per_ns_ms).clamp(0.0, 3000.0);
    let ns = (first + (measured_ms - (at(first)? - counting)) / per_ns_ms).clamp(0.0, 3000.0);
    Ok(Some(SendFromCpu { measured_ms, model_unsent_ms, per_ns_ms, ns }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::tests::{probe_result, probe_scenario, synthetic};
    use crate::pg::probes::{How, Probe};
    use crate::pg::protocol::Measured;

    /// The queue probes as the model at `truth` (send, receive ns) measures them, with
    /// ws_single beside them, and the kernel's account of a single-copy worker's CPU sending
    /// every row of n_m against counting them: the model's at `cpu_send` ns a row sent.
    fn with_sending_cpu(truth: (f64, f64), cpu_send: f64) -> (Vec<ProbeResult>, Hardware, WorkerMeasured) {
        let (mut results, hw) = synthetic(truth, true);
        let (counter, _) = probe_scenario("ws_single");
        let (sender, _) = probe_scenario("gq_single");
        let mut h = deterministic(&hw);
        h.costs.tuple_send_ns = cpu_send;
        let cpu = |sc| model_split_cpu(sc, &h).expect("simulates").worker_cpu_ms;
        let worker = WorkerMeasured { page_fault_ns: 0.0, cpu: None, sending_ms: Some(cpu(&sender) - cpu(&counter)) };
        let probe = Probe {
            id: "ws_single".into(),
            sql: "SELECT count(*) FROM n_m".into(),
            gucs: vec![],
            how: How::Explain,
            stage: Stage::WorkerScan,
            per_rep: 1,
            what: "count(*) of n_m in a single-copy Gather's worker",
        };
        results.push(probe_result(probe, vec![Measured::timed(1.0)], Some(counter)));
        (results, hw, worker)
    }

    #[test]
    fn the_send_price_is_the_sending_workers_cpu_over_its_rows_and_held_in_the_fit() {
        // The times say 70 ns a row sent; the worker's CPU says 45: the CPU is the measurement
        // of the send itself (a wall time moves with where the kernel puts two processes), and
        // the fit goes on with it held.
        let (results, mut hw, worker) = with_sending_cpu((70.0, 15.0), 45.0);
        hw.costs.tuple_send_ns = 49.0;
        let q = queues(&results, &mut hw, 0.0, &worker).expect("fits");
        let s = q.send.expect("read from the CPU");
        assert!((s.ns - 45.0).abs() < 0.1, "send from CPU {:.3}, expected 45", s.ns);
        assert_eq!(hw.costs.tuple_send_ns, s.ns);
        assert_eq!(q.fit.values[0], s.ns);
        let rows = probe_scenario("gq_single").0.tables[0].rows;
        assert!((s.per_ns_ms * 1e6 * hw.cpu_speed / rows - 1.0).abs() < 0.03, "one price a row sent: {s:?}");
        // The receive is still fitted, from the times, shares and the leader's CPU.
        assert!(hw.costs.tuple_receive_ns.is_finite() && hw.costs.tuple_receive_ns >= 0.0);
    }

    #[test]
    fn without_the_sending_workers_cpu_the_send_is_fitted_from_the_times() {
        let (results, mut hw, mut worker) = with_sending_cpu((70.0, 15.0), 45.0);
        worker.sending_ms = None;
        hw.costs.tuple_send_ns = 49.0;
        let q = queues(&results, &mut hw, 0.0, &worker).expect("fits");
        assert_eq!(q.send, None);
        assert!((hw.costs.tuple_send_ns - 70.0).abs() < 15.0, "fitted send {:.1}", hw.costs.tuple_send_ns);
    }
}
