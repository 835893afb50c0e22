//! Where each kind of deploy file keeps its commands, read with a real parser where the format
//! has one (TOML with spans; JSON; YAML through `yaml`, which keeps positions) and with a
//! careful line reader where it does not (Dockerfile instructions with continuations and
//! heredocs, Procfile lines).
//!
//! Each reader returns `Command`s: what the command is (for the message), its text as a
//! `Snippet` mapped back to file offsets, and whether it is shell or an exec-form array.

pub use super::shell::{Command, Invalid};
use super::shell::{Form, Snippet};

/// `(line text without the newline, byte offset of its start)`.
fn lines(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        out.push((body.strip_suffix('\r').unwrap_or(body), at));
        at += l.len();
    }
    out
}

// ---- fly.toml ----

/// What fly.toml runs: `[deploy] release_command` (returned apart, because it has an allow
/// list of its own), `[processes]`, and `[experimental] cmd` / `entrypoint`.
pub struct Fly {
    pub release: Option<(String, Command)>,
    pub commands: Vec<Command>,
}

pub fn fly(text: &str) -> Result<Fly, Invalid> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).map_err(|e| Invalid {
        message: e.message().to_string(),
        offset: e.span().map_or(0, |s| s.start),
    })?;
    type Entry<'a, 'i> = &'a toml::Spanned<DeValue<'i>>;
    fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<Entry<'a, 'i>> {
        t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
    }
    fn table<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a DeTable<'i>> {
        get(t, key).and_then(|v| v.get_ref().as_table())
    }
    /// A string value as shell, or an array of strings as an exec form.
    fn command(what: String, v: Entry<'_, '_>, text: &str) -> Option<Command> {
        let span = v.span();
        if let Some(s) = v.get_ref().as_str() {
            let raw = &text[span.clone()];
            let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                3
            } else {
                1
            };
            return Some(Command {
                what,
                snippet: Snippet::verbatim(s, span.start + quote),
                form: Form::Shell,
            });
        }
        v.get_ref().as_array()?;
        Some(Command {
            what,
            snippet: Snippet::verbatim(&text[span.clone()], span.start),
            form: Form::Exec,
        })
    }
    let root = doc.get_ref();
    let mut fly = Fly {
        release: None,
        commands: Vec::new(),
    };
    if let Some(v) = table(root, "deploy").and_then(|d| get(d, "release_command")) {
        if let Some(c) = command("the fly.toml `release_command`".into(), v, text) {
            let value = v.get_ref().as_str().unwrap_or(&text[v.span()]).to_string();
            fly.release = Some((value, c));
        }
    }
    if let Some(p) = table(root, "processes") {
        for (k, v) in p.iter() {
            let what = format!(
                "process `{}` in fly.toml",
                crate::text::excerpt(k.get_ref(), 60)
            );
            fly.commands.extend(command(what, v, text));
        }
    }
    if let Some(x) = table(root, "experimental") {
        for key in ["cmd", "entrypoint"] {
            if let Some(v) = get(x, key) {
                fly.commands.extend(command(
                    format!("the fly.toml `experimental.{key}`"),
                    v,
                    text,
                ));
            }
        }
    }
    Ok(fly)
}

// ---- package.json ----

/// The `scripts` of a package.json, each at the offset of its value.
pub fn package_json(text: &str) -> Result<Vec<Command>, Invalid> {
    // npm skips a byte-order mark; three spaces keep the offsets.
    let unmarked = text
        .strip_prefix('\u{feff}')
        .map(|rest| format!("   {rest}"));
    let text = unmarked.as_deref().unwrap_or(text);
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_invalid(text, &e))?;
    let Some(scripts) = v.get("scripts").and_then(|s| s.as_object()) else {
        return Ok(Vec::new());
    };
    let offsets = json::member_offsets(text, "scripts");
    Ok(scripts
        .iter()
        .filter_map(|(name, cmd)| {
            let cmd = cmd.as_str()?;
            let at = offsets
                .iter()
                .find(|(k, _)| k == name)
                .map_or(0, |(_, o)| o + 1);
            Some(Command {
                what: format!(
                    "script `{}` in package.json",
                    crate::text::excerpt(name, 60)
                ),
                snippet: Snippet::verbatim(cmd, at),
                form: Form::Shell,
            })
        })
        .collect())
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    lines(text)
        .get(line.saturating_sub(1))
        .map_or(0, |(l, at)| at + column.saturating_sub(1).min(l.len()))
}

/// Just enough of a JSON scanner to find where the members of one top-level object start.
mod json {
    fn ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    }

    /// A string starting at `i` (a `"`): its decoded text and the offset after it.
    fn string(s: &str, i: usize) -> Option<(String, usize)> {
        let b = s.as_bytes();
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => {
                    let v = serde_json::from_str(&s[i..=j]).ok()?;
                    return Some((v, j + 1));
                }
                _ => j += 1,
            }
        }
        None
    }

    /// The offset after the value starting at `i`.
    fn skip(s: &str, i: usize) -> Option<usize> {
        let b = s.as_bytes();
        match b.get(i)? {
            b'"' => string(s, i).map(|(_, e)| e),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string(s, j)?.1;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                None
            }
            _ => {
                let mut j = i;
                while j < b.len() && !matches!(b[j], b',' | b'}' | b']') {
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// `(key, offset of value)` of each member of the object at `i`.
    fn members(s: &str, i: usize) -> Vec<(String, usize)> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        if b.get(i) != Some(&b'{') {
            return out;
        }
        let mut j = ws(b, i + 1);
        while let Some((key, after)) = (b.get(j) == Some(&b'"')).then(|| string(s, j)).flatten() {
            let colon = ws(b, after);
            if b.get(colon) != Some(&b':') {
                break;
            }
            let v = ws(b, colon + 1);
            out.push((key, v));
            let Some(end) = skip(s, v) else { break };
            let next = ws(b, end);
            if b.get(next) != Some(&b',') {
                break;
            }
            j = ws(b, next + 1);
        }
        out
    }

    /// The members of the top-level member `key` (an object).
    pub fn member_offsets(s: &str, key: &str) -> Vec<(String, usize)> {
        let start = ws(s.as_bytes(), 0);
        members(s, start)
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, at)| members(s, at))
            .unwrap_or_default()
    }
}

// ---- Dockerfile ----

/// A Dockerfile's `RUN`, `CMD` and `ENTRYPOINT` instructions (also after `ONBUILD`), and the
/// sources of its `COPY` / `ADD` instructions (to find the entrypoint scripts it names).
pub struct Dockerfile {
    pub commands: Vec<Command>,
    pub copied: Vec<String>,
}

pub fn dockerfile(text: &str) -> Dockerfile {
    let heredoc = regex::Regex::new(r#"<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?"#).expect("regex");
    let ls = lines(text);
    let mut out = Dockerfile {
        commands: Vec::new(),
        copied: Vec::new(),
    };
    let mut i = 0;
    while i < ls.len() {
        let (line, at) = ls[i];
        i += 1;
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let lead = line.len() - t.len();
        let mut word_end = t.find(char::is_whitespace).unwrap_or(t.len());
        let mut keyword = t[..word_end].to_ascii_uppercase();
        if keyword == "ONBUILD" {
            let rest = t[word_end..].trim_start();
            let skip = t.len() - rest.len();
            let w = rest.find(char::is_whitespace).unwrap_or(rest.len());
            keyword = rest[..w].to_ascii_uppercase();
            word_end = skip + w;
        }
        // The logical line: continuation lines end in `\`; comment lines inside are dropped.
        let mut snippet = Snippet::default();
        snippet.push(&t[word_end..], at + lead + word_end);
        let mut last = &t[word_end..];
        while last.trim_end().ends_with('\\') && i < ls.len() {
            let (next, nat) = ls[i];
            i += 1;
            if next.trim_start().starts_with('#') {
                continue;
            }
            snippet.push_synthetic("\n");
            snippet.push(next, nat);
            last = next;
        }
        // Heredocs (`RUN <<EOF` … `EOF`): the body is the script.
        let delimiters: Vec<String> = heredoc
            .captures_iter(&snippet.text)
            .map(|c| c[1].to_string())
            .collect();
        for d in &delimiters {
            while i < ls.len() {
                let (next, nat) = ls[i];
                i += 1;
                if next.trim() == d {
                    break;
                }
                snippet.push_synthetic("\n");
                snippet.push(next, nat);
            }
        }
        match keyword.as_str() {
            "RUN" | "CMD" | "ENTRYPOINT" => {
                let exec = snippet.text.trim_start().starts_with('[');
                out.commands.push(Command {
                    what: format!("the Dockerfile `{keyword}` instruction"),
                    snippet,
                    form: if exec { Form::Exec } else { Form::Shell },
                });
            }
            "COPY" | "ADD" => {
                let words: Vec<String> = snippet
                    .text
                    .split_whitespace()
                    .filter(|w| *w != "\\" && !w.starts_with("--"))
                    .map(|w| w.trim_matches(['[', ']', ',', '"']).to_string())
                    .collect();
                if let Some((_, sources)) = words.split_last() {
                    out.copied.extend(sources.iter().cloned());
                }
            }
            _ => {}
        }
    }
    out
}

// ---- Procfile ----

pub fn procfile(text: &str) -> Vec<Command> {
    let re = regex::Regex::new(r"^([A-Za-z0-9_.-]+):\s*").expect("regex");
    lines(text)
        .into_iter()
        .filter_map(|(l, at)| {
            let m = re.captures(l)?;
            let end = m.get(0)?.end();
            Some(Command {
                what: format!("process `{}` in the Procfile", &m[1]),
                snippet: Snippet::verbatim(&l[end..], at + end),
                form: Form::Shell,
            })
        })
        .collect()
}

// ---- YAML and JSON deploy files ----

/// Every `run:` value of a workflow or action file, wherever it is (jobs, composite steps,
/// flow-style steps, through aliases), read by a real YAML parser.
pub fn workflow(text: &str) -> Result<Vec<Command>, Invalid> {
    yaml_keys(text, &["run"], |_| "a workflow `run:` step".to_string())
}

/// The commands under `keys` anywhere in a YAML (or JSON) file; `what` names one for messages.
pub fn yaml_keys(
    text: &str,
    keys: &[&str],
    what: impl Fn(&str) -> String,
) -> Result<Vec<Command>, Invalid> {
    let doc = super::yaml::parse(text)?;
    Ok(doc
        .entries(keys)
        .into_iter()
        .flat_map(|(k, v)| doc.commands(text, v, &what(&k)))
        .collect())
}

/// Heroku's `app.json`: every script of a `scripts` mapping (`postdeploy`, `pr-predestroy`,
/// the test scripts of `environments`).
pub fn app_json(text: &str) -> Result<Vec<Command>, Invalid> {
    check_json(text)?;
    let doc = super::yaml::parse(text)?;
    Ok(doc
        .entries(&["scripts"])
        .into_iter()
        .flat_map(|(_, scripts)| doc.members(scripts))
        .flat_map(|(name, v)| {
            let what = format!("script `{}` in app.json", crate::text::excerpt(&name, 60));
            doc.commands(text, v, &what)
        })
        .collect())
}

/// A JSON deploy file: valid JSON first (what the platform reads), then its `keys` with
/// positions through the YAML reader (JSON is YAML).
pub fn json_keys(text: &str, file: &str, keys: &[&str]) -> Result<Vec<Command>, Invalid> {
    check_json(text)?;
    yaml_keys(text, keys, |k| format!("`{k}` in {file}"))
}

fn check_json(text: &str) -> Result<(), Invalid> {
    let unmarked = text.strip_prefix('\u{feff}');
    serde_json::from_str::<serde::de::IgnoredAny>(unmarked.unwrap_or(text))
        .map(|_| ())
        .map_err(|e| json_invalid(text, &e))
}

/// A JSON file that does not parse, at serde_json's line and column of `text`.
fn json_invalid(text: &str, e: &serde_json::Error) -> Invalid {
    Invalid {
        // The position is the finding's; the message need not repeat it.
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
        offset: offset_of(text, e.line(), e.column()),
    }
}

// ---- railway.toml ----

/// `startCommand`, `preDeployCommand` and `buildCommand` anywhere in a `railway.toml`: a string
/// is a command line, a list an argument vector and a list of command lines.
pub fn railway_toml(text: &str) -> Result<Vec<Command>, Invalid> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).map_err(|e| Invalid {
        message: e.message().to_string(),
        offset: e.span().map_or(0, |s| s.start),
    })?;
    let snippet = |v: &toml::Spanned<DeValue<'_>>| {
        let span = v.span();
        Some(Snippet::aligned(
            v.get_ref().as_str()?,
            text.get(span.clone()).unwrap_or_default(),
            span.start,
        ))
    };
    let mut out = Vec::new();
    let mut todo: Vec<&DeTable<'_>> = vec![doc.get_ref()];
    let mut depth = 0;
    while let Some(t) = todo.pop() {
        depth += 1;
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            if ["startCommand", "preDeployCommand", "buildCommand"].contains(&key) {
                let what = format!("`{key}` in railway.toml");
                let command = |snippet, form| Command {
                    what: what.clone(),
                    snippet,
                    form,
                };
                if let Some(s) = snippet(v) {
                    out.push(command(s, Form::Shell));
                } else if let Some(items) = v.get_ref().as_array() {
                    let parts: Vec<Snippet> = items.iter().filter_map(snippet).collect();
                    let mut argv = Snippet::default();
                    for (i, p) in parts.iter().enumerate() {
                        if i > 0 {
                            argv.push_synthetic("\0");
                        }
                        argv.append(p);
                    }
                    out.push(command(argv, Form::Argv));
                    out.extend(parts.into_iter().map(|p| command(p, Form::Shell)));
                }
            }
            // Tables and arrays of tables (`[[deploy]]` is not Railway's, but costs nothing).
            if depth < 1_000 {
                match v.get_ref() {
                    DeValue::Table(t) => todo.push(t),
                    DeValue::Array(a) => {
                        todo.extend(a.iter().filter_map(|x| x.get_ref().as_table()))
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

/// A shell script, whole.
pub fn script(text: &str, what: String) -> Command {
    Command {
        what,
        snippet: Snippet::verbatim(text, 0),
        form: Form::Shell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_block_scalars_keep_file_offsets() {
        let y = "jobs:\n  nightly:\n    steps:\n      - name: migrate\n        run: |\n          npm ci\n          npx prisma migrate deploy\n      - run: echo done # note\n      - run: >-\n          npx prisma\n          generate\n";
        let c = workflow(y).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].snippet.text, "npm ci\nnpx prisma migrate deploy\n");
        assert_eq!(&y[c[0].snippet.file_offset(7)..][..6], "npx pr");
        assert_eq!(c[1].snippet.text, "echo done");
        assert_eq!(c[2].snippet.text, "npx prisma generate");
        assert_eq!(&y[c[2].snippet.file_offset(11)..][..8], "generate");
    }

    #[test]
    fn package_json_scripts_are_found_at_their_value() {
        let j = "{\n  \"name\": \"x\",\n  \"scripts\": {\n    \"build\": \"remix build\",\n    \"start\": \"prisma migrate deploy && node server.js\"\n  }\n}\n";
        let c = package_json(j).unwrap();
        let start = c.iter().find(|c| c.what.contains("start")).unwrap();
        assert_eq!(&j[start.snippet.file_offset(0)..][..6], "prisma");
    }

    #[test]
    fn dockerfile_continuations_and_heredocs() {
        let d = "FROM node\n# RUN prisma migrate deploy\nRUN npm ci \\\n  # comment\n  && npx prisma generate\nRUN <<EOF\nnpx prisma db push\nEOF\nCOPY --chown=node docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"docker-entrypoint.sh\"]\n";
        let f = dockerfile(d);
        assert_eq!(f.commands.len(), 3);
        assert!(f.commands[0].snippet.text.contains("npx prisma generate"));
        assert!(!f.commands[0].snippet.text.contains("comment"));
        assert!(f.commands[1].snippet.text.contains("npx prisma db push"));
        assert_eq!(f.copied, ["docker-entrypoint.sh"]);
    }
}
