//! The release steps (`scripts/release.sh`), run the way `.github/workflows/release.yml` runs
//! them, in a temporary repository with a bare repository as the remote, fake binaries for the
//! five targets and a fake `gh` that records what it was asked and which tags the remote had at
//! that moment. What matters is the order and the content: the tagged commit's checksums.txt
//! lists exactly the archives' SHA-256 as `vX.Y.Z/<asset>`, `vX` moves to that commit, nothing is
//! published before the tag exists, and the release then installs with `scripts/install.sh`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::install::{chmod_x, installed, Runner, PLATFORMS};
use support::{git, root, Reply, Server};

const TARGETS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

struct Release {
    dir: tempfile::TempDir,
}

struct Out {
    code: i32,
    log: String,
}

impl Release {
    /// A repository at version `version` with one release in checksums.txt already, its remote
    /// (`remote.git`, branch main) and fake release binaries under target/.
    fn new(version: &str) -> Release {
        let r = Release {
            dir: tempfile::tempdir().unwrap(),
        };
        let repo = r.repo();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(
            repo.join("Cargo.toml"),
            format!("[package]\nname = \"merge-gates\"\nversion = \"{version}\"\n"),
        )
        .unwrap();
        std::fs::write(repo.join("README.md"), "# merge-gates\n").unwrap();
        std::fs::write(repo.join("LICENSE"), "MIT\n").unwrap();
        std::fs::write(repo.join(".gitignore"), "/target\n").unwrap();
        std::fs::write(
            repo.join("checksums.txt"),
            format!(
                "# checksums\n{}  v0.9.0/merge-gates-x86_64-unknown-linux-musl.tar.gz\n",
                "a".repeat(64)
            ),
        )
        .unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "base"]);
        git(r.dir.path(), &["init", "-q", "--bare", "remote.git"]);
        git(&repo, &["remote", "add", "origin", "../remote.git"]);
        git(&repo, &["push", "-q", "origin", "main"]);
        for t in TARGETS {
            let exe = if t.contains("windows") {
                "merge-gates.exe"
            } else {
                "merge-gates"
            };
            let p = repo.join("target").join(t).join("release");
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(exe), format!("#!/bin/sh\necho built-for-{t}\n")).unwrap();
            chmod_x(&p.join(exe));
        }
        let gh = r.dir.path().join("gh");
        std::fs::write(
            &gh,
            format!(
                "#!/bin/sh\n{{ echo \"gh $*\"; git ls-remote --tags '{}' | sed 's/^/remote has: /'; }} >> '{}'\n",
                r.remote().display(),
                r.dir.path().join("gh-calls").display()
            ),
        )
        .unwrap();
        chmod_x(&gh);
        r
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn dist(&self) -> PathBuf {
        self.dir.path().join("dist")
    }

    fn gh_calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gh-calls")).unwrap_or_default()
    }

    /// `bash scripts/release.sh args…` in the repository, as a workflow step runs it: no git
    /// identity configured (the script brings the bot's), the remote and gh replaced.
    fn run(&self, args: &[&str]) -> Out {
        let out = Command::new("bash")
            .arg(root().join("scripts/release.sh"))
            .args(args)
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("MG_GH", self.dir.path().join("gh"))
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code, 0, "release.sh {}: {}", args.join(" "), out.log);
        out.log
    }

    fn package_all(&self) {
        let dist = self.dist();
        for t in TARGETS {
            self.ok(&["package", t, dist.to_str().unwrap()]);
        }
    }

    /// `git` in the remote (bare) repository.
    fn remote_git(&self, args: &[&str]) -> String {
        git(&self.remote(), args)
    }
}

fn asset(target: &str) -> String {
    if target.contains("windows") {
        format!("merge-gates-{target}.zip")
    } else {
        format!("merge-gates-{target}.tar.gz")
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn the_tagged_commit_lists_its_own_archives_and_is_published_only_after_the_tag() {
    let r = Release::new("1.2.3");
    let chosen = git(&r.repo(), &["rev-parse", "HEAD"]);
    let dist = r.dist();
    let dist = dist.to_str().unwrap();

    r.ok(&["check", "1.2.3"]);
    r.package_all();

    // Publishing before the tag exists is refused, and gh is never called.
    let early = r.run(&["publish", "1.2.3", dist]);
    assert_eq!(early.code, 1, "{}", early.log);
    assert!(early.log.contains("no tag v1.2.3"), "{}", early.log);
    assert!(r.gh_calls().is_empty(), "published before the tag existed");

    r.ok(&["checksums", "1.2.3", dist]);
    r.ok(&["tag", "1.2.3"]);
    // A re-run of the job (a fresh checkout of the chosen commit) finds its own tag and goes on.
    git(&r.repo(), &["reset", "-q", "--hard", &chosen]);
    git(&r.repo(), &["tag", "-d", "v1.2.3", "v1"]);
    r.ok(&["checksums", "1.2.3", dist]);
    let rerun = r.ok(&["tag", "1.2.3"]);
    assert!(rerun.contains("already tagged"), "{rerun}");
    r.ok(&["publish", "1.2.3", dist]);

    // The tag is a commit on top of the chosen one that changes checksums.txt only.
    let tagged = r.remote_git(&["rev-parse", "v1.2.3^{commit}"]);
    assert_eq!(r.remote_git(&["rev-parse", &format!("{tagged}^")]), chosen);
    assert_eq!(
        r.remote_git(&["diff", "--name-only", &chosen, &tagged]),
        "checksums.txt"
    );
    // … whose checksums.txt keeps the earlier release and lists exactly this one's archives.
    let sums = r.remote_git(&["show", "v1.2.3:checksums.txt"]);
    assert!(sums.contains("v0.9.0/merge-gates-x86_64-unknown-linux-musl.tar.gz"));
    let listed: Vec<&str> = sums.lines().filter(|l| l.contains("  v1.2.3/")).collect();
    let want: Vec<String> = TARGETS
        .iter()
        .map(|t| {
            let a = asset(t);
            format!("{}  v1.2.3/{a}", sha256(&r.dist().join(&a)))
        })
        .collect();
    assert_eq!(listed, want);
    // The major tag moved to the same commit; main did not move.
    assert_eq!(r.remote_git(&["rev-parse", "v1^{commit}"]), tagged);
    assert_eq!(r.remote_git(&["rev-parse", "main"]), chosen);

    // gh ran once, after both tags were on the remote, with the five archives.
    let calls = r.gh_calls();
    let gh: Vec<&str> = calls.lines().filter(|l| l.starts_with("gh ")).collect();
    assert_eq!(gh.len(), 1, "{calls}");
    assert!(
        gh[0].starts_with("gh release create v1.2.3 --verify-tag"),
        "{calls}"
    );
    for t in TARGETS {
        assert!(gh[0].contains(&asset(t)), "{t} not published: {calls}");
    }
    assert!(calls.contains("refs/tags/v1.2.3\n"), "{calls}");
    assert!(calls.contains("refs/tags/v1\n"), "{calls}");

    // The archives hold the binary, README.md and LICENSE at the top.
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(r.dist().join(asset(TARGETS[0])))
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ["LICENSE", "README.md", "merge-gates"]);

    // The merge-back pull request carries the tagged commit itself to the default branch.
    r.ok(&["merge-back", "1.2.3"]);
    assert_eq!(r.remote_git(&["rev-parse", "release/v1.2.3"]), tagged);
    let calls = r.gh_calls();
    assert!(
        calls.contains("gh pr create --head release/v1.2.3"),
        "{calls}"
    );

    // A second release of the same version is refused before anything is built or tagged.
    let again = r.run(&["check", "1.2.3"]);
    assert_eq!(again.code, 1, "{}", again.log);
    assert!(again.log.contains("exists already"), "{}", again.log);

    // Day one: the action at v1.2.3 installs the published archives, verified against the
    // tag's own checksums.txt, on every platform.
    for (os, arch, a) in PLATFORMS {
        let runner = Runner::new();
        std::fs::write(runner.path("checksums.txt"), &sums).unwrap();
        let server = Server::start(vec![]);
        server.route(
            &format!("/releases/v1.2.3/{a}"),
            vec![Reply::bytes(200, std::fs::read(r.dist().join(a)).unwrap())],
        );
        let out = runner.install(os, arch, &server, &[("MG_ACTION_REF", "v1.2.3")]);
        assert_eq!(out.code, 0, "{os}/{arch}: {}", out.log);
        assert!(out.log.contains("verified"), "{}", out.log);
        let exe = if *os == "Windows" {
            "merge-gates.exe"
        } else {
            "merge-gates"
        };
        let target = a
            .trim_start_matches("merge-gates-")
            .trim_end_matches(".tar.gz")
            .trim_end_matches(".zip");
        assert_eq!(installed(&out, exe), format!("built-for-{target}"));
    }
}

#[test]
fn a_release_whose_archives_differ_from_the_tag_is_not_published() {
    let r = Release::new("2.0.0");
    let dist = r.dist();
    let dist = dist.to_str().unwrap();
    r.package_all();
    r.ok(&["checksums", "v2.0.0", dist]);
    r.ok(&["tag", "v2.0.0"]);
    // A run with other archives does not take the existing tag for its own.
    let tagged = git(&r.repo(), &["rev-parse", "HEAD"]);
    git(&r.repo(), &["reset", "-q", "--hard", "HEAD^"]);
    git(&r.repo(), &["tag", "-d", "v2.0.0", "v2"]);
    std::fs::write(r.dist().join(asset(TARGETS[1])), "rebuilt").unwrap();
    r.ok(&["checksums", "v2.0.0", dist]);
    let out = r.run(&["tag", "v2.0.0"]);
    assert_eq!(out.code, 1, "{}", out.log);
    assert!(out.log.contains("exists already"), "{}", out.log);
    git(&r.repo(), &["reset", "-q", "--hard", &tagged]);
    git(
        &r.repo(),
        &["fetch", "-q", "origin", "+refs/tags/*:refs/tags/*"],
    );
    // An archive rebuilt after the tag: the tag's checksums.txt no longer matches it.
    std::fs::write(r.dist().join(asset(TARGETS[2])), "other bytes").unwrap();
    let out = r.run(&["publish", "v2.0.0", dist]);
    assert_eq!(out.code, 1, "{}", out.log);
    assert!(out.log.contains("does not list exactly"), "{}", out.log);
    assert!(r.gh_calls().is_empty());
    // A missing archive stops the checksums step.
    std::fs::remove_file(r.dist().join(asset(TARGETS[4]))).unwrap();
    let out = r.run(&["checksums", "v2.0.0", dist]);
    assert_eq!(out.code, 1);
    assert!(out
        .log
        .contains("has no merge-gates-x86_64-pc-windows-msvc.zip"));
}

#[test]
fn versions_are_checked_and_a_prerelease_leaves_the_major_tag_alone() {
    let r = Release::new("1.3.0-rc.1");
    for (version, why) in [
        ("1.3.0", "Cargo.toml says version = \"1.3.0-rc.1\""),
        ("1.3", "is not X.Y.Z"),
        ("v1.3.0-rc.1; rm -rf /", "is not X.Y.Z"),
    ] {
        let out = r.run(&["check", version]);
        assert_eq!(out.code, 1, "{version}: {}", out.log);
        assert!(out.log.contains(why), "{version}: {}", out.log);
    }
    r.ok(&["check", "v1.3.0-rc.1"]);
    let dist = r.dist();
    let dist = dist.to_str().unwrap();
    r.package_all();
    r.ok(&["checksums", "1.3.0-rc.1", dist]);
    r.ok(&["tag", "1.3.0-rc.1"]);
    r.ok(&["publish", "1.3.0-rc.1", dist]);
    let tags = r.remote_git(&["tag", "--list"]);
    assert_eq!(tags, "v1.3.0-rc.1", "a pre-release moved the major tag");
    assert!(r.gh_calls().contains("--prerelease"), "{}", r.gh_calls());
}

#[test]
fn the_workflow_runs_these_steps_in_this_order_on_runners_that_exist() {
    let wf = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let at = |s: &str| {
        wf.find(s)
            .unwrap_or_else(|| panic!("release.yml never runs `{s}`"))
    };
    let steps = [
        "release.sh check",
        "release.sh package",
        "release.sh checksums",
        "release.sh tag",
        "release.sh publish",
        "release.sh merge-back",
    ];
    for pair in steps.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} after {}", pair[0], pair[1]);
    }
    // Started by hand with a version; on pull requests it only builds. Nothing but release.sh
    // talks to the release (after the tag exists).
    assert!(wf.contains("\n  workflow_dispatch:\n"));
    assert!(
        !wf.contains("\n  push:"),
        "a pushed tag must not start a release"
    );
    let gh_release = regex::Regex::new(r"(^|[\s;&|(])gh\s+release\b").unwrap();
    assert!(
        !gh_release.is_match(&wf),
        "release.yml calls gh release itself"
    );
    let release_job = wf.split("\n  release:\n").nth(1).unwrap();
    assert!(release_job.contains("if: github.event_name == 'workflow_dispatch'"));
    for (os, target) in [
        ("ubuntu-24.04", "x86_64-unknown-linux-musl"),
        ("ubuntu-24.04-arm", "aarch64-unknown-linux-musl"),
        ("macos-15-intel", "x86_64-apple-darwin"),
        ("macos-15", "aarch64-apple-darwin"),
        ("windows-2022", "x86_64-pc-windows-msvc"),
    ] {
        assert!(
            wf.contains(&format!("{{ os: {os}, target: {target} }}")),
            "{target} on {os}"
        );
    }
    assert!(!wf.contains("macos-13"), "macos-13 runners are retired");
}

/// Every file the crate's sources `include_str!`, relative to the repository root (a
/// `concat!("../docs/rules/", …)` counts as that folder).
fn included_files() -> Vec<String> {
    let re = regex::Regex::new(r#"include_(?:str|bytes)!\(\s*(?:concat!\(\s*)?"([^"]+)""#).unwrap();
    let mut out = vec![];
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for c in re.captures_iter(&text) {
                    let mut parts: Vec<String> = dir
                        .strip_prefix(root())
                        .unwrap()
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    for p in c[1].split('/') {
                        match p {
                            ".." => {
                                parts.pop();
                            }
                            "." | "" => {}
                            p => parts.push(p.to_string()),
                        }
                    }
                    out.push(parts.join("/"));
                }
            }
        }
    }
    out
}

#[test]
fn the_package_and_the_build_cache_key_cover_every_included_file() {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let include: Vec<String> = cargo
        .split("\ninclude = [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|p| {
            p.trim_start_matches('/')
                .trim_end_matches("/**")
                .to_string()
        })
        .collect();
    let install = std::fs::read_to_string(root().join("scripts/install.sh")).unwrap();
    let hashed: Vec<&str> = install
        .lines()
        .find(|l| l.trim_start().starts_with("find Cargo.toml Cargo.lock"))
        .expect("install.sh's source hash")
        .split_whitespace()
        .skip(1)
        .take_while(|w| !w.starts_with('-'))
        .collect();
    let files = included_files();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let covered = |p: &str| f == p || f.starts_with(&format!("{p}/"));
        assert!(
            include.iter().any(|p| covered(p)),
            "Cargo.toml's include misses {f}"
        );
        assert!(
            hashed.iter().any(|p| covered(p)),
            "install.sh's source hash misses {f}"
        );
    }
}
