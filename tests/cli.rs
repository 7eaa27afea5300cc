//! The `shroud` command as a user meets it: round trips, exit codes shared
//! with sops, messages that name the file and place, and nothing written on
//! failure.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{identity_file, recipient, shroud};

/// Secrets in the test inputs; no error message may contain them.
const SECRETS: &[&str] = &["correct-horse-battery-staple", "sm-9f8e7d6c5b4a", "hunter2"];

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_no_secret(o: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    for s in SECRETS {
        assert!(!all.contains(s), "a secret leaked into the output: {all}");
    }
}

fn encrypt_to(home: &Path, input: &Path, output: &Path) {
    let o = shroud(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(output)
        .arg(input)
        .output()
        .unwrap();
    assert!(o.status.success(), "encrypt failed: {}", stderr(&o));
}

fn decrypt(home: &Path, file: &Path) -> Output {
    shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap()
}

/// A temp dir holding an encrypted copy of testdata/example.yaml.
fn encrypted_example() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("example.enc.yaml");
    encrypt_to(dir.path(), &common::testdata("example.yaml"), &enc);
    (dir, enc)
}

#[test]
fn encrypt_then_decrypt_gives_back_the_same_bytes() {
    for rel in [
        "example.yaml",
        "interop/sample.yaml",
        "interop/sample.json",
        "interop/multidoc.yaml",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let original = common::testdata(rel);
        let ext = original.extension().unwrap().to_str().unwrap();
        let enc = dir.path().join(format!("enc.{ext}"));
        encrypt_to(dir.path(), &original, &enc);
        let encrypted = fs::read_to_string(&enc).unwrap();
        assert!(
            encrypted.contains("ENC[AES256_GCM,data:"),
            "{rel}: nothing encrypted"
        );
        let o = decrypt(dir.path(), &enc);
        assert!(o.status.success(), "{rel}: {}", stderr(&o));
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            fs::read_to_string(&original).unwrap(),
            "{rel}"
        );
    }
}

#[test]
fn documented_exceptions_come_back_in_the_nearest_layout() {
    // Hand-written expectation: see testdata/interop/exceptions.decrypted.yaml.
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("exceptions.enc.yaml");
    encrypt_to(
        dir.path(),
        &common::testdata("interop/exceptions.yaml"),
        &enc,
    );
    let o = decrypt(dir.path(), &enc);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        fs::read_to_string(common::testdata("interop/exceptions.decrypted.yaml")).unwrap()
    );
}

#[test]
fn encrypted_file_hides_values_but_keeps_keys_and_comments_layout() {
    let (_dir, enc) = encrypted_example();
    let text = fs::read_to_string(&enc).unwrap();
    for s in SECRETS.iter().take(2) {
        assert!(!text.contains(s), "{s} is readable in the encrypted file");
    }
    for key in ["service:", "  replicas: ENC[", "database:", "  - ENC["] {
        assert!(text.contains(key), "{key:?} missing from:\n{text}");
    }
    // The comment is encrypted in place, as sops does.
    assert!(
        text.contains("   #ENC[AES256_GCM,"),
        "inline comment not encrypted in place:\n{text}"
    );
    assert!(!text.contains("rotate quarterly"));
}

#[test]
fn new_output_files_are_private_and_in_place_keeps_permissions() {
    let (dir, enc) = encrypted_example();
    assert_eq!(
        fs::metadata(&enc).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let target = dir.path().join("in-place.yaml");
    fs::copy(common::testdata("example.yaml"), &target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let o = shroud(dir.path())
        .args(["encrypt", "-i", "--age", &recipient("alice")])
        .arg(&target)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(fs::read_to_string(&target).unwrap().contains("sops:"));
    // No temporary file is left beside it.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".shroud-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn encrypting_an_encrypted_file_exits_203_and_writes_nothing() {
    let (dir, enc) = encrypted_example();
    let before = fs::read(&enc).unwrap();
    let o = shroud(dir.path())
        .args(["encrypt", "-i", "--age", &recipient("alice")])
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(203), "{}", stderr(&o));
    assert!(stderr(&o).contains("already encrypted"));
    assert_eq!(fs::read(&enc).unwrap(), before);
}

#[test]
fn decrypting_a_plain_file_exits_1_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = decrypt(dir.path(), &common::testdata("example.yaml"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not encrypted"), "{}", stderr(&o));
    assert!(stderr(&o).contains("example.yaml"));
}

#[test]
fn a_wrong_key_exits_128_and_names_the_recipients() {
    let (dir, enc) = encrypted_example();
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(128), "{}", stderr(&o));
    assert!(stderr(&o).contains(&recipient("alice")), "{}", stderr(&o));
    assert_no_secret(&o);
    let bob_secret = fs::read_to_string(identity_file("bob")).unwrap();
    let bob_secret = bob_secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY"))
        .unwrap();
    assert!(!stderr(&o).contains(bob_secret));
}

#[test]
fn tampering_is_refused() {
    let (dir, enc) = encrypted_example();
    let text = fs::read_to_string(&enc).unwrap();

    // A flipped byte in a ciphertext: the value fails to decrypt (25).
    let i = text.find("password: ENC[AES256_GCM,data:").unwrap()
        + "password: ENC[AES256_GCM,data:".len();
    let mut flipped = text.clone().into_bytes();
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let t1 = dir.path().join("flipped.yaml");
    fs::write(&t1, &flipped).unwrap();
    let o = decrypt(dir.path(), &t1);
    assert_eq!(o.status.code(), Some(25), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(r#"["database"]["password"]"#),
        "{}",
        stderr(&o)
    );

    // Two encrypted values swapped between keys: both are bound to their path.
    let user_line = text.lines().find(|l| l.starts_with("  user: ")).unwrap();
    let token_line = text.lines().find(|l| l.starts_with("  token: ")).unwrap();
    let swapped = text
        .replace(user_line, "@@USER@@")
        .replace(token_line, &token_line.replace("token", "user"))
        .replace("@@USER@@", &user_line.replace("user", "token"));
    let t2 = dir.path().join("swapped.yaml");
    fs::write(&t2, swapped).unwrap();
    assert_eq!(decrypt(dir.path(), &t2).status.code(), Some(25));

    // Swapped list items keep their AAD (same list) but break the MAC (51).
    let items: Vec<&str> = text.lines().filter(|l| l.starts_with("  - ENC[")).collect();
    assert_eq!(items.len(), 2);
    let swapped = text
        .replace(items[0], "@@A@@")
        .replace(items[1], items[0])
        .replace("@@A@@", items[1]);
    let t3 = dir.path().join("list.yaml");
    fs::write(&t3, swapped).unwrap();
    let o = decrypt(dir.path(), &t3);
    assert_eq!(o.status.code(), Some(51), "{}", stderr(&o));
    // --ignore-mac reads it anyway, with a warning.
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--ignore-mac"])
        .arg(&t3)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(stderr(&o).contains("MAC"));
}

#[test]
fn malformed_input_names_file_line_and_column_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = "good: value\nbad: [unclosed\nsecret: hunter2\n";
    fs::write(&bad, text).unwrap();
    let o = shroud(dir.path())
        .args(["encrypt", "-i", "--age", &recipient("alice")])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains("bad.yaml") && msg.contains("line "), "{msg}");
    assert_no_secret(&o);
    assert_eq!(fs::read_to_string(&bad).unwrap(), text);

    let bad_json = dir.path().join("bad.json");
    fs::write(&bad_json, "{\n  \"a\": 1,\n  \"b\": 2,\n}\n").unwrap();
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice")])
        .arg(&bad_json)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The location of the trailing comma itself.
    assert!(stderr(&o).contains("line 3, column 9"), "{}", stderr(&o));
}

#[test]
fn empty_and_missing_files_use_the_sops_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    fs::write(&empty, "").unwrap();
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice")])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(92), "{}", stderr(&o));
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice")])
        .arg(dir.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(100), "{}", stderr(&o));
}

#[test]
fn conflicting_options_exit_8() {
    let (dir, enc) = encrypted_example();
    let o = shroud(dir.path())
        .args(["decrypt", "-i", "--output", "x.yaml"])
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(8));
    let o = shroud(dir.path()).args(["decrypt", "-i"]).output().unwrap();
    assert_eq!(o.status.code(), Some(8));
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice")])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(8),
        "stdin without a type: {}",
        stderr(&o)
    );
}

#[test]
fn extract_prints_one_value() {
    let (dir, enc) = encrypted_example();
    let run = |expr: &str| {
        shroud(dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["decrypt", "--extract", expr])
            .arg(&enc)
            .output()
            .unwrap()
    };
    let o = run(r#"["database"]["password"]"#);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "correct-horse-battery-staple"
    );
    let o = run(r#"["feature_flags"][1]"#);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "dark-mode");
    let o = run(r#"["service"]["replicas"]"#);
    assert_eq!(String::from_utf8(o.stdout).unwrap().trim_end(), "3");
    assert_eq!(run(r#"["database"]["nope"]"#).status.code(), Some(1));
    assert_eq!(run(r#"database"#).status.code(), Some(91));
}

#[test]
fn decrypt_reads_the_key_from_sops_age_key() {
    let (dir, enc) = encrypted_example();
    let key = fs::read_to_string(identity_file("alice")).unwrap();
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY", key)
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn first_use_creates_a_private_default_identity() {
    let home = tempfile::tempdir().unwrap();
    let o = shroud(home.path())
        .arg("encrypt")
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let key_file = home.path().join(".config/sops/age/keys.txt");
    assert_eq!(
        fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(key_file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let public = fs::read_to_string(&key_file).unwrap();
    let public = public
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    assert!(
        stderr(&o).contains(&public),
        "the new public key is announced: {}",
        stderr(&o)
    );

    // The same default identity decrypts, with no environment at all.
    let enc = home.path().join("example.enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    let d = shroud(home.path())
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    assert!(d.status.success(), "{}", stderr(&d));
    assert_eq!(
        d.stdout,
        fs::read(common::testdata("example.yaml")).unwrap()
    );

    // A second encryption reuses the identity and says nothing about it.
    let again = shroud(home.path())
        .arg("encrypt")
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(!stderr(&again).contains("created"), "{}", stderr(&again));
}
