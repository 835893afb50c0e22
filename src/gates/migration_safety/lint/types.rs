//! Column types to avoid, wherever a column gets a type (CREATE TABLE, ADD COLUMN, ALTER
//! COLUMN … TYPE): `char(n)`, `int` / `serial` ids where `bigint` belongs, and `timestamp`
//! without time zone. These apply to new tables too: a type is cheapest to fix before the
//! table holds data.

use super::ast;
use super::{Linter, Stmt};
use crate::rules::Rule;
use pg_query::protobuf::{AlterTableType, ColumnDef, ConstrType, TypeName};
use pg_query::NodeEnum;

pub fn check(l: &mut Linter, s: &Stmt) {
    match s.node {
        NodeEnum::CreateStmt(c) => {
            // Primary-key columns named at table level: `PRIMARY KEY (id)`.
            let mut pk: Vec<&str> = Vec::new();
            for e in &c.table_elts {
                if let Some(NodeEnum::Constraint(k)) = ast::node(e) {
                    if ast::contype(k) == ConstrType::ConstrPrimary {
                        pk.extend(ast::strings(&k.keys));
                    }
                }
            }
            for e in &c.table_elts {
                if let Some(NodeEnum::ColumnDef(col)) = ast::node(e) {
                    column(l, s, col, pk.contains(&col.colname.as_str()));
                }
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            for (_, c) in ast::alter_cmds(a) {
                let Some(NodeEnum::ColumnDef(col)) = c.def.as_deref().and_then(ast::node) else {
                    continue;
                };
                match AlterTableType::try_from(c.subtype) {
                    Ok(AlterTableType::AtAddColumn) => column(l, s, col, false),
                    Ok(AlterTableType::AtAlterColumnType) => {
                        if let Some(t) = &col.type_name {
                            type_of(l, s, &c.name, t, false);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

impl Linter<'_> {
    /// A fix hint in Prisma's terms for migrations Prisma Migrate generated.
    fn prisma_hint(&self, hint: &str) -> Option<String> {
        self.path
            .starts_with("prisma/")
            .then(|| format!("In `prisma/schema.prisma`, {hint}, then regenerate the migration."))
    }
}

fn column(l: &mut Linter, s: &Stmt, col: &ColumnDef, table_pk: bool) {
    let pk =
        table_pk || ast::constraints(col).any(|k| ast::contype(k) == ConstrType::ConstrPrimary);
    if let Some(t) = &col.type_name {
        type_of(l, s, &col.colname, t, pk);
    }
}

const INT: &[&str] = &[
    "int4",
    "int2",
    "serial",
    "serial4",
    "smallserial",
    "serial2",
];

fn type_of(l: &mut Linter, s: &Stmt, column: &str, t: &TypeName, pk: bool) {
    let span = l.type_at(s, t.location);
    let sql = l.sql(span);
    let col = crate::text::excerpt(column, 80);
    let id = pk || column == "id" || column.ends_with("_id");
    if ast::is_type(t, &["bpchar"]) {
        l.report(
            Rule::MigCharColumn,
            span,
            format!("column `{col}` is `{sql}`: char(n) pads values with blanks, compares them with trailing blanks ignored, and is never faster than text"),
            l.prisma_hint("declare the field `String` (text), not `@db.Char(n)`"),
        );
    } else if id && ast::is_type(t, INT) && t.array_bounds.is_empty() {
        l.report(
            Rule::MigIntId,
            span,
            format!(
                "id column `{col}` is `{sql}` ({}): it runs out at {}, and widening it later rewrites the table",
                ast::type_base(t),
                if ast::is_type(t, &["int2", "smallserial", "serial2"]) { "32,767" } else { "2,147,483,647" }
            ),
            l.prisma_hint("declare ids `BigInt @id @default(autoincrement())` and the fields that reference them `BigInt`"),
        );
    } else if ast::is_type(t, &["timestamp"]) {
        l.report(
            Rule::MigTimestampWithoutTimeZone,
            span,
            format!("column `{col}` is `{sql}` (without time zone): it stores wall-clock time with no zone, so values written from different zones or across DST compare wrongly"),
            l.prisma_hint("Prisma maps `DateTime` to `timestamp(3)`: declare the field `DateTime @db.Timestamptz(3)`"),
        );
    }
}
