//! `shroud edit` driven by scripted editors: exit codes, file content,
//! nothing left behind, and minimal git diffs.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{identity_file, recipient, require_tool, shroud};

struct Setup {
    dir: tempfile::TempDir,
    runtime: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        fs::create_dir(&runtime).unwrap();
        Setup { dir, runtime }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An editor: a shell script run with the temporary file as $1.
    fn editor(&self, body: &str) -> PathBuf {
        let p = self.path(&format!("editor-{}.sh", body.len()));
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn edit(&self, editor: &Path, file: &Path, extra: &[&str]) -> Output {
        shroud(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .env("EDITOR", editor)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .arg("edit")
            .args(extra)
            .arg(file)
            .output()
            .unwrap()
    }

    fn encrypt(&self, name: &str, body: &str) -> PathBuf {
        let plain = self.path(&format!("plain-{name}"));
        fs::write(&plain, body).unwrap();
        let enc = self.path(name);
        let o = shroud(self.dir.path())
            .args(["encrypt", "--age", &recipient("alice"), "--output"])
            .arg(&enc)
            .arg(&plain)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        enc
    }

    fn decrypt(&self, file: &Path) -> String {
        let o = shroud(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .arg("decrypt")
            .arg(file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn nothing_left(&self) {
        assert_eq!(
            fs::read_dir(&self.runtime).unwrap().count(),
            0,
            "a temporary folder was left behind"
        );
    }
}

#[test]
fn unchanged_exits_200_and_writes_nothing() {
    let s = Setup::new();
    let file = s.encrypt("a.yaml", "k: v\n");
    let before = fs::read(&file).unwrap();
    let o = s.edit(&s.editor("true"), &file, &[]);
    assert_eq!(
        o.status.code(),
        Some(200),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(fs::read(&file).unwrap(), before);
    s.nothing_left();
}

#[test]
fn editor_failure_or_absence_exits_201_and_writes_nothing() {
    let s = Setup::new();
    let file = s.encrypt("a.yaml", "k: v\n");
    let before = fs::read(&file).unwrap();
    let o = s.edit(&s.editor("echo 'k: changed' > \"$1\"; exit 1"), &file, &[]);
    assert_eq!(o.status.code(), Some(201));
    let o = s.edit(Path::new("/nonexistent/editor"), &file, &[]);
    assert_eq!(o.status.code(), Some(201));
    assert_eq!(fs::read(&file).unwrap(), before);
    s.nothing_left();
}

#[test]
fn invalid_text_without_a_terminal_keeps_the_file() {
    let s = Setup::new();
    let file = s.encrypt("a.yaml", "k: v\n");
    let before = fs::read(&file).unwrap();
    let o = s.edit(
        &s.editor("printf 'k: [unclosed\\nsecret: hunter2\\n' > \"$1\""),
        &file,
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("hunter2"));
    assert_eq!(fs::read(&file).unwrap(), before);
    s.nothing_left();
}

#[test]
fn adding_a_key_encrypts_it_and_sops_reads_the_result() {
    let s = Setup::new();
    let file = s.encrypt("a.yaml", "k: v\n");
    let o = s.edit(&s.editor("echo 'added: new-secret' >> \"$1\""), &file, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("new-secret") && text.contains("added: ENC["));
    assert_eq!(s.decrypt(&file), "k: v\nadded: new-secret\n");
    s.nothing_left();
    if let Some(sops) = require_tool("sops") {
        let o = common::isolated(&sops, s.dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .arg("decrypt")
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn a_new_file_is_created_from_the_editor() {
    let s = Setup::new();
    let file = s.path("new.yaml");
    let o = s.edit(
        &s.editor("echo 'token: abc' > \"$1\""),
        &file,
        &["--age", &recipient("alice")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(s.decrypt(&file), "token: abc\n");
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    s.nothing_left();
}

#[test]
fn one_changed_value_in_200_lines_is_three_lines_in_git() {
    let Some(git) = require_tool("git") else {
        return;
    };
    let s = Setup::new();
    let body: String = (0..198)
        .map(|i| format!("value_{i}: secret number {i}\n"))
        .collect();
    let body = format!("# a comment\n{body}last: end\n");
    let file = s.encrypt("big.yaml", &body);
    let run = |args: &[&str]| {
        let o = Command::new(&git)
            .current_dir(s.dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    run(&["init", "-q"]);
    run(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "add",
        "big.yaml",
    ]);
    run(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "x",
    ]);
    // sops's lastmodified has one-second resolution: make sure it changes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = s.edit(
        &s.editor("sed -i 's/^value_100: .*/value_100: changed/' \"$1\""),
        &file,
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Three lines, as with sops: the value, lastmodified and the MAC.
    // shroud_auth's tag travels as the MAC's IV (v2), and its own line is
    // a constant marker, so it does not show in the diff.
    assert_eq!(run(&["diff", "--numstat"]), "3\t3\tbig.yaml\n");
    assert!(
        s.decrypt(&file)
            .contains("value_100: changed\nvalue_101: secret number 101\n")
    );
}
