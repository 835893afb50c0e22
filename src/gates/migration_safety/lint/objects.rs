//! Rules on the objects a migration names: identifiers longer than PostgreSQL keeps (it
//! truncates them to 63 bytes with only a NOTICE, so two long index or constraint names
//! collide), and CHECK constraints on domains (adding one scans every column of that domain
//! in every table; a domain's CHECK makes every later change of it need that scan).

use super::ast;
use super::{Linter, Stmt};
use crate::rules::Rule;
use pg_query::protobuf::ConstrType;
use pg_query::NodeEnum;

/// PostgreSQL's `NAMEDATALEN - 1`.
const MAX_IDENT: usize = 63;

/// The text may hold an identifier longer than `MAX_IDENT` bytes: a run of that many
/// identifier bytes, or a double-quoted stretch as long. A cheap pass over the bytes, so the
/// scanner runs only on statements of files that may hold one.
pub fn may_have_long_identifier(text: &str) -> bool {
    let (mut run, mut quoted, mut in_quote) = (0usize, 0usize, false);
    for &b in text.as_bytes() {
        if in_quote {
            if b == b'"' {
                in_quote = false;
                quoted = 0;
            } else {
                quoted += 1;
                if quoted > MAX_IDENT {
                    return true;
                }
            }
            continue;
        }
        if b == b'"' {
            in_quote = true;
            run = 0;
        } else if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            run += 1;
            if run > MAX_IDENT {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The identifier a token spells, when it is one: a quoted identifier's inner text (with `""`
/// unescaped) or a bare word of identifier characters.
fn identifier(word: &str) -> Option<String> {
    if let Some(inner) = word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        return Some(inner.replace("\"\"", "\""));
    }
    let first = word.chars().next()?;
    let ident = (first.is_alphabetic() || first == '_')
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    ident.then(|| word.to_ascii_lowercase())
}

pub fn check(l: &mut Linter, s: &Stmt) {
    if l.long_identifiers {
        long_identifiers(l, s);
    }
    domain_constraint(l, s);
}

fn long_identifiers(l: &mut Linter, s: &Stmt) {
    let toks = l.statement_tokens(s);
    let mut seen: Vec<String> = Vec::new();
    for t in toks {
        let Some(name) = identifier(l.text_of(&t)) else {
            continue;
        };
        if name.len() <= MAX_IDENT || seen.contains(&name) {
            continue;
        }
        let cut = crate::text::floor_boundary(&name, MAX_IDENT);
        let span = super::Span {
            start: t.0,
            end: t.1,
        };
        l.report(
            Rule::MigIdentifierTooLong,
            span,
            format!(
                "identifier `{}` is {} bytes: PostgreSQL silently truncates it to the 63 bytes `{}`, so another long name with the same start becomes the same name",
                crate::text::excerpt(&name, 100),
                name.len(),
                crate::text::excerpt(&name[..cut], 100)
            ),
            None,
        );
        seen.push(name);
    }
}

fn domain_constraint(l: &mut Linter, s: &Stmt) {
    let message = match s.node {
        // `subtype` 'C': ADD CONSTRAINT.
        NodeEnum::AlterDomainStmt(a) if a.subtype == "C" => {
            let not_valid = matches!(a.def.as_deref().and_then(ast::node),
                Some(NodeEnum::Constraint(k)) if k.skip_validation);
            if not_valid {
                return;
            }
            format!(
                "`{}` checks every column of domain `{}` in every table that uses it, under a lock that blocks writes to those tables",
                l.sql(l.whole(s)),
                crate::text::excerpt(&ast::strings(&a.type_name).join("."), 80)
            )
        }
        NodeEnum::CreateDomainStmt(d)
            if d.constraints.iter().any(|n| {
                matches!(ast::node(n), Some(NodeEnum::Constraint(k)) if ast::contype(k) == ConstrType::ConstrCheck)
            }) =>
        {
            format!(
                "`{}` puts a CHECK on domain `{}`: every later change of that CHECK scans every column of the domain in every table at once, with no NOT VALID step for existing rows of new columns",
                l.sql(l.whole(s)),
                crate::text::excerpt(&ast::strings(&d.domainname).join("."), 80)
            )
        }
        _ => return,
    };
    let whole = l.whole(s);
    l.report(Rule::MigDomainConstraint, whole, message, None);
}
