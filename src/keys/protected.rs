//! Passphrase-protected identity files, opened only when needed.
//!
//! sops 3.11 (`age/encrypted_keys.go`) reads an identity source whose text
//! starts with `age-encryption` or `-----BEGIN AGE` as an age file encrypted
//! to a passphrase (an scrypt stanza) and asks for that passphrase only when
//! a data key has to be unwrapped. shroud goes one step further: such files
//! are tried only after every identity that needs no passphrase failed
//! (see `wrap::unwrap_any`), so a key file that is not needed is never
//! asked for. The passphrase is asked at most once per file; the outcome,
//! good or bad, is kept so a batch over many files does not ask again.
//!
//! The decrypted identity text only ever lives in zeroizing buffers.

use std::fmt;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use age::Callbacks;
use age::armor::ArmoredReader;
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use super::identity::{AgeIdentity, ParsedIdentities};
use super::interaction::Interaction;

/// Go age's `ScryptIdentity` default, which sops uses: files made with a
/// larger scrypt work factor are refused instead of taking minutes.
const MAX_WORK_FACTOR: u8 = 22;

/// Does this identity-source content look like an encrypted age file? The
/// prefixes are the 14 bytes sops peeks at.
pub(crate) fn is_protected(bytes: &[u8]) -> bool {
    let bytes = bytes.trim_ascii_start();
    bytes.starts_with(b"age-encryption") || bytes.starts_with(b"-----BEGIN AGE")
}

/// What became of a passphrase-protected identity file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unlock {
    /// Not needed (yet): its passphrase was not asked for.
    NotAsked,
    /// Opened; this many identities were usable inside.
    Opened(usize),
    /// Could not be opened; the reason names no secret.
    Failed(String),
}

struct Opened {
    native: Vec<AgeIdentity>,
    plugins: Vec<age::plugin::Identity>,
}

struct Inner {
    /// The encrypted file as read (armored or binary).
    contents: Zeroizing<Vec<u8>>,
    /// Names the file in the prompt and in errors: its path, or the
    /// variable it came from.
    label: String,
    interaction: Interaction,
    opened: OnceLock<Result<Opened, String>>,
}

/// A passphrase-protected identity file. Cloning shares the state, so the
/// identity report sees whether the file was opened.
#[derive(Clone)]
pub struct ProtectedFile(Arc<Inner>);

impl ProtectedFile {
    pub(crate) fn new(
        contents: Zeroizing<Vec<u8>>,
        label: String,
        interaction: Interaction,
    ) -> ProtectedFile {
        ProtectedFile(Arc::new(Inner {
            contents,
            label,
            interaction,
            opened: OnceLock::new(),
        }))
    }

    /// Where the file came from (path or variable name).
    pub fn label(&self) -> &str {
        &self.0.label
    }

    pub fn state(&self) -> Unlock {
        match self.0.opened.get() {
            None => Unlock::NotAsked,
            Some(Ok(o)) => Unlock::Opened(o.native.len() + o.plugins.len()),
            Some(Err(why)) => Unlock::Failed(why.clone()),
        }
    }

    pub(crate) fn is_opened(&self) -> bool {
        matches!(self.0.opened.get(), Some(Ok(_)))
    }

    /// Decrypt the file, asking for the passphrase the first time only.
    fn open(&self) -> Result<&Opened, &str> {
        self.0
            .opened
            .get_or_init(|| self.decrypt())
            .as_ref()
            .map_err(|e| e.as_str())
    }

    fn decrypt(&self) -> Result<Opened, String> {
        let inner = &self.0;
        let contents = inner.contents.trim_ascii_start();
        let decryptor = age::Decryptor::new(ArmoredReader::new(contents))
            .map_err(|e| format!("not a valid age file ({e})"))?;
        if !decryptor.is_scrypt() {
            return Err(
                "it is an age file but not encrypted with a passphrase (scrypt)".to_string(),
            );
        }
        let prompt = format!("Enter passphrase for identity file {}:", inner.label);
        if !inner.interaction.can_ask() {
            return Err("this command does not ask for passphrases".to_string());
        }
        let passphrase = inner
            .interaction
            .request_passphrase(&prompt)
            .ok_or_else(|| {
                "no terminal to ask for its passphrase on (shroud, like sops, reads it \
                 from the terminal only)"
                    .to_string()
            })?;
        let mut identity = age::scrypt::Identity::new(passphrase);
        identity.set_max_work_factor(MAX_WORK_FACTOR);
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
                    "wrong passphrase".to_string()
                }
                other => format!("cannot decrypt it: {other}"),
            })?;
        let mut text = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut text)
            .map_err(|e| format!("the encrypted file is damaged ({e})"))?;
        let text = super::identity::into_text(text)
            .map_err(|e| format!("its decrypted content is {e}"))?;
        let parsed = ParsedIdentities::parse(&text);
        if parsed.native.is_empty() && parsed.plugins.is_empty() {
            let mut why = "opened, but holds no usable identity".to_string();
            if !parsed.problems.is_empty() {
                why.push_str(&format!(" ({})", parsed.problems.join("; ")));
            }
            return Err(why);
        }
        Ok(Opened {
            native: parsed.native,
            plugins: parsed.plugins,
        })
    }
}

impl fmt::Debug for ProtectedFile {
    // The label and the state only; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedFile")
            .field("label", &self.0.label)
            .field("state", &self.state())
            .finish()
    }
}

impl PartialEq for ProtectedFile {
    fn eq(&self, other: &ProtectedFile) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProtectedFile {}

impl age::Identity for ProtectedFile {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, age::DecryptError>> {
        // A file that cannot be opened matches nothing: the reason is in
        // its state, reported with the other sources.
        let opened = self.open().ok()?;
        if let Some(r) = opened.native.iter().find_map(|i| i.unwrap_stanzas(stanzas)) {
            return Some(r);
        }
        let mut names: Vec<&str> = opened.plugins.iter().map(|i| i.plugin()).collect();
        names.sort_unstable();
        names.dedup();
        names.into_iter().find_map(|name| {
            let plugin = age::plugin::IdentityPluginV1::new(
                name,
                &opened.plugins,
                self.0.interaction.clone(),
            )
            .ok()?;
            plugin.unwrap_stanzas(stanzas)
        })
    }
}
