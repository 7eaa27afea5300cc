//! INI, read the way sops reads it: gopkg.in/ini.v1 with default options
//! and non-unique sections (spec 7.5). The rules below mirror go-ini's
//! parser, because the value shroud encrypts and its AAD (`section:key:`)
//! must be exactly what sops sees:
//!
//! - lines are trimmed on the left; `;` or `#` first starts a comment line;
//!   `[name]` starts a section (the name runs to the *last* `]`, untrimmed;
//!   text after it from the first `;`/`#` is a comment); keys before any
//!   section belong to `DEFAULT`; a repeated section is a new section;
//! - `key = value` or `key: value` (first `=` or `:`), key trimmed, `"` or
//!   `` ` `` quoted keys, `-` keys numbered `#1`, `#2`, ... per section;
//! - a value starting with `"""` or `` ` `` runs to the last such quote, over
//!   several lines if need be; otherwise it is trimmed, cut at the first
//!   `;` or `#` (the rest is an inline comment, even without a space), and
//!   one pair of surrounding `"` or `'` is dropped. A value ending in `\`
//!   continues on the next line in go-ini; shroud refuses those, as it could
//!   not splice them back;
//! - comments are attached the way go-ini attaches them: the comment lines
//!   before a section header (and its trailing comment) to that section, the
//!   lines before a key (and its inline comment) to the key, and sops puts
//!   a key's comments *after* it in the tree. The leaves follow that order,
//!   so the comment-regex rules see what sops sees. Each comment line is its
//!   own leaf whose text is what follows the marker and spaces
//!   (`; note` -> `note`, as sops strips it). A comment on a section header
//!   line is left in clear (see the parser for why).
//!
//! A key repeated within one section is refused: go-ini keeps only the
//! last value, so sops could not verify the MAC of a file holding both.
//!
//! Output is the input with spans replaced. The metadata is a `[sops]`
//! section appended after a blank line, keys sorted and padded to align
//! `=` as go-ini writes them; sops 3.13's `"""` multi-line metadata values
//! are read too.

use std::collections::HashSet;
use std::ops::Range;

use zeroize::Zeroizing;

use crate::document::{
    Decrypted, Document, Leaf, LeafKind, MetaNode, Plan, Rendered, Replacement, Value,
};
use crate::error::{FormatError, Location, display_path, exit};
use crate::formats::flatten as flat;
use crate::formats::splice::{Edit, Spliced};
use crate::treepath::PathSeg;

/// The section of keys written before any `[section]` header.
const DEFAULT_SECTION: &str = "DEFAULT";
const SOPS_SECTION: &str = "sops";

/// Where a value sits, to put a new one in its place.
#[derive(Clone, Debug)]
struct ValueInfo {
    /// Where go-ini started reading the value (just after the delimiter).
    start: usize,
    /// Where it went on reading afterwards (the start of the next line).
    next: usize,
    /// The value token with its quotes, if any.
    region: Range<usize>,
}

/// One value as go-ini reads it.
#[derive(Debug)]
struct ParsedValue {
    /// The bytes that are the value (go-ini never unescapes by default).
    span: Range<usize>,
    region: Range<usize>,
    /// An inline comment: the marker and what follows, to the end of line.
    comment: Option<Range<usize>>,
    next: usize,
}

#[derive(Debug)]
enum ValueError {
    /// A value ending in `\`: go-ini joins it with the next line.
    Continuation(usize),
    /// A `"""` or `` ` `` value without its closing quote.
    Unclosed(usize),
    /// A comment after the closing quote of a multi-line quoted value.
    CommentAfterMultiline(usize),
}

fn is_space(c: char) -> bool {
    // Go's unicode.IsSpace and Rust's char::is_whitespace agree.
    c.is_whitespace()
}

/// The end of the line that starts at or contains `p`: (index of its `\n`
/// or the end of `b`, start of the next line).
fn line_end(b: &str, p: usize) -> (usize, usize) {
    match b[p..].find('\n') {
        Some(i) => (p + i, p + i + 1),
        None => (b.len(), b.len()),
    }
}

fn trim_start_at(b: &str, r: Range<usize>) -> usize {
    r.end - b[r].trim_start_matches(is_space).len()
}

fn trim_end_at(b: &str, r: Range<usize>) -> usize {
    r.start + b[r].trim_end_matches(is_space).len()
}

/// go-ini's `readValue` from `p` (just after the key's delimiter).
fn read_value(b: &str, p: usize) -> Result<ParsedValue, ValueError> {
    let (_, next) = line_end(b, p);
    let s = trim_start_at(b, p..next);
    let line = &b[s..next];
    if line.is_empty() {
        // All blank: an empty value. Put its span at the end of the text on
        // the line, so that a value written there lands after the spaces.
        let (nl, _) = line_end(b, p);
        let e = trim_end_at(b, p..nl).max(p);
        return Ok(ParsedValue {
            span: e..e,
            region: e..e,
            comment: None,
            next,
        });
    }
    // go-ini tests `len(line) > 3` after TrimSpace: a bare `"""` (with only
    // a line break or spaces after it) is a plain value, not an opening.
    let quote = if line.trim_end_matches(is_space).len() > 3 && line.starts_with("\"\"\"") {
        Some("\"\"\"")
    } else if line.starts_with('`') {
        Some("`")
    } else {
        None
    };
    if let Some(q) = quote {
        let body = s + q.len();
        if let Some(pos) = b[body..next].rfind(q) {
            // Closed on the same line; go-ini ignores what follows.
            return Ok(ParsedValue {
                span: body..body + pos,
                region: s..body + pos + q.len(),
                comment: None,
                next,
            });
        }
        // Multi-line: read lines until one holds the closing quote.
        let mut cur = next;
        loop {
            let (nl, after) = line_end(b, cur);
            let at_eof = nl == b.len();
            let l = &b[cur..after];
            if let Some(pos) = l.rfind(q) {
                let close = cur + pos;
                let comment = b[close..after]
                    .find(['#', ';'])
                    .map(|i| close + i..trim_end_at(b, close + i..after));
                // go-ini reads a comment there only because the value spans
                // lines; the one-line ENC[...] that replaces it would turn
                // the comment into ignored text, changing the document.
                if let Some(c) = &comment {
                    return Err(ValueError::CommentAfterMultiline(c.start));
                }
                return Ok(ParsedValue {
                    span: body..close,
                    region: s..close + q.len(),
                    comment,
                    next: after,
                });
            }
            if at_eof {
                return Err(ValueError::Unclosed(s));
            }
            cur = after;
        }
    }
    let t_end = trim_end_at(b, s..next);
    if b[s..t_end].ends_with('\\') {
        return Err(ValueError::Continuation(s));
    }
    let (v_end, comment) = match b[s..t_end].find(['#', ';']) {
        Some(i) => (trim_end_at(b, s..s + i), Some(s + i..t_end)),
        None => (t_end, None),
    };
    let v = &b[s..v_end];
    let surrounded = |q: u8| {
        let bytes = v.as_bytes();
        bytes.len() >= 2
            && bytes[0] == q
            && bytes[bytes.len() - 1] == q
            && bytes.iter().filter(|&&c| c == q).count() == 2
    };
    let span = if surrounded(b'"') || surrounded(b'\'') {
        s + 1..v_end - 1
    } else {
        s..v_end
    };
    Ok(ParsedValue {
        span,
        region: s..v_end,
        comment,
        next,
    })
}

/// A token that go-ini reads back as exactly `value`, on a line of its own
/// after `key =`: as it is when that works, else quoted the way go-ini's
/// writer would quote it. `None` if no form works (a value holding both
/// `"""` and `` ` `` and a newline, say).
fn token_for(value: &str) -> Option<String> {
    let triple = format!("\"\"\"{value}\"\"\"");
    let tick = format!("`{value}`");
    // go-ini's writer uses `"""` for multi-line values, backticks for
    // values with comment characters, `"` for values with outer spaces.
    let (third, fourth) = if value.contains('\n') {
        (triple, tick)
    } else {
        (tick, triple)
    };
    let candidates = [value.to_string(), format!("\"{value}\""), third, fourth];
    candidates.into_iter().find(|c| reads_back(c, value))
}

/// Whether go-ini reads `token` (followed by a newline) as `value`.
fn reads_back(token: &str, value: &str) -> bool {
    let line = format!("{token}\n");
    matches!(read_value(&line, 0), Ok(v) if v.next == line.len() && line.get(v.span.clone()) == Some(value))
}

/// A comment leaf's span inside `r` (which starts at its marker): after the
/// marker and the spaces sops strips (`TrimLeft("; ")` or `TrimLeft("# ")`),
/// up to the trailing whitespace.
fn comment_span(b: &str, r: Range<usize>) -> Range<usize> {
    let text = &b[r.clone()];
    let strip: &[char] = if text.starts_with(';') {
        &[';', ' ']
    } else {
        &['#', ' ']
    };
    let start = r.end - text.trim_start_matches(strip).len();
    let end = trim_end_at(b, start..r.end);
    start..end
}

pub struct IniDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    /// For each leaf, where its value sits (`None` for comments).
    values: Vec<Option<ValueInfo>>,
    metadata: Option<MetaNode>,
    /// The `[sops]` section: its header line through its last entry.
    sops_region: Option<Range<usize>>,
}

/// Parser state: comment lines waiting for the key or section they belong
/// to, as go-ini's comment buffer.
struct Parser<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    values: Vec<Option<ValueInfo>>,
    pending: Vec<Range<usize>>,
}

impl Parser<'_> {
    fn comment_leaf(&mut self, section: &str, span: Range<usize>) {
        self.leaves.push(Leaf::new(
            vec![PathSeg::Key(section.to_string())],
            1,
            LeafKind::Comment(Zeroizing::new(self.src[span.clone()].to_string())),
            Some(span),
        ));
        self.values.push(None);
    }

    /// A section without keys: a structure leaf on its name.
    fn empty_map(&mut self, section: &str, span: Range<usize>) {
        self.leaves.push(Leaf::new(
            vec![PathSeg::Key(section.to_string())],
            1,
            LeafKind::Structure(crate::document::Shape::EmptyMap),
            Some(span),
        ));
        self.values.push(None);
    }

    fn flush_comments(&mut self, section: &str) {
        for span in std::mem::take(&mut self.pending) {
            self.comment_leaf(section, span);
        }
    }
}

fn syntax(src: &str, at: usize, message: impl Into<String>) -> FormatError {
    FormatError::syntax(src, at, message)
}

impl<'a> IniDocument<'a> {
    pub fn parse(src: &'a str) -> Result<IniDocument<'a>, FormatError> {
        if src.is_empty() {
            return Err(FormatError::Empty);
        }
        let mut p = Parser {
            src,
            leaves: Vec::new(),
            values: Vec::new(),
            pending: Vec::new(),
        };
        let mut section = DEFAULT_SECTION.to_string();
        let mut last_data_section = section.clone();
        let mut in_sops = false;
        let mut seen_keys: HashSet<&str> = HashSet::new();
        let mut auto_count = 1usize;
        let mut sops_region: Option<Range<usize>> = None;
        let mut meta_entries: Vec<(String, Range<usize>, usize)> = Vec::new();
        // The open section's name span while it has no keys yet: a section
        // that ends without any is reported as an empty map, so that paths
        // (`set`, `unset`) and conversion see it as sops does.
        let mut empty_section: Option<Range<usize>> = None;

        // go-ini skips a UTF-8 byte order mark.
        let mut pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
        while pos < src.len() {
            let line_start = pos;
            let (_, next) = line_end(src, pos);
            let ks = trim_start_at(src, pos..next);
            pos = next;
            if ks == next {
                continue;
            }
            let first = src.as_bytes()[ks];
            if first == b'#' || first == b';' {
                let span = comment_span(src, ks..next);
                if !in_sops {
                    p.pending.push(span);
                }
                continue;
            }
            if first == b'[' {
                let Some(close) = src[ks..next].rfind(']').map(|i| ks + i) else {
                    return Err(syntax(src, ks, "unclosed section header (no ']')"));
                };
                let name = &src[ks + 1..close];
                if name.is_empty() {
                    return Err(syntax(src, ks, "empty section name"));
                }
                // A comment after the header (`[s] ; note`) stays as it is:
                // go-ini takes the name up to the *last* `]`, and every
                // `ENC[...]` ends in one, so encrypting it would rename the
                // section for sops. (sops itself moves such comments above
                // the header, so its files never have them.)
                if let Some(span) = empty_section.take() {
                    p.empty_map(&section, span);
                }
                if name == SOPS_SECTION {
                    if sops_region.is_some() {
                        return Err(syntax(src, ks, "a second [sops] section"));
                    }
                    // Comments before [sops] belong to the data before it,
                    // as at the end of a plaintext file.
                    p.flush_comments(&last_data_section);
                    sops_region = Some(line_start..next);
                    in_sops = true;
                } else {
                    if in_sops {
                        // Comments after the last metadata entry stay data.
                        p.pending.clear();
                    }
                    in_sops = false;
                    p.flush_comments(name);
                    last_data_section = name.to_string();
                    empty_section = Some(ks + 1..close);
                }
                section = name.to_string();
                seen_keys.clear();
                auto_count = 1;
                continue;
            }
            // A key: go-ini's readKeyName.
            let line = &src[ks..next];
            // go-ini reads a `"""` key only when `len(line) > 6` (line break
            // included): a shorter line starting with `"""` has a `"` key,
            // and would change meaning once its value is an ENC[...] or the
            // metadata is written after it.
            if line.len() <= 6 && line.starts_with("\"\"\"") {
                return Err(FormatError::Unsupported {
                    location: Location::of(src, ks),
                    message: "a short line starting with \"\"\" reads as another key in go-ini \
                              once its value is encrypted"
                        .into(),
                    code: exit::COULD_NOT_READ_INPUT,
                });
            }
            let (key_text, value_at) = read_key(src, ks, line)?;
            let key = if key_text == "-" {
                // go-ini numbers `-` keys within a section.
                let k = format!("#{auto_count}");
                auto_count += 1;
                k
            } else {
                key_text.to_string()
            };
            let v = read_value(src, value_at).map_err(|e| match e {
                ValueError::Continuation(at) => FormatError::Unsupported {
                    location: Location::of(src, at),
                    message: "a value ending in '\\' continues on the next line in go-ini \
                              (which sops uses); shroud cannot keep such a value byte-exact"
                        .into(),
                    code: exit::COULD_NOT_READ_INPUT,
                },
                ValueError::Unclosed(at) => syntax(src, at, "a quoted value is never closed"),
                ValueError::CommentAfterMultiline(at) => FormatError::Unsupported {
                    location: Location::of(src, at),
                    message: "a comment after a multi-line quoted value: encrypted, the value \
                              fits on one line and go-ini (which sops uses) would no longer read \
                              the comment; move the comment to its own line"
                        .into(),
                    code: exit::COULD_NOT_READ_INPUT,
                },
            })?;
            pos = v.next;
            if in_sops {
                meta_entries.push((key, v.span, ks));
                if let Some(r) = sops_region.as_mut() {
                    r.end = v.next;
                }
                continue;
            }
            // `-` keys are numbered, hence unique; the others are slices of
            // the source, so the check allocates nothing.
            let named = (key_text != "-").then_some(key_text);
            if named.is_some_and(|k| !seen_keys.insert(k)) {
                return Err(FormatError::Unsupported {
                    location: Location::of(src, ks),
                    message: format!(
                        "key {key:?} appears twice in section [{section}]; go-ini (which sops \
                         uses) keeps only the last value, so sops could not read the file"
                    ),
                    code: exit::COULD_NOT_READ_INPUT,
                });
            }
            empty_section = None;
            p.leaves.push(Leaf::new(
                vec![PathSeg::Key(section.clone()), PathSeg::Key(key)],
                1,
                LeafKind::Scalar {
                    value: Value::Str(Zeroizing::new(src[v.span.clone()].to_string())),
                    source: None,
                },
                Some(v.span),
            ));
            p.values.push(Some(ValueInfo {
                start: value_at,
                next: v.next,
                region: v.region,
            }));
            if let Some(c) = v.comment {
                p.pending.push(comment_span(src, c));
            }
            p.flush_comments(&section);
        }
        if let Some(span) = empty_section.take() {
            p.empty_map(&section, span);
        }
        let tail_section = last_data_section.clone();
        p.flush_comments(&tail_section);

        let metadata = if sops_region.is_some() {
            let node = flat::unflatten(
                meta_entries
                    .iter()
                    .map(|(k, span, _)| (k.as_str(), src[span.clone()].to_string())),
            )
            .map_err(|e| {
                let at = meta_entries.get(e.index).map_or(0, |m| m.2);
                syntax(src, at, e.message)
            })?;
            Some(node)
        } else {
            None
        };
        Ok(IniDocument {
            src,
            leaves: p.leaves,
            values: p.values,
            metadata,
            sops_region,
        })
    }

    /// The bytes to delete to take the `[sops]` section out: the inverse of
    /// [`Self::metadata_text`]. With it goes the blank line before it, or,
    /// when it ends the file without a final newline, the two line breaks
    /// that were put before it.
    fn removal(&self) -> Option<Range<usize>> {
        let r = self.sops_region.clone()?;
        let b = self.src.as_bytes();
        let before = |n: usize| r.start >= n && b[r.start - n..r.start].iter().all(|&c| c == b'\n');
        let start = if r.end == b.len() && !self.src.ends_with('\n') && before(2) {
            r.start - 2
        } else if before(2) {
            r.start - 1
        } else {
            r.start
        };
        Some(start..r.end)
    }

    /// The `[sops]` section as go-ini writes it: after a blank line, keys
    /// sorted and padded so the `=` line up.
    fn metadata_text(&self, metadata: &MetaNode) -> Result<String, FormatError> {
        let flat = flat::flatten(metadata);
        let width = flat
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut lines = vec![format!("[{SOPS_SECTION}]")];
        for (k, v) in &flat {
            let token = token_for(v).ok_or_else(|| FormatError::CannotRepresent {
                path: format!("sops.{k}"),
                format: "ini",
                reason: "the metadata value cannot be quoted for go-ini".into(),
            })?;
            let pad = width - k.chars().count();
            lines.push(format!("{k}{:pad$} = {token}", ""));
        }
        // What the data ends with once the old metadata is gone.
        let removed = self.removal();
        let end = match &removed {
            Some(r) if r.end == self.src.len() => r.start,
            _ => self.src.len(),
        };
        let data = &self.src[..end];
        Ok(if data.is_empty() {
            lines.join("\n") + "\n"
        } else if data.ends_with('\n') {
            format!("\n{}\n", lines.join("\n"))
        } else {
            format!("\n\n{}", lines.join("\n"))
        })
    }

    /// The edit that puts `text` in as the value of leaf `i`: into the span
    /// when go-ini reads it back as `text` there, else the whole token
    /// re-quoted.
    fn value_edit<'t>(&self, i: usize, text: &'t str) -> Result<Edit<'t>, FormatError> {
        let leaf = &self.leaves[i];
        let (Some(span), Some(Some(info))) = (leaf.span.clone(), self.values.get(i)) else {
            return Err(FormatError::SpanCheck(
                "an INI value without its place".into(),
            ));
        };
        if !(info.start <= info.region.start
            && info.region.start <= span.start
            && span.end <= info.region.end
            && info.region.end <= info.next
            && info.next <= self.src.len())
        {
            return Err(FormatError::SpanCheck(format!(
                "span {span:?} is not inside its value"
            )));
        }
        // Text without quotes, comment markers, backslashes, line breaks
        // or outer spaces reads back as itself in any of go-ini's value
        // forms (every ENC[...] value is such a text): no need to check.
        let plain = |t: &str| {
            !t.is_empty()
                && !t.starts_with(is_space)
                && !t.ends_with(is_space)
                && !t.contains(['\n', '\r', '#', ';', '"', '\'', '`', '\\'])
        };
        if plain(text) {
            return Ok(Edit::new(span, text));
        }
        let s = self.src;
        let trial = format!(
            "{}{}{}",
            &s[info.start..span.start],
            text,
            &s[span.end..info.next]
        );
        let fits = matches!(read_value(&trial, 0),
            Ok(v) if v.next == trial.len()
                && trial.get(v.span.clone()) == Some(text)
                && v.span.start == span.start - info.start);
        if fits {
            return Ok(Edit::new(span, text));
        }
        let token = token_for(text).ok_or_else(|| FormatError::CannotRepresent {
            path: display_path(&leaf.path()),
            format: "ini",
            reason: "the value cannot be quoted so that go-ini reads it back".into(),
        })?;
        Ok(Edit::new(info.region.clone(), token))
    }
}

/// go-ini's `readKeyName` on `line` (which starts at `ks`, left-trimmed):
/// the key and where its value starts.
fn read_key<'s>(src: &str, ks: usize, line: &'s str) -> Result<(&'s str, usize), FormatError> {
    let quote = if line.starts_with('"') {
        if line.len() > 6 && line.starts_with("\"\"\"") {
            Some("\"\"\"")
        } else {
            Some("\"")
        }
    } else if line.starts_with('`') {
        Some("`")
    } else {
        None
    };
    if let Some(q) = quote {
        let n = q.len();
        let Some(pos) = line[n..].find(q).map(|i| i + n) else {
            return Err(syntax(src, ks, "a quoted key is never closed"));
        };
        let Some(i) = line[pos + n..].find(['=', ':']) else {
            return Err(syntax(src, ks, "expected '=' or ':' after the key"));
        };
        let key = line[n..pos].trim_matches(is_space);
        return Ok((key, ks + pos + n + i + 1));
    }
    match line.find(['=', ':']) {
        None => Err(syntax(
            src,
            ks,
            "expected 'key = value', found no '=' or ':'",
        )),
        Some(0) => Err(syntax(src, ks, "empty key name")),
        Some(i) => Ok((line[..i].trim_matches(is_space), ks + i + 1)),
    }
}

/// Whether a comment text can be written after a comment marker: every
/// further line it makes must itself be a comment (sops joins a block of
/// comment lines into one comment).
fn comment_fits(text: &str) -> bool {
    text.split('\n').skip(1).all(|l| {
        let t = l.trim_start_matches(is_space);
        t.is_empty() || t.starts_with([';', '#'])
    })
}

impl Document for IniDocument<'_> {
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
        for (i, (leaf, edit)) in self.leaves.iter().zip(edits).enumerate() {
            let comment = leaf.is_comment();
            let text: &str = match edit {
                Replacement::Keep => continue,
                Replacement::Encrypted(enc) => enc,
                Replacement::Decrypted(Decrypted::Scalar { text, .. }) if !comment => text,
                Replacement::Decrypted(Decrypted::Comment(text)) if comment => {
                    if !comment_fits(text) {
                        return Err(FormatError::CannotRepresent {
                            path: display_path(&leaf.path()),
                            format: "ini",
                            reason: "a comment line break not followed by a comment marker".into(),
                        });
                    }
                    text
                }
                Replacement::Decrypted(_) => {
                    return Err(FormatError::CannotRepresent {
                        path: display_path(&leaf.path()),
                        format: "ini",
                        reason: "a comment and a value cannot stand in for each other".into(),
                    });
                }
            };
            if comment {
                let Some(span) = leaf.span.clone() else {
                    return Err(FormatError::SpanCheck(
                        "an INI comment without a span".into(),
                    ));
                };
                out.push(Edit::new(span, text));
            } else {
                out.push(self.value_edit(i, text)?);
            }
        }
        if let Some(r) = self.removal() {
            out.push(Edit::new(r, ""));
        }
        if let Some(m) = metadata {
            out.push(Edit::insert(self.src.len(), self.metadata_text(m)?));
        }
        Ok(Plan::spliced(Spliced::new(self.src, out)?, Vec::new()))
    }
}

#[cfg(test)]
mod tests;
