//! Reading a pull-request body the way a person reads it.
//!
//! Both PR-body gates look for a section (`## MCP Evidence`, `## Heartbeat`) and read paths and
//! exemption statements from it. This module owns that reading, so the gates agree on it:
//! CRLF, LF and lone CR alike; headings at any level with optional trailing colon or text;
//! HTML comments, fenced code blocks and unchecked task-list items are not content; template
//! placeholders (`<agent>`) are recognised as such and never taken for paths. Line numbers
//! always refer to the body as written.

/// The largest body read. GitHub stores at most 65,536 characters (at most 256 KiB of UTF-8);
/// anything larger is not a PR body, and reading it whole would let it grow our memory.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A content line of the body: 1-based line number and the visible text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLine {
    pub number: usize,
    pub text: String,
    /// `(level, text)` when the line starts a heading (ATX, or setext: the text line of
    /// `Title` underlined with `---`).
    pub heading: Option<(usize, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Body {
    lines: Vec<BodyLine>,
}

#[derive(Debug, Clone)]
pub struct Section {
    /// The heading text as written, without the `#`s.
    pub heading: String,
    pub heading_line: usize,
    /// Content lines between this heading and the next heading of the same or a higher level.
    pub lines: Vec<BodyLine>,
}

/// A path-like token found in a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub text: String,
    pub line: usize,
    /// True when it still holds a template placeholder like `<agent>`.
    pub placeholder: bool,
}

impl Body {
    pub fn parse(raw: &str) -> Body {
        let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
        let mut visible_lines: Vec<String> = Vec::new();
        let mut in_comment = false;
        for line in normalized.split('\n') {
            // HTML comments, possibly spanning lines.
            let mut visible = String::with_capacity(line.len());
            let mut rest = line;
            loop {
                if in_comment {
                    match rest.find("-->") {
                        Some(end) => {
                            in_comment = false;
                            rest = &rest[end + 3..];
                        }
                        None => break,
                    }
                } else {
                    match rest.find("<!--") {
                        Some(start) => {
                            visible.push_str(&rest[..start]);
                            in_comment = true;
                            rest = &rest[start + 4..];
                        }
                        None => {
                            visible.push_str(rest);
                            break;
                        }
                    }
                }
            }
            visible_lines.push(visible);
        }
        // The block structure as CommonMark (and so GitHub) reads it: which lines are code
        // (fenced or indented: not content), which start a heading (ATX or setext) and which
        // belong to one (a setext heading's underline and continuation lines).
        let structure = Structure::of(&visible_lines);
        let mut lines = Vec::new();
        for (idx, text) in visible_lines.into_iter().enumerate() {
            if structure.hidden.get(idx).copied().unwrap_or(false) {
                continue;
            }
            let heading = structure.headings.get(&idx).cloned();
            if heading.is_none() && is_unchecked_task(text.trim_start()) {
                continue;
            }
            lines.push(BodyLine {
                number: idx + 1,
                text,
                heading,
            });
        }
        Body { lines }
    }

    /// The first section whose heading starts with `title` (case-insensitive), followed by
    /// the end of the heading, a colon, a space or an opening parenthesis.
    pub fn section(&self, title: &str) -> Option<Section> {
        let start = self.lines.iter().position(|l| {
            l.heading
                .as_ref()
                .is_some_and(|(_, text)| heading_matches(text, title))
        })?;
        let (level, text) = self.lines[start].heading.clone()?;
        let lines = self.lines[start + 1..]
            .iter()
            .take_while(|l| l.heading.as_ref().is_none_or(|(lvl, _)| *lvl > level))
            .cloned()
            .collect();
        Some(Section {
            heading: text,
            heading_line: self.lines[start].number,
            lines,
        })
    }
}

fn is_unchecked_task(trimmed: &str) -> bool {
    let rest = trimmed.strip_prefix(['-', '*', '+']).map(str::trim_start);
    rest.is_some_and(|r| r.starts_with("[ ]"))
}

/// What CommonMark makes of the lines' block structure.
struct Structure {
    /// Line index → `(level, text)` of the heading that starts there.
    headings: std::collections::HashMap<usize, (usize, String)>,
    /// Lines that are not content: code blocks, and the lines of a heading after its first.
    hidden: Vec<bool>,
}

impl Structure {
    fn of(lines: &[String]) -> Structure {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        let text = lines.join("\n");
        // Byte offset → line index.
        let mut starts = Vec::with_capacity(lines.len());
        let mut at = 0;
        for l in lines {
            starts.push(at);
            at += l.len() + 1;
        }
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let mut headings = std::collections::HashMap::new();
        let mut hidden = vec![false; lines.len()];
        let mut hide = |from: usize, to: usize| {
            for h in hidden.iter_mut().take(to + 1).skip(from) {
                *h = true;
            }
        };
        let mut open: Option<(usize, usize, String)> = None;
        for (event, range) in Parser::new(&text).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    open = Some((line_of(range.start), level as usize, String::new()));
                    let (first, last) =
                        (line_of(range.start), line_of(range.end.saturating_sub(1)));
                    if last > first {
                        hide(first + 1, last);
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some((_, _, heading)) = &mut open {
                        heading.push_str(&t);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some((_, _, heading)) = &mut open {
                        heading.push(' ');
                    }
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((line, level, heading)) = open.take() {
                        headings.insert(line, (level, heading.trim().to_string()));
                    }
                }
                Event::Start(Tag::CodeBlock(_)) => {
                    hide(line_of(range.start), line_of(range.end.saturating_sub(1)));
                }
                _ => {}
            }
        }
        Structure { headings, hidden }
    }
}

fn heading_matches(text: &str, title: &str) -> bool {
    let text = text.trim_matches(|c| c == '*' || c == '_').trim();
    if text.len() < title.len() || !text.is_char_boundary(title.len()) {
        return false;
    }
    let (head, tail) = text.split_at(title.len());
    head.eq_ignore_ascii_case(title)
        && (tail.is_empty() || tail.starts_with([':', ' ', '(', '\t', '-']))
}

impl Section {
    /// Path-like tokens ending in one of `extensions` (case-insensitive), in order, deduplicated.
    /// Backticks, quotes, markdown links and GitHub blob URLs are unwrapped.
    pub fn mentions(&self, extensions: &[&str]) -> Vec<Mention> {
        let mut out: Vec<Mention> = Vec::new();
        // A set, not a scan of `out`: a body of 60,000 paths must not cost 60,000² compares.
        let mut seen = std::collections::HashSet::new();
        for line in &self.lines {
            let tokens = line
                .text
                .split(|c: char| c.is_whitespace() || "`'\"()[],|".contains(c))
                .map(|t| t.trim_end_matches(['.', ':', ';', '!', '?']))
                .filter(|t| !t.is_empty());
            for token in tokens {
                let lower = token.to_ascii_lowercase();
                if !extensions.iter().any(|e| lower.ends_with(e)) {
                    continue;
                }
                let text = unwrap_url(token);
                let text = text.strip_prefix("./").unwrap_or(text).to_string();
                if !seen.insert(text.clone()) {
                    continue;
                }
                let placeholder = text.contains('<') && text.contains('>');
                out.push(Mention {
                    text,
                    line: line.number,
                    placeholder,
                });
            }
        }
        out
    }

    /// The first line that *states* one of `phrases`: after list markers and emphasis, the line
    /// begins with the phrase (case-insensitive, whitespace folded). "NOT a single session" does
    /// not state "single session".
    pub fn exemption(&self, phrases: &[String]) -> Option<(usize, String)> {
        self.lines.iter().find_map(|l| {
            let norm = normalize_statement(&l.text);
            phrases
                .iter()
                .find(|p| {
                    let p = normalize_statement(p);
                    !p.is_empty()
                        && norm.starts_with(&p)
                        && norm[p.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_alphanumeric())
                })
                .map(|p| (l.number, p.clone()))
        })
    }

    pub fn is_blank(&self) -> bool {
        self.lines.iter().all(|l| l.text.trim().is_empty())
    }
}

/// `https://github.com/o/r/blob/<ref>/path` → `path`; anything else unchanged.
fn unwrap_url(token: &str) -> &str {
    if token.starts_with("http://") || token.starts_with("https://") {
        if let Some((_, after)) = token.split_once("/blob/") {
            return after.split_once('/').map_or(after, |(_, p)| p);
        }
    }
    token
}

fn normalize_statement(text: &str) -> String {
    let mut t = text.trim_start();
    loop {
        let before = t;
        t = t.trim_start_matches(['-', '*', '+', '>', '_', '`', ' ', '\t']);
        if let Some(rest) = t.strip_prefix("[x]").or_else(|| t.strip_prefix("[X]")) {
            t = rest;
        }
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && t[digits..].starts_with(['.', ')']) {
            t = &t[digits + 1..];
        }
        if t == before {
            break;
        }
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_nested_heading_with_colon_and_text() {
        let body = "# Title\r\n\r\n## Summary\r\n### MCP Evidence (required for code changes):\r\n- `artifacts/eng/2025-10-21/mcp/a.jsonl`\r\n## Next\r\n- artifacts/eng/2025-10-21/mcp/b.jsonl\r\n";
        let s = Body::parse(body).section("MCP Evidence").expect("section");
        assert_eq!(s.heading_line, 4);
        let m = s.mentions(&[".jsonl"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].text, "artifacts/eng/2025-10-21/mcp/a.jsonl");
        assert_eq!(m[0].line, 5);
    }

    #[test]
    fn comments_fences_and_unchecked_tasks_are_not_content() {
        let body = "## MCP Evidence\n<!-- e.g. No MCP usage - non-code change\n-->\n```\nartifacts/a/2025-01-01/mcp/x.jsonl\n```\n- [ ] docs-only\n- [x] [link](artifacts/a/2025-01-01/mcp/y.jsonl)\n";
        let s = Body::parse(body).section("mcp evidence").expect("section");
        assert!(s
            .exemption(&["docs-only".into(), "non-code change".into()])
            .is_none());
        let m = s.mentions(&[".jsonl"]);
        assert_eq!(
            m.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["artifacts/a/2025-01-01/mcp/y.jsonl"]
        );
    }

    #[test]
    fn setext_headings_are_headings_and_indented_code_is_code() {
        let body = "Summary\n=======\nText\n\nMCP Evidence\n---\n- artifacts/a/2025-01-01/mcp/x.jsonl\n\n        artifacts/a/2025-01-01/mcp/in-code.jsonl\n\nHeartbeat\n---------\n- none\n";
        let b = Body::parse(body);
        let s = b
            .section("MCP Evidence")
            .expect("a setext heading is a heading");
        assert_eq!(s.heading_line, 5);
        let m = s.mentions(&[".jsonl"]);
        assert_eq!(
            m.iter()
                .map(|m| (m.text.as_str(), m.line))
                .collect::<Vec<_>>(),
            [("artifacts/a/2025-01-01/mcp/x.jsonl", 7)]
        );
        // The section ends at the next heading of its level; the underline is not content.
        assert!(s.lines.iter().all(|l| !l.text.contains("---")));
        assert_eq!(b.section("Heartbeat").unwrap().heading_line, 11);
        // `---` after a blank line is a rule, not a heading.
        assert!(Body::parse("Note\n\n---\n").section("Note").is_none());
    }

    #[test]
    fn exemption_is_a_statement_not_a_substring() {
        let phrases = vec![
            "single session".to_string(),
            "<2h single session".to_string(),
        ];
        let yes = Body::parse("## Heartbeat\n- **<2h single session** - heartbeat not required\n");
        assert!(yes
            .section("Heartbeat")
            .unwrap()
            .exemption(&phrases)
            .is_some());
        let no = Body::parse("## Heartbeat\nThis was NOT a single session\n");
        assert!(no
            .section("Heartbeat")
            .unwrap()
            .exemption(&phrases)
            .is_none());
        let no2 = Body::parse("## Heartbeat\nsingle sessions are rare\n");
        assert!(no2
            .section("Heartbeat")
            .unwrap()
            .exemption(&phrases)
            .is_none());
    }

    #[test]
    fn placeholders_and_blob_urls() {
        let s = Body::parse("## MCP Evidence\n- artifacts/<agent>/<YYYY-MM-DD>/mcp/<topic_or_tool>.jsonl\n- https://github.com/o/r/blob/main/artifacts/a/2025-01-01/mcp/z.jsonl\n")
            .section("MCP Evidence")
            .unwrap();
        let m = s.mentions(&[".jsonl"]);
        assert!(m[0].placeholder);
        assert_eq!(m[1].text, "artifacts/a/2025-01-01/mcp/z.jsonl");
    }

    #[test]
    fn empty_and_hostile_bodies_do_not_panic() {
        for body in [
            "",
            "#",
            "##",
            "## MCP Evidence",
            "<!--",
            "```",
            "## é\u{301}",
            "\r\r\r## MCP Evidence\r- x.jsonl",
        ] {
            let b = Body::parse(body);
            if let Some(s) = b.section("MCP Evidence") {
                let _ = s.mentions(&[".jsonl"]);
            }
        }
    }
}
