//! The workflow-command escaper and the annotation line built with it. Escaped text never holds
//! CR, LF or another control character; a property never holds `:` or `,`; unescaping gives the
//! input back. The annotation for a finding with a hostile path, message and hint is exactly one
//! line, `::error file=…,line=…,title=…::…`: the input can neither start a line (a workflow
//! command of its own) nor add or end a property.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use merge_gates::fuzzing::{annotation, escape_data, escape_property};

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("%XX");
            let c = char::from_u32(u32::from_str_radix(hex, 16).expect("hex")).expect("char");
            out.extend(c.to_string().bytes());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

#[derive(Arbitrary, Debug)]
struct Input {
    path: String,
    line: u16,
    message: String,
    help: String,
}

fuzz_target!(|input: Input| {
    for text in [&input.path, &input.message, &input.help] {
        let data = escape_data(text);
        let prop = escape_property(text);
        for out in [&data, &prop] {
            assert!(
                !out.chars().any(char::is_control),
                "a control character in {out:?}"
            );
        }
        assert!(!prop.contains(':') && !prop.contains(','), "{prop:?}");
        assert_eq!(unescape(&data), **text, "data escaping does not round-trip");
        assert_eq!(
            unescape(&prop),
            **text,
            "property escaping does not round-trip"
        );
    }
    let cmd = annotation(&input.path, input.line.into(), &input.message, &input.help);
    let body = cmd.strip_suffix('\n').expect("ends with a newline");
    assert!(!body.contains(['\n', '\r']), "more than one line: {cmd:?}");
    let rest = body.strip_prefix("::").expect("starts a command");
    let (head, message) = rest.split_once("::").expect("properties, then `::`");
    let (level, props) = head.split_once(' ').expect("a level, then properties");
    assert!(["error", "warning", "notice"].contains(&level), "{level}");
    let props: Vec<(&str, &str)> = props
        .split(',')
        .map(|p| p.split_once('=').expect("key=value"))
        .collect();
    let keys: Vec<&str> = props.iter().map(|p| p.0).collect();
    assert_eq!(keys, ["file", "line", "title"], "{cmd:?}");
    assert_eq!(unescape(props[0].1), input.path);
    assert!(unescape(message).starts_with(&input.message));
});
