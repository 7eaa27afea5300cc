//! Cutting a big YAML file into pieces that each parse on their own, for
//! [`crate::stream`]: a block map at the root of a single document is cut
//! just before one of its key lines, and each piece is then a smaller YAML
//! document whose leaves have the same locations, depths and order as the
//! same leaves in the whole file.
//!
//! That equivalence is what the checks here protect. Anything that could
//! tie one piece to another, or put a column-0 line inside a value, makes
//! this decline (`None`), and the caller reads the file whole:
//! - more than one document, a directive or a `...` end marker;
//! - carriage returns, unless every line break is CRLF (each piece
//!   detects the file's line break from its own text);
//! - anything that looks like an anchor or an alias (`&name`, `*name`
//!   after a space, indicator or line start), since an alias in one piece
//!   could name an anchor in another;
//! - a root that is not a block map (a first content line that is not a
//!   key at column 0), or no key line to cut at.
//!
//! A column-0 line that starts with a letter, digit, `_` or quote cannot be
//! the inside of a block scalar, a multi-line flow scalar or a flow
//! collection of a root key: all of those must be indented past column 0.
//! Whatever slips past these checks still has to parse as a piece, and the
//! stream checks root keys for duplicates across pieces.

use std::ops::Range;

/// The pieces of `src`, each at least `target` bytes where the file allows
/// (the last one holds what is left), or `None` when the file cannot be
/// cut (see the module documentation). With `last_key`, the final piece
/// starts at the root key line `last_key:` and the file must have exactly
/// one such line, with no root key after it (the `sops` metadata of an
/// encrypted file, which is read before anything else).
pub fn pieces(src: &str, target: usize, last_key: Option<&str>) -> Option<Vec<Range<usize>>> {
    let b = src.as_bytes();
    let crlf = memchr::memchr(b'\r', b).is_some();
    if (crlf && !all_crlf(b))
        || memchr::memmem::find(b, b"\n---").is_some()
        || memchr::memmem::find(b, b"\n...").is_some()
        || src.starts_with('%')
        || may_hold_anchor_or_alias(b)
    {
        return None;
    }
    let mut cuts = Vec::new();
    let mut first_content = true;
    let mut last_key_at = None;
    let mut line_start = 0;
    while line_start < b.len() {
        let line_end = memchr::memchr(b'\n', &b[line_start..]).map_or(b.len(), |i| line_start + i);
        let mut line = &b[line_start..line_end];
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if line_start == 0 {
            // A byte order mark is not part of the first line's text.
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        let first = line.first().copied();
        let key_line = matches!(first, Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'"' || c == b'\'');
        let content = match first {
            None | Some(b' ' | b'\t' | b'#') => false,
            // The optional `---` that opens the one document.
            _ if line_start == 0 && (line == b"---" || line.starts_with(b"--- #")) => false,
            _ => true,
        };
        if content && first_content {
            first_content = false;
            if !key_line {
                return None;
            }
        } else if key_line {
            if last_key_at.is_some() {
                // A root key after the one that must come last.
                return None;
            }
            let is_last = last_key.is_some_and(|k| {
                line.starts_with(k.as_bytes()) && line.get(k.len()) == Some(&b':')
            });
            if is_last {
                last_key_at = Some(line_start);
            }
            cuts.push(line_start);
        } else if content {
            // A column-0 line that is neither a key nor a comment: a block
            // sequence at the root, `? ` keys, and so on.
            return None;
        }
        line_start = line_end + 1;
    }
    if last_key.is_some() && last_key_at.is_none() {
        return None;
    }
    let mut out = Vec::new();
    let mut start = 0;
    for &c in &cuts {
        if Some(c) == last_key_at || c - start >= target {
            if c > start {
                out.push(start..c);
            }
            start = c;
        }
    }
    out.push(start..src.len());
    // A piece's renderer writes new lines with the break its own text
    // uses; a last piece without any would not know the file's CRLF.
    if crlf
        && out
            .last()
            .is_some_and(|r| memchr::memchr(b'\n', &b[r.clone()]).is_none())
    {
        return None;
    }
    (out.len() > 1).then_some(out)
}

/// Whether every line break is CRLF (and no CR stands alone, which YAML
/// reads as a line break of its own): then every piece is all CRLF too,
/// and renders its new lines with CRLF as the whole file would.
fn all_crlf(b: &[u8]) -> bool {
    memchr::memchr2_iter(b'\r', b'\n', b).all(|i| match b[i] {
        b'\r' => b.get(i + 1) == Some(&b'\n'),
        _ => i > 0 && b[i - 1] == b'\r',
    })
}

/// Whether `&` or `*` appears where it could start an anchor or alias: at
/// a line start or after a space, tab, `-`, `:`, `,`, `[`, `{` or `?`.
/// `ENC[...]` texts never hold either; a clear value that does (`a & b`)
/// only costs the file its streaming.
fn may_hold_anchor_or_alias(b: &[u8]) -> bool {
    memchr::memchr2_iter(b'&', b'*', b).any(|i| {
        i == 0
            || matches!(
                b[i - 1],
                b' ' | b'\t' | b'\n' | b'-' | b':' | b',' | b'[' | b'{' | b'?'
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(src: &'a str, r: &[Range<usize>]) -> Vec<&'a str> {
        r.iter().map(|r| &src[r.clone()]).collect()
    }

    #[test]
    fn cuts_before_root_keys_once_a_piece_is_big_enough() {
        let src = "# head\na: 1\nb:\n  c: 2\n# between\nd: [1, 2]\ne: |\n  x\n";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            // Never a cut before the first key: the comments above it
            // would make a piece of their own.
            [
                "# head\na: 1\n",
                "b:\n  c: 2\n# between\n",
                "d: [1, 2]\n",
                "e: |\n  x\n"
            ]
        );
        // Pieces of at least 12 bytes.
        assert_eq!(
            texts(src, &pieces(src, 12, None).unwrap()),
            [
                "# head\na: 1\n",
                "b:\n  c: 2\n# between\n",
                "d: [1, 2]\ne: |\n  x\n"
            ]
        );
    }

    #[test]
    fn the_last_key_gets_a_piece_of_its_own() {
        let src = "a: 1\nb: 2\nsops:\n  version: 3.11.0\n";
        assert_eq!(
            texts(src, &pieces(src, 1 << 20, Some("sops")).unwrap()),
            ["a: 1\nb: 2\n", "sops:\n  version: 3.11.0\n"]
        );
        // `sopsy:` is another key; a key after `sops:` or none at all: no.
        assert!(pieces("a: 1\nsopsy: 2\n", 1, Some("sops")).is_none());
        assert!(pieces("a: 1\nsops:\n  x: 1\nb: 2\n", 1, Some("sops")).is_none());
    }

    #[test]
    fn declines_what_could_tie_pieces_together() {
        for src in [
            "a: &x 1\nb: *x\n",
            "a: 1\nb:\n  - *x\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n...\n",
            "%YAML 1.2\n---\na: 1\nb: 2\n",
            // Mixed line breaks, a lone CR.
            "a: 1\r\nb: 2\n",
            "a: 1\rb: 2\n",
            "- a\n- b\n",
            "a: 1\n- b\n",
            "? a\n: 1\nb: 2\n",
            "[a, b]\n",
            // One key: nothing to cut.
            "a:\n  b: 1\n  c: 2\n",
        ] {
            assert!(pieces(src, 1, None).is_none(), "{src:?}");
        }
        // `*` and `&` inside words are fine.
        assert!(pieces("a: b*c\nd: e&f\n", 1, None).is_some());
    }

    #[test]
    fn a_file_of_crlf_lines_is_cut_like_its_lf_twin() {
        let src = "# head\r\na: 1\r\nb:\r\n  c: 2\r\nd: x\r\n";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            ["# head\r\na: 1\r\n", "b:\r\n  c: 2\r\n", "d: x\r\n"]
        );
        // The last piece has no line break to tell it the file's.
        assert!(pieces("a: 1\r\nb: 2", 1, None).is_none());
    }

    #[test]
    fn a_leading_document_marker_and_byte_order_mark_stay_in_the_first_piece() {
        let src = "---\na: 1\nb: 2\n";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            ["---\na: 1\n", "b: 2\n"]
        );
        let src = "\u{feff}a: 1\nb: 2\n";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            ["\u{feff}a: 1\n", "b: 2\n"]
        );
    }
}
