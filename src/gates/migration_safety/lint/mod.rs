//! Static lint of migrations with PostgreSQL's own grammar, squawk-style: each file is parsed
//! once (`parse`), then every statement is walked by the rule families — `destructive`
//! (drops, truncates, unbounded writes, renames, type changes: the "additive only" policy),
//! `locking` (table rewrites, blocking index builds and constraints), `types` (column types
//! to avoid) and `transaction` (CONCURRENTLY inside a transaction, missing `lock_timeout`).
//!
//! What the rules share lives here: the options (target PostgreSQL version, the additive-only
//! switch, how the runner sends a file), which tables are new in this PR (a table created in
//! the same file, or in an earlier migration of the PR, is not an "existing" table: nothing
//! can be locked or lost on it), and how a finding gets its place. A finding's line and column
//! are those of the offending clause — the statement's first token for statement-level rules,
//! the sub-command of an `ALTER TABLE`, the column or the type — so a suppression written on
//! the line above the clause covers it. The tree has no location for some clauses (the
//! sub-commands of ALTER TABLE, RENAME); for those, PostgreSQL's scanner tokenises that one
//! statement's text when a finding needs it. The grammar itself runs once per file.

mod ast;
mod destructive;
mod locking;
mod locks;
mod maintenance;
mod objects;
pub mod parse;
mod rls;
mod transaction;
mod types;

use super::discover::{Found, Migration};
use crate::finding::{Finding, GateOutput, Location, Severity};
use crate::rules::Rule;
use anyhow::Result;
use ast::Table;
use pg_query::NodeEnum;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// How a migration runner sends one migration file to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionMode {
    /// The whole file as one multi-statement query: PostgreSQL runs it as one implicit
    /// transaction when it holds more than one statement (Prisma Migrate, golang-migrate,
    /// Supabase CLI before 2.109).
    OneQuery,
    /// The runner wraps every file in BEGIN … COMMIT (sqlx, diesel, Flyway by default).
    Wrapped,
    /// Every statement runs on its own (psql without `-1`, Supabase CLI 2.109 and later).
    None,
}

pub const DEFAULT_PG_VERSION: u32 = 15;
/// The PostgreSQL major versions the lint knows (9 stands for 9.x).
pub const PG_VERSIONS: std::ops::RangeInclusive<u32> = 9..=18;

/// The lint's settings, from the command line and `[migration-safety]`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target PostgreSQL major version (9 stands for 9.x).
    pub pg: u32,
    pub additive_only: bool,
    pub transaction: TransactionMode,
    /// Schemas whose tables the API serves (`rls`).
    pub exposed_schemas: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pg: DEFAULT_PG_VERSION,
            // The team's written policy: production migrations are additive only.
            additive_only: true,
            transaction: TransactionMode::OneQuery,
            // What PostgREST and Supabase serve unless configured otherwise.
            exposed_schemas: vec!["public".into()],
        }
    }
}

/// The rules of the "additive only" policy: errors when `additive-only` is on, and not applied
/// to rollback files, which undo what the forward migration added.
const POLICY: &[Rule] = &[
    Rule::MigDropTable,
    Rule::MigDropColumn,
    Rule::MigDropSchema,
    Rule::MigDropDatabase,
    Rule::MigTruncateTable,
    Rule::MigDeleteWithoutWhere,
    Rule::MigUpdateWithoutWhere,
    Rule::MigRenameTable,
    Rule::MigRenameColumn,
    Rule::MigChangeColumnType,
    Rule::MigDropObject,
    Rule::MigSetNotNull,
];

/// `CHECK (col IS NOT NULL)` constraints by name: table, column, validated yet.
type NotNullChecks = HashMap<String, (Table, String, bool)>;

/// What the PR's migrations created so far: objects that did not exist before the PR.
#[derive(Debug, Default, Clone)]
struct Created {
    tables: HashSet<Table>,
    /// A statement changed `search_path` (`SET`, `set_config`, …): from then on an
    /// unqualified name may resolve to any schema, so it is never taken for the PR's own.
    path_changed: bool,
    indexes: HashSet<String>,
    /// Also those of the repository's earlier migrations (`history`).
    not_null_checks: NotNullChecks,
    /// New tables in an exposed schema, waiting for `ENABLE ROW LEVEL SECURITY` (`rls`).
    without_rls: rls::Waiting,
}

impl Created {
    /// A copy without the (possibly long) list of tables waiting for row-level security.
    fn without_waiting(&self) -> Created {
        Created {
            tables: self.tables.clone(),
            path_changed: self.path_changed,
            indexes: self.indexes.clone(),
            not_null_checks: self.not_null_checks.clone(),
            without_rls: rls::Waiting::default(),
        }
    }

    /// Start a file that only itself can create "new" tables in (no PR to scope by): a table
    /// of an earlier file still waits for its row-level security.
    fn next_file(&mut self) {
        let waiting = std::mem::take(&mut self.without_rls);
        *self = Created {
            without_rls: waiting,
            ..Created::default()
        };
    }
}

/// One statement: its node and where its text lies in the file (byte offsets).
pub struct Stmt<'t> {
    pub node: &'t NodeEnum,
    /// First token (after leading comments).
    pub start: usize,
    /// End of the statement's text, before the `;`.
    pub end: usize,
}

/// A token of a statement (byte offsets into the file), from PostgreSQL's scanner.
#[derive(Debug, Clone, Copy)]
struct Tok {
    start: usize,
    end: usize,
}

/// A byte range of the file that a finding points at.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// The walk over one file: the rule families read the statement and report through it.
pub struct Linter<'a> {
    opts: &'a Options,
    path: &'a str,
    text: &'a str,
    lines: crate::text::LineIndex<'a>,
    rollback: bool,
    statements: usize,
    /// Where the text of the tree being linted starts in the file (a piece of a large file).
    base: usize,
    created: &'a mut Created,
    /// Line of the explicit `BEGIN` whose transaction is open.
    open_begin: Option<usize>,
    /// That `BEGIN` statement.
    begin_span: Option<Span>,
    /// Constraints added `NOT VALID` in the open transaction: table, name, line, lock mode.
    not_valid_in_tx: Vec<(Table, String, usize, locks::Mode)>,
    lock_timeout: bool,
    lock_timeout_reported: bool,
    tokens: Option<(usize, Vec<Tok>)>,
    /// The file may hold an identifier longer than PostgreSQL keeps (`objects`).
    long_identifiers: bool,
    findings: Vec<Finding>,
}

/// Lint `found`, knowing what the repository's earlier migrations (`earlier`, in apply order)
/// created and validated.
pub fn run(
    opts: &Options,
    found: &Found,
    earlier: &[super::discover::Migration],
    out: &mut GateOutput,
) -> Result<()> {
    parse::with_stack(|| run_on_this_thread(opts, found, earlier, out))
}

fn run_on_this_thread(
    opts: &Options,
    found: &Found,
    earlier: &[super::discover::Migration],
    out: &mut GateOutput,
) -> Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let mut created = Created::default();
    history(earlier, &mut created);
    let mut statements = 0usize;
    // Parse a batch in parallel, lint it in order, drop its trees: memory stays bounded by
    // the batch, whatever the number of files. A tree takes ~200 times the size of its text
    // (2.7 GB for 12 MB of short statements), so a batch holds at most `PIECE_BYTES` of text
    // and a larger file is parsed and linted a piece of whole statements at a time.
    for batch in batches(&found.migrations, workers * 8) {
        if let [m] = batch {
            if m.text.len() > parse::MAX_STATEMENT_BYTES {
                out.suppressions
                    .extend(crate::suppress::scan(&m.path, &m.text, &["--"]));
                if found.all {
                    created.next_file();
                }
                match lint_in_pieces(opts, m, &mut created) {
                    Ok((n, findings)) => {
                        statements += n;
                        out.findings.extend(findings);
                    }
                    Err(e) if e.too_deep() => {
                        statements += lint_statement_by_statement(opts, m, &mut created, out);
                    }
                    Err(e) => out.push(syntax_error(m, &e)),
                }
                continue;
            }
        }
        for (m, tree) in batch.iter().zip(parse_all(batch, workers)) {
            out.suppressions
                .extend(crate::suppress::scan(&m.path, &m.text, &["--"]));
            if found.all {
                // Without a PR to scope by, only the file itself can create "new" tables.
                created.next_file();
            }
            match tree {
                Ok(tree) => {
                    statements += tree.stmts.len();
                    out.findings.extend(lint_file(opts, m, &tree, &mut created));
                }
                Err(e) if e.too_deep() => {
                    statements += lint_statement_by_statement(opts, m, &mut created, out);
                }
                Err(e) => out.push(syntax_error(m, &e)),
            }
        }
    }
    out.findings.extend(rls::pending(created.without_rls));
    out.notes.push(format!(
        "{} statement(s) linted for PostgreSQL {}",
        crate::text::thousands(statements as u64),
        opts.pg
    ));
    Ok(())
}

/// What the repository's earlier migrations (applied before the PR's) leave behind that the
/// lint's verdicts depend on: validated `CHECK (col IS NOT NULL)` constraints, which make a
/// later `SET NOT NULL` skip its scan. Only files that mention `NOT NULL` or `VALIDATE` are
/// parsed; one that does not parse adds nothing (the dry run reports it).
fn history(earlier: &[Migration], created: &mut Created) {
    for m in earlier {
        let lower = m.text.to_ascii_lowercase();
        if !lower.contains("not null") && !lower.contains("validate") {
            continue;
        }
        let Some((_, pieces)) = parse::pieces(&m.text, PIECE_BYTES) else {
            continue;
        };
        for piece in pieces.into_iter().filter(|p| !p.oversized) {
            let Ok(tree) = parse::parse_piece(&m.text, piece) else {
                break;
            };
            for raw in &tree.stmts {
                if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                    locking::record_not_null_checks(&mut created.not_null_checks, node);
                }
            }
        }
    }
}

/// Text parsed at once: a batch of files, or a piece of a larger file.
const PIECE_BYTES: usize = 256 << 10;

/// Consecutive files, at most `max` of them and `PIECE_BYTES` of text together; a file that
/// may hold a statement too long to parse is a batch of its own (read in pieces).
fn batches(migrations: &[Migration], max: usize) -> Vec<&[Migration]> {
    let mut out = Vec::new();
    let (mut start, mut bytes, mut after_alone) = (0, 0, false);
    for (i, m) in migrations.iter().enumerate() {
        let alone = m.text.len() > parse::MAX_STATEMENT_BYTES;
        if i > start
            && (alone || after_alone || i - start == max || bytes + m.text.len() > PIECE_BYTES)
        {
            out.push(&migrations[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += m.text.len();
        after_alone = alone;
    }
    if start < migrations.len() {
        out.push(&migrations[start..]);
    }
    out
}

/// A file with a statement nested too deeply to be handed over by libpg_query: every other
/// statement is linted on its own, and that one is a `statement-too-complex` warning. Returns
/// the number of statements linted.
fn lint_statement_by_statement(
    opts: &Options,
    m: &Migration,
    created: &mut Created,
    out: &mut GateOutput,
) -> usize {
    match lint_pieces(opts, m, created, 1, true) {
        Ok((n, findings)) => {
            out.findings.extend(findings);
            n
        }
        Err(e) => {
            out.push(syntax_error(m, &e));
            0
        }
    }
}

/// Lint a large file a piece of whole statements at a time: the statements it holds and the
/// findings, or its syntax error (then nothing it creates is recorded, as for a whole file).
fn lint_in_pieces(
    opts: &Options,
    m: &Migration,
    created: &mut Created,
) -> Result<(usize, Vec<Finding>), parse::SyntaxError> {
    lint_pieces(opts, m, created, PIECE_BYTES, false)
}

/// Lint `m` in pieces of about `max` bytes of whole statements; a statement too long to parse
/// is a `statement-too-complex` warning. A piece that does not parse stops the file with its
/// error, or, `one_by_one`, is a `statement-too-complex` warning too. Returns the statements
/// linted and the findings.
fn lint_pieces(
    opts: &Options,
    m: &Migration,
    created: &mut Created,
    max: usize,
    one_by_one: bool,
) -> Result<(usize, Vec<Finding>), parse::SyntaxError> {
    let Some((count, pieces)) = parse::pieces(&m.text, max) else {
        // The scanner cannot split it: the whole parse says why.
        let tree = parse::parse(&m.text)?;
        return Ok((tree.stmts.len(), lint_file(opts, m, &tree, created)));
    };
    let (before, mark) = (created.without_waiting(), created.without_rls.mark());
    let mut l = Linter::new(opts, m, count, created);
    let mut linted = 0;
    for piece in pieces {
        if piece.oversized {
            too_complex(&mut l, piece, oversized(piece));
            continue;
        }
        match parse::parse_piece(&m.text, piece) {
            Ok(tree) => {
                l.base = piece.start;
                linted += tree.stmts.len();
                l.lint(&tree);
            }
            Err(e) if one_by_one => {
                let why = if e.too_deep() {
                    format!(
                        "this statement is nested deeper than merge-gates can read ({})",
                        crate::text::excerpt(&e.message, 120)
                    )
                } else {
                    format!(
                        "PostgreSQL cannot parse this statement on its own ({})",
                        crate::text::excerpt(&e.message, 200)
                    )
                };
                too_complex(&mut l, piece, why);
            }
            Err(e) => {
                let mut waiting = std::mem::take(&mut l.created.without_rls);
                waiting.forget_after(mark);
                *l.created = Created {
                    without_rls: waiting,
                    ..before
                };
                return Err(e);
            }
        }
    }
    transaction::finish(&mut l);
    Ok((linted, l.findings))
}

fn oversized(piece: parse::Piece) -> String {
    format!(
        "this statement is {} bytes, longer than merge-gates parses ({} bytes: its parse tree would take several hundred times that in memory)",
        crate::text::thousands((piece.end - piece.start) as u64),
        crate::text::thousands(parse::MAX_STATEMENT_BYTES as u64)
    )
}

/// `statement-too-complex` on the statement of `piece`, which was not linted.
fn too_complex(l: &mut Linter, piece: parse::Piece, why: String) {
    // A piece starts where the previous statement ended: at its `;`.
    let mut start = parse::skip_trivia(l.text, piece.start);
    if l.text[start..].starts_with(';') {
        start = parse::skip_trivia(l.text, start + 1);
    }
    let span = Span {
        start: start.min(piece.end),
        end: piece.end,
    };
    l.report(
        Rule::MigStatementTooComplex,
        span,
        format!("{why}, so it was not linted; the rest of the file was"),
        None,
    );
}

/// Parse each file of a batch once, on all cores: libpg_query is thread-safe and parsing
/// dominates the lint's time. A parser that died (it never should) fails its own file.
fn parse_all(
    migrations: &[Migration],
    workers: usize,
) -> Vec<Result<pg_query::protobuf::ParseResult, parse::SyntaxError>> {
    let threads = workers.min(migrations.len()).max(1);
    let stack = (threads > 1).then_some(parse::STACK);
    crate::parallel::map(
        migrations,
        threads,
        stack,
        || (),
        |m, _| parse::parse(&m.text),
    )
    .into_iter()
    .map(|r| {
        r.unwrap_or_else(|| {
            Err(parse::SyntaxError {
                message: "the parser failed on this file".into(),
                offset: None,
            })
        })
    })
    .collect()
}

fn syntax_error(m: &Migration, e: &parse::SyntaxError) -> Finding {
    let message = if m.text.starts_with('\u{feff}') && e.offset == Some(0) {
        "the file starts with a UTF-8 byte-order mark, which PostgreSQL reads as part of the first word (save it as UTF-8 without BOM)".to_string()
    } else {
        crate::text::excerpt(&e.message, 300)
    };
    match e.offset {
        Some(off) => {
            let (line, col) = crate::text::LineIndex::new(&m.text).pos(off);
            Finding::new(
                Rule::MigSyntaxError,
                format!("PostgreSQL cannot parse this migration: {message} (line {line}, column {col}); nothing in the file was linted"),
            )
            .at(Location::span(&m.path, line, col, col))
        }
        None => Finding::new(
            Rule::MigSyntaxError,
            format!(
                "PostgreSQL cannot parse this migration: {message}; nothing in the file was linted"
            ),
        )
        .at(Location::file(&m.path)),
    }
}

/// The whole lint of one file, `text`, for PostgreSQL `pg` (for the fuzz targets): its
/// suppressions are not applied, and nothing was created before it.
#[doc(hidden)]
pub fn lint_text(text: &str, pg: u32) -> Vec<Finding> {
    let m = Migration {
        path: "migration.sql".into(),
        rollback: false,
        text: text.to_string(),
    };
    let opts = Options {
        pg,
        ..Options::default()
    };
    parse::with_stack(|| {
        let mut out = GateOutput::default();
        let mut created = Created::default();
        match parse::parse(&m.text) {
            Ok(tree) => out.findings = lint_file(&opts, &m, &tree, &mut created),
            Err(e) if e.too_deep() => {
                lint_statement_by_statement(&opts, &m, &mut created, &mut out);
            }
            Err(e) => out.findings.push(syntax_error(&m, &e)),
        }
        out.findings.extend(rls::pending(created.without_rls));
        out.findings
    })
}

fn lint_file(
    opts: &Options,
    m: &Migration,
    tree: &pg_query::protobuf::ParseResult,
    created: &mut Created,
) -> Vec<Finding> {
    let mut l = Linter::new(opts, m, tree.stmts.len(), created);
    l.lint(tree);
    transaction::finish(&mut l);
    l.findings
}

impl<'a> Linter<'a> {
    fn new(
        opts: &'a Options,
        m: &'a Migration,
        statements: usize,
        created: &'a mut Created,
    ) -> Self {
        Linter {
            opts,
            path: &m.path,
            text: &m.text,
            lines: crate::text::LineIndex::new(&m.text),
            rollback: m.rollback,
            statements,
            base: 0,
            created,
            open_begin: None,
            begin_span: None,
            not_valid_in_tx: Vec::new(),
            lock_timeout: false,
            lock_timeout_reported: false,
            tokens: None,
            long_identifiers: objects::may_have_long_identifier(&m.text),
            findings: Vec::new(),
        }
    }

    /// Lint the statements of a tree whose locations are offsets into the file.
    fn lint(&mut self, tree: &pg_query::protobuf::ParseResult) {
        let l = self;
        let text = l.text;
        for raw in &tree.stmts {
            let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else {
                continue;
            };
            let loc = usize::try_from(raw.stmt_location)
                .unwrap_or(0)
                .min(text.len());
            let end = match usize::try_from(raw.stmt_len) {
                Ok(0) | Err(_) => text.len(),
                Ok(n) => (loc + n).min(text.len()),
            };
            let start = parse::skip_trivia(text, loc).min(end);
            let end = start + text[start..end].trim_end().len();
            let stmt = Stmt { node, start, end };
            // Order matters only for state: the rules see the state before the statement, then
            // `record` adds what the statement creates.
            transaction::check(l, &stmt);
            destructive::check(l, &stmt);
            locking::check(l, &stmt);
            maintenance::check(l, &stmt);
            objects::check(l, &stmt);
            rls::check(l, &stmt);
            types::check(l, &stmt);
            locking::record(l, &stmt);
            transaction::record(l, &stmt);
        }
    }
}

impl<'a> Linter<'a> {
    pub fn opts(&self) -> &Options {
        self.opts
    }

    /// The table existed before this PR (it was not created earlier in the file or the PR).
    pub fn existing(&self, t: &Table) -> bool {
        (!t.qualified && self.created.path_changed) || !self.created.tables.contains(t)
    }

    /// The relation a lock is on existed before this PR.
    pub fn existing_lock(&self, k: &locks::Lock) -> bool {
        match k.rel {
            locks::Rel::Index => !self.created.indexes.contains(&k.table.name),
            _ => self.existing(&k.table),
        }
    }

    /// The relation of a statement when it is a table that existed before this PR, with the
    /// location of its name.
    pub fn existing_relation(
        &self,
        rv: &Option<pg_query::protobuf::RangeVar>,
    ) -> Option<(Table, i32)> {
        let rv = rv.as_ref()?;
        let t = Table::of(rv);
        self.existing(&t).then_some((t, self.shift(rv.location)))
    }

    /// A location of the tree being linted as an offset into the file (`-1`, unknown, stays).
    pub fn shift(&self, location: i32) -> i32 {
        match location < 0 {
            true => location,
            false => location.saturating_add(i32::try_from(self.base).unwrap_or(i32::MAX)),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines.pos(offset).0
    }

    /// The statement's SQL for a message: whitespace collapsed, at most 80 characters.
    pub fn sql(&self, span: Span) -> String {
        let s = self.text.get(span.start..span.end).unwrap_or_default();
        let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
        crate::text::excerpt(&flat, 80)
    }

    /// Report a finding at `span`. Policy rules become errors under `additive-only`, and are
    /// not applied to rollback files.
    pub fn report(&mut self, rule: Rule, span: Span, message: String, help: Option<String>) {
        if let Some(f) = self.finding(rule, span, message, help) {
            self.findings.push(f);
        }
    }

    /// The finding `report` would make (none for a policy rule in a rollback file).
    pub fn finding(
        &self,
        rule: Rule,
        span: Span,
        message: String,
        help: Option<String>,
    ) -> Option<Finding> {
        let policy = POLICY.contains(&rule);
        if policy && self.rollback {
            return None;
        }
        let (line, column) = self.lines.pos(span.start);
        let last = self
            .text
            .get(..span.end.max(span.start))
            .unwrap_or(self.text)
            .trim_end()
            .len()
            .max(span.start + 1);
        let (end_line, end_column) = self.lines.pos(last - 1);
        let flagged = self.text.get(span.start..span.end).unwrap_or_default();
        let mut f = Finding::new(rule, message).keyed(flagged).at(Location {
            path: self.path.to_string(),
            line: u32::try_from(line).ok(),
            column: u32::try_from(column).ok(),
            end_line: u32::try_from(end_line).ok(),
            end_column: u32::try_from(end_column).ok(),
        });
        if let Some(h) = help {
            f = f.help(h);
        }
        if policy && self.opts.additive_only {
            f.severity = Severity::Error;
        }
        Some(f)
    }

    /// The whole statement.
    pub fn whole(&self, s: &Stmt) -> Span {
        Span {
            start: s.start,
            end: s.end,
        }
    }

    /// The tokens of a statement (comments excluded), scanned once per statement on demand.
    fn tokens(&mut self, s: &Stmt) -> &[Tok] {
        if self.tokens.as_ref().map(|(at, _)| *at) != Some(s.start) {
            let text = &self.text[s.start..s.end];
            let toks = pg_query::scan(text)
                .map(|r| {
                    r.tokens
                        .iter()
                        .filter_map(|t| {
                            let (a, b) =
                                (usize::try_from(t.start).ok()?, usize::try_from(t.end).ok()?);
                            let word = text.get(a..b)?;
                            (!word.starts_with("--") && !word.starts_with("/*")).then_some(Tok {
                                start: s.start + a,
                                end: s.start + b,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.tokens = Some((s.start, toks));
        }
        self.tokens.as_ref().map_or(&[], |(_, t)| t.as_slice())
    }

    /// The statement's tokens as byte ranges of the file.
    pub fn statement_tokens(&mut self, s: &Stmt) -> Vec<(usize, usize)> {
        self.tokens(s).iter().map(|t| (t.start, t.end)).collect()
    }

    pub fn text_of(&self, t: &(usize, usize)) -> &str {
        self.text.get(t.0..t.1).unwrap_or_default()
    }

    fn word(&self, t: &Tok) -> &str {
        &self.text[t.start..t.end]
    }

    /// The span of the `index`-th sub-command of `ALTER TABLE <relation> cmd, cmd, …`:
    /// sub-commands are separated by commas outside parentheses and brackets.
    pub fn alter_cmd(&mut self, s: &Stmt, relation_at: i32, index: usize) -> Span {
        let whole = self.whole(s);
        let rel = usize::try_from(relation_at).unwrap_or(0);
        let toks = self.tokens(s).to_vec();
        let Some(mut i) = toks.iter().position(|t| t.start >= rel) else {
            return whole;
        };
        // Skip the (qualified) table name and an optional `*`.
        i += 1;
        while i + 1 < toks.len() && self.word(&toks[i]) == "." {
            i += 2;
        }
        if i < toks.len() && self.word(&toks[i]) == "*" {
            i += 1;
        }
        let mut seg = 0usize;
        let mut depth = 0i32;
        let mut seg_start = i;
        for (j, t) in toks.iter().enumerate().skip(i) {
            match self.word(t) {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                "," if depth == 0 => {
                    if seg == index {
                        return self.tok_span(&toks, seg_start, j);
                    }
                    seg += 1;
                    seg_start = j + 1;
                }
                _ => {}
            }
        }
        if seg == index {
            return self.tok_span(&toks, seg_start, toks.len());
        }
        whole
    }

    fn tok_span(&self, toks: &[Tok], from: usize, to: usize) -> Span {
        match (toks.get(from), to.checked_sub(1).and_then(|k| toks.get(k))) {
            (Some(a), Some(b)) if b.end >= a.start => Span {
                start: a.start,
                end: b.end,
            },
            (Some(a), _) => Span {
                start: a.start,
                end: a.end,
            },
            _ => Span { start: 0, end: 0 },
        }
    }

    /// From the first token at or after `offset` whose text is `keyword` (any case) to the
    /// end of the statement; the whole statement when there is none.
    pub fn keyword_to_end(&mut self, s: &Stmt, offset: usize, keyword: &str) -> Span {
        let toks = self.tokens(s).to_vec();
        match toks
            .iter()
            .find(|t| t.start >= offset && self.word(t).eq_ignore_ascii_case(keyword))
        {
            Some(t) => Span {
                start: t.start,
                end: s.end,
            },
            None => self.whole(s),
        }
    }

    /// A type name at `location`: its words and an optional parenthesised modifier.
    pub fn type_at(&mut self, s: &Stmt, location: i32) -> Span {
        let location = self.shift(location);
        const STOP: &[&str] = &[
            "not",
            "null",
            "default",
            "constraint",
            "primary",
            "references",
            "check",
            "unique",
            "collate",
            "generated",
            "using",
            "unsigned",
        ];
        let Ok(at) = usize::try_from(location) else {
            return self.whole(s);
        };
        let toks = self.tokens(s).to_vec();
        let Some(first) = toks.iter().position(|t| t.start >= at) else {
            return self.whole(s);
        };
        let mut last = first;
        let mut depth = 0i32;
        for (j, t) in toks.iter().enumerate().skip(first + 1) {
            let w = self.word(t);
            match w {
                "(" | "[" => depth += 1,
                ")" | "]" if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                _ if w.chars().all(|c| c.is_ascii_alphabetic())
                    && !STOP.contains(&w.to_ascii_lowercase().as_str()) => {}
                _ => break,
            }
            last = j;
        }
        self.tok_span(&toks, first, last + 1)
    }
}
