//! The schema- and expression-aware per-row CPU prices of a hardware profile (`[costs]` keys
//! `deform_*`, `project_attr_ns`, `form_attr_ns`, `op_*`, `agg_*`), in ns at cpu_speed 1.0.
//!
//! Defaults when a profile does not give a key are derived from the profile's own calibrated
//! `qual_ns` (one by-value comparison) and `agg_transition_ns` (one simple transition), plus
//! each class's extra cost measured on PostgreSQL 15.18 (2-vCPU AMD EPYC, quiet machine, serial
//! plans, `EXPLAIN (ANALYZE, TIMING OFF)`, medians of 5 over 2 M TPC-H-shaped rows: the
//! "measured extra" column below, ns per call over an integer comparison at the same deform
//! depth), scaled to the profile by `m = 2.1 × qual_ns / 8.68`: 8.68 ns is the reference-2vcpu
//! profile's calibrated qual_ns, and that profile's unit costs are 2.1× those fitted on the
//! AMD machine kind the extras were measured on.

/// One price per class; see the `[costs]` section of a hardware profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuCosts {
    pub deform_attr_ns: f64,
    pub deform_slow_attr_ns: f64,
    pub project_attr_ns: f64,
    pub form_attr_ns: f64,
    pub op_int_ns: f64,
    pub op_numeric_cmp_ns: f64,
    pub op_numeric_arith_ns: f64,
    pub op_numeric_long_ns: f64,
    pub op_numeric_cast_ns: f64,
    pub op_date_timestamp_ns: f64,
    pub op_date_timestamptz_ns: f64,
    pub op_text_eq_ns: f64,
    pub op_bpchar_eq_ns: f64,
    pub op_text_cmp_ns: f64,
    pub op_like_ns: f64,
    pub op_hashed_saop_ns: f64,
    pub op_generic_ns: f64,
    pub agg_count_star_ns: f64,
    pub agg_count_ns: f64,
    pub agg_sum_int_ns: f64,
    pub agg_sum_int8_ns: f64,
    pub agg_sum_float_ns: f64,
    pub agg_sum_numeric_ns: f64,
    pub agg_minmax_ns: f64,
    pub agg_minmax_varlena_ns: f64,
    pub agg_generic_ns: f64,
}

/// (key, measured extra in ns on the measuring machine, base: 0 = none, 1 = qual_ns,
/// 2 = agg_transition_ns). The price is `base + m × extra`.
const DERIVATION: [(&str, f64, u8); 26] = [
    // 13.1: 1.5-3 ns per deformed column; count(*) WHERE col IS NOT NULL over columns 1..16.
    ("deform_attr_ns", 2.0, 0),
    ("deform_slow_attr_ns", 2.5, 0),
    // Provisional (not measured separately): one ExecProject assignment step per column.
    ("project_attr_ns", 1.5, 0),
    // Provisional: heap_form_minimal_tuple's size and fill loops, per attribute.
    ("form_attr_ns", 3.0, 0),
    ("op_int_ns", 0.0, 1),
    ("op_numeric_cmp_ns", 15.0, 1),
    ("op_numeric_arith_ns", 44.0, 1),
    // Values of 3+ base-10000 digits over 1-2: x < 0 +41, sum(x) +37 (arithmetic on them +3)
    // on the Xeon VM of 2026-12-02 (about 1.7x the speed of the machine of the other extras).
    ("op_numeric_long_ns", 60.0, 0),
    // int4 column vs numeric literal: +29 in all = the cast + a numeric compare (+15).
    ("op_numeric_cast_ns", 14.0, 1),
    // date vs timestamp +5 over an int compare, date vs date +2 (which is op_int_ns).
    ("op_date_timestamp_ns", 3.0, 1),
    ("op_date_timestamptz_ns", 22.0, 1),
    ("op_text_eq_ns", 16.0, 1),
    ("op_bpchar_eq_ns", 24.0, 1),
    // Not measured: strcoll under C.UTF-8, taken as a LIKE scan of the string.
    ("op_text_cmp_ns", 30.0, 1),
    // LIKE '%x%' over ~40 characters +42, 'ab%' +21: the middle.
    ("op_like_ns", 30.0, 1),
    // int4 = ANY of 9 constants (hashed) +11 vs 8 linear +23: a hash and one compare.
    ("op_hashed_saop_ns", 10.0, 1),
    ("op_generic_ns", 0.0, 1),
    ("agg_count_star_ns", 0.0, 2),
    ("agg_count_ns", 0.0, 2),
    ("agg_sum_int_ns", 0.0, 2),
    // sum(int8) at column 1: 61 vs sum(int4) at column 4: 72 less 3 columns of deforming.
    ("agg_sum_int8_ns", 2.0, 2),
    // Not measured: float8_accum keeps a 3-element array state (Youngs-Cramer).
    ("agg_sum_float_ns", 3.0, 2),
    // sum(numeric) +11 over sum(int4) at the same deform depth.
    ("agg_sum_numeric_ns", 11.0, 2),
    ("agg_minmax_ns", 0.0, 2),
    // min/max(numeric): cmp_numerics per row, as a numeric comparison.
    ("agg_minmax_varlena_ns", 15.0, 2),
    ("agg_generic_ns", 0.0, 2),
];

/// reference-2vcpu's calibrated qual_ns, and its unit costs over the measuring machine's.
const ANCHOR_QUAL_NS: f64 = 8.68;
const ANCHOR_SCALE: f64 = 2.1;

impl CpuCosts {
    /// The key names, in the order a profile lists them.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        DERIVATION.iter().map(|d| d.0)
    }

    /// Defaults derived from a profile's `qual_ns` and `agg_transition_ns` (module docs).
    pub fn derived(qual_ns: f64, agg_transition_ns: f64) -> CpuCosts {
        let m = ANCHOR_SCALE * qual_ns / ANCHOR_QUAL_NS;
        let mut c = CpuCosts::zero();
        for (k, extra, base) in DERIVATION {
            let b = match base {
                1 => qual_ns,
                2 => agg_transition_ns,
                _ => 0.0,
            };
            if let Some(v) = c.get_mut(k) {
                *v = b + m * extra;
            }
        }
        c
    }

    pub fn zero() -> CpuCosts {
        CpuCosts {
            deform_attr_ns: 0.0,
            deform_slow_attr_ns: 0.0,
            project_attr_ns: 0.0,
            form_attr_ns: 0.0,
            op_int_ns: 0.0,
            op_numeric_cmp_ns: 0.0,
            op_numeric_arith_ns: 0.0,
            op_numeric_long_ns: 0.0,
            op_numeric_cast_ns: 0.0,
            op_date_timestamp_ns: 0.0,
            op_date_timestamptz_ns: 0.0,
            op_text_eq_ns: 0.0,
            op_bpchar_eq_ns: 0.0,
            op_text_cmp_ns: 0.0,
            op_like_ns: 0.0,
            op_hashed_saop_ns: 0.0,
            op_generic_ns: 0.0,
            agg_count_star_ns: 0.0,
            agg_count_ns: 0.0,
            agg_sum_int_ns: 0.0,
            agg_sum_int8_ns: 0.0,
            agg_sum_float_ns: 0.0,
            agg_sum_numeric_ns: 0.0,
            agg_minmax_ns: 0.0,
            agg_minmax_varlena_ns: 0.0,
            agg_generic_ns: 0.0,
        }
    }

    /// The price named `key` (`op_numeric_arith_ns`, ...), for profiles, `--hw` and calibration.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut f64> {
        Some(match key {
            "deform_attr_ns" => &mut self.deform_attr_ns,
            "deform_slow_attr_ns" => &mut self.deform_slow_attr_ns,
            "project_attr_ns" => &mut self.project_attr_ns,
            "form_attr_ns" => &mut self.form_attr_ns,
            "op_int_ns" => &mut self.op_int_ns,
            "op_numeric_cmp_ns" => &mut self.op_numeric_cmp_ns,
            "op_numeric_arith_ns" => &mut self.op_numeric_arith_ns,
            "op_numeric_long_ns" => &mut self.op_numeric_long_ns,
            "op_numeric_cast_ns" => &mut self.op_numeric_cast_ns,
            "op_date_timestamp_ns" => &mut self.op_date_timestamp_ns,
            "op_date_timestamptz_ns" => &mut self.op_date_timestamptz_ns,
            "op_text_eq_ns" => &mut self.op_text_eq_ns,
            "op_bpchar_eq_ns" => &mut self.op_bpchar_eq_ns,
            "op_text_cmp_ns" => &mut self.op_text_cmp_ns,
            "op_like_ns" => &mut self.op_like_ns,
            "op_hashed_saop_ns" => &mut self.op_hashed_saop_ns,
            "op_generic_ns" => &mut self.op_generic_ns,
            "agg_count_star_ns" => &mut self.agg_count_star_ns,
            "agg_count_ns" => &mut self.agg_count_ns,
            "agg_sum_int_ns" => &mut self.agg_sum_int_ns,
            "agg_sum_int8_ns" => &mut self.agg_sum_int8_ns,
            "agg_sum_float_ns" => &mut self.agg_sum_float_ns,
            "agg_sum_numeric_ns" => &mut self.agg_sum_numeric_ns,
            "agg_minmax_ns" => &mut self.agg_minmax_ns,
            "agg_minmax_varlena_ns" => &mut self.agg_minmax_varlena_ns,
            "agg_generic_ns" => &mut self.agg_generic_ns,
            _ => return None,
        })
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.clone().get_mut(key).map(|v| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_addressable_and_derived() {
        let c = CpuCosts::derived(8.68, 10.34);
        for k in CpuCosts::keys() {
            assert!(c.get(k).is_some(), "{k}");
        }
        assert_eq!(c.op_int_ns, 8.68);
        assert!((c.op_numeric_arith_ns - (8.68 + 2.1 * 44.0)).abs() < 1e-9);
        assert!(c.agg_sum_numeric_ns > c.agg_sum_int_ns);
        assert!(c.op_date_timestamp_ns > c.op_int_ns);
    }
}
