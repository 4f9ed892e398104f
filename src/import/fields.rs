//! The values of the scenario TOML an import writes: `key = value  # comment` fields, nodes,
//! and numbers rounded to the digits written (so the in-memory scenario loads back equal).

/// One `key = value  # comment` line.
pub struct Field {
    pub(super) key: &'static str,
    pub(super) value: String,
    pub(super) comment: Option<String>,
}

pub struct TNode {
    pub fields: Vec<Field>,
    pub subplan: Option<Vec<Field>>,
    pub children: Vec<(&'static str, TNode)>,
}

pub fn f(key: &'static str, value: String) -> Field {
    Field { key, value, comment: None }
}

pub fn fc(key: &'static str, value: String, comment: impl Into<String>) -> Field {
    Field { key, value, comment: Some(comment.into()) }
}

pub fn tstr(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML number: integers without a fraction, others with 6 significant digits.
pub fn tnum(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = (6 - (x.abs().log10().floor() as i32) - 1).clamp(0, 12) as usize;
    let s = format!("{:.*}", digits, x);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// `output = [...]`: the node's VERBOSE Output list, when there is one.
pub fn output_field(out: &[String]) -> Option<Field> {
    if out.is_empty() {
        return None;
    }
    let items: Vec<String> = out.iter().map(|o| tstr(o)).collect();
    Some(fc("output", format!("[{}]", items.join(", ")), "EXPLAIN VERBOSE Output"))
}

/// `x` rounded to the digits [`tnum`] writes: the value a written scenario loads back as.
pub fn sig6(x: f64) -> f64 {
    tnum(x).parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_valid_toml() {
        assert_eq!(tnum(3.0), "3");
        assert_eq!(tnum(0.5), "0.5");
        assert_eq!(tnum(0.0052111), "0.0052111");
        assert_eq!(tnum(123456.789), "123457.0");
        for x in [1e-9, 0.3333333, 2.5e7 + 0.5, 7.0] {
            let t: toml::Table = toml::from_str(&format!("x = {}", tnum(x))).unwrap();
            let v = t["x"].as_float().or(t["x"].as_integer().map(|i| i as f64)).unwrap();
            assert!((v - x).abs() <= 1e-5 * x.abs().max(1e-9) + 1e-12, "{x} -> {}", tnum(x));
            assert_eq!(sig6(x), v);
        }
    }
}
