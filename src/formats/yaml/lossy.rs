//! The documented exceptions to byte-identical YAML round trips.

use super::YamlDocument;
use super::parse::{Info, Style};
use crate::document::{Document, LeafKind, Value};

impl YamlDocument<'_> {
    /// Why this document's round trip cannot give back every byte, if it
    /// cannot: the documented exceptions (docs/format.md), where each value
    /// survives but not its spelling. The tests and the fuzz properties use
    /// it to tell an allowed difference from a bug.
    pub fn lossy_reason(&self) -> Option<&'static str> {
        let (doc, src) = (self, self.src);
        for (info, l) in doc.parsed.infos.iter().zip(doc.leaves()) {
            let (Info::Scalar { style, .. }, Some(span)) = (info, &l.span) else {
                continue;
            };
            let t = &src[span.clone()];
            let LeafKind::Scalar { value, source } = &l.kind else {
                continue;
            };
            let all_crlf = {
                let lf = src.matches('\n').count();
                lf > 0 && src.matches("\r\n").count() == lf
            };
            if matches!(style, Style::Literal | Style::Folded) && t.contains('\r') && !all_crlf {
                // A block is rewritten with the file's line break, `\n`
                // unless every line ends in `\r\n`.
                return Some("block scalar with line breaks unlike the file's");
            }
            if *style == Style::Folded {
                return Some("folded block scalar");
            }
            if matches!(style, Style::Plain | Style::Single | Style::Double) && t.contains('\n') {
                return Some("multi-line flow scalar");
            }
            if let (Value::Str(s), Style::Plain, Info::Scalar { flow, .. }) = (value, style, info)
                && !super::resolve::plain_text_ok(s, *flow)
            {
                // Valid plain text that shroud's conservative check cannot
                // prove plain-safe for every YAML reader (`{x: :x}`).
                return Some("plain scalar written quoted");
            }
            match (value, style) {
                (Value::Str(s), Style::Double) if super::emit::double_quote(s) != t => {
                    return Some("double-quoted escapes");
                }
                (Value::Str(s), Style::Single)
                    if super::emit::single_quote(s).as_deref() != Some(t) =>
                {
                    return Some("single-quoted layout");
                }
                (Value::Str(_), Style::Literal)
                    if t.split('\n').skip(1).any(|l| {
                        let l = l.trim_end_matches('\r');
                        !l.is_empty() && l.trim().is_empty()
                    }) =>
                {
                    return Some("spaces on a blank line of a block scalar");
                }
                (v, _) if !matches!(v, Value::Str(_)) => {
                    let src_text = source.as_ref().map(|s| s.as_str()).unwrap_or("");
                    if *crate::value::plaintext_for(v, Some(src_text)) != *src_text {
                        return Some("YAML-only number or time spelling (0x1F, 017, 1_000, dates)");
                    }
                }
                _ => {}
            }
        }
        None
    }
}
