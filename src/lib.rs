//! shroud: encrypt the values of structured config files in the SOPS 3.x
//! format while keeping every other byte of the file as it was.
//!
//! The pieces, in the order data flows through them:
//! - [`formats`]: one module per file format; text in, [`document::Leaf`]s
//!   with exact byte spans out, and output by splicing into those spans.
//! - [`engine`]: encryption, decryption and the MAC, written once over leaves.
//! - [`crypto`]: AES-256-GCM with SOPS's 32-byte IV, the `ENC[...]` codec,
//!   the AAD rule and the MAC.
//! - [`rules`]: which values are encrypted (suffix, regex, comment rules).
//! - [`metadata`]: the `sops` block.
//! - [`integrity`]: `shroud_auth`, the authenticator over what the SOPS MAC
//!   leaves out.
//! - [`keys`]: age recipients and identities, data-key wrapping.

pub mod chunked;
pub mod config;
pub mod convert;
pub mod crypto;
pub mod document;
pub mod engine;
pub mod error;
pub mod exec;
pub mod formats;
/// Property checks for the fuzz targets and their replay tests; not a
/// stable interface.
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod integrity;
pub mod keys;
pub mod metadata;
pub mod par;
pub mod rules;
pub mod status;
pub mod stream;
pub mod treepath;
pub mod value;
