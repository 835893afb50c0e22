//! `dev-mcp-ban`: production code must not import development-only MCP packages.
//!
//! The production tree (`app/**` by default, minus scripts, tests and docs) is walked in
//! parallel with the `ignore` crate, honouring `.gitignore`, following only symlinks that stay
//! inside the repository. Each JavaScript/TypeScript and
//! Python file passes a literal pre-filter first; only files that contain a banned name's
//! literal part are lexed (`scan_js`, `scan_py`) and their import specifiers matched against the
//! policy (`policy`). Production `package.json` files are checked for banned runtime
//! dependencies (`manifest`). Suppression comments are collected from the lexed files for the
//! core to apply. Memory does not grow with the tree: each worker reuses one buffer, and only
//! files with findings or suppressions are kept.

pub mod manifest;
pub mod policy;
pub mod scan_js;
pub mod scan_py;

use super::Context;
use crate::finding::{Cap, Finding, GateOutput, Location, MAX_FINDINGS_PER_FILE};
use crate::pr::Needs;
use crate::rules::{GateId, Rule};
use crate::suppress::Suppression;
use crate::workspace::PathError;
use policy::{FileKind, Policy};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Source files larger than this are skipped with a notice, unless the config says otherwise.
pub const DEFAULT_MAX_FILE: u64 = 16 << 20;

/// A module named in a file: `start..end` is the byte span of its text (a specifier's contents
/// without quotes, a dotted module name, a manifest key), `value` what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub start: usize,
    pub end: usize,
    pub value: String,
    /// How it was written (`import … from`, `require()`, …; the section of a manifest).
    pub form: &'static str,
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

    /// Walk the production tree in parallel and check every file the policy covers.
    fn scan_tree(&self, ctx: &Context<'_>) -> Vec<FileReport> {
        let (dirs, files) = self.policy.walk_roots();
        let mut reports = Vec::new();
        for f in &files {
            if let Some(kind) = self.policy.classify(f) {
                reports.extend(self.check_listed(ctx, f, kind));
            }
        }
        // Each root is resolved through the workspace, so a symlinked `app/` cannot lead the
        // walk outside the repository.
        let mut roots: Vec<(String, PathBuf)> = Vec::new();
        for d in dirs {
            let real = if d.is_empty() {
                Ok(ctx.workspace.root().to_path_buf())
            } else {
                ctx.workspace.resolve(&d)
            };
            match real {
                Ok(real) if real.is_dir() => {
                    if !roots.iter().any(|(_, r)| *r == real) {
                        roots.push((d, real));
                    }
                }
                Ok(_) | Err(PathError::NotFound) => {}
                Err(e) => reports.push(skipped(&d, format!("`{d}` {e}; it was not checked"))),
            }
        }
        // Deepest first, so a path is attributed to the most specific root.
        roots.sort_by_key(|(_, r)| std::cmp::Reverse(r.as_os_str().len()));
        let Some(((_, first), rest)) = roots.split_first() else {
            return reports;
        };
        let mut walk = ignore::WalkBuilder::new(first);
        for (_, r) in rest {
            walk.add(r);
        }
        // Symlinks are followed only when they resolve inside the repository (a shared folder
        // linked into `app/` is production code too); one leading outside is pruned unread.
        let repo_root = ctx.workspace.root().to_path_buf();
        walk.hidden(false)
            .follow_links(true)
            .require_git(false)
            .filter_entry(move |e| {
                e.file_name() != ".git"
                    && (!e.path_is_symlink()
                        || std::fs::canonicalize(e.path())
                            .is_ok_and(|real| real.starts_with(&repo_root)))
            });
        let (tx, rx) = mpsc::channel();
        walk.build_parallel().run(|| {
            let tx = tx.clone();
            let (roots, files) = (&roots, &files);
            let mut buf = Vec::new();
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return ignore::WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                let Some(name) = entry.file_name().to_str() else {
                    return ignore::WalkState::Continue;
                };
                if FileKind::by_name(name).is_none() {
                    return ignore::WalkState::Continue;
                }
                // Files named without wildcards were checked above.
                let Some(rel) = relative(roots, entry.path()).filter(|r| !files.contains(r)) else {
                    return ignore::WalkState::Continue;
                };
                if let Some(kind) = self.policy.classify(&rel) {
                    if let Some(report) = self.check_walked(&rel, kind, entry.path(), &mut buf) {
                        let _ = tx.send(report);
                    }
                }
                ignore::WalkState::Continue
            })
        });
        drop(tx);
        reports.extend(rx);
        reports
    }

    /// Read a file the walker found (a regular file below a resolved root) into `buf`.
    fn check_walked(
        &self,
        rel: &str,
        kind: FileKind,
        path: &Path,
        buf: &mut Vec<u8>,
    ) -> Option<FileReport> {
        // A file over the limit is refused by its size, not read up to the limit first.
        if std::fs::metadata(path).is_ok_and(|m| m.len() > self.max_file) {
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
        let finding = finding.at(at);
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

/// The repository-relative path of a walked file, by the root it was found under.
fn relative(roots: &[(String, PathBuf)], path: &Path) -> Option<String> {
    roots.iter().find_map(|(prefix, real)| {
        let rest = path.strip_prefix(real).ok()?.to_str()?;
        let rest = rest.replace('\\', "/");
        Some(if prefix.is_empty() {
            rest
        } else {
            format!("{prefix}/{rest}")
        })
    })
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
