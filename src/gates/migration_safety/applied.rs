//! Applied migrations are immutable, and new ones come after them. A migration on the base
//! branch may already have run in production, and migration tools never run a file again: a PR
//! that edits, renames or deletes one changes nothing in production while the repository stops
//! saying what production ran — the place to hide a `DROP TABLE` from every later reader. A new
//! migration whose version sorts before the newest one on the base is skipped by the tools that
//! track the highest version, or applied out of order by the others.
//!
//! Both need to know what the PR did to each file (added, changed, removed, renamed): the
//! GitHub PR files or `git diff --name-status`; a bare `--changed-files` list says nothing of
//! that, so it is not judged here.

use super::discover::Options;
use super::dryrun::sql::version;
use crate::finding::{Finding, GateOutput, Location};
use crate::gates::Context;
use crate::pr::FileStatus;
use crate::rules::Rule;

pub fn run(ctx: &Context<'_>, opts: &Options, out: &mut GateOutput) {
    let Some(files) = &ctx.pr.changed_files else {
        return;
    };
    let is_migration = |p: &str| {
        !p.ends_with(".skip") && opts.migrations.is_match(p) && !opts.rollbacks.is_match(p)
    };
    let mut added: Vec<&str> = Vec::new();
    for f in files {
        let moved_from = f
            .previous_path
            .as_deref()
            .filter(|p| *p != f.path && is_migration(p));
        let what = match (f.status, moved_from) {
            (_, Some(from)) => Some((
                from,
                format!("moves it to `{}`", crate::text::excerpt(&f.path, 200)),
            )),
            (FileStatus::Modified, None) if is_migration(&f.path) => {
                Some((f.path.as_str(), "changes it".to_string()))
            }
            (FileStatus::Removed, None) if is_migration(&f.path) => {
                Some((f.path.as_str(), "deletes it".to_string()))
            }
            _ => None,
        };
        if let Some((path, did)) = what {
            let at = if f.status.exists() && moved_from.is_none() {
                Location::file(path)
            } else {
                Location::file(&f.path)
            };
            out.push(
                Finding::new(
                    Rule::MigAppliedMigrationChanged,
                    format!(
                        "`{}` is a migration on the base branch, so production may have applied it already, and this PR {did}: migration tools never run an applied file again, so the change would not reach production while the repository stops saying what production ran",
                        crate::text::excerpt(path, 200)
                    ),
                )
                .at(at),
            );
        }
        let new = matches!(f.status, FileStatus::Added) || moved_from.is_some();
        if new && is_migration(&f.path) {
            added.push(&f.path);
        }
    }
    if added.is_empty() {
        return;
    }
    // The base's migrations: those of the tree the PR did not add (a removed one is gone from
    // the tree, and was reported above).
    let tree = ctx.workspace.files();
    let newest = tree
        .files
        .iter()
        .filter(|p| is_migration(p) && !added.contains(&p.as_str()))
        .filter_map(|p| version(p).map(|v| (v, p)))
        .max();
    let Some((newest_version, newest_path)) = newest else {
        return;
    };
    for path in added {
        if let Some(v) = version(path) {
            if v < newest_version {
                out.push(
                    Finding::new(
                        Rule::MigOutOfOrderMigration,
                        format!(
                            "`{}` is new, but its version sorts before `{}`, the newest migration on the base branch: tools that track the highest applied version skip it, and the others apply it after the newer one it was not written against",
                            crate::text::excerpt(path, 200),
                            crate::text::excerpt(newest_path, 200)
                        ),
                    )
                    .at(Location::file(path)),
                );
            }
        }
    }
}
