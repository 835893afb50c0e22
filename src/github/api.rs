//! The GitHub REST API through octocrab: the PR, its changed files and its commits, fetched
//! fresh on every run.
//!
//! Every call shares one deadline. 5xx answers, 429 and rate-limit 403s are retried with
//! backoff, honouring `Retry-After` (and `x-ratelimit-reset`) when the wait fits in what is
//! left of the deadline. Bodies are read with a size cap; pagination follows `Link: next` only
//! on the API's own origin and stops at GitHub's 3000-file limit; a chain that loops or never
//! ends is an error, not a silently shortened list. The token goes
//! into octocrab and nowhere else: no message here contains a header, and text the server sends
//! back (which may echo the token) is scrubbed of it before it reaches a message.

use super::GithubEnv;
use http_body_util::{BodyExt, Limited};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Largest API response read (GitHub's largest pages are a few MiB).
const MAX_BODY: usize = 32 << 20;
/// GitHub lists at most 3000 files of a PR.
pub const MAX_FILES: usize = 3000;
const MAX_PAGES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("GitHub API {what}: HTTP {status}{detail}")]
    Status {
        what: String,
        status: u16,
        detail: String,
    },
    #[error("GitHub API {what}: {message}")]
    Transport { what: String, message: String },
    #[error("GitHub API {what}: gave up after {attempts} attempt(s) within {budget:?}: {last}")]
    Exhausted {
        what: String,
        attempts: u32,
        budget: Duration,
        last: String,
    },
    #[error("GitHub API {what}: response is not what the API documents: {message}")]
    Malformed { what: String, message: String },
}

impl ApiError {
    /// The HTTP status of a refused request (not of a retried one).
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub struct Api {
    client: Octocrab,
    /// Only to scrub it from what the server says; never sent anywhere by this struct.
    token: Option<String>,
    base: String,
    deadline: Instant,
    budget: Duration,
    owner: String,
    repo: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullInfo {
    pub body: Option<String>,
    pub base: Option<Head>,
    pub head: Option<Head>,
    pub user: Option<User>,
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl PullInfo {
    pub fn facts(&self) -> crate::pr::PullFacts {
        crate::pr::PullFacts {
            author: self
                .user
                .as_ref()
                .map(|u| u.login.clone())
                .unwrap_or_default(),
            head: self.head.as_ref().and_then(|h| h.sha.clone()),
            labels: self.labels.iter().map(|l| l.name.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    pub sha: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileEntry {
    pub filename: String,
    pub status: Option<String>,
    pub previous_filename: Option<String>,
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitEntry {
    pub commit: CommitDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitDetail {
    pub committer: Option<Signature>,
    pub author: Option<Signature>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    pub date: Option<String>,
}

enum Attempt<T> {
    Done(T),
    Retry {
        after: Option<Duration>,
        reason: String,
        /// The server answered (a status), as opposed to a timeout or a transport error.
        answered: bool,
    },
    Fail(ApiError),
}

impl Api {
    pub fn new(env: &GithubEnv, owner: &str, repo: &str) -> Result<Api, ApiError> {
        let base = env.api_url.trim_end_matches('/').to_string();
        let what = || "client".to_string();
        let mut b = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| ApiError::Transport {
                what: what(),
                message: format!("bad GITHUB_API_URL: {e}"),
            })?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .set_write_timeout(Some(Duration::from_secs(30)));
        if let Some(token) = &env.token {
            b = b.personal_token(token.0.clone());
        }
        let client = b.build().map_err(|e| ApiError::Transport {
            what: what(),
            message: e.to_string(),
        })?;
        Ok(Api {
            client,
            token: env
                .token
                .as_ref()
                .map(|t| t.0.clone())
                .filter(|t| !t.is_empty()),
            base,
            deadline: Instant::now() + env.api_timeout,
            budget: env.api_timeout,
            owner: owner.to_string(),
            repo: repo.to_string(),
        })
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}/repos/{}/{}{path}", self.base, self.owner, self.repo)
    }

    /// A URL outside the repository (`/orgs/…`).
    pub(super) fn root_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn pull(&self, number: u64) -> Result<PullInfo, ApiError> {
        let (pull, _): (PullInfo, _) = self
            .get_json(&self.url(&format!("/pulls/{number}")), "pull request")
            .await?;
        let len = pull.body.as_ref().map_or(0, String::len);
        if len > crate::pr_body::MAX_BODY_BYTES {
            return Err(ApiError::Malformed {
                what: "pull request".into(),
                message: format!("the body is {} bytes, over 1 MiB; GitHub allows 65,536 characters, so it was not read", crate::text::thousands(len as u64)),
            });
        }
        Ok(pull)
    }

    /// The PR's changed files; the flag says GitHub's 3000-file limit was reached.
    pub async fn files(&self, number: u64) -> Result<(Vec<FileEntry>, bool), ApiError> {
        let url = self.url(&format!("/pulls/{number}/files?per_page=100"));
        let files = self.paginate(url, "changed files", MAX_FILES).await?;
        let capped = files.len() >= MAX_FILES;
        Ok((files, capped))
    }

    pub async fn commits(&self, number: u64) -> Result<Vec<CommitEntry>, ApiError> {
        let url = self.url(&format!("/pulls/{number}/commits?per_page=100"));
        self.paginate(url, "commits", 250).await
    }

    /// The file at `path` (repository-relative, `/`-separated) in commit `rev`, through the
    /// contents API: for a policy file of the PR's base when the base commit is not in a shallow
    /// clone. Nothing larger than `cap` bytes is decoded.
    pub async fn file_at(&self, path: &str, rev: &str, cap: u64) -> Result<FileAt, ApiError> {
        #[derive(Deserialize)]
        struct Content {
            #[serde(rename = "type")]
            kind: String,
            size: Option<u64>,
            encoding: Option<String>,
            content: Option<String>,
        }
        let what = format!("contents of `{path}` at {rev}");
        let url = self.url(&format!(
            "/contents/{}?ref={}",
            encode_path(path),
            encode_path(rev)
        ));
        let c: Content = match self.get_json(&url, &what).await {
            Ok((c, _)) => c,
            Err(ApiError::Status { status: 404, .. }) => return Ok(FileAt::Missing),
            Err(e) => return Err(e),
        };
        if c.kind != "file" {
            return Ok(FileAt::NotAFile(c.kind));
        }
        if c.size.unwrap_or(0) > cap || c.encoding.as_deref() != Some("base64") {
            return Ok(FileAt::TooLarge);
        }
        use base64::Engine as _;
        let text: String = c.content.unwrap_or_default().split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| ApiError::Malformed {
                what,
                message: format!("the content is not base64: {e}"),
            })?;
        Ok(if bytes.len() as u64 > cap {
            FileAt::TooLarge
        } else {
            FileAt::Blob(bytes)
        })
    }

    pub(super) async fn paginate<T: DeserializeOwned>(
        &self,
        first: String,
        what: &str,
        cap: usize,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            // A Link chain that loops or never ends: what was read may be incomplete, so it is
            // not passed on as the whole list.
            let problem = if !seen.insert(url.clone()) {
                Some(format!("its `Link: rel=\"next\"` header loops back to a page already read (after {} page(s))", seen.len()))
            } else if seen.len() > MAX_PAGES {
                Some(format!(
                    "its `Link: rel=\"next\"` chain goes on past {MAX_PAGES} pages"
                ))
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(ApiError::Malformed {
                    what: what.into(),
                    message,
                });
            }
            let (page, link): (Vec<T>, _) = self.get_json(&url, what).await?;
            let empty = page.is_empty();
            out.extend(page);
            if out.len() >= cap || empty {
                out.truncate(cap);
                break;
            }
            next = link
                .and_then(|l| next_link(&l))
                .filter(|u| self.same_origin(u));
        }
        Ok(out)
    }

    fn same_origin(&self, url: &str) -> bool {
        let origin = |u: &str| {
            let rest = u
                .split_once("://")
                .map(|(s, r)| (s.to_string(), r.split('/').next().unwrap_or("").to_string()));
            rest
        };
        origin(url).is_some() && origin(url) == origin(&self.base)
    }

    /// GET `url` and decode JSON, retrying within the shared deadline. Returns the `Link` header.
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<(T, Option<String>), ApiError> {
        let mut attempts = 0u32;
        let mut backoff = Duration::from_millis(250);
        // What the server last said: when the budget runs out during a later attempt, "timed
        // out" alone would hide that the API was answering 503 all along.
        let mut answer: Option<String> = None;
        loop {
            attempts += 1;
            let left = self.deadline.saturating_duration_since(Instant::now());
            let attempt = self.once::<T, ()>(&http::Method::GET, url, None, what);
            let outcome = match tokio::time::timeout(left, attempt).await {
                Ok(o) => o,
                Err(_) => Attempt::Retry {
                    after: None,
                    reason: "request timed out".into(),
                    answered: false,
                },
            };
            let (after, reason) = match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry {
                    after,
                    reason,
                    answered,
                } => {
                    if answered {
                        answer = Some(reason.clone());
                    }
                    (after, reason)
                }
            };
            let wait = after.unwrap_or(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(8));
            let left = self.deadline.saturating_duration_since(Instant::now());
            if wait >= left || attempts >= 8 {
                let last = match answer {
                    Some(a) if a != reason => {
                        format!("{reason}; before that the server answered {a}")
                    }
                    _ => reason,
                };
                return Err(ApiError::Exhausted {
                    what: what.into(),
                    attempts,
                    budget: self.budget,
                    last,
                });
            }
            tracing::info!(
                "GitHub API: {}: {}, retry {}/8 in {:.1} s",
                what,
                crate::text::excerpt(&reason, 200),
                attempts + 1,
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Server text with the token cut out (a hostile or misconfigured server may echo it).
    fn scrub(&self, text: String) -> String {
        match &self.token {
            Some(t) if text.contains(t.as_str()) => text.replace(t.as_str(), "***"),
            _ => text,
        }
    }

    /// One write request (`POST` or `PATCH` of a JSON body under `/repos/{owner}/{repo}`),
    /// decoded as JSON. Not retried: a write that timed out may still have landed. Each write
    /// gets the whole budget: a check run is completed after the gates ran, however long.
    pub async fn write_json<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        method: http::Method,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ApiError> {
        let url = self.url(path);
        let attempt = self.once::<T, B>(&method, &url, Some(body), what);
        let last = match tokio::time::timeout(self.budget, attempt).await {
            Ok(Attempt::Done((v, _))) => return Ok(v),
            Ok(Attempt::Fail(e)) => return Err(e),
            Ok(Attempt::Retry { reason, .. }) => reason,
            Err(_) => "request timed out".into(),
        };
        Err(ApiError::Exhausted {
            what: what.into(),
            attempts: 1,
            budget: self.budget,
            last,
        })
    }

    async fn once<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        method: &http::Method,
        url: &str,
        body: Option<&B>,
        what: &str,
    ) -> Attempt<(T, Option<String>)> {
        let sent = match *method {
            http::Method::GET => self.client._get(url).await,
            http::Method::PATCH => self.client._patch(url, body).await,
            _ => self.client._post(url, body).await,
        };
        let res = match sent {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    after: None,
                    reason: self.scrub(transport_message(&e)),
                    answered: false,
                }
            }
        };
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let body = match Limited::new(res.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            // Too large is an answer, not a hiccup: asking again only downloads it again.
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Attempt::Fail(ApiError::Malformed {
                    what: what.into(),
                    message: format!("the response is over {} MiB", MAX_BODY >> 20),
                })
            }
            Err(e) => {
                return Attempt::Retry {
                    after: None,
                    reason: format!("reading the response failed: {e}"),
                    answered: false,
                }
            }
        };
        if (200..300).contains(&status) {
            return match serde_json::from_slice::<T>(&body) {
                Ok(v) => Attempt::Done((v, header("link"))),
                // serde quotes the offending value, which may be megabytes long.
                Err(e) => Attempt::Fail(ApiError::Malformed {
                    what: what.into(),
                    message: crate::text::excerpt(&self.scrub(e.to_string()), 300),
                }),
            };
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(|m| crate::text::excerpt(&self.scrub(m.to_string()), 200))
            })
            .unwrap_or_default();
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let rate_limited = status == 429
            || (status == 403
                && (retry_after.is_some()
                    || header("x-ratelimit-remaining").as_deref() == Some("0")
                    || message.to_ascii_lowercase().contains("rate limit")));
        if status >= 500 || rate_limited {
            let reset_wait = header("x-ratelimit-reset")
                .and_then(|v| v.parse::<i64>().ok())
                .map(|reset| {
                    Duration::from_secs(
                        u64::try_from(reset - chrono::Utc::now().timestamp()).unwrap_or(0) + 1,
                    )
                });
            let after = retry_after.or(if rate_limited { reset_wait } else { None });
            let reason = format!(
                "HTTP {status}{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(" ({message})")
                }
            );
            return Attempt::Retry {
                after,
                reason,
                answered: true,
            };
        }
        let detail = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        Attempt::Fail(ApiError::Status {
            what: what.into(),
            status,
            detail,
        })
    }
}

/// What the contents API holds at a path of a commit.
#[derive(Debug)]
pub enum FileAt {
    Blob(Vec<u8>),
    Missing,
    /// A directory, symlink or submodule: its `type`.
    NotAFile(String),
    TooLarge,
}

/// Percent-encode a path for a URL, keeping `/` between segments.
pub(super) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn transport_message(e: &octocrab::Error) -> String {
    // octocrab's Display for transport errors is short ("Service Error"); the source chain says
    // what happened (connection refused, DNS, TLS). URLs carry no credentials, headers are absent.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    crate::text::excerpt(&msg, 300)
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_header() {
        let h = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(
            super::next_link(h).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(
            super::next_link(r#"<https://a/x?page=1>; rel="prev""#),
            None
        );
    }
}
