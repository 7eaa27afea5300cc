//! `.sops.yaml` creation rules, as sops finds and applies them.

mod common;

use std::fs;

use common::{identity_file, recipient, shroud};

fn write_config(dir: &std::path::Path, body: &str) {
    fs::write(dir.join(".sops.yaml"), body).unwrap();
}

#[test]
fn the_first_matching_rule_picks_keys_and_the_encryption_rule() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {}\n    encrypted_regex: ^password$\n  - age: {}\n",
            recipient("alice"),
            recipient("bob")
        ),
    );
    fs::create_dir(dir.path().join("secrets")).unwrap();
    let plain = dir.path().join("secrets/app.yaml");
    fs::write(&plain, "user: app\npassword: hunter2\n").unwrap();
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["encrypt", "secrets/app.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("user: app\n"),
        "only password is encrypted:\n{text}"
    );
    assert!(!text.contains("hunter2"));
    assert!(text.contains("encrypted_regex: ^password$"), "{text}");
    assert!(text.contains(&recipient("alice")) && !text.contains(&recipient("bob")));
    // No default identity was created: the config decides.
    assert!(!dir.path().join(".config/sops/age/keys.txt").exists());

    // A file outside secrets/ falls to the second rule (bob).
    let other = dir.path().join("other.yaml");
    fs::write(&other, "a: b\n").unwrap();
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["encrypt", "other.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains(&recipient("bob")));
    let enc = dir.path().join("other.enc.yaml");
    fs::write(&enc, &o.stdout).unwrap();
    let d = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(d.stdout, b"a: b\n");
}

#[test]
fn a_path_no_rule_matches_is_an_error_naming_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "creation_rules:\n  - path_regex: ^prod/\n    age: {}\n",
            recipient("alice")
        ),
    );
    let plain = dir.path().join("dev.yaml");
    fs::write(&plain, "a: b\n").unwrap();
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["encrypt", "dev.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(".sops.yaml") && err.contains("no creation rule matches"),
        "{err}"
    );
    // --age needs no rule.
    let o = shroud(dir.path())
        .current_dir(dir.path())
        .args(["encrypt", "--age", &recipient("alice"), "dev.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_config_is_found_in_a_parent_directory_and_key_lists_may_be_folded() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "creation_rules:\n  - age: >-\n      {},\n      {}\n",
        recipient("alice"),
        recipient("bob")
    );
    write_config(dir.path(), &body);
    let sub = dir.path().join("a/b");
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("x.json"), "{\"k\": \"v\"}\n").unwrap();
    let o = shroud(dir.path())
        .current_dir(&sub)
        .args(["encrypt", "x.json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["sops"]["age"].as_array().unwrap().len(),
        2,
        "both keys of the folded list"
    );
}
