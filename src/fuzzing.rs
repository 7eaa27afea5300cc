//! Property checks shared by the cargo-fuzz targets in `fuzz/` and the
//! ordinary `cargo test` replay of their corpus (`tests/fuzz_replay.rs`),
//! the proptest round trips and the YAML test suite run.
//!
//! Not part of shroud's interface: it is public only so that those test
//! crates can reach it. Every check *panics* when a property is broken (that
//! is how libFuzzer and the test harness notice) and returns an [`Outcome`]
//! otherwise, so callers can count what happened.
//!
//! The properties, for every input text of a format:
//! 1. parsing never panics; a refusal is a typed error;
//! 2. every leaf span lies inside the input, on `char` boundaries;
//! 3. rendering with every leaf kept (and no metadata) gives back the input
//!    byte for byte;
//! 4. encrypting (with a fixed test data key) either fails with a typed
//!    error, or gives a text that parses again, keeps the same key paths,
//!    and decrypts to the input byte for byte; or, only where docs/format.md
//!    documents that the spelling cannot be kept, to the same data.
//!
//! For the `ENC[...]` codec: parsing never panics, a parsed value prints
//! back to a text that parses to the same value, decrypting any parsed
//! value fails cleanly rather than panicking, and encrypt then decrypt
//! returns the plaintext.

use crate::crypto::cipher::{self, DataKey, EncValue};
use crate::document::{Leaf, LeafKind, Replacement, Value, ValueType};
use crate::engine::{self, DecryptOptions, EncryptSettings};
use crate::error::{Error, FormatError};
use crate::formats::Format;
use crate::metadata::{AgeKey, KeyGroup};
use crate::treepath::PathSeg;
use crate::value::{self, Timestamp};

/// The fixed data key of the checks: a TEST key, bytes 0..32.
pub fn test_key() -> DataKey {
    DataKey::from_bytes(std::array::from_fn(|i| i as u8))
}

/// What a check found, when no property was broken.
#[derive(Debug)]
pub enum Outcome {
    /// The input is not UTF-8 (shroud refuses such files before parsing).
    NotText,
    /// The parser refused the input.
    Rejected(FormatError),
    /// The input parsed, but encrypting it was refused (already encrypted,
    /// a value the format cannot write, ...).
    EncryptRefused(Error),
    /// Encrypt then decrypt gave back the input byte for byte.
    RoundTripped,
    /// Encrypt then decrypt gave other bytes for the same data, for the
    /// documented reason given.
    SameData(&'static str),
}

/// The formats with a fuzz target, by the target's name.
pub const FORMAT_TARGETS: &[(&str, Format)] = &[
    ("yaml", Format::Yaml),
    ("json", Format::Json),
    ("toml", Format::Toml),
    ("dotenv", Format::Dotenv),
    ("ini", Format::Ini),
];

/// Run the check of the fuzz target called `target` (a format name from
/// [`FORMAT_TARGETS`], or `enc`) on `data`.
pub fn check_target(target: &str, data: &[u8]) -> Option<Outcome> {
    if target == "enc" {
        check_enc(data);
        return Some(Outcome::RoundTripped);
    }
    let (_, format) = FORMAT_TARGETS.iter().find(|(n, _)| *n == target)?;
    Some(check_format(*format, data))
}

/// The format properties on raw bytes.
pub fn check_format(format: Format, data: &[u8]) -> Outcome {
    match std::str::from_utf8(data) {
        Ok(src) => check_text(format, src),
        Err(_) => Outcome::NotText,
    }
}

fn check_spans(format: Format, src: &str, leaves: &[Leaf], what: &str) {
    for (i, leaf) in leaves.iter().enumerate() {
        let Some(span) = &leaf.span else { continue };
        assert!(
            span.start <= span.end && span.end <= src.len(),
            "{format} {what}: leaf {i} span {span:?} is outside the input of {} bytes",
            src.len()
        );
        assert!(
            src.is_char_boundary(span.start) && src.is_char_boundary(span.end),
            "{format} {what}: leaf {i} span {span:?} splits a character"
        );
    }
}

/// The format properties on a text.
pub fn check_text(format: Format, src: &str) -> Outcome {
    let doc = match format.parse(src) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(
                !matches!(e, FormatError::SpanCheck(_)),
                "{format}: parsing reported an internal error: {e}"
            );
            return Outcome::Rejected(e);
        }
    };
    check_spans(format, src, doc.leaves(), "input");

    if doc.metadata().is_some() {
        // An encrypted document: rendering without metadata would drop the
        // block, so the identity check does not apply, and it cannot be
        // encrypted again. Decrypting with the wrong key must fail cleanly.
        if let Ok(meta) = engine::metadata(doc.as_ref()) {
            let _ = engine::decrypt(doc.as_ref(), &meta, &test_key(), DecryptOptions::default());
        }
        return Outcome::EncryptRefused(Error::AlreadyEncrypted);
    }

    let keep = vec![Replacement::Keep; doc.leaves().len()];
    match doc.render(&keep, None) {
        Ok(r) => assert!(
            r.text == src,
            "{format}: rendering with every value kept changed the text\n--- input\n{src:?}\n--- output\n{:?}",
            r.text
        ),
        Err(e) => panic!("{format}: rendering with every value kept failed: {e}"),
    }

    let now = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").expect("a valid time");
    let groups = vec![KeyGroup {
        age: vec![AgeKey {
            recipient: "age1fuzztestrecipient".into(),
            enc: "-----BEGIN AGE ENCRYPTED FILE-----\nfuzz\n-----END AGE ENCRYPTED FILE-----\n"
                .into(),
        }],
        other: vec![],
    }];
    let encrypted = match engine::encrypt(
        doc.as_ref(),
        &test_key(),
        groups,
        None,
        &EncryptSettings::default(),
        now,
    ) {
        Ok(out) => out,
        Err(e) => {
            assert!(
                !matches!(e, Error::Format(FormatError::SpanCheck(_))),
                "{format}: encrypting hit an internal span check: {e}\n--- input\n{src:?}"
            );
            return Outcome::EncryptRefused(e);
        }
    };
    let enc_doc = format.parse(&encrypted.text).unwrap_or_else(|e| {
        panic!(
            "{format}: the encrypted output does not parse: {e}\n--- input\n{src:?}\n--- encrypted\n{:?}",
            encrypted.text.as_str()
        )
    });
    check_spans(
        format,
        &encrypted.text,
        enc_doc.leaves(),
        "encrypted output",
    );
    let paths = |leaves: &[Leaf]| -> Vec<(Vec<String>, bool)> {
        leaves
            .iter()
            .filter(|l| !matches!(l.kind, LeafKind::Structure(_)))
            .map(|l| (l.path().to_vec(), l.is_comment()))
            .collect()
    };
    assert_eq!(
        paths(doc.leaves()),
        paths(enc_doc.leaves()),
        "{format}: the encrypted output has other key paths than the input\n--- input\n{src:?}"
    );
    let meta = engine::metadata(enc_doc.as_ref()).unwrap_or_else(|e| {
        panic!("{format}: the metadata written by encrypt does not read back: {e}")
    });
    let decrypted = engine::decrypt(
        enc_doc.as_ref(),
        &meta,
        &test_key(),
        DecryptOptions::default(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{format}: the encrypted output does not decrypt: {e}\n--- input\n{src:?}\n--- encrypted\n{:?}",
            encrypted.text.as_str()
        )
    });
    if decrypted.text.as_str() == src {
        return Outcome::RoundTripped;
    }
    // Only the documented exceptions (docs/format.md) may change bytes, and
    // then the data must still be the same.
    let Some(reason) = lossy_reason(format, src, doc.leaves()) else {
        panic!(
            "{format}: encrypt then decrypt changed the text\n--- input\n{src:?}\n--- decrypted\n{:?}",
            decrypted.text.as_str()
        );
    };
    let again = format.parse(&decrypted.text).unwrap_or_else(|e| {
        panic!(
            "{format}: the decrypted text does not parse: {e}\n--- input\n{src:?}\n--- decrypted\n{:?}",
            decrypted.text.as_str()
        )
    });
    assert_eq!(
        data_of(doc.leaves()),
        data_of(again.leaves()),
        "{format}: encrypt then decrypt changed the data ({reason})\n--- input\n{src:?}\n--- decrypted\n{:?}",
        decrypted.text.as_str()
    );
    Outcome::SameData(reason)
}

/// Why a round trip of this input may give back other bytes for the same
/// data: a documented exception, or `None`.
pub fn lossy_reason(format: Format, src: &str, leaves: &[Leaf]) -> Option<&'static str> {
    if format == Format::Yaml {
        return crate::formats::yaml::YamlDocument::parse(src)
            .ok()
            .and_then(|d| d.lossy_reason());
    }
    leaves.iter().find_map(|l| match &l.kind {
        // JSON and TOML write decrypted strings with minimal escapes.
        LeafKind::Scalar {
            value: Value::Str(_),
            ..
        } if matches!(format, Format::Json | Format::Toml)
            && l.span
                .as_ref()
                .is_some_and(|s| src[s.clone()].contains('\\')) =>
        {
            Some("string escapes are written minimally")
        }
        // TOML writes a tab in a one-line string as `\t`.
        LeafKind::Scalar {
            value: Value::Str(_),
            ..
        } if format == Format::Toml
            && l.span
                .as_ref()
                .is_some_and(|s| src[s.clone()].contains('\t')) =>
        {
            Some("tabs in one-line strings are written as \\t")
        }
        LeafKind::Scalar { value, source } if !matches!(value, Value::Str(_)) => {
            let src_text = source.as_ref().map(|s| s.as_str()).unwrap_or("");
            (*value::plaintext_for(value, Some(src_text)) != *src_text)
                .then_some("a number or time spelling SOPS reads differently")
        }
        _ => None,
    })
}

/// The data of a document, in a comparable form: each leaf's location and
/// its value's SOPS text (and type), comment text, or shape.
pub fn data_of(leaves: &[Leaf]) -> Vec<(Vec<PathSeg>, String)> {
    leaves
        .iter()
        .map(|l| {
            let v = match &l.kind {
                LeafKind::Scalar { value, .. } => format!(
                    "{}:{}",
                    value.value_type().as_str(),
                    &*value::canonical_text(value)
                ),
                LeafKind::Comment(c) => format!("#{}", c.as_str()),
                LeafKind::Structure(s) => format!("{s:?}"),
            };
            (l.loc.clone(), v)
        })
        .collect()
}

/// The `ENC[...]` codec properties. The input is split as: first byte
/// picks the value type, the rest up to the first NUL is an `ENC[...]`
/// candidate text, what follows is a plaintext to round-trip.
pub fn check_enc(data: &[u8]) {
    const TYPES: [ValueType; 6] = [
        ValueType::Str,
        ValueType::Int,
        ValueType::Float,
        ValueType::Bool,
        ValueType::Time,
        ValueType::Comment,
    ];
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let ty = TYPES[first as usize % TYPES.len()];
    let (text, plain) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let key = test_key();

    if let Ok(text) = std::str::from_utf8(text) {
        let parsed = EncValue::parse(text);
        if let Some(ev) = &parsed {
            // Whatever parsed must fail to decrypt cleanly (or decrypt).
            let _ = cipher::decrypt(&key, ev, b"a:");
            if ev.value_type().is_some() {
                let again = EncValue::parse(&ev.to_text());
                assert_eq!(
                    again.as_ref(),
                    Some(ev),
                    "ENC value does not read back after printing: {text:?}"
                );
            }
        }
        // Anything with the SOPS prefix that parses must carry one.
        if parsed.is_some() {
            assert!(EncValue::looks_encrypted(text));
        }
    }

    let aad: &[u8] = if plain.len().is_multiple_of(2) {
        b"a:b:"
    } else {
        b""
    };
    let text = cipher::encrypt(&key, plain, aad, ty);
    if plain.is_empty() {
        // SOPS never encrypts an empty value.
        assert!(text.is_empty(), "an empty plaintext was encrypted");
        return;
    }
    let ev = EncValue::parse(&text)
        .unwrap_or_else(|| panic!("an encrypted value does not parse: {text:?}"));
    assert_eq!(ev.value_type(), Some(ty), "the type changed: {text:?}");
    let back = cipher::decrypt(&key, &ev, aad)
        .unwrap_or_else(|e| panic!("an encrypted value does not decrypt: {e}"));
    assert_eq!(
        back.as_slice(),
        plain,
        "encrypt then decrypt changed the bytes"
    );
    assert!(
        cipher::decrypt(&key, &ev, b"other:").is_err(),
        "a value decrypted under another AAD"
    );
}
