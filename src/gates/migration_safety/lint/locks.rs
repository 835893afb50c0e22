//! The one table of which relations a statement locks, and in which mode: every lock rule
//! (`missing-lock-timeout`, the maintenance rules, the messages that name a lock) reads it, so
//! a statement kind is taught once. The modes are those PostgreSQL 15 takes, checked against
//! `pg_locks` on a real server by `tests/migration_lint.rs`
//! (`the_lock_table_agrees_with_postgresqls_pg_locks`). Options such as `CONCURRENTLY false`
//! or `FULL 0` are read the way PostgreSQL's `defGetBoolean` reads them.

use super::ast::{self, Table};
use pg_query::protobuf::{
    AlterTableType, ConstrType, DefElem, Node, ObjectType, ReindexObjectType,
};
use pg_query::NodeEnum;

/// PostgreSQL's table lock modes, weakest first (`lockdefs.h` numbers them 1 to 8 the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl Mode {
    const ALL: [Mode; 8] = [
        Mode::AccessShare,
        Mode::RowShare,
        Mode::RowExclusive,
        Mode::ShareUpdateExclusive,
        Mode::Share,
        Mode::ShareRowExclusive,
        Mode::Exclusive,
        Mode::AccessExclusive,
    ];

    /// `LockStmt.mode`: 1 (ACCESS SHARE) to 8 (ACCESS EXCLUSIVE).
    fn from_lockmode(n: i32) -> Option<Mode> {
        Mode::ALL
            .get(usize::try_from(n).ok()?.checked_sub(1)?)
            .copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::AccessShare => "ACCESS SHARE",
            Mode::RowShare => "ROW SHARE",
            Mode::RowExclusive => "ROW EXCLUSIVE",
            Mode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Mode::Share => "SHARE",
            Mode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Mode::Exclusive => "EXCLUSIVE",
            Mode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// What ordinary queries the mode makes wait: `SELECT` waits only for ACCESS EXCLUSIVE;
    /// `INSERT` / `UPDATE` / `DELETE` (ROW EXCLUSIVE) wait for SHARE and stronger.
    pub fn blocks(self) -> Option<&'static str> {
        match self {
            Mode::AccessExclusive => Some("reads and writes"),
            Mode::Share | Mode::ShareRowExclusive | Mode::Exclusive => Some("writes"),
            _ => None,
        }
    }
}

/// What kind of relation a lock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    Table,
    /// An index named by the statement: its table is locked too, but only the server knows
    /// which table that is.
    Index,
    /// Every index of the named table (`REINDEX TABLE`): the planner locks all indexes of a
    /// table for any query on it, so this blocks the table's reads and writes.
    IndexesOf,
    /// A materialized view: nothing writes to it but its own refresh, so only a lock that
    /// blocks reads matters.
    Matview,
}

/// One relation a statement locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub table: Table,
    pub mode: Mode,
    pub rel: Rel,
}

impl Lock {
    /// What ordinary queries this lock makes wait.
    pub fn blocks(&self) -> Option<&'static str> {
        match self.rel {
            Rel::Matview if self.mode != Mode::AccessExclusive => None,
            Rel::Matview => Some("reads"),
            Rel::Index | Rel::IndexesOf if self.mode == Mode::AccessExclusive => {
                Some("reads and writes (of the index's table)")
            }
            _ => self.mode.blocks(),
        }
    }
}

/// PostgreSQL's `defGetBoolean`: no value is true; the integers 0 and 1; the strings `true`,
/// `false`, `on`, `off` in any case. `None`: PostgreSQL rejects the value (the statement fails).
pub fn def_bool(d: &DefElem) -> Option<bool> {
    use pg_query::protobuf::a_const::Val;
    let Some(arg) = d.arg.as_deref().and_then(ast::node) else {
        return Some(true);
    };
    let word = |s: &str| match s.to_ascii_lowercase().as_str() {
        "true" | "on" => Some(true),
        "false" | "off" => Some(false),
        _ => None,
    };
    match arg {
        NodeEnum::Integer(i) => match i.ival {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        NodeEnum::String(s) => word(&s.sval),
        NodeEnum::Boolean(b) => Some(b.boolval),
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            Val::Ival(i) if i.ival == 0 || i.ival == 1 => Some(i.ival == 1),
            Val::Sval(s) => word(&s.sval),
            Val::Boolval(b) => Some(b.boolval),
            _ => None,
        },
        _ => None,
    }
}

/// The option `name` of a statement's option list is on (a value PostgreSQL rejects counts as
/// on: the lint fails closed, and the statement fails anyway).
pub fn option_on(options: &[Node], name: &str) -> bool {
    options.iter().any(|n| match ast::node(n) {
        Some(NodeEnum::DefElem(d)) if d.defname == name => def_bool(d) != Some(false),
        _ => false,
    })
}

/// `VACUUM` with `FULL` on (`VACUUM FULL`, `VACUUM (FULL)`, `VACUUM (FULL true)`, …).
pub fn vacuum_full(n: &NodeEnum) -> bool {
    matches!(n, NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && option_on(&v.options, "full"))
}

/// `REINDEX` with `CONCURRENTLY` on (`REINDEX INDEX CONCURRENTLY i`, `REINDEX (CONCURRENTLY) …`).
pub fn reindex_concurrently(n: &NodeEnum) -> bool {
    matches!(n, NodeEnum::ReindexStmt(r) if option_on(&r.params, "concurrently"))
}

fn lock(table: Table, mode: Mode) -> Lock {
    Lock {
        table,
        mode,
        rel: Rel::Table,
    }
}

/// The lock an `ALTER TABLE` sub-command takes on the table (`AlterTableGetLockLevel`).
pub fn alter_mode(c: &pg_query::protobuf::AlterTableCmd) -> Mode {
    use AlterTableType as T;
    let def = c.def.as_deref().and_then(ast::node);
    match AlterTableType::try_from(c.subtype).unwrap_or(T::Undefined) {
        T::AtValidateConstraint
        | T::AtSetStatistics
        | T::AtSetOptions
        | T::AtResetOptions
        | T::AtSetRelOptions
        | T::AtResetRelOptions
        | T::AtClusterOn
        | T::AtDropCluster
        | T::AtAttachPartition => Mode::ShareUpdateExclusive,
        T::AtDetachPartition if matches!(def, Some(NodeEnum::PartitionCmd(p)) if p.concurrent) => {
            Mode::ShareUpdateExclusive
        }
        T::AtAddConstraint if matches!(def, Some(NodeEnum::Constraint(k)) if ast::contype(k) == ConstrType::ConstrForeign) => {
            Mode::ShareRowExclusive
        }
        T::AtEnableTrig
        | T::AtEnableAlwaysTrig
        | T::AtEnableReplicaTrig
        | T::AtEnableTrigAll
        | T::AtEnableTrigUser
        | T::AtDisableTrig
        | T::AtDisableTrigAll
        | T::AtDisableTrigUser => Mode::ShareRowExclusive,
        _ => Mode::AccessExclusive,
    }
}

/// The tables a foreign key references, from a constraint (and an `ADD COLUMN`'s inline ones).
fn referenced(def: Option<&NodeEnum>) -> Vec<Table> {
    let of = |k: &pg_query::protobuf::Constraint| {
        (ast::contype(k) == ConstrType::ConstrForeign)
            .then(|| k.pktable.as_ref().map(Table::of))
            .flatten()
    };
    match def {
        Some(NodeEnum::Constraint(k)) => of(k).into_iter().collect(),
        Some(NodeEnum::ColumnDef(col)) => ast::constraints(col).filter_map(of).collect(),
        _ => Vec::new(),
    }
}

fn range_vars(list: &[Node]) -> impl Iterator<Item = Table> + '_ {
    list.iter().filter_map(|n| match ast::node(n) {
        Some(NodeEnum::RangeVar(rv)) => Some(Table::of(rv)),
        Some(NodeEnum::VacuumRelation(v)) => v.relation.as_ref().map(Table::of),
        _ => None,
    })
}

/// Every relation the statement locks by name, with the strongest mode it takes on each.
pub fn locks(n: &NodeEnum) -> Vec<Lock> {
    let mut out: Vec<Lock> = Vec::new();
    let mut add = |l: Lock| match out
        .iter_mut()
        .find(|o| o.table == l.table && o.rel == l.rel)
    {
        Some(o) => o.mode = o.mode.max(l.mode),
        None => out.push(l),
    };
    let table = |rv: &Option<pg_query::protobuf::RangeVar>| rv.as_ref().map(Table::of);
    match n {
        NodeEnum::AlterTableStmt(a) => {
            let Some(t) = table(&a.relation) else {
                return out;
            };
            for (_, c) in ast::alter_cmds(a) {
                add(lock(t.clone(), alter_mode(c)));
                // A foreign key also locks the table it references, NOT VALID or not.
                for r in referenced(c.def.as_deref().and_then(ast::node)) {
                    add(lock(r, Mode::ShareRowExclusive));
                }
            }
        }
        NodeEnum::CreateStmt(c) => {
            for e in &c.table_elts {
                for r in referenced(ast::node(e)) {
                    add(lock(r, Mode::ShareRowExclusive));
                }
            }
        }
        NodeEnum::IndexStmt(i) => {
            if let Some(t) = table(&i.relation) {
                add(lock(
                    t,
                    if i.concurrent {
                        Mode::ShareUpdateExclusive
                    } else {
                        Mode::Share
                    },
                ));
            }
        }
        NodeEnum::DropStmt(d) => {
            let kind = ObjectType::try_from(d.remove_type).unwrap_or(ObjectType::Undefined);
            for names in d.objects.iter().map(ast::list_strings) {
                match kind {
                    ObjectType::ObjectTable => {
                        if let Some(t) = Table::from_names(&names) {
                            add(lock(t, Mode::AccessExclusive));
                        }
                    }
                    ObjectType::ObjectIndex => {
                        if let Some(t) = Table::from_names(&names) {
                            add(Lock {
                                table: t,
                                mode: if d.concurrent {
                                    Mode::ShareUpdateExclusive
                                } else {
                                    Mode::AccessExclusive
                                },
                                rel: Rel::Index,
                            });
                        }
                    }
                    // `DROP TRIGGER / POLICY name ON table`: the names end with the table's.
                    ObjectType::ObjectTrigger | ObjectType::ObjectPolicy => {
                        if let Some(t) = names
                            .split_last()
                            .and_then(|(_, table)| Table::from_names(table))
                        {
                            add(lock(t, Mode::AccessExclusive));
                        }
                    }
                    _ => {}
                }
            }
        }
        NodeEnum::TruncateStmt(t) => {
            for t in range_vars(&t.relations) {
                add(lock(t, Mode::AccessExclusive));
            }
        }
        NodeEnum::RenameStmt(r) => {
            if let Some(t) = table(&r.relation) {
                match ObjectType::try_from(r.rename_type) {
                    // ALTER INDEX … RENAME: SHARE UPDATE EXCLUSIVE on the index (PostgreSQL 12+).
                    Ok(ObjectType::ObjectIndex) => add(Lock {
                        table: t,
                        mode: Mode::ShareUpdateExclusive,
                        rel: Rel::Index,
                    }),
                    _ => add(lock(t, Mode::AccessExclusive)),
                }
            }
        }
        NodeEnum::CreateTrigStmt(t) => {
            if let Some(t) = table(&t.relation) {
                add(lock(t, Mode::ShareRowExclusive));
            }
        }
        NodeEnum::CreatePolicyStmt(p) => {
            if let Some(t) = table(&p.table) {
                add(lock(t, Mode::AccessExclusive));
            }
        }
        NodeEnum::AlterPolicyStmt(p) => {
            if let Some(t) = table(&p.table) {
                add(lock(t, Mode::AccessExclusive));
            }
        }
        NodeEnum::LockStmt(k) => {
            let mode = Mode::from_lockmode(k.mode).unwrap_or(Mode::AccessExclusive);
            for t in range_vars(&k.relations) {
                add(lock(t, mode));
            }
        }
        NodeEnum::ClusterStmt(c) => {
            if let Some(t) = table(&c.relation) {
                add(lock(t, Mode::AccessExclusive));
            }
        }
        NodeEnum::VacuumStmt(v) => {
            let mode = if vacuum_full(n) {
                Mode::AccessExclusive
            } else {
                Mode::ShareUpdateExclusive
            };
            for t in range_vars(&v.rels) {
                add(lock(t, mode));
            }
        }
        NodeEnum::ReindexStmt(r) => {
            let concurrent = reindex_concurrently(n);
            if let Some(t) = table(&r.relation) {
                match ReindexObjectType::try_from(r.kind) {
                    Ok(ReindexObjectType::ReindexObjectIndex) => add(Lock {
                        table: t,
                        mode: if concurrent {
                            Mode::ShareUpdateExclusive
                        } else {
                            Mode::AccessExclusive
                        },
                        rel: Rel::Index,
                    }),
                    Ok(ReindexObjectType::ReindexObjectTable) if concurrent => {
                        add(lock(t, Mode::ShareUpdateExclusive));
                    }
                    Ok(ReindexObjectType::ReindexObjectTable) => {
                        add(lock(t.clone(), Mode::Share));
                        add(Lock {
                            table: t,
                            mode: Mode::AccessExclusive,
                            rel: Rel::IndexesOf,
                        });
                    }
                    _ => {}
                }
            }
        }
        NodeEnum::RefreshMatViewStmt(r) => {
            if let Some(t) = table(&r.relation) {
                add(Lock {
                    table: t,
                    mode: if r.concurrent {
                        Mode::Exclusive
                    } else {
                        Mode::AccessExclusive
                    },
                    rel: Rel::Matview,
                });
            }
        }
        _ => {}
    }
    out
}
