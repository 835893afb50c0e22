//! Gathering what the gates need to know about the pull request: its body, changed files and
//! commit times — from GitHub (event payload + fresh API calls) or, locally, from files and git.
//!
//! The result is plain data (`PrContext`); gates never talk to GitHub or git themselves.
//! Problems met on the way (API unreachable, no PR for this event) become core findings.

pub mod api;
pub mod check_run;
pub mod deployments;
pub mod event;

use crate::finding::Finding;
use crate::rules::Rule;
use crate::settings::{GithubEnv, PrSource, Settings};
use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a set of gates needs gathered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub body: bool,
    pub changed_files: bool,
    pub commits: bool,
}

impl Needs {
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            body: self.body || o.body,
            changed_files: self.changed_files || o.changed_files,
            commits: self.commits || o.commits,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChangedFile {
    pub path: String,
    /// `added`, `modified`, `removed`, `renamed`, … (GitHub's words; `modified` when unknown).
    pub status: String,
    pub previous_path: Option<String>,
    /// The unified diff GitHub returns for the file, when it returns one.
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PrContext {
    /// `None`: this run is not about a pull request (the PR-body gates skip with a notice).
    pub body: Option<String>,
    /// Where the body came from, for the summary.
    pub body_source: &'static str,
    /// `None`: unknown (no event, no `--base`, no list).
    pub changed_files: Option<Vec<ChangedFile>>,
    /// Commit times of the PR (committer dates), oldest first; `None` when unknown.
    pub commit_times: Option<Vec<DateTime<Utc>>>,
    pub head_commit_time: Option<DateTime<Utc>>,
    /// Base commit (or ref) of the PR, for gates that compare against it.
    pub base: Option<String>,
    /// Why there is no PR, when there is none.
    pub no_pr_reason: Option<String>,
    /// The PR exists but could not be fetched (a `core/pr-fetch-failed` error says why); the
    /// PR-body gates then add nothing of their own.
    pub fetch_failed: bool,
    /// Why the PR's commits are unknown, when listing them failed.
    pub commits_error: Option<String>,
    /// Core findings met while gathering (fallbacks, truncation).
    pub findings: Vec<Finding>,
}

impl PrContext {
    pub fn is_changed(&self, path: &str) -> Option<bool> {
        self.changed_files.as_ref().map(|files| {
            files
                .iter()
                .any(|f| f.path == path && f.status != "removed")
        })
    }
}

pub async fn gather(settings: &Settings, needs: Needs) -> Result<PrContext> {
    match &settings.pr {
        PrSource::Local {
            body_file,
            base,
            changed_files,
        } => gather_local(
            &settings.repo,
            body_file.as_deref(),
            base.as_deref(),
            changed_files.as_deref(),
            needs,
        ),
        PrSource::Github(env) => gather_github(&settings.repo, env, needs).await,
    }
}

/// Whether the diff filter needs line information (the patches) of the changed files.
fn wants_patches(settings: &Settings) -> bool {
    !matches!(
        settings.filter,
        crate::config::DiffFilter::Nofilter | crate::config::DiffFilter::File
    )
}

/// The PR's changed files, plus the patches of each when the diff filter needs them.
pub async fn gather_for(settings: &Settings, needs: Needs) -> Result<PrContext> {
    let needs = Needs {
        changed_files: needs.changed_files
            || settings.filter != crate::config::DiffFilter::Nofilter,
        ..needs
    };
    let mut ctx = gather(settings, needs).await?;
    let base = match &settings.pr {
        PrSource::Local { base, .. } => base.clone(),
        PrSource::Github(_) => ctx.base.clone(),
    };
    if let (true, Some(files), Some(base)) = (wants_patches(settings), &mut ctx.changed_files, base)
    {
        if files.iter().all(|f| f.patch.is_none()) {
            // Local mode, or the API failed and git listed the files: take the patches from git.
            if let Ok(diff) = git(
                &settings.repo,
                &[
                    "diff",
                    "-U3",
                    "--no-color",
                    "--no-ext-diff",
                    "--no-renames",
                    "--end-of-options",
                    &format!("{base}...HEAD"),
                ],
            ) {
                let mut patches = crate::diff_filter::split_git_diff(&diff);
                for f in files.iter_mut() {
                    f.patch = patches.remove(&f.path);
                }
            }
        }
    }
    Ok(ctx)
}

fn gather_local(
    repo: &Path,
    body_file: Option<&Path>,
    base: Option<&str>,
    list: Option<&Path>,
    needs: Needs,
) -> Result<PrContext> {
    let mut ctx = PrContext {
        body_source: "file",
        base: base.map(str::to_string),
        ..PrContext::default()
    };
    if needs.body {
        match body_file {
            Some(p) => {
                let mut bytes = Vec::new();
                let cap = crate::pr_body::MAX_BODY_BYTES;
                std::fs::File::open(p)
                    .and_then(|f| f.take(cap as u64 + 1).read_to_end(&mut bytes))
                    .with_context(|| format!("reading --pr-body-file {}", p.display()))?;
                if bytes.len() > cap {
                    anyhow::bail!("--pr-body-file {} is over 1 MiB: GitHub allows 65,536 characters in a PR body, so this is not one", p.display());
                }
                ctx.body = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            None => ctx.no_pr_reason = Some("no --pr-body-file was given".into()),
        }
    }
    if needs.changed_files {
        if let Some(list) = list {
            let text = std::fs::read_to_string(list)
                .with_context(|| format!("reading --changed-files {}", list.display()))?;
            ctx.changed_files = Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| ChangedFile {
                        path: l.trim_start_matches("./").to_string(),
                        status: "modified".into(),
                        previous_path: None,
                        patch: None,
                    })
                    .collect(),
            );
        } else if let Some(base) = base {
            ctx.changed_files = Some(git_changed_files(repo, base)?);
        }
    }
    if needs.commits {
        if let Some(base) = base {
            let range = format!("{base}..HEAD");
            ctx.commit_times = Some(git_times(
                repo,
                &["log", "--format=%cI", "--end-of-options", &range],
            )?);
        }
        ctx.head_commit_time = git_times(repo, &["log", "-1", "--format=%cI", "HEAD"])
            .ok()
            .and_then(|t| t.into_iter().next());
    }
    Ok(ctx)
}

/// How long one git call may take before it is killed.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What one git call produced.
pub struct GitOutput {
    pub ok: bool,
    /// At most the cap given to [`git_run`]; `capped` says whether there was more.
    pub stdout: Vec<u8>,
    pub capped: bool,
    pub stderr: String,
}

/// Run git in `repo` with an argument vector (never a shell): stdin closed, stdout read up to
/// `cap` bytes, stderr up to 64 KiB, and the whole call killed after `timeout`.
pub fn git_run(repo: &Path, args: &[&str], timeout: Duration, cap: u64) -> Result<GitOutput> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git (is it installed?)")?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("git {}: no output pipes", args.join(" "));
    };
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(cap + 1).read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "git {} did not finish within {}s",
                args.join(" "),
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = out.join().unwrap_or_default();
    let capped = stdout.len() as u64 > cap;
    stdout.truncate(cap as usize);
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default())
        .trim()
        .to_string();
    Ok(GitOutput {
        ok: status.success(),
        stdout,
        capped,
        stderr,
    })
}

/// Most bytes of output [`git`] takes from one call (a diff or a file list).
const MAX_GIT_OUTPUT: u64 = 256 << 20;

/// Run git and return its stdout; a failure, a timeout or an output over 256 MiB is an error.
pub fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = git_run(repo, args, GIT_TIMEOUT, MAX_GIT_OUTPUT)?;
    if !out.ok {
        anyhow::bail!("git {}: {}", args.join(" "), out.stderr);
    }
    if out.capped {
        anyhow::bail!("git {}: its output is over 256 MiB", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_changed_files(repo: &Path, base: &str) -> Result<Vec<ChangedFile>> {
    let range = format!("{base}...HEAD");
    let out = git(
        repo,
        &[
            "diff",
            "--name-status",
            "-z",
            "--no-renames",
            "--end-of-options",
            &range,
        ],
    )?;
    let mut parts = out.split('\0').filter(|s| !s.is_empty());
    let mut files = Vec::new();
    while let (Some(status), Some(path)) = (parts.next(), parts.next()) {
        let status = match status.chars().next() {
            Some('A') => "added",
            Some('D') => "removed",
            _ => "modified",
        };
        files.push(ChangedFile {
            path: path.to_string(),
            status: status.into(),
            previous_path: None,
            patch: None,
        });
    }
    Ok(files)
}

fn git_times(repo: &Path, args: &[&str]) -> Result<Vec<DateTime<Utc>>> {
    let mut times: Vec<DateTime<Utc>> = git(repo, args)?
        .lines()
        .filter_map(|l| {
            DateTime::parse_from_rfc3339(l.trim())
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .collect();
    times.sort();
    Ok(times)
}

async fn gather_github(repo: &Path, env: &GithubEnv, needs: Needs) -> Result<PrContext> {
    let mut ctx = PrContext {
        body_source: "api",
        ..PrContext::default()
    };
    let payload = match &env.event_path {
        Some(p) => std::fs::read(p)
            .with_context(|| format!("reading GITHUB_EVENT_PATH {}", p.display()))?,
        None => b"{}".to_vec(),
    };
    let pr = match event::read(
        env.event_name.as_deref(),
        &payload,
        env.repository.as_deref(),
    ) {
        Ok(event::EventPr::Pr(pr)) => pr,
        Ok(event::EventPr::None(reason)) | Err(reason) => {
            ctx.no_pr_reason = Some(reason);
            return Ok(ctx);
        }
    };
    ctx.base = pr.base_sha.clone();
    let api = match api::Api::new(env, &pr.owner, &pr.repo) {
        Ok(api) => Some(api),
        Err(e) => {
            ctx.findings
                .push(Finding::new(Rule::PrBodyFromPayload, e.to_string()));
            None
        }
    };
    let Some(api) = api else {
        ctx.body = pr.payload_body.clone();
        ctx.body_source = "payload";
        return Ok(ctx);
    };
    if needs.body || needs.commits {
        match api.pull(pr.number).await {
            Ok(pull) => {
                ctx.body = Some(pull.body.unwrap_or_default());
                ctx.base = pull.base.and_then(|b| b.sha).or(ctx.base);
            }
            Err(e) => match &pr.payload_body {
                Some(body) => {
                    ctx.body = Some(body.clone());
                    ctx.body_source = "payload";
                    ctx.findings.push(Finding::new(
                        Rule::PrBodyFromPayload,
                        format!("could not fetch PR #{} fresh, so the body recorded in the event payload was used (it may be stale on a re-run): {e}", pr.number),
                    ));
                }
                None => {
                    ctx.no_pr_reason = Some(format!("could not fetch PR #{}: {e}", pr.number));
                    ctx.fetch_failed = true;
                    ctx.findings.push(Finding::new(
                        Rule::PrFetchFailed,
                        format!("could not fetch PR #{} and the event payload has no body to fall back on, so its body could not be checked: {e}", pr.number),
                    ));
                }
            },
        }
    }
    if needs.changed_files {
        match api.files(pr.number).await {
            Ok((_, true)) => {
                // GitHub stops at 3,000 files: the list is cut, and the files past the cut are
                // exactly where a PR would hide a migration. Take the whole list from git, or
                // let the gates that need it fail closed.
                match pr.base_sha.as_deref().map(|b| git_changed_files(repo, b)) {
                    Some(Ok(files)) => ctx.changed_files = Some(files),
                    other => {
                        let why = match other {
                            Some(Err(e)) => format!(
                                "`git diff` from the checkout failed too: {}",
                                crate::text::excerpt(&e.to_string(), 300)
                            ),
                            _ => "the event names no base commit to `git diff` against".into(),
                        };
                        ctx.findings.push(Finding::new(
                            Rule::ChangedFilesTruncated,
                            format!("GitHub lists at most {} changed files and this PR has more, so the list is incomplete; {why}. Checks that depend on the changed files were run as if every file had changed", crate::text::thousands(api::MAX_FILES as u64)),
                        ));
                        ctx.changed_files = None;
                    }
                }
            }
            Ok((files, false)) => {
                ctx.changed_files = Some(
                    files
                        .into_iter()
                        .map(|f| ChangedFile {
                            path: f.filename,
                            status: f.status.unwrap_or_else(|| "modified".into()),
                            previous_path: f.previous_filename,
                            patch: f.patch,
                        })
                        .collect(),
                );
            }
            Err(e) => {
                let local = match (&pr.base_sha, &pr.head_sha) {
                    (Some(b), Some(_)) => git_changed_files(repo, b).ok(),
                    _ => None,
                };
                let how = if local.is_some() {
                    "they were taken from the local git history instead"
                } else {
                    "checks that need them are skipped"
                };
                ctx.findings.push(Finding::new(
                    Rule::ChangedFilesUnknown,
                    format!("could not list the PR's changed files ({e}); {how}"),
                ));
                ctx.changed_files = local;
            }
        }
    }
    if needs.commits {
        match api.commits(pr.number).await {
            Ok(commits) => {
                let mut times: Vec<DateTime<Utc>> = commits
                    .iter()
                    .filter_map(|c| {
                        c.commit
                            .committer
                            .as_ref()
                            .or(c.commit.author.as_ref())
                            .and_then(|s| s.date.as_deref())
                    })
                    .filter_map(|d| {
                        DateTime::parse_from_rfc3339(d)
                            .ok()
                            .map(|t| t.with_timezone(&Utc))
                    })
                    .collect();
                ctx.head_commit_time = times.last().copied();
                times.sort();
                ctx.commit_times = Some(times);
            }
            Err(e) => ctx.commits_error = Some(e.to_string()),
        }
    }
    Ok(ctx)
}
