//! The shared second half of the PR-body gates: open a listed JSON Lines file safely and walk
//! its objects. Path escapes, missing files, FIFOs, oversized files, over-long lines, bad UTF-8
//! and bad JSON become findings with the file and line; the gate sees only well-formed objects.

use super::Context;
use crate::finding::{Finding, GateOutput, Location};
use crate::lines::{Line, LineReader};
use crate::pr_body::Mention;
use crate::rules::Rule;
use crate::workspace::{PathError, RepoFile};
use serde_json::{Map, Value};

pub struct FileRules {
    pub escapes: Rule,
    pub not_found: Rule,
    pub not_regular: Rule,
    pub empty: Rule,
    pub too_large: Rule,
    pub invalid_json: Rule,
}

pub struct Limits {
    pub max_file: u64,
    pub max_line: usize,
}

/// Resolve and open a file the PR body lists. `None` after pushing the reason as a finding.
pub fn open_listed(
    ctx: &Context<'_>,
    m: &Mention,
    rules: &FileRules,
    limits: &Limits,
    out: &mut GateOutput,
) -> Option<RepoFile> {
    let shown = crate::text::excerpt(&m.text, 200);
    let at_body = format!("`{shown}` (PR body line {})", m.line);
    let file = match ctx.workspace.open(&m.text) {
        Ok(f) => f,
        Err(
            e @ (PathError::Absolute
            | PathError::ParentDir
            | PathError::NotPortable
            | PathError::EscapesRepo(_)),
        ) => {
            out.push(Finding::new(
                rules.escapes,
                format!("{at_body} {e}; nothing outside the repository is read"),
            ));
            return None;
        }
        Err(PathError::NotFound) => {
            out.push(Finding::new(
                rules.not_found,
                format!("{at_body} does not exist in the repository"),
            ));
            return None;
        }
        Err(e @ PathError::NotRegular(_)) => {
            out.push(
                Finding::new(rules.not_regular, format!("{at_body} {e}"))
                    .at(Location::file(&m.text)),
            );
            return None;
        }
        Err(e @ PathError::Io(_)) => {
            out.push(
                Finding::new(rules.not_found, format!("{at_body} {e}")).at(Location::file(&m.text)),
            );
            return None;
        }
    };
    if file.len > limits.max_file {
        out.push(
            Finding::new(
                rules.too_large,
                format!(
                    "`{shown}` is {} bytes, over the limit of {} bytes; it was not read",
                    crate::text::thousands(file.len),
                    crate::text::thousands(limits.max_file)
                ),
            )
            .at(Location::file(&m.text)),
        );
        return None;
    }
    Some(file)
}

/// Call `each(line_number, raw_line, object)` for every JSON object line of `file`. Blank
/// lines are skipped; everything else that is not one JSON object is an `invalid_json` finding.
/// Returns the number of non-blank lines.
pub fn for_each_object(
    file: RepoFile,
    path: &str,
    rules: &FileRules,
    limits: &Limits,
    out: &mut GateOutput,
    mut each: impl FnMut(usize, &str, Map<String, Value>, &mut GateOutput),
) -> usize {
    let reader =
        std::io::BufReader::with_capacity(256 << 10, file.file.take_limited(limits.max_file));
    let mut lines = LineReader::new(reader, limits.max_line);
    let mut count = 0;
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                out.push(
                    Finding::new(rules.not_found, format!("`{path}` could not be read: {e}"))
                        .at(Location::file(path)),
                );
                break;
            }
        };
        let bytes = match line {
            Line::TooLong { len } => {
                count += 1;
                out.push(
                    Finding::new(
                        rules.invalid_json,
                        format!(
                            "line is {} bytes long, over the limit of {} bytes; it was not parsed",
                            crate::text::thousands(len),
                            crate::text::thousands(limits.max_line as u64)
                        ),
                    )
                    .at(Location::line(path, n)),
                );
                continue;
            }
            Line::Text(b) => b,
        };
        let bytes = if n == 1 {
            bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
        } else {
            bytes
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        count += 1;
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let col = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| (**b & 0xC0) != 0x80)
                    .count()
                    + 1;
                out.push(
                    Finding::new(
                        rules.invalid_json,
                        format!("line is not valid UTF-8 at column {col}"),
                    )
                    .at(Location::span(path, n, col, col)),
                );
                continue;
            }
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => each(n, text, map, out),
            Ok(other) => out.push(
                Finding::new(
                    rules.invalid_json,
                    format!("line is a JSON {}, not an object", kind(&other)),
                )
                .help("Write one JSON object per line: `{\"field\": \"value\", …}`.")
                .at(Location::line(path, n)),
            ),
            Err(e) => {
                let col = char_column(text, e.column());
                let msg = e.to_string();
                let msg = msg
                    .rsplit_once(" at line ")
                    .map_or(msg.as_str(), |(m, _)| m);
                out.push(
                    Finding::new(
                        rules.invalid_json,
                        format!("invalid JSON at column {col}: {msg}"),
                    )
                    .at(Location::span(path, n, col, col)),
                );
            }
        }
    }
    if count == 0 {
        out.push(
            Finding::new(rules.empty, format!("`{path}` has no entries")).at(Location::file(path)),
        );
    }
    count
}

/// serde_json reports byte columns; annotations want characters.
fn char_column(text: &str, byte_col: usize) -> usize {
    let idx = byte_col.saturating_sub(1).min(text.len());
    let idx = (0..=idx)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[..idx].chars().count() + 1
}

/// 1-based character column of `"key"` in the raw line (for pointing at a field).
pub fn key_column(raw: &str, key: &str) -> usize {
    let needle = format!("\"{key}\"");
    raw.match_indices(&needle)
        .find(|(i, _)| raw[i + needle.len()..].trim_start().starts_with(':'))
        .map_or(1, |(i, _)| raw[..i].chars().count() + 1)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

trait TakeLimited {
    fn take_limited(self, max: u64) -> std::io::Take<std::fs::File>;
}

impl TakeLimited for std::fs::File {
    /// The size was checked before opening; this guards against a file that grows meanwhile.
    fn take_limited(self, max: u64) -> std::io::Take<std::fs::File> {
        std::io::Read::take(self, max)
    }
}
