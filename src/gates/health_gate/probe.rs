//! One probe attempt over real HTTP with reqwest: send, read at most `MAX_BODY` bytes of the
//! body and stop, all inside one per-attempt limit that covers connect, headers and body (a
//! server that accepts and never answers, or trickles its body forever, is cut off).
//!
//! The client is built once per run: rustls on ring with the platform's roots (certificate
//! verification on unless `--insecure`), no proxy (reqwest would otherwise read `HTTP_PROXY` /
//! `HTTPS_PROXY` from the environment, and a probe must reach the deployment itself), no
//! decompression, no connection reuse (each attempt connects afresh, as a cold client would),
//! no retries of its own (the schedule counts every request), and redirects followed only when
//! asked — and then only within the probed URL's origin: a redirect elsewhere is never followed
//! (so no header, secret or not, and no judgement leaves the deployment) and is its own failure,
//! and no body from another origin is ever read, let alone quoted.
//!
//! Failures come back classified (`Kind`) with a message naming what happened: DNS failure,
//! connection refused, TLS error, timeout while waiting for headers or while reading the body.

use super::expect::{show_ms, Kind, Problem};
pub use super::expect::{Answer, MAX_BODY};
use anyhow::{Context as _, Result};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Url};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

const MAX_REDIRECTS: usize = 10;

/// An attempt that produced no complete answer.
#[derive(Debug, Clone)]
pub struct Fault {
    pub problem: Problem,
    /// The status, when the headers arrived before the body failed.
    pub status: Option<u16>,
}

#[derive(Clone)]
pub struct ClientOptions {
    pub follow_redirects: bool,
    pub insecure: bool,
    pub method: Method,
    pub headers: HeaderMap,
}

pub struct Prober {
    client: Client,
    follow: bool,
    method: Method,
    headers: HeaderMap,
}

impl Prober {
    pub fn new(o: ClientOptions) -> Result<Prober> {
        // reqwest is built without a crypto provider; ring is the one in the tree. An error
        // only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let follow = o.follow_redirects;
        let policy = if follow {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                let first = attempt.previous().first().map(Url::origin);
                if first.is_some_and(|o| o != attempt.url().origin()) {
                    return attempt.stop();
                }
                attempt.follow()
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = Client::builder()
            .redirect(policy)
            .no_proxy()
            .retry(reqwest::retry::never())
            .pool_max_idle_per_host(0)
            .dns_resolver(ThreadResolver)
            .tls_danger_accept_invalid_certs(o.insecure)
            .tls_info(true)
            .user_agent(concat!(
                "merge-gates/",
                env!("CARGO_PKG_VERSION"),
                " health-gate"
            ))
            .build()
            .context("building the HTTP client")?;
        Ok(Prober {
            client,
            follow,
            method: o.method,
            headers: o.headers,
        })
    }

    /// One request within `limit`, which covers everything from connecting to the last byte.
    pub async fn attempt(&self, url: &Url, limit: Duration) -> (Result<Answer, Fault>, Duration) {
        let started = Instant::now();
        let deadline = started + limit;
        let result = self.exchange(url, limit, deadline, started).await;
        (result, started.elapsed())
    }

    async fn exchange(
        &self,
        url: &Url,
        limit: Duration,
        deadline: Instant,
        started: Instant,
    ) -> Result<Answer, Fault> {
        let req = self
            .client
            .request(self.method.clone(), url.clone())
            .headers(self.headers.clone())
            .send();
        let timed_out = |what: &str, status: Option<u16>| Fault {
            problem: Problem::new(
                Kind::Timeout,
                format!("no complete answer within {} ({what})", show_ms(limit)),
            ),
            status,
        };
        let mut res = match timeout_at(deadline, req).await {
            Err(_) => return Err(timed_out("waiting for the response headers", None)),
            Ok(Err(e)) => return Err(classify(e, url, limit)),
            Ok(Ok(r)) => r,
        };
        let status = res.status().as_u16();
        let header = |n: reqwest::header::HeaderName| {
            res.headers()
                .get(n)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let location = header(reqwest::header::LOCATION);
        let cert_expires = res
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .and_then(super::cert::not_after);
        // Following, a redirect that is still a redirect here was stopped at another origin.
        if self.follow && res.status().is_redirection() {
            if let Some(to) = location.as_deref().and_then(|l| res.url().join(l).ok()) {
                if to.origin() != url.origin() {
                    return Err(Fault {
                        problem: Problem::new(
                            Kind::CrossOrigin,
                            format!(
                                "HTTP {status} redirects to another origin, `{}`, which is not followed: `--follow-redirects` stays within `{}`, and what answers elsewhere is not this deployment's health",
                                super::shown(&to),
                                crate::text::excerpt(&url.origin().ascii_serialization(), 200)
                            ),
                        ),
                        status: Some(status),
                    });
                }
            }
        }
        let retry_after = matches!(status, 429 | 503)
            .then(|| header(reqwest::header::RETRY_AFTER))
            .flatten()
            .and_then(|v| retry_after(&v));
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match timeout_at(deadline, res.chunk()).await {
                Err(_) => {
                    let what = format!(
                        "HTTP {status} arrived, but the body was still incomplete after {} bytes",
                        crate::text::thousands(body.len() as u64)
                    );
                    return Err(timed_out(&what, Some(status)));
                }
                Ok(Err(e)) => {
                    return Err(Fault {
                        problem: Problem::new(
                            Kind::Unreachable,
                            format!(
                            "HTTP {status} arrived, but reading the body failed after {} bytes: {}",
                            crate::text::thousands(body.len() as u64),
                            chain(&e.without_url())
                        ),
                        ),
                        status: Some(status),
                    })
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => {
                    let room = MAX_BODY - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break; // dropping the response closes the connection
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
        Ok(Answer {
            status,
            location,
            retry_after,
            body,
            truncated,
            latency: started.elapsed(),
            cert_expires,
        })
    }
}

/// DNS through the system resolver on a detached thread. reqwest's default runs it on tokio's
/// blocking pool, which the runtime waits for when it shuts down: a resolver that hangs would
/// hold the process past the overall deadline. A detached thread cannot; the attempt's own
/// limit still cuts the lookup off.
struct ThreadResolver;

impl reqwest::dns::Resolve for ThreadResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        use std::net::ToSocketAddrs;
        let host = name.as_str().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("merge-gates-dns".into())
            .spawn(move || {
                let found = (host.as_str(), 0).to_socket_addrs().map(Vec::from_iter);
                let _ = tx.send(found);
            });
        Box::pin(async move {
            spawned?;
            match rx.await {
                Ok(Ok(addrs)) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err("the resolver thread ended without an answer".into()),
            }
        })
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The error and its sources, one line, without the URL.
fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    crate::text::excerpt(&msg, 300)
}

/// What rustls' errors say, for when a boxed layer hides the `rustls::Error` from downcasts.
const TLS_WORDS: &[&str] = &[
    "certificate",
    "tls",
    "handshake",
    "corrupt message",
    "alert",
    "peer is incompatible",
    "peer misbehaved",
];

/// Name what went wrong before an answer arrived.
fn classify(e: reqwest::Error, url: &Url, limit: Duration) -> Fault {
    let host = url.host_str().unwrap_or("?").to_string();
    let port = url.port_or_known_default().unwrap_or(0);
    let e = e.without_url();
    let detail = chain(&e);
    let mut refused = false;
    let mut tls = false;
    let mut root = detail.clone();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        root = crate::text::excerpt(&s.to_string(), 200);
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            // rustls reports through io::Error, whose `source()` skips the wrapped error.
            tls |= io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        }
        tls |= s.downcast_ref::<rustls::Error>().is_some();
        src = s.source();
    }
    let lower = detail.to_ascii_lowercase();
    let (kind, message) = if e.is_timeout() {
        (
            Kind::Timeout,
            format!(
                "could not connect to {host}:{port} within {}",
                show_ms(limit)
            ),
        )
    } else if refused {
        (
            Kind::Unreachable,
            format!("connection refused by {host}:{port}: nothing accepts connections there"),
        )
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        (
            Kind::Unreachable,
            format!("DNS lookup of `{host}` failed: {root}"),
        )
    } else if tls || TLS_WORDS.iter().any(|w| lower.contains(w)) {
        (
            Kind::Unreachable,
            format!("TLS with {host}:{port} failed (certificates are verified unless --insecure): {root}"),
        )
    } else if e.is_redirect() {
        (
            Kind::Status,
            format!("redirects were not followed to the end: {detail}"),
        )
    } else {
        (
            Kind::Unreachable,
            format!("the request to {host}:{port} failed: {detail}"),
        )
    };
    Fault {
        problem: Problem::new(kind, message),
        status: None,
    }
}
