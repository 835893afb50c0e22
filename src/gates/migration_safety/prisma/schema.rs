//! A reader for Prisma schema files, enough to compare two versions: `model`, `view`, `type`
//! and `enum` blocks with their fields (name, type with `?`/`[]`, native `@db.*` type, `@map`)
//! or values, the block's `@@map`, and the line of each. `//` and `///` comments are skipped
//! (not inside strings); `datasource` and `generator` blocks are skipped whole.

use regex::Regex;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlockKind {
    Model,
    View,
    Type,
    Enum,
}

impl BlockKind {
    pub fn word(self) -> &'static str {
        match self {
            BlockKind::Model => "model",
            BlockKind::View => "view",
            BlockKind::Type => "type",
            BlockKind::Enum => "enum",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// The column (or enum value) in the database: `@map("…")`, else the name.
    pub db_name: String,
    /// `String?`, `Post[]`, `Decimal @db.Decimal(10, 2)`; empty for enum values.
    pub ty: String,
    pub line: usize,
    /// 1-based column of the name.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    pub name: String,
    /// The table (or type) in the database: `@@map("…")`, else the name.
    pub db_name: String,
    pub line: usize,
    /// 1-based column of the name.
    pub column: usize,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub blocks: Vec<Block>,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("regex"))
}

fn header(line: &str) -> Option<(Option<BlockKind>, String)> {
    static H: OnceLock<Regex> = OnceLock::new();
    let c = re(
        &H,
        r"^\s*(model|view|type|enum|datasource|generator)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{",
    )
    .captures(line)?;
    let kind = match &c[1] {
        "model" => Some(BlockKind::Model),
        "view" => Some(BlockKind::View),
        "type" => Some(BlockKind::Type),
        "enum" => Some(BlockKind::Enum),
        _ => None,
    };
    Some((kind, c[2].to_string()))
}

/// `@map("x")` / `@@map(name: "x")` in `attrs`.
fn mapped(attrs: &str, block: bool) -> Option<String> {
    static F: OnceLock<Regex> = OnceLock::new();
    static B: OnceLock<Regex> = OnceLock::new();
    let r = if block {
        re(&B, r#"@@map\(\s*(?:name\s*:\s*)?"([^"]*)"\s*\)"#)
    } else {
        re(&F, r#"(?:^|[^@])@map\(\s*(?:name\s*:\s*)?"([^"]*)"\s*\)"#)
    };
    r.captures(attrs).map(|c| c[1].to_string())
}

/// The line without its `//` comment (a `//` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// Read balanced `( … )` (strings respected) starting at `s[0] == '('`; returns its length.
fn parens(s: &str) -> usize {
    let mut depth = 0usize;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// A type expression at the start of `s`: `Name`, `Unsupported("…")`, with `[]` / `?`.
fn type_expr(s: &str) -> (&str, &str) {
    let mut end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    if s[end..].starts_with('(') {
        end += parens(&s[end..]);
    }
    while let Some(c) = s[end..]
        .chars()
        .next()
        .filter(|c| matches!(c, '[' | ']' | '?' | '!'))
    {
        end += c.len_utf8();
    }
    (&s[..end], &s[end..])
}

/// `@db.VarChar(255)` in `attrs`, if any.
fn native_type(attrs: &str) -> Option<String> {
    let at = attrs.find("@db.")?;
    let rest = &attrs[at..];
    let name_end = rest[4..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(rest.len(), |i| i + 4);
    let mut end = name_end;
    if rest[end..].starts_with('(') {
        end += parens(&rest[end..]);
    }
    Some(rest[..end].split_whitespace().collect::<Vec<_>>().join(" "))
}

fn ident(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0 && !s.starts_with(|c: char| c.is_ascii_digit())).then(|| (&s[..end], &s[end..]))
}

/// The 1-based character column of the `nth` (0-based) whole-word occurrence of `word`.
fn column_of(raw: &str, word: &str, nth: usize) -> usize {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    raw.match_indices(word)
        .filter(|(i, _)| {
            !raw[..*i].chars().next_back().is_some_and(is_word)
                && !raw[i + word.len()..].chars().next().is_some_and(is_word)
        })
        .nth(nth)
        .or_else(|| raw.match_indices(word).next())
        .map_or(1, |(i, _)| raw[..i].chars().count() + 1)
}

pub fn parse(text: &str) -> Schema {
    let mut schema = Schema::default();
    // `None` inside a block that is not compared (datasource, generator).
    let mut open: Option<Option<Block>> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let Some(current) = open.as_mut() else {
            if let Some((kind, name)) = header(line) {
                let column = column_of(raw, &name, 1);
                open = Some(kind.map(|kind| Block {
                    kind,
                    db_name: name.clone(),
                    name,
                    line: line_no,
                    column,
                    members: Vec::new(),
                }));
                if line.ends_with('}') {
                    if let Some(Some(b)) = open.take() {
                        schema.blocks.push(b);
                    }
                }
            }
            continue;
        };
        if line.starts_with('}') {
            if let Some(Some(b)) = open.take() {
                schema.blocks.push(b);
            }
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        if line.starts_with("@@") {
            if let Some(m) = mapped(line, true) {
                block.db_name = m;
            }
            continue;
        }
        let Some((name, rest)) = ident(line) else {
            continue;
        };
        let rest = rest.trim_start();
        let (ty, attrs) = if block.kind == BlockKind::Enum {
            (String::new(), rest)
        } else {
            let (ty, attrs) = type_expr(rest);
            if ty.is_empty() {
                continue;
            }
            let ty = match native_type(attrs) {
                Some(n) => format!("{ty} {n}"),
                None => ty.to_string(),
            };
            (ty, attrs)
        };
        block.members.push(Member {
            name: name.to_string(),
            db_name: mapped(attrs, false).unwrap_or_else(|| name.to_string()),
            ty,
            line: line_no,
            column: column_of(raw, name, 0),
        });
    }
    // A block left open at the end still counts with what it had.
    if let Some(Some(b)) = open {
        schema.blocks.push(b);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_models_enums_maps_and_native_types() {
        let s = parse(
            r#"// schema
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// A shop.
model Shop {
  id        String   @id @default(cuid())
  domain    String   @unique @map("shop_domain") // the myshopify domain
  price     Decimal? @db.Decimal(10, 2)
  note      String   @default("a // b")
  geo       Unsupported("geography(Point, 4326)")?
  orders    Order[]
  @@map("shops")
  @@index([domain])
}

enum Role {
  ADMIN
  STAFF @map("staff")
}
"#,
        );
        assert_eq!(s.blocks.len(), 2);
        let shop = &s.blocks[0];
        assert_eq!(
            (shop.name.as_str(), shop.db_name.as_str(), shop.line),
            ("Shop", "shops", 8)
        );
        let m: Vec<(&str, &str, &str)> = shop
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.db_name.as_str(), m.ty.as_str()))
            .collect();
        assert_eq!(
            m,
            [
                ("id", "id", "String"),
                ("domain", "shop_domain", "String"),
                ("price", "price", "Decimal? @db.Decimal(10, 2)"),
                ("note", "note", "String"),
                ("geo", "geo", "Unsupported(\"geography(Point, 4326)\")?"),
                ("orders", "orders", "Order[]"),
            ]
        );
        let role = &s.blocks[1];
        assert_eq!(role.kind, BlockKind::Enum);
        assert_eq!(role.members[1].db_name, "staff");
    }
}
