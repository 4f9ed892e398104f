use super::draw::*;
use super::*;
use crate::analysis::stats::{fit_usl, usl_speedup};
use std::path::{Path, PathBuf};

/// (width, height) from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > 33, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Checks the files; with `PQSIM_KEEP_PLOTS=<dir>` also copies them there
/// for a look by eye.
fn check_written(w: &Written, title: &str, expect: (u32, u32)) {
    if let Some(keep) = std::env::var_os("PQSIM_KEEP_PLOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        for f in [&w.png, &w.svg] {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    assert_eq!((w.width, w.height), expect);
    assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
    assert_eq!(png_size(&w.png), expect);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.len() > 1000);
    assert!(svg.contains(title), "SVG lacks title {title:?}");
    assert!(svg.contains(&format!("width=\"{}\"", expect.0)));
}

fn speedup_series() -> Vec<SpeedupSeries> {
    let mk = |label: &str, sg: f64, kp: f64| {
        let pts = (0..=8)
            .map(|w| {
                let x = w as f64;
                let m = usl_speedup(sg, kp, x + 1.0);
                (x, m, m * 0.95, m * 1.05)
            })
            .collect();
        SeriesWithError::new(label, pts)
    };
    vec![mk("seq scan + agg", 0.05, 0.002), mk("hash join", 0.15, 0.01)]
}

#[test]
fn with_ext_appends() {
    assert_eq!(with_ext(Path::new("d/speed.v2"), "png"), PathBuf::from("d/speed.v2.png"));
}

#[test]
fn speedup_chart_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let series = speedup_series();
    let pts: Vec<(f64, f64)> = series[0].points.iter().map(|p| (p.0 + 1.0, p.1)).collect();
    let fit = fit_usl(&pts).unwrap();
    let overlays = vec![
        Overlay::ideal("ideal (workers + 1)", 0.0, 8.0, 1.0),
        Overlay::new("leader+workers bound", OverlayKind::Bound, vec![(0.0, 1.0), (4.0, 4.6), (8.0, 7.2)]),
        Overlay::from_fn("USL fit", OverlayKind::Fit, 0.0, 8.0, |w| fit.predict(w + 1.0)).for_series(0),
    ];
    let title = "Speedup of parallel seq scan";
    let w = speedup_chart(dir.path().join("speedup"), title, "workers", &series, &overlays).unwrap();
    assert_eq!(w.png, dir.path().join("speedup.png"));
    assert_eq!(w.svg, dir.path().join("speedup.svg"));
    check_written(&w, title, (WIDTH, HEIGHT));
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in ["workers", "speedup vs serial", "USL fit", "hash join"] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn speedup_chart_rejects_empty_and_nan() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("x");
    assert!(matches!(speedup_chart(&stem, "t", "workers", &[], &[]), Err(PlotError::Empty(_))));
    let bad = [SeriesWithError::new("a", vec![(1.0, f64::NAN, 0.0, 1.0)])];
    assert!(matches!(speedup_chart(&stem, "t", "workers", &bad, &[]), Err(PlotError::Invalid(_))));
}

#[test]
fn single_point_series_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    let s = [SeriesWithError::new("one", vec![(2.0, 1.5, 1.5, 1.5)])];
    let w = speedup_chart(dir.path().join("one"), "Single point", "workers", &s, &[]).unwrap();
    check_written(&w, "Single point", (WIDTH, HEIGHT));
}

#[test]
fn stacked_time_split_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let mut bars = vec![StackedBar::new("W=0 leader", vec![("CPU", 900.0), ("disk wait", 120.0), ("other", 10.0)])];
    for w in 0..4 {
        bars.push(StackedBar::new(
            format!("W=4 worker {w}"),
            vec![
                ("start-up", 4.0),
                ("CPU", 200.0 + 10.0 * w as f64),
                ("MessageQueueSend", 30.0),
                ("disk wait", 40.0),
                ("cpu", 5.0), // merged with "CPU"
                ("lock wait", 3.0),
            ],
        ));
    }
    for w in 0..8 {
        bars.push(StackedBar::new(
            format!("W=8 worker {w}"),
            vec![("CPU", 120.0), ("MessageQueueSend", 60.0 + w as f64)],
        ));
    }
    bars.push(StackedBar::new("W=4 leader", vec![("waiting for tuples", 180.0), ("CPU", 90.0)]));
    let title = "Where the time goes";
    let w = stacked_time_split(dir.path().join("split"), title, &bars).unwrap();
    check_written(&w, title, (WIDTH, rows_height(bars.len(), 34)));
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in ["W=4 worker 3", "MessageQueueSend", "lock wait", "time (ms)"] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn category_palette_orders_known_first() {
    let p = CategoryPalette::new(["zzz", "other", "cpu", "MessageQueueSend"]);
    let names: Vec<&str> = p.order.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["CPU", "MessageQueueSend", "other", "zzz"]);
    assert_eq!(p.slot("CPU"), 0);
    assert_eq!(p.slot("zzz"), 3);
    assert_eq!(category_color("cpu"), Some(CATEGORY_COLORS[0]));
    assert_eq!(category_color("nope"), None);
}

#[test]
fn hardware_comparison_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |label: &str, base: f64| {
        let pts = (0..=6)
            .map(|w| {
                let t = base / (1.0 + w as f64 * 0.7);
                (w as f64, t, t * 0.97, t * 1.03)
            })
            .collect();
        SeriesWithError::new(label, pts)
    };
    let groups = [mk("laptop NVMe", 1800.0), mk("cloud EBS", 2600.0)];
    let title = "Wall time by hardware profile";
    let w = hardware_comparison(dir.path().join("sub/hw"), title, "workers", &groups, &[]).unwrap();
    check_written(&w, title, (WIDTH, HEIGHT));
    assert!(std::fs::read_to_string(&w.svg).unwrap().contains("wall time (ms)"));
}

#[test]
fn queue_fill_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<QueueSeries> = (0..3)
        .map(|w| {
            let pts = (0..50)
                .map(|i| {
                    let t = i as f64 * 2.0;
                    let b = ((i * (w + 3) * 1500) % 65536) as f64;
                    (t, b)
                })
                .collect();
            QueueSeries::new(format!("worker {w}"), pts)
        })
        .collect();
    let title = "Tuple queue fill";
    let w = queue_fill(dir.path().join("queue"), title, &series, Some(65536.0)).unwrap();
    check_written(&w, title, (WIDTH, HEIGHT));
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.contains("KiB") && svg.contains("capacity"));
}

#[test]
fn state_timeline_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let mut lanes = vec![Lane::new(
        "leader",
        vec![(0.0, 5.0, "start-up"), (5.0, 40.0, "CPU"), (40.0, 90.0, "waiting for tuples"), (90.0, 100.0, "CPU")],
    )];
    for w in 0..3 {
        let off = w as f64 * 3.0;
        lanes.push(Lane::new(
            format!("worker {w}"),
            vec![
                (off, off + 6.0, "start-up"),
                (off + 6.0, 50.0, "CPU"),
                (50.0, 55.0, "disk wait"),
                (55.0, 70.0, "MessageQueueSend"),
                (70.0, 95.0, "CPU"),
            ],
        ));
    }
    let title = "Process states over time";
    let w = state_timeline(dir.path().join("timeline"), title, &lanes).unwrap();
    check_written(&w, title, (WIDTH, rows_height(4, 40)));
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in ["worker 2", "leader", "process state", "disk wait"] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    let one = [Lane::new("leader", vec![(0.0, 3.0, "CPU"), (3.0, 4.0, "idle")])];
    let w = state_timeline(dir.path().join("one_lane"), "One lane", &one).unwrap();
    check_written(&w, "One lane", (WIDTH, 380));
    assert!(std::fs::read_to_string(&w.svg).unwrap().contains("idle"));
    let bad = [Lane::new("x", vec![(5.0, 1.0, "CPU")])];
    assert!(matches!(state_timeline(dir.path().join("bad"), "t", &bad), Err(PlotError::Invalid(_))));
}
