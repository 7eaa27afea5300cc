//! User interaction during key operations (plugin PIN and touch prompts,
//! passphrases of encrypted SSH keys).
//!
//! The library never talks to the terminal itself; the binary supplies a
//! [`Prompt`] implementation. `age::Callbacks` is not object-safe (it needs
//! `Clone`), so [`Interaction`] wraps an `Arc<dyn Prompt>` and implements it.

use std::fmt;
use std::sync::Arc;

use age::secrecy::SecretString;

/// What the caller can do for a plugin or an encrypted key. Every method may
/// decline by returning `None`.
pub trait Prompt: Send + Sync {
    /// Show a message (e.g. "touch your YubiKey").
    fn message(&self, text: &str);
    /// Ask a yes/no question.
    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool>;
    /// Ask for a non-secret string.
    fn public_string(&self, description: &str) -> Option<String>;
    /// Ask for a passphrase or PIN.
    fn passphrase(&self, description: &str) -> Option<SecretString>;
}

/// The interaction handed to age; `Interaction::default()` declines every
/// request, which makes encrypted SSH keys and PIN-protected plugins fail
/// cleanly instead of hanging.
#[derive(Clone, Default)]
pub struct Interaction(Option<Arc<dyn Prompt>>);

impl Interaction {
    pub fn none() -> Interaction {
        Interaction(None)
    }

    pub fn new(prompt: Arc<dyn Prompt>) -> Interaction {
        Interaction(Some(prompt))
    }

    /// Whether anything can be asked at all (a prompt may still decline).
    pub(crate) fn can_ask(&self) -> bool {
        self.0.is_some()
    }
}

impl fmt::Debug for Interaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.0.is_some() {
            "interactive"
        } else {
            "none"
        };
        write!(f, "Interaction({state})")
    }
}

impl age::Callbacks for Interaction {
    fn display_message(&self, message: &str) {
        if let Some(p) = &self.0 {
            p.message(message);
        }
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        self.0.as_ref()?.confirm(message, yes_string, no_string)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        self.0.as_ref()?.public_string(description)
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        self.0.as_ref()?.passphrase(description)
    }
}
