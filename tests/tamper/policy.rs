//! Policy the PR cannot switch off: what runs, and at what strength, when the PR brings (or
//! removes) the config.

use crate::support::{
    actions, bin, commit_all, contents_reply, git, git_repo, pull_request_event, repo, run, Output,
    Reply, Server, BASE_CONFIG_ROUTE,
};
use std::path::Path;

/// `merge-gates run` on `dir` with its `CHANGED` list (and `extra` flags), as JSON: the
/// gates that ran and the output.
fn run_gates(dir: &Path, extra: &[&str]) -> (Vec<String>, Output) {
    let out = run(bin()
        .args(["run", "--format", "json", "--repo"])
        .arg(dir)
        .arg("--changed-files")
        .arg(dir.join("CHANGED"))
        .args(extra));
    let gates = out.json()["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gate"].as_str().unwrap().to_string())
        .collect();
    (gates, out)
}

/// A repository with no config at all: a banned import in production code and a `DROP TABLE`
/// in a new migration. Before, `run` without a config ran only the two PR-body gates, so this
/// passed with notices.
#[test]
fn deleting_the_config_does_not_switch_gates_off() {
    let dir = repo(&[
        (
            "app/lib/docs.server.ts",
            "import { Client } from \"@shopify/dev-mcp\";\nexport const c = Client;\n",
        ),
        (
            "supabase/migrations/20251021140000_cleanup.sql",
            "DROP TABLE orders;\n",
        ),
        (
            "CHANGED",
            "app/lib/docs.server.ts\nsupabase/migrations/20251021140000_cleanup.sql\n",
        ),
    ]);
    let (gates, out) = run_gates(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rules = out.rules();
    assert!(
        rules.iter().any(|r| r == "dev-mcp-ban/banned-import"),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|r| r == "migration-safety/drop-table"),
        "{rules:?}"
    );
    // No body and no URL: the PR-body gates and health-gate have no input here.
    assert_eq!(gates, ["dev-mcp-ban", "migration-safety"], "{gates:?}");
}

/// With a PR body, the PR-body gates run too; with a URL, health-gate.
#[test]
fn without_a_config_every_gate_whose_inputs_exist_runs() {
    let dir = repo(&[
        (
            "PR_BODY.md",
            "## MCP Evidence\nNo MCP usage - non-code change\n",
        ),
        ("CHANGED", "README.md\n"),
        ("README.md", "docs\n"),
    ]);
    let body = dir.path().join("PR_BODY.md");
    let (gates, out) = run_gates(dir.path(), &["--pr-body-file", body.to_str().unwrap()]);
    assert_eq!(
        gates,
        [
            "verify-mcp-evidence",
            "verify-heartbeat",
            "dev-mcp-ban",
            "migration-safety"
        ],
        "{}",
        out.stderr
    );
}

/// The PR's own config settings that would switch its gates off, each tried alone.
const SWITCH_OFFS: &[(&str, &str)] = &[
    ("fail-on never", "fail-on = \"never\"\n"),
    ("no gates", "gates = []\n"),
    (
        "rule off",
        "[rules]\n\"migration-safety/drop-table\" = \"off\"\n",
    ),
    ("gate off", "[rules]\n\"migration-safety\" = \"notice\"\n"),
    (
        "exempt as rollback",
        "[migration-safety]\nrollbacks = [\"supabase/migrations/*.sql\"]\n",
    ),
];

const DROP: (&str, &str) = (
    "supabase/migrations/20251021140000_cleanup.sql",
    "DROP TABLE orders;\n",
);

/// A base commit on `main` (holding `base_files`), then a PR branch that adds a `DROP TABLE`
/// migration and `pr_files`, committed.
fn pr_repo(base_files: &[(&str, &str)], pr_files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = git_repo(base_files);
    let d = dir.path();
    git(d, &["checkout", "-q", "-b", "pr"]);
    for (path, text) in pr_files.iter().chain([&DROP]) {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    commit_all(d, "the PR");
    dir
}

fn run_against_main(dir: &Path) -> Output {
    run(bin()
        .args(["run", "--format", "json", "--base", "main", "--repo"])
        .arg(dir))
}

/// The PR brings its own `.github/merge-gates.toml` that would turn its `DROP TABLE` green.
/// With the base known (`--base`), the base's policy (here: none, so the built-in defaults)
/// judges the PR, and the PR's change is a `core/config-changed` notice.
#[test]
fn a_config_added_by_the_pr_does_not_judge_the_pr() {
    for (name, toml) in SWITCH_OFFS {
        let dir = pr_repo(
            &[("README.md", "x\n")],
            &[(".github/merge-gates.toml", toml)],
        );
        let out = run_against_main(dir.path());
        assert_eq!(out.code, 1, "{name}: {}\n{}", out.stdout, out.stderr);
        let rules = out.rules();
        assert!(
            rules.iter().any(|r| r == "migration-safety/drop-table"),
            "{name}: {rules:?}"
        );
        assert!(
            rules.iter().any(|r| r == "core/config-changed"),
            "{name}: {rules:?}"
        );
    }
}

/// The base has a config (the maintainer's); the PR edits it to switch itself off.
#[test]
fn a_config_edited_by_the_pr_does_not_judge_the_pr() {
    let base = "fail-on = \"error\"\n[rules]\n\"migration-safety/drop-table\" = \"error\"\n";
    for (name, toml) in SWITCH_OFFS {
        let dir = pr_repo(
            &[(".github/merge-gates.toml", base)],
            &[(".github/merge-gates.toml", toml)],
        );
        let out = run_against_main(dir.path());
        assert_eq!(out.code, 1, "{name}: {}\n{}", out.stdout, out.stderr);
        let v = out.json();
        let changed = v["gates"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "core/config-changed")
            .unwrap_or_else(|| panic!("{name}: no config-changed notice: {v}"));
        assert_eq!(changed["severity"], "notice");
        assert_eq!(changed["path"], ".github/merge-gates.toml");
    }
}

/// Deleting the base's config in the PR does not bring the defaults (or nothing) in: the
/// base's stricter config still applies.
#[test]
fn a_config_deleted_by_the_pr_still_judges_the_pr() {
    // The base makes an unused suppression an error (default: warning); the PR deletes it.
    let base = "[rules]\n\"core/unused-suppression\" = \"error\"\n";
    let dir = git_repo(&[(".github/merge-gates.toml", base), ("README.md", "x\n")]);
    let d = dir.path();
    git(d, &["checkout", "-q", "-b", "pr"]);
    std::fs::remove_file(d.join(".github/merge-gates.toml")).unwrap();
    std::fs::create_dir_all(d.join("supabase/migrations")).unwrap();
    std::fs::write(
        d.join("supabase/migrations/20251021140000_add.sql"),
        "-- merge-gates-allow migration-safety/drop-table: nothing is dropped here\nCREATE TABLE t (id int);\n",
    )
    .unwrap();
    commit_all(d, "the PR");
    let out = run_against_main(d);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rules = out.rules();
    assert!(
        rules.iter().any(|r| r == "core/unused-suppression"),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|r| r == "core/config-changed"),
        "{rules:?}"
    );
}

/// The base's config names an evidence schema; the PR replaces that schema with `{}`, which
/// every line satisfies. The base's schema is the one used.
#[test]
fn a_policy_file_replaced_by_the_pr_does_not_judge_the_pr() {
    let schema = r#"{"type":"object","required":["tool","must_have"]}"#;
    let evidence = "artifacts/eng/2025-10-21/mcp/session.jsonl";
    let dir = git_repo(&[
        (
            ".github/merge-gates.toml",
            "[verify-mcp-evidence]\nschema = \"policy/evidence.schema.json\"\n",
        ),
        ("policy/evidence.schema.json", schema),
    ]);
    let d = dir.path();
    git(d, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(d.join("policy/evidence.schema.json"), "{}").unwrap();
    std::fs::create_dir_all(d.join("artifacts/eng/2025-10-21/mcp")).unwrap();
    std::fs::write(
        d.join(evidence),
        "{\"tool\":\"context7\",\"timestamp\":\"2025-10-21T10:00:00Z\"}\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("app")).unwrap();
    std::fs::write(d.join("app/x.ts"), "export const x = 1;\n").unwrap();
    std::fs::write(
        d.join("PR_BODY.md"),
        format!("## MCP Evidence\n- {evidence}\n"),
    )
    .unwrap();
    commit_all(d, "the PR");
    let out = run(bin()
        .args([
            "verify-mcp-evidence",
            "--format",
            "json",
            "--now",
            "2025-10-21T12:00:00Z",
            "--base",
            "main",
            "--pr-body-file",
        ])
        .arg(d.join("PR_BODY.md"))
        .arg("--repo")
        .arg(d));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let v = out.json();
    let text = v.to_string();
    assert!(
        text.contains("must_have"),
        "the base schema was not used: {text}"
    );
    let changed: Vec<&serde_json::Value> = v["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "core/config-changed")
        .collect();
    assert_eq!(changed.len(), 1, "{text}");
    assert_eq!(changed[0]["path"], "policy/evidence.schema.json");
}

/// Without a base (a local run on the working tree, no `--base`), the working tree is the
/// policy: the maintainer trying a config change locally sees it applied.
#[test]
fn without_a_base_the_working_tree_is_the_policy() {
    let dir = pr_repo(
        &[("README.md", "x\n")],
        &[(".github/merge-gates.toml", "fail-on = \"never\"\n")],
    );
    let out = run(bin()
        .args(["migration-safety", "--all", "--format", "json", "--repo"])
        .arg(dir.path()));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.rules().iter().any(|r| r == "core/config-changed"));
}

const FILES_ROUTE: &str = "/repos/Codertocat/Hello-World/pulls/2/files";

fn files_reply(paths: &[&str]) -> Reply {
    Reply::json(
        200,
        serde_json::Value::Array(
            paths
                .iter()
                .map(|p| serde_json::json!({"filename": p, "status": "added"}))
                .collect(),
        ),
    )
}

/// A GitHub PR job on the default shallow checkout: the base commit is not in the clone, so
/// the base's config is read through the contents API at the base commit, and the PR's copy
/// (`fail-on = "never"`) is not used.
#[test]
fn in_a_shallow_checkout_the_base_config_comes_from_the_api() {
    let dir = repo(&[(".github/merge-gates.toml", "fail-on = \"never\"\n"), DROP]);
    let event = pull_request_event(dir.path(), "");
    let api = Server::start(vec![
        (
            BASE_CONFIG_ROUTE,
            vec![contents_reply("fail-on = \"error\"\n")],
        ),
        (
            FILES_ROUTE,
            vec![files_reply(&[DROP.0, ".github/merge-gates.toml"])],
        ),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd.args(["migration-safety", "--format", "json"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let rules = out.rules();
    assert!(
        rules.iter().any(|r| r == "migration-safety/drop-table"),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|r| r == "core/config-changed"),
        "{rules:?}"
    );
    assert_eq!(api.count(BASE_CONFIG_ROUTE), 1);
}

/// The base has no config (the contents API answers 404): the built-in defaults judge the PR,
/// never the config the PR adds.
#[test]
fn a_base_without_a_config_means_the_defaults_not_the_prs_file() {
    let dir = repo(&[(".github/merge-gates.toml", "gates = []\n"), DROP]);
    let event = pull_request_event(dir.path(), "");
    let api = Server::start(vec![(FILES_ROUTE, vec![files_reply(&[DROP.0])])]);
    let mut cmd = bin();
    actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd.args(["run", "--format", "json"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out
        .rules()
        .iter()
        .any(|r| r == "migration-safety/drop-table"));
    assert_eq!(api.count(BASE_CONFIG_ROUTE), 1);
}

/// The base's config cannot be read (the token may not read contents): the run stops with
/// exit 2 naming the config, rather than fall back to the PR's copy.
#[test]
fn an_unreadable_base_config_stops_the_run_instead_of_using_the_prs() {
    let dir = repo(&[(".github/merge-gates.toml", "fail-on = \"never\"\n"), DROP]);
    let event = pull_request_event(dir.path(), "");
    let api = Server::start(vec![
        (
            BASE_CONFIG_ROUTE,
            vec![Reply::json(
                403,
                serde_json::json!({"message": "Resource not accessible by integration"}),
            )],
        ),
        (FILES_ROUTE, vec![files_reply(&[DROP.0])]),
    ]);
    let mut cmd = bin();
    actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd.args(["migration-safety", "--format", "json"]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("merge-gates.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 403"), "{}", out.stderr);
}

/// A full clone (`fetch-depth: 0`): the base commit is in the clone and is read with git; the
/// API is not asked.
#[test]
fn in_a_full_clone_the_base_config_comes_from_git() {
    let dir = pr_repo(
        &[(".github/merge-gates.toml", "fail-on = \"error\"\n")],
        &[(".github/merge-gates.toml", "fail-on = \"never\"\n")],
    );
    let base = git(dir.path(), &["rev-parse", "main"]);
    let event = pull_request_event(dir.path(), "");
    let mut payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&event).unwrap()).unwrap();
    payload["pull_request"]["base"]["sha"] = serde_json::json!(base);
    std::fs::write(&event, payload.to_string()).unwrap();
    let api = Server::start(vec![(FILES_ROUTE, vec![files_reply(&[DROP.0])])]);
    let mut cmd = bin();
    actions(&mut cmd, dir.path(), &event, &api.url);
    let out = run(cmd.args(["migration-safety", "--format", "json"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.rules().iter().any(|r| r == "core/config-changed"));
    assert_eq!(api.count(BASE_CONFIG_ROUTE), 0);
}

/// The summary shows what the PR changes of the policy: each setting with the base's value and
/// the PR's.
#[test]
fn the_summary_lists_the_settings_the_pr_changes() {
    let dir = pr_repo(
        &[(".github/merge-gates.toml", "fail-on = \"error\"\n")],
        &[(
            ".github/merge-gates.toml",
            "fail-on = \"never\"\n[rules]\n\"migration-safety\" = \"off\"\n",
        )],
    );
    let summary = dir.path().join("summary.md");
    let out = run(bin()
        .args(["migration-safety", "--base", "main", "--repo"])
        .arg(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(&summary).unwrap();
    // The summary writes punctuation as character references; read it back as text.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("&") {
        plain.push_str(&rest[..i]);
        let end = rest[i..].find(';').map(|e| i + e);
        let entity = end.map(|e| &rest[i + 1..e]);
        let ch = match entity {
            Some("quot") => Some('"'),
            Some("amp") => Some('&'),
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some(e) if e.starts_with('#') => e[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match (ch, end) {
            (Some(c), Some(e)) => {
                plain.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                plain.push('&');
                rest = &rest[i + 1..];
            }
        }
    }
    plain.push_str(rest);
    let text = plain;
    for want in [
        "fail-on",
        "\"error\"",
        "\"never\"",
        "rules.migration-safety",
        "(unset)",
        "\"off\"",
    ] {
        assert!(text.contains(want), "summary lacks {want}:\n{text}");
    }
}

/// "No MCP usage - non-code change" on a PR that changes code outside the six folders that
/// used to be the only code (`app/`, `src/`, `server/`, `lib/`, `packages/`, `scripts/`): every
/// changed file is code unless it is documentation, text, an image, the license or a template.
#[test]
fn a_code_change_outside_the_usual_folders_is_not_a_non_code_change() {
    let code = [
        "backend/src/main.py",
        "apps/web/page.tsx",
        "services/api/handler.go",
        "supabase/migrations/20251021140000_x.sql",
        "prisma/schema.prisma",
        "Dockerfile",
        ".github/workflows/ci.yml",
    ];
    let exempt = [
        "README.md",
        "docs/guide.html",
        "assets/logo.png",
        "LICENSE",
        ".github/pull_request_template.md",
    ];
    let check = |changed: &[&str]| {
        let mut files = vec![
            (
                "PR_BODY.md",
                "## MCP Evidence\nNo MCP usage - non-code change\n".to_string(),
            ),
            ("CHANGED", changed.join("\n")),
        ];
        files.extend(changed.iter().map(|p| (*p, "x\n".to_string())));
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let dir = repo(&files);
        run(bin()
            .args(["verify-mcp-evidence", "--format", "json", "--repo"])
            .arg(dir.path())
            .arg("--pr-body-file")
            .arg(dir.path().join("PR_BODY.md"))
            .arg("--changed-files")
            .arg(dir.path().join("CHANGED")))
    };
    for path in code {
        let out = check(&[path]);
        assert_eq!(out.code, 1, "{path}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.rules()
                .iter()
                .any(|r| r == "mcp-evidence/false-exemption"),
            "{path}: {:?}",
            out.rules()
        );
    }
    let out = check(&exempt);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// An empty evidence file, listed and committed, was "evidence" of a PR's work. By default a
/// PR's evidence must hold at least one entry (`min-entries`; `init` writes 4).
#[test]
fn an_empty_evidence_file_is_not_evidence() {
    let evidence = "artifacts/eng/2025-10-21/mcp/session.jsonl";
    let dir = repo(&[
        (evidence, ""),
        ("app/x.ts", "export const x = 1;\n"),
        ("PR_BODY.md", &format!("## MCP Evidence\n- {evidence}\n")),
        ("CHANGED", &format!("app/x.ts\n{evidence}\n")),
    ]);
    let out = run(bin()
        .args(["verify-mcp-evidence", "--format", "json", "--repo"])
        .arg(dir.path())
        .arg("--pr-body-file")
        .arg(dir.path().join("PR_BODY.md"))
        .arg("--changed-files")
        .arg(dir.path().join("CHANGED")));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.rules()
            .iter()
            .any(|r| r == "mcp-evidence/too-few-entries"),
        "{:?}",
        out.rules()
    );
}
