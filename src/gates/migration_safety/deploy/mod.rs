//! Deploy files must never run migrations: the team's policy is that migrations are applied
//! in a reviewed, manual step, so `fly.toml`, `package.json` scripts, Dockerfiles and the
//! entrypoint scripts they name, the `Procfile`, GitHub workflow / composite-action steps,
//! `railway.toml` / `railway.json`, `vercel.json`, `render.yaml`, Heroku's `app.json` and
//! Compose files (`docker-compose*.yml`, `compose*.yml`) are searched for `prisma migrate deploy|dev|resolve|reset`, `prisma db push`,
//! `supabase db push|reset`, `--accept-data-loss` and the config's extra commands, and the
//! fly.toml `release_command` must be one of the allowed values (`npx prisma generate`).
//!
//! Every deploy file of the repository is checked, not only the PR's: a nightly workflow that
//! has run `prisma migrate deploy` for months is exactly what the original guard missed.
//! `files` reads each format (`yaml` the YAML ones), `shell` finds the commands in any
//! spelling a shell accepts.

pub mod files;
pub mod shell;
pub mod yaml;

use super::dryrun::sql::LineIndex;
use crate::finding::{Finding, GateOutput, Location};
use crate::gates::Context;
use crate::rules::Rule;
use files::Command;
use shell::Pattern;
use std::collections::BTreeSet;

pub const DEFAULT_RELEASE_COMMANDS: &[&str] = &["npx prisma generate"];

/// Deploy files larger than this are a finding, not read.
pub const MAX_DEPLOY_FILE_BYTES: u64 = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Fly,
    PackageJson,
    Dockerfile,
    Procfile,
    Workflow,
    Script,
    RailwayToml,
    /// A JSON file whose deploy commands sit under these keys (`railway.json`, `vercel.json`).
    Json(&'static [&'static str]),
    AppJson,
    /// A YAML file whose deploy commands sit under these keys (`render.yaml`, Compose files).
    Yaml(&'static [&'static str]),
}

const RAILWAY_KEYS: &[&str] = &["startCommand", "preDeployCommand", "buildCommand"];
const VERCEL_KEYS: &[&str] = &["buildCommand", "installCommand"];
const RENDER_KEYS: &[&str] = &[
    "buildCommand",
    "startCommand",
    "preDeployCommand",
    "dockerCommand",
];
const COMPOSE_KEYS: &[&str] = &["command", "entrypoint"];

fn classify(path: &str, scripts: &globset::GlobSet) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    if lower == "fly.toml"
        || (lower.starts_with("fly.") || lower.ends_with(".fly.toml")) && lower.ends_with(".toml")
    {
        Some(Kind::Fly)
    } else if name == "package.json" {
        Some(Kind::PackageJson)
    } else if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
    {
        Some(Kind::Dockerfile)
    } else if name == "Procfile" {
        Some(Kind::Procfile)
    } else if (path.starts_with(".github/workflows/") && path.matches('/').count() == 2
        || lower == "action.yml"
        || lower == "action.yaml")
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
    {
        Some(Kind::Workflow)
    } else if name == "railway.toml" {
        Some(Kind::RailwayToml)
    } else if name == "railway.json" {
        Some(Kind::Json(RAILWAY_KEYS))
    } else if name == "vercel.json" {
        Some(Kind::Json(VERCEL_KEYS))
    } else if name == "app.json" {
        Some(Kind::AppJson)
    } else if lower == "render.yaml" || lower == "render.yml" {
        Some(Kind::Yaml(RENDER_KEYS))
    } else if (lower.starts_with("docker-compose") || lower.starts_with("compose"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
    {
        Some(Kind::Yaml(COMPOSE_KEYS))
    } else if lower == "docker-entrypoint.sh" || lower == "entrypoint.sh" || scripts.is_match(path)
    {
        Some(Kind::Script)
    } else {
        None
    }
}

/// The repository's files that `classify` accepts, from the workspace's file set (what git
/// tracks, never filtered by ignore files a PR can commit); `node_modules` is never taken. A
/// symlink with a deploy file's name is taken too: deploy tools follow a `fly.toml` link, so
/// reading it through the workspace (inside the repository only, regular files only) either
/// checks it or says why not.
fn deploy_files(ctx: &Context<'_>, scripts: &globset::GlobSet) -> Vec<(String, Kind)> {
    let mut out: Vec<(String, Kind)> = ctx
        .workspace
        .files()
        .files
        .iter()
        .filter(|p| !p.split('/').any(|s| s == "node_modules"))
        .filter_map(|p| classify(p, scripts).map(|k| (p.clone(), k)))
        .collect();
    out.sort();
    out
}

/// What deploy files must not run; `settings` resolves it.
pub struct Options {
    /// The built-in commands plus the config's `patterns`.
    pub patterns: Vec<Pattern>,
    /// Extra shell scripts to check.
    pub scripts: globset::GlobSet,
    /// The values fly.toml's `release_command` may have, whitespace folded.
    pub release_commands: Vec<String>,
}

impl Options {
    /// The built-in patterns followed by `extra`; `Err` names the one that names no command.
    pub fn patterns<'e>(
        extra: impl IntoIterator<Item = &'e String>,
    ) -> Result<Vec<Pattern>, String> {
        let mut out: Vec<Pattern> = shell::BUILTIN_PATTERNS
            .iter()
            .filter_map(|p| Pattern::parse(p))
            .collect();
        for p in extra {
            out.push(Pattern::parse(p).ok_or_else(|| p.clone())?);
        }
        Ok(out)
    }

    /// `release_command` values as they are compared.
    pub fn release_commands<'r>(values: impl IntoIterator<Item = &'r str>) -> Vec<String> {
        values.into_iter().map(normalize).collect()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            patterns: Options::patterns(&[]).expect("built-in patterns"),
            scripts: globset::GlobSet::empty(),
            release_commands: Options::release_commands(DEFAULT_RELEASE_COMMANDS.iter().copied()),
        }
    }
}

struct Checker<'a> {
    patterns: &'a [Pattern],
    allowed: &'a [String],
    ctx: &'a Context<'a>,
    checked: BTreeSet<String>,
}

fn normalize(cmd: &str) -> String {
    cmd.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn location(path: &str, idx: &LineIndex<'_>, start: usize, end: usize) -> Location {
    let (line, col) = idx.pos(start);
    let (end_line, end_col) = idx.pos(end);
    Location::span(
        path,
        line,
        col,
        if end_line == line { end_col } else { col },
    )
}

pub fn run(ctx: &Context<'_>, opts: &Options, out: &mut GateOutput) {
    let mut checker = Checker {
        patterns: &opts.patterns,
        allowed: &opts.release_commands,
        ctx,
        checked: BTreeSet::new(),
    };
    let files = deploy_files(ctx, &opts.scripts);
    for (path, kind) in &files {
        checker.file(path, *kind, out);
    }
    out.notes.push(format!(
        "deploy files: {} checked for migration commands",
        checker.checked.len()
    ));
}

impl Checker<'_> {
    fn read(&mut self, path: &str, out: &mut GateOutput) -> Option<String> {
        if !self.checked.insert(path.to_string()) {
            return None;
        }
        let problem = match self.ctx.workspace.read_capped(path, MAX_DEPLOY_FILE_BYTES) {
            Ok(Some(b)) => match String::from_utf8(b) {
                Ok(s) => return Some(s),
                Err(_) => "is not UTF-8 text".to_string(),
            },
            Ok(None) => format!(
                "is larger than {} bytes",
                crate::text::thousands(MAX_DEPLOY_FILE_BYTES)
            ),
            Err(e) => e.to_string(),
        };
        out.push(
            Finding::new(
                Rule::MigDeployFileInvalid,
                format!("`{path}` {problem}, so it was not checked for migration commands"),
            )
            .at(Location::file(path)),
        );
        None
    }

    fn invalid(&self, path: &str, text: &str, what: &str, e: files::Invalid, out: &mut GateOutput) {
        let (line, col) = LineIndex::new(text).pos(e.offset);
        out.push(
            Finding::new(
                Rule::MigDeployFileInvalid,
                format!(
                    "{what} does not parse, so it was not checked for migration commands: {}",
                    crate::text::excerpt(e.message.lines().next().unwrap_or_default(), 200)
                ),
            )
            .at(Location::span(path, line, col, col)),
        );
    }

    fn file(&mut self, path: &str, kind: Kind, out: &mut GateOutput) {
        let Some(text) = self.read(path, out) else {
            return;
        };
        if !matches!(kind, Kind::PackageJson | Kind::Json(_) | Kind::AppJson) {
            out.suppressions
                .extend(crate::suppress::scan(path, &text, &["#"]));
        }
        let idx = LineIndex::new(&text);
        let commands = match kind {
            Kind::Fly => match files::fly(&text) {
                Ok(fly) => {
                    if let Some((value, cmd)) = fly.release {
                        let before = out.findings.len();
                        self.check(path, &idx, std::slice::from_ref(&cmd), out);
                        if out.findings.len() == before
                            && !self.allowed.contains(&normalize(&value))
                        {
                            let start = cmd.snippet.file_offset(0);
                            out.push(
                                Finding::new(
                                    Rule::MigReleaseCommandNotAllowed,
                                    format!(
                                        "the fly.toml `release_command` is `{}`; the only allowed value{} {}",
                                        crate::text::excerpt(&value, 120),
                                        if self.allowed.len() == 1 { " is" } else { "s are" },
                                        crate::gates::list_some(self.allowed, 5)
                                    ),
                                )
                                .at(location(path, &idx, start, start + value.len().saturating_sub(1))),
                            );
                        }
                    }
                    fly.commands
                }
                Err(e) => return self.invalid(path, &text, &format!("`{path}`"), e, out),
            },
            Kind::PackageJson => match files::package_json(&text) {
                Ok(c) => c,
                Err(e) => return self.invalid(path, &text, &format!("`{path}`"), e, out),
            },
            Kind::Dockerfile => {
                let d = files::dockerfile(&text);
                for script in self.named_scripts(path, &d) {
                    self.script(&script, out);
                }
                d.commands
            }
            Kind::Procfile => files::procfile(&text),
            Kind::Script => vec![files::script(&text, "the entrypoint script".into())],
            other => match parse(other, path, &text) {
                Ok(c) => c,
                Err(e) => return self.invalid(path, &text, &format!("`{path}`"), e, out),
            },
        };
        self.check(path, &idx, &commands, out);
    }

    fn script(&mut self, path: &str, out: &mut GateOutput) {
        if !self.checked.contains(path) {
            self.file(path, Kind::Script, out);
        }
    }

    /// Repository paths of the shell scripts a Dockerfile runs: a `*.sh` word of `RUN`,
    /// `CMD` or `ENTRYPOINT`, found among the `COPY` / `ADD` sources (relative to the
    /// Dockerfile's directory, the usual build context) or at that path.
    fn named_scripts(&self, dockerfile: &str, d: &files::Dockerfile) -> Vec<String> {
        let dir = dockerfile.rsplit_once('/').map_or("", |(d, _)| d);
        let mut out = Vec::new();
        for cmd in &d.commands {
            for words in shell::commands(&cmd.snippet, cmd.form) {
                for w in words.iter().filter(|w| w.text.ends_with(".sh")) {
                    let base = w.text.rsplit('/').next().unwrap_or(&w.text);
                    let mut candidates: Vec<String> = d
                        .copied
                        .iter()
                        .flat_map(|src| {
                            let src = src.trim_end_matches('/');
                            [
                                (src.rsplit('/').next() == Some(base)).then(|| join(dir, src)),
                                Some(join(dir, &format!("{src}/{base}"))),
                            ]
                        })
                        .flatten()
                        .collect();
                    if !w.text.starts_with('/') {
                        candidates.push(join(dir, &w.text));
                    }
                    if let Some(found) = candidates
                        .into_iter()
                        .find(|c| self.ctx.workspace.open(c).is_ok())
                    {
                        out.push(found);
                    }
                }
            }
        }
        out
    }

    fn check(&self, path: &str, idx: &LineIndex<'_>, commands: &[Command], out: &mut GateOutput) {
        check_commands(self.patterns, path, idx, commands, out);
    }
}

/// The commands of a structured deploy file (workflow, Railway, Vercel, Render, app.json,
/// Compose), or where it does not parse.
fn parse(kind: Kind, path: &str, text: &str) -> Result<Vec<Command>, files::Invalid> {
    let file = path.rsplit('/').next().unwrap_or(path);
    match kind {
        Kind::Workflow => files::workflow(text),
        Kind::RailwayToml => files::railway_toml(text),
        Kind::Json(keys) => files::json_keys(text, file, keys),
        Kind::AppJson => files::app_json(text),
        Kind::Yaml(keys) => files::yaml_keys(text, keys, |k| {
            format!("`{k}` in {}", crate::text::excerpt(file, 60))
        }),
        _ => Ok(Vec::new()),
    }
}

/// A finding for every forbidden command that `commands` of file `path` run (once per place:
/// an alias or a list read two ways finds the same words twice).
fn check_commands(
    patterns: &[Pattern],
    path: &str,
    idx: &LineIndex<'_>,
    commands: &[Command],
    out: &mut GateOutput,
) {
    let mut seen = BTreeSet::new();
    for cmd in commands {
        let words = shell::commands(&cmd.snippet, cmd.form);
        for hit in shell::find(&words, patterns) {
            if !seen.insert((hit.start, hit.end, hit.command.clone())) {
                continue;
            }
            out.push(
                Finding::new(
                    Rule::MigDeployRunsMigration,
                    format!(
                        "{} {} `{}`: deploys and automation must never run migrations or destructive schema commands",
                        cmd.what,
                        if hit.command.starts_with('-') { "passes" } else { "runs" },
                        crate::text::excerpt(&hit.command, 120)
                    ),
                )
                .at(location(path, idx, hit.start, hit.end)),
            );
        }
    }
}

/// The findings of one deploy file of kind `kind` (`fly`, `package.json`, `dockerfile`,
/// `procfile`, `workflow`, `railway.toml`, `app.json`, `vercel.json`, `compose`, `script`) with the built-in patterns, for the fuzz targets; `Err`
/// holds the line and column of a file that does not parse.
#[doc(hidden)]
pub fn scan_text(kind: &str, text: &str) -> Result<Vec<Finding>, (usize, usize)> {
    let patterns: Vec<Pattern> = shell::BUILTIN_PATTERNS
        .iter()
        .filter_map(|p| Pattern::parse(p))
        .collect();
    let idx = LineIndex::new(text);
    let invalid = |e: files::Invalid| idx.pos(e.offset);
    let commands = match kind {
        "fly" => {
            let fly = files::fly(text).map_err(invalid)?;
            fly.release
                .into_iter()
                .map(|(_, c)| c)
                .chain(fly.commands)
                .collect()
        }
        "package.json" => files::package_json(text).map_err(invalid)?,
        "dockerfile" => files::dockerfile(text).commands,
        "procfile" => files::procfile(text),
        "workflow" => files::workflow(text).map_err(invalid)?,
        "railway.toml" => parse(Kind::RailwayToml, kind, text).map_err(invalid)?,
        "app.json" => parse(Kind::AppJson, kind, text).map_err(invalid)?,
        "vercel.json" => parse(Kind::Json(VERCEL_KEYS), kind, text).map_err(invalid)?,
        "compose" => parse(Kind::Yaml(COMPOSE_KEYS), kind, text).map_err(invalid)?,
        _ => vec![files::script(text, "the entrypoint script".into())],
    };
    let mut out = GateOutput::default();
    check_commands(&patterns, kind, &idx, &commands, &mut out);
    Ok(out.findings)
}

/// `dir` + a relative path, without `./` segments.
fn join(dir: &str, rel: &str) -> String {
    let rel = rel.trim_start_matches("./");
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}
