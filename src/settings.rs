//! CLI + config file + environment → one `Settings` value. This is the only module that reads
//! environment variables, so every other module can be driven by tests without touching them.

use crate::cli::{Common, Format};
use crate::config::{Config, DiffFilter, FailOn, Reporter, RuleLevel};
use crate::finding::Severity;
use crate::rules::{Gate, Rule};
use crate::workspace::{PathError, Workspace};
use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_CONFIG: &str = ".github/merge-gates.toml";

/// Where the pull request comes from.
#[derive(Debug, Clone)]
pub enum PrSource {
    /// A GitHub Actions run: event payload plus the REST API.
    Github(GithubEnv),
    /// A laptop or another CI: body file, and changed files from git or a list.
    Local {
        body_file: Option<PathBuf>,
        base: Option<String>,
        changed_files: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct GithubEnv {
    pub api_url: String,
    pub token: Option<Secret>,
    pub repository: Option<String>,
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    /// `$GITHUB_SHA`: the commit a check run reports on when the event names no PR head.
    pub sha: Option<String>,
    pub api_timeout: Duration,
}

/// A token: its `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub repo: PathBuf,
    pub config: Config,
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
    pub code_files: Vec<String>,
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
    pub fn from_cli(common: &Common) -> Result<Settings> {
        let in_actions = env("GITHUB_ACTIONS").as_deref() == Some("true");
        let repo = common
            .repo
            .clone()
            .or_else(|| env("GITHUB_WORKSPACE").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        if !repo.is_dir() {
            bail!("--repo {}: not a directory", repo.display());
        }
        let config = match read_config(&repo, common.config.as_deref())? {
            Some((p, text)) => {
                Config::parse(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))?
            }
            None => Config::default(),
        };
        let severities = rule_levels(&config)?;
        if let Some(gates) = &config.gates {
            for g in gates {
                if Gate::from_name(g).is_none() {
                    bail!(
                        "config: `gates` names unknown gate `{g}` (known: {})",
                        gate_names()
                    );
                }
            }
        }
        let now = match &common.now {
            Some(s) => crate::timestamp::parse(s).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
            None => Utc::now(),
        };
        let local = common.pr_body_file.is_some()
            || common.base.is_some()
            || common.changed_files.is_some();
        let pr = if in_actions && !local {
            PrSource::Github(github_env(&config)?)
        } else {
            PrSource::Local {
                body_file: common.pr_body_file.clone(),
                base: common.base.clone(),
                changed_files: common.changed_files.clone(),
            }
        };
        let format = common.format.unwrap_or(if in_actions {
            Format::Github
        } else {
            Format::Text
        });
        let color = format == Format::Text
            && env("NO_COLOR").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout());
        Ok(Settings {
            repo,
            code_files: config
                .code_files
                .clone()
                .unwrap_or_else(|| DEFAULT_CODE_FILES.iter().map(|s| s.to_string()).collect()),
            fail_on: common.fail_on.or(config.fail_on).unwrap_or(FailOn::Error),
            reporter: common
                .reporter
                .or(config.reporter)
                .unwrap_or(Reporter::Annotations),
            filter: common
                .filter
                .or(config.filter)
                .unwrap_or(DiffFilter::Nofilter),
            config,
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

    /// The gates `merge-gates run` runs.
    pub fn enabled_gates(&self) -> Vec<Gate> {
        match &self.config.gates {
            Some(names) => names.iter().filter_map(|n| Gate::from_name(n)).collect(),
            None => vec![Gate::McpEvidence, Gate::Heartbeat],
        }
    }
}

/// Largest config file read; a real one is a few KiB.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The config file's path and text. `--config` is the workflow's own choice and is read as
/// given; the default `.github/merge-gates.toml` is part of the (untrusted) checkout, so it is
/// read through `Workspace`: a regular file inside the repository or nothing — never a
/// symlink out of it, a FIFO or a device. Both are capped at `MAX_CONFIG_BYTES`.
fn read_config(repo: &Path, explicit: Option<&Path>) -> Result<Option<(PathBuf, String)>> {
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
            let path = repo.join(DEFAULT_CONFIG);
            let ws =
                Workspace::new(repo).with_context(|| format!("repository {}", repo.display()))?;
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
    let api_timeout = match &config.github.api_timeout {
        Some(s) => crate::units::duration(s)
            .map_err(|e| anyhow::anyhow!("config github.api-timeout: {e}"))?,
        None => Duration::from_secs(60),
    };
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

impl Settings {
    /// The GitHub API and event of this run: the Actions job's, or locally the `GITHUB_*`
    /// variables when `GITHUB_REPOSITORY` is set (for health-gate's `--environment`).
    pub fn github(&self) -> Result<Option<GithubEnv>> {
        match &self.pr {
            PrSource::Github(env) => Ok(Some(env.clone())),
            PrSource::Local { .. } if env("GITHUB_REPOSITORY").is_some() => {
                github_env(&self.config).map(Some)
            }
            PrSource::Local { .. } => Ok(None),
        }
    }
}

/// A secret a setting names by its environment variable (health-gate's `--header-from-env`);
/// `None` when unset or empty.
pub fn env_secret(name: &str) -> Option<Secret> {
    env(name).map(Secret)
}

fn gate_names() -> String {
    Gate::ALL
        .iter()
        .map(|g| g.cli_name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn rule_levels(config: &Config) -> Result<HashMap<Rule, Option<Severity>>> {
    let mut out = HashMap::new();
    for (id, level) in &config.rules {
        let targets: Vec<Rule> = match (Rule::from_id(id), Gate::from_name(id)) {
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
