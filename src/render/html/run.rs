//! The page of `run --report FILE.html`: the question, the prediction with its intervals, a flame
//! graph of where the time goes, the EXPLAIN tree, the per-process table and time split, the
//! state timeline and queue fill of one replication, and the wait-event profile.

use super::flame::{self, STATE_FIELDS};
use super::{chart, escape, page, table};
use crate::exec::Trace;
use crate::render::plot::{self, StackedBar};
use crate::render::trace;
use crate::report;
use base64::Engine;
use serde_json::Value;

/// What was asked, beyond what the run's JSON already says.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The scenario file as given on the command line.
    pub scenario_file: String,
    /// The what-if flags as given (`--set work_mem=64MB`, `--table t.rows=1e6`, `--hw cores=4`).
    pub what_ifs: Vec<String>,
    /// The hardware profile's one-line description.
    pub hardware_description: String,
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
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

fn question(q: &Question, doc: &Value) -> String {
    let mut rows = vec![
        vec!["scenario".to_string(), format!("{} ({})", json_text(&doc["scenario"]), q.scenario_file)],
        vec!["hardware".to_string(), format!("{} — {}", json_text(&doc["hardware"]), q.hardware_description)],
    ];
    if let Some(m) = doc.get("measure") {
        rows.push(vec!["what is timed".into(), json_text(m)]);
    }
    let settings: Vec<String> = doc["settings"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k} = {}", json_text(v))).collect())
        .unwrap_or_default();
    rows.push(vec!["settings (not at their default)".into(), settings.join(", ")]);
    rows.push(vec!["what-ifs".into(), if q.what_ifs.is_empty() { "none".into() } else { q.what_ifs.join(" ") }]);
    rows.push(vec!["seed".into(), json_text(&doc["seed"])]);
    rows.push(vec!["replications".into(), json_text(&doc["replications"])]);
    rows.push(vec!["pqsim version".into(), env!("CARGO_PKG_VERSION").into()]);
    table(&["".into(), "".into()], &rows)
}

fn headline(doc: &Value) -> String {
    let mut h = format!("<p class=\"headline\">{:.1} ms</p>", num(&doc["wall_time_ms"]));
    let reps = json_text(&doc["replications"]);
    if let Some((lo, hi)) = pair(&doc["wall_time_ms_ci95"]) {
        h.push_str(&format!(
            "<p>95% confidence interval of the model's mean: <b>{lo:.1} .. {hi:.1} ms</b> ({reps} replications)</p>"
        ));
    }
    match pair(&doc["wall_time_ms_p80"]) {
        Some((lo, hi)) => h.push_str(&format!(
            "<p>80% interval for one real run on this machine: <b>{lo:.1} .. {hi:.1} ms</b></p>"
        )),
        None => h.push_str("<p class=\"note\">This build does not predict the spread of one real run (wall_time_ms_p80); the interval above is the model's only.</p>"),
    }
    h.push_str(&format!(
        "<p>Workers Planned: {} &nbsp; Workers Launched: {} &nbsp; tuple-queue-full stalls: {}</p>",
        json_text(&doc["workers_planned"]),
        json_text(&doc["workers_launched"]),
        json_text(&doc["queue_full_stalls"])
    ));
    h
}

fn process_label(p: &Value) -> String {
    match (p["role"].as_str(), p["worker"].as_u64()) {
        (Some("worker"), Some(w)) => format!("worker {w}"),
        _ => "leader".to_string(),
    }
}

/// The per-process table and its time-split chart (means over the replications).
fn processes(doc: &Value) -> String {
    let procs = doc["processes"].as_array().cloned().unwrap_or_default();
    let mut header = vec!["process".to_string()];
    header.extend(STATE_FIELDS.iter().map(|(_, s)| format!("{} ms", s.label())));
    let rows: Vec<Vec<String>> = procs
        .iter()
        .map(|p| {
            let mut r = vec![process_label(p)];
            r.extend(STATE_FIELDS.iter().map(|(f, _)| format!("{:.1}", num(&p[*f]))));
            r
        })
        .collect();
    let bars: Vec<StackedBar> = procs
        .iter()
        .map(|p| {
            let segs: Vec<(&str, f64)> = STATE_FIELDS
                .iter()
                .filter_map(|(f, s)| Some((trace::category(s.label())?, num(&p[*f]))))
                .filter(|(_, v)| *v > 0.0)
                .collect();
            StackedBar::new(process_label(p), segs)
        })
        .collect();
    let svg = plot::stacked_time_split_svg("Where each process's time goes (mean of the replications)", &bars)
        .map_err(|e| e.to_string());
    format!(
        "<p class=\"note\">Means over the {} replications. CPU includes waiting for a core.</p>{}{}",
        json_text(&doc["replications"]),
        table(&header, &rows),
        chart(svg)
    )
}

fn flame_graph(doc: &Value) -> String {
    match flame::svg(doc, "Where the time goes") {
        Ok(svg) => {
            let height = svg
                .split("height=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(400.0);
            // A document of its own: inferno's script expects to be the page's only SVG.
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
fn trace_charts(doc: &Value, t: Option<&Trace>, capacity_bytes: f64) -> (String, String) {
    let Some(t) = t else {
        let none = "<p class=\"note\">No trace was recorded.</p>".to_string();
        return (none.clone(), none);
    };
    let seed = json_text(&doc["seed"]);
    let note = format!("<p class=\"note\">Replication 1 of seed {seed}.</p>");
    let lanes = trace::lanes(t);
    let timeline = plot::state_timeline_svg("Process states over time", &lanes).map_err(|e| e.to_string());
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

/// The whole page for one `run`: `doc` is the run's `--format json` document, `t` the first
/// replication's trace, `capacity_bytes` the tuple queue size of the hardware profile.
pub fn run_report(q: &Question, doc: &Value, t: Option<&Trace>, capacity_bytes: f64) -> String {
    let title = format!("pqsim: {} on {}", json_text(&doc["scenario"]), json_text(&doc["hardware"]));
    let explain = format!(
        "<p class=\"note\">Replication 1 of seed {}, as EXPLAIN ANALYZE prints it.</p><pre>{}</pre>",
        json_text(&doc["seed"]),
        escape(&report::explain_text(&doc["explain"]))
    );
    let (timeline, queue) = trace_charts(doc, t, capacity_bytes);
    let s = |id: &str, h: &str, body: String| (id.to_string(), h.to_string(), body);
    let sections = vec![
        s("question", "The question", question(q, doc)),
        s("prediction", "The prediction", headline(doc)),
        s("flame", "Where the time goes", flame_graph(doc)),
        s("explain", "EXPLAIN ANALYZE", explain),
        s("processes", "Time split per process", processes(doc)),
        s("timeline", "Timeline", timeline),
        s("queues", "Queue fill", queue),
        s("waits", "Wait events", wait_events(doc)),
    ];
    page(&title, "A prediction of PostgreSQL 15 parallel query, by pqsim", &sections)
}
