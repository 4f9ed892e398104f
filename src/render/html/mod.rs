//! One self-contained HTML page per question: everything inline (styles, scripts, SVG charts and
//! the Noto Sans font the PNG charts use, as a data URL), nothing fetched from the network. `run --report`
//! gets the whole story of one prediction ([`run_report`]); `sweep` and `compare` get their
//! tables and charts ([`files_report`]). Commands only call these and [`write`].
//!
//! The page records script errors on its root element (`data-errors`) and marks a finished load
//! (`data-loaded`), so a headless browser's dumped DOM shows whether it ran cleanly.

mod flame;
mod run;

pub use run::{run_report, Question};

use crate::error::{Error, Result};
use std::path::Path;

/// Write a page atomically.
pub fn write(path: &Path, html: &str) -> Result<()> {
    crate::render::atomic::write(path, html.as_bytes())
}

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "pqsim Noto Sans", sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #24323f; color: #fff; padding: 14px 28px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header p { margin: 4px 0 0; opacity: .8; font-size: 14px; }
nav { padding: 8px 28px; background: #e9edf1; font-size: 14px; position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 14px; color: #24323f; }
main { padding: 8px 28px 40px; max-width: 1200px; }
section { background: #fff; border: 1px solid #dde2e7; border-radius: 6px; padding: 12px 18px; margin: 16px 0; }
section h2 { font-size: 18px; margin: 4px 0 10px; }
.note { color: #555; font-size: 13px; margin: 4px 0 8px; }
div.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 3px 10px; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f4f6f8; padding: 10px; overflow-x: auto; font-size: 12.5px; line-height: 1.35; }
.headline { font-size: 30px; font-weight: 650; margin: 6px 0; }
.chart svg { max-width: 100%; height: auto; }
.chart svg text { font-family: "pqsim Noto Sans", sans-serif; }
iframe.flame { width: 100%; border: 0; }
footer { color: #666; font-size: 12px; padding: 0 28px 24px; }
"#;

const SCRIPT: &str = r#"
window.pqsimErrors = [];
window.addEventListener('error', function (e) {
  window.pqsimErrors.push(String(e.message));
  document.documentElement.setAttribute('data-errors', window.pqsimErrors.join(' | '));
});
window.addEventListener('load', function () {
  // Where each section landed, in page pixels, for tools that check the rendering.
  document.querySelectorAll('section').forEach(function (s) {
    var r = s.getBoundingClientRect();
    s.setAttribute('data-box', [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(','));
  });
  document.documentElement.setAttribute('data-height', String(document.documentElement.scrollHeight));
  document.documentElement.setAttribute('data-loaded', 'yes');
});
"#;

/// The embedded Noto Sans (SIL Open Font License), so text looks the same on every machine and
/// the SVG charts match their PNGs.
fn font_face() -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(notosans::REGULAR_TTF);
    format!("@font-face {{ font-family: \"pqsim Noto Sans\"; src: url(data:font/ttf;base64,{data}) format(\"truetype\"); }}\n")
}

/// A whole page: `sections` are (anchor id, heading, inner HTML).
fn page(title: &str, subtitle: &str, sections: &[(String, String, String)]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{}{STYLE}</style>\n<script>{SCRIPT}</script>\n",
        escape(title),
        font_face()
    ));
    h.push_str("</head>\n<body>\n");
    h.push_str(&format!("<header><h1>{}</h1><p>{}</p></header>\n<nav>", escape(title), escape(subtitle)));
    for (id, heading, _) in sections {
        h.push_str(&format!("<a href=\"#{id}\">{}</a>", escape(heading)));
    }
    h.push_str("</nav>\n<main>\n");
    for (id, heading, body) in sections {
        h.push_str(&format!("<section id=\"{id}\">\n<h2>{}</h2>\n{body}\n</section>\n", escape(heading)));
    }
    h.push_str(&format!(
        "</main>\n<footer>Made by pqsim {}, a simulator of PostgreSQL 15 parallel query. This page is self-contained: nothing in it is fetched from the network.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    h
}

/// An HTML table; cells that parse as numbers are right-aligned.
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let is_num = |s: &str| !s.is_empty() && s.trim_end_matches('x').parse::<f64>().is_ok();
    let mut h = String::from("<div class=\"table\"><table>\n<tr>");
    for c in header {
        h.push_str(&format!("<th>{}</th>", escape(c)));
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let class = if is_num(c) { " class=\"num\"" } else { "" };
            h.push_str(&format!("<td{class}>{}</td>", escape(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>");
    h
}

/// An inline SVG chart (or a note saying why there is none).
fn chart(svg: std::result::Result<String, String>) -> String {
    match svg {
        Ok(s) => format!("<div class=\"chart\">{}</div>", strip_xml_declaration(&s)),
        Err(why) => format!("<p class=\"note\">No chart: {}</p>", escape(&why)),
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// The page of a `sweep` or `compare`: `facts` (label, value) first, then each CSV file as a
/// table, then each SVG file inline. Files are read from where the command just wrote them.
pub fn files_report(
    title: &str,
    facts: &[(String, String)],
    tables: &[(&str, &Path)],
    charts: &[(&str, &Path)],
) -> Result<String> {
    let mut sections = vec![];
    let rows: Vec<Vec<String>> = facts.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
    sections.push(("question".to_string(), "The question".to_string(), table(&["".into(), "".into()], &rows)));
    for (i, (caption, path)) in charts.iter().enumerate() {
        let svg = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        sections.push((format!("chart{i}"), caption.to_string(), chart(Ok(svg))));
    }
    for (i, (caption, path)) in tables.iter().enumerate() {
        let mut r = csv::Reader::from_path(path).map_err(|e| Error::io(path, e.into()))?;
        let header: Vec<String> =
            r.headers().map_err(|e| Error::io(path, e.into()))?.iter().map(String::from).collect();
        let mut rows = vec![];
        for rec in r.records() {
            rows.push(rec.map_err(|e| Error::io(path, e.into()))?.iter().map(String::from).collect());
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let body =
            format!("<p class=\"note\">{} (from {})</p>{}", escape(caption), escape(&name), table(&header, &rows));
        sections.push((format!("table{i}"), caption.to_string(), body));
    }
    Ok(page(title, "The charts and tables written beside this page", &sections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_page_links_every_section_and_fetches_nothing() {
        let p = page("T <1>", "sub", &[("a".into(), "First".into(), "<p>x</p>".into())]);
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<title>T &lt;1&gt;</title>"));
        assert!(p.contains("<a href=\"#a\">First</a>") && p.contains("<section id=\"a\">"));
        for fetch in ["src=\"http", "href=\"http", "@import", "url(http"] {
            assert!(!p.contains(fetch), "{fetch}");
        }
        assert_eq!(p.matches("url(").count(), p.matches("url(data:").count(), "only data URLs");
        assert!(p.contains("url(data:font/ttf;base64,"), "the font is inline");
    }

    #[test]
    fn files_report_inlines_charts_and_tables() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("summary.csv");
        std::fs::write(&csv, "hardware,wall_time_ms_mean\nlaptop,12.5\n").unwrap();
        let svg = dir.path().join("speedup.svg");
        std::fs::write(&svg, "<?xml version=\"1.0\"?>\n<svg width=\"10\"><text>Speedup</text></svg>").unwrap();
        let h = files_report("S", &[("seed".into(), "1".into())], &[("Summary", &csv)], &[("Speedup", &svg)]).unwrap();
        assert!(h.contains("<svg width=\"10\"><text>Speedup</text></svg>") && !h.contains("<?xml"));
        assert!(h.contains("<td class=\"num\">12.5</td>") && h.contains("<td>laptop</td>"));
        assert!(matches!(files_report("S", &[], &[], &[("x", &dir.path().join("none.svg"))]), Err(Error::Io { .. })));
    }
}
