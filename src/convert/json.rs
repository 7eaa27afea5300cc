//! Writing a [`Node`] tree as JSON, laid out as sops lays out JSON (one tab
//! per level), so a converted file looks like one sops would write.

use super::{Node, loc_display};
use crate::document::Value;
use crate::error::FormatError;
use crate::formats::json::json_string;
use crate::treepath::PathSeg;
use crate::value::go_float;

pub fn emit(root: &Node) -> Result<String, FormatError> {
    let mut out = String::new();
    let mut loc = Vec::new();
    write_node(root, 0, &mut loc, &mut out)?;
    out.push('\n');
    Ok(out)
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push('\t');
    }
}

fn write_node(
    node: &Node,
    level: usize,
    loc: &mut Vec<PathSeg>,
    out: &mut String,
) -> Result<(), FormatError> {
    match node {
        Node::Null => out.push_str("null"),
        Node::Scalar(v) => out.push_str(&scalar(v, loc)?),
        Node::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Node::List(items) if items.is_empty() => out.push_str("[]"),
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                out.push_str(&json_string(k));
                out.push_str(": ");
                loc.push(PathSeg::Key(k.clone()));
                write_node(v, level + 1, loc, out)?;
                loc.pop();
            }
            indent(out, level);
            out.push('}');
        }
        Node::List(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                loc.push(PathSeg::Index(i));
                write_node(v, level + 1, loc, out)?;
                loc.pop();
            }
            indent(out, level);
            out.push(']');
        }
    }
    Ok(())
}

fn scalar(v: &Value, loc: &[PathSeg]) -> Result<String, FormatError> {
    Ok(match v {
        Value::Str(s) => json_string(s),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => json_string(t),
        Value::Float(f) if !f.is_finite() => {
            return Err(FormatError::CannotRepresent {
                path: loc_display(loc),
                format: "json",
                reason: "JSON has no infinity or NaN".into(),
            });
        }
        Value::Float(f) => {
            // Keep it a float when read back: `1` would come back an int.
            let s = go_float(*f);
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                s + ".0"
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sops_style_json() {
        let t = Node::Map(vec![
            (
                "a".into(),
                Node::List(vec![Node::Scalar(Value::Float(1.0)), Node::Null]),
            ),
            ("b".into(), Node::Map(vec![])),
            ("c".into(), Node::Scalar(Value::str("x\"y"))),
        ]);
        assert_eq!(
            emit(&t).unwrap(),
            "{\n\t\"a\": [\n\t\t1.0,\n\t\tnull\n\t],\n\t\"b\": {},\n\t\"c\": \"x\\\"y\"\n}\n"
        );
    }

    #[test]
    fn refuses_what_json_cannot_hold() {
        let t = Node::Map(vec![(
            "x".into(),
            Node::List(vec![Node::Scalar(Value::Float(f64::NAN))]),
        )]);
        let e = emit(&t).unwrap_err().to_string();
        assert!(e.contains(r#"["x"][0]"#), "{e}");
    }
}
