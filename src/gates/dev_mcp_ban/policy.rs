//! What `dev-mcp-ban` bans and where: the `[dev-mcp-ban]` config turned into matchers.
//!
//! Packages: banned names and glob patterns, compared case-insensitively with the package part
//! of a specifier (`@scope/name/sub` is `@scope/name`, `npm:name@1` is `name`); an allowed
//! production client wins over a pattern but never over a name banned outright. Paths:
//! production globs minus allowed globs, plus the manifests (`package.json`) of production
//! packages. From the same lists comes the literal pre-filter: a file that contains none of the
//! banned names' literal parts (nor a suppression marker) cannot import one and is not lexed.

use crate::globs::{self, Style};
use anyhow::{bail, Result};
use globset::GlobSet;

pub const DEFAULT_BANNED: &[&str] = &[
    "@shopify/dev-mcp",
    "@upstash/context7-mcp",
    "context7-mcp",
    "chrome-devtools-mcp",
];
pub const DEFAULT_PATTERNS: &[&str] = &["*dev-mcp*", "*mcp-dev*"];
pub const DEFAULT_PRODUCTION: &[&str] = &["app/**"];
pub const DEFAULT_ALLOWED_PATHS: &[&str] = &[
    "scripts/",
    "tests/",
    "docs/",
    ".cursor/",
    "**/__tests__/**",
    "**/*.test.*",
    "**/*.spec.*",
];
pub const DEFAULT_MANIFESTS: &[&str] = &["package.json"];

/// JavaScript and TypeScript file extensions.
pub const JS_EXTENSIONS: &[&str] = &["js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Js,
    Python,
    Manifest,
}

impl FileKind {
    /// The kind a file name could have, before its path is checked. Extensions are matched
    /// case-insensitively: Node loads `mcp.JS` as readily as `mcp.js`.
    pub fn by_name(name: &str) -> Option<FileKind> {
        if name == "package.json" {
            return Some(FileKind::Manifest);
        }
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        let ext = ext.as_str();
        if JS_EXTENSIONS.contains(&ext) {
            Some(FileKind::Js)
        } else if ext == "py" {
            Some(FileKind::Python)
        } else {
            None
        }
    }
}

pub struct Policy {
    banned: Vec<String>,
    patterns: Vec<(String, globset::GlobMatcher)>,
    allowed_packages: GlobSet,
    production: Vec<String>,
    production_set: GlobSet,
    allowed_paths: GlobSet,
    manifests: Vec<String>,
    manifest_set: GlobSet,
    /// `None`: a pattern has no usable literal, so every file is lexed.
    pub prefilter: Option<regex::bytes::Regex>,
}

/// The lists a policy is made of, as the config names them; `default()` is the built-in
/// policy.
#[derive(Debug, Clone)]
pub struct Lists {
    pub banned: Vec<String>,
    pub banned_patterns: Vec<String>,
    pub allowed_packages: Vec<String>,
    pub production_paths: Vec<String>,
    pub allowed_paths: Vec<String>,
    pub manifests: Vec<String>,
}

impl Default for Lists {
    fn default() -> Lists {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Lists {
            banned: v(DEFAULT_BANNED),
            banned_patterns: v(DEFAULT_PATTERNS),
            allowed_packages: Vec::new(),
            production_paths: v(DEFAULT_PRODUCTION),
            allowed_paths: v(DEFAULT_ALLOWED_PATHS),
            manifests: v(DEFAULT_MANIFESTS),
        }
    }
}

/// `dir/` means everything below `dir`.
fn path_glob(g: &str) -> String {
    let g = g.trim_start_matches("./");
    if g.ends_with('/') {
        format!("{g}**")
    } else {
        g.to_string()
    }
}

impl Policy {
    pub fn new(c: &Lists) -> Result<Policy> {
        let banned: Vec<String> = c
            .banned
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        let mut patterns = Vec::new();
        for p in &c.banned_patterns {
            let m = globs::one(p, "dev-mcp-ban.banned-patterns", Style::Names)?;
            patterns.push((p.clone(), m));
        }
        let allowed_packages = globs::set(
            &c.allowed_packages,
            "dev-mcp-ban.allowed-packages",
            Style::Names,
        )?;
        if let Some(both) = banned
            .iter()
            .find(|b| allowed_packages.is_match(b.as_str()))
        {
            bail!(
                "config dev-mcp-ban: `{both}` is both in `banned` and allowed by `allowed-packages`; remove it from one of them"
            );
        }
        let production: Vec<String> = c.production_paths.iter().map(|g| path_glob(g)).collect();
        let allowed: Vec<String> = c.allowed_paths.iter().map(|g| path_glob(g)).collect();
        let manifests: Vec<String> = c.manifests.iter().map(|g| path_glob(g)).collect();
        Ok(Policy {
            prefilter: prefilter(&banned, &patterns),
            production_set: globs::set(&production, "dev-mcp-ban.production-paths", Style::Paths)?,
            allowed_paths: globs::set(&allowed, "dev-mcp-ban.allowed-paths", Style::Paths)?,
            manifest_set: globs::set(&manifests, "dev-mcp-ban.manifests", Style::Paths)?,
            banned,
            patterns,
            allowed_packages,
            production,
            manifests,
        })
    }

    /// Why `package` is banned, or `None` when it is not.
    pub fn banned_because(&self, package: &str) -> Option<String> {
        let lower = package.to_ascii_lowercase();
        if self.banned.contains(&lower) {
            return Some("it is on the banned list".into());
        }
        if self.allowed_packages.is_match(&lower) {
            return None;
        }
        self.patterns
            .iter()
            .find(|(_, m)| m.is_match(&lower))
            .map(|(p, _)| {
                format!(
                    "it matches the banned pattern `{}`",
                    crate::text::excerpt(p, 80)
                )
            })
    }

    /// Whether this gate checks the file at `rel` (repository-relative, `/`-separated), and how.
    pub fn classify(&self, rel: &str) -> Option<FileKind> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let kind = FileKind::by_name(name)?;
        if self.allowed_paths.is_match(rel) {
            return None;
        }
        let production = self.production_set.is_match(rel);
        match kind {
            FileKind::Manifest if production || self.manifest_set.is_match(rel) => Some(kind),
            FileKind::Js | FileKind::Python if production => Some(kind),
            _ => None,
        }
    }

    /// Whether `rel` lies in production code (a production glob, not an allowed path),
    /// whatever its name.
    pub fn is_production(&self, rel: &str) -> bool {
        self.production_set.is_match(rel) && !self.allowed_paths.is_match(rel)
    }

    /// Where to look: directories to walk (the literal prefixes of the globs, `""` for the
    /// whole repository) and single files named without wildcards.
    pub fn walk_roots(&self) -> (Vec<String>, Vec<String>) {
        let mut dirs: Vec<String> = Vec::new();
        let mut files = Vec::new();
        for g in self.production.iter().chain(&self.manifests) {
            let parts: Vec<&str> = g.split('/').collect();
            let literal = parts
                .iter()
                .take_while(|p| !p.contains(['*', '?', '[', '{', '\\']))
                .count();
            if literal == parts.len() {
                files.push(g.clone());
            } else {
                dirs.push(parts[..literal].join("/"));
            }
        }
        dirs.sort();
        dirs.dedup();
        let all = dirs.clone();
        dirs.retain(|d| {
            !all.iter()
                .any(|o| o != d && (o.is_empty() || d.starts_with(&format!("{o}/"))))
        });
        (dirs, files)
    }
}

/// A case-insensitive search for the literal parts of every banned name and pattern (`-` and
/// `_` alike, for Python module names) and for the suppression marker.
fn prefilter(
    banned: &[String],
    patterns: &[(String, globset::GlobMatcher)],
) -> Option<regex::bytes::Regex> {
    let mut needles: Vec<String> = banned.to_vec();
    for (p, _) in patterns {
        if p.contains(['[', ']', '{', '}', '\\']) {
            return None;
        }
        let longest = p
            .split(['*', '?'])
            .max_by_key(|s| s.len())
            .unwrap_or_default();
        if longest.len() < 3 {
            return None;
        }
        needles.push(longest.to_ascii_lowercase());
    }
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let mut kept: Vec<String> = Vec::new();
    for n in &needles {
        let covered = needles
            .iter()
            .any(|o| o != n && norm(n).contains(&norm(o)) && (norm(o) != norm(n) || o < n));
        if !covered && !kept.contains(n) {
            kept.push(n.clone());
        }
    }
    kept.push(crate::suppress::MARKER.to_string());
    let alternation: Vec<String> = kept
        .iter()
        .map(|n| {
            regex::escape(n)
                .replace(['-', '_'], "[-_]")
                .replace("\\[-_]", "[-_]")
        })
        .collect();
    regex::bytes::Regex::new(&format!("(?i-u){}", alternation.join("|"))).ok()
}

/// The package a JavaScript specifier names: `@scope/name` or `name`; `None` for relative
/// paths, aliases (`~/`, `@/`, `#internal`), URLs and built-ins (`node:fs`).
pub fn js_package(spec: &str) -> Option<&str> {
    let mut s = spec.trim();
    if let Some(rest) = s.strip_prefix("npm:") {
        // `npm:@scope/name@1.2.3/sub`: drop the version.
        s = rest;
        if let Some(at) = s
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '@')
            .map(|(i, _)| i)
        {
            s = &s[..at];
        }
    }
    if s.is_empty() || s.starts_with(['.', '/', '~', '#']) || s.starts_with("@/") {
        return None;
    }
    if s.split('/').next().is_some_and(|first| first.contains(':')) {
        return None;
    }
    let mut parts = s.splitn(3, '/');
    let first = parts.next()?;
    if first.starts_with('@') {
        match parts.next() {
            Some(name) if !name.is_empty() => Some(&s[..first.len() + 1 + name.len()]),
            _ => Some(first),
        }
    } else {
        Some(first)
    }
}

/// The top-level package of a Python module (`shopify_dev_mcp.client` → `shopify_dev_mcp`),
/// and its distribution-style spelling (`shopify-dev-mcp`).
pub fn python_package(module: &str) -> (&str, String) {
    let top = module.split('.').next().unwrap_or(module);
    (top, top.replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(change: impl FnOnce(&mut Lists)) -> Policy {
        let mut l = Lists::default();
        change(&mut l);
        Policy::new(&l).unwrap()
    }

    #[test]
    fn package_parts() {
        assert_eq!(
            js_package("@shopify/dev-mcp/sub/path"),
            Some("@shopify/dev-mcp")
        );
        assert_eq!(js_package("context7-mcp/x"), Some("context7-mcp"));
        assert_eq!(
            js_package("npm:@shopify/dev-mcp@1.2.0/x"),
            Some("@shopify/dev-mcp")
        );
        for local in [
            "./x",
            "../x",
            "/abs",
            "~/services/mcp/device",
            "@/lib/dev-mcp",
            "#dev-mcp",
            "node:fs",
            "https://esm.sh/dev-mcp",
        ] {
            assert_eq!(js_package(local), None, "{local}");
        }
        assert_eq!(
            python_package("context7_mcp.client"),
            ("context7_mcp", "context7-mcp".into())
        );
    }

    #[test]
    fn names_patterns_and_allowed_clients() {
        let p = policy(|l| l.allowed_packages = vec!["@acme/dev-mcp-gateway".into()]);
        assert!(p.banned_because("@Shopify/Dev-MCP").is_some());
        assert!(p
            .banned_because("@someone/my-dev-mcp-tool")
            .unwrap()
            .contains("*dev-mcp*"));
        assert!(p.banned_because("@acme/dev-mcp-gateway").is_none());
        assert!(p.banned_because("@supabase/mcp-server-supabase").is_none());
        assert!(p.banned_because("devmcpban").is_none());
        let err = Policy::new(&Lists {
            allowed_packages: vec!["@shopify/*".into()],
            ..Lists::default()
        });
        assert!(err.is_err());
    }

    #[test]
    fn paths_and_roots() {
        let p = policy(|_| {});
        assert_eq!(p.classify("app/routes/x.tsx"), Some(FileKind::Js));
        assert_eq!(p.classify("app/lib/x.py"), Some(FileKind::Python));
        assert_eq!(p.classify("app/x.test.ts"), None);
        assert_eq!(p.classify("app/__tests__/x.ts"), None);
        assert_eq!(p.classify("scripts/x.ts"), None);
        assert_eq!(p.classify("app/styles.css"), None);
        assert_eq!(p.classify("package.json"), Some(FileKind::Manifest));
        assert_eq!(p.classify("app/pkg/package.json"), Some(FileKind::Manifest));
        assert_eq!(p.classify("tests/package.json"), None);
        assert_eq!(
            p.walk_roots(),
            (vec!["app".to_string()], vec!["package.json".to_string()])
        );
        let wide = policy(|l| l.production_paths = vec!["**/*.ts".into(), "app/".into()]);
        assert_eq!(wide.walk_roots().0, [""]);
    }

    #[test]
    fn the_prefilter_keeps_the_shortest_literals() {
        let p = policy(|_| {});
        let re = p.prefilter.unwrap();
        assert!(re.is_match(b"import x from '@SHOPIFY/DEV-MCP'"));
        assert!(re.is_match(b"import context7_mcp"));
        assert!(re.is_match(b"// merge-gates-allow core/x: y"));
        assert!(!re.is_match(b"const devMCPBan = 1; // Shopify Dev MCP"));
        assert!(policy(|l| l.banned_patterns = vec!["*{a,b}*".into()])
            .prefilter
            .is_none());
    }
}
