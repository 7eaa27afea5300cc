//! The cryptography of the SOPS format: the data key, AES-256-GCM with a
//! 32-byte IV, the `ENC[...]` text form, the AAD rule and the MAC.

pub mod aad;
pub mod cipher;
pub mod mac;
pub mod shamir;

pub use cipher::{DataKey, EncValue};
