//! The shared first half of the PR-body gates: find the gate's section in the body, tell an
//! exemption statement from a list of files, and refuse an unedited template. The gate passes
//! its own rules (`rules::PrBodyRules`); what an exemption is worth is for the gate to check.

use super::Context;
use crate::finding::{Finding, GateOutput};
use crate::pr_body::{Body, Mention};
use crate::rules::{PrBodyRules, Rule};

pub enum Listing {
    /// Nothing more to check (no PR, or no code changed); a notice says why.
    Done,
    /// The section states an exemption, on this body line.
    Exempt { line: usize, phrase: String },
    /// Real paths listed in the section.
    Files(Vec<Mention>),
}

pub struct SectionSpec<'a> {
    pub title: &'a str,
    pub extensions: &'a [&'a str],
    pub phrases: &'a [String],
    /// "MCP evidence", "heartbeat": how messages name what is listed.
    pub what: &'a str,
    pub example: &'a str,
}

pub fn listing(
    ctx: &Context<'_>,
    out: &mut GateOutput,
    spec: &SectionSpec<'_>,
    rules: &PrBodyRules,
    code: Option<&[String]>,
) -> Listing {
    let Some(raw) = &ctx.pr.body else {
        if ctx.pr.fetch_failed {
            return Listing::Done; // the context's `core/pr-fetch-failed` error says why
        }
        let reason = ctx
            .pr
            .no_pr_reason
            .clone()
            .unwrap_or_else(|| "no pull request".into());
        out.push(Finding::new(
            Rule::PrUnavailable,
            format!("skipped: {reason}"),
        ));
        return Listing::Done;
    };
    if code.is_some_and(<[String]>::is_empty) {
        out.push(Finding::new(
            rules.not_required,
            format!(
                "the PR changes no code files, so no {} is required",
                spec.what
            ),
        ));
        return Listing::Done;
    }
    let code_note = match code {
        Some(files) => format!(" (the PR changes code: {})", super::list_some(files, 5)),
        None => String::new(),
    };
    let body = Body::parse(raw);
    let Some(section) = body.section(spec.title) else {
        let msg = if raw.trim().is_empty() {
            format!(
                "the PR body is empty: it needs a `## {}` section{code_note}",
                spec.title
            )
        } else {
            format!("the PR body has no `## {}` section{code_note}", spec.title)
        };
        out.push(Finding::new(rules.section_missing, msg));
        return Listing::Done;
    };
    let mentions = section.mentions(spec.extensions);
    let (placeholders, real): (Vec<Mention>, Vec<Mention>) =
        mentions.into_iter().partition(|m| m.placeholder);
    // A placeholder left in place means the template was not (fully) edited, whatever else the
    // section says — its own example exemption line included.
    if let Some(p) = placeholders.first() {
        out.push(Finding::new(
            rules.template,
            format!(
                "the `{}` section (PR body line {}) still holds the template's placeholder `{}`",
                section.heading,
                p.line,
                crate::text::excerpt(&p.text, 120)
            ),
        ));
        if real.is_empty() {
            return Listing::Done;
        }
    }
    // Listed files are checked even when a line also claims an exemption: the files are the
    // stronger statement, and a partial exemption must not hide them.
    if !real.is_empty() {
        return Listing::Files(real);
    }
    if let Some((line, phrase)) = section.exemption(spec.phrases) {
        return Listing::Exempt { line, phrase };
    }
    out.push(
        Finding::new(
            rules.none_listed,
            format!(
                "the `{}` section (PR body line {}) lists no {} file{code_note}",
                section.heading, section.heading_line, spec.what
            ),
        )
        .help(format!(
            "List each file on its own line, e.g. `- {}`.",
            spec.example
        )),
    );
    Listing::Done
}
