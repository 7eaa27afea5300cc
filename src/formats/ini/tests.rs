use super::*;
use crate::document::{Shape, ValueType};
use crate::formats::Format;
use crate::formats::test_support as interop;
use crate::formats::test_support::fake_enc;

/// Keys before the first section, both comment kinds, `:` and odd spacing,
/// quotes of every kind, inline comments, empty values, a repeated section,
/// the same key in two sections, CRLF lines, unicode, no final newline.
const SAMPLE: &str = "; top comment\ntop = 1\n# hash comment\n[sec]\na=1\n  b  :  two words  \nc = \"quoted\"\nd = 'single'\ne = x ; inline\nf =\ng = a#b\nh = \"x ; y\"\n[sec]\na = again\n[other] ; header note\n;c2\nm = \"\"\"multi\nline\"\"\"\nbt = `back;tick`\ni = \"a\" b\ncr = v\r\nu = héllo ✓\nplain_unencrypted = visible\n- = auto1\n- = auto2\n\n; trailing\nlast=end";

fn sample_meta() -> MetaNode {
    crate::formats::test_support::flat_sample_meta("encrypted_regex", " ^(a|b);#x$")
}

fn sorted(meta: &MetaNode) -> MetaNode {
    let flat = flat::flatten(meta);
    flat::unflatten(flat.iter().map(|(k, v)| (k.as_str(), v.clone()))).unwrap()
}

fn leaf_text(l: &Leaf) -> String {
    match &l.kind {
        LeafKind::Scalar {
            value: Value::Str(s),
            ..
        } => s.to_string(),
        LeafKind::Comment(c) => c.to_string(),
        LeafKind::Structure(_) => String::new(),
        LeafKind::Scalar { .. } => panic!("INI values are strings"),
    }
}

fn ty(l: &Leaf) -> ValueType {
    if l.is_comment() {
        ValueType::Comment
    } else {
        ValueType::Str
    }
}

fn crypt_round_trip(src: &str) -> (String, String) {
    let doc = IniDocument::parse(src).unwrap();
    let enc_edits: Vec<_> = doc
        .leaves()
        .iter()
        .enumerate()
        .map(|(i, l)| match l.kind {
            // Empty sections: the engine never encrypts structure.
            LeafKind::Structure(_) => Replacement::Keep,
            _ => Replacement::Encrypted(fake_enc(i, ty(l))),
        })
        .collect();
    let meta = sample_meta();
    let enc = doc.render(&enc_edits, Some(&meta)).unwrap().text;
    let doc2 = IniDocument::parse(&enc).unwrap_or_else(|e| panic!("{e}\n{enc}"));
    assert_eq!(doc2.metadata(), Some(&sorted(&meta)), "{enc}");
    assert_eq!(doc2.leaves().len(), doc.leaves().len(), "{enc}");
    for (i, (a, b)) in doc.leaves().iter().zip(doc2.leaves()).enumerate() {
        assert_eq!(a.path(), b.path());
        assert_eq!(a.is_comment(), b.is_comment());
        if matches!(a.kind, LeafKind::Structure(_)) {
            assert!(matches!(b.kind, LeafKind::Structure(_)), "{enc}");
            continue;
        }
        assert_eq!(leaf_text(b), fake_enc(i, ty(a)), "{enc}");
    }
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

#[test]
fn leaves_follow_go_ini() {
    let doc = IniDocument::parse(SAMPLE).unwrap();
    let got: Vec<(Vec<String>, bool, String)> = doc
        .leaves()
        .iter()
        .map(|l| (l.path().to_vec(), l.is_comment(), leaf_text(l)))
        .collect();
    let k = |s: &str, k: &str, v: &str| (vec![s.to_string(), k.to_string()], false, v.to_string());
    let c = |s: &str, t: &str| (vec![s.to_string()], true, t.to_string());
    let want = vec![
        // A key's comments come after it, as in sops's tree.
        k("DEFAULT", "top", "1"),
        c("DEFAULT", "top comment"),
        c("sec", "hash comment"),
        k("sec", "a", "1"),
        k("sec", "b", "two words"),
        k("sec", "c", "quoted"),
        k("sec", "d", "single"),
        k("sec", "e", "x"),
        c("sec", "inline"),
        k("sec", "f", ""),
        k("sec", "g", "a"),
        c("sec", "b"),
        // The inline comment is cut before the quotes are looked at.
        k("sec", "h", "\"x"),
        c("sec", "y\""),
        k("sec", "a", "again"),
        k("other", "m", "multi\nline"),
        c("other", "c2"),
        k("other", "bt", "back;tick"),
        k("other", "i", "\"a\" b"),
        k("other", "cr", "v"),
        k("other", "u", "héllo ✓"),
        k("other", "plain_unencrypted", "visible"),
        k("other", "#1", "auto1"),
        k("other", "#2", "auto2"),
        k("other", "last", "end"),
        c("other", "trailing"),
    ];
    assert_eq!(got, want);
    let a = &doc.leaves()[3];
    assert_eq!(
        a.loc,
        vec![PathSeg::Key("sec".into()), PathSeg::Key("a".into())]
    );
    assert_eq!(a.depth, 1);
}

#[test]
fn encrypt_then_decrypt_gives_back_the_bytes() {
    for src in [
        SAMPLE,
        "a=1\n",
        "a=1",
        "a=1\n\n",
        "[s]\n",
        "; only a comment",
        "\u{feff}k = v\n",
        "[s]\r\na = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n; c\r\n",
        "[a]\nk=1\n[b]\nk=2\n[a]\nk=3\n",
        "k :v\n  [ spaced ]  \n x  =  y  \n",
    ] {
        let (enc, dec) = crypt_round_trip(src);
        assert_eq!(dec, src, "encrypted form:\n{enc}");
    }
}

#[test]
fn metadata_section_is_go_ini_shaped() {
    let (enc, _) = crypt_round_trip("[s]\na = 1\n");
    let expected = "[s]\na = ENC[AES256_GCM,data:ZGF0YQ0==,iv:aXY0=,tag:dGFn0==,type:str]\n\n[sops]\n\
age__list_0__map_enc       = -----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n-----END AGE ENCRYPTED FILE-----\\n\n\
age__list_0__map_recipient = age1test\n\
encrypted_regex            = ` ^(a|b);#x$`\n\
lastmodified               = 2026-11-22T17:00:13Z\n\
mac                        = ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n\
version                    = 3.11.0\n";
    assert_eq!(enc, expected);
}

#[test]
fn reads_sops_3_13_triple_quoted_metadata() {
    let src = "[s]\na = ENC[x]\n\n[sops]\nage__list_0__map_enc = \"\"\"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n\"\"\"\nversion = 3.13.1\n";
    let doc = IniDocument::parse(src).unwrap();
    let enc = doc
        .metadata()
        .and_then(|m| m.get("age"))
        .and_then(|a| match a {
            MetaNode::List(l) => l.first(),
            _ => None,
        })
        .and_then(|e| e.get("enc"));
    assert_eq!(
        enc,
        Some(&MetaNode::Str(
            "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n".into()
        ))
    );
    let keep = vec![Replacement::Keep; doc.leaves().len()];
    assert_eq!(doc.render(&keep, None).unwrap().text, "[s]\na = ENC[x]\n");
}

#[test]
fn decrypted_values_are_quoted_when_go_ini_needs_it() {
    let src = "[s]\na = ENC[x]\nb = \"ENC[y]\"\n";
    let doc = IniDocument::parse(src).unwrap();
    let dec = |t: &str| {
        Replacement::Decrypted(Decrypted::Scalar {
            value: Value::str(t),
            text: Zeroizing::new(t.into()),
        })
    };
    let cases = [
        ("plain", "plain"),
        (" padded ", "\" padded \""),
        ("semi;colon", "`semi;colon`"),
        ("two\nlines", "\"\"\"two\nlines\"\"\""),
        ("\"q\"", "`\"q\"`"),
        ("ends\\", "\"ends\\\""),
    ];
    for (value, token) in cases {
        let out = doc.render(&[dec(value), dec(value)], None).unwrap().text;
        let back = IniDocument::parse(&out).unwrap();
        assert_eq!(leaf_text(&back.leaves()[0]), value, "{out}");
        assert_eq!(leaf_text(&back.leaves()[1]), value, "{out}");
        assert!(out.starts_with(&format!("[s]\na = {token}\n")), "{out}");
    }
}

fn error_at(src: &str) -> (usize, usize, i32) {
    match IniDocument::parse(src) {
        Err(FormatError::Syntax { location, .. }) => (location.line, location.column, 2),
        Err(FormatError::Unsupported { location, code, .. }) => {
            (location.line, location.column, code)
        }
        Err(e) => panic!("{src:?}: {e}"),
        Ok(_) => panic!("{src:?}: parsed"),
    }
}

#[test]
fn malformed_input_gives_located_errors() {
    assert_eq!(error_at("[s]\nnodelim\n"), (2, 1, 2));
    assert_eq!(error_at("[s]\n  =x\n"), (2, 3, 2));
    assert_eq!(error_at("a=1\n[s\n"), (2, 1, 2));
    assert_eq!(error_at("[]\n"), (1, 1, 2));
    assert_eq!(error_at("[s]\na = \"\"\"open\nmore\n"), (2, 5, 2));
    assert_eq!(error_at("[s]\na = x \\\n y\n"), (2, 5, 2));
    assert_eq!(error_at("[s]\n\"k = v\n"), (2, 1, 2));
    // The same key twice in one section: refused, with the second place.
    assert_eq!(error_at("[s]\nk = 1\n k = 2\n"), (3, 2, 2));
    assert_eq!(error_at("[sops]\nversion=1\n[sops]\n"), (3, 1, 2));
    assert_eq!(error_at("[sops]\nage__list_1__map_enc = x\n"), (2, 1, 2));
    assert!(matches!(IniDocument::parse(""), Err(FormatError::Empty)));
    let err = IniDocument::parse("[s]\nsecret = hunter2 \\\nx\n")
        .err()
        .unwrap();
    assert!(!err.to_string().contains("hunter"), "{err}");
    // The same key in a repeated section is fine.
    assert!(IniDocument::parse("[s]\nk=1\n[s]\nk=2\n").is_ok());
}

#[test]
fn truncations_never_panic() {
    let (enc, _) = crypt_round_trip(SAMPLE);
    for src in [SAMPLE, enc.as_str()] {
        for end in 0..=src.len() {
            if let Some(part) = src.get(..end)
                && let Ok(doc) = IniDocument::parse(part)
            {
                let keep = vec![Replacement::Keep; doc.leaves().len()];
                let plain = doc.render(&keep, None).unwrap().text;
                if doc.metadata().is_none() {
                    assert_eq!(plain, part);
                }
                let enc: Vec<_> = doc
                    .leaves()
                    .iter()
                    .enumerate()
                    .map(|(i, l)| Replacement::Encrypted(fake_enc(i, ty(l))))
                    .collect();
                let _ = doc.render(&enc, Some(&sample_meta()));
            }
        }
    }
}

/// For interop: everything sops reads the same way, single-line comments.
const INTEROP: &str = "; top comment\ntop = 1\n[sec]\na=1\n  b  :  two words  \nc = \"quoted\"\ne = x ; inline\nf =\n\n[sec]\na = again\n[other]\nm = \"\"\"multi\nline\"\"\"\nbt = `back;tick`\nu = héllo ✓\nplain_unencrypted = visible\n";

fn sops_json(sops: &std::path::Path, home: &std::path::Path, name: &str, enc: &str) -> String {
    interop::sops_on(sops, home, name, enc, &["decrypt", "--output-type", "json"])
}

#[test]
fn sops_decrypts_what_shroud_writes() {
    let Some(sops) = interop::sops("ini: sops decrypts what shroud writes") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let enc = interop::shroud_encrypt(Format::Ini, INTEROP);
    assert!(!enc.contains("two words") && enc.contains("plain_unencrypted = visible\n"));
    assert_eq!(interop::shroud_decrypt(Format::Ini, &enc), INTEROP);
    let pubkey = interop::alice_public();
    let sops_enc = interop::sops_on(
        &sops,
        home.path(),
        "plain.ini",
        INTEROP,
        &["encrypt", "--age", &pubkey],
    );
    // The same data, and the same plaintext file (comments included).
    assert_eq!(
        sops_json(&sops, home.path(), "s.enc.ini", &enc),
        sops_json(&sops, home.path(), "o.enc.ini", &sops_enc)
    );
    assert_eq!(
        interop::sops_on(&sops, home.path(), "s.enc.ini", &enc, &["decrypt"]),
        interop::sops_on(&sops, home.path(), "o.enc.ini", &sops_enc, &["decrypt"])
    );
}

#[test]
fn shroud_decrypts_what_sops_writes() {
    let Some(sops) = interop::sops("ini: shroud decrypts what sops writes") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let pubkey = interop::alice_public();
    let sops_enc = interop::sops_on(
        &sops,
        home.path(),
        "plain.ini",
        INTEROP,
        &["encrypt", "--age", &pubkey],
    );
    let by_shroud = interop::shroud_decrypt(Format::Ini, &sops_enc);
    // Through sops's eyes, shroud's plaintext holds the original data.
    let again = interop::sops_on(
        &sops,
        home.path(),
        "again.ini",
        &by_shroud,
        &["encrypt", "--age", &pubkey],
    );
    assert_eq!(
        sops_json(&sops, home.path(), "a.enc.ini", &again),
        sops_json(&sops, home.path(), "o.enc.ini", &sops_enc)
    );
    // 3.13 wrote multi-line metadata in """ quotes; shroud reads that too.
    let doc = IniDocument::parse(&sops_enc).unwrap();
    let meta = crate::engine::metadata(&doc).unwrap();
    let armored = meta.key_groups[0].age[0].enc.clone();
    let escaped = armored.replace('\n', "\\n");
    let triple = sops_enc.replace(&escaped, &format!("\"\"\"{armored}\"\"\""));
    assert_ne!(triple, sops_enc);
    assert_eq!(interop::shroud_decrypt(Format::Ini, &triple), by_shroud);
}

#[test]
fn an_empty_section_is_an_empty_map() {
    let src = "[empty]\n; note\n[full]\nk = v\n[last]\n";
    let doc = IniDocument::parse(src).unwrap();
    let empties: Vec<(&str, &str)> = doc
        .leaves()
        .iter()
        .filter(|l| matches!(l.kind, LeafKind::Structure(Shape::EmptyMap)))
        .map(|l| {
            (
                l.path().iter().next().unwrap(),
                &src[l.span.clone().unwrap()],
            )
        })
        .collect();
    assert_eq!(empties, [("empty", "empty"), ("last", "last")]);
    // Nothing about it changes the text.
    let keep = vec![Replacement::Keep; doc.leaves().len()];
    assert_eq!(doc.render(&keep, None).unwrap().text, src);
}
