//! [`ThrowawayServer`]: a private PostgreSQL 15 server in a temporary directory.

use super::PgError;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `scripts/pg-throwaway.sh`, embedded at build time.
const SCRIPT: &str = include_str!("../../scripts/pg-throwaway.sh");

/// Default location of the Debian server binaries (override: `PQSIM_PG_BINDIR`).
pub const DEFAULT_BINDIR: &str = "/usr/lib/postgresql/15/bin";

/// A running throwaway server (see `scripts/pg-throwaway.sh`): its own data directory
/// and unix socket under `/tmp` (override the parent with `PQSIM_PG_TMPDIR`), no TCP,
/// `jit = off`, `synchronous_commit = off`, other settings at PG15 defaults.
///
/// Dropping the guard stops the server (`pg_ctl stop -m fast`) and deletes the
/// directory, also while unwinding from a panic. If the process dies without unwinding
/// (SIGKILL, abort), a watchdog started by the script notices within about a second
/// and cleans up.
#[derive(Debug)]
pub struct ThrowawayServer {
    dir: PathBuf,
    conninfo: String,
    stopped: bool,
}

impl ThrowawayServer {
    /// Whether the PostgreSQL 15 server binaries are installed (and, when running as
    /// root, the `postgres` user to run them exists). `scripts/pg-throwaway.sh install`
    /// installs them on a machine where this is false.
    pub fn available() -> bool {
        Self::unavailable_reason().is_none()
    }

    /// `None` if [`available`](Self::available), else a sentence saying what is missing.
    pub fn unavailable_reason() -> Option<String> {
        let bindir = bindir();
        for tool in ["postgres", "initdb", "pg_ctl", "pg_isready"] {
            if !is_executable(&bindir.join(tool)) {
                return Some(format!(
                    "{} not found (install with `scripts/pg-throwaway.sh install`, \
                     or set PQSIM_PG_BINDIR)",
                    bindir.join(tool).display()
                ));
            }
        }
        if running_as_root() && !postgres_user_exists() {
            return Some("running as root but there is no `postgres` user to run the server".into());
        }
        None
    }

    /// The text of `scripts/pg-throwaway.sh`, built into the binary: an installed `pqsim`
    /// runs it from a private temporary file, needing no source tree.
    pub fn script() -> &'static str {
        SCRIPT
    }

    /// initdb's and starts a fresh server (about 1.5-3 s here) and waits until it
    /// accepts connections.
    pub fn start() -> Result<Self, PgError> {
        if let Some(why) = Self::unavailable_reason() {
            return Err(PgError::Unavailable(why));
        }
        let base = std::env::var_os("PQSIM_PG_TMPDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
        let dir = tempfile::Builder::new()
            .prefix("pqsim-pg-")
            .tempdir_in(&base)
            .map_err(|e| PgError::io(format!("creating a directory in {}", base.display()), e))?
            // The script owns the directory from here on (chown, deletion on stop).
            .keep();
        let pid = std::process::id().to_string();
        let out = run_script(&["start", path_str(&dir)?, "--owner-pid", &pid]);
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let _ = run_script(&["stop", path_str(&dir)?]);
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let conninfo = stdout.lines().rev().find(|l| l.starts_with("host=")).map(str::to_string);
        let server = ThrowawayServer { dir, conninfo: conninfo.unwrap_or_default(), stopped: false };
        if server.conninfo.is_empty() {
            return Err(PgError::Protocol(format!("pg-throwaway.sh start printed no conninfo: {stdout:?}")));
        }
        Ok(server)
    }

    /// libpq connection string: `host=DIR port=N user=postgres dbname=postgres`.
    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    /// The server's directory (data/, log/postgresql.log, the socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the server log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log/postgresql.log")
    }

    /// A new connection (over the unix socket, no TLS).
    pub fn client(&self) -> Result<postgres::Client, PgError> {
        Ok(postgres::Client::connect(&self.conninfo, postgres::NoTls)?)
    }

    /// Restarts the server (`pg_ctl restart -m fast`), keeping its data: empties shared
    /// buffers while the OS page cache keeps the files, i.e. a "warm" cache. Existing
    /// connections are closed by the restart.
    pub fn restart(&self) -> Result<(), PgError> {
        let pg_ctl = bindir().join("pg_ctl");
        let data = self.dir.join("data");
        let log = self.log_path();
        let args = ["restart", "-w", "-t", "120", "-m", "fast", "-D", path_str(&data)?, "-l", path_str(&log)?];
        let mut cmd = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let out = cmd
            .args(args)
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| PgError::io(format!("running {} restart", pg_ctl.display()), e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PgError::Script {
                command: format!("{} restart", pg_ctl.display()),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    /// Stops the server and deletes its directory, reporting failures (Drop does the
    /// same but can only ignore them).
    pub fn stop(mut self) -> Result<(), PgError> {
        self.stopped = true;
        let result = run_script(&["stop", path_str(&self.dir)?]).map(drop);
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        result
    }
}

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(dir) = self.dir.to_str() {
            if let Err(e) = run_script(&["stop", dir]) {
                eprintln!("pqsim: stopping throwaway PostgreSQL in {dir}: {e}");
            }
        }
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn bindir() -> PathBuf {
    std::env::var_os("PQSIM_PG_BINDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_BINDIR))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn running_as_root() -> bool {
    // The effective uid of this process, without a libc dependency.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn postgres_user_exists() -> bool {
    std::fs::read_to_string("/etc/passwd").map(|s| s.lines().any(|l| l.starts_with("postgres:"))).unwrap_or(false)
        || Command::new("id").arg("postgres").output().map(|o| o.status.success()).unwrap_or(false)
}

fn path_str(p: &Path) -> Result<&str, PgError> {
    p.to_str().ok_or_else(|| PgError::Invalid(format!("non-UTF-8 path {}", p.display())))
}

fn run_script(args: &[&str]) -> Result<Output, PgError> {
    // A fresh private copy per call (mode 0600 in a 0700 directory); the script copies itself
    // into the server's directory for its watchdog, so this one can go when the call returns.
    let tmp = tempfile::Builder::new()
        .prefix("pqsim-pg-throwaway-")
        .tempdir()
        .map_err(|e| PgError::io("creating a directory for pg-throwaway.sh", e))?;
    let script = tmp.path().join("pg-throwaway.sh");
    std::fs::write(&script, SCRIPT).map_err(|e| PgError::io(format!("writing {}", script.display()), e))?;
    let command = format!("pg-throwaway.sh {}", args.join(" "));
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| PgError::io(format!("running {command}"), e))?;
    if out.status.success() {
        Ok(out)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        Err(PgError::Script { command, status: out.status.to_string(), stderr: tail })
    }
}
