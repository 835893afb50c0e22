//! The `merge-gates` binary: everything lives in the library (`src/lib.rs`); exit codes are
//! 0 pass, 1 a gate failed, 2 usage, config or internal error.

fn main() -> std::process::ExitCode {
    merge_gates::main()
}
