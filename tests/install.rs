//! The action's install step (`scripts/install.sh`), run with bash against a local HTTP server
//! standing in for the release host, serving archives made here: the asset chosen for each
//! OS/arch, the SHA-256 check against the committed checksums (a mismatch is fatal), the
//! fallback build when there is no prebuilt binary (with a fake cargo that records how it was
//! called), `fallback: none`, and a cached second run that downloads nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{root, Reply, Server};

const VERSION: &str = "v9.9.9";

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let r = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["temp", "cache"] {
            std::fs::create_dir_all(r.path(d)).unwrap();
        }
        std::fs::write(r.path("github_path"), "").unwrap();
        r
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `bash scripts/install.sh` as a step on `os`/`arch` would run it.
    fn install(&self, os: &str, arch: &str, server: &Server, extra: &[(&str, &str)]) -> Out {
        let mut c = Command::new("bash");
        c.arg(root().join("scripts/install.sh"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", self.path("temp"))
            .env("RUNNER_TOOL_CACHE", self.path("cache"))
            .env("GITHUB_PATH", self.path("github_path"))
            .env("MG_ACTION_REF", VERSION)
            .env(
                "MERGE_GATES_RELEASE_URL",
                format!("{}/releases", server.url),
            )
            .env("MERGE_GATES_CHECKSUMS", self.path("checksums.txt"))
            .env("MERGE_GATES_CARGO", self.path("fake-cargo"));
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            path: std::fs::read_to_string(self.path("github_path")).unwrap(),
        }
    }

    /// A cargo that records its arguments and "builds" a binary under `--root`.
    fn fake_cargo(&self) {
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built\\n' > \"$root/bin/merge-gates\"\nchmod +x \"$root/bin/merge-gates\"\n",
            self.path("cargo-calls").display()
        );
        let p = self.path("fake-cargo");
        std::fs::write(&p, script).unwrap();
        chmod_x(&p);
    }

    fn cargo_calls(&self) -> String {
        std::fs::read_to_string(self.path("cargo-calls")).unwrap_or_default()
    }
}

struct Out {
    code: i32,
    log: String,
    path: String,
}

impl Out {
    /// The step exited with `code` and logged `text`.
    fn expect(&self, code: i32, text: &str) {
        assert_eq!(self.code, code, "{}", self.log);
        assert!(self.log.contains(text), "no `{text}` in:\n{}", self.log);
    }
}

fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A release archive holding a fake `merge-gates` that prints `marker`.
fn archive(dir: &Path, asset: &str, marker: &str) -> Vec<u8> {
    let stage = dir.join(format!("stage-{asset}"));
    std::fs::create_dir_all(&stage).unwrap();
    let exe = if asset.ends_with(".zip") {
        "merge-gates.exe"
    } else {
        "merge-gates"
    };
    std::fs::write(stage.join(exe), format!("#!/bin/sh\necho {marker}\n")).unwrap();
    chmod_x(&stage.join(exe));
    std::fs::write(stage.join("LICENSE"), "MIT\n").unwrap();
    let out = dir.join(asset);
    let status = if asset.ends_with(".zip") {
        Command::new("python3")
            .args(["-c", "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.write(sys.argv[2], 'merge-gates.exe')\n    z.write(sys.argv[3], 'LICENSE')"])
            .arg(&out)
            .arg(stage.join(exe))
            .arg(stage.join("LICENSE"))
            .status()
    } else {
        Command::new("tar")
            .arg("-czf")
            .arg(&out)
            .arg("-C")
            .arg(&stage)
            .args([exe, "LICENSE"])
            .status()
    };
    assert!(status.unwrap().success());
    std::fs::read(out).unwrap()
}

fn sha256(data: &[u8], dir: &Path) -> String {
    let p = dir.join("hash-me");
    std::fs::write(&p, data).unwrap();
    let out = Command::new("sha256sum").arg(&p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

const PLATFORMS: &[(&str, &str, &str)] = &[
    (
        "Linux",
        "X64",
        "merge-gates-x86_64-unknown-linux-musl.tar.gz",
    ),
    (
        "Linux",
        "ARM64",
        "merge-gates-aarch64-unknown-linux-musl.tar.gz",
    ),
    ("macOS", "X64", "merge-gates-x86_64-apple-darwin.tar.gz"),
    ("macOS", "ARM64", "merge-gates-aarch64-apple-darwin.tar.gz"),
    ("Windows", "X64", "merge-gates-x86_64-pc-windows-msvc.zip"),
];

/// A release host serving every platform's archive (each with its own marker), and the
/// checksums file committed in the action.
fn release(runner: &Runner) -> Server {
    let server = Server::start(vec![]);
    let mut sums = String::from("# merge-gates release checksums\n");
    for (_, _, asset) in PLATFORMS {
        let data = archive(runner.dir.path(), asset, asset);
        sums.push_str(&format!(
            "{}  {VERSION}/{asset}\n",
            sha256(&data, runner.dir.path())
        ));
        server.route(
            &format!("/releases/{VERSION}/{asset}"),
            vec![Reply::bytes(200, data)],
        );
    }
    std::fs::write(runner.path("checksums.txt"), sums).unwrap();
    server
}

fn installed(out: &Out, exe: &str) -> String {
    let dir = out.path.lines().last().expect("a directory on GITHUB_PATH");
    let o = Command::new("sh")
        .arg(Path::new(dir).join(exe))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn the_asset_for_each_platform_is_chosen_and_verified() {
    for (os, arch, asset) in PLATFORMS {
        let runner = Runner::new();
        let server = release(&runner);
        let out = runner.install(os, arch, &server, &[]);
        assert_eq!(out.code, 0, "{os}/{arch}: {}", out.log);
        assert!(out.log.contains("verified"), "{}", out.log);
        let exe = if *os == "Windows" {
            "merge-gates.exe"
        } else {
            "merge-gates"
        };
        assert_eq!(installed(&out, exe), *asset, "{os}/{arch}");
        let got: Vec<String> = server
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(got, [format!("/releases/{VERSION}/{asset}")], "{os}/{arch}");
        assert!(
            !server.requests.lock().unwrap()[0]
                .headers
                .contains_key("authorization"),
            "no credentials go to the release host"
        );
    }
}

#[test]
fn a_checksum_mismatch_is_fatal_even_with_a_fallback() {
    let runner = Runner::new();
    runner.fake_cargo();
    let server = release(&runner);
    let asset = PLATFORMS[0].2;
    server.route(
        &format!("/releases/{VERSION}/{asset}"),
        vec![Reply::bytes(
            200,
            archive(runner.dir.path(), "evil.tar.gz", "evil"),
        )],
    );
    let out = runner.install("Linux", "X64", &server, &[]);
    out.expect(1, "::error title=merge-gates install::checksum mismatch");
    assert!(out.path.is_empty(), "nothing put on PATH");
    assert!(
        runner.cargo_calls().is_empty(),
        "no fallback after a mismatch"
    );
    assert!(!runner
        .path("cache/merge-gates")
        .join(VERSION)
        .join("x86_64-unknown-linux-musl/bin/merge-gates")
        .exists());
}

#[test]
fn no_prebuilt_binary_falls_back_to_cargo_install_with_a_notice() {
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        // The release lacks the asset (404).
        (
            "Linux",
            "X64",
            &[("MERGE_GATES_RELEASE_URL", "")],
            "downloading",
        ),
        // A platform without a release binary.
        ("Linux", "ARM", &[], "no release binary for Linux/ARM"),
        // A branch ref.
        (
            "Linux",
            "X64",
            &[("MG_ACTION_REF", "main")],
            "not a release tag",
        ),
        // A version with no committed checksum.
        (
            "Linux",
            "X64",
            &[("MG_VERSION", "v0.0.1")],
            "no SHA-256 for v0.0.1/",
        ),
    ];
    for (os, arch, extra, why) in cases {
        let runner = Runner::new();
        runner.fake_cargo();
        let server = release(&runner);
        let base = format!("{}/nothing-here", server.url);
        let extra: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| {
                if *k == "MERGE_GATES_RELEASE_URL" {
                    (*k, base.as_str())
                } else {
                    (*k, *v)
                }
            })
            .collect();
        let out = runner.install(os, arch, &server, &extra);
        out.expect(
            0,
            "::notice title=merge-gates install::no prebuilt merge-gates binary",
        );
        out.expect(0, why);
        let calls = runner.cargo_calls();
        assert!(
            calls.starts_with(&format!("install --locked --path {}", root().display())),
            "{calls}"
        );
        assert_eq!(installed(&out, "merge-gates"), "built");
    }
}

#[test]
fn fallback_none_makes_a_missing_binary_an_error() {
    let runner = Runner::new();
    runner.fake_cargo();
    let server = release(&runner);
    let out = runner.install("Linux", "ARM", &server, &[("MG_FALLBACK", "none")]);
    assert_eq!(out.code, 1, "{}", out.log);
    assert!(out
        .log
        .contains("::error title=merge-gates install::no prebuilt merge-gates binary"));
    assert!(runner.cargo_calls().is_empty());
    assert!(out.path.is_empty());
    let out = runner.install("Linux", "X64", &server, &[("MG_FALLBACK", "sometimes")]);
    assert_eq!(out.code, 1);
}

#[test]
fn a_cached_second_run_does_not_download() {
    let runner = Runner::new();
    let server = release(&runner);
    let asset = PLATFORMS[0].2;
    let route = format!("GET /releases/{VERSION}/{asset}");
    let first = runner.install("Linux", "X64", &server, &[]);
    assert_eq!(first.code, 0, "{}", first.log);
    assert_eq!(server.count(&route), 1);
    let second = runner.install("Linux", "X64", &server, &[]);
    assert_eq!(second.code, 0, "{}", second.log);
    assert!(second.log.contains("from the tool cache"), "{}", second.log);
    assert_eq!(server.count(&route), 1, "the second run downloaded again");
    assert_eq!(installed(&second, "merge-gates"), asset);
}
