//! Shared helpers for the format modules' unit tests: fake ciphertexts,
//! and interop with the real `sops` binary: shroud's side runs through the library (engine and
//! keys), sops's side through the CLI, both with the committed test key.
//!
//! A missing `sops` fails the test under `CI=true` and skips it (with a
//! printed `SKIPPED:` line) otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::engine::{self, DecryptOptions, EncryptSettings};
use crate::formats::Format;
use crate::keys::{Identities, Recipient, data_key, wrap_groups};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn alice_file() -> PathBuf {
    manifest("testdata/keys/alice.txt")
}

pub fn alice_text() -> String {
    std::fs::read_to_string(alice_file()).expect("testdata/keys/alice.txt")
}

pub fn alice_public() -> String {
    alice_text()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("the test key has a public key line")
        .to_string()
}

/// The sops binary: `$SOPS_BIN`, then `PATH` (.ci/run puts it there).
pub fn sops(test: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os("SOPS_BIN").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("sops"))
            .find(|p| p.is_file())
    });
    let found = from_env.into_iter().chain(on_path).find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: sops is required under CI=true but was not found"
        );
        println!("SKIPPED: {test}: sops not found (set SOPS_BIN or install it)");
    }
    found
}

/// A `sops` command that sees only the test key and never calls home.
pub fn sops_cmd(sops: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(sops);
    for v in [
        "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_CMD",
        "SOPS_AGE_RECIPIENTS",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
        "SOPS_CONFIG",
        "XDG_CONFIG_HOME",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("HOME", home)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("SOPS_AGE_KEY_FILE", alice_file())
        .current_dir(home);
    cmd
}

pub fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("sops prints UTF-8")
}

/// Encrypt `src` with shroud's engine to the test key.
pub fn shroud_encrypt(format: Format, src: &str) -> String {
    let doc = format.parse(src).expect("shroud parses the plaintext");
    let key = crate::crypto::DataKey::generate();
    let recipient = Recipient::parse(&alice_public()).expect("test recipient");
    let (groups, threshold) = wrap_groups(&key, &[vec![recipient]], None).expect("wrap");
    let out = engine::encrypt(
        doc.as_ref(),
        &key,
        groups,
        threshold,
        &EncryptSettings::default(),
        engine::now_utc(),
    )
    .expect("shroud encrypts");
    out.text.to_string()
}

/// Decrypt `enc` with shroud's engine and the test key.
pub fn shroud_decrypt(format: Format, enc: &str) -> String {
    let doc = format.parse(enc).expect("shroud parses the encrypted file");
    let meta = engine::metadata(doc.as_ref()).expect("metadata");
    let ids = Identities::from_text("test", &alice_text());
    let key = data_key(&meta, &ids).expect("the test key opens the file");
    let out = engine::decrypt(doc.as_ref(), &meta, &key, DecryptOptions::default())
        .expect("shroud decrypts");
    out.text.to_string()
}

/// Run `sops <args> <file>` on `content` written to `home/name`.
pub fn sops_on(sops: &Path, home: &Path, name: &str, content: &str, args: &[&str]) -> String {
    let path = home.join(name);
    std::fs::write(&path, content).expect("write temp file");
    let out = sops_cmd(sops, home)
        .args(args)
        .arg(&path)
        .output()
        .expect("run sops");
    ok(out, &format!("sops {} {name}", args.join(" ")))
}

/// A stand-in `ENC[...]` value, distinct per leaf `i`, that parses as one.
pub fn fake_enc(i: usize, ty: crate::document::ValueType) -> String {
    format!(
        "ENC[AES256_GCM,data:ZGF0YQ{i}==,iv:aXY{i}=,tag:dGFn{i}==,type:{}]",
        ty.as_str()
    )
}

/// Metadata as the flattened formats (dotenv, INI) write it, with the
/// given encryption rule.
pub fn flat_sample_meta(rule_field: &str, rule: &str) -> crate::document::MetaNode {
    let s = |x: &str| crate::document::MetaNode::Str(x.into());
    crate::document::MetaNode::Map(vec![
        (
            "age".into(),
            crate::document::MetaNode::List(vec![crate::document::MetaNode::Map(vec![
                ("recipient".into(), s("age1test")),
                (
                    "enc".into(),
                    s(
                        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n",
                    ),
                ),
            ])]),
        ),
        ("lastmodified".into(), s("2026-11-22T17:00:13Z")),
        (
            "mac".into(),
            s("ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]"),
        ),
        (rule_field.into(), s(rule)),
        ("version".into(), s("3.11.0")),
    ])
}
