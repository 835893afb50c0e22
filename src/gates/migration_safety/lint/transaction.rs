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
use super::locks::{self, Lock, Rel};
use super::{Linter, Stmt, TransactionMode};
use crate::rules::Rule;
use pg_query::protobuf::{AlterTableType, TransactionStmtKind, VariableSetKind};
use pg_query::NodeEnum;

/// Why the statement runs inside a transaction block, if it does.
fn in_transaction(l: &Linter) -> Option<String> {
    match (l.open_begin, l.opts().transaction) {
        (Some(line), _) => Some(format!("it is inside the transaction opened by `BEGIN` on line {line}")),
        (None, TransactionMode::Wrapped) => Some(
            "the migration runner wraps each file in a transaction (`transaction = \"wrapped\"`)".to_string(),
        ),
        (None, TransactionMode::OneQuery) if l.statements > 1 => Some(format!(
            "the file's {} statements are sent as one query, which PostgreSQL runs as one implicit transaction (Prisma Migrate, golang-migrate and Supabase CLI before 2.109 do this; see `transaction` in the config)",
            l.statements
        )),
        _ => None,
    }
}

pub fn check(l: &mut Linter, s: &Stmt) {
    if let Some(what) = needs_no_transaction(s.node) {
        if let Some(reason) = in_transaction(l) {
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
    begin_inside_transaction(l, s);
    validate_in_same_transaction(l, s);
    if l.lock_timeout || l.lock_timeout_reported {
        return;
    }
    let blocking: Vec<Lock> = locks::locks(s.node)
        .into_iter()
        .filter(|k| k.blocks().is_some() && l.existing_lock(k))
        .collect();
    if let Some(first) = blocking.first() {
        l.lock_timeout_reported = true;
        let whole = l.whole(s);
        let what = blocking
            .iter()
            .map(|k| {
                let mode = k.mode.name();
                format!(
                    "a{} {mode} lock on {}`{}`",
                    if mode.starts_with('A') || mode.starts_with('E') {
                        "n"
                    } else {
                        ""
                    },
                    match k.rel {
                        Rel::Index => "index ",
                        Rel::IndexesOf => "the indexes of ",
                        _ => "",
                    },
                    k.table.show()
                )
            })
            .collect::<Vec<_>>()
            .join(" and ");
        l.report(
            Rule::MigMissingLockTimeout,
            whole,
            format!(
                "`{}` waits for {what} and no `lock_timeout` is set before it: while it waits behind a long-running query, the {} of `{}` queue behind it",
                l.sql(whole),
                first.blocks().unwrap_or_default(),
                first.table.show()
            ),
            None,
        );
    }
}

/// `BEGIN` when the file already runs in a transaction: PostgreSQL only warns, and the file's
/// `COMMIT` then commits the runner's transaction early (its own bookkeeping runs outside).
fn begin_inside_transaction(l: &mut Linter, s: &Stmt) {
    let NodeEnum::TransactionStmt(t) = s.node else {
        return;
    };
    if !matches!(
        TransactionStmtKind::try_from(t.kind),
        Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart)
    ) {
        return;
    }
    let reason = match (l.open_begin, l.opts().transaction) {
        (Some(line), _) => Some(format!("the transaction opened by `BEGIN` on line {line} is still open")),
        (None, TransactionMode::Wrapped) => Some(
            "the migration runner already wraps each file in a transaction (`transaction = \"wrapped\"`)".to_string(),
        ),
        _ => None,
    };
    if let Some(reason) = reason {
        let whole = l.whole(s);
        l.report(
            Rule::MigNestedTransaction,
            whole,
            format!(
                "`{}` starts a transaction, but {reason}: PostgreSQL ignores it with a warning, and the next `COMMIT` ends the outer transaction early",
                l.sql(whole)
            ),
            None,
        );
    }
}

/// `VALIDATE CONSTRAINT` of a constraint added `NOT VALID` in the same transaction: the ADD's
/// lock is held through the whole validation scan, so `NOT VALID` bought nothing.
fn validate_in_same_transaction(l: &mut Linter, s: &Stmt) {
    let NodeEnum::AlterTableStmt(a) = s.node else {
        return;
    };
    let Some(table) = a.relation.as_ref().map(Table::of) else {
        return;
    };
    let at = a.relation.as_ref().map_or(-1, |rv| l.shift(rv.location));
    for (i, c) in ast::alter_cmds(a) {
        if c.subtype != AlterTableType::AtValidateConstraint as i32 {
            continue;
        }
        let Some((line, mode)) = l
            .not_valid_in_tx
            .iter()
            .find(|(t, n, _, _)| *t == table && *n == c.name)
            .map(|(_, _, line, mode)| (*line, *mode))
        else {
            continue;
        };
        let Some(reason) = in_transaction(l) else {
            continue;
        };
        let span = l.alter_cmd(s, at, i);
        l.report(
            Rule::MigValidateInSameTransaction,
            span,
            format!(
                "`{}` validates constraint `{}` of `{}` in the same transaction that added it NOT VALID on line {line} ({reason}): the {} lock taken there is held through the whole validation scan, so NOT VALID avoids nothing",
                l.sql(span),
                crate::text::excerpt(&c.name, 80),
                table.show(),
                mode.name()
            ),
            Some("Validate the constraint in a later migration (a separate transaction), after the one that adds it NOT VALID has committed.".to_string()),
        );
    }
}

/// The statement's kind when PostgreSQL refuses to run it inside a transaction block.
fn needs_no_transaction(n: &NodeEnum) -> Option<&'static str> {
    match n {
        NodeEnum::IndexStmt(i) if i.concurrent => Some("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(d) if d.concurrent => Some("DROP INDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(_) if locks::reindex_concurrently(n) => Some("REINDEX CONCURRENTLY"),
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd => Some("VACUUM"),
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

/// Track `BEGIN` / `COMMIT` and `SET lock_timeout`.
pub fn record(l: &mut Linter, s: &Stmt) {
    match s.node {
        NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
            Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart)
                if l.open_begin.is_none() =>
            {
                l.open_begin = Some(l.line_of(s.start));
                l.begin_span = Some(l.whole(s));
            }
            Ok(
                TransactionStmtKind::TransStmtCommit
                | TransactionStmtKind::TransStmtRollback
                | TransactionStmtKind::TransStmtPrepare,
            ) => {
                l.open_begin = None;
                l.begin_span = None;
                l.not_valid_in_tx.clear();
            }
            _ => {}
        },
        NodeEnum::AlterTableStmt(a) => {
            let Some(table) = a.relation.as_ref().map(Table::of) else {
                return;
            };
            for (_, c) in ast::alter_cmds(a) {
                if let Some(NodeEnum::Constraint(k)) = c.def.as_deref().and_then(ast::node) {
                    if c.subtype == AlterTableType::AtAddConstraint as i32
                        && k.skip_validation
                        && !k.conname.is_empty()
                    {
                        let line = l.line_of(s.start);
                        let mode = locks::alter_mode(c);
                        l.not_valid_in_tx
                            .push((table.clone(), k.conname.clone(), line, mode));
                    }
                }
            }
        }
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

/// At the end of a file: a `BEGIN` whose transaction is still open.
pub fn finish(l: &mut Linter) {
    if let (Some(span), Some(line)) = (l.begin_span.take(), l.open_begin) {
        l.report(
            Rule::MigUncommittedTransaction,
            span,
            format!(
                "`{}` on line {line} opens a transaction that the file never commits: the runner either rolls the migration back when the session ends or leaves the session inside an open transaction",
                l.sql(span)
            ),
            Some("End the file with `COMMIT;` (or remove the `BEGIN` if the runner already wraps each file in a transaction).".to_string()),
        );
    }
}
