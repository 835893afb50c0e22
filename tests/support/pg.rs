//! The machine's real PostgreSQL for the dry-run tests (127.0.0.1:5432, user `postgres`, trust
//! auth; override with `MERGE_GATES_TEST_DATABASE_URL`): plain queries from the test process,
//! the binary run on a small repository with `--database-url`, and the check that a run left
//! no scratch database or role behind. Without a server these helpers panic: the tests fail,
//! they never skip.

use super::{bin, Output};
use std::path::Path;
use std::process::{Command, Stdio};

pub fn server_url() -> String {
    std::env::var("MERGE_GATES_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `server_url()` with another database and user.
pub fn url_for(user: &str, db: &str) -> String {
    let base = server_url();
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let host = host.split_once('/').map_or(host, |(h, _)| h);
    format!("{scheme}://{user}@{host}/{db}")
}

/// Run `sql` (simple query protocol) on `url`; every row's columns as text (`None` for NULL).
pub fn query_on(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need a PostgreSQL at {url} (set MERGE_GATES_TEST_DATABASE_URL): {e}"
                )
            });
        tokio::spawn(conn);
        let mut rows = Vec::new();
        for m in client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
            }
        }
        rows
    })
}

/// `query_on` the server's own database.
pub fn query(sql: &str) -> Vec<Vec<Option<String>>> {
    query_on(&server_url(), sql)
}

/// Scratch databases and roles of the binary's process `pid` still on the server.
pub fn scratch_left(pid: u32) -> Vec<String> {
    query(&format!(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'mg\\_scratch\\_%\\_{pid}\\_%' \
         UNION ALL SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'mg\\_scratch\\_%\\_{pid}\\_%'"
    ))
    .into_iter()
    .filter_map(|mut r| r.remove(0))
    .collect()
}

/// A repository with `files`; the PR changes the ones listed in `changed`.
pub fn repo_changing(files: &[(&str, &str)], changed: &[&str]) -> tempfile::TempDir {
    let dir = super::repo(files);
    std::fs::write(dir.path().join("changed.txt"), changed.join("\n")).unwrap();
    dir
}

/// `merge-gates migration-safety` on `dir` (JSON report), with `url` as `--database-url`.
pub fn command(dir: &Path, url: Option<&str>) -> Command {
    let mut cmd = bin();
    cmd.args(["migration-safety", "--format", "json", "--changed-files"])
        .arg(dir.join("changed.txt"))
        .arg("--repo")
        .arg(dir)
        .env_remove("MERGE_GATES_DATABASE_URL");
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    cmd
}

/// Run the dry run; asserts afterwards that its scratch database and role are gone.
pub fn dry_run_with(dir: &Path, url: &str, extra: &[&str]) -> Output {
    let child = command(dir, Some(url))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let left = scratch_left(pid);
    assert!(
        left.is_empty(),
        "scratch database or role left behind: {left:?}"
    );
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn dry_run(dir: &Path, url: &str) -> Output {
    dry_run_with(dir, url, &[])
}

/// `(rule, severity, path:line, message)` of every finding of the run whose rule is in `rules`
/// (all when `rules` is empty).
pub fn findings_of(out: &Output, rules: &[&str]) -> Vec<(String, String, String, String)> {
    let v = out.json();
    let mut res = Vec::new();
    for g in v["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            let rule = f["rule"].as_str().unwrap_or_default();
            if !rules.is_empty() && !rules.contains(&rule) {
                continue;
            }
            res.push((
                rule.to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                format!("{}:{}", f["path"].as_str().unwrap_or("-"), f["line"]),
                f["message"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    res
}
