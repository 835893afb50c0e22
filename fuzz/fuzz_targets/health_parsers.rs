//! health-gate's option parsers on arbitrary text: durations (`--timeout 30s`), status sets
//! (`200-299,304`, `2xx`), JSON assertions (`checks.db.status=ok`) and the `Retry-After`
//! header of an answer. Errors are messages; a status set contains exactly what it says. The
//! same bytes as a server's DER certificate: its expiry date is read or is `None`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use merge_gates::fuzzing::{cert_not_after, parse_duration, retry_after, JsonExpect, StatusSet};

fuzz_target!(|data: &[u8]| {
    let _ = cert_not_after(data);
    let text = merge_gates_fuzz::text(data);
    let _ = parse_duration(&text);
    let _ = retry_after(&text);
    let _ = JsonExpect::parse(&text);
    if let Ok(set) = StatusSet::parse(&text) {
        assert!(
            !set.contains(99) && !set.contains(600),
            "{text:?} admits a non-status"
        );
        // A single code admits itself and nothing else.
        if let Ok(n) = text.trim().parse::<u16>() {
            assert!(set.contains(n));
            assert!(!set.contains(n + 1) && !set.contains(n - 1), "{text:?}");
        }
    }
});
