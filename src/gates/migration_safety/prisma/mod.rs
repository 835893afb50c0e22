//! Models and fields removed from the Prisma schema between the PR's base and head (an
//! error: the next `prisma migrate` drops the table or column), and fields whose type changed
//! (a warning: it needs explicit approval).
//!
//! The base version is read with `git show <base>:./prisma/schema.prisma` (an argument
//! vector, the base behind `--end-of-options`), or from `--prisma-base-schema`. When the schema
//! changed in the PR and its base version cannot be read — a shallow checkout, an unknown base
//! — that is an error finding saying why, never a silent pass. Models and fields are matched
//! by their database names (`@@map` / `@map`), so a rename that keeps the table is not a
//! removal.

pub mod schema;

use crate::finding::{Finding, GateOutput, Location};
use crate::gates::Context;
use crate::rules::Rule;
use anyhow::{Context as _, Result};
use schema::{BlockKind, Schema};
use std::path::Path;

pub const DEFAULT_SCHEMA: &str = "prisma/schema.prisma";
const MAX_SCHEMA_BYTES: u64 = 16 << 20;
use crate::github::GIT_TIMEOUT;

/// The base version of the schema.
enum Base {
    Text(String),
    /// The schema did not exist at the base: nothing can have been removed.
    Absent,
    /// Why it cannot be read.
    Unreadable(String),
}

/// Run git through the shared runner, stdout capped at the schema limit.
/// Returns `(success, stdout, stderr)`.
fn git(root: &Path, args: &[&str]) -> Result<(bool, Vec<u8>, String)> {
    let out = crate::github::git_run(root, args, GIT_TIMEOUT, MAX_SCHEMA_BYTES + 1)?;
    Ok((out.ok, out.stdout, out.stderr))
}

fn base_from_git(root: &Path, base: &str, path: &str) -> Result<Base> {
    if base.is_empty() || base.starts_with('-') || base.contains(char::is_whitespace) {
        return Ok(Base::Unreadable(format!(
            "`{}` is not a commit",
            crate::text::excerpt(base, 80)
        )));
    }
    let commit = format!("{base}^{{commit}}");
    let (ok, _, _) = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &commit,
        ],
    )?;
    if !ok {
        return Ok(Base::Unreadable(format!(
            "the base commit `{}` is not in this checkout (a shallow clone?)",
            crate::text::excerpt(base, 80)
        )));
    }
    let object = format!("{base}:./{path}");
    let (exists, _, _) = git(root, &["cat-file", "-e", "--end-of-options", &object])?;
    if !exists {
        return Ok(Base::Absent);
    }
    let (ok, bytes, stderr) = git(
        root,
        &["show", "--no-textconv", "--end-of-options", &object],
    )?;
    if !ok {
        return Ok(Base::Unreadable(format!(
            "git show failed: {}",
            crate::text::excerpt(&stderr, 200)
        )));
    }
    if bytes.len() as u64 > MAX_SCHEMA_BYTES {
        return Ok(Base::Unreadable(
            "its base version is larger than 16 MiB".into(),
        ));
    }
    Ok(Base::Text(String::from_utf8_lossy(&bytes).into_owned()))
}

pub fn run(
    ctx: &Context<'_>,
    args: &crate::cli::MigrationSafetyArgs,
    out: &mut GateOutput,
) -> Result<()> {
    let path = ctx
        .settings
        .config
        .migration_safety
        .prisma
        .schema
        .clone()
        .unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
    // Some(status) when the PR touches the schema, None when it does not; unknown → `all`.
    let (known, touched) = match &ctx.pr.changed_files {
        Some(files) => (
            true,
            files
                .iter()
                .find(|f| f.path == path || f.previous_path.as_deref() == Some(path.as_str()))
                .map(|f| f.status.clone()),
        ),
        None => (false, None),
    };
    if known && touched.is_none() {
        if ctx.workspace.open(&path).is_ok() {
            out.notes.push(format!("`{path}` is not changed by the PR"));
        }
        return Ok(());
    }
    let head = match ctx.workspace.read_capped(&path, MAX_SCHEMA_BYTES) {
        Ok(Some(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
        Ok(None) => anyhow::bail!("`{path}` is larger than 16 MiB"),
        Err(crate::workspace::PathError::NotFound) => None,
        Err(e) => {
            out.push(
                Finding::new(
                    Rule::MigPrismaBaseUnreadable,
                    format!("`{path}` {e}, so removed models and fields cannot be detected"),
                )
                .at(Location::file(&path)),
            );
            return Ok(());
        }
    };
    let removed = touched.as_deref() == Some("removed");
    if head.is_none() && !removed && !known {
        return Ok(()); // no Prisma schema in this repository
    }
    let base = match &args.prisma_base_schema {
        Some(file) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("reading --prisma-base-schema {}", file.display()))?;
            Base::Text(String::from_utf8_lossy(&bytes).into_owned())
        }
        None => match &ctx.pr.base {
            Some(b) => base_from_git(ctx.workspace.root(), b, &path)?,
            None if !known => {
                out.notes.push(format!(
                    "`{path}` was not compared with a base version: the PR's base is unknown"
                ));
                return Ok(());
            }
            None => Base::Unreadable(
                "the PR's base commit is unknown (no pull_request event and no `--base`)".into(),
            ),
        },
    };
    let base = match base {
        Base::Text(t) => t,
        Base::Absent => {
            out.notes.push(format!("`{path}` is new in this PR"));
            return Ok(());
        }
        Base::Unreadable(why) => {
            out.push(
                Finding::new(
                    Rule::MigPrismaBaseUnreadable,
                    format!(
                        "`{path}` changed in this PR, but its base version cannot be read: {why}; removed models and fields cannot be detected"
                    ),
                )
                .at(Location::file(&path)),
            );
            return Ok(());
        }
    };
    let head_text = head.unwrap_or_default();
    out.suppressions
        .extend(crate::suppress::scan(&path, &head_text, &["//"]));
    compare(
        &path,
        &schema::parse(&base),
        &schema::parse(&head_text),
        out,
    );
    Ok(())
}

fn span(path: &str, line: usize, column: usize, name: &str) -> Location {
    Location::span(
        path,
        line,
        column,
        column + name.chars().count().saturating_sub(1),
    )
}

/// Enums have a namespace of their own; models, views and composite types share one.
fn same_space(a: BlockKind, b: BlockKind) -> bool {
    (a == BlockKind::Enum) == (b == BlockKind::Enum)
}

fn compare(path: &str, base: &Schema, head: &Schema, out: &mut GateOutput) {
    for b in &base.blocks {
        let Some(h) = head
            .blocks
            .iter()
            .find(|h| same_space(h.kind, b.kind) && h.db_name == b.db_name)
        else {
            let table = if b.db_name != b.name {
                format!(" (table `{}`)", b.db_name)
            } else {
                String::new()
            };
            out.push(
                Finding::new(
                    Rule::MigPrismaModelRemoved,
                    format!(
                        "{} `{}`{table} was removed from the Prisma schema (line {} of the base version)",
                        b.kind.word(),
                        b.name,
                        b.line
                    ),
                )
                .at(span(path, b.line, b.column, &b.name)),
            );
            continue;
        };
        for m in &b.members {
            let Some(hm) = h.members.iter().find(|x| x.db_name == m.db_name) else {
                let msg = if b.kind == BlockKind::Enum {
                    format!(
                        "value `{}` was removed from enum `{}` (line {} of the base version)",
                        m.name, b.name, m.line
                    )
                } else {
                    let column = if m.db_name != m.name {
                        format!(" (column `{}`)", m.db_name)
                    } else {
                        String::new()
                    };
                    format!(
                        "field `{}.{}`{column} was removed from the Prisma schema (line {} of the base version)",
                        b.name, m.name, m.line
                    )
                };
                out.push(
                    Finding::new(Rule::MigPrismaFieldRemoved, msg)
                        .at(span(path, m.line, m.column, &m.name)),
                );
                continue;
            };
            if b.kind != BlockKind::Enum && hm.ty != m.ty {
                out.push(
                    Finding::new(
                        Rule::MigPrismaFieldTypeChanged,
                        format!(
                            "field `{}.{}` changed type from `{}` to `{}`: a type change needs explicit approval",
                            h.name,
                            hm.name,
                            crate::text::excerpt(&m.ty, 80),
                            crate::text::excerpt(&hm.ty, 80)
                        ),
                    )
                    .at(span(path, hm.line, hm.column, &hm.name)),
                );
            }
        }
    }
}
