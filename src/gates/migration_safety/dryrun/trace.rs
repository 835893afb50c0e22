//! The session inside the scratch database: apply the setup file and the earlier migrations,
//! then run each of the PR's migrations statement by statement inside one transaction and,
//! after every statement and before the commit, read what it did — the locks it holds on
//! relations that existed before the migration (`pg_locks` × `pg_class`), the tables whose
//! relfilenode changed (a rewrite), the `lock_timeout` in force and how long it ran.
//!
//! Two sessions: the URL's role (`admin`) applies the Supabase stubs, the setup file and the
//! earlier migrations, gives their objects to the scratch role, installs the oracle and reads
//! what it saw; the scratch role runs the PR's migrations (see `sandbox`). A statement that
//! cannot run in a transaction is traced from the admin session, which watches `pg_locks` for
//! the scratch session's backend while the statement runs.
//!
//! Everything here is owned data so that it runs as its own task: the caller can abort it on
//! a timeout or a signal and still drop the scratch database.

use super::oracle::{self, Oracle};
use super::sql::{self, Kind, LineIndex, Statement};
use crate::gates::migration_safety::discover::Migration;
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::{Client, Config, NoTls};

/// What to run, in order.
pub struct Job {
    /// The scratch database as the URL's role.
    pub admin: Config,
    /// The scratch database as the scratch role.
    pub config: Config,
    /// The URL's role is a superuser (the oracle's event triggers need one).
    pub superuser: bool,
    /// Create what a Supabase project has before anything else.
    pub supabase: bool,
    pub statement_timeout: Duration,
    pub setup: Option<Migration>,
    pub earlier: Vec<Migration>,
    pub changed: Vec<Migration>,
    /// Schemas the API serves: the PR's new tables there need row-level security.
    pub exposed_schemas: Vec<String>,
}

/// Which part of the job a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Setup,
    Earlier,
    Changed,
}

/// A statement PostgreSQL refused.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub phase: Phase,
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// PostgreSQL's message, with its detail and hint.
    pub message: String,
    /// PostgreSQL's SQLSTATE (`42501`: the scratch role may not do it).
    pub code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lock {
    pub schema: String,
    pub relation: String,
    /// `table`, `index`, `view`, …
    pub kind: &'static str,
    /// As `pg_locks` names it (`AccessExclusiveLock`).
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementTrace {
    pub line: usize,
    pub column: usize,
    pub sql: String,
    pub duration_ms: f64,
    /// `lock_timeout` in force when the statement ran; `None` when it was 0 (wait forever).
    pub lock_timeout: Option<String>,
    /// Locks this statement took on relations that existed before the migration.
    pub locks: Vec<Lock>,
    /// Existing tables this statement rewrote (`schema.table`).
    pub rewritten: Vec<String>,
    /// It cannot run in a transaction block, so it ran on its own (its locks were read by
    /// watching `pg_locks` from a second session while it ran).
    pub outside_transaction: bool,
    /// A transaction-control statement (`BEGIN`, `COMMIT`): the dry run owns the transaction.
    pub skipped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationTrace {
    pub path: String,
    pub statements: Vec<StatementTrace>,
}

#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Earlier migrations applied.
    pub applied: usize,
    pub migrations: Vec<MigrationTrace>,
    /// Where the run stopped, if it did.
    pub failure: Option<Failure>,
    /// What the oracle saw the PR's migrations do to base objects and rows.
    pub oracle: Vec<oracle::Event>,
    /// Scratch databases and roles of dead runs dropped before this one.
    pub leftovers: Vec<String>,
    /// Facts for the summary (the oracle without event triggers).
    pub notices: Vec<String>,
}

/// Connect without TLS (the dry run is meant for a local or `services:` database), with the
/// connection driven by its own task.
pub async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn session(config: &Config, timeout: Duration, who: &str) -> Result<Client> {
    let client = connect(config)
        .await
        .with_context(|| format!("connecting to the scratch database as {who}"))?;
    client
        .batch_execute(&format!(
            "SET statement_timeout = {}; SET application_name = 'merge-gates dry run'",
            timeout.as_millis().max(1)
        ))
        .await
        .context("configuring the scratch session")?;
    Ok(client)
}

pub async fn run(job: Job) -> Result<Outcome> {
    let admin = session(&job.admin, job.statement_timeout, "the URL's role").await?;
    let scratch = job.config.get_user().unwrap_or_default().to_string();
    if job.supabase {
        admin
            .batch_execute(&super::sandbox::supabase_stubs_sql(&scratch))
            .await
            .context("dry run: creating the Supabase stubs (auth, storage, extensions, anon, authenticated, service_role)")?;
    }
    let mut outcome = Outcome::default();
    let plain = job
        .setup
        .iter()
        .map(|m| (m, Phase::Setup))
        .chain(job.earlier.iter().map(|m| (m, Phase::Earlier)));
    for (m, phase) in plain {
        if let Some(f) = apply(&admin, m, phase).await? {
            outcome.failure = Some(f);
            return Ok(outcome);
        }
        if phase == Phase::Earlier {
            outcome.applied += 1;
        }
    }
    admin
        .batch_execute(&super::sandbox::give_to_scratch_sql(&scratch))
        .await
        .context("dry run: giving the base objects to the scratch role")?;
    if !oracle::install(&admin, job.superuser).await? {
        outcome.notices.push(
            "dry run: the database URL's role is not a superuser, so the oracle has no event triggers: drops and renames are seen by comparing the catalog after each migration and reported on the file, not the statement".into(),
        );
    }
    let mut oracle = Oracle::new(&admin).await?;
    let client = session(&job.config, job.statement_timeout, "the scratch role").await?;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .context("dry run: reading the scratch session's backend")?
        .get(0);
    for (i, m) in job.changed.iter().enumerate() {
        tracing::info!(
            "dry run: applying {} ({}/{})",
            crate::text::excerpt(&m.path, 300),
            i + 1,
            job.changed.len()
        );
        let (trace, failure) = trace_migration(&client, &admin, pid, m).await?;
        let stmts = statements(m, Phase::Changed).unwrap_or_default();
        outcome
            .oracle
            .extend(oracle.after(&admin, m, &stmts).await?);
        outcome.migrations.push(trace);
        if failure.is_some() {
            outcome.failure = failure;
            break;
        }
    }
    if outcome.failure.is_none() {
        outcome
            .oracle
            .extend(oracle.without_rls(&job.exposed_schemas));
    }
    Ok(outcome)
}

/// The statements of a migration, or why none of it may be sent: a NUL byte, a file the
/// parser rejects, or a statement that acts outside the scratch database.
fn statements(m: &Migration, phase: Phase) -> Result<Vec<Statement>, Failure> {
    let refuse = |at: usize, message: String| {
        let (line, column) = LineIndex::new(&m.text).pos(at);
        Failure {
            phase,
            path: m.path.clone(),
            line,
            column,
            message,
            code: String::new(),
        }
    };
    if let Some(at) = m.text.find('\0') {
        return Err(refuse(
            at,
            "the file contains a NUL byte, which PostgreSQL does not accept".into(),
        ));
    }
    let stmts = sql::split(&m.text).map_err(|e| {
        refuse(
            sql::first_token(&m.text),
            format!("it does not parse with PostgreSQL's grammar, so it was not run: {e}"),
        )
    })?;
    if let Some((st, what)) = stmts.iter().find_map(|s| match s.kind {
        Kind::Outside(what) => Some((s, what)),
        _ => None,
    }) {
        return Err(refuse(
            st.first_token,
            format!("{what} acts outside the scratch database, so the dry run does not run this migration"),
        ));
    }
    Ok(stmts)
}

/// Apply a migration statement by statement, outside any explicit transaction (as the tools
/// do for statements like `CREATE INDEX CONCURRENTLY`).
async fn apply(client: &Client, m: &Migration, phase: Phase) -> Result<Option<Failure>> {
    let stmts = match statements(m, phase) {
        Ok(s) => s,
        Err(f) => return Ok(Some(f)),
    };
    for st in stmts {
        if let Err(e) = client.batch_execute(&m.text[st.start..st.end]).await {
            return failure(e, m, &st, phase).map(Some);
        }
    }
    Ok(None)
}

/// Turn a statement's error into a finding's facts; an error that is not PostgreSQL's answer
/// (the connection broke) is an infrastructure error.
fn failure(
    e: tokio_postgres::Error,
    m: &Migration,
    st: &Statement,
    phase: Phase,
) -> Result<Failure> {
    let Some(db) = e.as_db_error() else {
        return Err(
            anyhow::Error::new(e).context("dry run: the scratch database connection failed")
        );
    };
    let offset = match db.position() {
        Some(ErrorPosition::Original(n)) => {
            let stmt = &m.text[st.start..st.end];
            let chars = (*n as usize).saturating_sub(1);
            st.start
                + stmt
                    .char_indices()
                    .nth(chars)
                    .map_or(stmt.len(), |(i, _)| i)
        }
        _ => st.first_token,
    };
    let (line, column) = LineIndex::new(&m.text).pos(offset);
    let mut message = db.message().to_string();
    if let Some(d) = db.detail() {
        message.push_str(&format!(" ({d})"));
    }
    if let Some(h) = db.hint() {
        message.push_str(&format!("; hint: {h}"));
    }
    Ok(Failure {
        phase,
        path: m.path.clone(),
        line,
        column,
        message,
        code: db.code().code().to_string(),
    })
}

#[derive(Debug, Clone)]
struct Relation {
    schema: String,
    name: String,
    kind: &'static str,
    filenode: i64,
}

fn relkind(k: &str) -> &'static str {
    match k {
        "r" => "table",
        "p" => "partitioned table",
        "i" | "I" => "index",
        "S" => "sequence",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "c" => "composite type",
        "t" => "TOAST table",
        _ => "relation",
    }
}

/// The user's relations (system catalogs and TOAST excluded), by OID.
async fn relations(client: &Client) -> Result<BTreeMap<i64, Relation>> {
    let rows = client
        .query(
            "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, c.relfilenode::int8 \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'mg_oracle') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
            &[],
        )
        .await
        .context("reading pg_class in the scratch database")?;
    Ok(rows
        .iter()
        .map(|r| {
            let kind: String = r.get(3);
            (
                r.get::<_, i64>(0),
                Relation {
                    schema: r.get(1),
                    name: r.get(2),
                    kind: relkind(&kind),
                    filenode: r.get(4),
                },
            )
        })
        .collect())
}

const LOCKS_OF: &str = "SELECT relation::int8, mode FROM pg_catalog.pg_locks \
     WHERE pid = $1 AND locktype = 'relation' AND granted AND relation IS NOT NULL";

/// Relation locks this session holds: (OID, mode).
async fn held_locks(client: &Client) -> Result<BTreeSet<(i64, String)>> {
    let rows = client
        .query(
            "SELECT relation::int8, mode FROM pg_catalog.pg_locks \
             WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'relation' AND granted AND relation IS NOT NULL",
            &[],
        )
        .await
        .context("reading pg_locks in the scratch database")?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn lock_timeout(client: &Client) -> Result<Option<String>> {
    let row = client
        .query_one("SELECT pg_catalog.current_setting('lock_timeout')", &[])
        .await
        .context("reading lock_timeout")?;
    let v: String = row.get(0);
    Ok((v != "0").then_some(v))
}

async fn exec(client: &Client, sql: &str) -> Result<()> {
    client
        .batch_execute(sql)
        .await
        .with_context(|| format!("dry run: `{sql}` in the scratch database"))
}

/// Run `sql` on the scratch session outside a transaction while the admin session watches
/// `pg_locks` for its backend `pid`; returns the result and every relation lock seen.
async fn watched(
    client: &Client,
    admin: &Client,
    pid: i32,
    sql: &str,
) -> (Result<(), tokio_postgres::Error>, BTreeSet<(i64, String)>) {
    let mut seen = BTreeSet::new();
    let result = {
        let watch = async {
            loop {
                if let Ok(rows) = admin.query(LOCKS_OF, &[&pid]).await {
                    seen.extend(rows.iter().map(|r| (r.get(0), r.get(1))));
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::pin!(watch);
        tokio::select! {
            r = client.batch_execute(sql) => r,
            _ = &mut watch => unreachable!("the lock watcher never ends"),
        }
    };
    (result, seen)
}

/// Run one of the PR's migrations in a transaction, tracing every statement.
async fn trace_migration(
    client: &Client,
    admin: &Client,
    pid: i32,
    m: &Migration,
) -> Result<(MigrationTrace, Option<Failure>)> {
    let mut trace = MigrationTrace {
        path: m.path.clone(),
        statements: Vec::new(),
    };
    let stmts = match statements(m, Phase::Changed) {
        Ok(s) => s,
        Err(f) => return Ok((trace, Some(f))),
    };
    let idx = LineIndex::new(&m.text);
    exec(client, "RESET lock_timeout; BEGIN").await?;
    let existing = relations(client).await?;
    let mut filenodes: BTreeMap<i64, i64> =
        existing.iter().map(|(o, r)| (*o, r.filenode)).collect();
    let mut held = held_locks(client).await?;
    let mut timeout = lock_timeout(client).await?;
    for (i, st) in stmts.iter().enumerate() {
        let text = &m.text[st.start..st.end];
        let (line, column) = idx.pos(st.first_token);
        let mut t = StatementTrace {
            line,
            column,
            sql: text[st.first_token - st.start..]
                .trim()
                .chars()
                .take(2000)
                .collect(),
            duration_ms: 0.0,
            lock_timeout: timeout.clone(),
            locks: Vec::new(),
            rewritten: Vec::new(),
            outside_transaction: false,
            skipped: st.kind == Kind::Transaction,
        };
        if t.skipped {
            trace.statements.push(t);
            continue;
        }
        // The oracle's log notes which statement wrote a row (see `oracle`).
        exec(
            client,
            &format!("SET merge_gates.statement = '{i}'; SAVEPOINT merge_gates_statement"),
        )
        .await?;
        let began = Instant::now();
        let mut result = client.batch_execute(text).await;
        let mut new_locks = BTreeSet::new();
        if let Err(e) = &result {
            if e.code() == Some(&SqlState::ACTIVE_SQL_TRANSACTION) {
                // `CREATE INDEX CONCURRENTLY`, `VACUUM FULL` and friends: run on their own,
                // watched from the admin session, then carry on in a new transaction. What ran
                // before is committed and its locks are gone.
                exec(
                    client,
                    "ROLLBACK TO SAVEPOINT merge_gates_statement; COMMIT",
                )
                .await?;
                held.clear();
                let began = Instant::now();
                let (r, seen) = watched(client, admin, pid, text).await;
                result = r;
                new_locks = seen;
                t.duration_ms = began.elapsed().as_secs_f64() * 1000.0;
                t.outside_transaction = true;
                if result.is_ok() {
                    exec(client, "BEGIN").await?;
                }
            }
        }
        if !t.outside_transaction {
            t.duration_ms = began.elapsed().as_secs_f64() * 1000.0;
        }
        if let Err(e) = result {
            let f = failure(e, m, st, Phase::Changed)?;
            if !t.outside_transaction {
                exec(client, "ROLLBACK").await?;
            }
            trace.statements.push(t);
            return Ok((trace, Some(f)));
        }
        if !t.outside_transaction {
            exec(client, "RELEASE SAVEPOINT merge_gates_statement").await?;
            let now = held_locks(client).await?;
            new_locks = now.difference(&held).cloned().collect();
            held = now;
        }
        for (oid, mode) in &new_locks {
            if let Some(r) = existing.get(oid) {
                t.locks.push(Lock {
                    schema: r.schema.clone(),
                    relation: r.name.clone(),
                    kind: r.kind,
                    mode: mode.clone(),
                });
            }
        }
        let after = relations(client).await?;
        for (oid, before) in filenodes.iter_mut() {
            let Some(r) = after.get(oid) else { continue };
            if r.filenode != *before {
                if st.kind != Kind::Truncate && matches!(r.kind, "table" | "materialized view") {
                    t.rewritten.push(format!("{}.{}", r.schema, r.name));
                }
                *before = r.filenode;
            }
        }
        timeout = lock_timeout(client).await?;
        trace.statements.push(t);
    }
    if let Err(e) = client.batch_execute("COMMIT").await {
        let last = stmts.last().cloned().unwrap_or(Statement {
            start: 0,
            end: m.text.len(),
            first_token: sql::first_token(&m.text),
            kind: Kind::Other,
        });
        let f = failure(e, m, &last, Phase::Changed)?;
        return Ok((trace, Some(f)));
    }
    Ok((trace, None))
}
