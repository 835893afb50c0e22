//! The action's install step (`scripts/install.sh`) under test: a runner's environment in a
//! temporary directory, release archives made here, the release host on 127.0.0.1 and the
//! checksums file committed in the action. Shared by `tests/install.rs` and `tests/tamper`.

use super::{root, Reply, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const VERSION: &str = "v9.9.9";

pub struct Runner {
    pub dir: tempfile::TempDir,
}

impl Runner {
    pub fn new() -> Runner {
        let r = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["temp", "cache", "libclang"] {
            std::fs::create_dir_all(r.path(d)).unwrap();
        }
        // libclang is "installed" unless a test says otherwise: no test runs the real apt-get.
        std::fs::write(r.path("libclang/libclang.so"), "").unwrap();
        std::fs::write(r.path("github_path"), "").unwrap();
        r
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `bash scripts/install.sh` as a step on `os`/`arch` would run it.
    pub fn install(&self, os: &str, arch: &str, server: &Server, extra: &[(&str, &str)]) -> Out {
        self.install_with(&[], os, arch, server, extra)
    }

    /// `install` with arguments to the script (`--cache-key`).
    pub fn install_with(
        &self,
        args: &[&str],
        os: &str,
        arch: &str,
        server: &Server,
        extra: &[(&str, &str)],
    ) -> Out {
        let mut c = Command::new("bash");
        c.arg(root().join("scripts/install.sh"))
            .args(args)
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
            .env("MERGE_GATES_CARGO", self.path("fake-cargo"))
            .env("MERGE_GATES_LIBCLANG_DIRS", self.path("libclang"));
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
    pub fn fake_cargo(&self) {
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built\\n' > \"$root/bin/merge-gates\"\nchmod +x \"$root/bin/merge-gates\"\n",
            self.path("cargo-calls").display()
        );
        let p = self.path("fake-cargo");
        std::fs::write(&p, script).unwrap();
        chmod_x(&p);
    }

    pub fn cargo_calls(&self) -> String {
        std::fs::read_to_string(self.path("cargo-calls")).unwrap_or_default()
    }
}

pub struct Out {
    pub code: i32,
    pub log: String,
    pub path: String,
}

impl Out {
    /// The step exited with `code` and logged `text`.
    pub fn expect(&self, code: i32, text: &str) {
        assert_eq!(self.code, code, "{}", self.log);
        assert!(self.log.contains(text), "no `{text}` in:\n{}", self.log);
    }
}

pub fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A release archive holding a fake `merge-gates` that prints `marker`.
pub fn archive(dir: &Path, asset: &str, marker: &str) -> Vec<u8> {
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

pub fn sha256(data: &[u8], dir: &Path) -> String {
    let p = dir.join("hash-me");
    std::fs::write(&p, data).unwrap();
    let out = Command::new("sha256sum").arg(&p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

pub const PLATFORMS: &[(&str, &str, &str)] = &[
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
pub fn release(runner: &Runner) -> Server {
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

pub fn installed(out: &Out, exe: &str) -> String {
    let dir = out.path.lines().last().expect("a directory on GITHUB_PATH");
    let o = Command::new("sh")
        .arg(Path::new(dir).join(exe))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
