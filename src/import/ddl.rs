//! Column types from `CREATE TABLE` statements (`pqsim import --schema FILE.sql`): enough of
//! PostgreSQL's DDL to know each table's columns in order and their types. Widths and null
//! fractions are not in DDL: the type's length, or a guess for variable-length types.

use crate::model::expr::matching_paren;
use crate::model::schema::Column;
use std::collections::BTreeMap;

/// Words that end a column's type in a column definition.
const STOP: &[&str] =
    &["not", "null", "default", "primary", "references", "check", "unique", "constraint", "collate", "generated"];

/// Words that start a table constraint instead of a column.
const CONSTRAINTS: &[&str] = &["primary", "unique", "check", "foreign", "constraint", "exclude", "like"];

/// Tables (unqualified, lower-case unless quoted) and their columns, in the file's order.
pub fn parse_create_tables(sql: &str) -> BTreeMap<String, Vec<Column>> {
    let mut out = BTreeMap::new();
    let text = strip_comments(sql);
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("create") {
        let at = from + i;
        from = at + 6;
        let rest = &lower[at..];
        let words: Vec<&str> = rest.split_whitespace().take(8).collect();
        // CREATE [UNLOGGED | TEMP | TEMPORARY] TABLE [IF NOT EXISTS] name (
        let Some(tpos) = words.iter().position(|w| *w == "table") else { continue };
        if tpos > 2 {
            continue;
        }
        let Some(open) = text[at..].find('(').map(|o| at + o) else { break };
        let head = &text[at..open];
        let name = head.split_whitespace().last().unwrap_or("");
        let name = ident(name.rsplit('.').next().unwrap_or(name));
        if name.is_empty() || name == "exists" {
            continue;
        }
        let Some(close) = matching_paren(&text, open) else { break };
        let cols = columns(&text[open + 1..close]);
        out.insert(name, cols);
        from = close;
    }
    out
}

fn strip_comments(sql: &str) -> String {
    let mut out = String::new();
    for line in sql.lines() {
        out.push_str(line.split("--").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Split on commas outside parentheses.
fn items(body: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (vec![], String::new(), 0);
    for c in body.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn ident(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].replace("\"\"", "\"")
    } else {
        s.to_ascii_lowercase()
    }
}

/// PostgreSQL's name for a type as written in DDL (serials are integers).
fn canonical(t: &str) -> String {
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase().replace(" (", "(");
    match t.as_str() {
        "serial" | "serial4" => "integer".into(),
        "bigserial" | "serial8" => "bigint".into(),
        "smallserial" | "serial2" => "smallint".into(),
        "int" | "int4" => "integer".into(),
        "int8" => "bigint".into(),
        "int2" => "smallint".into(),
        "float8" => "double precision".into(),
        "float4" => "real".into(),
        "timestamp" => "timestamp without time zone".into(),
        "timestamptz" => "timestamp with time zone".into(),
        "bool" => "boolean".into(),
        _ => {
            if let Some(m) = t.strip_prefix("varchar") {
                format!("character varying{m}")
            } else if let Some(m) = t.strip_prefix("char(").or_else(|| t.strip_prefix("bpchar(")) {
                format!("character({m}")
            } else if let Some(m) = t.strip_prefix("decimal") {
                format!("numeric{m}")
            } else {
                t
            }
        }
    }
}

fn columns(body: &str) -> Vec<Column> {
    let mut out = vec![];
    for item in items(body) {
        let mut words = item.split_whitespace();
        let Some(first) = words.next() else { continue };
        if CONSTRAINTS.contains(&first.to_ascii_lowercase().as_str()) {
            continue;
        }
        let name = ident(first);
        let rest: Vec<&str> = words.collect();
        let end = rest.iter().position(|w| STOP.contains(&w.to_ascii_lowercase().as_str())).unwrap_or(rest.len());
        let ty = canonical(&rest[..end].join(" "));
        if ty.is_empty() {
            continue;
        }
        out.push(Column::new(&name, &ty, None, 0.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpch_and_seed_ddl() {
        let sql = "-- the seed
            CREATE TABLE user_session_history (id BIGSERIAL PRIMARY KEY, company_id INT, session_id BIGINT,
                created_at TIMESTAMP DEFAULT now()) WITH (autovacuum_enabled = off);
            create table if not exists public.lineitem (l_orderkey bigint not null, l_quantity numeric(15,2),
                l_shipdate date, l_shipmode char(10), l_comment varchar(44), CONSTRAINT pk PRIMARY KEY (l_orderkey));";
        let t = parse_create_tables(sql);
        let ush = &t["user_session_history"];
        let names: Vec<&str> = ush.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "company_id", "session_id", "created_at"]);
        assert_eq!(ush[0].type_name, "bigint");
        assert_eq!(ush[3].type_name, "timestamp without time zone");
        let li = &t["lineitem"];
        assert_eq!(li.len(), 5);
        assert_eq!(li[1].type_name, "numeric(15,2)");
        assert_eq!(li[3].type_name, "character(10)");
        assert_eq!(li[4].type_name, "character varying(44)");
        assert_eq!(li[2].attlen, 4);
    }
}
