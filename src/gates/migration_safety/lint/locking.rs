//! Statements that lock or rewrite a table that already holds data: `SET NOT NULL` without a
//! validated `CHECK`, NOT NULL columns without a default, defaults that rewrite the table,
//! index builds and drops without `CONCURRENTLY`, and constraints validated under a lock
//! (foreign keys and CHECKs without `NOT VALID`, UNIQUE / PRIMARY KEY without a prebuilt
//! index). A table created earlier in the file or the PR is empty, so none of this applies
//! to it. `record` remembers what each statement creates and validates.

use super::ast::{self, Table};
use super::{Linter, Span, Stmt};
use crate::rules::Rule;
use pg_query::protobuf::{
    AlterTableType, ColumnDef, ConstrType, Constraint, NullTestType, ObjectType,
};
use pg_query::NodeEnum;

pub fn check(l: &mut Linter, s: &Stmt) {
    match s.node {
        NodeEnum::AlterTableStmt(a) => {
            let Some((table, at)) = l.existing_relation(&a.relation) else {
                return;
            };
            for (i, c) in ast::alter_cmds(a) {
                let span = l.alter_cmd(s, at, i);
                match AlterTableType::try_from(c.subtype) {
                    Ok(AlterTableType::AtSetNotNull) => set_not_null(l, span, &table, &c.name),
                    Ok(AlterTableType::AtAddColumn) => {
                        if let Some(NodeEnum::ColumnDef(col)) = c.def.as_deref().and_then(ast::node)
                        {
                            add_column(l, span, &table, col);
                        }
                    }
                    Ok(AlterTableType::AtAddConstraint) => {
                        if let Some(NodeEnum::Constraint(k)) = c.def.as_deref().and_then(ast::node)
                        {
                            constraint(l, span, &table, k, false);
                        }
                    }
                    _ => {}
                }
            }
        }
        NodeEnum::IndexStmt(i) if !i.concurrent => {
            let Some(table) = i.relation.as_ref().map(Table::of) else {
                return;
            };
            if l.existing(&table) {
                let whole = l.whole(s);
                l.report(
                    Rule::MigIndexWithoutConcurrently,
                    whole,
                    format!(
                        "`{}` builds the index under a SHARE lock: every INSERT, UPDATE and DELETE on `{}` waits until the build finishes",
                        l.sql(whole),
                        table.show()
                    ),
                    None,
                );
            }
        }
        NodeEnum::DropStmt(d)
            if d.remove_type == ObjectType::ObjectIndex as i32 && !d.concurrent =>
        {
            let fresh = d.objects.iter().all(|n| {
                ast::list_strings(n)
                    .last()
                    .is_some_and(|i| l.created_index(i))
            });
            if !fresh {
                let whole = l.whole(s);
                l.report(
                    Rule::MigDropIndexWithoutConcurrently,
                    whole,
                    format!(
                        "`{}` takes an ACCESS EXCLUSIVE lock on the index's table: every read and write of it waits",
                        l.sql(whole)
                    ),
                    None,
                );
            }
        }
        _ => {}
    }
}

fn set_not_null(l: &mut Linter, span: Span, table: &Table, column: &str) {
    let checked = l.has_validated_not_null(table, column);
    if checked && l.opts().pg >= 12 {
        return;
    }
    let sql = l.sql(span);
    let why = if checked {
        format!(
            "PostgreSQL {} scans the whole table under an ACCESS EXCLUSIVE lock even with the validated CHECK (only 12+ uses it)",
            l.opts().pg
        )
    } else {
        "PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock to prove no row is NULL; no validated `CHECK (… IS NOT NULL)` precedes it".to_string()
    };
    let help = (l.opts().pg < 12).then(|| {
        "Before PostgreSQL 12 there is no lock-free way: run it in a quiet window with a short lock_timeout, or keep a validated CHECK constraint instead of NOT NULL.".to_string()
    });
    l.report(
        Rule::MigSetNotNull,
        span,
        format!(
            "`{sql}` makes `{}.{}` NOT NULL: {why}",
            table.show(),
            crate::text::excerpt(column, 80)
        ),
        help,
    );
}

const SERIAL: &[&str] = &[
    "serial",
    "bigserial",
    "smallserial",
    "serial2",
    "serial4",
    "serial8",
];

fn add_column(l: &mut Linter, span: Span, table: &Table, col: &ColumnDef) {
    let sql = l.sql(span);
    let name = crate::text::excerpt(&col.colname, 80);
    let default = ast::default_expr(col).filter(|d| !ast::is_null_const(d));
    let serial = col
        .type_name
        .as_ref()
        .is_some_and(|t| ast::is_type(t, SERIAL));
    let generated = ast::constraints(col).find(|k| {
        matches!(
            ast::contype(k),
            ConstrType::ConstrIdentity | ConstrType::ConstrGenerated
        )
    });
    if ast::is_not_null(col) && default.is_none() && !serial && generated.is_none() {
        l.report(
            Rule::MigNotNullWithoutDefault,
            span,
            format!(
                "`{sql}` adds NOT NULL column `{name}` without a default: it fails on `{}` as soon as the table has a row",
                table.show()
            ),
            None,
        );
    }
    let rewrite = if serial {
        Some("a serial column fills every existing row from its sequence".to_string())
    } else if let Some(k) = generated {
        Some(if ast::contype(k) == ConstrType::ConstrIdentity {
            "an identity column fills every existing row from its sequence".to_string()
        } else {
            "a stored generated column is computed for every existing row".to_string()
        })
    } else if let Some(d) = default {
        if l.opts().pg < 11 {
            Some(format!(
                "before PostgreSQL 11 any non-NULL default is written into every existing row (target: PostgreSQL {})",
                l.opts().pg
            ))
        } else {
            ast::volatile_call(d).map(|f| {
                format!(
                    "the default calls `{}`, which is (or may be) volatile, so it is evaluated and written for every existing row",
                    crate::text::excerpt(&f, 80)
                )
            })
        }
    } else {
        None
    };
    if let Some(why) = rewrite {
        l.report(
            Rule::MigDefaultRewritesTable,
            span,
            format!(
                "`{sql}` rewrites `{}` under an ACCESS EXCLUSIVE lock: {why}",
                table.show()
            ),
            None,
        );
    }
    for k in ast::constraints(col) {
        constraint(l, span, table, k, true);
    }
}

/// A constraint added to an existing table, at table level or inline in `ADD COLUMN`.
fn constraint(l: &mut Linter, span: Span, table: &Table, k: &Constraint, inline: bool) {
    let sql = l.sql(span);
    let t = table.show();
    match ast::contype(k) {
        ConstrType::ConstrForeign if !k.skip_validation => {
            let target = k
                .pktable
                .as_ref()
                .map(Table::of)
                .map(|t| t.show())
                .unwrap_or_default();
            let help = inline.then(|| {
                "A column constraint cannot be NOT VALID: add the column first, then `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY (…) REFERENCES … NOT VALID;` and `VALIDATE CONSTRAINT` separately.".to_string()
            });
            l.report(
                Rule::MigForeignKeyWithoutNotValid,
                span,
                format!(
                    "`{sql}` validates the foreign key on every row of `{t}` while holding SHARE ROW EXCLUSIVE locks on `{t}` and `{target}`: writes to both wait"
                ),
                help,
            );
        }
        ConstrType::ConstrCheck if !k.skip_validation => {
            let help = inline.then(|| {
                "A column constraint cannot be NOT VALID: add the column first, then `ADD CONSTRAINT … CHECK (…) NOT VALID;` and `VALIDATE CONSTRAINT` separately.".to_string()
            });
            l.report(
                Rule::MigCheckWithoutNotValid,
                span,
                format!(
                    "`{sql}` checks every row of `{t}` while holding an ACCESS EXCLUSIVE lock: reads and writes wait"
                ),
                help,
            );
        }
        c @ (ConstrType::ConstrUnique | ConstrType::ConstrPrimary) if k.indexname.is_empty() => {
            let kind = if c == ConstrType::ConstrPrimary {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            l.report(
                Rule::MigUniqueWithoutIndex,
                span,
                format!(
                    "`{sql}` builds the {kind} index of `{t}` while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it is built"
                ),
                None,
            );
        }
        _ => {}
    }
}

/// The column a `CHECK (col IS NOT NULL)` (or, on PostgreSQL 18, `NOT NULL col`) constraint
/// guarantees.
fn not_null_column(k: &Constraint) -> Option<String> {
    match ast::contype(k) {
        ConstrType::ConstrCheck => match k.raw_expr.as_deref().and_then(ast::node)? {
            NodeEnum::NullTest(t) if t.nulltesttype == NullTestType::IsNotNull as i32 => {
                match t.arg.as_deref().and_then(ast::node)? {
                    NodeEnum::ColumnRef(c) => ast::strings(&c.fields).last().map(|s| s.to_string()),
                    _ => None,
                }
            }
            _ => None,
        },
        ConstrType::ConstrNotnull => ast::strings(&k.keys).first().map(|s| s.to_string()),
        _ => None,
    }
}

/// Remember what the statement creates (tables, indexes) and which NOT NULL checks it adds
/// or validates.
pub fn record(l: &mut Linter, s: &Stmt) {
    // Names resolve as PostgreSQL resolves them, or not at all: after a `search_path` change
    // an unqualified name could be any schema's, and a temporary table shadows a base table of
    // the same name until it is dropped — neither is recorded as the PR's own table, so what
    // is done to such a name keeps its finding.
    if l.text[s.start..s.end]
        .to_ascii_lowercase()
        .contains("search_path")
    {
        l.created.path_changed = true;
    }
    let own = |l: &Linter, rv: &pg_query::protobuf::RangeVar| {
        rv.relpersistence != "t" && (!rv.schemaname.is_empty() || !l.created.path_changed)
    };
    match s.node {
        NodeEnum::CreateStmt(c) if !c.if_not_exists => {
            if let Some(rv) = c.relation.as_ref().filter(|rv| own(l, rv)) {
                l.created.tables.insert(Table::of(rv));
            }
        }
        NodeEnum::CreateTableAsStmt(c) if !c.if_not_exists => {
            if let Some(rv) = c
                .into
                .as_ref()
                .and_then(|i| i.rel.as_ref())
                .filter(|rv| own(l, rv))
            {
                l.created.tables.insert(Table::of(rv));
            }
        }
        NodeEnum::IndexStmt(i) if !i.if_not_exists && !i.idxname.is_empty() => {
            l.created.indexes.insert(i.idxname.clone());
        }
        NodeEnum::AlterTableStmt(_) => {
            record_not_null_checks(&mut l.created.not_null_checks, s.node)
        }
        _ => {}
    }
}

/// Remember which `CHECK (col IS NOT NULL)` constraints a statement adds or validates (also
/// over the repository's earlier migrations: `super::history`).
pub fn record_not_null_checks(checks: &mut super::NotNullChecks, node: &NodeEnum) {
    let NodeEnum::AlterTableStmt(a) = node else {
        return;
    };
    let Some(table) = a.relation.as_ref().map(Table::of) else {
        return;
    };
    for (_, c) in ast::alter_cmds(a) {
        match (
            AlterTableType::try_from(c.subtype),
            c.def.as_deref().and_then(ast::node),
        ) {
            (Ok(AlterTableType::AtAddConstraint), Some(NodeEnum::Constraint(k))) => {
                if let Some(col) = not_null_column(k) {
                    // An unnamed CHECK gets PostgreSQL's generated name, which a later
                    // VALIDATE CONSTRAINT uses.
                    let name = if k.conname.is_empty() {
                        format!("{}_{col}_check", table.name)
                    } else {
                        k.conname.clone()
                    };
                    checks.insert(name, (table.clone(), col, !k.skip_validation));
                }
            }
            (Ok(AlterTableType::AtValidateConstraint), _) => {
                if let Some(entry) = checks.get_mut(&c.name) {
                    entry.2 = true;
                }
            }
            _ => {}
        }
    }
}

impl Linter<'_> {
    pub fn created_index(&self, name: &str) -> bool {
        self.created.indexes.contains(name)
    }

    fn has_validated_not_null(&self, table: &Table, column: &str) -> bool {
        self.created
            .not_null_checks
            .values()
            .any(|(t, c, valid)| *valid && t == table && c == column)
    }
}
