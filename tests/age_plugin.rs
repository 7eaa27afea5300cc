//! The age plugin path, end to end: a recipient `age1shroudtest1…` and an
//! identity `AGE-PLUGIN-SHROUDTEST-1…` handled by a real plugin executable,
//! examples/age-plugin-shroudtest.rs (test-only, no security), put on PATH.
//! `cargo test` builds examples before running tests; when only this test
//! target was built, the test builds the example itself into a separate
//! target folder (the outer cargo holds the lock on the normal one).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require_tool, shroud};

const PLUGIN: &str = "age-plugin-shroudtest";

fn plugin_binary() -> PathBuf {
    // The test runs from target/<profile>/deps; examples sit beside it.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let built = profile_dir.join("examples").join(PLUGIN);
    if built.is_file() {
        return built;
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugin-test");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let o = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--offline", "--example", PLUGIN, "--target-dir"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "building {PLUGIN}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    target.join("debug/examples").join(PLUGIN)
}

/// A bin folder holding only the plugin, and a PATH with it first.
fn path_with_plugin(bin: &Path) -> std::ffi::OsString {
    fs::create_dir_all(bin).unwrap();
    fs::copy(plugin_binary(), bin.join(PLUGIN)).unwrap();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

fn recipient(secret: [u8; 32]) -> String {
    let hrp = bech32::Hrp::parse("age1shroudtest").unwrap();
    bech32::encode::<bech32::Bech32>(hrp, &secret).unwrap()
}

fn identity(secret: [u8; 32]) -> String {
    let hrp = bech32::Hrp::parse("AGE-PLUGIN-SHROUDTEST-").unwrap();
    bech32::encode_upper::<bech32::Bech32>(hrp, &secret).unwrap()
}

#[test]
fn plugin_recipient_and_identity_through_a_real_plugin_binary() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = path_with_plugin(&d.join("bin"));
    let (mine, other) = ([9u8; 32], [4u8; 32]);
    let key_file = d.join("plugin-key.txt");
    fs::write(
        &key_file,
        format!("# test plugin identity\n{}\n", identity(mine)),
    )
    .unwrap();
    let other_key = d.join("other-key.txt");
    fs::write(&other_key, format!("{}\n", identity(other))).unwrap();
    let plain = "db:\n    password: hunter2\n";
    fs::write(d.join("s.yaml"), plain).unwrap();

    let o = shroud(d)
        .env("PATH", &path)
        .current_dir(d)
        .args(["encrypt", "-i", "--age", &recipient(mine), "s.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(d.join("s.yaml")).unwrap();
    assert!(text.contains(&recipient(mine)), "{text}");

    // shroud and the real sops both open it through the plugin.
    let o = shroud(d)
        .env("PATH", &path)
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .args(["decrypt", "s.yaml"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        plain,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = common::isolated(&sops, d)
        .env("PATH", &path)
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .args(["decrypt", "s.yaml"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        plain,
        "sops: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Another plugin identity cannot open it.
    let o = shroud(d)
        .env("PATH", &path)
        .env("SOPS_AGE_KEY_FILE", &other_key)
        .args(["decrypt", "s.yaml"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(128));

    // Without the plugin on PATH, the error says which executable is missing.
    let o = shroud(d)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(d)
        .args([
            "encrypt",
            "--age",
            &recipient(other),
            "--input-type",
            "yaml",
        ])
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(PLUGIN),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
