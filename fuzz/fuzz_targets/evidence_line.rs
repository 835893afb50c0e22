//! verify-mcp-evidence on one listed file: JSON per line, the evidence schema (with formats),
//! the timestamp parser and the clock checks. Every finding points inside the file, and the
//! quick check of built-in-shape lines finds exactly what the full check finds.
#![no_main]
use chrono::{NaiveDate, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2025, 10, 21, 12, 0, 0).unwrap();
    let date = NaiveDate::from_ymd_opt(2025, 10, 21);
    let findings = merge_gates::fuzzing::check_evidence(data, now, date);
    merge_gates_fuzz::assert_inside(&merge_gates_fuzz::text(data), &findings);
    let full = merge_gates::fuzzing::check_evidence_full_way(data, now, date);
    assert_eq!(findings, full, "the quick check and the full check disagree");
});
