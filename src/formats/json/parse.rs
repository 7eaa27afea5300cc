//! A strict RFC 8259 scanner that records the byte span of every value.
//!
//! It is hand-written rather than built on serde_json because the model
//! needs exact spans for every token, duplicate keys kept in order, and
//! errors with a position but without the offending text. It is
//! iterative (an explicit stack, no recursion) for data, so a deeply nested
//! input cannot overflow the thread's stack; only the `sops` metadata block
//! is read recursively, with a small depth limit.

use std::borrow::Cow;

use crate::document::{Leaf, LeafKind, MetaNode, Shape, Span, Value};
use crate::error::{FormatError, Location, exit};
use crate::treepath::PathSeg;

/// Deeper metadata than this is not something SOPS ever writes.
const MAX_META_DEPTH: usize = 32;

/// The top-level `"sops"` member, as found by the parser.
#[derive(Clone, Debug)]
pub(super) struct SopsMember {
    pub key_start: usize,
    pub value_end: usize,
    /// End of the value of the member before it, if any.
    pub prev_end: Option<usize>,
    /// Start of the key of the member after it, if any.
    pub next_key_start: Option<usize>,
}

/// Layout facts about the root object, used to place and format metadata.
#[derive(Clone, Debug, Default)]
pub(super) struct Layout {
    /// Offset of the root `{`.
    pub open: usize,
    /// Whitespace right after the root `{`.
    pub pad: Span,
    /// Value end of the last top-level member that is not `"sops"`.
    pub last_data_end: Option<usize>,
    /// Whitespace before that member's key, and whether it follows a comma
    /// (rather than the opening brace).
    pub sep: Span,
    pub sep_after_comma: bool,
    /// The text between that member's key and its value (`": "`).
    pub colon: Span,
    /// `\r\n` if the first line break of the file is CRLF.
    pub crlf: bool,
}

pub(super) struct Parsed {
    pub leaves: Vec<Leaf>,
    pub metadata: Option<MetaNode>,
    pub sops: Option<SopsMember>,
    pub layout: Layout,
    /// The text of the collection at [`Parser::want`], if asked and found.
    pub found: Option<Span>,
}

/// Which part of the root object a text holds: the whole document, or a
/// piece of it cut by [`super::segment`] right after a member value. The
/// piece that opens the object starts the file; every other piece starts
/// with the comma before its first member; only the last one closes it.
#[derive(Clone, Copy, Debug)]
pub struct Piece<'p> {
    pub opens: bool,
    pub closes: bool,
    /// Whether the file's first line break is CRLF, and the whitespace
    /// right after the root `{`: layout facts of the whole file that the
    /// metadata is written with, which a piece may not hold.
    pub crlf: bool,
    pub pad: &'p str,
}

impl Piece<'_> {
    pub const WHOLE: Piece<'static> = Piece {
        opens: true,
        closes: true,
        crlf: false,
        pad: "",
    };
}

pub(super) struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    leaves: Vec<Leaf>,
    /// Keys from the root to the current value, borrowed from the source
    /// unless escaped: a member costs no allocation until a leaf needs it.
    path: Vec<Cow<'a, str>>,
    /// Keys and list indices from the root, kept beside `path`.
    loc: Vec<PathSeg>,
    /// A collection whose text is wanted (`--extract`), where it opened,
    /// and its span once closed.
    pub want: Option<Vec<PathSeg>>,
    want_start: Option<usize>,
    found: Option<Span>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// What a scanned number token means.
pub(super) enum Number {
    Int(i64),
    Float(f64),
}

/// Check that `tok` is exactly one JSON number token; `Err` holds the byte
/// offset (within `tok`) and a message.
pub(super) fn scan_number(tok: &[u8]) -> Result<usize, (usize, &'static str)> {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while tok.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if tok.get(i) == Some(&b'-') {
        i += 1;
    }
    match tok.get(i) {
        Some(b'0') => {
            i += 1;
            if tok.get(i).is_some_and(u8::is_ascii_digit) {
                return Err((i, "invalid number: leading zeros are not allowed"));
            }
        }
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return Err((i, "invalid number: expected a digit")),
    }
    if tok.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return Err((i, "invalid number: expected a digit after '.'"));
        }
    }
    if matches!(tok.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(tok.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Err((i, "invalid number: expected a digit in the exponent"));
        }
    }
    Ok(i)
}

/// The value of a valid number token, the way SOPS 3.13.2 reads it: an
/// integer literal in i64 range is an int, anything else a float64.
pub(super) fn number_value(tok: &str) -> Option<Number> {
    if !tok.bytes().any(|c| matches!(c, b'.' | b'e' | b'E'))
        && let Ok(i) = tok.parse::<i64>()
    {
        return Some(Number::Int(i));
    }
    // Rust's parser rounds correctly, like Go's; it yields infinity where Go
    // reports a range error.
    let f: f64 = tok.parse().ok()?;
    f.is_finite().then_some(Number::Float(f))
}

/// Whether `text` is one complete, valid JSON number token.
pub(super) fn is_json_number(text: &str) -> bool {
    scan_number(text.as_bytes()) == Ok(text.len())
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            leaves: Vec::new(),
            path: Vec::new(),
            loc: Vec::new(),
            want: None,
            want_start: None,
            found: None,
        }
    }

    fn is_wanted(&self) -> bool {
        self.want.as_deref() == Some(&self.loc[..])
    }

    /// A collection opened at `start` with the current location.
    fn opened(&mut self, start: usize) {
        if self.want_start.is_none() && self.is_wanted() {
            self.want_start = Some(start);
        }
    }

    /// The collection at the current location closed at `pos`.
    fn closed(&mut self) {
        if self.found.is_none()
            && self.is_wanted()
            && let Some(start) = self.want_start
        {
            self.found = Some(start..self.pos);
        }
    }

    fn err(&self, at: usize, message: &str) -> FormatError {
        FormatError::syntax(self.src, at, message)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// Skip whitespace and return the span skipped.
    fn ws(&mut self) -> Span {
        let start = self.pos;
        self.skip_ws();
        start..self.pos
    }

    /// Read the string token at `pos` (which holds `"`) and return its
    /// decoded text. Borrowed when there is no escape, the common case.
    fn string(&mut self) -> Result<Cow<'a, str>, FormatError> {
        let open = self.pos;
        let mut i = open + 1;
        // Fast path: find the end; stop at the first escape.
        while let Some(&c) = self.b.get(i) {
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.src[open + 1..i]));
                }
                b'\\' => break,
                0x00..=0x1f => {
                    return Err(self.err(i, "control character in a string (it must be escaped)"));
                }
                _ => i += 1,
            }
        }
        let mut out = String::with_capacity(i - open + 16);
        let mut run = open + 1;
        loop {
            let Some(&c) = self.b.get(i) else {
                return Err(self.err(open, "unterminated string"));
            };
            match c {
                b'"' => {
                    out.push_str(&self.src[run..i]);
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(&self.src[run..i]);
                    let esc = self.b.get(i + 1).copied();
                    let simple = match esc {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => None,
                        None => return Err(self.err(open, "unterminated string")),
                        Some(_) => return Err(self.err(i, "invalid escape sequence in a string")),
                    };
                    if let Some(ch) = simple {
                        out.push(ch);
                        i += 2;
                    } else {
                        let (ch, len) = self.unicode_escape(i)?;
                        out.push(ch);
                        i += len;
                    }
                    run = i;
                }
                0x00..=0x1f => {
                    return Err(self.err(i, "control character in a string (it must be escaped)"));
                }
                _ => i += 1,
            }
        }
    }

    /// Decode `\uXXXX` (or a surrogate pair of them) at `at`. Like Go's
    /// decoder, an unpaired surrogate becomes U+FFFD rather than an error.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize), FormatError> {
        let hex4 = |p: usize| -> Option<u32> {
            let h = self.b.get(p..p + 4)?;
            let s = std::str::from_utf8(h).ok()?;
            if !h.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(s, 16).ok()
        };
        let Some(hi) = hex4(at + 2) else {
            return Err(self.err(
                at,
                "invalid \\u escape in a string (expected four hex digits)",
            ));
        };
        if (0xD800..0xDC00).contains(&hi)
            && self.b.get(at + 6..at + 8) == Some(b"\\u")
            && let Some(lo) = hex4(at + 8).filter(|lo| (0xDC00..0xE000).contains(lo))
        {
            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return Ok((char::from_u32(c).unwrap_or('\u{FFFD}'), 12));
        }
        Ok((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6))
    }

    fn number(&mut self) -> Result<(Number, Span), FormatError> {
        let start = self.pos;
        let len = scan_number(&self.b[start..]).map_err(|(at, msg)| self.err(start + at, msg))?;
        self.pos = start + len;
        let tok = &self.src[start..self.pos];
        let n = number_value(tok)
            .ok_or_else(|| self.err(start, "number out of range for a 64-bit float"))?;
        Ok((n, start..self.pos))
    }

    /// Read the literal `word` at `pos`.
    fn literal(&mut self, word: &str) -> Result<Span, FormatError> {
        let start = self.pos;
        if self.b.get(start..start + word.len()) != Some(word.as_bytes()) {
            return Err(self.err(start, "invalid literal (expected true, false or null)"));
        }
        self.pos += word.len();
        Ok(start..self.pos)
    }

    fn expect_colon(&mut self) -> Result<(), FormatError> {
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.err(self.pos, "expected ':' after an object key"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    /// Read an object key at `pos` (whitespace already skipped), the colon,
    /// and the whitespace up to the value.
    fn key(&mut self) -> Result<Cow<'a, str>, FormatError> {
        if self.peek() != Some(b'"') {
            return Err(self.err(self.pos, "expected a string key"));
        }
        let key = self.string()?;
        self.expect_colon()?;
        Ok(key)
    }

    fn push_leaf(&mut self, depth: usize, value: Value, source: Option<String>, span: Span) {
        self.push_kind(
            depth,
            LeafKind::Scalar {
                value,
                source: source.map(zeroize::Zeroizing::new),
            },
            span,
        );
    }

    fn push_kind(&mut self, depth: usize, kind: LeafKind, span: Span) {
        self.leaves
            .push(Leaf::new(self.loc.clone(), depth, kind, Some(span)));
    }

    /// Walk the value at `pos` (a member value of the root object, whose key
    /// is already on `path`), pushing a leaf for every scalar.
    fn data_value(&mut self) -> Result<(), FormatError> {
        // true = object, false = array; the root object is depth 1.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            let depth = 1 + stack.len();
            let start = self.pos;
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.push_kind(
                            depth,
                            LeafKind::Structure(Shape::EmptyMap),
                            start..self.pos,
                        );
                    } else {
                        self.opened(start);
                        stack.push(true);
                        let key = self.key()?;
                        self.loc.push(PathSeg::Key(key.to_string()));
                        self.path.push(key);
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.push_kind(
                            depth,
                            LeafKind::Structure(Shape::EmptyList),
                            start..self.pos,
                        );
                    } else {
                        self.opened(start);
                        stack.push(false);
                        self.loc.push(PathSeg::Index(0));
                        continue;
                    }
                }
                Some(b'"') => {
                    let s = self.string()?.into_owned();
                    self.push_leaf(depth, Value::str(s), None, start..self.pos);
                }
                Some(b'-' | b'0'..=b'9') => {
                    let (n, span) = self.number()?;
                    let value = match n {
                        Number::Int(i) => Value::Int(i),
                        Number::Float(f) => Value::Float(f),
                    };
                    let source = self.src[span.clone()].to_string();
                    self.push_leaf(depth, value, Some(source), span);
                }
                Some(b't') => {
                    let span = self.literal("true")?;
                    self.push_leaf(depth, Value::Bool(true), Some("true".into()), span);
                }
                Some(b'f') => {
                    let span = self.literal("false")?;
                    self.push_leaf(depth, Value::Bool(false), Some("false".into()), span);
                }
                Some(b'n') => {
                    let span = self.literal("null")?;
                    self.push_kind(depth, LeafKind::Structure(Shape::Null), span);
                }
                None => return Err(self.err(start, "unexpected end of input: expected a value")),
                Some(_) => return Err(self.err(start, "expected a value")),
            }
            // After a value: close every container that ends here.
            loop {
                let Some(&is_obj) = stack.last() else {
                    return Ok(());
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        let comma = self.pos;
                        self.pos += 1;
                        self.skip_ws();
                        if is_obj {
                            if self.peek() == Some(b'}') {
                                return Err(self.err(comma, "trailing comma in an object"));
                            }
                            self.path.pop();
                            let key = self.key()?;
                            if let Some(last) = self.loc.last_mut() {
                                *last = PathSeg::Key(key.to_string());
                            }
                            self.path.push(key);
                        } else if self.peek() == Some(b']') {
                            return Err(self.err(comma, "trailing comma in an array"));
                        } else if let Some(PathSeg::Index(i)) = self.loc.last_mut() {
                            *i += 1;
                        }
                        break;
                    }
                    Some(b'}') if is_obj => {
                        self.pos += 1;
                        stack.pop();
                        self.path.pop();
                        self.loc.pop();
                        self.closed();
                    }
                    Some(b']') if !is_obj => {
                        self.pos += 1;
                        stack.pop();
                        self.loc.pop();
                        self.closed();
                    }
                    None if is_obj => {
                        return Err(
                            self.err(self.pos, "unexpected end of input: expected ',' or '}'")
                        );
                    }
                    None => {
                        return Err(
                            self.err(self.pos, "unexpected end of input: expected ',' or ']'")
                        );
                    }
                    Some(_) if is_obj => {
                        return Err(
                            self.err(self.pos, "expected ',' or '}' after an object member")
                        );
                    }
                    Some(_) => {
                        return Err(
                            self.err(self.pos, "expected ',' or ']' after an array element")
                        );
                    }
                }
            }
        }
    }

    /// Read the metadata value at `pos` into a tree.
    fn meta_value(&mut self, depth: usize) -> Result<MetaNode, FormatError> {
        let start = self.pos;
        if depth > MAX_META_DEPTH {
            return Err(self.err(start, "the sops metadata is nested too deeply"));
        }
        Ok(match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                let mut entries = Vec::new();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(MetaNode::Map(entries));
                }
                loop {
                    let key = self.key()?.into_owned();
                    let value = self.meta_value(depth + 1)?;
                    entries.push((key, value));
                    if self.meta_next(b'}', "object")? {
                        return Ok(MetaNode::Map(entries));
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(MetaNode::List(items));
                }
                loop {
                    items.push(self.meta_value(depth + 1)?);
                    if self.meta_next(b']', "array")? {
                        return Ok(MetaNode::List(items));
                    }
                }
            }
            Some(b'"') => MetaNode::Str(self.string()?.into_owned()),
            Some(b'-' | b'0'..=b'9') => match self.number()?.0 {
                Number::Int(i) => MetaNode::Int(i),
                Number::Float(_) => {
                    return Err(FormatError::Unsupported {
                        location: Location::of(self.src, start),
                        message: "a number in the sops metadata is not an integer".into(),
                        code: exit::GENERIC,
                    });
                }
            },
            Some(b't') => {
                self.literal("true")?;
                MetaNode::Bool(true)
            }
            Some(b'f') => {
                self.literal("false")?;
                MetaNode::Bool(false)
            }
            Some(b'n') => {
                self.literal("null")?;
                MetaNode::Null
            }
            None => return Err(self.err(start, "unexpected end of input: expected a value")),
            Some(_) => return Err(self.err(start, "expected a value")),
        })
    }

    /// After a metadata member or item: `Ok(true)` at the closing bracket,
    /// `Ok(false)` after a comma (with the whitespace after it skipped).
    fn meta_next(&mut self, close: u8, what: &str) -> Result<bool, FormatError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                let comma = self.pos;
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    return Err(self.err(comma, &format!("trailing comma in an {what}")));
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            None => Err(self.err(self.pos, "unexpected end of input in the sops metadata")),
            Some(_) => Err(self.err(
                self.pos,
                &format!("expected ',' or '{}' in an {what}", close as char),
            )),
        }
    }

    /// Parse a run of members of the root object ([`Piece`]); the whole
    /// document is the piece that both opens and closes it
    /// ([`Piece::WHOLE`]).
    pub fn parse_as(mut self, piece: Piece<'_>) -> Result<Parsed, FormatError> {
        let mut layout = Layout::default();
        let mut sops: Option<SopsMember> = None;
        let mut metadata = None;
        // State as after a member value: where it ended, the whitespace
        // before the next key and whether a comma came before it.
        let mut prev_end: Option<usize> = None;
        let mut sep = 0..0;
        let mut after_comma = false;
        if piece.opens {
            // A UTF-8 byte order mark is accepted and kept (it is outside
            // every span, so rendering copies it).
            if self.src.starts_with('\u{FEFF}') {
                self.pos = '\u{FEFF}'.len_utf8();
            }
            self.skip_ws();
            if self.pos == self.b.len() {
                return Err(FormatError::Empty);
            }
            if self.peek() != Some(b'{') {
                return Err(FormatError::Unsupported {
                    location: Location::of(self.src, self.pos),
                    message: "the top level of a JSON document must be an object".into(),
                    code: exit::COULD_NOT_READ_INPUT,
                });
            }
            layout.open = self.pos;
            // A piece that opens and closes the object is the whole file.
            layout.crlf = if piece.closes {
                self.src
                    .find('\n')
                    .is_some_and(|i| i > 0 && self.b[i - 1] == b'\r')
            } else {
                piece.crlf
            };
            self.pos += 1;
            layout.pad = self.ws();
            sep = layout.pad.clone();
            if self.peek() == Some(b'}') {
                if !piece.closes {
                    return Err(self.err(self.pos, "a piece closes the root object early"));
                }
                self.pos += 1;
                return self.end_of_document(metadata, sops, layout);
            }
        } else {
            // A later piece starts right after a member value of the piece
            // before it, so the comma before its first member is its own.
            layout.crlf = piece.crlf;
            prev_end = Some(0);
            self.skip_ws();
            if self.peek() != Some(b',') {
                return Err(self.err(self.pos, "a piece does not start between members"));
            }
            self.pos += 1;
            sep = self.ws();
            after_comma = true;
        }
        loop {
            let key_start = self.pos;
            if let Some(s) = sops.as_mut().filter(|s| s.next_key_start.is_none()) {
                s.next_key_start = Some(key_start);
            }
            if self.peek() != Some(b'"') {
                return Err(self.err(self.pos, "expected a string key"));
            }
            let key = self.string()?;
            let key_end = self.pos;
            self.expect_colon()?;
            let colon = key_end..self.pos;
            if key == "sops" {
                if sops.is_some() {
                    return Err(FormatError::Unsupported {
                        location: Location::of(self.src, key_start),
                        message: "the document has more than one top-level \"sops\" key".into(),
                        code: exit::GENERIC,
                    });
                }
                metadata = Some(self.meta_value(0)?);
                sops = Some(SopsMember {
                    key_start,
                    value_end: self.pos,
                    prev_end,
                    next_key_start: None,
                });
            } else {
                self.loc.push(PathSeg::Key(key.to_string()));
                self.path.push(key);
                self.data_value()?;
                self.path.pop();
                self.loc.pop();
                layout.last_data_end = Some(self.pos);
                layout.sep = sep.clone();
                layout.sep_after_comma = after_comma;
                layout.colon = colon;
            }
            prev_end = Some(self.pos);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos;
                    self.pos += 1;
                    sep = self.ws();
                    after_comma = true;
                    if self.peek() == Some(b'}') {
                        return Err(self.err(comma, "trailing comma in an object"));
                    }
                }
                Some(b'}') if piece.closes => {
                    self.pos += 1;
                    break;
                }
                Some(b'}') => {
                    return Err(self.err(self.pos, "a piece closes the root object early"));
                }
                // A piece that leaves the root object open ends after a
                // member value.
                None if !piece.closes => return self.finish(metadata, sops, layout),
                None => {
                    return Err(self.err(self.pos, "unexpected end of input: expected ',' or '}'"));
                }
                Some(_) => {
                    return Err(self.err(self.pos, "expected ',' or '}' after an object member"));
                }
            }
        }
        self.end_of_document(metadata, sops, layout)
    }

    /// After the root object's `}`: only whitespace may follow.
    fn end_of_document(
        mut self,
        metadata: Option<MetaNode>,
        sops: Option<SopsMember>,
        layout: Layout,
    ) -> Result<Parsed, FormatError> {
        self.skip_ws();
        if self.pos != self.b.len() {
            return Err(self.err(self.pos, "trailing data after the document"));
        }
        self.finish(metadata, sops, layout)
    }

    fn finish(
        self,
        metadata: Option<MetaNode>,
        sops: Option<SopsMember>,
        layout: Layout,
    ) -> Result<Parsed, FormatError> {
        Ok(Parsed {
            leaves: self.leaves,
            metadata,
            sops,
            layout,
            found: self.found,
        })
    }
}
