//! A three-way merge of decrypted documents by key path, for the git merge
//! driver.
//!
//! The result is expressed as edits to one side's plaintext document (the
//! *carrier*), so that the carrier's text — layout, comments, order — is
//! kept, and the caller re-encrypts it keeping unchanged ciphertexts.
//!
//! Value changes merge fully: a value changed on one side only is taken,
//! the same change on both sides is taken once, different changes to one
//! key are a conflict. Keys added or removed (any change to the set of key
//! paths or to a node's kind) on ONE side only: that side is the carrier
//! and the other side's value changes are applied to it. When BOTH sides
//! changed the structure, the three documents are merged as trees and the
//! result is [`Outcome::Apply`]: their side's changes as `set`/`unset`
//! splices ([`crate::formats::structure`]) over our plaintext, so our text
//! is the carrier and only their changes are written into it.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{Entry, Item, by_loc, entries, show_loc};
use crate::document::{Decrypted, Document, LeafKind, Replacement, Shape};
use crate::formats::Format;
use crate::formats::structure::{self, Change, NewValue};
use crate::treepath::PathSeg;
use crate::value;

/// Which input the merged text is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    Ours,
    Theirs,
}

/// The outcome of [`merge`].
#[derive(Debug)]
pub enum Outcome {
    /// Render the carrier's plaintext document with these edits (one per
    /// leaf) to get the merged plaintext.
    Merged {
        carrier: Carrier,
        edits: Vec<Replacement>,
    },
    /// Both sides added or removed keys: apply these changes to our
    /// plaintext text with [`apply`] (our text is kept around them).
    Apply(Vec<Op>),
    /// The merge cannot be done; each line names a key path and why, never
    /// a value.
    Conflict(Vec<String>),
}

/// The shape of a document: every data location and its kind of node.
fn signature(entries: &[Entry]) -> Vec<(String, Option<crate::document::Shape>)> {
    entries
        .iter()
        .map(|e| (show_loc(&e.loc), e.item.class()))
        .collect()
}

/// The length of every list, keyed by the list's displayed location.
fn list_lengths(entries: &[Entry]) -> HashMap<String, usize> {
    let mut lens = HashMap::new();
    for e in entries {
        if e.item == Item::Shape(crate::document::Shape::EmptyList) {
            lens.entry(show_loc(&e.loc)).or_insert(0);
        }
        for (k, seg) in e.loc.iter().enumerate() {
            if let PathSeg::Index(i) = seg {
                let len = lens.entry(show_loc(&e.loc[..k])).or_insert(0);
                *len = (*len).max(i + 1);
            }
        }
    }
    lens
}

/// Whether `loc` lies inside a list whose length differs between `a` and `b`
/// (its items moved, so the same index may be a different item).
fn inside_resized_list(
    loc: &[PathSeg],
    a: &HashMap<String, usize>,
    b: &HashMap<String, usize>,
) -> bool {
    loc.iter().enumerate().any(|(k, seg)| {
        matches!(seg, PathSeg::Index(_)) && {
            let list = show_loc(&loc[..k]);
            a.get(&list) != b.get(&list)
        }
    })
}

fn comments(doc: &dyn Document) -> Vec<(usize, &str)> {
    doc.leaves()
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match &l.kind {
            LeafKind::Comment(t) => Some((i, t.as_str())),
            _ => None,
        })
        .collect()
}

/// Merge `ours` and `theirs` against `base`. All three are plaintext
/// documents of the same format.
pub fn merge(base: &dyn Document, ours: &dyn Document, theirs: &dyn Document) -> Outcome {
    let (eb, eo, et) = (entries(base), entries(ours), entries(theirs));
    let (sb, so, st) = (signature(&eb), signature(&eo), signature(&et));

    let carrier = if so == sb && st != sb {
        Carrier::Theirs
    } else if so != sb && st != sb && so != st {
        return merge_structures(base, ours, theirs);
    } else {
        Carrier::Ours
    };
    let (carrier_doc, ec, ev, other_doc) = match carrier {
        Carrier::Ours => (ours, &eo, &et, theirs),
        Carrier::Theirs => (theirs, &et, &eo, ours),
    };
    let other_name = match carrier {
        Carrier::Ours => "their side",
        Carrier::Theirs => "our side",
    };

    let mut edits = vec![Replacement::Keep; carrier_doc.leaves().len()];
    let mut conflicts = Vec::new();
    let base_at = by_loc(&eb);
    let carrier_at = by_loc(ec);
    let (lens_base, lens_carrier) = (list_lengths(&eb), list_lengths(ec));

    // Every value the other side changed, applied to the carrier.
    for v in ev {
        let loc = show_loc(&v.loc);
        let vb = base_at.get(&loc).map(|e| &e.item);
        if vb.is_some_and(|b| b.same_data(&v.item)) {
            continue;
        }
        let Some(c) = carrier_at.get(&loc) else {
            conflicts.push(format!(
                "{loc}: changed on {other_name} but removed on the other"
            ));
            continue;
        };
        if c.item.same_data(&v.item) {
            continue;
        }
        let carrier_unchanged = vb.is_some_and(|b| b.same_data(&c.item));
        if vb.is_none() {
            conflicts.push(format!("{loc}: added on both sides with different values"));
            continue;
        }
        if !carrier_unchanged {
            conflicts.push(format!("{loc}: changed on both sides"));
            continue;
        }
        if inside_resized_list(&v.loc, &lens_base, &lens_carrier) {
            conflicts.push(format!(
                "{loc}: changed on {other_name}, inside a list whose items the other side added or removed"
            ));
            continue;
        }
        match &v.item {
            Item::Value { value, source } => {
                edits[c.leaf] = Replacement::Decrypted(Decrypted::Scalar {
                    value: value.clone(),
                    text: value::plaintext_for(value, source.as_ref().map(|s| s.as_str())),
                });
            }
            // Same kind of node on every side (the signatures matched
            // where it matters), so a shape never differs here; be safe.
            Item::Shape(_) => conflicts.push(format!("{loc}: changed on both sides")),
        }
    }

    // Comments: taken from the other side only when the carrier left them
    // alone and the other side changed their text, not their number.
    let (cb, cc, cv) = (comments(base), comments(carrier_doc), comments(other_doc));
    let texts = |c: &[(usize, &str)]| c.iter().map(|(_, t)| t.to_string()).collect::<Vec<_>>();
    let (tb, tc, tv) = (
        Zeroizing::new(texts(&cb)),
        Zeroizing::new(texts(&cc)),
        Zeroizing::new(texts(&cv)),
    );
    if *tv != *tb && *tv != *tc {
        if *tc == *tb && tv.len() == tc.len() {
            for ((i, old), new) in cc.iter().zip(tv.iter()) {
                if *old != new.as_str() {
                    edits[*i] =
                        Replacement::Decrypted(Decrypted::Comment(Zeroizing::new(new.clone())));
                }
            }
        } else {
            conflicts.push(
                "comments: changed on both sides, or added or removed on one side".to_string(),
            );
        }
    }

    if conflicts.is_empty() {
        Outcome::Merged { carrier, edits }
    } else {
        Outcome::Conflict(conflicts)
    }
}

// ---------------------------------------------------------------------------
// Both sides changed the structure: a three-way merge over the trees of the
// three documents, giving structural changes to apply to our plaintext.

/// One change to our plaintext: set `path` to a value, or remove it.
pub struct Op {
    pub path: Vec<PathSeg>,
    /// `None` removes the path.
    pub value: Option<NewValue>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.value.is_some() { "set" } else { "unset" };
        write!(f, "{what} {}", show_loc(&self.path))
    }
}

/// A document as a tree of data (comments left out).
#[derive(Clone)]
enum Node {
    Leaf(Item),
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
}

impl Node {
    fn build(entries: &[Entry]) -> Node {
        let mut root = Node::Map(Vec::new());
        for e in entries {
            root.insert(&e.loc, &e.item);
        }
        root
    }

    fn insert(&mut self, loc: &[PathSeg], item: &Item) {
        let Some((first, rest)) = loc.split_first() else {
            *self = match item {
                Item::Shape(Shape::EmptyMap) => Node::Map(Vec::new()),
                Item::Shape(Shape::EmptyList) => Node::List(Vec::new()),
                other => Node::Leaf(other.clone()),
            };
            return;
        };
        match first {
            PathSeg::Key(k) => {
                if !matches!(self, Node::Map(_)) {
                    *self = Node::Map(Vec::new());
                }
                let Node::Map(entries) = self else { return };
                let i = match entries.iter().position(|(x, _)| x == k) {
                    Some(i) => i,
                    None => {
                        entries.push((k.clone(), Node::Map(Vec::new())));
                        entries.len() - 1
                    }
                };
                entries[i].1.insert(rest, item);
            }
            PathSeg::Index(i) => {
                if !matches!(self, Node::List(_)) {
                    *self = Node::List(Vec::new());
                }
                let Node::List(items) = self else { return };
                while items.len() <= *i {
                    items.push(Node::Map(Vec::new()));
                }
                items[*i].insert(rest, item);
            }
        }
    }

    fn get(&self, k: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(x, _)| x == k).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Equal as data: maps regardless of key order, scalars by meaning.
    fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => a.same_data(b),
            (Node::Map(a), Node::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| other.get(k).is_some_and(|w| v.same(w)))
                    && b.iter().all(|(k, _)| self.get(k).is_some())
            }
            (Node::List(a), Node::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            _ => false,
        }
    }

    fn to_value(&self) -> NewValue {
        match self {
            Node::Leaf(Item::Value { value, source }) => NewValue::Scalar {
                value: value.clone(),
                text: value::plaintext_for(value, source.as_ref().map(|s| s.as_str())),
            },
            Node::Leaf(Item::Shape(Shape::EmptyMap)) => NewValue::Map(Vec::new()),
            Node::Leaf(Item::Shape(Shape::EmptyList)) => NewValue::List(Vec::new()),
            Node::Leaf(Item::Shape(Shape::Null)) => NewValue::Null,
            Node::Map(entries) => NewValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
            Node::List(items) => NewValue::List(items.iter().map(Node::to_value).collect()),
        }
    }
}

fn same_opt(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same(b),
        _ => false,
    }
}

fn child(path: &[PathSeg], seg: PathSeg) -> Vec<PathSeg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

/// The changes that turn `from` (at `path` in our document) into `to`:
/// per key for maps, per item (then appends or removals at the end) for
/// lists, so that whatever stays keeps its text.
fn transform(path: &[PathSeg], from: Option<&Node>, to: Option<&Node>, ops: &mut Vec<Op>) {
    if same_opt(from, to) {
        return;
    }
    let set = |ops: &mut Vec<Op>, node: &Node| {
        ops.push(Op {
            path: path.to_vec(),
            value: Some(node.to_value()),
        })
    };
    match (from, to) {
        (_, None) => ops.push(Op {
            path: path.to_vec(),
            value: None,
        }),
        (None | Some(Node::Leaf(_)), Some(t)) => set(ops, t),
        (Some(Node::Map(a)), Some(Node::Map(b))) => {
            // Removals first: a key another key replaces is gone before
            // the new one is written.
            for (k, v) in a {
                if b.iter().all(|(x, _)| x != k) {
                    transform(&child(path, PathSeg::Key(k.clone())), Some(v), None, ops);
                }
            }
            for (k, v) in b {
                let from = a.iter().find(|(x, _)| x == k).map(|(_, n)| n);
                transform(&child(path, PathSeg::Key(k.clone())), from, Some(v), ops);
            }
        }
        (Some(Node::List(a)), Some(Node::List(b))) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                transform(&child(path, PathSeg::Index(i)), Some(x), Some(y), ops);
            }
            for (i, y) in b.iter().enumerate().skip(a.len()) {
                transform(&child(path, PathSeg::Index(i)), None, Some(y), ops);
            }
            // From the end, so that each index is still where it was.
            for i in (b.len()..a.len()).rev() {
                transform(&child(path, PathSeg::Index(i)), Some(&a[i]), None, ops);
            }
        }
        // A map or list that becomes something else: `set` replaces it.
        (Some(_), Some(t)) => set(ops, t),
    }
}

/// Three-way merge at `path`: the changes to our node, or conflicts.
fn merge_node(
    path: &[PathSeg],
    base: Option<&Node>,
    ours: Option<&Node>,
    theirs: Option<&Node>,
    ops: &mut Vec<Op>,
    conflicts: &mut Vec<String>,
) {
    if same_opt(base, theirs) || same_opt(ours, theirs) {
        return;
    }
    if same_opt(base, ours) {
        transform(path, ours, theirs, ops);
        return;
    }
    let loc = show_loc(path);
    match (ours, theirs) {
        (Some(Node::Map(o)), Some(Node::Map(t))) => {
            let empty = Node::Map(Vec::new());
            let b = match base {
                Some(n @ Node::Map(_)) => n,
                // Added as a map on both sides: merge the two maps.
                None => &empty,
                Some(_) => {
                    conflicts.push(format!("{loc}: changed on both sides"));
                    return;
                }
            };
            let Node::Map(bm) = b else { return };
            let mut keys: Vec<&String> = o.iter().map(|(k, _)| k).collect();
            for (k, _) in t.iter().chain(bm.iter()) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            for k in keys {
                merge_node(
                    &child(path, PathSeg::Key(k.clone())),
                    b.get(k),
                    ours.and_then(|n| n.get(k)),
                    theirs.and_then(|n| n.get(k)),
                    ops,
                    conflicts,
                );
            }
        }
        (Some(Node::List(o)), Some(Node::List(t))) if matches!(base, Some(Node::List(b)) if b.len() == o.len() && b.len() == t.len()) =>
        {
            let Some(Node::List(b)) = base else { return };
            for i in 0..o.len() {
                merge_node(
                    &child(path, PathSeg::Index(i)),
                    Some(&b[i]),
                    Some(&o[i]),
                    Some(&t[i]),
                    ops,
                    conflicts,
                );
            }
        }
        (Some(Node::List(_)), Some(Node::List(_))) => conflicts.push(format!(
            "{loc}: a list changed on both sides, with items added or removed"
        )),
        (None, Some(_)) => {
            conflicts.push(format!("{loc}: changed on their side but removed on ours"))
        }
        (Some(_), None) => {
            conflicts.push(format!("{loc}: changed on our side but removed on theirs"))
        }
        _ if base.is_none() => {
            conflicts.push(format!("{loc}: added on both sides with different values"))
        }
        _ => conflicts.push(format!("{loc}: changed on both sides")),
    }
}

/// Both sides changed the structure: the changes that bring their side's
/// changes into ours, or the conflicts. Comments are ours; if their side
/// changed comments that is a conflict (they cannot be carried over).
fn merge_structures(base: &dyn Document, ours: &dyn Document, theirs: &dyn Document) -> Outcome {
    let (nb, no, nt) = (
        Node::build(&entries(base)),
        Node::build(&entries(ours)),
        Node::build(&entries(theirs)),
    );
    let mut ops = Vec::new();
    let mut conflicts = Vec::new();
    merge_node(
        &[],
        Some(&nb),
        Some(&no),
        Some(&nt),
        &mut ops,
        &mut conflicts,
    );
    let texts = |d: &dyn Document| {
        Zeroizing::new(
            comments(d)
                .into_iter()
                .map(|(_, t)| t.to_string())
                .collect::<Vec<_>>(),
        )
    };
    let (tb, to, tt) = (texts(base), texts(ours), texts(theirs));
    if *tt != *tb && *tt != *to {
        conflicts.push(
            "comments: changed on their side while both sides added or removed keys; \
             shroud cannot carry them over"
                .into(),
        );
    }
    if conflicts.is_empty() {
        Outcome::Apply(ops)
    } else {
        Outcome::Conflict(conflicts)
    }
}

/// Apply [`Outcome::Apply`]'s changes to our plaintext `text`, in order.
/// A change the splicer cannot make is a conflict naming its path.
pub fn apply(format: Format, text: &str, ops: &[Op]) -> Result<Zeroizing<String>, Vec<String>> {
    let mut current = Zeroizing::new(text.to_string());
    for op in ops {
        let change = match &op.value {
            Some(value) => Change::Set {
                path: &op.path,
                value,
            },
            None => Change::Unset { path: &op.path },
        };
        match structure::apply(format, &current, &change) {
            Ok(structure::Outcome::Changed(t)) => current = t,
            Ok(structure::Outcome::Unchanged) => {}
            Err(e) => {
                return Err(vec![format!(
                    "{}: their change could not be written into our version: {e}",
                    show_loc(&op.path)
                )]);
            }
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Format;

    /// Merge three YAML texts; the merged text, or the conflict lines.
    fn run(base: &str, ours: &str, theirs: &str) -> Result<String, Vec<String>> {
        let f = Format::Yaml;
        let (b, o, t) = (
            f.parse(base).unwrap(),
            f.parse(ours).unwrap(),
            f.parse(theirs).unwrap(),
        );
        match merge(b.as_ref(), o.as_ref(), t.as_ref()) {
            Outcome::Merged { carrier, edits } => {
                let doc = match carrier {
                    Carrier::Ours => &o,
                    Carrier::Theirs => &t,
                };
                Ok(doc.render(&edits, None).unwrap().text)
            }
            Outcome::Apply(ops) => apply(f, ours, &ops).map(|t| t.to_string()),
            Outcome::Conflict(lines) => Err(lines),
        }
    }

    const BASE: &str = "# top\ndb:\n  user: app\n  password: old\nport: 5432\n";

    #[test]
    fn one_sided_value_changes_on_both_sides_merge() {
        let ours = "# top\ndb:\n  user: app\n  password: new\nport: 5432\n";
        let theirs = "# top\ndb:\n  user: admin\n  password: old\nport: 6543\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  user: admin\n  password: new\nport: 6543\n"
        );
    }

    #[test]
    fn the_same_key_changed_differently_is_a_conflict_naming_only_the_path() {
        let ours = "# top\ndb:\n  user: app\n  password: mine\nport: 5432\n";
        let theirs = "# top\ndb:\n  user: app\n  password: yours\nport: 5432\n";
        let lines = run(BASE, ours, theirs).unwrap_err();
        assert_eq!(lines, vec![r#"["db"]["password"]: changed on both sides"#]);
        assert!(!lines.concat().contains("mine") && !lines.concat().contains("yours"));
        // The same change on both sides is no conflict.
        assert_eq!(run(BASE, ours, ours).unwrap(), ours);
    }

    #[test]
    fn keys_added_or_removed_on_one_side_are_applied() {
        let ours = "# top\ndb:\n  user: app\n  password: new\nport: 5432\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\n  host: db1\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  user: app\n  password: new\n  host: db1\n"
        );
        // Changing a key the other side removed is a conflict.
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 1\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap_err(),
            vec![r#"["port"]: changed on our side but removed on the other"#]
        );
    }

    #[test]
    fn keys_added_on_both_sides_merge_into_our_text() {
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 5432\na: 1\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\n  host: db1\nport: 5432\nb: 2\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  user: app\n  password: old\n  host: db1\nport: 5432\na: 1\nb: 2\n"
        );
        // The same key added with the same value on both sides is one key.
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nb: 2\na: 1\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  user: app\n  password: old\nport: 5432\na: 1\nb: 2\n"
        );
    }

    #[test]
    fn removals_value_changes_and_new_maps_from_both_sides_combine() {
        // Ours removes port and adds a map; theirs removes user, changes
        // the password and adds a list.
        let ours = "# top\ndb:\n  user: app\n  password: old\ncache:\n  ttl: 60\n";
        let theirs = "# top\ndb:\n  password: new\nport: 5432\nhosts:\n  - a\n  - b\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  password: new\ncache:\n  ttl: 60\nhosts:\n  - a\n  - b\n"
        );
        // A map added on both sides with different keys is merged.
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nx:\n  a: 1\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nx:\n  b: 2\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# top\ndb:\n  user: app\n  password: old\nport: 5432\nx:\n  a: 1\n  b: 2\n"
        );
    }

    #[test]
    fn list_items_their_side_added_or_removed_come_over_with_our_new_keys() {
        let base = "l:\n  - a\n  - b\n  - c\nk: 1\n";
        let ours = "l:\n  - a\n  - b\n  - c\nk: 1\nmine: 2\n";
        assert_eq!(
            run(
                base,
                ours,
                "l:\n  - a\n  - b\n  - c\n  - d\nk: 1\nyours: 3\n"
            )
            .unwrap(),
            "l:\n  - a\n  - b\n  - c\n  - d\nk: 1\nmine: 2\nyours: 3\n"
        );
        assert_eq!(
            run(base, ours, "l:\n  - a\nk: 1\nyours: 3\n").unwrap(),
            "l:\n  - a\nk: 1\nmine: 2\nyours: 3\n"
        );
        // A scalar their side turned into a map, and a list into a
        // scalar: same data, written where the old value was (a new map in
        // flow style, as `set` writes it).
        assert_eq!(
            run(base, ours, "l:\n  - a\n  - b\n  - c\nk:\n  x: 1\n").unwrap(),
            "l:\n  - a\n  - b\n  - c\nk: {x: 1}\nmine: 2\n"
        );
        assert_eq!(
            run(base, ours, "l: none\nk: 1\n").unwrap(),
            "l: none\nk: 1\nmine: 2\n"
        );
    }

    #[test]
    fn conflicting_structure_changes_name_the_paths_only() {
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nk: mine\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nk: yours\nz: 1\n";
        let lines = run(BASE, ours, theirs).unwrap_err();
        assert_eq!(
            lines,
            vec![r#"["k"]: added on both sides with different values"#]
        );
        // Removed on one side, changed on the other, while both add keys.
        let ours = "# top\ndb:\n  user: app\n  password: old\na: 1\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 1\nb: 2\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap_err(),
            vec![r#"["port"]: changed on their side but removed on ours"#]
        );
        // A list whose items both sides added to.
        let base = "l: [a]\n";
        let lines = run(base, "l: [a, b]\nx: 1\n", "l: [a, c]\ny: 1\n").unwrap_err();
        assert_eq!(
            lines,
            vec![r#"["l"]: a list changed on both sides, with items added or removed"#]
        );
        // Comments their side changed cannot be carried over.
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 5432\na: 1\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 5432\n# b\nb: 2\n";
        let lines = run(BASE, ours, theirs).unwrap_err();
        assert!(lines[0].starts_with("comments:"), "{lines:?}");
    }

    #[test]
    fn a_change_inside_a_resized_list_is_a_conflict() {
        let base = "l: [a, b, c]\n";
        let ours = "l: [a, b, C]\n";
        let theirs = "l: [b, c]\n";
        let lines = run(base, ours, theirs).unwrap_err();
        assert!(lines[0].starts_with(r#"["l"][2]"#), "{lines:?}");
        let theirs = "l: [a, b, c, d]\n";
        let lines = run(base, ours, theirs).unwrap_err();
        assert!(lines[0].contains("inside a list"), "{lines:?}");
    }

    #[test]
    fn comment_text_changes_merge_from_one_side() {
        let theirs = "# changed\ndb:\n  user: app\n  password: old\nport: 5432\n";
        let ours = "# top\ndb:\n  user: app\n  password: new\nport: 5432\n";
        assert_eq!(
            run(BASE, ours, theirs).unwrap(),
            "# changed\ndb:\n  user: app\n  password: new\nport: 5432\n"
        );
    }
}
