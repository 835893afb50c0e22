//! Check runs through octocrab: create one in progress on the PR's head commit, append the
//! annotations 50 per request, and complete it with the conclusion and summary.
//!
//! The payloads come from `report::check_run`; this module only sends them. Every error is
//! returned, never printed, so the caller can fall back to workflow-command annotations: a
//! reporter must never fail the job. Errors carry status and API message, never a header.

use super::api::{Api, ApiError};
use super::event;
use super::GithubEnv;
use serde::Deserialize;
use serde_json::json;

/// Where the check run goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub owner: String,
    pub repo: String,
    pub head_sha: String,
}

/// How a completed check run ends (the Checks API's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
        }
    }
}

/// The repository and commit to report on: the PR's head commit from the event (on
/// `pull_request` events `GITHUB_SHA` is a merge commit no one sees), else `GITHUB_SHA`.
pub fn target(env: &GithubEnv) -> Result<Target, String> {
    let pr = match super::event_pr(env) {
        Ok(event::EventPr::Pr(pr)) => Some(pr),
        _ => None,
    };
    let (owner, repo) = match &pr {
        Some(pr) => (pr.owner.clone(), pr.repo.clone()),
        None => {
            let full = env
                .repository
                .as_deref()
                .ok_or("GITHUB_REPOSITORY is unset")?;
            let (o, r) = full
                .split_once('/')
                .ok_or_else(|| format!("GITHUB_REPOSITORY `{full}` is not owner/name"))?;
            (o.to_string(), r.to_string())
        }
    };
    let head_sha = pr
        .and_then(|p| p.head_sha)
        .or_else(|| env.sha.clone())
        .ok_or("neither the event nor GITHUB_SHA names a commit")?;
    Ok(Target {
        owner,
        repo,
        head_sha,
    })
}

pub struct CheckRun {
    api: Api,
    id: u64,
}

#[derive(Deserialize)]
struct Created {
    id: u64,
}

/// Why the check-run reporter could not be used, for the notice of the fallback.
pub fn describe(e: &ApiError) -> String {
    match e.status() {
        Some(403) | Some(404) => format!(
            "the job's token cannot write check runs ({e}). Pull requests from forks get a read-only token; otherwise grant `permissions: checks: write`"
        ),
        _ => e.to_string(),
    }
}

impl CheckRun {
    /// `POST /repos/{owner}/{repo}/check-runs` with `status: in_progress`.
    pub async fn start(env: &GithubEnv, target: &Target, name: &str) -> Result<CheckRun, ApiError> {
        let api = Api::new(env, &target.owner, &target.repo)?;
        let body = json!({
            "name": name,
            "head_sha": target.head_sha,
            "status": "in_progress",
            "started_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let created: Created = api
            .write_json(http::Method::POST, "/check-runs", &body, "create check run")
            .await?;
        Ok(CheckRun {
            api,
            id: created.id,
        })
    }

    /// One `PATCH` per `output` (the reporter cuts the annotations into batches of 50); the
    /// last one also completes the run with the conclusion.
    pub async fn finish(
        &self,
        conclusion: Conclusion,
        outputs: &[serde_json::Value],
    ) -> Result<(), ApiError> {
        let path = format!("/check-runs/{}", self.id);
        let last = outputs.len().saturating_sub(1);
        for (i, output) in outputs.iter().enumerate() {
            let mut body = json!({ "output": output });
            if i == last {
                body["status"] = json!("completed");
                body["conclusion"] = json!(conclusion.as_str());
                body["completed_at"] =
                    json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            let _: serde_json::Value = self
                .api
                .write_json(http::Method::PATCH, &path, &body, "update check run")
                .await?;
        }
        Ok(())
    }

    /// Complete the run as failed when merge-gates itself could not run (exit 2).
    pub async fn abort(&self, error: &str) -> Result<(), ApiError> {
        let body = json!({
            "status": "completed",
            "conclusion": Conclusion::Failure.as_str(),
            "output": {
                "title": "merge-gates could not run",
                "summary": crate::text::excerpt(error, 2000),
            },
        });
        let _: serde_json::Value = self
            .api
            .write_json(
                http::Method::PATCH,
                &format!("/check-runs/{}", self.id),
                &body,
                "update check run",
            )
            .await?;
        Ok(())
    }
}
