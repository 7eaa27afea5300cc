//! The fast reader against saphyr: wherever `fast::parse` accepts a text,
//! what it produces must equal what the saphyr path produces, field by
//! field. The reference is the saphyr path, never the fast reader's own
//! output.

use std::path::{Path, PathBuf};

use super::fast;
use super::parse::{self, Parsed};
use crate::document::{Leaf, LeafKind, Value};

/// The differences between two `Parsed`, described (empty when equal).
/// Values are compared exactly (floats by their bits, so NaN equals NaN).
fn diff(a: &Parsed, b: &Parsed) -> Vec<String> {
    let mut out = Vec::new();
    if a.leaves.len() != b.leaves.len() {
        out.push(format!("{} leaves vs {}", a.leaves.len(), b.leaves.len()));
    }
    for (i, (x, y)) in a.leaves.iter().zip(&b.leaves).enumerate() {
        if let Some(d) = leaf_diff(x, y) {
            out.push(format!("leaf {i}: {d}"));
        }
    }
    let dbg = |name: &str, x: String, y: String, out: &mut Vec<String>| {
        if x != y {
            out.push(format!("{name}:\n  fast:   {x}\n  saphyr: {y}"));
        }
    };
    dbg(
        "infos",
        format!("{:?}", a.infos),
        format!("{:?}", b.infos),
        &mut out,
    );
    if a.metadata != b.metadata {
        out.push(format!(
            "metadata:\n  fast:   {:?}\n  saphyr: {:?}",
            a.metadata, b.metadata
        ));
    }
    dbg(
        "docs",
        format!("{:?}", a.docs),
        format!("{:?}", b.docs),
        &mut out,
    );
    dbg(
        "anchors",
        format!("{:?}", a.anchors),
        format!("{:?}", b.anchors),
        &mut out,
    );
    dbg(
        "aliases",
        format!("{:?}", a.aliases),
        format!("{:?}", b.aliases),
        &mut out,
    );
    dbg(
        "marked",
        format!("{:?}", a.marked),
        format!("{:?}", b.marked),
        &mut out,
    );
    out
}

fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn leaf_diff(a: &Leaf, b: &Leaf) -> Option<String> {
    // The key path is derived from `loc`, so comparing `loc` covers it.
    if a.loc != b.loc || a.depth != b.depth || a.span != b.span {
        return Some(format!(
            "loc/depth/span {:?} {} {:?} vs {:?} {} {:?}",
            a.loc, a.depth, a.span, b.loc, b.depth, b.span
        ));
    }
    let same = match (&a.kind, &b.kind) {
        (
            LeafKind::Scalar {
                value: v1,
                source: s1,
            },
            LeafKind::Scalar {
                value: v2,
                source: s2,
            },
        ) => value_eq(v1, v2) && s1 == s2,
        (LeafKind::Comment(x), LeafKind::Comment(y)) => x == y,
        (LeafKind::Structure(x), LeafKind::Structure(y)) => x == y,
        _ => false,
    };
    // Test data only: showing the values is what makes a failure readable.
    (!same).then(|| {
        let show = |k: &LeafKind| match k {
            LeafKind::Scalar { value, source } => {
                let v = match value {
                    Value::Str(s) | Value::Time(s) => format!("{:?}", s.as_str()),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Bool(b) => b.to_string(),
                };
                format!(
                    "{value:?} {v} source {:?}",
                    source.as_deref().map(|s| s.as_str())
                )
            }
            other => format!("{other:?}"),
        };
        format!("{} vs {}", show(&a.kind), show(&b.kind))
    })
}

/// Compare the readers on `src`. Returns whether the fast reader accepted
/// it; panics (naming `what`) when it accepted and differs from saphyr, or
/// accepted a text that saphyr refuses.
fn check(what: &str, src: &str) -> bool {
    if !parse::checks_pass(src) {
        return false;
    }
    let Some(fast) = fast::parse(src) else {
        return false;
    };
    let slow = match parse::parse_saphyr(src) {
        Ok(p) => p,
        Err(e) => panic!("{what}: the fast reader accepted a text saphyr refuses: {e}"),
    };
    let d = diff(&fast, &slow);
    assert!(
        d.is_empty(),
        "{what}: fast reader differs:\n{}",
        d.join("\n")
    );
    true
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The text shroud writes for `src` (every value encrypted, metadata
/// appended), through the library with a throwaway data key.
fn encrypted(src: &str) -> Option<String> {
    use crate::engine::{self, EncryptSettings};
    use crate::metadata::{AgeKey, KeyGroup};
    let doc = super::YamlDocument::parse(src).ok()?;
    let groups = vec![KeyGroup {
        age: vec![AgeKey {
            recipient: "age1dummy".into(),
            enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
                .into(),
        }],
        other: vec![],
    }];
    let key = crate::crypto::DataKey::generate();
    let out = engine::encrypt(
        &doc,
        &key,
        groups,
        None,
        &EncryptSettings::default(),
        engine::now_utc(),
    )
    .ok()?;
    Some(out.text.to_string())
}

#[test]
fn helm_corpus_and_its_encrypted_form() {
    let files = files(&root().join("testdata/corpus/helm"));
    assert!(files.len() >= 323, "corpus missing: {}", files.len());
    let (mut yaml, mut accepted, mut enc, mut enc_accepted) = (0, 0, 0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            // JSON and others: the fast reader must still never differ.
            if let Ok(src) = std::fs::read_to_string(f) {
                check(&name, &src);
            }
            continue;
        }
        let src = std::fs::read_to_string(f).unwrap();
        yaml += 1;
        let ok = check(&name, &src);
        if !ok && std::env::var_os("FAST_DEBUG").is_some() {
            println!("DECLINED {name}");
        }
        accepted += usize::from(ok);
        if let Some(e) = encrypted(&src) {
            enc += 1;
            enc_accepted += usize::from(check(&format!("{name} (encrypted)"), &e));
        }
    }
    println!(
        "helm corpus: fast reader accepted {accepted} of {yaml} YAML files, \
         {enc_accepted} of {enc} encrypted forms"
    );
    // Most real configuration files are inside the subset (278 of 328 and
    // 300 of 324 when this was written); a drop here means the fast reader
    // stopped doing its job. FAST_DEBUG=1 lists the files it declines.
    assert!(accepted * 5 >= yaml * 4, "{accepted} of {yaml}");
    assert!(enc_accepted * 5 >= enc * 4, "{enc_accepted} of {enc}");
}

fn suite_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for p in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if p.is_dir() {
            if p.join("in.yaml").is_file() {
                out.push(p.join("in.yaml"));
            }
            suite_cases(&p, out);
        }
    }
}

#[test]
fn yaml_test_suite() {
    let mut cases = Vec::new();
    suite_cases(&root().join("tests/data/yaml-test-suite"), &mut cases);
    cases.sort();
    assert!(cases.len() > 350);
    let mut accepted = 0;
    for c in &cases {
        let Ok(src) = std::fs::read_to_string(c) else {
            continue;
        };
        accepted += usize::from(check(&c.display().to_string(), &src));
    }
    println!(
        "yaml-test-suite: fast reader accepted {accepted} of {}",
        cases.len()
    );
}

#[test]
fn fuzz_inputs() {
    let mut n = 0;
    let mut accepted = 0;
    for dir in [
        "fuzz/corpus/yaml",
        "fuzz/regressions/yaml",
        "fuzz/artifacts/yaml",
    ] {
        let dir = root().join(dir);
        if !dir.is_dir() {
            continue;
        }
        for f in files(&dir) {
            let Ok(src) = String::from_utf8(std::fs::read(&f).unwrap()) else {
                continue;
            };
            n += 1;
            accepted += usize::from(check(&f.display().to_string(), &src));
        }
    }
    assert!(n > 1000, "fuzz corpus missing: {n}");
    println!("fuzz corpus: fast reader accepted {accepted} of {n}");
}

#[test]
fn bench_file_and_its_encrypted_form() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(root().join("scripts/gen-bench-file.py"))
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs scripts/gen-bench-file.py");
    assert!(status.success());
    let src = std::fs::read_to_string(dir.path().join("bench.yaml")).unwrap();
    assert!(
        check("bench.yaml", &src),
        "the bench file must be read fast"
    );
    let enc = encrypted(&src).unwrap();
    assert!(
        check("bench.yaml encrypted", &enc),
        "the encrypted bench file must be read fast"
    );
}

/// Hand-written corner cases. Each is compared with saphyr; `fast` says
/// whether the fast reader is expected to take it (inputs outside the
/// subset must be declined, not misread).
#[test]
fn corner_cases() {
    let cases: &[(&str, bool)] = &[
        ("a: 1\n", true),
        ("'a: b': 'c: d'\n\"e: f\": \"g # h\"\n", true),
        ("a: b # c\nd: e#f\ng: 'h # i' # j\n", true),
        ("a: b   \nc:    \nd: 'e'   \n", true),
        ("a: b\r\nc:\r\n  - d\r\n  - e: f\r\n# c\r\n", true),
        ("a:\nb: ''\nc: \"\"\nd: ~\n", true),
        ("list:\n- a: 1\n  b: 2\n-\n  c: 3\n- - x\n  - y\n-\n", true),
        ("a:\n  - x\n  -   y: 1\n      z: 2\n  - # c\n    w\n", true),
        ("? a\n: b\n", false),
        ("a: 1\n...\n", false),
        ("a: 1\n---\nb: 2\n", false),
        ("---\na: 1\n", true),
        ("--- # doc\n# c\na: 1\n", true),
        ("\u{feff}a: 1\nb: 2\n", true),
        ("\u{feff}---\na: 1\n", true),
        ("ключ: значение\n名前: '値'\nemoji: \"🔐\"\n", true),
        ("a: b\u{2028}c\n", false),
        ("a: b\u{85}c\n", false),
        (
            "a: [1, 2]\nb: [\"x\", 'y',z w ] # c\nl:\n- [a]\n-   [ -1 ,  2]\n",
            true,
        ),
        ("a: [1, 2,]\n", false),
        ("a: [1, [2]]\n", false),
        ("a: [x: 1]\n", false),
        ("a: [http://x]\n", false),
        ("a: [1, 2\n  ]\n", false),
        ("a: [1] x\n", false),
        ("a: [\"x\"y]\n", false),
        ("a: [, 1]\n", false),
        ("a: {b: 1}\n", false),
        ("a: &x 1\nb: *x\n", false),
        ("a: !!str 1\n", false),
        ("a: >\n  folded\n", false),
        ("a: |\n  line 1\n  line 2\nb: |-\n  x\nc: |+\n  y\n", true),
        ("a: |\n  line 1\n\n  line 3\n \n  line 5\nb: 1\n", true),
        ("a: |-\n  x\n\n\n    y\n- \n", false),
        ("a: |-\n  x\n\n\n    y\nb:\n", true),
        ("a: |\n  line 1\n\nb: 1\n", false),
        ("a: |\n  line 1\n    \n  line 3\n", false),
        ("a: |\n  line 1\n\n", false),
        ("a: |\n  line 1", false),
        ("a:\n  - |\n    x\n  - |+\n    y\n", true),
        ("a: multi\n  line\n", false),
        ("a: 'multi\n  line'\n", false),
        (
            "a: \"esc\\n\\t\\\\ \\\" \\/ \\x41 \\u00e9 \\U0001F510 \\e\\0\"\n",
            true,
        ),
        ("\"\\\"\": \"\\\\\"\n", true),
        ("a: \"\\N\\_\\L\\P\"\n", false),
        ("a: \"\\ud800\"\n", false),
        ("a: \"\\q\"\n", false),
        ("a: \"line \\\n  next\"\n", false),
        ("%YAML 1.2\n---\na: 1\n", false),
        ("a:\tb\n", false),
        ("\ta: b\n", false),
        ("a: b\n\tc: d\n", false),
        ("a: 1\na: 2\n", false),
        ("1: a\n", false),
        ("just a scalar\n", false),
        ("- a\n- b\n", false),
        ("# only a comment\n", false),
        ("  a: 1\n  b:\n    c: 2\n", true),
        ("a:\n  b:\n    c: 1\n  # inner\n# outer\nd: 2\n", true),
        ("a: 1 # end", true),
        ("a:", true),
        ("a: x\nsops:\n    k: v\n    l:\n        - 1\n", true),
        ("sops:\n  a: 1\nb: 2\n", true),
        ("a: 1\nsops:\n  l: []\n", false),
        ("a: 1\nsops:\n  l: [x]\n", false),
        ("sops:\n  a: 1\nb: [x]\nc: {}\n", true),
        (
            "a: ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi==,type:str]\n\
             sops:\n    age:\n        - recipient: age1x\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWdl\n            -----END AGE ENCRYPTED FILE-----\n    version: 3.11.0\n",
            true,
        ),
        ("a: b: c\n", false),
        ("a : b\n", false),
        ("a: - b\n", false),
        (
            "url: http://x.example/a#b\ntime: 12:30:00\nneg: -1\nq: ?x\n",
            true,
        ),
        (
            "a: 0x1F\nb: 1.5e3\nc: .inf\nd: 2001-12-14t21:59:43.10-05:00\ne: 0o17\nf: 1_000\n",
            true,
        ),
        ("big: 18446744073709551615\n", false),
        ("a:\n  b: 1\n c: 2\n", false),
        ("a: 'it''s'\n", true),
        ("a: {{ template }}\n", false),
        ("a: b{c}[d],e\n", true),
        ("empty_map: {}\nempty_list: [] # c\nl:\n- {}\n- []\n", true),
        ("{}\n", false),
        ("a: { }\n", false),
        ("a: {}x\n", false),
        ("a:\n  {}\n", true),
        ("a:\n  - \n  - b\n", true),
        ("a: 'x'y\n", false),
        ("a: \"x\"#c\n", false),
    ];
    let mut failed = Vec::new();
    for (i, (src, want)) in cases.iter().enumerate() {
        let got = check(&format!("case {i} {src:?}"), src);
        if got != *want {
            failed.push(format!("case {i} {src:?}: accepted {got}, expected {want}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
