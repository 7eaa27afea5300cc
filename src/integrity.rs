//! `shroud_auth`: a second authenticator in the `sops` metadata that covers
//! what the SOPS MAC leaves out.
//!
//! The SOPS MAC hashes only the values' plaintext in walk order (spec
//! section 10): it does not see map keys, the `type:` of an `ENC[...]`
//! value, empty strings, nulls, comments, or any of the metadata. Someone
//! without the key can therefore rename a key, retype a value, inject
//! `k: ""`, drop an encrypted comment or change the encryption rule, and
//! `sops decrypt` still succeeds. `shroud_auth` closes those holes for
//! files shroud writes.
//!
//! Design (v1):
//! - Key: HKDF-SHA256 over the data key (no salt, info
//!   [`KEY_INFO`]), so the authenticator key is independent of the data key
//!   as AES-GCM and the SOPS MAC use it.
//! - Tag: HMAC-SHA256 over a canonical transcript in which every variable
//!   part is length-prefixed (no two documents share a transcript):
//!   each leaf in document order with its full location (map keys and list
//!   indices), nesting depth, kind, value type and text as stored (the
//!   data, iv, tag and type of an `ENC[...]` value or comment, the plain
//!   text otherwise, empty strings and nulls included), then the whole
//!   `sops` map except `shroud_auth` itself, canonicalised so that the
//!   nested (YAML/JSON/TOML) and flattened (dotenv/INI) forms of the same
//!   block give the same bytes.
//! - Stored as `v1:HMAC-SHA256:<base64 of the 32-byte tag>`; real sops
//!   ignores the unknown field (and drops it when sops itself rewrites the
//!   file, which shroud then reports as a missing authenticator).
//!
//! Its limit: anyone holding the data key (every recipient) can compute a
//! valid tag, exactly as they can recompute the SOPS MAC. It authenticates
//! the file against people who can write it but cannot decrypt it.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::cipher::{DataKey, EncValue};
use crate::document::{Decrypted, Leaf, LeafKind, MetaNode, Replacement, Shape, Value};
use crate::error::Error;
use crate::treepath::PathSeg;

/// The metadata field (flattened as `sops_shroud_auth` in dotenv and INI).
pub const FIELD: &str = "shroud_auth";

/// The prefix of a v1 value: version, then algorithm.
const V1_PREFIX: &str = "v1:HMAC-SHA256:";

/// HKDF `info`: binds the derived key to this one use.
const KEY_INFO: &[u8] = b"shroud_auth v1 HMAC-SHA256 key";

/// The first bytes of every transcript (domain separation).
const TRANSCRIPT_TAG: &[u8] = b"shroud_auth v1 transcript\0";

type HmacSha256 = Hmac<Sha256>;

/// What [`verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The file carries a `shroud_auth` that matches.
    Valid,
    /// The file has no `shroud_auth` (written by sops, or stripped).
    Absent,
}

/// The HMAC key for a data key.
fn auth_key(key: &DataKey) -> Zeroizing<[u8; 32]> {
    let hk = hkdf::Hkdf::<Sha256>::new(None, key.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(KEY_INFO, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The transcript, gathered in a buffer and fed to the HMAC a chunk at a
/// time: a file has a few dozen tiny fields per value, and one HMAC update
/// per field cost more than the hashing itself. The buffer is wiped on
/// drop, since clear values and comments pass through it.
struct Transcript {
    mac: HmacSha256,
    buf: Zeroizing<Vec<u8>>,
}

/// How much transcript to gather before hashing it.
const CHUNK: usize = 64 * 1024;

impl Transcript {
    fn new(key: &DataKey) -> Transcript {
        let k = auth_key(key);
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(k.as_ref()).expect("HMAC takes any key length");
        mac.update(TRANSCRIPT_TAG);
        Transcript {
            mac,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK + 1024)),
        }
    }

    fn update(&mut self, b: &[u8]) {
        if self.buf.len() + b.len() > CHUNK {
            self.flush();
            if b.len() > CHUNK {
                self.mac.update(b);
                return;
            }
        }
        self.buf.extend_from_slice(b);
    }

    fn flush(&mut self) {
        self.mac.update(&self.buf);
        // Vec::clear keeps the allocation (and so the capacity the wipe
        // on drop covers) without leaving copies elsewhere.
        self.buf.clear();
    }

    fn tag(&mut self, t: u8) {
        self.update(&[t]);
    }

    fn num(&mut self, n: usize) {
        self.update(&(n as u64).to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.num(b.len());
        self.update(b);
    }

    fn leaf(&mut self, leaf: &Leaf, edit: Option<&Replacement>) {
        // An empty comment (a bare `#`) holds nothing and is never
        // encrypted; YAML adds one where it writes out an alias that
        // carried an inline comment. Leaving them out keeps the tag the
        // same before and after such a rewrite.
        let empty_comment = match (edit, &leaf.kind) {
            (Some(Replacement::Encrypted(_) | Replacement::Decrypted(_)), _) => false,
            (_, LeafKind::Comment(t)) => t.is_empty(),
            _ => false,
        };
        if empty_comment {
            return;
        }
        self.tag(b'L');
        self.num(leaf.depth);
        self.num(leaf.path().len());
        for k in leaf.path().iter() {
            self.bytes(k.as_bytes());
        }
        self.num(leaf.loc.len());
        for seg in &leaf.loc {
            match seg {
                PathSeg::Key(k) => {
                    self.tag(b'k');
                    self.bytes(k.as_bytes());
                }
                PathSeg::Index(i) => {
                    self.tag(b'i');
                    self.num(*i);
                }
            }
        }
        // What the leaf holds as stored in the file: when writing, the
        // replacement that is about to be rendered decides it.
        match (edit, &leaf.kind) {
            (_, LeafKind::Structure(shape)) => self.tag(match shape {
                Shape::Null => b'N',
                Shape::EmptyMap => b'M',
                Shape::EmptyList => b'A',
            }),
            (Some(Replacement::Encrypted(enc)), LeafKind::Comment(_)) => self.comment(enc),
            (Some(Replacement::Encrypted(enc)), LeafKind::Scalar { .. }) => {
                self.scalar(&Value::str(enc.as_str()), None)
            }
            (Some(Replacement::Decrypted(Decrypted::Comment(t))), _) => self.comment(t),
            (Some(Replacement::Decrypted(Decrypted::Scalar { value, text })), _) => {
                self.scalar(value, Some(text))
            }
            (_, LeafKind::Comment(t)) => self.comment(t),
            (_, LeafKind::Scalar { value, source }) => {
                self.scalar(value, source.as_ref().map(|s| s.as_str()))
            }
        }
    }

    fn comment(&mut self, text: &str) {
        self.tag(b'C');
        self.text(text);
    }

    /// Text as stored. An `ENC[...]` value is taken by its parts (data, iv,
    /// tag, type), as SOPS reads it, not by its spelling: a YAML block
    /// scalar adds a line break and a flow scalar may escape a letter, and
    /// neither changes what the value is.
    fn text(&mut self, text: &str) {
        match EncValue::parse(text) {
            Some(ev) => {
                self.tag(b'E');
                self.bytes(&ev.data);
                self.bytes(&ev.iv);
                self.bytes(&ev.tag);
                self.bytes(ev.ty.as_bytes());
                // SOPS reads up to the last `]` of the first line and
                // ignores the rest; cover the rest too (a clear value that
                // merely looks encrypted is output whole), less trailing
                // whitespace, which a block scalar adds.
                let first_line = text.split('\n').next().unwrap_or(text);
                let close = first_line.rfind(']').map_or(text.len(), |i| i + 1);
                self.bytes(text[close..].trim_end().as_bytes());
            }
            None => {
                self.tag(b'T');
                self.bytes(text.as_bytes());
            }
        }
    }

    /// A scalar's type and its text as written: strings as they are, other
    /// types by their source token when the format kept one (so `1.50`
    /// and `1.5` differ), else their canonical text.
    fn scalar(&mut self, value: &Value, source: Option<&str>) {
        self.tag(b'S');
        self.bytes(value.value_type().as_str().as_bytes());
        match value {
            Value::Str(s) => self.text(s),
            other => match source {
                Some(src) => self.bytes(src.as_bytes()),
                None => self.bytes(crate::value::canonical_text(other).as_bytes()),
            },
        }
    }

    /// The `sops` map without `shroud_auth`.
    fn metadata(&mut self, node: &MetaNode) {
        self.tag(b'D');
        match node {
            MetaNode::Map(entries) => {
                let kept: Vec<&(String, MetaNode)> =
                    entries.iter().filter(|(k, _)| k != FIELD).collect();
                self.map(&kept);
            }
            other => self.node(other),
        }
    }

    /// Maps are sorted by key and lose entries that are null or empty:
    /// that is how the flattened formats store them (a Go map, sorted on
    /// write, nothing written for nil or an empty list), so both forms of
    /// one block authenticate the same.
    fn map(&mut self, entries: &[&(String, MetaNode)]) {
        let mut kept: Vec<&(String, MetaNode)> =
            entries.iter().copied().filter(|(_, v)| !empty(v)).collect();
        kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        self.tag(b'm');
        self.num(kept.len());
        for (k, v) in kept {
            self.bytes(k.as_bytes());
            self.node(v);
        }
    }

    /// Scalars are text, as the flattened formats store every scalar.
    fn node(&mut self, node: &MetaNode) {
        match node {
            MetaNode::Map(entries) => {
                let refs: Vec<&(String, MetaNode)> = entries.iter().collect();
                self.map(&refs);
            }
            MetaNode::List(items) => {
                self.tag(b'l');
                self.num(items.len());
                for item in items {
                    self.node(item);
                }
            }
            MetaNode::Str(s) => {
                self.tag(b's');
                self.bytes(s.as_bytes());
            }
            MetaNode::Int(i) => {
                self.tag(b's');
                self.bytes(i.to_string().as_bytes());
            }
            MetaNode::Bool(b) => {
                self.tag(b's');
                self.bytes(if *b { b"true" } else { b"false" });
            }
            MetaNode::Null => self.tag(b'n'),
        }
    }

    /// The HMAC over everything added.
    fn into_mac(mut self) -> HmacSha256 {
        self.flush();
        self.mac
    }

    fn finish(self) -> [u8; 32] {
        self.into_mac().finalize().into_bytes().into()
    }
}

/// A map entry that the flattened formats would not write at all.
fn empty(node: &MetaNode) -> bool {
    match node {
        MetaNode::Null => true,
        MetaNode::List(items) => items.is_empty(),
        MetaNode::Map(entries) => entries.iter().all(|(_, v)| empty(v)),
        _ => false,
    }
}

fn transcript(
    key: &DataKey,
    leaves: &[Leaf],
    edits: Option<&[Replacement]>,
    node: &MetaNode,
) -> [u8; 32] {
    let mut t = Transcript::new(key);
    // Each leaf starts with `L` and the metadata with `D`: the sequence
    // reads back one way only, without a count.
    for (i, leaf) in leaves.iter().enumerate() {
        t.leaf(leaf, edits.and_then(|e| e.get(i)));
    }
    t.metadata(node);
    t.finish()
}

/// Add `shroud_auth` to `node` (the `sops` map about to be written) for
/// the document that rendering `edits` over `leaves` produces. Any old
/// `shroud_auth` in `node` is replaced.
pub fn seal(key: &DataKey, leaves: &[Leaf], edits: &[Replacement], node: &mut MetaNode) {
    let tag = transcript(key, leaves, Some(edits), node);
    let value = format!(
        "{V1_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    );
    if let MetaNode::Map(entries) = node {
        entries.retain(|(k, _)| k != FIELD);
        entries.push((FIELD.to_string(), MetaNode::Str(value)));
    }
}

fn mismatch(msg: &str) -> Error {
    Error::MacMismatch(format!(
        "shroud_auth (shroud's integrity check over keys, types, order, empty and null values, comments and the sops metadata) {msg}; use --ignore-mac to read it anyway"
    ))
}

/// Check the `shroud_auth` of an encrypted document as parsed.
pub fn verify(key: &DataKey, leaves: &[Leaf], node: &MetaNode) -> Result<Status, Error> {
    let stored = match node.get(FIELD) {
        None | Some(MetaNode::Null) => return Ok(Status::Absent),
        Some(MetaNode::Str(s)) => s.trim(),
        Some(_) => return Err(mismatch("is not a string")),
    };
    let Some(b64) = stored.strip_prefix(V1_PREFIX) else {
        return Err(mismatch(
            "has an unknown version or algorithm (expected v1:HMAC-SHA256:...)",
        ));
    };
    let tag = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| mismatch("is not valid base64"))?;
    let mut t = Transcript::new(key);
    for leaf in leaves {
        t.leaf(leaf, None);
    }
    t.metadata(node);
    // Constant-time comparison.
    t.into_mac()
        .verify_slice(&tag)
        .map_err(|_| mismatch("does not match: the file was changed without the data key"))?;
    Ok(Status::Valid)
}

/// The warning for a file without `shroud_auth`.
pub const ABSENT_WARNING: &str = "the file has no shroud_auth (written by sops or an older shroud, or the field was removed): its key names, value types, empty and null values, comments and metadata are not authenticated; re-encrypt it with shroud (e.g. `shroud rotate -i`) to add one, or use --strict to refuse such files";

/// The error for a file without `shroud_auth` under `--strict`.
pub fn absent_error() -> Error {
    Error::MacMismatch(
        "the file has no shroud_auth and strict mode is on (--strict or `shroud: {strict: true}` in .sops.yaml): it was written by sops, or the field was removed".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes([7; 32])
    }

    fn leaf(loc: Vec<PathSeg>, kind: LeafKind) -> Leaf {
        Leaf::new(loc, 0, kind, None)
    }

    fn s(v: &str) -> LeafKind {
        LeafKind::Scalar {
            value: Value::str(v),
            source: None,
        }
    }

    fn meta() -> MetaNode {
        MetaNode::Map(vec![
            (
                "lastmodified".into(),
                MetaNode::Str("2024-01-01T00:00:00Z".into()),
            ),
            ("mac_only_encrypted".into(), MetaNode::Bool(true)),
            ("shamir_threshold".into(), MetaNode::Int(2)),
            ("hc_vault".into(), MetaNode::List(vec![])),
            ("version".into(), MetaNode::Str("3.11.0".into())),
        ])
    }

    fn sealed(leaves: &[Leaf], node: &MetaNode) -> MetaNode {
        let mut n = node.clone();
        let keep = vec![Replacement::Keep; leaves.len()];
        seal(&key(), leaves, &keep, &mut n);
        n
    }

    #[test]
    fn nested_and_flattened_metadata_authenticate_the_same() {
        let leaves = vec![leaf(vec![PathSeg::Key("a".into())], s("x"))];
        let n = sealed(&leaves, &meta());
        // The flattened form: strings only, sorted, empty lists dropped.
        let flat = MetaNode::Map(vec![
            (
                "lastmodified".into(),
                MetaNode::Str("2024-01-01T00:00:00Z".into()),
            ),
            ("mac_only_encrypted".into(), MetaNode::Str("true".into())),
            ("shamir_threshold".into(), MetaNode::Str("2".into())),
            (FIELD.into(), n.get(FIELD).unwrap().clone()),
            ("version".into(), MetaNode::Str("3.11.0".into())),
        ]);
        assert_eq!(verify(&key(), &leaves, &flat).unwrap(), Status::Valid);
    }

    #[test]
    fn every_part_is_covered() {
        let a = PathSeg::Key("a".into());
        let leaves = vec![
            leaf(vec![a.clone(), PathSeg::Index(0)], s("x")),
            leaf(vec![PathSeg::Key("b".into())], s("")),
            leaf(vec![], LeafKind::Comment(Zeroizing::new(" c".into()))),
            leaf(
                vec![PathSeg::Key("n".into())],
                LeafKind::Structure(Shape::Null),
            ),
        ];
        let n = sealed(&leaves, &meta());
        assert_eq!(verify(&key(), &leaves, &n).unwrap(), Status::Valid);
        let refused = |leaves: &[Leaf], node: &MetaNode| {
            verify(&key(), leaves, node).unwrap_err().exit_code() == 51
        };
        // Another index, another key, a dropped empty value, a changed
        // comment, a null turned into an empty map, two leaves swapped.
        let mut l = leaves.clone();
        l[0].loc[1] = PathSeg::Index(1);
        assert!(refused(&l, &n));
        let mut l = leaves.clone();
        l[1].loc[0] = PathSeg::Key("c".into());
        assert!(refused(&l, &n));
        assert!(refused(&leaves[..1], &n));
        let mut l = leaves.clone();
        l[2].kind = LeafKind::Comment(Zeroizing::new(" d".into()));
        assert!(refused(&l, &n));
        let mut l = leaves.clone();
        l[3].kind = LeafKind::Structure(Shape::EmptyMap);
        assert!(refused(&l, &n));
        let mut l = leaves.clone();
        l.swap(0, 1);
        assert!(refused(&l, &n));
        // Metadata: a changed, added or removed field.
        let MetaNode::Map(mut m) = n.clone() else {
            panic!()
        };
        m[1].1 = MetaNode::Bool(false);
        assert!(refused(&leaves, &MetaNode::Map(m.clone())));
        m[1].1 = MetaNode::Bool(true);
        m[2].1 = MetaNode::Int(3);
        assert!(
            refused(&leaves, &MetaNode::Map(m.clone())),
            "shamir_threshold"
        );
        m[2].1 = MetaNode::Int(2);
        m.remove(1);
        assert!(refused(&leaves, &MetaNode::Map(m.clone())));
        m.push(("shroud_key_version".into(), MetaNode::Int(2)));
        assert!(refused(&leaves, &MetaNode::Map(m)));
        // A different data key.
        assert_eq!(
            verify(&DataKey::from_bytes([8; 32]), &leaves, &n)
                .unwrap_err()
                .exit_code(),
            51
        );
        // Absent, and a value of an unknown version.
        assert_eq!(verify(&key(), &leaves, &meta()).unwrap(), Status::Absent);
        let MetaNode::Map(mut m) = n else { panic!() };
        m.last_mut().unwrap().1 = MetaNode::Str("v2:X:AAAA".into());
        assert!(refused(&leaves, &MetaNode::Map(m)));
    }

    #[test]
    fn enc_values_are_taken_by_their_parts_and_what_follows() {
        let enc = "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]";
        let one = |v: &str| vec![leaf(vec![PathSeg::Key("k".into())], s(v))];
        let n = sealed(&one(enc), &meta());
        // A block scalar's line break, or an escaped letter, is the same.
        assert!(verify(&key(), &one(&format!("{enc}\n")), &n).is_ok());
        // Text after the `]` is not.
        assert!(verify(&key(), &one(&format!("{enc}x")), &n).is_err());
        assert!(verify(&key(), &one(&format!("{enc}\nmore")), &n).is_err());
        // Nor is another type word.
        assert!(verify(&key(), &one(&enc.replace("type:str", "type:int")), &n).is_err());
    }

    #[test]
    fn length_prefixes_keep_keys_apart() {
        // ["ab"] and ["a","b"] must not authenticate alike.
        let one = vec![leaf(vec![PathSeg::Key("ab".into())], s("x"))];
        let n = sealed(&one, &meta());
        let two = vec![leaf(
            vec![PathSeg::Key("a".into()), PathSeg::Key("b".into())],
            s("x"),
        )];
        assert!(verify(&key(), &two, &n).is_err());
    }
}
