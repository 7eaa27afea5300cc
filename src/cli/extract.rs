//! `--extract`: print one value of a decrypted document.

use anyhow::Result;
use zeroize::Zeroizing;

use super::Fail;
use shroud::document::{Decrypted, Document, LeafKind, Replacement, Value};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::treepath::PathSeg;

/// The text `--extract` prints for the leaf at `path`: a string raw with no
/// newline, any other scalar as its token (with a newline for YAML), as
/// sops prints them.
pub fn extract(
    format: Format,
    doc: &dyn Document,
    edits: &[Replacement],
    path: &[PathSeg],
) -> Result<Zeroizing<String>> {
    let shown: String = path.iter().map(|s| s.to_string()).collect();
    let leaf = doc
        .leaves()
        .iter()
        .zip(edits)
        .find(|(l, _)| !l.is_comment() && l.loc == path);
    let Some((leaf, edit)) = leaf else {
        let is_prefix = doc
            .leaves()
            .iter()
            .any(|l| l.loc.len() > path.len() && l.loc.starts_with(path));
        let message = if is_prefix {
            format!(
                "{shown} is a map or a list; --extract prints single values only (extract one value inside it)"
            )
        } else {
            format!("the key path {shown} is not in the file")
        };
        return Err(Fail::new(exit::GENERIC, message).into());
    };
    let (value, text) = match (edit, &leaf.kind) {
        (Replacement::Decrypted(Decrypted::Scalar { value, text }), _) => {
            (value.clone(), text.clone())
        }
        (_, LeafKind::Scalar { value, source }) => {
            let text = source
                .clone()
                .unwrap_or_else(|| shroud::value::canonical(value));
            (value.clone(), text)
        }
        _ => {
            return Err(
                Fail::new(exit::GENERIC, format!("{shown} is a comment, not a value")).into(),
            );
        }
    };
    let newline = !matches!(value, Value::Str(_)) && format == Format::Yaml;
    let out = match value {
        Value::Str(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        // The exact token when it was kept (so big numbers print whole).
        Value::Float(_) | Value::Time(_) => text.to_string(),
    };

    Ok(Zeroizing::new(if newline { out + "\n" } else { out }))
}
