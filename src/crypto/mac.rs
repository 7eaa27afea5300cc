//! The SOPS MAC: SHA-512 over the canonical bytes of every value in walk
//! order (comments and nulls excluded), printed as upper-case hex and stored
//! encrypted under the data key with `lastmodified` as its AAD.

use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use crate::crypto::cipher::{self, DataKey, EncValue};
use crate::document::ValueType;
use crate::error::Error;
use crate::value::Timestamp;

/// Accumulates the MAC over values in walk order.
pub struct MacHasher {
    sha: Sha512,
}

impl MacHasher {
    /// With `mac_only_encrypted`, SOPS first feeds SHA-256("sops") and then
    /// only the values that are encrypted.
    pub fn new(mac_only_encrypted: bool) -> MacHasher {
        let mut sha = Sha512::new();
        if mac_only_encrypted {
            sha.update(Sha256::digest(b"sops"));
        }
        MacHasher { sha }
    }

    pub fn update(&mut self, canonical_bytes: &[u8]) {
        self.sha.update(canonical_bytes);
    }

    /// Upper-case hex of the digest, as Go's `%X` prints it.
    pub fn finish_hex(self) -> String {
        let digest = self.sha.finalize();
        let mut hex = String::with_capacity(128);
        for b in digest {
            hex.push_str(&format!("{b:02X}"));
        }
        hex
    }
}

/// The AAD of the MAC: `lastmodified` read as RFC 3339 and printed again
/// without fraction (`…+00:00` and `…13.999Z` both become `…13Z`), as SOPS
/// does when it verifies.
pub fn mac_aad(lastmodified: &str) -> Result<String, Error> {
    Timestamp::parse_rfc3339(lastmodified)
        .map(|t| t.to_rfc3339())
        .ok_or_else(|| {
            Error::Metadata(format!(
                "lastmodified {lastmodified:?} is not an RFC 3339 time"
            ))
        })
}

/// Encrypt the MAC hex for storage in the metadata.
pub fn seal(key: &DataKey, hex: &str, lastmodified: &str) -> Result<String, Error> {
    let aad = mac_aad(lastmodified)?;
    Ok(cipher::encrypt(
        key,
        hex.as_bytes(),
        aad.as_bytes(),
        ValueType::Str,
    ))
}

/// Encrypt the MAC hex with a given IV: shroud's v2 authenticator is that
/// IV (see [`crate::integrity`]). sops reads any 32-byte IV here.
pub fn seal_with_iv(
    key: &DataKey,
    hex: &str,
    lastmodified: &str,
    iv: &[u8; 32],
) -> Result<String, Error> {
    let aad = mac_aad(lastmodified)?;
    Ok(cipher::encrypt_with_iv(
        key,
        hex.as_bytes(),
        aad.as_bytes(),
        ValueType::Str,
        iv,
    ))
}

/// Decrypt a stored `mac` (to seal the same MAC again with another IV).
pub fn open(key: &DataKey, stored: &str, lastmodified: &str) -> Result<Zeroizing<String>, Error> {
    let enc = EncValue::parse(stored)
        .ok_or_else(|| Error::MacMismatch("the stored MAC is not an ENC[...] value".into()))?;
    let aad = mac_aad(lastmodified)?;
    let plain = cipher::decrypt(key, &enc, aad.as_bytes())
        .map_err(|_| Error::MacMismatch("the stored MAC could not be decrypted (wrong key, or the MAC or lastmodified was altered)".into()))?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| Error::MacMismatch("the stored MAC is not text".into()))
}

/// Check the stored `mac` against the one computed from the values.
pub fn verify(
    key: &DataKey,
    stored: &str,
    lastmodified: &str,
    computed_hex: &str,
) -> Result<(), Error> {
    if stored.is_empty() {
        return Err(Error::MacMismatch("the file has no MAC".into()));
    }
    let enc = EncValue::parse(stored)
        .ok_or_else(|| Error::MacMismatch("the stored MAC is not an ENC[...] value".into()))?;
    let aad = mac_aad(lastmodified)?;
    let plain = cipher::decrypt(key, &enc, aad.as_bytes())
        .map_err(|_| Error::MacMismatch("the stored MAC could not be decrypted (wrong key, or the MAC or lastmodified was altered)".into()))?;
    if plain.as_slice() != computed_hex.as_bytes() {
        return Err(Error::MacMismatch(
            "the values do not match the MAC: the file was modified without the key (use --ignore-mac to read it anyway)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_appendix_a_mac() {
        // Appendix A: SHA-512 of hello 42 True plain, then sealed with IV 0x55.
        let mut h = MacHasher::new(false);
        for v in ["hello", "42", "True", "plain"] {
            h.update(v.as_bytes());
        }
        let hex = h.finish_hex();
        assert_eq!(
            hex,
            "3005D18BB8831328815C7DB635B4F45A310616801748EBE80138E60031686BB8D2E2BC15A342B5A83D53246743DA247BF784CBFDFDB1DAF8DCFC9F3F542F3CFF"
        );
        let key = DataKey::from_bytes(std::array::from_fn(|i| i as u8));
        let sealed = cipher::encrypt_with_iv(
            &key,
            hex.as_bytes(),
            b"2024-01-01T00:00:00Z",
            ValueType::Str,
            &[0x55; 32],
        );
        assert_eq!(
            sealed,
            "ENC[AES256_GCM,data:BMAN4xbQqdQ2eTxBOnr4iS+TU8XbeTk8Wo/8HyJ/975GEColyoVJEIjQN66r/9HEk4ZKxyLds/bj0hP9yAC5khZ3ZrNZxIPUmq5zze21zcd9xHQ1RCxF2mxdGKk44hiFOQW4yKx6q2Y3Z6bZ1zkrG1SG6VYe4UUMZwaSCGlOGjY=,iv:VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVU=,tag:xNKbQrtAUsfUsJQkKJIK6Q==,type:str]"
        );
        verify(&key, &sealed, "2024-01-01T00:00:00+00:00", &hex).unwrap();
        assert!(verify(&key, &sealed, "2024-01-01T00:00:01Z", &hex).is_err());
    }

    #[test]
    fn mac_only_encrypted_prefix() {
        // The spec gives SHA-256("sops") as 8a3fd2ad…27d69.
        let d = Sha256::digest(b"sops");
        assert_eq!(
            d.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
        );
    }
}
