//! `.github/merge-gates.toml`: which gates run, per-gate settings, per-rule severities.
//!
//! Plain data, deserialized with `deny_unknown_fields` so a typo is an error naming the key.
//! Defaults live next to the gate that uses them. The JSON Schema in
//! `schemas/merge-gates.schema.json` is generated from these types (`merge-gates schema config`)
//! and a test keeps the committed file in step.

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
    /// Globs (relative to the repository root) of files that count as code. A PR that changes
    /// none of them needs no MCP evidence and no heartbeat.
    pub code_files: Option<Vec<String>>,
    /// Per-rule severity overrides: `"heartbeat/gap" = "error"`, or `"off"` to disable.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
    /// Settings of the GitHub API client.
    #[serde(default)]
    pub github: GithubConfig,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    Error,
    Warning,
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
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HeartbeatConfig {
    /// Heading of the PR-body section (default `Heartbeat`).
    pub section: Option<String>,
    /// A `doing` task older than this is stale; longer gaps are warnings (default `15m`).
    pub threshold: Option<String>,
    /// What "now" means for staleness: `now` (the runner's clock, like the original guard) or
    /// `head-commit` (the PR head commit's time: re-runs give the same verdict).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reference {
    Now,
    HeadCommit,
}

// ---- dev-mcp-ban ----

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DevMcpBanConfig {}

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
    /// of indexes, views, functions, policies, constraints) is an error, not only the ones that
    /// destroy data. Default false. Per-rule `[rules]` overrides still win.
    pub additive_only: Option<bool>,
    /// How the migration runner sends a file to PostgreSQL, which decides whether
    /// `CONCURRENTLY` can work: `one-query` (default: the whole file as one multi-statement
    /// query, an implicit transaction — Prisma Migrate, golang-migrate, Supabase CLI before
    /// 2.109), `wrapped` (the runner wraps each file in BEGIN/COMMIT — sqlx, diesel, Flyway),
    /// `none` (each statement on its own — psql without `-1`, Supabase CLI 2.109+).
    pub transaction: Option<crate::gates::migration_safety::lint::TransactionMode>,
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
pub struct DryRunConfig {}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrismaConfig {}

// ---- health-gate ----

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HealthGateConfig {}

// ---- end of gate sections ----

impl Config {
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
    }
}
