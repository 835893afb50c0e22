//! The `package.json` manifest scan: any text is JSON or an error; every dependency's span is
//! the contents of a string key of the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = merge_gates_fuzz::text(data);
    if let Ok(deps) = merge_gates::fuzzing::scan_manifest(&text) {
        merge_gates_fuzz::assert_spans(&text, &deps);
        for (start, end, _) in &deps {
            let b = text.as_bytes();
            assert!(*start >= 1 && b[start - 1] == b'"', "key not after a quote");
            assert!(b.get(*end) == Some(&b'"'), "key not before a quote");
        }
    }
});
