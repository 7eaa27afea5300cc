//! Writing YAML text for one scalar, and the `sops` metadata block.

use super::resolve::{Resolved, plain_text_ok, resolve_plain};
use crate::document::{MetaNode, Value};
use crate::value::go_float;

/// Characters YAML allows unescaped (c-printable), minus the BOM.
pub fn printable(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{85}')
        || (('\u{a0}'..='\u{d7ff}').contains(&c))
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
        || c >= '\u{10000}'
}

/// A double-quoted scalar with minimal escaping.
pub fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A single-quoted scalar, when the text fits on one line without escapes.
pub fn single_quote(s: &str) -> Option<String> {
    if s.chars().all(|c| c != '\n' && c != '\t' && printable(c)) {
        Some(format!("'{}'", s.replace('\'', "''")))
    } else {
        None
    }
}

pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

/// The canonical YAML spelling of a non-string value.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Str(s) => double_quote(s),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => String::clone(t),
        Value::Float(f) if f.is_nan() => ".nan".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Value::Float(f) => {
            let s = go_float(*f);
            if s.contains('.') { s } else { format!("{s}.0") }
        }
    }
}

/// Text for `value` where a plain scalar stood: `text` itself when that
/// reads back as the same value here, else a quoted or canonical form.
pub fn plain_or_quoted(value: &Value, text: &str, flow: bool) -> String {
    if plain_text_ok(text, flow)
        && let Resolved::Value(v) = resolve_plain(text)
        && same_value(&v, value)
    {
        return text.to_string();
    }
    match value {
        Value::Str(s) => double_quote(s),
        other => canonical(other),
    }
}

/// The metadata block as the last top-level key of a block mapping, in the
/// layout SOPS writes (4-space indent, literal blocks for multi-line text).
pub fn metadata_block(meta: &MetaNode, nl: &str) -> String {
    let mut out = String::from("sops:");
    node(meta, 4, 0, nl, &mut out);
    out.push_str(nl);
    out
}

/// `out` already holds `key:` (or `- ` for an item); write the value.
/// `indent` is where nested entries go; `base` the column of the entry
/// that holds this value (block scalars are indented from it).
fn node(n: &MetaNode, indent: usize, base: usize, nl: &str, out: &mut String) {
    match n {
        MetaNode::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                out.push_str(nl);
                push_spaces(out, indent);
                out.push_str(&meta_string(k, indent + 4, nl, false));
                out.push(':');
                node(v, indent + 4, indent, nl, out);
            }
        }
        MetaNode::List(items) if !items.is_empty() => {
            for item in items {
                out.push_str(nl);
                push_spaces(out, indent);
                out.push('-');
                match item {
                    MetaNode::Map(entries) if !entries.is_empty() => {
                        // First entry after "- ", the rest aligned with it.
                        for (i, (k, v)) in entries.iter().enumerate() {
                            if i == 0 {
                                out.push(' ');
                            } else {
                                out.push_str(nl);
                                push_spaces(out, indent + 2);
                            }
                            out.push_str(&meta_string(k, indent + 4, nl, false));
                            out.push(':');
                            node(v, indent + 6, indent, nl, out);
                        }
                    }
                    MetaNode::List(_) => node(item, indent + 4, indent, nl, out),
                    scalar => {
                        out.push(' ');
                        scalar_text(scalar, indent + 4, nl, out);
                    }
                }
            }
        }
        MetaNode::Map(_) => out.push_str(" {}"),
        MetaNode::List(_) => out.push_str(" []"),
        scalar => {
            out.push(' ');
            scalar_text(scalar, base + 4, nl, out);
        }
    }
}

fn scalar_text(n: &MetaNode, block_indent: usize, nl: &str, out: &mut String) {
    match n {
        MetaNode::Str(s) => out.push_str(&meta_string(s, block_indent, nl, true)),
        MetaNode::Int(i) => out.push_str(&i.to_string()),
        MetaNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaNode::Null => out.push_str("null"),
        _ => {}
    }
}

/// A metadata string: plain if it reads back as this string, a literal
/// block for multi-line text, double-quoted otherwise.
fn meta_string(s: &str, block_indent: usize, nl: &str, allow_block: bool) -> String {
    if plain_text_ok(s, false) && matches!(resolve_plain(s), Resolved::Value(Value::Str(_))) {
        return s.to_string();
    }
    let lines_ok = s
        .split('\n')
        .all(|l| l.chars().all(|c| c != '\t' && c != '\r' && printable(c)) && !l.ends_with(' '));
    let first_ok = !s.starts_with(' ') && !s.starts_with('\n');
    if allow_block && s.contains('\n') && lines_ok && first_ok {
        let body = s.trim_end_matches('\n');
        let trailing = s.len() - body.len();
        let header = match trailing {
            0 => "|-",
            1 => "|",
            _ => "|+",
        };
        let mut out = String::from(header);
        for line in body.split('\n') {
            out.push_str(nl);
            if !line.is_empty() {
                push_spaces(&mut out, block_indent);
                out.push_str(line);
            }
        }
        for _ in 1..trailing {
            out.push_str(nl);
        }
        return out;
    }
    double_quote(s)
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The metadata as JSON text, which is valid YAML flow syntax: used when
/// the root mapping is itself in flow style. Key order is kept.
pub fn metadata_json(meta: &MetaNode) -> String {
    fn write(n: &MetaNode, out: &mut String) {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        match n {
            MetaNode::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&q(k));
                    out.push_str(": ");
                    write(v, out);
                }
                out.push('}');
            }
            MetaNode::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(v, out);
                }
                out.push(']');
            }
            MetaNode::Str(s) => out.push_str(&q(s)),
            MetaNode::Int(i) => out.push_str(&i.to_string()),
            MetaNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            MetaNode::Null => out.push_str("null"),
        }
    }
    let mut out = String::new();
    write(meta, &mut out);
    out
}

/// A whole data tree as a new YAML document, for `--output-type yaml`: block
/// style with sops's 4-space indent, scalars quoted only where YAML would
/// read them differently.
pub fn tree(root: &crate::convert::Node) -> String {
    use crate::convert::Node;
    fn scalar(n: &Node) -> String {
        match n {
            Node::Null => "null".into(),
            Node::Scalar(v) => match v {
                Value::Str(s) => plain_or_quoted(v, s, false),
                other => canonical(other),
            },
            Node::Map(_) => "{}".into(),
            Node::List(_) => "[]".into(),
        }
    }
    fn key(k: &str) -> String {
        plain_or_quoted(&Value::str(k), k, false)
    }
    fn is_block(n: &Node) -> bool {
        matches!(n, Node::Map(e) if !e.is_empty()) || matches!(n, Node::List(i) if !i.is_empty())
    }
    fn map(entries: &[(String, Node)], indent: usize, out: &mut String) {
        for (k, v) in entries {
            out.push_str(&" ".repeat(indent));
            out.push_str(&key(k));
            out.push(':');
            after_key(v, indent, out);
        }
    }
    fn after_key(v: &Node, indent: usize, out: &mut String) {
        match v {
            Node::Map(e) if !e.is_empty() => {
                out.push('\n');
                map(e, indent + 4, out);
            }
            Node::List(items) if !items.is_empty() => {
                out.push('\n');
                list(items, indent + 4, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
    fn list(items: &[Node], indent: usize, out: &mut String) {
        for item in items {
            if is_block(item) {
                // Write the item two columns in, then put the dash in the
                // first line's indentation.
                let mut inner = String::new();
                match item {
                    Node::Map(e) => map(e, indent + 2, &mut inner),
                    Node::List(i) => list(i, indent + 2, &mut inner),
                    _ => {}
                }
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                out.push_str(&inner[indent + 2..]);
            } else {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                out.push_str(&scalar(item));
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    match root {
        Node::Map(e) if !e.is_empty() => map(e, 0, &mut out),
        Node::List(items) if !items.is_empty() => list(items, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}
