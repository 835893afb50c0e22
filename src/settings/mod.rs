//! CLI + config file + environment + defaults → one `Settings` value, resolved once before
//! any gate runs (ripgrep's low args → high args). `cli` and `config` only describe what a
//! person can write; here it becomes typed values — durations, sizes, enums, compiled glob
//! sets and regexes, the compiled evidence schema — and every mistake is an error naming the
//! flag or config key, before any work starts. Each gate's own options are resolved in
//! `gates.rs`. This is the only module that reads environment variables, so every other module
//! can be driven by tests without touching them.

mod gates;
mod policy;

pub use gates::Flags;
use policy::{Base, Policy};

use crate::cli::{Common, Format};
use crate::config::{CommentMode, Config, DiffFilter, FailOn, Reporter, RuleLevel};
use crate::finding::{Finding, Location, Severity, Table};
use crate::gates::{CodeFiles, Gate};
use crate::github::{GithubEnv, PrSource, Secret};
use crate::globs::{self, Style};
use crate::rules::{GateId, Rule};
use crate::workspace::{PathError, Workspace};
use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    pub comment: CommentMode,
    /// The check run's name, which also marks the PR comment.
    pub check_name: String,
    pub filter: DiffFilter,
    pub now: DateTime<Utc>,
    pub pr: PrSource,
    pub color: bool,
    pub severities: HashMap<Rule, Option<Severity>>,
    /// Who may approve a waiver the PR adds (users, `org/team`); empty: writers and admins.
    pub approvers: Vec<String>,
    /// Rules an author may waive without an approval.
    pub self_waivable: Vec<Rule>,
    pub code_files: CodeFiles,
    /// The gates to run, in order, each with its options.
    pub gates: Vec<Box<dyn Gate>>,
    /// What the PR changes of the policy it is judged by (`core/config-changed` notices), and
    /// the settings it changes, for the summary. Reported with the first gate.
    pub policy_findings: Vec<Finding>,
    pub policy_tables: Vec<Table>,
    /// `$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`, `$RUNNER_TEMP` (GitHub Actions only).
    pub step_summary: Option<PathBuf>,
    pub step_output: Option<PathBuf>,
    pub runner_temp: Option<PathBuf>,
}

/// Default globs of the files that are not code; every other changed file is (a PR touching
/// `backend/src/main.py`, a Dockerfile, a migration or a workflow needs evidence).
pub const DEFAULT_NON_CODE_FILES: &[&str] = &[
    "**/*.{md,markdown,mdx,txt,rst,adoc}",
    "docs/**",
    // The evidence and heartbeat logs themselves (`artifacts/<agent>/<date>/…`).
    "artifacts/**",
    "**/*.{png,jpg,jpeg,gif,svg,webp,ico,avif}",
    "**/{LICENSE,LICENCE,COPYING}*",
    ".github/ISSUE_TEMPLATE/**",
    ".github/PULL_REQUEST_TEMPLATE/**",
    ".github/{pull_request_template,PULL_REQUEST_TEMPLATE}.md",
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
            .unwrap_or_else(repository_root);
        if !repo.is_dir() {
            bail!("--repo {}: not a directory", repo.display());
        }
        let workspace =
            Workspace::new(&repo).with_context(|| format!("repository {}", repo.display()))?;
        // The event payload, read once: the PR, its base, the check run's commit and a
        // deployment are all taken from this copy.
        let payload = match in_actions || env("GITHUB_REPOSITORY").is_some() {
            true => event_payload()?,
            false => Arc::from(&[][..]),
        };
        let policy = Policy::new(workspace.clone(), base(common, in_actions, &payload)?)?;
        let config_text = read_config(&policy, common.config.as_deref())?;
        let config = match &config_text {
            Some((p, text)) => {
                Config::parse(text).map_err(|e| anyhow::anyhow!("config {p}: {e}"))?
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
            PrSource::Github(github_env(&config, &payload)?)
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
                Some(github_env(&config, &payload)?)
            }
            PrSource::Local { .. } => None,
        };
        let inputs = gates::Inputs {
            config: &config,
            flags,
            policy: &policy,
            github,
        };
        let gates = ids
            .into_iter()
            .map(|id| gates::resolve(id, &inputs))
            .collect::<Result<Vec<_>>>()?;
        let (policy_findings, policy_tables) = policy_changes(&policy);
        let format = common.format.unwrap_or(if in_actions {
            Format::Github
        } else {
            Format::Text
        });
        let color = format == Format::Text
            && env("NO_COLOR").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout());
        let code_files = match (&config.code_files, &config.non_code_files) {
            (Some(list), _) => CodeFiles::Only(globs::set(list, "code-files", Style::Paths)?),
            (None, Some(list)) => {
                CodeFiles::AllBut(globs::set(list, "non-code-files", Style::Paths)?)
            }
            (None, None) => CodeFiles::AllBut(globs::set(
                DEFAULT_NON_CODE_FILES,
                "non-code-files",
                Style::Paths,
            )?),
        };
        let check_name = check_name(
            common
                .check_name
                .as_deref()
                .or(config.check_name.as_deref()),
            &gates,
        )?;
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
            comment: common
                .comment
                .or(config.comment)
                .unwrap_or(CommentMode::OnFailure),
            check_name,
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
            approvers: approvers(&config)?,
            self_waivable: match &config.self_waivable {
                Some(ids) => ids
                    .iter()
                    .map(|id| rules_named(id, "self-waivable"))
                    .collect::<Result<Vec<_>>>()?
                    .concat(),
                None => Vec::new(),
            },
            policy_findings,
            policy_tables,
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

/// Without `--repo`: the root of the git repository the current folder is in (run from a
/// subfolder, merge-gates still checks the whole repository), else the current folder.
fn repository_root() -> PathBuf {
    // What `git rev-parse --show-toplevel` finds, without starting git (a third of a health
    // probe's run): the nearest folder up that holds `.git`, a folder or, in a worktree or a
    // submodule, a file.
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|d| d.join(".git").symlink_metadata().is_ok())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The check run's name: as given (`--check-name`, `check-name`), else `merge-gates`, or
/// `merge-gates <gate>` when one gate runs.
fn check_name(given: Option<&str>, gates: &[Box<dyn Gate>]) -> Result<String> {
    match given {
        Some(name) => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                bail!("config: check-name must be 1 to 100 characters on one line");
            }
            Ok(name.to_string())
        }
        None => Ok(match gates {
            [one] => format!("merge-gates {}", one.id()),
            _ => "merge-gates".into(),
        }),
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

/// What the run says on stderr as it goes (`tracing`): errors only with `-q`, what it waits for
/// by default, details with `-v`, everything with `-vv`; `MERGE_GATES_LOG` (an `EnvFilter`
/// directive such as `debug`) overrides the flags. Set once; a second call changes nothing.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = env("MERGE_GATES_LOG")
        .and_then(|d| tracing_subscriber::EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// Largest config file read; a real one is a few KiB.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The PR's base, when this run knows one: `--base` locally, the event's base commit in a
/// GitHub PR job. Policy is read from there.
fn base(common: &Common, in_actions: bool, payload: &Arc<[u8]>) -> Result<Base> {
    if !in_actions || local_flags(common) {
        return Ok(common.base.clone().map_or(Base::None, Base::Local));
    }
    // The API settings of the run are policy themselves, so they are not yet known: the
    // built-in ones read the base.
    let env = github_env(&Config::default(), payload)?;
    Ok(match crate::github::event_pr(&env) {
        Ok(crate::github::event::EventPr::Pr(pr)) => match pr.base_sha {
            Some(sha) => Base::Github {
                env: Box::new(env),
                owner: pr.owner,
                repo: pr.repo,
                sha,
            },
            None => Base::None,
        },
        _ => Base::None,
    })
}

/// The config file's name (for messages) and text. `--config` is the workflow's own choice and
/// is read as given. Otherwise `.github/merge-gates.toml` is read from the policy source: the
/// base commit when there is one, else the working tree (through `Workspace`: a regular file
/// inside the repository or nothing — never a symlink out of it, a FIFO or a device). Both are
/// capped at `MAX_CONFIG_BYTES`.
fn read_config(policy: &Policy, explicit: Option<&Path>) -> Result<Option<(String, String)>> {
    let (name, bytes) = match explicit {
        Some(p) => {
            let mut bytes = Vec::new();
            std::fs::File::open(p)
                .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
                .with_context(|| format!("reading config {}", p.display()))?;
            (
                p.display().to_string(),
                Some(bytes).filter(|b| b.len() as u64 <= MAX_CONFIG_BYTES),
            )
        }
        None => {
            let name = match policy.base() {
                Some(rev) => format!("{DEFAULT_CONFIG} (at the base commit {})", short(rev)),
                None => DEFAULT_CONFIG.to_string(),
            };
            match policy.read_capped(DEFAULT_CONFIG, MAX_CONFIG_BYTES) {
                Ok(bytes) => (name, bytes),
                Err(PathError::NotFound) => return Ok(None),
                Err(e) => bail!("config {name} {e}; it was not read"),
            }
        }
    };
    let Some(bytes) = bytes else {
        bail!("config {name} is over 1 MiB; it was not read");
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some((name, text))),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("config {name}: line {line} is not valid UTF-8")
        }
    }
}

fn short(rev: &str) -> &str {
    &rev[..rev.len().min(12)]
}

/// The policy files the PR changes: a `core/config-changed` notice on each, and for the config
/// the settings it changes (base value → the PR's), as a summary table.
fn policy_changes(policy: &Policy) -> (Vec<Finding>, Vec<Table>) {
    let Some(rev) = policy.base() else {
        return (Vec::new(), Vec::new());
    };
    let mut findings = Vec::new();
    let mut rows = Vec::new();
    for policy::Changed { path, base, pr } in policy.changed() {
        let what = match (&base, &pr) {
            (None, _) => "adds",
            (_, None) => "deletes",
            _ => "changes",
        };
        let mut message = format!(
            "the PR {what} the policy file `{path}`; this run follows the base commit {}, and the change takes effect once it is merged",
            short(rev)
        );
        if path == DEFAULT_CONFIG {
            let settings = settings_diff(base.as_deref(), pr.as_deref());
            if !settings.is_empty() {
                let keys: Vec<&str> = settings.iter().map(|(k, _, _)| k.as_str()).collect();
                message.push_str(&format!(
                    " (settings changed: {})",
                    crate::text::excerpt(&keys.join(", "), 300)
                ));
            }
            rows.extend(
                settings
                    .into_iter()
                    .map(|(k, b, p)| vec![path.clone(), k, b, p]),
            );
        } else {
            rows.push(vec![
                path.clone(),
                "(file)".into(),
                describe_bytes(base.as_deref()),
                describe_bytes(pr.as_deref()),
            ]);
        }
        let mut finding = Finding::new(crate::rules::Rule::ConfigChanged, message);
        if pr.is_some() {
            finding = finding.at(Location::file(path));
        }
        findings.push(finding);
    }
    let tables = if rows.is_empty() {
        Vec::new()
    } else {
        vec![Table {
            title: format!(
                "Policy this PR changes (in force after merge; this run used the base commit {})",
                short(rev)
            ),
            columns: ["file", "setting", "base", "this PR"]
                .map(String::from)
                .to_vec(),
            rows,
        }]
    };
    (findings, tables)
}

fn describe_bytes(b: Option<&[u8]>) -> String {
    match b {
        None => "(none)".into(),
        Some(b) => format!("{} bytes", crate::text::thousands(b.len() as u64)),
    }
}

/// The settings two config texts set differently, as dotted keys with their values (TOML),
/// `(unset)` where a text does not set the key and `(not valid TOML)` for a text that does not
/// parse.
fn settings_diff(base: Option<&[u8]>, pr: Option<&[u8]>) -> Vec<(String, String, String)> {
    fn flat(bytes: Option<&[u8]>) -> Result<std::collections::BTreeMap<String, String>, ()> {
        let mut out = std::collections::BTreeMap::new();
        let Some(bytes) = bytes else { return Ok(out) };
        let text = std::str::from_utf8(bytes).map_err(|_| ())?;
        let table: toml::Table = text.parse().map_err(|_| ())?;
        fn walk(
            prefix: &str,
            v: &toml::Value,
            out: &mut std::collections::BTreeMap<String, String>,
        ) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&key, v, out);
                    }
                }
                other => {
                    out.insert(prefix.to_string(), other.to_string());
                }
            }
        }
        walk("", &toml::Value::Table(table), &mut out);
        Ok(out)
    }
    let (b, p) = match (flat(base), flat(pr)) {
        (Ok(b), Ok(p)) => (b, p),
        (b, p) => {
            let say = |r: &Result<_, ()>| match r {
                Ok(_) => "(valid)".to_string(),
                Err(()) => "(not valid TOML)".to_string(),
            };
            return vec![("(whole file)".into(), say(&b), say(&p))];
        }
    };
    let unset = || "(unset)".to_string();
    let mut keys: Vec<&String> = b.keys().chain(p.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != p.get(*k))
        .map(|k| {
            let value = |m: &std::collections::BTreeMap<String, String>| {
                m.get(k)
                    .map(|v| crate::text::excerpt(v, 120))
                    .unwrap_or_else(unset)
            };
            (k.clone(), value(&b), value(&p))
        })
        .collect()
}

/// Largest event payload read; GitHub caps a webhook payload at 25 MB.
const MAX_EVENT_BYTES: u64 = 64 << 20;

/// The event payload at `$GITHUB_EVENT_PATH`; empty without one.
fn event_payload() -> Result<Arc<[u8]>> {
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Ok(Arc::from(&[][..]));
    };
    let file =
        std::fs::File::open(&path).with_context(|| format!("reading GITHUB_EVENT_PATH {path}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading GITHUB_EVENT_PATH {path}"))?;
    if bytes.len() as u64 > MAX_EVENT_BYTES {
        bail!("GITHUB_EVENT_PATH {path}: the event payload is over 64 MiB, so it is not read");
    }
    Ok(bytes.into())
}

/// The GitHub side of the environment: API URL, token, repository, event.
fn github_env(config: &Config, payload: &Arc<[u8]>) -> Result<GithubEnv> {
    let api_timeout = duration(
        None,
        config.github.api_timeout.as_deref(),
        ("api-timeout", "github"),
    )?
    .unwrap_or(Duration::from_secs(60));
    Ok(GithubEnv {
        api_url: env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
        server_url: env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
        token: env("GITHUB_TOKEN")
            .or_else(|| env("INPUT_GITHUB-TOKEN"))
            .map(Secret),
        repository: env("GITHUB_REPOSITORY"),
        event_name: env("GITHUB_EVENT_NAME"),
        payload: payload.clone(),
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

/// The rules `id` names: one rule, or every rule of a gate.
fn rules_named(id: &str, key: &str) -> Result<Vec<Rule>> {
    Ok(match (Rule::from_id(id), GateId::from_name(id)) {
        (Some(rule), _) => vec![rule],
        (None, Some(gate)) => Rule::ALL
            .iter()
            .copied()
            .filter(|r| r.gate() == Some(gate))
            .collect(),
        (None, None) => {
            bail!("config: {key} names unknown rule `{id}` (see `merge-gates rules`)")
        }
    })
}

/// `approvers`: GitHub logins and `org/team` slugs.
fn approvers(config: &Config) -> Result<Vec<String>> {
    let list = config.approvers.clone().unwrap_or_default();
    for a in &list {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        let valid = match a.split_once('/') {
            Some((org, team)) => ok(org) && ok(team),
            None => ok(a.trim_start_matches('@')),
        };
        if !valid {
            bail!(
                "config: approvers entry `{}` is not a GitHub login or `org/team`",
                crate::text::excerpt(a, 100)
            );
        }
    }
    Ok(list
        .into_iter()
        .map(|a| a.trim_start_matches('@').to_string())
        .collect())
}

fn rule_levels(config: &Config) -> Result<HashMap<Rule, Option<Severity>>> {
    let mut out = HashMap::new();
    for (id, level) in &config.rules {
        let targets = rules_named(id, "[rules]")?;
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
