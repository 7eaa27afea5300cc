//! Glue between the commands and `shroud::keys`: which recipients to
//! encrypt to, and how to get a file's data key back.

use anyhow::Result;

use super::warn;
use shroud::crypto::DataKey;
use shroud::keys::{self, EnvSource, Identities, Recipient};
use shroud::metadata::{KeyGroup, Metadata};

/// Recipients from `--age`/`SOPS_AGE_RECIPIENTS`, or else the default
/// identity, created on first use so a new user needs no setup.
pub fn encryption_recipients(age: Option<&str>) -> Result<Vec<Vec<Recipient>>> {
    if let Some(list) = age.filter(|l| !l.trim().is_empty()) {
        let recipients = Recipient::parse_list(list)?;
        if recipients.is_empty() {
            return Err(shroud::error::Error::NoRecipients("--age is empty".into()).into());
        }
        return Ok(vec![recipients]);
    }
    let env = EnvSource::process();
    let (recipient, created) = keys::ensure_default_identity(&env)?;
    if created {
        let path = keys::default_key_file(&env)?;
        eprintln!(
            "shroud: created a new age identity in {} (keep it safe: it decrypts your files)\n\
             shroud: its public key is {recipient}",
            path.display()
        );
    }
    Ok(vec![vec![Recipient::parse(&recipient)?]])
}

pub fn wrap_for(
    key: &DataKey,
    groups: &[Vec<Recipient>],
) -> Result<(Vec<KeyGroup>, Option<usize>)> {
    Ok(keys::wrap_groups(key, groups, None)?)
}

/// The data key of a file, from every identity source sops reads.
pub fn data_key(meta: &Metadata) -> Result<DataKey> {
    let identities = Identities::load();
    for w in identities.warnings() {
        warn(w);
    }
    Ok(keys::data_key(meta, &identities)?)
}
