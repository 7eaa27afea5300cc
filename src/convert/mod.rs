//! Converting a document to another format (`--output-type`).
//!
//! Within one format shroud never re-serialises a document; a conversion is
//! the one place where new text is written. The document's leaves (with
//! their full locations, nulls and empty containers included) are assembled
//! into a [`Node`] tree, which each target format's emitter writes out.
//! Data the target cannot hold is refused with the key path, never dropped.

mod flat;
mod json;
mod toml;

use crate::document::{Decrypted, Leaf, LeafKind, Replacement, Shape, Value};
use crate::error::{FormatError, display_path};
use crate::formats::Format;
use crate::treepath::PathSeg;

/// A document's data, in order, without comments or layout.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
    Scalar(Value),
    Null,
}

fn new_container(next: &PathSeg) -> Node {
    match next {
        PathSeg::Key(_) => Node::Map(Vec::new()),
        PathSeg::Index(_) => Node::List(Vec::new()),
    }
}

fn shape_error(loc: &[PathSeg]) -> FormatError {
    FormatError::SpanCheck(format!(
        "the leaves do not form a tree at {}",
        loc.iter().map(|s| s.to_string()).collect::<String>()
    ))
}

/// Descend from `node` along `seg`, creating the child (shaped for `next`)
/// when the walk reaches a new key or list item. Leaves come in document
/// order, so the child is always the newest entry of its container.
fn child<'a>(
    node: &'a mut Node,
    seg: &PathSeg,
    next: &PathSeg,
    loc: &[PathSeg],
) -> Result<&'a mut Node, FormatError> {
    match (node, seg) {
        (Node::Map(entries), PathSeg::Key(k)) => {
            if entries.last().is_none_or(|(last, _)| last != k) {
                entries.push((k.clone(), new_container(next)));
            }
            Ok(&mut entries.last_mut().expect("just ensured").1)
        }
        (Node::List(items), PathSeg::Index(i)) => {
            if *i == items.len() {
                items.push(new_container(next));
            } else if *i + 1 != items.len() {
                return Err(shape_error(loc));
            }
            Ok(items.last_mut().expect("just ensured"))
        }
        _ => Err(shape_error(loc)),
    }
}

fn place(root: &mut Node, loc: &[PathSeg], value: Node) -> Result<(), FormatError> {
    let Some((last, parents)) = loc.split_last() else {
        return Err(shape_error(loc));
    };
    let mut node = root;
    for (i, seg) in parents.iter().enumerate() {
        let next = parents.get(i + 1).unwrap_or(last);
        node = child(node, seg, next, loc)?;
    }
    match (node, last) {
        (Node::Map(entries), PathSeg::Key(k)) => entries.push((k.clone(), value)),
        (Node::List(items), PathSeg::Index(i)) if *i == items.len() => items.push(value),
        _ => return Err(shape_error(loc)),
    }
    Ok(())
}

/// The data of a document, with each leaf's value taken from its decrypted
/// replacement when there is one.
pub fn tree(leaves: &[Leaf], edits: &[Replacement]) -> Result<Node, FormatError> {
    let mut root = Node::Map(Vec::new());
    for (leaf, edit) in leaves.iter().zip(edits) {
        let value = match (&leaf.kind, edit) {
            (LeafKind::Comment(_), _) => continue,
            (_, Replacement::Decrypted(Decrypted::Comment(_))) => continue,
            (_, Replacement::Decrypted(Decrypted::Scalar { value, .. })) => {
                Node::Scalar(value.clone())
            }
            (LeafKind::Scalar { value, .. }, _) => Node::Scalar(value.clone()),
            (LeafKind::Structure(Shape::Null), _) => Node::Null,
            (LeafKind::Structure(Shape::EmptyMap), _) => Node::Map(Vec::new()),
            (LeafKind::Structure(Shape::EmptyList), _) => Node::List(Vec::new()),
        };
        place(&mut root, &leaf.loc, value)?;
    }
    Ok(root)
}

/// Write `root` as a plaintext document of `format`.
pub fn emit(root: &Node, format: Format) -> Result<String, FormatError> {
    match format {
        Format::Yaml => Ok(crate::formats::yaml::emit_tree(root)),
        Format::Json => json::emit(root),
        Format::Dotenv => flat::emit_dotenv(root),
        Format::Ini => flat::emit_ini(root),
        Format::Toml => toml::emit(root),
        other => Err(FormatError::CannotRepresent {
            path: display_path(&[] as &[&str]),
            format: other.name(),
            reason: "converting to this format is not supported".into(),
        }),
    }
}

/// The key path of a location, for messages.
pub(crate) fn loc_display(loc: &[PathSeg]) -> String {
    if loc.is_empty() {
        return "the document root".into();
    }
    loc.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use crate::formats::json::JsonDocument;

    #[test]
    fn builds_the_tree_with_nulls_and_empty_containers() {
        let src = r#"{"a": [1, {"b": [true, "x"]}, []], "c": {"d": null, "e": {}}, "f": "g"}"#;
        let doc = JsonDocument::parse(src).unwrap();
        let edits = vec![Replacement::Keep; doc.leaves().len()];
        let t = tree(doc.leaves(), &edits).unwrap();
        let s = |x: &str| Node::Scalar(Value::str(x));
        assert_eq!(
            t,
            Node::Map(vec![
                (
                    "a".into(),
                    Node::List(vec![
                        Node::Scalar(Value::Int(1)),
                        Node::Map(vec![(
                            "b".into(),
                            Node::List(vec![Node::Scalar(Value::Bool(true)), s("x")])
                        )]),
                        Node::List(vec![]),
                    ])
                ),
                (
                    "c".into(),
                    Node::Map(vec![
                        ("d".into(), Node::Null),
                        ("e".into(), Node::Map(vec![]))
                    ])
                ),
                ("f".into(), s("g")),
            ])
        );
    }
}
