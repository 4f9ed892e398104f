//! What EXPLAIN's texts say: operators in a filter, aggregate calls in an Output list.

use crate::pg::ExplainNode;

/// Operators evaluated per row by a filter, counted from its text: comparison and
/// arithmetic operators between spaces, `ANY`/`ALL` arrays, `IS [NOT] NULL`, `LIKE`.
/// Hashed SubPlan lookups are costed separately (hash_probe_ns) and not counted here.
pub fn count_operators(filter: &str) -> f64 {
    const OPS: &[&str] = &[
        " = ",
        " <> ",
        " != ",
        " < ",
        " > ",
        " <= ",
        " >= ",
        " ~~ ",
        " !~~ ",
        " ~~* ",
        " !~~* ",
        " ~ ",
        " !~ ",
        " + ",
        " - ",
        " * ",
        " / ",
        " % ",
        " || ",
        " IS NULL",
        " IS NOT NULL",
        " ANY (",
        " ALL (",
    ];
    let mut n = 0usize;
    for op in OPS {
        n += filter.matches(op).count();
    }
    let plain_subplan = filter.matches("SubPlan").count() - filter.matches("hashed SubPlan").count();
    n += plain_subplan;
    n as f64
}

const AGG_NAMES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "bool_and",
    "bool_or",
    "every",
    "string_agg",
    "array_agg",
    "json_agg",
    "jsonb_agg",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "bit_and",
    "bit_or",
    "corr",
    "covar_pop",
    "covar_samp",
    "percentile_cont",
    "percentile_disc",
    "mode",
];

/// Aggregate calls in an Aggregate node's VERBOSE `Output` list.
pub fn count_aggregates(output: &[String]) -> usize {
    let mut n = 0;
    for o in output {
        let bytes = o.as_bytes();
        for name in AGG_NAMES {
            let pat = format!("{name}(");
            let mut from = 0;
            while let Some(i) = o[from..].find(&pat) {
                let at = from + i;
                let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
                if boundary {
                    n += 1;
                }
                from = at + pat.len();
            }
        }
    }
    n
}

pub fn output_list(n: &ExplainNode) -> Option<Vec<String>> {
    match n.extra.get("Output") {
        Some(serde_json::Value::Array(a)) => Some(a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_aggregates() {
        assert_eq!(count_operators("(t.val < 500000)"), 1.0);
        assert_eq!(count_operators("((a >= 0) AND (b >= 0) AND (c <> 3))"), 3.0);
        assert_eq!(count_operators("(NOT (hashed SubPlan 1))"), 0.0);
        assert_eq!(count_operators("(NOT (SubPlan 1))"), 1.0);
        assert_eq!(count_operators("(l_shipmode = ANY ('{MAIL,AIR}'::bpchar[]))"), 2.0);
        let out = vec!["PARTIAL sum(a)".to_string(), "PARTIAL count(*)".into(), "d.grp".into(), "max((a + b))".into()];
        assert_eq!(count_aggregates(&out), 3);
        assert_eq!(count_aggregates(&["fsum(x)".to_string()]), 0);
    }
}
