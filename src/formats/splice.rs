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
}

impl<'a> Edit<'a> {
    pub fn new(span: Span, text: impl Into<Cow<'a, str>>) -> Edit<'a> {
        Edit {
            span,
            text: text.into(),
        }
    }

    /// An insertion at `at`.
    pub fn insert(at: usize, text: impl Into<Cow<'a, str>>) -> Edit<'a> {
        Edit::new(at..at, text)
    }
}

/// Apply `edits` to `src`. Edits may come in any order; after sorting they
/// must not overlap (two insertions at the same point keep their order).
pub fn splice(src: &str, mut edits: Vec<Edit<'_>>) -> Result<String, FormatError> {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let extra: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(src.len() + extra);
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
        out.push_str(&src[pos..start]);
        out.push_str(&e.text);
        pos = end;
    }
    out.push_str(&src[pos..]);
    Ok(out)
}

/// [`splice`] for replacements that come in text order, written as they
/// come: no list of edits is built or sorted (on a 100,000-value file that
/// list was 12 MB). The same checks apply; a replacement out of order is an
/// error like an overlap.
pub struct Splicer<'s> {
    src: &'s str,
    out: String,
    pos: usize,
}

impl<'s> Splicer<'s> {
    /// `capacity` should be the output's length (or a bound on it): the
    /// output is usually wiped on drop, and a buffer that grows leaves
    /// copies behind.
    pub fn new(src: &'s str, capacity: usize) -> Splicer<'s> {
        Splicer {
            src,
            out: String::with_capacity(capacity),
            pos: 0,
        }
    }

    /// Replace `span` with `parts`, one after the other.
    pub fn replace(&mut self, span: Span, parts: &[&str]) -> Result<(), FormatError> {
        let Span { start, end } = span;
        let src = self.src;
        if start < self.pos || end < start || end > src.len() {
            return Err(FormatError::SpanCheck(format!(
                "edit {start}..{end} overlaps or is out of bounds (at {} of {})",
                self.pos,
                src.len()
            )));
        }
        if !src.is_char_boundary(start) || !src.is_char_boundary(end) {
            return Err(FormatError::SpanCheck(format!(
                "edit {start}..{end} cuts a character"
            )));
        }
        self.out.push_str(&src[self.pos..start]);
        for p in parts {
            self.out.push_str(p);
        }
        self.pos = end;
        Ok(())
    }

    /// The rest of the source after the last replacement, and the output.
    pub fn finish(mut self) -> String {
        self.out.push_str(&self.src[self.pos..]);
        self.out
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

    #[test]
    fn splicer_writes_in_order_and_refuses_what_splice_refuses() {
        let mut s = Splicer::new("a: 1\nb: 2\n", 0);
        s.replace(3..4, &["\"", "one", "\""]).unwrap();
        s.replace(8..8, &[]).unwrap();
        s.replace(8..9, &["two"]).unwrap();
        s.replace(10..10, &["c: 3\n"]).unwrap();
        assert_eq!(s.finish(), "a: \"one\"\nb: two\nc: 3\n");
        let mut s = Splicer::new("abcdef", 0);
        s.replace(1..4, &["x"]).unwrap();
        assert!(s.replace(3..5, &["y"]).is_err(), "overlap");
        assert!(s.replace(0..0, &["y"]).is_err(), "out of order");
        assert!(Splicer::new("abc", 0).replace(2..9, &[]).is_err());
        assert!(Splicer::new("é", 0).replace(1..2, &[]).is_err());
    }

    #[test]
    fn refuses_overlap_and_bad_bounds() {
        assert!(splice("abcdef", vec![Edit::new(1..4, "x"), Edit::new(3..5, "y")]).is_err());
        assert!(splice("abc", vec![Edit::new(2..9, "x")]).is_err());
        assert!(splice("é", vec![Edit::new(1..2, "x")]).is_err());
    }
}
