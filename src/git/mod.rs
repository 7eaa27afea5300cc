//! Git integration that does not need git itself: comparing and merging
//! decrypted documents by key path, and turning `.sops.yaml` path regexes
//! into `.gitattributes` patterns. The commands around it (`shroud diff`,
//! `shroud git ...`) live in the binary.
//!
//! Everything here works on *plaintext* documents (already decrypted), keeps
//! values in zeroizing buffers, and reports only key paths, never values.

pub mod glob;
pub mod merge;

use std::collections::HashMap;

use crate::document::{Document, LeafKind, Shape, Value};
use crate::treepath::PathSeg;

/// What a location holds, for comparing documents.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A scalar, compared by meaning (`1.50` equals `1.5`), with its source
    /// token so a merge can write it as it was written.
    Value {
        value: Value,
        source: Option<zeroize::Zeroizing<String>>,
    },
    Shape(Shape),
}

impl Item {
    /// Equal as data (the source spelling does not matter).
    pub fn same_data(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Value { value: a, .. }, Item::Value { value: b, .. }) => a == b,
            (Item::Shape(a), Item::Shape(b)) => a == b,
            _ => false,
        }
    }

    /// The kind of node, without its value: what a structural change alters.
    fn class(&self) -> Option<Shape> {
        match self {
            Item::Value { .. } => None,
            Item::Shape(s) => Some(*s),
        }
    }
}

/// One data location of a plaintext document (comments left out).
#[derive(Clone, Debug)]
pub struct Entry {
    pub loc: Vec<PathSeg>,
    /// Index of the leaf in the document's `leaves()`.
    pub leaf: usize,
    pub item: Item,
}

/// A location written as `--extract` and `set` take it: `["a"][0]["b"]`.
pub fn show_loc(loc: &[PathSeg]) -> String {
    if loc.is_empty() {
        return "(the document root)".into();
    }
    loc.iter().map(|s| s.to_string()).collect()
}

/// The data locations of a plaintext document, in document order.
pub fn entries(doc: &dyn Document) -> Vec<Entry> {
    doc.leaves()
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let item = match &l.kind {
                LeafKind::Scalar { value, source } => Item::Value {
                    value: value.clone(),
                    source: source.clone(),
                },
                LeafKind::Structure(s) => Item::Shape(*s),
                LeafKind::Comment(_) => return None,
            };
            Some(Entry {
                loc: l.loc.clone(),
                leaf: i,
                item,
            })
        })
        .collect()
}

/// Entries by their displayed location.
pub(crate) fn by_loc(entries: &[Entry]) -> HashMap<String, &Entry> {
    entries.iter().map(|e| (show_loc(&e.loc), e)).collect()
}

/// How a key path differs between two documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    Added(String),
    Removed(String),
    Changed(String),
}

/// The key paths added, removed or changed from `a` to `b`: removed and
/// changed in `a`'s order, then added in `b`'s order. Never holds a value.
pub fn key_changes(a: &[Entry], b: &[Entry]) -> Vec<KeyChange> {
    let in_a = by_loc(a);
    let in_b = by_loc(b);
    let mut out = Vec::new();
    for e in a {
        let loc = show_loc(&e.loc);
        match in_b.get(&loc) {
            None => out.push(KeyChange::Removed(loc)),
            Some(other) if !other.item.same_data(&e.item) => out.push(KeyChange::Changed(loc)),
            Some(_) => {}
        }
    }
    for e in b {
        let loc = show_loc(&e.loc);
        if !in_a.contains_key(&loc) {
            out.push(KeyChange::Added(loc));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Format;

    fn changes(a: &str, b: &str) -> Vec<KeyChange> {
        let (da, db) = (
            Format::Yaml.parse(a).unwrap(),
            Format::Yaml.parse(b).unwrap(),
        );
        key_changes(&entries(da.as_ref()), &entries(db.as_ref()))
    }

    #[test]
    fn key_changes_name_paths_only() {
        let c = changes(
            "db:\n  user: app\n  password: old\nport: 1.50\nl: [a, b]\n",
            "db:\n  user: app\n  password: new\nport: 1.5\nl: [a]\nnew: {}\n",
        );
        assert_eq!(
            c,
            vec![
                KeyChange::Changed(r#"["db"]["password"]"#.into()),
                KeyChange::Removed(r#"["l"][1]"#.into()),
                KeyChange::Added(r#"["new"]"#.into()),
            ]
        );
    }

    #[test]
    fn comments_and_spelling_are_not_changes() {
        assert!(changes("# one\na: 0x1F\n", "# two\na: 31\n").is_empty());
    }
}
