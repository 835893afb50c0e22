//! Reporters: one module per output over the same `Report`. They know findings, severities and
//! rule metadata from the table, never what a rule checks. Reporting never changes the verdict.

pub mod check_run;
pub mod comment;
pub mod github;
pub mod json;
pub mod sarif;
pub mod summary;
pub mod text;

use crate::finding::{FailOn, Finding, Severity};
use crate::rules::GateId;
use crate::suppress::Suppressed;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Clone)]
pub struct GateReport {
    pub gate: GateId,
    pub verdict: Verdict,
    /// Sorted: most severe first, then by place.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub notes: Vec<String>,
    pub outputs: Vec<(String, String)>,
    pub tables: Vec<crate::finding::Table>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub verdict: Verdict,
    pub gates: Vec<GateReport>,
}

pub fn verdict(findings: &[Finding], fail_on: FailOn) -> Verdict {
    let failing = |s: Severity| match fail_on {
        FailOn::Error => s >= Severity::Error,
        FailOn::Warning => s >= Severity::Warning,
        FailOn::Never => false,
    };
    if findings.iter().any(|f| failing(f.severity)) {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

impl Report {
    pub fn new(gates: Vec<GateReport>) -> Report {
        let verdict = if gates.iter().any(|g| g.verdict == Verdict::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        Report { verdict, gates }
    }

    pub fn findings(&self) -> impl Iterator<Item = (GateId, &Finding)> {
        self.gates
            .iter()
            .flat_map(|g| g.findings.iter().map(move |f| (g.gate, f)))
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings()
            .filter(|(_, f)| f.severity == severity)
            .count()
    }
}

/// `path` for a URI: every byte but ASCII letters, digits, `-._~` and those in `keep`
/// percent-encoded.
pub fn percent_encode(path: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}
