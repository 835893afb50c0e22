//! The hostile-input suite: every gate in `repo::GATES` against input built to break it —
//! bad bytes, huge and sparse files, FIFOs, devices, symlink tricks, deep and crowded trees,
//! workflow-command smuggling in file names, a hostile config file and a GitHub API that
//! times out, fails, lies or loops.
//!
//! Every child runs the built binary under a wall-clock bound with its peak memory measured,
//! and `Run::check` holds it to the invariants: exit 0, 1 or 2, no panic, peak RSS under
//! `repo::MAX_RSS`, nothing from outside the repository and never the token in the output.
//! Each case also says what the user must see: a finding or error naming the file (and line).
//! `docs/hardening.md` describes the cases and how to add a gate.

#[path = "hostile/repo.rs"]
mod repo;
mod support;

use repo::{bounded, Gate, Hostile, Run, GATES, SECRET};
use serde_json::json;
use std::borrow::Cow;
use std::time::Duration;
use support::{actions, bin, pull_request_event, Reply, Server, TOKEN};

/// A file of one valid entry.
fn valid(gate: &Gate) -> Vec<u8> {
    format!("{}\n", (gate.entry)(0)).into_bytes()
}

/// Bad bytes inside the files a gate reads: each is a finding at its file and line (or no
/// finding at all where the input is fine: a BOM and CRLF line ends).
#[test]
fn bad_bytes_are_findings_at_their_line() {
    for gate in GATES {
        let mut h = Hostile::new();
        let v = &(gate.entry)(0);
        let flagged = |bytes: &[u8]| [(gate.flagged)(bytes), b"\n".to_vec()].concat();
        // Nested 100,000 deep, then (on the same line) something the gate flags: the nesting
        // must neither crash the parser nor hide what follows it.
        let deep = |open: &str, mid: &str, close: &str| {
            let nest = format!("{}{mid}{};", open.repeat(100_000), close.repeat(100_000));
            [nest.into_bytes(), flagged(b"")].concat()
        };
        let cases: Vec<(&str, Vec<u8>, Option<u64>)> = vec![
            (
                "invalid-utf8",
                [format!("{v}\n").into_bytes(), flagged(b"\xff\xfe")].concat(),
                Some(2),
            ),
            (
                "nul",
                [
                    format!("{v}\n").into_bytes(),
                    flagged(b"a\0b"),
                    b"\0\0\0\n".to_vec(),
                ]
                .concat(),
                Some(2),
            ),
            (
                "bom-crlf",
                format!("\u{feff}{v}\r\n{v}\r\n").into_bytes(),
                None,
            ),
            // A lone CR ends the entry's line (and a trailing comment) for every format here.
            (
                "lone-cr",
                [format!("{v}\r").into_bytes(), flagged(b"")].concat(),
                Some(1),
            ),
            ("deep-array", deep("[", "", "]"), Some(1)),
            ("deep-object", deep("{\"a\":", "1", "}"), Some(1)),
            ("deep-parens", deep("(", "1", ")"), Some(1)),
        ];
        let mut expect = Vec::new();
        for (stem, bytes, line) in &cases {
            expect.push((h.plant(gate, stem, bytes), *line));
        }
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        assert_eq!(run.code, 1, "{}: {}", gate.cmd, run.stderr);
        for (path, line) in expect {
            match line {
                Some(n) => {
                    run.names(&path, Some(n));
                }
                // Fine, except where the consumer itself would choke on the BOM (PostgreSQL).
                None => assert!(
                    run.findings_for(&path).iter().all(|f| f["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("byte-order mark"))),
                    "{}: a BOM and CRLF are fine: {:?}",
                    gate.cmd,
                    run.findings_for(&path)
                ),
            }
        }
    }
}

/// A 100 MB single line and a 1 GB sparse file, with the size limit lifted so both are really
/// read: they stream through in bounded memory, and each over-long line is a finding. With the
/// default limit the 1 GB file is refused without being read.
#[test]
fn a_100_mb_line_and_a_1_gb_file_stream_in_bounded_memory() {
    for gate in GATES {
        let mut h = Hostile::new();
        h.config(gate.unlimited);
        let line = h.plant_sparse(gate, "line", &(gate.flagged)(b""), 100 << 20);
        let huge = h.plant_sparse(gate, "huge", b"", 1 << 30);
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        // Read (a finding at line 1) where the limit was lifted, else refused by name.
        run.names(&line, (!gate.unlimited.is_empty()).then_some(1));
        run.names(&huge, gate.streams.then_some(1));
        eprintln!(
            "{}: 1.1 GB streamed in {:?}, peak RSS {} MiB",
            gate.cmd,
            run.elapsed,
            run.peak_rss >> 20
        );

        h.config("");
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        run.names(&huge, None);
        run.within(
            &format!("{}: the 1 GB file must be refused, not read", gate.cmd),
            Duration::from_secs(10),
        );
    }
}

/// 300,000 valid, varied entries (up to 50 MB, under the default size limit): whatever a
/// gate keeps per line or per finding must not grow memory without bound.
#[test]
fn a_long_valid_file_is_checked_in_bounded_memory() {
    for gate in GATES {
        let mut h = Hostile::in_memory();
        let mut text = String::with_capacity(64 << 20);
        for i in 0..300_000 {
            text.push_str(&(gate.entry)(i));
            text.push('\n');
        }
        let long = h.plant(gate, "long", text.as_bytes());
        drop(text);
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        let findings = run.findings().len();
        assert!(
            !run.findings_for(&long).iter().any(|f| {
                let rule = f["rule"].as_str().unwrap();
                ["/file-too-large", "/file-skipped", "/file-unreadable"]
                    .iter()
                    .any(|r| rule.ends_with(r))
            }),
            "{}: the file must be read: {:?}",
            gate.cmd,
            run.findings_for(&long)
        );
        eprintln!(
            "{}: 300,000 entries in {:?}, {findings} findings, peak RSS {} MiB",
            gate.cmd,
            run.elapsed,
            run.peak_rss >> 20
        );
        assert!(findings <= 5_000, "{}: {findings} findings", gate.cmd);
    }
}

/// Things that are not regular files: opening a FIFO would block, `/dev/zero` never ends, a
/// symlink loop never resolves. Each is a finding naming the path, found without waiting.
#[test]
fn special_files_never_block() {
    for gate in GATES {
        let mut h = Hostile::new();
        let mut paths = vec![
            h.plant_fifo(gate, "fifo"),
            h.plant_symlink(gate, "zero", "/dev/zero".as_ref()),
            h.plant_dir(gate, "directory"),
        ];
        let (a, b) = ((gate.place)("loop-a"), (gate.place)("loop-b"));
        let name = |p: &str| std::path::Path::new(p).file_name().unwrap().to_owned();
        paths.push(h.plant_symlink(gate, "loop-a", name(&b).as_ref()));
        paths.push(h.plant_symlink(gate, "loop-b", name(&a).as_ref()));
        let selfie = (gate.place)("self");
        paths.push(h.plant_symlink(gate, "self", name(&selfie).as_ref()));
        let dangling = h.plant_symlink(gate, "dangling", "no-such-file".as_ref());
        // A gate that walks the tree passes over what is not a file (it cannot hold code);
        // given the paths as the PR's changed files, it must name each (but a dangling link,
        // like a deleted file, holds nothing to check).
        if let Some(listed) = gate.walks {
            h.run(gate, &[])
                .check(gate.cmd)
                .within(gate.cmd, Duration::from_secs(10));
            let run = h.run(gate, &[listed]);
            run.check(gate.cmd);
            for p in &paths {
                run.names(p, None);
            }
            continue;
        }
        paths.push(dangling);
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        assert_eq!(run.code, 1, "{}", run.stderr);
        for p in &paths {
            run.names(p, None);
        }
    }
}

/// Symlinks out of the repository, `..` and absolute paths: refused as such, and nothing out
/// there is opened. The outside holds a secret (never printed) and a FIFO: following a link to
/// it would block the run, and the bound would catch that.
#[test]
fn nothing_outside_the_repository_is_read() {
    for gate in GATES {
        let mut h = Hostile::new();
        let outside = h.outside();
        let mut paths = vec![
            h.plant_symlink(gate, "secret", &outside.join("secret.jsonl")),
            h.plant_symlink(gate, "trap", &outside.join("trap.jsonl")),
        ];
        // A link to the outside directory (as a listed file, and as a folder to list through).
        paths.push(h.plant_symlink(gate, "linkdir", &outside));
        let through = (gate.place)("secret");
        let (folder, name) = through.rsplit_once('/').unwrap();
        std::os::unix::fs::symlink(&outside, h.root().join(folder).join("dir")).unwrap();
        std::fs::write(outside.join(name), format!("{SECRET}\n")).unwrap();
        let through = format!("{folder}/dir/{name}");
        h.list(&through);
        // (A migration is a file directly in `supabase/migrations/`: the nested path is none.)
        if gate.opens_listed_paths || gate.walks.is_some() {
            paths.push(through);
        }
        // A relative link climbing out.
        let depth = (gate.place)("x").matches('/').count() + 1;
        let climb = format!("{}outside/secret.jsonl", "../".repeat(depth));
        paths.push(h.plant_symlink(gate, "climb", climb.as_ref()));
        let dotdot = format!("{}outside/secret.jsonl", "../".repeat(depth));
        let absolute = outside.join("secret.jsonl").display().to_string();
        h.list(&dotdot);
        h.list(&absolute);
        // Only a gate that opens the paths the body lists has to name these two.
        if gate.opens_listed_paths {
            paths.extend([dotdot, absolute]);
        }
        let extra: Vec<&str> = gate.walks.into_iter().collect();
        if gate.walks.is_some() {
            // Walking the tree, links out of it are pruned unread (and need not be named).
            h.run(gate, &[]).check(gate.cmd);
        }
        for format in ["json", "text", "github"] {
            let run = h.run(gate, &[&extra[..], &["--format", format]].concat());
            run.check(&format!("{} --format {format}", gate.cmd));
            // (dev-mcp-ban's file-skipped is a notice.)
            assert!(run.code == 1 || gate.walks.is_some(), "{}", run.stderr);
            if format == "json" {
                for p in &paths {
                    let found = run.findings_for(p);
                    assert!(
                        !found.is_empty()
                            && found.iter().all(|f| {
                                f["rule"].as_str().unwrap().ends_with("/path-escapes-repo")
                                    || f["message"]
                                        .as_str()
                                        .unwrap()
                                        .contains("outside the repository")
                            }),
                        "{}: `{p}` gave {found:?}",
                        gate.cmd
                    );
                }
            }
        }
    }
}

/// A directory 1,000 levels deep and one holding 100,000 files (empty: inodes, no data).
#[test]
fn deep_and_crowded_directories() {
    for gate in GATES {
        let mut h = Hostile::in_memory();
        let deep = h.plant(gate, &format!("{}deep", "d/".repeat(1000)), &valid(gate));
        let listed = h.plant(gate, "listed", &valid(gate));
        let crowd = h.root().join(&listed).parent().unwrap().to_path_buf();
        for i in 0..100_000 {
            std::fs::File::create(crowd.join(format!("f{i:06}"))).unwrap();
        }
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        assert!(
            run.findings_for(&listed).is_empty(),
            "{}: {:?}",
            gate.cmd,
            run.findings_for(&listed)
        );
        // The deep file is read, or refused by name (e.g. outside an evidence root).
        let deep_findings = run.findings_for(&deep);
        assert!(
            deep_findings.is_empty() || run.code == 1,
            "{}: {deep_findings:?}",
            gate.cmd
        );
        eprintln!(
            "{}: crowded and deep directories in {:?}",
            gate.cmd, run.elapsed
        );
        run.within(gate.cmd, Duration::from_secs(20));
    }
}

/// 10,000 listed files (symlinks to one valid file: no disk use) are all checked.
#[test]
fn ten_thousand_listed_paths() {
    for gate in GATES {
        let mut h = Hostile::in_memory();
        let target = h.plant(gate, "target", &valid(gate));
        let name = std::path::Path::new(&target)
            .file_name()
            .unwrap()
            .to_owned();
        for i in 0..9_999 {
            h.plant_symlink(gate, &format!("copy-{i:04}"), name.as_ref());
        }
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        eprintln!("{}: 10,000 files checked in {:?}", gate.cmd, run.elapsed);
        assert_eq!(run.code, 0, "{}: {:?}", gate.cmd, run.findings());
        run.within(gate.cmd, Duration::from_secs(30));
    }
}

/// PR bodies far beyond GitHub's 65,536 characters. One just under merge-gates' 1 MiB cap,
/// made of 60,000 distinct paths, is read in bounded time (no quadratic work per path); a
/// 10 MB body file is refused with an error naming it (by the gates that read a body).
#[test]
fn huge_pr_bodies() {
    for gate in GATES {
        let mut h = Hostile::new();
        let many: Vec<String> = (0..60_000).map(|i| format!("{i}.jsonl")).collect();
        h.body = Some((gate.body)(&many));
        assert!(h.body.as_ref().unwrap().len() < 1 << 20);
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        assert!(run.code == 1 || !gate.opens_listed_paths, "{}", run.stderr);
        run.within(gate.cmd, Duration::from_secs(20));

        let line = "- artifacts/eng/2025-10-21/mcp/padding-padding-padding.jsonl\n";
        h.body = Some(format!(
            "{}{}",
            (gate.body)(&[]),
            line.repeat((10 << 20) / line.len())
        ));
        let run = h.run(gate, &[]);
        run.check(gate.cmd);
        // A gate that needs no PR body never reads the file (the best bound of all).
        if !gate.api.contains(&"pull") {
            continue;
        }
        assert_eq!(run.code, 2, "{}: {}", gate.cmd, run.stdout);
        assert!(
            run.stderr.contains("body.md") && run.stderr.contains("1 MiB"),
            "{}: {}",
            gate.cmd,
            run.stderr
        );
    }
}

/// The Actions toolkit's escaping of an annotation property, plus `%XX` for the other control
/// characters.
fn escape_property(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if "%:,".contains(c) || c.is_control() => format!("%{:02X}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            s.get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// File names built to smuggle workflow commands, extra annotation properties or terminal
/// escapes: with `--format github` no line starts a command we did not write, the `file=` of
/// every finding located in a file is escaped, SARIF URIs decode to exactly the file, and no
/// raw ESC or BEL reaches any output. (A body cannot list a name with a comma, CR or LF:
/// those end a path there; gates that walk the tree meet them as they are.)
#[test]
fn hostile_file_names_are_escaped_in_annotations() {
    for gate in GATES {
        let mut h = Hostile::new();
        let broken = &[(gate.flagged)(b""), b"\n".to_vec()].concat();
        for stem in [
            "pct%0A%25name",
            "colon::error::x",
            "eq=1%0D::warning::y",
            "comma,line=9,title=x",
            "nl\n::error::injected",
            "cr\r::warning::injected",
            "esc\u{1b}c-reset-bel\u{7}",
        ] {
            h.plant(gate, stem, broken);
        }
        let located: Vec<String> = h
            .run(gate, &[])
            .findings()
            .iter()
            .filter_map(|f| f["path"].as_str().map(str::to_string))
            .collect();
        assert!(located.len() >= 3, "{}: {located:?}", gate.cmd);
        let run = h.run(gate, &["--format", "github"]);
        run.check(gate.cmd);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let n = support::assert_only_our_workflow_commands(&run.stdout);
        assert!(n >= located.len().min(10), "{}: {n} annotations", gate.cmd);
        // SARIF URIs are percent-encoded: decoded, each is exactly a located path.
        let sarif: serde_json::Value =
            serde_json::from_str(&h.run(gate, &["--format", "sarif"]).stdout).unwrap();
        for r in sarif["runs"][0]["results"].as_array().unwrap() {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                uri.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/%".contains(&b)),
                "{}: not a URI reference: {uri:?}",
                gate.cmd
            );
            let decoded = percent_decode(uri);
            assert!(
                uri == "." || located.contains(&decoded),
                "{}: `{uri}` decodes to {decoded:?}, not a located path",
                gate.cmd
            );
        }
        // Nor can a name drive the terminal or the log viewer (ESC resets a terminal).
        let text = h.run(gate, &["--format", "text"]);
        for out in [&run.stdout, &text.stdout] {
            assert!(
                !out.contains(['\u{1b}', '\u{7}']),
                "{}: a raw control character reached the output",
                gate.cmd
            );
        }
        for p in &located {
            let prop = format!("file={},", escape_property(p));
            assert!(
                run.stdout.contains(&prop),
                "{}: no `{prop}` in\n{}",
                gate.cmd,
                run.stdout
            );
        }
    }
}

/// A hostile `.github/merge-gates.toml`: every case is an error naming the file (exit 2, a
/// short message that does not echo the input) or, for the harmless BOM and CRLF, accepted.
#[test]
fn a_hostile_config_file_is_an_error_naming_it() {
    let deep = format!("gates = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("invalid UTF-8", b"fail-on = \"err\xffor\"\n".to_vec(), true),
        ("NUL", b"fail-on = \"error\"\n\0\n".to_vec(), true),
        (
            "BOM and CRLF",
            b"\xef\xbb\xbffail-on = \"error\"\r\n".to_vec(),
            false,
        ),
        (
            "lone CR",
            b"fail-on = \"error\"\rgates = []\n".to_vec(),
            true,
        ),
        ("nested 100,000 deep", deep.into_bytes(), true),
    ];
    for gate in GATES {
        let h = Hostile::new();
        let config = h.root().join(".github/merge-gates.toml");
        let expect = |run: &Run, what: &str, error: bool| {
            run.check(&format!("{} config {what}", gate.cmd));
            if error {
                assert_eq!(run.code, 2, "{} config {what}: {}", gate.cmd, run.stderr);
                assert!(
                    run.stderr.contains(".github/merge-gates.toml") && run.stderr.len() < 2000,
                    "{} config {what}: {}",
                    gate.cmd,
                    run.stderr
                );
            } else {
                assert_ne!(run.code, 2, "{} config {what}: {}", gate.cmd, run.stderr);
            }
        };
        for (what, bytes, error) in &cases {
            h.config("");
            std::fs::write(&config, bytes).unwrap();
            expect(&h.run(gate, &[]), what, *error);
        }
        let specials: [(&str, &dyn Fn()); 6] = [
            ("100 MB line", &|| {
                std::fs::write(&config, "# ").unwrap();
                let f = std::fs::OpenOptions::new().write(true).open(&config);
                f.unwrap().set_len(100 << 20).unwrap();
            }),
            ("1 GB sparse", &|| {
                let f = std::fs::File::create(&config).unwrap();
                f.set_len(1 << 30).unwrap();
            }),
            ("FIFO", &|| repo::mkfifo(&config)),
            ("/dev/zero symlink", &|| {
                std::os::unix::fs::symlink("/dev/zero", &config).unwrap()
            }),
            ("symlink to a secret outside", &|| {
                std::os::unix::fs::symlink(h.outside().join("secret.jsonl"), &config).unwrap()
            }),
            ("symlink to a FIFO outside", &|| {
                std::os::unix::fs::symlink(h.outside().join("trap.jsonl"), &config).unwrap()
            }),
        ];
        for (what, make) in specials {
            let _ = std::fs::remove_file(&config);
            make();
            expect(&h.run(gate, &[]), what, true);
        }
    }
}

/// A hostile file where the config points a gate (e.g. the evidence schema): an error naming
/// it, never a hang, a read outside the repository or an echo of its content.
#[test]
fn a_hostile_file_named_by_the_config_is_an_error_naming_it() {
    for gate in GATES {
        let Some(config) = gate.config_names_file else {
            continue;
        };
        let mut h = Hostile::new();
        let outside = h.outside();
        let deep = h.plant(gate, "deep", "[".repeat(100_000).as_bytes());
        let bad = h.plant(gate, "bad-utf8", b"{\"type\": \"\xff\"}");
        let sparse = h.plant_sparse(gate, "sparse", b"", 1 << 30);
        let fifo = h.plant_fifo(gate, "fifo");
        let zero = h.plant_symlink(gate, "zero", "/dev/zero".as_ref());
        let secret = h.plant_symlink(gate, "secret", &outside.join("secret.jsonl"));
        let trap = h.plant_symlink(gate, "trap", &outside.join("trap.jsonl"));
        for rel in [deep, bad, sparse, fifo, zero, secret, trap] {
            h.config(&config(&rel));
            let run = h.run(gate, &[]);
            run.check(&format!("{} config naming {rel}", gate.cmd));
            assert_eq!(run.code, 2, "{} {rel}: {}", gate.cmd, run.stdout);
            assert!(
                run.stderr.contains(&rel) && run.stderr.len() < 2000,
                "{} {rel}: {}",
                gate.cmd,
                run.stderr
            );
        }
    }
}

const PULL: &str = "/repos/Codertocat/Hello-World/pulls/2";

/// One scripted API failure: the reply of every route (given the stand-in's URL and the
/// route), and what the output must say.
#[derive(Clone)]
struct ApiCase {
    name: &'static str,
    reply: Answer,
    says: Cow<'static, str>,
    /// The endpoint whose answer the case is about (`pull`, `files`); empty: every endpoint.
    /// A gate that reads none of them only has to keep the invariants.
    about: &'static str,
}

#[derive(Clone, Copy)]
enum Answer {
    /// This status with a GitHub-style `{"message": …}` on every route.
    Error(u16, &'static str),
    /// Built per route: `(stand-in URL, route) -> reply`.
    Script(fn(&str, &str) -> Reply),
}

impl Answer {
    fn reply(self, url: &str, route: &str) -> Reply {
        match self {
            Answer::Error(status, message) => Reply::json(status, json!({ "message": message })),
            Answer::Script(f) => f(url, route),
        }
    }
}

/// Plain error answers; the output must say `HTTP <status>`.
const API_ERRORS: &[(u16, &str, &str)] = &[
    (503, "Service Unavailable", "a 5xx storm"),
    (401, "Bad credentials", "401"),
    (403, "Resource not accessible by integration", "403"),
    (404, "Not Found", "404"),
];

fn text_reply(status: u16, body: String) -> Reply {
    Reply {
        body,
        ..Reply::json(status, json!(null))
    }
}

const API_CASES: &[ApiCase] = &[
    ApiCase {
        name: "timeout",
        reply: Answer::Script(|_, _| Reply {
            delay: Duration::from_secs(5),
            ..Reply::json(200, json!([]))
        }),
        says: Cow::Borrowed("timed out"),
        about: "",
    },
    ApiCase {
        name: "a server that echoes the token",
        reply: Answer::Script(|_, _| {
            Reply::json(
                401,
                json!({"message": format!("Bad credentials: token {TOKEN}")}),
            )
        }),
        says: Cow::Borrowed("HTTP 401"),
        about: "",
    },
    ApiCase {
        name: "truncated JSON",
        reply: Answer::Script(|_, _| text_reply(200, "{\"number\": 2, \"body\": \"## MCP".into())),
        says: Cow::Borrowed("not what the API documents"),
        about: "",
    },
    ApiCase {
        name: "JSON nested 100,000 deep",
        reply: Answer::Script(|_, _| text_reply(200, "[".repeat(100_000))),
        says: Cow::Borrowed("not what the API documents"),
        about: "",
    },
    ApiCase {
        name: "a reply over the 32 MiB cap",
        reply: Answer::Script(|_, _| text_reply(200, format!("[\"{}\"]", "x".repeat(33 << 20)))),
        says: Cow::Borrowed("over 32 MiB"),
        about: "",
    },
    ApiCase {
        name: "a 10 MB PR body",
        reply: Answer::Script(|_, route| match route.ends_with("/2") {
            true => Reply::json(200, json!({"number": 2, "body": "x".repeat(10 << 20)})),
            false => Reply::json(200, json!([])),
        }),
        says: Cow::Borrowed("over 1 MiB"),
        about: "pull",
    },
    ApiCase {
        name: "changed files named to smuggle workflow commands",
        reply: Answer::Script(|_, route| match route.rsplit('/').next() {
            Some("files") => Reply::json(
                200,
                json!([
                    {"filename": "app/a\n::error::pwned.ts", "status": "added"},
                    {"filename": "app/b\r::set-output name=verdict::pass.ts", "status": "added"},
                    {"filename": "app/c%0A::warning::x,y.ts", "status": "added"},
                    {"filename": "supabase/migrations/1\n::error::pwned.sql", "status": "added"},
                ]),
            ),
            Some("commits") => Reply::json(200, json!([])),
            // A body without the section: the finding lists the code files the PR changes.
            _ => Reply::json(200, json!({"number": 2, "body": "no sections here"})),
        }),
        says: Cow::Borrowed("::error::pwned"),
        about: "files",
    },
    ApiCase {
        name: "a next link that loops back to itself",
        reply: Answer::Script(|url, route| {
            let page = match route.rsplit('/').next() {
                Some("files") => json!([{"filename": "app/x.ts", "status": "added"}]),
                Some("commits") => {
                    json!([{"sha": "ec26c3e", "commit": {"committer": {"date": "2025-10-21T12:00:00Z"}}}])
                }
                _ => return Reply::json(200, json!({"number": 2, "body": ""})),
            };
            let link = format!("<{url}{route}?per_page=100>; rel=\"next\"");
            Reply::json(200, page).header("link", &link)
        }),
        says: Cow::Borrowed("loops"),
        about: "files",
    },
];

/// The GitHub API stand-in answering every route of the PR with one failure mode. Runs as an
/// Actions `pull_request` job with a 2 s API budget and the most verbose log level: bounded in
/// time, a clear message, the token never printed.
#[test]
fn a_failing_github_api_is_bounded_and_explained() {
    let mut cases = API_CASES.to_vec();
    for &(status, message, name) in API_ERRORS {
        cases.push(ApiCase {
            name,
            reply: Answer::Error(status, message),
            says: Cow::Owned(format!("HTTP {status}")),
            about: "",
        });
    }
    // A few cases at a time: each one is a binary with a 2 s API budget, and dozens of them
    // started at once on a 2-core runner spent that budget waiting for a CPU.
    let all: Vec<(&'static Gate, ApiCase)> = GATES
        .iter()
        .flat_map(|g| cases.iter().map(move |c| (g, c.clone())))
        .collect();
    let mut failures: Vec<String> = Vec::new();
    for batch in all.chunks(4) {
        let jobs: Vec<_> = batch
            .iter()
            .cloned()
            .map(|(gate, case)| std::thread::spawn(move || api_case(gate, &case)))
            .collect();
        failures.extend(jobs.into_iter().filter_map(|j| j.join().err()).map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".into())
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn api_case(gate: &'static Gate, case: &ApiCase) {
    let mut h = Hostile::new();
    let listed = h.plant(gate, "good", &valid(gate));
    h.config("[github]\napi-timeout = \"2s\"\n");
    let event = pull_request_event(&h.root(), &(gate.body)(&[listed]));
    let api = Server::start(vec![]);
    api.base_config_from(&h.root());
    for route in [
        PULL.to_string(),
        format!("{PULL}/files"),
        format!("{PULL}/commits"),
    ] {
        api.route(&route, vec![case.reply.reply(&api.url, &route)]);
    }
    let mut cmd = bin();
    actions(&mut cmd, &h.root(), &event, &api.url);
    cmd.env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .args([gate.cmd, "--now", repo::NOW]);
    let what = format!("{} against an API with {}", gate.cmd, case.name);
    let run = bounded(&mut cmd, Duration::from_secs(20));
    run.check(&what);
    support::assert_only_our_workflow_commands(&run.stdout);
    run.within(&what, Duration::from_secs(10));
    let all = format!("{}{}", run.stdout, run.stderr);
    let reads = match case.about {
        "" => !gate.api.is_empty(),
        about => gate.api.contains(&about),
    };
    assert!(
        !reads || all.contains(&*case.says),
        "{what}: the output does not say `{}`:\n{all}",
        case.says
    );
    assert!(!all.contains(SECRET));
}

/// health-gate reads no repository file but its config; what it is handed is flags and config
/// values, request headers, a `deployment_status` payload and Deployments API answers. One run
/// of it in `h`'s repository: `{url}` in an argument is a healthy server on 127.0.0.1, and
/// with `event` set it runs as an Actions job on that event against the API stand-in `api`.
fn health(h: &Hostile, args: &[&str], event: Option<(&str, &[u8])>, api: &str) -> Run {
    let ok = Server::start(vec![(
        "/health",
        vec![Reply::json(200, json!({"ok": true}))],
    )]);
    let mut cmd = bin();
    cmd.arg("health-gate")
        .args(["--repo", h.root().to_str().unwrap(), "--format", "json"])
        .env("RUST_LOG", "trace")
        .env("HOSTILE_HEADER", format!("Bearer {TOKEN}"))
        .env("HOSTILE_CRLF", "a\r\nInjected: 1");
    for (flag, value) in [("--retries", "1"), ("--interval", "0s")] {
        if !args.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    for a in args {
        cmd.arg(a.replace("{url}", &format!("{}/health", ok.url)));
    }
    if let Some((name, payload)) = event {
        let path = h.outside().parent().unwrap().join("event.json");
        std::fs::write(&path, payload).unwrap();
        actions(&mut cmd, &h.root(), &path, api);
        cmd.env("GITHUB_EVENT_NAME", name);
    }
    let run = bounded(&mut cmd, Duration::from_secs(30));
    run.check(&format!("health-gate {args:?}"));
    assert!(
        run.stdout.len() + run.stderr.len() < 200_000,
        "health-gate {args:?}: {} bytes of output",
        run.stdout.len() + run.stderr.len()
    );
    run
}

/// Hostile flag and config values and headers: each is a clear usage error (exit 2, naming
/// the option) or works; nothing overflows, nothing is echoed at length, and a secret header
/// value (here the token) is never printed, even at the most verbose log level.
#[test]
fn health_gate_hostile_options_and_headers() {
    let h = Hostile::new();
    let huge = "9999999999999999d";
    // (One argument holds at most 128 KiB.)
    let deep_path = format!("{}=1", vec!["a"; 50_000].join("."));
    let long_value = "v".repeat(100_000);
    let many_statuses = vec!["200"; 25_000].join(",");
    let long_header = format!("X-Long: {long_value}");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Durations past what the clock holds are "no limit", not an overflow.
        (vec!["--url", "{url}", "--timeout", huge], 0, ""),
        (vec!["--url", "{url}", "--request-timeout", huge], 0, ""),
        (vec!["--url", "{url}", "--interval", huge], 0, ""),
        (vec!["--url", "{url}", "--start-period", huge], 0, ""),
        (
            vec!["--url", "{url}", "--timeout", "99999999999999999999999s"],
            2,
            "--timeout",
        ),
        (vec!["--url", "{url}", "--retries", "4294967295"], 0, ""),
        (vec!["--url", "{url}", "--backoff", "NaN"], 2, "--backoff"),
        (vec!["--url", "{url}", "--backoff", "inf"], 2, "--backoff"),
        (
            vec!["--url", "{url}", "--expect-status", "300-200"],
            2,
            "--expect-status",
        ),
        (
            vec!["--url", "{url}", "--expect-status", "99999999999"],
            2,
            "--expect-status",
        ),
        (
            vec!["--url", "{url}", "--expect-status", &many_statuses],
            0,
            "",
        ),
        (vec!["--url", "{url}", "--expect-json", &deep_path], 1, ""),
        (
            vec!["--url", "{url}", "--expect-json", "no-equals-sign"],
            2,
            "--expect-json",
        ),
        (
            vec!["--url", "{url}", "--expect-body-regex", "(a{1000}){1000}"],
            2,
            "--expect-body-regex",
        ),
        (vec!["--url", "{url}", "--expect-body", &long_value], 1, ""),
        // Headers: CR/LF, NUL and bad names are refused, never sent.
        (
            vec!["--url", "{url}", "--header", "X-A: b\r\nInjected: 1"],
            2,
            "--header",
        ),
        (
            vec!["--url", "{url}", "--header", "X-A: b\0c"],
            2,
            "--header",
        ),
        (
            vec!["--url", "{url}", "--header", "Bad Name: x"],
            2,
            "--header",
        ),
        (
            vec!["--url", "{url}", "--header", "no colon"],
            2,
            "--header",
        ),
        (vec!["--url", "{url}", "--header", &long_header], 0, ""),
        (
            vec![
                "--url",
                "{url}",
                "--header-from-env",
                "Authorization=HOSTILE_HEADER",
            ],
            0,
            "",
        ),
        (
            vec!["--url", "{url}", "--header-from-env", "X-A=HOSTILE_CRLF"],
            2,
            "HOSTILE_CRLF",
        ),
        (
            vec!["--url", "{url}", "--header-from-env", "X-A=UNSET_VARIABLE"],
            2,
            "UNSET_VARIABLE",
        ),
        // URLs that are not http(s), or carry a line break, are refused before any request.
        (vec!["--url", "file:///etc/passwd"], 2, "not an http(s) URL"),
        (
            vec!["--url", "javascript:alert(1)"],
            2,
            "not an http(s) URL",
        ),
        (vec!["--url", "data:text/plain,ok"], 2, "not an http(s) URL"),
        (
            vec!["--url", "http://127.0.0.1:1/a\tb"],
            2,
            "control character",
        ),
        (vec!["--url", "http://["], 2, "not a URL"),
    ];
    for (args, code, says) in &cases {
        let run = health(&h, args, None, "");
        assert_eq!(run.code, *code, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(says) && run.stderr.len() < 2_000,
            "{args:?} must say `{says}`: {}",
            run.stderr
        );
    }
    // The same values from `[health-gate]` in the config (which the PR can change).
    let deep_json_key = format!("expect-json = [\"{}=1\"]", vec!["a"; 100_000].join("."));
    for (config, code, says) in [
        ("timeout = \"9999999999999999d\"", 0, ""),
        ("backoff = nan", 2, "--backoff"),
        ("url = [\"file:///etc/passwd\"]", 2, "not an http(s) URL"),
        ("header = [\"X-A: b\\r\\nInjected: 1\"]", 2, "--header"),
        ("expect-status = \"0-0\"", 2, "--expect-status"),
        (&deep_json_key, 1, ""),
    ] {
        h.config(&format!("[health-gate]\n{config}\n"));
        let run = health(
            &h,
            if config.starts_with("url") {
                &[]
            } else {
                &["--url", "{url}"]
            },
            None,
            "",
        );
        assert_eq!(run.code, code, "{config}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(says), "{config}: {}", run.stderr);
    }
    h.config("");
}

const DEPLOYMENTS: &str = "/repos/Codertocat/Hello-World/deployments";

/// A `deployment_status` payload and Deployments API answers built to break the gate: bad
/// JSON, megabytes of it, and URLs that are not http(s) or hide a line break. Each is a
/// `health-gate/no-deployment-url` finding with a short message, and nothing is probed (the
/// URLs point at nothing that answers, and a non-loopback address is never used).
#[test]
fn health_gate_hostile_deployments() {
    let h = Hostile::new();
    let status = |url: &str| json!({"deployment_status": {"state": "success", "environment": "staging", "target_url": url}, "deployment": {"id": 1, "environment": "staging"}});
    let big_id = json!({"deployment_status": {"state": "success", "target_url": "http://127.0.0.1:9/"}, "deployment": {"id": "x".repeat(1 << 20)}});
    let huge = format!(
        "{{\"deployment_status\": {{\"state\": \"success\", \"description\": \"{}\"}}}}",
        "x".repeat(33 << 20)
    );
    let payloads: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated JSON",
            b"{\"deployment_status\": {\"target_url\": \"http".to_vec(),
            "not valid",
        ),
        (
            "invalid UTF-8",
            b"{\"deployment_status\": {\"target_url\": \"\xff\"}}".to_vec(),
            "not valid",
        ),
        (
            "nested 100,000 deep",
            "[".repeat(100_000).into_bytes(),
            "not valid",
        ),
        (
            "a 1 MiB deployment id",
            big_id.to_string().into_bytes(),
            "not valid",
        ),
        ("33 MiB, no URL", huge.into_bytes(), "no `environment_url`"),
        (
            "a file:// URL",
            status("file:///etc/passwd").to_string().into_bytes(),
            "not an http(s) URL",
        ),
        (
            "a javascript: URL",
            status("javascript:alert(1)").to_string().into_bytes(),
            "not an http(s) URL",
        ),
        (
            "a URL with CR/LF",
            status("http://127.0.0.1:9/\r\nX-Injected: 1")
                .to_string()
                .into_bytes(),
            "control character",
        ),
        (
            "a host split by a LF",
            status("http://good.example\n.127.0.0.1.nip.io/")
                .to_string()
                .into_bytes(),
            "control character",
        ),
    ];
    for (what, payload, says) in &payloads {
        let run = health(
            &h,
            &[],
            Some(("deployment_status", payload)),
            "http://127.0.0.1:9",
        );
        no_deployment_url(&run, what, says);
    }
    // The same from the Deployments API (`--environment`, on a push).
    let statuses = format!("{DEPLOYMENTS}/1/statuses");
    let mut answers: Vec<(&str, Reply, Reply, &str)> = vec![
        (
            "truncated JSON",
            text_reply(200, "[{\"id\": 1".into()),
            Reply::json(200, json!([])),
            "not what the API documents",
        ),
        (
            "nested 100,000 deep",
            text_reply(200, "[".repeat(100_000)),
            Reply::json(200, json!([])),
            "not what the API documents",
        ),
        (
            "a 1 MiB sha of the wrong type",
            Reply::json(200, json!([{"id": 1, "sha": ["x".repeat(1 << 20)]}])),
            Reply::json(200, json!([])),
            "not what the API documents",
        ),
        (
            "a reply over 32 MiB",
            text_reply(200, format!("[\"{}\"]", "x".repeat(33 << 20))),
            Reply::json(200, json!([])),
            "over 32 MiB",
        ),
    ];
    for (what, key, url, says) in [
        (
            "a file:// URL",
            "environment_url",
            "file:///etc/passwd",
            "not an http(s) URL",
        ),
        (
            "a javascript: URL",
            "target_url",
            "javascript:alert(1)",
            "not an http(s) URL",
        ),
        (
            "a URL with CR/LF",
            "target_url",
            "http://127.0.0.1:9/\r\nX: 1",
            "control character",
        ),
    ] {
        answers.push((
            what,
            Reply::json(200, json!([{"id": 1}])),
            Reply::json(200, json!([{"state": "success", key: url}])),
            says,
        ));
    }
    for (what, list, status, says) in answers {
        let api = Server::start(vec![(DEPLOYMENTS, vec![list]), (&statuses, vec![status])]);
        let run = health(
            &h,
            &["--environment", "staging"],
            Some(("push", b"{}")),
            &api.url,
        );
        no_deployment_url(&run, &format!("API {what}"), says);
    }
}

/// The run is one health-gate/no-deployment-url finding that says `says`, briefly.
fn no_deployment_url(run: &Run, what: &str, says: &str) {
    assert_eq!(run.code, 1, "{what}: {}{}", run.stdout, run.stderr);
    let found = run.findings();
    assert!(
        found.len() == 1
            && found[0]["rule"] == "health-gate/no-deployment-url"
            && found[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(says) && m.len() < 1_000),
        "{what}: {found:?}"
    );
}

/// A way to put a hostile version of a file in place.
type Make<'a> = Box<dyn Fn() + 'a>;

/// migration-safety also reads deploy files and the Prisma schema: each hostile version of
/// them is checked or named (a finding, or an error naming it), never a hang, a read outside
/// the repository or memory that grows with it. A workflow, a `fly.toml` and a `package.json`
/// with bad bytes, a 100 MB line, nesting 100,000 deep, special files and links out.
#[test]
fn migration_safety_hostile_deploy_files_and_prisma_schema() {
    let gate = GATES.iter().find(|g| g.cmd == "migration-safety").unwrap();
    let cmd = "npx prisma migrate reset --force";
    let files: [(&str, String, String); 5] = [
        (
            "fly.toml",
            format!("[deploy]\nrelease_command = \"{cmd}\"\n"),
            format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "package.json",
            format!("{{\"scripts\": {{\"start\": \"{cmd}\"}}}}\n"),
            format!("{{\"x\": {}{}}}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            ".github/workflows/deploy.yml",
            format!("on: push\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {cmd}\n"),
            format!("x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "Dockerfile",
            format!("FROM node:20\nRUN {cmd}\n"),
            format!("RUN {}true\n", "\\\n".repeat(100_000)),
        ),
        (
            "prisma/schema.prisma",
            "model User {\n  id Int @id\n}\n".to_string(),
            format!("model A {}\n", "{".repeat(100_000)),
        ),
    ];
    for (rel, good, deep) in &files {
        let mut h = Hostile::new();
        h.list(rel);
        let path = h.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let write = |bytes: &[u8]| std::fs::write(&path, bytes).unwrap();
        let sparse = |len: u64| {
            write(good.as_bytes());
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(len).unwrap();
        };
        let link = |to: &std::path::Path| std::os::unix::fs::symlink(to, &path).unwrap();
        let outside = h.outside();
        let name = path.file_name().unwrap().to_owned();
        let variants: Vec<(&str, Make)> = vec![
            ("as it is", Box::new(|| write(good.as_bytes()))),
            (
                "invalid UTF-8",
                Box::new(|| write(&[b"\xff\n", good.as_bytes()].concat())),
            ),
            (
                "NUL",
                Box::new(|| write(&[good.as_bytes(), b"\0\n"].concat())),
            ),
            (
                "BOM and CRLF",
                Box::new(|| write(format!("\u{feff}{}", good.replace('\n', "\r\n")).as_bytes())),
            ),
            (
                "lone CR",
                Box::new(|| write(good.replace('\n', "\r").as_bytes())),
            ),
            (
                "nested 100,000 deep",
                Box::new(|| write(format!("{deep}{good}").as_bytes())),
            ),
            ("a 100 MB line", Box::new(|| sparse(100 << 20))),
            ("1 GB sparse", Box::new(|| sparse(1 << 30))),
            ("a FIFO", Box::new(|| repo::mkfifo(&path))),
            ("a /dev/zero link", Box::new(|| link("/dev/zero".as_ref()))),
            (
                "a link to a secret outside",
                Box::new(|| link(&outside.join("secret.jsonl"))),
            ),
            (
                "a link to a FIFO outside",
                Box::new(|| link(&outside.join("trap.jsonl"))),
            ),
            ("a link to itself", Box::new(|| link(name.as_ref()))),
        ];
        for (what, make) in variants {
            let _ = std::fs::remove_file(&path);
            make();
            let run = h.run(gate, &[]);
            let what = format!("migration-safety: {rel} {what}");
            run.check(&what).within(&what, Duration::from_secs(10));
            // Docker reads a lone CR as part of one line (and refuses the FROM it spoils).
            if rel == &"Dockerfile" && what.ends_with("lone CR") {
                continue;
            }
            let named = match run.code {
                2 => run.stderr.contains(rel) && run.stderr.len() < 2_000,
                _ => !run.findings_for(rel).is_empty(),
            };
            assert!(
                named,
                "{what}: exit {}, not named:\n{}{}",
                run.code, run.stdout, run.stderr
            );
        }
    }
}

/// The SQL cases against the local PostgreSQL: the dry run gets the hostile migrations too
/// (bad bytes, parentheses 100,000 deep, a statement that sleeps, a 1 GB file) and each is
/// a finding at its file, bounded by the statement timeout, with no panic and no hang.
#[test]
fn migration_safety_dry_runs_hostile_sql() {
    let gate = GATES.iter().find(|g| g.cmd == "migration-safety").unwrap();
    let mut h = Hostile::new();
    h.config(
        "[migration-safety.dry-run]\nstatement-timeout = \"2s\"\ntimeout = \"9999999999999999d\"\n",
    );
    let paths = [
        h.plant(
            gate,
            "20251021000001_utf8",
            b"CREATE TABLE a (id bigint); -- \xff\xfe\n",
        ),
        h.plant(
            gate,
            "20251021000002_nul",
            b"CREATE TABLE b (id bigint); -- a\0b\n",
        ),
        h.plant(
            gate,
            "20251021000003_bom",
            "\u{feff}CREATE TABLE c (id bigint);\r\n".as_bytes(),
        ),
        h.plant(
            gate,
            "20251021000004_cr",
            // (PostgreSQL ends the comment at the CR: the DROP is a statement.)
            b"-- c\rDROP TABLE users;\n",
        ),
        h.plant(
            gate,
            "20251021000005_deep",
            format!("SELECT {}1{};\n", "(".repeat(100_000), ")".repeat(100_000)).as_bytes(),
        ),
        h.plant_sparse(gate, "20251021000007_huge", b"SELECT 1;", 1 << 30),
    ];
    let run = h.run(
        gate,
        &[
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ],
    );
    run.check("migration-safety dry run")
        .within("migration-safety dry run", Duration::from_secs(20));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for p in &paths {
        run.names(p, None);
    }
    // A statement that would run for a minute is cut off by the statement timeout (the dry
    // run stops at the first failing migration, so this one runs alone).
    let mut h = Hostile::new();
    h.config("[migration-safety.dry-run]\nstatement-timeout = \"2s\"\n");
    let sleep = h.plant(gate, "20251021000006_sleep", b"SELECT pg_sleep(60);\n");
    let run = h.run(gate, &["--database-url", DATABASE]);
    run.check("migration-safety dry run of a sleep").within(
        "migration-safety dry run of a sleep",
        Duration::from_secs(15),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    run.names(&sleep, None);
}

const DATABASE: &str = "postgres://postgres@127.0.0.1:5432/postgres";
