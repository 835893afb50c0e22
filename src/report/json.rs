//! The JSON report (`--format json`, `--report FILE`), version 1. Its schema is
//! `schemas/report.schema.json`; a test validates real output against it.

use super::Report;
use serde_json::{json, Value};

pub fn value(report: &Report) -> Value {
    json!({
        "version": 1,
        "verdict": report.verdict,
        "gates": report.gates.iter().map(|g| json!({
            "gate": g.gate,
            "verdict": g.verdict,
            "findings": g.findings.iter().map(|f| {
                let loc = f.location.as_ref();
                json!({
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "help": f.help,
                    "docs": f.rule.docs_url(),
                    "path": loc.map(|l| &l.path),
                    "line": loc.and_then(|l| l.line),
                    "column": loc.and_then(|l| l.column),
                    "end_line": loc.and_then(|l| l.end_line),
                    "end_column": loc.and_then(|l| l.end_column),
                })
            }).collect::<Vec<_>>(),
            "suppressed": g.suppressed.iter().map(|s| json!({
                "rule": s.finding.rule,
                "path": s.finding.path(),
                "line": s.finding.line(),
                "reason": s.reason,
            })).collect::<Vec<_>>(),
            "notes": g.notes,
            "outputs": g.outputs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&value(report)).expect("report serializes") + "\n"
}
