//! Where a deployment can be reached, for health-gate: from a `deployment_status` event payload
//! (`deployment_status.environment_url`, else `target_url`), or from the Deployments API (the
//! newest deployment to an environment whose latest status is `success`), through the same
//! octocrab client, deadline and retries as every other API call (`api.rs`).

use super::api::{Api, ApiError};
use serde::Deserialize;

/// How many of the newest deployments are looked at for a successful one.
const MAX_DEPLOYMENTS: usize = 10;

/// What a `deployment_status` payload says about the deployment.
#[derive(Debug, Clone, Default)]
pub struct EventDeployment {
    pub url: Option<String>,
    pub environment: Option<String>,
    pub state: Option<String>,
}

/// A deployment found through the API.
#[derive(Debug, Clone)]
pub struct ApiDeployment {
    pub id: u64,
    pub sha: Option<String>,
    pub url: String,
}

#[derive(Deserialize)]
struct Payload {
    deployment_status: Option<Status>,
    deployment: Option<Deployment>,
}

#[derive(Deserialize)]
struct Deployment {
    id: u64,
    sha: Option<String>,
    environment: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    state: Option<String>,
    environment: Option<String>,
    environment_url: Option<String>,
    target_url: Option<String>,
}

impl Status {
    fn url(&self) -> Option<String> {
        [&self.environment_url, &self.target_url]
            .into_iter()
            .flatten()
            .map(|u| u.trim())
            .find(|u| !u.is_empty())
            .map(str::to_string)
    }
}

/// Read a `deployment_status` event payload.
pub fn from_event(payload: &[u8]) -> Result<EventDeployment, String> {
    let p: Payload = serde_json::from_slice(payload)
        // serde quotes the offending value, which may be megabytes long.
        .map_err(|e| {
            format!(
                "the deployment_status payload is not valid: {}",
                crate::text::excerpt(&e.to_string(), 300)
            )
        })?;
    let status = p
        .deployment_status
        .ok_or("the deployment_status payload has no `deployment_status` object")?;
    Ok(EventDeployment {
        url: status.url(),
        environment: status
            .environment
            .clone()
            .or_else(|| p.deployment.and_then(|d| d.environment)),
        state: status.state,
    })
}

impl Api {
    /// The newest deployment to `environment` whose latest status is `success` and names a
    /// URL; `None` when there is none among the newest few.
    pub async fn successful_deployment(
        &self,
        environment: &str,
    ) -> Result<Option<ApiDeployment>, ApiError> {
        let path = format!(
            "/deployments?environment={}&per_page={MAX_DEPLOYMENTS}",
            encode(environment)
        );
        let (list, _): (Vec<Deployment>, _) =
            self.get_json(&self.url(&path), "deployments").await?;
        for d in list.into_iter().take(MAX_DEPLOYMENTS) {
            let path = format!("/deployments/{}/statuses?per_page=10", d.id);
            let (statuses, _): (Vec<Status>, _) = self
                .get_json(&self.url(&path), "deployment statuses")
                .await?;
            // Newest first: only the latest status says what the deployment is now.
            if let Some(s) = statuses.first() {
                if s.state.as_deref() == Some("success") {
                    if let Some(url) = s.url() {
                        return Ok(Some(ApiDeployment {
                            id: d.id,
                            sha: d.sha,
                            url,
                        }));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Percent-encode a query value (everything but RFC 3986 unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_url_prefers_environment_url() {
        let p = br#"{"deployment_status":{"state":"success","environment":"staging","environment_url":"","target_url":"https://t.example/"}}"#;
        let d = from_event(p).unwrap();
        assert_eq!(d.url.as_deref(), Some("https://t.example/"));
        let p = br#"{"deployment_status":{"environment_url":"https://e.example/","target_url":"https://t.example/"}}"#;
        assert_eq!(
            from_event(p).unwrap().url.as_deref(),
            Some("https://e.example/")
        );
        assert!(from_event(b"{}").is_err());
        assert_eq!(encode("prod east/1"), "prod%20east%2F1");
    }
}
