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

    /// `value`, a string a parser read from `src` (the source text at file offset `at`: quotes,
    /// escapes, a block scalar's header, folded line breaks and indentation included), mapped
    /// back onto `src` byte by byte: each byte of `value` is found at the next equal byte of
    /// `src`, skipping only what parsers drop (blanks, line breaks, quotes, backslashes); a
    /// byte an escape produced is mapped to the escape.
    pub fn aligned(value: &str, src: &str, at: usize) -> Snippet {
        let s = src.as_bytes();
        let mut j = 0;
        // A YAML anchor or tag (`&migrate`, `!!str`) before the value is none of it.
        while matches!(s.get(j), Some(b'&' | b'!')) {
            j += s[j..]
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .unwrap_or(s.len() - j);
            while s.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
                j += 1;
            }
        }
        // A block scalar's header line (`|`, `>-`, `|2 # note`) holds none of the value.
        if matches!(s.get(j), Some(b'|' | b'>')) {
            j += memchr::memchr(b'\n', &s[j..]).map_or(s.len() - j, |n| n + 1);
        }
        let mut out = Snippet {
            text: value.to_string(),
            map: Vec::new(),
        };
        let mut last: Option<usize> = None;
        for (i, &c) in value.as_bytes().iter().enumerate() {
            let mut k = j;
            while k < s.len()
                && s[k] != c
                && matches!(s[k], b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'\\')
            {
                k += 1;
            }
            let f = if k < s.len() && s[k] == c {
                j = k + 1;
                k
            } else {
                let f = j.min(s.len().saturating_sub(1));
                j = (j + 1).min(s.len());
                f
            };
            if last.is_none_or(|l| l + 1 != f) {
                out.map.push((i, at + f));
            }
            last = Some(f);
        }
        out
    }

    /// Append another snippet (its offsets kept).
    pub fn append(&mut self, other: &Snippet) {
        let base = self.text.len();
        self.map
            .extend(other.map.iter().map(|(t, f)| (base + t, *f)));
        self.text.push_str(&other.text);
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
    /// `(offset in text, offset in file)` runs, so that a script inside the word (`sh -c '…'`,
    /// `eval "…"`) maps back to the file byte for byte, escapes and quotes notwithstanding.
    map: Vec<(usize, usize)>,
}

impl Word {
    /// The word's text as a snippet that keeps its file offsets.
    pub fn snippet(&self) -> Snippet {
        Snippet {
            text: self.text.clone(),
            map: self.map.clone(),
        }
    }
}

/// Which characters split commands beyond whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A shell command line or script.
    Shell,
    /// A JSON exec form (`["npx", "prisma", …]`): brackets and commas are whitespace, and the
    /// whole array is one command.
    Exec,
    /// An argument vector already split (a YAML or TOML list): words are separated by NUL
    /// bytes, taken as they are, and the whole is one command.
    Argv,
}

/// Substitutions nested deeper than this (`$($($(…)))`) are read as plain command boundaries:
/// the words inside are still commands, only not tied to their parentheses.
const MAX_NESTING: usize = 64;

/// A word being read.
struct WordBuf {
    bytes: Vec<u8>,
    map: Vec<(usize, usize)>,
    start: usize,
    end: usize,
}

impl WordBuf {
    fn new(at: usize) -> WordBuf {
        WordBuf {
            bytes: Vec::new(),
            map: Vec::new(),
            start: at,
            end: at,
        }
    }

    fn push(&mut self, c: u8, at: usize) {
        let contiguous = self
            .map
            .last()
            .is_some_and(|(t, f)| f + (self.bytes.len() - t) == at);
        if self.bytes.is_empty() {
            self.start = at;
        }
        if !contiguous {
            self.map.push((self.bytes.len(), at));
        }
        self.bytes.push(c);
        self.end = at;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    End,
    Paren,
    Backtick,
}

/// One level of command substitution (`$(…)`, `` `…` ``) or the top level.
struct Frame {
    close: Close,
    cmd: Vec<Word>,
    word: Option<WordBuf>,
    dquote: bool,
    /// Open `(` subshells inside this level, so that their `)` does not close a `$(`.
    parens: usize,
}

impl Frame {
    fn new(close: Close) -> Frame {
        Frame {
            close,
            cmd: Vec::new(),
            word: None,
            dquote: false,
            parens: 0,
        }
    }

    fn add(&mut self, c: u8, at: usize) {
        self.word
            .get_or_insert_with(|| WordBuf::new(at))
            .push(c, at);
    }

    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            self.cmd.push(Word {
                text: String::from_utf8_lossy(&w.bytes).into_owned(),
                start: w.start,
                end: w.end,
                map: w.map,
            });
        }
    }

    fn end_command(&mut self, done: &mut Vec<Vec<Word>>) {
        self.end_word();
        if !self.cmd.is_empty() {
            done.push(std::mem::take(&mut self.cmd));
        }
    }
}

/// Split a snippet into simple commands of words. A command substitution, also inside double
/// quotes (`echo "$(npx prisma migrate deploy)"`, `` "`…`" ``), is a command of its own.
pub fn commands(snippet: &Snippet, form: Form) -> Vec<Vec<Word>> {
    let b = snippet.text.as_bytes();
    let at = |i: usize| snippet.file_offset(i);
    let mut done: Vec<Vec<Word>> = Vec::new();
    let mut frames = vec![Frame::new(Close::End)];
    let shell = form == Form::Shell;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let room = frames.len() < MAX_NESTING;
        let Some(f) = frames.last_mut() else { break };
        if form == Form::Argv {
            if c == 0 {
                f.end_word();
            } else {
                f.add(c, at(i));
            }
            i += 1;
            continue;
        }
        if f.dquote {
            match c {
                b'"' => {
                    f.dquote = false;
                    i += 1;
                }
                b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b'$' | b'`')) => {
                    f.add(b[i + 1], at(i + 1));
                    i += 2;
                }
                b'\\' if shell && b.get(i + 1) == Some(&b'\n') => i += 2,
                b'$' if shell && room && b.get(i + 1) == Some(&b'(') => {
                    frames.push(Frame::new(Close::Paren));
                    i += 2;
                }
                // Backticks are matched before quotes: inside `` `…` `` one closes it.
                b'`' if shell && f.close == Close::Backtick => {
                    f.dquote = false;
                    f.end_command(&mut done);
                    frames.pop();
                    i += 1;
                }
                b'`' if shell && room => {
                    frames.push(Frame::new(Close::Backtick));
                    i += 1;
                }
                _ => {
                    f.add(c, at(i));
                    i += 1;
                }
            }
            continue;
        }
        match c {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'\\' if i + 1 < b.len() => {
                f.add(b[i + 1], at(i + 1));
                i += 2;
            }
            b' ' | b'\t' | b'\r' => {
                f.end_word();
                i += 1;
            }
            b'[' | b']' | b',' if form == Form::Exec => {
                f.end_word();
                i += 1;
            }
            b')' if shell && f.parens == 0 && f.close == Close::Paren => {
                f.end_command(&mut done);
                frames.pop();
                i += 1;
            }
            b'`' if shell && f.close == Close::Backtick => {
                f.end_command(&mut done);
                frames.pop();
                i += 1;
            }
            b'$' if shell && room && b.get(i + 1) == Some(&b'(') => {
                frames.push(Frame::new(Close::Paren));
                i += 2;
            }
            b'`' if shell && room => {
                frames.push(Frame::new(Close::Backtick));
                i += 1;
            }
            b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'`' | b'$'
                if shell && (c != b'$' || b.get(i + 1) == Some(&b'(')) =>
            {
                match c {
                    b'(' => f.parens += 1,
                    b')' => f.parens = f.parens.saturating_sub(1),
                    _ => {}
                }
                f.end_command(&mut done);
                i += if c == b'$' { 2 } else { 1 };
            }
            b'#' if shell && f.word.is_none() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' => {
                // Up to the closing quote, verbatim. An empty quoted string still makes a word.
                f.word.get_or_insert_with(|| WordBuf::new(at(i + 1)));
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    f.add(b[i], at(i));
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                f.word.get_or_insert_with(|| WordBuf::new(at(i + 1)));
                f.dquote = true;
                i += 1;
            }
            _ => {
                f.add(c, at(i));
                i += 1;
            }
        }
    }
    while let Some(mut f) = frames.pop() {
        f.end_command(&mut done);
    }
    done
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

/// The command a word names: its basename without a package version (`prisma@5.22.0`,
/// `supabase@latest`, as `npx`, `pnpm dlx`, `yarn dlx` and `bunx` take them).
fn command_name(w: &str) -> &str {
    let name = basename(w);
    match name.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => &name[..at + 1],
        None => name,
    }
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// How many shells deep (`sh -c "bash -c '…'"`, `eval`) commands are still read.
const MAX_SHELL_DEPTH: usize = 16;

/// Every forbidden command in `cmds` (recursing into `sh -c "…"` and `eval`).
pub fn find(cmds: &[Vec<Word>], patterns: &[Pattern]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for cmd in cmds {
        find_in(cmd, patterns, 0, &mut hits);
    }
    hits
}

/// The script a command hands to a shell: the operand after `-c` (alone or in a cluster such
/// as `-ec`, `-lc`) of a shell anywhere in the command (`env X=1 sh -c`, `exec bash -lc`,
/// `sudo -u app sh -c`), or every argument of `eval`, joined with spaces as eval does.
fn inner_script(cmd: &[Word]) -> Option<Snippet> {
    for (j, w) in cmd.iter().enumerate() {
        let name = command_name(&w.text);
        if name == "eval" {
            let mut s = Snippet::default();
            for (k, arg) in cmd[j + 1..].iter().enumerate() {
                if k > 0 {
                    s.push_synthetic(" ");
                }
                s.append(&arg.snippet());
            }
            return Some(s);
        }
        if !SHELLS.contains(&name) {
            continue;
        }
        let mut dash_c = false;
        let mut k = j + 1;
        while let Some(opt) = cmd.get(k) {
            let t = opt.text.as_str();
            if t == "--" || t == "-" {
                k += 1;
                break;
            }
            if !(t.starts_with('-') || t.starts_with('+')) || t.len() < 2 {
                break;
            }
            if !t.starts_with("--") && t[1..].contains('c') {
                dash_c = true;
            }
            // `-o pipefail`, `-O extglob`: the option takes the next word.
            k += if matches!(t, "-o" | "+o" | "-O" | "+O") {
                2
            } else {
                1
            };
        }
        if dash_c {
            return cmd.get(k).map(Word::snippet);
        }
    }
    None
}

fn find_in(cmd: &[Word], patterns: &[Pattern], depth: usize, hits: &mut Vec<Hit>) {
    let Some(head) = cmd.iter().position(|w| !is_assignment(&w.text)) else {
        return;
    };
    if NOT_RUNNING.contains(&command_name(&cmd[head].text)) {
        return;
    }
    // `sh -c "script"`, `bash -ec '…'`, `eval "…"`: the script is a command line too.
    if depth < MAX_SHELL_DEPTH {
        if let Some(inner) = inner_script(&cmd[head..]) {
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
            .position(|w| first.iter().any(|a| command_name(&w.text) == a))?
    };
    let mut matched = vec![&cmd[start]];
    let mut at = start + 1;
    for alts in &p.words[1..] {
        let j = cmd[at..].iter().position(|w| alts.contains(&w.text))?;
        matched.push(&cmd[at + j]);
        at += j + 1;
    }
    let words: Vec<&str> = matched.iter().map(|w| command_name(&w.text)).collect();
    Some(Hit {
        command: words.join(" "),
        start: matched[0].start,
        end: matched.last().map_or(matched[0].end, |w| w.end),
    })
}

/// A command a deploy file runs: what it is (for the message) and its text as a shell sees it.
#[derive(Debug, Clone)]
pub struct Command {
    /// "script `migrate` in package.json", "the `RUN` instruction", …
    pub what: String,
    pub snippet: Snippet,
    pub form: Form,
}

/// A file that does not parse: its message and the byte offset of the problem.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub message: String,
    pub offset: usize,
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
