//! The gates. Each gate turns its inputs (`Context`) into a `GateOutput` of findings; none of
//! them knows how findings are reported. What more than one gate needs — is this PR code?
//! which files does a body section list? how is a JSON Lines file read? — lives in the shared
//! modules here, with the gate-specific rule ids passed in.

pub mod body;
pub mod dev_mcp_ban;
pub mod health_gate;
pub mod heartbeat;
pub mod jsonl;
pub mod mcp_evidence;
pub mod migration_safety;

use crate::finding::GateOutput;
use crate::pr::{FileStatus, Needs, PrContext};
use crate::rules::GateId;
use crate::workspace::Workspace;
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;

/// Everything every gate may read. What only one gate reads is in that gate's `Options`.
pub struct Context<'a> {
    pub workspace: &'a Workspace,
    pub pr: &'a PrContext,
    /// The clock of this run (`--now` pins it).
    pub now: DateTime<Utc>,
    /// Which changed files count as code (the PR-body gates' exemptions are checked with it).
    pub code_files: &'a CodeFiles,
}

/// Which files count as code. Every file does, unless it matches `non_code` (Markdown, text,
/// `docs/**`, images, the license, issue and PR templates): a PR touching `backend/`, a
/// Dockerfile, a migration or a workflow is a code change. `code-files` in the config replaces
/// the rule with a list of its own.
pub enum CodeFiles {
    /// Everything but these.
    AllBut(globset::GlobSet),
    /// Only these.
    Only(globset::GlobSet),
}

impl CodeFiles {
    pub fn is_code(&self, path: &str) -> bool {
        match self {
            CodeFiles::AllBut(non_code) => !non_code.is_match(path),
            CodeFiles::Only(code) => code.is_match(path),
        }
    }
}

/// What a gate's run returns: its findings, or an error that stops the whole run (exit 2).
pub type Run<'a> = Pin<Box<dyn Future<Output = Result<GateOutput>> + 'a>>;

/// A gate with its options resolved. `settings` builds one per gate that runs, before any
/// runs; `run` gives each the same `Context` and hands what they found to the reporters. The
/// rules a gate reports come from the rule table (`Rule::gate`), not from the gate.
pub trait Gate {
    fn id(&self) -> GateId;

    /// What must be gathered about the pull request before it runs.
    fn needs(&self) -> Needs;

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> Run<'a>;
}

/// The code files among the PR's changed files (`CodeFiles`); `None` when the changed files
/// are unknown.
pub fn changed_code_files(ctx: &Context<'_>) -> Option<Vec<String>> {
    let files = ctx.pr.changed_files.as_ref()?;
    Some(
        files
            .iter()
            .filter(|f| f.status != FileStatus::Removed && ctx.code_files.is_code(&f.path))
            .map(|f| f.path.clone())
            .collect(),
    )
}

/// `a, b, c and 4 more`
pub fn list_some(items: &[String], max: usize) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(max)
        .map(|s| format!("`{}`", crate::text::excerpt(s, 120)))
        .collect();
    let more = items.len().saturating_sub(max);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
