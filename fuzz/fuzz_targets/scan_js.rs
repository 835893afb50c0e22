//! The JS/TS import scanner on arbitrary text: spans are byte ranges of the input on character
//! boundaries, never overlap, and hold a string literal's contents.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = merge_gates_fuzz::text(data);
    let found = merge_gates::fuzzing::scan_js(&src);
    merge_gates_fuzz::assert_spans(&src, &found);
    for (start, _, _) in &found {
        let quote = src.as_bytes()[start - 1];
        assert!(matches!(quote, b'"' | b'\'' | b'`'), "not after a quote");
    }
});
