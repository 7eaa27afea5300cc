//! `shroud encrypt`.

use anyhow::{Context, Result};

use super::args::EncryptArgs;
use super::{
    as_text, destination, display_name, input_format, io, keyring, output_format, warn,
    write_output,
};
use shroud::crypto::DataKey;
use shroud::engine::{self, EncryptSettings};
use shroud::formats::Format;
use shroud::rules::Rule;
use zeroize::Zeroizing;

pub fn run(args: EncryptArgs) -> Result<()> {
    let path = args.io.path();
    let name = display_name(path);
    let format = input_format(
        args.io.input_type.as_deref(),
        path,
        args.io.filename_override.as_deref(),
    )?;
    let out_format = output_format(args.io.output_type.as_deref(), format)?;
    let dest = destination(args.io.in_place, args.io.output.clone(), path)?;

    let rule = Rule::from_options(&[
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
    let settings = EncryptSettings {
        rule,
        mac_only_encrypted: args.mac_only_encrypted,
    };

    let input = io::read_input(path)?;
    if format == Format::Binary {
        let recipients = keyring::encryption_recipients(args.age.as_deref())?;
        let key = DataKey::generate();
        let (groups, threshold) = keyring::wrap_for(&key, &recipients)?;
        let text =
            shroud::formats::binary::encrypt(&input, &key, groups, threshold, engine::now_utc())
                .with_context(|| name.clone())?;
        return write_output(&dest, text.as_bytes());
    }

    // Parse before asking for keys: a malformed file should fail fast, and
    // must not create a default identity as a side effect.
    let text = as_text(&input, &name)?;
    let doc = format.parse(text).with_context(|| name.clone())?;
    if doc.metadata().is_some() {
        return Err(anyhow::Error::new(shroud::error::Error::AlreadyEncrypted).context(name));
    }
    // A conversion writes the plaintext in the target format first and
    // encrypts that, so the result is an ordinary file of that format.
    let converted;
    let doc = if out_format != format {
        let keep = vec![shroud::document::Replacement::Keep; doc.leaves().len()];
        let tree = shroud::convert::tree(doc.leaves(), &keep).with_context(|| name.clone())?;
        converted =
            Zeroizing::new(shroud::convert::emit(&tree, out_format).with_context(|| name.clone())?);
        out_format
            .parse(&converted)
            .with_context(|| format!("{name} converted to {out_format}"))?
    } else {
        doc
    };

    let recipients = keyring::encryption_recipients(args.age.as_deref())?;
    let key = DataKey::generate();
    let (groups, threshold) = keyring::wrap_for(&key, &recipients)?;
    let out = engine::encrypt(
        doc.as_ref(),
        &key,
        groups,
        threshold,
        &settings,
        engine::now_utc(),
    )
    .with_context(|| name.clone())?;
    for w in &out.warnings {
        warn(&format!("{name}: {w}"));
    }
    write_output(&dest, out.text.as_bytes())
}
