//! Encryption, decryption and the MAC, written once over the leaves of any
//! format (see [`crate::document`]), and shroud's own authenticator,
//! `shroud_auth` ([`crate::integrity`]): sealed on every write, checked
//! after the MAC on every read.
//!
//! The engine never touches text: a format parses, the engine decides what
//! each leaf becomes, and the format splices. It does not know about age
//! either: the caller wraps the data key ([`crate::keys`]) and hands the
//! resulting key groups in, or unwraps it and hands the data key in.

use zeroize::Zeroizing;

use crate::crypto::aad;
use crate::crypto::cipher::{DataKey, Decryptor, EncValue, Encryptor, Opened};
use crate::crypto::mac::{self, MacHasher};
use crate::document::{
    Decrypted, Document, Leaf, LeafKind, MetaNode, Replacement, Value, ValueType,
};
use crate::error::{Error, display_path};
use crate::metadata::{FORMAT_VERSION, KeyGroup, Metadata};
use crate::rules::{CommentStack, Rule};
use crate::value::{self, Timestamp};

/// The IVs of the values a file held when it was decrypted, so that
/// re-encrypting after an edit keeps the ciphertext of every value whose
/// path, type and plaintext did not change: git then shows only the lines
/// that really changed. Entries are keyed by a SHA-256 of (AAD, type,
/// plaintext), so no plaintext is kept here, and each IV is used at most
/// once, so two equal values never come to share an IV.
#[derive(Default)]
pub struct IvStash {
    ivs: std::collections::HashMap<[u8; 32], std::collections::VecDeque<[u8; 32]>>,
    /// A plain decrypt or encrypt has nothing to remember: no hashing.
    off: bool,
}

impl IvStash {
    /// A stash that records and returns nothing.
    pub(crate) fn off() -> IvStash {
        IvStash {
            off: true,
            ..IvStash::default()
        }
    }

    fn key(aad: &str, ty: ValueType, plaintext: &[u8]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update((aad.len() as u64).to_le_bytes());
        h.update(aad.as_bytes());
        h.update(ty.as_str().as_bytes());
        h.update([0]);
        h.update(plaintext);
        h.finalize().into()
    }

    /// Only 32-byte IVs (all SOPS writes) are kept for reuse.
    fn record(&mut self, aad: &str, ty: ValueType, plaintext: &[u8], iv: Option<[u8; 32]>) {
        if self.off {
            return;
        }
        if let Some(iv) = iv {
            let queue = self.ivs.entry(Self::key(aad, ty, plaintext)).or_default();
            // The same ciphertext seen twice (in both sides of a merge, or
            // copied within a file) still gives its IV out only once.
            if !queue.contains(&iv) {
                queue.push_back(iv);
            }
        }
    }

    fn take(&mut self, aad: &str, ty: ValueType, plaintext: &[u8]) -> Option<[u8; 32]> {
        if self.off || self.ivs.is_empty() {
            return None;
        }
        self.ivs
            .get_mut(&Self::key(aad, ty, plaintext))?
            .pop_front()
    }
}

/// How a new file is encrypted.
#[derive(Clone, Debug, Default)]
pub struct EncryptSettings {
    pub rule: Rule,
    /// Hash only encrypted values into the MAC (SOPS `mac_only_encrypted`).
    pub mac_only_encrypted: bool,
    /// The data key's version to record; `None` writes none.
    pub key_version: Option<crate::metadata::KeyVersion>,
}

/// The result of an engine run: the new text and what the user should hear.
pub struct Output {
    pub text: Zeroizing<String>,
    pub warnings: Vec<String>,
}

/// The current time as SOPS writes `lastmodified`: UTC, whole seconds.
pub fn now_utc() -> Timestamp {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    Timestamp::new(
        now.year().into(),
        now.month() as u32,
        now.day() as u32,
        now.hour() as u32,
        now.minute() as u32,
        now.second() as u32,
        0,
        0,
    )
    .expect("the clock gives a valid date")
}

/// Encrypt a plaintext document under `key`, whose wrapped forms are
/// `key_groups`.
pub fn encrypt(
    doc: &dyn Document,
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
) -> Result<Output, Error> {
    encrypt_with_stash(
        doc,
        key,
        key_groups,
        shamir_threshold,
        settings,
        now,
        &mut IvStash::off(),
    )
}

/// [`encrypt`], reusing the IVs in `stash` for unchanged values (`edit`).
pub fn encrypt_with_stash(
    doc: &dyn Document,
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
    stash: &mut IvStash,
) -> Result<Output, Error> {
    let enc = encrypt_edits(doc, key, key_groups, shamir_threshold, settings, now, stash)?;
    let rendered = doc.render(&enc.edits, Some(&enc.metadata))?;
    Ok(Output {
        text: Zeroizing::new(rendered.text),
        warnings: rendered.warnings,
    })
}

/// What encrypting a document decided, before any text is produced: one
/// replacement per leaf and the new metadata block. [`Document::plan`]
/// turns it into output that can be written without assembling it first.
pub struct Encrypted {
    pub edits: Vec<Replacement>,
    pub metadata: MetaNode,
}

/// [`encrypt`] without rendering: the caller plans and writes the output
/// ([`Document::plan`]), so the encrypted text is never held whole.
pub fn encrypt_parts(
    doc: &dyn Document,
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
) -> Result<Encrypted, Error> {
    encrypt_edits(
        doc,
        key,
        key_groups,
        shamir_threshold,
        settings,
        now,
        &mut IvStash::off(),
    )
}

/// What the first, in-order pass over a document to encrypt decides:
/// which leaves get encrypted, the IVs kept from before an edit, and the
/// SOPS MAC (hex).
pub(crate) struct FirstPass {
    pub todo: Vec<bool>,
    pub kept_ivs: std::collections::HashMap<usize, [u8; 32]>,
    pub mac_hex: String,
}

/// The rules (which depend on the comments above a value) and the MAC, in
/// order. `todo[i]` says leaf i gets encrypted; an IV kept from before an
/// edit goes in `kept_ivs`.
pub(crate) fn first_pass(
    leaves: &[Leaf],
    settings: &EncryptSettings,
    stash: &mut IvStash,
) -> FirstPass {
    let mut hasher = MacHasher::new(settings.mac_only_encrypted);
    let (todo, kept_ivs) = first_pass_with(leaves, settings, stash, &mut |b| hasher.update(b));
    FirstPass {
        todo,
        kept_ivs,
        mac_hex: hasher.finish_hex(),
    }
}

/// [`first_pass`] handing what the SOPS MAC hashes to `mac`, in order,
/// rather than hashing it (a piece of a document streamed on another
/// thread, see [`crate::stream`]).
pub(crate) fn first_pass_with(
    leaves: &[Leaf],
    settings: &EncryptSettings,
    stash: &mut IvStash,
    mac: &mut dyn FnMut(&[u8]),
) -> (Vec<bool>, std::collections::HashMap<usize, [u8; 32]>) {
    let mut stack = CommentStack::default();
    // First pass, in order: the rules (which depend on the comments above a
    // value) and the MAC. `todo[i]` says leaf i gets encrypted; an IV kept
    // from before an edit goes in `kept_ivs`.
    let mut todo = vec![false; leaves.len()];
    let mut kept_ivs: std::collections::HashMap<usize, [u8; 32]> = Default::default();
    let mut aad = String::new();
    for (i, leaf) in leaves.iter().enumerate() {
        if matches!(leaf.kind, LeafKind::Structure(_)) {
            continue;
        }
        stack.enter(leaf.depth);
        let plaintext = match &leaf.kind {
            LeafKind::Structure(_) => continue,
            LeafKind::Comment(text) => {
                stack.push_comment(leaf.depth, text);
                if text.is_empty() || !settings.rule.should_encrypt(&leaf.path(), &stack, true) {
                    continue;
                }
                (value::Text::Borrowed(text.as_str()), ValueType::Comment)
            }
            LeafKind::Scalar { value, source } => {
                let encrypt = settings.rule.should_encrypt(&leaf.path(), &stack, false);
                stack.finish_item(leaf.depth);
                if encrypt || !settings.mac_only_encrypted {
                    mac(value::canonical_text(value).as_bytes());
                }
                // Only a string can have an empty plaintext; the second pass
                // skips any other empty one too, so this is just a shortcut.
                if !encrypt || matches!(value, Value::Str(s) if s.is_empty()) {
                    continue;
                }
                if stash.off {
                    // The plaintext (which may mean parsing the source
                    // token) is worked out once, in the second pass.
                    todo[i] = true;
                    continue;
                }
                (
                    value::plaintext_text(value, source.as_ref().map(|s| s.as_str())),
                    value.value_type(),
                )
            }
        };
        if plaintext.0.is_empty() {
            continue;
        }
        todo[i] = true;
        if !stash.off {
            aad::write_for_path(&leaf.path(), &mut aad);
            if let Some(iv) = stash.take(&aad, plaintext.1, plaintext.0.as_bytes()) {
                kept_ivs.insert(i, iv);
            }
        }
    }

    (todo, kept_ivs)
}

/// The `ENC[...]` text of leaf `leaf` (which the first pass marked), or
/// `None` when it has nothing to encrypt. `aad` is scratch space.
pub(crate) fn encrypt_leaf(
    enc: &mut Encryptor,
    aad: &mut String,
    leaf: &Leaf,
    kept_iv: Option<&[u8; 32]>,
) -> Option<String> {
    let (plaintext, ty) = match &leaf.kind {
        LeafKind::Comment(text) => (value::Text::Borrowed(text.as_str()), ValueType::Comment),
        LeafKind::Scalar { value, source } => (
            value::plaintext_text(value, source.as_ref().map(|s| s.as_str())),
            value.value_type(),
        ),
        LeafKind::Structure(_) => return None,
    };
    if plaintext.is_empty() {
        return None;
    }
    aad::write_for_path(&leaf.path(), aad);
    let (bytes, aad) = (plaintext.as_bytes(), aad.as_bytes());
    Some(match kept_iv {
        Some(iv) => enc.encrypt_with_iv(bytes, aad, ty, iv),
        None => enc.encrypt(bytes, aad, ty),
    })
}

/// The metadata of a new encrypted file, before sealing (`mac` empty).
pub(crate) fn new_metadata(
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
) -> MetaNode {
    Metadata {
        key_groups,
        shamir_threshold,
        lastmodified: now.to_rfc3339(),
        // Sealed later: shroud_auth's tag is the MAC's IV.
        mac: String::new(),
        rule: settings.rule.clone(),
        mac_only_encrypted: settings.mac_only_encrypted,
        version: FORMAT_VERSION.to_string(),
        key_version: settings.key_version.clone(),
    }
    .to_node()
}

/// The second pass: the cryptography, which depends on nothing but the
/// leaf, split across the cores. Each thread has its own IV source.
pub(crate) fn encrypt_all(
    key: &DataKey,
    leaves: &[Leaf],
    todo: &[bool],
    kept_ivs: &std::collections::HashMap<usize, [u8; 32]>,
) -> Vec<Replacement> {
    let mut edits = vec![Replacement::Keep; leaves.len()];
    crate::par::for_each_chunk(&mut edits, |first, chunk| {
        let mut enc = Encryptor::new(key);
        let mut aad = String::new();
        for (j, edit) in chunk.iter_mut().enumerate() {
            let i = first + j;
            if !todo[i] {
                continue;
            }
            let kept = if kept_ivs.is_empty() {
                None
            } else {
                kept_ivs.get(&i)
            };
            if let Some(text) = encrypt_leaf(&mut enc, &mut aad, &leaves[i], kept) {
                *edit = Replacement::Encrypted(text);
            }
        }
    });
    edits
}

fn encrypt_edits(
    doc: &dyn Document,
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
    stash: &mut IvStash,
) -> Result<Encrypted, Error> {
    if doc.metadata().is_some() {
        return Err(Error::AlreadyEncrypted);
    }
    let leaves = doc.leaves();
    let FirstPass {
        todo,
        kept_ivs,
        mac_hex,
    } = first_pass(leaves, settings, stash);

    let edits = encrypt_all(key, leaves, &todo, &kept_ivs);

    let mut node = new_metadata(key_groups, shamir_threshold, settings, now);
    crate::integrity::seal(key, doc.leaves(), &edits, &mut node, &mac_hex)?;
    Ok(Encrypted {
        edits,
        metadata: node,
    })
}

/// Write `metadata` over the metadata of an encrypted document, keeping
/// every value as it is (`updatekeys`), with a fresh `shroud_auth` (the
/// stored MAC sealed again with the new tag as its IV). Check the document
/// first ([`decrypt_leaves`], without `--ignore-mac`): sealing a tampered
/// file would make the tampering look authentic.
pub fn rewrite_metadata(
    doc: &dyn Document,
    key: &DataKey,
    metadata: &Metadata,
) -> Result<Output, Error> {
    let keep = vec![Replacement::Keep; doc.leaves().len()];
    let mut node = metadata.to_node();
    crate::integrity::reseal(key, doc.leaves(), &keep, &mut node)?;
    let rendered = doc.render(&keep, Some(&node))?;
    Ok(Output {
        text: Zeroizing::new(rendered.text),
        warnings: rendered.warnings,
    })
}

/// Check `shroud_auth` (see [`crate::integrity`]): a mismatch is an error
/// unless `ignore_mac`, a missing one a warning unless `require_auth`.
pub fn check_auth(
    doc: &dyn Document,
    key: &DataKey,
    options: DecryptOptions,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let node = doc.metadata().ok_or(Error::NotEncrypted)?;
    judge_auth(
        crate::integrity::verify(key, doc.leaves(), node),
        options,
        warnings,
    )
}

/// What the outcome of a `shroud_auth` check means for a read with
/// `options` (see [`check_auth`]).
pub(crate) fn judge_auth(
    status: Result<crate::integrity::Status, Error>,
    options: DecryptOptions,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    match status {
        Ok(crate::integrity::Status::Valid) => Ok(()),
        Ok(crate::integrity::Status::Absent) if options.require_auth && !options.ignore_mac => {
            Err(crate::integrity::absent_error())
        }
        Ok(crate::integrity::Status::Absent) => {
            warnings.push(crate::integrity::ABSENT_WARNING.to_string());
            Ok(())
        }
        Err(e) if options.ignore_mac => {
            warnings.push(format!("{e} (ignored because of --ignore-mac)"));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Read the metadata of an encrypted document.
pub fn metadata(doc: &dyn Document) -> Result<Metadata, Error> {
    Metadata::from_node(doc.metadata().ok_or(Error::NotEncrypted)?)
}

#[derive(Clone, Copy, Debug, Default)]
pub struct DecryptOptions {
    /// Decrypt even when the MAC does not match (SOPS `--ignore-mac`).
    /// Also skips `shroud_auth`.
    pub ignore_mac: bool,
    /// Refuse a file without `shroud_auth` (`--strict`) instead of warning.
    pub require_auth: bool,
}

/// Decrypt every leaf: the replacements a format renders, and warnings.
pub fn decrypt_leaves(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    options: DecryptOptions,
) -> Result<(Vec<Replacement>, Vec<String>), Error> {
    decrypt_leaves_with_stash(doc, meta, key, options, &mut IvStash::off())
}

/// [`decrypt_leaves`], recording each value's IV in `stash`.
pub fn decrypt_leaves_with_stash(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    options: DecryptOptions,
    stash: &mut IvStash,
) -> Result<(Vec<Replacement>, Vec<String>), Error> {
    let mut hasher = MacHasher::new(meta.mac_only_encrypted);
    let mut warnings = Vec::new();
    let edits = decrypt_pass(
        doc.leaves(),
        meta,
        key,
        stash,
        &mut |b| hasher.update(b),
        &mut warnings,
    )?;
    let computed = hasher.finish_hex();
    match mac::verify(key, &meta.mac, &meta.lastmodified, &computed) {
        Ok(()) => {}
        Err(e) if options.ignore_mac => {
            warnings.push(format!("{e} (ignored because of --ignore-mac)"))
        }
        Err(e) => return Err(e),
    }
    // Last, so that a failure names the most specific cause: a value that
    // does not decrypt (25, with its path), values that do not match the
    // SOPS MAC (51), then what only shroud_auth covers (51). Nothing is
    // returned before all three pass.
    check_auth(doc, key, options, &mut warnings)?;
    Ok((edits, warnings))
}

/// Decrypt `leaves` (the whole document, or a piece of it that starts at
/// a root key, see [`crate::stream`]): one replacement per leaf. What the
/// SOPS MAC hashes goes to `mac`, in order; checking it is the caller's.
pub(crate) fn decrypt_pass(
    leaves: &[Leaf],
    meta: &Metadata,
    key: &DataKey,
    stash: &mut IvStash,
    mac: &mut dyn FnMut(&[u8]),
    warnings: &mut Vec<String>,
) -> Result<Vec<Replacement>, Error> {
    // A window of leaves at a time: first, split across the cores, open
    // every value and comment in it that looks encrypted (`open_window`);
    // then, in order, decide what each leaf becomes. Which values the rules
    // really mark as encrypted can depend on decrypted comments above them,
    // so that is decided in the ordered pass; a value opened that turns out
    // to be clear is just dropped. Windows keep the opened values of only
    // part of the file in memory at once.
    let mut opened: Vec<Option<Opened<'_>>> = Vec::new();

    let mut stack = CommentStack::default();
    let mut edits = Vec::with_capacity(leaves.len());
    let mut aad = String::new();

    for (i, leaf) in leaves.iter().enumerate() {
        if i % DECRYPT_WINDOW == 0 {
            let end = leaves.len().min(i + DECRYPT_WINDOW);
            open_window(key, &leaves[i..end], &mut opened);
        }
        let opened = opened[i % DECRYPT_WINDOW].take();
        if matches!(leaf.kind, LeafKind::Structure(_)) {
            edits.push(Replacement::Keep);
            continue;
        }
        stack.enter(leaf.depth);
        if !stash.off {
            aad::write_for_path(&leaf.path(), &mut aad);
        }
        let edit = match &leaf.kind {
            LeafKind::Structure(_) => Replacement::Keep,
            LeafKind::Comment(text) => match opened {
                // Comments are decrypted when they look encrypted; one that
                // does not open is kept as it is, as SOPS does (old files
                // had clear comments).
                Some(ev) => match ev.plain {
                    Ok(plain) => {
                        stash.record(&aad, ValueType::Comment, &plain, ev.iv);
                        let plain = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
                        stack.push_comment(leaf.depth, &plain);
                        Replacement::Decrypted(Decrypted::Comment(plain))
                    }
                    Err(_) => {
                        warnings.push(format!(
                            "a comment in {} could not be decrypted and was kept as it is",
                            display_path(&leaf.path())
                        ));
                        stack.push_comment(leaf.depth, text);
                        Replacement::Keep
                    }
                },
                None => {
                    stack.push_comment(leaf.depth, text);
                    Replacement::Keep
                }
            },
            LeafKind::Scalar { value, .. } => {
                let encrypted = meta.rule.should_encrypt(&leaf.path(), &stack, false);
                stack.finish_item(leaf.depth);
                match (encrypted, value) {
                    (true, Value::Str(s)) if s.is_empty() => Replacement::Keep,
                    (true, Value::Str(_)) => {
                        let fail = |reason: String| Error::DecryptValue {
                            path: display_path(&leaf.path()),
                            reason,
                        };
                        let ev = opened.ok_or_else(|| {
                            fail(
                                "the value should be encrypted but is not an ENC[...] value".into(),
                            )
                        })?;
                        let ty = ValueType::parse(ev.ty)
                            .ok_or_else(|| fail(format!("unknown value type {:?}", ev.ty)))?;
                        let mut plain = ev.plain.map_err(|e| fail(e.to_string()))?;
                        stash.record(&aad, ty, &plain, ev.iv);
                        let text = Zeroizing::new(
                            String::from_utf8(std::mem::take(&mut *plain))
                                .map_err(|_| fail("the plaintext is not UTF-8".into()))?,
                        );
                        if ty == ValueType::Comment {
                            // SOPS writes comments inside YAML lists as list
                            // items; they are comments, outside the MAC.
                            Replacement::Decrypted(Decrypted::Comment(text))
                        } else {
                            let value = value::parse_plaintext(ty, &text).map_err(fail)?;
                            mac(value::canonical_text(&value).as_bytes());
                            Replacement::Decrypted(Decrypted::Scalar { value, text })
                        }
                    }
                    (true, _) => {
                        return Err(Error::DecryptValue {
                            path: display_path(&leaf.path()),
                            reason: "the value should be encrypted but is not an ENC[...] value"
                                .into(),
                        });
                    }
                    (false, value) => {
                        if !meta.mac_only_encrypted {
                            mac(value::canonical_text(value).as_bytes());
                        }
                        Replacement::Keep
                    }
                }
            }
        };
        edits.push(edit);
    }
    Ok(edits)
}

/// How many leaves [`decrypt_leaves`] opens at once: enough for every core
/// to get a few thousand, small enough that the opened values of a big
/// file are never all held at once.
const DECRYPT_WINDOW: usize = 16 * 1024;

/// Open (decrypt and authenticate) every leaf of `window` that looks
/// encrypted, into `opened[i]` for `window[i]`, split across the cores.
fn open_window<'a>(key: &DataKey, window: &'a [Leaf], opened: &mut Vec<Option<Opened<'a>>>) {
    opened.clear();
    opened.resize_with(window.len(), || None);
    crate::par::for_each_chunk(opened, |first, chunk| {
        let dec = Decryptor::new(key);
        let mut aad = String::new();
        for (j, slot) in chunk.iter_mut().enumerate() {
            let leaf = &window[first + j];
            let text = match &leaf.kind {
                LeafKind::Comment(text) => text.as_str(),
                LeafKind::Scalar {
                    value: Value::Str(s),
                    ..
                } => s.as_str(),
                _ => continue,
            };
            if EncValue::looks_encrypted(text) {
                aad::write_for_path(&leaf.path(), &mut aad);
                *slot = dec.open(text, aad.as_bytes());
            }
        }
    });
}

/// Decrypt a document to its plaintext text.
pub fn decrypt(
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
    options: DecryptOptions,
) -> Result<Output, Error> {
    let (edits, mut warnings) = decrypt_leaves(doc, meta, key, options)?;
    let rendered = doc.render(&edits, None)?;
    warnings.extend(rendered.warnings);
    Ok(Output {
        text: Zeroizing::new(rendered.text),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::crypto::cipher;
    use crate::document::Rendered;
    use crate::error::FormatError;
    use crate::metadata::AgeKey;

    /// A document given directly as leaves; render records what it was told.
    struct FakeDoc {
        leaves: Vec<Leaf>,
        metadata: Option<MetaNode>,
        rendered: RefCell<Option<(Vec<Replacement>, Option<MetaNode>)>>,
    }

    impl Document for FakeDoc {
        fn leaves(&self) -> &[Leaf] {
            &self.leaves
        }
        fn metadata(&self) -> Option<&MetaNode> {
            self.metadata.as_ref()
        }
        fn render(
            &self,
            edits: &[Replacement],
            metadata: Option<&MetaNode>,
        ) -> Result<Rendered, FormatError> {
            *self.rendered.borrow_mut() = Some((edits.to_vec(), metadata.cloned()));
            Ok(Rendered::default())
        }
    }

    fn leaf(path: &[&str], depth: usize, kind: LeafKind) -> Leaf {
        let loc = path
            .iter()
            .map(|k| crate::treepath::PathSeg::Key(k.to_string()))
            .collect();
        Leaf::new(loc, depth, kind, Some(0..0))
    }

    fn scalar(v: Value, source: Option<&str>) -> LeafKind {
        LeafKind::Scalar {
            value: v,
            source: source.map(|s| Zeroizing::new(s.to_string())),
        }
    }

    /// The spec's Appendix A document: a top comment, a.b: hello, n: 42,
    /// l: [true], x_unencrypted: plain.
    fn appendix_a() -> Vec<Leaf> {
        vec![
            leaf(
                &[],
                0,
                LeafKind::Comment(Zeroizing::new(" a comment".into())),
            ),
            leaf(&["a", "b"], 1, scalar(Value::str("hello"), None)),
            leaf(&["n"], 0, scalar(Value::Int(42), Some("42"))),
            leaf(&["l"], 1, scalar(Value::Bool(true), Some("true"))),
            leaf(&["x_unencrypted"], 0, scalar(Value::str("plain"), None)),
        ]
    }

    fn key() -> DataKey {
        DataKey::from_bytes(std::array::from_fn(|i| i as u8))
    }

    fn groups() -> Vec<KeyGroup> {
        vec![KeyGroup {
            age: vec![AgeKey {
                recipient: "age1test".into(),
                enc: "x".into(),
            }],
            other: vec![],
        }]
    }

    /// Encrypt `leaves` and return the encrypted document, as a parser
    /// would see the output.
    fn encrypt_fake(leaves: Vec<Leaf>, settings: &EncryptSettings) -> FakeDoc {
        let doc = FakeDoc {
            leaves: leaves.clone(),
            metadata: None,
            rendered: RefCell::new(None),
        };
        encrypt(
            &doc,
            &key(),
            groups(),
            None,
            settings,
            Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
        )
        .unwrap();
        let (edits, meta) = doc.rendered.into_inner().unwrap();
        let leaves = leaves
            .into_iter()
            .zip(edits)
            .map(|(mut l, e)| {
                if let Replacement::Encrypted(enc) = e {
                    l.kind = match l.kind {
                        LeafKind::Comment(_) => LeafKind::Comment(Zeroizing::new(enc)),
                        LeafKind::Scalar { .. } => scalar(Value::str(enc), None),
                        LeafKind::Structure(s) => LeafKind::Structure(s),
                    };
                }
                l
            })
            .collect();
        FakeDoc {
            leaves,
            metadata: meta,
            rendered: RefCell::new(None),
        }
    }

    #[test]
    fn appendix_a_mac_and_round_trip() {
        let enc = encrypt_fake(appendix_a(), &EncryptSettings::default());
        let meta = metadata(&enc).unwrap();
        // The MAC decrypts to the spec's SHA-512 of hello, 42, True, plain.
        let mac = cipher::decrypt(
            &key(),
            &EncValue::parse(&meta.mac).unwrap(),
            b"2024-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(mac.to_vec()).unwrap(),
            "3005D18BB8831328815C7DB635B4F45A310616801748EBE80138E60031686BB8D2E2BC15A342B5A83D53246743DA247BF784CBFDFDB1DAF8DCFC9F3F542F3CFF"
        );
        // The suffix rule left x_unencrypted alone; everything else is ENC.
        assert!(
            matches!(&enc.leaves[4].kind, LeafKind::Scalar { value: Value::Str(s), .. } if s.as_str() == "plain")
        );
        let (edits, warnings) =
            decrypt_leaves(&enc, &meta, &key(), DecryptOptions::default()).unwrap();
        assert!(warnings.is_empty());
        let texts: Vec<String> = edits
            .iter()
            .map(|e| match e {
                Replacement::Decrypted(Decrypted::Scalar { text, .. }) => text.to_string(),
                Replacement::Decrypted(Decrypted::Comment(t)) => t.to_string(),
                Replacement::Keep => "<keep>".into(),
                Replacement::Encrypted(_) => unreachable!(),
            })
            .collect();
        // The bool keeps its source spelling `true` (Go's ParseBool reads it).
        assert_eq!(texts, [" a comment", "hello", "42", "true", "<keep>"]);
    }

    /// The same document without `shroud_auth`, as sops would write it:
    /// only the SOPS MAC and the AAD protect it.
    fn without_auth(doc: &FakeDoc) -> FakeDoc {
        let mut m = doc.metadata.clone();
        if let Some(MetaNode::Map(entries)) = &mut m {
            entries.retain(|(k, _)| k != crate::integrity::FIELD);
        }
        FakeDoc {
            leaves: doc.leaves.clone(),
            metadata: m,
            rendered: RefCell::new(None),
        }
    }

    #[test]
    fn shroud_auth_refuses_what_the_mac_does_not_cover() {
        let enc = encrypt_fake(appendix_a(), &EncryptSettings::default());
        let meta = metadata(&enc).unwrap();
        let (_, warnings) = decrypt_leaves(&enc, &meta, &key(), DecryptOptions::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        // Renaming the unencrypted key keeps AAD (not used) and MAC intact.
        let mut renamed = without_auth(&enc);
        renamed.metadata = enc.metadata.clone();
        renamed.leaves[4].loc = vec![crate::treepath::PathSeg::Key("y_unencrypted".into())];
        assert!(
            decrypt_leaves(
                &without_auth(&renamed),
                &meta,
                &key(),
                DecryptOptions::default()
            )
            .is_ok()
        );
        let err = decrypt_leaves(&renamed, &meta, &key(), DecryptOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 51);
        assert!(err.to_string().contains("shroud_auth"), "{err}");
        // Without shroud_auth: a warning, or an error when it is required.
        let bare = without_auth(&enc);
        let (_, warnings) =
            decrypt_leaves(&bare, &meta, &key(), DecryptOptions::default()).unwrap();
        assert_eq!(warnings, [crate::integrity::ABSENT_WARNING]);
        let strict = DecryptOptions {
            require_auth: true,
            ..DecryptOptions::default()
        };
        let err = decrypt_leaves(&bare, &meta, &key(), strict).unwrap_err();
        assert_eq!(err.exit_code(), 51);
    }

    #[test]
    fn swapped_or_moved_values_are_refused() {
        let enc = without_auth(&encrypt_fake(appendix_a(), &EncryptSettings::default()));
        let meta = metadata(&enc).unwrap();
        // Moving the ciphertext of a.b to n breaks its AAD binding: exit 25.
        let mut moved = FakeDoc {
            leaves: enc.leaves.clone(),
            metadata: enc.metadata.clone(),
            rendered: RefCell::new(None),
        };
        moved.leaves[2].kind = moved.leaves[1].kind.clone();
        let err = decrypt_leaves(&moved, &meta, &key(), DecryptOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 25);
        // Changing an unencrypted value passes AES but fails the MAC: exit 51.
        let mut changed = FakeDoc {
            leaves: enc.leaves.clone(),
            metadata: enc.metadata.clone(),
            rendered: RefCell::new(None),
        };
        changed.leaves[4].kind = scalar(Value::str("plain!"), None);
        let err = decrypt_leaves(&changed, &meta, &key(), DecryptOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 51);
        // ... unless the user says --ignore-mac, which still warns.
        let (_, warnings) = decrypt_leaves(
            &changed,
            &meta,
            &key(),
            DecryptOptions {
                ignore_mac: true,
                ..DecryptOptions::default()
            },
        )
        .unwrap();
        // The MAC mismatch that was ignored, and the missing shroud_auth.
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("--ignore-mac"));
        assert_eq!(warnings[1], crate::integrity::ABSENT_WARNING);
    }

    /// Decryption opens a window of leaves at a time: values on both sides
    /// of a window's edge, and a comment rule that reaches across it, come
    /// out as they went in.
    #[test]
    fn decrypts_across_windows() {
        let n = DECRYPT_WINDOW * 2 + 3;
        let mut leaves = Vec::with_capacity(n);
        for i in 0..n {
            if i == DECRYPT_WINDOW - 1 {
                let text = Zeroizing::new(" sops:enc".to_string());
                leaves.push(leaf(&[], 0, LeafKind::Comment(text)));
            } else {
                leaves.push(leaf(
                    &[&format!("k{i}")],
                    0,
                    scalar(Value::str(format!("v{i}")), None),
                ));
            }
        }
        let settings = EncryptSettings {
            rule: Rule::from_field("encrypted_comment_regex", "sops:enc").unwrap(),
            ..EncryptSettings::default()
        };
        let enc = encrypt_fake(leaves, &settings);
        // Only the value right after the marker comment was encrypted.
        let is_enc = |i: usize| matches!(&enc.leaves[i].kind, LeafKind::Scalar { value: Value::Str(s), .. } if s.starts_with("ENC["));
        assert!(is_enc(DECRYPT_WINDOW));
        assert!(!is_enc(DECRYPT_WINDOW - 2) && !is_enc(DECRYPT_WINDOW + 1));
        let meta = metadata(&enc).unwrap();
        let (edits, _) = decrypt_leaves(&enc, &meta, &key(), DecryptOptions::default()).unwrap();
        assert_eq!(edits.len(), n);
        for (i, e) in edits.iter().enumerate() {
            match e {
                Replacement::Decrypted(Decrypted::Scalar { text, .. }) => {
                    assert_eq!(i, DECRYPT_WINDOW);
                    assert_eq!(text.as_str(), format!("v{i}"));
                }
                Replacement::Keep => assert_ne!(i, DECRYPT_WINDOW),
                other => panic!("leaf {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn list_items_in_swapped_order_fail_the_mac() {
        let items = vec![
            leaf(&["l"], 1, scalar(Value::str("one"), None)),
            leaf(&["l"], 1, scalar(Value::str("two"), None)),
        ];
        let mut enc = encrypt_fake(items, &EncryptSettings::default());
        let meta = metadata(&enc).unwrap();
        enc.leaves.swap(0, 1);
        let err = decrypt_leaves(&enc, &meta, &key(), DecryptOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 51);
    }

    #[test]
    fn encrypted_regex_and_mac_only_encrypted() {
        let settings = EncryptSettings {
            rule: Rule::from_field("encrypted_regex", "^password$").unwrap(),
            mac_only_encrypted: true,
            key_version: None,
        };
        let leaves = vec![
            leaf(&["user"], 0, scalar(Value::str("bob"), None)),
            leaf(&["password"], 0, scalar(Value::str("hunter2"), None)),
        ];
        let enc = encrypt_fake(leaves, &settings);
        assert!(
            matches!(&enc.leaves[0].kind, LeafKind::Scalar { value: Value::Str(s), .. } if s.as_str() == "bob")
        );
        let meta = metadata(&enc).unwrap();
        assert!(meta.mac_only_encrypted);
        // With mac_only_encrypted, clear values are outside the MAC.
        let mut changed = FakeDoc {
            leaves: enc.leaves.clone(),
            metadata: enc.metadata.clone(),
            rendered: RefCell::new(None),
        };
        changed.leaves[0].kind = scalar(Value::str("eve"), None);
        assert!(
            decrypt_leaves(
                &without_auth(&changed),
                &meta,
                &key(),
                DecryptOptions::default()
            )
            .is_ok()
        );
        // shroud_auth covers them whatever the MAC does.
        let err = decrypt_leaves(&changed, &meta, &key(), DecryptOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 51);
    }

    #[test]
    fn an_encrypted_document_is_not_encrypted_again() {
        let enc = encrypt_fake(appendix_a(), &EncryptSettings::default());
        let err = encrypt(
            &enc,
            &key(),
            groups(),
            None,
            &EncryptSettings::default(),
            now_utc(),
        )
        .err()
        .unwrap();
        assert_eq!(err.exit_code(), 203);
    }
}
