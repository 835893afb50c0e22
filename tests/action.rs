//! The composite actions' run step (`scripts/action-run.sh`) and metadata: inputs become one
//! argument vector without any shell evaluation, multi-line inputs become repeated flags, the
//! secret stays off the command line, and every input an action declares reaches the script
//! through `env:`. One end-to-end run drives the built binary through the script as a step
//! would and reads the step outputs it writes.

mod support;

use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::{root, Reply, Server};

fn script(env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/action-run.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("MG_PRINT_ARGS", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn inputs_become_an_argument_vector_without_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let hostile = format!("$(touch {}); `touch {}`", pwned.display(), pwned.display());
    let (code, args, err) = script(&[
        ("MG_COMMAND", "health-gate"),
        ("GITHUB_WORKSPACE", dir.path().to_str().unwrap()),
        ("MG_FAIL_ON", "warning"),
        ("MG_CONFIG", ""),
        (
            "MG_URL",
            "  https://a.example/health  \n\nhttps://b.example/ok\n",
        ),
        (
            "MG_EXPECT_JSON",
            "status == \"healthy\"\nchecks.database.status == \"healthy\"",
        ),
        ("MG_ENVIRONMENT", &hostile),
        ("MG_FOLLOW_REDIRECTS", "True"),
        ("MG_CHANGED_ONLY", "false"),
        ("MERGE_GATES_DATABASE_URL", "postgres://u:secret@db/x"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        args,
        [
            "health-gate",
            "--fail-on",
            "warning",
            "--url",
            "https://a.example/health",
            "--url",
            "https://b.example/ok",
            "--expect-json",
            "status == \"healthy\"",
            "--expect-json",
            "checks.database.status == \"healthy\"",
            "--environment",
            hostile.as_str(),
            "--follow-redirects",
        ]
    );
    assert!(!pwned.exists(), "an input was evaluated by the shell");
    assert!(
        !args.iter().any(|a| a.contains("secret")),
        "the secret is not an argument"
    );
}

#[test]
fn working_directory_bools_and_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub dir")).unwrap();
    let ws = dir.path().to_str().unwrap();
    let (code, args, err) = script(&[
        ("MG_COMMAND", "migration-safety"),
        ("GITHUB_WORKSPACE", ws),
        ("MG_WORKING_DIRECTORY", "sub dir"),
        ("MG_ALL", "true"),
        ("MG_PG_VERSION", "15"),
        ("MG_FILTER", "added"),
        ("MG_REPORTER", "check-run"),
    ]);
    assert_eq!(code, 0, "{err}");
    let repo = format!("{ws}/sub dir");
    assert_eq!(
        args,
        [
            "migration-safety",
            "--repo",
            repo.as_str(),
            "--reporter",
            "check-run",
            "--filter",
            "added",
            "--all",
            "--pg-version",
            "15"
        ]
    );
    let (code, args, _) = script(&[("MG_COMMAND", "dev-mcp-ban"), ("MG_CHANGED_ONLY", "maybe")]);
    assert_eq!(code, 2);
    assert!(args[0].starts_with("::error"), "{args:?}");
    let (code, args, _) = script(&[
        ("MG_COMMAND", "run"),
        ("GITHUB_WORKSPACE", ws),
        ("MG_WORKING_DIRECTORY", "missing"),
    ]);
    assert_eq!(code, 2);
    assert!(args[0].contains("not a directory"));
}

/// The `name:` keys of a top-level YAML mapping (`inputs:` or `outputs:`) of an action.yml.
fn keys(text: &str, section: &str) -> Vec<String> {
    let Some(body) = text.split(&format!("\n{section}:\n")).nth(1) else {
        return vec![];
    };
    body.lines()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_string())
        .collect()
}

#[test]
fn every_action_passes_each_input_through_env_and_exposes_the_outputs() {
    let mut actions = vec![root().join("action.yml")];
    for gate in [
        "verify-mcp-evidence",
        "verify-heartbeat",
        "dev-mcp-ban",
        "migration-safety",
        "health-gate",
    ] {
        actions.push(root().join("actions").join(gate).join("action.yml"));
    }
    let kebab = regex::Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$").unwrap();
    for path in &actions {
        let text = std::fs::read_to_string(path).unwrap();
        let inputs = keys(&text, "inputs");
        assert!(
            inputs.contains(&"github-token".to_string()),
            "{}",
            path.display()
        );
        for i in &inputs {
            assert!(kebab.is_match(i), "{}: input {i}", path.display());
            assert_eq!(
                text.matches(&format!("${{{{ inputs.{i} }}}}")).count(),
                1,
                "{}: input {i} must reach a script through env: exactly once",
                path.display()
            );
        }
        for o in keys(&text, "outputs") {
            assert!(
                text.contains(&format!("value: ${{{{ steps.run.outputs.{o} }}}}")),
                "{}: output {o}",
                path.display()
            );
        }
        assert!(text.contains("using: composite"));
        assert!(text.contains("scripts/install.sh\"") && text.contains("scripts/action-run.sh\""));
    }
    let health = std::fs::read_to_string(&actions[5]).unwrap();
    for o in [
        "verdict",
        "errors",
        "warnings",
        "report",
        "healthy",
        "attempts",
        "latency-ms",
        "status",
    ] {
        assert!(
            keys(&health, "outputs").contains(&o.to_string()),
            "health-gate output {o}"
        );
    }
}

#[test]
fn a_step_run_through_the_script_writes_the_outputs() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    let mcp = r.join("artifacts/eng/2025-10-21/mcp");
    std::fs::create_dir_all(&mcp).unwrap();
    std::fs::write(mcp.join("bad.jsonl"), "{\"tool\": \n").unwrap();
    let body = "## MCP Evidence\n- artifacts/eng/2025-10-21/mcp/bad.jsonl\n";
    let event = support::pull_request_event(r, body);
    let api = Server::start(vec![
        (
            "/repos/Codertocat/Hello-World/pulls/2",
            vec![Reply::json(200, json!({"number": 2, "body": body}))],
        ),
        (
            "/repos/Codertocat/Hello-World/pulls/2/files",
            vec![Reply::json(
                200,
                json!([{"filename": "app/x.ts", "status": "added"}, {"filename": "artifacts/eng/2025-10-21/mcp/bad.jsonl", "status": "added"}]),
            )],
        ),
    ]);
    let temp = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/action-run.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("MERGE_GATES_BIN", env!("CARGO_BIN_EXE_merge-gates"))
        .env("MG_COMMAND", "verify-mcp-evidence")
        .env("MG_SARIF_FILE", temp.path().join("out.sarif"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event)
        .env("GITHUB_API_URL", &api.url)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_TOKEN", "ghs_SECRETtoken000000000000000000")
        .env("GITHUB_WORKSPACE", r)
        .env("GITHUB_OUTPUT", temp.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", temp.path().join("summary"))
        .env("RUNNER_TEMP", temp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("::error file=artifacts/eng/2025-10-21/mcp/bad.jsonl"));
    let outputs = std::fs::read_to_string(temp.path().join("output")).unwrap();
    for line in [
        "verdict=fail",
        "errors=1",
        "warnings=0",
        "sarif-file<<ghadelimiter_",
    ] {
        assert!(outputs.contains(line), "{line} in {outputs}");
    }
    // The report has a name of its own per step, in $RUNNER_TEMP.
    let report = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report="))
        .expect("a report output");
    assert!(
        Path::new(report).parent() == Some(temp.path())
            && report.contains("merge-gates-report-")
            && report.ends_with(".json"),
        "{report}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(temp.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!stdout.contains("ghs_SECRET"));
    assert!(Path::new(&report).is_file());
}

/// Every `health-gate` flag is an input of its action (issue 17: several existed only as flags
/// or config keys), passed through `env:` only, and the script turns each input into its flag.
/// A flag added later without an input fails here. (Written first on the health-analysis
/// branch; ported to the shape of main.)
#[test]
fn every_health_gate_flag_is_an_action_input() {
    let help = support::run(support::bin().args(["health-gate", "--help"])).stdout;
    let flag = regex::Regex::new(r"(?m)^\s+(?:-\w, )?--([a-z0-9-]+)").unwrap();
    // The gate's own flags start at --url; the common ones before it have inputs of their own.
    let gate_flags = &help[help.find("--url").expect("--url in the help") - 2..];
    let action = std::fs::read_to_string(root().join("actions/health-gate/action.yml")).unwrap();
    let inputs = keys(&action, "inputs");
    let runner = std::fs::read_to_string(root().join("scripts/action-run.sh")).unwrap();
    let mut seen = 0;
    for c in flag.captures_iter(gate_flags) {
        let f = &c[1];
        if f == "help" {
            continue;
        }
        seen += 1;
        assert!(inputs.contains(&f.to_string()), "no input for --{f}");
        let var = format!("MG_{}", f.to_uppercase().replace('-', "_"));
        assert!(
            action.contains(&format!("{var}: ${{{{ inputs.{f} }}}}")),
            "input {f} is not passed as {var}"
        );
        assert!(
            runner.contains(&format!(" {f} \"${{{var}:-}}\"")),
            "action-run.sh does not turn {var} into --{f}"
        );
    }
    assert!(
        seen >= 27,
        "the help lists the gate's flags: {seen}\n{help}"
    );
    let (code, args, err) = script(&[
        ("MG_COMMAND", "health-gate"),
        ("MG_SAMPLES", "100"),
        ("MG_MIN_SUCCESS_RATE", "99"),
        (
            "MG_HEADER_FROM_ENV",
            "Authorization=HEALTH_TOKEN\n\nX-Key=KEY\n",
        ),
        ("MG_INSECURE", "false"),
        ("MG_CERT_MIN_DAYS", "30"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        args,
        [
            "health-gate",
            "--samples",
            "100",
            "--min-success-rate",
            "99",
            "--header-from-env",
            "Authorization=HEALTH_TOKEN",
            "--header-from-env",
            "X-Key=KEY",
            "--cert-min-days",
            "30",
        ]
    );
}
