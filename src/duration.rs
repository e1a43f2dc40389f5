//! Durations as people type them on the command line: `500ms`, `5s`, `2m`,
//! `1h`, or a bare number of seconds. One parser for every time option
//! (`--half-life`, `--duration`, `--at`, `--present-interval`, timeouts).

use std::time::Duration;

/// Parses `text`: `500ms`, `5s`, `2m`, `1h` or a bare number of seconds; at
/// least 1 ms. The error says what is expected (clap names the option).
pub fn parse(text: &str) -> Result<Duration, String> {
    let err = || "expected a time of at least 1ms, e.g. 500ms, 5s, 2m or 1h".to_string();
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = num.trim().parse().map_err(|_| err())?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(err()),
    };
    let secs = value * scale;
    if !secs.is_finite() || !(0.001..=1e9).contains(&secs) {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `d` as [`parse`] reads it, in the largest whole unit: `1900ms`, `10s`, `2m`, `1h`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => format!("{}ms", d.as_secs_f64() * 1e3),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// An age of `ns` nanoseconds for a label, to the unit a person reads at a
/// glance: `40 s`, `3 min`, `2 h 5 min`.
pub fn format_short(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "0", "-1s", "5 parsecs", "nan", "1e300h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for text in ["1900ms", "10s", "2m", "1h", "90s"] {
            assert_eq!(format(parse(text).unwrap_or_default()), text);
        }
        assert_eq!(format_short(40_000_000_000), "40 s");
        assert_eq!(format_short(600_000_000_000), "10 min");
        assert_eq!(format_short(7_500_000_000_000), "2 h 5 min");
    }
}
