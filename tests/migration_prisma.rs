//! The Prisma schema check against real git repositories made in temp dirs: removed models,
//! fields and enum values are errors on their base line, type changes warnings, renames kept
//! through `@@map` / `@map` are not removals, and a base that cannot be read (a shallow
//! clone, an unknown commit) is an error finding, never a silent pass.

mod support;

use std::path::Path;
use std::process::Command;
use support::{bin, git, run, Output};

const BASE: &str = r#"datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Session {
  id      String @id
  shop    String
}

model Order {
  id       String @id
  shopId   String @map("shop_id")
  total    Int
  note     String?
  status   Status @default(OPEN)

  @@map("orders")
}

enum Status {
  OPEN
  PAID
  REFUNDED
}
"#;

const HEAD: &str = r#"datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// Orders; `shop` is the renamed shopId, same column.
model ShopOrder {
  id       String @id
  shop     String @map("shop_id")
  total    BigInt
  status   Status @default(OPEN)
  // note was dropped
  @@map("orders")
}

enum Status {
  OPEN
  PAID
}
"#;

/// A repository whose `main` has `base` and whose checked-out branch `pr` has `head`.
fn repo(base: Option<&str>, head: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(d.join("prisma")).unwrap();
    std::fs::write(d.join("README.md"), "app\n").unwrap();
    if let Some(base) = base {
        std::fs::write(d.join("prisma/schema.prisma"), base).unwrap();
    }
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(d.join("prisma/schema.prisma"), head).unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "head"]);
    dir
}

fn check(dir: &Path, args: &[&str]) -> Output {
    run(bin()
        .args(["migration-safety", "--format", "json", "--repo"])
        .arg(dir)
        .args(args)
        .env_remove("MERGE_GATES_DATABASE_URL"))
}

/// `rule line message` of the Prisma findings.
fn prisma(out: &Output) -> Vec<String> {
    let v = out.json();
    let mut res = Vec::new();
    for f in v["gates"][0]["findings"].as_array().unwrap() {
        let rule = f["rule"].as_str().unwrap();
        if rule.starts_with("migration-safety/prisma-") {
            res.push(format!(
                "{} {} {}",
                rule.trim_start_matches("migration-safety/"),
                f["line"],
                f["message"].as_str().unwrap()
            ));
        }
    }
    res
}

#[test]
fn removals_and_type_changes_between_base_and_head() {
    let dir = repo(Some(BASE), HEAD);
    let out = check(dir.path(), &["--base", "main"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        prisma(&out),
        [
            "prisma-model-removed 6 model `Session` was removed from the Prisma schema (line 6 of the base version)",
            "prisma-field-removed 15 field `Order.note` was removed from the Prisma schema (line 15 of the base version)",
            "prisma-field-removed 24 value `REFUNDED` was removed from enum `Status` (line 24 of the base version)",
            "prisma-field-type-changed 10 field `ShopOrder.total` changed type from `Int` to `BigInt`: a type change needs explicit approval",
        ]
    );
}

#[test]
fn a_shallow_clone_without_the_base_is_an_error_not_a_pass() {
    let src = repo(Some(BASE), HEAD);
    let base = git(src.path(), &["rev-parse", "main"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", src.path().display());
    let out = Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--branch", "pr", &url])
        .arg(clone.path().join("c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = clone.path().join("c");
    std::fs::write(c.join("changed.txt"), "prisma/schema.prisma\n").unwrap();
    // The PR's base sha is known (as in Actions) but not in the shallow checkout.
    let out = check(
        &c,
        &[
            "--changed-files",
            c.join("changed.txt").to_str().unwrap(),
            "--base",
            &base,
        ],
    );
    // A base that is not in the clone cannot give the policy either (tests/tamper: policy is
    // read from the base), so the run stops before any gate, naming the base and the fix.
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&base), "{}", out.stderr);
    assert!(out.stderr.contains("not found: fetch it"), "{}", out.stderr);
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);
}

#[test]
fn a_new_schema_or_an_unchanged_one_has_nothing_removed() {
    let dir = repo(None, HEAD);
    let out = check(dir.path(), &["--base", "main"]);
    assert_eq!(prisma(&out), Vec::<String>::new());
    assert!(out.stdout.contains("is new in this PR"), "{}", out.stdout);

    let dir = repo(Some(BASE), BASE);
    std::fs::write(dir.path().join("README.md"), "changed\n").unwrap();
    let out = check(dir.path(), &["--base", "main"]);
    assert_eq!(prisma(&out), Vec::<String>::new());
}

#[test]
fn a_deleted_schema_removes_every_model() {
    let dir = repo(Some(BASE), BASE);
    git(dir.path(), &["rm", "-q", "prisma/schema.prisma"]);
    git(dir.path(), &["commit", "-q", "-m", "rm"]);
    let out = check(dir.path(), &["--base", "main"]);
    let f = prisma(&out);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().all(|x| x.starts_with("prisma-model-removed")));
    assert!(f[1].contains("model `Order` (table `orders`)"), "{f:?}");
}
