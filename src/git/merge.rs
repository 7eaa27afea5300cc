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
//! paths or to a node's kind) are merged when only ONE side changes the
//! structure: that side is the carrier and the other side's value changes
//! are applied to it. When both sides change the structure differently the
//! merge is refused, naming the paths each side added or removed: splicing
//! new keys into the other side's text needs insert/delete rendering that
//! the formats do not offer yet.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{Entry, Item, by_loc, entries, show_loc};
use crate::document::{Decrypted, Document, LeafKind, Replacement};
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

/// Paths added and removed by `side` relative to `base`, for messages.
fn structure_changes(base: &[Entry], side: &[Entry], name: &str, out: &mut Vec<String>) {
    let b = by_loc(base);
    let s = by_loc(side);
    for e in side {
        let loc = show_loc(&e.loc);
        match b.get(&loc) {
            None => out.push(format!("{loc}: added on {name}")),
            Some(o) if o.item.class() != e.item.class() => {
                out.push(format!("{loc}: changed kind of node on {name}"))
            }
            Some(_) => {}
        }
    }
    for e in base {
        let loc = show_loc(&e.loc);
        if !s.contains_key(&loc) {
            out.push(format!("{loc}: removed on {name}"));
        }
    }
}

/// Merge `ours` and `theirs` against `base`. All three are plaintext
/// documents of the same format.
pub fn merge(base: &dyn Document, ours: &dyn Document, theirs: &dyn Document) -> Outcome {
    let (eb, eo, et) = (entries(base), entries(ours), entries(theirs));
    let (sb, so, st) = (signature(&eb), signature(&eo), signature(&et));

    let carrier = if so == sb && st != sb {
        Carrier::Theirs
    } else if so != sb && st != sb && so != st {
        let mut lines = Vec::new();
        structure_changes(&eb, &eo, "our side", &mut lines);
        structure_changes(&eb, &et, "their side", &mut lines);
        lines.push(
            "both sides added or removed keys; shroud merges key additions and removals only \
             when one side alone makes them"
                .into(),
        );
        return Outcome::Conflict(lines);
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
                    text: value::plaintext_for(value, source.as_deref()),
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
    fn structure_changed_on_both_sides_is_refused_with_paths() {
        let ours = "# top\ndb:\n  user: app\n  password: old\nport: 5432\na: 1\n";
        let theirs = "# top\ndb:\n  user: app\n  password: old\nport: 5432\nb: 2\n";
        let lines = run(BASE, ours, theirs).unwrap_err();
        assert_eq!(lines[0], r#"["a"]: added on our side"#);
        assert_eq!(lines[1], r#"["b"]: added on their side"#);
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
