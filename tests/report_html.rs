//! The HTML report in a real browser: `run --report` and `sweep`'s report.html open in headless
//! chromium (Debian's, installed by scripts/install-chromium.sh from scripts/test.sh) without a
//! script error or a console error, and a screenshot shows every chart section painted.
//! Without chromium the tests say so and pass, unless PQSIM_REQUIRE_BROWSER is set (test.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1280;

fn browser() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    assert!(
        std::env::var_os("PQSIM_REQUIRE_BROWSER").is_none(),
        "{CHROMIUM} is missing: run scripts/install-chromium.sh"
    );
    eprintln!("skipped: {CHROMIUM} is missing (scripts/install-chromium.sh installs it)");
    None
}

fn pqsim(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim")).args(args).output().expect("run pqsim");
    assert!(out.status.success(), "pqsim {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Headless chromium on `page` with a fresh profile and nothing reaching the network; returns
/// (stdout, stderr).
fn chromium(bin: &str, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.path().display()));
    cmd.args(extra);
    cmd.arg(format!("file://{}", page.display()));
    let out = cmd.output().expect("start chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_no_console_errors(stderr: &str) {
    for line in stderr.lines() {
        assert!(
            // chromium logs every console message, errors as "Uncaught ...", as ":CONSOLE:"; the
            // page and its flame graph log nothing when all is well.
            !line.contains("Uncaught") && !line.contains(":CONSOLE"),
            "console message from the page: {line}"
        );
    }
}

/// Value of attribute `name` on the first tag that starts with `tag_start` in the dumped DOM.
fn attr<'a>(dom: &'a str, tag_start: &str, name: &str) -> Option<&'a str> {
    let tag = &dom[dom.find(tag_start)?..];
    let tag = &tag[..tag.find('>')?];
    let v = &tag[tag.find(&format!("{name}=\""))? + name.len() + 2..];
    Some(&v[..v.find('"')?])
}

/// Share of the screenshot's pixels inside `(x, y, w, h)` that are clearly coloured (charts draw
/// in colour; text, tables and the page background are grey).
fn coloured_share(png_path: &Path, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).expect("screenshot"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    assert!(channels >= 3, "expected an RGB screenshot");
    let (iw, ih) = (info.width, info.height);
    let (mut coloured, mut total) = (0usize, 0usize);
    for yy in y..(y + h).min(ih) {
        for xx in x..(x + w).min(iw) {
            let i = (yy * iw + xx) as usize * channels;
            let px = &buf[i..i + 3];
            let (lo, hi) = (px.iter().min().copied().unwrap_or(0), px.iter().max().copied().unwrap_or(0));
            coloured += usize::from(hi - lo > 60);
            total += 1;
        }
    }
    assert!(total > 0, "region {x},{y},{w},{h} is outside the {iw}x{ih} screenshot");
    coloured as f64 / total as f64
}

/// Load the page, check it ran cleanly, screenshot it whole and check every section named in
/// `charts` is painted (not a blank box). Returns the screenshot's path.
fn check_page(bin: &str, page: &Path, charts: &[&str], shot: PathBuf) -> PathBuf {
    let html = std::fs::read_to_string(page).expect("page");
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    // Lay the page out at the screenshot's width: section positions depend on it.
    let (dom, stderr) = chromium(bin, page, &["--dump-dom".to_string(), format!("--window-size={WIDTH},1000")]);
    assert_no_console_errors(&stderr);
    assert_eq!(attr(&dom, "<html", "data-loaded"), Some("yes"), "the page's load handler did not run");
    assert_eq!(attr(&dom, "<html", "data-errors"), None, "script errors");
    let height: u32 = attr(&dom, "<html", "data-height").and_then(|h| h.parse().ok()).expect("page height");
    let (_, stderr) =
        chromium(bin, page, &[format!("--window-size={WIDTH},{height}"), format!("--screenshot={}", shot.display())]);
    assert_no_console_errors(&stderr);
    let share = |id: &str| {
        let b: Vec<u32> = attr(&dom, &format!("<section id=\"{id}\""), "data-box")
            .unwrap_or_else(|| panic!("no section {id}"))
            .split(',')
            .map(|v| v.parse().expect("number"))
            .collect();
        coloured_share(&shot, (b[0], b[1], b[2], b[3]))
    };
    for id in charts {
        let s = share(id);
        eprintln!("section {id}: {:.2}% coloured", 100.0 * s);
        assert!(s > 0.001, "section {id} looks empty: {:.2}% of its pixels coloured", 100.0 * s);
    }
    // The measure tells a chart from text: the question (a table of text) has no colour.
    let q = share("question");
    eprintln!("section question: {:.3}% coloured", 100.0 * q);
    assert!(q < 0.0005, "the question section has {:.2}% coloured pixels", 100.0 * q);
    shot
}

#[test]
fn run_report_opens_cleanly_and_every_chart_is_drawn() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let page_s = page.to_str().unwrap();
    pqsim(&["run", "configs/scenarios/gather-heavy.toml", "--replications", "2", "--report", page_s]);
    let shot = check_page(bin, &page, &["flame", "processes", "timeline", "queues"], dir.path().join("shot.png"));
    // PQSIM_KEEP_SCREENSHOT=FILE keeps the picture (docs/img/report.png is made this way).
    if let Some(keep) = std::env::var_os("PQSIM_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copy screenshot");
    }
}

#[test]
fn sweep_report_opens_cleanly_and_every_chart_is_drawn() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    pqsim(&[
        "sweep",
        "configs/scenarios/gather-heavy.toml",
        "--vary",
        "max_parallel_workers_per_gather=0..2",
        "--replications",
        "2",
        "--output",
        out.to_str().unwrap(),
    ]);
    check_page(bin, &out.join("report.html"), &["chart0", "chart1", "chart2"], dir.path().join("shot.png"));
}
