//! Cutting a big JSON file into pieces for [`crate::stream`]: a root
//! object is cut right after the value of one of its members, so every
//! piece after the first starts with the whitespace and comma before its
//! first member, and only the last holds the closing `}`. Each piece then
//! parses on its own ([`super::JsonDocument::parse_piece`]) into the same
//! leaves as the same bytes of the whole file, and renders to the same
//! bytes: the metadata a piece inserts or removes sits next to the comma,
//! which that piece holds.
//!
//! The cuts come from a real scan of the text: strings (with their
//! escapes) and nesting are followed, and a comma outside every string
//! at the root object's level separates two members. The scan does not
//! validate anything else: a piece that does not parse declines the
//! stream, and the whole-file path reports the error. It declines (`None`)
//! when the root is not an object, when text follows the root object, or
//! when there is nothing to cut.

use std::ops::Range;

/// The pieces of `src`, each at least `target` bytes where the file allows
/// (the last one holds what is left), or `None` when the file cannot be
/// cut. With `last_key`, the final piece holds exactly the root member
/// whose key is spelled `"last_key"` (no escapes), which must be the last
/// member and not the first: the `sops` metadata of an encrypted file,
/// which is read before anything else.
pub fn pieces(src: &str, target: usize, last_key: Option<&str>) -> Option<Vec<Range<usize>>> {
    let b = src.as_bytes();
    let mut i = if src.starts_with('\u{feff}') { 3 } else { 0 };
    i = skip_ws(b, i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    // Cut points: the end of a root member's value that a comma follows
    // (only whitespace lies between them).
    let mut cuts: Vec<usize> = Vec::new();
    // Containers open inside the root object.
    let mut depth = 0usize;
    // Past the last byte that is not whitespace.
    let mut end = i;
    let mut closed = None;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i)?;
                end = i;
                continue;
            }
            c if is_ws(c) => {
                i += 1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b'}' => {
                closed = Some(i);
                break;
            }
            b',' if depth == 0 => cuts.push(end),
            _ => {}
        }
        i += 1;
        end = i;
    }
    let closed = closed?;
    if skip_ws(b, closed + 1) != b.len() {
        return None;
    }
    let last_at = match last_key {
        Some(k) => {
            // The last member starts after the last comma at the root.
            let &cut = cuts.last()?;
            let key = skip_ws(b, skip_ws(b, cut) + 1);
            let spelled = src.get(key..)?;
            let quoted = spelled.strip_prefix('"')?.strip_prefix(k)?;
            if !quoted.starts_with('"') {
                return None;
            }
            Some(cut)
        }
        None => None,
    };
    let mut out = Vec::new();
    let mut start = 0;
    for &c in &cuts {
        if Some(c) == last_at || c - start >= target {
            out.push(start..c);
            start = c;
        }
    }
    out.push(start..src.len());
    (out.len() > 1).then_some(out)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

/// The end (past the closing quote) of the string that opens at `open`,
/// or `None` when it does not end.
fn string_end(b: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', &b[i..])?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        // An escape: the byte after the backslash is never the end.
        i += 2;
        if i > b.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(src: &'a str, r: &[Range<usize>]) -> Vec<&'a str> {
        r.iter().map(|r| &src[r.clone()]).collect()
    }

    #[test]
    fn cuts_after_root_member_values_once_a_piece_is_big_enough() {
        let src = "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]} ,\n  \"d\": \"x\"\n}";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            [
                "{\n  \"a\": 1",
                ",\n  \"b\": {\"c\": [1, 2]}",
                " ,\n  \"d\": \"x\"\n}"
            ]
        );
        // Pieces of at least 12 bytes.
        assert_eq!(
            texts(src, &pieces(src, 12, None).unwrap()),
            [
                "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}",
                " ,\n  \"d\": \"x\"\n}"
            ]
        );
    }

    #[test]
    fn strings_and_nesting_hide_their_commas_and_brackets() {
        let src = r#"{"a":"}, \"x\": {\\","b":[{"c":",}"},"\"]"],"d":1}"#;
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            [
                r#"{"a":"}, \"x\": {\\""#,
                r#","b":[{"c":",}"},"\"]"]"#,
                r#","d":1}"#
            ]
        );
    }

    #[test]
    fn the_last_key_gets_a_piece_of_its_own() {
        let src = "{\"a\": 1, \"b\": 2, \"sops\": {\"version\": \"3.11.0\"}}\n";
        assert_eq!(
            texts(src, &pieces(src, 1 << 20, Some("sops")).unwrap()),
            [
                "{\"a\": 1, \"b\": 2",
                ", \"sops\": {\"version\": \"3.11.0\"}}\n"
            ]
        );
        for src in [
            // Another key, spelled with an escape, or not last, or first.
            "{\"a\": 1, \"sopsy\": 2}",
            "{\"a\": 1, \"sop\\u0073\": {}}",
            "{\"a\": 1, \"sops\": {}, \"b\": 2}",
            "{\"sops\": {}}",
        ] {
            assert!(pieces(src, 1, Some("sops")).is_none(), "{src:?}");
        }
    }

    #[test]
    fn declines_what_is_not_a_root_object_with_two_members() {
        for src in [
            "[1, 2]",
            "\"a\"",
            "{\"a\": 1}",
            "{}",
            "{\"a\": 1, \"b\": 2} {}",
            "{\"a\": 1, \"b\": 2",
            "{\"a\": \"unterminated, \"b\": 2}",
            "",
        ] {
            assert!(pieces(src, 1, None).is_none(), "{src:?}");
        }
        // A byte order mark and whitespace before the object are fine, and
        // stay in the first piece.
        let src = "\u{feff} {\"a\": 1, \"b\": 2}";
        assert_eq!(
            texts(src, &pieces(src, 1, None).unwrap()),
            ["\u{feff} {\"a\": 1", ", \"b\": 2}"]
        );
    }
}
