use super::*;
use crate::document::ValueType;
use crate::error::Location;
use crate::formats::splice::splice;
use crate::formats::test_support::fake_enc;
use crate::value::plaintext_for;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/helm");

fn corpus_json() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn keep_all(doc: &JsonDocument) -> Vec<Replacement> {
    vec![Replacement::Keep; doc.leaves().len()]
}

fn scalar(leaf: &Leaf) -> (&Value, Option<&str>) {
    match &leaf.kind {
        LeafKind::Scalar { value, source } => (value, source.as_ref().map(|s| s.as_str())),
        LeafKind::Comment(_) => panic!("JSON leaves are never comments"),
        LeafKind::Structure(_) => panic!("not a scalar"),
    }
}

/// Scalars, as opposed to nulls and empty containers.
fn is_data(leaf: &Leaf) -> bool {
    matches!(leaf.kind, LeafKind::Scalar { .. })
}

fn sample_meta() -> MetaNode {
    let s = |x: &str| MetaNode::Str(x.into());
    MetaNode::Map(vec![
        (
            "age".into(),
            MetaNode::List(vec![MetaNode::Map(vec![
                (
                    "recipient".into(),
                    s("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"),
                ),
                (
                    "enc".into(),
                    s(
                        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\"<&>\\\n-----END AGE ENCRYPTED FILE-----\n",
                    ),
                ),
            ])]),
        ),
        ("key_groups".into(), MetaNode::List(vec![])),
        ("hc_vault".into(), MetaNode::Null),
        ("empty".into(), MetaNode::Map(vec![])),
        ("shamir_threshold".into(), MetaNode::Int(2)),
        ("lastmodified".into(), s("2026-11-22T17:00:13Z")),
        (
            "mac".into(),
            s("ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]"),
        ),
        ("mac_only_encrypted".into(), MetaNode::Bool(true)),
        ("unencrypted_suffix".into(), s("_unencrypted")),
        ("version".into(), s("3.11.0")),
    ])
}

fn keep_round_trip(src: &str) {
    let doc = JsonDocument::parse(src).unwrap();
    let out = doc.render(&keep_all(&doc), None).unwrap();
    assert_eq!(out.text, src);
}

/// Encrypt with fake ciphertexts and metadata, re-parse, decrypt with the
/// original values and no metadata; returns the decrypted text.
fn crypt_round_trip(src: &str) -> String {
    let doc = JsonDocument::parse(src).unwrap();
    let meta = sample_meta();
    let enc_edits: Vec<_> = doc
        .leaves()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if is_data(l) {
                Replacement::Encrypted(fake_enc(i, scalar(l).0.value_type()))
            } else {
                Replacement::Keep
            }
        })
        .collect();
    let enc = doc.render(&enc_edits, Some(&meta)).unwrap().text;
    let doc2 = JsonDocument::parse(&enc).unwrap_or_else(|e| panic!("{e}\n{enc}"));
    assert_eq!(doc2.metadata(), Some(&meta), "{enc}");
    assert_eq!(doc2.leaves().len(), doc.leaves().len());
    for (i, (a, b)) in doc.leaves().iter().zip(doc2.leaves()).enumerate() {
        assert_eq!(a.path(), b.path());
        assert_eq!(a.depth, b.depth);
        if !is_data(a) {
            assert_eq!(format!("{:?}", a.kind), format!("{:?}", b.kind));
            continue;
        }
        match scalar(b).0 {
            Value::Str(s) => assert_eq!(s.as_str(), fake_enc(i, scalar(a).0.value_type())),
            _ => panic!("an encrypted value must be a JSON string"),
        }
    }
    // Re-encrypting an encrypted file replaces its metadata in place.
    let again = doc2.render(&keep_all(&doc2), Some(&meta)).unwrap().text;
    assert_eq!(again, enc);
    let dec_edits: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| {
            if !is_data(l) {
                return Replacement::Keep;
            }
            let (value, source) = scalar(l);
            Replacement::Decrypted(Decrypted::Scalar {
                value: value.clone(),
                text: plaintext_for(value, source),
            })
        })
        .collect();
    doc2.render(&dec_edits, None).unwrap().text
}

/// `src` with every string value written with minimal escaping: what a
/// decrypted file looks like. Checked against serde_json's decoder.
fn normalised(src: &str) -> (String, usize) {
    let doc = JsonDocument::parse(src).unwrap();
    let mut edits = Vec::new();
    for l in doc.leaves().iter().filter(|l| is_data(l)) {
        if let (Value::Str(s), _) = scalar(l) {
            let span = l.span.clone().unwrap();
            let raw = &src[span.clone()];
            assert_eq!(serde_json::from_str::<String>(raw).unwrap(), s.as_str());
            let min = json_string(s);
            if min != raw {
                edits.push(Edit::new(span, min));
            }
        }
    }
    let n = edits.len();
    (splice(src, edits).unwrap(), n)
}

const CASES: &[&str] = &[
    "{}",
    "{ }",
    "{}\n",
    "{\n}\n",
    "{\"a\":1}",
    "{\"a\": 1}",
    "{ \"a\": 1, \"b\": [true, false, null] }",
    "{\"a\":1,\"b\":\"x\"}\n",
    "{\n\t\"a\": \"x\",\n\t\"b\": {\n\t\t\"c\": 1.5\n\t}\n}\n",
    "{\n  \"a\": \"x\",\n  \"b\": [\n    {\"c\": 1},\n    {\"c\": [2, [3, {\"d\": \"e\"}]]}\n  ]\n}",
    "{\r\n    \"a\": \"x\",\r\n    \"b\": 2\r\n}\r\n",
    "{\r\n}\r\n",
    "{\n\"a\": 1,\n\"b\": 2\n}\n",
    "\u{FEFF}{\"bom\": true}\n",
    "{\"big\": 12345678901234567890, \"neg\": -12345678901234567890, \"one\": 1.0, \"z\": -0, \"e\": 1E3, \"small\": 1e-7, \"max\": 9223372036854775807, \"min\": -9223372036854775808, \"over\": 9223372036854775808, \"f\": 1.7976931348623157e308, \"tiny\": 5e-324, \"sub\": 1e-400}",
    "{\"dup\": 1, \"dup\": \"two\", \"x\": {\"dup\": [1, 1]}}",
    "{\"u\": \"é ü 中文 😀 \\\\ \\\" \\n \\t \\r \\b \\f \\u0001 \\u001f\", \"empty\": \"\"}",
    "{\"nested\": {\"sops\": \"not metadata\"}, \"list\": [{\"sops\": 1}]}",
    "{\"e\": {}, \"l\": [], \"n\": null, \"ll\": [[], {}, [[]]]}",
    "  {\"lead\": \"ws\"}  \n\n",
];

#[test]
fn keep_returns_the_input_unchanged() {
    for case in CASES {
        keep_round_trip(case);
    }
    let corpus = corpus_json();
    assert_eq!(corpus.len(), 9, "the Helm corpus has 9 JSON files");
    for (_, src) in &corpus {
        keep_round_trip(src);
    }
}

#[test]
fn encrypt_then_decrypt_gives_back_the_bytes() {
    for case in CASES {
        assert_eq!(crypt_round_trip(case), normalised(case).0, "case {case:?}");
    }
    // These cases need no normalisation at all.
    for case in &CASES[..16] {
        assert_eq!(crypt_round_trip(case), *case);
    }
    let mut touched = 0;
    let mut strings = 0;
    for (name, src) in corpus_json() {
        let (expected, n) = normalised(&src);
        touched += n;
        let doc = JsonDocument::parse(&src).unwrap();
        strings += doc
            .leaves()
            .iter()
            .filter(|l| is_data(l) && matches!(scalar(l).0, Value::Str(_)))
            .count();
        assert_eq!(crypt_round_trip(&src), expected, "{name}");
    }
    eprintln!("corpus: {touched} of {strings} string values come back with different escaping");
    assert!(
        touched <= 2,
        "only a few corpus strings should use needless escapes, got {touched}"
    );
}

#[test]
fn renovate_escapes_survive() {
    let src = std::fs::read_to_string(format!("{CORPUS}/renovate.json")).unwrap();
    assert!(src.contains("\\\\") && src.contains("\\\""));
    assert_eq!(crypt_round_trip(&src), src);
}

#[test]
fn the_one_normalisation_is_string_escaping() {
    let src = "{\"a\": \"caf\\u00e9 \\/ \\u00E9\", \"b\": \"\\ud83d\\ude00\"}";
    assert_eq!(
        crypt_round_trip(src),
        "{\"a\": \"café / é\", \"b\": \"😀\"}"
    );
}

#[test]
fn leaves_have_types_paths_depths_and_sources() {
    let src = "{\"a\": {\"b\": [1, 2.5, {\"c\": true}], \"d\": \"x\"}, \"n\": null, \"big\": 12345678901234567890, \"sops\": {\"version\": \"3.11.0\", \"shamir_threshold\": 2, \"list\": [null, false]}}";
    let doc = JsonDocument::parse(src).unwrap();
    let data: Vec<&Leaf> = doc.leaves().iter().filter(|l| is_data(l)).collect();
    let got: Vec<_> = data
        .iter()
        .map(|l| {
            let (v, s) = scalar(l);
            (
                l.path().join("."),
                l.depth,
                v.value_type(),
                s.map(str::to_string),
                &src[l.span.clone().unwrap()],
            )
        })
        .collect();
    let p = |s: &str| Some(s.to_string());
    assert_eq!(
        got,
        vec![
            ("a.b".into(), 3, ValueType::Int, p("1"), "1"),
            ("a.b".into(), 3, ValueType::Float, p("2.5"), "2.5"),
            ("a.b.c".into(), 4, ValueType::Bool, p("true"), "true"),
            ("a.d".into(), 2, ValueType::Str, None, "\"x\""),
            (
                "big".into(),
                1,
                ValueType::Float,
                p("12345678901234567890"),
                "12345678901234567890"
            ),
        ]
    );
    assert!(matches!(scalar(data[0]).0, Value::Int(1)));
    assert!(matches!(scalar(data[4]).0, Value::Float(f) if *f == 12345678901234567890.0));
    // The null is reported as structure, with its path.
    let null = doc.leaves().iter().find(|l| !is_data(l)).unwrap();
    assert_eq!(null.path(), ["n"]);
    assert!(matches!(
        null.kind,
        LeafKind::Structure(crate::document::Shape::Null)
    ));
    assert_eq!(
        doc.metadata(),
        Some(&MetaNode::Map(vec![
            ("version".into(), MetaNode::Str("3.11.0".into())),
            ("shamir_threshold".into(), MetaNode::Int(2)),
            (
                "list".into(),
                MetaNode::List(vec![MetaNode::Null, MetaNode::Bool(false)])
            ),
        ]))
    );
}

#[test]
fn metadata_insertion_blends_in_and_is_removable() {
    let meta = MetaNode::Map(vec![
        (
            "age".into(),
            MetaNode::List(vec![MetaNode::Map(vec![(
                "enc".into(),
                MetaNode::Str("x\ny".into()),
            )])]),
        ),
        ("version".into(), MetaNode::Str("3.11.0".into())),
    ]);
    let cases = [
        (
            "{}",
            "{\n\t\"sops\": {\n\t\t\"age\": [\n\t\t\t{\n\t\t\t\t\"enc\": \"x\\ny\"\n\t\t\t}\n\t\t],\n\t\t\"version\": \"3.11.0\"\n\t}\n}",
        ),
        (
            "{\"a\":1}",
            "{\"a\":1,\"sops\":{\"age\":[{\"enc\":\"x\\ny\"}],\"version\":\"3.11.0\"}}",
        ),
        (
            "{\"a\": 1}",
            "{\"a\": 1, \"sops\": {\"age\": [{\"enc\": \"x\\ny\"}], \"version\": \"3.11.0\"}}",
        ),
        (
            "{ \"a\": 1, \"b\": 2 }",
            "{ \"a\": 1, \"b\": 2, \"sops\": { \"age\": [ { \"enc\": \"x\\ny\" } ], \"version\": \"3.11.0\" } }",
        ),
        (
            "{\r\n  \"a\": 1\r\n}\r\n",
            "{\r\n  \"a\": 1,\r\n  \"sops\": {\r\n    \"age\": [\r\n      {\r\n        \"enc\": \"x\\ny\"\r\n      }\r\n    ],\r\n    \"version\": \"3.11.0\"\r\n  }\r\n}\r\n",
        ),
        (
            "{\n\"a\": 1\n}",
            "{\n\"a\": 1,\n\"sops\": {\n\"age\": [\n{\n\"enc\": \"x\\ny\"\n}\n],\n\"version\": \"3.11.0\"\n}\n}",
        ),
    ];
    for (src, want) in cases {
        let doc = JsonDocument::parse(src).unwrap();
        let out = doc.render(&keep_all(&doc), Some(&meta)).unwrap().text;
        assert_eq!(out, want);
        let back = JsonDocument::parse(&out).unwrap();
        assert_eq!(back.metadata(), Some(&meta));
        assert_eq!(back.render(&keep_all(&back), None).unwrap().text, src);
    }
}

#[test]
fn sops_written_files_lose_their_metadata_cleanly() {
    let cases = [
        // As sops writes them.
        (
            "{\n\t\"a\": \"ENC[x]\",\n\t\"sops\": {\n\t\t\"version\": \"3.11.0\"\n\t}\n}\n",
            "{\n\t\"a\": \"ENC[x]\"\n}\n",
        ),
        (
            "{\n\t\"sops\": {\n\t\t\"version\": \"3.11.0\"\n\t}\n}\n",
            "{}\n",
        ),
        // Hand-placed first or in the middle.
        ("{\"sops\": {}, \"a\": 1}", "{\"a\": 1}"),
        ("{\"a\": 1, \"sops\": {}, \"b\": 2}", "{\"a\": 1, \"b\": 2}"),
        ("{\"sops\": {}}", "{}"),
    ];
    for (src, want) in cases {
        let doc = JsonDocument::parse(src).unwrap();
        assert_eq!(doc.render(&keep_all(&doc), None).unwrap().text, want);
    }
    // Replacements on both sides of a metadata block in the middle, with a
    // new block written: the old one goes, the new one is last.
    let doc =
        JsonDocument::parse("{\"a\": 1, \"b\": [true, \"x\"], \"sops\": {}, \"c\": 2, \"d\": 3}")
            .unwrap();
    let mut edits = keep_all(&doc);
    for i in [0, 3, 4] {
        edits[i] = Replacement::Encrypted(format!("E{i}"));
    }
    let meta = MetaNode::Map(vec![("version".into(), MetaNode::Str("3.11.0".into()))]);
    assert_eq!(
        doc.render(&edits, Some(&meta)).unwrap().text,
        "{\"a\": \"E0\", \"b\": [true, \"x\"], \"c\": \"E3\", \"d\": \"E4\", \"sops\": {\"version\": \"3.11.0\"}}"
    );
}

#[test]
fn decrypted_scalars_use_the_original_text_only_when_valid() {
    let doc = JsonDocument::parse("{\"v\": \"ENC[x]\"}").unwrap();
    let render = |value: Value, text: &str| {
        let edit = Replacement::Decrypted(Decrypted::Scalar {
            value,
            text: zeroize::Zeroizing::new(text.to_string()),
        });
        doc.render(&[edit], None).map(|r| r.text)
    };
    let ok = |value: Value, text: &str| render(value, text).unwrap();
    assert_eq!(ok(Value::Int(12), "+12"), "{\"v\": 12}");
    assert_eq!(ok(Value::Int(12), "12"), "{\"v\": 12}");
    assert_eq!(ok(Value::Int(0), "-0"), "{\"v\": -0}");
    assert_eq!(ok(Value::Float(1.0), "1.0"), "{\"v\": 1.0}");
    assert_eq!(ok(Value::Float(1.0), "1"), "{\"v\": 1}");
    assert_eq!(ok(Value::Float(1.5), "1.50"), "{\"v\": 1.50}");
    assert_eq!(ok(Value::Float(1.5), "+1.5"), "{\"v\": 1.5}");
    assert_eq!(ok(Value::Float(0.5), ".5"), "{\"v\": 0.5}");
    assert_eq!(ok(Value::Float(1e300), "1e300"), "{\"v\": 1e300}");
    assert_eq!(ok(Value::Float(2.0), "1.0"), "{\"v\": 2}");
    assert_eq!(
        ok(Value::Float(6.02e23), "602000000000000000000000"),
        "{\"v\": 602000000000000000000000}"
    );
    assert_eq!(ok(Value::Bool(true), "True"), "{\"v\": true}");
    assert_eq!(ok(Value::Bool(false), "0"), "{\"v\": false}");
    assert_eq!(
        ok(Value::str("a\"b\\c\u{1}/é"), ""),
        "{\"v\": \"a\\\"b\\\\c\\u0001/é\"}"
    );
    assert_eq!(
        ok(
            Value::Time(zeroize::Zeroizing::new("2024-01-02T00:00:00Z".to_string())),
            "2024-01-02T00:00:00+00:00"
        ),
        "{\"v\": \"2024-01-02T00:00:00Z\"}"
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = render(Value::Float(bad), "+Inf").unwrap_err();
        assert!(
            matches!(e, FormatError::CannotRepresent { ref path, .. } if path == "[\"v\"]"),
            "{e}"
        );
    }
    let e = doc
        .render(
            &[Replacement::Decrypted(Decrypted::Comment(
                zeroize::Zeroizing::new("c".into()),
            ))],
            None,
        )
        .unwrap_err();
    assert!(matches!(e, FormatError::CannotRepresent { .. }));
    assert!(matches!(
        doc.render(&[], None),
        Err(FormatError::SpanCheck(_))
    ));
}

fn syntax_at(src: &str) -> (usize, usize, String) {
    match JsonDocument::parse(src) {
        Err(FormatError::Syntax { location, message }) => (location.line, location.column, message),
        Err(e) => panic!("{src:?}: expected a syntax error, got {e:?}"),
        Ok(_) => panic!("{src:?}: expected a syntax error, parsed fine"),
    }
}

#[test]
fn malformed_input_gives_located_syntax_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("{\n  \"a\": \"x\n}", 2, 10, "control character"),
        ("{\n  \"a\": \"secret", 2, 8, "unterminated string"),
        ("{\"a\": \"\\x\"}", 1, 8, "invalid escape"),
        ("{\"a\": \"\\u12G4\"}", 1, 8, "invalid \\u escape"),
        ("{\"a\": 1,}", 1, 8, "trailing comma"),
        ("{\"a\": [1,]}", 1, 9, "trailing comma"),
        ("{\"a\": {\"b\": 1,}}", 1, 14, "trailing comma"),
        ("{\"a\": 1} x", 1, 10, "trailing data"),
        ("{\"a\": 1}{}", 1, 9, "trailing data"),
        ("{\"a\": 01}", 1, 8, "leading zeros"),
        ("{\"a\": 1.}", 1, 9, "after '.'"),
        ("{\"a\": 1e}", 1, 9, "exponent"),
        ("{\"a\": -}", 1, 8, "expected a digit"),
        ("{\"a\": +1}", 1, 7, "expected a value"),
        ("{\"a\": 1e999}", 1, 7, "out of range"),
        ("{\"a\": tru}", 1, 7, "invalid literal"),
        ("{\"a\": True}", 1, 7, "expected a value"),
        ("{a: 1}", 1, 2, "expected a string key"),
        ("{'a': 1}", 1, 2, "expected a string key"),
        ("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}'"),
        ("{\"a\": [1 2]}", 1, 10, "expected ',' or ']'"),
        ("{\"a\": [1, 2}", 1, 12, "expected ',' or ']'"),
        ("{\"a\": {\"b\": 1]}", 1, 14, "expected ',' or '}'"),
        ("{\"a\": 1", 1, 8, "unexpected end of input"),
        ("{\"a\": ", 1, 7, "unexpected end of input"),
        ("{\"a\": [", 1, 8, "unexpected end of input"),
        (
            "{\n\t\"é\": \"ü\",\n\t\"b\": x\n}",
            3,
            7,
            "expected a value",
        ),
        ("{\"sops\": {\"a\": 1,}}", 1, 17, "trailing comma"),
        (
            "{\"a\": 1, \"b\": 2 // comment\n}",
            1,
            17,
            "expected ',' or '}'",
        ),
    ];
    for &(src, line, column, msg) in cases {
        let (l, c, m) = syntax_at(src);
        assert_eq!((l, c), (line, column), "{src:?}: {m}");
        assert!(m.contains(msg), "{src:?}: {m:?} should mention {msg:?}");
        assert!(!m.contains("secret"));
    }
}

#[test]
fn non_objects_empty_input_and_odd_metadata() {
    for src in ["[]", "1", "\"s\"", "null", "  [1, 2]\n"] {
        match JsonDocument::parse(src) {
            Err(FormatError::Unsupported { code: 2, .. }) => {}
            other => panic!("{src:?}: {:?}", other.err()),
        }
    }
    for src in ["", " \n\t\r\n", "\u{FEFF}", "\u{FEFF}  \n"] {
        assert!(
            matches!(JsonDocument::parse(src), Err(FormatError::Empty)),
            "{src:?}"
        );
    }
    assert!(matches!(
        JsonDocument::parse("{\"sops\": {}, \"sops\": {}}"),
        Err(FormatError::Unsupported { code: 1, .. })
    ));
    assert!(matches!(
        JsonDocument::parse("{\"sops\": {\"shamir_threshold\": 2.5}}"),
        Err(FormatError::Unsupported {
            location: Location {
                line: 1,
                column: 31
            },
            ..
        })
    ));
    let deep = format!("{{\"sops\": {}{}}}", "[".repeat(100), "]".repeat(100));
    assert!(JsonDocument::parse(&deep).is_err());
    // Data may nest deeply: the walker has no recursion.
    let deep = format!("{{\"a\": {}1{}}}", "[".repeat(200_000), "]".repeat(200_000));
    let doc = JsonDocument::parse(&deep).unwrap();
    assert_eq!(doc.leaves()[0].depth, 200_001);
}

#[test]
fn truncations_and_mutations_never_panic() {
    let corpus = corpus_json();
    let (_, src) = corpus.iter().min_by_key(|(_, s)| s.len()).unwrap();
    let last_brace = src.rfind('}').unwrap();
    for cut in 0..src.len() {
        if !src.is_char_boundary(cut) {
            continue;
        }
        let r = JsonDocument::parse(&src[..cut]);
        if cut <= last_brace {
            assert!(r.is_err(), "prefix of {cut} bytes parsed");
        }
    }
    // Differential check against serde_json on mutated documents.
    let base = "{\"a\": [1, -2.5e3, true, null, {\"b\": \"x\\u00e9\\n\"}], \"c\": {\"d\": false}, \"e\": \"\"}";
    let alphabet = b"{}[],:\"\\ -0123456789.eEtrufalsn\nxu";
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut agreed = 0;
    for _ in 0..20_000 {
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            let c = alphabet[(next() % alphabet.len() as u64) as usize];
            match next() % 3 {
                0 => bytes[at] = c,
                1 => bytes.insert(at, c),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        let ours = JsonDocument::parse(&text);
        let theirs = serde_json::from_str::<serde_json::Value>(&text);
        let theirs_ok = matches!(theirs, Ok(serde_json::Value::Object(_)));
        assert_eq!(ours.is_ok(), theirs_ok, "{text:?}: {:?}", ours.err());
        if let Ok(doc) = ours {
            assert_eq!(doc.render(&keep_all(&doc), None).unwrap().text, text);
            agreed += 1;
        }
    }
    assert!(agreed > 100);
}

#[test]
fn leaves_know_their_full_location() {
    use crate::treepath::PathSeg::{Index, Key};
    let doc = JsonDocument::parse(r#"{"a": [1, {"b": [true, "x"]}], "c": {"d": 2}}"#).unwrap();
    let locs: Vec<_> = doc.leaves().iter().map(|l| l.loc.clone()).collect();
    assert_eq!(
        locs,
        vec![
            vec![Key("a".into()), Index(0)],
            vec![Key("a".into()), Index(1), Key("b".into()), Index(0)],
            vec![Key("a".into()), Index(1), Key("b".into()), Index(1)],
            vec![Key("c".into()), Key("d".into())],
        ]
    );
}

#[test]
fn sops_interop() {
    use std::process::Command;
    let Some(sops) = crate::formats::test_support::sops("json sops_interop") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let recipient = String::from_utf8(out.stderr)
        .unwrap()
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    let run = |args: &[&str], file: &std::path::Path| {
        let out = Command::new(&sops)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("SOPS_AGE_KEY_FILE", &key)
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let mut cases: Vec<(String, String)> = corpus_json();
    cases.push(("compact".into(), "{\"a\":\"x\",\"n\":[1,2.5,true]}".into()));
    cases.push((
        "crlf".into(),
        "{\r\n  \"a\": \"x\",\r\n  \"b\": {\"c\": false}\r\n}\r\n".into(),
    ));
    for (name, plain) in cases {
        let p = dir.path().join("plain.json");
        std::fs::write(&p, &plain).unwrap();
        let enc = run(&["encrypt", "--age", &recipient], &p);
        let sops_doc = JsonDocument::parse(&enc).unwrap();
        let ours = JsonDocument::parse(&plain).unwrap();
        assert_eq!(sops_doc.leaves().len(), ours.leaves().len(), "{name}");
        let edits: Vec<_> = ours
            .leaves()
            .iter()
            .zip(sops_doc.leaves())
            .map(|(a, b)| {
                assert_eq!(a.path(), b.path());
                if !is_data(b) {
                    return Replacement::Keep;
                }
                match scalar(b).0 {
                    Value::Str(s) if s.is_empty() => Replacement::Keep,
                    Value::Str(s) => Replacement::Encrypted(s.to_string()),
                    _ => panic!("sops wrote a non-string encrypted value"),
                }
            })
            .collect();
        let spliced = ours.render(&edits, sops_doc.metadata()).unwrap().text;
        let f = dir.path().join("spliced.json");
        std::fs::write(&f, &spliced).unwrap();
        let e = dir.path().join("sops.json");
        std::fs::write(&e, &enc).unwrap();
        assert_eq!(run(&["decrypt"], &f), run(&["decrypt"], &e), "{name}");
        // And the sops file without its metadata is sops's layout of the data.
        let stripped = sops_doc.render(&keep_all(&sops_doc), None).unwrap().text;
        assert!(JsonDocument::parse(&stripped).unwrap().metadata().is_none());
    }
}

#[test]
fn escape_check_matches_the_naive_one() {
    let naive = |s: &[u8]| s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
    for c in 0..=255u8 {
        for len in 1..20 {
            for at in 0..len {
                let mut s = vec![b'a'; len];
                s[at] = c;
                assert_eq!(needs_escape(&s), naive(&s), "byte {c:#x} at {at} of {len}");
                s[at] = 0xff;
                assert!(!needs_escape(&s));
            }
        }
    }
}

#[test]
fn node_span_is_the_text_of_a_collection() {
    use crate::treepath::PathSeg::{Index, Key};
    let src = "{\"a\": {\"b\": [1, {\"c\": []}]}, \"d\": 1, \"e\": {}}";
    let at = |loc: &[crate::treepath::PathSeg]| {
        JsonDocument::node_span(src, loc)
            .unwrap()
            .map(|s| src[s].to_string())
    };
    assert_eq!(
        at(&[Key("a".into())]).as_deref(),
        Some("{\"b\": [1, {\"c\": []}]}")
    );
    assert_eq!(
        at(&[Key("a".into()), Key("b".into())]).as_deref(),
        Some("[1, {\"c\": []}]")
    );
    assert_eq!(
        at(&[Key("a".into()), Key("b".into()), Index(1)]).as_deref(),
        Some("{\"c\": []}")
    );
    // Scalars and empty collections have no collection text.
    assert_eq!(at(&[Key("d".into())]), None);
    assert_eq!(at(&[Key("e".into())]), None);
}
