//! PostgreSQL's value syntax for settings: sizes with units (`8kB`, `256MB`, `1GB`),
//! times (`10ms`, `1s`), booleans (`on`, `off`, `true`, `yes`, `1`, ...), and plain numbers
//! in a setting's base unit. See PostgreSQL's `parse_int`/`parse_real`/`parse_bool`
//! (src/backend/utils/misc/guc.c).

/// The base unit a numeric setting is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    None,
    /// kilobytes (work_mem)
    Kb,
    /// 8 kB blocks (shared_buffers, min_parallel_table_scan_size)
    Blocks,
    /// milliseconds
    Ms,
    /// bytes (plain byte counts in pqsim's own files)
    Bytes,
}

/// Parse a size or time with PostgreSQL's unit suffixes into the setting's base unit.
/// Returns an error text in PostgreSQL's words when the unit is not valid for the setting.
pub fn parse_number(value: &str, unit: Unit) -> Result<f64, String> {
    let v = value.trim();
    let split = v
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+' || *c == 'e' || *c == 'E'))
        .map(|(i, _)| i)
        .unwrap_or(v.len());
    // "1e3MB" style exponents are rare; keep 'e' only when followed by a digit.
    let (num, suffix) = v.split_at(split);
    let suffix = suffix.trim();
    let n: f64 = num.parse().map_err(|_| format!("invalid value \"{value}\": expected a number{}", unit_hint(unit)))?;
    if !n.is_finite() {
        return Err(format!("invalid value \"{value}\": not a finite number"));
    }
    if suffix.is_empty() {
        return Ok(n);
    }
    let bytes_per = |s: &str| -> Option<f64> {
        Some(match s {
            "B" => 1.0,
            "kB" => 1024.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024.0 * 1024.0 * 1024.0,
            "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        })
    };
    let ms_per = |s: &str| -> Option<f64> {
        Some(match s {
            "us" => 0.001,
            "ms" => 1.0,
            "s" => 1000.0,
            "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        })
    };
    match unit {
        Unit::Kb | Unit::Blocks | Unit::Bytes => {
            let per = bytes_per(suffix).ok_or_else(|| {
                format!("invalid value \"{value}\": valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\"")
            })?;
            let base = match unit {
                Unit::Kb => 1024.0,
                Unit::Blocks => 8192.0,
                _ => 1.0,
            };
            Ok(n * per / base)
        }
        Unit::Ms => {
            let per = ms_per(suffix).ok_or_else(|| {
                format!("invalid value \"{value}\": valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\"")
            })?;
            Ok(n * per)
        }
        Unit::None => Err(format!("invalid value \"{value}\": this parameter takes no unit")),
    }
}

fn unit_hint(unit: Unit) -> &'static str {
    match unit {
        Unit::Kb | Unit::Blocks | Unit::Bytes => " with an optional unit (B, kB, MB, GB, TB)",
        Unit::Ms => " with an optional unit (us, ms, s, min, h, d)",
        Unit::None => "",
    }
}

/// A size in bytes, e.g. `128kB`, `5GB` or a plain byte count.
pub fn parse_bytes(value: &str) -> Result<f64, String> {
    parse_number(value, Unit::Bytes)
}

/// PostgreSQL's boolean syntax (any unambiguous prefix of on/off/true/false/yes/no, 1, 0).
pub fn parse_bool(value: &str) -> Result<bool, String> {
    let v = value.trim().to_ascii_lowercase();
    let is_prefix = |word: &str, min: usize| v.len() >= min && word.starts_with(&v);
    if v == "1" || is_prefix("true", 1) || is_prefix("yes", 1) || is_prefix("on", 2) {
        Ok(true)
    } else if v == "0" || is_prefix("false", 1) || is_prefix("no", 1) || is_prefix("off", 2) {
        Ok(false)
    } else {
        Err(format!("invalid value \"{value}\": requires a Boolean value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_postgres_units() {
        assert_eq!(parse_number("256MB", Unit::Kb).unwrap(), 262144.0);
        assert_eq!(parse_number("4096", Unit::Kb).unwrap(), 4096.0);
        assert_eq!(parse_number("8MB", Unit::Blocks).unwrap(), 1024.0);
        assert_eq!(parse_number("8kB", Unit::Blocks).unwrap(), 1.0);
        assert_eq!(parse_bytes("5GB").unwrap(), 5.0 * 1024.0 * 1024.0 * 1024.0);
        assert!(parse_number("8 MB", Unit::Kb).is_ok());
        assert!(parse_number("8mb", Unit::Kb).unwrap_err().contains("valid units"));
        assert!(parse_number("10s", Unit::Kb).is_err());
        assert!(parse_number("abc", Unit::Kb).is_err());
        assert_eq!(parse_number("1s", Unit::Ms).unwrap(), 1000.0);
    }

    #[test]
    fn booleans_follow_postgres() {
        for t in ["on", "true", "yes", "1", "t", "y", "ON"] {
            assert!(parse_bool(t).unwrap(), "{t}");
        }
        for f in ["off", "false", "no", "0", "f", "n", "of"] {
            assert!(!parse_bool(f).unwrap(), "{f}");
        }
        assert!(parse_bool("o").is_err());
        assert!(parse_bool("maybe").is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        const UNITS: [(&str, f64); 5] =
            [("B", 1.0), ("kB", 1024.0), ("MB", 1048576.0), ("GB", 1073741824.0), ("TB", 1099511627776.0)];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// A size written with any unit reads back as that many bytes, and in kB and
            /// 8 kB blocks as the same amount.
            #[test]
            fn sizes_round_trip(n in 0u64..1_000_000, u in 0usize..5, space in any::<bool>()) {
                let (suffix, per) = UNITS[u];
                let text = format!("{n}{}{suffix}", if space { " " } else { "" });
                let bytes = n as f64 * per;
                prop_assert_eq!(parse_bytes(&text).unwrap(), bytes);
                prop_assert_eq!(parse_number(&text, Unit::Kb).unwrap(), bytes / 1024.0);
                prop_assert_eq!(parse_number(&text, Unit::Blocks).unwrap(), bytes / 8192.0);
                // A plain number is in the setting's base unit.
                prop_assert_eq!(parse_number(&n.to_string(), Unit::Kb).unwrap(), n as f64);
            }

            /// Any text is answered with a value or a message, never a panic.
            #[test]
            fn any_text_is_answered(text in ".{0,24}") {
                for unit in [Unit::None, Unit::Kb, Unit::Blocks, Unit::Ms, Unit::Bytes] {
                    if let Ok(x) = parse_number(&text, unit) {
                        prop_assert!(x.is_finite());
                    }
                }
                let _ = parse_bool(&text);
            }
        }
    }
}
