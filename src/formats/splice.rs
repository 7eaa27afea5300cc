//! Building output by replacing byte ranges of the original text.
//!
//! Every format writes its output through [`splice`], which refuses edits that
//! overlap, run out of bounds or cut a UTF-8 character: a damaged document is
//! never written.

use std::borrow::Cow;

use crate::document::Span;
use crate::error::FormatError;

/// One replacement of `span` in the source with `text`. The text is
/// borrowed when it can be (an `ENC[...]` string or a plaintext the engine
/// already holds goes into the output as it is), so rendering does not keep
/// a second copy of every value before the output is built.
#[derive(Clone, Debug)]
pub struct Edit<'a> {
    pub span: Span,
    pub text: Cow<'a, str>,
    /// Text that is only known while writing, after `text`: see [`Fill`].
    pub fill: Option<Fill>,
}

/// The `ENC[...]` text of leaf `slot`, produced while the output is
/// written ([`Spliced::write_filled`]), so that the encrypted texts of a
/// big file need not all exist at once. An `ENC[...]` string never needs
/// quoting or escaping, so a format writes it as its edit's `text` (the
/// prefix), then the `ENC[...]` text less its first `skip` bytes, then
/// `suffix`.
#[derive(Clone, Copy, Debug)]
pub struct Fill {
    pub slot: u32,
    pub skip: u8,
    pub suffix: Suffix,
}

/// What follows a [`Fill`]'s text: one byte per edit, not a pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suffix {
    None,
    DoubleQuote,
    SingleQuote,
    Lf,
    CrLf,
}

/// The edits of a filled plan in which every leaf to encrypt becomes
/// `prefix`, its `ENC[...]` text (filled in while writing) and `suffix`, at
/// the span `span_of` checks; room is left for `extra` more edits. `None`
/// when a leaf index does not fit a slot number (the caller then takes the
/// whole-document path). Formats whose tokens need no more than that share
/// this; YAML, whose styles differ per leaf, builds its own.
pub fn slot_edits<'s>(
    leaves: &[crate::document::Leaf],
    encrypt: &[bool],
    prefix: &'static str,
    suffix: Suffix,
    extra: usize,
    mut span_of: impl FnMut(&crate::document::Leaf) -> Result<Span, FormatError>,
) -> Result<Option<Vec<Edit<'s>>>, FormatError> {
    if encrypt.len() != leaves.len() {
        return Err(FormatError::SpanCheck(format!(
            "{} edits for {} leaves",
            encrypt.len(),
            leaves.len()
        )));
    }
    let mut out = Vec::with_capacity(encrypt.iter().filter(|&&e| e).count() + extra);
    for (i, leaf) in leaves.iter().enumerate() {
        if !encrypt[i] {
            continue;
        }
        let Ok(slot) = u32::try_from(i) else {
            return Ok(None);
        };
        let fill = Fill {
            slot,
            skip: 0,
            suffix,
        };
        out.push(Edit::filled(span_of(leaf)?, prefix, fill));
    }
    Ok(Some(out))
}

impl Suffix {
    pub fn as_str(self) -> &'static str {
        match self {
            Suffix::None => "",
            Suffix::DoubleQuote => "\"",
            Suffix::SingleQuote => "'",
            Suffix::Lf => "\n",
            Suffix::CrLf => "\r\n",
        }
    }
}

impl<'a> Edit<'a> {
    pub fn new(span: Span, text: impl Into<Cow<'a, str>>) -> Edit<'a> {
        Edit {
            span,
            text: text.into(),
            fill: None,
        }
    }

    /// Replace `span` with `prefix`, the `ENC[...]` text `fill` names, and
    /// its suffix.
    pub fn filled(span: Span, prefix: impl Into<Cow<'a, str>>, fill: Fill) -> Edit<'a> {
        Edit {
            span,
            text: prefix.into(),
            fill: Some(fill),
        }
    }

    /// An insertion at `at`.
    pub fn insert(at: usize, text: impl Into<Cow<'a, str>>) -> Edit<'a> {
        Edit::new(at..at, text)
    }
}

/// Apply `edits` to `src`. Edits may come in any order; after sorting they
/// must not overlap (two insertions at the same point keep their order).
pub fn splice(src: &str, edits: Vec<Edit<'_>>) -> Result<String, FormatError> {
    Ok(Spliced::new(src, edits)?.into_string())
}

/// Checked edits of a source text, not yet assembled: the output exists
/// only as pieces (runs of the source and edit texts), so it can be written
/// to its destination without ever being held whole in memory. Every check
/// happens in [`Spliced::new`]: once it succeeds, writing can only fail on
/// I/O, never half-way through on a bad span.
#[derive(Debug)]
pub struct Spliced<'a> {
    src: &'a str,
    /// Sorted, non-overlapping, in bounds, on character boundaries.
    edits: Vec<Edit<'a>>,
    /// Leave out the output's final line break (`\n` or `\r\n`), if any.
    drop_final_newline: bool,
}

impl<'a> Spliced<'a> {
    /// Sort and check `edits` against `src`.
    pub fn new(src: &'a str, mut edits: Vec<Edit<'a>>) -> Result<Spliced<'a>, FormatError> {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        let mut pos = 0;
        for e in &edits {
            let Span { start, end } = e.span.clone();
            if start < pos || end < start || end > src.len() {
                return Err(FormatError::SpanCheck(format!(
                    "edit {start}..{end} overlaps or is out of bounds (at {pos} of {})",
                    src.len()
                )));
            }
            if !src.is_char_boundary(start) || !src.is_char_boundary(end) {
                return Err(FormatError::SpanCheck(format!(
                    "edit {start}..{end} cuts a character"
                )));
            }
            pos = end;
        }
        Ok(Spliced {
            src,
            edits,
            drop_final_newline: false,
        })
    }

    /// Leave out the final line break of the output (a removed metadata
    /// block that was the end of a file without one).
    pub fn drop_final_newline(mut self) -> Self {
        self.drop_final_newline = true;
        self
    }

    /// Call `f` on each piece of the output, in order. Only for output
    /// without [`Fill`]s (those are written by [`Spliced::write_filled`]).
    fn each_piece<E>(&self, mut f: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        debug_assert!(!self.has_fills(), "filled output written without its fills");
        let mut pos = 0;
        for e in &self.edits {
            f(&self.src[pos..e.span.start])?;
            f(&e.text)?;
            pos = e.span.end;
        }
        f(&self.src[pos..])
    }

    /// Whether some edit has a [`Fill`].
    pub fn has_fills(&self) -> bool {
        self.edits.iter().any(|e| e.fill.is_some())
    }

    /// Whether [`Spliced::write_filled`] can produce the fills a chunk at a
    /// time: they come in increasing slot order, and every edit whose text
    /// `late` says can only be written after the last fill (the metadata,
    /// with the MAC sealed over every value) does come after it. Checked
    /// before anything is written.
    pub fn fills_in_order(&self, late: impl Fn(&str) -> bool) -> bool {
        if self.drop_final_newline {
            return false;
        }
        let mut last: Option<u32> = None;
        let mut late_seen = false;
        for e in &self.edits {
            if late_seen && e.fill.is_some() {
                return false;
            }
            if let Some(f) = e.fill {
                if last.is_some_and(|l| f.slot <= l) {
                    return false;
                }
                last = Some(f.slot);
            }
            late_seen |= late(&e.text);
        }
        true
    }

    /// Write the output to `w` (which should buffer), asking `fill` to
    /// write the `ENC[...]` text of each [`Fill`] (less its first `skip`
    /// bytes) and `text` to write each edit's own text. Only for output
    /// that passed [`Spliced::fills_in_order`].
    pub fn write_filled(
        &self,
        w: &mut dyn std::io::Write,
        fill: &mut dyn FnMut(u32, usize, &mut dyn std::io::Write) -> std::io::Result<()>,
        text: &mut dyn FnMut(&str, &mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut pos = 0;
        for e in &self.edits {
            w.write_all(&self.src.as_bytes()[pos..e.span.start])?;
            text(&e.text, w)?;
            if let Some(f) = e.fill {
                fill(f.slot, f.skip as usize, w)?;
                w.write_all(f.suffix.as_str().as_bytes())?;
            }
            pos = e.span.end;
        }
        w.write_all(&self.src.as_bytes()[pos..])
    }

    /// The length of the output in bytes.
    pub fn len(&self) -> usize {
        let mut n = 0;
        let _ = self.each_piece(|p| {
            n += p.len();
            Ok::<(), ()>(())
        });
        n - self.final_newline_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many bytes [`Spliced::drop_final_newline`] removes.
    fn final_newline_len(&self) -> usize {
        if !self.drop_final_newline {
            return 0;
        }
        // The last two bytes of the output, which may span pieces: walk
        // the pieces from the end.
        let mut tail: Vec<u8> = Vec::with_capacity(2);
        let mut take = |p: &str| {
            for &c in p.as_bytes().iter().rev() {
                if tail.len() == 2 {
                    return true;
                }
                tail.push(c);
            }
            tail.len() == 2
        };
        let mut end = self.src.len();
        let mut done = false;
        for e in self.edits.iter().rev() {
            if take(&self.src[e.span.end..end]) || take(&e.text) {
                done = true;
                break;
            }
            end = e.span.start;
        }
        if !done {
            take(&self.src[..end]);
        }
        match tail.as_slice() {
            [b'\n', b'\r', ..] => 2,
            [b'\n', ..] => 1,
            _ => 0,
        }
    }

    /// The whole output as one string.
    pub fn into_string(self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut left = out.capacity();
        let _ = self.each_piece(|p| {
            let p = &p[..p.len().min(left)];
            left -= p.len();
            out.push_str(p);
            Ok::<(), ()>(())
        });
        out
    }

    /// Write the output to `w` piece by piece (`w` should buffer).
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut left = self.len();
        self.each_piece(|p| {
            let b = &p.as_bytes()[..p.len().min(left)];
            left -= b.len();
            w.write_all(b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_inserts_in_order() {
        let out = splice(
            "a: 1\nb: 2\n",
            vec![
                Edit::new(8..9, "two"),
                Edit::new(3..4, "one"),
                Edit::insert(10, "c: 3\n"),
            ],
        )
        .unwrap();
        assert_eq!(out, "a: one\nb: two\nc: 3\n");
    }

    /// Written piece by piece or assembled, the output is the same, and a
    /// final line break split across pieces is still dropped whole.
    #[test]
    fn written_output_matches_the_assembled_one() {
        let cases: Vec<(&str, Vec<Edit>, bool, &str)> = vec![
            (
                "a: 1\nb: 2\n",
                vec![Edit::new(3..4, "one")],
                false,
                "a: one\nb: 2\n",
            ),
            (
                "a: 1\r\nsops: x\r\n",
                vec![Edit::new(6..15, "")],
                true,
                "a: 1",
            ),
            ("a: 1\r", vec![Edit::insert(5, "\n")], true, "a: 1"),
            ("a: 1", vec![Edit::new(3..4, "2\n")], true, "a: 2"),
            ("", vec![], true, ""),
        ];
        for (src, edits, drop, want) in cases {
            let mut s = Spliced::new(src, edits).unwrap();
            if drop {
                s = s.drop_final_newline();
            }
            let mut written = Vec::new();
            s.write_to(&mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), want, "{src:?}");
            assert_eq!(s.len(), want.len());
            assert_eq!(s.into_string(), want);
        }
    }

    #[test]
    fn refuses_overlap_and_bad_bounds() {
        assert!(splice("abcdef", vec![Edit::new(1..4, "x"), Edit::new(3..5, "y")]).is_err());
        assert!(splice("abc", vec![Edit::new(2..9, "x")]).is_err());
        assert!(splice("é", vec![Edit::new(1..2, "x")]).is_err());
    }
}
