//! verify-heartbeat on one listed file: JSON per line, `timestamp`/`ts`, `status`, the clock.
//! Every finding points inside the file.
#![no_main]
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2025, 10, 21, 12, 0, 0).unwrap();
    let findings = merge_gates::fuzzing::check_heartbeat(data, now);
    merge_gates_fuzz::assert_inside(&merge_gates_fuzz::text(data), &findings);
});
