//! Path expressions such as `["a"]["b"][0]`, as `--extract`, `set` and
//! `unset` take them (the syntax of SOPS's `parseTreePath`): a sequence of
//! `[...]` parts, each a quoted map key (`"` or `'`, no escapes) or a list
//! index.

use std::fmt;

use crate::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

impl fmt::Display for PathSeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSeg::Key(k) => write!(f, "[{}]", serde_json::to_string(k).unwrap_or_default()),
            PathSeg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Parse a path expression.
pub fn parse(expr: &str) -> Result<Vec<PathSeg>, Error> {
    let bad = |reason: &str| Error::TreePath {
        expr: expr.to_string(),
        reason: reason.to_string(),
    };
    let rest = expr.trim();
    if rest.is_empty() {
        return Err(bad("it is empty; write it like [\"key\"][0]"));
    }
    let Some(rest) = rest.strip_prefix('[') else {
        return Err(bad("it must start with '['; write it like [\"key\"][0]"));
    };
    let mut segs = Vec::new();
    for part in rest.split('[') {
        let inner = part
            .strip_suffix(']')
            .ok_or_else(|| bad("every part must end with ']'"))?;
        let seg = match inner.as_bytes().first() {
            Some(q @ (b'"' | b'\'')) => {
                let q = *q as char;
                let key = inner[1..]
                    .strip_suffix(q)
                    .ok_or_else(|| bad("a quoted key must end with the quote it starts with"))?;
                PathSeg::Key(key.to_string())
            }
            _ => PathSeg::Index(
                inner
                    .parse()
                    .map_err(|_| bad("a part must be a quoted key or a list index"))?,
            ),
        };
        segs.push(seg);
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_indices() {
        assert_eq!(
            parse(r#"["a"]['b'][0]"#).unwrap(),
            vec![
                PathSeg::Key("a".into()),
                PathSeg::Key("b".into()),
                PathSeg::Index(0)
            ]
        );
        assert_eq!(
            parse(r#"["with space"]"#).unwrap(),
            vec![PathSeg::Key("with space".into())]
        );
    }

    #[test]
    fn refuses_bad_syntax_with_exit_91() {
        for bad in ["", "a", r#"["a""#, r#"["a]"#, "[x]", "[-1]", r#"["a"]b"#] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 91, "{bad:?}");
        }
    }
}
