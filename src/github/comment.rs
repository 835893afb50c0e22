//! The sticky pull-request comment on GitHub: one per PR and check name, found by its hidden
//! marker and edited in place on every run — never a second one.
//!
//! Only a comment written by a bot account (`user.type == "Bot"`: `github-actions[bot]` or an
//! app) counts as ours: a PR author cannot plant the marker in a comment of their own and have
//! the report land where they wrote it.

use super::api::{Api, ApiError};
use super::{event, GithubEnv};
use serde::Deserialize;
use serde_json::json;

/// How many comments of a PR are looked through for ours.
const MAX_COMMENTS: usize = 3000;

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<Author>,
}

#[derive(Deserialize)]
struct Author {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct Written {
    id: u64,
}

/// What the run did with the comment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created(u64),
    Updated(u64),
    /// Ours already says exactly this.
    Unchanged(u64),
    /// No comment of ours, and none is wanted for this result.
    NotWanted,
}

/// Write `body` as the PR's comment marked `marker`: edit ours when there is one, else create
/// it when `create` (a failing run, or `comment = "always"`).
pub async fn upsert(
    env: &GithubEnv,
    marker: &str,
    body: &str,
    create: bool,
) -> Result<Outcome, String> {
    let pr = match super::event_pr(env) {
        Ok(event::EventPr::Pr(pr)) => pr,
        Ok(event::EventPr::None(why)) | Err(why) => return Err(why),
    };
    let api = Api::new(env, &pr.owner, &pr.repo).map_err(|e| e.to_string())?;
    let comments: Vec<Comment> = api
        .paginate(
            api.url(&format!("/issues/{}/comments?per_page=100", pr.number)),
            "PR comments",
            MAX_COMMENTS,
        )
        .await
        .map_err(describe)?;
    let ours = comments.iter().find(|c| {
        c.user.as_ref().is_some_and(|u| u.kind == "Bot")
            && c.body.as_deref().is_some_and(|b| b.starts_with(marker))
    });
    match ours {
        Some(c) if c.body.as_deref() == Some(body) => Ok(Outcome::Unchanged(c.id)),
        Some(c) => {
            let w: Written = api
                .write_json(
                    http::Method::PATCH,
                    &format!("/issues/comments/{}", c.id),
                    &json!({ "body": body }),
                    "PR comment",
                )
                .await
                .map_err(describe)?;
            Ok(Outcome::Updated(w.id))
        }
        None if create => {
            let w: Written = api
                .write_json(
                    http::Method::POST,
                    &format!("/issues/{}/comments", pr.number),
                    &json!({ "body": body }),
                    "PR comment",
                )
                .await
                .map_err(describe)?;
            Ok(Outcome::Created(w.id))
        }
        None => Ok(Outcome::NotWanted),
    }
}

/// Why the comment could not be written, for the one notice that says so.
fn describe(e: ApiError) -> String {
    match e.status() {
        Some(403) | Some(404) => format!(
            "the job's token cannot comment on the pull request ({e}). Pull requests from forks get a read-only token; otherwise grant `permissions: pull-requests: write`"
        ),
        _ => e.to_string(),
    }
}
