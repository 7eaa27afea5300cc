//! The format-neutral model that every format module produces.
//!
//! A format module parses text into an ordered list of [`Leaf`]s (key path,
//! typed value or comment, exact byte span) plus the parsed `sops` metadata
//! block, and later renders output by splicing new text into those spans of
//! the *original* text. Encryption, the MAC, metadata and rules are written
//! once, in [`crate::engine`], over that list. No format ever re-serialises a
//! document.

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

/// A byte range in the source text.
pub type Span = Range<usize>;

/// The value types of the SOPS model (`type:` in `ENC[...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
    Time,
    Comment,
}

impl ValueType {
    /// The name written after `type:` in an `ENC[...]` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<ValueType> {
        Some(match s {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            _ => return None,
        })
    }
}

/// A typed scalar, resolved by the rules of the format it came from
/// (YAML `0x1F` is `Int(31)`, JSON `1.0` is `Float(1.0)`, and so on).
#[derive(Clone, PartialEq)]
pub enum Value {
    Str(Zeroizing<String>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A timestamp, held as its canonical RFC 3339 text with nanoseconds
    /// (Go's `time.RFC3339Nano`), which is what SOPS hashes and encrypts.
    Time(Zeroizing<String>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Zeroizing::new(s.into()))
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::Str,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Time(_) => ValueType::Time,
        }
    }
}

// Values are usually secrets: never print them by accident.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value::{:?}(<redacted>)", self.value_type())
    }
}

/// What a leaf holds.
#[derive(Clone, Debug)]
pub enum LeafKind {
    /// A scalar value. `source` is the scalar's token text as written, for
    /// non-string values (`1.50`, `true`, `+12`): when SOPS's own parser for
    /// the type reads it as the same value, the source text is what gets
    /// encrypted, so decryption can give back the very same bytes.
    Scalar {
        value: Value,
        source: Option<Zeroizing<String>>,
    },
    /// A comment; the text is everything after the comment marker (`#` or
    /// `;`), leading space included, as SOPS stores it.
    Comment(Zeroizing<String>),
    /// A null, an empty map or an empty list. SOPS never visits these (not
    /// encrypted, not in the MAC, no effect on rules); formats report them
    /// so the document's structure is complete for conversion and paths.
    Structure(Shape),
}

/// The values that are structure rather than data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Null,
    EmptyMap,
    EmptyList,
}

/// One visited item of the document, in SOPS walk order.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The full location from the document root: map keys and list
    /// indices, as `--extract` and `set` paths name it (`["a"][0]["b"]`).
    /// The key path ([`Leaf::path`]) is derived from it rather than kept
    /// as a second copy of every key: on a 100,000-value file the copy was
    /// a tenth of the peak memory.
    pub loc: Vec<crate::treepath::PathSeg>,
    /// Container nesting depth (maps and lists both count). Used only for the
    /// comment-regex rules, whose comment stack is kept per nesting level.
    pub depth: usize,
    pub kind: LeafKind,
    /// The bytes of the value (or of the comment text after its marker) in
    /// the source. `None` for a leaf with no text of its own, such as the
    /// copy of an anchored YAML value seen through an alias: it is hashed and
    /// ruled on like any other leaf, and if it must be encrypted the format
    /// expands the alias when rendering.
    pub span: Option<Span>,
}

impl Leaf {
    /// The one way formats build a leaf.
    pub fn new(
        loc: Vec<crate::treepath::PathSeg>,
        depth: usize,
        kind: LeafKind,
        span: Option<Span>,
    ) -> Leaf {
        Leaf {
            loc,
            depth,
            kind,
            span,
        }
    }

    /// Map keys from the document root: the location without its list
    /// indices. That is the SOPS rule for the AAD, see
    /// [`crate::crypto::aad`], and what the encryption rules match.
    pub fn path(&self) -> KeyPath<'_> {
        KeyPath(&self.loc)
    }

    pub fn is_comment(&self) -> bool {
        matches!(self.kind, LeafKind::Comment(_))
    }
}

/// The map keys of a location, borrowed from it (see [`Leaf::path`]).
#[derive(Clone, Copy)]
pub struct KeyPath<'a>(&'a [crate::treepath::PathSeg]);

impl<'a> KeyPath<'a> {
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a str> + Clone + 'a {
        self.0.iter().filter_map(|seg| match seg {
            crate::treepath::PathSeg::Key(k) => Some(k.as_str()),
            crate::treepath::PathSeg::Index(_) => None,
        })
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn last(&self) -> Option<&'a str> {
        self.iter().next_back()
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }

    pub fn join(&self, sep: &str) -> String {
        self.iter().collect::<Vec<_>>().join(sep)
    }
}

impl PartialEq for KeyPath<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for KeyPath<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(|s| s.as_ref()))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for KeyPath<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for KeyPath<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl fmt::Debug for KeyPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A sequence of map keys: a [`KeyPath`], or keys held as strings.
pub trait Keys {
    fn keys(&self) -> impl Iterator<Item = &str> + Clone;
}

impl Keys for KeyPath<'_> {
    fn keys(&self) -> impl Iterator<Item = &str> + Clone {
        self.iter()
    }
}

impl<S: AsRef<str>> Keys for [S] {
    fn keys(&self) -> impl Iterator<Item = &str> + Clone {
        self.iter().map(|s| s.as_ref())
    }
}

impl<S: AsRef<str>> Keys for Vec<S> {
    fn keys(&self) -> impl Iterator<Item = &str> + Clone {
        self.iter().map(|s| s.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> Keys for [S; N] {
    fn keys(&self) -> impl Iterator<Item = &str> + Clone {
        self.iter().map(|s| s.as_ref())
    }
}

/// A decrypted item, handed back to the format for rendering.
#[derive(Clone, Debug)]
pub enum Decrypted {
    /// `text` is the exact plaintext that was encrypted (for non-strings it
    /// may be the original token, e.g. `1.50`); `value` is what it means.
    /// A format writes `text` when it is a valid token for `value` in that
    /// format, and its own canonical form of `value` otherwise.
    Scalar {
        value: Value,
        text: Zeroizing<String>,
    },
    /// A comment's text (after the marker). Also used when a sequence item
    /// that SOPS wrote as a string decrypts to `type:comment` (a SOPS quirk
    /// with comments inside YAML lists).
    Comment(Zeroizing<String>),
}

/// What to do with one leaf when rendering.
#[derive(Clone, Debug)]
pub enum Replacement {
    /// Leave the leaf's text as it is.
    Keep,
    /// Replace the value (or comment text) with this `ENC[...]` string, in
    /// the style of the original (the format decides quoting).
    Encrypted(String),
    /// Replace the `ENC[...]` text with this plaintext.
    Decrypted(Decrypted),
}

/// A generic tree for the `sops` metadata block, in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaNode {
    Map(Vec<(String, MetaNode)>),
    List(Vec<MetaNode>),
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
}

impl MetaNode {
    pub fn get(&self, key: &str) -> Option<&MetaNode> {
        match self {
            MetaNode::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A parsed document of some format.
pub trait Document {
    /// Every leaf in SOPS walk order, the metadata block excluded.
    fn leaves(&self) -> &[Leaf];

    /// The parsed `sops` metadata block, if the document has one.
    fn metadata(&self) -> Option<&MetaNode>;

    /// Produce the output text: the original text with each leaf's span
    /// replaced as `edits` says (`edits.len() == leaves().len()`), the old
    /// metadata block removed, and `metadata` (if any) written in its place,
    /// in this format's layout. Implementations must check every span
    /// before writing and fail rather than produce a damaged document.
    fn render(
        &self,
        edits: &[Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Rendered, crate::error::FormatError>;

    /// What [`Document::render`] would produce, checked but not assembled,
    /// so that it can be written out piece by piece ([`Plan::write_to`])
    /// instead of being held whole in memory next to the document. Every
    /// check has passed when this returns: writing can fail only on I/O.
    fn plan<'s>(
        &'s self,
        edits: &'s [Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Plan<'s>, crate::error::FormatError> {
        Ok(Plan::text(self.render(edits, metadata)?))
    }

    /// [`Document::plan`] for encrypting, without the `ENC[...]` texts:
    /// every leaf `i` that `encrypt[i]` marks becomes an edit with a
    /// [`Fill`](crate::formats::splice::Fill) for slot `i`, written by
    /// [`Spliced::write_filled`](crate::formats::splice::Spliced::write_filled)
    /// as the values are encrypted a chunk at a time. `None` when the
    /// format (or this document: a YAML alias that would be expanded) does
    /// not support it; the caller then uses [`Document::plan`].
    fn plan_filled<'s>(
        &'s self,
        encrypt: &[bool],
        metadata: &MetaNode,
    ) -> Result<Option<crate::formats::splice::Spliced<'s>>, crate::error::FormatError> {
        let _ = (encrypt, metadata);
        Ok(None)
    }
}

/// The output of [`Document::plan`].
pub struct Plan<'s> {
    body: PlanBody<'s>,
    /// As [`Rendered::warnings`]; known before anything is written.
    pub warnings: Vec<String>,
}

enum PlanBody<'s> {
    Text(Zeroizing<String>),
    Splice(crate::formats::splice::Spliced<'s>),
}

impl<'s> Plan<'s> {
    /// Output that was assembled already.
    pub fn text(rendered: Rendered) -> Plan<'s> {
        Plan {
            body: PlanBody::Text(Zeroizing::new(rendered.text)),
            warnings: rendered.warnings,
        }
    }

    /// Output that is assembled as it is written.
    pub fn spliced(
        spliced: crate::formats::splice::Spliced<'s>,
        warnings: Vec<String>,
    ) -> Plan<'s> {
        Plan {
            body: PlanBody::Splice(spliced),
            warnings,
        }
    }

    /// Write the output to `w`, which should buffer (pieces can be small).
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.body {
            PlanBody::Text(t) => w.write_all(t.as_bytes()),
            PlanBody::Splice(s) => s.write_to(w),
        }
    }

    /// The output as one string.
    pub fn into_rendered(self) -> Rendered {
        let text = match self.body {
            PlanBody::Text(mut t) => std::mem::take(&mut *t),
            PlanBody::Splice(s) => s.into_string(),
        };
        Rendered {
            text,
            warnings: self.warnings,
        }
    }
}

/// Every `render` starts here: one edit per leaf, or nothing is written.
pub fn check_edit_count(
    edits: &[Replacement],
    leaves: &[Leaf],
) -> Result<(), crate::error::FormatError> {
    if edits.len() == leaves.len() {
        Ok(())
    } else {
        Err(crate::error::FormatError::SpanCheck(format!(
            "{} edits for {} leaves",
            edits.len(),
            leaves.len()
        )))
    }
}

/// The output of [`Document::render`].
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    /// Things the user should know about (an alias that had to be expanded,
    /// a layout that could not be kept). Never contains a secret value.
    pub warnings: Vec<String>,
}
