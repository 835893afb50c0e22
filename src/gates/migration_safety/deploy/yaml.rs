//! YAML deploy files (workflows, composite actions, `render.yaml`, Compose files, and the JSON
//! files that YAML reads as well) through a real YAML 1.2 parser that keeps positions
//! (`saphyr-parser`'s event API), so that flow-style steps (`- {run: …}`), multi-line quoted
//! scalars and anchors with aliases (`run: *migrate`) are read as GitHub and Compose read them.
//!
//! The events are built into a graph, not a tree: an alias is an edge to the anchored node, never
//! a copy, and every node is visited once, so a "billion laughs" file costs what its text costs.

use super::shell::{Command, Form, Invalid, Snippet};
use saphyr_parser::{Event, Parser};

/// Collections nested deeper than this make the file a finding (`deploy-file-invalid`), not a
/// deeper walk.
const MAX_DEPTH: usize = 1_000;

pub enum Node {
    Scalar {
        value: String,
        /// Byte offsets of the scalar's source text (quotes and block header included).
        start: usize,
        end: usize,
    },
    Seq(Vec<usize>),
    Map(Vec<(usize, usize)>),
    /// An alias to an anchor that does not exist (the parser refuses these; kept total).
    Missing,
}

pub struct Doc {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
}

/// saphyr's markers count characters; deploy files are mostly ASCII, so this walks forward
/// from the last position instead of indexing every character.
struct Bytes<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl Bytes<'_> {
    fn at(&mut self, chars: usize) -> usize {
        if self.ascii {
            return chars.min(self.text.len());
        }
        if chars < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let rest = &self.text[self.bytes..];
        let step = rest
            .char_indices()
            .nth(chars - self.chars)
            .map_or(rest.len(), |(b, _)| b);
        self.bytes += step;
        self.chars = chars.min(self.chars + rest[..step].chars().count());
        self.bytes
    }
}

pub fn parse(text: &str) -> Result<Doc, Invalid> {
    let mut bytes = Bytes {
        text,
        ascii: text.is_ascii(),
        chars: 0,
        bytes: 0,
    };
    let mut doc = Doc {
        nodes: Vec::new(),
        roots: Vec::new(),
    };
    let mut anchors: std::collections::HashMap<usize, usize> = Default::default();
    // Open collections, each with the key waiting for its value (mappings).
    let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| Invalid {
            message: e.info().to_string(),
            offset: bytes.at(e.marker().index()),
        })?;
        let (id, anchor, opens) = match ev {
            Event::Scalar(value, _, anchor, _) => {
                let start = bytes.at(span.start.index());
                let end = bytes.at(span.end.index()).max(start);
                doc.nodes.push(Node::Scalar {
                    value: value.into_owned(),
                    start,
                    end,
                });
                (doc.nodes.len() - 1, anchor, false)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Invalid {
                        message: format!(
                            "collections are nested deeper than {} levels",
                            crate::text::thousands(MAX_DEPTH as u64)
                        ),
                        offset: bytes.at(span.start.index()),
                    });
                }
                doc.nodes.push(if matches!(ev, Event::SequenceStart(..)) {
                    Node::Seq(Vec::new())
                } else {
                    Node::Map(Vec::new())
                });
                (doc.nodes.len() - 1, anchor, true)
            }
            Event::Alias(anchor) => {
                let id = match anchors.get(&anchor) {
                    Some(id) => *id,
                    None => {
                        doc.nodes.push(Node::Missing);
                        doc.nodes.len() - 1
                    }
                };
                (id, 0, false)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                continue;
            }
            _ => continue,
        };
        if anchor > 0 {
            anchors.insert(anchor, id);
        }
        match stack.last_mut() {
            None => doc.roots.push(id),
            Some((parent, key)) => match &mut doc.nodes[*parent] {
                Node::Seq(items) => items.push(id),
                Node::Map(pairs) => match key.take() {
                    None => *key = Some(id),
                    Some(k) => pairs.push((k, id)),
                },
                _ => {}
            },
        }
        if opens {
            stack.push((id, None));
        }
    }
    Ok(doc)
}

impl Doc {
    fn str(&self, id: usize) -> Option<&str> {
        match self.nodes.get(id)? {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Every `(key, value)` of every mapping reachable from the roots whose key is in `keys`,
    /// each node visited once whatever the number of aliases to it. A duplicated key gives
    /// every one of its values (parsers disagree on which one wins).
    pub fn entries(&self, keys: &[&str]) -> Vec<(String, usize)> {
        let mut seen = vec![false; self.nodes.len()];
        let mut todo: Vec<usize> = self.roots.iter().rev().copied().collect();
        let mut out = Vec::new();
        while let Some(id) = todo.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            match &self.nodes[id] {
                Node::Seq(items) => todo.extend(items.iter().rev()),
                Node::Map(pairs) => {
                    for (k, v) in pairs.iter().rev() {
                        if let Some(k) = self.str(*k).filter(|k| keys.contains(k)) {
                            out.push((k.to_string(), *v));
                        }
                        todo.push(*v);
                        todo.push(*k);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The members of a mapping (through an alias too), in order.
    pub fn members(&self, id: usize) -> Vec<(String, usize)> {
        match &self.nodes[id] {
            Node::Map(pairs) => pairs
                .iter()
                .filter_map(|(k, v)| Some((self.str(*k)?.to_string(), *v)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The commands a value holds: a string is a shell command line; a list of strings is an
    /// argument vector, and each of its strings a command line as well (Railway's
    /// `preDeployCommand` list, `["sh", "-c", "…"]` for Compose).
    pub fn commands(&self, text: &str, id: usize, what: &str) -> Vec<Command> {
        let scalar = |id: usize| match &self.nodes[id] {
            Node::Scalar { value, start, end } => Some(Snippet::aligned(
                value,
                text.get(*start..*end).unwrap_or_default(),
                *start,
            )),
            _ => None,
        };
        let command = |snippet: Snippet, form: Form| Command {
            what: what.to_string(),
            snippet,
            form,
        };
        match &self.nodes[id] {
            Node::Scalar { .. } => scalar(id)
                .map(|s| vec![command(s, Form::Shell)])
                .unwrap_or_default(),
            Node::Seq(items) => {
                let parts: Vec<Snippet> = items.iter().filter_map(|i| scalar(*i)).collect();
                if parts.is_empty() {
                    return Vec::new();
                }
                let mut argv = Snippet::default();
                for (k, p) in parts.iter().enumerate() {
                    if k > 0 {
                        argv.push_synthetic("\0");
                    }
                    argv.append(p);
                }
                std::iter::once(command(argv, Form::Argv))
                    .chain(parts.into_iter().map(|p| command(p, Form::Shell)))
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_edges_not_copies() {
        let mut y = String::from("a0: &a0 [npx prisma migrate deploy, x]\n");
        for i in 1..40 {
            y.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
        }
        y.push_str("run: *a39\n");
        // 2^40 leaves if expanded; the walk visits each node once.
        let doc = parse(&y).unwrap();
        let e = doc.entries(&["run"]);
        assert_eq!(e.len(), 1);
        assert!(doc.commands(&y, e[0].1, "run").is_empty());
    }

    #[test]
    fn flow_steps_and_aliases_are_found() {
        let y = "x: &cmd npx prisma migrate deploy\nsteps:\n  - {run: echo hi}\n  - run: *cmd\n";
        let doc = parse(y).unwrap();
        let e = doc.entries(&["run"]);
        assert_eq!(e.len(), 2);
        let c = doc.commands(y, e[1].1, "step");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].snippet.text, "npx prisma migrate deploy");
        assert_eq!(c[0].snippet.file_offset(0), 8);
    }
}
