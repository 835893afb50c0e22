//! The rule registry, tested from the one table: every rule has real docs, a flagged fixture
//! that produces it and a passing fixture that does not, and the flagged findings are
//! snapshotted so a message change shows up in review.
//!
//! A fixture is a directory `tests/fixtures/<rule-id>/{flagged,passing}/` holding a small
//! repository and a file `args`: the command line after `merge-gates`, one argument per line.
//! `{dir}` stands for the fixture's copy and `{api}` for the URL of the GitHub API stand-in.
//! Optional files: `event.json` (runs as a GitHub Actions `pull_request` job with that payload;
//! `event_name` overrides the event) and `api.json` (`{"GET /path": [{"status":…, "body":…,
//! "text":…, "delay_ms":…, "headers":{…}}, …]}`: the stand-in's scripted replies; `body` is
//! sent as JSON, `text` verbatim), and `tls` (an HTTPS server with the certificate of
//! `tests/fixtures/tls`, as `{tls}` in `args`).

mod support;

use std::path::Path;
use support::{bin, root, run, Reply, Server};

fn rule_ids() -> Vec<String> {
    let out = run(bin().arg("rules"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn every_rule_has_docs_with_the_four_sections() {
    let mut missing = Vec::new();
    for id in rule_ids() {
        let out = run(bin().args(["explain", &id]));
        let docs = out.stdout;
        for heading in [
            format!("# {id}\n"),
            "## What it finds".into(),
            "## Why it matters".into(),
            "## Example".into(),
            "## How to fix".into(),
        ] {
            if !docs.contains(&heading) {
                missing.push(format!("{id}: no `{}`", heading.trim()));
            }
        }
        if docs.contains("TODO") {
            missing.push(format!("{id}: docs still say TODO"));
        }
    }
    assert!(
        missing.is_empty(),
        "rule docs incomplete:\n{}",
        missing.join("\n")
    );
}

#[test]
fn rule_ids_are_kebab_case_under_their_gate() {
    let re = regex::Regex::new(r"^(core|mcp-evidence|heartbeat|dev-mcp-ban|migration-safety|health-gate)/[a-z0-9]+(-[a-z0-9]+)*$").unwrap();
    for id in rule_ids() {
        assert!(re.is_match(&id), "bad rule id {id}");
    }
}

#[test]
fn every_rule_has_a_flagged_and_a_passing_fixture() {
    let mut failures = Vec::new();
    for id in rule_ids() {
        for kind in ["flagged", "passing"] {
            let dir = root().join("tests/fixtures").join(&id).join(kind);
            if !dir.join("args").is_file() {
                failures.push(format!("{id}: no {kind} fixture ({})", dir.display()));
                continue;
            }
            let (out, rules) = run_fixture(&dir);
            let hit = rules.iter().any(|r| r == &id);
            match kind {
                "flagged" if !hit => failures.push(format!(
                    "{id}: flagged fixture does not produce it; got {rules:?}\n{}",
                    out
                )),
                "passing" if hit => {
                    failures.push(format!("{id}: passing fixture still produces it\n{}", out))
                }
                "flagged" => insta::assert_snapshot!(id.replace('/', "__"), out),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Run one fixture; returns a stable rendering of its findings and their rule ids.
fn run_fixture(src: &Path) -> (String, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    support::copy_dir(src, &dir);
    let server = dir.join("api.json").is_file().then(|| {
        let mut spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("api.json")).unwrap()).unwrap();
        // A fixture's config is its base's too (the event's base commit is not in the fixture,
        // so policy is read through the contents API), unless the fixture says otherwise.
        let config = dir.join(".github/merge-gates.toml");
        let event: serde_json::Value = std::fs::read_to_string(dir.join("event.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let full = event["repository"]["full_name"]
            .as_str()
            .unwrap_or("octo/demo");
        let route = format!("GET /repos/{full}/contents/.github/merge-gates.toml");
        let route = route.as_str();
        if config.is_file() && spec.get(route).is_none() {
            let reply = support::contents_reply(&std::fs::read_to_string(&config).unwrap());
            spec[route] = serde_json::json!([{"status": reply.status, "text": reply.body}]);
        }
        let routes = spec
            .as_object()
            .unwrap()
            .iter()
            .map(|(route, replies)| {
                let replies = replies
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let mut reply = Reply::json(
                            r["status"].as_u64().unwrap_or(200) as u16,
                            r["body"].clone(),
                        );
                        if let Some(text) = r["text"].as_str() {
                            reply.body = text.to_string();
                        }
                        reply.delay =
                            std::time::Duration::from_millis(r["delay_ms"].as_u64().unwrap_or(0));
                        for (k, v) in r["headers"].as_object().into_iter().flatten() {
                            reply = reply.header(k, v.as_str().unwrap());
                        }
                        reply
                    })
                    .collect();
                (route.as_str(), replies)
            })
            .collect::<Vec<_>>();
        // Leak the route strings for the server's lifetime; fixtures are few.
        let routes: Vec<(&'static str, Vec<Reply>)> = routes
            .into_iter()
            .map(|(k, v)| (&*Box::leak(k.to_string().into_boxed_str()), v))
            .collect();
        Server::start(routes)
    });
    let api = server
        .as_ref()
        .map_or("http://127.0.0.1:9".to_string(), |s| s.url.clone());
    // `tls` in the fixture: an HTTPS server with the fixture certificate, as `{tls}`.
    let tls = match dir.join("tls").is_file() {
        true => support::tls::fixture_server(),
        false => String::new(),
    };
    let args: Vec<String> = std::fs::read_to_string(dir.join("args"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.replace("{dir}", dir.to_str().unwrap())
                .replace("{api}", &api)
                .replace("{tls}", &tls)
        })
        .collect();
    let mut cmd = bin();
    cmd.args(&args)
        .args(["--repo", dir.to_str().unwrap(), "--format", "json"])
        .current_dir(&dir);
    if dir.join("event.json").is_file() {
        let name = std::fs::read_to_string(dir.join("event_name"))
            .unwrap_or_else(|_| "pull_request".into());
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", name.trim())
            .env("GITHUB_EVENT_PATH", dir.join("event.json"))
            .env("GITHUB_API_URL", &api)
            .env("GITHUB_REPOSITORY", "octo/demo")
            .env("GITHUB_TOKEN", "ghs_fixtureTOKEN0123456789");
    }
    let out = run(&mut cmd);
    assert!(
        out.code == 0 || out.code == 1,
        "{}: exit {}\nstdout:\n{}\nstderr:\n{}",
        src.display(),
        out.code,
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("ghs_fixtureTOKEN") && !out.stderr.contains("ghs_fixtureTOKEN"),
        "token leaked"
    );
    let json = out.json();
    let mut lines = Vec::new();
    let mut rules = Vec::new();
    for g in json["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            rules.push(f["rule"].as_str().unwrap().to_string());
            let place = match f["path"].as_str() {
                Some(p) => format!("{p}:{}:{}", f["line"], f["column"]),
                None => "PR".into(),
            };
            let msg = f["message"]
                .as_str()
                .unwrap()
                .replace(dir.to_str().unwrap(), "{dir}");
            let msg = health_gate_stable(src, &msg, &api);
            lines.push(format!(
                "{} {} [{}] {}",
                place,
                f["severity"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                msg
            ));
        }
    }
    (format!("exit {}\n{}", out.code, lines.join("\n")), rules)
}

/// health-gate messages carry the stand-in's URL and measured times: make them stable.
fn health_gate_stable(src: &Path, msg: &str, api: &str) -> String {
    if !src.starts_with(root().join("tests/fixtures/health-gate")) {
        return msg.to_string();
    }
    let times = regex::Regex::new(r"\b\d+(\.\d+)?(ms|s)\b").unwrap();
    // A certificate's time left changes by the day, and the TLS server's port by the run.
    let days = regex::Regex::new(r"\b\d+(\.\d+)? days from now").unwrap();
    let port = regex::Regex::new(r"https://127\.0\.0\.1:\d+").unwrap();
    let msg = msg.replace(api, "{api}");
    let msg = times.replace_all(&msg, "<time>");
    let msg = days.replace_all(&msg, "<n> days from now");
    port.replace_all(&msg, "https://127.0.0.1:<port>")
        .into_owned()
}

#[test]
fn the_readme_lists_every_rule() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let missing: Vec<String> = rule_ids()
        .into_iter()
        .filter(|id| !readme.contains(&format!("[`{id}`](docs/rules/{id}.md)")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md has no row for: {}",
        missing.join(", ")
    );
}

#[test]
fn the_readme_config_example_is_a_valid_config() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let toml = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has a ```toml example");
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("merge-gates.toml");
    std::fs::write(&config, toml).unwrap();
    std::fs::write(tmp.path().join("body.md"), "## MCP Evidence\n").unwrap();
    // The example names the repository's own evidence schema: give it the built-in one.
    std::fs::create_dir_all(tmp.path().join(".github")).unwrap();
    let schema = run(bin().args(["schema", "evidence"])).stdout;
    std::fs::write(tmp.path().join(".github/evidence.schema.json"), schema).unwrap();
    let out = run(bin()
        .arg("verify-mcp-evidence")
        .arg("--config")
        .arg(&config)
        .arg("--repo")
        .arg(tmp.path())
        .arg("--pr-body-file")
        .arg(tmp.path().join("body.md")));
    assert!(
        out.code == 0 || out.code == 1,
        "README config example rejected: {}",
        out.stderr
    );
}

/// `explain` takes a rule's full id, the part after its gate when one rule has it, or a gate
/// (by its command or its rule prefix) to list its rules; a short name two gates share lists
/// the candidates.
#[test]
fn explain_resolves_short_names_and_gates() {
    let out = run(bin().args(["explain", "drop-column"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("# migration-safety/drop-column\n"));
    for gate in [
        "migration-safety",
        "dev-mcp-ban",
        "mcp-evidence",
        "verify-mcp-evidence",
    ] {
        let out = run(bin().args(["explain", gate]));
        assert_eq!(out.code, 0, "{gate}: {}", out.stderr);
        assert!(out.stdout.lines().count() > 2, "{gate}: {}", out.stdout);
    }
    let out = run(bin().args(["explain", "invalid-json"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mcp-evidence/invalid-json")
            && out.stderr.contains("heartbeat/invalid-json")
    );
    let out = run(bin().args(["explain", "no-such-rule"]));
    assert_eq!(out.code, 2);
}

#[test]
fn rules_prints_json_and_each_subcommand_takes_only_the_flags_it_reads() {
    let out = run(bin().args(["rules", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<String> = listed
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, rule_ids());
    assert!(listed.iter().all(|r| r["severity"].is_string()
        && r["summary"].is_string()
        && r["docs"].as_str().unwrap().ends_with(".md")));
    // Flags a subcommand does not read are usage errors, and its help does not list them.
    for args in [
        &["schema", "config", "--sarif", "x.sarif"][..],
        &["rules", "--repo", "."],
        &["explain", "drop-table", "--format", "json"],
        &["init", "--fail-on", "never"],
    ] {
        let out = run(bin().args(args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
    }
    let help = run(bin().args(["rules", "--help"])).stdout;
    assert!(
        help.contains("--format") && !help.contains("--repo"),
        "{help}"
    );
    let help = run(bin().args(["migration-safety", "--help"])).stdout;
    assert!(
        help.contains("--repo") && help.contains("--pg-version"),
        "{help}"
    );
}
