//! The one way a list of globs from the config becomes a matcher. An invalid glob is an error
//! that names the config key and the glob, reported before any gate runs.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// How the globs of a list match.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Repository paths: `*` stays inside one folder, `**` crosses folders; case matters.
    Paths,
    /// Package names: `*` also crosses `/`; case does not matter.
    Names,
}

fn builder(glob: &str, key: &str, style: Style) -> anyhow::Result<globset::Glob> {
    GlobBuilder::new(glob)
        .literal_separator(matches!(style, Style::Paths))
        .case_insensitive(matches!(style, Style::Names))
        .build()
        .map_err(|e| anyhow::anyhow!("config {key}: `{glob}`: {e}"))
}

/// One glob, as `set` builds each.
pub fn one(glob: &str, key: &str, style: Style) -> anyhow::Result<globset::GlobMatcher> {
    Ok(builder(glob, key, style)?.compile_matcher())
}

/// A set of globs; `key` is the config key they come from (`dev-mcp-ban.allowed-paths`).
pub fn set<S: AsRef<str>>(globs: &[S], key: &str, style: Style) -> anyhow::Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(builder(g.as_ref(), key, style)?);
    }
    Ok(b.build()?)
}
