//! `--extract`: print one value, or one map or list, of a decrypted
//! document.
//!
//! A single value prints as sops prints it. A map or a list prints as a
//! document of the output format. When that is the input format (YAML or
//! JSON), it is the node's own text from the decrypted file, de-indented,
//! so quoting, comments and layout are the user's; it is used only when
//! reading it back gives exactly the node's data, and otherwise (or for
//! another output format) the node is written anew by the converters in
//! [`shroud::convert`], as `--output-type` writes a whole file.

use anyhow::Result;
use zeroize::Zeroizing;

use super::Fail;
use shroud::convert::Node;
use shroud::document::{Decrypted, Document, LeafKind, Replacement, Value};
use shroud::error::{FormatError, exit};
use shroud::formats::Format;
use shroud::treepath::PathSeg;

/// The text `--extract` prints for the node at `path`: for a scalar, a
/// string raw with no newline, any other scalar as its token (with a
/// newline when the output format is YAML), as sops prints them; for a map or a list (or a null),
/// see [`subtree`].
pub fn extract(
    format: Format,
    out_format: Format,
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
            .any(|l| !l.is_comment() && l.loc.len() > path.len() && l.loc.starts_with(path));
        if is_prefix {
            return subtree(format, out_format, doc, edits, path, &shown);
        }
        let message = format!("the key path {shown} is not in the file");
        return Err(Fail::new(exit::GENERIC, message).into());
    };
    if let LeafKind::Structure(_) = leaf.kind {
        // A null, `{}` or `[]`.
        return subtree(format, out_format, doc, edits, path, &shown);
    }
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
    let newline = !matches!(value, Value::Str(_)) && out_format == Format::Yaml;
    let out = match value {
        Value::Str(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        // The exact token when it was kept (so big numbers print whole).
        Value::Float(_) | Value::Time(_) => text.to_string(),
    };

    Ok(Zeroizing::new(if newline { out + "\n" } else { out }))
}

/// A map or a list (or a null or empty collection) as a document of
/// `out_format`. YAML ends with a newline; JSON too for a map, but not for
/// a list, as sops prints them (it writes a map as a file, a list as a
/// value). A null prints as the other non-strings do.
fn subtree(
    format: Format,
    out_format: Format,
    doc: &dyn Document,
    edits: &[Replacement],
    path: &[PathSeg],
    shown: &str,
) -> Result<Zeroizing<String>> {
    let tree = shroud::convert::tree(doc.leaves(), edits)?;
    let Some(node) = find(&tree, path) else {
        return Err(FormatError::SpanCheck(format!("{shown} is not in the data tree")).into());
    };
    if let Node::Null = node {
        let newline = if out_format == Format::Yaml { "\n" } else { "" };
        return Ok(Zeroizing::new(format!("null{newline}")));
    }
    if out_format == format
        && let Some(text) = own_text(format, doc, edits, path, node)
    {
        return Ok(text);
    }
    let list = matches!(node, Node::List(_));
    if list && matches!(out_format, Format::Dotenv | Format::Ini | Format::Toml) {
        let message = format!(
            "{shown} is a list, which {} output cannot hold at the top; use --output-type yaml or json",
            out_format.name()
        );
        return Err(Fail::new(exit::ERROR_DUMPING_TREE, message).into());
    }
    let mut text =
        Zeroizing::new(shroud::convert::emit(node, out_format).map_err(|e| under(e, shown))?);
    if list && out_format == Format::Json && text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// An emitter's error names a place inside the node: name it in the file.
fn under(e: FormatError, shown: &str) -> FormatError {
    match e {
        FormatError::CannotRepresent {
            path,
            format,
            reason,
        } => FormatError::CannotRepresent {
            path: if path == "the document root" {
                shown.to_string()
            } else {
                format!("{shown}{path}")
            },
            format,
            reason,
        },
        other => other,
    }
}

fn find<'a>(root: &'a Node, path: &[PathSeg]) -> Option<&'a Node> {
    path.iter().try_fold(root, |node, seg| match (node, seg) {
        (Node::Map(entries), PathSeg::Key(k)) => {
            entries.iter().find(|(key, _)| key == k).map(|(_, v)| v)
        }
        (Node::List(items), PathSeg::Index(i)) => items.get(*i),
        _ => None,
    })
}

/// The node's own text in the decrypted file, de-indented, if that reads
/// back (on its own, as the output is read) as exactly `node`. `None` for
/// any doubt: the caller then writes the node anew.
fn own_text(
    format: Format,
    doc: &dyn Document,
    edits: &[Replacement],
    path: &[PathSeg],
    node: &Node,
) -> Option<Zeroizing<String>> {
    let nonempty = match node {
        Node::Map(e) => !e.is_empty(),
        Node::List(i) => !i.is_empty(),
        _ => false,
    };
    if !nonempty || !matches!(format, Format::Yaml | Format::Json) {
        return None;
    }
    let plain = Zeroizing::new(doc.render(edits, None).ok()?.text);
    let span = match format {
        Format::Yaml => shroud::formats::yaml::node_span(&plain, path).ok()??,
        _ => shroud::formats::json::JsonDocument::node_span(&plain, path).ok()??,
    };
    let json = format == Format::Json;
    let mut text = deindent(&plain, span, json)?;
    let list = matches!(node, Node::List(_));
    // A JSON array goes out without a final newline, as sops prints it.
    let newline = !json || !list;
    if newline && !text.ends_with('\n') {
        // In the file's line ending (the span may stop before a `\r`).
        if !text.ends_with('\r') && text.contains("\r\n") {
            text.push('\r');
        }
        text.push('\n');
    }
    // Read it back as a reader of the output would: a list inside a map,
    // since both formats want a map at the top.
    let (before, after) = match (list, json) {
        (false, _) => ("", ""),
        (true, true) => ("{\"k\": ", "}"),
        (true, false) if text.starts_with('[') => ("k: ", ""),
        (true, false) => ("k:\n", ""),
    };
    let mut check = Zeroizing::new(String::with_capacity(
        before.len() + text.len() + after.len(),
    ));
    check.push_str(before);
    check.push_str(&text);
    check.push_str(after);
    let back = format.parse(&check).ok()?;
    let keep = vec![Replacement::Keep; back.leaves().len()];
    let back = shroud::convert::tree(back.leaves(), &keep).ok()?;
    let same = if list {
        matches!(&back, Node::Map(e) if e.len() == 1 && e[0].0 == "k" && &e[0].1 == node)
    } else {
        &back == node
    };
    same.then_some(text)
}

/// `src[span]` with the indentation its lines share removed: every line
/// after the first loses as many leading blanks (spaces; for JSON also
/// tabs) as the least indented of them has, and no more than the column
/// where the span starts (blank lines lose what they have).
fn deindent(src: &str, span: std::ops::Range<usize>, json: bool) -> Option<Zeroizing<String>> {
    let blank = |c: char| c == ' ' || (json && c == '\t');
    let line_start = src.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let lead = &src[line_start..span.start];
    let body = src.get(span.clone())?;
    let mut lines = body.split('\n');
    let first = lines.next().unwrap_or("");
    let rest: Vec<&str> = lines.collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(blank).len();
    let mut cut = lead.len();
    for l in &rest {
        if !l
            .trim_start_matches(blank)
            .trim_end_matches('\r')
            .is_empty()
        {
            cut = cut.min(indent(l));
        }
    }
    // Room for the final newline too: a secret is never left behind in a
    // buffer that grew.
    let mut out = Zeroizing::new(String::with_capacity(lead.len() + body.len() + 2));
    if lead.chars().all(blank) {
        out.push_str(&lead[cut..]);
    }
    out.push_str(first);
    for l in rest {
        out.push('\n');
        // A blank line shorter than the cut was empty in any block scalar
        // too (their content is indented further).
        out.push_str(l.get(cut.min(indent(l))..)?);
    }
    Some(out)
}
