//! docs/settings.md is generated from the settings table (`model::guc::GUCS`): this test fails
//! when the file is out of date. `PQSIM_BLESS=1 cargo test --test settings_doc` rewrites it.

#[test]
fn settings_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/settings.md");
    let want = pqsim::model::guc::settings_markdown();
    if std::env::var_os("PQSIM_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/settings.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/settings.md is out of date with src/model/guc.rs: run PQSIM_BLESS=1 cargo test --test settings_doc"
    );
    // Every setting is in the table, with its PostgreSQL 15 default.
    for g in pqsim::model::guc::GUCS {
        assert!(have.contains(&format!("| `{}` | {} |", g.name, g.default)), "{}", g.name);
    }
}
