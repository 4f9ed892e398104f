//! `run`'s text answer: the headline, the EXPLAIN ANALYZE tree, the process table.

use super::explain::explain_text;
use super::split::Group;
use super::Prediction;

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The text answer of `run`: the headline over all replications, then the EXPLAIN tree and
/// the per-process table of the representative replication, each labelled.
pub fn run_text(p: &Prediction) -> String {
    let mut out = String::new();
    let s = &p.summary;
    let rep = &p.representative;
    out.push_str(&format!("Scenario: {}  on  {} ({})\n\n", p.scenario, p.hardware, p.hardware_description));
    out.push_str(&format!(
        "Predicted wall time: {}  (mean of {}, seed {}; measured as {})\n",
        dur(s.mean),
        plural(p.replications, "replication", "replications"),
        p.seed,
        p.measure
    ));
    if p.replications > 1 {
        out.push_str(&format!("  model 95% CI:               {} .. {}\n", dur(s.ci95_lo), dur(s.ci95_hi)));
    }
    out.push_str(&format!(
        "  one real run, 80% interval: {} .. {}  (model spread, machine {} {}, model error sigma {:.3} {})\n",
        dur(p.wall_ms_p80[0]),
        dur(p.wall_ms_p80[1]),
        super::machine_spread(p.run_sigma, p.run_quantiles.as_ref()),
        if p.run_sigma_measured { "measured" } else { "assumed: not measured for this profile" },
        p.model_sigma,
        if p.model_sigma_measured {
            "estimated out of sample by calibration"
        } else {
            "assumed: not estimated for this profile"
        }
    ));
    out.push_str(&format!(
        "Workers Planned: {}  Workers Launched: {}  Queue-full stalls: {} (mean per replication)\n\n",
        p.workers_planned,
        p.workers_launched,
        p.queue_full_stalls_mean()
    ));
    let which = if p.replications == 1 {
        format!("the only replication ({})", dur(rep.wall_ms))
    } else {
        format!(
            "replication {} of {} (the one nearest the median, {})",
            rep.index + 1,
            p.replications,
            dur(rep.wall_ms)
        )
    };
    out.push_str(&format!("EXPLAIN ANALYZE of {which}:\n"));
    out.push_str(&explain_text(&rep.explain));
    out.push_str("\nProcesses in the same replication:\n");
    out.push_str(&process_table(&rep.splits));
    out
}

/// Time split per process: one row each, columns in [`Group`] order.
pub fn process_table(splits: &[super::split::ProcessSplit]) -> String {
    let mut out = format!(
        "{:<10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>9} {:>8} {:>12}\n",
        "process", "CPU ms", "disk ms", "MQSend ms", "wait tup ms", "start ms", "other ms", "stalls", "on core ms"
    );
    for sp in splits {
        let name = match sp.worker {
            Some(w) => format!("worker {w}"),
            None => "leader".into(),
        };
        let g = sp.groups();
        let col = |x: Group| g[x as usize];
        out.push_str(&format!(
            "{:<10} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>10.1} {:>9.1} {:>8.0} {:>12.1}\n",
            name,
            col(Group::Cpu),
            col(Group::Disk),
            col(Group::MqSend),
            col(Group::WaitingForTuples),
            col(Group::Startup),
            col(Group::Other),
            sp.queue_full_stalls,
            sp.on_core_ms
        ));
    }
    out.push_str(
        "(wait tup = IPC: ExecuteGather / MessageQueueReceive; other = HashBuildHashInner + ParallelFinish;\n \
         CPU = on a core or waiting for a turn, as pg_stat_activity shows no wait event; on core ms = the CPU time\n \
         Linux counts (fork, start-up, plan and exit), beside the turns waited)\n",
    );
    out
}

/// A duration given in ms, as people read it: ms below 10 s, then s, min, h, days.
pub fn dur(x: f64) -> String {
    let s = x / 1000.0;
    match () {
        _ if !x.is_finite() => format!("{x} ms"),
        _ if x < 10_000.0 => format!("{x:.1} ms"),
        _ if s < 600.0 => format!("{s:.2} s"),
        _ if s < 2.0 * 3600.0 => format!("{:.1} min", s / 60.0),
        _ if s < 2.0 * 86400.0 => format!("{:.1} h", s / 3600.0),
        _ => format!("{:.1} days", s / 86400.0),
    }
}
