//! `shroud git merge-driver %O %A %B %P`: git's merge driver for encrypted
//! files (merge.shroud.driver).
//!
//! Base, ours and theirs are decrypted in memory only, merged by key path
//! ([`shroud::git::merge`]) and the result is encrypted into %A, keeping the
//! ciphertext of every value that either side already had (the IVs of ours,
//! then theirs, go into one stash), with a fresh MAC. On any conflict nothing
//! is written: %A keeps our encrypted version, the key paths go to stderr
//! and the exit code is 1, which git reports as a conflict.

use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::super::{as_text, io, warn};
use super::MergeDriverArgs;
use shroud::crypto::DataKey;
use shroud::document::Document;
use shroud::engine::{self, EncryptSettings, IvStash};
use shroud::formats::Format;
use shroud::git::merge::{Carrier, Outcome, apply, merge};
use shroud::keys::Identities;
use shroud::metadata::Metadata;

/// A conflict: say why on stderr, leave %A alone, exit 1.
fn refuse(name: &str, lines: &[String]) -> Result<i32> {
    eprintln!("shroud: cannot merge {name}:");
    for l in lines {
        eprintln!("  {l}");
    }
    eprintln!(
        "shroud: {name} was left as our version (still encrypted); resolve it with \
         `shroud edit {name}` and `git add {name}`"
    );
    Ok(1)
}

/// One input decrypted: its metadata, key and plaintext.
struct Side {
    meta: Metadata,
    key: DataKey,
    plaintext: Zeroizing<String>,
}

fn open(
    file: &Path,
    label: &str,
    format: Format,
    identities: &Identities,
    stash: Option<&mut IvStash>,
) -> Result<Side> {
    let name = format!("{label} ({})", file.display());
    let bytes = io::read_input(Some(file))?;
    let text = as_text(&bytes, &name)?;
    let doc = format.parse(text).with_context(|| name.clone())?;
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
    let key = shroud::keys::data_key(&meta, identities).with_context(|| name.clone())?;
    let mut off = IvStash::default();
    let (edits, warnings) = engine::decrypt_leaves_with_stash(
        doc.as_ref(),
        &meta,
        &key,
        super::super::decrypt_options(false),
        stash.unwrap_or(&mut off),
    )
    .with_context(|| name.clone())?;
    for w in warnings {
        warn(&format!("{name}: {w}"));
    }
    let plaintext = Zeroizing::new(doc.render(&edits, None).with_context(|| name.clone())?.text);
    Ok(Side {
        meta,
        key,
        plaintext,
    })
}

fn parse_plain<'a>(
    format: Format,
    text: &'a str,
    name: &str,
    label: &str,
) -> Result<Box<dyn Document + 'a>> {
    format
        .parse(text)
        .with_context(|| format!("{name}: {label} after decryption"))
}

/// Whether a file carries sops metadata (an empty file, as git gives for a
/// missing base, does not).
fn is_encrypted(file: &Path, format: Format) -> Result<bool> {
    let bytes = io::read_input(Some(file))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(false);
    };
    Ok(format
        .parse(text)
        .map(|d| d.metadata().is_some())
        .unwrap_or(false))
}

pub fn run(args: MergeDriverArgs) -> Result<i32> {
    let shown = args.path.as_deref().unwrap_or(&args.ours);
    let name = shown.display().to_string();
    let format = Format::from_path(shown);
    let encrypted = [
        is_encrypted(&args.base, format)?,
        is_encrypted(&args.ours, format)?,
        is_encrypted(&args.theirs, format)?,
    ];
    if encrypted == [false; 3] {
        // Not encrypted at all (a plain file the pattern also matches):
        // git's own line merge, conflict markers and all, as without us.
        let status = std::process::Command::new("git")
            .args(["merge-file", "-L", "ours", "-L", "base", "-L", "theirs"])
            .args([&args.ours, &args.base, &args.theirs])
            .status()
            .context("could not run git merge-file")?;
        return Ok(if status.success() { 0 } else { 1 });
    }
    if format == Format::Binary {
        return refuse(
            &name,
            &["binary files are encrypted whole and cannot be merged key by key".into()],
        );
    }
    if encrypted != [true; 3] {
        let which: Vec<&str> = ["the common ancestor", "our side", "their side"]
            .iter()
            .zip(encrypted)
            .filter(|(_, e)| !e)
            .map(|(w, _)| *w)
            .collect();
        return refuse(
            &name,
            &[format!(
                "the file is not encrypted (or missing) on {}; merge it by hand",
                which.join(" and ")
            )],
        );
    }

    let identities = Identities::load();
    for w in identities.warnings() {
        warn(w);
    }
    let mut stash = IvStash::default();
    let base = open(&args.base, "the common ancestor", format, &identities, None);
    let ours = open(
        &args.ours,
        "our side",
        format,
        &identities,
        Some(&mut stash),
    );
    let theirs = open(
        &args.theirs,
        "their side",
        format,
        &identities,
        Some(&mut stash),
    );
    let (base, ours, theirs) = match (base, ours, theirs) {
        (Ok(b), Ok(o), Ok(t)) => (b, o, t),
        (b, o, t) => {
            let lines: Vec<String> = [b.err(), o.err(), t.err()]
                .into_iter()
                .flatten()
                .map(|e| format!("{e:#}"))
                .collect();
            return refuse(&name, &lines);
        }
    };
    if base.key.as_bytes() != ours.key.as_bytes() || ours.key.as_bytes() != theirs.key.as_bytes() {
        return refuse(
            &name,
            &[
                "the versions are encrypted with different data keys (one side was rotated); \
               shroud merges only versions that share one data key"
                    .into(),
            ],
        );
    }
    if ours.meta.rule.field() != theirs.meta.rule.field()
        || ours.meta.rule.pattern() != theirs.meta.rule.pattern()
        || ours.meta.mac_only_encrypted != theirs.meta.mac_only_encrypted
    {
        return refuse(
            &name,
            &["the two sides use different encryption rules (sops metadata)".into()],
        );
    }
    // Recipients changed on one side (updatekeys) are taken from that side.
    let (ro, rt, rb) = (
        ours.meta.recipients(),
        theirs.meta.recipients(),
        base.meta.recipients(),
    );
    let groups_from = if ro == rt || rt == rb {
        &ours.meta
    } else if ro == rb {
        &theirs.meta
    } else {
        return refuse(
            &name,
            &["the recipients were changed differently on both sides".into()],
        );
    };

    let pb = parse_plain(format, &base.plaintext, &name, "the common ancestor")?;
    let po = parse_plain(format, &ours.plaintext, &name, "our side")?;
    let pt = parse_plain(format, &theirs.plaintext, &name, "their side")?;
    let merged = match merge(pb.as_ref(), po.as_ref(), pt.as_ref()) {
        Outcome::Merged { carrier, edits } => {
            let carrier_doc = match carrier {
                Carrier::Ours => &po,
                Carrier::Theirs => &pt,
            };
            let rendered = carrier_doc
                .render(&edits, None)
                .with_context(|| format!("{name}: merged text"))?;
            for w in &rendered.warnings {
                warn(&format!("{name}: {w}"));
            }
            Zeroizing::new(rendered.text)
        }
        // Both sides added or removed keys: their changes are spliced into
        // our plaintext one by one, as `set` and `unset` would.
        Outcome::Apply(ops) => match apply(format, &ours.plaintext, &ops) {
            Ok(text) => text,
            Err(lines) => return refuse(&name, &lines),
        },
        Outcome::Conflict(lines) => return refuse(&name, &lines),
    };
    let merged_doc = format
        .parse(&merged)
        .with_context(|| format!("{name}: merged text"))?;
    let settings = EncryptSettings {
        rule: ours.meta.rule.clone(),
        mac_only_encrypted: ours.meta.mac_only_encrypted,
        // A merge keeps the data key, so it keeps its version.
        key_version: ours.meta.key_version.clone(),
    };
    let out = engine::encrypt_with_stash(
        merged_doc.as_ref(),
        &ours.key,
        groups_from.key_groups.clone(),
        groups_from.shamir_threshold,
        &settings,
        engine::now_utc(),
        &mut stash,
    )
    .with_context(|| format!("{name}: encrypting the merge"))?;
    let out = super::super::settle_auth(format, out, &ours.key)?;
    for w in &out.warnings {
        warn(&format!("{name}: {w}"));
    }
    io::write_atomic(&args.ours, out.text.as_bytes())?;
    Ok(0)
}
