//! TOML: toml_parser's event stream gives a byte span for every value
//! ([`fast`]; toml_edit reads what it declines and gives the error
//! messages, [`parse`]), and output is the original text with spans
//! spliced, so keys, tables, comments, blank lines and spacing stay as they
//! were.
//!
//! SOPS has no TOML store, so the layout is shroud's own (docs/format.md):
//!
//! - An encrypted value is a TOML string holding the `ENC[...]` text, spelt
//!   so that decryption knows how to write the plaintext back:
//!
//!   | original token                         | encrypted spelling      |
//!   |----------------------------------------|-------------------------|
//!   | `"basic"`; integer, float, boolean,    | `"ENC[…]"`              |
//!   | offset date-time (`type:` says which)  |                         |
//!   | `'literal'`                            | `'ENC[…]'`              |
//!   | `"""`⏎`multi-line"""`                  | `"""`⏎`ENC[…]"""`       |
//!   | `"""multi-line"""` (no line break)     | `"""ENC[…]"""`          |
//!   | `'''`⏎`multi-line'''`                  | `'''`⏎`ENC[…]'''`       |
//!   | `'''multi-line'''` (no line break)     | `'''ENC[…]'''`          |
//!   | local date, time, date-time            | `"""\`⏎`ENC[…]"""`      |
//!
//!   The last one (a line-ending backslash right after the opening quotes)
//!   is a spelling no other kind gets, and its value is still exactly the
//!   `ENC[...]` text. Local dates and times have no SOPS type: they are
//!   encrypted as the `type:str` of their token and written back bare.
//! - Comments are encrypted in place: `#ENC[…,type:comment]`.
//! - The metadata is a `[sops]` table written last (see [`meta`]).
//!
//! What normalises: a decrypted string is re-escaped minimally (`\u00e9`
//! comes back as `é`, line-ending backslashes in `"""` strings are gone); a
//! literal string whose text cannot be literal comes back basic; integers in
//! hex, octal or binary or with `_`, and floats with `_`, come back in
//! decimal (SOPS's plaintext for a number is decimal); offset date-times Go
//! does not read as RFC 3339 (a space for `T`, lowercase `z`) are kept byte
//! for byte because they are treated like local ones.

mod fast;
mod meta;
mod parse;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::document::{
    Decrypted, Document, Leaf, LeafKind, MetaNode, Plan, Rendered, Replacement, Span, Value,
};
use crate::error::{FormatError, display_path};
use crate::formats::splice::{Edit, Spliced};
use crate::value::{Timestamp, go_float};

pub struct TomlDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
    sops_start: Option<Result<usize, String>>,
    /// The line break the file uses, for the metadata block.
    nl: &'static str,
}

impl<'a> TomlDocument<'a> {
    pub fn parse(src: &'a str) -> Result<TomlDocument<'a>, FormatError> {
        let p = parse::parse(src)?;
        let nl = match src.find('\n') {
            Some(i) if src[..i].ends_with('\r') => "\r\n",
            _ => "\n",
        };
        Ok(TomlDocument {
            src,
            leaves: p.leaves,
            metadata: p.metadata,
            sops_start: p.sops_start,
            nl,
        })
    }

    /// The bytes the metadata block occupies: from the line break before
    /// its first header (the one [`meta::block`]'s insertion adds) to the
    /// end of the file.
    fn sops_removal(&self) -> Result<Option<Span>, FormatError> {
        match &self.sops_start {
            None => Ok(None),
            Some(Err(why)) => Err(FormatError::Unsupported {
                location: crate::error::Location { line: 1, column: 1 },
                message: why.clone(),
                code: crate::error::exit::COULD_NOT_READ_INPUT,
            }),
            Some(Ok(start)) => {
                let before = &self.src[..*start];
                let cut = if before.ends_with("\r\n") {
                    2
                } else {
                    usize::from(before.ends_with('\n'))
                };
                Ok(Some(start - cut..self.src.len()))
            }
        }
    }
}

/// How a string token is spelt (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Basic,
    Literal,
    /// `"""`, with the line break after the opening quotes, if any.
    MlBasic(Option<&'static str>),
    MlLiteral(Option<&'static str>),
    /// A token that is not a string (a local date or time).
    Bare,
}

fn leading_nl(s: &str) -> Option<&'static str> {
    if s.starts_with("\r\n") {
        Some("\r\n")
    } else if s.starts_with('\n') {
        Some("\n")
    } else {
        None
    }
}

/// The style of a string token of the plaintext.
fn plain_style(token: &str) -> Style {
    if let Some(rest) = token.strip_prefix("\"\"\"") {
        // `"""\⏎…` (line continuation first) has no line break in its value.
        Style::MlBasic(leading_nl(rest))
    } else if let Some(rest) = token.strip_prefix("'''") {
        Style::MlLiteral(leading_nl(rest))
    } else if token.starts_with('"') {
        Style::Basic
    } else if token.starts_with('\'') {
        Style::Literal
    } else {
        Style::Bare
    }
}

/// The style an `ENC[...]` token of an encrypted file records.
fn enc_style(token: &str) -> Style {
    if let Some(rest) = token.strip_prefix("\"\"\"\\")
        && leading_nl(rest.trim_start_matches([' ', '\t'])).is_some()
    {
        return Style::Bare;
    }
    plain_style(token)
}

/// A replacement token in three parts: the long middle (an `ENC[...]` text
/// or a plaintext) goes into the output borrowed from the engine's
/// replacements whenever it needs no escaping. Copying every value into a new token string
/// was 14 MB of allocation on a 100,000-value file, and checking it a
/// `char` at a time an eighth of an encrypt's CPU time.
struct Token<'e> {
    pre: &'static str,
    body: Cow<'e, str>,
    post: &'static str,
}

impl<'e> Token<'e> {
    fn bare(body: impl Into<Cow<'e, str>>) -> Token<'e> {
        Token {
            pre: "",
            body: body.into(),
            post: "",
        }
    }

    fn quoted(pre: &'static str, body: Cow<'e, str>, post: &'static str) -> Token<'e> {
        Token { pre, body, post }
    }

    /// The token as one piece: the body itself when nothing surrounds it
    /// (an `ENC[...]` value or plaintext borrowed, not copied).
    fn into_cow(self) -> Cow<'e, str> {
        if self.pre.is_empty() && self.post.is_empty() {
            self.body
        } else {
            Cow::Owned(self.into_string())
        }
    }

    fn into_string(self) -> String {
        let mut s = String::with_capacity(self.pre.len() + self.body.len() + self.post.len());
        s.push_str(self.pre);
        s.push_str(&self.body);
        s.push_str(self.post);
        s
    }
}

/// `"""` or `'''` and the line break that follows it, if any.
fn ml_open(quote: u8, lead: Option<&str>) -> &'static str {
    match (quote, lead) {
        (b'"', None) => "\"\"\"",
        (b'"', Some("\r\n")) => "\"\"\"\r\n",
        (b'"', Some(_)) => "\"\"\"\n",
        (_, None) => "'''",
        (_, Some("\r\n")) => "'''\r\n",
        (_, Some(_)) => "'''\n",
    }
}

/// The encrypted spelling of `enc` for a leaf of style `style`.
fn enc_token<'e>(style: Style, enc: &'e str, nl: &str) -> Result<Token<'e>, FormatError> {
    // An ENC value is base64 and punctuation; anything that would need
    // escaping means it is not one. For ASCII text (every real ENC value)
    // a byte fold without early exit, which vectorises; past ASCII a C1
    // control also counts, so `chars()`.
    let bad = if enc.is_ascii() {
        enc.bytes().fold(false, |bad, b| {
            bad | matches!(b, b'"' | b'\'' | b'\\' | 0x7f) | (b < 0x20)
        })
    } else {
        enc.chars()
            .any(|c| matches!(c, '"' | '\'' | '\\') || c.is_control())
    };
    if bad {
        return Err(FormatError::SpanCheck(
            "an encrypted value with characters an ENC value never has".into(),
        ));
    }
    let (pre, post) = match style {
        Style::Basic => ("\"", "\""),
        Style::Literal => ("'", "'"),
        Style::MlBasic(lead) => (ml_open(b'"', lead), "\"\"\""),
        Style::MlLiteral(lead) => (ml_open(b'\'', lead), "'''"),
        Style::Bare if nl == "\r\n" => ("\"\"\"\\\r\n", "\"\"\""),
        Style::Bare => ("\"\"\"\\\n", "\"\"\""),
    };
    Ok(Token::quoted(pre, Cow::Borrowed(enc), post))
}

/// Whether `s` can be the body of a basic string (`multi`: a multi-line
/// one) as it is. Only ASCII is ever escaped (C1 controls are written raw),
/// so this is a byte fold, which vectorises.
fn basic_verbatim(s: &str, multi: bool) -> bool {
    let bad = if multi {
        s.bytes().fold(false, |bad, b| {
            bad | matches!(b, b'"' | b'\\' | b'\r' | 0x7f) | (b < 0x20 && b != b'\n' && b != b'\t')
        })
    } else {
        s.bytes().fold(false, |bad, b| {
            bad | matches!(b, b'"' | b'\\' | 0x7f) | (b < 0x20)
        })
    };
    !bad
}

/// A basic string with minimal escaping. In a multi-line string line breaks
/// (and tabs) stay as they are, and `"` is escaped only where a third one
/// in a row would make a delimiter (two may even touch the closing quotes).
/// Borrowed when nothing needs escaping, as for most values.
fn basic_body(s: &str, multi: bool) -> Cow<'_, str> {
    if basic_verbatim(s, multi) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(basic_escaped(s, multi))
    }
}

/// [`basic_body`]'s escaping, done a `char` at a time.
fn basic_escaped(s: &str, multi: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let bytes = s.as_bytes();
    let mut quotes = 0;
    for (i, c) in s.char_indices() {
        if c != '"' {
            quotes = 0;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if !multi => out.push_str("\\\""),
            '"' if quotes == 2 => {
                out.push_str("\\\"");
                quotes = 0;
            }
            '"' => {
                out.push('"');
                quotes += 1;
            }
            '\n' if multi => out.push('\n'),
            '\r' if multi && bytes.get(i + 1) == Some(&b'\n') => out.push('\r'),
            // A tab may be raw in both kinds; single-line strings usually
            // spell it `\t`, multi-line ones as it is.
            '\t' if multi => out.push('\t'),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn basic_token(s: &str) -> Token<'_> {
    Token::quoted("\"", basic_body(s, false), "\"")
}

fn basic_string(s: &str) -> String {
    basic_token(s).into_string()
}

fn ml_basic_token<'e>(s: &'e str, lead: Option<&str>) -> Token<'e> {
    let body = basic_body(s, true);
    if lead.is_some() {
        return Token::quoted(ml_open(b'"', lead), body, "\"\"\"");
    }
    // Without the line break after the quotes, a value that starts with one
    // must escape it (a raw one would be trimmed).
    let body = if let Some(rest) = body.strip_prefix('\n') {
        Cow::Owned(format!("\\n{rest}"))
    } else if let Some(rest) = body.strip_prefix("\r\n") {
        Cow::Owned(format!("\\r\\n{rest}"))
    } else {
        body
    };
    Token::quoted("\"\"\"", body, "\"\"\"")
}

/// Characters a literal string cannot hold (no escapes there).
fn literal_ok(s: &str, multi: bool) -> bool {
    // Most strings hold no ASCII control and no quote: one vectorised fold.
    if !s.bytes().fold(false, |odd, b| {
        odd | (b < 0x20) | (b == 0x7f) | (b == b'\'')
    }) {
        return true;
    }
    let bytes = s.as_bytes();
    s.char_indices().all(|(i, c)| match c {
        '\t' => true,
        '\n' => multi,
        '\r' => multi && bytes.get(i + 1) == Some(&b'\n'),
        '\'' => multi,
        // Only C0 controls and DEL are barred; C1 controls are non-ASCII.
        c => !(c.is_control() && (c as u32) < 0x80),
        // Up to two quotes may touch the closing delimiter.
    }) && (!multi || !s.contains("'''"))
}

/// The TOML token for a decrypted string in the style its ENC recorded.
fn string_token(s: &str, style: Style) -> Token<'_> {
    match style {
        Style::Basic | Style::Bare => basic_token(s),
        Style::Literal if literal_ok(s, false) => Token::quoted("'", Cow::Borrowed(s), "'"),
        Style::Literal => basic_token(s),
        Style::MlBasic(lead) => ml_basic_token(s, lead),
        Style::MlLiteral(lead) if literal_ok(s, true) => {
            // A raw line break first would be trimmed: keep one in front.
            let lead = lead.or_else(|| leading_nl(s).map(|_| "\n"));
            Token::quoted(ml_open(b'\'', lead), Cow::Borrowed(s), "'''")
        }
        Style::MlLiteral(lead) => ml_basic_token(s, lead),
    }
}

/// TOML's decimal integer: `[+-]?(0|[1-9](_?[0-9])*)`; returns its value.
fn toml_dec_int(t: &str) -> Option<i64> {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !underscored_digits(digits) || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    without_underscores(t).parse().ok()
}

/// `t` without its `_` digit separators, copied only if it has any.
fn without_underscores(t: &str) -> Cow<'_, str> {
    if t.contains('_') {
        Cow::Owned(t.replace('_', ""))
    } else {
        Cow::Borrowed(t)
    }
}

/// ASCII digits, each `_` between two digits.
fn underscored_digits(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
}

/// TOML's float grammar; returns its value.
fn toml_float(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body == "inf" || body == "nan" {
        return t.parse().ok();
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mant.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mant, None),
    };
    let ok = underscored_digits(int)
        && (int.len() == 1 || !int.starts_with('0'))
        && frac.is_none_or(underscored_digits)
        && exp.is_none_or(|e| underscored_digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
        && (frac.is_some() || exp.is_some());
    if !ok {
        return None;
    }
    without_underscores(t).parse().ok()
}

/// The TOML token for a decrypted scalar: the plaintext `text` when it is a
/// valid TOML token for the same value (that is how `1.50` or `+12` come
/// back byte for byte), the canonical TOML form otherwise.
fn scalar_token<'e>(value: &'e Value, text: &'e str, style: Style) -> Token<'e> {
    match value {
        Value::Str(s) if style == Style::Bare => {
            // Only a TOML date/time token may be written bare: anything
            // else would inject text into the document.
            if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":.+- ".contains(&b))
                && s.parse::<toml_edit::Datetime>().is_ok()
            {
                Token::bare(s.as_str())
            } else {
                basic_token(s)
            }
        }
        Value::Str(s) => string_token(s, style),
        Value::Int(i) => match toml_dec_int(text) {
            Some(j) if j == *i => Token::bare(text),
            _ => Token::bare(i.to_string()),
        },
        Value::Float(f) => match toml_float(text) {
            Some(g) if g.to_bits() == f.to_bits() || (g.is_nan() && f.is_nan()) => {
                Token::bare(text)
            }
            _ if f.is_nan() => Token::bare("nan"),
            _ if f.is_infinite() => Token::bare(if *f > 0.0 { "inf" } else { "-inf" }),
            _ => {
                let s = go_float(*f);
                Token::bare(if s.contains('.') { s } else { format!("{s}.0") })
            }
        },
        Value::Bool(b) => Token::bare(if *b { "true" } else { "false" }),
        Value::Time(t) => {
            if Timestamp::parse_rfc3339(text).is_some() {
                Token::bare(text)
            } else {
                Token::bare(t.as_str())
            }
        }
    }
}

impl Document for TomlDocument<'_> {
    fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    fn metadata(&self) -> Option<&MetaNode> {
        self.metadata.as_ref()
    }

    fn render(
        &self,
        edits: &[Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Rendered, FormatError> {
        Ok(self.plan(edits, metadata)?.into_rendered())
    }

    fn plan<'s>(
        &'s self,
        edits: &'s [Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Plan<'s>, FormatError> {
        crate::document::check_edit_count(edits, &self.leaves)?;
        // About one edit per leaf, sized once (see yaml/render.rs).
        let mut out = Vec::with_capacity(self.leaves.len() + 2);
        let mut warnings = Vec::new();
        for (leaf, edit) in self.leaves.iter().zip(edits) {
            if matches!(edit, Replacement::Keep) {
                continue;
            }
            let Some(span) = leaf.span.clone() else {
                return Err(FormatError::SpanCheck("a TOML leaf without a span".into()));
            };
            let token = self
                .src
                .get(span.clone())
                .ok_or_else(|| FormatError::SpanCheck(format!("span {span:?} out of bounds")))?;
            let text = match (&leaf.kind, edit) {
                (_, Replacement::Keep) => continue,
                (LeafKind::Structure(_), _) => {
                    return Err(FormatError::SpanCheck(
                        "an empty table or array cannot be replaced".into(),
                    ));
                }
                (LeafKind::Comment(_), Replacement::Encrypted(enc)) => {
                    comment_check(self.src, &span)?;
                    // Checked as a basic string's body, written bare.
                    Token::bare(enc_token(Style::Basic, enc, self.nl)?.body)
                }
                (LeafKind::Comment(_), Replacement::Decrypted(Decrypted::Comment(c))) => {
                    comment_check(self.src, &span)?;
                    // TOML forbids the C0 controls (but tab) and DEL in comments;
                    // C1 controls (U+0080..U+009F) are allowed, as in the input.
                    if c.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                        return Err(FormatError::CannotRepresent {
                            path: display_path(&leaf.path()),
                            format: "toml",
                            reason: "a comment cannot hold a line break or control character"
                                .into(),
                        });
                    }
                    Token::bare(c.as_str())
                }
                (LeafKind::Scalar { value, .. }, Replacement::Encrypted(enc)) => {
                    let style = match value {
                        Value::Str(_) => plain_style(token),
                        // The `type:` of the ENC says how to write it back.
                        _ => Style::Basic,
                    };
                    enc_token(style, enc, self.nl)?
                }
                (LeafKind::Scalar { value, .. }, Replacement::Decrypted(d)) => {
                    if !matches!(value, Value::Str(_)) || !token.starts_with(['"', '\'']) {
                        return Err(FormatError::SpanCheck(format!(
                            "span {span:?} does not hold an encrypted string"
                        )));
                    }
                    let style = enc_style(token);
                    match d {
                        Decrypted::Scalar { value, text } => {
                            if style == Style::Bare
                                && matches!(value, Value::Str(s) if s.parse::<toml_edit::Datetime>().is_err())
                            {
                                warnings.push(format!(
                                    "the value at {} was a date or time but decrypted to a string; it is written as a string",
                                    display_path(&leaf.path())
                                ));
                            }
                            scalar_token(value, text, style)
                        }
                        Decrypted::Comment(_) => {
                            return Err(FormatError::CannotRepresent {
                                path: display_path(&leaf.path()),
                                format: "toml",
                                reason: "a value decrypted to a comment".into(),
                            });
                        }
                    }
                }
                (LeafKind::Comment(_), Replacement::Decrypted(Decrypted::Scalar { .. })) => {
                    return Err(FormatError::CannotRepresent {
                        path: display_path(&leaf.path()),
                        format: "toml",
                        reason: "a comment decrypted to a value".into(),
                    });
                }
            };
            out.push(Edit::new(span, text.into_cow()));
        }
        let removal = self.sops_removal()?;
        let end = removal.as_ref().map_or(self.src.len(), |r| r.start);
        if let Some(m) = metadata {
            let mut block = String::from(self.nl);
            meta::block(&mut block, m, self.nl)?;
            out.push(Edit::new(end..self.src.len(), block));
        } else if let Some(r) = removal {
            out.push(Edit::new(r, ""));
        }
        Ok(Plan::spliced(Spliced::new(self.src, out)?, warnings))
    }
}

/// A comment span must follow its `#`.
fn comment_check(src: &str, span: &Span) -> Result<(), FormatError> {
    if span.start == 0 || src.as_bytes().get(span.start - 1) != Some(&b'#') {
        return Err(FormatError::SpanCheck(format!(
            "span {span:?} does not follow a comment marker"
        )));
    }
    Ok(())
}
