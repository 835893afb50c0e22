//! `migration-safety`: not implemented yet (see its issue). Replaced wholesale when the gate lands.

use super::Context;
use crate::finding::GateOutput;
use anyhow::Result;

/// Whether this build implements the gate.
pub const IMPLEMENTED: bool = false;

pub async fn run(
    _ctx: &Context<'_>,
    _args: &crate::cli::MigrationSafetyArgs,
) -> Result<GateOutput> {
    anyhow::bail!("migration-safety: not implemented yet")
}
