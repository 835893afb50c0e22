//! Command-line definitions (clap). No I/O and no defaults that depend on the environment:
//! `settings.rs` turns these raw values into a `Settings`.

use crate::config::{FailOn, Reference};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "merge-gates",
    version,
    about = "Merge gates for pull requests written by agents and people."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Repository root (default: $GITHUB_WORKSPACE, else the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Config file (default: .github/merge-gates.toml in the repository, when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Local mode: read the PR body from this file instead of GitHub.
    #[arg(long, global = true, value_name = "FILE")]
    pub pr_body_file: Option<PathBuf>,
    /// Local mode: the PR's changed files are `git diff --name-only REF...HEAD`.
    #[arg(long, global = true, value_name = "REF")]
    pub base: Option<String>,
    /// Local mode: a file listing the PR's changed files, one repository-relative path a line.
    #[arg(long, global = true, value_name = "FILE")]
    pub changed_files: Option<PathBuf>,
    /// Output format (default: github when GITHUB_ACTIONS=true, else text).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Also write the JSON report to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The lowest severity that fails the gate (default: error).
    #[arg(long, global = true, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Pin the clock (RFC 3339), for reproducible runs.
    #[arg(long, global = true, value_name = "RFC3339")]
    pub now: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Github,
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every gate enabled in the config.
    Run,
    /// Check the MCP evidence files the PR body lists.
    VerifyMcpEvidence,
    /// Check the heartbeat logs the PR body lists for tasks that went dark.
    VerifyHeartbeat(HeartbeatArgs),
    /// Production code must not import development-only MCP packages.
    DevMcpBan(DevMcpBanArgs),
    /// Lint, dry-run and police migrations and deploy files.
    MigrationSafety(MigrationSafetyArgs),
    /// Probe a deployment over HTTP until it is healthy or the budget runs out.
    HealthGate(HealthGateArgs),
    /// List every rule: id, default severity, summary.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// Rule id, e.g. mcp-evidence/invalid-json.
        rule: String,
    },
    /// Print a JSON Schema: the config file, the JSON report, or the built-in evidence line.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
}

#[derive(Debug, Args, Default)]
pub struct HeartbeatArgs {
    /// A `doing` task older than this is stale (e.g. 15m).
    #[arg(long, value_name = "DURATION")]
    pub threshold: Option<String>,
    /// Reference time for staleness.
    #[arg(long, value_enum)]
    pub reference: Option<Reference>,
}

// ---- dev-mcp-ban arguments ----

#[derive(Debug, Args, Default)]
pub struct DevMcpBanArgs {}

// ---- migration-safety arguments ----

#[derive(Debug, Args, Default)]
pub struct MigrationSafetyArgs {
    /// Check every migration in the repository, not only those the PR adds or changes.
    #[arg(long)]
    pub all: bool,
    // ---- migration-safety: lint arguments ----
    /// Target PostgreSQL major version (overrides `postgres-version` in the config).
    #[arg(long, value_name = "MAJOR")]
    pub pg_version: Option<u32>,
    // ---- migration-safety: dry-run, deploy and prisma arguments ----
}

// ---- health-gate arguments ----

#[derive(Debug, Args, Default)]
pub struct HealthGateArgs {}

// ---- end of gate arguments ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    Config,
    Report,
    Evidence,
}
