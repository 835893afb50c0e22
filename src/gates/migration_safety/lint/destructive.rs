//! The "additive only" policy: statements that destroy data (drop table / column / schema /
//! database, truncate, DELETE or UPDATE without WHERE) and non-additive changes the running
//! code breaks on (renames, column type changes, dropping indexes, views, functions, policies,
//! triggers, types or constraints). Objects created earlier in the PR are exempt: dropping
//! or renaming them loses nothing. `DROP DEFAULT` and `DROP NOT NULL` only relax the schema
//! and are not findings (the original grep flagged `DROP DEFAULT`).

use super::ast::{self, Table};
use super::{Linter, Stmt};
use crate::rules::Rule;
use pg_query::protobuf::{AlterTableType, DropBehavior, DropStmt, ObjectType, RenameStmt};
use pg_query::NodeEnum;

pub fn check(l: &mut Linter, s: &Stmt) {
    let whole = l.whole(s);
    match s.node {
        NodeEnum::DropStmt(d) => drop(l, s, d),
        NodeEnum::DropdbStmt(d) => l.report(
            Rule::MigDropDatabase,
            whole,
            format!(
                "`{}` drops the database `{}` and everything in it",
                l.sql(whole),
                crate::text::excerpt(&d.dbname, 80)
            ),
            None,
        ),
        NodeEnum::TruncateStmt(t) => {
            let tables: Vec<Table> = t
                .relations
                .iter()
                .filter_map(|n| match ast::node(n) {
                    Some(NodeEnum::RangeVar(rv)) => Some(Table::of(rv)),
                    _ => None,
                })
                .filter(|t| l.existing(t))
                .collect();
            if !tables.is_empty() {
                l.report(
                    Rule::MigTruncateTable,
                    whole,
                    format!("`{}` deletes every row of {}", l.sql(whole), show(&tables)),
                    None,
                );
            }
        }
        NodeEnum::DeleteStmt(d) if d.where_clause.is_none() => unbounded(
            l,
            s,
            Rule::MigDeleteWithoutWhere,
            &d.relation,
            ("deletes every row of", ""),
        ),
        NodeEnum::UpdateStmt(u) if u.where_clause.is_none() => unbounded(
            l,
            s,
            Rule::MigUpdateWithoutWhere,
            &u.relation,
            (
                "rewrites every row of",
                " in one transaction, holding a lock on each row until it commits",
            ),
        ),
        NodeEnum::RenameStmt(r) => rename(l, s, r),
        NodeEnum::AlterTableStmt(a) => {
            let Some((table, at)) = l.existing_relation(&a.relation) else {
                return;
            };
            for (i, c) in ast::alter_cmds(a) {
                let (rule, what) = match AlterTableType::try_from(c.subtype) {
                    Ok(AlterTableType::AtDropColumn) => (
                        Rule::MigDropColumn,
                        format!(
                            "drops column `{}` of `{}` and its data; code still running on the old version reads it",
                            crate::text::excerpt(&c.name, 80),
                            table.show()
                        ),
                    ),
                    Ok(AlterTableType::AtAlterColumnType) => (
                        Rule::MigChangeColumnType,
                        format!(
                            "changes the type of `{}.{}`: unless the new type is binary-compatible, PostgreSQL rewrites the table and its indexes under an ACCESS EXCLUSIVE lock, and code on the old version may break",
                            table.show(),
                            crate::text::excerpt(&c.name, 80)
                        ),
                    ),
                    Ok(AlterTableType::AtDropConstraint) => (
                        Rule::MigDropObject,
                        format!(
                            "drops constraint `{}` of `{}`: the guarantee it gave is gone",
                            crate::text::excerpt(&c.name, 80),
                            table.show()
                        ),
                    ),
                    _ => continue,
                };
                let span = l.alter_cmd(s, at, i);
                let message = format!("`{}` {what}", l.sql(span));
                l.report(rule, span, message, None);
            }
        }
        _ => {}
    }
}

/// DELETE or UPDATE without WHERE on an existing table.
fn unbounded(
    l: &mut Linter,
    s: &Stmt,
    rule: Rule,
    relation: &Option<pg_query::protobuf::RangeVar>,
    (what, tail): (&str, &str),
) {
    if let Some((t, _)) = l.existing_relation(relation) {
        let whole = l.whole(s);
        let message = format!(
            "`{}` has no WHERE clause: it {what} `{}`{tail}",
            l.sql(whole),
            t.show()
        );
        l.report(rule, whole, message, None);
    }
}

fn show(tables: &[Table]) -> String {
    tables
        .iter()
        .map(|t| format!("`{}`", t.show()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn drop(l: &mut Linter, s: &Stmt, d: &DropStmt) {
    let whole = l.whole(s);
    let kind = ObjectType::try_from(d.remove_type).unwrap_or(ObjectType::Undefined);
    let names: Vec<Vec<&str>> = d.objects.iter().map(ast::list_strings).collect();
    match kind {
        ObjectType::ObjectTable | ObjectType::ObjectForeignTable => {
            let tables: Vec<Table> = names
                .iter()
                .filter_map(|n| Table::from_names(n))
                .filter(|t| l.existing(t))
                .collect();
            if !tables.is_empty() {
                l.report(
                    Rule::MigDropTable,
                    whole,
                    format!(
                        "`{}` deletes {} and every row in it",
                        l.sql(whole),
                        show(&tables)
                    ),
                    None,
                );
            }
        }
        ObjectType::ObjectSchema => l.report(
            Rule::MigDropSchema,
            whole,
            format!(
                "`{}` drops the schema{}",
                l.sql(whole),
                if DropBehavior::try_from(d.behavior) == Ok(DropBehavior::DropCascade) {
                    " and, with CASCADE, every table and row in it"
                } else {
                    ""
                }
            ),
            None,
        ),
        ObjectType::ObjectIndex => {
            let fresh = names
                .iter()
                .all(|n| n.last().is_some_and(|i| l.created_index(i)));
            if !fresh {
                l.report(
                    Rule::MigDropObject,
                    whole,
                    format!(
                        "`{}` drops an index: queries that use it fall back to scans",
                        l.sql(whole)
                    ),
                    None,
                );
            }
        }
        ObjectType::ObjectPolicy | ObjectType::ObjectTrigger | ObjectType::ObjectRule => {
            // `DROP POLICY p ON t`: the names are `[schema.]table, name`.
            let on_new = names.iter().all(|n| {
                n.split_last()
                    .and_then(|(_, table)| Table::from_names(table))
                    .is_some_and(|t| !l.existing(&t))
            });
            if !on_new {
                let what = match kind {
                    ObjectType::ObjectPolicy => {
                        "drops a row-level security policy: the access rule it enforced is gone"
                    }
                    ObjectType::ObjectTrigger => "drops a trigger: the logic it ran stops",
                    _ => "drops a rewrite rule",
                };
                l.report(
                    Rule::MigDropObject,
                    whole,
                    format!("`{}` {what}", l.sql(whole)),
                    None,
                );
            }
        }
        ObjectType::ObjectView
        | ObjectType::ObjectMatview
        | ObjectType::ObjectFunction
        | ObjectType::ObjectProcedure
        | ObjectType::ObjectRoutine
        | ObjectType::ObjectAggregate
        | ObjectType::ObjectType
        | ObjectType::ObjectDomain
        | ObjectType::ObjectSequence
        | ObjectType::ObjectExtension => l.report(
            Rule::MigDropObject,
            whole,
            format!(
                "`{}` drops an object that code or other objects may still use",
                l.sql(whole)
            ),
            None,
        ),
        _ => {}
    }
}

fn rename(l: &mut Linter, s: &Stmt, r: &RenameStmt) {
    let Some(rv) = r.relation.as_ref() else {
        return;
    };
    let table = Table::of(rv);
    if !l.existing(&table) {
        return;
    }
    let span = l.keyword_to_end(
        s,
        usize::try_from(l.shift(rv.location)).unwrap_or(0),
        "rename",
    );
    let sql = l.sql(span);
    match ObjectType::try_from(r.rename_type) {
        Ok(ObjectType::ObjectTable) => l.report(
            Rule::MigRenameTable,
            span,
            format!(
                "`{sql}` renames table `{}` to `{}`: code still running on the old version queries the old name and fails",
                table.show(),
                crate::text::excerpt(&r.newname, 80)
            ),
            None,
        ),
        Ok(ObjectType::ObjectColumn) => l.report(
            Rule::MigRenameColumn,
            span,
            format!(
                "`{sql}` renames column `{}.{}` to `{}`: code still running on the old version uses the old name and fails",
                table.show(),
                crate::text::excerpt(&r.subname, 80),
                crate::text::excerpt(&r.newname, 80)
            ),
            None,
        ),
        _ => {}
    }
}
