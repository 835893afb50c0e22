//! End-to-end tests of `health-gate`: the built binary against real HTTP servers on 127.0.0.1,
//! started in this process on raw `TcpListener` threads so they can misbehave precisely —
//! healthy, recovering, flapping, slow, hung, trickling, redirecting, degraded, huge, rate
//! limiting, refusing, speaking garbage instead of TLS. Every test checks the verdict and that
//! the overall deadline holds (wall time within generous bounds; no sleeps in the tests).
//! The URL also comes from a real `deployment_status` payload and from the Deployments API
//! (the GitHub API stand-in of `support`), and the outputs land in `$GITHUB_OUTPUT`.

mod support;

use serde_json::json;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{bin, root, run, Output, Reply, Server};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    head: String,
    at: Instant,
}

/// A server whose every connection is handed to `handler(n, path, stream)`, `n` counting
/// requests from 0. One request per connection.
struct Hostile {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Body bytes a handler managed to write (for the huge-body test).
    written: Arc<AtomicUsize>,
}

type Handler = dyn Fn(usize, &str, &mut TcpStream, &AtomicUsize) + Send + Sync;

impl Hostile {
    fn start(
        handler: impl Fn(usize, &str, &mut TcpStream, &AtomicUsize) + Send + Sync + 'static,
    ) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let written: Arc<AtomicUsize> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let (h2, w2) = (hits.clone(), written.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (hits, written, handler) = (h2.clone(), w2.clone(), handler.clone());
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let Some(head) = read_head(&mut stream) else {
                        return;
                    };
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let n = {
                        let mut h = hits.lock().unwrap();
                        h.push(Hit {
                            path: path.clone(),
                            head: head.clone(),
                            at: Instant::now(),
                        });
                        h.len() - 1
                    };
                    handler(n, &path, &mut stream, &written);
                });
            }
        });
        Hostile { url, hits, written }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.hits().into_iter().map(|h| h.path).collect()
    }
}

fn read_head(s: &mut impl Read) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 || buf.len() > 64 << 10 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// A complete answer, then the connection closes.
fn respond(s: &mut impl Write, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} Status\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body));
}

fn json_body(v: serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Hold the connection open without answering until the client gives up.
fn hang(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = [0u8; 64];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// Run `health-gate` with `args` (split at spaces; plus `--format json`), timing it.
fn gate(args: &str) -> (Output, Duration) {
    let t = Instant::now();
    let out = run(bin()
        .arg("health-gate")
        .args(args.split_whitespace())
        .args(["--format", "json"]));
    (out, t.elapsed())
}

fn outputs(out: &Output) -> serde_json::Value {
    out.json()["gates"][0]["outputs"].clone()
}

fn messages(out: &Output) -> String {
    out.json()["gates"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run the gate with `args`; it must fail as `unhealthy` says, within `max_secs`.
fn failing(args: &str, rules: &[&str], needles: &[&str], max_secs: f64) -> (Output, Duration) {
    let (out, t) = gate(args);
    unhealthy(&out, rules, needles);
    within(t, max_secs, &out);
    (out, t)
}

/// The gate failed (exit 1) with exactly these rules, and its messages say every `needle`.
fn unhealthy(out: &Output, rules: &[&str], needles: &[&str]) {
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.rules(), rules);
    let msg = messages(out);
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in:\n{msg}");
    }
    assert_eq!(outputs(out)["healthy"], "false");
}

fn within(elapsed: Duration, max_secs: f64, out: &Output) {
    assert!(
        elapsed < Duration::from_secs_f64(max_secs),
        "took {elapsed:?}, the deadline should have held (< {max_secs}s)\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

const FAST: &str = "--interval 100ms --timeout 10s";

#[test]
fn healthy() {
    let s = Hostile::start(|_, _, st, _| {
        respond(st, 200, &[], &json_body(json!({"status": "healthy"})))
    });
    let url = format!("{}/health", s.url);
    let (out, t) = gate(&format!(
        "--url {} --expect-json status=healthy {FAST}",
        url
    ));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.rules().is_empty());
    let o = outputs(&out);
    assert_eq!(o["healthy"], "true");
    assert_eq!(o["attempts"], "1");
    assert_eq!(o["status"], "200");
    assert!(o["latency-ms"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(s.hits().len(), 1);
    within(t, 5.0, &out);
}

#[test]
fn unhealthy_then_healthy_after_n_attempts() {
    let s = Hostile::start(|n, _, st, _| {
        if n < 3 {
            respond(st, 503, &[], b"warming up")
        } else {
            respond(st, 200, &[], b"ok")
        }
    });
    let (out, t) = gate(&format!("--url {} --retries 5 {FAST}", s.url));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(outputs(&out)["attempts"], "4");
    assert_eq!(s.hits().len(), 4);
    // The attempt history is a table for the summary: one row per attempt.
    let table = &out.json()["gates"][0]["tables"][0];
    assert_eq!(table["rows"].as_array().unwrap().len(), 4, "{table}");
    assert_eq!(table["rows"][2][0], "3", "{table}");
    assert_eq!(table["rows"][2][2], "HTTP 503", "{table}");
    assert_eq!(table["rows"][3][4], "healthy", "{table}");
    within(t, 8.0, &out);
}

#[test]
fn retries_is_the_failure_threshold() {
    let s = Hostile::start(|_, _, st, _| respond(st, 503, &[], b"down"));
    let _ = failing(
        &format!("--url {} --retries 3 {FAST}", s.url),
        &["health-gate/unexpected-status"],
        &["failure threshold (`--retries 3`"],
        6.0,
    );
    assert_eq!(s.hits().len(), 3, "stops at the failure threshold");
}

#[test]
fn flapping_never_meets_the_success_threshold() {
    let s = Hostile::start(|n, _, st, _| {
        let status = if n % 2 == 0 { 200 } else { 503 };
        respond(st, status, &[], b"flap")
    });
    let args = format!(
        "--url {} --success-threshold 2 --retries 3 --interval 50ms --timeout 2s",
        s.url
    );
    let needles = ["--success-threshold", "overall timeout of 2s"];
    let (_, t) = failing(&args, &["health-gate/unexpected-status"], &needles, 6.0);
    assert!(s.hits().len() >= 4, "kept probing until the deadline");
    assert!(t >= Duration::from_millis(1500), "gave up early: {t:?}");
}

#[test]
fn success_threshold_needs_consecutive_successes() {
    let script = [200, 503, 200, 200, 200];
    let s = Hostile::start(move |n, _, st, _| respond(st, script[n.min(4)], &[], b"x"));
    let (out, t) = gate(&format!("--url {} --success-threshold 2 {FAST}", s.url));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(outputs(&out)["attempts"], "4", "200, 503, 200, 200");
    within(t, 8.0, &out);
}

#[test]
fn slower_than_the_request_timeout() {
    let s = Hostile::start(|_, _, st, _| {
        std::thread::sleep(Duration::from_secs(4));
        respond(st, 200, &[], b"late")
    });
    let args = format!(
        "--url {} --request-timeout 300ms --retries 2 --interval 100ms",
        s.url
    );
    let needles = ["no complete answer within 300ms"];
    let _ = failing(&args, &["health-gate/request-timed-out"], &needles, 3.0);
    assert_eq!(s.hits().len(), 2);
}

#[test]
fn hung_server_is_cut_off_and_the_overall_deadline_holds() {
    let s = Hostile::start(|_, _, st, _| hang(st));
    let args = format!(
        "--url {} --request-timeout 700ms --retries 100 --interval 100ms --timeout 2s",
        s.url
    );
    let needles = ["waiting for the response headers", "overall timeout of 2s"];
    let (_, t) = failing(&args, &["health-gate/request-timed-out"], &needles, 4.0);
    assert!(t >= Duration::from_millis(1800), "{t:?}");
}

#[test]
fn an_attempt_the_deadline_cuts_short_does_not_decide_the_rule() {
    // 503 at once, then a hang that only the overall deadline ends: the server's real answer
    // (an unexpected status) decides the rule, not the cut-off attempt.
    let s = Hostile::start(|n, _, st, _| {
        if n == 0 {
            respond(st, 503, &[], b"down")
        } else {
            hang(st)
        }
    });
    let args = format!(
        "--url {} --request-timeout 30s --retries 100 --interval 50ms --timeout 1500ms",
        s.url
    );
    let needles = ["HTTP 503", "overall timeout of 1.5s"];
    failing(&args, &["health-gate/unexpected-status"], &needles, 4.0);
}

#[test]
fn trickling_body_is_cut_off() {
    let s = Hostile::start(|_, _, st, _| {
        let _ = st.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n{");
        while st.write_all(b" ").is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let args = format!(
        "--url {} --request-timeout 500ms --retries 2 --interval 100ms",
        s.url
    );
    let needles = ["HTTP 200 arrived, but the body was still incomplete"];
    let (out, _) = failing(&args, &["health-gate/request-timed-out"], &needles, 4.0);
    assert_eq!(outputs(&out)["status"], "200");
}

#[test]
fn health_503_with_root_302_is_unhealthy() {
    // The original guard fell back to `/` and took its 302 (to a login page) for health.
    let s = Hostile::start(|_, path, st, _| match path {
        "/health" => respond(st, 503, &[], &json_body(json!({"status": "degraded"}))),
        "/" => respond(st, 302, &[("location", "/login")], b""),
        _ => respond(st, 200, &[], b"<html>login</html>"),
    });
    let health = format!("{}/health", s.url);
    let root = format!("{}/", s.url);
    let (out, t) = gate(&format!(
        "--url {} --url {} --retries 2 {FAST}",
        health, root
    ));
    let rule = "health-gate/unexpected-status";
    let needles = [
        "HTTP 503 Service Unavailable",
        "redirects to `/login`",
        r#"body `{"status":"degraded"}`"#,
    ];
    unhealthy(&out, &[rule, rule], &needles);
    assert!(
        !s.hits().iter().any(|h| h.path == "/login"),
        "redirects are not followed unless asked"
    );
    assert_eq!(outputs(&out)["healthy"], "false");
    assert_eq!(outputs(&out)["status"], "503");
    within(t, 6.0, &out);

    // Following the redirect judges the login page, and /health still fails the gate.
    let (out, _) = gate(&format!(
        "--url {} --url {} --retries 1 --follow-redirects {FAST}",
        health, root
    ));
    unhealthy(&out, &["health-gate/unexpected-status"], &[]);
    assert!(s.hits().iter().any(|h| h.path == "/login"));
}

#[test]
fn degraded_json_is_unhealthy() {
    let s = Hostile::start(|_, _, st, _| {
        let body = json!({"status": "degraded", "checks": {"database": {"status": "unhealthy", "latency_ms": 5012.3}}});
        respond(
            st,
            200,
            &[("content-type", "application/json")],
            &json_body(body),
        )
    });
    let args = format!("--url {} --expect-json status=healthy --expect-json checks.database.status=healthy --retries 2", s.url);
    let needles = [
        "`status` is `degraded`, expected `healthy`",
        "`checks.database.status` is `unhealthy`",
    ];
    let (out, _) = failing(
        &format!("{args} {FAST}"),
        &["health-gate/body-mismatch"],
        &needles,
        6.0,
    );
    assert_eq!(outputs(&out)["status"], "200");
}

#[test]
fn invalid_utf8_body_is_a_clear_failure() {
    let s = Hostile::start(|_, _, st, _| respond(st, 200, &[], b"\xff\xfe{\"status\":\x1b[31m"));
    let (out, _) = failing(
        &format!(
            "--url {} --expect-json status=healthy --retries 1 {FAST}",
            s.url
        ),
        &["health-gate/body-mismatch"],
        &["invalid UTF-8 at byte 0"],
        5.0,
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "control characters are escaped"
    );
}

#[test]
fn huge_body_only_the_cap_is_read() {
    let s = Hostile::start(|_, _, st, written| {
        let _ = st.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        let chunk = vec![b'a'; 64 << 10];
        // An endless body: stops only when the client hangs up.
        while st.write_all(&chunk).is_ok() {
            written.fetch_add(chunk.len(), Ordering::Relaxed);
        }
    });
    let args = format!(
        "--url {} --expect-body needle --retries 1 --request-timeout 20s",
        s.url
    );
    let needles = [
        "only the first 1,048,576 bytes were read",
        "cut at the read cap",
    ];
    let _ = failing(
        &format!("{args} {FAST}"),
        &["health-gate/body-mismatch"],
        &needles,
        10.0,
    );
    // The client hung up after the cap: what was written is the cap plus socket buffers.
    let written = s.written.load(Ordering::Relaxed);
    assert!(
        written < 64 << 20,
        "read far beyond the cap: {written} bytes sent"
    );

    // Without body expectations the same server is healthy: the status is what counts.
    let (out, _) = gate(&format!("--url {} {FAST}", s.url));
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn retry_after_is_honoured_within_the_budget() {
    let s = Hostile::start(|n, _, st, _| {
        if n == 0 {
            respond(st, 503, &[("retry-after", "2")], b"maintenance")
        } else {
            respond(st, 200, &[], b"ok")
        }
    });
    let (out, t) = gate(&format!("--url {} {FAST}", s.url));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let hits = s.hits();
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at.duration_since(hits[0].at);
    assert!(
        gap >= Duration::from_millis(1900),
        "Retry-After: 2 not honoured: {gap:?}"
    );
    within(t, 8.0, &out);
}

#[test]
fn retry_after_beyond_the_budget_gives_up_at_once() {
    let s = Hostile::start(|_, _, st, _| respond(st, 429, &[("retry-after", "120")], b"slow down"));
    let args = format!("--url {} --interval 100ms --timeout 5s", s.url);
    let needles = ["asked to retry after 2m"];
    let _ = failing(&args, &["health-gate/unexpected-status"], &needles, 3.0);
    assert_eq!(s.hits().len(), 1);
}

#[test]
fn connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/health");
    let refused = format!("connection refused by 127.0.0.1:{port}");
    let args = format!("--url {url} --retries 3 {FAST}");
    let (out, _) = failing(&args, &["health-gate/unreachable"], &[&refused], 5.0);
    assert_eq!(outputs(&out)["status"], "");
}

#[test]
fn dns_failure() {
    // `.invalid` never resolves (RFC 6761). Where no resolver answers at all, the attempt's
    // limit cuts the lookup off instead; either way the deadline holds.
    let (out, t) = gate(
        "--url http://health.nonexistent.invalid/ --retries 1 --request-timeout 3s --timeout 5s",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let msg = messages(&out);
    match out.rules()[..] {
        [ref r] if r == "health-gate/unreachable" => {
            assert!(
                msg.contains("DNS lookup of `health.nonexistent.invalid` failed"),
                "{msg}"
            )
        }
        [ref r] if r == "health-gate/request-timed-out" => {}
        ref other => panic!("{other:?}: {msg}"),
    }
    within(t, 8.0, &out);
}

/// An HTTPS server with the self-signed certificate of `tests/fixtures/tls`.
fn tls_server() -> String {
    support::tls::fixture_server()
}

/// A self-signed certificate for 127.0.0.1 made now with rcgen, expiring at `not_after`.
fn cert_expiring(
    not_after: chrono::DateTime<chrono::Utc>,
) -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use chrono::Datelike;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let before = chrono::Utc::now() - chrono::Duration::days(30);
    params.not_before =
        rcgen::date_time_ymd(before.year(), before.month() as u8, before.day() as u8);
    params.not_after = rcgen::date_time_ymd(
        not_after.year(),
        not_after.month() as u8,
        not_after.day() as u8,
    );
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// An HTTPS server answering 200 with `certs` and `key`.
fn tls_server_with(
    certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> String {
    support::tls::server(certs, key)
}

#[test]
fn certificates_are_verified_unless_insecure() {
    let url = tls_server();
    let (out, t) = gate(&format!("--url {url} --retries 1 {FAST}"));
    unhealthy(
        &out,
        &["health-gate/unreachable"],
        &["TLS with 127.0.0.1", "certificate"],
    );
    within(t, 5.0, &out);
    let (out, _) = gate(&format!("--url {url} --retries 1 --insecure {FAST}"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(outputs(&out)["status"], "200");
}

#[test]
fn garbage_instead_of_tls_is_a_tls_error() {
    let garbage = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = garbage.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut st in garbage.incoming().flatten() {
            let _ = st.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let url = format!("https://127.0.0.1:{port}/");
    let (out, t) = gate(&format!("--url {} --retries 1 {FAST}", url));
    unhealthy(&out, &["health-gate/unreachable"], &["TLS with 127.0.0.1"]);
    within(t, 5.0, &out);
}

#[test]
fn start_period_failures_do_not_count() {
    let booting = || {
        Hostile::start(|n, _, st, _| {
            if n < 3 {
                respond(st, 503, &[], b"booting")
            } else {
                respond(st, 200, &[], b"ok")
            }
        })
    };
    let s = booting();
    let args = format!(
        "--url {} --retries 1 --start-period 1500ms --interval 200ms --timeout 10s",
        s.url
    );
    let (out, t) = gate(&args);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(outputs(&out)["attempts"], "4");
    assert!(out.json()["gates"][0]["tables"][0]["rows"]
        .to_string()
        .contains("start period: not counted"));
    within(t, 8.0, &out);

    // The same server without a start period fails on the first 503 (`--retries 1`).
    let s = booting();
    let (out, _) = gate(&format!("--url {} --retries 1 --timeout 5s", s.url));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(s.hits().len(), 1);
}

#[test]
fn slow_but_healthy_is_a_warning_and_max_latency_fails() {
    let s = Hostile::start(|_, _, st, _| {
        std::thread::sleep(Duration::from_millis(400));
        respond(st, 200, &[], b"ok")
    });
    let (out, t) = gate(&format!("--url {} --warn-latency 100ms {FAST}", s.url));
    assert_eq!(out.code, 0, "a warning does not fail the gate");
    assert_eq!(out.rules(), ["health-gate/slow-response"]);
    within(t, 5.0, &out);
    let (out, _) = gate(&format!(
        "--url {} --max-latency 100ms --retries 1 {FAST}",
        s.url
    ));
    unhealthy(
        &out,
        &["health-gate/latency-exceeded"],
        &["over the latency budget of 100ms"],
    );
}

#[test]
fn secret_headers_are_sent_and_never_printed() {
    let s = Hostile::start(|_, _, st, _| respond(st, 503, &[], b"no"));
    let mut cmd = bin();
    cmd.env("PROBE_TOKEN", "s3cr3t-probe-value")
        .args([
            "health-gate",
            "--url",
            &s.url,
            "--retries",
            "1",
            "--format",
            "json",
        ])
        .args([
            "--header",
            "X-Probe: yes",
            "--header-from-env",
            "X-Api-Key=PROBE_TOKEN",
        ]);
    let out = run(&mut cmd);
    assert_eq!(out.code, 1);
    let head = s.hits()[0].head.to_ascii_lowercase();
    assert!(head.contains("x-api-key: s3cr3t-probe-value"), "{head}");
    assert!(head.contains("x-probe: yes"), "{head}");
    assert!(!out.stdout.contains("s3cr3t") && !out.stderr.contains("s3cr3t"));

    // A missing variable is a usage error naming the variable, not the value.
    let out = run(bin().args([
        "health-gate",
        "--url",
        &s.url,
        "--header-from-env",
        "X-Api-Key=NOT_SET_ANYWHERE",
    ]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("NOT_SET_ANYWHERE"), "{}", out.stderr);
}

#[test]
fn redirects_never_carry_a_secret_header_to_another_origin() {
    let elsewhere = Hostile::start(|_, _, st, _| respond(st, 200, &[], b"thanks for the key"));
    let target = format!("{}/collect", elsewhere.url);
    let s = Hostile::start(move |_, _, st, _| respond(st, 302, &[("location", &target)], b""));
    let mut cmd = bin();
    cmd.env("PROBE_TOKEN", "s3cr3t-probe-value").args([
        "health-gate",
        "--url",
        &s.url,
        "--follow-redirects",
        "--header-from-env",
        "X-Api-Key=PROBE_TOKEN",
        "--retries",
        "1",
        "--format",
        "json",
    ]);
    let out = run(&mut cmd);
    unhealthy(
        &out,
        &["health-gate/cross-origin-redirect"],
        &["HTTP 302 redirects to another origin"],
    );
    assert!(
        elsewhere.hits().is_empty(),
        "the secret went to another origin"
    );
    assert!(!out.stdout.contains("thanks for the key"));
}

#[test]
fn a_redirect_to_another_origin_is_a_finding_and_its_body_is_never_quoted() {
    // `/health` of the deployment sends the probe to an internal page elsewhere; that page's
    // 200 is not the deployment's health, and its text must not reach the log.
    let internal = Hostile::start(|_, _, st, _| {
        respond(
            st,
            200,
            &[],
            b"{\"status\":\"healthy\",\"admin_token\":\"INTERNAL-SECRET\"}",
        )
    });
    let target = format!("{}/admin/status", internal.url);
    let s = Hostile::start(move |_, path, st, _| match path {
        "/moved" => respond(st, 200, &[], b"same origin, fine"),
        "/health/v2" => respond(st, 301, &[("location", "/moved")], b""),
        _ => respond(st, 302, &[("location", &target)], b"see elsewhere"),
    });
    let (out, _) = gate(&format!(
        "--url {}/health --follow-redirects --retries 1 {FAST}",
        s.url
    ));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.rules(),
        ["health-gate/cross-origin-redirect"],
        "{}",
        out.stdout
    );
    let m = messages(&out);
    assert!(
        m.contains("/admin/status") && m.contains("not followed"),
        "{m}"
    );
    assert!(internal.hits().is_empty(), "the other origin was probed");
    assert!(
        !out.stdout.contains("INTERNAL-SECRET") && !out.stderr.contains("INTERNAL-SECRET"),
        "a body from another origin reached the log"
    );
    // Within the origin, redirects are followed.
    let (out, _) = gate(&format!(
        "--url {}/health/v2 --follow-redirects {FAST}",
        s.url
    ));
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn head_probes_send_head() {
    let s = Hostile::start(|_, _, st, _| respond(st, 200, &[], b""));
    let (out, _) = gate(&format!("--url {} --method HEAD {FAST}", s.url));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        s.hits()[0].head.starts_with("HEAD / HTTP/1.1"),
        "{:?}",
        s.hits()
    );
}

/// The real `deployment_status` payload with its URL pointing at `url`.
fn deployment_event(dir: &Path, url: &str) -> std::path::PathBuf {
    let mut payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("tests/fixtures/events/deployment_status.created.json"),
        )
        .unwrap(),
    )
    .unwrap();
    payload["deployment_status"]["environment_url"] = json!(url);
    payload["deployment_status"]["target_url"] = json!("http://127.0.0.1:9/not-this-one");
    let path = dir.join("event.json");
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// `$GITHUB_OUTPUT` of an `in_actions` run, which must hold every `key=value` line of `want`.
fn step_outputs(dir: &Path, want: &[&str]) -> String {
    let o = std::fs::read_to_string(dir.join("output")).unwrap();
    for line in want {
        assert!(
            o.lines().any(|l| l == *line),
            "{line} missing from $GITHUB_OUTPUT:\n{o}"
        );
    }
    o
}

/// A temporary workspace with the payload of an event that has no pull request.
fn push_event() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    (dir, event)
}

/// A GitHub API URL where nothing listens (these runs must not need the API).
const NO_API: &str = "http://127.0.0.1:9";

/// Run the gate as a GitHub Actions step (see `actions`).
fn in_actions(dir: &Path, event_name: &str, event: &Path, api: &str, args: &str) -> Output {
    let mut cmd = bin();
    actions(&mut cmd, dir, event_name, event, api);
    run(cmd.args(args.split_whitespace()))
}

fn actions(cmd: &mut std::process::Command, dir: &Path, event_name: &str, event: &Path, api: &str) {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", event)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_TOKEN", "ghs_SECRETtoken000000000000000000")
        .env("GITHUB_WORKSPACE", dir)
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"));
}

#[test]
fn a_deployment_status_event_chooses_the_url_and_outputs_are_written() {
    let s = Hostile::start(|_, _, st, _| {
        respond(st, 200, &[], &json_body(json!({"status": "healthy"})))
    });
    let dir = tempfile::tempdir().unwrap();
    let event = deployment_event(dir.path(), &format!("{}/from-event", s.url));
    let t = Instant::now();
    let out = in_actions(
        dir.path(),
        "deployment_status",
        &event,
        NO_API,
        "health-gate --expect-json status=healthy --timeout 10s",
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(s.paths(), ["/from-event"]);
    let o = step_outputs(
        dir.path(),
        &["healthy=true", "attempts=1", "status=200", "verdict=pass"],
    );
    assert!(
        o.lines()
            .any(|l| l.starts_with("latency-ms=") && l.len() > 11),
        "{o}"
    );
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("every attempt")
            && summary.contains("| 1 | &#43;")
            // Notes are untrusted text: Markdown punctuation is written as character references.
            && summary.contains("deployment&#95;status"),
        "{summary}"
    );
    assert!(!out.stdout.contains("ghs_SECRET"));
    within(t.elapsed(), 5.0, &out);
}

#[test]
fn an_unhealthy_deployment_writes_healthy_false_for_the_rollback_step() {
    let s = Hostile::start(|_, _, st, _| respond(st, 503, &[], b"degraded"));
    let dir = tempfile::tempdir().unwrap();
    let event = deployment_event(dir.path(), &s.url);
    let out = in_actions(
        dir.path(),
        "deployment_status",
        &event,
        NO_API,
        "health-gate --retries 2 --interval 100ms --timeout 10s",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    step_outputs(
        dir.path(),
        &["healthy=false", "attempts=2", "status=503", "verdict=fail"],
    );
    assert!(
        out.stdout
            .contains("::error title=merge-gates health-gate/unexpected-status::"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_deployment_status_without_a_url_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::copy(
        root().join("tests/fixtures/events/deployment_status.created.json"),
        &event,
    )
    .unwrap();
    let out = in_actions(
        dir.path(),
        "deployment_status",
        &event,
        NO_API,
        "health-gate --format json",
    );
    unhealthy(
        &out,
        &["health-gate/no-deployment-url"],
        &["no `environment_url`"],
    );
}

#[test]
fn the_deployments_api_gives_the_url_of_the_latest_successful_deployment() {
    let s = Hostile::start(|_, _, st, _| respond(st, 200, &[], b"ok"));
    let repo = "/repos/Codertocat/Hello-World";
    let api = Server::start(vec![
        (
            &format!("{repo}/deployments") as &str,
            vec![Reply::json(
                200,
                json!([
                    {"id": 2, "sha": "a1b2c3d4e5f6", "environment": "staging"},
                    {"id": 1, "sha": "0000000000aa", "environment": "staging"}
                ]),
            )],
        ),
        (
            &format!("{repo}/deployments/2/statuses"),
            vec![Reply::json(
                200,
                json!([{"state": "failure", "environment_url": "http://127.0.0.1:9/failed"}]),
            )],
        ),
        (
            &format!("{repo}/deployments/1/statuses"),
            vec![Reply::json(
                200,
                json!([
                    {"state": "success", "environment_url": format!("{}/staging-health", s.url)},
                    {"state": "in_progress"}
                ]),
            )],
        ),
    ]);
    let (dir, event) = push_event();
    let out = in_actions(
        dir.path(),
        "push",
        &event,
        &api.url,
        "health-gate --environment staging --format json --timeout 20s",
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(s.paths(), ["/staging-health"]);
    let authenticated = api.requests.lock().unwrap().iter().all(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|a| a.contains("ghs_SECRETtoken"))
    });
    assert!(authenticated, "the token authenticates every lookup");
    assert!(!out.stdout.contains("ghs_SECRET") && !out.stderr.contains("ghs_SECRET"));
    assert!(out.json()["gates"][0]["notes"]
        .to_string()
        .contains("deployment 1 of environment `staging`"));
}

#[test]
fn runs_in_actions_without_a_pull_request() {
    let s = Hostile::start(|_, _, st, _| respond(st, 200, &[], b"ok"));
    let (dir, event) = push_event();
    let out = in_actions(
        dir.path(),
        "push",
        &event,
        NO_API,
        &format!("health-gate --url {} --format json", s.url),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.rules().is_empty(),
        "no PR findings for this gate: {:?}",
        out.rules()
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["health-gate"][..],
        &["health-gate", "--url", "ftp://example.com/"],
        &[
            "health-gate",
            "--url",
            "http://x/",
            "--expect-status",
            "200-abc",
        ],
        &["health-gate", "--url", "http://x/", "--interval", "5"],
        &[
            "health-gate",
            "--url",
            "http://x/",
            "--method",
            "HEAD",
            "--expect-body",
            "ok",
        ],
        &[
            "health-gate",
            "--url",
            "http://x/",
            "--expect-json",
            "status",
        ],
    ] {
        let out = run(bin().args(args));
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
    }
}

#[test]
fn config_keys_are_read() {
    let s = Hostile::start(|_, path, st, _| match path {
        "/a" => respond(st, 204, &[], b""),
        _ => respond(st, 200, &[], b"READY"),
    });
    let dir = tempfile::tempdir().unwrap();
    support::config(dir.path(), &format!(
            "[health-gate]\nurl = [\"{0}/a\", \"{0}/b\"]\nexpect-status = \"200,204\"\ninterval = \"100ms\"\ntimeout = \"10s\"\nmethod = \"GET\"\nexpect-body-regex = \"^(READY)?$\"\n",
            s.url
        ));
    let out = run(bin().args([
        "health-gate",
        "--format",
        "json",
        "--repo",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(outputs(&out)["attempts"], "2");
    let mut paths: Vec<String> = s.hits().into_iter().map(|h| h.path).collect();
    paths.sort();
    assert_eq!(paths, ["/a", "/b"]);
}

// ---- The analysis window ----

#[test]
fn two_failures_in_a_hundred_samples_fail_a_99_percent_window() {
    // The first answer passes; then 2 of the next 100 are 503.
    let s = Hostile::start(|n, _, st, _| match n {
        30 | 70 => respond(st, 503, &[], b"down"),
        _ => respond(st, 200, &[], b"ok"),
    });
    let (out, t) = gate(&format!(
        "--url {}/health --samples 100 --interval 5ms --min-success-rate 99 --timeout 60s",
        s.url
    ));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.rules(),
        ["health-gate/success-rate-low"],
        "{}",
        out.stdout
    );
    let m = messages(&out);
    assert!(
        m.contains("98.00% of 100 samples") && m.contains("HTTP 503"),
        "{m}"
    );
    assert_eq!(s.hits().len(), 101, "one pass, then the whole window");
    let o = outputs(&out);
    assert_eq!(o["healthy"], "false");
    assert_eq!(o["success-rate"], "98.00");
    assert!(
        o["failed-urls"].as_str().unwrap().ends_with("/health"),
        "{o}"
    );
    // The summary's table per URL: samples, rate, percentiles, a sparkline.
    let tables = out.json()["gates"][0]["tables"].to_string();
    assert!(
        tables.contains("analysis window") && tables.contains("100 of 100"),
        "{tables}"
    );
    within(t, 30.0, &out);

    // One failure in a hundred passes.
    let s = Hostile::start(|n, _, st, _| match n {
        30 => respond(st, 503, &[], b"down"),
        _ => respond(st, 200, &[], b"ok"),
    });
    let (out, _) = gate(&format!(
        "--url {}/health --samples 100 --interval 5ms --timeout 60s",
        s.url
    ));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(outputs(&out)["success-rate"], "99.00");
}

#[test]
fn failures_in_a_row_end_the_window_early() {
    let s = Hostile::start(|n, _, st, _| match n {
        0 => respond(st, 200, &[], b"ok"),
        _ => respond(st, 500, &[], b"broken"),
    });
    let (out, _) = gate(&format!(
        "--url {}/health --samples 50 --interval 5ms --failure-limit 3 --timeout 60s",
        s.url
    ));
    assert_eq!(out.code, 1);
    assert!(
        messages(&out).contains("ended early after 3 failures in a row"),
        "{}",
        messages(&out)
    );
    assert_eq!(s.hits().len(), 4, "the pass, then three failures");
}

#[test]
fn a_p95_of_two_and_a_half_seconds_fails_the_default() {
    // 10 samples, one of them 2.5 s: the nearest-rank P95 of 10 is the slowest.
    let s = Hostile::start(|n, _, st, _| {
        if n == 5 {
            std::thread::sleep(Duration::from_millis(2500));
        }
        respond(st, 200, &[], b"ok")
    });
    let (out, t) = gate(&format!(
        "--url {}/health --samples 10 --interval 5ms --timeout 60s",
        s.url
    ));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.rules(),
        ["health-gate/latency-percentile-exceeded"],
        "{}",
        out.stdout
    );
    assert!(
        messages(&out).contains("over the maximum of 2s (`--max-p95`)"),
        "{}",
        messages(&out)
    );
    assert!(
        outputs(&out)["p95-ms"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2500
    );
    within(t, 20.0, &out);
}

#[test]
fn an_answer_in_three_and_a_half_seconds_warns_and_passes_by_default() {
    let s = Hostile::start(|_, _, st, _| {
        std::thread::sleep(Duration::from_millis(3500));
        respond(st, 200, &[], b"ok")
    });
    let (out, t) = gate(&format!("--url {}/health --timeout 30s", s.url));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.rules(), ["health-gate/slow-response"]);
    assert!(
        messages(&out).contains("over the warning level of 3s"),
        "{}",
        messages(&out)
    );
    // Each probe is said on stderr as it happens (a long wait is never silent).
    assert!(
        out.stderr.contains("/health attempt 1: HTTP 200 in"),
        "{}",
        out.stderr
    );
    within(t, 20.0, &out);
}

// ---- TLS certificate expiry ----

#[test]
fn a_certificate_expiring_in_five_days_warns_and_in_two_days_fails() {
    // Not trusted by anyone, hence --insecure: what is judged here is only the expiry date.
    let soon = chrono::Utc::now() + chrono::Duration::days(6);
    let (certs, key) = cert_expiring(soon);
    let url = tls_server_with(certs, key);
    let (out, _) = gate(&format!("--url {url} --insecure {FAST}"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.rules(),
        ["health-gate/certificate-expiring"],
        "{}",
        out.stdout
    );
    let f = &out.json()["gates"][0]["findings"][0];
    assert_eq!(f["severity"], "warning");
    assert!(
        messages(&out).contains("within the 14 days of `--cert-min-days`"),
        "{}",
        messages(&out)
    );

    let (certs, key) = cert_expiring(chrono::Utc::now() + chrono::Duration::days(2));
    let url = tls_server_with(certs, key);
    let (out, _) = gate(&format!("--url {url} --insecure {FAST}"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["gates"][0]["findings"][0]["severity"], "error");

    // A certificate with a year left passes quietly; `--cert-min-days 0` turns the check off.
    let (certs, key) = cert_expiring(chrono::Utc::now() + chrono::Duration::days(365));
    let url = tls_server_with(certs, key);
    let (out, _) = gate(&format!("--url {url} --insecure {FAST}"));
    assert_eq!(out.code, 0);
    assert!(out.rules().is_empty(), "{}", out.stdout);
    let (certs, key) = cert_expiring(soon);
    let url = tls_server_with(certs, key);
    let (out, _) = gate(&format!("--url {url} --insecure --cert-min-days 0 {FAST}"));
    assert!(out.rules().is_empty(), "{}", out.stdout);
}

#[test]
fn a_certificate_for_another_name_fails_and_the_finding_names_why() {
    use base64::Engine as _;
    // A CA the probe trusts (SSL_CERT_FILE) and a certificate it signed for another name.
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["other.example".to_string()]).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca_cert.der());
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    std::fs::write(dir.path().join("ca.pem"), pem).unwrap();
    let url = tls_server_with(
        vec![leaf_cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    );
    let out = run(bin()
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .args([
            "health-gate",
            "--url",
            &url,
            "--retries",
            "1",
            "--format",
            "json",
        ])
        .args(FAST.split_whitespace()));
    unhealthy(
        &out,
        &["health-gate/unreachable"],
        &["not valid for name \"127.0.0.1\"", "other.example"],
    );
}
