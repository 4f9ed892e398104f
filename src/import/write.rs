//! The scenario TOML writer: an output only. Every number is written next to a comment that
//! says where it came from; the in-memory scenario ([`super::Imported::scenario`]) holds the
//! same values (numbers rounded to the 6 significant digits written, see [`sig6`]).

use super::context::{written_width, Cx};
use super::fields::{tnum, tstr, Field, TNode};
use std::fmt::Write as _;

/// The scenario file of an import.
pub fn render(cx: &Cx, root: &TNode, settings: &[(String, String)], keep_join_order: bool) -> String {
    let o = cx.opts;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `pqsim import` from PostgreSQL EXPLAIN (FORMAT JSON){}.",
        match (cx.analyze, cx.opts.costs_from_actuals.is_some()) {
            (true, true) => " with ANALYZE (actual rows used; actual times in [measured] only)",
            (true, false) => " with ANALYZE (actual rows used, actual times not)",
            _ => " (estimates only)",
        }
    );
    let _ = writeln!(
        s,
        "# Each number says where it came from; warnings: {}.",
        if cx.warnings.is_empty() { "none".to_string() } else { cx.warnings.len().to_string() }
    );
    for w in &cx.warnings {
        let _ = writeln!(s, "#   - {}", comment_text(w));
    }
    let name = if o.name.is_empty() { "imported" } else { &o.name };
    let _ = writeln!(s, "name = {}", tstr(name));
    let _ = writeln!(
        s,
        "description = {}",
        tstr(&format!("imported from {}", if o.source.is_empty() { "EXPLAIN JSON" } else { &o.source }))
    );
    if !o.source.is_empty() {
        let _ = writeln!(s, "source = {}", tstr(&o.source));
    }
    if !o.sql.is_empty() {
        let _ = writeln!(s, "sql = {}", tstr(&o.sql));
    }
    if o.client_output {
        let _ = writeln!(s, "output = \"client\"          # rows are sent to a client");
    }
    if !settings.is_empty() {
        let _ = writeln!(s, "\n[settings]                  # from EXPLAIN's \"Settings\" (SETTINGS option)");
        for (k, v) in settings {
            let _ = writeln!(s, "{k} = {}", tstr(v));
        }
    }
    if keep_join_order {
        let _ = writeln!(s, "\n[query]");
        let _ = writeln!(
            s,
            "keep_join_order = true      # PostgreSQL's order of the hash join sides (delete to let pqsim choose)"
        );
    }
    for t in &cx.tables {
        if t.pages.is_none() {
            let _ = writeln!(
                    s,
                    "\n# {}: pages are not in this plan (index access only, no BUFFERS): pqsim derives them from rows and width",
                    comment_text(&t.name)
                );
        }
        let _ = writeln!(s, "\n[[table]]");
        let _ = writeln!(s, "name = {}", tstr(&t.name));
        let _ = writeln!(s, "rows = {:<14} # {}", tnum(t.rows.round().max(0.0)), comment_text(&t.rows_note));
        if let Some(p) = t.pages {
            let p = p.max(1.0).round();
            let _ = writeln!(s, "pages = {:<13} # {}", tnum(p), comment_text(&t.pages_note));
            let width = written_width(t).unwrap_or(1.0);
            let note = if t.width.is_some() { "given" } else { "derived from rows per page (what-if use only)" };
            let _ = writeln!(s, "width = {:<13} # {note}", tnum(width));
        } else if let Some(w) = t.width {
            let _ = writeln!(s, "width = {}", tnum(w));
        }
        if let Some(pw) = t.parallel_workers {
            let _ = writeln!(s, "parallel_workers = {pw}");
        }
        if let Some(b) = t.in_shared_buffers {
            let _ = writeln!(
                s,
                "in_shared_buffers = {:<7} # share of its pages in shared buffers (pg_buffercache)",
                tnum(b)
            );
        }
        if let Some(o) = t.buffers_in_order {
            let _ = writeln!(
                s,
                "buffers_in_order = {:<8} # share of those pages whose next block is in the next buffer (pg_buffercache)",
                tnum(o)
            );
        }
        if let Some(w) = t.buffer_windows {
            let list: Vec<String> = w.iter().map(|n| tnum(*n)).collect();
            let _ = writeln!(
                s,
                "buffer_windows = [{}] # 64 kB windows of shared buffers holding its pages, by how many of a parallel scan's chunks each holds: 1, 2, ..., 8 (pg_buffercache)",
                list.join(", ")
            );
        }
        if let Some(sd) = t.row_length_sd {
            let _ = writeln!(
                s,
                "row_length_sd = {:<11} # bytes, spread of its stored row lengths (a sample of 2000 rows)",
                tnum(sd)
            );
        }
        if let Some(c) = t.row_stride_changes {
            let _ = writeln!(
                s,
                "row_stride_changes = {:<6} # share of consecutive rows whose length (aligned to 8 bytes) differs from the row's before (the same sample)",
                tnum(c)
            );
        }
        if !t.columns.is_empty() {
            write_columns(&mut s, &t.columns);
        }
        if let Some(i) = &t.index {
            let _ = writeln!(s, "index = {}", super::fields::tstr(i));
        }
        if let Some(ip) = t.index_pages {
            let _ =
                writeln!(s, "index_pages = {:<7} # given (pg_class.relpages of the index)", tnum(ip.max(1.0).round()));
        }
    }
    render_node(&mut s, "plan", root);
    s
}

/// The `[measured]` section of `--costs-from-actuals`: every node's prices with where they
/// came from.
pub fn render_measured(d: &super::actuals::Derived, from_other_plan: bool) -> String {
    let m = &d.costs;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n# This query's own per-node costs, from {} (import --costs-from-actuals):\n\
         # ns on the machine that ran it, used instead of the profile's class costs for these nodes\n\
         # and scaled by cpu_speed / the running profile's cpu_speed on another profile. Rows and\n\
         # pages scale with --table what-ifs; tuple queues, worker start-up and scheduling stay the\n\
         # profile's. Predict other settings, sizes or hardware with them: the configuration they\n\
         # were measured in only checks the derivation.",
        if from_other_plan {
            "the EXPLAIN ANALYZE given by --actuals (the same query under other settings), matched to\n# this plan's nodes by table, aggregate calls, sort keys or join condition"
        } else {
            "its EXPLAIN ANALYZE"
        }
    );
    let _ = writeln!(s, "[measured]");
    let _ = writeln!(s, "profile = {:<18} # the hardware profile describing the measuring machine", tstr(&m.profile));
    let _ = writeln!(s, "cpu_speed = {:<16} # that profile's cpu_speed", tnum(m.cpu_speed));
    let _ = writeln!(
        s,
        "per_node_times = {:<11} # {}",
        m.per_node_times,
        if m.per_node_times {
            "TIMING ON: each node's own time"
        } else {
            "TIMING OFF: only the total, spread over the nodes by the model's class costs"
        }
    );
    let _ = writeln!(s, "execution_time_ms = {:<8} # Execution Time", tnum(d.execution_ms));
    if m.per_node_times {
        let _ = writeln!(
            s,
            "timing_overhead_ms = {:<7} # clock reads and call wrappers taken out: (instrument_ns + instrument_call_ns) x child node calls",
            tnum(d.overhead_ms)
        );
    }
    for n in &m.nodes {
        let _ = writeln!(s, "\n[[measured.node]]");
        let _ = writeln!(s, "node = {}", tstr(&n.node));
        if let Some(src) = d.sources.get(&n.node) {
            let _ = writeln!(s, "# {}", comment_text(src));
        }
        for (k, v, what) in [
            ("row_ns", n.row_ns, "per row"),
            ("page_ns", n.page_ns, "per page read"),
            ("build_row_ns", n.build_row_ns, "per row built"),
            ("cmp_ns", n.cmp_ns, "per sort comparison"),
        ] {
            if let Some(v) = v {
                let _ = writeln!(s, "{:<26} # {what}", format!("{k} = {}", tnum(v)));
            }
        }
    }
    s
}

/// `columns = [ { name, type, width, null_frac, correlation, n_distinct }, ... ]`, one column
/// a line.
fn write_columns(s: &mut String, columns: &[crate::model::schema::Column]) {
    let _ = writeln!(
        s,
        "columns = [                # pg_attribute (attnum order), pg_stats avg_width / null_frac / correlation / n_distinct"
    );
    for c in columns {
        let mut nf = if c.null_frac > 0.0 { format!(", null_frac = {}", tnum(c.null_frac)) } else { String::new() };
        if let Some(r) = c.correlation {
            nf.push_str(&format!(", correlation = {}", tnum(r)));
        }
        if let Some(n) = c.n_distinct {
            nf.push_str(&format!(", n_distinct = {}", tnum(n)));
        }
        let _ = writeln!(
            s,
            "  {{ name = {}, type = {}, width = {}{nf} }},",
            tstr(&c.name),
            tstr(&c.type_name),
            tnum(c.avg_width)
        );
    }
    let _ = writeln!(s, "]");
}

fn render_fields(s: &mut String, fields: &[Field]) {
    for fl in fields {
        let line = format!("{} = {}", fl.key, fl.value);
        match &fl.comment {
            Some(c) => {
                let _ = writeln!(s, "{line:<26} # {}", comment_text(c));
            }
            None => {
                let _ = writeln!(s, "{line}");
            }
        }
    }
}

fn render_node(s: &mut String, path: &str, n: &TNode) {
    let _ = writeln!(s, "\n[{path}]");
    render_fields(s, &n.fields);
    if let Some(sp) = &n.subplan {
        let _ = writeln!(s, "[{path}.subplan]");
        render_fields(s, sp);
    }
    for (k, c) in &n.children {
        if *k == "inputs" {
            // An Append's inputs: an array of tables, each followed by its own subtree
            // (`[path.inputs.input]` belongs to the last `[[path.inputs]]`).
            let _ = writeln!(s, "\n[[{path}.{k}]]");
            render_fields(s, &c.fields);
            if let Some(sp) = &c.subplan {
                let _ = writeln!(s, "[{path}.{k}.subplan]");
                render_fields(s, sp);
            }
            for (k2, c2) in &c.children {
                render_node(s, &format!("{path}.{k}.{k2}"), c2);
            }
        } else {
            render_node(s, &format!("{path}.{k}"), c);
        }
    }
}

/// Text for a TOML comment: control characters (newlines included) cannot appear there, so
/// they become U+FFFD (names and filter texts from EXPLAIN may hold them; found by fuzzing).
fn comment_text(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\t' { '\u{fffd}' } else { c }).collect()
}
