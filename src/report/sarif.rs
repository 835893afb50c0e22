//! SARIF 2.1.0 for GitHub code scanning (`upload-sarif`): repository-relative, percent-encoded
//! URIs, every rule
//! with its docs as help, and `partialFingerprints` that survive line moves (rule, path and
//! message, not line number). Findings without a file (a PR-body problem) are anchored to the
//! repository root so code scanning accepts them.

use super::Report;
use crate::finding::Severity;
use crate::rules::Rule;
use serde_json::{json, Value};

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

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.name(),
                "shortDescription": { "text": r.summary() },
                "fullDescription": { "text": r.summary() },
                "help": { "text": r.docs(), "markdown": r.docs() },
                "helpUri": r.docs_url(),
                "defaultConfiguration": { "level": level(r.default_severity()) },
                "properties": { "tags": [r.gate().map_or("core", |g| g.cli_name())] },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings()
        .map(|(_, f)| {
            let index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
            let (uri, region) = match &f.location {
                Some(l) => {
                    let mut region = serde_json::Map::new();
                    for (k, v) in [("startLine", l.line), ("startColumn", l.column), ("endLine", l.end_line), ("endColumn", l.end_column)] {
                        if let Some(v) = v {
                            region.insert(k.into(), json!(v));
                        }
                    }
                    (uri_path(&l.path), (!region.is_empty()).then_some(Value::Object(region)))
                }
                None => (".".to_string(), None),
            };
            let mut physical = json!({ "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" } });
            if let Some(region) = region {
                physical["region"] = region;
            }
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": format!("{}\nHow to fix: {}", f.message, f.help) },
                "locations": [{ "physicalLocation": physical }],
                "partialFingerprints": { "mergeGates/v1": fingerprint(&[f.rule.id(), &uri, &f.message]) },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "merge-gates",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/merge-gates/merge-gates",
                "rules": rules,
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The repository root." } } },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).expect("sarif serializes") + "\n"
}

/// A repository path as a relative URI reference (RFC 3986): unreserved characters, sub-delims,
/// `@` and `/` stay, every other byte is percent-encoded (`:` too: `c:x` would read as a
/// scheme). A file named `a%0Ab.jsonl` or `a#b.jsonl` must not be read back as another file.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
