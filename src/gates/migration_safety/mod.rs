//! `migration-safety`: will this PR's migrations lock, rewrite or destroy data in production,
//! and do its deploy files run migrations they must not?
//!
//! Four checks over one discovered set of migrations, each in its own module:
//! `lint` (PostgreSQL's grammar through pg_query, squawk-like rules), `dryrun` (the migrations
//! run in a transaction on a real, throwaway PostgreSQL, reading the locks they take, like
//! eugene), `deploy` (fly.toml, package.json scripts, Dockerfiles, Procfile, workflows) and
//! `prisma` (models and fields removed from `prisma/schema.prisma` between base and head).

pub mod deploy;
pub mod discover;
pub mod dryrun;
pub mod lint;
pub mod prisma;

use super::Context;
use crate::finding::GateOutput;
use anyhow::Result;

/// Whether this build implements the gate.
pub const IMPLEMENTED: bool = true;

pub async fn run(ctx: &Context<'_>, args: &crate::cli::MigrationSafetyArgs) -> Result<GateOutput> {
    let mut out = GateOutput::default();
    let found = discover::find(ctx, args, &mut out)?;
    lint::run(ctx, args, &found, &mut out)?;
    dryrun::run(ctx, args, &found, &mut out).await?;
    deploy::run(ctx, args, &mut out)?;
    prisma::run(ctx, args, &mut out)?;
    Ok(out)
}
