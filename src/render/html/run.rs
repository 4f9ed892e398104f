//! The page of `run --report FILE.html`: the question, the prediction with its intervals, a flame
//! graph of where the time goes, the EXPLAIN tree, the per-process table and time split, the
//! state timeline and queue fill of one replication, and the wait-event profile.

use super::flame::{self, state_of};
use super::{chart, escape, page, table};
use crate::render::plot::{self, StackedBar};
use crate::render::trace;
use crate::report::{self, Category, Prediction};
use base64::Engine;
use serde_json::Value;

/// What was asked, beyond what the prediction itself records.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The scenario file as given on the command line.
    pub scenario_file: String,
    /// The what-if flags as given (`--set work_mem=64MB`, `--table t.rows=1e6`, `--hw cores=4`).
    pub what_ifs: Vec<String>,
}

fn pair(v: &Value) -> Option<(f64, f64)> {
    Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn question(q: &Question, p: &Prediction, doc: &Value) -> String {
    let mut rows = vec![
        vec!["scenario".to_string(), format!("{} ({})", p.scenario, q.scenario_file)],
        vec!["hardware".to_string(), format!("{} — {}", p.hardware, p.hardware_description)],
    ];
    if let Some(m) = doc.get("measure") {
        rows.push(vec!["what is timed".into(), json_text(m)]);
    }
    let settings: Vec<String> = p.settings.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    rows.push(vec!["settings (not at their default)".into(), settings.join(", ")]);
    rows.push(vec!["what-ifs".into(), if q.what_ifs.is_empty() { "none".into() } else { q.what_ifs.join(" ") }]);
    rows.push(vec!["seed".into(), p.seed.to_string()]);
    rows.push(vec!["replications".into(), p.replications.to_string()]);
    rows.push(vec!["pqsim version".into(), env!("CARGO_PKG_VERSION").into()]);
    table(&["".into(), "".into()], &rows)
}

fn headline(p: &Prediction, doc: &Value) -> String {
    let s = &p.summary;
    let mut h = format!("<p class=\"headline\">{:.1} ms</p>", s.mean);
    h.push_str(&format!(
        "<p>95% confidence interval of the model's mean: <b>{:.1} .. {:.1} ms</b> ({} replications)</p>",
        s.ci95_lo, s.ci95_hi, p.replications
    ));
    match pair(&doc["wall_time_ms_p80"]) {
        Some((lo, hi)) => h.push_str(&format!(
            "<p>80% interval for one real run on this machine: <b>{lo:.1} .. {hi:.1} ms</b> (the model's spread, the machine's {} and the model's own error sigma {:.3}, estimated out of sample by calibration{})</p>",
            crate::report::machine_spread(p.run_sigma, p.run_quantiles.as_ref()),
            p.model_sigma,
            if p.model_sigma_measured { "" } else { ": assumed for this profile" }
        )),
        None => h.push_str(
            "<p class=\"note\">This build does not predict the spread of one real run (wall_time_ms_p80); the interval above is the model's only.</p>",
        ),
    }
    h.push_str(&format!(
        "<p>Workers Planned: {} &nbsp; Workers Launched: {} &nbsp; tuple-queue-full stalls: {}</p>",
        p.workers_planned,
        p.workers_launched,
        p.queue_full_stalls_mean()
    ));
    h
}

fn process_label(p: &report::ProcessSplit) -> String {
    match p.worker {
        Some(w) if p.is_worker() => format!("worker {w}"),
        _ => "leader".to_string(),
    }
}

/// The per-process table and its time-split chart (means over the replications), every
/// category on its own (the timeline's names and colours).
fn processes(p: &Prediction) -> String {
    let mut header = vec!["process".to_string()];
    header.extend(Category::ALL.iter().map(|c| format!("{} ms", state_of(*c).label())));
    let rows: Vec<Vec<String>> = p
        .splits
        .iter()
        .map(|s| {
            let mut r = vec![process_label(s)];
            r.extend(Category::ALL.iter().map(|c| format!("{:.1}", s.time(*c))));
            r
        })
        .collect();
    let bars: Vec<StackedBar> = p
        .splits
        .iter()
        .map(|s| {
            let segs: Vec<(&str, f64)> = Category::ALL
                .iter()
                .filter_map(|c| Some((trace::category(state_of(*c).label())?, s.time(*c))))
                .filter(|(_, v)| *v > 0.0)
                .collect();
            StackedBar::new(process_label(s), segs)
        })
        .collect();
    let svg = plot::stacked_time_split_svg("Where each process's time goes (mean of the replications)", &bars)
        .map_err(|e| e.to_string());
    format!(
        "<p class=\"note\">Means over the {} replications. CPU includes waiting for a core.</p>{}{}",
        p.replications,
        table(&header, &rows),
        chart(svg)
    )
}

fn flame_graph(p: &Prediction) -> String {
    match flame::svg(p, "Where the time goes") {
        Ok(svg) => {
            let height = svg
                .split("height=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(400.0);
            // A document of its own: inferno's script expects to be its page's only SVG.
            let data = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
            format!(
                "<p class=\"note\">Width is time summed over processes (means of the replications). Click a frame to zoom in, \"Reset Zoom\" to go back, Ctrl+F to search.</p>\
                 <iframe class=\"flame\" title=\"flame graph\" style=\"height:{:.0}px\" src=\"data:image/svg+xml;base64,{data}\"></iframe>",
                height + 8.0
            )
        }
        Err(e) => format!("<p class=\"note\">No flame graph: {}</p>", escape(&e.to_string())),
    }
}

fn wait_events(doc: &Value) -> String {
    let Some(prof) = doc.get("wait_event_profile").and_then(Value::as_array) else {
        return "<p class=\"note\">This build's JSON has no wait_event_profile.</p>".into();
    };
    let header: Vec<String> =
        ["pid", "backend_type", "wait_event_type", "wait_event", "count"].iter().map(|s| s.to_string()).collect();
    let rows: Vec<Vec<String>> =
        prof.iter().map(|e| header.iter().map(|k| json_text(&e[k.as_str()])).collect()).collect();
    format!(
        "<p class=\"note\">Samples per process and wait event, as pg_wait_sampling_profile counts them (an empty event is CPU).</p>{}",
        table(&header, &rows)
    )
}

/// The trace's timeline and queue fill (replication 1).
fn trace_charts(p: &Prediction, capacity_bytes: f64) -> (String, String) {
    let Some((t, _)) = &p.trace else {
        let none = "<p class=\"note\">No trace was recorded.</p>".to_string();
        return (none.clone(), none);
    };
    let note = format!("<p class=\"note\">Replication 1 of seed {}.</p>", p.seed);
    let timeline = plot::state_timeline_svg("Process states over time", &trace::lanes(t)).map_err(|e| e.to_string());
    let series = trace::queue_series(t);
    let mut queue = if series.is_empty() {
        chart(Err("this plan has no tuple queue (no worker sent rows)".to_string()))
    } else {
        chart(
            plot::queue_fill_svg("Tuple queue fill over time", &series, Some(capacity_bytes))
                .map_err(|e| e.to_string()),
        )
    };
    if let Some((t0, t1, zoomed)) = trace::zoomed_queue_series(t) {
        let title = format!("Tuple queue fill, {t0:.1} to {t1:.1} ms (close-up of the start)");
        queue.push_str(&chart(plot::queue_fill_svg(&title, &zoomed, Some(capacity_bytes)).map_err(|e| e.to_string())));
    }
    (format!("{note}{}", chart(timeline)), format!("{note}{queue}"))
}

/// The whole page for one `run`: `p` the prediction (with the first replication's trace for the
/// timeline and queue fill), `capacity_bytes` the tuple queue size of the hardware profile.
/// Fields the JSON contract carries beyond the prediction (`wall_time_ms_p80`,
/// `wait_event_profile`, `measure`) are shown when the contract has them.
pub fn run_report(q: &Question, p: &Prediction, capacity_bytes: f64) -> String {
    let doc: Value = serde_json::from_str(&report::run_json(p)).unwrap_or(Value::Null);
    let title = format!("pqsim: {} on {}", p.scenario, p.hardware);
    let explain = format!(
        "<p class=\"note\">Replication 1 of seed {}, as EXPLAIN ANALYZE prints it.</p><pre>{}</pre>",
        p.seed,
        escape(&report::explain_text(&p.representative.explain))
    );
    let (timeline, queue) = trace_charts(p, capacity_bytes);
    let s = |id: &str, h: &str, body: String| (id.to_string(), h.to_string(), body);
    let sections = vec![
        s("question", "The question", question(q, p, &doc)),
        s("prediction", "The prediction", headline(p, &doc)),
        s("flame", "Where the time goes", flame_graph(p)),
        s("explain", "EXPLAIN ANALYZE", explain),
        s("processes", "Time split per process", processes(p)),
        s("timeline", "Timeline", timeline),
        s("queues", "Queue fill", queue),
        s("waits", "Wait events", wait_events(&doc)),
    ];
    page(&title, "A prediction of PostgreSQL 15 parallel query, by pqsim", &sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_answers_the_question_with_every_section() {
        let root = env!("CARGO_MANIFEST_DIR");
        let path = std::path::PathBuf::from(format!("{root}/configs/scenarios/gather-heavy.toml"));
        let (sc, hw) = crate::config::load(&path, "reference-2vcpu", &Default::default()).unwrap();
        let p = crate::predict::run_scenario(&sc, &hw, 7, 2, true).unwrap();
        let q = Question { scenario_file: "gather-heavy.toml".into(), what_ifs: vec!["--set work_mem=64MB".into()] };
        let h = run_report(&q, &p, hw.parallel.tuple_queue_size);
        for id in ["question", "prediction", "flame", "explain", "processes", "timeline", "queues", "waits"] {
            assert!(h.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(h.contains("--set work_mem=64MB") && h.contains("<td>seed</td><td class=\"num\">7</td>"));
        assert!(h.contains(&format!("{:.1} ms</p>", p.summary.mean)));
        assert!(h.contains("data:image/svg+xml;base64,"), "the flame graph");
        assert_eq!(h.matches("<svg").count(), 4, "time split, timeline, queue fill and its close-up");
        // Without a trace the page says so instead of drawing.
        let p = crate::predict::run_scenario(&sc, &hw, 7, 1, false).unwrap();
        assert!(run_report(&q, &p, 65536.0).contains("No trace was recorded"));
    }
}
