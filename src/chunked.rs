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
                    if let Some(text) = engine::encrypt_leaf(&mut enc, &mut aad, &leaves[i], None) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DecryptOptions;
    use crate::formats::Format;
    use crate::metadata::{AgeKey, KeyGroup};

    fn key() -> DataKey {
        DataKey::from_bytes([9; 32])
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

    /// Encrypt `src` through the chunked writer when it applies (`None`
    /// when the document takes the old path), check the result decrypts
    /// back to `src` with a valid `shroud_auth`, and return it.
    fn round_trip(src: &str) -> Option<String> {
        round_trip_in(Format::Yaml, src)
    }

    fn round_trip_in(format: Format, src: &str) -> Option<String> {
        let key = key();
        let doc = format.parse(src).unwrap();
        let settings = EncryptSettings::default();
        let now = engine::now_utc();
        let c = Chunked::prepare(doc.as_ref(), &key, groups(), None, &settings, now).unwrap();
        let plan = c.plan().unwrap()?;
        let mut out = Vec::new();
        c.write(&plan, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&c.placeholder), "the placeholder was written");
        let enc = format.parse(&out).unwrap();
        let meta = engine::metadata(enc.as_ref()).unwrap();
        let options = DecryptOptions {
            ignore_mac: false,
            require_auth: true,
        };
        let plain = engine::decrypt(enc.as_ref(), &meta, &key, options).unwrap();
        assert_eq!(plain.text.as_str(), src);
        Some(out.clone())
    }

    /// Many chunks (and more than one group of them), every scalar style,
    /// comments, and a final value without a line break.
    #[test]
    fn chunked_output_verifies_and_decrypts() {
        let mut src = String::from("# top comment\nlist:\n");
        for i in 0..(integrity::LEAVES_PER_CHUNK * 5 + 17) {
            match i % 7 {
                0 => src.push_str(&format!("  - plain {i}\n")),
                1 => src.push_str(&format!("  - 'single {i}'\n")),
                2 => src.push_str(&format!("  - \"double {i}\"\n")),
                3 => src.push_str(&format!("  - |\n    block {i}\n")),
                4 => src.push_str(&format!("  - {{a: flow {i}, b: {i}}}\n")),
                5 => src.push_str(&format!("  # comment {i}\n  - {i}.5\n")),
                _ => src.push_str(&format!("  - [x{i}, true, \"\"]\n")),
            }
        }
        src.push_str("last: >-\n  folded");
        let out = round_trip(&src).expect("written in chunks");
        assert!(out.contains("shroud_auth: v2:HMAC-SHA256:mac-iv"));
    }

    /// The chunked writer gives the transcript `integrity::seal` computes:
    /// the same leaves and texts seal to the same `mac`.
    #[test]
    fn same_seal_as_the_whole_document() {
        let key = key();
        let mut src = String::new();
        for i in 0..(integrity::LEAVES_PER_CHUNK * 2 + 5) {
            src.push_str(&format!("k{i}: v{i} # c\n"));
        }
        let doc = Format::Yaml.parse(&src).unwrap();
        let settings = EncryptSettings::default();
        let now = engine::now_utc();
        let c = Chunked::prepare(doc.as_ref(), &key, groups(), None, &settings, now).unwrap();
        let plan = c.plan().unwrap().unwrap();
        let mut out = Vec::new();
        c.write(&plan, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        // Seal the written values (as the file holds them) the old way.
        let written = Format::Yaml.parse(&out).unwrap();
        let edits: Vec<Replacement> = written
            .leaves()
            .iter()
            .map(|l| match &l.kind {
                crate::document::LeafKind::Scalar {
                    value: crate::document::Value::Str(s),
                    ..
                } => Replacement::Encrypted(s.to_string()),
                crate::document::LeafKind::Comment(t) => Replacement::Encrypted(t.to_string()),
                _ => Replacement::Keep,
            })
            .collect();
        let mut node = c.node.clone();
        integrity::seal(&key, doc.leaves(), &edits, &mut node, &c.mac_hex).unwrap();
        let Some(MetaNode::Str(mac)) = node.get("mac") else {
            panic!("no mac")
        };
        assert!(out.contains(&format!("mac: {mac}")), "{mac}");
    }

    #[test]
    fn dotenv_in_chunks() {
        let mut src = String::from("# top\n");
        for i in 0..(integrity::LEAVES_PER_CHUNK * 3 + 1) {
            src.push_str(&format!("K{i}=value {i}\n# note {i}\nE{i}=\n"));
        }
        let out = round_trip_in(Format::Dotenv, &src).expect("written in chunks");
        assert!(out.contains("sops_shroud_auth=v2:HMAC-SHA256:mac-iv"));
    }

    #[test]
    fn json_in_chunks() {
        let mut src = String::from("{\n  \"list\": [\n");
        let n = integrity::LEAVES_PER_CHUNK * 3 + 1;
        for i in 0..n {
            let sep = if i + 1 == n { "" } else { "," };
            src.push_str(&format!(
                "    {{\"s\": \"v {i}\", \"n\": {i}.5, \"b\": true, \"e\": \"\", \"z\": null}}{sep}\n"
            ));
        }
        src.push_str("  ]\n}\n");
        let out = round_trip_in(Format::Json, &src).expect("written in chunks");
        assert!(out.contains("\"shroud_auth\": \"v2:HMAC-SHA256:mac-iv\""));
    }

    /// An alias that reaches a value to encrypt is written out as a copy,
    /// and a stream of documents gets metadata in each: both take the old
    /// path.
    #[test]
    fn aliases_and_several_documents_take_the_old_path() {
        assert!(round_trip("a: &x v\nb: *x\n").is_none());
        assert!(round_trip("a: 1\n---\nb: 2\n").is_none());
        assert!(round_trip("a: 1\n").is_some());
    }
}
