//! `shroud groups add|delete`: change a file's key groups, as `sops groups`.
//!
//! The data key stays the same, so values, the MAC's value and key
//! version do not change (the MAC is encrypted again: its IV is
//! shroud_auth's tag, which covers the groups); the key is split afresh across the new groups (Shamir) and each
//! share wrapped for its group's recipients.

use anyhow::{Context, Result};

use super::args::{GroupsAction, GroupsArgs};
use super::keys_cmd::{age_groups, parse_groups};
use super::{Destination, Fail, as_text, input_format, io, keyring, write_output};
use shroud::engine;
use shroud::error::exit;
use shroud::keys::Recipient;
use shroud::metadata::Metadata;

pub fn run(args: GroupsArgs) -> Result<i32> {
    let (file, in_place, threshold_flag, input_type) = match &args.action {
        GroupsAction::Add(a) => (
            &a.file,
            a.in_place,
            a.shamir_secret_sharing_threshold,
            &a.input_type,
        ),
        GroupsAction::Delete(d) => (
            &d.file,
            d.in_place,
            d.shamir_secret_sharing_threshold,
            &d.input_type,
        ),
    };
    let name = file.display().to_string();
    let format = input_format(input_type.as_deref(), Some(file), None)?;
    let input = io::read_input(Some(file))?;
    let text = as_text(&input, &name)?;
    let doc = format.parse(text).with_context(|| name.clone())?;
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
    let mut groups = age_groups(&meta, &name)?;
    match &args.action {
        GroupsAction::Add(a) => {
            let mut group = Vec::new();
            for r in a.age.iter().flat_map(|l| l.split(',')) {
                let r = r.trim();
                if !r.is_empty() {
                    Recipient::parse(r)?;
                    if !group.iter().any(|g: &String| g == r) {
                        group.push(r.to_string());
                    }
                }
            }
            if group.is_empty() {
                return Err(Fail::new(exit::GENERIC, "--age lists no recipient").into());
            }
            groups.push(group);
        }
        GroupsAction::Delete(d) => {
            if d.index >= groups.len() {
                return Err(Fail::new(
                    exit::GENERIC,
                    format!(
                        "{name}: there is no key group {} (the file has {}, counted from 0)",
                        d.index,
                        groups.len()
                    ),
                )
                .into());
            }
            if groups.len() == 1 {
                return Err(Fail::new(
                    exit::GENERIC,
                    format!("{name}: cannot delete the only key group"),
                )
                .into());
            }
            groups.remove(d.index);
        }
    }
    // The flag wins; else the recorded threshold stays (sops does the same);
    // a file that had one group gets "all groups".
    let threshold = threshold_flag
        .filter(|&t| t != 0)
        .or(meta.shamir_threshold.filter(|_| meta.key_groups.len() > 1));
    if threshold_flag == Some(1) && groups.len() > 1 {
        return Err(Fail::new(
            exit::GENERIC,
            format!(
                "{name}: a Shamir threshold must be at least 2 (sops refuses 1); for \"any one key\", put the keys in one group"
            ),
        )
        .into());
    }
    if let Some(t) = threshold
        && groups.len() > 1
        && t > groups.len()
    {
        return Err(Fail::new(
            exit::GENERIC,
            format!(
                "{name}: the threshold {t} is more than the {} key groups; pass --shamir-secret-sharing-threshold",
                groups.len()
            ),
        )
        .into());
    }
    let key = keyring::data_key(&meta).with_context(|| name.clone())?;
    let (key_groups, shamir_threshold) =
        keyring::wrap_for(&key, &parse_groups(&groups)?, threshold)?;
    let meta_before = meta.clone();
    let updated = Metadata {
        key_groups,
        shamir_threshold,
        ..meta
    };
    let out = super::keys_cmd::rewrap(
        format,
        doc.as_ref(),
        &meta_before,
        &key,
        &updated,
        &name,
        super::warn,
    )?;
    let dest = if in_place {
        Destination::File(file.clone())
    } else {
        Destination::Stdout
    };
    write_output(&dest, out.text.as_bytes())?;
    Ok(0)
}
