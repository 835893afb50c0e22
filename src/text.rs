//! Small text helpers for showing untrusted input inside messages.

/// At most `max` characters of `s`, control characters made visible, `…` when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Like `excerpt`, for bytes that may not be UTF-8.
pub fn excerpt_bytes(b: &[u8], max: usize) -> String {
    excerpt(&String::from_utf8_lossy(&b[..b.len().min(max * 4)]), max)
}

/// `1234567` → `1,234,567`.
/// `1 error`, `3 errors`: a count with the right form of its noun.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` with every lone CR (one not followed by LF) made an LF, byte for byte as long, so
/// offsets into it stay offsets into `text`: for readers of formats in which a lone CR ends a
/// line (JavaScript, Python, YAML, SQL) but that split lines at LF.
pub fn lone_cr_as_lf(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let lone = |i: usize| b[i] == b'\r' && b.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', b).any(lone) {
        return text.into();
    }
    let out: String = text
        .char_indices()
        .map(|(i, c)| if c == '\r' && lone(i) { '\n' } else { c })
        .collect();
    out.into()
}

/// Byte offsets of one text → 1-based line and column (columns count characters). Built once
/// per file; each lookup is a binary search. An offset inside a character counts as that
/// character's start; one past the end is the end of the last line.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// (line, column) of a byte offset, both 1-based.
    pub fn pos(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let idx = self.starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.starts[idx]..offset].chars().count() + 1;
        (idx + 1, col)
    }
}

/// The offset of the first SQL token in `text[from..to]`, or `to` when there is none:
/// whitespace, `-- …` line comments and (nested) `/* … */` comments are skipped.
pub fn skip_sql_trivia(text: &str, from: usize, to: usize) -> usize {
    let b = text.as_bytes();
    let to = to.min(b.len());
    let mut i = from;
    while i < to {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..to]).map_or(to, |n| i + n + 1)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < to {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            _ => return i,
        }
    }
    to
}

/// The largest index at most `i` that is a character boundary of `s` (`s.len()` when `i` is past
/// the end): where to cut a text to at most `i` bytes without splitting a character.
pub fn floor_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    (0..=i).rev().find(|&c| s.is_char_boundary(c)).unwrap_or(0)
}
