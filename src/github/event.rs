//! The event payload at `$GITHUB_EVENT_PATH`: which pull request this run is about.
//!
//! `pull_request`, `pull_request_target` and `pull_request_review` carry the PR; `merge_group`
//! does not, so its number is read from the queue branch (`gh-readonly-queue/<base>/pr-<N>-<sha>`).
//! The payload's body is only a fallback: a re-run replays the payload of the original event.

use serde::Deserialize;

#[derive(Debug, Clone, Default)]
pub struct PrRef {
    pub owner: String,
    pub repo: String,
    pub number: u64,
    /// The PR body as the payload recorded it (stale on re-runs).
    pub payload_body: Option<String>,
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    pull_request: Option<PullRequest>,
    merge_group: Option<MergeGroup>,
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    body: Option<String>,
    base: Option<Sha>,
    head: Option<Sha>,
}

#[derive(Deserialize)]
struct Sha {
    sha: Option<String>,
}

#[derive(Deserialize)]
struct MergeGroup {
    head_ref: Option<String>,
    base_sha: Option<String>,
    head_sha: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: Option<String>,
}

/// What the event says about the pull request.
pub enum EventPr {
    Pr(PrRef),
    /// The event has no pull request (push, schedule, a merge group whose PR cannot be found).
    None(String),
}

pub fn read(
    event_name: Option<&str>,
    payload: &[u8],
    repository: Option<&str>,
) -> Result<EventPr, String> {
    let name = event_name.unwrap_or("");
    if !matches!(
        name,
        "pull_request" | "pull_request_target" | "pull_request_review" | "merge_group"
    ) {
        return Ok(EventPr::None(format!(
            "the `{name}` event has no pull request"
        )));
    }
    let p: Payload =
        serde_json::from_slice(payload).map_err(|e| format!("event payload is not valid: {e}"))?;
    let full = p
        .repository
        .and_then(|r| r.full_name)
        .or_else(|| repository.map(str::to_string))
        .ok_or("event payload names no repository and GITHUB_REPOSITORY is unset")?;
    let (owner, repo) = full
        .split_once('/')
        .ok_or_else(|| format!("repository `{full}` is not owner/name"))?;
    let base = |owner: &str, repo: &str| PrRef {
        owner: owner.into(),
        repo: repo.into(),
        ..PrRef::default()
    };
    if let Some(pr) = p.pull_request {
        return Ok(EventPr::Pr(PrRef {
            number: pr.number,
            payload_body: Some(pr.body.unwrap_or_default()),
            base_sha: pr.base.and_then(|b| b.sha),
            head_sha: pr.head.and_then(|h| h.sha),
            ..base(owner, repo)
        }));
    }
    if let Some(mg) = p.merge_group {
        let number = mg.head_ref.as_deref().and_then(merge_queue_pr_number);
        return Ok(match number {
            Some(number) => EventPr::Pr(PrRef {
                number,
                base_sha: mg.base_sha,
                head_sha: mg.head_sha,
                ..base(owner, repo)
            }),
            None => {
                EventPr::None("the merge_group event names no pull request in its head ref".into())
            }
        });
    }
    Ok(EventPr::None(format!(
        "the `{name}` payload has no pull_request object"
    )))
}

/// `refs/heads/gh-readonly-queue/main/pr-123-0123abcd` → 123.
pub fn merge_queue_pr_number(head_ref: &str) -> Option<u64> {
    let idx = head_ref.find("/pr-")?;
    let digits: String = head_ref[idx + 4..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An approving review re-runs the gates (the quick start listens to it): its payload
    /// carries the pull request like `pull_request` does.
    #[test]
    fn a_review_event_names_its_pull_request() {
        let payload = br#"{"action":"submitted","review":{"state":"approved"},"pull_request":{"number":9,"body":"b","base":{"sha":"aa"},"head":{"sha":"bb"}},"repository":{"full_name":"o/r"}}"#;
        match read(Some("pull_request_review"), payload, None) {
            Ok(EventPr::Pr(pr)) => {
                assert_eq!((pr.number, pr.base_sha.as_deref()), (9, Some("aa")));
            }
            _ => panic!("no PR read from a pull_request_review payload"),
        }
    }

    #[test]
    fn merge_queue_ref() {
        assert_eq!(
            merge_queue_pr_number("refs/heads/gh-readonly-queue/main/pr-123-0123abcd"),
            Some(123)
        );
        assert_eq!(merge_queue_pr_number("refs/heads/main"), None);
    }
}
