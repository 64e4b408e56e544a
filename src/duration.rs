//! Istio duration strings (`timeout: 1.5s`, `interval: 1m`, `perTryTimeout: 250ms`)
//! read into a [`Duration`], and durations written back for messages.
//!
//! This module only reads: a string it does not understand gives `None`, and
//! rules that compare durations stay silent then. Whether a duration is *valid*
//! for Istio (at least 1ms, millisecond precision) is a separate question.

use std::time::Duration;

/// Reads a duration the way Go's `time.ParseDuration` writes them, which is what
/// Istio accepts: one or more `<decimal number><unit>` parts (`1h30m`, `1.5s`),
/// units `h`, `m`, `s`, `ms`, `us` (or `µs`), `ns`. A bare `0` is zero.
///
/// Returns `None` for anything else: no unit, a sign, an empty string, an
/// unknown unit, or a value too large to represent.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        total = total.checked_add(scaled(number, scale)?)?;
        rest = next;
    }
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    let nanos = u32::try_from(total % 1_000_000_000).ok()?;
    Some(Duration::new(secs, nanos))
}

/// `number` (digits with at most one `.`) times `scale` nanoseconds, truncated
/// to whole nanoseconds.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in frac.chars() {
        place /= 10;
        if place == 0 {
            break;
        }
        let d = u128::from(digit.to_digit(10)?);
        value = value.checked_add(d * place)?;
    }
    Some(value)
}

/// Writes a duration compactly for messages: `250ms`, `1.5s`, `6s`, `90s`,
/// `100us`; whole hours and minutes as `2h`, `5m`.
pub fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (unit, scale) in [("h", 3_600_000_000_000u128), ("m", 60_000_000_000)] {
        if nanos.is_multiple_of(scale) && nanos >= scale {
            return format!("{}{unit}", nanos / scale);
        }
    }
    if nanos >= 1_000_000_000 {
        return decimal(nanos, 1_000_000_000, "s");
    }
    if nanos >= 1_000_000 {
        return decimal(nanos, 1_000_000, "ms");
    }
    if nanos >= 1_000 {
        return decimal(nanos, 1_000, "us");
    }
    format!("{nanos}ns")
}

/// `value / scale` with the fraction's trailing zeros removed, then `unit`.
fn decimal(value: u128, scale: u128, unit: &str) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}{unit}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn reads_go_durations() {
        assert_eq!(parse("5s"), ms(5000));
        assert_eq!(parse("250ms"), ms(250));
        assert_eq!(parse("1.5s"), ms(1500));
        assert_eq!(parse("1h"), ms(3_600_000));
        assert_eq!(parse("1h30m"), ms(5_400_000));
        assert_eq!(parse("2m0.5s"), ms(120_500));
        assert_eq!(parse("100us"), Some(Duration::from_micros(100)));
        assert_eq!(parse("100µs"), Some(Duration::from_micros(100)));
        assert_eq!(parse("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(parse(".5s"), ms(500));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            "", "5", "s", "-1s", "+1s", "1.2.3s", "1d", "1 s", "abc", "1s5", ".s", "1e3s",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse("99999999999999999999999999h"), None);
    }

    #[test]
    fn writes_compactly() {
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(6)), "6s");
        assert_eq!(format(Duration::from_secs(90)), "90s");
        assert_eq!(format(Duration::from_secs(120)), "2m");
        assert_eq!(format(Duration::from_secs(7200)), "2h");
        assert_eq!(format(Duration::from_micros(100)), "100us");
        assert_eq!(format(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
