//! Where the policy a PR is judged by is read from. A pull request must not set the rules it is
//! judged by, so when its base is known — the base commit of a GitHub PR event, or `--base REF`
//! locally — the config and every file the config names that sets policy (the evidence schema,
//! the dry-run setup SQL) are read from the base commit: with git when the commit is in the
//! clone, through GitHub's contents API when it is not (the default shallow checkout). Without
//! a base (a push, a local run without `--base`) the working tree is the policy, as the
//! maintainer running it chose. A base without a config means the built-in defaults, never the
//! PR's file.
//!
//! Every file read is remembered, so that the PR's own copy can be compared with it: a PR that
//! changes policy gets a notice (`core/config-changed`) saying the change takes effect after
//! merge.

use crate::git;
use crate::github::api::{Api, FileAt};
use crate::github::GithubEnv;
use crate::workspace::{check_relative, PathError, Workspace};
use anyhow::{bail, Result};
use std::sync::Mutex;

/// Where policy files come from.
pub enum Source {
    /// No base: the working tree.
    Tree,
    /// The base commit, present in the clone.
    Git { rev: String },
    /// The base commit of a GitHub PR that the clone does not hold: the contents API.
    Api {
        env: Box<GithubEnv>,
        owner: String,
        repo: String,
        rev: String,
    },
}

/// The base of the PR, as far as it is known before anything is fetched.
pub enum Base {
    None,
    /// `--base REF` (any revision git can resolve).
    Local(String),
    /// A GitHub PR event's base commit.
    Github {
        env: Box<GithubEnv>,
        owner: String,
        repo: String,
        sha: String,
    },
}

/// A policy file as the base holds it (`None`: no such file), read with at most `cap` bytes.
struct Read {
    path: String,
    cap: u64,
    base: Option<Vec<u8>>,
}

/// A policy file the PR holds differently from its base (`None`: missing on that side).
pub struct Changed {
    pub path: String,
    pub base: Option<Vec<u8>>,
    pub pr: Option<Vec<u8>>,
}

pub struct Policy {
    workspace: Workspace,
    source: Source,
    /// Each policy file read: its path and what the policy holds there (`None`: no such file).
    read: Mutex<Vec<Read>>,
}

impl Policy {
    pub fn new(workspace: Workspace, base: Base) -> Result<Policy> {
        let source = match base {
            Base::None => Source::Tree,
            Base::Local(r) => match commit_in_clone(&workspace, &r) {
                Some(rev) => Source::Git { rev },
                None => bail!("{}", base_not_found(&r)),
            },
            Base::Github {
                env,
                owner,
                repo,
                sha,
            } => match commit_in_clone(&workspace, &sha) {
                Some(rev) => Source::Git { rev },
                None => Source::Api {
                    env,
                    owner,
                    repo,
                    rev: sha,
                },
            },
        };
        Ok(Policy {
            workspace,
            source,
            read: Mutex::new(Vec::new()),
        })
    }

    /// The base commit policy is read from; `None` for the working tree.
    pub fn base(&self) -> Option<&str> {
        match &self.source {
            Source::Tree => None,
            Source::Git { rev } | Source::Api { rev, .. } => Some(rev),
        }
    }

    /// The policy's copy of the repository file `rel`, at most `cap` bytes (`Ok(None)`: larger).
    pub fn read_capped(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>, PathError> {
        let got = match &self.source {
            Source::Tree => self.workspace.read_capped(rel, cap),
            Source::Git { rev } => git_read(&self.workspace, rev, rel, cap),
            Source::Api {
                env,
                owner,
                repo,
                rev,
            } => api_read(env, owner, repo, rev, rel, cap),
        };
        let kept = match &got {
            Ok(Some(bytes)) => Some(Some(bytes.clone())),
            Err(PathError::NotFound) => Some(None),
            _ => None,
        };
        if let Some(kept) = kept {
            let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
            read.push(Read {
                path: normalize(rel).to_string(),
                cap,
                base: kept,
            });
        }
        got
    }

    /// The policy files the PR's working tree holds differently from the base. Empty without a
    /// base.
    pub fn changed(&self) -> Vec<Changed> {
        if self.base().is_none() {
            return Vec::new();
        }
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Changed> = Vec::new();
        for r in read.iter() {
            if out.iter().any(|c| c.path == r.path) {
                continue;
            }
            // What the PR holds, read as the policy's copy was; unreadable counts as missing.
            let pr = self.workspace.read_capped(&r.path, r.cap).ok().flatten();
            if pr != r.base {
                out.push(Changed {
                    path: r.path.clone(),
                    base: r.base.clone(),
                    pr,
                });
            }
        }
        out
    }
}

/// What to say when `--base` names nothing in the clone: how to fetch it.
fn base_not_found(r: &str) -> String {
    let shown = crate::text::excerpt(r, 200);
    let fetch = match r.split_once('/') {
        Some((remote, branch)) if !remote.is_empty() && !branch.is_empty() => format!(
            "fetch it (`git fetch {} {}`) or pass a ref this clone has (`--base {}`)",
            crate::text::excerpt(remote, 100),
            crate::text::excerpt(branch, 100),
            crate::text::excerpt(branch, 100)
        ),
        _ => format!("fetch it (`git fetch origin {shown}`)"),
    };
    format!(
        "base ref `{shown}` not found: {fetch}; on GitHub Actions check out with `fetch-depth: 0`. The base is where the PR's policy (the config) is read from, so the run cannot go on without it"
    )
}

fn normalize(rel: &str) -> &str {
    rel.trim_start_matches("./")
}

/// The full id of `rev` when it names a commit this clone holds.
fn commit_in_clone(ws: &Workspace, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    let out = git::run(
        ws.root(),
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
        4096,
    )
    .ok()?;
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.success && !id.is_empty()).then_some(id)
}

fn io(message: String) -> PathError {
    PathError::Io(std::io::Error::other(message))
}

/// `rel` at commit `rev`, read with git: a regular file (a symlink, folder or submodule is
/// refused, as in the working tree), at most `cap` bytes.
fn git_read(ws: &Workspace, rev: &str, rel: &str, cap: u64) -> Result<Option<Vec<u8>>, PathError> {
    check_relative(rel)?;
    let rel = normalize(rel);
    let listing = git::run(
        ws.root(),
        &[
            "--literal-pathspecs",
            "ls-tree",
            "-z",
            "-l",
            "--end-of-options",
            rev,
            "--",
            rel,
        ],
        1 << 16,
    )
    .map_err(|e| io(format!("{e:#}")))?;
    if !listing.success {
        return Err(io(format!(
            "could not be listed at the base commit: {}",
            listing.stderr
        )));
    }
    // `<mode> <type> <object> <size>\t<path>\0`, for exactly this path.
    let entry = listing
        .stdout
        .split(|&b| b == 0)
        .filter_map(|e| {
            let tab = e.iter().position(|&b| b == b'\t')?;
            (&e[tab + 1..] == rel.as_bytes())
                .then(|| String::from_utf8_lossy(&e[..tab]).into_owned())
        })
        .next()
        .ok_or(PathError::NotFound)?;
    let fields: Vec<&str> = entry.split_whitespace().collect();
    let [mode, kind, object, size] = fields[..] else {
        return Err(io(format!("unexpected `git ls-tree` line `{entry}`")));
    };
    match (mode, kind) {
        ("120000", _) => return Err(PathError::NotRegular("symlink")),
        (_, "tree") => return Err(PathError::NotRegular("directory")),
        (_, "commit") => return Err(PathError::NotRegular("submodule")),
        _ => {}
    }
    if size.parse::<u64>().map_or(true, |s| s > cap) {
        return Ok(None);
    }
    let blob = git::run(ws.root(), &["cat-file", "blob", object], cap)
        .map_err(|e| io(format!("{e:#}")))?;
    if !blob.success {
        return Err(io(format!("could not be read from git: {}", blob.stderr)));
    }
    Ok((!blob.truncated).then_some(blob.stdout))
}

/// `rel` at commit `rev` of `owner/repo`, through the contents API.
fn api_read(
    env: &GithubEnv,
    owner: &str,
    repo: &str,
    rev: &str,
    rel: &str,
    cap: u64,
) -> Result<Option<Vec<u8>>, PathError> {
    check_relative(rel)?;
    let rel = normalize(rel);
    let fetch = async {
        let api = Api::new(env, owner, repo).map_err(|e| io(e.to_string()))?;
        api.file_at(rel, rev, cap)
            .await
            .map_err(|e| io(e.to_string()))
    };
    // Settings are resolved before the gates' runtime starts; one small runtime for this read.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| io(e.to_string()))?;
    match rt.block_on(fetch)? {
        FileAt::Blob(b) => Ok(Some(b)),
        FileAt::TooLarge => Ok(None),
        FileAt::Missing => Err(PathError::NotFound),
        FileAt::NotAFile(kind) => Err(PathError::NotRegular(match kind.as_str() {
            "dir" => "directory",
            "symlink" => "symlink",
            "submodule" => "submodule",
            _ => "special file",
        })),
    }
}
