//! The pieces of a migration file the dry run needs: its statements (split by PostgreSQL's
//! own parser, with byte offsets mapped to 1-based lines and columns) and its place in the
//! apply order (the version prefix of its name).

use pg_query::protobuf::TransactionStmtKind;
use pg_query::NodeEnum;

pub use crate::text::LineIndex;

/// What the dry run must know about a statement before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `BEGIN`, `COMMIT`, `ROLLBACK`, …: the dry run owns the transaction, so these are skipped.
    Transaction,
    /// `TRUNCATE` gives a table a new relfilenode without rewriting it.
    Truncate,
    /// Acts outside the scratch database — on another database, the server's configuration,
    /// tablespaces or its file system (`DROP DATABASE`, `ALTER SYSTEM`, `COPY … TO PROGRAM`):
    /// never run. The text names the statement.
    Outside(&'static str),
    Other,
}

#[derive(Debug, Clone)]
pub struct Statement {
    /// Byte range of the statement's text (without the `;`).
    pub start: usize,
    pub end: usize,
    /// Byte offset of its first token (after leading whitespace and comments).
    pub first_token: usize,
    pub kind: Kind,
}

/// Split a migration into statements with PostgreSQL's grammar. A file that does not parse
/// is never sent (nothing in it could be checked for `Kind::Outside`): the error is PostgreSQL
/// parser's message.
pub fn split(text: &str) -> Result<Vec<Statement>, String> {
    // The tree may be 10,000 levels deep: decoded, read and dropped on a large stack.
    crate::gates::migration_safety::lint::parse::with_stack(|| {
        let parsed = pg_query::parse(text, 0).map_err(|e| match e {
            pg_query::Error::Parse(m) => m,
            other => other.to_string(),
        })?;
        offsets(text, &parsed)
            .ok_or_else(|| "the parser returned statement offsets outside the file".to_string())
    })
}

fn offsets(text: &str, parsed: &pg_query::ParseResult) -> Option<Vec<Statement>> {
    let mut out = Vec::new();
    for raw in &parsed.protobuf.stmts {
        let start = usize::try_from(raw.stmt_location).ok()?;
        let end = match usize::try_from(raw.stmt_len).ok()? {
            0 => text.len(),
            n => start.checked_add(n)?,
        };
        if end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return None;
        }
        let kind = match raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::TransactionStmt(t)) => {
                use TransactionStmtKind as K;
                match TransactionStmtKind::try_from(t.kind).unwrap_or(K::Undefined) {
                    K::TransStmtSavepoint | K::TransStmtRelease | K::TransStmtRollbackTo => {
                        Kind::Other
                    }
                    _ => Kind::Transaction,
                }
            }
            Some(NodeEnum::TruncateStmt(_)) => Kind::Truncate,
            Some(NodeEnum::CreatedbStmt(_)) => Kind::Outside("CREATE DATABASE"),
            Some(NodeEnum::DropdbStmt(_)) => Kind::Outside("DROP DATABASE"),
            Some(
                NodeEnum::AlterDatabaseStmt(_)
                | NodeEnum::AlterDatabaseSetStmt(_)
                | NodeEnum::AlterDatabaseRefreshCollStmt(_),
            ) => Kind::Outside("ALTER DATABASE"),
            Some(NodeEnum::AlterSystemStmt(_)) => Kind::Outside("ALTER SYSTEM"),
            Some(
                NodeEnum::CreateTableSpaceStmt(_)
                | NodeEnum::DropTableSpaceStmt(_)
                | NodeEnum::AlterTableSpaceOptionsStmt(_),
            ) => Kind::Outside("a TABLESPACE statement"),
            Some(NodeEnum::LoadStmt(_)) => Kind::Outside("LOAD"),
            Some(NodeEnum::CopyStmt(c)) if c.is_program || !c.filename.is_empty() => {
                Kind::Outside("COPY to or from a server file or program")
            }
            _ => Kind::Other,
        };
        out.push(Statement {
            start,
            end,
            first_token: skip_trivia(text, start, end),
            kind,
        });
    }
    Some(out)
}

/// The offset of the file's first token (where a finding about the whole file goes).
pub fn first_token(text: &str) -> usize {
    skip_trivia(text, 0, text.len())
}

/// The offset of the first token in `text[from..to]`; `from` when it is all trivia.
fn skip_trivia(text: &str, from: usize, to: usize) -> usize {
    match crate::text::skip_sql_trivia(text, from, to) {
        i if i >= to => from,
        i => i,
    }
}

/// The apply order of a migration: the version prefix of its name. For tools that name the
/// directory and not the file (`prisma/migrations/<version>_<name>/migration.sql`, diesel's
/// `<version>_<name>/up.sql`) the directory counts. A prefix is digits separated by `.` or `-`
/// (`20240101120000`, `000001`, `V1.2`, `2024-01-01-000000`) and compares number by number;
/// names without one sort after all versioned ones, by path.
pub fn version(path: &str) -> Option<Vec<u128>> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?;
    let generic = matches!(
        file.to_ascii_lowercase().as_str(),
        "migration.sql" | "up.sql" | "down.sql"
    );
    let name = if generic { parts.next()? } else { file };
    let token = name.split('_').next()?;
    let token = token.strip_suffix(".sql").unwrap_or(token);
    let token = token
        .strip_prefix(['V', 'v'])
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(token);
    if !token.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    token
        .split(['.', '-'])
        .map(|p| p.parse::<u128>().ok())
        .collect()
}

/// Sort migrations into apply order (see `version`).
pub fn sort_by_version<T>(items: &mut [T], path: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|m| {
        let p = path(m);
        let v = version(p);
        (v.is_none(), v, p.to_string())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_start_at_their_first_token_and_map_to_lines() {
        let sql = "-- header\nCREATE TABLE a (id int);\n\n/* c /* nested */ */ BEGIN;\nALTER TABLE a\n  ADD COLUMN b int;\nTRUNCATE a";
        let stmts = split(sql).unwrap();
        let idx = LineIndex::new(sql);
        let pos: Vec<_> = stmts.iter().map(|s| idx.pos(s.first_token)).collect();
        assert_eq!(pos, [(2, 1), (4, 22), (5, 1), (7, 1)]);
        assert_eq!(
            stmts.iter().map(|s| s.kind).collect::<Vec<_>>(),
            [Kind::Other, Kind::Transaction, Kind::Other, Kind::Truncate]
        );
        assert!(split("CREATE TABLE (").is_err());
        let outside =
            split("COPY t FROM PROGRAM 'id'; DROP DATABASE postgres; COPY t FROM STDIN").unwrap();
        assert_eq!(
            outside.iter().map(|s| s.kind).collect::<Vec<_>>(),
            [
                Kind::Outside("COPY to or from a server file or program"),
                Kind::Outside("DROP DATABASE"),
                Kind::Other
            ]
        );
    }

    #[test]
    fn versions_order_tools_layouts() {
        let mut paths = vec![
            "supabase/migrations/20240301000000_b.sql",
            "prisma/migrations/20240201000000_a/migration.sql",
            "db/V1.10__x.sql",
            "db/V1.9__x.sql",
            "misc/seed.sql",
        ];
        sort_by_version(&mut paths, |p| p);
        assert_eq!(
            paths,
            [
                "db/V1.9__x.sql",
                "db/V1.10__x.sql",
                "prisma/migrations/20240201000000_a/migration.sql",
                "supabase/migrations/20240301000000_b.sql",
                "misc/seed.sql",
            ]
        );
        assert_eq!(
            version("migrations/2024-01-01-000000_create/up.sql"),
            Some(vec![2024, 1, 1, 0])
        );
    }
}
