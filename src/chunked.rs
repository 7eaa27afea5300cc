//! Encrypting a document a chunk of values at a time, so that the
//! `ENC[...]` texts of a big file never all exist at once (issue 2).
//!
//! [`crate::engine::encrypt_parts`] makes one `ENC[...]` string per value
//! before anything is written, because the metadata (which goes last in
//! every format) holds the MAC sealed with `shroud_auth`, whose transcript
//! covers every encrypted value. Here the format plans the output first
//! with the encrypted texts left open ([`Document::plan_filled`]: every
//! span checked, nothing written yet), then the writer encrypts the values
//! a group of `shroud_auth` chunks at a time (one chunk per core), feeds
//! each chunk's digest to the seal ([`Sealer`]), writes the texts and
//! reuses the buffer. The metadata's `mac` is written as a placeholder of
//! the right shape in the plan, and replaced by the sealed MAC when the
//! metadata is written, after the last chunk. The transcript is the same
//! bytes [`crate::integrity::seal`] hashes, so the result is the file
//! [`crate::engine::encrypt_parts`] would give, with other random IVs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};

use crate::crypto::cipher::{DataKey, EncValue, Encryptor};
use crate::crypto::mac as sops_mac;
use crate::document::{Document, MetaNode, Replacement};
use crate::engine::{self, EncryptSettings, Encrypted, IvStash};
use crate::error::{Error, FormatError};
use crate::formats::splice::Spliced;
use crate::integrity::{self, Sealer};
use crate::metadata::KeyGroup;
use crate::value::Timestamp;

/// `shroud_auth` chunks encrypted per group: one per thread.
fn chunks_per_group() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get().min(8))
}

/// A document whose values are about to be encrypted: the in-order pass
/// (rules, SOPS MAC) is done, the cryptography is not.
pub struct Chunked<'d> {
    doc: &'d dyn Document,
    key: &'d DataKey,
    todo: Vec<bool>,
    mac_hex: String,
    /// The metadata as it will be written, with [`Chunked::placeholder`]
    /// for `mac`.
    node: MetaNode,
    placeholder: String,
}

impl<'d> Chunked<'d> {
    /// The first pass of [`engine::encrypt_parts`].
    pub fn prepare(
        doc: &'d dyn Document,
        key: &'d DataKey,
        key_groups: Vec<KeyGroup>,
        shamir_threshold: Option<usize>,
        settings: &EncryptSettings,
        now: Timestamp,
    ) -> Result<Chunked<'d>, Error> {
        if doc.metadata().is_some() {
            return Err(Error::AlreadyEncrypted);
        }
        let pass = engine::first_pass(doc.leaves(), settings, &mut IvStash::off());
        let mut node = engine::new_metadata(key_groups, shamir_threshold, settings, now);
        integrity::mark(&mut node)?;
        // What can fail in sealing fails now, before anything is written.
        let lastmodified = match node.get("lastmodified") {
            Some(MetaNode::Str(s)) => s.clone(),
            _ => return Err(Error::Metadata("no lastmodified".into())),
        };
        sops_mac::mac_aad(&lastmodified)?;
        // The sealed MAC's shape: the same length, so nothing moves when
        // it is put in.
        let placeholder = EncValue {
            data: vec![0; pass.mac_hex.len()],
            iv: vec![0; 32],
            tag: [0; 16],
            ty: "str".into(),
        }
        .to_text();
        set_mac(&mut node, placeholder.clone());
        Ok(Chunked {
            doc,
            key,
            todo: pass.todo,
            mac_hex: pass.mac_hex,
            node,
            placeholder,
        })
    }

    /// The checked output with the encrypted texts open, or `None` when the
    /// format or document cannot be written this way (then use
    /// [`Chunked::into_encrypted`]).
    pub fn plan(&self) -> Result<Option<Spliced<'d>>, FormatError> {
        let Some(spliced) = self.doc.plan_filled(&self.todo, &self.node)? else {
            return Ok(None);
        };
        let placeholder = self.placeholder.as_str();
        Ok(spliced
            .fills_in_order(|t| t.contains(placeholder))
            .then_some(spliced))
    }

    /// Everything encrypted at once, as [`engine::encrypt_parts`] does.
    pub fn into_encrypted(mut self) -> Result<Encrypted, Error> {
        let leaves = self.doc.leaves();
        let edits = engine::encrypt_all(self.key, leaves, &self.todo, &HashMap::new());
        integrity::seal(self.key, leaves, &edits, &mut self.node, &self.mac_hex)?;
        Ok(Encrypted {
            edits,
            metadata: self.node,
        })
    }

    /// Write `plan` (from [`Chunked::plan`]) to `w`, which should buffer,
    /// encrypting the values a group of chunks at a time.
    pub fn write(&self, plan: &Spliced<'_>, w: &mut dyn Write) -> io::Result<()> {
        let state = RefCell::new(Writer {
            c: self,
            starts: integrity::encrypt_chunk_starts(self.doc.leaves()),
            next: 0,
            lo: 0,
            reps: Vec::new(),
            sealer: Sealer::default(),
            sealed: None,
        });
        plan.write_filled(
            w,
            &mut |slot, skip, w| state.borrow_mut().fill(slot as usize, skip, w),
            &mut |text, w| state.borrow_mut().text(text, w),
        )?;
        if state.borrow().sealed.is_none() {
            // The plan had no metadata: it always has, so this is a bug.
            return Err(io::Error::other("the metadata was not written"));
        }
        Ok(())
    }
}

fn set_mac(node: &mut MetaNode, mac: String) {
    if let MetaNode::Map(entries) = node {
        match entries.iter_mut().find(|(k, _)| k == "mac") {
            Some((_, v)) => *v = MetaNode::Str(mac),
            None => entries.push(("mac".into(), MetaNode::Str(mac))),
        }
    }
}

/// The state of [`Chunked::write`].
struct Writer<'c, 'd> {
    c: &'c Chunked<'d>,
    /// Where each `shroud_auth` chunk starts.
    starts: Vec<usize>,
    /// The next chunk to encrypt.
    next: usize,
    /// The leaves `lo..lo + reps.len()` are encrypted in `reps`.
    lo: usize,
    reps: Vec<Replacement>,
    sealer: Sealer,
    /// The sealed `mac`, once every chunk is done.
    sealed: Option<String>,
}

impl Writer<'_, '_> {
    /// Encrypt the next group of chunks and add their digests to the seal.
    fn advance(&mut self) {
        let leaves = self.c.doc.leaves();
        let first = self.next;
        let last = (first + chunks_per_group()).min(self.starts.len());
        let end = |c: usize| self.starts.get(c + 1).copied().unwrap_or(leaves.len());
        let lo = self.starts[first];
        let hi = end(last - 1);
        self.reps.clear();
        self.reps.resize(hi - lo, Replacement::Keep);
        struct Job<'r> {
            start: usize,
            reps: &'r mut [Replacement],
            digest: [u8; 32],
        }
        let mut jobs = Vec::with_capacity(last - first);
        let mut rest = self.reps.as_mut_slice();
        for c in first..last {
            let (mine, more) = rest.split_at_mut(end(c) - self.starts[c]);
            jobs.push(Job {
                start: self.starts[c],
                reps: mine,
                digest: [0; 32],
            });
            rest = more;
        }
        let (key, todo) = (self.c.key, &self.c.todo);
        crate::par::for_each_chunk_min(&mut jobs, 1, |_, jobs| {
            let mut enc = Encryptor::new(key);
            let mut aad = String::new();
            for job in jobs {
                let span = job.start..job.start + job.reps.len();
                for (rep, i) in job.reps.iter_mut().zip(span.clone()) {
                    if !todo[i] {
                        continue;
                    }
                    if let Some(text) = engine::encrypt_leaf(&mut enc, &mut aad, &leaves[i], None)
                    {
                        *rep = Replacement::Encrypted(text);
                    }
                }
                job.digest = Sealer::digest(&leaves[span], job.reps);
            }
        });
        for job in &jobs {
            self.sealer.push(job.digest);
        }
        self.lo = lo;
        self.next = last;
    }

    fn fill(&mut self, i: usize, skip: usize, w: &mut dyn Write) -> io::Result<()> {
        while i >= self.lo + self.reps.len() && self.next < self.starts.len() {
            self.advance();
        }
        match i.checked_sub(self.lo).and_then(|j| self.reps.get(j)) {
            Some(Replacement::Encrypted(text)) => {
                w.write_all(text.as_bytes().get(skip..).unwrap_or_default())
            }
            // fills_in_order and the first pass rule this out.
            _ => Err(io::Error::other(format!(
                "value {i} was not encrypted in order"
            ))),
        }
    }

    fn text(&mut self, text: &str, w: &mut dyn Write) -> io::Result<()> {
        if !text.contains(self.c.placeholder.as_str()) {
            return w.write_all(text.as_bytes());
        }
        if self.sealed.is_none() {
            while self.next < self.starts.len() {
                self.advance();
            }
            self.reps = Vec::new();
            let mut node = self.c.node.clone();
            self.sealer
                .seal(self.c.key, &mut node, &self.c.mac_hex)
                .map_err(io::Error::other)?;
            let Some(MetaNode::Str(mac)) = node.get("mac") else {
                return Err(io::Error::other("sealing gave no mac"));
            };
            self.sealed = Some(mac.clone());
        }
        let sealed = self.sealed.as_deref().unwrap_or_default();
        w.write_all(text.replace(self.c.placeholder.as_str(), sealed).as_bytes())
    }
}
