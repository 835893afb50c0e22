//! The Markdown job summary (`$GITHUB_STEP_SUMMARY`): verdict per gate, every finding, the
//! suppressions in use. Untrusted text (paths, messages quoting PR content, reasons) is never
//! Markdown: it is HTML-escaped, every character Markdown gives a meaning is written as a
//! character reference, and what a message quotes in backticks goes in `<code>`, so a
//! backtick cannot end a code span and no link, image or emphasis renders. The whole stays under
//! GitHub's 1 MiB limit with a note when it had to be cut (a check run's summary uses the same
//! text under the Checks API's 65,535-character limit).

use super::{Report, Verdict};
use crate::finding::Severity;

pub const MAX_SUMMARY: usize = 1_000_000;

pub fn render(report: &Report) -> String {
    render_within(report, MAX_SUMMARY, "GitHub's 1 MiB limit")
}

/// The summary in at most `max` bytes (so at most `max` characters); `limit` names the limit in
/// the note that says it was cut.
pub fn render_within(report: &Report, max: usize, limit: &str) -> String {
    let mut out = String::new();
    let icon = |v: Verdict| if v == Verdict::Pass { "✅" } else { "❌" };
    out.push_str(&format!(
        "## merge-gates: {} {}\n\n",
        icon(report.verdict),
        report.verdict.as_str()
    ));
    out.push_str("| gate | verdict | errors | warnings | notices |\n|---|---|---|---|---|\n");
    for g in &report.gates {
        let n = |s| g.findings.iter().filter(|f| f.severity == s).count();
        out.push_str(&format!(
            "| `{}` | {} {} | {} | {} | {} |\n",
            g.gate,
            icon(g.verdict),
            g.verdict.as_str(),
            n(Severity::Error),
            n(Severity::Warning),
            n(Severity::Notice)
        ));
    }
    let mut body = String::new();
    for g in &report.gates {
        body.push_str(&format!("\n### `{}`\n\n", g.gate));
        for n in &g.notes {
            body.push_str(&format!("- {}\n", cell(n)));
        }
        for t in &g.tables {
            body.push_str(&format!("\n**{}**\n\n", cell(&t.title)));
            let row = |cells: &[String]| {
                let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
                format!("| {} |\n", cells.join(" | "))
            };
            body.push_str(&row(&t.columns));
            body.push_str(&format!("|{}\n", "---|".repeat(t.columns.len())));
            for r in &t.rows {
                body.push_str(&row(r));
            }
        }
        if !g.findings.is_empty() {
            body.push_str(
                "\n| severity | rule | where | message | how to fix |\n|---|---|---|---|---|\n",
            );
            for f in &g.findings {
                let place = match &f.location {
                    Some(l) => format!(
                        "{}{}",
                        code(&l.path),
                        l.line.map(|n| format!(":{n}")).unwrap_or_default()
                    ),
                    None => "PR".into(),
                };
                body.push_str(&format!(
                    "| {} | [`{}`]({}) | {} | {} | {} |\n",
                    f.severity.as_str(),
                    f.rule,
                    f.rule.docs_url(),
                    place,
                    cell(&f.message),
                    cell(&f.help)
                ));
            }
        }
        if !g.suppressed.is_empty() {
            body.push_str(
                "\n**Suppressions in use**\n\n| rule | where | reason | approval |\n|---|---|---|---|\n",
            );
            for s in &g.suppressed {
                let place = s.finding.location.as_ref().map_or("-".to_string(), |l| {
                    format!("{}:{}", code(&l.path), l.line.unwrap_or(0))
                });
                body.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    s.finding.rule,
                    place,
                    cell(&s.reason),
                    cell(s.approval.as_deref().unwrap_or("-"))
                ));
            }
        }
    }
    let note = format!("\n\n> **Truncated:** the summary reached {limit}. The JSON report (`report` output) has every finding.\n");
    let budget = max.saturating_sub(out.len() + note.len());
    if body.len() > budget {
        let cut = crate::text::floor_boundary(&body, budget);
        let cut = body[..cut].rfind('\n').unwrap_or(0);
        body.truncate(cut);
        body.push_str(&note);
    }
    out.push_str(&body);
    if out.len() > max {
        // Only the header is left, and even it is too long: cut it on a character boundary.
        out.truncate(crate::text::floor_boundary(&out, max));
    }
    out
}

/// Untrusted text as inert table-cell content: HTML special characters and every character
/// that means something in Markdown (emphasis, code spans, links, images, tables, headings,
/// autolinks) become character references; line breaks a space; control characters visible.
fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::text::excerpt(s, 1000).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '\\' | '|' | '~' | '#' | ':' | '@'
            | '\'' | '=' | '+' | '-' | '.' | '{' | '}' | '$' | '^' => {
                out.push_str(&format!("&#{};", u32::from(c)))
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A message for a table cell: what it quotes in backticks (`` `path` ``) goes in `<code>`,
/// the rest is plain text; both inert (a backtick inside a quoted value only shifts what is
/// shown in `<code>`, never what renders).
pub fn cell(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut out = String::with_capacity(s.len());
    for (i, part) in parts.iter().enumerate() {
        // An odd part is quoted when a closing backtick follows it.
        if i % 2 == 1 && i + 1 < parts.len() {
            out.push_str(&format!("<code>{}</code>", inert(part)));
        } else {
            if i % 2 == 1 {
                out.push_str("&#96;");
            }
            out.push_str(&inert(part));
        }
    }
    out
}

/// A path or other untrusted value shown as code.
pub fn code(s: &str) -> String {
    format!("<code>{}</code>", inert(s))
}

#[cfg(test)]
mod tests {
    /// What a reader sees of a Markdown fragment (as GitHub renders CommonMark): its text and
    /// code, entities decoded, HTML tags left out.
    fn visible(markdown: &str) -> String {
        use pulldown_cmark::{Event, Parser};
        Parser::new(markdown)
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t.into_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_quoted_path_shows_its_placeholders_literally() {
        let cell = super::cell("lists `artifacts/<agent>/<YYYY-MM-DD>/mcp/x.jsonl` & more");
        assert_eq!(
            visible(&cell),
            "lists artifacts/<agent>/<YYYY-MM-DD>/mcp/x.jsonl & more"
        );
        // A Markdown code span would have shown the escapes themselves.
        assert_eq!(
            visible("`artifacts/&lt;agent&gt;`"),
            "artifacts/&lt;agent&gt;"
        );
    }
}
