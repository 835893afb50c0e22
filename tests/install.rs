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
