//! SARIF 2.1.0 for GitHub code scanning (`upload-sarif`): repository-relative, percent-encoded
//! URIs; the rules of the gates that ran, each with its docs once; `partialFingerprints` that
//! survive line moves and message changes (rule, path, the finding's key — the statement or the
//! import — and its rank among twins; never the line or the message); suppressed findings
//! marked `inSource` with their reason; at most 25,000 results, with a notification when more
//! were found. Findings without a file (a PR-body problem) are left to the annotations.

use super::Report;
use crate::finding::{Finding, Severity};
use crate::rules::{GateId, Rule};
use serde_json::{json, Value};
use std::collections::HashMap;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

/// FNV-1a, 64-bit: stable across Rust versions, unlike `DefaultHasher`.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Code scanning keeps at most 25,000 results of a run.
pub const MAX_RESULTS: usize = 25_000;

pub fn render(report: &Report) -> String {
    render_capped(report, MAX_RESULTS)
}

pub fn render_capped(report: &Report, max: usize) -> String {
    // Suppressed findings go out too, marked, so that code scanning shows them as dismissed in
    // source instead of as fixed. Findings without a file (the PR body) have no place in code
    // scanning: the annotations and the summary carry them.
    let suppressed = report.gates.iter().flat_map(|g| {
        g.suppressed
            .iter()
            .map(|s| (&s.finding, Some(s.reason.as_str())))
    });
    let all: Vec<(&Finding, Option<&str>)> = report
        .findings()
        .map(|(_, f)| (f, None))
        .chain(suppressed)
        .filter(|(f, _)| f.location.is_some())
        .collect();
    let ran: Vec<GateId> = report.gates.iter().map(|g| g.gate).collect();
    let rules: Vec<Rule> = Rule::ALL
        .iter()
        .copied()
        .filter(|r| match r.gate() {
            Some(g) => ran.contains(&g),
            None => all.iter().any(|(f, _)| f.rule == *r),
        })
        .collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.name(),
                "shortDescription": { "text": r.summary() },
                "help": { "text": r.help(), "markdown": r.docs() },
                "helpUri": r.docs_url(),
                "defaultConfiguration": { "level": level(r.default_severity()) },
                "properties": { "tags": [r.gate().map_or("core", |g| g.cli_name())] },
            })
        })
        .collect();
    // The n-th finding of one rule on one key in one file: a fingerprint that holds when lines
    // move and messages change (`--filter added` rewrites them), and tells twins apart.
    let mut seen: HashMap<(Rule, &str, &str), usize> = HashMap::new();
    let mut results: Vec<Value> = Vec::with_capacity(all.len().min(max));
    for (f, reason) in all.iter().take(max) {
        let Some(l) = &f.location else { continue };
        let key = f.key.as_deref().unwrap_or_default();
        let nth = seen.entry((f.rule, l.path.as_str(), key)).or_insert(0);
        *nth += 1;
        let uri = uri_path(&l.path);
        let mut region = serde_json::Map::new();
        for (k, v) in [
            ("startLine", l.line),
            ("startColumn", l.column),
            ("endLine", l.end_line),
            ("endColumn", l.end_column),
        ] {
            if let Some(v) = v {
                region.insert(k.into(), json!(v));
            }
        }
        let mut physical = json!({ "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" } });
        if !region.is_empty() {
            physical["region"] = Value::Object(region);
        }
        let mut result = json!({
            "ruleId": f.rule.id(),
            "ruleIndex": rules.iter().position(|r| *r == f.rule).unwrap_or(0),
            "level": level(f.severity),
            "message": { "text": format!("{}\nHow to fix: {}", f.message, f.help) },
            "locations": [{ "physicalLocation": physical }],
            "partialFingerprints": {
                "mergeGates/v2": fingerprint(&[f.rule.id(), &l.path, key, &nth.to_string()]),
            },
        });
        if let Some(reason) = reason {
            result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
        }
        results.push(result);
    }
    let mut run = json!({
        "tool": { "driver": {
            "name": "merge-gates",
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": "https://github.com/merge-gates/merge-gates",
            "rules": rules_json,
        }},
        "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The repository root." } } },
        "results": results,
    });
    if all.len() > max {
        run["invocations"] = json!([{
            "executionSuccessful": true,
            "toolExecutionNotifications": [{
                "level": "warning",
                "message": { "text": format!(
                    "{} of {} results were left out: code scanning keeps {} per run. The JSON report has every finding.",
                    all.len() - max, all.len(), max
                ) },
            }],
        }]);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    serde_json::to_string_pretty(&doc).expect("sarif serializes") + "\n"
}

/// A repository path as a relative URI reference (RFC 3986): unreserved characters, sub-delims,
/// `@` and `/` stay, every other byte is percent-encoded (`:` too: `c:x` would read as a
/// scheme). A file named `a%0Ab.jsonl` or `a#b.jsonl` must not be read back as another file.
fn uri_path(path: &str) -> String {
    super::percent_encode(path, b"!$&'()*+,;=@/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::report::GateReport;

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(vec![GateReport {
            gate: GateId::McpEvidence,
            verdict: crate::report::Verdict::Fail,
            findings,
            suppressed: Vec::new(),
            notes: Vec::new(),
            outputs: Vec::new(),
            tables: Vec::new(),
        }])
    }

    #[test]
    fn results_past_the_cap_are_left_out_with_a_notification() {
        let findings = (1..=7)
            .map(|i| {
                Finding::new(Rule::McpInvalidJson, "x")
                    .at(Location::file("a.jsonl"))
                    .keyed(&i.to_string())
            })
            .collect();
        let v: Value = serde_json::from_str(&render_capped(&report(findings), 5)).unwrap();
        assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 5);
        let note = &v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
        assert!(
            note["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("2 of 7 results"),
            "{note}"
        );
    }

    #[test]
    fn findings_without_a_file_stay_out_of_code_scanning() {
        let findings = vec![
            Finding::new(Rule::McpSectionMissing, "no section"),
            Finding::new(Rule::McpInvalidJson, "x").at(Location::file("a.jsonl")),
        ];
        let v: Value = serde_json::from_str(&render(&report(findings))).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["ruleId"], "mcp-evidence/invalid-json");
        assert!(v["runs"][0].get("invocations").is_none());
    }
}
