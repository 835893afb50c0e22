//! The pipeline: gather the PR context → run the gates → apply severity overrides,
//! suppressions and the diff filter → build the report → hand it to the reporters (the check
//! run's API calls happen here, in the runtime `main.rs` built). `main.rs` maps the verdict to
//! the exit code; no reporter can change it.

use crate::cli::Format;
use crate::config::{CommentMode, DiffFilter, Reporter};
use crate::diff_filter::{self, DiffIndex};
use crate::finding::Finding;
use crate::finding::Severity;
use crate::gates::Context;
use crate::github::{self, PrSource};
use crate::pr::Needs;
use crate::report::{self, GateReport, Report};
use crate::settings::Settings;
use crate::suppress;
use crate::waiver;
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::PathBuf;

/// The gates' report, and the pull request as gathered for them.
pub async fn run(settings: &Settings) -> Result<(Report, crate::pr::PrContext)> {
    let needs = settings
        .gates
        .iter()
        .fold(Needs::default(), |n, g| n.union(g.needs()));
    let pr = github::gather_for(&settings.repo, &settings.pr, settings.filter, needs).await?;
    // Which lines the PR adds: for the diff filter, and for the waivers the PR gives itself.
    let changed = pr.changed_files.as_deref().map(DiffIndex::new);
    let ctx = Context {
        workspace: &settings.workspace,
        pr: &pr,
        now: settings.now,
        code_files: &settings.code_files,
    };
    let mut context_findings = pr.findings.clone();
    context_findings.extend(settings.policy_findings.iter().cloned());
    let mut context_tables = settings.policy_tables.clone();

    // Every gate runs first, so that the approvals of the PR are read once, and only when a
    // suppression the PR adds needs one.
    let mut ran = Vec::new();
    for gate in &settings.gates {
        let output = gate.run(&ctx).await?;
        let mut findings = std::mem::take(&mut context_findings);
        findings.extend(output.findings);
        let (kept, suppressed) = suppress::apply(findings, &output.suppressions);
        ran.push((
            gate.id(),
            kept,
            suppressed,
            output.notes,
            output.outputs,
            output.tables,
        ));
    }
    let is_error = |rule| settings.severity(rule, rule.default_severity()) == Some(Severity::Error);
    let waivers = waiver::Rules {
        diff: changed.as_ref(),
        self_waivable: &settings.self_waivable,
        is_error: &is_error,
    };
    let pending = ran
        .iter()
        .flat_map(|r| &r.2)
        .any(|s| waivers.needs_approval(s));
    let approvals = match &settings.pr {
        PrSource::Github(env) if pending => {
            github::approvals::fetch(env, &pr, &settings.approvers).await
        }
        PrSource::Github(_) => waiver::Approvals::Pending {
            who: github::approvals::who(&settings.approvers),
        },
        PrSource::Local { .. } => waiver::Approvals::Local,
    };

    let mut reports = Vec::new();
    for (gate, kept, suppressed, mut notes, outputs, tables) in ran {
        // Suppressions first, so that the findings they produce obey the overrides too.
        let (suppressed, raised) = waiver::review(suppressed, &waivers, &approvals);
        let mut kept: Vec<Finding> = kept
            .into_iter()
            .chain(raised)
            .filter_map(|mut f| {
                f.severity = settings.severity(f.rule, f.severity)?;
                Some(f)
            })
            .collect();
        let filtered = changed
            .as_ref()
            .filter(|_| settings.filter != DiffFilter::Nofilter);
        match filtered {
            Some(index) => {
                let n = diff_filter::apply(&mut kept, index, settings.filter);
                if n > 0 {
                    notes.push(format!(
                        "{n} finding(s) outside the PR's diff were reported as notices (`{}` filter)",
                        diff_filter::name(settings.filter)
                    ));
                }
            }
            None if settings.filter != DiffFilter::Nofilter => notes.push(format!(
                "the `{}` diff filter was not applied: the PR's changed files are unknown",
                diff_filter::name(settings.filter)
            )),
            None => {}
        }
        kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let verdict = report::verdict(&kept, settings.fail_on);
        reports.push(GateReport {
            gate,
            verdict,
            findings: kept,
            suppressed,
            notes,
            outputs,
            tables: std::mem::take(&mut context_tables)
                .into_iter()
                .chain(tables)
                .collect(),
        });
    }
    Ok((Report::new(reports), pr))
}

/// Where the findings went on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Workflow-command annotations (the default reporter).
    Annotations,
    /// A check run carries them; no workflow-command annotations.
    CheckRun,
    /// The check-run reporter could not be used (this says why): annotations plus a notice.
    Fallback(String),
}

/// Run the gates and report them, through a check run when asked for one. The check run is
/// created before the gates run so the PR shows it in progress; when the token cannot write
/// checks (fork PRs) the findings go out as workflow-command annotations with a notice. The
/// verdict and exit code never depend on the reporter.
pub async fn execute(settings: &Settings) -> Result<Report> {
    let mut check = None;
    let mut delivery = Delivery::Annotations;
    if settings.reporter == Reporter::CheckRun {
        match &settings.pr {
            PrSource::Github(env) => match github::check_run::target(env) {
                Ok(target) => {
                    match github::check_run::CheckRun::start(env, &target, &settings.check_name)
                        .await
                    {
                        Ok(c) => check = Some(c),
                        Err(e) => {
                            delivery = Delivery::Fallback(github::check_run::describe(&e));
                        }
                    }
                }
                Err(e) => delivery = Delivery::Fallback(e),
            },
            PrSource::Local { .. } => {
                delivery = Delivery::Fallback("a check run needs a GitHub Actions job".into())
            }
        }
    }
    let (report, pr) = match run(settings).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(c) = &check {
                // Best effort: do not leave the check run spinning; the error is printed once.
                let _ = c.abort(&format!("{e:#}")).await;
            }
            return Err(e);
        }
    };
    if let Some(c) = &check {
        let out = report::check_run::render(&report);
        let conclusion = match out.verdict {
            report::Verdict::Pass => github::check_run::Conclusion::Success,
            report::Verdict::Fail => github::check_run::Conclusion::Failure,
        };
        delivery = match c.finish(conclusion, &out.outputs()).await {
            Ok(()) => Delivery::CheckRun,
            Err(e) => Delivery::Fallback(github::check_run::describe(&e)),
        };
    }
    let comment = match &settings.pr {
        PrSource::Github(env) => comment(settings, env, &report, &pr).await,
        PrSource::Local { .. } => None,
    };
    emit(settings, &report, &delivery, comment.as_deref())?;
    Ok(report)
}

/// Write or update the PR comment; `Some(why)` when it could not be written. Reporting never
/// changes the verdict: a comment that fails is one notice.
async fn comment(
    settings: &Settings,
    env: &github::GithubEnv,
    report: &Report,
    pr: &crate::pr::PrContext,
) -> Option<String> {
    let create = match settings.comment {
        CommentMode::Never => return None,
        CommentMode::Always => true,
        CommentMode::OnFailure => report.verdict == report::Verdict::Fail,
    };
    // No PR (a push, a deployment): nothing to comment on. A PR the API did not give us: the
    // core finding already says so, and writing to it would fail the same way.
    if pr.no_pr_reason.is_some() || pr.fetch_failed {
        return None;
    }
    let target = match github::check_run::target(env) {
        Ok(t) => t,
        Err(why) => return Some(why),
    };
    let head = pr
        .pull
        .as_ref()
        .and_then(|p| p.head.clone())
        .unwrap_or(target.head_sha);
    let links = report::comment::Links {
        server: &env.server_url,
        repository: &format!("{}/{}", target.owner, target.repo),
        head: &head,
    };
    let who = github::approvals::who(&settings.approvers);
    let body = report::comment::render(report, &settings.check_name, &links, &who);
    let marker = report::comment::marker(&settings.check_name);
    github::comment::upsert(env, &marker, &body, create)
        .await
        .err()
}

/// Write the report in the chosen format, plus the JSON report file, job summary and outputs.
pub fn emit(
    settings: &Settings,
    report: &Report,
    delivery: &Delivery,
    comment_skipped: Option<&str>,
) -> Result<()> {
    // In GitHub Actions the JSON report always lands in $RUNNER_TEMP (the `report` output),
    // whatever the format of stdout; under a name of its own per step, so that a later step
    // never replaces the report an earlier step's `report` output points at.
    let report_path: Option<PathBuf> = settings.report_path.clone().or_else(|| {
        settings.runner_temp.as_ref().map(|t| {
            t.join(format!(
                "merge-gates-report-{}.json",
                report::github::random_token()
            ))
        })
    });
    if let Some(p) = &report_path {
        std::fs::write(p, report::json::render(report))
            .with_context(|| format!("writing report {}", p.display()))?;
    }
    if let Some(p) = &settings.sarif_path {
        std::fs::write(p, report::sarif::render(report))
            .with_context(|| format!("writing SARIF {}", p.display()))?;
    }
    let stdout = match settings.format {
        Format::Text => report::text::render(report, settings.color),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report),
        Format::Github => {
            let mut s = report::github::log(report);
            if let Delivery::Fallback(why) = delivery {
                s.push_str(&report::github::notice(&format!(
                    "The check-run reporter is not available, so findings are reported as annotations: {why}"
                )));
            }
            if let Some(why) = comment_skipped {
                s.push_str(&report::github::notice(&format!(
                    "The PR comment was not written; the findings are in the annotations and the job summary: {why}"
                )));
            }
            if *delivery != Delivery::CheckRun {
                s.push_str(&report::github::annotations(report));
            }
            s
        }
    };
    if let (Some(why), false) = (comment_skipped, settings.format == Format::Github) {
        eprintln!("merge-gates: notice: PR comment not written: {why}");
    }
    if let (Delivery::Fallback(why), false) = (delivery, settings.format == Format::Github) {
        eprintln!("merge-gates: notice: check-run reporter not used: {why}");
    }
    write_stdout(&stdout)?;
    // Set only in GitHub Actions; written whatever the format, so the step outputs are there.
    if let Some(p) = &settings.step_summary {
        append(p, &report::summary::render(report))?;
    }
    if let Some(p) = &settings.step_output {
        append(p, &report::github::outputs(report, report_path.as_deref()))?;
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
