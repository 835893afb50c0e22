//! Static lint of migrations with PostgreSQL's own grammar (pg_query). Not written yet.

use super::discover::Found;
use crate::finding::GateOutput;
use anyhow::Result;

pub fn run(
    _ctx: &super::super::Context<'_>,
    _args: &crate::cli::MigrationSafetyArgs,
    _found: &Found,
    _out: &mut GateOutput,
) -> Result<()> {
    Ok(())
}
