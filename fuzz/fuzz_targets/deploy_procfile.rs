//! The migration-safety deploy scanner for `procfile` files, then the shell reader and the
//! forbidden-command matcher: every finding (and the place of a parse error) lies in the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = merge_gates_fuzz::text(data);
    merge_gates_fuzz::check_deploy("procfile", &text);
});
