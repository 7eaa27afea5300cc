//! Plain-scalar typing the way go-yaml v3 (the YAML library SOPS uses) does
//! it, and the reverse question: may a string be written as a plain scalar
//! and still read back as the same value?

use crate::document::Value;
use crate::value::Timestamp;

/// What a plain (unquoted, untagged) scalar means to go-yaml v3.
#[derive(Debug, PartialEq)]
pub enum Resolved {
    Null,
    Value(Value),
    /// An integer in (i64::MAX, u64::MAX]: go-yaml gives a Go `uint64`,
    /// which SOPS cannot walk (it exits 23).
    Uint64,
}

impl Resolved {
    fn str(s: &str) -> Resolved {
        Resolved::Value(Value::str(s))
    }
}

/// Resolve a plain scalar's text.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Value(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Resolved::Value(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Value(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Value(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Value(Value::Float(f64::NAN)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    // go-yaml only tries numbers and timestamps for text starting with a
    // sign, a digit or a dot.
    if !(first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.') {
        return Resolved::str(s);
    }
    if let Some(t) = parse_timestamp(s) {
        return Resolved::Value(Value::Time(zeroize::Zeroizing::new(t.to_rfc3339_nano())));
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(v) = go_parse_int_base0(&plain) {
        return match i64::try_from(v) {
            Ok(i) => Resolved::Value(Value::Int(i)),
            Err(_) if v >= 0 && v <= u64::MAX as i128 => Resolved::Uint64,
            Err(_) => Resolved::str(s),
        };
    }
    if yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        // Go's ParseFloat fails on overflow, and go-yaml then keeps the
        // text as a string.
        if f.is_finite() {
            return Resolved::Value(Value::Float(f));
        }
    }
    Resolved::str(s)
}

/// Go `strconv.ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)` combined: the
/// result in i128 so the caller can tell the two ranges apart. `None` when
/// Go rejects the text or it is outside both ranges.
fn go_parse_int_base0(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        // ParseUint rejects a sign; ParseInt allows down to i64::MIN.
        (mag <= 1u128 << 63).then(|| -(mag as i128))
    } else {
        (mag <= u64::MAX as u128).then_some(mag as i128)
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml v3 `parseTimestamp`: the layouts `2006-1-2T15:4:5.999999999Z07:00`
/// (also with a lower-case `t`), `2006-1-2 15:4:5.999999999` (no zone, UTC)
/// and `2006-1-2`, parsed with Go's `time.Parse` leniency (one- or two-digit
/// month, day, hour, minute and second).
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut i = 5;
    // One or two digits, like Go's getnum(value, false).
    let num12 = |i: &mut usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && *i - start < 2 && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
    };
    let year: i32 = s[..4].parse().ok()?;
    let month = num12(&mut i)?;
    if b.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let day = num12(&mut i)?;
    if i == b.len() {
        return Timestamp::new(year, month, day, 0, 0, 0, 0, 0);
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    i += 1;
    let hour = num12(&mut i)?;
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let minute = num12(&mut i)?;
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let second = num12(&mut i)?;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // Go keeps nanosecond precision and drops further digits.
        let frac = &s[start..i];
        let mut padded: String = frac.chars().take(9).collect();
        while padded.len() < 9 {
            padded.push('0');
        }
        nanos = padded.parse().ok()?;
    }
    let offset = if !zoned {
        if i != b.len() {
            return None;
        }
        0
    } else {
        match &b[i..] {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
            {
                let hh = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
                let mm = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
                if hh > 23 || mm > 59 {
                    return None;
                }
                let secs = (hh * 3600 + mm * 60) as i32;
                if *sign == b'-' { -secs } else { secs }
            }
            _ => return None,
        }
    };
    Timestamp::new(year, month, day, hour, minute, second, nanos, offset)
}

/// Whether `s` can be written as a plain scalar in this context without
/// changing its meaning *as text* (the caller still checks how it resolves).
/// Deliberately conservative: when unsure, the caller quotes.
pub fn plain_text_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let last = s.chars().next_back().unwrap_or(first);
    if first == ' ' || first == '\t' || last == ' ' || last == '\t' {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    for c in s.chars() {
        let printable = matches!(c, ' '..='~') || (c >= '\u{a0}' && c != '\u{feff}');
        if !printable {
            return false;
        }
        if flow && matches!(c, ',' | '[' | ']' | '{' | '}') {
            return false;
        }
    }
    let mut chars = s.chars();
    let c0 = chars.next().unwrap_or(' ');
    let c1 = chars.next();
    match c0 {
        '[' | ']' | '{' | '}' | ',' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => return false,
        // `-`, `?` and `:` start a plain scalar only when a "safe" character
        // follows.
        '-' | '?' | ':' => match c1 {
            None | Some(' ' | '\t') => return false,
            Some(',' | '[' | ']' | '{' | '}') if flow => return false,
            _ => {}
        },
        _ => {}
    }
    if s.ends_with(':') || s.contains(": ") || s.contains(":\t") || s.contains(" #") {
        return false;
    }
    if s.contains("\t#") || (flow && s.contains(':')) {
        return false;
    }
    true
}
