//! The dry run is a sandbox: the PR's migrations run as a scratch role that owns its scratch
//! database and nothing else, so what a hostile migration tries outside it (a superuser role,
//! another database's privileges or rows, a program on the server) fails and is reported,
//! and the server is exactly as before. Runs the built binary against the machine's
//! PostgreSQL (see `support::pg`); these tests fail without one, they never skip.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::pg::{
    dry_run, findings_of, query, query_on, repo_changing, scratch_left, server_url, url_for,
};
use support::Output;

const INIT: (&str, &str) = (
    "supabase/migrations/20240101000000_init.sql",
    "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@example.com');\n",
);
const PR: &str = "supabase/migrations/20240201000000_change.sql";

fn pr_repo(sql: &str) -> tempfile::TempDir {
    repo_changing(&[INIT, (PR, sql)], &[PR])
}

/// What the server looks like from outside any scratch database: roles with their attributes
/// and memberships, databases with their owners and privileges, and another database's rows.
fn server_state(other: &str) -> Vec<Vec<Option<String>>> {
    let mut s = query(
        "SELECT r.rolname::text, r.rolsuper::text, r.rolcreaterole::text, r.rolcreatedb::text, \
                r.rolcanlogin::text, r.rolbypassrls::text, \
                (SELECT string_agg(m.roleid::regrole::text, ',' ORDER BY 1) FROM pg_auth_members m WHERE m.member = r.oid) \
         FROM pg_roles r WHERE r.rolname NOT LIKE 'mg\\_scratch\\_%' AND r.rolname NOT LIKE 'mg\\_test\\_weak\\_%' \
           AND r.rolname NOT IN ('anon', 'authenticated', 'service_role') ORDER BY 1",
    );
    s.extend(query(
        "SELECT d.datname::text, d.datdba::regrole::text, d.datacl::text, d.datallowconn::text, d.datconnlimit::text \
         FROM pg_database d WHERE d.datname = $$OTHER$$ OR d.datname NOT LIKE 'm%' ORDER BY 1"
            .replace("OTHER", other)
            .as_str(),
    ));
    s.extend(query_on(
        &url_for("postgres", other),
        "SELECT id::text, secret FROM precious ORDER BY id",
    ));
    s
}

/// A database beside the scratch one, with a table the hostile migration goes after.
struct OtherDb(String);

impl OtherDb {
    fn new(tag: &str) -> OtherDb {
        let name = format!("mg_test_other_{tag}_{}", std::process::id());
        query(&format!("DROP DATABASE IF EXISTS {name}"));
        query(&format!("CREATE DATABASE {name}"));
        query_on(
            &url_for("postgres", &name),
            "CREATE TABLE precious (id int PRIMARY KEY, secret text); INSERT INTO precious VALUES (1, 'keep me')",
        );
        OtherDb(name)
    }
}

impl Drop for OtherDb {
    fn drop(&mut self) {
        query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

/// Run `sql` as the PR's migration (with `setup` as the reviewed setup file); asserts that the
/// server is unchanged and the file `marker` was never written. Returns the run.
fn hostile(tag: &str, sql: &str, setup: Option<&str>, marker: &str) -> Output {
    let other = OtherDb::new(tag);
    let sql = sql.replace("{other}", &other.0).replace("{marker}", marker);
    let mut files = vec![INIT, (PR, sql.as_str())];
    let config;
    if let Some(setup) = setup {
        files.push(("db/setup.sql", setup));
        config = "[migration-safety.dry-run]\nsetup = \"db/setup.sql\"\n".to_string();
        files.push((".github/merge-gates.toml", config.as_str()));
    }
    let dir = repo_changing(&files, &[PR]);
    let _ = std::fs::remove_file(marker);
    let before = server_state(&other.0);
    let out = dry_run(dir.path(), &server_url());
    let after = server_state(&other.0);
    assert_eq!(before, after, "the server changed:\n{}", out.stdout);
    assert!(
        !std::path::Path::new(marker).exists(),
        "the migration wrote {marker} on the server"
    );
    out
}

/// The run failed with `dry-run-failed` on the PR's line `line`, saying `says`.
fn assert_failed_at(out: &Output, line: usize, says: &str) {
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = findings_of(out, &["migration-safety/dry-run-failed"]);
    assert_eq!(f.len(), 1, "{f:?}\n{}", out.stderr);
    assert_eq!(f[0].2, format!("{PR}:{line}"), "{f:?}");
    assert!(f[0].3.contains(says), "{f:?}");
}

fn marker(tag: &str) -> String {
    format!("/tmp/mg_sandbox_{tag}_{}", std::process::id())
}

#[test]
fn a_migration_cannot_create_a_superuser_role() {
    let out = hostile(
        "role",
        "CREATE TABLE t (id int);\nCREATE ROLE mg_test_intruder SUPERUSER LOGIN PASSWORD 'x';\n",
        None,
        &marker("role"),
    );
    assert_failed_at(&out, 2, "must be superuser to create superusers");
    assert!(query("SELECT 1 FROM pg_roles WHERE rolname = 'mg_test_intruder'").is_empty());
}

#[test]
fn copy_to_program_inside_a_do_block_never_runs_on_the_server() {
    let m = marker("copy");
    let out = hostile(
        "copy",
        "DO $$ BEGIN\n  EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {marker}''';\nEND $$;\n",
        None,
        &m,
    );
    assert_failed_at(&out, 1, "pg_execute_server_program");
}

#[test]
fn a_migration_cannot_revoke_connect_on_another_database() {
    // A non-owner's REVOKE is only a warning in PostgreSQL: the run may pass, but the other
    // database's privileges must be as before (checked by `hostile`).
    let out = hostile(
        "revoke",
        "REVOKE CONNECT ON DATABASE {other} FROM PUBLIC;\nALTER DATABASE {other} OWNER TO CURRENT_USER;\n",
        None,
        &marker("revoke"),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn a_migration_cannot_create_dblink() {
    let out = hostile(
        "dblinkext",
        "CREATE EXTENSION IF NOT EXISTS dblink;\nSELECT dblink_exec('dbname={other} host=127.0.0.1 user=postgres', 'DROP TABLE precious');\n",
        None,
        &marker("dblinkext"),
    );
    assert_failed_at(&out, 1, "permission denied to create extension \"dblink\"");
}

#[test]
fn dblink_from_the_setup_file_cannot_reach_another_database() {
    let out = hostile(
        "dblink",
        "SELECT dblink_exec('dbname={other} host=127.0.0.1 user=postgres', 'DELETE FROM precious');\n",
        Some("CREATE EXTENSION IF NOT EXISTS dblink;\n"),
        &marker("dblink"),
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = findings_of(&out, &["migration-safety/dry-run-failed"]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].2, format!("{PR}:1"), "{f:?}");
}

#[test]
fn the_hostile_migration_changes_nothing_outside_its_scratch_database() {
    let m = marker("all");
    let out = hostile(
        "all",
        "REVOKE CONNECT ON DATABASE {other} FROM PUBLIC;\n\
         DO $$ BEGIN EXECUTE 'CREATE ROLE mg_test_root SUPERUSER LOGIN'; EXCEPTION WHEN OTHERS THEN NULL; END $$;\n\
         DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {marker}'''; EXCEPTION WHEN OTHERS THEN NULL; END $$;\n\
         DO $$ BEGIN EXECUTE 'ALTER SYSTEM SET log_statement = ''none'''; EXCEPTION WHEN OTHERS THEN NULL; END $$;\n\
         DO $$ BEGIN EXECUTE 'CREATE EXTENSION dblink'; EXCEPTION WHEN OTHERS THEN NULL; END $$;\n\
         CREATE ROLE mg_test_root2 SUPERUSER;\n",
        None,
        &m,
    );
    assert_failed_at(&out, 6, "must be superuser to create superusers");
    let msg = &findings_of(&out, &["migration-safety/dry-run-failed"])[0].3;
    assert!(msg.contains("setup"), "{msg}");
}

#[test]
fn the_url_role_needs_createdb_and_createrole() {
    let weak = format!("mg_test_weak_{}", std::process::id());
    query(&format!(
        "DROP ROLE IF EXISTS {weak}; CREATE ROLE {weak} LOGIN CREATEDB"
    ));
    let dir = pr_repo("CREATE TABLE t (id int);\n");
    let out = dry_run(dir.path(), &url_for(&weak, "postgres"));
    query(&format!("DROP ROLE IF EXISTS {weak}"));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("CREATEDB") && out.stderr.contains("CREATEROLE"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_scratch_role_owns_the_scratch_database_and_is_gone_after_the_run() {
    // The PR's SQL reports who it runs as through a failing statement's message.
    let dir = pr_repo(
        "DO $$ BEGIN RAISE EXCEPTION 'running as % (super %), db owner %', current_user, \
         (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
         (SELECT datdba::regrole FROM pg_database WHERE datname = current_database()); END $$;\n",
    );
    let out = dry_run(dir.path(), &server_url());
    let f = findings_of(&out, &["migration-safety/dry-run-failed"]);
    assert_eq!(f.len(), 1, "{f:?}");
    let re = regex::Regex::new(r"running as (mg_scratch_\S+) \(super f\), db owner (\S+)").unwrap();
    let c = re.captures(&f[0].3).unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(&c[1], &c[2], "{f:?}");
    // `dry_run` asserted that the scratch database and role are gone.
}

#[test]
fn kill_9_leaves_a_scratch_database_the_next_run_drops() {
    let dir = pr_repo("SELECT pg_sleep(30);\n");
    let mut child = support::pg::command(dir.path(), Some(&server_url()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'").is_empty() {
        assert!(Instant::now() < deadline, "the migration never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL: nothing of the binary runs after this
    child.wait().unwrap();
    let left = scratch_left(pid);
    assert_eq!(
        left.len(),
        2,
        "a scratch database and role should be left: {left:?}"
    );
    let dir = pr_repo("CREATE TABLE t (id int);\nALTER TABLE t ENABLE ROW LEVEL SECURITY;\n");
    let out = dry_run(dir.path(), &server_url());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(scratch_left(pid), Vec::<String>::new());
    // Which run dropped them is not asserted: another test's dry run, running beside this one,
    // may get there first (the note "left by a dead run" is then in its output).
}
