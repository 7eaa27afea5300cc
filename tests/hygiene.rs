//! Secret hygiene: every command, on success and on its error paths, is run
//! on a file with distinctive secrets. All of its output is scanned for the
//! file's data key (recovered with the real `age` from the wrapped key, in
//! hex and base64) and for the secrets outside the output meant to hold
//! them; after every command the test folder, the temp folder and the
//! editor's runtime folder are scanned for plaintext left behind.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use common::{identity_file, recipient, require_tool, shroud};

/// The secrets of the test file: two values and an encrypted comment.
const SECRETS: &[&str] = &[
    "zq-secret-value-7f3a9c",
    "zq-secret-token-88d1e2",
    "zq-secret-comment-c0ffee",
];

const PLAIN: &str = "# zq-secret-comment-c0ffee\napp:\n  password: zq-secret-value-7f3a9c\n  token: zq-secret-token-88d1e2\n  port: 8080\nname_unencrypted: visible\n";

struct Env {
    _dir: tempfile::TempDir,
    home: PathBuf,
    tmp: PathBuf,
    runtime: PathBuf,
    /// Files that are meant to hold plaintext: the test's own input.
    allowed: Vec<PathBuf>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let tmp = dir.path().join("tmp");
        let runtime = dir.path().join("runtime");
        for d in [&home, &tmp, &runtime] {
            fs::create_dir(d).unwrap();
        }
        Env {
            _dir: dir,
            home,
            tmp,
            runtime,
            allowed: vec![],
        }
    }

    fn cmd(&self) -> Command {
        let mut c = shroud(&self.home);
        c.env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .env("TMPDIR", &self.tmp)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .current_dir(&self.home);
        c
    }

    /// No file under the test folders holds a secret or the data key,
    /// except the ones meant to; temp and runtime folders are empty.
    fn check_disk(&self, after: &str, keys: &[String]) {
        for d in [&self.tmp, &self.runtime] {
            let left: Vec<_> = fs::read_dir(d).unwrap().collect();
            assert!(left.is_empty(), "after {after}: {d:?} holds {left:?}");
        }
        let mut stack = vec![self.home.clone()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if self.allowed.contains(&p) {
                    continue;
                }
                let bytes = fs::read(&p).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                for s in SECRETS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(keys.iter().cloned())
                {
                    assert!(!text.contains(&s), "after {after}: {p:?} holds {s}");
                }
            }
        }
    }
}

/// The data key of an encrypted YAML file, unwrapped with the real age.
fn data_key(age: &Path, file: &Path) -> Vec<u8> {
    let text = fs::read_to_string(file).unwrap();
    let armor: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN AGE"))
        .take_while(|l| !l.starts_with("-----END AGE"))
        .chain(["-----END AGE ENCRYPTED FILE-----"])
        .map(|l| format!("{l}\n"))
        .collect();
    let o = Command::new(age)
        .args(["-d", "-i"])
        .arg(identity_file("alice"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(armor.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success(), "age could not unwrap the data key");
    assert_eq!(o.stdout.len(), 32, "a SOPS data key is 32 bytes");
    o.stdout
}

/// Every spelling of a key that a leak could take.
fn spellings(key: &[u8]) -> Vec<String> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        hex.clone(),
        hex.to_uppercase(),
        b64.encode(key),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(key),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
        String::from_utf8_lossy(key).into_owned(),
    ]
    .into_iter()
    .filter(|s| s.len() >= 16)
    .collect()
}

/// One command: where its secrets may legitimately appear.
struct Step {
    name: &'static str,
    args: Vec<String>,
    /// stdout is the decrypted output the user asked for.
    stdout_is_plaintext: bool,
    code: i32,
}

fn step(name: &'static str, args: &[&str], stdout_is_plaintext: bool, code: i32) -> Step {
    Step {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdout_is_plaintext,
        code,
    }
}

fn check_output(name: &str, o: &Output, plaintext_ok: bool, keys: &[String]) {
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    for k in keys {
        assert!(
            !out.contains(k) && !err.contains(k),
            "{name}: the data key leaked"
        );
    }
    for s in SECRETS {
        assert!(!err.contains(s), "{name}: a secret on stderr: {err}");
        if !plaintext_ok {
            assert!(!out.contains(s), "{name}: a secret on stdout: {out}");
        }
    }
}

#[test]
fn no_command_leaks_the_data_key_or_leaves_plaintext_behind() {
    let Some(age) = require_tool("age") else {
        return;
    };
    let mut env = Env::new();
    let plain = env.home.join("plain.yaml");
    fs::write(&plain, PLAIN).unwrap();
    env.allowed.push(plain.clone());
    fs::write(
        env.home.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipient("alice"),
            recipient("bob")
        ),
    )
    .unwrap();
    let editor = env.home.join("editor.sh");
    fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/port: 8080/port: 8081/' \"$1\"\n",
    )
    .unwrap();
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    let failing_editor = env.home.join("fail.sh");
    fs::write(&failing_editor, "#!/bin/sh\nexit 3\n").unwrap();
    fs::set_permissions(&failing_editor, fs::Permissions::from_mode(0o755)).unwrap();

    // encrypt: to stdout, then to the file the other commands use.
    let o = env
        .cmd()
        .args(["encrypt", "--age", &recipient("alice"), "plain.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success());
    check_output("encrypt to stdout", &o, false, &[]);
    let o = env
        .cmd()
        .args(["encrypt", "--output", "s.yaml", "plain.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = env.home.join("s.yaml");
    let mut keys = spellings(&data_key(&age, &file));
    check_output("encrypt", &o, false, &keys);
    env.check_disk("encrypt", &keys);

    let steps = vec![
        step("decrypt", &["decrypt", "s.yaml"], true, 0),
        step(
            "decrypt --extract",
            &["decrypt", "--extract", r#"["app"]["token"]"#, "s.yaml"],
            true,
            0,
        ),
        step(
            "decrypt --output-type json",
            &["decrypt", "--output-type", "json", "s.yaml"],
            true,
            0,
        ),
        step("filestatus", &["filestatus", "s.yaml"], false, 0),
        step(
            "exec-env",
            &["exec-env", "--flatten", "s.yaml", "true"],
            false,
            0,
        ),
        step(
            "exec-file",
            &["exec-file", "s.yaml", "cat {} >/dev/null"],
            false,
            0,
        ),
        step(
            "exec-file --no-fifo",
            &["exec-file", "--no-fifo", "s.yaml", "test -s {}"],
            false,
            0,
        ),
        step("edit", &["edit", "s.yaml"], false, 0),
        step(
            "set",
            &["set", "s.yaml", r#"["app"]["port"]"#, "9090"],
            false,
            0,
        ),
        // status decrypts (to verify the MAC and shroud_auth) but must
        // print nothing of what it decrypted.
        step("status", &["status", "--json", "s.yaml"], false, 0),
        step(
            "set through a missing key",
            &["set", "s.yaml", r#"["nope"][3]"#, "1"],
            false,
            1,
        ),
        step(
            "encrypt an encrypted file",
            &["encrypt", "s.yaml"],
            false,
            203,
        ),
        step("updatekeys", &["updatekeys", "-y", "s.yaml"], false, 0),
        step("rotate", &["rotate", "-i", "s.yaml"], false, 0),
    ];
    for s in &steps {
        let mut cmd = env.cmd();
        cmd.env("EDITOR", &editor).args(&s.args);
        let o = cmd.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(s.code),
            "{}: {}",
            s.name,
            String::from_utf8_lossy(&o.stderr)
        );
        check_output(s.name, &o, s.stdout_is_plaintext, &keys);
        if s.name == "rotate" {
            // A new data key from now on; the old one must not show either.
            keys.extend(spellings(&data_key(&age, &file)));
        }
        env.check_disk(s.name, &keys);
    }

    // Error paths: a failing editor, a wrong key, a tampered file.
    let o = env
        .cmd()
        .env("EDITOR", &failing_editor)
        .args(["edit", "s.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(201));
    check_output("edit with a failing editor", &o, false, &keys);
    env.check_disk("edit with a failing editor", &keys);
    let o = env
        .cmd()
        .env("SOPS_AGE_KEY_FILE", identity_file("ssh_ed25519"))
        .args(["decrypt", "s.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(128));
    check_output("decrypt with a wrong key", &o, false, &keys);
    let text = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        text.replacen("name_unencrypted", "other_unencrypted", 1),
    )
    .unwrap();
    for args in [
        &["decrypt", "s.yaml"][..],
        &["set", "s.yaml", r#"["app"]["port"]"#, "1"],
        &["rotate", "-i", "s.yaml"],
    ] {
        let o = env.cmd().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(51), "{args:?}");
        check_output("tampered", &o, false, &keys);
        env.check_disk("tampered", &keys);
    }
}

#[test]
fn identity_files_readable_by_others_get_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let plain = home.join("p.yaml");
    fs::write(&plain, "a: b\n").unwrap();
    let enc = home.join("e.yaml");
    let o = shroud(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success());
    let key = home.join("key.txt");
    fs::copy(identity_file("alice"), &key).unwrap();
    for (mode, warned) in [(0o600, false), (0o400, false), (0o640, true), (0o644, true)] {
        fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
        let o = shroud(home)
            .env("SOPS_AGE_KEY_FILE", &key)
            .arg("decrypt")
            .arg(&enc)
            .output()
            .unwrap();
        assert!(o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.contains("accessible by other users"),
            warned,
            "mode {mode:o}: {err}"
        );
    }
}
