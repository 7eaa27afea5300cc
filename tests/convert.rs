//! Converting between formats with --output-type: the result is an
//! ordinary encrypted file of the target format that real sops reads.

mod common;

use std::fs;

use common::{identity_file, recipient, require_tool, shroud};

#[test]
fn toml_converted_to_yaml_decrypts_with_sops_to_the_expected_data() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("converted.enc.yaml");
    let o = shroud(dir.path())
        .args([
            "encrypt",
            "--age",
            &recipient("alice"),
            "--output-type",
            "yaml",
            "--output",
        ])
        .arg(&out)
        .arg(common::testdata("interop/sample.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::isolated(&sops, dir.path())
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["decrypt", "--output-type", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sops: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(common::testdata("interop/sample.toml.expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(got, want);
}

#[test]
fn every_structured_format_converts_into_every_other_and_back() {
    // A flat map of strings: the data every structured format can hold.
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat.json");
    fs::write(&flat, "{\n  \"DB_USER\": \"app\",\n  \"DB_PASSWORD\": \"s3cr3t\\nline2\",\n  \"PORT\": \"5432\"\n}\n").unwrap();
    let want: serde_json::Value = serde_json::from_slice(&fs::read(&flat).unwrap()).unwrap();
    for fmt in ["yaml", "dotenv", "toml", "json"] {
        let enc = dir.path().join(format!("flat.enc.{fmt}"));
        let o = shroud(dir.path())
            .args([
                "encrypt",
                "--age",
                &recipient("alice"),
                "--output-type",
                fmt,
                "--output",
            ])
            .arg(&enc)
            .arg(&flat)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "to {fmt}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = shroud(dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["decrypt", "--input-type", fmt, "--output-type", "json"])
            .arg(&enc)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "from {fmt}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(got, want, "through {fmt}");
    }
}

#[test]
fn data_a_format_cannot_hold_is_refused_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let o = shroud(dir.path())
        .args([
            "encrypt",
            "--age",
            &recipient("alice"),
            "--output-type",
            "dotenv",
        ])
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(r#"["service"]"#) && err.contains("nested"),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "nothing is written");
}
