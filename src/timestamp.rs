//! RFC 3339 timestamps as written by evidence and heartbeat writers.
//!
//! Accepts fractions of a second and offsets (`2025-10-21T14:30:00.123Z`,
//! `…+02:00`), which the original guard wrongly rejected; rejects impossible dates and times
//! (`2025-13-45T99:99:99Z`), which it wrongly accepted. Errors say which part is wrong.

use chrono::{DateTime, FixedOffset, Utc};

pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
    parse_with_offset(s).map(|t| t.with_timezone(&Utc))
}

/// Like `parse`, keeping the offset as written (for the writer's local date).
pub fn parse_with_offset(s: &str) -> Result<DateTime<FixedOffset>, String> {
    if !shape_ok(s.as_bytes()) {
        return Err(format!(
            "`{}` is not an RFC 3339 date-time (expected YYYY-MM-DDTHH:MM:SS[.fraction] followed by Z or ±HH:MM)",
            crate::text::excerpt(s, 60)
        ));
    }
    DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .map_err(|e| format!("`{s}` is not a real date and time ({e})"))
}

fn shape_ok(b: &[u8]) -> bool {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let is = |i: usize, c: u8| b.get(i) == Some(&c);
    let date = (0..4).all(digit)
        && is(4, b'-')
        && digit(5)
        && digit(6)
        && is(7, b'-')
        && digit(8)
        && digit(9);
    let sep = matches!(b.get(10), Some(b'T' | b't' | b' '));
    let time = digit(11)
        && digit(12)
        && is(13, b':')
        && digit(14)
        && digit(15)
        && is(16, b':')
        && digit(17)
        && digit(18);
    if !(date && sep && time) {
        return false;
    }
    let mut i = 19;
    if is(i, b'.') {
        i += 1;
        let start = i;
        while digit(i) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digit(i + 1)
                && digit(i + 2)
                && is(i + 3, b':')
                && digit(i + 4)
                && digit(i + 5)
                && i + 6 == b.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_fractions_and_offsets_rejects_impossible() {
        assert!(parse("2025-10-21T14:30:00Z").is_ok());
        assert!(parse("2025-10-21T14:30:00.123Z").is_ok());
        assert_eq!(
            parse("2025-10-21T16:30:00+02:00").unwrap(),
            parse("2025-10-21T14:30:00Z").unwrap()
        );
        assert!(parse("2025-13-45T99:99:99Z")
            .unwrap_err()
            .contains("not a real date"));
        assert!(parse("2025-10-21").unwrap_err().contains("not an RFC 3339"));
        assert!(parse("2025-10-21T14:30:00").is_err());
        assert!(parse("2025-02-29T00:00:00Z").is_err());
        assert!(parse("2025-10-21T14:30:00.Z").is_err());
    }
}
