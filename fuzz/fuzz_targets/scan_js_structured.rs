//! The JS/TS import scanner on generated sources (see `merge_gates_fuzz::js`): exactly the real
//! imports are found, at their spans, and nothing inside comments, strings, regexes or
//! template text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use merge_gates_fuzz::js::Program;

fuzz_target!(|p: Program| {
    let src = p.render();
    let found = merge_gates::fuzzing::scan_js(&src.text);
    assert_eq!(found, src.imports, "source:\n{}", src.text);
});
