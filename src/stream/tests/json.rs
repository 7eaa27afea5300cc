//! The JSON stream against the whole-file path: the Helm corpus's JSON
//! files and generated documents in every layout the metadata writer
//! learns from (indented by spaces or tabs, one line with and without
//! spaces, CRLF, no final newline, a byte order mark, whitespace before
//! commas), with strings full of brackets, quotes and escapes, big
//! integers and exotic number texts, every root member its own piece.

use super::*;

fn corpus_json() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/helm");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("the Helm corpus is in testdata/corpus/helm") {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(out.len() >= 5, "only {} JSON corpus files", out.len());
    out
}

/// A small deterministic generator (xorshift), so a failure names a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// How a generated document is laid out.
struct Layout {
    /// Indentation per level; `None` for one line.
    indent: Option<&'static str>,
    nl: &'static str,
    /// After `:` and after `,` on one line, and inside brackets.
    colon: &'static str,
    comma: &'static str,
    pad: &'static str,
    /// Before every comma.
    before_comma: &'static str,
}

/// Value texts that come back byte for byte from a decryption (shroud
/// writes decrypted strings with minimal escaping, so a value may not
/// spell `\u00e9` or `\/`): brackets, quotes, commas and escapes that
/// could fool a cutter that guesses.
const SCALARS: &[&str] = &[
    r#""plain""#,
    r#""{ \"not\": \"a member\" }, ""#,
    r#""}, \"x\": {""#,
    r#""back\\slash\\""#,
    r#""line\nbreak\ttab""#,
    r#""é ü 日本""#,
    r#""""#,
    r#""[,]""#,
    "0",
    "-1",
    "42",
    "123456789012345678901234567890",
    "-9223372036854775808",
    "1.0",
    "-0",
    "1E3",
    "2.5e-3",
    "true",
    "false",
    "null",
    "{}",
    "[]",
];

/// Keys are never decrypted, so they may spell anything.
const KEYS: &[&str] = &[
    "name",
    "a{b",
    "c}d",
    r#"q\"uote"#,
    r"\u00e9t\u00e9",
    r"sl\/ash",
    "x,y",
    "secret_unencrypted",
    "port",
    "[list]",
];

fn value(rng: &mut Rng, l: &Layout, level: usize, out: &mut String) {
    let kind = if level >= 4 { 0 } else { rng.below(5) };
    match kind {
        3 => container(rng, l, level, true, out),
        4 => container(rng, l, level, false, out),
        _ => out.push_str(rng.pick(SCALARS)),
    }
}

fn sep(l: &Layout, level: usize, out: &mut String) {
    match l.indent {
        Some(ind) => {
            out.push_str(l.nl);
            for _ in 0..level {
                out.push_str(ind);
            }
        }
        None => out.push_str(l.comma),
    }
}

fn container(rng: &mut Rng, l: &Layout, level: usize, object: bool, out: &mut String) {
    let n = 1 + rng.below(4);
    out.push(if object { '{' } else { '[' });
    for i in 0..n {
        if i > 0 {
            out.push_str(l.before_comma);
            out.push(',');
        }
        if l.indent.is_some() || i > 0 {
            sep(l, level + 1, out);
        } else {
            out.push_str(l.pad);
        }
        if object {
            out.push_str(&format!("\"{}{i}\"{}", rng.pick(KEYS), l.colon));
        }
        value(rng, l, level + 1, out);
    }
    if l.indent.is_some() {
        sep(l, level, out);
    } else {
        out.push_str(l.pad);
    }
    out.push(if object { '}' } else { ']' });
}

/// Document `seed`: a root object of unique keys in one of the layouts.
fn generated(seed: u64) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let layouts = [
        Layout {
            indent: Some("  "),
            nl: "\n",
            colon: ": ",
            comma: "",
            pad: "",
            before_comma: "",
        },
        Layout {
            indent: Some("\t"),
            nl: "\r\n",
            colon: ": ",
            comma: "",
            pad: "",
            before_comma: "",
        },
        Layout {
            indent: Some("    "),
            nl: "\n",
            colon: " : ",
            comma: "",
            pad: "",
            before_comma: " ",
        },
        Layout {
            indent: None,
            nl: "",
            colon: ":",
            comma: "",
            pad: "",
            before_comma: "",
        },
        Layout {
            indent: None,
            nl: "",
            colon: ": ",
            comma: " ",
            pad: " ",
            before_comma: "",
        },
    ];
    let l = &layouts[(seed % layouts.len() as u64) as usize];
    let mut out = String::new();
    if seed % 7 == 3 {
        out.push('\u{feff}');
    }
    if seed % 4 == 1 {
        out.push_str(" \n");
    }
    out.push('{');
    let n = 2 + rng.below(12);
    for i in 0..n {
        if i > 0 {
            out.push_str(l.before_comma);
            out.push(',');
        }
        if l.indent.is_some() || i > 0 {
            sep(l, 1, &mut out);
        } else {
            out.push_str(l.pad);
        }
        out.push_str(&format!("\"{}{i}\"{}", rng.pick(KEYS), l.colon));
        value(&mut rng, l, 1, &mut out);
    }
    if l.indent.is_some() {
        sep(l, 0, &mut out);
    } else {
        out.push_str(l.pad);
    }
    out.push('}');
    match seed % 3 {
        0 => out.push_str(l.nl),
        1 => out.push_str("\n\n"),
        _ => {}
    }
    out
}

/// Every document: the corpus's JSON files and 300 generated ones.
fn documents() -> Vec<(String, String)> {
    let mut out = corpus_json();
    for seed in 0..300 {
        out.push((format!("seed {seed}"), generated(seed)));
    }
    out
}

/// The leaves of the pieces of `src`, spans relative to the whole file.
fn piece_leaves(src: &str, pieces: &[Range<usize>]) -> Vec<String> {
    let parser = Pieces::new(Format::Json, src, pieces.len());
    let mut out = Vec::new();
    for (i, r) in pieces.iter().enumerate() {
        let doc = parser
            .parse(i, &src[r.clone()])
            .unwrap_or_else(|_| panic!("piece {i} {:?} does not parse", &src[r.clone()]));
        out.extend(doc.leaves().iter().map(|l| described(l, r.start)));
    }
    out
}

/// Every `ENC[...]` text and the `lastmodified` value masked, on one line
/// or many.
fn json_layout(enc: &str) -> String {
    let enc = regex::Regex::new(r"ENC\[[^\]]*\]")
        .unwrap()
        .replace_all(enc, "ENC");
    regex::Regex::new(r#""lastmodified"(\s*):(\s*)"[^"]*""#)
        .unwrap()
        .replace_all(&enc, r#""lastmodified"$1:$2"T""#)
        .into_owned()
}

#[test]
fn generated_documents_are_valid_json_with_many_root_members() {
    // The generator itself checked by another parser.
    for seed in 0..300 {
        let doc = generated(seed);
        let v: serde_json::Value = serde_json::from_str(doc.trim_start_matches('\u{feff}'))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{doc}"));
        assert!(v.as_object().unwrap().len() >= 2, "seed {seed}");
    }
}

#[test]
fn pieces_of_json_documents_parse_to_the_leaves_of_the_whole_file() {
    for (name, src) in documents() {
        let pieces =
            json_segment::pieces(&src, 1, None).unwrap_or_else(|| panic!("{name} is not cut"));
        // Every root member is its own piece.
        let members =
            match serde_json::from_str::<serde_json::Value>(src.trim_start_matches('\u{feff}')) {
                Ok(serde_json::Value::Object(m)) => m.len(),
                other => panic!("{name}: {other:?}"),
            };
        assert_eq!(pieces.len(), members, "{name}");
        // The pieces are the whole file.
        assert_eq!(pieces[0].start, 0);
        assert_eq!(pieces.last().unwrap().end, src.len());
        assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
        let whole = Format::Json.parse(&src).unwrap();
        let whole: Vec<String> = whole.leaves().iter().map(|l| described(l, 0)).collect();
        assert_eq!(whole, piece_leaves(&src, &pieces), "{name}");
    }
}

#[test]
fn stream_encryption_of_json_documents_is_the_whole_file_encryption() {
    let key = DataKey::generate();
    for (name, src) in documents() {
        let pieces = json_segment::pieces(&src, 1, None).unwrap();
        // No silent fallback: every document streams.
        let enc = encrypt_stream_as(Format::Json, &src, &pieces, &key)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Byte for byte back, with both authenticators checked.
        assert_eq!(decrypt_whole_as(Format::Json, &enc, &key), src, "{name}");
        // The same layout as the whole-file path writes.
        assert_eq!(
            json_layout(&enc),
            json_layout(&encrypt_whole_as(Format::Json, &src, &key)),
            "{name}"
        );
    }
}

#[test]
fn stream_decryption_of_json_documents_gives_the_original_bytes() {
    let key = DataKey::generate();
    for (name, src) in documents() {
        let enc = encrypt_whole_as(Format::Json, &src, &key);
        let plain = decrypt_stream_as(Format::Json, &enc, &key, DecryptOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plain, src, "{name}");
        // Whitespace before the comma ahead of `"sops"` (another tool's
        // layout): removed with the metadata, as the whole-file path does.
        let sops = enc.rfind("\"sops\"").unwrap();
        let comma = enc[..sops].rfind(',').unwrap();
        let mut spaced = enc.clone();
        spaced.insert_str(comma, " \n ");
        assert_eq!(decrypt_whole_as(Format::Json, &spaced, &key), src, "{name}");
        let plain = decrypt_stream_as(Format::Json, &spaced, &key, DecryptOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plain, src, "{name}");
    }
}

#[test]
fn json_stream_declines_a_duplicate_root_key_in_another_piece() {
    let key = DataKey::generate();
    let src = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}\n";
    let pieces = json_segment::pieces(src, 1, None).unwrap();
    assert!(matches!(
        encrypt_stream_as(Format::Json, src, &pieces, &key),
        Err(Error::Declined(_))
    ));
}

#[test]
fn json_stream_declines_sops_metadata_anywhere_but_last() {
    let key = DataKey::generate();
    // Encrypting a file that already has a `sops` member.
    let src = "{\"a\": 1, \"sops\": {}, \"b\": 2}";
    let pieces = json_segment::pieces(src, 1, None).unwrap();
    assert!(matches!(
        encrypt_stream_as(Format::Json, src, &pieces, &key),
        Err(Error::Declined(_))
    ));
    // Decrypting one with a second `sops` member spelled with an escape
    // in an earlier piece.
    let enc = encrypt_whole_as(Format::Json, "{\"a\": 1, \"b\": 2}", &key);
    let enc = enc.replacen("\"b\"", "\"sop\\u0073\": {}, \"b\"", 1);
    assert!(matches!(
        decrypt_stream_as(Format::Json, &enc, &key, DecryptOptions::default()),
        Err(Error::Declined(_))
    ));
}

#[test]
fn json_tampering_across_pieces_is_declined() {
    let key = DataKey::generate();
    let src: String = {
        let members: Vec<String> = (0..50)
            .map(|i| format!("  \"g{i}\": {{\"password\": \"secret-{i}\", \"port\": {i}}}"))
            .collect();
        format!("{{\n{}\n}}\n", members.join(",\n"))
    };
    let enc = encrypt_whole_as(Format::Json, &src, &key);
    let run = |text: &str| decrypt_stream_as(Format::Json, text, &key, DecryptOptions::default());
    assert_eq!(run(&enc).unwrap(), src);
    // The `port` value of a member: the ENC string after `"g<i>"`.
    let port = |g: &str| {
        let at = enc.find(&format!("\"{g}\"")).unwrap();
        let p = at + enc[at..].find("\"port\": ").unwrap() + "\"port\": ".len();
        p..p + enc[p..].find('}').unwrap()
    };
    let (a, b) = (port("g1"), port("g40"));
    let mut swapped = enc.clone();
    swapped.replace_range(b.clone(), &enc[a.clone()]);
    swapped.replace_range(a, &enc[b]);
    assert!(matches!(run(&swapped), Err(Error::Declined(_))));
}
