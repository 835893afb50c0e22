//! The imported modules of a Python file: `import a.b as c, d` and `from a.b import c`, found
//! by a tokenizer that knows Python's comments, strings (every prefix, triple quotes, and
//! f-strings whose `{…}` fields hold further strings) and logical lines (brackets and `\`
//! continue a line; `;` and a block's `:` start a new statement). Docstrings, comments and
//! prose never count; relative imports (`from . import x`) name local code and are skipped.

use super::{Form, Import};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Dot,
    Comma,
    /// Anything else (operators, numbers, strings, brackets).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// The first token of a statement.
    stmt_start: bool,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    depth: usize,
    stmt_start: bool,
    /// The current statement is an `import` or `from` statement: its tokens are kept.
    keep: bool,
    tokens: Vec<Token>,
}

/// The byte length of the character at `pos` when it is part of a name, else 0: ASCII letters,
/// digits and `_`, and any other character but Unicode whitespace (Python splits tokens only at
/// ASCII whitespace and rejects the others, so a no-break space is never inside a name).
fn name_char(src: &[u8], pos: usize) -> usize {
    match src[pos] {
        b if b.is_ascii_alphanumeric() || b == b'_' => 1,
        b if b < 0x80 => 0,
        _ => match non_ascii(src, pos) {
            (_, Some(c)) if c.is_whitespace() => 0,
            (len, _) => len,
        },
    }
}

/// The non-ASCII character at `pos`: its byte length and the character (`None` when `pos` is
/// not at the start of one, which counts as one byte).
fn non_ascii(src: &[u8], pos: usize) -> (usize, Option<char>) {
    let len = match src[pos] {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    };
    let c = std::str::from_utf8(&src[pos..(pos + len).min(src.len())])
        .ok()
        .and_then(|s| s.chars().next());
    (if c.is_some() { len } else { 1 }, c)
}

/// The end of the name starting at `pos` (`pos` itself when none starts there).
fn name_end(src: &[u8], mut pos: usize) -> usize {
    while pos < src.len() {
        match name_char(src, pos) {
            0 => break,
            n => pos += n,
        }
    }
    pos
}

fn is_string_prefix(word: &[u8]) -> bool {
    word.len() <= 3
        && word
            .iter()
            .all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'))
}

impl<'a> Lexer<'a> {
    fn push(&mut self, kind: Kind, start: usize) {
        // Only `import` and `from` statements are matched, so the tokens of other statements
        // are not kept: memory follows the imports, not the size of the file.
        if self.stmt_start {
            self.keep =
                kind == Kind::Name && matches!(&self.src[start..self.pos], b"import" | b"from");
        }
        if self.keep {
            self.tokens.push(Token {
                kind,
                start,
                end: self.pos,
                stmt_start: self.stmt_start,
            });
        }
        self.stmt_start = false;
    }

    fn run(mut self) -> Vec<Token> {
        while self.pos < self.src.len() {
            let b = self.src[self.pos];
            let start = self.pos;
            match b {
                b'\n' => {
                    self.pos += 1;
                    if self.depth == 0 {
                        self.stmt_start = true;
                    }
                }
                b'\\' if self.src.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                b'\\' if self.src[self.pos + 1..].starts_with(b"\r\n") => self.pos += 3,
                b' ' | b'\t' | b'\r' | 0x0c | b'\\' => self.pos += 1,
                b'#' => {
                    self.pos = memchr::memchr(b'\n', &self.src[self.pos..])
                        .map_or(self.src.len(), |i| self.pos + i);
                }
                b'"' | b'\'' => {
                    self.string(false);
                    self.push(Kind::Other, start);
                }
                b'(' | b'[' | b'{' => {
                    self.depth += 1;
                    self.pos += 1;
                    self.push(Kind::Other, start);
                }
                b')' | b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.pos += 1;
                    self.push(Kind::Other, start);
                }
                b';' | b':' if self.depth == 0 && self.src.get(self.pos + 1) != Some(&b'=') => {
                    self.pos += 1;
                    self.push(Kind::Other, start);
                    self.stmt_start = true;
                }
                b'.' => {
                    self.pos += 1;
                    self.push(Kind::Dot, start);
                }
                b',' => {
                    self.pos += 1;
                    self.push(Kind::Comma, start);
                }
                _ if name_char(self.src, self.pos) > 0 => {
                    self.pos = name_end(self.src, self.pos);
                    let word = &self.src[start..self.pos];
                    if matches!(self.src.get(self.pos), Some(b'"' | b'\''))
                        && is_string_prefix(word)
                    {
                        let f = word
                            .iter()
                            .any(|c| matches!(c.to_ascii_lowercase(), b'f' | b't'));
                        self.string(f);
                        self.push(Kind::Other, start);
                    } else {
                        self.push(Kind::Name, start);
                    }
                }
                // Unicode whitespace: a separator, as ASCII whitespace is.
                0x80.. => self.pos += non_ascii(self.src, self.pos).0,
                _ => {
                    self.pos += 1;
                    self.push(Kind::Other, start);
                }
            }
        }
        self.tokens
    }

    /// A string literal starting at its quote. A single-quoted string ends at a line break
    /// (unterminated); in an f-string each `{…}` field is lexed as code, strings and all.
    fn string(&mut self, f: bool) {
        let quote = self.src[self.pos];
        let triple = self.src[self.pos..].starts_with(&[quote; 3]);
        self.pos += if triple { 3 } else { 1 };
        while self.pos < self.src.len() {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'\n' if !triple => return,
                b'{' if f => {
                    if self.src.get(self.pos + 1) == Some(&b'{') {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        self.field();
                    }
                }
                c if c == quote => {
                    if !triple {
                        self.pos += 1;
                        return;
                    }
                    if self.src[self.pos..].starts_with(&[quote; 3]) {
                        self.pos += 3;
                        return;
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.src.len());
    }

    /// An f-string replacement field after its `{`, up to the matching `}`.
    fn field(&mut self) {
        let mut depth = 0usize;
        while self.pos < self.src.len() {
            let b = self.src[self.pos];
            match b {
                b'"' | b'\'' => self.string(false),
                b'{' | b'(' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' if depth == 0 => {
                    self.pos += 1;
                    return;
                }
                b'}' | b')' | b']' => {
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                }
                _ if name_char(self.src, self.pos) > 0 => {
                    let start = self.pos;
                    self.pos = name_end(self.src, self.pos);
                    if matches!(self.src.get(self.pos), Some(b'"' | b'\''))
                        && is_string_prefix(&self.src[start..self.pos])
                    {
                        let f = self.src[start..self.pos]
                            .iter()
                            .any(|c| matches!(c.to_ascii_lowercase(), b'f' | b't'));
                        self.string(f);
                    }
                }
                0x80.. => self.pos += non_ascii(self.src, self.pos).0,
                _ => self.pos += 1,
            }
        }
    }
}

/// Every absolute module an `import` or `from … import` statement of `src` names.
pub fn imports(src: &str) -> Vec<Import> {
    let bytes = src.as_bytes();
    let toks = Lexer {
        src: bytes,
        pos: 0,
        depth: 0,
        stmt_start: true,
        keep: false,
        tokens: Vec::new(),
    }
    .run();
    let word = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Kind::Name)
            .map(|t| &bytes[t.start..t.end])
    };
    let mut out = Vec::new();
    // A dotted name from `i`: its end token index (exclusive) and byte span.
    let dotted = |mut i: usize| -> Option<(usize, usize, usize)> {
        let start = toks
            .get(i)
            .filter(|t| t.kind == Kind::Name && !t.stmt_start)?
            .start;
        let mut end = toks[i].end;
        i += 1;
        // A dotted name never runs into the next statement.
        while toks
            .get(i)
            .is_some_and(|t| t.kind == Kind::Dot && !t.stmt_start)
            && toks
                .get(i + 1)
                .is_some_and(|t| t.kind == Kind::Name && !t.stmt_start)
        {
            end = toks[i + 1].end;
            i += 2;
        }
        Some((i, start, end))
    };
    let mut push = |start: usize, end: usize, form: Form| {
        // Continuation lines inside a dotted name are squeezed out of the value.
        let value: String = src[start..end]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        out.push(Import {
            start,
            end,
            value,
            form,
        });
    };
    for (i, t) in toks.iter().enumerate() {
        if !t.stmt_start {
            continue;
        }
        match word(i) {
            Some(b"import") => {
                let mut j = i + 1;
                while let Some((next, start, end)) = dotted(j) {
                    push(start, end, Form::Import);
                    j = next;
                    if word(j) == Some(b"as") {
                        j += 2;
                    }
                    if toks
                        .get(j)
                        .is_some_and(|t| t.kind == Kind::Comma && !t.stmt_start)
                    {
                        j += 1;
                    } else {
                        break;
                    }
                }
            }
            Some(b"from") => {
                if let Some((next, start, end)) = dotted(i + 1) {
                    if word(next) == Some(b"import") {
                        push(start, end, Form::FromImport);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(src: &str) -> Vec<String> {
        imports(src).into_iter().map(|i| i.value).collect()
    }

    #[test]
    fn import_statements() {
        let src = "import os\nimport a.b as c, d\nfrom shopify_dev_mcp.client import (\n    Client,\n)\nfrom . import local\nfrom .pkg import x\nif x: import e\nx = 1; import f\ndef g():\n    from h import i\nfrom j \\\n  import k\n";
        assert_eq!(
            values(src),
            [
                "os",
                "a.b",
                "d",
                "shopify_dev_mcp.client",
                "e",
                "f",
                "h",
                "j"
            ]
        );
    }

    #[test]
    fn strings_comments_and_docstrings_are_not_imports() {
        let src = r#""""Module docs.
import shopify_dev_mcp
"""
# import context7_mcp
s = 'from shopify_dev_mcp import x'
t = f"{'import a'} {x!r:>{width}} {f"{"nested"}"} import b"
u = rb'\'' ; import real
w = (
    import_me,
)
from_ = 1
"#;
        assert_eq!(values(src), ["real"]);
    }

    #[test]
    fn unicode_whitespace_separates_names() {
        // Python splits tokens only at ASCII whitespace and rejects other spaces, so an
        // ideographic space or a no-break space is never part of a module's name: a name made of
        // one would have an empty value (found by the scan_py fuzz target).
        assert!(values("import \u{3000}\n").is_empty());
        assert!(values("from \u{a0} import x\n").is_empty());
        assert_eq!(values("import a\u{3000}b\n"), ["a"]);
        assert_eq!(values("import \u{85}caf\u{e9}\n"), ["caf\u{e9}"]);
    }

    #[test]
    fn hostile_input_stays_linear() {
        let started = std::time::Instant::now();
        assert_eq!(imports(&"import a,\n".repeat(200_000)).len(), 200_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn garbage_never_panics() {
        for src in [
            "f'{",
            "'''",
            "import",
            "from",
            "from .",
            "\\",
            "f\"{'",
            "import a.",
            "x = (\nimport y",
        ] {
            let _ = imports(src);
        }
    }
}
