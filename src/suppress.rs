//! Inline suppressions: `merge-gates-allow <rule-or-gate>[, …]: <reason>` in a comment.
//!
//! Gates that read source files collect the suppression comments they see (`scan`); the core
//! applies them to the gate's findings (`apply`) so that no gate implements suppression logic
//! of its own. A suppression covers findings on its own line and on the next line. One without
//! a reason does not suppress anything and is a finding itself; so is one naming an unknown
//! rule, and one that suppressed nothing (as ruff's RUF100 does).

use crate::finding::{Finding, Location};
pub use crate::finding::{Suppressed, Suppression};
use crate::rules::{GateId, Rule};

pub const MARKER: &str = "merge-gates-allow";

/// Find suppression comments in `text`. `comment_markers` are the line-comment openers of the
/// file's language (`//`, `#`, `--`); the marker must follow one of them on the same line.
pub fn scan(path: &str, text: &str, comment_markers: &[&str]) -> Vec<Suppression> {
    let mut out = Vec::new();
    if !text.contains(MARKER) {
        return out;
    }
    for (idx, line) in text.lines().enumerate() {
        let Some(pos) = line.find(MARKER) else {
            continue;
        };
        let before = line[..pos].trim_end();
        if !comment_markers
            .iter()
            .any(|m| before.ends_with(m) || before.ends_with(&format!("{m}*")))
            && !before.ends_with("/*")
        {
            continue;
        }
        let rest = &line[pos + MARKER.len()..];
        let (written, reason) = match rest.split_once(':') {
            Some((t, r)) => (t, Some(r)),
            None => (rest, None),
        };
        let mut reason = reason
            .map(|r| r.trim().trim_end_matches("*/").trim().to_string())
            .filter(|r| !r.is_empty());
        // `rule-a, rule-b: reason`. Words after a target without a colon (`rule because …`)
        // are a reason written without its colon: the target counts, the reason does not.
        let mut targets: Vec<String> = Vec::new();
        for t in written.split(',') {
            let mut words = t.split_whitespace();
            if let Some(first) = words.next() {
                targets.push(first.to_string());
            }
            if words.next().is_some() {
                reason = None;
            }
        }
        out.push(Suppression {
            path: path.to_string(),
            line: u32::try_from(idx + 1).unwrap_or(u32::MAX),
            column: u32::try_from(line[..pos].chars().count() + 1).unwrap_or(u32::MAX),
            targets,
            reason,
        });
    }
    out
}

fn target_matches(target: &str, rule: Rule) -> bool {
    target == rule.id()
        || rule
            .gate()
            .is_some_and(|g| GateId::from_name(target) == Some(g))
}

fn target_known(target: &str) -> bool {
    Rule::from_id(target).is_some() || GateId::from_name(target).is_some()
}

/// Apply `suppressions` to `findings`: returns the findings that remain (including findings
/// about the suppressions themselves) and the ones that were silenced.
pub fn apply(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
) -> (Vec<Finding>, Vec<Suppressed>) {
    let mut used = vec![false; suppressions.len()];
    let mut kept = Vec::with_capacity(findings.len());
    let mut silenced = Vec::new();
    for finding in findings {
        let hit = suppressions.iter().enumerate().find(|(_, s)| {
            s.reason.is_some()
                && finding.path() == Some(s.path.as_str())
                && finding
                    .line()
                    .is_some_and(|l| l == s.line || l == s.line.saturating_add(1))
                && s.targets.iter().any(|t| target_matches(t, finding.rule))
        });
        match hit {
            Some((i, s)) => {
                used[i] = true;
                silenced.push(Suppressed {
                    finding,
                    reason: s.reason.clone().unwrap_or_default(),
                    comment: (s.path.clone(), s.line),
                    approval: None,
                });
            }
            None => kept.push(finding),
        }
    }
    for (s, used) in suppressions.iter().zip(used) {
        let at = Location::span(
            &s.path,
            s.line as usize,
            s.column as usize,
            s.column as usize + MARKER.len() - 1,
        );
        if s.targets.is_empty() {
            kept.push(
                Finding::new(Rule::UnknownRuleInSuppression, "suppression names no rule")
                    .at(at.clone()),
            );
        }
        for t in s.targets.iter().filter(|t| !target_known(t)) {
            kept.push(
                Finding::new(
                    Rule::UnknownRuleInSuppression,
                    format!("suppression names unknown rule `{t}`"),
                )
                .at(at.clone()),
            );
        }
        if s.reason.is_none() {
            kept.push(
                Finding::new(
                    Rule::SuppressionWithoutReason,
                    format!(
                        "suppression of `{}` gives no reason after a colon, so it is not applied",
                        s.targets.join(", ")
                    ),
                )
                .at(at),
            );
        } else if !used && !s.targets.is_empty() && s.targets.iter().all(|t| target_known(t)) {
            kept.push(
                Finding::new(
                    Rule::UnusedSuppression,
                    format!(
                        "suppression of `{}` matches no finding on this line or the next",
                        s.targets.join(", ")
                    ),
                )
                .at(at),
            );
        }
    }
    (kept, silenced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    fn finding(rule: Rule, line: usize) -> Finding {
        Finding::new(rule, "x").at(Location::line("a.ts", line))
    }

    #[test]
    fn covers_its_line_and_the_next_and_reports_misuse() {
        let text = "// merge-gates-allow heartbeat/gap: migrating\nx\n// merge-gates-allow verify-heartbeat because\n# merge-gates-allow nope/rule: r\n// merge-gates-allow heartbeat/stale-task: never used\n";
        let sups = scan("a.ts", text, &["//", "#"]);
        assert_eq!(sups.len(), 4);
        assert_eq!(sups[1].targets, ["verify-heartbeat"]);
        assert!(
            sups[1].reason.is_none(),
            "a reason without its colon does not count"
        );
        let (kept, silenced) = apply(
            vec![finding(Rule::HbGap, 2), finding(Rule::HbGap, 4)],
            &sups,
        );
        assert_eq!(silenced.len(), 1);
        assert_eq!(silenced[0].reason, "migrating");
        let rules: Vec<&str> = kept.iter().map(|f| f.rule.id()).collect();
        assert_eq!(
            rules,
            [
                "heartbeat/gap",
                "core/suppression-without-reason",
                "core/unknown-rule-in-suppression",
                "core/unused-suppression"
            ]
        );
    }

    #[test]
    fn the_marker_outside_a_comment_is_not_a_suppression() {
        assert!(scan("a.ts", "const s = \"merge-gates-allow x: y\";\n", &["//"]).is_empty());
        let bare = scan("a.ts", "// merge-gates-allow: reason\n", &["//"]);
        let (kept, _) = apply(vec![], &bare);
        assert_eq!(
            kept.iter().map(|f| f.rule.id()).collect::<Vec<_>>(),
            ["core/unknown-rule-in-suppression"]
        );
    }
}
