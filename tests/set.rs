//! `shroud set`: one value changes, its type is kept, the rest of the file
//! (and every other ciphertext) stays.

mod common;

use std::fs;
use std::path::Path;

use common::{encrypted_for_alice, identity_file, require_tool, shroud};

fn set(dir: &Path, file: &Path, args: &[&str]) -> std::process::Output {
    shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("set")
        .arg(file)
        .args(args)
        .output()
        .unwrap()
}

fn decrypt(dir: &Path, file: &Path) -> String {
    let o = shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn set_changes_one_value_and_keeps_other_ciphertexts() {
    let (dir, file) = encrypted_for_alice(
        "db:\n  user: app # the user\n  port: 5432\n  password: 'old'\n",
        "s.yaml",
    );
    let before = fs::read_to_string(&file).unwrap();
    // lastmodified has one-second resolution: make sure it changes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = set(
        dir.path(),
        &file,
        &[r#"["db"]["password"]"#, r#""new pass""#],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The original quoting style stays.
    assert_eq!(
        decrypt(dir.path(), &file),
        "db:\n  user: app # the user\n  port: 5432\n  password: 'new pass'\n"
    );
    let after = fs::read_to_string(&file).unwrap();
    let changed: Vec<_> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed.len(),
        3,
        "value, lastmodified, mac (shroud_auth's tag is the mac's IV, its line constant): {changed:#?}"
    );

    // Integers stay integers (sops turns them into floats here).
    let o = set(dir.path(), &file, &[r#"["db"]["port"]"#, "5433"]);
    assert!(o.status.success());
    assert!(fs::read_to_string(&file).unwrap().contains("type:int]"));
    assert!(decrypt(dir.path(), &file).contains("port: 5433\n"));
    if let Some(sops) = require_tool("sops") {
        let o = common::isolated(&sops, dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["decrypt", "--extract", r#"["db"]["password"]"#])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(o.stdout).unwrap(), "new pass");
    }
}

#[test]
fn values_can_come_from_stdin_a_file_or_the_random_source() {
    let (dir, file) = encrypted_for_alice("{\"token\": \"old\", \"n\": 1}\n", "s.json");
    let vf = dir.path().join("v.json");
    fs::write(&vf, "\"from-file\"").unwrap();
    assert!(
        set(
            dir.path(),
            &file,
            &[r#"["token"]"#, "--value-file", vf.to_str().unwrap()]
        )
        .status
        .success()
    );
    assert_eq!(
        decrypt(dir.path(), &file),
        "{\"token\": \"from-file\", \"n\": 1}\n"
    );

    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["set"])
        .arg(&file)
        .args([r#"["token"]"#, "--value-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"\"from-stdin\"")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success());
    assert!(decrypt(dir.path(), &file).contains("from-stdin"));

    let o = set(
        dir.path(),
        &file,
        &[
            r#"["token"]"#,
            "--generate",
            "--length",
            "40",
            "--charset",
            "hex",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty(), "a generated secret is not printed");
    let text = decrypt(dir.path(), &file);
    let token = text.split('"').nth(3).unwrap();
    assert_eq!(token.len(), 40);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn bad_paths_and_values_are_refused_and_nothing_is_written() {
    let (dir, file) = encrypted_for_alice("a: b\n", "s.yaml");
    let before = fs::read(&file).unwrap();
    assert_eq!(
        set(dir.path(), &file, &["a", r#""x""#]).status.code(),
        Some(7)
    );
    assert_eq!(
        set(dir.path(), &file, &[r#"["a"]"#, "not json"])
            .status
            .code(),
        Some(7)
    );
    // A key inside a scalar: exit 1, naming the path.
    let o = set(dir.path(), &file, &[r#"["a"]["x"]"#, r#""x""#]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(r#"["a"]["x"]"#));
    assert_eq!(fs::read(&file).unwrap(), before);
}

/// A TOML document's data as JSON, to compare what a file holds with a
/// hand-written expectation independently of shroud's own reader.
fn toml_data(text: &str) -> serde_json::Value {
    use serde_json::Value as J;
    fn value(v: &toml_edit::Value) -> J {
        match v {
            toml_edit::Value::String(s) => J::from(s.value().as_str()),
            toml_edit::Value::Integer(i) => J::from(*i.value()),
            toml_edit::Value::Float(f) => J::from(*f.value()),
            toml_edit::Value::Boolean(b) => J::from(*b.value()),
            toml_edit::Value::Datetime(d) => J::from(d.value().to_string()),
            toml_edit::Value::Array(a) => J::Array(a.iter().map(value).collect()),
            toml_edit::Value::InlineTable(t) => {
                J::Object(t.iter().map(|(k, v)| (k.to_string(), value(v))).collect())
            }
        }
    }
    fn item(i: &toml_edit::Item) -> J {
        match i {
            toml_edit::Item::Value(v) => value(v),
            toml_edit::Item::Table(t) => table(t),
            toml_edit::Item::ArrayOfTables(a) => J::Array(a.iter().map(table).collect()),
            toml_edit::Item::None => J::Null,
        }
    }
    fn table(t: &toml_edit::Table) -> J {
        J::Object(t.iter().map(|(k, i)| (k.to_string(), item(i))).collect())
    }
    table(text.parse::<toml_edit::DocumentMut>().unwrap().as_table())
}

/// The lines of `after` that are not in `before`, in order (`before`'s
/// lines must all be there, in order, but for the `mac` and
/// `lastmodified` lines, which every change rewrites).
fn new_lines(before: &str, after: &str) -> Vec<String> {
    let volatile = |l: &str| l.starts_with("mac = ") || l.starts_with("lastmodified = ");
    let mut old = before.lines().filter(|l| !volatile(l)).peekable();
    let mut added = Vec::new();
    for l in after.lines().filter(|l| !volatile(l)) {
        if old.peek() == Some(&l) {
            old.next();
        } else {
            added.push(l.to_string());
        }
    }
    assert_eq!(old.next(), None, "a line of the file was lost");
    added
}

#[test]
fn toml_dotted_tables_and_arrays_of_tables_take_new_values() {
    let (dir, file) = encrypted_for_alice(
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\n",
        "t.toml",
    );
    let before = fs::read_to_string(&file).unwrap();
    let o = set(dir.path(), &file, &[r#"["db"]["user"]["id"]"#, "7"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\nuser.id = 7\n";
    let text = decrypt(dir.path(), &file);
    assert_eq!(text, expected);
    assert_eq!(
        toml_data(&text),
        serde_json::json!({
            "servers": [{"host": "a", "port": 1}, {"host": "b"}],
            "db": {"user": {"name": "x", "id": 7}}
        })
    );
    let after = fs::read_to_string(&file).unwrap();
    let added = new_lines(&before, &after);
    assert_eq!(added.len(), 1, "{added:#?}");
    assert!(
        added[0].starts_with("user.id = \"ENC[AES256_GCM,data:")
            && added[0].ends_with(",type:int]\""),
        "{added:#?}"
    );

    let before = after;
    let o = set(
        dir.path(),
        &file,
        &[r#"["servers"][2]"#, r#"{"host": "c", "meta": {"x": 1}}"#],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[[servers]]\nhost = \"c\"\nmeta = { x = 1 }\n\n[db]\nuser.name = \"x\"\nuser.id = 7\n";
    let text = decrypt(dir.path(), &file);
    assert_eq!(text, expected);
    assert_eq!(
        toml_data(&text),
        serde_json::json!({
            "servers": [{"host": "a", "port": 1}, {"host": "b"}, {"host": "c", "meta": {"x": 1}}],
            "db": {"user": {"name": "x", "id": 7}}
        })
    );
    let after = fs::read_to_string(&file).unwrap();
    let added = new_lines(&before, &after);
    assert_eq!(added.len(), 4, "{added:#?}");
    assert_eq!(added[0], "[[servers]]");
    assert!(
        added[1].starts_with("host = \"ENC[AES256_GCM,"),
        "{added:#?}"
    );
    assert!(
        added[2].starts_with("meta = { x = \"ENC[AES256_GCM,")
            && added[2].ends_with("type:int]\" }"),
        "{added:#?}"
    );
    assert_eq!(added[3], "");
}
