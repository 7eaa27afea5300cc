use super::*;
use crate::document::ValueType;
use crate::formats::Format;
use crate::formats::test_support as interop;
use crate::formats::test_support::fake_enc;

/// Every corner at once: comments, `export`, quotes, spaces around `=`,
/// empty value and empty key, `\n` escapes, CRLF, blank lines, unicode,
/// an unencrypted key, and no final newline.
const SAMPLE: &str = "# top comment\n#\nexport FOO=bar\nQUOTED=\"a b\"\nSINGLE='$HOME'\n  SPACED = x \n\nA=\n=x\nML=line1\\nline2\\\\n\nCR=x\r\n# crlf comment\r\nU=héllo wörld ✓\nPLAIN_unencrypted=visible\nEQ=a=b=c\nLAST=1";

fn sample_meta() -> MetaNode {
    crate::formats::test_support::flat_sample_meta("unencrypted_suffix", "_unencrypted")
}

fn leaf_text(l: &Leaf) -> String {
    match &l.kind {
        LeafKind::Scalar {
            value: Value::Str(s),
            ..
        } => s.to_string(),
        LeafKind::Comment(c) => c.to_string(),
        LeafKind::Structure(_) => String::new(),
        LeafKind::Scalar { .. } => panic!("dotenv values are strings"),
    }
}

/// Encrypt with fake ciphertexts and metadata, re-parse, check, and
/// decrypt with the original values; returns (encrypted, decrypted).
fn crypt_round_trip(src: &str) -> (String, String) {
    let doc = DotenvDocument::parse(src).unwrap();
    let enc_edits: Vec<_> = doc
        .leaves()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ty = if l.is_comment() {
                ValueType::Comment
            } else {
                ValueType::Str
            };
            Replacement::Encrypted(fake_enc(i, ty))
        })
        .collect();
    let meta = sample_meta();
    let enc = doc.render(&enc_edits, Some(&meta)).unwrap().text;
    let doc2 = DotenvDocument::parse(&enc).unwrap_or_else(|e| panic!("{e}\n{enc}"));
    // Flattened scalars come back as strings; these are all strings already.
    assert_eq!(doc2.metadata(), Some(&sorted(&meta)), "{enc}");
    assert_eq!(doc2.leaves().len(), doc.leaves().len());
    for (i, (a, b)) in doc.leaves().iter().zip(doc2.leaves()).enumerate() {
        assert_eq!(a.path(), b.path());
        assert_eq!(a.is_comment(), b.is_comment());
        let ty = if a.is_comment() {
            ValueType::Comment
        } else {
            ValueType::Str
        };
        assert_eq!(leaf_text(b), fake_enc(i, ty));
    }
    // Re-encrypting an encrypted file replaces its metadata in place.
    let keep = vec![Replacement::Keep; doc2.leaves().len()];
    assert_eq!(doc2.render(&keep, Some(&meta)).unwrap().text, enc);
    let dec_edits: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| match &l.kind {
            LeafKind::Structure(_) => Replacement::Keep,
            LeafKind::Comment(c) => Replacement::Decrypted(Decrypted::Comment(c.clone())),
            LeafKind::Scalar { value, .. } => Replacement::Decrypted(Decrypted::Scalar {
                value: value.clone(),
                text: Zeroizing::new(leaf_text(l)),
            }),
        })
        .collect();
    let dec = doc2.render(&dec_edits, None).unwrap().text;
    (enc, dec)
}

/// The metadata map as a flattened format gives it back: keys in sorted
/// flattened order.
fn sorted(meta: &MetaNode) -> MetaNode {
    let flat = flat::flatten(meta);
    flat::unflatten(flat.iter().map(|(k, v)| (k.as_str(), v.clone()))).unwrap()
}

#[test]
fn leaves_follow_sops_semantics() {
    let doc = DotenvDocument::parse(SAMPLE).unwrap();
    let got: Vec<(Vec<String>, bool, String)> = doc
        .leaves()
        .iter()
        .map(|l| (l.path().to_vec(), l.is_comment(), leaf_text(l)))
        .collect();
    let p = |k: &str| vec![k.to_string()];
    let want = vec![
        (vec![], true, " top comment".to_string()),
        (vec![], true, String::new()),
        (p("export FOO"), false, "bar".into()),
        (p("QUOTED"), false, "\"a b\"".into()),
        (p("SINGLE"), false, "'$HOME'".into()),
        (p("  SPACED "), false, " x ".into()),
        (p("A"), false, String::new()),
        (p(""), false, "x".into()),
        (p("ML"), false, "line1\nline2\\\n".into()),
        (p("CR"), false, "x\r".into()),
        (vec![], true, " crlf comment\r".into()),
        (p("U"), false, "héllo wörld ✓".into()),
        (p("PLAIN_unencrypted"), false, "visible".into()),
        (p("EQ"), false, "a=b=c".into()),
        (p("LAST"), false, "1".into()),
    ];
    assert_eq!(got, want);
    let l = &doc.leaves()[2];
    assert_eq!(l.loc, vec![PathSeg::Key("export FOO".into())]);
    assert_eq!(l.depth, 0);
    assert_eq!(&SAMPLE[l.span.clone().unwrap()], "bar");
    assert!(doc.metadata().is_none());
}

#[test]
fn keep_returns_the_input_unchanged() {
    for src in [SAMPLE, "A=1\n", "A=1", "\n\nA=1\n\n", "#only a comment"] {
        let doc = DotenvDocument::parse(src).unwrap();
        let keep = vec![Replacement::Keep; doc.leaves().len()];
        assert_eq!(doc.render(&keep, None).unwrap().text, src);
    }
}

#[test]
fn encrypt_then_decrypt_gives_back_the_bytes() {
    for src in [
        SAMPLE,
        "A=1\n",
        "A=1",
        "A=1\n\n",
        "\n",
        "#c",
        "X=\\n",
        "K=v\r\nL=w\r\n",
        "export X=1\n",
    ] {
        let (enc, dec) = crypt_round_trip(src);
        assert_eq!(dec, src, "encrypted form:\n{enc}");
    }
}

#[test]
fn metadata_is_appended_sorted_like_sops() {
    let (enc, _) = crypt_round_trip("A=1\n");
    let expected = "A=ENC[AES256_GCM,data:ZGF0YQ0==,iv:aXY0=,tag:dGFn0==,type:str]\n\
sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n-----END AGE ENCRYPTED FILE-----\\n\n\
sops_age__list_0__map_recipient=age1test\n\
sops_lastmodified=2026-11-22T17:00:13Z\n\
sops_mac=ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n\
sops_unencrypted_suffix=_unencrypted\n\
sops_version=3.11.0\n";
    assert_eq!(enc, expected);
    // Without a final newline, the metadata starts a new line and the
    // file still ends without one.
    let (enc, _) = crypt_round_trip("A=1");
    assert!(
        enc.starts_with("A=ENC[AES256_GCM,data:ZGF0YQ0==,iv:aXY0=,tag:dGFn0==,type:str]\nsops_age")
    );
    assert!(enc.ends_with("sops_version=3.11.0"));
}

#[test]
fn sops_written_files_lose_their_metadata_cleanly() {
    let sops_file = "A=ENC[x]\nsops_mac=m\nsops_version=3.11.0\n";
    let doc = DotenvDocument::parse(sops_file).unwrap();
    assert_eq!(doc.leaves().len(), 1);
    let keep = vec![Replacement::Keep; 1];
    assert_eq!(doc.render(&keep, None).unwrap().text, "A=ENC[x]\n");
    // Metadata values have their `\n` escapes undone.
    let doc = DotenvDocument::parse("sops_age__list_0__map_enc=a\\nb\n").unwrap();
    let enc = doc
        .metadata()
        .and_then(|m| m.get("age"))
        .and_then(|a| match a {
            MetaNode::List(l) => l.first(),
            _ => None,
        })
        .and_then(|e| e.get("enc"));
    assert_eq!(enc, Some(&MetaNode::Str("a\nb".into())));
}

#[test]
fn decrypted_newlines_are_escaped_and_comments_stay_one_line() {
    let doc = DotenvDocument::parse("A=ENC[x]\n#ENC[y]\n").unwrap();
    let edits = vec![
        Replacement::Decrypted(Decrypted::Scalar {
            value: Value::str("a\nb"),
            text: Zeroizing::new("a\nb".into()),
        }),
        Replacement::Decrypted(Decrypted::Comment(Zeroizing::new(" c".into()))),
    ];
    assert_eq!(doc.render(&edits, None).unwrap().text, "A=a\\nb\n# c\n");
    let bad = vec![
        Replacement::Keep,
        Replacement::Decrypted(Decrypted::Comment(Zeroizing::new("a\nb".into()))),
    ];
    assert!(matches!(
        doc.render(&bad, None),
        Err(FormatError::CannotRepresent { .. })
    ));
    assert!(matches!(
        doc.render(&[Replacement::Keep], None),
        Err(FormatError::SpanCheck(_))
    ));
}

fn syntax_at(src: &str) -> (usize, usize) {
    match DotenvDocument::parse(src) {
        Err(FormatError::Syntax { location, .. }) => (location.line, location.column),
        Err(e) => panic!("{src:?}: not a syntax error: {e}"),
        Ok(_) => panic!("{src:?}: parsed"),
    }
}

#[test]
fn malformed_input_gives_located_syntax_errors() {
    assert_eq!(syntax_at("A=1\nnovalue\n"), (2, 1));
    assert_eq!(syntax_at("novalue"), (1, 1));
    // A CRLF blank line is not blank to sops either (it fails with exit 2).
    assert_eq!(syntax_at("A=1\r\n\r\nB=2\r\n"), (2, 1));
    assert_eq!(syntax_at("é=1\nü\n"), (2, 1));
    // Broken metadata: a hole in a list, a node that is a value and a map.
    assert_eq!(syntax_at("A=1\nsops_age__list_1__map_enc=x\n"), (2, 1));
    assert_eq!(syntax_at("sops_a=1\nsops_a__map_b=2\n"), (2, 1));
    assert!(matches!(DotenvDocument::parse(""), Err(FormatError::Empty)));
    let err = DotenvDocument::parse("SECRET=hunter2\nhunter3\n")
        .err()
        .unwrap();
    assert_eq!(err.exit_code(), 2);
    assert!(!err.to_string().contains("hunter"), "{err}");
}

#[test]
fn truncations_never_panic() {
    let (enc, _) = crypt_round_trip(SAMPLE);
    for src in [SAMPLE, enc.as_str()] {
        for end in 0..=src.len() {
            if let Some(part) = src.get(..end)
                && let Ok(doc) = DotenvDocument::parse(part)
            {
                let keep = vec![Replacement::Keep; doc.leaves().len()];
                let plain = doc.render(&keep, None).unwrap().text;
                if doc.metadata().is_none() {
                    assert_eq!(plain, part);
                }
                // Putting the metadata back gives the same document.
                let again = doc.render(&keep, doc.metadata()).unwrap().text;
                let doc2 = DotenvDocument::parse(&again).unwrap();
                assert_eq!(doc2.leaves().len(), doc.leaves().len());
                assert_eq!(doc2.metadata().is_some(), doc.metadata().is_some());
            }
        }
    }
}

/// A file for the interop tests: everything sops accepts (no CRLF blank
/// lines), blank lines included.
const INTEROP: &str = "# top comment\nexport FOO=bar\nQUOTED=\"a b\"\n  SPACED = x \n\nA=\nML=line1\\nline2\nCR=x\r\nU=héllo ✓\nPLAIN_unencrypted=visible\nLAST=1\n";

#[test]
fn sops_decrypts_what_shroud_writes() {
    let Some(sops) = interop::sops("dotenv: sops decrypts what shroud writes") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let enc = interop::shroud_encrypt(Format::Dotenv, INTEROP);
    assert!(!enc.contains("bar\n") && enc.contains("PLAIN_unencrypted=visible\n"));
    // shroud gives back the exact bytes ...
    assert_eq!(interop::shroud_decrypt(Format::Dotenv, &enc), INTEROP);
    // ... and sops sees the same data as in its own encryption of the file.
    let by_shroud = interop::sops_on(&sops, home.path(), "s.enc.env", &enc, &["decrypt"]);
    let pubkey = interop::alice_public();
    let sops_enc = interop::sops_on(
        &sops,
        home.path(),
        "plain.env",
        INTEROP,
        &["encrypt", "--age", &pubkey],
    );
    let by_sops = interop::sops_on(&sops, home.path(), "o.enc.env", &sops_enc, &["decrypt"]);
    assert_eq!(by_shroud, by_sops);
    // sops drops blank lines, and that is the only difference.
    assert_eq!(by_sops, INTEROP.replace("\n\n", "\n"));
}

#[test]
fn shroud_decrypts_what_sops_writes() {
    let Some(sops) = interop::sops("dotenv: shroud decrypts what sops writes") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let pubkey = interop::alice_public();
    let sops_enc = interop::sops_on(
        &sops,
        home.path(),
        "plain.env",
        INTEROP,
        &["encrypt", "--age", &pubkey],
    );
    let by_shroud = interop::shroud_decrypt(Format::Dotenv, &sops_enc);
    let by_sops = interop::sops_on(&sops, home.path(), "o.enc.env", &sops_enc, &["decrypt"]);
    assert_eq!(by_shroud, by_sops);
    let doc = DotenvDocument::parse(&sops_enc).unwrap();
    let meta = crate::engine::metadata(&doc).unwrap();
    assert_eq!(meta.recipients(), [pubkey.as_str()]);
}
