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
        let count = |s| g.findings.iter().filter(|f| f.severity == s).count();
        out.push_str(&format!(
            "{}: {verdict} ({} errors, {} warnings, {} notices)\n",
            g.gate,
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Notice)
        ));
    }
    out
}

/// Untrusted text on one line: control characters (CR, LF, ESC) made visible.
pub fn single_line(s: &str) -> String {
    crate::text::excerpt(s, 2000)
}
