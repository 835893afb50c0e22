//! Deploy files must not run migrations. Not written yet.

use crate::finding::GateOutput;
use anyhow::Result;

pub fn run(
    _ctx: &super::super::Context<'_>,
    _args: &crate::cli::MigrationSafetyArgs,
    _out: &mut GateOutput,
) -> Result<()> {
    Ok(())
}
