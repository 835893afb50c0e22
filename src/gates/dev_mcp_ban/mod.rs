//! `dev-mcp-ban`: production code must not import development-only MCP packages.
//!
//! The production tree (`app/**` by default, minus scripts, tests and docs) is the part of the
//! workspace's file set (what git tracks, never filtered by ignore files a PR can commit;
//! symlinked folders inside the repository followed once) that the policy covers, read in
//! parallel. Each JavaScript/TypeScript (extensions in any case) and Python file passes a
//! literal pre-filter first; only files that contain a banned name's literal part are lexed
//! (`scan_js`, `scan_py`) and their import specifiers matched against the policy (`policy`).
//! A production file of another name is lexed too when a relative import reaches it (Node runs
//! `require("./mcp2")` whatever the name). Production `package.json` files are checked for
//! banned runtime dependencies (`manifest`). Suppression comments are collected from the lexed
//! files for the core to apply. Memory does not grow with the tree: each worker reuses one
//! buffer, and only files with findings or suppressions are kept.

pub mod manifest;
pub mod policy;
pub mod scan_js;
pub mod scan_py;

use super::Context;
use crate::finding::{Cap, Finding, GateOutput, Location, MAX_FINDINGS_PER_FILE};
use crate::pr::Needs;
use crate::rules::{GateId, Rule};
use crate::suppress::Suppression;
use crate::workspace::{PathError, Workspace};
use policy::{FileKind, Policy};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Source files larger than this are skipped with a notice, unless the config says otherwise.
pub const DEFAULT_MAX_FILE: u64 = 16 << 20;

/// A module named in a file: `start..end` is the byte span of its text (a specifier's contents
/// without quotes, a dotted module name, a manifest key), `value` what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub start: usize,
    pub end: usize,
    pub value: String,
    /// How it was written.
    pub form: Form,
}

/// How a source file names a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `import x from "m"`, `import { x } from "m"`, `import type … from "m"`.
    ImportFrom,
    /// `import "m"` (JavaScript), `import m` (Python).
    Import,
    /// `import("m")`.
    DynamicImport,
    /// `export … from "m"`.
    ExportFrom,
    /// `require("m")`.
    Require,
    /// `from m import x` (Python).
    FromImport,
    /// A key of this section of a `package.json` (`dependencies`, `optionalDependencies`).
    Manifest(&'static str),
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::ImportFrom => "import … from",
            Form::Import => "import",
            Form::DynamicImport => "import()",
            Form::ExportFrom => "export … from",
            Form::Require => "require()",
            Form::FromImport => "from … import",
            Form::Manifest(section) => section,
        }
    }
}

impl std::fmt::Display for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one file produced.
struct FileReport {
    path: String,
    findings: Vec<Finding>,
    suppressions: Vec<Suppression>,
}

#[derive(Default)]
struct Counts {
    files: AtomicU64,
    lexed: AtomicU64,
    imports: AtomicU64,
}

struct Scanner<'p> {
    policy: &'p Policy,
    max_file: u64,
    counts: Counts,
}

/// The gate's settings, typed; `settings` resolves them from flags and config.
pub struct Options {
    pub policy: Policy,
    /// Source files larger than this are skipped with a notice.
    pub max_file: u64,
    /// Report only files the PR adds or changes.
    pub changed_only: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            policy: Policy::new(&policy::Lists::default()).expect("the built-in policy"),
            max_file: DEFAULT_MAX_FILE,
            changed_only: false,
        }
    }
}

/// The gate, with its options.
pub struct DevMcpBan(pub Options);

impl super::Gate for DevMcpBan {
    fn id(&self) -> GateId {
        GateId::DevMcpBan
    }

    fn needs(&self) -> Needs {
        Needs::CHANGED_FILES
    }

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> super::Run<'a> {
        Box::pin(async move { Ok(run(ctx, &self.0)) })
    }
}

fn run(ctx: &Context<'_>, opts: &Options) -> GateOutput {
    let scanner = Scanner {
        policy: &opts.policy,
        max_file: opts.max_file,
        counts: Counts::default(),
    };
    let changed_only = opts.changed_only;
    let mut out = GateOutput::default();
    let (mut reports, scope) = match (&ctx.pr.changed_files, changed_only) {
        (Some(files), true) => {
            let paths: Vec<&str> = files
                .iter()
                .filter(|f| f.status.exists())
                .map(|f| f.path.as_str())
                .collect();
            (scanner.scan_listed(ctx, &paths), "changed by the PR")
        }
        (None, true) => {
            out.push(Finding::new(
                Rule::ChangedFilesUnknown,
                "`changed-only` is set but the PR's changed files are unknown, so the whole production tree was checked",
            ));
            (scanner.scan_tree(ctx), "the whole production tree")
        }
        (_, false) => (scanner.scan_tree(ctx), "the whole production tree"),
    };
    reports.sort_by(|a, b| a.path.cmp(&b.path));
    let mut banned = 0;
    for r in reports {
        banned += r
            .findings
            .iter()
            .filter(|f| f.rule != Rule::DevMcpFileSkipped)
            .count();
        out.findings.extend(r.findings);
        out.suppressions.extend(r.suppressions);
    }
    let n = |a: &AtomicU64| crate::text::thousands(a.load(Ordering::Relaxed));
    out.notes.push(format!(
        "{} production file(s) checked ({scope}); {} contained a banned name's text and were lexed; {} import(s) and dependencies looked up; {banned} banned (before suppressions)",
        n(&scanner.counts.files),
        n(&scanner.counts.lexed),
        n(&scanner.counts.imports),
    ));
    out
}

impl Scanner<'_> {
    /// Check the files the PR changes (those the policy covers), read through the workspace.
    fn scan_listed(&self, ctx: &Context<'_>, paths: &[&str]) -> Vec<FileReport> {
        let mut out = Vec::new();
        for path in paths {
            let Some(kind) = self.policy.classify(path) else {
                continue;
            };
            out.extend(self.check_listed(ctx, path, kind));
        }
        out
    }

    fn check_listed(&self, ctx: &Context<'_>, path: &str, kind: FileKind) -> Option<FileReport> {
        match ctx.workspace.read_capped(path, self.max_file) {
            Ok(Some(bytes)) => self.check(path, kind, &bytes),
            Ok(None) => Some(self.too_large(path)),
            Err(PathError::NotFound) => None,
            Err(e) => Some(skipped(path, format!("`{path}` {e}; it was not checked"))),
        }
    }

    /// Check every file of the repository's file set (what git tracks, never filtered by
    /// ignore files; see `Workspace::files`) that the policy covers, in parallel; then the
    /// production files of other names that a relative import reaches.
    fn scan_tree(&self, ctx: &Context<'_>) -> Vec<FileReport> {
        let (dirs, _) = self.policy.walk_roots();
        let tree = ctx.workspace.files();
        let mut reports = Vec::new();
        // A production folder (or the link above it) resolving outside the repository.
        for d in &dirs {
            for (link, to) in tree.escaping_at(d) {
                if self.policy.classify(link).is_none()
                    && !reports.iter().any(|r: &FileReport| r.path == *link)
                {
                    reports.push(skipped(
                        link,
                        format!("`{link}` resolves outside the repository (symlink to {to}); it was not checked"),
                    ));
                }
            }
        }
        for p in &tree.not_utf8 {
            if self.policy.is_production(p) {
                reports.push(skipped(
                    p,
                    format!("`{p}` has a name that is not UTF-8 (shown with replacement characters); it was not checked"),
                ));
            }
        }
        let mut listed: Vec<(&str, FileKind)> = Vec::new();
        let mut other: Vec<&str> = Vec::new();
        for f in &tree.files {
            match self.policy.classify(f) {
                Some(kind) => listed.push((f, kind)),
                None if self.policy.is_production(f) => other.push(f),
                None => {}
            }
        }
        reports.extend(self.check_parallel(ctx.workspace, &listed));
        let reached = self.reached_by_import(ctx, &tree.files, &other);
        let reached: Vec<(&str, FileKind)> =
            reached.into_iter().map(|f| (f, FileKind::Js)).collect();
        reports.extend(self.check_parallel(ctx.workspace, &reached));
        reports
    }

    /// Check these files on as many threads as the machine has cores, one buffer per thread.
    fn check_parallel(&self, ws: &Workspace, files: &[(&str, FileKind)]) -> Vec<FileReport> {
        parallel(files, |(rel, kind), buf| {
            self.check_path(ws, rel, *kind, buf)
        })
    }

    /// Resolve a listed path through the workspace (inside the repository, a regular file)
    /// and check it. A tracked file missing from the checkout holds nothing to check.
    fn check_path(
        &self,
        ws: &Workspace,
        rel: &str,
        kind: FileKind,
        buf: &mut Vec<u8>,
    ) -> Option<FileReport> {
        match ws.resolve_stat(rel) {
            Ok((real, m)) if m.is_file() => self.check_walked(rel, kind, &real, m.len(), buf),
            Ok((_, m)) if m.is_dir() => None,
            Ok(_) => Some(skipped(
                rel,
                format!("`{rel}` is not a regular file; it was not checked"),
            )),
            Err(PathError::NotFound) => None,
            Err(e) => Some(skipped(rel, format!("`{rel}` {e}; it was not checked"))),
        }
    }

    /// Of the production files whose names say nothing (`app/mcp2`, `app/mcp.txt`), those that
    /// contain a banned name's text and that some JavaScript file of the repository reaches by
    /// a relative `import`/`require`/`import()`: Node runs them whatever their name. Only when
    /// such a suspect exists are the importers lexed, and only those that mention its name.
    fn reached_by_import<'f>(
        &self,
        ctx: &Context<'_>,
        tree: &[String],
        other: &[&'f str],
    ) -> Vec<&'f str> {
        let read = |rel: &str| ctx.workspace.read_capped(rel, self.max_file).ok().flatten();
        let mut suspects: Vec<&str> = parallel(other, |rel, _| {
            read(rel)
                .is_some_and(|b| {
                    self.policy
                        .prefilter
                        .as_ref()
                        .is_none_or(|p| p.is_match(&b))
                })
                .then_some(*rel)
        });
        suspects.sort_unstable();
        if suspects.is_empty() {
            return Vec::new();
        }
        let mut reached = Vec::new();
        for importer in tree {
            let name = importer.rsplit('/').next().unwrap_or(importer);
            if FileKind::by_name(name) != Some(FileKind::Js) || importer.contains("node_modules/") {
                continue;
            }
            let dir = importer.rsplit_once('/').map_or("", |(d, _)| d);
            let left: Vec<&str> = suspects
                .iter()
                .copied()
                .filter(|s| !reached.contains(s))
                .collect();
            if left.is_empty() {
                break;
            }
            let Some(bytes) = read(importer) else {
                continue;
            };
            let stem = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
            if !left
                .iter()
                .any(|s| memchr::memmem::find(&bytes, stem(s).as_bytes()).is_some())
            {
                continue;
            }
            for i in scan_js::imports(&lexable(&String::from_utf8_lossy(&bytes))) {
                let Some(target) = relative_target(dir, &i.value) else {
                    continue;
                };
                if let Some(s) = left.iter().find(|s| **s == target) {
                    reached.push(*s);
                }
            }
        }
        reached.sort_unstable();
        reached.dedup();
        reached
    }

    /// Read a file the walker found (a regular file below a resolved root) into `buf`.
    fn check_walked(
        &self,
        rel: &str,
        kind: FileKind,
        path: &Path,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Option<FileReport> {
        // A file over the limit is refused by its size, not read up to the limit first.
        if len > self.max_file {
            return Some(self.too_large(rel));
        }
        buf.clear();
        let read =
            std::fs::File::open(path).and_then(|f| f.take(self.max_file + 1).read_to_end(buf));
        match read {
            Err(e) => Some(skipped(rel, format!("`{rel}` could not be read: {e}"))),
            Ok(_) if buf.len() as u64 > self.max_file => Some(self.too_large(rel)),
            Ok(_) => self.check(rel, kind, buf),
        }
    }

    fn too_large(&self, path: &str) -> FileReport {
        self.counts.files.fetch_add(1, Ordering::Relaxed);
        skipped(
            path,
            format!(
                "`{path}` is larger than {} bytes and was not checked for imports",
                crate::text::thousands(self.max_file)
            ),
        )
    }

    /// Check one file's contents: pre-filter, lexing, policy, binary test.
    fn check(&self, path: &str, kind: FileKind, bytes: &[u8]) -> Option<FileReport> {
        self.counts.files.fetch_add(1, Ordering::Relaxed);
        if let Some(pre) = &self.policy.prefilter {
            if !pre.is_match(bytes) {
                return None;
            }
        }
        // A NUL byte does not stop a runtime from loading the file (one in a comment is valid
        // JavaScript), so a file that has one is lexed like any other; it is only called
        // binary when no banned import was found in it.
        let binary = memchr::memchr(0, bytes).is_some();
        self.counts.lexed.fetch_add(1, Ordering::Relaxed);
        let text = String::from_utf8_lossy(bytes);
        let mut report = FileReport {
            path: path.to_string(),
            findings: Vec::new(),
            suppressions: Vec::new(),
        };
        let (imports, markers): (Vec<Import>, &[&str]) = match kind {
            FileKind::Js => (scan_js::imports(&lexable(&text)), &["//"]),
            FileKind::Python => (scan_py::imports(&lexable(&text)), &["#"]),
            FileKind::Manifest => match manifest::dependencies(&text) {
                Ok(deps) => (deps, &[]),
                Err(e) => {
                    return Some(skipped(
                        path,
                        format!(
                            "`{path}` is not valid JSON ({}); its dependencies were not checked",
                            crate::text::excerpt(&e, 200)
                        ),
                    ))
                }
            },
        };
        self.counts
            .imports
            .fetch_add(imports.len() as u64, Ordering::Relaxed);
        let mut cursor = Cursor::new(&text);
        let mut cap = Cap::new(MAX_FINDINGS_PER_FILE);
        for i in &imports {
            if let Some(f) = self.finding(path, kind, &mut cursor, i) {
                if cap.admit() {
                    report.findings.push(f);
                }
            }
        }
        if cap.dropped() > 0 {
            let rule = report.findings[0].rule;
            report.findings.push(
                Finding::new(
                    rule,
                    format!(
                        "{} more banned imports or dependencies in `{path}` are not listed (at most {MAX_FINDINGS_PER_FILE} per file)",
                        crate::text::thousands(cap.dropped())
                    ),
                )
                .at(Location::file(path)),
            );
        }
        if binary && report.findings.is_empty() {
            return Some(skipped(
                path,
                format!(
                    "`{path}` looks binary (it contains NUL bytes) and no banned import was found in it"
                ),
            ));
        }
        if !markers.is_empty() {
            report.suppressions = crate::suppress::scan(path, &text, markers)
                .into_iter()
                .filter(concerns_this_gate)
                .collect();
        }
        (!report.findings.is_empty() || !report.suppressions.is_empty()).then_some(report)
    }

    /// The finding for one import or dependency, when its package is banned.
    fn finding(
        &self,
        path: &str,
        kind: FileKind,
        cursor: &mut Cursor<'_>,
        i: &Import,
    ) -> Option<Finding> {
        let (package, why) = match kind {
            FileKind::Python => {
                let (top, dist) = policy::python_package(&i.value);
                let why = self
                    .policy
                    .banned_because(top)
                    .or_else(|| self.policy.banned_because(&dist))?;
                (top.to_string(), why)
            }
            FileKind::Js | FileKind::Manifest => {
                let package = if kind == FileKind::Js {
                    policy::js_package(&i.value)?
                } else {
                    i.value.as_str()
                };
                (package.to_string(), self.policy.banned_because(package)?)
            }
        };
        let show = |s: &str| crate::text::excerpt(s, 200);
        let at = cursor.span(path, i.start, i.end);
        let finding = if kind == FileKind::Manifest {
            let key = cursor.text.get(i.start..i.end).unwrap_or_default();
            let alias = if !key.eq_ignore_ascii_case(&i.value) {
                format!(" (as the alias `{}`)", show(key))
            } else {
                String::new()
            };
            Finding::new(
                Rule::DevMcpBannedDependency,
                format!(
                    "`{}` is a runtime dependency of this production package (`{}`){alias}, but it is a development-only MCP package: {why}",
                    show(&package),
                    i.form
                ),
            )
        } else {
            let of = if package != i.value {
                format!(" (package `{}`)", show(&package))
            } else {
                String::new()
            };
            Finding::new(
                Rule::DevMcpBannedImport,
                format!(
                    "production code imports `{}`{of} with `{}`, but it is a development-only MCP package: {why}",
                    show(&i.value),
                    i.form
                ),
            )
        };
        let finding = finding.keyed(&i.value).at(at);
        Some(if why.contains("pattern") {
            let help = format!(
                "{} If `{}` is a production MCP client, list it in `allowed-packages` under `[dev-mcp-ban]`.",
                finding.help,
                show(&package)
            );
            finding.help(help)
        } else {
            finding
        })
    }
}

/// `f` over `items` on as many threads as the machine has cores (each with its own buffer),
/// the results in the items' order. A scanner that panicked on a file (it never should: the
/// scanners are fuzzed) stops the run instead of passing that file unchecked.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T, &mut Vec<u8>) -> Option<R> + Sync,
) -> Vec<R> {
    let threads = crate::parallel::threads(items.len(), 64, usize::MAX);
    crate::parallel::map(items, threads, None, Vec::new, f)
        .into_iter()
        .filter_map(|r| r.expect("a dev-mcp-ban scanner panicked on a file"))
        .collect()
}

/// The text as the lexers read it, byte for byte as long as `text`, so offsets stay valid: a
/// lone CR (a line end for JavaScript and Python alike, which would otherwise leave the rest
/// of a `//` or `#` comment's line hidden from the lexer) becomes LF, and a leading
/// byte-order mark becomes spaces.
fn lexable(text: &str) -> std::borrow::Cow<'_, str> {
    let text = crate::text::lone_cr_as_lf(text);
    match text.strip_prefix('\u{feff}') {
        Some(rest) => format!("   {rest}").into(),
        None => text,
    }
}

fn skipped(path: &str, message: String) -> FileReport {
    FileReport {
        path: path.to_string(),
        findings: vec![Finding::new(Rule::DevMcpFileSkipped, message).at(Location::file(path))],
        suppressions: Vec::new(),
    }
}

/// A suppression this gate answers for: one naming this gate, one of its rules, a core rule,
/// or something unknown. Suppressions meant for another gate's findings are that gate's.
fn concerns_this_gate(s: &Suppression) -> bool {
    s.targets.is_empty()
        || s.targets
            .iter()
            .any(|t| match (Rule::from_id(t), GateId::from_name(t)) {
                (Some(r), _) => r.gate().is_none_or(|g| g == GateId::DevMcpBan),
                (None, Some(g)) => g == GateId::DevMcpBan,
                (None, None) => true,
            })
}

/// The repository-relative path a relative specifier (`./x`, `../y/z`) names from `dir`;
/// `None` for a package name or a path climbing out of the repository.
fn relative_target(dir: &str, spec: &str) -> Option<String> {
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in spec.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Byte offsets to lines and character columns, moving forward through a file so that many
/// findings in one (possibly single-line, minified) file cost one pass.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    /// 1-based line of `pos`, and the characters before `pos` on that line.
    line: usize,
    col: usize,
}

fn chars(text: &str, from: usize, to: usize) -> usize {
    text.get(from..to).map_or(to - from, |s| s.chars().count())
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            text,
            pos: 0,
            line: 1,
            col: 0,
        }
    }

    /// 1-based line and column of byte `to`.
    fn seek(&mut self, to: usize) -> (usize, usize) {
        let to = to.min(self.text.len());
        if to < self.pos {
            *self = Cursor::new(self.text);
        }
        let seg = &self.text.as_bytes()[self.pos..to];
        match memchr::memrchr(b'\n', seg) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', seg).count();
                self.col = chars(self.text, self.pos + last + 1, to);
            }
            None => self.col += chars(self.text, self.pos, to),
        }
        self.pos = to;
        (self.line, self.col + 1)
    }

    /// The location of bytes `start..end`: on the start's line, up to the end or that line's end.
    fn span(&mut self, path: &str, start: usize, end: usize) -> Location {
        let (line, col) = self.seek(start);
        let inner = self.text.get(start..end).unwrap_or_default();
        let width = inner.split('\n').next().unwrap_or_default().chars().count();
        Location::span(path, line, col, col + width.max(1) - 1)
    }
}
