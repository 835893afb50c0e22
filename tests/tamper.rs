//! What a pull request cannot do to turn its own gates green (issue 14): one test per trick,
//! each named after the trick it defeats, each running the built binary (or the action's
//! scripts) end to end — on a real git repository, and through the GitHub API stand-in where
//! the trick goes through the API. `docs/hardening.md` lists them in "What a PR cannot do".
//! This file only declares the modules.

mod support;

#[path = "tamper/approval.rs"]
mod approval;
#[path = "tamper/deploy.rs"]
mod deploy;
#[path = "tamper/hiding.rs"]
mod hiding;
#[path = "tamper/output.rs"]
mod output;
#[path = "tamper/policy.rs"]
mod policy;
