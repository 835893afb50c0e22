//! The PR-body section reader: any body parses; a section's lines, headings, mentions and
//! exemption statements all point at lines of the body, and a mention's text comes from its line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use merge_gates::fuzzing::Body;

fuzz_target!(|data: &[u8]| {
    let raw = merge_gates_fuzz::text(data);
    // The body's lines: CRLF, LF and a lone CR each end one (as browsers submit a textarea).
    let lines = raw.replace("\r\n", "\n").split(['\n', '\r']).count();
    let body = Body::parse(&raw);
    for title in ["MCP Evidence", "Heartbeat", "Migrations"] {
        let Some(section) = body.section(title) else {
            continue;
        };
        assert!((1..=lines).contains(&section.heading_line), "heading line");
        for l in &section.lines {
            assert!((1..=lines).contains(&l.number), "section line {}", l.number);
        }
        for m in section.mentions(&[".jsonl", ".ndjson"]) {
            assert!((1..=lines).contains(&m.line), "mention line {}", m.line);
            let line = section.lines.iter().find(|l| l.number == m.line);
            let line = line.expect("a mention's line is a line of its section");
            assert!(!m.text.is_empty(), "empty mention");
            // Unwrapped (links, blob URLs, `./`) but never invented: the path's last part is
            // on the line.
            let last = m.text.rsplit('/').next().unwrap_or(&m.text);
            assert!(
                line.text.contains(last),
                "{:?} not on {:?}",
                m.text,
                line.text
            );
        }
        let phrases = vec!["no mcp used".to_string(), "n/a".to_string()];
        if let Some((n, _)) = section.exemption(&phrases) {
            assert!((1..=lines).contains(&n), "exemption line {n}");
        }
        let _ = section.is_blank();
    }
});
