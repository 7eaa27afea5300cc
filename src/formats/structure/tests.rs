//! Structural changes on plaintext, per format: the exact text produced.

use super::*;

fn path(expr: &str) -> Vec<PathSeg> {
    crate::treepath::parse(expr).unwrap()
}

fn set(format: Format, src: &str, p: &str, json: &str) -> Result<String, StructureError> {
    let value = NewValue::from_json(json)?;
    let p = path(p);
    match apply(
        format,
        src,
        &Change::Set {
            path: &p,
            value: &value,
        },
    )? {
        Outcome::Changed(t) => Ok(t.to_string()),
        Outcome::Unchanged => Ok(src.to_string()),
    }
}

fn unset(format: Format, src: &str, p: &str) -> Result<String, StructureError> {
    let p = path(p);
    match apply(format, src, &Change::Unset { path: &p })? {
        Outcome::Changed(t) => Ok(t.to_string()),
        Outcome::Unchanged => Ok(src.to_string()),
    }
}

#[test]
fn yaml_block_entries_follow_their_siblings() {
    let src = "a:\n  s: |\n    one\n    two\n# end\nb: 1\n";
    assert_eq!(
        set(Format::Yaml, src, r#"["a"]["t"]"#, r#""x""#).unwrap(),
        "a:\n  s: |\n    one\n    two\n  t: x\n# end\nb: 1\n"
    );
    // A list whose dashes sit at the key's column.
    let src = "hosts:\n- name: a\n  port: 1\n- name: b\nz: 1\n";
    assert_eq!(
        set(Format::Yaml, src, r#"["hosts"][1]["port"]"#, "2").unwrap(),
        "hosts:\n- name: a\n  port: 1\n- name: b\n  port: 2\nz: 1\n"
    );
    assert_eq!(
        set(Format::Yaml, src, r#"["hosts"][2]"#, r#""c""#).unwrap(),
        "hosts:\n- name: a\n  port: 1\n- name: b\n- c\nz: 1\n"
    );
    assert_eq!(
        unset(Format::Yaml, src, r#"["hosts"][0]"#).unwrap(),
        "hosts:\n- name: b\nz: 1\n"
    );
    // Numbers keep their type and token; strings that look like other
    // types are quoted by the renderer.
    assert_eq!(
        set(
            Format::Yaml,
            "a: 1\n",
            r#"["b"]"#,
            r#"{"i": 7, "f": 1.50, "s": "true"}"#
        )
        .unwrap(),
        "a: 1\nb:\n  f: 1.5\n  i: 7\n  s: \"true\"\n"
    );
    // No final newline: one is added before the new line.
    assert_eq!(
        set(Format::Yaml, "a: 1", r#"["b"]"#, "2").unwrap(),
        "a: 1\nb: 2\n"
    );
}

#[test]
fn yaml_unset_keeps_a_collection_rather_than_leaving_null() {
    assert_eq!(
        unset(Format::Yaml, "a:\n  b: 1\nc: 2\n", r#"["a"]["b"]"#).unwrap(),
        "a: {}\nc: 2\n"
    );
    assert_eq!(
        unset(Format::Yaml, "l:\n  - 1\nc: 2\n", r#"["l"][0]"#).unwrap(),
        "l: []\nc: 2\n"
    );
    assert_eq!(
        unset(Format::Yaml, "a: {b: 1, c: [1, 2]}\n", r#"["a"]["c"][1]"#).unwrap(),
        "a: {b: 1, c: [1]}\n"
    );
}

#[test]
fn json_commas_and_indentation() {
    let src = "{\n    \"a\": 1,\n    \"b\": [\n        true\n    ]\n}\n";
    assert_eq!(
        set(Format::Json, src, r#"["c"]"#, r#"{"d": [1]}"#).unwrap(),
        "{\n    \"a\": 1,\n    \"b\": [\n        true\n    ],\n    \"c\": {\n        \"d\": [\n            1\n        ]\n    }\n}\n"
    );
    assert_eq!(
        unset(Format::Json, src, r#"["a"]"#).unwrap(),
        "{\n    \"b\": [\n        true\n    ]\n}\n"
    );
    assert_eq!(
        unset(Format::Json, src, r#"["b"]"#).unwrap(),
        "{\n    \"a\": 1\n}\n"
    );
    assert_eq!(
        set(Format::Json, "{\"e\": {}}", r#"["e"]["k"]"#, "1").unwrap(),
        "{\"e\": {\"k\": 1}}"
    );
}

#[test]
fn toml_tables_and_dotted_keys() {
    let src = "top = 1\n\n[db]\nuser = \"app\"\n\n[db.sub]\nk = 1\n";
    assert_eq!(
        set(Format::Toml, src, r#"["db"]["tls"]["on"]"#, "true").unwrap(),
        "top = 1\n\n[db]\nuser = \"app\"\ntls.on = true\n\n[db.sub]\nk = 1\n"
    );
    assert_eq!(
        set(Format::Toml, src, r#"["new"]"#, "2").unwrap(),
        "top = 1\nnew = 2\n\n[db]\nuser = \"app\"\n\n[db.sub]\nk = 1\n"
    );
    assert_eq!(
        unset(Format::Toml, src, r#"["db"]["sub"]"#).unwrap(),
        "top = 1\n\n[db]\nuser = \"app\"\n\n"
    );
    assert!(matches!(
        set(Format::Toml, src, r#"["n"]"#, "null"),
        Err(StructureError::Unsupported { .. })
    ));
}

#[test]
fn flat_formats_refuse_depth() {
    assert!(matches!(
        set(Format::Dotenv, "A=1\n", r#"["B"]["c"]"#, "1"),
        Err(StructureError::Unsupported { .. })
    ));
    assert!(matches!(
        set(Format::Ini, "[s]\na = 1\n", r#"["s"]["b"]["c"]"#, "1"),
        Err(StructureError::Unsupported { .. })
    ));
    assert_eq!(
        set(Format::Dotenv, "A=1", r#"["B"]"#, "2").unwrap(),
        "A=1\nB=2\n"
    );
    assert_eq!(
        set(
            Format::Ini,
            "[s]\na = 1\n\n[t]\n",
            r#"["s"]["b"]"#,
            r#""x y""#
        )
        .unwrap(),
        "[s]\na = 1\nb = x y\n\n[t]\n"
    );
}

#[test]
fn wrong_paths_name_the_path() {
    let e = set(Format::Yaml, "a: 1\n", r#"["a"]["b"]"#, "1").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"["a"] is a scalar value, not a map, so ["a"]["b"] cannot be set in it"#
    );
    let e = unset(Format::Json, "{\"a\": [1]}", r#"["a"][3]"#).unwrap_err();
    assert!(e.to_string().contains(r#"["a"] has 1 items"#), "{e}");
    let e = unset(Format::Json, "{\"a\": [1]}", r#"["b"]"#).unwrap_err();
    assert!(matches!(e, StructureError::NotFound { .. }), "{e}");
    // Setting the same value is no change at all.
    let v = NewValue::from_json("1").unwrap();
    let p = path(r#"["a"]"#);
    assert!(matches!(
        apply(
            Format::Yaml,
            "a: 1\n",
            &Change::Set {
                path: &p,
                value: &v
            }
        )
        .unwrap(),
        Outcome::Unchanged
    ));
}

#[test]
fn nulls_take_new_maps_and_lists() {
    let src = "a:\n  b:\n  c: 1\n";
    assert_eq!(
        set(Format::Yaml, src, r#"["a"]["b"]"#, r#""now""#).unwrap(),
        "a:\n  b: now\n  c: 1\n"
    );
    assert_eq!(
        set(Format::Yaml, src, r#"["a"]["b"]["x"]"#, "1").unwrap(),
        "a:\n  b: {x: 1}\n  c: 1\n"
    );
    assert_eq!(
        set(Format::Json, "{\"a\": null}", r#"["a"][0]"#, "1").unwrap(),
        "{\"a\": [1]}"
    );
}

#[test]
fn yaml_nested_blocks_use_the_files_indentation() {
    assert_eq!(
        set(Format::Yaml, "a:\n    b: 1\n", r#"["a"]["c"]["d"]"#, "1").unwrap(),
        "a:\n    b: 1\n    c:\n        d: 1\n"
    );
}

#[test]
fn several_yaml_documents_are_refused() {
    assert_eq!(yaml_documents("# c\n---\na: 1\n"), 1);
    assert_eq!(yaml_documents("a: 1\n---\nb: 1\n"), 2);
    let e = set(Format::Yaml, "---\na: 1\n---\nb: 2\n", r#"["c"]"#, "1").unwrap_err();
    assert!(e.to_string().contains("several YAML documents"), "{e}");
}

#[test]
fn yaml_unset_of_a_key_on_a_list_dash_line() {
    let src = "l:\n  - a: 1\n    b: 2\n  - c: 3\nz: 0\n";
    assert_eq!(
        unset(Format::Yaml, src, r#"["l"][0]["a"]"#).unwrap(),
        "l:\n  - b: 2\n  - c: 3\nz: 0\n"
    );
    assert_eq!(
        unset(Format::Yaml, src, r#"["l"][1]["c"]"#).unwrap(),
        "l:\n  - a: 1\n    b: 2\n  - {}\nz: 0\n"
    );
}

const SERVERS: &str =
    "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\n";

#[test]
fn toml_dotted_keys_get_siblings_on_their_own_lines() {
    assert_eq!(
        set(Format::Toml, SERVERS, r#"["db"]["user"]["id"]"#, "7").unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\nuser.id = 7\n"
    );
    // Deeper: the dotted chain from the table with the header.
    assert_eq!(
        set(
            Format::Toml,
            SERVERS,
            r#"["db"]["user"]["pw"]["hash"]"#,
            r#""h""#
        )
        .unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\nuser.pw.hash = \"h\"\n"
    );
    // Dotted keys at the root, before any header; the parents are implicit.
    let src = "a.b.c = 1\nz = 2\n\n[t]\nk = 1\n";
    assert_eq!(
        set(Format::Toml, src, r#"["a"]["b"]["d"]"#, "3").unwrap(),
        "a.b.c = 1\na.b.d = 3\nz = 2\n\n[t]\nk = 1\n"
    );
    assert_eq!(
        set(Format::Toml, src, r#"["a"]["e"]"#, "true").unwrap(),
        "a.b.c = 1\na.e = true\nz = 2\n\n[t]\nk = 1\n"
    );
    // A table with plain and dotted keys: a new key after its last line.
    let src = "[db]\nhost = \"h\"\nuser.name = \"x\"\n\n[t]\nk = 1\n";
    assert_eq!(
        set(Format::Toml, src, r#"["db"]["port"]"#, "5").unwrap(),
        "[db]\nhost = \"h\"\nuser.name = \"x\"\nport = 5\n\n[t]\nk = 1\n"
    );
    assert_eq!(
        set(Format::Toml, src, r#"["db"]["user"]["id"]"#, "5").unwrap(),
        "[db]\nhost = \"h\"\nuser.name = \"x\"\nuser.id = 5\n\n[t]\nk = 1\n"
    );
    // A table with only sub-tables (no header of its own) gets one, above
    // the first of them and the comments leading into it.
    let src = "top = 1\n\n# the b part\n[a.b]\nk = 1\n\n[a.c]\nk = 2\n";
    assert_eq!(
        set(Format::Toml, src, r#"["a"]["x"]"#, "1").unwrap(),
        "top = 1\n\n[a]\nx = 1\n\n# the b part\n[a.b]\nk = 1\n\n[a.c]\nk = 2\n"
    );
    assert_eq!(
        set(
            Format::Toml,
            "[a.b.c]\nk = 1\n",
            r#"["a"]["b"]["x"]["y"]"#,
            "1"
        )
        .unwrap(),
        "[a.b]\nx.y = 1\n\n[a.b.c]\nk = 1\n"
    );
    // In an item of an array of tables: the header is in the item's part.
    let src = "[[s]]\nk = 1\n[s.a.b]\nx = 1\n[[s]]\nk = 2\n[s.a.b]\nx = 2\n";
    assert_eq!(
        set(Format::Toml, src, r#"["s"][0]["a"]["y"]"#, "1").unwrap(),
        "[[s]]\nk = 1\n[s.a]\ny = 1\n\n[s.a.b]\nx = 1\n[[s]]\nk = 2\n[s.a.b]\nx = 2\n"
    );
    assert_eq!(
        set(Format::Toml, src, r#"["s"][1]["a"]["y"]"#, "1").unwrap(),
        "[[s]]\nk = 1\n[s.a.b]\nx = 1\n[[s]]\nk = 2\n[s.a]\ny = 1\n\n[s.a.b]\nx = 2\n"
    );
}

#[test]
fn toml_arrays_of_tables_get_new_items() {
    assert_eq!(
        set(
            Format::Toml,
            SERVERS,
            r#"["servers"][2]"#,
            r#"{"host": "c"}"#
        )
        .unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[[servers]]\nhost = \"c\"\n\n[db]\nuser.name = \"x\"\n"
    );
    // Nested values are inline tables and arrays, as for any new value.
    assert_eq!(
        set(
            Format::Toml,
            SERVERS,
            r#"["servers"][2]"#,
            r#"{"host": "c", "meta": {"x": 1}, "tags": ["t"]}"#
        )
        .unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[[servers]]\nhost = \"c\"\nmeta = { x = 1 }\ntags = [\"t\"]\n\n[db]\nuser.name = \"x\"\n"
    );
    // A key under the new index makes the item.
    assert_eq!(
        set(Format::Toml, SERVERS, r#"["servers"][2]["host"]"#, r#""c""#).unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[[servers]]\nhost = \"c\"\n\n[db]\nuser.name = \"x\"\n"
    );
    // The last item's sub-tables stay with it; no blank lines, no final
    // newline.
    let src = "[[s]]\nk = 1\n[s.sub]\nx = 1\n[[s]]\nk = 2\n[s.sub]\nx = 2";
    assert_eq!(
        set(Format::Toml, src, r#"["s"][2]"#, r#"{"k": 3}"#).unwrap(),
        "[[s]]\nk = 1\n[s.sub]\nx = 1\n[[s]]\nk = 2\n[s.sub]\nx = 2\n[[s]]\nk = 3\n"
    );
    // Nested arrays of tables, in the last item of the outer one.
    let src = "[[a]]\nn = 1\n\n[[a.b]]\nm = 1\n\n[t]\n";
    assert_eq!(
        set(Format::Toml, src, r#"["a"][0]["b"][1]"#, r#"{"m": 2}"#).unwrap(),
        "[[a]]\nn = 1\n\n[[a.b]]\nm = 1\n\n[[a.b]]\nm = 2\n\n[t]\n"
    );
    // A new table inside an item: an inline table in its lines.
    assert_eq!(
        set(
            Format::Toml,
            SERVERS,
            r#"["servers"][0]["meta"]"#,
            r#"{"x": 1}"#
        )
        .unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\nmeta = { x = 1 }\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\n"
    );
    assert_eq!(
        set(
            Format::Toml,
            SERVERS,
            r#"["servers"][1]["meta"]"#,
            r#"{"x": 1}"#
        )
        .unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\nmeta = { x = 1 }\n\n[db]\nuser.name = \"x\"\n"
    );
    // An array of tables holds tables only.
    let e = set(Format::Toml, SERVERS, r#"["servers"][2]"#, "1").unwrap_err();
    assert!(e.to_string().contains("holds only tables"), "{e}");
}

#[test]
fn toml_unset_of_an_array_of_tables_item() {
    assert_eq!(
        unset(Format::Toml, SERVERS, r#"["servers"][0]"#).unwrap(),
        "[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\n"
    );
    assert_eq!(
        unset(Format::Toml, SERVERS, r#"["servers"][1]"#).unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[db]\nuser.name = \"x\"\n"
    );
    // Its sub-tables go with it.
    let src = "[[s]]\nk = 1\n[s.sub]\nx = 1\n[[s]]\nk = 2\n[s.sub]\nx = 2\n";
    assert_eq!(
        unset(Format::Toml, src, r#"["s"][0]"#).unwrap(),
        "[[s]]\nk = 2\n[s.sub]\nx = 2\n"
    );
    assert_eq!(
        unset(Format::Toml, src, r#"["s"][1]"#).unwrap(),
        "[[s]]\nk = 1\n[s.sub]\nx = 1\n"
    );
    // A dotted key inside an item, and a key of an item.
    assert_eq!(
        unset(Format::Toml, SERVERS, r#"["servers"][0]["port"]"#).unwrap(),
        "[[servers]]\nhost = \"a\"\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser.name = \"x\"\n"
    );
    // The only item: refused, the array cannot stay empty in place.
    let e = unset(Format::Toml, "[[s]]\nk = 1\n\n[t]\nx = 1\n", r#"["s"][0]"#).unwrap_err();
    assert!(e.to_string().contains("the only item"), "{e}");
}

#[test]
fn toml_unset_of_dotted_keys_and_whole_arrays_of_tables() {
    let src = "a.b.c = 1\na.b.d = 2\na.e = 3\n\n[t]\nk = 1\n";
    assert_eq!(
        unset(Format::Toml, src, r#"["a"]["b"]["c"]"#).unwrap(),
        "a.b.d = 2\na.e = 3\n\n[t]\nk = 1\n"
    );
    // The chain's only key: the emptied map stays.
    assert_eq!(
        unset(Format::Toml, src, r#"["a"]["e"]"#).unwrap(),
        "a.b.c = 1\na.b.d = 2\n\n[t]\nk = 1\n"
    );
    assert_eq!(
        unset(
            Format::Toml,
            "a.b.c = 1\n[t]\nk = 1\n",
            r#"["a"]["b"]["c"]"#
        )
        .unwrap(),
        "a.b = {}\n[t]\nk = 1\n"
    );
    assert_eq!(
        unset(Format::Toml, SERVERS, r#"["db"]["user"]["name"]"#).unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser = {}\n"
    );
    // A whole dotted table: all its lines.
    assert_eq!(
        unset(Format::Toml, src, r#"["a"]["b"]"#).unwrap(),
        "a.e = 3\n\n[t]\nk = 1\n"
    );
    assert_eq!(
        unset(Format::Toml, src, r#"["a"]"#).unwrap(),
        "\n[t]\nk = 1\n"
    );
    // ... so it can be replaced in its place.
    assert_eq!(
        set(Format::Toml, src, r#"["a"]["b"]"#, r#"{"z": 1}"#).unwrap(),
        "a.b = { z = 1 }\na.e = 3\n\n[t]\nk = 1\n"
    );
    assert_eq!(
        set(Format::Toml, SERVERS, r#"["db"]["user"]"#, r#"{"a": 1}"#).unwrap(),
        "[[servers]]\nhost = \"a\"\nport = 1\n\n[[servers]]\nhost = \"b\"\n\n[db]\nuser = { a = 1 }\n"
    );
    // A whole array of tables: every item.
    assert_eq!(
        unset(Format::Toml, SERVERS, r#"["servers"]"#).unwrap(),
        "[db]\nuser.name = \"x\"\n"
    );
}
#[test]
fn toml_new_lines_follow_the_files_line_breaks_and_indentation() {
    assert_eq!(
        set(
            Format::Toml,
            "[[s]]\r\nk = 1\r\n\r\n[t]\r\nx = 1\r\n",
            r#"["s"][1]"#,
            r#"{"k": 2}"#
        )
        .unwrap(),
        "[[s]]\r\nk = 1\r\n\r\n[[s]]\r\nk = 2\r\n\r\n[t]\r\nx = 1\r\n"
    );
    assert_eq!(
        set(
            Format::Toml,
            "[db]\n  user.name = \"x\"  # c\n  host = 1\n",
            r#"["db"]["user"]["id"]"#,
            "1"
        )
        .unwrap(),
        "[db]\n  user.name = \"x\"  # c\n  user.id = 1\n  host = 1\n"
    );
    assert_eq!(
        set(
            Format::Toml,
            "top = 1\n\n  [[s]]\n    k = 1\n",
            r#"["s"][1]"#,
            r#"{"k": 2}"#
        )
        .unwrap(),
        "top = 1\n\n  [[s]]\n    k = 1\n\n  [[s]]\n    k = 2\n"
    );
    // A comment after the last item stays after the new one; an item
    // whose sub-table comes after another table is still followed.
    assert_eq!(
        set(
            Format::Toml,
            "[[s]]\nk = 1\n# end",
            r#"["s"][1]"#,
            r#"{"k": 2}"#
        )
        .unwrap(),
        "[[s]]\nk = 1\n\n[[s]]\nk = 2\n# end"
    );
    assert_eq!(
        set(
            Format::Toml,
            "[[s]]\nk = 1\n[t]\nx = 1\n[s.sub]\ny = 1\n",
            r#"["s"][1]"#,
            r#"{"k": 2}"#
        )
        .unwrap(),
        "[[s]]\nk = 1\n[t]\nx = 1\n[s.sub]\ny = 1\n\n[[s]]\nk = 2\n"
    );
}
