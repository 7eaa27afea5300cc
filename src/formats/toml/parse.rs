//! Reading a TOML document: the fast reader ([`super::fast`]) first; for
//! what it declines, toml_edit parses it (and reports syntax errors with
//! their location) and a tree walk collects every scalar with its byte
//! span. Either way a lexical scan finds the comments (toml_edit keeps
//! them only as opaque decor).

use toml_edit::{Item, Table, Value as TomlValue};

use crate::document::{Leaf, LeafKind, MetaNode, Shape, Span, Value};
use crate::error::FormatError;
use crate::treepath::PathSeg;
use crate::value::Timestamp;

/// A container that can hold comments: a `[table]` / `[[table]]` header
/// (its body runs to the next header) or an array / inline table (its span).
pub(super) struct Container {
    pub span: Span,
    // Not read since leaves derive their key path from `loc`; kept so the
    // builders here and in toml/fast.rs stay as they are.
    #[allow(dead_code)]
    pub path: Vec<String>,
    pub loc: Vec<PathSeg>,
}

pub(super) struct Parsed {
    pub leaves: Vec<Leaf>,
    pub metadata: Option<MetaNode>,
    /// Where the metadata block starts (its `[sops...]` header), when it is
    /// the removable trailing block shroud writes; `Err` holds why not.
    pub sops_start: Option<Result<usize, String>>,
}

pub(super) struct Walker<'s> {
    pub src: &'s str,
    pub leaves: Vec<Leaf>,
    /// Header starts of standard tables and array-of-tables items; the
    /// `bool` says whether the header belongs to the `sops` block.
    pub headers: Vec<(Container, bool)>,
    /// Arrays and inline tables, outside the `sops` block.
    pub inline: Vec<Container>,
    /// Set while walking the `sops` table: its headers are recorded, its
    /// values are not leaves.
    pub in_sops: bool,
}

/// Every leaf of a TOML document is made here, from the location it sits
/// at, so a change to [`Leaf`]'s layout is a change to this one function.
pub(super) fn make_leaf(loc: &[PathSeg], depth: usize, kind: LeafKind, span: Span) -> Leaf {
    Leaf::new(loc.to_vec(), depth, kind, Some(span))
}

/// Parse with the fast scanner ([`super::fast`]); anything it does not
/// accept (a syntax error, a redefinition, a `sops` key that is not the
/// trailing block, or a shape it is not sure of) goes through toml_edit,
/// which gives the error message or the answer.
pub(super) fn parse(src: &str) -> Result<Parsed, FormatError> {
    if src.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    match super::fast::parse(src) {
        // In unit tests every document read is also read by toml_edit, and
        // the two readings must agree: every TOML test is an oracle test.
        #[cfg(test)]
        Some(p) => {
            let slow = parse_edit(src).unwrap_or_else(|e| {
                panic!("fast TOML reader accepted what toml_edit rejects: {e}\n{src}")
            });
            if let Err(why) = same(&p, &slow) {
                panic!("fast and toml_edit TOML readers differ: {why}\n{src}");
            }
            Ok(p)
        }
        #[cfg(not(test))]
        Some(p) => Ok(p),
        None => parse_edit(src),
    }
}

/// Whether two readings are identical, leaf by leaf; `Err` says where not.
#[cfg(test)]
pub(super) fn same(a: &Parsed, b: &Parsed) -> Result<(), String> {
    if a.metadata != b.metadata {
        return Err(format!("metadata {:?} vs {:?}", a.metadata, b.metadata));
    }
    if a.sops_start != b.sops_start {
        return Err(format!(
            "sops_start {:?} vs {:?}",
            a.sops_start, b.sops_start
        ));
    }
    if a.leaves.len() != b.leaves.len() {
        return Err(format!("{} vs {} leaves", a.leaves.len(), b.leaves.len()));
    }
    for (i, (x, y)) in a.leaves.iter().zip(&b.leaves).enumerate() {
        let kinds_equal = match (&x.kind, &y.kind) {
            (
                LeafKind::Scalar {
                    value: Value::Float(f),
                    source: s,
                },
                LeafKind::Scalar {
                    value: Value::Float(g),
                    source: t,
                },
            ) => (f == g || (f.is_nan() && g.is_nan())) && s == t,
            (
                LeafKind::Scalar {
                    value: v,
                    source: s,
                },
                LeafKind::Scalar {
                    value: w,
                    source: t,
                },
            ) => v == w && s == t,
            (LeafKind::Comment(c), LeafKind::Comment(d)) => c == d,
            (LeafKind::Structure(c), LeafKind::Structure(d)) => c == d,
            _ => false,
        };
        if x.path() != y.path()
            || x.loc != y.loc
            || x.depth != y.depth
            || x.span != y.span
            || !kinds_equal
        {
            return Err(format!(
                "leaf {i}: {:?} {:?} {:?} vs {:?} {:?} {:?}",
                x.loc, x.span, x.kind, y.loc, y.span, y.kind
            ));
        }
    }
    Ok(())
}

/// Parse with toml_edit's document tree: the reference the fast scanner
/// must agree with (see the oracle test), and the source of error messages.
pub(super) fn parse_edit(src: &str) -> Result<Parsed, FormatError> {
    if src.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    let doc = toml_edit::Document::parse(src).map_err(|e| {
        // Only toml_edit's message and location: its Display would quote
        // the offending line, which may hold a secret.
        let at = e.span().map_or(0, |s| s.start);
        FormatError::syntax(src, at, e.message().trim().to_string())
    })?;
    let root = doc.as_table();
    let mut w = Walker {
        src,
        leaves: Vec::new(),
        headers: Vec::new(),
        inline: Vec::new(),
        in_sops: false,
    };
    let mut path = Vec::new();
    let mut loc = Vec::new();
    w.table(root, &mut path, &mut loc, true)?;

    let metadata = root.get("sops").map(item_to_node);
    let sops_start = root.get("sops").map(|item| sops_block_start(&w, item));
    let sops_at = match &sops_start {
        Some(Ok(at)) => *at,
        // An unremovable block: still keep its text out of the leaves that
        // follow it. Nothing is written for such a document anyway.
        Some(Err(_)) => w
            .headers
            .iter()
            .filter(|(_, sops)| *sops)
            .map(|(c, _)| c.span.start)
            .min()
            .unwrap_or(src.len()),
        None => src.len(),
    };

    Ok(finish(w, sops_at, metadata, sops_start))
}

/// Order the leaves by text and add the comments before `sops_at`.
pub(super) fn finish(
    mut w: Walker,
    sops_at: usize,
    metadata: Option<MetaNode>,
    sops_start: Option<Result<usize, String>>,
) -> Parsed {
    // Text order is the walk order: toml_edit groups keys by table, and
    // tables may be split across the file (`[a]`, `[b]`, `[a.c]`).
    w.leaves
        .sort_by_key(|l| l.span.as_ref().map_or(0, |s| s.start));
    let comments = comment_leaves(&mut w, sops_at);
    let leaves = merge_by_start(std::mem::take(&mut w.leaves), comments);
    Parsed {
        leaves,
        metadata,
        sops_start,
    }
}

/// The fast reader's leaves ([`super::fast`]) come in text order with the
/// comments among them; only an empty array or inline table holding a
/// comment puts its own leaf (made when it closes) after that comment.
pub(super) fn finish_ordered(
    mut leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
    sops_start: Option<Result<usize, String>>,
) -> Parsed {
    let start = |l: &Leaf| l.span.as_ref().map_or(0, |s| s.start);
    if !leaves.is_sorted_by_key(start) {
        leaves.sort_by_key(start);
    }
    Parsed {
        leaves,
        metadata,
        sops_start,
    }
}

/// The start of the metadata block, if it is a trailing run of `[sops…]`
/// headers with nothing of the data after it.
fn sops_block_start(w: &Walker, item: &Item) -> Result<usize, String> {
    let not_block =
        || "the sops metadata must be a [sops] table at the end of the file".to_string();
    if !matches!(item, Item::Table(t) if !t.is_dotted()) {
        return Err(not_block());
    }
    let start = w
        .headers
        .iter()
        .filter(|(_, sops)| *sops)
        .map(|(c, _)| c.span.start)
        .min()
        .ok_or_else(not_block)?;
    let data_after = w
        .headers
        .iter()
        .any(|(c, sops)| !*sops && c.span.start > start)
        || w.leaves
            .iter()
            .any(|l| l.span.as_ref().is_some_and(|s| s.start > start));
    if data_after {
        return Err(not_block());
    }
    Ok(start)
}

impl Walker<'_> {
    fn table(
        &mut self,
        table: &Table,
        path: &mut Vec<String>,
        loc: &mut Vec<PathSeg>,
        root: bool,
    ) -> Result<(), FormatError> {
        for (key, item) in table.iter() {
            let was_sops = self.in_sops;
            if root && key == "sops" {
                self.in_sops = true;
            }
            path.push(key.to_string());
            loc.push(PathSeg::Key(key.to_string()));
            match item {
                Item::None => {}
                Item::Value(v) => self.value(v, path, loc)?,
                Item::Table(t) => {
                    self.header(t, path, loc);
                    self.table(t, path, loc, false)?;
                }
                Item::ArrayOfTables(a) => {
                    for (i, t) in a.iter().enumerate() {
                        loc.push(PathSeg::Index(i));
                        self.header(t, path, loc);
                        self.table(t, path, loc, false)?;
                        loc.pop();
                    }
                }
            }
            path.pop();
            loc.pop();
            self.in_sops = was_sops;
        }
        Ok(())
    }

    /// Record the header of a table written as `[a.b]` or `[[a]]`.
    fn header(&mut self, t: &Table, path: &[String], loc: &[PathSeg]) {
        if t.is_implicit() || t.is_dotted() {
            return;
        }
        if let Some(span) = t.span() {
            self.headers.push((
                Container {
                    span,
                    path: path.to_vec(),
                    loc: loc.to_vec(),
                },
                self.in_sops,
            ));
        }
    }

    fn value(
        &mut self,
        v: &TomlValue,
        path: &mut Vec<String>,
        loc: &mut Vec<PathSeg>,
    ) -> Result<(), FormatError> {
        if self.in_sops {
            return Ok(());
        }
        let span = v
            .span()
            .ok_or_else(|| FormatError::SpanCheck("a TOML value without a span".into()))?;
        let raw = self
            .src
            .get(span.clone())
            .ok_or_else(|| FormatError::SpanCheck("a TOML span out of bounds".into()))?;
        // Only scalars keep their token (an array's text can be large).
        let source = || Some(raw.to_string());
        let (value, source) = match v {
            TomlValue::Array(a) => {
                self.inline.push(Container {
                    span: span.clone(),
                    path: path.clone(),
                    loc: loc.clone(),
                });
                for (i, x) in a.iter().enumerate() {
                    loc.push(PathSeg::Index(i));
                    self.value(x, path, loc)?;
                    loc.pop();
                }
                if a.is_empty() {
                    self.structure(Shape::EmptyList, span, loc);
                }
                return Ok(());
            }
            TomlValue::InlineTable(t) => {
                self.inline.push(Container {
                    span: span.clone(),
                    path: path.clone(),
                    loc: loc.clone(),
                });
                for (k, x) in t.iter() {
                    path.push(k.to_string());
                    loc.push(PathSeg::Key(k.to_string()));
                    self.value(x, path, loc)?;
                    path.pop();
                    loc.pop();
                }
                if t.is_empty() {
                    self.structure(Shape::EmptyMap, span, loc);
                }
                return Ok(());
            }
            TomlValue::String(s) => (Value::str(s.value().as_str()), None),
            TomlValue::Integer(i) => (Value::Int(*i.value()), source()),
            TomlValue::Float(f) => (Value::Float(*f.value()), source()),
            TomlValue::Boolean(b) => (Value::Bool(*b.value()), source()),
            TomlValue::Datetime(d) => {
                let dt = d.value();
                let full = dt.date.is_some() && dt.time.is_some() && dt.offset.is_some();
                match Timestamp::parse_rfc3339(raw).filter(|_| full) {
                    // An offset date-time Go reads as RFC 3339: a SOPS time.
                    Some(ts) => (
                        Value::Time(zeroize::Zeroizing::new(ts.to_rfc3339_nano())),
                        source(),
                    ),
                    // Local dates and times (and offset forms Go rejects,
                    // such as a space for `T`) have no SOPS type: they are
                    // the string of their token, written back bare.
                    None => (Value::str(raw), None),
                }
            }
        };
        self.leaves.push(make_leaf(
            loc,
            loc.len(),
            LeafKind::Scalar {
                value,
                source: source.map(zeroize::Zeroizing::new),
            },
            span,
        ));
        Ok(())
    }

    /// An empty array or inline table: structure, never encrypted.
    fn structure(&mut self, shape: Shape, span: Span, loc: &[PathSeg]) {
        self.leaves
            .push(make_leaf(loc, loc.len(), LeafKind::Structure(shape), span));
    }
}

/// Find every comment before `end` with a lexical scan (outside strings, `#`
/// always starts a comment in TOML), and give each the path of the
/// innermost container it sits in.
fn comment_leaves(w: &mut Walker, end: usize) -> Vec<Leaf> {
    let spans = comment_spans(&w.src.as_bytes()[..end]);
    let mut headers: Vec<&Container> = w
        .headers
        .iter()
        .filter(|(_, sops)| !*sops)
        .map(|(c, _)| c)
        .collect();
    headers.sort_by_key(|c| c.span.start);
    w.inline.sort_by_key(|c| c.span.start);
    let root = Container {
        span: 0..w.src.len(),
        path: Vec::new(),
        loc: Vec::new(),
    };
    let mut out = Vec::with_capacity(spans.len());
    let mut h = 0;
    let mut i = 0;
    let mut stack: Vec<&Container> = Vec::new();
    for span in spans {
        let at = span.start;
        while h < headers.len() && headers[h].span.start < at {
            h += 1;
        }
        while i < w.inline.len() && w.inline[i].span.start < at {
            let c = &w.inline[i];
            while stack.last().is_some_and(|top| top.span.end <= c.span.start) {
                stack.pop();
            }
            stack.push(c);
            i += 1;
        }
        while stack.last().is_some_and(|top| top.span.end <= at) {
            stack.pop();
        }
        let c = match stack.last() {
            Some(c) => c,
            None if h > 0 => headers[h - 1],
            None => &root,
        };
        out.push(comment_leaf(w.src, &c.loc, span));
    }
    out
}

/// The leaf of the comment whose text is `span`, in the container at
/// `path` / `loc`.
pub(super) fn comment_leaf(src: &str, loc: &[PathSeg], span: Span) -> Leaf {
    let text = zeroize::Zeroizing::new(src[span.clone()].to_string());
    make_leaf(loc, loc.len() + 1, LeafKind::Comment(text), span)
}

/// The text of every comment (after `#`, up to the line break) in a
/// document already known to be valid TOML.
pub(super) fn comment_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    // A run of `q` starting at `i`, up to `max` long.
    let run =
        |i: usize, q: u8, max: usize| b[i..].iter().take(max).take_while(|&&c| c == q).count();
    while i < b.len() {
        match b[i] {
            b'#' => {
                let start = i + 1;
                let mut e = start;
                while e < b.len() && b[e] != b'\n' {
                    e += 1;
                }
                let end = if e > start && b[e - 1] == b'\r' {
                    e - 1
                } else {
                    e
                };
                out.push(start..end);
                i = e;
            }
            q @ (b'"' | b'\'') if run(i, q, 3) == 3 => {
                i += 3;
                while i < b.len() {
                    if q == b'"' && b[i] == b'\\' {
                        i += 2;
                    } else if b[i] == q && run(i, q, 3) == 3 {
                        // Up to two more quotes belong to the content.
                        i += run(i, q, 5);
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Merge two lists each sorted by span start.
fn merge_by_start(a: Vec<Leaf>, b: Vec<Leaf>) -> Vec<Leaf> {
    let start = |l: &Leaf| l.span.as_ref().map_or(0, |s| s.start);
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for l in a {
        while b.peek().is_some_and(|c| start(c) < start(&l)) {
            out.extend(b.next());
        }
        out.push(l);
    }
    out.extend(b);
    out
}

/// The metadata block as a generic tree.
pub(super) fn item_to_node(item: &Item) -> MetaNode {
    match item {
        Item::None => MetaNode::Null,
        Item::Value(v) => value_to_node(v),
        Item::Table(t) => table_to_node(t),
        Item::ArrayOfTables(a) => MetaNode::List(a.iter().map(table_to_node).collect()),
    }
}

fn table_to_node(t: &Table) -> MetaNode {
    MetaNode::Map(
        t.iter()
            .map(|(k, v)| (k.to_string(), item_to_node(v)))
            .collect(),
    )
}

fn value_to_node(v: &TomlValue) -> MetaNode {
    match v {
        TomlValue::String(s) => MetaNode::Str(s.value().clone()),
        TomlValue::Integer(i) => MetaNode::Int(*i.value()),
        TomlValue::Float(f) => MetaNode::Str(f.value().to_string()),
        TomlValue::Boolean(b) => MetaNode::Bool(*b.value()),
        TomlValue::Datetime(d) => MetaNode::Str(d.value().to_string()),
        TomlValue::Array(a) => MetaNode::List(a.iter().map(value_to_node).collect()),
        TomlValue::InlineTable(t) => MetaNode::Map(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_node(v)))
                .collect(),
        ),
    }
}
