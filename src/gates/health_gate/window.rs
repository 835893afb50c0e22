//! The analysis window (Argo Rollouts' analysis run, Flagger's metric checks, without a cluster):
//! once a URL first passes, it is probed `samples` more times, every `interval`, and the whole
//! window is judged — the success rate against `min-success-rate`, latency P95 (and P99) against
//! `max-p95` (`max-p99`). `failure-limit` consecutive failures end the window early, failed.
//! A failure is what a user would call one: no answer, an unexpected status, a body or JSON
//! expectation that does not hold. Slowness is judged by the percentiles, not per sample.

use super::expect::{Expectations, Kind};
use super::probe::Prober;
use reqwest::Url;
use std::time::Duration;
use tokio::time::Instant;

/// The window's settings, typed.
#[derive(Debug, Clone)]
pub struct Window {
    pub samples: u32,
    pub interval: Duration,
    /// Percent, 0 to 100.
    pub min_success_rate: f64,
    pub max_p95: Duration,
    pub max_p99: Option<Duration>,
    /// Consecutive failures that end the window; `None`: the window always runs to its end.
    pub failure_limit: Option<u32>,
    pub request_timeout: Duration,
}

/// One sample: how long it took, and what went wrong, if anything.
#[derive(Debug, Clone)]
pub struct Sample {
    pub latency: Duration,
    pub failure: Option<String>,
}

/// Why the window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Complete,
    /// `failure-limit` consecutive failures.
    FailureLimit,
    /// The overall timeout ran out first.
    Deadline,
}

#[derive(Debug, Clone)]
pub struct Observed {
    pub samples: Vec<Sample>,
    pub ended: Ended,
}

pub async fn run(
    prober: &Prober,
    url: &Url,
    w: &Window,
    expect: &Expectations,
    deadline: Instant,
) -> Observed {
    let mut samples = Vec::with_capacity(w.samples.min(10_000) as usize);
    let mut in_a_row = 0u32;
    for i in 0..w.samples {
        let began = Instant::now();
        let left = deadline.saturating_duration_since(began);
        if left.is_zero() {
            return Observed {
                samples,
                ended: Ended::Deadline,
            };
        }
        let (result, latency) = prober.attempt(url, w.request_timeout.min(left)).await;
        let problem = match &result {
            Ok(a) => expect.check(a).err(),
            Err(f) => Some(f.problem.clone()),
        };
        let failure = problem
            .filter(|p| p.kind != Kind::Latency)
            .map(|p| p.message);
        in_a_row = if failure.is_some() { in_a_row + 1 } else { 0 };
        samples.push(Sample { latency, failure });
        if w.failure_limit.is_some_and(|k| in_a_row >= k.max(1)) {
            return Observed {
                samples,
                ended: Ended::FailureLimit,
            };
        }
        if i + 1 < w.samples {
            let next = began + w.interval;
            if next >= deadline {
                return Observed {
                    samples,
                    ended: Ended::Deadline,
                };
            }
            // (A wait already over is not begun: the timer would round it up to 1 ms.)
            if next > Instant::now() {
                tokio::time::sleep_until(next).await;
            }
        }
    }
    Observed {
        samples,
        ended: Ended::Complete,
    }
}

/// The summary of a window.
#[derive(Debug, Clone)]
pub struct Stats {
    pub samples: usize,
    pub failures: usize,
    /// Percent.
    pub success_rate: f64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Observed {
    pub fn stats(&self) -> Stats {
        let mut lat: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        lat.sort_unstable();
        let failures = self.samples.iter().filter(|s| s.failure.is_some()).count();
        let n = self.samples.len();
        Stats {
            samples: n,
            failures,
            success_rate: if n == 0 {
                0.0
            } else {
                100.0 * (n - failures) as f64 / n as f64
            },
            p50: percentile(&lat, 50.0),
            p95: percentile(&lat, 95.0),
            p99: percentile(&lat, 99.0),
            max: lat.last().copied().unwrap_or_default(),
        }
    }

    /// The latencies in order, as a sparkline of eight levels (`▁` fastest … `█` slowest), at
    /// most `width` characters (samples are grouped by their maximum when there are more).
    pub fn sparkline(&self, width: usize) -> String {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let lat: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        if lat.is_empty() || width == 0 {
            return String::new();
        }
        let per = lat.len().div_ceil(width);
        let groups: Vec<Duration> = lat
            .chunks(per)
            .map(|c| c.iter().copied().max().unwrap_or_default())
            .collect();
        let (lo, hi) = (
            groups.iter().min().copied().unwrap_or_default(),
            groups.iter().max().copied().unwrap_or_default(),
        );
        let span = (hi - lo).as_secs_f64();
        groups
            .iter()
            .map(|d| {
                let x = if span == 0.0 {
                    0.0
                } else {
                    (*d - lo).as_secs_f64() / span
                };
                BARS[((x * 7.0).round() as usize).min(7)]
            })
            .collect()
    }
}

/// The nearest-rank percentile of sorted values (as Prometheus' and Argo's summaries read).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(ms: &[u64], failed: &[usize]) -> Observed {
        Observed {
            samples: ms
                .iter()
                .enumerate()
                .map(|(i, &m)| Sample {
                    latency: Duration::from_millis(m),
                    failure: failed.contains(&i).then(|| "HTTP 503".into()),
                })
                .collect(),
            ended: Ended::Complete,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms: Vec<u64> = (1..=100).collect();
        let s = observed(&ms, &[3, 50]).stats();
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p95, Duration::from_millis(95));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.failures, 2);
        assert!((s.success_rate - 98.0).abs() < 1e-9);
    }

    #[test]
    fn the_sparkline_fits_its_width_and_shows_the_slow_end() {
        let ms: Vec<u64> = (0..100).map(|i| if i == 99 { 900 } else { 10 }).collect();
        let line = observed(&ms, &[]).sparkline(20);
        assert_eq!(line.chars().count(), 20);
        assert!(line.ends_with('█') && line.starts_with('▁'), "{line}");
        assert_eq!(observed(&[], &[]).sparkline(20), "");
    }
}
