//! The scenario TOML writer: an output only. Every number is written next to a comment that
//! says where it came from; the in-memory scenario ([`super::Imported::scenario`]) holds the
//! same values (numbers rounded to the 6 significant digits written, see [`sig6`]).

use super::context::{written_width, Cx};
use super::fields::{tnum, tstr, Field, TNode};
use std::fmt::Write as _;

/// The scenario file of an import.
pub fn render(cx: &Cx, root: &TNode, settings: &[(String, String)]) -> String {
    let o = cx.opts;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `pqsim import` from PostgreSQL EXPLAIN (FORMAT JSON){}.",
        if cx.analyze { " with ANALYZE (actual rows used, actual times not)" } else { " (estimates only)" }
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

/// `columns = [ { name, type, width, null_frac }, ... ]`, one column a line.
fn write_columns(s: &mut String, columns: &[crate::model::schema::Column]) {
    let _ = writeln!(s, "columns = [                # pg_attribute (attnum order), pg_stats avg_width / null_frac");
    for c in columns {
        let nf = if c.null_frac > 0.0 { format!(", null_frac = {}", tnum(c.null_frac)) } else { String::new() };
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
        render_node(s, &format!("{path}.{k}"), c);
    }
}

/// Text for a TOML comment: control characters (newlines included) cannot appear there, so
/// they become U+FFFD (names and filter texts from EXPLAIN may hold them; found by fuzzing).
fn comment_text(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\t' { '\u{fffd}' } else { c }).collect()
}
