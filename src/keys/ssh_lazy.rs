//! Passphrase-protected SSH private keys, decrypted only when needed.
//!
//! age's own wrapper asks for the passphrase on every stanza it sees, so an
//! encrypted `~/.ssh/id_ed25519` would prompt even for files wrapped to an
//! X25519 key. Like sops (Go age's `EncryptedSSHIdentity`), this wrapper
//! first checks that the stanza is addressed to this key (its 4-byte public
//! key tag), then prompts once and keeps the decrypted key.

use std::sync::OnceLock;

use age::Callbacks;
use age_core::format::{FileKey, Stanza};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::{Digest, Sha256};

use super::interaction::Interaction;

pub(crate) struct LazySshIdentity {
    key: age::ssh::EncryptedKey,
    /// The stanza tag argument this key answers to.
    tag: String,
    stanza_type: &'static str,
    filename: String,
    interaction: Interaction,
    decrypted: OnceLock<age::ssh::Identity>,
}

impl LazySshIdentity {
    /// `None` if the public half cannot be read (then the key is unusable).
    pub(crate) fn new(
        key: age::ssh::EncryptedKey,
        filename: String,
        interaction: Interaction,
    ) -> Option<LazySshIdentity> {
        let public = age::ssh::Recipient::try_from(age::ssh::Identity::from(key.clone())).ok()?;
        let (wire, stanza_type) = match &public {
            age::ssh::Recipient::SshEd25519(wire, _) => (wire, "ssh-ed25519"),
            age::ssh::Recipient::SshRsa(wire, _) => (wire, "ssh-rsa"),
        };
        let tag = STANDARD_NO_PAD.encode(&Sha256::digest(wire)[..4]);
        Some(LazySshIdentity {
            key,
            tag,
            stanza_type,
            filename,
            interaction,
            decrypted: OnceLock::new(),
        })
    }
}

impl age::Identity for LazySshIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != self.stanza_type || stanza.args.first() != Some(&self.tag) {
            return None;
        }
        if self.decrypted.get().is_none() {
            let prompt = format!("Enter passphrase for SSH key {}", self.filename);
            // No way to ask (non-interactive run): skip this key quietly so
            // other identities still get their turn.
            let passphrase = self.interaction.request_passphrase(&prompt)?;
            match self.key.decrypt(passphrase) {
                Ok(k) => {
                    let _ = self.decrypted.set(age::ssh::Identity::from(k));
                }
                Err(e) => return Some(Err(e)),
            }
        }
        self.decrypted.get()?.unwrap_stanza(stanza)
    }
}
