//! The JSON report (`--format json`, `--report FILE`), version 1. Its schema is
//! `schemas/report.schema.json`; a test validates real output against it.
//!
//! The report is serialized straight from borrowed views of the findings, never through a
//! `serde_json::Value` tree: a run with tens of thousands of findings (a hostile PR body can
//! list 60,000 files) would otherwise hold the whole report three times over.

use super::{Report, Verdict};
use crate::finding::{Severity, Table};
use crate::rules::{GateId, Rule};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    verdict: Verdict,
    gates: Vec<JsonGate<'a>>,
}

#[derive(Serialize)]
struct JsonGate<'a> {
    gate: GateId,
    verdict: Verdict,
    findings: Vec<JsonFinding<'a>>,
    suppressed: Vec<JsonSuppressed<'a>>,
    notes: &'a [String],
    outputs: BTreeMap<&'a str, &'a str>,
    tables: &'a [Table],
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: Rule,
    severity: Severity,
    message: &'a str,
    help: &'a str,
    docs: String,
    path: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
}

#[derive(Serialize)]
struct JsonSuppressed<'a> {
    rule: Rule,
    path: Option<&'a str>,
    line: Option<u32>,
    reason: &'a str,
    /// Who or what let it count, when that was checked.
    approval: Option<&'a str>,
}

fn view(report: &Report) -> JsonReport<'_> {
    JsonReport {
        version: 1,
        verdict: report.verdict,
        gates: report
            .gates
            .iter()
            .map(|g| JsonGate {
                gate: g.gate,
                verdict: g.verdict,
                findings: g
                    .findings
                    .iter()
                    .map(|f| {
                        let loc = f.location.as_ref();
                        JsonFinding {
                            rule: f.rule,
                            severity: f.severity,
                            message: &f.message,
                            help: &f.help,
                            docs: f.rule.docs_url(),
                            path: loc.map(|l| l.path.as_str()),
                            line: loc.and_then(|l| l.line),
                            column: loc.and_then(|l| l.column),
                            end_line: loc.and_then(|l| l.end_line),
                            end_column: loc.and_then(|l| l.end_column),
                        }
                    })
                    .collect(),
                suppressed: g
                    .suppressed
                    .iter()
                    .map(|s| JsonSuppressed {
                        rule: s.finding.rule,
                        path: s.finding.path(),
                        line: s.finding.line(),
                        reason: &s.reason,
                        approval: s.approval.as_deref(),
                    })
                    .collect(),
                notes: &g.notes,
                outputs: g
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
                tables: &g.tables,
            })
            .collect(),
    }
}

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&view(report)).expect("report serializes") + "\n"
}
