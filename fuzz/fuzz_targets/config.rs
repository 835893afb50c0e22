//! The config loader (`.github/merge-gates.toml`): any text is a config or an error message,
//! never a panic; so are the size values it holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use merge_gates::fuzzing::{parse_bytes, Config};

fuzz_target!(|data: &[u8]| {
    let text = merge_gates_fuzz::text(data);
    if let Err(msg) = Config::parse(&text) {
        assert!(!msg.is_empty(), "an error without a message");
    }
    // The size values of the config (`max-file-size = "64 MiB"`).
    let _ = parse_bytes(&text);
});
