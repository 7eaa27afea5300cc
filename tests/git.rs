//! Git integration with the real git (and sops) binaries in temporary
//! repositories: the merge driver, textconv diffs, the pre-commit hook,
//! `shroud diff` and `shroud git setup`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{identity_file, recipient, require_tool};

/// A repository in a temp folder, with its own HOME and TMPDIR inside the
/// same folder so a scan of it covers every place a tool could write.
struct Repo {
    _root: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    git: PathBuf,
}

impl Repo {
    fn new() -> Option<Repo> {
        let git = require_tool("git")?;
        let root_dir = tempfile::tempdir().unwrap();
        let root = root_dir.path().to_path_buf();
        let (dir, home, tmp) = (root.join("repo"), root.join("home"), root.join("tmp"));
        for d in [&dir, &home, &tmp] {
            fs::create_dir(d).unwrap();
        }
        let r = Repo {
            _root: root_dir,
            root,
            dir,
            home,
            tmp,
            git,
        };
        r.ok(&["init", "-q", "-b", "main"]);
        r.ok(&["config", "user.name", "Test User"]);
        r.ok(&["config", "user.email", "test@example.invalid"]);
        fs::write(
            r.dir.join(".sops.yaml"),
            format!(
                "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {}\n",
                recipient("alice")
            ),
        )
        .unwrap();
        Some(r)
    }

    fn env(&self, cmd: &mut Command, with_key: bool) {
        cmd.current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("TMPDIR", &self.tmp);
        if with_key {
            cmd.env("SOPS_AGE_KEY_FILE", identity_file("alice"));
        }
    }

    fn git(&self, args: &[&str]) -> Output {
        let mut cmd = common::isolated(&self.git, &self.home);
        self.env(&mut cmd, true);
        cmd.args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.git(args);
        assert!(
            o.status.success(),
            "git {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn shroud_with(&self, args: &[&str], with_key: bool) -> Output {
        let mut cmd = common::shroud(&self.home);
        self.env(&mut cmd, with_key);
        cmd.args(args).output().unwrap()
    }

    fn shroud(&self, args: &[&str]) -> Output {
        self.shroud_with(args, true)
    }

    fn shroud_ok(&self, args: &[&str]) -> String {
        let o = self.shroud(args);
        assert!(
            o.status.success(),
            "shroud {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Write `plain` to `name` and encrypt it in place with shroud.
    fn encrypted(&self, name: &str, plain: &str) {
        fs::write(self.dir.join(name), plain).unwrap();
        self.shroud_ok(&["encrypt", "-i", name]);
    }

    fn set(&self, name: &str, path: &str, json: &str) {
        self.shroud_ok(&["set", name, path, json]);
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join(name)).unwrap()
    }
}

/// Files under `dir` whose bytes contain `needle`.
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

/// The `ENC[...]` text on the line of `key` in a YAML file.
fn enc_of(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
        .to_string()
}

const BASE: &str = "db:\n  user: app\n  password: base-pw-1\nport: 5432\n";

/// A repository set up with the hook, and one committed encrypted file.
fn set_up() -> Option<Repo> {
    let r = Repo::new()?;
    r.encrypted("secrets.enc.yaml", BASE);
    r.shroud_ok(&["git", "setup", "--hook"]);
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-q", "-m", "base"]);
    Some(r)
}

#[test]
fn branches_changing_different_keys_merge_and_sops_reads_the_result() {
    let Some(r) = set_up() else { return };
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let base = r.read("secrets.enc.yaml");
    r.ok(&["checkout", "-q", "-b", "theirs"]);
    r.set("secrets.enc.yaml", r#"["port"]"#, "6543");
    r.ok(&["commit", "-q", "-am", "their port"]);
    let theirs = r.read("secrets.enc.yaml");
    r.ok(&["checkout", "-q", "main"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["password"]"#,
        r#""ours-pw-2""#,
    );
    r.ok(&["commit", "-q", "-am", "our password"]);
    let o = r.git(&["merge", "--no-edit", "theirs"]);
    assert!(
        o.status.success(),
        "merge failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let merged = r.read("secrets.enc.yaml");
    // The merge commit holds the merged file, and the work tree is clean.
    assert_eq!(r.ok(&["show", "HEAD:secrets.enc.yaml"]), merged);
    assert_eq!(r.ok(&["status", "--porcelain"]), "");
    // The untouched value kept its ciphertext.
    assert_eq!(enc_of(&merged, "user"), enc_of(&base, "user"));
    assert_ne!(enc_of(&merged, "password"), enc_of(&base, "password"));
    // Their change came over with its ciphertext: git shows no new line.
    assert_eq!(enc_of(&merged, "port"), enc_of(&theirs, "port"));

    let out = common::isolated(&sops, &r.home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", "json", "secrets.enc.yaml"])
        .current_dir(&r.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        data,
        serde_json::json!({"db": {"user": "app", "password": "ours-pw-2"}, "port": 6543})
    );
}

#[test]
fn a_key_added_on_one_branch_merges_with_a_value_change_on_the_other() {
    let Some(r) = set_up() else { return };
    r.ok(&["checkout", "-q", "-b", "theirs"]);
    // Their side adds a key with `shroud edit` (same data key).
    let mut cmd = common::shroud(&r.home);
    r.env(&mut cmd, true);
    let o = cmd
        .env("EDITOR", "sed -i -e '$a host: db.internal'")
        .args(["edit", "secrets.enc.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    r.ok(&["commit", "-q", "-am", "their host"]);
    r.ok(&["checkout", "-q", "main"]);
    r.set("secrets.enc.yaml", r#"["db"]["user"]"#, r#""admin""#);
    r.ok(&["commit", "-q", "-am", "our user"]);
    r.ok(&["merge", "--no-edit", "theirs"]);
    assert_eq!(
        r.shroud_ok(&["decrypt", "secrets.enc.yaml"]),
        "db:\n  user: admin\n  password: base-pw-1\nport: 5432\nhost: db.internal\n"
    );
}

#[test]
fn the_same_key_changed_on_both_branches_stops_the_merge_without_plaintext() {
    let Some(r) = set_up() else { return };
    r.ok(&["checkout", "-q", "-b", "theirs"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["password"]"#,
        r#""their-pw-77""#,
    );
    r.ok(&["commit", "-q", "-am", "their password"]);
    r.ok(&["checkout", "-q", "main"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["password"]"#,
        r#""our-pw-88""#,
    );
    r.ok(&["commit", "-q", "-am", "our password"]);
    let ours = r.read("secrets.enc.yaml");
    let o = r.git(&["merge", "--no-edit", "theirs"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "the merge should stop: {said}");
    assert!(
        said.contains(r#"["db"]["password"]: changed on both sides"#),
        "{said}"
    );
    assert!(
        r.ok(&["status", "--porcelain"])
            .contains("UU secrets.enc.yaml")
    );
    // Our encrypted version is left in place, and no plaintext anywhere:
    // not in the repository (work tree and .git), HOME or TMPDIR, nor in
    // what was printed.
    assert_eq!(r.read("secrets.enc.yaml"), ours);
    for secret in ["their-pw-77", "our-pw-88", "base-pw-1"] {
        assert!(!said.contains(secret));
        assert_eq!(files_containing(&r.root, secret), Vec::<PathBuf>::new());
    }
    assert_eq!(fs::read_dir(&r.tmp).unwrap().count(), 0);
}

#[test]
fn git_diff_shows_the_decrypted_change_or_a_no_key_line() {
    let Some(r) = set_up() else { return };
    r.set("secrets.enc.yaml", r#"["db"]["password"]"#, r#""new-pw-3""#);
    let diff = r.ok(&["diff"]);
    assert!(diff.contains("-  password: base-pw-1\n"), "{diff}");
    assert!(diff.contains("+  password: new-pw-3\n"), "{diff}");
    assert!(!diff.contains("ENC["), "{diff}");
    r.ok(&["commit", "-q", "-am", "new password"]);
    let log = r.ok(&["log", "-p", "-1"]);
    assert!(log.contains("+  password: new-pw-3\n"), "{log}");

    // Someone without the key: git diff still works and says why.
    let mut cmd = common::isolated(&r.git, &r.home);
    r.env(&mut cmd, false);
    let o = cmd.args(["log", "-p", "-1"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = String::from_utf8(o.stdout).unwrap();
    let line = format!(
        "# shroud: no key to decrypt this file (encrypted to {})",
        recipient("alice")
    );
    assert!(log.contains(&line), "{log}");
    // The ciphertext diff still shows which key changed.
    assert!(log.contains("+  password: ENC["), "{log}");
    assert!(!log.contains("new-pw-3"));
}

#[test]
fn the_hook_refuses_a_plaintext_secrets_file() {
    let Some(r) = set_up() else { return };
    fs::write(r.dir.join("new.enc.yaml"), "token: plain-token-9\n").unwrap();
    r.ok(&["add", "new.enc.yaml"]);
    let o = r.git(&["commit", "-q", "-m", "oops"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the commit went through");
    assert!(
        err.contains("new.enc.yaml: not encrypted, but .sops.yaml"),
        "{err}"
    );
    assert!(!err.contains("plain-token-9"));
    assert_eq!(r.ok(&["rev-list", "--count", "HEAD"]).trim(), "1");
    // Once encrypted, the commit goes through.
    r.shroud_ok(&["encrypt", "-i", "new.enc.yaml"]);
    r.ok(&["add", "new.enc.yaml"]);
    r.ok(&["commit", "-q", "-m", "encrypted"]);
}

#[test]
fn check_names_clear_values_and_a_broken_mac() {
    let Some(r) = set_up() else { return };
    let enc = r.read("secrets.enc.yaml");
    // A value put in by hand, in clear text.
    let clear = enc.replace(&enc_of(&enc, "user"), "  user: hand-typed-5");
    fs::write(r.dir.join("clear.enc.yaml"), &clear).unwrap();
    // A file whose values were swapped without the key.
    let (user, pw) = (enc_of(&enc, "user"), enc_of(&enc, "password"));
    let swapped = enc
        .replace(&user, "@@")
        .replace(&pw, &user.replace("user:", "password:"))
        .replace("@@", &pw.replace("password:", "user:"));
    fs::write(r.dir.join("swapped.enc.yaml"), &swapped).unwrap();

    // A file changed without the key: the MAC of an older version.
    r.set("secrets.enc.yaml", r#"["port"]"#, "1");
    let newer = r.read("secrets.enc.yaml");
    let stale = newer
        .replace(&enc_of(&newer, "mac"), &enc_of(&enc, "mac"))
        .replace(
            &enc_of(&newer, "lastmodified"),
            &enc_of(&enc, "lastmodified"),
        );
    fs::write(r.dir.join("stale.enc.yaml"), &stale).unwrap();

    let o = r.shroud(&[
        "git",
        "check",
        "clear.enc.yaml",
        "swapped.enc.yaml",
        "stale.enc.yaml",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(r#"clear.enc.yaml: ["db"]["user"]: value is not encrypted"#),
        "{err}"
    );
    assert!(err.contains("swapped.enc.yaml: "), "{err}");
    assert!(
        err.contains("stale.enc.yaml: the file was changed without its key"),
        "{err}"
    );
    assert!(!err.contains("hand-typed-5") && !err.contains("base-pw-1"));

    // Without a key only the structure is checked, and the output says so.
    let o = r.shroud_with(&["git", "check", "secrets.enc.yaml"], false);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checked its structure only"));
}

#[test]
fn diff_keys_only_prints_paths_but_no_values() {
    let Some(r) = set_up() else { return };
    r.set("secrets.enc.yaml", r#"["db"]["password"]"#, r#""new-pw-4""#);
    let o = r.shroud(&["diff", "--keys-only", "secrets.enc.yaml", "--rev", "HEAD"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out, "changed [\"db\"][\"password\"]\n");

    // The full diff shows values; the same file compares equal (exit 0).
    let o = r.shroud(&["diff", "secrets.enc.yaml", "--rev", "HEAD"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("-  password: base-pw-1\n+  password: new-pw-4\n"),
        "{out}"
    );
    assert!(!out.contains("\x1b["), "no colour when not on a terminal");
    let o = r.shroud(&["diff", "secrets.enc.yaml", "secrets.enc.yaml"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());

    // An error is not "different".
    let o = r.shroud(&["diff", "secrets.enc.yaml", "missing.yaml"]);
    assert!(!matches!(o.status.code(), Some(0) | Some(1)));
    let o = r.shroud_with(&["diff", "secrets.enc.yaml", "--rev", "HEAD"], false);
    assert!(!matches!(o.status.code(), Some(0) | Some(1)));
}

#[test]
fn setup_is_idempotent_and_keeps_a_foreign_hook() {
    let Some(r) = Repo::new() else { return };
    fs::write(
        r.dir.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: (dev|prod)/app\\.yaml$\n    age: {}\n",
            recipient("alice")
        ),
    )
    .unwrap();
    fs::create_dir(r.dir.join("prod")).unwrap();
    r.encrypted("prod/app.yaml", "a: 1\n");
    fs::write(r.dir.join(".gitattributes"), "*.png binary\n").unwrap();
    r.ok(&["add", "-A"]);
    let said = r.shroud_ok(&["git", "setup"]);
    assert!(said.contains("no exact .gitattributes pattern"), "{said}");
    let attrs = r.read(".gitattributes");
    assert!(attrs.starts_with("*.png binary\n"), "{attrs}");
    assert!(
        attrs.contains("\n/prod/app.yaml diff=shroud merge=shroud\n"),
        "{attrs}"
    );
    let config = fs::read(r.dir.join(".git/config")).unwrap();
    // git sees the attributes and the driver.
    let attr = r.ok(&["check-attr", "diff", "merge", "--", "prod/app.yaml"]);
    assert_eq!(
        attr,
        "prod/app.yaml: diff: shroud\nprod/app.yaml: merge: shroud\n"
    );
    assert!(
        r.ok(&["config", "merge.shroud.driver"])
            .ends_with(" git merge-driver %O %A %B %P\n")
    );

    // Twice: nothing changes.
    let said = r.shroud_ok(&["git", "setup"]);
    assert!(said.contains(".gitattributes: unchanged"), "{said}");
    assert_eq!(r.read(".gitattributes"), attrs);
    assert_eq!(fs::read(r.dir.join(".git/config")).unwrap(), config);

    // A hook someone else wrote is left alone, with a message.
    let hook = r.dir.join(".git/hooks/pre-commit");
    fs::write(&hook, "#!/bin/sh\nmake lint\n").unwrap();
    let o = r.shroud(&["git", "setup", "--hook"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("was not written by shroud"));
    assert_eq!(fs::read_to_string(&hook).unwrap(), "#!/bin/sh\nmake lint\n");
}

/// The driver as git calls it, on every structured format: each side
/// changed a different key; the result holds both changes, keeps their
/// ciphertext for their change, and passes the MAC.
#[test]
fn the_driver_merges_every_structured_format() {
    let Some(r) = Repo::new() else { return };
    let key = format!("--age={}", recipient("alice"));
    for (name, plain, ours_path, theirs_path, expected) in [
        (
            "s.json",
            "{\n  \"a\": \"1\",\n  \"b\": {\"c\": \"2\"}\n}\n",
            r#"["a"]"#,
            r#"["b"]["c"]"#,
            "{\n  \"a\": \"ours\",\n  \"b\": {\"c\": \"theirs\"}\n}\n",
        ),
        (
            "s.toml",
            "a = \"1\"\n\n[b]\nc = \"2\"\n",
            r#"["a"]"#,
            r#"["b"]["c"]"#,
            "a = \"ours\"\n\n[b]\nc = \"theirs\"\n",
        ),
        (
            "s.env",
            "A=1\nC=2\n",
            r#"["A"]"#,
            r#"["C"]"#,
            "A=ours\nC=theirs\n",
        ),
        (
            "s.ini",
            "[s]\na = 1\nc = 2\n",
            r#"["s"]["a"]"#,
            r#"["s"]["c"]"#,
            "[s]\na = ours\nc = theirs\n",
        ),
    ] {
        let base = r.dir.join(format!("base.{name}"));
        fs::write(&base, plain).unwrap();
        let b = base.to_str().unwrap();
        r.shroud_ok(&["encrypt", &key, "-i", b]);
        let (ours, theirs) = (
            r.dir.join(format!("ours.{name}")),
            r.dir.join(format!("theirs.{name}")),
        );
        let (o, t) = (ours.to_str().unwrap(), theirs.to_str().unwrap());
        fs::copy(&base, &ours).unwrap();
        fs::copy(&base, &theirs).unwrap();
        r.set(o, ours_path, r#""ours""#);
        r.set(t, theirs_path, r#""theirs""#);
        let encs = |text: &str| -> Vec<String> {
            text.split("ENC[")
                .skip(1)
                .map(|s| format!("ENC[{}]", s.split(']').next().unwrap()))
                .collect()
        };
        let base_encs = encs(&fs::read_to_string(&base).unwrap());
        let their_new: Vec<String> = encs(&fs::read_to_string(&theirs).unwrap())
            .into_iter()
            .filter(|e| !base_encs.contains(e))
            .collect();
        r.shroud_ok(&["git", "merge-driver", b, o, t, name]);
        assert_eq!(r.shroud_ok(&["decrypt", o]), expected, "{name}");
        // Their changed value came over with its very ciphertext (their
        // other new ciphertext is their MAC, which is replaced).
        let merged = fs::read_to_string(&ours).unwrap();
        let kept = their_new.iter().filter(|e| merged.contains(*e)).count();
        assert_eq!(kept, 1, "{name}: {their_new:?}\n{merged}");

        // Both sides add a key (set creates it): both keys are in the
        // result; the same new key with different values is a conflict
        // that names it and leaves ours alone.
        let new_key = |k: &str| {
            if name == "s.ini" {
                format!(r#"["s"]["{k}"]"#)
            } else {
                format!(r#"["{k}"]"#)
            }
        };
        fs::copy(&base, &ours).unwrap();
        fs::copy(&base, &theirs).unwrap();
        r.set(o, &new_key("n1"), r#""from-ours""#);
        r.set(t, &new_key("n2"), r#""from-theirs""#);
        r.shroud_ok(&["git", "merge-driver", b, o, t, name]);
        for (k, v) in [("n1", "from-ours"), ("n2", "from-theirs")] {
            let got = r.shroud_ok(&["decrypt", "--extract", &new_key(k), o]);
            assert_eq!(
                got.trim_end(),
                v,
                "{name}\n{}",
                r.shroud_ok(&["decrypt", o])
            );
        }
        let old = if name == "s.ini" {
            r#"["s"]["a"]"#
        } else if name == "s.env" {
            r#"["A"]"#
        } else {
            r#"["a"]"#
        };
        assert_eq!(
            r.shroud_ok(&["decrypt", "--extract", old, o]).trim_end(),
            "1",
            "{name}"
        );
        fs::copy(&base, &ours).unwrap();
        fs::copy(&base, &theirs).unwrap();
        r.set(o, &new_key("n1"), r#""one-value""#);
        r.set(t, &new_key("n1"), r#""another-value""#);
        let before = fs::read(&ours).unwrap();
        let out = r.shroud(&["git", "merge-driver", b, o, t, name]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(&format!(
                "{}: added on both sides with different values",
                new_key("n1")
            )),
            "{name}: {err}"
        );
        assert!(!err.contains("one-value") && !err.contains("another-value"));
        assert_eq!(fs::read(&ours).unwrap(), before, "{name}: ours was changed");
    }
}

/// Both branches add keys to one encrypted file: git merges it cleanly with
/// the driver, and the real sops reads the union. The same key added with
/// different values stops the merge, naming the key, with no plaintext
/// anywhere.
#[test]
fn keys_added_on_both_branches_merge_and_sops_reads_the_union() {
    let Some(r) = set_up() else { return };
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let base = r.read("secrets.enc.yaml");
    r.ok(&["checkout", "-q", "-b", "theirs"]);
    r.set("secrets.enc.yaml", r#"["db"]["host"]"#, r#""db.internal""#);
    r.set(
        "secrets.enc.yaml",
        r#"["api"]"#,
        r#"{"token": "their-tok-5"}"#,
    );
    r.ok(&["commit", "-q", "-am", "their keys"]);
    let theirs = r.read("secrets.enc.yaml");
    r.ok(&["checkout", "-q", "main"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["replica"]"#,
        r#""db2.internal""#,
    );
    r.set("secrets.enc.yaml", r#"["port"]"#, "6543");
    r.ok(&["commit", "-q", "-am", "our keys"]);
    let o = r.git(&["merge", "--no-edit", "theirs"]);
    assert!(
        o.status.success(),
        "merge failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(r.ok(&["status", "--porcelain"]), "");
    let merged = r.read("secrets.enc.yaml");
    // Unchanged values and their new ones keep their ciphertexts.
    assert_eq!(enc_of(&merged, "user"), enc_of(&base, "user"));
    assert_eq!(enc_of(&merged, "token"), enc_of(&theirs, "token"));
    assert_eq!(enc_of(&merged, "host"), enc_of(&theirs, "host"));
    let out = common::isolated(&sops, &r.home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", "json", "secrets.enc.yaml"])
        .current_dir(&r.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        data,
        serde_json::json!({
            "db": {"user": "app", "password": "base-pw-1", "replica": "db2.internal", "host": "db.internal"},
            "port": 6543,
            "api": {"token": "their-tok-5"}
        })
    );
    // shroud opens it in strict mode: the merge sealed it.
    let o = r.shroud(&["--strict", "decrypt", "secrets.enc.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The same new key with different values on both branches.
    r.ok(&["checkout", "-q", "-b", "other"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["region"]"#,
        r#""their-region-9""#,
    );
    r.ok(&["commit", "-q", "-am", "their region"]);
    r.ok(&["checkout", "-q", "main"]);
    r.set(
        "secrets.enc.yaml",
        r#"["db"]["region"]"#,
        r#""our-region-8""#,
    );
    r.set("secrets.enc.yaml", r#"["extra"]"#, "1");
    r.ok(&["commit", "-q", "-am", "our region"]);
    let ours = r.read("secrets.enc.yaml");
    let o = r.git(&["merge", "--no-edit", "other"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "the merge should stop: {said}");
    assert!(
        said.contains(r#"["db"]["region"]: added on both sides with different values"#),
        "{said}"
    );
    assert_eq!(r.read("secrets.enc.yaml"), ours);
    for secret in ["their-region-9", "our-region-8", "base-pw-1", "their-tok-5"] {
        assert!(!said.contains(secret));
        assert_eq!(files_containing(&r.root, secret), Vec::<PathBuf>::new());
    }
}

/// Ours and theirs both hold the ciphertext of an unchanged value; after
/// the merge a second equal value in the same list must not reuse its IV.
#[test]
fn equal_values_in_a_merged_list_do_not_share_a_ciphertext() {
    let Some(r) = Repo::new() else { return };
    let base = r.dir.join("base.yaml");
    fs::write(&base, "x: 1\nl:\n  - same\n  - other\n").unwrap();
    let b = base.to_str().unwrap();
    r.shroud_ok(&["encrypt", &format!("--age={}", recipient("alice")), "-i", b]);
    let (ours, theirs) = (r.dir.join("ours.yaml"), r.dir.join("theirs.yaml"));
    fs::copy(&base, &ours).unwrap();
    fs::copy(&base, &theirs).unwrap();
    let (o, t) = (ours.to_str().unwrap(), theirs.to_str().unwrap());
    r.set(o, r#"["x"]"#, "2");
    r.set(t, r#"["l"][1]"#, r#""same""#);
    r.shroud_ok(&["git", "merge-driver", b, o, t, "s.yaml"]);
    assert_eq!(
        r.shroud_ok(&["decrypt", o]),
        "x: 2\nl:\n  - same\n  - same\n"
    );
    let merged = fs::read_to_string(&ours).unwrap();
    let items: Vec<&str> = merged
        .lines()
        .filter(|l| l.trim_start().starts_with("- ENC["))
        .collect();
    assert_eq!(items.len(), 2, "{merged}");
    assert_ne!(items[0], items[1], "two list items share an IV:\n{merged}");
}

/// A file the attributes match but nobody encrypted is merged by git's own
/// line merge, as it would be without the driver.
#[test]
fn plain_files_fall_back_to_git_merge_file() {
    let Some(r) = Repo::new() else { return };
    let (b, o, t) = (
        r.dir.join("b.yaml"),
        r.dir.join("o.yaml"),
        r.dir.join("t.yaml"),
    );
    fs::write(&b, "a: 1\nm: x\nz: 1\n").unwrap();
    fs::write(&o, "a: 2\nm: x\nz: 1\n").unwrap();
    fs::write(&t, "a: 1\nm: x\nz: 2\n").unwrap();
    let args = [&b, &o, &t].map(|p| p.to_str().unwrap().to_string());
    let o_out = r.shroud(&[
        "git",
        "merge-driver",
        &args[0],
        &args[1],
        &args[2],
        "p.yaml",
    ]);
    assert!(
        o_out.status.success(),
        "{}",
        String::from_utf8_lossy(&o_out.stderr)
    );
    assert_eq!(r.read("o.yaml"), "a: 2\nm: x\nz: 2\n");
}

/// The pre-commit framework's hook definition (.pre-commit-hooks.yaml):
/// its fields are the ones the framework needs, and its `entry`, given
/// the staged file names as pre-commit passes them, refuses a clear
/// secrets file and accepts an encrypted one. (The framework itself
/// would build shroud with `cargo install`, minutes of CI time, so the
/// entry runs with the binary under test instead.)
#[test]
fn the_pre_commit_hook_definition_runs_the_check() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"))
            .unwrap();
    // A list of one hook, one `key: value` line per field (shroud reads
    // only mappings at the root, so the lines are read by hand).
    let field = |name: &str| -> Option<String> {
        text.lines().find_map(|l| {
            let l = l.strip_prefix("- ").or_else(|| l.strip_prefix("  "))?;
            Some(l.strip_prefix(name)?.strip_prefix(": ")?.trim().to_string())
        })
    };
    assert_eq!(field("id").as_deref(), Some("shroud-check"));
    assert_eq!(field("language").as_deref(), Some("rust"));
    assert_eq!(field("pass_filenames").as_deref(), Some("true"));
    let entry = field("entry").unwrap();
    let words = shlex::split(&entry).unwrap();
    assert_eq!(words[0], "shroud", "the entry runs the installed binary");

    let Some(r) = set_up() else { return };
    fs::write(r.dir.join("new.enc.yaml"), "token: plain-token-9\n").unwrap();
    let mut args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    args.extend(["secrets.enc.yaml", "new.enc.yaml"]);
    let o = r.shroud(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("new.enc.yaml: not encrypted"), "{err}");
    assert!(!err.contains("plain-token-9"));
    r.shroud_ok(&["encrypt", "-i", "new.enc.yaml"]);
    let o = r.shroud(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
