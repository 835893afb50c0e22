//! When to probe and when to stop, per URL, with Docker HEALTHCHECK / Kubernetes probe
//! semantics: attempts every `interval` (grown by `backoff` after each failure, with jitter),
//! failures during `start-period` do not count, `retries` consecutive counted failures make
//! the URL unhealthy, `success-threshold` consecutive successes make it healthy, and the
//! overall deadline always holds: an attempt never runs past it and no wait is begun that
//! would end after it. `Retry-After` on a 429 or 503 is honoured when it fits in the budget.

use super::expect::{Expectations, Kind, Problem};
use super::probe::{Answer, Prober};
use reqwest::Url;
use std::time::Duration;
use tokio::time::Instant;

/// Waits after failures never grow beyond this (or the interval, when it is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Schedule {
    pub start_period: Duration,
    pub interval: Duration,
    pub backoff: f64,
    pub request_timeout: Duration,
    pub retries: u32,
    pub success_threshold: u32,
}

/// One attempt, as the summary shows it.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 1-based.
    pub n: u32,
    /// When it started, from the start of the gate.
    pub at: Duration,
    pub latency: Duration,
    pub status: Option<u16>,
    /// `None`: every expectation held.
    pub problem: Option<Problem>,
    /// A failure during the start period does not count toward `retries`.
    pub counted: bool,
    /// The overall deadline, not `--request-timeout`, cut this attempt short: its timeout says
    /// nothing about the server unless no other failure does.
    pub cut_by_deadline: bool,
}

/// Why probing stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    Healthy,
    /// `retries` consecutive counted failures.
    Threshold,
    /// The next attempt would have started after the overall deadline.
    Deadline,
    /// The server asked to wait longer than what was left of the budget.
    RetryAfter(Duration),
}

#[derive(Debug, Clone)]
pub struct Probed {
    pub attempts: Vec<Attempt>,
    pub end: End,
    /// The last complete answer (for the body excerpt).
    pub last_answer: Option<Answer>,
}

impl Schedule {
    /// The wait after an attempt: the interval, grown after `failures` consecutive failures.
    fn wait(&self, failures: u32) -> Duration {
        if failures == 0 || self.backoff <= 1.0 {
            return self.interval;
        }
        let cap = MAX_BACKOFF.max(self.interval);
        let grown = self.interval.as_secs_f64() * self.backoff.powi(failures as i32 - 1);
        let grown = Duration::from_secs_f64(grown.min(cap.as_secs_f64()));
        // "Equal jitter": between half and all of the grown wait, so probes of many jobs spread.
        let r = getrandom::u32().unwrap_or(u32::MAX / 2) as f64 / u32::MAX as f64;
        grown.mul_f64(0.5 + 0.5 * r).max(self.interval)
    }
}

pub async fn run(
    prober: &Prober,
    url: &Url,
    s: &Schedule,
    expect: &Expectations,
    start: Instant,
    deadline: Instant,
) -> Probed {
    let mut attempts = Vec::new();
    let mut last_answer = None;
    let (mut successes, mut counted_failures, mut failures) = (0u32, 0u32, 0u32);
    loop {
        let began = Instant::now();
        let left = deadline.saturating_duration_since(began);
        if left.is_zero() {
            return Probed {
                attempts,
                end: End::Deadline,
                last_answer,
            };
        }
        let cut = left < s.request_timeout;
        let (result, latency) = prober.attempt(url, s.request_timeout.min(left)).await;
        let in_start_period = began.duration_since(start) < s.start_period;
        let (status, problem, retry_after) = match &result {
            Ok(a) => (Some(a.status), expect.check(a).err(), a.retry_after),
            Err(f) => (f.status, Some(f.problem.clone()), None),
        };
        let failed = problem.is_some();
        tracing::info!(
            "health-gate: {} attempt {}: {} in {}{}",
            super::shown(url),
            attempts.len() + 1,
            status.map_or("no answer".to_string(), |s| format!("HTTP {s}")),
            super::expect::show_ms(latency),
            problem
                .as_ref()
                .map(|p| format!(": {}", crate::text::excerpt(&p.message, 200)))
                .unwrap_or_default()
        );
        let cut_by_deadline = cut && problem.as_ref().is_some_and(|p| p.kind == Kind::Timeout);
        attempts.push(Attempt {
            n: attempts.len() as u32 + 1,
            at: began.duration_since(start),
            latency,
            status,
            problem,
            counted: !in_start_period,
            cut_by_deadline,
        });
        if let Ok(a) = result {
            last_answer = Some(a);
        }
        let end = |end| Probed {
            attempts: attempts.clone(),
            end,
            last_answer: last_answer.clone(),
        };
        if failed {
            successes = 0;
            failures += 1;
            if !in_start_period {
                counted_failures += 1;
            }
            if counted_failures >= s.retries.max(1) {
                return end(End::Threshold);
            }
        } else {
            successes += 1;
            counted_failures = 0;
            failures = 0;
            if successes >= s.success_threshold.max(1) {
                return end(End::Healthy);
            }
        }
        let mut wait = s.wait(failures);
        if let Some(ra) = retry_after {
            wait = wait.max(ra);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if wait >= left {
            return end(match retry_after {
                Some(ra) if ra >= left => End::RetryAfter(ra),
                _ => End::Deadline,
            });
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await; // (the timer would round a zero wait up to 1ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let s = Schedule {
            start_period: Duration::ZERO,
            interval: Duration::from_secs(1),
            backoff: 2.0,
            request_timeout: Duration::from_secs(1),
            retries: 5,
            success_threshold: 1,
        };
        assert_eq!(s.wait(0), Duration::from_secs(1));
        let w3 = s.wait(3); // 4s grown, jittered into [2s, 4s]
        assert!(
            w3 >= Duration::from_secs(2) && w3 <= Duration::from_secs(4),
            "{w3:?}"
        );
        assert!(s.wait(30) <= MAX_BACKOFF);
        let fixed = Schedule { backoff: 1.0, ..s };
        assert_eq!(fixed.wait(7), Duration::from_secs(1));
    }
}
