//! Test support: run the built binary hermetically, a scripted HTTP/1.1 server on 127.0.0.1
//! that stands in for the GitHub API (or any remote) in the test process, the environment of a
//! GitHub Actions `pull_request` job, and the check that `--format github` output starts no
//! workflow command we did not write.
#![allow(dead_code)]

pub mod install;
pub mod tls;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary with an environment free of the caller's GitHub variables.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_merge-gates"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("RUNNER_")
            || k.starts_with("INPUT_")
            || k == "CI"
        {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1");
    c.stdin(Stdio::null());
    c
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The gates ran and gave a verdict: exit 0 (pass) or 1 (fail), never 2 or a crash.
    pub fn assert_gate_ran(&self) {
        assert!(
            self.code == 0 || self.code == 1,
            "exit {}\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
    }

    /// Rule ids of every finding in a JSON report.
    pub fn rules(&self) -> Vec<String> {
        let v = self.json();
        let mut out = Vec::new();
        for g in v["gates"].as_array().into_iter().flatten() {
            for f in g["findings"].as_array().into_iter().flatten() {
                out.push(f["rule"].as_str().unwrap_or_default().to_string());
            }
        }
        out
    }
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run merge-gates");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Sent instead of `body` when set: binary content (archives for the install tests).
    pub bytes: Option<Vec<u8>>,
    /// Wait this long before answering (to provoke timeouts).
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            bytes: None,
            delay: Duration::ZERO,
        }
    }

    /// Binary content as `application/octet-stream`.
    pub fn bytes(status: u16, data: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: String::new(),
            bytes: Some(data),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A server on 127.0.0.1 answering `METHOD /path` (path without query) from per-route queues;
/// the last reply of a queue repeats. Unknown routes get 404. Records every request.
pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    routes: Arc<Mutex<HashMap<String, Vec<Reply>>>>,
}

impl Server {
    pub fn start(routes: Vec<(&str, Vec<Reply>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Vec<Reply>>>> = Arc::new(Mutex::new(
            routes.into_iter().map(|(k, v)| (route_key(k), v)).collect(),
        ));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r2, q2) = (routes.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, requests) = (r2.clone(), q2.clone());
                std::thread::spawn(move || serve(stream, &routes, &requests));
            }
        });
        Server {
            url,
            requests,
            routes,
        }
    }

    /// Add or replace a route after start (for replies that must name the server's own URL).
    pub fn route(&self, method_path: &str, replies: Vec<Reply>) {
        self.routes
            .lock()
            .unwrap()
            .insert(route_key(method_path), replies);
    }

    pub fn count(&self, method_path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| format!("{} {}", r.method, r.path) == method_path)
            .count()
    }
}

/// `/path` means `GET /path`.
fn route_key(k: &str) -> String {
    if k.starts_with('/') {
        format!("GET {k}")
    } else {
        k.to_string()
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Vec<Reply>>>,
    requests: &Mutex<Vec<Request>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let path = target.split('?').next().unwrap_or("").to_string();
        requests.lock().unwrap().push(Request {
            method: method.clone(),
            path: path.clone(),
            headers,
            body,
        });
        let reply = {
            let mut routes = routes.lock().unwrap();
            match routes.get_mut(&format!("{method} {path}")) {
                Some(q) if q.len() > 1 => q.remove(0),
                Some(q) if q.len() == 1 => q[0].clone(),
                _ => Reply::json(404, serde_json::json!({"message": "Not Found"})),
            }
        };
        std::thread::sleep(reply.delay);
        let reason = match reply.status {
            200 => "OK",
            201 => "Created",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            _ => "Status",
        };
        let content = reply.bytes.as_deref().unwrap_or(reply.body.as_bytes());
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-length: {}\r\n",
            reply.status,
            content.len()
        );
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(content))
            .is_err()
        {
            return;
        }
    }
}

/// The real `pull_request.opened` payload (Codertocat/Hello-World#2) with its body replaced,
/// written to `dir/event.json`.
pub fn pull_request_event(dir: &Path, body: &str) -> PathBuf {
    let mut payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/events/pull_request.opened.json"))
            .unwrap(),
    )
    .unwrap();
    payload["pull_request"]["body"] = serde_json::json!(body);
    let path = dir.join("event.json");
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// Copy a directory tree (fixtures are copied before use so tests never write into the repo).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The GitHub token the Actions-mode tests hand to the binary; it must never be printed.
pub const TOKEN: &str = "ghs_SECRETtoken000000000000000000";

/// Make `cmd` a GitHub Actions `pull_request` job on `repo` with the payload at `event`,
/// talking to the API stand-in at `api`.
pub fn actions(cmd: &mut Command, repo: &Path, event: &Path, api: &str) {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_WORKSPACE", repo);
}

/// Check that `--format github` output starts no workflow command we did not write: outside the
/// `::stop-commands::<token>` block every line is one of our annotations (`::error `, `::warning `,
/// `::notice ` titled merge-gates) whose properties are escaped, and the block is closed with the
/// random token that opened it. Returns the number of annotations.
pub fn assert_only_our_workflow_commands(stdout: &str) -> usize {
    let mut token: Option<String> = None;
    let mut annotations = 0;
    for line in stdout.lines() {
        match &token {
            Some(t) if line == format!("::{t}::") => token = None,
            Some(_) => {}
            None => {
                if let Some(t) = line.strip_prefix("::stop-commands::") {
                    assert!(
                        t.len() >= 32 && t.chars().all(|c| c.is_ascii_hexdigit()),
                        "weak token {t}"
                    );
                    token = Some(t.to_string());
                    continue;
                }
                let ours = ["::error ", "::warning ", "::notice "]
                    .iter()
                    .any(|p| line.starts_with(p))
                    && line.contains("title=merge-gates");
                assert!(ours, "unexpected workflow command or stray line: {line:?}");
                let (props, _) = line
                    .split_once("::")
                    .and_then(|(_, rest)| rest.split_once("::"))
                    .unwrap_or_else(|| panic!("annotation without message: {line:?}"));
                assert!(
                    !props.contains("::") && props.matches(',').count() <= 6,
                    "properties not escaped: {props}"
                );
                annotations += 1;
            }
        }
    }
    assert!(token.is_none(), "stop-commands block never closed");
    annotations
}

/// A repository in a temporary directory holding these files (path, contents).
pub mod pg;

pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Run git in `dir` as a fixed author at a fixed time (`date`, RFC 3339), with no user or
/// system config and never signing; panics with git's stderr when it fails. Returns stdout,
/// trimmed.
pub fn git_at(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "core.symlinks=true"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git_at` at the demo's clock, 2025-10-21T17:00:00Z.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, "2025-10-21T17:00:00Z", args)
}

/// Stage everything in `dir` (force-added: ignore files hide nothing from the commit) and
/// commit it; returns the new commit's id.
pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A", "-f", "."]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A git repository (branch `main`) in a temporary directory holding these files, committed.
pub fn git_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = repo(files);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    commit_all(dir.path(), "base");
    dir
}

/// Write the repository's config file, `.github/merge-gates.toml`.
pub fn config(repo: &Path, toml: &str) {
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(repo.join(".github/merge-gates.toml"), toml).unwrap();
}

/// The contents-API route of the config file at the PR's base commit, in the API stand-in's
/// repository (`Codertocat/Hello-World`).
pub const BASE_CONFIG_ROUTE: &str =
    "GET /repos/Codertocat/Hello-World/contents/.github/merge-gates.toml";

/// A contents-API answer holding a file with `text`.
pub fn contents_reply(text: &str) -> Reply {
    use base64::Engine as _;
    Reply::json(
        200,
        serde_json::json!({
            "type": "file",
            "encoding": "base64",
            "size": text.len(),
            "content": base64::engine::general_purpose::STANDARD.encode(text),
        }),
    )
}

impl Server {
    /// Serve `repo`'s working-tree config as the config of the PR's base commit (the event's
    /// base is not in the test repositories, so policy is read through the contents API): for
    /// tests about something else, whose PR does not change the policy.
    pub fn base_config_from(&self, repo: &Path) {
        if let Ok(text) = std::fs::read_to_string(repo.join(".github/merge-gates.toml")) {
            self.route(BASE_CONFIG_ROUTE, vec![contents_reply(&text)]);
        }
    }
}

/// Make `repo` a full clone of a PR (as `actions/checkout` with `fetch-depth: 0`): a base
/// commit holding only the config (so the policy is the working tree's), then everything as
/// the PR's commit; the event at `event` names that base. Policy is then read with git, and an
/// API that is down does not stop the run.
pub fn full_clone(repo: &Path, event: &Path) {
    if !repo.join(".git").exists() {
        git(repo, &["init", "-q", "-b", "main"]);
    }
    let cfg = ".github/merge-gates.toml";
    if repo.join(cfg).exists() {
        git(repo, &["add", "-f", cfg]);
    }
    git(repo, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let base = git(repo, &["rev-parse", "HEAD"]);
    commit_all(repo, "the PR");
    let mut payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(event).unwrap()).unwrap();
    payload["pull_request"]["base"]["sha"] = serde_json::json!(base);
    std::fs::write(event, payload.to_string()).unwrap();
}
