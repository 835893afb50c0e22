//! Building hostile repositories for `tests/hostile.rs`, and running the binary against them
//! under a wall-clock bound with its peak memory measured (`/usr/bin/time`).
//!
//! A `Gate` entry says where a gate reads a file and how a PR makes it read it; every hostile
//! case plants its files through that entry, so adding a gate to the suite is one table entry.
//! A `Hostile` is a temporary directory holding the repository (`repo/`), a sibling `outside/`
//! that must never be read (a secret file and a FIFO that would block whoever opens it), and
//! the PR body and changed-file list the run is given.

use crate::support::{self, bin};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Text that lives only outside the repository: it must never show up in any output.
pub const SECRET: &str = "HOSTILE-SECRET-4f1d9a77";
/// Every child must stay below this peak resident set size, whatever the input.
pub const MAX_RSS: u64 = 200 << 20;
/// Pinned clock for the gates' time checks.
pub const NOW: &str = "2025-10-21T17:00:00Z";

/// How a gate reads hostile input. One entry per gate in `GATES`.
pub struct Gate {
    /// The subcommand.
    pub cmd: &'static str,
    /// Where the gate reads a file named after `stem` (repository-relative).
    pub place: fn(&str) -> String,
    /// The PR body that makes the gate read `paths` (gates that read no body ignore it).
    pub body: fn(&[String]) -> String,
    /// Config that lifts the gate's size limits, so that huge input is really streamed.
    pub unlimited: &'static str,
    /// The `i`-th line of a long, valid, plausible file of the gate (entries that differ, as
    /// real ones do: tasks, times, ids), without a newline.
    pub entry: fn(usize) -> String,
    /// Config that makes the gate read the repository file `rel` (a schema, a list, …), if its
    /// config names any.
    pub config_names_file: Option<fn(&str) -> String>,
    /// The PR's GitHub API endpoints the gate reads in an Actions job: `pull` (the body),
    /// `files`, `commits`.
    pub api: &'static [&'static str],
    /// A line (without its newline) the gate must flag at that line, with `bytes` inside it
    /// where they can hide something: a string's contents, a trailing comment.
    pub flagged: fn(&[u8]) -> Vec<u8>,
    /// The gate streams a file line by line, so with `unlimited` a 1 GB file is read through
    /// (a finding at line 1); otherwise it reads whole files up to a cap and refuses larger
    /// ones by name, without reading them.
    pub streams: bool,
    /// For a gate that walks the tree rather than reading the files it is given: the flag that
    /// makes it read only the changed files, where every planted path must be named.
    pub walks: Option<&'static str>,
    /// The gate opens the paths the PR body lists (so a `../` or absolute one must be named).
    pub opens_listed_paths: bool,
}

pub const GATES: &[Gate] = &[
    Gate {
        cmd: "verify-mcp-evidence",
        place: |stem| format!("artifacts/eng/2025-10-21/mcp/{stem}.jsonl"),
        config_names_file: Some(|rel| format!("[verify-mcp-evidence]\nschema = \"{rel}\"\n")),
        api: &["pull", "files"],
        flagged: |bytes| [br#"{"tool":""#.as_slice(), bytes, b"\"}"].concat(),
        streams: true,
        walks: None,
        opens_listed_paths: true,
        body: |paths| section("MCP Evidence", paths),
        unlimited: "[verify-mcp-evidence]\nmax-file-size = \"2GiB\"\n",
        entry: |i| {
            format!(
                r#"{{"tool":"context7","doc_ref":"https://reactrouter.com/start","request_id":"mcp-2025-10-21-{i}","timestamp":"2025-10-21T{:02}:{:02}:{:02}.123Z","purpose":"Verify RR7 loaders"}}"#,
                10 + i / 3600 % 6,
                i / 60 % 60,
                i % 60
            )
        },
    },
    Gate {
        cmd: "verify-heartbeat",
        place: |stem| format!("artifacts/eng/2025-10-21/{stem}.ndjson"),
        config_names_file: None,
        api: &["pull", "files", "commits"],
        flagged: |bytes| [br#"{"tool":""#.as_slice(), bytes, b"\"}"].concat(),
        streams: true,
        walks: None,
        opens_listed_paths: true,
        body: |paths| section("Heartbeat", paths),
        unlimited: "[verify-heartbeat]\nmax-file-size = \"2GiB\"\n",
        // Tasks still `doing`, with gaps: every kind of per-task finding, many times over.
        entry: |i| {
            let status = if i == 0 { "done" } else { "doing" };
            format!(
                r#"{{"timestamp":"2025-10-21T{:02}:{:02}:{:02}Z","task":"ENG-{}","status":"{status}","progress":"40%","file":"app/components/Modal.tsx"}}"#,
                10 + i / 3600 % 6,
                i / 60 % 60,
                i % 60,
                i % 5000
            )
        },
    },
    Gate {
        cmd: "dev-mcp-ban",
        place: |stem| format!("app/{stem}.ts"),
        config_names_file: None,
        api: &[],
        body: |_| String::new(),
        // Files are read whole: lifted far enough for the 100 MB line, not for the 1 GB file.
        unlimited: "[dev-mcp-ban]\nmax-file-size = \"128MiB\"\n",
        // A relative path holding a banned name's text: lexed (the pre-filter matches), not
        // banned (not a package).
        entry: |i| format!(r#"import a{i} from "./dev-mcp-notes/a{i}"; // {i}"#),
        flagged: |bytes| {
            [
                br#"import m from "@shopify/dev-mcp"; // "#.as_slice(),
                bytes,
            ]
            .concat()
        },
        streams: false,
        walks: Some("--changed-only"),
        opens_listed_paths: false,
    },
    Gate {
        cmd: "migration-safety",
        place: |stem| format!("supabase/migrations/{stem}.sql"),
        config_names_file: None,
        api: &["files"],
        body: |_| String::new(),
        // Migrations are read whole, at most 16 MiB: there is no limit to lift.
        unlimited: "",
        // In a schema the API does not serve: no row-level security needed.
        entry: |i| format!("CREATE TABLE x.t{i} (id bigint); -- {i}"),
        flagged: |bytes| [b"DROP TABLE users; -- ".as_slice(), bytes].concat(),
        streams: false,
        walks: None,
        opens_listed_paths: false,
    },
    // health-gate reads no repository file but its config: `tests/hostile.rs` covers its
    // config values, headers, event payload and Deployments API answers in cases of its own.
];

fn section(title: &str, paths: &[String]) -> String {
    let mut s = format!("## {title}\n");
    for p in paths {
        s.push_str(&format!("- {p}\n"));
    }
    s
}

pub struct Hostile {
    dir: tempfile::TempDir,
    /// Repository-relative paths of the planted files, in order.
    pub planted: Vec<String>,
    /// The PR body; by default the gate's body listing every planted path.
    pub body: Option<String>,
}

impl Hostile {
    pub fn new() -> Hostile {
        Hostile::inside(tempfile::tempdir().unwrap())
    }

    /// For cases that create many thousands of entries: on tmpfs (`/dev/shm`) when there is
    /// one, where creating 100,000 files takes a second or two instead of half a minute.
    pub fn in_memory() -> Hostile {
        let shm = Path::new("/dev/shm");
        match shm.is_dir() {
            true => Hostile::inside(tempfile::tempdir_in(shm).unwrap()),
            false => Hostile::new(),
        }
    }

    fn inside(dir: tempfile::TempDir) -> Hostile {
        std::fs::create_dir_all(dir.path().join("repo/app")).unwrap();
        std::fs::write(dir.path().join("repo/app/x.ts"), "export {}\n").unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.jsonl"), format!("{SECRET}\n")).unwrap();
        mkfifo(&outside.join("trap.jsonl"));
        Hostile {
            dir,
            planted: Vec::new(),
            body: None,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// The absolute path of a repository-relative one, with its parent directories created.
    fn at(&mut self, rel: &str) -> PathBuf {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        self.planted.push(rel.to_string());
        path
    }

    /// A file with these bytes where `gate` reads `stem`.
    pub fn plant(&mut self, gate: &Gate, stem: &str, bytes: &[u8]) -> String {
        let rel = (gate.place)(stem);
        std::fs::write(self.at(&rel), bytes).unwrap();
        rel
    }

    /// A sparse file of `len` bytes that starts with `prefix`: the rest is a hole (reads as NUL
    /// bytes, takes no disk space).
    pub fn plant_sparse(&mut self, gate: &Gate, stem: &str, prefix: &[u8], len: u64) -> String {
        let rel = (gate.place)(stem);
        std::fs::write(self.at(&rel), prefix).unwrap();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.root().join(&rel))
            .unwrap();
        f.set_len(len).unwrap();
        rel
    }

    pub fn plant_fifo(&mut self, gate: &Gate, stem: &str) -> String {
        let rel = (gate.place)(stem);
        let path = self.at(&rel);
        mkfifo(&path);
        rel
    }

    pub fn plant_symlink(&mut self, gate: &Gate, stem: &str, target: &Path) -> String {
        let rel = (gate.place)(stem);
        std::os::unix::fs::symlink(target, self.at(&rel)).unwrap();
        rel
    }

    pub fn plant_dir(&mut self, gate: &Gate, stem: &str) -> String {
        let rel = (gate.place)(stem);
        std::fs::create_dir_all(self.at(&rel)).unwrap();
        rel
    }

    /// Count a path the body should list without creating anything there.
    pub fn list(&mut self, rel: &str) {
        self.planted.push(rel.to_string());
    }

    pub fn config(&self, text: &str) {
        std::fs::create_dir_all(self.root().join(".github")).unwrap();
        std::fs::write(self.root().join(".github/merge-gates.toml"), text).unwrap();
    }

    /// The gate in local mode: the body lists every planted path, and the PR changes all of
    /// them plus one code file. `extra` goes after the subcommand (e.g. `--format github`);
    /// JSON output unless it names a format.
    pub fn command(&self, gate: &Gate, extra: &[&str]) -> Command {
        let body = self.dir.path().join("body.md");
        let text = self
            .body
            .clone()
            .unwrap_or_else(|| (gate.body)(&self.planted));
        std::fs::write(&body, text).unwrap();
        let changed = self.dir.path().join("changed.txt");
        let mut list = String::from("app/x.ts\n");
        for p in &self.planted {
            list.push_str(p);
            list.push('\n');
        }
        std::fs::write(&changed, list).unwrap();
        let mut cmd = bin();
        cmd.arg(gate.cmd)
            .arg("--repo")
            .arg(self.root())
            .arg("--pr-body-file")
            .arg(&body)
            .arg("--changed-files")
            .arg(&changed)
            .args(["--now", NOW]);
        if !extra.contains(&"--format") {
            cmd.args(["--format", "json"]);
        }
        cmd.args(extra);
        cmd
    }

    pub fn run(&self, gate: &Gate, extra: &[&str]) -> Run {
        bounded(&mut self.command(gate, extra), Duration::from_secs(30))
    }
}

pub fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

/// What a bounded child did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size in bytes, as `/usr/bin/time` measured it.
    pub peak_rss: u64,
}

/// Run `cmd` under `/usr/bin/time -f %M` in its own process group, and kill the group if it is
/// not done within `limit`.
///
/// Why not `getrusage`/`wait4` on the child: std spawns with `vfork`-style `posix_spawn`, and
/// Linux folds the address space the child shared until `exec` — the whole test harness, tens
/// or hundreds of MiB — into the child's `ru_maxrss`. `time` forks from its own tiny process,
/// so the figure it reports is the binary's alone.
pub fn bounded(cmd: &mut Command, limit: Duration) -> Run {
    let start = Instant::now();
    let rss = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(rss.path())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let mut child = timed.spawn().expect("spawn /usr/bin/time merge-gates");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit && !killed {
            // The whole group: `time` and the binary under it.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        !killed,
        "did not finish within {limit:?} (killed); stderr:\n{}",
        tail(&stderr)
    );
    let kib: u64 = std::fs::read_to_string(rss.path())
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time; stderr:\n{}", tail(&stderr)));
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        elapsed,
        peak_rss: kib * 1024,
    }
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(4000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

impl Run {
    /// The invariants every hostile run must keep: a real exit code, no panic, bounded memory,
    /// nothing from outside the repository and no token in the output.
    pub fn check(&self, what: &str) -> &Run {
        assert!(
            (0..=2).contains(&self.code),
            "{what}: exit {} (signal or abort); stderr:\n{}",
            self.code,
            tail(&self.stderr)
        );
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert!(
                !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
                "{what}: panic in {name}:\n{}",
                tail(text)
            );
            assert!(
                !text.contains(SECRET),
                "{what}: text from outside the repository in {name}"
            );
            assert!(
                !text.contains(support::TOKEN),
                "{what}: the token was printed in {name}"
            );
        }
        assert!(
            self.peak_rss < MAX_RSS,
            "{what}: peak RSS {} MiB (limit {} MiB)",
            self.peak_rss >> 20,
            MAX_RSS >> 20
        );
        self
    }

    /// Assert that the run took less than `limit` (a tighter bound than the kill timeout).
    pub fn within(&self, what: &str, limit: Duration) -> &Run {
        assert!(
            self.elapsed < limit,
            "{what}: took {:?}, more than {limit:?}",
            self.elapsed
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                tail(&self.stdout),
                tail(&self.stderr)
            )
        })
    }

    /// Every finding of a JSON report.
    pub fn findings(&self) -> Vec<serde_json::Value> {
        let v = self.json();
        v["gates"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["findings"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Findings located in `path` or whose message names it (messages may shorten a long
    /// path, so its first 150 characters are enough).
    pub fn findings_for(&self, path: &str) -> Vec<serde_json::Value> {
        let head: String = path.chars().take(150).collect();
        self.findings()
            .into_iter()
            .filter(|f| {
                f["path"] == path || f["message"].as_str().is_some_and(|m| m.contains(&head))
            })
            .collect()
    }

    /// Assert that some finding names `path`, at `line` when given; returns the rule ids.
    pub fn names(&self, path: &str, line: Option<u64>) -> Vec<String> {
        let found = self.findings_for(path);
        assert!(
            !found.is_empty(),
            "no finding names `{path}`:\n{}",
            tail(&self.stdout)
        );
        if let Some(line) = line {
            assert!(
                found
                    .iter()
                    .any(|f| f["path"] == path && f["line"].as_u64() == Some(line)),
                "no finding at `{path}:{line}`: {found:?}"
            );
        }
        found
            .iter()
            .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}
