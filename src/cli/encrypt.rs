//! `shroud encrypt`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::args::EncryptArgs;
use super::keyring::{self, KeySource};
use super::ui;
use super::{
    as_text, destination, display_name, input_format, io, output_format, warn, write_output,
};
use shroud::config::{self, Config, CreationRule};
use shroud::crypto::DataKey;
use shroud::document::Replacement;
use shroud::engine::{self, EncryptSettings};
use shroud::formats::Format;
use shroud::metadata::{KeyGroup, KeyVersion};
use shroud::rules::Rule;

/// What the flags and `.sops.yaml` say about a new file.
struct Plan {
    settings: EncryptSettings,
    threshold: Option<usize>,
    config: Option<Config>,
    rule_index: Option<usize>,
}

impl Plan {
    fn creation_rule(&self) -> Option<&CreationRule> {
        Some(&self.config.as_ref()?.creation_rules[self.rule_index?])
    }

    /// Recipients, in sops's precedence: `--age` replaces the rule's keys;
    /// the default identity only applies when there is no config at all.
    fn key_source<'a>(&'a self, age: Option<&'a str>) -> KeySource<'a> {
        match (age.filter(|a| !a.trim().is_empty()), &self.config) {
            (Some(list), _) => KeySource::Flag(list),
            (None, Some(c)) => KeySource::Config {
                groups: self
                    .creation_rule()
                    .map_or(&[], |r| r.key_groups.as_slice()),
                config: &c.path,
            },
            (None, None) => KeySource::Default,
        }
    }
}

fn plan(args: &EncryptArgs, config_flag: Option<&Path>, target: &Path) -> Result<Plan> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config = config::find(config_flag, &cwd)
        .map(|p| Config::load(&p))
        .transpose()?;
    let rule_index = match &config {
        None => None,
        Some(c) => match c.rule_for(target) {
            Ok(r) => c.creation_rules.iter().position(|x| std::ptr::eq(x, r)),
            // Keys on the command line need no rule.
            Err(_) if args.age.is_some() => None,
            Err(e) => return Err(e.into()),
        },
    };
    let creation = rule_index.and_then(|i| config.as_ref().map(|c| &c.creation_rules[i]));
    match (&config, creation, rule_index) {
        (None, _, _) => ui::verbose("no .sops.yaml found (or given with --config)"),
        (Some(c), Some(r), Some(i)) => ui::verbose(&format!(
            "{}: creation rule {} matches {} (path_regex {})",
            c.path.display(),
            i + 1,
            target.display(),
            r.path_regex
                .as_ref()
                .map_or("<none>".to_string(), |re| format!("{:?}", re.as_str()))
        )),
        (Some(c), _, _) => ui::verbose(&format!(
            "{}: no creation rule matches {}; using --age",
            c.path.display(),
            target.display()
        )),
    }

    // Rule flags on the command line override the creation rule's.
    let cli_rule = Rule::from_options(&[
        ("unencrypted_suffix", args.unencrypted_suffix.as_deref()),
        ("encrypted_suffix", args.encrypted_suffix.as_deref()),
        ("unencrypted_regex", args.unencrypted_regex.as_deref()),
        ("encrypted_regex", args.encrypted_regex.as_deref()),
        (
            "unencrypted_comment_regex",
            args.unencrypted_comment_regex.as_deref(),
        ),
        (
            "encrypted_comment_regex",
            args.encrypted_comment_regex.as_deref(),
        ),
    ])?;
    let cli_sets_rule = [
        &args.unencrypted_suffix,
        &args.encrypted_suffix,
        &args.unencrypted_regex,
        &args.encrypted_regex,
        &args.unencrypted_comment_regex,
        &args.encrypted_comment_regex,
    ]
    .iter()
    .any(|o| o.as_deref().is_some_and(|s| !s.is_empty()));
    let rule = match (cli_sets_rule, creation) {
        (false, Some(c)) => c.rule()?.unwrap_or_default(),
        _ => cli_rule,
    };
    Ok(Plan {
        settings: EncryptSettings {
            rule,
            mac_only_encrypted: args.mac_only_encrypted
                || creation.is_some_and(|c| c.mac_only_encrypted),
            key_version: Some(KeyVersion::first(engine::now_utc().to_rfc3339())),
        },
        threshold: args
            .shamir_secret_sharing_threshold
            .or(creation.and_then(|c| c.shamir_threshold)),
        rule_index,
        config,
    })
}

/// The path creation rules are matched against: the file's absolute path,
/// or `--filename-override`.
fn match_target(args: &EncryptArgs) -> PathBuf {
    let named = args
        .io
        .filename_override
        .as_deref()
        .or(args.io.path())
        .unwrap_or(Path::new(""));
    std::path::absolute(named).unwrap_or_else(|_| named.to_path_buf())
}

pub fn run(args: EncryptArgs, config_flag: Option<&Path>) -> Result<()> {
    let path = args.io.path();
    let name = display_name(path);
    let format = input_format(
        args.io.input_type.as_deref(),
        path,
        args.io.filename_override.as_deref(),
    )?;
    let out_format = output_format(args.io.output_type.as_deref(), format)?;
    let dest = destination(args.io.in_place, args.io.output.clone(), path)?;
    let plan = plan(&args, config_flag, &match_target(&args))?;

    let input = io::read_input(path)?;
    if format == Format::Binary {
        let recipients = keyring::encryption_recipients(plan.key_source(args.age.as_deref()))?;
        let key = DataKey::generate();
        let (groups, threshold) = keyring::wrap_for(&key, &recipients, plan.threshold)?;
        let text =
            shroud::formats::binary::encrypt(&input, &key, groups, threshold, engine::now_utc())
                .with_context(|| name.clone())?;
        return write_output(&dest, text.as_bytes());
    }

    let text = as_text(&input, &name)?;
    // A big file with its recipients named is encrypted a piece at a time
    // (shroud::stream); if the stream declines, the whole-file path below
    // runs with the same data key, and gives any error message.
    let key_source = plan.key_source(args.age.as_deref());
    let mut wrapped = None;
    // Only once there is no default identity to create: a malformed file
    // must fail before one is made (see below), and only the whole-file
    // path knows early that it is malformed.
    let no_side_effect = !matches!(key_source, KeySource::Default)
        || shroud::keys::default_key_file(&shroud::keys::EnvSource::process())
            .is_ok_and(|p| p.is_file());
    if let (true, true, Some(pieces)) = (
        out_format == format,
        no_side_effect,
        shroud::stream::encrypt_pieces(format, text),
    ) {
        super::huge_pages(false);
        let recipients = keyring::encryption_recipients(key_source)?;
        let key = DataKey::generate();
        let (groups, threshold) = keyring::wrap_for(&key, &recipients, plan.threshold)?;
        let streamed = stream(
            &dest,
            format,
            text,
            &pieces,
            (&key, &groups, threshold),
            &plan.settings,
        )?;
        match streamed {
            None => {
                ui::verbose(&format!("{name}: encrypted in {} pieces", pieces.len()));
                return Ok(());
            }
            Some(why) => ui::verbose(&format!("{name}: read whole ({why})")),
        }
        wrapped = Some((key, groups, threshold));
    }

    // Parse before asking for keys: a malformed file should fail fast, and
    // must not create a default identity as a side effect.
    let doc = format.parse(text).with_context(|| name.clone())?;
    if doc.metadata().is_some() {
        return Err(anyhow::Error::new(shroud::error::Error::AlreadyEncrypted).context(name));
    }
    // A conversion writes the plaintext in the target format first and
    // encrypts that, so the result is an ordinary file of that format.
    let converted;
    let doc = if out_format != format {
        let keep = vec![Replacement::Keep; doc.leaves().len()];
        let tree = shroud::convert::tree(doc.leaves(), &keep).with_context(|| name.clone())?;
        converted =
            Zeroizing::new(shroud::convert::emit(&tree, out_format).with_context(|| name.clone())?);
        out_format
            .parse(&converted)
            .with_context(|| format!("{name} converted to {out_format}"))?
    } else {
        doc
    };

    let (key, groups, threshold) = match wrapped {
        Some(w) => w,
        None => {
            let recipients = keyring::encryption_recipients(plan.key_source(args.age.as_deref()))?;
            let key = DataKey::generate();
            let (groups, threshold) = keyring::wrap_for(&key, &recipients, plan.threshold)?;
            (key, groups, threshold)
        }
    };
    let chunked = shroud::chunked::Chunked::prepare(
        doc.as_ref(),
        &key,
        groups,
        threshold,
        &plan.settings,
        engine::now_utc(),
    )
    .with_context(|| name.clone())?;
    // Every span is checked before the first byte is written; the values
    // are then encrypted and written a chunk at a time.
    if let Some(spliced) = chunked.plan().with_context(|| name.clone())? {
        let mut produce = |w: &mut dyn std::io::Write| chunked.write(&spliced, w);
        return match &dest {
            super::Destination::Stdout => io::write_stdout_with(&mut produce),
            super::Destination::File(p) => io::write_atomic_with(p, &mut produce),
        };
    }
    let enc = chunked.into_encrypted().with_context(|| name.clone())?;
    let output = doc
        .plan(&enc.edits, Some(&enc.metadata))
        .with_context(|| name.clone())?;
    if output.warnings.is_empty() {
        // The usual case: the output is exactly what was sealed, and goes
        // to its destination piece by piece.
        return super::write_plan(&dest, &output);
    }
    // Rendering had to change the document (an expanded alias): seal what
    // was really written, which needs the whole text.
    let rendered = output.into_rendered();
    let out = engine::Output {
        text: Zeroizing::new(rendered.text),
        warnings: rendered.warnings,
    };
    let out = super::settle_auth(out_format, out, &key).with_context(|| name.clone())?;
    for w in &out.warnings {
        warn(&format!("{name}: {w}"));
    }
    write_output(&dest, out.text.as_bytes())
}

/// Encrypt `text` a piece at a time to `dest` ([`shroud::stream::encrypt`]).
/// `Some(reason)` when the stream declined: nothing was written, and the
/// caller reads the file whole.
fn stream(
    dest: &super::Destination,
    format: Format,
    text: &str,
    pieces: &[std::ops::Range<usize>],
    (key, groups, threshold): (&DataKey, &[KeyGroup], Option<usize>),
    settings: &EncryptSettings,
) -> Result<Option<String>> {
    let now = engine::now_utc();
    let mut declined = None;
    let mut produce = |w: &mut dyn std::io::Write| {
        let r = shroud::stream::encrypt(
            format,
            text,
            pieces,
            key,
            groups.to_vec(),
            threshold,
            settings,
            now,
            w,
        );
        match r {
            Ok(()) => Ok(()),
            Err(shroud::stream::Error::Io(e)) => Err(e),
            Err(shroud::stream::Error::Declined(why)) => {
                declined = Some(why);
                Err(std::io::Error::other("declined"))
            }
        }
    };
    let written = match dest {
        super::Destination::Stdout => match tempfile::tempfile() {
            Ok(spool) => io::write_stdout_spooled(spool, &mut produce),
            // No temporary folder to write to: the whole-file path needs none.
            Err(e) => return Ok(Some(format!("no temporary file for the output: {e}"))),
        },
        super::Destination::File(p) => io::write_atomic_with(p, &mut produce),
    };
    match declined {
        Some(why) => Ok(Some(why)),
        None => written.map(|()| None),
    }
}
