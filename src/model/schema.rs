//! Columns as PostgreSQL knows them (pg_attribute, pg_type, pg_stats) and what deforming a heap
//! tuple up to a column costs (execTuples.c:slot_deform_heap_tuple).
//!
//! Deforming walks the attributes from the first one to the last one a node needs. While the
//! row is "fast" each attribute's offset comes from the tuple descriptor's cache
//! (`attcacheoff`); after the first variable-length attribute, or after the first attribute
//! that is NULL in this very row, every further attribute needs an alignment step and a length
//! step (tupmacs.h:att_align_pointer, att_addlength_pointer): the "slow" price.

/// What an attribute's type is, for pricing the operators and aggregates applied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    Bool,
    /// int2, int4, int8, oid.
    Int,
    /// float4, float8.
    Float,
    Numeric,
    Date,
    /// timestamp without time zone (and time).
    Timestamp,
    TimestampTz,
    /// character(n): blank-padded.
    Bpchar,
    /// text, varchar, name-like varlena strings.
    Text,
    /// Anything else (arrays, json, bytea, user types): priced generically.
    Other,
}

/// Storage facts of a type (pg_type.typlen, typalign, typbyval) and its pricing class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeInfo {
    /// Fixed length in bytes, -1 for varlena, -2 for cstring.
    pub attlen: i16,
    /// Alignment in bytes: 1 (c), 2 (s), 4 (i), 8 (d).
    pub attalign: u8,
    pub byval: bool,
    pub class: TypeClass,
}

/// One column of a table, in attnum order.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// The type as format_type() prints it ("numeric(15,2)", "character varying(44)", "date").
    pub type_name: String,
    pub attlen: i16,
    pub attalign: u8,
    pub byval: bool,
    pub class: TypeClass,
    /// Average stored width in bytes (pg_stats.avg_width).
    pub avg_width: f64,
    /// Fraction of rows where the column is NULL (pg_stats.null_frac).
    pub null_frac: f64,
    /// How well the table's physical row order follows the column's sort order, -1 to 1
    /// (pg_stats.correlation); None when not known.
    pub correlation: Option<f64>,
    /// Distinct values as pg_stats.n_distinct gives them: a count when positive, minus a
    /// fraction of the rows when negative (-1: every row its own value); None when not known.
    pub n_distinct: Option<f64>,
}

/// Strip a type modifier and array brackets' absence: "numeric(15,2)" -> "numeric".
fn base_name(t: &str) -> String {
    let t = t.trim().to_ascii_lowercase();
    let t = t.strip_prefix("pg_catalog.").unwrap_or(&t).to_string();
    match t.find('(') {
        Some(i) => {
            // "timestamp(3) without time zone": keep what follows the modifier.
            let close = t[i..].find(')').map(|j| i + j + 1).unwrap_or(t.len());
            format!("{}{}", t[..i].trim_end(), &t[close..]).trim().to_string()
        }
        None => t.trim().to_string(),
    }
}

/// The length of a `character(n)` / `varchar(n)` / `numeric(p,s)` modifier's first number.
fn modifier(t: &str) -> Option<f64> {
    let i = t.find('(')?;
    let rest = &t[i + 1..];
    let end = rest.find([',', ')'])?;
    rest[..end].trim().parse().ok()
}

/// Storage and pricing class of a PostgreSQL type name, with the usual aliases.
pub fn type_info(type_name: &str) -> TypeInfo {
    use TypeClass::*;
    let fixed = |attlen: i16, attalign: u8, class| TypeInfo { attlen, attalign, byval: true, class };
    let var = |class| TypeInfo { attlen: -1, attalign: 4, byval: false, class };
    let b = base_name(type_name);
    if b.ends_with("[]") {
        return var(Other);
    }
    match b.as_str() {
        "bool" | "boolean" => fixed(1, 1, Bool),
        "int2" | "smallint" => fixed(2, 2, Int),
        "int4" | "integer" | "int" | "oid" => fixed(4, 4, Int),
        "int8" | "bigint" => fixed(8, 8, Int),
        "float4" | "real" => fixed(4, 4, Float),
        "float8" | "double precision" => fixed(8, 8, Float),
        "numeric" | "decimal" => var(Numeric),
        "date" => fixed(4, 4, Date),
        "timestamp" | "timestamp without time zone" | "time" | "time without time zone" => fixed(8, 8, Timestamp),
        "timestamptz" | "timestamp with time zone" => fixed(8, 8, TimestampTz),
        "bpchar" | "char" | "character" => var(Bpchar),
        "\"char\"" => fixed(1, 1, Bpchar),
        "text" | "varchar" | "character varying" | "citext" => var(Text),
        "name" => TypeInfo { attlen: 64, attalign: 1, byval: false, class: Text },
        "uuid" => TypeInfo { attlen: 16, attalign: 1, byval: false, class: Other },
        "interval" => TypeInfo { attlen: 16, attalign: 8, byval: false, class: Other },
        "cstring" => TypeInfo { attlen: -2, attalign: 1, byval: false, class: Other },
        _ => var(Other),
    }
}

impl Column {
    /// A column of `type_name`; `avg_width` defaults to the type's length, or for varlena
    /// types to a guess from the modifier (char(n): n + 1, varchar(n): n / 2 + 1, numeric: 8).
    pub fn new(name: &str, type_name: &str, avg_width: Option<f64>, null_frac: f64) -> Column {
        let info = type_info(type_name);
        let guess = if info.attlen > 0 {
            f64::from(info.attlen)
        } else {
            let n = modifier(&type_name.to_ascii_lowercase());
            match info.class {
                TypeClass::Bpchar => n.unwrap_or(1.0) + 1.0,
                TypeClass::Text => n.map_or(32.0, |n| (n / 2.0).ceil() + 1.0),
                TypeClass::Numeric => 8.0,
                _ => 32.0,
            }
        };
        Column {
            name: name.to_string(),
            type_name: type_name.to_string(),
            attlen: info.attlen,
            attalign: info.attalign,
            byval: info.byval,
            class: info.class,
            avg_width: avg_width.unwrap_or(guess),
            null_frac: null_frac.clamp(0.0, 1.0),
            correlation: None,
            n_distinct: None,
        }
    }

    /// The same column with its pg_stats.correlation (clamped to -1..1).
    pub fn with_correlation(mut self, correlation: Option<f64>) -> Column {
        self.correlation = correlation.filter(|c| c.is_finite()).map(|c| c.clamp(-1.0, 1.0));
        self
    }

    /// The same column with its pg_stats.n_distinct (0, not finite or below -1: not known).
    pub fn with_n_distinct(mut self, n_distinct: Option<f64>) -> Column {
        self.n_distinct = n_distinct.filter(|n| n.is_finite() && *n != 0.0 && *n >= -1.0);
        self
    }

    /// Distinct values among a table's `rows` (`n_distinct` resolved), None when not known.
    pub fn distinct(&self, rows: f64) -> Option<f64> {
        self.n_distinct.map(|n| if n > 0.0 { n } else { -n * rows })
    }

    pub fn is_varlena(&self) -> bool {
        self.attlen < 0
    }
}

/// Attributes deformed to reach attribute `upto` (1-based), split into those priced at the
/// cached-offset rate and those at the slow rate, in expectation over rows: a row turns slow
/// after its first varlena attribute, or after its first attribute that is NULL in that row
/// (each column NULL independently with its null_frac).
pub fn deform_counts(columns: &[Column], upto: usize) -> (f64, f64) {
    let upto = upto.min(columns.len());
    let mut fast = 0.0;
    let mut slow = 0.0;
    // Probability the row is still fast when reaching attribute i.
    let mut p_fast = 1.0;
    for c in &columns[..upto] {
        fast += p_fast;
        slow += 1.0 - p_fast;
        if c.is_varlena() {
            p_fast = 0.0;
        }
        p_fast *= 1.0 - c.null_frac;
    }
    (fast, slow)
}

/// The sum of the columns' average widths (the row's data width).
pub fn row_width(columns: &[Column]) -> f64 {
    columns.iter().map(|c| c.avg_width).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_have_postgres_storage() {
        assert_eq!(type_info("bigint").attlen, 8);
        assert_eq!(type_info("integer").attalign, 4);
        assert_eq!(type_info("numeric(15,2)").attlen, -1);
        assert_eq!(type_info("numeric(15,2)").class, TypeClass::Numeric);
        assert_eq!(type_info("character(25)").class, TypeClass::Bpchar);
        assert_eq!(type_info("character varying(44)").class, TypeClass::Text);
        assert_eq!(type_info("timestamp(3) without time zone").class, TypeClass::Timestamp);
        assert_eq!(type_info("timestamp with time zone").class, TypeClass::TimestampTz);
        assert!(type_info("date").byval);
        assert!(!type_info("text").byval);
        assert_eq!(type_info("integer[]").class, TypeClass::Other);
    }

    #[test]
    fn widths_default_from_type() {
        assert_eq!(Column::new("a", "character(10)", None, 0.0).avg_width, 11.0);
        assert_eq!(Column::new("a", "bigint", None, 0.0).avg_width, 8.0);
        assert_eq!(Column::new("a", "numeric", Some(5.0), 0.0).avg_width, 5.0);
    }

    #[test]
    fn rows_turn_slow_after_the_first_varlena() {
        let cols = vec![
            Column::new("k", "bigint", None, 0.0),
            Column::new("q", "numeric", None, 0.0),
            Column::new("d", "date", None, 0.0),
            Column::new("e", "date", None, 0.0),
        ];
        // k and q are reached with cached offsets; d and e after the varlena q are slow.
        assert_eq!(deform_counts(&cols, 4), (2.0, 2.0));
        assert_eq!(deform_counts(&cols, 1), (1.0, 0.0));
        // Capped at the tuple's attribute count.
        assert_eq!(deform_counts(&cols, 9), (2.0, 2.0));
    }

    #[test]
    fn nulls_make_rows_slow_in_expectation() {
        let cols = vec![Column::new("a", "int4", None, 0.5), Column::new("b", "int4", None, 0.0)];
        let (fast, slow) = deform_counts(&cols, 2);
        assert!((fast - 1.5).abs() < 1e-12 && (slow - 0.5).abs() < 1e-12);
    }
}
