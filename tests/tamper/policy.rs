//! Policy the PR cannot switch off: what runs, and at what strength, when the PR brings (or
//! removes) the config.

use crate::support::{bin, repo, run, Output};
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
