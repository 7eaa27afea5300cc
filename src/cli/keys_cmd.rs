//! `rotate`, `updatekeys` and `filestatus`: changing who can open a file.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::args::{FilestatusArgs, RotateArgs, UpdatekeysArgs};
use super::batch::{self, Reporter};
use super::{Destination, Fail, as_text, input_format, io, keyring, warn, write_output};
use shroud::config::{self, Config, CreationRule};
use shroud::crypto::DataKey;
use shroud::engine::{self, EncryptSettings};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::keys::{Identities, Recipient};
use shroud::metadata::{KeyGroup, KeyVersion, Metadata};

/// The age recipients of each key group; refuses key types shroud cannot
/// wrap for (re-wrapping would silently drop them).
pub fn age_groups(meta: &Metadata, name: &str) -> Result<Vec<Vec<String>>> {
    if let Some((kind, _)) = meta.key_groups.iter().flat_map(|g| g.other.iter()).next() {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: the file also has {kind} keys, which shroud cannot wrap; use sops for this file"),
        )
        .into());
    }
    Ok(meta
        .key_groups
        .iter()
        .map(|g| g.age.iter().map(|k| k.recipient.clone()).collect())
        .collect())
}

pub fn parse_groups(groups: &[Vec<String>]) -> Result<Vec<Vec<Recipient>>> {
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|r| Recipient::parse(r).map_err(anyhow::Error::from))
                .collect()
        })
        .collect()
}

/// Decrypt `text`, then encrypt its plaintext afresh under a new data key
/// for `groups`, keeping the file's rules. Every value gets a fresh IV, and
/// the key version goes up by one.
fn rotate_text(
    format: Format,
    text: &str,
    name: &str,
    change: &RecipientChange,
    identities: &Identities,
    report: &Reporter,
) -> Result<Zeroizing<String>> {
    let doc = format.parse(text).with_context(|| name.to_string())?;
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.to_string())?;
    let mut groups = age_groups(&meta, name)?;
    let old_key = keyring::data_key_with(&meta, identities).with_context(|| name.to_string())?;
    for r in &change.rm {
        let before: usize = groups.iter().map(Vec::len).sum();
        for g in &mut groups {
            g.retain(|x| x != r);
        }
        if groups.iter().map(Vec::len).sum::<usize>() == before {
            report.warn(&format!("{name}: {r} is not a recipient of this file"));
        }
    }
    if let Some(first) = groups.first_mut() {
        for a in &change.add {
            if !first.contains(a) {
                first.push(a.clone());
            }
        }
    }
    if groups.iter().any(|g| g.is_empty()) {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: removing those recipients would leave a key group empty"),
        )
        .into());
    }
    let recipients = parse_groups(&groups)?;

    let new_key = DataKey::generate();
    let now = engine::now_utc();
    let version = KeyVersion::next(meta.key_version.as_ref(), now.to_rfc3339());
    if meta.key_version.is_none() {
        report.note(&format!(
            "shroud: {name}: the key version was not recorded (the file was written by another tool); counting starts again at 1"
        ));
    }
    let out = if format == Format::Binary {
        let (bytes, _) = shroud::formats::binary::decrypt(
            doc.as_ref(),
            &meta,
            &old_key,
            super::decrypt_options(false),
        )?;
        let (wrapped, threshold) = keyring::wrap_for(&new_key, &recipients, meta.shamir_threshold)?;
        shroud::formats::binary::encrypt_with_key_version(
            &bytes,
            &new_key,
            wrapped,
            threshold,
            now,
            Some(version),
        )?
    } else {
        let (edits, _) =
            engine::decrypt_leaves(doc.as_ref(), &meta, &old_key, super::decrypt_options(false))
                .with_context(|| name.to_string())?;
        let plain = Zeroizing::new(doc.render(&edits, None)?.text);
        let plain_doc = format.parse(&plain).with_context(|| name.to_string())?;
        let (wrapped, threshold) = keyring::wrap_for(&new_key, &recipients, meta.shamir_threshold)?;
        let settings = EncryptSettings {
            rule: meta.rule.clone(),
            mac_only_encrypted: meta.mac_only_encrypted,
            key_version: Some(version),
        };
        let out = engine::encrypt(
            plain_doc.as_ref(),
            &new_key,
            wrapped,
            threshold,
            &settings,
            now,
        )
        .with_context(|| name.to_string())?;
        super::settle_auth(format, out, &new_key)?.text
    };
    Ok(out)
}

/// `--add-age` / `--rm-age` of `rotate`.
struct RecipientChange {
    add: Vec<String>,
    rm: Vec<String>,
}

pub fn run_rotate(args: RotateArgs) -> Result<i32> {
    if args.files.len() > 1 && !args.in_place {
        return Err(Fail::new(
            exit::CONFLICTING_PARAMETERS,
            "rotating several files needs -i",
        )
        .into());
    }
    // Each flag may be repeated and may hold a comma-separated list.
    let split = |lists: &[String]| -> Vec<String> {
        lists
            .iter()
            .flat_map(|l| l.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let change = RecipientChange {
        add: split(&args.add_age),
        rm: split(&args.rm_age),
    };
    for a in &change.add {
        Recipient::parse(a)?;
    }
    let identities = keyring::identities();
    let results = batch::run("rotate", &args.files, true, |file, report| {
        let name = file.display().to_string();
        let format = input_format(args.input_type.as_deref(), Some(file), None)?;
        let input = io::read_input(Some(file))?;
        let text = as_text(&input, &name)?;
        let out = rotate_text(format, text, &name, &change, &identities, report)?;
        let dest = if args.in_place {
            Destination::File(file.clone())
        } else {
            Destination::Stdout
        };
        write_output(&dest, out.as_bytes())
    });
    if !change.rm.is_empty() && results.iter().any(Result::is_ok) {
        warn(
            "removed recipients can no longer open the new version; they still hold the old one (and its values) from before",
        );
    }
    batch::summarise("rotate", &args.files, results)
}

fn ask(question: &str) -> bool {
    eprint!("{question} (y/n) ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

/// How a file's recipients differ from its creation rule.
pub struct KeyDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The groups or the Shamir threshold differ (even if no one was added
    /// or removed overall, e.g. a key moved between groups).
    pub changed: bool,
}

/// Compare a file's key groups with what `rule` asks for.
pub fn key_diff(meta: &Metadata, rule: &CreationRule, name: &str) -> Result<KeyDiff> {
    let old = age_groups(meta, name)?;
    let new = &rule.key_groups;
    let threshold = rule.shamir_threshold.or(meta.shamir_threshold);
    let changed = old != *new || (new.len() >= 2 && threshold != meta.shamir_threshold);
    let flat = |g: &[Vec<String>]| g.iter().flatten().cloned().collect::<Vec<_>>();
    let (old_all, new_all) = (flat(&old), flat(new));
    Ok(KeyDiff {
        added: new_all
            .iter()
            .filter(|r| !old_all.contains(r))
            .cloned()
            .collect(),
        removed: old_all
            .iter()
            .filter(|r| !new_all.contains(r))
            .cloned()
            .collect(),
        changed,
    })
}

pub fn run_updatekeys(args: UpdatekeysArgs, config_flag: Option<&Path>) -> Result<i32> {
    let cwd = std::env::current_dir()?;
    let Some(config_path) = config::find(config_flag, &cwd) else {
        return Err(Fail::new(
            exit::ERROR_READING_CONFIG,
            "no .sops.yaml found (updatekeys makes files match their creation rule)",
        )
        .into());
    };
    let config = Config::load(&config_path)?;
    let identities = keyring::identities();
    // Prompts must not interleave, so asking runs one file at a time.
    let parallel = args.yes;
    let results = batch::run("updatekeys", &args.files, parallel, |file, report| {
        let name = file.display().to_string();
        let format = input_format(args.input_type.as_deref(), Some(file), None)?;
        let input = io::read_input(Some(file))?;
        let text = as_text(&input, &name)?;
        let doc = format.parse(text).with_context(|| name.clone())?;
        let meta = engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
        let target = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        let rule = config.rule_for(&target)?;
        let diff = key_diff(&meta, rule, &name)?;
        if !diff.changed {
            report.note(&format!("shroud: {name}: already up to date"));
            return Ok(());
        }
        let mut lines = format!("shroud: {name}: key changes");
        for r in &diff.added {
            lines.push_str(&format!("\n  + {r}"));
        }
        for r in &diff.removed {
            lines.push_str(&format!("\n  - {r}"));
        }
        report.note(&lines);
        if !args.yes {
            if !std::io::stdin().is_terminal() {
                return Err(Fail::new(
                    exit::GENERIC,
                    format!("{name}: not a terminal: pass -y to apply the changes"),
                )
                .into());
            }
            if !report.suspend(|| ask("Apply these changes?")) {
                report.note(&format!("shroud: {name}: left unchanged"));
                return Ok(());
            }
        }
        let threshold = rule.shamir_threshold.or(meta.shamir_threshold);
        let key = keyring::data_key_with(&meta, &identities).with_context(|| name.clone())?;
        let (groups, threshold): (Vec<KeyGroup>, Option<usize>) =
            keyring::wrap_for(&key, &parse_groups(&rule.key_groups)?, threshold)?;
        // Same data key: values, the MAC's value, lastmodified and key
        // version stay (the MAC is encrypted again with shroud_auth's new
        // tag as its IV).
        let meta_before = meta.clone();
        let updated = Metadata {
            key_groups: groups,
            shamir_threshold: threshold,
            ..meta
        };
        let out = rewrap(
            format,
            doc.as_ref(),
            &meta_before,
            &key,
            &updated,
            &name,
            |w| report.warn(w),
        )?;
        write_output(&Destination::File(file.clone()), out.text.as_bytes())?;
        if !diff.removed.is_empty() {
            report.warn(&format!(
                "{name}: removed recipients still know the old data key; run `shroud rotate -i {name}` so they cannot read future changes"
            ));
        }
        Ok(())
    });
    batch::summarise("updatekeys", &args.files, results)
}

/// The file with new metadata (same data key, so values, the MAC's value
/// and key version stay), sealed with a fresh shroud_auth (the MAC
/// encrypted again with the new tag as IV). The file is checked first:
/// sealing a tampered file again would make the tampering look genuine,
/// and the MAC resealed must be the values' own (docs/security.md).
pub(super) fn rewrap(
    format: Format,
    doc: &dyn shroud::document::Document,
    meta: &Metadata,
    key: &DataKey,
    updated: &Metadata,
    name: &str,
    warn: impl Fn(&str),
) -> Result<engine::Output> {
    let options = super::decrypt_options(false);
    let warnings = if format == Format::Binary {
        shroud::formats::binary::decrypt(doc, meta, key, options)
            .with_context(|| name.to_string())?
            .1
    } else {
        engine::decrypt_leaves(doc, meta, key, options)
            .with_context(|| name.to_string())?
            .1
    };
    for w in &warnings {
        warn(&format!("{name}: {w}"));
    }
    Ok(engine::rewrite_metadata(doc, key, updated)?)
}

/// sops's `filestatus`: `{"encrypted":true}` when the file has metadata
/// with a version and a MAC.
pub fn run_filestatus(args: FilestatusArgs) -> Result<i32> {
    let format = input_format(args.input_type.as_deref(), Some(&args.file), None)?;
    let input = io::read_input(Some(&args.file))?;
    let meta = std::str::from_utf8(&input)
        .ok()
        .and_then(|t| format.parse(t).ok().and_then(|d| d.metadata().cloned()));
    let non_empty = |k: &str| matches!(meta.as_ref().and_then(|m| m.get(k)), Some(shroud::document::MetaNode::Str(s)) if !s.is_empty());
    let encrypted = non_empty("version") && non_empty("mac");
    // stdout stays exactly sops's answer; the downgrade note goes to stderr.
    // (Whether a present shroud_auth matches needs the key: decrypt checks.)
    if encrypted && !non_empty(shroud::integrity::FIELD) {
        warn(&format!(
            "{}: the file has no shroud_auth (written by sops, or the field was removed)",
            args.file.display()
        ));
    }
    println!("{{\"encrypted\":{encrypted}}}");
    Ok(0)
}
