//! age keys: recipients, identity discovery, and wrapping the data key.
//!
//! - [`Recipient`]: parse `age1…`, `age1NAME1…` (plugins) and SSH public keys.
//! - [`wrap`] / [`unwrap`] / [`unwrap_any`]: the `enc` field of a metadata
//!   `age:` entry, byte-compatible with sops (one armored age file per
//!   recipient; the payload is the 32-byte key or a 33-byte Shamir share).
//! - [`Identities`]: every identity source sops reads, combined.
//! - [`ensure_default_identity`] / [`generate_identity`]: key creation.

mod default_key;
mod env;
mod groups;
mod identity;
mod interaction;
mod protected;
mod recipient;
mod ssh_lazy;
mod wrap;

#[cfg(test)]
mod tests;

pub use default_key::{default_key_file, ensure_default_identity, generate_identity, keygen_text};
pub use env::EnvSource;
pub use groups::{data_key, wrap_groups};
pub use identity::{Identities, SourceReport, SourceStatus};
pub use interaction::{Interaction, Prompt};
pub use protected::{ProtectedFile, Unlock};
pub use recipient::{Recipient, RecipientType};
pub use wrap::{unwrap, unwrap_any, unwrap_without_prompt, wrap, wrap_with};
