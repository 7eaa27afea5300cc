//! Encrypting and decrypting a big document a piece at a time, on every
//! core, so that time and memory follow the pieces in flight rather than
//! the whole file (issue 2: a 3 MB YAML file in under 0.15 s and under 5x
//! its size in memory).
//!
//! A format that can cut a file into pieces that each parse on their own
//! (YAML: [`crate::formats::yaml::segment`]; JSON, a run of members of the
//! root object each: [`crate::formats::json::segment`]) hands over their
//! byte ranges. Workers ([`pool`]) parse a piece, run the same per-leaf engine
//! code as a whole-file command ([`engine::first_pass_with`],
//! [`engine::encrypt_leaf`], [`engine::decrypt_pass`]), render it, and
//! serialise what the two authenticators need. The calling thread takes
//! the pieces in order: it feeds the SOPS MAC and the `shroud_auth` chunk
//! digests ([`ChunkStream`]), checks root keys for duplicates across
//! pieces, and writes.
//!
//! The result is the file the whole-file path gives (other random IVs):
//! the leaves of a piece have the same locations, depths and order as in
//! the whole file, the MAC sees the same bytes in the same order, and the
//! `shroud_auth` chunks are cut at the same leaves. The tests in
//! `tests.rs` compare the two paths on the Helm corpus.
//!
//! Whatever the stream cannot do exactly as the whole-file path would, it
//! declines ([`Error::Declined`], with a reason for `--verbose`) before
//! anything is committed, and the caller runs the whole-file path, which
//! also gives every error message: a file with comment rules (they depend
//! on everything read before), a piece that does not parse on its own or
//! renders with a warning, a duplicate root key, a value that does not
//! decrypt, a MAC that does not match.

pub mod pool;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::io::{self, Write};
use std::ops::Range;

use zeroize::Zeroizing;

use crate::crypto::cipher::{DataKey, Encryptor};
use crate::crypto::mac::{self, MacHasher};
use crate::document::{Document, MetaNode, Replacement};
use crate::engine::{self, DecryptOptions, EncryptSettings, IvStash};
use crate::formats::{Format, json};
use crate::integrity::{self, ChunkStream, LeafBytes};
use crate::metadata::{KeyGroup, Metadata};
use crate::treepath::PathSeg;
use crate::value::Timestamp;

/// Files smaller than this are read whole: they take milliseconds anyway.
pub const STREAM_FROM: usize = 256 * 1024;

/// Bytes of source per piece. A piece's leaves, edits and rendered text
/// take about 40 times its size while it is worked on, and a few pieces
/// per thread are in flight. On the 3 MB benchmark file, 4 KiB pieces
/// keep encrypting at 12.5-13.3 MiB peak in ten runs (8 KiB: 13.5-15.7,
/// over the 14.7 MiB that 5x the input allows), as fast as bigger ones;
/// decrypting is as fast with 64 KiB pieces of ciphertext (about 500
/// values) as with anything bigger. docs/benchmarks.md has the runs.
const ENCRYPT_PIECE: usize = 4 * 1024;
const DECRYPT_PIECE: usize = 64 * 1024;

/// The same for JSON. On the 3.86 MB JSON benchmark file, 4 KiB pieces
/// encrypt at 14.6-15.4 MiB peak in 30 runs (8 KiB: 15.9-17.3, 16 KiB:
/// 16.9-18.3, too near the 18.4 MiB that 5x the input allows, and no
/// measurably faster); 64 KiB pieces of ciphertext decrypted faster than
/// 16 or 32 KiB ones in interleaved runs, at about 32 MiB, far under the
/// 73 MiB allowed. docs/benchmarks.md has the runs.
const JSON_ENCRYPT_PIECE: usize = 4 * 1024;
const JSON_DECRYPT_PIECE: usize = 64 * 1024;

/// Pieces done ahead of the one being written, per thread.
const AHEAD_PER_THREAD: usize = 2;

/// Why a stream did not finish.
#[derive(Debug)]
pub enum Error {
    /// The whole-file path must run instead; nothing was committed.
    Declined(String),
    /// Writing the output failed.
    Io(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Declined(why) => f.write_str(why),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

fn declined(why: impl Into<String>) -> Error {
    Error::Declined(why.into())
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get().min(4))
}

/// The pieces of `src` to encrypt, or `None` when it is read whole.
pub fn encrypt_pieces(format: Format, src: &str) -> Option<Vec<Range<usize>>> {
    if src.len() < STREAM_FROM {
        return None;
    }
    match format {
        Format::Yaml => crate::formats::yaml::segment::pieces(src, ENCRYPT_PIECE, None),
        Format::Json => crate::formats::json::segment::pieces(src, JSON_ENCRYPT_PIECE, None),
        _ => None,
    }
}

/// How the pieces of one file parse. A YAML piece is a document of its
/// own; a JSON piece is a run of members of the root object, which needs
/// to know whether it opens or closes that object and two layout facts
/// of the whole file ([`json::Piece`]).
#[derive(Clone, Copy)]
struct Pieces<'s> {
    format: Format,
    count: usize,
    crlf: bool,
    pad: &'s str,
}

impl<'s> Pieces<'s> {
    fn new(format: Format, src: &'s str, count: usize) -> Pieces<'s> {
        let (mut crlf, mut pad) = (false, "");
        if format == Format::Json {
            let b = src.as_bytes();
            crlf = memchr::memchr(b'\n', b).is_some_and(|i| i > 0 && b[i - 1] == b'\r');
            // JSON's whitespace, not Unicode's: anything else makes the
            // first piece fail to parse, and the stream decline.
            let ws: &[char] = &[' ', '\t', '\n', '\r'];
            let body = src.strip_prefix('\u{feff}').unwrap_or(src);
            if let Some(after) = body.trim_start_matches(ws).strip_prefix('{') {
                pad = &after[..after.len() - after.trim_start_matches(ws).len()];
            }
        }
        Pieces {
            format,
            count,
            crlf,
            pad,
        }
    }

    /// Parse piece `i`, whose text is `text`.
    fn parse<'t>(&self, i: usize, text: &'t str) -> Result<Box<dyn Document + 't>, Error>
    where
        's: 't,
    {
        let doc: Result<Box<dyn Document + 't>, _> = match self.format {
            Format::Json => json::JsonDocument::parse_piece(
                text,
                json::Piece {
                    opens: i == 0,
                    closes: i + 1 == self.count,
                    crlf: self.crlf,
                    pad: self.pad,
                },
            )
            .map(|d| Box::new(d) as Box<dyn Document + 't>),
            format => format.parse(text),
        };
        doc.map_err(|_| declined("a piece does not parse on its own"))
    }
}

/// A growing buffer for plaintext that leaves no copy behind: a `Vec`
/// that doubles frees its old allocation unwiped, so this moves the bytes
/// to a new buffer itself and wipes the old one (`Zeroizing`).
struct SecretBuf(Zeroizing<Vec<u8>>);

impl SecretBuf {
    fn with_capacity(n: usize) -> SecretBuf {
        SecretBuf(Zeroizing::new(Vec::with_capacity(n)))
    }

    fn extend(&mut self, b: &[u8]) {
        let need = self.0.len() + b.len();
        if need > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(need.max(2 * self.0.capacity())));
            bigger.extend_from_slice(&self.0);
            self.0 = bigger;
        }
        self.0.extend_from_slice(b);
    }
}

impl Write for SecretBuf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.extend(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Seals the metadata once the last piece's leaves are in (encrypting).
type Seal<'a> = &'a mut dyn FnMut(&mut Piece) -> Result<MetaNode, Error>;

/// The plaintext, one buffer per piece in order, and warnings.
pub type Decrypted = (Vec<Zeroizing<Vec<u8>>>, Vec<String>);

/// What one worker made of one piece.
struct Piece {
    text: Zeroizing<Vec<u8>>,
    /// What the SOPS MAC hashes, in order (plaintext: wiped on drop).
    mac: Zeroizing<Vec<u8>>,
    transcript: LeafBytes,
    roots: Vec<String>,
    warnings: Vec<String>,
}

/// The root keys of a piece's leaves, each once.
fn roots(doc: &dyn Document) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for leaf in doc.leaves() {
        if let Some(PathSeg::Key(k)) = leaf.loc.first()
            && out.last().is_none_or(|l| l != k.as_str())
        {
            out.push(k.as_str().to_string());
        }
    }
    out
}

/// The calling thread's share: both authenticators and the root keys, in
/// document order.
struct Sink {
    mac: MacHasher,
    chunks: ChunkStream,
    roots: HashSet<String>,
    warnings: Vec<String>,
}

impl Sink {
    fn new(mac_only_encrypted: bool) -> Sink {
        Sink {
            mac: MacHasher::new(mac_only_encrypted),
            chunks: ChunkStream::default(),
            roots: HashSet::new(),
            warnings: Vec::new(),
        }
    }

    /// Take the next piece; its text is the caller's to write.
    fn take(&mut self, p: &mut Piece) -> Result<(), Error> {
        for r in p.roots.drain(..) {
            if !self.roots.insert(r) {
                return Err(declined("a root key appears in two pieces"));
            }
        }
        self.mac.update(&p.mac);
        self.chunks.push(&p.transcript);
        self.warnings.append(&mut p.warnings);
        Ok(())
    }
}

/// Encrypt one piece: leaves, rules, MAC input, `ENC[...]` texts, the
/// `shroud_auth` transcript; rendered with `metadata` when given.
fn encrypt_piece(
    parser: &Pieces<'_>,
    i: usize,
    text: &str,
    key: &DataKey,
    settings: &EncryptSettings,
    metadata: Option<Seal<'_>>,
) -> Result<Piece, Error> {
    let doc = parser.parse(i, text)?;
    if doc.metadata().is_some() {
        return Err(declined("the file already has sops metadata"));
    }
    let leaves = doc.leaves();
    let mut mac = SecretBuf::with_capacity(text.len());
    let (todo, _) = engine::first_pass_with(leaves, settings, &mut IvStash::off(), &mut |b| {
        mac.extend(b)
    });
    let mut enc = Encryptor::new(key);
    let mut aad = String::new();
    let edits: Vec<Replacement> = leaves
        .iter()
        .zip(&todo)
        .map(|(leaf, &todo)| {
            match todo
                .then(|| engine::encrypt_leaf(&mut enc, &mut aad, leaf, None))
                .flatten()
            {
                Some(text) => Replacement::Encrypted(text),
                None => Replacement::Keep,
            }
        })
        .collect();
    let mut transcript = LeafBytes::default();
    for (leaf, edit) in leaves.iter().zip(&edits) {
        transcript.push(leaf, Some(edit));
    }
    let mut piece = Piece {
        text: Zeroizing::new(Vec::new()),
        mac: mac.0,
        transcript,
        roots: roots(doc.as_ref()),
        warnings: Vec::new(),
    };
    let node = match metadata {
        Some(seal) => Some(seal(&mut piece)?),
        None => None,
    };
    let plan = doc
        .plan(&edits, node.as_ref())
        .map_err(|_| declined("a piece does not render on its own"))?;
    if !plan.warnings.is_empty() {
        // An alias written out as a copy: the whole-file path seals what
        // that really wrote.
        return Err(declined("rendering a piece changed the document"));
    }
    let mut out = Vec::with_capacity(text.len() * 4);
    plan.write_to(&mut out).map_err(Error::Io)?;
    piece.text = Zeroizing::new(out);
    Ok(piece)
}

/// A new encrypted file for the plaintext `src`, cut into `pieces`
/// ([`encrypt_pieces`]), written to `out` as it is made: the same file
/// [`crate::chunked`] writes. On [`Error::Declined`], `out` holds a part
/// of it, to be thrown away.
#[allow(clippy::too_many_arguments)]
pub fn encrypt(
    format: Format,
    src: &str,
    pieces: &[Range<usize>],
    key: &DataKey,
    key_groups: Vec<KeyGroup>,
    shamir_threshold: Option<usize>,
    settings: &EncryptSettings,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if settings.rule.reads_comments() {
        return Err(declined("a comment rule depends on the whole file"));
    }
    let Some((last, body)) = pieces.split_last() else {
        return Err(declined("nothing to cut"));
    };
    let parser = Pieces::new(format, src, pieces.len());
    let mut sink = Sink::new(settings.mac_only_encrypted);
    let threads = threads();
    pool::ordered(
        body.len(),
        threads,
        threads * AHEAD_PER_THREAD,
        |i| encrypt_piece(&parser, i, &src[body[i].clone()], key, settings, None),
        |_, piece| {
            let mut piece = piece?;
            sink.take(&mut piece)?;
            out.write_all(&piece.text).map_err(Error::Io)
        },
    )?;
    // The last piece carries the metadata, sealed once every leaf is in.
    let mut node = Some(engine::new_metadata(
        key_groups,
        shamir_threshold,
        settings,
        now,
    ));
    let mut seal = |piece: &mut Piece| -> Result<MetaNode, Error> {
        sink.take(piece)?;
        let mut node = node.take().ok_or_else(|| declined("sealed twice"))?;
        let sink = std::mem::replace(&mut sink, Sink::new(false));
        let digests = sink.chunks.finish();
        integrity::seal_digests(key, &digests, &mut node, &sink.mac.finish_hex())
            .map_err(|_| declined("the metadata cannot be sealed"))?;
        Ok(node)
    };
    let piece = encrypt_piece(
        &parser,
        body.len(),
        &src[last.clone()],
        key,
        settings,
        Some(&mut seal),
    )?;
    out.write_all(&piece.text).map_err(Error::Io)
}

/// An encrypted file about to be decrypted a piece at a time: its
/// metadata, read first from the piece that holds it.
pub struct Decrypting<'a> {
    parser: Pieces<'a>,
    src: &'a str,
    pieces: Vec<Range<usize>>,
    node: MetaNode,
    meta: Metadata,
}

impl<'a> Decrypting<'a> {
    /// `None` when `src` is read whole (small, or not cut into pieces).
    pub fn new(format: Format, src: &'a str) -> Option<Result<Decrypting<'a>, Error>> {
        if src.len() < STREAM_FROM {
            return None;
        }
        let pieces = match format {
            Format::Yaml => {
                crate::formats::yaml::segment::pieces(src, DECRYPT_PIECE, Some("sops"))?
            }
            Format::Json => {
                crate::formats::json::segment::pieces(src, JSON_DECRYPT_PIECE, Some("sops"))?
            }
            _ => return None,
        };
        Some(Self::with_pieces(format, src, pieces))
    }

    fn with_pieces(
        format: Format,
        src: &'a str,
        pieces: Vec<Range<usize>>,
    ) -> Result<Decrypting<'a>, Error> {
        let last = pieces.last().ok_or_else(|| declined("nothing to cut"))?;
        let parser = Pieces::new(format, src, pieces.len());
        let doc = parser.parse(pieces.len() - 1, &src[last.clone()])?;
        let node = doc
            .metadata()
            .cloned()
            .ok_or_else(|| declined("no sops metadata in the last piece"))?;
        let meta = Metadata::from_node(&node).map_err(|_| declined("unreadable metadata"))?;
        if meta.rule.reads_comments() {
            return Err(declined("a comment rule depends on the whole file"));
        }
        if !integrity::digests_suffice(&node) {
            return Err(declined("a v1 shroud_auth needs the whole file"));
        }
        Ok(Decrypting {
            parser,
            src,
            pieces,
            node,
            meta,
        })
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Decrypt every piece and check the SOPS MAC and `shroud_auth` over
    /// all of them: the plaintext, a buffer per piece in order (nothing
    /// is written before everything checked out), and warnings.
    pub fn decrypt(&self, key: &DataKey, options: DecryptOptions) -> Result<Decrypted, Error> {
        let mut sink = Sink::new(self.meta.mac_only_encrypted);
        let mut texts = Vec::with_capacity(self.pieces.len());
        let threads = threads();
        let last = self.pieces.len() - 1;
        pool::ordered(
            self.pieces.len(),
            threads,
            threads * AHEAD_PER_THREAD,
            |i| self.decrypt_piece(i, i == last, &self.src[self.pieces[i].clone()], key),
            |_, piece| {
                let mut piece = piece?;
                sink.take(&mut piece)?;
                texts.push(std::mem::take(&mut piece.text));
                Ok(())
            },
        )?;
        // The whole-file renderer drops the output's final line break when
        // the metadata block ended a file that has none (undoing how the
        // block was appended to it); inside its own piece, the block cannot
        // see the text before it, so that is done here.
        if !self.src.ends_with('\n')
            && texts.last().is_some_and(|t| t.is_empty())
            && let Some(t) = texts.iter_mut().rev().find(|t| !t.is_empty())
            && t.last() == Some(&b'\n')
        {
            t.pop();
            // A streamed file's breaks are all LF or all CRLF.
            if t.last() == Some(&b'\r') {
                t.pop();
            }
        }
        let mut warnings = sink.warnings;
        let computed = sink.mac.finish_hex();
        match mac::verify(key, &self.meta.mac, &self.meta.lastmodified, &computed) {
            Ok(()) => {}
            Err(e) if options.ignore_mac => {
                warnings.push(format!("{e} (ignored because of --ignore-mac)"))
            }
            Err(_) => return Err(declined("the MAC does not match")),
        }
        let digests = sink.chunks.finish();
        engine::judge_auth(
            integrity::verify_digests(key, &digests, &self.node),
            options,
            &mut warnings,
        )
        .map_err(|_| declined("shroud_auth does not match"))?;
        Ok((texts, warnings))
    }

    fn decrypt_piece(
        &self,
        i: usize,
        last: bool,
        text: &str,
        key: &DataKey,
    ) -> Result<Piece, Error> {
        let doc = self.parser.parse(i, text)?;
        if doc.metadata().is_some() != last {
            return Err(declined("sops metadata outside the last piece"));
        }
        let leaves = doc.leaves();
        // Plaintext is about a quarter of its ciphertext.
        let mut mac = SecretBuf::with_capacity(text.len() / 4);
        let mut warnings = Vec::new();
        let edits = engine::decrypt_pass(
            leaves,
            &self.meta,
            key,
            &mut IvStash::off(),
            &mut |b| mac.extend(b),
            &mut warnings,
        )
        .map_err(|_| declined("a value does not decrypt"))?;
        let mut transcript = LeafBytes::default();
        for leaf in leaves {
            transcript.push(leaf, None);
        }
        let plan = doc
            .plan(&edits, None)
            .map_err(|_| declined("a piece does not render on its own"))?;
        warnings.extend(plan.warnings.iter().cloned());
        let mut out = SecretBuf::with_capacity(text.len() / 3);
        plan.write_to(&mut out).map_err(Error::Io)?;
        Ok(Piece {
            text: out.0,
            mac: mac.0,
            transcript,
            roots: roots(doc.as_ref()),
            warnings,
        })
    }
}
