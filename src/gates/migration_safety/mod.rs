//! `migration-safety`: will this PR's migrations lock, rewrite or destroy data in production,
//! and do its deploy files run migrations they must not?
//!
//! Four checks over one discovered set of migrations, each in its own module:
//! `lint` (PostgreSQL's grammar through pg_query, squawk-like rules), `dryrun` (the migrations
//! run in a transaction on a real, throwaway PostgreSQL, reading the locks they take, like
//! eugene), `deploy` (fly.toml, package.json scripts, Dockerfiles, Procfile, workflows) and
//! `prisma` (models and fields removed from `prisma/schema.prisma` between base and head).

pub mod applied;
pub mod deploy;
pub mod discover;
pub mod dryrun;
pub mod lint;
pub mod prisma;

use super::Context;
use crate::finding::GateOutput;
use crate::pr::Needs;
use crate::rules::GateId;
use anyhow::Result;

/// The gate's settings, typed, one part per check; `settings` resolves them.
#[derive(Default)]
pub struct Options {
    /// Check every migration in the repository, not only those the PR adds or changes.
    pub all: bool,
    pub discover: discover::Options,
    pub lint: lint::Options,
    pub dry_run: dryrun::Options,
    pub deploy: deploy::Options,
    pub prisma: prisma::Options,
}

/// The gate, with its options.
pub struct MigrationSafety(pub Options);

impl super::Gate for MigrationSafety {
    fn id(&self) -> GateId {
        GateId::MigrationSafety
    }

    fn needs(&self) -> Needs {
        Needs::CHANGED_FILES
    }

    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> super::Run<'a> {
        Box::pin(run(ctx, &self.0))
    }
}

async fn run(ctx: &Context<'_>, opts: &Options) -> Result<GateOutput> {
    let mut out = GateOutput::default();
    let found = discover::find(ctx, &opts.discover, opts.all, &mut out)?;
    applied::run(ctx, &opts.discover, &mut out);
    let earlier = discover::history(ctx, &opts.discover, &found)?;
    lint::run(&opts.lint, &found, &earlier, &mut out)?;
    dryrun::run(ctx, &opts.dry_run, &opts.discover, &found, &mut out).await?;
    deploy::run(ctx, &opts.deploy, &mut out);
    prisma::run(ctx, &opts.prisma, &mut out)?;
    Ok(out)
}
