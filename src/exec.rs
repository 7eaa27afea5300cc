//! Decrypted values as environment variables (`exec-env`) and as lines for
//! CI log masking (`--mask github`).

use zeroize::Zeroizing;

use crate::convert::{self, Node};
use crate::document::{Document, Replacement, Value};
use crate::error::{Error, FormatError};
use crate::treepath::PathSeg;
use crate::value::go_float;

/// How a scalar appears in the environment (sops's `ValToString`: strings
/// as they are, booleans `true`/`false`, numbers in their shortest form).
fn env_text(v: &Value) -> Zeroizing<String> {
    Zeroizing::new(match v {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => String::clone(t),
    })
}

fn nested_error(key: &str) -> Error {
    Error::Format(FormatError::CannotRepresent {
        path: PathSeg::Key(key.to_string()).to_string(),
        format: "an environment variable",
        reason: "it is a map or a list; use --flatten to export its leaves as KEY_SUBKEY".into(),
    })
}

fn flatten_into(prefix: &str, node: &Node, out: &mut Vec<(String, Zeroizing<String>)>) {
    match node {
        Node::Scalar(v) => out.push((prefix.to_string(), env_text(v))),
        Node::Null => out.push((prefix.to_string(), Zeroizing::new(String::new()))),
        Node::Map(entries) => {
            for (k, v) in entries {
                flatten_into(&format!("{prefix}_{k}"), v, out);
            }
        }
        Node::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(&format!("{prefix}_{i}"), v, out);
            }
        }
    }
}

/// The top-level values of a decrypted document as `(NAME, value)` pairs,
/// in document order. Nested maps and lists are refused unless `flatten`,
/// which names their leaves `PARENT_CHILD` and `LIST_0`. A null is empty.
pub fn env_vars(
    doc: &dyn Document,
    edits: &[Replacement],
    flatten: bool,
) -> Result<Vec<(String, Zeroizing<String>)>, Error> {
    let Node::Map(entries) = convert::tree(doc.leaves(), edits)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in &entries {
        match v {
            Node::Map(_) | Node::List(_) if !flatten => return Err(nested_error(k)),
            other => flatten_into(k, other, &mut out),
        }
    }
    Ok(out)
}

/// GitHub Actions `::add-mask::` lines for every decrypted value, so the
/// runner hides them in logs. GitHub masks per line, so a multi-line value
/// gives one mask per non-empty line.
pub fn github_masks(edits: &[Replacement]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for e in edits {
        let Replacement::Decrypted(crate::document::Decrypted::Scalar { value, text }) = e else {
            continue;
        };
        let shown: Zeroizing<String> = match value {
            Value::Str(s) => Zeroizing::new(s.to_string()),
            _ => text.clone(),
        };
        for line in shown.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            out.push_str("::add-mask::");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Format;

    fn vars(src: &str, flatten: bool) -> Result<Vec<(String, String)>, Error> {
        let doc = Format::Yaml.parse(src).unwrap();
        let keep = vec![Replacement::Keep; doc.leaves().len()];
        Ok(env_vars(doc.as_ref(), &keep, flatten)?
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect())
    }

    #[test]
    fn top_level_scalars_become_variables() {
        let got = vars("A: x\nB: 3\nC: true\nD: 1.5\nE: ~\n", false).unwrap();
        let want: Vec<(String, String)> = [
            ("A", "x"),
            ("B", "3"),
            ("C", "true"),
            ("D", "1.5"),
            ("E", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nested_values_are_refused_unless_flattened() {
        let err = vars("db:\n  user: u\n", false).unwrap_err().to_string();
        assert!(
            err.contains(r#"["db"]"#) && err.contains("--flatten"),
            "{err}"
        );
        let got = vars("db:\n  user: u\n  hosts: [a, b]\n", true).unwrap();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["db_user", "db_hosts_0", "db_hosts_1"]);
    }

    #[test]
    fn masks_cover_every_line_of_every_value() {
        let edits = vec![
            Replacement::Decrypted(crate::document::Decrypted::Scalar {
                value: Value::str("line1\nline2\n"),
                text: Zeroizing::new("line1\nline2\n".into()),
            }),
            Replacement::Keep,
            Replacement::Decrypted(crate::document::Decrypted::Scalar {
                value: Value::Int(42),
                text: Zeroizing::new("42".into()),
            }),
        ];
        assert_eq!(
            github_masks(&edits).as_str(),
            "::add-mask::line1\n::add-mask::line2\n::add-mask::42\n"
        );
    }
}
