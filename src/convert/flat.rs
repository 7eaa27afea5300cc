//! Writing a [`Node`] tree as dotenv or INI. Both hold only strings, one
//! level deep (dotenv) or two (INI sections); anything deeper, lists and
//! nulls are refused with their key path rather than flattened silently.

use super::{Node, loc_display};
use crate::document::Value;
use crate::error::FormatError;
use crate::treepath::PathSeg;
use crate::value::go_float;

fn refuse(loc: &[PathSeg], format: &'static str, reason: &str) -> FormatError {
    FormatError::CannotRepresent {
        path: loc_display(loc),
        format,
        reason: reason.into(),
    }
}

/// A scalar as the text a flat format stores.
fn text(node: &Node, loc: &[PathSeg], format: &'static str) -> Result<String, FormatError> {
    match node {
        Node::Scalar(Value::Str(s)) => Ok(s.to_string()),
        Node::Scalar(Value::Int(i)) => Ok(i.to_string()),
        Node::Scalar(Value::Float(f)) => Ok(go_float(*f)),
        Node::Scalar(Value::Bool(b)) => Ok(b.to_string()),
        Node::Scalar(Value::Time(t)) => Ok(String::clone(t)),
        Node::Null => Err(refuse(
            loc,
            format,
            "it has no null; give the key a value or remove it",
        )),
        Node::Map(_) => Err(refuse(loc, format, "it cannot hold nested maps")),
        Node::List(_) => Err(refuse(loc, format, "it cannot hold lists")),
    }
}

fn entries<'a>(root: &'a Node, format: &'static str) -> Result<&'a [(String, Node)], FormatError> {
    match root {
        Node::Map(e) => Ok(e),
        _ => Err(refuse(&[], format, "the document must be a map")),
    }
}

/// dotenv as sops writes it: `KEY=value` lines, newlines as `\n`.
pub fn emit_dotenv(root: &Node) -> Result<String, FormatError> {
    let mut out = String::new();
    for (k, v) in entries(root, "dotenv")? {
        let loc = [PathSeg::Key(k.clone())];
        if k.is_empty() || k.contains(['=', '\n']) || k.starts_with('#') {
            return Err(refuse(
                &loc,
                "dotenv",
                "the key cannot be written as a dotenv key",
            ));
        }
        let value = text(v, &loc, "dotenv")?;
        out.push_str(k);
        out.push('=');
        out.push_str(&value.replace('\n', "\\n"));
        out.push('\n');
    }
    Ok(out)
}

/// INI: top-level scalars (or a `DEFAULT` map) first without a header, then
/// one `[section]` per top-level map.
pub fn emit_ini(root: &Node) -> Result<String, FormatError> {
    let all = entries(root, "ini")?;
    let mut out = String::new();
    let write_key =
        |out: &mut String, loc: &[PathSeg], k: &str, v: &Node| -> Result<(), FormatError> {
            let value = text(v, loc, "ini")?;
            if k.is_empty() || k.contains(['=', ':', '\n', '[']) || k.starts_with([';', '#']) {
                return Err(refuse(
                    loc,
                    "ini",
                    "the key cannot be written as an INI key",
                ));
            }
            if value.contains('\n') {
                return Err(refuse(loc, "ini", "INI values are single lines"));
            }
            out.push_str(&format!("{k} = {value}\n"));
            Ok(())
        };
    for (k, v) in all {
        match v {
            Node::Map(inner) if k == "DEFAULT" => {
                for (ik, iv) in inner {
                    write_key(
                        &mut out,
                        &[PathSeg::Key(k.clone()), PathSeg::Key(ik.clone())],
                        ik,
                        iv,
                    )?;
                }
            }
            Node::Map(_) => {}
            _ => write_key(&mut out, &[PathSeg::Key(k.clone())], k, v)?,
        }
    }
    for (k, v) in all {
        let Node::Map(inner) = v else { continue };
        if k == "DEFAULT" {
            continue;
        }
        if k.contains([']', '\n']) {
            return Err(refuse(
                &[PathSeg::Key(k.clone())],
                "ini",
                "the name cannot be an INI section",
            ));
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{k}]\n"));
        for (ik, iv) in inner {
            write_key(
                &mut out,
                &[PathSeg::Key(k.clone()), PathSeg::Key(ik.clone())],
                ik,
                iv,
            )?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Node {
        Node::Scalar(Value::str(x))
    }

    #[test]
    fn dotenv_escapes_newlines_and_refuses_nesting() {
        let t = Node::Map(vec![
            ("A".into(), s("x\ny")),
            ("B".into(), Node::Scalar(Value::Int(2))),
        ]);
        assert_eq!(emit_dotenv(&t).unwrap(), "A=x\\ny\nB=2\n");
        let t = Node::Map(vec![("db".into(), Node::Map(vec![("pw".into(), s("x"))]))]);
        let e = emit_dotenv(&t).unwrap_err().to_string();
        assert!(e.contains(r#"["db"]"#) && e.contains("nested"), "{e}");
    }

    #[test]
    fn ini_puts_loose_keys_first_then_sections() {
        let t = Node::Map(vec![
            (
                "db".into(),
                Node::Map(vec![
                    ("user".into(), s("app")),
                    ("port".into(), Node::Scalar(Value::Int(5432))),
                ]),
            ),
            ("name".into(), s("svc")),
        ]);
        assert_eq!(
            emit_ini(&t).unwrap(),
            "name = svc\n\n[db]\nuser = app\nport = 5432\n"
        );
        let t = Node::Map(vec![(
            "a".into(),
            Node::Map(vec![("b".into(), Node::Map(vec![]))]),
        )]);
        assert!(emit_ini(&t).is_err());
    }
}
