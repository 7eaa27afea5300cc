//! `shroud decrypt --extract` of a map or a list: the node prints as a
//! document of the output format. In the input format (YAML, JSON) it is
//! the node's own text, de-indented; otherwise it is written anew, laid out
//! as sops lays it out. Expected texts are written by hand (the `--output-type`
//! ones are what sops 3.11 prints for the same paths).

mod common;

use std::path::Path;
use std::process::Output;

use common::{encrypted_for_alice, identity_file, shroud};

const YAML: &str = r#"# top
database:
  url: postgres://billing@db.internal:5432/billing
  password: correct-horse-battery-staple   # rotate quarterly
  nested:
    # inner comment
    deep: "quoted: yes"
    n: 1.50
    nothing: null
feature_flags:
  - new-invoices
  - 'yes'
a:
  - name: x
    port: 1
  - name: y
    tags: [p, q]
empty_map: {}
empty_list: []
multi:
  lit: |
    line one
    line two
flow: {x: 1, y: [2, 3]}
base: &b
  k: v
other:
  ref: *b
  z: 1
"#;

const JSON: &str = r#"{
  "db": {"user": "app", "price": 1.50, "big": 12345678901234567890},
  "list": [1, "two", {"three": 3}],
  "m": {
      "a": 1,
      "b": [true, false]
  },
  "e": {}
}
"#;

fn run(home: &Path, enc: &Path, args: &[&str]) -> Output {
    shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .args(args)
        .arg(enc)
        .output()
        .unwrap()
}

fn out(home: &Path, enc: &Path, args: &[&str]) -> String {
    let o = run(home, enc, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_yaml_map_or_list_prints_as_its_own_text_de_indented() {
    let (dir, enc) = encrypted_for_alice(YAML, "s.yaml");
    let x = |path: &str| out(dir.path(), &enc, &["--extract", path]);
    assert_eq!(
        x(r#"["database"]"#),
        "url: postgres://billing@db.internal:5432/billing\n\
         password: correct-horse-battery-staple   # rotate quarterly\n\
         nested:\n  # inner comment\n  deep: \"quoted: yes\"\n  n: 1.50\n  nothing: null\n"
    );
    assert_eq!(
        x(r#"["database"]["nested"]"#),
        "# inner comment\ndeep: \"quoted: yes\"\nn: 1.50\nnothing: null\n"
    );
    assert_eq!(x(r#"["feature_flags"]"#), "- new-invoices\n- 'yes'\n");
    assert_eq!(
        x(r#"["a"]"#),
        "- name: x\n  port: 1\n- name: y\n  tags: [p, q]\n"
    );
    assert_eq!(x(r#"["a"][1]"#), "name: y\ntags: [p, q]\n");
    assert_eq!(x(r#"["a"][1]["tags"]"#), "[p, q]\n");
    assert_eq!(x(r#"["multi"]"#), "lit: |\n  line one\n  line two\n");
    assert_eq!(x(r#"["flow"]"#), "{x: 1, y: [2, 3]}\n");
    // As sops prints them.
    assert_eq!(x(r#"["empty_map"]"#), "{}\n");
    assert_eq!(x(r#"["empty_list"]"#), "[]\n");
    assert_eq!(x(r#"["database"]["nested"]["nothing"]"#), "null\n");
    // An alias to an anchor outside the node cannot be read on its own:
    // the node is written anew, in sops's layout.
    assert_eq!(x(r#"["other"]"#), "ref:\n    k: v\nz: 1\n");
    // Single values print as before.
    assert_eq!(
        x(r#"["database"]["password"]"#),
        "correct-horse-battery-staple"
    );
}

#[test]
fn a_yaml_node_in_another_output_type_is_written_as_sops_writes_it() {
    let (dir, enc) = encrypted_for_alice(YAML, "s.yaml");
    let x = |ty: &str, path: &str| out(dir.path(), &enc, &["--output-type", ty, "--extract", path]);
    assert_eq!(
        x("json", r#"["database"]["nested"]"#),
        "{\n\t\"deep\": \"quoted: yes\",\n\t\"n\": 1.5,\n\t\"nothing\": null\n}\n"
    );
    // sops prints a list as a value: no final newline.
    assert_eq!(
        x("json", r#"["feature_flags"]"#),
        "[\n\t\"new-invoices\",\n\t\"yes\"\n]"
    );
    assert_eq!(x("json", r#"["empty_list"]"#), "[]");
    assert_eq!(x("json", r#"["empty_map"]"#), "{}\n");
    assert_eq!(x("dotenv", r#"["a"][0]"#), "name=x\nport=1\n");
    assert_eq!(x("ini", r#"["a"][0]"#), "name = x\nport = 1\n");
    assert_eq!(x("toml", r#"["a"][0]"#), "name = \"x\"\nport = 1\n");
}

#[test]
fn what_the_output_type_cannot_hold_is_refused_with_the_path() {
    let (dir, enc) = encrypted_for_alice(YAML, "s.yaml");
    for (ty, path, says) in [
        (
            "dotenv",
            r#"["feature_flags"]"#,
            r#"["feature_flags"] is a list"#,
        ),
        ("toml", r#"["a"]"#, r#"["a"] is a list"#),
        ("dotenv", r#"["database"]"#, r#"["database"]["nested"]"#),
    ] {
        let o = run(dir.path(), &enc, &["--output-type", ty, "--extract", path]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{ty} {path}: {err}");
        assert!(err.contains(says), "{ty} {path}: {err}");
        assert!(!err.contains("correct-horse"), "{err}");
        assert!(o.stdout.is_empty());
    }
    // A path that is not there: as before.
    let o = run(dir.path(), &enc, &["--extract", r#"["database"]["nope"]"#]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not in the file"));
}

#[test]
fn a_json_object_or_array_prints_as_its_own_text_de_indented() {
    let (dir, enc) = encrypted_for_alice(JSON, "s.json");
    let x = |path: &str| out(dir.path(), &enc, &["--extract", path]);
    // The number tokens as written (sops prints 1.5 and 12345678901234567000).
    assert_eq!(
        x(r#"["db"]"#),
        "{\"user\": \"app\", \"price\": 1.50, \"big\": 12345678901234567890}\n"
    );
    assert_eq!(
        x(r#"["m"]"#),
        "{\n    \"a\": 1,\n    \"b\": [true, false]\n}\n"
    );
    // An array is printed as sops prints one: without a final newline.
    assert_eq!(x(r#"["list"]"#), "[1, \"two\", {\"three\": 3}]");
    assert_eq!(x(r#"["list"][2]"#), "{\"three\": 3}\n");
    assert_eq!(x(r#"["m"]["b"]"#), "[true, false]");
    assert_eq!(x(r#"["e"]"#), "{}\n");
    let y = |path: &str| {
        out(
            dir.path(),
            &enc,
            &["--output-type", "yaml", "--extract", path],
        )
    };
    assert_eq!(y(r#"["m"]"#), "a: 1\nb:\n    - true\n    - false\n");
    assert_eq!(y(r#"["list"]"#), "- 1\n- two\n- three: 3\n");
}

#[test]
fn a_toml_table_or_an_ini_section_is_written_anew() {
    let toml = "title = \"x\"\n\n[db]\nuser = \"app\"  # c\nport = 5432\n\n[db.inner]\nk = \"v\"\n\n\
                [[servers]]\nip = \"10.0.0.1\"\n\n[[servers]]\nip = \"10.0.0.2\"\n";
    let (dir, enc) = encrypted_for_alice(toml, "s.toml");
    let x = |args: &[&str]| out(dir.path(), &enc, args);
    assert_eq!(
        x(&["--extract", r#"["db"]"#]),
        "user = \"app\"\nport = 5432\n\n[inner]\nk = \"v\"\n"
    );
    assert_eq!(
        x(&["--extract", r#"["servers"][1]"#]),
        "ip = \"10.0.0.2\"\n"
    );
    assert_eq!(
        x(&["--output-type", "json", "--extract", r#"["servers"]"#]),
        "[\n\t{\n\t\t\"ip\": \"10.0.0.1\"\n\t},\n\t{\n\t\t\"ip\": \"10.0.0.2\"\n\t}\n]"
    );
    let o = run(dir.path(), &enc, &["--extract", r#"["servers"]"#]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--output-type yaml or json"));

    let (dir, enc) = encrypted_for_alice(
        "[db]\nuser = app\npass = hunter2\n\n[other]\nk = v\n",
        "s.ini",
    );
    let x = |args: &[&str]| out(dir.path(), &enc, args);
    assert_eq!(
        x(&["--extract", r#"["db"]"#]),
        "user = app\npass = hunter2\n"
    );
    assert_eq!(
        x(&["--output-type", "dotenv", "--extract", r#"["db"]"#]),
        "user=app\npass=hunter2\n"
    );
}

#[test]
fn a_crlf_file_gives_crlf_lines() {
    let (dir, enc) = encrypted_for_alice(
        "db:\r\n  a: 1  # c\r\n  b:\r\n    - x\r\n    - y\r\nz: 2\r\n",
        "s.yaml",
    );
    let x = |path: &str| out(dir.path(), &enc, &["--extract", path]);
    assert_eq!(x(r#"["db"]"#), "a: 1  # c\r\nb:\r\n  - x\r\n  - y\r\n");
    assert_eq!(x(r#"["db"]["b"]"#), "- x\r\n- y\r\n");
}

#[test]
fn a_scalar_ends_with_a_newline_when_the_output_type_is_yaml() {
    // The line break as sops 3.11 prints it: it follows the output
    // format (YAML ends its document with one, JSON does not), whatever
    // the input format, and a string never gets one. The number itself
    // keeps its token as written (sops would print 1.5).
    let (dir, enc) = encrypted_for_alice(YAML, "s.yaml");
    let x = |args: &[&str]| out(dir.path(), &enc, args);
    assert_eq!(
        x(&["--extract", r#"["database"]["nested"]["n"]"#]),
        "1.50\n"
    );
    assert_eq!(
        x(&[
            "--output-type",
            "json",
            "--extract",
            r#"["database"]["nested"]["n"]"#
        ]),
        "1.50"
    );
    assert_eq!(
        x(&[
            "--output-type",
            "json",
            "--extract",
            r#"["database"]["nested"]["nothing"]"#
        ]),
        "null"
    );
    assert_eq!(
        x(&["--output-type", "json", "--extract", r#"["other"]["z"]"#]),
        "1"
    );
    let (dir, enc) = encrypted_for_alice(JSON, "s.json");
    let x = |args: &[&str]| out(dir.path(), &enc, args);
    assert_eq!(x(&["--extract", r#"["m"]["a"]"#]), "1");
    assert_eq!(
        x(&["--output-type", "yaml", "--extract", r#"["m"]["a"]"#]),
        "1\n"
    );
    assert_eq!(
        x(&["--output-type", "yaml", "--extract", r#"["db"]["user"]"#]),
        "app"
    );
}
