//! dotenv, with SOPS's own semantics (spec 7.4), which are not those of
//! dotenv libraries: lines are split on `\n` only (a `\r` stays in the
//! value), a line whose first byte is `#` is a comment, every other
//! non-empty line is `key=value` split at the first `=`, with the key and
//! value taken verbatim (spaces, `export `, quotes) except that the two
//! characters `\n` in a value mean a newline. Interpreting quotes or
//! `export` here would make shroud encrypt different values, under
//! different keys (the AAD), than sops does.
//!
//! Unlike sops, shroud keeps blank lines and the file's exact bytes: output
//! is the input with value (and comment) spans replaced. Metadata lines
//! (`sops_...`) are appended after the data, sorted, as sops writes them.

use zeroize::Zeroizing;

use crate::document::{
    Decrypted, Document, Leaf, LeafKind, MetaNode, Plan, Rendered, Replacement, Value,
};
use crate::error::{FormatError, display_path};
use crate::formats::flatten as flat;
use crate::formats::splice::{Edit, Spliced};
use crate::treepath::PathSeg;

/// Keys with this prefix hold the flattened `sops` metadata.
const SOPS_PREFIX: &str = "sops_";

pub struct DotenvDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
    /// Byte ranges of the `sops_...` lines, each with its `\n` if it has one.
    meta_lines: Vec<std::ops::Range<usize>>,
}

impl<'a> DotenvDocument<'a> {
    pub fn parse(src: &'a str) -> Result<DotenvDocument<'a>, FormatError> {
        if src.is_empty() {
            return Err(FormatError::Empty);
        }
        let mut leaves = Vec::new();
        let mut meta_lines = Vec::new();
        // (flattened key, raw value, line start) of each metadata line.
        let mut meta_entries: Vec<(&str, &str, usize)> = Vec::new();
        let mut start = 0;
        while start <= src.len() {
            let end = src[start..].find('\n').map_or(src.len(), |i| start + i);
            let next = end + 1;
            let line = &src[start..end];
            if line.is_empty() {
                // Blank lines carry nothing; sops drops them, shroud keeps
                // them as they are.
            } else if let Some(text) = line.strip_prefix('#') {
                leaves.push(Leaf::new(
                    Vec::new(),
                    0,
                    LeafKind::Comment(Zeroizing::new(text.to_string())),
                    Some(start + 1..end),
                ));
            } else {
                let Some(eq) = line.find('=') else {
                    let hint = if line == "\r" {
                        " (a line holding only a carriage return is not blank to sops)"
                    } else {
                        ""
                    };
                    return Err(FormatError::syntax(
                        src,
                        start,
                        format!("expected KEY=value, found a line without '='{hint}"),
                    ));
                };
                let key = &line[..eq];
                let raw = &line[eq + 1..];
                if let Some(flat_key) = key.strip_prefix(SOPS_PREFIX) {
                    meta_entries.push((flat_key, raw, start));
                    meta_lines.push(start..next.min(src.len()));
                } else {
                    leaves.push(Leaf::new(
                        vec![PathSeg::Key(key.to_string())],
                        0,
                        LeafKind::Scalar {
                            value: Value::Str(Zeroizing::new(flat::unescape_newlines(raw))),
                            source: None,
                        },
                        Some(start + eq + 1..end),
                    ));
                }
            }
            start = next;
        }
        let metadata = if meta_entries.is_empty() {
            None
        } else {
            // unflatten undoes the `\n` escapes itself.
            let node = flat::unflatten(meta_entries.iter().map(|(k, v, _)| (*k, v.to_string())))
                .map_err(|e| {
                    let at = meta_entries.get(e.index).map_or(0, |m| m.2);
                    FormatError::syntax(src, at, e.message)
                })?;
            Some(node)
        };
        Ok(DotenvDocument {
            src,
            leaves,
            metadata,
            meta_lines,
        })
    }

    /// The bytes to delete to take the metadata out, so that the result is
    /// the file as it was before [`Self::metadata_text`] appended it. Each
    /// metadata line goes with its `\n`; when the file ends in a metadata
    /// line without one, the metadata was appended to data that had no final
    /// newline, and the `\n` that was added before it goes too.
    fn removals(&self) -> Vec<Edit<'static>> {
        let mut out: Vec<Edit<'static>> = self
            .meta_lines
            .iter()
            .map(|r| Edit::new(r.clone(), ""))
            .collect();
        if let Some(last) = self.meta_lines.last()
            && last.end == self.src.len()
            && !self.src.ends_with('\n')
        {
            // The start of the run of metadata lines that ends the file.
            let mut run_start = last.start;
            for r in self.meta_lines.iter().rev().skip(1) {
                if r.end == run_start {
                    run_start = r.start;
                } else {
                    break;
                }
            }
            if run_start > 0 && self.src.as_bytes()[run_start - 1] == b'\n' {
                out.push(Edit::new(run_start - 1..run_start, ""));
            }
        }
        out
    }

    /// Whether the data left after [`Self::removals`] ends with a newline
    /// (or is empty), which decides how the new metadata is appended.
    fn data_ends_clean(&self) -> bool {
        let mut end = self.src.len();
        for r in self.meta_lines.iter().rev() {
            if r.end == end {
                end = r.start;
            } else {
                break;
            }
        }
        let mut data = &self.src[..end];
        if end < self.src.len() && !self.src.ends_with('\n') {
            // The '\n' before the trailing metadata run is removed too.
            data = data.strip_suffix('\n').unwrap_or(data);
        }
        data.is_empty() || data.ends_with('\n')
    }

    /// The metadata as sops writes it: `sops_<flattened key>=<value>`, sorted.
    fn metadata_text(&self, metadata: &MetaNode) -> String {
        let lines: Vec<String> = flat::flatten(metadata)
            .into_iter()
            .map(|(k, v)| format!("{SOPS_PREFIX}{k}={v}"))
            .collect();
        if self.data_ends_clean() {
            let mut s = lines.join("\n");
            if !s.is_empty() {
                s.push('\n');
            }
            s
        } else if lines.is_empty() {
            String::new()
        } else {
            // No final newline in the data: start a new line, and leave the
            // last one open so that removal gives back the exact bytes.
            format!("\n{}", lines.join("\n"))
        }
    }
}

impl Document for DotenvDocument<'_> {
    fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    fn metadata(&self) -> Option<&MetaNode> {
        self.metadata.as_ref()
    }

    fn render(
        &self,
        edits: &[Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Rendered, FormatError> {
        Ok(self.plan(edits, metadata)?.into_rendered())
    }

    fn plan<'s>(
        &'s self,
        edits: &'s [Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Plan<'s>, FormatError> {
        crate::document::check_edit_count(edits, &self.leaves)?;
        // About one edit per leaf, sized once (see yaml/render.rs).
        let mut out = Vec::with_capacity(self.leaves.len() + 2);
        for (leaf, edit) in self.leaves.iter().zip(edits) {
            let text = match edit {
                Replacement::Keep => continue,
                Replacement::Encrypted(enc) => {
                    if enc.contains('\n') {
                        return Err(FormatError::SpanCheck(
                            "an encrypted value holds a line break".into(),
                        ));
                    }
                    std::borrow::Cow::Borrowed(enc.as_str())
                }
                Replacement::Decrypted(Decrypted::Scalar { text, .. }) => {
                    if leaf.is_comment() {
                        return Err(FormatError::CannotRepresent {
                            path: display_path(&leaf.path()),
                            format: "dotenv",
                            reason: "a comment decrypted to a value".into(),
                        });
                    }
                    flat::escape_newlines(text).into()
                }
                Replacement::Decrypted(Decrypted::Comment(text)) => {
                    if !leaf.is_comment() || text.contains('\n') {
                        return Err(FormatError::CannotRepresent {
                            path: display_path(&leaf.path()),
                            format: "dotenv",
                            reason: "a dotenv comment is one line".into(),
                        });
                    }
                    std::borrow::Cow::Borrowed(text.as_str())
                }
            };
            out.push(Edit::new(self.checked_span(leaf)?, text));
        }
        out.extend(self.removals());
        if let Some(m) = metadata {
            out.push(Edit::insert(self.src.len(), self.metadata_text(m)));
        }
        Ok(Plan::spliced(Spliced::new(self.src, out)?, Vec::new()))
    }

    /// An `ENC[...]` text is one line and needs no escaping, so it goes
    /// in as it is, filled in while writing.
    fn plan_filled<'s>(
        &'s self,
        encrypt: &[bool],
        metadata: &MetaNode,
    ) -> Result<Option<Spliced<'s>>, FormatError> {
        let Some(mut out) = crate::formats::splice::slot_edits(
            &self.leaves,
            encrypt,
            "",
            crate::formats::splice::Suffix::None,
            2,
            |leaf| self.checked_span(leaf),
        )?
        else {
            return Ok(None);
        };
        out.extend(self.removals());
        out.push(Edit::insert(self.src.len(), self.metadata_text(metadata)));
        Ok(Some(Spliced::new(self.src, out)?))
    }
}

impl DotenvDocument<'_> {
    /// A leaf's span, checked to still follow its `=` (a value) or `#` (a
    /// comment).
    fn checked_span(&self, leaf: &Leaf) -> Result<crate::document::Span, FormatError> {
        let Some(span) = leaf.span.clone() else {
            return Err(FormatError::SpanCheck(
                "a dotenv leaf without a span".into(),
            ));
        };
        let marker = if leaf.is_comment() { b'#' } else { b'=' };
        let before = span
            .start
            .checked_sub(1)
            .and_then(|i| self.src.as_bytes().get(i));
        if before != Some(&marker) {
            return Err(FormatError::SpanCheck(format!(
                "span {span:?} does not follow a '{}'",
                marker as char
            )));
        }
        Ok(span)
    }
}

#[cfg(test)]
mod tests;
