//! The built-in evidence schema, checked without building a JSON tree.
//!
//! Nearly every evidence line has the built-in shape (`tool`, `timestamp`, `doc_ref`,
//! `request_id`, `purpose`, all strings). Reading such a line straight into borrowed fields
//! costs a fraction of building a `serde_json::Value` and walking it with the schema
//! validator, which is what a million-line file spends its time on. The quick check only ever
//! says "valid by the built-in schema": any line it is not sure of — a non-string value, a
//! missing field, a `doc_ref` the schema's own `uri` format refuses, JSON it cannot read,
//! bytes that are not UTF-8 — goes the full way, which finds and words every problem. So the
//! findings are the same with or without it (a test and the `evidence_line` fuzz target
//! compare them), only faster.
//!
//! Two readers feed it: `flat`, one pass over the bytes of a line that is an object of plain
//! strings (no escapes: the usual writer's output), and serde's derive for everything else
//! JSON allows. Plain `doc_ref` URIs are recognised by `plain_uri`; others go to the schema's
//! format check. Callgrind, 100,000 built-in lines, whole process: 4,900 instructions a line
//! before (serde's derive, the validator on every `doc_ref`, chrono's parser, each line copied
//! twice by the reader), 2,270 with these, the direct timestamp reading and `lines::ChunkReader`.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;

/// One top-level value of the line, as far as the built-in schema cares.
#[derive(Debug, Default)]
enum Field<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    /// Present but not a string (`null`, a number, an object, …).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Owned(s)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Field<'a>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Field<'a>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The properties of the built-in schema. Other keys are allowed and ignored, as the schema
/// allows them; a key given twice is an error here, so such a line goes the full way.
#[derive(Deserialize)]
struct BuiltinLine<'a> {
    #[serde(borrow, default)]
    tool: Field<'a>,
    #[serde(borrow, default)]
    timestamp: Field<'a>,
    #[serde(borrow, default)]
    doc_ref: Field<'a>,
    #[serde(borrow, default)]
    request_id: Field<'a>,
    #[serde(borrow, default)]
    purpose: Field<'a>,
}

/// What the schema asks of a line beyond "every property a string": a flat line's `tool`,
/// `timestamp` and `doc_ref`.
#[derive(Default)]
struct Flat<'a> {
    tool: Option<&'a str>,
    timestamp: Option<&'a str>,
    doc_ref: Option<&'a str>,
}

/// A line that is one JSON object whose values are all strings without escapes, read in one
/// pass; `None` for anything else, which serde then reads. A key given twice keeps its last
/// value, as in the JSON tree the full check validates.
fn flat(raw: &[u8]) -> Option<Flat<'_>> {
    let mut fields: [Option<std::ops::Range<usize>>; 3] = Default::default();
    let mut ascii = true;
    let mut i = skip_ws(raw, 0);
    if raw.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(raw, i + 1);
    // The line is read as bytes: it is known to be UTF-8 once it proves ASCII (or is checked).
    let done = |fields: [Option<std::ops::Range<usize>>; 3], ascii: bool| {
        if !ascii {
            std::str::from_utf8(raw).ok()?;
        }
        let text = |r: &Option<std::ops::Range<usize>>| match r {
            Some(r) => as_str(&raw[r.clone()]).map(Some),
            None => Some(None),
        };
        Some(Flat {
            tool: text(&fields[0])?,
            timestamp: text(&fields[1])?,
            doc_ref: text(&fields[2])?,
        })
    };
    if raw.get(i) == Some(&b'}') {
        return (skip_ws(raw, i + 1) == raw.len()).then(|| done(fields, ascii))?;
    }
    // The built-in keys, matched in place (no escapes can hide in them this way).
    const KEYS: [&[u8]; 5] = [
        b"\"tool\"",
        b"\"timestamp\"",
        b"\"doc_ref\"",
        b"\"request_id\"",
        b"\"purpose\"",
    ];
    loop {
        let (key, after) = match KEYS.iter().position(|k| raw[i..].starts_with(k)) {
            Some(k) => (Some(k), i + KEYS[k].len()),
            None => (None, string(raw, i, &mut ascii)?.1),
        };
        i = skip_ws(raw, after);
        if raw.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(raw, i + 1);
        let (value, after) = string(raw, i, &mut ascii)?;
        // Any other property may be any string.
        if let Some(k @ 0..=2) = key {
            fields[k] = Some(value);
        }
        i = skip_ws(raw, after);
        match raw.get(i) {
            Some(b',') => i = skip_ws(raw, i + 1),
            Some(b'}') if skip_ws(raw, i + 1) == raw.len() => return done(fields, ascii),
            _ => return None,
        }
    }
}

/// `bytes` as text. `str::from_utf8` costs more than a short field is long, and fields are
/// nearly always ASCII, which is UTF-8 as it stands.
fn as_str(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is ASCII (just checked), and ASCII text is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

fn skip_ws(raw: &[u8], mut i: usize) -> usize {
    while matches!(raw.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// Where the contents of the JSON string starting at `raw[at]` lie, and the index after it;
/// `None` when there is none, or it holds an escape or a control character (serde decides).
/// A byte over 0x7F clears `ascii`.
fn string(raw: &[u8], at: usize, ascii: &mut bool) -> Option<(std::ops::Range<usize>, usize)> {
    if raw.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let mut i = start;
    // Eight bytes at a time: does any of them need a look (a quote, a backslash, a control
    // character, a byte over 0x7F)? The lowest flagged byte is always a real one.
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    loop {
        while let Some(word) = raw.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().ok()?);
            let flags = (zero(w ^ (ONES * u64::from(b'"')))
                | zero(w ^ (ONES * u64::from(b'\\')))
                | w.wrapping_sub(ONES * 0x20)
                | w)
                & HIGH;
            if flags != 0 {
                i += flags.trailing_zeros() as usize / 8;
                break;
            }
            i += 8;
        }
        match *raw.get(i)? {
            b'"' => return Some((start..i, i + 1)),
            b'\\' | 0..=0x1f => return None,
            0x80.. => *ascii = false,
            _ => {}
        }
        i += 1;
    }
}

/// `scheme://host[/path][?query][#fragment]` spelled with RFC 3986's unreserved and sub-delim
/// characters only (plus `:` `@` `/` `?` after the host): no percent-escapes, user info, port
/// or IP literal. Every such string is a URI by RFC 3986's grammar, so the `uri` format accepts
/// it; any other `doc_ref` is left to the schema's own format check.
fn plain_uri(s: &[u8]) -> bool {
    const HOST: u8 = 1; // unreserved and sub-delims
    const AFTER_HOST: u8 = 2; // those and `:` `@` `/` `?`
    const SCHEME: u8 = 4; // letters, digits, `+` `-` `.`
    const CLASS: [u8; 256] = {
        let mut t = [0; 256];
        let mut i = 0;
        while i < 256 {
            let b = i as u8;
            let sub_delim = matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
            t[i] = if b.is_ascii_alphanumeric() {
                HOST | AFTER_HOST | SCHEME
            } else if sub_delim {
                HOST | AFTER_HOST
                    | if matches!(b, b'+' | b'-' | b'.') {
                        SCHEME
                    } else {
                        0
                    }
            } else if matches!(b, b':' | b'@' | b'/' | b'?') {
                AFTER_HOST
            } else {
                0
            };
            i += 1;
        }
        t
    };
    // The end of the run of `class` bytes from `i`.
    let run = |i: usize, class: u8| {
        s[i.min(s.len())..]
            .iter()
            .position(|&b| CLASS[b as usize] & class == 0)
            .map_or(s.len(), |n| i + n)
    };
    if !s.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let scheme = run(0, SCHEME);
    if s.get(scheme..scheme + 3) != Some(b"://") {
        return false;
    }
    let host = run(scheme + 3, HOST);
    if host == scheme + 3 || !matches!(s.get(host), None | Some(b'/' | b'?' | b'#')) {
        return false;
    }
    let path = run(host, AFTER_HOST);
    path == s.len() || (s[path] == b'#' && run(path + 1, AFTER_HOST) == s.len())
}

/// The timestamp of `raw` when the line is certainly valid by the built-in schema, whose
/// `doc_ref` property `doc_ref` validates; `None` when the full check must decide.
pub fn valid_timestamp<'a>(raw: &'a [u8], doc_ref: &jsonschema::Validator) -> Option<Cow<'a, str>> {
    let uri =
        |s: &str| plain_uri(s.as_bytes()) || doc_ref.is_valid(&serde_json::Value::String(s.into()));
    if let Some(line) = flat(raw) {
        let (tool, ts) = (line.tool?, line.timestamp?);
        let valid = !tool.is_empty() && !ts.is_empty() && line.doc_ref.is_none_or(uri);
        return valid.then_some(Cow::Borrowed(ts));
    }
    let raw = std::str::from_utf8(raw).ok()?;
    // A JSON array would fill the struct's fields by position: only objects qualify.
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    let line: BuiltinLine<'a> = serde_json::from_str(raw).ok()?;
    let non_empty = |f: &Field| matches!(f, Field::Str(s) if !s.is_empty());
    let string_or_absent = |f: &Field| !matches!(f, Field::Other);
    if !(non_empty(&line.tool)
        && non_empty(&line.timestamp)
        && string_or_absent(&line.request_id)
        && string_or_absent(&line.purpose))
    {
        return None;
    }
    match &line.doc_ref {
        Field::Absent => {}
        Field::Str(s) => {
            if !uri(s) {
                return None;
            }
        }
        Field::Other => return None,
    }
    match line.timestamp {
        Field::Str(ts) => Some(ts),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_ref() -> jsonschema::Validator {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&serde_json::json!({"type": "string", "format": "uri"}))
            .unwrap()
    }

    #[test]
    fn a_plain_uri_is_one_the_uri_format_accepts() {
        let v = doc_ref();
        let plain = [
            "https://shopify.dev/docs/api/admin-graphql/latest/objects/Order",
            "http://localhost/a/b?x=1&y=2#frag:ment/?",
            "git+ssh://host.example/repo.git",
            "urn://x",
            "https://a/@:/?@:",
        ];
        for s in plain {
            assert!(plain_uri(s.as_bytes()), "{s}");
            assert!(v.is_valid(&serde_json::json!(s)), "{s}");
        }
        // Not plain (left to the format check, which decides either way).
        for s in [
            "",
            "https://",
            "https:/x",
            "1https://x",
            "ht tp://x",
            "https://user@x",
            "https://x:8080/",
            "https://[::1]/",
            "https://x/%20",
            "https://x/a b",
            "https://x/#a#b",
            "https://x/\u{e9}",
            "localhost modal",
            "mailto:a@b",
        ] {
            assert!(!plain_uri(s.as_bytes()), "{s}");
        }
        // Every byte string made of URI-ish characters: plain implies accepted by the format.
        let alphabet = b"a1:/?#@%[]-._~!$&'()*+,;= ";
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut s = b"https://".to_vec();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 12) {
                s.push(alphabet[((seed >> (k * 5)) % alphabet.len() as u64) as usize]);
            }
            let text = String::from_utf8(s).unwrap();
            if plain_uri(text.as_bytes()) {
                assert!(v.is_valid(&serde_json::json!(text)), "{text}");
            }
        }
    }

    #[test]
    fn only_lines_the_schema_certainly_accepts_take_the_quick_way() {
        let v = doc_ref();
        let ok = r#"{"tool":"context7","timestamp":"2025-10-21T14:30:00Z","doc_ref":"https://x.dev/a","extra":[1,{"a":null}]}"#;
        assert_eq!(
            valid_timestamp(ok.as_bytes(), &v).as_deref(),
            Some("2025-10-21T14:30:00Z")
        );
        assert_eq!(
            valid_timestamp(
                br#"{"tool":"c","timestamp":"2025-10-21T14:30:00\u005a"}"#,
                &v
            )
            .as_deref(),
            Some("2025-10-21T14:30:00Z")
        );
        // Bytes, not yet known to be UTF-8: UTF-8 beyond ASCII is fine, anything else is not.
        let accented =
            "{\"tool\":\"c\",\"timestamp\":\"t\",\"purpose\":\"r\u{e9}sum\u{e9} \u{1F600}\"}";
        assert_eq!(
            valid_timestamp(accented.as_bytes(), &v).as_deref(),
            Some("t")
        );
        for bad in [
            &b"{\"tool\":\"c\",\"timestamp\":\"t\",\"purpose\":\"r\xE9sum\"}"[..],
            b"{\"tool\":\"c\xFF\",\"timestamp\":\"t\"}",
            b"{\"x\":\"\xC3\",\"tool\":\"c\",\"timestamp\":\"t\"}",
        ] {
            assert!(valid_timestamp(bad, &v).is_none(), "{bad:?}");
        }
        // A key given twice keeps its last value, as in the JSON tree.
        assert_eq!(
            valid_timestamp(br#"{"tool":"","timestamp":"t","tool":"d"}"#, &v).as_deref(),
            Some("t")
        );
        for full_way in [
            r#"["context7","2025-10-21T14:30:00Z"]"#,
            r#"{"tool":"context7"}"#,
            r#"{"tool":"","timestamp":"t"}"#,
            r#"{"tool":null,"timestamp":"t"}"#,
            r#"{"tool":"c","timestamp":"t","doc_ref":null}"#,
            r#"{"tool":"c","timestamp":"t","doc_ref":"localhost modal"}"#,
            r#"{"tool":"c","timestamp":"t","purpose":7}"#,
            r#"{"tool":"c","timestamp":"t","tool":""}"#,
            r#"{"tool":"c","timestamp":"t"} x"#,
            r#"{"tool":"c","timestamp":"t""#,
        ] {
            assert!(
                valid_timestamp(full_way.as_bytes(), &v).is_none(),
                "{full_way}"
            );
        }
    }
}
