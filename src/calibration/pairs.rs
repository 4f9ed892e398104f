//! Prices calibration measures directly, each as the difference of two probes' medians (run
//! in the same interleaved rounds, so the machine's drift hits both) over what the model says
//! the difference holds: EXPLAIN ANALYZE's call wrapper, a page out of block order, a local row
//! through Gather, planning per join, TIMING ON's clock reads. The fits of [`super::stages`]
//! take them as given or build on them.

use super::fit::{model_ms, model_ms_as, zero_costs};
use super::stages::{by_id, deterministic};
use super::ProbeResult;
use crate::analysis::robust::median;
use crate::error::Result;
use crate::model::{Hardware, OutputMode};
use crate::pg::probes::{How, Stage};

/// `instrument_ns` from TIMING on vs off twins: one estimate per pair.
pub struct TimingFit {
    /// (probe id, measured extra ms, instrument_ns it implies)
    pub pairs: Vec<(String, f64, f64)>,
}

/// EXPLAIN ANALYZE's wrapper around a node call, from the wrapper probes.
#[derive(Debug, Clone, Copy)]
pub struct Wrapper {
    pub ns: f64,
    /// Medians of the EXPLAIN-timed and the client-timed runs (ms), and the plan's node calls.
    pub explain_ms: f64,
    pub client_ms: f64,
    pub calls: f64,
}

/// `instrument_call_ns`: the wrapper probes' EXPLAIN (ANALYZE, TIMING OFF) median less their
/// bare median, over the plan's node calls. None without both probes (or a difference that is
/// not positive: noise, and the prior stays).
pub fn instrument_call(results: &[ProbeResult]) -> Option<Wrapper> {
    let of =
        |how: How| results.iter().find(|r| r.probe.stage == Stage::Wrapper && r.probe.how == how && !r.runs.is_empty());
    let (e, c) = (of(How::Explain)?, of(How::Client)?);
    let calls = e.node_calls.filter(|&n| n > 0.0)?;
    let (explain_ms, client_ms) = (e.median_ms(), c.median_ms());
    let ns = (explain_ms - client_ms) * 1e6 / calls;
    (ns > 0.0).then_some(Wrapper { ns, explain_ms, client_ms, calls })
}

/// The prefetching a scan loses at each page out of block order in shared buffers, measured
/// by twins: `count_hx` / `agg4_hx` scan the shuffled table (in shared buffers in a random
/// block order), `count_h` / `agg4_h` its twin of the same shape and size, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferJumps {
    /// `buffer_jump_ns`: count(*)'s difference over the model's jumps.
    pub ns: f64,
    /// `buffer_jump_data_ns`: the aggregates' difference over the jumps, less `ns`.
    pub data_ns: f64,
    /// The model's jumps per scan of the shuffled table over its twin's.
    pub jumps: f64,
    /// Medians, ms: count_h, count_hx, agg4_h, agg4_hx.
    pub medians: [f64; 4],
}

/// `buffer_jump_ns` and `buffer_jump_data_ns` from the twin probes: each pair's difference of
/// medians over the difference of the model's jumps (the share of each table's pages that do
/// not follow their block's predecessor in shared memory, as pg_buffercache saw it at import).
/// The runs of the two alternate in every round, so the machine's drift hits both. None
/// without all four probes, when the twins differ in size by more than 2% (shared buffers too
/// small for both: the fit then prices them with the rest), or when the shuffled table is
/// not out of order (no pg_prewarm / pg_buffercache); a negative difference is noise and
/// gives 0. The twins' blocks read from the OS (their `read_fraction`s) are priced at `hw`'s
/// `os_read_page_ns` and taken off.
pub fn buffer_jumps(results: &[ProbeResult], hw: &Hardware) -> Result<Option<BufferJumps>> {
    let find =
        |id: &str| results.iter().find(|r| r.probe.stage == Stage::Serial && r.probe.id == id && !r.runs.is_empty());
    let (Some(ch), Some(cx), Some(ah), Some(ax)) = (find("count_h"), find("count_hx"), find("agg4_h"), find("agg4_hx"))
    else {
        return Ok(None);
    };
    let (Some(sh), Some(sx), Some(ash), Some(asx)) =
        (ch.scenario.as_ref(), cx.scenario.as_ref(), ah.scenario.as_ref(), ax.scenario.as_ref())
    else {
        return Ok(None);
    };
    let pages = |sc: &crate::model::Scenario| sc.tables.iter().map(|t| t.pages).sum::<f64>();
    if (pages(sh) - pages(sx)).abs() > 0.02 * pages(sx) || (pages(ash) - pages(asx)).abs() > 0.02 * pages(asx) {
        return Ok(None);
    }
    // The model's jumps: ms per ns of buffer_jump_ns, per scan.
    let mut basis = deterministic(hw);
    basis.costs = zero_costs();
    let unit = 1000.0;
    let mut jumping = basis.clone();
    jumping.costs.buffer_jump_ns = unit;
    let jumps_of = |sc: &crate::model::Scenario| -> Result<f64> {
        Ok((model_ms(sc, &jumping, 1)? - model_ms(sc, &basis, 1)?) / unit)
    };
    let (jumps, agg_jumps) = (jumps_of(sx)? - jumps_of(sh)?, jumps_of(asx)? - jumps_of(ash)?);
    if jumps <= 1e-9 || agg_jumps <= 1e-9 {
        return Ok(None);
    }
    let medians = [ch.median_ms(), cx.median_ms(), ah.median_ms(), ax.median_ms()];
    // Blocks one twin read from the OS and the other found in shared buffers are not jumps:
    // their copy, at the profile's prior price (the fit has not run yet), comes off first.
    let reads = |x: &ProbeResult, h: &ProbeResult, sc: &crate::model::Scenario| {
        (x.read_fraction - h.read_fraction) * pages(sc) * hw.costs.os_read_page_ns / 1e6
    };
    let ns = ((medians[1] - medians[0] - reads(cx, ch, sx)) / jumps).max(0.0);
    let data_ns = ((medians[3] - medians[2] - reads(ax, ah, asx)) / agg_jumps - ns).max(0.0);
    Ok(Some(BufferJumps { ns, data_ns, jumps: jumps * 1e6, medians }))
}

/// Planning per join (ms): the median Planning Time of the serial EXPLAIN-timed probes that
/// plan one join or SubPlan less that of those that plan none (the client intercept holds a
/// one-table query's planning). None without both kinds.
pub fn plan_join(results: &[ProbeResult]) -> Option<f64> {
    let planning = |joins: usize| {
        let v: Vec<f64> = results
            .iter()
            .filter(|r| r.probe.stage == Stage::Serial && r.probe.how == How::Explain)
            .filter(|r| r.scenario.as_ref().is_some_and(|sc| sc.plan.planned_joins() == joins))
            .filter_map(|r| {
                let p: Vec<f64> = r.runs.iter().filter_map(|m| m.planning_ms).collect();
                (!p.is_empty()).then(|| median(&p))
            })
            .collect();
        (!v.is_empty()).then(|| median(&v))
    };
    Some(planning(1)? - planning(0)?)
}

/// `gather_row_ns`: `gr_noworkers` less `gr_serial` less the parallel plan's set-up, per row
/// of the scanned table (medians of interleaved runs). None without both probes.
pub fn gather_row(results: &[ProbeResult], leader_setup_ms: f64) -> Option<f64> {
    let by_id = by_id(results);
    let serial = &results[*by_id.get("gr_serial")?];
    let gathered = &results[*by_id.get("gr_noworkers")?];
    let rows = gathered.scenario.as_ref()?.tables.first()?.rows;
    let ns = (gathered.median_ms() - serial.median_ms() - leader_setup_ms) * 1e6 / rows;
    eprintln!(
        "pqsim calibrate: a local row through Gather: {:.1} ns ({:.3} ms through a Gather with no worker vs {:.3} ms serial, {rows} rows)",
        ns.max(0.0),
        gathered.median_ms(),
        serial.median_ms()
    );
    ns.is_finite().then(|| ns.max(0.0))
}

/// `instrument_ns`: the extra time of a TIMING-on run over its TIMING-off twin (same SQL,
/// same settings) divided by the model's per-ns sensitivity to `instrument_ns` on that plan;
/// the median over the pairs (their spread is the uncertainty).
pub fn timing(results: &[ProbeResult], hw: &mut Hardware) -> Result<TimingFit> {
    let mut pairs = vec![];
    for r in results.iter().filter(|r| r.probe.stage == Stage::Timing) {
        let Some(twin) = results
            .iter()
            .find(|t| t.probe.stage == Stage::Serial && t.probe.sql == r.probe.sql && t.probe.how == How::Explain)
        else {
            continue;
        };
        let Some(sc) = r.scenario.as_ref() else { continue };
        let extra = r.median_ms() - twin.median_ms();
        let mut h = hw.clone();
        h.cpu_noise_cv = 0.0;
        h.costs.instrument_ns = 0.0;
        let base = model_ms_as(sc, &h, 1, OutputMode::ExplainAnalyze)?;
        h.costs.instrument_ns = 1000.0;
        let per_ns = (model_ms_as(sc, &h, 1, OutputMode::ExplainAnalyze)? - base) / 1000.0;
        if per_ns > 0.0 {
            pairs.push((r.probe.id.clone(), extra, (extra / per_ns).max(0.0)));
        }
    }
    let v: Vec<f64> = pairs.iter().map(|p| p.2).collect();
    if !v.is_empty() {
        hw.costs.instrument_ns = median(&v);
    }
    eprintln!(
        "pqsim calibrate: EXPLAIN ANALYZE timing overhead: instrument_ns {:.1} (pairs: {})",
        hw.costs.instrument_ns,
        pairs.iter().map(|p| format!("{} {:.1}", p.0, p.2)).collect::<Vec<_>>().join(", ")
    );
    Ok(TimingFit { pairs })
}
