//! The migration dry run against the machine's real PostgreSQL (127.0.0.1:5432, user
//! `postgres`, trust auth; override with `MERGE_GATES_TEST_DATABASE_URL`). Each test builds a
//! small repository, runs the built binary on it and then checks `pg_database` and `pg_roles`:
//! the scratch database and role (`mg_scratch_<host>_<pid>_<start>`, the pid of the binary's
//! process) must be gone, whatever the migration did. Without a PostgreSQL these tests fail; they never skip.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::pg::{
    command, dry_run, dry_run_with, findings_of, query, repo_changing, scratch_left, server_url,
};
use support::Output;

/// The usual repository builder, with the PR's changed files.
fn repo(files: &[(&str, &str)], changed: &[&str]) -> tempfile::TempDir {
    repo_changing(files, changed)
}

/// Names of the databases whose name starts with `prefix`.
fn databases(prefix: &str) -> Vec<String> {
    query(&format!(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, '{prefix}')"
    ))
    .into_iter()
    .filter_map(|mut r| r.remove(0))
    .collect()
}

/// `(rule, path:line, message)` of every dry-run finding (the static lint of the same files is
/// tested in `migration_lint.rs`).
fn findings(out: &Output) -> Vec<(String, String, String)> {
    const DRY_RUN: &[&str] = &[
        "migration-safety/dry-run-skipped",
        "migration-safety/dry-run-failed",
        "migration-safety/dangerous-lock",
        "migration-safety/table-rewrite",
    ];
    findings_of(out, DRY_RUN)
        .into_iter()
        .map(|(rule, _, at, message)| (rule, at, message))
        .collect()
}

/// Asserts the run found exactly one finding: `rule` at `at` (`path:line`), saying `says`.
fn assert_only(out: &Output, rule: &str, at: &str, says: &str) {
    let (r, a, m) = only(out);
    assert_eq!((r.as_str(), a.as_str()), (rule, at), "{m}");
    assert!(m.contains(says), "{m}");
}

/// The usual repository: `INIT` already applied, the PR adds `PR` with `sql`.
fn pr_repo(sql: &str) -> tempfile::TempDir {
    repo(&[INIT, (PR, sql)], &[PR])
}

/// The one finding of a run: `(rule, path:line, message)`.
fn only(out: &Output) -> (String, String, String) {
    let mut f = findings(out);
    assert_eq!(f.len(), 1, "expected one finding: {f:?}\n{}", out.stderr);
    f.remove(0)
}

const INIT: (&str, &str) = (
    "supabase/migrations/20240101000000_init.sql",
    "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@example.com');\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
);
const PR: &str = "supabase/migrations/20240201000000_change.sql";
const PR_INDEX: &str = "supabase/migrations/20240201000100_index.sql";

#[test]
fn a_failing_statement_is_reported_on_its_line_with_postgres_message() {
    let dir = pr_repo("SET lock_timeout = '2s';\n-- a typo in the table name\nALTER TABLE users ADD COLUMN name text;\nALTER TABLE userz\n  ADD COLUMN age int;\n");
    let out = dry_run(dir.path(), &server_url());
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_only(
        &out,
        "migration-safety/dry-run-failed",
        &format!("{PR}:4"),
        "relation \"userz\" does not exist",
    );
}

#[test]
fn a_syntax_error_points_at_postgres_position() {
    let dir = repo(
        &[INIT, (PR, "SET lock_timeout = '2s';\n\nCREATE TABLE t (\n  id int,\n  name txet,\n  x int\n);\n")],
        &[PR],
    );
    let out = dry_run(dir.path(), &server_url());
    assert_only(
        &out,
        "migration-safety/dry-run-failed",
        &format!("{PR}:5"),
        "type \"txet\" does not exist",
    );
}

#[test]
fn an_access_exclusive_lock_on_an_existing_table_is_reported() {
    let dir = pr_repo("CREATE TABLE audit (id bigint);\nALTER TABLE audit ADD COLUMN at timestamptz;\n\nALTER TABLE users ADD COLUMN name text;\n");
    let out = dry_run(dir.path(), &server_url());
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_only(
        &out,
        "migration-safety/dangerous-lock",
        &format!("{PR}:4"),
        "ACCESS EXCLUSIVE on table `public.users`",
    );
}

#[test]
fn a_lock_timeout_makes_the_lock_acceptable_but_not_a_rewrite() {
    let dir = pr_repo("SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN name text;\nALTER TABLE users ALTER COLUMN id TYPE bigint;\n");
    let out = dry_run(dir.path(), &server_url());
    assert_only(
        &out,
        "migration-safety/table-rewrite",
        &format!("{PR}:3"),
        "`public.users`",
    );
}

#[test]
fn a_safe_migration_passes_and_earlier_migrations_of_other_tools_come_first() {
    let dir = repo(
        &[
            INIT,
            (
                "prisma/migrations/20240115000000_orders/migration.sql",
                "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int);\n",
            ),
            (
                PR,
                "SET lock_timeout = '2s';\nCREATE TABLE notes (id bigint PRIMARY KEY, body text);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER TABLE orders ADD COLUMN note_id bigint;\n",
            ),
            // Alone in its file: runners send a file as one query, and CONCURRENTLY cannot run
            // inside the implicit transaction that makes (the lint's concurrently-in-transaction).
            (
                PR_INDEX,
                "CREATE INDEX CONCURRENTLY orders_note ON orders (note_id);\n",
            ),
        ],
        &[PR, PR_INDEX],
    );
    let out = dry_run(dir.path(), &server_url());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(findings(&out).is_empty());
    let notes = out.json()["gates"][0]["notes"].to_string();
    assert!(notes.contains("2 earlier migration(s) applied"), "{notes}");
    // Each migration of the PR is said as it is applied.
    for (i, path) in [PR, PR_INDEX].iter().enumerate() {
        let line = format!("dry run: applying {path} ({}/2)", i + 1);
        assert!(out.stderr.contains(&line), "{}", out.stderr);
    }
}

#[test]
fn an_earlier_migration_that_fails_stops_the_dry_run_with_a_finding() {
    let dir = repo(
        &[
            (
                "supabase/migrations/20240101000000_init.sql",
                "CREATE TABLE users (id int);\nALTER TABLE users ENABLE ROW LEVEL SECURITY;\nCREATE POLICY p ON users TO app_reader USING (true);\n",
            ),
            (PR, "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN x int;\n"),
        ],
        &[PR],
    );
    let out = dry_run(dir.path(), &server_url());
    assert_only(
        &out,
        "migration-safety/dry-run-failed",
        "supabase/migrations/20240101000000_init.sql:3",
        "role \"app_reader\" does not exist",
    );
}

#[test]
fn sigterm_during_a_statement_still_drops_the_scratch_database() {
    let dir = pr_repo("SELECT pg_sleep(60);\n");
    let mut child = command(dir.path(), Some(&server_url()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while scratch_left(pid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the scratch database never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(scratch_left(pid).is_empty(), "scratch database left behind");
}

#[test]
fn the_password_is_never_printed() {
    let dir = repo(
        &[
            INIT,
            (PR, "SET lock_timeout = '2s';\nCREATE TABLE t (id int);\nALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"),
        ],
        &[PR],
    );
    // Trust authentication ignores the password, so this run succeeds.
    let url = server_url().replacen("postgres@", "postgres:s3cretPW@", 1);
    let out = dry_run(dir.path(), &url);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("s3cretPW"));
    // A server that does not answer: an infrastructure error, the password still hidden.
    let out = dry_run(
        dir.path(),
        "postgres://postgres:s3cretPW@127.0.0.1:9/postgres",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("postgres@127.0.0.1:9/postgres"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cretPW") && !out.stdout.contains("s3cretPW"));
    let out = dry_run(
        dir.path(),
        "postgres://postgres:s3cretPW@127.0.0.1:5432/postgres?bogus=1",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("s3cretPW"), "{}", out.stderr);
}

#[test]
fn without_a_database_url_the_dry_run_is_skipped_with_a_notice() {
    let dir = repo(
        &[INIT, (PR, "ALTER TABLE users ADD COLUMN x int;\n")],
        &[PR],
    );
    let out = support::run(&mut command(dir.path(), None));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_only(
        &out,
        "migration-safety/dry-run-skipped",
        "-:null",
        "not dry-run",
    );
    let skipped = out.json()["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "migration-safety/dry-run-skipped")
        .cloned()
        .unwrap();
    assert_eq!(skipped["severity"], "notice");
}

/// A migration that sleeps longer than the configured bound: one `dry-run-failed` at `at`
/// saying `says`, well before the sleep would end, and the scratch database gone.
fn bounded_by(config: &str, at: &str, says: &str) {
    let dir = repo(
        &[
            INIT,
            (PR, "SET lock_timeout = '2s';\nSELECT pg_sleep(30);\n"),
            (".github/merge-gates.toml", config),
        ],
        &[PR],
    );
    let started = Instant::now();
    let out = dry_run(dir.path(), &server_url());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_only(&out, "migration-safety/dry-run-failed", at, says);
}

#[test]
fn the_statement_timeout_bounds_a_statement() {
    bounded_by(
        "[migration-safety.dry-run]\nstatement-timeout = \"1s\"\n",
        &format!("{PR}:2"),
        "statement timeout",
    );
}

#[test]
fn the_overall_timeout_stops_the_dry_run_and_drops_the_database() {
    bounded_by(
        "[migration-safety.dry-run]\ntimeout = \"2s\"\n",
        "-:null",
        "did not finish within 2s",
    );
}

#[test]
fn statements_acting_outside_the_scratch_database_are_never_run() {
    let other = format!("merge_gates_other_{}", std::process::id());
    let dir = pr_repo(&format!(
        "SET lock_timeout = '2s';\nCREATE TABLE t (id int);\n\nCREATE DATABASE {other};\n"
    ));
    let out = dry_run(dir.path(), &server_url());
    assert_only(
        &out,
        "migration-safety/dry-run-failed",
        &format!("{PR}:4"),
        "CREATE DATABASE acts outside the scratch database",
    );
    assert!(databases(&other).is_empty(), "{other} was created");
}

#[test]
fn the_trace_records_locks_rewrites_and_durations_per_statement() {
    let dir = pr_repo("SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN id TYPE bigint;\n");
    let trace = dir.path().join("trace.json");
    let out = dry_run_with(
        dir.path(),
        &server_url(),
        &["--dry-run-trace", trace.to_str().unwrap()],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert_eq!(t["applied"], 1);
    let stmts = t["migrations"][0]["statements"].as_array().unwrap();
    assert_eq!(stmts.len(), 2);
    let alter = &stmts[1];
    assert_eq!(alter["line"], 2);
    assert_eq!(alter["lock_timeout"], "2s");
    assert_eq!(alter["rewritten"], serde_json::json!(["public.users"]));
    assert!(alter["duration_ms"].as_f64().unwrap() > 0.0);
    let modes: Vec<String> = alter["locks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["relation"] == "users")
        .map(|l| l["mode"].as_str().unwrap().to_string())
        .collect();
    assert!(
        modes.contains(&"AccessExclusiveLock".to_string()),
        "{modes:?}"
    );
}
