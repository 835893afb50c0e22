//! `merge-gates init`: a starter `.github/merge-gates.toml` and a PR template whose sections
//! the PR-body gates read. The template holds placeholders (`<agent>`), so an unedited body is
//! refused as `template-unedited`; filled in with real files it passes. Existing files are never
//! overwritten without `--force`, and nothing is written when one of them exists.

use anyhow::{bail, Context as _, Result};
use std::path::Path;

/// The files `init` writes, relative to the repository root, with their contents.
pub const FILES: &[(&str, &str)] = &[
    (".github/merge-gates.toml", include_str!("merge-gates.toml")),
    (
        ".github/pull_request_template.md",
        include_str!("pull_request_template.md"),
    ),
];

/// Write the starter files into `repo`; returns what was done, one line per file.
pub fn init(repo: &Path, force: bool) -> Result<String> {
    if !repo.is_dir() {
        bail!("--repo {}: not a directory", repo.display());
    }
    let existing: Vec<&str> = FILES
        .iter()
        .map(|(rel, _)| *rel)
        .filter(|rel| repo.join(rel).symlink_metadata().is_ok())
        .collect();
    if !force && !existing.is_empty() {
        bail!(
            "{} already exist(s); nothing was written (pass --force to overwrite)",
            existing.join(", ")
        );
    }
    let mut out = String::new();
    for (rel, text) in FILES {
        let path = repo.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            // Never write through a link to somewhere outside the repository.
            std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        let verb = if existing.contains(rel) {
            "overwrote"
        } else {
            "wrote"
        };
        out.push_str(&format!("{verb} {rel}\n"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_config_is_valid() {
        crate::config::Config::parse(super::FILES[0].1).expect("starter config parses");
    }
}
