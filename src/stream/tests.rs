//! The stream against the whole-file path, on the Helm corpus (real files,
//! not shroud's), with every root key a piece of its own: the most cuts,
//! so the most chances for a piece to differ from its part of the whole.

use super::*;
use crate::document::{Leaf, LeafKind};
use crate::formats::json::segment as json_segment;
use crate::formats::yaml::segment;

mod json;

fn corpus() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/helm");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("the Helm corpus is in testdata/corpus/helm") {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if let Ok(src) = std::fs::read_to_string(&path) {
            out.push((name, src));
        }
    }
    assert!(out.len() > 300, "only {} corpus files", out.len());
    out
}

/// The corpus, and the same files with every line break CRLF (as on
/// Windows): each piece must then write its new lines with CRLF too.
fn corpus_lf_and_crlf() -> Vec<(String, String)> {
    let lf = corpus();
    let crlf: Vec<(String, String)> = lf
        .iter()
        .filter(|(_, src)| !src.contains('\r'))
        .map(|(name, src)| (format!("{name} (CRLF)"), src.replace('\n', "\r\n")))
        .collect();
    lf.into_iter().chain(crlf).collect()
}

/// Everything a leaf is, with its span made relative to the whole file.
fn described(leaf: &Leaf, shift: usize) -> String {
    let kind = match &leaf.kind {
        LeafKind::Scalar { value, source } => format!(
            "scalar {:?} {:?} {:?}",
            value.value_type(),
            &*crate::value::canonical_text(value),
            source.as_ref().map(|s| s.as_str())
        ),
        LeafKind::Comment(t) => format!("comment {:?}", t.as_str()),
        LeafKind::Structure(s) => format!("structure {s:?}"),
    };
    format!(
        "{:?} depth {} {kind} at {:?}",
        leaf.loc,
        leaf.depth,
        leaf.span.as_ref().map(|s| s.start + shift..s.end + shift)
    )
}

/// A key group that names a recipient; nothing here unwraps it.
fn key_groups() -> Vec<KeyGroup> {
    vec![KeyGroup {
        age: vec![crate::metadata::AgeKey {
            recipient: "age1test".into(),
            enc: "x".into(),
        }],
        other: vec![],
    }]
}

fn settings() -> EncryptSettings {
    EncryptSettings::default()
}

/// The whole-file encryption of `src`.
fn encrypt_whole(src: &str, key: &DataKey) -> String {
    encrypt_whole_as(Format::Yaml, src, key)
}

fn encrypt_whole_as(format: Format, src: &str, key: &DataKey) -> String {
    let doc = format.parse(src).unwrap();
    let out = engine::encrypt(
        doc.as_ref(),
        key,
        key_groups(),
        None,
        &settings(),
        engine::now_utc(),
    )
    .unwrap();
    out.text.to_string()
}

/// The whole-file decryption of `enc`, with `shroud_auth` required.
fn decrypt_whole(enc: &str, key: &DataKey) -> String {
    decrypt_whole_as(Format::Yaml, enc, key)
}

fn decrypt_whole_as(format: Format, enc: &str, key: &DataKey) -> String {
    let doc = format.parse(enc).unwrap();
    let meta = engine::metadata(doc.as_ref()).unwrap();
    let options = DecryptOptions {
        ignore_mac: false,
        require_auth: true,
    };
    let out = engine::decrypt(doc.as_ref(), &meta, key, options).unwrap();
    out.text.to_string()
}

fn encrypt_stream(src: &str, pieces: &[Range<usize>], key: &DataKey) -> Result<String, Error> {
    encrypt_stream_as(Format::Yaml, src, pieces, key)
}

fn encrypt_stream_as(
    format: Format,
    src: &str,
    pieces: &[Range<usize>],
    key: &DataKey,
) -> Result<String, Error> {
    let mut out = Vec::new();
    encrypt(
        format,
        src,
        pieces,
        key,
        key_groups(),
        None,
        &settings(),
        engine::now_utc(),
        &mut out,
    )?;
    Ok(String::from_utf8(out).unwrap())
}

fn decrypt_stream(enc: &str, key: &DataKey, options: DecryptOptions) -> Result<String, Error> {
    decrypt_stream_as(Format::Yaml, enc, key, options)
}

fn decrypt_stream_as(
    format: Format,
    enc: &str,
    key: &DataKey,
    options: DecryptOptions,
) -> Result<String, Error> {
    let pieces = match format {
        Format::Json => json_segment::pieces(enc, 1, Some("sops")),
        _ => segment::pieces(enc, 1, Some("sops")),
    }
    .ok_or_else(|| declined("not cut"))?;
    let d = Decrypting::with_pieces(format, enc, pieces)?;
    let (texts, _) = d.decrypt(key, options)?;
    Ok(String::from_utf8(texts.iter().flat_map(|t| t.iter().copied()).collect()).unwrap())
}

/// Every `ENC[...]` text and the `lastmodified` and `mac` lines masked:
/// what two encryptions of one file share.
fn layout(enc: &str) -> String {
    // `\x45NC[` is how a double-quoted flow scalar spells one.
    let re = regex::Regex::new(r"(ENC|\\x45NC)\[[^\]]*\]").unwrap();
    re.replace_all(enc, "ENC")
        .lines()
        .filter(|l| !l.trim_start().starts_with("lastmodified:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pieces_of_corpus_files_parse_to_the_leaves_of_the_whole_file() {
    let (mut cut, mut compared) = (0, 0);
    for (name, src) in corpus_lf_and_crlf() {
        let Some(pieces) = segment::pieces(&src, 1, None) else {
            continue;
        };
        cut += 1;
        let Ok(whole) = Format::Yaml.parse(&src) else {
            continue;
        };
        let mut joined = Vec::new();
        let mut all_parse = true;
        for r in &pieces {
            match Format::Yaml.parse(&src[r.clone()]) {
                Ok(doc) => joined.extend(doc.leaves().iter().map(|l| described(l, r.start))),
                Err(_) => all_parse = false,
            }
        }
        if !all_parse {
            // The stream declines such a file; nothing to compare.
            continue;
        }
        compared += 1;
        let whole: Vec<String> = whole.leaves().iter().map(|l| described(l, 0)).collect();
        assert_eq!(whole, joined, "{name}");
    }
    // Most Helm values files are block maps at the root.
    assert!(
        cut > 150 && compared == cut,
        "cut {cut}, compared {compared}"
    );
}

#[test]
fn stream_encryption_of_corpus_files_is_the_whole_file_encryption() {
    let key = DataKey::generate();
    let (mut cut, mut streamed) = (0, 0);
    for (name, src) in corpus_lf_and_crlf() {
        let Some(pieces) = segment::pieces(&src, 1, None) else {
            continue;
        };
        cut += 1;
        let Ok(enc) = encrypt_stream(&src, &pieces, &key) else {
            continue;
        };
        streamed += 1;
        // Byte for byte back, with both authenticators checked.
        assert_eq!(decrypt_whole(&enc, &key), src, "{name}");
        // The same layout as the whole-file path writes.
        assert_eq!(layout(&enc), layout(&encrypt_whole(&src, &key)), "{name}");
    }
    // Every file that can be cut streams: no silent fallback.
    assert!(
        cut > 150 && streamed == cut,
        "cut {cut}, streamed {streamed}"
    );
}

#[test]
fn stream_decryption_of_corpus_files_gives_the_original_bytes() {
    let key = DataKey::generate();
    let (mut cut, mut streamed) = (0, 0);
    for (name, src) in corpus_lf_and_crlf() {
        if segment::pieces(&src, 1, None).is_none() {
            continue;
        }
        cut += 1;
        let enc = encrypt_whole(&src, &key);
        let Ok(plain) = decrypt_stream(&enc, &key, DecryptOptions::default()) else {
            continue;
        };
        streamed += 1;
        assert_eq!(plain, src, "{name}");
    }
    // Every file that can be cut streams: no silent fallback.
    assert!(
        cut > 150 && streamed == cut,
        "cut {cut}, streamed {streamed}"
    );
}

/// A file of `n` root keys with a nested map each.
fn groups(n: usize) -> String {
    (0..n)
        .map(|i| format!("g{i}:\n  password: secret-{i}\n  port: {i}\n  on: true\n"))
        .collect()
}

/// The byte range of the value of `field` in root group `group` of `enc`.
fn value_of(enc: &str, group: &str, field: &str) -> Range<usize> {
    let g = enc.find(&format!("\n{group}:\n")).unwrap();
    let at = g + enc[g..].find(&format!("  {field}: ")).unwrap() + field.len() + 4;
    at..at + enc[at..].find('\n').unwrap()
}

#[test]
fn tampering_across_pieces_is_declined_and_left_to_the_whole_file_path() {
    let key = DataKey::generate();
    let src = groups(50);
    let enc = encrypt_whole(&src, &key);
    let declined = |text: &str| {
        matches!(
            decrypt_stream(text, &key, DecryptOptions::default()),
            Err(Error::Declined(_))
        )
    };
    // The untampered file streams.
    assert_eq!(
        decrypt_stream(&enc, &key, DecryptOptions::default()).unwrap(),
        src
    );
    // Two values swapped between pieces: their AAD no longer matches.
    let (a, b) = (value_of(&enc, "g1", "port"), value_of(&enc, "g40", "port"));
    let mut swapped = enc.clone();
    swapped.replace_range(b.clone(), &enc[a.clone()]);
    swapped.replace_range(a, &enc[b]);
    assert!(declined(&swapped));
    // A value removed: the SOPS MAC no longer matches.
    let r = value_of(&enc, "g7", "port");
    let mut removed = enc.clone();
    removed.replace_range(r.start - "  port: ".len()..r.end + 1, "");
    assert!(declined(&removed));
    // A clear value changed: only shroud_auth sees it... after the MAC,
    // which hashes clear values too unless mac_only_encrypted; either way
    // the stream refuses it.
    let mut renamed = enc.clone();
    let g = renamed.find("\ng9:\n").unwrap();
    renamed.replace_range(g + 1..g + 3, "h9");
    assert!(declined(&renamed));
}

#[test]
fn a_duplicate_root_key_in_another_piece_is_declined() {
    let key = DataKey::generate();
    let src = format!("{}g3:\n  x: 1\n", groups(10));
    let pieces = segment::pieces(&src, 1, None).unwrap();
    assert!(matches!(
        encrypt_stream(&src, &pieces, &key),
        Err(Error::Declined(_))
    ));
}

#[test]
fn comment_rules_are_declined() {
    let key = DataKey::generate();
    let src = groups(10);
    let pieces = segment::pieces(&src, 1, None).unwrap();
    let settings = EncryptSettings {
        rule: crate::rules::Rule::from_field("encrypted_comment_regex", "^ sops:enc").unwrap(),
        ..EncryptSettings::default()
    };
    let r = encrypt(
        Format::Yaml,
        &src,
        &pieces,
        &key,
        key_groups(),
        None,
        &settings,
        engine::now_utc(),
        &mut Vec::new(),
    );
    assert!(matches!(r, Err(Error::Declined(_))));
}

#[test]
fn chunk_digests_are_cut_at_the_same_leaves_as_the_whole_file() {
    // More leaves than a shroud_auth chunk holds, over many pieces:
    // decrypting the stream's output whole checks every chunk digest.
    let key = DataKey::generate();
    let src = groups(integrity::LEAVES_PER_CHUNK);
    let pieces = segment::pieces(&src, 1000, None).unwrap();
    assert!(pieces.len() > 10);
    let enc = encrypt_stream(&src, &pieces, &key).unwrap();
    assert_eq!(decrypt_whole(&enc, &key), src);
    assert_eq!(
        decrypt_stream(&enc, &key, DecryptOptions::default()).unwrap(),
        src
    );
}

#[test]
fn key_rules_and_mac_only_encrypted_give_what_the_whole_file_path_verifies() {
    let key = DataKey::generate();
    let src = groups(300);
    let pieces = segment::pieces(&src, 512, None).unwrap();
    for (field, pattern, mac_only) in [
        ("encrypted_regex", "^(password|port)$", false),
        ("encrypted_regex", "^password$", true),
        ("unencrypted_suffix", "on", true),
    ] {
        let settings = EncryptSettings {
            rule: crate::rules::Rule::from_field(field, pattern).unwrap(),
            mac_only_encrypted: mac_only,
            ..EncryptSettings::default()
        };
        let mut out = Vec::new();
        encrypt(
            Format::Yaml,
            &src,
            &pieces,
            &key,
            key_groups(),
            None,
            &settings,
            engine::now_utc(),
            &mut out,
        )
        .unwrap();
        let enc = String::from_utf8(out).unwrap();
        // Only what the rule names is encrypted.
        assert!(enc.contains("  password: ENC["), "{field}");
        assert!(!enc.contains("  on: ENC["), "{field}");
        // The whole-file path checks both MACs over the streamed output.
        assert_eq!(
            decrypt_whole(&enc, &key),
            src,
            "{field} {pattern} {mac_only}"
        );
        assert_eq!(
            decrypt_stream(&enc, &key, DecryptOptions::default()).unwrap(),
            src,
            "{field} {pattern} {mac_only}"
        );
    }
}
