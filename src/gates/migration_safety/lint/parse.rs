//! One parse per migration file with PostgreSQL's own grammar (libpg_query, linked in by the
//! `pg_query` crate), and the file's text as positions.
//!
//! We call libpg_query's protobuf entry point directly instead of `pg_query::parse` for two
//! reasons: a syntax error keeps PostgreSQL's cursor position (the crate keeps only the
//! message), and no summary walk of tables and functions runs that the lint does not use. The
//! tree is the crate's own `protobuf::ParseResult`, so the rules use its typed nodes.

use pg_query::protobuf::ParseResult;
use prost::Message;
use std::ffi::{c_char, c_int, CStr, CString};

/// `PgQueryError` in `pg_query.h`.
#[repr(C)]
struct PgQueryError {
    message: *mut c_char,
    funcname: *mut c_char,
    filename: *mut c_char,
    lineno: c_int,
    cursorpos: c_int,
    context: *mut c_char,
}

/// `PgQueryProtobuf` in `pg_query.h`.
#[repr(C)]
struct PgQueryProtobuf {
    len: usize,
    data: *mut c_char,
}

/// `PgQueryProtobufParseResult` in `pg_query.h`.
#[repr(C)]
struct PgQueryProtobufParseResult {
    parse_tree: PgQueryProtobuf,
    stderr_buffer: *mut c_char,
    error: *mut PgQueryError,
}

extern "C" {
    fn pg_query_parse_protobuf(input: *const c_char) -> PgQueryProtobufParseResult;
    fn pg_query_free_protobuf_parse_result(result: PgQueryProtobufParseResult);
}

/// Stack of the threads that decode and walk parse trees: libpg_query emits trees up to 10,000
/// levels deep, and decoding, linting and dropping one recurses once per level (about 10 KiB a
/// level in a debug build). Only the pages used are ever touched.
pub const STACK: usize = 512 << 20;

/// Run `f` on a thread with a `STACK`-sized stack.
pub fn with_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("sql-tree".into())
            .stack_size(STACK)
            .spawn_scoped(s, f)
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(e) => panic!("could not start a thread to parse SQL: {e}"),
        }
    })
}

/// Why a file did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// PostgreSQL's message, e.g. `syntax error at or near "TABL"`.
    pub message: String,
    /// Byte offset into the text where PostgreSQL's cursor points, when it gives one.
    pub offset: Option<usize>,
}

impl SyntaxError {
    /// Valid SQL nested deeper than libpg_query can hand over (10,000 levels) or than
    /// PostgreSQL's parser stack allows: not a syntax error of the file.
    pub fn too_deep(&self) -> bool {
        self.message.contains("nested too deeply") || self.message.contains("stack depth limit")
    }
}

/// Parse a whole file. Never panics on any input.
pub fn parse(text: &str) -> Result<ParseResult, SyntaxError> {
    let input = CString::new(text).map_err(|e| SyntaxError {
        message: "the file contains a NUL byte".into(),
        offset: Some(e.nul_position()),
    })?;
    // SAFETY: `input` is a valid NUL-terminated string that outlives the call; the result is
    // read only before it is freed, exactly once, by the library's own free function; the
    // structs above mirror the C declarations of libpg_query 18 field by field.
    unsafe {
        let result = pg_query_parse_protobuf(input.as_ptr());
        let out = if !result.error.is_null() {
            let e = &*result.error;
            let message = if e.message.is_null() {
                "PostgreSQL could not parse the file".to_string()
            } else {
                CStr::from_ptr(e.message).to_string_lossy().into_owned()
            };
            Err(SyntaxError {
                message,
                offset: char_to_byte(text, e.cursorpos),
            })
        } else if result.parse_tree.data.is_null() {
            Ok(ParseResult::default())
        } else {
            let data = std::slice::from_raw_parts(
                result.parse_tree.data as *const u8,
                result.parse_tree.len,
            );
            ParseResult::decode(data).map_err(|e| SyntaxError {
                message: format!("the parse tree could not be decoded: {e}"),
                offset: None,
            })
        };
        pg_query_free_protobuf_parse_result(result);
        out
    }
}

/// The largest statement parsed: a parse tree takes up to ~850 times the memory of its text
/// (one 15 MiB `INSERT … VALUES` took 11 GB), so a longer statement is not parsed, and a file
/// longer than this is parsed a piece at a time.
pub const MAX_STATEMENT_BYTES: usize = 128 << 10;

/// A byte range of whole statements; `oversized`: one statement over `MAX_STATEMENT_BYTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    pub oversized: bool,
}

/// The file cut after whole statements into pieces of about `max` bytes that cover it, with
/// the number of statements; a statement over `MAX_STATEMENT_BYTES` is a piece of its own,
/// marked. `None` when PostgreSQL's scanner cannot split it.
pub fn pieces(text: &str, max: usize) -> Option<(usize, Vec<Piece>)> {
    let stmts = pg_query::split_with_scanner(text).ok()?;
    let mut out = Vec::new();
    let mut start = 0;
    let piece = |start, end, oversized| Piece {
        start,
        end,
        oversized,
    };
    for s in &stmts {
        let at = s.as_ptr() as usize - text.as_ptr() as usize;
        let end = at + s.len();
        if s.len() > MAX_STATEMENT_BYTES {
            if at > start {
                out.push(piece(start, at, false));
            }
            out.push(piece(at, end, true));
            start = end;
        } else if end - start >= max {
            out.push(piece(start, end, false));
            start = end;
        }
    }
    if start < text.len() || out.is_empty() {
        out.push(piece(start, text.len(), false));
    }
    Some((stmts.len(), out))
}

/// Parse `text[start..end]`, a piece of whole statements: statement locations and a syntax
/// error's offset become offsets into the whole text (the locations inside the tree stay
/// relative to the piece: `Linter::shift`), the first statement starts at the piece, and
/// the last ends with it.
pub fn parse_piece(text: &str, piece: Piece) -> Result<ParseResult, SyntaxError> {
    let (start, end) = (piece.start, piece.end);
    let mut tree = parse(&text[start..end]).map_err(|e| SyntaxError {
        offset: e.offset.map(|o| o + start),
        ..e
    })?;
    for s in &mut tree.stmts {
        let loc = usize::try_from(s.stmt_location).unwrap_or(0);
        let len = match usize::try_from(s.stmt_len) {
            Ok(0) | Err(_) => end - start - loc.min(end - start),
            Ok(n) => n,
        };
        s.stmt_location = i32::try_from(loc + start).unwrap_or(i32::MAX);
        s.stmt_len = i32::try_from(len).unwrap_or(i32::MAX);
    }
    Ok(tree)
}

/// PostgreSQL's cursor position is a 1-based character count (0 = none).
fn char_to_byte(text: &str, cursorpos: c_int) -> Option<usize> {
    let n = usize::try_from(cursorpos).ok()?.checked_sub(1)?;
    Some(text.char_indices().nth(n).map_or(text.len(), |(b, _)| b))
}

/// The offset of the first token at or after `from`: whitespace, `-- …` and (nested)
/// `/* … */` comments are skipped. Statement locations start right after the previous `;`.
pub fn skip_trivia(text: &str, from: usize) -> usize {
    crate::text::skip_sql_trivia(text, from, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_cursor_and_positions_count_characters() {
        let text = "SELECT 1;\n-- é\nALTER TABL t ADD x int;\n";
        let e = parse(text).unwrap_err();
        assert!(e.message.contains("TABL"), "{}", e.message);
        let lines = crate::text::LineIndex::new(text);
        assert_eq!(lines.pos(e.offset.unwrap()), (3, 7));
        assert_eq!(lines.pos(text.find('é').unwrap() + 2), (2, 5));
        assert!(parse("a\0b").unwrap_err().message.contains("NUL"));
        assert!(parse("").unwrap().stmts.is_empty());
        assert_eq!(skip_trivia("  /* a /* b */ c */ -- x\n  DROP", 0), 27);
    }
}
