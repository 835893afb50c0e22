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
    if let Some(t) = utc_fast(s.as_bytes()) {
        return Ok(t);
    }
    if !shape_ok(s.as_bytes()) {
        return Err(format!(
            "`{}` is not an RFC 3339 date-time (expected YYYY-MM-DDTHH:MM:SS[.fraction] followed by Z or ±HH:MM)",
            crate::text::excerpt(s, 60)
        ));
    }
    DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .map_err(|e| format!("`{s}` is not a real date and time ({e})"))
}

/// The common spelling `YYYY-MM-DDTHH:MM:SS[.1–9 digits]Z` of a real date and time (no leap
/// second), read directly: what chrono's RFC 3339 parser gives for it, at a fraction of the
/// cost (a million-line evidence file spends its time here). `None` for anything else, which
/// the shape check and chrono decide.
fn utc_fast(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let num = |r: std::ops::Range<usize>| {
        b.get(r)?.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.last() != Some(&b'Z') || punctuation.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    let nanos = match b.len() {
        20 => 0,
        22..=30 if b[19] == b'.' => num(20..b.len() - 1)? * 10u32.pow(30 - b.len() as u32),
        _ => return None,
    };
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if sec > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(
        date.and_hms_nano_opt(h, m, sec, nanos)?
            .and_utc()
            .fixed_offset(),
    )
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
    use super::{parse, shape_ok};

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

    /// The direct reading of the common spelling gives exactly what chrono's parser gives.
    #[test]
    fn the_fast_reading_agrees_with_chrono() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let mut s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                next(3000),
                next(14),
                next(33),
                next(26),
                next(62),
                next(62)
            );
            if next(2) == 0 {
                s.push('.');
                for _ in 0..next(12) {
                    s.push(char::from(b'0' + next(10) as u8));
                }
            }
            s.push(['Z', 'z', '+'][next(3) as usize]);
            if s.ends_with('+') {
                s.push_str("01:30");
            }
            // Now and then a byte anywhere replaced by a digit, a sign or a letter.
            if next(4) == 0 {
                let i = next(s.len() as u64) as usize;
                let c = ["7", "-", "+", "T", "Z", ":", "."][next(7) as usize];
                s.replace_range(i..i + 1, c);
            }
            let b = s.as_bytes();
            let ours = super::utc_fast(b);
            fast += usize::from(ours.is_some());
            let chrono = chrono::DateTime::parse_from_rfc3339(&s).ok();
            assert!(
                ours.is_none() || ours == chrono,
                "{s}: {ours:?} vs {chrono:?}"
            );
            if shape_ok(b) {
                assert_eq!(super::parse_with_offset(&s).ok(), chrono, "{s}");
            } else {
                assert!(super::parse_with_offset(&s).is_err(), "{s}");
            }
        }
        assert!(fast > 10_000, "the fast reading took only {fast} inputs");
    }
}
