//! Writing a [`Node`] tree as a new TOML document (`--output-type toml`).
//! This is new text, so toml_edit's own writer lays it out: maps become
//! tables, lists of maps arrays of tables, other lists inline arrays.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value as TomlValue};

use super::{Node, loc_display};
use crate::document::Value;
use crate::error::FormatError;
use crate::treepath::PathSeg;

fn refuse(loc: &[PathSeg], reason: &str) -> FormatError {
    FormatError::CannotRepresent {
        path: loc_display(loc),
        format: "toml",
        reason: reason.into(),
    }
}

fn scalar(v: &Value, loc: &[PathSeg]) -> Result<TomlValue, FormatError> {
    Ok(match v {
        Value::Str(s) => TomlValue::from(s.as_str()),
        Value::Int(i) => TomlValue::from(*i),
        Value::Float(f) => TomlValue::from(*f),
        Value::Bool(b) => TomlValue::from(*b),
        Value::Time(t) => match t.parse::<toml_edit::Datetime>() {
            Ok(d) => TomlValue::from(d),
            Err(_) => return Err(refuse(loc, "the time is not a TOML date-time")),
        },
    })
}

/// A value in an inline position (array item or inline table entry).
fn inline(n: &Node, loc: &mut Vec<PathSeg>) -> Result<TomlValue, FormatError> {
    match n {
        Node::Null => Err(refuse(
            loc,
            "TOML has no null; give the key a value or remove it",
        )),
        Node::Scalar(v) => scalar(v, loc),
        Node::List(items) => {
            let mut a = Array::new();
            for (i, item) in items.iter().enumerate() {
                loc.push(PathSeg::Index(i));
                a.push(inline(item, loc)?);
                loc.pop();
            }
            Ok(TomlValue::Array(a))
        }
        Node::Map(entries) => {
            let mut t = InlineTable::new();
            for (k, v) in entries {
                loc.push(PathSeg::Key(k.clone()));
                t.insert(k, inline(v, loc)?);
                loc.pop();
            }
            Ok(TomlValue::InlineTable(t))
        }
    }
}

fn table(entries: &[(String, Node)], loc: &mut Vec<PathSeg>) -> Result<Table, FormatError> {
    let mut t = Table::new();
    for (k, v) in entries {
        loc.push(PathSeg::Key(k.clone()));
        let item = match v {
            Node::Map(e) if !e.is_empty() => Item::Table(table(e, loc)?),
            Node::List(items)
                if !items.is_empty() && items.iter().all(|i| matches!(i, Node::Map(_))) =>
            {
                let mut arr = ArrayOfTables::new();
                for (i, item) in items.iter().enumerate() {
                    let Node::Map(e) = item else {
                        unreachable!("checked above")
                    };
                    loc.push(PathSeg::Index(i));
                    arr.push(table(e, loc)?);
                    loc.pop();
                }
                Item::ArrayOfTables(arr)
            }
            other => Item::Value(inline(other, loc)?),
        };
        t.insert(k, item);
        loc.pop();
    }
    Ok(t)
}

pub fn emit(root: &Node) -> Result<String, FormatError> {
    let Node::Map(entries) = root else {
        return Err(refuse(&[], "the document must be a map"));
    };
    let mut doc = DocumentMut::new();
    let t = table(entries, &mut Vec::new())?;
    for (k, v) in t.into_iter() {
        doc.insert(&k, v);
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_become_tables_and_nulls_are_refused() {
        let t = Node::Map(vec![
            ("name".into(), Node::Scalar(Value::str("svc"))),
            (
                "db".into(),
                Node::Map(vec![
                    ("port".into(), Node::Scalar(Value::Int(5432))),
                    ("tags".into(), Node::List(vec![])),
                ]),
            ),
            (
                "servers".into(),
                Node::List(vec![Node::Map(vec![(
                    "ip".into(),
                    Node::Scalar(Value::str("10.0.0.1")),
                )])]),
            ),
        ]);
        let out = emit(&t).unwrap();
        assert_eq!(
            out,
            "name = \"svc\"\n\n[db]\nport = 5432\ntags = []\n\n[[servers]]\nip = \"10.0.0.1\"\n"
        );
        let bad = Node::Map(vec![("x".into(), Node::List(vec![Node::Null]))]);
        assert!(emit(&bad).unwrap_err().to_string().contains(r#"["x"][0]"#));
    }
}
