//! JSON: a strict RFC 8259 span scanner ([`parse`]) and rendering by
//! splicing into the original text, so every byte outside the changed values
//! stays as it was (no re-indenting, big integers keep their digits).
//!
//! The one normalisation: a decrypted string is written back with minimal
//! escaping (`"`, `\`, control characters), so `\u00e9` or `\/` in the
//! original come back as `é` and `/`. The encrypted text cannot remember how
//! a plaintext was escaped. (An unpaired `\ud800` escape decodes to U+FFFD,
//! as Go's decoder does, so it cannot come back either.)
//!
//! Leaves follow the SOPS walk: paths hold object keys only, `null` and
//! empty containers give no leaf, duplicate keys give one leaf each. A
//! leaf's `depth` counts the containers around it, the root object
//! included, so a top-level value has depth 1.

mod parse;
pub mod segment;
#[cfg(test)]
mod tests;

pub use parse::Piece;

use crate::document::{
    Decrypted, Document, Leaf, LeafKind, MetaNode, Plan, Rendered, Replacement, Span, Value,
};
use crate::error::{FormatError, display_path};
use crate::formats::splice::{Edit, Spliced};
use crate::value::go_float;

use parse::{Layout, Parser, SopsMember, is_json_number, number_value};

pub struct JsonDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
    sops: Option<SopsMember>,
    layout: Layout,
    /// The whitespace after the root `{` (in the piece that opens the
    /// object, or given by [`Piece::pad`]).
    pad: &'a str,
}

impl<'a> JsonDocument<'a> {
    pub fn parse(src: &'a str) -> Result<JsonDocument<'a>, FormatError> {
        Self::parse_piece(src, Piece::WHOLE)
    }

    /// Parse a piece of a big file cut by [`segment::pieces`]: its leaves,
    /// spans (relative to `src`) and rendering are those of the same bytes
    /// in the whole file.
    pub fn parse_piece(src: &'a str, piece: Piece<'a>) -> Result<JsonDocument<'a>, FormatError> {
        let p = Parser::new(src).parse_as(piece)?;
        let pad = if piece.opens {
            &src[p.layout.pad.clone()]
        } else {
            piece.pad
        };
        Ok(JsonDocument {
            src,
            leaves: p.leaves,
            metadata: p.metadata,
            sops: p.sops,
            layout: p.layout,
            pad,
        })
    }

    /// The text of the non-empty collection at `loc` in `src` (a plaintext
    /// document), brackets included: what `--extract` prints for it.
    pub fn node_span(
        src: &str,
        loc: &[crate::treepath::PathSeg],
    ) -> Result<Option<Span>, FormatError> {
        let mut p = Parser::new(src);
        p.want = Some(loc.to_vec());
        Ok(p.parse_as(Piece::WHOLE)?.found)
    }

    /// The bytes to delete to remove the `"sops"` member so that the
    /// result is the file as it was before [`Self::metadata_insertion`] added
    /// it: the member, its separating comma and the whitespace before it.
    fn sops_removal(&self) -> Option<Span> {
        let s = self.sops.as_ref()?;
        Some(if let Some(prev) = s.prev_end {
            prev..s.value_end
        } else if let Some(next) = s.next_key_start {
            s.key_start..next
        } else {
            // The only member: everything inside the braces up to the value
            // end, plus the line break the insertion puts after it.
            let rest = &self.src[s.value_end..];
            let nl = if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with('\n'))
            };
            self.layout.open + 1..s.value_end + nl
        })
    }

    /// Where and what to insert for `metadata`: after the last data member
    /// (`,` + separator + member), or inside an object with no data members
    /// (separator + member + line break). [`Self::sops_removal`] undoes
    /// either exactly.
    fn metadata_insertion(&self, metadata: &MetaNode) -> Result<Edit<'static>, FormatError> {
        let style = self.style();
        let mut member = String::new();
        push_meta_string(&mut member, "sops")?;
        member.push_str(&style.colon);
        write_meta(&mut member, metadata, 1, &style)?;
        Ok(match self.layout.last_data_end {
            Some(end) => {
                let mut text = String::from(",");
                style.push_member_sep(&mut text, 1);
                text.push_str(&member);
                Edit::insert(end, text)
            }
            None => {
                let mut text = String::new();
                style.push_member_sep(&mut text, 1);
                text.push_str(&member);
                text.push_str(style.nl);
                Edit::insert(self.layout.open + 1, text)
            }
        })
    }

    /// The layout the file uses between top-level members, to write the
    /// metadata so that it blends in. SOPS's own layout (one tab) when the
    /// object has no data members to learn from.
    fn style(&self) -> Style {
        let l = &self.layout;
        let default_nl = if l.crlf { "\r\n" } else { "\n" };
        let Some(_) = l.last_data_end else {
            return Style {
                nl: default_nl,
                indent: "\t".into(),
                sep: String::new(),
                pad: String::new(),
                colon: ": ".into(),
            };
        };
        let sep = &self.src[l.sep.clone()];
        let colon = &self.src[l.colon.clone()];
        let colon = if colon.contains('\n') {
            ": ".to_string()
        } else {
            colon.to_string()
        };
        match sep.rfind('\n') {
            Some(i) => Style {
                nl: if sep[..i].ends_with('\r') {
                    "\r\n"
                } else {
                    "\n"
                },
                indent: sep[i + 1..].to_string(),
                sep: String::new(),
                pad: String::new(),
                colon,
            },
            None => {
                let pad = if self.pad.contains('\n') {
                    ""
                } else {
                    self.pad
                };
                // `{"a": 1}` has no separator to learn from; follow the
                // spacing after the colon.
                let sep = if !l.sep_after_comma && sep.is_empty() && colon.len() > 1 {
                    " "
                } else {
                    sep
                };
                Style {
                    nl: "",
                    indent: String::new(),
                    sep: sep.to_string(),
                    pad: pad.to_string(),
                    colon,
                }
            }
        }
    }
}

/// How to print the metadata: multi-line (`nl` non-empty, `indent` per
/// level) or on one line (`sep` after commas, `pad` inside brackets).
struct Style {
    nl: &'static str,
    indent: String,
    sep: String,
    pad: String,
    colon: String,
}

impl Style {
    /// Whitespace before a member or item at nesting `level`.
    fn push_member_sep(&self, out: &mut String, level: usize) {
        if self.nl.is_empty() {
            out.push_str(&self.sep);
        } else {
            out.push_str(self.nl);
            for _ in 0..level {
                out.push_str(&self.indent);
            }
        }
    }

    fn push_open(&self, out: &mut String, bracket: char, level: usize) {
        out.push(bracket);
        if self.nl.is_empty() {
            out.push_str(&self.pad);
        } else {
            self.push_member_sep(out, level + 1);
        }
    }

    fn push_close(&self, out: &mut String, bracket: char, level: usize) {
        if self.nl.is_empty() {
            out.push_str(&self.pad);
        } else {
            self.push_member_sep(out, level);
        }
        out.push(bracket);
    }
}

fn push_meta_string(out: &mut String, s: &str) -> Result<(), FormatError> {
    let quoted = serde_json::to_string(s)
        .map_err(|e| FormatError::SpanCheck(format!("JSON string encoding: {e}")))?;
    out.push_str(&quoted);
    Ok(())
}

/// Print a metadata node at nesting `level` (the `sops` value is level 1).
fn write_meta(
    out: &mut String,
    node: &MetaNode,
    level: usize,
    style: &Style,
) -> Result<(), FormatError> {
    match node {
        MetaNode::Map(entries) if entries.is_empty() => out.push_str("{}"),
        MetaNode::List(items) if items.is_empty() => out.push_str("[]"),
        MetaNode::Map(entries) => {
            style.push_open(out, '{', level);
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    style.push_member_sep(out, level + 1);
                }
                push_meta_string(out, k)?;
                out.push_str(&style.colon);
                write_meta(out, v, level + 1, style)?;
            }
            style.push_close(out, '}', level);
        }
        MetaNode::List(items) => {
            style.push_open(out, '[', level);
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    style.push_member_sep(out, level + 1);
                }
                write_meta(out, v, level + 1, style)?;
            }
            style.push_close(out, ']', level);
        }
        MetaNode::Str(s) => push_meta_string(out, s)?,
        MetaNode::Int(i) => out.push_str(&i.to_string()),
        MetaNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        MetaNode::Null => out.push_str("null"),
    }
    Ok(())
}

/// A JSON string literal with minimal escaping: `"`, `\` and control
/// characters only; `/` and non-ASCII are written as they are.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

/// Whether any byte of `s` is a control character, `"` or `\\`. Eight
/// bytes at a time with the classic "has a byte less than n / equal to c"
/// word tricks, which are exact about whether such a byte exists.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Most values (and every ENC[...] string) need no escape; this check
    // is much faster than the loop below.
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut run = 0;
    for (i, c) in s.bytes().enumerate() {
        let esc = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{c:04x}"));
        } else {
            out.push_str(esc);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Write the JSON token for a decrypted scalar: its original `text` when
/// that is a valid JSON token for the same value (keeps `1.0`, `-0`, `1E3`
/// and big integers byte-exact), the canonical form otherwise.
fn push_scalar_token(
    out: &mut String,
    leaf: &Leaf,
    value: &Value,
    text: &str,
) -> Result<(), FormatError> {
    match value {
        Value::Str(s) => push_json_string(out, s),
        Value::Int(i) => {
            let same = is_json_number(text) && text.parse::<i64>().ok() == Some(*i);
            if same {
                out.push_str(text);
            } else {
                out.push_str(&i.to_string());
            }
        }
        Value::Float(f) => {
            let same = is_json_number(text)
                && match number_value(text) {
                    Some(parse::Number::Float(g)) => g.to_bits() == f.to_bits(),
                    // An integer-looking text for a float value (`42` that
                    // SOPS 3.11 typed as float).
                    Some(parse::Number::Int(_)) => {
                        text.parse::<f64>().ok().map(f64::to_bits) == Some(f.to_bits())
                    }
                    None => false,
                };
            if same {
                out.push_str(text);
            } else if f.is_finite() {
                // Go's 'f' format never has an exponent and always has a
                // digit before any '.', so it is a valid JSON number.
                out.push_str(&go_float(*f));
            } else {
                return Err(FormatError::CannotRepresent {
                    path: display_path(&leaf.path()),
                    format: "json",
                    reason: "JSON has no infinity or NaN".into(),
                });
            }
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Time(t) => push_json_string(out, t),
    }
    Ok(())
}

/// Consecutive leaf replacements merged into one edit: the replaced tokens
/// and the untouched text between them. One edit per run instead of one per
/// leaf keeps rendering free of a per-leaf allocation.
struct Run {
    span: Span,
    text: String,
}

impl Document for JsonDocument<'_> {
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
        let removal = self.sops_removal();
        // About one edit per leaf, sized once (see yaml/render.rs).
        let mut out = Vec::with_capacity(self.leaves.len() + 2);
        let mut run: Option<Run> = None;
        for (leaf, edit) in self.leaves.iter().zip(edits) {
            if matches!(edit, Replacement::Keep) {
                continue;
            }
            let span = self.checked_span(leaf)?;
            // Extend the current run with the text up to this leaf, unless
            // the metadata removal lies in between (edits must not overlap).
            let gap = match &run {
                Some(r)
                    if !removal
                        .as_ref()
                        .is_some_and(|x| x.start < span.start && x.end > r.span.end) =>
                {
                    match self.src.get(r.span.end..span.start) {
                        Some(gap) => Some(gap),
                        None => {
                            return Err(FormatError::SpanCheck(format!(
                                "span {span:?} is out of order"
                            )));
                        }
                    }
                }
                _ => None,
            };
            let r = match (gap, run.as_mut()) {
                (Some(gap), Some(r)) => {
                    r.text.push_str(gap);
                    r
                }
                _ => {
                    if let Some(done) = run.take() {
                        out.push(Edit::new(done.span, done.text));
                    }
                    run.insert(Run {
                        span: span.clone(),
                        text: String::new(),
                    })
                }
            };
            match edit {
                Replacement::Keep => {}
                Replacement::Encrypted(enc) => push_json_string(&mut r.text, enc),
                Replacement::Decrypted(Decrypted::Scalar { value, text }) => {
                    push_scalar_token(&mut r.text, leaf, value, text)?
                }
                Replacement::Decrypted(Decrypted::Comment(_)) => {
                    return Err(FormatError::CannotRepresent {
                        path: display_path(&leaf.path()),
                        format: "json",
                        reason: "JSON has no comments".into(),
                    });
                }
            }
            r.span.end = span.end;
        }
        if let Some(done) = run {
            out.push(Edit::new(done.span, done.text));
        }
        if let Some(r) = removal {
            out.push(Edit::new(r, ""));
        }
        if let Some(m) = metadata {
            out.push(self.metadata_insertion(m)?);
        }
        Ok(Plan::spliced(Spliced::new(self.src, out)?, Vec::new()))
    }

    /// An `ENC[...]` text needs no escaping in a JSON string, so each one
    /// is `"`, the text filled in while writing, and `"`.
    fn plan_filled<'s>(
        &'s self,
        encrypt: &[bool],
        metadata: &MetaNode,
    ) -> Result<Option<Spliced<'s>>, FormatError> {
        let Some(mut out) = crate::formats::splice::slot_edits(
            &self.leaves,
            encrypt,
            "\"",
            crate::formats::splice::Suffix::DoubleQuote,
            2,
            |leaf| self.checked_span(leaf),
        )?
        else {
            return Ok(None);
        };
        if let Some(r) = self.sops_removal() {
            out.push(Edit::new(r, ""));
        }
        out.push(self.metadata_insertion(metadata)?);
        Ok(Some(Spliced::new(self.src, out)?))
    }
}

impl JsonDocument<'_> {
    /// A leaf's span, checked to still start a scalar token of the kind
    /// parsed.
    fn checked_span(&self, leaf: &Leaf) -> Result<crate::document::Span, FormatError> {
        let Some(span) = leaf.span.clone() else {
            return Err(FormatError::SpanCheck("a JSON leaf without a span".into()));
        };
        let first = self.src.as_bytes().get(span.start).copied();
        let ok = match &leaf.kind {
            LeafKind::Scalar {
                value: Value::Str(_),
                ..
            } => first == Some(b'"'),
            LeafKind::Scalar {
                value: Value::Bool(_),
                ..
            } => matches!(first, Some(b't' | b'f')),
            LeafKind::Scalar { .. } => matches!(first, Some(b'-' | b'0'..=b'9')),
            LeafKind::Comment(_) | LeafKind::Structure(_) => false,
        };
        if !ok {
            return Err(FormatError::SpanCheck(format!(
                "span {span:?} does not hold a JSON scalar"
            )));
        }
        Ok(span)
    }
}
