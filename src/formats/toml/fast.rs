//! A fast path for reading TOML: toml_parser's event stream (the same lexer
//! and grammar toml_edit uses underneath) is turned straight into leaves,
//! without building toml_edit's document tree with its owned keys, values
//! and decor, which was most of the time and memory on large files.
//!
//! The scanner only has to be right when it says yes: whenever it is not
//! sure (any syntax error, a key or table defined twice, a dotted key or
//! header reaching into a table defined another way, a `sops` key that is
//! not the trailing `[sops]` block) it returns `None`, and
//! [`super::parse::parse_edit`] reads the document with toml_edit, which
//! gives the same answer or the error message. The oracle test in
//! `tests.rs` checks that both readers give identical leaves.

use std::borrow::Cow;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{EventReceiver, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span as TSpan};

use super::parse::{Parsed, Walker, comment_leaf, finish_ordered, item_to_node, make_leaf};
use crate::document::{LeafKind, Shape, Value};
use crate::treepath::PathSeg;
use crate::value::Timestamp;

/// toml_edit's nesting limit, so both readers refuse the same documents.
const MAX_DEPTH: u32 = 80;

/// How many tokens are lexed before they are parsed. The lexer's own
/// `into_vec` holds every token of the document at once (24 bytes each,
/// more memory than the text itself); the tokens are instead parsed a
/// batch at a time, cut after a line break outside any array or inline
/// table, where the grammar is back at the start of an expression. Unit
/// tests use tiny batches so that every test document crosses many cuts.
#[cfg(not(test))]
const BATCH: usize = 16 * 1024;
#[cfg(test)]
const BATCH: usize = 3;

pub(super) fn parse(src: &str) -> Option<Parsed> {
    use toml_parser::lexer::TokenKind;

    let source = Source::new(src);
    let mut lexer = source.lex();
    let mut r = Receiver::new(src);
    let mut errors: Option<ParseError> = None;
    let mut batch = Vec::with_capacity(BATCH + 1);
    // Brackets and braces open: a line break at depth 0 ends an expression.
    let mut depth = 0i64;
    let mut reserved = false;
    loop {
        let token = lexer.next();
        let cut = match token {
            None => true,
            Some(t) => {
                match t.kind() {
                    TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                    TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => depth -= 1,
                    _ => {}
                }
                batch.push(t);
                batch.len() >= BATCH && depth == 0 && t.kind() == TokenKind::Newline
            }
        };
        if !cut {
            continue;
        }
        {
            let mut ws = ValidateWhitespace::new(&mut r, source);
            let mut guard = RecursionGuard::new(&mut ws, MAX_DEPTH);
            toml_parser::parser::parse_document(&batch, &mut guard, &mut errors);
        }
        if errors.is_some() || r.bail {
            return None;
        }
        let Some(last) = token else { break };
        if !reserved && !r.w.leaves.is_empty() {
            // The rest of the document is likely shaped like its start:
            // room for its leaves at once, rather than doubling (and
            // copying, and faulting in) the vector a dozen times.
            reserved = true;
            let done = last.span().end().max(1) as u128;
            let n = r.w.leaves.len();
            // At most one leaf per 8 bytes: a dense start followed by a
            // long string must not reserve gigabytes.
            let want = (n as u128 * src.len() as u128 / done) as usize;
            let want = (want + want / 8).min(src.len() / 8);
            r.w.leaves.reserve_exact(want.saturating_sub(n));
            // The key table likewise, without slack: a hash table touches
            // all of its buckets, so one twice too large costs more than a
            // last rehash.
            let k = r.children.table.len();
            let want = ((k as u128 * src.len() as u128 / done) as usize).min(src.len() / 4);
            r.children.reserve(want.saturating_sub(k));
        }
        batch.clear();
    }
    drop(batch);
    if errors.is_some() || r.bail || !r.frames.is_empty() {
        return None;
    }
    let (metadata, sops_start) = match r.sops_start {
        None => (None, None),
        Some(start) => {
            // The block is small: toml_edit reads it alone for the tree.
            let doc = toml_edit::Document::parse(&src[start..]).ok()?;
            let item = doc.as_table().get("sops")?;
            (Some(item_to_node(item)), Some(Ok(start)))
        }
    };
    Some(finish_ordered(r.w.leaves, metadata, sops_start))
}

/// Every key defined so far, by parent node and name: a hash table of
/// small entries whose names sit in one shared string. A `HashMap` keyed
/// by `(u32, String)` cost an allocation per key and 40-byte buckets, which
/// on a file with 100,000 keys was most of the time this reader spent
/// outside toml_parser. Hashing stays SipHash with a random key (std's
/// `RandomState`), so crafted key names cannot make lookups collide.
#[derive(Default)]
struct Children {
    table: HashTable<Child>,
    names: String,
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Clone, Copy)]
struct Child {
    parent: u32,
    node: u32,
    /// The name's range in `Children::names` (a document whose key names
    /// pass 4 GiB goes to toml_edit).
    start: u32,
    end: u32,
}

impl Children {
    /// The node of `parent`'s child `key` (`Ok(Some)`), or `Ok(None)` after
    /// recording `node` as that child.
    fn find_or_insert(&mut self, parent: u32, key: &str, node: u32) -> Result<Option<u32>, ()> {
        let Children {
            table,
            names,
            hasher,
        } = self;
        let hash = hasher.hash_one((parent, key));
        let name = |c: &Child| &names[c.start as usize..c.end as usize];
        if let Some(c) = table.find(hash, |c| c.parent == parent && name(c) == key) {
            return Ok(Some(c.node));
        }
        let start = u32::try_from(names.len()).map_err(|_| ())?;
        let end = u32::try_from(names.len() + key.len()).map_err(|_| ())?;
        names.push_str(key);
        let child = Child {
            parent,
            node,
            start,
            end,
        };
        table.insert_unique(hash, child, |c| {
            hasher.hash_one((c.parent, &names[c.start as usize..c.end as usize]))
        });
        Ok(None)
    }

    fn reserve(&mut self, additional: usize) {
        let Children {
            table,
            names,
            hasher,
        } = self;
        table.reserve(additional, |c| {
            hasher.hash_one((c.parent, &names[c.start as usize..c.end as usize]))
        });
    }
}

/// How a key was defined, for refusing redefinitions.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A value (scalar, array, inline table): closed to anything else.
    Value,
    /// Defined by a `[header]` (or an element of an array of tables).
    Std,
    /// Created by a longer header (`[a.b]` creates `a`).
    Implicit,
    /// Created by a dotted key (`a.b = 1` creates `a`).
    Dotted,
    /// An array of tables: its current element and its length.
    Aot { elem: u32, len: usize },
}

const ROOT: u32 = 0;

enum Frame {
    Array {
        start: usize,
        len: usize,
        restore: (usize, usize),
    },
    Inline {
        start: usize,
        node: u32,
        len: usize,
        restore: (usize, usize),
    },
}

struct Receiver<'s> {
    w: Walker<'s>,
    nodes: Vec<Kind>,
    children: Children,
    /// The table the current section's key/values go into.
    section: u32,
    /// Path and location of whatever is being read now.
    path: Vec<String>,
    loc: Vec<PathSeg>,
    /// Lengths of `path` and `loc` at the current section.
    section_len: (usize, usize),
    frames: Vec<Frame>,
    /// Keys of the header or key/value being read.
    keys: Vec<String>,
    /// The header being read: its start, and whether it is `[[…]]`.
    header: Option<(usize, bool)>,
    /// The resolved node of the key/value whose value comes next, and the
    /// lengths to restore after it.
    pending: Option<(u32, (usize, usize))>,
    sops_start: Option<usize>,
    bail: bool,
}

impl<'s> Receiver<'s> {
    fn new(src: &'s str) -> Self {
        Receiver {
            w: Walker {
                src,
                leaves: Vec::new(),
                headers: Vec::new(),
                inline: Vec::new(),
                in_sops: false,
            },
            nodes: vec![Kind::Std],
            children: Children::default(),
            section: ROOT,
            path: Vec::new(),
            loc: Vec::new(),
            section_len: (0, 0),
            frames: Vec::new(),
            keys: Vec::new(),
            header: None,
            pending: None,
            sops_start: None,
            bail: false,
        }
    }

    fn node(&mut self, kind: Kind) -> u32 {
        self.nodes.push(kind);
        (self.nodes.len() - 1) as u32
    }

    /// The child `key` of `parent`: `Ok` if it exists, else it is made
    /// with kind `new` and `Err` holds it.
    fn entry(&mut self, parent: u32, key: &str, new: Kind) -> Result<u32, u32> {
        let next = self.nodes.len() as u32;
        match self.children.find_or_insert(parent, key, next) {
            Ok(Some(found)) => Ok(found),
            Ok(None) => {
                self.nodes.push(new);
                Err(next)
            }
            Err(()) => {
                // Beyond what the table indexes: let toml_edit read it.
                self.bail = true;
                Ok(ROOT)
            }
        }
    }

    fn decode_key(&mut self, span: TSpan, encoding: Option<Encoding>) -> Option<String> {
        let src = self.w.src;
        let raw = Raw::new_unchecked(&src[span.start()..span.end()], encoding, span);
        let mut out: Cow<'s, str> = Cow::Borrowed("");
        let mut err: Option<ParseError> = None;
        raw.decode_key(&mut out, &mut err);
        if err.is_some() {
            return None;
        }
        Some(out.into_owned())
    }

    /// A `[header]` or `[[header]]` is complete: find or make its table.
    fn open_section(&mut self, start: usize, array: bool) {
        let keys = std::mem::take(&mut self.keys);
        self.path.clear();
        self.loc.clear();
        let n = keys.len();
        let Some(first) = keys.first() else {
            self.bail = true;
            return;
        };
        let sops = first == "sops";
        if sops {
            if n == 1 && array {
                self.bail = true;
                return;
            }
            self.sops_start.get_or_insert(start);
        } else if self.sops_start.is_some() {
            // Data after the metadata block: toml_edit's reader explains.
            self.bail = true;
            return;
        }
        let mut cur = ROOT;
        for (i, k) in keys.into_iter().enumerate() {
            let last = i + 1 == n;
            let new = match (last, array) {
                (false, _) => Kind::Implicit,
                // Its first element is the node made right after it.
                (true, true) => Kind::Aot {
                    elem: self.nodes.len() as u32 + 1,
                    len: 1,
                },
                (true, false) => Kind::Std,
            };
            let found = self.entry(cur, &k, new);
            self.loc.push(PathSeg::Key(k.clone()));
            cur = match found.map(|id| (id, self.nodes[id as usize])) {
                Err(id) if last && array => {
                    let elem = self.node(Kind::Std);
                    debug_assert_eq!(self.nodes[id as usize], Kind::Aot { elem, len: 1 });
                    self.loc.push(PathSeg::Index(0));
                    elem
                }
                Err(id) => id,
                Ok((_, Kind::Aot { elem, len })) if !last => {
                    self.loc.push(PathSeg::Index(len - 1));
                    elem
                }
                Ok((id, Kind::Aot { len, .. })) if array => {
                    let elem = self.node(Kind::Std);
                    self.nodes[id as usize] = Kind::Aot { elem, len: len + 1 };
                    self.loc.push(PathSeg::Index(len));
                    elem
                }
                Ok((id, Kind::Std | Kind::Implicit)) if !last => id,
                Ok((id, Kind::Implicit)) if !array => {
                    self.nodes[id as usize] = Kind::Std;
                    id
                }
                // Redefinitions, and shapes (a header into a dotted-key
                // table) left to toml_edit to judge.
                _ => {
                    self.bail = true;
                    return;
                }
            };
            self.path.push(k);
        }
        self.section = cur;
        self.section_len = (self.path.len(), self.loc.len());
        self.w.in_sops = sops;
    }

    /// The `=` of a key/value: resolve its (dotted) key.
    fn key_done(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        let base = match self.frames.last_mut() {
            None => self.section,
            Some(Frame::Inline { node, len, .. }) => {
                *len += 1;
                *node
            }
            Some(Frame::Array { .. }) => {
                self.bail = true;
                return;
            }
        };
        // Lengths before this key/value, to go back to after its value.
        let before = (self.path.len(), self.loc.len());
        if self.frames.is_empty() && base == ROOT && keys.first().is_some_and(|k| k == "sops") {
            // `sops = …` or `sops.x = …` at the root: not the block shroud
            // writes; toml_edit's reader says why.
            self.bail = true;
            return;
        }
        let n = keys.len();
        let mut cur = base;
        for (i, k) in keys.into_iter().enumerate() {
            let last = i + 1 == n;
            let new = if last { Kind::Value } else { Kind::Dotted };
            cur = match self.entry(cur, &k, new) {
                Err(id) => id,
                Ok(id) if !last && self.nodes[id as usize] == Kind::Dotted => id,
                _ => {
                    self.bail = true;
                    return;
                }
            };
            self.loc.push(PathSeg::Key(k.clone()));
            self.path.push(k);
        }
        self.pending = Some((cur, before));
    }

    /// A value starts: returns the node it defines and the lengths to
    /// restore once it ends.
    fn value_start(&mut self) -> Option<(u32, (usize, usize))> {
        match self.frames.last_mut() {
            Some(Frame::Array { len, .. }) => {
                let before = (self.path.len(), self.loc.len());
                self.loc.push(PathSeg::Index(*len));
                *len += 1;
                self.nodes.push(Kind::Value);
                Some(((self.nodes.len() - 1) as u32, before))
            }
            _ => {
                let p = self.pending.take();
                if p.is_none() {
                    self.bail = true;
                }
                p
            }
        }
    }

    fn value_end(&mut self, restore: (usize, usize)) {
        self.path.truncate(restore.0);
        self.loc.truncate(restore.1);
    }

    fn push_leaf(&mut self, kind: LeafKind, span: std::ops::Range<usize>) {
        let leaf = make_leaf(&self.loc, self.loc.len(), kind, span);
        self.w.leaves.push(leaf);
    }

    fn scalar_leaf(&mut self, span: TSpan, encoding: Option<Encoding>) -> Option<()> {
        let src = self.w.src;
        let raw_str = &src[span.start()..span.end()];
        if let Some(text) = plain_string(raw_str, encoding) {
            if !self.w.in_sops {
                self.push_leaf(
                    LeafKind::Scalar {
                        value: Value::str(text),
                        source: None,
                    },
                    span.start()..span.end(),
                );
            }
            return Some(());
        }
        let raw = Raw::new_unchecked(raw_str, encoding, span);
        let mut decoded: Cow<'s, str> = Cow::Borrowed("");
        let mut err: Option<ParseError> = None;
        let kind = raw.decode_scalar(&mut decoded, &mut err);
        if err.is_some() {
            return None;
        }
        let source = || Some(raw_str.to_string());
        let (value, source) = match kind {
            ScalarKind::String => (Value::str(decoded.into_owned()), None),
            ScalarKind::Boolean(b) => (Value::Bool(b), source()),
            ScalarKind::Integer(radix) => (
                Value::Int(i64::from_str_radix(&decoded, radix.value()).ok()?),
                source(),
            ),
            ScalarKind::Float => {
                let f: f64 = decoded.parse().ok()?;
                if f.is_infinite()
                    && !decoded
                        .strip_prefix(['+', '-'])
                        .unwrap_or(&decoded)
                        .chars()
                        .all(|c| c.is_ascii_alphabetic())
                {
                    return None;
                }
                (Value::Float(f), source())
            }
            ScalarKind::DateTime => {
                let dt: toml_edit::Datetime = decoded.parse().ok()?;
                let full = dt.date.is_some() && dt.time.is_some() && dt.offset.is_some();
                match Timestamp::parse_rfc3339(raw_str).filter(|_| full) {
                    Some(ts) => (
                        Value::Time(zeroize::Zeroizing::new(ts.to_rfc3339_nano())),
                        source(),
                    ),
                    None => (Value::str(raw_str), None),
                }
            }
        };
        if !self.w.in_sops {
            self.push_leaf(
                LeafKind::Scalar {
                    value,
                    source: source.map(zeroize::Zeroizing::new),
                },
                span.start()..span.end(),
            );
        }
        Some(())
    }

    /// An array or inline table ends.
    fn close(&mut self, end: usize) {
        let Some(frame) = self.frames.pop() else {
            self.bail = true;
            return;
        };
        let (start, len, restore, shape) = match frame {
            Frame::Array {
                start,
                len,
                restore,
            } => (start, len, restore, Shape::EmptyList),
            Frame::Inline {
                start,
                len,
                restore,
                ..
            } => (start, len, restore, Shape::EmptyMap),
        };
        if !self.w.in_sops && len == 0 {
            self.push_leaf(LeafKind::Structure(shape), start..end);
        }
        self.value_end(restore);
    }
}

impl EventReceiver for Receiver<'_> {
    fn std_table_open(&mut self, span: TSpan, _error: &mut dyn ErrorSink) {
        self.header = Some((span.start(), false));
        self.keys.clear();
    }
    fn std_table_close(&mut self, _span: TSpan, _error: &mut dyn ErrorSink) {
        match self.header.take() {
            Some((start, false)) => self.open_section(start, false),
            _ => self.bail = true,
        }
    }
    fn array_table_open(&mut self, span: TSpan, _error: &mut dyn ErrorSink) {
        self.header = Some((span.start(), true));
        self.keys.clear();
    }
    fn array_table_close(&mut self, _span: TSpan, _error: &mut dyn ErrorSink) {
        match self.header.take() {
            Some((start, true)) => self.open_section(start, true),
            _ => self.bail = true,
        }
    }
    fn inline_table_open(&mut self, span: TSpan, _error: &mut dyn ErrorSink) -> bool {
        if let Some((node, restore)) = self.value_start() {
            self.frames.push(Frame::Inline {
                start: span.start(),
                node,
                len: 0,
                restore,
            });
        }
        true
    }
    fn inline_table_close(&mut self, span: TSpan, _error: &mut dyn ErrorSink) {
        if !matches!(self.frames.last(), Some(Frame::Inline { .. })) {
            self.bail = true;
            return;
        }
        self.close(span.end());
    }
    fn array_open(&mut self, span: TSpan, _error: &mut dyn ErrorSink) -> bool {
        if let Some((_, restore)) = self.value_start() {
            self.frames.push(Frame::Array {
                start: span.start(),
                len: 0,
                restore,
            });
        }
        true
    }
    fn array_close(&mut self, span: TSpan, _error: &mut dyn ErrorSink) {
        if !matches!(self.frames.last(), Some(Frame::Array { .. })) {
            self.bail = true;
            return;
        }
        self.close(span.end());
    }
    fn simple_key(&mut self, span: TSpan, kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        match self.decode_key(span, kind) {
            Some(k) => self.keys.push(k),
            None => self.bail = true,
        }
    }
    fn key_val_sep(&mut self, _span: TSpan, _error: &mut dyn ErrorSink) {
        if self.bail {
            return;
        }
        self.key_done();
    }
    fn scalar(&mut self, span: TSpan, kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.bail {
            return;
        }
        let Some((_, restore)) = self.value_start() else {
            return;
        };
        if self.scalar_leaf(span, kind).is_none() {
            self.bail = true;
        }
        self.value_end(restore);
    }
    fn comment(&mut self, span: TSpan, _error: &mut dyn ErrorSink) {
        // Comments of the metadata block (which starts at its first
        // header) are not leaves.
        if self.bail || self.sops_start.is_some() {
            return;
        }
        // The token runs from `#` to the line break (CR or LF) or the end.
        let text = span.start() + 1..span.end();
        let leaf = comment_leaf(self.w.src, &self.loc, text);
        self.w.leaves.push(leaf);
    }
    fn error(&mut self, _span: TSpan, _error: &mut dyn ErrorSink) {
        self.bail = true;
    }
}

/// The value of a single-line basic or literal string token with no escape
/// and nothing TOML forbids in it, which is all but a few: the text between
/// its quotes, found by one vectorised scan instead of toml_parser's
/// character-by-character decoding (a tenth of a decrypt's time on
/// 100,000 `ENC[...]` values). `None` sends the token to the decoder.
fn plain_string(raw: &str, encoding: Option<Encoding>) -> Option<&str> {
    let quote = match encoding? {
        Encoding::BasicString => b'"',
        Encoding::LiteralString => b'\'',
        _ => return None,
    };
    let b = raw.as_bytes();
    // The lexer ends a string at its closing quote, a line break or the
    // end of input: both quotes present means it is closed, and nothing
    // between them is that quote (unless escaped, which is excluded).
    if b.len() < 2 || b[0] != quote || b[b.len() - 1] != quote {
        return None;
    }
    let body = &raw[1..raw.len() - 1];
    // basic-unescaped / literal-char: tab, 0x20-0x7E but the quote and
    // (basic) the backslash, and non-ASCII.
    let escape = if quote == b'"' { b'\\' } else { 0 };
    let bad = body.bytes().fold(false, |bad, c| {
        bad | (c == escape) | (c == 0x7f) | (c < 0x20 && c != b'\t')
    });
    (!bad).then_some(body)
}
