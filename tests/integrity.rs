//! shroud_auth as a user meets it: files that carry it still open with the
//! real sops in every format sops reads, every command that writes a file
//! leaves a valid one, every command that reads a file checks it first, and
//! files without it (written by sops) warn, or fail under strict mode.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{identity_file, recipient, require_tool, shroud};

const FILES: &[(&str, &str)] = &[
    (
        "s.yaml",
        "# note\ndb:\n  user: app\n  port: 5432\n  password: hunter2\nempty: \"\"\nnothing: null\npublic_unencrypted: PUBLIC\n",
    ),
    (
        "s.json",
        "{\n  \"db\": {\"user\": \"app\", \"port\": 5432, \"password\": \"hunter2\"},\n  \"empty\": \"\",\n  \"nothing\": null\n}\n",
    ),
    ("s.env", "# note\nUSER=app\nPASSWORD=hunter2\nEMPTY=\n"),
    (
        "s.ini",
        "; note\n[db]\nuser = app\npassword = hunter2\nempty =\n",
    ),
];

/// What every file shroud writes carries in `shroud_auth` (v2).
const MARKER: &str = "v2:HMAC-SHA256:mac-iv";

const TOML: &str = "# note\n[db]\nuser = \"app\"\nport = 5432\npassword = \"hunter2\"\n";

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn as_alice(home: &Path) -> Command {
    let mut c = shroud(home);
    c.env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .current_dir(home);
    c
}

fn sops(sops: &Path, home: &Path) -> Command {
    let mut c = common::isolated(sops, home);
    c.env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .current_dir(home);
    c
}

fn write_encrypted(home: &Path, name: &str, plain: &str, extra: &[&str]) -> PathBuf {
    let p = home.join(format!("plain-{name}"));
    fs::write(&p, plain).unwrap();
    let out = home.join(name);
    let o = run(shroud(home)
        .current_dir(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&out)
        .args(extra)
        .arg(&p));
    assert!(o.status.success(), "{}", err(&o));
    out
}

#[test]
fn files_with_shroud_auth_open_with_real_sops_in_every_format() {
    let Some(sops_bin) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (name, plain) in FILES {
        let file = write_encrypted(home, name, plain, &[]);
        let text = fs::read_to_string(&file).unwrap();
        // v2: a constant marker; the tag is the IV of `mac`, which sops
        // reads like any other IV.
        assert!(text.contains(MARKER), "{name}: {text}");
        let o = run(sops(&sops_bin, home).arg("decrypt").arg(&file));
        assert!(o.status.success(), "sops refused {name}: {}", err(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("hunter2") && out.contains("app"),
            "{name}: {out}"
        );
        assert!(!out.contains("shroud_auth"), "{name}: {out}");
        // And shroud reads it without a warning, even in strict mode.
        let o = run(as_alice(home).args(["decrypt", "--strict"]).arg(&file));
        assert!(o.status.success(), "{name}: {}", err(&o));
        assert!(!err(&o).contains("shroud_auth"), "{name}: {}", err(&o));
    }
    // sops has no TOML: a TOML file converted by shroud on encryption.
    let file = write_encrypted(
        home,
        "t.yaml",
        TOML,
        &["--input-type", "toml", "--output-type", "yaml"],
    );
    assert!(fs::read_to_string(&file).unwrap().contains("shroud_auth"));
    let o = run(sops(&sops_bin, home).arg("decrypt").arg(&file));
    assert!(o.status.success(), "sops refused the TOML: {}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hunter2"));
    // A binary file: the whole content under `data`, authenticated too.
    let bin: Vec<u8> = (0..=255u8).rev().collect();
    fs::write(home.join("b.bin"), &bin).unwrap();
    let o = run(shroud(home).current_dir(home).args([
        "encrypt",
        "--age",
        &recipient("alice"),
        "--output",
        "b.enc",
        "b.bin",
    ]));
    assert!(o.status.success(), "{}", err(&o));
    let enc = fs::read_to_string(home.join("b.enc")).unwrap();
    assert!(enc.contains(MARKER));
    let o = run(sops(&sops_bin, home).args([
        "decrypt",
        "--input-type",
        "binary",
        "--output-type",
        "binary",
        "b.enc",
    ]));
    assert!(
        o.status.success(),
        "sops refused the binary file: {}",
        err(&o)
    );
    assert_eq!(o.stdout, bin);
    let o = run(as_alice(home).args(["decrypt", "--strict", "--input-type", "binary", "b.enc"]));
    assert_eq!(o.stdout, bin, "{}", err(&o));
    fs::write(home.join("b.enc"), enc.replace("3.11.0", "3.11.1")).unwrap();
    let o = run(as_alice(home).args(["decrypt", "--input-type", "binary", "b.enc"]));
    assert_eq!(o.status.code(), Some(51), "{}", err(&o));

    // With mac_only_encrypted the SOPS MAC ignores clear values by design;
    // shroud_auth still covers them.
    let file = write_encrypted(home, "moe.yaml", FILES[0].1, &["--mac-only-encrypted"]);
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("PUBLIC", "EVIL")).unwrap();
    let o = run(sops(&sops_bin, home).arg("decrypt").arg(&file));
    assert!(o.status.success(), "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("EVIL"));
    let o = run(as_alice(home).arg("decrypt").arg(&file));
    assert_eq!(o.status.code(), Some(51), "{}", err(&o));
    assert!(err(&o).contains("shroud_auth"), "{}", err(&o));

    // YAML anchors whose aliases get written out as copies, an inline
    // comment inside the anchored map, a comment in a list, empty
    // collections and a null: what shroud writes, it accepts.
    let yaml = "base: &b\n  user: app # inline\n  pass: x\ncopy: *b\nlist:\n  # in list\n  - one\n  - &s two\n  - *s\nmerge:\n  <<: *b\n  extra: 1\nempty_map: {}\nempty_list: []\nnul:\n";
    let file = write_encrypted(home, "anchors.yaml", yaml, &[]);
    let o = run(as_alice(home).args(["decrypt", "--strict"]).arg(&file));
    assert!(o.status.success(), "{}", err(&o));
    let o = run(sops(&sops_bin, home).arg("decrypt").arg(&file));
    assert!(o.status.success(), "sops refused the anchors: {}", err(&o));

    // A TOML file shroud keeps as TOML is checked by shroud.
    let file = write_encrypted(home, "t.toml", TOML, &[]);
    let o = run(as_alice(home).args(["decrypt", "--strict"]).arg(&file));
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn sops_written_files_warn_and_strict_mode_refuses_them() {
    let Some(sops_bin) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // The setting lives under a top-level `shroud` key, which real sops
    // ignores: sops encrypt works with this config.
    let strict_dir = home.join("strict");
    fs::create_dir(&strict_dir).unwrap();
    fs::write(
        strict_dir.join(".sops.yaml"),
        format!(
            "shroud:\n  strict: true\ncreation_rules:\n  - age: {}\n",
            recipient("alice")
        ),
    )
    .unwrap();
    fs::write(strict_dir.join("s.yaml"), FILES[0].1).unwrap();
    let o = run(sops(&sops_bin, &strict_dir).args(["encrypt", "-i", "s.yaml"]));
    assert!(o.status.success(), "sops rejected the config: {}", err(&o));
    let sops_file = strict_dir.join("s.yaml");
    assert!(
        !fs::read_to_string(&sops_file)
            .unwrap()
            .contains("shroud_auth")
    );

    // Under the strict config: refused, with exit 51 and the reason.
    let o = run(as_alice(&strict_dir).args(["decrypt", "s.yaml"]));
    assert_eq!(o.status.code(), Some(51), "{}", err(&o));
    assert!(err(&o).contains("no shroud_auth"), "{}", err(&o));
    assert!(o.stdout.is_empty());
    // --ignore-mac reads it anyway.
    let o = run(as_alice(&strict_dir).args(["decrypt", "--ignore-mac", "s.yaml"]));
    assert!(o.status.success(), "{}", err(&o));

    // Elsewhere: a warning, and the plaintext.
    let loose = home.join("s.yaml");
    fs::copy(&sops_file, &loose).unwrap();
    let o = run(as_alice(home).args(["decrypt", "s.yaml"]));
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("has no shroud_auth"), "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hunter2"));
    // --strict before or after the command, or SHROUD_STRICT.
    for args in [
        &["--strict", "decrypt", "s.yaml"][..],
        &["decrypt", "--strict", "s.yaml"][..],
    ] {
        let o = run(as_alice(home).args(args));
        assert_eq!(o.status.code(), Some(51), "{args:?}: {}", err(&o));
    }
    let o = run(as_alice(home)
        .env("SHROUD_STRICT", "true")
        .args(["decrypt", "s.yaml"]));
    assert_eq!(o.status.code(), Some(51), "{}", err(&o));
    // exec-env and set refuse it under --strict too (shared decrypt path).
    let o = run(as_alice(home).args(["exec-env", "--strict", "s.yaml", "true"]));
    assert_eq!(o.status.code(), Some(51), "{}", err(&o));

    // filestatus answers as sops does, and notes the missing field.
    let o = run(as_alice(home).args(["filestatus", "s.yaml"]));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{\"encrypted\":true}\n");
    assert!(err(&o).contains("no shroud_auth"), "{}", err(&o));

    // A shroud rewrite adds shroud_auth; strict mode then accepts it.
    let o = run(as_alice(home).args(["rotate", "-i", "s.yaml"]));
    assert!(o.status.success(), "{}", err(&o));
    let o = run(as_alice(home).args(["decrypt", "--strict", "s.yaml"]));
    assert!(o.status.success(), "{}", err(&o));
    let o = run(as_alice(home).args(["filestatus", "s.yaml"]));
    assert!(!err(&o).contains("shroud_auth"), "{}", err(&o));

    // sops rewriting a shroud file drops the field: a downgrade shroud
    // notices.
    let o = run(sops(&sops_bin, home).args(["set", "s.yaml", r#"["db"]["user"]"#, r#""bob""#]));
    assert!(o.status.success(), "{}", err(&o));
    let o = run(as_alice(home).args(["decrypt", "s.yaml"]));
    assert!(err(&o).contains("has no shroud_auth"), "{}", err(&o));
}

/// Rename the unencrypted key: the SOPS MAC does not notice.
fn tamper(file: &Path) -> String {
    let text = fs::read_to_string(file).unwrap();
    let bad = text.replacen("public_unencrypted", "other_unencrypted", 1);
    assert_ne!(bad, text);
    fs::write(file, &bad).unwrap();
    bad
}

#[test]
fn every_command_checks_shroud_auth_and_every_rewrite_renews_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let runtime = home.join("runtime");
    fs::create_dir(&runtime).unwrap();
    let editor = home.join("editor.sh");
    fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/^  user: .*/  user: edited/' \"$1\"\n",
    )
    .unwrap();
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        home.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let file = write_encrypted(home, "s.yaml", FILES[0].1, &[]);
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("decrypt", vec!["decrypt"]),
        ("set", vec!["set", "s.yaml", r#"["db"]["user"]"#, r#""x""#]),
        ("edit", vec!["edit"]),
        ("rotate", vec!["rotate", "-i"]),
        ("updatekeys", vec!["updatekeys", "-y"]),
        ("exec-env", vec!["exec-env", "--flatten", "s.yaml", "true"]),
        ("exec-file", vec!["exec-file", "s.yaml", "cat {}"]),
    ];
    for (name, args) in &commands {
        let good = fs::read_to_string(&file).unwrap();
        let bad = tamper(&file);
        let mut cmd = as_alice(home);
        cmd.env("EDITOR", &editor).env("XDG_RUNTIME_DIR", &runtime);
        cmd.args(args);
        if !args.contains(&"s.yaml") {
            cmd.arg("s.yaml");
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(51), "{name}: {}", err(&o));
        assert!(err(&o).contains("shroud_auth"), "{name}: {}", err(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("hunter2"));
        assert_eq!(fs::read_to_string(&file).unwrap(), bad, "{name} wrote");
        fs::write(&file, &good).unwrap();

        // On the intact file the command works, and what it wrote passes
        // strict mode.
        let o = run(&mut cmd);
        assert!(o.status.success(), "{name}: {}", err(&o));
        let o = run(as_alice(home).args(["decrypt", "--strict", "s.yaml"]));
        assert!(o.status.success(), "after {name}: {}", err(&o));
    }
    let o = run(as_alice(home).args(["decrypt", "s.yaml"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("user: edited"), "{out}");
    // updatekeys added bob, who can open it now.
    let o = run(shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
        .args(["decrypt", "--strict"])
        .arg(&file));
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn the_merge_driver_checks_each_side_and_seals_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let base = write_encrypted(home, "base.yaml", FILES[0].1, &[]);
    let ours = home.join("ours.yaml");
    let theirs = home.join("theirs.yaml");
    let merge = |home: &Path| {
        run(as_alice(home).args(["git", "merge-driver"]).args([
            &base,
            &ours,
            &theirs,
            &home.join("s.yaml"),
        ]))
    };
    // Each side changes a different value.
    fs::copy(&base, &ours).unwrap();
    fs::copy(&base, &theirs).unwrap();
    let o = run(as_alice(home).args(["set", "ours.yaml", r#"["db"]["user"]"#, r#""u2""#]));
    assert!(o.status.success(), "{}", err(&o));
    let o = run(as_alice(home).args(["set", "theirs.yaml", r#"["db"]["port"]"#, "6543"]));
    assert!(o.status.success(), "{}", err(&o));
    let theirs_good = fs::read_to_string(&theirs).unwrap();
    let ours_before = fs::read_to_string(&ours).unwrap();

    // A tampered side is refused and ours is left as it was.
    tamper(&theirs);
    let o = merge(home);
    assert_ne!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("shroud_auth"), "{}", err(&o));
    assert_eq!(fs::read_to_string(&ours).unwrap(), ours_before);

    // Intact sides merge, and the result passes strict mode.
    fs::write(&theirs, theirs_good).unwrap();
    let o = merge(home);
    assert!(o.status.success(), "{}", err(&o));
    let o = run(as_alice(home).args(["decrypt", "--strict", "ours.yaml"]));
    assert!(o.status.success(), "{}", err(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("user: u2") && out.contains("port: 6543"),
        "{out}"
    );
}

/// Issue #7 with #4: when real sops rewrites a file shroud wrote (`set`,
/// `updatekeys`, `rotate`), it drops the unknown `shroud_auth` field. sops
/// 3.11 is what decides this, so the test runs it: if sops kept the marker
/// while writing a random MAC IV, shroud would call the file tampered; as
/// sops drops it, the file reads as lacking an authenticator (a warning,
/// refused under --strict), never as tampered.
#[test]
fn sops_rewrites_of_a_v2_file_drop_the_marker_and_read_as_absent() {
    let Some(sops_bin) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // updatekeys takes its recipients from the config: add bob.
    fs::write(
        home.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let rewrites: &[(&str, &[&str])] = &[
        ("set", &["set", "s.yaml", r#"["db"]["user"]"#, r#""bob""#]),
        ("updatekeys", &["updatekeys", "-y", "s.yaml"]),
        ("rotate", &["rotate", "-i", "s.yaml"]),
    ];
    for (name, args) in rewrites {
        let file = write_encrypted(home, "s.yaml", FILES[0].1, &[]);
        let before = fs::read_to_string(&file).unwrap();
        assert!(before.contains(MARKER));
        let o = run(sops(&sops_bin, home).args(*args));
        assert!(o.status.success(), "sops {name}: {}", err(&o));
        let after = fs::read_to_string(&file).unwrap();
        assert_ne!(after, before, "sops {name} changed nothing");
        assert!(
            !after.contains("shroud_auth"),
            "sops {name} kept the marker: {after}"
        );
        // What sops does with the MAC's IV does not matter once the marker
        // is gone (updatekeys keeps the whole mac; set and rotate encrypt it
        // again, with a random IV or, within the same second, the IV sops
        // stashed when it decrypted).
        let o = run(as_alice(home).args(["decrypt", "s.yaml"]));
        assert!(o.status.success(), "after sops {name}: {}", err(&o));
        assert!(
            err(&o).contains("has no shroud_auth"),
            "after sops {name}: {}",
            err(&o)
        );
        assert!(!err(&o).contains("does not match"), "{}", err(&o));
        let o = run(as_alice(home).args(["decrypt", "--strict", "s.yaml"]));
        assert_eq!(o.status.code(), Some(51), "after sops {name}: {}", err(&o));
        // A shroud write seals it again.
        let o = run(as_alice(home).args(["rotate", "-i", "s.yaml"]));
        assert!(o.status.success(), "{}", err(&o));
        assert!(fs::read_to_string(&file).unwrap().contains(MARKER));
        let o = run(as_alice(home).args(["decrypt", "--strict", "s.yaml"]));
        assert!(o.status.success(), "{}", err(&o));
        fs::remove_file(&file).unwrap();
    }
}

/// Files written by shroud builds before v2 carry `shroud_auth: v1:...` in
/// its own line (testdata/auth-v1, made by the b05ab1f binary): they still
/// decrypt and verify, tampering them is still refused, and the next shroud
/// write turns them into v2.
#[test]
fn v1_files_from_earlier_builds_still_verify_and_are_rewritten_as_v2() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // updatekeys adds bob, so it has something to write.
    fs::write(
        home.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let fixtures = [
        (
            "example.v1.yaml",
            "testdata/example.yaml",
            "unencrypted_suffix: _unencrypted",
            "unencrypted_suffix: _plain",
        ),
        (
            "example.v1.env",
            "testdata/auth-v1/example.env",
            "sops_unencrypted_suffix=_unencrypted",
            "sops_unencrypted_suffix=_plain",
        ),
    ];
    for (name, plain, field, changed) in fixtures {
        let file = home.join(name);
        let text = fs::read_to_string(common::testdata(&format!("auth-v1/{name}"))).unwrap();
        assert!(text.contains("v1:HMAC-SHA256:"), "{name} is not v1");
        fs::write(&file, &text).unwrap();
        let expected =
            fs::read_to_string(common::testdata(plain.trim_start_matches("testdata/"))).unwrap();

        let o = run(as_alice(home).args(["decrypt", "--strict"]).arg(&file));
        assert!(o.status.success(), "{name}: {}", err(&o));
        assert!(!err(&o).contains("shroud_auth"), "{name}: {}", err(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{name}");

        // A change only shroud_auth sees (the rule), and a flipped v1 tag.
        fs::write(&file, text.replacen(field, changed, 1)).unwrap();
        let o = run(as_alice(home).args(["decrypt"]).arg(&file));
        assert_eq!(o.status.code(), Some(51), "{name}: {}", err(&o));
        assert!(err(&o).contains("shroud_auth"), "{name}: {}", err(&o));
        let at = text.find("v1:HMAC-SHA256:").unwrap() + "v1:HMAC-SHA256:".len() + 2;
        let mut flipped = text.clone().into_bytes();
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        fs::write(&file, flipped).unwrap();
        let o = run(as_alice(home).args(["decrypt"]).arg(&file));
        assert_eq!(o.status.code(), Some(51), "{name}: {}", err(&o));
        assert!(err(&o).contains("shroud_auth"), "{name}: {}", err(&o));

        // updatekeys (same values, metadata resealed) writes v2.
        fs::write(&file, &text).unwrap();
        let o = run(as_alice(home).args(["updatekeys", "-y"]).arg(&file));
        assert!(o.status.success(), "{name}: {}", err(&o));
        let now = fs::read_to_string(&file).unwrap();
        assert!(!now.contains("v1:HMAC-SHA256:"), "{name}: {now}");
        assert!(now.contains(MARKER), "{name}: {now}");
        let o = run(as_alice(home).args(["decrypt", "--strict"]).arg(&file));
        assert!(o.status.success(), "{name}: {}", err(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{name}");
        let o = run(shroud(home)
            .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
            .args(["decrypt", "--strict"])
            .arg(&file));
        assert!(o.status.success(), "{name} for bob: {}", err(&o));
    }
}
