//! Deploy commands in every spelling a shell, a package runner or a deploy platform accepts:
//! each is a `migration-safety/deploy-runs-migration` error at the line and column of the
//! command in the file that holds it.

use crate::support::{bin, repo, run, Output};
use std::time::{Duration, Instant};

fn check(files: &[(&str, &str)]) -> Output {
    let dir = repo(files);
    let list = dir.path().join("changed.txt");
    std::fs::write(&list, "").unwrap();
    let mut cmd = bin();
    cmd.args(["migration-safety", "--format", "json", "--changed-files"])
        .arg(&list)
        .arg("--repo")
        .arg(dir.path())
        .env_remove("MERGE_GATES_DATABASE_URL");
    run(&mut cmd)
}

/// `path:line:column` of every `deploy-runs-migration` finding, with the command it names.
fn hits(out: &Output) -> Vec<String> {
    let v = out.json();
    let mut res = Vec::new();
    for g in v["gates"].as_array().unwrap() {
        for f in g["findings"].as_array().unwrap() {
            if f["rule"] == "migration-safety/deploy-runs-migration" {
                res.push(format!(
                    "{}:{}:{}",
                    f["path"].as_str().unwrap(),
                    f["line"],
                    f["column"]
                ));
            }
        }
    }
    res.sort();
    res
}

/// `path:line:column` of the `n`-th (0-based) occurrence of `needle` in `text`.
fn at(path: &str, text: &str, needle: &str, n: usize) -> String {
    let offset = text
        .match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("no {needle} #{n} in {text}"))
        .0;
    let line = text[..offset].matches('\n').count() + 1;
    let col = text[..offset].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{path}:{line}:{col}")
}

/// `file` holding `text` is flagged exactly at the occurrences `(needle, n)`, exit 1.
fn flagged_at(file: &str, text: &str, places: &[(&str, usize)]) {
    let out = check(&[(file, text)]);
    let mut want: Vec<String> = places.iter().map(|(s, n)| at(file, text, s, *n)).collect();
    want.sort();
    assert_eq!(
        hits(&out),
        want,
        "{file}:\n{text}\n{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
}

/// One Procfile process running `cmd`: the forbidden command starts at `needle`.
fn procfile(cmd: &str, needle: &str) {
    let text = format!("web: node server.js\nrelease: {cmd}\n");
    flagged_at("Procfile", &text, &[(needle, 0)]);
}

#[test]
fn npx_with_a_pinned_prisma_version() {
    procfile("npx prisma@5.22.0 migrate deploy", "prisma@");
}

#[test]
fn npx_with_prisma_at_latest() {
    procfile("npx --yes prisma@latest migrate deploy", "prisma@");
}

#[test]
fn npx_with_a_pinned_supabase_version() {
    procfile("npx supabase@1.200.0 db push", "supabase@");
}

#[test]
fn pnpm_dlx_yarn_dlx_and_bunx() {
    procfile("pnpm dlx prisma@5 migrate deploy", "prisma@");
    procfile("yarn dlx prisma db push", "prisma");
    procfile("bunx prisma@6.1.0 migrate reset --force", "prisma@");
}

#[test]
fn eval_of_the_command_words() {
    procfile("eval npx prisma migrate deploy", "prisma");
    procfile("eval \"npx prisma\" migrate deploy", "prisma");
}

#[test]
fn command_substitution_inside_echo_quotes() {
    procfile("echo \"migrated: $(npx prisma migrate deploy)\"", "prisma");
}

#[test]
fn backticks_inside_and_outside_quotes() {
    procfile("echo \"`npx prisma migrate deploy`\"", "prisma");
    procfile("echo `npx prisma db push`", "prisma");
}

/// `sh -c 'bash -c '\''sh -c …'\'''`, each level quoted for the one above it.
#[test]
fn shells_nested_four_deep() {
    let mut cmd = "npx prisma migrate deploy".to_string();
    for shell in ["bash", "sh", "bash", "sh"] {
        cmd = format!("{shell} -c '{}'", cmd.replace('\'', "'\\''"));
    }
    procfile(&cmd, "prisma");
    // The same in double quotes with backslash escapes, and through `env` and `exec`.
    let mut cmd = "npx prisma db push".to_string();
    for shell in [
        "env X=1 sh -ec",
        "exec bash -lc",
        "sh -c",
        "bash -o pipefail -c",
    ] {
        cmd = format!(
            "{shell} \"{}\"",
            cmd.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    procfile(&cmd, "prisma");
}

#[test]
fn environment_prefixes() {
    procfile(
        "DATABASE_URL=$PROD_URL SHADOW=1 npx prisma migrate deploy",
        "prisma",
    );
    procfile(
        "env -u PGHOST DATABASE_URL=x npx prisma migrate deploy",
        "prisma",
    );
}

#[test]
fn and_or_and_semicolon_chains() {
    procfile(
        "npm ci && echo ok || npx prisma migrate deploy; node server.js",
        "prisma",
    );
    procfile("true;npx prisma db push&&node server.js", "prisma");
}

const STEPS: &str = "on: push\njobs:\n  nightly:\n    runs-on: ubuntu-latest\n    steps:\n";

#[test]
fn workflow_flow_style_step() {
    let text = format!("{STEPS}      - {{name: migrate, run: npx prisma migrate deploy}}\n");
    flagged_at(".github/workflows/nightly.yml", &text, &[("prisma", 0)]);
}

#[test]
fn workflow_step_run_through_an_alias() {
    let text = format!(
        "{STEPS}      - name: note\n        env:\n          CMD: &migrate npx prisma migrate deploy\n        run: echo \"$CMD\"\n      - run: *migrate\n"
    );
    flagged_at(".github/workflows/nightly.yml", &text, &[("prisma", 0)]);
}

#[test]
fn workflow_multi_line_quoted_scalar() {
    let text = format!(
        "{STEPS}      - run: \"npm ci &&\n          npx prisma\n          migrate deploy\"\n      - run: 'echo start;\n\n          npx supabase@2 db push'\n"
    );
    flagged_at(
        ".github/workflows/nightly.yml",
        &text,
        &[("prisma", 0), ("supabase", 0)],
    );
}

/// 2^40 strings if the aliases were expanded: read once each, in bounded time.
#[test]
fn yaml_alias_bomb_is_read_in_bounded_time() {
    let mut text = format!("{STEPS}      - run: &a0 npx prisma migrate deploy\n");
    text.push_str("x:\n");
    for i in 1..40 {
        text.push_str(&format!("  k{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    text.push_str("  run: *a39\n");
    let start = Instant::now();
    flagged_at(".github/workflows/bomb.yml", &text, &[("prisma", 0)]);
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn railway_toml_start_and_pre_deploy_commands() {
    let text = "[build]\nbuilder = \"NIXPACKS\"\n\n[deploy]\nstartCommand = \"npx prisma migrate deploy && node server.js\"\npreDeployCommand = [\"npx prisma db push\"]\n";
    flagged_at("railway.toml", text, &[("prisma", 0), ("prisma", 1)]);
}

#[test]
fn railway_json_pre_deploy_command() {
    let text = "{\n  \"$schema\": \"https://railway.com/railway.schema.json\",\n  \"deploy\": {\n    \"preDeployCommand\": [\"npm run build\", \"npx prisma migrate deploy\"],\n    \"startCommand\": \"node server.js\"\n  }\n}\n";
    flagged_at("railway.json", text, &[("prisma", 0)]);
}

#[test]
fn vercel_json_build_command() {
    let text = "{\n  \"framework\": \"remix\",\n  \"buildCommand\": \"prisma migrate deploy && remix build\"\n}\n";
    flagged_at("vercel.json", text, &[("prisma", 0)]);
}

#[test]
fn render_yaml_service_commands() {
    let text = "services:\n  - type: web\n    name: app\n    runtime: node\n    buildCommand: npm ci\n    preDeployCommand: npx prisma migrate deploy\n    startCommand: node server.js\n";
    flagged_at("render.yaml", text, &[("prisma", 0)]);
}

#[test]
fn heroku_app_json_postdeploy_script() {
    let text = "{\n  \"name\": \"app\",\n  \"scripts\": {\n    \"postdeploy\": \"npx prisma db push --accept-data-loss\"\n  }\n}\n";
    flagged_at("app.json", text, &[("prisma", 0), ("--accept", 0)]);
}

#[test]
fn compose_command_and_entrypoint() {
    let text = "services:\n  web:\n    image: app\n    command: [\"sh\", \"-c\", \"npx prisma migrate deploy && node server.js\"]\n  migrate:\n    image: app\n    entrypoint:\n      - npx\n      - prisma\n      - db\n      - push\n";
    flagged_at(
        "docker-compose.prod.yml",
        text,
        &[("prisma", 0), ("prisma\n", 0)],
    );
    let text = "services:\n  web:\n    image: app\n    entrypoint: npx supabase db reset\n";
    flagged_at("compose.yaml", text, &[("supabase", 0)]);
}

/// The safe spellings stay quiet: text that only mentions the command, and `prisma generate`.
#[test]
fn mentions_and_safe_commands_stay_quiet() {
    let out = check(&[
        (
            "Procfile",
            "release: echo \"run npx prisma migrate deploy by hand\" && npx prisma@5 generate\n",
        ),
        (
            ".github/workflows/ci.yml",
            &format!("{STEPS}      - {{run: \"npx prisma@latest generate\"}}\n      - run: echo 'prisma migrate deploy'\n"),
        ),
        ("vercel.json", "{\"buildCommand\": \"prisma generate && remix build\"}\n"),
        ("docker-compose.yml", "services:\n  web:\n    command: node server.js\n"),
    ]);
    assert_eq!(hits(&out), Vec::<String>::new(), "{}", out.stdout);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
