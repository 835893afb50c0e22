//! CLI + config file + environment + defaults → one `Settings` value, resolved once before
//! any gate runs (ripgrep's low args → high args). `cli` and `config` only describe what a
//! person can write; here it becomes typed values — durations, sizes, enums, compiled glob
//! sets and regexes, the compiled evidence schema — and every mistake is an error naming the
//! flag or config key, before any work starts. Each gate's own options are resolved in
//! `gates.rs`. This is the only module that reads environment variables, so every other module
//! can be driven by tests without touching them.

mod gates;

pub use gates::Flags;

use crate::cli::{Common, Format};
use crate::config::{Config, DiffFilter, FailOn, Reporter, RuleLevel};
use crate::finding::Severity;
use crate::gates::Gate;
use crate::github::{GithubEnv, PrSource, Secret};
use crate::globs::{self, Style};
use crate::rules::{GateId, Rule};
use crate::workspace::{PathError, Workspace};
use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_CONFIG: &str = ".github/merge-gates.toml";

pub struct Settings {
    pub repo: PathBuf,
    /// The repository as an untrusted tree (resolved once; the config was read through it).
    pub workspace: Workspace,
    pub format: Format,
    pub report_path: Option<PathBuf>,
    pub sarif_path: Option<PathBuf>,
    pub fail_on: FailOn,
    pub reporter: Reporter,
    pub filter: DiffFilter,
    pub now: DateTime<Utc>,
    pub pr: PrSource,
    pub color: bool,
    pub severities: HashMap<Rule, Option<Severity>>,
    pub code_files: globset::GlobSet,
    /// The gates to run, in order, each with its options.
    pub gates: Vec<Box<dyn Gate>>,
    /// `$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`, `$RUNNER_TEMP` (GitHub Actions only).
    pub step_summary: Option<PathBuf>,
    pub step_output: Option<PathBuf>,
    pub runner_temp: Option<PathBuf>,
}

/// Default globs of code files: sources under the usual code roots.
pub const DEFAULT_CODE_FILES: &[&str] = &[
    "{app,src,server,lib,packages,scripts}/**/*.{ts,tsx,js,jsx,mjs,cjs,mts,cts,py,rb,go,rs,java,kt,swift,php,cs,vue,svelte,sh,sql,prisma,graphql,css,scss,html,liquid}",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Resolve everything. `selected`: the gate of a gate subcommand; `None` for `run` (the
    /// config's gates). `flags`: the gate flags of the command line.
    pub fn new(common: &Common, selected: Option<GateId>, flags: &Flags) -> Result<Settings> {
        let in_actions = env("GITHUB_ACTIONS").as_deref() == Some("true");
        let repo = common
            .repo
            .clone()
            .or_else(|| env("GITHUB_WORKSPACE").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        if !repo.is_dir() {
            bail!("--repo {}: not a directory", repo.display());
        }
        let workspace =
            Workspace::new(&repo).with_context(|| format!("repository {}", repo.display()))?;
        let config = match read_config(&workspace, common.config.as_deref())? {
            Some((p, text)) => {
                Config::parse(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))?
            }
            None => Config::default(),
        };
        let severities = rule_levels(&config)?;
        let has_body = common.pr_body_file.is_some() || (in_actions && !local_flags(common));
        let now = match &common.now {
            Some(s) => crate::timestamp::parse(s).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
            None => Utc::now(),
        };
        let ids = match selected {
            Some(id) => vec![id],
            None => enabled_gates(&config, has_body)?,
        };
        let pr = if in_actions && !local_flags(common) {
            PrSource::Github(github_env(&config)?)
        } else {
            PrSource::Local {
                body_file: common.pr_body_file.clone(),
                base: common.base.clone(),
                changed_files: common.changed_files.clone(),
            }
        };
        // The GitHub API and event of this run: the Actions job's, or locally the `GITHUB_*`
        // variables when `GITHUB_REPOSITORY` is set (for health-gate's `--environment`).
        let github = match &pr {
            PrSource::Github(env) => Some(env.clone()),
            PrSource::Local { .. } if env("GITHUB_REPOSITORY").is_some() => {
                Some(github_env(&config)?)
            }
            PrSource::Local { .. } => None,
        };
        let inputs = gates::Inputs {
            config: &config,
            flags,
            workspace: &workspace,
            github,
        };
        let gates = ids
            .into_iter()
            .map(|id| gates::resolve(id, &inputs))
            .collect::<Result<Vec<_>>>()?;
        let format = common.format.unwrap_or(if in_actions {
            Format::Github
        } else {
            Format::Text
        });
        let color = format == Format::Text
            && env("NO_COLOR").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout());
        let code_files = match &config.code_files {
            Some(list) => globs::set(list, "code-files", Style::Paths)?,
            None => globs::set(DEFAULT_CODE_FILES, "code-files", Style::Paths)?,
        };
        Ok(Settings {
            repo,
            workspace,
            code_files,
            gates,
            fail_on: common.fail_on.or(config.fail_on).unwrap_or(FailOn::Error),
            reporter: common
                .reporter
                .or(config.reporter)
                .unwrap_or(Reporter::Annotations),
            filter: common
                .filter
                .or(config.filter)
                .unwrap_or(DiffFilter::Nofilter),
            format,
            report_path: common.report.clone(),
            sarif_path: common.sarif.clone(),
            now,
            pr,
            color,
            severities,
            step_summary: env("GITHUB_STEP_SUMMARY")
                .map(PathBuf::from)
                .filter(|_| in_actions),
            step_output: env("GITHUB_OUTPUT")
                .map(PathBuf::from)
                .filter(|_| in_actions),
            runner_temp: env("RUNNER_TEMP").map(PathBuf::from).filter(|_| in_actions),
        })
    }

    /// The severity a rule reports at after config overrides; `None` when turned off.
    pub fn severity(&self, rule: Rule, default: Severity) -> Option<Severity> {
        self.severities.get(&rule).copied().unwrap_or(Some(default))
    }
}

/// Local mode: the PR comes from files and git, not from a GitHub event.
fn local_flags(common: &Common) -> bool {
    common.pr_body_file.is_some() || common.base.is_some() || common.changed_files.is_some()
}

/// The gates `merge-gates run` runs: the config's `gates`, by name, checked here. Without
/// them, every gate whose inputs exist: the PR-body gates when there is a body (a GitHub
/// event, or `--pr-body-file`), dev-mcp-ban and migration-safety always, health-gate when the
/// config names a URL or an environment. Removing the config turns no gate off.
fn enabled_gates(config: &Config, has_body: bool) -> Result<Vec<GateId>> {
    match &config.gates {
        Some(names) => names
            .iter()
            .map(|g| {
                GateId::from_name(g).ok_or_else(|| {
                    anyhow::anyhow!(
                        "config: `gates` names unknown gate `{g}` (known: {})",
                        gate_names()
                    )
                })
            })
            .collect(),
        None => {
            let health =
                config.health_gate.url.is_some() || config.health_gate.environment.is_some();
            Ok(GateId::ALL
                .into_iter()
                .filter(|g| match g {
                    GateId::McpEvidence | GateId::Heartbeat => has_body,
                    GateId::DevMcpBan | GateId::MigrationSafety => true,
                    GateId::HealthGate => health,
                })
                .collect())
        }
    }
}

/// Largest config file read; a real one is a few KiB.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The config file's path and text. `--config` is the workflow's own choice and is read as
/// given; the default `.github/merge-gates.toml` is part of the (untrusted) checkout, so it is
/// read through `Workspace`: a regular file inside the repository or nothing — never a
/// symlink out of it, a FIFO or a device. Both are capped at `MAX_CONFIG_BYTES`.
fn read_config(ws: &Workspace, explicit: Option<&Path>) -> Result<Option<(PathBuf, String)>> {
    let (path, bytes) = match explicit {
        Some(p) => {
            let mut bytes = Vec::new();
            std::fs::File::open(p)
                .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
                .with_context(|| format!("reading config {}", p.display()))?;
            (
                p.to_path_buf(),
                Some(bytes).filter(|b| b.len() as u64 <= MAX_CONFIG_BYTES),
            )
        }
        None => {
            let path = ws.root().join(DEFAULT_CONFIG);
            match ws.read_capped(DEFAULT_CONFIG, MAX_CONFIG_BYTES) {
                Ok(bytes) => (path, bytes),
                Err(PathError::NotFound) => return Ok(None),
                Err(e) => bail!("config {} {e}; it was not read", path.display()),
            }
        }
    };
    let Some(bytes) = bytes else {
        bail!("config {} is over 1 MiB; it was not read", path.display());
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some((path, text))),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("config {}: line {line} is not valid UTF-8", path.display())
        }
    }
}

/// The GitHub side of the environment: API URL, token, repository, event.
fn github_env(config: &Config) -> Result<GithubEnv> {
    let api_timeout = duration(
        None,
        config.github.api_timeout.as_deref(),
        ("api-timeout", "github"),
    )?
    .unwrap_or(Duration::from_secs(60));
    Ok(GithubEnv {
        api_url: env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
        token: env("GITHUB_TOKEN")
            .or_else(|| env("INPUT_GITHUB-TOKEN"))
            .map(Secret),
        repository: env("GITHUB_REPOSITORY"),
        event_name: env("GITHUB_EVENT_NAME"),
        event_path: env("GITHUB_EVENT_PATH").map(PathBuf::from),
        sha: env("GITHUB_SHA"),
        api_timeout,
    })
}

fn gate_names() -> String {
    GateId::ALL
        .iter()
        .map(|g| g.cli_name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn rule_levels(config: &Config) -> Result<HashMap<Rule, Option<Severity>>> {
    let mut out = HashMap::new();
    for (id, level) in &config.rules {
        let targets: Vec<Rule> = match (Rule::from_id(id), GateId::from_name(id)) {
            (Some(rule), _) => vec![rule],
            (None, Some(gate)) => Rule::ALL
                .iter()
                .copied()
                .filter(|r| r.gate() == Some(gate))
                .collect(),
            (None, None) => {
                bail!("config: [rules] names unknown rule `{id}` (see `merge-gates rules`)")
            }
        };
        let sev = match level {
            RuleLevel::Error => Some(Severity::Error),
            RuleLevel::Warning => Some(Severity::Warning),
            RuleLevel::Notice => Some(Severity::Notice),
            RuleLevel::Off => None,
        };
        for r in targets {
            out.insert(r, sev);
        }
    }
    Ok(out)
}

/// A setting that is a duration: the flag `--NAME` over the config key `SECTION.NAME`; `None`
/// when neither is given. An unreadable value is an error naming the flag or key.
fn duration(
    flag: Option<&str>,
    config: Option<&str>,
    (name, section): (&str, &str),
) -> Result<Option<Duration>> {
    value(flag, config, (name, section), crate::units::duration)
}

/// A setting that is a size in bytes (`64MiB`), as `duration` reads a duration.
fn bytes(
    flag: Option<&str>,
    config: Option<&str>,
    (name, section): (&str, &str),
) -> Result<Option<u64>> {
    value(flag, config, (name, section), crate::units::bytes)
}

fn value<T>(
    flag: Option<&str>,
    config: Option<&str>,
    (name, section): (&str, &str),
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>> {
    match (flag, config) {
        (Some(s), _) => parse(s)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--{name}: {e}")),
        (None, Some(s)) => parse(s)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("config {section}.{name}: {e}")),
        (None, None) => Ok(None),
    }
}
