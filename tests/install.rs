//! The action's install step (`scripts/install.sh`), run with bash against a local HTTP server
//! standing in for the release host, serving archives made here: the asset chosen for each
//! OS/arch, the SHA-256 check against the committed checksums (a mismatch is fatal), the
//! fallback build when there is no prebuilt binary (with a fake cargo that records how it was
//! called), `fallback: none`, and a cached second run that downloads nothing.

mod support;

use support::install::*;
use support::{root, Reply};

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

/// Fake `apt-get`, `sudo`, `brew` and `id` (a non-root user, as on a GitHub-hosted runner) in a
/// folder put first on PATH; each records its arguments in `calls`.
fn fake_system(runner: &Runner) -> String {
    let bin = runner.path("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = runner.path("system-calls");
    let llvm = runner.path("brew-llvm");
    for (name, body) in [
        ("apt-get", "exit 0".to_string()),
        ("sudo", "exec \"$@\"".to_string()),
        ("id", "echo 1001".to_string()),
        (
            "brew",
            format!("[ \"$1\" = --prefix ] && echo '{}'; exit 0", llvm.display()),
        ),
    ] {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
                calls.display()
            ),
        )
        .unwrap();
        chmod_x(&p);
    }
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

#[test]
fn a_fallback_build_without_libclang_installs_it_first() {
    // Linux: `sudo apt-get install` of libclang-dev and clang, with a notice, before cargo.
    let runner = Runner::new();
    runner.fake_cargo();
    let server = release(&runner);
    let path = fake_system(&runner);
    let missing = runner.path("no-libclang");
    std::fs::create_dir_all(&missing).unwrap();
    let missing = missing.to_str().unwrap();
    let extra = [
        ("MG_ACTION_REF", "main"),
        ("PATH", path.as_str()),
        ("MERGE_GATES_LIBCLANG_DIRS", missing),
    ];
    let out = runner.install("Linux", "X64", &server, &extra);
    out.expect(
        0,
        "::notice title=merge-gates install::libclang (needed to build pg_query) is missing",
    );
    let calls = std::fs::read_to_string(runner.path("system-calls")).unwrap();
    assert!(
        calls.contains("sudo apt-get install -y -qq libclang-dev clang\n"),
        "{calls}"
    );
    assert!(calls.contains("apt-get install -y -qq libclang-dev clang\n"));
    assert!(!runner.cargo_calls().is_empty(), "the build ran after it");
    assert_eq!(installed(&out, "merge-gates"), "built");

    // libclang present: nothing is installed.
    let runner = Runner::new();
    runner.fake_cargo();
    let path = fake_system(&runner);
    let out = runner.install(
        "Linux",
        "X64",
        &server,
        &[("MG_ACTION_REF", "main"), ("PATH", path.as_str())],
    );
    assert_eq!(out.code, 0, "{}", out.log);
    assert!(!out.log.contains("libclang"), "{}", out.log);
    assert!(!runner.path("system-calls").exists());

    // macOS: Homebrew's llvm, and the build is told where its libclang is.
    let runner = Runner::new();
    let path = fake_system(&runner);
    let cargo = runner.path("fake-cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"LIBCLANG_PATH=$LIBCLANG_PATH\" >> '{}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built\\n' > \"$root/bin/merge-gates\"\nchmod +x \"$root/bin/merge-gates\"\n",
            runner.path("cargo-calls").display()
        ),
    )
    .unwrap();
    chmod_x(&cargo);
    let extra = [
        ("MG_ACTION_REF", "main"),
        ("PATH", path.as_str()),
        ("MERGE_GATES_LIBCLANG_DIRS", missing),
    ];
    let out = runner.install("macOS", "ARM64", &server, &extra);
    out.expect(0, "installing llvm with Homebrew");
    let calls = std::fs::read_to_string(runner.path("system-calls")).unwrap();
    assert!(calls.contains("brew install --quiet llvm\n"), "{calls}");
    assert_eq!(
        runner.cargo_calls().trim(),
        format!("LIBCLANG_PATH={}/lib", runner.path("brew-llvm").display())
    );
}

#[test]
fn the_cache_key_names_the_platform_and_the_source() {
    let runner = Runner::new();
    let server = release(&runner);
    let key = |os: &str, arch: &str, extra: &[(&str, &str)]| {
        let output = runner.path("github_output");
        std::fs::write(&output, "").unwrap();
        let mut extra = extra.to_vec();
        let o = output.to_str().unwrap().to_string();
        extra.push(("GITHUB_OUTPUT", &o));
        let out = runner.install_with(&["--cache-key"], os, arch, &server, &extra);
        assert_eq!(out.code, 0, "{}", out.log);
        assert!(out.path.is_empty(), "--cache-key installs nothing");
        std::fs::read_to_string(&output).unwrap()
    };
    let main = key("Linux", "X64", &[("MG_ACTION_REF", "main")]);
    let re = regex::Regex::new(
        r"^key=merge-gates-build-Linux-X64-[0-9a-f]{64}\npath=(.*)/merge-gates-build\n$",
    )
    .unwrap();
    assert!(re.is_match(&main), "{main}");
    assert!(main.contains(runner.path("temp").to_str().unwrap()));
    // The same source under another ref shares the key; another platform does not.
    assert_eq!(key("Linux", "X64", &[("MG_ACTION_REF", "0123abc")]), main);
    let arm = key("macOS", "ARM64", &[("MG_ACTION_REF", "main")]);
    assert!(
        arm.starts_with("key=merge-gates-build-macOS-ARM64-"),
        "{arm}"
    );
    assert_ne!(arm.lines().next(), main.lines().next());
}

#[test]
fn only_a_build_asks_the_action_to_save_the_cache() {
    let runner = Runner::new();
    runner.fake_cargo();
    let server = release(&runner);
    let output = runner.path("github_output");
    let o = output.to_str().unwrap().to_string();
    std::fs::write(&output, "").unwrap();
    let out = runner.install("Linux", "X64", &server, &[("GITHUB_OUTPUT", &o)]);
    assert_eq!(out.code, 0, "{}", out.log);
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "",
        "a download is not cached"
    );
    let extra = [("GITHUB_OUTPUT", o.as_str()), ("MG_ACTION_REF", "main")];
    let out = runner.install("Linux", "X64", &server, &extra);
    assert_eq!(out.code, 0, "{}", out.log);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "built=true\n");
}

#[test]
fn a_restored_build_of_the_same_source_is_reused() {
    let runner = Runner::new();
    runner.fake_cargo();
    let server = release(&runner);
    let first = runner.install("Linux", "X64", &server, &[("MG_ACTION_REF", "main")]);
    assert_eq!(first.code, 0, "{}", first.log);
    // The next run (the build dir restored by actions/cache) at another ref of the same source.
    std::fs::write(runner.path("github_path"), "").unwrap();
    let second = runner.install("Linux", "X64", &server, &[("MG_ACTION_REF", "feature")]);
    second.expect(0, "reusing the build of this source");
    assert_eq!(runner.cargo_calls().lines().count(), 1, "built twice");
    assert_eq!(installed(&second, "merge-gates"), "built");
    // A build of other source is not reused.
    let source = runner.path("temp/merge-gates-build/source");
    std::fs::write(&source, "0".repeat(64)).unwrap();
    let third = runner.install("Linux", "X64", &server, &[("MG_ACTION_REF", "main")]);
    assert_eq!(third.code, 0, "{}", third.log);
    assert_eq!(runner.cargo_calls().lines().count(), 2);
}
