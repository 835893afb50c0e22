//! Each gate's options, resolved from its flags (which win), its config section and its
//! defaults (which live in the gate: `Options::default()`). The one list of gates is `resolve`:
//! adding a gate is a module under `gates/` and one arm here.

use super::{bytes, duration, env};
use crate::cli::{DevMcpBanArgs, HealthGateArgs, HeartbeatArgs, MigrationSafetyArgs};
use crate::config::{Config, UrlList};
use crate::gates::migration_safety::discover::{self, Migration};
use crate::gates::migration_safety::{deploy, dryrun, lint, prisma};
use crate::gates::{dev_mcp_ban, health_gate, heartbeat, mcp_evidence, migration_safety, Gate};
use crate::github::GithubEnv;
use crate::globs::{self, Style};
use crate::rules::GateId;
use anyhow::{anyhow, bail, Context as _, Result};
use std::time::Duration;

/// The gate flags of the command line; all default under `merge-gates run`, which takes only
/// the database URL.
#[derive(Debug, Default)]
pub struct Flags {
    pub heartbeat: HeartbeatArgs,
    pub dev_mcp_ban: DevMcpBanArgs,
    pub migration_safety: MigrationSafetyArgs,
    pub health_gate: HealthGateArgs,
}

/// What a gate's options are made from.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub flags: &'a Flags,
    /// Where policy files the config names are read from (the base commit, when known).
    pub policy: &'a super::Policy,
    pub github: Option<GithubEnv>,
}

/// The gate `id` with its options.
pub fn resolve(id: GateId, i: &Inputs<'_>) -> Result<Box<dyn Gate>> {
    Ok(match id {
        GateId::McpEvidence => Box::new(mcp_evidence::McpEvidence(mcp_evidence(i)?)),
        GateId::Heartbeat => Box::new(heartbeat::Heartbeat(heartbeat(i)?)),
        GateId::DevMcpBan => Box::new(dev_mcp_ban::DevMcpBan(dev_mcp_ban(i)?)),
        GateId::MigrationSafety => {
            Box::new(migration_safety::MigrationSafety(migration_safety(i)?))
        }
        GateId::HealthGate => Box::new(health_gate::HealthGate(health_gate(i)?)),
    })
}

/// Largest file a setting names (an evidence schema); a real one is a few KiB.
const MAX_SETTING_FILE: u64 = 1 << 20;

fn mcp_evidence(i: &Inputs<'_>) -> Result<mcp_evidence::Options> {
    let c = &i.config.verify_mcp_evidence;
    let key = "verify-mcp-evidence";
    let mut o = mcp_evidence::Options::default();
    if let Some(rel) = &c.schema {
        let bytes = i
            .policy
            .read_capped(rel, MAX_SETTING_FILE)
            .map_err(|e| anyhow!("config verify-mcp-evidence.schema `{rel}` {e}"))?
            .with_context(|| format!("config verify-mcp-evidence.schema `{rel}` is over 1 MiB"))?;
        let text =
            String::from_utf8(bytes).with_context(|| format!("schema `{rel}` is not UTF-8"))?;
        (o.validator, o.quick) = mcp_evidence::compile_schema(&text, Some(rel))?;
    }
    if let Some(s) = &c.section {
        o.section = s.clone();
    }
    if let Some(n) = c.min_entries {
        o.min_entries = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(tools) = &c.tools {
        o.tools = tools.clone();
        // The quick path checks the built-in shape only; the allow-list needs each `tool`.
        o.quick = None;
    }
    if let Some(p) = &c.evidence_path {
        o.root = mcp_evidence::PathPattern::new(p)?;
    }
    if let Some(n) = bytes(None, c.max_file_size.as_deref(), ("max-file-size", key))? {
        o.limits.max_file = n;
    }
    if let Some(n) = bytes(None, c.max_line_length.as_deref(), ("max-line-length", key))? {
        o.limits.max_line = n as usize;
    }
    if let Some(d) = duration(None, c.future_skew.as_deref(), ("future-skew", key))? {
        o.future_skew = d;
    }
    if let Some(b) = c.require_in_pr {
        o.require_in_pr = b;
    }
    if let Some(p) = &c.exemption_phrases {
        o.phrases = p.clone();
    }
    Ok(o)
}

fn heartbeat(i: &Inputs<'_>) -> Result<heartbeat::Options> {
    let (c, a) = (&i.config.verify_heartbeat, &i.flags.heartbeat);
    let key = "verify-heartbeat";
    let mut o = heartbeat::Options::default();
    if let Some(s) = &c.section {
        o.section = s.clone();
    }
    if let Some(d) = duration(
        a.threshold.as_deref(),
        c.threshold.as_deref(),
        ("threshold", key),
    )? {
        o.threshold = d;
    }
    if let Some(r) = a.reference.or(c.reference) {
        o.reference = r;
    }
    if let Some(d) = duration(None, c.future_skew.as_deref(), ("future-skew", key))? {
        o.future_skew = d;
    }
    if let Some(p) = &c.exemption_phrases {
        o.phrases = p.clone();
    }
    if let Some(d) = duration(
        None,
        c.exemption_max_span.as_deref(),
        ("exemption-max-span", key),
    )? {
        o.max_span = d;
    }
    if let Some(b) = c.require_in_pr {
        o.require_in_pr = b;
    }
    if let Some(n) = bytes(None, c.max_file_size.as_deref(), ("max-file-size", key))? {
        o.limits.max_file = n;
    }
    Ok(o)
}

fn dev_mcp_ban(i: &Inputs<'_>) -> Result<dev_mcp_ban::Options> {
    let (c, a) = (&i.config.dev_mcp_ban, &i.flags.dev_mcp_ban);
    let mut lists = dev_mcp_ban::policy::Lists::default();
    for (value, list) in [
        (&c.banned, &mut lists.banned),
        (&c.banned_patterns, &mut lists.banned_patterns),
        (&c.allowed_packages, &mut lists.allowed_packages),
        (&c.production_paths, &mut lists.production_paths),
        (&c.allowed_paths, &mut lists.allowed_paths),
        (&c.manifests, &mut lists.manifests),
    ] {
        if let Some(v) = value {
            *list = v.clone();
        }
    }
    let mut o = dev_mcp_ban::Options {
        policy: dev_mcp_ban::policy::Policy::new(&lists)?,
        ..dev_mcp_ban::Options::default()
    };
    if let Some(n) = bytes(
        None,
        c.max_file_size.as_deref(),
        ("max-file-size", "dev-mcp-ban"),
    )? {
        o.max_file = n;
    }
    o.changed_only = a.changed_only || c.changed_only.unwrap_or(false);
    Ok(o)
}

fn migration_safety(i: &Inputs<'_>) -> Result<migration_safety::Options> {
    let (c, a) = (&i.config.migration_safety, &i.flags.migration_safety);
    let mut o = migration_safety::Options {
        all: a.all,
        ..Default::default()
    };

    let mut migrations: Vec<String> = discover::DEFAULT_MIGRATIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    migrations.extend(c.migrations.iter().flatten().cloned());
    o.discover.migrations = globs::set(&migrations, "migration-safety.migrations", Style::Paths)?;
    o.discover.migration_globs = migrations;
    if let Some(r) = &c.rollbacks {
        o.discover.rollbacks = globs::set(r, "migration-safety.rollbacks", Style::Paths)?;
    }

    o.lint = lint::Options {
        pg: match (a.pg_version, c.postgres_version) {
            (Some(v), _) if !lint::PG_VERSIONS.contains(&v) => {
                bail!("--pg-version {v}: supported PostgreSQL major versions are 9 to 18")
            }
            (None, Some(v)) if !lint::PG_VERSIONS.contains(&v) => bail!(
                "config migration-safety.postgres-version = {v}: supported PostgreSQL major versions are 9 to 18"
            ),
            (a, b) => a.or(b).unwrap_or(lint::DEFAULT_PG_VERSION),
        },
        additive_only: c
            .additive_only
            .unwrap_or(lint::Options::default().additive_only),
        transaction: c.transaction.unwrap_or(lint::TransactionMode::OneQuery),
        exposed_schemas: match &c.exposed_schemas {
            Some(list) if list.iter().any(|s| s.trim().is_empty()) => {
                bail!("config migration-safety.exposed-schemas: a schema name is empty")
            }
            Some(list) => list.clone(),
            None => lint::Options::default().exposed_schemas,
        },
    };

    let d = &c.dry_run;
    let key = "migration-safety.dry-run";
    o.dry_run.database_url = a.database_url.clone();
    o.dry_run.additive_only = o.lint.additive_only;
    o.dry_run.exposed_schemas = o.lint.exposed_schemas.clone();
    o.dry_run.trace = a.dry_run_trace.clone();
    if let Some(t) = duration(
        None,
        d.statement_timeout.as_deref(),
        ("statement-timeout", key),
    )? {
        o.dry_run.statement_timeout = t;
    }
    if let Some(t) = duration(None, d.timeout.as_deref(), ("timeout", key))? {
        o.dry_run.timeout = t;
    }
    if let Some(p) = &d.setup {
        let text = match i.policy.read_capped(p, discover::MAX_MIGRATION_BYTES) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => bail!("config migration-safety.dry-run.setup `{p}`: too large"),
            Err(e) => bail!("config migration-safety.dry-run.setup `{p}` {e}"),
        };
        o.dry_run.setup = Some(Migration {
            path: p.clone(),
            rollback: false,
            text,
        });
    }
    if let Some(modes) = &d.dangerous_locks {
        o.dry_run.dangerous = modes
            .iter()
            .map(|m| {
                dryrun::lock_mode(m).ok_or_else(|| {
                    anyhow!("config migration-safety.dry-run.dangerous-locks: `{m}` is not a PostgreSQL table lock mode")
                })
            })
            .collect::<Result<_>>()?;
    }

    let dc = &c.deploy;
    o.deploy.patterns = deploy::Options::patterns(dc.patterns.iter().flatten())
        .map_err(|p| anyhow!("config migration-safety.deploy.patterns: `{p}` names no command"))?;
    if let Some(s) = &dc.scripts {
        o.deploy.scripts = globs::set(s, "migration-safety.deploy.scripts", Style::Paths)?;
    }
    if let Some(r) = &dc.release_commands {
        o.deploy.release_commands = deploy::Options::release_commands(r.iter().map(String::as_str));
    }

    o.prisma = prisma::Options {
        schema: c
            .prisma
            .schema
            .clone()
            .unwrap_or_else(|| prisma::DEFAULT_SCHEMA.to_string()),
        base_schema: a.prisma_base_schema.clone(),
    };
    Ok(o)
}

fn health_gate(i: &Inputs<'_>) -> Result<health_gate::Options> {
    use health_gate::expect::{Expectations, JsonExpect, StatusSet};
    use health_gate::probe::ClientOptions;
    use health_gate::schedule::Schedule;
    use health_gate::ProbeMethod;

    let a = &*i.flags.health_gate.flags;
    let c = &i.config.health_gate;
    let key = "health-gate";
    // A duration: the flag, else its config key, else the default.
    let dur = |flag: &Option<String>, conf: &Option<String>, name: &str| {
        duration(flag.as_deref(), conf.as_deref(), (name, key))
    };
    let urls = if !a.url.is_empty() {
        health_gate::split_urls(&a.url)
    } else {
        match &c.url {
            Some(UrlList::One(u)) => health_gate::split_urls([u]),
            Some(UrlList::Many(list)) => health_gate::split_urls(list),
            None => Vec::new(),
        }
    };
    let status = match a.expect_status.as_ref().or(c.expect_status.as_ref()) {
        Some(s) => StatusSet::parse(s).map_err(|e| anyhow!("--expect-status: {e}"))?,
        None => StatusSet::parse("200-299").expect("default parses"),
    };
    let json_texts = if a.expect_json.is_empty() {
        c.expect_json.clone().unwrap_or_default()
    } else {
        a.expect_json.clone()
    };
    let json = json_texts
        .iter()
        .map(|s| JsonExpect::parse(s).map_err(|e| anyhow!("--expect-json: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let regex = match a
        .expect_body_regex
        .as_ref()
        .or(c.expect_body_regex.as_ref())
    {
        Some(r) => Some(
            regex::bytes::RegexBuilder::new(r)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| anyhow!("--expect-body-regex: {e}"))?,
        ),
        None => None,
    };
    let expect = Expectations {
        status,
        json,
        body: a.expect_body.clone().or_else(|| c.expect_body.clone()),
        regex,
        max_latency: Some(
            dur(&a.max_latency, &c.max_latency, "max-latency")?.unwrap_or(Duration::from_secs(5)),
        ),
    };
    let method = a.method.or(c.method).unwrap_or(ProbeMethod::Get);
    if method == ProbeMethod::Head && expect.reads_body() {
        bail!("--method HEAD gets no body, but --expect-json, --expect-body or --expect-body-regex needs one");
    }
    let backoff = a.backoff.or(c.backoff).unwrap_or(1.0);
    if !backoff.is_finite() || !(1.0..=10.0).contains(&backoff) {
        bail!("--backoff: {backoff} is not a factor between 1 and 10");
    }
    let retries = a.retries.or(c.retries).unwrap_or(5);
    let success_threshold = a.success_threshold.or(c.success_threshold).unwrap_or(1);
    if retries == 0 || success_threshold == 0 {
        bail!("--retries and --success-threshold must be at least 1");
    }
    let plain = if a.header.is_empty() {
        c.header.clone().unwrap_or_default()
    } else {
        a.header.clone()
    };
    let from_env = if a.header_from_env.is_empty() {
        c.header_from_env.clone().unwrap_or_default()
    } else {
        a.header_from_env.clone()
    };
    let headers = health_gate::headers(&plain, &from_env, env)?;
    let interval = dur(&a.interval, &c.interval, "interval")?.unwrap_or(Duration::from_secs(5));
    let request_timeout = dur(&a.request_timeout, &c.request_timeout, "request-timeout")?
        .unwrap_or(Duration::from_secs(10));
    let samples = match (
        a.samples.or(c.samples),
        dur(&a.duration, &c.duration, "duration")?,
    ) {
        (Some(n), None) => n,
        (None, Some(d)) => {
            let n = d.as_secs_f64() / interval.as_secs_f64().max(0.001);
            n.ceil().min(f64::from(u32::MAX)) as u32
        }
        (Some(_), Some(_)) => bail!("health-gate: give `samples` or `duration`, not both"),
        (None, None) => 0,
    };
    if samples > 100_000 {
        bail!("--samples: {samples} is more than 100,000 probes of one URL");
    }
    let min_success_rate = a.min_success_rate.or(c.min_success_rate).unwrap_or(99.0);
    if !min_success_rate.is_finite() || !(0.0..=100.0).contains(&min_success_rate) {
        bail!("--min-success-rate: {min_success_rate} is not a percentage between 0 and 100");
    }
    let window = (samples > 0)
        .then(|| -> Result<health_gate::window::Window> {
            Ok(health_gate::window::Window {
                samples,
                interval,
                min_success_rate,
                max_p95: dur(&a.max_p95, &c.max_p95, "max-p95")?.unwrap_or(Duration::from_secs(2)),
                max_p99: dur(&a.max_p99, &c.max_p99, "max-p99")?,
                failure_limit: a.failure_limit.or(c.failure_limit).filter(|k| *k > 0),
                request_timeout,
            })
        })
        .transpose()?;
    Ok(health_gate::Options {
        urls,
        environment: a.environment.clone().or_else(|| c.environment.clone()),
        schedule: Schedule {
            start_period: dur(&a.start_period, &c.start_period, "start-period")?
                .unwrap_or(Duration::ZERO),
            interval,
            backoff,
            request_timeout,
            retries,
            success_threshold,
        },
        timeout: dur(&a.timeout, &c.timeout, "timeout")?.unwrap_or(Duration::from_secs(300)),
        expect,
        // The team's policy: over 3 s a warning, over 5 s a failed answer.
        warn_latency: Some(
            dur(&a.warn_latency, &c.warn_latency, "warn-latency")?
                .unwrap_or(Duration::from_secs(3)),
        ),
        window,
        cert_min_days: a.cert_min_days.or(c.cert_min_days).unwrap_or(14),
        client: ClientOptions {
            follow_redirects: a.follow_redirects || c.follow_redirects.unwrap_or(false),
            insecure: a.insecure || c.insecure.unwrap_or(false),
            method: match method {
                ProbeMethod::Get => reqwest::Method::GET,
                ProbeMethod::Head => reqwest::Method::HEAD,
            },
            headers,
        },
        github: i.github.clone(),
    })
}
