//! Many files at once (rotate, updatekeys), the rotation policy in
//! .sops.yaml, and `shroud status`, with the real sops and git.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{identity_file, recipient, require_tool, shroud};

fn encrypt_to(dir: &Path, recipients: &str, rel: &str, plain: &str) -> PathBuf {
    let file = dir.join(rel);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, plain).unwrap();
    let o = shroud(dir)
        .current_dir(dir)
        .args(["encrypt", "-i", "--age", recipients])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    file
}

fn as_alice(dir: &Path) -> Command {
    let mut c = shroud(dir);
    c.current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"));
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn status_json(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = shroud(dir)
        .current_dir(dir)
        .args(["status", "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&o)));
    (o.status.code(), v)
}

/// The finding kinds per file path.
fn kinds(v: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ks = f["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kind"].as_str().unwrap().to_string())
                .collect();
            (f["path"].as_str().unwrap().to_string(), ks)
        })
        .collect()
}

#[test]
fn rotate_over_many_files_continues_past_a_bad_one_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = encrypt_to(d, &recipient("alice"), "a.yaml", "x: 1\n");
    let b = encrypt_to(d, &recipient("alice"), "b.json", "{\"y\": 2}\n");
    let bad = d.join("broken.yaml");
    fs::write(&bad, "not: [encrypted\n").unwrap();
    let o = as_alice(d)
        .args(["rotate", "-i"])
        .args([&a, &bad, &b])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("2 ok, 1 failed"), "{err}");
    // stderr is a pipe here: no progress bar, no terminal escapes.
    assert!(
        !err.contains('\u{1b}') && !err.contains("3/3 files"),
        "{err}"
    );
    let fail_line = err
        .lines()
        .find(|l| l.contains("rotate failed"))
        .unwrap_or_else(|| panic!("no failure line: {err}"));
    assert!(fail_line.contains("broken.yaml"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("rotate failed")).count(),
        1,
        "{err}"
    );
    for f in [&a, &b] {
        let t = fs::read_to_string(f).unwrap();
        assert!(
            t.contains("shroud_key_version: 2") || t.contains("\"shroud_key_version\": 2"),
            "{} was rotated:\n{t}",
            f.display()
        );
    }
    assert_eq!(fs::read_to_string(&bad).unwrap(), "not: [encrypted\n");
}

#[test]
fn updatekeys_over_many_files_with_y() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files: Vec<PathBuf> = (0..5)
        .map(|i| encrypt_to(d, &recipient("alice"), &format!("s{i}.yaml"), "k: v\n"))
        .collect();
    fs::write(
        d.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let o = as_alice(d)
        .args(["updatekeys", "-y"])
        .args(&files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("5 ok, 0 failed"), "{}", stderr(&o));
    for f in &files {
        let o = common::isolated(&sops, d)
            .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
            .arg("decrypt")
            .arg(f)
            .output()
            .unwrap();
        assert_eq!(o.stdout, b"k: v\n", "{}", stderr(&o));
    }
}

#[test]
fn sops_accepts_a_config_carrying_the_rotation_policy() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n    shroud_max_key_age: 90d\n",
            recipient("alice")
        ),
    )
    .unwrap();
    fs::write(d.join("x.yaml"), "a: 1\n").unwrap();
    let o = common::isolated(&sops, d)
        .current_dir(d)
        .args(["encrypt", "-i", "x.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "sops encrypt: {}", stderr(&o));
    fs::write(
        d.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    age: {},{}\n    shroud_max_key_age: 90d\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let o = common::isolated(&sops, d)
        .current_dir(d)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["updatekeys", "-y", "x.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "sops updatekeys: {}", stderr(&o));
    assert!(
        fs::read_to_string(d.join("x.yaml"))
            .unwrap()
            .contains(&recipient("bob"))
    );
}

#[test]
fn status_finds_what_needs_doing_in_a_git_repository_and_ci_can_gate_on_it() {
    let Some(git) = require_tool("git") else {
        return;
    };
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let git_run = |args: &[&str]| {
        let o = Command::new(&git)
            .current_dir(d)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    };
    git_run(&["init", "-q", "."]);
    let (alice, bob) = (recipient("alice"), recipient("bob"));
    fs::write(
        d.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: ^secrets/\n    age: {alice}\n    shroud_max_key_age: 30d\n"
        ),
    )
    .unwrap();
    encrypt_to(d, &alice, "secrets/ok.yaml", "a: 1\n");
    encrypt_to(d, &format!("{alice},{bob}"), "secrets/extra.yaml", "a: 1\n");
    let old = encrypt_to(d, &alice, "secrets/old.env", "A=1\n");
    // Pretend the key was made long ago. The field is outside the SOPS MAC
    // but inside shroud_auth, so status without a key sees the old date,
    // and shroud refuses to rotate the forged file (below).
    let t = fs::read_to_string(&old).unwrap();
    let t = t
        .lines()
        .map(|l| {
            if l.starts_with("sops_shroud_key_created=") {
                "sops_shroud_key_created=2020-01-01T00:00:00Z".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    fs::write(&old, t).unwrap();
    let by_sops = encrypt_to(d, &alice, "secrets/by-sops.json", "{\"a\": 1}\n");
    let o = common::isolated(&sops, d)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["rotate", "-i"])
        .arg(&by_sops)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    fs::create_dir_all(d.join("secrets")).unwrap();
    fs::write(d.join("secrets/plain.yaml"), "password: hunter2\n").unwrap();
    fs::write(d.join("README.md"), "not a secret\n").unwrap();
    // Untracked files are not looked at without paths.
    fs::write(d.join("secrets/untracked.yaml"), "x: 1\n").unwrap();
    git_run(&[
        "add",
        ".sops.yaml",
        "README.md",
        "secrets/ok.yaml",
        "secrets/extra.yaml",
        "secrets/old.env",
        "secrets/by-sops.json",
        "secrets/plain.yaml",
    ]);

    let (code, v) = status_json(d, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["needs_action"], true);
    assert_eq!(
        kinds(&v),
        vec![
            (
                "secrets/by-sops.json".to_string(),
                vec!["key_age_unknown".to_string(), "missing_auth".to_string()]
            ),
            (
                "secrets/extra.yaml".into(),
                vec!["recipients_out_of_sync".into()]
            ),
            ("secrets/ok.yaml".into(), vec![]),
            ("secrets/old.env".into(), vec!["rotation_overdue".into()]),
            ("secrets/plain.yaml".into(), vec!["not_encrypted".into()]),
        ]
    );
    let ok = &v["files"][2];
    assert_eq!(ok["key_version"], 1);
    assert_eq!(ok["max_key_age"], "30d");
    assert_eq!(v["files"][0]["key_version"], serde_json::Value::Null);

    // The human table names every file and what to do.
    let o = shroud(d).current_dir(d).arg("status").output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("secrets/plain.yaml") && table.contains("shroud encrypt -i"));
    assert!(table.contains("rotation overdue"), "{table}");

    let o = as_alice(d)
        .args(["rotate", "-i", "secrets/old.env"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(51), "{}", stderr(&o));
    assert!(stderr(&o).contains("shroud_auth"), "{}", stderr(&o));

    // Fix everything with shroud itself; status is then clean. The forged
    // file is read past its failed check, as a user who trusts it would,
    // and encrypted afresh.
    for (cmd, file) in [
        (vec!["encrypt", "-i"], "secrets/plain.yaml"),
        (vec!["updatekeys", "-y"], "secrets/extra.yaml"),
        (vec!["decrypt", "--ignore-mac", "-i"], "secrets/old.env"),
        (vec!["encrypt", "-i"], "secrets/old.env"),
        (vec!["rotate", "-i"], "secrets/by-sops.json"),
    ] {
        let o = as_alice(d).args(&cmd).arg(file).output().unwrap();
        assert!(o.status.success(), "{cmd:?} {file}: {}", stderr(&o));
    }
    let (code, v) = status_json(d, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["needs_action"], false);

    // Explicit paths are walked instead, untracked files included.
    let (code, v) = status_json(d, &["secrets"]);
    assert_eq!(code, Some(1));
    assert!(
        kinds(&v).contains(&(
            "secrets/untracked.yaml".to_string(),
            vec!["not_encrypted".to_string()]
        )),
        "{v}"
    );
}

/// Issue #7: a file without `shroud_auth` (sops wrote it, or someone
/// stripped the field to downgrade it) is reported without any key; as a
/// warning normally, as needing action under strict mode (flag, env or
/// .sops.yaml). With an identity at hand status also verifies the file,
/// and a file changed without the data key is reported, no value shown.
#[test]
fn status_reports_files_without_shroud_auth_and_files_that_fail_it() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = recipient("alice");
    let rules = format!("creation_rules:\n  - path_regex: ^secrets/\n    age: {alice}\n");
    fs::write(d.join(".sops.yaml"), &rules).unwrap();
    fs::create_dir_all(d.join("secrets")).unwrap();
    fs::write(d.join("secrets/by-sops.yaml"), "password: sops-wrote-me\n").unwrap();
    let o = common::isolated(&sops, d)
        .current_dir(d)
        .args(["encrypt", "-i", "secrets/by-sops.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "sops encrypt: {}", stderr(&o));
    assert!(
        !fs::read_to_string(d.join("secrets/by-sops.yaml"))
            .unwrap()
            .contains("shroud_auth")
    );
    encrypt_to(d, &alice, "secrets/ok.yaml", "password: shroud-wrote-me\n");
    // Other formats verify by their own rules (binary: a MAC over the bytes).
    encrypt_to(d, &alice, "secrets/ok.env", "TOKEN=shroud-env-value\n");
    let blob = d.join("secrets/blob.bin");
    fs::write(&blob, b"\xff\xfebinary-secret\x00").unwrap();
    let o = shroud(d)
        .current_dir(d)
        .args(["encrypt", "-i"])
        .arg(&blob)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // An empty value injected by someone without the data key: the SOPS
    // MAC does not see empty strings, shroud_auth does.
    let injected = encrypt_to(
        d,
        &alice,
        "secrets/injected.yaml",
        "password: injected-me\n",
    );
    let t = fs::read_to_string(&injected).unwrap();
    fs::write(&injected, format!("admin: \"\"\n{t}")).unwrap();

    let file = |v: &serde_json::Value, path: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} not listed: {v}"))
            .clone()
    };

    // No key at hand: the missing field is seen, nothing can be verified,
    // and a missing field alone is a warning (exit 0).
    let (code, v) = status_json(d, &["secrets"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["needs_action"], false);
    let s = file(&v, "secrets/by-sops.yaml");
    assert_eq!(s["shroud_auth"], "absent");
    assert_eq!(s["verified"], serde_json::Value::Null);
    assert_eq!(s["findings"][0]["kind"], "missing_auth");
    assert_eq!(s["findings"][0]["needs_action"], false);
    assert_eq!(file(&v, "secrets/ok.yaml")["shroud_auth"], "present");
    assert_eq!(
        file(&v, "secrets/injected.yaml")["findings"],
        serde_json::json!([])
    );
    let o = shroud(d)
        .current_dir(d)
        .args(["status", "secrets"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no shroud_auth"));
    assert!(stderr(&o).contains("0 need action"), "{}", stderr(&o));

    // Strict mode, three ways: the same file now needs action.
    let strict_kinds = |o: Output| {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["needs_action"], true);
        let f = file(&v, "secrets/by-sops.yaml");
        assert_eq!(f["findings"][0]["kind"], "missing_auth");
        assert_eq!(f["findings"][0]["needs_action"], true);
        assert!(
            f["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("strict")
        );
        // Files that carry the field stay in order.
        assert_eq!(
            file(&v, "secrets/ok.yaml")["findings"],
            serde_json::json!([])
        );
    };
    let status = || {
        let mut c = shroud(d);
        c.current_dir(d).args(["status", "--json", "secrets"]);
        c
    };
    strict_kinds(status().arg("--strict").output().unwrap());
    strict_kinds(status().env("SHROUD_STRICT", "true").output().unwrap());
    fs::write(
        d.join(".sops.yaml"),
        format!("{rules}shroud:\n  strict: true\n"),
    )
    .unwrap();
    strict_kinds(status().output().unwrap());
    fs::write(d.join(".sops.yaml"), &rules).unwrap();

    // With alice's identity every file is verified: the injected value
    // fails shroud_auth, and no value appears in the report.
    let o = as_alice(d)
        .args(["status", "--json", "secrets"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
    for secret in [
        "sops-wrote-me",
        "shroud-wrote-me",
        "injected-me",
        "shroud-env-value",
        "binary-secret",
    ] {
        assert!(!out.contains(secret), "{secret} printed: {out}");
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = file(&v, "secrets/injected.yaml");
    assert_eq!(r["verified"], false);
    assert_eq!(r["findings"][0]["kind"], "auth_invalid");
    assert_eq!(r["findings"][0]["needs_action"], true);
    assert!(
        r["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("shroud_auth"),
        "{r}"
    );
    for ok in ["secrets/ok.yaml", "secrets/ok.env", "secrets/blob.bin"] {
        let f = file(&v, ok);
        assert_eq!(f["verified"], true, "{f}");
        assert_eq!(f["findings"], serde_json::json!([]), "{f}");
    }
    // sops's own file passes its MAC; only the warning remains.
    let s = file(&v, "secrets/by-sops.yaml");
    assert_eq!(s["verified"], true);
    assert_eq!(
        kinds(&serde_json::json!({"files": [s]}))[0].1,
        vec!["missing_auth"]
    );

    // A value swapped into another key's place fails too, in a sops file
    // (the SOPS MAC and each value's AAD catch it).
    let t = fs::read_to_string(d.join("secrets/by-sops.yaml")).unwrap();
    let enc = t
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_string();
    fs::write(
        d.join("secrets/by-sops.yaml"),
        t.replacen("password: ", &format!("other: {enc}\npassword: "), 1),
    )
    .unwrap();
    let o = as_alice(d)
        .args(["status", "--json", "secrets/by-sops.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds = kinds(&v);
    assert_eq!(kinds[0].1, vec!["missing_auth", "auth_invalid"], "{v}");
}

fn both_keys(dir: &Path) -> PathBuf {
    let p = dir.join("both.txt");
    let text = fs::read_to_string(identity_file("alice")).unwrap()
        + &fs::read_to_string(identity_file("bob")).unwrap();
    fs::write(&p, text).unwrap();
    p
}

fn sops_decrypt(sops: &Path, dir: &Path, keys: &Path, file: &Path) -> Output {
    common::isolated(sops, dir)
        .env("SOPS_AGE_KEY_FILE", keys)
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn groups_add_and_delete_as_sops_reads_them() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = "db:\n    password: hunter2\n";
    let file = encrypt_to(d, &recipient("alice"), "s.yaml", plain);
    let before = fs::read_to_string(&file).unwrap();
    let mac = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("mac:"))
            .unwrap()
            .to_string()
    };
    let o = as_alice(d)
        .args(["groups", "add", "-i", "-f"])
        .arg(&file)
        .args(["--age", &recipient("bob")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let after = fs::read_to_string(&file).unwrap();
    assert!(after.contains("key_groups:") && after.contains("shamir_threshold: 2"));
    assert_eq!(before.lines().next(), after.lines().next(), "values kept");
    // Same data key, same MAC and lastmodified; the MAC is encrypted again
    // because its IV is shroud_auth's tag, which covers the key groups.
    // sops opening the file below shows the MAC still matches the values.
    let lastmodified = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("lastmodified:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(lastmodified(&before), lastmodified(&after));
    assert_ne!(mac(&before), mac(&after), "the MAC's IV follows the groups");
    // Two groups, both needed.
    let both = both_keys(d);
    let o = sops_decrypt(&sops, d, &both, &file);
    assert_eq!(String::from_utf8_lossy(&o.stdout), plain, "{}", stderr(&o));
    assert_eq!(
        sops_decrypt(&sops, d, &identity_file("alice"), &file)
            .status
            .code(),
        Some(128)
    );

    // A threshold of 1 is refused, as sops refuses it (one group with
    // several keys is sops's "any one of them").
    let o = as_alice(d)
        .env("SOPS_AGE_KEY_FILE", &both)
        .args([
            "groups",
            "add",
            "-i",
            "--shamir-secret-sharing-threshold",
            "1",
            "-f",
        ])
        .arg(&file)
        .args(["--age", &recipient("bob")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("at least 2"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&file).unwrap(), after);

    // Deleting group 0 leaves bob alone, with the whole key.
    let o = as_alice(d)
        .env("SOPS_AGE_KEY_FILE", &both)
        .args(["groups", "delete", "-i", "-f"])
        .arg(&file)
        .arg("0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let t = fs::read_to_string(&file).unwrap();
    assert!(
        !t.contains("key_groups:") && !t.contains(&recipient("alice")),
        "{t}"
    );
    let o = sops_decrypt(&sops, d, &identity_file("bob"), &file);
    assert_eq!(String::from_utf8_lossy(&o.stdout), plain, "{}", stderr(&o));

    // A group sops added reads back in shroud.
    let o = common::isolated(&sops, d)
        .env("SOPS_AGE_KEY_FILE", identity_file("bob"))
        .args(["groups", "add", "-i", "--file"])
        .arg(&file)
        .args(["--age", &recipient("alice")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = shroud(d)
        .env("SOPS_AGE_KEY_FILE", &both)
        .arg("decrypt")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), plain, "{}", stderr(&o));

    // Out of range: an error naming the count, and the file is unchanged.
    let t = fs::read_to_string(&file).unwrap();
    let o = shroud(d)
        .args(["groups", "delete", "-i", "-f"])
        .arg(&file)
        .arg("5")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no key group 5"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&file).unwrap(), t);
}
