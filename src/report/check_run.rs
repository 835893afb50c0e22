//! The check-run reporter's payloads: a report turned into what the Checks API takes — the
//! conclusion, a title, a summary under the API's 65,535-character limit, and one annotation per
//! finding that has a file, in batches of 50 (the most one request may carry).
//!
//! Pure data: `src/github/check_run.rs` sends it. Like every reporter it sees findings,
//! severities and the rule table's metadata, never what a rule checks.

use super::{Report, Verdict};
use crate::finding::{Finding, Severity};
use serde_json::{json, Value};

/// The Checks API accepts at most 50 annotations per create or update request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// Limit of `output.summary`, `output.text` and of an annotation's `message`.
pub const MAX_TEXT: usize = 65_535;

#[derive(Debug, Clone)]
pub struct CheckOutput {
    pub verdict: Verdict,
    pub title: String,
    pub summary: String,
    /// One per finding with a file, most severe first.
    pub annotations: Vec<Value>,
}

impl CheckOutput {
    /// The annotations cut into request-sized batches.
    pub fn batches(&self) -> impl Iterator<Item = &[Value]> {
        self.annotations.chunks(ANNOTATIONS_PER_REQUEST)
    }

    /// `output` of a create or update request carrying `annotations`.
    pub fn output(&self, annotations: &[Value]) -> Value {
        json!({
            "title": self.title,
            "summary": self.summary,
            "annotations": annotations,
        })
    }

    /// The `output` of each update request, in order: one per batch of annotations, and one
    /// when there are none.
    pub fn outputs(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self.batches().map(|b| self.output(b)).collect();
        if out.is_empty() {
            out.push(self.output(&[]));
        }
        out
    }
}

pub fn render(report: &Report) -> CheckOutput {
    let (e, w, n) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Notice),
    );
    let title = format!(
        "{}: {e} error(s), {w} warning(s), {n} notice(s)",
        report.verdict.as_str()
    );
    CheckOutput {
        verdict: report.verdict,
        title,
        summary: super::summary::render_within(
            report,
            MAX_TEXT,
            "the Checks API's 65,535-character limit",
        ),
        annotations: report
            .findings()
            .filter_map(|(_, f)| annotation(f))
            .collect(),
    }
}

/// A finding as a check-run annotation; `None` when it has no file (the summary lists it).
fn annotation(f: &Finding) -> Option<Value> {
    let l = f.location.as_ref()?;
    let start = l.line.unwrap_or(1);
    let end = l.end_line.unwrap_or(start).max(start);
    let level = match f.severity {
        Severity::Error => "failure",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    let message = format!("{}\n\nHow to fix: {}", f.message, f.help);
    let mut a = json!({
        "path": l.path,
        "start_line": start,
        "end_line": end,
        "annotation_level": level,
        "title": format!("merge-gates {}", f.rule),
        "message": cap(&message, MAX_TEXT),
        "raw_details": format!("Docs: {}", f.rule.docs_url()),
    });
    // Columns are only allowed on single-line annotations.
    if let (Some(c), true) = (l.column, start == end) {
        a["start_column"] = json!(c);
        a["end_column"] = json!(l.end_column.unwrap_or(c).max(c));
    }
    Some(a)
}

/// At most `max` bytes, cut on a character boundary.
fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    format!(
        "{}...",
        &s[..crate::text::floor_boundary(s, max.saturating_sub(3))]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::report::GateReport;
    use crate::rules::{GateId, Rule};

    fn report(n: usize, message: &str) -> Report {
        let findings = (0..n)
            .map(|i| {
                Finding::new(Rule::McpInvalidJson, message).at(Location::span(
                    "artifacts/a.jsonl",
                    i + 1,
                    1,
                    4,
                ))
            })
            .collect();
        Report::new(vec![GateReport {
            gate: GateId::McpEvidence,
            verdict: Verdict::Fail,
            findings,
            suppressed: vec![],
            notes: vec![],
            outputs: vec![],
            tables: vec![],
        }])
    }

    #[test]
    fn batches_of_fifty_and_columns_on_single_lines() {
        let out = render(&report(120, "bad"));
        let sizes: Vec<usize> = out.batches().map(<[Value]>::len).collect();
        assert_eq!(sizes, [50, 50, 20]);
        assert_eq!(out.verdict, Verdict::Fail);
        assert_eq!(out.outputs().len(), 3);
        assert_eq!(out.annotations[0]["start_column"], 1);
        assert_eq!(out.annotations[0]["annotation_level"], "failure");
    }

    #[test]
    fn texts_stay_under_the_api_limits() {
        let out = render(&report(400, &"é".repeat(40_000)));
        assert!(out.summary.len() <= MAX_TEXT, "{}", out.summary.len());
        assert!(out.summary.contains("Truncated"));
        let msg = out.annotations[0]["message"].as_str().unwrap();
        assert!(msg.len() <= MAX_TEXT);
    }
}
