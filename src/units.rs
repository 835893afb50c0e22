//! Durations and sizes as people write them in config files and flags: `500ms`, `10s`, `2m`,
//! `1h30m`; `64MiB`, `500KB`, `1GiB`.

use std::time::Duration;

pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!(
                "`{s}` is not a duration (write e.g. 500ms, 10s, 2m, 1h)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{s}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            "" => return Err(format!("`{s}`: a unit is required (ms, s, m, h, d)")),
            other => {
                return Err(format!(
                    "`{s}`: unknown unit `{other}` (use ms, s, m, h, d)"
                ))
            }
        };
        total = total.saturating_add(part);
    }
    Ok(total)
}

/// `90s` → `1m30s`, for messages.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 && d.subsec_millis() != 0 {
        // `1.5s`, not `1s`: a budget of 1500ms must not be reported as one second.
        let s = format!("{}.{:03}", secs, d.subsec_millis());
        return format!("{}s", s.trim_end_matches('0'));
    }
    let (days, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// `64MiB`, `10MB`, `512KiB`, `1024` (bytes).
pub fn bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    let n: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("`{s}` is not a size (write e.g. 64MiB, 10MB)"))?;
    let mult: u64 = match s[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => {
            return Err(format!(
                "`{s}`: unknown size unit `{other}` (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(duration("10").is_err());
        assert!(duration("10x").is_err());
        assert!(duration("").is_err());
        assert_eq!(show_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(show_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show_duration(Duration::from_millis(2050)), "2.05s");
        assert_eq!(show_duration(Duration::from_millis(2000)), "2s");
        assert_eq!(
            show_duration(Duration::from_secs(2 * 86_400 + 3600)),
            "2d1h"
        );
        assert_eq!(bytes("64MiB").unwrap(), 64 << 20);
        assert!(bytes("1XB").is_err());
    }
}
