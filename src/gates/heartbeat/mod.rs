//! `verify-heartbeat`: the PR body lists the heartbeat logs (NDJSON, one line every 15 minutes
//! while a task is in progress). Every line of every file is read; per task, the newest entry
//! must not be a `doing` older than the threshold, and silences longer than the threshold while
//! `doing` are warnings. The "<2h single session" exemption is a phrase, checked against the
//! span of the PR's commits.

use super::body::{self, Listing, SectionSpec};
use super::jsonl::{self, Limits};
use super::Context;
use crate::finding::{CapPerRule, Finding, GateOutput, Location, MAX_FINDINGS_PER_FILE};
use crate::pr::Needs;
use crate::rules::{GateId, PrBodyRules, Rule};
use crate::units::show_duration;
use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

// What "now" means for staleness (config `reference`, documented there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reference {
    Now,
    HeadCommit,
}

pub const DEFAULT_PHRASES: &[&str] = &[
    "<2h single session - heartbeat not required",
    "<2h single session",
    "Task completed in <2 hours",
    "< 2h - no heartbeat needed",
    "single session",
];
const STATUSES: &[&str] = &["doing", "done", "completed", "blocked"];

/// What a heartbeat says of its task. Only `doing` asks for more heartbeats; the others
/// (`done`, `completed`, `blocked`, and what is none of them, which is a finding) end a silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Doing,
    Other,
}

const RULES: PrBodyRules = PrBodyRules::HEARTBEAT;

/// The gate's settings, typed; `settings` resolves them from flags and config.
pub struct Options {
    pub section: String,
    pub threshold: Duration,
    pub reference: Reference,
    pub future_skew: Duration,
    pub phrases: Vec<String>,
    pub max_span: Duration,
    pub require_in_pr: bool,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            section: "Heartbeat".into(),
            threshold: Duration::from_secs(15 * 60),
            // A re-run of a green PR stays green: staleness is judged at the head commit.
            reference: Reference::HeadCommit,
            future_skew: Duration::from_secs(300),
            phrases: DEFAULT_PHRASES.iter().map(|s| s.to_string()).collect(),
            max_span: Duration::from_secs(2 * 3600),
            require_in_pr: true,
            limits: Limits {
                max_file: 64 << 20,
                max_line: 1 << 20,
            },
        }
    }
}

/// The gate, with its options.
pub struct Heartbeat(pub Options);

impl super::Gate for Heartbeat {
    fn id(&self) -> GateId {
        GateId::Heartbeat
    }

    fn needs(&self) -> Needs {
        Needs::BODY_FILES_AND_COMMITS
    }

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> super::Run<'a> {
        Box::pin(async move { run(ctx, &self.0) })
    }
}

/// One heartbeat of one task. Every line of every file becomes one, so it holds no heap data
/// of its own: the path is shared per file.
#[derive(Debug, Clone)]
struct Beat {
    path: Arc<str>,
    line: usize,
    time: DateTime<Utc>,
    status: Status,
}

fn run(ctx: &Context<'_>, opts: &Options) -> Result<GateOutput> {
    let mut out = GateOutput::default();
    let code = super::changed_code_files(ctx);
    let spec = SectionSpec {
        title: &opts.section,
        extensions: &[".ndjson", ".jsonl"],
        phrases: &opts.phrases,
        what: "heartbeat",
        example: "artifacts/engineer/2025-10-21/heartbeat.ndjson",
    };
    let mentions = match body::listing(ctx, &mut out, &spec, &RULES, code.as_deref()) {
        Listing::Done => return Ok(out),
        Listing::Exempt { line, phrase } => {
            check_exemption(ctx, opts, &mut out, line, &phrase);
            return Ok(out);
        }
        Listing::Files(m) => m,
    };
    let now = ctx.now;
    let skew = ChronoDuration::from_std(opts.future_skew).unwrap_or(ChronoDuration::MAX);
    let mut tasks: BTreeMap<String, Vec<Beat>> = BTreeMap::new();
    if opts.require_in_pr && ctx.pr.changed_files.is_none() {
        out.push(Finding::new(
            Rule::ChangedFilesUnknown,
            "the PR's changed files are unknown, so it could not be checked that the heartbeat log belongs to this PR (`require-in-pr`)",
        ));
    }
    for m in &mentions {
        let path = m.text.as_str();
        let shared: Arc<str> = Arc::from(path);
        let Some(file) = jsonl::open_listed(ctx, m, &RULES, &opts.limits, &mut out) else {
            continue;
        };
        if opts.require_in_pr && ctx.pr.is_changed(path) == Some(false) {
            out.push(Finding::new(
                RULES.not_in_pr,
                format!("`{}` (PR body line {}) is not added or changed by this PR, so it says nothing about this PR's work", crate::text::excerpt(path, 200), m.line),
            ));
        }
        jsonl::scan_source(
            file.file,
            file.len,
            path,
            &RULES,
            &opts.limits,
            &mut out,
            (
                |_, _, _| None,
                |n, raw, obj, findings| {
                    let beat = read_beat(&shared, n, raw, &obj, (now, skew), findings)?;
                    let task = match obj.get("task") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => "(no task)".into(),
                        Some(other) => other.to_string(),
                    };
                    Some((task, beat))
                },
            ),
            |_, (task, beat)| tasks.entry(task).or_default().push(beat),
        );
    }
    let (reference, ref_name) = reference_time(ctx, opts, &mut out);
    let threshold = ChronoDuration::from_std(opts.threshold).unwrap_or(ChronoDuration::MAX);
    // Findings of one rule past the cap are counted, then reported as one: a log of 500,000
    // `doing` lines with gaps must not become 500,000 findings (and as much memory).
    let mut capped = CapPerRule::new(MAX_FINDINGS_PER_FILE);
    for (task, beats) in &mut tasks {
        // Order is a property of each appended file; across files, time decides.
        for pair in beats.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.path == b.path && b.time < a.time {
                capped.push(
                    &mut out,
                    Finding::new(Rule::HbOutOfOrder, format!("task `{}`: this entry ({}) is older than the one before it on line {} ({})", show(task), fmt(b.time), a.line, fmt(a.time)))
                        .at(Location::line(&*b.path, b.line)),
                );
            }
        }
        beats.sort_by_key(|b| b.time);
        for pair in beats.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.status == Status::Doing && b.time - a.time > threshold {
                capped.push(
                    &mut out,
                    Finding::new(
                        Rule::HbGap,
                        format!(
                            "task `{}` went silent for {} while `doing` (line {} at {} → line {} at {}), longer than the {} heartbeat interval",
                            show(task),
                            show_duration((b.time - a.time).to_std().unwrap_or_default()),
                            a.line,
                            fmt(a.time),
                            b.line,
                            fmt(b.time),
                            show_duration(opts.threshold)
                        ),
                    )
                    .at(Location::line(&*b.path, b.line)),
                );
            }
        }
        let Some(last) = beats.iter().max_by_key(|b| b.time) else {
            continue;
        };
        if last.status == Status::Doing && reference - last.time > threshold {
            capped.push(
                &mut out,
                Finding::new(
                    Rule::HbStaleTask,
                    format!(
                        "task `{}` is still `doing` but its last heartbeat ({}) is {} older than {ref_name} ({}); threshold {}",
                        show(task),
                        fmt(last.time),
                        show_duration((reference - last.time).to_std().unwrap_or_default()),
                        fmt(reference),
                        show_duration(opts.threshold)
                    ),
                )
                .at(Location::line(&*last.path, last.line)),
            );
        }
    }
    capped.finish(&mut out);
    out.notes.push(format!(
        "{} heartbeat file(s), {} task(s); staleness measured against {ref_name}",
        mentions.len(),
        tasks.len()
    ));
    Ok(out)
}

/// The line check of the gate on `bytes` as one listed file, with the clock at `now` and the
/// default skew (for the fuzz targets).
#[doc(hidden)]
pub fn check_file_bytes(bytes: &[u8], now: DateTime<Utc>) -> Vec<Finding> {
    let path: Arc<str> = Arc::from("heartbeat.ndjson");
    let limits = Limits {
        max_file: 64 << 20,
        max_line: 1 << 20,
    };
    let skew = ChronoDuration::minutes(5);
    let mut out = GateOutput::default();
    jsonl::scan_source(
        bytes,
        bytes.len() as u64,
        &path,
        &RULES,
        &limits,
        &mut out,
        (
            |_, _, _| None,
            |n, raw, obj, findings| read_beat(&path, n, raw, &obj, (now, skew), findings).map(drop),
        ),
        |_, ()| {},
    );
    out.findings
}

/// One heartbeat line → a `Beat`, or `None` when it has no usable time. `clock` is the check's
/// clock and the allowed future skew.
fn read_beat(
    shared: &Arc<str>,
    n: usize,
    raw: &str,
    obj: &serde_json::Map<String, Value>,
    clock: (DateTime<Utc>, ChronoDuration),
    out: &mut Vec<Finding>,
) -> Option<Beat> {
    let (now, skew) = clock;
    let path: &str = shared;
    let (key, ts) = match (obj.get("timestamp"), obj.get("ts")) {
        (Some(v), _) => ("timestamp", v),
        (None, Some(v)) => ("ts", v),
        (None, None) => {
            out.push(
                Finding::new(
                    RULES.missing_field,
                    "missing required field `timestamp` (or `ts`)",
                )
                .at(Location::line(path, n)),
            );
            return None;
        }
    };
    let col = jsonl::key_column(raw, key);
    let time = match ts.as_str().map(crate::timestamp::parse) {
        Some(Ok(t)) => t,
        Some(Err(msg)) => {
            out.push(
                Finding::new(RULES.invalid_timestamp, msg).at(Location::span(path, n, col, col)),
            );
            return None;
        }
        None => {
            out.push(
                Finding::new(
                    RULES.invalid_timestamp,
                    format!("`{key}` is {}, not a string", ts),
                )
                .at(Location::span(path, n, col, col)),
            );
            return None;
        }
    };
    if time > now + skew {
        let ahead = show_duration((time - now).to_std().unwrap_or_default());
        let skew = show_duration(skew.to_std().unwrap_or_default());
        out.push(
            Finding::new(
                RULES.future_timestamp,
                format!(
                    "timestamp {} is {ahead} ahead of the check's clock ({}; allowed skew {skew})",
                    fmt(time),
                    fmt(now)
                ),
            )
            .at(Location::span(path, n, col, col)),
        );
        return None; // a beat from the future proves nothing about liveness
    }
    // From here on the line has a real time: even with a bad status it shows the task was alive.
    let status = match obj.get("status") {
        Some(Value::String(s)) => {
            let s = s.trim().to_lowercase();
            if !STATUSES.contains(&s.as_str()) {
                let col = jsonl::key_column(raw, "status");
                out.push(
                    Finding::new(
                        Rule::HbUnknownStatus,
                        format!(
                            "status `{}` is not one of {}",
                            crate::text::excerpt(&s, 40),
                            STATUSES.join(", ")
                        ),
                    )
                    .at(Location::span(path, n, col, col)),
                );
            }
            if s == "doing" {
                Status::Doing
            } else {
                Status::Other
            }
        }
        Some(other) => {
            let col = jsonl::key_column(raw, "status");
            out.push(
                Finding::new(
                    Rule::HbUnknownStatus,
                    format!(
                        "`status` is {}, not a string",
                        crate::text::excerpt(&other.to_string(), 40)
                    ),
                )
                .at(Location::span(path, n, col, col)),
            );
            Status::Other
        }
        None => {
            out.push(
                Finding::new(RULES.missing_field, "missing required field `status`")
                    .at(Location::line(path, n)),
            );
            Status::Other
        }
    };
    Some(Beat {
        path: shared.clone(),
        line: n,
        time,
        status,
    })
}

fn check_exemption(
    ctx: &Context<'_>,
    opts: &Options,
    out: &mut GateOutput,
    line: usize,
    phrase: &str,
) {
    let Some(times) = &ctx.pr.commit_times else {
        let why = ctx
            .pr
            .commits_error
            .as_ref()
            .map_or(String::new(), |e| format!(" ({e})"));
        out.push(Finding::new(
            Rule::HbExemptionUnverified,
            format!("the PR body claims \"{phrase}\" (line {line}); the PR's commits are unknown{why}, so the claim could not be checked"),
        ));
        return;
    };
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        let span = (*last - *first).to_std().unwrap_or_default();
        if span > opts.max_span {
            out.push(Finding::new(
                RULES.false_exemption,
                format!(
                    "the PR body claims \"{phrase}\" (line {line}), but the PR's {} commits span {} ({} → {}), more than {}",
                    times.len(),
                    show_duration(span),
                    fmt(*first),
                    fmt(*last),
                    show_duration(opts.max_span)
                ),
            ));
        }
    }
}

fn reference_time(
    ctx: &Context<'_>,
    opts: &Options,
    out: &mut GateOutput,
) -> (DateTime<Utc>, &'static str) {
    match (opts.reference, ctx.pr.head_commit_time) {
        (Reference::Now, _) => (ctx.now, "the check's clock"),
        (Reference::HeadCommit, Some(t)) => (t, "the PR head commit"),
        (Reference::HeadCommit, None) => {
            out.notes.push("reference `head-commit` requested but the head commit's time is unknown; the clock was used".into());
            (ctx.now, "the check's clock")
        }
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn show(task: &str) -> String {
    crate::text::excerpt(task, 80)
}
