//! `Finding`: the one value every gate produces and every reporter consumes.
//!
//! A finding names the rule that produced it (and through it the gate), a severity, a message
//! written for the PR author, a fix hint, and where in the repository it applies. Nothing in
//! here knows how findings are printed; nothing in the reporters knows what a rule checks.

use crate::rules::Rule;
pub use crate::rules::Severity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// The lowest severity that fails a gate (`fail-on`); no doc comment: it would change the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

/// A place in a repository file. Lines and columns are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Repository-relative path with `/` separators.
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub end_line: Option<u32>,
    pub end_column: Option<u32>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            line: None,
            column: None,
            end_line: None,
            end_column: None,
        }
    }

    pub fn line(path: impl Into<String>, line: usize) -> Self {
        let line = clamp(line);
        Location {
            line: Some(line),
            ..Location::file(path)
        }
    }

    /// A span on one line: `column` .. `end_column` (both 1-based, end inclusive).
    pub fn span(path: impl Into<String>, line: usize, column: usize, end_column: usize) -> Self {
        let line = clamp(line);
        Location {
            path: path.into(),
            line: Some(line),
            column: Some(clamp(column)),
            end_line: Some(line),
            end_column: Some(clamp(end_column.max(column))),
        }
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// One problem found by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
    /// How to fix it; defaults to the rule's own hint.
    pub help: String,
    pub location: Option<Location>,
    /// What the finding is about, stable when lines move and messages change (the statement,
    /// the import): SARIF fingerprints are made of it, never of the message.
    #[serde(skip)]
    pub key: Option<String>,
}

impl Finding {
    /// A finding with the rule's default severity and fix hint.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.default_severity(),
            message: message.into(),
            help: rule.help().to_string(),
            location: None,
            key: None,
        }
    }

    /// What the finding is about (see `key`): whitespace runs become one space, and only the
    /// first 1,000 characters count.
    pub fn keyed(mut self, key: &str) -> Self {
        let mut k = String::with_capacity(key.len().min(1000));
        for word in key.split_whitespace() {
            if !k.is_empty() {
                k.push(' ');
            }
            k.push_str(word);
            if k.len() >= 1000 {
                k.truncate(crate::text::floor_boundary(&k, 1000));
                break;
            }
        }
        self.key = Some(k);
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Replace the rule's generic fix hint with one specific to this finding.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn path(&self) -> Option<&str> {
        self.location.as_ref().map(|l| l.path.as_str())
    }

    pub fn line(&self) -> Option<u32> {
        self.location.as_ref().and_then(|l| l.line)
    }

    /// Order used by every reporter: most severe first, then by place, then by rule.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.location.clone(),
            self.rule.id(),
        )
    }
}

/// A `merge-gates-allow` comment a gate read (`suppress` finds and applies them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub path: String,
    /// 1-based line of the comment; it covers this line and the next.
    pub line: u32,
    pub column: u32,
    /// Rule ids or gate names as written.
    pub targets: Vec<String>,
    pub reason: Option<String>,
}

/// A finding that a suppression silenced, kept for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    /// Where the suppression comment is (path, 1-based line).
    pub comment: (String, u32),
    /// Who or what let the suppression count, when that was checked: "approved by @x",
    /// "on the base branch", "self-waivable", "not checked for approval (local run)".
    pub approval: Option<String>,
}

/// What one gate produced.
#[derive(Debug, Clone, Default)]
pub struct GateOutput {
    pub findings: Vec<Finding>,
    /// Suppression comments the gate read in the files it scanned; applied centrally.
    pub suppressions: Vec<Suppression>,
    /// Short facts for the summary ("3 evidence files, 1,204 lines checked").
    pub notes: Vec<String>,
    /// Gate-specific values exposed as step outputs (e.g. `healthy=true`).
    pub outputs: Vec<(String, String)>,
    /// Tables for the job summary and the JSON report (e.g. every attempt of a probe).
    pub tables: Vec<Table>,
}

/// A table of facts a gate measured, for the summary. Cells may hold untrusted text (a status
/// line, a body excerpt): reporters escape them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl GateOutput {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Keep the first `max` findings of each rule, and for a rule with more, one finding that
    /// says how many were left out: a 1 MiB PR body lists 60,000 paths, and 60,000 findings
    /// of one kind help no one (their report took over 200 MB).
    pub fn cap_per_rule(&mut self, max: usize) {
        let mut cap = CapPerRule::new(max);
        let findings = std::mem::take(&mut self.findings);
        for f in findings {
            cap.push(self, f);
        }
        cap.finish(self);
    }
}

/// Most findings a gate lists for one file (or one rule); the rest are counted in one finding.
pub const MAX_FINDINGS_PER_FILE: usize = 1000;

/// Keep at most `max` findings, count the rest: a file of 500,000 bad lines must not become
/// 500,000 findings (nor as much memory). What the count is reported as is the caller's.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    max: usize,
    kept: usize,
    dropped: u64,
}

impl Cap {
    pub fn new(max: usize) -> Cap {
        Cap {
            max,
            kept: 0,
            dropped: 0,
        }
    }

    /// Whether one more finding may be kept; if not, it is counted.
    pub fn admit(&mut self) -> bool {
        if self.kept < self.max {
            self.kept += 1;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// How many were not admitted.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// A `Cap` per rule, as findings stream in; `finish` adds one finding per rule that says how
/// many of its findings were left out.
#[derive(Debug)]
pub struct CapPerRule {
    max: usize,
    caps: std::collections::BTreeMap<Rule, Cap>,
}

impl CapPerRule {
    pub fn new(max: usize) -> CapPerRule {
        CapPerRule {
            max,
            caps: std::collections::BTreeMap::new(),
        }
    }

    pub fn push(&mut self, out: &mut GateOutput, finding: Finding) {
        let max = self.max;
        if self
            .caps
            .entry(finding.rule)
            .or_insert_with(|| Cap::new(max))
            .admit()
        {
            out.push(finding);
        }
    }

    pub fn finish(self, out: &mut GateOutput) {
        for (rule, cap) in self.caps {
            if cap.dropped() > 0 {
                out.push(Finding::new(
                    rule,
                    format!(
                        "{} more `{rule}` findings are not listed (at most {})",
                        crate::text::thousands(cap.dropped()),
                        cap.max()
                    ),
                ));
            }
        }
    }
}
