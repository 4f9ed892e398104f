//! Markdown tables in the docs checked against the CSV a documented command wrote (see the
//! convention at the top of tests/docs.rs).

use std::path::{Path, PathBuf};

/// Default relative tolerance on a number, on top of half a unit in the quoted last digit.
pub const DEFAULT_TOLERANCE: f64 = 0.005;

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Header cells name CSV columns (a backticked name in the cell, else the cell's text); each
    /// row must agree with some CSV row.
    Columns,
    /// Rows are values of CSV column `rows` (the first word of the first cell), header cells are
    /// values of CSV column `columns`, cells are CSV column `cells`.
    Pivot { rows: String, columns: String, cells: String },
}

#[derive(Debug, Clone)]
pub struct Check {
    pub csv: String,
    pub shape: Shape,
    pub filters: Vec<(String, String)>,
    pub tolerance: f64,
}

#[derive(Debug, Clone)]
pub struct DocTable {
    pub file: PathBuf,
    /// Line of the table's header (1-based).
    pub line: usize,
    /// `None`: no annotation. `Some(None)`: `<!-- pqsim-table: unchecked ... -->`.
    pub check: Option<Option<Check>>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// A runnable `pqsim sweep|compare|workload` command with `--output` precedes the table in
    /// its section: such a table must say how it is checked.
    pub beside_output_command: bool,
}

pub fn cells(line: &str) -> Vec<String> {
    let t = line.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// Parse `<!-- pqsim-table: FILE [rows=A columns=B cells=C] [where K=V]... [tolerance=P%] -->`.
pub fn parse_annotation(text: &str) -> Result<Option<Check>, String> {
    let body = text.trim().trim_start_matches("<!--").trim_end_matches("-->").trim();
    let body = body.strip_prefix("pqsim-table:").ok_or("not a pqsim-table annotation")?.trim();
    if body.starts_with("unchecked") {
        return Ok(None);
    }
    let mut words = body.split_whitespace();
    let csv = words.next().ok_or("no CSV file named")?.to_string();
    let (mut rows, mut columns, mut cells, mut filters, mut tolerance) = (None, None, None, vec![], DEFAULT_TOLERANCE);
    let mut pending_where = false;
    for w in words {
        if w == "where" {
            pending_where = true;
            continue;
        }
        let (k, v) = w.split_once('=').ok_or(format!("expected KEY=VALUE, got {w:?}"))?;
        if pending_where {
            filters.push((k.to_string(), v.to_string()));
            pending_where = false;
            continue;
        }
        match k {
            "rows" => rows = Some(v.to_string()),
            "columns" => columns = Some(v.to_string()),
            "cells" => cells = Some(v.to_string()),
            "tolerance" => {
                let p: f64 = v.trim_end_matches('%').parse().map_err(|_| format!("bad tolerance {v:?}"))?;
                tolerance = p / 100.0;
            }
            _ => return Err(format!("unknown key {k:?}")),
        }
    }
    let shape = match (rows, columns, cells) {
        (None, None, None) => Shape::Columns,
        (Some(rows), Some(columns), Some(cells)) => Shape::Pivot { rows, columns, cells },
        _ => return Err("a pivot needs rows=, columns= and cells=".into()),
    };
    Ok(Some(Check { csv, shape, filters, tolerance }))
}

/// Every markdown table of a doc file, with the annotation just above it (blank lines allowed).
pub fn tables_in(file: &Path, is_output_command: impl Fn(&str) -> bool) -> Vec<DocTable> {
    let text = std::fs::read_to_string(file).expect("doc file");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    let (mut in_fence, mut command_in_section) = (false, false);
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if l.starts_with("```") {
            in_fence = !in_fence;
        } else if in_fence {
            command_in_section |= is_output_command(l);
        } else if l.starts_with('#') {
            command_in_section = false;
        } else if l.starts_with('|')
            && lines.get(i + 1).is_some_and(|n| n.trim().starts_with("|-") || n.trim().starts_with("|:"))
        {
            let start = i;
            let header = cells(l);
            i += 2;
            let mut rows = vec![];
            while i < lines.len() && lines[i].trim().starts_with('|') {
                rows.push(cells(lines[i]));
                i += 1;
            }
            let mut k = start;
            while k > 0 && lines[k - 1].trim().is_empty() {
                k -= 1;
            }
            let check = (k > 0 && lines[k - 1].trim().starts_with("<!-- pqsim-table:")).then(|| {
                parse_annotation(lines[k - 1])
                    .unwrap_or_else(|e| panic!("{}:{}: bad pqsim-table annotation: {e}", file.display(), k))
            });
            out.push(DocTable {
                file: file.to_path_buf(),
                line: start + 1,
                check,
                header,
                rows,
                beside_output_command: command_in_section,
            });
            continue;
        }
        i += 1;
    }
    out
}

/// A minimal CSV reader (double quotes, no embedded newlines): header and rows.
pub fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let parse = |line: &str| {
        let mut out = vec![];
        let (mut cur, mut quoted) = (String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().map(parse).unwrap_or_default();
    (header, lines.map(parse).collect())
}

/// The first number in a cell and its decimals (`1,591 ms` -> 1591, 0; `12.82x` -> 12.82, 2).
pub fn first_number(cell: &str) -> Option<(f64, i32)> {
    let chars: Vec<char> = cell.chars().collect();
    let start = chars
        .iter()
        .enumerate()
        .position(|(k, c)| c.is_ascii_digit() || (*c == '-' && chars.get(k + 1).is_some_and(|n| n.is_ascii_digit())))?;
    let mut s = String::new();
    for (k, &c) in chars.iter().enumerate().skip(start) {
        let digit_context = c.is_ascii_digit()
            || (k == start && c == '-')
            || ((c == '.' || c == ',') && chars.get(k + 1).is_some_and(|n| n.is_ascii_digit()));
        if !digit_context {
            break;
        }
        s.push(c);
    }
    let s = s.replace(',', "");
    let decimals = s.split_once('.').map_or(0, |(_, d)| d.len() as i32);
    s.parse().ok().map(|x| (x, decimals))
}

/// `quoted` (as the doc shows it, rounded to its digits) agrees with `actual` within `tolerance`.
pub fn agrees(quoted: &str, actual: &str, tolerance: f64) -> bool {
    match (first_number(quoted), first_number(actual)) {
        (Some((q, decimals)), Some((a, _))) => {
            (q - a).abs() <= tolerance * q.abs().max(a.abs()) + 0.5 * 10f64.powi(-decimals) + 1e-9
        }
        (None, _) => strip(quoted) == strip(actual),
        _ => false,
    }
}

fn strip(s: &str) -> String {
    s.trim().trim_matches('`').trim().to_string()
}

/// The CSV column a header cell names: its backticked word, else its text.
fn column_of(header_cell: &str) -> String {
    match header_cell.split('`').nth(1) {
        Some(name) => name.to_string(),
        None => header_cell.trim().to_string(),
    }
}

fn first_word(s: &str) -> String {
    strip(s).split(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("").trim_matches('`').to_string()
}

/// Check one table against the CSV text; errors name the cell and the value the CSV holds,
/// and end with the table as the CSV would print it (to paste after regenerating).
pub fn check_table(t: &DocTable, c: &Check, csv_text: &str) -> Result<(), String> {
    let (head, all) = read_csv(csv_text);
    let col = |name: &str| head.iter().position(|h| h == name).ok_or(format!("{} has no column {name:?}", c.csv));
    let mut filter_cols = vec![];
    for (k, v) in &c.filters {
        filter_cols.push((col(k)?, v.clone()));
    }
    let rows: Vec<&Vec<String>> =
        all.iter().filter(|r| filter_cols.iter().all(|(i, v)| r.get(*i).is_some_and(|x| x == v))).collect();
    match &c.shape {
        Shape::Columns => {
            let idx: Vec<usize> = t.header.iter().map(|h| col(&column_of(h))).collect::<Result<_, _>>()?;
            let mut errors = vec![];
            for r in &t.rows {
                let ok = rows
                    .iter()
                    .any(|csv| r.iter().zip(&idx).all(|(q, &i)| csv.get(i).is_some_and(|a| agrees(q, a, c.tolerance))));
                if !ok {
                    errors.push(format!("row |{}| agrees with no row of {}", r.join("|"), c.csv));
                }
            }
            if errors.is_empty() {
                return Ok(());
            }
            // The regenerated table: the CSV rows whose text cells match a quoted row.
            let mut regenerated = vec![format!("| {} |", t.header.join(" | "))];
            for r in &t.rows {
                let text_cells: Vec<(usize, &String)> =
                    r.iter().zip(&idx).filter(|(q, _)| first_number(q).is_none()).map(|(q, &i)| (i, q)).collect();
                for csv in rows
                    .iter()
                    .filter(|csv| text_cells.iter().all(|(i, q)| csv.get(*i).is_some_and(|a| strip(q) == strip(a))))
                {
                    let cells: Vec<String> = idx.iter().map(|&i| csv.get(i).cloned().unwrap_or_default()).collect();
                    regenerated.push(format!("| {} |", cells.join(" | ")));
                }
            }
            Err(format!("{}\nfrom {}:\n{}", errors.join("\n"), c.csv, regenerated.join("\n")))
        }
        Shape::Pivot { rows: rk, columns: ck, cells: vk } => {
            let (ri, ci, vi) = (col(rk)?, col(ck)?, col(vk)?);
            let mut errors = vec![];
            let mut regenerated = vec![format!("| {} |", t.header.join(" | "))];
            for r in &t.rows {
                let label = first_word(&r[0]);
                let mut line = vec![r[0].clone()];
                for (h, q) in t.header.iter().zip(r).skip(1) {
                    let key = first_word(h);
                    let hits: Vec<&&Vec<String>> =
                        rows.iter().filter(|x| x.get(ri) == Some(&label) && x.get(ci) == Some(&key)).collect();
                    let [hit] = hits.as_slice() else {
                        errors.push(format!("{rk}={label}, {ck}={key}: {} rows in {}", hits.len(), c.csv));
                        line.push("?".into());
                        continue;
                    };
                    let actual = hit.get(vi).cloned().unwrap_or_default();
                    let decimals = first_number(q).map_or(0, |(_, d)| d.max(0) as usize);
                    line.push(first_number(&actual).map_or(actual.clone(), |(a, _)| format!("{a:.decimals$}")));
                    if q.trim().is_empty() || !agrees(q, &actual, c.tolerance) {
                        errors.push(format!("{rk}={label}, {ck}={key}: quoted {q:?}, {} holds {actual} ({vk})", c.csv));
                    }
                }
                regenerated.push(format!("| {} |", line.join(" | ")));
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(format!("{}\nfrom {}:\n{}", errors.join("\n"), c.csv, regenerated.join("\n")))
            }
        }
    }
}
