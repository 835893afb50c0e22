//! End-to-end tests of the reporting core around the gates, running the built binary: the
//! check-run reporter against the local GitHub API stand-in (batches of 50, the 403 fallback of
//! fork PRs), the diff filter (locally from `git diff`, and from the PR files API's patches),
//! and `merge-gates init` (its template is refused unedited and passes once filled in).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::{bin, git, root, run, Reply, Server};

const REPO: &str = "/repos/Codertocat/Hello-World";
const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const TOKEN: &str = "ghs_SECRETtoken000000000000000000";
const GOOD: &str = r#"{"tool":"context7","doc_ref":"https://reactrouter.com/start","request_id":"mcp-1","timestamp":"2025-10-21T14:30:00Z","purpose":"Verify RR7 loaders"}"#;
const EVIDENCE: &str = "artifacts/eng/2025-10-21/mcp/bad.jsonl";
const BODY: &str = "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/bad.jsonl\n";

/// A repository whose one evidence file has `bad` broken lines after a good one.
fn repo_with(bad: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(EVIDENCE);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = format!("{GOOD}\n");
    for i in 0..bad {
        text.push_str(&format!("{{\"tool\": \"context7\", \"n\": {i}\n"));
    }
    std::fs::write(path, text).unwrap();
    dir
}

fn api(files: Value) -> Server {
    Server::start(vec![
        (
            &format!("{REPO}/pulls/2"),
            vec![Reply::json(
                200,
                json!({"number": 2, "body": BODY, "head": {"sha": HEAD_SHA}}),
            )],
        ),
        (
            &format!("{REPO}/pulls/2/files"),
            vec![Reply::json(200, files)],
        ),
    ])
}

/// The API stand-in with a scripted answer to the check run's creation (id 4242).
fn check_api(created: Reply) -> Server {
    let server = api(default_files());
    server.route(&format!("POST {REPO}/check-runs"), vec![created]);
    server
}

fn default_files() -> Value {
    json!([{"filename": "app/x.ts", "status": "added"}, {"filename": EVIDENCE, "status": "added"}])
}

/// The binary as a GitHub Actions `pull_request` job.
fn actions(repo: &Path, api: &Server) -> Command {
    let event = support::pull_request_event(repo, BODY);
    let mut cmd = bin();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event)
        .env("GITHUB_API_URL", &api.url)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_SHA", "0000000000000000000000000000000000000000")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_WORKSPACE", repo)
        .env("GITHUB_OUTPUT", repo.join("output.txt"))
        .env("GITHUB_STEP_SUMMARY", repo.join("summary.md"));
    cmd
}

fn bodies(server: &Server, method_path: &str) -> Vec<Value> {
    server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| format!("{} {}", r.method, r.path) == method_path)
        .map(|r| serde_json::from_slice(&r.body).expect("request body is JSON"))
        .collect()
}

#[test]
fn check_run_carries_120_findings_in_three_patches_of_at_most_50() {
    let repo = repo_with(120);
    let server = check_api(Reply::json(201, json!({"id": 4242})));
    let patch = format!("PATCH {REPO}/check-runs/4242");
    server.route(&patch, vec![Reply::json(200, json!({"id": 4242}))]);
    let out =
        run(actions(repo.path(), &server).args(["verify-mcp-evidence", "--reporter", "check-run"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);

    let created = bodies(&server, &format!("POST {REPO}/check-runs"));
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0]["head_sha"], HEAD_SHA,
        "the PR head, not GITHUB_SHA"
    );
    assert_eq!(created[0]["status"], "in_progress");
    assert_eq!(created[0]["name"], "merge-gates verify-mcp-evidence");

    let patches = bodies(&server, &patch);
    let sizes: Vec<usize> = patches
        .iter()
        .map(|p| p["output"]["annotations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    let last = patches.last().unwrap();
    assert_eq!(last["status"], "completed");
    assert_eq!(last["conclusion"], "failure");
    assert!(
        patches[0].get("conclusion").is_none(),
        "completed too early"
    );
    for p in &patches {
        assert!(p["output"]["summary"].as_str().unwrap().len() <= 65_535);
    }
    let a = &patches[0]["output"]["annotations"][0];
    assert_eq!(a["path"], EVIDENCE);
    assert_eq!(a["annotation_level"], "failure");
    assert!(a["start_line"].as_u64().unwrap() >= 2);
    // Every finding went to the check run exactly once.
    let lines: std::collections::BTreeSet<u64> = patches
        .iter()
        .flat_map(|p| p["output"]["annotations"].as_array().unwrap().clone())
        .map(|a| a["start_line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines.len(), 120);

    assert!(
        !out.stdout.contains("::error "),
        "no workflow-command annotations too"
    );
    let auth = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.method == "POST")
        .unwrap()
        .headers["authorization"]
        .clone();
    assert!(auth.contains(TOKEN));
    assert!(!out.stdout.contains("ghs_SECRET") && !out.stderr.contains("ghs_SECRET"));
    let outputs = std::fs::read_to_string(repo.path().join("output.txt")).unwrap();
    assert!(
        outputs.contains("verdict=fail") && outputs.contains("errors=120"),
        "{outputs}"
    );
}

#[test]
fn a_403_falls_back_to_annotations_with_a_notice_and_the_same_exit_code() {
    let repo = repo_with(3);
    let server = check_api(Reply::json(
        403,
        json!({"message": "Resource not accessible by integration"}),
    ));
    let plain = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    let out =
        run(actions(repo.path(), &server).args(["verify-mcp-evidence", "--reporter", "check-run"]));
    assert_eq!(plain.code, 1);
    assert_eq!(out.code, plain.code, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("::notice title=merge-gates::The check-run reporter is not available"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("HTTP 403"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("::error file=").count(), 3);
    assert_eq!(server.count(&format!("PATCH {REPO}/check-runs/4242")), 0);
    assert!(!out.stdout.contains("ghs_SECRET") && !out.stderr.contains("ghs_SECRET"));

    // An API that is down entirely: the same fallback, never an error of the job.
    support::config(repo.path(), "[github]\napi-timeout = \"2s\"\n");
    let mut cmd = actions(repo.path(), &server);
    // The base is in the clone: a shallow clone could not read the base's policy (exit 2).
    support::full_clone(repo.path(), &repo.path().join("event.json"));
    cmd.env("GITHUB_API_URL", "http://127.0.0.1:9") // nothing listens on the discard port
        .args(["verify-mcp-evidence", "--reporter", "check-run"]);
    let out = run(&mut cmd);
    assert_ne!(out.code, 2, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("The check-run reporter is not available"));
}

fn severities(out: &support::Output) -> Vec<(u64, String)> {
    let v = out.json();
    let mut got: Vec<(u64, String)> = v["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    got
}

#[test]
fn diff_filter_from_git_demotes_old_findings_to_notices() {
    // The base already has two broken lines; the PR appends a third.
    let repo = repo_with(2);
    let dir = repo.path();
    std::fs::write(dir.join("body.md"), BODY).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    let mut text = std::fs::read_to_string(dir.join(EVIDENCE)).unwrap();
    text.push_str("{\"tool\": \"new\"\n");
    std::fs::write(dir.join(EVIDENCE), text).unwrap();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/x.ts"), "export {}\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "pr"]);
    let args = |filter: &str| {
        let mut c = bin();
        c.current_dir(dir).args([
            "verify-mcp-evidence",
            "--format",
            "json",
            "--pr-body-file",
            "body.md",
            "--base",
            &base,
            "--filter",
            filter,
        ]);
        c
    };
    let e = |n: u64| (n, "error".to_string());
    let n = |n: u64| (n, "notice".to_string());
    let out = run(&mut args("nofilter"));
    assert_eq!(severities(&out), [e(2), e(3), e(4)], "{}", out.stderr);
    let out = run(&mut args("file"));
    assert_eq!(severities(&out), [e(2), e(3), e(4)]);
    let out = run(&mut args("added"));
    assert_eq!(out.code, 1);
    assert_eq!(severities(&out), [n(2), n(3), e(4)], "{}", out.stdout);
    assert!(out.stdout.contains("outside the PR's diff"));

    // The filter rewrites messages; SARIF fingerprints do not move with them, and twins (three
    // findings of one rule in one file) keep fingerprints of their own.
    let fingerprints = |filter: &str| -> Vec<String> {
        let out = run(bin().current_dir(dir).args([
            "verify-mcp-evidence",
            "--format",
            "sarif",
            "--pr-body-file",
            "body.md",
            "--base",
            &base,
            "--filter",
            filter,
        ]));
        let sarif: Value = serde_json::from_str(&out.stdout).unwrap();
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["mergeGates/v2"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let (all, added) = (fingerprints("nofilter"), fingerprints("added"));
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().collect::<std::collections::BTreeSet<_>>().len(),
        3,
        "twins told apart"
    );
    assert_eq!(
        all.iter().collect::<std::collections::BTreeSet<_>>(),
        added.iter().collect::<std::collections::BTreeSet<_>>()
    );
    // diff_context: line 4's hunk has lines 1-3 as context.
    let out = run(&mut args("diff_context"));
    assert_eq!(severities(&out), [e(2), e(3), e(4)]);

    // Only old problems: the PR that adopts the gate passes, and still shows them.
    git(dir, &["reset", "-q", "--hard", &base]);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/y.ts"), "export {}\n").unwrap();
    let mut text = std::fs::read_to_string(dir.join(EVIDENCE)).unwrap();
    text.push_str(&format!("{GOOD}\n"));
    std::fs::write(dir.join(EVIDENCE), text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "adopt"]);
    let out = run(&mut args("added"));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(severities(&out), [n(2), n(3)]);
}

#[test]
fn diff_filter_uses_the_patches_of_the_pr_files_api() {
    let repo = repo_with(2);
    // The PR added line 3 (the second broken line) to an existing file.
    let server = api(json!([
        {"filename": "app/x.ts", "status": "added"},
        {"filename": EVIDENCE, "status": "modified", "patch": "@@ -1,2 +1,3 @@\n {\"tool\":\"context7\"}\n {\"tool\": \"context7\", \"n\": 0\n+{\"tool\": \"context7\", \"n\": 1\n"}
    ]));
    let out = run(actions(repo.path(), &server).args([
        "verify-mcp-evidence",
        "--format",
        "json",
        "--filter",
        "added",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        severities(&out),
        [(2, "notice".to_string()), (3, "error".to_string())]
    );
}

#[test]
fn init_appends_its_sections_to_a_teams_own_template_and_leaves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github")).unwrap();
    let own = "## What\nOur own words.\n\n## Heartbeat\n- artifacts/<agent>/<YYYY-MM-DD>/heartbeat.ndjson\n\n## Checklist\n- [ ] reviewed";
    std::fs::write(d.join(".github/pull_request_template.md"), own).unwrap();
    let out = run(bin().args(["init", "--repo"]).arg(d));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("appended to .github/pull_request_template.md: the MCP Evidence section\n"),
        "{}",
        out.stdout
    );
    let text = std::fs::read_to_string(d.join(".github/pull_request_template.md")).unwrap();
    assert!(
        text.starts_with(&format!("{own}\n\n## MCP Evidence\n")),
        "{text}"
    );
    assert_eq!(text.matches("## Heartbeat").count(), 1, "{text}");
    // A second run finds both sections and changes nothing.
    let out = run(bin().args(["init", "--repo"]).arg(d));
    assert!(
        out.stdout
            .contains("skipped .github/pull_request_template.md"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(d.join(".github/pull_request_template.md")).unwrap(),
        text
    );
    // A `.github` that leads out of the repository is never written through.
    let outside = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), other.path().join(".github")).unwrap();
    let out = run(bin().args(["init", "--repo"]).arg(other.path()));
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[test]
fn init_writes_a_template_that_is_refused_unedited_and_passes_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(bin().args(["init", "--repo"]).arg(d));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("wrote .github/merge-gates.toml"));
    assert!(out
        .stdout
        .contains("wrote .github/workflows/merge-gates.yml"));
    assert!(out
        .stdout
        .contains("wrote .github/pull_request_template.md"));
    let template = std::fs::read_to_string(d.join(".github/pull_request_template.md")).unwrap();
    // The workflow is the README's quick start; the config names a schema URL of this release.
    assert_eq!(
        std::fs::read_to_string(d.join(".github/workflows/merge-gates.yml")).unwrap(),
        std::fs::read_to_string(root().join("docs/examples/quick-start.yml")).unwrap()
    );
    let config = std::fs::read_to_string(d.join(".github/merge-gates.toml")).unwrap();
    assert!(
        config.starts_with(&format!(
            "#:schema https://raw.githubusercontent.com/merge-gates/merge-gates/v{}/schemas/merge-gates.schema.json\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{config}"
    );

    // What exists is kept and said so; what is missing is written.
    std::fs::write(d.join(".github/merge-gates.toml"), "# mine\n").unwrap();
    std::fs::remove_file(d.join(".github/pull_request_template.md")).unwrap();
    let out = run(bin().args(["init", "--repo"]).arg(d));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("skipped .github/merge-gates.toml"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--force"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(d.join(".github/merge-gates.toml")).unwrap(),
        "# mine\n"
    );
    assert!(out
        .stdout
        .contains("wrote .github/pull_request_template.md"));
    let out = run(bin().args(["init", "--force", "--repo"]).arg(d));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("overwrote .github/merge-gates.toml"));

    // A repository with a code change, evidence and a heartbeat, committed (the starter config
    // judges heartbeats against the head commit).
    let demo = root().join("fixtures/demo/artifacts/engineer/2025-10-21");
    let art = d.join("artifacts/engineer/2025-10-21");
    std::fs::create_dir_all(art.join("mcp")).unwrap();
    // The starter config asks for 4+ entries from the team's tools: the demo's 2, plus two.
    let mut evidence = std::fs::read_to_string(demo.join("mcp/react-router.jsonl")).unwrap();
    evidence.push_str("{\"tool\":\"context7\",\"doc_ref\":\"https://reactrouter.com/start/framework/actions\",\"request_id\":\"mcp-2025-10-21-09\",\"timestamp\":\"2025-10-21T14:05:00Z\",\"purpose\":\"Check action return types\"}\n");
    evidence.push_str("{\"tool\":\"shopify-dev\",\"doc_ref\":\"https://shopify.dev/docs/api/admin-graphql\",\"request_id\":\"mcp-2025-10-21-10\",\"timestamp\":\"2025-10-21T14:06:00Z\",\"purpose\":\"Check the product query\"}\n");
    std::fs::write(art.join("mcp/react-router.jsonl"), evidence).unwrap();
    std::fs::write(
        art.join("heartbeat.ndjson"),
        "{\"timestamp\":\"2025-10-21T14:00:00Z\",\"task\":\"ENG-1\",\"status\":\"doing\"}\n{\"timestamp\":\"2025-10-21T14:10:00Z\",\"task\":\"ENG-1\",\"status\":\"done\"}\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("app")).unwrap();
    std::fs::write(d.join("app/x.ts"), "export {}\n").unwrap();
    std::fs::write(
        d.join("changed.txt"),
        "app/x.ts\nartifacts/engineer/2025-10-21/mcp/react-router.jsonl\nartifacts/engineer/2025-10-21/heartbeat.ndjson\n",
    )
    .unwrap();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "x"]);
    let gates = |body: &str| {
        std::fs::write(d.join("body.md"), body).unwrap();
        ["verify-mcp-evidence", "verify-heartbeat"]
            .into_iter()
            .flat_map(|gate| {
                run(bin().current_dir(d).args([
                    gate,
                    "--format",
                    "json",
                    "--pr-body-file",
                    "body.md",
                    "--changed-files",
                    "changed.txt",
                ]))
                .rules()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        gates(&template),
        [
            "mcp-evidence/template-unedited",
            "heartbeat/template-unedited"
        ]
    );
    let filled = template
        .replace(
            "- artifacts/<agent>/<YYYY-MM-DD>/mcp/<topic_or_tool>.jsonl",
            "- artifacts/engineer/2025-10-21/mcp/react-router.jsonl",
        )
        .replace(
            "- artifacts/<agent>/<YYYY-MM-DD>/heartbeat.ndjson",
            "- artifacts/engineer/2025-10-21/heartbeat.ndjson",
        );
    assert_eq!(gates(&filled), Vec::<String>::new());
}

#[test]
fn a_clean_run_completes_the_check_run_in_one_patch() {
    let repo = repo_with(0);
    let server = check_api(Reply::json(201, json!({"id": 4242})));
    let patch = format!("PATCH {REPO}/check-runs/4242");
    server.route(&patch, vec![Reply::json(200, json!({"id": 4242}))]);
    let out =
        run(actions(repo.path(), &server).args(["verify-mcp-evidence", "--reporter", "check-run"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let patches = bodies(&server, &patch);
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0]["conclusion"], "success");
    assert_eq!(patches[0]["output"]["annotations"], json!([]));
    assert!(patches[0]["output"]["title"]
        .as_str()
        .unwrap()
        .starts_with("pass"));
}

/// Run from a subfolder of a repository without `--repo`, merge-gates checks the whole
/// repository (its root, from git), not the subfolder; the text output counts findings in
/// words that agree with their number, and totals every gate.
#[test]
fn a_run_from_a_subfolder_checks_the_whole_repository() {
    let dir = support::git_repo(&[
        (
            "supabase/migrations/20251021120000_cleanup.sql",
            "DROP TABLE orders;\n",
        ),
        ("app/README.md", "app\n"),
    ]);
    let out = run(bin()
        .current_dir(dir.path().join("app"))
        .args(["migration-safety", "--all"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("error[migration-safety/drop-table]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(1 error, 1 warning, 1 notice)"),
        "{}",
        out.stdout
    );
}

// ---- The sticky PR comment ----

const COMMENTS: &str = "/repos/Codertocat/Hello-World/issues/2/comments";
const MARKER: &str = "<!-- merge-gates:comment merge-gates verify-mcp-evidence -->";

/// The API stand-in with the PR's comments as `existing` and writes that succeed (id 77).
fn comment_api(existing: Value) -> Server {
    let server = api(default_files());
    server.route(COMMENTS, vec![Reply::json(200, existing)]);
    server.route(
        &format!("POST {COMMENTS}"),
        vec![Reply::json(201, json!({"id": 77}))],
    );
    server.route(
        &format!("PATCH {REPO}/issues/comments/77"),
        vec![Reply::json(200, json!({"id": 77}))],
    );
    server
}

fn ours(body: &str) -> Value {
    json!({"id": 77, "body": body, "user": {"login": "github-actions[bot]", "type": "Bot"}})
}

#[test]
fn a_failing_pr_gets_one_comment_that_later_runs_edit_in_place() {
    let repo = repo_with(2);
    let server = comment_api(json!([]));
    let out = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let created = bodies(&server, &format!("POST {COMMENTS}"));
    assert_eq!(created.len(), 1, "one comment");
    let text = created[0]["body"].as_str().unwrap();
    assert!(text.starts_with(MARKER), "{text}");
    assert!(text.contains("2 errors in 1 gate"), "{text}");
    // Each finding links to its line at the PR's head commit and says how to fix it.
    let link = format!("/Codertocat/Hello-World/blob/{HEAD_SHA}/{EVIDENCE}#L2");
    assert!(
        text.contains(&format!("https://github.com{link}")),
        "{text}"
    );
    assert!(text.contains("mcp-evidence/invalid-json"), "{text}");
    assert!(text.contains("How to fix:"), "{text}");
    assert!(
        text.contains("merge-gates:approved"),
        "how to ask for approval: {text}"
    );
    assert!(
        !out.stdout.contains("PR comment was not written"),
        "{}",
        out.stdout
    );

    // The next run finds that comment by its marker and edits it: never a second comment.
    server.route(
        COMMENTS,
        vec![Reply::json(200, json!([ours(&format!("{MARKER}\nolder"))]))],
    );
    let again = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(again.code, 1);
    assert_eq!(
        server.count(&format!("POST {COMMENTS}")),
        1,
        "still one comment"
    );
    let edits = bodies(&server, &format!("PATCH {REPO}/issues/comments/77"));
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["body"], created[0]["body"]);

    // A run that finds the comment already saying this writes nothing.
    server.route(COMMENTS, vec![Reply::json(200, json!([ours(text)]))]);
    run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(server.count(&format!("PATCH {REPO}/issues/comments/77")), 1);
}

#[test]
fn the_comment_turns_green_when_the_pr_does_and_a_green_pr_gets_none() {
    let repo = repo_with(0);
    // No comment yet, and nothing fails: `on-failure` writes none.
    let server = comment_api(json!([]));
    let out = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(server.count(&format!("POST {COMMENTS}")), 0);
    // `always` writes one on a green run too.
    let out =
        run(actions(repo.path(), &server).args(["verify-mcp-evidence", "--comment", "always"]));
    assert_eq!(out.code, 0);
    assert_eq!(server.count(&format!("POST {COMMENTS}")), 1);

    // A comment from an earlier, failing run is edited to say the PR is green (not deleted).
    let server = comment_api(json!([ours(&format!("{MARKER}\n## ❌ 2 errors"))]));
    let out = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(out.code, 0);
    let edits = bodies(&server, &format!("PATCH {REPO}/issues/comments/77"));
    assert_eq!(edits.len(), 1);
    let text = edits[0]["body"].as_str().unwrap();
    assert!(
        text.starts_with(MARKER) && text.contains("every gate passes"),
        "{text}"
    );
    assert_eq!(
        server.count(&format!("DELETE {REPO}/issues/comments/77")),
        0
    );
}

#[test]
fn a_marker_planted_in_a_users_comment_is_not_taken_for_ours() {
    let repo = repo_with(1);
    let planted = json!({"id": 5, "body": format!("{MARKER}\n## ✅ every gate passes"),
                         "user": {"login": "author", "type": "User"}});
    let server = comment_api(json!([planted]));
    let out = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(out.code, 1);
    assert_eq!(server.count(&format!("PATCH {REPO}/issues/comments/5")), 0);
    assert_eq!(
        server.count(&format!("POST {COMMENTS}")),
        1,
        "a comment of our own"
    );
}

#[test]
fn a_read_only_token_skips_the_comment_with_one_notice_and_the_same_verdict() {
    let repo = repo_with(3);
    let server = comment_api(json!([]));
    server.route(
        &format!("POST {COMMENTS}"),
        vec![Reply::json(
            403,
            json!({"message": "Resource not accessible by integration"}),
        )],
    );
    let out = run(actions(repo.path(), &server).arg("verify-mcp-evidence"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout
            .matches("::notice title=merge-gates::The PR comment was not written")
            .count(),
        1,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("pull-requests: write"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.matches("::error file=").count(), 3);
    let summary = std::fs::read_to_string(repo.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("invalid-json"),
        "the summary still has everything"
    );
    assert!(!out.stdout.contains("ghs_SECRET") && !out.stderr.contains("ghs_SECRET"));

    // `comment = "never"` asks nothing of the API.
    let quiet = comment_api(json!([]));
    run(actions(repo.path(), &quiet).args(["verify-mcp-evidence", "--comment", "never"]));
    assert_eq!(
        quiet.count(COMMENTS) + quiet.count(&format!("POST {COMMENTS}")),
        0
    );
}

#[test]
fn the_check_name_names_the_check_run_and_marks_the_comment() {
    let repo = repo_with(1);
    let server = comment_api(json!([]));
    server.route(
        &format!("POST {REPO}/check-runs"),
        vec![Reply::json(201, json!({"id": 4242}))],
    );
    server.route(
        &format!("PATCH {REPO}/check-runs/4242"),
        vec![Reply::json(200, json!({"id": 4242}))],
    );
    let out = run(actions(repo.path(), &server).args([
        "verify-mcp-evidence",
        "--reporter",
        "check-run",
        "--check-name",
        "evidence (api)",
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        bodies(&server, &format!("POST {REPO}/check-runs"))[0]["name"],
        "evidence (api)"
    );
    let created = bodies(&server, &format!("POST {COMMENTS}"));
    assert!(created[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("<!-- merge-gates:comment evidence api -->"));
    let bad = run(actions(repo.path(), &server).args(["verify-mcp-evidence", "--check-name", " "]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("check-name"), "{}", bad.stderr);
}
