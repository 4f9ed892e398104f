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

use super::schema::{Column, TypeClass};
use super::Table;

/// An operator or function class with its own per-call price (hardware `[costs]` op_* keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpClass {
    /// By-value compare or arithmetic: int2/4/8, float4/8, bool, oid, date vs date,
    /// timestamp vs timestamp; also NULL tests.
    Int,
    NumericCmp,
    NumericArith,
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
                self.ops.sort_by(|a, b| a.0.cmp(&b.0));
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
    fn resolve(&self, name: &str) -> Option<(usize, usize, &'a Column)> {
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

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Cast,
    Word(String),
    Str(String),
    Num(String),
    Op(String),
    Param,
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    if i >= c.len() {
                        return None;
                    }
                    if c[i] == '\'' {
                        if i + 1 < c.len() && c[i + 1] == '\'' {
                            v.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    v.push(c[i]);
                    i += 1;
                }
                out.push(Tok::Str(v));
            }
            '$' => {
                i += 1;
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Param);
            }
            ':' if i + 1 < c.len() && c[i + 1] == ':' => {
                out.push(Tok::Cast);
                i += 2
            }
            d if d.is_ascii_digit() => {
                let st = i;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.' || c[i] == 'e' || c[i] == 'E') {
                    i += 1;
                }
                out.push(Tok::Num(c[st..i].iter().collect()));
            }
            a if a.is_alphabetic() || a == '_' || a == '"' => {
                let st = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.' || c[i] == '"') {
                    i += 1;
                }
                out.push(Tok::Word(c[st..i].iter().collect()));
            }
            _ => {
                let st = i;
                let opch = "+-*/<>=~!@#%^&|`?";
                while i < c.len() && opch.contains(c[i]) {
                    i += 1;
                }
                if i == st {
                    return None;
                }
                out.push(Tok::Op(c[st..i].iter().collect()));
            }
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Parser: a typed walk that accumulates costs as it goes
// ---------------------------------------------------------------------------------------

/// The type of a sub-expression as far as pricing needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ty {
    class: Option<TypeClass>,
    /// For arrays: element count of a constant array, if known.
    array: Option<Option<usize>>,
}

const UNKNOWN: Ty = Ty { class: None, array: None };

fn scalar(c: TypeClass) -> Ty {
    Ty { class: Some(c), array: None }
}

struct Parser<'s, 'a> {
    toks: Vec<Tok>,
    pos: usize,
    scope: &'s Scope<'a>,
    out: Classified,
    depth: usize,
}

fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Option<()> {
        (self.next()? == t).then_some(())
    }

    fn expr(&mut self) -> Option<Ty> {
        self.depth += 1;
        if self.depth > 200 {
            return None;
        }
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    fn or_expr(&mut self) -> Option<Ty> {
        let mut t = self.and_expr()?;
        while is_word(self.peek(), "OR") {
            self.next();
            self.and_expr()?;
            t = scalar(TypeClass::Bool);
        }
        Some(t)
    }

    fn and_expr(&mut self) -> Option<Ty> {
        let mut t = self.not_expr()?;
        while is_word(self.peek(), "AND") {
            self.next();
            self.not_expr()?;
            t = scalar(TypeClass::Bool);
        }
        Some(t)
    }

    fn not_expr(&mut self) -> Option<Ty> {
        if is_word(self.peek(), "NOT") {
            self.next();
            self.not_expr()?;
            return Some(scalar(TypeClass::Bool));
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Option<Ty> {
        let l = self.add_expr()?;
        if is_word(self.peek(), "IS") {
            self.next();
            if is_word(self.peek(), "NOT") {
                self.next();
            }
            match self.next()? {
                Tok::Word(w) if ["NULL", "TRUE", "FALSE", "UNKNOWN"].iter().any(|x| w.eq_ignore_ascii_case(x)) => {}
                _ => return None,
            }
            self.out.add(OpClass::Int, 1.0);
            return Some(scalar(TypeClass::Bool));
        }
        let op = match self.peek() {
            Some(Tok::Op(o)) if is_comparison(o) => o.clone(),
            _ => return Some(l),
        };
        self.next();
        if is_word(self.peek(), "ANY") || is_word(self.peek(), "ALL") {
            self.next();
            self.expect(Tok::LParen)?;
            let arr = self.expr()?;
            self.expect(Tok::RParen)?;
            self.saop(&op, l, arr);
            return Some(scalar(TypeClass::Bool));
        }
        let r = self.add_expr()?;
        self.binary(&op, l, r);
        Some(scalar(TypeClass::Bool))
    }

    fn add_expr(&mut self) -> Option<Ty> {
        let mut l = self.mul_expr()?;
        while let Some(Tok::Op(o)) = self.peek() {
            if o != "+" && o != "-" && o != "||" {
                break;
            }
            let o = o.clone();
            self.next();
            let r = self.mul_expr()?;
            l = self.binary(&o, l, r);
        }
        Some(l)
    }

    fn mul_expr(&mut self) -> Option<Ty> {
        let mut l = self.unary()?;
        while let Some(Tok::Op(o)) = self.peek() {
            if o != "*" && o != "/" && o != "%" {
                break;
            }
            let o = o.clone();
            self.next();
            let r = self.unary()?;
            l = self.binary(&o, l, r);
        }
        Some(l)
    }

    fn unary(&mut self) -> Option<Ty> {
        if let Some(Tok::Op(o)) = self.peek() {
            if o == "-" || o == "+" {
                self.next();
                return self.unary();
            }
        }
        let mut t = self.primary()?;
        while self.peek() == Some(&Tok::Cast) {
            self.next();
            let (to, is_array) = self.type_name()?;
            t = self.cast(t, to, is_array);
        }
        // Array subscript.
        while self.peek() == Some(&Tok::LBracket) {
            self.next();
            self.expr()?;
            self.expect(Tok::RBracket)?;
            t = Ty { class: t.class, array: None };
        }
        Some(t)
    }

    /// A type name after `::`: words, an optional modifier, optional `[]`.
    fn type_name(&mut self) -> Option<(Option<TypeClass>, bool)> {
        let mut name = match self.next()? {
            Tok::Word(w) => w,
            _ => return None,
        };
        let more = ["without", "with", "time", "zone", "varying", "precision"];
        loop {
            match self.peek() {
                Some(Tok::Word(w)) if more.iter().any(|m| w.eq_ignore_ascii_case(m)) => {
                    name.push(' ');
                    name.push_str(w);
                    self.next();
                }
                Some(Tok::LParen) => {
                    // Modifier: (n) or (p,s).
                    self.next();
                    while !matches!(self.peek(), Some(Tok::RParen) | None) {
                        self.next();
                    }
                    self.expect(Tok::RParen)?;
                }
                _ => break,
            }
        }
        let mut is_array = false;
        while self.peek() == Some(&Tok::LBracket) && self.peek_at(1) == Some(&Tok::RBracket) {
            self.pos += 2;
            is_array = true;
        }
        let info = super::schema::type_info(&name);
        let class = if info.class == TypeClass::Other { None } else { Some(info.class) };
        Some((class, is_array))
    }

    fn primary(&mut self) -> Option<Ty> {
        match self.next()? {
            Tok::LParen => {
                let t = self.expr()?;
                // A row constructor or list: (a, b)
                while self.peek() == Some(&Tok::Comma) {
                    self.next();
                    self.expr()?;
                }
                self.expect(Tok::RParen)?;
                Some(t)
            }
            Tok::Str(s) => {
                Some(Ty { class: None, array: if s.starts_with('{') { Some(Some(array_len(&s))) } else { None } })
            }
            Tok::Num(n) => Some(scalar(if n.contains(['.', 'e', 'E']) { TypeClass::Numeric } else { TypeClass::Int })),
            Tok::Param => Some(UNKNOWN),
            Tok::Op(o) if o == "*" => Some(UNKNOWN),
            Tok::Word(w) => self.word(w),
            _ => None,
        }
    }

    fn word(&mut self, w: String) -> Option<Ty> {
        let lw = w.to_ascii_lowercase();
        match lw.as_str() {
            "null" => return Some(UNKNOWN),
            "true" | "false" => return Some(scalar(TypeClass::Bool)),
            "hashed" | "subplan" | "initplan" => {
                // `(hashed SubPlan 1)`, `(SubPlan 2)`: the lookup is priced by the SubPlan model;
                // the test expression's comparison (`x = id`, not printed) is one by-value call.
                while matches!(self.peek(), Some(Tok::Word(_)) | Some(Tok::Num(_))) {
                    self.next();
                }
                if lw != "initplan" {
                    self.out.add(OpClass::Int, 1.0);
                }
                return Some(scalar(TypeClass::Bool));
            }
            "case" => return self.case_expr(),
            "array" if self.peek() == Some(&Tok::LBracket) => {
                self.next();
                let mut n = 0;
                let mut elem = UNKNOWN;
                while self.peek() != Some(&Tok::RBracket) {
                    elem = self.expr()?;
                    n += 1;
                    if self.peek() == Some(&Tok::Comma) {
                        self.next();
                    }
                }
                self.next();
                return Some(Ty { class: elem.class, array: Some(Some(n)) });
            }
            "partial" | "distinct" => return self.expr(),
            _ => {}
        }
        if self.peek() == Some(&Tok::LParen) {
            return self.call(&w);
        }
        // A column reference.
        match self.scope.resolve(&w) {
            Some((ti, attnum, col)) => {
                if !self.out.columns.contains(&(ti, attnum)) {
                    self.out.columns.push((ti, attnum));
                }
                let class = if col.class == TypeClass::Other { None } else { Some(col.class) };
                let array = col.type_name.ends_with("[]").then_some(None);
                Some(Ty { class, array })
            }
            None => Some(UNKNOWN),
        }
    }

    fn case_expr(&mut self) -> Option<Ty> {
        let mut result = UNKNOWN;
        if !is_word(self.peek(), "WHEN") {
            self.expr()?;
        }
        loop {
            if is_word(self.peek(), "WHEN") {
                self.next();
                self.expr()?;
                if !is_word(self.next().as_ref(), "THEN") {
                    return None;
                }
                result = self.expr()?;
            } else if is_word(self.peek(), "ELSE") {
                self.next();
                result = self.expr()?;
            } else if is_word(self.peek(), "END") {
                self.next();
                return Some(result);
            } else {
                return None;
            }
        }
    }

    /// A function call (aggregates inside an expression are priced by `classify_aggregate`).
    fn call(&mut self, name: &str) -> Option<Ty> {
        self.expect(Tok::LParen)?;
        let mut args = vec![];
        while self.peek() != Some(&Tok::RParen) {
            args.push(self.expr()?);
            if self.peek() == Some(&Tok::Comma) {
                self.next();
            } else if self.peek() != Some(&Tok::RParen) {
                return None;
            }
        }
        self.next();
        // `agg(x) FILTER (WHERE ...)`
        if is_word(self.peek(), "FILTER") {
            self.next();
            self.expect(Tok::LParen)?;
            if is_word(self.peek(), "WHERE") {
                self.next();
            }
            self.expr()?;
            self.expect(Tok::RParen)?;
        }
        let lname = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
        let a0 = args.first().and_then(|t| t.class);
        match lname.as_str() {
            "count" => Some(scalar(TypeClass::Int)),
            "sum" | "min" | "max" => Some(Ty { class: a0, array: None }),
            "avg" => Some(scalar(if a0 == Some(TypeClass::Float) { TypeClass::Float } else { TypeClass::Numeric })),
            _ => {
                self.out.add(OpClass::Generic, 1.0);
                self.out.unclassified.push(format!("{name}()"));
                Some(UNKNOWN)
            }
        }
    }

    fn cast(&mut self, from: Ty, to: Option<TypeClass>, is_array: bool) -> Ty {
        use TypeClass::*;
        if is_array {
            return Ty { class: to, array: Some(from.array.flatten()) };
        }
        match (from.class, to) {
            // A constant ('1998-08-18'::date) or a relabel (varchar -> text) costs nothing per row.
            (None, _) => {}
            (Some(f), Some(t)) if f == t => {}
            (Some(Text), Some(Text)) | (Some(Bpchar), Some(Text)) | (Some(Text), Some(Bpchar)) => {}
            (Some(Numeric), Some(_)) | (Some(_), Some(Numeric)) => self.out.add(OpClass::NumericCast, 1.0),
            (Some(Int | Float), Some(Int | Float)) => self.out.add(OpClass::Int, 1.0),
            (Some(Date), Some(Timestamp)) | (Some(Timestamp), Some(Date)) => self.out.add(OpClass::DateTimestamp, 1.0),
            (Some(Date | Timestamp), Some(TimestampTz)) | (Some(TimestampTz), Some(Date | Timestamp)) => {
                self.out.add(OpClass::DateTimestampTz, 1.0)
            }
            (Some(f), t) => {
                self.out.add(OpClass::Generic, 1.0);
                self.out.unclassified.push(format!("cast {f:?} -> {t:?}"));
            }
        }
        Ty { class: to.or(from.class), array: None }
    }

    /// Price a binary operator from its operands' types; returns the result type.
    fn binary(&mut self, op: &str, l: Ty, r: Ty) -> Ty {
        let (class, result) = op_class(op, l.class, r.class);
        match class {
            Some(c) => self.out.add(c, 1.0),
            None => {
                self.out.add(OpClass::Generic, 1.0);
                self.out.unclassified.push(format!("operator {op} ({:?}, {:?})", l.class, r.class));
            }
        }
        result
    }

    /// `x op ANY (array)`: one call per element until a match (linear), or one hash lookup
    /// for a constant array of 9 or more elements (clauses.c:convert_saop_to_hashed_saop).
    fn saop(&mut self, op: &str, l: Ty, arr: Ty) {
        let n = arr.array.flatten();
        let elem = Ty { class: arr.class, array: None };
        match n {
            Some(n) if n >= 9 => {
                self.out.add(OpClass::HashedSaop, 1.0);
                self.binary(op, l, elem);
            }
            _ => {
                // Linear: one call per element until a match (most rows of a filter match
                // none). Inside ExecEvalScalarArrayOp an element costs about half a standalone
                // comparison clause (reference 13.2: int4 8 elements +23 ns, char(10) 3 elements
                // +52 and 8 elements +87, against +24 for one bpchar `=` clause).
                let k = 0.5 * n.unwrap_or(1).max(1) as f64;
                let (class, _) = op_class(op, l.class, elem.class);
                match class {
                    Some(c) => self.out.add(c, k),
                    None => {
                        self.out.add(OpClass::Generic, k);
                        self.out.unclassified.push(format!("{op} ANY ({:?}, {:?}[])", l.class, elem.class));
                    }
                }
            }
        }
    }
}

fn is_comparison(o: &str) -> bool {
    matches!(o, "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" | "~~" | "!~~" | "~~*" | "!~~*" | "~" | "!~" | "~*" | "!~*")
}

/// The class of `l op r`, and the result type. An untyped side (a literal without a cast,
/// a parameter) takes the other side's type, as PostgreSQL resolves unknown literals.
fn op_class(op: &str, l: Option<TypeClass>, r: Option<TypeClass>) -> (Option<OpClass>, Ty) {
    use TypeClass::*;
    let (l, r) = match (l, r) {
        (None, Some(x)) => (Some(x), Some(x)),
        (Some(x), None) => (Some(x), Some(x)),
        p => p,
    };
    let boolean = scalar(Bool);
    if matches!(op, "~~" | "!~~" | "~~*" | "!~~*" | "~" | "!~" | "~*" | "!~*") {
        return (Some(OpClass::Like), boolean);
    }
    let cmp = is_comparison(op);
    let eq = matches!(op, "=" | "<>" | "!=");
    let (Some(a), Some(b)) = (l, r) else {
        return (None, UNKNOWN);
    };
    let arith_result = |t: TypeClass| if cmp { boolean } else { scalar(t) };
    let class = match (a, b) {
        (Numeric, Numeric) => {
            if cmp {
                OpClass::NumericCmp
            } else {
                OpClass::NumericArith
            }
        }
        (Numeric, Int | Float) | (Int | Float, Numeric) => {
            // PostgreSQL casts the other side to numeric (visible in VERBOSE as ::numeric);
            // without the cast in the text, price the cast here.
            if cmp {
                OpClass::NumericCmp
            } else {
                OpClass::NumericArith
            }
        }
        (Int | Float | Bool, Int | Float | Bool)
        | (Date, Date)
        | (Timestamp, Timestamp)
        | (TimestampTz, TimestampTz) => OpClass::Int,
        (Date, Int) | (Int, Date) => OpClass::Int,
        (Date, Timestamp) | (Timestamp, Date) => OpClass::DateTimestamp,
        (Date | Timestamp, TimestampTz) | (TimestampTz, Date | Timestamp) => OpClass::DateTimestampTz,
        (Bpchar, Bpchar) if eq => OpClass::BpcharEq,
        (Text | Bpchar, Text | Bpchar) if eq => OpClass::TextEq,
        (Text | Bpchar, Text | Bpchar) if cmp => OpClass::TextCmp,
        (Text | Bpchar, Text | Bpchar) if op == "||" => return (Some(OpClass::Generic), scalar(Text)),
        _ => return (None, if cmp { boolean } else { UNKNOWN }),
    };
    let result = match (a, b) {
        (Numeric, _) | (_, Numeric) => arith_result(Numeric),
        (Date, Int) | (Int, Date) => arith_result(Date),
        (Float, _) | (_, Float) => arith_result(Float),
        _ => arith_result(a),
    };
    (Some(class), result)
}

/// Elements of an array literal `{a,b,"c d"}` (top level, no nesting).
fn array_len(s: &str) -> usize {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.trim().is_empty() {
        return 0;
    }
    let mut n = 1;
    let mut quoted = false;
    for ch in inner.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}

fn parse(text: &str, scope: &Scope) -> Option<Classified> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Some(Classified::default());
    }
    let mut p = Parser { toks, pos: 0, scope, out: Classified::default(), depth: 0 };
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
fn split_and(text: &str) -> Vec<String> {
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
fn strip_outer_parens(t: &str) -> &str {
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
    if !known.contains(&name.as_str()) && !generic.contains(&name.as_str()) {
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
    // The argument's own cost (and its type, through a typed parse of `arg`).
    let mut p = Parser { toks: tokenize(arg).unwrap_or_default(), pos: 0, scope, out: Classified::default(), depth: 0 };
    let ty = if p.toks.is_empty() { None } else { p.expr().filter(|_| p.pos == p.toks.len()) };
    let argc = match ty {
        Some(_) => p.out,
        None => classify(arg, scope),
    };
    let class = ty.and_then(|t| t.class);
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
#[path = "expr_tests.rs"]
mod tests;
