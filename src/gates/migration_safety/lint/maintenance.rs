//! Maintenance commands that rewrite or rebuild a live relation under a lock that blocks it:
//! `VACUUM FULL` and `CLUSTER` (rewrite the table under ACCESS EXCLUSIVE), `REINDEX` without
//! `CONCURRENTLY` (SHARE on the table, ACCESS EXCLUSIVE on the index) and `REFRESH
//! MATERIALIZED VIEW` without `CONCURRENTLY` (ACCESS EXCLUSIVE on the view). Which relation
//! and mode come from the lock table (`locks`); options are read as PostgreSQL reads them
//! (`VACUUM (FULL 0)` is a plain vacuum, `REINDEX (CONCURRENTLY off)` is not concurrent).
//! Relations created earlier in the PR are empty and not flagged; a command without a
//! relation (the whole database or schema) always is.

use super::locks::{self, Lock};
use super::{Linter, Stmt};
use crate::rules::Rule;
use pg_query::NodeEnum;

pub fn check(l: &mut Linter, s: &Stmt) {
    let (rule, what) = match s.node {
        NodeEnum::VacuumStmt(_) if locks::vacuum_full(s.node) => {
            (Rule::MigVacuumFull, "rewrites the whole table")
        }
        NodeEnum::ClusterStmt(_) => (Rule::MigCluster, "rewrites the whole table in index order"),
        NodeEnum::ReindexStmt(_) if !locks::reindex_concurrently(s.node) => (
            Rule::MigReindexWithoutConcurrently,
            "rebuilds the index from scratch",
        ),
        NodeEnum::RefreshMatViewStmt(r) if !r.concurrent => (
            Rule::MigRefreshWithoutConcurrently,
            "recomputes the view's whole query",
        ),
        _ => return,
    };
    let all = locks::locks(s.node);
    let live: Vec<&Lock> = all.iter().filter(|k| l.existing_lock(k)).collect();
    if !all.is_empty() && live.is_empty() {
        return; // Only relations the PR created: empty, nothing waits.
    }
    let on = if live.is_empty() {
        "every relation it covers".to_string()
    } else {
        live.iter()
            .map(|k| format!("`{}` ({})", k.table.show(), k.mode.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let blocks = live
        .iter()
        .find_map(|k| k.blocks())
        .unwrap_or("reads and writes");
    let whole = l.whole(s);
    l.report(
        rule,
        whole,
        format!(
            "`{}` {what} while holding its lock on {on}: {blocks} wait until it finishes",
            l.sql(whole)
        ),
        None,
    );
}
