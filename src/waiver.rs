//! Waivers need someone other than the author. A `merge-gates-allow` comment is how a team
//! waives a finding; one that the pull request adds for itself on an error is the author (often
//! an agent) approving its own work. Such a suppression counts only once someone allowed to
//! approve has approved the PR after its last commit (`github::approvals` finds out); until
//! then the finding stays an error that says who can approve. What needs no approval: a
//! suppression already on the base branch (it was approved when it merged) over a line the PR
//! does not add, a rule the config lists as `self-waivable`, and a finding below error.
//!
//! A local run has no reviewers: suppressions count, and the report says they were not
//! checked for approval.

use crate::diff_filter::DiffIndex;
use crate::finding::{Finding, Suppressed};
use crate::rules::Rule;

/// The label that approves a PR's waivers, when an approver adds it after the last commit.
pub const LABEL: &str = "merge-gates:approved";

/// What the run knows of the PR's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvals {
    /// A local run: nobody to ask.
    Local,
    /// Approved by this user (an approving review of the head commit, or the label added
    /// after the last commit).
    By(String),
    /// Not approved; `who` may approve.
    Pending { who: String },
    /// The approvals could not be read: treated as not approved (fail closed).
    Unknown { who: String, why: String },
}

/// What decides whether a suppression needs an approval.
pub struct Rules<'a> {
    /// The PR's diff: a line it adds is the PR's; `None` (unknown) means every line is.
    pub diff: Option<&'a DiffIndex>,
    pub self_waivable: &'a [Rule],
    /// Whether a rule reports errors (after the config's severities).
    pub is_error: &'a dyn Fn(Rule) -> bool,
}

impl Rules<'_> {
    /// `s` silences an error, its rule is not self-waivable, and the PR adds the comment or
    /// the line it covers.
    pub fn needs_approval(&self, s: &Suppressed) -> bool {
        let rule = s.finding.rule;
        if !(self.is_error)(rule) || self.self_waivable.contains(&rule) {
            return false;
        }
        let Some(diff) = self.diff else {
            return true;
        };
        let (path, line) = (&s.comment.0, s.comment.1);
        let finding_lines = s.finding.location.as_ref().and_then(|l| {
            let start = l.line?;
            Some((
                l.path.as_str(),
                start..=l.end_line.unwrap_or(start).max(start),
            ))
        });
        diff.adds_line(path, line)
            || finding_lines
                .is_some_and(|(p, lines)| lines.into_iter().any(|n| diff.adds_line(p, n)))
    }
}

/// Keep the suppressions that hold; the ones waiting for an approval become findings again.
pub fn review(
    suppressed: Vec<Suppressed>,
    rules: &Rules<'_>,
    approvals: &Approvals,
) -> (Vec<Suppressed>, Vec<Finding>) {
    let mut kept = Vec::new();
    let mut raised = Vec::new();
    for mut s in suppressed {
        if !rules.needs_approval(&s) {
            if (rules.is_error)(s.finding.rule) {
                s.approval = Some(if rules.self_waivable.contains(&s.finding.rule) {
                    "self-waivable".into()
                } else {
                    "on the base branch".into()
                });
            }
            kept.push(s);
            continue;
        }
        let (who, why) = match approvals {
            Approvals::Local => {
                s.approval = Some("not checked for approval (a local run has no reviewers)".into());
                kept.push(s);
                continue;
            }
            Approvals::By(user) => {
                s.approval = Some(format!("approved by @{user}"));
                kept.push(s);
                continue;
            }
            Approvals::Pending { who } => (who, None),
            Approvals::Unknown { who, why } => (who, Some(why)),
        };
        let mut f = s.finding;
        f.message = format!(
            "{} — suppressed by `merge-gates-allow` at {}:{} (\"{}\"), which this PR adds: waiting for approval by {who}{}",
            f.message,
            s.comment.0,
            s.comment.1,
            crate::text::excerpt(&s.reason, 200),
            why.map_or(String::new(), |w| format!(
                " (the approvals could not be read: {})",
                crate::text::excerpt(w, 300)
            ))
        );
        f.help = format!(
            "Fix the finding, or ask {who} to approve: an approving review of the PR's last commit, or the `{LABEL}` label added after it. A waiver the author gives themself does not count."
        );
        raised.push(f);
    }
    (kept, raised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::pr::{ChangedFile, FileStatus};

    fn suppressed(rule: Rule, comment_line: u32) -> Suppressed {
        Suppressed {
            finding: Finding::new(rule, "x").at(Location::line("m.sql", comment_line as usize + 1)),
            reason: "ok".into(),
            comment: ("m.sql".into(), comment_line),
            approval: None,
        }
    }

    fn diff(patch: &str) -> DiffIndex {
        DiffIndex::new(&[ChangedFile {
            path: "m.sql".into(),
            status: FileStatus::Modified,
            previous_path: None,
            patch: Some(patch.into()),
        }])
    }

    #[test]
    fn only_errors_the_pr_adds_need_approval() {
        let errors = |r: Rule| r == Rule::MigDropTable;
        // Lines 1–2 are context, line 3 is added.
        let d = diff("@@ -1,2 +1,3 @@\n a\n b\n+c\n");
        let rules = Rules {
            diff: Some(&d),
            self_waivable: &[],
            is_error: &errors,
        };
        assert!(!rules.needs_approval(&suppressed(Rule::MigDropTable, 1)));
        // The comment is on the base, but the line it covers is the PR's.
        assert!(rules.needs_approval(&suppressed(Rule::MigDropTable, 2)));
        assert!(rules.needs_approval(&suppressed(Rule::MigDropTable, 3)));
        assert!(!rules.needs_approval(&suppressed(Rule::MigRenameColumn, 3)));
        let rules = Rules {
            self_waivable: &[Rule::MigDropTable],
            ..rules
        };
        assert!(!rules.needs_approval(&suppressed(Rule::MigDropTable, 3)));
        let unknown = Rules {
            diff: None,
            self_waivable: &[],
            is_error: &errors,
        };
        assert!(unknown.needs_approval(&suppressed(Rule::MigDropTable, 1)));
    }
}
