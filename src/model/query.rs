//! Closed sets of the query and plan: the SQL command, a function's parallel label, a join's
//! type. Parsed from their PostgreSQL spelling; unknown words are rejected where they are read.

/// The SQL command whose plan is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Command {
    #[default]
    Select,
    CreateTableAs,
    SelectInto,
    CreateMaterializedView,
    RefreshMaterializedView,
    Insert,
    Update,
    Delete,
    Merge,
}

impl Command {
    pub const ALL: [Command; 9] = [
        Command::Select,
        Command::CreateTableAs,
        Command::SelectInto,
        Command::CreateMaterializedView,
        Command::RefreshMaterializedView,
        Command::Insert,
        Command::Update,
        Command::Delete,
        Command::Merge,
    ];

    /// The scenario file's spelling (`create_table_as`).
    pub fn name(self) -> &'static str {
        match self {
            Command::Select => "select",
            Command::CreateTableAs => "create_table_as",
            Command::SelectInto => "select_into",
            Command::CreateMaterializedView => "create_materialized_view",
            Command::RefreshMaterializedView => "refresh_materialized_view",
            Command::Insert => "insert",
            Command::Update => "update",
            Command::Delete => "delete",
            Command::Merge => "merge",
        }
    }

    /// Case-insensitive.
    pub fn parse(s: &str) -> Option<Command> {
        let s = s.to_ascii_lowercase();
        Command::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether PostgreSQL 15 may plan the command's query in parallel (the SELECT part of
    /// CREATE TABLE AS, SELECT INTO and materialized views; never a data-modifying command).
    pub fn allows_parallel(self) -> bool {
        matches!(
            self,
            Command::Select
                | Command::CreateTableAs
                | Command::SelectInto
                | Command::CreateMaterializedView
                | Command::RefreshMaterializedView
        )
    }
}

/// A function's parallel label (`pg_proc.proparallel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FnSafety {
    Safe,
    Restricted,
    Unsafe,
}

impl FnSafety {
    /// `safe`/`s`, `restricted`/`r`, `unsafe`/`u`.
    pub fn parse(s: &str) -> Option<FnSafety> {
        match s {
            "safe" | "s" => Some(FnSafety::Safe),
            "restricted" | "r" => Some(FnSafety::Restricted),
            "unsafe" | "u" => Some(FnSafety::Unsafe),
            _ => None,
        }
    }
}

/// A join's type as EXPLAIN prints it ("Join Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinType {
    #[default]
    Inner,
    Left,
    Full,
    Right,
    Semi,
    Anti,
}

impl JoinType {
    pub const ALL: [JoinType; 6] =
        [JoinType::Inner, JoinType::Left, JoinType::Full, JoinType::Right, JoinType::Semi, JoinType::Anti];

    /// EXPLAIN's spelling.
    pub fn name(self) -> &'static str {
        match self {
            JoinType::Inner => "Inner",
            JoinType::Left => "Left",
            JoinType::Full => "Full",
            JoinType::Right => "Right",
            JoinType::Semi => "Semi",
            JoinType::Anti => "Anti",
        }
    }

    /// Case-insensitive.
    pub fn parse(s: &str) -> Option<JoinType> {
        JoinType::ALL.into_iter().find(|j| j.name().eq_ignore_ascii_case(s))
    }

    /// Whether the join can have a partial (parallel) path: PostgreSQL 15 builds no partial
    /// path for a right or full join (the inner side would have to be shared).
    pub fn allows_partial(self) -> bool {
        !matches!(self, JoinType::Right | JoinType::Full)
    }
}

/// The name EXPLAIN's text format gives a node whose JSON "Node Type" is `node_type`: a join
/// other than an inner one has its type interpolated ("Hash Anti Join", "Nested Loop Left
/// Join", "Merge Semi Join"; explain.c, ExplainNode), where JSON keeps "Hash Join" and a
/// separate "Join Type". Any other node, or an inner join: `node_type` itself.
pub fn join_text_name(node_type: &str, join_type: Option<&str>) -> String {
    let stem = match node_type {
        "Hash Join" => "Hash",
        "Merge Join" => "Merge",
        "Nested Loop" => "Nested Loop",
        _ => return node_type.to_string(),
    };
    match join_type {
        Some(j) if !j.eq_ignore_ascii_case("Inner") => format!("{stem} {j} Join"),
        _ => node_type.to_string(),
    }
}

impl std::fmt::Display for JoinType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How an Aggregate forms its groups (EXPLAIN's `Strategy`, nodeAgg.c's AGG_PLAIN /
/// AGG_SORTED / AGG_HASHED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggStrategy {
    /// One group: no grouping keys.
    Plain,
    /// Over rows sorted on the keys, one group after another (`GroupAggregate`).
    Sorted,
    /// Each row's group found in a hash table (`HashAggregate`).
    Hashed,
}

impl AggStrategy {
    pub fn name(self) -> &'static str {
        match self {
            AggStrategy::Plain => "Plain",
            AggStrategy::Sorted => "Sorted",
            AggStrategy::Hashed => "Hashed",
        }
    }
}

/// Whether `n`'s rows reach its parent in an order a grouped Aggregate can group by as they
/// come: a Sort's, a Gather Merge's, an index's, a Merge Join's; a Limit and a Nested Loop
/// pass their (outer) input's order on.
fn arrives_sorted(n: &super::Node) -> bool {
    use super::Node;
    match n {
        Node::Sort { .. } | Node::GatherMerge { .. } | Node::IndexScan { .. } | Node::MergeJoin { .. } => true,
        Node::Limit { input, .. } => arrives_sorted(input),
        Node::NestedLoop { outer, .. } => arrives_sorted(outer),
        _ => false,
    }
}

impl AggStrategy {
    /// The strategy PostgreSQL's planner leaves an Aggregate of `groups` groups over `input`:
    /// `Plain` for one group, `Sorted` over an input that arrives sorted (grouping needs the
    /// keys in order, and the plan puts a Sort, a Gather Merge or an ordered scan below),
    /// `Hashed` otherwise. One rule for the planner's costs, the executor's prices and the
    /// EXPLAIN output.
    pub fn of(groups: f64, input: &super::Node) -> AggStrategy {
        if groups <= 1.0 {
            AggStrategy::Plain
        } else if arrives_sorted(input) {
            AggStrategy::Sorted
        } else {
            AggStrategy::Hashed
        }
    }
}

impl super::Node {
    /// An Aggregate's strategy ([`AggStrategy::of`]); None for other nodes.
    pub fn agg_strategy(&self) -> Option<AggStrategy> {
        let super::Node::Aggregate { groups, input, .. } = self else { return None };
        Some(AggStrategy::of(*groups, input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_a_join_by_its_type_unless_inner() {
        let n = join_text_name;
        assert_eq!(n("Hash Join", Some("Anti")), "Hash Anti Join");
        assert_eq!(n("Hash Join", Some("Inner")), "Hash Join");
        assert_eq!(n("Nested Loop", Some("Left")), "Nested Loop Left Join");
        assert_eq!(n("Nested Loop", Some("Inner")), "Nested Loop");
        assert_eq!(n("Merge Join", Some("Semi")), "Merge Semi Join");
        assert_eq!(n("Seq Scan", Some("Anti")), "Seq Scan");
        assert_eq!(n("Hash Join", None), "Hash Join");
    }

    #[test]
    fn names_round_trip() {
        for c in Command::ALL {
            assert_eq!(Command::parse(c.name()), Some(c));
            assert_eq!(Command::parse(&c.name().to_ascii_uppercase()), Some(c));
        }
        for j in JoinType::ALL {
            assert_eq!(JoinType::parse(j.name()), Some(j));
            assert_eq!(JoinType::parse(&j.name().to_ascii_lowercase()), Some(j));
        }
        assert_eq!(Command::parse("vacuum"), None);
        assert_eq!(JoinType::parse("sideways"), None);
        assert_eq!(FnSafety::parse("r"), Some(FnSafety::Restricted));
        assert_eq!(FnSafety::parse("maybe"), None);
    }
}
