//! Row-level security. PostgREST (and so Supabase) serves every table of an exposed schema to
//! any client holding the public API key; only row-level security keeps a table's rows from
//! all of them. A table the PR creates in an exposed schema must enable it somewhere in the PR
//! (`table-without-rls`: an error in the Supabase layout, where the key ships in the app, a
//! warning otherwise), and no migration may turn it off on a table that existed before
//! (`rls-disabled`).
//!
//! Whether a new table got its `ENABLE ROW LEVEL SECURITY` is known only after the PR's last
//! migration, so the finding waits in `Created::without_rls` and `pending` reports it then.

use super::ast::{self, Table};
use super::{Linter, Stmt};
use crate::finding::{Finding, Severity, MAX_FINDINGS_PER_FILE};
use crate::rules::Rule;
use pg_query::protobuf::{AlterTableType, ObjectType, RangeVar};
use pg_query::NodeEnum;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// The PR's new tables in exposed schemas, waiting for `ENABLE ROW LEVEL SECURITY`.
#[derive(Debug, Clone, Default)]
pub struct Waiting {
    /// By a keyed hash of the table's schema and name rather than the names themselves: a
    /// migration of 300,000 `CREATE TABLE`s must not hold them all twice. The key is random per
    /// run, so no PR can pick two names that collide.
    tables: HashMap<u64, Pending>,
    keys: RandomState,
    /// Tables seen so far: the order findings are reported in.
    seen: usize,
    /// Findings held: at most `MAX_FINDINGS_PER_FILE`, so that a migration of 300,000
    /// `CREATE TABLE`s holds no more; the others are counted.
    held: usize,
}

/// 16 bytes: one is kept per new table.
#[derive(Debug, Clone)]
struct Pending {
    order: u32,
    enabled: bool,
    severity: Severity,
    /// The finding if RLS never comes; `None` for the counted ones.
    finding: Option<Box<Finding>>,
}

impl Waiting {
    /// How far the waiting list has come, for `forget_after`.
    pub fn mark(&self) -> usize {
        self.seen
    }

    /// Forget the tables created after `mark` (their file did not parse after all).
    pub fn forget_after(&mut self, mark: usize) {
        self.tables.retain(|_, p| p.order as usize <= mark);
    }
}

pub fn check(l: &mut Linter, s: &Stmt) {
    if l.rollback {
        // A rollback that re-creates a dropped table restores what the base had.
        return;
    }
    match s.node {
        NodeEnum::CreateStmt(c) => {
            if let Some(rv) = &c.relation {
                created(l, s, rv);
            }
        }
        NodeEnum::CreateTableAsStmt(c) if c.objtype == ObjectType::ObjectTable as i32 => {
            if let Some(rv) = c.into.as_ref().and_then(|i| i.rel.as_ref()) {
                created(l, s, rv);
            }
        }
        // `SELECT … INTO t` creates a table as `CREATE TABLE t AS SELECT …` does.
        NodeEnum::SelectStmt(q) => {
            if let Some(rv) = q.into_clause.as_ref().and_then(|i| i.rel.as_ref()) {
                created(l, s, rv);
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            let Some(rv) = &a.relation else {
                return;
            };
            let table = Table::of(rv);
            for (i, c) in ast::alter_cmds(a) {
                match AlterTableType::try_from(c.subtype) {
                    Ok(AlterTableType::AtEnableRowSecurity) => set(l, &table, true),
                    Ok(AlterTableType::AtDisableRowSecurity) => {
                        set(l, &table, false);
                        if l.existing(&table) {
                            let span = l.alter_cmd(s, l.shift(rv.location), i);
                            l.report(
                                Rule::MigRlsDisabled,
                                span,
                                format!(
                                    "`{}` turns row-level security off on `{}`, which existed before this PR: every client with the API key can then read and write all of its rows",
                                    l.sql(span),
                                    table.show()
                                ),
                                None,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        NodeEnum::DropStmt(d) if d.remove_type == ObjectType::ObjectTable as i32 => {
            let dropped: Vec<Table> = d
                .objects
                .iter()
                .filter_map(|n| Table::from_names(&ast::list_strings(n)))
                .collect();
            let w = &mut l.created.without_rls;
            for t in &dropped {
                w.tables.remove(&w.keys.hash_one(t));
            }
        }
        NodeEnum::RenameStmt(r) if r.rename_type == ObjectType::ObjectTable as i32 => {
            if let Some(rv) = &r.relation {
                let w = &mut l.created.without_rls;
                let old = Table::of(rv);
                if let Some(p) = w.tables.remove(&w.keys.hash_one(&old)) {
                    let new = Table {
                        name: r.newname.clone(),
                        ..old
                    };
                    w.tables.insert(w.keys.hash_one(&new), p);
                }
            }
        }
        _ => {}
    }
}

/// A `CREATE TABLE` of `rv`: a pending finding when the table lands in an exposed schema.
fn created(l: &mut Linter, s: &Stmt, rv: &RangeVar) {
    if rv.relpersistence == "t" {
        return;
    }
    let table = Table::of(rv);
    // After a `search_path` change an unqualified name may land in any schema: it is taken to
    // be exposed, and the author can write the schema to say otherwise.
    let exposed = (!table.qualified && l.created.path_changed)
        || l.opts().exposed_schemas.contains(&table.schema);
    if !exposed {
        return;
    }
    let span = name_span(l, s, rv);
    let supabase = crate::gates::migration_safety::discover::is_supabase(l.path);
    let place = match table.qualified || !l.created.path_changed {
        true => format!(
            "in the exposed schema `{}`",
            crate::text::excerpt(&table.schema, 80)
        ),
        false => "after a `search_path` change, so it may land in an exposed schema (write the schema to say where),".to_string(),
    };
    let message = format!(
        "`{}` creates `{}` {place} without `ENABLE ROW LEVEL SECURITY` anywhere in this PR: {}",
        l.sql(l.whole(s)),
        table.show(),
        if supabase {
            "Supabase serves it to every client holding the anon key, which ships in the app"
        } else {
            "an API that serves this schema (PostgREST, Supabase) returns all of its rows to any client"
        }
    );
    // Prisma's schema language cannot enable row-level security: it goes into the migration.
    let help = l.path.starts_with("prisma/migrations/").then(|| {
        "Prisma's schema cannot enable row-level security: add `ALTER TABLE … ENABLE ROW LEVEL SECURITY;` (and policies) to this migration.sql before it is applied (`prisma migrate dev --create-only`, edit, then `prisma migrate dev`).".to_string()
    });
    let severity = crate::gates::migration_safety::discover::without_rls_severity(l.path);
    let held = l.created.without_rls.held < MAX_FINDINGS_PER_FILE;
    let finding = held
        .then(|| l.finding(Rule::MigTableWithoutRls, span, message, help))
        .flatten()
        .map(|mut f| {
            f.severity = severity;
            Box::new(f)
        });
    let w = &mut l.created.without_rls;
    w.held += usize::from(finding.is_some());
    w.seen += 1;
    w.tables.insert(
        w.keys.hash_one(&table),
        Pending {
            order: u32::try_from(w.seen).unwrap_or(u32::MAX),
            enabled: false,
            severity,
            finding,
        },
    );
}

/// The (qualified) table name of a statement: from `rv.location` over `name . name`.
fn name_span(l: &mut Linter, s: &Stmt, rv: &RangeVar) -> super::Span {
    let whole = l.whole(s);
    let Ok(at) = usize::try_from(l.shift(rv.location)) else {
        return whole;
    };
    let toks = l.statement_tokens(s);
    let Some(first) = toks.iter().position(|t| t.0 >= at) else {
        return whole;
    };
    let mut last = first;
    while last + 2 < toks.len() && l.text_of(&toks[last + 1]) == "." {
        last += 2;
    }
    super::Span {
        start: toks[first].0,
        end: toks[last].1,
    }
}

fn set(l: &mut Linter, table: &Table, enabled: bool) {
    let w = &mut l.created.without_rls;
    if let Some(p) = w.tables.get_mut(&w.keys.hash_one(table)) {
        p.enabled = enabled;
    }
}

/// The findings of the PR's new tables that never enabled row-level security, in the order
/// the tables were created; past the held ones, one finding that counts the rest.
pub fn pending(waiting: Waiting) -> Vec<Finding> {
    let mut left: Vec<Pending> = waiting
        .tables
        .into_values()
        .filter(|p| !p.enabled)
        .collect();
    left.sort_by_key(|p| p.order);
    let (mut out, mut more, mut worst) = (Vec::new(), 0u64, Severity::Notice);
    for p in left {
        match p.finding {
            Some(f) => out.push(*f),
            None => {
                more += 1;
                worst = worst.max(p.severity);
            }
        }
    }
    if more > 0 {
        let mut f = Finding::new(
            Rule::MigTableWithoutRls,
            format!(
                "{} more new tables in exposed schemas without `ENABLE ROW LEVEL SECURITY` are not listed (at most {MAX_FINDINGS_PER_FILE} are)",
                crate::text::thousands(more)
            ),
        );
        f.severity = worst;
        out.push(f);
    }
    out
}
