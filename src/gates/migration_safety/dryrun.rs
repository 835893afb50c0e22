//! Dry run of migrations on a real, throwaway PostgreSQL, reading the locks each statement
//! takes. Not written yet.

use super::discover::Found;
use crate::finding::GateOutput;
use anyhow::Result;

pub async fn run(
    _ctx: &super::super::Context<'_>,
    _args: &crate::cli::MigrationSafetyArgs,
    _found: &Found,
    _out: &mut GateOutput,
) -> Result<()> {
    Ok(())
}
