//! `verify-mcp-evidence`: the PR body lists the MCP evidence files (JSON Lines, one tool call
//! per line) of the work; each must exist inside the evidence root, be part of this PR, and
//! hold valid, schema-conforming, plausibly-timed entries. An exemption ("non-code change") is
//! believed only when the diff agrees.
//!
//! Every problem is reported — every line of every file — not just the first.

mod quick;

use super::body::{self, Listing, SectionSpec};
use super::jsonl::{self, Limits};
use super::Context;
use crate::finding::{Finding, GateOutput, Location};
use crate::pr::Needs;
use crate::rules::{GateId, PrBodyRules, Rule};
use anyhow::{Context as _, Result};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use regex::Regex;
use serde_json::Value;
use std::time::Duration;

pub const DEFAULT_EVIDENCE_PATH: &str = "artifacts/<agent>/<date>/mcp/*.jsonl";
pub const DEFAULT_PHRASES: &[&str] = &[
    "No MCP usage - non-code change",
    "No MCP usage",
    "non-code change",
    "docs-only",
    "config-only",
];
const BUILTIN_SCHEMA: &str = include_str!("../../../schemas/evidence-line.schema.json");

pub fn builtin_schema() -> &'static str {
    BUILTIN_SCHEMA
}

const RULES: PrBodyRules = PrBodyRules::MCP_EVIDENCE;

/// The gate's settings, typed; `settings` resolves them from flags and config.
pub struct Options {
    pub section: String,
    pub root: PathPattern,
    pub validator: jsonschema::Validator,
    /// The `doc_ref` property of the built-in schema, for the quick check of lines; `None` when
    /// the repository's own schema replaces the built-in one.
    pub quick: Option<jsonschema::Validator>,
    pub limits: Limits,
    pub future_skew: Duration,
    pub require_in_pr: bool,
    pub phrases: Vec<String>,
    /// The fewest entries the listed files must hold together.
    pub min_entries: usize,
    /// The tools an entry may name; empty: any.
    pub tools: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        let (validator, quick) = compile_schema(BUILTIN_SCHEMA, None).expect("built-in schema");
        Options {
            section: "MCP Evidence".into(),
            root: PathPattern::new(DEFAULT_EVIDENCE_PATH).expect("default evidence path"),
            validator,
            quick,
            limits: Limits {
                max_file: 64 << 20,
                max_line: 1 << 20,
            },
            future_skew: Duration::from_secs(300),
            require_in_pr: true,
            phrases: DEFAULT_PHRASES.iter().map(|s| s.to_string()).collect(),
            min_entries: 1,
            tools: Vec::new(),
        }
    }
}

/// The validator of each evidence line, from a JSON Schema's text: the built-in schema when
/// `source` is `None`, else the repository's (named by `source` in errors). With the built-in
/// schema also the validator of its `doc_ref` property alone, for the quick check.
pub fn compile_schema(
    text: &str,
    source: Option<&str>,
) -> Result<(jsonschema::Validator, Option<jsonschema::Validator>)> {
    let shown = source.map_or("(built-in)".to_string(), |rel| format!("`{rel}`"));
    let schema: Value = serde_json::from_str(text)
        .with_context(|| format!("evidence schema {shown} is not valid JSON"))?;
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| anyhow::anyhow!("evidence schema {shown} is not a valid JSON Schema: {e}"))?;
    // The quick check stands for the built-in schema only; its `doc_ref` format check is the
    // schema's own property, validated by the same library.
    let quick = match source {
        Some(_) => None,
        None => Some(
            jsonschema::options()
                .should_validate_formats(true)
                .build(&serde_json::json!({
                    "$schema": schema["$schema"],
                    "allOf": [schema["properties"]["doc_ref"]],
                }))
                .map_err(|e| anyhow::anyhow!("built-in evidence schema: {e}"))?,
        ),
    };
    Ok((validator, quick))
}

/// The gate, with its options.
pub struct McpEvidence(pub Options);

impl super::Gate for McpEvidence {
    fn id(&self) -> GateId {
        GateId::McpEvidence
    }

    fn needs(&self) -> Needs {
        Needs::BODY_AND_FILES
    }

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> super::Run<'a> {
        Box::pin(async move { run(ctx, &self.0) })
    }
}

fn run(ctx: &Context<'_>, opts: &Options) -> Result<GateOutput> {
    let mut out = GateOutput::default();
    let code = super::changed_code_files(ctx);
    let spec = SectionSpec {
        title: &opts.section,
        extensions: &[".jsonl"],
        phrases: &opts.phrases,
        what: "MCP evidence",
        example: "artifacts/engineer/2025-10-21/mcp/react-router.jsonl",
    };
    let mentions = match body::listing(ctx, &mut out, &spec, &RULES, code.as_deref()) {
        Listing::Done => return Ok(out),
        Listing::Exempt { line, phrase } => {
            check_exemption(&mut out, line, &phrase, code.as_deref());
            return Ok(out);
        }
        Listing::Files(m) => m,
    };
    if opts.require_in_pr && ctx.pr.changed_files.is_none() {
        out.push(Finding::new(
            Rule::ChangedFilesUnknown,
            "the PR's changed files are unknown, so it could not be checked that the evidence belongs to this PR (`require-in-pr`)",
        ));
    }
    let now = ctx.now;
    let mut lines_checked = 0;
    // Files that could not be read are findings already; counting their entries says nothing.
    let mut files_read = 0;
    for m in &mentions {
        let path = m.text.as_str();
        let shown = crate::text::excerpt(path, 200);
        // Shape first: a path that escapes is reported as such, whatever the pattern says.
        if ctx
            .workspace
            .resolve(path)
            .is_err_and(|e| !matches!(e, crate::workspace::PathError::NotFound))
        {
            let _ = jsonl::open_listed(ctx, m, &RULES, &opts.limits, &mut out);
            continue;
        }
        let path_date = match opts.root.check(path) {
            PathCheck::Outside => {
                out.push(Finding::new(
                    Rule::McpPathOutsideRoot,
                    format!(
                        "`{shown}` (PR body line {}) is not under the evidence root `{}`",
                        m.line, opts.root.source
                    ),
                ));
                continue;
            }
            PathCheck::BadDate(d) => {
                out.push(Finding::new(
                    Rule::McpInvalidPathDate,
                    format!("`{shown}` (PR body line {}): date segment `{}` is not a real YYYY-MM-DD date", m.line, crate::text::excerpt(&d, 40)),
                ));
                continue;
            }
            PathCheck::Ok(date) => date,
        };
        let Some(file) = jsonl::open_listed(ctx, m, &RULES, &opts.limits, &mut out) else {
            continue;
        };
        if opts.require_in_pr && ctx.pr.is_changed(path) == Some(false) {
            out.push(Finding::new(
                RULES.not_in_pr,
                format!("`{shown}` (PR body line {}) is not added or changed by this PR; evidence must come from this PR's work", m.line),
            ));
        }
        let mut dates = DateCheck {
            path_date,
            first_mismatch: None,
            mismatches: 0,
        };
        let path_date = dates.path_date;
        files_read += 1;
        lines_checked += jsonl::scan_source(
            file.file,
            file.len,
            path,
            &RULES,
            &opts.limits,
            &mut out,
            (
                |n, raw, findings| quick_line(opts, now, (path, n, raw), path_date, findings),
                |n, raw, obj, findings| {
                    check_line(opts, now, (path, n, raw), obj, path_date, findings)
                },
            ),
            |n, ()| {
                dates.mismatches += 1;
                dates.first_mismatch.get_or_insert(n);
            },
        );
        if let (Some(date), Some(line)) = (dates.path_date, dates.first_mismatch) {
            out.push(
                Finding::new(
                    Rule::McpPathDateMismatch,
                    format!("{} entr{} of `{shown}` {} not dated {date} like the file's folder (first at line {line})", dates.mismatches, if dates.mismatches == 1 { "y" } else { "ies" }, if dates.mismatches == 1 { "is" } else { "are" }),
                )
                .at(Location::line(path, line)),
            );
        }
    }
    if files_read == mentions.len() && lines_checked < opts.min_entries {
        out.push(Finding::new(
            Rule::McpTooFewEntries,
            format!(
                "the listed evidence holds {lines_checked} entr{} in all; this repository asks for at least {} per PR (`min-entries`)",
                if lines_checked == 1 { "y" } else { "ies" },
                opts.min_entries
            ),
        ));
    }
    out.notes.push(format!(
        "{} evidence file(s), {} entries checked",
        mentions.len(),
        crate::text::thousands(lines_checked as u64)
    ));
    out.cap_per_rule(crate::finding::MAX_FINDINGS_PER_FILE);
    Ok(out)
}

fn check_exemption(out: &mut GateOutput, line: usize, phrase: &str, code: Option<&[String]>) {
    match code {
        Some(files) if !files.is_empty() => out.push(
            Finding::new(
                RULES.false_exemption,
                format!("the PR body claims \"{phrase}\" (line {line}), but the PR changes code: {}", super::list_some(files, 10)),
            ),
        ),
        Some(_) => {}
        None => out.push(Finding::new(
            Rule::ChangedFilesUnknown,
            format!("the PR body claims \"{phrase}\" (line {line}); the changed files are unknown, so the claim could not be checked"),
        )),
    }
}

struct DateCheck {
    path_date: Option<NaiveDate>,
    first_mismatch: Option<usize>,
    mismatches: usize,
}

/// Check one evidence line. Returns `Some(())` when its date differs from the path's date.
fn check_line(
    opts: &Options,
    now: DateTime<Utc>,
    at: (&str, usize, &str),
    obj: serde_json::Map<String, Value>,
    path_date: Option<NaiveDate>,
    out: &mut Vec<Finding>,
) -> Option<()> {
    let (path, n, raw) = at;
    // Columns are looked up only for findings: valid lines cost no search.
    let at_key = |key: &str| {
        let col = if key.is_empty() {
            1
        } else {
            jsonl::key_column(raw, key)
        };
        Location::span(path, n, col, col)
    };
    let value = Value::Object(obj);
    if !opts.validator.is_valid(&value) {
        for err in opts.validator.iter_errors(&value) {
            let finding = match err.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or("?");
                    Finding::new(
                        RULES.missing_field,
                        format!("missing required field `{name}`"),
                    )
                    .at(at_key(""))
                }
                _ => {
                    let pointer = err.instance_path().to_string();
                    let key = pointer
                        .trim_start_matches('/')
                        .split('/')
                        .next()
                        .unwrap_or("");
                    let place = if pointer.is_empty() {
                        "the line".to_string()
                    } else {
                        format!("`{pointer}`")
                    };
                    Finding::new(
                        Rule::McpSchemaViolation,
                        format!("{place}: {}", crate::text::excerpt(&err.to_string(), 200)),
                    )
                    .at(at_key(key))
                }
            };
            out.push(finding);
        }
    }
    let Value::Object(obj) = value else {
        return None;
    };
    if !opts.tools.is_empty() {
        if let Some(Value::String(tool)) = obj.get("tool") {
            if !opts.tools.iter().any(|t| t == tool) {
                out.push(
                    Finding::new(
                        Rule::McpToolNotAllowed,
                        format!(
                            "tool `{}` is not one of the tools this repository allows ({})",
                            crate::text::excerpt(tool, 80),
                            opts.tools.join(", ")
                        ),
                    )
                    .at(at_key("tool")),
                );
            }
        }
    }
    let Some(Value::String(ts)) = obj.get("timestamp") else {
        return None;
    };
    if ts.is_empty() {
        return None; // already a schema finding
    }
    check_timestamp(opts, now, (path, n, raw.as_bytes()), ts, path_date, out)
}

/// The quick check of a line in the built-in shape (see `quick`): `None` when the full check
/// must decide; else the timestamp's verdict, as `check_line` would give it.
fn quick_line(
    opts: &Options,
    now: DateTime<Utc>,
    at: (&str, usize, &[u8]),
    path_date: Option<NaiveDate>,
    out: &mut Vec<Finding>,
) -> Option<Option<()>> {
    let ts = quick::valid_timestamp(at.2, opts.quick.as_ref()?)?;
    Some(check_timestamp(opts, now, at, &ts, path_date, out))
}

/// The timestamp of one evidence line: RFC 3339, not in the future. Returns `Some(())` when
/// its date differs from the path's date.
fn check_timestamp(
    opts: &Options,
    now: DateTime<Utc>,
    at: (&str, usize, &[u8]),
    ts: &str,
    path_date: Option<NaiveDate>,
    out: &mut Vec<Finding>,
) -> Option<()> {
    let (path, n, raw) = at;
    let at_key = |key: &str| {
        let col = jsonl::key_column(&String::from_utf8_lossy(raw), key);
        Location::span(path, n, col, col)
    };
    let t = match crate::timestamp::parse_with_offset(ts) {
        Ok(t) => t,
        Err(msg) => {
            out.push(Finding::new(RULES.invalid_timestamp, msg).at(at_key("timestamp")));
            return None;
        }
    };
    let utc = t.with_timezone(&Utc);
    let skew = ChronoDuration::from_std(opts.future_skew).unwrap_or(ChronoDuration::MAX);
    if utc > now + skew {
        out.push(
            Finding::new(
                RULES.future_timestamp,
                format!(
                    "timestamp {ts} is {} ahead of the check's clock ({})",
                    crate::units::show_duration((utc - now).to_std().unwrap_or_default()),
                    now.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            )
            .at(at_key("timestamp")),
        );
    }
    // The folder's date may be the writer's local date or the UTC date: either matches.
    let d = path_date?;
    (utc.date_naive() != d && t.date_naive() != d).then_some(())
}

/// The evidence-line check of the gate on `bytes` as one listed file, with the default options,
/// the clock at `now` and the path's date `path_date` (for the fuzz targets). `quick: false`
/// turns the quick check of built-in-shape lines off, so that the fuzzer can compare the two.
#[doc(hidden)]
pub fn check_file_bytes(
    bytes: &[u8],
    now: DateTime<Utc>,
    path_date: Option<NaiveDate>,
    quick: bool,
) -> Vec<Finding> {
    static OPTS: std::sync::OnceLock<Options> = std::sync::OnceLock::new();
    let opts = OPTS.get_or_init(Options::default);
    let path = "evidence.jsonl";
    let mut out = GateOutput::default();
    jsonl::scan_source(
        bytes,
        bytes.len() as u64,
        path,
        &RULES,
        &opts.limits,
        &mut out,
        (
            |n, raw, findings| {
                // Off, it must not even run: it would add the timestamp's findings.
                quick
                    .then(|| quick_line(opts, now, (path, n, raw), path_date, findings))
                    .flatten()
            },
            |n, raw, obj, findings| check_line(opts, now, (path, n, raw), obj, path_date, findings),
        ),
        |_, ()| {},
    );
    out.findings
}

/// The evidence root: a path pattern with `<agent>`, `<date>`, `*` and `**`.
pub struct PathPattern {
    source: String,
    regex: Regex,
}

enum PathCheck {
    Ok(Option<NaiveDate>),
    Outside,
    BadDate(String),
}

impl PathPattern {
    pub fn new(source: &str) -> Result<PathPattern> {
        let mut re = String::from("^");
        let mut rest = source;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("<agent>") {
                re.push_str("(?P<agent>[^/]+)");
                rest = r;
            } else if let Some(r) = rest.strip_prefix("<date>") {
                re.push_str("(?P<date>[^/]+)");
                rest = r;
            } else if let Some(r) = rest.strip_prefix("**") {
                re.push_str(".*");
                rest = r;
            } else if let Some(r) = rest.strip_prefix('*') {
                re.push_str("[^/]*");
                rest = r;
            } else {
                let c = rest.chars().next().unwrap_or_default();
                re.push_str(&regex::escape(&c.to_string()));
                rest = &rest[c.len_utf8()..];
            }
        }
        re.push('$');
        let regex = Regex::new(&re)
            .with_context(|| format!("config verify-mcp-evidence.evidence-path `{source}`"))?;
        Ok(PathPattern {
            source: source.to_string(),
            regex,
        })
    }

    fn check(&self, path: &str) -> PathCheck {
        let Some(caps) = self.regex.captures(path) else {
            return PathCheck::Outside;
        };
        match caps.name("date") {
            None => PathCheck::Ok(None),
            Some(d) => {
                let s = d.as_str();
                match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Ok(date) if s.len() == 10 => PathCheck::Ok(Some(date)),
                    _ => PathCheck::BadDate(s.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_root_pattern() {
        let p = PathPattern::new(DEFAULT_EVIDENCE_PATH).unwrap();
        assert!(matches!(
            p.check("artifacts/eng/2025-10-21/mcp/x.jsonl"),
            PathCheck::Ok(Some(_))
        ));
        assert!(matches!(
            p.check("artifacts/eng/2025-13-45/mcp/x.jsonl"),
            PathCheck::BadDate(_)
        ));
        assert!(matches!(
            p.check("artifacts/eng/2025-1-4/mcp/x.jsonl"),
            PathCheck::BadDate(_)
        ));
        assert!(matches!(p.check("evidence/x.jsonl"), PathCheck::Outside));
        assert!(matches!(
            p.check("artifacts/eng/2025-10-21/mcp/sub/x.jsonl"),
            PathCheck::Outside
        ));
    }
}
