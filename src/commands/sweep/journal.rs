//! The sweep's journal, `DIR/points.journal.jsonl`: one JSON line per finished simulation, after
//! a header line that records what the rows depend on (scenario, hardware files, what-ifs, seed,
//! varied keys, the pqsim binary). An interrupted sweep resumes from it; a different sweep in the
//! same directory is refused unless `--fresh`.

use super::SweepArgs;
use crate::config::TableOverride;
use crate::error::{Error, Result};
use crate::predict::RunOutput;
use crate::render::atomic;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(super) const JOURNAL: &str = "points.journal.jsonl";
const JOURNAL_FORMAT: u32 = 1;

/// Result of one simulation (one grid point, one replication), as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Row {
    pub(super) hardware: String,
    pub(super) values: Vec<String>,
    pub(super) replication: u32,
    pub(super) seed: u64,
    pub(super) wall_time_ms: f64,
    pub(super) workers_planned: u32,
    pub(super) workers_launched: u32,
    pub(super) queue_full_stalls: f64,
    /// Per process (leader first): [cpu, disk wait, MessageQueueSend, waiting for tuples,
    /// start-up, other] in ms.
    pub(super) processes: Vec<(bool, [f64; 6])>,
}

impl Row {
    pub(super) fn mq_send_workers(&self) -> f64 {
        self.processes.iter().filter(|p| p.0).map(|p| p.1[2]).sum()
    }
}

pub(super) fn row_from(out: &RunOutput, hardware: &str, values: &[String], r: u32, seed: u64) -> Row {
    let processes = out.splits.iter().map(|p| (p.is_worker(), p.groups())).collect();
    Row {
        hardware: hardware.to_string(),
        values: values.to_vec(),
        replication: r,
        seed,
        // Whole nanoseconds: exact in 6 decimals.
        wall_time_ms: (out.wall_ms[0] * 1e6).round() / 1e6,
        workers_planned: out.workers_planned,
        workers_launched: out.workers_launched,
        queue_full_stalls: out.stalls[0],
        processes,
    }
}

/// What the journal's rows depend on. Rows are reused only when all of it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Identity {
    pub(super) pqsim_version: String,
    /// Hash of the pqsim executable: a rebuilt model invalidates old rows.
    pub(super) binary: String,
    pub(super) scenario: String,
    pub(super) scenario_hash: String,
    /// Hardware profile name -> hash of its file.
    pub(super) hardware: BTreeMap<String, String>,
    pub(super) set: Vec<(String, String)>,
    pub(super) table: Vec<String>,
    pub(super) hw: Vec<(String, String)>,
    pub(super) seed: u64,
    pub(super) vary_keys: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    pqsim_sweep_journal: u32,
    identity: Identity,
}

/// FNV-1a, 64 bit, over 8-byte little-endian words and then the tail bytes: a stable content
/// fingerprint (not security), fast enough for an 80 MB debug binary.
fn fnv1a(bytes: &[u8]) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = h.wrapping_mul(PRIME);
    }
    for b in words.remainder() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:016x}")
}

fn binary_hash() -> String {
    std::env::current_exe().ok().and_then(|p| std::fs::read(p).ok()).map(|b| fnv1a(&b)).unwrap_or_default()
}

impl Identity {
    /// Field names that differ, for the refusal message.
    fn differences(&self, old: &Identity) -> Vec<String> {
        let mut d = vec![];
        let mut check = |name: &str, same: bool, detail: String| {
            if !same {
                d.push(if detail.is_empty() { name.to_string() } else { format!("{name} ({detail})") });
            }
        };
        check(
            "pqsim build",
            self.pqsim_version == old.pqsim_version && self.binary == old.binary,
            "the pqsim binary changed since those rows were computed".into(),
        );
        check("scenario file", self.scenario_hash == old.scenario_hash, format!("{} changed", self.scenario));
        for (name, h) in &self.hardware {
            if let Some(o) = old.hardware.get(name) {
                check(&format!("hardware profile {name}"), h == o, "its file changed".into());
            }
        }
        check("--set", self.set == old.set, format!("{:?} vs {:?}", old.set, self.set));
        check("--table", self.table == old.table, format!("{:?} vs {:?}", old.table, self.table));
        check("--hw", self.hw == old.hw, format!("{:?} vs {:?}", old.hw, self.hw));
        check("--seed", self.seed == old.seed, format!("{} vs {}", old.seed, self.seed));
        check(
            "--vary keys",
            self.vary_keys == old.vary_keys,
            format!("{} vs {}", old.vary_keys.join(","), self.vary_keys.join(",")),
        );
        d
    }
}

fn kv_text(kv: &[(String, String)]) -> Vec<(String, String)> {
    kv.to_vec()
}

fn table_text(t: &[TableOverride]) -> Vec<String> {
    t.iter().map(|o| format!("{}.{}={}", o.table, o.key, o.value)).collect()
}

pub(super) type RowKey = (String, Vec<String>, u32);

/// Read the journal in DIR: its identity and the rows it holds (a torn last line is dropped).
fn read_journal(path: &Path) -> Result<Option<(Identity, Vec<Row>)>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse_journal(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A journal's identity and rows. Lines are split as bytes: a line torn by a kill (even inside
/// a multi-byte character) or otherwise unreadable is dropped, never an error. `None` when the
/// header is not one this version writes.
pub(super) fn parse_journal(bytes: &[u8]) -> Option<(Identity, Vec<Row>)> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let header: JournalHeader = serde_json::from_slice(lines.next()?).ok()?;
    if header.pqsim_sweep_journal != JOURNAL_FORMAT {
        return None;
    }
    let rows = lines.filter_map(|l| serde_json::from_slice::<Row>(l).ok()).collect();
    Some((header.identity, rows))
}

/// Fuzzing entry (fuzz/targets.rs): parse journal bytes; every row read back must serialize and
/// parse to itself. Returns the number of rows kept, `None` for a journal this version refuses.
#[doc(hidden)]
pub fn fuzz_journal(bytes: &[u8]) -> Option<usize> {
    let (identity, rows) = parse_journal(bytes)?;
    assert!(identity.differences(&identity).is_empty(), "an identity differs from itself");
    for r in &rows {
        let line = serde_json::to_string(r).expect("a parsed row serializes");
        let back: Row = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        // Compare as text: a NaN-free f64 survives the round trip exactly.
        assert_eq!(serde_json::to_string(&back).expect("json"), line);
    }
    Some(rows.len())
}

#[derive(Debug)]
pub(super) struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    /// Start the journal afresh with `identity` and the rows kept (atomically), then open it
    /// for appending.
    pub(super) fn create(dir: &Path, identity: &Identity, keep: &[Row]) -> Result<Journal> {
        let mut text =
            serde_json::to_string(&JournalHeader { pqsim_sweep_journal: JOURNAL_FORMAT, identity: identity.clone() })
                .expect("json");
        text.push('\n');
        for r in keep {
            text.push_str(&serde_json::to_string(r).expect("json"));
            text.push('\n');
        }
        let path = dir.join(JOURNAL);
        atomic::write(&path, text.as_bytes())?;
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Journal { file: Mutex::new(file), path })
    }

    pub(super) fn append(&self, r: &Row) -> Result<()> {
        let mut line = serde_json::to_string(r).expect("json");
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))
    }
}

/// Hash of a file's text as read once by the sweep (the same fingerprint as of its bytes).
pub(super) fn text_hash(text: &str) -> String {
    fnv1a(text.as_bytes())
}

/// What this sweep's rows depend on. `scenario_text` is the scenario file as read;
/// `hardware` maps each profile name to the hash of its file.
pub(super) fn identity(a: &SweepArgs, scenario_text: &str, hardware: BTreeMap<String, String>) -> Identity {
    Identity {
        pqsim_version: env!("CARGO_PKG_VERSION").to_string(),
        binary: binary_hash(),
        scenario: a.scenario.display().to_string(),
        scenario_hash: text_hash(scenario_text),
        hardware,
        set: kv_text(&a.whatif.set),
        table: table_text(&a.whatif.table),
        hw: kv_text(&a.whatif.hw),
        seed: a.seed,
        vary_keys: a.vary.iter().map(|v| v.key.clone()).collect(),
    }
}

/// Open the journal in `dir` for this sweep: the rows an earlier run of the same sweep finished
/// (keyed by hardware, values and replication), and the journal restarted with them. A journal
/// of a different sweep is refused unless `fresh`.
pub(super) fn resume(dir: &Path, identity: &Identity, fresh: bool) -> Result<(HashMap<RowKey, Row>, Journal)> {
    let journal_path = dir.join(JOURNAL);
    let mut done: HashMap<RowKey, Row> = HashMap::new();
    let mut journal_identity = identity.clone();
    match read_journal(&journal_path)? {
        Some((old, rows)) => {
            let diff = identity.differences(&old);
            if diff.is_empty() {
                // Keep profiles the old journal knew that this run does not use.
                for (k, v) in old.hardware {
                    journal_identity.hardware.entry(k).or_insert(v);
                }
                for r in rows {
                    done.insert((r.hardware.clone(), r.values.clone(), r.replication), r);
                }
            } else if fresh {
                eprintln!(
                    "sweep: --fresh: discarding {} earlier simulations in {}",
                    rows.len(),
                    journal_path.display()
                );
            } else {
                return Err(Error::input(format!(
                    "{} holds simulations of a different sweep (differs in: {}); use --fresh to discard them, or another --output",
                    dir.display(),
                    diff.join("; ")
                )));
            }
        }
        None if journal_path.exists() && !fresh => {
            return Err(Error::input(format!(
                "{} is not a pqsim sweep journal this version can read; use --fresh to replace it",
                journal_path.display()
            )));
        }
        None => {}
    }
    let mut kept: Vec<Row> = done.values().cloned().collect();
    kept.sort_by(|x, y| (&x.hardware, &x.values, x.replication).cmp(&(&y.hardware, &y.values, y.replication)));
    let journal = Journal::create(dir, &journal_identity, &kept)?;
    Ok((done, journal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            pqsim_version: "0.1.0".into(),
            binary: "b".into(),
            scenario: "s.toml".into(),
            scenario_hash: "h".into(),
            hardware: BTreeMap::from([("laptop".to_string(), "1".to_string())]),
            set: vec![],
            table: vec![],
            hw: vec![],
            seed: 1,
            vary_keys: vec!["work_mem".into()],
        }
    }

    fn row(r: u32) -> Row {
        Row {
            hardware: "laptop".into(),
            values: vec!["4MB".into()],
            replication: r,
            seed: 7 + u64::from(r),
            wall_time_ms: 12.5,
            workers_planned: 2,
            workers_launched: 2,
            queue_full_stalls: 3.0,
            processes: vec![(false, [1.0, 0.0, 0.0, 2.0, 0.0, 0.0]), (true, [3.0, 0.5, 0.25, 0.0, 0.1, 0.0])],
        }
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), "cbf29ce484222325");
        assert_eq!(fnv1a(b"a"), "af63dc4c8601ec8c");
        assert_eq!(text_hash("a"), fnv1a(b"a"));
    }

    #[test]
    fn differences_name_what_changed() {
        let a = identity();
        assert!(a.differences(&a).is_empty());
        let mut b = identity();
        b.seed = 2;
        b.hardware.insert("laptop".into(), "2".into());
        let d = b.differences(&a);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("hardware profile laptop"));
        assert_eq!(d[1], "--seed (1 vs 2)");
        // A profile only one side knows is not a difference.
        b = identity();
        b.hardware.insert("aurora".into(), "9".into());
        assert!(b.differences(&a).is_empty());
    }

    #[test]
    fn journal_round_trip_drops_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), &identity(), &[row(0)]).unwrap();
        j.append(&row(1)).unwrap();
        drop(j);
        let path = dir.path().join(JOURNAL);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"hardware\":\"lap").unwrap();
        let (id, rows) = read_journal(&path).unwrap().unwrap();
        assert_eq!(id, identity());
        assert_eq!(rows, [row(0), row(1)]);
        assert_eq!(rows[1].mq_send_workers(), 0.25);
        // A line torn inside a multi-byte character is dropped too, not an error.
        f.write_all("\n{\"hardware\":\"\u{e9}".as_bytes()[..15].as_ref()).unwrap();
        let (_, rows) = read_journal(&path).unwrap().unwrap();
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn resume_refuses_another_sweep_unless_fresh() {
        let dir = tempfile::tempdir().unwrap();
        Journal::create(dir.path(), &identity(), &[row(0)]).unwrap();
        let (done, _) = resume(dir.path(), &identity(), false).unwrap();
        assert_eq!(done.len(), 1);
        let mut other = identity();
        other.seed = 5;
        let e = resume(dir.path(), &other, false).unwrap_err().to_string();
        assert!(e.contains("different sweep") && e.contains("--seed"), "{e}");
        let (done, _) = resume(dir.path(), &other, true).unwrap();
        assert!(done.is_empty());
        std::fs::write(dir.path().join(JOURNAL), "not json\n").unwrap();
        assert!(resume(dir.path(), &identity(), false).is_err());
        assert!(resume(dir.path(), &identity(), true).is_ok());
    }
}
