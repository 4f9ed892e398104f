//! An Aggregate's calls cost the same wherever its VERBOSE output puts them: PostgreSQL runs
//! each call's argument and transition per input row, and an expression over the calls
//! (Q14's `100.00 * sum(..) / sum(..)`) once per group. Until 4 December 2026 a call inside
//! an expression was not found, and Q14's serial Aggregate was priced as two bare transitions
//! (its LIKE and four numeric operations a row uncounted): serial Q14 predicted 10-17% fast in
//! every sitting, its parallel plans (a `PARTIAL sum(..)` per entry) not.

use std::path::Path;
use std::process::Command;

fn pqsim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim")).args(args).output().expect("run pqsim");
    assert!(out.status.success(), "pqsim {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn wall(scenario: &Path) -> f64 {
    let out = pqsim(&["run", scenario.to_str().unwrap(), "--replications", "3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["wall_time_ms"].as_f64().expect("wall_time_ms")
}

#[test]
fn calls_inside_an_expression_cost_what_the_same_calls_cost_alone() {
    let dir = tempfile::tempdir().unwrap();
    let q14 = dir.path().join("q14.toml");
    let root = env!("CARGO_MANIFEST_DIR");
    pqsim(&[
        "import",
        &format!("{root}/tests/fixtures/explain/pg15_q14_w0.json"),
        "--schema",
        &format!("{root}/configs/schemas/tpch.sql"),
        "--output",
        q14.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&q14).unwrap();
    // The root Aggregate's one output entry, the expression over both calls.
    let line = text.lines().find(|l| l.starts_with("output = [\"((100.00 * sum(")).expect("Q14's Aggregate output");
    let entry = line.trim_start_matches("output = [\"").split("\"]").next().unwrap();
    let first = entry.find("sum(CASE").unwrap();
    let second = entry.rfind(" / sum(").unwrap() + 3;
    let close = |from: usize| {
        let mut depth = 0;
        for (i, c) in entry[from..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return from + i + 1;
                    }
                }
                _ => {}
            }
        }
        panic!("unbalanced: {entry}")
    };
    let (a, b) = (&entry[first..close(first)], &entry[second..close(second)]);
    let split = text.replace(line, &format!("output = [\"{a}\", \"{b}\"]"));
    assert_ne!(split, text);
    let calls_alone = dir.path().join("q14-calls-alone.toml");
    std::fs::write(&calls_alone, split).unwrap();

    let (wrapped, alone) = (wall(&q14), wall(&calls_alone));
    assert!(
        (wrapped - alone).abs() <= 0.002 * alone,
        "Q14 serial: {wrapped:.3} ms with the calls inside the expression, {alone:.3} ms with the same calls as entries"
    );
}

/// Q1's `avg(l_quantity)` and `avg(l_extendedprice)` share the transition state of
/// `sum(l_quantity)` and `sum(l_extendedprice)` (both numeric_avg_accum; PostgreSQL's
/// prepagg.c), so dropping them from the output changes no per-row cost; dropping
/// `avg(l_discount)`, whose input no other call has, does.
#[test]
fn calls_that_share_a_transition_state_cost_one_transition_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let q1 = dir.path().join("q1.toml");
    pqsim(&[
        "import",
        &format!("{root}/tests/fixtures/explain/pg15_q1_w0.json"),
        "--schema",
        &format!("{root}/configs/schemas/tpch.sql"),
        "--table",
        "lineitem.rows=240000",
        "--output",
        q1.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&q1).unwrap();
    let without = |entries: &[&str], name: &str| {
        let mut t = text.clone();
        for e in entries {
            let quoted = format!(", \"{e}\"");
            assert!(t.contains(&quoted), "{e} in Q1's output");
            t = t.replacen(&quoted, "", 1);
        }
        let p = dir.path().join(name);
        std::fs::write(&p, t).unwrap();
        wall(&p)
    };
    let all = wall(&q1);
    let shared = without(&["avg(l_quantity)", "avg(l_extendedprice)"], "q1-no-shared-avgs.toml");
    let own = without(&["avg(l_discount)"], "q1-no-avg-discount.toml");
    assert!(
        (all - shared).abs() <= 0.002 * all,
        "Q1 {all:.3} ms, without the two avgs that share a sum's state {shared:.3} ms"
    );
    assert!(own < all * 0.995, "Q1 {all:.3} ms, without avg(l_discount) (its own state) {own:.3} ms");
}
