//! Round-trip properties over generated documents in every format.
//!
//! A document tree (maps, lists, strings with awkward characters, numbers,
//! booleans, nulls) is generated with a layout (indentation, quoting style,
//! comments, table or inline style), written out as text by the writers
//! below, and then:
//! 1. the parser reads exactly the generated values at the generated
//!    locations;
//! 2. the fuzz properties hold (shroud::fuzzing::check_text): spans inside
//!    the text, keep-all render is the identity, and encrypt then decrypt
//!    gives the text back byte for byte (or, for a documented layout
//!    exception, text that parses to the same data).
//!
//! 64 cases per format by default; set PROPTEST_CASES for more.

use std::fmt::Write as _;

use proptest::prelude::*;
use shroud::document::{LeafKind, Value};
use shroud::formats::Format;
use shroud::fuzzing::{self, Outcome};

#[derive(Clone, Debug)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug)]
enum Node {
    Scalar(Scalar, u8),
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
}

/// Layout choices for a whole document.
#[derive(Clone, Debug)]
struct Layout {
    indent: usize,
    indent_seq: bool,
    comments: bool,
    compact: bool,
    tables: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(indent, indent_seq, comments, compact, tables)| Layout {
            indent,
            indent_seq,
            comments,
            compact,
            tables,
        })
}

/// Characters for string values: plain text, YAML/JSON/TOML indicators,
/// quotes, backslashes, tabs, newlines and non-ASCII.
const WIDE: &[char] = &[
    'a', 'b', 'z', 'Q', '0', '7', ' ', ' ', '-', '_', ':', '#', ',', '[', ']', '{', '}', '&', '*',
    '!', '|', '>', '\'', '"', '%', '@', '`', '\\', '/', '=', ';', '\t', '\n', 'é', 'ß', '日', '😀',
    '\u{a0}',
];
/// Characters that dotenv and INI values keep verbatim.
const NARROW: &[char] = &[
    'a', 'b', 'z', 'Q', '0', '7', '-', '_', ':', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>',
    '%', '@', '/', '=', '.', '+', 'é', 'ß', '日', '😀',
];

fn string_from(chars: &'static [char], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(chars), 0..max).prop_map(|v| v.into_iter().collect())
}

fn key() -> impl Strategy<Value = String> {
    string_from(&['a', 'b', 'c', 'x', '0', '9', '_'], 6).prop_map(|s| format!("k{s}"))
}

fn scalar(nulls: bool, chars: &'static [char]) -> impl Strategy<Value = Scalar> {
    let str_ = string_from(chars, 12).prop_map(Scalar::Str);
    let plainish = string_from(&['a', 'b', 'z', '0', ' ', '-'], 8)
        .prop_map(|s| Scalar::Str(format!("s{}", s.trim_end_matches([' ', '-']))));
    prop_oneof![
        3 => str_,
        2 => plainish,
        1 => any::<i64>().prop_map(Scalar::Int),
        1 => (-4000i32..4000).prop_map(|n| Scalar::Float(n as f64 / 8.0)),
        1 => any::<bool>().prop_map(Scalar::Bool),
        1 => Just(if nulls { Scalar::Null } else { Scalar::Bool(false) }),
    ]
}

fn dedup(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn tree(nulls: bool) -> impl Strategy<Value = Vec<(String, Node)>> {
    let leaf = (scalar(nulls, WIDE), any::<u8>()).prop_map(|(s, st)| Node::Scalar(s, st));
    let node = leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Node::List),
            prop::collection::vec((key(), inner), 0..5).prop_map(|e| Node::Map(dedup(e))),
        ]
    });
    prop::collection::vec((key(), node), 1..6).prop_map(dedup)
}

// ---- the expected data -------------------------------------------------

type Data = Vec<(String, String)>;

fn value_text(s: &Scalar) -> Option<String> {
    let v = match s {
        Scalar::Str(s) => Value::str(s.clone()),
        Scalar::Int(i) => Value::Int(*i),
        Scalar::Float(f) => Value::Float(*f),
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Null => return None,
    };
    Some(format!(
        "{}:{}",
        v.value_type().as_str(),
        &*shroud::value::canonical(&v)
    ))
}

fn expect(entries: &[(String, Node)], loc: &str, out: &mut Data) {
    for (k, v) in entries {
        expect_node(
            v,
            &format!("{loc}[{}]", serde_json::to_string(k).unwrap()),
            out,
        );
    }
}

fn expect_node(node: &Node, loc: &str, out: &mut Data) {
    match node {
        Node::Scalar(s, _) => {
            if let Some(t) = value_text(s) {
                out.push((loc.to_string(), t));
            }
        }
        Node::Map(e) => expect(e, loc, out),
        Node::List(items) => {
            for (i, n) in items.iter().enumerate() {
                expect_node(n, &format!("{loc}[{i}]"), out);
            }
        }
    }
}

fn parsed(format: Format, text: &str) -> Data {
    let doc = format
        .parse(text)
        .unwrap_or_else(|e| panic!("{format}: generated text does not parse: {e}\n{text}"));
    let mut out: Data = doc
        .leaves()
        .iter()
        .filter_map(|l| match &l.kind {
            LeafKind::Scalar { value, .. } => Some((
                l.loc.iter().map(|s| s.to_string()).collect(),
                format!(
                    "{}:{}",
                    value.value_type().as_str(),
                    &*shroud::value::canonical(value)
                ),
            )),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

fn check(format: Format, text: &str, mut expected: Data) {
    expected.sort();
    assert_eq!(
        parsed(format, text),
        expected,
        "{format}: data read from\n{text}"
    );
    match fuzzing::check_text(format, text) {
        Outcome::RoundTripped | Outcome::SameData(_) => {}
        other => panic!("{format}: not round-tripped ({other:?}):\n{text}"),
    }
}

// ---- YAML --------------------------------------------------------------

fn yaml_scalar(s: &Scalar, style: u8) -> String {
    match s {
        Scalar::Str(s) => {
            let plain_ok = s.starts_with('s')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
            let printable = s.chars().all(|c| c != '\n' && c != '\t');
            match style % 3 {
                0 if plain_ok => s.clone(),
                1 if printable => format!("'{}'", s.replace('\'', "''")),
                _ => yaml_double(s),
            }
        }
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => if style.is_multiple_of(2) { "null" } else { "~" }.to_string(),
    }
}

fn yaml_double(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{a0}' => out.push_str("\\_"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_value(v: &Node, col: usize, lay: &Layout, out: &mut String) {
    match v {
        Node::Scalar(s, st) => {
            let _ = writeln!(out, " {}", yaml_scalar(s, *st));
        }
        Node::Map(e) if e.is_empty() => out.push_str(" {}\n"),
        Node::List(i) if i.is_empty() => out.push_str(" []\n"),
        Node::Map(e) => {
            out.push('\n');
            yaml_map(e, col + lay.indent, false, lay, out);
        }
        Node::List(items) => {
            out.push('\n');
            let c = if lay.indent_seq {
                col + lay.indent
            } else {
                col
            };
            yaml_list(items, c, false, lay, out);
        }
    }
}

fn yaml_map(entries: &[(String, Node)], col: usize, inline: bool, lay: &Layout, out: &mut String) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(inline && i == 0) {
            if lay.comments {
                let _ = writeln!(out, "{}# about {k}", " ".repeat(col));
            }
            out.push_str(&" ".repeat(col));
        }
        let _ = write!(out, "{k}:");
        yaml_value(v, col, lay, out);
    }
}

fn yaml_list(items: &[Node], col: usize, inline: bool, lay: &Layout, out: &mut String) {
    for (i, n) in items.iter().enumerate() {
        if !(inline && i == 0) {
            out.push_str(&" ".repeat(col));
        }
        out.push('-');
        match n {
            Node::Map(e) if !e.is_empty() => {
                out.push(' ');
                yaml_map(e, col + 2, true, lay, out);
            }
            Node::List(l) if !l.is_empty() => {
                out.push(' ');
                yaml_list(l, col + 2, true, lay, out);
            }
            other => yaml_value(other, col, lay, out),
        }
    }
}

// ---- JSON --------------------------------------------------------------

fn json_node(v: &Node, depth: usize, lay: &Layout, out: &mut String) {
    let (nl, pad, inner) = if lay.compact {
        (String::new(), String::new(), String::new())
    } else {
        (
            "\n".to_string(),
            " ".repeat(lay.indent * depth),
            " ".repeat(lay.indent * (depth + 1)),
        )
    };
    match v {
        Node::Scalar(s, _) => out.push_str(&match s {
            Scalar::Str(s) => serde_json::to_string(s).unwrap(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => format!("{f:?}"),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Null => "null".into(),
        }),
        Node::Map(e) if e.is_empty() => out.push_str("{}"),
        Node::List(i) if i.is_empty() => out.push_str("[]"),
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let colon = if lay.compact { ":" } else { ": " };
                let _ = write!(
                    out,
                    "{nl}{inner}{}{colon}",
                    serde_json::to_string(k).unwrap()
                );
                json_node(v, depth + 1, lay, out);
            }
            let _ = write!(out, "{nl}{pad}}}");
        }
        Node::List(items) => {
            out.push('[');
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{nl}{inner}");
                json_node(n, depth + 1, lay, out);
            }
            let _ = write!(out, "{nl}{pad}]");
        }
    }
}

// ---- TOML --------------------------------------------------------------

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_basic(k)
    }
}

fn toml_basic(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_inline(v: &Node) -> String {
    match v {
        Node::Scalar(s, st) => match s {
            Scalar::Str(s) if st.is_multiple_of(2) && !s.contains(['\'', '\n', '\t']) => {
                format!("'{s}'")
            }
            Scalar::Str(s) => toml_basic(s),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => format!("{f:?}"),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Null => unreachable!("no nulls in TOML"),
        },
        Node::Map(e) => {
            let inner: Vec<String> = e
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_inline(v)))
                .collect();
            if inner.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", inner.join(", "))
            }
        }
        Node::List(items) => {
            let inner: Vec<String> = items.iter().map(toml_inline).collect();
            format!("[{}]", inner.join(", "))
        }
    }
}

fn toml_table(path: &[String], entries: &[(String, Node)], lay: &Layout, out: &mut String) {
    let table = |v: &Node| lay.tables && matches!(v, Node::Map(e) if !e.is_empty());
    for (k, v) in entries.iter().filter(|(_, v)| !table(v)) {
        if lay.comments {
            let _ = writeln!(out, "# about {k}");
        }
        let _ = writeln!(out, "{} = {}", toml_key(k), toml_inline(v));
    }
    for (k, v) in entries.iter().filter(|(_, v)| table(v)) {
        let Node::Map(e) = v else { unreachable!() };
        let mut p = path.to_vec();
        p.push(toml_key(k));
        let _ = writeln!(out, "\n[{}]", p.join("."));
        toml_table(&p, e, lay, out);
    }
}

// ---- the properties ----------------------------------------------------

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn yaml_round_trips(doc in tree(true), lay in layout()) {
        let mut text = String::new();
        yaml_map(&doc, 0, false, &lay, &mut text);
        let mut expected = Vec::new();
        expect(&doc, "", &mut expected);
        check(Format::Yaml, &text, expected);
    }

    #[test]
    fn json_round_trips(doc in tree(true), lay in layout()) {
        let mut text = String::new();
        json_node(&Node::Map(doc.clone()), 0, &lay, &mut text);
        text.push('\n');
        let mut expected = Vec::new();
        expect(&doc, "", &mut expected);
        check(Format::Json, &text, expected);
    }

    #[test]
    fn toml_round_trips(doc in tree(false), lay in layout()) {
        let mut text = String::new();
        toml_table(&[], &doc, &lay, &mut text);
        let mut expected = Vec::new();
        expect(&doc, "", &mut expected);
        check(Format::Toml, &text, expected);
    }

    #[test]
    fn dotenv_round_trips(
        entries in prop::collection::vec((key(), string_from(NARROW, 16), any::<u8>()), 1..12),
        crlf_free_trailing_newline in any::<bool>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let mut text = String::new();
        let mut expected = Vec::new();
        for (k, v, style) in entries {
            let k = k.to_uppercase();
            if !seen.insert(k.clone()) {
                continue;
            }
            match style % 4 {
                0 => text.push_str("# a comment\n"),
                1 => text.push('\n'),
                _ => {}
            }
            let _ = writeln!(text, "{k}={v}");
            expected.push((format!("[{}]", serde_json::to_string(&k).unwrap()), format!("str:{v}")));
        }
        if !crlf_free_trailing_newline {
            text.pop();
        }
        check(Format::Dotenv, &text, expected);
    }

    #[test]
    fn ini_round_trips(
        sections in prop::collection::vec(
            (key(), prop::collection::vec((key(), string_from(NARROW, 16), any::<u8>()), 0..6)),
            1..5,
        ),
    ) {
        let mut seen = std::collections::HashSet::new();
        let mut text = String::new();
        let mut expected = Vec::new();
        for (name, entries) in sections {
            if !seen.insert(name.clone()) {
                continue;
            }
            let _ = writeln!(text, "[{name}]");
            let mut keys = std::collections::HashSet::new();
            for (k, v, style) in entries {
                if !keys.insert(k.clone()) {
                    continue;
                }
                // go-ini trims values and cuts them at `;` or `#`.
                let v = v.trim().to_string();
                if style.is_multiple_of(5) {
                    text.push_str(if style.is_multiple_of(2) { "; a comment\n" } else { "# a comment\n" });
                }
                let sep = ["=", " = ", ": ", ":"][usize::from(style) % 4];
                let _ = writeln!(text, "{k}{sep}{v}");
                expected.push((
                    format!(
                        "[{}][{}]",
                        serde_json::to_string(&name).unwrap(),
                        serde_json::to_string(&k).unwrap()
                    ),
                    format!("str:{v}"),
                ));
            }
            text.push('\n');
        }
        check(Format::Ini, &text, expected);
    }
}
