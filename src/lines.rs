//! Streaming reader for JSON Lines / NDJSON files of any size: it cuts the stream into chunks
//! of whole lines, so that workers can split and check them in parallel.
//!
//! Memory stays bounded whatever the input: a chunk holds about `block` bytes (more only to
//! finish a line of at most `max_line` bytes), and a line longer than `max_line` that does not
//! fit is reported as too long (with its length) and skipped without being buffered. Line
//! numbers count `\n` in the file as written — nothing is trimmed first.

use std::io::{self, Read};

pub enum Chunk {
    /// Whole lines as written, the first of them line `first_line`; every line but possibly
    /// the last of the file ends in `\n`. Split them with [`lines`].
    Lines { first_line: usize, data: Vec<u8> },
    /// Line `line` is `len` bytes long (without its `\n`), over the limit; it was not kept.
    TooLong { line: usize, len: u64 },
}

pub struct ChunkReader<R> {
    inner: R,
    block: usize,
    max_line: usize,
    /// The start of a line that the previous chunk did not finish.
    carry: Vec<u8>,
    next_line: usize,
    eof: bool,
}

impl<R: Read> ChunkReader<R> {
    pub fn new(inner: R, block: usize, max_line: usize) -> Self {
        ChunkReader {
            inner,
            block: block.max(1),
            max_line,
            carry: Vec::new(),
            next_line: 1,
            eof: false,
        }
    }

    /// Read until `data` holds `want` bytes or the stream ends.
    fn fill(&mut self, data: &mut Vec<u8>, want: usize) -> io::Result<()> {
        while data.len() < want && !self.eof {
            let asked = (want - data.len()) as u64;
            let got = (&mut self.inner).take(asked).read_to_end(data)?;
            if (got as u64) < asked {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// The next chunk, or `None` at the end.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut data = std::mem::take(&mut self.carry);
        data.reserve(self.block);
        let mut want = self.block;
        loop {
            self.fill(&mut data, want)?;
            if self.eof {
                if data.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.lines(data)));
            }
            if let Some(i) = memchr::memrchr(b'\n', &data) {
                self.carry = data[i + 1..].to_vec();
                data.truncate(i + 1);
                return Ok(Some(self.lines(data)));
            }
            if data.len() > self.max_line {
                return self.skip_line(data.len() as u64).map(Some);
            }
            // One line longer than a block but within the limit: read on to its end.
            want = data.len() + self.block;
        }
    }

    /// Skip the rest of a line already `len` bytes long, keeping what follows it.
    fn skip_line(&mut self, mut len: u64) -> io::Result<Chunk> {
        let mut buf = vec![0; 64 << 10];
        loop {
            let n = match self.inner.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                len += i as u64;
                self.carry = buf[i + 1..n].to_vec();
                break;
            }
            len += n as u64;
        }
        let line = self.next_line;
        self.next_line += 1;
        Ok(Chunk::TooLong { line, len })
    }

    fn lines(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count();
        if data.last() != Some(&b'\n') {
            self.next_line += 1;
        }
        Chunk::Lines { first_line, data }
    }
}

pub enum Line<'a> {
    Text(&'a [u8]),
    TooLong { len: u64 },
}

/// The lines of a `Chunk::Lines`'s data with their numbers, without `\n` and a trailing `\r`
/// (CRLF files); a line over `max_line` bytes is `TooLong`, wherever it was cut.
pub fn lines(
    first_line: usize,
    data: &[u8],
    max_line: usize,
) -> impl Iterator<Item = (usize, Line<'_>)> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', data)
        .chain((data.last() != Some(&b'\n') && !data.is_empty()).then_some(data.len()));
    let mut n = first_line;
    std::iter::from_fn(move || {
        let end = ends.next()?;
        let line = &data[start..end];
        start = end + 1;
        n += 1;
        let line = if line.len() > max_line {
            Line::TooLong {
                len: line.len() as u64,
            }
        } else {
            Line::Text(line.strip_suffix(b"\r").unwrap_or(line))
        };
        Some((n - 1, line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 3 bytes per read, like a pipe.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn collect(input: &[u8], block: usize, max: usize) -> Vec<(usize, String)> {
        let mut r = ChunkReader::new(Trickle(input), block, max);
        let mut out = Vec::new();
        while let Some(chunk) = r.next_chunk().unwrap() {
            match chunk {
                Chunk::Lines { first_line, data } => {
                    assert!(data.len() <= block + max + 1, "chunk of {}", data.len());
                    for (n, l) in lines(first_line, &data, max) {
                        out.push((
                            n,
                            match l {
                                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                Line::TooLong { len } => format!("<{len}>"),
                            },
                        ));
                    }
                }
                Chunk::TooLong { line, len } => out.push((line, format!("<{len}>"))),
            }
        }
        out
    }

    #[test]
    fn numbers_lines_as_written_whatever_the_block_size() {
        let input = b"a\r\n\nlong-line-here\nb";
        for block in 1..=input.len() + 1 {
            let got = collect(input, block, 5);
            assert_eq!(
                got,
                [
                    (1, "a".into()),
                    (2, "".into()),
                    (3, "<14>".into()),
                    (4, "b".into())
                ],
                "block {block}"
            );
        }
        assert!(collect(b"", 4, 5).is_empty());
        assert_eq!(collect(b"x\n", 4, 5), [(1, "x".into())]);
        assert_eq!(collect(b"\n\n", 1, 5), [(1, "".into()), (2, "".into())]);
        assert_eq!(collect(b"0123456789", 2, 5), [(1, "<10>".into())]);
    }
}
