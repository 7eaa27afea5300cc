//! The flattened metadata form shared by dotenv and INI (spec 5.2): the
//! `sops` block written as one `key = value` line per scalar, the path
//! encoded in the key (`age__list_0__map_enc`), every value a string with
//! real newlines written as the two characters `\n`.
//!
//! SOPS flattens through Go maps and sorts the keys on write (dotenv always,
//! INI from 3.13); shroud sorts too, so the output does not depend on the
//! order of the tree handed in.

use std::collections::BTreeMap;

use crate::document::MetaNode;

const MAP_SEP: &str = "__map_";
const LIST_SEP: &str = "__list_";

/// Flatten `node` (the whole `sops` map) into `(key, value)` pairs sorted by
/// key in byte order, as Go's `sort.Strings` does. Nulls and empty lists or
/// maps produce no line (SOPS skips nil values and has nothing to write for
/// an empty container). Values are escaped (`\n`) and ready to write.
pub fn flatten(node: &MetaNode) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let MetaNode::Map(entries) = node {
        for (k, v) in entries {
            flatten_into(&mut out, k.clone(), v);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn flatten_into(out: &mut Vec<(String, String)>, prefix: String, node: &MetaNode) {
    match node {
        MetaNode::Map(entries) => {
            for (k, v) in entries {
                flatten_into(out, format!("{prefix}{MAP_SEP}{k}"), v);
            }
        }
        MetaNode::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(out, format!("{prefix}{LIST_SEP}{i}"), v);
            }
        }
        MetaNode::Str(s) => out.push((prefix, escape_newlines(s))),
        MetaNode::Int(i) => out.push((prefix, i.to_string())),
        MetaNode::Bool(b) => out.push((prefix, b.to_string())),
        MetaNode::Null => {}
    }
}

/// Real newlines become the two characters `\n` (SOPS `EncodeNewLines`).
pub fn escape_newlines(s: &str) -> String {
    s.replace('\n', "\\n")
}

/// The two characters `\n` become a newline (SOPS `DecodeNewLines`).
pub fn unescape_newlines(s: &str) -> String {
    // Most values hold no backslash at all; skip the search for them (this
    // runs once per line of a dotenv file).
    if !s.as_bytes().contains(&b'\\') {
        return s.to_string();
    }
    s.replace("\\n", "\n")
}

/// One step of a flattened key.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Key(&'a str),
    Index(&'a str),
}

/// Split a flattened key into its steps, the way SOPS's `tokenize` does:
/// the first step is a map key, then each `__map_`/`__list_` starts a new
/// step.
fn tokenize(path: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut list = false;
    let mut body = 0;
    let mut i = 0;
    let bytes = path.as_bytes();
    while i < bytes.len() {
        // Compare bytes: `i` may sit inside a multi-byte character, where
        // slicing the str would panic.
        let rest = &bytes[i..];
        let sep = if rest.starts_with(MAP_SEP.as_bytes()) {
            Some((false, MAP_SEP.len()))
        } else if rest.starts_with(LIST_SEP.as_bytes()) {
            Some((true, LIST_SEP.len()))
        } else {
            None
        };
        match sep {
            Some((is_list, len)) => {
                let text = &path[body..i];
                tokens.push(if list {
                    Token::Index(text)
                } else {
                    Token::Key(text)
                });
                list = is_list;
                i += len;
                body = i;
            }
            // Separators are ASCII, so a match always starts and ends on a
            // character boundary and the slices above are safe.
            None => i += 1,
        }
    }
    let text = &path[body..];
    tokens.push(if list {
        Token::Index(text)
    } else {
        Token::Key(text)
    });
    tokens
}

/// A node under construction: maps keep first-appearance order, lists are
/// sparse until checked.
enum Building {
    Map(Vec<(String, Building)>),
    List(BTreeMap<usize, Building>),
    Leaf(String),
}

/// Why a set of flattened keys does not form a tree. `index` names the
/// entry (in the order given) that could not be placed.
#[derive(Debug)]
pub struct UnflattenError {
    pub index: usize,
    pub message: String,
}

/// Rebuild the `sops` map from flattened `(key, raw value)` entries in file
/// order. Values are unescaped (`\n`) and kept as strings; a later entry for
/// the same key wins, as with SOPS's Go map. Holes in list indices and a
/// node used both as a map, a list or a value are refused (SOPS 3.13 refuses
/// the first and panics on the second).
pub fn unflatten<'a>(
    entries: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<MetaNode, UnflattenError> {
    let mut root: Vec<(String, Building)> = Vec::new();
    let mut count = 0;
    for (index, (key, value)) in entries.into_iter().enumerate() {
        count = index + 1;
        let err = |message: String| UnflattenError { index, message };
        let tokens = tokenize(key);
        let mut slot = Slot::Map(&mut root, tokens_key(&tokens[0]));
        for tok in &tokens[1..] {
            let node = slot.get_or_insert(|| match tok {
                Token::Key(_) => Building::Map(Vec::new()),
                Token::Index(_) => Building::List(BTreeMap::new()),
            });
            slot = match (node, tok) {
                (Building::Map(m), Token::Key(k)) => Slot::Map(m, k),
                (Building::List(l), Token::Index(i)) => {
                    let i: usize = i
                        .parse()
                        .map_err(|_| err(format!("metadata key {key:?}: bad list index")))?;
                    Slot::List(l, i)
                }
                _ => {
                    return Err(err(format!(
                        "metadata key {key:?} mixes a map, a list and a value at one place"
                    )));
                }
            };
        }
        match slot.get_or_insert(|| Building::Leaf(String::new())) {
            Building::Leaf(v) => *v = unescape_newlines(&value),
            _ => {
                return Err(err(format!(
                    "metadata key {key:?} is both a value and a map or list"
                )));
            }
        }
    }
    finish(Building::Map(root)).map_err(|message| UnflattenError {
        index: count.saturating_sub(1),
        message,
    })
}

fn tokens_key<'a>(t: &Token<'a>) -> &'a str {
    match t {
        Token::Key(k) | Token::Index(k) => k,
    }
}

/// Where the next step of a key goes.
enum Slot<'m, 'k> {
    Map(&'m mut Vec<(String, Building)>, &'k str),
    List(&'m mut BTreeMap<usize, Building>, usize),
}

impl<'m> Slot<'m, '_> {
    fn get_or_insert(self, make: impl FnOnce() -> Building) -> &'m mut Building {
        match self {
            Slot::Map(m, k) => {
                let pos = match m.iter().position(|(key, _)| key == k) {
                    Some(p) => p,
                    None => {
                        m.push((k.to_string(), make()));
                        m.len() - 1
                    }
                };
                &mut m[pos].1
            }
            Slot::List(l, i) => l.entry(i).or_insert_with(make),
        }
    }
}

fn finish(b: Building) -> Result<MetaNode, String> {
    Ok(match b {
        Building::Leaf(s) => MetaNode::Str(s),
        Building::Map(entries) => MetaNode::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, finish(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Building::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (expected, (i, v)) in items.into_iter().enumerate() {
                if i != expected {
                    return Err(format!(
                        "incomplete list in the metadata: item {expected} is missing"
                    ));
                }
                out.push(finish(v)?);
            }
            MetaNode::List(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> MetaNode {
        MetaNode::Str(x.into())
    }

    #[test]
    fn tokenizes_like_sops() {
        assert_eq!(
            tokenize("age__list_0__map_enc"),
            [Token::Key("age"), Token::Index("0"), Token::Key("enc")]
        );
        assert_eq!(
            tokenize("unencrypted_suffix"),
            [Token::Key("unencrypted_suffix")]
        );
        assert_eq!(tokenize(""), [Token::Key("")]);
    }

    #[test]
    fn flatten_and_unflatten_are_inverse() {
        let node = MetaNode::Map(vec![
            ("shamir_threshold".into(), MetaNode::Int(2)),
            (
                "key_groups".into(),
                MetaNode::List(vec![
                    MetaNode::Map(vec![
                        ("hc_vault".into(), MetaNode::List(vec![])),
                        (
                            "age".into(),
                            MetaNode::List(vec![MetaNode::Map(vec![
                                ("recipient".into(), s("r1")),
                                ("enc".into(), s("a\nb\n")),
                            ])]),
                        ),
                    ]),
                    MetaNode::Map(vec![(
                        "age".into(),
                        MetaNode::List(vec![MetaNode::Map(vec![("enc".into(), s("x"))])]),
                    )]),
                ]),
            ),
            ("mac_only_encrypted".into(), MetaNode::Bool(true)),
            ("pgp".into(), MetaNode::Null),
        ]);
        let flat = flatten(&node);
        let keys: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "key_groups__list_0__map_age__list_0__map_enc",
                "key_groups__list_0__map_age__list_0__map_recipient",
                "key_groups__list_1__map_age__list_0__map_enc",
                "mac_only_encrypted",
                "shamir_threshold",
            ]
        );
        assert_eq!(flat[0].1, "a\\nb\\n");
        let back = unflatten(flat.iter().map(|(k, v)| (k.as_str(), v.clone()))).unwrap();
        // Scalars come back as strings, empty lists and nulls not at all.
        let expected = MetaNode::Map(vec![
            (
                "key_groups".into(),
                MetaNode::List(vec![
                    MetaNode::Map(vec![(
                        "age".into(),
                        MetaNode::List(vec![MetaNode::Map(vec![
                            ("enc".into(), s("a\nb\n")),
                            ("recipient".into(), s("r1")),
                        ])]),
                    )]),
                    MetaNode::Map(vec![(
                        "age".into(),
                        MetaNode::List(vec![MetaNode::Map(vec![("enc".into(), s("x"))])]),
                    )]),
                ]),
            ),
            ("mac_only_encrypted".into(), s("true")),
            ("shamir_threshold".into(), s("2")),
        ]);
        assert_eq!(back, expected);
    }

    #[test]
    fn refuses_holes_and_mixed_nodes() {
        let e = |pairs: &[(&'static str, &str)]| {
            unflatten(pairs.iter().map(|(k, v)| (*k, v.to_string()))).unwrap_err()
        };
        assert!(
            e(&[("age__list_1__map_enc", "x")])
                .message
                .contains("incomplete")
        );
        assert_eq!(e(&[("a", "x"), ("a__map_b", "y")]).index, 1);
        assert_eq!(e(&[("a__map_b", "y"), ("a", "x")]).index, 1);
        assert_eq!(e(&[("a__list_0", "y"), ("a__map_b", "x")]).index, 1);
        assert!(e(&[("a__list_x", "y")]).message.contains("index"));
        // The same key twice: the later one wins, as in SOPS.
        let ok = unflatten([("v", "1".to_string()), ("v", "2".to_string())]).unwrap();
        assert_eq!(ok, MetaNode::Map(vec![("v".into(), s("2"))]));
    }
}
