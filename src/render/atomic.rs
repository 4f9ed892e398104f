//! Files that appear whole or not at all: written to a temporary file in the target's own
//! directory (so the final rename never crosses file systems), synced, then renamed over the
//! target with `tempfile`'s `persist`. A reader never sees a half-written output, and a failed
//! write leaves the old file (or nothing) and no temporary behind.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;
use tempfile::NamedTempFile;

/// A temporary file beside `path`, with the same extension (libraries that pick a format from
/// the extension, such as the PNG encoder, see the right one).
fn temp_beside(path: &Path) -> std::io::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let suffix = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let mut b = tempfile::Builder::new();
    b.prefix(".pqsim-").suffix(&suffix);
    // Ordinary output permissions (0666 less the umask), not the temporary's private 0600.
    #[cfg(unix)]
    b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    b.tempfile_in(dir)
}

/// Write `bytes` to `path` atomically. Errors name the file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = temp_beside(path).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).and_then(|_| tmp.as_file().sync_all()).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Let `fill` write the file at the path it is given (a temporary beside `path`, same
/// extension), then rename it over `path`. For writers that insist on a path of their own, such
/// as plotters' backends. If `fill` fails the temporary is removed and its error returned.
pub fn write_with<E: From<std::io::Error>>(path: &Path, fill: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
    let tmp = temp_beside(path)?;
    fill(tmp.path())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Remove the temporaries (`.pqsim-*`) that writes into `dir` left when their process was
/// killed mid-write (a killed process cannot clean up). Call it only for a directory this run
/// owns, such as a sweep's output directory after its journal was accepted. Returns how many.
pub fn remove_leftovers(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pqsim-") && e.path().is_file())
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// CSV text of a header and rows, as the `csv` crate writes it (quoting where needed).
pub fn csv_bytes<S: AsRef<[u8]>>(
    header: &[S],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// Write a CSV file atomically; every write error becomes `Error::Io` naming `path`.
pub fn write_csv<S: AsRef<[u8]>>(path: &Path, header: &[S], rows: impl IntoIterator<Item = Vec<String>>) -> Result<()> {
    let bytes = csv_bytes(header, rows).map_err(|e| Error::io(path, e))?;
    write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".pqsim-"))
            .collect()
    }

    #[test]
    fn leftovers_of_a_killed_write_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".pqsim-abc.csv"), "half").unwrap();
        std::fs::write(dir.path().join("points.csv"), "whole").unwrap();
        std::fs::write(dir.path().join(".other"), "kept").unwrap();
        assert_eq!(remove_leftovers(dir.path()), 1);
        assert!(leftovers(dir.path()).is_empty());
        assert!(dir.path().join("points.csv").exists() && dir.path().join(".other").exists());
        assert_eq!(remove_leftovers(&dir.path().join("missing")), 0);
    }

    #[test]
    fn write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write(&p, b"old").unwrap();
        write(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_readable_by_others_as_plain_files_are() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("atomic.txt"), dir.path().join("plain.txt"));
        write(&a, b"x").unwrap();
        std::fs::write(&b, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a), mode(&b));
    }

    #[test]
    fn write_into_a_missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/x.csv");
        match write(&p, b"x") {
            Err(Error::Io { path, .. }) => assert_eq!(path, p),
            other => panic!("expected Error::Io, got {other:?}"),
        }
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("chart.svg");
        write(&p, b"<svg/>").unwrap();
        let r = write_with(&p, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "svg");
            std::fs::write(tmp, b"half")?;
            Err::<(), std::io::Error>(std::io::Error::other("drawing failed"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"<svg/>");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let b = csv_bytes(&["a", "b"], vec![vec!["x,y".to_string(), "1".to_string()]]).unwrap();
        assert_eq!(String::from_utf8(b).unwrap(), "a,b\n\"x,y\",1\n");
    }
}
