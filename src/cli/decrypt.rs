//! `shroud decrypt`.

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::args::DecryptArgs;
use super::{
    as_text, destination, display_name, input_format, io, keyring, output_format, warn,
    write_output,
};
use shroud::engine;
use shroud::formats::Format;

pub fn run(args: DecryptArgs) -> Result<()> {
    let path = args.io.path();
    let name = display_name(path);
    let format = input_format(
        args.io.input_type.as_deref(),
        path,
        args.io.filename_override.as_deref(),
    )?;
    let out_format = output_format(args.io.output_type.as_deref(), format)?;
    let dest = destination(args.io.in_place, args.io.output.clone(), path)?;
    let extract = args
        .extract
        .as_deref()
        .map(shroud::treepath::parse)
        .transpose()?;

    let input = io::read_input(path)?;
    let text = as_text(&input, &name)?;
    let options = super::decrypt_options(args.ignore_mac);
    // A big file going out whole in its own format is decrypted a piece
    // at a time (shroud::stream); if the stream declines, the whole-file
    // path below runs, with the data key already unwrapped, and gives any
    // error message.
    let mut unwrapped = None;
    if extract.is_none() && args.mask.is_none() && out_format == format {
        match shroud::stream::Decrypting::new(format, text) {
            None => {}
            Some(Err(e)) => super::ui::verbose(&format!("{name}: read whole ({e})")),
            Some(Ok(d)) => {
                super::huge_pages(false);
                let key = keyring::data_key(d.metadata()).with_context(|| name.clone())?;
                match d.decrypt(&key, options) {
                    Ok((texts, warnings)) => {
                        super::ui::verbose(&format!("{name}: decrypted in {} pieces", texts.len()));
                        for w in &warnings {
                            warn(&format!("{name}: {w}"));
                        }
                        let mut produce = |w: &mut dyn std::io::Write| {
                            texts.iter().try_for_each(|t| w.write_all(t))
                        };
                        return match &dest {
                            super::Destination::Stdout => io::write_stdout_with(&mut produce),
                            super::Destination::File(p) => io::write_atomic_with(p, &mut produce),
                        };
                    }
                    Err(e) => super::ui::verbose(&format!("{name}: read whole ({e})")),
                }
                unwrapped = Some(key);
            }
        }
    }
    let doc = super::parse_encrypted(format, text, &name)?;
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
    let key = match unwrapped {
        Some(key) => key,
        None => keyring::data_key(&meta).with_context(|| name.clone())?,
    };
    if format == Format::Binary {
        let (bytes, warnings) =
            shroud::formats::binary::decrypt(doc.as_ref(), &meta, &key, options)
                .with_context(|| name.clone())?;
        for w in &warnings {
            warn(&format!("{name}: {w}"));
        }
        return write_output(&dest, &bytes);
    }
    let (edits, warnings) =
        engine::decrypt_leaves(doc.as_ref(), &meta, &key, options).with_context(|| name.clone())?;
    for w in &warnings {
        warn(&format!("{name}: {w}"));
    }
    if args.mask.is_some() {
        // Before any other output, so the CI runner masks what follows.
        super::io::write_stdout(shroud::exec::github_masks(&edits).as_bytes())?;
    }
    if let Some(path_expr) = extract {
        let value = super::extract::extract(format, out_format, doc.as_ref(), &edits, &path_expr)
            .with_context(|| name.clone())?;
        return write_output(&dest, value.as_bytes());
    }
    if out_format != format {
        let tree = shroud::convert::tree(doc.leaves(), &edits).with_context(|| name.clone())?;
        let text =
            Zeroizing::new(shroud::convert::emit(&tree, out_format).with_context(|| name.clone())?);
        return write_output(&dest, text.as_bytes());
    }
    let plan = doc.plan(&edits, None).with_context(|| name.clone())?;
    for w in &plan.warnings {
        warn(&format!("{name}: {w}"));
    }
    super::write_plan(&dest, &plan)
}
