//! Big files, which shroud encrypts and decrypts a piece at a time on
//! every core (src/stream): the same results, messages, exit codes and
//! all-or-nothing writes as the whole-file path that small files take.
//! `--verbose` says which path ran, so each test knows what it tested.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{big_json, big_yaml, identity_file, recipient, shroud};

fn run(home: &Path, args: &[&str], file: &Path) -> Output {
    shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("--verbose")
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn encrypt(home: &Path, file: &Path) -> Output {
    run(home, &["encrypt", "--age", &recipient("alice")], file)
}

fn assert_streamed(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", stderr(o));
    assert!(
        stderr(o).contains(&format!("{what} in ")),
        "{what} did not stream: {}",
        stderr(o)
    );
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `encrypt -i` then `decrypt -i` of `plain` (holding `src`), both
/// streamed: the file comes back byte for byte and keeps its mode.
fn in_place_both_ways(home: &Path, plain: &Path, src: &str) {
    fs::set_permissions(plain, fs::Permissions::from_mode(0o640)).unwrap();
    let o = run(
        home,
        &["encrypt", "-i", "--age", &recipient("alice")],
        plain,
    );
    assert_streamed(&o, "encrypted");
    assert_eq!(mode(plain), 0o640);
    assert_streamed(&run(home, &["decrypt", "-i"], plain), "decrypted");
    assert_eq!(fs::read_to_string(plain).unwrap(), src);
}

#[test]
fn a_big_file_streams_through_every_destination_and_comes_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let src = big_yaml(1500);
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();

    // To standard output.
    let o = encrypt(home, &plain);
    assert_streamed(&o, "encrypted");
    let enc = home.join("big.enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(text.contains("public_unencrypted: visible-1499\n"));
    assert!(!text.contains("p@ss"), "a secret was left in clear");
    assert!(text.contains("#ENC[AES256_GCM,"), "comments are encrypted");
    let o = run(home, &["decrypt"], &enc);
    assert_streamed(&o, "decrypted");
    assert_eq!(String::from_utf8(o.stdout).unwrap(), src);

    // In place, both ways; a new encrypted file is 0600, and an in-place
    // write keeps the file's mode.
    in_place_both_ways(home, &plain, &src);

    let out = home.join("out.yaml");
    let o = run(
        home,
        &[
            "encrypt",
            "--age",
            &recipient("alice"),
            "--output",
            out.to_str().unwrap(),
        ],
        &plain,
    );
    assert_streamed(&o, "encrypted");
    assert_eq!(mode(&out), 0o600);
    let o = run(home, &["decrypt"], &out);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), src);
    // Nothing left behind in the folder.
    let names: Vec<String> = fs::read_dir(home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".shroud-tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_syntax_error_deep_in_a_big_file_is_reported_at_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut src = big_yaml(1500);
    let line = src.lines().count() + 1;
    src.push_str("broken: [never closed\n");
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();

    let o = encrypt(home, &plain);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "something was written");
    // The parser finds the missing `]` where the file ends: the line
    // after, as for the same text in a small file.
    let at = format!("line {}, column 1: while parsing a flow sequence", line + 1);
    assert!(stderr(&o).contains(&at), "no {at:?} in: {}", stderr(&o));
    let o = run(
        home,
        &["encrypt", "-i", "--age", &recipient("alice")],
        &plain,
    );
    assert!(!o.status.success());
    assert_eq!(
        fs::read_to_string(&plain).unwrap(),
        src,
        "-i changed the file"
    );
}

#[test]
fn a_root_key_repeated_far_from_its_first_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let src = format!("{}group_00003:\n  again: 1\n", big_yaml(1500));
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();
    let o = encrypt(home, &plain);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("duplicate"), "{}", stderr(&o));
}

/// `text` with the byte ranges `a` and `b` (`a` first) swapped.
fn swapped(text: &str, a: std::ops::Range<usize>, b: std::ops::Range<usize>) -> String {
    let mut s = text.to_string();
    s.replace_range(b.clone(), &text[a.clone()]);
    s.replace_range(a, &text[b]);
    s
}

/// Each tampered file, written as `NAME.EXT`, is refused by `decrypt`
/// with its exit code and no output, and by `decrypt -i` without a change.
fn refused_and_untouched<const N: usize>(home: &Path, ext: &str, cases: [(&str, String, i32); N]) {
    for (what, text, code) in cases {
        let f = home.join(format!("{what}.{ext}"));
        fs::write(&f, &text).unwrap();
        let o = run(home, &["decrypt"], &f);
        assert_eq!(o.status.code(), Some(code), "{what}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{what}: plaintext was written");
        let o = run(home, &["decrypt", "-i"], &f);
        assert_eq!(o.status.code(), Some(code), "{what}: {}", stderr(&o));
        assert_eq!(
            fs::read_to_string(&f).unwrap(),
            text,
            "{what}: -i changed the file"
        );
    }
}

/// The value of `field` in `group` of `enc`, as a byte range.
fn value_of(enc: &str, group: &str, field: &str) -> std::ops::Range<usize> {
    let g = enc.find(&format!("\n{group}:\n")).unwrap();
    let at = g + enc[g..].find(&format!("\n  {field}: ")).unwrap() + field.len() + 5;
    at..at + enc[at..].find('\n').unwrap()
}

#[test]
fn a_tampered_big_file_is_refused_with_the_whole_file_exit_codes_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let plain = home.join("big.yaml");
    fs::write(&plain, big_yaml(1500)).unwrap();
    let enc = String::from_utf8(encrypt(home, &plain).stdout).unwrap();

    // Two values swapped between far-apart pieces: each fails to decrypt
    // under the other's key path (ERROR_DECRYPTING_TREE, 25).
    let (a, b) = (
        value_of(&enc, "group_00001", "port"),
        value_of(&enc, "group_01400", "port"),
    );
    let swapped = swapped(&enc, a, b);
    // A value removed: the SOPS MAC no longer matches (51).
    let r = value_of(&enc, "group_00700", "ratio");
    let mut removed = enc.clone();
    removed.replace_range(r.start - "  ratio: ".len()..r.end + 1, "");
    // A clear value changed: the MAC covers it too (51).
    let mut clear = enc.clone();
    let r = value_of(&enc, "group_01200", "public_unencrypted");
    clear.replace_range(r, "visible-changed");

    refused_and_untouched(
        home,
        "yaml",
        [
            ("swapped", swapped, 25),
            ("removed", removed, 51),
            ("clear", clear, 51),
        ],
    );
}

#[test]
fn a_big_file_with_a_comment_rule_is_read_whole_and_still_right() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let src = format!("# sops:enc\nsecret: s\n{}", big_yaml(1000));
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();
    let o = run(
        home,
        &[
            "encrypt",
            "--age",
            &recipient("alice"),
            "--encrypted-comment-regex",
            "sops:enc",
        ],
        &plain,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("read whole"), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    // Only the value under the marked comment is encrypted.
    assert!(text.contains("secret: ENC["));
    assert!(text.contains("password: 'p@ss 3'"));
    let enc = home.join("enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    let o = run(home, &["decrypt"], &enc);
    assert!(stderr(&o).contains("read whole"), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), src);
}

#[test]
fn without_a_usable_temporary_folder_a_big_file_is_encrypted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let src = big_yaml(1000);
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();
    let o = shroud(home)
        .env("TMPDIR", home.join("does-not-exist"))
        .args(["--verbose", "encrypt", "--age", &recipient("alice")])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read whole (no temporary file"),
        "{}",
        stderr(&o)
    );
    let enc = home.join("enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    assert_eq!(
        String::from_utf8(run(home, &["decrypt"], &enc).stdout).unwrap(),
        src
    );
}

#[test]
fn with_the_default_identity_a_big_file_streams_once_the_identity_exists() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let keys = home.join(".config/sops/age/keys.txt");
    let verbose_encrypt = |file: &Path| {
        shroud(home)
            .args(["--verbose", "encrypt"])
            .arg(file)
            .output()
            .unwrap()
    };
    // A malformed big file fails before any identity is created.
    let bad = home.join("bad.yaml");
    fs::write(&bad, format!("{}broken: [never closed\n", big_yaml(1000))).unwrap();
    assert!(!verbose_encrypt(&bad).status.success());
    assert!(
        !keys.exists(),
        "an identity was created for a file that failed"
    );

    // The first encryption creates it (read whole, as said above) ...
    let src = big_yaml(1000);
    let plain = home.join("big.yaml");
    fs::write(&plain, &src).unwrap();
    let o = verbose_encrypt(&plain);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(keys.is_file());
    assert!(!stderr(&o).contains("encrypted in "), "{}", stderr(&o));
    // ... and from then on big files stream, to that identity.
    let o = verbose_encrypt(&plain);
    assert_streamed(&o, "encrypted");
    let enc = home.join("enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    let o = shroud(home).arg("decrypt").arg(&enc).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), src, "{}", stderr(&o));
}

#[test]
fn a_big_json_file_streams_through_every_destination_and_comes_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let src = big_json(1500);
    // Another parser agrees that the generated file is JSON.
    let data: serde_json::Value = serde_json::from_str(&src).unwrap();
    assert_eq!(data.as_object().unwrap().len(), 1500);
    let plain = home.join("big.json");
    fs::write(&plain, &src).unwrap();

    // To standard output.
    let o = encrypt(home, &plain);
    assert_streamed(&o, "encrypted");
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(text.contains("\"public_unencrypted\": \"visible-1499\"\n"));
    assert!(!text.contains("p@ss"), "a secret was left in clear");
    // The metadata closes the root object, as the whole-file path puts it.
    assert!(
        text.contains("\n  },\n  \"sops\": {\n"),
        "{}",
        &text[text.len() - 2000..]
    );
    assert!(text.ends_with("\n  }\n}\n"));
    let enc = home.join("big.enc.json");
    fs::write(&enc, &o.stdout).unwrap();
    let o = run(home, &["decrypt"], &enc);
    assert_streamed(&o, "decrypted");
    assert_eq!(String::from_utf8(o.stdout).unwrap(), src);

    // In place, both ways, keeping the file's mode.
    in_place_both_ways(home, &plain, &src);

    // To --output, from a file without a final line break.
    let bare = src.trim_end();
    fs::write(&plain, bare).unwrap();
    let out = home.join("out.json");
    let o = run(
        home,
        &[
            "encrypt",
            "--age",
            &recipient("alice"),
            "--output",
            out.to_str().unwrap(),
        ],
        &plain,
    );
    assert_streamed(&o, "encrypted");
    assert_eq!(mode(&out), 0o600);
    assert!(fs::read_to_string(&out).unwrap().ends_with("\n  }\n}"));
    let o = run(home, &["decrypt"], &out);
    assert_streamed(&o, "decrypted");
    assert_eq!(String::from_utf8(o.stdout).unwrap(), bare);
}

#[test]
fn a_syntax_error_deep_in_a_big_json_file_is_reported_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let good = big_json(1500);
    // A space inside a number, deep in the file: `"port": 22 24,`.
    let port = "\"port\": 2224,";
    let at = good.find(port).unwrap() + "\"port\": 22".len();
    let mut src = good.clone();
    src.insert(at, ' ');
    // Where the parser stops: at the `2` after the space, counted by hand.
    let line = src[..at].matches('\n').count() + 1;
    let column = at + 1 - src[..at].rfind('\n').unwrap();
    assert_eq!(column, "    \"port\": 22 ".len() + 1);
    let plain = home.join("big.json");
    fs::write(&plain, &src).unwrap();

    let o = encrypt(home, &plain);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "something was written");
    let want = format!("line {line}, column {column}:");
    assert!(stderr(&o).contains(&want), "no {want:?} in: {}", stderr(&o));
    let o = run(
        home,
        &["encrypt", "-i", "--age", &recipient("alice")],
        &plain,
    );
    assert!(!o.status.success());
    assert_eq!(
        fs::read_to_string(&plain).unwrap(),
        src,
        "-i changed the file"
    );
}

/// The string value (quotes included) of `field` in member `group` of
/// encrypted JSON `enc`.
fn json_value_of(enc: &str, group: &str, field: &str) -> std::ops::Range<usize> {
    let g = enc.find(&format!("\n  \"{group}\": {{\n")).unwrap();
    let key = format!("\n    \"{field}\": \"");
    let at = g + enc[g..].find(&key).unwrap() + key.len() - 1;
    at..at + 2 + enc[at + 1..].find('"').unwrap()
}

#[test]
fn a_tampered_big_json_file_is_refused_with_the_whole_file_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let plain = home.join("big.json");
    fs::write(&plain, big_json(1500)).unwrap();
    let o = encrypt(home, &plain);
    assert_streamed(&o, "encrypted");
    let enc = String::from_utf8(o.stdout).unwrap();

    // Two values swapped between far-apart pieces (25).
    let (a, b) = (
        json_value_of(&enc, "group_00001", "port"),
        json_value_of(&enc, "group_01400", "port"),
    );
    assert!(enc[a.clone()].starts_with("\"ENC[") && enc[a.clone()].ends_with("]\""));
    let swapped = swapped(&enc, a, b);
    // A member removed with its comma: the SOPS MAC no longer matches (51).
    let r = json_value_of(&enc, "group_00700", "ratio");
    assert_eq!(&enc[r.end..r.end + 1], ",");
    let mut removed = enc.clone();
    removed.replace_range(r.start - "\n    \"ratio\": ".len()..r.end + 1, "");
    // A clear value changed: the MAC covers it too (51).
    let mut clear = enc.clone();
    let r = json_value_of(&enc, "group_01200", "public_unencrypted");
    clear.replace_range(r, "\"visible-changed\"");

    refused_and_untouched(
        home,
        "json",
        [
            ("swapped", swapped, 25),
            ("removed", removed, 51),
            ("clear", clear, 51),
        ],
    );
}
