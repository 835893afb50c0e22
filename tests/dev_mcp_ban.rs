//! End-to-end tests of `dev-mcp-ban`: the built binary against small repositories written into
//! temp dirs. They cover every import form (with exact lines and columns), text that only looks
//! like an import (the original grep's false positives), nested template literals, Python,
//! package.json dependencies, allowed paths and packages, suppressions, changed-only mode,
//! ignore files, binary/oversized/symlinked files, and the text, JSON and GitHub output of one
//! finding.

mod support;

use std::path::Path;
use support::{bin, repo, run, Output};

fn gate(dir: &Path, args: &[&str]) -> Output {
    run(bin()
        .arg("dev-mcp-ban")
        .arg("--repo")
        .arg(dir)
        .args(["--format", "json"])
        .args(args))
}

/// `rule path:line:col-end_col` of every finding.
fn found(out: &Output) -> Vec<String> {
    let v = out.json();
    let mut got = Vec::new();
    for g in v["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            got.push(format!(
                "{} {}:{}:{}-{}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap_or("PR"),
                f["line"],
                f["column"],
                f["end_column"]
            ));
        }
    }
    got.sort();
    got
}

/// The findings of the gate on a repository of `files`, with the default config.
fn found_in(files: &[(&str, &str)]) -> Vec<String> {
    let dir = repo(files);
    found(&gate(dir.path(), &[]))
}

fn suppressed(out: &Output) -> Vec<String> {
    out.json()["gates"][0]["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}:{} {}",
                s["rule"].as_str().unwrap(),
                s["path"].as_str().unwrap(),
                s["line"],
                s["reason"].as_str().unwrap()
            )
        })
        .collect()
}

const IMPORT: &str = "dev-mcp-ban/banned-import";

#[test]
fn every_import_form_is_found_at_its_specifier() {
    let ts = r#"import { Client } from "@shopify/dev-mcp";
import "context7-mcp";
import * as c7 from '@upstash/context7-mcp/server';
import {
  Tools,
  type Tool,
} from "chrome-devtools-mcp";
export * from "@shopify/dev-mcp/tools";
export { a, b as c } from "@acme/my-dev-mcp-server";
const lazy = await import("@shopify/dev-mcp");
const req = require("@SHOPIFY/DEV-MCP");
import legacy = require("context7-mcp");
import fine from "@shopify/polaris";
"#;
    let dir = repo(&[
        ("app/lib/all.ts", ts),
        ("app/esm.mjs", "import x from \"@shopify/dev-mcp\";\n"),
        ("app/cjs.cjs", "const x = require('chrome-devtools-mcp');\n"),
        (
            "app/ui.tsx",
            "import { A } from \"Context7-MCP\";\nexport const B = () => <p>Don't</p>;\n",
        ),
        ("app/x.mts", "export * as m from \"@shopify/dev-mcp\";\n"),
        ("app/x.cts", "import y = require(\"@shopify/dev-mcp\");\n"),
        ("app/x.jsx", "const z = import(`@shopify/dev-mcp`);\n"),
    ]);
    let out = gate(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        found(&out),
        [
            format!("{IMPORT} app/cjs.cjs:1:20-38"),
            format!("{IMPORT} app/esm.mjs:1:16-31"),
            format!("{IMPORT} app/lib/all.ts:10:28-43"),
            format!("{IMPORT} app/lib/all.ts:11:22-37"),
            format!("{IMPORT} app/lib/all.ts:12:26-37"),
            format!("{IMPORT} app/lib/all.ts:1:25-40"),
            format!("{IMPORT} app/lib/all.ts:2:9-20"),
            format!("{IMPORT} app/lib/all.ts:3:22-49"),
            format!("{IMPORT} app/lib/all.ts:7:9-27"),
            format!("{IMPORT} app/lib/all.ts:8:16-37"),
            format!("{IMPORT} app/lib/all.ts:9:28-50"),
            format!("{IMPORT} app/ui.tsx:1:20-31"),
            format!("{IMPORT} app/x.cts:1:21-36"),
            format!("{IMPORT} app/x.jsx:1:19-34"),
            format!("{IMPORT} app/x.mts:1:21-36"),
        ]
    );
    let v = out.json();
    let msgs: Vec<&str> = v["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(msgs.iter().any(|m| m.contains(
        "`@upstash/context7-mcp/server` (package `@upstash/context7-mcp`) with `import … from`"
    )));
    assert!(msgs
        .iter()
        .any(|m| m.contains("`@acme/my-dev-mcp-server`") && m.contains("`*dev-mcp*`")));
}

#[test]
fn prose_comments_strings_and_identifiers_are_not_imports() {
    // The original grep flagged each of these lines.
    let ts = r#"// Shopify Dev MCP is for development only; see docs/mcp.md
/* import { Client } from "@shopify/dev-mcp"; */
import { helper } from "~/services/mcp/device";
import { x } from "./dev-mcp-notes";
const config = {
  devMCPBan: true,
  note: "patterns from Shopify Dev MCP",
  example: 'import { Client } from "@shopify/dev-mcp"',
  call: "require('chrome-devtools-mcp')",
};
const re = /import "@shopify\/dev-mcp"/;
export function DevMcpBanner() {
  return <p>We don't import from "@shopify/dev-mcp" in production.</p>;
}
"#;
    let py = "\"\"\"Docs: import shopify_dev_mcp in scripts only.\n\nfrom context7_mcp import x\n\"\"\"\n# import chrome_devtools_mcp\nnote = 'from shopify_dev_mcp import Client'\nimport os\n";
    let dir = repo(&[("app/routes/docs.tsx", ts), ("app/tools/notes.py", py)]);
    let out = gate(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(found(&out), Vec::<String>::new());
    assert!(out
        .stdout
        .contains("2 contained a banned name's text and were lexed"));
}

#[test]
fn nested_template_literals_do_not_fool_the_lexer() {
    let ts = "const page = `<h1>${title}</h1>${items.map((i) => `<li>${i.name} ${`import x from \"@shopify/dev-mcp\"`}</li>`).join(\"\")} require(\"context7-mcp\")`;\nconst css = `a { b: ${ { c: `}` }.c } }`; const real = require(\"@shopify/dev-mcp\");\nconst after = `${`${`${\"deep\"}`}`}`; import(\"chrome-devtools-mcp\");\n";
    assert_eq!(
        found_in(&[("app/render.ts", ts)]),
        [
            format!("{IMPORT} app/render.ts:2:65-80"),
            format!("{IMPORT} app/render.ts:3:46-64"),
        ]
    );
}

#[test]
fn python_imports_are_found_and_normalised() {
    let py = "import os, context7_mcp\nfrom shopify_dev_mcp.client import (\n    Client,\n)\nfrom . import dev_mcp_local\nimport chrome_devtools_mcp as cd\n";
    assert_eq!(
        found_in(&[("app/agent.py", py)]),
        [
            format!("{IMPORT} app/agent.py:1:12-23"),
            format!("{IMPORT} app/agent.py:2:6-27"),
            format!("{IMPORT} app/agent.py:6:8-26"),
        ]
    );
}

#[test]
fn runtime_dependencies_of_production_manifests_are_errors_on_their_key() {
    let root = "{\n  \"name\": \"shop-app\",\n  \"dependencies\": {\n    \"@remix-run/node\": \"^2.15.0\",\n    \"@shopify/dev-mcp\": \"^1.0.0\",\n    \"docs\": \"npm:context7-mcp@1\"\n  },\n  \"devDependencies\": {\n    \"chrome-devtools-mcp\": \"^0.6.0\"\n  }\n}\n";
    let nested = "{ \"optionalDependencies\": { \"@Upstash/Context7-MCP\": \"1\" } }";
    let dir = repo(&[
        ("package.json", root),
        ("app/widgets/package.json", nested),
        (
            "scripts/package.json",
            "{\"dependencies\": {\"@shopify/dev-mcp\": \"1\"}}",
        ),
        (
            "app/broken/package.json",
            "{ \"dependencies\": { \"@shopify/dev-mcp\": ",
        ),
    ]);
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [
            "dev-mcp-ban/banned-dependency app/widgets/package.json:1:30-50",
            "dev-mcp-ban/banned-dependency package.json:5:6-21",
            "dev-mcp-ban/banned-dependency package.json:6:6-9",
            "dev-mcp-ban/file-skipped app/broken/package.json:null:null-null",
        ]
    );
    assert!(
        out.stdout.contains("(as the alias `docs`)"),
        "{}",
        out.stdout
    );
}

#[test]
fn scripts_tests_docs_and_test_files_may_use_dev_mcp() {
    let imp = "import { Client } from \"@shopify/dev-mcp\";\n";
    let dir = repo(&[
        ("scripts/docs-search.ts", imp),
        ("tests/e2e.ts", imp),
        ("docs/example.ts", imp),
        (".cursor/mcp.js", imp),
        ("app/__tests__/a.ts", imp),
        ("app/routes/orders.test.tsx", imp),
        ("app/routes/orders.spec.ts", imp),
        ("app/routes/orders.tsx", imp),
    ]);
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [format!("{IMPORT} app/routes/orders.tsx:1:25-40")]
    );
    // With the whole repository as production, the allowed paths still hold, and the root
    // manifest (walked and also named in `manifests`) is reported once.
    support::config(dir.path(), "[dev-mcp-ban]\nproduction-paths = [\"**\"]\n");
    std::fs::write(
        dir.path().join("package.json"),
        "{\"dependencies\": {\"context7-mcp\": \"1\"}}",
    )
    .unwrap();
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [
            "dev-mcp-ban/banned-dependency package.json:1:20-31".to_string(),
            format!("{IMPORT} app/routes/orders.tsx:1:25-40"),
        ]
    );
}

#[test]
fn allowed_packages_win_over_patterns_but_never_over_banned_names() {
    let ts = "import a from \"@acme/dev-mcp-gateway\";\nimport b from \"@acme/dev-mcp-other\";\nimport c from \"@shopify/dev-mcp\";\nimport d from \"internal-tool\";\n";
    let dir = repo(&[
        ("app/a.ts", ts),
        (
            ".github/merge-gates.toml",
            "[dev-mcp-ban]\nallowed-packages = [\"@ACME/dev-mcp-gateway\"]\nbanned = [\"@shopify/dev-mcp\", \"internal-tool\"]\n",
        ),
    ]);
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [
            format!("{IMPORT} app/a.ts:2:16-34"),
            format!("{IMPORT} app/a.ts:3:16-31"),
            format!("{IMPORT} app/a.ts:4:16-28"),
        ]
    );
    assert!(out.stdout.contains("list it in `allowed-packages`"));
    support::config(
        dir.path(),
        "[dev-mcp-ban]\nallowed-packages = [\"@shopify/*\"]\n",
    );
    let out = gate(dir.path(), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`@shopify/dev-mcp` is both in `banned`"),
        "{}",
        out.stderr
    );
    support::config(dir.path(), "[dev-mcp-ban]\nbanned-pattern = [\"x\"]\n");
    let out = gate(dir.path(), &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("banned-pattern"), "{}", out.stderr);
}

#[test]
fn suppressions_silence_with_a_reason_and_are_listed_in_the_summary() {
    let ts = "// merge-gates-allow dev-mcp-ban: docs tool, loaded only in the staging build\nimport { Client } from \"@shopify/dev-mcp\";\nimport a from \"context7-mcp\"; // merge-gates-allow dev-mcp-ban/banned-import: vendored shim\n// merge-gates-allow dev-mcp-ban\nimport b from \"chrome-devtools-mcp\";\n// merge-gates-allow dev-mcp-bann: typo\nconst c = require(\"@upstash/context7-mcp\");\n// merge-gates-allow dev-mcp-ban: nothing here any more\nconst d = 1;\n// merge-gates-allow migration-safety: not this gate's\n";
    let py = "# merge-gates-allow dev-mcp-ban: local experiment\nimport shopify_dev_mcp\n";
    let dir = repo(&[("app/a.ts", ts), ("app/b.py", py)]);
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [
            "core/suppression-without-reason app/a.ts:4:4-20",
            "core/unknown-rule-in-suppression app/a.ts:6:4-20",
            "core/unused-suppression app/a.ts:8:4-20",
            "dev-mcp-ban/banned-import app/a.ts:5:16-34",
            "dev-mcp-ban/banned-import app/a.ts:7:20-40",
        ]
    );
    assert_eq!(
        suppressed(&out),
        [
            "dev-mcp-ban/banned-import app/a.ts:2 docs tool, loaded only in the staging build",
            "dev-mcp-ban/banned-import app/a.ts:3 vendored shim",
            "dev-mcp-ban/banned-import app/b.py:2 local experiment",
        ]
    );
    // The job summary lists the suppressions in use.
    let summary = dir.path().join("summary.md");
    let list = dir.path().join("changed.txt");
    std::fs::write(&list, "app/a.ts\n").unwrap();
    let out = run(bin()
        .arg("dev-mcp-ban")
        .arg("--repo")
        .arg(dir.path())
        .arg("--changed-files")
        .arg(&list)
        .args(["--format", "github"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary));
    assert_eq!(out.code, 1);
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(summary.contains("**Suppressions in use**"), "{summary}");
    // Untrusted text (path, reason) is HTML-escaped inside <code> or as character references.
    assert!(
        summary.contains("| `dev-mcp-ban/banned-import` | <code>app/a&#46;ts</code>:2 | docs tool, loaded only in the staging build |"),
        "{summary}"
    );
}

#[test]
fn changed_only_limits_findings_to_the_files_the_pr_changes() {
    let imp = "import { Client } from \"@shopify/dev-mcp\";\n";
    let dir = repo(&[
        ("app/old.ts", imp),
        ("app/new.ts", imp),
        (
            "package.json",
            "{\"dependencies\": {\"context7-mcp\": \"1\"}}",
        ),
        ("changed.txt", "app/new.ts\nREADME.md\napp/deleted.ts\n"),
    ]);
    let list = dir.path().join("changed.txt");
    let list = list.to_str().unwrap();
    let all = gate(dir.path(), &["--changed-files", list]);
    assert_eq!(found(&all).len(), 3);
    let only = gate(dir.path(), &["--changed-only", "--changed-files", list]);
    assert_eq!(found(&only), [format!("{IMPORT} app/new.ts:1:25-40")]);
    assert!(only.stdout.contains("(changed by the PR)"));
    // The config equivalent.
    support::config(dir.path(), "[dev-mcp-ban]\nchanged-only = true\n");
    let only = gate(dir.path(), &["--changed-files", list]);
    assert_eq!(found(&only), [format!("{IMPORT} app/new.ts:1:25-40")]);
    // Changed files unknown: everything is checked, with a warning saying so.
    let unknown = gate(dir.path(), &[]);
    let rules = found(&unknown);
    assert_eq!(rules.len(), 4, "{rules:?}");
    assert!(rules.contains(&"core/changed-files-unknown PR:null:null-null".to_string()));
}

#[test]
fn ignore_files_binary_oversized_and_symlinked_files() {
    let imp = "import { Client } from \"@shopify/dev-mcp\";\n";
    let big = format!("{imp}{}", "// padding\n".repeat(200));
    let dir = repo(&[
        (".gitignore", "app/build/\n"),
        ("app/build/server.js", imp),
        ("app/blob.js", "\0\0\0@shopify/dev-mcp\0"),
        ("app/huge.ts", &big),
        ("app/.server/db.ts", imp),
        ("app/nomatch.bin.ts", "\0\0 binary without the text"),
        (
            ".github/merge-gates.toml",
            "[dev-mcp-ban]\nmax-file-size = \"1KiB\"\n",
        ),
    ]);
    let outside = repo(&[("secret.ts", imp), ("lib/x.ts", imp)]);
    std::fs::create_dir_all(dir.path().join("packages/shared")).unwrap();
    std::fs::write(dir.path().join("packages/shared/client.ts"), imp).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        // Out of the repository: never read. Inside it: production code like any other.
        symlink(
            outside.path().join("secret.ts"),
            dir.path().join("app/link.ts"),
        )
        .unwrap();
        symlink(
            outside.path().join("lib"),
            dir.path().join("app/linked-lib"),
        )
        .unwrap();
        symlink("../packages/shared", dir.path().join("app/shared")).unwrap();
        symlink("../app", dir.path().join("app/loop")).unwrap();
    }
    // An ignore file hides nothing (outside git, every file is checked); links out of the
    // repository are named, never read; the loop back into `app/` adds nothing.
    let out = gate(dir.path(), &[]);
    assert_eq!(
        found(&out),
        [
            format!("{IMPORT} app/.server/db.ts:1:25-40"),
            format!("{IMPORT} app/build/server.js:1:25-40"),
            format!("{IMPORT} app/shared/client.ts:1:25-40"),
            "dev-mcp-ban/file-skipped app/blob.js:null:null-null".to_string(),
            "dev-mcp-ban/file-skipped app/huge.ts:null:null-null".to_string(),
            "dev-mcp-ban/file-skipped app/link.ts:null:null-null".to_string(),
            "dev-mcp-ban/file-skipped app/linked-lib:null:null-null".to_string(),
        ]
    );
    // `app/` itself pointing outside the repository is refused, not walked.
    #[cfg(unix)]
    {
        let dir = repo(&[("README.md", "x")]);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("app")).unwrap();
        let out = gate(dir.path(), &[]);
        assert_eq!(found(&out), ["dev-mcp-ban/file-skipped app:null:null-null"]);
        assert!(out.stdout.contains("resolves outside the repository"));
    }
}

#[test]
fn one_finding_in_text_json_and_github_output() {
    let dir = repo(&[(
        "app/lib/docs.server.ts",
        "import {\n  Client,\n} from \"@shopify/dev-mcp/client\";\n",
    )]);
    let text = run(bin()
        .arg("dev-mcp-ban")
        .arg("--repo")
        .arg(dir.path())
        .args(["--format", "text"]));
    assert_eq!(text.code, 1);
    assert!(text.stdout.starts_with(
        "app/lib/docs.server.ts:3:9: error[dev-mcp-ban/banned-import] production code imports `@shopify/dev-mcp/client` (package `@shopify/dev-mcp`) with `import … from`, but it is a development-only MCP package: it is on the banned list\n  help: Remove the import"
    ), "{}", text.stdout);

    let json = gate(dir.path(), &[]).json();
    let f = &json["gates"][0]["findings"][0];
    assert_eq!(f["rule"], IMPORT);
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (
            &f["path"],
            &f["line"],
            &f["column"],
            &f["end_line"],
            &f["end_column"]
        ),
        (
            &serde_json::json!("app/lib/docs.server.ts"),
            &serde_json::json!(3),
            &serde_json::json!(9),
            &serde_json::json!(3),
            &serde_json::json!(31)
        )
    );

    let gh = run(bin()
        .arg("dev-mcp-ban")
        .arg("--repo")
        .arg(dir.path())
        .args(["--format", "github"]));
    assert!(gh.stdout.contains(
        "::error file=app/lib/docs.server.ts,line=3,col=9,endLine=3,endColumn=31,title=merge-gates dev-mcp-ban/banned-import::production code imports `@shopify/dev-mcp/client`"
    ), "{}", gh.stdout);
}

#[test]
fn a_large_tree_is_walked_in_parallel_with_the_prefilter() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2000 {
        let p = dir.path().join(format!("app/m{}/f{i}.ts", i % 40));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let text = if i == 1234 {
            "export * from \"@shopify/dev-mcp\";\n".to_string()
        } else {
            format!("export const v{i} = `${{{i}}}` + \"/dev/null\"; // Shopify Dev MCP docs\n")
        };
        std::fs::write(p, text).unwrap();
    }
    let out = gate(dir.path(), &[]);
    assert_eq!(found(&out), [format!("{IMPORT} app/m34/f1234.ts:1:16-31")]);
    assert!(out.stdout.contains(
        "2,000 production file(s) checked (the whole production tree); 1 contained a banned name's text and were lexed"
    ), "{}", out.stdout);
}

#[test]
fn a_minified_file_full_of_banned_imports_is_capped_and_positioned() {
    let one = "require(\"@shopify/dev-mcp\");";
    let dir = repo(&[(
        "app/bundle.min.js",
        &format!("\"use strict\";{}", one.repeat(1500)),
    )]);
    let out = gate(dir.path(), &[]);
    let v = out.json();
    let f = v["gates"][0]["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1001);
    // Sorted by place: the file-level summary of the rest comes first.
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("500 more banned imports or dependencies in `app/bundle.min.js`"));
    let cols: Vec<u64> = f[1..]
        .iter()
        .map(|x| x["column"].as_u64().unwrap())
        .collect();
    assert_eq!(cols[0], 23);
    assert_eq!(cols[999], 23 + 999 * one.len() as u64);
}

#[test]
fn changed_only_on_a_pull_request_event_uses_the_files_the_api_lists() {
    use support::{root, Reply, Server};
    let imp = "import { Client } from \"@shopify/dev-mcp\";\n";
    let dir = repo(&[
        ("app/old.ts", imp),
        ("app/new.ts", imp),
        ("app/gone.ts", imp),
    ]);
    let event = dir.path().join("event.json");
    std::fs::copy(
        root().join("tests/fixtures/events/pull_request.opened.json"),
        &event,
    )
    .unwrap();
    let files = serde_json::json!([
        {"filename": "app/new.ts", "status": "added"},
        {"filename": "app/gone.ts", "status": "removed"},
    ]);
    let api = Server::start(vec![(
        "/repos/Codertocat/Hello-World/pulls/2/files",
        vec![Reply::json(200, files)],
    )]);
    let out = run(bin()
        .args(["dev-mcp-ban", "--changed-only", "--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_API_URL", &api.url)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_TOKEN", "ghs_SECRETtoken000000000000000000")
        .env("GITHUB_WORKSPACE", dir.path()));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(found(&out), [format!("{IMPORT} app/new.ts:1:25-40")]);
    assert_eq!(
        api.count("GET /repos/Codertocat/Hello-World/pulls/2/files"),
        1
    );
}
