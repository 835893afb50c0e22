//! The Python import scanner on arbitrary text: spans are byte ranges of the input on character
//! boundaries, never overlap, and the value is the span's text without whitespace and `\`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = merge_gates_fuzz::text(data);
    let found = merge_gates::fuzzing::scan_py(&src);
    merge_gates_fuzz::assert_spans(&src, &found);
    for (start, end, value) in &found {
        let squeezed: String = src[*start..*end]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        assert_eq!(&squeezed, value);
        assert!(!value.is_empty() && !value.starts_with('.'), "{value:?}");
    }
});
