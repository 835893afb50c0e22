//! Dry run of the PR's migrations on a real PostgreSQL, reading the locks each statement
//! takes (as eugene does): PostgreSQL's DDL is transactional, so a migration run inside a
//! transaction shows its locks in `pg_locks` until it commits.
//!
//! This module owns the scratch database's life: a database with a unique name is created
//! through the given URL (the only thing ever done there), everything else runs inside it, and
//! it is dropped on every path — success, a failing migration, an error, a panic of the
//! tracing task, the overall timeout, Ctrl-C or SIGTERM. The order is the order production
//! sees: every migration already in the repository (version order), then the PR's own
//! (version order); see `sql::version`. The facts gathered by `trace` become findings here.

pub mod oracle;
pub mod sandbox;
pub mod sql;
pub mod trace;

use super::discover::{self, Found, Migration};
use crate::finding::{Finding, GateOutput, Location};
use crate::gates::Context;
use crate::rules::Rule;
use anyhow::{Context as _, Result};
use std::time::Duration;
use tokio_postgres::config::Host;
use tokio_postgres::Config;
use trace::{Outcome, Phase};

pub const DEFAULT_DANGEROUS: &[&str] = &[
    "AccessExclusiveLock",
    "ExclusiveLock",
    "ShareRowExclusiveLock",
    "ShareLock",
];

/// The dry run's settings, typed; `settings` resolves them.
pub struct Options {
    /// The throwaway server; `None`: no dry run (a `dry-run-skipped` finding says so).
    pub database_url: Option<String>,
    /// Write the per-statement trace as JSON here.
    pub trace: Option<std::path::PathBuf>,
    pub statement_timeout: Duration,
    pub timeout: Duration,
    /// SQL run before any migration (the config's `dry-run.setup`, read before the run).
    pub setup: Option<Migration>,
    /// Lock modes that are findings without a `lock_timeout`, as `lock_key` spells them.
    pub dangerous: Vec<String>,
    /// The lint's `additive-only` policy: the oracle's findings follow it.
    pub additive_only: bool,
    /// The lint's `exposed-schemas`: new tables there need row-level security.
    pub exposed_schemas: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            database_url: None,
            trace: None,
            statement_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            setup: None,
            dangerous: DEFAULT_DANGEROUS.iter().map(|m| lock_key(m)).collect(),
            additive_only: true,
            exposed_schemas: vec!["public".into()],
        }
    }
}

/// A lock mode as the config may write it (`AccessExclusiveLock`, `ACCESS EXCLUSIVE`), in the
/// spelling `Options::dangerous` holds; `None` when it is no table lock mode.
pub fn lock_mode(mode: &str) -> Option<String> {
    let k = lock_key(mode);
    LOCK_MODES.contains(&k.as_str()).then_some(k)
}

/// `AccessExclusiveLock`, `ACCESS EXCLUSIVE`, `access_exclusive` → `ACCESSEXCLUSIVE`.
fn lock_key(mode: &str) -> String {
    let k: String = mode
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    k.strip_suffix("LOCK").map(str::to_string).unwrap_or(k)
}

/// `AccessExclusiveLock` → `ACCESS EXCLUSIVE`, as the PostgreSQL docs write lock modes.
fn lock_name(mode: &str) -> String {
    let base = mode.strip_suffix("Lock").unwrap_or(mode);
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The conflict order of PostgreSQL's table lock modes (weakest first).
fn strength(mode: &str) -> usize {
    let k = lock_key(mode);
    LOCK_MODES.iter().position(|o| *o == k).unwrap_or(0)
}

/// PostgreSQL's table lock modes as `lock_key` spells them, weakest first.
const LOCK_MODES: [&str; 8] = [
    "ACCESSSHARE",
    "ROWSHARE",
    "ROWEXCLUSIVE",
    "SHAREUPDATEEXCLUSIVE",
    "SHARE",
    "SHAREROWEXCLUSIVE",
    "EXCLUSIVE",
    "ACCESSEXCLUSIVE",
];

/// `user@host:port/dbname` — never the password.
pub fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("")
    )
}

/// A database URL with its password replaced by `***` (for messages about a URL that does
/// not even parse).
pub fn redact(url: &str) -> String {
    let userinfo = regex::Regex::new(r"(?i)^([a-z][a-z0-9+.-]*://[^/@:]*:)[^@/]*@").expect("regex");
    let param = regex::Regex::new(r"(?i)(password\s*=\s*)('[^']*'|[^&\s]*)").expect("regex");
    let s = userinfo.replace(url, "${1}***@");
    param.replace_all(&s, "${1}***").into_owned()
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub async fn run(
    ctx: &Context<'_>,
    opts: &Options,
    discover_opts: &discover::Options,
    found: &Found,
    out: &mut GateOutput,
) -> Result<()> {
    let mut changed: Vec<Migration> = found
        .migrations
        .iter()
        .filter(|m| !m.rollback)
        .cloned()
        .collect();
    let rollbacks = found.migrations.len() - changed.len();
    if rollbacks > 0 {
        out.notes.push(format!(
            "dry run: {rollbacks} rollback migration(s) not run (they undo, they are not applied)"
        ));
    }
    if changed.is_empty() {
        out.notes.push("dry run: no migration to run".to_string());
        return Ok(());
    }
    let Some(url) = opts
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    else {
        out.push(Finding::new(
            Rule::MigDryRunSkipped,
            format!(
                "{} migration(s) were not dry-run on PostgreSQL: no database URL was given, so failures, locks and table rewrites they cause are not checked",
                changed.len()
            ),
        ));
        return Ok(());
    };
    let mut config: Config = url
        .parse()
        .map_err(|e| anyhow::anyhow!("--database-url {}: {e}", redact(url)))?;
    config.connect_timeout(Duration::from_secs(10));
    sql::sort_by_version(&mut changed, |m| &m.path);
    let earlier = if found.all {
        Vec::new()
    } else {
        let mut scratch = GateOutput::default();
        let every = discover::find(ctx, discover_opts, true, &mut scratch)?;
        let unread = scratch
            .findings
            .iter()
            .filter(|f| f.rule == Rule::MigFileUnreadable)
            .count();
        if unread > 0 {
            out.notes.push(format!(
                "dry run: {unread} earlier migration(s) could not be read and were not applied"
            ));
        }
        let mut earlier: Vec<Migration> = every
            .migrations
            .into_iter()
            .filter(|m| !m.rollback && !changed.iter().any(|c| c.path == m.path))
            .collect();
        sql::sort_by_version(&mut earlier, |m| &m.path);
        earlier
    };
    let setup = opts.setup.clone();
    let shown = describe(&config);
    let scratch = sandbox::Scratch::fresh();
    let name = scratch.name.clone();
    let mut admin_config = config.clone();
    admin_config.dbname(&name);
    let mut scratch_config = admin_config.clone();
    scratch_config.user(&name).password(&scratch.password);
    let planned = changed.len();
    let supabase = found
        .migrations
        .iter()
        .chain(&earlier)
        .any(|m| super::discover::is_supabase(&m.path));
    let job = trace::Job {
        admin: admin_config,
        config: scratch_config,
        superuser: false,
        supabase,
        statement_timeout: opts.statement_timeout,
        setup,
        earlier,
        changed,
        exposed_schemas: opts.exposed_schemas.clone(),
    };
    let started = std::time::Instant::now();
    let outcome = with_scratch_database(&config, &shown, &scratch, opts.timeout, job).await?;
    for n in &outcome.leftovers {
        out.notes.push(format!(
            "dry run: dropped scratch database and role `{n}` left by a dead run"
        ));
    }
    out.notes.extend(outcome.notices.iter().cloned());
    if let Some(path) = &opts.trace {
        let json = serde_json::to_string_pretty(&outcome).context("serializing the trace")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing --dry-run-trace {}", path.display()))?;
    }
    report(&outcome, opts, out);
    oracle::report(&outcome.oracle, opts.additive_only, out);
    let left = planned.saturating_sub(outcome.migrations.len());
    if left > 0 {
        out.notes.push(format!(
            "dry run: stopped at the failure above; {left} more of the PR's migration(s) were not run"
        ));
    }
    let statements: usize = outcome.migrations.iter().map(|m| m.statements.len()).sum();
    let slowest = outcome
        .migrations
        .iter()
        .flat_map(|m| m.statements.iter().map(move |s| (m, s)))
        .max_by(|a, b| a.1.duration_ms.total_cmp(&b.1.duration_ms))
        .map(|(m, s)| {
            format!(
                "; slowest `{}:{}` ({:.1} ms)",
                m.path, s.line, s.duration_ms
            )
        })
        .unwrap_or_default();
    out.notes.push(format!(
        "dry run on {shown} in scratch database `{name}` (dropped): {} earlier migration(s) applied, {statements} statement(s) of {} migration(s) traced in {:.1} s{slowest}",
        outcome.applied,
        outcome.migrations.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Why the tracing task did not finish on its own.
enum Stop {
    Done(Result<Outcome>),
    TimedOut,
    Signal(&'static str),
}

/// Create the scratch role and database, run `job` in it as a separate task, and drop both
/// whatever happens. Signals are caught from before they exist until they are gone.
async fn with_scratch_database(
    admin_config: &Config,
    shown: &str,
    scratch: &sandbox::Scratch,
    timeout: Duration,
    mut job: trace::Job,
) -> Result<Outcome> {
    let name = scratch.name.as_str();
    let mut signals = Signals::new()?;
    let admin = tokio::select! {
        c = trace::connect(admin_config) => c.with_context(|| format!("dry run: connecting to {shown}"))?,
        s = signals.recv() => anyhow::bail!("dry run: interrupted by {s}"),
    };
    job.superuser = sandbox::check_role(&admin, shown).await?;
    let leftovers = sandbox::drop_leftovers(&admin, timeout.max(sandbox::MIN_LEFTOVER_AGE)).await?;
    // From here on the database may exist: the guard drops it even if this future is dropped
    // or the code below panics; the normal paths drop it themselves first.
    let mut guard = Guard {
        config: admin_config.clone(),
        name: name.to_string(),
        armed: true,
    };
    let superuser = job.superuser;
    let stop = tokio::select! {
        r = sandbox::create(&admin, scratch, superuser) => match r {
            Err(e) => Stop::Done(Err(e.context(format!("dry run on {shown}")))),
            Ok(()) => {
                let task = tokio::spawn(trace::run(job));
                let abort = task.abort_handle();
                tokio::select! {
                    r = task => Stop::Done(match r {
                        Ok(r) => r,
                        Err(e) if e.is_panic() => Err(anyhow::anyhow!("dry run: the tracing task panicked: {}", panic_text(e.into_panic()))),
                        Err(e) => Err(anyhow::anyhow!("dry run: the tracing task failed: {e}")),
                    }),
                    _ = tokio::time::sleep(timeout) => { abort.abort(); Stop::TimedOut }
                    s = signals.recv() => { abort.abort(); Stop::Signal(s) }
                }
            }
        },
        _ = tokio::time::sleep(timeout) => Stop::TimedOut,
        s = signals.recv() => Stop::Signal(s),
    };
    let dropped = drop_database(&admin, admin_config, name).await;
    guard.armed = dropped.is_err();
    drop(guard);
    let mut outcome = match stop {
        Stop::Done(r) => r?,
        Stop::TimedOut => {
            dropped.with_context(|| format!("dry run: dropping scratch database `{name}`"))?;
            return Ok(Outcome {
                failure: Some(trace::Failure {
                    phase: Phase::Changed,
                    path: String::new(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "the dry run did not finish within {} (migration-safety.dry-run.timeout)",
                        crate::units::show_duration(timeout)
                    ),
                    code: String::new(),
                }),
                leftovers,
                ..Outcome::default()
            });
        }
        Stop::Signal(s) => {
            anyhow::bail!("dry run: interrupted by {s}; scratch database `{name}` dropped")
        }
    };
    dropped.with_context(|| {
        format!("dry run: dropping scratch database `{name}` on {shown}; drop it by hand")
    })?;
    outcome.leftovers = leftovers;
    Ok(outcome)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Drop the scratch database and role (see `sandbox::drop_scratch`); on a broken admin
/// session, once more on a fresh one.
async fn drop_database(admin: &tokio_postgres::Client, config: &Config, name: &str) -> Result<()> {
    match sandbox::drop_scratch(admin, name).await {
        Ok(()) => Ok(()),
        Err(_) if admin.is_closed() => {
            let fresh = trace::connect(config).await?;
            sandbox::drop_scratch(&fresh, name).await
        }
        Err(e) => Err(e),
    }
}

/// Last resort: drops the scratch database from a thread of its own when the normal path did
/// not (this future was dropped, or the code between create and drop panicked).
struct Guard {
    config: Config,
    name: String,
    armed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (config, name) = (self.config.clone(), self.name.clone());
        let t = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(15), async {
                    let client = trace::connect(&config).await.ok()?;
                    drop_database(&client, &config, &name).await.ok()
                })
                .await
                .ok()
                .flatten()
            })
        });
        if t.join().ok().flatten().is_none() {
            eprintln!(
                "merge-gates: could not drop scratch database `{}`; drop it by hand",
                self.name
            );
        }
    }
}

/// SIGINT and SIGTERM, registered up front so that neither kills the process while the
/// scratch database exists. (Once registered, tokio keeps the handlers for the life of the
/// process; what runs after the dry run is short and bounded.)
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// The findings: a failure, dangerous locks without `lock_timeout`, and rewrites.
fn report(outcome: &Outcome, opts: &Options, out: &mut GateOutput) {
    if let Some(f) = &outcome.failure {
        let message = match f.phase {
            _ if f.path.is_empty() => format!("{}; the PR's migrations are not fully checked", f.message),
            Phase::Changed if f.code == "42501" => format!(
                "the migration fails on PostgreSQL: {} — the PR's migrations run as an unprivileged role that owns only the scratch database; what needs a superuser (roles, extensions, server files and programs, other databases) belongs in the reviewed `migration-safety.dry-run.setup` file, not in a migration",
                crate::text::excerpt(&f.message, 400)
            ),
            Phase::Changed => format!(
                "the migration fails on PostgreSQL: {}",
                crate::text::excerpt(&f.message, 400)
            ),
            Phase::Earlier => format!(
                "this migration, already in the repository and applied before the PR's, fails on PostgreSQL, so the PR's migrations were not dry-run: {}",
                crate::text::excerpt(&f.message, 400)
            ),
            Phase::Setup => format!(
                "the dry-run setup file fails on PostgreSQL, so no migration was dry-run: {}",
                crate::text::excerpt(&f.message, 400)
            ),
        };
        let mut finding = Finding::new(Rule::MigDryRunFailed, message);
        if !f.path.is_empty() {
            finding = finding.at(Location::span(&f.path, f.line, f.column, f.column));
        }
        if f.phase != Phase::Changed {
            finding = finding.help(
                "Make the earlier migrations apply on a plain PostgreSQL, or give `migration-safety.dry-run.setup` a SQL file that creates what they expect (roles, schemas, extensions).",
            );
        }
        out.push(finding);
    }
    for m in &outcome.migrations {
        for s in &m.statements {
            let at = Location::span(&m.path, s.line, s.column, s.column);
            let what =
                crate::text::excerpt(&s.sql.split_whitespace().collect::<Vec<_>>().join(" "), 80);
            // The strongest dangerous mode per relation (ALTER … TYPE takes SHARE and ACCESS
            // EXCLUSIVE on the same table; the second is what matters).
            let mut strongest: Vec<&trace::Lock> = Vec::new();
            for l in s.locks.iter().filter(|l| {
                l.kind != "index"
                    && l.kind != "sequence"
                    && opts.dangerous.contains(&lock_key(&l.mode))
            }) {
                match strongest
                    .iter_mut()
                    .find(|k| k.schema == l.schema && k.relation == l.relation)
                {
                    Some(k) if strength(&k.mode) < strength(&l.mode) => *k = l,
                    Some(_) => {}
                    None => strongest.push(l),
                }
            }
            let dangerous: Vec<String> = strongest
                .iter()
                .map(|l| {
                    format!(
                        "{} on {} `{}.{}`",
                        lock_name(&l.mode),
                        l.kind,
                        l.schema,
                        l.relation
                    )
                })
                .collect();
            if s.lock_timeout.is_none() && !dangerous.is_empty() {
                out.push(
                    Finding::new(
                        Rule::MigDangerousLock,
                        format!(
                            "`{what}` takes {} and holds it until the migration commits, with no lock_timeout set: it waits behind every running query on the table while blocking all new ones",
                            dangerous.join(", ")
                        ),
                    )
                    .at(at.clone()),
                );
            }
            if !s.rewritten.is_empty() {
                let tables: Vec<String> = s.rewritten.iter().map(|t| format!("`{t}`")).collect();
                out.push(
                    Finding::new(
                        Rule::MigTableRewrite,
                        format!(
                            "`{what}` rewrites existing table {} (its relfilenode changed): every row is copied while the table is locked",
                            tables.join(", ")
                        ),
                    )
                    .at(at),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cr%40t@db:5432/x?sslmode=disable"),
            "postgres://app:***@db:5432/x?sslmode=disable"
        );
        assert_eq!(
            redact("host=db user=app password='a b' dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        let c: Config = "postgres://app:s3cret@db:6543/main".parse().unwrap();
        assert_eq!(describe(&c), "app@db:6543/main");
    }

    #[test]
    fn lock_modes_compare_in_any_spelling() {
        assert_eq!(
            lock_key("AccessExclusiveLock"),
            lock_key("ACCESS EXCLUSIVE")
        );
        assert_eq!(lock_name("ShareRowExclusiveLock"), "SHARE ROW EXCLUSIVE");
    }
}
