//! Shared helpers for the integration tests: running `shroud` in an isolated
//! environment, and finding the real `sops` and `age` binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod tmux;

/// The folder of committed test keys (public, labelled test keys).
pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys")
}

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// The corpus of real-world Helm chart files (third-party, Apache-2.0; see
/// testdata/corpus/README.md), kept in the repository so any clone has it.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus/helm")
}

/// The public key of a test identity (`alice`, `bob`).
pub fn recipient(name: &str) -> String {
    let text = std::fs::read_to_string(keys_dir().join(format!("{name}.txt"))).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("test key has a public key line")
        .to_string()
}

pub fn identity_file(name: &str) -> PathBuf {
    let path = keys_dir().join(format!("{name}.txt"));
    // git checks files out 0644, and shroud rightly warns about an identity
    // file others can read; tests use these keys as a careful user would
    // keep them (git tracks only the executable bit, so the tree stays clean).
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    path
}

/// Environment variables that would let a test see the developer's own keys.
const KEY_VARS: &[&str] = &[
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_RECIPIENTS",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
    "SOPS_CONFIG",
    "SOPS_EDITOR",
    "EDITOR",
    "XDG_CONFIG_HOME",
    "SHROUD_STRICT",
];

/// A command with HOME pointed at `home` and every key source cleared.
pub fn isolated(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    for v in KEY_VARS {
        cmd.env_remove(v);
    }
    cmd.env("HOME", home).env("SOPS_DISABLE_VERSION_CHECK", "1");
    cmd
}

/// `shroud` with an isolated environment.
pub fn shroud(home: &Path) -> Command {
    isolated(Path::new(env!("CARGO_BIN_EXE_shroud")), home)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Find an external tool for an interop test. Under `CI=true` a missing tool
/// fails the test; elsewhere the test is skipped with a message saying so.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    if let Some(p) = on_path(name) {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{name} is not installed, and under CI=true interop tests must not skip (.ci/run installs it)"
        );
    }
    eprintln!("SKIPPED: {name} is not on PATH; this interop test did not run");
    None
}

/// A fresh temp folder holding `body` encrypted to alice under `name`
/// (the format follows the name's extension), and the encrypted file's path.
pub fn encrypted_for_alice(body: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join(format!("plain-{name}"));
    std::fs::write(&plain, body).unwrap();
    let enc = dir.path().join(name);
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&enc)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (dir, enc)
}

/// A YAML file of `groups` root keys (about 330 bytes each), big enough
/// for shroud to encrypt and decrypt it a piece at a time (src/stream)
/// from about 800 groups: nested maps and lists, every scalar style and
/// type, comments, blank lines, empty and null values, and keys the
/// default rule leaves clear.
pub fn big_yaml(groups: usize) -> String {
    let mut s = String::from("# a big file\n\n");
    for i in 0..groups {
        s.push_str(&format!(
            "group_{i:05}:\n  name: service-{i}.example.com   # inline comment\n  \
             password: 'p@ss {i}'\n  token: \"t\\t{i}\"\n  port: {port}\n  ratio: {i}.5\n  \
             enabled: {on}\n  empty: \"\"\n  none: null\n  hosts:\n    - h{i}.example.com\n    \
             - [a, {i}, true]\n  note: |\n    line one of {i}\n    line two\n  \
             public_unencrypted: visible-{i}\n",
            port = 1024 + i,
            on = i % 2 == 0,
        ));
        if i % 100 == 0 {
            s.push_str("# a comment between groups\n\n");
        }
    }
    s
}

/// A JSON file of `groups` root members (about 480 bytes each), big
/// enough for shroud to stream it (src/stream) from about 550 groups:
/// nested objects and arrays, every scalar type, strings holding
/// brackets, quotes, commas and escapes (spelled the way a decryption
/// writes them back), empty and null values, and keys the default rule
/// leaves clear. Two-space indentation, a final line break.
pub fn big_json(groups: usize) -> String {
    let mut members = Vec::with_capacity(groups);
    for i in 0..groups {
        members.push(format!(
            "  \"group_{i:05}\": {{\n    \"name\": \"service-{i}.example.com\",\n    \
             \"password\": \"p@ss {i} \\\"q\\\" }}, {{ \\\\\",\n    \"token\": \"t\\t{i}\\n\",\n    \
             \"port\": {port},\n    \"ratio\": {i}.5,\n    \"enabled\": {on},\n    \
             \"empty\": \"\",\n    \"none\": null,\n    \"list\": [],\n    \
             \"hosts\": [\"h{i}.example.com\", [\"a\", {i}, true]],\n    \
             \"deep\": {{\"x\": {{\"y\": \"}}{{\", \"z\": -{i}e-3}}}},\n    \
             \"public_unencrypted\": \"visible-{i}\"\n  }}",
            port = 1024 + i,
            on = i % 2 == 0,
        ));
    }
    format!("{{\n{}\n}}\n", members.join(",\n"))
}
