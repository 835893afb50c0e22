//! `.github/merge-gates.toml`: which gates run, per-gate settings, per-rule severities.
//!
//! Plain data, deserialized with `deny_unknown_fields` so a typo is an error naming the key.
//! Defaults live next to the gate that uses them. The JSON Schema in
//! `schemas/merge-gates.schema.json` is generated from these types (`merge-gates schema config`)
//! and a test keeps the committed file in step.

pub use crate::diff_filter::DiffFilter;
pub use crate::finding::FailOn;
pub use crate::gates::health_gate::ProbeMethod;
pub use crate::gates::heartbeat::Reference;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "merge-gates configuration")]
pub struct Config {
    /// Gates that `merge-gates run` runs, by subcommand name. Default: every gate whose inputs
    /// are present (health-gate only when it has a URL).
    pub gates: Option<Vec<String>>,
    /// The lowest severity that fails the job: `error` (default), `warning` or `never`.
    pub fail_on: Option<FailOn>,
    /// Globs (relative to the repository root) of the files that are not code; every other
    /// changed file is. A PR that changes only such files needs no MCP evidence and no
    /// heartbeat. Default: Markdown and text, `docs/**`, `artifacts/**` (the evidence and
    /// heartbeat logs), images, `LICENSE*`, the issue and PR templates.
    pub non_code_files: Option<Vec<String>>,
    /// Globs of the files that count as code, replacing the `non-code-files` rule: only these
    /// are code.
    pub code_files: Option<Vec<String>>,
    /// Per-rule severity overrides: `"heartbeat/gap" = "error"`, or `"off"` to disable.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
    /// Settings of the GitHub API client.
    #[serde(default)]
    pub github: GithubConfig,
    /// Which findings keep their severity, by the PR's diff (like reviewdog's `-filter-mode`):
    /// `added` (on added or changed lines), `diff_context` (within the diff's hunks), `file` (in
    /// changed files) or `nofilter` (default). Findings outside become notices; findings without
    /// a file are never filtered.
    pub filter: Option<DiffFilter>,
    /// Who may approve a suppression that the PR adds on a rule whose default severity is
    /// error: GitHub users (`alice`) and teams (`org/team`). Default: anyone with write or
    /// admin permission on the repository. The PR's author never approves their own.
    pub approvers: Option<Vec<String>>,
    /// Rules (ids or gate names) whose findings an author may suppress without an approval.
    pub self_waivable: Option<Vec<String>>,
    /// Where findings go on GitHub: `annotations` (workflow commands, default) or `check-run`
    /// (a check run with every finding as an annotation; needs `checks: write`).
    pub reporter: Option<Reporter>,
    /// The pull-request comment: `on-failure` (default: written when a gate fails, then kept up
    /// to date, up to the green result), `always`, or `never`. One comment per PR and check
    /// name, edited in place; needs `pull-requests: write` (fork PRs: skipped with a notice).
    pub comment: Option<CommentMode>,
    /// The name of the check run and of the PR comment (default `merge-gates`, or
    /// `merge-gates <gate>` when one gate runs): two invocations in a workflow need two names.
    pub check_name: Option<String>,
    #[serde(default)]
    pub verify_mcp_evidence: McpEvidenceConfig,
    #[serde(default)]
    pub verify_heartbeat: HeartbeatConfig,

    #[serde(default)]
    pub dev_mcp_ban: DevMcpBanConfig,

    #[serde(default)]
    pub migration_safety: MigrationSafetyConfig,

    #[serde(default)]
    pub health_gate: HealthGateConfig,
}

/// How findings are reported on GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reporter {
    /// Workflow-command annotations in the job log (default).
    Annotations,
    /// A check run through the Checks API; falls back to annotations when the token cannot
    /// write checks (fork PRs).
    CheckRun,
}

/// When merge-gates writes its pull-request comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CommentMode {
    /// When a gate fails; once written, the comment is kept up to date (green included).
    OnFailure,
    /// On every run.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RuleLevel {
    Error,
    Warning,
    Notice,
    Off,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GithubConfig {
    /// Total time allowed for GitHub API calls, retries included (default `60s`).
    pub api_timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct McpEvidenceConfig {
    /// Heading of the PR-body section (default `MCP Evidence`).
    pub section: Option<String>,
    /// Where evidence files must live. `<agent>` is one path segment, `<date>` a real
    /// `YYYY-MM-DD` date, `*` any characters but `/`. Default
    /// `artifacts/<agent>/<date>/mcp/*.jsonl`.
    pub evidence_path: Option<String>,
    /// Repository-relative JSON Schema file each evidence line must satisfy; replaces the
    /// built-in schema (`merge-gates schema evidence`).
    pub schema: Option<String>,
    /// Evidence files larger than this are a finding and are not read (default `64MiB`).
    pub max_file_size: Option<String>,
    /// Lines longer than this are a finding (default `1MiB`).
    pub max_line_length: Option<String>,
    /// How far in the future a timestamp may lie before it is an error (default `5m`).
    pub future_skew: Option<String>,
    /// Require every listed evidence file to be added or changed by the PR (default true).
    pub require_in_pr: Option<bool>,
    /// Statements that claim the PR needs no evidence. They are checked against the diff.
    pub exemption_phrases: Option<Vec<String>>,
    /// The fewest evidence entries (lines) the listed files must hold together, per PR
    /// (default 1; `merge-gates init` writes 4, the team's "4+ calls per session").
    pub min_entries: Option<u64>,
    /// The MCP tools an entry's `tool` may name; any other is an error. Default: any tool.
    pub tools: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HeartbeatConfig {
    /// Heading of the PR-body section (default `Heartbeat`).
    pub section: Option<String>,
    /// A `doing` task older than this is stale, and a longer silence while `doing` is an error
    /// (default `15m`).
    pub threshold: Option<String>,
    /// What "now" means for staleness: `now` (the runner's clock, like the original guard) or
    /// `head-commit` (default: the PR head commit's time, so re-runs give the same verdict).
    pub reference: Option<Reference>,
    /// How far in the future a timestamp may lie before it is an error (default `5m`).
    pub future_skew: Option<String>,
    /// Statements that claim no heartbeat is needed (default: the original guard's phrases).
    pub exemption_phrases: Option<Vec<String>>,
    /// The longest commit span an exemption is believed for (default `2h`).
    pub exemption_max_span: Option<String>,
    /// Heartbeat files larger than this are a finding and are not read (default `64MiB`).
    pub max_file_size: Option<String>,
    /// Require every listed heartbeat log to be added or changed by the PR (default true).
    pub require_in_pr: Option<bool>,
}

// ---- dev-mcp-ban ----

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DevMcpBanConfig {
    /// Package names production code must not import, matched case-insensitively against the
    /// package part of a specifier (`@scope/name` or `name`). Replaces the default list
    /// `@shopify/dev-mcp`, `@upstash/context7-mcp`, `context7-mcp`, `chrome-devtools-mcp`.
    pub banned: Option<Vec<String>>,
    /// Glob patterns over package names for the family of development MCP servers (`*` also
    /// crosses `/`). Replaces the default `*dev-mcp*`, `*mcp-dev*`.
    pub banned_patterns: Option<Vec<String>>,
    /// Production MCP clients (names or globs) that may be imported although a banned pattern
    /// matches them. They never override a name listed in `banned`.
    pub allowed_packages: Option<Vec<String>>,
    /// Globs of production code (default `app/**`); a trailing `/` means everything below.
    pub production_paths: Option<Vec<String>>,
    /// Paths that may use development MCP freely, even under the production paths. Default
    /// `scripts/`, `tests/`, `docs/`, `.cursor/`, `**/__tests__/**`, `**/*.test.*`, `**/*.spec.*`.
    pub allowed_paths: Option<Vec<String>>,
    /// `package.json` files of production packages besides those under the production paths
    /// (default `package.json`, the repository root's).
    pub manifests: Option<Vec<String>>,
    /// Source files larger than this are skipped with a notice (default `16MiB`).
    pub max_file_size: Option<String>,
    /// Report only files the PR adds or changes, like `--changed-only` (default false).
    pub changed_only: Option<bool>,
}

// ---- migration-safety ----

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MigrationSafetyConfig {
    /// Extra globs of migration files, added to `supabase/migrations/*.sql` and
    /// `prisma/migrations/*/migration.sql` (e.g. `db/migrations/*.up.sql`, `migrations/*.sql`).
    pub migrations: Option<Vec<String>>,
    /// Globs of rollback (down) migrations, not held to the additive-only policy. Default
    /// `**/rollback_*.sql`, `**/*.down.sql`, `**/down.sql`.
    pub rollbacks: Option<Vec<String>>,
    // ---- migration-safety: lint settings ----
    /// Target PostgreSQL major version (9–18, default 15). Verdicts follow the target's
    /// behaviour: e.g. constant column defaults rewrite the table only before 11, and
    /// `SET NOT NULL` uses a validated `CHECK (col IS NOT NULL)` from 12 on.
    pub postgres_version: Option<u32>,
    /// Strict "additive only" policy: every non-additive change (renames, type changes, drops
    /// of indexes, views, functions, policies, constraints, and `SET NOT NULL` without a
    /// validated `CHECK`) is an error, not only the ones that destroy data. Default true, the team's
    /// written policy; `false` relaxes it. Per-rule `[rules]` overrides still win.
    pub additive_only: Option<bool>,
    /// How the migration runner sends a file to PostgreSQL, which decides whether
    /// `CONCURRENTLY` can work: `one-query` (default: the whole file as one multi-statement
    /// query, an implicit transaction — Prisma Migrate, golang-migrate, Supabase CLI before
    /// 2.109), `wrapped` (the runner wraps each file in BEGIN/COMMIT — sqlx, diesel, Flyway),
    /// `none` (each statement on its own — psql without `-1`, Supabase CLI 2.109+).
    pub transaction: Option<crate::gates::migration_safety::lint::TransactionMode>,
    /// Schemas whose tables the API serves to clients (PostgREST / Supabase: default
    /// `["public"]`). A table the PR creates in one of them must enable row-level security
    /// (`migration-safety/table-without-rls`).
    pub exposed_schemas: Option<Vec<String>>,
    // ---- migration-safety: end of lint settings ----
    /// The dry run on a real PostgreSQL.
    #[serde(default)]
    pub dry_run: DryRunConfig,
    /// Deploy files that must not run migrations.
    #[serde(default)]
    pub deploy: DeployConfig,
    /// The Prisma schema.
    #[serde(default)]
    pub prisma: PrismaConfig,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DryRunConfig {
    /// `statement_timeout` of the scratch session: a statement running longer fails the dry run
    /// (default `30s`).
    pub statement_timeout: Option<String>,
    /// The whole dry run — create, apply, trace, drop — must finish within this (default `5m`).
    pub timeout: Option<String>,
    /// Repository-relative SQL file run in the scratch database before any migration, for what
    /// the migrations expect the platform to provide (roles, schemas, extensions).
    pub setup: Option<String>,
    /// Lock modes on existing tables that are findings when no `lock_timeout` is set. Default
    /// `AccessExclusiveLock`, `ExclusiveLock`, `ShareRowExclusiveLock`, `ShareLock`.
    pub dangerous_locks: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// The only values `release_command` in `fly.toml` may have (default `npx prisma generate`).
    pub release_commands: Option<Vec<String>>,
    /// More commands that deploy files must not run, as words in order, `|` for alternatives
    /// (e.g. `knex migrate:latest`, `sqlx migrate run`, `rails db:migrate|db:schema:load`).
    /// Added to the built-in `prisma migrate deploy|dev|resolve|reset`, `prisma db push`,
    /// `supabase db push|reset` and `--accept-data-loss`.
    pub patterns: Option<Vec<String>>,
    /// Extra globs of shell scripts to check (besides entrypoint scripts).
    pub scripts: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrismaConfig {
    /// Repository-relative path of the Prisma schema (default `prisma/schema.prisma`).
    pub schema: Option<String>,
}

// ---- health-gate ----

/// `[health-gate]`: what to probe and when a deployment counts as healthy. Command-line flags
/// of the same name win over these keys.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HealthGateConfig {
    /// URL(s) to probe: one string (several may be separated by newlines) or a list.
    pub url: Option<UrlList>,
    /// Take the URL of the latest successful deployment to this environment from the GitHub
    /// Deployments API when no URL is given and the event is not a `deployment_status`.
    pub environment: Option<String>,
    /// Failures during this initial period do not count toward `retries` (default `0s`).
    pub start_period: Option<String>,
    /// Time between attempts (default `5s`).
    pub interval: Option<String>,
    /// Exponential backoff factor applied to the interval after each failure, with jitter
    /// (default `1`: a fixed interval).
    pub backoff: Option<f64>,
    /// Per-attempt limit covering connect, headers and the whole body (default `10s`).
    pub request_timeout: Option<String>,
    /// Overall deadline for all attempts of all URLs (default `5m`).
    pub timeout: Option<String>,
    /// Consecutive failed attempts that make a URL unhealthy (default `5`).
    pub retries: Option<u32>,
    /// Consecutive successful attempts that make a URL healthy (default `1`).
    pub success_threshold: Option<u32>,
    /// Healthy statuses: a list of codes and ranges, e.g. `200,204,300-302` (default `200-299`).
    pub expect_status: Option<String>,
    /// JSON body assertions `dotted.path=value`, e.g. `checks.database.status=healthy`.
    pub expect_json: Option<Vec<String>>,
    /// The body must contain this text.
    pub expect_body: Option<String>,
    /// The body must match this regular expression.
    pub expect_body_regex: Option<String>,
    /// An attempt slower than this fails (e.g. `5s`).
    pub max_latency: Option<String>,
    /// A healthy URL slower than this is a warning (default `3s`).
    pub warn_latency: Option<String>,
    /// After the first pass, probe each URL this many more times (every `interval`) and judge
    /// the whole window (default: no window).
    pub samples: Option<u32>,
    /// The analysis window as a duration (`duration / interval` samples), instead of `samples`.
    pub duration: Option<String>,
    /// Lowest share of successful samples in the window, in percent (default `99`).
    pub min_success_rate: Option<f64>,
    /// Highest P95 latency over the window (default `2s`).
    pub max_p95: Option<String>,
    /// Highest P99 latency over the window (default: not checked).
    pub max_p99: Option<String>,
    /// Consecutive failures that end the window early, failed.
    pub failure_limit: Option<u32>,
    /// Warn when the TLS certificate expires within this many days (default `14`; within 3
    /// days an error; `0` turns the check off).
    pub cert_min_days: Option<u32>,
    /// Follow redirects (default false: a redirect is judged as the 3xx it is).
    pub follow_redirects: Option<bool>,
    /// `GET` (default) or `HEAD`.
    pub method: Option<ProbeMethod>,
    /// Extra request headers, `Name: value`. Do not put secrets here: use `header-from-env`.
    pub header: Option<Vec<String>>,
    /// Headers whose value is read from an environment variable, `Name=ENV_VAR`.
    pub header_from_env: Option<Vec<String>>,
    /// Skip TLS certificate verification (default false).
    pub insecure: Option<bool>,
}

/// One URL or several.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum UrlList {
    One(String),
    Many(Vec<String>),
}

// ---- end of gate sections ----

impl Config {
    /// The error says where (line, column) and what, but never quotes the input: toml's own
    /// rendering echoes the offending line, which may be megabytes long or hold anything.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| {
            let msg = crate::text::excerpt(e.message().trim(), 500);
            match e.span() {
                Some(span) => {
                    let before = &text.as_bytes()[..span.start.min(text.len())];
                    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                    let start = before
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
                    format!("line {line}, column {col}: {msg}")
                }
                None => msg,
            }
        })
    }

    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
    }
}
