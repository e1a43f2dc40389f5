//! Durations as people type them on the command line: `500ms`, `5s`, `2m`,
//! `1h`, or a bare number of seconds. One parser for every time option
//! (`--half-life`, `--duration`, `--at`, `--present-interval`, timeouts).

use std::time::Duration;

/// Parses the value `text` of `option` (named in the error):
/// `500ms`, `5s`, `2m`, `1h` or a bare number of seconds; at least 1 ms.
pub fn parse(option: &str, text: &str) -> Result<Duration, String> {
    let err = || format!("bad {option} `{text}`: expected e.g. 500ms, 5s, 2m or 1h");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse("--x", "500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("--x", "2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("--x", "3"), Ok(Duration::from_secs(3)));
        for bad in ["", "0", "-1s", "5 parsecs", "nan", "1e300h"] {
            assert!(parse("--x", bad).is_err(), "{bad}");
        }
    }
}
