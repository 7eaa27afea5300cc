//! Interop with the real sops 3.11 and age binaries, both directions.
//!
//! Data equality is judged through sops's own eyes: a plaintext file's data
//! is what `sops encrypt` then `sops decrypt --output-type json` prints for
//! it, so both sides are read by the same YAML/JSON loader (go-yaml v3 and
//! Go's encoding/json) and no third parser's opinions creep in.
//!
//! Locally these tests skip when sops or age is missing; under CI=true they
//! fail instead (tests/common).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{identity_file, recipient, require_tool, shroud};

struct Tools {
    sops: PathBuf,
    age: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        sops: require_tool("sops")?,
        age: require_tool("age")?,
    })
}

fn ok(out: Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// sops's reading of a plaintext file's data, as JSON.
fn sops_view_of_plaintext(t: &Tools, home: &Path, plain: &Path) -> String {
    let ext = plain.extension().unwrap().to_str().unwrap();
    let enc = home.join(format!("view.enc.{ext}"));
    let out = common::isolated(&t.sops, home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&enc)
        .arg(plain)
        .output()
        .unwrap();
    ok(out, "sops encrypt of the plaintext");
    sops_decrypt_json(t, home, &enc)
}

/// `sops decrypt --output-type json` of an encrypted file.
fn sops_decrypt_json(t: &Tools, home: &Path, enc: &Path) -> String {
    let out = common::isolated(&t.sops, home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", "json"])
        .arg(enc)
        .output()
        .unwrap();
    String::from_utf8(ok(out, &format!("sops decrypt of {}", enc.display()))).unwrap()
}

fn shroud_encrypt(home: &Path, plain: &Path, out_path: &Path) {
    let out = shroud(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(out_path)
        .arg(plain)
        .output()
        .unwrap();
    ok(out, &format!("shroud encrypt of {}", plain.display()));
}

fn shroud_decrypt(home: &Path, enc: &Path) -> Vec<u8> {
    let out = shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .arg(enc)
        .output()
        .unwrap();
    ok(out, &format!("shroud decrypt of {}", enc.display()))
}

const SAMPLES: &[&str] = &[
    "interop/sample.yaml",
    "interop/sample.json",
    "interop/multidoc.yaml",
];

#[test]
fn sops_decrypts_what_shroud_encrypts() {
    let Some(t) = tools() else { return };
    for rel in SAMPLES {
        let home = tempfile::tempdir().unwrap();
        let plain = common::testdata(rel);
        let ext = plain.extension().unwrap().to_str().unwrap();
        let enc = home.path().join(format!("shroud.enc.{ext}"));
        shroud_encrypt(home.path(), &plain, &enc);
        assert_eq!(
            sops_decrypt_json(&t, home.path(), &enc),
            sops_view_of_plaintext(&t, home.path(), &plain),
            "{rel}: sops reads different data from shroud's file"
        );
    }
}

#[test]
fn shroud_decrypts_what_sops_encrypts() {
    let Some(t) = tools() else { return };
    for rel in SAMPLES {
        let home = tempfile::tempdir().unwrap();
        let plain = common::testdata(rel);
        let ext = plain.extension().unwrap().to_str().unwrap();
        let enc = home.path().join(format!("sops.enc.{ext}"));
        let out = common::isolated(&t.sops, home.path())
            .args(["encrypt", "--age", &recipient("alice"), "--output"])
            .arg(&enc)
            .arg(&plain)
            .output()
            .unwrap();
        ok(out, "sops encrypt");
        let decrypted = shroud_decrypt(home.path(), &enc);
        let back = home.path().join(format!("shroud-decrypted.{ext}"));
        fs::write(&back, decrypted).unwrap();
        assert_eq!(
            sops_view_of_plaintext(&t, home.path(), &back),
            sops_view_of_plaintext(&t, home.path(), &plain),
            "{rel}: shroud's decryption of a sops file holds different data"
        );
    }
}

#[test]
fn age_opens_the_wrapped_data_key() {
    let Some(t) = tools() else { return };
    let home = tempfile::tempdir().unwrap();
    let plain = common::testdata("interop/sample.json");
    let enc = home.path().join("shroud.enc.json");
    shroud_encrypt(home.path(), &plain, &enc);
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&enc).unwrap()).unwrap();
    let armored = doc["sops"]["age"][0]["enc"].as_str().unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(armored.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
    let wrapped = home.path().join("key.age");
    fs::write(&wrapped, armored).unwrap();
    let out = common::isolated(&t.age, home.path())
        .arg("-d")
        .arg("-i")
        .arg(identity_file("alice"))
        .arg(&wrapped)
        .output()
        .unwrap();
    assert_eq!(ok(out, "age -d").len(), 32, "the data key is 32 bytes");
}

#[test]
fn every_corpus_file_shroud_encrypts_decrypts_with_sops_to_the_same_data() {
    let Some(t) = tools() else { return };
    let mut files: Vec<PathBuf> = fs::read_dir(common::corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for plain in &files {
        let text = fs::read_to_string(plain).unwrap();
        if text.trim().is_empty() {
            continue; // refused by both tools (exit 92)
        }
        let home = tempfile::tempdir().unwrap();
        let ext = plain.extension().unwrap().to_str().unwrap();
        let enc = home.path().join(format!("shroud.enc.{ext}"));
        shroud_encrypt(home.path(), plain, &enc);
        let ours = sops_decrypt_json(&t, home.path(), &enc);
        // Comment-only files: sops itself cannot encrypt them, but it must
        // still open shroud's encryption of them.
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            checked += 1;
            continue;
        }
        if ours != sops_view_of_plaintext(&t, home.path(), plain) {
            failures.push(plain.display().to_string());
        }
        checked += 1;
    }
    eprintln!(
        "corpus interop: {checked} files decrypted by sops, {} with different data",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "sops reads different data for:\n{}",
        failures.join("\n")
    );
    assert!(checked >= 300, "only {checked} corpus files were checked");
}

#[test]
fn ssh_ed25519_recipients_work_both_ways() {
    let Some(t) = tools() else { return };
    let home = tempfile::tempdir().unwrap();
    let plain = common::testdata("interop/sample.json");
    let ssh_pub = fs::read_to_string(common::keys_dir().join("ssh_ed25519.pub")).unwrap();
    let ssh_pub = ssh_pub.trim();
    let ssh_key = common::keys_dir().join("ssh_ed25519");

    // shroud encrypts to the SSH key; sops decrypts with the private key.
    let ours = home.path().join("ours.enc.json");
    let o = shroud(home.path())
        .args(["encrypt", "--age", ssh_pub, "--output"])
        .arg(&ours)
        .arg(&plain)
        .output()
        .unwrap();
    ok(o, "shroud encrypt to an ssh recipient");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&ours).unwrap()).unwrap();
    assert_eq!(
        doc["sops"]["age"][0]["recipient"], ssh_pub,
        "the recipient keeps its comment"
    );
    let o = common::isolated(&t.sops, home.path())
        .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ssh_key)
        .args(["decrypt", "--output-type", "json"])
        .arg(&ours)
        .output()
        .unwrap();
    let sops_reads = String::from_utf8(ok(o, "sops decrypt with the ssh key")).unwrap();
    assert_eq!(sops_reads, sops_view_of_plaintext(&t, home.path(), &plain));

    // sops encrypts to the SSH key; shroud decrypts with the private key.
    let theirs = home.path().join("theirs.enc.json");
    let o = common::isolated(&t.sops, home.path())
        .args(["encrypt", "--age", ssh_pub, "--output"])
        .arg(&theirs)
        .arg(&plain)
        .output()
        .unwrap();
    ok(o, "sops encrypt to an ssh recipient");
    let o = shroud(home.path())
        .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ssh_key)
        .arg("decrypt")
        .arg(&theirs)
        .output()
        .unwrap();
    let decrypted = ok(o, "shroud decrypt with the ssh key");
    let back = home.path().join("back.json");
    fs::write(&back, decrypted).unwrap();
    assert_eq!(
        sops_view_of_plaintext(&t, home.path(), &back),
        sops_view_of_plaintext(&t, home.path(), &plain)
    );
}

/// sops writes two key groups when .sops.yaml asks for them; shroud must
/// rebuild the data key from the Shamir shares (threshold 2: both keys
/// needed). "1 of 2" in sops is one group with two keys (sops refuses a
/// Shamir threshold of 1): either key opens it.
#[test]
fn shamir_key_groups_written_by_sops_decrypt_with_shroud() {
    let Some(t) = tools() else { return };
    for two_groups in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let config = if two_groups {
            format!(
                "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n",
                recipient("alice"),
                recipient("bob")
            )
        } else {
            format!(
                "creation_rules:\n  - key_groups:\n      - age: [{}, {}]\n",
                recipient("alice"),
                recipient("bob")
            )
        };
        fs::write(dir.path().join(".sops.yaml"), config).unwrap();
        let plain = dir.path().join("plain.json");
        fs::copy(common::testdata("interop/sample.json"), &plain).unwrap();
        let enc = dir.path().join("groups.enc.json");
        let o = common::isolated(&t.sops, dir.path())
            .current_dir(dir.path())
            .args(["encrypt", "--output"])
            .arg(&enc)
            .arg(&plain)
            .output()
            .unwrap();
        ok(o, "sops encrypt with key groups");
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(&enc).unwrap()).unwrap();
        if two_groups {
            assert_eq!(doc["sops"]["key_groups"].as_array().unwrap().len(), 2);
        }

        let both = format!(
            "{}\n{}",
            fs::read_to_string(identity_file("alice")).unwrap(),
            fs::read_to_string(identity_file("bob")).unwrap()
        );
        let o = shroud(dir.path())
            .env("SOPS_AGE_KEY", &both)
            .arg("decrypt")
            .arg(&enc)
            .output()
            .unwrap();
        let decrypted = ok(o, "shroud decrypt with both keys");
        let back = dir.path().join("back.json");
        fs::write(&back, decrypted).unwrap();
        assert_eq!(
            sops_view_of_plaintext(&t, dir.path(), &back),
            sops_view_of_plaintext(&t, dir.path(), &plain)
        );

        let only_alice = shroud(dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .arg("decrypt")
            .arg(&enc)
            .output()
            .unwrap();
        if two_groups {
            assert_eq!(
                only_alice.status.code(),
                Some(128),
                "one share of two must not be enough"
            );
        } else {
            assert!(
                only_alice.status.success(),
                "{}",
                String::from_utf8_lossy(&only_alice.stderr)
            );
        }
    }
}

#[test]
fn binary_files_round_trip_both_ways_byte_for_byte() {
    let Some(t) = tools() else { return };
    let home = tempfile::tempdir().unwrap();
    // Non-UTF-8 content of a few megabytes, deterministic.
    let mut bytes = Vec::with_capacity(3 << 20);
    let mut x: u32 = 0x9e37_79b9;
    while bytes.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let plain = home.path().join("blob.bin");
    fs::write(&plain, &bytes).unwrap();

    let ours = home.path().join("blob.shroud");
    shroud_encrypt(home.path(), &plain, &ours);
    let o = common::isolated(&t.sops, home.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args([
            "decrypt",
            "--input-type",
            "binary",
            "--output-type",
            "binary",
        ])
        .arg(&ours)
        .output()
        .unwrap();
    assert!(
        ok(o, "sops decrypt of shroud's binary file") == bytes,
        "sops got different bytes"
    );
    assert!(
        shroud_decrypt(home.path(), &ours) == bytes,
        "shroud got different bytes"
    );

    let theirs = home.path().join("blob.sops");
    let o = common::isolated(&t.sops, home.path())
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&theirs)
        .arg(&plain)
        .output()
        .unwrap();
    ok(o, "sops encrypt of a binary file");
    assert!(
        shroud_decrypt(home.path(), &theirs) == bytes,
        "shroud read sops's binary file wrong"
    );
}

/// The other direction: shroud writes two Shamir key groups (from
/// .sops.yaml); real sops needs both keys to open the file.
#[test]
fn shamir_key_groups_written_by_shroud_decrypt_with_sops() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let plain = dir.path().join("plain.json");
    fs::copy(common::testdata("interop/sample.json"), &plain).unwrap();
    let enc = dir.path().join("groups.enc.json");
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["encrypt", "--output"])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    ok(o, "shroud encrypt with key groups");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&enc).unwrap()).unwrap();
    assert_eq!(doc["sops"]["key_groups"].as_array().unwrap().len(), 2);
    assert_eq!(doc["sops"]["shamir_threshold"], 2);
    let both = format!(
        "{}\n{}",
        fs::read_to_string(identity_file("alice")).unwrap(),
        fs::read_to_string(identity_file("bob")).unwrap()
    );
    let o = common::isolated(&t.sops, dir.path())
        .env("SOPS_AGE_KEY", &both)
        .args(["decrypt", "--output-type", "json"])
        .arg(&enc)
        .output()
        .unwrap();
    let got = String::from_utf8(ok(o, "sops decrypt with both keys")).unwrap();
    assert_eq!(got, sops_view_of_plaintext(&t, dir.path(), &plain));
    let o = common::isolated(&t.sops, dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(128),
        "one share of two must not be enough for sops either"
    );
}

/// A file big enough that shroud encrypts and decrypts it a piece at a
/// time (src/stream), across both tools, both ways.
#[test]
fn big_files_that_shroud_streams_cross_both_ways() {
    let Some(t) = tools() else { return };
    big_file_crosses_both_ways(&t, "yaml", &common::big_yaml(1200));
}

/// The same for JSON: sops reads shroud's streamed output (metadata
/// spliced in before the root object's closing brace), and shroud streams
/// the decryption of what sops writes (its own re-serialised layout).
#[test]
fn big_json_files_that_shroud_streams_cross_both_ways() {
    let Some(t) = tools() else { return };
    big_file_crosses_both_ways(&t, "json", &common::big_json(1200));
}

fn big_file_crosses_both_ways(t: &Tools, ext: &str, text: &str) {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let plain = home.join(format!("big.{ext}"));
    fs::write(&plain, text).unwrap();
    let data = sops_view_of_plaintext(t, home, &plain);

    // shroud -> sops.
    let enc = home.join(format!("shroud.enc.{ext}"));
    let out = shroud(home)
        .args([
            "--verbose",
            "encrypt",
            "--age",
            &recipient("alice"),
            "--output",
        ])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "shroud encrypt of the big file");
    assert!(err.contains("encrypted in "), "did not stream: {err}");
    assert_eq!(
        sops_decrypt_json(t, home, &enc),
        data,
        "sops reads other data"
    );

    // sops -> shroud.
    let enc = home.join(format!("sops.enc.{ext}"));
    let out = common::isolated(&t.sops, home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    ok(out, "sops encrypt of the big file");
    let out = shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["--verbose", "decrypt"])
        .arg(&enc)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let back = home.join(format!("shroud-decrypted.{ext}"));
    fs::write(&back, ok(out, "shroud decrypt of sops's big file")).unwrap();
    assert!(err.contains("decrypted in "), "did not stream: {err}");
    assert_eq!(
        sops_view_of_plaintext(t, home, &back),
        data,
        "shroud reads other data"
    );
}

/// `decrypt --extract` of a map or a list in a file encrypted by `encrypter`.
fn extract_with(program: &Path, home: &Path, enc: &Path, output_type: &str, path: &str) -> Vec<u8> {
    let out = common::isolated(program, home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", output_type, "--extract", path])
        .arg(enc)
        .output()
        .unwrap();
    ok(
        out,
        &format!("{} decrypt --extract {path}", program.display()),
    )
}

/// sops's reading of a YAML `--extract` output: a map as it is, a list as
/// the value of a key (indented under it, which changes no value).
fn sops_view_of_yaml_extract(t: &Tools, home: &Path, text: &[u8], list: bool) -> String {
    let text = String::from_utf8(text.to_vec()).unwrap();
    let doc = if list {
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("  {l}")
                }
            })
            .collect();
        format!("k:\n{}\n", lines.join("\n"))
    } else {
        text
    };
    let plain = home.join("extract.yaml");
    fs::write(&plain, doc).unwrap();
    sops_view_of_plaintext(t, home, &plain)
}

/// A JSON value with every number as a float: sops 3.11 reads every JSON
/// number as a float (and prints `1` for it), shroud keeps it a float too
/// but prints `1.0`; the same number either way.
fn numbers_as_floats(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => J::from(n.as_f64().unwrap()),
        J::Array(a) => J::Array(a.into_iter().map(numbers_as_floats).collect()),
        J::Object(o) => J::Object(
            o.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn extract_of_a_map_or_a_list_gives_the_data_sops_gives() {
    let Some(t) = tools() else { return };
    let yaml = r#"# top
database:
  url: postgres://billing@db.internal:5432/billing
  password: correct-horse-battery-staple   # rotate quarterly
  nested:
    # inner comment
    deep: "quoted: yes"
    n: 1.50
    on: 'on'
    flag: true
    nothing: null
    when: 2024-01-02T03:04:05Z
feature_flags:
  - new-invoices
  - 'yes'
  - "123"
a:
  - name: x
    port: 1
  - name: y
    tags: [p, q]
quote: {s1: ": colon", s2: "", s3: "a#b", s4: 'it''s'}
multi:
  lit: |
    line one
    line two
  fold: >-
    folded
    text
  keep: |+
    kept

flow: {x: 1, y: [2, 3]}
base: &b
  k: v
other:
  ref: *b
  z: 1
empty_map: {}
empty_list: []
"#;
    let json = r#"{
  "db": {"user": "app", "price": 1.50, "n": null, "s": "line\nbreak \"q\" \u00e9 <&>"},
  "list": [1, "two", {"three": 3}, [4]],
  "m": {
      "a": 1,
      "b": [true, false]
  },
  "e": {},
  "l": []
}
"#;
    let maps = [
        r#"["database"]"#,
        r#"["database"]["nested"]"#,
        r#"["a"][0]"#,
        r#"["quote"]"#,
        r#"["multi"]"#,
        r#"["flow"]"#,
        r#"["other"]"#,
    ];
    let lists = [r#"["feature_flags"]"#, r#"["a"]"#, r#"["a"][1]["tags"]"#];
    let json_nodes = [
        r#"["db"]"#,
        r#"["list"]"#,
        r#"["list"][2]"#,
        r#"["list"][3]"#,
        r#"["m"]"#,
        r#"["m"]["b"]"#,
    ];
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let shroud_bin = Path::new(env!("CARGO_BIN_EXE_shroud"));
    for (ext, body) in [("yaml", yaml), ("json", json)] {
        let plain = home.join(format!("plain.{ext}"));
        fs::write(&plain, body).unwrap();
        // A file of each: shroud's keeps the layout, sops's is re-laid out.
        let by_shroud = home.join(format!("shroud.enc.{ext}"));
        shroud_encrypt(home, &plain, &by_shroud);
        let by_sops = home.join(format!("sops.enc.{ext}"));
        let out = common::isolated(&t.sops, home)
            .args(["encrypt", "--age", &recipient("alice"), "--output"])
            .arg(&by_sops)
            .arg(&plain)
            .output()
            .unwrap();
        ok(out, "sops encrypt");
        for enc in [&by_shroud, &by_sops] {
            let both = |ty: &str, path: &str| {
                (
                    extract_with(&t.sops, home, enc, ty, path),
                    extract_with(shroud_bin, home, enc, ty, path),
                )
            };
            let what =
                |ty: &str, path: &str| format!("{} --output-type {ty} {path}", enc.display());
            let json_paths: &[&str] = if ext == "yaml" {
                &[
                    r#"["database"]"#,
                    r#"["feature_flags"]"#,
                    r#"["a"]"#,
                    r#"["multi"]"#,
                ]
            } else {
                &json_nodes
            };
            for path in json_paths {
                let (s, o) = both("json", path);
                let parse = |b: &[u8]| numbers_as_floats(serde_json::from_slice(b).unwrap());
                assert_eq!(parse(&o), parse(&s), "{}", what("json", path));
                // A list prints without a final newline, a map with one.
                assert_eq!(
                    o.ends_with(b"\n"),
                    s.ends_with(b"\n"),
                    "{}",
                    what("json", path)
                );
            }
            if ext == "json" {
                for path in [r#"["m"]"#, r#"["list"]"#] {
                    let (s, o) = both("yaml", path);
                    let list = path.contains("list");
                    assert_eq!(
                        sops_view_of_yaml_extract(&t, home, &o, list),
                        sops_view_of_yaml_extract(&t, home, &s, list),
                        "{}",
                        what("yaml", path)
                    );
                }
                for path in [r#"["e"]"#, r#"["l"]"#] {
                    let (s, o) = both("json", path);
                    assert_eq!(o, s, "{}", what("json", path));
                }
                continue;
            }
            for (paths, list) in [(&maps[..], false), (&lists[..], true)] {
                for path in paths {
                    let (s, o) = both("yaml", path);
                    assert_eq!(
                        sops_view_of_yaml_extract(&t, home, &o, list),
                        sops_view_of_yaml_extract(&t, home, &s, list),
                        "{}",
                        what("yaml", path)
                    );
                }
            }
            for path in [
                r#"["empty_map"]"#,
                r#"["empty_list"]"#,
                r#"["database"]["nested"]["nothing"]"#,
            ] {
                let (s, o) = both("yaml", path);
                assert_eq!(o, s, "{}", what("yaml", path));
            }
        }
    }
}
