//! Wrapping a data key (or a Shamir share) to one recipient, and unwrapping
//! it again, byte-compatible with sops (spec §3.2).

use std::collections::BTreeSet;
use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use super::identity::Identities;
use super::interaction::Interaction;
use super::recipient::{Kind, Recipient};
use crate::error::Error;

/// Encrypt `secret` to `recipient` alone and ASCII-armor it, exactly as sops
/// writes an `enc` field: one complete age file per recipient, 64-column
/// base64, `\n` line endings and a trailing newline.
///
/// `secret` is the 32-byte data key, or a 33-byte Shamir share.
pub fn wrap(secret: &[u8], recipient: &Recipient) -> Result<String, Error> {
    wrap_with(secret, recipient, &Interaction::none())
}

/// [`wrap`] with an interaction for plugins that need to prompt.
pub fn wrap_with(
    secret: &[u8],
    recipient: &Recipient,
    interaction: &Interaction,
) -> Result<String, Error> {
    let fail = |reason: String| Error::KeyWrap {
        recipient: recipient.as_str().to_string(),
        reason,
    };
    let age_recipient: Box<dyn age::Recipient + Send> = match recipient.kind() {
        Kind::X25519(r) => Box::new(r.clone()),
        Kind::Ssh(r) => Box::new(r.clone()),
        Kind::Plugin(r) => Box::new(
            age::plugin::RecipientPluginV1::new(
                r.plugin(),
                std::slice::from_ref(r),
                &[],
                interaction.clone(),
            )
            .map_err(|e| fail(format!("{e} (is age-plugin-{} on PATH?)", r.plugin())))?,
        ),
    };
    let encryptor = age::Encryptor::with_recipients(std::iter::once(age_recipient.as_ref() as _))
        .map_err(|e| fail(e.to_string()))?;

    let io_fail = |e: std::io::Error| fail(e.to_string());
    let mut out = Vec::new();
    let armored = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(io_fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(io_fail)?;
    writer.write_all(secret).map_err(io_fail)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(io_fail)?;

    let text = String::from_utf8(out).map_err(|_| fail("armor is not UTF-8".to_string()))?;
    // age's armor uses the platform line ending; sops always writes `\n`.
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    })
}

/// Decrypt one armored `enc` value with every identity.
///
/// Failure is `Error::NoKey` with a short reason; [`unwrap_any`] builds the
/// full report.
pub fn unwrap(armored: &str, identities: &Identities) -> Result<Zeroizing<Vec<u8>>, Error> {
    let plugins = PluginIdentities::connect(identities);
    let mut result = unwrap_inner(armored, identities, &plugins, Phase::Ready);
    if result.is_err() && !identities.protected.is_empty() {
        result = unwrap_inner(armored, identities, &plugins, Phase::Protected);
    }
    result.map_err(Error::NoKey)
}

/// [`unwrap`] that never asks for a passphrase: passphrase-protected
/// identity files are used only if already opened. For reports made after
/// the data key is known, which must not prompt for files not needed.
pub fn unwrap_without_prompt(
    armored: &str,
    identities: &Identities,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let plugins = PluginIdentities::connect(identities);
    unwrap_inner(armored, identities, &plugins, Phase::Ready)
        .or_else(|_| unwrap_inner(armored, identities, &plugins, Phase::OpenedOnly))
        .map_err(Error::NoKey)
}

/// Which identities one unwrap attempt uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Those that need no passphrase (encrypted SSH keys still prompt, but
    /// only for stanzas addressed to them).
    Ready,
    /// Passphrase-protected identity files, asking for their passphrase.
    Protected,
    /// Passphrase-protected identity files already opened.
    OpenedOnly,
}

/// Try each `(recipient, enc)` entry of a key group in order and return the
/// first secret that decrypts. On total failure the `NoKey` error (exit code
/// 128) lists the recipients, the places shroud looked for identities and
/// the problems met there; it never contains key material.
pub fn unwrap_any<R, E>(
    entries: &[(R, E)],
    identities: &Identities,
) -> Result<Zeroizing<Vec<u8>>, Error>
where
    R: AsRef<str>,
    E: AsRef<str>,
{
    let plugins = PluginIdentities::connect(identities);
    let mut failures = Vec::new();
    // Every entry with the identities at hand first, so a passphrase is
    // asked only when none of them opens any entry.
    let phases: &[Phase] = if identities.protected.is_empty() {
        &[Phase::Ready]
    } else {
        &[Phase::Ready, Phase::Protected]
    };
    for &phase in phases {
        failures.clear();
        for (recipient, enc) in entries {
            match unwrap_inner(enc.as_ref(), identities, &plugins, phase) {
                Ok(secret) => return Ok(secret),
                Err(reason) => failures.push((recipient.as_ref().to_string(), reason)),
            }
        }
    }
    Err(Error::NoKey(no_key_report(
        &failures,
        identities,
        &plugins.errors,
    )))
}

/// Plugin identities grouped per plugin binary. Built once per unwrap so a
/// missing plugin is reported once, not per entry.
struct PluginIdentities {
    connected: Vec<age::plugin::IdentityPluginV1<Interaction>>,
    errors: Vec<String>,
}

impl PluginIdentities {
    fn connect(identities: &Identities) -> PluginIdentities {
        let names: BTreeSet<&str> = identities.plugins.iter().map(|i| i.plugin()).collect();
        let mut connected = Vec::new();
        let mut errors = Vec::new();
        for name in names {
            match age::plugin::IdentityPluginV1::new(
                name,
                &identities.plugins,
                identities.interaction.clone(),
            ) {
                Ok(p) => connected.push(p),
                Err(e) => errors.push(format!("plugin identities for age-plugin-{name}: {e}")),
            }
        }
        PluginIdentities { connected, errors }
    }
}

fn unwrap_inner(
    armored: &str,
    identities: &Identities,
    plugins: &PluginIdentities,
    phase: Phase,
) -> Result<Zeroizing<Vec<u8>>, String> {
    // YAML block scalars and hand edits can leave leading blank space or CRLF
    // line ends; neither changes the armored bytes, so accept them.
    let normalized;
    let mut text = armored.trim_start();
    if text.contains('\r') {
        normalized = text.replace("\r\n", "\n");
        text = &normalized;
    }
    let decryptor = age::Decryptor::new(ArmoredReader::new(text.as_bytes()))
        .map_err(|e| format!("not a valid armored age file ({e})"))?;
    let ready = phase == Phase::Ready;
    let native = identities
        .native
        .iter()
        .filter(|_| ready)
        .map(|i| i.as_ref() as &dyn age::Identity);
    let plugin = plugins
        .connected
        .iter()
        .filter(|_| ready)
        .map(|p| p as &dyn age::Identity);
    let protected = identities
        .protected
        .iter()
        .filter(|f| match phase {
            Phase::Ready => false,
            Phase::Protected => true,
            Phase::OpenedOnly => f.is_opened(),
        })
        .map(|f| f as &dyn age::Identity);
    let mut reader = decryptor
        .decrypt(native.chain(plugin).chain(protected))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => "no identity matched".to_string(),
            other => other.to_string(),
        })?;
    let mut secret = Zeroizing::new(Vec::with_capacity(33));
    reader
        .read_to_end(&mut secret)
        .map_err(|e| format!("the age payload is damaged ({e})"))?;
    Ok(secret)
}

fn no_key_report(
    failures: &[(String, String)],
    identities: &Identities,
    plugin_errors: &[String],
) -> String {
    let mut msg = String::from("failed to get the data key required to decrypt the file");
    if failures.is_empty() {
        msg.push_str(": the file lists no age recipients");
    } else {
        msg.push_str("; tried the file's age recipients:");
        for (recipient, reason) in failures {
            msg.push_str(&format!("\n  {recipient}: {reason}"));
        }
    }
    msg.push_str("\nshroud looked for identities in:");
    if identities.sources().is_empty() {
        msg.push_str("\n  (no sources)");
    }
    for source in identities.sources() {
        msg.push_str(&format!("\n  {source}"));
    }
    let errors = identities.errors();
    let problems: Vec<&String> = errors.iter().chain(plugin_errors).collect();
    if !problems.is_empty() {
        msg.push_str("\nproblems while loading identities:");
        for p in problems {
            msg.push_str(&format!("\n  {p}"));
        }
    }
    msg.push_str(
        "\nto fix: point SOPS_AGE_KEY_FILE at the identity file of one of the recipients above \
         (or set SOPS_AGE_KEY / SOPS_AGE_KEY_CMD, or put it in the default key file); if you \
         have none, ask someone who can decrypt the file to add your public key with \
         `shroud rotate -i --add-age <your age1...> FILE`",
    );
    msg
}
