//! AES-256-GCM as SOPS uses it, and the `ENC[...]` text form.
//!
//! SOPS uses a 32-byte random IV per value (a non-standard GCM nonce size:
//! GCM derives its counter block through GHASH), the key path as AAD, and
//! writes `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]` with
//! standard padded base64. An empty plaintext is not encrypted at all.

use aes_gcm::aead::consts::{U12, U32};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes256;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::document::ValueType;

type Aes256Gcm32 = AesGcm<Aes256, U32>;
type Aes256Gcm12 = AesGcm<Aes256, U12>;

/// The 32-byte data key of a file, wiped from memory when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> DataKey {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(k.as_mut()).expect("the operating system's random source failed");
        DataKey(k)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// Build from a slice; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey::from_bytes(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A parsed `ENC[...]` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncValue {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: [u8; 16],
    /// The `type:` field as written; [`ValueType::parse`] reads it.
    pub ty: String,
}

/// The prefix of every SOPS value.
const ENC_PREFIX: &str = "ENC[AES256_GCM,data:";

/// SOPS reads values with the regex
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy groups,
/// `.` stops at a line break, no `$` anchor). A regex engine with captures
/// costs microseconds per value, most of a decrypt's time, so this finds the
/// same groups directly: each greedy group takes the *last* separator after
/// which the rest still matches. A test checks it against the regex.
fn enc_groups(s: &str) -> Option<[&str; 4]> {
    let rest = s.strip_prefix(ENC_PREFIX)?;
    let line = rest.split('\n').next().unwrap_or(rest);
    fn tail<'a>(s: &'a str, seps: &[&str], out: &mut Vec<&'a str>) -> bool {
        let Some((sep, more)) = seps.split_first() else {
            // The last group: greedy `(.+)\]`, so up to the last `]`.
            return match s.rfind(']') {
                Some(i) if i > 0 => {
                    out.push(&s[..i]);
                    true
                }
                _ => false,
            };
        };
        let mut end = s.len();
        while let Some(i) = rfind_sep(&s[..end], sep) {
            if i > 0 && tail(&s[i + sep.len()..], more, out) {
                out.push(&s[..i]);
                return true;
            }
            end = i;
        }
        false
    }
    // `str::rfind` builds a two-way searcher on every call, which cost more
    // than the search on these short strings; every separator starts with
    // ',' and the rest is compared directly.
    fn rfind_sep(s: &str, sep: &str) -> Option<usize> {
        let (b, sep) = (s.as_bytes(), sep.as_bytes());
        let mut end = b.len();
        while let Some(i) = b[..end].iter().rposition(|&c| c == sep[0]) {
            if b[i..].starts_with(sep) {
                return Some(i);
            }
            end = i;
        }
        None
    }
    let mut groups = Vec::with_capacity(4);
    if !tail(line, &[",iv:", ",tag:", ",type:"], &mut groups) {
        return None;
    }
    // Collected innermost first.
    Some([groups[3], groups[2], groups[1], groups[0]])
}

impl EncValue {
    /// Whether `s` looks like an `ENC[...]` value (cheap prefix check).
    pub fn looks_encrypted(s: &str) -> bool {
        s.starts_with("ENC[AES256_GCM,")
    }

    /// Parse an `ENC[...]` string; `None` if it is not one, or if a field is
    /// not valid base64 or the tag is not 16 bytes.
    pub fn parse(s: &str) -> Option<EncValue> {
        if !Self::looks_encrypted(s) {
            return None;
        }
        let [data, iv, tag, ty] = enc_groups(s)?;
        let data = B64.decode(data).ok()?;
        let iv = B64.decode(iv).ok()?;
        let tag: [u8; 16] = B64.decode(tag).ok()?.try_into().ok()?;
        Some(EncValue {
            data,
            iv,
            tag,
            ty: ty.to_string(),
        })
    }

    pub fn value_type(&self) -> Option<ValueType> {
        ValueType::parse(&self.ty)
    }

    pub fn to_text(&self) -> String {
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            B64.encode(&self.data),
            B64.encode(&self.iv),
            B64.encode(self.tag),
            self.ty
        )
    }
}

/// A fresh random 32-byte IV.
pub fn random_iv() -> [u8; 32] {
    let mut iv = [0u8; 32];
    getrandom::getrandom(&mut iv).expect("the operating system's random source failed");
    iv
}

/// Encrypts many values under one data key: the AES key schedule is built
/// once, and IVs come from the OS random source in batches (one system call
/// per 128 values instead of one per value).
pub struct Encryptor {
    aes: Aes256Gcm32,
    ivs: Vec<u8>,
    used: usize,
    /// Reused for every value's ciphertext; wiped on drop.
    buf: Zeroizing<Vec<u8>>,
}

const IV_BATCH: usize = 32 * 128;

impl Encryptor {
    pub fn new(key: &DataKey) -> Encryptor {
        Encryptor {
            aes: Aes256Gcm32::new(GenericArray::from_slice(key.as_bytes())),
            ivs: Vec::new(),
            used: 0,
            buf: Zeroizing::new(Vec::new()),
        }
    }

    fn next_iv(&mut self) -> [u8; 32] {
        if self.used + 32 > self.ivs.len() {
            self.ivs.resize(IV_BATCH, 0);
            getrandom::getrandom(&mut self.ivs)
                .expect("the operating system's random source failed");
            self.used = 0;
        }
        let iv: [u8; 32] = self.ivs[self.used..self.used + 32]
            .try_into()
            .expect("32 bytes");
        self.used += 32;
        iv
    }

    /// Encrypt with a fresh random IV. Empty plaintext gives `""`, as in SOPS.
    pub fn encrypt(&mut self, plaintext: &[u8], aad: &[u8], ty: ValueType) -> String {
        if plaintext.is_empty() {
            return String::new();
        }
        let iv = self.next_iv();
        // Straight into the output text: one allocation per value.
        self.buf.clear();
        self.buf.extend_from_slice(plaintext);
        let tag = self
            .aes
            .encrypt_in_place_detached(GenericArray::from_slice(&iv), aad, &mut self.buf)
            .expect("AES-GCM encryption of a value cannot fail");
        let mut out = String::with_capacity(plaintext.len() * 4 / 3 + 120);
        out.push_str("ENC[AES256_GCM,data:");
        B64.encode_string(&*self.buf, &mut out);
        out.push_str(",iv:");
        B64.encode_string(iv, &mut out);
        out.push_str(",tag:");
        B64.encode_string(tag, &mut out);
        out.push_str(",type:");
        out.push_str(ty.as_str());
        out.push(']');
        out
    }

    /// Encrypt with a given IV (to keep the ciphertext of an unchanged value,
    /// and for known-answer tests).
    pub fn encrypt_with_iv(
        &self,
        plaintext: &[u8],
        aad: &[u8],
        ty: ValueType,
        iv: &[u8; 32],
    ) -> String {
        if plaintext.is_empty() {
            return String::new();
        }
        let mut buf = Zeroizing::new(plaintext.to_vec());
        let tag = self
            .aes
            .encrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf)
            .expect("AES-GCM encryption of a value cannot fail");
        EncValue {
            data: buf.to_vec(),
            iv: iv.to_vec(),
            tag: tag.into(),
            ty: ty.as_str().to_string(),
        }
        .to_text()
    }
}

impl Drop for Encryptor {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.ivs);
    }
}

/// Encrypt one value with a fresh random IV.
pub fn encrypt(key: &DataKey, plaintext: &[u8], aad: &[u8], ty: ValueType) -> String {
    encrypt_with_iv(key, plaintext, aad, ty, &random_iv())
}

/// Encrypt one value with a given 32-byte IV.
pub fn encrypt_with_iv(
    key: &DataKey,
    plaintext: &[u8],
    aad: &[u8],
    ty: ValueType,
    iv: &[u8; 32],
) -> String {
    Encryptor::new(key).encrypt_with_iv(plaintext, aad, ty, iv)
}

/// Why a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// Wrong key, wrong AAD (the value was moved) or altered ciphertext.
    Authentication,
    /// SOPS only writes 32-byte IVs; 12-byte ones are accepted too.
    UnsupportedIvLength(usize),
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecryptError::Authentication => f.write_str(
                "authentication failed (the value was altered, moved to another key, or the data key is wrong)",
            ),
            DecryptError::UnsupportedIvLength(n) => write!(f, "unsupported IV length of {n} bytes"),
        }
    }
}

/// Decrypts many values under one data key, building the key schedule once.
pub struct Decryptor {
    key: DataKey,
    aes: Aes256Gcm32,
}

impl Decryptor {
    pub fn new(key: &DataKey) -> Decryptor {
        Decryptor {
            key: key.clone(),
            aes: Aes256Gcm32::new(GenericArray::from_slice(key.as_bytes())),
        }
    }

    /// Decrypt and authenticate an `ENC[...]` value.
    pub fn decrypt(&self, enc: &EncValue, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let mut buf = Zeroizing::new(enc.data.clone());
        self.decrypt_in_place(&enc.iv, &enc.tag, aad, &mut buf)?;
        Ok(buf)
    }

    fn decrypt_in_place(
        &self,
        iv: &[u8],
        tag: &[u8; 16],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<(), DecryptError> {
        let tag = GenericArray::from_slice(tag);
        let ok = match iv.len() {
            32 => self
                .aes
                .decrypt_in_place_detached(GenericArray::from_slice(iv), aad, buf, tag),
            12 => Aes256Gcm12::new(GenericArray::from_slice(self.key.as_bytes()))
                .decrypt_in_place_detached(GenericArray::from_slice(iv), aad, buf, tag),
            n => return Err(DecryptError::UnsupportedIvLength(n)),
        };
        ok.map_err(|_| DecryptError::Authentication)
    }

    /// [`EncValue::parse`] and [`Decryptor::decrypt`] in one step, for the
    /// engine's hot loop: the ciphertext is decoded straight into the buffer
    /// that becomes the plaintext, and nothing else is copied. `None` exactly
    /// when [`EncValue::parse`] gives `None`.
    pub fn open<'a>(&self, s: &'a str, aad: &[u8]) -> Option<Opened<'a>> {
        if !EncValue::looks_encrypted(s) {
            return None;
        }
        let [data, iv, tag, ty] = enc_groups(s)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(data.len())));
        B64.decode_vec(data, &mut buf).ok()?;
        // IVs are 32 bytes (12 accepted): decoded on the stack, no
        // allocation, unless the field is too long for that to be valid.
        let (mut iv_buf, long);
        let iv: &[u8] = if base64::decoded_len_estimate(iv.len()) <= 48 {
            iv_buf = [0u8; 48];
            let n = B64.decode_slice(iv, &mut iv_buf).ok()?;
            &iv_buf[..n]
        } else {
            long = B64.decode(iv).ok()?;
            &long
        };
        let mut tag_bytes = [0u8; 16];
        if B64.decode_slice(tag, &mut tag_bytes).ok()? != 16 {
            return None;
        }
        let plain = self
            .decrypt_in_place(iv, &tag_bytes, aad, &mut buf)
            .map(|()| buf);
        Some(Opened {
            ty,
            iv: iv.try_into().ok(),
            plain,
        })
    }
}

/// An `ENC[...]` value that parsed, and the result of decrypting it.
pub struct Opened<'a> {
    /// The `type:` field as written; [`ValueType::parse`] reads it.
    pub ty: &'a str,
    /// The IV when it has SOPS's 32 bytes (what `edit` keeps for reuse).
    pub iv: Option<[u8; 32]>,
    pub plain: Result<Zeroizing<Vec<u8>>, DecryptError>,
}

/// Decrypt and authenticate one `ENC[...]` value.
pub fn decrypt(
    key: &DataKey,
    enc: &EncValue,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    Decryptor::new(key).decrypt(enc, aad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_key() -> DataKey {
        DataKey::from_bytes(std::array::from_fn(|i| i as u8))
    }

    // Appendix A of ../shared/docs/sops-format-spec.md: accepted by real sops.
    const VECTORS: &[(&str, &str, u8, ValueType, &str)] = &[
        (
            "hello",
            "a:b:",
            0x11,
            ValueType::Str,
            "ENC[AES256_GCM,data:2W+iEbA=,iv:ERERERERERERERERERERERERERERERERERERERERERE=,tag:pComHR8aKUEhjUliXnMDow==,type:str]",
        ),
        (
            "42",
            "n:",
            0x22,
            ValueType::Int,
            "ENC[AES256_GCM,data:MEM=,iv:IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=,tag:hRWYYPxdSESypCufSTl2WA==,type:int]",
        ),
        (
            " a comment",
            ":",
            0x33,
            ValueType::Comment,
            "ENC[AES256_GCM,data:+vqjsREtQCoFlg==,iv:MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=,tag:deYaiCYxLIk+MoKcYvxm2w==,type:comment]",
        ),
        (
            "True",
            "l:",
            0x44,
            ValueType::Bool,
            "ENC[AES256_GCM,data:RmhYZw==,iv:REREREREREREREREREREREREREREREREREREREREREQ=,tag:G7YVNm22pAFqDhF8Ba8V6g==,type:bool]",
        ),
    ];

    #[test]
    fn spec_known_answers_encrypt() {
        for (plain, aad, ivb, ty, want) in VECTORS {
            let got = encrypt_with_iv(
                &vector_key(),
                plain.as_bytes(),
                aad.as_bytes(),
                *ty,
                &[*ivb; 32],
            );
            assert_eq!(&got, want, "vector {plain:?}");
        }
    }

    #[test]
    fn spec_known_answers_decrypt() {
        for (plain, aad, _, ty, enc) in VECTORS {
            let v = EncValue::parse(enc).unwrap();
            assert_eq!(v.value_type(), Some(*ty));
            let got = decrypt(&vector_key(), &v, aad.as_bytes()).unwrap();
            assert_eq!(got.as_slice(), plain.as_bytes());
        }
    }

    #[test]
    fn crates_md_known_answer() {
        // crates.md section 6: key 07x32, iv 00..1f, aad db:password:, checked against OpenSSL.
        let key = DataKey::from_bytes([7; 32]);
        let iv: [u8; 32] = std::array::from_fn(|i| i as u8);
        let got = encrypt_with_iv(&key, b"hello sops", b"db:password:", ValueType::Str, &iv);
        assert!(got.contains("data:sa9t8MvYNYJd6g==,"), "{got}");
        assert!(got.contains("tag:3ssi4C2iS8OxBZQpOKagLQ==,"), "{got}");
    }

    #[test]
    fn wrong_aad_or_flipped_bytes_are_refused() {
        let (_, aad, _, _, enc) = VECTORS[0];
        let v = EncValue::parse(enc).unwrap();
        assert_eq!(
            decrypt(&vector_key(), &v, b"a:c:"),
            Err(DecryptError::Authentication)
        );
        for field in 0..3 {
            let mut t = v.clone();
            match field {
                0 => t.data[0] ^= 1,
                1 => t.iv[5] ^= 1,
                _ => t.tag[15] ^= 1,
            }
            assert_eq!(
                decrypt(&vector_key(), &t, aad.as_bytes()),
                Err(DecryptError::Authentication)
            );
        }
    }

    #[test]
    fn empty_plaintext_is_not_encrypted() {
        assert_eq!(encrypt(&vector_key(), b"", b"k:", ValueType::Str), "");
    }

    #[test]
    fn hand_parser_finds_the_same_groups_as_the_sops_regex() {
        let re =
            regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]").unwrap();
        // Strings built from the pieces that matter, in every order.
        let pieces = [
            "ENC[AES256_GCM,data:",
            ",iv:",
            ",tag:",
            ",type:",
            "]",
            "A",
            "=",
            ",",
            "\n",
            ":",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            let mut s = String::from(if x.is_multiple_of(7) {
                ""
            } else {
                "ENC[AES256_GCM,data:"
            });
            let n = (x % 12) as usize + 1;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            let want = re
                .captures(&s)
                .map(|c| [1, 2, 3, 4].map(|i| c.get(i).unwrap().as_str().to_string()));
            let got = enc_groups(&s).map(|g| g.map(str::to_string));
            assert_eq!(got, want, "{s:?}");
        }
    }

    #[test]
    fn open_agrees_with_parse_then_decrypt() {
        let dec = Decryptor::new(&vector_key());
        let mut inputs: Vec<String> = VECTORS.iter().map(|v| v.4.to_string()).collect();
        let good = VECTORS[0].4;
        inputs.extend([
            good.replace("data:", "data:!"),
            good.replace("tag:", "tag:AAAA"),
            good.replace("tag:", "tag:A"),
            good.replace(",tag:", ",tag:AAAAAAAAAAAAAAAAAAAAAAAA,tag:"),
            good.replace("iv:", "iv:AAAA"),
            good.replace("type:str", "type:nope"),
            "ENC[AES256_GCM,data:,iv:x,tag:y,type:str]".into(),
            "plain text".into(),
            String::new(),
        ]);
        for s in &inputs {
            for aad in [&b"a:b:"[..], b"n:", b""] {
                let want = EncValue::parse(s).map(|v| {
                    let plain = decrypt(&vector_key(), &v, aad);
                    (v.ty, v.iv.try_into().ok(), plain)
                });
                let got = dec.open(s, aad).map(|o| (o.ty.to_string(), o.iv, o.plain));
                assert_eq!(got, want, "{s:?}");
            }
        }
    }

    #[test]
    fn parse_follows_the_sops_regex() {
        assert!(EncValue::parse("ENC[AES256_GCM,data:2W+iEbA=,iv:ERERERERERERERERERERERERERERERERERERERERERE=,tag:pComHR8aKUEhjUliXnMDow==,type:str] trailing").is_some());
        assert!(EncValue::parse("ENC[AES256_GCM,data:,iv:x,tag:y,type:str]").is_none());
        assert!(EncValue::parse("not encrypted").is_none());
        assert!(
            EncValue::parse(
                "ENC[AES256_GCM,data:!!,iv:AA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]"
            )
            .is_none()
        );
    }
}
