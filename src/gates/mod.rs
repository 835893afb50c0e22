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
use crate::github::{Needs, PrContext};
use crate::rules::Gate;
use crate::settings::Settings;
use crate::workspace::Workspace;
use anyhow::Result;

/// Everything a gate may read.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub workspace: &'a Workspace,
    pub pr: &'a PrContext,
}

/// Gate-specific command-line arguments (defaults when run through `merge-gates run`).
#[derive(Debug, Default)]
pub struct GateArgs {
    pub heartbeat: crate::cli::HeartbeatArgs,
    pub dev_mcp_ban: crate::cli::DevMcpBanArgs,
    pub migration_safety: crate::cli::MigrationSafetyArgs,
    pub health_gate: crate::cli::HealthGateArgs,
}

/// What a gate needs gathered about the pull request before it runs.
pub fn needs(gate: Gate) -> Needs {
    match gate {
        Gate::McpEvidence => Needs {
            body: true,
            changed_files: true,
            commits: false,
        },
        Gate::Heartbeat => Needs {
            body: true,
            changed_files: true,
            commits: true,
        },
        Gate::DevMcpBan | Gate::MigrationSafety => Needs {
            body: false,
            changed_files: true,
            commits: false,
        },
        Gate::HealthGate => Needs::default(),
    }
}

/// Whether this build implements the gate.
pub fn implemented(gate: Gate) -> bool {
    match gate {
        Gate::McpEvidence | Gate::Heartbeat => true,
        Gate::DevMcpBan => dev_mcp_ban::IMPLEMENTED,
        Gate::MigrationSafety => migration_safety::IMPLEMENTED,
        Gate::HealthGate => health_gate::IMPLEMENTED,
    }
}

pub async fn run(gate: Gate, ctx: &Context<'_>, args: &GateArgs) -> Result<GateOutput> {
    match gate {
        Gate::McpEvidence => mcp_evidence::run(ctx),
        Gate::Heartbeat => heartbeat::run(ctx, &args.heartbeat),
        Gate::DevMcpBan => dev_mcp_ban::run(ctx, &args.dev_mcp_ban).await,
        Gate::MigrationSafety => migration_safety::run(ctx, &args.migration_safety).await,
        Gate::HealthGate => health_gate::run(ctx, &args.health_gate).await,
    }
}

/// The code files among the PR's changed files, by the configured globs; `None` when the
/// changed files are unknown.
pub fn changed_code_files(ctx: &Context<'_>) -> Result<Option<Vec<String>>> {
    let Some(files) = &ctx.pr.changed_files else {
        return Ok(None);
    };
    let mut b = globset::GlobSetBuilder::new();
    for g in &ctx.settings.code_files {
        b.add(
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| anyhow::anyhow!("config code-files: `{g}`: {e}"))?,
        );
    }
    let set = b.build()?;
    Ok(Some(
        files
            .iter()
            .filter(|f| f.status != "removed" && set.is_match(&f.path))
            .map(|f| f.path.clone())
            .collect(),
    ))
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

/// A gate option that is a duration in the config, with its default.
pub fn duration_opt(
    value: &Option<String>,
    key: &str,
    default: std::time::Duration,
) -> Result<std::time::Duration> {
    match value {
        Some(s) => crate::units::duration(s).map_err(|e| anyhow::anyhow!("config {key}: {e}")),
        None => Ok(default),
    }
}

/// A gate option that is a size in the config, with its default.
pub fn bytes_opt(value: &Option<String>, key: &str, default: u64) -> Result<u64> {
    match value {
        Some(s) => crate::units::bytes(s).map_err(|e| anyhow::anyhow!("config {key}: {e}")),
        None => Ok(default),
    }
}
