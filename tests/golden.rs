//! The layout redesign (issue "One house, one way through it") changes no output: run (JSON and
//! text), plan (JSON) on every shipped scenario and profile, and a sweep's CSVs are compared
//! byte for byte with outputs recorded by the binary before the move
//! (`scripts/record-golden.sh`). Remove this test when an intended model change lands.

use std::path::Path;
use std::process::Command;

#[test]
fn outputs_are_byte_identical_to_the_recorded_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("bash")
        .arg(root.join("scripts/record-golden.sh"))
        .arg(env!("CARGO_BIN_EXE_pqsim"))
        .arg(dir.path())
        .status()
        .expect("run record-golden.sh");
    assert!(status.success(), "record-golden.sh failed");
    let golden = root.join("tests/fixtures/golden");
    let mut compared = 0;
    for sub in ["", "sweep"] {
        for entry in std::fs::read_dir(golden.join(sub)).expect("golden dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                continue;
            }
            let name = p.file_name().unwrap();
            let want = std::fs::read_to_string(&p).expect("golden file");
            let got = std::fs::read_to_string(dir.path().join(sub).join(name))
                .unwrap_or_else(|e| panic!("{}: not produced: {e}", name.to_string_lossy()));
            assert!(want == got, "{sub}/{} differs from the recorded output", name.to_string_lossy());
            compared += 1;
        }
    }
    assert!(compared >= 38, "only {compared} files compared");
}
