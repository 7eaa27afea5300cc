//! `shroud set FILE PATH [VALUE]`: change one value in place, keeping
//! every other ciphertext (so git shows the one value plus lastmodified and
//! mac).

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::args::SetArgs;
use super::reopen::reopen;
use super::{Destination, Fail, input_format, io, warn, write_output};
use shroud::document::{Decrypted, LeafKind, Replacement, Value};
use shroud::engine::{self, EncryptSettings};
use shroud::error::exit;
use shroud::formats::Format;

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

/// The new value: JSON as sops takes it, but numbers keep their type.
fn parse_value(json: &str) -> Result<(Value, Zeroizing<String>)> {
    let bad = |m: &str| {
        Fail::new(
            exit::INVALID_SET_FORMAT,
            format!("the value must be a JSON scalar ({m})"),
        )
    };
    let v: serde_json::Value = serde_json::from_str(json.trim())
        .map_err(|_| bad("write strings with quotes: '\"text\"'"))?;
    // The token is the secret as typed: wiped like the rest.
    let token = Zeroizing::new(json.trim().to_string());
    Ok(match v {
        serde_json::Value::String(s) => {
            let text = Zeroizing::new(s.clone());
            (Value::str(s), text)
        }
        serde_json::Value::Bool(b) => (Value::Bool(b), Zeroizing::new(b.to_string())),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) if !token.contains(['.', 'e', 'E']) => (Value::Int(i), token),
            _ => {
                let f = n
                    .as_f64()
                    .ok_or_else(|| bad("the number is out of range"))?;
                (Value::Float(f), token)
            }
        },
        _ => return Err(bad("maps, lists and null cannot be set yet; use shroud edit").into()),
    })
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
    let (value, text) = parse_value(&json)?;

    let format = input_format(args.input_type.as_deref(), Some(file), None)?;
    if format == Format::Binary {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: binary files have no key paths"),
        )
        .into());
    }
    let mut existing = reopen(file, format, args.ignore_mac)?;
    // Change the one value in the plaintext, in its own style.
    let plain_doc = format.parse(&existing.plaintext)?;
    let shown_path: String = path.iter().map(|s| s.to_string()).collect();
    let Some(i) = plain_doc.leaves().iter().position(|l| {
        l.loc == path && matches!(l.kind, LeafKind::Scalar { .. } | LeafKind::Structure(_))
    }) else {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: {shown_path} is not a value in the file (set changes existing values; use shroud edit to add keys)"),
        )
        .into());
    };
    if let LeafKind::Scalar { value: old, .. } = &plain_doc.leaves()[i].kind
        && *old == value
        && args.idempotent
    {
        return Ok(0);
    }
    let mut set_edits = vec![Replacement::Keep; plain_doc.leaves().len()];
    set_edits[i] = Replacement::Decrypted(Decrypted::Scalar { value, text });
    let changed = Zeroizing::new(plain_doc.render(&set_edits, None)?.text);
    let changed_doc = format
        .parse(&changed)
        .with_context(|| format!("{name} after the change"))?;
    let meta = existing.meta.clone();
    let settings = EncryptSettings {
        rule: meta.rule.clone(),
        mac_only_encrypted: meta.mac_only_encrypted,
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
    write_output(&Destination::File(file.clone()), out.text.as_bytes())?;
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
