//! Binary files: any file that is not a structured format is stored whole,
//! as SOPS does, as one string `data` in a JSON document with the `sops`
//! block beside it. The plaintext is raw bytes (not necessarily UTF-8), so
//! this store has its own small encrypt/decrypt path over the same cipher,
//! AAD rule and MAC as every other format.

use zeroize::Zeroizing;

use crate::crypto::aad;
use crate::crypto::cipher::{DataKey, Decryptor, EncValue, Encryptor};
use crate::crypto::mac::{self, MacHasher};
use crate::document::{Document, LeafKind, Replacement, Value, ValueType};
use crate::engine::DecryptOptions;
use crate::error::Error;
use crate::formats::json::JsonDocument;
use crate::metadata::{FORMAT_VERSION, KeyGroup, KeyVersion, Metadata};
use crate::rules::Rule;
use crate::value::Timestamp;

/// The key SOPS stores the file under.
const DATA_KEY: &str = "data";

/// The container sops writes, with a placeholder where the data goes.
const TEMPLATE: &str = "{\n\t\"data\": \"-\"\n}\n";

/// Encrypt `bytes` into a SOPS binary-store JSON document, recording `key`
/// as a new data key (version 1, made `now`).
pub fn encrypt(
    bytes: &[u8],
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    now: Timestamp,
) -> Result<Zeroizing<String>, Error> {
    let version = KeyVersion::first(now.to_rfc3339());
    encrypt_with_key_version(bytes, key, key_groups, shamir_threshold, now, Some(version))
}

/// [`encrypt`], recording `key_version` (e.g. the next version at rotation).
pub fn encrypt_with_key_version(
    bytes: &[u8],
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    now: Timestamp,
    key_version: Option<KeyVersion>,
) -> Result<Zeroizing<String>, Error> {
    let path = [DATA_KEY.to_string()];
    // SOPS encrypts the whole file, whatever the rules say, and the MAC is
    // the SHA-512 of the raw bytes.
    let enc = Encryptor::new(key).encrypt(bytes, aad::for_path(&path).as_bytes(), ValueType::Str);
    let mut hasher = MacHasher::new(false);
    hasher.update(bytes);
    let lastmodified = now.to_rfc3339();
    let metadata = Metadata {
        key_groups,
        shamir_threshold,
        // Sealed below: shroud_auth's tag is the MAC's IV.
        mac: String::new(),
        lastmodified,
        rule: Rule::default(),
        mac_only_encrypted: false,
        version: FORMAT_VERSION.to_string(),
        key_version,
    };
    let doc = JsonDocument::parse(TEMPLATE)?;
    // An empty file encrypts to "" (SOPS does not encrypt empty values).
    let edit = if enc.is_empty() {
        Replacement::Decrypted(crate::document::Decrypted::Scalar {
            value: Value::str(""),
            text: Zeroizing::new(String::new()),
        })
    } else {
        Replacement::Encrypted(enc)
    };
    let mut node = metadata.to_node();
    // The binary store writes no encryption rule (sops forces them empty).
    if let crate::document::MetaNode::Map(entries) = &mut node {
        entries.retain(|(k, _)| !crate::rules::RULE_FIELDS.contains(&k.as_str()));
    }
    crate::integrity::seal(
        key,
        doc.leaves(),
        std::slice::from_ref(&edit),
        &mut node,
        &hasher.finish_hex(),
    )?;
    Ok(Zeroizing::new(doc.render(&[edit], Some(&node))?.text))
}

/// Decrypt a SOPS binary-store document (already parsed as JSON) back to
/// the original bytes.
pub fn decrypt(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    options: DecryptOptions,
) -> Result<(Zeroizing<Vec<u8>>, Vec<String>), Error> {
    let mut warnings = Vec::new();
    crate::engine::check_auth(doc, key, options, &mut warnings)?;
    let leaf = doc
        .leaves()
        .iter()
        .find(|l| l.loc.len() == 1 && l.path() == [DATA_KEY])
        .ok_or_else(|| {
            Error::Metadata("a binary file must hold its content under \"data\"".into())
        })?;
    let LeafKind::Scalar {
        value: Value::Str(s),
        ..
    } = &leaf.kind
    else {
        return Err(Error::DecryptValue {
            path: "[\"data\"]".into(),
            reason: "the value is not a string".into(),
        });
    };
    let plain = if s.is_empty() {
        Zeroizing::new(Vec::new())
    } else {
        let fail = |reason: String| Error::DecryptValue {
            path: "[\"data\"]".into(),
            reason,
        };
        let ev =
            EncValue::parse(s).ok_or_else(|| fail("the value is not an ENC[...] value".into()))?;
        Decryptor::new(key)
            .decrypt(&ev, aad::for_path(&leaf.path()).as_bytes())
            .map_err(|e| fail(e.to_string()))?
    };
    let mut hasher = MacHasher::new(false);
    hasher.update(&plain);
    match mac::verify(key, &meta.mac, &meta.lastmodified, &hasher.finish_hex()) {
        Ok(()) => {}
        Err(e) if options.ignore_mac => {
            warnings.push(format!("{e} (ignored because of --ignore-mac)"))
        }
        Err(e) => return Err(e),
    }
    Ok((plain, warnings))
}
