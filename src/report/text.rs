//! Human-readable output for terminals and logs: `path:line:col: severity[rule] message`,
//! with the fix hint beneath. Colours only when stdout is a terminal and NO_COLOR is unset.

use super::{Report, Verdict};
use crate::finding::Severity;

pub fn render(report: &Report, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for g in &report.gates {
        for f in &g.findings {
            let place = match &f.location {
                Some(l) => {
                    let mut p = crate::text::excerpt(&l.path, 300);
                    if let Some(line) = l.line {
                        p.push_str(&format!(":{line}"));
                        if let Some(col) = l.column {
                            p.push_str(&format!(":{col}"));
                        }
                    }
                    p + ": "
                }
                None => String::new(),
            };
            let sev = match f.severity {
                Severity::Error => paint("1;31", "error"),
                Severity::Warning => paint("1;33", "warning"),
                Severity::Notice => paint("1;36", "notice"),
            };
            out.push_str(&format!(
                "{}{sev}[{}] {}\n",
                paint("1", &place),
                f.rule,
                single_line(&f.message)
            ));
            out.push_str(&format!(
                "  {} {}\n",
                paint("2", "help:"),
                single_line(&f.help)
            ));
        }
        for s in &g.suppressed {
            out.push_str(&format!(
                "{}: suppressed [{}]: {}{}\n",
                single_line(s.finding.path().unwrap_or("-")),
                s.finding.rule,
                single_line(&s.reason),
                s.approval
                    .as_deref()
                    .map_or(String::new(), |a| format!(" ({})", single_line(a)))
            ));
        }
        for n in &g.notes {
            out.push_str(&format!("{}: {}\n", g.gate, single_line(n)));
        }
        let verdict = match g.verdict {
            Verdict::Pass => paint("1;32", "pass"),
            Verdict::Fail => paint("1;31", "FAIL"),
        };
        out.push_str(&format!(
            "{}: {verdict} ({})\n",
            g.gate,
            totals(g.findings.iter())
        ));
    }
    if report.gates.len() > 1 {
        let verdict = match report.verdict {
            Verdict::Pass => paint("1;32", "pass"),
            Verdict::Fail => paint("1;31", "FAIL"),
        };
        out.push_str(&format!(
            "merge-gates: {verdict} ({} in {})\n",
            totals(report.gates.iter().flat_map(|g| &g.findings)),
            crate::text::plural(report.gates.len(), "gate", "gates")
        ));
    }
    out
}

/// `1 error, 0 warnings, 2 notices`.
fn totals<'a>(findings: impl Iterator<Item = &'a crate::finding::Finding>) -> String {
    let (mut e, mut w, mut n) = (0, 0, 0);
    for f in findings {
        match f.severity {
            Severity::Error => e += 1,
            Severity::Warning => w += 1,
            Severity::Notice => n += 1,
        }
    }
    use crate::text::plural;
    format!(
        "{}, {}, {}",
        plural(e, "error", "errors"),
        plural(w, "warning", "warnings"),
        plural(n, "notice", "notices")
    )
}

/// Untrusted text on one line: control characters (CR, LF, ESC) made visible.
pub fn single_line(s: &str) -> String {
    crate::text::excerpt(s, 2000)
}
