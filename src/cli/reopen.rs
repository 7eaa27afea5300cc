//! Opening an encrypted file to change it (`edit`, `set`): its data key,
//! metadata, plaintext, and the IV of every value, so that re-encrypting
//! keeps the ciphertext of whatever did not change.

use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::{as_text, io, keyring, warn};
use shroud::crypto::DataKey;
use shroud::engine::{self, IvStash};
use shroud::formats::Format;
use shroud::metadata::Metadata;

/// The file as it is now: its key, metadata and IV stash, plus plaintext.
pub struct Existing {
    pub key: DataKey,
    pub meta: Metadata,
    pub stash: IvStash,
    pub plaintext: Zeroizing<String>,
}

pub fn reopen(file: &Path, format: Format, ignore_mac: bool) -> Result<Existing> {
    let name = file.display().to_string();
    let input = io::read_input(Some(file))?;
    let text = as_text(&input, &name)?;
    let doc = format.parse(text).with_context(|| name.clone())?;
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
    let key = keyring::data_key(&meta).with_context(|| name.clone())?;
    let mut stash = IvStash::default();
    let (edits, warnings) = engine::decrypt_leaves_with_stash(
        doc.as_ref(),
        &meta,
        &key,
        super::decrypt_options(ignore_mac),
        &mut stash,
    )
    .with_context(|| name.clone())?;
    for w in warnings {
        warn(&format!("{name}: {w}"));
    }
    let plaintext = Zeroizing::new(doc.render(&edits, None).with_context(|| name.clone())?.text);
    Ok(Existing {
        key,
        meta,
        stash,
        plaintext,
    })
}
