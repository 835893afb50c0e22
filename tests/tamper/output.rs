//! Output that untrusted text cannot steer: what the PR controls (config values, file names,
//! SQL identifiers, action inputs) is printed escaped on stderr and in text output, inert in the
//! step summary, and can neither add step outputs nor make one step's `report` output point at
//! another step's report; a tampered tool cache is not run.

use crate::support::install::{installed, release, Runner, PLATFORMS};
use crate::support::{bin, repo, root, run, Output};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The lines the runner would take as workflow commands (`::name …`, leading blanks allowed)
/// that merge-gates did not write: anything but its own titled annotations and the
/// `stop-commands` pair of the log.
fn foreign_commands(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("::"))
        .filter(|l| {
            let ours = ["::error ", "::warning ", "::notice "]
                .iter()
                .any(|p| l.starts_with(p))
                && l.contains("title=merge-gates");
            let stop_pair =
                l.starts_with("::stop-commands::") || (l.ends_with("::") && l.len() == 36);
            !ours && !stop_pair
        })
        .map(str::to_string)
        .collect()
}

/// The binary as a GitHub Actions step on `dir` (no PR event: a push), with its own summary,
/// output file and temp directory under `step`.
fn step(dir: &Path, step: &Path, args: &[&str]) -> Output {
    std::fs::create_dir_all(step).unwrap();
    let list = dir.join("changed.txt");
    if !list.exists() {
        std::fs::write(&list, "").unwrap();
    }
    let mut cmd = bin();
    cmd.args(args)
        .arg("--changed-files")
        .arg(&list)
        .arg("--repo")
        .arg(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", dir)
        .env("GITHUB_STEP_SUMMARY", step.join("summary.md"))
        .env("GITHUB_OUTPUT", step.join("output"))
        .env("RUNNER_TEMP", step.parent().unwrap())
        .env_remove("MERGE_GATES_DATABASE_URL");
    run(&mut cmd)
}

/// `$GITHUB_OUTPUT` as the runner reads it: `name=value` lines and `name<<DELIM` blocks.
fn outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some((k, delim)) = l.split_once("<<") {
            let mut v = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                v.push(l);
            }
            out.insert(k.to_string(), v.join("\n"));
        } else if let Some((k, v)) = l.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

#[test]
fn config_value_with_newlines_prints_no_workflow_command_on_exit_2() {
    let dir = repo(&[(
        ".github/merge-gates.toml",
        "gates = [\"dev-mcp-ban\\n::add-mask::hunter2\\n::warning title=merge-gates::all green\"]\n",
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let out = step(
        dir.path(),
        &tmp.path().join("s"),
        &["run", "--format", "github"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("add-mask"), "{}", out.stderr);
    let foreign = foreign_commands(&format!("{}\n{}", out.stdout, out.stderr));
    assert!(foreign.is_empty(), "{foreign:?}\n{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
}

#[test]
fn escape_bytes_in_a_suppressed_path_are_made_visible() {
    let name = "supabase/migrations/20251021000000_\u{1b}[2J\u{1b}]0;owned\u{7}.sql";
    let dir = repo(&[(
        name,
        "-- merge-gates-allow migration-safety/drop-table: the table was never used\nDROP TABLE users;\n",
    )]);
    std::fs::write(dir.path().join("changed.txt"), format!("{name}\n")).unwrap();
    let mut cmd = bin();
    cmd.args(["migration-safety", "--format", "text", "--changed-files"])
        .arg(dir.path().join("changed.txt"))
        .arg("--repo")
        .arg(dir.path())
        .env_remove("MERGE_GATES_DATABASE_URL");
    let out = run(&mut cmd);
    assert!(
        out.stdout.contains("suppressed"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    for c in ['\u{1b}', '\u{7}'] {
        assert!(
            !out.stdout.contains(c) && !out.stderr.contains(c),
            "raw {c:?} in {:?}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("\\u{1b}[2J"), "{}", out.stdout);
}

#[test]
fn markdown_in_paths_and_sql_identifiers_does_not_render_in_the_summary() {
    let name = "supabase/migrations/20251021000000_![pixel](https:__evil.example_t.png)<agent>.sql";
    let dir = repo(&[(
        name,
        "DROP TABLE \"a`b **bold** [link](https://evil.example/x) <img src=x>\";\n",
    )]);
    std::fs::write(dir.path().join("changed.txt"), format!("{name}\n")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    let out = step(dir.path(), &s, &["migration-safety", "--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let summary = std::fs::read_to_string(s.join("summary.md")).unwrap();
    let findings: Vec<&str> = summary
        .lines()
        .filter(|l| l.contains("drop-table"))
        .collect();
    assert!(!findings.is_empty(), "{summary}");
    for line in &findings {
        // No image, link, emphasis, raw HTML or code span comes from the untrusted text.
        for live in [
            "![",
            "](https:__",
            "](https://evil",
            "**bold**",
            "<img",
            "<agent>",
            "a`b",
        ] {
            assert!(!line.contains(live), "`{live}` is live in {line}");
        }
    }
    // The path shows literally: `<agent>` inside <code>, HTML-escaped.
    assert!(
        findings
            .iter()
            .any(|l| l.contains("<code>") && l.contains("&lt;agent&gt;")),
        "{summary}"
    );
}

#[test]
fn a_sarif_file_input_with_a_newline_cannot_add_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let gh_output = tmp.path().join("output");
    std::fs::write(&gh_output, "").unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/action-run.sh"))
        .env("MG_COMMAND", "health-gate")
        .env("MG_SARIF_FILE", "report.sarif\nhealthy=true")
        .env("MG_PRINT_ARGS", "1")
        .env("GITHUB_OUTPUT", &gh_output)
        .output()
        .unwrap();
    let written = std::fs::read_to_string(&gh_output).unwrap();
    let parsed = outputs(&written);
    assert!(!parsed.contains_key("healthy"), "{written:?} → {parsed:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(foreign_commands(&stdout).is_empty(), "{stdout}");
}

#[test]
fn an_input_with_a_newline_cannot_start_a_workflow_command() {
    let out = Command::new("bash")
        .arg(root().join("scripts/action-run.sh"))
        .env("MG_COMMAND", "migration-safety")
        .env("MG_ALL", "maybe\n::add-mask::hunter2\n::warning::all green")
        .env("MG_PRINT_ARGS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("add-mask"), "{stdout}");
    assert!(foreign_commands(&stdout).is_empty(), "{stdout}");
}

#[test]
fn each_step_report_output_points_at_its_own_report() {
    let dir = repo(&[("app/ok.ts", "export const ok = 1;\n")]);
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let first = step(dir.path(), &one, &["migration-safety", "--format", "json"]);
    let second = step(dir.path(), &two, &["dev-mcp-ban", "--format", "json"]);
    assert_eq!(
        (first.code, second.code),
        (0, 0),
        "{}{}",
        first.stderr,
        second.stderr
    );
    let report = |s: &Path| {
        let o = outputs(&std::fs::read_to_string(s.join("output")).unwrap());
        o.get("report").cloned().expect("a report output")
    };
    let (r1, r2) = (report(&one), report(&two));
    assert_ne!(r1, r2, "both steps' `report` outputs name one file");
    let gates = |p: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["gates"][0]["gate"].as_str().unwrap().to_string()
    };
    assert_eq!(gates(&r1), "migration-safety");
    assert_eq!(gates(&r2), "dev-mcp-ban");
}

#[test]
fn a_tampered_cached_binary_is_not_run() {
    let runner = Runner::new();
    let server = release(&runner);
    let asset = PLATFORMS[0].2;
    let first = runner.install("Linux", "X64", &server, &[]);
    assert_eq!(first.code, 0, "{}", first.log);
    // Something with write access to the tool cache swaps the binary (archive.sha256 untouched).
    let cached = runner
        .path("cache/merge-gates")
        .join("v9.9.9/x86_64-unknown-linux-musl/bin/merge-gates");
    std::fs::write(&cached, "#!/bin/sh\necho evil\n").unwrap();
    let second = runner.install("Linux", "X64", &server, &[]);
    assert_eq!(second.code, 0, "{}", second.log);
    assert_eq!(installed(&second, "merge-gates"), asset, "{}", second.log);
    assert!(second.log.contains("does not match"), "{}", second.log);
    // Intact, the cache is used without a download.
    let third = runner.install("Linux", "X64", &server, &[]);
    assert!(third.log.contains("from the tool cache"), "{}", third.log);
    assert_eq!(installed(&third, "merge-gates"), asset);
}
