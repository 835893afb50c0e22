//! The sandbox the PR's SQL runs in: per run, the URL's role creates a scratch role
//! (`NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`, member of nothing, a
//! random password) and a scratch database it owns, with `CONNECT` revoked from `PUBLIC`. The
//! PR's migrations run on a connection *as* that role, so whatever PostgreSQL refuses an
//! unprivileged role — `CREATE ROLE`, `COPY … TO PROGRAM`, `ALTER SYSTEM`, untrusted
//! extensions such as dblink, another database's objects — fails in the dry run instead of
//! happening on the server, whatever syntax (a `DO` block, a function) asks for it.
//!
//! Both names are `mg_scratch_<host>_<pid>_<start>`, so that a run killed with `kill -9`
//! leaves names any later run can judge: a later run on the same host drops those of dead
//! processes, and any run drops those older than the longest allowed run.

use super::quote_ident;
use anyhow::{Context as _, Result};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::Client;

/// The prefix of every scratch database and role name.
pub const PREFIX: &str = "mg_scratch_";

/// Leftovers of other hosts are dropped once they are older than this (or the run's own
/// `dry-run.timeout`, when that is longer).
pub const MIN_LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// One run's scratch database and role (same name).
#[derive(Clone)]
pub struct Scratch {
    pub name: String,
    pub password: String,
}

impl Scratch {
    pub fn fresh() -> Scratch {
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut b = [0u8; 16];
        let _ = getrandom::fill(&mut b);
        Scratch {
            name: format!("{PREFIX}{}_{}_{start}", host(), std::process::id()),
            password: b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }
}

/// This machine's name as it appears in scratch names: lower-case letters and digits only
/// (no `_`, which separates the parts), at most 20 of them.
fn host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let h: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(20)
        .collect();
    if h.is_empty() {
        "host".into()
    } else {
        h
    }
}

/// `(host, pid, start)` of a scratch name; `None` for anything else.
fn parse(name: &str) -> Option<(&str, u32, u64)> {
    let mut parts = name.strip_prefix(PREFIX)?.split('_');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((h, p.parse().ok()?, s.parse().ok()?))
}

/// Whether a leftover of `name` belongs to no running dry run: its process on this host is
/// gone, or it is older than `max_age` (a reused PID, another host, a stuck run).
fn abandoned(name: &str, max_age: Duration) -> bool {
    let Some((h, pid, start)) = parse(name) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if now.saturating_sub(start) > max_age.as_secs() {
        return true;
    }
    // `/proc/<pid>` tells whether a process lives (Linux); elsewhere only the age counts.
    let proc_fs = std::path::Path::new("/proc/self").exists();
    h == host()
        && pid != std::process::id()
        && proc_fs
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// What the URL's role may do. Without `CREATEDB` and `CREATEROLE` there is no sandbox:
/// an infrastructure error, with the fix.
pub async fn check_role(admin: &Client, shown: &str) -> Result<bool> {
    let row = admin
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .with_context(|| format!("dry run: reading the attributes of the role of {shown}"))?;
    let (superuser, createdb, createrole): (bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2));
    if !(superuser || (createdb && createrole)) {
        anyhow::bail!(
            "dry run: the role of {shown} needs CREATEDB and CREATEROLE to create the scratch database and the unprivileged role the PR's migrations run as (it has{}{}); use a throwaway server's superuser, e.g. a `services: postgres` container",
            if createdb { " CREATEDB" } else { " not CREATEDB" },
            if createrole { ", CREATEROLE" } else { ", not CREATEROLE" },
        );
    }
    Ok(superuser)
}

/// Drop the scratch databases and roles of dead runs; returns their names. A leftover that
/// cannot be dropped (another run got there first, a permission) is left for the next run.
pub async fn drop_leftovers(admin: &Client, max_age: Duration) -> Result<Vec<String>> {
    let like = format!("{}%", PREFIX.replace('_', "\\_"));
    let rows = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1 \
             UNION SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1",
            &[&like],
        )
        .await
        .context("dry run: listing scratch databases and roles")?;
    let mut dropped = Vec::new();
    for name in rows.iter().map(|r| r.get::<_, String>(0)) {
        if abandoned(&name, max_age) && drop_scratch(admin, &name).await.is_ok() {
            dropped.push(name);
        }
    }
    Ok(dropped)
}

/// Create the scratch role and its database (the role first: it owns the database).
pub async fn create(admin: &Client, s: &Scratch, superuser: bool) -> Result<()> {
    let n = quote_ident(&s.name);
    admin
        .batch_execute(&format!(
            "CREATE ROLE {n} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '{}'",
            s.password
        ))
        .await
        .with_context(|| format!("dry run: creating the scratch role `{}`", s.name))?;
    if !superuser {
        // A non-superuser may give a database only to a role it can act as.
        admin
            .batch_execute(&format!("GRANT {n} TO CURRENT_USER"))
            .await
            .with_context(|| format!("dry run: joining the scratch role `{}`", s.name))?;
    }
    // Two queries: CREATE DATABASE cannot run in the implicit transaction of a batch.
    for sql in [
        format!("CREATE DATABASE {n} OWNER {n} TEMPLATE template0"),
        format!("REVOKE ALL ON DATABASE {n} FROM PUBLIC"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .with_context(|| format!("dry run: creating the scratch database `{}`", s.name))?;
    }
    Ok(())
}

/// Drop a scratch database (ending the sessions still in it) and then its role.
pub async fn drop_scratch(admin: &Client, name: &str) -> Result<()> {
    let n = quote_ident(name);
    let force = format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)");
    if admin.batch_execute(&force).await.is_err() {
        // Before PostgreSQL 13: end the sessions, then drop.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {n}"))
            .await?;
    }
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS {n}"))
        .await?;
    Ok(())
}

/// Objects the setup file and the earlier migrations created belong to the URL's role; in
/// production the PR's migrations run as their owner, so they are given to the scratch role
/// (extension members, the Supabase stubs and the oracle's schema stay with the URL's role).
pub fn give_to_scratch_sql(scratch: &str) -> String {
    format!(
        r#"DO $mg$
DECLARE
  r record;
  me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  keep text[] := ARRAY['pg_catalog', 'information_schema', 'auth', 'storage', 'extensions', 'mg_oracle'];
BEGIN
  FOR r IN SELECT n.oid, n.nspname FROM pg_namespace n
      WHERE n.nspowner = me AND NOT n.nspname = ANY (keep) AND n.nspname NOT LIKE 'pg\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, {lit});
  END LOOP;
  FOR r IN SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relowner = me AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND NOT n.nspname = ANY (keep) AND n.nspname NOT LIKE 'pg\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      r.oid::regclass, {lit});
  END LOOP;
  FOR r IN SELECT p.oid, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proowner = me AND NOT n.nspname = ANY (keep) AND n.nspname NOT LIKE 'pg\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, r.oid::regprocedure, {lit});
  END LOOP;
  FOR r IN SELECT t.oid, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typowner = me AND t.typtype IN ('e', 'd', 'r', 'c')
        AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND NOT n.nspname = ANY (keep) AND n.nspname NOT LIKE 'pg\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.oid::regtype, {lit});
  END LOOP;
END
$mg$"#,
        lit = super::quote_literal(scratch)
    )
}

/// What a Supabase project has before its first migration, so that `REFERENCES auth.users`,
/// policies `TO authenticated` and `auth.uid()` dry-run without a setup file: the schemas
/// `auth`, `storage` and `extensions`; the roles `anon`, `authenticated` and `service_role`
/// (cluster-wide, `NOLOGIN`, member of nothing: created when missing and left for later runs);
/// `auth.users`; `auth.uid()`, `auth.jwt()`, `auth.role()` reading the request's JWT claims
/// as PostgREST sets them. The stubs stay the URL role's; the scratch role gets what a
/// migration needs on them.
pub fn supabase_stubs_sql(scratch: &str) -> String {
    let s = quote_ident(scratch);
    let mut sql = String::new();
    for role in ["anon", "authenticated", "service_role"] {
        sql.push_str(&format!(
            "DO $r$ BEGIN CREATE ROLE {role} NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $r$;\n"
        ));
    }
    sql.push_str(&format!(
        r#"CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text, phone text, role text,
  raw_app_meta_data jsonb, raw_user_meta_data jsonb,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb $f$;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  auth.jwt() ->> 'sub')::uuid $f$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  auth.jwt() ->> 'role')::text $f$;
GRANT USAGE ON SCHEMA auth, storage, extensions TO {s}, anon, authenticated, service_role;
GRANT CREATE ON SCHEMA storage, extensions TO {s};
GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES, TRIGGER ON auth.users TO {s};
"#
    ));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_host_pid_and_start_and_judge_leftovers() {
        let s = Scratch::fresh();
        assert!(s.name.len() <= 63, "{}", s.name);
        let (h, pid, _) = parse(&s.name).unwrap();
        assert_eq!((h, pid), (host().as_str(), std::process::id()));
        assert!(!abandoned(&s.name, Duration::from_secs(3600)));
        // A process that cannot exist on this host (PIDs are below 2^22 on Linux).
        let dead = format!("{PREFIX}{}_4194305_{}", host(), u64::MAX / 2);
        assert_eq!(
            abandoned(&dead, Duration::from_secs(3600)),
            std::path::Path::new("/proc/self").exists()
        );
        assert!(abandoned(
            &format!("{PREFIX}otherhost_1_0"),
            Duration::from_secs(3600)
        ));
        assert!(!abandoned("mg_scratch_a_b_c", Duration::from_secs(3600)));
        assert!(!abandoned("merge_gates_1_00", Duration::from_secs(3600)));
    }
}
