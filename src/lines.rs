//! Streaming line reader for JSON Lines / NDJSON files of any size.
//!
//! Memory stays bounded whatever the input: a line longer than `max_line` is reported as too
//! long (with its length) and skipped without being buffered. Line numbers count `\n` in the
//! file as written — nothing is trimmed first — and a trailing `\r` is dropped (CRLF files).

use std::io::{self, BufRead};

pub enum Line<'a> {
    Text(&'a [u8]),
    TooLong { len: u64 },
}

pub struct LineReader<R> {
    inner: R,
    max_line: usize,
    buf: Vec<u8>,
    number: usize,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        LineReader {
            inner,
            max_line,
            buf: Vec::new(),
            number: 0,
            done: false,
        }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(usize, Line<'_>)>> {
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                self.done = true;
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (take, newline) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            len += take as u64;
            if !too_long {
                if self.buf.len() + take > self.max_line {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take + usize::from(newline));
            if newline {
                break;
            }
        }
        self.number += 1;
        if too_long {
            return Ok(Some((self.number, Line::TooLong { len })));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.number, Line::Text(&self.buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<(usize, String)> {
        let mut r = LineReader::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some((n, l)) = r.next_line().unwrap() {
            out.push((
                n,
                match l {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::TooLong { len } => format!("<{len}>"),
                },
            ));
        }
        out
    }

    #[test]
    fn numbers_lines_as_written() {
        let got = collect(b"a\r\n\nlong-line-here\nb", 5);
        assert_eq!(
            got,
            [
                (1, "a".into()),
                (2, "".into()),
                (3, "<14>".into()),
                (4, "b".into())
            ]
        );
        assert!(collect(b"", 5).is_empty());
        assert_eq!(collect(b"x\n", 5), [(1, "x".into())]);
    }
}
