//! `--vary KEY=LIST`: parsing and checking the values, and the grid they span (the cartesian
//! product of all `--vary`, the last key varying fastest).

use super::{MAX_POINTS, WORKERS_KEY};
use crate::commands::WhatIfArgs;
use crate::config::{self, TableKey, TableOverride};
use crate::model::guc;
use crate::model::workload::WorkloadKey;

/// Keys that change how many processes run, not what the query does: the serial baseline of a
/// point may differ from it in these keys only.
const PARALLELISM_KEYS: [&str; 4] =
    [WORKERS_KEY, "max_parallel_workers", "max_worker_processes", "parallel_leader_participation"];

/// What a `--vary` key changes.
#[derive(Debug, Clone)]
pub enum Target {
    Guc(&'static guc::GucDef),
    Table {
        table: String,
        key: TableKey,
    },
    /// A workload's arrivals (`sessions`, `rate_per_s`, `think_time_ms`): workload files only.
    Workload(WorkloadKey),
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Target::Guc(a), Target::Guc(b)) => a.name == b.name,
            (Target::Table { table: a, key: k }, Target::Table { table: b, key: l }) => a == b && k == l,
            (Target::Workload(a), Target::Workload(b)) => a == b,
            _ => false,
        }
    }
}

/// One `--vary KEY=LIST`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    pub key: String,
    pub target: Target,
    /// The values as the user wrote them (ranges expanded).
    pub values: Vec<String>,
}

/// Parse `KEY=LIST` (clap value parser; errors become exit code 2).
pub fn parse_vary(s: &str) -> std::result::Result<Vary, String> {
    let (key, list) =
        s.split_once('=').ok_or_else(|| format!("expected KEY=LIST (e.g. {WORKERS_KEY}=0..8), got \"{s}\""))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("expected KEY=LIST (e.g. {WORKERS_KEY}=0..8), got \"{s}\""));
    }
    let target = if let Some(k) = WorkloadKey::parse(key) {
        Target::Workload(k)
    } else if let Some((table, tkey)) = key.rsplit_once('.') {
        let tkey = match TableKey::parse(tkey) {
            Some(k) if !table.is_empty() => k,
            _ => {
                return Err(format!(
                    "\"{key}\" is not a table what-if: use NAME.KEY with KEY one of {}",
                    config::table_keys_text()
                ))
            }
        };
        Target::Table { table: table.to_string(), key: tkey }
    } else {
        let def = guc::lookup(&key.to_ascii_lowercase()).ok_or_else(|| {
            format!(
                "unknown setting \"{key}\": not a PostgreSQL setting pqsim models (for a table what-if write NAME.KEY, e.g. lineitem.rows)"
            )
        })?;
        Target::Guc(def)
    };
    let values = parse_list(list)?;
    for v in &values {
        match &target {
            Target::Guc(def) => {
                guc::parse_value(def, v).map_err(|e| format!("{key}: {e}"))?;
            }
            Target::Table { key: tkey, .. } => {
                tkey.value(v).map_err(|e| format!("{key}={v}: {e}"))?;
            }
            Target::Workload(k) => {
                k.value(v)?;
            }
        }
    }
    let key = match &target {
        Target::Guc(def) => def.name.to_string(),
        Target::Table { .. } | Target::Workload(_) => key.to_string(),
    };
    Ok(Vary { key, target, values })
}

/// `a,b,c`, `a..b` (inclusive integers) or a mix of both, in the order given.
fn parse_list(list: &str) -> std::result::Result<Vec<String>, String> {
    if list.trim().is_empty() {
        return Err("empty list of values: write a,b,c or a..b".into());
    }
    let mut out: Vec<String> = vec![];
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty value in list \"{list}\""));
        }
        if let Some((a, b)) = item.split_once("..") {
            let parse = |x: &str| {
                x.trim().parse::<i64>().map_err(|_| format!("range \"{item}\": bounds must be integers, as in 0..8"))
            };
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a {
                return Err(format!("range \"{item}\" is empty: the end must not be below the start"));
            }
            if (b - a) as u64 >= MAX_POINTS as u64 {
                return Err(format!("range \"{item}\" has more than {MAX_POINTS} values"));
            }
            out.extend((a..=b).map(|i| i.to_string()));
        } else {
            out.push(item.to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = out.iter().find(|v| !seen.insert(v.as_str())) {
        return Err(format!("value \"{d}\" is listed twice in \"{list}\""));
    }
    Ok(out)
}

impl Vary {
    /// The value as a number for plotting: settings in their base unit, booleans 0/1, enums
    /// their position in the list, table sizes in bytes.
    pub(super) fn numeric(&self, i: usize) -> f64 {
        let v = &self.values[i];
        match &self.target {
            Target::Guc(def) => match guc::parse_value(def, v) {
                Ok(guc::Value::Num(n)) => n,
                Ok(guc::Value::Bool(b)) => f64::from(u8::from(b)),
                _ => i as f64,
            },
            Target::Table { key, .. } => key.value(v).unwrap_or(i as f64),
            Target::Workload(k) => k.value(v).unwrap_or(i as f64),
        }
    }

    pub(super) fn is_parallelism(&self) -> bool {
        PARALLELISM_KEYS.contains(&self.key.as_str())
    }

    /// Short label of one value for bar charts: `W=4`, `work_mem=64MB`.
    pub(super) fn label(&self, i: usize) -> String {
        if self.key == WORKERS_KEY {
            format!("W={}", self.values[i])
        } else {
            format!("{}={}", self.key, self.values[i])
        }
    }
}

/// The what-ifs of one grid point: the command's, then the varied values (later wins).
pub(super) fn point_whatif(base: &WhatIfArgs, vary: &[Vary], idx: &[usize]) -> WhatIfArgs {
    let mut w = base.clone();
    for (v, &i) in vary.iter().zip(idx) {
        match &v.target {
            Target::Guc(def) => w.set.push((def.name.to_string(), v.values[i].clone())),
            Target::Table { table, key } => {
                w.table.push(TableOverride::new(table, *key, &v.values[i]).expect("checked when parsed"))
            }
            // Applied to the loaded workload (`sweep::workload`).
            Target::Workload(_) => {}
        }
    }
    w
}

/// All index combinations, the last key varying fastest.
pub(super) fn combinations(vary: &[Vary]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for v in vary {
        out = out
            .into_iter()
            .flat_map(|prefix| (0..v.values.len()).map(move |i| [prefix.clone(), vec![i]].concat()))
            .collect();
    }
    out
}

pub(super) fn values_of(vary: &[Vary], idx: &[usize]) -> Vec<String> {
    vary.iter().zip(idx).map(|(v, &i)| v.values[i].clone()).collect()
}

pub(super) fn describe(vary: &[Vary], idx: &[usize]) -> String {
    vary.iter().zip(idx).map(|(v, &i)| format!("{}={}", v.key, v.values[i])).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lists_and_ranges() {
        let v = parse_vary("max_parallel_workers_per_gather=0..3").unwrap();
        assert_eq!(v.values, ["0", "1", "2", "3"]);
        let v = parse_vary("max_parallel_workers_per_gather=0..2,4,8").unwrap();
        assert_eq!(v.values, ["0", "1", "2", "4", "8"]);
        let v = parse_vary("work_mem=4MB, 64MB").unwrap();
        assert_eq!(v.values, ["4MB", "64MB"]);
        assert_eq!(v.numeric(1), 65536.0);
        let v = parse_vary("lineitem.rows=1000,2000").unwrap();
        assert_eq!(v.target, Target::Table { table: "lineitem".into(), key: TableKey::Rows });
    }

    #[test]
    fn bad_vary_input_is_explained() {
        for (s, msg) in [
            ("no_such_guc=1,2", "unknown setting"),
            ("max_parallel_workers_per_gather=4..2", "is empty"),
            ("max_parallel_workers_per_gather=", "empty list"),
            ("max_parallel_workers_per_gather=1,,2", "empty value"),
            ("max_parallel_workers_per_gather=a..b", "integers"),
            ("max_parallel_workers_per_gather=-1,2", "outside the valid range"),
            ("max_parallel_workers_per_gather=1,1", "listed twice"),
            ("work_mem=lots", "work_mem"),
            ("lineitem.colour=1", "not a table what-if"),
            ("lineitem.rows=-5", "zero or positive"),
            ("justakey", "KEY=LIST"),
        ] {
            let e = parse_vary(s).unwrap_err();
            assert!(e.contains(msg), "{s}: {e}");
        }
    }

    #[test]
    fn grid_order_last_key_fastest() {
        let a = parse_vary("max_parallel_workers_per_gather=0,1").unwrap();
        let b = parse_vary("work_mem=4MB,8MB,16MB").unwrap();
        let c = combinations(&[a, b]);
        assert_eq!(c, vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]);
    }

    #[test]
    fn varied_values_come_after_the_commands_own_what_ifs() {
        let base = WhatIfArgs { set: vec![("work_mem".into(), "4MB".into())], ..Default::default() };
        let vary = [parse_vary("work_mem=8MB,16MB").unwrap(), parse_vary("lineitem.rows=10,20").unwrap()];
        let w = point_whatif(&base, &vary, &[1, 0]);
        assert_eq!(w.set, [("work_mem".to_string(), "4MB".to_string()), ("work_mem".into(), "16MB".into())]);
        assert_eq!(w.table, [TableOverride::new("lineitem", TableKey::Rows, "10").unwrap()]);
        assert_eq!(values_of(&vary, &[1, 0]), ["16MB", "10"]);
        assert_eq!(describe(&vary, &[1, 0]), "work_mem=16MB, lineitem.rows=10");
    }

    #[test]
    fn labels_and_parallelism_keys() {
        let w = parse_vary("max_parallel_workers_per_gather=0,4").unwrap();
        assert_eq!(w.label(1), "W=4");
        assert!(w.is_parallelism());
        let m = parse_vary("work_mem=64MB").unwrap();
        assert_eq!(m.label(0), "work_mem=64MB");
        assert!(!m.is_parallelism());
        let t = parse_vary("lineitem.size=1GB").unwrap();
        assert_eq!(t.numeric(0), 1024.0 * 1024.0 * 1024.0);
    }
}
