//! rotate, updatekeys and filestatus, checked with the real sops.

mod common;

use std::fs;
use std::path::Path;

use common::{identity_file, recipient, require_tool, shroud};

fn encrypt_to(dir: &Path, recipients: &str, name: &str) -> std::path::PathBuf {
    let out = dir.join(name);
    let o = shroud(dir)
        .args(["encrypt", "--age", recipients, "--output"])
        .arg(&out)
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn decrypt_as(dir: &Path, who: &str, file: &Path) -> std::process::Output {
    shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file(who))
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap()
}

fn sops_decrypt_as(sops: &Path, dir: &Path, who: &str, file: &Path) -> std::process::Output {
    common::isolated(sops, dir)
        .env("SOPS_AGE_KEY_FILE", identity_file(who))
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap()
}

fn value_lines(text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| !l.starts_with("sops:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn rotate_gives_every_value_a_new_ciphertext_under_a_new_key() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = encrypt_to(dir.path(), &recipient("alice"), "s.yaml");
    let before = fs::read_to_string(&file).unwrap();
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["rotate", "-i"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = fs::read_to_string(&file).unwrap();
    // Every encrypted line changed; keys and layout did not.
    for (a, b) in value_lines(&before).iter().zip(value_lines(&after).iter()) {
        if a.contains("ENC[") {
            assert_ne!(a, b);
        } else {
            assert_eq!(a, b);
        }
    }
    let plain = fs::read(common::testdata("example.yaml")).unwrap();
    assert_eq!(decrypt_as(dir.path(), "alice", &file).stdout, plain);
    assert!(
        sops_decrypt_as(&sops, dir.path(), "alice", &file)
            .status
            .success()
    );
}

#[test]
fn revoking_a_recipient_with_updatekeys_then_rotate() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = encrypt_to(
        dir.path(),
        &format!("{},{}", recipient("alice"), recipient("bob")),
        "s.yaml",
    );
    assert!(decrypt_as(dir.path(), "bob", &file).status.success());
    fs::write(
        dir.path().join(".sops.yaml"),
        format!("creation_rules:\n  - age: {}\n", recipient("alice")),
    )
    .unwrap();

    // Not a terminal and no -y: nothing changes.
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["updatekeys", "s.yaml"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(decrypt_as(dir.path(), "bob", &file).status.success());

    let o = shroud(dir.path())
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["updatekeys", "-y", "s.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("- {}", recipient("bob"))), "{err}");
    assert!(
        err.contains("rotate"),
        "the warning points to rotate: {err}"
    );
    assert_eq!(
        decrypt_as(dir.path(), "bob", &file).status.code(),
        Some(128)
    );

    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["rotate", "-i"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        decrypt_as(dir.path(), "bob", &file).status.code(),
        Some(128)
    );
    assert_eq!(
        sops_decrypt_as(&sops, dir.path(), "bob", &file)
            .status
            .code(),
        Some(128)
    );
    assert!(
        sops_decrypt_as(&sops, dir.path(), "alice", &file)
            .status
            .success()
    );
}

#[test]
fn updatekeys_adds_a_recipient_without_touching_values_and_reseals_the_mac() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = encrypt_to(dir.path(), &recipient("alice"), "s.yaml");
    let before = fs::read_to_string(&file).unwrap();
    fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: [{}, {}]\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["updatekeys", "-y", "s.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = fs::read_to_string(&file).unwrap();
    assert_eq!(value_lines(&before), value_lines(&after));
    let mac = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("mac:"))
            .unwrap()
            .to_string()
    };
    // The same MAC under the same lastmodified, encrypted again: its IV is
    // shroud_auth's tag, which covers the recipients that changed. That
    // real sops accepts the file shows the MAC is still the values' MAC.
    let line = |t: &str, key: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        line(&before, "lastmodified:"),
        line(&after, "lastmodified:")
    );
    assert_ne!(mac(&before), mac(&after));
    assert!(mac(&after).ends_with(",type:str]"));
    assert!(
        sops_decrypt_as(&sops, dir.path(), "bob", &file)
            .status
            .success()
    );
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
        .args(["decrypt", "--strict"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn filestatus_prints_sops_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = encrypt_to(dir.path(), &recipient("alice"), "s.yaml");
    let run = |p: &Path| {
        String::from_utf8(
            shroud(dir.path())
                .arg("filestatus")
                .arg(p)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    assert_eq!(run(&file), "{\"encrypted\":true}\n");
    assert_eq!(
        run(&common::testdata("example.yaml")),
        "{\"encrypted\":false}\n"
    );
}
