//! From recipients to the metadata's key groups, and back to the data key.
//!
//! One group: every recipient wraps the whole 32-byte data key. Two or more
//! groups: the key is split with Shamir's scheme, group i's recipients wrap
//! share i, and any `threshold` groups rebuild the key (spec section 6).

use crate::crypto::DataKey;
use crate::crypto::shamir;
use crate::error::Error;
use crate::metadata::{AgeKey, KeyGroup, Metadata};

use super::{Identities, Recipient, unwrap_any, wrap};

/// Wrap `key` for `groups` of recipients. Returns the key groups and the
/// Shamir threshold to record (`None` for a single group).
pub fn wrap_groups(
    key: &DataKey,
    groups: &[Vec<Recipient>],
    threshold: Option<usize>,
) -> Result<(Vec<KeyGroup>, Option<usize>), Error> {
    if groups.is_empty() || groups.iter().any(|g| g.is_empty()) {
        return Err(Error::NoRecipients("a key group has no recipients".into()));
    }
    let wrap_all = |secret: &[u8], recipients: &[Recipient]| -> Result<KeyGroup, Error> {
        let age = recipients
            .iter()
            .map(|r| {
                Ok(AgeKey {
                    recipient: r.as_str().to_string(),
                    enc: wrap(secret, r)?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(KeyGroup { age, other: vec![] })
    };
    if groups.len() == 1 {
        return Ok((vec![wrap_all(key.as_bytes(), &groups[0])?], None));
    }
    let threshold = threshold.filter(|&t| t != 0).unwrap_or(groups.len());
    let shares = shamir::split(key.as_bytes(), groups.len(), threshold)
        .map_err(|e| Error::NoRecipients(format!("cannot split the data key: {e}")))?;
    let wrapped = groups
        .iter()
        .zip(&shares)
        .map(|(g, share)| wrap_all(share, g))
        .collect::<Result<_, _>>()?;
    Ok((wrapped, Some(threshold)))
}

/// Recover a file's data key with the identities at hand.
pub fn data_key(meta: &Metadata, identities: &Identities) -> Result<DataKey, Error> {
    let entries = |g: &KeyGroup| -> Vec<(String, String)> {
        g.age
            .iter()
            .map(|k| (k.recipient.clone(), k.enc.clone()))
            .collect()
    };
    if meta.key_groups.len() == 1 {
        let secret = unwrap_any(&entries(&meta.key_groups[0]), identities)?;
        return DataKey::from_slice(&secret).ok_or_else(|| {
            Error::Metadata(format!(
                "the wrapped data key is {} bytes, not 32",
                secret.len()
            ))
        });
    }
    // Every group is tried; each gives its share from the first key that works.
    let mut shares = Vec::new();
    let mut failures = Vec::new();
    for (i, g) in meta.key_groups.iter().enumerate() {
        match unwrap_any(&entries(g), identities) {
            Ok(s) => shares.push(s),
            Err(e) => failures.push(format!("key group {i}: {e}")),
        }
    }
    let threshold = meta.shamir_threshold.unwrap_or(meta.key_groups.len());
    if shares.len() < threshold {
        return Err(Error::NoKey(format!(
            "only {} of the {} key groups could be opened, and {threshold} are needed:\n{}",
            shares.len(),
            meta.key_groups.len(),
            failures.join("\n")
        )));
    }
    let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
    let secret = shamir::combine(&refs).map_err(|e| Error::Metadata(e.to_string()))?;
    DataKey::from_slice(&secret).ok_or_else(|| {
        Error::Metadata(format!(
            "the rebuilt data key is {} bytes, not 32",
            secret.len()
        ))
    })
}
