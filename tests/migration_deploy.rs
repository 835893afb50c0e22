//! The deploy-file policy, end to end through the built binary: each file kind (fly.toml,
//! package.json, Dockerfile and the entrypoint scripts it names, Procfile, workflow steps) is
//! flagged on the exact line and column of the command, and the safe rewrites — comments,
//! `echo` text, `prisma generate`, a suppressed step — pass.

mod support;

use std::path::Path;
use support::{bin, repo, root, run, Output};

fn check(dir: &Path, extra: &[&str]) -> Output {
    let list = dir.join("changed.txt");
    if !list.exists() {
        std::fs::write(&list, "").unwrap();
    }
    let mut cmd = bin();
    cmd.args(["migration-safety", "--format", "json", "--changed-files"])
        .arg(&list)
        .arg("--repo")
        .arg(dir)
        .args(extra)
        .env_remove("MERGE_GATES_DATABASE_URL");
    run(&mut cmd)
}

/// `rule path:line:column` of every finding of the migration-safety rules.
fn places(out: &Output) -> Vec<String> {
    let v = out.json();
    let mut res = Vec::new();
    for g in v["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            let rule = f["rule"].as_str().unwrap();
            if rule.starts_with("migration-safety/") && rule != "migration-safety/dry-run-skipped" {
                res.push(format!(
                    "{} {}:{}:{}",
                    rule.trim_start_matches("migration-safety/"),
                    f["path"].as_str().unwrap_or("-"),
                    f["line"],
                    f["column"]
                ));
            }
        }
    }
    res.sort();
    res
}

fn fixture(rule: &str, kind: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(
        &root()
            .join("tests/fixtures/migration-safety")
            .join(rule)
            .join(kind),
        tmp.path(),
    );
    tmp
}

#[test]
fn every_deploy_file_kind_is_flagged_on_the_command() {
    let dir = fixture("deploy-runs-migration", "flagged");
    let out = check(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expect = [
        ".github/workflows/nightly.yml:16:15",
        ".github/workflows/nightly.yml:19:15",
        "Dockerfile:9:9",
        "Dockerfile:12:23",
        "Procfile:1:14",
        "bin/boot.sh:4:34",
        "docker-entrypoint.sh:4:5",
        "fly.toml:6:26",
        "fly.toml:10:17",
        "package.json:6:15",
        "package.json:7:17",
        "package.json:7:32",
    ];
    let mut expect: Vec<String> = expect
        .iter()
        .map(|p| format!("deploy-runs-migration {p}"))
        .collect();
    expect.sort();
    assert_eq!(places(&out), expect);
    let text = out.stdout;
    for what in [
        "the fly.toml `release_command` runs `prisma migrate deploy`",
        "script `db:sync` in package.json passes `--accept-data-loss`",
        "the Dockerfile `CMD` instruction runs `supabase db push`",
        "process `release` in the Procfile runs `prisma migrate resolve`",
        "a workflow `run:` step runs `prisma migrate deploy`",
    ] {
        assert!(text.contains(what), "no `{what}` in\n{text}");
    }
}

#[test]
fn safe_deploy_files_pass_and_a_suppression_with_a_reason_is_honoured() {
    let dir = fixture("deploy-runs-migration", "passing");
    let out = check(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(places(&out), Vec::<String>::new());
    let v = out.json();
    assert_eq!(v["gates"][0]["suppressed"].as_array().unwrap().len(), 1);
}

#[test]
fn release_command_must_be_allowed_and_the_list_is_configurable() {
    let dir = fixture("release-command-not-allowed", "flagged");
    let out = check(dir.path(), &[]);
    assert_eq!(places(&out), ["release-command-not-allowed fly.toml:4:22"]);
    support::config(dir.path(), "[migration-safety.deploy]\nrelease-commands = [\"npx prisma generate\", \"./scripts/release.sh\"]\n");
    let out = check(dir.path(), &[]);
    assert_eq!(places(&out), Vec::<String>::new(), "{}", out.stdout);
}

#[test]
fn files_that_do_not_parse_are_findings_not_silent_passes() {
    let dir = fixture("deploy-file-invalid", "flagged");
    let out = check(dir.path(), &[]);
    assert_eq!(
        places(&out),
        [
            "deploy-file-invalid fly.toml:4:47",
            "deploy-file-invalid package.json:5:3"
        ]
    );
}

#[test]
fn extra_patterns_workflow_variants_and_node_modules() {
    let dir = repo(&[
        (
            ".github/merge-gates.toml",
            "[migration-safety.deploy]\npatterns = [\"knex migrate:latest|migrate:rollback\"]\n",
        ),
        (
            ".github/workflows/deploy.yaml",
            "on: push\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"npx knex migrate:latest --env production\"\n      - run: bash -c 'npx prisma migrate reset --force'\n      - name: plain\n        run: npx prisma\n          db push\n      - run: echo \"prisma migrate deploy\" # prisma migrate deploy\n",
        ),
        (
            ".github/actions/migrate/action.yml",
            "runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: |-\n        pnpm exec prisma migrate dev --name x\n",
        ),
        (
            "node_modules/pkg/package.json",
            "{\"scripts\": {\"postinstall\": \"prisma migrate deploy\"}}",
        ),
        (
            "apps/web/package.json",
            "{\"scripts\": {\"release\": \"dotenv -e .env.production -- npx prisma migrate deploy\"}}",
        ),
    ]);
    let out = check(dir.path(), &[]);
    assert_eq!(
        places(&out),
        [
            "deploy-runs-migration .github/actions/migrate/action.yml:6:19",
            "deploy-runs-migration .github/workflows/deploy.yaml:6:19",
            "deploy-runs-migration .github/workflows/deploy.yaml:7:27",
            "deploy-runs-migration .github/workflows/deploy.yaml:9:18",
            "deploy-runs-migration apps/web/package.json:1:59",
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn dockerfile_shell_and_exec_forms_with_heredocs() {
    let dir = repo(&[
        (
            "deploy/api/Dockerfile",
            "FROM node:20\nCOPY start.sh /srv/start.sh\nRUN <<EOF\nset -e\nnpx prisma migrate deploy\nEOF\nONBUILD RUN npx prisma db push\nCMD [\"/srv/start.sh\"]\n",
        ),
        ("deploy/api/start.sh", "#!/bin/sh\nprisma migrate deploy && exec node server.js\n"),
    ]);
    let out = check(dir.path(), &[]);
    assert_eq!(
        places(&out),
        [
            "deploy-runs-migration deploy/api/Dockerfile:5:5",
            "deploy-runs-migration deploy/api/Dockerfile:7:17",
            "deploy-runs-migration deploy/api/start.sh:2:1",
        ],
        "{}",
        out.stdout
    );
}
