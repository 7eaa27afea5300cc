//! A fast reader for the block-style YAML that configuration files (and
//! shroud's own output) are made of.
//!
//! saphyr decodes every character and copies every scalar; on a file of
//! 100,000 values that was the largest cost of `decrypt`. This reader scans
//! bytes line by line and hands the same events saphyr would give to the
//! same [`State`] that turns saphyr's events into leaves, so comments,
//! spans, metadata and document info come out of one piece of code (and no
//! `Leaf` is built here). It knows only a subset: block maps and sequences,
//! plain and quoted scalars on one line (double-quoted ones with the common
//! escapes), one-line flow sequences of such scalars, `{}` and `[]`,
//! literal block scalars without empty lines at their end (the `enc: |` of
//! the metadata), comments, blank lines, one optional leading `---`.
//!
//! Anything else, and anything it is not sure of, makes it decline (return
//! `None`, the events given so far thrown away with their `State`): the
//! whole document then goes through saphyr, which also gives every error
//! message. An error from `State` (a duplicate key, say) is a decline too,
//! for the same reason.

use std::borrow::Cow;

use saphyr_parser::{Event, ScalarStyle};

use super::parse::{Parsed, State};

/// Read `src` (which passed the checks in front of both readers), or
/// `None` when it is outside the subset.
pub fn parse(src: &str) -> Option<Parsed> {
    if !plain_text(src) {
        return None;
    }
    let mut st = State::new(src);
    // At most one leaf per line, but for a comment after a value.
    st.reserve(memchr::memchr_iter(b'\n', src.as_bytes()).count() + 1);
    let mut r = Reader {
        src,
        b: src.as_bytes(),
        st,
        stack: Vec::new(),
        pending: None,
        root_done: false,
        in_meta: false,
    };
    r.run()?;
    Some(r.st.finish())
}

/// No character that YAML treats specially outside ASCII: C1 controls
/// (NEL is a line break in YAML 1.1), the Unicode line and paragraph
/// separators, a byte order mark after the start, U+FFFE and U+FFFF.
fn plain_text(src: &str) -> bool {
    if src.is_ascii() {
        return true;
    }
    let b = src.as_bytes();
    let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
    for i in memchr::memchr3_iter(0xC2, 0xE2, 0xEF, &b[start..]) {
        let i = i + start;
        let (c1, c2) = (b.get(i + 1).copied(), b.get(i + 2).copied());
        let odd = match b[i] {
            0xC2 => matches!(c1, Some(0x80..=0x9F)),
            0xE2 => c1 == Some(0x80) && matches!(c2, Some(0xA8 | 0xA9)),
            _ => {
                (c1 == Some(0xBB) && c2 == Some(0xBF))
                    || (c1 == Some(0xBF) && matches!(c2, Some(0xBE | 0xBF)))
            }
        };
        if odd {
            return false;
        }
    }
    true
}

#[derive(Clone, Copy)]
struct Open {
    seq: bool,
    /// Column of the keys or dashes.
    indent: usize,
    /// A sequence at its parent key's column (`key:\n- a`).
    indentless: bool,
}

/// A key or dash whose value starts on a later line (or is null).
#[derive(Clone, Copy)]
struct Pending {
    indent: usize,
    map: bool,
}

struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    st: State<'a>,
    stack: Vec<Open>,
    pending: Option<Pending>,
    root_done: bool,
    /// Inside the value of the root `sops` key.
    in_meta: bool,
}

/// One line: `start` is where its columns count from (after a BOM on the
/// first line), `end` is before its `\r\n` or `\n`, `next` is the start of
/// the next line.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

/// A scalar read on one line.
struct Scalar<'a> {
    value: Cow<'a, str>,
    style: ScalarStyle,
    start: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn line(&self, start: usize) -> Line {
        let b = self.b;
        let (mut end, next) = match memchr::memchr(b'\n', &b[start..]) {
            Some(i) => (start + i, start + i + 1),
            None => (b.len(), b.len()),
        };
        // The checks before this reader allow a CR only before a LF.
        if end > start && b[end - 1] == b'\r' {
            end -= 1;
        }
        Line { start, end, next }
    }

    fn ev(&mut self, ev: Event<'_>, s: usize, e: usize) -> Option<()> {
        self.st.event(ev, s, e).ok()
    }

    fn scalar(&mut self, sc: Scalar<'_>) -> Option<()> {
        self.ev(Event::Scalar(sc.value, sc.style, 0, None), sc.start, sc.end)
    }

    /// The null of a key or dash with nothing after it (saphyr's empty
    /// plain scalar; `State` places it by itself).
    fn null(&mut self, at: usize) -> Option<()> {
        self.ev(
            Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
            at,
            at,
        )
    }

    fn run(&mut self) -> Option<()> {
        let b = self.b;
        let mut pos = if self.src.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let mut started = false;
        while pos < b.len() {
            let line = self.line(pos);
            let mut p = line.start;
            while p < line.end && b[p] == b' ' {
                p += 1;
            }
            if p == line.end || b[p] == b'#' {
                pos = line.next;
                continue;
            }
            if b[p] == b'\t' {
                return None;
            }
            let col = p - line.start;
            let marker = col == 0
                && (b[p..line.end].starts_with(b"---") || b[p..line.end].starts_with(b"..."));
            if !started {
                started = true;
                if b[p] == b'%' {
                    return None;
                }
                if marker && b[p] == b'-' {
                    if !self.only_comment(p + 3, line.end) {
                        return None;
                    }
                    self.ev(Event::DocumentStart(true), p, p + 3)?;
                    pos = line.next;
                    continue;
                }
                self.ev(Event::DocumentStart(false), p, p)?;
            }
            // A second document, a document end, or a scalar that looks
            // like one.
            if marker {
                return None;
            }
            pos = self.content_line(line, p, col)?;
        }
        if !self.root_done {
            return None;
        }
        let end = b.len();
        if self.pending.take().is_some() {
            self.null(end)?;
        }
        while let Some(o) = self.stack.pop() {
            self.end(o, end)?;
        }
        self.ev(Event::DocumentEnd, end, end)?;
        self.ev(Event::StreamEnd, end, end)?;
        Some(())
    }

    fn end(&mut self, o: Open, at: usize) -> Option<()> {
        let ev = if o.seq {
            Event::SequenceEnd
        } else {
            Event::MappingEnd
        };
        self.ev(ev, at, at)
    }

    /// Whether `b[from..to]` is blanks and at most a comment after a blank.
    fn only_comment(&self, from: usize, to: usize) -> bool {
        let b = self.b;
        let mut i = from;
        while i < to && b[i] == b' ' {
            i += 1;
        }
        i == to || (i > from && b[i] == b'#')
    }

    fn is_dash(&self, p: usize, line: Line) -> bool {
        self.b[p] == b'-' && (p + 1 == line.end || self.b[p + 1] == b' ')
    }

    /// A line whose first text is at `p`, column `col`. Returns where the
    /// next line to read starts.
    fn content_line(&mut self, line: Line, p: usize, col: usize) -> Option<usize> {
        let dash = self.is_dash(p, line);
        if let Some(pd) = self.pending.take() {
            if col > pd.indent {
                return self.node(line, p, col, pd.indent);
            }
            if col == pd.indent && pd.map && dash {
                self.ev(Event::SequenceStart(0, None), p, p)?;
                self.stack.push(Open {
                    seq: true,
                    indent: col,
                    indentless: true,
                });
                return self.seq_item(line, p, col);
            }
            self.null(p)?;
        }
        while let Some(&top) = self.stack.last() {
            if top.indent > col || (top.indentless && top.indent == col && !dash) {
                self.stack.pop();
                self.end(top, p)?;
            } else {
                break;
            }
        }
        let Some(&top) = self.stack.last() else {
            if self.root_done {
                return None;
            }
            self.root_done = true;
            return self.node(line, p, col, 0);
        };
        if top.indent != col || top.seq != dash {
            return None;
        }
        if dash {
            self.seq_item(line, p, col)
        } else {
            self.map_entry(line, p, col)
        }
    }

    /// A new node starting at `p` (column `col`): a sequence, a mapping or
    /// a scalar. `parent` is the column of the key or dash that owns it.
    fn node(&mut self, line: Line, p: usize, col: usize, parent: usize) -> Option<usize> {
        if self.is_dash(p, line) {
            self.ev(Event::SequenceStart(0, None), p, p)?;
            self.stack.push(Open {
                seq: true,
                indent: col,
                indentless: false,
            });
            return self.seq_item(line, p, col);
        }
        if let Some(map) = self.empty_flow(p, line.end) {
            return self.empty_collection(line, p, map);
        }
        if self.b[p] == b'[' {
            return self.flow_seq(line, p);
        }
        if self.b[p] == b'|' {
            // Only right after its key or dash (`key: |`, `- |`).
            if self.b[line.start..p].iter().all(|&c| c == b' ') {
                return None;
            }
            return self.block(line, p, parent);
        }
        let sc = self.read_scalar(p, line.end)?;
        if self.key_colon(sc.end, line.end).is_some() {
            self.ev(Event::MappingStart(0, None), p, p)?;
            self.stack.push(Open {
                seq: false,
                indent: col,
                indentless: false,
            });
            return self.map_entry(line, p, col);
        }
        // A scalar on its own: the rest of the line must be a comment. A
        // plain scalar continued on the next line would put that line at a
        // column no open collection has, which declines there.
        if !self.only_comment(sc.end, line.end) {
            return None;
        }
        self.scalar(sc)?;
        Some(line.next)
    }

    fn seq_item(&mut self, line: Line, p: usize, col: usize) -> Option<usize> {
        let b = self.b;
        let mut q = p + 1;
        while q < line.end && b[q] == b' ' {
            q += 1;
        }
        if q == line.end || b[q] == b'#' {
            self.pending = Some(Pending {
                indent: col,
                map: false,
            });
            return Some(line.next);
        }
        self.node(line, q, col + (q - p), col)
    }

    fn map_entry(&mut self, line: Line, p: usize, col: usize) -> Option<usize> {
        let b = self.b;
        let key = self.read_scalar(p, line.end)?;
        // Implicit keys are limited to 1024 characters.
        if key.end - key.start > 1024 {
            return None;
        }
        let colon = self.key_colon(key.end, line.end)?;
        if self.stack.len() == 1 {
            self.in_meta = key.value == "sops";
        }
        self.scalar(key)?;
        let mut q = colon + 1;
        while q < line.end && b[q] == b' ' {
            q += 1;
        }
        if q == line.end || b[q] == b'#' {
            self.pending = Some(Pending {
                indent: col,
                map: true,
            });
            return Some(line.next);
        }
        if b[q] == b'|' {
            return self.block(line, q, col);
        }
        if let Some(map) = self.empty_flow(q, line.end) {
            return self.empty_collection(line, q, map);
        }
        if b[q] == b'[' {
            return self.flow_seq(line, q);
        }
        let val = self.read_scalar(q, line.end)?;
        if !self.only_comment(val.end, line.end) {
            return None;
        }
        self.scalar(val)?;
        Some(line.next)
    }

    /// `{}` (`Some(true)`) or `[]` (`Some(false)`) at `p`, as a whole value.
    fn empty_flow(&self, p: usize, line_end: usize) -> Option<bool> {
        match &self.b[p..line_end] {
            [b'{', b'}', ..] => Some(true),
            [b'[', b']', ..] => Some(false),
            _ => None,
        }
    }

    /// The empty flow collection at `p`, the value of a key or dash (never
    /// the document root), and nothing but a comment after it.
    fn empty_collection(&mut self, line: Line, p: usize, map: bool) -> Option<usize> {
        if self.stack.is_empty() || self.in_meta || !self.only_comment(p + 2, line.end) {
            return None;
        }
        let (open, close) = if map {
            (Event::MappingStart(0, None), Event::MappingEnd)
        } else {
            (Event::SequenceStart(0, None), Event::SequenceEnd)
        };
        self.ev(open, p, p + 1)?;
        self.ev(close, p + 1, p + 2)?;
        Some(line.next)
    }

    /// The `:` right after a key that ends at `end`, followed by a space or
    /// the end of the line.
    fn key_colon(&self, end: usize, line_end: usize) -> Option<usize> {
        let b = self.b;
        (end < line_end && b[end] == b':' && (end + 1 == line_end || b[end + 1] == b' '))
            .then_some(end)
    }

    /// A plain or quoted scalar at `p` that ends on this line.
    fn read_scalar(&self, p: usize, line_end: usize) -> Option<Scalar<'a>> {
        self.read_scalar_in(p, line_end, false)
    }

    /// [`Self::read_scalar`]; `flow` for an item of a flow sequence.
    fn read_scalar_in(&self, p: usize, line_end: usize, flow: bool) -> Option<Scalar<'a>> {
        let b = self.b;
        let src = self.src;
        match b[p] {
            b'\'' => {
                let mut i = p + 1;
                let mut doubled = false;
                loop {
                    let off = memchr::memchr2(b'\'', b'\t', &b[i..line_end])?;
                    i += off;
                    if b[i] == b'\t' {
                        return None;
                    }
                    if b.get(i + 1) == Some(&b'\'') && i + 1 < line_end {
                        doubled = true;
                        i += 2;
                        continue;
                    }
                    break;
                }
                let text = &src[p + 1..i];
                let value = if doubled {
                    Cow::Owned(text.replace("''", "'"))
                } else {
                    Cow::Borrowed(text)
                };
                self.after_quote(i + 1, line_end, flow)?;
                Some(Scalar {
                    value,
                    style: ScalarStyle::SingleQuoted,
                    start: p,
                    end: i + 1,
                })
            }
            b'"' => {
                let mut i = p + 1;
                let mut escaped = false;
                loop {
                    let off = memchr::memchr3(b'"', b'\\', b'\t', &b[i..line_end])?;
                    i += off;
                    match b[i] {
                        b'"' => break,
                        // Skipping the escaped byte is enough to find the
                        // closing quote; `unescape` checks the rest.
                        b'\\' if i + 1 < line_end => {
                            escaped = true;
                            i += 2;
                        }
                        _ => return None,
                    }
                }
                self.after_quote(i + 1, line_end, flow)?;
                let text = &src[p + 1..i];
                let value = if escaped {
                    Cow::Owned(unescape(text)?)
                } else {
                    Cow::Borrowed(text)
                };
                Some(Scalar {
                    value,
                    style: ScalarStyle::DoubleQuoted,
                    start: p,
                    end: i + 1,
                })
            }
            c => {
                let indicator = matches!(
                    c,
                    b'[' | b']'
                        | b'{'
                        | b'}'
                        | b','
                        | b'#'
                        | b'&'
                        | b'*'
                        | b'!'
                        | b'|'
                        | b'>'
                        | b'%'
                        | b'@'
                        | b'`'
                        | b' '
                        | b'\t'
                );
                if indicator {
                    return None;
                }
                if matches!(c, b'-' | b'?' | b':')
                    && (p + 1 >= line_end || matches!(b[p + 1], b' ' | b'\t'))
                {
                    return None;
                }
                let mut i = p;
                let end = loop {
                    let Some(off) = memchr::memchr3(b':', b'#', b'\t', &b[i..line_end]) else {
                        break line_end;
                    };
                    i += off;
                    match b[i] {
                        b'\t' => return None,
                        b':' if i + 1 == line_end || b[i + 1] == b' ' => break i,
                        b'#' if b[i - 1] == b' ' => break i,
                        _ => i += 1,
                    }
                };
                let mut e = end;
                while e > p && b[e - 1] == b' ' {
                    e -= 1;
                }
                // A key with blanks before its `:` or a value with a `: `
                // in it is left to saphyr.
                if e == p || (e < end && b.get(end) == Some(&b':')) {
                    return None;
                }
                Some(Scalar {
                    value: Cow::Borrowed(&src[p..e]),
                    style: ScalarStyle::Plain,
                    start: p,
                    end: e,
                })
            }
        }
    }

    /// After a closing quote: the end of the line, a space, or the `:` of a
    /// key (in a flow sequence: a space, `,` or `]`).
    fn after_quote(&self, at: usize, line_end: usize, flow: bool) -> Option<()> {
        let ok = if flow {
            at < line_end && matches!(self.b[at], b' ' | b',' | b']')
        } else {
            at == line_end || matches!(self.b[at], b' ' | b':')
        };
        ok.then_some(())
    }

    /// A flow sequence of scalars on one line (`[a, "b", 'c']`) at `p`, the
    /// value of a key or dash, with nothing but a comment after it. Items
    /// that could be anything else in flow context (a `:` or `#` in a plain
    /// item, nested brackets, an empty item) decline.
    fn flow_seq(&mut self, line: Line, p: usize) -> Option<usize> {
        // In the metadata, where a flow collection's end is placed matters
        // (it ends the block to remove): left to saphyr.
        if self.stack.is_empty() || self.in_meta {
            return None;
        }
        let b = self.b;
        let end = line.end;
        let mut items = Vec::new();
        let mut i = p + 1;
        let close = loop {
            while i < end && b[i] == b' ' {
                i += 1;
            }
            if i >= end {
                return None;
            }
            let sc = if matches!(b[i], b'\'' | b'"') {
                self.read_scalar_in(i, end, true)?
            } else {
                self.flow_plain(i, end)?
            };
            i = sc.end;
            items.push(sc);
            while i < end && b[i] == b' ' {
                i += 1;
            }
            match b.get(i) {
                Some(b',') if i < end => i += 1,
                Some(b']') if i < end => break i,
                _ => return None,
            }
        };
        if !self.only_comment(close + 1, end) {
            return None;
        }
        self.ev(Event::SequenceStart(0, None), p, p + 1)?;
        for sc in items {
            self.scalar(sc)?;
        }
        self.ev(Event::SequenceEnd, close, close + 1)?;
        Some(line.next)
    }

    /// A plain item of a flow sequence at `p`: up to the next `,` or `]`.
    fn flow_plain(&self, p: usize, end: usize) -> Option<Scalar<'a>> {
        let b = self.b;
        let c = b[p];
        // `?` and `:` mean keys in flow context; the rest are indicators.
        if matches!(
            c,
            b'[' | b']'
                | b'{'
                | b'}'
                | b','
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'%'
                | b'@'
                | b'`'
                | b'?'
                | b':'
        ) || (c == b'-' && (p + 1 >= end || matches!(b[p + 1], b' ' | b',' | b']')))
        {
            return None;
        }
        let mut j = p;
        while j < end && !matches!(b[j], b',' | b']') {
            if matches!(
                b[j],
                b':' | b'#' | b'[' | b'{' | b'}' | b'\t' | b'"' | b'\'' | b'\\'
            ) {
                return None;
            }
            j += 1;
        }
        let mut e = j;
        while e > p && b[e - 1] == b' ' {
            e -= 1;
        }
        if e == p {
            return None;
        }
        Some(Scalar {
            value: Cow::Borrowed(&self.src[p..e]),
            style: ScalarStyle::Plain,
            start: p,
            end: e,
        })
    }

    /// A literal block scalar whose header (`|`, `|-` or `|+`, nothing
    /// after it) is at `p`, inside a collection at column `parent`. Only
    /// blocks without tabs or CRs, and without empty lines at their end,
    /// are read here.
    fn block(&mut self, line: Line, p: usize, parent: usize) -> Option<usize> {
        let b = self.b;
        let mut h = p + 1;
        if h < line.end && matches!(b[h], b'-' | b'+') {
            h += 1;
        }
        if h != line.end || line.next == b.len() || b[line.next - 1] != b'\n' {
            return None;
        }
        let strip = b[p + 1..h] == *b"-";
        let first = self.line(line.next);
        let indent = b[first.start..first.end]
            .iter()
            .take_while(|&&c| c == b' ')
            .count();
        if indent <= parent || first.start + indent == first.end {
            return None;
        }
        let s = first.start + indent;
        let mut value = String::new();
        let mut at = first.start;
        // Empty lines seen since the last text line: each is a line feed
        // when more text follows. Before the block's end they would be
        // chomped, and where saphyr ends such a block is left to saphyr.
        let mut empty = 0;
        let stop = loop {
            if at == b.len() {
                break at;
            }
            let l = self.line(at);
            let text = &b[l.start..l.end];
            let n = text.iter().take_while(|&&c| c == b' ').count();
            // A CR, or no final line break, is left to saphyr.
            if l.next == l.end || l.end + 1 != l.next {
                return None;
            }
            if n == text.len() {
                // Spaces past the indentation on an empty line are text.
                if n > indent {
                    return None;
                }
                empty += 1;
                at = l.next;
                continue;
            }
            if n < indent {
                break at;
            }
            let content = &self.src[l.start + indent..l.end];
            if content.as_bytes().contains(&b'\t') {
                return None;
            }
            for _ in 0..empty {
                value.push('\n');
            }
            empty = 0;
            value.push_str(content);
            value.push('\n');
            at = l.next;
        };
        if empty > 0 {
            return None;
        }
        if strip {
            value.pop();
        }
        self.ev(
            Event::Scalar(Cow::Owned(value), ScalarStyle::Literal, 0, None),
            s,
            stop,
        )?;
        Some(stop)
    }
}

/// The value of a one-line double-quoted scalar's text: the common escapes
/// (`\\ \" \/ \n \t \r \0 \a \b \e \f \v`, an escaped space, `\x`,
/// `\u`, `\U`). Any other escape, or a code that is not a character,
/// declines.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let c = *after.as_bytes().first()?;
        let (ch, used) = match c {
            b'\\' => ('\\', 1),
            b'"' => ('"', 1),
            b'/' => ('/', 1),
            b' ' => (' ', 1),
            b'n' => ('\n', 1),
            b't' => ('\t', 1),
            b'r' => ('\r', 1),
            b'0' => ('\0', 1),
            b'a' => ('\u{7}', 1),
            b'b' => ('\u{8}', 1),
            b'e' => ('\u{1b}', 1),
            b'f' => ('\u{c}', 1),
            b'v' => ('\u{b}', 1),
            b'x' | b'u' | b'U' => {
                let n = match c {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = after.get(1..1 + n)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                let code = u32::from_str_radix(hex, 16).ok()?;
                (char::from_u32(code)?, 1 + n)
            }
            _ => return None,
        };
        out.push(ch);
        rest = &after[used..];
    }
    out.push_str(rest);
    Some(out)
}
