//! The pull request as the gates see it: its body, changed files and commit times, gathered
//! once (by `github`, from the API or from local files and git) before any gate runs.

use crate::finding::Finding;
use chrono::{DateTime, Utc};

/// What happened to a changed file (GitHub's `status` of a PR file; git's letters locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Modified,
    Removed,
    Renamed,
    Copied,
    /// Only the mode changed, a status GitHub adds later, or a `--changed-files` list (which
    /// does not say): treated as modified where it matters, never as proof of an edit.
    Changed,
}

impl FileStatus {
    /// GitHub's word (`added`, `removed`, `renamed`, …); anything unknown is `Changed`.
    pub fn from_github(s: &str) -> FileStatus {
        match s {
            "added" => FileStatus::Added,
            "modified" => FileStatus::Modified,
            "removed" => FileStatus::Removed,
            "renamed" => FileStatus::Renamed,
            "copied" => FileStatus::Copied,
            _ => FileStatus::Changed,
        }
    }

    /// git's `--name-status` letter (`A`, `D`, `R100`, …).
    pub fn from_git(letter: char) -> FileStatus {
        match letter {
            'A' => FileStatus::Added,
            'D' => FileStatus::Removed,
            'R' => FileStatus::Renamed,
            'C' => FileStatus::Copied,
            'M' => FileStatus::Modified,
            _ => FileStatus::Changed,
        }
    }

    /// The file is still there at the PR's head.
    pub fn exists(self) -> bool {
        self != FileStatus::Removed
    }
}

/// What a set of gates needs gathered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub body: bool,
    pub changed_files: bool,
    pub commits: bool,
}

impl Needs {
    /// The PR's changed files.
    pub const CHANGED_FILES: Needs = Needs {
        body: false,
        changed_files: true,
        commits: false,
    };
    /// The body and the changed files.
    pub const BODY_AND_FILES: Needs = Needs {
        body: true,
        changed_files: true,
        commits: false,
    };
    /// The body, the changed files and the commits' times.
    pub const BODY_FILES_AND_COMMITS: Needs = Needs {
        body: true,
        changed_files: true,
        commits: true,
    };

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
    pub status: FileStatus,
    pub previous_path: Option<String>,
    /// The unified diff GitHub returns for the file, when it returns one.
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PrContext {
    /// `None`: this run is not about a pull request (the PR-body gates skip with a notice).
    pub body: Option<String>,
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
    /// Who opened the PR, its head commit and labels, as the API gave them with the body; the
    /// approval of waivers reads them from here instead of fetching the PR again.
    pub pull: Option<PullFacts>,
}

/// What the approval of waivers needs to know of the PR itself.
#[derive(Debug, Clone, Default)]
pub struct PullFacts {
    pub author: String,
    pub head: Option<String>,
    pub labels: Vec<String>,
}

impl PrContext {
    pub fn is_changed(&self, path: &str) -> Option<bool> {
        self.changed_files.as_ref().map(|files| {
            files
                .iter()
                .any(|f| f.path == path && f.status != FileStatus::Removed)
        })
    }
}
