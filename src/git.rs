//! The one way merge-gates runs git: an argument vector (never a shell), standard input
//! closed, standard output capped, standard error kept short, and the whole call bounded in
//! time. Callers put every revision or path a PR could influence behind `--end-of-options`.

use anyhow::{Context as _, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one git call may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Standard output of one call past this is cut (the caller sees `truncated`).
pub const MAX_STDOUT: u64 = 64 << 20;

/// What one git call returned.
pub struct Output {
    pub success: bool,
    pub stdout: Vec<u8>,
    /// Standard output was longer than the cap and was cut.
    pub truncated: bool,
    pub stderr: String,
}

/// Run `git -C repo args…`, reading at most `max_stdout` bytes of its output.
pub fn run(repo: &Path, args: &[&str], max_stdout: u64) -> Result<Output> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git (is it installed?)")?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(max_stdout + 1).read_to_end(&mut buf);
        // Drain the rest so git is not blocked on a full pipe; it is not kept.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        buf
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "git {} did not finish within {}s",
                args.join(" "),
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = out.join().unwrap_or_default();
    let truncated = stdout.len() as u64 > max_stdout;
    stdout.truncate(max_stdout as usize);
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default())
        .trim()
        .to_string();
    Ok(Output {
        success: status.success(),
        stdout,
        truncated,
        stderr,
    })
}

/// Run git and return its output as text; a failing or cut-short call is an error.
pub fn text(repo: &Path, args: &[&str]) -> Result<String> {
    let out = run(repo, args, MAX_STDOUT)?;
    if !out.success {
        anyhow::bail!("git {}: {}", args.join(" "), out.stderr);
    }
    if out.truncated {
        anyhow::bail!(
            "git {}: the output is over {} bytes",
            args.join(" "),
            MAX_STDOUT
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
