//! exec-env and exec-file: the child sees the values, its exit code passes
//! through, and no plaintext is left on disk.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{identity_file, recipient, shroud};

fn encrypted(dir: &Path, name: &str, body: &str) -> PathBuf {
    let plain = dir.join(name);
    fs::write(&plain, body).unwrap();
    let enc = dir.join(format!("enc.{name}"));
    let o = shroud(dir)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fs::remove_file(&plain).unwrap();
    enc
}

/// Files under `dir` whose content holds `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_containing(&p, needle));
        } else if fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle)) {
            found.push(p);
        }
    }
    found
}

#[test]
fn exec_env_passes_values_and_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let enc = encrypted(dir.path(), "app.env", "DB_PASSWORD=hunter2\nPORT=5432\n");
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("exec-env")
        .arg(&enc)
        .arg("echo \"$DB_PASSWORD:$PORT\"; exit 7")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "hunter2:5432\n");
    assert!(files_containing(dir.path(), "hunter2").is_empty());
}

#[test]
fn exec_env_pristine_and_mask() {
    let dir = tempfile::tempdir().unwrap();
    let enc = encrypted(dir.path(), "app.yaml", "token: abc123\n");
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .env("OUTSIDE", "visible")
        .args(["exec-env", "--pristine", "--mask", "github"])
        .arg(&enc)
        .arg("echo \"[$OUTSIDE][$token]\"")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "::add-mask::abc123\n[][abc123]\n"
    );
}

#[test]
fn exec_env_refuses_nested_values_unless_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let enc = encrypted(dir.path(), "n.yaml", "db:\n  user: app\n");
    let run = |flatten: bool| {
        let mut c = shroud(dir.path());
        c.env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .arg("exec-env");
        if flatten {
            c.arg("--flatten");
        }
        c.arg(&enc).arg("echo \"$db_user\"").output().unwrap()
    };
    let o = run(false);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains(r#"["db"]"#));
    let o = run(true);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "app\n");
}

#[test]
fn exec_file_hands_over_a_fifo_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let enc = encrypted(dir.path(), "cfg.json", "{\"key\": \"s3cr3t\"}\n");
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .env("TMPDIR", &tmp)
        .arg("exec-file")
        .arg(&enc)
        .arg("test -p {} && cat {}")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "{\"key\": \"s3cr3t\"}\n"
    );
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "the private folder is removed"
    );

    // --no-fifo: a 0600 regular file, removed afterwards; a command that
    // never reads a FIFO does not hang shroud either.
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .env("TMPDIR", &tmp)
        .args([
            "exec-file",
            "--no-fifo",
            "--filename",
            "app.json",
            "--output-type",
            "yaml",
        ])
        .arg(&enc)
        .arg("test -f {} && stat -c %a {} && cat {}")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "600\nkey: s3cr3t\n");
    let o = shroud(dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .env("TMPDIR", &tmp)
        .arg("exec-file")
        .arg(&enc)
        .arg("exit 3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    assert!(files_containing(dir.path(), "s3cr3t").is_empty());
}
