//! The shared second half of the PR-body gates: open a listed JSON Lines file safely and walk
//! its objects. Path escapes, missing files, FIFOs, oversized files, over-long lines, bad UTF-8
//! and bad JSON become findings with the file and line; the gate sees only well-formed objects.

use super::Context;
use crate::finding::{Cap, Finding, GateOutput, Location, MAX_FINDINGS_PER_FILE};
use crate::lines::{Chunk, ChunkReader, Line};
use crate::pr_body::Mention;
use crate::rules::PrBodyRules;
use crate::workspace::{PathError, RepoFile};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{mpsc, Mutex};

pub struct Limits {
    pub max_file: u64,
    pub max_line: usize,
}

/// Resolve and open a file the PR body lists. `None` after pushing the reason as a finding.
pub fn open_listed(
    ctx: &Context<'_>,
    m: &Mention,
    rules: &PrBodyRules,
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

/// Lines are handed to the workers in blocks of about this many bytes.
const BLOCK_BYTES: usize = 1 << 20;

/// Visit every JSON object line of `source` (`len` bytes: a listed file's `RepoFile`, or memory
/// for the fuzz targets), using every core once it is over one block. Blank lines are skipped;
/// everything else that is not one JSON object is an `invalid_json` finding.
///
/// `(quick, visit)`: `quick(line, bytes, findings)`, when it returns `Some`, decides a line from
/// its bytes (not yet known to be UTF-8) without building a JSON tree (a gate's fast path for
/// lines of the shape it knows); otherwise
/// `visit(line, raw, object, findings)` sees the line parsed. Both may run on worker threads and
/// may return a value;
/// `fold(line, value)` receives those values on the calling thread, in line order. Memory stays
/// bounded: a few blocks are in flight at a time, and findings are capped per file.
/// Returns the number of non-blank lines.
#[allow(clippy::too_many_arguments)]
pub fn scan_source<T: Send>(
    source: impl Read + Send,
    len: u64,
    path: &str,
    rules: &PrBodyRules,
    limits: &Limits,
    out: &mut GateOutput,
    (quick, visit): (
        impl Fn(usize, &[u8], &mut Vec<Finding>) -> Option<Option<T>> + Sync,
        impl Fn(usize, &str, Map<String, Value>, &mut Vec<Finding>) -> Option<T> + Sync,
    ),
    mut fold: impl FnMut(usize, T),
) -> usize {
    let mut count = 0;
    let mut cap = Cap::new(MAX_FINDINGS_PER_FILE);
    let mut take = |done: Done<T>| {
        count += done.count;
        for f in done.findings {
            if cap.admit() {
                out.push(f);
            }
        }
        for (line, value) in done.values {
            fold(line, value);
        }
    };
    // A file of one block is checked right here: spawning a reader and workers for each of
    // 10,000 small listed files cost more than reading them.
    let read_error = if len < BLOCK_BYTES as u64 {
        let mut blocks = Blocks::new(source, limits);
        while let Some(block) = blocks.next() {
            take(check_block(block, path, rules, limits, (&quick, &visit)));
        }
        blocks.error
    } else {
        scan_parallel(source, path, rules, limits, (&quick, &visit), &mut take)
    };
    if let Some(e) = read_error {
        out.push(
            Finding::new(rules.not_found, format!("`{path}` could not be read: {e}"))
                .at(Location::file(path)),
        );
    }
    if cap.dropped() > 0 {
        out.push(
            Finding::new(
                rules.invalid_json,
                format!(
                    "{} more problems in `{path}` are not listed (at most {MAX_FINDINGS_PER_FILE} per file)",
                    crate::text::thousands(cap.dropped())
                ),
            )
            .at(Location::file(path)),
        );
    }
    if count == 0 {
        out.push(
            Finding::new(rules.empty, format!("`{path}` has no entries")).at(Location::file(path)),
        );
    }
    count
}

/// Every core takes the next block of the file in turn (reading it under a lock, so blocks
/// are cut in order) and checks it; `take` receives the results in file order on the calling
/// thread. Returns a read error, if any.
fn scan_parallel<T: Send>(
    source: impl Read + Send,
    path: &str,
    rules: &PrBodyRules,
    limits: &Limits,
    (quick, visit): (
        &(impl Fn(usize, &[u8], &mut Vec<Finding>) -> Option<Option<T>> + Sync),
        &(impl Fn(usize, &str, Map<String, Value>, &mut Vec<Finding>) -> Option<T> + Sync),
    ),
    take: &mut impl FnMut(Done<T>),
) -> Option<std::io::Error> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let reader = Mutex::new(Blocks::new(source, limits));
    let (done_tx, done_rx) = mpsc::sync_channel::<Done<T>>(workers * 2);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (done_tx, reader) = (done_tx.clone(), &reader);
            s.spawn(move || loop {
                let Some(block) = reader.lock().ok().and_then(|mut r| r.next()) else {
                    return;
                };
                if done_tx
                    .send(check_block(block, path, rules, limits, (quick, visit)))
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(done_tx);
        // Blocks finish out of order; hand results on in order.
        let mut pending = BTreeMap::new();
        let mut next = 0;
        for done in done_rx {
            pending.insert(done.seq, done);
            while let Some(done) = pending.remove(&next) {
                next += 1;
                take(done);
            }
        }
    });
    reader.into_inner().ok().and_then(|r| r.error)
}

/// Whole lines of a file, in file order.
struct Block {
    seq: usize,
    chunk: Chunk,
}

struct Done<T> {
    seq: usize,
    count: usize,
    findings: Vec<Finding>,
    values: Vec<(usize, T)>,
}

/// The file cut into numbered blocks of whole lines; a read error ends it and is kept.
struct Blocks<R> {
    chunks: ChunkReader<std::io::Take<R>>,
    seq: usize,
    error: Option<std::io::Error>,
}

impl<R: Read> Blocks<R> {
    fn new(source: R, limits: &Limits) -> Self {
        let source = source.take(limits.max_file);
        Blocks {
            chunks: ChunkReader::new(source, BLOCK_BYTES, limits.max_line),
            seq: 0,
            error: None,
        }
    }

    fn next(&mut self) -> Option<Block> {
        if self.error.is_some() {
            return None;
        }
        match self.chunks.next_chunk() {
            Ok(chunk) => {
                let seq = self.seq;
                self.seq += 1;
                Some(Block { seq, chunk: chunk? })
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

/// A worker's share: parse and visit every line of one block.
fn check_block<T>(
    block: Block,
    path: &str,
    rules: &PrBodyRules,
    limits: &Limits,
    (quick, visit): (
        &(impl Fn(usize, &[u8], &mut Vec<Finding>) -> Option<Option<T>> + Sync),
        &(impl Fn(usize, &str, Map<String, Value>, &mut Vec<Finding>) -> Option<T> + Sync),
    ),
) -> Done<T> {
    let mut done = Done {
        seq: block.seq,
        count: 0,
        findings: Vec::new(),
        values: Vec::new(),
    };
    let (first_line, data, skipped) = match block.chunk {
        Chunk::Lines { first_line, data } => (first_line, data, None),
        Chunk::TooLong { line, len } => (line, Vec::new(), Some((line, Line::TooLong { len }))),
    };
    let lines = crate::lines::lines(first_line, &data, limits.max_line);
    for (n, line) in skipped.into_iter().chain(lines) {
        let bytes = match line {
            Line::TooLong { len } => {
                done.count += 1;
                done.findings.push(
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
            Line::Text(bytes) => bytes,
        };
        let bytes = if n == 1 {
            bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
        } else {
            bytes
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        done.count += 1;
        if let Some(decided) = quick(n, bytes, &mut done.findings) {
            if let Some(v) = decided {
                done.values.push((n, v));
            }
            continue;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let col = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| (**b & 0xC0) != 0x80)
                    .count()
                    + 1;
                done.findings.push(
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
            Ok(Value::Object(map)) => {
                if let Some(v) = visit(n, text, map, &mut done.findings) {
                    done.values.push((n, v));
                }
            }
            Ok(other) => done.findings.push(
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
                done.findings.push(
                    Finding::new(
                        rules.invalid_json,
                        format!("invalid JSON at column {col}: {msg}"),
                    )
                    .at(Location::span(path, n, col, col)),
                );
            }
        }
    }
    done
}

/// serde_json reports byte columns; annotations want characters.
fn char_column(text: &str, byte_col: usize) -> usize {
    let idx = crate::text::floor_boundary(text, byte_col.saturating_sub(1));
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
