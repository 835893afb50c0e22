//! health-gate's answer check on an arbitrary answer (status, body bytes, truncation, latency)
//! against arbitrary expectations: a failing status is a status problem; an accepted answer has
//! an expected status, contains the expected text and, with JSON assertions, is JSON.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use merge_gates::fuzzing::{Answer, Expectations, JsonExpect, Kind, StatusSet};
use std::time::Duration;

#[derive(Arbitrary, Debug)]
struct Input {
    statuses: String,
    json: Vec<String>,
    want: Option<String>,
    regex: bool,
    max_latency_ms: Option<u32>,
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    truncated: bool,
    latency_ms: u32,
}

fuzz_target!(|i: Input| {
    let Ok(status) = StatusSet::parse(&i.statuses) else {
        return;
    };
    let Ok(json) = i
        .json
        .iter()
        .map(|s| JsonExpect::parse(s))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let e = Expectations {
        status,
        json,
        body: i.want.clone(),
        regex: i
            .regex
            .then(|| regex::bytes::Regex::new(r"(?i)\b(ok|healthy|up)\b").unwrap()),
        max_latency: i.max_latency_ms.map(|ms| Duration::from_millis(ms.into())),
    };
    let a = Answer {
        status: i.status,
        location: i.location,
        retry_after: None,
        body: i.body,
        truncated: i.truncated,
        latency: Duration::from_millis(i.latency_ms.into()),
        cert_expires: None,
    };
    match e.check(&a) {
        Ok(()) => {
            assert!(e.status.contains(a.status));
            if let Some(w) = &e.body {
                assert!(w.is_empty() || a.body.windows(w.len()).any(|x| x == w.as_bytes()));
            }
            if !e.json.is_empty() {
                assert!(!a.truncated);
                let text = std::str::from_utf8(&a.body).expect("accepted JSON is UTF-8");
                serde_json::from_str::<serde_json::Value>(text).expect("accepted JSON parses");
            }
        }
        Err(p) => {
            assert_eq!(
                p.kind == Kind::Status,
                !e.status.contains(a.status),
                "{}",
                p.message
            );
            assert!(!p.message.is_empty());
        }
    }
});
