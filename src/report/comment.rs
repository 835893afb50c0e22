//! The sticky pull-request comment: what a PR author reads first. Errors then warnings per gate,
//! each with a link to its line at the PR's head commit, what is wrong and how to fix it, and how
//! to ask for the approval of a waiver; or, once every gate passes, a line saying so (the comment
//! is edited, never deleted, so its history stays readable). A hidden marker names the comment
//! so the next run finds it and edits it in place (`github::comment`).
//!
//! Untrusted text (paths, messages quoting PR content) is made inert as in the job summary;
//! paths in links are percent-encoded. The whole stays under GitHub's 65,536-character limit
//! for a comment, with a line saying how many findings are left to the job summary.

use super::summary::{cell, code};
use super::{Report, Verdict};
use crate::finding::{Finding, Severity};
use crate::text::plural;

/// GitHub refuses comments over 65,536 characters; this budget is in bytes, so it is never
/// over in characters.
pub const MAX_COMMENT: usize = 65_000;

/// Where the comment's links point: `{server}/{repository}/blob/{head}/{path}#L{line}`.
pub struct Links<'a> {
    pub server: &'a str,
    pub repository: &'a str,
    pub head: &'a str,
}

/// The hidden first line that marks the comment of the check `name` (two invocations with
/// different check names keep a comment each).
pub fn marker(name: &str) -> String {
    let mut name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '/'))
        .take(100)
        .collect();
    // `--` could end the HTML comment early.
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    format!("<!-- merge-gates:comment {name} -->")
}

/// The comment's text. `approval` says who may approve a waiver the PR adds.
pub fn render(report: &Report, name: &str, links: &Links<'_>, approval: &str) -> String {
    render_within(report, name, links, approval, MAX_COMMENT)
}

pub fn render_within(
    report: &Report,
    name: &str,
    links: &Links<'_>,
    approval: &str,
    max: usize,
) -> String {
    let mut out = format!("{}\n", marker(name));
    let short = links.head.get(..7).unwrap_or(links.head);
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    if errors + warnings == 0 {
        out.push_str(&format!(
            "## ✅ {}: every gate passes\n\nChecked at {}. Earlier findings on this PR are fixed; this comment's edit history keeps them.\n",
            code(name),
            code(short)
        ));
        return out;
    }
    let icon = if report.verdict == Verdict::Pass {
        "⚠️"
    } else {
        "❌"
    };
    let failing = report
        .gates
        .iter()
        .filter(|g| g.findings.iter().any(|f| f.severity >= Severity::Warning))
        .count();
    out.push_str(&format!(
        "## {icon} {}: {} in {}\n\nChecked at {}. Each finding links to its line; fix it and push, and this comment is updated.\n",
        code(name),
        match (errors, warnings) {
            (0, w) => plural(w, "warning", "warnings"),
            (e, 0) => plural(e, "error", "errors"),
            (e, w) => format!(
                "{}, {}",
                plural(e, "error", "errors"),
                plural(w, "warning", "warnings")
            ),
        },
        plural(failing, "gate", "gates"),
        code(short)
    ));
    let footer = format!(
        "\n---\nA finding that is acceptable can be waived on its line with `merge-gates-allow <rule>: <reason>`; a waiver this PR adds of an error counts once {} approves the PR's head commit (an approving review, or the `merge-gates:approved` label added after the last push).\n",
        cell(approval)
    );
    let mut body = String::new();
    let mut left = 0usize;
    for g in &report.gates {
        let mut section = String::new();
        for (severity, title) in [(Severity::Error, "Errors"), (Severity::Warning, "Warnings")] {
            let these: Vec<&Finding> = g
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .collect();
            if these.is_empty() {
                continue;
            }
            section.push_str(&format!("\n**{title}**\n\n"));
            for f in these {
                let item = item(f, links);
                // What does not fit is counted, not cut in the middle of a line.
                let room = max.saturating_sub(out.len() + footer.len() + 200);
                if left > 0 || body.len() + section.len() + item.len() > room {
                    left += 1;
                } else {
                    section.push_str(&item);
                }
            }
        }
        if !section.is_empty() {
            body.push_str(&format!("\n### `{}`\n{section}", g.gate));
        }
    }
    out.push_str(&body);
    if left > 0 {
        out.push_str(&format!(
            "\n_{} more in the job summary._\n",
            plural(left, "finding", "findings")
        ));
    }
    out.push_str(&footer);
    out
}

/// One finding: where (a link to the line at the head commit), the rule (a link to its docs),
/// the message and how to fix it.
fn item(f: &Finding, links: &Links<'_>) -> String {
    let place = match &f.location {
        Some(l) => {
            let line = l.line.map(|n| format!(":{n}")).unwrap_or_default();
            let anchor = l.line.map(|n| format!("#L{n}")).unwrap_or_default();
            format!(
                "[{}]({}/{}/blob/{}/{}{anchor}) ",
                code(&format!("{}{line}", l.path)),
                links.server.trim_end_matches('/'),
                links.repository,
                links.head,
                super::percent_encode(&l.path, b"/")
            )
        }
        None => "PR body · ".to_string(),
    };
    format!(
        "- {place}[`{}`]({}): {}<br>How to fix: {}\n",
        f.rule,
        f.rule.docs_url(),
        cell(&f.message),
        cell(&f.help)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::report::GateReport;
    use crate::rules::{GateId, Rule};

    fn report(findings: Vec<Finding>) -> Report {
        let verdict = crate::report::verdict(&findings, crate::finding::FailOn::Error);
        Report::new(vec![GateReport {
            gate: GateId::MigrationSafety,
            verdict,
            findings,
            suppressed: Vec::new(),
            notes: Vec::new(),
            outputs: Vec::new(),
            tables: Vec::new(),
        }])
    }

    const LINKS: Links<'static> = Links {
        server: "https://github.com",
        repository: "o/r",
        head: "0123456789abcdef",
    };

    #[test]
    fn a_path_in_a_link_cannot_end_the_link_or_start_markup() {
        let f = Finding::new(Rule::MigDropTable, "drops `t`").at(Location::span(
            "db/a) [x](http://evil.sql",
            3,
            1,
            1,
        ));
        let text = render(&report(vec![f]), "merge-gates", &LINKS, "someone");
        assert!(
            text.contains("/blob/0123456789abcdef/db/a%29%20%5Bx%5D%28http%3A//evil.sql#L3"),
            "{text}"
        );
        assert!(!text.contains("](http://evil"), "{text}");
    }

    #[test]
    fn findings_past_the_limit_are_counted_not_cut() {
        let many: Vec<Finding> = (1..=2000)
            .map(|i| {
                Finding::new(Rule::MigDropTable, "x".repeat(100))
                    .at(Location::span("db/m.sql", i, 1, 1))
            })
            .collect();
        let text = render(&report(many), "merge-gates", &LINKS, "someone");
        assert!(text.len() <= MAX_COMMENT, "{}", text.len());
        assert!(text.contains("more in the job summary"));
        assert!(text.ends_with(".\n"));
    }

    #[test]
    fn the_marker_keeps_only_plain_characters_of_the_name() {
        assert_eq!(
            marker("merge-gates --> <script>"),
            "<!-- merge-gates:comment merge-gates - script -->"
        );
    }
}
