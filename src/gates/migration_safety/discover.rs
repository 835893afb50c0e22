//! Which migration files this run looks at, shared by the lint and the dry run.
//!
//! Migrations are found by glob (`supabase/migrations/*.sql`,
//! `prisma/migrations/*/migration.sql` and the config's extra globs); `*.sql.skip` files are
//! never migrations; rollback files (`rollback_*.sql`, `*.down.sql`, `down.sql`) are found but
//! marked, so the additive-only policy does not hold them to it — unless the folder's
//! migration tool applies them anyway (`applied_by_its_tool`). By default only the migrations
//! the PR adds or changes are checked; `--all` (or unknown changed files) checks every one.

use super::super::Context;
use crate::finding::{Finding, GateOutput, Location};
use crate::globs::{self, Style};
use crate::rules::{Rule, Severity};
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
    /// The default globs plus the config's `migrations`, as written (their literal folders are
    /// checked for symlinks that lead out of the repository) and compiled.
    pub migration_globs: Vec<String>,
    pub migrations: GlobSet,
    pub rollbacks: GlobSet,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            migration_globs: DEFAULT_MIGRATIONS.iter().map(|s| s.to_string()).collect(),
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
        // A changed file is a migration under its own path or under a symlinked folder's.
        let tree = ctx.workspace.files();
        ctx.pr
            .changed_files
            .iter()
            .flatten()
            .filter(|f| f.status.exists())
            .flat_map(|f| [vec![f.path.clone()], tree.aliases(&f.path)].concat())
            .filter(|p| is_migration(p))
            .collect()
    };
    escaping_folders(ctx, &opts.migration_globs, &is_migration, out);
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
                    rollback: rollbacks.is_match(&path) && !applied_by_its_tool(&path),
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

/// Where the Supabase CLI keeps its migrations.
const SUPABASE_MIGRATIONS: &str = "supabase/migrations/";

/// A migration of the Supabase layout, whose API serves the `public` schema to every holder
/// of the anon key.
pub fn is_supabase(path: &str) -> bool {
    path.starts_with(SUPABASE_MIGRATIONS)
}

/// How bad an exposed table without row-level security is, created by the migration at `path`:
/// an error in the Supabase layout, where the anon key that reads it ships in the app; else the
/// rule's default (the lint and the dry run's catalog check both ask here).
pub fn without_rls_severity(path: &str) -> Severity {
    match is_supabase(path) {
        true => Severity::Error,
        false => Rule::MigTableWithoutRls.default_severity(),
    }
}

/// Whether the migration tool of the file's folder applies it, whatever its name says. The
/// Supabase CLI applies every `supabase/migrations/<digits>_<name>.sql` (its pattern is
/// `^([0-9]+)_(.*)\.sql$`), so `…_cleanup.down.sql` there is a migration, not a rollback;
/// `rollback_1.sql` does not match and is never applied. Prisma applies only
/// `<folder>/migration.sql`, which no rollback glob names. Other layouts (the config's globs)
/// are judged by the rollback globs alone.
fn applied_by_its_tool(path: &str) -> bool {
    let Some(name) = path.strip_prefix(SUPABASE_MIGRATIONS) else {
        return false;
    };
    let Some((version, rest)) = name.split_once('_') else {
        return false;
    };
    !name.contains('/')
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
        && rest.ends_with(".sql")
}

/// A migrations folder (or a folder above it) that is a symlink resolving outside the
/// repository: what it holds is applied but cannot be checked.
fn escaping_folders(
    ctx: &Context<'_>,
    globs: &[String],
    is_migration: &dyn Fn(&str) -> bool,
    out: &mut GateOutput,
) {
    let tree = ctx.workspace.files();
    let mut seen = std::collections::BTreeSet::new();
    for g in globs {
        let dir = crate::workspace::literal_dir(g);
        for (link, to) in tree.escaping_at(&dir) {
            if !is_migration(link) && seen.insert(link.clone()) {
                out.push(
                    Finding::new(
                        Rule::MigFileUnreadable,
                        format!("`{link}` resolves outside the repository (symlink to {to}), so the migrations in it were not checked"),
                    )
                    .at(Location::file(link)),
                );
            }
        }
    }
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

/// Every file of the workspace's file set (what git tracks, never filtered by ignore files;
/// a symlinked migrations folder inside the repository is listed through) that `keep` accepts.
fn walk(ctx: &Context<'_>, keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    let files = ctx.workspace.files();
    files.files.iter().filter(|p| keep(p)).cloned().collect()
}

/// The repository's migrations that apply before the first of `found` (by version, see
/// `dryrun::sql::version`), in apply order: the history a PR's migrations run on top of.
/// Rollback files and the PR's own files are not part of it; unreadable files are skipped.
/// Empty when `found` already holds every migration.
pub fn history(ctx: &Context<'_>, opts: &Options, found: &Found) -> Result<Vec<Migration>> {
    use super::dryrun::sql::{sort_by_version, version};
    if found.all || found.migrations.is_empty() {
        return Ok(Vec::new());
    }
    let every = find(ctx, opts, true, &mut GateOutput::default())?;
    let key = |p: &str| {
        let v = version(p);
        (v.is_none(), v, p.to_string())
    };
    let first = found.migrations.iter().map(|m| key(&m.path)).min();
    let mut earlier: Vec<Migration> = every
        .migrations
        .into_iter()
        .filter(|m| {
            !m.rollback
                && !found.migrations.iter().any(|c| c.path == m.path)
                && first.as_ref().is_some_and(|f| key(&m.path) < *f)
        })
        .collect();
    sort_by_version(&mut earlier, |m| &m.path);
    Ok(earlier)
}
