//! The runtime dependencies a `package.json` declares, with the place of each key.
//!
//! `dependencies` and `optionalDependencies` are installed in production (`npm ci --omit=dev`);
//! `devDependencies` and `peerDependencies` are not, so only the first two are read. The file
//! is validated with serde_json, then walked by a small position-keeping scanner so each entry
//! carries the byte span of its key. An npm alias (`"docs": "npm:@shopify/dev-mcp@^1"`) names
//! the package it really installs.

use super::{Form, Import};

const SECTIONS: &[&str] = &["dependencies", "optionalDependencies"];

/// One dependency: `value` is the installed package, `start..end` the key's contents.
pub type Dependency = Import;

/// The runtime dependencies of `text`; `Err` with serde_json's message when it is not JSON.
pub fn dependencies(text: &str) -> Result<Vec<Dependency>, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    let b = text.as_bytes();
    let mut out = Vec::new();
    // Open containers; for an object directly under the root, whether it is a dependency section.
    let mut stack: Vec<(u8, Option<&'static str>)> = Vec::new();
    let mut expect_key = false;
    let mut last_key: Option<String> = None;
    // The entry whose value comes next, in a dependency section.
    let mut pending: Option<Dependency> = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let end = string_end(b, i);
                let value: String = serde_json::from_str(&text[i..end]).unwrap_or_default();
                let section = if stack.len() == 2 { stack[1].1 } else { None };
                if expect_key && stack.last().is_some_and(|s| s.0 == b'{') {
                    if let Some(form) = section {
                        pending = Some(Dependency {
                            start: i + 1,
                            end: end - 1,
                            value: value.clone(),
                            form: Form::Manifest(form),
                        });
                    }
                    last_key = Some(value);
                    expect_key = false;
                } else if let Some(mut dep) = pending.take() {
                    if let Some(alias) = npm_alias(&value) {
                        dep.value = alias;
                    }
                    out.push(dep);
                }
                i = end;
                continue;
            }
            b'{' => {
                out.extend(pending.take());
                let section = match (stack.len(), &last_key) {
                    (1, Some(k)) => SECTIONS.iter().copied().find(|s| s == k),
                    _ => None,
                };
                stack.push((b'{', section));
                expect_key = true;
            }
            b'[' => {
                out.extend(pending.take());
                stack.push((b'[', None));
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                expect_key = stack.last().is_some_and(|s| s.0 == b'{');
                out.extend(pending.take());
            }
            _ => {}
        }
        i += 1;
    }
    out.extend(pending);
    Ok(out)
}

/// The index just past the string literal that opens at `i`.
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// `npm:@scope/name@^1.2` → `@scope/name`.
fn npm_alias(spec: &str) -> Option<String> {
    let rest = spec.strip_prefix("npm:")?;
    let cut = rest
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '@')
        .map_or(rest.len(), |(i, _)| i);
    Some(rest[..cut].to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_dependencies_with_positions() {
        let text = r#"{
  "name": "app",
  "scripts": { "dependencies": "not this" },
  "dependencies": {
    "@remix-run/node": "^2.0.0",
    "docs": "npm:@shopify/dev-mcp@^1.0.0",
    "\u0063ontext7-mcp": { "weird": ["but", "json"] }
  },
  "devDependencies": { "@shopify/dev-mcp": "^1.0.0" },
  "optionalDependencies": { "chrome-devtools-mcp": "1" }
}"#;
        let deps = dependencies(text).unwrap();
        let got: Vec<(&str, &str, &str)> = deps
            .iter()
            .map(|d| (d.value.as_str(), &text[d.start..d.end], d.form.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("@remix-run/node", "@remix-run/node", "dependencies"),
                ("@shopify/dev-mcp", "docs", "dependencies"),
                ("context7-mcp", "\\u0063ontext7-mcp", "dependencies"),
                (
                    "chrome-devtools-mcp",
                    "chrome-devtools-mcp",
                    "optionalDependencies"
                ),
            ]
        );
        assert!(dependencies("{ \"dependencies\": ").is_err());
        assert_eq!(dependencies("[]").unwrap().len(), 0);
    }
}
