//! The docs are tested (issue "Trust under bad input"): every `pqsim ...` command written in the
//! README and in docs/*.md runs as written, and every figure quoted beside a command (a code
//! block that starts with `$ pqsim ...` followed by its output) matches what the command prints.
//!
//! Conventions the docs follow so that this test can read them:
//! - A runnable command is a line in a fenced code block that starts with `pqsim ` or
//!   `$ pqsim ` (continued with a trailing `\`), with no placeholder in it (an all-capitals word
//!   like `SCENARIO`, `[`, `|` or `...`). Synopsis blocks therefore do not run.
//! - `pqsim calibrate`, `pqsim validate` and `import --dsn` need a server and are run by their
//!   own tests (tests/validate_small.rs, tests/pg_server.rs); here they are skipped.
//! - A block starting with `$ pqsim ...` quotes its output below the command: each quoted line
//!   (except `...` and blank lines) must appear in the output in order, with the same words, and
//!   every number within 0.5% (the simulation is deterministic for a given seed; the tolerance
//!   absorbs rounding in the last digit only); a line cut short with `...` matches a printed
//!   line that starts the same way.
//! - A Markdown table quoted beside a command that writes files (`sweep`, `compare`, `workload`
//!   with `--output`) says where its figures come from, in an HTML comment on the line above it
//!   (blank lines between allowed):
//!   `<!-- pqsim-table: output/DIR/FILE.csv [rows=COL columns=COL cells=COL] [where COL=V]... [tolerance=P%] -->`
//!   * Without `rows/columns/cells`, each header cell names a CSV column (the backticked name
//!     in the cell, else the cell's text) and every row of the table must agree with some row
//!     of the CSV (text cells equal, numbers within tolerance).
//!   * With them the table is a pivot: the first word of a row's first cell is a value of
//!     `rows`, the first word of each header cell a value of `columns`, and each cell's number
//!     must agree with `cells` of the one CSV row that has both (after the `where` filters).
//!   * A number agrees when it is within half a unit of its last quoted digit plus `tolerance`
//!     relative (default 0.5%: the simulation is deterministic for a seed, so only rounding is
//!     expected; a doc states a wider tolerance in the comment, with its reason in the text).
//!   * The CSV must lie under the `--output` directory of a command in the same file, which
//!     the test has run; a drifted table fails with the table regenerated from the CSV.
//!   * `<!-- pqsim-table: unchecked REASON -->` marks a table beside such a command that is not
//!     the command's output (timings, say). An unmarked table with numbers beside one fails.

#[path = "docs/tables.rs"]
mod tables;

use std::path::{Path, PathBuf};
use std::process::Command;

const SKIP: [&str; 3] = ["pqsim calibrate", "pqsim validate", "--dsn"];

#[derive(Debug)]
struct DocCommand {
    file: PathBuf,
    line: usize,
    args: Vec<String>,
    /// The output quoted below the command, when the block starts with `$ pqsim`.
    quoted: Vec<String>,
}

fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn has_placeholder(cmd: &str) -> bool {
    cmd.contains('[')
        || cmd.contains('|')
        || cmd.contains("...")
        || cmd.contains('<')
        || cmd.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| {
            w.len() >= 3
                && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && w.chars().any(|c| c.is_ascii_uppercase())
        })
}

/// Split a shell line into words (double and single quotes; no expansions).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn commands_in(file: &Path) -> Vec<DocCommand> {
    let text = std::fs::read_to_string(file).expect("doc file");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].trim_start().starts_with("```") {
            i += 1;
            continue;
        }
        // A fenced block: lines[i+1 .. end].
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let block = &lines[start..end.min(lines.len())];
        let quoting = block.first().is_some_and(|l| l.trim_start().starts_with("$ pqsim "));
        let mut j = 0;
        while j < block.len() {
            let l = block[j].trim();
            let l = l.strip_prefix("cargo run --release -- ").map_or(l.to_string(), |rest| format!("pqsim {rest}"));
            let l = l.as_str();
            let is_cmd = l.starts_with("pqsim ") || l.starts_with("$ pqsim ");
            if !is_cmd {
                j += 1;
                continue;
            }
            let line_no = start + j + 1;
            let mut cmd = l.trim_start_matches("$ ").to_string();
            while cmd.ends_with('\\') && j + 1 < block.len() {
                cmd.pop();
                j += 1;
                cmd.push(' ');
                cmd.push_str(block[j].trim());
            }
            j += 1;
            let cmd = cmd.split(" #").next().unwrap_or("").trim().to_string();
            if has_placeholder(&cmd) || SKIP.iter().any(|s| cmd.contains(s)) {
                continue;
            }
            let mut quoted = vec![];
            if quoting {
                while j < block.len() && !block[j].trim_start().starts_with("$ ") {
                    quoted.push(block[j].to_string());
                    j += 1;
                }
            }
            let args = shell_words(&cmd)[1..].to_vec();
            out.push(DocCommand { file: file.to_path_buf(), line: line_no, args, quoted });
        }
        i = end + 1;
    }
    out
}

fn skeleton(line: &str) -> (String, Vec<f64>) {
    let mut words = String::new();
    let mut nums = vec![];
    let mut num = String::new();
    let flush = |num: &mut String, words: &mut String, nums: &mut Vec<f64>| {
        if num.is_empty() {
            return;
        }
        let clean = num.replace(',', "");
        match clean.trim_end_matches('.').parse::<f64>() {
            Ok(x) => {
                nums.push(x);
                words.push('#');
            }
            Err(_) => words.push_str(num),
        }
        num.clear();
    };
    let chars: Vec<char> = line.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let digit_context = c.is_ascii_digit()
            || ((c == '.' || c == ',') && !num.is_empty() && chars.get(k + 1).is_some_and(|n| n.is_ascii_digit()))
            || (c == '-' && num.is_empty() && chars.get(k + 1).is_some_and(|n| n.is_ascii_digit()));
        if digit_context {
            num.push(c);
        } else {
            flush(&mut num, &mut words, &mut nums);
            if c.is_whitespace() {
                if !words.ends_with(' ') {
                    words.push(' ');
                }
            } else {
                words.push(c);
            }
        }
    }
    flush(&mut num, &mut words, &mut nums);
    (words.trim().to_string(), nums)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.005 * a.abs().max(b.abs()) + 0.051
}

/// Every quoted line appears in `output`, in order, with numbers within tolerance.
fn check_quoted(c: &DocCommand, output: &str) -> Result<(), String> {
    let got: Vec<(String, Vec<f64>)> = output.lines().map(skeleton).collect();
    let mut from = 0;
    for q in &c.quoted {
        let t = q.trim();
        if t.is_empty() || t == "..." || t.starts_with("# ") {
            continue;
        }
        // A line cut short with "..." matches any printed line that starts the same way.
        let (q, cut) = match q.find("...") {
            Some(i) => (&q[..i], true),
            None => (q.as_str(), false),
        };
        let (want_words, want_nums) = skeleton(q);
        let matches = |w: &String| if cut { w.starts_with(&want_words) } else { *w == want_words };
        // The first printed line with the same words whose numbers all agree; rows of a table
        // share their words, so a row is found by its numbers.
        let agree = |nums: &[f64]| want_nums.iter().zip(nums).all(|(a, b)| close(*a, *b));
        let same_words: Vec<usize> = (from..got.len()).filter(|&i| matches(&got[i].0)).collect();
        let Some(&first) = same_words.first() else {
            return Err(format!("quoted line not printed (in this order): {t:?}"));
        };
        let Some(&p) = same_words.iter().find(|&&i| agree(&got[i].1)) else {
            return Err(format!(
                "quoted line {t:?}: no printed line agrees; nearest: {}",
                output.lines().nth(first).unwrap_or("")
            ));
        };
        from = p + 1;
    }
    Ok(())
}

#[test]
fn every_documented_command_runs_and_prints_what_the_docs_quote() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands: Vec<DocCommand> = doc_files(root).iter().flat_map(|f| commands_in(f)).collect();
    assert!(commands.len() >= 8, "only {} documented commands found", commands.len());
    let mut failures = vec![];
    for (k, c) in commands.iter().enumerate() {
        let where_ = format!("{}:{}", c.file.strip_prefix(root).unwrap_or(&c.file).display(), c.line);
        progress(&format!("docs [{}/{}] {where_}: pqsim {}", k + 1, commands.len(), c.args.join(" ")));
        // Documented outputs go under output/ (never into tracked folders); a sweep's output
        // directory from an earlier build would be refused as another sweep's, so it starts empty.
        for w in c.args.windows(2).filter(|w| w[0] == "--output" || w[0] == "--trace" || w[0] == "--report") {
            assert!(w[1].starts_with("output/"), "{where_}: {} writes outside output/: {}", w[0], w[1]);
            if w[0] == "--output" && c.args.first().is_some_and(|a| a == "sweep") {
                let _ = std::fs::remove_dir_all(root.join(&w[1]));
            }
        }
        let out =
            Command::new(env!("CARGO_BIN_EXE_pqsim")).args(&c.args).current_dir(root).output().expect("run pqsim");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(format!("{where_}: exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        if let Err(e) = check_quoted(c, &stdout) {
            failures.push(format!("{where_}: {e}"));
        }
    }
    failures.extend(check_tables(root, &commands));
    assert!(failures.is_empty(), "documented commands that drifted:\n{}", failures.join("\n"));
}

/// A progress line on the real stderr: `eprintln!` in a test is captured until the test ends,
/// and this test runs for minutes in a debug build.
fn progress(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A line of a fenced block that starts a runnable command writing files (see the header).
fn is_output_command(line: &str) -> bool {
    let l = line.trim().trim_start_matches("$ ");
    let l = l.strip_prefix("cargo run --release -- ").map_or(l.to_string(), |rest| format!("pqsim {rest}"));
    ["pqsim sweep ", "pqsim compare ", "pqsim workload "].iter().any(|p| l.starts_with(p)) && !has_placeholder(&l)
}

/// Every annotated table agrees with the CSV its command wrote; a table with numbers beside
/// such a command is annotated.
fn check_tables(root: &Path, commands: &[DocCommand]) -> Vec<String> {
    let mut failures = vec![];
    for t in doc_files(root).iter().flat_map(|f| tables::tables_in(f, is_output_command)) {
        let where_ = format!("{}:{}", t.file.strip_prefix(root).unwrap_or(&t.file).display(), t.line);
        let has_numbers = t.rows.iter().flatten().any(|c| tables::first_number(c).is_some());
        let c = match &t.check {
            None if t.beside_output_command && has_numbers => {
                failures.push(format!(
                    "{where_}: a table beside a command that writes files needs a <!-- pqsim-table: ... --> line"
                ));
                continue;
            }
            Some(Some(c)) => c,
            _ => continue,
        };
        let written_here = commands.iter().filter(|d| d.file == t.file).any(|d| {
            d.args
                .windows(2)
                .any(|w| w[0] == "--output" && c.csv.starts_with(&format!("{}/", w[1].trim_end_matches('/'))))
        });
        if !written_here {
            failures.push(format!("{where_}: no command in this file writes {} (--output)", c.csv));
            continue;
        }
        progress(&format!("docs table {where_}: against {}", c.csv));
        match std::fs::read_to_string(root.join(&c.csv)) {
            Ok(text) => {
                if let Err(e) = tables::check_table(&t, c, &text) {
                    failures.push(format!("{where_}: table drifted: {e}"));
                }
            }
            Err(e) => failures.push(format!("{where_}: {}: {e}", c.csv)),
        }
    }
    failures
}

#[test]
fn the_table_checker_catches_a_drifted_cell() {
    let csv = "hardware,max_parallel_workers_per_gather,speedup,note\n\
               laptop,1,1.9989,a\nlaptop,2,2.9966,b\naurora,1,1.9990,c\naurora,2,2.9970,d\n";
    let ann = "<!-- pqsim-table: output/x/summary.csv rows=hardware columns=max_parallel_workers_per_gather cells=speedup -->";
    let c = tables::parse_annotation(ann).unwrap().unwrap();
    let table = |rows: Vec<Vec<&str>>| tables::DocTable {
        file: PathBuf::from("x.md"),
        line: 1,
        check: Some(Some(c.clone())),
        header: vec!["workers".into(), "1".into(), "2".into()],
        rows: rows.into_iter().map(|r| r.into_iter().map(String::from).collect()).collect(),
        beside_output_command: true,
    };
    let good = table(vec![vec!["laptop (8 cores)", "2.00", "3.00"], vec!["aurora", "2.00", "3.00x"]]);
    assert!(tables::check_table(&good, &c, csv).is_ok(), "{:?}", tables::check_table(&good, &c, csv));
    let drifted = table(vec![vec!["laptop (8 cores)", "2.00", "3.10"], vec!["aurora", "2.00", "3.00"]]);
    let e = tables::check_table(&drifted, &c, csv).unwrap_err();
    assert!(e.contains("max_parallel_workers_per_gather=2") && e.contains("2.9966"), "{e}");
    assert!(e.contains("| laptop (8 cores) | 2.00 | 3.00 |"), "the regenerated table: {e}");
    // A stated tolerance widens the check; rounding to fewer digits is allowed by itself.
    let mut wide = c.clone();
    wide.tolerance = 0.05;
    assert!(tables::check_table(&drifted, &wide, csv).is_ok());
    assert!(tables::agrees("3", "2.9966", 0.0) && !tables::agrees("3.1", "2.9966", 0.005));
    // The columns form: header cells name columns; text cells must be equal.
    let cols = tables::parse_annotation("<!-- pqsim-table: output/x/s.csv where hardware=laptop tolerance=1% -->")
        .unwrap()
        .unwrap();
    assert_eq!(cols.filters, [("hardware".to_string(), "laptop".to_string())]);
    assert_eq!(cols.tolerance, 0.01);
    let mut t = table(vec![vec!["2", "3.0", "b"]]);
    t.header = vec!["workers (`max_parallel_workers_per_gather`)".into(), "speedup".into(), "note".into()];
    assert!(tables::check_table(&t, &cols, csv).is_ok());
    t.rows = vec![vec!["2".into(), "3.0".into(), "c".into()]];
    assert!(tables::check_table(&t, &cols, csv).is_err(), "a text cell that differs");
    t.rows = vec![vec!["2".into(), "3.2".into(), "b".into()]];
    assert!(tables::check_table(&t, &cols, csv).is_err(), "a drifted number");
    assert!(tables::parse_annotation("<!-- pqsim-table: unchecked timings -->").unwrap().is_none());
    assert!(tables::parse_annotation("<!-- pqsim-table: f.csv rows=a -->").is_err());
}

#[test]
fn the_checker_catches_a_drifted_figure_and_a_missing_line() {
    let c = DocCommand {
        file: PathBuf::from("x.md"),
        line: 1,
        args: vec![],
        quoted: vec!["Predicted wall time: 540.9 ms".into(), "...".into(), "leader  532.8".into()],
    };
    assert!(check_quoted(&c, "Predicted wall time: 540.9 ms\nworker 1 3\nleader  532.8\n").is_ok());
    assert!(check_quoted(&c, "Predicted wall time: 541.0 ms\nleader  532.8\n").is_ok(), "last-digit rounding");
    assert!(check_quoted(&c, "Predicted wall time: 600.0 ms\nleader  532.8\n").is_err(), "a drifted figure");
    assert!(check_quoted(&c, "Predicted wall time: 540.9 ms\n").is_err(), "a missing line");
    let rows = DocCommand { file: PathBuf::from("x.md"), line: 1, args: vec![], quoted: vec!["laptop 4 9.5".into()] };
    assert!(check_quoted(&rows, "laptop 3 9.4\nlaptop 4 9.5\n").is_ok(), "a table row is found by its numbers");
    assert!(check_quoted(&rows, "laptop 3 9.4\nlaptop 4 12.0\n").is_err(), "a drifted table row");
    assert!(has_placeholder("pqsim run SCENARIO --hardware laptop"));
    assert!(!has_placeholder("pqsim run configs/scenarios/gather-heavy.toml --hardware laptop"));
    assert_eq!(shell_words("run --dsn \"host=/tmp dbname=x\" a"), ["run", "--dsn", "host=/tmp dbname=x", "a"]);
}
