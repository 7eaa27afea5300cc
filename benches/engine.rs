//! Library-level benchmarks: parse + encrypt + render, and parse + decrypt +
//! render, of a generated ~3 MB YAML (and JSON) file with 100,000 leaves.
//! Run with `cargo bench --bench engine`. Whole-command timings against sops
//! and rops are in scripts/bench.sh; results in docs/benchmarks.md.

use shroud::crypto::DataKey;
use shroud::engine::{self, DecryptOptions, EncryptSettings};
use shroud::formats::Format;
use shroud::metadata::{AgeKey, KeyGroup};

fn main() {
    divan::main();
}

/// The same shape as scripts/gen-bench-file.py: 10,000 groups of 10 leaves.
fn yaml_input() -> String {
    let mut s = String::from("# generated benchmark input\n");
    for i in 0..10_000 {
        s.push_str(&format!(
            "group_{i:05}:\n  name: service-{i:05}.internal.example.com\n  password: Zk3{i:05}qPw9xT7mLr2vB8nYc\n  \
port: {}\n  ratio: 0.{:04}\n  enabled: {}\n  hosts:\n    - h{i}.example.com\n    - h{i}b.example.com\n  \
note: replica {i} of the primary service\n  owner: team-a@example.com\n  region: eu-west-1-availability-zone-a\n",
            1024 + i % 50_000,
            (i * 7919) % 10_000,
            i % 2 == 0
        ));
    }
    s
}

fn json_input() -> String {
    let mut s = String::from("{\n");
    for i in 0..10_000 {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(&format!(
            "  \"group_{i:05}\": {{\n    \"name\": \"service-{i:05}.internal.example.com\",\n    \
\"password\": \"Zk3{i:05}qPw9xT7mLr2vB8nYc\",\n    \"port\": {},\n    \"ratio\": 0.{:04},\n    \
\"enabled\": {},\n    \"hosts\": [\"h{i}.example.com\", \"h{i}b.example.com\"],\n    \
\"note\": \"replica {i}\",\n    \"owner\": \"team-a@example.com\",\n    \"region\": \"eu-west-1\"\n  }}",
            1024 + i % 50_000,
            (i * 7919) % 10_000,
            i % 2 == 0
        ));
    }
    s.push_str("\n}\n");
    s
}

fn groups() -> Vec<KeyGroup> {
    vec![KeyGroup {
        age: vec![AgeKey {
            recipient: "age1bench".into(),
            enc: "-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n"
                .into(),
        }],
        other: vec![],
    }]
}

fn encrypt(format: Format, text: &str, key: &DataKey) -> String {
    let doc = format.parse(text).unwrap();
    let out = engine::encrypt(
        doc.as_ref(),
        key,
        groups(),
        None,
        &EncryptSettings::default(),
        engine::now_utc(),
    )
    .unwrap();
    out.text.to_string()
}

fn decrypt(format: Format, text: &str, key: &DataKey) -> usize {
    let doc = format.parse(text).unwrap();
    let meta = engine::metadata(doc.as_ref()).unwrap();
    engine::decrypt(doc.as_ref(), &meta, key, DecryptOptions::default())
        .unwrap()
        .text
        .len()
}

#[divan::bench(args = [Format::Yaml, Format::Json], sample_count = 10)]
fn encrypt_3mb(bencher: divan::Bencher, format: Format) {
    let text = if format == Format::Yaml {
        yaml_input()
    } else {
        json_input()
    };
    let key = DataKey::generate();
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| encrypt(format, &text, &key));
}

#[divan::bench(args = [Format::Yaml, Format::Json], sample_count = 10)]
fn decrypt_3mb(bencher: divan::Bencher, format: Format) {
    let text = if format == Format::Yaml {
        yaml_input()
    } else {
        json_input()
    };
    let key = DataKey::generate();
    let encrypted = encrypt(format, &text, &key);
    bencher
        .counter(divan::counter::BytesCount::new(encrypted.len()))
        .bench(|| decrypt(format, &encrypted, &key));
}
