//! The whole output of every reporter on the demo pull request (`fixtures/demo`, the README's
//! first command), snapshotted: text, GitHub workflow commands, JSON, SARIF, the job summary
//! and step outputs, and the check run's payloads as sent to the GitHub API stand-in. A change
//! to any reporter shows up here in review, as ruff keeps `render/snapshots`.
//!
//! What varies from run to run is replaced before the snapshot: the temporary directory, the
//! random `stop-commands` token, the check run's completion time.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::{bin, root, run, Reply, Server};

/// A copy of the demo repository (tests never write into the checkout).
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    support::copy_dir(&root().join("fixtures/demo"), dir.path());
    dir
}

/// The README's demo command on `repo`, in `format`.
fn demo_run(repo: &Path, format: &str) -> support::Output {
    run(bin().args([
        "run",
        "--repo",
        repo.to_str().unwrap(),
        "--pr-body-file",
        repo.join("PR_BODY.md").to_str().unwrap(),
        "--changed-files",
        repo.join("CHANGED_FILES").to_str().unwrap(),
        "--now",
        "2025-10-21T17:00:00Z",
        "--format",
        format,
    ]))
}

/// The text with the temporary directory and the stop-commands token replaced.
fn stable(text: &str, repo: &Path) -> String {
    let text = text.replace(repo.to_str().unwrap(), "[repo]");
    let token = regex::Regex::new(r"stop-commands::[0-9a-f]{32,}").unwrap();
    let text = token.replace_all(&text, "stop-commands::[token]");
    let end = regex::Regex::new(r"(?m)^::[0-9a-f]{32,}::$").unwrap();
    let text = end.replace_all(&text, "::[token]::");
    // One report file per step: its name ends in a random suffix.
    let report = regex::Regex::new(r"merge-gates-report-[0-9a-f]+\.json").unwrap();
    report
        .replace_all(&text, "merge-gates-report-[random].json")
        .into_owned()
}

#[test]
fn text() {
    let repo = demo();
    let out = demo_run(repo.path(), "text");
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(stable(&out.stdout, repo.path()));
}

#[test]
fn json() {
    let repo = demo();
    let out = demo_run(repo.path(), "json");
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(stable(&out.stdout, repo.path()));
}

#[test]
fn sarif() {
    let repo = demo();
    let out = demo_run(repo.path(), "sarif");
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(stable(&out.stdout, repo.path()));
}

/// In a GitHub Actions job: workflow commands on stdout, the job summary, the step outputs.
#[test]
fn github_summary_and_outputs() {
    let repo = demo();
    let files = tempfile::tempdir().unwrap();
    let (summary, outputs) = (files.path().join("summary.md"), files.path().join("output"));
    let out = run(bin()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", files.path())
        .args([
            "run",
            "--repo",
            repo.path().to_str().unwrap(),
            "--pr-body-file",
            repo.path().join("PR_BODY.md").to_str().unwrap(),
            "--changed-files",
            repo.path().join("CHANGED_FILES").to_str().unwrap(),
            "--now",
            "2025-10-21T17:00:00Z",
        ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    support::assert_only_our_workflow_commands(&out.stdout);
    insta::assert_snapshot!("github", stable(&out.stdout, repo.path()));
    let summary = std::fs::read_to_string(summary).unwrap();
    insta::assert_snapshot!("summary", stable(&summary, repo.path()));
    let outputs = std::fs::read_to_string(outputs).unwrap();
    insta::assert_snapshot!("outputs", stable(&outputs, files.path()));
}

/// The check run's payloads: the demo PR as a `pull_request` job against the API stand-in.
#[test]
fn check_run_payloads() {
    const REPO: &str = "/repos/Codertocat/Hello-World";
    let repo = demo();
    let body = std::fs::read_to_string(repo.path().join("PR_BODY.md")).unwrap();
    let files: Vec<Value> = std::fs::read_to_string(repo.path().join("CHANGED_FILES"))
        .unwrap()
        .lines()
        .map(|f| json!({"filename": f, "status": "added"}))
        .collect();
    let server = Server::start(vec![
        (
            &format!("{REPO}/pulls/2"),
            vec![Reply::json(
                200,
                json!({"number": 2, "body": body, "head": {"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}),
            )],
        ),
        (
            &format!("{REPO}/pulls/2/files"),
            vec![Reply::json(200, Value::Array(files))],
        ),
        (
            &format!("POST {REPO}/check-runs"),
            vec![Reply::json(201, json!({"id": 4242}))],
        ),
        (
            &format!("PATCH {REPO}/check-runs/4242"),
            vec![Reply::json(200, json!({"id": 4242}))],
        ),
    ]);
    // The demo PR does not change the policy: the base holds the same config.
    server.base_config_from(repo.path());
    let event = support::pull_request_event(repo.path(), &body);
    let mut cmd = bin();
    support::actions(&mut cmd, repo.path(), &event, &server.url);
    let out = run(cmd.args([
        "run",
        "--reporter",
        "check-run",
        "--now",
        "2025-10-21T17:00:00Z",
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let sent: Vec<Value> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.contains("/check-runs"))
        .map(|r| {
            let mut v: Value = serde_json::from_slice(&r.body).unwrap();
            for key in ["started_at", "completed_at"] {
                if v.get(key).is_some() {
                    v[key] = json!("[time]");
                }
            }
            json!({"request": format!("{} {}", r.method, r.path), "body": v})
        })
        .collect();
    assert_eq!(sent.len(), 2, "create, then one update: {sent:#?}");
    insta::assert_json_snapshot!("check_run", sent);
}
