//! The data-key version shroud records in the metadata
//! (`shroud_key_version`, `shroud_key_created`), checked against the real
//! sops 3.11: files carrying the fields still decrypt, and a file sops
//! rewrote (dropping them) is read as "version unknown", not as an error.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{identity_file, recipient, require_tool, shroud};

/// One small plaintext per format sops and shroud share (sops has no TOML).
const SAMPLES: &[(&str, &str)] = &[
    ("s.yaml", "db:\n    password: hunter2\n    port: 5432\n"),
    ("s.json", "{\n\t\"token\": \"abc\",\n\t\"n\": 3\n}\n"),
    ("s.env", "TOKEN=abc\nPORT=5432\n"),
    ("s.ini", "[db]\npassword = hunter2\n"),
    ("s.bin", "raw bytes\nof a binary file\n"),
];

fn write_encrypted(dir: &Path, name: &str, plain: &str) -> PathBuf {
    let src = dir.join(format!("plain-{name}"));
    fs::write(&src, plain).unwrap();
    let out = dir.join(name);
    let o = shroud(dir)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The recorded version, read from the file's text in any format
/// (`shroud_key_version: 2`, `"shroud_key_version": 2`,
/// `sops_shroud_key_version=2`, `sops_shroud_key_version = 2`).
fn recorded_version(file: &Path) -> Option<u64> {
    let text = fs::read_to_string(file).unwrap();
    text.lines().find_map(|l| {
        let rest = l.split("shroud_key_version").nth(1)?;
        rest.trim_start_matches(['"', ':', '=', ' '])
            .trim_end_matches(',')
            .parse()
            .ok()
    })
}

#[test]
fn every_format_records_the_key_version_and_still_decrypts_with_sops() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, plain) in SAMPLES {
        let file = write_encrypted(dir.path(), name, plain);
        let text = fs::read_to_string(&file).unwrap();
        assert_eq!(recorded_version(&file), Some(1), "{name}:\n{text}");
        assert!(text.contains("shroud_key_created"), "{name}:\n{text}");
        // dotenv prefixes flattened metadata keys with `sops_`; INI keeps
        // them unprefixed in its `[sops]` section.
        if name.ends_with(".env") {
            assert!(
                text.contains("sops_shroud_key_version=1"),
                "{name}:\n{text}"
            );
        }
        if name.ends_with(".ini") {
            assert!(text.contains("\nshroud_key_version"), "{name}:\n{text}");
        }

        let o = run_ok(
            common::isolated(&sops, dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .arg("decrypt")
                .arg(&file),
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), *plain, "sops on {name}");

        // Rotation counts up, and sops still reads the result.
        run_ok(
            shroud(dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .args(["rotate", "-i"])
                .arg(&file),
        );
        assert_eq!(recorded_version(&file), Some(2), "{name} after rotate");
        let o = run_ok(
            common::isolated(&sops, dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .arg("decrypt")
                .arg(&file),
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), *plain, "sops on {name}");
    }
}

#[test]
fn a_file_sops_rewrote_has_an_unknown_version_not_an_error() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, plain) in SAMPLES {
        let file = write_encrypted(dir.path(), name, plain);
        // sops rotate rewrites the whole metadata block and drops the
        // fields it does not know.
        run_ok(
            common::isolated(&sops, dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .args(["rotate", "-i"])
                .arg(&file),
        );
        assert_eq!(recorded_version(&file), None, "sops dropped it in {name}");

        let o = run_ok(
            shroud(dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .arg("decrypt")
                .arg(&file),
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), *plain, "{name}");

        // Rotating such a file says the history was lost and starts at 1.
        let o = run_ok(
            shroud(dir.path())
                .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
                .args(["rotate", "-i"])
                .arg(&file),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("was not recorded"), "{name}: {err}");
        assert_eq!(recorded_version(&file), Some(1), "{name}");
    }
}

#[test]
fn edit_keeps_the_key_version_because_the_key_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_encrypted(dir.path(), "s.yaml", SAMPLES[0].1);
    run_ok(
        shroud(dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["rotate", "-i"])
            .arg(&file),
    );
    let created = |f: &Path| {
        fs::read_to_string(f)
            .unwrap()
            .lines()
            .find(|l| l.contains("shroud_key_created"))
            .map(str::to_string)
    };
    let before = created(&file);
    run_ok(
        shroud(dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .arg("set")
            .arg(&file)
            .args(["[\"db\"][\"port\"]", "6543"]),
    );
    assert_eq!(recorded_version(&file), Some(2));
    assert_eq!(created(&file), before);
}
