//! The dry run sees what a migration did to the base's objects and rows, not what its text
//! looked like: each hostile migration of issue 15 §2 — a temp table shadowing a real one,
//! `search_path`, `DO … EXECUTE`, data-modifying CTEs, `WHERE true`, a function the migration
//! defines and calls — is a finding with the lint's rule id on the statement that did it. Runs
//! the built binary against the machine's PostgreSQL (see `support::pg`); these tests fail
//! without one, they never skip.

mod support;

use support::pg::{dry_run, findings_of, query, repo_changing, server_url, url_for};
use support::Output;

const INIT: (&str, &str) = (
    "supabase/migrations/20240101000000_init.sql",
    "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@example.com'), (2, 'b@example.com');\nALTER TABLE users ENABLE ROW LEVEL SECURITY;\nCREATE FUNCTION greeting() RETURNS text LANGUAGE sql AS $$ SELECT 'hi' $$;\n",
);
const PR: &str = "supabase/migrations/20240201000000_change.sql";

fn run_pr(sql: &str) -> Output {
    let dir = repo_changing(&[INIT, (PR, sql)], &[PR]);
    dry_run(dir.path(), &server_url())
}

/// Asserts a finding of `rule` with `severity` on the PR's line `line` whose message says
/// `says`.
fn assert_has(out: &Output, rule: &str, severity: &str, line: usize, says: &str) {
    let all = findings_of(out, &[]);
    let at = format!("{PR}:{line}");
    assert!(
        all.iter()
            .any(|(r, s, a, m)| r == rule && s == severity && *a == at && m.contains(says)),
        "no {severity} {rule} at {at} saying {says:?}; findings: {all:#?}\n{}",
        out.stderr
    );
}

#[test]
fn a_temp_table_shadowing_a_base_table_does_not_hide_its_drop() {
    let out = run_pr("CREATE TEMP TABLE users (id int);\nDROP TABLE users;\nDROP TABLE users;\n");
    assert_eq!(out.code, 1, "{}", out.stdout);
    // The lint sees it too now (a temporary table is never taken for the PR's own table), and
    // the oracle does not repeat a finding the lint made.
    assert_has(&out, "migration-safety/drop-table", "error", 3, "users");
}

#[test]
fn search_path_around_a_drop_does_not_hide_it() {
    let out = run_pr(
        "CREATE SCHEMA app;\nCREATE TABLE app.users (id int);\nSET search_path = public;\nDROP TABLE users;\nSET search_path = app, public;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    // The lint sees this one too; the oracle does not repeat a finding the lint made.
    assert_has(&out, "migration-safety/drop-table", "error", 4, "users");
}

#[test]
fn a_drop_inside_a_do_block_is_seen() {
    let out = run_pr(
        "SET lock_timeout = '2s';\nDO $$ BEGIN\n  EXECUTE 'DROP TABLE ' || 'users';\nEND $$;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(&out, "migration-safety/drop-table", "error", 2, "DO block");
}

#[test]
fn a_delete_in_a_cte_is_seen() {
    let out = run_pr(
        "WITH d AS (DELETE FROM users WHERE id > 0 RETURNING id)\nSELECT count(*) FROM d;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(
        &out,
        "migration-safety/delete-without-where",
        "error",
        1,
        "deleted rows of table `public.users`",
    );
}

#[test]
/// Additive only is the default, so a backfill of a base table is an error like the lint's.
fn an_update_in_a_cte_is_seen() {
    let out = run_pr(
        "WITH u AS (UPDATE users SET email = lower(email) RETURNING id)\nSELECT count(*) FROM u;\n",
    );
    assert_has(
        &out,
        "migration-safety/update-without-where",
        "error",
        1,
        "updated rows of table `public.users`",
    );
}

#[test]
fn delete_where_true_is_seen() {
    let out = run_pr("DELETE FROM users WHERE true;\n");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(
        &out,
        "migration-safety/delete-without-where",
        "error",
        1,
        "`public.users`",
    );
}

#[test]
fn a_function_the_migration_defines_and_calls_is_seen() {
    let out = run_pr(
        "CREATE FUNCTION tidy() RETURNS void LANGUAGE sql AS 'TRUNCATE users';\n\nSELECT tidy();\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(
        &out,
        "migration-safety/truncate-table",
        "error",
        3,
        "truncated table `public.users`",
    );
}

#[test]
fn renames_and_type_changes_by_any_syntax_are_seen() {
    let out = run_pr(
        "SET lock_timeout = '2s';\nDO $$ BEGIN\n  EXECUTE 'ALTER TABLE users RENAME COLUMN email TO mail';\n  EXECUTE 'ALTER TABLE users ALTER COLUMN id TYPE bigint';\n  EXECUTE 'ALTER TABLE users DROP COLUMN mail';\nEND $$;\n",
    );
    assert_has(
        &out,
        "migration-safety/drop-column",
        "error",
        2,
        "`public.users.email`",
    );
    assert_has(
        &out,
        "migration-safety/change-column-type",
        "error",
        2,
        "`integer` changed to `bigint`",
    );
}

#[test]
fn disabling_the_audit_trigger_is_seen() {
    let out = run_pr(
        "DO $$ BEGIN\n  EXECUTE 'ALTER TABLE users DISABLE TRIGGER ALL';\n  EXECUTE 'DELETE FROM users';\n  EXECUTE 'ALTER TABLE users ENABLE TRIGGER ALL';\nEND $$;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(
        &out,
        "migration-safety/base-object-changed",
        "error",
        1,
        "audit trigger",
    );
}

#[test]
fn catalog_changes_no_rule_explains_are_findings() {
    let out = run_pr(
        "ALTER TABLE users DISABLE ROW LEVEL SECURITY;\nCREATE OR REPLACE FUNCTION greeting() RETURNS text LANGUAGE sql AS $$ SELECT 'bye' $$;\n",
    );
    assert_has(
        &out,
        "migration-safety/base-object-changed",
        "error",
        1,
        "row-level security was disabled",
    );
    assert_has(
        &out,
        "migration-safety/base-object-changed",
        "error",
        2,
        "function `greeting()`",
    );
}

#[test]
fn what_the_migration_creates_itself_is_no_finding() {
    let out = run_pr(
        "SET lock_timeout = '2s';\nCREATE TABLE notes (id bigint PRIMARY KEY, body text);\nINSERT INTO notes VALUES (1, 'x');\nUPDATE notes SET body = 'y';\nDELETE FROM notes WHERE id = 1;\nALTER TABLE notes RENAME COLUMN body TO text;\nDROP TABLE notes;\nALTER TABLE users ADD COLUMN name text;\n",
    );
    let oracle: Vec<_> = findings_of(&out, &[])
        .into_iter()
        .filter(|(_, _, _, m)| m.contains("exists on the base") || m.contains("audit trigger"))
        .collect();
    assert!(oracle.is_empty(), "{oracle:#?}");
}

#[test]
fn a_non_superuser_url_role_still_sees_drops_on_the_file() {
    let role = format!("mg_test_creator_{}", std::process::id());
    query(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN CREATEDB CREATEROLE"
    ));
    let dir = repo_changing(
        &[
            INIT,
            (PR, "DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;\n"),
        ],
        &[PR],
    );
    let out = dry_run(dir.path(), &url_for(&role, "postgres"));
    query(&format!("DROP ROLE IF EXISTS {role}"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let drops = findings_of(&out, &["migration-safety/drop-table"]);
    assert_eq!(drops.len(), 1, "{drops:#?}");
    assert_eq!(drops[0].2, format!("{PR}:null"), "{drops:#?}");
    let notes = out.json()["gates"][0]["notes"].to_string();
    assert!(notes.contains("not a superuser"), "{notes}");
}

#[test]
fn statements_outside_a_transaction_are_lock_traced() {
    let out = run_pr("VACUUM FULL users;\n");
    assert_has(
        &out,
        "migration-safety/dangerous-lock",
        "error",
        1,
        "ACCESS EXCLUSIVE on table `public.users`",
    );
    assert_has(
        &out,
        "migration-safety/table-rewrite",
        "error",
        1,
        "`public.users`",
    );
}

#[test]
fn supabase_stubs_let_auth_references_and_policies_dry_run() {
    let out = run_pr(
        "SET lock_timeout = '2s';\nCREATE TABLE profiles (id uuid PRIMARY KEY REFERENCES auth.users ON DELETE CASCADE, name text);\nALTER TABLE profiles ENABLE ROW LEVEL SECURITY;\nCREATE POLICY own ON profiles TO authenticated USING (auth.uid() = id);\nCREATE POLICY svc ON profiles TO service_role USING (auth.role() = 'service_role' AND auth.jwt() IS NOT NULL);\nGRANT SELECT ON profiles TO anon;\nCREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n",
    );
    assert!(
        findings_of(&out, &["migration-safety/dry-run-failed"]).is_empty(),
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_table_created_inside_a_do_block_still_needs_row_level_security() {
    let out = run_pr(
        "SET lock_timeout = '2s';\nDO $$ BEGIN\n  EXECUTE 'CREATE TABLE ' || 'leak (id int)';\nEND $$;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_has(
        &out,
        "migration-safety/table-without-rls",
        "error",
        2,
        "`public.leak`",
    );
    // Enabled later in the PR, or in a schema the API does not serve: nothing to report.
    for sql in [
        "DO $$ BEGIN EXECUTE 'CREATE TABLE leak (id int)'; END $$;\nDO $$ BEGIN EXECUTE 'ALTER TABLE leak ENABLE ROW LEVEL SECURITY'; END $$;\n",
        "CREATE SCHEMA private;\nDO $$ BEGIN EXECUTE 'CREATE TABLE private.leak (id int)'; END $$;\n",
    ] {
        let out = run_pr(sql);
        let rls: Vec<_> = findings_of(&out, &[])
            .into_iter()
            .filter(|(r, ..)| r == "migration-safety/table-without-rls")
            .collect();
        assert_eq!(rls, vec![], "{sql}\n{}", out.stderr);
    }
    // A plain CREATE TABLE the lint already flags is not reported twice.
    let out = run_pr("CREATE TABLE open_orders (id int);\n");
    let rls: Vec<_> = findings_of(&out, &[])
        .into_iter()
        .filter(|(r, ..)| r == "migration-safety/table-without-rls")
        .collect();
    assert_eq!(rls.len(), 1, "{rls:#?}");
}
