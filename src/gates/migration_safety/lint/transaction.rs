//! Transaction context of a migration file: `CONCURRENTLY` statements that would run inside a
//! transaction block (PostgreSQL refuses them), and lock-taking statements on existing tables
//! with no `lock_timeout` set before them.
//!
//! Whether a file runs in a transaction depends on the runner (`TransactionMode`): an explicit
//! `BEGIN` always opens one; `wrapped` runners open one per file; `one-query` runners send the
//! file as one multi-statement query, which PostgreSQL runs as one implicit transaction as soon
//! as it holds more than one statement — so there a CONCURRENTLY statement works only alone in
//! its file. Prisma Migrate does not add BEGIN/COMMIT, but it does send the file in one query.

use super::ast::{self, Table};
use super::{Linter, Stmt, TransactionMode};
use crate::rules::Rule;
use pg_query::protobuf::{
    AlterTableType, ConstrType, ObjectType, TransactionStmtKind, VariableSetKind,
};
use pg_query::NodeEnum;

pub fn check(l: &mut Linter, s: &Stmt) {
    if let Some(what) = needs_no_transaction(s.node) {
        let reason = match (l.open_begin, l.opts().transaction) {
            (Some(line), _) => Some(format!("it is inside the transaction opened by `BEGIN` on line {line}")),
            (None, TransactionMode::Wrapped) => Some(
                "the migration runner wraps each file in a transaction (`transaction = \"wrapped\"`)".to_string(),
            ),
            (None, TransactionMode::OneQuery) if l.statements > 1 => Some(format!(
                "the file's {} statements are sent as one query, which PostgreSQL runs as one implicit transaction (Prisma Migrate, golang-migrate and Supabase CLI before 2.109 do this; see `transaction` in the config)",
                l.statements
            )),
            _ => None,
        };
        if let Some(reason) = reason {
            let whole = l.whole(s);
            l.report(
                Rule::MigConcurrentlyInTransaction,
                whole,
                format!(
                    "`{}`: {what} cannot run inside a transaction block, and {reason}; the migration fails",
                    l.sql(whole)
                ),
                None,
            );
        }
    }
    if l.lock_timeout || l.lock_timeout_reported {
        return;
    }
    if let Some((table, mode)) = lock_taken(s.node).filter(|(t, _)| l.existing(t)) {
        l.lock_timeout_reported = true;
        let whole = l.whole(s);
        l.report(
            Rule::MigMissingLockTimeout,
            whole,
            format!(
                "`{}` waits for a{} {mode} lock on `{}` and no `lock_timeout` is set before it: while it waits behind a long-running query, every query on `{}` queues behind it",
                l.sql(whole),
                if mode.starts_with('A') { "n" } else { "" },
                table.show(),
                table.show()
            ),
            None,
        );
    }
}

/// The statement's kind when PostgreSQL refuses to run it inside a transaction block.
fn needs_no_transaction(n: &NodeEnum) -> Option<&'static str> {
    match n {
        NodeEnum::IndexStmt(i) if i.concurrent => Some("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(d) if d.concurrent => Some("DROP INDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(r)
            if r.params.iter().any(|p| {
                matches!(ast::node(p), Some(NodeEnum::DefElem(d)) if d.defname == "concurrently")
            }) =>
        {
            Some("REINDEX CONCURRENTLY")
        }
        NodeEnum::AlterTableStmt(a)
            if a.cmds.iter().any(|c| {
                matches!(ast::node(c), Some(NodeEnum::AlterTableCmd(c))
                    if c.subtype == AlterTableType::AtDetachPartition as i32
                    && matches!(c.def.as_deref().and_then(ast::node), Some(NodeEnum::PartitionCmd(p)) if p.concurrent))
            }) =>
        {
            Some("DETACH PARTITION CONCURRENTLY")
        }
        _ => None,
    }
}

/// The existing-table lock a statement waits for that blocks ordinary reads or writes.
fn lock_taken(n: &NodeEnum) -> Option<(Table, &'static str)> {
    let table = |rv: &Option<pg_query::protobuf::RangeVar>| rv.as_ref().map(Table::of);
    match n {
        NodeEnum::AlterTableStmt(a) => {
            let cmds: Vec<_> = ast::alter_cmds(a).map(|(_, c)| c).collect();
            if cmds
                .iter()
                .all(|c| c.subtype == AlterTableType::AtValidateConstraint as i32)
            {
                return None; // SHARE UPDATE EXCLUSIVE: reads and writes go on.
            }
            let fk_only = cmds.iter().all(|c| {
                matches!(c.def.as_deref().and_then(ast::node),
                    Some(NodeEnum::Constraint(k)) if ast::contype(k) == ConstrType::ConstrForeign)
            });
            Some((
                table(&a.relation)?,
                if fk_only {
                    "SHARE ROW EXCLUSIVE"
                } else {
                    "ACCESS EXCLUSIVE"
                },
            ))
        }
        NodeEnum::IndexStmt(i) if !i.concurrent => Some((table(&i.relation)?, "SHARE")),
        NodeEnum::DropStmt(d) if d.remove_type == ObjectType::ObjectTable as i32 => Some((
            Table::from_names(&ast::list_strings(d.objects.first()?))?,
            "ACCESS EXCLUSIVE",
        )),
        NodeEnum::TruncateStmt(t) => match ast::node(t.relations.first()?)? {
            NodeEnum::RangeVar(rv) => Some((Table::of(rv), "ACCESS EXCLUSIVE")),
            _ => None,
        },
        NodeEnum::RenameStmt(r) => Some((table(&r.relation)?, "ACCESS EXCLUSIVE")),
        NodeEnum::CreateTrigStmt(t) => Some((table(&t.relation)?, "SHARE ROW EXCLUSIVE")),
        NodeEnum::CreatePolicyStmt(p) => Some((table(&p.table)?, "ACCESS EXCLUSIVE")),
        NodeEnum::AlterPolicyStmt(p) => Some((table(&p.table)?, "ACCESS EXCLUSIVE")),
        NodeEnum::LockStmt(k) => match ast::node(k.relations.first()?)? {
            NodeEnum::RangeVar(rv) => Some((Table::of(rv), "table")),
            _ => None,
        },
        // A new table's foreign key locks the table it references.
        NodeEnum::CreateStmt(c) => c.table_elts.iter().find_map(|e| {
            let refs = |k: &pg_query::protobuf::Constraint| {
                (ast::contype(k) == ConstrType::ConstrForeign)
                    .then(|| k.pktable.as_ref().map(Table::of))
                    .flatten()
            };
            match ast::node(e)? {
                NodeEnum::Constraint(k) => refs(k),
                NodeEnum::ColumnDef(col) => ast::constraints(col).find_map(refs),
                _ => None,
            }
            .map(|t| (t, "SHARE ROW EXCLUSIVE"))
        }),
        _ => None,
    }
}

/// Track `BEGIN` / `COMMIT` and `SET lock_timeout`.
pub fn record(l: &mut Linter, s: &Stmt) {
    match s.node {
        NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
            Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => {
                l.open_begin = Some(l.line_of(s.start));
            }
            Ok(
                TransactionStmtKind::TransStmtCommit
                | TransactionStmtKind::TransStmtRollback
                | TransactionStmtKind::TransStmtPrepare,
            ) => l.open_begin = None,
            _ => {}
        },
        NodeEnum::VariableSetStmt(v) if v.name.eq_ignore_ascii_case("lock_timeout") => {
            l.lock_timeout = match VariableSetKind::try_from(v.kind) {
                Ok(VariableSetKind::VarSetValue) => v.args.first().is_some_and(|a| !is_zero(a)),
                _ => false,
            };
        }
        NodeEnum::VariableSetStmt(v) if v.kind == VariableSetKind::VarResetAll as i32 => {
            l.lock_timeout = false;
        }
        // SELECT set_config('lock_timeout', '5s', false);
        NodeEnum::SelectStmt(sel) => {
            for t in &sel.target_list {
                let Some(NodeEnum::ResTarget(rt)) = ast::node(t) else {
                    continue;
                };
                let Some(NodeEnum::FuncCall(f)) = rt.val.as_deref().and_then(ast::node) else {
                    continue;
                };
                if ast::strings(&f.funcname).last() == Some(&"set_config")
                    && f.args.first().and_then(const_str).as_deref() == Some("lock_timeout")
                {
                    l.lock_timeout = f.args.get(1).is_some_and(|a| !is_zero(a));
                }
            }
        }
        _ => {}
    }
}

fn const_str(n: &pg_query::protobuf::Node) -> Option<String> {
    use pg_query::protobuf::a_const::Val;
    match ast::node(n)? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            Val::Sval(s) => Some(s.sval.clone()),
            Val::Ival(i) => Some(i.ival.to_string()),
            Val::Fval(f) => Some(f.fval.clone()),
            _ => None,
        },
        NodeEnum::TypeCast(t) => t.arg.as_deref().and_then(const_str),
        _ => None,
    }
}

/// `0`, `'0'`, `'0ms'`: a timeout of zero disables it.
fn is_zero(n: &pg_query::protobuf::Node) -> bool {
    const_str(n).is_some_and(|v| {
        let digits: String = v
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        !digits.is_empty() && digits.chars().all(|c| c == '0')
    })
}
