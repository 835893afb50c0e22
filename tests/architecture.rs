//! The layers of `src/` (docs/architecture.md), checked with a plain text scan of the code: every
//! `crate::a::b` path outside comments (in `use` lines and inline) is an arrow from the file
//! that writes it to the module it names, and so is every `super::` path. A new arrow that
//! breaks a layer, or closes a circle between files, fails this test.
//!
//! entry (`main`, `lib`, `cli`, `config`, `settings`, `run`, `init`) → gates → core; `github`
//! and `report` sit beside the gates and import only core.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Core,
    Github,
    Report,
    Gates,
    Entry,
}

const CORE: &[&str] = &[
    "finding",
    "rules",
    "suppress",
    "waiver",
    "diff_filter",
    "text",
    "lines",
    "timestamp",
    "units",
    "workspace",
    "pr_body",
    "pr",
    "git",
    "globs",
    "parallel",
];
const ENTRY: &[&str] = &["main", "lib", "cli", "config", "settings", "run", "init"];

fn layer(module: &str) -> Layer {
    let top = module.split("::").next().unwrap_or(module);
    if CORE.contains(&top) {
        Layer::Core
    } else if ENTRY.contains(&top) {
        Layer::Entry
    } else if top == "github" {
        Layer::Github
    } else if top == "report" {
        Layer::Report
    } else if top == "gates" {
        Layer::Gates
    } else {
        panic!("module `{top}` is in no layer: add it to tests/architecture.rs and docs/architecture.md")
    }
}

/// May a file of layer `from` import from layer `to`?
fn allowed(from: Layer, to: Layer) -> bool {
    use Layer::*;
    match from {
        Entry => true,
        Gates => matches!(to, Gates | Core | Github),
        Github | Report => to == from || to == Core,
        Core => to == Core,
    }
}

/// `src/gates/heartbeat/mod.rs` → `gates::heartbeat`; `src/lib.rs` → `lib`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and string contents, so a path in prose is no arrow.
/// Test modules (`#[cfg(test)] mod tests { … }` at the end of a file) are left out too: a
/// test may build its inputs from any layer.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.extend_from_slice(b"\"\"");
        } else if b[i] == b'\'' && i + 1 < b.len() {
            // A char literal ('"', '\n', '…'), or a lifetime ('a), which has no closing quote.
            let close = if b[i + 1] == b'\\' {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let len = match b[i + 1] {
                    c if c < 0x80 => 1,
                    c if c >= 0xF0 => 4,
                    c if c >= 0xE0 => 3,
                    _ => 2,
                };
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match close {
                Some(end) => {
                    out.extend_from_slice(b"' '");
                    i = end + 1;
                }
                None => {
                    out.push(b[i]);
                    i += 1;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // Identifiers are ASCII here; anything else left is replaced so byte offsets are chars.
    out.iter()
        .map(|&c| if c.is_ascii() { c as char } else { ' ' })
        .collect()
}

/// Modules a piece of code names: `crate::a::b::Item` → `a::b` as far as files go, and
/// `super::x` resolved against the file's own module. `use crate::{a, b::c}` groups count too.
fn arrows(module: &str, is_mod_rs: bool, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !word(bytes[i - 1]);
        let (base, rest) = if starts_word && code[i..].starts_with("crate::") {
            (Vec::new(), i + "crate::".len())
        } else if starts_word && code[i..].starts_with("super::") {
            // `super` of `a::b` (in b.rs) is `a`; of `a::b` in b/mod.rs it is `a` as well.
            let mut parts: Vec<String> = module.split("::").map(str::to_string).collect();
            let _ = is_mod_rs;
            let mut j = i;
            while code[j..].starts_with("super::") {
                parts.pop();
                j += "super::".len();
            }
            (parts, j)
        } else {
            i += 1;
            continue;
        };
        // One path, or a `{…}` group of paths.
        let mut paths: Vec<Vec<String>> = Vec::new();
        let mut stack: Vec<Vec<String>> = vec![base.clone()];
        let mut cur = base;
        let mut j = rest;
        let mut depth = 0;
        if j < bytes.len() && bytes[j] == b'{' {
            // `crate::{a, b}`
            depth += 1;
            stack.push(cur.clone());
            j += 1;
        }
        loop {
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let start = j;
            while j < bytes.len() && word(bytes[j]) {
                j += 1;
            }
            if j > start {
                cur.push(code[start..j].to_string());
            }
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if code[j..].starts_with("::") {
                j += 2;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < bytes.len() && bytes[j] == b'{' {
                    depth += 1;
                    stack.push(cur.clone());
                    j += 1;
                }
                continue;
            }
            paths.push(cur.clone());
            if depth > 0 {
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < bytes.len() && bytes[j] == b',' {
                    j += 1;
                    cur = stack.last().unwrap().clone();
                    continue;
                }
                if j < bytes.len() && bytes[j] == b'}' {
                    j += 1;
                    depth -= 1;
                    stack.pop();
                    // `a::{b, c}, d` inside an outer group
                    while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if depth > 0 && j < bytes.len() && bytes[j] == b',' {
                        j += 1;
                        cur = stack.last().unwrap().clone();
                        continue;
                    }
                    if depth > 0 && j < bytes.len() && bytes[j] == b'}' {
                        continue;
                    }
                }
            }
            break;
        }
        for p in paths {
            // The longest prefix that is a module (a file of src/).
            let mut best = None;
            for n in 1..=p.len() {
                let m = p[..n].join("::");
                if known.contains(&m) {
                    best = Some(m);
                }
            }
            if let Some(m) = best {
                if m != module {
                    out.insert(m);
                }
            }
        }
        i = j.max(i + 1);
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    // `ARCHITECTURE_SRC` points the check at another tree (an older commit's `src/`).
    let src = std::env::var_os("ARCHITECTURE_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, f)| {
            let text = std::fs::read_to_string(f).unwrap();
            let is_mod_rs = f.file_name().is_some_and(|n| n == "mod.rs");
            (m.clone(), arrows(m, is_mod_rs, &code(&text), &known))
        })
        .collect()
}

/// An arrow from a module to its own parent or child is the module tree, not a layer
/// crossing (a gate's `mod.rs` and its files).
fn violations(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, tos) in g {
        for to in tos {
            if !allowed(layer(from), layer(to)) {
                out.push(format!(
                    "{from} → {to} ({:?} → {:?})",
                    layer(from),
                    layer(to)
                ));
            }
        }
    }
    out
}

/// Every circle between files: strongly connected components of more than one file.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm.
    struct S<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let l = s.low[w].min(s.low[v]);
                s.low.insert(v, l);
            } else if s.on.contains(w) {
                let l = s.index[w].min(s.low[v]);
                s.low.insert(v, l);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_layers_hold() {
    let v = violations(&graph());
    assert!(
        v.is_empty(),
        "imports that cross a layer the wrong way:\n{}",
        v.join("\n")
    );
}

#[test]
fn no_import_circles_between_files() {
    let c = circles(&graph());
    assert!(
        c.is_empty(),
        "files that import each other (directly or round a circle):\n{}",
        c.iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The check itself sees a planted arrow: a gate that imports the CLI, a reporter that imports
/// a gate, a circle of two core files.
#[test]
fn a_planted_wrong_import_is_caught() {
    let mut g = graph();
    let known: BTreeSet<String> = g.keys().cloned().collect();
    let planted = arrows(
        "gates::heartbeat",
        true,
        &code("use crate::cli::HeartbeatArgs;\nfn f() { let _ = crate::report::json::render; }\n// use crate::settings::X;\n"),
        &known,
    );
    assert_eq!(
        planted,
        BTreeSet::from(["cli".to_string(), "report::json".to_string()])
    );
    g.get_mut("gates::heartbeat").unwrap().extend(planted);
    let v = violations(&g);
    assert!(
        v.iter().any(|l| l.starts_with("gates::heartbeat → cli")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|l| l.starts_with("gates::heartbeat → report::json")),
        "{v:?}"
    );

    let grouped = arrows(
        "report::summary",
        false,
        &code("use crate::{finding::Finding, gates::{heartbeat, migration_safety::lint}};"),
        &known,
    );
    assert!(grouped.contains("gates::heartbeat"), "{grouped:?}");
    assert!(
        grouped.contains("gates::migration_safety::lint"),
        "{grouped:?}"
    );

    g.get_mut("text").unwrap().insert("units".into());
    g.get_mut("units").unwrap().insert("text".into());
    assert!(circles(&g)
        .iter()
        .any(|c| c.contains(&"text".to_string()) && c.contains(&"units".to_string())));
}
