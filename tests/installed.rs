//! An installed binary needs no source tree: the shipped hardware profiles are embedded, so
//! `pqsim run x.toml --hardware laptop` (and the default profile) work from any directory; a
//! path to a profile file still wins over a name.

use std::path::Path;
use std::process::Command;

fn pqsim_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pqsim")).args(args).current_dir(dir).output().expect("run pqsim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runs_from_a_directory_without_the_source_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("configs/scenarios/testpar-count.toml"), dir.path().join("x.toml")).unwrap();
    for args in [
        vec!["run", "x.toml", "--hardware", "laptop", "--replications", "1", "--format", "json"],
        vec!["run", "x.toml", "--replications", "1", "--format", "json"],
        vec!["plan", "x.toml", "--hardware", "aurora", "--format", "json"],
    ] {
        let (code, out, err) = pqsim_in(dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("\"workers_planned\""), "{args:?}: {out}");
    }
    let (_, out, _) = pqsim_in(dir.path(), &["run", "x.toml", "--replications", "1", "--format", "json"]);
    assert!(out.contains("\"hardware\": \"reference-2vcpu\""), "the default profile: {out}");

    // A path wins over a name: a local file named like a shipped profile, edited.
    let laptop = std::fs::read_to_string(root.join("configs/hardware/laptop.toml")).unwrap();
    let edited = laptop.replacen("name = \"laptop\"", "name = \"my-laptop\"", 1);
    assert_ne!(edited, laptop, "the profile names itself");
    std::fs::write(dir.path().join("laptop.toml"), edited).unwrap();
    let (code, out, err) = pqsim_in(
        dir.path(),
        &["run", "x.toml", "--hardware", "./laptop.toml", "--replications", "1", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"hardware\": \"my-laptop\""), "{out}");

    // Unknown names list the embedded profiles.
    let (code, _, err) = pqsim_in(dir.path(), &["run", "x.toml", "--hardware", "cray-1"]);
    assert_eq!(code, 2);
    for name in ["aurora", "laptop", "reference-2vcpu"] {
        assert!(err.contains(name), "{err}");
    }
}
