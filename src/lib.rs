//! merge-gates as a library: the binary (`src/main.rs`) only calls `main()`. The modules stay
//! private to the crate; `fuzzing` re-exports the few entry points that see untrusted bytes, so
//! the fuzz targets in `fuzz/` drive exactly the code the binary runs.

mod cli;
mod config;
mod diff_filter;
mod finding;
mod gates;
mod git;
mod github;
mod globs;
mod init;
mod lines;
mod parallel;
mod pr;
mod pr_body;
mod report;
mod rules;
mod run;
mod settings;
mod suppress;
mod text;
mod timestamp;
mod units;
mod waiver;
mod workspace;

use clap::Parser;
use cli::{Cli, Command, Common, SchemaKind};
use rules::{GateId, Rule};
use settings::{Flags, Settings};
use std::process::ExitCode;

/// The whole program: parse the command line, run, and map the result to the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            // Error messages quote untrusted values (config entries, paths, PR text): one
            // line with every control character made visible, so that no part of it can start
            // a line, and so no workflow command (`::add-mask::`, `::warning`), in a job log.
            eprintln!(
                "merge-gates: error: {}",
                text::excerpt(&format!("{e:#}"), 20_000)
            );
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut flags = Flags::default();
    let (common, selected): (Common, Option<GateId>) = match cli.command {
        Command::Rules { format } => {
            run::write_stdout(&rules_list(format))?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Explain { rule } => {
            run::write_stdout(&explain(&rule)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Schema { which } => {
            let s = match which {
                SchemaKind::Config => config::Config::json_schema(),
                SchemaKind::Report => include_str!("../schemas/report.schema.json").to_string(),
                SchemaKind::Evidence => gates::mcp_evidence::builtin_schema().to_string(),
            };
            run::write_stdout(&s)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Init(a) => {
            let repo = a.repo.clone().unwrap_or_else(|| ".".into());
            run::write_stdout(&init::init(&repo, a.force)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Run { common, args } => {
            flags.migration_safety.database_url = args.database_url;
            (common, None)
        }
        Command::VerifyMcpEvidence { common } => (common, Some(GateId::McpEvidence)),
        Command::VerifyHeartbeat { common, args } => {
            flags.heartbeat = args;
            (common, Some(GateId::Heartbeat))
        }
        Command::DevMcpBan { common, args } => {
            flags.dev_mcp_ban = args;
            (common, Some(GateId::DevMcpBan))
        }
        Command::MigrationSafety { common, args } => {
            flags.migration_safety = args;
            (common, Some(GateId::MigrationSafety))
        }
        Command::HealthGate { common, args } => {
            flags.health_gate = args;
            (common, Some(GateId::HealthGate))
        }
    };
    settings::init_logging(common.verbose, common.quiet);
    let settings = Settings::new(&common, selected, &flags)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(run::execute(&settings))?;
    Ok(match report.verdict {
        report::Verdict::Pass => ExitCode::SUCCESS,
        report::Verdict::Fail => ExitCode::from(1),
    })
}

/// `merge-gates rules`: every rule, as a table or as JSON.
fn rules_list(format: cli::ListFormat) -> String {
    match format {
        cli::ListFormat::Text => Rule::ALL
            .iter()
            .map(|r| {
                format!(
                    "{:<48} {:<8} {}\n",
                    r.id(),
                    r.default_severity().as_str(),
                    r.summary()
                )
            })
            .collect(),
        cli::ListFormat::Json => {
            let rules: Vec<serde_json::Value> = Rule::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(),
                        "gate": r.gate().map_or("core", |g| g.cli_name()),
                        "severity": r.default_severity().as_str(),
                        "summary": r.summary(),
                        "docs": r.docs_url(),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rules).expect("rules serialize") + "\n"
        }
    }
}

/// `merge-gates explain NAME`: the docs of the rule NAME names — its full id, or the part after
/// the gate (`drop-column`) when one rule has it — or, for a gate name or prefix, its rules.
fn explain(name: &str) -> anyhow::Result<String> {
    if let Some(r) = Rule::from_id(name) {
        return Ok(r.docs().to_string());
    }
    let gate = GateId::from_name(name).or_else(|| {
        Rule::ALL
            .iter()
            .filter_map(|r| r.gate())
            .find(|g| r_prefix(*g) == name.trim_end_matches('/'))
    });
    if let Some(g) = gate {
        let list: Vec<String> = Rule::ALL
            .iter()
            .filter(|r| r.gate() == Some(g))
            .map(|r| format!("{}\n", r.id()))
            .collect();
        return Ok(format!(
            "{} has these rules (`merge-gates explain <rule>` for one):\n{}",
            g.cli_name(),
            list.concat()
        ));
    }
    let matches: Vec<Rule> = Rule::ALL
        .iter()
        .copied()
        .filter(|r| r.id().rsplit('/').next() == Some(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.docs().to_string()),
        [] => anyhow::bail!(
            "unknown rule `{}` (see `merge-gates rules`)",
            text::excerpt(name, 100)
        ),
        many => anyhow::bail!(
            "`{}` names more than one rule: {}",
            text::excerpt(name, 100),
            many.iter().map(|r| r.id()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The prefix of a gate's rule ids (`migration-safety`, `mcp-evidence`, …).
fn r_prefix(g: GateId) -> &'static str {
    Rule::ALL
        .iter()
        .find(|r| r.gate() == Some(g))
        .and_then(|r| r.id().split_once('/'))
        .map_or("", |(p, _)| p)
}

/// Entry points for the fuzz targets (`fuzz/`). Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::config::Config;
    pub use crate::finding::{Finding, Location};
    use crate::gates::dev_mcp_ban::Import;
    pub use crate::gates::health_gate::cert::not_after as cert_not_after;
    pub use crate::gates::health_gate::expect::Answer;
    pub use crate::gates::health_gate::expect::{Expectations, JsonExpect, Kind, StatusSet};
    pub use crate::gates::health_gate::probe::retry_after;
    pub use crate::gates::migration_safety::deploy::scan_text as scan_deploy_file;
    pub use crate::gates::migration_safety::lint::lint_text as lint_sql;
    pub use crate::pr_body::{Body, Mention, Section};
    pub use crate::report::github::{escape_data, escape_property};
    pub use crate::timestamp::parse as parse_timestamp;
    pub use crate::units::{bytes as parse_bytes, duration as parse_duration};
    use chrono::{DateTime, NaiveDate, Utc};

    fn spans(found: Vec<Import>) -> Vec<(usize, usize, String)> {
        found
            .into_iter()
            .map(|i| (i.start, i.end, i.value))
            .collect()
    }

    /// Module specifiers of a JS/TS source: byte span of the string's contents, and its value.
    pub fn scan_js(text: &str) -> Vec<(usize, usize, String)> {
        spans(crate::gates::dev_mcp_ban::scan_js::imports(text))
    }

    /// Absolute modules a Python source imports: byte span of the dotted name, and its value.
    pub fn scan_py(text: &str) -> Vec<(usize, usize, String)> {
        spans(crate::gates::dev_mcp_ban::scan_py::imports(text))
    }

    /// Runtime dependencies of a `package.json`: byte span of the key's contents, package name.
    pub fn scan_manifest(text: &str) -> Result<Vec<(usize, usize, String)>, String> {
        crate::gates::dev_mcp_ban::manifest::dependencies(text).map(spans)
    }

    /// The workflow command (annotation) the GitHub reporter writes for a finding at
    /// `path`:`line` with this message and fix hint.
    pub fn annotation(path: &str, line: usize, message: &str, help: &str) -> String {
        let f = Finding::new(crate::rules::Rule::ALL[0], message)
            .help(help)
            .at(Location::line(path, line));
        crate::report::github::command(&f)
    }

    /// verify-mcp-evidence's check of one listed file's bytes (default options).
    pub fn check_evidence(
        bytes: &[u8],
        now: DateTime<Utc>,
        path_date: Option<NaiveDate>,
    ) -> Vec<Finding> {
        crate::gates::mcp_evidence::check_file_bytes(bytes, now, path_date, true)
    }

    /// `check_evidence` without the quick check of built-in-shape lines: every line parsed
    /// into a JSON tree and validated by the schema (the findings must be the same).
    pub fn check_evidence_full_way(
        bytes: &[u8],
        now: DateTime<Utc>,
        path_date: Option<NaiveDate>,
    ) -> Vec<Finding> {
        crate::gates::mcp_evidence::check_file_bytes(bytes, now, path_date, false)
    }

    /// verify-heartbeat's check of one listed file's bytes (default skew).
    pub fn check_heartbeat(bytes: &[u8], now: DateTime<Utc>) -> Vec<Finding> {
        crate::gates::heartbeat::check_file_bytes(bytes, now)
    }
}
