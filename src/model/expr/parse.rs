//! The tokenizer and the typed recursive-descent parser of PostgreSQL's deparsed expressions
//! (ruleutils.c), accumulating operator classes as it walks.

use super::{Classified, OpClass, Scope};
use crate::model::schema::TypeClass;

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn tokenize(s: &str) -> Option<Vec<Tok>> {
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
pub(super) struct Ty {
    pub(super) class: Option<TypeClass>,
    /// For arrays: element count of a constant array, if known.
    array: Option<Option<usize>>,
    /// For numeric values: the share of them with three or more base-10000 digits
    /// ([`long_numeric_share`]), which cost more to compare and to sum.
    pub(super) long: f64,
}

const UNKNOWN: Ty = Ty { class: None, array: None, long: 0.0 };

fn scalar(c: TypeClass) -> Ty {
    Ty { class: Some(c), array: None, long: 0.0 }
}

/// The share of a numeric column's values with three or more base-10000 digits, from its
/// average stored width: a short numeric is a 1-byte length, a 2-byte header and 2 bytes a
/// digit (7 bytes at two digits, 9 at three). Measured (2026-12-02, Xeon VM, 300,000 rows,
/// over deforming the same column): `x < 0` 23-24 ns a row at one or two digits, 65-66 at three
/// or four; `sum(x)` 29-31 against 66-68; `sum(x * 2)` 78 and 92 against 117 and 131.
pub(super) fn long_numeric_share(avg_width: f64) -> f64 {
    ((avg_width - 7.0) / 2.0).clamp(0.0, 1.0)
}

pub(super) struct Parser<'s, 'a> {
    pub(super) toks: Vec<Tok>,
    pub(super) pos: usize,
    scope: &'s Scope<'a>,
    pub(super) out: Classified,
    depth: usize,
}

fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

impl<'s, 'a> Parser<'s, 'a> {
    pub(super) fn new(toks: Vec<Tok>, scope: &'s Scope<'a>) -> Parser<'s, 'a> {
        Parser { toks, pos: 0, scope, out: Classified::default(), depth: 0 }
    }

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

    pub(super) fn expr(&mut self) -> Option<Ty> {
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
            t = Ty { class: t.class, array: None, long: t.long };
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
        let info = crate::model::schema::type_info(&name);
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
            Tok::Str(s) => Some(Ty {
                class: None,
                array: if s.starts_with('{') { Some(Some(array_len(&s))) } else { None },
                long: 0.0,
            }),
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
                return Some(Ty { class: elem.class, array: Some(Some(n)), long: 0.0 });
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
                let long = if col.class == TypeClass::Numeric { long_numeric_share(col.avg_width) } else { 0.0 };
                Some(Ty { class, array, long })
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
            "sum" | "min" | "max" => Some(Ty { class: a0, array: None, long: args.first().map_or(0.0, |t| t.long) }),
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
            return Ty { class: to, array: Some(from.array.flatten()), long: 0.0 };
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
        let keeps = to.is_none() || to == from.class;
        Ty { class: to.or(from.class), array: None, long: if keeps { from.long } else { 0.0 } }
    }

    /// Price a binary operator from its operands' types; returns the result type.
    fn binary(&mut self, op: &str, l: Ty, r: Ty) -> Ty {
        let (class, mut result) = op_class(op, l.class, r.class);
        match class {
            Some(c @ (OpClass::NumericCmp | OpClass::NumericArith)) => {
                self.out.add(c, 1.0);
                // A comparison of long operands costs more (`op_numeric_long_ns`); arithmetic
                // hardly does (sum(x * 2) less sum(x): 48 ns a row at one digit, 51 at three),
                // but its result is as long as its longer operand, for what uses it next.
                let long = l.long.max(r.long);
                if c == OpClass::NumericCmp && long > 0.0 {
                    self.out.add(OpClass::NumericLong, long);
                }
                if c == OpClass::NumericArith {
                    result.long = long;
                }
            }
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
        let elem = Ty { class: arr.class, array: None, long: 0.0 };
        match n {
            Some(n) if n >= 9 => {
                self.out.add(OpClass::HashedSaop, 1.0);
                self.binary(op, l, elem);
            }
            _ => {
                // Linear: one call per element until a match. Measured over deforming the
                // same column, in units of one standalone comparison clause: char(10) `IN` of 2
                // elements 2.1 and of 4 elements 3.1 (lineitem's l_shipmode, 2 or 4 of its 7
                // values, so some rows stop early; 2026-12-02, Xeon), of 3 elements 2.2 and of
                // 8 elements 3.6 (reference 13.2). `1 + sqrt(n - 1)` follows all four within
                // 12%: the first element pays the call, the later ones less, and matches stop
                // the loop (half a comparison an element, the earlier rule, was 2x low at 2).
                let k = 1.0 + (n.unwrap_or(1).max(1) as f64 - 1.0).sqrt();
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
