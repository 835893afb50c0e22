//! What the fuzz targets share: the "a finding points inside its input" invariant, the check
//! that a scanner's spans are real byte ranges of the text, and the structured generators of
//! JavaScript and Python sources whose real imports are known (`js`, `py`).

pub mod js;
pub mod py;

use arbitrary::Arbitrary;
use merge_gates::fuzzing::Finding;

/// Text for inside a comment or string: characters of an alphabet and whole decoys.
#[derive(Arbitrary, Debug)]
pub enum Bit {
    Char(u8),
    Decoy(u8),
}

/// The raw text of `bits` (at most 64), before the place it lands in escapes it.
pub fn bits_text(bits: &[Bit], chars: &[u8], decoys: &[&str]) -> String {
    let mut raw = String::new();
    for b in bits.iter().take(64) {
        match b {
            Bit::Char(c) => raw.push(chars[*c as usize % chars.len()] as char),
            Bit::Decoy(d) => raw.push_str(decoys[*d as usize % decoys.len()]),
        }
    }
    raw
}

/// A generated program: up to 64 statements of one language, one per line.
#[derive(Arbitrary, Debug)]
pub struct Program<P> {
    pieces: Vec<P>,
}

/// A statement that renders itself into a `Source`.
pub trait Statement {
    fn render_into(&self, s: &mut Source);
}

impl<P: Statement> Program<P> {
    pub fn render(&self) -> Source {
        Source::of(&self.pieces, |s, p| p.render_into(s))
    }
}

/// A generated source and its real imports: (byte span of the module name, name).
#[derive(Default)]
pub struct Source {
    pub text: String,
    pub imports: Vec<(usize, usize, String)>,
}

impl Source {
    /// Render at most 64 statements, one per line.
    pub fn of<P>(pieces: &[P], mut piece: impl FnMut(&mut Source, &P)) -> Source {
        let mut s = Source::default();
        for p in pieces.iter().take(64) {
            piece(&mut s, p);
            s.text.push('\n');
        }
        s
    }

    /// Append a module name that the scanner must report, recording its span.
    pub fn import(&mut self, value: String) {
        let start = self.text.len();
        self.text.push_str(&value);
        self.imports.push((start, self.text.len(), value));
    }
}

/// The lines of `text` as a location counts them: split at `\n` (a trailing `\r` is part of
/// the line, which only makes the bound looser), in characters.
fn line_lengths(text: &str) -> Vec<usize> {
    text.split('\n').map(|l| l.chars().count()).collect()
}

/// Panics unless every finding's line and columns lie inside `text`: lines 1..=number of
/// lines, columns 1..=length of that line + 1 (one past the end points at the end of a line),
/// and the end not before the start.
pub fn assert_inside(text: &str, findings: &[Finding]) {
    let lines = line_lengths(text);
    for f in findings {
        let Some(l) = &f.location else { continue };
        let Some(line) = l.line else {
            assert!(
                l.column.is_none() && l.end_line.is_none() && l.end_column.is_none(),
                "a column without a line: {f:?}"
            );
            continue;
        };
        let line = line as usize;
        assert!(
            (1..=lines.len()).contains(&line),
            "line {line} is outside the input ({} lines): {f:?}",
            lines.len()
        );
        if let Some(c) = l.column {
            let c = c as usize;
            assert!(
                (1..=lines[line - 1] + 1).contains(&c),
                "column {c} is outside line {line} ({} chars): {f:?}",
                lines[line - 1]
            );
        }
        let end_line = l.end_line.map_or(line, |e| e as usize);
        assert!(
            (line..=lines.len()).contains(&end_line),
            "end line {end_line} is outside the input or before line {line}: {f:?}"
        );
        if let Some(e) = l.end_column {
            let e = e as usize;
            assert!(
                (1..=lines[end_line - 1] + 1).contains(&e),
                "end column {e} is outside line {end_line}: {f:?}"
            );
            if end_line == line {
                assert!(
                    l.column.is_none_or(|c| c as usize <= e),
                    "the span ends before it starts: {f:?}"
                );
            }
        }
    }
}

/// Panics unless every `(start, end, _)` is a byte range of `text` on character boundaries and
/// no two overlap. (Order is not checked: in broken code such as `import { x = require("a")
/// } from "b"` the statement's module is reported before the call inside it.)
pub fn assert_spans(text: &str, spans: &[(usize, usize, String)]) {
    let mut sorted: Vec<_> = spans.iter().collect();
    sorted.sort();
    for w in sorted.windows(2) {
        assert!(w[0].1 <= w[1].0, "spans overlap: {w:?}");
    }
    for (start, end, value) in spans {
        assert!(
            start <= end && *end <= text.len(),
            "span {start}..{end} of {value:?} is outside the input ({} bytes)",
            text.len()
        );
        assert!(
            text.is_char_boundary(*start) && text.is_char_boundary(*end),
            "span {start}..{end} of {value:?} splits a character"
        );
    }
}

/// The input as text: libFuzzer's bytes, lossily decoded (the gates decode with the same rules
/// or report non-UTF-8 themselves).
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// A deploy file of `kind` through the migration-safety deploy scanner: its findings, or the
/// place of its parse error, lie inside `text`.
pub fn check_deploy(kind: &str, text: &str) {
    match merge_gates::fuzzing::scan_deploy_file(kind, text) {
        Ok(findings) => assert_inside(text, &findings),
        Err((line, col)) => {
            let lines = line_lengths(text);
            assert!((1..=lines.len()).contains(&line), "error line {line}");
            assert!(
                (1..=lines[line - 1] + 1).contains(&col),
                "error column {col}"
            );
        }
    }
}
