//! Library-level benchmarks: parse + encrypt + render, and parse + decrypt +
//! render, of generated ~3 MB YAML, JSON, TOML and dotenv files (100,000
//! leaves; TOML and dotenv are issue 3's formats).
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

/// The same shape as scripts/gen-bench-file.py's TOML: a table per group.
fn toml_input() -> String {
    let mut s = String::from("# generated benchmark input\n");
    for i in 0..10_000 {
        s.push_str(&format!(
            "\n[group_{i:05}]\nname = \"service-{i:05}.internal.example.com\"\npassword = \"Zk3{i:05}qPw9xT7mLr2vB8nYc\"\n\
port = {}\nratio = 0.{:04}\nenabled = {}\nhosts = [\"h{i}.example.com\", \"h{i}b.example.com\"]\n\
note = \"replica {i} of the primary service\"\nowner = \"team-a@example.com\"\nregion = \"eu-west-1-availability-zone-a\"\n",
            1024 + i % 50_000,
            (i * 7919) % 10_000,
            i % 2 == 0
        ));
    }
    s
}

/// The same shape as scripts/gen-bench-file.py's dotenv: flat lines.
fn env_input() -> String {
    let mut s = String::from("# generated benchmark input\n");
    for i in 0..10_000 {
        s.push_str(&format!(
            "GROUP_{i:05}_NAME=service-{i:05}.internal.example.com\nGROUP_{i:05}_PASSWORD=Zk3{i:05}qPw9xT7mLr2vB8nYc\n\
GROUP_{i:05}_PORT={}\nGROUP_{i:05}_RATIO=0.{:04}\nGROUP_{i:05}_ENABLED={}\n\
GROUP_{i:05}_HOSTS=h{i}.example.com,h{i}b.example.com\nGROUP_{i:05}_NOTE=replica {i} of the primary service\n\
GROUP_{i:05}_OWNER=team-a@example.com\nGROUP_{i:05}_REGION=eu-west-1-availability-zone-a\n",
            1024 + i % 50_000,
            (i * 7919) % 10_000,
            i % 2 == 0
        ));
    }
    s
}

fn input(format: Format) -> String {
    match format {
        Format::Yaml => yaml_input(),
        Format::Json => json_input(),
        Format::Toml => toml_input(),
        Format::Dotenv => env_input(),
        other => unreachable!("no benchmark input for {other:?}"),
    }
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

const FORMATS: [Format; 4] = [Format::Yaml, Format::Json, Format::Toml, Format::Dotenv];

#[divan::bench(args = FORMATS, sample_count = 10)]
fn encrypt_3mb(bencher: divan::Bencher, format: Format) {
    let text = input(format);
    let key = DataKey::generate();
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| encrypt(format, &text, &key));
}

#[divan::bench(args = FORMATS, sample_count = 10)]
fn decrypt_3mb(bencher: divan::Bencher, format: Format) {
    let text = input(format);
    let key = DataKey::generate();
    let encrypted = encrypt(format, &text, &key);
    bencher
        .counter(divan::counter::BytesCount::new(encrypted.len()))
        .bench(|| decrypt(format, &encrypted, &key));
}

/// YAML and JSON a piece at a time on every core (`shroud::stream`), the
/// path the `shroud encrypt`/`decrypt` commands take for files this big.
const STREAMED: [Format; 2] = [Format::Yaml, Format::Json];

#[divan::bench(args = STREAMED, sample_count = 10)]
fn stream_encrypt_3mb(bencher: divan::Bencher, format: Format) {
    let text = input(format);
    let key = DataKey::generate();
    let pieces = shroud::stream::encrypt_pieces(format, &text).expect("the input streams");
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| {
            let mut out = Vec::new();
            shroud::stream::encrypt(
                format,
                &text,
                &pieces,
                &key,
                groups(),
                None,
                &EncryptSettings::default(),
                engine::now_utc(),
                &mut out,
            )
            .unwrap();
            out.len()
        });
}

#[divan::bench(args = STREAMED, sample_count = 10)]
fn stream_decrypt_3mb(bencher: divan::Bencher, format: Format) {
    let key = DataKey::generate();
    let encrypted = encrypt(format, &input(format), &key);
    bencher
        .counter(divan::counter::BytesCount::new(encrypted.len()))
        .bench(|| {
            let d = shroud::stream::Decrypting::new(format, &encrypted)
                .expect("the input streams")
                .unwrap();
            let (texts, _) = d.decrypt(&key, DecryptOptions::default()).unwrap();
            texts.len()
        });
}
