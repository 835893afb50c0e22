//! `health-gate`: may this deployment be promoted or merged? Each URL is probed over real HTTP
//! until it is healthy or the budget runs out, replacing the original `sleep 30; curl /health`
//! with its `/` fallback that took a 302 for health while `/health` said 503.
//!
//! This module owns the options (flags over `[health-gate]` config), where the URLs come from
//! (flags, config, a `deployment_status` event, the Deployments API), running the URLs
//! concurrently inside one overall deadline, and turning what happened into findings, notes
//! (every attempt) and step outputs (`healthy`, `attempts`, `latency-ms`, `status`).
//! `probe` makes one attempt, `expect` judges it, `schedule` decides when to try again.

pub mod cert;
pub mod expect;
pub mod probe;
pub mod schedule;
pub mod window;

use super::Context;
use crate::finding::{Finding, GateOutput, Table};
use crate::github::GithubEnv;
use crate::pr::Needs;
use crate::rules::{GateId, Rule};
use crate::text::excerpt;
use crate::units::show_duration;
use anyhow::{anyhow, bail, Result};
use expect::{show_ms, Expectations, Kind};
use probe::{ClientOptions, Prober};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use schedule::{Attempt, End, Probed, Schedule};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The deadline of a timeout too long for the clock: thirty years, as tokio's own far future.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);
/// Attempts listed per URL in the notes; the rest are counted.
const MAX_ATTEMPT_NOTES: usize = 100;
/// Attempts listed per URL in a finding's message.
const MAX_ATTEMPTS_IN_MESSAGE: usize = 10;

/// The probe's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
pub enum ProbeMethod {
    #[serde(rename = "GET", alias = "get")]
    #[value(name = "GET")]
    Get,
    #[serde(rename = "HEAD", alias = "head")]
    #[value(name = "HEAD")]
    Head,
}

/// The gate's settings, typed; `settings` resolves them (flags over `[health-gate]`).
pub struct Options {
    pub urls: Vec<String>,
    pub environment: Option<String>,
    pub schedule: Schedule,
    pub timeout: Duration,
    pub expect: Expectations,
    pub warn_latency: Option<Duration>,
    /// The analysis window after the first pass (`--samples`); `None`: one pass decides.
    pub window: Option<window::Window>,
    /// A certificate that expires within this many days warns (within 3, an error); 0: off.
    pub cert_min_days: u32,
    pub client: ClientOptions,
    /// The GitHub API and event of this run, for a `deployment_status` event or the
    /// Deployments API (`environment`); `None` outside GitHub.
    pub github: Option<GithubEnv>,
}

/// The gate, with its options.
pub struct HealthGate(pub Options);

impl super::Gate for HealthGate {
    fn id(&self) -> GateId {
        GateId::HealthGate
    }

    fn needs(&self) -> Needs {
        Needs::default()
    }

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> super::Run<'a> {
        Box::pin(run(ctx, &self.0))
    }
}

/// Several URLs may share one value, one per line (the Action's `url` input).
pub fn split_urls<'a>(values: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|v| v.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn header_name(flag: &str, raw: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(raw.trim().as_bytes())
        .map_err(|_| anyhow!("{flag}: `{}` is not a header name", excerpt(raw.trim(), 60)))
}

/// The request headers: `from_env` names each secret's environment variable, and `lookup` reads
/// it. Values are never shown.
pub fn headers(
    plain: &[String],
    from_env: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for h in plain {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| anyhow!("--header: write `Name: value` (got a value without `:`)"))?;
        let name = header_name("--header", name)?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| anyhow!("--header {name}: the value is not a valid header value"))?;
        map.append(name, value);
    }
    for h in from_env {
        let (name, var) = h.split_once('=').ok_or_else(|| {
            anyhow!(
                "--header-from-env: write `Name=ENV_VAR`, got `{}`",
                excerpt(h, 60)
            )
        })?;
        let (name, var) = (header_name("--header-from-env", name)?, var.trim());
        let secret = lookup(var).ok_or_else(|| {
            anyhow!("--header-from-env {name}: environment variable `{var}` is not set")
        })?;
        let mut value = HeaderValue::from_str(secret.trim()).map_err(|_| {
            anyhow!("--header-from-env {name}: `{var}` does not hold a valid header value")
        })?;
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}

/// An http(s) URL, or why it is not one.
fn parse_url(s: &str) -> Result<Url, String> {
    // The URL parser drops tabs and line breaks anywhere in the text, so
    // `https://good.example<LF>.evil.example/` would probe `good.example.evil.example`.
    if s.trim().contains(char::is_control) {
        return Err(format!(
            "`{}` contains a line break or another control character",
            excerpt(s.trim(), 200)
        ));
    }
    let u = Url::parse(s.trim()).map_err(|e| format!("`{}` is not a URL: {e}", excerpt(s, 200)))?;
    match u.scheme() {
        "http" | "https" if u.host_str().is_some() => Ok(u),
        _ => Err(format!("`{}` is not an http(s) URL", shown(&u))),
    }
}

/// The URL for messages: credentials in it are never shown.
fn shown(u: &Url) -> String {
    let mut u = u.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_password(None);
        let _ = u.set_username("***");
    }
    excerpt(u.as_str(), 300)
}

const NO_EVENT_URL: &str = "the deployment_status event names no `environment_url` and no \
    `target_url`, so there is nothing to probe";

/// Where the URLs come from: flags or config, else the `deployment_status` event, else the
/// Deployments API for `--environment`. A deployment that names no usable URL is a finding.
async fn targets(opts: &Options, deadline: Instant, out: &mut GateOutput) -> Result<Vec<Url>> {
    if !opts.urls.is_empty() {
        return opts
            .urls
            .iter()
            .map(|u| parse_url(u).map_err(|e| anyhow!("--url: {e}")))
            .collect();
    }
    let github = &opts.github;
    let no_url = |out: &mut GateOutput, msg: String| {
        out.push(Finding::new(Rule::HgNoDeploymentUrl, msg));
        Ok(Vec::new())
    };
    if let Some(env) = &github {
        if env.event_name.as_deref() == Some("deployment_status") {
            let d = match crate::github::deployments::from_event(&env.payload) {
                Ok(d) => d,
                Err(e) => return no_url(out, e),
            };
            let other_env = matches!(
                (&opts.environment, &d.environment),
                (Some(want), Some(got)) if want != got
            );
            if !other_env {
                out.notes.push(format!(
                    "deployment_status event: environment `{}`, state `{}`",
                    excerpt(d.environment.as_deref().unwrap_or("?"), 100),
                    excerpt(d.state.as_deref().unwrap_or("?"), 40)
                ));
                let msg = match d.url.as_deref().map(parse_url) {
                    Some(Ok(u)) => return Ok(vec![u]),
                    Some(Err(e)) => format!("the deployment_status event's URL is unusable: {e}"),
                    None => NO_EVENT_URL.to_string(),
                };
                return no_url(out, msg);
            }
        }
    }
    let Some(environment) = &opts.environment else {
        bail!("no URL to probe: pass --url, set `url` in [health-gate], run on a deployment_status event, or pass --environment");
    };
    let Some(mut env) = github.clone() else {
        bail!("--environment {environment}: the Deployments API needs GITHUB_REPOSITORY (and GITHUB_TOKEN) to be set");
    };
    let Some((owner, repo)) = env.repository.as_deref().and_then(|r| r.split_once('/')) else {
        bail!("--environment {environment}: GITHUB_REPOSITORY is not `owner/name`");
    };
    // The lookup is part of the overall deadline.
    env.api_timeout = env
        .api_timeout
        .min(deadline.saturating_duration_since(Instant::now()));
    let found = match crate::github::api::Api::new(&env, owner, repo) {
        Ok(api) => api.successful_deployment(environment).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(d)) => {
            out.notes.push(format!(
                "URL from deployment {} of environment `{}`{}",
                d.id,
                excerpt(environment, 100),
                d.sha
                    .map(|s| format!(" at {}", excerpt(&s, 12)))
                    .unwrap_or_default()
            ));
            match parse_url(&d.url) {
                Ok(u) => Ok(vec![u]),
                Err(e) => no_url(
                    out,
                    format!(
                        "the latest successful deployment of `{}` has an unusable URL: {e}",
                        excerpt(environment, 100)
                    ),
                ),
            }
        }
        Ok(None) => no_url(
            out,
            format!(
                "no recent deployment of environment `{}` has a successful status with a URL",
                excerpt(environment, 100)
            ),
        ),
        Err(e) => no_url(
            out,
            format!(
                "the deployment of environment `{}` could not be looked up: {e}",
                excerpt(environment, 100)
            ),
        ),
    }
}

/// The health gate reads no pull request: only its options and the network.
async fn run(ctx: &Context<'_>, opts: &Options) -> Result<GateOutput> {
    let start = Instant::now();
    // `--timeout 9999999999999999d` is "no deadline", not an overflow panic.
    let deadline = start
        .checked_add(opts.timeout)
        .unwrap_or_else(|| start + FAR_FUTURE);
    let mut out = GateOutput::default();
    let urls = targets(opts, deadline, &mut out).await?;
    if urls.is_empty() {
        outputs(&mut out, false, 0, None);
        return Ok(out);
    }
    let prober = Arc::new(Prober::new(opts.client.clone())?);
    let expect = Arc::new(opts.expect.clone());
    let mut set = tokio::task::JoinSet::new();
    for (i, url) in urls.iter().cloned().enumerate() {
        let (prober, expect, schedule) = (prober.clone(), expect.clone(), opts.schedule.clone());
        let window = opts.window.clone();
        set.spawn(async move {
            let probed = schedule::run(&prober, &url, &schedule, &expect, start, deadline).await;
            let observed = match (&window, probed.end) {
                (Some(w), End::Healthy) => {
                    tracing::info!(
                        "health-gate: {} passed; analysis window of {} sample(s)",
                        shown(&url),
                        w.samples
                    );
                    Some(window::run(&prober, &url, w, &expect, deadline).await)
                }
                _ => None,
            };
            (i, probed, observed)
        });
    }
    let mut results: Vec<Option<(Probed, Option<window::Observed>)>> = vec![None; urls.len()];
    while let Some(joined) = set.join_next().await {
        let (i, probed, observed) = joined.map_err(|e| anyhow!("a probe task failed: {e}"))?;
        results[i] = Some((probed, observed));
    }
    let results: Vec<(Url, Probed, Option<window::Observed>)> = urls
        .into_iter()
        .zip(results)
        .filter_map(|(u, r)| r.map(|(p, o)| (u, p, o)))
        .collect();
    let mut failed_urls = Vec::new();
    let (mut worst_rate, mut worst_p95): (Option<f64>, Option<Duration>) = (None, None);
    for (url, p, observed) in &results {
        let before = out.findings.len();
        report(
            &opts.schedule,
            opts.timeout,
            opts.warn_latency,
            url,
            p,
            &mut out,
        );
        certificate(opts.cert_min_days, ctx.now, url, p, &mut out);
        if let (Some(w), Some(o)) = (&opts.window, observed) {
            let stats = o.stats();
            worst_rate = Some(worst_rate.map_or(stats.success_rate, |r| r.min(stats.success_rate)));
            worst_p95 = Some(worst_p95.map_or(stats.p95, |d| d.max(stats.p95)));
            judge_window(w, url, o, &mut out);
        }
        let failed = out.findings[before..]
            .iter()
            .any(|f| f.severity == crate::finding::Severity::Error);
        if failed || p.end != End::Healthy {
            failed_urls.push(shown(url));
        }
    }
    out.outputs.extend([
        (
            "success-rate".to_string(),
            worst_rate.map(|r| format!("{r:.2}")).unwrap_or_default(),
        ),
        (
            "p95-ms".to_string(),
            worst_p95
                .map(|d| d.as_millis().to_string())
                .unwrap_or_default(),
        ),
        ("failed-urls".to_string(), failed_urls.join("\n")),
    ]);
    let healthy = failed_urls.is_empty();
    let results: Vec<(Url, Probed)> = results.into_iter().map(|(u, p, _)| (u, p)).collect();
    // The URL that decides: the first unhealthy one, else the slowest.
    let decider = results
        .iter()
        .find(|(_, p)| p.end != End::Healthy)
        .or_else(|| {
            results
                .iter()
                .max_by_key(|(_, p)| p.attempts.last().map(|a| a.latency))
        });
    let total = results.iter().map(|(_, p)| p.attempts.len()).sum();
    outputs(
        &mut out,
        healthy,
        total,
        decider.and_then(|(_, p)| p.attempts.last()),
    );
    Ok(out)
}

/// Days before expiry under which a certificate is an error, not a warning.
const CERT_ERROR_DAYS: i64 = 3;

/// A finding when the certificate the URL answered with expires within `min_days` (an error
/// within `CERT_ERROR_DAYS`, or when it has expired: possible only with `--insecure`).
fn certificate(
    min_days: u32,
    now: chrono::DateTime<chrono::Utc>,
    url: &Url,
    p: &Probed,
    out: &mut GateOutput,
) {
    let Some(expires) = p.last_answer.as_ref().and_then(|a| a.cert_expires) else {
        return;
    };
    let left = expires - now;
    if min_days == 0 || left >= chrono::Duration::days(i64::from(min_days)) {
        return;
    }
    let when = if left <= chrono::Duration::zero() {
        format!("expired on {}", expires.format("%Y-%m-%d %H:%M UTC"))
    } else {
        let days = left.num_hours() as f64 / 24.0;
        format!(
            "expires on {} ({:.1} days from now)",
            expires.format("%Y-%m-%d %H:%M UTC"),
            days
        )
    };
    let mut f = Finding::new(
        Rule::HgCertificateExpiring,
        format!(
            "the TLS certificate of `{}` {when}, within the {min_days} days of `--cert-min-days`",
            shown(url)
        ),
    );
    if left < chrono::Duration::days(CERT_ERROR_DAYS) {
        f.severity = crate::finding::Severity::Error;
    }
    out.push(f);
}

/// The findings and the summary table of one URL's analysis window.
fn judge_window(w: &window::Window, url: &Url, o: &window::Observed, out: &mut GateOutput) {
    let name = shown(url);
    let s = o.stats();
    out.tables.push(Table {
        title: format!("`{name}`: analysis window"),
        columns: [
            "samples",
            "success rate",
            "P50",
            "P95",
            "P99",
            "max",
            "latency over the window",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![vec![
            format!("{} of {}", s.samples, w.samples),
            format!("{:.2}%", s.success_rate),
            show_ms(s.p50),
            show_ms(s.p95),
            show_ms(s.p99),
            show_ms(s.max),
            o.sparkline(40),
        ]],
    });
    let ended = match o.ended {
        window::Ended::Complete => String::new(),
        window::Ended::FailureLimit => format!(
            "; the window ended early after {} failures in a row (`--failure-limit`)",
            w.failure_limit.unwrap_or(1)
        ),
        window::Ended::Deadline => String::new(),
    };
    if o.ended == window::Ended::Deadline {
        out.push(Finding::new(
            Rule::HgRequestTimedOut,
            format!(
                "`{name}` passed, but the overall timeout ran out during its analysis window after {} of {} samples: raise `--timeout` to at least `--samples` × `--interval` plus the time to first pass",
                s.samples, w.samples
            ),
        ));
    }
    if s.samples > 0
        && (s.success_rate < w.min_success_rate || o.ended == window::Ended::FailureLimit)
    {
        let mut failures: Vec<String> = Vec::new();
        for f in o.samples.iter().filter_map(|x| x.failure.as_deref()) {
            if failures.len() < 3 && !failures.iter().any(|g| g == f) {
                failures.push(f.to_string());
            }
        }
        out.push(Finding::new(
            Rule::HgSuccessRateLow,
            format!(
                "`{name}` answered {:.2}% of {} samples of its analysis window successfully, under the minimum of {}%: {} failed ({}){ended}",
                s.success_rate,
                s.samples,
                w.min_success_rate,
                s.failures,
                failures.join("; ")
            ),
        ));
    }
    let over = |p: Duration, max: Duration, which: &str, flag: &str| {
        (p > max).then(|| {
            format!(
                "{which} latency {} over the maximum of {} (`{flag}`)",
                show_ms(p),
                show_duration(max)
            )
        })
    };
    let slow: Vec<String> = [
        over(s.p95, w.max_p95, "P95", "--max-p95"),
        w.max_p99.and_then(|m| over(s.p99, m, "P99", "--max-p99")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if s.samples > 0 && !slow.is_empty() {
        out.push(Finding::new(
            Rule::HgLatencyPercentileExceeded,
            format!(
                "`{name}` is too slow over its analysis window of {} samples: {} (P50 {}, max {})",
                s.samples,
                slow.join(", "),
                show_ms(s.p50),
                show_ms(s.max)
            ),
        ));
    }
}

fn outputs(out: &mut GateOutput, healthy: bool, attempts: usize, last: Option<&Attempt>) {
    out.outputs.extend([
        ("healthy".to_string(), healthy.to_string()),
        ("attempts".to_string(), attempts.to_string()),
        (
            "latency-ms".to_string(),
            last.map(|a| a.latency.as_millis().to_string())
                .unwrap_or_default(),
        ),
        (
            "status".to_string(),
            last.and_then(|a| a.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
    ]);
}

/// `#3 503 12ms`, for the finding's history.
fn short(a: &Attempt) -> String {
    let status = a.status.map_or("-".to_string(), |s| s.to_string());
    let mark = match (&a.problem, a.counted) {
        (None, _) => " ok",
        (Some(_), false) => " (start period)",
        (Some(_), true) => "",
    };
    format!("#{} {status} {}{mark}", a.n, show_ms(a.latency))
}

fn rule_for(kind: Kind) -> Rule {
    match kind {
        Kind::Status => Rule::HgUnexpectedStatus,
        Kind::Unreachable => Rule::HgUnreachable,
        Kind::Timeout => Rule::HgRequestTimedOut,
        Kind::Body => Rule::HgBodyMismatch,
        Kind::Latency => Rule::HgLatencyExceeded,
        Kind::CrossOrigin => Rule::HgCrossOriginRedirect,
    }
}

/// The finding (if any) and the notes for one URL.
fn report(
    s: &Schedule,
    timeout: Duration,
    warn: Option<Duration>,
    url: &Url,
    p: &Probed,
    out: &mut GateOutput,
) {
    let name = shown(url);
    let n = p.attempts.len();
    let last = p.attempts.last();
    // This URL's own time: until its last attempt ended.
    let elapsed = last.map_or(Duration::ZERO, |a| a.at + a.latency);
    let verdict = match p.end {
        End::Healthy => "healthy",
        _ => "unhealthy",
    };
    out.notes.push(format!(
        "`{name}`: {verdict} after {n} attempt(s) in {}",
        show_ms(elapsed)
    ));
    // The attempt history, one row per attempt, for the summary's table.
    let mut table = Table {
        title: format!("`{name}`: every attempt"),
        columns: ["attempt", "at", "status", "latency", "result"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    for a in p.attempts.iter().take(MAX_ATTEMPT_NOTES) {
        let what = match &a.problem {
            None => "healthy".to_string(),
            Some(pr) if !a.counted => format!("{} (start period: not counted)", pr.message),
            Some(pr) => pr.message.clone(),
        };
        table.rows.push(vec![
            a.n.to_string(),
            format!("+{}", show_ms(a.at)),
            a.status
                .map_or("no answer".to_string(), |s| format!("HTTP {s}")),
            show_ms(a.latency),
            what,
        ]);
    }
    if n > MAX_ATTEMPT_NOTES {
        table.rows.push(vec![
            "…".into(),
            String::new(),
            String::new(),
            String::new(),
            format!("{} more attempt(s) not listed", n - MAX_ATTEMPT_NOTES),
        ]);
    }
    out.tables.push(table);
    let Some(last) = last else {
        out.push(Finding::new(
            Rule::HgRequestTimedOut,
            format!(
                "`{name}` was never probed: the overall timeout of {} ran out first",
                show_duration(timeout)
            ),
        ));
        return;
    };
    if p.end == End::Healthy {
        if let Some(w) = warn.filter(|w| last.latency > *w) {
            out.push(Finding::new(
                Rule::HgSlowResponse,
                format!(
                    "`{name}` is healthy but answered in {}, over the warning level of {}",
                    show_ms(last.latency),
                    show_duration(w)
                ),
            ));
        }
        return;
    }
    // The latest failure decides the rule (the last attempt may have been a lone success); an
    // attempt the overall deadline cut short counts only when it is the only kind there is.
    let latest = |keep: fn(&&Attempt) -> bool| {
        p.attempts
            .iter()
            .rev()
            .filter(keep)
            .find_map(|a| a.problem.clone())
    };
    let problem = latest(|a| !a.cut_by_deadline)
        .or_else(|| latest(|_| true))
        .unwrap_or_else(|| {
            expect::Problem::new(Kind::Status, "the success threshold was not reached")
        });
    let why = match p.end {
        End::Threshold => format!(
            "at the failure threshold (`--retries {}` consecutive failures)",
            s.retries
        ),
        End::Deadline => format!("when the overall timeout of {} ran out", show_duration(timeout)),
        End::RetryAfter(d) => format!(
            "because the server asked to retry after {} (`Retry-After`), beyond what was left of the {} timeout",
            show_duration(d),
            show_duration(timeout)
        ),
        End::Healthy => unreachable!("handled above"),
    };
    let flapping = p.attempts.iter().any(|a| a.problem.is_none());
    let mut msg = format!(
        "`{name}` is unhealthy: {}. Gave up {why} after {n} attempt(s) in {}",
        problem.message,
        show_ms(elapsed)
    );
    if flapping && s.success_threshold > 1 {
        msg.push_str(&format!(
            ", never {} healthy answers in a row (`--success-threshold`)",
            s.success_threshold
        ));
    }
    if let Some(a) = &p.last_answer {
        msg.push_str(&format!(
            ". Last answer: HTTP {}, {} byte(s){}",
            a.status_line(),
            crate::text::thousands(a.body.len() as u64),
            if a.truncated {
                " (cut at the read cap)"
            } else {
                ""
            }
        ));
        if !a.body.is_empty() {
            msg.push_str(&format!(
                ", body `{}`",
                crate::text::excerpt_bytes(&a.body, 200).replace('`', "'")
            ));
        }
    }
    let skip = n.saturating_sub(MAX_ATTEMPTS_IN_MESSAGE);
    let history: Vec<String> = p.attempts.iter().skip(skip).map(short).collect();
    msg.push_str(&format!(
        ". Attempts{}: {}",
        if skip > 0 {
            format!(" (last {MAX_ATTEMPTS_IN_MESSAGE})")
        } else {
            String::new()
        },
        history.join(", ")
    ));
    out.push(Finding::new(rule_for(problem.kind), msg));
}
