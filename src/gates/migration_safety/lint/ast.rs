//! Small readers over pg_query's typed parse tree shared by the rule families: table names,
//! string lists, type names, column constraints, and whether an expression is volatile.

use pg_query::protobuf::{
    AlterTableCmd, AlterTableStmt, ColumnDef, ConstrType, Constraint, Node, ObjectType, RangeVar,
    TypeName,
};
use pg_query::NodeEnum;

/// A table by schema and name; an unqualified name is taken as `public` (and remembered as
/// unqualified: after a `search_path` change the lint cannot tell where it resolves).
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// The name was written with its schema.
    pub qualified: bool,
}

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        (&self.schema, &self.name) == (&other.schema, &other.name)
    }
}

impl Eq for Table {}

impl std::hash::Hash for Table {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (&self.schema, &self.name).hash(h);
    }
}

impl Table {
    pub fn of(rv: &RangeVar) -> Table {
        Table {
            schema: if rv.schemaname.is_empty() {
                "public".into()
            } else {
                rv.schemaname.clone()
            },
            name: rv.relname.clone(),
            qualified: !rv.schemaname.is_empty(),
        }
    }

    /// From a qualified name list (`["public", "orders"]` or `["orders"]`).
    pub fn from_names(names: &[&str]) -> Option<Table> {
        match names {
            [name] => Some(Table {
                schema: "public".into(),
                name: name.to_string(),
                qualified: false,
            }),
            [.., schema, name] => Some(Table {
                schema: schema.to_string(),
                name: name.to_string(),
                qualified: true,
            }),
            [] => None,
        }
    }

    pub fn show(&self) -> String {
        let name = crate::text::excerpt(&self.name, 80);
        if self.schema == "public" {
            name
        } else {
            format!("{}.{name}", crate::text::excerpt(&self.schema, 80))
        }
    }
}

pub fn node(n: &Node) -> Option<&NodeEnum> {
    n.node.as_ref()
}

/// The `String` items of a list of nodes (`["public", "orders"]`).
pub fn strings(list: &[Node]) -> Vec<&str> {
    list.iter()
        .filter_map(|n| match node(n) {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect()
}

/// The items of a `List` node as strings (DROP's object names).
pub fn list_strings(n: &Node) -> Vec<&str> {
    match node(n) {
        Some(NodeEnum::List(l)) => strings(&l.items),
        Some(NodeEnum::String(s)) => vec![s.sval.as_str()],
        _ => Vec::new(),
    }
}

/// `["pg_catalog", "int4"]` → `int4`; `["serial"]` → `serial`.
pub fn type_base(t: &TypeName) -> &str {
    strings(&t.names).last().copied().unwrap_or_default()
}

/// The type is a built-in (`pg_catalog.<name>`) or written as a bare keyword like `serial`.
pub fn is_type(t: &TypeName, names: &[&str]) -> bool {
    let parts = strings(&t.names);
    match parts.as_slice() {
        ["pg_catalog", n] | [n] => names.contains(n),
        _ => false,
    }
}

/// The sub-commands of an `ALTER TABLE`, with their position in the statement. `ALTER INDEX`,
/// `ALTER VIEW` and `ALTER SEQUENCE` share the node and yield none.
pub fn alter_cmds(a: &AlterTableStmt) -> impl Iterator<Item = (usize, &AlterTableCmd)> {
    let table = [
        ObjectType::ObjectTable as i32,
        ObjectType::ObjectForeignTable as i32,
    ]
    .contains(&a.objtype);
    a.cmds
        .iter()
        .filter(move |_| table)
        .enumerate()
        .filter_map(|(i, n)| match node(n) {
            Some(NodeEnum::AlterTableCmd(c)) => Some((i, c.as_ref())),
            _ => None,
        })
}

pub fn constraints(c: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    c.constraints.iter().filter_map(|n| match node(n) {
        Some(NodeEnum::Constraint(c)) => Some(c.as_ref()),
        _ => None,
    })
}

pub fn contype(c: &Constraint) -> ConstrType {
    ConstrType::try_from(c.contype).unwrap_or(ConstrType::Undefined)
}

/// The column's default expression, if it has one (`DEFAULT` clause or `raw_default`).
pub fn default_expr(c: &ColumnDef) -> Option<&Node> {
    c.raw_default.as_deref().or_else(|| {
        constraints(c)
            .find(|k| contype(k) == ConstrType::ConstrDefault)
            .and_then(|k| k.raw_expr.as_deref())
    })
}

pub fn is_not_null(c: &ColumnDef) -> bool {
    c.is_not_null || constraints(c).any(|k| contype(k) == ConstrType::ConstrNotnull)
}

/// `NULL` (or a cast of it): a default that changes nothing.
pub fn is_null_const(n: &Node) -> bool {
    match node(n) {
        Some(NodeEnum::AConst(c)) => c.isnull,
        Some(NodeEnum::TypeCast(t)) => t.arg.as_deref().is_some_and(is_null_const),
        _ => false,
    }
}

/// Built-in functions that are immutable or stable: evaluated once for an `ADD COLUMN …
/// DEFAULT`, so PostgreSQL 11+ stores the value in the catalog instead of rewriting the table.
const NON_VOLATILE: &[&str] = &[
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_setting",
    "current_user",
    "session_user",
    "current_schema",
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "concat",
    "concat_ws",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "length",
    "substr",
    "substring",
    "replace",
    "abs",
    "round",
    "floor",
    "ceil",
    "to_jsonb",
    "to_json",
    "jsonb_build_object",
    "jsonb_build_array",
    "json_build_object",
    "json_build_array",
    "array_fill",
    "make_interval",
    "make_date",
    "make_timestamp",
    "make_timestamptz",
    "to_timestamp",
    "to_date",
    "date_trunc",
    "timezone",
    "md5",
    "encode",
    "decode",
];

/// The first function in `expr` that may be volatile (evaluated per row, so adding a column
/// with it as default rewrites the table): known-volatile built-ins such as `random()`,
/// `gen_random_uuid()`, `clock_timestamp()`, `nextval()`, and any function merge-gates does
/// not know to be stable. `None` when the expression is built from constants, casts,
/// operators and known-stable functions.
pub fn volatile_call(expr: &Node) -> Option<String> {
    match node(expr)? {
        NodeEnum::FuncCall(f) => {
            let names = strings(&f.funcname);
            let name = names.last().copied().unwrap_or_default();
            let builtin = matches!(names.as_slice(), [_] | ["pg_catalog", _]);
            if !(builtin && NON_VOLATILE.contains(&name)) {
                return Some(names.join("."));
            }
            f.args.iter().find_map(volatile_call)
        }
        NodeEnum::TypeCast(t) => t.arg.as_deref().and_then(volatile_call),
        NodeEnum::AExpr(e) => e
            .lexpr
            .as_deref()
            .and_then(volatile_call)
            .or_else(|| e.rexpr.as_deref().and_then(volatile_call)),
        NodeEnum::BoolExpr(b) => b.args.iter().find_map(volatile_call),
        NodeEnum::CoalesceExpr(c) => c.args.iter().find_map(volatile_call),
        NodeEnum::MinMaxExpr(c) => c.args.iter().find_map(volatile_call),
        NodeEnum::AArrayExpr(a) => a.elements.iter().find_map(volatile_call),
        NodeEnum::List(l) => l.items.iter().find_map(volatile_call),
        NodeEnum::CaseExpr(c) => c
            .args
            .iter()
            .find_map(volatile_call)
            .or_else(|| c.defresult.as_deref().and_then(volatile_call)),
        NodeEnum::CaseWhen(w) => w
            .expr
            .as_deref()
            .and_then(volatile_call)
            .or_else(|| w.result.as_deref().and_then(volatile_call)),
        NodeEnum::SubLink(_) => Some("a subquery".into()),
        _ => None,
    }
}
