//! The pipeline: gather the PR context → run the gates → apply severity overrides and
//! suppressions → build the report → hand it to the reporters. `main.rs` maps the verdict to
//! the exit code.

use crate::cli::Format;
use crate::finding::Finding;
use crate::gates::{self, Context, GateArgs};
use crate::github;
use crate::report::{self, GateReport, Report};
use crate::rules::Gate;
use crate::settings::Settings;
use crate::suppress;
use crate::workspace::Workspace;
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::PathBuf;

pub async fn run(settings: &Settings, gates: &[Gate], args: &GateArgs) -> Result<Report> {
    for g in gates {
        if !gates::implemented(*g) {
            anyhow::bail!("{g}: not implemented yet");
        }
    }
    let needs = gates
        .iter()
        .fold(github::Needs::default(), |n, g| n.union(gates::needs(*g)));
    let workspace = Workspace::new(&settings.repo)
        .with_context(|| format!("repository {}", settings.repo.display()))?;
    let pr = github::gather(settings, needs).await?;
    let ctx = Context {
        settings,
        workspace: &workspace,
        pr: &pr,
    };
    let mut context_findings = pr.findings.clone();
    let mut reports = Vec::new();
    for &gate in gates {
        let output = gates::run(gate, &ctx, args).await?;
        let mut findings = std::mem::take(&mut context_findings);
        findings.extend(output.findings);
        // Suppressions first, so that the findings they produce obey the overrides too.
        let (kept, suppressed) = suppress::apply(findings, &output.suppressions);
        let mut kept: Vec<Finding> = kept
            .into_iter()
            .filter_map(|mut f| {
                f.severity = settings.severity(f.rule, f.severity)?;
                Some(f)
            })
            .collect();
        kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let verdict = report::verdict(&kept, settings.fail_on);
        reports.push(GateReport {
            gate,
            verdict,
            findings: kept,
            suppressed,
            notes: output.notes,
            outputs: output.outputs,
        });
    }
    Ok(Report::new(reports))
}

/// Write the report in the chosen format, plus the JSON report file, job summary and outputs.
pub fn emit(settings: &Settings, report: &Report) -> Result<()> {
    let report_path: Option<PathBuf> = settings.report_path.clone().or_else(|| {
        (settings.format == Format::Github)
            .then(|| {
                settings
                    .runner_temp
                    .as_ref()
                    .map(|t| t.join("merge-gates-report.json"))
            })
            .flatten()
    });
    if let Some(p) = &report_path {
        std::fs::write(p, report::json::render(report))
            .with_context(|| format!("writing report {}", p.display()))?;
    }
    let stdout = match settings.format {
        Format::Text => report::text::render(report, settings.color),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report),
        Format::Github => {
            let mut s = report::github::log(report);
            s.push_str(&report::github::annotations(report));
            s
        }
    };
    write_stdout(&stdout)?;
    if settings.format == Format::Github {
        if let Some(p) = &settings.step_summary {
            append(p, &report::summary::render(report))?;
        }
        if let Some(p) = &settings.step_output {
            append(p, &report::github::outputs(report, report_path.as_deref()))?;
        }
    }
    Ok(())
}

fn append(path: &std::path::Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
