//! What "healthy" means for one answer, and the parsers of the flags that say so: status lists
//! and ranges (`200,204,300-302`, `2xx`), JSON body assertions on dotted paths
//! (`checks.database.status=healthy`), a body substring, a body regex, a latency budget.
//!
//! Every expectation must hold. The body is bytes (it may not be UTF-8 and may have been cut
//! at the read cap); substring and regex work on bytes, JSON needs the whole body as UTF-8.

use crate::text::excerpt;
use crate::units::show_duration;
use serde_json::Value;
use std::time::Duration;

/// Why an answer is not healthy. The kind decides the rule; the text is for the PR author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Status,
    Unreachable,
    Timeout,
    Body,
    Latency,
    /// A redirect out of the probed URL's origin, which is never followed.
    CrossOrigin,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub message: String,
}

impl Problem {
    pub fn new(kind: Kind, message: impl Into<String>) -> Problem {
        Problem {
            kind,
            message: message.into(),
        }
    }
}

/// At most this much of a body is read; the rest is never received.
pub const MAX_BODY: usize = 1 << 20;

/// A complete answer (status, headers and the body up to the cap).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// `Retry-After` of a 429 or 503.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
    /// The body was longer than `MAX_BODY`; only the first `MAX_BODY` bytes were read.
    pub truncated: bool,
    /// From sending the request to the end of the (capped) body.
    pub latency: Duration,
    /// When the server's TLS certificate expires (https only).
    pub cert_expires: Option<chrono::DateTime<chrono::Utc>>,
}

impl Answer {
    /// `503 Service Unavailable`
    pub fn status_line(&self) -> String {
        match reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            Some(r) => format!("{} {r}", self.status),
            None => self.status.to_string(),
        }
    }

    /// A remark for body checks when the body was cut at the cap.
    pub fn cut_note(&self) -> String {
        if self.truncated {
            format!(
                " (only the first {} bytes were read)",
                crate::text::thousands(MAX_BODY as u64)
            )
        } else {
            String::new()
        }
    }
}

/// Accepted statuses: inclusive ranges, written as the user wrote them.
#[derive(Debug, Clone)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl StatusSet {
    pub fn parse(s: &str) -> Result<StatusSet, String> {
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim) {
            let code = |t: &str| -> Result<u16, String> {
                match t.trim().parse::<u16>() {
                    Ok(n) if (100..=599).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "`{}` is not an HTTP status (100-599)",
                        excerpt(t, 40)
                    )),
                }
            };
            let range = if let Some(class) = part.strip_suffix("xx").or(part.strip_suffix("XX")) {
                let c = code(&format!("{class}00"))?;
                (c, c + 99)
            } else if let Some((a, b)) = part.split_once('-') {
                let (a, b) = (code(a)?, code(b)?);
                if a > b {
                    return Err(format!("`{}`: the range is reversed", excerpt(part, 40)));
                }
                (a, b)
            } else {
                let c = code(part)?;
                (c, c)
            };
            ranges.push(range);
        }
        Ok(StatusSet {
            ranges,
            text: s.trim().to_string(),
        })
    }

    pub fn contains(&self, status: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&status))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `checks.database.status=healthy`: the value at a dotted path (numbers index arrays).
#[derive(Debug, Clone)]
pub struct JsonExpect {
    path: Vec<String>,
    want: String,
    text: String,
}

impl JsonExpect {
    pub fn parse(s: &str) -> Result<JsonExpect, String> {
        let (path, want) = s.split_once('=').ok_or_else(|| {
            format!(
                "`{}`: write `dotted.path=value`, e.g. `status=healthy`",
                excerpt(s, 80)
            )
        })?;
        let path: Vec<String> = path.trim().split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "`{}`: the path has an empty segment",
                excerpt(s, 80)
            ));
        }
        Ok(JsonExpect {
            path,
            want: want.trim().to_string(),
            text: s.trim().to_string(),
        })
    }

    /// `Err` says what was found instead.
    fn check(&self, doc: &Value) -> Result<(), String> {
        let mut v = doc;
        for seg in &self.path {
            let next = match v {
                Value::Object(m) => m.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            v =
                next.ok_or_else(|| format!("`{}` is missing", excerpt(&self.path.join("."), 80)))?;
        }
        let got = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if got == self.want {
            Ok(())
        } else {
            Err(format!(
                "`{}` is `{}`, expected `{}`",
                excerpt(&self.path.join("."), 80),
                excerpt(&got, 80),
                excerpt(&self.want, 80)
            ))
        }
    }
}

/// Everything an answer must satisfy.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub status: StatusSet,
    pub json: Vec<JsonExpect>,
    pub body: Option<String>,
    pub regex: Option<regex::bytes::Regex>,
    pub max_latency: Option<Duration>,
}

impl Expectations {
    /// Whether any expectation reads the body (a HEAD probe cannot satisfy those).
    pub fn reads_body(&self) -> bool {
        !self.json.is_empty() || self.body.is_some() || self.regex.is_some()
    }

    pub fn check(&self, a: &Answer) -> Result<(), Problem> {
        if !self.status.contains(a.status) {
            let mut msg = format!(
                "HTTP {} is not in the expected statuses `{}`",
                a.status_line(),
                excerpt(self.status.as_str(), 80)
            );
            if (300..400).contains(&a.status) {
                msg.push_str(&match &a.location {
                    Some(l) => format!(
                        "; it redirects to `{}`, which is not followed (a redirect is not health)",
                        excerpt(l, 200)
                    ),
                    None => "; it is a redirect, which is not health".into(),
                });
            }
            return Err(Problem::new(Kind::Status, msg));
        }
        if !self.json.is_empty() {
            self.check_json(a)?;
        }
        if let Some(want) = &self.body {
            if memchr::memmem::find(&a.body, want.as_bytes()).is_none() {
                return Err(Problem::new(
                    Kind::Body,
                    format!(
                        "the body does not contain `{}`{}",
                        excerpt(want, 120),
                        a.cut_note()
                    ),
                ));
            }
        }
        if let Some(re) = &self.regex {
            if !re.is_match(&a.body) {
                return Err(Problem::new(
                    Kind::Body,
                    format!(
                        "the body does not match `{}`{}",
                        excerpt(re.as_str(), 120),
                        a.cut_note()
                    ),
                ));
            }
        }
        if let Some(max) = self.max_latency {
            if a.latency > max {
                return Err(Problem::new(
                    Kind::Latency,
                    format!(
                        "answered in {}, over the latency budget of {}",
                        show_ms(a.latency),
                        show_duration(max)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_json(&self, a: &Answer) -> Result<(), Problem> {
        let not_json = |why: String| {
            Problem::new(
                Kind::Body,
                format!("the body is not JSON ({why}), but `--expect-json` needs it"),
            )
        };
        if a.truncated {
            return Err(not_json(format!(
                "it is larger than the {} bytes read of it",
                crate::text::thousands(a.body.len() as u64)
            )));
        }
        let text = std::str::from_utf8(&a.body)
            .map_err(|e| not_json(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let doc: Value = serde_json::from_str(text).map_err(|e| not_json(e.to_string()))?;
        let failed: Vec<String> = self
            .json
            .iter()
            .filter_map(|j| j.check(&doc).err())
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let all: Vec<&str> = self.json.iter().map(|j| j.text.as_str()).collect();
        Err(Problem::new(
            Kind::Body,
            format!(
                "{} (expected {})",
                failed.join("; "),
                all.iter()
                    .map(|t| format!("`{}`", excerpt(t, 80)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// A measured time for messages: `37ms`, `1.25s`.
pub fn show_ms(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_and_ranges() {
        let s = StatusSet::parse("200,204, 300-302,4xx").unwrap();
        for ok in [200, 204, 300, 301, 302, 404, 499] {
            assert!(s.contains(ok), "{ok}");
        }
        for bad in [201, 299, 303, 500] {
            assert!(!s.contains(bad), "{bad}");
        }
        assert!(StatusSet::parse("302-200").is_err());
        assert!(StatusSet::parse("abc").is_err());
        assert!(StatusSet::parse("700").is_err());
        assert!(StatusSet::parse("").is_err());
    }

    #[test]
    fn json_paths() {
        let doc: Value = serde_json::from_str(
            r#"{"status":"healthy","checks":{"database":{"status":"degraded","latency_ms":12.3}},"list":[{"ok":true}]}"#,
        )
        .unwrap();
        let ok = |s: &str| JsonExpect::parse(s).unwrap().check(&doc);
        assert!(ok("status=healthy").is_ok());
        assert!(ok("checks.database.latency_ms=12.3").is_ok());
        assert!(ok("list.0.ok=true").is_ok());
        assert!(ok("checks.database.status=healthy")
            .unwrap_err()
            .contains("`degraded`"));
        assert!(ok("checks.cache.status=healthy")
            .unwrap_err()
            .contains("missing"));
        assert!(JsonExpect::parse("status").is_err());
        assert!(JsonExpect::parse("a..b=c").is_err());
    }
}
