//! Whether someone other than the author approved the pull request after its last commit, for
//! the waivers the PR adds (`waiver`): an approving review of the head commit, or the
//! `merge-gates:approved` label added after the head commit, by an approver — a user or team
//! member the config names, else anyone with write or admin permission on the repository.
//!
//! Reviews bind to a commit (`commit_id`), so an approval of an older head does not count. A
//! label binds to nothing but its time, which is compared with the head commit's dates; those
//! dates are written by the author, who could date a commit back to before the label — so a
//! re-run after a new push keeps a label approval only if the commit claims to be older. The
//! review is the stronger approval; docs/action.md says so.

use super::api::{encode_path, Api, ApiError, User};
use super::{event, GithubEnv};
use crate::pr::{PrContext, PullFacts};
use crate::waiver::{Approvals, LABEL};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
struct Review {
    user: Option<User>,
    state: String,
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct IssueEvent {
    event: String,
    actor: Option<User>,
    label: Option<EventLabel>,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct EventLabel {
    name: String,
}

#[derive(Deserialize)]
struct CommitInfo {
    commit: CommitDates,
}

#[derive(Deserialize)]
struct CommitDates {
    author: Option<Dated>,
    committer: Option<Dated>,
}

#[derive(Deserialize)]
struct Dated {
    date: Option<String>,
}

#[derive(Deserialize)]
struct Permission {
    permission: String,
}

#[derive(Deserialize)]
struct Membership {
    state: String,
}

/// Who may approve, as the findings name them.
pub fn who(approvers: &[String]) -> String {
    if approvers.is_empty() {
        "someone with write access other than the author".into()
    } else {
        let names: Vec<String> = approvers.iter().map(|a| format!("@{a}")).collect();
        format!("one of {} (not the author)", names.join(", "))
    }
}

/// The approval state of this job's PR.
pub async fn fetch(env: &GithubEnv, pr: &PrContext, approvers: &[String]) -> Approvals {
    let who = who(approvers);
    match approved_by(env, pr.pull.as_ref(), approvers).await {
        Ok(Some(user)) => Approvals::By(user),
        Ok(None) => Approvals::Pending { who },
        Err(why) => Approvals::Unknown { who, why },
    }
}

async fn approved_by(
    env: &GithubEnv,
    pull: Option<&PullFacts>,
    approvers: &[String],
) -> Result<Option<String>, String> {
    let pr = match super::event_pr(env) {
        Ok(event::EventPr::Pr(pr)) => pr,
        Ok(event::EventPr::None(why)) | Err(why) => return Err(why),
    };
    let api = Api::new(env, &pr.owner, &pr.repo).map_err(|e| e.to_string())?;
    let err = |e: ApiError| e.to_string();
    let pull = match pull {
        Some(facts) => facts.clone(),
        None => api.pull(pr.number).await.map_err(err)?.facts(),
    };
    let author = pull.author;
    let head = pull
        .head
        .or(pr.head_sha)
        .ok_or("the PR's head commit is unknown")?;
    let mut candidates: Vec<String> = Vec::new();

    // Each reviewer's latest review decides; it must approve the head commit.
    let reviews: Vec<Review> = api
        .paginate(
            api.url(&format!("/pulls/{}/reviews?per_page=100", pr.number)),
            "reviews",
            3000,
        )
        .await
        .map_err(err)?;
    let mut latest: Vec<(String, &Review)> = Vec::new();
    for r in &reviews {
        let Some(user) = &r.user else { continue };
        if matches!(r.state.as_str(), "COMMENTED" | "PENDING") {
            continue; // a comment does not withdraw an approval
        }
        latest.retain(|(u, _)| !u.eq_ignore_ascii_case(&user.login));
        latest.push((user.login.clone(), r));
    }
    for (user, r) in latest {
        if r.state == "APPROVED" && r.commit_id.as_deref() == Some(head.as_str()) {
            candidates.push(user);
        }
    }

    // The label, when the PR carries it: who added it last, and when.
    if pull.labels.iter().any(|l| l == LABEL) {
        let events: Vec<IssueEvent> = api
            .paginate(
                api.url(&format!("/issues/{}/events?per_page=100", pr.number)),
                "issue events",
                3000,
            )
            .await
            .map_err(err)?;
        let added = events
            .iter()
            .rev()
            .find(|e| e.event == "labeled" && e.label.as_ref().is_some_and(|l| l.name == LABEL));
        if let Some(e) = added {
            let (commit, _): (CommitInfo, _) = api
                .get_json(&api.url(&format!("/commits/{head}")), "head commit")
                .await
                .map_err(err)?;
            let last = [commit.commit.author, commit.commit.committer]
                .into_iter()
                .flatten()
                .filter_map(|d| d.date.as_deref().and_then(parse_time))
                .max();
            let at = e.created_at.as_deref().and_then(parse_time);
            if let (Some(actor), Some(at), Some(last)) = (&e.actor, at, last) {
                if at > last {
                    candidates.push(actor.login.clone());
                }
            }
        }
    }

    for user in candidates {
        if user.eq_ignore_ascii_case(&author) {
            continue;
        }
        if is_approver(&api, &user, approvers).await.map_err(err)? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `user` is one of `approvers` (a login, or a member of an `org/team`), or, with no list,
/// has write or admin permission.
async fn is_approver(api: &Api, user: &str, approvers: &[String]) -> Result<bool, ApiError> {
    if approvers.is_empty() {
        let url = api.url(&format!("/collaborators/{}/permission", encode_path(user)));
        return match api.get_json::<Permission>(&url, "permission").await {
            Ok((p, _)) => Ok(matches!(p.permission.as_str(), "admin" | "write")),
            Err(ApiError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        };
    }
    for a in approvers {
        match a.split_once('/') {
            None if a.eq_ignore_ascii_case(user) => return Ok(true),
            None => {}
            Some((org, team)) => {
                let url = api.root_url(&format!(
                    "/orgs/{}/teams/{}/memberships/{}",
                    encode_path(org),
                    encode_path(team),
                    encode_path(user)
                ));
                match api.get_json::<Membership>(&url, "team membership").await {
                    Ok((m, _)) if m.state == "active" => return Ok(true),
                    Ok(_) | Err(ApiError::Status { status: 404, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(false)
}
