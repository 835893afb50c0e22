//! No hiding places: files a PR tries to keep out of sight of the gates — behind an ignore
//! file, behind a symlink, past the end of a truncated file list, behind a rename, under a
//! rollback-looking name the migration tool applies anyway, or under a name dev-mcp-ban did
//! not read.

use crate::support::{
    bin, commit_all, git, git_repo, pull_request_event, run, Output, Reply, Server, TOKEN,
};
use std::path::Path;

const IMPORT: &str = "const mcp = require(\"@shopify/dev-mcp\");\n";
const DROP: &str = "DROP TABLE users;\n";

/// The binary on `dir` with these arguments, JSON output, no database for the dry run.
fn gate(dir: &Path, args: &[&str]) -> Output {
    let out = run(bin()
        .args(args)
        .arg("--repo")
        .arg(dir)
        .args(["--format", "json"])
        .env_remove("MERGE_GATES_DATABASE_URL"));
    out.assert_gate_ran();
    out
}

/// `rule path severity` of every finding, sorted; the dry run's skip notice left out.
fn found(out: &Output) -> Vec<String> {
    let mut got = Vec::new();
    for g in out.json()["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            if f["rule"] == "migration-safety/dry-run-skipped" {
                continue;
            }
            got.push(format!(
                "{} {} {}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap_or("PR"),
                f["severity"].as_str().unwrap()
            ));
        }
    }
    got.sort();
    got
}

fn has(out: &Output, want: &str) -> bool {
    found(out).iter().any(|f| f == want)
}

/// A committed `app/.ignore`, a `.rgignore` and a force-added `.gitignore` name the files that
/// would fail the gates: they hide nothing, because the file set is what git tracks.
#[test]
fn ignore_files_hide_nothing_from_the_tree_scans() {
    let dir = git_repo(&[
        ("app/.ignore", "hidden.ts\n"),
        ("app/hidden.ts", IMPORT),
        (".rgignore", "fly.toml\n"),
        (".gitignore", "supabase/\n"),
        (
            "fly.toml",
            "[deploy]\nrelease_command = \"npx prisma migrate deploy\"\n",
        ),
        ("supabase/migrations/20240101000000_cleanup.sql", DROP),
    ]);
    let ban = gate(dir.path(), &["dev-mcp-ban"]);
    assert_eq!(ban.code, 1, "{}", ban.stdout);
    assert!(
        has(&ban, "dev-mcp-ban/banned-import app/hidden.ts error"),
        "{:?}",
        found(&ban)
    );
    let mig = gate(dir.path(), &["migration-safety", "--all"]);
    assert_eq!(mig.code, 1, "{}", mig.stdout);
    let f = found(&mig);
    assert!(
        f.contains(
            &"migration-safety/drop-table supabase/migrations/20240101000000_cleanup.sql error"
                .to_string()
        ),
        "{f:?}"
    );
    assert!(
        f.iter().any(
            |x| x.starts_with("migration-safety/release-command-not-allowed fly.toml")
                || x.starts_with("migration-safety/deploy-runs-migration fly.toml")
        ),
        "{f:?}"
    );
}

/// `supabase/migrations` is a symlink to another folder of the repository holding a
/// `DROP TABLE`: the migrations are checked under the link's path, whether the PR's files are
/// listed (`--base`) or every migration is (`--all`). A link out of the repository is a
/// finding; a link into it from the production tree is followed too.
#[test]
fn a_symlinked_migrations_folder_is_followed() {
    let dir = git_repo(&[("README.md", "x\n")]);
    let base = git(dir.path(), &["rev-parse", "HEAD"]);
    std::fs::create_dir_all(dir.path().join("db/cleanup")).unwrap();
    std::fs::write(dir.path().join("db/cleanup/20240101000000_drop.sql"), DROP).unwrap();
    std::fs::create_dir_all(dir.path().join("supabase")).unwrap();
    std::os::unix::fs::symlink("../db/cleanup", dir.path().join("supabase/migrations")).unwrap();
    std::fs::create_dir_all(dir.path().join("shared")).unwrap();
    std::fs::write(dir.path().join("shared/client.js"), IMPORT).unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::os::unix::fs::symlink("../shared", dir.path().join("app/lib")).unwrap();
    commit_all(dir.path(), "link the migrations");
    let want = "migration-safety/drop-table supabase/migrations/20240101000000_drop.sql error";
    for args in [
        vec!["migration-safety", "--all"],
        vec!["migration-safety", "--base", &base],
    ] {
        let out = gate(dir.path(), &args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(has(&out, want), "{args:?}: {:?}", found(&out));
    }
    let ban = gate(dir.path(), &["dev-mcp-ban"]);
    assert!(
        has(&ban, "dev-mcp-ban/banned-import app/lib/client.js error"),
        "{:?}",
        found(&ban)
    );

    // Pointing outside the repository: a finding naming the link, never a silent pass.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("20240101000000_drop.sql"), DROP).unwrap();
    let dir = git_repo(&[("README.md", "x\n")]);
    std::fs::create_dir_all(dir.path().join("supabase")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("supabase/migrations")).unwrap();
    commit_all(dir.path(), "link out");
    let out = gate(dir.path(), &["migration-safety", "--all"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        has(
            &out,
            "migration-safety/file-unreadable supabase/migrations error"
        ),
        "{:?}",
        found(&out)
    );
    assert!(out.stdout.contains("resolves outside the repository"));
}

/// The PR files API stops at 3,000 files: file 3,001 (a `DROP TABLE` migration and a banned
/// import) is not in the list. The list is completed with `git diff` from the checkout; when
/// the base commit is not in the checkout either, the run fails closed naming the fix.
#[test]
fn a_truncated_file_list_hides_no_file() {
    let dir = git_repo(&[("README.md", "x\n")]);
    let base = git(dir.path(), &["rev-parse", "HEAD"]);
    std::fs::create_dir_all(dir.path().join("supabase/migrations")).unwrap();
    std::fs::write(
        dir.path().join("supabase/migrations/20240101000000_zz.sql"),
        DROP,
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/zz.ts"), IMPORT).unwrap();
    let head = commit_all(dir.path(), "the PR");
    let api = Server::start(vec![]);
    let path = "/repos/Codertocat/Hello-World/pulls/2/files";
    let pages: Vec<Reply> = (0..30)
        .map(|p| {
            let list: Vec<_> = (0..100)
                .map(|i| serde_json::json!({"filename": format!("docs/f{:04}.md", p * 100 + i), "status": "added"}))
                .collect();
            Reply::json(200, serde_json::json!(list)).header(
                "Link",
                &format!("<{}{path}?per_page=100&page={}>; rel=\"next\"", api.url, p + 2),
            )
        })
        .collect();
    api.route(path, pages.clone());
    let event = |dir: &Path, base: &str| {
        let event = pull_request_event(dir, "body");
        let mut payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&event).unwrap()).unwrap();
        payload["pull_request"]["base"]["sha"] = serde_json::json!(base);
        payload["pull_request"]["head"]["sha"] = serde_json::json!(head);
        std::fs::write(&event, payload.to_string()).unwrap();
        event
    };
    let in_actions = |args: &[&str], base: &str| {
        let ev_dir = tempfile::tempdir().unwrap();
        let ev = event(ev_dir.path(), base);
        let mut cmd = bin();
        crate::support::actions(&mut cmd, dir.path(), &ev, &api.url);
        run(cmd
            .args(args)
            .arg("--repo")
            .arg(dir.path())
            .args(["--format", "json"])
            .env_remove("MERGE_GATES_DATABASE_URL"))
    };
    let mig = in_actions(&["migration-safety"], &base);
    assert_eq!(mig.code, 1, "{}\n{}", mig.stdout, mig.stderr);
    assert!(
        has(
            &mig,
            "migration-safety/drop-table supabase/migrations/20240101000000_zz.sql error"
        ),
        "{:?}",
        found(&mig)
    );
    api.route(path, pages.clone());
    let ban = in_actions(&["dev-mcp-ban", "--changed-only"], &base);
    assert_eq!(ban.code, 1, "{}\n{}", ban.stdout, ban.stderr);
    assert!(
        has(&ban, "dev-mcp-ban/banned-import app/zz.ts error"),
        "{:?}",
        found(&ban)
    );

    // A base the checkout does not have (a shallow clone): an error that names the fix.
    api.route(path, pages);
    let missing = "0123456789012345678901234567890123456789";
    let out = in_actions(&["migration-safety"], missing);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        has(&out, "core/changed-files-truncated PR error"),
        "{:?}",
        found(&out)
    );
    assert!(out.stdout.contains("fetch-depth: 0"), "{}", out.stdout);
}

/// `app/mcp.test.ts` (a test, exempt) is renamed to `app/mcp.ts` (production) with one comment
/// line changed: GitHub's patch compares against the old file, so the banned import is a
/// context line. With `--filter added` it must still be an error: a renamed file is new code.
#[test]
fn a_rename_from_an_exempt_path_counts_as_added() {
    let dir = git_repo(&[("app/mcp.ts", &format!("{IMPORT}// renamed\n"))]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let ev_dir = tempfile::tempdir().unwrap();
    let event = pull_request_event(ev_dir.path(), "body");
    let mut payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&event).unwrap()).unwrap();
    payload["pull_request"]["head"]["sha"] = serde_json::json!(head);
    std::fs::write(&event, payload.to_string()).unwrap();
    let files = serde_json::json!([{
        "filename": "app/mcp.ts",
        "previous_filename": "app/mcp.test.ts",
        "status": "renamed",
        "patch": format!("@@ -1,2 +1,2 @@\n {}-// test\n+// renamed\n", IMPORT),
    }]);
    let api = Server::start(vec![(
        "/repos/Codertocat/Hello-World/pulls/2/files",
        vec![Reply::json(200, files)],
    )]);
    let mut cmd = bin();
    crate::support::actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd
        .args(["dev-mcp-ban", "--filter", "added", "--repo"])
        .arg(dir.path())
        .args(["--format", "json"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        has(&out, "dev-mcp-ban/banned-import app/mcp.ts error"),
        "{:?}",
        found(&out)
    );
    assert!(!out.stdout.contains(TOKEN));
}

/// `…_cleanup.down.sql` in `supabase/migrations` matches the Supabase CLI's
/// `<digits>_<name>.sql`, so `supabase db push` applies it: it is not an exempt rollback.
/// A `rollback_*.sql` there (which the CLI skips) still is.
#[test]
fn a_down_sql_the_supabase_cli_applies_is_not_a_rollback() {
    let dir = git_repo(&[
        ("supabase/migrations/20240101000000_cleanup.down.sql", DROP),
        ("supabase/migrations/rollback_20240101000000.sql", DROP),
    ]);
    let out = gate(dir.path(), &["migration-safety", "--all"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let drops: Vec<String> = found(&out)
        .into_iter()
        .filter(|f| f.starts_with("migration-safety/drop-table "))
        .collect();
    assert_eq!(
        drops,
        ["migration-safety/drop-table supabase/migrations/20240101000000_cleanup.down.sql error"]
    );
}

/// `app/mcp.JS` and an extensionless `app/mcp2`, both `require`d by `server.js`, run in Node:
/// they are read like any source file. A production file whose name is not UTF-8 is named in a
/// `file-skipped` notice, never passed over in silence.
#[test]
fn files_node_runs_are_read_whatever_their_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = git_repo(&[
        (
            "server.js",
            "require(\"./app/mcp.JS\");\nrequire(\"./app/mcp2\");\n",
        ),
        ("app/mcp.JS", IMPORT),
        ("app/mcp2", IMPORT),
        ("app/notes.txt", "see @shopify/dev-mcp docs\n"),
    ]);
    let odd = dir
        .path()
        .join("app")
        .join(std::ffi::OsStr::from_bytes(b"x\xff.js"));
    std::fs::write(odd, IMPORT).unwrap();
    commit_all(dir.path(), "odd name");
    let out = gate(dir.path(), &["dev-mcp-ban"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        found(&out),
        [
            "dev-mcp-ban/banned-import app/mcp.JS error",
            "dev-mcp-ban/banned-import app/mcp2 error",
            "dev-mcp-ban/file-skipped app/x\u{fffd}.js notice",
        ]
    );
}

/// A base with two applied migrations; the PR (branch `pr`, committed) does `change` to the
/// tree; migration-safety against `--base main`, as JSON.
fn applied_history(change: impl Fn(&std::path::Path)) -> crate::support::Output {
    let dir = crate::support::git_repo(&[
        (
            "supabase/migrations/20240101000000_init.sql",
            "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
        ),
        (
            "supabase/migrations/20250101000000_users.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        ),
    ]);
    let d = dir.path();
    crate::support::git(d, &["checkout", "-q", "-b", "pr"]);
    change(d);
    crate::support::commit_all(d, "the PR");
    crate::support::run(
        crate::support::bin()
            .args([
                "migration-safety",
                "--format",
                "json",
                "--base",
                "main",
                "--repo",
            ])
            .arg(d),
    )
}

/// The run failed, with a finding of `rule` among its findings.
fn fails_with(out: &crate::support::Output, rule: &str) {
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.rules().iter().any(|r| r == rule), "{:?}", out.rules());
}

/// Rewriting a migration that production already ran: nothing changes in production, and
/// the repository stops saying what ran (here, a harmless-looking edit of the history).
#[test]
fn editing_an_applied_migration_is_an_error() {
    let out = applied_history(|d| {
        std::fs::write(
            d.join("supabase/migrations/20240101000000_init.sql"),
            "-- tidied\nCREATE TABLE orders (id bigint PRIMARY KEY);\n",
        )
        .unwrap();
    });
    fails_with(&out, "migration-safety/applied-migration-changed");
}

#[test]
fn deleting_or_moving_an_applied_migration_is_an_error() {
    let out = applied_history(|d| {
        std::fs::remove_file(d.join("supabase/migrations/20240101000000_init.sql")).unwrap();
    });
    fails_with(&out, "migration-safety/applied-migration-changed");
    let out = applied_history(|d| {
        std::fs::rename(
            d.join("supabase/migrations/20250101000000_users.sql"),
            d.join("supabase/migrations/20250101000000_users.sql.skip"),
        )
        .unwrap();
    });
    fails_with(&out, "migration-safety/applied-migration-changed");
}

/// A migration written on a long-lived branch, dated before the newest one on the base.
#[test]
fn a_new_migration_dated_before_the_base_is_an_error() {
    let out = applied_history(|d| {
        std::fs::write(
            d.join("supabase/migrations/20240601000000_note.sql"),
            "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;\n",
        )
        .unwrap();
    });
    fails_with(&out, "migration-safety/out-of-order-migration");
    // After the newest: fine.
    let out = applied_history(|d| {
        std::fs::write(
            d.join("supabase/migrations/20260101000000_note.sql"),
            "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;\n",
        )
        .unwrap();
    });
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}
