//! The migration lint (PostgreSQL's own parser, then every rule family) on arbitrary SQL text,
//! for an old and a new PostgreSQL version. Every finding points inside the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = merge_gates_fuzz::text(data);
    for pg in [11, 15] {
        let findings = merge_gates::fuzzing::lint_sql(&text, pg);
        merge_gates_fuzz::assert_inside(&text, &findings);
    }
});
