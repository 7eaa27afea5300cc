use super::*;
use crate::document::ValueType;
use crate::error::Location;
use crate::formats::test_support::fake_enc;
use crate::treepath::PathSeg::{Index, Key};
use crate::value::plaintext_for;

fn keep_all(doc: &TomlDocument) -> Vec<Replacement> {
    vec![Replacement::Keep; doc.leaves().len()]
}

fn leaf_type(l: &Leaf) -> ValueType {
    match &l.kind {
        LeafKind::Scalar { value, .. } => value.value_type(),
        LeafKind::Comment(_) => ValueType::Comment,
        LeafKind::Structure(_) => unreachable!("callers skip structure leaves"),
    }
}

fn sample_meta() -> MetaNode {
    let s = |x: &str| MetaNode::Str(x.into());
    let age = |r: &str| {
        MetaNode::Map(vec![
            ("recipient".into(), s(r)),
            (
                "enc".into(),
                s(
                    "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\"\"\"<&>\\\n-----END AGE ENCRYPTED FILE-----\n",
                ),
            ),
        ])
    };
    MetaNode::Map(vec![
        ("shamir_threshold".into(), MetaNode::Int(2)),
        (
            "key_groups".into(),
            MetaNode::List(vec![
                MetaNode::Map(vec![
                    ("hc_vault".into(), MetaNode::List(vec![])),
                    (
                        "age".into(),
                        MetaNode::List(vec![age("age1a"), age("age1b")]),
                    ),
                ]),
                MetaNode::Map(vec![
                    ("hc_vault".into(), MetaNode::List(vec![])),
                    ("age".into(), MetaNode::List(vec![age("age1c")])),
                ]),
            ]),
        ),
        ("age".into(), MetaNode::List(vec![age("age1d")])),
        ("lastmodified".into(), s("2026-11-22T17:00:13Z")),
        (
            "mac".into(),
            s("ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]"),
        ),
        ("mac_only_encrypted".into(), MetaNode::Bool(true)),
        ("unencrypted_suffix".into(), s("_unencrypted")),
        (
            "odd key".into(),
            MetaNode::List(vec![s("a"), MetaNode::Int(1)]),
        ),
        ("version".into(), s("3.11.0")),
    ])
}

/// Map entries sorted by key at every level: TOML writes a table's scalars
/// before its sub-tables, so order is not kept, only content.
fn canon(n: &MetaNode) -> MetaNode {
    match n {
        MetaNode::Map(e) => {
            let mut e: Vec<_> = e
                .iter()
                .filter(|(_, v)| !matches!(v, MetaNode::Null))
                .map(|(k, v)| (k.clone(), canon(v)))
                .collect();
            e.sort_by(|a, b| a.0.cmp(&b.0));
            MetaNode::Map(e)
        }
        MetaNode::List(l) => MetaNode::List(l.iter().map(canon).collect()),
        other => other.clone(),
    }
}

fn keep_round_trip(src: &str) {
    let doc = TomlDocument::parse(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let out = doc.render(&keep_all(&doc), None).unwrap();
    assert_eq!(out.text, src);
}

/// Encrypt with fake ciphertexts and metadata, re-parse, decrypt with the
/// original values and no metadata; returns the decrypted text.
fn crypt_round_trip(src: &str) -> String {
    let doc = TomlDocument::parse(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let meta = sample_meta();
    let enc_edits: Vec<_> = doc
        .leaves()
        .iter()
        .enumerate()
        .map(|(i, l)| Replacement::Encrypted(fake_enc(i, leaf_type(l))))
        .collect();
    let enc = doc.render(&enc_edits, Some(&meta)).unwrap().text;
    let doc2 = TomlDocument::parse(&enc).unwrap_or_else(|e| panic!("{e}\n{enc}"));
    assert_eq!(doc2.metadata().map(canon), Some(canon(&meta)), "{enc}");
    assert_eq!(doc2.leaves().len(), doc.leaves().len(), "{enc}");
    for (i, (a, b)) in doc.leaves().iter().zip(doc2.leaves()).enumerate() {
        assert_eq!(a.path(), b.path(), "{enc}");
        assert_eq!(a.loc, b.loc);
        assert_eq!(a.depth, b.depth);
        let want = fake_enc(i, leaf_type(a));
        match &b.kind {
            LeafKind::Scalar {
                value: Value::Str(s),
                ..
            } => assert_eq!(s.as_str(), want),
            LeafKind::Comment(c) => assert_eq!(c.as_str(), want),
            _ => panic!("an encrypted value must be a TOML string:\n{enc}"),
        }
    }
    // Re-encrypting an encrypted file replaces its metadata in place.
    let again = doc2.render(&keep_all(&doc2), Some(&meta)).unwrap().text;
    assert_eq!(again, enc);
    let dec_edits: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| match &l.kind {
            LeafKind::Structure(_) => Replacement::Keep,
            LeafKind::Scalar { value, source } => Replacement::Decrypted(Decrypted::Scalar {
                value: value.clone(),
                text: plaintext_for(value, source.as_ref().map(|s| s.as_str())),
            }),
            LeafKind::Comment(c) => Replacement::Decrypted(Decrypted::Comment(c.clone())),
        })
        .collect();
    let out = doc2.render(&dec_edits, None).unwrap().text;
    // Removing the metadata alone also gives back the layout.
    let stripped = doc2.render(&keep_all(&doc2), None).unwrap().text;
    assert!(!stripped.contains("[sops"), "{stripped}");
    out
}

const TRICKY: &str = r#"# top comment
title = "TOML \"Example\"" # after a value
empty = ""
lit = 'C:\Users\nodejs\templates'
ml = """
Roses are red
Violets are "blue"  """
ml_nolead = """one
two"""
mll = '''
The first newline is
trimmed in raw strings.
   All other whitespace
   is preserved. #not a comment
'''
mll_nolead = '''I [dw]on't need \d{2} apples'''
esc = "tab\there \\ back é 😀 中文"
"quoted # key" = "value # not a comment"
dotted.key.here = 1
site."google.com" = true

[owner]
name = "Tom Preston-Werner"
dob = 1979-05-27T07:32:00-08:00
utc = 1979-05-27T07:32:00Z
frac = 1979-05-27T00:32:00.999999-07:00
ldt = 1979-05-27T07:32:00
ld = 1979-05-27
lt = 07:32:00
ltf = 00:32:00.999999
spaced = 1979-05-27 07:32:00Z

[database]
enabled = true
ports = [ 8000, 8001,   8002 ]
data = [ ["delta", "phi"], [3.14] ]
temp_targets = { cpu = 79.5, case = 72.0 }
nested = { a = { b = [1, { c = "d" }] } }

[numbers]
int1 = +99
int2 = 42
int3 = 0
int4 = -17
flt1 = +1.0
flt2 = 3.1415
flt3 = -0.01
flt4 = 5e+22
flt5 = 1e06
flt6 = -2E-2
flt7 = 6.626e-34
sf1 = inf
sf2 = +inf
sf3 = -inf
sf4 = nan
sf5 = +nan
sf6 = -nan
zero = -0.0
big = 9223372036854775807
small = -9223372036854775808
arr = [
  1, # one
  # a comment inside
  2,
  "x#y", # after a string
]

[servers]

  # Indentation (tabs and/or spaces) is allowed but not required
  [servers.alpha]
  ip = "10.0.0.1"
  role = "frontend"

[[products]]
name = "Hammer"
sku = 738594937

[[products]]  # second

[[products]]
name = "Nail"
sku = 284758393
color = "gray"

[[fruits]]
name = "apple"
[fruits.physical]
color = "red"
[[fruits.varieties]]
name = "red delicious"
[[fruits.varieties]]
name = "granny smith"

[a]
x = 1
[b]
y = 2
[a.c]
z = 3
"#;

const CASES: &[&str] = &[
    "a = 1",
    "a = 1\n",
    "a = \"x\"",
    "# only a comment\n",
    "#\n#   \n",
    "a = 1\r\nb = \"two\" # c\r\n[t]\r\nc = '''\r\nx\r\ny'''\r\n",
    "[t]\r\nx = 1",
    "k = \"\"\"\\\n   The quick brown \\\n   fox.\\\n   \"\"\"\n",
    "k = \"\"\"a\"\"\"\"\"\nl = '''b'''''\n",
    "k = [\n  # c1\n  { a = 1 }, # c2\n]\n# end",
    "[x]\n[x.y]\n[[z]]\n",
    "\u{FEFF}a = 'bom'\n",
    "   a   =   1   \n\n\n",
    "a = \"\\u00e9\\n\\\"\"\n",
];

#[test]
fn keep_returns_the_input_unchanged() {
    keep_round_trip(TRICKY);
    for case in CASES {
        keep_round_trip(case);
    }
}

#[test]
fn encrypt_then_decrypt_gives_back_the_bytes() {
    assert_eq!(crypt_round_trip(TRICKY), TRICKY);
    for case in CASES {
        if case.contains("\\\n") || case.contains("\\u") || case.starts_with('\u{FEFF}') {
            continue; // see what_normalises
        }
        assert_eq!(crypt_round_trip(case), *case, "case {case:?}");
    }
    assert_eq!(
        crypt_round_trip(&TRICKY.replace('\n', "\r\n")),
        TRICKY.replace('\n', "\r\n")
    );
    let no_nl = TRICKY.trim_end();
    assert_eq!(crypt_round_trip(no_nl), no_nl);
}

#[test]
fn what_normalises() {
    // Escapes are rewritten minimally; line continuations disappear.
    assert_eq!(
        crypt_round_trip("a = \"\\u00e9\\n\\\"\"\n"),
        "a = \"é\\n\\\"\"\n"
    );
    assert_eq!(
        crypt_round_trip("k = \"\"\"\\\n   The quick \\\n   fox.\"\"\"\n"),
        "k = \"\"\"The quick fox.\"\"\"\n"
    );
    // Non-decimal and underscored numbers come back in decimal.
    assert_eq!(
        crypt_round_trip("h = 0xDEAD_beef\no = 0o755\nb = 0b1101\nu = 1_000\nf = 1_000.5\n"),
        "h = 3735928559\no = 493\nb = 13\nu = 1000\nf = 1000.5\n"
    );
    // A literal string the plaintext could not be literal in comes back basic.
    let doc = TomlDocument::parse("a = 'x'\n").unwrap();
    let out = doc
        .render(
            &[Replacement::Decrypted(Decrypted::Scalar {
                value: Value::str("it's"),
                text: "it's".to_string().into(),
            })],
            None,
        )
        .unwrap();
    assert_eq!(out.text, "a = \"it's\"\n");
}

#[test]
fn encrypted_spellings() {
    let src = "b = \"x\"\nl = 'x'\nm = \"\"\"\nx\"\"\"\nn = \"\"\"x\"\"\"\nq = '''\nx'''\nr = '''x'''\nd = 1979-05-27\ni = 0x10\nt = 1979-05-27T07:32:00Z\n# c\n";
    let doc = TomlDocument::parse(src).unwrap();
    let edits: Vec<_> = (0..doc.leaves().len())
        .map(|_| Replacement::Encrypted("ENC[X]".into()))
        .collect();
    let out = doc.render(&edits, None).unwrap().text;
    assert_eq!(
        out,
        "b = \"ENC[X]\"\nl = 'ENC[X]'\nm = \"\"\"\nENC[X]\"\"\"\nn = \"\"\"ENC[X]\"\"\"\nq = '''\nENC[X]'''\nr = '''ENC[X]'''\nd = \"\"\"\\\nENC[X]\"\"\"\ni = \"ENC[X]\"\nt = \"ENC[X]\"\n#ENC[X]\n"
    );
}

#[test]
fn leaves_have_types_paths_depths_and_locations() {
    let src = "# top\na.b = 1\n[t]\ns = 'x' # c\narr = [true, # in\n 2.5]\n[[p]]\nd = 1979-05-27\n[[p]]\nn = { k = 1979-05-27T07:32:00Z }\n";
    let doc = TomlDocument::parse(src).unwrap();
    let got: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| {
            (
                l.path().join("."),
                l.depth,
                leaf_type(l),
                &src[l.span.clone().unwrap()],
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("".into(), 1, ValueType::Comment, " top"),
            ("a.b".into(), 2, ValueType::Int, "1"),
            ("t.s".into(), 2, ValueType::Str, "'x'"),
            ("t".into(), 2, ValueType::Comment, " c"),
            ("t.arr".into(), 3, ValueType::Bool, "true"),
            ("t.arr".into(), 3, ValueType::Comment, " in"),
            ("t.arr".into(), 3, ValueType::Float, "2.5"),
            ("p.d".into(), 3, ValueType::Str, "1979-05-27"),
            ("p.n.k".into(), 4, ValueType::Time, "1979-05-27T07:32:00Z"),
        ]
    );
    let locs: Vec<_> = doc.leaves().iter().map(|l| l.loc.clone()).collect();
    assert_eq!(locs[4], vec![Key("t".into()), Key("arr".into()), Index(0)]);
    assert_eq!(
        locs[8],
        vec![Key("p".into()), Index(1), Key("n".into()), Key("k".into())]
    );
    match &doc.leaves()[8].kind {
        LeafKind::Scalar {
            value: Value::Time(t),
            source,
        } => {
            assert_eq!(t.as_str(), "1979-05-27T07:32:00Z");
            assert_eq!(
                source.as_ref().map(|s| s.as_str()),
                Some("1979-05-27T07:32:00Z")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn metadata_is_read_excluded_and_removable() {
    let src = "a = 1\n";
    let doc = TomlDocument::parse(src).unwrap();
    let enc = doc
        .render(&keep_all(&doc), Some(&sample_meta()))
        .unwrap()
        .text;
    assert!(
        enc.starts_with("a = 1\n\n[sops]\nshamir_threshold = 2\n"),
        "{enc}"
    );
    assert!(enc.contains("\n[[sops.key_groups]]\nhc_vault = []\n\n[[sops.key_groups.age]]\nrecipient = \"age1a\"\nenc = \"\"\"\n-----BEGIN AGE ENCRYPTED FILE-----\n"), "{enc}");
    let doc2 = TomlDocument::parse(&enc).unwrap();
    assert_eq!(doc2.leaves().len(), 1);
    let plain = doc2.render(&keep_all(&doc2), None).unwrap().text;
    assert_eq!(plain, src);
    // A real Metadata survives the trip.
    let meta = crate::metadata::Metadata::from_node(&sample_meta()).unwrap();
    let doc = TomlDocument::parse("x = 'y'").unwrap();
    let enc = doc
        .render(&keep_all(&doc), Some(&meta.to_node()))
        .unwrap()
        .text;
    let back = crate::metadata::Metadata::from_node(
        TomlDocument::parse(&enc).unwrap().metadata().unwrap(),
    )
    .unwrap();
    assert_eq!(back.to_node(), meta.to_node());
    // A plaintext with a top-level sops key counts as encrypted.
    for s in [
        "sops = 1\n",
        "sops.version = '1'\n",
        "[sops]\n",
        "[[sops.age]]\n",
    ] {
        assert!(TomlDocument::parse(s).unwrap().metadata().is_some(), "{s}");
    }
    // A sops table that is not the trailing block cannot be rewritten.
    let doc = TomlDocument::parse("[sops]\nversion = '3.11.0'\n[data]\nk = 'v'\n").unwrap();
    assert_eq!(doc.leaves().len(), 1);
    assert!(doc.render(&keep_all(&doc), None).is_err());
    // Nested `sops` keys are ordinary data.
    let doc = TomlDocument::parse("[t]\nsops = 'x'\n").unwrap();
    assert!(doc.metadata().is_none());
    assert_eq!(doc.leaves().len(), 1);
}

#[test]
fn decrypted_scalars_use_the_original_text_only_when_valid() {
    let one = |src: &str, value: Value, text: &str| {
        let doc = TomlDocument::parse(src).unwrap();
        doc.render(
            &[Replacement::Decrypted(Decrypted::Scalar {
                value,
                text: text.to_string().into(),
            })],
            None,
        )
        .map(|r| r.text)
    };
    let e = "a = \"ENC[x]\"";
    assert_eq!(one(e, Value::Int(7), "007").unwrap(), "a = 7");
    assert_eq!(one(e, Value::Int(7), "+7").unwrap(), "a = +7");
    assert_eq!(one(e, Value::Float(1.0), "1").unwrap(), "a = 1.0");
    assert_eq!(one(e, Value::Float(1e10), "1e10").unwrap(), "a = 1e10");
    assert_eq!(
        one(e, Value::Float(f64::INFINITY), "+Inf").unwrap(),
        "a = inf"
    );
    assert_eq!(one(e, Value::Float(f64::NAN), "NaN").unwrap(), "a = nan");
    assert_eq!(one(e, Value::Bool(true), "True").unwrap(), "a = true");
    assert_eq!(
        one(
            e,
            Value::Time(zeroize::Zeroizing::new("2024-01-01T00:00:00Z".to_string())),
            "2024-01-01T00:00:00+00:00"
        )
        .unwrap(),
        "a = 2024-01-01T00:00:00+00:00"
    );
    // A bare spelling only writes a date/time bare, never other text.
    let bare = "a = \"\"\"\\\nENC[x]\"\"\"";
    let r = one(bare, Value::str("x\nb = 1"), "x\nb = 1").unwrap();
    assert_eq!(r, "a = \"x\\nb = 1\"");
    assert_eq!(
        one(bare, Value::str("07:32:00"), "07:32:00").unwrap(),
        "a = 07:32:00"
    );
    // Strings in each style, with characters that need care.
    let ml = "a = \"\"\"ENC[x]\"\"\"";
    let mll = "a = '''ENC[x]'''";
    assert_eq!(one(mll, Value::str("\nx"), "").unwrap(), "a = '''\n\nx'''");
    assert_eq!(
        one(mll, Value::str("x'''"), "").unwrap(),
        "a = \"\"\"x'''\"\"\""
    );
    for (src, v) in [
        (e, "a\u{7f}\u{1}\t\"'"),
        (ml, "a\rb"),
        (ml, "\nq\"\"\"\""),
        (ml, "\"\"\"x\"\"\""),
        (mll, "\u{0}"),
        (mll, "\nx\r\n"),
    ] {
        let out = one(src, Value::str(v), "").unwrap();
        let d = toml_edit::Document::parse(out.as_str()).unwrap();
        assert_eq!(d.as_table()["a"].as_str(), Some(v), "{out}");
    }
}

fn syntax_at(src: &str) -> (usize, usize, String) {
    match TomlDocument::parse(src).err() {
        Some(FormatError::Syntax {
            location: Location { line, column },
            message,
        }) => (line, column, message),
        other => panic!("{src:?}: {other:?}"),
    }
}

#[test]
fn malformed_input_gives_located_syntax_errors() {
    let (l, c, m) = syntax_at("a = 1\nb = \"secret-value\nc = 3\n");
    assert_eq!(l, 2, "{m}");
    assert!(c >= 5, "{c}");
    assert!(!m.contains("secret-value"), "{m}");
    let (l, _, _) = syntax_at("a = 1\na = 2\n");
    assert_eq!(l, 2);
    let (l, c, _) = syntax_at("[t]\nx = = 1\n");
    assert_eq!((l, c), (2, 5));
    let (l, _, m) = syntax_at("a = [1, 2\n\n");
    assert!(l >= 1, "{m}");
    for s in ["", "   \n\t\r\n"] {
        assert!(matches!(TomlDocument::parse(s), Err(FormatError::Empty)));
    }
}

#[test]
fn truncations_never_panic() {
    let src = TRICKY;
    let mut ok = 0;
    for i in 0..=src.len() {
        if !src.is_char_boundary(i) {
            continue;
        }
        let part = &src[..i];
        if let Ok(doc) = TomlDocument::parse(part) {
            assert_eq!(doc.render(&keep_all(&doc), None).unwrap().text, part);
            ok += 1;
        }
    }
    assert!(ok > 100, "{ok}");
}

#[test]
fn end_to_end_with_a_real_key() {
    use crate::engine::{self, DecryptOptions, EncryptSettings};
    let alice = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/keys/alice.txt"
    ))
    .unwrap();
    let pubkey = alice
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .trim();
    let key = crate::crypto::cipher::DataKey::generate();
    let (groups, threshold) = crate::keys::wrap_groups(
        &key,
        &[vec![crate::keys::Recipient::parse(pubkey).unwrap()]],
        None,
    )
    .unwrap();
    for src in [
        TRICKY.to_string(),
        TRICKY.replace('\n', "\r\n"),
        TRICKY.trim_end().to_string(),
    ] {
        let doc = TomlDocument::parse(&src).unwrap();
        let enc = engine::encrypt(
            &doc,
            &key,
            groups.clone(),
            threshold,
            &EncryptSettings::default(),
            engine::now_utc(),
        )
        .unwrap();
        assert!(!enc.text.contains("Hammer") && !enc.text.contains("Preston"));
        let doc2 = TomlDocument::parse(&enc.text).unwrap();
        let meta = engine::metadata(&doc2).unwrap();
        let ids = crate::keys::Identities::from_text("test", &alice);
        let dk = crate::keys::data_key(&meta, &ids).unwrap();
        let dec = engine::decrypt(&doc2, &meta, &dk, DecryptOptions::default()).unwrap();
        assert_eq!(dec.text.as_str(), src);
        assert!(dec.warnings.is_empty(), "{:?}", dec.warnings);
    }
}

/// The fast reader against toml_edit's: on every input it accepts, its
/// leaves, metadata and block start are identical to toml_edit's, and it
/// accepts nothing toml_edit rejects. Documents it is unsure of fall back
/// to toml_edit, so only the plain ones are required to take the fast path.
#[test]
fn fast_reader_agrees_with_toml_edit() {
    fn check(src: &str) -> bool {
        if src.trim().is_empty() {
            // Refused before either reader runs.
            return false;
        }
        let Some(fast) = super::fast::parse(src) else {
            return false;
        };
        let slow = super::parse::parse_edit(src)
            .unwrap_or_else(|e| panic!("fast reader accepted what toml_edit rejects: {e}\n{src}"));
        if let Err(why) = super::parse::same(&fast, &slow) {
            panic!("{why}\n{src}");
        }
        true
    }
    // Everything a user is likely to write takes the fast path.
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/interop/sample.toml"
    ))
    .unwrap();
    let mut plain: Vec<String> = vec![TRICKY.into(), sample];
    plain.extend(CASES.iter().map(|s| s.to_string()));
    // The benchmark's shape (scripts/gen-bench-file.py), small.
    let mut bench = String::from("# generated\n");
    for i in 0..50 {
        bench.push_str(&format!(
            "\n[group_{i:05}]\nname = \"service-{i}\"\nport = {}\nratio = 0.{i}\nenabled = {}\nhosts = [\"h{i}\", \"h{i}b\"]\n",
            1024 + i,
            i % 2 == 0
        ));
    }
    plain.push(bench);
    // Comments inside empty and nested containers and in inline tables
    // (TOML 1.1 allows line breaks there); escapes and tabs in strings.
    plain.extend(
        [
            "a = [ # c\n]\nb = [[ # d\n], [], {}] # e\n",
            "t = {\n  a = 1, # c\n  # d\n  b = [ # e\n  2 ]\n}\n",
            "[x] # h\n[[y]] # i\nz = {} # j\n#\n",
            "s = '\\\t' # k\r\nu = \"\t\\u0041\" # l\r\n",
        ]
        .map(String::from),
    );
    // And their encrypted forms, with a metadata block.
    let encrypted: Vec<String> = plain
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let doc = TomlDocument::parse(s).unwrap();
            let edits: Vec<_> = doc
                .leaves()
                .iter()
                .enumerate()
                .map(|(i, l)| match l.kind {
                    LeafKind::Structure(_) => Replacement::Keep,
                    _ => Replacement::Encrypted(fake_enc(i, leaf_type(l))),
                })
                .collect();
            doc.render(&edits, Some(&sample_meta())).unwrap().text
        })
        .collect();
    plain.extend(encrypted);
    for src in &plain {
        assert!(check(src), "fast reader declined a plain document:\n{src}");
    }
    // Shapes the fast reader may accept or decline, valid or not: when it
    // accepts, it must agree.
    let odd = [
        "a = 1\na = 2",
        "[a]\n[a]",
        "[a]\nb = 1\n[a.b]",
        "a.b = 1\n[a]",
        "a.b = 1\n[a.c]",
        "[a.b]\n[a]\nb.c = 1",
        "[a.b.c]\nz = 9\n[a]\nb.c.t = 1",
        "[[a.b]]\n[a]\nb.y = 2",
        "[[a]]\n[a]",
        "[a]\n[[a]]",
        "a = []\n[[a]]",
        "a = {}\n[a.b]",
        "a = {b = 1}\na.c = 2",
        "t = {a = 1, a = 2}",
        "t = {a.b = 1, a.c = 2, d = [{x = 1}, {x = 2}]}",
        "t = {a.b = 1, a = 2}",
        "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2",
        "[[a]]\n[[a.b]]\n[[a.b]]\n[[a]]\n[[a.b]]",
        "[a.b]\nx = 1\n[a]\ny = 2",
        "sops = 1",
        "sops.x = 1",
        "[[sops]]\nx = 1",
        "[sops]\nx = 1\n[data]\ny = 2",
        "[sops.x]\ny = 1",
        "a = 1\n[sops]\nb = [1, {c = 2}]\n[sops.d]\ne = 3\n[[sops.f]]\ng = 4",
        "[a]\nsops = 1",
        "\"a\".'b' = 1\n[\"a\"]",
        "x = 99999999999999999999",
        "x = 1e999",
        "x = 1979-13-45",
        "x = \"\\q\"",
        "x = [1, 2",
        "x = { a = 1 ",
        "[x",
        "x = 1 y = 2",
        "  [ a . b ]  # c\n  c = 1",
        "a = [[], {}, [{}]]",
        "a.b.c = 1\na.b.d = 2\na.e = 3",
    ];
    let mut declined = 0;
    for src in odd {
        if !check(src) {
            declined += 1;
        }
        // Every prefix too, for half-written documents.
        for i in 1..src.len() {
            check(&src[..i]);
        }
    }
    assert!(declined > 10, "{declined}");
    // The fuzz corpus (fuzz/corpus/toml): thousands of odd inputs the
    // fuzzer kept for reaching new code; wherever the fast reader accepts
    // one, it must read it exactly as toml_edit does.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/toml");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz/corpus/toml") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(src) = std::str::from_utf8(&bytes) {
            check(src);
            seen += 1;
        }
    }
    assert!(seen > 500, "only {seen} corpus files read");
}

/// The byte scans that let a string or `ENC[...]` value go into the output
/// as it is must never pass text the escaping would change (or an ENC
/// check would refuse): every character up to U+0200 alone and between
/// others, in both kinds of basic string, and in literal strings.
#[test]
fn verbatim_fast_paths_agree_with_the_escaping() {
    for c in (0u32..0x200).filter_map(char::from_u32) {
        for s in [
            c.to_string(),
            format!("a{c}b"),
            format!("{c}{c}{c}"),
            format!("x{c}\n"),
            format!("{c}\n"),
            // Inside and after the 32-byte blocks the scans test at once.
            format!("{}{c}{}", "a".repeat(5), "b".repeat(40)),
            format!("{}{c}{}", "a".repeat(33), "b".repeat(3)),
            format!("{}{c}", "a".repeat(64)),
        ] {
            for multi in [false, true] {
                if super::basic_verbatim(&s, multi) {
                    assert_eq!(super::basic_escaped(&s, multi), s, "{s:?} {multi}");
                }
                let slow_literal = s.chars().enumerate().all(|(i, ch)| match ch {
                    '\t' => true,
                    '\n' => multi,
                    '\r' => multi && s[s.char_indices().nth(i).unwrap().0 + 1..].starts_with('\n'),
                    '\'' => multi,
                    ch => !(ch.is_control() && (ch as u32) < 0x80),
                }) && (!multi || !s.contains("'''"));
                assert_eq!(super::literal_ok(&s, multi), slow_literal, "{s:?} {multi}");
            }
            let enc_ok = !s
                .chars()
                .any(|ch| matches!(ch, '"' | '\'' | '\\') || ch.is_control());
            assert_eq!(
                super::enc_token(super::Style::Basic, &s, "\n").is_ok(),
                enc_ok,
                "{s:?}"
            );
        }
    }
}
