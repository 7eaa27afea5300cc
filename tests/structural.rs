//! `shroud set` adding keys, maps and list items, and `shroud unset`, in
//! every format: the encrypted file changes by exactly the new or removed
//! lines (plus lastmodified and mac), and real sops decrypts the
//! result to the expected data.

mod common;

use std::fs;
use std::path::Path;

use common::{encrypted_for_alice, identity_file, require_tool, shroud};
use serde_json::{Value, json};

fn run(dir: &Path, file: &Path, args: &[&str]) -> std::process::Output {
    shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg(args[0])
        .arg(file)
        .args(&args[1..])
        .output()
        .unwrap()
}

/// Ciphertexts are random: compare lines with every `ENC[...]` as `ENC`.
fn mask(line: &str) -> String {
    let re = regex::Regex::new(r"(\\x45|E)NC\[AES256_GCM,[^\]]*\]").unwrap();
    re.replace_all(line, "ENC").into_owned()
}

/// The metadata lines that change on every write (sops's; `shroud_auth`
/// too when a v1 file is written as v2).
fn is_meta(line: &str) -> bool {
    let t = line
        .trim_start()
        .trim_start_matches('"')
        .trim_start_matches("sops_");
    t.starts_with("lastmodified") || t.starts_with("mac") || t.starts_with("shroud_auth")
}

/// The lines removed and added between two texts (a longest-common-
/// subsequence diff), masked and sorted, metadata lines left out.
fn line_diff(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(b[j]);
            j += 1;
        } else {
            removed.push(a[i]);
            i += 1;
        }
    }
    let clean = |v: Vec<&str>| {
        let mut v: Vec<String> = v.into_iter().filter(|l| !is_meta(l)).map(mask).collect();
        v.sort();
        v
    };
    (clean(removed), clean(added))
}

/// The file's data as real sops decrypts it (shroud for TOML, which sops
/// 3.11 does not read).
fn data(dir: &Path, file: &Path) -> Option<Value> {
    let toml = file.extension().is_some_and(|e| e == "toml");
    let mut cmd = if toml {
        shroud(dir)
    } else {
        common::isolated(&require_tool("sops")?, dir)
    };
    let o = cmd
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "decrypt of {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    Some(serde_json::from_slice(&o.stdout).unwrap())
}

/// One change: run it on a fresh file, check the diff and the data.
fn case(name: &str, body: &str, args: &[&str], removed: &[&str], added: &[&str], expected: Value) {
    let (dir, file) = encrypted_for_alice(body, name);
    let before = fs::read_to_string(&file).unwrap();
    let o = run(dir.path(), &file, args);
    assert!(
        o.status.success(),
        "{args:?} on {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = fs::read_to_string(&file).unwrap();
    let (r, a) = line_diff(&before, &after);
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(r, sorted(removed), "removed lines, {args:?} on {name}");
    assert_eq!(a, sorted(added), "added lines, {args:?} on {name}");
    if let Some(got) = data(dir.path(), &file) {
        assert_eq!(got, expected, "data after {args:?} on {name}");
    }
}

const YAML: &str = "# settings\ndb:\n  user: app\n  port: 5432\nhosts:\n  - a\n  - b\n";

#[test]
fn yaml_block_new_keys_maps_items_and_unset() {
    case(
        "s.yaml",
        YAML,
        &["set", r#"["db"]["password"]"#, r#""pw""#],
        &[],
        &["  password: ENC"],
        json!({"db": {"user": "app", "port": 5432, "password": "pw"}, "hosts": ["a", "b"]}),
    );
    // Missing maps are created; numbers keep their type (int stays int).
    case(
        "s.yaml",
        YAML,
        &["set", r#"["db"]["tls"]["replicas"]"#, "3"],
        &[],
        &["  tls:", "    replicas: ENC"],
        json!({"db": {"user": "app", "port": 5432, "tls": {"replicas": 3}}, "hosts": ["a", "b"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["set", r#"["hosts"][2]"#, r#""c""#],
        &[],
        &["  - ENC"],
        json!({"db": {"user": "app", "port": 5432}, "hosts": ["a", "b", "c"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["set", r#"["top"]"#, r#"{"num": 1.5, "l": [true]}"#],
        &[],
        &["top:", "  l:", "    - ENC", "  num: ENC"],
        json!({"db": {"user": "app", "port": 5432}, "hosts": ["a", "b"], "top": {"num": 1.5, "l": [true]}}),
    );
    // A scalar replaced by a map given as JSON.
    case(
        "s.yaml",
        YAML,
        &["set", r#"["db"]["port"]"#, r#"{"nested": true}"#],
        &["  port: ENC"],
        &["  port: {nested: \"ENC\"}"],
        json!({"db": {"user": "app", "port": {"nested": true}}, "hosts": ["a", "b"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["unset", r#"["db"]["user"]"#],
        &["  user: ENC"],
        &[],
        json!({"db": {"port": 5432}, "hosts": ["a", "b"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["unset", r#"["hosts"][0]"#],
        &["  - ENC"],
        &[],
        json!({"db": {"user": "app", "port": 5432}, "hosts": ["b"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["unset", r#"["db"]"#],
        &["db:", "  user: ENC", "  port: ENC"],
        &[],
        json!({"hosts": ["a", "b"]}),
    );
}

#[test]
fn yaml_flow_collections_get_items_before_the_bracket() {
    let body = "a: {b: 1, l: [x]}\n";
    case(
        "f.yaml",
        body,
        &["set", r#"["a"]["c"]"#, r#""new""#],
        &[r#"a: {b: "ENC", l: ["ENC"]}"#],
        &[r#"a: {b: "ENC", l: ["ENC"], c: "ENC"}"#],
        json!({"a": {"b": 1, "l": ["x"], "c": "new"}}),
    );
    case(
        "f.yaml",
        body,
        &["set", r#"["a"]["l"][1]"#, r#""y""#],
        &[r#"a: {b: "ENC", l: ["ENC"]}"#],
        &[r#"a: {b: "ENC", l: ["ENC", "ENC"]}"#],
        json!({"a": {"b": 1, "l": ["x", "y"]}}),
    );
    case(
        "f.yaml",
        body,
        &["unset", r#"["a"]["b"]"#],
        &[r#"a: {b: "ENC", l: ["ENC"]}"#],
        &[r#"a: {l: ["ENC"]}"#],
        json!({"a": {"l": ["x"]}}),
    );
}

const JSON: &str = "{\n  \"db\": {\n    \"user\": \"app\"\n  },\n  \"list\": [\n    1\n  ]\n}\n";

#[test]
fn json_members_and_items_with_their_commas() {
    case(
        "s.json",
        JSON,
        &["set", r#"["db"]["pass"]"#, r#""x""#],
        &[r#"    "user": "ENC""#],
        &[r#"    "user": "ENC","#, r#"    "pass": "ENC""#],
        json!({"db": {"user": "app", "pass": "x"}, "list": [1]}),
    );
    case(
        "s.json",
        JSON,
        &["set", r#"["db"]["tls"]["on"]"#, "true"],
        &[r#"    "user": "ENC""#],
        &[
            r#"    "user": "ENC","#,
            r#"    "tls": {"#,
            r#"      "on": "ENC""#,
            "    }",
        ],
        json!({"db": {"user": "app", "tls": {"on": true}}, "list": [1]}),
    );
    case(
        "s.json",
        JSON,
        &["set", r#"["list"][1]"#, "2"],
        &[r#"    "ENC""#],
        &[r#"    "ENC","#, r#"    "ENC""#],
        json!({"db": {"user": "app"}, "list": [1, 2]}),
    );
    case(
        "s.json",
        JSON,
        &["unset", r#"["list"][0]"#],
        // (The list is followed by the sops metadata, hence its comma.)
        &["  \"list\": [", r#"    "ENC""#, "  ],"],
        &["  \"list\": [],"],
        json!({"db": {"user": "app"}, "list": []}),
    );
    case(
        "s.json",
        JSON,
        &["unset", r#"["db"]"#],
        &["  \"db\": {", r#"    "user": "ENC""#, "  },"],
        &[],
        json!({"list": [1]}),
    );
}

const TOML: &str = "title = \"t\"\n\n[db]\nuser = \"app\"\nports = [1]\n\n[web]\nport = 80\n";

#[test]
fn toml_keys_go_into_their_table_and_new_maps_are_dotted_keys() {
    case(
        "s.toml",
        TOML,
        &["set", r#"["db"]["pass"]"#, r#""x""#],
        &[],
        &[r#"pass = "ENC""#],
        json!({"title": "t", "db": {"user": "app", "ports": [1], "pass": "x"}, "web": {"port": 80}}),
    );
    case(
        "s.toml",
        TOML,
        &["set", r#"["db"]["tls"]["on"]"#, "true"],
        &[],
        &[r#"tls.on = "ENC""#],
        json!({"title": "t", "db": {"user": "app", "ports": [1], "tls": {"on": true}}, "web": {"port": 80}}),
    );
    case(
        "s.toml",
        TOML,
        &["set", r#"["owner"]"#, r#"{"name": "n"}"#],
        &[],
        &[r#"owner = { name = "ENC" }"#],
        json!({"title": "t", "owner": {"name": "n"}, "db": {"user": "app", "ports": [1]}, "web": {"port": 80}}),
    );
    case(
        "s.toml",
        TOML,
        &["set", r#"["db"]["ports"][1]"#, "2"],
        &[r#"ports = ["ENC"]"#],
        &[r#"ports = ["ENC", "ENC"]"#],
        json!({"title": "t", "db": {"user": "app", "ports": [1, 2]}, "web": {"port": 80}}),
    );
    case(
        "s.toml",
        TOML,
        &["unset", r#"["db"]["user"]"#],
        &[r#"user = "ENC""#],
        &[],
        json!({"title": "t", "db": {"ports": [1]}, "web": {"port": 80}}),
    );
    case(
        "s.toml",
        TOML,
        &["unset", r#"["web"]"#],
        &["[web]", r#"port = "ENC""#],
        &[],
        json!({"title": "t", "db": {"user": "app", "ports": [1]}}),
    );
}

const TOML_SERVERS: &str = "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\nuser.id = 2\n";

#[test]
fn toml_arrays_of_tables_and_dotted_keys_unset() {
    case(
        "s.toml",
        TOML_SERVERS,
        &["unset", r#"["servers"][0]"#],
        &["[[servers]]", r#"host = "ENC""#, r#"port = "ENC""#, ""],
        &[],
        json!({"servers": [{"host": "b"}], "db": {"user": {"name": "x", "id": 2}}}),
    );
    case(
        "s.toml",
        TOML_SERVERS,
        &["unset", r#"["db"]["user"]["name"]"#],
        &[r#"user.name = "ENC""#],
        &[],
        json!({"servers": [{"host": "a", "port": 1}, {"host": "b"}], "db": {"user": {"id": 2}}}),
    );
    case(
        "s.toml",
        TOML_SERVERS,
        &["set", r#"["servers"][1]["meta"]"#, r#"{"x": 1}"#],
        &[],
        &[r#"meta = { x = "ENC" }"#],
        json!({"servers": [{"host": "a", "port": 1}, {"host": "b", "meta": {"x": 1}}], "db": {"user": {"name": "x", "id": 2}}}),
    );
}

#[test]
fn dotenv_top_level_keys_only() {
    let body = "# c\nA=1\nB=2\n";
    case(
        "s.env",
        body,
        &["set", r#"["C"]"#, "3"],
        &[],
        &["C=ENC"],
        json!({"A": "1", "B": "2", "C": "3"}),
    );
    case(
        "s.env",
        body,
        &["unset", r#"["A"]"#],
        &["A=ENC"],
        &[],
        json!({"B": "2"}),
    );
    let (dir, file) = encrypted_for_alice(body, "s.env");
    let before = fs::read(&file).unwrap();
    let o = run(dir.path(), &file, &["set", r#"["N"]["x"]"#, "1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(r#"["N"]["x"]"#) && err.contains("dotenv"),
        "{err}"
    );
    assert_eq!(fs::read(&file).unwrap(), before);
}

#[test]
fn ini_section_keys_and_sections() {
    // sops shows go-ini's (here empty) DEFAULT section too.
    let body = "[db]\nuser = app\n\n[web]\nport = 80\n";
    case(
        "s.ini",
        body,
        &["set", r#"["db"]["pass"]"#, r#""x""#],
        &[],
        &["pass = ENC"],
        json!({"DEFAULT": {}, "db": {"user": "app", "pass": "x"}, "web": {"port": "80"}}),
    );
    case(
        "s.ini",
        body,
        &["set", r#"["new"]["k"]"#, r#""v""#],
        &[],
        &["", "[new]", "k = ENC"],
        json!({"DEFAULT": {}, "db": {"user": "app"}, "web": {"port": "80"}, "new": {"k": "v"}}),
    );
    case(
        "s.ini",
        body,
        &["unset", r#"["db"]["user"]"#],
        &["user = ENC"],
        &[],
        json!({"DEFAULT": {}, "db": {}, "web": {"port": "80"}}),
    );
    case(
        "s.ini",
        body,
        &["unset", r#"["db"]"#],
        &["[db]", "user = ENC", ""],
        &[],
        json!({"DEFAULT": {}, "web": {"port": "80"}}),
    );
    // A key into a section that has none yet goes under its header.
    case(
        "s.ini",
        "[empty]\n\n[db]\nuser = app\n",
        &["set", r#"["empty"]["k"]"#, r#""v""#],
        &[],
        &["k = ENC"],
        json!({"DEFAULT": {}, "empty": {"k": "v"}, "db": {"user": "app"}}),
    );
    let (dir, file) = encrypted_for_alice(body, "s.ini");
    let before = fs::read(&file).unwrap();
    let o = run(dir.path(), &file, &["set", r#"["web"]["a"]["b"]"#, "1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(r#"["web"]["a"]["b"]"#), "{err}");
    assert_eq!(fs::read(&file).unwrap(), before);
}

#[test]
fn wrong_paths_give_clear_errors_and_write_nothing() {
    let (dir, file) = encrypted_for_alice(YAML, "e.yaml");
    let before = fs::read(&file).unwrap();
    let check = |args: &[&str], code: i32, says: &[&str]| {
        let o = run(dir.path(), &file, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {err:?} should say {s:?}");
        }
        assert!(!err.contains("5432"), "no value in messages: {err}");
        assert_eq!(fs::read(&file).unwrap(), before, "{args:?} wrote");
    };
    check(
        &["set", r#"["db"]["port"]["x"]"#, "1"],
        1,
        &[r#"["db"]["port"]"#, "scalar"],
    );
    check(
        &["set", r#"["hosts"][5]"#, "1"],
        1,
        &[r#"["hosts"]"#, "2 items"],
    );
    check(&["set", r#"["hosts"]["k"]"#, "1"], 1, &["list"]);
    check(&["set", "db", "1"], 7, &["path"]);
    check(&["set", r#"["x"]"#, "{nope"], 7, &["JSON"]);
    check(
        &["unset", r#"["db"]["nope"]"#],
        1,
        &[r#"["db"]["nope"]"#, "not found"],
    );
    check(&["unset", "[\"db\"", "--idempotent"], 7, &["path"]);
    // --idempotent: a missing path is fine, and nothing is written.
    check(&["unset", "--idempotent", r#"["db"]["nope"]"#], 0, &[]);
    // Setting the value a path already has, with --idempotent: no write.
    check(
        &["set", "--idempotent", r#"["db"]["port"]"#, "5432"],
        0,
        &[],
    );
}

/// `set` on a path that holds a map or list replaces it, as sops does: the
/// old entries' lines go, the new value takes the key's place (TOML and
/// INI: the table or section is written anew at the end).
#[test]
fn set_replaces_a_map_or_list_as_sops_does() {
    case(
        "s.yaml",
        YAML,
        &["set", r#"["db"]"#, "1"],
        &["db:", "  user: ENC", "  port: ENC"],
        &["db: ENC"],
        json!({"db": 1, "hosts": ["a", "b"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["set", r#"["hosts"]"#, r#"["c"]"#],
        &["hosts:", "  - ENC", "  - ENC"],
        &["hosts: [\"ENC\"]"],
        json!({"db": {"user": "app", "port": 5432}, "hosts": ["c"]}),
    );
    case(
        "s.yaml",
        YAML,
        &["set", r#"["db"]"#, r#"{"host": "h"}"#],
        &["db:", "  user: ENC", "  port: ENC"],
        &["db: {host: \"ENC\"}"],
        json!({"db": {"host": "h"}, "hosts": ["a", "b"]}),
    );
    case(
        "s.json",
        "{\n  \"db\": {\n    \"user\": \"app\",\n    \"port\": 5432\n  },\n  \"z\": 2\n}\n",
        &["set", r#"["db"]"#, r#"{"host": "h"}"#],
        &["    \"user\": \"ENC\",", "    \"port\": \"ENC\""],
        &["    \"host\": \"ENC\""],
        json!({"db": {"host": "h"}, "z": 2}),
    );
    case(
        "s.ini",
        "[db]\nuser = app\nport = 5432\n[other]\nk = v\n",
        &["set", r#"["db"]"#, r#"{"host": "h"}"#],
        &["[db]", "user = ENC", "port = ENC"],
        &["[db]", "host = ENC", ""],
        json!({"DEFAULT": {}, "other": {"k": "v"}, "db": {"host": "h"}}),
    );
    case(
        "s.toml",
        "a = 1\n\n[db]\nuser = \"app\"\nport = 5432\n",
        &["set", r#"["db"]"#, r#"{"host": "h"}"#],
        &["[db]", "user = \"ENC\"", "port = \"ENC\""],
        &["db = { host = \"ENC\" }"],
        json!({"a": 1, "db": {"host": "h"}}),
    );
}
