//! Parsing age recipients the way sops does (`age/keysource.go`,
//! `parseRecipient`): `age1…` X25519, `age1NAME1…` plugin recipients, and
//! `ssh-ed25519`/`ssh-rsa` public keys.

use std::fmt;

use crate::error::Error;

/// One recipient a data key can be wrapped to.
///
/// The original text (trimmed) is kept because it is what goes into the
/// `recipient:` field of the metadata; for SSH keys that includes the
/// trailing comment, as in sops.
#[derive(Clone)]
pub struct Recipient {
    text: String,
    kind: Kind,
}

#[derive(Clone)]
pub(crate) enum Kind {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
    Plugin(age::plugin::Recipient),
}

/// The type of a recipient, for messages and for callers that care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientType {
    X25519,
    SshEd25519,
    SshRsa,
    /// A plugin recipient; the name is the `NAME` of `age-plugin-NAME`.
    Plugin(String),
}

impl Recipient {
    /// Parse one recipient. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Recipient, Error> {
        let text = text.trim();
        let bad = |reason: &str| Error::BadRecipient {
            recipient: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(bad("empty recipient"));
        }
        if looks_like_secret(text) {
            // Never echo what is probably a private key back into an error
            // message (it would end up in terminals and CI logs).
            return Err(Error::BadRecipient {
                recipient: "<redacted>".to_string(),
                reason: "this is a private key (identity), not a recipient; pass its public key \
                         (`age-keygen -y` prints it)"
                    .to_string(),
            });
        }

        let kind = if text.starts_with("ssh-") {
            Kind::Ssh(text.parse::<age::ssh::Recipient>().map_err(|e| {
                use age::ssh::ParseRecipientKeyError as P;
                let reason = match e {
                    P::RsaModulusTooLarge => "the ssh-rsa key is larger than age supports".into(),
                    P::RsaModulusTooSmall => {
                        "the ssh-rsa key is weaker than 2048 bits, which age refuses".into()
                    }
                    P::Unsupported(t) => {
                        format!("SSH key type {t} is not supported (only ssh-ed25519 and ssh-rsa)")
                    }
                    _ => "not a valid ssh-ed25519 or ssh-rsa public key".into(),
                };
                bad(&reason)
            })?)
        } else if let Some(rest) = text.strip_prefix("age1") {
            match text.parse::<age::x25519::Recipient>() {
                Ok(r) => Kind::X25519(r),
                // Another `1` after the `age1` prefix means a longer HRP,
                // i.e. `age1NAME1…`, which sops routes to a plugin.
                Err(_) if rest.contains('1') => Kind::Plugin(
                    text.parse::<age::plugin::Recipient>()
                        .map_err(|e| bad(&format!("not a valid age plugin recipient ({e})")))?,
                ),
                Err(e) => return Err(bad(&format!("not a valid age X25519 recipient ({e})"))),
            }
        } else {
            return Err(bad(
                "unknown recipient type: expected an age public key (age1…), \
                 a plugin recipient (age1NAME1…), or an SSH public key (ssh-ed25519 …, ssh-rsa …)",
            ));
        };
        Ok(Recipient {
            text: text.to_string(),
            kind,
        })
    }

    /// Parse a comma-separated list such as `--age`'s or
    /// `SOPS_AGE_RECIPIENTS`'s value. Entries are trimmed; empty entries
    /// (a trailing comma, `a,,b`) are skipped.
    pub fn parse_list(list: &str) -> Result<Vec<Recipient>, Error> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Recipient::parse)
            .collect()
    }

    /// The recipient as written into the metadata.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn recipient_type(&self) -> RecipientType {
        match &self.kind {
            Kind::X25519(_) => RecipientType::X25519,
            Kind::Ssh(age::ssh::Recipient::SshEd25519(..)) => RecipientType::SshEd25519,
            Kind::Ssh(age::ssh::Recipient::SshRsa(..)) => RecipientType::SshRsa,
            Kind::Plugin(p) => RecipientType::Plugin(p.plugin().to_string()),
        }
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }
}

/// Heuristic for text that is key material rather than a public key.
pub(crate) fn looks_like_secret(text: &str) -> bool {
    let upper = text.trim_start().to_ascii_uppercase();
    upper.starts_with("AGE-SECRET-KEY-")
        || upper.starts_with("AGE-PLUGIN-")
        || upper.starts_with("-----BEGIN")
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Recipient {
    // Public keys only: safe to show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({:?})", self.text)
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Recipient) -> bool {
        self.text == other.text
    }
}

impl Eq for Recipient {}

impl std::str::FromStr for Recipient {
    type Err = Error;
    fn from_str(s: &str) -> Result<Recipient, Error> {
        Recipient::parse(s)
    }
}
