//! The tamper suite: tricks a pull request can play to turn a failing gate green, each run
//! end to end (the built binary on a real git repository, the GitHub API stand-in where the
//! trick goes through the API) and named after the trick it defeats. `docs/hardening.md`
//! keeps the table "What a PR cannot do". This file only declares the modules.

mod support;

mod tamper {
    pub mod hiding;
}
