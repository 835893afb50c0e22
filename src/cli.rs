//! Command-line definitions (clap): what a person can write, and nothing else. No I/O and no
//! defaults here: `settings` turns these raw values, with the config file and the environment,
//! into typed options. The one value clap itself takes from the environment is the database
//! URL (`MERGE_GATES_DATABASE_URL`), a secret that should not stand in a command line.

use crate::config::{CommentMode, DiffFilter, FailOn, Reference, Reporter};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "merge-gates",
    version,
    about = "Merge gates for pull requests written by agents and people."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What every gate reads: where the repository and the PR are, and where findings go. Only the
/// gate subcommands and `run` take these, so each subcommand's `--help` lists what it reads.
#[derive(Debug, Args, Default)]
pub struct Common {
    /// Repository root (default: $GITHUB_WORKSPACE, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Config file (default: .github/merge-gates.toml in the repository, when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Local mode: read the PR body from this file instead of GitHub.
    #[arg(long, value_name = "FILE")]
    pub pr_body_file: Option<PathBuf>,
    /// Local mode: the PR's changed files are `git diff --name-only REF...HEAD`.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Local mode: a file listing the PR's changed files, one repository-relative path a line.
    #[arg(long, value_name = "FILE")]
    pub changed_files: Option<PathBuf>,
    /// Output format (default: github when GITHUB_ACTIONS=true, else text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also write a SARIF 2.1.0 report to this file (for code scanning's upload-sarif).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// The lowest severity that fails the gate (default: error).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Pin the clock (RFC 3339), for reproducible runs.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Where findings go on GitHub (default: annotations, i.e. workflow commands).
    #[arg(long, value_enum)]
    pub reporter: Option<Reporter>,
    /// The pull-request comment: on-failure (default), always or never.
    #[arg(long, value_enum)]
    pub comment: Option<CommentMode>,
    /// Name of the check run and of the PR comment (default: merge-gates[ <gate>]).
    #[arg(long, value_name = "NAME")]
    pub check_name: Option<String>,
    /// Keep the severity only of findings inside the PR's diff; the others become notices
    /// (default: nofilter).
    #[arg(long, value_enum)]
    pub filter: Option<DiffFilter>,
    /// Say more on stderr about what the run does (-v: details, -vv: everything). Default: what
    /// it waits for (API retries, health probes, dry-run migrations). MERGE_GATES_LOG (e.g.
    /// `debug`) overrides both.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
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
    Run {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Check the MCP evidence files the PR body lists.
    VerifyMcpEvidence {
        #[command(flatten)]
        common: Common,
    },
    /// Check the heartbeat logs the PR body lists for tasks that went dark.
    VerifyHeartbeat {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: HeartbeatArgs,
    },
    /// Production code must not import development-only MCP packages.
    DevMcpBan {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: DevMcpBanArgs,
    },
    /// Lint, dry-run and police migrations and deploy files.
    MigrationSafety {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: MigrationSafetyArgs,
    },
    /// Probe a deployment over HTTP until it is healthy or the budget runs out.
    HealthGate {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: HealthGateArgs,
    },
    /// List every rule: id, default severity, summary.
    Rules {
        /// `text` (a table) or `json` (an array of {id, gate, severity, summary, docs}).
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
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
    /// Write a starter `.github/merge-gates.toml` and `.github/pull_request_template.md`.
    Init(InitArgs),
}

/// How `rules` prints the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Default)]
pub struct InitArgs {
    /// Repository root to write into (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
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

/// `merge-gates run`: gate settings come from the config file; only secrets come from here.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// PostgreSQL URL for migration-safety's dry run (a throwaway server).
    #[arg(
        long,
        value_name = "URL",
        env = "MERGE_GATES_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

// ---- dev-mcp-ban arguments ----

#[derive(Debug, Args, Default)]
pub struct DevMcpBanArgs {
    /// Report only files the PR adds or changes (default: the whole production tree).
    #[arg(long)]
    pub changed_only: bool,
}

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
    /// PostgreSQL server for the dry run (`postgres://user@host:port/db`). merge-gates connects
    /// to it only to create and drop a scratch database; use a throwaway server (no TLS).
    #[arg(
        long,
        value_name = "URL",
        env = "MERGE_GATES_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Write the dry run's per-statement trace (locks, rewrites, durations) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub dry_run_trace: Option<PathBuf>,
    /// The base version of the Prisma schema, for checkouts that lack the base commit.
    #[arg(long, value_name = "FILE")]
    pub prisma_base_schema: Option<PathBuf>,
}

// ---- health-gate arguments ----

/// Flags of `health-gate`, boxed so that `Command` stays small.
#[derive(Debug, Args, Default)]
pub struct HealthGateArgs {
    #[command(flatten)]
    pub flags: Box<HealthGateFlags>,
}

/// Each flag is also a key of `[health-gate]` in the config (flags win).
#[derive(Debug, Args, Default)]
pub struct HealthGateFlags {
    /// URL to probe (repeatable; a value may hold several URLs, one per line).
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,
    /// Without --url: the latest successful deployment of this environment (Deployments API).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Failures during this initial period do not count toward --retries [default: 0s].
    #[arg(long, value_name = "DURATION")]
    pub start_period: Option<String>,
    /// Time between attempts [default: 5s].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Exponential backoff factor for the interval after each failure, with jitter [default: 1].
    #[arg(long, value_name = "FACTOR")]
    pub backoff: Option<f64>,
    /// Limit of one attempt: connect, headers and the whole body [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// Overall deadline for every attempt of every URL [default: 5m].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Consecutive failures that make a URL unhealthy (failure threshold) [default: 5].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Consecutive successes that make a URL healthy [default: 1].
    #[arg(long, value_name = "N")]
    pub success_threshold: Option<u32>,
    /// Healthy statuses, e.g. 200,204,300-302 [default: 200-299].
    #[arg(long, value_name = "LIST")]
    pub expect_status: Option<String>,
    /// JSON body assertion `dotted.path=value`, e.g. checks.database.status=healthy (repeatable).
    #[arg(long, value_name = "PATH=VALUE")]
    pub expect_json: Vec<String>,
    /// The body must contain this text.
    #[arg(long, value_name = "TEXT")]
    pub expect_body: Option<String>,
    /// The body must match this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub expect_body_regex: Option<String>,
    /// An attempt slower than this fails.
    #[arg(long, value_name = "DURATION")]
    pub max_latency: Option<String>,
    /// A healthy URL slower than this is a warning.
    #[arg(long, value_name = "DURATION")]
    pub warn_latency: Option<String>,
    /// After the first pass, probe each URL N more times (every --interval) and judge the
    /// whole window: success rate, P95/P99 latency (the analysis window; default: off).
    #[arg(long, value_name = "N")]
    pub samples: Option<u32>,
    /// The analysis window as a duration instead of --samples: duration / interval samples.
    #[arg(long, value_name = "DURATION", conflicts_with = "samples")]
    pub duration: Option<String>,
    /// Lowest share of successful samples in the window, in percent (default 99).
    #[arg(long, value_name = "PERCENT")]
    pub min_success_rate: Option<f64>,
    /// Highest P95 latency over the window (default 2s).
    #[arg(long, value_name = "DURATION")]
    pub max_p95: Option<String>,
    /// Highest P99 latency over the window (default: not checked).
    #[arg(long, value_name = "DURATION")]
    pub max_p99: Option<String>,
    /// Warn when the server's TLS certificate expires within this many days (default 14;
    /// within 3 days it is an error; 0 turns the check off).
    #[arg(long, value_name = "DAYS")]
    pub cert_min_days: Option<u32>,
    /// Consecutive failures that end the window early, failed (Argo's failureLimit).
    #[arg(long, value_name = "K")]
    pub failure_limit: Option<u32>,
    /// Follow redirects (by default a 3xx is judged as it is, and is not healthy).
    #[arg(long)]
    pub follow_redirects: bool,
    /// HTTP method of the probe [default: GET].
    #[arg(long, value_enum, ignore_case = true)]
    pub method: Option<crate::config::ProbeMethod>,
    /// Extra request header `Name: value` (repeatable). Secrets belong in --header-from-env.
    #[arg(long, value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Header whose value is read from an environment variable, `Name=ENV_VAR` (repeatable).
    #[arg(long, value_name = "NAME=ENV_VAR")]
    pub header_from_env: Vec<String>,
    /// Do not verify TLS certificates (self-signed staging only).
    #[arg(long)]
    pub insecure: bool,
}

// ---- end of gate arguments ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    Config,
    Report,
    Evidence,
}
