//! How typed values become bytes, the way SOPS (a Go program) does it.
//!
//! Two byte forms matter:
//! - the **canonical** form ([`canonical`]) is SOPS's `ToBytes`: `True`/`False`,
//!   Go's shortest `'f'` float format (`1e10` is `10000000000`), decimal ints,
//!   RFC 3339 with nanoseconds. The MAC is always computed over it.
//! - the **encrypted plaintext** ([`plaintext_for`]) is the value's original
//!   token (`1.50`, `true`, `+12`) whenever SOPS's parser for that type reads
//!   the token as the same value, and the canonical form otherwise. SOPS
//!   decrypts either to the same data, and shroud can give back the original
//!   bytes.

use std::fmt;

use zeroize::Zeroizing;

use crate::document::{Value, ValueType};

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits,
/// never an exponent, `+Inf`, `-Inf`, `NaN`.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Rust's Display for f64 is the shortest round-trip representation
        // without an exponent, exactly like Go's 'f' with precision -1.
        format!("{f}")
    }
}

/// SOPS's `ToBytes`: the bytes the MAC is computed over.
pub fn canonical(value: &Value) -> Zeroizing<String> {
    Zeroizing::new(match value {
        Value::Str(s) => s.as_str().to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float(*f),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Time(t) => String::clone(t),
    })
}

/// Text that is either borrowed from a value or made for it (and then
/// wiped when dropped): the hot paths hash and encrypt strings without
/// copying them.
pub enum Text<'a> {
    Borrowed(&'a str),
    Owned(Zeroizing<String>),
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s.as_str(),
        }
    }
}

/// [`canonical`] without copying strings and times.
pub fn canonical_text(value: &Value) -> Text<'_> {
    match value {
        Value::Str(s) => Text::Borrowed(s.as_str()),
        Value::Time(t) => Text::Borrowed(t),
        Value::Bool(true) => Text::Borrowed("True"),
        Value::Bool(false) => Text::Borrowed("False"),
        other => Text::Owned(canonical(other)),
    }
}

/// [`plaintext_for`] without copying strings.
pub fn plaintext_text<'a>(value: &'a Value, source: Option<&'a str>) -> Text<'a> {
    if let (Some(src), false) = (source, matches!(value, Value::Str(_)))
        && let Ok(parsed) = parse_plaintext(value.value_type(), src)
        && same_value(&parsed, value)
    {
        return Text::Borrowed(src);
    }
    canonical_text(value)
}

/// Go `strconv.ParseBool`.
pub fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits.
pub fn go_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseFloat(s, 64)` for the forms that matter here: decimal
/// with optional fraction and exponent, and `inf`/`infinity`/`nan` in any
/// case with an optional sign. Go's hex floats and `_` separators are not
/// accepted; shroud never writes them, and neither does SOPS.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        return s.to_ascii_lowercase().parse().ok();
    }
    // Digits, one optional '.', optional exponent: reject anything Rust would
    // accept that Go would not, and vice versa.
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    // Go returns an error (and SOPS fails) for values out of range.
    f.is_finite().then_some(f)
}

/// Read a decrypted plaintext of type `ty` the way SOPS does.
pub fn parse_plaintext(ty: ValueType, text: &str) -> Result<Value, String> {
    match ty {
        ValueType::Str => Ok(Value::str(text)),
        ValueType::Int => go_parse_int(text)
            .map(Value::Int)
            .ok_or_else(|| "the plaintext of a type:int value is not an integer".into()),
        ValueType::Float => go_parse_float(text)
            .map(Value::Float)
            .ok_or_else(|| "the plaintext of a type:float value is not a number".into()),
        ValueType::Bool => go_parse_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| "the plaintext of a type:bool value is not a boolean".into()),
        ValueType::Time => Timestamp::parse_rfc3339(text)
            .map(|t| Value::Time(Zeroizing::new(t.to_rfc3339_nano())))
            .ok_or_else(|| "the plaintext of a type:time value is not an RFC 3339 time".into()),
        ValueType::Comment => Err("a comment is not a value".into()),
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

/// The plaintext to encrypt for `value`, whose token in the source was
/// `source` (for non-strings). See the module documentation.
pub fn plaintext_for(value: &Value, source: Option<&str>) -> Zeroizing<String> {
    Zeroizing::new(plaintext_text(value, source).to_string())
}

/// A calendar time with an optional UTC offset, enough to read YAML and
/// RFC 3339 timestamps and print them as Go does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
    /// Offset east of UTC in seconds; 0 prints as `Z`.
    pub offset_seconds: i32,
}

impl Timestamp {
    /// Build a timestamp, checking that every field is in range.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
        offset_seconds: i32,
    ) -> Option<Timestamp> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        let ok = (0..=9999).contains(&year)
            && (1..=days_in_month).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
            && nanos < 1_000_000_000
            && offset_seconds.abs() < 24 * 3600;
        ok.then_some(Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        })
    }

    /// Go's strict RFC 3339 parser (`time.Time.UnmarshalText`):
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if part.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(part).ok()?.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        let mut nanos = 0u32;
        if b[i] == b'.' {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            if digits == 0 || digits > 9 {
                return None;
            }
            nanos = num(start..i)? * 10u32.pow(9 - digits as u32);
        }
        let offset = match &b[i..] {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let hh = num(i + 1..i + 3)?;
                let mm = num(i + 4..i + 6)?;
                let _ = (h1, h2, m1, m2);
                if hh > 23 || mm > 59 {
                    return None;
                }
                let secs = (hh * 3600 + mm * 60) as i32;
                if *sign == b'-' { -secs } else { secs }
            }
            _ => return None,
        };
        Timestamp::new(year, month, day, hour, minute, second, nanos, offset)
    }

    fn write(&self, f: &mut impl fmt::Write, with_fraction: bool) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if with_fraction && self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if self.offset_seconds == 0 {
            f.write_char('Z')
        } else {
            let sign = if self.offset_seconds < 0 { '-' } else { '+' };
            let abs = self.offset_seconds.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
        }
    }

    /// Go `time.RFC3339Nano` (what SOPS hashes and encrypts for a time).
    pub fn to_rfc3339_nano(&self) -> String {
        let mut s = String::new();
        let _ = self.write(&mut s, true);
        s
    }

    /// Go `time.RFC3339` (no fraction): the form of `lastmodified`.
    pub fn to_rfc3339(&self) -> String {
        let mut s = String::new();
        let _ = self.write(&mut s, false);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_the_spec_examples() {
        // Examples from the spec, section 2.2 (checked against Go).
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(1e10), "10000000000");
        assert_eq!(go_float(6.02e23), "602000000000000000000000");
        assert_eq!(go_float(1e-7), "0.0000001");
        assert_eq!(go_float(2.5), "2.5");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_float(f64::NAN), "NaN");
    }

    #[test]
    fn canonical_bools_are_title_case() {
        assert_eq!(*canonical(&Value::Bool(true)), "True");
        assert_eq!(*canonical(&Value::Bool(false)), "False");
    }

    #[test]
    fn source_text_is_kept_only_when_go_reads_it_the_same() {
        assert_eq!(*plaintext_for(&Value::Float(1.5), Some("1.50")), "1.50");
        assert_eq!(*plaintext_for(&Value::Bool(true), Some("true")), "true");
        assert_eq!(*plaintext_for(&Value::Int(12), Some("+12")), "+12");
        // YAML reads 0x1F as 31 and 017 as 15; Go's Atoi does not.
        assert_eq!(*plaintext_for(&Value::Int(31), Some("0x1F")), "31");
        assert_eq!(*plaintext_for(&Value::Int(15), Some("017")), "15");
        assert_eq!(
            *plaintext_for(&Value::Float(f64::INFINITY), Some(".inf")),
            "+Inf"
        );
        // A big JSON integer is a float to SOPS, but its digits survive.
        let big = "12345678901234567890";
        assert_eq!(
            *plaintext_for(&Value::Float(big.parse().unwrap()), Some(big)),
            big
        );
        assert_eq!(
            *canonical(&Value::Float(big.parse().unwrap())),
            "12345678901234567000"
        );
    }

    #[test]
    fn go_parsers_reject_what_go_rejects() {
        assert_eq!(go_parse_int("1_000"), None);
        assert_eq!(go_parse_int("+5"), Some(5));
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(go_parse_float("."), None);
        assert_eq!(go_parse_float("1."), Some(1.0));
        assert_eq!(go_parse_float(".5"), Some(0.5));
        assert_eq!(go_parse_float("0x10"), None);
        assert_eq!(go_parse_bool("yes"), None);
    }

    #[test]
    fn rfc3339_round_trips_like_go() {
        let t = Timestamp::parse_rfc3339("2001-12-14T21:59:43.10-05:00").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2001-12-14T21:59:43.1-05:00");
        let t = Timestamp::parse_rfc3339("2024-01-01T00:00:00+00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-22T17:00:13.999Z")
                .unwrap()
                .to_rfc3339(),
            "2026-11-22T17:00:13Z"
        );
        assert!(Timestamp::parse_rfc3339("2024-02-30T00:00:00Z").is_none());
        assert!(Timestamp::parse_rfc3339("2024-01-01").is_none());
    }
}
