//! The diff filter (reviewdog's `-filter-mode`): which findings keep their severity, judged by
//! the PR's diff. `added` keeps findings on lines the PR adds or changes, `diff_context` those
//! within the diff's hunks (context lines too), `file` those in files the PR changes, and
//! `nofilter` every finding. A finding outside the filter is not dropped: it becomes a notice,
//! so a team can turn a gate on for an old codebase and still see what is there.
//!
//! The diff is the `patch` GitHub's PR files API returns per file (locally, the same text from
//! `git diff -U3 BASE...HEAD`). A changed file without a patch (binary, too large, or a plain
//! list of changed files) counts as changed on every line, and so does a renamed file: its
//! patch compares it with the old path, which may have been exempt (`app/mcp.test.ts` moved
//! to `app/mcp.ts`). Findings without a file are never filtered, and nothing is filtered when
//! the changed files are unknown.

use crate::finding::{Finding, Severity};
use crate::pr::ChangedFile;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// Diff filter modes (reviewdog's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DiffFilter {
    /// Findings on lines the PR adds or changes.
    Added,
    /// Findings within the diff's hunks, context lines included.
    #[value(name = "diff_context", alias = "diff-context")]
    #[serde(alias = "diff-context")]
    DiffContext,
    /// Findings in files the PR changes.
    File,
    /// Every finding (default).
    Nofilter,
}

/// The new-file side of one file's patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// Lines the patch adds (1-based, in the new file), ascending.
    pub added: Vec<u32>,
    /// The new-file line ranges the hunks cover, context included.
    pub hunks: Vec<RangeInclusive<u32>>,
}

/// Parse a unified diff of one file (no `diff --git`/`---`/`+++` header needed; any header
/// lines before the first hunk are skipped). Malformed hunk headers end the parse: what was
/// read so far is kept.
pub fn parse_patch(patch: &str) -> Patch {
    let mut out = Patch::default();
    let mut line = 0u32; // next new-file line number
    let mut in_hunk = false;
    let mut old_left = 0u32;
    let mut new_left = 0u32;
    for l in patch.lines() {
        if let Some(rest) = l.strip_prefix("@@ ") {
            let Some((old, new)) = hunk_header(rest) else {
                break;
            };
            line = new.0;
            new_left = new.1;
            old_left = old.1;
            in_hunk = true;
            if new.1 > 0 {
                out.hunks.push(new.0..=new.0 + new.1 - 1);
            }
            continue;
        }
        if !in_hunk {
            continue;
        }
        match l.as_bytes().first() {
            Some(b'+') if new_left > 0 => {
                out.added.push(line);
                line += 1;
                new_left -= 1;
            }
            Some(b'-') if old_left > 0 => old_left -= 1,
            Some(b' ') | None if new_left > 0 => {
                line += 1;
                new_left -= 1;
                old_left = old_left.saturating_sub(1);
            }
            Some(b'\\') => {} // "\ No newline at end of file"
            _ => in_hunk = new_left > 0 || old_left > 0,
        }
    }
    out
}

/// `-a,b +c,d @@ …` → ((a, b), (c, d)); a missing count means 1.
fn hunk_header(rest: &str) -> Option<((u32, u32), (u32, u32))> {
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(' ')?;
    let range = |s: &str, sign: char| -> Option<(u32, u32)> {
        let s = s.strip_prefix(sign)?;
        match s.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    Some((range(old, '-')?, range(new.trim(), '+')?))
}

/// The PR's diff, by path.
pub struct DiffIndex {
    /// `None` patch: changed, but no line information.
    files: HashMap<String, Option<Patch>>,
}

impl DiffIndex {
    pub fn new(files: &[ChangedFile]) -> DiffIndex {
        DiffIndex {
            files: files
                .iter()
                .filter(|f| f.status.exists())
                .map(|f| {
                    // A renamed file's patch compares it with the file at its old path, where
                    // it may have been exempt (a test moved into production code): at its new
                    // path every line is the PR's, so it counts as changed on every line.
                    let renamed = f.previous_path.as_deref().is_some_and(|p| p != f.path);
                    let patch = f.patch.as_deref().filter(|_| !renamed).map(parse_patch);
                    (f.path.clone(), patch)
                })
                .collect(),
        }
    }

    /// Whether the PR adds line `line` of `path`: a changed file without line information
    /// counts as added on every line; a file the PR does not change adds none.
    pub fn adds_line(&self, path: &str, line: u32) -> bool {
        match self.files.get(path) {
            None => false,
            Some(None) => true,
            Some(Some(patch)) => patch.added.binary_search(&line).is_ok(),
        }
    }

    /// Whether the finding is inside the filter.
    pub fn contains(&self, mode: DiffFilter, f: &Finding) -> bool {
        let Some(loc) = &f.location else {
            return true;
        };
        if mode == DiffFilter::Nofilter {
            return true;
        }
        let Some(patch) = self.files.get(&loc.path) else {
            return false;
        };
        let (Some(patch), Some(start)) = (patch, loc.line) else {
            return true; // changed file without line information, or a whole-file finding
        };
        let lines = start..=loc.end_line.unwrap_or(start).max(start);
        match mode {
            DiffFilter::Added => patch.added.iter().any(|n| lines.contains(n)),
            DiffFilter::DiffContext => patch
                .hunks
                .iter()
                .any(|h| h.start() <= lines.end() && lines.start() <= h.end()),
            DiffFilter::File | DiffFilter::Nofilter => true,
        }
    }
}

/// Demote the findings outside the filter to notices; returns how many were demoted.
pub fn apply(findings: &mut [Finding], index: &DiffIndex, mode: DiffFilter) -> usize {
    let mut demoted = 0;
    for f in findings.iter_mut() {
        if f.severity > Severity::Notice && !index.contains(mode, f) {
            f.message.push_str(&format!(
                " (outside the PR's diff, so reported as a notice by the `{}` filter; it was {})",
                name(mode),
                f.severity.as_str()
            ));
            f.severity = Severity::Notice;
            demoted += 1;
        }
    }
    demoted
}

pub fn name(mode: DiffFilter) -> &'static str {
    match mode {
        DiffFilter::Added => "added",
        DiffFilter::DiffContext => "diff_context",
        DiffFilter::File => "file",
        DiffFilter::Nofilter => "nofilter",
    }
}

/// Split `git diff` output into per-file patches (by the new path; deleted files are left out).
pub fn split_git_diff(diff: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut path: Option<String> = None;
    let mut body = String::new();
    let mut flush = |path: &mut Option<String>, body: &mut String| {
        if let Some(p) = path.take() {
            out.insert(p, std::mem::take(body));
        }
        body.clear();
    };
    for l in diff.split_inclusive('\n') {
        if l.starts_with("diff --git ") {
            flush(&mut path, &mut body);
            continue;
        }
        if let Some(p) = l.strip_prefix("+++ ") {
            let p = p.trim_end_matches(['\n', '\r']);
            path = p.strip_prefix("b/").map(str::to_string);
            continue;
        }
        if path.is_some() {
            body.push_str(l);
        }
    }
    flush(&mut path, &mut body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::rules::Rule;

    const PATCH: &str = "@@ -1,4 +1,5 @@\n keep\n-old\n+new\n+extra\n ctx\n ctx2\n@@ -20,3 +21,2 @@ fn x() {\n a\n-gone\n b\n\\ No newline at end of file\n";

    #[test]
    fn hunks_and_added_lines() {
        let p = parse_patch(PATCH);
        assert_eq!(p.added, [2, 3]);
        assert_eq!(p.hunks, [1..=5, 21..=22]);
    }

    #[test]
    fn header_forms() {
        assert_eq!(hunk_header("-1 +1 @@"), Some(((1, 1), (1, 1))));
        assert_eq!(hunk_header("-0,0 +1,3 @@ x"), Some(((0, 0), (1, 3))));
        assert_eq!(hunk_header("-5,2 +4,0 @@"), Some(((5, 2), (4, 0))));
        assert_eq!(hunk_header("garbage"), None);
        // a new file and a deletion-only hunk
        let p = parse_patch("@@ -0,0 +1,2 @@\n+a\n+b\n");
        assert_eq!((p.added, p.hunks), (vec![1, 2], vec![1..=2]));
        let p = parse_patch("@@ -3,1 +2,0 @@\n-x\n");
        assert!(p.added.is_empty() && p.hunks.is_empty());
        // garbage after a header stops nothing but adds nothing
        assert_eq!(parse_patch("@@ nonsense\n+a\n"), Patch::default());
    }

    #[test]
    fn plus_lines_in_content_are_not_headers() {
        // A removed line that starts with "--" and an added line that starts with "++".
        let p = parse_patch("@@ -1,2 +1,2 @@\n--- a comment\n+++ b\n same\n");
        assert_eq!(p.added, [1]);
        assert_eq!(p.hunks, [1..=2]);
    }

    #[test]
    fn modes() {
        let files = vec![
            ChangedFile {
                path: "a.ts".into(),
                status: crate::pr::FileStatus::Modified,
                previous_path: None,
                patch: Some(PATCH.into()),
            },
            ChangedFile {
                path: "bin.png".into(),
                status: crate::pr::FileStatus::Added,
                previous_path: None,
                patch: None,
            },
        ];
        let idx = DiffIndex::new(&files);
        let at = |path: &str, line: usize| {
            Finding::new(Rule::McpInvalidJson, "x").at(Location::line(path, line))
        };
        let no_path = Finding::new(Rule::McpSectionMissing, "x");
        use DiffFilter::*;
        assert!(idx.contains(Added, &at("a.ts", 2)));
        assert!(!idx.contains(Added, &at("a.ts", 4)));
        assert!(idx.contains(DiffContext, &at("a.ts", 4)));
        assert!(!idx.contains(DiffContext, &at("a.ts", 10)));
        assert!(idx.contains(File, &at("a.ts", 10)));
        assert!(!idx.contains(File, &at("old.ts", 1)));
        assert!(idx.contains(Added, &at("bin.png", 7)));
        assert!(idx.contains(Added, &no_path));
        assert!(idx.contains(Nofilter, &at("old.ts", 1)));

        let mut fs = vec![at("old.ts", 1), at("a.ts", 2), no_path];
        assert_eq!(apply(&mut fs, &idx, Added), 1);
        assert_eq!(fs[0].severity, Severity::Notice);
        assert!(fs[0].message.contains("`added` filter"));
        assert_eq!(fs[1].severity, Severity::Error);
        assert_eq!(fs[2].severity, Severity::Error);
    }

    #[test]
    fn git_diff_split() {
        let diff = "diff --git a/x.ts b/x.ts\nindex 1..2 100644\n--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/gone.ts b/gone.ts\n--- a/gone.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n";
        let m = split_git_diff(diff);
        assert_eq!(m.len(), 1);
        assert_eq!(parse_patch(&m["x.ts"]).added, [1]);
    }
}
