//! Gathering what the gates need to know about the pull request: its body, changed files and
//! commit times — from GitHub (event payload + fresh API calls) or, locally, from files and git.
//!
//! The result is plain data (`crate::pr::PrContext`) that every gate reads; the gates that need
//! more of GitHub (health-gate's Deployments API) or of git (the Prisma schema at the base)
//! ask for it themselves.
//! Problems met on the way (API unreachable, no PR for this event) become core findings.

pub mod api;
pub mod approvals;
pub mod check_run;
pub mod comment;
pub mod deployments;
pub mod event;

use crate::diff_filter::DiffFilter;
use crate::finding::Finding;
pub use crate::pr::{ChangedFile, FileStatus, Needs, PrContext};
use crate::rules::Rule;
use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use std::io::Read as _;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

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
    /// `$GITHUB_SERVER_URL`, for links to the repository's files.
    pub server_url: String,
    pub token: Option<Secret>,
    pub repository: Option<String>,
    pub event_name: Option<String>,
    /// The event payload (`$GITHUB_EVENT_PATH`), read once when the run's settings are
    /// resolved; empty when there is none.
    pub payload: std::sync::Arc<[u8]>,
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

pub async fn gather(repo: &Path, source: &PrSource, needs: Needs) -> Result<PrContext> {
    match source {
        PrSource::Local {
            body_file,
            base,
            changed_files,
        } => gather_local(
            repo,
            body_file.as_deref(),
            base.as_deref(),
            changed_files.as_deref(),
            needs,
        ),
        PrSource::Github(env) => gather_github(repo, env, needs).await,
    }
}

/// The PR's changed files, plus the patches of each when the diff filter needs them.
pub async fn gather_for(
    repo: &Path,
    source: &PrSource,
    filter: DiffFilter,
    needs: Needs,
) -> Result<PrContext> {
    let needs = Needs {
        changed_files: needs.changed_files || filter != DiffFilter::Nofilter,
        ..needs
    };
    let mut ctx = gather(repo, source, needs).await?;
    let base = match source {
        PrSource::Local { base, .. } => base.clone(),
        PrSource::Github(_) => ctx.base.clone(),
    };
    // Only `added` and `diff_context` need line information (the patches).
    let wants_patches = !matches!(filter, DiffFilter::Nofilter | DiffFilter::File);
    if let (true, Some(files), Some(base)) = (wants_patches, &mut ctx.changed_files, base) {
        if files.iter().all(|f| f.patch.is_none()) {
            // Local mode, or the API failed and git listed the files: take the patches from git.
            if let Ok(diff) = git(
                repo,
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
                        // A bare list does not say whether a file was added or changed.
                        status: FileStatus::Changed,
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

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    crate::git::text(repo, args)
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
        files.push(ChangedFile {
            path: path.to_string(),
            status: status
                .chars()
                .next()
                .map_or(FileStatus::Modified, FileStatus::from_git),
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

/// The pull request of this job's event.
pub fn event_pr(env: &GithubEnv) -> Result<event::EventPr, String> {
    let payload: &[u8] = match env.payload.as_ref() {
        [] => b"{}",
        p => p,
    };
    event::read(
        env.event_name.as_deref(),
        payload,
        env.repository.as_deref(),
    )
}

async fn gather_github(repo: &Path, env: &GithubEnv, needs: Needs) -> Result<PrContext> {
    let mut ctx = PrContext::default();
    let pr = match event_pr(env) {
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
        return Ok(ctx);
    };
    if needs.body || needs.commits {
        match api.pull(pr.number).await {
            Ok(pull) => {
                ctx.pull = Some(pull.facts());
                ctx.body = Some(pull.body.unwrap_or_default());
                ctx.base = pull.base.and_then(|b| b.sha).or(ctx.base);
            }
            Err(e) => match &pr.payload_body {
                Some(body) => {
                    ctx.body = Some(body.clone());
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
                            status: f
                                .status
                                .as_deref()
                                .map_or(FileStatus::Modified, FileStatus::from_github),
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
