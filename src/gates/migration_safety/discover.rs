//! Which migration files this run looks at, shared by the lint and the dry run.
//!
//! Migrations are found by glob (`supabase/migrations/*.sql`,
//! `prisma/migrations/*/migration.sql` and the config's extra globs); `*.sql.skip` files are
//! never migrations; rollback files (`rollback_*.sql`, `*.down.sql`, `down.sql`) are found but
//! marked, so the additive-only policy does not hold them to it. By default only the migrations
//! the PR adds or changes are checked; `--all` (or unknown changed files) checks every one.

use super::super::Context;
use crate::finding::{Finding, GateOutput, Location};
use crate::globs::{self, Style};
use crate::rules::Rule;
use anyhow::Result;
use globset::GlobSet;

pub const DEFAULT_MIGRATIONS: &[&str] = &[
    "supabase/migrations/*.sql",
    "prisma/migrations/*/migration.sql",
];
pub const DEFAULT_ROLLBACKS: &[&str] = &["**/rollback_*.sql", "**/*.down.sql", "**/down.sql"];

/// Migration files are read whole; one larger than this is a finding, not read.
pub const MAX_MIGRATION_BYTES: u64 = 16 << 20;

/// One migration file, read.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// A rollback (down) migration: not held to the additive-only policy.
    pub rollback: bool,
    pub text: String,
}

/// The migrations of this run, in path order (timestamped names sort in apply order).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub migrations: Vec<Migration>,
    /// Every migration in the repository was taken (`--all`, or the changed files are unknown).
    pub all: bool,
}

/// Which files are migrations, and which of them are rollbacks.
pub struct Options {
    /// The default globs plus the config's `migrations`.
    pub migrations: GlobSet,
    pub rollbacks: GlobSet,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            migrations: globs::set(
                DEFAULT_MIGRATIONS,
                "migration-safety.migrations",
                Style::Paths,
            )
            .expect("default globs"),
            rollbacks: globs::set(
                DEFAULT_ROLLBACKS,
                "migration-safety.rollbacks",
                Style::Paths,
            )
            .expect("default globs"),
        }
    }
}

/// The migrations this run checks: those the PR adds or changes, or every one (`all`, or
/// when the changed files are unknown).
pub fn find(ctx: &Context<'_>, opts: &Options, every: bool, out: &mut GateOutput) -> Result<Found> {
    let (migrations, rollbacks) = (&opts.migrations, &opts.rollbacks);
    let is_migration = |p: &str| !p.ends_with(".skip") && migrations.is_match(p);

    let all = every || ctx.pr.changed_files.is_none();
    let mut paths: Vec<String> = if all {
        if !every {
            out.push(Finding::new(
                Rule::ChangedFilesUnknown,
                "the PR's changed files are unknown, so every migration in the repository is checked",
            ));
        }
        walk(ctx, &is_migration)
    } else {
        ctx.pr
            .changed_files
            .iter()
            .flatten()
            .filter(|f| f.status.exists() && is_migration(&f.path))
            .map(|f| f.path.clone())
            .collect()
    };
    paths.sort();
    paths.dedup();
    let mut found = Found {
        migrations: Vec::new(),
        all,
    };
    for path in paths {
        match ctx.workspace.read_capped(&path, MAX_MIGRATION_BYTES) {
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => found.migrations.push(Migration {
                    rollback: rollbacks.is_match(&path),
                    text,
                    path,
                }),
                // PostgreSQL refuses bytes that are not UTF-8 ("invalid byte sequence"), even
                // in a comment: linting or dry-running a repaired text would pass a migration
                // that cannot be applied.
                Err(e) => out.push(not_utf8(&path, e.as_bytes(), e.utf8_error().valid_up_to())),
            },
            Ok(None) => out.push(
                Finding::new(
                    Rule::MigFileUnreadable,
                    format!(
                        "`{path}` is larger than {} and was not checked",
                        crate::text::thousands(MAX_MIGRATION_BYTES)
                    ),
                )
                .at(Location::file(&path)),
            ),
            Err(e) => out.push(
                Finding::new(Rule::MigFileUnreadable, format!("`{path}` {e}"))
                    .at(Location::file(&path)),
            ),
        }
    }
    out.notes.push(format!(
        "{} migration file(s) checked ({})",
        found.migrations.len(),
        if all {
            "all in the repository"
        } else {
            "added or changed by the PR"
        }
    ));
    Ok(found)
}

/// The finding for a migration whose bytes stop being UTF-8 at `at`, located there.
fn not_utf8(path: &str, bytes: &[u8], at: usize) -> Finding {
    let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
    let line = memchr::memchr_iter(b'\n', &bytes[..start]).count() + 1;
    let col = String::from_utf8_lossy(&bytes[start..at]).chars().count() + 1;
    Finding::new(
        Rule::MigFileUnreadable,
        format!(
            "`{path}` is not UTF-8 text (byte 0x{:02x} at line {line}, column {col}), which PostgreSQL refuses to run, so it was not checked",
            bytes[at]
        ),
    )
    .at(Location::span(path, line, col, col))
}

/// Every file under the repository root that `keep` accepts, honouring ignore files; symlinks
/// are not followed (a migration is a regular file of the repository).
fn walk(ctx: &Context<'_>, keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    let root = ctx.workspace.root();
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        // Hidden directories are searched (`.supabase/…` layouts), git's own store is not.
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .flatten()
    {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if keep(&rel) {
            out.push(rel);
        }
    }
    out
}
