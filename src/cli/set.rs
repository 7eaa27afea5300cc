//! `shroud set FILE PATH [VALUE]`: change or add one value in place,
//! keeping every other ciphertext (so git shows the changed lines plus
//! lastmodified and mac). The text change itself is
//! [`shroud::formats::structure`]'s.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::args::SetArgs;
use super::reopen::{Existing, reopen};
use super::{Destination, Fail, input_format, io, warn, write_output};
use shroud::engine::{self, EncryptSettings};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::formats::structure::{self, Change, NewValue, Outcome, StructureError};

/// Characters for `--generate`.
fn charset(name: &str) -> Result<&'static [u8]> {
    Ok(match name {
        "alnum" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "hex" => b"0123456789abcdef",
        "base64url" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "ascii" => b"!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~",
        other => return Err(Fail::new(exit::INVALID_SET_FORMAT, format!("unknown --charset {other:?}")).into()),
    })
}

/// A random secret from the OS CSPRNG, without modulo bias.
fn generate(length: usize, set: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(length));
    let limit = 256 - 256 % set.len();
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < length {
        getrandom::getrandom(&mut buf[..]).expect("the operating system's random source failed");
        for &b in buf.iter() {
            if (b as usize) < limit && out.len() < length {
                out.push(set[b as usize % set.len()] as char);
            }
        }
    }
    out
}

/// A structural error as the user sees it: the file name, the sops exit
/// code (7 for a bad value, 1 otherwise, as sops uses).
pub(super) fn structure_fail(name: &str, e: StructureError) -> anyhow::Error {
    let code = match &e {
        StructureError::BadValue(_) => exit::INVALID_SET_FORMAT,
        StructureError::Format(f) => f.exit_code(),
        _ => exit::GENERIC,
    };
    Fail::new(code, format!("{name}: {e}")).into()
}

/// Encrypt the changed plaintext with the file's key, reusing the IV of
/// every unchanged value, and write it in place.
pub(super) fn write_changed(
    file: &Path,
    format: Format,
    existing: &mut Existing,
    plaintext: &str,
) -> Result<()> {
    let name = file.display().to_string();
    let changed_doc = format
        .parse(plaintext)
        .with_context(|| format!("{name} after the change"))?;
    let meta = existing.meta.clone();
    let settings = EncryptSettings {
        rule: meta.rule.clone(),
        mac_only_encrypted: meta.mac_only_encrypted,
        // Same data key, so the same key version.
        key_version: meta.key_version.clone(),
    };
    let out = engine::encrypt_with_stash(
        changed_doc.as_ref(),
        &existing.key,
        meta.key_groups.clone(),
        meta.shamir_threshold,
        &settings,
        engine::now_utc(),
        &mut existing.stash,
    )?;
    let out = super::settle_auth(format, out, &existing.key)?;
    for w in &out.warnings {
        warn(&format!("{name}: {w}"));
    }
    write_output(&Destination::File(file.to_path_buf()), out.text.as_bytes())
}

pub fn run(args: SetArgs) -> Result<i32> {
    let file = &args.file;
    let name = file.display().to_string();
    let path = shroud::treepath::parse(&args.path)
        .map_err(|e| Fail::new(exit::INVALID_SET_FORMAT, e.to_string()))?;
    let mut shown = None;
    let json: Zeroizing<String> = match (
        &args.value,
        &args.value_file,
        args.value_stdin,
        args.generate,
    ) {
        (Some(v), None, false, false) => Zeroizing::new(v.clone()),
        (None, Some(f), false, false) => Zeroizing::new(
            // Move the bytes out of the wiped buffer rather than copying
            // them; on error the bytes are wiped with the error's buffer.
            String::from_utf8(std::mem::take(&mut *io::read_input(Some(Path::new(f)))?)).map_err(
                |e| {
                    drop(Zeroizing::new(e.into_bytes()));
                    anyhow::anyhow!("the value file is not UTF-8")
                },
            )?,
        ),
        (None, None, true, false) => {
            let mut s = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut s)
                .context("could not read standard input")?;
            s
        }
        (None, None, false, true) => {
            let secret = generate(args.length, charset(&args.charset)?);
            if args.show_once {
                shown = Some(secret.clone());
            }
            Zeroizing::new(serde_json::to_string(secret.as_str())?)
        }
        _ => {
            return Err(Fail::new(
                exit::INVALID_SET_FORMAT,
                "give exactly one of VALUE, --value-file, --value-stdin or --generate",
            )
            .into());
        }
    };
    let value = NewValue::from_json(&json)
        .map_err(|e| Fail::new(exit::INVALID_SET_FORMAT, e.to_string()))?;

    let format = input_format(args.input_type.as_deref(), Some(file), None)?;
    if format == Format::Binary {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: binary files have no key paths"),
        )
        .into());
    }
    let mut existing = reopen(file, format, args.ignore_mac)?;
    let change = Change::Set {
        path: &path,
        value: &value,
    };
    let plaintext = match structure::apply(format, &existing.plaintext, &change)
        .map_err(|e| structure_fail(&name, e))?
    {
        Outcome::Changed(text) => text,
        Outcome::Unchanged if args.idempotent => return Ok(0),
        Outcome::Unchanged => existing.plaintext.clone(),
    };
    write_changed(file, format, &mut existing, &plaintext)?;
    if let Some(secret) = shown {
        if std::io::stderr().is_terminal() {
            eprintln!("{}", secret.as_str());
        } else {
            warn(
                "--show-once prints only to a terminal; the generated value was stored but not shown",
            );
        }
    }
    Ok(0)
}
