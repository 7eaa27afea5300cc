//! Low-level text helpers: input checks, saphyr's character offsets turned
//! into byte offsets, and exact token spans (saphyr's own spans are loose
//! around quoted scalars, block scalars and flow ends, see crates.md §1.4).

use crate::error::{FormatError, Location};

/// Reject input that saphyr-parser mis-indexes (lone CR line breaks, C0
/// control characters): better a clear error than a wrong span.
pub fn precheck(src: &str) -> Result<(), FormatError> {
    let b = src.as_bytes();
    // Most 64-byte blocks hold nothing but printable text, line feeds and
    // tabs: a branch-free test that the compiler vectorises skips them, and
    // only a block with a suspect byte (a CR, say) is looked at closely.
    const BLOCK: usize = 64;
    let suspect = |c: u8| (c < 0x20 && c != b'\n' && c != b'\t') || c == 0x7f;
    for (n, block) in b.chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &c| any | suspect(c)) {
            continue;
        }
        let base = n * BLOCK;
        precheck_bytes(src, base, base + block.len())?;
    }
    Ok(())
}

/// [`precheck`] on `src[from..to]`, one byte at a time.
fn precheck_bytes(src: &str, from: usize, to: usize) -> Result<(), FormatError> {
    let b = src.as_bytes();
    for (i, &c) in b.iter().enumerate().take(to).skip(from) {
        let bad = match c {
            b'\r' => b.get(i + 1) != Some(&b'\n'),
            b'\t' | b'\n' => false,
            0..=0x1f | 0x7f => true,
            _ => false,
        };
        if bad {
            let what = if c == b'\r' {
                "a carriage return that is not part of a CRLF line break"
            } else {
                "a control character"
            };
            return Err(FormatError::syntax(
                src,
                i,
                format!("the file contains {what}, which YAML does not allow here"),
            ));
        }
    }
    Ok(())
}

/// Turns saphyr's character indexes into byte offsets. Events arrive in
/// nearly increasing order, so moving a cursor costs O(distance), and the
/// whole parse stays linear. ASCII input skips the work entirely.
pub struct CharCursor<'a> {
    src: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> CharCursor<'a> {
    pub fn new(src: &'a str) -> CharCursor<'a> {
        CharCursor {
            src,
            ascii: src.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    pub fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.src.len());
        }
        let b = self.src.as_bytes();
        while self.chars < char_index && self.bytes < b.len() {
            self.bytes += 1;
            while self.bytes < b.len() && (b[self.bytes] & 0xC0) == 0x80 {
                self.bytes += 1;
            }
            self.chars += 1;
        }
        while self.chars > char_index && self.bytes > 0 {
            self.bytes -= 1;
            while self.bytes > 0 && (b[self.bytes] & 0xC0) == 0x80 {
                self.bytes -= 1;
            }
            self.chars -= 1;
        }
        self.bytes
    }
}

/// Start of the line holding byte `at`.
pub fn line_start(src: &str, at: usize) -> usize {
    src.as_bytes()[..at.min(src.len())]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1)
}

/// End of the line holding byte `at` (the position of its `\r\n`/`\n`, or
/// the end of the text).
pub fn line_end(src: &str, at: usize) -> usize {
    let b = src.as_bytes();
    let mut e = b[at.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |i| at + i);
    if e > at && e > 0 && b.get(e - 1) == Some(&b'\r') && e < b.len() {
        e -= 1;
    }
    e
}

/// Position after the line break that ends the line holding `at` (or the
/// end of the text).
pub fn next_line(src: &str, at: usize) -> usize {
    let b = src.as_bytes();
    b[at.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |i| at + i + 1)
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Skip node properties (`&anchor`, `!tag`, `!<verbatim>`), whitespace and
/// comments in front of a node, starting at `at`, stopping before `limit`.
pub fn skip_properties(src: &str, mut at: usize, limit: usize) -> usize {
    let b = src.as_bytes();
    let limit = limit.min(b.len());
    loop {
        while at < limit && is_blank(b[at]) {
            at += 1;
        }
        if at >= limit {
            return at;
        }
        match b[at] {
            b'&' | b'!' => {
                if b[at] == b'!' && b.get(at + 1) == Some(&b'<') {
                    while at < limit && b[at] != b'>' {
                        at += 1;
                    }
                }
                while at < limit && !is_blank(b[at]) {
                    at += 1;
                }
            }
            b'#' if at == 0 || is_blank(b[at - 1]) => {
                while at < limit && b[at] != b'\n' {
                    at += 1;
                }
            }
            _ => return at,
        }
    }
}

/// End (exclusive) of the quoted scalar whose opening quote is at `start`.
pub fn quoted_end(src: &str, start: usize) -> Option<usize> {
    let b = src.as_bytes();
    let q = *b.get(start)?;
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if q == b'"' && c == b'\\' {
            i += 2;
            continue;
        }
        if c == q {
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// End of the alias token `*name` at `start`.
pub fn alias_end(src: &str, start: usize) -> usize {
    let b = src.as_bytes();
    let mut i = start + 1;
    while i < b.len() && !is_blank(b[i]) && !matches!(b[i], b',' | b'[' | b']' | b'{' | b'}') {
        i += 1;
    }
    i
}

/// Find a block scalar's header (`|` or `>`) between the previous token's
/// end and the content start, skipping indicators, properties and comments.
pub fn find_block_header(src: &str, from: usize, limit: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = from;
    let limit = limit.min(b.len());
    while i < limit {
        match b[i] {
            b'|' | b'>' => return Some(i),
            b'#' if i == 0 || is_blank(b[i - 1]) => {
                while i < limit && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'&' | b'!' if i == 0 || is_blank(b[i - 1]) => {
                while i < limit && !is_blank(b[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Where comments start in `src[from..to]`: a `#` at the start of the text
/// or after whitespace. Returns (position of `#`, end of the comment text).
pub fn comments_in(src: &str, from: usize, to: usize, out: &mut Vec<(usize, usize)>) {
    let b = src.as_bytes();
    let to = to.min(b.len());
    let mut i = from;
    while i < to {
        match memchr_hash(&b[i..to]) {
            None => return,
            Some(off) => {
                let at = i + off;
                let starts =
                    at == 0 || is_blank(b[at - 1]) || (at == 3 && src.starts_with('\u{feff}'));
                if starts {
                    let end = line_end(src, at).min(to).max(at + 1);
                    out.push((at, end));
                    i = end;
                } else {
                    i = at + 1;
                }
            }
        }
    }
}

fn memchr_hash(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'#')
}

/// The location of a saphyr marker (its line and column are exact even
/// where its index is not).
pub fn marker_location(m: &saphyr_parser::Marker) -> Location {
    Location {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// Whether `src[from..to]`, the gap between a flow collection's last entry
/// and its closing bracket, holds a `,` outside comments.
pub fn has_comma(src: &str, from: usize, to: usize) -> bool {
    let Some(gap) = src.get(from..to) else {
        return false;
    };
    let mut in_comment = false;
    for b in gap.bytes() {
        match b {
            b'\n' | b'\r' => in_comment = false,
            _ if in_comment => {}
            b'#' => in_comment = true,
            b',' => return true,
            _ => {}
        }
    }
    false
}

/// The first line after the one holding `from`, up to `to`, whose text
/// (not a comment, not blank) starts at or before column `col` (counting
/// spaces, the only YAML indentation).
pub fn underindented_line(src: &str, from: usize, to: usize, col: usize) -> Option<usize> {
    let gap = src.get(from..to)?;
    let mut offset = from;
    for (i, line) in gap.split_inclusive('\n').enumerate() {
        let at = offset;
        offset += line.len();
        if i == 0 {
            continue;
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let rest = line[spaces..].trim_start_matches([' ', '\t', '\r', '\n']);
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if spaces <= col {
            return Some(at + spaces);
        }
    }
    None
}
