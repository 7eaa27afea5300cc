//! `shroud_auth`: a second authenticator that covers what the SOPS MAC
//! leaves out.
//!
//! The SOPS MAC hashes only the values' plaintext in walk order (spec
//! section 10): it does not see map keys, the `type:` of an `ENC[...]`
//! value, empty strings, nulls, comments, or any of the metadata. Someone
//! without the key can therefore rename a key, retype a value, inject
//! `k: ""`, drop an encrypted comment or change the encryption rule, and
//! `sops decrypt` still succeeds. `shroud_auth` closes those holes for
//! files shroud writes.
//!
//! Design (v2, written by every write):
//! - Key: HKDF-SHA256 over the data key (no salt, info `shroud_auth v2
//!   HMAC-SHA256 key`), so the authenticator key is independent of the
//!   data key as AES-GCM and the SOPS MAC use it.
//! - Transcript: every leaf in document order with its full location (map
//!   keys and list indices), nesting depth, kind, value type and text as
//!   stored (the data, iv, tag and type of an `ENC[...]` value or comment,
//!   the plain text otherwise, empty strings and nulls included), every
//!   variable part length-prefixed so no two documents share a transcript.
//!   The leaves are hashed with SHA-256 in chunks of [`LEAVES_PER_CHUNK`]
//!   (on several cores for big files); the HMAC then covers the chunk
//!   count, the chunk digests and the whole `sops` map except `mac`,
//!   canonicalised so that the nested (YAML/JSON/TOML) and flattened
//!   (dotenv/INI) forms of the same block give the same bytes.
//! - Storage: the 32-byte tag is the IV of the AES-256-GCM encryption of
//!   the SOPS MAC (a synthetic IV, as in RFC 5297's SIV), and the field
//!   `shroud_auth` holds the constant [`MARKER`]. A one-value edit then
//!   changes three lines (the value, `lastmodified`, `mac`), as with sops;
//!   sops reads any 32-byte IV. The IV is a function of the transcript,
//!   which fixes the MAC plaintext and its AAD (`lastmodified`), so an IV
//!   only repeats with the identical encryption (docs/security.md).
//! - Verification takes the IV of the stored `mac`, recomputes the tag and
//!   compares in constant time, then checks that the `mac` decrypts under
//!   the data key (GCM binds the IV to it).
//!
//! v1 (earlier builds, still verified, never written): the HMAC over the
//! leaves directly (no chunks) and the `sops` map except `shroud_auth`,
//! stored as `v1:HMAC-SHA256:<base64 tag>` in `shroud_auth`.
//!
//! Real sops ignores the unknown field and drops it when sops itself
//! rewrites the file (`set`, `updatekeys`, `rotate` in sops 3.11), which
//! shroud then reports as a missing authenticator.
//!
//! Its limit: anyone holding the data key (every recipient) can compute a
//! valid tag, exactly as they can recompute the SOPS MAC. It authenticates
//! the file against people who can write it but cannot decrypt it.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sha2::digest::{FixedOutput, Update};
use zeroize::Zeroizing;

use crate::crypto::cipher::{DataKey, EncValue};
use crate::crypto::mac as sops_mac;
use crate::document::{Decrypted, Leaf, LeafKind, MetaNode, Replacement, Shape, Value, ValueType};
use crate::error::Error;
use crate::treepath::PathSeg;

/// The metadata field (flattened as `sops_shroud_auth` in dotenv and INI).
pub const FIELD: &str = "shroud_auth";

/// What `shroud_auth` holds in v2: version, algorithm, where the tag is.
/// Constant, so it never shows in a diff.
pub const MARKER: &str = "v2:HMAC-SHA256:mac-iv";

/// The prefix of a v1 value: version, then algorithm.
const V1_PREFIX: &str = "v1:HMAC-SHA256:";

/// The metadata field that carries the v2 tag as its IV.
const MAC_FIELD: &str = "mac";

/// What differs between the versions.
struct Version {
    /// HKDF `info`: binds the derived key to this one use.
    key_info: &'static [u8],
    /// The first bytes the HMAC sees (domain separation).
    transcript_tag: &'static [u8],
    /// The metadata field the transcript leaves out: the one holding the
    /// tag.
    excluded: &'static str,
}

const V1: Version = Version {
    key_info: b"shroud_auth v1 HMAC-SHA256 key",
    transcript_tag: b"shroud_auth v1 transcript\0",
    excluded: FIELD,
};

const V2: Version = Version {
    key_info: b"shroud_auth v2 HMAC-SHA256 key",
    transcript_tag: b"shroud_auth v2 transcript\0",
    excluded: MAC_FIELD,
};

/// The first bytes of every v2 leaf chunk's SHA-256.
const V2_CHUNK_TAG: &[u8] = b"shroud_auth v2 leaves\0";

/// Leaves per v2 chunk (empty comments, which the transcript skips, not
/// counted): big enough that a chunk's digest and thread cost nothing
/// next to its hashing, small enough that a 3 MB file splits across the
/// cores.
pub const LEAVES_PER_CHUNK: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// What [`verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The file carries a `shroud_auth` that matches.
    Valid,
    /// The file has no `shroud_auth` (written by sops, or stripped).
    Absent,
}

/// The HMAC for a data key and version, its domain tag already added.
fn new_hmac(key: &DataKey, version: &Version) -> HmacSha256 {
    let hk = hkdf::Hkdf::<Sha256>::new(None, key.as_bytes());
    let mut k = Zeroizing::new([0u8; 32]);
    hk.expand(version.key_info, k.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(k.as_ref()).expect("HMAC takes any key length");
    Mac::update(&mut mac, version.transcript_tag);
    mac
}

/// The transcript, gathered in a buffer and fed to the hash (the HMAC, or
/// a chunk's SHA-256) a chunk at a time: a file has a few dozen tiny
/// fields per value, and one hash update per field cost more than the
/// hashing itself. The buffer is wiped on drop, since clear values and
/// comments pass through it.
struct Transcript<H: Update> {
    hash: H,
    buf: Zeroizing<Vec<u8>>,
    /// v2 takes an `ENC[...]` value by its text; v1 by its decoded parts.
    enc_as_text: bool,
}

/// How much transcript to gather before hashing it.
const CHUNK: usize = 64 * 1024;

/// Where an `ENC[...]` value's text ends: after the last `]` of its
/// first line, as SOPS reads it. `None` for text that is not one.
fn enc_close(text: &str) -> Option<usize> {
    if !text.starts_with("ENC[") {
        return None;
    }
    let first_line = memchr::memchr(b'\n', text.as_bytes()).map_or(text, |i| &text[..i]);
    memchr::memrchr(b']', first_line.as_bytes()).map(|i| i + 1)
}

/// Whether the transcript leaves a leaf out. An empty comment (a bare `#`)
/// holds nothing and is never encrypted; YAML adds one where it writes out
/// an alias that carried an inline comment. Leaving them out keeps the tag
/// the same before and after such a rewrite.
fn skipped(leaf: &Leaf, edit: Option<&Replacement>) -> bool {
    match (edit, &leaf.kind) {
        (Some(Replacement::Encrypted(_) | Replacement::Decrypted(_)), _) => false,
        (_, LeafKind::Comment(t)) => t.is_empty(),
        _ => false,
    }
}

impl<H: Update> Transcript<H> {
    fn new(hash: H) -> Transcript<H> {
        Transcript {
            hash,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK + 1024)),
            enc_as_text: false,
        }
    }

    /// A v2 transcript (see [`Transcript::text`]).
    fn v2(hash: H) -> Transcript<H> {
        Transcript {
            enc_as_text: true,
            ..Transcript::new(hash)
        }
    }

    fn update(&mut self, b: &[u8]) {
        if self.buf.len() + b.len() > CHUNK {
            self.flush();
            if b.len() > CHUNK {
                self.hash.update(b);
                return;
            }
        }
        self.buf.extend_from_slice(b);
    }

    fn flush(&mut self) {
        self.hash.update(&self.buf);
        // Vec::clear keeps the allocation (and so the capacity the wipe
        // on drop covers) without leaving copies elsewhere.
        self.buf.clear();
    }

    /// The hash over everything added.
    fn into_hash(mut self) -> H {
        self.flush();
        self.hash
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
        if skipped(leaf, edit) {
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
                // What `scalar` writes for a string, without copying the
                // `ENC[...]` text into a `Value` first.
                self.tag(b'S');
                self.bytes(ValueType::Str.as_str().as_bytes());
                self.text(enc)
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
    ///
    /// v2 keeps that rule but takes the value's own text up to its closing
    /// `]` instead of decoding it: every byte is covered (even base64
    /// spellings that decode alike), and the transcript no longer decodes
    /// every value again, which was an eighth of a command's instructions
    /// on a 100,000-value file.
    fn text(&mut self, text: &str) {
        if self.enc_as_text {
            match enc_close(text) {
                Some(close) => {
                    self.tag(b'E');
                    self.bytes(&text.as_bytes()[..close]);
                    self.bytes(text[close..].trim_end().as_bytes());
                }
                None => {
                    self.tag(b'T');
                    self.bytes(text.as_bytes());
                }
            }
            return;
        }
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

    /// The `sops` map without the field that holds the tag.
    fn metadata(&mut self, node: &MetaNode, excluded: &str) {
        self.tag(b'D');
        match node {
            MetaNode::Map(entries) => {
                let kept: Vec<&(String, MetaNode)> =
                    entries.iter().filter(|(k, _)| k != excluded).collect();
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

/// The v1 HMAC (before finalising) over a document as parsed.
fn v1_mac(key: &DataKey, leaves: &[Leaf], node: &MetaNode) -> HmacSha256 {
    let mut t = Transcript::new(new_hmac(key, &V1));
    // Each leaf starts with `L` and the metadata with `D`: the sequence
    // reads back one way only, without a count.
    for leaf in leaves {
        t.leaf(leaf, None);
    }
    t.metadata(node, V1.excluded);
    t.into_hash()
}

/// The v2 HMAC (before finalising): over the document that rendering
/// `edits` over `leaves` produces, or over `leaves` as parsed when `edits`
/// is `None`.
fn v2_mac(
    key: &DataKey,
    leaves: &[Leaf],
    edits: Option<&[Replacement]>,
    node: &MetaNode,
) -> HmacSha256 {
    let edit = |i: usize| edits.and_then(|e| e.get(i));
    // Where each chunk of LEAVES_PER_CHUNK leaves the transcript keeps
    // starts. A skipped leaf is in some chunk's range but adds nothing to
    // it, so where it falls does not matter.
    let mut starts = Vec::new();
    let mut in_chunk = LEAVES_PER_CHUNK;
    for (i, leaf) in leaves.iter().enumerate() {
        if skipped(leaf, edit(i)) {
            continue;
        }
        if in_chunk == LEAVES_PER_CHUNK {
            starts.push(i);
            in_chunk = 0;
        }
        in_chunk += 1;
    }
    let mut digests = vec![[0u8; 32]; starts.len()];
    crate::par::for_each_chunk_min(&mut digests, 1, |first, out| {
        for (j, digest) in out.iter_mut().enumerate() {
            let c = first + j;
            let end = starts.get(c + 1).copied().unwrap_or(leaves.len());
            *digest = chunk_digest(&leaves[starts[c]..end], |i| edit(starts[c] + i));
        }
    });
    v2_mac_of_digests(key, &digests, node)
}

/// The SHA-256 of one v2 chunk: `leaves` with the replacement `edit(i)`
/// for the `i`th of them.
fn chunk_digest<'e>(leaves: &[Leaf], edit: impl Fn(usize) -> Option<&'e Replacement>) -> [u8; 32] {
    let mut t = Transcript::v2(Sha256::default());
    t.update(V2_CHUNK_TAG);
    for (i, leaf) in leaves.iter().enumerate() {
        t.leaf(leaf, edit(i));
    }
    t.into_hash().finalize_fixed().into()
}

/// The v2 HMAC (before finalising) over the chunk digests and `node`.
fn v2_mac_of_digests(key: &DataKey, digests: &[[u8; 32]], node: &MetaNode) -> HmacSha256 {
    let mut t = Transcript::v2(new_hmac(key, &V2));
    t.num(digests.len());
    for d in digests {
        t.update(d);
    }
    t.metadata(node, V2.excluded);
    t.into_hash()
}

/// Where the v2 chunks of a document about to be encrypted start (the
/// index of each chunk's first leaf), for sealing it a chunk at a time
/// ([`Sealer`]). Encrypting never touches an empty comment, so which
/// leaves the transcript skips does not depend on the edits.
pub fn encrypt_chunk_starts(leaves: &[Leaf]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_chunk = LEAVES_PER_CHUNK;
    for (i, leaf) in leaves.iter().enumerate() {
        if skipped(leaf, None) {
            continue;
        }
        if in_chunk == LEAVES_PER_CHUNK {
            starts.push(i);
            in_chunk = 0;
        }
        in_chunk += 1;
    }
    starts
}

/// [`seal`] fed a chunk at a time, so the `ENC[...]` texts of a document
/// need not all exist at once: the chunks are the ranges between
/// [`encrypt_chunk_starts`] (the last one running to the end), in order.
/// The tag is the same bytes [`seal`] computes.
#[derive(Default)]
pub struct Sealer {
    digests: Vec<[u8; 32]>,
}

impl Sealer {
    /// The digest of one chunk: its leaves and their replacements (any
    /// thread; add them with [`Sealer::push`] in order).
    pub fn digest(leaves: &[Leaf], edits: &[Replacement]) -> [u8; 32] {
        chunk_digest(leaves, |i| edits.get(i))
    }

    /// Add the next chunk's digest.
    pub fn push(&mut self, digest: [u8; 32]) {
        self.digests.push(digest);
    }

    /// As [`seal`], once every chunk was added.
    pub fn seal(&self, key: &DataKey, node: &mut MetaNode, mac_hex: &str) -> Result<(), Error> {
        prepare_node(node)?;
        let iv: [u8; 32] = v2_mac_of_digests(key, &self.digests, node)
            .finalize()
            .into_bytes()
            .into();
        store_mac(key, node, mac_hex, &iv)
    }
}

/// The v2 transcript of some leaves, serialised by the thread that holds
/// them (see [`crate::stream`]): the bytes each kept leaf adds to its
/// chunk, and where each one ends. [`ChunkStream`] cuts the chunks.
///
/// Not wiped on drop: it holds what the file stores, `ENC[...]` texts and
/// the values the rules leave clear, as the output itself does.
pub struct LeafBytes {
    t: Transcript<Gather>,
    ends: Vec<usize>,
}

/// A hash that only gathers what it is given.
struct Gather(Vec<u8>);

impl Update for Gather {
    fn update(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
    }
}

impl Default for LeafBytes {
    fn default() -> Self {
        let mut t = Transcript::v2(Gather(Vec::new()));
        // Flushed after every leaf: a leaf's worth of buffer is enough.
        t.buf = Zeroizing::new(Vec::with_capacity(1024));
        LeafBytes {
            t,
            ends: Vec::new(),
        }
    }
}

impl LeafBytes {
    /// Add `leaf` as rendering `edit` over it will store it (`None`: as
    /// parsed), unless the transcript skips it.
    pub fn push(&mut self, leaf: &Leaf, edit: Option<&Replacement>) {
        if skipped(leaf, edit) {
            return;
        }
        self.t.leaf(leaf, edit);
        self.t.flush();
        self.ends.push(self.t.hash.0.len());
    }

    fn bytes(&self) -> &[u8] {
        &self.t.hash.0
    }
}

/// The v2 chunk digests of a document whose leaves come a piece at a time,
/// in order ([`LeafBytes`]); the digests are the ones [`seal`] and
/// [`verify`] compute over the whole list.
#[derive(Default)]
pub struct ChunkStream {
    open: Option<Sha256>,
    in_chunk: usize,
    digests: Vec<[u8; 32]>,
}

impl ChunkStream {
    /// Add the next piece's leaves.
    pub fn push(&mut self, piece: &LeafBytes) {
        let mut start = 0;
        for &end in &piece.ends {
            if self.open.is_none() || self.in_chunk == LEAVES_PER_CHUNK {
                self.close();
                let mut sha = Sha256::default();
                sha.update(V2_CHUNK_TAG);
                self.open = Some(sha);
                self.in_chunk = 0;
            }
            if let Some(sha) = &mut self.open {
                sha.update(&piece.bytes()[start..end]);
            }
            self.in_chunk += 1;
            start = end;
        }
    }

    fn close(&mut self) {
        if let Some(sha) = self.open.take() {
            self.digests.push(sha.finalize_fixed().into());
        }
    }

    /// Every chunk's digest, in order.
    pub fn finish(mut self) -> Vec<[u8; 32]> {
        self.close();
        self.digests
    }
}

/// [`seal`] for a document whose chunk digests were computed as it was
/// written ([`ChunkStream`]).
pub fn seal_digests(
    key: &DataKey,
    digests: &[[u8; 32]],
    node: &mut MetaNode,
    mac_hex: &str,
) -> Result<(), Error> {
    prepare_node(node)?;
    let iv: [u8; 32] = v2_mac_of_digests(key, digests, node)
        .finalize()
        .into_bytes()
        .into();
    store_mac(key, node, mac_hex, &iv)
}

/// Whether [`verify_digests`] can check this metadata: its `shroud_auth`
/// is absent or v2 (v1 needs the leaves themselves).
pub fn digests_suffice(node: &MetaNode) -> bool {
    match node.get(FIELD) {
        None | Some(MetaNode::Null) => true,
        Some(MetaNode::Str(s)) => s.trim() == MARKER,
        Some(_) => false,
    }
}

/// [`verify`] for a document whose chunk digests were computed as it was
/// read ([`ChunkStream`]); only for metadata that [`digests_suffice`] for.
pub fn verify_digests(
    key: &DataKey,
    digests: &[[u8; 32]],
    node: &MetaNode,
) -> Result<Status, Error> {
    match node.get(FIELD) {
        None | Some(MetaNode::Null) => Ok(Status::Absent),
        Some(MetaNode::Str(s)) if s.trim() == MARKER => {
            verify_v2_with(key, node, v2_mac_of_digests(key, digests, node))
        }
        _ => Err(mismatch("cannot be checked a piece at a time")),
    }
}

/// `shroud_auth` set to [`MARKER`] (replacing any older value), as sealed
/// (for writing the metadata before its `mac` is known).
pub fn mark(node: &mut MetaNode) -> Result<(), Error> {
    prepare_node(node)
}

fn prepare_node(node: &mut MetaNode) -> Result<(), Error> {
    let MetaNode::Map(entries) = node else {
        return Err(metadata_error("the sops metadata is not a map"));
    };
    entries.retain(|(k, _)| k != FIELD);
    entries.push((FIELD.to_string(), MetaNode::Str(MARKER.to_string())));
    Ok(())
}

/// `mac` set to `mac_hex` encrypted with `iv`.
fn store_mac(
    key: &DataKey,
    node: &mut MetaNode,
    mac_hex: &str,
    iv: &[u8; 32],
) -> Result<(), Error> {
    let lastmodified = lastmodified(node).ok_or_else(|| metadata_error("no lastmodified"))?;
    let sealed = sops_mac::seal_with_iv(key, mac_hex, lastmodified, iv)?;
    let MetaNode::Map(entries) = node else {
        return Err(metadata_error("the sops metadata is not a map"));
    };
    match entries.iter_mut().find(|(k, _)| k == MAC_FIELD) {
        Some((_, v)) => *v = MetaNode::Str(sealed),
        None => entries.push((MAC_FIELD.to_string(), MetaNode::Str(sealed))),
    }
    Ok(())
}

fn metadata_error(msg: &str) -> Error {
    Error::Metadata(format!("cannot seal shroud_auth: {msg}"))
}

fn lastmodified(node: &MetaNode) -> Option<&str> {
    match node.get("lastmodified") {
        Some(MetaNode::Str(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// Seal `node` (the `sops` map about to be written) for the document that
/// rendering `edits` over `leaves` produces: `shroud_auth` becomes
/// [`MARKER`] (replacing any older value) and `mac` the SOPS MAC `mac_hex`
/// encrypted under `lastmodified` with the v2 tag as its IV. `node` must
/// hold `lastmodified`.
pub fn seal(
    key: &DataKey,
    leaves: &[Leaf],
    edits: &[Replacement],
    node: &mut MetaNode,
    mac_hex: &str,
) -> Result<(), Error> {
    prepare_node(node)?;
    let iv: [u8; 32] = v2_mac(key, leaves, Some(edits), node)
        .finalize()
        .into_bytes()
        .into();
    store_mac(key, node, mac_hex, &iv)
}

/// [`seal`] with the SOPS MAC the `mac` of `node` already holds (metadata
/// rewritten, values kept): decrypted with the data key and encrypted again
/// with the new tag as IV. Only for a file whose MAC was checked: the MAC
/// must be the one of its values (see docs/security.md, synthetic IV).
pub fn reseal(
    key: &DataKey,
    leaves: &[Leaf],
    edits: &[Replacement],
    node: &mut MetaNode,
) -> Result<(), Error> {
    let stored = match node.get(MAC_FIELD) {
        Some(MetaNode::Str(s)) => s.as_str(),
        _ => return Err(metadata_error("the file has no mac")),
    };
    let lastmodified = lastmodified(node).ok_or_else(|| metadata_error("no lastmodified"))?;
    let hex = sops_mac::open(key, stored, lastmodified)?;
    seal(key, leaves, edits, node, &hex)
}

fn mismatch(msg: &str) -> Error {
    Error::MacMismatch(format!(
        "shroud_auth (shroud's integrity check over keys, types, order, empty and null values, comments and the sops metadata) {msg}; use --ignore-mac to read it anyway"
    ))
}

const CHANGED: &str = "does not match: the file was changed without the data key";

/// Check the `shroud_auth` of an encrypted document as parsed.
pub fn verify(key: &DataKey, leaves: &[Leaf], node: &MetaNode) -> Result<Status, Error> {
    let stored = match node.get(FIELD) {
        None | Some(MetaNode::Null) => return Ok(Status::Absent),
        Some(MetaNode::Str(s)) => s.trim(),
        Some(_) => return Err(mismatch("is not a string")),
    };
    if stored == MARKER {
        return verify_v2(key, leaves, node);
    }
    let Some(b64) = stored.strip_prefix(V1_PREFIX) else {
        return Err(mismatch(&format!(
            "has an unknown version or algorithm (expected {MARKER}, or v1:HMAC-SHA256:... from earlier shroud builds)"
        )));
    };
    let tag = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| mismatch("is not valid base64"))?;
    // Constant-time comparison.
    v1_mac(key, leaves, node)
        .verify_slice(&tag)
        .map_err(|_| mismatch(CHANGED))?;
    Ok(Status::Valid)
}

fn verify_v2(key: &DataKey, leaves: &[Leaf], node: &MetaNode) -> Result<Status, Error> {
    verify_v2_with(key, node, v2_mac(key, leaves, None, node))
}

/// The v2 check, given the HMAC recomputed over the file as read.
fn verify_v2_with(key: &DataKey, node: &MetaNode, mac: HmacSha256) -> Result<Status, Error> {
    let stored = match node.get(MAC_FIELD) {
        Some(MetaNode::Str(s)) => s.as_str(),
        _ => return Err(mismatch("is v2, but the file has no mac to carry its tag")),
    };
    let enc = EncValue::parse(stored).ok_or_else(|| mismatch(CHANGED))?;
    // verify_slice compares in constant time; a wrong IV length fails it.
    mac.verify_slice(&enc.iv).map_err(|_| mismatch(CHANGED))?;
    // The tag matched the IV; GCM under the data key binds that IV to the
    // rest of `mac`, so only someone holding the key could have put it
    // there (the SOPS MAC check decrypts it too, but not every caller runs
    // that one first).
    let lastmodified = lastmodified(node).ok_or_else(|| mismatch(CHANGED))?;
    sops_mac::open(key, stored, lastmodified).map_err(|_| mismatch(CHANGED))?;
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

    /// Any 128 upper-case hex digits, as the SOPS MAC is stored.
    const HEX: &str = "3005D18BB8831328815C7DB635B4F45A310616801748EBE80138E60031686BB8D2E2BC15A342B5A83D53246743DA247BF784CBFDFDB1DAF8DCFC9F3F542F3CFF";

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
            ("mac".into(), MetaNode::Str(String::new())),
            ("mac_only_encrypted".into(), MetaNode::Bool(true)),
            ("shamir_threshold".into(), MetaNode::Int(2)),
            ("hc_vault".into(), MetaNode::List(vec![])),
            ("version".into(), MetaNode::Str("3.11.0".into())),
        ])
    }

    fn sealed(leaves: &[Leaf], node: &MetaNode) -> MetaNode {
        let mut n = node.clone();
        let keep = vec![Replacement::Keep; leaves.len()];
        seal(&key(), leaves, &keep, &mut n, HEX).unwrap();
        n
    }

    fn set(node: &MetaNode, field: &str, value: MetaNode) -> MetaNode {
        let MetaNode::Map(mut m) = node.clone() else {
            panic!("not a map")
        };
        match m.iter_mut().find(|(k, _)| k == field) {
            Some((_, v)) => *v = value,
            None => m.push((field.into(), value)),
        }
        MetaNode::Map(m)
    }

    fn remove(node: &MetaNode, field: &str) -> MetaNode {
        let MetaNode::Map(mut m) = node.clone() else {
            panic!("not a map")
        };
        m.retain(|(k, _)| k != field);
        MetaNode::Map(m)
    }

    fn stored_mac(node: &MetaNode) -> EncValue {
        let Some(MetaNode::Str(m)) = node.get("mac") else {
            panic!("no mac")
        };
        EncValue::parse(m).unwrap()
    }

    fn refused(leaves: &[Leaf], node: &MetaNode) -> bool {
        verify(&key(), leaves, node).unwrap_err().exit_code() == 51
    }

    #[test]
    fn the_tag_is_the_iv_of_the_sops_mac_and_the_marker_is_constant() {
        let leaves = vec![leaf(vec![PathSeg::Key("a".into())], s("x"))];
        let n = sealed(&leaves, &meta());
        assert_eq!(n.get(FIELD), Some(&MetaNode::Str(MARKER.into())));
        let Some(MetaNode::Str(mac)) = n.get("mac") else {
            panic!()
        };
        // The SOPS MAC is still the MAC, readable as sops reads it.
        sops_mac::verify(&key(), mac, "2024-01-01T00:00:00Z", HEX).unwrap();
        let tag: [u8; 32] = v2_mac(&key(), &leaves, None, &n)
            .finalize()
            .into_bytes()
            .into();
        assert_eq!(stored_mac(&n).iv, tag);
        // Another value: another IV, the same marker.
        let other = vec![leaf(vec![PathSeg::Key("a".into())], s("y"))];
        let n2 = sealed(&other, &meta());
        assert_eq!(n2.get(FIELD), n.get(FIELD));
        assert_ne!(stored_mac(&n2).iv, stored_mac(&n).iv);
        // The same document: the same IV and so the very same ciphertext
        // (no nonce reuse: the IV never meets another plaintext).
        assert_eq!(sealed(&leaves, &meta()), n);
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
            ("mac".into(), n.get("mac").unwrap().clone()),
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
        assert!(refused(
            &leaves,
            &set(&n, "mac_only_encrypted", MetaNode::Bool(false))
        ));
        assert!(refused(
            &leaves,
            &set(&n, "shamir_threshold", MetaNode::Int(3))
        ));
        assert!(refused(
            &leaves,
            &set(
                &n,
                "lastmodified",
                MetaNode::Str("2024-01-01T00:00:01Z".into())
            )
        ));
        assert!(refused(&leaves, &remove(&n, "mac_only_encrypted")));
        assert!(refused(
            &leaves,
            &set(&n, "shroud_key_version", MetaNode::Int(2))
        ));
        // A different data key.
        assert_eq!(
            verify(&DataKey::from_bytes([8; 32]), &leaves, &n)
                .unwrap_err()
                .exit_code(),
            51
        );
        // Absent, and a value of an unknown version or algorithm.
        assert_eq!(
            verify(&key(), &leaves, &remove(&n, FIELD)).unwrap(),
            Status::Absent
        );
        for other in [
            "v3:HMAC-SHA256:mac-iv",
            "v2:HMAC-SHA512:mac-iv",
            "v2:X:AAAA",
        ] {
            assert!(refused(
                &leaves,
                &set(&n, FIELD, MetaNode::Str(other.into()))
            ));
        }
    }

    #[test]
    fn the_mac_that_carries_the_tag_is_covered() {
        let leaves = vec![leaf(vec![PathSeg::Key("a".into())], s("x"))];
        let n = sealed(&leaves, &meta());
        let with_mac = |ev: &EncValue| set(&n, "mac", MetaNode::Str(ev.to_text()));
        // Another IV (say, the one sops writes, random).
        let mut ev = stored_mac(&n);
        ev.iv[0] ^= 1;
        assert!(refused(&leaves, &with_mac(&ev)));
        // The right IV on a changed MAC ciphertext: GCM refuses it.
        let mut ev = stored_mac(&n);
        ev.data[0] ^= 1;
        assert!(refused(&leaves, &with_mac(&ev)));
        // A 12-byte IV, and no mac at all, under the v2 marker.
        let mut ev = stored_mac(&n);
        ev.iv.truncate(12);
        assert!(refused(&leaves, &with_mac(&ev)));
        assert!(refused(&leaves, &remove(&n, "mac")));
        assert!(refused(&leaves, &set(&n, "mac", MetaNode::Str("x".into()))));
    }

    #[test]
    fn reseal_keeps_the_mac_and_moves_the_iv() {
        let leaves = vec![leaf(vec![PathSeg::Key("a".into())], s("x"))];
        let n = sealed(&leaves, &meta());
        // New metadata, same values (updatekeys).
        let mut changed = set(&n, "shamir_threshold", MetaNode::Int(1));
        let keep = vec![Replacement::Keep; leaves.len()];
        reseal(&key(), &leaves, &keep, &mut changed).unwrap();
        assert_eq!(verify(&key(), &leaves, &changed).unwrap(), Status::Valid);
        assert_ne!(stored_mac(&changed).iv, stored_mac(&n).iv);
        let Some(MetaNode::Str(mac)) = changed.get("mac") else {
            panic!()
        };
        sops_mac::verify(&key(), mac, "2024-01-01T00:00:00Z", HEX).unwrap();
    }

    #[test]
    fn chunks_cover_every_leaf_in_order() {
        let n_leaves = 2 * LEAVES_PER_CHUNK + 3;
        let leaves: Vec<Leaf> = (0..n_leaves)
            .map(|i| leaf(vec![PathSeg::Key(format!("k{i}"))], s("v")))
            .collect();
        let n = sealed(&leaves, &meta());
        assert_eq!(verify(&key(), &leaves, &n).unwrap(), Status::Valid);
        // A change in the last chunk, a swap across a chunk boundary, a
        // dropped last leaf.
        let mut l = leaves.clone();
        l[n_leaves - 1].kind = s("w");
        assert!(refused(&l, &n));
        let mut l = leaves.clone();
        l.swap(LEAVES_PER_CHUNK - 1, LEAVES_PER_CHUNK);
        assert!(refused(&l, &n));
        assert!(refused(&leaves[..n_leaves - 1], &n));
        // Empty comments are skipped wherever they fall, chunk boundaries
        // included: a rewrite that adds one keeps the tag.
        let mut l = leaves.clone();
        let empty = || leaf(vec![], LeafKind::Comment(Zeroizing::new(String::new())));
        l.insert(LEAVES_PER_CHUNK, empty());
        l.insert(0, empty());
        assert_eq!(verify(&key(), &l, &n).unwrap(), Status::Valid);
        // The chunk count is covered: no leaves at all is not the document.
        assert!(refused(&[], &n));
    }

    /// A v1 value, as earlier builds wrote it (the real files are in
    /// testdata/auth-v1).
    fn sealed_v1(leaves: &[Leaf], node: &MetaNode) -> MetaNode {
        let tag = v1_mac(&key(), leaves, node).finalize().into_bytes();
        let v = format!(
            "{V1_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(tag)
        );
        set(node, FIELD, MetaNode::Str(v))
    }

    #[test]
    fn v1_is_still_verified() {
        let leaves = vec![leaf(vec![PathSeg::Key("a".into())], s("x"))];
        let n = sealed_v1(&leaves, &set(&meta(), "mac", MetaNode::Str("m".into())));
        assert_eq!(verify(&key(), &leaves, &n).unwrap(), Status::Valid);
        // v1 covers the mac field as metadata.
        assert!(refused(&leaves, &set(&n, "mac", MetaNode::Str("n".into()))));
        let other = vec![leaf(vec![PathSeg::Key("b".into())], s("x"))];
        assert!(refused(&other, &n));
        let MetaNode::Str(v) = n.get(FIELD).unwrap() else {
            panic!()
        };
        let bad = v.replace(V1_PREFIX, "v1:HMAC-SHA256:!");
        assert!(refused(&leaves, &set(&n, FIELD, MetaNode::Str(bad))));
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
