//! A Python source built from pieces, with the absolute imports it really contains.
//!
//! Comments, strings of every quoting (single, triple, f-strings with fields, bytes, raw) and
//! docstrings are filled with text that looks like imports (`import os` at the start of a line
//! inside a triple-quoted string, `from x import y`), escaped for the place it lands in; real
//! `import` / `from … import` statements (also indented, after `;`, with parentheses and line
//! continuations) name modules whose byte spans are recorded while rendering.

use crate::{Bit, Source};
use arbitrary::Arbitrary;

const NAMES: &[&str] = &[
    "os",
    "sys",
    "mcp",
    "shopify_dev_mcp",
    "client",
    "x1",
    "_priv",
];

/// A dotted module name of known segments (never a keyword).
#[derive(Arbitrary, Debug)]
pub struct Dotted(Vec<u8>);

impl Dotted {
    fn render(&self) -> String {
        let mut segs: Vec<&str> = self
            .0
            .iter()
            .take(4)
            .map(|b| NAMES[*b as usize % NAMES.len()])
            .collect();
        if segs.is_empty() {
            segs.push("os");
        }
        segs.join(".")
    }
}

const FILL_CHARS: &[u8] = b"ab #'\"\\{}()[]:;\n\t=.,!x";
const DECOYS: &[&str] = &[
    "import shopify_dev_mcp",
    "\nimport evil\n",
    "from shopify_dev_mcp import x",
    "\nfrom a.b import (c,\n d)\n",
    "; import real_looking",
    "\"\"\"",
    "'''",
    "\\\n",
    "{x!r:>{width}}",
];

#[derive(Clone, Copy)]
enum Place {
    Comment,
    /// A one-line string with this quote; `f` doubles braces.
    Line(char, bool),
    /// A triple-quoted string with this quote; `f` doubles braces.
    Triple(char, bool),
}

fn fill(bits: &[Bit], place: Place) -> String {
    let raw = crate::bits_text(bits, FILL_CHARS, DECOYS);
    let mut out = String::new();
    for c in raw.chars() {
        match (place, c) {
            (Place::Comment, '\n') => out.push(' '),
            (Place::Line(q, _) | Place::Triple(q, _), c) if c == q || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            (Place::Line(..), '\n') => out.push_str("\\n"),
            (Place::Line(_, true) | Place::Triple(_, true), '{' | '}') => {
                out.push(c);
                out.push(c);
            }
            (_, c) => out.push(c),
        }
    }
    out
}

#[derive(Arbitrary, Debug)]
pub enum Piece {
    Comment(Vec<Bit>),
    /// Prefix (none, b, f, rb-free), double quotes, triple, text.
    Str(u8, bool, bool, Vec<Bit>),
    /// An f-string with a field holding a nested string.
    FField(bool, Vec<Bit>, Vec<Bit>),
    Import(u8, Vec<Dotted>),
    Code(u8),
}

const CODE: &[&str] = &[
    "x = 1",
    "from_ = 2",
    "import_me = 3",
    "w = (\n    import_me,\n)",
    "def f():\n    return 1",
    "from . import local",
    "from .pkg import y",
    "print('a', \"b\")",
    "class C:\n    pass",
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
    fn module(&mut self, d: &Dotted);
    fn statement(&mut self, form: u8, names: &[Dotted]);
}

impl Render for Source {
    fn module(&mut self, d: &Dotted) {
        self.import(d.render());
    }

    fn piece(&mut self, p: &Piece) {
        match p {
            Piece::Comment(b) => {
                self.text.push_str("# ");
                self.text.push_str(&fill(b, Place::Comment));
            }
            Piece::Str(prefix, double, triple, b) => {
                let q = if *double { '"' } else { '\'' };
                let (prefix, f) = match prefix % 4 {
                    0 => ("", false),
                    1 => ("b", false),
                    2 => ("f", true),
                    _ => ("u", false),
                };
                let quotes: String = std::iter::repeat_n(q, if *triple { 3 } else { 1 }).collect();
                let place = if *triple {
                    Place::Triple(q, f)
                } else {
                    Place::Line(q, f)
                };
                // A bare string is a docstring-like statement; half of them are assigned.
                if b.len() % 2 == 0 {
                    self.text.push_str("s = ");
                }
                self.text.push_str(prefix);
                self.text.push_str(&quotes);
                self.text.push_str(&fill(b, place));
                self.text.push_str(&quotes);
            }
            Piece::FField(double, outer, inner) => {
                // f"… {'…'} …": the field's string uses the other quote.
                let (q, other) = if *double { ('"', '\'') } else { ('\'', '"') };
                self.text.push_str("t = f");
                self.text.push(q);
                self.text.push_str(&fill(outer, Place::Line(q, true)));
                self.text.push('{');
                self.text.push(other);
                let mut inner = fill(inner, Place::Line(other, false));
                inner.retain(|c| c != q && c != other && c != '\\' && c != '{' && c != '}');
                self.text.push_str(&inner);
                self.text.push(other);
                self.text.push('}');
                self.text.push(q);
            }
            Piece::Import(form, names) => self.statement(*form, names),
            Piece::Code(c) => self.text.push_str(CODE[*c as usize % CODE.len()]),
        }
    }

    fn statement(&mut self, form: u8, names: &[Dotted]) {
        let first = Dotted(Vec::new());
        let mut names: Vec<&Dotted> = names.iter().take(4).collect();
        if names.is_empty() {
            names.push(&first);
        }
        match form % 7 {
            0 => {
                self.text.push_str("import ");
                for (i, d) in names.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.module(d);
                    if i % 2 == 1 {
                        self.text.push_str(" as alias");
                    }
                }
            }
            1 => {
                self.text.push_str("from ");
                self.module(names[0]);
                self.text.push_str(" import (\n    a,\n    b,\n)");
            }
            2 => {
                self.text.push_str("from ");
                self.module(names[0]);
                self.text.push_str(" \\\n    import c");
            }
            3 => {
                self.text.push_str("if x:\n    import ");
                self.module(names[0]);
            }
            4 => {
                self.text.push_str("x = 1; import ");
                self.module(names[0]);
            }
            5 => {
                self.text.push_str("def g():\n    from ");
                self.module(names[0]);
                self.text.push_str(" import i");
            }
            _ => {
                self.text.push_str("if x: import ");
                self.module(names[0]);
            }
        }
    }
}
