//! The notebooks run headless against a sweep made by this build (scripts/run-notebooks.sh).
//! Needs Python 3 and the packages of notebooks/requirements.txt (installed into .venv by
//! scripts/setup-python.sh on first use). Skipped only with PQSIM_SKIP_NOTEBOOKS=1.

use std::process::Command;

#[test]
fn notebooks_execute_against_a_fresh_sweep() {
    if std::env::var("PQSIM_SKIP_NOTEBOOKS").as_deref() == Ok("1") {
        eprintln!("PQSIM_SKIP_NOTEBOOKS=1: not running the notebooks");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let res = Command::new("bash")
        .arg(format!("{root}/scripts/run-notebooks.sh"))
        .arg(out.path())
        .env("PQSIM_BIN", env!("CARGO_BIN_EXE_pqsim"))
        .current_dir(root)
        .output()
        .expect("run scripts/run-notebooks.sh");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "scripts/run-notebooks.sh failed ({}):\n{err}", res.status);
    for f in [
        "sweep/speedup-notebook.png",
        "sweep/hardware-notebook.png",
        "executed/speedup.ipynb",
        "waits/waits-notebook.png",
        "executed/wait-samples.ipynb",
    ] {
        let p = out.path().join(f);
        assert!(std::fs::metadata(&p).map(|m| m.len() > 1000).unwrap_or(false), "missing {}", p.display());
    }
}
