//! `merge-gates init`: a starter `.github/merge-gates.toml`, the PR template's sections that the
//! PR-body gates read, and the quick-start workflow. The template holds placeholders
//! (`<agent>`), so an unedited body is refused as `template-unedited`; filled in with real files
//! it passes. It fits an existing repository: a team's own template gets the two sections
//! appended, and existing files are never overwritten without `--force`.

use anyhow::{bail, Context as _, Result};
use std::path::Path;

const CONFIG: &str = ".github/merge-gates.toml";
const TEMPLATE: &str = ".github/pull_request_template.md";
const WORKFLOW: &str = ".github/workflows/merge-gates.yml";

/// The starter config, with the schema of this release (a URL that resolves: the raw file at
/// the release tag) for editors that read `#:schema`.
pub fn config_text() -> String {
    format!(
        "#:schema https://raw.githubusercontent.com/merge-gates/merge-gates/v{}/schemas/merge-gates.schema.json\n{}",
        env!("CARGO_PKG_VERSION"),
        include_str!("merge-gates.toml")
    )
}

const TEMPLATE_TEXT: &str = include_str!("pull_request_template.md");
/// The quick-start workflow of the README (`docs/examples/quick-start.yml`).
const WORKFLOW_TEXT: &str = include_str!("../../docs/examples/quick-start.yml");

/// The sections of the template the PR-body gates read, by title, each as it stands in the
/// template: from its heading to the next one.
fn template_section(title: &str) -> &'static str {
    let head = format!("## {title}\n");
    let start = TEMPLATE_TEXT
        .find(&head)
        .expect("the template has the section");
    let rest = &TEMPLATE_TEXT[start + head.len()..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    &TEMPLATE_TEXT[start..start + head.len() + end]
}

/// Set up `repo`: the config, the PR template's two sections and the workflow. What exists is
/// kept: an existing template gets only the sections it lacks, appended (the rest untouched);
/// an existing config or workflow is left alone unless `force`. Returns one line per file
/// saying what was written or skipped.
pub fn init(repo: &Path, force: bool) -> Result<String> {
    if !repo.is_dir() {
        bail!("--repo {}: not a directory", repo.display());
    }
    let mut out = String::new();
    for (rel, text) in [
        (CONFIG, config_text()),
        (WORKFLOW, WORKFLOW_TEXT.to_string()),
    ] {
        let path = inside(repo, rel)?;
        let exists = path.symlink_metadata().is_ok();
        if exists && !force {
            out.push_str(&format!(
                "skipped {rel}: it exists (--force overwrites it)\n"
            ));
            continue;
        }
        write(&path, &text)?;
        out.push_str(&format!(
            "{} {rel}\n",
            if exists { "overwrote" } else { "wrote" }
        ));
    }

    let path = inside(repo, TEMPLATE)?;
    let existing = match path.symlink_metadata() {
        Ok(_) if force => None,
        Ok(_) => Some(read(&path)?),
        Err(_) => None,
    };
    match existing {
        None => {
            write(&path, TEMPLATE_TEXT)?;
            out.push_str(&format!("wrote {TEMPLATE}\n"));
        }
        Some(text) => {
            let body = crate::pr_body::Body::parse(&text);
            let missing: Vec<&str> = ["MCP Evidence", "Heartbeat"]
                .into_iter()
                .filter(|t| body.section(t).is_none())
                .collect();
            if missing.is_empty() {
                out.push_str(&format!(
                    "skipped {TEMPLATE}: it has the MCP Evidence and Heartbeat sections\n"
                ));
            } else {
                let mut text = text;
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                for t in &missing {
                    text.push('\n');
                    text.push_str(template_section(t));
                }
                write(&path, &text)?;
                out.push_str(&format!(
                    "appended to {TEMPLATE}: the {} section{}\n",
                    missing.join(" and "),
                    if missing.len() == 1 { "" } else { "s" }
                ));
            }
        }
    }
    Ok(out)
}

/// `repo/rel`, refused when a folder on the way is a symlink: `init` never writes outside the
/// repository. A symlink at the file itself is replaced, not written through.
fn inside(repo: &Path, rel: &str) -> Result<std::path::PathBuf> {
    let mut at = repo.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for dir in &parts[..parts.len() - 1] {
        at.push(dir);
        if at
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            bail!(
                "{} is a symlink; init writes only inside the repository",
                at.display()
            );
        }
    }
    Ok(repo.join(rel))
}

fn read(path: &Path) -> Result<String> {
    let meta = path.symlink_metadata()?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        bail!(
            "{}: not a regular file under 1 MiB; not changed",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        // Never write through a link to somewhere outside the repository.
        std::fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_config_is_valid() {
        crate::config::Config::parse(&super::config_text()).expect("starter config parses");
    }
}
