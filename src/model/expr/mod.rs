//! Classify the expressions PostgreSQL prints in a plan (EXPLAIN VERBOSE `Output`, `Filter`,
//! `Hash Cond`, `Sort Key`) into the operator and aggregate classes whose per-row cost differs:
//! by-value integer/float/date arithmetic and comparison; numeric comparison, arithmetic and
//! casts; date vs timestamp[tz] (the cross-type operators PostgreSQL uses without a cast);
//! text/bpchar equality, ordering and LIKE; `= ANY(array)` linear or hashed; aggregate
//! transitions per function and argument type. Column types come from the scenario's tables.
//!
//! The texts are PostgreSQL's own deparse (ruleutils.c): binary operators are parenthesised,
//! casts are `(expr)::type` or `'const'::type`. Anything this parser does not understand is
//! returned as "unclassified" (priced generically) and never an error.

mod parse;

use crate::model::schema::{Column, TypeClass};
use crate::model::Table;
use parse::{tokenize, Parser};

/// An operator or function class with its own per-call price (hardware `[costs]` op_* keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpClass {
    /// By-value compare or arithmetic: int2/4/8, float4/8, bool, oid, date vs date,
    /// timestamp vs timestamp; also NULL tests.
    Int,
    NumericCmp,
    NumericArith,
    /// What a numeric comparison or sum costs more when its value has three or more
    /// base-10000 digits (counted by the share of such values; arithmetic costs the same).
    NumericLong,
    /// A per-row cast to or from numeric (int4_numeric, numeric_int4: palloc).
    NumericCast,
    /// date vs timestamp (date_le_timestamp & co: the date scaled to microseconds).
    DateTimestamp,
    /// date or timestamp vs timestamptz (time-zone conversion per call).
    DateTimestampTz,
    TextEq,
    BpcharEq,
    /// text ordering through the collation (varstr_cmp -> strcoll).
    TextCmp,
    Like,
    /// The hash lookup of a hashed `= ANY(const array)` of >= 9 elements.
    HashedSaop,
    /// A function or operator pqsim cannot price.
    Generic,
}

/// Aggregate transition classes (pg_aggregate.dat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggClass {
    CountStar,
    Count,
    SumInt,
    SumInt8,
    SumFloat,
    SumNumeric,
    MinMax,
    MinMaxVarlena,
    Generic,
}

/// What evaluating one expression once costs, by class, and which columns it reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classified {
    /// Operator classes and calls per evaluation (sorted by class).
    pub ops: Vec<(OpClass, f64)>,
    /// (index into the scope's tables, attnum 1-based) of every column referenced.
    pub columns: Vec<(usize, usize)>,
    /// Pieces priced as `OpClass::Generic` (reported once on stderr by the caller).
    pub unclassified: Vec<String>,
}

impl Classified {
    fn add(&mut self, c: OpClass, n: f64) {
        match self.ops.iter_mut().find(|(k, _)| *k == c) {
            Some((_, m)) => *m += n,
            None => {
                self.ops.push((c, n));
                self.ops.sort_by_key(|a| a.0);
            }
        }
    }

    /// Calls of class `c` per evaluation.
    pub fn count(&self, c: OpClass) -> f64 {
        self.ops.iter().filter(|(k, _)| *k == c).map(|(_, n)| n).sum()
    }

    pub fn merge(&mut self, o: &Classified) {
        for (c, n) in &o.ops {
            self.add(*c, *n);
        }
        for col in &o.columns {
            if !self.columns.contains(col) {
                self.columns.push(*col);
            }
        }
        self.unclassified.extend(o.unclassified.iter().cloned());
    }
}

/// The relations whose columns an expression may name.
pub struct Scope<'a> {
    pub tables: Vec<&'a Table>,
}

impl<'a> Scope<'a> {
    pub fn new(tables: Vec<&'a Table>) -> Scope<'a> {
        Scope { tables }
    }

    /// Resolve `a`, `t.a` or `schema.t.a` to (table index, attnum, column).
    pub fn resolve(&self, name: &str) -> Option<(usize, usize, &'a Column)> {
        let name = name.trim_matches('"');
        let mut parts: Vec<&str> = name.split('.').map(|p| p.trim_matches('"')).collect();
        let col = parts.pop()?;
        let qual = parts.pop();
        let find =
            |ti: usize, t: &'a Table| t.columns.iter().position(|c| c.name == col).map(|i| (ti, i + 1, &t.columns[i]));
        if let Some(q) = qual {
            if let Some(r) = self.tables.iter().enumerate().filter(|(_, t)| t.name == q).find_map(|(i, t)| find(i, t)) {
                return Some(r);
            }
        }
        self.tables.iter().enumerate().find_map(|(i, t)| find(i, t))
    }
}

fn parse(text: &str, scope: &Scope) -> Option<Classified> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Some(Classified::default());
    }
    let mut p = Parser::new(toks, scope);
    p.expr()?;
    if p.pos != p.toks.len() {
        return None;
    }
    Some(p.out)
}

/// Classify one expression as EXPLAIN VERBOSE prints it. A text the parser does not understand
/// is one `Generic` call, with the text in `unclassified`.
pub fn classify(text: &str, scope: &Scope) -> Classified {
    parse(text, scope).unwrap_or_else(|| Classified {
        ops: vec![(OpClass::Generic, 1.0)],
        columns: columns_mentioned(text, scope),
        unclassified: vec![text.to_string()],
    })
}

/// The top-level AND-ed clauses of a qual, each classified (PostgreSQL evaluates them in
/// order and stops at the first false one: execExpr.c:ExecInitQual).
pub fn classify_qual(text: &str, scope: &Scope) -> Vec<Classified> {
    split_and(text).iter().map(|c| classify(c, scope)).collect()
}

/// Split `((a) AND (b) AND (c))` into `(a)`, `(b)`, `(c)`; a single clause stays whole.
pub fn split_and(text: &str) -> Vec<String> {
    let t = text.trim();
    let inner = strip_outer_parens(t);
    let mut parts = vec![];
    let mut depth = 0i32;
    let mut start = 0;
    let mut quoted = false;
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b' ' if !quoted && depth == 0 && inner[i..].starts_with(" AND ") => {
                parts.push(inner[start..i].to_string());
                start = i + 5;
                i += 4;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return vec![t.to_string()];
    }
    parts.push(inner[start..].to_string());
    parts
}

/// `(x)` -> `x` when the parentheses enclose the whole text.
pub fn strip_outer_parens(t: &str) -> &str {
    if !(t.starts_with('(') && t.ends_with(')')) {
        return t;
    }
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, ch) in t.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 && i + 1 < t.len() {
                    return t;
                }
            }
            _ => {}
        }
    }
    &t[1..t.len() - 1]
}

/// Columns named anywhere in a text the parser could not read (for the deform bound).
fn columns_mentioned(text: &str, scope: &Scope) -> Vec<(usize, usize)> {
    let mut out = vec![];
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')) {
        if w.is_empty() {
            continue;
        }
        if let Some((ti, a, _)) = scope.resolve(w) {
            if !out.contains(&(ti, a)) {
                out.push((ti, a));
            }
        }
    }
    out
}

/// Classify an aggregate call as VERBOSE prints it in an Aggregate's `Output`
/// (`sum(l_quantity)`, `PARTIAL sum(t.val)`, `count(*)`, `(PARTIAL count(*))`). Returns the
/// transition class and the argument expression's own cost; None when the text is not an
/// aggregate call (a grouping column).
pub fn classify_aggregate(text: &str, scope: &Scope) -> Option<(AggClass, Classified)> {
    let mut t = strip_outer_parens(text.trim()).trim();
    if let Some(rest) = t.strip_prefix("PARTIAL ") {
        t = rest.trim();
    }
    let open = t.find('(')?;
    let name = t[..open].trim().to_ascii_lowercase();
    let name = name.rsplit('.').next().unwrap_or(&name).to_string();
    if !is_aggregate_name(&name) {
        return None;
    }
    let close = t.rfind(')')?;
    if close < open {
        return None;
    }
    let arg = t[open + 1..close].trim();
    let arg = arg.strip_prefix("DISTINCT ").unwrap_or(arg);
    if name == "count" && (arg == "*" || arg.is_empty()) {
        return Some((AggClass::CountStar, Classified::default()));
    }
    classify_aggregate_call(&name, arg, scope)
}

/// Every aggregate call in an Aggregate's output entry, wherever it sits: the entry itself
/// (`sum(x)`, `PARTIAL count(*)`) or each call inside an expression over them (Q14's
/// `((100.00 * sum(CASE ... END)) / sum(...))`, `sum(a) / count(*)`), each classified as
/// [`classify_aggregate`] does. PostgreSQL runs every call's transition and its argument per
/// input row, and the expression around them once per group. Empty for a grouping key.
pub fn classify_aggregates(text: &str, scope: &Scope) -> Vec<(AggClass, Classified)> {
    aggregate_calls(text).into_iter().filter_map(|call| classify_aggregate(call, scope)).collect()
}

/// What identifies an aggregate call's transition state for sharing: PostgreSQL computes
/// identical calls once and lets calls with the same transition function over the same
/// inputs share one state, running the transition once a row (optimizer/prep/prepagg.c,
/// `find_compatible_agg` / `find_compatible_trans`). Among the aggregates pqsim prices, `sum`
/// and `avg` of numeric share `numeric_avg_accum` and of int8 `int8_avg_accum`
/// (pg_aggregate.dat): Q1's `sum(l_quantity)` and `avg(l_quantity)` are one transition.
/// Other pairs (sum and avg of int4 or float8, min and max) have their own functions.
pub fn transition_key(call: &str, class: AggClass) -> String {
    let t = strip_outer_parens(call.trim()).trim();
    let t = t.strip_prefix("PARTIAL ").unwrap_or(t).trim();
    let (name, arg) = match (t.find('('), t.rfind(')')) {
        (Some(o), Some(c)) if c > o => (t[..o].trim().to_ascii_lowercase(), t[o + 1..c].trim()),
        _ => (t.to_ascii_lowercase(), ""),
    };
    let name = name.rsplit('.').next().unwrap_or(&name).to_string();
    let arg = strip_outer_parens(arg).trim();
    let function = match class {
        AggClass::SumNumeric if name == "sum" || name == "avg" => "numeric_avg_accum".to_string(),
        AggClass::SumInt8 if name == "sum" || name == "avg" => "int8_avg_accum".to_string(),
        _ => format!("{name}/{class:?}"),
    };
    format!("{function}({arg})")
}

/// The aggregate calls in `text` (`name(...)` with a name of [`is_aggregate_name`], outside
/// quotes, parentheses balanced), in order. Aggregate calls do not nest in SQL, so each
/// call's argument is not searched again.
pub fn aggregate_calls(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            // Skip a quoted literal ('' inside is two quotes in a row: the loop resumes there).
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == b'_') || (i > 0 && (ident(b[i - 1]) || b[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        // An identifier, possibly schema-qualified (pg_catalog.sum).
        let start = i;
        while i < b.len() && (ident(b[i]) || b[i] == b'.') {
            i += 1;
        }
        let name = text[start..i].rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        let mut j = i;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j >= b.len() || b[j] != b'(' || !is_aggregate_name(&name) {
            continue;
        }
        let Some(close) = matching_paren(text, j) else { break };
        out.push(&text[start..=close]);
        i = close + 1;
    }
    out
}

/// The index of the `)` that closes the `(` at `open` (quotes skipped); None if unbalanced.
pub fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quoted = false;
    for (k, ch) in text[open..].char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `name` (lower case, unqualified) is an aggregate function pqsim knows.
fn is_aggregate_name(name: &str) -> bool {
    let known = ["count", "sum", "avg", "min", "max"];
    let generic = [
        "string_agg",
        "array_agg",
        "stddev",
        "stddev_samp",
        "stddev_pop",
        "variance",
        "var_samp",
        "var_pop",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "corr",
        "covar_pop",
        "covar_samp",
        "regr_slope",
        "percentile_cont",
        "percentile_disc",
        "mode",
    ];
    known.contains(&name) || generic.contains(&name)
}

/// An aggregate call `name(arg)` (name lower case, not count(*)): its class by the
/// argument's type and the argument's own cost.
fn classify_aggregate_call(name: &str, arg: &str, scope: &Scope) -> Option<(AggClass, Classified)> {
    let name = name.to_string();
    // The argument's own cost (and its type, through a typed parse of `arg`).
    let mut p = Parser::new(tokenize(arg).unwrap_or_default(), scope);
    let ty = if p.toks.is_empty() { None } else { p.expr().filter(|_| p.pos == p.toks.len()) };
    let argc = match ty {
        Some(_) => p.out,
        None => classify(arg, scope),
    };
    let class = ty.and_then(|t| t.class);
    let mut argc = argc;
    if let Some(t) = ty.filter(|t| t.class == Some(TypeClass::Numeric) && t.long > 0.0) {
        // Summing long numerics costs more per row (`op_numeric_long_ns`, as comparing them).
        if matches!(name.as_str(), "sum" | "avg") {
            argc.add(OpClass::NumericLong, t.long);
        }
    }
    use TypeClass::*;
    let agg = match (name.as_str(), class) {
        ("count", _) => AggClass::Count,
        ("sum" | "avg", Some(Int)) => {
            // int8 (8-byte) sums use an int128 state; int2/int4 an int8 by value.
            if int8_arg(arg, scope) {
                AggClass::SumInt8
            } else {
                AggClass::SumInt
            }
        }
        ("sum" | "avg", Some(Float)) => AggClass::SumFloat,
        ("sum" | "avg", Some(Numeric)) => AggClass::SumNumeric,
        ("min" | "max", Some(Int | Float | Date | Timestamp | TimestampTz | Bool)) => AggClass::MinMax,
        ("min" | "max", Some(Numeric | Text | Bpchar)) => AggClass::MinMaxVarlena,
        _ => AggClass::Generic,
    };
    Some((agg, argc))
}

/// Whether an integer aggregate argument is 8 bytes wide (a bigint column, or arithmetic on one).
fn int8_arg(arg: &str, scope: &Scope) -> bool {
    columns_mentioned(arg, scope)
        .iter()
        .any(|(ti, a)| scope.tables.get(*ti).and_then(|t| t.columns.get(a - 1)).is_some_and(|c| c.attlen == 8))
}

#[cfg(test)]
mod tests;
