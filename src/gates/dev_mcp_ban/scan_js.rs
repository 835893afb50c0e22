//! The module specifiers of a JavaScript/TypeScript file, found the way the language defines
//! them, not by grepping text.
//!
//! A lexer splits the source into tokens, skipping comments, and keeps string, template and
//! regex literals whole: a template's `${…}` parts are lexed as code (with a brace stack, so
//! templates nest to any depth), and `/` is read as a regex or a division from the token before
//! it, as engines do. Over the tokens, the import forms are recognised: `import … from "x"` (on
//! any number of lines), `import "x"`, `export … from "x"`, `import("x")`, `require("x")` and
//! TypeScript's `import x = require("x")`. Text inside strings, comments, templates and JSX is
//! never an import, and identifiers such as `devMCPBan` are just identifiers. The lexer runs a
//! bounded window ahead of the matcher, so memory does not grow with the file. Malformed input
//! (unterminated strings, stray braces) never panics: the lexer recovers at the next line.

use super::{Form, Import};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    /// A string literal, or a template without substitutions (`start..end` includes quotes).
    Str,
    /// A part of a template with substitutions: never a specifier.
    Template,
    Regex,
    Num,
    /// One punctuator, by its first byte; `...` is `S`, `++`/`--` are `P`, `?.` is `.`.
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// A line break separates this token from the one before it.
    newline_before: bool,
}

/// Keywords after which `/` starts a regex literal rather than a division.
const BEFORE_REGEX: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
];

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// The tokens not yet forgotten (see `Window`).
    tokens: VecDeque<Token>,
    /// One entry per open `{`: `true` when it is a template's `${`.
    braces: Vec<bool>,
    newline: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b == b'#' || b == b'\\' || b >= 0x80
}

fn is_ident_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'\\' || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.tokens.push_back(Token {
            kind,
            start,
            end: self.pos,
            newline_before: self.newline,
        });
        self.newline = false;
    }

    fn regex_allowed(&self) -> bool {
        match self.tokens.back() {
            None => true,
            Some(t) => match t.kind {
                Kind::Punct(b')' | b']' | b'P') => false,
                Kind::Punct(_) => true,
                Kind::Ident => BEFORE_REGEX.contains(&&self.src[t.start..t.end]),
                Kind::Str | Kind::Template | Kind::Regex | Kind::Num => false,
            },
        }
    }

    fn new(src: &'a [u8]) -> Self {
        let mut lexer = Lexer {
            src,
            pos: 0,
            tokens: VecDeque::new(),
            braces: Vec::new(),
            newline: false,
        };
        if src.starts_with(b"#!") {
            lexer.skip_line();
        }
        lexer
    }

    /// Lex until `want` tokens (counting forgotten ones) exist or the source ends; how many do.
    fn fill(&mut self, want: usize, forgotten: usize) -> usize {
        while forgotten + self.tokens.len() < want && self.pos < self.src.len() {
            self.step();
        }
        forgotten + self.tokens.len()
    }

    /// One token, or a stretch of white space or a comment.
    fn step(&mut self) {
        {
            let b = self.src[self.pos];
            let start = self.pos;
            match b {
                b'\n' => {
                    self.newline = true;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                // U+2028 and U+2029 end a line, U+FEFF is white space.
                0xe2 if self.peek(1) == 0x80 && matches!(self.peek(2), 0xa8 | 0xa9) => {
                    self.newline = true;
                    self.pos += 3;
                }
                0xef if self.peek(1) == 0xbb && self.peek(2) == 0xbf => self.pos += 3,
                b'/' if self.peek(1) == b'/' => self.skip_line(),
                b'/' if self.peek(1) == b'*' => self.skip_block_comment(),
                b'/' if self.regex_allowed() => {
                    self.skip_regex();
                    self.push(Kind::Regex, start);
                }
                b'"' | b'\'' => {
                    self.skip_string(b);
                    self.push(Kind::Str, start);
                }
                b'`' => {
                    self.pos += 1;
                    self.template(start, false);
                }
                b'{' => {
                    self.braces.push(false);
                    self.pos += 1;
                    self.push(Kind::Punct(b'{'), start);
                }
                b'}' => {
                    self.pos += 1;
                    if self.braces.pop() == Some(true) {
                        // The end of a template's `${…}`: the template text resumes.
                        self.template(start, true);
                    } else {
                        self.push(Kind::Punct(b'}'), start);
                    }
                }
                b'0'..=b'9' => {
                    self.skip_number();
                    self.push(Kind::Num, start);
                }
                b'.' if self.peek(1).is_ascii_digit() => {
                    self.skip_number();
                    self.push(Kind::Num, start);
                }
                b'.' if self.peek(1) == b'.' && self.peek(2) == b'.' => {
                    self.pos += 3;
                    self.push(Kind::Punct(b'S'), start);
                }
                b'?' if self.peek(1) == b'.' && !self.peek(2).is_ascii_digit() => {
                    self.pos += 2;
                    self.push(Kind::Punct(b'.'), start);
                }
                b'+' | b'-' if self.peek(1) == b => {
                    self.pos += 2;
                    self.push(Kind::Punct(b'P'), start);
                }
                _ if is_ident_start(b) => {
                    self.pos += 1;
                    while self.pos < self.src.len() && is_ident_part(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    self.push(Kind::Ident, start);
                }
                _ => {
                    self.pos += 1;
                    self.push(Kind::Punct(b), start);
                }
            }
        }
    }

    /// To the end of a `//` comment: LF, or U+2028 / U+2029, which end a line in JavaScript
    /// too (a lone CR was made an LF before lexing).
    fn skip_line(&mut self) {
        let rest = &self.src[self.pos..];
        let lf = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let sep = memchr::memmem::find_iter(&rest[..lf], b"\xe2\x80")
            .find(|&i| matches!(rest.get(i + 2), Some(0xa8 | 0xa9)));
        self.pos += sep.unwrap_or(lf);
    }

    fn skip_block_comment(&mut self) {
        let rest = &self.src[self.pos + 2..];
        let len = memchr::memmem::find(rest, b"*/").map_or(rest.len(), |i| i + 2);
        if memchr::memchr(b'\n', &rest[..len]).is_some() {
            self.newline = true;
        }
        self.pos += 2 + len;
    }

    /// A quoted string; an unescaped line break ends an unterminated one.
    fn skip_string(&mut self, quote: u8) {
        self.pos += 1;
        while self.pos < self.src.len() {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'\n' => return,
                c => {
                    self.pos += 1;
                    if c == quote {
                        return;
                    }
                }
            }
        }
        self.pos = self.pos.min(self.src.len());
    }

    /// Template text from `pos` (just after `` ` `` or a substitution's `}`) to the closing
    /// backtick or the next `${`, which opens a substitution lexed as code.
    fn template(&mut self, start: usize, resumed: bool) {
        while self.pos < self.src.len() {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'`' => {
                    self.pos += 1;
                    let kind = if resumed { Kind::Template } else { Kind::Str };
                    self.push(kind, start);
                    return;
                }
                b'$' if self.peek(1) == b'{' => {
                    self.pos += 2;
                    self.braces.push(true);
                    self.push(Kind::Template, start);
                    return;
                }
                b'\n' => {
                    self.newline = true;
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.src.len();
        self.push(Kind::Template, start);
    }

    fn skip_regex(&mut self) {
        self.pos += 1;
        let mut class = false;
        while self.pos < self.src.len() {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'\n' => return,
                b'[' => {
                    class = true;
                    self.pos += 1;
                }
                b']' => {
                    class = false;
                    self.pos += 1;
                }
                b'/' if !class => {
                    self.pos += 1;
                    while self.pos < self.src.len() && is_ident_part(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    return;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.src.len());
    }

    fn skip_number(&mut self) {
        let start = self.pos;
        let hex = matches!(self.src.get(start + 1), Some(b'x' | b'X'));
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            let exp_sign = (c == b'+' || c == b'-')
                && !hex
                && self.pos > start
                && matches!(self.src[self.pos - 1], b'e' | b'E');
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exp_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
    }
}

/// The tokens around the one being matched: the matcher looks back one token and ahead at most
/// `LOOKAHEAD`, so the lexer runs that far ahead and tokens behind are forgotten. Memory stays
/// flat however many tokens a file has (a 16 MiB line of `;` is 16 million of them).
struct Window<'a> {
    lexer: Lexer<'a>,
    /// Tokens forgotten so far: the global index of `lexer.tokens[0]`.
    base: usize,
}

/// How far past the current token the matcher may look: a whole clause, `from` and its string.
const LOOKAHEAD: usize = MAX_CLAUSE_TOKENS + 4;

impl Window<'_> {
    fn get(&self, i: usize) -> Option<&Token> {
        self.lexer.tokens.get(i.checked_sub(self.base)?)
    }
}

/// Every module specifier of `src` that names a module by a string literal.
pub fn imports(src: &str) -> Vec<Import> {
    let mut toks = Window {
        lexer: Lexer::new(src.as_bytes()),
        base: 0,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while toks.lexer.fill(i + LOOKAHEAD, toks.base) > i {
        match_at(&toks, src, i, &mut out);
        while toks.base + 1 < i {
            toks.lexer.tokens.pop_front();
            toks.base += 1;
        }
        i += 1;
    }
    out
}

/// The import form starting at token `i`, if any.
fn match_at(toks: &Window<'_>, src: &str, i: usize, out: &mut Vec<Import>) {
    let bytes = src.as_bytes();
    let text = |t: &Token| &bytes[t.start..t.end];
    let ident = |i: usize, word: &[u8]| {
        toks.get(i)
            .is_some_and(|t| t.kind == Kind::Ident && text(t) == word)
    };
    let punct = |i: usize, c: u8| toks.get(i).is_some_and(|t| t.kind == Kind::Punct(c));
    let string = |i: usize| toks.get(i).filter(|t| t.kind == Kind::Str);
    // `import`/`export` declarations stand at the start of a statement.
    let statement_start = |i: usize| match i.checked_sub(1).and_then(|p| toks.get(p)) {
        None => true,
        Some(prev) => {
            matches!(prev.kind, Kind::Punct(b';' | b'{' | b'}'))
                || (toks.get(i).is_some_and(|t| t.newline_before)
                    && matches!(
                        prev.kind,
                        Kind::Ident
                            | Kind::Str
                            | Kind::Template
                            | Kind::Num
                            | Kind::Regex
                            | Kind::Punct(b')' | b']')
                    ))
        }
    };
    let after_dot = |i: usize| i > 0 && punct(i - 1, b'.');
    let mut found = |t: &Token, form: Form| {
        // The contents, without the quotes (an unterminated string has no closing one).
        let (start, mut end) = (t.start + 1, t.end);
        if end > start && bytes[end - 1] == bytes[t.start] {
            end -= 1;
        }
        if let Some(value) = src.get(start..end).and_then(decode) {
            out.push(Import {
                start,
                end,
                value,
                form,
            });
        }
    };
    let Some(tok) = toks
        .get(i)
        .filter(|t| t.kind == Kind::Ident && !after_dot(i))
    else {
        return;
    };
    {
        match text(tok) {
            b"import" if punct(i + 1, b'(') => {
                if let Some(t) = string(i + 2) {
                    found(t, Form::DynamicImport);
                }
            }
            b"import" if punct(i + 1, b'.') => {} // import.meta
            b"import" if statement_start(i) => {
                if let Some(t) = string(i + 1) {
                    found(t, Form::Import);
                } else if let Some(j) = clause_then_from(toks, bytes, i + 1, false) {
                    if let Some(t) = string(j) {
                        found(t, Form::ImportFrom);
                    }
                }
            }
            b"export" if statement_start(i) => {
                if let Some(j) = clause_then_from(toks, bytes, i + 1, true) {
                    if let Some(t) = string(j) {
                        found(t, Form::ExportFrom);
                    }
                }
            }
            b"require" if punct(i + 1, b'(') && !ident(i.wrapping_sub(1), b"function") => {
                if let Some(t) = string(i + 2) {
                    found(t, Form::Require);
                }
            }
            _ => {}
        }
    }
}

/// The longest import or export clause read, in tokens.
const MAX_CLAUSE_TOKENS: usize = 20_000;

/// After `import`/`export` at `i`: skip an import or export clause (`type`, names, `* as x`,
/// `{ … }` on any number of lines) and return the index of the token after `from`, when the
/// clause is followed by `from`. `export` takes only `*` or `{ … }` clauses (re-exports).
fn clause_then_from(toks: &Window<'_>, src: &[u8], mut i: usize, export: bool) -> Option<usize> {
    let word = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| &src[t.start..t.end])
    };
    if export {
        if word(i) == Some(b"type") {
            i += 1;
        }
        match toks.get(i)?.kind {
            Kind::Punct(b'*') | Kind::Punct(b'{') => {}
            _ => return None,
        }
    }
    // A clause ends where the next `import`/`export` statement starts, so overlapping scans
    // stay short; and no real clause is longer than this (hostile input stays linear).
    let new_statement = |t: &Token| {
        t.newline_before
            && t.kind == Kind::Ident
            && matches!(&src[t.start..t.end], b"import" | b"export")
    };
    let limit = i + MAX_CLAUSE_TOKENS;
    loop {
        let t = toks.get(i).filter(|t| i < limit && !new_statement(t))?;
        match t.kind {
            Kind::Ident if &src[t.start..t.end] == b"from" => {
                if toks.get(i + 1).is_some_and(|n| n.kind == Kind::Str) {
                    return Some(i + 1);
                }
                i += 1; // a default import named `from`
            }
            Kind::Ident | Kind::Punct(b',') | Kind::Punct(b'*') => i += 1,
            Kind::Punct(b'{') => {
                // `{ a, b as c, type D }`: import and export clauses never nest braces.
                i += 1;
                loop {
                    let t = toks.get(i).filter(|t| i < limit && !new_statement(t))?;
                    match t.kind {
                        Kind::Punct(b'}') => break,
                        Kind::Punct(b'{' | b';') => return None,
                        _ => i += 1,
                    }
                }
                // Only `from` follows the braces: in `export { a }export * from "x"` the
                // second `export` starts a statement of its own, which reports "x" itself.
                i += 1;
                let from = word(i) == Some(b"from".as_slice())
                    && toks.get(i + 1).is_some_and(|n| n.kind == Kind::Str);
                return from.then_some(i + 1);
            }
            _ => return None,
        }
    }
}

/// The value of a string literal's contents; `None` when it is empty.
fn decode(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    if !raw.contains('\\') {
        return Some(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| {
            let s: String = chars.by_ref().take(n).collect();
            u32::from_str_radix(&s, 16).ok().and_then(char::from_u32)
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            '\n' | '\r' => {}
            'x' => out.extend(hex(&mut chars, 2)),
            'u' => {
                let rest = chars.as_str();
                if let Some(body) = rest.strip_prefix('{') {
                    let close = body.find('}').unwrap_or(body.len());
                    out.extend(
                        u32::from_str_radix(&body[..close], 16)
                            .ok()
                            .and_then(char::from_u32),
                    );
                    chars = body.get(close + 1..).unwrap_or("").chars();
                } else {
                    out.extend(hex(&mut chars, 4));
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(src: &str) -> Vec<(String, &'static str)> {
        imports(src)
            .into_iter()
            .map(|i| (i.value, i.form.as_str()))
            .collect()
    }

    fn values(src: &str) -> Vec<String> {
        imports(src).into_iter().map(|i| i.value).collect()
    }

    #[test]
    fn every_import_form() {
        let src = r#"#!/usr/bin/env node
import a from "a";
import "b";
import * as c from 'c';
import d, { e as f } from "d";
import {
  Client,
  type Tool,
} from "@shopify/dev-mcp";
import type { T } from "t";
export * from "e";
export * as ns from "f";
export { g, h as i } from "g";
export type { J } from "j";
const k = await import("k");
const l = require('l');
import m = require("m");
import from from "n";
export const o = 1;
export default p;
"#;
        assert_eq!(
            specs(src),
            [
                ("a".to_string(), "import … from"),
                ("b".into(), "import"),
                ("c".into(), "import … from"),
                ("d".into(), "import … from"),
                ("@shopify/dev-mcp".into(), "import … from"),
                ("t".into(), "import … from"),
                ("e".into(), "export … from"),
                ("f".into(), "export … from"),
                ("g".into(), "export … from"),
                ("j".into(), "export … from"),
                ("k".into(), "import()"),
                ("l".into(), "require()"),
                ("m".into(), "require()"),
                ("n".into(), "import … from"),
            ]
        );
    }

    #[test]
    fn text_that_only_looks_like_an_import() {
        let src = r#"
// import x from "@shopify/dev-mcp";
/* require("@shopify/dev-mcp") */
const devMCPBan = "patterns from Shopify Dev MCP";
const s = 'import x from "@shopify/dev-mcp"';
const t = `require("@shopify/dev-mcp") ${ `nested ${ "import('@shopify/dev-mcp')" } import "x"` } done`;
const re = /import "x"/g;
const div = a / b / c; require("after-division");
const path = "~/services/mcp/device";
obj.require("not-a-require"); obj.import("nor-this");
function require(name) {}
const meta = import.meta.url;
"#;
        assert_eq!(values(src), ["after-division"]);
    }

    #[test]
    fn a_statement_right_after_a_clause_is_reported_once() {
        // Found by the fuzzer (scan_js, crash-2b9edaba): the first clause read on through the
        // second statement, so the same string was reported twice.
        let src =
            "export { searchDocs }export * from \"@shopify/dev-mcp\";\nimport { a }import \"b\"";
        assert_eq!(
            specs(src),
            [
                ("@shopify/dev-mcp".to_string(), "export … from"),
                ("b".into(), "import")
            ]
        );
    }

    #[test]
    fn code_inside_template_substitutions_is_code() {
        let src = "const t = `a ${ `b ${ { x: `c` }.x } ${require(\"deep\")}` } d`; import(`e`);";
        assert_eq!(values(src), ["deep", "e"]);
    }

    #[test]
    fn regex_versus_division() {
        let src =
            "x = a\n/ 2 / require('one');\nif (y) { return /[/\"']/.test(z) }\nrequire('two');";
        assert_eq!(values(src), ["one", "two"]);
    }

    #[test]
    fn positions_are_the_string_contents() {
        let src = "import {\n  Client\n} from \"@Shopify/Dev-MCP/tools\";";
        let i = &imports(src)[0];
        assert_eq!(&src[i.start..i.end], "@Shopify/Dev-MCP/tools");
    }

    #[test]
    fn escapes_are_decoded_and_garbage_never_panics() {
        assert_eq!(
            values(r#"require("\x40shopify/dev\u002dmcp\u{2F}x")"#),
            ["@shopify/dev-mcp/x"]
        );
        for src in [
            "`${",
            "}}}`",
            "import {",
            "export {",
            "require(",
            "'\\",
            "/[",
            "`\\",
            "import(\"",
            "\u{00e9}\"x",
            "0x1e+",
        ] {
            let _ = imports(src);
        }
    }

    #[test]
    fn hostile_input_stays_linear() {
        let started = std::time::Instant::now();
        let lines = "import\n".repeat(200_000);
        let braces = format!("import {{ {} }} from \"x\";", "a, ".repeat(5_000));
        let endless = format!("import {{ {}", "a, ".repeat(200_000)).repeat(2);
        let nested = "{import {".repeat(100_000);
        assert!(imports(&lines).is_empty());
        assert_eq!(values(&braces), ["x"]);
        assert!(imports(&nested).is_empty());
        assert!(imports(&endless).is_empty());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn jsx_text_does_not_derail_the_lexer() {
        let src = "const A = () => <p>Don't import from \"@shopify/dev-mcp\" here</p>;\nimport b from \"b\";";
        assert_eq!(values(src), ["b"]);
    }
}
