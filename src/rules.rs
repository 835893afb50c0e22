//! The one table of rules. Each rule is declared here once — id, gate, default severity and
//! fix hint — and its documentation lives in `docs/rules/<rule-id>.md`, pulled in with
//! `include_str!`. Everything else is derived from this table: `merge-gates explain`, the
//! config and suppression checks, SARIF `rules[]`, the docs link in every annotation, and the
//! registry test that demands docs and fixtures for every rule.

use serde::{Serialize, Serializer};

/// How bad a finding is. Ordered: `Notice < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The gates. `cli_name` is the subcommand, the config section and the action directory.
// `HealthGate` is the gate's own name (`health-gate`), not a repetition of the enum's.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GateId {
    McpEvidence,
    Heartbeat,
    DevMcpBan,
    MigrationSafety,
    HealthGate,
}

impl GateId {
    pub const ALL: [GateId; 5] = [
        GateId::McpEvidence,
        GateId::Heartbeat,
        GateId::DevMcpBan,
        GateId::MigrationSafety,
        GateId::HealthGate,
    ];

    pub fn cli_name(self) -> &'static str {
        match self {
            GateId::McpEvidence => "verify-mcp-evidence",
            GateId::Heartbeat => "verify-heartbeat",
            GateId::DevMcpBan => "dev-mcp-ban",
            GateId::MigrationSafety => "migration-safety",
            GateId::HealthGate => "health-gate",
        }
    }

    /// The prefix of this gate's rule ids (`mcp-evidence/…`).
    pub fn rule_prefix(self) -> &'static str {
        self.cli_name()
            .strip_prefix("verify-")
            .unwrap_or(self.cli_name())
    }

    pub fn from_name(name: &str) -> Option<GateId> {
        GateId::ALL
            .into_iter()
            .find(|g| g.cli_name() == name || g.rule_prefix() == name)
    }
}

impl std::fmt::Display for GateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl Serialize for GateId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.cli_name())
    }
}

/// Where rule docs are published; every annotation links here.
pub const DOCS_BASE: &str = "https://github.com/merge-gates/merge-gates/blob/main/docs/rules/";

macro_rules! rules {
    ($( $variant:ident = $id:literal, $sev:ident, $help:literal; )*) => {
        /// Every rule merge-gates knows. Ids are stable: renaming one is a breaking change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $( $variant, )* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// `<gate prefix>/<kebab-name>`, e.g. `mcp-evidence/file-not-found`.
            pub fn id(self) -> &'static str {
                match self { $( Rule::$variant => $id, )* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $( Rule::$variant => Severity::$sev, )* }
            }

            /// The generic fix hint; a finding may carry a more specific one.
            pub fn help(self) -> &'static str {
                match self { $( Rule::$variant => $help, )* }
            }

            /// The rule's Markdown documentation (What it finds / Why it matters / Example / How to fix).
            pub fn docs(self) -> &'static str {
                match self {
                    $( Rule::$variant => include_str!(concat!("../docs/rules/", $id, ".md")), )*
                }
            }
        }
    };
}

rules! {
    // Shared by every gate: suppressions and the GitHub context.
    SuppressionWithoutReason = "core/suppression-without-reason", Error,
        "Write why the finding is acceptable after the colon: `merge-gates-allow <rule>: <reason>`.";
    UnknownRuleInSuppression = "core/unknown-rule-in-suppression", Error,
        "Use a rule id listed by `merge-gates rules`, or a gate name to cover all of its rules.";
    UnusedSuppression = "core/unused-suppression", Warning,
        "Remove the suppression: nothing on its line or the next is reported by that rule any more.";
    PrBodyFromPayload = "core/pr-body-from-payload", Warning,
        "Give the job a token with `pull-requests: read` and network access to the GitHub API so the body is fetched fresh.";
    PrUnavailable = "core/pr-unavailable", Notice,
        "Run this gate on `pull_request` events, or pass `--pr-body-file` when running locally.";
    PrFetchFailed = "core/pr-fetch-failed", Error,
        "Check that the job's token has `pull-requests: read` and that the GitHub API is reachable, then re-run the job.";
    ChangedFilesUnknown = "core/changed-files-unknown", Warning,
        "Run on a pull_request event, or pass `--base REF` or `--changed-files FILE` locally.";
    ChangedFilesTruncated = "core/changed-files-truncated", Error,
        "Check out the PR with its history (`actions/checkout` with `fetch-depth: 0`) so the whole list comes from `git diff`, or split the PR.";
    ConfigChanged = "core/config-changed", Notice,
        "Nothing to fix: a change to the policy (the config or a file it names) is reviewed with the PR and takes effect once merged. To try it now, run merge-gates locally without `--base`.";

    // verify-mcp-evidence
    McpSectionMissing = "mcp-evidence/section-missing", Error,
        "Add a `## MCP Evidence` section listing the evidence files, or state `No MCP usage - non-code change` if the PR changes no code.";
    McpNoEvidenceListed = "mcp-evidence/no-evidence-listed", Error,
        "List each evidence file as `- artifacts/<agent>/<YYYY-MM-DD>/mcp/<topic>.jsonl` under the section.";
    McpTemplateUnedited = "mcp-evidence/template-unedited", Error,
        "Replace the template's placeholders (`<agent>`, `<YYYY-MM-DD>`, …) with the real evidence paths.";
    McpTooFewEntries = "mcp-evidence/too-few-entries", Error,
        "Log every MCP tool call of the work in the evidence files; the config's `min-entries` says how many a PR needs at least.";
    McpToolNotAllowed = "mcp-evidence/tool-not-allowed", Error,
        "Use one of the MCP tools the repository allows (the config's `tools`), or ask a maintainer to add this one to the list on the base branch.";
    McpFalseExemption = "mcp-evidence/false-exemption", Error,
        "Remove the exemption and list the MCP evidence for the code changes, or move the code changes to another PR.";
    McpPathEscapesRepo = "mcp-evidence/path-escapes-repo", Error,
        "List a path inside the repository: no `..`, no absolute path, no symlink that leads outside.";
    McpPathOutsideRoot = "mcp-evidence/path-outside-evidence-root", Error,
        "Store evidence under the configured evidence root, e.g. `artifacts/<agent>/<YYYY-MM-DD>/mcp/<topic>.jsonl`.";
    McpInvalidPathDate = "mcp-evidence/invalid-path-date", Error,
        "Use the real date of the session as the `<YYYY-MM-DD>` path segment.";
    McpFileNotInPr = "mcp-evidence/file-not-in-pr", Error,
        "Commit the evidence of this PR's own work in this PR; evidence from earlier PRs cannot be reused.";
    McpFileNotFound = "mcp-evidence/file-not-found", Error,
        "Commit the evidence file at the listed path, or fix the path in the PR body.";
    McpNotARegularFile = "mcp-evidence/not-a-regular-file", Error,
        "The evidence path must name a regular file, not a directory, FIFO or device.";
    McpEmptyFile = "mcp-evidence/empty-file", Error,
        "Log at least one MCP tool call (one JSON object per line) in the evidence file.";
    McpFileTooLarge = "mcp-evidence/file-too-large", Error,
        "Split the evidence or raise `max-file-size` in the config if this size is expected.";
    McpInvalidJson = "mcp-evidence/invalid-json", Error,
        "Write one complete JSON object per line (JSON Lines); no trailing commas, no multi-line objects.";
    McpMissingField = "mcp-evidence/missing-field", Error,
        "Add the field to every line, e.g. `\"tool\":\"context7\",\"timestamp\":\"2025-10-21T14:30:00Z\"`.";
    McpSchemaViolation = "mcp-evidence/schema-violation", Error,
        "Make the line match the evidence schema (see `merge-gates explain mcp-evidence/schema-violation`).";
    McpInvalidTimestamp = "mcp-evidence/invalid-timestamp", Error,
        "Write the timestamp in RFC 3339, e.g. `2025-10-21T14:30:00Z` or `2025-10-21T14:30:00.123+02:00`.";
    McpFutureTimestamp = "mcp-evidence/future-timestamp", Error,
        "Record the real time of the tool call; check the clock of the machine that wrote the evidence.";
    McpPathDateMismatch = "mcp-evidence/path-date-mismatch", Warning,
        "Move the evidence to the folder of the date its calls were made, or fix the timestamps.";
    McpNotRequired = "mcp-evidence/not-required", Notice,
        "Nothing to do: the PR changes no code files, so no MCP evidence is required.";

    // verify-heartbeat
    HbNotRequired = "heartbeat/not-required", Notice,
        "Nothing to do: the PR changes no code files, so no heartbeat is required.";
    HbSectionMissing = "heartbeat/section-missing", Error,
        "Add a `## Heartbeat` section listing `artifacts/<agent>/<YYYY-MM-DD>/heartbeat.ndjson`, or state `<2h single session - heartbeat not required`.";
    HbNoHeartbeatListed = "heartbeat/no-heartbeat-listed", Error,
        "List the heartbeat file as `- artifacts/<agent>/<YYYY-MM-DD>/heartbeat.ndjson` under the section.";
    HbTemplateUnedited = "heartbeat/template-unedited", Error,
        "Replace the template's placeholders (`<agent>`, `<YYYY-MM-DD>`) with the real heartbeat path.";
    HbFalseExemption = "heartbeat/false-exemption", Error,
        "The PR's commits span more than the exemption allows: commit the task's heartbeat log and list it.";
    HbExemptionUnverified = "heartbeat/exemption-unverified", Warning,
        "Run on a pull_request event or pass `--base REF` so the commit span can be checked.";
    HbPathEscapesRepo = "heartbeat/path-escapes-repo", Error,
        "List a path inside the repository: no `..`, no absolute path, no symlink that leads outside.";
    HbFileNotInPr = "heartbeat/file-not-in-pr", Error,
        "Append this PR's heartbeats to a log committed in this PR; a log from earlier work proves nothing about this one.";
    HbFileNotFound = "heartbeat/file-not-found", Error,
        "Commit the heartbeat file at the listed path, or fix the path in the PR body.";
    HbNotARegularFile = "heartbeat/not-a-regular-file", Error,
        "The heartbeat path must name a regular file, not a directory, FIFO or device.";
    HbEmptyFile = "heartbeat/empty-file", Error,
        "Append a heartbeat line every 15 minutes while the task is in progress.";
    HbFileTooLarge = "heartbeat/file-too-large", Error,
        "Raise `max-file-size` in the config if a heartbeat log this large is expected.";
    HbInvalidJson = "heartbeat/invalid-json", Error,
        "Write one complete JSON object per line (NDJSON).";
    HbMissingField = "heartbeat/missing-field", Error,
        "Every heartbeat line needs `timestamp` (or `ts`) and `status`.";
    HbInvalidTimestamp = "heartbeat/invalid-timestamp", Error,
        "Write the timestamp in RFC 3339, e.g. `2025-10-21T14:00:00Z`.";
    HbFutureTimestamp = "heartbeat/future-timestamp", Error,
        "Record the real time of the heartbeat; check the clock of the machine that wrote it.";
    HbUnknownStatus = "heartbeat/unknown-status", Error,
        "Use one of the statuses `doing`, `done`, `completed`, `blocked`.";
    HbOutOfOrder = "heartbeat/out-of-order", Error,
        "Append heartbeats in time order; do not edit or reorder earlier lines.";
    HbGap = "heartbeat/gap", Error,
        "Keep the heartbeat running every 15 minutes while a task is `doing`, or mark it `blocked` before pausing.";
    HbStaleTask = "heartbeat/stale-task", Error,
        "Finish the task and append a `done` heartbeat, or resume work and keep the heartbeat alive.";

    // dev-mcp-ban
    DevMcpBannedImport = "dev-mcp-ban/banned-import", Error,
        "Remove the import from production code: development MCP servers run beside the editor, never in the app. Use a production MCP client, or move the code under `scripts/` or a test.";
    DevMcpBannedDependency = "dev-mcp-ban/banned-dependency", Error,
        "Move the package to `devDependencies` (development MCP servers are never shipped), or remove it.";
    DevMcpFileSkipped = "dev-mcp-ban/file-skipped", Notice,
        "Nothing to do for generated or binary files; otherwise keep production sources under `max-file-size` (or raise it in `[dev-mcp-ban]`) and valid.";

    // migration-safety: discovery
    MigAppliedMigrationChanged = "migration-safety/applied-migration-changed", Error,
        "Leave applied migrations as they are: undo or change what they did in a new migration with a later version.";
    MigOutOfOrderMigration = "migration-safety/out-of-order-migration", Error,
        "Give the migration a version after the newest one on the base branch (regenerate its timestamp, e.g. `supabase migration new` or `prisma migrate dev`).";
    MigFileUnreadable = "migration-safety/file-unreadable", Error,
        "Make the migration a regular UTF-8 file under 16 MiB inside the repository.";

    // migration-safety: lint
    MigStatementTooComplex = "migration-safety/statement-too-complex", Warning,
        "Split the statement (build the long expression in steps, or in a function) so PostgreSQL's tree stays under 10,000 levels; or review it by hand.";
    MigSyntaxError = "migration-safety/syntax-error", Error,
        "Fix the SQL so PostgreSQL can parse it; the message and position are PostgreSQL's own.";
    MigDropTable = "migration-safety/drop-table", Error,
        "Production migrations are additive: stop reading the table in code, then drop it in a separate, approved cleanup (or keep it).";
    MigDropColumn = "migration-safety/drop-column", Error,
        "Stop reading and writing the column in code first; drop it later in an approved cleanup migration (or keep it).";
    MigDropSchema = "migration-safety/drop-schema", Error,
        "Do not drop schemas in a migration; every object and row in it is lost.";
    MigDropDatabase = "migration-safety/drop-database", Error,
        "Never drop a database from a migration.";
    MigTruncateTable = "migration-safety/truncate-table", Error,
        "Do not empty tables in a migration; delete the rows you mean in batches with a WHERE clause, or keep them.";
    MigDeleteWithoutWhere = "migration-safety/delete-without-where", Error,
        "Add a WHERE clause naming the rows to delete, and delete in batches.";
    MigUpdateWithoutWhere = "migration-safety/update-without-where", Error,
        "Add a WHERE clause, and backfill in batches outside the schema migration.";
    MigRenameTable = "migration-safety/rename-table", Warning,
        "Create the new table (or a view with the new name) and migrate readers first; the running code still uses the old name.";
    MigRenameColumn = "migration-safety/rename-column", Warning,
        "Add a new column, backfill it, switch the code, then drop the old one later; the running code still uses the old name.";
    MigChangeColumnType = "migration-safety/change-column-type", Warning,
        "Add a new column of the new type, backfill it in batches and switch the code; a type change needs explicit approval.";
    MigDropObject = "migration-safety/drop-object", Warning,
        "Keep the object until nothing uses it, and drop it in an approved cleanup migration.";
    MigSetNotNull = "migration-safety/set-not-null", Warning,
        "Add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it, then `SET NOT NULL` (PostgreSQL 12+ skips the scan).";
    MigNotNullWithoutDefault = "migration-safety/not-null-column-without-default", Warning,
        "Give the new NOT NULL column a constant DEFAULT, or add it nullable and backfill.";
    MigDefaultRewritesTable = "migration-safety/default-rewrites-table", Warning,
        "Add the column without the default (or with a constant one on PostgreSQL 11+), then set the default and backfill in batches.";
    MigIndexWithoutConcurrently = "migration-safety/create-index-without-concurrently", Warning,
        "Use `CREATE INDEX CONCURRENTLY`, alone in its own migration file.";
    MigConcurrentlyInTransaction = "migration-safety/concurrently-in-transaction", Error,
        "Put the CONCURRENTLY statement alone in its own migration file, outside BEGIN/COMMIT.";
    MigForeignKeyWithoutNotValid = "migration-safety/foreign-key-without-not-valid", Warning,
        "Add the foreign key `NOT VALID`, then `VALIDATE CONSTRAINT` it in a separate statement.";
    MigCheckWithoutNotValid = "migration-safety/check-without-not-valid", Warning,
        "Add the CHECK constraint `NOT VALID`, then `VALIDATE CONSTRAINT` it in a separate statement.";
    MigUniqueWithoutIndex = "migration-safety/unique-without-index", Warning,
        "Build the index with `CREATE UNIQUE INDEX CONCURRENTLY` first, then `ADD CONSTRAINT … UNIQUE USING INDEX` (or `PRIMARY KEY USING INDEX`).";
    MigDropIndexWithoutConcurrently = "migration-safety/drop-index-without-concurrently", Warning,
        "Use `DROP INDEX CONCURRENTLY`, alone in its own migration file.";
    MigCharColumn = "migration-safety/char-column", Warning,
        "Use `text` (or `varchar(n)` / a CHECK on length); `char(n)` pads with blanks and is never faster.";
    MigIntId = "migration-safety/int-id-column", Warning,
        "Use `bigint` (or `bigint GENERATED ALWAYS AS IDENTITY`) for ids; `int` ids run out at 2,147,483,647.";
    MigTimestampWithoutTimeZone = "migration-safety/timestamp-without-time-zone", Warning,
        "Use `timestamptz`; `timestamp` drops the time zone and compares wrongly across zones.";
    MigMissingLockTimeout = "migration-safety/missing-lock-timeout", Warning,
        "Start the migration with `SET lock_timeout = '5s';` so a blocked lock fails fast instead of stalling every query.";
    MigTableWithoutRls = "migration-safety/table-without-rls", Warning,
        "Add `ALTER TABLE … ENABLE ROW LEVEL SECURITY;` and the policies clients need, in this PR; for a table no client may read, create it in a schema the API does not expose.";
    MigRlsDisabled = "migration-safety/rls-disabled", Error,
        "Keep row-level security on; to let a role see more rows, add or widen a policy (`CREATE POLICY … USING (…)`).";
    MigVacuumFull = "migration-safety/vacuum-full", Warning,
        "Do not VACUUM FULL a live table in a migration: plain `VACUUM` frees space for reuse without the lock; to shrink a table, use pg_repack or pg_squeeze outside the deploy.";
    MigCluster = "migration-safety/cluster", Warning,
        "Do not CLUSTER a live table in a migration: it rewrites the table under ACCESS EXCLUSIVE; use pg_repack (which can order rows by an index) outside the deploy.";
    MigReindexWithoutConcurrently = "migration-safety/reindex-without-concurrently", Warning,
        "Use `REINDEX … CONCURRENTLY` (PostgreSQL 12+), alone in its own migration file.";
    MigRefreshWithoutConcurrently = "migration-safety/refresh-materialized-view-without-concurrently", Warning,
        "Use `REFRESH MATERIALIZED VIEW CONCURRENTLY` (the view needs a unique index), or refresh it outside the deploy.";
    MigValidateInSameTransaction = "migration-safety/validate-in-same-transaction", Warning,
        "Validate the constraint in a later migration, after the one that adds it NOT VALID has committed.";
    MigUncommittedTransaction = "migration-safety/uncommitted-transaction", Error,
        "End the file with `COMMIT;`, or remove the `BEGIN` if the runner wraps each file in a transaction.";
    MigNestedTransaction = "migration-safety/nested-transaction", Warning,
        "Remove `BEGIN`/`COMMIT` from the file: the runner already runs it in a transaction.";
    MigIdentifierTooLong = "migration-safety/identifier-too-long", Warning,
        "Shorten the name to at most 63 bytes: PostgreSQL silently truncates longer identifiers, so two long names can collide.";
    MigDomainConstraint = "migration-safety/domain-constraint", Warning,
        "Put the CHECK on the columns (added NOT VALID, then validated) instead of on a domain.";

    // migration-safety: (end of lint rules)

    // migration-safety: dry run, deploy files, Prisma schema
    MigDryRunSkipped = "migration-safety/dry-run-skipped", Notice,
        "Pass `--database-url` (or set `MERGE_GATES_DATABASE_URL`) to a throwaway PostgreSQL, e.g. a `services: postgres` container.";
    MigDryRunFailed = "migration-safety/dry-run-failed", Error,
        "Fix the statement so that it applies on a database built from the repository's earlier migrations.";
    MigDangerousLock = "migration-safety/dangerous-lock", Error,
        "Run `SET lock_timeout = '5s';` before the statement so it gives up instead of queueing every query on the table behind it, and keep the transaction short.";
    MigTableRewrite = "migration-safety/table-rewrite", Error,
        "Avoid the rewrite: add a new column, backfill it in batches, then switch over (or use a binary-compatible type change).";
    MigBaseObjectChanged = "migration-safety/base-object-changed", Warning,
        "Keep objects that exist on the base as they are (the running code relies on them), or get the change approved and suppress this finding with the reason.";
    MigDeployRunsMigration = "migration-safety/deploy-runs-migration", Error,
        "Remove the migration command from the deploy file; apply migrations in a reviewed, manual step instead.";
    MigReleaseCommandNotAllowed = "migration-safety/release-command-not-allowed", Error,
        "Set `release_command = \"npx prisma generate\"` (or add the command to `deploy.release-commands` in the config after review).";
    MigDeployFileInvalid = "migration-safety/deploy-file-invalid", Error,
        "Fix the syntax of the deploy file so that it can be checked.";
    MigPrismaModelRemoved = "migration-safety/prisma-model-removed", Error,
        "Keep the model (and its table) until no deployed code uses it; remove it in a separate, approved PR.";
    MigPrismaFieldRemoved = "migration-safety/prisma-field-removed", Error,
        "Keep the field (and its column); stop using it first and remove it in a separate, approved PR.";
    MigPrismaFieldTypeChanged = "migration-safety/prisma-field-type-changed", Warning,
        "Get explicit approval for the type change, or add a new field with the new type and migrate the data to it.";
    MigPrismaBaseUnreadable = "migration-safety/prisma-base-unreadable", Error,
        "Check out the base commit (`actions/checkout` with `fetch-depth: 0`), pass `--base REF`, or pass `--prisma-base-schema FILE`.";

    // migration-safety: (end of dry-run, deploy and prisma rules)

    // health-gate
    HgUnexpectedStatus = "health-gate/unexpected-status", Error,
        "Make the endpoint answer with a status in `--expect-status` (default 200-299). A redirect is not health: probe the final URL, or pass `--follow-redirects`.";
    HgUnreachable = "health-gate/unreachable", Error,
        "Check that the deployment is running and the URL's host, port and scheme are right; a TLS error means the certificate does not match or is not trusted.";
    HgRequestTimedOut = "health-gate/request-timed-out", Error,
        "Make the endpoint answer, body included, within `--request-timeout`; a health endpoint should not wait on slow dependencies without its own timeout.";
    HgBodyMismatch = "health-gate/body-mismatch", Error,
        "Fix the dependency the body reports as unhealthy, or correct `--expect-json` / `--expect-body` / `--expect-body-regex`.";
    HgLatencyExceeded = "health-gate/latency-exceeded", Error,
        "Find what makes the endpoint slow (cold start, database, upstream calls), or raise `--max-latency` if this latency is acceptable.";
    HgSlowResponse = "health-gate/slow-response", Warning,
        "The deployment is healthy but slow: look at what makes it slow before it crosses `--max-latency`.";
    HgNoDeploymentUrl = "health-gate/no-deployment-url", Error,
        "Set `environment_url` when creating the deployment status, or pass `--url`.";
    HgCertificateExpiring = "health-gate/certificate-expiring", Warning,
        "Renew the certificate (or fix the automatic renewal that should have), and deploy it before it expires; `--cert-min-days` sets how early this warns.";
    HgCrossOriginRedirect = "health-gate/cross-origin-redirect", Error,
        "Probe the URL that answers the health check itself (the final URL, on the deployment's own origin), or make the endpoint answer without redirecting elsewhere.";
    HgSuccessRateLow = "health-gate/success-rate-low", Error,
        "Find why some requests fail while others pass (one bad instance, a dependency timing out, a crash loop), fix it and deploy again; roll back meanwhile.";
    HgLatencyPercentileExceeded = "health-gate/latency-percentile-exceeded", Error,
        "Find what makes the slow tail slow (cold instances, a slow query, an upstream call) before promoting; raise `--max-p95`/`--max-p99` only if that latency is acceptable.";

    // (end of gate rules)
}

impl Rule {
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// The gate this rule belongs to; `None` for the shared `core/…` rules.
    pub fn gate(self) -> Option<GateId> {
        let prefix = self.id().split('/').next().unwrap_or_default();
        GateId::ALL.into_iter().find(|g| g.rule_prefix() == prefix)
    }

    /// The rule's name without the gate prefix (`file-not-found`).
    pub fn name(self) -> &'static str {
        self.id().split_once('/').map_or(self.id(), |(_, n)| n)
    }

    /// One sentence: the first paragraph under "What it finds" in the docs.
    pub fn summary(self) -> &'static str {
        let docs = self.docs();
        let body = docs.split_once("## What it finds").map_or(docs, |(_, b)| b);
        let para = body.trim_start().split("\n\n").next().unwrap_or_default();
        para.trim()
    }

    pub fn docs_url(self) -> String {
        format!("{DOCS_BASE}{}.md", self.id())
    }
}

macro_rules! pr_body_rules {
    ($( $field:ident: $mcp:ident, $hb:ident; )*) => {
        /// The checks both PR-body gates make, each declared once here with its two rules (one
        /// id per gate, as ids are stable: `mcp-evidence/file-not-found`,
        /// `heartbeat/file-not-found`). The code both gates share (`gates::body`,
        /// `gates::jsonl`) reports through the gate's set.
        #[derive(Debug, Clone, Copy)]
        pub struct PrBodyRules { $( pub $field: Rule, )* }

        impl PrBodyRules {
            pub const MCP_EVIDENCE: PrBodyRules = PrBodyRules { $( $field: Rule::$mcp, )* };
            pub const HEARTBEAT: PrBodyRules = PrBodyRules { $( $field: Rule::$hb, )* };
            /// Every check's two rules, for the test that holds them alike.
            #[cfg(test)]
            pub const PAIRS: &'static [(Rule, Rule)] = &[ $( (Rule::$mcp, Rule::$hb), )* ];
        }
    };
}

pr_body_rules! {
    not_required: McpNotRequired, HbNotRequired;
    section_missing: McpSectionMissing, HbSectionMissing;
    none_listed: McpNoEvidenceListed, HbNoHeartbeatListed;
    template: McpTemplateUnedited, HbTemplateUnedited;
    false_exemption: McpFalseExemption, HbFalseExemption;
    escapes: McpPathEscapesRepo, HbPathEscapesRepo;
    not_in_pr: McpFileNotInPr, HbFileNotInPr;
    not_found: McpFileNotFound, HbFileNotFound;
    not_regular: McpNotARegularFile, HbNotARegularFile;
    empty: McpEmptyFile, HbEmptyFile;
    too_large: McpFileTooLarge, HbFileTooLarge;
    invalid_json: McpInvalidJson, HbInvalidJson;
    missing_field: McpMissingField, HbMissingField;
    invalid_timestamp: McpInvalidTimestamp, HbInvalidTimestamp;
    future_timestamp: McpFutureTimestamp, HbFutureTimestamp;
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_rules_of_a_pr_body_check_are_alike() {
        for &(mcp, hb) in PrBodyRules::PAIRS {
            assert_eq!(mcp.gate(), Some(GateId::McpEvidence), "{mcp}");
            assert_eq!(hb.gate(), Some(GateId::Heartbeat), "{hb}");
            assert_eq!(
                mcp.default_severity(),
                hb.default_severity(),
                "{mcp} ~ {hb}"
            );
            // The same check under each gate's prefix, except what is listed.
            let (m, h) = (mcp.name(), hb.name());
            assert!(
                m == h || (m.contains("evidence") && h.contains("heartbeat")),
                "{mcp} ~ {hb}"
            );
        }
    }
}
