//! Commands as a shell sees them: a small POSIX-style word splitter (quotes, escapes, line
//! continuations, `#` comments, `;` `&&` `||` `|` `&` `$(…)` and backticks as command
//! boundaries) and the matcher of forbidden commands over those words.
//!
//! Matching words, not substrings, is what keeps `echo "never run prisma migrate deploy"` and
//! `# prisma migrate deploy` quiet while `npx prisma migrate deploy`, `sh -c "…"` and
//! `dotenv -- prisma migrate deploy` are caught. Every word keeps the byte offset of the file
//! it came from, so a hit has an exact line and column.

/// A piece of a file's text to read as shell, made of segments that map back to file offsets
/// (a YAML block scalar loses its indentation, a Dockerfile instruction its comment lines).
#[derive(Debug, Clone, Default)]
pub struct Snippet {
    pub text: String,
    /// `(offset in text, offset in file)`, ascending.
    map: Vec<(usize, usize)>,
}

impl Snippet {
    /// `text` that starts at `file_offset` and is copied verbatim.
    pub fn verbatim(text: &str, file_offset: usize) -> Snippet {
        Snippet {
            text: text.to_string(),
            map: vec![(0, file_offset)],
        }
    }

    /// Append `text`, found at `file_offset` in the file.
    pub fn push(&mut self, text: &str, file_offset: usize) {
        self.map.push((self.text.len(), file_offset));
        self.text.push_str(text);
    }

    /// Append a separator that is not in the file.
    pub fn push_synthetic(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn file_offset(&self, at: usize) -> usize {
        let i = self
            .map
            .partition_point(|(s, _)| *s <= at)
            .saturating_sub(1);
        self.map.get(i).map_or(at, |(s, f)| f + (at - s))
    }
}

/// One shell word, its quotes removed, with the file offsets of its first and last byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Which characters split commands beyond whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A shell command line or script.
    Shell,
    /// A JSON exec form (`["npx", "prisma", …]`): brackets and commas are whitespace, and the
    /// whole array is one command.
    Exec,
}

/// Split a snippet into simple commands of words.
pub fn commands(snippet: &Snippet, form: Form) -> Vec<Vec<Word>> {
    let b = snippet.text.as_bytes();
    let mut cmds: Vec<Vec<Word>> = vec![Vec::new()];
    let mut word: Option<(Vec<u8>, usize, usize)> = None;
    let end_word = |word: &mut Option<(Vec<u8>, usize, usize)>, cmds: &mut Vec<Vec<Word>>| {
        if let Some((w, s, e)) = word.take() {
            if let Some(c) = cmds.last_mut() {
                c.push(Word {
                    text: String::from_utf8_lossy(&w).into_owned(),
                    start: snippet.file_offset(s),
                    end: snippet.file_offset(e),
                });
            }
        }
    };
    let add = |word: &mut Option<(Vec<u8>, usize, usize)>, c: u8, at: usize| match word {
        Some((w, _, e)) => {
            w.push(c);
            *e = at;
        }
        None => *word = Some((vec![c], at, at)),
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'\\' if i + 1 < b.len() => {
                add(&mut word, b[i + 1], i + 1);
                i += 2;
            }
            b' ' | b'\t' | b'\r' => {
                end_word(&mut word, &mut cmds);
                i += 1;
            }
            b'[' | b']' | b',' if form == Form::Exec => {
                end_word(&mut word, &mut cmds);
                i += 1;
            }
            b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'`' if form == Form::Shell => {
                end_word(&mut word, &mut cmds);
                if !cmds.last().is_some_and(Vec::is_empty) {
                    cmds.push(Vec::new());
                }
                i += 1;
            }
            b'$' if form == Form::Shell && b.get(i + 1) == Some(&b'(') => {
                end_word(&mut word, &mut cmds);
                if !cmds.last().is_some_and(Vec::is_empty) {
                    cmds.push(Vec::new());
                }
                i += 2;
            }
            b'#' if word.is_none() && form == Form::Shell => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'\'' | b'"') => {
                // Up to the closing quote; `\` escapes only inside double quotes. An empty
                // quoted string still makes a word.
                if word.is_none() {
                    word = Some((Vec::new(), i + 1, i + 1));
                }
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"'
                        && b[i] == b'\\'
                        && matches!(b.get(i + 1), Some(b'"' | b'\\' | b'$' | b'`'))
                    {
                        i += 1;
                    }
                    add(&mut word, b[i], i);
                    i += 1;
                }
                if let Some((_, _, e)) = &mut word {
                    *e = i.min(b.len().saturating_sub(1));
                }
                i += 1;
            }
            _ => {
                add(&mut word, c, i);
                i += 1;
            }
        }
    }
    end_word(&mut word, &mut cmds);
    cmds.retain(|c| !c.is_empty());
    cmds
}

/// A forbidden command: words in order, each a set of alternatives (`prisma migrate
/// deploy|dev`). A first word that is an option (`--accept-data-loss`) matches anywhere.
#[derive(Debug, Clone)]
pub struct Pattern {
    words: Vec<Vec<String>>,
}

impl Pattern {
    pub fn parse(s: &str) -> Option<Pattern> {
        let words: Vec<Vec<String>> = s
            .split_whitespace()
            .map(|w| {
                w.split('|')
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .filter(|alts: &Vec<String>| !alts.is_empty())
            .collect();
        (!words.is_empty()).then_some(Pattern { words })
    }
}

pub const BUILTIN_PATTERNS: &[&str] = &[
    "prisma migrate deploy|dev|resolve|reset",
    "prisma db push",
    "supabase db push|reset",
    "--accept-data-loss",
];

/// Commands whose arguments are text, not commands: `echo prisma migrate deploy` is quiet.
const NOT_RUNNING: &[&str] = &[
    "echo", "printf", "cat", "grep", "egrep", "fgrep", "rg", ":", "test", "[", "[[", "true",
    "false", "printenv", "read", "export", "git", "gh",
];

const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ash", "ksh"];

/// A forbidden command found: the words it matched (`prisma migrate deploy`) and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub command: String,
    pub start: usize,
    pub end: usize,
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Every forbidden command in `cmds` (recursing into `sh -c "…"` and `eval`).
pub fn find(cmds: &[Vec<Word>], patterns: &[Pattern]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for cmd in cmds {
        find_in(cmd, patterns, 0, &mut hits);
    }
    hits
}

fn find_in(cmd: &[Word], patterns: &[Pattern], depth: usize, hits: &mut Vec<Hit>) {
    let Some(head) = cmd.iter().position(|w| !is_assignment(&w.text)) else {
        return;
    };
    let name = basename(&cmd[head].text);
    if NOT_RUNNING.contains(&name) {
        return;
    }
    // `sh -c "script"`, `bash -ec '…'`, `eval "…"`: the script is a command line too.
    if depth < 3 {
        let script = if SHELLS.contains(&name) {
            cmd[head + 1..]
                .iter()
                .position(|w| {
                    w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('c')
                })
                .and_then(|i| cmd.get(head + 2 + i))
        } else if name == "eval" {
            cmd.get(head + 1)
        } else {
            None
        };
        if let Some(s) = script {
            // Offsets inside the script: from its first byte (just after an opening quote).
            let inner = Snippet::verbatim(&s.text, s.start);
            for c in commands(&inner, Form::Shell) {
                find_in(&c, patterns, depth + 1, hits);
            }
            return;
        }
    }
    for p in patterns {
        if let Some(hit) = match_pattern(&cmd[head..], p) {
            hits.push(hit);
        }
    }
}

fn match_pattern(cmd: &[Word], p: &Pattern) -> Option<Hit> {
    let first = &p.words[0];
    let start = if first[0].starts_with('-') {
        cmd.iter().position(|w| {
            first
                .iter()
                .any(|o| w.text == *o || w.text.starts_with(&format!("{o}=")))
        })?
    } else {
        cmd.iter()
            .position(|w| first.iter().any(|a| basename(&w.text) == a))?
    };
    let mut matched = vec![&cmd[start]];
    let mut at = start + 1;
    for alts in &p.words[1..] {
        let j = cmd[at..].iter().position(|w| alts.contains(&w.text))?;
        matched.push(&cmd[at + j]);
        at += j + 1;
    }
    let words: Vec<&str> = matched.iter().map(|w| basename(&w.text)).collect();
    Some(Hit {
        command: words.join(" "),
        start: matched[0].start,
        end: matched.last().map_or(matched[0].end, |w| w.end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(s: &str) -> Vec<String> {
        let patterns: Vec<Pattern> = BUILTIN_PATTERNS
            .iter()
            .filter_map(|p| Pattern::parse(p))
            .collect();
        find(&commands(&Snippet::verbatim(s, 0), Form::Shell), &patterns)
            .into_iter()
            .map(|h| format!("{}@{}..{}", h.command, h.start, h.end))
            .collect()
    }

    #[test]
    fn commands_are_matched_as_words() {
        assert_eq!(
            hits("npx prisma migrate deploy"),
            ["prisma migrate deploy@4..24"]
        );
        assert_eq!(
            hits("npm ci && DATABASE_URL=x ./node_modules/.bin/prisma --schema db.prisma migrate \\\n  deploy"),
            ["prisma migrate deploy@25..88"]
        );
        assert_eq!(
            hits("sh -c \"npx prisma db push --accept-data-loss\""),
            ["prisma db push@11..24", "--accept-data-loss@26..43"]
        );
        assert_eq!(hits("x=$(supabase db reset)"), ["supabase db reset@4..20"]);
        assert!(hits("echo 'run prisma migrate deploy by hand'").is_empty());
        assert!(hits("echo prisma migrate deploy").is_empty());
        assert!(hits("npx prisma generate # not prisma migrate deploy").is_empty());
        assert!(hits("npx prisma migrate status; npx prisma generate").is_empty());
        assert!(hits("git commit -m \"prisma migrate deploy\"").is_empty());
    }

    #[test]
    fn exec_form_is_one_command() {
        let s = Snippet::verbatim(r#"["npx", "prisma", "migrate", "deploy"]"#, 10);
        let c = commands(&s, Form::Exec);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0][1].text, "prisma");
        assert_eq!(c[0][1].start, 19);
    }
}
