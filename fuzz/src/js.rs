//! A JavaScript/TypeScript source built from pieces, with the imports it really contains.
//!
//! Comments, strings, regex literals and template literals (nested, with substitutions) are
//! filled with text that looks like imports (`import x from "decoy"`, `require('decoy')`),
//! escaped for the place it lands in; real import statements and `require()` / `import()`
//! calls (also inside template substitutions) name modules whose byte spans are recorded while
//! rendering. The scanner must find exactly the real ones, at their spans.

use crate::{Bit, Source};
use arbitrary::Arbitrary;

/// A module name: a known package or a short name over a safe alphabet (no quotes, no
/// backslashes, so the literal's value is the text itself).
#[derive(Arbitrary, Debug)]
pub struct Spec {
    base: u8,
    suffix: Vec<u8>,
}

const BASES: &[&str] = &[
    "@shopify/dev-mcp",
    "@upstash/context7-mcp",
    "react",
    "./local.js",
    "../up/dir",
    "node:fs",
    "a",
];
const SPEC_CHARS: &[u8] = b"abcxyz019@/._-";

impl Spec {
    fn render(&self) -> String {
        let mut s = BASES[self.base as usize % BASES.len()].to_string();
        for b in self.suffix.iter().take(8) {
            s.push(SPEC_CHARS[*b as usize % SPEC_CHARS.len()] as char);
        }
        s
    }
}

const FILL_CHARS: &[u8] = b"ab /*`'\"\\${}()[];:\n\t=.,!#<>+-x";
const DECOYS: &[&str] = &[
    "import x from \"@shopify/dev-mcp\";",
    "import '@shopify/dev-mcp'",
    "require(\"@shopify/dev-mcp\")",
    "import(\"@upstash/context7-mcp\")",
    "export * from 'decoy';",
    "\nimport y from 'decoy'\n",
    "${require('decoy')}",
    "`",
    "*/",
    "//",
    "\\",
];

/// Where text lands; each place escapes what would end it early.
#[derive(Clone, Copy)]
enum Place {
    LineComment,
    BlockComment,
    Str(char),
    Template,
    Regex,
}

fn fill(bits: &[Bit], place: Place) -> String {
    let raw = crate::bits_text(bits, FILL_CHARS, DECOYS);
    let mut out = String::new();
    for c in raw.chars() {
        match (place, c) {
            (Place::LineComment, '\n') => out.push(' '),
            (Place::Str(q), c) if c == q || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            // A line continuation: the string goes on on the next line.
            (Place::Str(_), '\n') => out.push_str("\\\n"),
            (Place::Template, '`' | '\\' | '$') => {
                out.push('\\');
                out.push(c);
            }
            (Place::Regex, '/' | '\\' | '\n' | '[' | ']') => out.push('x'),
            (_, c) => out.push(c),
        }
    }
    if let Place::BlockComment = place {
        while out.contains("*/") {
            out = out.replace("*/", "*");
        }
    }
    out
}

/// A statement of the generated source.
#[derive(Arbitrary, Debug)]
pub enum Piece {
    LineComment(Vec<Bit>),
    BlockComment(Vec<Bit>),
    Str(bool, Vec<Bit>),
    Template(Template),
    Regex(Vec<Bit>),
    Import(u8, Spec),
    Code(u8),
}

#[derive(Arbitrary, Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Arbitrary, Debug)]
pub enum Part {
    Text(Vec<Bit>),
    Subst(Box<Expr>),
}

/// An expression inside `${ … }`.
#[derive(Arbitrary, Debug)]
pub enum Expr {
    Require(Spec),
    DynImport(Spec),
    Str(bool, Vec<Bit>),
    Template(Template),
    Comment(Vec<Bit>),
    Object(Box<Expr>),
    Ident,
}

/// Decoy code that is not an import: member calls, a function named `require`, division.
const CODE: &[&str] = &[
    "let a = 1, b = 2, c = 3;",
    "const d = a / b / c;",
    "obj.require(\"not-a-require\");",
    "obj.import(\"nor-this\");",
    "function require(name) { return name; }",
    "const meta = import.meta.url;",
    "if (a) { b(); } else { c(); }",
    "const o = { import: 1, require: 2, from: 3 };",
    "x = y => y * 2;",
    "export const e = 1;",
    "export default f;",
];

pub type Program = crate::Program<Piece>;

impl crate::Statement for Piece {
    fn render_into(&self, s: &mut Source) {
        s.piece(self);
    }
}

/// The rendering of a program's parts into a `Source`.
trait Render {
    fn piece(&mut self, p: &Piece);
    fn module(&mut self, spec: &Spec, quote: char);
    fn statement(&mut self, form: u8, spec: &Spec);
    fn template(&mut self, t: &Template, depth: usize);
    fn expr(&mut self, e: &Expr, depth: usize);
}

impl Render for Source {
    /// `"spec"` (or `'spec'`), recording the contents' span.
    fn module(&mut self, spec: &Spec, quote: char) {
        self.text.push(quote);
        self.import(spec.render());
        self.text.push(quote);
    }

    fn piece(&mut self, p: &Piece) {
        match p {
            Piece::LineComment(b) => {
                self.text.push_str("// ");
                self.text.push_str(&fill(b, Place::LineComment));
            }
            Piece::BlockComment(b) => {
                self.text.push_str("/* ");
                self.text.push_str(&fill(b, Place::BlockComment));
                self.text.push_str(" */");
            }
            Piece::Str(double, b) => {
                let q = if *double { '"' } else { '\'' };
                self.text.push_str("s = ");
                self.text.push(q);
                self.text.push_str(&fill(b, Place::Str(q)));
                self.text.push(q);
                self.text.push(';');
            }
            Piece::Template(t) => {
                self.text.push_str("t = ");
                self.template(t, 0);
                self.text.push(';');
            }
            Piece::Regex(b) => {
                self.text.push_str("const re = /a");
                self.text.push_str(&fill(b, Place::Regex));
                self.text.push_str("/g;");
            }
            Piece::Import(form, spec) => self.statement(*form, spec),
            Piece::Code(c) => self.text.push_str(CODE[*c as usize % CODE.len()]),
        }
    }

    fn statement(&mut self, form: u8, spec: &Spec) {
        let (before, quote, after) = match form % 12 {
            0 => ("import ", '"', ";"),
            1 => ("import x from ", '"', ";"),
            2 => ("import {\n  a,\n  b as c,\n} from ", '\'', ";"),
            3 => ("import * as ns from ", '"', ""),
            4 => ("import type { T } from ", '"', ";"),
            5 => ("import d, { e } from ", '\'', ";"),
            6 => ("export * from ", '"', ";"),
            7 => ("export { g, h as i } from ", '\'', ";"),
            8 => ("const l = require(", '\'', ");"),
            9 => ("const k = await import(", '"', ");"),
            10 => ("import m = require(", '"', ");"),
            _ => ("export * as ns2 from ", '\'', ";"),
        };
        self.text.push_str(before);
        self.module(spec, quote);
        self.text.push_str(after);
    }

    fn template(&mut self, t: &Template, depth: usize) {
        self.text.push('`');
        for part in t.parts.iter().take(8) {
            match part {
                Part::Text(b) => self.text.push_str(&fill(b, Place::Template)),
                Part::Subst(e) => {
                    self.text.push_str("${ ");
                    self.expr(e, depth + 1);
                    self.text.push_str(" }");
                }
            }
        }
        self.text.push('`');
    }

    fn expr(&mut self, e: &Expr, depth: usize) {
        if depth > 6 {
            self.text.push('x');
            return;
        }
        match e {
            Expr::Require(spec) => {
                self.text.push_str("require(");
                self.module(spec, '"');
                self.text.push(')');
            }
            Expr::DynImport(spec) => {
                self.text.push_str("import(");
                self.module(spec, '\'');
                self.text.push(')');
            }
            Expr::Str(double, b) => {
                let q = if *double { '"' } else { '\'' };
                self.text.push(q);
                self.text.push_str(&fill(b, Place::Str(q)));
                self.text.push(q);
            }
            Expr::Template(t) => self.template(t, depth),
            Expr::Comment(b) => {
                self.text.push_str("/* ");
                self.text.push_str(&fill(b, Place::BlockComment));
                self.text.push_str(" */ x");
            }
            Expr::Object(inner) => {
                self.text.push_str("{ k: ");
                self.expr(inner, depth + 1);
                self.text.push_str(" }.k");
            }
            Expr::Ident => self.text.push('x'),
        }
    }
}
