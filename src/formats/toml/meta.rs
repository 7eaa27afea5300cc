//! Writing the `sops` metadata block as TOML.
//!
//! Layout (SOPS has no TOML store; this is shroud's, modelled on rops and
//! on SOPS's YAML block):
//!
//! ```toml
//! [sops]
//! lastmodified = "2026-11-22T17:00:13Z"
//! mac = "ENC[AES256_GCM,data:…,type:str]"
//! unencrypted_suffix = "_unencrypted"
//! version = "3.11.0"
//!
//! [[sops.age]]
//! recipient = "age1…"
//! enc = """
//! -----BEGIN AGE ENCRYPTED FILE-----
//! …
//! -----END AGE ENCRYPTED FILE-----
//! """
//! ```
//!
//! TOML needs a table's plain keys before its sub-tables, so in each map the
//! scalars (and inline arrays) come first, then maps as `[sops.x]` tables and
//! non-empty lists of maps as `[[sops.x]]` arrays of tables (key groups are
//! `[[sops.key_groups]]` with `[[sops.key_groups.age]]` inside). Strings with
//! a line break are multi-line basic strings; in a CRLF file their breaks
//! are written `\n\` + CRLF, so the value holds `\n` only. Nulls are left
//! out (TOML has none, and SOPS reads a missing field as null).

use crate::document::MetaNode;
use crate::error::FormatError;

/// Append the block (ending with a line break) to `out`.
pub(super) fn block(out: &mut String, node: &MetaNode, nl: &str) -> Result<(), FormatError> {
    let MetaNode::Map(entries) = node else {
        return Err(cannot("the sops block must be a map"));
    };
    table(out, "[sops]", &["sops".to_string()], entries, nl)
}

fn cannot(reason: &str) -> FormatError {
    FormatError::CannotRepresent {
        path: "[\"sops\"]".into(),
        format: "toml",
        reason: reason.into(),
    }
}

fn is_table_list(items: &[MetaNode]) -> bool {
    !items.is_empty() && items.iter().all(|i| matches!(i, MetaNode::Map(_)))
}

fn table(
    out: &mut String,
    header: &str,
    path: &[String],
    entries: &[(String, MetaNode)],
    nl: &str,
) -> Result<(), FormatError> {
    out.push_str(header);
    out.push_str(nl);
    for (k, v) in entries {
        match v {
            MetaNode::Null | MetaNode::Map(_) => {}
            MetaNode::List(items) if is_table_list(items) => {}
            _ => {
                key(out, k);
                out.push_str(" = ");
                inline(out, v, nl)?;
                out.push_str(nl);
            }
        }
    }
    for (k, v) in entries {
        let mut child = path.to_vec();
        child.push(k.clone());
        let dotted = child
            .iter()
            .map(|c| key_text(c))
            .collect::<Vec<_>>()
            .join(".");
        match v {
            MetaNode::Map(m) => {
                out.push_str(nl);
                table(out, &format!("[{dotted}]"), &child, m, nl)?;
            }
            MetaNode::List(items) if is_table_list(items) => {
                for item in items {
                    if let MetaNode::Map(m) = item {
                        out.push_str(nl);
                        table(out, &format!("[[{dotted}]]"), &child, m, nl)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn key_text(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        k.to_string()
    } else {
        super::basic_string(k)
    }
}

fn key(out: &mut String, k: &str) {
    out.push_str(&key_text(k));
}

fn inline(out: &mut String, v: &MetaNode, nl: &str) -> Result<(), FormatError> {
    match v {
        MetaNode::Str(s) if s.contains('\n') => {
            let body = super::basic_body(s, true);
            out.push_str("\"\"\"");
            out.push_str(nl);
            if nl == "\n" {
                out.push_str(&body);
            } else {
                out.push_str(&body.replace('\n', &format!("\\n\\{nl}")));
            }
            out.push_str("\"\"\"");
        }
        MetaNode::Str(s) => out.push_str(&super::basic_string(s)),
        MetaNode::Int(i) => out.push_str(&i.to_string()),
        MetaNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaNode::Null => return Err(cannot("TOML has no null")),
        MetaNode::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline(out, item, nl)?;
            }
            out.push(']');
        }
        MetaNode::Map(entries) => {
            out.push('{');
            let mut first = true;
            for (k, v) in entries {
                if matches!(v, MetaNode::Null) {
                    continue;
                }
                out.push_str(if first { " " } else { ", " });
                first = false;
                key(out, k);
                out.push_str(" = ");
                inline(out, v, nl)?;
            }
            out.push_str(if first { "}" } else { " }" });
        }
    }
    Ok(())
}
