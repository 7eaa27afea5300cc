//! The tamper matrix: every attack class of the SOPS format spec's section
//! 10 (the holes in the SOPS MAC), plus single-character flips in each part
//! of an encrypted file, applied to a YAML, JSON, TOML, dotenv and INI file
//! shroud wrote. Every case must be refused with a documented exit code
//! (docs/security.md): 51 for the MAC or shroud_auth, 25 for a value that
//! does not decrypt, 128 for a data key that cannot be unwrapped.
//!
//! The attacker here holds no key: they can only edit the file's text. For
//! the YAML file, the cases marked `sops_accepts` are also run through the
//! real sops 3.11, which decrypts them with exit 0: those are the holes
//! shroud_auth closes.

mod common;

use std::fs;
use std::path::Path;

use common::{identity_file, recipient, require_tool, shroud};
use regex::Regex;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fmt {
    Yaml,
    Json,
    Toml,
    Dotenv,
    Ini,
}

impl Fmt {
    fn ext(self) -> &'static str {
        match self {
            Fmt::Yaml => "yaml",
            Fmt::Json => "json",
            Fmt::Toml => "toml",
            Fmt::Dotenv => "env",
            Fmt::Ini => "ini",
        }
    }

    /// The plaintext: two encrypted comments (not JSON), an int, strings,
    /// and two unencrypted values side by side.
    fn plaintext(self) -> &'static str {
        match self {
            Fmt::Yaml => {
                "# top comment\ndb:\n  user: app\n  port: 5432\n  # pw comment\n  password: hunter2\na_unencrypted: PUBAB\nb_unencrypted: PUBC\n"
            }
            Fmt::Json => {
                "{\n  \"db\": {\n    \"user\": \"app\",\n    \"port\": 5432,\n    \"password\": \"hunter2\"\n  },\n  \"a_unencrypted\": \"PUBAB\",\n  \"b_unencrypted\": \"PUBC\"\n}\n"
            }
            Fmt::Toml => {
                "# top comment\na_unencrypted = \"PUBAB\"\nb_unencrypted = \"PUBC\"\n\n[db]\nuser = \"app\"\nport = 5432\n# pw comment\npassword = \"hunter2\"\n"
            }
            Fmt::Dotenv => {
                "# top comment\nuser=app\nport=5432\n# pw comment\npassword=hunter2\na_unencrypted=PUBAB\nb_unencrypted=PUBC\n"
            }
            Fmt::Ini => {
                "; top comment\n[db]\nuser = app\nport = 5432\n; pw comment\npassword = hunter2\na_unencrypted = PUBAB\nb_unencrypted = PUBC\n"
            }
        }
    }

    fn has_comments(self) -> bool {
        self != Fmt::Json
    }

    fn has_null(self) -> bool {
        matches!(self, Fmt::Yaml | Fmt::Json)
    }

    /// How many cases must run for this format (so none can silently
    /// disappear from the matrix).
    fn expected_cases(self) -> usize {
        let all = 18;
        let comments = if self.has_comments() { 3 } else { 0 };
        let null = if self.has_null() { 1 } else { 0 };
        all + comments + null
    }
}

/// Change one base64 character (never to an equal one).
fn flip_at(text: &str, at: usize) -> String {
    let mut b = text.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// Flip a character of `field` (`data:`, `iv:`, `tag:`) of the ENC value
/// starting at `enc_start`.
fn flip_field(text: &str, enc_start: usize, field: &str) -> String {
    let at = enc_start + text[enc_start..].find(field).unwrap() + field.len() + 1;
    flip_at(text, at)
}

fn first_value_enc(text: &str) -> usize {
    // The first ENC value that is not a comment: `user`'s.
    let line_start = text
        .lines()
        .scan(0, |pos, l| {
            let start = *pos;
            *pos += l.len() + 1;
            Some((start, l))
        })
        .find(|(_, l)| l.contains("user") && l.contains("ENC["))
        .unwrap()
        .0;
    line_start + text[line_start..].find("ENC[").unwrap()
}

/// The line (with its newline) containing `needle`.
fn line_of(text: &str, needle: &str) -> std::ops::Range<usize> {
    let at = text.find(needle).unwrap();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    start..end
}

fn nth_line_containing(text: &str, needle: &str, n: usize) -> std::ops::Range<usize> {
    let at = text.match_indices(needle).nth(n - 1).unwrap().0;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    start..end
}

fn swap_ranges(text: &str, a: std::ops::Range<usize>, b: std::ops::Range<usize>) -> String {
    assert!(a.end <= b.start);
    format!(
        "{}{}{}{}{}",
        &text[..a.start],
        &text[b.clone()],
        &text[a.end..b.start],
        &text[a.clone()],
        &text[b.end..]
    )
}

fn replace_first(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the file");
    text.replacen(from, to, 1)
}

fn replace_last(text: &str, from: &str, to: &str) -> String {
    let at = text.rfind(from).unwrap();
    format!("{}{}{}", &text[..at], to, &text[at + from.len()..])
}

/// An attack: a name, a change of the encrypted text, the exit code shroud
/// must give, and whether real sops decrypts the result anyway.
struct Case {
    name: &'static str,
    text: String,
    code: i32,
    sops_accepts: bool,
}

fn cases(f: Fmt, enc: &str) -> Vec<Case> {
    let mut v = Vec::new();
    let mut add = |name, text: String, code, sops_accepts| {
        assert_ne!(text, enc, "case {name} changed nothing");
        v.push(Case {
            name,
            text,
            code,
            sops_accepts,
        })
    };
    let value = first_value_enc(enc);
    let mac = enc.rfind("ENC[AES256_GCM,data:").unwrap();
    let wrapped = enc.find("YWdl").unwrap();

    // Single-character flips.
    add(
        "flip value data",
        flip_field(enc, value, "data:"),
        25,
        false,
    );
    add("flip value iv", flip_field(enc, value, "iv:"), 25, false);
    add("flip value tag", flip_field(enc, value, "tag:"), 25, false);
    add("flip mac", flip_field(enc, mac, "data:"), 51, false);
    // The mac's IV is shroud_auth's tag (v2); GCM refuses another IV too.
    add("flip mac iv", flip_field(enc, mac, "iv:"), 51, false);
    // The marker names the version: one shroud does not know is refused,
    // not taken as absent.
    add(
        "unknown shroud_auth version",
        replace_first(enc, "v2:HMAC-SHA256:mac-iv", "v9:HMAC-SHA256:mac-iv"),
        51,
        true,
    );
    // Inside the X25519 share of the first (alice's) stanza: no key.
    add("flip wrapped key", flip_at(enc, wrapped + 40), 128, false);

    // Keys and types (spec 10.3).
    add(
        "rename an unencrypted key",
        replace_first(enc, "a_unencrypted", "z_unencrypted"),
        51,
        true,
    );
    add(
        "rename an encrypted key",
        replace_first(enc, "password", "passwd"),
        25,
        false,
    );
    let retyped = match f {
        Fmt::Yaml | Fmt::Json | Fmt::Toml => replace_first(enc, "type:int]", "type:str]"),
        Fmt::Dotenv | Fmt::Ini => {
            let r = line_of(enc, "port");
            let line = enc[r.clone()].replace("type:str]", "type:int]");
            format!("{}{}{}", &enc[..r.start], line, &enc[r.end..])
        }
    };
    add("change the type of a value", retyped, 51, true);

    // Empty and null values (spec 10.3).
    let inject = |line: &str| match f {
        Fmt::Json => replace_first(enc, "{\n", &format!("{{\n  {line},\n")),
        Fmt::Ini => replace_first(enc, "[db]\n", &format!("[db]\n{line}\n")),
        _ => format!("{line}\n{enc}"),
    };
    let empty = match f {
        Fmt::Yaml => "injected: \"\"",
        Fmt::Json => "\"injected\": \"\"",
        Fmt::Toml => "injected = \"\"",
        Fmt::Dotenv => "injected=",
        Fmt::Ini => "injected =",
    };
    add("inject an empty value", inject(empty), 51, true);
    if f.has_null() {
        let null = if f == Fmt::Json {
            "\"injected\": null"
        } else {
            "injected: null"
        };
        add("inject a null", inject(null), 51, true);
    }

    // Comments (spec 10.3): delete, duplicate, move.
    if f.has_comments() {
        let c = nth_line_containing(enc, "type:comment]", 2);
        let mut deleted = enc.to_string();
        deleted.replace_range(c.clone(), "");
        add("delete an encrypted comment", deleted, 51, true);
        let mut dup = enc.to_string();
        dup.insert_str(c.start, &enc[c.clone()]);
        add("duplicate an encrypted comment", dup, 51, true);
        let prev_end = c.start;
        let prev_start = enc[..prev_end - 1].rfind('\n').map_or(0, |i| i + 1);
        add(
            "move an encrypted comment up a line",
            swap_ranges(enc, prev_start..prev_end, c),
            51,
            true,
        );
    }

    // Order (spec 10.3, 10.5).
    let user = line_of(enc, "user");
    let port = line_of(enc, "port");
    add("swap two entries", swap_ranges(enc, user, port), 51, false);
    // No separators in the MAC: "PUBAB","PUBC" hashes like "PUBA","BPUBC".
    add(
        "move a character between two clear values",
        replace_first(&replace_first(enc, "PUBAB", "PUBA"), "PUBC", "BPUBC"),
        51,
        true,
    );

    // Metadata (spec 10.4).
    add(
        "change unencrypted_suffix",
        replace_last(enc, "_unencrypted", "crypted"),
        51,
        true,
    );
    add(
        "change version",
        replace_last(enc, "3.11.0", "3.11.1"),
        51,
        true,
    );
    let lm = Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let stamp = lm.find(enc).unwrap().as_str();
    add(
        "change lastmodified",
        replace_first(enc, stamp, &stamp.replacen("20", "19", 1)),
        51,
        false,
    );
    let bob = regex::escape(&recipient("bob"));
    let stanza = match f {
        Fmt::Yaml => format!(r"(?s)[ \t]*- recipient: {bob}.*?-----END AGE ENCRYPTED FILE-----\n"),
        Fmt::Json => format!(r#"(?s),\s*\{{\s*"recipient": "{bob}".*?\}}"#),
        Fmt::Toml => format!(r#"(?s)\n\[\[sops\.age\]\]\nrecipient = "{bob}"\nenc = """.*?"""\n"#),
        Fmt::Dotenv | Fmt::Ini => r"(?m)^(sops_)?age__list_1__map_\w+ *=.*\n".to_string(),
    };
    let removed = Regex::new(&stanza)
        .unwrap()
        .replace_all(enc, "")
        .into_owned();
    add("remove a recipient", removed, 51, true);
    let auth_line = line_of(enc, "shroud_auth");
    let extra = enc[auth_line.clone()]
        .replace("v2:HMAC-SHA256:mac-iv", "7")
        .replace("shroud_auth", "shroud_rotated_by");
    let extra = if f == Fmt::Json {
        extra.replace("\"7\"", "\"7\",")
    } else {
        extra
    };
    let mut added = enc.to_string();
    added.insert_str(auth_line.start, &extra);
    add("add a shroud_ metadata field", added, 51, true);
    v
}

/// The same file without shroud_auth: what sops writes, or a downgrade.
fn strip_auth(f: Fmt, enc: &str) -> String {
    match f {
        Fmt::Json => Regex::new(r#",\s*"shroud_auth": "[^"]*""#)
            .unwrap()
            .replace(enc, "")
            .into_owned(),
        _ => {
            let mut t = enc.to_string();
            t.replace_range(line_of(enc, "shroud_auth"), "");
            t
        }
    }
}

fn encrypt(home: &Path, f: Fmt) -> String {
    let plain = home.join(format!("plain.{}", f.ext()));
    fs::write(&plain, f.plaintext()).unwrap();
    let o = shroud(home)
        .args([
            "encrypt",
            "--age",
            &format!("{},{}", recipient("alice"), recipient("bob")),
        ])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn decrypt(home: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .args(extra)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn every_tampering_is_refused_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let sops = require_tool("sops");
    let mut report = Vec::new();
    for f in [Fmt::Yaml, Fmt::Json, Fmt::Toml, Fmt::Dotenv, Fmt::Ini] {
        let enc = encrypt(home, f);
        let file = home.join(format!("enc.{}", f.ext()));
        fs::write(&file, &enc).unwrap();
        // The untouched file decrypts without a warning about shroud_auth.
        let o = decrypt(home, &file, &[]);
        assert!(
            o.status.success(),
            "{f:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!String::from_utf8_lossy(&o.stderr).contains("shroud_auth"));

        let mut ran = 0;
        for case in cases(f, &enc) {
            let t = home.join(format!("tampered.{}", f.ext()));
            fs::write(&t, &case.text).unwrap();
            let o = decrypt(home, &t, &[]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(
                o.status.code(),
                Some(case.code),
                "{f:?}: {}: {err}\n--- file ---\n{}",
                case.name,
                case.text
            );
            assert!(
                o.stdout.is_empty(),
                "{f:?}: {}: output on failure",
                case.name
            );
            assert!(!err.contains("hunter2"), "{f:?}: {}: {err}", case.name);
            // The holes of the SOPS MAC are caught by shroud_auth, and the
            // message says so.
            if case.sops_accepts {
                assert!(err.contains("shroud_auth"), "{f:?}: {}: {err}", case.name);
            }
            // --ignore-mac reads the file anyway when only the MAC or
            // shroud_auth objects.
            if case.code == 51 {
                let o = decrypt(home, &t, &["--ignore-mac"]);
                assert!(o.status.success(), "{f:?}: {}: --ignore-mac", case.name);
            }
            if f == Fmt::Yaml
                && case.sops_accepts
                && let Some(sops) = &sops
            {
                let o = common::isolated(sops, home)
                    .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                    .arg("decrypt")
                    .arg(&t)
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "real sops refused {}, so it is not a MAC hole: {}",
                    case.name,
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            ran += 1;
        }

        // A removed shroud_auth: a warning, or exit 51 under --strict.
        let t = home.join(format!("stripped.{}", f.ext()));
        fs::write(&t, strip_auth(f, &enc)).unwrap();
        let o = decrypt(home, &t, &[]);
        assert!(o.status.success(), "{f:?}: stripped");
        assert!(String::from_utf8_lossy(&o.stderr).contains("has no shroud_auth"));
        let o = decrypt(home, &t, &["--strict"]);
        assert_eq!(o.status.code(), Some(51), "{f:?}: stripped, --strict");
        ran += 1;

        println!("{f:?}: {ran} tamper cases refused");
        report.push((f, ran));
        assert_eq!(ran, f.expected_cases() + 1, "{f:?}: cases went missing");
    }
    println!("tamper matrix: {report:?}");
}
