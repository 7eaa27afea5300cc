//! Structural changes to a plaintext document, for `set` and `unset`: a new
//! key (with any missing intermediate maps), an item appended to a list, a
//! scalar replaced by a map or list, a map or list replaced by any value,
//! a key or list item removed.
//!
//! Like everything else that writes a document, a change is a splice of the
//! original text: the lines or tokens around the change stay byte for byte.
//! It works on the *plaintext* (the caller decrypts first and encrypts the
//! result with its IV stash, so every unchanged ciphertext is kept and only
//! new values get fresh IVs: see [`crate::engine::IvStash`]).
//!
//! How a change is made, for every format:
//! 1. the document's leaves are read into a tree, the path is checked
//!    against it (missing keys, wrong types, index out of range all give an
//!    error that names the path) and the change is planned;
//! 2. the format's splicer inserts or removes text, writing each new
//!    scalar as a placeholder token (a plain string);
//! 3. the format's own renderer writes the real values over the
//!    placeholders, so quoting and escaping are exactly what `decrypt` would
//!    write;
//! 4. the result is parsed again and its values compared with the values
//!    the change should produce. Any difference (a layout the splicer did
//!    not foresee) is an error and nothing is written.
//!
//! Per format: YAML block maps and lists get new lines at the indentation of
//! their siblings, flow collections (and JSON) get `, item` before the
//! closing bracket with the separator of the siblings; TOML puts a new key
//! in its table after the table's last value, creates missing maps as
//! dotted keys (`a.b = 1`), extends a dotted table with one more dotted
//! line, appends to an array of tables with a new `[[x]]` header and writes
//! map values as inline tables; dotenv holds top-level keys only and INI
//! `section.key`.

use zeroize::Zeroizing;

use crate::document::{Decrypted, Leaf, LeafKind, Replacement, Shape, Value};
use crate::error::FormatError;
use crate::formats::Format;
use crate::formats::splice::{Edit, splice};
use crate::treepath::PathSeg;

/// A value to write: JSON, as `set` takes it, with each scalar already
/// typed (integers stay integers).
#[derive(Clone)]
pub enum NewValue {
    Scalar {
        value: Value,
        /// The exact plaintext (for numbers, the token as written).
        text: Zeroizing<String>,
    },
    Null,
    Map(Vec<(String, NewValue)>),
    List(Vec<NewValue>),
}

impl std::fmt::Debug for NewValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewValue(<redacted>)")
    }
}

impl NewValue {
    /// Read a JSON value (`'"text"'`, `42`, `1.5`, `true`, `{"a": [1]}`).
    pub fn from_json(json: &str) -> Result<NewValue, StructureError> {
        let token = json.trim();
        let v: serde_json::Value = serde_json::from_str(token).map_err(|e| {
            StructureError::BadValue(format!(
                "it is not valid JSON (line {}, column {}); write strings with quotes: '\"text\"'",
                e.line(),
                e.column()
            ))
        })?;
        let mut out = Self::convert(&v)?;
        // A top-level number keeps the token as typed (`1.50` stays `1.50`).
        if let NewValue::Scalar { value, text } = &mut out
            && matches!(value, Value::Int(_) | Value::Float(_))
        {
            *text = Zeroizing::new(token.to_string());
        }
        Ok(out)
    }

    fn convert(v: &serde_json::Value) -> Result<NewValue, StructureError> {
        use serde_json::Value as J;
        Ok(match v {
            J::Null => NewValue::Null,
            J::Bool(b) => NewValue::Scalar {
                value: Value::Bool(*b),
                text: Zeroizing::new(b.to_string()),
            },
            J::String(s) => NewValue::Scalar {
                value: Value::str(s.clone()),
                text: Zeroizing::new(s.clone()),
            },
            J::Number(n) => match n.as_i64() {
                Some(i) => NewValue::Scalar {
                    value: Value::Int(i),
                    text: Zeroizing::new(n.to_string()),
                },
                None => {
                    let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                        StructureError::BadValue("a number is out of range".into())
                    })?;
                    NewValue::Scalar {
                        value: Value::Float(f),
                        text: Zeroizing::new(n.to_string()),
                    }
                }
            },
            J::Array(items) => {
                NewValue::List(items.iter().map(Self::convert).collect::<Result<_, _>>()?)
            }
            J::Object(m) => NewValue::Map(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), Self::convert(v)?)))
                    .collect::<Result<_, StructureError>>()?,
            ),
        })
    }

    /// The scalar value, when this is one.
    pub fn as_scalar(&self) -> Option<(&Value, &Zeroizing<String>)> {
        match self {
            NewValue::Scalar { value, text } => Some((value, text)),
            _ => None,
        }
    }
}

/// What went wrong with a structural change. Messages name paths, never
/// values.
#[derive(Debug, thiserror::Error)]
pub enum StructureError {
    #[error("{path}: key not found")]
    NotFound { path: String },
    #[error("{path} is {found}, not a {want}, so {next} cannot be set in it")]
    NotContainer {
        path: String,
        found: &'static str,
        want: &'static str,
        next: String,
    },
    #[error("{path} has {len} items: an index can be at most {len} (which appends)")]
    IndexOutOfRange { path: String, len: usize },
    #[error("the value is not usable: {0}")]
    BadValue(String),
    #[error("{format} files cannot hold this: {reason}")]
    Unsupported {
        format: &'static str,
        reason: String,
    },
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error(
        "the change to {path} could not be written into the existing text safely ({reason}); use shroud edit"
    )]
    Splice { path: String, reason: String },
}

/// A change to make.
pub enum Change<'a> {
    Set {
        path: &'a [PathSeg],
        value: &'a NewValue,
    },
    Unset {
        path: &'a [PathSeg],
    },
}

/// `["a"][0]` for messages; the root is `[]`.
pub fn show_path(path: &[PathSeg]) -> String {
    if path.is_empty() {
        return "the document root".into();
    }
    path.iter().map(|s| s.to_string()).collect()
}

/// What [`apply`] did.
pub enum Outcome {
    /// The new plaintext text.
    Changed(Zeroizing<String>),
    /// `set` of the value the path already holds.
    Unchanged,
}

/// Apply `change` to the plaintext `src` of `format`.
pub fn apply(format: Format, src: &str, change: &Change) -> Result<Outcome, StructureError> {
    let doc = format.parse(src)?;
    let leaves = doc.leaves();
    let tree = Tree::build(leaves);
    let coerce = matches!(format, Format::Dotenv | Format::Ini);
    let ctx = Ctx {
        src,
        leaves,
        format,
    };
    if format == Format::Yaml && yaml_documents(src) > 1 {
        let path = match change {
            Change::Set { path, .. } | Change::Unset { path } => path,
        };
        return Err(splice_err(path, "the file holds several YAML documents"));
    }
    let mut phs = Placeholders::new(src)?;
    let (edits, path) = match change {
        Change::Set { path, value } => {
            if path.is_empty() {
                return Err(StructureError::BadValue(
                    "the path is empty; name a key, like '[\"key\"]'".into(),
                ));
            }
            let edits = match tree.locate(path, leaves)? {
                Found::At(TNode::Leaf(i)) => {
                    if let (Some((value, text)), LeafKind::Scalar { value: old, .. }) =
                        (value.as_scalar(), &leaves[*i].kind)
                    {
                        if old == value {
                            return Ok(Outcome::Unchanged);
                        }
                        // A scalar over a scalar: the renderer writes it in
                        // the old value's style, nothing else moves.
                        let mut edits = vec![Replacement::Keep; leaves.len()];
                        edits[*i] = Replacement::Decrypted(Decrypted::Scalar {
                            value: coerced(value, text, coerce),
                            text: text.clone(),
                        });
                        let out = Zeroizing::new(doc.render(&edits, None)?.text);
                        verify(&ctx, &out, path, change, coerce)?;
                        return Ok(Outcome::Changed(out));
                    }
                    let frag = phs.frag(value);
                    splicer(format).replace(&ctx, *i, path, &frag)?
                }
                Found::At(node) => {
                    let children: Vec<PathSeg> = match node {
                        TNode::Map(entries) => entries
                            .iter()
                            .map(|(k, _)| PathSeg::Key(k.clone()))
                            .collect(),
                        TNode::List(items) => (0..items.len()).map(PathSeg::Index).collect(),
                        TNode::Leaf(_) => Vec::new(),
                    };
                    return replace_container(format, src, path, &children, value);
                }
                Found::Missing { depth } => {
                    let container = &path[..depth];
                    let (key, rest_from) = match &path[depth] {
                        PathSeg::Key(k) => (Some(k.as_str()), depth + 1),
                        PathSeg::Index(_) => (None, depth + 1),
                    };
                    let mut rest = Vec::new();
                    for seg in &path[rest_from..] {
                        match seg {
                            PathSeg::Key(k) => rest.push(k.clone()),
                            PathSeg::Index(_) => {
                                return Err(StructureError::NotFound {
                                    path: show_path(&path[..rest_from]),
                                });
                            }
                        }
                    }
                    let frag = phs.frag(value);
                    match ctx.leaf_at(container) {
                        // A null gets the new map or list in its place.
                        Some(l) if matches!(l.kind, LeafKind::Structure(Shape::Null)) => {
                            let i = leaves
                                .iter()
                                .position(|x| std::ptr::eq(x, l))
                                .unwrap_or_default();
                            let inner = match key {
                                Some(k) => Frag::Map(vec![(k.to_string(), nest(&rest, &frag))]),
                                None => Frag::List(vec![frag]),
                            };
                            splicer(format).replace(&ctx, i, path, &inner)?
                        }
                        _ => splicer(format).insert(&ctx, container, key, &rest, &frag, path)?,
                    }
                }
            };
            (edits, *path)
        }
        Change::Unset { path } => {
            if path.is_empty() {
                return Err(StructureError::BadValue("the path is empty".into()));
            }
            match tree.locate(path, leaves)? {
                Found::At(_) => {}
                Found::Missing { .. } => {
                    return Err(StructureError::NotFound {
                        path: show_path(path),
                    });
                }
            }
            if path.len() == 1 && tree.len() == 1 {
                return Err(StructureError::Splice {
                    path: show_path(path),
                    reason: "it is the only key; the file would hold no data".into(),
                });
            }
            (splicer(format).remove(&ctx, path)?, *path)
        }
    };
    let with_ph = splice(src, edits).map_err(|e| StructureError::Splice {
        path: show_path(path),
        reason: e.to_string(),
    })?;
    let out = phs.fill(format, &with_ph, coerce, path)?;
    verify(&ctx, &out, path, change, coerce)?;
    Ok(Outcome::Changed(out))
}

/// `set` of a path that holds a non-empty map or list (sops replaces it).
/// First its entries are removed one by one, from the last, which leaves
/// `{}` or `[]` in its place, and the new value is written over that, so
/// the key keeps its place among its siblings. Where a format cannot hold
/// the empty collection in place (a TOML `[table]` emptied of its keys),
/// the key is removed whole and written anew at the end of its parent
/// instead. Each step is spliced and checked like any other change.
fn replace_container(
    format: Format,
    src: &str,
    path: &[PathSeg],
    children: &[PathSeg],
    value: &NewValue,
) -> Result<Outcome, StructureError> {
    let set = |text: &Zeroizing<String>| -> Result<Zeroizing<String>, StructureError> {
        Ok(match apply(format, text, &Change::Set { path, value })? {
            Outcome::Changed(t) => t,
            Outcome::Unchanged => text.clone(),
        })
    };
    let in_place = || -> Result<Zeroizing<String>, StructureError> {
        let mut current = Zeroizing::new(src.to_string());
        for seg in children.iter().rev() {
            let mut child = path.to_vec();
            child.push(seg.clone());
            if let Outcome::Changed(t) = apply(format, &current, &Change::Unset { path: &child })? {
                current = t;
            }
        }
        set(&current)
    };
    let anew = || -> Result<Zeroizing<String>, StructureError> {
        match apply(format, src, &Change::Unset { path })? {
            Outcome::Changed(t) => set(&t),
            Outcome::Unchanged => set(&Zeroizing::new(src.to_string())),
        }
    };
    let out = match in_place() {
        Ok(t) => t,
        Err(first) => anew().map_err(|_| match first {
            // The value itself is the problem (e.g. a map in INI): say so.
            e @ (StructureError::Unsupported { .. } | StructureError::BadValue(_)) => e,
            e => StructureError::Splice {
                path: show_path(path),
                reason: format!("replacing the map or list it holds: {e}"),
            },
        })?,
    };
    Ok(if *out == *src {
        Outcome::Unchanged
    } else {
        Outcome::Changed(out)
    })
}

fn coerced(value: &Value, text: &Zeroizing<String>, coerce: bool) -> Value {
    if coerce {
        Value::Str(text.clone())
    } else {
        value.clone()
    }
}

// ---------------------------------------------------------------------------
// The tree of the document, from its leaves.

enum TNode {
    Leaf(usize),
    Map(Vec<(String, TNode)>),
    List(Vec<TNode>),
}

enum Found<'t> {
    At(&'t TNode),
    Missing { depth: usize },
}

struct Tree(TNode);

impl Tree {
    fn build(leaves: &[Leaf]) -> Tree {
        let first_index = leaves
            .iter()
            .filter(|l| !l.is_comment())
            .find_map(|l| l.loc.first())
            .is_some_and(|s| matches!(s, PathSeg::Index(_)));
        let mut root = if first_index {
            TNode::List(vec![])
        } else {
            TNode::Map(vec![])
        };
        for (i, l) in leaves.iter().enumerate() {
            if l.is_comment() {
                continue;
            }
            insert(&mut root, &l.loc, i);
        }
        Tree(root)
    }

    fn len(&self) -> usize {
        match &self.0 {
            TNode::Map(m) => m.len(),
            TNode::List(l) => l.len(),
            TNode::Leaf(_) => 1,
        }
    }

    fn locate(&self, path: &[PathSeg], leaves: &[Leaf]) -> Result<Found<'_>, StructureError> {
        let mut node = &self.0;
        for (i, seg) in path.iter().enumerate() {
            let here = || show_path(&path[..i]);
            let next = || show_path(&path[..=i]);
            match (node, seg) {
                (TNode::Map(es), PathSeg::Key(k)) => match es.iter().find(|(ek, _)| ek == k) {
                    Some((_, child)) => node = child,
                    None => return Ok(Found::Missing { depth: i }),
                },
                (TNode::List(items), PathSeg::Index(n)) => {
                    if *n < items.len() {
                        node = &items[*n];
                    } else if *n == items.len() {
                        return Ok(Found::Missing { depth: i });
                    } else {
                        return Err(StructureError::IndexOutOfRange {
                            path: here(),
                            len: items.len(),
                        });
                    }
                }
                (TNode::Leaf(l), seg) => {
                    let shape = match &leaves[*l].kind {
                        LeafKind::Structure(s) => Some(*s),
                        _ => None,
                    };
                    return match (shape, seg) {
                        (Some(Shape::EmptyMap | Shape::Null), PathSeg::Key(_)) => {
                            Ok(Found::Missing { depth: i })
                        }
                        (Some(Shape::EmptyList | Shape::Null), PathSeg::Index(0)) => {
                            Ok(Found::Missing { depth: i })
                        }
                        (Some(Shape::EmptyList), PathSeg::Index(_)) => {
                            Err(StructureError::IndexOutOfRange {
                                path: here(),
                                len: 0,
                            })
                        }
                        (shape, seg) => Err(StructureError::NotContainer {
                            path: here(),
                            found: match shape {
                                Some(Shape::Null) => "null",
                                Some(Shape::EmptyMap) => "an empty map",
                                Some(Shape::EmptyList) => "an empty list",
                                None => "a scalar value",
                            },
                            want: want(seg),
                            next: next(),
                        }),
                    };
                }
                (TNode::Map(_), seg) => {
                    return Err(StructureError::NotContainer {
                        path: here(),
                        found: "a map",
                        want: want(seg),
                        next: next(),
                    });
                }
                (TNode::List(_), seg) => {
                    return Err(StructureError::NotContainer {
                        path: here(),
                        found: "a list",
                        want: want(seg),
                        next: next(),
                    });
                }
            }
        }
        Ok(Found::At(node))
    }
}

fn want(seg: &PathSeg) -> &'static str {
    match seg {
        PathSeg::Key(_) => "map",
        PathSeg::Index(_) => "list",
    }
}

fn insert(node: &mut TNode, loc: &[PathSeg], leaf: usize) {
    let Some((seg, rest)) = loc.split_first() else {
        *node = TNode::Leaf(leaf);
        return;
    };
    let fresh = |rest: &[PathSeg]| match rest.first() {
        Some(PathSeg::Index(_)) => TNode::List(vec![]),
        _ => TNode::Map(vec![]),
    };
    if matches!(node, TNode::Leaf(_)) {
        *node = match seg {
            PathSeg::Key(_) => TNode::Map(vec![]),
            PathSeg::Index(_) => TNode::List(vec![]),
        };
    }
    match (node, seg) {
        (TNode::Map(es), PathSeg::Key(k)) => {
            let pos = match es.iter().position(|(ek, _)| ek == k) {
                Some(p) => p,
                None => {
                    es.push((k.clone(), fresh(rest)));
                    es.len() - 1
                }
            };
            insert(&mut es[pos].1, rest, leaf);
        }
        (TNode::List(items), PathSeg::Index(n)) => {
            while items.len() <= *n {
                items.push(fresh(rest));
            }
            insert(&mut items[*n], rest, leaf);
        }
        // A format whose locations disagree with themselves: nothing to add.
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Checking the result: the values after the change must be exactly the
// values before it, with the change applied.

type View = Vec<(Vec<PathSeg>, Zeroizing<String>)>;

fn describe(value: &Value, coerce: bool, text: Option<&str>) -> Zeroizing<String> {
    if coerce {
        return Zeroizing::new(format!(
            "s:{}",
            match (value, text) {
                (Value::Str(s), _) => s.to_string(),
                (_, Some(t)) => t.to_string(),
                (v, None) => crate::value::canonical_text(v).to_string(),
            }
        ));
    }
    Zeroizing::new(match value {
        Value::Str(s) => format!("s:{}", s.as_str()),
        Value::Int(i) => format!("i:{i}"),
        Value::Float(f) => format!("f:{f}"),
        Value::Bool(b) => format!("b:{b}"),
        Value::Time(t) => format!("t:{}", t.as_str()),
    })
}

fn shape_desc(s: Shape) -> Zeroizing<String> {
    Zeroizing::new(
        match s {
            Shape::Null => "null",
            Shape::EmptyMap => "{}",
            Shape::EmptyList => "[]",
        }
        .to_string(),
    )
}

fn view(leaves: &[Leaf], coerce: bool) -> View {
    leaves
        .iter()
        .filter_map(|l| match &l.kind {
            LeafKind::Comment(_) => None,
            LeafKind::Scalar { value, .. } => Some((l.loc.clone(), describe(value, coerce, None))),
            LeafKind::Structure(s) => Some((l.loc.clone(), shape_desc(*s))),
        })
        .collect()
}

fn flatten(v: &NewValue, loc: &mut Vec<PathSeg>, coerce: bool, out: &mut View) {
    match v {
        NewValue::Scalar { value, text } => {
            out.push((loc.clone(), describe(value, coerce, Some(text))))
        }
        NewValue::Null => out.push((loc.clone(), shape_desc(Shape::Null))),
        NewValue::Map(es) if es.is_empty() => out.push((loc.clone(), shape_desc(Shape::EmptyMap))),
        NewValue::List(items) if items.is_empty() => {
            out.push((loc.clone(), shape_desc(Shape::EmptyList)))
        }
        NewValue::Map(es) => {
            for (k, v) in es {
                loc.push(PathSeg::Key(k.clone()));
                flatten(v, loc, coerce, out);
                loc.pop();
            }
        }
        NewValue::List(items) => {
            for (i, v) in items.iter().enumerate() {
                loc.push(PathSeg::Index(i));
                flatten(v, loc, coerce, out);
                loc.pop();
            }
        }
    }
}

fn sort_key(loc: &[PathSeg]) -> String {
    show_path(loc)
}

fn verify(
    ctx: &Ctx,
    out: &str,
    path: &[PathSeg],
    change: &Change,
    coerce: bool,
) -> Result<(), StructureError> {
    let mut expected = view(ctx.leaves, coerce);
    expected.retain(|(loc, _)| !loc.starts_with(path));
    match change {
        Change::Set { value, .. } => {
            // An empty map or list (or null) that now gets content.
            expected.retain(|(loc, d)| {
                !(loc.len() < path.len()
                    && path.starts_with(loc)
                    && ["{}", "[]", "null"].contains(&d.as_str()))
            });
            flatten(value, &mut path.to_vec(), coerce, &mut expected);
        }
        Change::Unset { .. } => {
            let parent = &path[..path.len() - 1];
            if let Some(PathSeg::Index(n)) = path.last() {
                for (loc, _) in expected.iter_mut() {
                    if loc.len() > parent.len()
                        && loc.starts_with(parent)
                        && let PathSeg::Index(m) = &mut loc[parent.len()]
                        && *m > *n
                    {
                        *m -= 1;
                    }
                }
            }
            if !parent.is_empty() && !expected.iter().any(|(loc, _)| loc.starts_with(parent)) {
                let shape = match path.last() {
                    Some(PathSeg::Index(_)) => Shape::EmptyList,
                    _ => Shape::EmptyMap,
                };
                expected.push((parent.to_vec(), shape_desc(shape)));
            }
        }
    }
    let doc = ctx.format.parse(out).map_err(|e| StructureError::Splice {
        path: show_path(path),
        reason: format!("the result does not parse: {e}"),
    })?;
    let mut got = view(doc.leaves(), coerce);
    let order = |a: &(Vec<PathSeg>, Zeroizing<String>), b: &(Vec<PathSeg>, Zeroizing<String>)| {
        (sort_key(&a.0), a.1.as_str()).cmp(&(sort_key(&b.0), b.1.as_str()))
    };
    expected.sort_by(order);
    got.sort_by(order);
    if got != expected {
        return Err(StructureError::Splice {
            path: show_path(path),
            reason: "the result would not hold the expected values".into(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Placeholders for new scalars.

/// A new value with every scalar replaced by a placeholder token.
enum Frag {
    Ph(String),
    Null,
    Map(Vec<(String, Frag)>),
    List(Vec<Frag>),
}

struct Placeholders {
    prefix: String,
    values: Vec<(String, Value, Zeroizing<String>)>,
}

impl Placeholders {
    fn new(src: &str) -> Result<Placeholders, StructureError> {
        let mut prefix = "shroudnewvalue".to_string();
        while src.contains(&prefix) {
            prefix.push('x');
            if prefix.len() > 64 {
                return Err(StructureError::Splice {
                    path: String::new(),
                    reason: "no free placeholder name".into(),
                });
            }
        }
        Ok(Placeholders {
            prefix,
            values: Vec::new(),
        })
    }

    fn frag(&mut self, v: &NewValue) -> Frag {
        match v {
            NewValue::Scalar { value, text } => {
                let ph = format!("{}{}z", self.prefix, self.values.len());
                self.values.push((ph.clone(), value.clone(), text.clone()));
                Frag::Ph(ph)
            }
            NewValue::Null => Frag::Null,
            NewValue::Map(es) => {
                Frag::Map(es.iter().map(|(k, v)| (k.clone(), self.frag(v))).collect())
            }
            NewValue::List(items) => Frag::List(items.iter().map(|v| self.frag(v)).collect()),
        }
    }

    /// Write the real values over the placeholders, with the format's own
    /// renderer.
    fn fill(
        &self,
        format: Format,
        text: &str,
        coerce: bool,
        path: &[PathSeg],
    ) -> Result<Zeroizing<String>, StructureError> {
        let text = Zeroizing::new(text.to_string());
        let doc = format.parse(&text).map_err(|e| StructureError::Splice {
            path: show_path(path),
            reason: format!("the new text does not parse: {e}"),
        })?;
        let mut used = vec![false; self.values.len()];
        let edits: Vec<Replacement> = doc
            .leaves()
            .iter()
            .map(|l| match &l.kind {
                LeafKind::Scalar {
                    value: Value::Str(s),
                    ..
                } => match self.values.iter().position(|(ph, _, _)| ph == s.as_str()) {
                    Some(i) => {
                        used[i] = true;
                        let (_, value, text) = &self.values[i];
                        Replacement::Decrypted(Decrypted::Scalar {
                            value: coerced(value, text, coerce),
                            text: text.clone(),
                        })
                    }
                    None => Replacement::Keep,
                },
                _ => Replacement::Keep,
            })
            .collect();
        if used.iter().any(|u| !u) {
            return Err(StructureError::Splice {
                path: show_path(path),
                reason: "a new value did not land where expected".into(),
            });
        }
        Ok(Zeroizing::new(doc.render(&edits, None)?.text))
    }
}

// ---------------------------------------------------------------------------
// Splicers.

struct Ctx<'a> {
    src: &'a str,
    leaves: &'a [Leaf],
    format: Format,
}

impl<'a> Ctx<'a> {
    fn bytes(&self) -> &[u8] {
        self.src.as_bytes()
    }

    /// Data leaves (not comments) at or under `loc`, with a span.
    fn under<'s>(&'s self, loc: &'s [PathSeg]) -> impl Iterator<Item = &'a Leaf> + 's {
        self.leaves
            .iter()
            .filter(move |l| !l.is_comment() && l.loc.starts_with(loc))
    }

    fn first_under(&self, loc: &[PathSeg], path: &[PathSeg]) -> Result<&'a Leaf, StructureError> {
        let l = self
            .under(loc)
            .next()
            .ok_or_else(|| splice_err(path, "no value found under the container"))?;
        l.span
            .as_ref()
            .ok_or_else(|| splice_err(path, "an alias is in the way"))?;
        Ok(l)
    }

    fn last_under(&self, loc: &[PathSeg], path: &[PathSeg]) -> Result<&'a Leaf, StructureError> {
        let l = self
            .under(loc)
            .max_by_key(|l| l.span.as_ref().map_or(0, |s| s.end))
            .ok_or_else(|| splice_err(path, "no value found under the container"))?;
        l.span
            .as_ref()
            .ok_or_else(|| splice_err(path, "an alias is in the way"))?;
        Ok(l)
    }

    fn leaf_at(&self, loc: &[PathSeg]) -> Option<&Leaf> {
        self.leaves.iter().find(|l| !l.is_comment() && l.loc == loc)
    }
}

fn splice_err(path: &[PathSeg], reason: &str) -> StructureError {
    StructureError::Splice {
        path: show_path(path),
        reason: reason.into(),
    }
}

fn span_of(l: &Leaf) -> std::ops::Range<usize> {
    l.span.clone().unwrap_or(0..0)
}

fn line_start(src: &str, pos: usize) -> usize {
    src[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Just after the `\n` that ends the line holding `pos` (or the end).
fn line_end(src: &str, pos: usize) -> usize {
    src[pos..].find('\n').map_or(src.len(), |i| pos + i + 1)
}

/// The end of the line on which a value ending at `end` ends.
fn after_value_line(src: &str, end: usize) -> usize {
    if end > 0 && src.as_bytes()[end - 1] == b'\n' {
        end
    } else {
        line_end(src, end)
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(src: &str, mut pos: usize) -> usize {
    let b = src.as_bytes();
    while pos < b.len() {
        if is_ws(b[pos]) {
            pos += 1;
        } else if b[pos] == b'#' && (pos == 0 || is_ws(b[pos - 1])) {
            pos = line_end(src, pos);
        } else {
            break;
        }
    }
    pos
}

fn skip_ws_back(src: &str, mut pos: usize) -> usize {
    let b = src.as_bytes();
    while pos > 0 && is_ws(b[pos - 1]) {
        pos -= 1;
    }
    pos
}

/// The spellings a key may have in the text.
fn key_forms(format: Format, k: &str) -> Vec<String> {
    let json = serde_json::to_string(k).unwrap_or_default();
    match format {
        Format::Json => vec![json],
        _ => vec![k.to_string(), json, format!("'{}'", k.replace('\'', "''"))],
    }
}

/// The start of the key `k` that comes last before `before`.
fn key_back(ctx: &Ctx, before: usize, k: &str) -> Option<usize> {
    let sep = if ctx.format == Format::Toml {
        b'='
    } else {
        b':'
    };
    let b = ctx.bytes();
    let mut best: Option<usize> = None;
    for form in key_forms(ctx.format, k) {
        let mut end = before;
        while let Some(i) = ctx.src[..end].rfind(form.as_str()) {
            let mut j = i + form.len();
            while j < b.len() && matches!(b[j], b' ' | b'\t') {
                j += 1;
            }
            let ok_before = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'{' | b',' | b'?');
            if ok_before && b.get(j) == Some(&sep) {
                best = best.max(Some(i));
                break;
            }
            end = i;
        }
    }
    best
}

/// Where the entry at `leaf.loc[..=level]` starts: its key, its block `-`,
/// or (in a flow list) its first character.
fn chain_pos(ctx: &Ctx, leaf: &Leaf, level: usize) -> Option<usize> {
    let b = ctx.bytes();
    let mut pos = span_of(leaf).start;
    for l in (level..leaf.loc.len()).rev() {
        pos = match &leaf.loc[l] {
            PathSeg::Key(k) => key_back(ctx, pos, k)?,
            PathSeg::Index(_) => {
                let p = skip_ws_back(ctx.src, pos);
                match b.get(p.wrapping_sub(1)) {
                    Some(b'-') if p == 1 || is_ws(b[p - 2]) => p - 1,
                    // The item is a flow collection: its opener.
                    Some(b'{' | b'[') if l + 1 < leaf.loc.len() => p - 1,
                    Some(b'[' | b',') if l + 1 == leaf.loc.len() => pos,
                    _ => return None,
                }
            }
        };
    }
    Some(pos)
}

/// For a flow container (JSON, YAML `{}`/`[]`, TOML inline table or
/// array): the end of its last item and the position of its closer.
fn flow_end(
    ctx: &Ctx,
    container: &[PathSeg],
    list: bool,
    path: &[PathSeg],
) -> Option<(usize, usize)> {
    let last = ctx.last_under(container, path).ok()?;
    let b = ctx.bytes();
    let mut pos = span_of(last).end;
    for _ in 0..last.loc.len().saturating_sub(container.len() + 1) {
        pos = skip_ws(ctx.src, pos);
        if matches!(b.get(pos), Some(b'}' | b']')) {
            pos += 1;
        } else {
            return None;
        }
    }
    let mut close = skip_ws(ctx.src, pos);
    if b.get(close) == Some(&b',') {
        close = skip_ws(ctx.src, close + 1);
    }
    let closer = if list { b']' } else { b'}' };
    (b.get(close) == Some(&closer)).then_some((pos, close))
}

trait Splicer {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError>;

    fn replace(
        &self,
        ctx: &Ctx,
        leaf: usize,
        path: &[PathSeg],
        value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError>;

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError>;
}

fn splicer(format: Format) -> &'static dyn Splicer {
    match format {
        Format::Yaml => &Yaml,
        Format::Json | Format::Binary => &Json,
        Format::Toml => &Toml,
        Format::Dotenv => &Dotenv,
        Format::Ini => &Ini,
    }
}

/// Wrap `value` in maps for the keys in `rest` (missing intermediate maps).
fn nest(rest: &[String], value: &Frag) -> Frag {
    match rest.split_first() {
        None => clone_frag(value),
        Some((k, more)) => Frag::Map(vec![(k.clone(), nest(more, value))]),
    }
}

fn clone_frag(f: &Frag) -> Frag {
    match f {
        Frag::Ph(p) => Frag::Ph(p.clone()),
        Frag::Null => Frag::Null,
        Frag::Map(es) => Frag::Map(es.iter().map(|(k, v)| (k.clone(), clone_frag(v))).collect()),
        Frag::List(items) => Frag::List(items.iter().map(clone_frag).collect()),
    }
}

/// The flow text of a new value, in a format's flow syntax.
struct FlowStyle {
    key: fn(&str) -> String,
    /// Between key and value: `: ` or ` = `.
    assign: &'static str,
    ph: fn(&str) -> String,
    null: Option<&'static str>,
    /// Padding inside braces: `{ a = 1 }` in TOML, none elsewhere.
    brace_pad: &'static str,
}

fn flow_text(
    style: &FlowStyle,
    f: &Frag,
    pretty: Option<(&str, &str)>,
    format: &'static str,
) -> Result<String, StructureError> {
    Ok(match f {
        Frag::Ph(p) => (style.ph)(p),
        Frag::Null => style
            .null
            .ok_or_else(|| StructureError::Unsupported {
                format,
                reason: "null values".into(),
            })?
            .to_string(),
        Frag::Map(es) if es.is_empty() => "{}".into(),
        Frag::List(items) if items.is_empty() => "[]".into(),
        Frag::Map(es) => {
            let inner = pretty.map(|(ind, unit)| format!("{ind}{unit}"));
            let parts = es
                .iter()
                .map(|(k, v)| {
                    Ok(format!(
                        "{}{}{}",
                        (style.key)(k),
                        style.assign,
                        flow_text(style, v, inner.as_deref().zip(pretty.map(|p| p.1)), format)?
                    ))
                })
                .collect::<Result<Vec<_>, StructureError>>()?;
            match (&inner, pretty) {
                (Some(inner), Some((ind, _))) => {
                    format!("{{\n{inner}{}\n{ind}}}", parts.join(&format!(",\n{inner}")))
                }
                _ => format!(
                    "{{{}{}{}}}",
                    style.brace_pad,
                    parts.join(", "),
                    style.brace_pad
                ),
            }
        }
        Frag::List(items) => {
            let inner = pretty.map(|(ind, unit)| format!("{ind}{unit}"));
            let parts = items
                .iter()
                .map(|v| flow_text(style, v, inner.as_deref().zip(pretty.map(|p| p.1)), format))
                .collect::<Result<Vec<_>, StructureError>>()?;
            match (&inner, pretty) {
                (Some(inner), Some((ind, _))) => {
                    format!("[\n{inner}{}\n{ind}]", parts.join(&format!(",\n{inner}")))
                }
                _ => format!("[{}]", parts.join(", ")),
            }
        }
    })
}

fn indent_of_line(src: &str, pos: usize) -> &str {
    let ls = line_start(src, pos);
    let rest = &src[ls..];
    &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
}

/// Insert into a flow container: `, key: value` after its last item, with
/// the separator its items already use.
fn flow_insert(
    ctx: &Ctx,
    style: &FlowStyle,
    container: &[PathSeg],
    key: Option<&str>,
    value: &Frag,
    path: &[PathSeg],
    fmt: &'static str,
) -> Result<Option<Vec<Edit<'static>>>, StructureError> {
    let list = key.is_none();
    // An empty collection written as `{}` / `[]`.
    if let Some(l) = ctx.leaf_at(container)
        && let LeafKind::Structure(Shape::EmptyMap | Shape::EmptyList) = l.kind
    {
        let span = span_of(l);
        let text = &ctx.src[span.clone()];
        if !(text.starts_with('{') || text.starts_with('[')) {
            return Ok(None);
        }
        let v = flow_text(style, value, None, fmt)?;
        let body = match key {
            Some(k) => format!("{}{}{v}", (style.key)(k), style.assign),
            None => v,
        };
        let (o, c) = if list { ('[', ']') } else { ('{', '}') };
        let pad = if list { "" } else { style.brace_pad };
        return Ok(Some(vec![Edit::new(
            span,
            format!("{o}{pad}{body}{pad}{c}"),
        )]));
    }
    let Some((after, close)) = flow_end(ctx, container, list, path) else {
        return Ok(None);
    };
    // The separator the items use: the whitespace before the first one
    // (the first leaf is first at every level, so its chain is found).
    let first = ctx.first_under(container, path)?;
    let tok = chain_pos(ctx, first, container.len())
        .ok_or_else(|| splice_err(path, "the first item's start was not found"))?;
    let sep = &ctx.src[skip_ws_back(ctx.src, tok)..tok];
    let pretty = if sep.contains('\n') {
        let ind = &sep[sep.rfind('\n').map_or(0, |i| i + 1)..];
        let parent = indent_of_line(ctx.src, close);
        let unit = ind
            .strip_prefix(parent)
            .filter(|u| !u.is_empty())
            .unwrap_or("  ");
        Some((ind.to_string(), unit.to_string()))
    } else {
        None
    };
    let sep = if sep.is_empty() { " " } else { sep };
    let v = flow_text(
        style,
        value,
        pretty.as_ref().map(|(i, u)| (i.as_str(), u.as_str())),
        fmt,
    )?;
    let body = match key {
        Some(k) => format!("{}{}{v}", (style.key)(k), style.assign),
        None => v,
    };
    Ok(Some(vec![Edit::insert(after, format!(",{sep}{body}"))]))
}

/// Remove an item of a flow container with one of its commas.
fn flow_remove(ctx: &Ctx, path: &[PathSeg]) -> Result<Option<Vec<Edit<'static>>>, StructureError> {
    let parent = &path[..path.len() - 1];
    let list = matches!(path.last(), Some(PathSeg::Index(_)));
    if flow_end(ctx, parent, list, path).is_none() {
        return Ok(None);
    }
    let b = ctx.bytes();
    let first = ctx.first_under(path, path)?;
    let last = ctx.last_under(path, path)?;
    let tok = chain_pos(ctx, first, parent.len())
        .ok_or_else(|| splice_err(path, "the item's start was not found"))?;
    let mut end = span_of(last).end;
    for _ in 0..last.loc.len().saturating_sub(path.len()) {
        end = skip_ws(ctx.src, end);
        if matches!(b.get(end), Some(b'}' | b']')) {
            end += 1;
        } else {
            return Err(splice_err(path, "the item's end was not found"));
        }
    }
    let after = skip_ws(ctx.src, end);
    let before = skip_ws_back(ctx.src, tok);
    let range = if b.get(after) == Some(&b',') {
        let next = skip_ws(ctx.src, after + 1);
        if matches!(b.get(next), Some(b'}' | b']')) && before > 0 && b[before - 1] == b',' {
            before - 1..after + 1
        } else {
            tok..next
        }
    } else if before > 0 && b[before - 1] == b',' {
        before - 1..end
    } else {
        before..after
    };
    Ok(Some(vec![Edit::new(range, "")]))
}

// --- YAML ----------------------------------------------------------------

struct Yaml;

fn yaml_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/'))
        && !k.starts_with(['-', '.'])
        && !k.bytes().next().is_some_and(|c| c.is_ascii_digit())
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        );
    if plain {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

const YAML_FLOW: FlowStyle = FlowStyle {
    key: yaml_key,
    assign: ": ",
    ph: |p| p.to_string(),
    null: Some("null"),
    brace_pad: "",
};

/// How many documents a YAML text holds: a `---` line after data starts
/// another one.
fn yaml_documents(src: &str) -> usize {
    let (mut docs, mut open) = (0, false);
    for line in src.lines() {
        if line == "---" || line.starts_with("--- ") || line.starts_with("---\t") {
            docs += 1;
            open = true;
        } else if line == "..." {
            open = false;
        } else if !open && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            docs += 1;
            open = true;
        }
    }
    docs
}

/// The file's indentation step: how much deeper a nested map's keys sit
/// than its parent's key, from the first nested key found (2 if none).
fn yaml_unit(ctx: &Ctx) -> usize {
    for l in ctx
        .leaves
        .iter()
        .filter(|l| !l.is_comment() && l.span.is_some())
    {
        if let [PathSeg::Key(_), PathSeg::Key(_), ..] = l.loc.as_slice()
            && let (Some(a), Some(b)) = (chain_pos(ctx, l, 0), chain_pos(ctx, l, 1))
        {
            let (la, lb) = (line_start(ctx.src, a), line_start(ctx.src, b));
            if b - lb > a - la && la != lb {
                return (b - lb) - (a - la);
            }
        }
    }
    2
}

/// Block lines for `key: value` at `col`, nested blocks `unit` deeper.
fn yaml_block_entry(
    out: &mut String,
    col: usize,
    unit: usize,
    key: &str,
    f: &Frag,
) -> Result<(), StructureError> {
    out.push_str(&" ".repeat(col));
    out.push_str(&yaml_key(key));
    out.push(':');
    match f {
        Frag::Map(es) if !es.is_empty() => {
            out.push('\n');
            for (k, v) in es {
                yaml_block_entry(out, col + unit, unit, k, v)?;
            }
        }
        Frag::List(items) if !items.is_empty() => {
            out.push('\n');
            for v in items {
                yaml_block_item(out, col + unit, v)?;
            }
        }
        other => {
            out.push(' ');
            out.push_str(&flow_text(&YAML_FLOW, other, None, "yaml")?);
            out.push('\n');
        }
    }
    Ok(())
}

fn yaml_block_item(out: &mut String, col: usize, f: &Frag) -> Result<(), StructureError> {
    out.push_str(&" ".repeat(col));
    out.push_str("- ");
    out.push_str(&flow_text(&YAML_FLOW, f, None, "yaml")?);
    out.push('\n');
    Ok(())
}

impl Splicer for Yaml {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let value = nest(rest, value);
        if let Some(e) = flow_insert(ctx, &YAML_FLOW, container, key, &value, path, "yaml")? {
            return Ok(e);
        }
        // A block collection: new lines after its last one, at the column
        // of its first entry.
        let first = ctx.first_under(container, path)?;
        let last = ctx.last_under(container, path)?;
        if first.loc.len() <= container.len() {
            return Err(splice_err(path, "the container was not found in the text"));
        }
        let tok = chain_pos(ctx, first, container.len())
            .ok_or_else(|| splice_err(path, "the first entry's key was not found"))?;
        let col = tok - line_start(ctx.src, tok);
        let at = after_value_line(ctx.src, span_of(last).end);
        let mut text = String::new();
        if at == ctx.src.len() && !ctx.src.ends_with('\n') {
            text.push('\n');
        }
        match key {
            Some(k) => yaml_block_entry(&mut text, col, yaml_unit(ctx), k, &value)?,
            None => yaml_block_item(&mut text, col, &value)?,
        }
        Ok(vec![Edit::insert(at, text)])
    }

    fn replace(
        &self,
        ctx: &Ctx,
        leaf: usize,
        _path: &[PathSeg],
        value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let span = span_of(&ctx.leaves[leaf]);
        let mut text = flow_text(&YAML_FLOW, value, None, "yaml")?;
        if span.is_empty() {
            // `key:` with no value: the new one goes after the colon.
            let rest = &ctx.src[span.start..line_end(ctx.src, span.start)];
            let at = match rest.find(':') {
                Some(i) if rest[..i].trim().is_empty() || rest[..i].ends_with(['"', '\'']) => {
                    span.start + i + 1
                }
                _ => span.start,
            };
            text.insert(0, ' ');
            return Ok(vec![Edit::insert(at, text)]);
        }
        Ok(vec![Edit::new(span, text)])
    }

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError> {
        if let Some(e) = flow_remove(ctx, path)? {
            return Ok(e);
        }
        let parent = &path[..path.len() - 1];
        let first = ctx.first_under(path, path)?;
        let last = ctx.last_under(path, path)?;
        let tok = chain_pos(ctx, first, parent.len())
            .ok_or_else(|| splice_err(path, "its key was not found"))?;
        let ls = line_start(ctx.src, tok);
        if !ctx.src[ls..tok].bytes().all(|c| c == b' ') {
            // The first key of a map in a list item, on the dash's line
            // (`- a: 1`): the next key moves up onto the dash line, or the
            // item becomes `{}` if it had no other key.
            let on_dash = ctx.src[ls..tok].trim_end().ends_with('-')
                && ctx.src[ls..tok].bytes().all(|c| c == b' ' || c == b'-');
            if !on_dash || !matches!(path.last(), Some(PathSeg::Key(_))) {
                return Err(splice_err(path, "it shares its line with other text"));
            }
            let next = ctx
                .under(parent)
                .filter(|l| l.span.is_some() && span_of(l).start > tok)
                .find(|l| l.loc.len() > parent.len() && l.loc[parent.len()] != path[parent.len()])
                .and_then(|l| chain_pos(ctx, l, parent.len()));
            return Ok(vec![match next {
                Some(next) => Edit::new(tok..next, ""),
                None => {
                    let mut end = span_of(last).end;
                    if end > tok && ctx.bytes()[end - 1] == b'\n' {
                        end -= 1;
                    }
                    Edit::new(tok..end, "{}")
                }
            }]);
        }
        let end = after_value_line(ctx.src, span_of(last).end);
        let mut edits = vec![Edit::new(ls..end, "")];
        let siblings = ctx
            .under(parent)
            .any(|l| l.loc.len() > parent.len() && l.loc[parent.len()] != path[parent.len()]);
        if !siblings && !parent.is_empty() {
            // The parent would become null: make it an empty collection.
            let ptok = chain_pos(ctx, first, parent.len() - 1)
                .ok_or_else(|| splice_err(path, "its parent's key was not found"))?;
            let empty = if matches!(path.last(), Some(PathSeg::Index(_))) {
                " []"
            } else {
                " {}"
            };
            match &parent[parent.len() - 1] {
                PathSeg::Key(_) => {
                    let colon = ctx.src[ptok..tok]
                        .find(':')
                        .ok_or_else(|| splice_err(path, "its parent's key was not found"))?;
                    edits.push(Edit::insert(ptok + colon + 1, empty));
                }
                PathSeg::Index(_) => edits.push(Edit::insert(ptok + 1, empty)),
            }
        }
        Ok(edits)
    }
}

// --- JSON ----------------------------------------------------------------

struct Json;

fn json_key(k: &str) -> String {
    serde_json::to_string(k).unwrap_or_default()
}

const JSON_FLOW: FlowStyle = FlowStyle {
    key: json_key,
    assign: ": ",
    ph: json_key,
    null: Some("null"),
    brace_pad: "",
};

impl Splicer for Json {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let value = nest(rest, value);
        flow_insert(ctx, &JSON_FLOW, container, key, &value, path, "json")?
            .ok_or_else(|| splice_err(path, "the container's closing bracket was not found"))
    }

    fn replace(
        &self,
        ctx: &Ctx,
        leaf: usize,
        _path: &[PathSeg],
        value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let span = span_of(&ctx.leaves[leaf]);
        let ind = indent_of_line(ctx.src, span.start);
        let pretty = ctx.src.contains('\n').then_some((ind, "  "));
        let text = flow_text(&JSON_FLOW, value, pretty, "json")?;
        Ok(vec![Edit::new(span, text)])
    }

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError> {
        flow_remove(ctx, path)?
            .ok_or_else(|| splice_err(path, "the container's closing bracket was not found"))
    }
}

// --- TOML ----------------------------------------------------------------

struct Toml;

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

const TOML_FLOW: FlowStyle = FlowStyle {
    key: toml_key,
    assign: " = ",
    ph: json_key,
    null: None,
    brace_pad: " ",
};

/// The table of a TOML document at `loc`, if it is a standard table
/// (`[a.b]`, `[[a]]` item, or the root).
fn toml_table<'d>(doc: &'d toml_edit::Table, loc: &[PathSeg]) -> Option<&'d toml_edit::Table> {
    let mut t = doc;
    let mut i = 0;
    while i < loc.len() {
        t = match (
            &loc[i],
            t.get(match &loc[i] {
                PathSeg::Key(k) => k.as_str(),
                PathSeg::Index(_) => return None,
            })?,
        ) {
            (_, toml_edit::Item::Table(sub)) => sub,
            (_, toml_edit::Item::ArrayOfTables(a)) => {
                i += 1;
                match loc.get(i)? {
                    PathSeg::Index(n) => a.get(*n)?,
                    PathSeg::Key(_) => return None,
                }
            }
            _ => return None,
        };
        i += 1;
    }
    Some(t)
}

/// Every `[header]` start in the document.
fn toml_headers(t: &toml_edit::Table, out: &mut Vec<usize>) {
    for (_, item) in t.iter() {
        match item {
            toml_edit::Item::Table(sub) => {
                if !sub.is_implicit()
                    && !sub.is_dotted()
                    && let Some(s) = sub.span()
                {
                    out.push(s.start);
                }
                toml_headers(sub, out);
            }
            toml_edit::Item::ArrayOfTables(a) => {
                for sub in a.iter() {
                    if let Some(s) = sub.span() {
                        out.push(s.start);
                    }
                    toml_headers(sub, out);
                }
            }
            _ => {}
        }
    }
}

/// The last value written in `t`'s own lines (its `key = value` lines and
/// those of its dotted sub-tables, `user.name = "x"`, not the tables with
/// headers of their own): where it ends and where its key starts.
fn toml_last_value(t: &toml_edit::Table) -> Option<(usize, usize)> {
    let mut last: Option<(usize, usize)> = None;
    for (k, item) in t.iter() {
        let e = match item {
            toml_edit::Item::Value(v) => v
                .span()
                .zip(t.key(k).and_then(|k| k.span()))
                .map(|(v, k)| (v.end, k.start)),
            toml_edit::Item::Table(sub) if sub.is_dotted() => {
                toml_last_value(sub).map(|(k, e)| (e, k))
            }
            _ => None,
        };
        if let Some((end, key)) = e
            && last.is_none_or(|(_, e)| end > e)
        {
            last = Some((key, end));
        }
    }
    last
}

/// The line break a TOML file uses: `\r\n` if it has any, else `\n`.
fn toml_nl(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The end of everything written for `t`: its values and, recursively, its
/// sub-tables' headers and values.
fn toml_table_end(t: &toml_edit::Table) -> Option<usize> {
    let mut end = t.span().map(|s| s.end);
    for (_, item) in t.iter() {
        let e = match item {
            toml_edit::Item::Value(v) => v.span().map(|s| s.end),
            toml_edit::Item::Table(sub) => toml_table_end(sub),
            toml_edit::Item::ArrayOfTables(a) => a.iter().filter_map(toml_table_end).max(),
            toml_edit::Item::None => None,
        };
        end = end.max(e);
    }
    end
}

/// The number of blank lines just above the line at `ls` (past the
/// comment lines right above it, which belong to it).
fn blank_lines_above(src: &str, ls: usize) -> Option<usize> {
    let mut lines = src[..ls].lines().rev().peekable();
    while lines
        .peek()
        .is_some_and(|l| l.trim_start().starts_with('#'))
    {
        lines.next();
    }
    lines
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(n, _)| n)
}

/// A new item of an array of tables (`[[servers]]`): a new header after
/// the array's last item (and that item's sub-tables), separated from it
/// by as many blank lines as the last item's header has above it, with the
/// item's keys as `key = value` lines (maps as inline tables, as for any
/// new TOML value).
fn toml_append_table(
    ctx: &Ctx,
    doc: &toml_edit::Document<&str>,
    container: &[PathSeg],
    value: &Frag,
    path: &[PathSeg],
) -> Result<Vec<Edit<'static>>, StructureError> {
    let refuse = |what: &str| StructureError::Unsupported {
        format: "toml",
        reason: format!(
            "appending to {} ({what}); use shroud edit",
            show_path(container)
        ),
    };
    let Some((PathSeg::Key(name), parent)) = container.split_last() else {
        return Err(refuse("not a table key"));
    };
    let aot = toml_table(doc.as_table(), parent)
        .and_then(|t| t.get(name))
        .and_then(|i| i.as_array_of_tables())
        .ok_or_else(|| refuse("it is not an array of tables"))?;
    let Frag::Map(entries) = value else {
        return Err(refuse("an array of tables holds only tables"));
    };
    let last = aot.iter().last().ok_or_else(|| refuse("it has no items"))?;
    let head = last
        .span()
        .ok_or_else(|| splice_err(path, "the last item's header was not found"))?;
    let end = toml_table_end(last).unwrap_or(head.end);
    let at = after_value_line(ctx.src, end.min(ctx.src.len()));
    let blanks = blank_lines_above(ctx.src, line_start(ctx.src, head.start)).unwrap_or(1);
    let mut header = String::new();
    for seg in container {
        if let PathSeg::Key(k) = seg {
            if !header.is_empty() {
                header.push('.');
            }
            header.push_str(&toml_key(k));
        }
    }
    // The indentation of the last item's header and keys.
    let head_ind = indent_of_line(ctx.src, head.start);
    let key_ind = toml_last_value(last).map_or(head_ind, |(k, _)| indent_of_line(ctx.src, k));
    let nl = toml_nl(ctx.src);
    let mut text = String::new();
    if at == ctx.src.len() && !ctx.src.is_empty() && !ctx.src.ends_with('\n') {
        text.push_str(nl);
    }
    text.push_str(&nl.repeat(blanks));
    text.push_str(&format!("{head_ind}[[{header}]]{nl}"));
    for (k, v) in entries {
        text.push_str(&format!(
            "{key_ind}{} = {}{nl}",
            toml_key(k),
            flow_text(&TOML_FLOW, v, None, "toml")?
        ));
    }
    Ok(vec![Edit::insert(at, text)])
}

/// Remove an item of an array of tables: its `[[header]]`, its lines and
/// its sub-tables, up to the next header (as for a `[table]`).
fn toml_remove_item(
    ctx: &Ctx,
    doc: &toml_edit::Document<&str>,
    parent: &[PathSeg],
    n: usize,
    path: &[PathSeg],
) -> Result<Vec<Edit<'static>>, StructureError> {
    let aot = match parent.split_last() {
        Some((PathSeg::Key(name), grand)) => toml_table(doc.as_table(), grand)
            .and_then(|t| t.get(name))
            .and_then(|i| i.as_array_of_tables()),
        _ => None,
    }
    .ok_or_else(|| splice_err(path, "it is not an item of an array of tables"))?;
    if aot.len() == 1 {
        return Err(StructureError::Unsupported {
            format: "toml",
            reason: format!(
                "removing the only item of {} (an array of tables cannot be left empty in place); use shroud edit",
                show_path(parent)
            ),
        });
    }
    let item = aot
        .get(n)
        .ok_or_else(|| splice_err(path, "the item was not found"))?;
    let mut heads = Vec::new();
    toml_headers(doc.as_table(), &mut heads);
    Ok(vec![Edit::new(
        toml_item_range(ctx, item, &heads, path)?,
        "",
    )])
}

/// The text of an item of an array of tables: from its `[[header]]` line
/// past its lines and sub-tables, up to the next header (`heads`).
fn toml_item_range(
    ctx: &Ctx,
    item: &toml_edit::Table,
    heads: &[usize],
    path: &[PathSeg],
) -> Result<std::ops::Range<usize>, StructureError> {
    let head = item
        .span()
        .ok_or_else(|| splice_err(path, "its header was not found"))?;
    let start = line_start(ctx.src, head.start);
    let body_end = after_value_line(
        ctx.src,
        toml_table_end(item).unwrap_or(head.end).min(ctx.src.len()),
    );
    let end = heads
        .iter()
        .copied()
        .filter(|h| *h >= body_end)
        .min()
        .map_or(ctx.src.len(), |h| line_start(ctx.src, h));
    Ok(start..end)
}

/// The dotted chain (`user.` without its dot, with the line's indentation)
/// before a key at `key_start` on a line starting at `ls`, if that is all
/// there is before the key.
fn toml_dotted_chain(src: &str, ls: usize, key_start: usize) -> Option<&str> {
    let before = src[ls..key_start].trim_end();
    let chain = before.strip_suffix('.')?.trim_end();
    (!chain.trim().is_empty() && !chain.contains(['=', '{', '[', ',', '#'])).then_some(chain)
}

/// (key start, value end) of every value of a dotted table, its dotted
/// sub-tables' included.
fn toml_dotted_lines(t: &toml_edit::Table, out: &mut Vec<(usize, usize)>) {
    for (k, item) in t.iter() {
        match item {
            toml_edit::Item::Value(v) => {
                if let (Some(ks), Some(vs)) = (t.key(k).and_then(|k| k.span()), v.span()) {
                    out.push((ks.start, vs.end));
                }
            }
            toml_edit::Item::Table(sub) if sub.is_dotted() => toml_dotted_lines(sub, out),
            _ => {}
        }
    }
}

fn toml_doc<'s>(ctx: &Ctx<'s>) -> Result<toml_edit::Document<&'s str>, StructureError> {
    toml_edit::Document::parse(ctx.src).map_err(|e| {
        StructureError::Format(FormatError::syntax(
            ctx.src,
            e.span().map_or(0, |s| s.start),
            e.message().trim().to_string(),
        ))
    })
}

impl Splicer for Toml {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        if let Some(e) = flow_insert(
            ctx,
            &TOML_FLOW,
            container,
            key,
            &nest(rest, value),
            path,
            "toml",
        )? {
            return Ok(e);
        }
        let doc = toml_doc(ctx)?;
        let Some(key) = key else {
            return toml_append_table(ctx, &doc, container, &nest(rest, value), path);
        };
        // The table whose lines hold the new one: the container itself, or,
        // when it is written with dotted keys (`user.name = "x"`), the
        // nearest table above it with a header (or the root); the new key
        // is then dotted from there (`user.id = 7`).
        let mut anchor = container.len();
        let table = loop {
            let t = toml_table(doc.as_table(), &container[..anchor])
                .ok_or_else(|| splice_err(path, "its table was not found"))?;
            if !t.is_dotted() {
                break t;
            }
            if anchor == 0 || matches!(container[anchor - 1], PathSeg::Index(_)) {
                return Err(splice_err(path, "the table is written with dotted keys"));
            }
            anchor -= 1;
        };
        let mut dotted = String::new();
        for seg in &container[anchor..] {
            if let PathSeg::Key(k) = seg {
                dotted.push_str(&toml_key(k));
                dotted.push('.');
            }
        }
        dotted.push_str(&toml_key(key));
        for k in rest {
            dotted.push('.');
            dotted.push_str(&toml_key(k));
        }
        if anchor > 0 && table.is_implicit() {
            // A table that only exists through its sub-tables (`[a.b]`
            // without `[a]`): its own header goes just above the first of
            // them, with the new key.
            let mut heads = Vec::new();
            toml_headers(table, &mut heads);
            let first = heads.into_iter().min().ok_or_else(|| {
                splice_err(
                    path,
                    "the table has no [header] of its own, only sub-tables",
                )
            })?;
            let mut header = String::new();
            for seg in &container[..anchor] {
                if let PathSeg::Key(k) = seg {
                    if !header.is_empty() {
                        header.push('.');
                    }
                    header.push_str(&toml_key(k));
                }
            }
            // Above the comment lines that lead into that sub-table.
            let mut at = line_start(ctx.src, first);
            while at > 0 {
                let prev = line_start(ctx.src, at - 1);
                if !ctx.src[prev..at].trim_start().starts_with('#') {
                    break;
                }
                at = prev;
            }
            let nl = toml_nl(ctx.src);
            return Ok(vec![Edit::insert(
                at,
                format!(
                    "[{header}]{nl}{dotted} = {}{nl}{nl}",
                    flow_text(&TOML_FLOW, value, None, "toml")?
                ),
            )]);
        }
        let dotted_table = toml_table(doc.as_table(), container)
            .ok_or_else(|| splice_err(path, "its table was not found"))?;
        // After the last line of the table's own values (dotted ones
        // included), or after its header.
        // With the indentation of that value's line.
        let (at, ind) = match (toml_last_value(dotted_table), table.span()) {
            (Some((key, end)), _) => (after_value_line(ctx.src, end), indent_of_line(ctx.src, key)),
            (None, Some(h)) if anchor > 0 => (line_end(ctx.src, h.end.min(ctx.src.len())), ""),
            _ => (0, ""),
        };
        let nl = toml_nl(ctx.src);
        let mut text = String::new();
        if at == ctx.src.len() && !ctx.src.ends_with('\n') && !ctx.src.is_empty() {
            text.push_str(nl);
        }
        text.push_str(&format!(
            "{ind}{dotted} = {}{nl}",
            flow_text(&TOML_FLOW, value, None, "toml")?
        ));
        Ok(vec![Edit::insert(at, text)])
    }

    fn replace(
        &self,
        ctx: &Ctx,
        leaf: usize,
        _path: &[PathSeg],
        value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let text = flow_text(&TOML_FLOW, value, None, "toml")?;
        Ok(vec![Edit::new(span_of(&ctx.leaves[leaf]), text)])
    }

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError> {
        if let Some(e) = flow_remove(ctx, path)? {
            return Ok(e);
        }
        let parent = &path[..path.len() - 1];
        let doc = toml_doc(ctx)?;
        let k = match path.last() {
            Some(PathSeg::Key(k)) => k,
            Some(PathSeg::Index(n)) => return toml_remove_item(ctx, &doc, parent, *n, path),
            None => return Err(splice_err(path, "the path is empty")),
        };
        let table = toml_table(doc.as_table(), parent)
            .ok_or_else(|| splice_err(path, "its table was not found"))?;
        match table.get(k) {
            Some(toml_edit::Item::Value(v)) => {
                let key_start = table
                    .key(k)
                    .and_then(|k| k.span())
                    .ok_or_else(|| splice_err(path, "its key was not found"))?
                    .start;
                let vs = v.span().ok_or_else(|| splice_err(path, "no span"))?;
                let ls = line_start(ctx.src, key_start);
                let end = after_value_line(ctx.src, vs.end);
                if !table.is_dotted() {
                    if !ctx.src[ls..key_start].trim().is_empty() {
                        return Err(splice_err(path, "its key shares a line"));
                    }
                    return Ok(vec![Edit::new(ls..end, "")]);
                }
                // `user.name = "x"`: the line holds the dotted chain before
                // the key. When it is the chain's only key, the line becomes
                // `user = {}`, so the emptied map stays, as in the other
                // formats.
                let chain = toml_dotted_chain(ctx.src, ls, key_start)
                    .ok_or_else(|| splice_err(path, "its key shares a line"))?;
                if table.len() > 1 {
                    return Ok(vec![Edit::new(ls..end, "")]);
                }
                let nl = if ctx.src[..end].ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                Ok(vec![Edit::new(ls..end, format!("{chain} = {{}}{nl}"))])
            }
            Some(toml_edit::Item::Table(t)) if t.is_dotted() => {
                // Every `user.* = ...` line of a table written with dotted
                // keys.
                let mut lines = Vec::new();
                toml_dotted_lines(t, &mut lines);
                let mut edits = Vec::new();
                for (key_start, end) in lines {
                    let ls = line_start(ctx.src, key_start);
                    toml_dotted_chain(ctx.src, ls, key_start)
                        .ok_or_else(|| splice_err(path, "one of its keys shares a line"))?;
                    edits.push(Edit::new(ls..after_value_line(ctx.src, end), ""));
                }
                Ok(edits)
            }
            Some(toml_edit::Item::ArrayOfTables(a)) => {
                let mut heads = Vec::new();
                toml_headers(doc.as_table(), &mut heads);
                a.iter()
                    .map(|item| toml_item_range(ctx, item, &heads, path).map(|r| Edit::new(r, "")))
                    .collect()
            }
            Some(toml_edit::Item::Table(t)) if !t.is_dotted() && !t.is_implicit() => {
                let start = t.span().ok_or_else(|| splice_err(path, "no span"))?.start;
                let mut heads = Vec::new();
                toml_headers(doc.as_table(), &mut heads);
                let end = heads
                    .into_iter()
                    .filter(|h| *h > start)
                    .min()
                    .map_or(ctx.src.len(), |h| line_start(ctx.src, h));
                Ok(vec![Edit::new(line_start(ctx.src, start)..end, "")])
            }
            _ => Err(splice_err(
                path,
                "it is not a key = value line or a [table]",
            )),
        }
    }
}

// --- dotenv ----------------------------------------------------------------

struct Dotenv;

fn flat_only(format: &'static str, what: &str, path: &[PathSeg]) -> StructureError {
    StructureError::Unsupported {
        format,
        reason: format!("{} {what}", show_path(path)),
    }
}

impl Splicer for Dotenv {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let (Some(key), true, true, Frag::Ph(ph)) =
            (key, container.is_empty(), rest.is_empty(), value)
        else {
            return Err(flat_only(
                "dotenv",
                "is not a top-level key with a scalar value (dotenv has no nesting or lists)",
                path,
            ));
        };
        if key.is_empty() || key.contains(['=', '\n']) || key.starts_with('#') {
            return Err(StructureError::BadValue(format!(
                "{key:?} cannot be a dotenv key (empty, or has '=', a newline or a leading '#')"
            )));
        }
        let at = ctx.src.len();
        let nl = if ctx.src.ends_with('\n') || ctx.src.is_empty() {
            ""
        } else {
            "\n"
        };
        Ok(vec![Edit::insert(at, format!("{nl}{key}={ph}\n"))])
    }

    fn replace(
        &self,
        _ctx: &Ctx,
        _leaf: usize,
        path: &[PathSeg],
        _value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        Err(flat_only(
            "dotenv",
            "cannot hold a map, a list or null",
            path,
        ))
    }

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError> {
        let l = ctx
            .leaf_at(path)
            .ok_or_else(|| splice_err(path, "not a key"))?;
        let s = span_of(l);
        Ok(vec![Edit::new(
            line_start(ctx.src, s.start)..after_value_line(ctx.src, s.end),
            "",
        )])
    }
}

// --- INI ----------------------------------------------------------------

struct Ini;

/// The `[name]` header line of a section (its start and the end of the
/// line), the last one if the name repeats.
fn ini_header(src: &str, name: &str) -> Option<(usize, usize)> {
    let mut found = None;
    let mut pos = 0;
    while pos < src.len() {
        let end = line_end(src, pos);
        let line = src[pos..end].trim();
        if let Some(inner) = line.strip_prefix('[')
            && let Some(close) = inner.rfind(']')
            && &inner[..close] == name
        {
            found = Some((pos, end));
        }
        pos = end;
    }
    found
}

fn ini_key_ok(k: &str) -> bool {
    !k.is_empty() && k.trim() == k && !k.contains(['=', ':', '\n', '[', ';', '#', '"', '`'])
}

impl Splicer for Ini {
    fn insert(
        &self,
        ctx: &Ctx,
        container: &[PathSeg],
        key: Option<&str>,
        rest: &[String],
        value: &Frag,
        path: &[PathSeg],
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        let deeper = || {
            flat_only(
                "ini",
                "is deeper than section.key (INI has sections of keys, nothing more)",
                path,
            )
        };
        let Some(key) = key else {
            return Err(deeper());
        };
        let bad_key = |k: &str| {
            StructureError::BadValue(format!("{k:?} cannot be an INI key or section name"))
        };
        let mut nl = if ctx.src.ends_with('\n') || ctx.src.is_empty() {
            ""
        } else {
            "\n"
        };
        match (container, rest, value) {
            // A new key in an existing section.
            ([PathSeg::Key(section)], [], Frag::Ph(ph)) => {
                if !ini_key_ok(key) {
                    return Err(bad_key(key));
                }
                let at = match ctx.under(container).filter(|l| l.loc.len() == 2).last() {
                    Some(l) => after_value_line(ctx.src, span_of(l).end),
                    None => match ini_header(ctx.src, section) {
                        Some((_, end)) => end,
                        None if section == "DEFAULT" => 0,
                        None => return Err(splice_err(path, "its section header was not found")),
                    },
                };
                if at != ctx.src.len() {
                    nl = "";
                }
                Ok(vec![Edit::insert(at, format!("{nl}{key} = {ph}\n"))])
            }
            // A new section.
            ([], [], Frag::Map(_)) | ([], [_], Frag::Ph(_)) => {
                if !ini_key_ok(key) || key.contains(']') {
                    return Err(bad_key(key));
                }
                let entries: Vec<(String, &Frag)> = match (rest, value) {
                    ([k], v) => vec![(k.clone(), v)],
                    (_, Frag::Map(es)) => es.iter().map(|(k, v)| (k.clone(), v)).collect(),
                    _ => return Err(deeper()),
                };
                let mut text = format!("{nl}\n[{key}]\n");
                for (k, v) in entries {
                    let Frag::Ph(ph) = v else {
                        return Err(deeper());
                    };
                    if !ini_key_ok(&k) {
                        return Err(bad_key(&k));
                    }
                    text.push_str(&format!("{k} = {ph}\n"));
                }
                Ok(vec![Edit::insert(ctx.src.len(), text)])
            }
            _ => Err(deeper()),
        }
    }

    fn replace(
        &self,
        _ctx: &Ctx,
        _leaf: usize,
        path: &[PathSeg],
        _value: &Frag,
    ) -> Result<Vec<Edit<'static>>, StructureError> {
        Err(flat_only("ini", "cannot hold a map, a list or null", path))
    }

    fn remove(&self, ctx: &Ctx, path: &[PathSeg]) -> Result<Vec<Edit<'static>>, StructureError> {
        match path {
            [_, _] => {
                let l = ctx
                    .leaf_at(path)
                    .ok_or_else(|| splice_err(path, "not a key"))?;
                let s = span_of(l);
                let ls = line_start(ctx.src, s.start);
                Ok(vec![Edit::new(ls..after_value_line(ctx.src, s.end), "")])
            }
            [PathSeg::Key(section)] => {
                let (start, end) = ini_header(ctx.src, section)
                    .ok_or_else(|| splice_err(path, "its header was not found"))?;
                // To the next header line (or the end).
                let mut pos = end;
                while pos < ctx.src.len() {
                    let e = line_end(ctx.src, pos);
                    if ctx.src[pos..e].trim_start().starts_with('[') {
                        break;
                    }
                    pos = e;
                }
                Ok(vec![Edit::new(start..pos, "")])
            }
            _ => Err(splice_err(path, "INI paths are section.key")),
        }
    }
}

#[cfg(test)]
mod tests;
