//! GitHub Actions workflow commands: annotations, step outputs, and the log.
//!
//! Escaping follows the Actions toolkit: data `%`→`%25`, CR→`%0D`, LF→`%0A`; properties also
//! `:`→`%3A`, `,`→`%2C`. Other control characters (ESC, BEL) become `%XX` too, so that no file
//! name can drive the terminal or the log viewer. GitHub shows at most 10 error and 10 warning annotations per step, so
//! the most important ones are emitted and one notice says how many more are in the summary.
//! The human-readable log (untrusted text) is printed inside `::stop-commands::<token>` so no
//! line of it can be taken for a workflow command. Outputs use a random heredoc delimiter.

use super::Report;
use crate::finding::{Finding, Severity};

/// GitHub's per-step display limit for each annotation level.
pub const MAX_PER_LEVEL: usize = 10;

pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            // Other control characters (ESC, BEL, …) would reach the log and the terminal raw;
            // the runner does not unescape these, so they stay visible as `%1B`.
            c if c.is_control() => out.push_str(&format!("%{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A random token for `stop-commands` and heredoc delimiters.
pub fn random_token() -> String {
    let mut buf = [0u8; 16];
    if getrandom::fill(&mut buf).is_err() {
        // Fall back to time and pid: still unguessable enough for a log, never reused.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        buf[..16].copy_from_slice(&(t ^ u128::from(std::process::id())).to_le_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn command(f: &Finding) -> String {
    // Workflow commands are named as our severities are: `::error`, `::warning`, `::notice`.
    let level = f.severity.as_str();
    let mut props = Vec::new();
    if let Some(l) = &f.location {
        props.push(format!("file={}", escape_property(&l.path)));
        if let Some(n) = l.line {
            props.push(format!("line={n}"));
        }
        if let Some(n) = l.column {
            props.push(format!("col={n}"));
        }
        if let Some(n) = l.end_line {
            props.push(format!("endLine={n}"));
        }
        if let Some(n) = l.end_column {
            props.push(format!("endColumn={n}"));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("merge-gates {}", f.rule))
    ));
    let msg = format!(
        "{}\n\nHow to fix: {}\nDocs: {}",
        f.message,
        f.help,
        f.rule.docs_url()
    );
    format!("::{level} {}::{}\n", props.join(","), escape_data(&msg))
}

/// Annotations for the findings, at most 10 per level, plus one notice for the rest.
pub fn annotations(report: &Report) -> String {
    let mut out = String::new();
    let mut hidden = 0;
    for level in [Severity::Error, Severity::Warning, Severity::Notice] {
        let all: Vec<&Finding> = report
            .findings()
            .map(|(_, f)| f)
            .filter(|f| f.severity == level)
            .collect();
        // Leave one notice slot for the "more in the summary" line.
        let room = if level == Severity::Notice {
            MAX_PER_LEVEL - 1
        } else {
            MAX_PER_LEVEL
        };
        for f in all.iter().take(room) {
            out.push_str(&command(f));
        }
        hidden += all.len().saturating_sub(room);
    }
    if hidden > 0 {
        out.push_str(&notice(&format!("{hidden} more finding(s) are not shown as annotations (GitHub shows 10 per level); see the job summary or the JSON report for all of them.")));
    }
    out
}

/// A `::notice` from merge-gates itself (not about a finding).
pub fn notice(message: &str) -> String {
    format!("::notice title=merge-gates::{}\n", escape_data(message))
}

/// The human-readable log wrapped so that none of its lines can act as a workflow command.
pub fn log(report: &Report) -> String {
    let token = random_token();
    format!(
        "::stop-commands::{token}\n{}::{token}::\n",
        super::text::render(report, false)
    )
}

/// `$GITHUB_OUTPUT` content: verdict, counts, report path and gate-specific outputs.
pub fn outputs(report: &Report, report_path: Option<&std::path::Path>) -> String {
    let mut pairs = vec![
        ("verdict".to_string(), report.verdict.as_str().to_string()),
        (
            "errors".to_string(),
            report.count(Severity::Error).to_string(),
        ),
        (
            "warnings".to_string(),
            report.count(Severity::Warning).to_string(),
        ),
    ];
    if let Some(p) = report_path {
        pairs.push(("report".into(), p.display().to_string()));
    }
    // Gate outputs are named like the action's inputs (lowercase kebab-case: `latency-ms`),
    // and never replace the core's own.
    for g in &report.gates {
        for (k, v) in &g.outputs {
            let k = output_name(k);
            if !k.is_empty() && !pairs.iter().any(|(p, _)| *p == k) {
                pairs.push((k, v.clone()));
            }
        }
    }
    let mut out = String::new();
    for (k, v) in pairs {
        if v.contains('\n') || v.contains('\r') {
            let mut delim = format!("ghadelimiter_{}", random_token());
            while v.contains(&delim) {
                delim = format!("ghadelimiter_{}", random_token());
            }
            out.push_str(&format!("{k}<<{delim}\n{v}\n{delim}\n"));
        } else {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out
}

/// `latency_ms`, `LatencyMs`, `latency ms` → `latency-ms`; characters that cannot be in an
/// output name are dropped.
pub fn output_name(k: &str) -> String {
    let mut out = String::new();
    for (i, c) in k.chars().enumerate() {
        match c {
            'A'..='Z' => {
                if i > 0 && !out.ends_with('-') {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
            }
            'a'..='z' | '0'..='9' => out.push(c),
            '_' | '-' | ' ' | '.' if !out.is_empty() && !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_are_kebab_case() {
        assert_eq!(output_name("latency_ms"), "latency-ms");
        assert_eq!(output_name("latencyMs"), "latency-ms");
        assert_eq!(output_name("healthy"), "healthy");
        assert_eq!(output_name("bad\nname=x"), "badnamex");
        assert_eq!(output_name("__"), "");
    }

    #[test]
    fn escaping_matches_the_toolkit() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(escape_property("a:b,c%0A"), "a%3Ab%2Cc%250A");
        let injected = escape_data("x\n::error::pwned");
        assert!(!injected.contains('\n'));
        assert_eq!(escape_property("a\u{1b}c\u{7}"), "a%1Bc%07");
    }
}
