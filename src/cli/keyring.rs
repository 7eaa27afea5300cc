//! Glue between the commands and `shroud::keys`: which recipients to
//! encrypt to, and how to get a file's data key back.

use anyhow::Result;

use super::{ui, warn};
use shroud::crypto::DataKey;
use shroud::keys::{self, EnvSource, Identities, Interaction, Recipient, SourceStatus};
use shroud::metadata::{KeyGroup, Metadata};

/// Where the recipients of a new file come from, in sops's precedence.
pub enum KeySource<'a> {
    /// `--age` / `SOPS_AGE_RECIPIENTS`: replaces any creation rule's keys.
    Flag(&'a str),
    /// The key groups of the matching `.sops.yaml` creation rule.
    Config {
        groups: &'a [Vec<String>],
        config: &'a std::path::Path,
    },
    /// No recipients anywhere and no config file: the default identity.
    Default,
}

/// The key groups to encrypt a new file to. The default identity is created
/// on first use, so a new user needs no setup.
pub fn encryption_recipients(source: KeySource) -> Result<Vec<Vec<Recipient>>> {
    match &source {
        KeySource::Flag(_) => ui::verbose("recipients from --age / SOPS_AGE_RECIPIENTS"),
        KeySource::Config { config, .. } => ui::verbose(&format!(
            "recipients from the creation rule in {}",
            config.display()
        )),
        KeySource::Default => {
            ui::verbose("recipients: none given and no .sops.yaml, so the default identity")
        }
    }
    match source {
        KeySource::Flag(list) => {
            let recipients = Recipient::parse_list(list)?;
            if recipients.is_empty() {
                return Err(shroud::error::Error::NoRecipients("--age is empty".into()).into());
            }
            return Ok(vec![recipients]);
        }
        KeySource::Config { groups, config } => {
            if groups.is_empty() || groups.iter().all(|g| g.is_empty()) {
                return Err(shroud::error::Error::NoRecipients(format!(
                    "the matching creation rule in {} has no age keys; add some or pass --age",
                    config.display()
                ))
                .into());
            }
            return groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|r| Recipient::parse(r).map_err(anyhow::Error::from))
                        .collect()
                })
                .collect();
        }
        KeySource::Default => {}
    }
    let env = EnvSource::process();
    let (recipient, created) = keys::ensure_default_identity(&env)?;
    if created {
        let path = keys::default_key_file(&env)?;
        super::ui::note(&format!(
            "created a new age identity in {} (keep it safe: it decrypts your files)",
            path.display()
        ));
        super::ui::note(&format!("its public key is {recipient}"));
    }
    Ok(vec![vec![Recipient::parse(&recipient)?]])
}

pub fn wrap_for(
    key: &DataKey,
    groups: &[Vec<Recipient>],
    threshold: Option<usize>,
) -> Result<(Vec<KeyGroup>, Option<usize>)> {
    Ok(keys::wrap_groups(key, groups, threshold)?)
}

/// The data key of a file, from every identity source sops reads.
pub fn data_key(meta: &Metadata) -> Result<DataKey> {
    data_key_with(meta, &identities())
}

/// Every identity source sops reads, loaded once (commands over many files
/// share them, so a key command runs once, not per file). Passphrases
/// (passphrase-protected identity files, encrypted SSH keys) are asked on
/// the terminal, and only when needed.
pub fn identities() -> Identities {
    let prompt = std::sync::Arc::new(super::tty::TerminalPrompt);
    let identities = Identities::load_with(&EnvSource::process(), Interaction::new(prompt));
    for w in identities.warnings() {
        warn(w);
    }
    if ui::is_verbose() {
        for source in identities.sources() {
            ui::verbose(&format!("identities: {source}"));
        }
    }
    identities
}

/// The data key of a file from already loaded identities.
pub fn data_key_with(meta: &Metadata, identities: &Identities) -> Result<DataKey> {
    let key = keys::data_key(meta, identities);
    if ui::is_verbose() {
        // Whether each passphrase-protected file was needed and opened.
        for source in identities.sources() {
            if matches!(source.status, SourceStatus::Protected(_)) {
                ui::verbose(&format!("identities: {source}"));
            }
        }
    }
    let key = key?;
    if ui::is_verbose() {
        report_opener(meta, identities);
    }
    Ok(key)
}

/// For `-v`: which of the file's recipients an identity at hand belongs to.
/// age does not say which identity matched, so each wrapped key is tried
/// on its own; this costs one more unwrap per recipient, only in verbose mode.
fn report_opener(meta: &Metadata, identities: &Identities) {
    for (g, group) in meta.key_groups.iter().enumerate() {
        let opener = group
            .age
            .iter()
            .find(|k| keys::unwrap_without_prompt(&k.enc, identities).is_ok());
        let where_ = if meta.key_groups.len() > 1 {
            format!(" (key group {})", g + 1)
        } else {
            String::new()
        };
        match opener {
            Some(k) => ui::verbose(&format!(
                "data key opened{where_} with your identity for recipient {}",
                k.recipient
            )),
            None => ui::verbose(&format!("no identity at hand opens key group {}", g + 1)),
        }
    }
}
