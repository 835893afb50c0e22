//! End-to-end tests of the two PR-body gates and the core around them, running the built
//! binary: against real webhook payloads, a local HTTP server standing in for the GitHub API
//! (fresh body, retries, rate limits, pagination, outages), the GitHub reporter's files, and
//! hostile text that tries to smuggle workflow commands into the log.

mod support;

use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{actions, bin, pull_request_event, root, run, Reply, Server};

const PR: &str = "/repos/Codertocat/Hello-World/pulls/2";
const GOOD_LINE: &str = r#"{"tool":"context7","doc_ref":"https://reactrouter.com/start","request_id":"mcp-2025-10-21-01","timestamp":"2025-10-21T14:30:00.123Z","purpose":"Verify RR7 loaders"}"#;

/// A repository with one valid and one broken evidence file and a code change.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mcp = dir.path().join("artifacts/eng/2025-10-21/mcp");
    std::fs::create_dir_all(&mcp).unwrap();
    std::fs::write(mcp.join("good.jsonl"), format!("{GOOD_LINE}\n")).unwrap();
    std::fs::write(
        mcp.join("bad.jsonl"),
        format!("{GOOD_LINE}\n{{\"tool\": \"context7\",\n"),
    )
    .unwrap();
    dir
}

fn files_reply(paths: &[&str]) -> Reply {
    Reply::json(
        200,
        json!(paths
            .iter()
            .map(|p| json!({"filename": p, "status": "added"}))
            .collect::<Vec<_>>()),
    )
}

fn pull_reply(body: &str) -> Reply {
    Reply::json(
        200,
        json!({"number": 2, "body": body, "base": {"sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}, "head": {"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}),
    )
}

fn config(repo: &Path, text: &str) {
    support::config(repo, text);
}

const BODY_BAD: &str = "## MCP Evidence\r\n- artifacts/eng/2025-10-21/mcp/bad.jsonl\r\n";
const BODY_EXEMPT: &str = "## MCP Evidence\nNo MCP usage - non-code change\n";

#[test]
fn the_fresh_body_from_the_api_wins_over_the_payload() {
    let repo = repo();
    let event = pull_request_event(repo.path(), BODY_EXEMPT);
    let api = Server::start(vec![
        (PR, vec![pull_reply(BODY_BAD)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&[
                "app/x.ts",
                "artifacts/eng/2025-10-21/mcp/bad.jsonl",
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.rules(),
        ["mcp-evidence/invalid-json"],
        "the payload's exemption must not be used"
    );
    let auth = api.requests.lock().unwrap()[0]
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    assert!(
        auth.contains("ghs_SECRETtoken"),
        "token sent to the API: {auth:?}"
    );
    assert!(!out.stdout.contains("ghs_SECRET") && !out.stderr.contains("ghs_SECRET"));
}

#[test]
fn a_500_is_retried() {
    let repo = repo();
    let event = pull_request_event(repo.path(), BODY_EXEMPT);
    let api = Server::start(vec![
        (
            PR,
            vec![
                Reply::json(500, json!({"message": "Server Error"})),
                pull_reply(BODY_BAD),
            ],
        ),
        (
            &format!("{PR}/files"),
            vec![
                Reply::json(502, json!({})),
                files_reply(&["app/x.ts", "artifacts/eng/2025-10-21/mcp/bad.jsonl"]),
            ],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert_eq!(out.rules(), ["mcp-evidence/invalid-json"], "{}", out.stderr);
    assert_eq!(api.count(&format!("GET {PR}")), 2);
    assert_eq!(api.count(&format!("GET {PR}/files")), 2);
    // Each retry is said as it happens, on stderr; `-q` keeps it quiet.
    assert!(
        out.stderr.contains("GitHub API: pull request: HTTP 500")
            && out.stderr.contains("retry 2/8 in"),
        "{}",
        out.stderr
    );
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    api.route(
        &format!("GET {PR}"),
        vec![Reply::json(500, json!({})), pull_reply(BODY_BAD)],
    );
    let quiet = run(cmd.args(["verify-mcp-evidence", "--format", "json", "-q"]));
    assert_eq!(quiet.rules(), ["mcp-evidence/invalid-json"]);
    assert!(!quiet.stderr.contains("retry"), "{}", quiet.stderr);
}

#[test]
fn a_rate_limit_403_with_retry_after_is_waited_out() {
    let repo = repo();
    let event = pull_request_event(repo.path(), BODY_EXEMPT);
    let limited = Reply::json(
        403,
        json!({"message": "API rate limit exceeded for installation"}),
    )
    .header("retry-after", "1")
    .header("x-ratelimit-remaining", "0");
    let api = Server::start(vec![
        (PR, vec![limited, pull_reply(BODY_BAD)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&[
                "app/x.ts",
                "artifacts/eng/2025-10-21/mcp/bad.jsonl",
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let start = Instant::now();
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    let took = start.elapsed();
    assert_eq!(out.rules(), ["mcp-evidence/invalid-json"], "{}", out.stderr);
    assert!(
        took >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured ({took:?})"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_retry_after_beyond_the_budget_gives_up_in_time_and_falls_back() {
    let repo = repo();
    config(repo.path(), "[github]\napi-timeout = \"2s\"\n");
    let event = pull_request_event(repo.path(), BODY_BAD);
    let limited = Reply::json(429, json!({"message": "slow down"})).header("retry-after", "3600");
    let api = Server::start(vec![
        (PR, vec![limited.clone()]),
        (&format!("{PR}/files"), vec![limited]),
    ]);
    api.base_config_from(repo.path());
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let start = Instant::now();
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "waited {:?}",
        start.elapsed()
    );
    let rules = out.rules();
    assert!(
        rules.contains(&"core/pr-body-from-payload".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"mcp-evidence/invalid-json".to_string()),
        "payload body used: {rules:?}"
    );
}

/// The API answers 503 slowly, so the budget runs out in the middle of a later attempt. The
/// message still says what the server answered, not only "timed out" (CI saw exactly this on a
/// loaded machine: the 503s were hidden behind the last attempt's timeout).
#[test]
fn a_budget_cut_mid_attempt_still_names_the_last_answer() {
    let repo = repo();
    config(repo.path(), "[github]\napi-timeout = \"2s\"\n");
    let event = pull_request_event(repo.path(), BODY_BAD);
    let mut slow = Reply::json(503, json!({"message": "Service Unavailable"}));
    slow.delay = Duration::from_millis(1200);
    let api = Server::start(vec![(PR, vec![slow.clone(), slow.clone(), slow])]);
    api.base_config_from(repo.path());
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    let v = out.json();
    let message = v["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "core/pr-body-from-payload")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .expect("fallback warning");
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains("HTTP 503"), "{message}");
}

#[test]
fn an_unreachable_api_falls_back_to_the_payload_with_a_warning() {
    let repo = repo();
    config(repo.path(), "[github]\napi-timeout = \"3s\"\n");
    let event = pull_request_event(repo.path(), BODY_BAD);
    // With a shallow clone the base's policy could not be read either (exit 2, tested in
    // tests/tamper); this is about what happens to the PR's data.
    support::full_clone(repo.path(), &event);
    // Nothing listens on port 9 (discard) of 127.0.0.1 here: connection refused.
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, "http://127.0.0.1:9");
    let start = Instant::now();
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert!(start.elapsed() < Duration::from_secs(15));
    let v = out.json();
    let findings = &v["gates"][0]["findings"];
    let fallback = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "core/pr-body-from-payload")
        .expect("fallback warning");
    assert_eq!(fallback["severity"], "warning");
    assert!(fallback["message"].as_str().unwrap().contains("payload"));
    assert!(out
        .rules()
        .contains(&"mcp-evidence/invalid-json".to_string()));
    assert!(out
        .rules()
        .contains(&"core/changed-files-unknown".to_string()));
}

#[test]
fn changed_files_are_paginated() {
    let repo = repo();
    let body = "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/good.jsonl\n";
    let event = pull_request_event(repo.path(), body);
    let files = format!("{PR}/files");
    let api = Server::start(vec![(PR, vec![pull_reply(body)])]);
    // Page 1 links to page 2, the last. (A Link that loops is in tests/hostile.rs.)
    let page2 = format!("{}{files}?per_page=100&page=2", api.url);
    let next = format!("<{page2}>; rel=\"next\"");
    api.route(
        &format!("GET {files}"),
        vec![
            files_reply(&["app/x.ts"]).header("link", &next),
            files_reply(&["artifacts/eng/2025-10-21/mcp/good.jsonl"]),
        ],
    );
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let start = Instant::now();
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert!(start.elapsed() < Duration::from_secs(10));
    // good.jsonl is listed on page 2 only: without pagination it would be "not in PR".
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.rules().is_empty(), "{:?}", out.rules());
    assert_eq!(api.count(&format!("GET {files}")), 2, "page 1, page 2");
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let repo = repo();
    let body = "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/good.jsonl\n";
    let event = pull_request_event(repo.path(), body);
    let elsewhere = Server::start(vec![]);
    let api = Server::start(vec![
        (PR, vec![pull_reply(body)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&["app/x.ts"]).header(
                "link",
                &format!("<{}/steal?page=2>; rel=\"next\"", elsewhere.url),
            )],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.args(["verify-mcp-evidence", "--format", "json"]));
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "the token must not travel to another origin"
    );
    assert_eq!(out.rules(), ["mcp-evidence/file-not-in-pr"]);
}

#[test]
fn a_merge_group_finds_its_pr_from_the_queue_branch() {
    let repo = repo();
    let event = repo.path().join("event.json");
    std::fs::copy(
        root().join("tests/fixtures/events/merge_group.checks_requested.json"),
        &event,
    )
    .unwrap();
    let pr = "/repos/octo-org/octo-repo/pulls/104";
    let api = Server::start(vec![
        (pr, vec![pull_reply(BODY_BAD)]),
        (
            &format!("{pr}/files"),
            vec![files_reply(&[
                "app/x.ts",
                "artifacts/eng/2025-10-21/mcp/bad.jsonl",
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.env("GITHUB_EVENT_NAME", "merge_group").args([
        "verify-mcp-evidence",
        "--format",
        "json",
    ]));
    assert_eq!(out.rules(), ["mcp-evidence/invalid-json"], "{}", out.stderr);
}

#[test]
fn a_push_event_skips_the_body_gates_with_a_notice() {
    let repo = repo();
    let event = pull_request_event(repo.path(), BODY_BAD);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, "http://127.0.0.1:9");
    let out = run(cmd
        .env("GITHUB_EVENT_NAME", "push")
        .args(["run", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Without a config every gate whose inputs exist runs (issue 14): the file gates say
    // that a push has no changed-file list, once.
    assert_eq!(
        out.rules(),
        [
            "core/pr-unavailable",
            "core/pr-unavailable",
            "core/changed-files-unknown"
        ]
    );
}

/// Hostile text in the body and in evidence must not produce any workflow command we did not
/// write: outside the stop-commands block every `::` line is one of our annotations, and the
/// block is closed with the same random token that opened it.
#[test]
fn hostile_text_never_becomes_a_workflow_command() {
    let repo = repo();
    let mcp = repo.path().join("artifacts/eng/2025-10-21/mcp");
    let hostile_name = "x%0A::error::x:y.jsonl";
    std::fs::write(mcp.join(hostile_name), "::set-output name=verdict::pass\n{\"tool\":\"%0A::error::pwned\",\"timestamp\":\"2025-10-21T14:30:00Z\\n::warning::x\"}\n").unwrap();
    let body = format!("## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/{hostile_name}\n- artifacts/eng/2025-10-21/mcp/%0A::error::injected.jsonl\n::set-output name=verdict::pass\n");
    let event = pull_request_event(repo.path(), &body);
    let summary = repo.path().join("summary.md");
    let outputs = repo.path().join("outputs.txt");
    let api = Server::start(vec![
        (PR, vec![pull_reply(&body)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&[
                "app/x.ts",
                &format!("artifacts/eng/2025-10-21/mcp/{hostile_name}"),
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    cmd.env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", repo.path());
    let out = run(cmd.arg("verify-mcp-evidence"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let annotations = support::assert_only_our_workflow_commands(&out.stdout);
    assert!(annotations >= 2, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("file=artifacts/eng/2025-10-21/mcp/x%250A%3A%3Aerror%3A%3Ax%3Ay.jsonl"),
        "{}",
        out.stdout
    );
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(outputs.lines().any(|l| l == "verdict=fail"), "{outputs}");
    assert!(!outputs.contains("verdict=pass"));
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(
        summary.contains("merge-gates") && summary.contains("mcp-evidence/"),
        "{summary}"
    );
}

#[test]
fn the_github_reporter_caps_annotations_and_writes_summary_outputs_and_report() {
    let repo = repo();
    let mcp = repo.path().join("artifacts/eng/2025-10-21/mcp");
    let many: String = (0..25)
        .map(|i| format!("{{\"tool\":\"t{i}\"}}\n"))
        .collect();
    std::fs::write(mcp.join("many.jsonl"), many).unwrap();
    let body = "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/many.jsonl\n";
    let event = pull_request_event(repo.path(), body);
    let (summary, outputs) = (
        repo.path().join("summary.md"),
        repo.path().join("outputs.txt"),
    );
    let api = Server::start(vec![
        (PR, vec![pull_reply(body)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&[
                "app/x.ts",
                "artifacts/eng/2025-10-21/mcp/many.jsonl",
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    cmd.env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", repo.path());
    let out = run(cmd.arg("verify-mcp-evidence"));
    assert_eq!(out.code, 1);
    let errors = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .count();
    assert_eq!(errors, 10, "GitHub shows 10 error annotations per step");
    assert!(
        out.stdout
            .contains("::notice title=merge-gates::15 more finding(s)"),
        "{}",
        out.stdout
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        summary.matches("[`mcp-evidence/missing-field`]").count(),
        25,
        "the summary has every finding"
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        outputs.contains("verdict=fail\nerrors=25\nwarnings=0\n"),
        "{outputs}"
    );
    let report_path = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report="))
        .expect("report output");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_path).unwrap()).unwrap();
    assert_eq!(report["gates"][0]["findings"].as_array().unwrap().len(), 25);
}

#[test]
fn the_json_report_matches_its_schema_and_sarif_is_well_formed() {
    let demo = root().join("fixtures/demo");
    let mut cmd = bin();
    let (body, changed) = (demo.join("PR_BODY.md"), demo.join("CHANGED_FILES"));
    let common = [
        "--repo",
        demo.to_str().unwrap(),
        "--pr-body-file",
        body.to_str().unwrap(),
        "--changed-files",
        changed.to_str().unwrap(),
        "--now",
        "2025-10-21T17:00:00Z",
    ];
    let out = run(cmd.arg("run").args(common).args(["--format", "json"]));
    assert_eq!(out.code, 1, "the demo has real findings: {}", out.stderr);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let report = out.json();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| !g["findings"].as_array().unwrap().is_empty()));

    let sarif = run(bin().arg("run").args(common).args(["--format", "sarif"]));
    let sarif: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    for r in run0["results"].as_array().unwrap() {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains(".."),
            "uri must be repo-relative: {uri}"
        );
        assert!(
            r["partialFingerprints"]["mergeGates/v2"]
                .as_str()
                .unwrap()
                .len()
                == 16
        );
        assert!(!rules[idx]["help"]["text"].as_str().unwrap().is_empty());
    }
}

#[test]
fn config_errors_exit_2_naming_the_key() {
    let repo = repo();
    config(
        repo.path(),
        "[verify-mcp-evidence]\nmax-file-sise = \"1MiB\"\n",
    );
    let out = run(bin().args([
        "verify-mcp-evidence",
        "--repo",
        repo.path().to_str().unwrap(),
    ]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("max-file-sise"), "{}", out.stderr);
    config(
        repo.path(),
        "[rules]\n\"mcp-evidence/no-such-rule\" = \"off\"\n",
    );
    let out = run(bin().args([
        "verify-mcp-evidence",
        "--repo",
        repo.path().to_str().unwrap(),
    ]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mcp-evidence/no-such-rule"),
        "{}",
        out.stderr
    );
    let out = run(bin().args([
        "verify-heartbeat",
        "--repo",
        repo.path().to_str().unwrap(),
        "--threshold",
        "15 minutes",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn severity_overrides_change_the_verdict() {
    let repo = repo();
    let body = repo.path().join("body.md");
    std::fs::write(&body, BODY_BAD).unwrap();
    let changed = repo.path().join("changed.txt");
    std::fs::write(
        &changed,
        "app/x.ts\nartifacts/eng/2025-10-21/mcp/bad.jsonl\n",
    )
    .unwrap();
    let args = [
        "verify-mcp-evidence",
        "--repo",
        repo.path().to_str().unwrap(),
        "--pr-body-file",
        body.to_str().unwrap(),
        "--changed-files",
        changed.to_str().unwrap(),
        "--format",
        "json",
    ];
    assert_eq!(run(bin().args(args)).code, 1);
    config(
        repo.path(),
        "[rules]\n\"mcp-evidence/invalid-json\" = \"warning\"\n",
    );
    let out = run(bin().args(args));
    assert_eq!(out.code, 0, "a warning does not fail by default");
    assert_eq!(run(bin().args(args).args(["--fail-on", "warning"])).code, 1);
    config(repo.path(), "[rules]\n\"verify-mcp-evidence\" = \"off\"\n");
    assert!(run(bin().args(args)).rules().is_empty());
}

#[test]
fn the_committed_config_schema_is_the_generated_one() {
    let out = run(bin().args(["schema", "config"]));
    let committed =
        std::fs::read_to_string(root().join("schemas/merge-gates.schema.json")).unwrap_or_default();
    assert!(committed == out.stdout, "schemas/merge-gates.schema.json is stale: run `cargo run -- schema config > schemas/merge-gates.schema.json`");
}

/// A git repository whose commits span `hours` hours, for the heartbeat's commit checks.
fn git_repo(hours: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str], date: &str| support::git_at(dir.path(), date, args);
    git(&["init", "-q", "-b", "main"], "2025-10-21T10:00:00Z");
    std::fs::write(dir.path().join("README.md"), "x\n").unwrap();
    git(&["add", "."], "2025-10-21T10:00:00Z");
    git(&["commit", "-qm", "base"], "2025-10-21T10:00:00Z");
    git(&["checkout", "-qb", "feature"], "2025-10-21T10:00:00Z");
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/a.ts"), "export {}\n").unwrap();
    git(&["add", "."], "2025-10-21T12:00:00Z");
    git(&["commit", "-qm", "one"], "2025-10-21T12:00:00Z");
    let hb = dir.path().join("artifacts/eng/2025-10-21");
    std::fs::create_dir_all(&hb).unwrap();
    std::fs::write(hb.join("heartbeat.ndjson"), "{\"timestamp\":\"2025-10-21T12:00:00Z\",\"task\":\"ENG-42\",\"status\":\"doing\"}\n{\"timestamp\":\"2025-10-21T12:10:00Z\",\"task\":\"ENG-42\",\"status\":\"doing\"}\n").unwrap();
    let last = format!("2025-10-21T{:02}:05:00Z", 12 + hours);
    git(&["add", "."], &last);
    git(&["commit", "-qm", "two"], &last);
    dir
}

#[test]
fn a_single_session_claim_is_refused_when_commits_span_more_than_two_hours() {
    for (hours, expect) in [(3, Some("heartbeat/false-exemption")), (1, None)] {
        let repo = git_repo(hours);
        let body = repo.path().join("body.md");
        std::fs::write(
            &body,
            "## Heartbeat\n<2h single session - heartbeat not required\n",
        )
        .unwrap();
        let out = run(bin().args([
            "verify-heartbeat",
            "--repo",
            repo.path().to_str().unwrap(),
            "--pr-body-file",
            body.to_str().unwrap(),
            "--base",
            "main",
            "--format",
            "json",
        ]));
        assert_eq!(
            out.rules().first().map(String::as_str),
            expect,
            "span {hours}h: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn head_commit_reference_makes_reruns_give_the_same_verdict() {
    let repo = git_repo(0); // head commit at 12:05, last heartbeat 12:10 → not stale at head
    let body = repo.path().join("body.md");
    std::fs::write(
        &body,
        "## Heartbeat\n- artifacts/eng/2025-10-21/heartbeat.ndjson\n",
    )
    .unwrap();
    let args = [
        "verify-heartbeat",
        "--repo",
        repo.path().to_str().unwrap(),
        "--pr-body-file",
        body.to_str().unwrap(),
        "--base",
        "main",
        "--format",
        "json",
        "--reference",
        "head-commit",
    ];
    // `head-commit` is the default too: the same verdict without the flag.
    for now in ["2025-10-21T12:20:00Z", "2027-01-01T00:00:00Z"] {
        let out = run(bin().args(args).args(["--now", now]));
        assert_eq!(out.code, 0, "now={now}: {}", out.stdout);
        let out = run(bin().args(&args[..args.len() - 2]).args(["--now", now]));
        assert_eq!(out.code, 0, "default reference, now={now}: {}", out.stdout);
    }
    // With the runner's clock, the same file is stale a day later.
    let out = run(bin().args(&args[..args.len() - 2]).args([
        "--reference",
        "now",
        "--now",
        "2025-10-22T12:20:00Z",
    ]));
    assert_eq!(out.rules(), ["heartbeat/stale-task"]);
}

#[test]
fn a_sparse_gigabyte_evidence_file_is_refused_without_reading_it() {
    let repo = repo();
    let path = repo.path().join("artifacts/eng/2025-10-21/mcp/huge.jsonl");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let body = repo.path().join("body.md");
    std::fs::write(
        &body,
        "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/huge.jsonl\n",
    )
    .unwrap();
    let start = Instant::now();
    let out = run(bin().args([
        "verify-mcp-evidence",
        "--repo",
        repo.path().to_str().unwrap(),
        "--pr-body-file",
        body.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        out.rules()
            .contains(&"mcp-evidence/file-too-large".to_string()),
        "{:?}",
        out.rules()
    );
}

#[test]
fn a_large_evidence_file_streams_in_bounded_memory() {
    // 400,000 lines (~60 MB) validated under a 256 MB address-space limit: memory that grew with
    // the input would abort the run.
    let repo = repo();
    let path = repo.path().join("artifacts/eng/2025-10-21/mcp/big.jsonl");
    let mut text = String::with_capacity(70 << 20);
    for _ in 0..400_000 {
        text.push_str(GOOD_LINE);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    support::config(
        repo.path(),
        "[verify-mcp-evidence]\nmax-file-size = \"1GiB\"\n",
    );
    let body = repo.path().join("body.md");
    std::fs::write(
        &body,
        "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/big.jsonl\n",
    )
    .unwrap();
    let script = format!(
        "ulimit -v 262144; exec {} verify-mcp-evidence --repo {} --pr-body-file {} --format json --now 2025-10-21T17:00:00Z",
        env!("CARGO_BIN_EXE_merge-gates"),
        repo.path().display(),
        body.display()
    );
    let out = run(std::process::Command::new("sh")
        .args(["-c", &script])
        .env("MALLOC_ARENA_MAX", "2"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.json()["gates"][0]["notes"][0]
        .as_str()
        .unwrap()
        .contains("400,000 entries"));
}

/// The built-in schema's quick check must find exactly what the full schema check finds: the
/// same file is checked with the built-in schema (quick path) and with the same schema given
/// as the repository's own (full path, no quick check), and the findings must be identical.
#[test]
fn the_quick_check_of_the_built_in_schema_finds_what_the_full_check_finds() {
    let dir = tempfile::tempdir().unwrap();
    let rel = "artifacts/eng/2025-10-21/mcp/mixed.jsonl";
    let lines = [
        GOOD_LINE,
        r#"{"tool":"context7","timestamp":"2025-10-21T14:30:00Z","extra":[1,{"a":null}]}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00\u005a","doc_ref":"https://x.dev/\u00e9"}"#,
        r#"["context7","2025-10-21T14:30:00Z"]"#,
        r#"{"tool":"context7"}"#,
        r#"{"tool":"","timestamp":"2025-10-21T14:30:00Z"}"#,
        r#"{"tool":null,"timestamp":"2025-10-21T14:30:00Z"}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z","doc_ref":null}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z","doc_ref":"localhost modal"}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z","purpose":7}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z","tool":"d"}"#,
        r#"{"tool":"c","timestamp":"2025-10-21 14:30"}"#,
        r#"{"tool":"c","timestamp":"2025-13-45T99:99:99Z"}"#,
        r#"{"tool":"c","timestamp":"2030-01-01T00:00:00Z"}"#,
        r#"{"tool":"c","timestamp":"2025-10-19T23:00:00-02:00"}"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z"} trailing"#,
        r#"{"tool":"c","timestamp":"2025-10-21T14:30:00Z""#,
        r#"{"tool":"c","timestamp":42}"#,
    ];
    std::fs::create_dir_all(dir.path().join("artifacts/eng/2025-10-21/mcp")).unwrap();
    std::fs::write(dir.path().join(rel), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.path().join("body.md"),
        format!("## MCP Evidence\n- {rel}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("changed.txt"), format!("app/a.ts\n{rel}\n")).unwrap();
    let check = || {
        let out = run(bin().args([
            "verify-mcp-evidence",
            "--repo",
            dir.path().to_str().unwrap(),
            "--pr-body-file",
            dir.path().join("body.md").to_str().unwrap(),
            "--changed-files",
            dir.path().join("changed.txt").to_str().unwrap(),
            "--format",
            "json",
            "--now",
            "2025-10-22T00:00:00Z",
        ]));
        assert_eq!(out.code, 1, "{}", out.stderr);
        out.json()["gates"][0]["findings"].clone()
    };
    let quick = check();
    let schema = run(bin().args(["schema", "evidence"])).stdout;
    config(
        dir.path(),
        "[verify-mcp-evidence]\nschema = \".github/evidence.schema.json\"\n",
    );
    std::fs::write(dir.path().join(".github/evidence.schema.json"), schema).unwrap();
    let full = check();
    assert_eq!(quick, full);
    // Every broken line above is found; a key given twice is no finding (JSON Schema sees the
    // last value, and serde_json keeps it).
    let lines_found: std::collections::BTreeSet<u64> = quick
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["line"].as_u64())
        .collect();
    for n in [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 16, 17, 18] {
        assert!(lines_found.contains(&n), "line {n} not found: {quick}");
    }
}

#[test]
fn a_setext_heading_is_the_section_as_github_renders_it() {
    // `MCP Evidence` underlined with `---` is a heading on GitHub: its list is read, not
    // reported as `section-missing`.
    let repo = repo();
    let body = "Summary\n=======\nA change.\n\nMCP Evidence\n------------\n- artifacts/eng/2025-10-21/mcp/bad.jsonl\n";
    let event = pull_request_event(repo.path(), body);
    let api = Server::start(vec![
        (PR, vec![pull_reply(body)]),
        (
            &format!("{PR}/files"),
            vec![files_reply(&[
                "app/x.ts",
                "artifacts/eng/2025-10-21/mcp/bad.jsonl",
            ])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, repo.path(), &event, &api.url);
    let out = run(cmd.args([
        "verify-mcp-evidence",
        "--format",
        "json",
        "--comment",
        "never",
    ]));
    assert_eq!(out.rules(), ["mcp-evidence/invalid-json"], "{}", out.stdout);
}
