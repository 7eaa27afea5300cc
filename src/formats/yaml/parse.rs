//! From saphyr-parser events to leaves with exact spans.
//!
//! saphyr gives the structure and the scalar values; the byte spans are
//! recomputed here from the text (see `scan`). Comments, which saphyr does
//! not report, are found in the gaps between tokens and placed in the
//! innermost container whose indentation covers them, which is where
//! go-yaml v3 (and so SOPS) puts them.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use zeroize::Zeroizing;

use super::resolve::{Resolved, resolve_plain};
use super::scan::{self, CharCursor};
use crate::document::{Leaf, LeafKind, MetaNode, Shape, Span, Value};
use crate::error::{FormatError, Location, exit};
use crate::treepath::PathSeg;

/// The tag shroud puts on an alias it had to expand, so that decryption can
/// turn it back into `*name`. SOPS reads a value with an unknown local tag
/// as the plain string (checked with sops 3.11).
pub const ALIAS_TAG: &str = "!shroud/alias:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chomp {
    Clip,
    Strip,
    Keep,
}

#[derive(Clone, Debug)]
pub struct Block {
    /// The indicator characters (`|+2`), without any header comment.
    pub header: Span,
    /// The content lines that an edit replaces: for clip and strip, trailing
    /// blank lines are left out (they are not part of the value and stay).
    pub content: Span,
    pub indent: usize,
    pub chomp: Chomp,
}

#[derive(Clone, Debug)]
pub enum Info {
    Scalar {
        style: Style,
        /// Inside a flow collection.
        flow: bool,
        block: Option<Block>,
        /// The `-` of the block sequence entry this scalar is, if any.
        dash: Option<usize>,
        /// Column where a re-indented copy of a collection would go.
        parent_col: usize,
        /// Tagged as a string (`!!str`, or a tag SOPS drops): any plain
        /// text is a string here.
        str_tag: bool,
    },
    Comment,
    /// A null or an empty collection: kept as it is.
    Structure,
    /// A copy of an anchored leaf seen through an alias.
    Virtual {
        alias: usize,
        source: usize,
    },
}

/// An anchored node (`&name`).
#[derive(Clone, Debug)]
pub struct Anchor {
    pub name: String,
    /// The node's text, properties excluded.
    pub node: Span,
    /// Its leaves (comments included; copies skip them).
    pub leaves: Range<usize>,
    pub scalar: bool,
    pub flow: bool,
    /// Column of the node's first line (for re-indenting a copy).
    pub col: usize,
    /// Length of the node's own location (keys and indices).
    loc_len: usize,
    depth: usize,
}

/// One use of an alias (`*name`) as a value.
#[derive(Clone, Debug)]
pub struct AliasUse {
    pub name: String,
    pub span: Span,
    pub anchor: usize,
    pub leaves: Range<usize>,
    pub flow: bool,
    /// Indentation for a block copy of a collection.
    pub indent: usize,
}

/// A node that shroud wrote for an expanded alias (tagged [`ALIAS_TAG`]).
#[derive(Clone, Debug)]
pub struct Marked {
    pub name: String,
    /// From the tag's `!` to the node's end.
    pub span: Span,
    /// The tag and the blanks after it.
    pub tag: Span,
    pub leaves: Range<usize>,
    pub anchor: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct DocInfo {
    /// The `sops:` entry to remove (line start of the key to the end of the
    /// value's last line).
    /// The flag: the file ends inside that entry without a final newline,
    /// so the newline before it goes as well.
    pub meta_removal: Option<(Span, bool)>,
    /// Where appended metadata goes.
    pub insert_at: Option<usize>,
    /// For a flow-style root mapping: the position of its `}`, and what
    /// goes before and after a metadata entry put there.
    pub flow_root: Option<(usize, (&'static str, &'static str))>,
    /// Indentation of a block root mapping that does not start at column 0
    /// (metadata must line up with its keys).
    pub root_indent: String,
}

pub struct Parsed {
    pub leaves: Vec<Leaf>,
    pub infos: Vec<Info>,
    pub metadata: Option<MetaNode>,
    pub docs: Vec<DocInfo>,
    pub anchors: Vec<Anchor>,
    pub aliases: Vec<AliasUse>,
    pub marked: Vec<Marked>,
}

#[derive(Clone, Copy, Debug)]
struct FrameRef {
    col: Option<usize>,
    flow: bool,
    path_len: usize,
    /// Length of the collection's own location; its children add one.
    loc_len: usize,
    depth: usize,
}

struct Frame {
    map: bool,
    r: FrameRef,
    expect_key: bool,
    keys: HashSet<String>,
    anchor: Option<usize>,
    marked: Option<usize>,
    /// Start of the collection's text (its first token).
    start: Option<usize>,
    /// The `sops` key was just read in this (root) mapping.
    meta_key_start: Option<usize>,
    /// Items seen so far in a sequence (the next item's index).
    items: usize,
}

enum MetaPartial {
    Map(Vec<(String, MetaNode)>, Option<String>),
    List(Vec<MetaNode>),
}

/// Collects the value of a `sops` key.
struct MetaBuilder {
    stack: Vec<MetaPartial>,
    removal_start: usize,
    /// Where the `sops` key itself starts.
    key_start: usize,
}

impl MetaBuilder {
    /// Feed one finished node; returns the whole value when it is complete.
    fn add(&mut self, node: MetaNode) -> Option<MetaNode> {
        match self.stack.last_mut() {
            None => Some(node),
            Some(MetaPartial::List(items)) => {
                items.push(node);
                None
            }
            Some(MetaPartial::Map(entries, key)) => {
                match key.take() {
                    None => {
                        let k = match node {
                            MetaNode::Str(s) => s,
                            MetaNode::Int(i) => i.to_string(),
                            MetaNode::Bool(b) => b.to_string(),
                            _ => String::new(),
                        };
                        *key = Some(k);
                    }
                    Some(k) => entries.push((k, node)),
                }
                None
            }
        }
    }
}

fn meta_scalar(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> MetaNode {
    if style != ScalarStyle::Plain || tag.is_some() {
        return MetaNode::Str(value.to_string());
    }
    match resolve_plain(value) {
        Resolved::Null => MetaNode::Null,
        Resolved::Value(Value::Bool(b)) => MetaNode::Bool(b),
        Resolved::Value(Value::Int(i)) => MetaNode::Int(i),
        _ => MetaNode::Str(value.to_string()),
    }
}

fn unsupported(loc: Location, message: &str, code: i32) -> FormatError {
    FormatError::Unsupported {
        location: loc,
        message: message.to_string(),
        code,
    }
}

fn style_of(s: ScalarStyle) -> Style {
    match s {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::Single,
        ScalarStyle::DoubleQuoted => Style::Double,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
    }
}

/// The value of a scalar as SOPS sees it; `None` for null.
fn scalar_value(
    value: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Option<(Value, bool)>, &'static str> {
    if let Some(t) = tag {
        if t.is_yaml_core_schema() {
            match t.suffix.as_str() {
                "str" => return Ok(Some((Value::str(value), false))),
                "binary" => {
                    use base64::Engine;
                    let cleaned: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(cleaned)
                        .map_err(|_| "a !!binary value is not valid base64")?;
                    let s = String::from_utf8(bytes)
                        .map_err(|_| "a !!binary value is not UTF-8 text")?;
                    return Ok(Some((Value::str(s), false)));
                }
                "null" => return Ok(None),
                // Other core tags: go-yaml resolves the text as if plain.
                _ => {}
            }
        } else {
            // Unknown tags are dropped by SOPS; the text is a string.
            return Ok(Some((Value::str(value), false)));
        }
    } else if style != ScalarStyle::Plain {
        return Ok(Some((Value::str(value), false)));
    }
    match resolve_plain(value) {
        Resolved::Null => Ok(None),
        Resolved::Uint64 => Err("an integer too large for a signed 64-bit value"),
        Resolved::Value(v) => {
            let typed = !matches!(v, Value::Str(_));
            Ok(Some((v, typed)))
        }
    }
}

pub(super) struct State<'a> {
    src: &'a str,
    out: Parsed,
    stack: Vec<Frame>,
    closed: Vec<FrameRef>,
    path: Vec<String>,
    /// Keys and list indices of the current node, as `--extract` names them.
    loc: Vec<PathSeg>,
    prev_end: usize,
    prev_frame: Option<FrameRef>,
    meta: Option<MetaBuilder>,
    anchor_names: HashMap<String, usize>,
    /// saphyr anchor id -> index in `out.anchors`.
    anchor_ids: HashMap<usize, usize>,
    doc_open: bool,
    comment_buf: Vec<(usize, usize)>,
    /// A collection whose text is wanted (`--extract`), and its span.
    want: Option<Vec<PathSeg>>,
    found: Option<Span>,
}

fn col_of(src: &str, at: usize) -> usize {
    at - scan::line_start(src, at)
}

impl<'a> State<'a> {
    fn loc(&self, at: usize) -> Location {
        Location::of(self.src, at)
    }

    fn current_doc(&mut self) -> &mut DocInfo {
        if self.out.docs.is_empty() {
            self.out.docs.push(DocInfo::default());
        }
        let n = self.out.docs.len() - 1;
        &mut self.out.docs[n]
    }

    /// Emit the comments between the previous token and `tok_start`, then
    /// forget frames closed since then.
    fn gap(&mut self, tok_start: usize) {
        if tok_start < self.prev_end {
            return;
        }
        // A block collection's first child fixes the collection's column
        // (and its start); collections opened on the same line, like
        // `- - x` or `- k: v`, are fixed together from the inside out.
        let b = self.src.as_bytes();
        let mut pos = tok_start;
        for f in self.stack.iter_mut().rev() {
            if f.r.col.is_some() || f.r.flow {
                break;
            }
            if !f.map {
                // A block sequence starts at its `-`.
                let mut i = pos;
                while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
                    i -= 1;
                }
                if i > 0 && b[i - 1] == b'-' {
                    pos = i - 1;
                }
            }
            f.r.col = Some(col_of(self.src, pos));
            if f.start.is_none() {
                f.start = Some(pos);
            }
        }
        let mut found = std::mem::take(&mut self.comment_buf);
        found.clear();
        scan::comments_in(self.src, self.prev_end, tok_start, &mut found);
        if self.meta.is_none() {
            for &(hash, end) in &found {
                let frame = self.comment_frame(hash);
                let (loc, depth) = match frame {
                    Some(f) => (self.loc[..f.loc_len.min(self.loc.len())].to_vec(), f.depth),
                    None => (Vec::new(), 1),
                };
                let text = &self.src[hash + 1..end];
                self.out.leaves.push(Leaf::new(
                    loc,
                    depth,
                    LeafKind::Comment(Zeroizing::new(text.to_string())),
                    Some(hash + 1..end),
                ));
                self.out.infos.push(Info::Comment);
            }
        }
        self.comment_buf = found;
        self.closed.clear();
    }

    fn comment_frame(&self, hash: usize) -> Option<FrameRef> {
        let trailing = self.prev_end > 0
            && !self.src.as_bytes()[self.prev_end..hash].contains(&b'\n')
            && self.prev_frame.is_some();
        if trailing {
            return self.prev_frame;
        }
        if let Some(top) = self.stack.last()
            && top.r.flow
        {
            return Some(top.r);
        }
        let c = col_of(self.src, hash);
        let fits = |f: &FrameRef| !f.flow && f.col.is_none_or(|fc| fc <= c);
        if let Some(f) = self.closed.iter().find(|f| fits(f)) {
            return Some(*f);
        }
        if let Some(f) = self.stack.iter().rev().find(|f| fits(&f.r)) {
            return Some(f.r);
        }
        self.stack.first().map(|f| f.r)
    }

    fn token(&mut self, start: usize, end: usize) {
        self.gap(start);
        self.prev_end = self.prev_end.max(end);
    }

    fn after_token(&mut self) {
        self.prev_frame = self.stack.last().map(|f| f.r);
    }
}

/// The byte range of a scalar's own text (properties excluded) and, for
/// block scalars, the block layout.
fn scalar_span(
    st: &State<'_>,
    s: usize,
    e: usize,
    value: &str,
    style: ScalarStyle,
) -> Result<(Span, Option<Block>), FormatError> {
    let src = st.src;
    let bad = |what: &str| FormatError::SpanCheck(format!("{what} at {}", Location::of(src, s)));
    match style {
        ScalarStyle::Plain => {
            if value.is_empty() {
                let at = st.prev_end.max(s.min(st.prev_end));
                return Ok((at..at, None));
            }
            let start = scan::skip_properties(src, s, e);
            if start >= e {
                return Err(bad("a plain scalar without text"));
            }
            Ok((start..e, None))
        }
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let start = scan::skip_properties(src, s, src.len());
            let q = if style == ScalarStyle::SingleQuoted {
                b'\''
            } else {
                b'"'
            };
            if src.as_bytes().get(start) != Some(&q) {
                return Err(bad("a quoted scalar that does not start with its quote"));
            }
            let end =
                scan::quoted_end(src, start).ok_or_else(|| bad("an unterminated quoted scalar"))?;
            Ok((start..end, None))
        }
        ScalarStyle::Literal | ScalarStyle::Folded => {
            let from = st.prev_end;
            let header = scan::find_block_header(src, from, src.len())
                .ok_or_else(|| bad("a block scalar without a header"))?;
            let b = src.as_bytes();
            let mut hend = header + 1;
            let mut chomp = Chomp::Clip;
            while hend < b.len() && matches!(b[hend], b'+' | b'-' | b'1'..=b'9') {
                match b[hend] {
                    b'+' => chomp = Chomp::Keep,
                    b'-' => chomp = Chomp::Strip,
                    _ => {}
                }
                hend += 1;
            }
            let content_start = scan::next_line(src, hend);
            // saphyr's end may run into the next line's indentation.
            let mut end = e.max(content_start);
            let ls = scan::line_start(src, end);
            if ls >= content_start && b[ls..end].iter().all(|&c| c == b' ' || c == b'\t') {
                end = ls;
            }
            // Block indentation: saphyr's start sits at it on the first
            // content line.
            let mut indent = None;
            if s >= content_start && s <= end {
                let l = scan::line_start(src, s);
                if b[l..s].iter().all(|&c| c == b' ') {
                    indent = Some(s - l);
                }
            }
            let indent = indent.unwrap_or_else(|| first_indent(src, content_start, end));
            let mut edit_end = end;
            if chomp != Chomp::Keep {
                edit_end = trim_blank_lines(src, content_start, end, indent);
            }
            Ok((
                header..end,
                Some(Block {
                    header: header..hend,
                    content: content_start..edit_end,
                    indent,
                    chomp,
                }),
            ))
        }
    }
}

fn first_indent(src: &str, from: usize, to: usize) -> usize {
    let mut at = from;
    while at < to {
        let le = scan::line_end(src, at);
        let line = &src[at..le];
        let n = line.bytes().take_while(|&c| c == b' ').count();
        if n < line.len() {
            return n;
        }
        at = scan::next_line(src, at);
    }
    0
}

/// End of the last line of `[from, to)` that is not blank (a blank line has
/// at most `indent` spaces).
fn trim_blank_lines(src: &str, from: usize, to: usize, indent: usize) -> usize {
    let mut end = to;
    while end > from {
        let ls = scan::line_start(src, end - 1);
        let ls = ls.max(from);
        let line = src[ls..end].trim_end_matches(['\n', '\r']);
        let blank = line.bytes().all(|c| c == b' ') && line.len() <= indent;
        if !blank || ls == end {
            break;
        }
        end = ls;
    }
    end
}

fn parse_directives(src: &str, from: usize, to: usize) -> Result<(), FormatError> {
    let mut at = from;
    while at < to {
        let le = scan::line_end(src, at);
        let line = &src[at..le];
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if let Some(rest) = line.strip_prefix('%') {
            let mut words = rest.split_whitespace();
            match words.next() {
                Some("YAML") => {
                    if words.next() != Some("1.1") {
                        return Err(unsupported(
                            Location::of(src, at),
                            "SOPS cannot read a document with this %YAML directive (only 1.1 is accepted)",
                            exit::COULD_NOT_READ_INPUT,
                        ));
                    }
                }
                Some("TAG") => {}
                _ => {
                    return Err(unsupported(
                        Location::of(src, at),
                        "unknown YAML directive",
                        exit::COULD_NOT_READ_INPUT,
                    ));
                }
            }
        }
        at = scan::next_line(src, le);
    }
    Ok(())
}

/// The checks every YAML input goes through before either reader sees it.
fn check(src: &str) -> Result<(), FormatError> {
    if src.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(FormatError::Empty);
    }
    scan::precheck(src)
}

pub fn parse(src: &str) -> Result<Parsed, FormatError> {
    check(src)?;
    // The common block-style subset is read without saphyr; anything else
    // (or any doubt) goes the whole way through saphyr.
    if let Some(parsed) = super::fast::parse(src) {
        return Ok(parsed);
    }
    parse_events(src)
}

/// [`parse`] without the fast reader (the reference it is tested against).
#[cfg(test)]
pub fn parse_saphyr(src: &str) -> Result<Parsed, FormatError> {
    check(src)?;
    parse_events(src)
}

/// Whether `src` passes the checks in front of both readers.
#[cfg(test)]
pub fn checks_pass(src: &str) -> bool {
    check(src).is_ok()
}

fn parse_events(src: &str) -> Result<Parsed, FormatError> {
    Ok(events(State::new(src))?.finish())
}

/// The text of the non-empty collection at `loc` in `src` (a plaintext
/// document), from its first entry (or the first comment inside it) to the
/// end of the line of its last entry (or comment): what `--extract` prints
/// for it, before de-indenting. Always read with saphyr.
pub fn node_span(src: &str, loc: &[PathSeg]) -> Result<Option<Span>, FormatError> {
    check(src)?;
    let mut st = State::new(src);
    st.want = Some(loc.to_vec());
    let st = events(st)?;
    let Some(mut span) = st.found.clone() else {
        return Ok(None);
    };
    for leaf in &st.out.leaves {
        if let (LeafKind::Comment(_), Some(c)) = (&leaf.kind, &leaf.span)
            && leaf.loc.starts_with(loc)
        {
            span.start = span.start.min(c.start - 1);
            span.end = span.end.max(c.end);
        }
    }
    Ok(Some(span))
}

fn events(mut st: State<'_>) -> Result<State<'_>, FormatError> {
    let src = st.src;
    let mut parser = Parser::new_from_str(src);
    let mut cur = CharCursor::new(src);
    while let Some(item) = parser.next_event() {
        let (ev, span) = item.map_err(|e| FormatError::Syntax {
            location: scan::marker_location(e.marker()),
            message: e.info().to_string(),
        })?;
        let s = cur.byte(span.start.index());
        let e = cur.byte(span.end.index()).max(s);
        st.event(ev, s, e)?;
    }
    Ok(st)
}

impl<'a> State<'a> {
    pub(super) fn new(src: &'a str) -> State<'a> {
        let mut st = State {
            src,
            out: Parsed {
                leaves: Vec::new(),
                infos: Vec::new(),
                metadata: None,
                docs: Vec::new(),
                anchors: Vec::new(),
                aliases: Vec::new(),
                marked: Vec::new(),
            },
            stack: Vec::new(),
            closed: Vec::new(),
            path: Vec::new(),
            loc: Vec::new(),
            prev_end: 0,
            prev_frame: None,
            meta: None,
            anchor_names: HashMap::new(),
            anchor_ids: HashMap::new(),
            doc_open: false,
            comment_buf: Vec::new(),
            want: None,
            found: None,
        };
        if src.starts_with('\u{feff}') {
            st.prev_end = 3;
        }
        st
    }

    /// Room for about `n` leaves, so that a big document's lists are not
    /// copied (and their pages touched) again and again as they grow.
    pub(super) fn reserve(&mut self, n: usize) {
        self.out.leaves.reserve(n);
        self.out.infos.reserve(n);
    }

    pub(super) fn finish(self) -> Parsed {
        self.out
    }

    /// One parser event; `s..e` is its span in bytes (as saphyr reports it).
    pub(super) fn event(&mut self, ev: Event<'_>, s: usize, e: usize) -> Result<(), FormatError> {
        let st = self;
        let src = st.src;
        match ev {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => {
                st.token(src.len(), src.len());
                let doc = st.current_doc();
                if doc.insert_at.is_none() {
                    doc.insert_at = Some(src.len());
                }
            }
            Event::DocumentStart(explicit) => {
                let mut insert_prev = None;
                if explicit {
                    parse_directives(src, st.prev_end, s)?;
                    // Metadata for the previous document goes before this
                    // `---` (and before any directives of this document).
                    let mut at = scan::line_start(src, s);
                    while at > 0 {
                        let pl = scan::line_start(src, at - 1);
                        if src[pl..].starts_with('%') {
                            at = pl;
                        } else {
                            break;
                        }
                    }
                    insert_prev = Some(at.max(st.prev_end.min(at)));
                    st.token(s, s + 3);
                } else {
                    parse_directives(src, st.prev_end, s)?;
                }
                if let (Some(at), false) = (insert_prev, st.out.docs.is_empty()) {
                    let doc = st.current_doc();
                    if doc.insert_at.is_none() {
                        doc.insert_at = Some(at);
                    }
                }
                st.out.docs.push(DocInfo::default());
                st.doc_open = true;
                st.after_token();
            }
            Event::DocumentEnd => {
                if src[s..].starts_with("...") && e > s {
                    let at = scan::line_start(src, s);
                    st.token(s, s + 3);
                    let doc = st.current_doc();
                    doc.insert_at = Some(at);
                }
                st.doc_open = false;
            }
            Event::MappingStart(anchor, tag) => st.open(true, (s, e), anchor, tag.as_deref())?,
            Event::SequenceStart(anchor, tag) => st.open(false, (s, e), anchor, tag.as_deref())?,
            Event::MappingEnd | Event::SequenceEnd => st.close(s)?,
            Event::Scalar(value, style, anchor, tag) => {
                st.scalar(s, e, &value, style, anchor, tag.as_deref())?
            }
            Event::Alias(id) => st.alias(s, id)?,
        }
        Ok(())
    }
}

enum Role {
    Root,
    Key,
    Value {
        path_len: usize,
        loc_len: usize,
        depth: usize,
        parent_col: usize,
        in_seq: bool,
    },
}

/// The `&name` or `!tag` property in front of a node: the first such token
/// after `from`, skipping blanks, indicators and comments.
fn find_property(src: &str, from: usize, sigil: u8) -> Option<(usize, usize)> {
    let b = src.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b':' | b'-' | b'?' | b',' | b'[' | b'{' => i += 1,
            b'#' => i = scan::next_line(src, i),
            c @ (b'&' | b'!') => {
                let start = i;
                while i < b.len()
                    && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
                {
                    i += 1;
                }
                if c == sigil {
                    return Some((start, i));
                }
            }
            _ => return None,
        }
    }
    None
}

fn is_marker_tag(tag: Option<&Tag>) -> Option<&str> {
    let t = tag?;
    if t.handle == "!" {
        t.suffix.strip_prefix("shroud/alias:")
    } else {
        None
    }
}

impl State<'_> {
    /// Inside a flow collection: the innermost frame may be the implicit
    /// single-pair mapping of `[ key : value ]`, which has no brackets of
    /// its own but is in flow context all the same.
    fn in_flow(&self) -> bool {
        self.stack.iter().any(|f| f.r.flow)
    }

    fn role(&mut self) -> Role {
        match self.stack.last_mut() {
            None => Role::Root,
            Some(f) if f.map && f.expect_key => Role::Key,
            Some(f) => {
                let map = f.map;
                if map {
                    f.expect_key = true;
                } else {
                    // A sequence item: its location ends in its index.
                    self.loc.truncate(f.r.loc_len);
                    self.loc.push(PathSeg::Index(f.items));
                    f.items += 1;
                }
                Role::Value {
                    path_len: f.r.path_len + usize::from(map),
                    loc_len: f.r.loc_len + 1,
                    depth: f.r.depth,
                    parent_col: f.r.col.unwrap_or(0),
                    in_seq: !map,
                }
            }
        }
    }

    /// Register a map key; starts metadata collection for a root `sops`.
    fn key(&mut self, key: String, at: usize) -> Result<(), FormatError> {
        let root = self.stack.len() == 1;
        let src = self.src;
        let Some(f) = self.stack.last_mut() else {
            return Ok(());
        };
        f.expect_key = false;
        if f.keys.contains(&key) {
            return Err(FormatError::syntax(src, at, "duplicate mapping key"));
        }
        self.path.truncate(f.r.path_len);
        if root && key == "sops" {
            // The value is metadata, not data: collect it separately.
            f.expect_key = true;
            let start = if f.r.flow {
                let b = self.src.as_bytes();
                let mut i = at;
                while i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
                    i -= 1;
                }
                if i > 0 && b[i - 1] == b',' { i - 1 } else { at }
            } else {
                scan::line_start(self.src, at)
            };
            self.meta = Some(MetaBuilder {
                stack: Vec::new(),
                removal_start: start,
                key_start: at,
            });
        }
        f.keys.insert(key.clone());
        self.loc.truncate(f.r.loc_len);
        self.loc.push(PathSeg::Key(key.clone()));
        self.path.push(key);
        Ok(())
    }

    fn meta_done(&mut self, node: MetaNode) {
        let Some(m) = self.meta.take() else {
            return;
        };
        let src = self.src;
        let root_flow = self.stack.first().is_some_and(|f| f.r.flow);
        let mut end = self.prev_end;
        let mut start = m.removal_start;
        let mut eat_nl = false;
        if root_flow && src.as_bytes().get(end) == Some(&b',') {
            // `sops: {...},`: written after a trailing comma, it takes its
            // own comma along and leaves the one before it.
            start = m.key_start;
            end += 1;
        }
        if !root_flow {
            if end > 0 && src.as_bytes()[end - 1] != b'\n' {
                end = scan::next_line(src, end);
            }
            // No final newline: the newline before the block must go too,
            // which undoes how shroud appends metadata to such a file. It
            // may belong to a block scalar's span, so the renderer trims it
            // from the output instead of removing it here.
            eat_nl = end == src.len() && !src.ends_with('\n') && start > 0;
        }
        if self.out.docs.len() <= 1 && self.out.metadata.is_none() {
            self.out.metadata = Some(node);
        }
        self.current_doc().meta_removal = Some((start..end, eat_nl));
    }

    fn open(
        &mut self,
        map: bool,
        (s, e): (usize, usize),
        anchor: usize,
        tag: Option<&Tag>,
    ) -> Result<(), FormatError> {
        let bracket = if map { b'{' } else { b'[' };
        // saphyr's start may sit on the node's properties (`&a [`). A block
        // sequence at its parent's indentation (`k:\n- [x]`) starts, with
        // an empty span, on its first item, which may itself be a `[`: only
        // a flow collection's span covers its bracket.
        let at = scan::skip_properties(self.src, s, self.src.len());
        let flow = e > s && self.src.as_bytes().get(at) == Some(&bracket);
        let s = if flow { at } else { s };
        let props_from = self.prev_end;
        if flow {
            self.token(s, s + 1);
        }
        if let Some(m) = &mut self.meta {
            m.stack.push(if map {
                MetaPartial::Map(Vec::new(), None)
            } else {
                MetaPartial::List(Vec::new())
            });
            self.after_token();
            return Ok(());
        }
        let (path_len, loc_len, depth) = match self.role() {
            Role::Key => {
                return Err(unsupported(
                    self.loc(s),
                    "a mapping key that is a collection (SOPS only supports string keys)",
                    exit::ERROR_ENCRYPTING_TREE,
                ));
            }
            Role::Root => {
                if !map {
                    return Err(unsupported(
                        self.loc(s),
                        "the document is a sequence; SOPS needs a mapping at the top level",
                        exit::COULD_NOT_READ_INPUT,
                    ));
                }
                self.path.clear();
                self.loc.clear();
                (0, 0, 1)
            }
            Role::Value {
                path_len,
                loc_len,
                depth,
                ..
            } => (path_len, loc_len, depth + 1),
        };
        let anchor_idx = if anchor != 0 {
            let name = find_property(self.src, props_from, b'&')
                .map(|(a, b)| self.src[a + 1..b].to_string())
                .unwrap_or_default();
            self.out.anchors.push(Anchor {
                name,
                node: 0..0,
                leaves: self.out.leaves.len()..self.out.leaves.len(),
                scalar: false,
                flow,
                col: 0,
                loc_len,
                depth: depth - 1,
            });
            Some((self.out.anchors.len() - 1, anchor))
        } else {
            None
        };
        let marked = match is_marker_tag(tag) {
            Some(name) => {
                let tag_at = find_property(self.src, props_from, b'!');
                tag_at.map(|(a, b)| {
                    let after = scan::skip_properties(self.src, b, b).max(b);
                    let _ = after;
                    self.out.marked.push(Marked {
                        name: name.to_string(),
                        span: a..a,
                        tag: a..b,
                        leaves: self.out.leaves.len()..self.out.leaves.len(),
                        anchor: self.anchor_names.get(name).copied(),
                    });
                    self.out.marked.len() - 1
                })
            }
            None => None,
        };
        self.stack.push(Frame {
            map,
            r: FrameRef {
                col: if flow { Some(0) } else { None },
                flow,
                path_len,
                loc_len,
                depth,
            },
            expect_key: map,
            keys: HashSet::new(),
            anchor: anchor_idx.map(|(i, _)| i),
            marked,
            start: flow.then_some(s),
            meta_key_start: None,
            items: 0,
        });
        if let Some((i, id)) = anchor_idx {
            self.anchor_ids.insert(id, i);
        }
        if flow {
            self.after_token();
        }
        Ok(())
    }

    fn close(&mut self, s: usize) -> Result<(), FormatError> {
        let b = self.src.as_bytes();
        let flow = if self.meta.is_some() {
            matches!(b.get(s), Some(b'}' | b']'))
        } else {
            self.stack.last().is_some_and(|f| f.r.flow)
        };
        let mut pos = s;
        // Where the last entry of a flow collection ends: the metadata of a
        // flow root goes there, before any trailing `,` or comment.
        let last_end = self.prev_end;
        if flow {
            if !matches!(b.get(pos), Some(b'}' | b']')) {
                pos = (self.prev_end..b.len())
                    .find(|&i| matches!(b[i], b'}' | b']'))
                    .ok_or_else(|| {
                        FormatError::SpanCheck("flow collection end not found".into())
                    })?;
            }
            self.token(pos, pos + 1);
        }
        if let Some(m) = &mut self.meta {
            let node = match m.stack.pop() {
                Some(MetaPartial::Map(entries, _)) => MetaNode::Map(entries),
                Some(MetaPartial::List(items)) => MetaNode::List(items),
                None => MetaNode::Null,
            };
            if let Some(done) = m.add(node) {
                self.meta_done(done);
            }
            if flow {
                self.after_token();
            }
            return Ok(());
        }
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        // YAML requires every line of a flow collection inside a block one
        // to be indented past the block's column. saphyr lets some such
        // lines through (after a plain scalar) but not others, so a file it
        // read could come out of encryption unreadable: refuse it up front.
        if frame.r.flow
            && let Some(parent) = self.stack.last()
            && !parent.r.flow
            && let (Some(c), Some(start)) = (parent.r.col, frame.start)
            && let Some(at) = scan::underindented_line(self.src, start, pos, c)
        {
            return Err(FormatError::syntax(
                self.src,
                at,
                "a line inside a flow collection must be indented more than the block collection around it",
            ));
        }
        // A block collection's text runs to the end of its last line, so a
        // trailing comment there is inside it.
        let node_end = if !frame.r.flow
            && self.prev_end > 0
            && self.src.as_bytes()[self.prev_end - 1] != b'\n'
        {
            scan::line_end(self.src, self.prev_end)
        } else {
            self.prev_end
        };
        let node_start = frame.start.unwrap_or(node_end);
        if self.found.is_none()
            && let Some(want) = &self.want
            && self.loc.get(..frame.r.loc_len) == Some(&want[..])
        {
            self.found = Some(node_start..node_end);
        }
        if let Some(i) = frame.anchor {
            let col = col_of(self.src, node_start);
            let n = self.out.leaves.len();
            let a = &mut self.out.anchors[i];
            a.node = node_start..node_end;
            a.leaves.end = n;
            a.col = col;
            self.anchor_names.insert(a.name.clone(), i);
        }
        if let Some(i) = frame.marked {
            let n = self.out.leaves.len();
            let m = &mut self.out.marked[i];
            m.span = m.tag.start..node_end;
            m.leaves.end = n;
        }
        if self.stack.is_empty() && frame.r.flow {
            // The metadata entry goes before the `}`: after a `, ` when
            // there are entries, or, when the last entry already has a
            // trailing `,`, with a `,` of its own after it, so that removing
            // it on decryption (see `meta_done`) gives back the same text.
            let seps = if frame.keys.is_empty() {
                ("", "")
            } else if scan::has_comma(self.src, last_end, pos) {
                ("", ",")
            } else {
                (", ", "")
            };
            self.current_doc().flow_root = Some((pos, seps));
        } else if self.stack.is_empty() {
            let ls = scan::line_start(self.src, node_start);
            let lead = &self.src[ls..node_start];
            if lead.bytes().all(|c| c == b' ' || c == b'\t') {
                let lead = lead.to_string();
                self.current_doc().root_indent = lead;
            }
        }
        // An empty collection (not the document root) is structure.
        let empty = if frame.map {
            frame.keys.is_empty()
        } else {
            frame.items == 0
        };
        if empty && !self.stack.is_empty() {
            let shape = if frame.map {
                Shape::EmptyMap
            } else {
                Shape::EmptyList
            };
            self.out.leaves.push(Leaf::new(
                self.loc[..frame.r.loc_len.min(self.loc.len())].to_vec(),
                frame.r.depth - 1,
                LeafKind::Structure(shape),
                Some(node_start..node_end),
            ));
            self.out.infos.push(Info::Structure);
        }
        self.closed.push(frame.r);
        let _ = frame.meta_key_start;
        if flow {
            self.after_token();
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        s: usize,
        e: usize,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
    ) -> Result<(), FormatError> {
        let props_from = self.prev_end;
        let (tok, block) = scalar_span(self, s, e, value, style)?;
        let gap_end = block
            .as_ref()
            .map_or(tok.start, |b| b.content.start.min(tok.end));
        let tok_end = tok.end;
        self.token(gap_end, tok_end);
        if let Some(m) = &mut self.meta {
            if let Some(done) = m.add(meta_scalar(value, style, tag)) {
                self.meta_done(done);
            }
            self.after_token();
            return Ok(());
        }
        let flow = self.in_flow();
        let role = self.role();
        let (_path_len, loc_len, depth, parent_col, in_seq) = match role {
            Role::Root => {
                // An empty document reads as a zero-width null and is fine;
                // a written `~` or `null` is a scalar document, and the
                // metadata appended to it would not parse.
                let null = matches!(scalar_value(value, style, tag), Ok(None));
                if !null || tok.end > tok.start {
                    return Err(unsupported(
                        self.loc(tok.start),
                        "the document is a scalar; SOPS needs a mapping at the top level",
                        exit::COULD_NOT_READ_INPUT,
                    ));
                }
                self.after_token();
                return Ok(());
            }
            Role::Key => {
                let key = match scalar_value(value, style, tag) {
                    // Keys are not secrets: take the text instead of copying it.
                    Ok(Some((Value::Str(mut k), _))) => std::mem::take(&mut *k),
                    _ => {
                        return Err(unsupported(
                            self.loc(tok.start),
                            "a mapping key that is not a string (SOPS only supports string keys)",
                            exit::ERROR_ENCRYPTING_TREE,
                        ));
                    }
                };
                self.key(key, tok.start)?;
                self.after_token();
                return Ok(());
            }
            Role::Value {
                path_len,
                loc_len,
                depth,
                parent_col,
                in_seq,
            } => (path_len, loc_len, depth, parent_col, in_seq),
        };
        // saphyr refuses `key:<tab>value` but lets `key:<tab>:x` through;
        // the ENC[...] that replaces `:x` would then not read back. Refuse
        // a tab after a block value indicator before a plain value up front
        // (quoted and block values after a tab are fine for saphyr).
        if !flow && style == ScalarStyle::Plain {
            let b = self.src.as_bytes();
            let mut i = tok.start;
            while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
                i -= 1;
            }
            if i > 0 && b[i - 1] == b':' && b.get(i) == Some(&b'\t') {
                return Err(FormatError::syntax(
                    self.src,
                    i - 1,
                    "':' must be followed by a valid YAML whitespace (a space, not a tab)",
                ));
            }
        }
        let first_leaf = self.out.leaves.len();
        let resolved = scalar_value(value, style, tag)
            .map_err(|m| unsupported(self.loc(tok.start), m, exit::ERROR_ENCRYPTING_TREE))?;
        if let Some((v, typed)) = resolved {
            let b = self.src.as_bytes();
            let dash = if in_seq && !flow {
                let mut i = tok.start;
                while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
                    i -= 1;
                }
                (i > 0 && b[i - 1] == b'-').then(|| i - 1)
            } else {
                None
            };
            self.out.leaves.push(Leaf::new(
                self.loc[..loc_len.min(self.loc.len())].to_vec(),
                depth,
                LeafKind::Scalar {
                    value: v,
                    source: typed.then(|| zeroize::Zeroizing::new(value.to_string())),
                },
                Some(tok.clone()),
            ));
            self.out.infos.push(Info::Scalar {
                style: style_of(style),
                flow,
                block,
                dash,
                parent_col,
                str_tag: tag.is_some_and(|t| !t.is_yaml_core_schema() || t.suffix == "str"),
            });
        } else {
            self.out.leaves.push(Leaf::new(
                self.loc[..loc_len.min(self.loc.len())].to_vec(),
                depth,
                LeafKind::Structure(Shape::Null),
                Some(tok.clone()),
            ));
            self.out.infos.push(Info::Structure);
        }
        let n = self.out.leaves.len();
        if anchor != 0 {
            let name = find_property(self.src, props_from, b'&')
                .map(|(a, b)| self.src[a + 1..b].to_string())
                .unwrap_or_default();
            self.out.anchors.push(Anchor {
                name: name.clone(),
                node: tok.clone(),
                leaves: first_leaf..n,
                scalar: true,
                flow,
                col: col_of(self.src, tok.start),
                loc_len,
                depth,
            });
            let i = self.out.anchors.len() - 1;
            self.anchor_ids.insert(anchor, i);
            self.anchor_names.insert(name, i);
        }
        if let Some(name) = is_marker_tag(tag)
            && let Some((a, b)) = find_property(self.src, props_from, b'!')
        {
            let _ = b;
            self.out.marked.push(Marked {
                name: name.to_string(),
                span: a..tok.end,
                tag: a..tok.start,
                leaves: first_leaf..n,
                anchor: self.anchor_names.get(name).copied(),
            });
        }
        self.after_token();
        Ok(())
    }

    fn alias(&mut self, s: usize, id: usize) -> Result<(), FormatError> {
        let end = scan::alias_end(self.src, s);
        self.token(s, end);
        if let Some(m) = &mut self.meta {
            if let Some(done) = m.add(MetaNode::Null) {
                self.meta_done(done);
            }
            self.after_token();
            return Ok(());
        }
        let name = self.src[s + 1..end].to_string();
        let anchor = self.anchor_ids.get(&id).copied();
        let flow = self.in_flow();
        match self.role() {
            Role::Root => {
                return Err(unsupported(
                    self.loc(s),
                    "the document is an alias; SOPS needs a mapping at the top level",
                    exit::COULD_NOT_READ_INPUT,
                ));
            }
            Role::Key => {
                // An alias can only name a string through a value anchored
                // earlier (keys are not leaves), and that value may be
                // encrypted, which would turn this key into ciphertext: SOPS
                // itself expands aliases, so it never writes such a key.
                return Err(unsupported(
                    self.loc(s),
                    "an alias used as a mapping key (SOPS expands aliases; write the key out)",
                    exit::ERROR_ENCRYPTING_TREE,
                ));
            }
            Role::Value {
                path_len: _,
                loc_len,
                depth,
                parent_col,
                ..
            } => {
                let first = self.out.leaves.len();
                if let Some(ai) = anchor {
                    let a = self.out.anchors[ai].clone();
                    let loc_prefix = &self.loc[..loc_len.min(self.loc.len())];
                    for j in a.leaves.clone() {
                        let l = &self.out.leaves[j];
                        if l.is_comment() {
                            continue;
                        }
                        let mut loc = loc_prefix.to_vec();
                        loc.extend_from_slice(&l.loc[a.loc_len.min(l.loc.len())..]);
                        let leaf = Leaf::new(
                            loc,
                            depth + l.depth.saturating_sub(a.depth),
                            l.kind.clone(),
                            None,
                        );
                        self.out.leaves.push(leaf);
                        self.out.infos.push(Info::Virtual {
                            alias: self.out.aliases.len(),
                            source: j,
                        });
                    }
                    self.out.aliases.push(AliasUse {
                        name,
                        span: s..end,
                        anchor: ai,
                        leaves: first..self.out.leaves.len(),
                        flow,
                        indent: parent_col + 2,
                    });
                }
            }
        }
        self.after_token();
        Ok(())
    }
}
